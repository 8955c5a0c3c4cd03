// cxx.cpp — LeakSanitizer's C++ scenarios, one per argv[1], written for drip (tests/peers/lsan):
// new T[0] of a type with a destructor (the pointer is just past the array cookie, at the
// block's end), new T[n] with a cookie held through its interior pointer, and a suppressed leak
// that holds another block (suppressions). Built -O0.
#include <cstdio>
#include <cstdlib>
#include <cstring>

struct WithDtor {
    ~WithDtor() { std::fputs("", stderr); }
    long v;
};

WithDtor *g_arr;

extern "C" __attribute__((noinline)) void *LeakyHelper()
{
    void *p = std::malloc(666);
    return p;
}

extern "C" __attribute__((noinline)) void Caller()
{
    void **p = static_cast<void **>(LeakyHelper());
    *p = std::malloc(777);
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "";
    if (!std::strcmp(m, "new_array_0")) {
        g_arr = new WithDtor[0];   // an 8-byte block: only the count; g_arr points at its end
    } else if (!std::strcmp(m, "new_array_3")) {
        g_arr = new WithDtor[3];   // 32 bytes: g_arr points 8 bytes in
    } else if (!std::strcmp(m, "suppress")) {
        Caller();
        void *volatile q = std::malloc(1337);
        q = nullptr;
    } else {
        std::fprintf(stderr, "usage: cxx MODE\n");
        return 2;
    }
    std::printf("done %s\n", m);
    return 0;
}
