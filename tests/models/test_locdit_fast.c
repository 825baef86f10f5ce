/* test_locdit_fast.c — the libtorch-free LocDiT sampler (models/locdit_fast.h) against the
 * libtorch path it replaces, on random weights (every parameter perturbed, so no adaLN-Zero
 * block is the identity):
 *
 *   for several shapes (the small model's among them; F = 1; heads of odd width): the velocity
 *   vs dit_fwd at several flow times, 20-step guided and 7-step unguided samples vs dit_sample
 *   (max abs error <= 1e-4), bit-identical repeats;
 *   robin_generate on a tiny model, C kernels (the default: LocDiT, planner and RITE blocks) vs
 *   opts.torch_dit: the whole clip's latent and conditions agree;
 *   bf16 (on CPUs with AVX512-BF16): the same checks against the fp32 path with a bound relative to
 *   the values (BF16_REL) and a floor that proves the bf16 arithmetic ran; its error is printed;
 *   bad shapes, step counts and parameters are refused with a message naming them; no handle leaks.
 *
 * usage: test_locdit_fast CONFIGS_DIR
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "models/locdit_fast.h"
#include "models/robin.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"
#include "tests/tt_testing.h"

static const double TOL = 1e-4;
/* bf16 (8 significant bits, ~0.4 % per rounding) through a few layers: the error against fp32,
 * relative to the largest value, stays within a few percent; below 1e-6 it would not be bf16 */
static const double BF16_REL = 0.02, BF16_FLOOR = 1e-6;

typedef struct shape {
    int d, heads, layers, frames, dim;
} shape;

static void test_shape(shape s, uint64_t seed) {
    int64_t live = tt_live_handles();
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(seed);
    locdit m;
    int ok = !dit_init(&m, p, "dit", s.d, s.heads, s.layers, s.frames, s.dim, g);
    CHECK(ok, "dit_init d %d", s.d);
    if (!ok) return;
    tt_test_perturb(p, 0.5 / sqrt(s.d), seed + 1); /* O(1) activations at every width */
    dit_fast *f = dit_fast_new(&m, 1, DIT_FP32), *f2 = dit_fast_new(&m, 2, DIT_FP32);
    CHECK(f && f2, "dit_fast_new d %d heads %d layers %d F %d M %d", s.d, s.heads, s.layers, s.frames, s.dim);
    tt_no_grad_begin();
    tt_scope_begin();
    enum { N = 4, B = 2 };
    int F = s.frames, M = s.dim, d = s.d;

    /* velocity at flow times across [0, 1] */
    tt_tensor *ctx = tt_randn(g, TT_SHAPE(N, F, M), TT_F32), *xt = tt_randn(g, TT_SHAPE(N, F, M), TT_F32);
    tt_tensor *c = tt_randn(g, TT_SHAPE(N, d), TT_F32);
    float t[N] = {0.0f, 0.37f, 0.8f, 0.95f};
    tt_tensor *want = dit_fwd(&m, ctx, xt, tt_from_data(t, TT_F32, TT_SHAPE(N)), c, 0.0, NULL);
    size_t nv = (size_t)N * F * M;
    float *hc = malloc(nv * sizeof *hc), *hx = malloc(nv * sizeof *hx), *hv = malloc(nv * sizeof *hv);
    float *cc = malloc((size_t)N * d * sizeof *cc);
    tt_to_data(ctx, hc, nv * sizeof *hc);
    tt_to_data(xt, hx, nv * sizeof *hx);
    tt_to_data(c, cc, (size_t)N * d * sizeof *cc);
    int rc = f ? dit_fast_velocity(f, N, hc, hx, t, cc, hv) : -1;
    double e = rc || !want ? INFINITY : tt_test_max_abs_diff(want, tt_from_data(hv, TT_F32, TT_SHAPE(N, F, M)));
    CHECK(e <= TOL, "d %d: velocity vs dit_fwd max abs error %.2e (max |v| %.2f)", d, e, want ? tt_test_max_abs(want) : 0);
    printf("d %3d heads %d layers %d F %d M %2d: velocity err %.2e (max |v| %.2f)", d, s.heads, s.layers, F, M, e,
           want ? tt_test_max_abs(want) : 0);

    /* samples: 20 steps with CFG, 7 without (a second step count refreshes the time embeddings),
     * Heun with and without CFG (its grid has the end point t = 1 too) */
    struct {
        int steps;
        double cfg;
        dit_solver solver;
    } runs[] = {{20, 2.0, DIT_EULER}, {7, 1.0, DIT_EULER}, {20, 3.5, DIT_EULER}, {10, 2.0, DIT_HEUN}, {5, 1.0, DIT_HEUN},
                {20, 2.0, DIT_EULER}};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        tt_tensor *sc = tt_slice(ctx, 0, 0, B, 1), *sx = tt_slice(xt, 0, 0, B, 1), *cb = tt_slice(c, 0, 0, B, 1);
        dit_solver so = runs[i].solver;
        tt_tensor *ref = dit_sample(&m, sc, cb, sx, runs[i].steps, so, runs[i].cfg);
        tt_tensor *got = f ? dit_fast_sample_tt(f, sc, cb, sx, runs[i].steps, so, runs[i].cfg) : NULL;
        e = ref && got ? tt_test_max_abs_diff(ref, got) : INFINITY;
        CHECK(e <= TOL, "d %d: %d-step %s sample (cfg %g) vs dit_sample max abs error %.2e", d, runs[i].steps,
              dit_solver_name(so), runs[i].cfg, e);
        printf(", %d %s steps cfg %g err %.2e (max |x| %.2f)", runs[i].steps, dit_solver_name(so), runs[i].cfg, e,
               ref ? tt_test_max_abs(ref) : 0);
        /* deterministic: the same bits again, and with the CFG branches on two threads */
        tt_tensor *again = f ? dit_fast_sample_tt(f, sc, cb, sx, runs[i].steps, so, runs[i].cfg) : NULL;
        CHECK(again && got && tt_test_max_abs_diff(again, got) == 0, "d %d: repeated sample is bit-identical", d);
        tt_tensor *two = f2 ? dit_fast_sample_tt(f2, sc, cb, sx, runs[i].steps, so, runs[i].cfg) : NULL;
        CHECK(two && got && tt_test_max_abs_diff(two, got) == 0, "d %d: sample on two threads is bit-identical", d);
    }
    printf("\n");

    /* bf16: close to fp32 relative to the values, not equal to them; deterministic on 1 and 2 threads */
    if (dit_fast_bf16_supported()) {
        dit_fast *fb = dit_fast_new(&m, 1, DIT_BF16), *fb2 = dit_fast_new(&m, 2, DIT_BF16);
        CHECK(fb && fb2, "dit_fast_new bf16 d %d", d);
        rc = fb ? dit_fast_velocity(fb, N, hc, hx, t, cc, hv) : -1;
        double vmax = want ? tt_test_max_abs(want) : 0;
        e = rc || !want ? INFINITY : tt_test_max_abs_diff(want, tt_from_data(hv, TT_F32, TT_SHAPE(N, F, M)));
        CHECK(e <= BF16_REL * vmax && e > BF16_FLOOR, "d %d: bf16 velocity error %.2e, expected in (%g, %g]", d, e,
              BF16_FLOOR, BF16_REL * vmax);
        printf("  bf16: velocity err %.2e (%.2f %% of max |v|)", e, 100 * e / vmax);
        tt_tensor *sc = tt_slice(ctx, 0, 0, B, 1), *sx = tt_slice(xt, 0, 0, B, 1), *cb = tt_slice(c, 0, 0, B, 1);
        for (int guided = 0; guided < 2; guided++) {
            double cfg = guided ? 2.0 : 1.0;
            tt_tensor *ref = f ? dit_fast_sample_tt(f, sc, cb, sx, 20, DIT_EULER, cfg) : NULL;
            tt_tensor *got = fb ? dit_fast_sample_tt(fb, sc, cb, sx, 20, DIT_EULER, cfg) : NULL;
            double xmax = ref ? tt_test_max_abs(ref) : 0;
            e = ref && got ? tt_test_max_abs_diff(ref, got) : INFINITY;
            CHECK(e <= BF16_REL * xmax && e > BF16_FLOOR, "d %d: bf16 20-step sample (cfg %g) error %.2e, expected in "
                  "(%g, %g]", d, cfg, e, BF16_FLOOR, BF16_REL * xmax);
            printf(", 20 steps cfg %g err %.2e (%.2f %% of max |x|)", cfg, e, 100 * e / xmax);
            tt_tensor *again = fb ? dit_fast_sample_tt(fb, sc, cb, sx, 20, DIT_EULER, cfg) : NULL;
            tt_tensor *two = fb2 ? dit_fast_sample_tt(fb2, sc, cb, sx, 20, DIT_EULER, cfg) : NULL;
            CHECK(got && again && two && tt_test_max_abs_diff(again, got) == 0 && tt_test_max_abs_diff(two, got) == 0,
                  "d %d: bf16 sample (cfg %g) bit-identical when repeated and on two threads", d, cfg);
        }
        printf("\n");
        dit_fast_free(fb);
        dit_fast_free(fb2);
    }
    free(hc);
    free(hx);
    free(hv);
    free(cc);
    tt_scope_end();
    tt_no_grad_end();
    dit_fast_free(f);
    dit_fast_free(f2);
    dit_free(&m);
    tt_params_free(p);
    tt_gen_free(g);
    CHECK(tt_live_handles() == live, "d %d: no handle leaks", d);
}

/* ---- inside robin_generate ---- */

enum { RM = 16, RDV = 31, RMAXT = 32 };

static void test_robin(const char *configs) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model/tiny.yaml", configs);
    char *ov[] = {"model.latent_dim=16", "model.rite_layers=2"};
    cfg *c = cfg_load(path, vr_schema, 2, ov);
    CHECK(c, "tiny config loads");
    if (!c) return;
    vr_model m = {.params = tt_params_new()};
    tt_gen *g = tt_gen_new(3);
    int ok = !robin_ops.init(&m, c, g);
    CHECK(ok, "tiny robin model");
    tt_gen_free(g);
    if (!ok) return;
    tt_test_perturb(m.params, 0.05, 4);

    enum { B = 2, P = 8, T = P * 5, TV = 8 };
    static const char *ids[] = {"clip-a", "clip-b"}, *caps[] = {"warm strings, slow arpeggios", "dark synth bass"};
    float video[B * TV * RDV];
    uint8_t text[B * RMAXT] = {0};
    int text_len[B];
    for (int i = 0; i < B * TV * RDV; i++) video[i] = (float)(0.5 + 0.4 * sin(0.37 * i));
    for (int i = 0; i < B; i++) {
        text_len[i] = (int)strlen(caps[i]);
        memcpy(text + i * RMAXT, caps[i], strlen(caps[i]));
    }
    vr_batch b = {.B = B, .T = T, .D = RM, .Tv = TV, .Dv = RDV, .max_text = RMAXT, .video = video, .text = text,
                  .text_len = text_len, .id = ids};
    int64_t live = tt_live_handles();
    tt_scope_begin();
    tt_gen *g1 = tt_gen_new(7), *g2 = tt_gen_new(7);
    tt_tensor *c1 = NULL, *c2 = NULL;
    tt_tensor *x1 = robin_generate(&m, &b, &(robin_gen_opts){.steps = 20, .cfg_scale = 2.0}, g1, &c1);
    tt_tensor *x2 = robin_generate(&m, &b, &(robin_gen_opts){.steps = 20, .cfg_scale = 2.0, .torch_dit = 1}, g2, &c2);
    double ex = x1 && x2 ? tt_test_max_abs_diff(x1, x2) : INFINITY, ec = c1 && c2 ? tt_test_max_abs_diff(c1, c2) : INFINITY;
    CHECK(ex <= TOL && ec <= TOL, "robin_generate, C kernels vs libtorch: latents differ by %.2e, conditions "
          "by %.2e", ex, ec);
    printf("robin_generate (tiny, %d clips x %d patches, 20 steps, CFG 2): C kernels vs libtorch (LocDiT, planner "
           "and RITE blocks): latent %.2e (max |x| %.2f), conditions %.2e\n", B, P, ex, x1 ? tt_test_max_abs(x1) : 0, ec);
    if (dit_fast_bf16_supported()) { /* the bf16 kernel through robin_generate: near the fp32 latent */
        tt_gen *g3 = tt_gen_new(7);
        robin_gen_opts ob = {.steps = 20, .cfg_scale = 2.0, .dit_bf16 = 1};
        tt_tensor *x3 = robin_generate(&m, &b, &ob, g3, NULL);
        double e3 = x1 && x3 ? tt_test_max_abs_diff(x1, x3) : INFINITY, xmax = x1 ? tt_test_max_abs(x1) : 0;
        CHECK(e3 <= BF16_REL * xmax && e3 > BF16_FLOOR, "robin_generate bf16 vs fp32: latent error %.2e, expected in "
              "(%g, %g]", e3, BF16_FLOOR, BF16_REL * xmax);
        printf("robin_generate bf16 vs fp32 kernel: latent %.2e (%.2f %% of max |x|)\n", e3, 100 * e3 / xmax);
        tt_gen_free(g3);
    }
    tt_gen *g4 = tt_gen_new(7);
    CHECK(!robin_generate(&m, &b, &(robin_gen_opts){.steps = 2, .dit_bf16 = 1, .torch_dit = 1}, g4, NULL) &&
              strstr(tt_last_error(), "bf16 sampling is a mode of the C LocDiT kernel"),
          "bf16 on the libtorch path refused: %s", tt_last_error());
    tt_gen_free(g4);
    tt_gen_free(g1);
    tt_gen_free(g2);
    tt_scope_end();
    CHECK(tt_live_handles() == live, "robin_generate with the C kernel leaks no handles");
    robin_ops.free_state(&m);
    tt_params_free(m.params);
    cfg_free(c);
}

/* ---- refusals ---- */

static void test_errors(void) {
    int64_t live = tt_live_handles();
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(1);
    locdit m;
    if (dit_init(&m, p, "dit", 16, 2, 1, 3, 4, g)) {
        CHECK(0, "dit_init");
        return;
    }
    tt_scope_begin();
    dit_fast *f = dit_fast_new(&m, 1, DIT_FP32);
    tt_tensor *x = tt_zeros(TT_SHAPE(2, 3, 4), TT_F32), *c = tt_zeros(TT_SHAPE(2, 16), TT_F32);
    struct {
        tt_tensor *ctx, *c, *x;
        const char *what;
    } bad[] = {
        {x, c, tt_zeros(TT_SHAPE(2, 4, 4), TT_F32), "x0 of 4 frames"},
        {x, c, tt_zeros(TT_SHAPE(2, 3, 5), TT_F32), "x0 of 5 channels"},
        {tt_zeros(TT_SHAPE(3, 3, 4), TT_F32), c, x, "ctx of another batch"},
        {x, tt_zeros(TT_SHAPE(2, 15), TT_F32), x, "c of width 15"},
        {x, c, tt_zeros(TT_SHAPE(6, 4), TT_F32), "x0 of 2 dims"},
    };
    for (size_t i = 0; f && i < sizeof bad / sizeof *bad; i++) {
        tt_tensor *y = dit_fast_sample_tt(f, bad[i].ctx, bad[i].c, bad[i].x, 4, DIT_EULER, 2.0);
        CHECK(!y && strstr(tt_last_error(), "expected x0 and ctx [B, 3, 4] and c [B, 16]"), "%s refused: %s",
              bad[i].what, tt_last_error());
    }
    CHECK(f && !dit_fast_sample_tt(f, x, c, x, 0, DIT_EULER, 2.0) && strstr(tt_last_error(), "0 steps"),
          "0 steps refused: %s", tt_last_error());
    CHECK(!dit_fast_sample_tt(f, x, c, NULL, 4, DIT_EULER, 2.0), "a NULL input (failed op upstream) gives NULL");
    CHECK(f && !dit_fast_sample_tt(f, x, c, x, 4, (dit_solver)7, 2.0) && strstr(tt_last_error(), "unknown solver"),
          "an unknown solver is refused");
    CHECK(f && dit_fast_velocity(f, 0, NULL, NULL, NULL, NULL, NULL) == -1 && strstr(tt_last_error(), "0 rows"),
          "velocity of 0 rows refused: %s", tt_last_error());
    /* a parameter of the wrong shape is named */
    locdit wrong = m;
    wrong.out.w = tt_zeros(TT_SHAPE(5, 16), TT_F32);
    dit_fast *fw = dit_fast_new(&wrong, 1, DIT_FP32);
    CHECK(!fw && strstr(tt_last_error(), "dit.out.weight") && strstr(tt_last_error(), "expected [4, 16]"),
          "wrong out.weight refused: %s", tt_last_error());
    dit_fast_free(fw);
    CHECK(!dit_fast_new(&m, 1, (dit_precision)3) && strstr(tt_last_error(), "unknown precision 3"),
          "an unknown precision is refused: %s", tt_last_error());
    if (!dit_fast_bf16_supported()) {
        CHECK(!dit_fast_new(&m, 1, DIT_BF16) && strstr(tt_last_error(), "AVX512-BF16"),
              "bf16 on a CPU without AVX512-BF16 is refused: %s", tt_last_error());
    }
    wrong = m;
    wrong.d = 15;
    CHECK(!dit_fast_new(&wrong, 1, DIT_FP32) && strstr(tt_last_error(), "d 15"), "odd width refused: %s",
          tt_last_error());
    dit_fast_free(f);
    tt_scope_end();
    dit_free(&m);
    tt_params_free(p);
    tt_gen_free(g);
    CHECK(tt_live_handles() == live, "refusals leak no handles");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIGS_DIR\n", argv[0]);
        return 2;
    }
    shape shapes[] = {
        {32, 2, 2, 5, 16},  /* tiny */
        {48, 3, 1, 1, 7},   /* one frame per patch, heads of width 16, odd channels */
        {40, 4, 3, 3, 10},  /* heads of width 10 (not a multiple of 8) */
        {256, 4, 4, 5, 64}, /* small: the benchmark's shape */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) test_shape(shapes[i], 100 + i);
    test_robin(argv[1]);
    test_errors();
    return check_summary();
}
