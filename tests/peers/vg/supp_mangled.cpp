// supp_mangled.cpp — C++ leaks in namespaces, templates, a class and std::vector, for valgrind
// suppression files written with mangled names and wildcards (test_vg.py case supp_mangled).
// Each record has its own stack and size:
//   foo::bar()                      new char[11], lost                  definite 11
//   foo::Pool<int>::grab()          new int, lost                       definite 4
//   foo::Pool<double>::grab()       new double, lost                    definite 8
//   make_vector()                   new std::vector<int>(5), lost       definite 24
//     std::vector<int>'s buffer     allocated in its constructor        indirect 20
//   cfg::Loader::load(int)          malloc(17) kept in a global         reachable 17
//   other::keep()                   malloc(13), lost                    definite 13
//   leak_c                          malloc(19) from C, lost             definite 19
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace foo {
__attribute__((noinline)) char *bar() { return new char[11]; }
template <typename T> struct Pool {
    __attribute__((noinline)) T *grab() { return new T(); }
};
}  // namespace foo

namespace cfg {
void *table;
struct Loader {
    __attribute__((noinline)) void load(int n) { table = malloc(n); }
};
}  // namespace cfg

namespace other {
__attribute__((noinline)) void *keep() { return malloc(13); }
}  // namespace other

extern "C" __attribute__((noinline)) void *leak_c() { return malloc(19); }

__attribute__((noinline)) std::vector<int> *make_vector() { return new std::vector<int>(5); }

__attribute__((noinline)) static void work()
{
    char *volatile a = foo::bar();
    int *volatile b = foo::Pool<int>().grab();
    double *volatile c = foo::Pool<double>().grab();
    std::vector<int> *volatile v = make_vector();
    cfg::Loader().load(17);
    void *volatile k = other::keep();
    void *volatile l = leak_c();
    a = nullptr;
    b = nullptr;
    c = nullptr;
    v = nullptr;
    k = l = nullptr;
}

int main()
{
    work();
    std::printf("done\n");
    return 0;
}
