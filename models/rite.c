/* rite.c — see rite.h. */
#include "models/rite.h"

#include <stdio.h>
#include <stdlib.h>

int rite_init(rite *r, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g) {
    char name[256];
    r->n_layers = n_layers;
    r->d = d;
    r->n_heads = n_heads;
    r->blocks = calloc(n_layers > 0 ? n_layers : 1, sizeof *r->blocks);
    if (!r->blocks) return nn_fail("rite_init: out of memory");
    for (int i = 0; i < n_layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        if (nn_block_init(&r->blocks[i], p, name, d, n_heads, 4 * d, 0, g)) return -1;
    }
    snprintf(name, sizeof name, "%s.norm", prefix);
    if (nn_norm_init(&r->norm, p, name, d, 0)) return -1;
    snprintf(name, sizeof name, "%s.out", prefix);
    return nn_linear_init(&r->out, p, name, d, d, 1, g);
}

void rite_free(rite *r) {
    free(r->blocks);
    r->blocks = NULL;
}

/* q + out(norm(x)) */
static tt_tensor *residual(const rite *r, const tt_tensor *q, const tt_tensor *x) {
    return tt_add(q, nn_linear_fwd(&r->out, nn_norm_fwd(&r->norm, x)));
}

tt_tensor *rite_fwd(const rite *r, const tt_tensor *q, double p, tt_gen *g) {
    int64_t P = tt_size(q, 1);
    double pos[P > 0 ? P : 1];
    for (int64_t k = 0; k < P; k++) pos[k] = (double)k;
    tt_tensor *x = tt_add(q, nn_sinusoid_table(pos, P, r->d)); /* [B,P,d] */
    for (int i = 0; i < r->n_layers; i++) x = nn_block_fwd_dropout(&r->blocks[i], x, 1, NULL, p, g);
    return residual(r, q, x);
}

tt_tensor *rite_step(const rite *r, nn_kv_cache *caches, const tt_tensor *q, int64_t k) {
    double pos = (double)k;
    tt_tensor *x = tt_add(q, nn_sinusoid_table(&pos, 1, r->d)); /* [B,1,d] */
    for (int i = 0; i < r->n_layers; i++) x = nn_block_step(&r->blocks[i], x, &caches[i], 1, NULL);
    return residual(r, q, x);
}

tt_tensor *rite_step_fast(const rite *r, blocks_fast *f, const tt_tensor *q, int64_t k) {
    double pos = (double)k;
    tt_tensor *x = tt_add(q, nn_sinusoid_table(&pos, 1, r->d)); /* [B,1,d] */
    return residual(r, q, blocks_fast_step_tt(f, x));
}
