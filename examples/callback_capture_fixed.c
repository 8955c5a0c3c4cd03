/*
 * callback_capture_fixed.c: the fixed twin of callback_capture.c. The closure
 * captures the one thing its callback reads (the request id, by value), so the
 * request and its 64 KiB payload are freed as soon as the request is handled;
 * each hook is freed after it has run.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
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
    unsigned id;                        /* FIX: captures only what fn reads */
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

/* Frees req and its payload; accepts NULL. */
static void request_free(struct request *req)
{
    if (req == NULL)
        return;
    free(req->payload);
    free(req);
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

/* Returns a new closure that will call fn with id; exits on OOM. */
static __attribute__((noinline)) struct closure *make_closure(void (*fn)(const struct closure *),
                                                              unsigned id)
{
    struct closure *c = malloc(sizeof *c);
    if (c == NULL)
        exit(1);
    c->fn = fn;
    c->id = id;
    return c;
}

/* Registers fn(id) to run at shutdown; exits if there are too many hooks. */
static __attribute__((noinline)) void on_shutdown(void (*fn)(const struct closure *), unsigned id)
{
    if (g_shutdown.count == MAX_HOOKS)
        exit(1);
    g_shutdown.hooks[g_shutdown.count++] = make_closure(fn, id);
}

/* The hook: it needs the request id and nothing else. */
static void log_request_done(const struct closure *self)
{
    printf("callback_capture_fixed: request %u done\n", self->id);
}

/* Runs the shutdown hooks in registration order, freeing each one after it ran. */
static void run_shutdown_hooks(void)
{
    for (int i = 0; i < g_shutdown.count; i++) {
        g_shutdown.hooks[i]->fn(g_shutdown.hooks[i]);
        free(g_shutdown.hooks[i]);
        g_shutdown.hooks[i] = NULL;
    }
    g_shutdown.count = 0;
}

/* Reads and handles one request, and registers its shutdown hook. */
static __attribute__((noinline)) void handle_request(unsigned id)
{
    struct request *req = request_new(id);
    req->payload = load_payload(id);
    req->len = PAYLOAD_SIZE;
    req->status = req->payload[0] == 'a' + (int)(id % 26) ? 200 : 400;
    on_shutdown(log_request_done, req->id);
    request_free(req);                  /* nothing else holds it now */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    for (unsigned id = 1; id <= REQUESTS; id++)
        handle_request(id);
    run_shutdown_hooks();
    return 0;
}
