/* modules.h — modules.c: the table of loaded modules (which keep frame pointers, where their
 * .eh_frame_hdr is); unloaded.c: the names of code dlclose unloaded; cfi.c: the .eh_frame walk.
 * The DWARF reader they share is ehframe.h. */
#ifndef DRIP_PRELOAD_MODULES_H
#define DRIP_PRELOAD_MODULES_H

#include "internal.h"

struct drip_writer;
void drip__modules_refresh(void);
/* Rebuilds the table when the loader mapped or unmapped modules since the last rebuild (a walk
 * met code in no known module); true when it did. */
bool drip__modules_refresh_if_stale(void);
/* Bumped each time the module table is rebuilt (dlopen, dlclose). */
unsigned drip__modules_generation(void);
/* unloaded.c: the modules dlclose unloaded and the recorded frames inside them, as raw-report
 * lines; what is kept of a module before dlclose unloads it. */
void drip__modules_write_unloaded(struct drip_writer *w);
void drip__unloaded_keep(void *handle);
void drip__unloaded_child_reset(void);
void drip__modules_child_reset(void);
int drip__module_fp(uintptr_t addr);
int drip__module_fp_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);
int drip__modules_fp_count(int *total);
const uint8_t *drip__module_eh_frame_hdr(uintptr_t addr);
/* Whether a lies in the static TLS block of some module in the thread whose thread pointer is tp:
 * then that module's load bias and a's offset in its PT_TLS block. Lock-free (the world may be
 * stopped with a thread inside dlopen). */
bool drip__module_tls_of(uintptr_t tp, uintptr_t a, uintptr_t *bias, uintptr_t *off);
/* Whether a is the DTV entry, in the thread whose pointer is tp, of a module whose TLS is
 * dynamic (dlopen'ed): that module's bias and TLS module id. racy: read the TCB safely. */
bool drip__module_dtv_of(uintptr_t tp, uintptr_t a, bool racy, uintptr_t *bias, uintptr_t *modid);
/* The interposed dlopen and dlclose (interpose.c) call these. */
void *drip__dlopen(const char *file, int mode);
int drip__dlclose(void *handle);

/* cfi.c: a stack walk driven by .eh_frame, with the rule for each return address cached.
 * Returns the number of frames, or -1 when some frame needs more than it understands. */
int drip__cfi_walk(uintptr_t *out, int max, uint64_t *hash);
void drip__cfi_flush(void);

#endif
