/* flame_svg.c — the flame graph as a self-contained SVG, in the layout of Brendan Gregg's
 * flamegraph.pl: root at the bottom, one 16px row per stack depth, widths proportional to the
 * value. The positions are computed here so the image renders without scripts; the inline script
 * adds the details line on hover, zoom on click (the frame and its descendants rescaled to the full
 * width, its ancestors kept full width and dimmed, the rest hidden), and reset (the "Reset Zoom"
 * button or Escape). heap.svg#zoom=NAME opens zoomed on the frame NAME.
 */
#include "flame.h"
#include "prof.h"

#include <stdio.h>
#include <string.h>

enum { WIDTH = 1200, XPAD = 10, FRAME_H = 16, FONT = 12, TOP = 3 * FONT + 6, BOTTOM = 2 * FONT + 10 };

static void put_xml(struct drip_writer *w, const char *s, size_t max)
{
    for (size_t i = 0; s[i] && i < max; i++) {
        switch (s[i]) {
        case '&': drip__puts(w, "&amp;"); break;
        case '<': drip__puts(w, "&lt;"); break;
        case '>': drip__puts(w, "&gt;"); break;
        case '"': drip__puts(w, "&quot;"); break;
        default:
            if ((unsigned char)s[i] >= 0x20)
                drip__write(w, s + i, 1);
        }
    }
}

/* flamegraph.pl's "mem" palette: greens, stable per name. */
static void color(const char *name, char *out, size_t cap)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    double v1 = (double)(h & 0xffff) / 65535.0, v2 = (double)((h >> 16) & 0xffff) / 65535.0;
    snprintf(out, cap, "rgb(%d,%d,%d)", (int)(40 * v2), 190 + (int)(50 * v2), (int)(160 * v1));
}

/* The label that fits a frame w pixels wide (same rule as the script's fit()). */
static size_t fit_chars(double w, size_t len)
{
    double room = (w - 6) / (FONT * 0.59);
    if (room < 3)
        return 0;
    return (size_t)room >= len ? len : (size_t)room - 2;
}

static const char script[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "'use strict';\n"
    "var W = %d, XPAD = %d, FONT = %d, TOTAL = %lld, frames, details, reset, zoomed = null;\n"
    "function fit(g) {\n"
    "  var r = g.querySelector('rect'), t = g.querySelector('text'), name = g.getAttribute('data-n');\n"
    "  var w = +r.getAttribute('width'), room = (w - 6) / (FONT * 0.59);\n"
    "  t.setAttribute('x', +r.getAttribute('x') + 3);\n"
    "  t.textContent = room < 3 ? '' : name.length <= room ? name : name.substring(0, Math.floor(room) - 2) + '..';\n"
    "}\n"
    "function place(g, s, v, lo, span) {\n"
    "  var r = g.querySelector('rect');\n"
    "  r.setAttribute('x', XPAD + (s - lo) * (W - 2 * XPAD) / span);\n"
    "  r.setAttribute('width', v * (W - 2 * XPAD) / span);\n"
    "  g.style.display = '';\n"
    "  fit(g);\n"
    "}\n"
    "function zoom(z) {\n"
    "  var zs = +z.getAttribute('data-s'), zv = +z.getAttribute('data-v'), zd = +z.getAttribute('data-d');\n"
    "  zoomed = z;\n"
    "  reset.style.opacity = 1;\n"
    "  for (var g = frames.firstElementChild; g; g = g.nextElementSibling) {\n"
    "    var s = +g.getAttribute('data-s'), v = +g.getAttribute('data-v'), d = +g.getAttribute('data-d');\n"
    "    if (d < zd) {\n"
    "      if (s <= zs && s + v >= zs + zv) { place(g, 0, TOTAL, 0, TOTAL); g.classList.add('anc'); }\n"
    "      else g.style.display = 'none';\n"
    "    } else if (s >= zs && s + v <= zs + zv) { place(g, s, v, zs, zv); g.classList.remove('anc'); }\n"
    "    else g.style.display = 'none';\n"
    "  }\n"
    "}\n"
    "function unzoom() {\n"
    "  zoomed = null;\n"
    "  reset.style.opacity = 0;\n"
    "  for (var g = frames.firstElementChild; g; g = g.nextElementSibling) {\n"
    "    g.classList.remove('anc');\n"
    "    place(g, +g.getAttribute('data-s'), +g.getAttribute('data-v'), 0, TOTAL);\n"
    "  }\n"
    "}\n"
    "function frameOf(e) { var g = e.target; while (g && g.parentNode !== frames) g = g.parentNode; return g; }\n"
    "function init() {\n"
    "  frames = document.getElementById('frames');\n"
    "  details = document.getElementById('details');\n"
    "  reset = document.getElementById('reset');\n"
    "  frames.addEventListener('mouseover', function (e) { var g = frameOf(e); if (g) details.textContent = g.querySelector('title').textContent; });\n"
    "  frames.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
    "  frames.addEventListener('click', function (e) { var g = frameOf(e); if (g) zoom(g); });\n"
    "  reset.addEventListener('click', unzoom);\n"
    "  document.addEventListener('keydown', function (e) { if (e.key === 'Escape') unzoom(); });\n"
    "  for (var g = frames.firstElementChild; g; g = g.nextElementSibling) fit(g);\n"
    "  var m = /^#zoom=(.*)$/.exec(location.hash);\n" /* heap.svg#zoom=NAME opens zoomed on NAME */
    "  if (m) for (g = frames.firstElementChild; g; g = g.nextElementSibling)\n"
    "    if (g.getAttribute('data-n') === decodeURIComponent(m[1])) { zoom(g); break; }\n"
    "}\n"
    "window.addEventListener('load', init);\n"
    "]]></script>\n";

double drip__flame_scale(int64_t total)
{
    return total > 0 ? (WIDTH - 2.0 * XPAD) / (double)total : 0;
}

void drip__flame_svg_begin(struct drip__flame_svg *f, struct drip_writer *w, const char *title, const char *type,
                           const char *unit, int64_t total, uint32_t depth)
{
    f->w = w;
    f->total = total;
    f->scale = drip__flame_scale(total);
    f->height = TOP + (int)(depth + 1) * FRAME_H + BOTTOM;
    f->unit = unit;
    char tot[64];
    drip__fmt_value(tot, sizeof tot, total, unit);
    drip__printf(w,
                 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "xmlns=\"http://www.w3.org/2000/svg\">\n"
                 "<style>\n"
                 "text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: %dpx; fill: #000; }\n"
                 "#frames g:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; }\n"
                 "#frames g.anc rect { opacity: 0.6; }\n"
                 "#title { font-size: %dpx; }\n"
                 "#reset { cursor: pointer; opacity: 0; }\n"
                 "</style>\n",
                 WIDTH, f->height, WIDTH, f->height, FONT, FONT + 5);
    drip__printf(w, script, WIDTH, XPAD, FONT, (long long)total);
    drip__printf(w, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8fff8\"/>\n", WIDTH, f->height);
    drip__printf(w, "<text id=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", WIDTH / 2, FONT + 8);
    put_xml(w, title, 512);
    drip__printf(w, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", WIDTH / 2, 2 * FONT + 12);
    put_xml(w, type, 128);
    drip__printf(w, ": %s total</text>\n<text id=\"reset\" x=\"%d\" y=\"%d\">Reset Zoom</text>\n", tot, XPAD, FONT + 8);
    drip__printf(w, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD, f->height - BOTTOM / 2 + 2);
    drip__puts(w, "<g id=\"frames\">\n");
}

void drip__flame_svg_frame(struct drip__flame_svg *f, const char *name, uint32_t depth, int64_t start, int64_t value)
{
    struct drip_writer *w = f->w;
    double x = XPAD + (double)start * f->scale, wd = (double)value * f->scale;
    double y = f->height - BOTTOM - (double)(depth + 1) * FRAME_H;
    char col[32], val[64], pct[32];
    color(name, col, sizeof col);
    drip__fmt_value(val, sizeof val, value, f->unit);
    drip__fmt_pct(pct, sizeof pct, value, f->total);
    drip__printf(w, "<g data-s=\"%lld\" data-v=\"%lld\" data-d=\"%u\" data-n=\"", (long long)start, (long long)value,
                 depth);
    put_xml(w, name, SIZE_MAX);
    drip__puts(w, "\"><title>");
    put_xml(w, name, SIZE_MAX);
    drip__printf(w, " (%s, %s)</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>",
                 val, pct + strspn(pct, " "), x, y, wd, FRAME_H - 1, col);
    drip__printf(w, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
    size_t len = strlen(name), k = fit_chars(wd, len);
    put_xml(w, name, k);
    if (k && k < len)
        drip__puts(w, "..");
    drip__puts(w, "</text></g>\n");
}

void drip__flame_svg_end(struct drip__flame_svg *f)
{
    drip__puts(f->w, "</g>\n</svg>\n");
}
