/* The study's progress line. */
#include "sgdmc/study/progress.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "sgdmc/base/clock.h"

enum { BAR_WIDTH = 30 };

const char *const sgdmc_progress_style_names[SGDMC_PROGRESS_STYLE_COUNT + 1] = {
    "auto", "bar", "lines", "none", NULL};

/* The first line comes after FIRST_LINE seconds whatever the style, so that
 * a short study and the first minutes of a long one show they are alive. */
static const double FIRST_LINE = 1.0, BAR_INTERVAL = 1.0, LINE_INTERVAL = 10.0;

struct sgdmc_progress {
    FILE *out;
    bool terminal;
    double interval;       /* seconds between lines */
    long total, done_at_start;
    double started, last_print;
};

sgdmc_progress *sgdmc_progress_start(FILE *out, sgdmc_progress_style style, long total,
                                     long already_done)
{
    sgdmc_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->out = style == SGDMC_PROGRESS_NONE ? NULL : out;
    p->terminal = style == SGDMC_PROGRESS_BAR ||
                  (style == SGDMC_PROGRESS_AUTO && out && isatty(fileno(out)));
    p->interval = p->terminal ? BAR_INTERVAL : LINE_INTERVAL;
    p->total = total;
    p->done_at_start = already_done;
    p->started = sgdmc_now_seconds();
    p->last_print = p->started - p->interval + FIRST_LINE;
    return p;
}

static void format_duration(double seconds, char *buf, size_t len)
{
    if (!(seconds >= 0.0) || seconds > 1e8) {
        snprintf(buf, len, "?");
        return;
    }
    const long s = lround(seconds);
    if (s >= 86400)
        snprintf(buf, len, "%ldd%02ldh%02ldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s % 3600 / 60, s % 60);
}

static void print_line(sgdmc_progress *p, long done, double now)
{
    const double elapsed = now - p->started;
    const long done_here = done - p->done_at_start;
    const double rate = elapsed > 0.0 ? done_here / elapsed : 0.0;
    char eta[32];
    format_duration(rate > 0.0 ? (double)(p->total - done) / rate : -1.0, eta, sizeof eta);
    const double fraction = p->total ? (double)done / (double)p->total : 1.0;
    if (p->terminal) {
        char bar[BAR_WIDTH + 1];
        const int filled = (int)(fraction * BAR_WIDTH);
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(p->out, "\r[%s] %ld/%ld %5.1f%%  %.1f runs/s  ETA %s\033[K", bar, done, p->total,
                100.0 * fraction, rate, eta);
    } else {
        fprintf(p->out, "sgdmc study: %ld/%ld tasks done (%.1f%%), %.1f runs/s, ETA %s\n", done,
                p->total, 100.0 * fraction, rate, eta);
    }
    fflush(p->out);
    p->last_print = now;
}

void sgdmc_progress_update(sgdmc_progress *p, long done, double now)
{
    if (!p || !p->out)
        return;
    if (now - p->last_print >= p->interval)
        print_line(p, done, now);
}

void sgdmc_progress_finish(sgdmc_progress *p, long done, const char *outcome)
{
    if (!p)
        return;
    if (p->out) {
        const double elapsed = sgdmc_now_seconds() - p->started;
        const long done_here = done - p->done_at_start;
        char took[32];
        format_duration(elapsed, took, sizeof took);
        fprintf(p->out, "%ssgdmc study: %ld/%ld tasks done; %ld runs in %s (%.1f runs/s); %s\n",
                p->terminal ? "\r\033[K" : "", done, p->total, done_here, took,
                elapsed > 0.0 ? done_here / elapsed : 0.0, outcome);
        fflush(p->out);
    }
    free(p);
}
