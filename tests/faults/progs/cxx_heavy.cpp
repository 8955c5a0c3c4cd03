// cxx_heavy.cpp — a heavier C++ workload: 8 std::threads each build std::map<std::string,
// std::vector<int>> and std::unordered_map, format with std::ostringstream, sort, throw and
// catch exceptions across several frames (std::runtime_error with a std::string message, a
// custom exception carrying a std::vector), use std::shared_ptr/weak_ptr cycles broken
// correctly (40,000 exceptions in all), std::function, and a std::mutex-protected shared std::deque. Then main leaks
// exactly one 'new Leaked' (48 bytes) and one new int[25] (100 bytes) on purpose.
// Output is deterministic.
#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct Payload : std::exception {
    std::vector<int> data;
    explicit Payload(int n) : data(static_cast<size_t>(n), n) {}
    const char *what() const noexcept override { return "payload"; }
};

struct Node {
    std::string name;
    std::shared_ptr<Node> child;
    std::weak_ptr<Node> parent;
};

struct Leaked {
    char bytes[48];
};

static std::mutex mu;
static std::deque<std::string> shared_log;

__attribute__((noinline)) static void level3(int i)
{
    if (i % 3 == 0)
        throw std::runtime_error("level3 failed at " + std::to_string(i) + std::string(40, 'x'));
    if (i % 3 == 1)
        throw Payload(i % 50 + 1);
}

__attribute__((noinline)) static int level2(int i)
{
    std::vector<std::string> locals(5, std::string(30, 'y'));
    level3(i);
    return static_cast<int>(locals.size());
}

__attribute__((noinline)) static int level1(int i)
{
    std::unique_ptr<std::map<int, std::string>> m(new std::map<int, std::string>);
    (*m)[i] = std::string(i % 100, 'z');
    return level2(i) + static_cast<int>(m->size());
}

static long work(int id)
{
    long sum = 0;
    std::map<std::string, std::vector<int>> index;
    std::unordered_map<int, std::string> names;
    for (int i = 0; i < 20000; i++) {
        std::ostringstream key;
        key << "key-" << id << "-" << (i % 500);
        index[key.str()].push_back(i);
        names[i] = key.str() + "/" + std::to_string(i * 7);
    }
    for (int i = 0; i < 5000; i++) {
        try {
            sum += level1(i);
        } catch (const std::runtime_error &e) {
            sum += static_cast<long>(std::string(e.what()).size());
        } catch (const Payload &p) {
            sum += static_cast<long>(p.data.size());
        }
    }
    std::vector<std::string> keys;
    for (auto &kv : index)
        keys.push_back(kv.first);
    std::sort(keys.begin(), keys.end(), std::greater<std::string>());
    auto root = std::make_shared<Node>();
    root->name = "root";
    root->child = std::make_shared<Node>();
    root->child->parent = root;
    root->child->name = std::string(64, 'c');
    std::function<long(const std::string &)> len = [&](const std::string &s) { return static_cast<long>(s.size()); };
    sum += len(keys.front()) + len(root->child->name) + static_cast<long>(names.size() + index.size());
    {
        std::lock_guard<std::mutex> g(mu);
        shared_log.push_back("thread " + std::to_string(id) + " done");
        if (shared_log.size() > 4)
            shared_log.pop_front();
    }
    return sum;
}

Leaked *volatile leaked_sink;

__attribute__((noinline)) static void leak_on_purpose()
{
    Leaked *volatile &sink = leaked_sink;
    sink = new Leaked();
    sink = nullptr;
    int *volatile arr = new int[25];
    arr = nullptr;
    (void)arr;
}

int main()
{
    std::vector<long> sums(8);
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; i++)
        ts.emplace_back([i, &sums] { sums[static_cast<size_t>(i)] = work(i); });
    for (auto &t : ts)
        t.join();
    long total = 0;
    for (long s : sums)
        total += s;
    std::cout << "total " << total << " log " << shared_log.size() << std::endl;
    leak_on_purpose();
    volatile char scrub[32768];
    for (size_t i = 0; i < sizeof scrub; i++)
        scrub[i] = 0;
    return 0;
}
