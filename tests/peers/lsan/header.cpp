// header.cpp — a program written against LeakSanitizer's own header, unchanged, built without
// -fsanitize and linked with libdrip.so (-ldrip), which supplies the interface: the
// ScopedDisabler class, __lsan_ignore_object and a recoverable check. Built -O0.
#include <sanitizer/lsan_interface.h>

#include <cstdio>
#include <cstdlib>

void *g;

int main()
{
    {
        __lsan::ScopedDisabler disabled;   // its block and what it holds: not leaks
        void **p = static_cast<void **>(std::malloc(sizeof(void *)));
        *p = std::malloc(321);
        p = nullptr;
    }
    void *ignored = std::malloc(123);
    __lsan_ignore_object(ignored);
    ignored = nullptr;
    void *volatile lost = std::malloc(1337);
    lost = nullptr;
    std::printf("check: %d\n", __lsan_do_recoverable_leak_check());
    return 0;
}
