/* threads.c — LeakSanitizer's thread scenarios, one per argv[1], written for drip
 * (tests/peers/lsan): a block held only by another thread's stack, registers or TLS while main
 * exits; threads that leak their argument or their return value, joined or detached; many
 * threads; a TSD destructor that frees; many keys; a thread with a big guard page; allocator
 * contention; a leak check right after pthread_create; fork; swapcontext. Built -O0. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static pthread_barrier_t ready;
static volatile int stop_spin;

static void *hold_on_stack(void *arg)
{
    void *volatile p = malloc(2001);
    (void)arg;
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return p;
}

static void *hold_in_register(void *arg)
{
    (void)arg;
    /* the pointer lives in r12 only; the loop spins with it there */
    register void *p __asm__("r12") = malloc(2002);
    __asm__ volatile("" : "+r"(p));
    pthread_barrier_wait(&ready);
    for (;;)
        __asm__ volatile("" : "+r"(p));
    return NULL;
}

/* overwrites the stack below the caller's frame: malloc's frames leave the block's address in
 * the 128 bytes under the stack pointer, which a scan reads (a leaf function's red zone) */
static atomic_int xmm_set;
__attribute__((noinline)) static void scrub(void)
{
    volatile char junk[1024];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}

static void *hold_in_xmm(void *arg)
{
    (void)arg;
    /* the pointer only in xmm0 (LSan's use_registers_extra): a vector copy's register */
    void *p = malloc(2005);
    __asm__ volatile("movq %0, %%xmm0\n\txor %0, %0" : "+r"(p) : : "xmm0");
    scrub();   /* byte stores at -O0: xmm0 keeps the pointer */
    atomic_store(&xmm_set, 1);
    for (;;)
        __asm__ volatile("" : : : "memory");
    return NULL;
}

static __thread void *t_tls;
static void *hold_in_tls(void *arg)
{
    (void)arg;
    t_tls = malloc(2003);
    pthread_barrier_wait(&ready);
    for (;;)
        pause();
    return NULL;
}

static int leak_arg, leak_ret;
static void *take_arg(void *arg)
{
    if (!leak_arg)
        free(arg);
    /* written whole: a fresh chunk from glibc's unsorted or small bins still holds its free-list
     * links, raw pointers to other free chunks that other threads' 234-byte blocks may become
     * (one indirectly lost block in a CI run). valgrind knows such words are undefined, drip
     * cannot (README: where drip's verdicts differ); the scenario is about the lost results */
    void *r = malloc(234);
    if (r)
        memset(r, 0, 234);
    return r;
}

static pthread_key_t key;
static void tsd_free(void *p) { free(p); }
static void *tsd_user(void *arg)
{
    (void)arg;
    pthread_setspecific(key, malloc(2004));
    return NULL;
}

enum { NKEYS = 300 };
static pthread_key_t keys[NKEYS];
static void *many_keys_user(void *arg)
{
    for (int i = 0; i < NKEYS; i++)
        pthread_setspecific(keys[i], malloc(16));
    pthread_barrier_wait(&ready);
    if (arg)   /* stays alive: its values are reachable through its key blocks */
        for (;;)
            pause();
    return NULL;
}

static void *churn(void *arg)
{
    uintptr_t seed = (uintptr_t)arg;
    void *keep[64] = {0};
    for (int i = 0; i < 20000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int j = (int)(seed >> 58);
        free(keep[j]);
        keep[j] = malloc(1 + (seed >> 40) % 512);
    }
    for (int j = 0; j < 64; j++)
        free(keep[j]);
    return malloc(7);   /* each thread leaks 7 bytes, joined */
}

/* a detached thread whose failed dlsym left glibc's dlerror buffer in its TLS, still ending
 * (its last key destructor sleeps) when main returns */
static atomic_int dying;
static void last_destructor(void *arg)
{
    uintptr_t round = (uintptr_t)arg;
    if (round > 1) {
        pthread_setspecific(key, (void *)(round - 1));
        return;
    }
    atomic_store(&dying, 1);
    sleep(10);
}

static void *failed_dlsym(void *arg)
{
    (void)arg;
    dlsym(RTLD_DEFAULT, "drip_peer_no_such_symbol");
    pthread_setspecific(key, (void *)(uintptr_t)PTHREAD_DESTRUCTOR_ITERATIONS);
    return NULL;
}

/* frees all it allocated, its argument too */
static void *tidy(void *arg)
{
    void *p = malloc(64);
    for (int i = 0; i < 200; i++) {
        free(p);
        p = malloc(64 + (size_t)i);
    }
    free(p);
    free(arg);
    return NULL;
}

/* a seccomp filter: ptrace and process_vm_readv fail with EPERM, the rest is allowed */
static int deny_ptrace(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

/* inside dl_iterate_phdr (the loader's lock held), a thread allocates and frees while main
 * returns: the exit report must not wait for that lock with the thread stopped (LSan's
 * libdl_deadlock); a watchdog turns a deadlock into exit status 1 */
static pthread_mutex_t dl_in = PTHREAD_MUTEX_INITIALIZER, dl_out = PTHREAD_MUTEX_INITIALIZER;
static int churn_in_loader(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info, (void)size, (void)data;
    for (int step = 0; step < 50; step++) {
        void *p[1000];
        for (int i = 0; i < 1000; i++)
            p[i] = malloc(10 * (size_t)i);
        if (step == 0)
            pthread_mutex_unlock(&dl_in);
        for (int i = 0; i < 1000; i++)
            free(p[i]);
    }
    pthread_mutex_unlock(&dl_out);
    return 1;
}

static void *loader_thread(void *arg)
{
    (void)arg;
    dl_iterate_phdr(churn_in_loader, NULL);
    return NULL;
}

static void *watchdog(void *arg)
{
    (void)arg;
    sleep(40);
    if (pthread_mutex_trylock(&dl_out) != 0) {
        static const char msg[] = "DEADLOCK\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(1);
    }
    return NULL;
}

static void *exit_from_thread(void *arg)
{
    (void)arg;
    exit(0);
}

static __thread void *t_fork_tls;

static ucontext_t uc_main, uc_child;
static void coroutine(void)
{
    int *volatile leaked = malloc(2664);
    leaked[0] = 1;
}

static int mode_is(const char *m, const char *want) { return strcmp(m, want) == 0; }

static void start_and_wait(void *(*fn)(void *))
{
    pthread_t t;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_create(&t, NULL, fn, NULL);
    pthread_barrier_wait(&ready);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (mode_is(m, "stack")) {
        start_and_wait(hold_on_stack);
    } else if (mode_is(m, "seccomp")) {
        /* LSan's tracer needs ptrace: here no task of the process may use it */
        printf("seccomp: %d\n", deny_ptrace());
        start_and_wait(hold_on_stack);
        pthread_t t2;
        pthread_barrier_init(&ready, NULL, 2);
        pthread_create(&t2, NULL, hold_in_register, NULL);
        pthread_barrier_wait(&ready);
    } else if (mode_is(m, "registers")) {
        start_and_wait(hold_in_register);
    } else if (mode_is(m, "xmm")) {
        pthread_t t;
        pthread_create(&t, NULL, hold_in_xmm, NULL);
        while (!atomic_load(&xmm_set))
            sched_yield();
    } else if (mode_is(m, "tls")) {
        start_and_wait(hold_in_tls);
    } else if (mode_is(m, "arg") || mode_is(m, "retval") || mode_is(m, "detach") || mode_is(m, "clean")) {
        /* ten rounds of ten threads each given a 123-byte block; each returns a 234-byte one */
        leak_arg = mode_is(m, "arg");
        leak_ret = mode_is(m, "retval");
        int detach = mode_is(m, "detach");
        /* argv[2] "check": three rounds, a leak check after each thread's start (LSan's
         * interface, when the process has it) */
        int check = argc > 2 && mode_is(argv[2], "check") && __lsan_do_recoverable_leak_check;
        for (int round = 0; round < (check ? 3 : 10); round++) {
            pthread_t t[10];
            for (int i = 0; i < 10; i++) {
                pthread_create(&t[i], NULL, take_arg, malloc(123));
                /* a thread being started holds its argument: no leak to see */
                if (check && __lsan_do_recoverable_leak_check()) {
                    printf("leak check found leaks in round %d\n", round);
                    return 1;
                }
            }
            for (int i = 0; i < 10; i++) {
                if (detach) {
                    pthread_detach(t[i]);
                    continue;
                }
                void *ret = NULL;
                pthread_join(t[i], &ret);
                if (!leak_ret)
                    free(ret);
            }
        }
        if (detach)
            sleep(1);   /* the detached threads end (their 234-byte blocks are lost) */
    } else if (mode_is(m, "tsd")) {
        pthread_key_create(&key, tsd_free);
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, tsd_user, NULL);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    } else if (mode_is(m, "many_keys") || mode_is(m, "many_keys_alive")) {
        for (int i = 0; i < NKEYS; i++)
            pthread_key_create(&keys[i], NULL);   /* no destructor: ended threads leak them */
        pthread_barrier_init(&ready, NULL, 2);
        pthread_t t;
        pthread_create(&t, NULL, many_keys_user, mode_is(m, "many_keys_alive") ? (void *)1 : NULL);
        pthread_barrier_wait(&ready);
        if (mode_is(m, "many_keys"))
            pthread_join(t, NULL);
    } else if (mode_is(m, "guard")) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setguardsize(&a, 1 << 20);
        pthread_attr_setstacksize(&a, 256 << 10);
        pthread_barrier_init(&ready, NULL, 2);
        pthread_t t;
        pthread_create(&t, &a, hold_on_stack, NULL);
        pthread_barrier_wait(&ready);
    } else if (mode_is(m, "contention")) {
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
    } else if (mode_is(m, "fork")) {
        void *parent_kept = malloc(3001);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            void *volatile lost = malloc(3002);
            lost = NULL;
            (void)lost;
            exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        parent_kept = NULL;
    } else if (mode_is(m, "swapcontext_stack") || mode_is(m, "swapcontext_heap")) {
        static char stack_mem[1 << 17] __attribute__((aligned(16)));
        char *heap_mem = malloc(sizeof stack_mem);
        char *stack = mode_is(m, "swapcontext_stack") ? stack_mem : heap_mem;
        getcontext(&uc_child);
        uc_child.uc_stack.ss_sp = stack;
        uc_child.uc_stack.ss_size = sizeof stack_mem;
        uc_child.uc_link = &uc_main;
        makecontext(&uc_child, coroutine, 0);
        swapcontext(&uc_main, &uc_child);
        memset(stack_mem, 0, sizeof stack_mem);   /* the coroutine's dead frames are cleared */
        memset(heap_mem, 0, sizeof stack_mem);
        free(heap_mem);
    } else if (mode_is(m, "many_detached")) {
        /* 300 detached threads that free everything; main returns while many still run, start
         * or end (drip's own thread may get a stack, and its DTV, from glibc's cache of them) */
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        for (int i = 0; i < 300; i++) {
            pthread_t t;
            if (pthread_create(&t, &a, tidy, malloc(16)) != 0) {
                printf("pthread_create failed\n");
                return 1;
            }
        }
    } else if (mode_is(m, "loader_lock")) {
        pthread_mutex_lock(&dl_in);
        pthread_mutex_lock(&dl_out);
        pthread_t t, w;
        pthread_create(&t, NULL, loader_thread, NULL);
        pthread_detach(t);
        pthread_create(&w, NULL, watchdog, NULL);
        pthread_detach(w);
        pthread_mutex_lock(&dl_in);   /* the loader thread is at work */
    } else if (mode_is(m, "fork_thread_exit")) {
        /* LSan's fork_threaded: the child calls exit from a thread of its own; main's TLS holds
         * a block in both processes */
        t_fork_tls = malloc(1337);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            pthread_t t;
            pthread_create(&t, NULL, exit_from_thread, NULL);
            pthread_join(t, NULL);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        printf("child: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    } else if (mode_is(m, "dlerror_detached")) {
        pthread_key_create(&key, last_destructor);
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        pthread_create(&t, &a, failed_dlsym, NULL);
        while (!atomic_load(&dying))
            sched_yield();
    } else {
        fprintf(stderr, "usage: threads MODE\n");
        return 2;
    }
    printf("done %s\n", m);
    fflush(stdout);
    return 0;
}
