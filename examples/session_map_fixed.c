/*
 * session_map_fixed.c: the fixed twin of session_map.c. Closing a connection
 * removes its session from the map and frees it, so the map holds only the
 * connections that are open right now.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CONNECTIONS = 300, REQUESTS_PER_CONNECTION = 3, BUCKETS = 64 };

/* One connection's state; 96 bytes on x86-64. */
struct session {
    struct session *next;               /* next in the same bucket */
    unsigned id;
    int fd;
    int closed;
    unsigned requests;
    char peer[40];
    char user[16];
    size_t bytes_in;
    size_t bytes_out;
};

/* The map: sessions hashed by id into fixed buckets (the buckets are not on the heap). */
static struct {
    struct session *buckets[BUCKETS];
    unsigned live;                      /* sessions in the map */
} g_sessions;

/* Creates the session for a new connection and adds it to the map; exits on OOM. */
static __attribute__((noinline)) struct session *session_open(unsigned id, int fd)
{
    struct session *s = calloc(1, sizeof *s);
    if (s == NULL)
        exit(1);
    s->id = id;
    s->fd = fd;
    snprintf(s->peer, sizeof s->peer, "10.0.%u.%u:%u", id / 250, id % 250, 40000 + id);
    snprintf(s->user, sizeof s->user, "user%u", id % 17);
    s->next = g_sessions.buckets[id % BUCKETS];
    g_sessions.buckets[id % BUCKETS] = s;
    g_sessions.live++;
    return s;
}

/* Removes the session from the map and frees it; s is invalid afterwards. */
static void session_close(struct session *s)
{
    struct session **link = &g_sessions.buckets[s->id % BUCKETS];
    while (*link != s)
        link = &(*link)->next;
    *link = s->next;                    /* FIX: unlink ... */
    g_sessions.live--;
    free(s);                            /* ... and free */
}

/* Serves one connection: opens its session, handles its requests, closes it. */
static __attribute__((noinline)) void serve_connection(unsigned id, int fd)
{
    struct session *s = session_open(id, fd);
    for (int i = 0; i < REQUESTS_PER_CONNECTION; i++) {
        s->requests++;
        s->bytes_in += 200;
        s->bytes_out += 1500;
    }
    session_close(s);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    for (unsigned id = 1; id <= CONNECTIONS; id++)
        serve_connection(id, 3 + (int)(id % 8));    /* fds are reused, like a real server's */
    printf("session_map_fixed: served %d connections, %u sessions still in the map\n",
           CONNECTIONS, g_sessions.live);
    return 0;
}
