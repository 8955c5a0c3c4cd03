/* server.h — drip's HTTP server inside the traced process: the connection loop (server.c) and
 * the endpoints (endpoints.c), both on the "drip-http" thread. To add an endpoint, write its
 * handler in endpoints.c and add a row to the table there: server.c's route() checks the token,
 * the path and the method, and calls the handler. */
#ifndef DRIP_PRELOAD_SERVER_H
#define DRIP_PRELOAD_SERVER_H

#include "internal.h"
#include "http.h"

#include <sys/types.h>

enum { DRIP_HTTP_MAX_CLIENTS = 64, DRIP_HTTP_REQ_MAX = 16384, DRIP_HTTP_WRITE_TIMEOUT_MS = 30000 };

struct drip_pprof_sample;

/* One connection. Owned by the HTTP thread: nothing else touches it. */
struct drip__client {
    int fd;
    char req[DRIP_HTTP_REQ_MAX];
    size_t len;
    long long since;      /* when it connected: the oldest silent one makes room when full */
    long long deadline;
    bool metrics_only;    /* accepted on http_metrics: /metrics alone */
    bool leak_wait;       /* parked until the leak check running for it is done */
    const char *leak_want;   /* what that check writes: NULL the leak report; "retainers", "retained", "suspects" (retain.h) */
    int out_fd;           /* memfd holding the response body, or -1 */
    bool responding;      /* the response is built: wait for POLLOUT, not POLLIN */
    char hdr[1024];       /* the response's status line and headers */
    size_t hdr_len;
    off_t out_off, out_len;   /* bytes sent / to send, headers included */
    /* a parked delta profile */
    long long due;
    struct drip_pprof_sample *p0;
    size_t p0n;
    int allocs;
    long long delta_ms;
};

/* ---- the endpoint table (endpoints.c) ------------------------------------------------------- */
enum { DRIP_HTTP_GET = 1, DRIP_HTTP_POST = 2 };   /* GET also admits HEAD */
struct drip__endpoint {
    const char *path;
    unsigned methods;   /* DRIP_HTTP_GET | DRIP_HTTP_POST: any other method gets 405 */
    /* Answers (drip__respond*) or parks the connection; the request is r, its bytes c->req. */
    void (*serve)(struct drip__client *c, const struct drip_http_req *r);
};
extern const struct drip__endpoint drip__endpoints[];
extern const size_t drip__nendpoints;

/* A parked delta profile is due: answers it (endpoints.c). */
void drip__http_finish_delta(struct drip__client *c);
/* The ticker finished the leak check a parked connection waits for: answers it (endpoints.c). */
void drip__http_leaks_done(void);

/* ---- responses and the loop (server.c) ----------------------------------------------------- */
/* Takes ownership of body_fd (a memfd, or -1): the headers go out from c->hdr, then the body
 * straight from the memfd with sendfile, as the client can take it. */
void drip__respond(struct drip__client *c, int status, const char *ctype, const char *extra, int body_fd,
                   off_t body_len);
void drip__respond_text(struct drip__client *c, int status, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void drip__respond_fd(struct drip__client *c, const char *ctype, const char *extra, int body);
/* How many connections are parked for a delta profile. */
int drip__http_parked_deltas(void);
long long drip__mono_ms(void);   /* CLOCK_MONOTONIC in ms */

/* Reads the token and opens the listening sockets. Called once, by drip__background_start.
 * 2: the full endpoint is open (and maybe /metrics alone too); 1: only the /metrics-only
 * address; 0: nothing to serve. */
int drip__http_open(void);
/* The "drip-http" thread's body. */
void *drip__http_main(void *arg);
/* A forked child: the sockets are the parent's. */
void drip__http_child(void);

#endif
