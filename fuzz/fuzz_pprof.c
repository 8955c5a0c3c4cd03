/* fuzz_pprof.c — libFuzzer target for drip's pprof reader (src/cli/pprof_read.c).
 *
 * Any input must either be rejected with a message or yield a profile whose every index is in
 * range: the target walks all samples, locations, lines, functions and mappings and touches every
 * string, so AddressSanitizer catches a bad index or a dangling pointer. The input goes through
 * the reader as it comes (raw) and, when it starts 1f 8b, through the gzip path too.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (fuzz/CMakeLists.txt does it when clang exists).
 */
#include "pprof_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile size_t sink;

static void touch(const char *s)
{
    sink += strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct drip_pprof *p = NULL;
    if (drip__pprof_read_mem(data, size, "fuzz", &p, err, sizeof err)) {
        if (!err[0] || strlen(err) >= sizeof err || strchr(err, '\n'))
            abort(); /* a failure must come with a one-line message */
        return 0;
    }
    for (size_t i = 0; i < p->nsample_types; i++) {
        touch(p->sample_types[i].type);
        touch(p->sample_types[i].unit);
    }
    touch(p->period_type.type);
    touch(p->drop_frames);
    touch(p->keep_frames);
    if (p->default_sample_type)
        touch(p->default_sample_type);
    for (size_t i = 0; i < p->ncomments; i++)
        touch(p->comments[i]);
    for (size_t i = 0; i < p->nmappings; i++) {
        touch(p->mappings[i].file);
        touch(p->mappings[i].build_id);
    }
    for (size_t i = 0; i < p->nfunctions; i++) {
        touch(p->functions[i].name);
        touch(p->functions[i].system_name);
        touch(p->functions[i].filename);
    }
    for (size_t i = 0; i < p->nlocations; i++) {
        const struct drip_pprof_location *l = &p->locations[i];
        if (l->mapping != DRIP_PPROF_NONE)
            touch(p->mappings[l->mapping].file);
        if ((size_t)l->first_line + l->nlines > p->nlines)
            abort();
        for (uint32_t j = 0; j < l->nlines; j++) {
            uint32_t f = p->lines[l->first_line + j].function;
            if (f != DRIP_PPROF_NONE)
                touch(p->functions[f].name);
        }
    }
    int t = drip__pprof_default_type(p);
    if (t < 0 || (size_t)t >= p->nsample_types)
        abort();
    struct drip_pprof_iter it;
    if (drip__pprof_iter_init(&it, p) == 0) {
        struct drip_pprof_entry e;
        size_t n = 0;
        while (drip__pprof_next(&it, &e)) {
            if (e.nlocs > p->max_depth)
                abort();
            for (size_t i = 0; i < e.nlocs; i++)
                sink += p->locations[e.locs[i]].address;
            sink += (size_t)e.values[t];
            n++;
        }
        if (n != p->nsamples)
            abort();
        drip__pprof_iter_done(&it);
    }
    drip__pprof_free(p);
    return 0;
}
