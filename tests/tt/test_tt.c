/* test_tt.c — unit tests of the libtorch wrapper's contract: errors never escape and read
 * well, NULLs propagate the root cause, scopes free what they should, generator state
 * round-trips, and the numeric ops the models and metrics rely on are right. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tt.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"

static double item(tt_tensor *t) {
    double v = NAN;
    tt_item(t, &v);
    return v;
}

static void test_errors(void) {
    tt_scope_begin();
    tt_clear_error();
    tt_tensor *a = tt_zeros(TT_SHAPE(3, 4), TT_F32), *b = tt_zeros(TT_SHAPE(5, 6), TT_F32);
    tt_tensor *c = tt_matmul(a, b);
    CHECK(c == NULL, "matmul of 3x4 by 5x6 must fail");
    CHECK(strstr(tt_last_error(), "tt_matmul") && strstr(tt_last_error(), "3x4 and 5x6"),
          "message names the op and shapes: '%s'", tt_last_error());
    /* a chain: the NULL travels and the first failure's message survives */
    tt_tensor *d = tt_gelu(tt_add_scalar(c, 1.0), 0);
    CHECK(d == NULL && strstr(tt_last_error(), "3x4 and 5x6"), "NULL propagates with the root cause");
    tt_clear_error();
    CHECK(tt_relu(NULL) == NULL && strstr(tt_last_error(), "tt_relu: argument"), "NULL argument is named");
    tt_clear_error();
    float buf[3];
    CHECK(tt_to_data(a, buf, sizeof buf) == -1 && strstr(tt_last_error(), "needs 48"), "to_data size check");
    CHECK(tt_reshape(a, TT_SHAPE(5, 5)) == NULL && strstr(tt_last_error(), "tt_reshape"), "bad reshape");
    CHECK(tt_item(a, &(double){0}) == -1 && strstr(tt_last_error(), "12 elements"), "item of a non-scalar");
    CHECK(tt_cat(NULL, 0, 0) == NULL && strstr(tt_last_error(), "empty"), "empty cat");
    CHECK(tt_backward(a) == -1, "backward of a non-scalar fails");
    CHECK(tt_grad(a) == NULL && strstr(tt_last_error(), "no gradient"), "grad of a tensor without one");
    CHECK(tt_zeros(TT_SHAPE(-1), TT_F32) == NULL, "negative size fails cleanly");
    tt_tensor *idx = tt_full(TT_SHAPE(2), 7, TT_I64);
    CHECK(tt_embedding(tt_zeros(TT_SHAPE(3, 2), TT_F32), idx) == NULL, "embedding index out of range fails");
    tt_scope_end();
}

static void test_scopes(void) {
    int64_t base = tt_live_handles();
    tt_tensor *kept;
    tt_scope_begin();
    tt_tensor *a = tt_ones(TT_SHAPE(4), TT_F32);
    tt_scope_begin();
    tt_tensor *b = tt_add(a, a);
    for (int i = 0; i < 100; i++) tt_mul_scalar(b, 2.0);
    kept = tt_keep(tt_mul_scalar(b, 3.0)); /* moves to the outer scope */
    tt_scope_end();
    CHECK(tt_live_handles() == base + 2, "inner scope freed its temporaries (live %lld)",
          (long long)(tt_live_handles() - base));
    CHECK(fabs(item(tt_sum_all(kept)) - 24.0) < 1e-6, "kept tensor still valid");
    tt_keep(kept); /* to caller ownership */
    tt_scope_end();
    CHECK(tt_live_handles() == base + 1, "outer scope freed, kept one left");
    tt_free(kept);
    CHECK(tt_live_handles() == base, "all freed");
    tt_free(NULL);

    tt_params *p = tt_params_new();
    tt_scope_begin();
    tt_tensor *w = tt_params_add(p, "layer.w", tt_zeros(TT_SHAPE(2, 2), TT_F32));
    tt_scope_end();
    CHECK(tt_params_get(p, "layer.w") == w && tt_requires_grad(w), "params survive scopes and require grad");
    CHECK(tt_params_add(p, "layer.w", tt_zeros(TT_SHAPE(1), TT_F32)) == NULL &&
              strstr(tt_last_error(), "duplicate parameter name 'layer.w'"),
          "duplicate names rejected");
    CHECK(tt_params_numel(p) == 4 && tt_params_count(p) == 1, "params bookkeeping");
    tt_free(w); /* ignored: owned by the registry */
    tt_params_free(p);
    CHECK(tt_live_handles() == base, "registry freed its tensors");
}

static void test_autograd_and_gen(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(42);
    int64_t n = tt_gen_get_state(g, NULL, 0);
    unsigned char *state = malloc((size_t)n);
    tt_gen_get_state(g, state, (size_t)n);
    tt_tensor *r1 = tt_randn(g, TT_SHAPE(8), TT_F32);
    tt_gen_set_state(g, state, (size_t)n);
    tt_tensor *r2 = tt_randn(g, TT_SHAPE(8), TT_F32);
    CHECK(item(tt_max_all(tt_abs(tt_sub(r1, r2)))) == 0.0, "restored generator repeats its numbers");
    tt_gen *g2 = tt_gen_new(42);
    CHECK(item(tt_max_all(tt_abs(tt_sub(r1, tt_randn(g2, TT_SHAPE(8), TT_F32))))) == 0.0, "same seed, same numbers");
    free(state);

    /* d/dx sum(x^2 * 3) = 6x */
    tt_tensor *x = tt_arange(0, 5, 1, TT_F32);
    tt_set_requires_grad(x, 1);
    CHECK(tt_backward(tt_sum_all(tt_mul_scalar(tt_square(x), 3.0))) == 0, "backward");
    CHECK(fabs(item(tt_sum_all(tt_grad(x))) - 60.0) < 1e-5, "gradient of 3x^2");
    /* straight-through rounding passes the gradient unchanged */
    tt_tensor *y = tt_mul_scalar(tt_arange(0, 4, 1, TT_F32), 0.3);
    tt_tensor *leaf = tt_detach(y);
    tt_set_requires_grad(leaf, 1);
    tt_backward(tt_sum_all(tt_round_ste(leaf)));
    CHECK(fabs(item(tt_sum_all(tt_grad(leaf))) - 4.0) < 1e-6, "round_ste gradient is identity");
    tt_no_grad_begin();
    tt_tensor *z = tt_mul_scalar(x, 2.0);
    tt_no_grad_end();
    CHECK(!tt_requires_grad(z), "no_grad disables graph building");

    /* dropout is deterministic given the generator state */
    tt_gen *ga = tt_gen_new(7), *gb = tt_gen_new(7);
    tt_tensor *ones = tt_ones(TT_SHAPE(1000), TT_F32);
    tt_tensor *da = tt_dropout(ones, 0.25, 1, ga), *db = tt_dropout(ones, 0.25, 1, gb);
    CHECK(item(tt_max_all(tt_abs(tt_sub(da, db)))) == 0.0, "dropout reproducible");
    double kept = item(tt_mean_all(tt_to_dtype(tt_gt_scalar(da, 0.5), TT_F32)));
    CHECK(kept > 0.7 && kept < 0.8, "dropout keeps ~75%% (%.3f)", kept);
    tt_gen_free(ga);
    tt_gen_free(gb);
    tt_gen_free(g);
    tt_gen_free(g2);
    tt_scope_end();
}

static void test_numerics(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(1);
    /* eigh in float64 reconstructs a symmetric matrix */
    tt_tensor *m = tt_randn(g, TT_SHAPE(6, 6), TT_F64);
    tt_tensor *s = tt_add(m, tt_transpose(m, 0, 1));
    tt_tensor *evals = NULL, *evecs = NULL;
    CHECK(tt_linalg_eigh(s, &evals, &evecs) == 0, "eigh");
    tt_tensor *rec = tt_matmul(tt_mul(evecs, tt_unsqueeze(evals, 0)), tt_transpose(evecs, 0, 1));
    CHECK(item(tt_max_all(tt_abs(tt_sub(rec, s)))) < 1e-12, "V diag(w) V^T == A in float64");
    CHECK(tt_dtype_of(evals) == TT_F64, "eigh stays float64");

    /* stft/istft round trip */
    tt_tensor *wave = tt_randn(g, TT_SHAPE(16000), TT_F32);
    tt_tensor *spec = tt_stft(wave, 1024, 320, 1024, NULL, 1);
    CHECK(spec && tt_size(spec, 0) == 513 && tt_dtype_of(spec) == TT_C64, "stft shape [513, T] complex");
    tt_tensor *back = tt_istft(tt_polar(tt_abs(spec), tt_angle(spec)), 1024, 320, 1024, NULL, 1, 16000);
    CHECK(tt_size(back, 0) == 16000 && item(tt_max_all(tt_abs(tt_sub(back, wave)))) < 1e-4,
          "istft(stft(x)) == x (err %g)", item(tt_max_all(tt_abs(tt_sub(back, wave)))));

    /* causal attention aligned at the end: the last query of a KV-cached step equals the
     * last row of full causal attention */
    tt_tensor *q = tt_randn(g, TT_SHAPE(1, 2, 5, 8), TT_F32);
    tt_tensor *k = tt_randn(g, TT_SHAPE(1, 2, 5, 8), TT_F32);
    tt_tensor *v = tt_randn(g, TT_SHAPE(1, 2, 5, 8), TT_F32);
    tt_tensor *full = tt_attention(q, k, v, NULL, 1, 0);
    tt_tensor *last = tt_attention(tt_slice(q, 2, 4, 5, 1), k, v, NULL, 1, 0);
    CHECK(item(tt_max_all(tt_abs(tt_sub(tt_slice(full, 2, 4, 5, 1), last)))) < 1e-6, "cached step == full last row");
    tt_tensor *first =
        tt_attention(tt_slice(q, 2, 0, 1, 1), tt_slice(k, 2, 0, 1, 1), tt_slice(v, 2, 0, 1, 1), NULL, 1, 0);
    CHECK(item(tt_max_all(tt_abs(tt_sub(tt_slice(full, 2, 0, 1, 1), first)))) < 1e-6, "first query sees only key 0");
    tt_tensor *allow = tt_ones(TT_SHAPE(5, 5), TT_BOOL);
    tt_tensor *masked = tt_attention(q, k, v, tt_tril(allow, 0), 0, 0);
    CHECK(item(tt_max_all(tt_abs(tt_sub(full, masked)))) < 1e-6, "bool mask == causal flag");

    /* softmax, layer norm and rms norm basics */
    tt_tensor *row = tt_arange(0, 4, 1, TT_F32);
    CHECK(fabs(item(tt_sum_all(tt_softmax(row, 0))) - 1.0) < 1e-6, "softmax sums to 1");
    tt_tensor *ln = tt_layer_norm(tt_randn(g, TT_SHAPE(3, 64), TT_F32), NULL, NULL, 1e-5);
    CHECK(fabs(item(tt_mean_all(ln))) < 1e-5, "layer norm centres");
    tt_tensor *rn = tt_rms_norm(tt_full(TT_SHAPE(2, 8), 3.0, TT_F32), NULL, 0);
    CHECK(fabs(item(tt_mean_all(rn)) - 1.0) < 1e-6, "rms norm of a constant is 1");

    /* data in and out */
    float src[6] = {1, 2, 3, 4, 5, 6}, dst[6] = {0};
    tt_tensor *t = tt_from_data(src, TT_F32, TT_SHAPE(2, 3));
    CHECK(tt_to_data(tt_transpose(t, 0, 1), dst, sizeof dst) == 0 && dst[1] == 4 && dst[2] == 2,
          "to_data makes non-contiguous tensors contiguous");
    CHECK(tt_ndim(t) == 2 && tt_size(t, -1) == 3 && tt_numel(t) == 6, "shape info");
    char *desc = tt_describe(t);
    CHECK(strcmp(desc, "f32[2, 3] cpu") == 0, "describe: %s", desc);
    free(desc);

    /* bf16 autocast runs matmuls in bf16 and stays close */
    tt_tensor *a = tt_randn(g, TT_SHAPE(64, 64), TT_F32);
    tt_tensor *ref = tt_matmul(a, a);
    tt_autocast_begin(TT_BF16);
    tt_tensor *low = tt_matmul(a, a);
    tt_autocast_end();
    CHECK(tt_dtype_of(low) == TT_BF16, "autocast gives bf16 (%s)", tt_dtype_name(tt_dtype_of(low)));
    double rel = item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(low, TT_F32), ref)))) / item(tt_max_all(tt_abs(ref)));
    CHECK(rel < 2e-2, "bf16 matmul close to f32 (rel %g)", rel);
    CHECK(tt_dtype_of(tt_matmul(a, a)) == TT_F32, "autocast off again");
    tt_gen_free(g);
    tt_scope_end();
}

/* tt_gelu(x, tanh): the fused kernel (core/fused.h) on contiguous f32 CPU tensors, libtorch's
 * otherwise; both against libtorch's float64 GELU, forward and gradient */
static void test_gelu_fused(void) {
    tt_scope_begin();
    tt_tensor *x = tt_arange(-12, 12, 1.0 / 4096, TT_F32); /* every regime: ~0, ~x and the bend */
    tt_set_requires_grad(x, 1);
    tt_tensor *y = tt_gelu(x, 1);
    CHECK(y && tt_backward(tt_sum_all(tt_mul(y, tt_cos(tt_detach(x))))) == 0, "fused gelu: backward");
    tt_tensor *x64 = tt_to_dtype(tt_detach(x), TT_F64);
    tt_set_requires_grad(x64, 1);
    tt_tensor *y64 = tt_gelu(x64, 1); /* f64: libtorch's own formula */
    tt_backward(tt_sum_all(tt_mul(y64, tt_cos(tt_detach(x64)))));
    double ef = item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(y, TT_F64), y64))));
    double eg = item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(tt_grad(x), TT_F64), tt_grad(x64)))));
    CHECK(ef <= 1e-6 && eg <= 1e-6, "fused gelu vs float64: forward %.2e, gradient %.2e (<= 1e-6)", ef, eg);
    printf("fused gelu (tanh) vs libtorch float64 on [-12, 12]: forward %.2e, gradient %.2e\n", ef, eg);
    /* a non-contiguous view takes libtorch's path and agrees; NaN and inf stay non-finite, so the
     * trainer's NaN guard still sees them (libtorch makes gelu(-inf) NaN, the fused kernel -inf) */
    tt_tensor *m = tt_reshape(tt_detach(x), TT_SHAPE(96, 1024));
    double et = item(tt_max_all(tt_abs(tt_sub(tt_gelu(tt_transpose(m, 0, 1), 1), tt_transpose(tt_gelu(m, 1), 0, 1)))));
    CHECK(et <= 1e-6, "gelu of a transposed view == transposed gelu (%.2e)", et);
    float sp[4] = {NAN, INFINITY, -INFINITY, 0.0f}, out[4];
    tt_to_data(tt_gelu(tt_from_data(sp, TT_F32, TT_SHAPE(4)), 1), out, sizeof out);
    CHECK(isnan(out[0]) && out[1] == INFINITY && !isfinite(out[2]) && out[3] == 0.0f,
          "gelu of nan, inf, -inf, 0: %g %g %g %g", out[0], out[1], out[2], out[3]);
    tt_scope_end();
}

/* tt_attention without a mask on <= 64 tokens: the fused kernel (core/fused.h), reading heads out
 * of a fused QKV projection; against libtorch's path (forced by an all-true mask) in float64,
 * forward and the gradients of q, k and v */
static void test_attention_short(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(5);
    struct {
        int B, T, H, D;
    } cases[] = {{3, 10, 4, 16}, {2, 1, 2, 8}, {2, 64, 3, 12}, {1, 7, 5, 3}, {2, 10, 2, 64} /* the unrolled width */};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int B = cases[c].B, T = cases[c].T, H = cases[c].H, D = cases[c].D;
        tt_tensor *base = tt_randn(g, TT_SHAPE(B, T, 3, H, D), TT_F32),
                  *gout = tt_randn(g, TT_SHAPE(B, H, T, D), TT_F32);
        tt_tensor *grads[2][3], *outs[2];
        for (int path = 0; path < 2; path++) { /* 0: fused f32 on strided heads; 1: libtorch f64 with a mask */
            tt_tensor *leaf = tt_detach(path ? tt_to_dtype(base, TT_F64) : base);
            tt_set_requires_grad(leaf, 1);
            tt_tensor *qkv = tt_permute(leaf, TT_SHAPE(2, 0, 3, 1, 4));
            tt_tensor *q = tt_select(qkv, 0, 0), *k = tt_select(qkv, 0, 1), *v = tt_select(qkv, 0, 2);
            tt_tensor *mask = path ? tt_ones(TT_SHAPE(T, T), TT_BOOL) : NULL;
            outs[path] = tt_attention(q, k, v, mask, 0, 0.0);
            tt_backward(tt_sum_all(tt_mul(outs[path], path ? tt_to_dtype(gout, TT_F64) : gout)));
            tt_tensor *gl = tt_grad(leaf);
            for (int i = 0; i < 3; i++) grads[path][i] = gl ? tt_select(gl, 2, i) : NULL;
        }
        double e =
            outs[0] && outs[1] ? item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(outs[0], TT_F64), outs[1])))) : INFINITY;
        double eg = 0;
        for (int i = 0; i < 3; i++)
            eg = fmax(eg, grads[0][i] && grads[1][i]
                              ? item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(grads[0][i], TT_F64), grads[1][i]))))
                              : INFINITY);
        CHECK(e <= 1e-5 && eg <= 1e-5, "short attention B %d T %d H %d D %d vs libtorch f64: out %.2e, grads %.2e", B,
              T, H, D, e, eg);
        printf("short attention B %d T %2d H %d D %2d: out %.2e, grads of q k v %.2e (vs libtorch float64)\n", B, T, H,
               D, e, eg);
    }
    /* 3-D inputs, and past 64 tokens libtorch's path: both agree with the masked path */
    tt_tensor *q = tt_randn(g, TT_SHAPE(4, 65, 8), TT_F32), *k = tt_randn(g, TT_SHAPE(4, 65, 8), TT_F32);
    tt_tensor *v = tt_randn(g, TT_SHAPE(4, 65, 6), TT_F32);
    tt_tensor *all = tt_ones(TT_SHAPE(65, 65), TT_BOOL);
    double e65 =
        item(tt_max_all(tt_abs(tt_sub(tt_attention(q, k, v, NULL, 0, 0.0), tt_attention(q, k, v, all, 0, 0.0)))));
    tt_tensor *q3 = tt_slice(q, 1, 0, 9, 1), *k3 = tt_slice(k, 1, 0, 9, 1), *v3 = tt_slice(v, 1, 0, 9, 1);
    double e3 = item(
        tt_max_all(tt_abs(tt_sub(tt_attention(q3, k3, v3, NULL, 0, 0.5),
                                 tt_attention(q3, k3, v3, tt_slice(tt_slice(all, 0, 0, 9, 1), 1, 0, 9, 1), 0, 0.5)))));
    CHECK(e65 <= 1e-6 && e3 <= 1e-6, "65 tokens (libtorch path) %.2e; 3-D, 9 tokens, value width 6, scale 0.5 %.2e",
          e65, e3);
    tt_gen_free(g);
    tt_scope_end();
}

/* tt_attention_qkv on a fused projection [B, T, 3C]: equal to splitting the heads by hand and
 * calling tt_attention, forward and the gradient of the projection, on the short kernel (no mask,
 * <= 64 tokens) and on libtorch's path (causal, a bool mask, 65 tokens, float64); a projection
 * whose width is not 3 x a multiple of the heads is refused by name */
static void test_attention_qkv(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(9);
    struct {
        int B, T, H, D, causal, masked;
        tt_dtype dt;
    } cases[] = {{3, 10, 4, 16, 0, 0, TT_F32}, {2, 10, 2, 64, 0, 0, TT_F32}, {2, 64, 2, 8, 0, 0, TT_F32},
                 {2, 65, 2, 8, 0, 0, TT_F32},
                 {2, 12, 3, 4, 1, 0, TT_F32},  {2, 12, 3, 4, 0, 1, TT_F32}, {2, 9, 2, 6, 0, 0, TT_F64}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int B = cases[c].B, T = cases[c].T, H = cases[c].H, D = cases[c].D, C = H * D;
        tt_dtype dt = cases[c].dt;
        tt_tensor *base = tt_to_dtype(tt_randn(g, TT_SHAPE(B, T, 3 * C), TT_F32), dt);
        tt_tensor *gout = tt_to_dtype(tt_randn(g, TT_SHAPE(B, T, C), TT_F32), dt);
        /* a random bool mask with the diagonal allowed (no fully masked row) */
        tt_tensor *mask =
            cases[c].masked ? tt_gt_scalar(tt_add(tt_rand(g, TT_SHAPE(T, T), TT_F32), tt_eye(T, TT_F32)), 0.3) : NULL;
        tt_tensor *outs[2], *grads[2];
        for (int path = 0; path < 2; path++) { /* 0: tt_attention_qkv; 1: split by hand + tt_attention */
            tt_tensor *leaf = tt_detach(base);
            tt_set_requires_grad(leaf, 1);
            if (path == 0) {
                outs[0] = tt_attention_qkv(leaf, H, mask, cases[c].causal, 0.0);
            } else {
                tt_tensor *qkv = tt_permute(tt_reshape(leaf, TT_SHAPE(B, T, 3, H, D)), TT_SHAPE(2, 0, 3, 1, 4));
                tt_tensor *y = tt_attention(tt_select(qkv, 0, 0), tt_select(qkv, 0, 1), tt_select(qkv, 0, 2), mask,
                                            cases[c].causal, 0.0);
                outs[1] = tt_reshape(tt_transpose(y, 1, 2), TT_SHAPE(B, T, C));
            }
            tt_backward(tt_sum_all(tt_mul(outs[path], gout)));
            grads[path] = tt_grad(leaf);
        }
        double e = outs[0] && outs[1] ? item(tt_max_all(tt_abs(tt_sub(outs[0], outs[1])))) : INFINITY;
        double eg = grads[0] && grads[1] ? item(tt_max_all(tt_abs(tt_sub(grads[0], grads[1])))) : INFINITY;
        double tol = dt == TT_F64 ? 1e-12 : 1e-5;
        CHECK(e <= tol && eg <= tol, "attention on qkv, B %d T %d H %d D %d causal %d mask %d: out %.2e, grad %.2e", B,
              T, H, D, cases[c].causal, cases[c].masked, e, eg);
        printf("attention on qkv B %d T %2d H %d D %2d causal %d mask %d %s: out %.2e, grad of qkv %.2e\n", B, T, H, D,
               cases[c].causal, cases[c].masked, dt == TT_F64 ? "f64" : "f32", e, eg);
    }
    tt_clear_error();
    CHECK(!tt_attention_qkv(tt_zeros(TT_SHAPE(2, 5, 20), TT_F32), 4, NULL, 0, 0.0) &&
              strstr(tt_last_error(), "tt_attention_qkv") && strstr(tt_last_error(), "[2, 5, 20]"),
          "a projection of 20 columns for 4 heads is refused: %s", tt_last_error());
    tt_gen_free(g);
    tt_scope_end();
}

/* tt_ln_modulate and tt_gated_add: fused on f32 (rows read as views of a chunked adaLN
 * projection), against the composite ops in float64 (the path other dtypes take): forward and
 * the gradients of every input */
static void test_adaln_fused(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(9);
    int N = 6, S = 10, d = 40;
    tt_tensor *x0 = tt_randn(g, TT_SHAPE(N, S, d), TT_F32), *ada0 = tt_randn(g, TT_SHAPE(N, 3 * d), TT_F32);
    tt_tensor *y0 = tt_randn(g, TT_SHAPE(N, S, d), TT_F32), *w = tt_randn(g, TT_SHAPE(N, S, d), TT_F32);
    tt_tensor *outs[2], *grads[2][3];
    for (int path = 0; path < 2; path++) { /* 0: fused f32; 1: composite f64 */
        tt_dtype dt = path ? TT_F64 : TT_F32;
        tt_tensor *x = tt_detach(tt_to_dtype(x0, dt)), *ada = tt_detach(tt_to_dtype(ada0, dt));
        tt_tensor *y = tt_detach(tt_to_dtype(y0, dt));
        tt_set_requires_grad(x, 1), tt_set_requires_grad(ada, 1), tt_set_requires_grad(y, 1);
        tt_tensor *m[3];
        tt_chunk(tt_unsqueeze(ada, 1), 3, -1, m); /* shift, scale, gate [N, 1, d], rows 3d apart */
        tt_tensor *u = tt_ln_modulate(x, m[0], m[1], 1e-6);
        outs[path] = tt_gated_add(x, m[2], tt_mul(u, y)); /* x + gate * (LN(x) (1 + scale) + shift) y */
        tt_backward(tt_sum_all(tt_mul(outs[path], tt_to_dtype(w, dt))));
        grads[path][0] = tt_grad(x), grads[path][1] = tt_grad(ada), grads[path][2] = tt_grad(y);
    }
    double e = outs[0] && outs[1] ? item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(outs[0], TT_F64), outs[1])))) : INFINITY;
    double eg = 0;
    for (int i = 0; i < 3; i++)
        eg = fmax(eg, grads[0][i] && grads[1][i]
                          ? item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(grads[0][i], TT_F64), grads[1][i]))))
                          : INFINITY);
    CHECK(e <= 1e-5 && eg <= 1e-4, "fused adaLN vs composite float64: out %.2e, grads %.2e", e, eg);
    printf("fused LN-modulate + gated add vs composite float64: out %.2e, grads of x, adaLN rows, y %.2e\n", e, eg);
    tt_gen_free(g);
    tt_scope_end();
}

/* Under bf16 autocast the fused ops take bf16 inputs (the outputs of linears) on a float copy:
 * results equal to the float path on the same values (so the fused kernels ran: libtorch's bf16
 * composite ops would round), gradients reach the bf16 inputs as bf16; outside autocast a bf16
 * input keeps libtorch's bf16 path */
static void test_fused_autocast(void) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(11);
    int N = 6, S = 10, d = 32;
    tt_tensor *src[4] = {tt_randn(g, TT_SHAPE(N, S, d), TT_F32), tt_randn(g, TT_SHAPE(N, 3 * d), TT_F32),
                         tt_randn(g, TT_SHAPE(N, S, d), TT_F32), tt_randn(g, TT_SHAPE(N, S, 3 * d), TT_F32)};
    tt_tensor *w = tt_randn(g, TT_SHAPE(N, S, d), TT_F32), *outs[2], *grads[2][4];
    for (int path = 0; path < 2; path++) { /* 0: bf16 leaves under autocast; 1: their float values, no autocast */
        tt_tensor *in[4];
        for (int i = 0; i < 4; i++) {
            in[i] = tt_detach(tt_to_dtype(tt_to_dtype(src[i], TT_BF16), path ? TT_F32 : TT_BF16));
            tt_set_requires_grad(in[i], 1);
        }
        if (path == 0) tt_autocast_begin(TT_BF16);
        tt_tensor *m[3];
        tt_chunk(tt_unsqueeze(in[1], 1), 3, -1, m); /* shift, scale, gate rows */
        tt_tensor *u = tt_gelu(tt_mul(tt_ln_modulate(in[0], m[0], m[1], 1e-6), in[2]), 1);
        outs[path] = tt_add(tt_gated_add(in[0], m[2], u), tt_attention_qkv(in[3], 4, NULL, 0, 0.0));
        if (path == 0) tt_autocast_end();
        tt_backward(tt_sum_all(tt_mul(outs[path], w)));
        for (int i = 0; i < 4; i++) grads[path][i] = tt_grad(in[i]);
    }
    double e = outs[0] && outs[1] ? item(tt_max_all(tt_abs(tt_sub(outs[0], outs[1])))) : INFINITY, eg = 0;
    int bf16_grads = 1;
    for (int i = 0; i < 4; i++) {
        bf16_grads &= grads[0][i] && tt_dtype_of(grads[0][i]) == TT_BF16;
        double scale = grads[1][i] ? item(tt_max_all(tt_abs(grads[1][i]))) : 1;
        eg = fmax(eg, grads[0][i] && grads[1][i]
                          ? item(tt_max_all(tt_abs(tt_sub(tt_to_dtype(grads[0][i], TT_F32), grads[1][i])))) / scale
                          : INFINITY);
    }
    CHECK(outs[0] && tt_dtype_of(outs[0]) == TT_F32 && e <= 1e-6, "fused ops under bf16 autocast == float path: %.2e",
          e);
    CHECK(bf16_grads && eg <= 1.0 / 128, "bf16 inputs get bf16 gradients within bf16 round-off: %.2e of the max", eg);
    tt_tensor *b = tt_to_dtype(src[0], TT_BF16);
    CHECK(tt_dtype_of(tt_gelu(b, 1)) == TT_BF16, "outside autocast a bf16 input stays bf16");
    printf("fused ops under bf16 autocast vs the float path: out %.2e, gradients %.2e of their max\n", e, eg);
    tt_gen_free(g);
    tt_scope_end();
}

/* tt_profile_begin/end: a Chrome trace naming the ops run in between with their input shapes;
 * a second begin and an end without a begin are refused; an unwritable path is an error */
static void test_profile(void) {
    tt_scope_begin();
    const char *path = "test_tt_profile.json";
    remove(path);
    CHECK(tt_profile_end() == -1 && strstr(tt_last_error(), "no profile"), "end without begin refused: %s",
          tt_last_error());
    CHECK(tt_profile_begin(path) == 0, "profile begins");
    CHECK(tt_profile_begin(path) == -1 && strstr(tt_last_error(), "already"), "second begin refused");
    tt_matmul(tt_ones(TT_SHAPE(3, 5), TT_F32), tt_ones(TT_SHAPE(5, 7), TT_F32));
    CHECK(tt_profile_end() == 0, "profile ends: %s", tt_last_error());
    FILE *f = fopen(path, "r");
    char buf[1 << 16] = "";
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    CHECK(strstr(buf, "\"name\": \"aten::mm\"") && strstr(buf, "[[3, 5], [5, 7]]") && strstr(buf, "\"ph\": \"X\""),
          "the trace names aten::mm with its input shapes (%zu bytes)", n);
    remove(path);
    CHECK(tt_profile_begin("/nonexistent-dir/p.json") == 0 && tt_profile_end() == -1 &&
              strstr(tt_last_error(), "/nonexistent-dir/p.json"),
          "an unwritable trace path is an error naming it: %s", tt_last_error());
    tt_scope_end();
}

int main(void) {
    tt_set_num_threads(1);
    test_adaln_fused();
    test_gelu_fused();
    test_attention_short();
    test_attention_qkv();
    test_fused_autocast();
    test_profile();
    test_errors();
    test_scopes();
    test_autograd_and_gen();
    test_numerics();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
