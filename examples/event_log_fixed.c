/*
 * event_log_fixed.c: the fixed twin of event_log.c. Once the consumer has
 * processed the events, it truncates the log, so the array never needs more
 * than one round's worth of entries (128, i.e. 4,096 bytes); at exit the log
 * is freed.
 *
 * expected: nothing definite, indirect, possible or reachable; no threads.
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

/* The log: events[0, count) are stored and not processed yet. */
static struct {
    struct event *events;
    size_t count;
    size_t capacity;
    size_t processed;                   /* total, for the report */
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

/* Processes every stored event, then truncates the log; returns how many had a non-zero code. */
static unsigned process_events(void)
{
    unsigned errors = 0;
    for (size_t i = 0; i < g_log.count; i++)
        errors += g_log.events[i].code != 0;
    g_log.processed += g_log.count;
    g_log.count = 0;                    /* FIX: processed events are dropped; the array is reused */
    return errors;
}

/* Frees the log's array; the log is empty (and usable) afterwards. */
static void log_free(void)
{
    free(g_log.events);
    g_log.events = NULL;
    g_log.count = g_log.capacity = 0;
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
    printf("event_log_fixed: processed %zu events (%u errors), the log holds %zu (capacity %zu)\n",
           g_log.processed, errors, g_log.count, g_log.capacity);
    log_free();
    return 0;
}
