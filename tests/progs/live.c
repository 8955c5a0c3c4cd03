/* live.c — a long-running program for the live-heap tests. It checks drip_read_stats before and
 * after its allocations, then holds three sites whose in-use and allocation figures differ:
 *   grow_cache: 1,000 blocks of 1,024 bytes, reachable (1,024,000 bytes), never freed: a site
 *               that only grows (in use = allocated)
 *   churn:      5 x 100 blocks of 64 bytes, each freed at once: 500 blocks, 32,000 bytes
 *               allocated, nothing in use
 *   halve:      800 blocks of 256 bytes (204,800 bytes), then every other one freed: 400
 *               blocks, 102,400 bytes in use
 *   lose_block: one 4,096-byte block, definitely lost
 * prints "ready" and its figures, then waits until stdin reaches EOF, doing every 10 ms what its
 * argument says: "idle" nothing, "churn" 100 malloc/free pairs (churn), "grow" 100 more
 * 1,024-byte blocks in grow_cache. "sites" first holds one 16-byte block from each of 4,096
 * distinct stacks (fan, 12 levels of two call sites each; before the figures, which it leaves as
 * they are), then idles: a profile big enough to need several writes.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drip/drip.h"

static void *cache[200000];
static int ncache;
void *volatile sink;

__attribute__((noinline)) void grow_cache(int n)
{
    for (int i = 0; i < n && ncache < 200000; i++)
        cache[ncache++] = malloc(1024);
}

__attribute__((noinline)) void lose_block(void) { sink = malloc(4096); sink = NULL; }

__attribute__((noinline)) void churn(void)
{
    for (int i = 0; i < 100; i++) {
        void *p = malloc(64);
        sink = p;
        free(p);
    }
    sink = NULL;
}

static void *halved[800];

__attribute__((noinline)) void halve(void)
{
    for (int i = 0; i < 800; i++)
        halved[i] = malloc(256);
    for (int i = 0; i < 800; i += 2) {
        free(halved[i]);
        halved[i] = NULL;
    }
}

static void *fanned[4096];
static int nfanned;
static volatile int left, right;

/* Two call sites per level, each followed by its own store so the compiler cannot merge them:
 * every path is a distinct stack. */
__attribute__((noinline)) void fan(int depth, unsigned path)
{
    if (depth == 0) {
        fanned[nfanned++] = malloc(16);
        return;
    }
    if (path & 1) {
        fan(depth - 1, path >> 1);
        left++;
    } else {
        fan(depth - 1, path >> 1);
        right++;
    }
}

__attribute__((noinline)) void scrub(void)
{
    volatile char buf[32768];
    memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "idle";
    if (!strcmp(mode, "sites"))
        for (unsigned path = 0; path < 4096; path++)
            fan(12, path);
    struct drip_stats before, after;
    int rc0 = drip_read_stats(&before);
    grow_cache(1000);
    for (int i = 0; i < 5; i++)
        churn();
    halve();
    lose_block();
    scrub();
    int rc1 = drip_read_stats(&after);
    printf("ready rc=%d/%d live=%lld objects=%lld mallocs=%lld frees=%lld tracked=%d\n", rc0, rc1,
           (long long)(after.live_bytes - before.live_bytes), (long long)(after.live_objects - before.live_objects),
           (long long)(after.mallocs - before.mallocs), (long long)(after.frees - before.frees), drip_tracked());
    fflush(stdout);
    struct pollfd pf = {0, POLLIN, 0};
    for (;;) {
        if (poll(&pf, 1, 10) > 0) {
            char buf[64];
            if (read(0, buf, sizeof buf) <= 0)
                break;
        }
        if (!strcmp(mode, "grow"))
            grow_cache(100);
        else if (!strcmp(mode, "churn"))
            churn();
    }
    return 0;
}
