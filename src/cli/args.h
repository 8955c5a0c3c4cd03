/* args.h — one argument parser for drip's subcommands (top, diff, flame, watch).
 *
 * A command describes its options as a table of {name, alias, kind, destination, minimum, what it
 * takes}; the parser handles -h/--help, "--name VALUE" and "--name=VALUE", value checks and every
 * error message, so the commands read as their tables and bad input gets the same one-line error
 * (and exit status 2) everywhere:
 *   drip: CMD: NAME takes WHAT, not 'VALUE'
 *   drip: CMD: unknown option 'ARG' (see drip CMD --help)
 *   drip: NAME needs a value
 * Arguments that are not options go to the command's positional callback, in order.
 */
#ifndef DRIP_CLI_ARGS_H
#define DRIP_CLI_ARGS_H

#include <stdio.h>

enum drip__arg_kind {
    DRIP__ARG_FLAG,      /* int: set to 1 */
    DRIP__ARG_STR,       /* const char *: the value as given */
    DRIP__ARG_COUNT,     /* long: a decimal integer >= min */
    DRIP__ARG_FRACTION,  /* double: between 0 and 1 */
    DRIP__ARG_DURATION,  /* unsigned long long: milliseconds (500ms, 1s, 1m), >= min */
    DRIP__ARG_SIZE,      /* unsigned long long: bytes (512MiB, 1GiB), >= min */
};

struct drip__arg {
    const char *name, *alias;  /* "-n", "--nodecount" (alias NULL: none); errors say `name` */
    enum drip__arg_kind kind;
    void *dst;
    unsigned long long min;
    const char *takes;         /* what the error says it takes: "a count" */
};

struct drip__args {
    const char *cmd;                  /* "top": the prefix of every message */
    const struct drip__arg *opt;      /* ended by an entry whose name is NULL */
    void (*usage)(FILE *out);         /* printed on standard output for -h and --help */
    /* An argument that is no option, argv[i]: returns 0 to go on, 1 to stop parsing there, or
     * -status after printing its own one-line error. */
    int (*positional)(const struct drip__args *a, int argc, char **argv, int i);
    void *ctx;                        /* for the positional callback */
    const char *dashdash;             /* non-NULL: "--" ends the options and a command follows; the
                                         error when none does. NULL: "--" is an unknown option */
    int dash_is_option;               /* "-" alone is an option (unknown), not a positional */
};

enum { DRIP__ARGS_GO_ON = -1 };

/* Parses argv[1..argc). Returns DRIP__ARGS_GO_ON with *next = the index parsing stopped at (the
 * positional that said stop, the argument after "--", or argc), or the status to exit with: 0
 * after --help, 2 after a one-line error on stderr. */
int drip__args_parse(const struct drip__args *a, int argc, char **argv, int *next);

/* A positional callback for commands that read one profile: ctx is a const char ** that takes
 * it; a second is an error. */
int drip__one_profile(const struct drip__args *a, int argc, char **argv, int i);

/* Parses "-n 5"-style counts; -1 when s is not a non-negative integer. */
long drip__parse_count(const char *s);

/* Matches argv[*i] against option `name` ("--type" or "-n") taking a value, as "--type X" or
 * "--type=X". Returns 1 and sets *val (advancing *i past a separate value), 0 when argv[*i] is
 * another option, -1 (after printing "drip: NAME needs a value") when the value is missing. */
int drip__opt_value(int argc, char **argv, int *i, const char *name, const char **val);

#endif
