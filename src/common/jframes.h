/* jframes.h — jframes.c: a stack frame as JSON ({"function", "file", "line", "address",
 * "module"}), and the JSON of frames a document already wrote, kept by address.
 *
 * A report of reachable records writes the same few thousand frames tens of thousands of times
 * (nm -D libc.so.6 --json: 61,129 frames, 11 MB), and escaping and formatting each again was
 * most of its cost. An entry is used only when the frame's names are the same strings (the
 * symbolizer's, which live as long as the report): a frame named with or without its line is
 * formatted apart, so the output is byte for byte what formatting each frame gives. */
#ifndef DRIP_COMMON_JFRAMES_H
#define DRIP_COMMON_JFRAMES_H

#include "raw.h"
#include "writer.h"

struct jframe;

/* One per JSON document, zero-initialised; drip__jframes_free when the document is written. */
struct drip_jframes {
    struct jframe *e;
    size_t n, cap;            /* open addressing; cap a power of two */
    struct drip_writer *m;    /* where a frame is formatted before it is kept (big: not on the stack) */
};

/* One frame; raw: with its offset and build ID (frames not named). */
void drip__json_frame(struct drip_writer *w, const struct drip_frame *f, int raw);
/* "[frame, frame...]"; c NULL: every frame formatted as it comes. Out of memory: not kept. */
void drip__json_stack(struct drip_writer *w, struct drip_jframes *c, const struct drip_frame *f, int n, int raw);
void drip__jframes_free(struct drip_jframes *c);

#endif
