/* api.c — LeakSanitizer's interface as a program uses it without -fsanitize: weak declarations
 * that libdrip.so (or an LSan runtime) resolves, a no-op without either. One scenario per
 * argv[1]: __lsan_ignore_object, __lsan_disable/__lsan_enable (nested, per thread),
 * __lsan_do_leak_check (then no exit report), __lsan_do_recoverable_leak_check (a figure each
 * time), and __lsan_is_turned_off. Built -O0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void __lsan_ignore_object(const void *p) __attribute__((weak));
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));
void __lsan_do_leak_check(void) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

void *g;
static int turned_off;

/* the program's answer to LSan's question at exit (argv[1] == "turned_off") */
int __lsan_is_turned_off(void) { return turned_off; }

static void on_prof(int sig) { (void)sig; }

/* LSan's disabler_in_tsd_destructor: the thread's TSD destructor allocates while disabled */
static pthread_key_t key;
static void key_destructor(void *arg)
{
    (void)arg;
    __lsan_disable();
    void *volatile p = malloc(1337);
    p = NULL;
    pthread_setspecific(key, NULL);
    __lsan_enable();
}

static void *set_key(void *arg)
{
    (void)arg;
    pthread_setspecific(key, (void *)1);
    return NULL;
}

/* four threads, each losing a block and then running its own live check, five times, while
 * the others allocate: every check must find a leak, none may hang */
static atomic_int check_misses;
static void *checker(void *arg)
{
    for (int i = 0; i < 5; i++) {
        void *volatile p = malloc(100 + (size_t)(uintptr_t)arg);
        p = NULL;
        for (int j = 0; j < 1000; j++) {
            void *volatile q = malloc((size_t)j);
            free(q);
        }
        if (__lsan_do_recoverable_leak_check() != 1)
            atomic_fetch_add(&check_misses, 1);
    }
    return NULL;
}

static int mode_is(const char *m, const char *want) { return strcmp(m, want) == 0; }

static void *disabled_thread(void *arg)
{
    (void)arg;
    __lsan_disable();
    void *volatile p = malloc(4001);   /* this thread's: ignored */
    p = NULL;
    __lsan_enable();
    return NULL;
}

static void *enabled_thread(void *arg)
{
    (void)arg;
    void *volatile p = malloc(4002);   /* another thread's, while the first is disabled: reported */
    p = NULL;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!__lsan_ignore_object) {
        printf("no LSan interface\n");
        return 3;
    }
    if (mode_is(m, "ignore")) {
        void **p = malloc(sizeof(void *));   /* ignored */
        *p = malloc(666);                    /* held by the ignored block */
        void *volatile q = malloc(1337);     /* lost */
        __lsan_ignore_object(p);
        p = NULL;
        q = NULL;
        /* an ignored block that is freed: its address must not stay ignored */
        void *r = malloc(48);
        __lsan_ignore_object(r);
        free(r);
        void *volatile s = malloc(48);   /* may reuse r's address; lost */
        s = NULL;
    } else if (mode_is(m, "disable")) {
        __lsan_disable();
        void **p = malloc(sizeof(void *));   /* allocated while disabled: ignored */
        __lsan_disable();                    /* nested */
        void *volatile n = malloc(777);
        n = NULL;
        __lsan_enable();
        void *volatile n2 = malloc(778);     /* still disabled: one enable of two */
        n2 = NULL;
        __lsan_enable();
        *p = malloc(666);                    /* held by the ignored block */
        void *volatile q = malloc(1337);     /* lost */
        p = NULL;
        q = NULL;
        pthread_t a, b;
        pthread_create(&a, NULL, disabled_thread, NULL);
        pthread_join(a, NULL);
        pthread_create(&b, NULL, enabled_thread, NULL);
        pthread_join(b, NULL);
    } else if (mode_is(m, "do_leak_check") || mode_is(m, "do_leak_check_atexit")) {
        g = malloc(1337);
        if (mode_is(m, "do_leak_check_atexit"))
            atexit(__lsan_do_leak_check);   /* before the destructor below clears g */
        void *volatile p = malloc(666);
        p = NULL;
        printf("check registered\n");
    } else if (mode_is(m, "recoverable")) {
        g = malloc(23);
        int a = __lsan_do_recoverable_leak_check();
        void *volatile p = malloc(1337);
        p = NULL;
        int b = __lsan_do_recoverable_leak_check();
        g = NULL;
        int c = __lsan_do_recoverable_leak_check();
        printf("recoverable: %d %d %d\n", a, b, c);
        fflush(stdout);
        _exit(0);
    } else if (mode_is(m, "turned_off") || mode_is(m, "turned_on")) {
        int *volatile x = malloc(sizeof *x);
        *x = 42;
        x = NULL;
        turned_off = mode_is(m, "turned_off");
    } else if (mode_is(m, "concurrent_checks")) {
        pthread_t t[4];
        for (uintptr_t i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, checker, (void *)i);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        printf("misses: %d\n", atomic_load(&check_misses));
    } else if (mode_is(m, "disable_tsd")) {
        pthread_key_create(&key, key_destructor);
        pthread_t t;
        pthread_create(&t, NULL, set_key, NULL);
        pthread_join(t, NULL);
    } else if (mode_is(m, "signal_storm")) {
        /* a child sends SIGCHLD and SIGPROF to this process nonstop while the leak check stops
         * the world (LSan's signal_during_stop_the_world) */
        signal(SIGPROF, on_prof);
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
            pid_t parent = getppid();
            for (;;) {
                kill(parent, SIGCHLD);
                kill(parent, SIGPROF);
            }
        }
        usleep(10000);
        g = malloc(1337);
        void *volatile p = malloc(666);
        p = NULL;
        __lsan_do_leak_check();
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    } else {
        fprintf(stderr, "usage: api MODE\n");
        return 2;
    }
    printf("done %s\n", m);
    return 0;
}

/* runs after main returns, before the exit report: the global no longer holds its block */
__attribute__((destructor)) static void clear_global(void) { g = NULL; }
