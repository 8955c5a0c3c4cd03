// supp_env.cpp — blocks whose stacks differ between valgrind and drip in ways a suppression file
// must not notice (test_vg.py case supp_own_blocks): setenv (glibc's jumps to __add_to_environ,
// and memcheck wraps it: a frame of its own in valgrind's stacks), putenv (wrapped too), an
// allocation in a static constructor (valgrind's stack goes on past _start: `obj:*` lines), a
// C++ new in a namespaced function, and a block lost by main.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace env {
__attribute__((noinline)) std::string *make_name() { return new std::string(100, 'x'); }
}  // namespace env

static std::string *global_name = env::make_name();   // before main, from the loader's call_init
static char entry[] = "DRIP_SUPP_ENV_B=2";

int main()
{
    setenv("DRIP_SUPP_ENV_A", "1", 1);
    putenv(entry);
    char *volatile lost = strdup("lost by main");
    lost = nullptr;
    std::printf("%zu\n", global_name->size());
    return 0;
}
