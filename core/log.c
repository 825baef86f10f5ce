/* log.c — see log.h. */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static vr_log_level g_level = (vr_log_level)-1;
static int g_rank = 0, g_world = 1;
static int g_bar_on_screen = 0; /* a TTY bar is drawn on the current line */

static vr_log_level level_from_env(void) {
    const char *s = getenv("VROBIN_LOG");
    if (!s) return VR_LOG_INFO;
    if (!strcmp(s, "debug")) return VR_LOG_DEBUG;
    if (!strcmp(s, "warn")) return VR_LOG_WARN;
    if (!strcmp(s, "error")) return VR_LOG_ERROR;
    if (!strcmp(s, "quiet")) return VR_LOG_QUIET;
    return VR_LOG_INFO;
}

void vr_log_set_level(vr_log_level level) { g_level = level; }

vr_log_level vr_log_get_level(void) {
    if ((int)g_level < 0) g_level = level_from_env();
    return g_level;
}

void vr_log_set_rank(int rank, int world) {
    g_rank = rank;
    g_world = world;
}

double vr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void clear_bar_line(void) {
    if (g_bar_on_screen) {
        fputs("\r\033[2K", stderr);
        g_bar_on_screen = 0;
    }
}

void vr_log(vr_log_level level, const char *fmt, ...) {
    if (level < vr_log_get_level()) return;
    if (level <= VR_LOG_INFO && g_rank != 0) return;
    static const char *names[] = {"debug", "info", "warning", "error"};
    clear_bar_line();
    if (g_world > 1)
        fprintf(stderr, "[vrobin rank %d] %s: ", g_rank, names[level]);
    else
        fprintf(stderr, "[vrobin] %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

struct vr_progress {
    char label[64];
    char unit[24];
    int64_t total, done;
    double t0, last_print;
    double interval; /* plain mode: seconds between lines */
    int tty;
    int quiet;
};

static void format_secs(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

vr_progress *vr_progress_begin(const char *label, int64_t total, const char *unit) {
    vr_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->t0 = p->last_print = vr_now();
    p->tty = isatty(STDERR_FILENO) && getenv("CI") == NULL;
    p->quiet = g_rank != 0 || vr_log_get_level() > VR_LOG_INFO;
    const char *iv = getenv("VROBIN_PROGRESS_SECONDS");
    p->interval = iv ? atof(iv) : 10.0;
    if (p->interval <= 0) p->interval = 10.0;
    return p;
}

static void progress_draw(vr_progress *p, const char *extra, int final) {
    double el = vr_now() - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    char ela[32], eta[32];
    format_secs(ela, sizeof ela, el);
    if (p->total > 0 && rate > 0)
        format_secs(eta, sizeof eta, (double)(p->total - p->done) / rate);
    else
        snprintf(eta, sizeof eta, "?");
    if (p->tty) {
        char bar[32];
        int width = 24, fill = 0;
        if (p->total > 0) fill = (int)((double)width * (double)p->done / (double)p->total);
        if (fill > width) fill = width;
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (p->total > 0)
            fprintf(stderr, "\r\033[2K%s [%s] %lld/%lld %s  %.2f %s/s  %s<%s%s%s", p->label, bar,
                    (long long)p->done, (long long)p->total, p->unit, rate, p->unit, ela, eta,
                    extra ? "  " : "", extra ? extra : "");
        else
            fprintf(stderr, "\r\033[2K%s %lld %s  %.2f %s/s  %s%s%s", p->label, (long long)p->done, p->unit,
                    rate, p->unit, ela, extra ? "  " : "", extra ? extra : "");
        g_bar_on_screen = 1;
        if (final) {
            fputc('\n', stderr);
            g_bar_on_screen = 0;
        }
    } else {
        if (p->total > 0)
            fprintf(stderr, "[vrobin] %s: %lld/%lld %s (%.0f%%), %.2f %s/s, elapsed %s, eta %s%s%s\n", p->label,
                    (long long)p->done, (long long)p->total, p->unit, 100.0 * (double)p->done / (double)p->total,
                    rate, p->unit, ela, final ? "0:00" : eta, extra ? ", " : "", extra ? extra : "");
        else
            fprintf(stderr, "[vrobin] %s: %lld %s, %.2f %s/s, elapsed %s%s%s\n", p->label, (long long)p->done,
                    p->unit, rate, p->unit, ela, extra ? ", " : "", extra ? extra : "");
    }
    fflush(stderr);
}

void vr_progress_update(vr_progress *p, int64_t done, const char *extra) {
    if (!p) return;
    p->done = done;
    if (p->quiet) return;
    double now = vr_now();
    /* a TTY redraws at most 10x/s; plain output prints every `interval` seconds */
    double gap = p->tty ? 0.1 : p->interval;
    if (now - p->last_print < gap) return;
    p->last_print = now;
    progress_draw(p, extra, 0);
}

void vr_progress_end(vr_progress *p) {
    if (!p) return;
    if (!p->quiet) progress_draw(p, NULL, 1);
    free(p);
}
