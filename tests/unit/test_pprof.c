/* A pprof round trip: heap profiles written by src/common/pprof_write.c (what /debug/pprof/heap
 * and the profile at exit serve) and read back by the CLI's reader (src/cli/pprof_read.c, behind
 * drip top, diff and flame). Every field drip writes is read back exactly: the four sample types
 * in Go's order, the period type and period, times, the default type, each sample's values and
 * stack (location addresses inside the call instruction), the `bytes` label left out by the
 * reader, the executable mappings with their paths (" (deleted)" dropped) and offsets, functions
 * with file and line, an unnamed frame without lines. Built twice: unit_pprof with the CLI's
 * common code (gzipped output) and unit_pprof_raw with the traced process's (uncompressed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pprof_read.h"
#include "pprof_write.h"

enum { LEAF = 0x401000, MAIN = 0x402000, LIBC = 0x7f0000000100 };

static void name(void *ctx, uintptr_t addr, int lines, struct drip_frame *f)
{
    memset(f, 0, sizeof *f);
    f->addr = addr;
    if (addr == LEAF) {
        f->function = "leaf";
        f->file = "a.c";
        f->line = 10;
    } else if (addr == MAIN) {
        f->function = "main";
        f->file = "a.c";
        f->line = 20;
    }
}

/* The location index of address a (as written: a - 1). */
static uint32_t loc_at(const struct drip_pprof *p, uint64_t a)
{
    for (size_t i = 0; i < p->nlocations; i++)
        if (p->locations[i].address == a)
            return (uint32_t)i;
    fail_msg("no location at %#llx", (unsigned long long)a);
    return 0;
}

static void round_trip(void **state)
{
    char *maps[] = {"00400000-00500000 r-xp 00000000 08:01 123 /usr/bin/prog",
                    "00600000-00700000 rw-p 00000000 08:01 123 /usr/bin/prog",
                    "7f0000000000-7f0000100000 r-xp 00010000 08:01 456 /lib/libc.so.6 (deleted)"};
    struct drip_raw raw;
    memset(&raw, 0, sizeof raw);
    raw.maps = maps;
    raw.nmaps = 3;
    const uintptr_t s0[] = {LEAF, MAIN}, s1[] = {LEAF, LIBC}, s2[] = {MAIN};
    const struct drip_pprof_sample s[] = {
        {s0, 2, {10, 1000, 4, 400}, 100},
        {s1, 2, {3, 96, 3, 96}, 32},
        {s2, 1, {1, 1 << 20, 0, 0}, 0},
    };
    struct drip_pprof_meta meta = {.default_alloc_space = 1, .period = 1, .time_nanos = 1234567890123,
                                   .duration_nanos = 5000000000, .raw = &raw};
    struct drip_symbols sym = {.frame = name};
    char path[] = "/tmp/drip-unit-pprof-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(drip__pprof_write(fd, s, 3, &meta, &sym), 0);
    close(fd);

    struct drip_pprof *p = NULL;
    char err[256];
    int rc = drip__pprof_read_file(path, &p, err, sizeof err);
    unlink(path);
    if (rc)
        fail_msg("%s", err);
    const char *types[4][2] = {{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"},
                               {"inuse_space", "bytes"}};
    assert_int_equal(p->nsample_types, 4);
    for (int t = 0; t < 4; t++) {
        assert_string_equal(p->sample_types[t].type, types[t][0]);
        assert_string_equal(p->sample_types[t].unit, types[t][1]);
    }
    assert_string_equal(p->period_type.type, "space");
    assert_string_equal(p->period_type.unit, "bytes");
    assert_int_equal(p->period, 1);
    assert_int_equal(p->time_nanos, 1234567890123);
    assert_int_equal(p->duration_nanos, 5000000000);
    assert_string_equal(p->default_sample_type, "alloc_space");
    assert_int_equal(drip__pprof_default_type(p), 1);

    /* mappings: the two executable ones, in order */
    assert_int_equal(p->nmappings, 2);
    assert_int_equal(p->mappings[0].start, 0x400000);
    assert_int_equal(p->mappings[0].limit, 0x500000);
    assert_int_equal(p->mappings[0].offset, 0);
    assert_string_equal(p->mappings[0].file, "/usr/bin/prog");
    assert_int_equal(p->mappings[1].start, 0x7f0000000000);
    assert_int_equal(p->mappings[1].offset, 0x10000);
    assert_string_equal(p->mappings[1].file, "/lib/libc.so.6");
    assert_true(p->mappings[0].has_functions && p->mappings[0].has_filenames && p->mappings[0].has_line_numbers);

    /* three locations, each inside its call instruction, with its mapping and function */
    assert_int_equal(p->nlocations, 3);
    const struct drip_pprof_location *leaf = &p->locations[loc_at(p, LEAF - 1)];
    const struct drip_pprof_location *mn = &p->locations[loc_at(p, MAIN - 1)];
    const struct drip_pprof_location *lc = &p->locations[loc_at(p, LIBC - 1)];
    assert_string_equal(p->mappings[leaf->mapping].file, "/usr/bin/prog");
    assert_string_equal(p->mappings[lc->mapping].file, "/lib/libc.so.6");
    assert_int_equal(leaf->nlines, 1);
    assert_string_equal(p->functions[p->lines[leaf->first_line].function].name, "leaf");
    assert_string_equal(p->functions[p->lines[leaf->first_line].function].filename, "a.c");
    assert_int_equal(p->lines[leaf->first_line].line, 10);
    assert_string_equal(p->functions[p->lines[mn->first_line].function].name, "main");
    assert_int_equal(p->lines[mn->first_line].line, 20);
    assert_int_equal(lc->nlines, 0);
    assert_int_equal(p->nfunctions, 2);

    /* the samples, in order, with their stacks and values */
    assert_int_equal(p->nsamples, 3);
    assert_int_equal(p->max_depth, 2);
    struct drip_pprof_iter it;
    struct drip_pprof_entry e;
    assert_int_equal(drip__pprof_iter_init(&it, p), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(drip__pprof_next(&it, &e), 1);
        assert_int_equal(e.nlocs, (size_t)s[i].nframes);
        for (int k = 0; k < s[i].nframes; k++)
            assert_int_equal(p->locations[e.locs[k]].address, s[i].frames[k] - 1);
        for (int t = 0; t < 4; t++)
            assert_int_equal(e.values[t], s[i].values[t]);
    }
    assert_int_equal(drip__pprof_next(&it, &e), 0);
    drip__pprof_iter_done(&it);
    drip__pprof_free(p);
}

/* No symbolizer (sym NULL): locations without functions, mappings that say so. */
static void unnamed(void **state)
{
    const uintptr_t f[] = {LEAF};
    const struct drip_pprof_sample s = {f, 1, {1, 64, 1, 64}, 64};
    struct drip_pprof_meta meta = {.period = 524288};
    char path[] = "/tmp/drip-unit-pprof-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(drip__pprof_write(fd, &s, 1, &meta, NULL), 0);
    close(fd);
    struct drip_pprof *p = NULL;
    char err[256];
    int rc = drip__pprof_read_file(path, &p, err, sizeof err);
    unlink(path);
    if (rc)
        fail_msg("%s", err);
    assert_int_equal(p->period, 524288);
    assert_null(p->default_sample_type);
    assert_int_equal(drip__pprof_default_type(p), 3);
    assert_int_equal(p->nfunctions, 0);
    assert_int_equal(p->nmappings, 0);
    assert_int_equal(p->nlocations, 1);
    assert_int_equal(p->locations[0].address, LEAF - 1);
    assert_int_equal(p->locations[0].mapping, DRIP_PPROF_NONE);
    drip__pprof_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(unnamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
