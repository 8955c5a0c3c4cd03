// cxx.cpp — C++ under drip: iostream, std::string, std::thread, exceptions thrown across frames
// while every allocation is unwound, and one leak: make_array's new int[10] (40 bytes).
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

int *volatile sink;

__attribute__((noinline)) int *make_array() { return new int[10]; }

__attribute__((noinline)) static void thrower(int i)
{
    std::string s = "error number " + std::to_string(i);
    throw std::runtime_error(s);
}

int main()
{
    int caught = 0;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&caught, t] {
            for (int i = 0; i < 500; i++) {
                try {
                    thrower(i + t);
                } catch (const std::runtime_error &e) {
                    if (std::string(e.what()).rfind("error number", 0) == 0)
                        __atomic_add_fetch(&caught, 1, __ATOMIC_RELAXED);
                }
            }
        });
    for (auto &t : ts)
        t.join();
    sink = make_array();
    sink = nullptr;
    std::cout << "caught " << caught << std::endl;
    return caught == 2000 ? 0 : 1;
}
