/* vgxml.c — valgrind's XML output (`valgrind --xml=yes --xml-file=F`, protocol version 4) made
 * from drip's JSON report, for the tools that read valgrind's XML rather than its text: IDEs
 * (Qt Creator, CLion, KDevelop, Eclipse), CI plugins (Jenkins' Valgrind plugin, ValgrindCI),
 * valgrind's own test scripts. `drip run --xml F` and `drip --xml=yes --xml-file=F prog`
 * (vgcompat.c) write it once the program has exited (postrun.c).
 *
 * One <error> per leak record, kind Leak_DefinitelyLost / Leak_IndirectlyLost /
 * Leak_PossiblyLost / Leak_StillReachable, <xwhat> with the record's text ("N bytes in M blocks
 * are ... in loss record I of T"), <leakedbytes> and <leakedblocks>, and its stack as <frame>s
 * (ip, obj, fn, dir, file, line). Differences from valgrind's: a definite record's bytes are its
 * own blocks' (valgrind adds the indirect blocks it holds, and says "(D direct, I indirect)");
 * the stack starts in the allocating function's caller (valgrind's with its malloc replacement);
 * no <errorcounts> or <suppcounts> entries (drip reports leaks only).
 * No locks, no globals.
 */
#include "cli.h"
#include "json.h"
#include "vgxml.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
    const char *kind, *xml, *verb;
} kinds[] = {
    {"definite", "Leak_DefinitelyLost", "definitely lost"},
    {"indirect", "Leak_IndirectlyLost", "indirectly lost"},
    {"possible", "Leak_PossiblyLost", "possibly lost"},
    {"reachable", "Leak_StillReachable", "still reachable"},
};

/* s as XML character data: the five entities, control characters and bytes that are not UTF-8
 * as U+FFFD (a mangled name must not make the whole file unreadable). */
static void xstr(FILE *o, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if (c == '&')
            fputs("&amp;", o);
        else if (c == '<')
            fputs("&lt;", o);
        else if (c == '>')
            fputs("&gt;", o);
        else if (c == '"')
            fputs("&quot;", o);
        else if (c == '\'')
            fputs("&apos;", o);
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            fputs("\xef\xbf\xbd", o);
        else if (c < 0x80)
            fputc((int)c, o);
        else {
            int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            int ok = n > 0;
            for (int i = 1; ok && i < n; i++)
                ok = (p[i] & 0xc0) == 0x80;
            if (!ok) {
                fputs("\xef\xbf\xbd", o);
                continue;
            }
            fwrite(p, 1, (size_t)n, o);
            p += n - 1;
        }
    }
}

static void tag(FILE *o, const char *indent, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(o, "%s<%s>", indent, name);
    xstr(o, value);
    fprintf(o, "</%s>\n", name);
}

static void frame(FILE *o, const struct json *f)
{
    fputs("    <frame>\n", o);
    tag(o, "      ", "ip", json_str(f, "address"));
    tag(o, "      ", "obj", json_str(f, "module"));
    tag(o, "      ", "fn", json_str(f, "function"));
    const char *file = json_str(f, "file");
    if (file) {
        const char *slash = strrchr(file, '/');
        if (slash && slash != file) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
            tag(o, "      ", "dir", dir);
        }
        tag(o, "      ", "file", slash ? slash + 1 : file);
        double line = json_num(f, "line", 0);
        if (line > 0)
            fprintf(o, "      <line>%.0f</line>\n", line);
    }
    fputs("    </frame>\n", o);
}

static int kind_index(const char *k)
{
    for (int i = 0; k && i < 4; i++)
        if (!strcmp(k, kinds[i].kind))
            return i;
    return -1;
}

static void header(FILE *o, const struct json *r)
{
    fputs("<?xml version=\"1.0\"?>\n\n<valgrindoutput>\n\n<protocolversion>4</protocolversion>\n"
          "<protocoltool>memcheck</protocoltool>\n\n<preamble>\n"
          "  <line>drip, a leak checker, in valgrind memcheck's XML format</line>\n", o);
    const struct json *cmd = json_get(r, "command");
    if (cmd && cmd->type == JSON_ARRAY) {
        fputs("  <line>Command:", o);
        for (size_t i = 0; i < cmd->n; i++)
            if (cmd->items[i]->type == JSON_STRING) {
                fputc(' ', o);
                xstr(o, cmd->items[i]->str);
            }
        fputs("</line>\n", o);
    }
    fprintf(o, "</preamble>\n\n<pid>%.0f</pid>\n<ppid>%.0f</ppid>\n<tool>memcheck</tool>\n\n<args>\n  <vargv>\n",
            json_num(r, "pid", 0), json_num(r, "ppid", 0));
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    tag(o, "    ", "exe", n > 0 ? self : "drip");
    fputs("  </vargv>\n  <argv>\n", o);
    const char *exe = json_str(r, "executable");
    for (size_t i = 0; cmd && cmd->type == JSON_ARRAY && i < cmd->n; i++)
        if (cmd->items[i]->type == JSON_STRING)
            tag(o, "    ", i == 0 ? "exe" : "arg", i == 0 && exe ? exe : cmd->items[i]->str);
    fputs("  </argv>\n</args>\n\n<status>\n  <state>RUNNING</state>\n  <time>00:00:00:00.000 </time>\n</status>\n\n"
          "<status>\n  <state>FINISHED</state>\n  <time>00:00:00:00.000 </time>\n</status>\n\n", o);
}

int drip__vgxml_convert(const char *json_path, const char *xml_path, int show_possible, int show_reachable)
{
    char err[512];
    struct json *r = json_load(json_path, err, sizeof err);
    if (!r) {
        fprintf(stderr, "drip: %s: no XML written\n", err);
        return -1;
    }
    const struct json *leaks = json_get(r, "leaks");
    if (r->type != JSON_OBJECT || !leaks || leaks->type != JSON_ARRAY) {
        fprintf(stderr, "drip: %s is not a drip leak report: no XML written\n", json_path);
        json_free(r);
        return -1;
    }
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", xml_path);
    FILE *o = fopen(tmp, "w");
    if (!o) {
        fprintf(stderr, "drip: cannot write %s: %s\n", xml_path, strerror(errno));
        json_free(r);
        return -1;
    }
    header(o, r);
    size_t total = 0;
    for (size_t i = 0; i < leaks->n; i++)
        total += !json_str(leaks->items[i], "suppressed_by");
    unsigned unique = 0;
    size_t number = 0;
    for (size_t i = 0; i < leaks->n; i++) {
        const struct json *rec = leaks->items[i];
        int k = kind_index(json_str(rec, "kind"));
        if (k < 0 || json_str(rec, "suppressed_by"))
            continue;
        number++;
        if ((k == 2 && !show_possible) || (k == 3 && !show_reachable))
            continue;
        double bytes = json_num(rec, "bytes", 0), blocks = json_num(rec, "blocks", 0);
        fprintf(o, "<error>\n  <unique>0x%x</unique>\n  <tid>1</tid>\n  <kind>%s</kind>\n  <xwhat>\n", unique++,
                kinds[k].xml);
        fprintf(o, "    <text>%.0f bytes in %.0f blocks are %s in loss record %zu of %zu</text>\n", bytes, blocks,
                kinds[k].verb, number, total);
        fprintf(o, "    <leakedbytes>%.0f</leakedbytes>\n    <leakedblocks>%.0f</leakedblocks>\n  </xwhat>\n  <stack>\n",
                bytes, blocks);
        const struct json *stack = json_get(rec, "stack");
        for (size_t f = 0; stack && stack->type == JSON_ARRAY && f < stack->n; f++)
            frame(o, stack->items[f]);
        fputs("  </stack>\n</error>\n", o);
    }
    fputs("\n<errorcounts>\n</errorcounts>\n\n<suppcounts>\n</suppcounts>\n\n</valgrindoutput>\n\n", o);
    json_free(r);
    int bad = ferror(o);
    if (fclose(o) != 0 || bad || rename(tmp, xml_path) != 0) {
        fprintf(stderr, "drip: cannot write %s: %s\n", xml_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
