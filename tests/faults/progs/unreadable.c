/* unreadable.c — memory the exit scan must not fault on (argv[1]):
 *   bss        a page of the program's .bss made PROT_NONE; the page after it holds the only
 *              pointer to a 48-byte block (reachable)
 *   heap       the first page of a 1 MiB heap block made PROT_NONE; its second page holds the
 *              only pointer to a 64-byte block (reachable: the block's readable pages are scanned)
 *   reserve    a 1 GiB PROT_NONE reservation with a readable page in its middle, and a thread
 *              stack with a PROT_NONE guard page at its low end
 *   truncated  a copy of libtrunc.so (argv[2]) loaded and then truncated to 0 bytes: its data
 *              pages raise SIGBUS when read
 * Each mode also loses a 100-byte block, prints "done" and exits 0. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char area[3 * 4096] __attribute__((aligned(4096)));
static void **keep_heap;

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static int copy(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[65536];
    ssize_t n;
    if (in < 0 || out < 0)
        return -1;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return -1;
    close(in);
    close(out);
    return 0;
}

/* the only pointer to 100 bytes, overwritten: a definite leak */
static void *volatile sink;
__attribute__((noinline)) static void lose(void)
{
    sink = malloc(100);
    sink = NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "bss";
    if (!strcmp(mode, "bss")) {
        void *kept = malloc(48);
        memcpy(area + 2 * 4096, &kept, sizeof kept);
        kept = NULL;
        if (mprotect(area + 4096, 4096, PROT_NONE) != 0)
            return 1;
    } else if (!strcmp(mode, "heap")) {
        void *big = NULL;
        if (posix_memalign(&big, 4096, 1 << 20) != 0)
            return 1;
        void *kept = malloc(64);
        memcpy((char *)big + 4096, &kept, sizeof kept);
        kept = NULL;
        if (mprotect(big, 4096, PROT_NONE) != 0)
            return 1;
        keep_heap = big;
    } else if (!strcmp(mode, "reserve")) {
        char *r = mmap(NULL, (size_t)1 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED || mprotect(r + (512 << 20), 4096, PROT_READ | PROT_WRITE) != 0)
            return 1;
        size_t size = 1 << 20;
        char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stack == MAP_FAILED || mprotect(stack, 4096, PROT_NONE) != 0)
            return 1;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstack(&a, stack, size);
        pthread_t t;
        pthread_create(&t, &a, idle, NULL);
        usleep(100000);
    } else if (!strcmp(mode, "truncated")) {
        char path[] = "/tmp/drip-trunc-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || argc < 3 || copy(argv[2], path) != 0)
            return 1;
        void *h = dlopen(path, RTLD_NOW);
        if (!h)
            return 1;
        if (ftruncate(fd, 0) != 0)
            return 1;
        close(fd);
        unlink(path);
    }
    lose();
    printf("done\n");
    return 0;
}
