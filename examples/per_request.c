/*
 * per_request.c: allocations and bytes per request, measured by a middleware
 * (the HTTP-middleware flavour of Go's testing.B ReportAllocs), with
 * drip_read_stats from drip/drip.h.
 *
 * A tiny request loop with no network: a route table of three handlers, each
 * making a known number of allocations of known sizes. serve_request, the
 * middleware every request goes through, reads drip's process-wide counters
 * (struct drip_stats: mallocs, total_alloc_bytes, live_objects, live_bytes)
 * before and after the handler and prints the difference:
 *
 *   route /users:  3 allocs, 1,344 bytes (64 + 256 + 1,024), all freed
 *   route /health: 1 alloc, 32 bytes, freed
 *   route /login:  2 allocs, 560 bytes (512 + 48); the 48-byte audit record is
 *                  never freed: 1 block, 48 bytes still live after each request
 *
 * After 12 requests (4 rounds of /users, /health, /login) it prints each
 * route's average per request, then measures /users alone with
 * drip_allocs_per_op (the b.ReportAllocs of C) over 1,000 calls. Without drip
 * every drip_* call returns -ENOSYS: the program says the figures are
 * unavailable and serves the requests anyway.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   192 bytes in 4 blocks definitely lost in audit_record_new (called from
 *   handle_login, called from serve_request, from serve_all, from main);
 *   nothing indirect, possible or reachable of this program's; no threads.
 *   stdout under drip: the figures above, for every request and as averages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drip/drip.h>

enum { ROUNDS = 4, BENCH_CALLS = 1000 };

/* A request as the router sees it. */
struct request {
    unsigned id;
    const char *path;
    unsigned user;
    int status;
    size_t body_len;
};

/* ---- the handlers ------------------------------------------------------------------------- */

/* Allocates size bytes, zeroed, for the handler that calls it (a macro, so that the handler
 * is the function that calls the allocator, stack[0] of the block); exits on OOM. */
#define NEW(size)                                                                              \
    __extension__({                                                                            \
        void *p_ = calloc(1, (size));                                                          \
        if (p_ == NULL)                                                                        \
            exit(1);                                                                           \
        p_;                                                                                    \
    })

/* GET /users: parses the query (64 bytes), fetches rows (256), renders a body (1,024); frees
 * all three. 3 allocs, 1,344 bytes, nothing left. */
static __attribute__((noinline)) void handle_users(struct request *req)
{
    char *query = NEW(64);
    snprintf(query, 64, "select * from users where id > %u", req->user);
    unsigned *rows = NEW(256);
    for (unsigned i = 0; i < 64; i++)
        rows[i] = req->user + i;
    char *body = NEW(1024);
    int n = snprintf(body, 1024, "{\"query\": \"%s\", \"first\": %u, \"last\": %u}", query,
                     rows[0], rows[63]);
    req->body_len = n > 0 ? (size_t)n : 0;
    req->status = 200;
    free(body);
    free(rows);
    free(query);
}

/* GET /health: one 32-byte status line, freed. 1 alloc, 32 bytes, nothing left. */
static __attribute__((noinline)) void handle_health(struct request *req)
{
    char *line = NEW(32);
    int n = snprintf(line, 32, "ok %u", req->id);
    req->body_len = n > 0 ? (size_t)n : 0;
    req->status = 200;
    free(line);
}

/* One entry of the audit log; 48 bytes on x86-64. */
struct audit_record {
    unsigned request;
    unsigned user;
    char action[40];
};

/* Returns a new audit record; exits on OOM. */
static __attribute__((noinline)) struct audit_record *audit_record_new(const struct request *req,
                                                                       const char *action)
{
    struct audit_record *rec = NEW(sizeof *rec);
    rec->request = req->id;
    rec->user = req->user;
    snprintf(rec->action, sizeof rec->action, "%s", action);
    return rec;
}

/* Would hand the record to the audit log; only counts it. */
static unsigned g_audited;
static void audit_submit(struct audit_record *rec)
{
    g_audited += rec->request != 0;     /* BUG: neither queued nor freed */
}

/* POST /login: a 512-byte scratch buffer (freed) and a 48-byte audit record that is never
 * freed. 2 allocs, 560 bytes, 1 block of 48 bytes left behind per request. */
static __attribute__((noinline)) void handle_login(struct request *req)
{
    char *scratch = NEW(512);
    int n = snprintf(scratch, 512, "{\"user\": %u, \"token\": \"%08x\"}", req->user,
                     req->user * 2654435761u);
    audit_submit(audit_record_new(req, "login"));
    req->body_len = n > 0 ? (size_t)n : 0;
    req->status = 200;
    free(scratch);
}

/* ---- the router and the middleware --------------------------------------------------------- */

static const struct route {
    const char *path;
    void (*handler)(struct request *);
} g_routes[] = {
    {"/users", handle_users},
    {"/health", handle_health},
    {"/login", handle_login},
};
enum { ROUTES = sizeof g_routes / sizeof g_routes[0] };

/* Per-route totals, for the averages. */
static struct route_totals {
    unsigned requests;
    unsigned long long allocs, bytes, live_objects, live_bytes;
} g_totals[ROUTES];

static int g_tracked;                   /* drip_tracked(): the figures are available */

/* The middleware: runs the route's handler between two drip_read_stats and prints what the
 * request allocated, and what it left behind. */
static __attribute__((noinline)) void serve_request(unsigned route, struct request *req)
{
    const struct route *r = &g_routes[route];
    struct drip_stats before, after;
    if (!g_tracked || drip_read_stats(&before) != 0) {
        r->handler(req);
        return;
    }
    r->handler(req);
    if (drip_read_stats(&after) != 0)
        return;
    unsigned long long allocs = after.mallocs - before.mallocs;
    unsigned long long bytes = after.total_alloc_bytes - before.total_alloc_bytes;
    long long live_objects = (long long)(after.live_objects - before.live_objects);
    long long live_bytes = (long long)(after.live_bytes - before.live_bytes);
    printf("request %2u: route %s: %llu alloc%s, %llu bytes, %lld still live (%lld bytes)\n",
           req->id, r->path, allocs, allocs == 1 ? "" : "s", bytes, live_objects, live_bytes);
    struct route_totals *t = &g_totals[route];
    t->requests++;
    t->allocs += allocs;
    t->bytes += bytes;
    t->live_objects += (unsigned long long)live_objects;
    t->live_bytes += (unsigned long long)live_bytes;
}

/* Serves ROUNDS rounds of one request per route. */
static __attribute__((noinline)) void serve_all(void)
{
    unsigned id = 0;
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned route = 0; route < ROUTES; route++) {
            struct request req = {.id = ++id, .path = g_routes[route].path, .user = 100 + id};
            serve_request(route, &req);
        }
    }
}

/* One /users request, for drip_allocs_per_op. */
static void bench_users(void *arg)
{
    struct request req = {.id = 1, .path = "/users", .user = 7};
    (void)arg;
    handle_users(&req);
}

/*
 * A conservative scan reads every word of the live stack: a stale copy of the last audit
 * record's pointer left in a dead frame would make that record look reachable. Zeroing the
 * stack below main removes such copies (see examples/README.md).
 */
static __attribute__((noinline)) void scrub_stack(void)
{
    char dirt[16384];
    explicit_bzero(dirt, sizeof dirt);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    g_tracked = drip_tracked();
    if (!g_tracked)
        printf("per_request: not running under drip: per-request figures are unavailable "
               "(run it with drip run)\n");
    serve_all();
    scrub_stack();

    if (!g_tracked) {
        printf("per_request: served %u requests\n", ROUNDS * ROUTES);
        return 0;
    }
    for (unsigned route = 0; route < ROUTES; route++) {
        const struct route_totals *t = &g_totals[route];
        double n = t->requests ? t->requests : 1;
        printf("average route %s: %u requests, %.2f allocs, %.2f bytes, %.2f still live "
               "(%.2f bytes) per request\n",
               g_routes[route].path, t->requests, t->allocs / n, t->bytes / n,
               t->live_objects / n, t->live_bytes / n);
    }
    double allocs, bytes;
    if (drip_allocs_per_op(bench_users, NULL, BENCH_CALLS, &allocs, &bytes) == 0)
        printf("bench route /users: %d calls, %.2f allocs/op, %.2f bytes/op\n", BENCH_CALLS,
               allocs, bytes);
    return 0;
}
