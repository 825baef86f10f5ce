/* test_optim.c — the optimiser pieces of train/optim.h: schedule values, torch's clip coefficient,
 * gradient gathering (accumulation, parameters without a gradient, non-finite detection), and 12
 * AdamW + clipping + EMA steps against a float64 re-implementation written out here.
 *
 * `test_optim --dump DIR` also writes DIR/optim_case.safetensors (initial weights, every step's
 * gradients, learning rates and norms, final weights, moments and EMA), which
 * tests/python/train_reference.py replays with torch.optim.AdamW and clip_grad_norm_.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "core/tt.h"
#include "tests/check.h"
#include "train/optim.h"

#define K 12 /* steps */
#define NP 4 /* parameters */
static const char *NAMES[NP] = {"a", "b", "c", "frozen"};
static const int64_t SHAPES[NP][2] = {{16, 8}, {16, 1}, {4, 16}, {5, 1}};
static const int NDIM[NP] = {2, 1, 2, 1};
static const vr_adamw_opts OPTS = {0.9, 0.95, 1e-8, 0.1};
static const double LR = 0.05, MIN_RATIO = 0.1, MAX_NORM = 1.0, EMA_DECAY = 0.8;
static const int WARMUP = 3;

static int64_t numel(int i) { return SHAPES[i][0] * SHAPES[i][1]; }
/* "frozen" gets a gradient on even steps only: torch skips a parameter whose grad is None */
static int used(int i, int k) { return i != 3 || k % 2 == 0; }

static double rel_err(const double *ref, const float *got, int64_t n) {
    double num = 0, den = 0;
    for (int64_t j = 0; j < n; j++) {
        num = fmax(num, fabs(ref[j] - got[j]));
        den = fmax(den, fabs(ref[j]));
    }
    return num / (den > 0 ? den : 1);
}

static void test_schedule(void) {
    CHECK(fabs(vr_lr_at(0, 100, 10, 1.0, 0.1) - 0.1) < 1e-15, "warmup starts at lr/warmup");
    CHECK(fabs(vr_lr_at(9, 100, 10, 1.0, 0.1) - 1.0) < 1e-15, "warmup ends at lr");
    CHECK(fabs(vr_lr_at(10, 100, 10, 1.0, 0.1) - 1.0) < 1e-15, "cosine starts at lr");
    CHECK(fabs(vr_lr_at(55, 100, 10, 1.0, 0.1) - 0.55) < 1e-12, "cosine midpoint: %g", vr_lr_at(55, 100, 10, 1.0, 0.1));
    CHECK(fabs(vr_lr_at(100, 100, 10, 1.0, 0.1) - 0.1) < 1e-12, "cosine ends at min_lr_ratio * lr");
    CHECK(fabs(vr_lr_at(0, 10, 0, 2.0, 0.0) - 2.0) < 1e-15, "no warmup: full lr at step 0");
    double prev = 1e9;
    int mono = 1;
    for (int s = 10; s <= 100; s++) {
        double v = vr_lr_at(s, 100, 10, 1.0, 0.1);
        mono &= v <= prev;
        prev = v;
    }
    CHECK(mono, "cosine decays monotonically");
}

static void test_clip_coef(void) {
    CHECK(fabs(vr_clip_coef(10.0, 1.0) - 0.1) < 1e-7, "coef 1/10: %.9g", vr_clip_coef(10.0, 1.0));
    CHECK(vr_clip_coef(0.5, 1.0) == 1.0, "no clipping below max_norm");
    CHECK(vr_clip_coef(1e6, 0.0) == 1.0, "max_norm 0 disables clipping");
    /* torch: (1 / float32(norm + 1e-6)) * max_norm in float32 */
    float want = (1.0f / (3.0f + (float)1e-6)) * 2.0f;
    CHECK(vr_clip_coef(3.0, 2.0) == (double)want, "float32 like torch: %.9g vs %.9g", vr_clip_coef(3.0, 2.0),
          (double)want);
}

static tt_params *make_params(tt_gen *g) {
    tt_params *p = tt_params_new();
    for (int i = 0; i < NP; i++) tt_params_add(p, NAMES[i], tt_randn(g, SHAPES[i], NDIM[i], TT_F32));
    return p;
}

static void test_gather(void) {
    tt_gen *g = tt_gen_new(5);
    tt_params *p = make_params(g);
    vr_optim *o = vr_optim_new(p, &OPTS);
    CHECK(o != NULL, "optimiser created");
    if (!o) return;
    float *g1 = malloc(sizeof(float) * (size_t)o->offset[NP]), *g2 = malloc(sizeof(float) * (size_t)o->offset[NP]);
    /* two micro-batches; "frozen" is not in the loss */
    for (int pass = 0; pass < 2; pass++) {
        tt_scope_begin();
        tt_tensor *loss = NULL;
        for (int i = 0; i < 3; i++) {
            tt_tensor *G = tt_randn(g, SHAPES[i], NDIM[i], TT_F32);
            tt_to_data(G, (pass ? g2 : g1) + o->offset[i], sizeof(float) * (size_t)numel(i));
            tt_tensor *term = tt_sum_all(tt_mul(tt_params_at(p, i), G));
            loss = loss ? tt_add(loss, term) : term;
        }
        CHECK(tt_backward(loss) == 0, "backward: %s", tt_last_error());
        tt_scope_end();
        CHECK(vr_optim_gather_grads(o, pass) == 0, "gather pass %d", pass);
    }
    int exact = 1;
    for (int64_t j = 0; j < o->offset[3]; j++) exact &= o->grad[j] == g1[j] + g2[j];
    CHECK(exact, "accumulated gradients are the float sums of the micro-batches'");
    CHECK(o->has_grad[0] && o->has_grad[2] && !o->has_grad[3], "flags: a, c have gradients, frozen none");
    int zero = 1;
    for (int64_t j = o->offset[3]; j < o->offset[4]; j++) zero &= o->grad[j] == 0;
    CHECK(zero, "a parameter without a gradient contributes zeros");
    CHECK(!tt_has_grad(tt_params_at(p, 0)), "the .grad tensors are dropped after gathering");
    CHECK(vr_optim_first_nonfinite(o) == -1, "all finite");
    o->grad[o->offset[2] + 3] = INFINITY;
    CHECK(vr_optim_first_nonfinite(o) == 2, "the non-finite gradient is found in parameter 2");
    CHECK(!isfinite(vr_optim_grad_norm(o)), "the norm of a non-finite gradient is not finite");
    free(g1);
    free(g2);
    vr_optim_free(o);
    tt_params_free(p);

    tt_params *bad = tt_params_new();
    tt_params_add(bad, "half", tt_zeros(TT_SHAPE(3), TT_F64));
    CHECK(vr_optim_new(bad, &OPTS) == NULL && strstr(vr_error(), "half") && strstr(vr_error(), "float32"),
          "a float64 parameter is refused by name: %s", vr_error());
    tt_params_free(bad);
    tt_gen_free(g);
}

/* 12 steps of gather -> clip -> AdamW -> EMA against float64 maths; optionally dumped. */
static void test_steps(const char *dump_dir) {
    tt_gen *g = tt_gen_new(11);
    tt_params *p = make_params(g);
    vr_optim *o = vr_optim_new(p, &OPTS);
    tt_params *ema = vr_ema_new(p);
    CHECK(o && ema, "optimiser and EMA created");
    if (!o || !ema) return;
    int64_t N = o->offset[NP];
    double *rp = calloc((size_t)N, sizeof *rp), *rm = calloc((size_t)N, sizeof *rm),
           *rv = calloc((size_t)N, sizeof *rv);
    double *re = calloc((size_t)N, sizeof *re);
    float *init = calloc((size_t)N, sizeof *init), *grads = calloc((size_t)N * K, sizeof *grads);
    double lrs[K], norms[K];
    int steps_done[NP] = {0};
    for (int i = 0; i < NP; i++) tt_to_data(tt_params_at(p, i), init + o->offset[i], sizeof(float) * (size_t)numel(i));
    for (int64_t j = 0; j < N; j++) rp[j] = re[j] = init[j];
    int clipped = 0;
    for (int k = 0; k < K; k++) {
        double scale = 0.05 * (k % 3 + 1) * (k % 3 + 1); /* some steps clip, some do not */
        tt_scope_begin();
        tt_tensor *loss = NULL;
        for (int i = 0; i < NP; i++) {
            if (!used(i, k)) continue;
            tt_tensor *G = tt_mul_scalar(tt_randn(g, SHAPES[i], NDIM[i], TT_F32), scale);
            tt_to_data(G, grads + (size_t)k * (size_t)N + (size_t)o->offset[i], sizeof(float) * (size_t)numel(i));
            tt_tensor *term = tt_sum_all(tt_mul(tt_params_at(p, i), G));
            loss = loss ? tt_add(loss, term) : term;
        }
        tt_backward(loss);
        tt_scope_end();
        CHECK(vr_optim_gather_grads(o, 0) == 0, "gather step %d", k);
        norms[k] = vr_optim_grad_norm(o);
        double coef = vr_clip_coef(norms[k], MAX_NORM);
        clipped += coef < 1;
        vr_optim_scale_grads(o, coef);
        lrs[k] = vr_lr_at(k, K, WARMUP, LR, MIN_RATIO);
        CHECK(vr_optim_step(o, lrs[k]) == 0, "step %d: %s", k, vr_error());
        CHECK(vr_ema_update(ema, p, EMA_DECAY) == 0, "EMA step %d", k);
        /* float64 reference */
        const float *gk = grads + (size_t)k * (size_t)N;
        double ss = 0;
        for (int64_t j = 0; j < N; j++) ss += (double)gk[j] * gk[j];
        double c = MAX_NORM / (sqrt(ss) + 1e-6);
        if (c > 1) c = 1;
        for (int i = 0; i < NP; i++) {
            if (used(i, k)) {
                int t = ++steps_done[i];
                double bc1 = 1 - pow(OPTS.beta1, t), bc2 = 1 - pow(OPTS.beta2, t);
                for (int64_t j = o->offset[i]; j < o->offset[i + 1]; j++) {
                    double gj = gk[j] * c;
                    rp[j] *= 1 - lrs[k] * OPTS.weight_decay;
                    rm[j] = OPTS.beta1 * rm[j] + (1 - OPTS.beta1) * gj;
                    rv[j] = OPTS.beta2 * rv[j] + (1 - OPTS.beta2) * gj * gj;
                    rp[j] -= lrs[k] / bc1 * rm[j] / (sqrt(rv[j]) / sqrt(bc2) + OPTS.eps);
                }
            }
            for (int64_t j = o->offset[i]; j < o->offset[i + 1]; j++)
                re[j] = EMA_DECAY * re[j] + (1 - EMA_DECAY) * rp[j];
        }
    }
    CHECK(clipped > 0 && clipped < K, "clipping was active on some steps only (%d of %d)", clipped, K);
    CHECK(o->count[0] == K && o->count[3] == K / 2, "per-parameter update counts %lld and %lld",
          (long long)o->count[0], (long long)o->count[3]);
    float *got = calloc((size_t)N, sizeof *got), *got_ema = calloc((size_t)N, sizeof *got_ema);
    float *got_m = calloc((size_t)N, sizeof *got_m), *got_v = calloc((size_t)N, sizeof *got_v);
    for (int i = 0; i < NP; i++) {
        size_t nb = sizeof(float) * (size_t)numel(i);
        tt_to_data(tt_params_at(p, i), got + o->offset[i], nb);
        tt_to_data(tt_params_at(ema, i), got_ema + o->offset[i], nb);
        tt_to_data(o->m[i], got_m + o->offset[i], nb);
        tt_to_data(o->v[i], got_v + o->offset[i], nb);
    }
    double ep = rel_err(rp, got, N), ee = rel_err(re, got_ema, N), em = rel_err(rm, got_m, N),
           ev = rel_err(rv, got_v, N);
    printf("float64 reference after %d steps: rel err weights %.2e, EMA %.2e, exp_avg %.2e, exp_avg_sq %.2e\n", K, ep,
           ee, em, ev);
    CHECK(ep < 1e-5 && ee < 1e-5 && em < 1e-5 && ev < 1e-5, "AdamW/EMA match float64 maths");
    int frozen_moved = 0;
    for (int64_t j = o->offset[3]; j < o->offset[4]; j++) frozen_moved |= got[j] != init[j];
    CHECK(frozen_moved && steps_done[3] == K / 2, "the sometimes-unused parameter was updated on its %d steps only",
          steps_done[3]);

    if (dump_dir) {
        st_writer *w = st_writer_new();
        char key[64], val[32];
        const char *mk[] = {"beta1", "beta2", "eps", "weight_decay", "max_norm", "ema_decay", "steps"};
        double mv[] = {OPTS.beta1, OPTS.beta2, OPTS.eps, OPTS.weight_decay, MAX_NORM, EMA_DECAY, K};
        for (int i = 0; i < 7; i++) {
            snprintf(val, sizeof val, "%.17g", mv[i]);
            st_writer_meta(w, mk[i], val);
        }
        int64_t kk = K;
        st_writer_add(w, "lr", ST_F64, 1, &kk, lrs, sizeof lrs);
        st_writer_add(w, "norm", ST_F64, 1, &kk, norms, sizeof norms);
        for (int i = 0; i < NP; i++) {
            size_t nb = sizeof(float) * (size_t)numel(i), off = (size_t)o->offset[i];
            const char *groups[] = {"init", "final", "ema", "exp_avg", "exp_avg_sq"};
            const float *src[] = {init, got, got_ema, got_m, got_v};
            for (int gi = 0; gi < 5; gi++) {
                snprintf(key, sizeof key, "%s.%s", groups[gi], NAMES[i]);
                st_writer_add(w, key, ST_F32, NDIM[i], SHAPES[i], src[gi] + off, nb);
            }
            for (int k = 0; k < K; k++)
                if (used(i, k)) {
                    snprintf(key, sizeof key, "grad.%d.%s", k, NAMES[i]);
                    st_writer_add(w, key, ST_F32, NDIM[i], SHAPES[i], grads + (size_t)k * (size_t)N + off, nb);
                }
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/optim_case.safetensors", dump_dir);
        CHECK(st_writer_write(w, path) == 0, "dump %s", path);
        st_writer_free(w);
    }
    free(rp), free(rm), free(rv), free(re), free(init), free(grads);
    free(got), free(got_ema), free(got_m), free(got_v);
    tt_params_free(ema);
    vr_optim_free(o);
    tt_params_free(p);
    tt_gen_free(g);
}

int main(int argc, char **argv) {
    const char *dump = argc == 3 && !strcmp(argv[1], "--dump") ? argv[2] : NULL;
    test_schedule();
    test_clip_coef();
    test_gather();
    test_steps(dump);
    return check_summary();
}
