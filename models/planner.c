/* planner.c — see planner.h. */
#include "models/planner.h"

#include <stdio.h>
#include <stdlib.h>

int plan_init(planner *pl, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g) {
    char name[256];
    pl->n_layers = n_layers;
    pl->d = d;
    pl->n_heads = n_heads;
    pl->blocks = calloc(n_layers > 0 ? n_layers : 1, sizeof *pl->blocks);
    if (!pl->blocks) return nn_fail("plan_init: out of memory");
    snprintf(name, sizeof name, "%s.type", prefix);
    tt_tensor *type = tt_randn(g, TT_SHAPE(3, d), TT_F32);
    if (type) tt_mul_scalar_(type, 0.02);
    if (!(pl->type = tt_params_add(p, name, type))) return -1;
    for (int i = 0; i < n_layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        if (nn_block_init(&pl->blocks[i], p, name, d, n_heads, 4 * d, 0, g)) return -1;
    }
    snprintf(name, sizeof name, "%s.norm", prefix);
    return nn_norm_init(&pl->norm, p, name, d, 0);
}

void plan_free(planner *pl) {
    free(pl->blocks);
    pl->blocks = NULL;
}

static tt_tensor *type_row(const planner *pl, int i) { return tt_select(pl->type, 0, i); } /* [d] */

tt_tensor *plan_prefix(const planner *pl, const tt_tensor *text, const tt_tensor *video) {
    tt_tensor *parts[2];
    int n = 0;
    if (text) parts[n++] = tt_add(text, type_row(pl, 0));
    if (video) {
        int64_t Tv = tt_size(video, 1);
        double pos[Tv > 0 ? Tv : 1];
        for (int64_t i = 0; i < Tv; i++) pos[i] = (double)i;
        parts[n++] = tt_add(tt_add(video, nn_sinusoid_table(pos, Tv, pl->d)), type_row(pl, 1));
    }
    if (n == 0) return NULL;
    return n == 1 ? parts[0] : tt_cat(parts, 2, 1);
}

tt_tensor *plan_batch_prefix(const planner *pl, const enc_text *text_enc, const enc_video *video_enc, const vr_batch *b,
                             double p, tt_gen *g, uint8_t **valid, int64_t *Lp, const char *who) {
    int64_t B = b->B, Lt = 0, Tv = video_enc ? b->Tv : 0;
    uint8_t *tvalid = NULL;
    tt_tensor *text = NULL, *video = NULL, *prefix = NULL;
    *valid = NULL;
    *Lp = -1;
    if (text_enc) {
        int64_t *ids;
        int L;
        if (enc_text_tokens(b->text, b->text_len, b->B, b->max_text, &ids, &tvalid, &L)) return model_op_failed(who);
        Lt = L;
        tt_tensor *id_t = tt_from_data(ids, TT_I64, TT_SHAPE(B, Lt));
        free(ids);
        text = enc_text_fwd(text_enc, id_t, tt_from_data(tvalid, TT_BOOL, TT_SHAPE(B, 1, 1, Lt)), p, g); /* [B,Lt,d] */
    }
    if (video_enc) video = enc_video_fwd(video_enc, tt_from_data(b->video, TT_F32, TT_SHAPE(B, Tv, b->Dv)));
    int64_t n = Lt + Tv;
    uint8_t *v = n ? malloc((size_t)(B * n)) : NULL;
    if (n && !v) {
        model_fail_null("%s: out of memory", who);
    } else if ((!text_enc || text) && (!video_enc || video)) {
        for (int64_t i = 0; i < B; i++)
            for (int64_t j = 0; j < n; j++) v[i * n + j] = j < Lt ? tvalid[i * Lt + j] : 1;
        prefix = plan_prefix(pl, text, video); /* [B,Lt+Tv,d] */
        if (prefix || n == 0) *Lp = n;
    }
    free(tvalid);
    if (*Lp < 0) free(v);
    else *valid = v;
    return prefix;
}

void plan_audio_positions(double *pos, int64_t P, int64_t Tv) {
    for (int64_t k = 0; k < P; k++) pos[k] = Tv > 0 ? (double)k * (double)Tv / (double)P : (double)k;
}

/* Prefix-LM mask [B, 1, S, S] (true = attend): key j < Lp if it is a real prefix token, key
 * j >= Lp (audio) only for audio queries i >= j. */
static tt_tensor *prefix_lm_mask(const uint8_t *valid, int64_t B, int64_t Lp, int64_t S) {
    uint8_t *m = malloc((size_t)(B * S * S > 0 ? B * S * S : 1));
    if (!m) return tt_fail("planner: out of memory for a %lldx%lld mask", (long long)S, (long long)S);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < S; i++)
            for (int64_t j = 0; j < S; j++)
                m[(b * S + i) * S + j] = j < Lp ? valid[b * Lp + j] : (uint8_t)(j <= i);
    tt_tensor *t = tt_from_data(m, TT_BOOL, TT_SHAPE(B, 1, S, S));
    free(m);
    return t;
}

/* Audio history tokens a [B, n, d] at positions pos[n] -> + sinusoid + type[2]. */
static tt_tensor *audio_tokens(const planner *pl, const tt_tensor *a, const double *pos, int64_t n) {
    return tt_add(tt_add(a, nn_sinusoid_table(pos, n, pl->d)), type_row(pl, 2));
}

tt_tensor *plan_fwd(const planner *pl, const tt_tensor *prefix, const uint8_t *prefix_valid, const tt_tensor *audio,
                    const double *pos, double p, tt_gen *g) {
    if (!audio) return NULL;
    int64_t B = tt_size(audio, 0), P = tt_size(audio, 1), Lp = prefix ? tt_size(prefix, 1) : 0, S = Lp + P;
    tt_tensor *x = audio_tokens(pl, audio, pos, P);
    if (prefix) x = tt_cat((tt_tensor *[]){(tt_tensor *)prefix, x}, 2, 1); /* [B,S,d] */
    tt_tensor *mask = prefix ? prefix_lm_mask(prefix_valid, B, Lp, S) : NULL;
    if (prefix && !mask) return NULL;
    for (int i = 0; i < pl->n_layers; i++) x = nn_block_fwd_dropout(&pl->blocks[i], x, mask == NULL, mask, p, g);
    return nn_norm_fwd(&pl->norm, tt_slice(x, 1, Lp, S, 1)); /* [B,P,d] */
}

int plan_cache_init(plan_cache *c, const planner *pl, int64_t B, int64_t Lp, const uint8_t *prefix_valid, int64_t P) {
    int64_t cap = Lp + P;
    c->n_layers = pl->n_layers;
    c->len = 0;
    c->valid = NULL;
    c->kv = calloc(pl->n_layers > 0 ? pl->n_layers : 1, sizeof *c->kv);
    uint8_t *v = malloc((size_t)(B * cap > 0 ? B * cap : 1));
    if (!c->kv || !v) {
        free(v);
        return nn_fail("plan_cache_init: out of memory");
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < cap; j++) v[b * cap + j] = j < Lp ? prefix_valid[b * Lp + j] : 1;
    c->valid = tt_from_data(v, TT_BOOL, TT_SHAPE(B, 1, 1, cap));
    free(v);
    if (!c->valid) return -1;
    for (int i = 0; i < pl->n_layers; i++)
        if (nn_kv_cache_init(&c->kv[i], B, pl->n_heads, pl->d / pl->n_heads, cap)) return -1;
    return 0;
}

void plan_cache_free(plan_cache *c) {
    for (int i = 0; c->kv && i < c->n_layers; i++) nn_kv_cache_free(&c->kv[i]);
    free(c->kv);
    tt_free(c->valid);
    c->kv = NULL;
    c->valid = NULL;
}

/* Layers over the next tokens x [B, n, d] through the caches; keys limited to the valid ones. */
static tt_tensor *through_cache(const planner *pl, plan_cache *c, tt_tensor *x) {
    int64_t n = tt_size(x, 1);
    tt_tensor *mask = tt_slice(c->valid, 3, 0, c->len + n, 1); /* [B,1,1,len+n] */
    for (int i = 0; i < pl->n_layers; i++) x = nn_block_step(&pl->blocks[i], x, &c->kv[i], 0, mask);
    if (x) c->len += n;
    return x;
}

int plan_prefill(const planner *pl, plan_cache *c, const tt_tensor *prefix) {
    if (!prefix) return 0;
    tt_scope_begin();
    int rc = through_cache(pl, c, (tt_tensor *)prefix) ? 0 : -1;
    tt_scope_end();
    return rc;
}

tt_tensor *plan_step(const planner *pl, plan_cache *c, const tt_tensor *a, double pos) {
    return nn_norm_fwd(&pl->norm, through_cache(pl, c, audio_tokens(pl, a, &pos, 1)));
}

tt_tensor *plan_step_fast(const planner *pl, blocks_fast *f, const tt_tensor *a, double pos) {
    return nn_norm_fwd(&pl->norm, blocks_fast_step_tt(f, audio_tokens(pl, a, &pos, 1)));
}
