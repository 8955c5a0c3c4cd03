/* flame.h — the SVG side of `drip flame` (flame_svg.c): frames arrive one at a time, each with
 * its depth (0: the root, "all"), its start and its width in sample units. */
#ifndef DRIP_CLI_FLAME_H
#define DRIP_CLI_FLAME_H

#include "writer.h"

#include <stdint.h>

#define DRIP_FLAME_MIN_PX 0.1 /* narrower frames are left out, as flamegraph.pl does */

struct drip__flame_svg {
    struct drip_writer *w;
    int64_t total;
    double scale;  /* pixels per sample unit */
    int height;
    const char *unit;
};

/* Pixels per sample unit for a graph of this total. */
double drip__flame_scale(int64_t total);
/* Writes the header, style and script; depth is the deepest visible frame's. */
void drip__flame_svg_begin(struct drip__flame_svg *f, struct drip_writer *w, const char *title, const char *type,
                           const char *unit, int64_t total, uint32_t depth);
/* One frame; the caller leaves out those narrower than DRIP_FLAME_MIN_PX. */
void drip__flame_svg_frame(struct drip__flame_svg *f, const char *name, uint32_t depth, int64_t start, int64_t value);
void drip__flame_svg_end(struct drip__flame_svg *f);

#endif
