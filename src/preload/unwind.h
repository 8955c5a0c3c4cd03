/* unwind.h — unwind.c: stack capture on the allocation path. */
#ifndef DRIP_PRELOAD_UNWIND_H
#define DRIP_PRELOAD_UNWIND_H

#include "internal.h"

/* Where the program's stacks end: the return address into libc of drip's main wrapper and of
 * each thread's start trampoline. A frame-pointer walk stops there. */
extern uintptr_t drip__main_ret;
extern DRIP_TLS uintptr_t drip__thread_ret;
extern DRIP_TLS uintptr_t drip__stack_hi;   /* top of this thread's stack, 0 when unknown */
void drip__unwind_init(void);
/* The top of the main thread's stack: the page after the program's file name (AT_EXECFN), which
 * the kernel puts at the very top of the initial stack; 0 when the kernel gave none. */
uintptr_t drip__unwind_main_top(void);
/* True for a return address in the start code at the bottom of the main thread's stack (the
 * program's _start, the dynamic loader's _dl_start_user): the outermost frame. */
bool drip__unwind_outermost(uintptr_t ip);
/* Takes the calling thread's stack, drip's own frames left out, and its drip__stack_hash. */
int drip__unwind(uintptr_t *frames, int max, uint64_t *hash);
/* cfi.c: the .eh_frame walk from the frame whose return address is ip (the caller's %rsp and
 * %rbp given), after the n frames already in out[] whose hash state (drip__hash_step) is h;
 * hi is the top of the stack. The number of frames in all, or -1 as drip__cfi_walk. */
int drip__cfi_walk_from(uintptr_t *out, int n, int max, uint64_t h, uint64_t *hash, uintptr_t ip, uintptr_t rsp,
                        uintptr_t rbp, uintptr_t hi);
/* cfi.c: the calling thread ends; its table of rules goes back to drip's arena. */
void drip__cfi_release(void);

#endif
