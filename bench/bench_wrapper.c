/* bench_wrapper.c — speed of the libtorch wrapper, printed as one JSON object.
 *   matmul:    1024x1024 float32 matmul, GFLOP/s (best of 10)
 *   small_ops: 10,000 x (64x64 matmul + bias add + GELU) inside a scope, microseconds per iteration
 *   block:     forward + backward of the parity block (models/nn.c), milliseconds per step (median)
 * bench/bench_wrapper.py runs this and the same work in Python torch in one run and writes
 * results/bench/wrapper.md.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/runtime.h"
#include "models/nn.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


static double bench_small_ops(int iters) {
    tt_scope_begin();
    tt_gen *g = tt_gen_new(0);
    tt_tensor *x = tt_randn(g, TT_SHAPE(64, 64), TT_F32), *w = tt_randn(g, TT_SHAPE(64, 64), TT_F32);
    tt_tensor *b = tt_randn(g, TT_SHAPE(64), TT_F32);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = vr_now();
        for (int i = 0; i < iters; i++) {
            tt_scope_begin();
            tt_gelu(tt_add(tt_matmul(x, w), b), 0);
            tt_scope_end();
        }
        double dt = vr_now() - t0;
        if (dt < best) best = dt;
    }
    tt_gen_free(g);
    tt_scope_end();
    return best / iters * 1e6;
}

static double bench_block(int B, int T, int Din, int C, int H, int hidden, int V, int steps) {
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(0);
    nn_linear in, head;
    nn_block block;
    nn_norm fnorm;
    nn_linear_init(&in, p, "in", Din, C, 1, g);
    nn_block_init(&block, p, "block", C, H, hidden, 0, g);
    nn_norm_init(&fnorm, p, "final_norm", C, 0);
    nn_linear_init(&head, p, "head", C, V, 0, g);
    tt_tensor *x = tt_randn(g, TT_SHAPE(B, T, Din), TT_F32), *target = tt_randn(g, TT_SHAPE(B, T, C), TT_F32);
    tt_tensor *labels = tt_randint(g, 0, V, TT_SHAPE(B * T));
    double *times = malloc(sizeof(double) * (size_t)steps);
    for (int s = 0; s < steps + 2; s++) {
        double t0 = vr_now();
        tt_scope_begin();
        for (int i = 0; i < tt_params_count(p); i++) tt_zero_grad(tt_params_at(p, i));
        tt_tensor *out = nn_norm_fwd(&fnorm, nn_block_fwd(&block, nn_linear_fwd(&in, x), 1, NULL));
        tt_tensor *logits = tt_reshape(nn_linear_fwd(&head, out), TT_SHAPE(B * T, V));
        tt_tensor *loss = tt_add(tt_mse_loss(out, target), tt_cross_entropy(logits, labels));
        if (tt_backward(loss)) {
            fprintf(stderr, "bench_wrapper: %s\n", tt_last_error());
            exit(1);
        }
        tt_scope_end();
        if (s >= 2) times[s - 2] = vr_now() - t0;
    }
    qsort(times, (size_t)steps, sizeof(double), cmp_double);
    double med = times[steps / 2];
    free(times);
    tt_free(x);
    tt_free(target);
    tt_free(labels);
    tt_gen_free(g);
    tt_params_free(p);
    return med * 1e3;
}

int main(int argc, char **argv) {
    int torch_threads = argc > 1 ? atoi(argv[1]) : 1;
    vr_runtime_apply(torch_threads, 0);
    vr_blas_info blas;
    double gf = vr_matmul_gflops(1024, 10);
    vr_blas_query(&blas);
    double us = bench_small_ops(10000);
    double ms = bench_block(4, 100, 64, 256, 4, 1024, 64, 20);
    printf("{\"matmul_gflops\": %.2f, \"small_ops_us\": %.3f, \"block_ms\": %.3f, \"torch_threads\": %d, "
           "\"blas\": \"%s\", \"blas_threads\": %d}\n",
           gf, us, ms, tt_get_num_threads(), blas.library, blas.threads);
    return 0;
}
