// ctors.cc — static constructors that allocate (before drip's own constructor for the ones in
// this program's libraries, before main for all): their stacks must be taken by drip's own
// walkers, never libunwind's (whose unw_backtrace makes rt_sigprocmask calls the program sees).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

static std::vector<std::string> names = {"alpha", "beta-with-a-long-name-to-allocate", "gamma"};
static std::map<int, std::string> table;
void *volatile lost;   // volatile: the compiler must keep the malloc

struct Init {
    Init()
    {
        for (int i = 0; i < 50; i++)
            table[i] = std::string(40, 'x');
        lost = malloc(77);   // leaked from a constructor: its stack ends at _start / ld.so
    }
};
static Init init;

int main()
{
    lost = nullptr;
    std::printf("%zu %zu\n", names.size(), table.size());
    return 0;
}
