/*
 * event_log.c: an event log that is processed but never truncated. Producers
 * append events to one growable array; a consumer processes the new ones and
 * moves its cursor forward, but nobody ever drops the events behind the
 * cursor. The log stays reachable from a global, so nothing is "lost", yet it
 * grows for as long as the program runs: one block that keeps being
 * reallocated larger.
 *
 * The program runs 10 rounds of 100 events each; the array doubles from 16
 * entries to 1024 entries of 32 bytes.
 *
 * expected (drip and valgrind --leak-check=full --show-leak-kinds=all agree):
 *   32,768 bytes in 1 blocks still reachable in log_append (it calls realloc;
 *   called from log_event, called from main);
 *   nothing definite, indirect or possible; no threads.
 *
 * Fixed twin: event_log_fixed.c truncates the log once its events are
 * processed, and frees it at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROUNDS = 10, EVENTS_PER_ROUND = 100, FIRST_CAPACITY = 16 };

/* One event; 32 bytes on x86-64. */
struct event {
    uint64_t seq;
    uint32_t type;
    uint32_t code;
    char source[16];
};

/* The log: events[0, count) are stored, events[0, processed) are done with. */
static struct {
    struct event *events;
    size_t count;
    size_t capacity;
    size_t processed;
    uint64_t next_seq;
} g_log;

/* Appends ev to the log, doubling the array when it is full; exits on OOM. */
static __attribute__((noinline)) void log_append(const struct event *ev)
{
    if (g_log.count == g_log.capacity) {
        size_t capacity = g_log.capacity ? 2 * g_log.capacity : FIRST_CAPACITY;
        struct event *events = realloc(g_log.events, capacity * sizeof *events);
        if (events == NULL)
            exit(1);
        g_log.events = events;
        g_log.capacity = capacity;
    }
    g_log.events[g_log.count++] = *ev;
}

/* Records one event of the given type from source. */
static __attribute__((noinline)) void log_event(uint32_t type, uint32_t code, const char *source)
{
    struct event ev = { .seq = g_log.next_seq++, .type = type, .code = code };
    snprintf(ev.source, sizeof ev.source, "%s", source);
    log_append(&ev);
}

/* Processes the events not processed yet; returns how many had a non-zero code. */
static unsigned process_events(void)
{
    unsigned errors = 0;
    for (; g_log.processed < g_log.count; g_log.processed++)
        errors += g_log.events[g_log.processed].code != 0;
    return errors;                      /* BUG: events[0, processed) are kept forever */
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);   /* no stdio buffer on the heap */
    unsigned errors = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < EVENTS_PER_ROUND; i++)
            log_event((uint32_t)(i % 4), (uint32_t)(i % 10 == 0), i % 2 ? "disk" : "net");
        errors += process_events();
    }
    printf("event_log: processed %zu events (%u errors), the log still holds %zu (capacity %zu)\n",
           g_log.processed, errors, g_log.count, g_log.capacity);
    return 0;
}
