// supp.cpp — leaks for valgrind-format suppression files (memcheck's supp1, supp2,
// suppfree, supp_unknown and leak suppression scenarios), written for drip. Each record has a
// stack of its own, so an entry suppresses exactly one:
//   app::make_widget        new Widget (48 bytes), lost          definite
//   copy_name               strdup("suppressed name"), lost     definite (16 bytes)
//   lost_calloc             calloc(10, 7), lost                  definite (70 bytes)
//   keep_table              malloc(90), kept by a global        reachable
//   half_kept               malloc(64), a global points inside  possible
//   lost_list               a 24-byte head and its 32-byte node  definite + indirect
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace app {
struct Widget { char name[48]; };
__attribute__((noinline)) Widget *make_widget() { return new Widget(); }
}  // namespace app

void *table;
char *inside;

extern "C" {
__attribute__((noinline)) char *copy_name(const char *s) { return strdup(s); }
__attribute__((noinline)) void *lost_calloc() { return calloc(10, 7); }
__attribute__((noinline)) void keep_table() { table = malloc(90); }
__attribute__((noinline)) void half_kept() { inside = static_cast<char *>(malloc(64)) + 8; }
__attribute__((noinline)) void lost_list()
{
    void **head = static_cast<void **>(malloc(24));
    head[0] = malloc(32);
}
}

__attribute__((noinline)) static void work()
{
    app::Widget *volatile w = app::make_widget();
    char *volatile n = copy_name("suppressed name");
    void *volatile c = lost_calloc();
    keep_table();
    half_kept();
    lost_list();
    w = nullptr;
    n = nullptr;
    c = nullptr;
}

int main()
{
    work();
    std::printf("done\n");
    return 0;
}
