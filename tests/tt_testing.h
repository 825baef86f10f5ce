/* tt_testing.h — helpers of the C tests that compare tensors of the wrapper (core/tt.h).
 *
 * tt_test_perturb: a trained model has no zero weights, so kernel-vs-reference tests add
 * N(0, std) to every parameter (zero-initialised output layers would otherwise hide errors);
 * tt_test_max_abs_diff / tt_test_max_abs: the numbers the tests bound (INFINITY on failure).
 */
#ifndef VR_TESTS_TT_TESTING_H
#define VR_TESTS_TT_TESTING_H

#include <math.h>
#include <stdint.h>

#include "core/tt.h"

static inline void tt_test_perturb(tt_params *p, double std, uint64_t seed) {
    tt_gen *g = tt_gen_new(seed);
    tt_scope_begin();
    for (int i = 0; i < tt_params_count(p); i++) {
        tt_tensor *t = tt_params_at(p, i);
        int64_t shape[8];
        int nd = tt_shape(t, shape, 8);
        tt_add_(t, tt_randn(g, shape, nd, TT_F32), std);
    }
    tt_scope_end();
    tt_gen_free(g);
}

static inline double tt_test_max_abs_diff(const tt_tensor *a, const tt_tensor *b) {
    double v = INFINITY;
    tt_scope_begin();
    tt_item(tt_max_all(tt_abs(tt_sub(a, b))), &v);
    tt_scope_end();
    return v;
}

static inline double tt_test_max_abs(const tt_tensor *a) {
    double v = INFINITY;
    tt_scope_begin();
    tt_item(tt_max_all(tt_abs(a)), &v);
    tt_scope_end();
    return v;
}

#endif
