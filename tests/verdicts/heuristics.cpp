// heuristics.cpp — one block for each of valgrind's leak-check heuristics, each held only by
// the interior pointer that heuristic accepts, plus two blocks held by plain interior pointers
// (possibly lost whatever the heuristics). The stdstring block is laid out as the old
// (copy-on-write) std::string's representation: length, capacity, refcount, characters.
#include <cstdint>
#include <cstdlib>
#include <cstring>

struct Elem {
    ~Elem() {}   // a destructor: new Elem[n] keeps n before the elements
    long v = 0;
};
struct A { virtual ~A() {} virtual void a() {} long x = 1; };
struct B { virtual ~B() {} virtual void b() {} long y = 2; };
struct C : A, B { void a() override {} void b() override {} };

char *str_chars;                // a string representation reached at its characters: offset 24
Elem *arr;                      // new[] with a count: offset 8
char *len64;                    // sqlite-style length prefix: offset 8
B *second_base;                 // C seen through its second base
char *slice_a, *slice_b;        // plain interior pointers: possibly lost

int main()
{
    size_t *rep = static_cast<size_t *>(malloc(3 * sizeof(size_t) + 100 + 1));
    rep[0] = 99;    // length
    rep[1] = 100;   // capacity
    rep[2] = 0;     // refcount
    str_chars = reinterpret_cast<char *>(rep + 3);
    memset(str_chars, 'x', 99);
    str_chars[99] = 0;
    arr = new Elem[10];
    uint64_t *l = static_cast<uint64_t *>(malloc(8 + 40));
    l[0] = 40;
    len64 = reinterpret_cast<char *>(l + 1);
    second_base = new C;
    slice_a = static_cast<char *>(malloc(64)) + 16;
    slice_b = static_cast<char *>(malloc(64)) + 40;
    return 0;
}
