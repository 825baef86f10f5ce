/* fsq.c — see fsq.h. */
#include "models/fsq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FSQ_EPS 1e-3

int fsq_init(fsq *f, tt_params *p, const char *prefix, int d, const int *levels, int n, tt_gen *g) {
    if (n < 1 || n > FSQ_MAX_DIMS) return nn_fail("FSQ: %d levels given, expected 1..%d", n, FSQ_MAX_DIMS);
    f->n = n;
    f->codebook_size = 1;
    for (int i = 0; i < n; i++) {
        if (levels[i] < 2 || levels[i] > 1 << 16) return nn_fail("FSQ: level %d is %d, expected 2..65536", i, levels[i]);
        f->levels[i] = levels[i];
        f->codebook_size *= levels[i];
        if (f->codebook_size > (int64_t)1 << 40) return nn_fail("FSQ: codebook larger than 2^40 codes");
    }
    char name[256];
    snprintf(name, sizeof name, "%s.down", prefix);
    if (nn_linear_init(&f->down, p, name, d, n, 1, g)) return -1;
    snprintf(name, sizeof name, "%s.up", prefix);
    /* N(0, 1/n): a plan of unit scale (codes / half-width lie in [-1, 1]), like the sinusoid RITE adds
     * to it; at 0.02 it was ~0.03, the positions drowned it and the planner got almost no gradient */
    return nn_linear_init_unit(&f->up, p, name, n, d, 1, g);
}

tt_tensor *fsq_fwd(const fsq *f, const tt_tensor *h, tt_tensor **codes) {
    /* per-dimension constants, as in the paper's reference code */
    float half_l[FSQ_MAX_DIMS], offset[FSQ_MAX_DIMS], shift[FSQ_MAX_DIMS], half_w[FSQ_MAX_DIMS];
    for (int i = 0; i < f->n; i++) {
        double hl = (f->levels[i] - 1) * (1 + FSQ_EPS) / 2, off = f->levels[i] % 2 == 0 ? 0.5 : 0.0;
        half_l[i] = (float)hl;
        offset[i] = (float)off;
        shift[i] = (float)atanh(off / hl);
        half_w[i] = (float)(f->levels[i] / 2);
    }
#define CONST(a) tt_from_data(a, TT_F32, TT_SHAPE(f->n))
    tt_tensor *z = nn_linear_fwd(&f->down, h);                                            /* [..,n] */
    tt_tensor *bounded = tt_sub(tt_mul(tt_tanh(tt_add(z, CONST(shift))), CONST(half_l)), CONST(offset));
    tt_tensor *q = tt_round_ste(bounded);                                                  /* integers */
    if (codes) *codes = tt_detach(q);
    return nn_linear_fwd(&f->up, tt_div(q, CONST(half_w)));                                /* [..,d] */
#undef CONST
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int fsq_stats(const fsq *f, const tt_tensor *codes, double *usage, double *perplexity) {
    int64_t total = tt_numel(codes);
    if (total < 0 || tt_size(codes, -1) != f->n) return nn_fail("fsq_stats: codes must be [.., %d]", f->n);
    int64_t rows = total / f->n;
    float *c = malloc((size_t)(total > 0 ? total : 1) * sizeof *c);
    int64_t *idx = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *idx);
    if (!c || !idx) {
        free(c);
        free(idx);
        return nn_fail("fsq_stats: out of memory");
    }
    if (tt_to_data(tt_contiguous(codes), c, (size_t)total * sizeof *c)) {
        free(c);
        free(idx);
        return -1;
    }
    for (int64_t r = 0; r < rows; r++) {
        int64_t index = 0, basis = 1;
        for (int i = 0; i < f->n; i++) {
            index += ((int64_t)lrintf(c[r * f->n + i]) + f->levels[i] / 2) * basis;
            basis *= f->levels[i];
        }
        idx[r] = index;
    }
    qsort(idx, (size_t)rows, sizeof *idx, cmp_i64);
    int64_t distinct = 0;
    double entropy = 0;
    for (int64_t r = 0; r < rows;) {
        int64_t run = r;
        while (run < rows && idx[run] == idx[r]) run++;
        double pr = (double)(run - r) / (double)rows;
        entropy -= pr * log(pr);
        distinct++;
        r = run;
    }
    *usage = (double)distinct / (double)f->codebook_size;
    *perplexity = rows > 0 ? exp(entropy) : 0.0;
    free(c);
    free(idx);
    return 0;
}
