/* nn.c — see nn.h. */
#include "models/nn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define NAME(buf, prefix, part) snprintf(buf, sizeof buf, "%s.%s", prefix, part)

static tt_tensor *add_normal(tt_params *p, const char *name, const int64_t *shape, int ndim, double std, tt_gen *g) {
    tt_tensor *t = tt_randn(g, shape, ndim, TT_F32);
    if (t && std != 1.0) {
        tt_mul_scalar_(t, std);
    }
    return tt_params_add(p, name, t);
}

int nn_linear_init(nn_linear *l, tt_params *p, const char *prefix, int in, int out, int bias, tt_gen *g) {
    char name[256];
    NAME(name, prefix, "weight");
    l->w = add_normal(p, name, TT_SHAPE(out, in), 0.02, g);
    l->b = NULL;
    if (bias) {
        NAME(name, prefix, "bias");
        l->b = tt_params_add(p, name, tt_zeros(TT_SHAPE(out), TT_F32));
    }
    return l->w && (!bias || l->b) ? 0 : -1;
}

int nn_linear_init_unit(nn_linear *l, tt_params *p, const char *prefix, int in, int out, int bias, tt_gen *g) {
    /* 0.02 x 50 / sqrt(in): the same weights as scaling nn_linear_init's by hand did before this helper */
    return nn_linear_init(l, p, prefix, in, out, bias, g) || tt_mul_scalar_(l->w, 50.0 / sqrt(in)) ? -1 : 0;
}

int nn_norm_init(nn_norm *n, tt_params *p, const char *prefix, int dim, int rms) {
    char name[256];
    n->rms = rms;
    n->eps = rms ? 1e-6 : 1e-5;
    NAME(name, prefix, "weight");
    n->w = tt_params_add(p, name, tt_ones(TT_SHAPE(dim), TT_F32));
    n->b = NULL;
    if (!rms) {
        NAME(name, prefix, "bias");
        n->b = tt_params_add(p, name, tt_zeros(TT_SHAPE(dim), TT_F32));
    }
    return n->w && (rms || n->b) ? 0 : -1;
}

int nn_attention_init(nn_attention *a, tt_params *p, const char *prefix, int dim, int n_heads, tt_gen *g) {
    char name[256];
    a->n_heads = n_heads;
    NAME(name, prefix, "qkv");
    if (nn_linear_init(&a->qkv, p, name, dim, 3 * dim, 1, g)) return -1;
    NAME(name, prefix, "proj");
    return nn_linear_init(&a->proj, p, name, dim, dim, 1, g);
}

int nn_mlp_init(nn_mlp *m, tt_params *p, const char *prefix, int dim, int hidden, tt_gen *g) {
    char name[256];
    NAME(name, prefix, "fc");
    if (nn_linear_init(&m->fc, p, name, dim, hidden, 1, g)) return -1;
    NAME(name, prefix, "proj");
    return nn_linear_init(&m->proj, p, name, hidden, dim, 1, g);
}

int nn_block_init(nn_block *b, tt_params *p, const char *prefix, int dim, int n_heads, int mlp_hidden, int rms,
                  tt_gen *g) {
    char name[256];
    NAME(name, prefix, "norm1");
    if (nn_norm_init(&b->norm1, p, name, dim, rms)) return -1;
    NAME(name, prefix, "attn");
    if (nn_attention_init(&b->attn, p, name, dim, n_heads, g)) return -1;
    NAME(name, prefix, "norm2");
    if (nn_norm_init(&b->norm2, p, name, dim, rms)) return -1;
    NAME(name, prefix, "mlp");
    return nn_mlp_init(&b->mlp, p, name, dim, mlp_hidden, g);
}

/* ---- binding to existing parameters ---- */

static tt_tensor *need(tt_params *p, const char *prefix, const char *part) {
    char name[256];
    NAME(name, prefix, part);
    tt_tensor *t = tt_params_get(p, name);
    return t ? t : tt_fail("parameter '%s' is missing", name);
}

int nn_linear_bind(nn_linear *l, tt_params *p, const char *prefix, int bias) {
    l->w = need(p, prefix, "weight");
    l->b = bias ? need(p, prefix, "bias") : NULL;
    return l->w && (!bias || l->b) ? 0 : -1;
}

int nn_norm_bind(nn_norm *n, tt_params *p, const char *prefix, int rms) {
    n->rms = rms;
    n->eps = rms ? 1e-6 : 1e-5;
    n->w = need(p, prefix, "weight");
    n->b = rms ? NULL : need(p, prefix, "bias");
    return n->w && (rms || n->b) ? 0 : -1;
}

int nn_attention_bind(nn_attention *a, tt_params *p, const char *prefix, int n_heads) {
    char name[256];
    a->n_heads = n_heads;
    NAME(name, prefix, "qkv");
    if (nn_linear_bind(&a->qkv, p, name, 1)) return -1;
    NAME(name, prefix, "proj");
    return nn_linear_bind(&a->proj, p, name, 1);
}

int nn_mlp_bind(nn_mlp *m, tt_params *p, const char *prefix) {
    char name[256];
    NAME(name, prefix, "fc");
    if (nn_linear_bind(&m->fc, p, name, 1)) return -1;
    NAME(name, prefix, "proj");
    return nn_linear_bind(&m->proj, p, name, 1);
}

int nn_block_bind(nn_block *b, tt_params *p, const char *prefix, int n_heads, int rms) {
    char name[256];
    NAME(name, prefix, "norm1");
    if (nn_norm_bind(&b->norm1, p, name, rms)) return -1;
    NAME(name, prefix, "attn");
    if (nn_attention_bind(&b->attn, p, name, n_heads)) return -1;
    NAME(name, prefix, "norm2");
    if (nn_norm_bind(&b->norm2, p, name, rms)) return -1;
    NAME(name, prefix, "mlp");
    return nn_mlp_bind(&b->mlp, p, name);
}

/* ---- forward ---- */

tt_tensor *nn_linear_fwd(const nn_linear *l, const tt_tensor *x) { return tt_linear(x, l->w, l->b); }

int nn_param_to_host(float *dst, const tt_tensor *t, int64_t rows, int64_t cols, const char *who, const char *name) {
    int nd = t ? tt_ndim(t) : 0;
    int ok = t && (rows ? nd == 2 && tt_size(t, 0) == rows && tt_size(t, 1) == cols : nd == 1 && tt_size(t, 0) == cols);
    if (!ok) {
        char *desc = t ? tt_describe(t) : NULL, want[64];
        if (rows) snprintf(want, sizeof want, "[%lld, %lld]", (long long)rows, (long long)cols);
        else snprintf(want, sizeof want, "[%lld]", (long long)cols);
        tt_fail("%s: parameter %s is %s, expected %s", who, name, desc ? desc : "missing", want);
        free(desc);
        return -1;
    }
    tt_scope_begin();
    int rc = tt_to_data(tt_to_dtype(t, TT_F32), dst, (size_t)(rows ? rows : 1) * cols * sizeof *dst);
    tt_scope_end();
    return rc;
}

tt_tensor *nn_norm_fwd(const nn_norm *n, const tt_tensor *x) {
    return n->rms ? tt_rms_norm(x, n->w, n->eps) : tt_layer_norm(x, n->w, n->b, n->eps);
}

/* q, k, v [B,H,T,D] of x [B,T,C]. */
static void qkv_heads(const nn_attention *a, const tt_tensor *x, tt_tensor **q, tt_tensor **k, tt_tensor **v) {
    int64_t B = tt_size(x, 0), T = tt_size(x, 1), C = tt_size(x, 2);
    int64_t H = a->n_heads, D = C / H;
    /* [B,T,3C] -> [B,T,3,H,D] -> [3,B,H,T,D] */
    tt_tensor *qkv = tt_permute(tt_reshape(nn_linear_fwd(&a->qkv, x), TT_SHAPE(B, T, 3, H, D)), TT_SHAPE(2, 0, 3, 1, 4));
    *q = tt_select(qkv, 0, 0);
    *k = tt_select(qkv, 0, 1);
    *v = tt_select(qkv, 0, 2);
}

/* [B,H,T,D] heads -> output projection of [B,T,C]. */
static tt_tensor *merge_heads(const nn_attention *a, const tt_tensor *y, const tt_tensor *x) {
    int64_t B = tt_size(x, 0), T = tt_size(x, 1), C = tt_size(x, 2);
    return nn_linear_fwd(&a->proj, tt_reshape(tt_transpose(y, 1, 2), TT_SHAPE(B, T, C)));
}

tt_tensor *nn_attention_fwd(const nn_attention *a, const tt_tensor *x, int causal, const tt_tensor *mask) {
    return nn_linear_fwd(&a->proj, tt_attention_qkv(nn_linear_fwd(&a->qkv, x), a->n_heads, mask, causal, 0.0));
}

tt_tensor *nn_mlp_fwd(const nn_mlp *m, const tt_tensor *x) {
    return nn_linear_fwd(&m->proj, tt_gelu(nn_linear_fwd(&m->fc, x), 1));
}

tt_tensor *nn_block_fwd(const nn_block *b, const tt_tensor *x, int causal, const tt_tensor *mask) {
    return nn_block_fwd_dropout(b, x, causal, mask, 0.0, NULL);
}

/* ---- additions for the Video-Robin model ---- */

int nn_fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tt_fail("%s", msg);
    return -1;
}

static void model_vfail(const char *fmt, va_list ap) {
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    vr_fail("%s", msg);
    tt_fail("%s", msg);
}

int model_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    model_vfail(fmt, ap);
    va_end(ap);
    return -1;
}

void *model_fail_null(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    model_vfail(fmt, ap);
    va_end(ap);
    return NULL;
}

int model_op_failed_rc(const char *what) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", tt_last_error());
    return model_fail("%s: %s", what, msg);
}

void *model_op_failed(const char *what) {
    model_op_failed_rc(what);
    return NULL;
}

int model_cfg_int(const cfg *c, const char *key, int64_t lo, int64_t hi, int *out) {
    int64_t v = cfg_int(c, key);
    if (v < lo || v > hi)
        return model_fail("%s (%s) is %lld, expected %lld..%lld", key, cfg_origin(c, key), (long long)v, (long long)lo,
                          (long long)hi);
    *out = (int)v;
    return 0;
}

int model_check_conditions(const vr_batch *b, const char *who, int use_video, int Dv, int use_text) {
    if (use_video && (!b->video || b->Dv != Dv || b->Tv < 1))
        return model_fail("%s: batch video features are [%d frames, %d dims], the model needs >= 1 frame of "
                          "model.video_dim = %d dims (or model.use_video: false)",
                          who, b->video ? b->Tv : 0, b->video ? b->Dv : 0, Dv);
    if (use_text && (!b->text || !b->text_len || b->max_text < 0))
        return model_fail("%s: batch has no captions (model.use_text is true)", who);
    for (int i = 0; use_text && i < b->B; i++)
        if (b->text_len[i] < 0 || b->text_len[i] > b->max_text)
            return model_fail("%s: clip '%s': caption length %d, expected 0..%d bytes", who, b->id ? b->id[i] : "?",
                              b->text_len[i], b->max_text);
    return 0;
}

tt_tensor *model_normalised_audio(const vr_model *m, const vr_batch *b, const char *who) {
    tt_tensor *x = tt_from_data(b->audio, TT_F32, TT_SHAPE(b->B, b->T, b->D));
    if (!m->norm_mean || !m->norm_std) return x;
    for (int i = 0; i < b->D; i++)
        if (!(m->norm_std[i] > 0) || !isfinite(m->norm_std[i]) || !isfinite(m->norm_mean[i]))
            return model_fail_null("%s: latent normalisation channel %d has mean %g, std %g; expected finite, std > 0",
                                   who, i, m->norm_mean[i], m->norm_std[i]);
    tt_tensor *mean = tt_from_data(m->norm_mean, TT_F32, TT_SHAPE(b->D));
    tt_tensor *std = tt_from_data(m->norm_std, TT_F32, TT_SHAPE(b->D));
    return tt_div(tt_sub(x, mean), std);
}

void model_clip_rng(vr_rng *r, uint64_t run_seed, const vr_batch *b, int i) {
    uint64_t clip = b->clip ? (uint64_t)b->clip[i] : (uint64_t)(b->position * b->B + i);
    vr_rng_seed_stream(r, run_seed ^ ((uint64_t)b->epoch * 0x9e3779b97f4a7c15ULL), clip);
}

tt_tensor *nn_dropout(tt_tensor *x, double p, tt_gen *g) { return g && p > 0 ? tt_dropout(x, p, 1, g) : x; }

tt_tensor *nn_block_fwd_dropout(const nn_block *b, const tt_tensor *x, int causal, const tt_tensor *mask, double p,
                                tt_gen *g) {
    tt_tensor *h = tt_add(x, nn_dropout(nn_attention_fwd(&b->attn, nn_norm_fwd(&b->norm1, x), causal, mask), p, g));
    return tt_add(h, nn_dropout(nn_mlp_fwd(&b->mlp, nn_norm_fwd(&b->norm2, h)), p, g));
}

tt_tensor *nn_sinusoid_table(const double *pos, int64_t n, int dim) {
    if (dim <= 0 || dim % 2 || n < 0) return tt_fail("nn_sinusoid_table: dim %d must be even and positive", dim);
    int h = dim / 2;
    float *buf = malloc((size_t)(n > 0 ? n : 1) * dim * sizeof *buf);
    if (!buf) return tt_fail("nn_sinusoid_table: out of memory for %lld x %d", (long long)n, dim);
    for (int64_t r = 0; r < n; r++)
        for (int i = 0; i < h; i++) {
            double a = pos[r] * pow(10000.0, -(double)i / h);
            buf[r * dim + i] = (float)sin(a);
            buf[r * dim + h + i] = (float)cos(a);
        }
    tt_tensor *t = tt_from_data(buf, TT_F32, TT_SHAPE(n, dim));
    free(buf);
    return t;
}

tt_tensor *nn_sinusoid_embed(const tt_tensor *x, int dim) {
    if (dim <= 0 || dim % 2) return tt_fail("nn_sinusoid_embed: dim %d must be even and positive", dim);
    int h = dim / 2;
    float w[h];
    for (int i = 0; i < h; i++) w[i] = (float)pow(10000.0, -(double)i / h);
    tt_tensor *args = tt_mul(tt_unsqueeze(x, -1), tt_to_dtype(tt_from_data(w, TT_F32, TT_SHAPE(h)), tt_dtype_of(x)));
    return tt_cat((tt_tensor *[]){tt_sin(args), tt_cos(args)}, 2, -1); /* [N, dim] */
}

int nn_kv_cache_init(nn_kv_cache *c, int64_t B, int n_heads, int64_t head_dim, int64_t cap) {
    c->len = 0;
    c->cap = cap;
    c->k = tt_zeros(TT_SHAPE(B, n_heads, cap, head_dim), TT_F32);
    c->v = tt_zeros(TT_SHAPE(B, n_heads, cap, head_dim), TT_F32);
    return c->k && c->v ? 0 : -1;
}

void nn_kv_cache_free(nn_kv_cache *c) {
    tt_free(c->k);
    tt_free(c->v);
    c->k = c->v = NULL;
    c->len = c->cap = 0;
}

tt_tensor *nn_attention_step(const nn_attention *a, const tt_tensor *x, nn_kv_cache *c, int causal,
                             const tt_tensor *mask) {
    if (!x) return NULL;
    int64_t tn = tt_size(x, 1);
    if (c->len + tn > c->cap)
        return tt_fail("nn_attention_step: KV cache full (%lld + %lld tokens > capacity %lld)", (long long)c->len,
                       (long long)tn, (long long)c->cap);
    tt_tensor *q, *k, *v;
    qkv_heads(a, x, &q, &k, &v); /* [B,H,Tn,D] each */
    if (tt_copy_(tt_slice(c->k, 2, c->len, c->len + tn, 1), k) || tt_copy_(tt_slice(c->v, 2, c->len, c->len + tn, 1), v))
        return NULL;
    c->len += tn;
    tt_tensor *keys = tt_slice(c->k, 2, 0, c->len, 1), *vals = tt_slice(c->v, 2, 0, c->len, 1);
    return merge_heads(a, tt_attention(q, keys, vals, mask, causal, 0.0), x);
}

tt_tensor *nn_block_step(const nn_block *b, const tt_tensor *x, nn_kv_cache *c, int causal, const tt_tensor *mask) {
    tt_tensor *h = tt_add(x, nn_attention_step(&b->attn, nn_norm_fwd(&b->norm1, x), c, causal, mask));
    return tt_add(h, nn_mlp_fwd(&b->mlp, nn_norm_fwd(&b->norm2, h)));
}
