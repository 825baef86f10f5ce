/* test_blocks_fast.c — the libtorch-free block steps (models/blocks_fast.h) against nn_block_step,
 * the libtorch path they replace in generation, on random weights (every parameter perturbed):
 *
 *   planner-like: a prefix of Lp tokens with padding (some keys invalid per row) prefilled by
 *   libtorch, the caches imported, then N one-token steps both ways (max abs error <= 1e-4; in
 *   practice ~1e-6) in several shapes (the small planner's among them; LayerNorm and RMSNorm;
 *   heads of odd width; B = 1..3);
 *   RITE-like: causal steps from an empty cache;
 *   a repeat gives the same bits; a full cache, a bad import, bad sizes and a block of another
 *   shape are refused with a message; no handle leaks. (robin_generate with these kernels inside: test_locdit_fast.)
 *
 * usage: test_blocks_fast
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/blocks_fast.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"
#include "tests/tt_testing.h"

static const double TOL = 1e-4;

typedef struct shape {
    int d, heads, layers, B, Lp, steps, rms;
} shape;

static void test_shape(shape s, uint64_t seed) {
    int64_t live = tt_live_handles();
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(seed);
    nn_block blocks[8];
    int ok = 1;
    for (int i = 0; ok && i < s.layers; i++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d", i);
        ok = !nn_block_init(&blocks[i], p, name, s.d, s.heads, 4 * s.d, s.rms, g);
    }
    CHECK(ok, "nn_block_init d %d", s.d);
    if (!ok) return;
    tt_test_perturb(p, 0.5 / sqrt(s.d), seed + 1);
    int64_t B = s.B, Lp = s.Lp, cap = Lp + s.steps, d = s.d, D = d / s.heads;
    tt_no_grad_begin();
    tt_scope_begin();
    /* prefix validity: row b has its last b tokens padded (as text of different lengths) */
    uint8_t *valid = malloc((size_t)(B * cap)), *prefix_valid = malloc((size_t)(B * (Lp ? Lp : 1)));
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < cap; j++) {
            valid[b * cap + j] = j >= Lp || j < Lp - b;
            if (j < Lp) prefix_valid[b * Lp + j] = valid[b * cap + j];
        }
    tt_tensor *mask = tt_from_data(valid, TT_BOOL, TT_SHAPE(B, 1, 1, cap));
    nn_kv_cache kv[8];
    for (int i = 0; i < s.layers; i++) ok = ok && !nn_kv_cache_init(&kv[i], B, s.heads, D, cap);
    /* libtorch prefill of the prefix */
    tt_tensor *x = Lp ? tt_randn(g, TT_SHAPE(B, Lp, d), TT_F32) : NULL;
    for (int i = 0; x && i < s.layers; i++) x = nn_block_step(&blocks[i], x, &kv[i], 0, tt_slice(mask, 3, 0, Lp, 1));
    CHECK(ok && (x || !Lp), "libtorch prefill");
    blocks_fast *f = blocks_fast_new(blocks, s.layers, B, cap);
    CHECK(f && !blocks_fast_import(f, kv, Lp, Lp ? prefix_valid : NULL), "blocks_fast_new + import (d %d, %d layers)",
          s.d, s.layers);
    /* keep the imported state to repeat the steps */
    blocks_fast *f2 = blocks_fast_new(blocks, s.layers, B, cap);
    CHECK(f2 && !blocks_fast_import(f2, kv, Lp, Lp ? prefix_valid : NULL), "second kernel");
    double worst = 0;
    int same_bits = 1;
    for (int k = 0; f && f2 && k < s.steps; k++) {
        tt_scope_begin();
        tt_tensor *a = tt_randn(g, TT_SHAPE(B, 1, d), TT_F32), *ref = a;
        int64_t len = kv[0].len + 1;
        /* no prefix: RITE's causal steps (no mask); with one: the planner's masked steps */
        for (int i = 0; ref && i < s.layers; i++)
            ref = nn_block_step(&blocks[i], ref, &kv[i], Lp == 0, Lp ? tt_slice(mask, 3, 0, len, 1) : NULL);
        tt_tensor *got = blocks_fast_step_tt(f, a), *again = blocks_fast_step_tt(f2, a);
        double e = ref && got ? tt_test_max_abs_diff(ref, got) : INFINITY;
        if (e > worst || isnan(e)) worst = e;
        if (!again || !got || tt_test_max_abs_diff(got, again) != 0) same_bits = 0;
        tt_scope_end();
    }
    CHECK(worst <= TOL, "d %d, %d heads, %d layers, B %lld, prefix %lld, %d steps%s: max |fast - libtorch| = %.2e", s.d,
          s.heads, s.layers, (long long)B, (long long)Lp, s.steps, s.rms ? ", RMSNorm" : "", worst);
    CHECK(same_bits, "a repeat gives the same bits");
    printf("d %3d, %d heads, %d layers, B %lld, prefix %3lld, %2d steps%-9s: max |fast - libtorch| %.2e\n", s.d,
           s.heads, s.layers, (long long)B, (long long)Lp, s.steps, s.rms ? ", RMSNorm" : "", worst);
    /* the cache is full now */
    float row[1024] = {0};
    CHECK(f && blocks_fast_step(f, row, row) && strstr(tt_last_error(), "KV cache full"), "a full cache is refused: %s",
          tt_last_error());
    blocks_fast_free(f);
    blocks_fast_free(f2);
    for (int i = 0; i < s.layers; i++) nn_kv_cache_free(&kv[i]);
    free(valid);
    free(prefix_valid);
    tt_scope_end();
    tt_no_grad_end();
    tt_gen_free(g);
    tt_params_free(p);
    CHECK(tt_live_handles() == live, "no handles leak (d %d)", s.d);
}

static void test_refusals(void) {
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(5);
    nn_block b[3];
    nn_block_init(&b[0], p, "b0", 16, 2, 64, 0, g);
    nn_block_init(&b[1], p, "b1", 16, 4, 64, 0, g);
    nn_block_init(&b[2], p, "b2", 16, 2, 32, 0, g);
    CHECK(!blocks_fast_new((nn_block[]){b[0], b[2]}, 2, 1, 4) &&
              strstr(tt_last_error(), "parameter blocks.1.mlp.fc.weight is") &&
              strstr(tt_last_error(), "expected [64, 16]"),
          "a block of another MLP width: %s", tt_last_error());
    CHECK(!blocks_fast_new(b, 0, 1, 4) && strstr(tt_last_error(), "expected >= 1"), "0 layers: %s", tt_last_error());
    CHECK(!blocks_fast_new(b, 2, 1, 4) && strstr(tt_last_error(), "block 1 has 4 heads"), "heads differ: %s",
          tt_last_error());
    blocks_fast *f = blocks_fast_new(b, 1, 2, 4);
    nn_kv_cache kv;
    nn_kv_cache_init(&kv, 1, 2, 8, 8);
    CHECK(f && blocks_fast_import(f, &kv, 6, NULL) && strstr(tt_last_error(), "capacity 4"), "import past capacity: %s",
          tt_last_error());
    CHECK(f && blocks_fast_import(f, &kv, 2, NULL) && strstr(tt_last_error(), "holds 0 tokens"),
          "import of an emptier or other-shaped cache: %s", tt_last_error());
    tt_scope_begin();
    CHECK(f && !blocks_fast_step_tt(f, tt_zeros(TT_SHAPE(1, 1, 16), TT_F32)) &&
              strstr(tt_last_error(), "expected [2, 1, 16]"),
          "a step of the wrong batch: %s", tt_last_error());
    tt_scope_end();
    nn_kv_cache_free(&kv);
    blocks_fast_free(f);
    blocks_fast_free(NULL);
    tt_gen_free(g);
    tt_params_free(p);
}

int main(void) {
    test_shape((shape){.d = 32, .heads = 2, .layers = 2, .B = 1, .Lp = 12, .steps = 8}, 11);
    test_shape((shape){.d = 256, .heads = 4, .layers = 6, .B = 2, .Lp = 261, .steps = 50}, 12); /* small planner */
    test_shape((shape){.d = 48, .heads = 3, .layers = 2, .B = 3, .Lp = 7, .steps = 9, .rms = 1}, 13);
    test_shape((shape){.d = 256, .heads = 4, .layers = 2, .B = 2, .Lp = 0, .steps = 50}, 14); /* small RITE */
    test_refusals();
    return check_summary();
}
