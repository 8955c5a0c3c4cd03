/* manpage.c — `drip options --man` (the drip(1) page, troff) and `drip options --bash-completion`
 * (a bash completion script). Both are generated at build time from the options table in
 * src/common/options.h, the table `drip run --help` and `drip options --markdown` print, so the
 * installed page and completion cannot disagree with the program. No locks, no state.
 */
#include "cli.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

#ifndef DRIP_VERSION
#define DRIP_VERSION "0"
#endif

/* The `drip run` flag spelling of an option name: json -> --json, log_path -> --log-path. */
static void flag_name(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "--%s", name);
    for (char *p = out; *p; p++)
        if (*p == '_')
            *p = '-';
}

/* Writes s escaped for troff: a backslash doubles, a '-' becomes \- (a real hyphen-minus, so a
 * copied flag works), and a line may not start with '.' or '\''. */
static void troff(FILE *out, const char *s)
{
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
    }
}

static const char *arg_name(enum drip_opt_type t)
{
    return t == DRIP_OPT_BOOL ? "" : t == DRIP_OPT_STR ? " VALUE" : t == DRIP_OPT_SIZE ? " BYTES"
           : t == DRIP_OPT_DURATION ? " TIME" : " N";
}

/* The commands and what they do, as `drip --help` lists them. */
static const struct { const char *synopsis, *what; } commands[] = {
    {"run [options] [--] program [args...]", "run program under the leak tracker; report at exit"},
    {"top [options] FILE|URL", "the functions holding the most of a pprof profile"},
    {"diff [options] BEFORE AFTER", "which functions' live bytes grew between two profiles"},
    {"flame [--folded] FILE|URL", "interactive flame graph (SVG) or folded stacks"},
    {"watch [options] PID | -- cmd", "RSS, PSS, swap, threads, fds over time; trend; plot"},
    {"sarif [--source-root DIR] [-o FILE] REPORT.json", "convert a JSON leak report to SARIF 2.1.0"},
    {"suppress REPORT.json", "print LeakSanitizer-format suppressions for every leak record of a JSON report"},
    {"options [--markdown|--man|--bash-completion]", "list the preload library's options (DRIP_OPTIONS)"},
    {"options --check VALUE", "parse a DRIP_OPTIONS value; print what it sets"},
    {"version", "print drip's version"},
};

static int man(void)
{
    FILE *o = stdout;
    fprintf(o, ".TH DRIP 1 \"\" \"drip %s\" \"User Commands\"\n", DRIP_VERSION);
    fputs(".SH NAME\ndrip \\- find, measure and prevent memory leaks in C and C++ programs\n", o);
    fputs(".SH SYNOPSIS\n.B drip run\n[\\fIoptions\\fR] [\\fB\\-\\-\\fR] \\fIprogram\\fR [\\fIargs\\fR...]\n.br\n"
          ".B drip\n\\fIcommand\\fR [\\fIoptions\\fR]\n", o);
    fputs(".SH DESCRIPTION\n"
          "drip runs a program with its tracker (libdrip.so) preloaded, records every allocation "
          "with its stack, and when the program ends classifies every block still allocated as "
          "valgrind memcheck does: definitely lost, indirectly lost, possibly lost, still "
          "reachable. The program runs as it would without drip and drip leaves with its exit "
          "status.\n", o);
    fputs(".SH COMMANDS\n", o);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fputs(".TP\n.B drip ", o);
        troff(o, commands[i].synopsis);
        fputc('\n', o);
        troff(o, commands[i].what);
        fputc('\n', o);
    }
    fputs(".SH OPTIONS\n"
          "Each option of \\fBdrip run\\fR is also a \\fBDRIP_OPTIONS\\fR entry "
          "(\\fIname\\fR=\\fIvalue\\fR, separated by ':' or spaces).\n", o);
    for (size_t i = 0; i < drip_option_count; i++) {
        const struct drip_option_info *inf = &drip_option_infos[i];
        char flag[64];
        flag_name(inf->name, flag, sizeof flag);
        fputs(".TP\n.B ", o);
        troff(o, flag);
        troff(o, arg_name(inf->type));
        fputc('\n', o);
        troff(o, inf->help);
        fputs(" (default: ", o);
        troff(o, inf->def[0] ? inf->def : "none");
        fputs("; DRIP_OPTIONS: ", o);
        troff(o, inf->name);
        fputs(")\n", o);
    }
    fputs(".TP\n.B \\-\\-no\\-NAME\nturns a yes/no option off, e.g. \\-\\-no\\-report\n"
          ".TP\n.B \\-\\-log FILE\nsame as \\-\\-log\\-path FILE\n"
          ".TP\n.B \\-\\-gen\\-suppressions[=all|no]\nafter the report, print a leak:<pattern> line suppressing each record\n"
          ".TP\n.B \\-\\-sarif FILE\nalso write the leak records as SARIF 2.1.0 to FILE\n"
          ".TP\n.B \\-\\-source\\-root DIR\nSARIF locations are relative to DIR\n", o);
    fputs(".SH VALGRIND COMPATIBILITY\n"
          "\\fBdrip\\fR [valgrind options] \\fIprogram\\fR [\\fIargs\\fR...] accepts the flags "
          "CTest's memcheck passes to valgrind (\\-q, \\-\\-tool=memcheck, \\-\\-leak\\-check, "
          "\\-\\-show\\-reachable, \\-\\-num\\-callers, \\-\\-log\\-file, \\-\\-error\\-exitcode, "
          "\\-\\-suppressions, \\-\\-gen\\-suppressions) and writes a valgrind-format report, so "
          "MEMORYCHECK_COMMAND can name drip.\n", o);
    fputs(".SH ENVIRONMENT\n.TP\n.B DRIP_OPTIONS\noptions for libdrip.so, as listed above\n", o);
    fputs(".SH EXIT STATUS\nThe program's own (or 128 + its signal), unless \\-\\-error\\-exitcode "
          "N is given and definite or indirect leaks were found; 2 for drip's own usage errors, "
          "126/127 when the program cannot be run.\n", o);
    fputs(".SH FILES\n.TP\n.I PREFIX/lib/drip/libdrip.so\nthe preload library, found relative to "
          "the drip executable\n", o);
    fputs(".SH SEE ALSO\n.BR valgrind (1),\n.BR pprof (1)\n", o);
    return 0;
}

static int completion(void)
{
    FILE *o = stdout;
    fputs("# bash completion for drip, generated by `drip options --bash-completion`\n"
          "_drip()\n{\n"
          "    local cur prev\n"
          "    cur=${COMP_WORDS[COMP_CWORD]}\n"
          "    prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        COMPREPLY=( $(compgen -W 'run top diff flame watch sarif suppress options version --help --version' -- \"$cur\") )\n"
          "        return\n"
          "    fi\n"
          "    local w\n"
          "    for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n"
          "        if [ \"$w\" = -- ]; then\n"
          "            COMPREPLY=( $(compgen -c -- \"$cur\") )\n"
          "            return\n"
          "        fi\n"
          "    done\n"
          "    case ${COMP_WORDS[1]} in\n"
          "    run)\n"
          "        case $prev in\n", o);
    /* flags taking a file name complete file names */
    fputs("        --log|--log-path|--json|--suppressions|--profile|--sarif)\n"
          "            COMPREPLY=( $(compgen -f -- \"$cur\") ); return ;;\n"
          "        --source-root)\n"
          "            COMPREPLY=( $(compgen -d -- \"$cur\") ); return ;;\n"
          "        --unwind)\n"
          "            COMPREPLY=( $(compgen -W 'auto fp cfi libunwind' -- \"$cur\") ); return ;;\n"
          "        esac\n"
          "        if [[ $cur == -* ]]; then\n"
          "            COMPREPLY=( $(compgen -W '", o);
    for (size_t i = 0; i < drip_option_count; i++) {
        char flag[64];
        flag_name(drip_option_infos[i].name, flag, sizeof flag);
        fprintf(o, "%s ", flag);
        if (drip_option_infos[i].type == DRIP_OPT_BOOL)
            fprintf(o, "--no-%s ", flag + 2);
    }
    fputs("--log --sarif --source-root --help --' -- \"$cur\") )\n"
          "        else\n"
          "            COMPREPLY=( $(compgen -c -- \"$cur\") )\n"
          "        fi ;;\n"
          "    options)\n"
          "        COMPREPLY=( $(compgen -W '--markdown --man --bash-completion --check' -- \"$cur\") ) ;;\n"
          "    *)\n"
          "        COMPREPLY=( $(compgen -f -- \"$cur\") ) ;;\n"
          "    esac\n"
          "}\n"
          "complete -F _drip drip\n", o);
    return 0;
}

int drip__options_generate(const char *what)
{
    if (!strcmp(what, "--man"))
        return man();
    if (!strcmp(what, "--bash-completion"))
        return completion();
    return die(2, "unknown options format '%s' (--markdown, --man or --bash-completion)", what);
}
