/*
 * callback_capture.c: a callback that captures far more than it needs.
 *
 * For each request, the server registers a shutdown hook that logs the
 * request's id. The hook's closure captures the whole request, and with it the
 * 64 KiB payload the request was read into, although the hook only ever reads
 * the id. The hooks stay registered until the process ends, so every request
 * and payload stays reachable: nothing is "lost", but each request pins 64 KiB.
 * The record to look at is the big one, and its stack names who allocated it
 * (load_payload, from handle_request), which is the question a user asks
 * first: "who is holding this memory?"
 *
 * The program handles 4 requests.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree),
 * all still reachable:
 *   262,144 bytes in 4 blocks in load_payload (from handle_request, from main)
 *   128 bytes in 4 blocks in request_new     (from handle_request, from main)
 *   64 bytes in 4 blocks in make_closure     (from on_shutdown, from handle_request, from main)
 *   nothing definite, indirect or possible; no threads.
 *
 * Fixed twin: callback_capture_fixed.c captures only the id, frees the request
 * as soon as it is handled, and frees each hook after running it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REQUESTS = 4, PAYLOAD_SIZE = 64 * 1024, MAX_HOOKS = 16 };

/* One request; 32 bytes on x86-64. */
struct request {
    unsigned id;
    unsigned status;
    char method[8];
    size_t len;
    char *payload;                      /* PAYLOAD_SIZE bytes, owned */
};

/* A callback with its captured state; 16 bytes on x86-64. */
struct closure {
    void (*fn)(const struct closure *self);
    struct request *req;                /* BUG: captures the whole request */
};

/* The shutdown hooks registered so far. */
static struct {
    struct closure *hooks[MAX_HOOKS];
    int count;
} g_shutdown;

/* Returns a new request with the given id and no payload; exits on OOM. */
static __attribute__((noinline)) struct request *request_new(unsigned id)
{
    struct request *req = calloc(1, sizeof *req);
    if (req == NULL)
        exit(1);
    req->id = id;
    strcpy(req->method, "POST");
    return req;
}

/* Returns a new PAYLOAD_SIZE-byte buffer holding the request body; exits on OOM. */
static __attribute__((noinline)) char *load_payload(unsigned id)
{
    char *payload = malloc(PAYLOAD_SIZE);
    if (payload == NULL)
        exit(1);
    memset(payload, 'a' + (int)(id % 26), PAYLOAD_SIZE);
    return payload;
}

/* Returns a new closure that will call fn with req; exits on OOM. */
static __attribute__((noinline)) struct closure *make_closure(void (*fn)(const struct closure *),
                                                              struct request *req)
{
    struct closure *c = malloc(sizeof *c);
    if (c == NULL)
        exit(1);
    c->fn = fn;
    c->req = req;
    return c;
}

/* Registers fn(req) to run at shutdown; exits if there are too many hooks. */
static __attribute__((noinline)) void on_shutdown(void (*fn)(const struct closure *),
                                                  struct request *req)
{
    if (g_shutdown.count == MAX_HOOKS)
        exit(1);
    g_shutdown.hooks[g_shutdown.count++] = make_closure(fn, req);
}

/* The hook: it needs the request id and nothing else. */
static void log_request_done(const struct closure *self)
{
    printf("callback_capture: request %u done\n", self->req->id);
}

/* Runs the shutdown hooks in registration order; they stay registered. */
static void run_shutdown_hooks(void)
{
    for (int i = 0; i < g_shutdown.count; i++)
        g_shutdown.hooks[i]->fn(g_shutdown.hooks[i]);
}

/* Reads and handles one request, and registers its shutdown hook. */
static __attribute__((noinline)) void handle_request(unsigned id)
{
    struct request *req = request_new(id);
    req->payload = load_payload(id);
    req->len = PAYLOAD_SIZE;
    req->status = req->payload[0] == 'a' + (int)(id % 26) ? 200 : 400;
    on_shutdown(log_request_done, req); /* the closure keeps req, and so req->payload */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    for (unsigned id = 1; id <= REQUESTS; id++)
        handle_request(id);
    run_shutdown_hooks();
    return 0;
}
