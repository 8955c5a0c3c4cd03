/*
 * session_map_ttl.c: session_map.c fixed with libdrip-safe's expiring map
 * (drip/ttlmap.h) instead of a hand-written hash table.
 *
 * Same workload as session_map.c: 300 connections, 3 requests on each, then
 * the connection closes. As in the original, closing a connection only marks
 * its session closed and leaves it in the map (a client that reconnects soon
 * can resume it); the difference is that every session now expires
 * SESSION_TTL after it was last used, and the map's free_value callback frees
 * it. drip_ttlmap_close stops and joins the map's cleanup thread and frees the
 * sessions that have not expired yet.
 *
 * Time is simulated so that the figures are exact: the map's expiry clock is
 * injected (sim_clock) and advances one second per connection, with a TTL of
 * 30 seconds. The background cleanup thread runs (it wakes every 5 ms of real
 * time and sweeps what the simulated clock says has expired), and the server
 * also sweeps after each connection, so after that sweep the map holds at
 * most 30 sessions, whichever of the two got there first.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   nothing definite, indirect, possible or reachable allocated by this
 *   program or by libdrip-safe on its behalf; no thread running or unjoined
 *   at exit (the cleanup thread is joined by drip_ttlmap_close).
 *   stdout: 300 connections, at most 30 sessions in the map, 30 at shutdown,
 *   270 expired, 300 freed.
 *
 * The leaky original is session_map.c (28,800 bytes in 300 blocks still
 * reachable in session_open); session_map_fixed.c is the plain-C fix.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drip/ttlmap.h>

enum { CONNECTIONS = 300, REQUESTS_PER_CONNECTION = 3 };

#define SECOND 1000000000ULL
#define SESSION_TTL (30 * SECOND)          /* idle timeout, simulated time */
#define SWEEP_INTERVAL (5 * 1000000ULL)    /* the cleanup thread's period, real time */

/* One connection's state; 96 bytes on x86-64, as in session_map.c. */
struct session {
    struct session *unused;             /* keeps the original's layout (it was the bucket link) */
    unsigned id;
    int fd;
    int closed;
    unsigned requests;
    char peer[40];
    char user[16];
    size_t bytes_in;
    size_t bytes_out;
};

/* The map and counters. The counters are atomic: free_value also runs on the cleanup thread. */
static struct {
    drip_ttlmap *map;
    size_t max_live;                    /* most sessions ever in the map after a sweep */
    atomic_uint freed;                  /* sessions freed by session_free */
} g_sessions;

/* The simulated clock (nanoseconds); read by the cleanup thread too. */
static atomic_uint_least64_t g_now;

static uint64_t sim_clock(void *arg)
{
    (void)arg;
    return atomic_load(&g_now);
}

/* The map's free_value: a session expired, was replaced, or the map is closing. */
static void session_free(void *value, void *arg)
{
    (void)arg;
    free(value);                        /* FIX: the map's owner frees what leaves it */
    atomic_fetch_add(&g_sessions.freed, 1);
}

/* Creates the session map with its cleanup thread; exits on failure. */
static void sessions_init(void)
{
    g_sessions.map = drip_ttlmap_create(&(drip_ttlmap_options){
        .ttl_ns = SESSION_TTL,          /* FIX: sessions expire */
        .sweep_interval_ns = SWEEP_INTERVAL,
        .free_value = session_free,
        .clock = sim_clock,
    });
    if (g_sessions.map == NULL) {
        perror("drip_ttlmap_create");
        exit(1);
    }
}

/* Creates the session for a new connection and adds it to the map; exits on failure. */
static __attribute__((noinline)) struct session *session_open(unsigned id, int fd)
{
    struct session *s = calloc(1, sizeof *s);
    if (s == NULL)
        exit(1);
    s->id = id;
    s->fd = fd;
    snprintf(s->peer, sizeof s->peer, "10.0.%u.%u:%u", id / 250, id % 250, 40000 + id);
    snprintf(s->user, sizeof s->user, "user%u", id % 17);
    if (drip_ttlmap_set(g_sessions.map, &s->id, sizeof s->id, s, 0) < 0) {
        free(s);                        /* on error the value is still ours */
        exit(1);
    }
    return s;
}

/* Marks the session closed; it stays in the map until it expires. */
static void session_close(struct session *s)
{
    s->closed = 1;
    s->fd = -1;
}

/* Serves one connection: opens its session, handles its requests, closes it. Runs within one
 * simulated second, before the clock moves on, so the session cannot expire under it. */
static __attribute__((noinline)) void serve_connection(unsigned id, int fd)
{
    struct session *s = session_open(id, fd);
    for (int i = 0; i < REQUESTS_PER_CONNECTION; i++) {
        s->requests++;
        s->bytes_in += 200;
        s->bytes_out += 1500;
        drip_ttlmap_touch(g_sessions.map, &s->id, sizeof s->id, 0);    /* sliding expiry */
    }
    session_close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    sessions_init();
    for (unsigned id = 1; id <= CONNECTIONS; id++) {
        atomic_fetch_add(&g_now, SECOND);           /* one simulated second per connection */
        serve_connection(id, 3 + (int)(id % 8));    /* fds are reused, like a real server's */
        drip_ttlmap_sweep(g_sessions.map);          /* the cleanup thread may have done it */
        size_t live = drip_ttlmap_count(g_sessions.map);
        if (live > g_sessions.max_live)
            g_sessions.max_live = live;
    }
    size_t live = drip_ttlmap_count(g_sessions.map);
    drip_ttlmap_close(g_sessions.map);  /* FIX: joins the cleanup thread, frees the rest */
    g_sessions.map = NULL;
    /* Counted after close: a session_free run by the cleanup thread once its sweep has released
     * the map's lock may still be in flight before close has joined the thread. */
    unsigned expired = atomic_load(&g_sessions.freed) - (unsigned)live;
    printf("session_map_ttl: served %d connections, at most %zu sessions in the map, "
           "%zu at shutdown, %u expired, %u freed\n",
           CONNECTIONS, g_sessions.max_live, live, expired, atomic_load(&g_sessions.freed));
    return 0;
}
