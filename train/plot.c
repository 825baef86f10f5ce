/* plot.c — `vrobin plot RUN_DIR [-o out.png]`: training curves from metrics.jsonl via gnuplot.
 * The data go to gnuplot inline (a datablock), the PNG to a temp name that is renamed when
 * gnuplot succeeded, so a failed plot never leaves a torn image. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "train/trainer.h"

#define MAX_CURVES 8 /* loss + its parts */

/* Per-step fields that are not loss curves. */
static int is_loss_part(const char *key) {
    static const char *const other[] = {"step", "epoch", "lr", "grad_norm", "clip", "samples_per_s", "step_s",
                                        "data_wait_pct", "allreduce_s", "elapsed_s", "loss"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        if (!strcmp(key, other[i])) return 0;
    return 1;
}

/* gnuplot single-quoted string: '' is a quote */
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static int plot(const char *run, const char *out) {
    char *mpath = NULL, *text = NULL, *tmp = NULL;
    size_t n = 0;
    if (asprintf(&mpath, "%s/metrics.jsonl", run) < 0 || asprintf(&tmp, "%s.tmp.%d.png", out, (int)getpid()) < 0)
        return vr_fail("out of memory");
    int rc = vr_read_file(mpath, &text, &n);
    char *names[MAX_CURVES];
    int n_curves = 0, rows = 0, positive = 1;
    FILE *gp = NULL;
    /* curves: loss, then the parts named in the first step line (a validation line may come first) */
    names[n_curves++] = "loss";
    cJSON *first = NULL;
    for (size_t at = 0; !rc && at < n && !first;) {
        char *nl = memchr(text + at, '\n', n - at);
        if (!nl) break;
        first = cJSON_ParseWithLength(text + at, (size_t)(nl - (text + at)));
        if (first && !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(first, "lr"))) {
            cJSON_Delete(first);
            first = NULL;
        }
        at = (size_t)(nl - text) + 1;
    }
    for (cJSON *it = first ? first->child : NULL; it && n_curves < MAX_CURVES; it = it->next)
        if (cJSON_IsNumber(it) && is_loss_part(it->string)) names[n_curves++] = it->string;
    if (!rc && !first) rc = vr_fail("%s: no complete metrics line to plot", mpath);
    if (!rc && !(gp = popen("gnuplot", "w"))) rc = vr_fail("cannot start gnuplot: %s", strerror(errno));
    int val_rows = 0, val_fd = 0; /* validation lines (train/validate.h): {"step", "val_loss", ...} */
    if (!rc) {
        fprintf(gp, "$d << EOD\n");
        for (size_t at = 0; at < n;) {
            char *end = memchr(text + at, '\n', n - at);
            if (!end) break; /* a torn last line */
            cJSON *j = cJSON_ParseWithLength(text + at, (size_t)(end - (text + at)));
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
            const cJSON *lr = cJSON_GetObjectItemCaseSensitive(j, "lr");
            if (cJSON_IsNumber(step) && cJSON_IsNumber(lr)) {
                fprintf(gp, "%.17g %.9g", step->valuedouble, lr->valuedouble);
                for (int c = 0; c < n_curves; c++) {
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, names[c]);
                    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
                    if (x <= 0) positive = 0;
                    if (isfinite(x)) fprintf(gp, " %.9g", x);
                    else fprintf(gp, " NaN");
                }
                fprintf(gp, "\n");
                rows++;
            }
            cJSON_Delete(j);
            at = (size_t)(end - text) + 1;
        }
        /* the validation lines: step, val_loss, latent FD free, teacher-forced (NaN when not sampled) */
        fprintf(gp, "EOD\n$v << EOD\n");
        for (size_t at = 0; at < n;) {
            char *end = memchr(text + at, '\n', n - at);
            if (!end) break;
            cJSON *j = cJSON_ParseWithLength(text + at, (size_t)(end - (text + at)));
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(j, "step");
            const cJSON *loss = cJSON_GetObjectItemCaseSensitive(j, "val_loss");
            if (cJSON_IsNumber(step) && cJSON_IsNumber(loss)) {
                const cJSON *fr = cJSON_GetObjectItemCaseSensitive(j, "val_fd_free");
                const cJSON *te = cJSON_GetObjectItemCaseSensitive(j, "val_fd_teacher");
                if (loss->valuedouble <= 0) positive = 0;
                fprintf(gp, "%.17g %.9g", step->valuedouble, loss->valuedouble);
                fprintf(gp, cJSON_IsNumber(fr) ? " %.9g" : " NaN", cJSON_IsNumber(fr) ? fr->valuedouble : 0);
                fprintf(gp, cJSON_IsNumber(te) ? " %.9g\n" : " NaN\n", cJSON_IsNumber(te) ? te->valuedouble : 0);
                val_rows++;
                val_fd |= cJSON_IsNumber(fr);
            }
            cJSON_Delete(j);
            at = (size_t)(end - text) + 1;
        }
        fprintf(gp, "EOD\nset terminal pngcairo size 1000,%d noenhanced\nset output ", val_fd ? 1100 : 800);
        put_quoted(gp, tmp);
        fprintf(gp, "\nset multiplot layout %d,1 title ", val_fd ? 3 : 2);
        put_quoted(gp, run);
        fprintf(gp, "\nset grid\nset key top right\nset ylabel 'loss'\n%s\nplot ", positive ? "set logscale y\nset format y '%g'" : "");
        for (int c = 0; c < n_curves; c++) {
            fprintf(gp, "%s$d using 1:%d with lines lw 2 title ", c ? ", " : "", c + 3);
            put_quoted(gp, names[c]);
        }
        if (val_rows) fprintf(gp, ", $v using 1:2 with linespoints lw 2 pt 7 title 'val loss (EMA)'");
        if (val_fd)
            fprintf(gp, "\nunset logscale y\nset format y '%%g'\nset ylabel 'latent FD (val, EMA)'\n"
                        "plot $v using 1:3 with linespoints lw 2 pt 7 title 'sampled freely', "
                        "$v using 1:4 with linespoints lw 2 pt 5 title 'teacher-forced'");
        fprintf(gp, "\nunset logscale y\nset format y '%%g'\nset ylabel 'learning rate'\nset xlabel 'step'\n"
                    "plot $d using 1:2 with lines lw 2 title 'lr'\nunset multiplot\nset output\n");
        int st = pclose(gp);
        if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = vr_fail("gnuplot failed (status %d) plotting %s", st, mpath);
        else if (!vr_file_exists(tmp))
            rc = vr_fail("gnuplot wrote no image for %s", mpath);
        else if (rename(tmp, out))
            rc = vr_fail("renaming %s to %s: %s", tmp, out, strerror(errno));
    }
    if (rc) unlink(tmp);
    else printf("%s: %d steps, curves:", out, rows);
    for (int c = 0; !rc && c < n_curves; c++) printf(" %s", names[c]);
    if (!rc) printf(", lr%s\n", val_rows ? ", validation" : "");
    cJSON_Delete(first);
    free(text);
    free(mpath);
    free(tmp);
    return rc;
}

static void usage(FILE *out) {
    fprintf(out, "usage: vrobin plot RUN_DIR [-o out.png]\n\n"
                 "Draw the loss (and its parts, log scale) and the learning rate against the step from\n"
                 "RUN_DIR/metrics.jsonl into a PNG with gnuplot (default RUN_DIR/curves.png). A run with\n"
                 "train.val_every also gets its validation loss and, when sampled, a panel of the latent\n"
                 "Frechet distances of free and teacher-forced samples (train/validate.h).\n");
}

int vr_cmd_plot(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *run = NULL, *out = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-' && !run) run = argv[i];
        else bad = 1;
    }
    if (bad || !run) {
        usage(stderr);
        return 2;
    }
    char *def = NULL;
    if (!out && asprintf(&def, "%s/curves.png", run) < 0) return 1;
    int rc = plot(run, out ? out : def);
    if (rc) fprintf(stderr, "vrobin plot: %s\n", vr_error());
    free(def);
    return rc ? 1 : 0;
}
