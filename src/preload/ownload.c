/* ownload.c — the libraries drip opens inside the traced process (libunwind on its first need,
 * libm for the sampler), and the memory the dynamic loader allocates for them.
 *
 * A dlopen allocates: link maps, scope and version arrays, a slot in the TLS module list, later
 * the module's TLS block and a larger DTV. Made under drip's guard, those chunks are untracked,
 * and the scan never reads glibc's heap as roots. But they are not drip's alone: the loader links
 * them into the program's own lists (the link map chain runs main -> ... -> libunwind ->
 * liblzma -> the program's next dlopen'ed module). Unread, they cut the chain, and every module
 * the program opened later had its link map and its arrays reported as possibly lost (numpy
 * under python3: 62 blocks, where valgrind, which loads no library into the program, saw them
 * reachable). So while the loader works for drip (`drip__own_loading`), the hooks keep each chunk
 * it allocates here, the scan reads them as roots (roots.c, as LSan's registered regions), and
 * they are dropped when freed. A block of the program's that the loader frees or moves in that
 * window (a thread's DTV grown by realloc) keeps its record: hooks.c moves it.
 * Lock: `mu` (a leaf) for the list; the free path reads the count without it.
 */
#include "ownload.h"

#include <dlfcn.h>
#include <pthread.h>

enum { MAX_CHUNKS = 512 };
struct chunk {
    uintptr_t lo, hi;
};
static struct chunk chunks[MAX_CHUNKS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
_Atomic int drip__own_nchunks;
DRIP_TLS int drip__own_loading;

void *drip__own_dlopen(const char *soname)
{
    struct drip__entry e = drip__enter();   /* untracked: the chunks are kept here instead */
    int was = drip__own_load_begin();
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    drip__own_load_end(was);
    drip__leave(e);
    return h;
}

void drip__own_chunk_add(void *p, size_t size)
{
    if (!p)
        return;
    pthread_mutex_lock(&mu);
    int n = atomic_load_explicit(&drip__own_nchunks, memory_order_relaxed);
    if (n < MAX_CHUNKS) {
        chunks[n] = (struct chunk){(uintptr_t)p, (uintptr_t)p + (size ? size : 1)};
        atomic_store_explicit(&drip__own_nchunks, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&mu);
}

bool drip__own_chunk_forget(void *p)
{
    bool found = false;
    pthread_mutex_lock(&mu);
    int n = atomic_load_explicit(&drip__own_nchunks, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (chunks[i].lo == (uintptr_t)p) {
            chunks[i] = chunks[n - 1];
            atomic_store_explicit(&drip__own_nchunks, n - 1, memory_order_release);
            found = true;
            break;
        }
    pthread_mutex_unlock(&mu);
    return found;
}

void drip__own_chunks_roots(int (*add)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
    /* the world is stopped (or this is the snapshot): no lock, a thread stopped inside it left
     * at worst the last slot half-set, which the count does not cover yet */
    int n = atomic_load_explicit(&drip__own_nchunks, memory_order_acquire);
    for (int i = 0; i < n && i < MAX_CHUNKS; i++)
        add(chunks[i].lo, chunks[i].hi, arg);
}

void drip__own_child_reset(void) { pthread_mutex_init(&mu, NULL); }
