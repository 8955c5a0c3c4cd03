/* Unit tests of src/common: the options table and parser, the suppression format and matcher,
 * and the writer's number formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "suppress.h"
#include "suppress_vg.h"
#include "writer.h"

static void options_defaults(void **state)
{
    struct drip_options o;
    drip__options_defaults(&o);
    assert_int_equal(o.report, 1);
    assert_int_equal(o.max_frames, 64);
    assert_int_equal(o.error_exitcode, 0);
    assert_string_equal(o.unwind, "auto");
    assert_string_equal(o.json, "");
}

static void options_parse(void **state)
{
    struct drip_options o;
    char err[128] = "";
    drip__options_defaults(&o);
    assert_int_equal(drip__options_parse(&o, "error_exitcode=23:json='/tmp/a b:c.json' show_reachable", err, sizeof err), 0);
    assert_int_equal(o.error_exitcode, 23);
    assert_string_equal(o.json, "/tmp/a b:c.json");
    assert_int_equal(o.show_reachable, 1);
    assert_int_equal(drip__options_parse(&o, "report=false", err, sizeof err), 0);
    assert_int_equal(o.report, 0);
    /* ':' inside a value that no option name follows belongs to the value (issue #12.12) */
    assert_int_equal(drip__options_parse(&o, "http=127.0.0.1:6060:max_frames=8 report", err, sizeof err), 0);
    assert_string_equal(o.http, "127.0.0.1:6060");
    assert_int_equal(o.max_frames, 8);
    assert_int_equal(o.report, 1);
    assert_int_equal(drip__options_parse(&o, "log_path=/tmp/a:b:show_possible", err, sizeof err), 0);
    assert_string_equal(o.log_path, "/tmp/a:b");
    assert_int_equal(drip__options_parse(&o, "http=[::1]:6060", err, sizeof err), 0);
    assert_string_equal(o.http, "[::1]:6060");
}

static void options_ranges(void **state)
{
    struct drip_options o;
    char err[128] = "";
    drip__options_defaults(&o);
    assert_int_equal(drip__options_parse(&o, "max_frames=0", err, sizeof err), -1);
    assert_string_equal(err, "option max_frames takes 1 to 64, not 0");
    assert_int_equal(drip__options_parse(&o, "max_frames=65", err, sizeof err), -1);
    assert_int_equal(drip__options_parse(&o, "max_frames=64:error_exitcode=255:nice=0", err, sizeof err), 0);
    assert_int_equal(o.max_frames, 64);
    assert_int_equal(drip__options_parse(&o, "error_exitcode=-1", err, sizeof err), -1);
    assert_string_equal(err, "option error_exitcode takes 0 to 255, not -1");
    assert_int_equal(drip__options_parse(&o, "unwind=fp", err, sizeof err), 0);
    assert_int_equal(drip__options_parse(&o, "unwind=f", err, sizeof err), -1);
    assert_string_equal(err, "option unwind takes one of auto|fp|cfi|libunwind, not f");
    /* every limit names an option of the table, and every default is within its limit */
    for (size_t i = 0; i < drip_option_count; i++) {
        const struct drip_option_limit *l = drip__option_limit(drip_option_infos[i].name);
        if (!l)
            continue;
        char e[128] = "";
        struct drip_options d;
        drip__options_defaults(&d);
        assert_int_equal(drip__options_set(&d, drip_option_infos[i].name, strlen(drip_option_infos[i].name),
                                           drip_option_infos[i].def, strlen(drip_option_infos[i].def), e, sizeof e), 0);
    }
}

static void options_errors(void **state)
{
    struct drip_options o;
    char err[128] = "";
    drip__options_defaults(&o);
    assert_int_equal(drip__options_parse(&o, "bogus=1", err, sizeof err), -1);
    assert_string_equal(err, "unknown option 'bogus'");
    assert_int_equal(drip__options_parse(&o, "max_frames=abc", err, sizeof err), -1);
    assert_string_equal(err, "option max_frames takes an integer");
    assert_int_equal(drip__options_parse(&o, "report=2", err, sizeof err), -1);
    assert_string_equal(err, "option report takes 0 or 1");
    assert_int_equal(drip__options_parse(&o, "json", err, sizeof err), -1);
    assert_string_equal(err, "option json needs a value (name=value)");
    assert_int_equal(drip__options_parse(&o, "json='unterminated", err, sizeof err), -1);
    assert_string_equal(err, "unterminated quote in option 'json'");
}

static void sizes(void **state)
{
    unsigned long long v = 0;
    assert_int_equal(drip__parse_size("512KiB", 6, &v), 0);
    assert_int_equal(v, 512 * 1024);
    assert_int_equal(drip__parse_size("3MiB", 4, &v), 0);
    assert_int_equal(v, 3 << 20);
    assert_int_equal(drip__parse_size("100", 3, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(drip__parse_size("12XB", 4, &v), -1);
    assert_int_equal(drip__parse_size("", 0, &v), -1);
    assert_int_equal(drip__parse_size("99999999999999999999", 20, &v), -1);
}

static void template_match(void **state)
{
    assert_true(drip__template_match("make_node", "make_node"));
    assert_true(drip__template_match("node", "make_node"));
    assert_false(drip__template_match("^node", "make_node"));
    assert_true(drip__template_match("^make", "make_node"));
    assert_true(drip__template_match("make$", "remake"));
    assert_false(drip__template_match("make$", "make_node"));
    assert_true(drip__template_match("libfoo*.so", "/usr/lib/libfoo-1.2.so.3"));
    assert_true(drip__template_match("^std::*::insert$", "std::map<int>::insert"));
    assert_false(drip__template_match("x", NULL));
    assert_true(drip__template_match("a*b*c", "xxaYYbZZcxx"));
    assert_false(drip__template_match("^a*b*c$", "xxaYYbZZcxx"));
    assert_true(drip__template_match("^a*b*c$", "aYYbZZc"));
    assert_true(drip__template_match("**", ""));
    /* many stars against a long name: linear, not exponential (this took seconds before) */
    char name[400];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    assert_false(drip__template_match("*a*a*a*a*a*a*b", name));
    name[sizeof name - 2] = 'b';
    assert_true(drip__template_match("*a*a*a*a*a*a*b", name));
}

static void suppressions(void **state)
{
    struct drip_suppressions s;
    char err[256] = "";
    const char *text = "# comment\n\nleak:make_node\n  leak:libfoo.so  \nleak:^cache_*\n";
    assert_int_equal(drip__suppressions_parse(&s, text, strlen(text), err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.patterns[1], "libfoo.so");
    struct drip_frame f[2] = {{.function = "main", .file = "/src/a.c"},
                              {.function = "cache_insert", .module = "/bin/x"}};
    assert_int_equal(drip__suppressions_match(&s, f, 2), 2);
    f[1].function = "other";
    assert_int_equal(drip__suppressions_match(&s, f, 2), -1);
    drip__suppressions_free(&s);

    static const char nul[] = "leak:\0x\n";
    assert_int_equal(drip__suppressions_parse(&s, nul, sizeof nul - 1, err, sizeof err), -1);
    assert_string_equal(err, "line 1: contains a NUL byte");

    const char *bad = "leak:ok\ncalled_from_lib:x\n";
    assert_int_equal(drip__suppressions_parse(&s, bad, strlen(bad), err, sizeof err), -1);
    assert_string_equal(err, "line 2: expected 'leak:<pattern>' or a valgrind '{' entry, got 'called_from_lib:x'");
    assert_int_equal(drip__suppressions_load(&s, "/nonexistent/drip.supp", err, sizeof err), -1);
    assert_string_equal(err, "cannot read suppressions file /nonexistent/drip.supp: No such file or directory");

    /* valgrind's format, mixed with a LeakSanitizer line: `...`, `?`, kinds, the allocation frame */
    const char *vg = "{\n  two\n  Memcheck:Leak\n  match-leak-kinds: possible\n  fun:malloc\n  ...\n"
                     "  fun:ma?n\n}\nleak:nothing_here\n{\n  c\n  Memcheck:Cond\n  fun:x\n}\n";
    assert_int_equal(drip__suppressions_parse(&s, vg, strlen(vg), err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.patterns[0], "two");
    struct drip_frame g[3] = {{.function = "make"}, {.function = "build"}, {.function = "main"}};
    assert_int_equal(drip__suppressions_match_kind(&s, DRIP_SUPP_POSSIBLE, g, 3), 0);
    assert_int_equal(drip__suppressions_match_kind(&s, DRIP_SUPP_DEFINITE, g, 3), -1);
    g[2].function = "mainly";
    assert_int_equal(drip__suppressions_match_kind(&s, DRIP_SUPP_POSSIBLE, g, 3), -1);
    drip__suppressions_free(&s);
    assert_true(drip__vg_glob("*a?c", "xxabc"));
    assert_false(drip__vg_glob("a?c", "ac"));
}

/* One valgrind entry (text) against one stack of (function, symbol) frames: index or -1. */
static int vg_match1(const char *text, unsigned kind, const struct drip_frame *f, size_t n)
{
    struct drip_suppressions s;
    char err[256] = "";
    assert_int_equal(drip__suppressions_parse(&s, text, strlen(text), err, sizeof err), 0);
    int r = drip__suppressions_match_kind(&s, kind, f, n);
    drip__suppressions_free(&s);
    return r;
}

/* valgrind matches fun: against the mangled name (m_errormgr.c): a pattern of symbol characters
 * against the frame's symbol, a demangled one (drip's extension) against the function */
static void vg_mangled(void **state)
{
    (void)state;
    struct drip_frame f[4] = {
        {.function = "operator new(unsigned long)", .symbol = "_Znwm"},
        {.function = "foo::Pool<int>::grab()", .symbol = "_ZN3foo4PoolIiE4grabEv"},
        {.function = "work()", .symbol = "_ZL4workv"},
        {.function = "main"},
    };
#define E(lines) "{\n  e\n  Memcheck:Leak\n" lines "}\n"
    /* the first line names the allocation frame, under valgrind as here */
    assert_int_equal(vg_match1(E("  fun:_ZN3foo4PoolIiE*\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    assert_int_equal(vg_match1(E("  ...\n  fun:_ZN3foo4PoolIiE*\n"), DRIP_SUPP_DEFINITE, f, 4), 0);
    assert_int_equal(vg_match1(E("  fun:_Znwm\n  fun:*_ZN3foo4PoolIiE4grabEv\n"), DRIP_SUPP_DEFINITE, f, 4), 0);
    assert_int_equal(vg_match1(E("  ...\n  fun:_ZN3foo4PoolIdE*\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    /* symbol characters: valgrind compares them with "_ZN3foo...", never "foo::Pool<int>..." */
    assert_int_equal(vg_match1(E("  ...\n  fun:foo*\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    assert_int_equal(vg_match1(E("  ...\n  fun:work*\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    /* demangled (`::`, parentheses): drip's extension, against the demangled name */
    assert_int_equal(vg_match1(E("  ...\n  fun:foo::*\n"), DRIP_SUPP_DEFINITE, f, 4), 0);
    assert_int_equal(vg_match1(E("  ...\n  fun:work()\n  fun:main\n"), DRIP_SUPP_DEFINITE, f, 4), 0);
    /* libstdc++'s operator new frame stands for valgrind's replacement (`_Znam` for new[]) */
    assert_int_equal(vg_match1(E("  fun:_Znam\n  fun:_ZN3foo4PoolIiE4grabEv\n  fun:_ZL4workv\n"), DRIP_SUPP_DEFINITE,
                               f, 4), 0);
    assert_int_equal(vg_match1(E("  fun:*new*\n  fun:_ZN3foo4PoolIiE4grabEv\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    /* valgrind's allocation frame is of the family drip's stack shows: operator new, or malloc's
     * (which member is not known: new[] jumps to new) */
    assert_int_equal(vg_match1(E("  fun:malloc\n  fun:_ZN3foo4PoolIiE4grabEv\n"), DRIP_SUPP_DEFINITE, f, 4), -1);
    assert_int_equal(vg_match1(E("  fun:_Znam\n"), DRIP_SUPP_DEFINITE, f, 4), 0);
    assert_int_equal(vg_match1(E("  fun:_Znam\n"), DRIP_SUPP_DEFINITE, f + 1, 3), -1);
    assert_int_equal(vg_match1(E("  fun:calloc\n  fun:_ZN3foo4PoolIiE4grabEv\n"), DRIP_SUPP_DEFINITE, f + 1, 3), 0);
    /* a frame named without its symbol (demangled only): a plain mangled pattern is demangled */
    struct drip_frame g[2] = {{.function = "app::make()"}, {.function = "main"}};
    assert_int_equal(vg_match1(E("  fun:_ZN3app4makeEv\n"), DRIP_SUPP_DEFINITE, g, 2), 0);
    assert_int_equal(vg_match1(E("  fun:_ZN3app*\n"), DRIP_SUPP_DEFINITE, g, 2), -1);
    /* glibc's start-up code is "(below main)"; versioned names as the symbol table has them */
    struct drip_frame h[2] = {{.function = "_IO_file_overflow", .symbol = "_IO_file_overflow@@GLIBC_2.2.5"},
                              {.function = "__libc_start_call_main"}};
    assert_int_equal(vg_match1(E("  fun:_IO_file_overflow@@*\n  fun:(below main)\n"), DRIP_SUPP_DEFINITE, h, 2), 0);
    assert_int_equal(vg_match1(E("  fun:_IO_file_overflow\n"), DRIP_SUPP_DEFINITE, h, 2), -1);
    assert_string_equal(drip__vg_frame_name(&h[1]), "(below main)");
    /* inlined calls are frames of their own, innermost first, before their caller */
    struct drip_frame in[3] = {{.function = "operator new(unsigned long)", .symbol = "_Znwm"},
                               {.function = "make()", .symbol = "_Z4makev", .inlined = "allocate\x1f_M_allocate"},
                               {.function = "main"}};
    assert_int_equal(vg_match1(E("  fun:_Znwm\n  fun:allocate\n  fun:_M_allocate\n  fun:_Z4makev\n  fun:main\n"),
                               DRIP_SUPP_DEFINITE, in, 3), 0);
    assert_int_equal(vg_match1(E("  fun:_Znwm\n  fun:_Z4makev\n"), DRIP_SUPP_DEFINITE, in, 3), -1);
    assert_int_equal(vg_match1(E("  fun:_Znwm\n  ...\n  fun:_M_alloc*\n  fun:_Z4makev\n"), DRIP_SUPP_DEFINITE, in, 3), 0);
    /* memcheck's setenv wrapper: a frame of valgrind's, also where glibc's setenv left none */
    struct drip_frame env[3] = {{.function = "__add_to_environ", .module = "/usr/lib/x86_64-linux-gnu/libc.so.6"},
                                {.function = "configure", .module = "/bin/prog"},
                                {.function = "_start", .module = "/bin/prog"}};
    assert_int_equal(vg_match1(E("  fun:malloc\n  fun:__add_to_environ\n  fun:setenv\n  fun:configure\n"),
                               DRIP_SUPP_REACHABLE, env, 3), 0);
    assert_int_equal(vg_match1(E("  fun:malloc\n  fun:__add_to_environ\n  fun:configure\n"), DRIP_SUPP_REACHABLE, env, 3),
                     -1);
    assert_string_equal(drip__vg_wrapped(env, 0, 3), "setenv");
    assert_null(drip__vg_wrapped(env, 1, 3));
    /* past drip's outermost frame (_start, "(below main)"), valgrind's unwinder finds more: `obj:*` */
    assert_int_equal(vg_match1(E("  ...\n  fun:configure\n  fun:(below main)\n  obj:*\n  obj:*\n"), DRIP_SUPP_REACHABLE,
                               env, 3), 0);
    assert_int_equal(vg_match1(E("  ...\n  fun:configure\n  fun:(below main)\n  obj:/bin/*\n"), DRIP_SUPP_REACHABLE,
                               env, 3), -1);
    assert_true(drip__vg_is_operator_new(&f[0]));
    assert_false(drip__vg_is_operator_new(&f[1]));
#undef E
}

static void writer(void **state)
{
    char path[] = "/tmp/drip-writer-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct drip_writer w;
    drip__writer_fd(&w, fd);
    drip__put_count(&w, 0);
    drip__puts(&w, " ");
    drip__put_count(&w, 1048576);
    drip__puts(&w, " ");
    drip__put_count(&w, 999);
    drip__puts(&w, " ");
    drip__put_json_str(&w, "a\"b\\c\n\x01");
    drip__puts(&w, " ");
    /* JSON is UTF-8: well-formed sequences pass, any other byte becomes U+FFFD (an argument in
     * Latin-1 made the report unparseable); overlong, surrogate and truncated forms are not UTF-8 */
    drip__put_json_str(&w, "\xc3\xa9\xe6\x97\xa5 \xff\xc3 \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80\xf0\x9f");
    assert_int_equal(drip__flush(&w), 0);
    char buf[256] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    assert_string_equal(buf, "0 1,048,576 999 \"a\\\"b\\\\c\\n\\u0001\" \"\xc3\xa9\xe6\x97\xa5 \\ufffd\\ufffd "
                             "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\\ufffd\\ufffd\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_defaults), cmocka_unit_test(options_parse), cmocka_unit_test(options_errors), cmocka_unit_test(options_ranges),
        cmocka_unit_test(sizes),           cmocka_unit_test(template_match), cmocka_unit_test(suppressions), cmocka_unit_test(vg_mangled),
        cmocka_unit_test(writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
