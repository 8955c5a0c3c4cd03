/* runtime.h — runtime.c's interface: the tracker's life in a process (start, fork, the report
 * at exit) and where the exit scan starts. */
#ifndef DRIP_PRELOAD_RUNTIME_H
#define DRIP_PRELOAD_RUNTIME_H

#include "internal.h"

/* Where the exit scan starts reading the calling thread's stack: set on entry to drip's report,
 * just after the program's callee-saved registers were stored there. */
extern uintptr_t drip__scan_start;
/* The program's callee-saved registers where it called exit, _exit or _Exit or returned from
 * main (roots: a pointer may live only there), and the call: its stack below that point is dead
 * (the frames of exit's handlers, destructors and drip's report), as valgrind sees it. Each hook
 * saves the registers first thing, before its own code can change them. */
extern uintptr_t drip__exit_regs[6];
extern int drip__exit_regs_valid;
#if defined(__x86_64__)
#define DRIP_SAVE_EXIT_REGS()                                                                   \
    __asm__ volatile("mov %%rbx, drip__exit_regs+0(%%rip)\n\tmov %%rbp, drip__exit_regs+8(%%rip)\n\t" \
                     "mov %%r12, drip__exit_regs+16(%%rip)\n\tmov %%r13, drip__exit_regs+24(%%rip)\n\t"  \
                     "mov %%r14, drip__exit_regs+32(%%rip)\n\tmov %%r15, drip__exit_regs+40(%%rip)"       \
                     : : : "memory")
#else
#define DRIP_SAVE_EXIT_REGS() ((void)0)
#endif
/* `cfa`: the caller's stack pointer at the call (the hook's canonical frame address). The first
 * call wins. */
void drip__note_exit(uintptr_t cfa);
#define DRIP_NOTE_EXIT()                                                                        \
    do {                                                                                        \
        DRIP_SAVE_EXIT_REGS();                                                                  \
        drip__note_exit((uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *));           \
    } while (0)
/* Set when the report runs from a fatal-signal handler: the interrupted context. */
extern void *drip__fatal_uc;
void drip__report_at_exit(int status_hint);

/* Whether this process is the one the user started (not a forked child, not a program it
 * exec'd under another root): only that one writes its reports to the file names given. */
int drip__is_root_process(void);

/* A forked child: the generation its own blocks start at (bumped at fork) and the parent's pid;
 * 0 in a process that was not forked. See drip__inherited (table.h). */
extern uint32_t drip__fork_gen;
extern int drip__fork_parent;
extern int drip__is_fork_child;

/* The interposed __libc_start_main (interpose.c) calls this: main runs inside drip's wrapper. */
int drip__libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                          void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

/* Stores the caller's callee-saved registers in regs[6], a local of a noinline function whose
 * frame the scan then reads: the program may hold its only pointer to a block in one of them.
 * (Elsewhere than x86-64, __builtin_unwind_init spills them to the frame.) */
#if defined(__x86_64__)
#define DRIP_SPILL_CALLEE_SAVED(regs)                                                              \
    __asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%rbp, 8(%0)\n\tmov %%r12, 16(%0)\n\t"             \
                     "mov %%r13, 24(%0)\n\tmov %%r14, 32(%0)\n\tmov %%r15, 40(%0)"                 \
                     : : "r"(regs) : "memory")
#else
#define DRIP_SPILL_CALLEE_SAVED(regs) __builtin_unwind_init()
#endif

/* glibc's: the top of the main thread's stack (runtime.c: whether the exit report has room there). */
extern void *__libc_stack_end;

#endif
