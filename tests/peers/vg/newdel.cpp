// newdel.cpp MODE — C++'s allocation functions (memcheck's new_override, sized_delete,
// cxx17_aligned_new and mismatches scenarios), written for drip.
//   override  the program replaces operator new/delete (scalar and array) with its own over
//             malloc/free and counts the calls; 3 objects of 40 bytes lost, one array of 10
//             ints kept by a global
//   sized     sized delete and sized delete[] (C++14) on objects and arrays, then leaks
//             an object of 56 bytes and an array of 7 longs
//   aligned   C++17 aligned new (alignas(64) and alignas(4096)), scalar and array, sized and
//             unsized aligned delete; one aligned object lost, one kept
//   mismatch  new/free, malloc/delete, new[]/delete on trivially destructible types (glibc
//             does not notice: the program goes on); nothing left but one lost 16-byte block
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

static unsigned long counts[4];
static bool counting;

void *operator new(std::size_t n)
{
    if (counting)
        counts[0]++;
    void *p = std::malloc(n ? n : 1);
    if (!p)
        throw std::bad_alloc();
    return p;
}
void *operator new[](std::size_t n)
{
    if (counting)
        counts[1]++;
    void *p = std::malloc(n ? n : 1);
    if (!p)
        throw std::bad_alloc();
    return p;
}
void operator delete(void *p) noexcept
{
    if (counting && p)
        counts[2]++;
    std::free(p);
}
void operator delete[](void *p) noexcept
{
    if (counting && p)
        counts[3]++;
    std::free(p);
}
void operator delete(void *p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void *p, std::size_t) noexcept { operator delete[](p); }

struct Obj40 { char b[40]; };
struct Obj56 { long v[7]; ~Obj56() { v[0] = 0; } };
struct alignas(64) A64 { char b[100]; };
struct alignas(4096) A4K { char b[10]; };

void *keep[8];

__attribute__((noinline)) static void mode_override()
{
    counting = true;
    for (int i = 0; i < 3; i++) {
        Obj40 *volatile o = new Obj40;
        o->b[0] = 1;
    }
    Obj40 *gone = new Obj40;
    delete gone;
    keep[0] = new int[10];
    counting = false;
    std::printf("new %lu new[] %lu delete %lu delete[] %lu\n", counts[0], counts[1], counts[2], counts[3]);
}

__attribute__((noinline)) static void mode_sized()
{
    Obj56 *o = new Obj56;
    ::operator delete(o, sizeof *o);
    Obj56 *a = new Obj56[5];
    delete[] a;
    long *l = new long[9];
    ::operator delete[](l, 9 * sizeof(long));
    Obj56 *volatile lost = new Obj56;
    lost->v[1] = 1;
    keep[1] = new long[7];
    std::printf("sized deletes done\n");
}

__attribute__((noinline)) static void mode_aligned()
{
    A64 *a = new A64;
    std::printf("A64 aligned: %d\n", (int)((unsigned long)a % 64 == 0));
    delete a;
    A4K *b = new A4K[3];
    std::printf("A4K[] aligned: %d\n", (int)((unsigned long)b % 4096 == 0));
    delete[] b;
    void *raw = ::operator new(100, std::align_val_t(256));
    ::operator delete(raw, 100, std::align_val_t(256));
    A64 *volatile lost = new A64;
    lost->b[0] = 0;
    keep[2] = new A4K;
    void *nt = ::operator new(64, std::align_val_t(128), std::nothrow);
    ::operator delete(nt, std::align_val_t(128));
}

__attribute__((noinline)) static void mode_mismatch()
{
    int *a = new int;
    std::free(a);
    char *b = static_cast<char *>(std::malloc(30));
    delete b;
    int *c = new int[8];
    delete c;
    char *volatile lost = static_cast<char *>(std::malloc(16));
    lost[0] = 0;
    std::printf("mismatched frees done\n");
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!std::strcmp(m, "override"))
        mode_override();
    else if (!std::strcmp(m, "sized"))
        mode_sized();
    else if (!std::strcmp(m, "aligned"))
        mode_aligned();
    else if (!std::strcmp(m, "mismatch"))
        mode_mismatch();
    else {
        std::fprintf(stderr, "usage: newdel override|sized|aligned|mismatch\n");
        return 2;
    }
    return 0;
}
