/* fullseq.c — the full-sequence DiT baseline; see fullseq.h for the data flow. */
#include "models/fullseq.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/encoders.h"
#include "models/locdit.h"
#include "models/planner.h"

typedef struct fullseq {
    int d, n_heads, F, M, Dv, n_layers;
    int use_text, use_video;
    double dropout, cond_dropout, cfg_scale;
    int steps;
    uint64_t seed; /* run.seed: per-clip flow draws come from (seed, epoch, clip) */
    enc_text text;
    enc_video video;
    nn_linear in;           /* [d, F*M] patch -> token */
    tt_tensor *type;        /* [3, d] text, video, audio */
    nn_linear t_fc1, t_fc2; /* flow-time MLP */
    dit_block *blocks;      /* n_layers */
    nn_linear final_ada;    /* [2d, d] */
    nn_linear out;          /* [F*M, d] */
} fullseq;

static int zero_linear(nn_linear *l, tt_params *p, const char *name, int in, int out, tt_gen *g) {
    return nn_linear_init(l, p, name, in, out, 1, g) ? -1 : tt_zero_(l->w);
}

static int fullseq_init(vr_model *m, const cfg *c, tt_gen *g) {
    fullseq *f = calloc(1, sizeof *f);
    if (!f) return model_fail("fullseq_dit: out of memory");
    m->state = f;
    m->ops = &fullseq_ops;
    if (!m->params && !(m->params = tt_params_new())) return -1;
    tt_params *p = m->params;
    f->seed = (uint64_t)cfg_int(c, "run.seed");
    int text_layers = 0;
    const char *latent_key = cfg_int(c, "model.latent_dim") ? "model.latent_dim" : "data.n_mels";
    if (model_cfg_int(c, "model.d_model", 2, 1 << 16, &f->d) ||
        model_cfg_int(c, "model.n_heads", 1, f->d, &f->n_heads) ||
        model_cfg_int(c, "model.patch_frames", 1, 1 << 12, &f->F) || model_cfg_int(c, latent_key, 1, 1 << 16, &f->M) ||
        model_cfg_int(c, "model.video_dim", 1, 1 << 16, &f->Dv) ||
        model_cfg_int(c, "model.dit_layers", 1, 1024, &f->n_layers) ||
        model_cfg_int(c, "model.text_layers", 0, 1024, &text_layers) ||
        model_cfg_int(c, "model.sample_steps", 1, 1 << 20, &f->steps))
        return -1;
    if (f->d % f->n_heads || f->d % 2)
        return model_fail("model.n_heads (%s) = %d must divide model.d_model (%s) = %d, which must be even",
                          cfg_origin(c, "model.n_heads"), f->n_heads, cfg_origin(c, "model.d_model"), f->d);
    f->use_text = cfg_bool(c, "model.use_text");
    f->use_video = cfg_bool(c, "model.use_video");
    f->dropout = cfg_float(c, "model.dropout");
    f->cond_dropout = cfg_float(c, "model.cond_dropout");
    f->cfg_scale = cfg_float(c, "model.cfg_scale");
    if (!(f->dropout >= 0 && f->dropout < 1) || !(f->cond_dropout >= 0 && f->cond_dropout < 1))
        return model_fail("model.dropout (%s) = %g and model.cond_dropout (%s) = %g must be in [0, 1)",
                          cfg_origin(c, "model.dropout"), f->dropout, cfg_origin(c, "model.cond_dropout"),
                          f->cond_dropout);
    if (!(f->cfg_scale >= 0))
        return model_fail("model.cfg_scale (%s) = %g must be >= 0", cfg_origin(c, "model.cfg_scale"), f->cfg_scale);
    f->blocks = calloc((size_t)f->n_layers, sizeof *f->blocks);
    if (!f->blocks) return model_fail("fullseq_dit: out of memory");

    if (f->use_text && enc_text_init(&f->text, p, "text", f->d, f->n_heads, text_layers, g)) return -1;
    if (f->use_video && enc_video_init(&f->video, p, "video", f->Dv, f->d, g)) return -1;
    char name[256];
#define PART(s) (snprintf(name, sizeof name, "dit.%s", s), name)
    if (nn_linear_init(&f->in, p, PART("in"), f->F * f->M, f->d, 1, g)) return -1;
    tt_tensor *type = tt_randn(g, TT_SHAPE(3, f->d), TT_F32);
    if (type) tt_mul_scalar_(type, 0.02);
    if (!(f->type = tt_params_add(p, PART("type"), type))) return -1;
    if (nn_linear_init(&f->t_fc1, p, PART("t_fc1"), f->d, f->d, 1, g) ||
        nn_linear_init(&f->t_fc2, p, PART("t_fc2"), f->d, f->d, 1, g))
        return -1;
    for (int i = 0; i < f->n_layers; i++) {
        snprintf(name, sizeof name, "dit.blocks.%d", i);
        if (dit_block_init(&f->blocks[i], p, name, f->d, f->n_heads, g)) return -1;
    }
    /* adaLN-Zero: every block starts as the identity and the prediction at 0 */
    if (zero_linear(&f->final_ada, p, PART("final_ada"), f->d, 2 * f->d, g)) return -1;
    return zero_linear(&f->out, p, PART("out"), f->d, f->F * f->M, g);
#undef PART
}

static void fullseq_free_state(vr_model *m) {
    fullseq *f = m->state;
    if (!f) return;
    enc_text_free(&f->text);
    free(f->blocks);
    free(f);
    m->state = NULL;
}

/* ---- batch checks and inputs ---- */

static int check_batch(const fullseq *f, const vr_batch *b, int need_audio) {
    if (b->B < 1) return model_fail("fullseq_dit: empty batch");
    if (b->T < f->F || b->T % f->F)
        return model_fail("fullseq_dit: clips of %d latent frames (first clip '%s'), expected a positive multiple of "
                          "model.patch_frames = %d",
                          b->T, b->id ? b->id[0] : "?", f->F);
    if (need_audio && (!b->audio || b->D != f->M))
        return model_fail("fullseq_dit: batch latent has %d channels, the model was built for %d (model.latent_dim / "
                          "data.n_mels)",
                          b->audio ? b->D : 0, f->M);
    return model_check_conditions(b, "fullseq_dit", f->use_video, f->Dv, f->use_text);
}

/* The condition tokens [B, Lc, d] (caption, then video frames) and their key validity [B, Lc]
 * bool (caption padding false). *Lc = 0 (and NULL) when the model reads neither; -1 on error. */
static tt_tensor *cond_tokens(const fullseq *f, const vr_batch *b, double p, tt_gen *g, tt_tensor **valid,
                              int64_t *Lc) {
    int64_t B = b->B;
    tt_tensor *parts[2], *vparts[2];
    int n = 0;
    *Lc = -1;
    *valid = NULL;
    if (f->use_text) {
        int64_t *ids;
        uint8_t *tvalid;
        int L;
        if (enc_text_tokens(b->text, b->text_len, b->B, b->max_text, &ids, &tvalid, &L))
            return model_op_failed("fullseq_dit");
        tt_tensor *id_t = tt_from_data(ids, TT_I64, TT_SHAPE(B, L));
        tt_tensor *tv = tt_from_data(tvalid, TT_BOOL, TT_SHAPE(B, L));
        free(ids);
        free(tvalid);
        parts[n] = tt_add(enc_text_fwd(&f->text, id_t, tt_reshape(tv, TT_SHAPE(B, 1, 1, L)), p, g),
                          tt_select(f->type, 0, 0));
        vparts[n++] = tv;
    }
    if (f->use_video) {
        int64_t Tv = b->Tv;
        double pos[Tv];
        for (int64_t j = 0; j < Tv; j++) pos[j] = (double)j;
        tt_tensor *v = enc_video_fwd(&f->video, tt_from_data(b->video, TT_F32, TT_SHAPE(B, Tv, b->Dv)));
        parts[n] = tt_add(tt_add(v, nn_sinusoid_table(pos, Tv, f->d)), tt_select(f->type, 0, 1));
        vparts[n++] = tt_ones(TT_SHAPE(B, Tv), TT_BOOL);
    }
    if (!n) {
        *Lc = 0;
        return NULL;
    }
    tt_tensor *x = n == 1 ? parts[0] : tt_cat(parts, n, 1);
    *valid = n == 1 ? vparts[0] : tt_cat(vparts, n, 1);
    if (!x || !*valid) return model_op_failed("fullseq_dit condition tokens");
    *Lc = tt_size(x, 1);
    return x;
}

/* ---- the network ---- */

/* LN(x) * (1 + scale) + shift; x [B,S,d], shift/scale [B,1,d] */
static tt_tensor *modulate(const tt_tensor *x, const tt_tensor *shift, const tt_tensor *scale) {
    return tt_ln_modulate(x, shift, scale, 1e-6);
}

/* The LocDiT block with a key mask [B,1,1,S] (locdit's dit_block_fwd attends to every token). */
static tt_tensor *block_fwd(const dit_block *b, const tt_tensor *x, const tt_tensor *cond_act, const tt_tensor *mask,
                            double p, tt_gen *g) {
    tt_tensor *m[6]; /* shift1 scale1 gate1 shift2 scale2 gate2, each [B,1,d] */
    if (tt_chunk(tt_unsqueeze(nn_linear_fwd(&b->ada, cond_act), 1), 6, -1, m)) return NULL;
    tt_tensor *att = nn_dropout(nn_attention_fwd(&b->attn, modulate(x, m[0], m[1]), 0, mask), p, g);
    tt_tensor *h = tt_gated_add(x, m[2], att);
    return tt_gated_add(h, m[5], nn_dropout(nn_mlp_fwd(&b->mlp, modulate(h, m[3], m[4])), p, g));
}

/* v [R, T, M] for x_t [R, T, M] at times t [R], given condition tokens cond [R, Lc, d] (NULL when
 * Lc = 0) and the condition keys' validity cvalid [R, Lc] bool (dropped rows all false). Tv: video
 * frames (audio token positions live on their axis). */
static tt_tensor *velocity(const fullseq *f, const tt_tensor *cond, const tt_tensor *cvalid, const tt_tensor *xt,
                           const tt_tensor *t, int64_t Tv, double p, tt_gen *g) {
    int64_t R = tt_size(xt, 0), T = tt_size(xt, 1), P = T / f->F, Lc = cond ? tt_size(cond, 1) : 0, S = Lc + P;
    double pos[P];
    plan_audio_positions(pos, P, f->use_video ? Tv : 0);
    tt_tensor *a = nn_linear_fwd(&f->in, tt_reshape(xt, TT_SHAPE(R, P, f->F * f->M)));
    a = tt_add(tt_add(a, nn_sinusoid_table(pos, P, f->d)), tt_select(f->type, 0, 2));       /* [R,P,d] */
    tt_tensor *x = cond ? tt_cat((tt_tensor *[]){(tt_tensor *)cond, a}, 2, 1) : a;           /* [R,S,d] */
    tt_tensor *mask = NULL;
    if (cond)
        mask = tt_reshape(tt_cat((tt_tensor *[]){(tt_tensor *)cvalid, tt_ones(TT_SHAPE(R, P), TT_BOOL)}, 2, 1),
                          TT_SHAPE(R, 1, 1, S));
    tt_tensor *temb = nn_sinusoid_embed(tt_mul_scalar(t, 1000.0), f->d);                     /* [R,d] */
    tt_tensor *cond_act = tt_silu(nn_linear_fwd(&f->t_fc2, tt_silu(nn_linear_fwd(&f->t_fc1, temb))));
    for (int i = 0; i < f->n_layers; i++) x = block_fwd(&f->blocks[i], x, cond_act, mask, p, g);
    tt_tensor *fm[2]; /* shift, scale [R,1,d] */
    if (tt_chunk(tt_unsqueeze(nn_linear_fwd(&f->final_ada, cond_act), 1), 2, -1, fm)) return NULL;
    tt_tensor *v = nn_linear_fwd(&f->out, modulate(tt_slice(x, 1, Lc, S, 1), fm[0], fm[1])); /* [R,P,F*M] */
    return tt_reshape(v, TT_SHAPE(R, T, f->M));
}

/* cvalid with the rows of drop [B] bool (may be NULL) all false */
static tt_tensor *apply_drop(const tt_tensor *cvalid, const tt_tensor *drop) {
    if (!drop) return (tt_tensor *)cvalid;
    return tt_logical_and(cvalid, tt_logical_not(tt_unsqueeze(drop, 1)));
}

tt_tensor *fullseq_velocity(vr_model *m, const vr_batch *b, const tt_tensor *xt, const tt_tensor *t,
                            const tt_tensor *drop) {
    fullseq *f = m->state;
    if (check_batch(f, b, 0)) return NULL;
    if (tt_ndim(xt) != 3 || tt_size(xt, 0) != b->B || tt_size(xt, 1) != b->T || tt_size(xt, 2) != f->M ||
        tt_numel(t) != b->B || (drop && tt_numel(drop) != b->B))
        return model_fail_null("fullseq_velocity: x_t must be [%d, %d, %d], t and drop [%d]", b->B, b->T, f->M, b->B);
    tt_tensor *cvalid;
    int64_t Lc;
    tt_tensor *cond = cond_tokens(f, b, 0.0, NULL, &cvalid, &Lc);
    if (Lc < 0) return NULL;
    tt_tensor *v = velocity(f, cond, cond ? apply_drop(cvalid, drop) : NULL, xt, tt_reshape(t, TT_SHAPE(b->B)), b->Tv,
                            0.0, NULL);
    return v ? v : model_op_failed("fullseq_velocity");
}

/* ---- loss ---- */

tt_tensor *fullseq_loss_with(vr_model *m, const vr_batch *b, const fullseq_draw *draw, tt_gen *dropout_gen,
                             vr_loss_parts *parts) {
    fullseq *f = m->state;
    if (check_batch(f, b, 1)) return NULL;
    int64_t B = b->B, T = b->T, M = f->M;
    if (!draw->noise || tt_numel(draw->noise) != B * T * M || !draw->t || tt_numel(draw->t) != B ||
        (draw->drop && (tt_numel(draw->drop) != B || tt_dtype_of(draw->drop) != TT_BOOL)))
        return model_fail_null(
            "fullseq_loss_with: draws must be noise [%lld, %lld, %lld], t [%lld] and drop bool [%lld] or NULL",
            (long long)B, (long long)T, (long long)M, (long long)B, (long long)B);
    double p = dropout_gen ? f->dropout : 0.0;
    tt_tensor *x1 = model_normalised_audio(m, b, "fullseq_dit");
    if (!x1) return NULL;
    tt_tensor *cvalid;
    int64_t Lc;
    tt_tensor *cond = cond_tokens(f, b, p, dropout_gen, &cvalid, &Lc);
    if (Lc < 0) return NULL;
    tt_tensor *noise = tt_reshape(draw->noise, TT_SHAPE(B, T, M));
    tt_tensor *t = tt_reshape(draw->t, TT_SHAPE(B));
    tt_tensor *tb = tt_reshape(t, TT_SHAPE(B, 1, 1));
    tt_tensor *xt = tt_add(tt_mul(tt_rsub_scalar(1.0, tb), noise), tt_mul(tb, x1)); /* (1-t) noise + t x1 */
    tt_tensor *v = velocity(f, cond, cond ? apply_drop(cvalid, draw->drop) : NULL, xt, t, b->Tv, p, dropout_gen);
    tt_tensor *loss = tt_mse_loss(v, tt_sub(x1, noise));
    if (!loss) return model_op_failed("fullseq_dit loss");
    if (parts) {
        double flow;
        if (tt_item(loss, &flow)) return model_op_failed("fullseq_dit loss");
        parts->n = 1;
        parts->name[0] = "flow";
        parts->value[0] = flow;
    }
    return loss;
}

/* A clip's draws (noise [T, M], t, condition dropout) from a generator seeded by (run.seed,
 * epoch, clip index), as robin's: the same whichever rank or micro-batch the clip lands in. */
static int draw_for_batch(const fullseq *f, const vr_batch *b, int train, fullseq_draw *d) {
    int use_drop = train && f->cond_dropout > 0;
    tt_tensor **noise = calloc((size_t)b->B * 3, sizeof *noise), **t = noise + b->B, **drop = noise + 2 * b->B;
    if (!noise) return model_fail("fullseq_dit loss: out of memory");
    for (int i = 0; i < b->B; i++) {
        vr_rng mix;
        model_clip_rng(&mix, f->seed, b, i);
        tt_gen *gi = tt_gen_new(vr_rng_u64(&mix));
        noise[i] = tt_randn(gi, TT_SHAPE(1, b->T, f->M), TT_F32);
        t[i] = tt_rand(gi, TT_SHAPE(1), TT_F32);
        drop[i] = use_drop ? tt_lt_scalar(tt_rand(gi, TT_SHAPE(1), TT_F32), f->cond_dropout) : NULL;
        tt_gen_free(gi);
    }
    d->noise = tt_cat(noise, b->B, 0);
    d->t = tt_cat(t, b->B, 0);
    d->drop = use_drop ? tt_cat(drop, b->B, 0) : NULL;
    free(noise);
    return d->noise && d->t && (!use_drop || d->drop) ? 0 : -1;
}

static tt_tensor *fullseq_loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    fullseq *f = m->state;
    if (check_batch(f, b, 1)) return NULL;
    if (train && f->dropout > 0 && !g) return model_fail_null("fullseq_dit loss: model.dropout needs a generator");
    fullseq_draw draw;
    if (draw_for_batch(f, b, train, &draw)) return model_op_failed("fullseq_dit loss");
    return fullseq_loss_with(m, b, &draw, train ? g : NULL, parts);
}

const vr_model_ops fullseq_ops = {
    .kind = "fullseq_dit", .init = fullseq_init, .loss = fullseq_loss, .free_state = fullseq_free_state};

/* ---- generation ---- */

tt_tensor *fullseq_generate(vr_model *m, const vr_batch *b, const fullseq_gen_opts *opts, tt_gen *g) {
    fullseq *f = m->state;
    fullseq_gen_opts o = opts ? *opts : (fullseq_gen_opts){0};
    if (check_batch(f, b, 0)) return NULL;
    int64_t B = b->B, T = b->T, M = f->M, Hf = 0;
    if (!g && !o.clip_gens)
        return model_fail_null("fullseq_generate: needs a generator for the sampling noise (g or clip_gens)");
    for (int64_t i = 0; o.clip_gens && i < B; i++)
        if (!o.clip_gens[i])
            return model_fail_null("fullseq_generate: clip '%s' has no noise generator (clip_gens[%lld] is NULL)",
                                   b->id ? b->id[i] : "?", (long long)i);
    if (o.history) {
        const tt_tensor *h = o.history;
        if (tt_ndim(h) != 3 || tt_size(h, 0) != B || tt_size(h, 2) != M || tt_size(h, 1) % f->F || tt_size(h, 1) >= T)
            return model_fail_null(
                "fullseq_generate: history must be [%lld, H*%d, %lld] with H < %lld patches (first clip '%s')",
                (long long)B, f->F, (long long)M, (long long)(T / f->F), b->id ? b->id[0] : "?");
        Hf = tt_size(h, 1);
    }
    int steps = o.steps > 0 ? o.steps : f->steps;
    double scale = o.cfg_scale > 0 ? o.cfg_scale : f->cfg_scale, t0 = vr_now();
    tt_tensor *result = NULL;

    tt_no_grad_begin();
    tt_scope_begin();
    tt_tensor *cvalid, *noise;
    int64_t Lc;
    tt_tensor *cond = cond_tokens(f, b, 0.0, NULL, &cvalid, &Lc);
    int guided = scale != 1.0 && Lc > 0, ok = Lc >= 0;
    int64_t R = guided ? 2 * B : B;
    if (ok && guided) { /* rows [cond ; uncond]: the same tokens, the unconditional rows' condition keys masked */
        cond = tt_cat((tt_tensor *[]){cond, cond}, 2, 0);
        cvalid = tt_cat((tt_tensor *[]){cvalid, tt_zeros(TT_SHAPE(B, Lc), TT_BOOL)}, 2, 0);
    }
    if (o.clip_gens) {
        tt_tensor *rows[B];
        for (int64_t i = 0; i < B; i++) rows[i] = tt_randn(o.clip_gens[i], TT_SHAPE(1, T, M), TT_F32);
        noise = tt_cat(rows, (int)B, 0);
    } else {
        noise = tt_randn(g, TT_SHAPE(B, T, M), TT_F32);
    }
    tt_tensor *x = tt_clone(noise);
    ok = ok && x;
    for (int i = 0; ok && i < steps; i++) {
        tt_scope_begin();
        double ti = (double)i / steps;
        if (Hf) { /* the history's point on the straight path at time ti */
            tt_tensor *hx = tt_add(tt_mul_scalar(tt_slice(noise, 1, 0, Hf, 1), 1.0 - ti), tt_mul_scalar(o.history, ti));
            ok = !tt_copy_(tt_slice(x, 1, 0, Hf, 1), hx);
        }
        tt_tensor *xin = guided ? tt_cat((tt_tensor *[]){x, x}, 2, 0) : x;
        tt_tensor *v = ok ? velocity(f, cond, cvalid, xin, tt_full(TT_SHAPE(R), ti, TT_F32), b->Tv, 0.0, NULL) : NULL;
        if (v && guided) {
            tt_tensor *vc = tt_slice(v, 0, 0, B, 1), *vu = tt_slice(v, 0, B, 2 * B, 1);
            v = tt_add(vu, tt_mul_scalar(tt_sub(vc, vu), scale));
        }
        ok = v && !tt_copy_(x, tt_add(x, tt_mul_scalar(v, 1.0 / steps)));
        tt_scope_end();
    }
    if (ok && Hf) ok = !tt_copy_(tt_slice(x, 1, 0, Hf, 1), o.history);
    if (ok) result = tt_keep(x);
    else model_op_failed("fullseq_generate");
    tt_scope_end();
    tt_no_grad_end();
    if (o.seconds) *o.seconds += vr_now() - t0;
    return result;
}
