/* watch_plot.c — `drip watch --plot FILE`: RSS (and PSS) over time as a standalone SVG chart,
 * with labelled axes in readable units (s/min/h; KiB/MiB/GiB), the y axis from zero (memory
 * charts that do not start at zero exaggerate), the alert threshold as a red dashed line, and the
 * fitted trend over the judged window as a dotted line. The whole chart goes through drip's
 * buffered writer.
 */
#include "watch.h"
#include "prof.h"
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { W = 900, H = 460, ML = 80, MR = 40, MT = 64, MB = 64 };

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving at most about 8 ticks over span. */
static double nice_step(double span)
{
    if (span <= 0)
        return 1;
    double raw = span / 8, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void tick_label(char *buf, size_t cap, double v, double step)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, cap, "%.*f", dec, v);
}

static void put_text(struct drip_writer *w, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            drip__puts(w, "&lt;");
        else if (*s == '>')
            drip__puts(w, "&gt;");
        else if (*s == '&')
            drip__puts(w, "&amp;");
        else
            drip__write(w, s, 1);
    }
}

int drip__plot(const char *path, const struct drip__wsample *s, size_t n, uint64_t alert,
               const struct drip__trend *tr, const char *title)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct drip_writer w;
    drip__writer_fd(&w, fd);

    double tmax = n ? s[n - 1].t : 1;
    if (tmax <= 0)
        tmax = 1;
    const char *tunit = "s";
    double tdiv = 1;
    if (tmax >= 36000) {
        tunit = "h";
        tdiv = 3600;
    } else if (tmax >= 600) {
        tunit = "min";
        tdiv = 60;
    }
    double ymax = 0;
    for (size_t i = 0; i < n; i++)
        ymax = fmax(ymax, fmax((double)s[i].rss, (double)s[i].pss));
    int alert_on_chart = alert && (double)alert <= fmax(ymax, 1) * 1.5;
    if (alert_on_chart)
        ymax = fmax(ymax, (double)alert);
    if (ymax <= 0)
        ymax = 1024 * 1024;
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    double ydiv = 1;
    while (u < 4 && ymax / ydiv >= 1024 * 2) {
        ydiv *= 1024;
        u++;
    }
    double ystep = nice_step(ymax * 1.05 / ydiv);
    double ytop = ceil(ymax * 1.05 / ydiv / ystep) * ystep; /* in display units */
    double xstep = nice_step(tmax / tdiv);
    double xtop = ceil(tmax / tdiv / xstep - 1e-9) * xstep;
    double pw = W - ML - MR, ph = H - MT - MB;
#define PX(t) (ML + (t) / tdiv / xtop * pw)
#define PY(v) (MT + ph - (v) / ydiv / ytop * ph)

    drip__printf(&w,
                 "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "xmlns=\"http://www.w3.org/2000/svg\">\n"
                 "<style>text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #222; }"
                 " .title { font-size: 16px; } .grid { stroke: #e4e4e4; } .axis { stroke: #444; }</style>\n"
                 "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
                 W, H, W, H, W, H);
    drip__printf(&w, "<text class=\"title\" x=\"%d\" y=\"22\" text-anchor=\"middle\">", W / 2);
    put_text(&w, title);
    drip__printf(&w, "</text>\n<text id=\"verdict\" x=\"%d\" y=\"42\" text-anchor=\"middle\">trend: ", W / 2);
    put_text(&w, tr->text);
    drip__puts(&w, "</text>\n");

    char lab[64];
    for (double v = 0; v <= ytop + ystep / 2; v += ystep) {
        double y = MT + ph - v / ytop * ph;
        tick_label(lab, sizeof lab, v, ystep);
        drip__printf(&w, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\"/>"
                        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                    ML, y, ML + pw, y, ML - 6, y + 4, lab);
    }
    for (double v = 0; v <= xtop + xstep / 2; v += xstep) {
        double x = ML + v / xtop * pw;
        tick_label(lab, sizeof lab, v, xstep);
        drip__printf(&w, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.0f\"/>"
                        "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
                    x, MT, x, MT + ph, x, MT + ph + 18, lab);
    }
    drip__printf(&w, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.0f\"/>"
                    "<line class=\"axis\" x1=\"%d\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>\n",
                ML, MT, ML, MT + ph, ML, MT + ph, ML + pw, MT + ph);
    drip__printf(&w, "<text id=\"xlabel\" x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">time (%s)</text>\n",
                 ML + pw / 2, H - 18, tunit);
    drip__printf(&w, "<text id=\"ylabel\" transform=\"translate(20,%.0f) rotate(-90)\" text-anchor=\"middle\">"
                    "memory (%s)</text>\n", MT + ph / 2, units[u]);

    if (alert) {
        char a[64];
        drip__fmt_value(a, sizeof a, (int64_t)alert, "bytes");
        if (alert_on_chart) {
            double y = PY((double)alert);
            drip__printf(&w, "<line id=\"alert\" x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#d62728\" "
                            "stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>"
                            "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" style=\"fill:#d62728\">alert %s</text>\n",
                        ML, y, ML + pw, y, ML + pw - 4, y - 5, a);
        } else {
            drip__printf(&w, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"end\" style=\"fill:#d62728\">alert %s "
                            "(above the chart)</text>\n", ML + pw - 4, MT - 6, a);
        }
    }
    for (int k = 0; k < 2 && n; k++) {
        drip__printf(&w, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s points=\"",
                     k ? "pss" : "rss", k ? "#7f7f7f" : "#1f77b4", k ? "1.2" : "2",
                     k ? " stroke-dasharray=\"4,3\"" : "");
        for (size_t i = 0; i < n; i++)
            drip__printf(&w, "%s%.1f,%.1f", i ? " " : "", PX(s[i].t), PY((double)(k ? s[i].pss : s[i].rss)));
        drip__puts(&w, "\"/>\n");
    }
    if (n == 1)
        drip__printf(&w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f77b4\"/>\n", PX(s[0].t), PY((double)s[0].rss));
    if (!n)
        drip__printf(&w, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">no samples</text>\n", ML + pw / 2,
                     MT + ph / 2);
    int fitted = tr->verdict != DRIP_TREND_FEW && tr->to_t > tr->from_t;
    if (fitted) {
        double y0 = fmax(0, tr->b + tr->rate * tr->from_t), y1 = fmax(0, tr->b + tr->rate * tr->to_t);
        drip__printf(&w, "<line id=\"trend\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ff7f0e\" "
                        "stroke-width=\"3.5\" stroke-dasharray=\"3,4\" opacity=\"0.9\"/>\n",
                    PX(tr->from_t), PY(y0), PX(tr->to_t), PY(y1));
    }
    /* legend */
    double lx = ML + 12, ly = MT + 14;
    drip__printf(&w, "<g id=\"legend\">"
                    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
                    "<text x=\"%.0f\" y=\"%.0f\">RSS</text>"
                    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#7f7f7f\" stroke-dasharray=\"4,3\"/>"
                    "<text x=\"%.0f\" y=\"%.0f\">PSS</text>",
                lx, ly, lx + 24, ly, lx + 30, ly + 4, lx + 70, ly, lx + 94, ly, lx + 100, ly + 4);
    if (fitted)
        drip__printf(&w, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#ff7f0e\" stroke-width=\"2\" "
                        "stroke-dasharray=\"2,3\"/><text x=\"%.0f\" y=\"%.0f\">trend</text>",
                    lx + 140, ly, lx + 164, ly, lx + 170, ly + 4);
    drip__puts(&w, "</g>\n</svg>\n");
#undef PX
#undef PY
    int err = drip__flush(&w);
    if (close(fd) && !err)
        err = errno;
    return -err;
}
