/* blocks_fast.c — see blocks_fast.h. */
#include "models/blocks_fast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fused.h"

typedef struct norm_w {
    const float *w, *b; /* b NULL: no bias (RMSNorm, or a LayerNorm without one) */
    int rms;
    float eps;
} norm_w;

typedef struct layer_w {
    norm_w norm1, norm2;
    const float *qkv_w, *qkv_b;   /* [3d, d] as torch.nn.Linear, [3d] or NULL */
    const float *proj_w, *proj_b; /* [d, d], [d] */
    const float *fc_w, *fc_b;     /* [hidden, d], [hidden] */
    const float *out_w, *out_b;   /* [d, hidden], [d] */
    float *k, *v;                 /* caches [B][H][cap][D] */
} layer_w;

struct blocks_fast {
    int n_layers, d, H, D, hidden;
    int64_t B, cap, len;
    layer_w *layers;
    float *arena;                       /* every weight, one allocation */
    float *cache;                       /* every layer's k and v */
    uint8_t *valid;                     /* [B][cap] */
    float *x, *h, *qkv, *att, *hid, *p; /* work rows */
};

/* Copy parameter blocks.<layer>.<what> ([rows, cols], or [cols] when rows is 0) into dst as f32. */
static int copy_param(float *dst, const tt_tensor *t, int64_t rows, int64_t cols, const char *what, int layer) {
    char name[160];
    snprintf(name, sizeof name, "blocks.%d.%s", layer, what);
    return nn_param_to_host(dst, t, rows, cols, "blocks_fast_new", name);
}

/* The next [rows, cols] floats of the arena *w, filled from t; NULL (and nothing taken) when t is
 * NULL and optional. */
static const float *take(float **w, int *rc, const tt_tensor *t, int64_t rows, int64_t cols, int optional,
                         const char *what, int layer) {
    if (!t && optional) return NULL;
    float *p = *w;
    *w += (size_t)(rows > 0 ? rows : 1) * cols;
    if (!*rc) *rc = copy_param(p, t, rows, cols, what, layer);
    return p;
}

void blocks_fast_free(blocks_fast *f) {
    if (!f) return;
    free(f->layers);
    free(f->arena);
    free(f->cache);
    free(f->valid);
    free(f->x);
    free(f);
}

blocks_fast *blocks_fast_new(const nn_block *blocks, int n_layers, int64_t B, int64_t cap) {
    if (n_layers < 1 || B < 1 || cap < 1)
        return tt_fail("blocks_fast_new: %d layers, %lld rows, %lld tokens: expected >= 1 each", n_layers, (long long)B,
                       (long long)cap);
    const nn_block *b0 = &blocks[0];
    int d = b0->norm1.w ? (int)tt_size(b0->norm1.w, 0) : 0, H = b0->attn.n_heads;
    int hidden = b0->mlp.fc.w ? (int)tt_size(b0->mlp.fc.w, 0) : 0;
    if (d < 1 || H < 1 || d % H || hidden < 1)
        return tt_fail("blocks_fast_new: d = %d, %d heads, MLP hidden %d: expected d a multiple of the heads", d, H,
                       hidden);
    blocks_fast *f = calloc(1, sizeof *f);
    if (!f) return tt_fail("blocks_fast_new: out of memory");
    f->n_layers = n_layers, f->d = d, f->H = H, f->D = d / H, f->hidden = hidden, f->B = B, f->cap = cap;
    /* norms (w, b) x 2, qkv [3d, d] + [3d], proj [d, d] + [d], fc [hidden, d] + [hidden], out [d, hidden] + [d] */
    size_t per_layer = 4 * (size_t)d + 3 * (size_t)d * d + 3 * (size_t)d + (size_t)d * d + (size_t)d +
                       (size_t)hidden * d + (size_t)hidden + (size_t)d * hidden + (size_t)d;
    size_t cache_per = (size_t)B * cap * d; /* k or v of one layer */
    size_t work = (size_t)B * (2 * d + 3 * d + d + hidden) + (size_t)cap;
    f->layers = calloc((size_t)n_layers, sizeof *f->layers);
    f->arena = malloc(per_layer * n_layers * sizeof(float));
    f->cache = calloc(2 * cache_per * n_layers, sizeof(float));
    f->valid = calloc((size_t)(B * cap), 1);
    f->x = malloc(work * sizeof(float));
    if (!f->layers || !f->arena || !f->cache || !f->valid || !f->x) {
        blocks_fast_free(f);
        return tt_fail("blocks_fast_new: out of memory for %d layers of d = %d, %lld x %lld cached tokens", n_layers, d,
                       (long long)B, (long long)cap);
    }
    f->h = f->x + (size_t)B * d;
    f->qkv = f->h + (size_t)B * d;
    f->att = f->qkv + (size_t)B * 3 * d;
    f->hid = f->att + (size_t)B * d;
    f->p = f->hid + (size_t)B * hidden;
    float *w = f->arena;
    int rc = 0;
    for (int i = 0; i < n_layers && !rc; i++) {
        const nn_block *b = &blocks[i];
        layer_w *l = &f->layers[i];
        if (b->attn.n_heads != H)
            rc = -1, tt_fail("blocks_fast_new: block %d has %d heads, block 0 %d", i, b->attn.n_heads, H);
        l->norm1 = (norm_w){take(&w, &rc, b->norm1.w, 0, d, 0, "norm1.weight", i),
                            take(&w, &rc, b->norm1.b, 0, d, 1, "norm1.bias", i), b->norm1.rms, (float)b->norm1.eps};
        l->norm2 = (norm_w){take(&w, &rc, b->norm2.w, 0, d, 0, "norm2.weight", i),
                            take(&w, &rc, b->norm2.b, 0, d, 1, "norm2.bias", i), b->norm2.rms, (float)b->norm2.eps};
        l->qkv_w = take(&w, &rc, b->attn.qkv.w, 3 * d, d, 0, "attn.qkv.weight", i);
        l->qkv_b = take(&w, &rc, b->attn.qkv.b, 0, 3 * d, 1, "attn.qkv.bias", i);
        l->proj_w = take(&w, &rc, b->attn.proj.w, d, d, 0, "attn.proj.weight", i);
        l->proj_b = take(&w, &rc, b->attn.proj.b, 0, d, 1, "attn.proj.bias", i);
        l->fc_w = take(&w, &rc, b->mlp.fc.w, hidden, d, 0, "mlp.fc.weight", i);
        l->fc_b = take(&w, &rc, b->mlp.fc.b, 0, hidden, 1, "mlp.fc.bias", i);
        l->out_w = take(&w, &rc, b->mlp.proj.w, d, hidden, 0, "mlp.proj.weight", i);
        l->out_b = take(&w, &rc, b->mlp.proj.b, 0, d, 1, "mlp.proj.bias", i);
        l->k = f->cache + 2 * cache_per * i;
        l->v = l->k + cache_per;
    }
    if (rc) {
        blocks_fast_free(f);
        return NULL;
    }
    return f;
}

int blocks_fast_import(blocks_fast *f, const nn_kv_cache *kv, int64_t len, const uint8_t *valid) {
    if (len < 0 || len > f->cap)
        return tt_fail("blocks_fast_import: %lld tokens, capacity %lld", (long long)len, (long long)f->cap), -1;
    int64_t B = f->B, H = f->H, D = f->D, cap = f->cap;
    for (int i = 0; i < f->n_layers; i++) {
        const nn_kv_cache *c = &kv[i];
        if (c->len < len || tt_size(c->k, 0) != B || tt_size(c->k, 1) != H || tt_size(c->k, 3) != D)
            return tt_fail("blocks_fast_import: layer %d's cache holds %lld tokens of [%lld, %lld, *, %lld], expected "
                           "%lld of [%lld, %lld, *, %lld]",
                           i, (long long)c->len, (long long)tt_size(c->k, 0), (long long)tt_size(c->k, 1),
                           (long long)tt_size(c->k, 3), (long long)len, (long long)B, (long long)H, (long long)D),
                   -1;
        for (int kv_i = 0; len > 0 && kv_i < 2; kv_i++) { /* (an empty slice has no data pointer) */
            tt_scope_begin();
            tt_tensor *src = tt_contiguous(tt_to_dtype(tt_slice(kv_i ? c->v : c->k, 2, 0, len, 1), TT_F32));
            float *dst = kv_i ? f->layers[i].v : f->layers[i].k;
            int rc = src ? 0 : -1;
            const float *s = src ? tt_data_ptr(src) : NULL;
            for (int64_t bh = 0; !rc && bh < B * H; bh++)
                memcpy(dst + (size_t)bh * cap * D, s + (size_t)bh * len * D, sizeof(float) * (size_t)(len * D));
            tt_scope_end();
            if (rc) return -1;
        }
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < cap; j++) f->valid[b * cap + j] = j < len ? (valid ? valid[b * len + j] != 0 : 1) : 0;
    f->len = len;
    return 0;
}

/* y = norm(x) for one row of d */
static void norm_row(const norm_w *n, const float *x, float *y, int d) {
    float scale, mean = 0;
    if (n->rms) {
        scale = 1.0f / sqrtf(vr_dot8(x, x, d) / (float)d + n->eps);
    } else {
        mean = vr_sum8(x, d) / (float)d;
        scale = 1.0f / sqrtf(vr_sqdev8(x, d, mean) / (float)d + n->eps);
    }
    for (int j = 0; j < d; j++) y[j] = (x[j] - mean) * scale * n->w[j] + (n->b ? n->b[j] : 0.0f);
}

/* y[r][o] = b[o] + sum_i w[o][i] x[r][i] for R rows: each weight row is read once for all rows */
static void linear_rows(const float *w, const float *bias, const float *x, float *y, int R, int in, int out) {
    for (int o = 0; o < out; o++) {
        const float *wo = w + (size_t)o * in;
        for (int r = 0; r < R; r++)
            y[(size_t)r * out + o] = vr_dot8(wo, x + (size_t)r * in, in) + (bias ? bias[o] : 0.0f);
    }
}

int blocks_fast_step(blocks_fast *f, const float *x, float *y) {
    if (f->len >= f->cap)
        return tt_fail("blocks_fast_step: KV cache full (%lld tokens, capacity %lld)", (long long)f->len,
                       (long long)f->cap),
               -1;
    int d = f->d, H = f->H, D = f->D, hidden = f->hidden, B = (int)f->B;
    int64_t cap = f->cap, t = f->len, n_keys = t + 1;
    float scale = 1.0f / sqrtf((float)D);
    memcpy(f->x, x, sizeof(float) * (size_t)B * d);
    for (int64_t b = 0; b < B; b++) f->valid[b * cap + t] = 1;
    for (int i = 0; i < f->n_layers; i++) {
        const layer_w *l = &f->layers[i];
        /* attention: norm1, q k v of the new token, its k v into the caches */
        for (int b = 0; b < B; b++) norm_row(&l->norm1, f->x + (size_t)b * d, f->h + (size_t)b * d, d);
        linear_rows(l->qkv_w, l->qkv_b, f->h, f->qkv, B, d, 3 * d);
        for (int b = 0; b < B; b++)
            for (int hh = 0; hh < H; hh++) {
                size_t at = ((size_t)b * H + hh) * cap * D + (size_t)t * D;
                memcpy(l->k + at, f->qkv + (size_t)b * 3 * d + d + hh * D, sizeof(float) * D);
                memcpy(l->v + at, f->qkv + (size_t)b * 3 * d + 2 * d + hh * D, sizeof(float) * D);
            }
        /* softmax(q K^T / sqrt(D)) V over the valid keys 0..t */
        for (int b = 0; b < B; b++) {
            const uint8_t *ok = f->valid + (size_t)b * cap;
            for (int hh = 0; hh < H; hh++) {
                const float *q = f->qkv + (size_t)b * 3 * d + hh * D;
                const float *K = l->k + ((size_t)b * H + hh) * cap * D, *V = l->v + ((size_t)b * H + hh) * cap * D;
                float mx = -INFINITY, sum = 0, *p = f->p, *o = f->att + (size_t)b * d + hh * D;
                for (int64_t j = 0; j < n_keys; j++) {
                    p[j] = ok[j] ? vr_dot8(q, K + (size_t)j * D, D) * scale : -INFINITY;
                    if (p[j] > mx) mx = p[j];
                }
                for (int64_t j = 0; j < n_keys; j++) sum += p[j] = ok[j] ? vr_exp_approx(p[j] - mx) : 0.0f;
                float inv = 1.0f / sum;
                for (int e = 0; e < D; e++) o[e] = 0;
                for (int64_t j = 0; j < n_keys; j++) {
                    if (!ok[j]) continue;
                    float pj = p[j] * inv;
                    const float *vj = V + (size_t)j * D;
                    for (int e = 0; e < D; e++) o[e] += pj * vj[e];
                }
            }
        }
        linear_rows(l->proj_w, l->proj_b, f->att, f->h, B, d, d);
        for (size_t j = 0; j < (size_t)B * d; j++) f->x[j] += f->h[j];
        /* MLP: norm2, fc, GELU (tanh), proj, residual */
        for (int b = 0; b < B; b++) norm_row(&l->norm2, f->x + (size_t)b * d, f->h + (size_t)b * d, d);
        linear_rows(l->fc_w, l->fc_b, f->h, f->hid, B, d, hidden);
        for (size_t j = 0; j < (size_t)B * hidden; j++) f->hid[j] = vr_gelu_tanh(f->hid[j]);
        linear_rows(l->out_w, l->out_b, f->hid, f->h, B, hidden, d);
        for (size_t j = 0; j < (size_t)B * d; j++) f->x[j] += f->h[j];
    }
    f->len = t + 1;
    memcpy(y, f->x, sizeof(float) * (size_t)B * d);
    return 0;
}

tt_tensor *blocks_fast_step_tt(blocks_fast *f, const tt_tensor *x) {
    if (!x) return NULL;
    int64_t B = f->B, d = f->d;
    if (tt_numel(x) != B * d)
        return tt_fail("blocks_fast_step: input of %lld values, expected [%lld, 1, %lld]", (long long)tt_numel(x),
                       (long long)B, (long long)d);
    float *buf = malloc(sizeof(float) * (size_t)(B * d));
    if (!buf) return tt_fail("blocks_fast_step: out of memory");
    tt_tensor *y = NULL;
    if (!tt_to_data(tt_contiguous(tt_to_dtype(x, TT_F32)), buf, sizeof(float) * (size_t)(B * d)) &&
        !blocks_fast_step(f, buf, buf))
        y = tt_from_data(buf, TT_F32, TT_SHAPE(B, 1, d));
    free(buf);
    return y;
}
