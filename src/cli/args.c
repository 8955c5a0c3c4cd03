/* args.c — see args.h. No state, no locks. */
#include "args.h"
#include "cli.h"
#include "options.h"

#include <stdlib.h>
#include <string.h>

long drip__parse_count(const char *s)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    long v = strtol(s, &end, 10);
    return *end || v < 0 ? -1 : v;
}

int drip__opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n))
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n])
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "drip: %s needs a value\n", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* Stores value v of option o; 0, or the exit status after the one-line error. */
static int store(const struct drip__args *a, const struct drip__arg *o, const char *v)
{
    int ok = 1;
    switch (o->kind) {
    case DRIP__ARG_FLAG: /* match() sets flags */
    case DRIP__ARG_STR:
        *(const char **)o->dst = v;
        break;
    case DRIP__ARG_COUNT: {
        long n = drip__parse_count(v);
        ok = n >= 0 && (unsigned long long)n >= o->min;
        if (ok)
            *(long *)o->dst = n;
        break;
    }
    case DRIP__ARG_FRACTION: {
        char *end;
        double f = strtod(v, &end);
        ok = !*end && end != v && !(f < 0) && !(f > 1);
        if (ok)
            *(double *)o->dst = f;
        break;
    }
    case DRIP__ARG_DURATION:
    case DRIP__ARG_SIZE: {
        unsigned long long *d = o->dst;
        int bad = o->kind == DRIP__ARG_DURATION ? drip__parse_duration(v, strlen(v), d)
                                                : drip__parse_size(v, strlen(v), d);
        ok = !bad && *d >= o->min;
        break;
    }
    }
    return ok ? 0 : die(2, "%s: %s takes %s, not '%s'", a->cmd, o->name, o->takes, v);
}

/* Option o given as argv[*i]: 1 and its value stored, 0 when argv[*i] is not o, or -status. */
static int match(const struct drip__args *a, const struct drip__arg *o, int argc, char **argv, int *i)
{
    if (o->kind == DRIP__ARG_FLAG) {
        if (strcmp(argv[*i], o->name) && (!o->alias || strcmp(argv[*i], o->alias)))
            return 0;
        *(int *)o->dst = 1;
        return 1;
    }
    const char *v;
    int r = drip__opt_value(argc, argv, i, o->name, &v);
    if (!r && o->alias)
        r = drip__opt_value(argc, argv, i, o->alias, &v);
    if (r <= 0)
        return r < 0 ? -2 : 0;
    int st = store(a, o, v);
    return st ? -st : 1;
}

int drip__one_profile(const struct drip__args *a, int argc, char **argv, int i)
{
    const char **src = a->ctx;
    if (*src)
        return -die(2, "%s: one profile at a time ('%s' and '%s')", a->cmd, *src, argv[i]);
    *src = argv[i];
    return 0;
}

int drip__args_parse(const struct drip__args *a, int argc, char **argv, int *next)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            a->usage(stdout);
            return 0;
        }
        if (a->dashdash && !strcmp(arg, "--")) {
            if (i + 1 >= argc)
                return die(2, "%s: %s", a->cmd, a->dashdash);
            *next = i + 1;
            return DRIP__ARGS_GO_ON;
        }
        int r = 0;
        for (const struct drip__arg *o = a->opt; o->name && !r; o++)
            r = match(a, o, argc, argv, &i);
        if (r < 0)
            return -r;
        if (r)
            continue;
        if (arg[0] == '-' && (arg[1] || a->dash_is_option))
            return die(2, "%s: unknown option '%s' (see drip %s --help)", a->cmd, arg, a->cmd);
        r = a->positional(a, argc, argv, i);
        if (r < 0)
            return -r;
        if (r) {
            *next = i;
            return DRIP__ARGS_GO_ON;
        }
    }
    *next = argc;
    return DRIP__ARGS_GO_ON;
}
