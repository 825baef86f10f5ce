/* bench_robin.c — sizes and speed of the Video-Robin model (a measurement tool, not a test).
 *
 * Usage: bench_robin CONFIGS_DIR [steps] [--gen]
 * Prints the parameter count of configs/model/{tiny,small,base}.yaml, then times `small` on a
 * synthetic batch of 8 10-s clips (500 log-mel frames x 64, 100 video frames x 31, 60-byte
 * captions): forward + backward of the training loss, median of `steps` (default 3) after one
 * warm-up, with 1 torch thread (OpenBLAS threads: OPENBLAS_NUM_THREADS). --gen also times the
 * generation of one clip (20 Euler steps, CFG 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/robin.h"

static int die(const char *what) {
    fprintf(stderr, "bench_robin: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CONFIGS_DIR [steps] [--gen]\n", argv[0]);
        return 2;
    }
    int steps = argc > 2 && strcmp(argv[2], "--gen") ? atoi(argv[2]) : 3, gen = 0;
    for (int i = 2; i < argc; i++) gen |= !strcmp(argv[i], "--gen");
    if (steps < 1) steps = 1;
    tt_set_num_threads(1);

    const char *sizes[] = {"tiny", "small", "base"};
    vr_model small = {0};
    for (int s = 0; s < 3; s++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/model/%s.yaml", argv[1], sizes[s]);
        cfg *c = cfg_load(path, vr_schema, 0, NULL);
        if (!c) return die(path);
        vr_model m = {.params = tt_params_new()};
        tt_gen *g = tt_gen_new(1);
        if (robin_ops.init(&m, c, g)) return die(path);
        printf("%-5s d %3lld, layers text/planner/rite/dit %lld/%lld/%lld/%lld: %lld parameters\n", sizes[s],
               (long long)cfg_int(c, "model.d_model"), (long long)cfg_int(c, "model.text_layers"),
               (long long)cfg_int(c, "model.planner_layers"), (long long)cfg_int(c, "model.rite_layers"),
               (long long)cfg_int(c, "model.dit_layers"), (long long)tt_params_numel(m.params));
        tt_gen_free(g);
        cfg_free(c);
        if (s == 1) {
            small = m;
        } else {
            robin_ops.free_state(&m);
            tt_params_free(m.params);
        }
    }

    /* a batch of 8 clips of noise-like log-mels: the cost does not depend on the values */
    enum { B = 8, T = 500, M = 64, TV = 100, DV = 31, MAXT = 256 };
    static float audio[B * T * M], video[B * TV * DV];
    static uint8_t text[B * MAXT];
    int text_len[B];
    vr_rng r;
    vr_rng_seed(&r, 1);
    for (size_t i = 0; i < sizeof audio / sizeof *audio; i++) audio[i] = (float)vr_rng_normal(&r);
    for (size_t i = 0; i < sizeof video / sizeof *video; i++) video[i] = (float)vr_rng_uniform(&r);
    for (int b = 0; b < B; b++) {
        text_len[b] = 60;
        for (int j = 0; j < 60; j++) text[b * MAXT + j] = (uint8_t)('a' + vr_rng_below(&r, 26));
    }
    vr_batch batch = {.B = B, .T = T, .D = M, .Tv = TV, .Dv = DV, .max_text = MAXT, .audio = audio, .video = video,
                      .text = text, .text_len = text_len};
    tt_gen *g = tt_gen_new(2);
    double times[64];
    if (steps > 64) steps = 64;
    for (int i = -1; i < steps; i++) {
        double t0 = vr_now();
        tt_scope_begin();
        tt_tensor *loss = robin_ops.loss(&small, &batch, 1, g, NULL);
        if (!loss || tt_backward(loss)) return die("small forward/backward");
        tt_scope_end();
        for (int p = 0; p < tt_params_count(small.params); p++) tt_zero_grad(tt_params_at(small.params, p));
        if (i >= 0) times[i] = vr_now() - t0;
    }
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    printf("small, batch 8 x 10 s: forward + backward %.3f s (median of %d; min %.3f, max %.3f), 1 torch thread\n",
           times[steps / 2], steps, times[0], times[steps - 1]);

    if (gen) {
        vr_batch one = batch;
        one.B = 1;
        double t0 = vr_now();
        tt_scope_begin();
        tt_tensor *x = robin_generate(&small, &one, NULL, g, NULL);
        if (!x) return die("small generation");
        tt_scope_end();
        printf("small, generation of one 10-s clip (100 patches, 20 Euler steps, CFG 2): %.2f s\n", vr_now() - t0);
    }
    tt_gen_free(g);
    robin_ops.free_state(&small);
    tt_params_free(small.params);
    return 0;
}
