/* options.h — every option of the preload library in one table.
 *
 * The same table drives the DRIP_OPTIONS parser (in the traced process), the `drip run` flags
 * that set them, `drip run --help`, and docs/options.md's table (`drip options --markdown`).
 * Parsing never allocates: string values live in fixed buffers inside struct drip_options.
 *
 * X(name, type, default, help)   type: BOOL, INT, SIZE (bytes, accepts KiB/MiB/GiB),
 *                                 DURATION (milliseconds, accepts ms/s/m/h), STR
 */
#ifndef DRIP_COMMON_OPTIONS_H
#define DRIP_COMMON_OPTIONS_H

#include <stddef.h>

#define DRIP_OPTION_TABLE(X)                                                                        \
    X(report, BOOL, "1", "write the leak report when the process exits")                         \
    X(log_path, STR, "", "file for the text report (default: stderr); %p is replaced by the pid")\
    X(json, STR, "", "also write the report as JSON to this file; a forked child writes FILE.<pid>") \
    X(error_exitcode, INT, "0", "exit with this status when definite or indirect leaks are found (0: keep the program's)") \
    X(suppressions, STR, "", "suppressions file, LeakSanitizer (leak:<pattern> lines) or valgrind ({ ... } entries) format; give it again for each further file, as valgrind's --suppressions") \
    X(show_reachable, BOOL, "0", "print every still-reachable record in full, not only a summary by site") \
    X(show_possible, BOOL, "1", "print possibly-lost records")                                    \
    X(max_frames, INT, "64", "frames kept per allocation stack")                         \
    X(unwind, STR, "auto", "stack capture: auto (frame pointers where every frame's module keeps them, else drip's cached .eh_frame walker, else libunwind), fp, cfi, libunwind (one method only)") \
    X(follow_exec, BOOL, "0", "also trace the programs that forked children exec (the process drip run started is traced through its own execs either way)") \
    X(handle_signals, BOOL, "1", "on a fatal signal (SEGV, ABRT, TERM, ...) write the report, then die by that signal") \
    X(stop_signal, INT, "0", "signal that pauses threads for a scan where ptrace is refused (0: SIGRTMAX-3)") \
    X(scan_threads_timeout_ms, INT, "500", "how long a scan waits for a thread to stop before reading its whole stack") \
    X(max_records, INT, "0", "print at most this many leak records per kind (0: all)")             \
    X(profile, STR, "", "write a heap profile (pprof, gzipped) to this file at exit; %p is replaced by the pid") \
    X(http, STR, "", "serve /debug/pprof/heap, /metrics, /debug/drip/leaks ... on this address: host:port (loopback unless you say otherwise) or unix:/path (a unix socket of mode 0600, removed at exit)") \
    X(nice, INT, "19", "niceness of drip's HTTP thread, 0-19: when the CPUs are busy, requests wait rather than take CPU time from the program; 0 serves them at the program's priority. Live leak checks and the growth detector run on drip's other thread, at the program's priority") \
    X(monitor, DURATION, "0", "print a stats line on stderr at this interval, e.g. 5s (0: off)")     \
    X(alert, SIZE, "0", "warn on stderr when live heap bytes pass this, e.g. 500MiB (0: off)")     \
    X(growth, DURATION, "100ms", "growth detector: sample every site's live bytes at this interval to start with (it doubles as the run goes on); 0: off") \
    X(sample, SIZE, "0", "record one allocation per this many bytes on average (Poisson, as Go and tcmalloc do), e.g. 512KiB; 0 records every allocation. Leak classification needs 0") \
    X(child_silent_after_fork, BOOL, "0", "forked children write no report and track nothing, as valgrind's --child-silent-after-fork (a program they exec is still traced with follow_exec)") \
    X(http_token, STR, "", "file holding a bearer token: every HTTP request (on http and http_metrics) must then send Authorization: Bearer TOKEN, else 401. Read once at start; never give the token itself on the command line or in the environment") \
    X(http_metrics, STR, "", "also serve /metrics, and nothing else, on this address (host:port or unix:/path): for a scraper on the pod network while http stays on loopback or a unix socket") \
    X(http_leaks_interval, DURATION, "5s", "minimum time between two live leak checks (/debug/drip/leaks pauses the program): an earlier request, or one while a check runs, gets 429 with Retry-After; 0: no minimum") \
    X(leak_check_heuristics, STR, "all", "valgrind's --leak-check-heuristics: interior pointers that count as start pointers (the block is reachable via heuristic): all, none, or a list of stdstring, length64, newarray, multipleinheritance joined by + (or by commas inside quotes)") \
    X(raw_out, STR, "", "also keep the raw report (addresses, modules, build IDs) in this file; `drip symbolize FILE` writes the report from it later, here or on a machine with the same binaries") \
    X(debuginfod, BOOL, "0", "let the symbolizer (never the traced program) fetch missing debug info from the servers in DEBUGINFOD_URLS, within DEBUGINFOD_MAXTIME (default 10 s)") \
    X(gen_suppressions, BOOL, "0", "after each definite, indirect or possible record, print the LeakSanitizer-format line (leak:<pattern>) that suppresses it, as valgrind's --gen-suppressions=all") \
    X(retainers, BOOL, "0", "compute retained sizes (a dominator tree over the heap graph, as Eclipse MAT) and list the top retainers, the roots that hold the most memory, in the exit report; show_reachable implies it") \
    X(retain_budget, DURATION, "2s", "time limit for the retained sizes of one scan: past it the report says so and gives the retention paths without them (0: never compute them)") \
    X(retain_paths, BOOL, "1", "record during the leak scan how each block was reached, for the retention paths of reachable and possibly-lost records (made while marking: a few bytes a path, not a block); 0: no paths") \
    X(log_roots, BOOL, "0", "say why each record was judged reachable or possibly lost: the chain of blocks, with addresses and offsets, from the root word that holds its first block, as LeakSanitizer's log_pointers") \
    X(error_kinds, STR, "definite+indirect", "the leak kinds whose records make error_exitcode the exit status: definite, indirect, possible, reachable joined by +, all or none (valgrind's --errors-for-leak-kinds)") \
    X(gen_suppressions_format, STR, "lsan", "the format of gen_suppressions' entries: lsan (a leak:<pattern> line) or valgrind (a { ... Memcheck:Leak ... } block that valgrind and drip both read)")

enum drip_opt_type { DRIP_OPT_BOOL, DRIP_OPT_INT, DRIP_OPT_SIZE, DRIP_OPT_DURATION, DRIP_OPT_STR };

enum { DRIP_OPT_STR_MAX = 1024 };

struct drip_options {
#define DRIP_OPT_FIELD_BOOL(n) int n;
#define DRIP_OPT_FIELD_INT(n) long n;
#define DRIP_OPT_FIELD_SIZE(n) unsigned long long n;
#define DRIP_OPT_FIELD_DURATION(n) unsigned long long n;
#define DRIP_OPT_FIELD_STR(n) char n[DRIP_OPT_STR_MAX];
#define DRIP_OPT_FIELD(name, type, def, help) DRIP_OPT_FIELD_##type(name)
    DRIP_OPTION_TABLE(DRIP_OPT_FIELD)
#undef DRIP_OPT_FIELD
};

struct drip_option_info {
    const char *name;
    enum drip_opt_type type;
    const char *def;
    const char *help;
};

/* An option's accepted values beyond its type (options.c holds the table): INT options take
 * lo..hi; STR options with choices take one of its '|'-separated words. */
struct drip_option_limit {
    const char *name;
    long lo, hi;
    const char *choices;
};
/* The limit for the option called name, or NULL when any value of its type is accepted. */
const struct drip_option_limit *drip__option_limit(const char *name);
/* What the option accepts beyond its type, as "one of a|b" or "lo to hi", written after `pre`
 * into out; "" when anything of its type goes. For --help, the man page and docs/options.md. */
void drip__option_accepts(const char *name, const char *pre, char *out, size_t cap);

extern const struct drip_option_info drip_option_infos[];
extern const size_t drip_option_count;

/* Sets every option to its default. */
void drip__options_defaults(struct drip_options *o);

/* Sets one option from its textual value. Returns 0, or -1 with a one-line message in err. */
int drip__options_set(struct drip_options *o, const char *name, size_t name_len, const char *val,
                      size_t val_len, char *err, size_t errlen);

/* Parses "name=value:name=value" (whitespace, ',' or ':' separate pairs; a bare name sets a BOOL
 * to 1). Inside an unquoted value, ':' ends it only when an option's name follows, so
 * http=127.0.0.1:6060 keeps its port.
 * Stops at the first bad pair: returns -1 with a one-line message in err; 0 on success. */
int drip__options_parse(struct drip_options *o, const char *s, char *err, size_t errlen);
/* An `http`/`http_metrics` TCP address, "[HOST]:PORT", "HOST:PORT", ":PORT" or "PORT", split
 * into host (127.0.0.1 when left out) and port. Used by the listener and by drip run's check. */
void drip__listen_split(const char *spec, char *host, size_t hcap, char *port, size_t pcap);

/* Parses a leak_check_heuristics value ("all", "none", or names joined by '+' or ','): bit i of
 * *mask for the i-th of stdstring, length64, newarray, multipleinheritance. 0, or -1 on an
 * unknown name (*mask is then all). */
int drip__parse_heuristics(const char *s, size_t len, unsigned *mask);

/* Parses an error_kinds value ("all", "none", or kinds joined by '+' or ','): the DRIP_RAW_*
 * kinds as bits (1 << kind). 0, or -1 on an unknown name. */
int drip__parse_error_kinds(const char *s, size_t len, unsigned *mask);

/* Parses "512KiB", "1MiB", "100" ... into bytes. Returns 0 or -1. */
int drip__parse_size(const char *s, size_t len, unsigned long long *out);
/* Parses "250ms", "5s", "2m", "1h" (a bare number is seconds) into milliseconds. 0 or -1. */
int drip__parse_duration(const char *s, size_t len, unsigned long long *ms);

#endif
