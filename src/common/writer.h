/* writer.h — the one buffered output path: text reports, JSON and profiles all go through it.
 * A writer targets a file descriptor; the first failed write sets
 * `err` (an errno value) and later writes do nothing, so callers check once at the end. */
#ifndef DRIP_COMMON_WRITER_H
#define DRIP_COMMON_WRITER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The buffer: 8 KiB in the traced process (writers live on its threads' stacks); drip's own
 * processes build with 64 KiB (a JSON report of 11 MB written 8 KiB at a time cost ext4 5 ms more). */
#ifndef DRIP_WRITER_BUF
#define DRIP_WRITER_BUF 8192
#endif

struct drip_writer {
    int fd;
    char buf[DRIP_WRITER_BUF];
    size_t len;
    int err;
};

void drip__writer_fd(struct drip_writer *w, int fd);
void drip__write(struct drip_writer *w, const void *p, size_t n);
void drip__puts(struct drip_writer *w, const char *s);
void drip__printf(struct drip_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drip__vprintf(struct drip_writer *w, const char *fmt, va_list ap);
/* Writes v in lower-case hex, no prefix (printf's %lx without the call: a raw report writes
 * one per frame). */
void drip__put_hex(struct drip_writer *w, uint64_t v);
/* Writes n with thousands separators: 1,048,576. */
void drip__put_count(struct drip_writer *w, uint64_t n);
/* Formats a byte count for people: "512 B", "1.5 KiB", "3.0 MiB" (IEC units, one decimal). */
void drip__human_bytes(char *out, size_t cap, double bytes);
/* Writes s as a JSON string literal, quotes included. */
void drip__put_json_str(struct drip_writer *w, const char *s);
/* Flushes; returns 0 or the first errno seen. */
int drip__flush(struct drip_writer *w);

#endif
