/* roots.c — LeakSanitizer's root scenarios, one per argv[1], written for drip (tests/peers/lsan).
 * Each mode leaves blocks of sizes that name them, held (or not) the way LSan's test of the same
 * name holds them: a global, the live stack, a dead stack frame, TLS, a thread-specific value,
 * a pointer to itself, an unaligned word, a registered root region; and the allocator's edge
 * cases: malloc(0), a realloc or calloc that fails, realloc to 0. Built -O0. */
#include <errno.h>
#include <grp.h>
#include <locale.h>
#include <pwd.h>
#include <time.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* LSan's interface, weak: resolved from libdrip.so (or an LSan runtime) when present */
void __lsan_register_root_region(const void *p, size_t size) __attribute__((weak));
void __lsan_unregister_root_region(const void *p, size_t size) __attribute__((weak));

void *g_data = (void *)1;   /* .data */
void *g_bss;                /* .bss */
static __thread void *t_ptr;
static char g_unaligned[32];
void **g_keep;
void *g_big[(10 << 20) / sizeof(void *)];

/* keeps the pointer in a frame that is dead once this returns; far down, so later calls by
 * exit's handlers do not overwrite it */
__attribute__((noinline)) static void put_on_stale_stack(void *p)
{
    void *volatile locals[2048];
    locals[0] = p;
    g_keep = (void **)&locals[0];
    fprintf(stderr, "stale: %s\n", locals[0] ? "set" : "null");
}

/* a call the compiler cannot see through: the second free must happen */
__attribute__((noinline)) static void free_it(void *p) { free(p); }

static int mode_is(const char *m, const char *want) { return strcmp(m, want) == 0; }

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (mode_is(m, "global_data")) {
        g_data = malloc(1337);
    } else if (mode_is(m, "global_bss")) {
        g_bss = malloc(1338);
    } else if (mode_is(m, "stack_live")) {
        void *volatile local = malloc(1339);
        printf("live: %d\n", local != NULL);
        fflush(stdout);
        exit(0);   /* main's frame is live while exit runs */
    } else if (mode_is(m, "stack_stale")) {
        put_on_stale_stack(malloc(1340));
    } else if (mode_is(m, "tls_static")) {
        t_ptr = malloc(1341);
    } else if (mode_is(m, "key_low") || mode_is(m, "key_high")) {
        /* glibc keeps 32 values in the thread descriptor, the rest in blocks it allocates */
        pthread_key_t k;
        if (mode_is(m, "key_high"))
            for (int i = 0; i < 32; i++)
                pthread_key_create(&k, NULL);
        pthread_key_create(&k, NULL);
        printf("key %s 32\n", k >= 32 ? ">=" : "<");
        pthread_setspecific(k, malloc(1342));
    } else if (mode_is(m, "self")) {
        void **p = malloc(1343);
        *p = p;   /* a pointer to itself keeps nothing alive */
        p = NULL;
    } else if (mode_is(m, "unaligned")) {
        void *p = malloc(1344);
        memcpy(g_unaligned + 3, &p, sizeof p);   /* read at 8-byte alignment: not found */
        p = NULL;
    } else if (mode_is(m, "large")) {
        void *volatile lost = malloc(20u << 20);   /* mmapped by malloc */
        lost = NULL;
    } else if (mode_is(m, "large_kept")) {
        g_bss = malloc(18u << 20);
    } else if (mode_is(m, "malloc_zero")) {
        void *p = malloc(0);
        printf("zero: %d\n", p != NULL);
        p = NULL;
    } else if (mode_is(m, "realloc_fail")) {
        char *p = malloc(9);
        errno = 0;
        void *q = realloc(p, (size_t)1 << 62);   /* fails: p stays allocated */
        printf("realloc: %s %s\n", q ? "ok" : "null", errno == ENOMEM ? "ENOMEM" : "?");
        p = NULL;
    } else if (mode_is(m, "calloc_overflow")) {
        errno = 0;
        void *q = calloc(SIZE_MAX / 2, 4);
        printf("calloc: %s %s\n", q ? "ok" : "null", errno == ENOMEM ? "ENOMEM" : "?");
        void *p = malloc(10);
        p = NULL;
    } else if (mode_is(m, "realloc_zero")) {
        void *p = malloc(11);
        void *q = realloc(p, 0);   /* glibc frees p and returns NULL */
        printf("realloc0: %s\n", q ? "block" : "null");
        free(q);
    } else if (mode_is(m, "root_region")) {
        /* a region registered as a root keeps its pointee; unregistered, it does not */
        void **r = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        void **s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        /* both mappings are roots anyway under drip and valgrind (anonymous, writable): make them
         * read-only so that only the registration can make them roots */
        r[0] = malloc(1345);
        s[0] = malloc(1346);
        mprotect(r, 4096, PROT_READ);
        mprotect(s, 4096, PROT_READ);
        int have = __lsan_register_root_region != NULL;
        printf("register: %s\n", have ? "yes" : "no");
        if (have) {
            __lsan_register_root_region(r, 4096);
            __lsan_register_root_region(s, 4096);
            __lsan_unregister_root_region(s, 4096);
        }
    } else if (mode_is(m, "root_region_heap")) {
        /* a registered region inside a heap block (a pool): its words are roots, the block
         * itself is not held by them: the pool (4096 bytes) lost, what it points to reachable */
        void **pool = malloc(4096);
        memset(pool, 0, 4096);
        pool[10] = malloc(555);
        int have = __lsan_register_root_region != NULL;
        printf("register: %s\n", have ? "yes" : "no");
        if (have)
            __lsan_register_root_region(pool, 4096);
        pool = NULL;
    } else if (mode_is(m, "libc")) {
        /* libc's own caches (nss, the time zone, locale, stdio): never the program's leak */
        struct passwd *pw = getpwnam("root");
        struct group *gr = getgrgid(0);
        time_t t = 0;
        struct tm *tm = localtime(&t);
        setlocale(LC_ALL, "C.UTF-8");
        setenv("DRIP_PEER_VAR", "1", 1);
        printf("libc: %s %s %d\n", pw ? pw->pw_name : "?", gr ? gr->gr_name : "?", tm ? 1 : 0);
    } else if (mode_is(m, "double_free")) {
        /* LSan's double_free: glibc aborts the program; under drip too, with its report */
        void *p = malloc(16);
        free_it(p);
        free_it(p);
        puts("completed");
    } else if (mode_is(m, "realloc_rlimit")) {
        /* LSan's realloc_failure_keeps_original: the address space capped 64 MiB above its use,
         * a 512 MiB realloc fails and keeps the block whole; it is freed once; 77 bytes lost */
        char *p = malloc(100);
        memset(p, 'a', 100);
        FILE *f = fopen("/proc/self/statm", "r");
        unsigned long pages = 0;
        if (!f || fscanf(f, "%lu", &pages) != 1)
            return 9;
        fclose(f);
        struct rlimit rl;
        getrlimit(RLIMIT_AS, &rl);
        rl.rlim_cur = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (64UL << 20);
        setrlimit(RLIMIT_AS, &rl);
        void *q = realloc(p, 512UL << 20);
        int kept = q == NULL;
        for (int i = 0; i < 100; i++)
            kept &= p[i] == 'a';
        printf("kept: %d\n", kept);
        free(p);
        void *volatile lost = malloc(77);
        lost = NULL;
    } else if (mode_is(m, "main_stale")) {
        /* the pointer in main's own frame, which is dead once main returns */
        void *volatile slot = malloc(100);
        (void)slot;
    } else if (mode_is(m, "prot_none")) {
        /* unreadable pages inside a block and inside a global array: the scan must read around
         * them (LSan's leak_check_segv: its tracer dies there) */
        long pg = sysconf(_SC_PAGESIZE);
        char *p = malloc(10 << 20);
        char *a = (char *)(((uintptr_t)p + pg - 1) & ~(uintptr_t)(pg - 1));
        char *d = (char *)(((uintptr_t)g_big + pg - 1) & ~(uintptr_t)(pg - 1));
        ((void **)p)[0] = malloc(1347);            /* before the hole: found */
        ((void **)(a + 16 * 1024))[0] = malloc(1348);  /* after the hole: found */
        g_big[0] = p;
        int r1 = mprotect(a, 16 * 1024, PROT_NONE);
        int r2 = mprotect(d, 16 * 1024, PROT_NONE);
        printf("mprotect: %d %d\n", r1, r2);
    } else {
        fprintf(stderr, "usage: roots MODE\n");
        return 2;
    }
    printf("done %s\n", m);
    return 0;
}
