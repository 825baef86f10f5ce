/* robin.c — the Video-Robin model on the wrapper; see robin.h for the data flow. */
#include "models/robin.h"


#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "models/encoders.h"
#include "models/fsq.h"
#include "models/locdit.h"
#include "models/locdit_fast.h"
#include "models/planner.h"
#include "models/rite.h"

typedef struct robin {
    int d, n_heads, F, M, Dv; /* width, heads, frames per patch, latent channels, video feature width */
    int use_text, use_video, use_fsq, use_rite;
    double dropout, cond_dropout, ctx_dropout, hist_noise, cfg_scale, rollout_prob, hist_dropout;
    int hist_noise_planner, hist_noise_ctx; /* model.hist_noise_to: which readers of the history get the noise */
    int steps, rollout_steps, rollout_threads;
    uint64_t seed; /* run.seed: per-clip flow noise is drawn from (seed, epoch, clip) */
    enc_text text;
    enc_video video;
    enc_audio audio;
    planner plan;
    fsq fsq;
    rite rite;
    locdit dit;
} robin;

static int robin_init(vr_model *m, const cfg *c, tt_gen *g) {
    robin *r = calloc(1, sizeof *r);
    if (!r) return model_fail("robin: out of memory");
    m->state = r;
    m->ops = &robin_ops;
    if (!m->params && !(m->params = tt_params_new())) return -1;
    tt_params *p = m->params;
    r->seed = (uint64_t)cfg_int(c, "run.seed");

    int planner_layers = 0, rite_layers = 0, dit_layers = 0, text_layers = 0;
    const char *latent_key = cfg_int(c, "model.latent_dim") ? "model.latent_dim" : "data.n_mels";
    if (model_cfg_int(c, "model.d_model", 2, 1 << 16, &r->d) ||
        model_cfg_int(c, "model.n_heads", 1, r->d, &r->n_heads) ||
        model_cfg_int(c, "model.patch_frames", 1, 1 << 12, &r->F) || model_cfg_int(c, latent_key, 1, 1 << 16, &r->M) ||
        model_cfg_int(c, "model.video_dim", 1, 1 << 16, &r->Dv) ||
        model_cfg_int(c, "model.planner_layers", 1, 1024, &planner_layers) ||
        model_cfg_int(c, "model.rite_layers", 0, 1024, &rite_layers) ||
        model_cfg_int(c, "model.dit_layers", 1, 1024, &dit_layers) ||
        model_cfg_int(c, "model.text_layers", 0, 1024, &text_layers) ||
        model_cfg_int(c, "model.sample_steps", 1, 1 << 20, &r->steps) ||
        model_cfg_int(c, "model.rollout_steps", 1, 1 << 20, &r->rollout_steps) ||
        model_cfg_int(c, "runtime.rollout_threads", 1, 2, &r->rollout_threads))
        return -1;
    if (r->d % r->n_heads || r->d % 2)
        return model_fail("model.n_heads (%s) = %d must divide model.d_model (%s) = %d, which must be even",
                          cfg_origin(c, "model.n_heads"), r->n_heads, cfg_origin(c, "model.d_model"), r->d);
    r->use_text = cfg_bool(c, "model.use_text");
    r->use_video = cfg_bool(c, "model.use_video");
    r->use_fsq = !strcmp(cfg_str(c, "model.quantizer"), "fsq");
    r->use_rite = rite_layers > 0;
    r->dropout = cfg_float(c, "model.dropout");
    r->cond_dropout = cfg_float(c, "model.cond_dropout");
    r->ctx_dropout = cfg_float(c, "model.ctx_dropout");
    r->hist_noise = cfg_float(c, "model.hist_noise");
    const char *to = cfg_str(c, "model.hist_noise_to"); /* the schema allows both|planner|dit_ctx */
    r->hist_noise_planner = strcmp(to, "dit_ctx") != 0;
    r->hist_noise_ctx = strcmp(to, "planner") != 0;
    r->cfg_scale = cfg_float(c, "model.cfg_scale");
    r->rollout_prob = cfg_float(c, "model.rollout_prob");
    r->hist_dropout = cfg_float(c, "model.hist_dropout");
    if (!(r->dropout >= 0 && r->dropout < 1) || !(r->cond_dropout >= 0 && r->cond_dropout < 1) ||
        !(r->ctx_dropout >= 0 && r->ctx_dropout < 1))
        return model_fail(
            "model.dropout (%s) = %g, model.cond_dropout (%s) = %g and model.ctx_dropout (%s) = %g must be "
            "in [0, 1)",
            cfg_origin(c, "model.dropout"), r->dropout, cfg_origin(c, "model.cond_dropout"), r->cond_dropout,
            cfg_origin(c, "model.ctx_dropout"), r->ctx_dropout);
    if (!(r->cfg_scale >= 0))
        return model_fail("model.cfg_scale (%s) = %g must be >= 0", cfg_origin(c, "model.cfg_scale"), r->cfg_scale);
    if (!(r->hist_noise >= 0 && r->hist_noise <= 10))
        return model_fail("model.hist_noise (%s) = %g must be in [0, 10] (latent std units)",
                          cfg_origin(c, "model.hist_noise"), r->hist_noise);
    if (!(r->rollout_prob >= 0 && r->rollout_prob <= 1))
        return model_fail("model.rollout_prob (%s) = %g must be in [0, 1]", cfg_origin(c, "model.rollout_prob"),
                          r->rollout_prob);
    if (!(r->hist_dropout >= 0 && r->hist_dropout < 1))
        return model_fail("model.hist_dropout (%s) = %g must be in [0, 1)", cfg_origin(c, "model.hist_dropout"),
                          r->hist_dropout);

    /* parameters, in data-flow order */
    if (r->use_text && enc_text_init(&r->text, p, "text", r->d, r->n_heads, text_layers, g)) return -1;
    if (r->use_video && enc_video_init(&r->video, p, "video", r->Dv, r->d, g)) return -1;
    if (enc_audio_init(&r->audio, p, "audio", r->F * r->M, r->d, g)) return -1;
    if (plan_init(&r->plan, p, "planner", r->d, r->n_heads, planner_layers, g)) return -1;
    if (r->use_fsq) {
        int n = cfg_list_len(c, "model.fsq_levels"), levels[FSQ_MAX_DIMS];
        if (n < 1 || n > FSQ_MAX_DIMS)
            return model_fail("model.fsq_levels (%s) has %d levels, expected 1..%d", cfg_origin(c, "model.fsq_levels"),
                              n, FSQ_MAX_DIMS);
        for (int i = 0; i < n; i++) {
            int64_t l = cfg_list_int(c, "model.fsq_levels", i);
            if (l < 2 || l > 1 << 16)
                return model_fail("model.fsq_levels (%s): level %d is %lld, expected 2..65536",
                                  cfg_origin(c, "model.fsq_levels"), i, (long long)l);
            levels[i] = (int)l;
        }
        if (fsq_init(&r->fsq, p, "fsq", r->d, levels, n, g))
            return model_fail("model.fsq_levels (%s): %s", cfg_origin(c, "model.fsq_levels"), tt_last_error());
    }
    if (r->use_rite && rite_init(&r->rite, p, "rite", r->d, r->n_heads, rite_layers, g)) return -1;
    return dit_init(&r->dit, p, "dit", r->d, r->n_heads, dit_layers, r->F, r->M, g);
}

static void robin_free_state(vr_model *m) {
    robin *r = m->state;
    if (!r) return;
    enc_text_free(&r->text);
    plan_free(&r->plan);
    rite_free(&r->rite);
    dit_free(&r->dit);
    free(r);
    m->state = NULL;
}

/* ---- batch checks and inputs ---- */

static int check_batch(const robin *r, const vr_batch *b, int need_audio) {
    if (b->B < 1) return model_fail("robin: empty batch");
    if (b->T < r->F || b->T % r->F)
        return model_fail("robin: clips of %d latent frames (first clip '%s'), expected a positive multiple of "
                          "model.patch_frames = %d",
                          b->T, b->id ? b->id[0] : "?", r->F);
    if (need_audio && (!b->audio || b->D != r->M))
        return model_fail(
            "robin: batch latent has %d channels, the model was built for %d (model.latent_dim / data.n_mels)",
            b->audio ? b->D : 0, r->M);
    return model_check_conditions(b, "robin", r->use_video, r->Dv, r->use_text);
}

/* The planner prefix of b's clips (plan_batch_prefix with the encoders the config turned on). */
static tt_tensor *prefix_of(robin *r, const vr_batch *b, double p, tt_gen *g, uint8_t **valid, int64_t *Lp) {
    return plan_batch_prefix(&r->plan, r->use_text ? &r->text : NULL, r->use_video ? &r->video : NULL, b, p, g, valid,
                             Lp, "robin");
}

/* The conditions c [B, P, d] from normalised patches [B, P, F*M] (teacher forcing). codes: FSQ
 * codes [B, P, n] when FSQ is on (may be NULL). */
static tt_tensor *conditions(robin *r, const vr_batch *b, const tt_tensor *patches, double p, tt_gen *g,
                             tt_tensor **codes) {
    int64_t P = tt_size(patches, 1);
    uint8_t *valid;
    int64_t Lp;
    tt_tensor *prefix = prefix_of(r, b, p, g, &valid, &Lp);
    if (Lp < 0) return NULL;
    double pos[P];
    plan_audio_positions(pos, P, r->use_video ? b->Tv : 0);
    tt_tensor *a = enc_audio_fwd(&r->audio, patches);                     /* [B,P,d] */
    tt_tensor *h = plan_fwd(&r->plan, prefix, valid, a, pos, p, g);      /* [B,P,d] */
    free(valid);
    tt_tensor *q = r->use_fsq ? fsq_fwd(&r->fsq, h, codes) : h;          /* [B,P,d] */
    return r->use_rite ? rite_fwd(&r->rite, q, p, g) : q;              /* [B,P,d] */
}

/* ---- loss ---- */

/* LocDiT's context of every patch at once [B*P, F, M]: the previous patch of hist [B, P, F*M],
 * zeros before the first. */
static tt_tensor *previous_patches(const robin *r, const tt_tensor *hist) {
    int64_t B = tt_size(hist, 0), P = tt_size(hist, 1);
    tt_tensor *prev = tt_cat((tt_tensor *[]){tt_zeros(TT_SHAPE(B, 1, (int64_t)r->F * r->M), TT_F32),
                                             tt_slice(hist, 1, 0, P - 1, 1)}, 2, 1);
    return tt_reshape(prev, TT_SHAPE(B * P, r->F, r->M));
}

/* model.rollout_prob: the model's own sample of every patch [B, P, F*M], drawn as generation would
 * with the history real up to it (the teacher-forced plan, the real previous patch as LocDiT's
 * context, guidance at model.cfg_scale), model.rollout_steps Euler steps from `noise` [B*P, F, M].
 * All patches at once and without gradient: parallel scheduled sampling (Duckworth et al. 2019),
 * one pass. The C kernel on the CPU, as generation (same numbers to ~1e-6). */
static tt_tensor *own_samples(robin *r, const vr_batch *b, const tt_tensor *patches, const tt_tensor *noise) {
    int64_t B = tt_size(patches, 0), P = tt_size(patches, 1), N = B * P;
    tt_no_grad_begin();
    tt_scope_begin();
    tt_tensor *c = conditions(r, b, patches, 0.0, NULL, NULL), *x = NULL;
    if (c) {
        c = tt_reshape(c, TT_SHAPE(N, r->d));
        tt_tensor *ctx = previous_patches(r, patches);
        dit_fast *fast = tt_get_default_device() == TT_CPU ? dit_fast_new(&r->dit, r->rollout_threads, DIT_FP32) : NULL;
        if (fast || tt_get_default_device() != TT_CPU)
            x = fast ? dit_fast_sample_tt(fast, ctx, c, noise, r->rollout_steps, DIT_EULER, r->cfg_scale)
                     : dit_sample(&r->dit, ctx, c, noise, r->rollout_steps, DIT_EULER, r->cfg_scale);
        dit_fast_free(fast);
        x = tt_keep(x ? tt_reshape(x, TT_SHAPE(B, P, (int64_t)r->F * r->M)) : NULL);
    }
    tt_scope_end();
    tt_no_grad_end();
    return x;
}

tt_tensor *robin_loss_with(vr_model *m, const vr_batch *b, const robin_draw *draw, tt_gen *dropout_gen,
                           vr_loss_parts *parts) {
    robin *r = m->state;
    if (check_batch(r, b, 1)) return NULL;
    int64_t B = b->B, P = b->T / r->F, N = B * P, F = r->F, M = r->M;
    if (!draw->noise || tt_numel(draw->noise) != N * F * M || !draw->t || tt_numel(draw->t) != N ||
        (draw->drop && (tt_numel(draw->drop) != N || tt_dtype_of(draw->drop) != TT_BOOL)) ||
        (draw->ctx_drop && (tt_numel(draw->ctx_drop) != N || tt_dtype_of(draw->ctx_drop) != TT_BOOL)) ||
        (draw->hist_noise && tt_numel(draw->hist_noise) != N * F * M) || !draw->rollout != !draw->rollout_noise ||
        (draw->rollout && (tt_numel(draw->rollout) != N || tt_dtype_of(draw->rollout) != TT_BOOL ||
                           tt_numel(draw->rollout_noise) != N * F * M)) ||
        (draw->hist_drop && (tt_numel(draw->hist_drop) != B || tt_dtype_of(draw->hist_drop) != TT_BOOL)))
        return model_fail_null(
            "robin_loss_with: draws must be noise [%lld, %lld, %lld], t [%lld], drop and ctx_drop bool [%lld] "
            "or NULL, hist_noise like noise or NULL, rollout bool [%lld] with rollout_noise like noise, or both NULL, "
            "hist_drop bool [%lld] or NULL",
            (long long)N, (long long)F, (long long)M, (long long)N, (long long)N, (long long)N, (long long)B);
    double p = dropout_gen ? r->dropout : 0.0;

    tt_tensor *x = model_normalised_audio(m, b, "robin"); /* [B,T,M] */
    if (!x) return NULL;
    tt_tensor *patches = tt_reshape(x, TT_SHAPE(B, P, F * M));                   /* [B,P,F*M] */
    /* the history fed back: the real patches, or where draw->rollout says the model's own samples
     * (both readers, as in generation); then noised with model.hist_noise for the readers
     * model.hist_noise_to names (the planner's audio input, LocDiT's context) */
    tt_tensor *fed = patches, *own = NULL;
    if (draw->rollout) {
        if (!(own = own_samples(r, b, patches, tt_reshape(draw->rollout_noise, TT_SHAPE(N, F, M)))))
            return model_op_failed("robin loss: the model's own samples (model.rollout_prob)");
        fed = tt_where(tt_reshape(draw->rollout, TT_SHAPE(B, P, 1)), own, patches);
    }
    tt_tensor *hist = draw->hist_noise ? tt_add(fed, tt_reshape(draw->hist_noise, TT_SHAPE(B, P, F * M))) : fed;
    tt_tensor *hist_plan = r->hist_noise_planner ? hist : fed, *hist_ctx = r->hist_noise_ctx ? hist : fed;
    if (draw->hist_drop) { /* model.hist_dropout: these clips are learned from their conditions alone */
        tt_tensor *hide = tt_reshape(draw->hist_drop, TT_SHAPE(B, 1, 1)), *zero = tt_zeros(TT_SHAPE(1), TT_F32);
        hist_plan = tt_where(hide, zero, hist_plan);
        hist_ctx = tt_where(hide, zero, hist_ctx);
    }
    tt_tensor *codes = NULL;
    tt_tensor *c = tt_reshape(conditions(r, b, hist_plan, p, dropout_gen, &codes), TT_SHAPE(N, r->d)); /* [N,d] */
    if (draw->drop) c = tt_where(tt_unsqueeze(draw->drop, 1), r->dit.null, c);

    /* all B*P patches at once: context = previous patch (zeros before the first) */
    tt_tensor *ctx = previous_patches(r, hist_ctx);
    if (draw->ctx_drop) ctx = tt_where(tt_reshape(draw->ctx_drop, TT_SHAPE(N, 1, 1)), tt_zeros(TT_SHAPE(1), TT_F32), ctx);
    tt_tensor *x1 = tt_reshape(patches, TT_SHAPE(N, F, M));
    tt_tensor *noise = tt_reshape(draw->noise, TT_SHAPE(N, F, M));
    tt_tensor *t = tt_reshape(draw->t, TT_SHAPE(N));
    tt_tensor *tb = tt_reshape(t, TT_SHAPE(N, 1, 1));
    tt_tensor *xt = tt_add(tt_mul(tt_rsub_scalar(1.0, tb), noise), tt_mul(tb, x1)); /* (1-t) noise + t x1 */
    tt_tensor *target = tt_sub(x1, noise);
    tt_tensor *v = dit_fwd(&r->dit, ctx, xt, t, c, p, dropout_gen);               /* [N,F,M] */
    tt_tensor *loss = tt_mse_loss(v, target);
    if (!loss) return model_op_failed("robin loss");

    if (parts) {
        parts->n = 0;
        double flow;
        if (tt_item(loss, &flow)) return model_op_failed("robin loss");
        parts->name[parts->n] = "flow";
        parts->value[parts->n++] = flow;
        if (r->use_fsq) {
            double usage, perplexity;
            if (fsq_stats(&r->fsq, codes, &usage, &perplexity)) return model_op_failed("robin FSQ stats");
            parts->name[parts->n] = "fsq_usage";
            parts->value[parts->n++] = usage;
            parts->name[parts->n] = "fsq_perplexity";
            parts->value[parts->n++] = perplexity;
        }
        if (own) { /* how far the samples fed back are from the real patches (normalised units) */
            double err;
            if (tt_item(tt_mse_loss(own, patches), &err)) return model_op_failed("robin rollout error");
            parts->name[parts->n] = "rollout_mse";
            parts->value[parts->n++] = err;
        }
    }
    return loss;
}

/* The flow-matching draws (noise, t, condition dropout) of one clip come from a generator seeded
 * by (run.seed, epoch, clip index), not from the step's generator: a clip gets the same draws
 * whichever rank or micro-batch it lands in, so N ranks follow exactly the trajectory of one rank
 * with the whole batch (DESIGN §2.5). Only model.dropout still uses the step generator `g`. */
static int draw_for_batch(const robin *r, const vr_batch *b, int train, robin_draw *d) {
    int64_t P = b->T / r->F;
    int use_drop = train && r->cond_dropout > 0, use_ctx_drop = train && r->ctx_dropout > 0;
    int use_hist = train && r->hist_noise > 0, use_roll = train && r->rollout_prob > 0;
    int use_hdrop = train && r->hist_dropout > 0;
    tt_tensor **noise = calloc((size_t)b->B * 8, sizeof *noise), **t = noise + b->B, **drop = noise + 2 * b->B,
              **ctx_drop = noise + 3 * b->B, **hist = noise + 4 * b->B, **roll = noise + 5 * b->B,
              **roll_noise = noise + 6 * b->B, **hdrop = noise + 7 * b->B;
    if (!noise) return model_fail("robin loss: out of memory");
    for (int i = 0; i < b->B; i++) {
        vr_rng mix;
        model_clip_rng(&mix, r->seed, b, i);
        tt_gen *gi = tt_gen_new(vr_rng_u64(&mix));
        noise[i] = tt_randn(gi, TT_SHAPE(P, r->F, r->M), TT_F32);
        t[i] = tt_rand(gi, TT_SHAPE(P), TT_F32);
        drop[i] = use_drop ? tt_lt_scalar(tt_rand(gi, TT_SHAPE(P), TT_F32), r->cond_dropout) : NULL;
        /* drawn after the others, so a clip's noise/t/drop do not depend on model.ctx_dropout */
        ctx_drop[i] = use_ctx_drop ? tt_lt_scalar(tt_rand(gi, TT_SHAPE(P), TT_F32), r->ctx_dropout) : NULL;
        /* likewise last: std ~ U(0, hist_noise) per patch, times N(0, 1) */
        hist[i] = use_hist ? tt_mul(tt_randn(gi, TT_SHAPE(P, r->F, r->M), TT_F32),
                                    tt_mul_scalar(tt_rand(gi, TT_SHAPE(P, 1, 1), TT_F32), r->hist_noise))
                           : NULL;
        /* and the rollout's after those */
        roll[i] = use_roll ? tt_lt_scalar(tt_rand(gi, TT_SHAPE(P), TT_F32), r->rollout_prob) : NULL;
        roll_noise[i] = use_roll ? tt_randn(gi, TT_SHAPE(P, r->F, r->M), TT_F32) : NULL;
        /* last of all: one draw per clip */
        hdrop[i] = use_hdrop ? tt_lt_scalar(tt_rand(gi, TT_SHAPE(1), TT_F32), r->hist_dropout) : NULL;
        tt_gen_free(gi);
    }
    d->noise = tt_cat(noise, b->B, 0);
    d->t = tt_cat(t, b->B, 0);
    d->drop = use_drop ? tt_cat(drop, b->B, 0) : NULL;
    d->ctx_drop = use_ctx_drop ? tt_cat(ctx_drop, b->B, 0) : NULL;
    d->hist_noise = use_hist ? tt_cat(hist, b->B, 0) : NULL;
    d->rollout = use_roll ? tt_cat(roll, b->B, 0) : NULL;
    d->rollout_noise = use_roll ? tt_cat(roll_noise, b->B, 0) : NULL;
    d->hist_drop = use_hdrop ? tt_cat(hdrop, b->B, 0) : NULL;
    free(noise);
    return d->noise && d->t && (!use_drop || d->drop) && (!use_ctx_drop || d->ctx_drop) &&
                   (!use_hist || d->hist_noise) && (!use_roll || (d->rollout && d->rollout_noise)) &&
                   (!use_hdrop || d->hist_drop)
               ? 0
               : -1;
}

/* ops.loss; with hide_history every clip's history hidden on top of the batch's own draws */
static tt_tensor *loss_drawn(vr_model *m, const vr_batch *b, int train, tt_gen *g, int hide_history,
                             vr_loss_parts *parts) {
    robin *r = m->state;
    const char *what = hide_history ? "robin loss without history" : "robin loss";
    if (check_batch(r, b, 1)) return NULL;
    if (train && r->dropout > 0 && !g) return model_fail_null("robin loss: model.dropout needs a generator");
    robin_draw draw;
    if (draw_for_batch(r, b, train, &draw)) return model_op_failed(what);
    if (hide_history) {
        uint8_t hide[b->B];
        memset(hide, 1, sizeof hide);
        if (!(draw.hist_drop = tt_from_data(hide, TT_BOOL, TT_SHAPE(b->B)))) return model_op_failed(what);
    }
    return robin_loss_with(m, b, &draw, train ? g : NULL, parts);
}

static tt_tensor *robin_loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    return loss_drawn(m, b, train, g, 0, parts);
}

tt_tensor *robin_loss_no_history(vr_model *m, const vr_batch *b, vr_loss_parts *parts) {
    return loss_drawn(m, b, 0, NULL, 1, parts);
}

const vr_model_ops robin_ops = {.kind = "robin", .init = robin_init, .loss = robin_loss, .free_state = robin_free_state};

/* ---- conditioning and generation ---- */

tt_tensor *robin_condition(vr_model *m, const vr_batch *b, const tt_tensor *latent) {
    robin *r = m->state;
    if (check_batch(r, b, latent == NULL)) return NULL;
    int64_t P = b->T / r->F;
    tt_tensor *x = latent ? (tt_tensor *)latent : model_normalised_audio(m, b, "robin");
    if (latent && (tt_ndim(latent) != 3 || tt_size(latent, 0) != b->B || tt_size(latent, 1) != b->T ||
                   tt_size(latent, 2) != r->M))
        return model_fail_null("robin_condition: latent must be [%d, %d, %d]", b->B, b->T, r->M);
    tt_tensor *c = conditions(r, b, tt_reshape(x, TT_SHAPE(b->B, P, r->F * r->M)), 0.0, NULL, NULL);
    return c ? c : model_op_failed("robin_condition");
}

/* Generation's stage clock: add the seconds since t to *acc and return the new start. */
static double lap(double *acc, double t) {
    double now = vr_now();
    *acc += now - t;
    return now;
}

/* The sampling noise of one patch [B, F, M]: a row from each clip's own generator, or all from g. */
static tt_tensor *patch_noise(tt_gen *g, tt_gen **clip_gens, int64_t B, int64_t F, int64_t M) {
    if (!clip_gens) return tt_randn(g, TT_SHAPE(B, F, M), TT_F32);
    tt_tensor **rows = malloc(sizeof *rows * (size_t)B);
    if (!rows) return model_fail_null("robin_generate: out of memory");
    for (int64_t i = 0; i < B; i++) rows[i] = tt_randn(clip_gens[i], TT_SHAPE(1, F, M), TT_F32);
    tt_tensor *x = tt_cat(rows, (int)B, 0);
    free(rows);
    return x;
}

/* c_k [B, d] without caches (opts.no_kv_cache): the planner over the prefix and history tokens
 * 0..k, FSQ, and RITE over plans 0..k, all recomputed; row k is the condition. */
static tt_tensor *condition_recomputed(robin *r, const tt_tensor *prefix, const uint8_t *valid, const tt_tensor *out,
                                       int64_t k, const double *pos, robin_gen_times *tm, double *t) {
    int64_t B = tt_size(out, 0);
    tt_tensor *patches = tt_reshape(tt_slice(out, 1, 0, k + 1, 1), TT_SHAPE(B, k + 1, r->F * r->M));
    tt_tensor *h = plan_fwd(&r->plan, prefix, valid, enc_audio_fwd(&r->audio, patches), pos, 0.0, NULL); /* [B,k+1,d] */
    tt_tensor *q = r->use_fsq ? fsq_fwd(&r->fsq, h, NULL) : h;
    *t = lap(&tm->planner, *t);
    tt_tensor *c = tt_select(r->use_rite ? rite_fwd(&r->rite, q, 0.0, NULL) : q, 1, k); /* [B,d] */
    *t = lap(&tm->rite, *t);
    return c;
}

tt_tensor *robin_generate(vr_model *m, const vr_batch *b, const robin_gen_opts *opts, tt_gen *g, tt_tensor **cond_out) {
    robin *r = m->state;
    robin_gen_opts o = opts ? *opts : (robin_gen_opts){0};
    if (cond_out) *cond_out = NULL;
    if (check_batch(r, b, 0)) return NULL;
    int64_t B = b->B, P = b->T / r->F, F = r->F, M = r->M, d = r->d, H = 0;
    if (!g && !o.clip_gens)
        return model_fail_null("robin_generate: needs a generator for the sampling noise (g or clip_gens)");
    for (int64_t i = 0; o.clip_gens && i < B; i++)
        if (!o.clip_gens[i])
            return model_fail_null("robin_generate: clip '%s' has no noise generator (clip_gens[%lld] is NULL)",
                                   b->id ? b->id[i] : "?", (long long)i);
    if (o.history) {
        const tt_tensor *h = o.history;
        if (tt_ndim(h) != 3 || tt_size(h, 0) != B || tt_size(h, 2) != M || tt_size(h, 1) % F || tt_size(h, 1) > b->T)
            return model_fail_null(
                "robin_generate: history must be [%lld, H*%lld, %lld] with H <= %lld patches (first clip '%s'); "
                "got %d dims, [%lld, %lld, %lld]",
                (long long)B, (long long)F, (long long)M, (long long)P, b->id ? b->id[0] : "?", tt_ndim(h),
                (long long)tt_size(h, 0), (long long)tt_size(h, 1), (long long)tt_size(h, 2));
        H = tt_size(h, 1) / F;
    }
    if (o.teacher && (tt_ndim(o.teacher) != 3 || tt_size(o.teacher, 0) != B || tt_size(o.teacher, 1) != b->T ||
                      tt_size(o.teacher, 2) != M))
        return model_fail_null("robin_generate: the teacher latent must be [%lld, %lld, %lld] (first clip '%s'); got %d "
                               "dims, [%lld, %lld, %lld]",
                               (long long)B, (long long)b->T, (long long)M, b->id ? b->id[0] : "?",
                               tt_ndim(o.teacher), (long long)tt_size(o.teacher, 0), (long long)tt_size(o.teacher, 1),
                               (long long)tt_size(o.teacher, 2));
    if (o.teacher_to < ROBIN_TEACH_BOTH || o.teacher_to > ROBIN_TEACH_DIT_CTX)
        return model_fail_null("robin_generate: teacher_to must be ROBIN_TEACH_BOTH, _PLANNER or _DIT_CTX (got %d)",
                               o.teacher_to);
    if (o.dit_bf16 && (o.torch_dit || tt_get_default_device() != TT_CPU))
        return model_fail_null("robin_generate: bf16 sampling is a mode of the C LocDiT kernel (CPU), not of the "
                               "libtorch path");
    int steps = o.steps > 0 ? o.steps : r->steps;
    double scale = o.cfg_scale > 0 ? o.cfg_scale : r->cfg_scale;
    robin_gen_times untimed = {0}, *tm = o.times ? o.times : &untimed;
    tt_tensor *latent = NULL, *conds = NULL;
    plan_cache pc = {0};
    int n_rite = r->use_rite && !o.no_kv_cache ? r->rite.n_layers : 0;
    nn_kv_cache *rc = calloc(n_rite ? n_rite : 1, sizeof *rc);
    if (!rc) return model_fail_null("robin_generate: out of memory");

    tt_no_grad_begin();
    tt_scope_begin();
    double t = vr_now();
    uint8_t *valid;
    int64_t Lp;
    tt_tensor *prefix = prefix_of(r, b, 0.0, NULL, &valid, &Lp);
    int ok = Lp >= 0 && (o.no_kv_cache ||
                         (!plan_cache_init(&pc, &r->plan, B, Lp, valid, P) && !plan_prefill(&r->plan, &pc, prefix)));
    for (int i = 0; ok && i < n_rite; i++) ok = !nn_kv_cache_init(&rc[i], B, r->n_heads, d / r->n_heads, P);
    dit_fast *fast = NULL; /* the C kernels, with the weights as they are now: LocDiT, */
    blocks_fast *plan_fast = NULL, *rite_fast = NULL; /* the planner's and RITE's blocks */
    if (ok && !o.torch_dit && tt_get_default_device() == TT_CPU) {
        ok = (fast = dit_fast_new(&r->dit, o.dit_threads, o.dit_bf16 ? DIT_BF16 : DIT_FP32)) != NULL;
        if (ok && !o.no_kv_cache)
            ok = (plan_fast = blocks_fast_new(r->plan.blocks, r->plan.n_layers, B, Lp + P)) &&
                 !blocks_fast_import(plan_fast, pc.kv, Lp, valid);
        if (ok && n_rite) ok = (rite_fast = blocks_fast_new(r->rite.blocks, n_rite, B, P)) != NULL;
    }
    double pos[P];
    plan_audio_positions(pos, P, r->use_video ? b->Tv : 0);
    tt_tensor *out = tt_zeros(TT_SHAPE(B, P, F, M), TT_F32);   /* the patches, written as they come */
    tt_tensor *cs = tt_zeros(TT_SHAPE(B, P, d), TT_F32);       /* c_k */
    tt_tensor *zeros = tt_zeros(TT_SHAPE(B, F, M), TT_F32);    /* context of patch 0 */
    ok = ok && out && cs && zeros;
    if (ok && H) ok = !tt_copy_(tt_slice(out, 1, 0, H, 1), tt_reshape(o.history, TT_SHAPE(B, H, F, M)));
    /* what is fed back to the planner (fed) and to LocDiT's context (fed_ctx): the samples, or the
     * teacher's patches */
    tt_tensor *teach = o.teacher ? tt_reshape(o.teacher, TT_SHAPE(B, P, F, M)) : NULL;
    tt_tensor *fed = teach && o.teacher_to != ROBIN_TEACH_DIT_CTX ? teach : out;
    tt_tensor *fed_ctx = teach && o.teacher_to != ROBIN_TEACH_PLANNER ? teach : out;
    ok = ok && (!o.teacher || teach);
    t = lap(&tm->prefix, t);
    for (int64_t k = 0; ok && k < P; k++) {
        tt_scope_begin();
        tt_tensor *prev = k ? tt_select(fed, 1, k - 1) : NULL;                                 /* [B,F,M] */
        tt_tensor *c;
        if (o.no_kv_cache) {
            c = condition_recomputed(r, prefix, valid, fed, k, pos, tm, &t);
        } else {
            tt_tensor *a = enc_audio_step(&r->audio, prev ? tt_reshape(prev, TT_SHAPE(B, F * M)) : NULL, B); /* [B,1,d] */
            tt_tensor *h = plan_fast ? plan_step_fast(&r->plan, plan_fast, a, pos[k])
                                     : plan_step(&r->plan, &pc, a, pos[k]); /* [B,1,d] */
            tt_tensor *q = r->use_fsq ? fsq_fwd(&r->fsq, h, NULL) : h;
            t = lap(&tm->planner, t);
            c = tt_reshape(!r->use_rite ? q : rite_fast ? rite_step_fast(&r->rite, rite_fast, q, k)
                                                        : rite_step(&r->rite, rc, q, k),
                           TT_SHAPE(B, d));
            t = lap(&tm->rite, t);
        }
        ok = c && !tt_copy_(tt_select(cs, 1, k), c);
        if (ok && k >= H) { /* history patches are already in `out` */
            tt_tensor *noise = patch_noise(g, o.clip_gens, B, F, M);
            tt_tensor *ctx = k && !o.no_dit_ctx ? tt_select(fed_ctx, 1, k - 1) : zeros, *x = NULL;
            if (noise)
                x = fast ? dit_fast_sample_tt(fast, ctx, c, noise, steps, o.solver, scale)
                         : dit_sample(&r->dit, ctx, c, noise, steps, o.solver, scale);
            ok = x && !tt_copy_(tt_select(out, 1, k), x);
            t = lap(&tm->dit, t);
            if (ok && o.on_patch) o.on_patch(o.ctx);
        }
        tt_scope_end();
    }
    if (ok) {
        latent = tt_keep(tt_reshape(out, TT_SHAPE(B, P * F, M)));
        if (cond_out) conds = tt_keep(cs);
    } else {
        model_op_failed("robin_generate");
    }
    free(valid);
    dit_fast_free(fast);
    blocks_fast_free(plan_fast);
    blocks_fast_free(rite_fast);
    if (!o.no_kv_cache) plan_cache_free(&pc);
    for (int i = 0; i < n_rite; i++) nn_kv_cache_free(&rc[i]);
    free(rc);
    tt_scope_end();
    tt_no_grad_end();
    if (cond_out) *cond_out = conds;
    return latent;
}

tt_tensor *robin_denormalise(const vr_model *m, const tt_tensor *latent) {
    int64_t M = tt_size(latent, -1);
    if (!m->norm_mean || !m->norm_std) return tt_clone(latent);
    tt_tensor *mean = tt_from_data(m->norm_mean, TT_F32, TT_SHAPE(M));
    tt_tensor *std = tt_from_data(m->norm_std, TT_F32, TT_SHAPE(M));
    return tt_add(tt_mul(latent, std), mean);
}
