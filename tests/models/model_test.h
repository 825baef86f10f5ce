/* model_test.h — what the tests of the baseline models share (test_fullseq.c, test_arframe.c):
 * the parity side's inputs (written by the Python reference) and the self-tests' fixture batch.
 *
 * Include it after defining MODEL_OPS (the model's vr_model_ops), MODEL_PROG (the program name
 * for messages) and MODEL_TINY (the tiny config as a list of "key=value" strings). Everything is
 * static: each test program is one translation unit.
 */
#ifndef VR_TESTS_MODEL_TEST_H
#define VR_TESTS_MODEL_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/tensor_io.h"
#include "models/model.h"

/* ---- the parity side ---- */

static st_file *g_meta; /* the inputs file: its metadata holds the config overrides and settings */

static int die(const char *what) {
    fprintf(stderr, MODEL_PROG ": %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

static tt_tensor *input(tt_params *in, const char *name) {
    tt_tensor *t = tt_params_get(in, name);
    if (!t) {
        fprintf(stderr, MODEL_PROG ": input '%s' missing\n", name);
        exit(1);
    }
    return t;
}

static void *host(tt_params *in, const char *name, size_t elem) {
    tt_tensor *t = input(in, name);
    size_t n = (size_t)tt_numel(t) * elem;
    void *buf = malloc(n ? n : 1);
    if (!buf || tt_to_data(t, buf, n)) {
        fprintf(stderr, MODEL_PROG ": reading input '%s': %s\n", name, tt_last_error());
        exit(1);
    }
    return buf;
}

/* config from "k=v;k=v" */
static cfg *config_from(const char *overrides) {
    char *ov = strdup(overrides), *save = NULL, *items[64];
    int n = 0;
    for (char *s = strtok_r(ov, ";", &save); s && n < 64; s = strtok_r(NULL, ";", &save)) items[n++] = s;
    cfg *c = cfg_defaults(vr_schema, n, items);
    free(ov);
    return c;
}

/* The batch of the inputs "audio", "video", "text", "text_len" and the model's latent
 * normalisation "mean", "std" (set on m); host copies freed by parity_batch_free. */
static vr_batch parity_batch(tt_params *in, vr_model *m) {
    tt_tensor *audio = input(in, "audio"), *video = input(in, "video"), *text = input(in, "text");
    vr_batch b = {.B = (int)tt_size(audio, 0), .T = (int)tt_size(audio, 1), .D = (int)tt_size(audio, 2),
                  .Tv = (int)tt_size(video, 1), .Dv = (int)tt_size(video, 2), .max_text = (int)tt_size(text, 1)};
    b.audio = host(in, "audio", 4);
    b.video = host(in, "video", 4);
    b.text = host(in, "text", 1);
    b.text_len = host(in, "text_len", 4);
    m->norm_mean = host(in, "mean", 4);
    m->norm_std = host(in, "std", 4);
    return b;
}

static void parity_batch_free(vr_batch *b, vr_model *m) {
    free(b->audio);
    free(b->video);
    free(b->text);
    free(b->text_len);
    free((float *)m->norm_mean);
    free((float *)m->norm_std);
}

/* Every gradient of the parameters p and the inputs in, as "grad.<name>" in res. */
static void add_grads(tt_params *res, tt_params *p, tt_params *in) {
    tt_params *both[2] = {p, in};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < tt_params_count(both[k]); i++) {
            tt_tensor *t = tt_params_at(both[k], i);
            if (!tt_requires_grad(t) || !tt_has_grad(t)) continue;
            char name[300];
            snprintf(name, sizeof name, "grad.%s", tt_params_name(both[k], i));
            tt_params_add(res, name, tt_grad(t));
        }
}

/* ---- the self-tests' fixture: 3 clips of 8 frames x 3 channels, 4 video frames x 4 dims ---- */

enum { B = 3, T = 8, M = 3, TV = 4, DV = 4, MAXT = 6 };

typedef struct fixture {
    float audio[B * T * M], video[B * TV * DV];
    uint8_t text[B * MAXT];
    int text_len[B];
    int64_t clip[B];
} fixture;

static void fixture_fill(fixture *f) {
    for (int i = 0; i < B * T * M; i++) f->audio[i] = (float)sin(0.37 * i) * 2.0f + 0.5f;
    for (int i = 0; i < B * TV * DV; i++) f->video[i] = (float)cos(0.21 * i);
    memset(f->text, 0, sizeof f->text);
    memcpy(f->text, "warm", 4);
    memcpy(f->text + MAXT, "dark p", 6);
    f->text_len[0] = 4, f->text_len[1] = 6, f->text_len[2] = 0;
    for (int i = 0; i < B; i++) f->clip[i] = 10 + 7 * i;
}

/* clips [first, first + n) of the fixture as a batch */
static vr_batch batch_of(fixture *f, int first, int n) {
    return (vr_batch){.B = n, .T = T, .D = M, .Tv = TV, .Dv = DV, .max_text = MAXT, .epoch = 2,
                      .audio = f->audio + first * T * M, .video = f->video + first * TV * DV,
                      .text = f->text + first * MAXT, .text_len = f->text_len + first, .clip = f->clip + first};
}

/* The tiny model (MODEL_TINY + extra overrides) with random values everywhere (0.3 N(0,1)): the
 * init's zeros (adaLN-Zero) would hide the conditions. 0, or -1 with the error. */
static int make(vr_model *m, int n_extra, const char **extra) {
    const char *base[] = {MODEL_TINY};
    int nb = (int)(sizeof base / sizeof base[0]);
    const char *all[32];
    for (int i = 0; i < nb; i++) all[i] = base[i];
    for (int i = 0; i < n_extra; i++) all[nb + i] = extra[i];
    cfg *c = cfg_defaults(vr_schema, nb + n_extra, (char **)all);
    if (!c) return -1;
    tt_gen *g = tt_gen_new(3);
    memset(m, 0, sizeof *m);
    int rc = MODEL_OPS.init(m, c, g);
    tt_scope_begin();
    for (int i = 0; !rc && i < tt_params_count(m->params); i++) {
        tt_tensor *p = tt_params_at(m->params, i);
        int64_t shape[8];
        for (int k = 0; k < tt_ndim(p) && k < 8; k++) shape[k] = tt_size(p, k);
        tt_no_grad_begin();
        rc = tt_copy_(p, tt_mul_scalar(tt_randn(g, shape, tt_ndim(p), TT_F32), 0.3)) ? -1 : 0;
        tt_no_grad_end();
    }
    tt_scope_end();
    tt_gen_free(g);
    cfg_free(c);
    return rc;
}

static void destroy(vr_model *m) {
    MODEL_OPS.free_state(m);
    tt_params_free(m->params);
    m->params = NULL;
}

static double loss_of(vr_model *m, const vr_batch *b, int train) {
    double v = NAN;
    tt_scope_begin();
    tt_tensor *l = MODEL_OPS.loss(m, b, train, NULL, NULL);
    if (!l || tt_item(l, &v)) v = NAN;
    tt_scope_end();
    return v;
}

static double max_abs_diff(const tt_tensor *a, const tt_tensor *b) {
    double d = NAN;
    if (a && b && tt_numel(a) == tt_numel(b)) tt_item(tt_max_all(tt_abs(tt_sub(a, b))), &d);
    return d;
}

/* Parameters of m with no gradient (or an all-zero one) after a backward pass, each named on stderr. */
static int params_without_grad(const vr_model *m) {
    int missing = 0;
    for (int i = 0; i < tt_params_count(m->params); i++) {
        tt_tensor *p = tt_params_at(m->params, i);
        double gmax = 0;
        if (!tt_has_grad(p) || tt_item(tt_max_all(tt_abs(tt_grad(p))), &gmax) || !(gmax > 0)) {
            fprintf(stderr, "no gradient for %s\n", tt_params_name(m->params, i));
            missing++;
        }
    }
    return missing;
}

#endif
