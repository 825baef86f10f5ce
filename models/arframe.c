/* arframe.c — the autoregressive frame-level baseline; see arframe.h for the data flow. */
#include "models/arframe.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/encoders.h"
#include "models/planner.h"

typedef struct arframe {
    int d, n_heads, M, L, Dv, n_layers;
    int use_text, use_video;
    double range, temperature, dropout, cond_dropout, cfg_scale;
    uint64_t seed; /* run.seed: per-clip condition dropout from (seed, epoch, clip) */
    enc_text text;
    enc_video video;
    planner plan;
    nn_linear in;   /* [d, M] dequantised previous frame -> token */
    tt_tensor *bos; /* [d] the token of frame 0 */
    nn_linear head; /* [M*L, d] */
} arframe;

static int arframe_init(vr_model *m, const cfg *c, tt_gen *g) {
    arframe *a = calloc(1, sizeof *a);
    if (!a) return model_fail("ar_frames: out of memory");
    m->state = a;
    m->ops = &arframe_ops;
    if (!m->params && !(m->params = tt_params_new())) return -1;
    tt_params *p = m->params;
    a->seed = (uint64_t)cfg_int(c, "run.seed");
    int text_layers = 0, F = 0;
    const char *latent_key = cfg_int(c, "model.latent_dim") ? "model.latent_dim" : "data.n_mels";
    if (model_cfg_int(c, "model.d_model", 2, 1 << 16, &a->d) ||
        model_cfg_int(c, "model.n_heads", 1, a->d, &a->n_heads) ||
        model_cfg_int(c, "model.patch_frames", 1, 1, &F) || model_cfg_int(c, latent_key, 1, 1 << 16, &a->M) ||
        model_cfg_int(c, "model.video_dim", 1, 1 << 16, &a->Dv) ||
        model_cfg_int(c, "model.planner_layers", 1, 1024, &a->n_layers) ||
        model_cfg_int(c, "model.text_layers", 0, 1024, &text_layers) ||
        model_cfg_int(c, "model.ar_levels", 2, 1 << 16, &a->L))
        return -1;
    if (a->d % a->n_heads || a->d % 2)
        return model_fail("model.n_heads (%s) = %d must divide model.d_model (%s) = %d, which must be even",
                          cfg_origin(c, "model.n_heads"), a->n_heads, cfg_origin(c, "model.d_model"), a->d);
    a->use_text = cfg_bool(c, "model.use_text");
    a->use_video = cfg_bool(c, "model.use_video");
    a->range = cfg_float(c, "model.ar_range");
    a->temperature = cfg_float(c, "model.ar_temperature");
    a->dropout = cfg_float(c, "model.dropout");
    a->cond_dropout = cfg_float(c, "model.cond_dropout");
    a->cfg_scale = cfg_float(c, "model.cfg_scale");
    if (!(a->range > 0) || !(a->temperature > 0))
        return model_fail("model.ar_range (%s) = %g and model.ar_temperature (%s) = %g must be > 0",
                          cfg_origin(c, "model.ar_range"), a->range, cfg_origin(c, "model.ar_temperature"),
                          a->temperature);
    if (!(a->dropout >= 0 && a->dropout < 1) || !(a->cond_dropout >= 0 && a->cond_dropout < 1))
        return model_fail("model.dropout (%s) = %g and model.cond_dropout (%s) = %g must be in [0, 1)",
                          cfg_origin(c, "model.dropout"), a->dropout, cfg_origin(c, "model.cond_dropout"),
                          a->cond_dropout);
    if (!(a->cfg_scale >= 0))
        return model_fail("model.cfg_scale (%s) = %g must be >= 0", cfg_origin(c, "model.cfg_scale"), a->cfg_scale);
    if (a->use_text && enc_text_init(&a->text, p, "text", a->d, a->n_heads, text_layers, g)) return -1;
    if (a->use_video && enc_video_init(&a->video, p, "video", a->Dv, a->d, g)) return -1;
    if (nn_linear_init(&a->in, p, "ar.in", a->M, a->d, 1, g)) return -1;
    tt_tensor *bos = tt_randn(g, TT_SHAPE(a->d), TT_F32);
    if (bos) tt_mul_scalar_(bos, 0.02);
    if (!(a->bos = tt_params_add(p, "ar.bos", bos))) return -1;
    if (plan_init(&a->plan, p, "planner", a->d, a->n_heads, a->n_layers, g)) return -1;
    return nn_linear_init(&a->head, p, "ar.head", a->d, a->M * a->L, 1, g);
}

static void arframe_free_state(vr_model *m) {
    arframe *a = m->state;
    if (!a) return;
    enc_text_free(&a->text);
    plan_free(&a->plan);
    free(a);
    m->state = NULL;
}

/* ---- tokens ---- */

/* Codes [..] i64 of normalised values x: floor((x + R) / w) clamped to [0, L). */
static tt_tensor *codes_of(const arframe *a, const tt_tensor *x) {
    double w = 2.0 * a->range / a->L;
    return tt_to_dtype(tt_clamp(tt_floor(tt_mul_scalar(tt_add_scalar(x, a->range), 1.0 / w)), 0, a->L - 1), TT_I64);
}

/* The values of codes (any dtype) -> f32: -R + (q + 1/2) w. */
static tt_tensor *values_of(const arframe *a, const tt_tensor *codes) {
    double w = 2.0 * a->range / a->L;
    return tt_add_scalar(tt_mul_scalar(tt_to_dtype(codes, TT_F32), w), 0.5 * w - a->range);
}

/* ---- conditions ---- */

static int check_batch(const arframe *a, const vr_batch *b, int need_audio) {
    if (b->B < 1 || b->T < 1) return model_fail("ar_frames: empty batch (%d clips of %d frames)", b->B, b->T);
    if (need_audio && (!b->audio || b->D != a->M))
        return model_fail("ar_frames: batch latent has %d channels, the model was built for %d (model.latent_dim / "
                          "data.n_mels)",
                          b->audio ? b->D : 0, a->M);
    return model_check_conditions(b, "ar_frames", a->use_video, a->Dv, a->use_text);
}

/* R rows of conditions: row r is clip r % B of b, or the null condition (empty caption, zero video)
 * where null_row[r] (NULL: none). The copies live in *buf (free it); audio is not carried. */
static int cond_rows(const vr_batch *b, int64_t R, const uint8_t *null_row, vr_batch *out, void **buf) {
    size_t nt = (size_t)R * (size_t)b->max_text, nv = b->video ? (size_t)R * (size_t)b->Tv * (size_t)b->Dv : 0;
    size_t row_v = (size_t)b->Tv * (size_t)b->Dv;
    /* one block, widest alignment first: ids, video, caption lengths, caption bytes */
    char *mem = calloc(1, sizeof(char *) * (size_t)R + sizeof(float) * nv + sizeof(int) * (size_t)R + nt + 1);
    if (!(*buf = mem)) return model_fail("ar_frames: out of memory for %lld condition rows", (long long)R);
    const char **id = (const char **)mem;
    float *video = (float *)(id + R);
    int *text_len = (int *)(video + nv);
    uint8_t *text = (uint8_t *)(text_len + R);
    for (int64_t r = 0; r < R; r++) {
        int64_t i = r % b->B;
        int null = null_row && null_row[r];
        text_len[r] = null ? 0 : b->text_len[i];
        id[r] = b->id ? b->id[i] : "?";
        if (b->text) memcpy(text + (size_t)r * (size_t)b->max_text, b->text + (size_t)i * (size_t)b->max_text,
                            (size_t)b->max_text);
        if (b->video && !null) memcpy(video + (size_t)r * row_v, b->video + (size_t)i * row_v, sizeof(float) * row_v);
    }
    *out = *b;
    out->B = (int)R;
    out->audio = NULL;
    out->text_len = text_len;
    out->text = text;
    out->video = b->video ? video : NULL;
    out->id = id;
    out->clip = NULL;
    return 0;
}

/* The planner prefix of b's rows (plan_batch_prefix with the encoders the config turned on). */
static tt_tensor *prefix_of(arframe *a, const vr_batch *b, double p, tt_gen *g, uint8_t **valid, int64_t *Lp) {
    return plan_batch_prefix(&a->plan, a->use_text ? &a->text : NULL, a->use_video ? &a->video : NULL, b, p, g, valid,
                             Lp, "ar_frames");
}

/* Teacher-forced logits [B, T, M, L] for the codes [B, T, M] of the clips; drop [B] bool or NULL. */
static tt_tensor *forward(arframe *a, const vr_batch *b, const tt_tensor *codes, const tt_tensor *drop, double p,
                          tt_gen *g) {
    int64_t B = b->B, T = b->T;
    uint8_t null_row[B];
    memset(null_row, 0, sizeof null_row);
    if (drop && tt_to_data(tt_to_dtype(drop, TT_U8), null_row, sizeof null_row)) return model_op_failed("ar_frames");
    vr_batch nb;
    void *buf;
    if (cond_rows(b, B, null_row, &nb, &buf)) return NULL;
    uint8_t *valid;
    int64_t Lp;
    tt_tensor *prefix = prefix_of(a, &nb, p, g, &valid, &Lp), *logits = NULL;
    free(buf);
    if (Lp < 0) return NULL;
    double pos[T];
    plan_audio_positions(pos, T, a->use_video ? b->Tv : 0);
    tt_tensor *tok = tt_expand(tt_reshape(a->bos, TT_SHAPE(1, 1, a->d)), TT_SHAPE(B, 1, a->d));
    if (T > 1) /* frame k reads the quantised frame k-1 */
        tok = tt_cat((tt_tensor *[]){tok, nn_linear_fwd(&a->in, values_of(a, tt_slice(codes, 1, 0, T - 1, 1)))}, 2, 1);
    tt_tensor *h = plan_fwd(&a->plan, prefix, valid, tok, pos, p, g); /* [B,T,d] */
    free(valid);
    if (h) logits = tt_reshape(nn_linear_fwd(&a->head, h), TT_SHAPE(B, T, a->M, a->L));
    return logits ? logits : model_op_failed("ar_frames forward");
}

static int check_drop(const vr_batch *b, const tt_tensor *drop) {
    if (drop && (tt_numel(drop) != b->B || tt_dtype_of(drop) != TT_BOOL))
        return model_fail("ar_frames: drop must be bool [%d] or NULL", b->B);
    return 0;
}

tt_tensor *arframe_logits(vr_model *m, const vr_batch *b, const tt_tensor *drop) {
    arframe *a = m->state;
    if (check_batch(a, b, 1) || check_drop(b, drop)) return NULL;
    tt_tensor *x1 = model_normalised_audio(m, b, "ar_frames");
    return x1 ? forward(a, b, codes_of(a, x1), drop, 0.0, NULL) : NULL;
}

tt_tensor *arframe_loss_with(vr_model *m, const vr_batch *b, const tt_tensor *drop, tt_gen *dropout_gen,
                             vr_loss_parts *parts) {
    arframe *a = m->state;
    if (check_batch(a, b, 1) || check_drop(b, drop)) return NULL;
    int64_t N = (int64_t)b->B * b->T * a->M;
    tt_tensor *x1 = model_normalised_audio(m, b, "ar_frames");
    if (!x1) return NULL;
    tt_tensor *codes = codes_of(a, x1); /* the inputs (shifted by one frame) and the targets */
    tt_tensor *logits = forward(a, b, codes, drop, dropout_gen ? a->dropout : 0.0, dropout_gen);
    if (!logits) return NULL;
    tt_tensor *loss = tt_cross_entropy(tt_reshape(logits, TT_SHAPE(N, a->L)), tt_reshape(codes, TT_SHAPE(N)));
    if (!loss) return model_op_failed("ar_frames loss");
    if (parts) {
        double ce;
        if (tt_item(loss, &ce)) return model_op_failed("ar_frames loss");
        parts->n = 2;
        parts->name[0] = "ce";
        parts->value[0] = ce;
        parts->name[1] = "bits"; /* per channel code; log2(L) is a uniform guess */
        parts->value[1] = ce / log(2.0);
    }
    return loss;
}

/* A clip's condition dropout from a generator seeded by (run.seed, epoch, clip index), as robin's:
 * the same whichever rank or micro-batch the clip lands in. */
static tt_tensor *drop_for_batch(const arframe *a, const vr_batch *b) {
    uint8_t d[b->B];
    for (int i = 0; i < b->B; i++) {
        vr_rng mix;
        model_clip_rng(&mix, a->seed, b, i);
        d[i] = vr_rng_uniform(&mix) < a->cond_dropout;
    }
    return tt_from_data(d, TT_BOOL, TT_SHAPE(b->B));
}

static tt_tensor *arframe_loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    arframe *a = m->state;
    if (check_batch(a, b, 1)) return NULL;
    if (train && a->dropout > 0 && !g) return model_fail_null("ar_frames loss: model.dropout needs a generator");
    tt_tensor *drop = train && a->cond_dropout > 0 ? drop_for_batch(a, b) : NULL;
    if (train && a->cond_dropout > 0 && !drop) return model_op_failed("ar_frames loss");
    return arframe_loss_with(m, b, drop, train ? g : NULL, parts);
}

const vr_model_ops arframe_ops = {
    .kind = "ar_frames", .init = arframe_init, .loss = arframe_loss, .free_state = arframe_free_state};

/* ---- generation ---- */

tt_tensor *arframe_generate(vr_model *m, const vr_batch *b, const arframe_gen_opts *opts, tt_gen *g) {
    arframe *a = m->state;
    arframe_gen_opts o = opts ? *opts : (arframe_gen_opts){0};
    if (check_batch(a, b, 0)) return NULL;
    int64_t B = b->B, T = b->T, M = a->M, H = 0, d = a->d;
    if (!g && !o.clip_gens)
        return model_fail_null("arframe_generate: needs a generator for the sampling draws (g or clip_gens)");
    for (int64_t i = 0; o.clip_gens && i < B; i++)
        if (!o.clip_gens[i])
            return model_fail_null("arframe_generate: clip '%s' has no generator (clip_gens[%lld] is NULL)",
                                   b->id ? b->id[i] : "?", (long long)i);
    if (o.history) {
        const tt_tensor *h = o.history;
        if (tt_ndim(h) != 3 || tt_size(h, 0) != B || tt_size(h, 2) != M || tt_size(h, 1) > T)
            return model_fail_null("arframe_generate: history must be [%lld, H, %lld] with H <= %lld frames (first "
                                   "clip '%s')",
                                   (long long)B, (long long)M, (long long)T, b->id ? b->id[0] : "?");
        H = tt_size(h, 1);
    }
    double scale = o.cfg_scale > 0 ? o.cfg_scale : a->cfg_scale;
    double inv_temp = 1.0 / (o.temperature > 0 ? o.temperature : a->temperature), t0 = vr_now();
    int guided = scale != 1.0 && (a->use_text || a->use_video);
    int64_t R = guided ? 2 * B : B;
    uint8_t null_row[R];
    for (int64_t r = 0; r < R; r++) null_row[r] = r >= B; /* rows [cond ; uncond] */
    tt_tensor *result = NULL;
    plan_cache pc = {0};
    vr_batch nb;
    void *buf = NULL;
    uint8_t *valid = NULL;

    tt_no_grad_begin();
    tt_scope_begin();
    int64_t Lp = -1;
    tt_tensor *prefix = cond_rows(b, R, null_row, &nb, &buf) ? NULL : prefix_of(a, &nb, 0.0, NULL, &valid, &Lp);
    int ok = Lp >= 0 && !plan_cache_init(&pc, &a->plan, R, Lp, valid, T) && !plan_prefill(&a->plan, &pc, prefix);
    double pos[T];
    plan_audio_positions(pos, T, a->use_video ? b->Tv : 0);
    tt_tensor *out = tt_zeros(TT_SHAPE(B, T, M), TT_F32);
    tt_tensor *prev = tt_zeros(TT_SHAPE(R, M), TT_F32); /* the last frame's values, every row */
    tt_tensor *hist = H ? values_of(a, codes_of(a, o.history)) : NULL; /* the past as training fed it */
    tt_tensor *bos = tt_expand(tt_reshape(a->bos, TT_SHAPE(1, 1, d)), TT_SHAPE(R, 1, d));
    ok = ok && out && prev && bos && (!H || (hist && !tt_copy_(tt_slice(out, 1, 0, H, 1), o.history)));
    for (int64_t k = 0; ok && k < T; k++) {
        tt_scope_begin();
        tt_tensor *tok = k ? tt_reshape(nn_linear_fwd(&a->in, prev), TT_SHAPE(R, 1, d)) : bos;
        tt_tensor *h = plan_step(&a->plan, &pc, tok, pos[k]); /* [R,1,d] */
        tt_tensor *v;
        if (k < H) {
            v = tt_select(hist, 1, k); /* [B,M] */
        } else {
            tt_tensor *l = tt_reshape(nn_linear_fwd(&a->head, h), TT_SHAPE(R, M, a->L));
            if (l && guided) {
                tt_tensor *lc = tt_slice(l, 0, 0, B, 1), *lu = tt_slice(l, 0, B, 2 * B, 1);
                l = tt_add(lu, tt_mul_scalar(tt_sub(lc, lu), scale));
            }
            tt_tensor *cdf = tt_cumsum(tt_softmax(tt_mul_scalar(l, inv_temp), -1), -1); /* [B,M,L] */
            tt_tensor *u;
            if (o.clip_gens) {
                tt_tensor *rows[B];
                for (int64_t i = 0; i < B; i++) rows[i] = tt_rand(o.clip_gens[i], TT_SHAPE(1, M, 1), TT_F32);
                u = tt_cat(rows, (int)B, 0);
            } else {
                u = tt_rand(g, TT_SHAPE(B, M, 1), TT_F32);
            }
            /* inverse CDF: the first level whose cumulative probability reaches u */
            tt_tensor *code = tt_clamp(tt_sum(tt_to_dtype(tt_lt(cdf, u), TT_F32), -1, 0), 0, a->L - 1);
            v = values_of(a, code);
            ok = v && !tt_copy_(tt_select(out, 1, k), v);
            if (ok && o.on_frame) o.on_frame(o.ctx);
        }
        ok = ok && h && v && !tt_copy_(prev, guided ? tt_cat((tt_tensor *[]){v, v}, 2, 0) : v);
        tt_scope_end();
    }
    if (ok) result = tt_keep(out);
    else model_op_failed("arframe_generate");
    plan_cache_free(&pc);
    free(valid);
    free(buf);
    tt_scope_end();
    tt_no_grad_end();
    if (o.seconds) *o.seconds += vr_now() - t0;
    return result;
}
