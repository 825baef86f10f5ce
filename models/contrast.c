/* contrast.c — see contrast.h. */
#define _GNU_SOURCE
#include "models/contrast.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "models/encoders.h"
#include "models/tagger.h"

#define MAX_TEXT 256       /* caption bytes, as the trainer's loader */
#define MAX_LOGIT_SCALE 100.0
#define TIE_TOL 1e-6       /* cosines this close are ties (round-off of identical inputs) */

typedef struct contrast {
    tagger_audio audio;
    nn_linear audio_proj;
    nn_linear video_in, video_proj;
    nn_block *video_blocks;
    int video_layers;
    nn_norm video_norm;
    enc_text text;
    nn_linear text_proj;
    tt_tensor *logit_scale; /* [1] */
    int d, D, Dv, n_heads, use_video, use_text;
    double dropout;
    uint64_t seed;
} contrast;

static int contrast_init(vr_model *m, const cfg *c, tt_gen *g) {
    contrast *r = calloc(1, sizeof *r);
    if (!r) return model_fail("contrast: out of memory");
    m->state = r;
    tt_params *p = m->params;
    r->seed = (uint64_t)cfg_int(c, "run.seed");
    r->use_video = cfg_bool(c, "model.use_video");
    r->use_text = cfg_bool(c, "model.use_text");
    r->dropout = cfg_float(c, "model.dropout");
    double temp = cfg_float(c, "model.temperature");
    int text_layers = 0;
    if (model_cfg_int(c, "model.embed_dim", 1, 1 << 16, &r->D) ||
        model_cfg_int(c, "model.video_dim", 1, 1 << 16, &r->Dv) ||
        model_cfg_int(c, "model.video_layers", 0, 256, &r->video_layers) ||
        model_cfg_int(c, "model.text_layers", 0, 256, &text_layers))
        return -1;
    if (!r->use_video && !r->use_text)
        return model_fail("contrast: model.use_video (%s) and model.use_text (%s) are both false: nothing to pair the "
                          "music with",
                          cfg_origin(c, "model.use_video"), cfg_origin(c, "model.use_text"));
    if (!(r->dropout >= 0 && r->dropout < 1))
        return model_fail("model.dropout (%s) = %g must be in [0, 1)", cfg_origin(c, "model.dropout"), r->dropout);
    if (!(temp >= 1.0 / MAX_LOGIT_SCALE && temp <= 1))
        return model_fail("model.temperature (%s) = %g, expected %g..1", cfg_origin(c, "model.temperature"), temp,
                          1.0 / MAX_LOGIT_SCALE);
    if (tagger_audio_init(&r->audio, p, "audio", c, g)) return -1;
    r->d = r->audio.d, r->n_heads = r->audio.n_heads;
    if (nn_linear_init(&r->audio_proj, p, "audio_proj", r->d, r->D, 0, g)) return -1;
    if (r->use_video) {
        /* N(0, 1 / fan_in), as the audio tokens (tagger.c) */
        if (nn_linear_init_unit(&r->video_in, p, "video.in", r->Dv, r->d, 1, g)) return -1;
        r->video_blocks = calloc((size_t)(r->video_layers > 0 ? r->video_layers : 1), sizeof *r->video_blocks);
        if (!r->video_blocks) return model_fail("contrast: out of memory");
        char name[64];
        for (int i = 0; i < r->video_layers; i++) {
            snprintf(name, sizeof name, "video.blocks.%d", i);
            if (nn_block_init(&r->video_blocks[i], p, name, r->d, r->n_heads, 4 * r->d, 0, g)) return -1;
        }
        if (nn_norm_init(&r->video_norm, p, "video.norm", r->d, 0) ||
            nn_linear_init(&r->video_proj, p, "video_proj", r->d, r->D, 0, g))
            return -1;
    }
    if (r->use_text && (enc_text_init(&r->text, p, "text", r->d, r->n_heads, text_layers, g) ||
                        nn_linear_init(&r->text_proj, p, "text_proj", r->d, r->D, 0, g)))
        return -1;
    r->logit_scale = tt_params_add(p, "logit_scale", tt_full(TT_SHAPE(1), log(1.0 / temp), TT_F32));
    return r->logit_scale ? 0 : -1;
}

static void contrast_free_state(vr_model *m) {
    contrast *r = m->state;
    if (!r) return;
    tagger_audio_free(&r->audio);
    enc_text_free(&r->text);
    free(r->video_blocks);
    free(r);
    m->state = NULL;
}

int contrast_dim(const vr_model *m) { return ((const contrast *)m->state)->D; }
int contrast_has_video(const vr_model *m) { return ((const contrast *)m->state)->use_video; }
int contrast_has_text(const vr_model *m) { return ((const contrast *)m->state)->use_text; }

/* ---- encoders (autograd; dropout p with g) ---- */

static tt_tensor *l2_normalise(const tt_tensor *x) {
    return tt_mul(x, tt_rsqrt(tt_add_scalar(tt_sum(tt_square(x), -1, 1), 1e-12)));
}

static tt_tensor *video_fwd(const contrast *r, const tt_tensor *v, double p, tt_gen *g) {
    if (tt_ndim(v) != 3 || tt_size(v, 2) != r->Dv || tt_size(v, 1) < 1)
        return model_fail_null("contrast: video features must be [B, Tv >= 1, %d] (model.video_dim)", r->Dv);
    int64_t Tv = tt_size(v, 1);
    double pos[Tv];
    for (int64_t t = 0; t < Tv; t++) pos[t] = (double)t;
    tt_tensor *h = tt_add(nn_linear_fwd(&r->video_in, v), nn_sinusoid_table(pos, Tv, r->d));
    for (int i = 0; i < r->video_layers; i++) h = nn_block_fwd_dropout(&r->video_blocks[i], h, 0, NULL, p, g);
    return l2_normalise(nn_linear_fwd(&r->video_proj, tt_mean(nn_norm_fwd(&r->video_norm, h), 1, 0)));
}

static tt_tensor *text_fwd(const contrast *r, const uint8_t *text, const int *text_len, int B, int max_text, double p,
                           tt_gen *g) {
    int64_t *ids;
    uint8_t *valid;
    int L;
    if (enc_text_tokens(text, text_len, B, max_text, &ids, &valid, &L)) return model_op_failed("contrast text");
    tt_tensor *id_t = tt_from_data(ids, TT_I64, TT_SHAPE(B, L));
    tt_tensor *mask = tt_from_data(valid, TT_BOOL, TT_SHAPE(B, 1, 1, L));
    tt_tensor *w = tt_to_dtype(tt_from_data(valid, TT_U8, TT_SHAPE(B, L, 1)), TT_F32);
    free(ids);
    free(valid);
    tt_tensor *h = enc_text_fwd(&r->text, id_t, mask, p, g); /* [B,L,d] */
    tt_tensor *pooled = tt_div(tt_sum(tt_mul(h, w), 1, 0), tt_sum(w, 1, 0));
    return l2_normalise(nn_linear_fwd(&r->text_proj, pooled));
}

static tt_tensor *logit_scale(const contrast *r) {
    return tt_exp(tt_clamp(r->logit_scale, 0.0, log(MAX_LOGIT_SCALE)));
}

tt_tensor *contrast_info_nce(const tt_tensor *a, const tt_tensor *b, const tt_tensor *s, double *acc) {
    int64_t B = tt_size(a, 0);
    if (tt_ndim(a) != 2 || tt_ndim(b) != 2 || tt_size(b, 0) != B || tt_size(a, 1) != tt_size(b, 1) || B < 1)
        return model_fail_null("contrast_info_nce: expected two [B, D] embeddings of the same shape");
    tt_tensor *logits = tt_to_dtype(tt_mul(tt_matmul(a, tt_transpose(b, 0, 1)), s), TT_F32); /* [B,B] */
    tt_tensor *lt = tt_transpose(logits, 0, 1);
    tt_tensor *y = tt_arange(0, (double)B, 1, TT_I64);
    tt_tensor *loss = tt_mul_scalar(tt_add(tt_cross_entropy(logits, y), tt_cross_entropy(lt, y)), 0.5);
    if (acc && loss) {
        double a1 = 0, a2 = 0;
        tt_item(tt_mean_all(tt_to_dtype(tt_eq(tt_argmax(logits, 1, 0), y), TT_F32)), &a1);
        tt_item(tt_mean_all(tt_to_dtype(tt_eq(tt_argmax(lt, 1, 0), y), TT_F32)), &a2);
        *acc = (a1 + a2) / 2;
    }
    return loss;
}

/* ---- loss ---- */

static tt_tensor *contrast_loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    contrast *r = m->state;
    if (b->B < 2)
        return model_fail_null(
            "contrast: a batch of %d clip(s); InfoNCE needs at least 2 (the other clips are the negatives)", b->B);
    if (r->use_video && (!b->video || b->Dv != r->Dv || b->Tv < 1))
        return model_fail_null("contrast: batch video features are [%d frames, %d dims], the model needs >= 1 frame of "
                               "model.video_dim = %d dims (or model.use_video: false)",
                               b->video ? b->Tv : 0, b->video ? b->Dv : 0, r->Dv);
    if (r->use_text && (!b->text || !b->text_len))
        return model_fail_null("contrast: batch has no captions (model.use_text is true)");
    double p = train ? r->dropout : 0.0;
    tt_gen *gd = train ? g : NULL;
    tt_tensor *x = tagger_audio_crops(&r->audio, b, m->norm_mean, m->norm_std, train, r->seed);
    if (!x) return NULL;
    tt_tensor *a = l2_normalise(nn_linear_fwd(&r->audio_proj, tagger_audio_fwd(&r->audio, x, p, gd)));
    tt_tensor *s = logit_scale(r), *loss = NULL;
    double acc_v = 0, acc_t = 0, v_v = 0, v_t = 0, scale = 0;
    if (r->use_video) {
        tt_tensor *v = video_fwd(r, tt_from_data(b->video, TT_F32, TT_SHAPE(b->B, b->Tv, b->Dv)), p, gd);
        loss = contrast_info_nce(v, a, s, &acc_v);
        if (loss) tt_item(loss, &v_v);
    }
    if (r->use_text) {
        tt_tensor *t = text_fwd(r, b->text, b->text_len, b->B, b->max_text, p, gd);
        tt_tensor *lt = contrast_info_nce(t, a, s, &acc_t);
        if (lt) tt_item(lt, &v_t);
        loss = r->use_video ? tt_add(loss, lt) : lt;
    }
    if (!loss) return model_op_failed("contrast loss");
    if (parts) {
        tt_item(s, &scale);
        parts->n = 0;
        if (r->use_video) {
            parts->name[parts->n] = "nce_video", parts->value[parts->n++] = v_v;
            parts->name[parts->n] = "acc_video", parts->value[parts->n++] = acc_v;
        }
        if (r->use_text) {
            parts->name[parts->n] = "nce_text", parts->value[parts->n++] = v_t;
            parts->name[parts->n] = "acc_text", parts->value[parts->n++] = acc_t;
        }
        parts->name[parts->n] = "temperature", parts->value[parts->n++] = 1.0 / scale;
    }
    return loss;
}

const vr_model_ops contrast_ops = {
    .kind = "contrast", .init = contrast_init, .loss = contrast_loss, .free_state = contrast_free_state};

/* ---- evaluation ---- */

static contrast *state_of(vr_model *m) {
    return m && m->ops == &contrast_ops ? m->state : model_fail_null("contrast: not a contrastive model");
}

/* Runs f's result out of a no-grad scope. */
#define NO_GRAD(expr)                \
    ({                               \
        tt_no_grad_begin();          \
        tt_scope_begin();            \
        tt_tensor *out_ = tt_keep(expr); \
        tt_scope_end();              \
        tt_no_grad_end();            \
        out_;                        \
    })

tt_tensor *contrast_embed_audio(vr_model *m, const tt_tensor *logmel) {
    contrast *r = state_of(m);
    if (!r) return NULL;
    tt_tensor *e = NO_GRAD(l2_normalise(
        nn_linear_fwd(&r->audio_proj, tt_mean(tagger_audio_windows(&r->audio, logmel), 1, 0))));
    return e ? e : model_op_failed("contrast_embed_audio");
}

tt_tensor *contrast_embed_video(vr_model *m, const tt_tensor *video) {
    contrast *r = state_of(m);
    if (!r) return NULL;
    if (!r->use_video)
        return model_fail_null("contrast_embed_video: the model has no video encoder (model.use_video false)");
    tt_tensor *e = NO_GRAD(video_fwd(r, video, 0.0, NULL));
    return e ? e : model_op_failed("contrast_embed_video");
}

tt_tensor *contrast_embed_text(vr_model *m, const char *const *texts, int B) {
    contrast *r = state_of(m);
    if (!r) return NULL;
    if (!r->use_text)
        return model_fail_null("contrast_embed_text: the model has no text encoder (model.use_text false)");
    if (B < 1) return model_fail_null("contrast_embed_text: no captions");
    uint8_t *buf = calloc((size_t)B, MAX_TEXT);
    int *len = calloc((size_t)B, sizeof *len);
    if (!buf || !len) {
        free(buf);
        free(len);
        return model_fail_null("contrast_embed_text: out of memory");
    }
    for (int i = 0; i < B; i++) {
        size_t n = texts[i] ? strlen(texts[i]) : 0, cut = n < MAX_TEXT ? n : MAX_TEXT;
        while (cut > 0 && cut < n && ((uint8_t)texts[i][cut] & 0xc0) == 0x80) cut--;
        memcpy(buf + (size_t)i * MAX_TEXT, texts[i] ? texts[i] : "", cut);
        len[i] = (int)cut;
    }
    tt_tensor *e = NO_GRAD(text_fwd(r, buf, len, B, MAX_TEXT, 0.0, NULL));
    free(buf);
    free(len);
    return e ? e : model_op_failed("contrast_embed_text");
}

tt_tensor *contrast_cosine(const tt_tensor *a, const tt_tensor *b) {
    if (tt_ndim(a) != 2 || tt_ndim(b) != 2 || tt_size(a, 0) != tt_size(b, 0) || tt_size(a, 1) != tt_size(b, 1))
        return model_fail_null("contrast_cosine: expected two [B, D] embeddings of the same shape");
    return tt_sum(tt_mul(l2_normalise(a), l2_normalise(b)), -1, 0);
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int contrast_retrieval(const float *q, const float *k, int n, int D, contrast_recall *out) {
    memset(out, 0, sizeof *out);
    if (n < 1 || D < 1) return vr_fail("contrast_retrieval: %d pairs of dimension %d", n, D);
    double *rank = malloc((size_t)n * sizeof *rank), *row = malloc((size_t)n * sizeof *row);
    if (!rank || !row) {
        free(rank);
        free(row);
        return vr_fail("contrast_retrieval: out of memory");
    }
    static const int KS[3] = {1, 5, 10};
    double *rk[3] = {&out->r1, &out->r5, &out->r10};
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += (double)q[(size_t)i * D + d] * k[(size_t)j * D + d];
            row[j] = s;
        }
        int above = 0, ties = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            if (fabs(row[j] - row[i]) <= TIE_TOL) ties++;
            else if (row[j] > row[i]) above++;
            out->mean_neg += row[j];
        }
        for (int t = 0; t < 3; t++) {
            double r = (KS[t] - above) / (double)(ties + 1);
            *rk[t] += r < 0 ? 0 : r > 1 ? 1 : r;
        }
        rank[i] = above + 1 + ties / 2.0;
        out->mean_pos += row[i];
    }
    for (int t = 0; t < 3; t++) *rk[t] /= n;
    qsort(rank, (size_t)n, sizeof *rank, cmp_double);
    out->median_rank = n % 2 ? rank[n / 2] : (rank[n / 2 - 1] + rank[n / 2]) / 2;
    out->mean_pos /= n;
    out->mean_neg = n > 1 ? out->mean_neg / ((double)n * (n - 1)) : 0;
    out->n = n;
    free(rank);
    free(row);
    return 0;
}

/* ---- vrobin contrast-eval ---- */

typedef struct emb_ctx {
    vr_model *m;
    int D, n, cap;
    float *audio, *video, *text; /* [cap][D] */
} emb_ctx;

static int append(float **dst, int at, const tt_tensor *e, int B, int D) {
    if (e && !tt_to_data(e, *dst + (size_t)at * D, sizeof(float) * (size_t)B * D)) return 0;
    return vr_fail("%s", tt_last_error());
}

static int embed_batch(const vr_batch *b, void *ctx) {
    emb_ctx *c = ctx;
    if (c->n + b->B > c->cap) {
        int cap = 2 * (c->n + b->B);
        size_t sz = sizeof(float) * (size_t)cap * c->D;
        float *a = realloc(c->audio, sz), *v = a ? realloc(c->video, sz) : NULL, *t = v ? realloc(c->text, sz) : NULL;
        if (a) c->audio = a;
        if (v) c->video = v;
        if (t) c->text = t;
        if (!a || !v || !t) return vr_fail("out of memory for %d embeddings", cap);
        c->cap = cap;
    }
    tt_scope_begin();
    tt_tensor *audio = tt_from_data(b->audio, TT_F32, TT_SHAPE(b->B, b->T, b->D));
    int rc = append(&c->audio, c->n, contrast_embed_audio(c->m, audio), b->B, c->D);
    if (!rc && contrast_has_video(c->m))
        rc = append(&c->video, c->n,
                    contrast_embed_video(c->m, tt_from_data(b->video, TT_F32, TT_SHAPE(b->B, b->Tv, b->Dv))), b->B,
                    c->D);
    if (!rc && contrast_has_text(c->m)) {
        contrast *r = c->m->state;
        rc = append(&c->text, c->n, NO_GRAD(text_fwd(r, b->text, b->text_len, b->B, b->max_text, 0.0, NULL)), b->B,
                    c->D);
    }
    tt_scope_end();
    if (rc) return vr_context("contrast-eval, batch starting at clip '%s'", b->id[0]);
    c->n += b->B;
    return 0;
}

static void eval_usage(FILE *out) {
    fprintf(out,
            "usage: vrobin contrast-eval MODEL.safetensors SHARD.h5... [--batch N]\n\n"
            "Retrieval with trained contrastive encoders (model.kind contrast, exported with `vrobin\n"
            "export`) over the clips of the shards: each clip's video (or caption) must find its own\n"
            "music among all the clips' music, ranked by cosine, and back. Prints a Markdown table of\n"
            "R@1, R@5, R@10 (ties shared as under random tie-breaking: duplicate captions tie), the\n"
            "median rank, and the mean cosine of true and of mismatched pairs; the chance row is\n"
            "k / N. --batch N: clips per forward pass (default 16).\n");
}

int contrast_cmd_eval(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) return eval_usage(stdout), 0;
    const char *model;
    char **shards;
    int n_shards, batch;
    int bad = tagger_eval_args(argc, argv, "contrast-eval", eval_usage, &model, &shards, &n_shards, &batch);
    if (bad) return bad;
    tagger_export x;
    emb_ctx c = {0};
    int rc = 1;
    if (tagger_export_load(&x, model, "contrast")) goto done;
    c.m = &x.m;
    c.D = contrast_dim(&x.m);
    if (tagger_shards_foreach(shards, n_shards, batch, x.mean, x.std, x.D, embed_batch, &c)) goto done;
    struct {
        const char *name;
        const float *q, *k;
        int on;
    } rows[4] = {{"video → music", c.video, c.audio, contrast_has_video(&x.m)},
                 {"music → video", c.audio, c.video, contrast_has_video(&x.m)},
                 {"text → music", c.text, c.audio, contrast_has_text(&x.m)},
                 {"music → text", c.audio, c.text, contrast_has_text(&x.m)}};
    printf("Contrastive retrieval: %s on %d clips (%d shard%s)\n\n", model, c.n, n_shards, n_shards == 1 ? "" : "s");
    printf("| query → key | R@1 | R@5 | R@10 | median rank | cos (true pairs) | cos (others) |\n"
           "|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < 4; i++) {
        if (!rows[i].on) continue;
        contrast_recall r;
        if (contrast_retrieval(rows[i].q, rows[i].k, c.n, c.D, &r)) goto done;
        printf("| %s | %.4f | %.4f | %.4f | %.1f | %.4f | %.4f |\n", rows[i].name, r.r1, r.r5, r.r10, r.median_rank,
               r.mean_pos, r.mean_neg);
    }
    printf("| chance | %.4f | %.4f | %.4f | %.1f | | |\n", 1.0 / c.n, c.n < 5 ? 1.0 : 5.0 / c.n,
           c.n < 10 ? 1.0 : 10.0 / c.n, (c.n + 1) / 2.0);
    rc = 0;
done:
    if (rc) fprintf(stderr, "vrobin contrast-eval: %s\n", vr_error());
    free(c.audio);
    free(c.video);
    free(c.text);
    tagger_export_free(&x);
    free(shards);
    return rc;
}
