/* tagger.c — see tagger.h. */
#define _GNU_SOURCE
#include "models/tagger.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/safetensors.h"
#include "core/tensor_io.h"
#include "data/shard.h"
#include "infer/export.h"
#include "train/registry.h"

#define EVAL_MAX_TEXT 256 /* caption bytes per clip, as the trainer's loader */

/* ---- the audio encoder ---- */

static int conv_init(nn_linear *l, tt_params *p, const char *name, int cin, int cout, tt_gen *g) {
    char key[256];
    snprintf(key, sizeof key, "%s.weight", name);
    tt_tensor *w = tt_randn(g, TT_SHAPE(cout, cin, 3, 3), TT_F32);
    if (w) tt_mul_scalar_(w, sqrt(2.0 / (9.0 * cin))); /* He init: the branches stay at unit scale */
    l->w = tt_params_add(p, key, w);
    snprintf(key, sizeof key, "%s.bias", name);
    l->b = tt_params_add(p, key, tt_zeros(TT_SHAPE(cout), TT_F32));
    return l->w && l->b ? 0 : -1;
}

int tagger_audio_init(tagger_audio *a, tt_params *p, const char *prefix, const cfg *c, tt_gen *g) {
    memset(a, 0, sizeof *a);
    const char *mkey = cfg_int(c, "model.latent_dim") ? "model.latent_dim" : "data.n_mels";
    if (model_cfg_int(c, mkey, 1, 1 << 16, &a->M) || model_cfg_int(c, "model.d_model", 2, 1 << 16, &a->d) ||
        model_cfg_int(c, "model.n_heads", 1, a->d, &a->n_heads) ||
        model_cfg_int(c, "model.audio_layers", 0, 256, &a->n_layers) ||
        model_cfg_int(c, "model.crop_frames", 0, 1 << 24, &a->crop) ||
        model_cfg_int(c, "model.cnn_time_stages", 0, TAGGER_MAX_STAGES, &a->time_stages) ||
        model_cfg_int(c, "model.audio_lags", 0, 4096, &a->lags))
        return -1;
    if (a->d % a->n_heads || a->d % 2)
        return model_fail("model.n_heads (%s) = %d must divide model.d_model (%s) = %d, which must be even",
                          cfg_origin(c, "model.n_heads"), a->n_heads, cfg_origin(c, "model.d_model"), a->d);
    a->n_stages = cfg_list_len(c, "model.cnn_channels");
    if (a->n_stages < 1 || a->n_stages > TAGGER_MAX_STAGES)
        return model_fail("model.cnn_channels (%s) has %d stages, expected 1..%d", cfg_origin(c, "model.cnn_channels"),
                          a->n_stages, TAGGER_MAX_STAGES);
    char name[256];
    int cin = 1, m = a->M;
    for (int s = 0; s < a->n_stages; s++) {
        int64_t ch = cfg_list_int(c, "model.cnn_channels", s);
        if (ch < 1 || ch > 4096)
            return model_fail("model.cnn_channels (%s): stage %d has %lld channels, expected 1..4096",
                              cfg_origin(c, "model.cnn_channels"), s, (long long)ch);
        snprintf(name, sizeof name, "%s.conv.%d.down", prefix, s);
        if (conv_init(&a->down[s], p, name, cin, (int)ch, g)) return -1;
        snprintf(name, sizeof name, "%s.conv.%d.res", prefix, s);
        if (conv_init(&a->res[s], p, name, (int)ch, (int)ch, g)) return -1;
        cin = (int)ch;
        m = (m + 1) / 2; /* 3x3, stride 2, padding 1 */
    }
    snprintf(name, sizeof name, "%s.in", prefix);
    /* N(0, 1 / fan_in): tokens of unit scale, like the sinusoid added to them; at GPT-2's 0.02 the
     * positions would drown the content and the pooled embedding would barely depend on the clip */
    if (nn_linear_init_unit(&a->in, p, name, cin * m, a->d, 1, g)) return -1;
    a->blocks = calloc((size_t)(a->n_layers > 0 ? a->n_layers : 1), sizeof *a->blocks);
    if (!a->blocks) return model_fail("tagger: out of memory");
    for (int i = 0; i < a->n_layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        if (nn_block_init(&a->blocks[i], p, name, a->d, a->n_heads, 4 * a->d, 0, g)) return -1;
    }
    snprintf(name, sizeof name, "%s.norm", prefix);
    if (nn_norm_init(&a->norm, p, name, a->d, 0)) return -1;
    if (!a->lags) return 0;
    snprintf(name, sizeof name, "%s.rhythm", prefix);
    if (nn_linear_init(&a->rhythm, p, name, a->d, TAGGER_RHYTHM_DIM, 0, g)) return -1; /* centred: no bias */
    snprintf(name, sizeof name, "%s.rhythm_out", prefix);
    return nn_linear_init(&a->rhythm_out, p, name, TAGGER_RHYTHM_DIM * a->lags, a->d, 1, g);
}

/* rhythm_out of the normalised autocorrelation of rhythm(u) at lags 1..L (tagger.h): [B, d]. */
static tt_tensor *autocorrelation(const tagger_audio *a, const tt_tensor *u) {
    int64_t B = tt_size(u, 0), T = tt_size(u, 1);
    tt_tensor *r = nn_linear_fwd(&a->rhythm, u);                     /* [B,T,R] */
    r = tt_sub(r, tt_mean(r, 1, 1));
    tt_tensor *var = tt_add_scalar(tt_mean(tt_square(r), 1, 0), 1e-5); /* [B,R] */
    tt_tensor **ac = malloc((size_t)a->lags * sizeof *ac);
    if (!ac) return model_fail_null("audio encoder: out of memory");
    for (int k = 1; k <= a->lags; k++)
        ac[k - 1] = k < T ? tt_div(tt_mean(tt_mul(tt_slice(r, 1, 0, T - k, 1), tt_slice(r, 1, k, T, 1)), 1, 0), var)
                          : tt_zeros(TT_SHAPE(B, TAGGER_RHYTHM_DIM), TT_F32);
    tt_tensor *all = tt_reshape(tt_stack(ac, a->lags, 1), TT_SHAPE(B, (int64_t)a->lags * TAGGER_RHYTHM_DIM));
    free(ac);
    return nn_linear_fwd(&a->rhythm_out, all);
}

void tagger_audio_free(tagger_audio *a) {
    free(a->blocks);
    a->blocks = NULL;
}

tt_tensor *tagger_audio_fwd(const tagger_audio *a, const tt_tensor *x, double p, tt_gen *g) {
    if (tt_ndim(x) != 3 || tt_size(x, 2) != a->M || tt_size(x, 1) < 1)
        return model_fail_null("audio encoder: input must be [B, T >= 1, %d] latents, got %d dims (last %lld)", a->M,
                               tt_ndim(x), (long long)tt_size(x, -1));
    tt_tensor *h = tt_unsqueeze(x, 1); /* [B,1,T,M] */
    for (int s = 0; s < a->n_stages; s++) {
        /* stride (1, 2) as the stride-1 convolution at every other mel bin: the rhythm keeps its
         * time resolution (2^time_stages frames per token) while the pitch axis shrinks */
        h = s < a->time_stages ? tt_conv2d(h, a->down[s].w, a->down[s].b, 2, 1)
                               : tt_slice(tt_conv2d(h, a->down[s].w, a->down[s].b, 1, 1), 3, 0, INT64_MAX, 2);
        h = tt_relu(h);
        h = tt_add(h, tt_relu(tt_conv2d(h, a->res[s].w, a->res[s].b, 1, 1)));
    }
    int64_t B = tt_size(h, 0), C = tt_size(h, 1), T = tt_size(h, 2), M = tt_size(h, 3);
    if (!h) return NULL;
    h = tt_reshape(tt_permute(h, TT_SHAPE(0, 2, 1, 3)), TT_SHAPE(B, T, C * M)); /* [B,T',C*M'] */
    double pos[T];
    for (int64_t t = 0; t < T; t++) pos[t] = (double)t;
    h = tt_add(nn_linear_fwd(&a->in, h), nn_sinusoid_table(pos, T, a->d));
    for (int i = 0; i < a->n_layers; i++) h = nn_block_fwd_dropout(&a->blocks[i], h, 0, NULL, p, g);
    tt_tensor *u = nn_norm_fwd(&a->norm, h), *pooled = tt_mean(u, 1, 0); /* [B,d] */
    return a->lags ? tt_add(pooled, autocorrelation(a, u)) : pooled;
}

/* Window length and hop for T frames (see tagger.h). */
static void windows_of(const tagger_audio *a, int64_t T, int64_t *W, int64_t *hop, int64_t *n) {
    *W = a->crop > 0 && a->crop < T ? a->crop : T;
    *hop = *W / 2 > 0 ? *W / 2 : 1;
    *n = *W == T ? 1 : 1 + (T - *W + *hop - 1) / *hop;
}

tt_tensor *tagger_audio_windows(const tagger_audio *a, const tt_tensor *x) {
    if (tt_ndim(x) != 3 || tt_size(x, 2) != a->M || tt_size(x, 1) < 1)
        return model_fail_null("audio encoder: input must be [B, T >= 1, %d] latents, got %d dims (last %lld)", a->M,
                               tt_ndim(x), (long long)tt_size(x, -1));
    int64_t B = tt_size(x, 0), T = tt_size(x, 1), W, hop, n;
    windows_of(a, T, &W, &hop, &n);
    tt_tensor **w = malloc((size_t)n * sizeof *w);
    if (!w) return model_fail_null("audio encoder: out of memory");
    for (int64_t k = 0; k < n; k++) {
        int64_t s = k * hop < T - W ? k * hop : T - W;
        w[k] = tt_slice(x, 1, s, s + W, 1);
    }
    tt_tensor *all = tt_reshape(tt_stack(w, (int)n, 1), TT_SHAPE(B * n, W, a->M)); /* [B*n,W,M] */
    free(w);
    return tt_reshape(tagger_audio_fwd(a, all, 0.0, NULL), TT_SHAPE(B, n, a->d));
}

tt_tensor *tagger_audio_crops(const tagger_audio *a, const vr_batch *b, const float *mean, const float *std, int train,
                              uint64_t seed) {
    if (b->B < 1 || b->T < 1 || !b->audio) return model_fail_null("audio encoder: empty batch");
    if (b->D != a->M)
        return model_fail_null(
            "audio encoder: the batch's latents have %d channels, the model reads %d (model.latent_dim / "
            "data.n_mels)",
            b->D, a->M);
    for (int i = 0; mean && i < b->D; i++)
        if (!(std[i] > 0) || !isfinite(std[i]) || !isfinite(mean[i]))
            return model_fail_null(
                "audio encoder: latent normalisation channel %d has mean %g, std %g; expected finite, std > 0", i,
                mean[i], std[i]);
    int64_t W, hop, n;
    windows_of(a, b->T, &W, &hop, &n);
    size_t M = (size_t)a->M;
    float *buf = malloc((size_t)b->B * (size_t)W * M * sizeof *buf);
    if (!buf) return model_fail_null("audio encoder: out of memory for %d crops of %lld frames", b->B, (long long)W);
    for (int i = 0; i < b->B; i++) {
        int64_t off = (b->T - W) / 2;
        if (train && W < b->T) {
            /* from (seed, epoch, clip), not the step's generator: a clip gets the same crop on any rank */
            vr_rng mix;
            model_clip_rng(&mix, seed, b, i);
            off = (int64_t)vr_rng_below(&mix, (uint64_t)(b->T - W + 1));
        }
        const float *src = b->audio + ((size_t)i * (size_t)b->T + (size_t)off) * M;
        float *dst = buf + (size_t)i * (size_t)W * M;
        for (size_t k = 0; k < (size_t)W * M; k++)
            dst[k] = mean ? (src[k] - mean[k % M]) / std[k % M] : src[k];
    }
    tt_tensor *t = tt_from_data(buf, TT_F32, TT_SHAPE(b->B, W, a->M));
    free(buf);
    return t;
}

/* ---- the tagger ---- */

static const char *const KIND_NAMES[TAGGER_N_KINDS] = {"instrument", "pattern", "tempo", "mode"};
static const char *const KIND_VOCAB[TAGGER_N_KINDS] = {"model.tagger_instruments", "model.tagger_patterns",
                                                       "model.tagger_tempo_edges", "model.tagger_modes"};
static const char *const KIND_LABEL[TAGGER_N_KINDS] = {"instrument", "pattern", "tempo_bpm", "mode"};
static const char *const CE_NAMES[TAGGER_N_KINDS] = {"ce_instrument", "ce_pattern", "ce_tempo", "ce_mode"};
static const char *const ACC_NAMES[TAGGER_N_KINDS] = {"acc_instrument", "acc_pattern", "acc_tempo", "acc_mode"};

typedef struct tagger {
    tagger_audio audio;
    nn_linear embed;
    int E, n_heads;
    int kind[TAGGER_MAX_HEADS], n_classes[TAGGER_MAX_HEADS];
    char **classes[TAGGER_MAX_HEADS]; /* class names */
    nn_linear head[TAGGER_MAX_HEADS];
    double *edges; /* tempo bin edges, n_classes[tempo head] - 1 */
    double dropout;
    uint64_t seed;
} tagger;

static int add_class(tagger *t, int h, const char *name) {
    char *s = strdup(name);
    if (!s) return model_fail("tagger: out of memory");
    t->classes[h][t->n_classes[h]++] = s;
    return 0;
}

/* The classes of head h (kind k) from its config list. */
static int head_classes(tagger *t, int h, int k, const cfg *c) {
    const char *key = KIND_VOCAB[k];
    int n = cfg_list_len(c, key), nc = k == TAGGER_TEMPO ? n + 1 : n;
    if (nc < 2 || nc > 4096)
        return model_fail("%s (%s) gives %d classes, expected 2..4096", key, cfg_origin(c, key), nc);
    if (!(t->classes[h] = calloc((size_t)nc, sizeof *t->classes[h]))) return model_fail("tagger: out of memory");
    if (k != TAGGER_TEMPO) {
        for (int i = 0; i < n; i++) {
            const char *v = cfg_list_str(c, key, i);
            for (int j = 0; j < i; j++)
                if (!strcmp(v, t->classes[h][j]))
                    return model_fail("%s (%s): '%s' is listed twice", key, cfg_origin(c, key), v);
            if (!v[0]) return model_fail("%s (%s): entry %d is empty", key, cfg_origin(c, key), i);
            if (add_class(t, h, v)) return -1;
        }
        return 0;
    }
    if (!(t->edges = calloc((size_t)n, sizeof *t->edges))) return model_fail("tagger: out of memory");
    for (int i = 0; i < n; i++) {
        t->edges[i] = cfg_list_float(c, key, i);
        if (!isfinite(t->edges[i]) || (i > 0 && !(t->edges[i] > t->edges[i - 1])))
            return model_fail("%s (%s): the edges must be finite and increasing (entry %d is %g)", key,
                              cfg_origin(c, key), i, t->edges[i]);
    }
    char name[64];
    for (int i = 0; i <= n; i++) {
        if (i == 0) snprintf(name, sizeof name, "<%g", t->edges[0]);
        else if (i == n) snprintf(name, sizeof name, ">=%g", t->edges[n - 1]);
        else snprintf(name, sizeof name, "%g-%g", t->edges[i - 1], t->edges[i]);
        if (add_class(t, h, name)) return -1;
    }
    return 0;
}

static int tagger_init(vr_model *m, const cfg *c, tt_gen *g) {
    tagger *t = calloc(1, sizeof *t);
    if (!t) return model_fail("tagger: out of memory");
    m->state = t;
    t->seed = (uint64_t)cfg_int(c, "run.seed");
    t->dropout = cfg_float(c, "model.dropout");
    if (!(t->dropout >= 0 && t->dropout < 1))
        return model_fail("model.dropout (%s) = %g must be in [0, 1)", cfg_origin(c, "model.dropout"), t->dropout);
    if (model_cfg_int(c, "model.embed_dim", 1, 1 << 16, &t->E)) return -1;
    int n = cfg_list_len(c, "model.tagger_heads");
    if (n < 1 || n > TAGGER_MAX_HEADS)
        return model_fail("model.tagger_heads (%s) lists %d heads, expected 1..%d of instrument, pattern, tempo, mode",
                          cfg_origin(c, "model.tagger_heads"), n, TAGGER_MAX_HEADS);
    for (int h = 0; h < n; h++) {
        const char *name = cfg_list_str(c, "model.tagger_heads", h);
        int k = 0;
        while (k < TAGGER_N_KINDS && strcmp(name, KIND_NAMES[k])) k++;
        if (k == TAGGER_N_KINDS)
            return model_fail("model.tagger_heads (%s): unknown head '%s', expected instrument, pattern, tempo or mode",
                              cfg_origin(c, "model.tagger_heads"), name);
        for (int j = 0; j < h; j++)
            if (t->kind[j] == k)
                return model_fail("model.tagger_heads (%s): '%s' is listed twice", cfg_origin(c, "model.tagger_heads"),
                                  name);
        t->kind[h] = k;
        t->n_heads = h + 1;
        if (head_classes(t, h, k, c)) return -1;
    }
    if (tagger_audio_init(&t->audio, m->params, "audio", c, g) ||
        nn_linear_init(&t->embed, m->params, "embed", t->audio.d, t->E, 1, g))
        return -1;
    char name[64];
    for (int h = 0; h < t->n_heads; h++) {
        snprintf(name, sizeof name, "head.%s", KIND_NAMES[t->kind[h]]);
        if (nn_linear_init(&t->head[h], m->params, name, t->E, t->n_classes[h], 1, g)) return -1;
    }
    return 0;
}

static void tagger_free_state(vr_model *m) {
    tagger *t = m->state;
    if (!t) return;
    tagger_audio_free(&t->audio);
    for (int h = 0; h < TAGGER_MAX_HEADS; h++) {
        for (int k = 0; t->classes[h] && k < t->n_classes[h]; k++) free(t->classes[h][k]);
        free(t->classes[h]);
    }
    free(t->edges);
    free(t);
    m->state = NULL;
}

int tagger_n_heads(const vr_model *m) { return ((const tagger *)m->state)->n_heads; }
const char *tagger_head_name(const vr_model *m, int h) {
    const tagger *t = m->state;
    return h >= 0 && h < t->n_heads ? KIND_NAMES[t->kind[h]] : "?";
}
int tagger_n_classes(const vr_model *m, int h) {
    const tagger *t = m->state;
    return h >= 0 && h < t->n_heads ? t->n_classes[h] : 0;
}
const char *tagger_class_name(const vr_model *m, int h, int k) {
    const tagger *t = m->state;
    return h >= 0 && h < t->n_heads && k >= 0 && k < t->n_classes[h] ? t->classes[h][k] : "?";
}
int tagger_embed_dim(const vr_model *m) { return ((const tagger *)m->state)->E; }
int tagger_latent_dim(const vr_model *m) { return ((const tagger *)m->state)->audio.M; }

int tagger_classes_of(const vr_model *m, const char *id, const char *labels_json, int *cls) {
    const tagger *t = m->state;
    if (!id) id = "?";
    cJSON *l = labels_json ? cJSON_Parse(labels_json) : NULL;
    int rc = 0;
    if (!cJSON_IsObject(l)) {
        rc = model_fail("tagger: clip '%s': labels are %s, expected a JSON object with %s", id,
                        labels_json ? "not a JSON object" : "missing (the batch carries no labels_json)",
                        KIND_LABEL[t->kind[0]]);
        goto done;
    }
    for (int h = 0; h < t->n_heads && !rc; h++) {
        int k = t->kind[h];
        cJSON *v = cJSON_GetObjectItemCaseSensitive(l, KIND_LABEL[k]);
        if (k == TAGGER_TEMPO) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
                rc = model_fail("tagger: clip '%s': label 'tempo_bpm' is %s, expected a finite number (the tempo head)",
                                id, v ? "not a finite number" : "missing");
                break;
            }
            int b = 0;
            while (b < t->n_classes[h] - 1 && v->valuedouble >= t->edges[b]) b++;
            cls[h] = b;
            continue;
        }
        if (!cJSON_IsString(v)) {
            rc = model_fail("tagger: clip '%s': label '%s' is %s, expected a string (the %s head)", id, KIND_LABEL[k],
                            v ? "not a string" : "missing", KIND_NAMES[k]);
            break;
        }
        cls[h] = -1;
        for (int j = 0; j < t->n_classes[h]; j++)
            if (!strcmp(v->valuestring, t->classes[h][j])) cls[h] = j;
        if (cls[h] < 0) {
            char known[1024];
            size_t at = 0;
            known[0] = 0;
            for (int j = 0; j < t->n_classes[h] && at < sizeof known; j++)
                at += (size_t)snprintf(known + at, sizeof known - at, "%s%s", j ? ", " : "", t->classes[h][j]);
            rc = model_fail("tagger: clip '%s': %s '%s' is not in %s (%s)", id, KIND_LABEL[k], v->valuestring,
                            KIND_VOCAB[k], known);
        }
    }
done:
    cJSON_Delete(l);
    return rc;
}

/* emb [.., E] and logits of every head from pooled features [.., d]. */
static int heads_fwd(const tagger *t, const tt_tensor *pooled, tt_tensor **emb, tt_tensor **logits) {
    *emb = tt_gelu(nn_linear_fwd(&t->embed, pooled), 1);
    for (int h = 0; h < t->n_heads; h++) logits[h] = tt_to_dtype(nn_linear_fwd(&t->head[h], *emb), TT_F32);
    return *emb && (t->n_heads == 0 || logits[t->n_heads - 1]) ? 0 : -1;
}

static tt_tensor *tagger_loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    tagger *t = m->state;
    if (b->B < 1) return model_fail_null("tagger: empty batch");
    if (!b->labels_json) return model_fail_null("tagger: the batch carries no labels (labels_json)");
    int64_t *target = malloc((size_t)b->B * TAGGER_MAX_HEADS * sizeof *target);
    if (!target) return model_fail_null("tagger: out of memory");
    for (int i = 0; i < b->B; i++) {
        int cls[TAGGER_MAX_HEADS];
        if (tagger_classes_of(m, b->id ? b->id[i] : NULL, b->labels_json[i], cls)) {
            free(target);
            return NULL;
        }
        for (int h = 0; h < t->n_heads; h++) target[(size_t)h * (size_t)b->B + (size_t)i] = cls[h];
    }
    tt_tensor *x = tagger_audio_crops(&t->audio, b, m->norm_mean, m->norm_std, train, t->seed);
    tt_tensor *pooled = x ? tagger_audio_fwd(&t->audio, x, train ? t->dropout : 0.0, train ? g : NULL) : NULL;
    tt_tensor *emb, *logits[TAGGER_MAX_HEADS], *loss = NULL;
    if (!pooled || heads_fwd(t, pooled, &emb, logits)) {
        free(target);
        model_op_failed_rc("tagger loss");
        return NULL;
    }
    if (parts) parts->n = 0;
    for (int h = 0; h < t->n_heads; h++) {
        tt_tensor *y = tt_from_data(target + (size_t)h * (size_t)b->B, TT_I64, TT_SHAPE(b->B));
        tt_tensor *ce = tt_cross_entropy(logits[h], y);
        loss = h ? tt_add(loss, ce) : ce;
        double vce = 0, vacc = 0;
        tt_tensor *acc = tt_mean_all(tt_to_dtype(tt_eq(tt_argmax(logits[h], 1, 0), y), TT_F32));
        if (parts && ce && acc && !tt_item(ce, &vce) && !tt_item(acc, &vacc) && parts->n + 2 <= VR_MAX_LOSS_PARTS) {
            parts->name[parts->n] = CE_NAMES[t->kind[h]], parts->value[parts->n++] = vce;
            parts->name[parts->n] = ACC_NAMES[t->kind[h]], parts->value[parts->n++] = vacc;
        }
    }
    free(target);
    if (!loss) model_op_failed_rc("tagger loss");
    return loss;
}

int tagger_embed_logits(vr_model *m, const tt_tensor *logmel, tt_tensor **emb, tt_tensor **logits) {
    if (!m || m->ops != &tagger_ops) return model_fail("tagger_embed_logits: not a tagger model");
    tagger *t = m->state;
    tt_tensor *e = NULL, *lg[TAGGER_MAX_HEADS];
    tt_no_grad_begin();
    tt_scope_begin();
    tt_tensor *w = tagger_audio_windows(&t->audio, logmel); /* [B,n,d] */
    int rc = -1;
    if (w) {
        /* average the embeddings over the windows; the linear heads then average the logits too */
        tt_tensor *ew = tt_gelu(nn_linear_fwd(&t->embed, w), 1);
        e = tt_mean(ew, 1, 0);
        for (int h = 0; h < t->n_heads; h++) lg[h] = tt_to_dtype(nn_linear_fwd(&t->head[h], e), TT_F32);
        rc = e && lg[t->n_heads - 1] ? 0 : -1;
    }
    if (!rc) {
        if (emb) *emb = tt_keep(e);
        for (int h = 0; logits && h < t->n_heads; h++) logits[h] = tt_keep(lg[h]);
    } else {
        model_op_failed_rc("tagger_embed_logits");
    }
    tt_scope_end();
    tt_no_grad_end();
    return rc;
}

const vr_model_ops tagger_ops = {
    .kind = "tagger", .init = tagger_init, .loss = tagger_loss, .free_state = tagger_free_state};

/* ---- loading an export ---- */

static float *json_floats(const char *path, const char *key, const char *text, int *n) {
    cJSON *a = cJSON_Parse(text ? text : "");
    int len = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;
    float *out = len > 0 ? malloc(sizeof(float) * (size_t)len) : NULL;
    int ok = out != NULL;
    for (int i = 0; ok && i < len; i++) {
        cJSON *v = cJSON_GetArrayItem(a, i);
        ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
        if (ok) out[i] = (float)v->valuedouble;
    }
    cJSON_Delete(a);
    if (!ok) {
        free(out);
        return vr_fail_null("%s: metadata '%s' is not a non-empty array of finite numbers", path, key);
    }
    *n = len;
    return out;
}

/* sample_rate, n_mels, mel_fps of the export's "data" metadata -> x->mel. */
static int data_settings(tagger_export *x, const char *path, const char *json) {
    cJSON *d = cJSON_Parse(json ? json : "");
    static const char *const keys[3] = {"sample_rate", "n_mels", "mel_fps"};
    int v[3] = {0}, rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        cJSON *e = cJSON_GetObjectItemCaseSensitive(d, keys[i]);
        int whole = cJSON_IsNumber(e) && e->valuedouble >= 1 && e->valuedouble <= 1e6 &&
                    e->valuedouble == (int)e->valuedouble;
        if (!whole)
            rc = vr_fail("%s: metadata 'data' has no positive integer '%s'", path, keys[i]);
        else
            v[i] = (int)e->valuedouble;
    }
    cJSON_Delete(d);
    if (rc) return -1;
    if (v[1] != x->D) return vr_fail("%s: the data has %d mel bands but the normalisation %d values", path, v[1], x->D);
    x->sample_rate = v[0], x->mel_fps = v[2];
    if (vr_mel_init(&x->mel, v[0], v[1], v[2])) return vr_context("%s: the log-mel settings", path);
    x->have_mel = 1;
    return 0;
}

int tagger_export_load(tagger_export *x, const char *path, const char *kind) {
    memset(x, 0, sizeof *x);
    st_file *f = st_open(path);
    if (!f) return vr_context("cannot read the model (expected a `vrobin export` file)");
    int rc = -1, nstd = 0;
    const char *fmt = st_meta(f, "format"), *conf = st_meta(f, "config");
    if (!fmt || strcmp(fmt, VR_EXPORT_FORMAT)) {
        vr_fail("%s: not a vrobin export (metadata format is '%s'; make one with `vrobin export RUN -o "
                "MODEL.safetensors`)", path, fmt ? fmt : "(none)");
    } else if (!conf || !(x->c = cfg_load_string(conf, strlen(conf), path, vr_schema))) {
        vr_context("%s: the export's embedded config", path);
    } else if (strcmp(cfg_str(x->c, "model.kind"), kind)) {
        vr_fail("%s: model.kind is '%s', expected a '%s' model", path, cfg_str(x->c, "model.kind"), kind);
    } else if ((x->mean = json_floats(path, "norm_mean", st_meta(f, "norm_mean"), &x->D)) &&
               (x->std = json_floats(path, "norm_std", st_meta(f, "norm_std"), &nstd))) {
        rc = nstd == x->D ? 0 : vr_fail("%s: norm_mean has %d values, norm_std %d", path, x->D, nstd);
        for (int i = 0; !rc && i < x->D; i++)
            if (!(x->std[i] > 0)) rc = vr_fail("%s: norm_std[%d] = %g, expected > 0", path, i, x->std[i]);
        if (!rc) rc = data_settings(x, path, st_meta(f, "data"));
    }
    st_close(f);
    if (rc) return -1;
    vr_runtime_apply((int)cfg_int(x->c, "runtime.torch_threads"), (int)cfg_int(x->c, "runtime.blas_threads"));
    tt_gen *g = tt_gen_new(0);
    x->have_model = vr_model_create(&x->m, x->c, g) == 0;
    tt_gen_free(g);
    if (!x->have_model) return vr_context("%s: building the model from its config", path);
    if (tio_load_params(x->m.params, path, 1)) return vr_context("%s: loading the weights", path);
    x->m.norm_mean = x->mean;
    x->m.norm_std = x->std;
    return 0;
}

void tagger_export_free(tagger_export *x) {
    if (x->have_model) vr_model_destroy(&x->m);
    if (x->have_mel) vr_mel_free(&x->mel);
    cfg_free(x->c);
    free(x->mean);
    free(x->std);
    memset(x, 0, sizeof *x);
}

tt_tensor *tagger_export_latent(const tagger_export *x, const tt_tensor *wave) {
    int nd = tt_ndim(wave);
    if ((nd != 1 && nd != 2) || tt_size(wave, -1) < x->mel.n_fft)
        return vr_fail_null("audio must be [N] or [B, N] samples with N >= %d", x->mel.n_fft);
    tt_tensor *w = nd == 1 ? tt_unsqueeze(wave, 0) : (tt_tensor *)wave;
    tt_tensor *mean = tt_from_data(x->mean, TT_F32, TT_SHAPE(x->D));
    tt_tensor *std = tt_from_data(x->std, TT_F32, TT_SHAPE(x->D));
    vr_clear_error();
    tt_tensor *out = tt_div(tt_sub(vr_mel_forward(&x->mel, w), mean), std);
    return out ? out : vr_fail_null("log-mel of the audio: %s", vr_error()[0] ? vr_error() : tt_last_error());
}

/* ---- shards in file order ---- */

typedef struct eval_batch {
    vr_batch b;
    char **ids, **labels;
    int cap;
} eval_batch;

static void eval_batch_free(eval_batch *e) {
    for (int i = 0; e->ids && i < e->cap; i++) free(e->ids[i]);
    for (int i = 0; e->labels && i < e->cap; i++) free(e->labels[i]);
    free(e->ids);
    free(e->labels);
    free(e->b.audio);
    free(e->b.video);
    free(e->b.text);
    free(e->b.text_len);
    free(e->b.clip);
    free(e->b.id);
    free(e->b.labels_json);
}

static int eval_batch_alloc(eval_batch *e, int cap, const vr_shard_info *in) {
    memset(e, 0, sizeof *e);
    e->cap = cap;
    vr_batch *b = &e->b;
    b->T = in->T, b->D = in->D, b->Tv = in->Tv, b->Dv = in->Dv, b->max_text = EVAL_MAX_TEXT;
    b->audio = malloc((size_t)cap * (size_t)in->T * (size_t)in->D * sizeof(float));
    size_t nv = (size_t)(in->Tv > 0 ? in->Tv : 1) * (size_t)(in->Dv > 0 ? in->Dv : 1);
    b->video = malloc((size_t)cap * nv * sizeof(float));
    b->text = malloc((size_t)cap * EVAL_MAX_TEXT);
    b->text_len = calloc((size_t)cap, sizeof *b->text_len);
    b->clip = calloc((size_t)cap, sizeof *b->clip);
    b->id = calloc((size_t)cap, sizeof *b->id);
    b->labels_json = calloc((size_t)cap, sizeof *b->labels_json);
    e->ids = calloc((size_t)cap, sizeof *e->ids);
    e->labels = calloc((size_t)cap, sizeof *e->labels);
    if (!b->audio || !b->video || !b->text || !b->text_len || !b->clip || !b->id || !b->labels_json || !e->ids ||
        !e->labels)
        return vr_fail("out of memory for batches of %d clips", cap);
    return 0;
}

/* Clip c of shard s into row k, audio into the space of mean/std. */
static int eval_batch_put(eval_batch *e, int k, const vr_shard *s, const vr_shard_clip *c, int64_t g, const float *mean,
                          const float *std) {
    vr_batch *b = &e->b;
    const vr_shard_info *in = vr_shard_get_info(s);
    const float *sm = vr_shard_norm_mean(s), *ss = vr_shard_norm_std(s);
    size_t D = (size_t)b->D, na = (size_t)b->T * D, nv = (size_t)b->Tv * (size_t)b->Dv;
    float *a = b->audio + (size_t)k * na;
    for (size_t j = 0; j < na; j++) {
        double raw = in->normalised ? (double)c->audio[j] * ss[j % D] + sm[j % D] : c->audio[j];
        a[j] = mean ? (float)((raw - mean[j % D]) / std[j % D]) : (float)raw;
    }
    memcpy(b->video + (size_t)k * nv, c->video, nv * sizeof(float));
    size_t len = strlen(c->text), cut = len < EVAL_MAX_TEXT ? len : EVAL_MAX_TEXT;
    while (cut > 0 && cut < len && ((uint8_t)c->text[cut] & 0xc0) == 0x80) cut--;
    uint8_t *row = b->text + (size_t)k * EVAL_MAX_TEXT;
    memcpy(row, c->text, cut);
    memset(row + cut, 0, EVAL_MAX_TEXT - cut);
    b->text_len[k] = (int)cut;
    b->clip[k] = g;
    free(e->ids[k]);
    free(e->labels[k]);
    e->ids[k] = strdup(c->id);
    e->labels[k] = strdup(c->labels_json ? c->labels_json : "{}");
    if (!e->ids[k] || !e->labels[k]) return vr_fail("out of memory");
    b->id[k] = e->ids[k];
    b->labels_json[k] = e->labels[k];
    return 0;
}

int tagger_shards_foreach(char **paths, int n_paths, int batch, const float *mean, const float *std, int D,
                          tagger_batch_fn fn, void *ctx) {
    if (n_paths < 1) return vr_fail("no shards given");
    if (batch < 1) return vr_fail("batch size %d, expected >= 1", batch);
    eval_batch e = {0};
    vr_shard_info first = {0};
    int rc = 0, k = 0;
    int64_t g = 0;
    for (int i = 0; i < n_paths && !rc; i++) {
        vr_shard *s = vr_shard_open(paths[i]);
        if (!s) {
            rc = -1;
            break;
        }
        const vr_shard_info *in = vr_shard_get_info(s);
        if (i == 0) {
            first = *in;
            if (in->D != D)
                rc = vr_fail("%s: latents of %d channels, the model reads %d", paths[i], in->D, D);
            else if (strcmp(in->latent_kind, "logmel"))
                rc = vr_fail("%s: latent kind '%s'; the eval models read log-mel latents", paths[i], in->latent_kind);
            else
                rc = eval_batch_alloc(&e, batch, in);
        } else if (in->T != first.T || in->D != first.D || in->Tv != first.Tv || in->Dv != first.Dv ||
                   strcmp(in->latent_kind, first.latent_kind)) {
            rc = vr_fail("%s has clips of audio [%d,%d] video [%d,%d] (%s), but %s has [%d,%d] [%d,%d] (%s)", paths[i],
                         in->T, in->D, in->Tv, in->Dv, in->latent_kind, paths[0], first.T, first.D, first.Tv,
                         first.Dv, first.latent_kind);
        }
        for (int64_t j = 0; !rc && j < in->n_clips; j++, g++) {
            vr_shard_clip c;
            if (vr_shard_read_no_frames(s, j, &c) || eval_batch_put(&e, k, s, &c, g, mean, std)) {
                rc = -1;
                break;
            }
            if (++k == batch) {
                e.b.B = k, k = 0;
                rc = fn(&e.b, ctx);
            }
        }
        vr_shard_close(s);
    }
    if (!rc && k > 0) {
        e.b.B = k;
        rc = fn(&e.b, ctx);
    }
    eval_batch_free(&e);
    return rc;
}

/* ---- vrobin tagger-eval ---- */

typedef struct acc_ctx {
    vr_model *m;
    int64_t n, correct[TAGGER_MAX_HEADS];
    int64_t *counts[TAGGER_MAX_HEADS]; /* true-class histogram per head */
} acc_ctx;

static int accumulate(const vr_batch *b, void *ctx) {
    acc_ctx *a = ctx;
    int H = tagger_n_heads(a->m);
    int rc = 0;
    tt_scope_begin();
    tt_tensor *x = tt_from_data(b->audio, TT_F32, TT_SHAPE(b->B, b->T, b->D)), *logits[TAGGER_MAX_HEADS];
    if (!x || tagger_embed_logits(a->m, x, NULL, logits)) rc = vr_context("tagger-eval, clip '%s'", b->id[0]);
    for (int h = 0; !rc && h < H; h++) {
        int64_t pred[b->B];
        if (tt_to_data(tt_argmax(logits[h], 1, 0), pred, sizeof pred)) {
            rc = vr_fail("tagger-eval: %s", tt_last_error());
            break;
        }
        for (int i = 0; i < b->B; i++) {
            int cls[TAGGER_MAX_HEADS];
            if (tagger_classes_of(a->m, b->id[i], b->labels_json[i], cls)) {
                rc = -1;
                break;
            }
            a->correct[h] += pred[i] == cls[h];
            a->counts[h][cls[h]]++;
        }
    }
    tt_scope_end();
    if (!rc) a->n += b->B;
    return rc;
}

static void eval_usage(FILE *out) {
    fprintf(out,
            "usage: vrobin tagger-eval MODEL.safetensors SHARD.h5... [--batch N]\n\n"
            "Accuracy of a trained audio tagger (model.kind tagger, exported with `vrobin export`) on\n"
            "the clips of the shards, whose labels give the true classes. Each clip is classified from\n"
            "its whole log-mel latent: windows of model.crop_frames (hop half of it) whose embeddings\n"
            "are averaged. Prints a Markdown table: per head the number of classes, the accuracy, the\n"
            "accuracy of always answering the most frequent true class, and chance (1 / classes).\n"
            "--batch N: clips per forward pass (default 16).\n");
}

int tagger_eval_args(int argc, char **argv, const char *cmd, void (*usage)(FILE *out), const char **model,
                     char ***shards, int *n_shards, int *batch) {
    char **s = calloc((size_t)argc, sizeof *s);
    if (!s) return fprintf(stderr, "vrobin %s: out of memory\n", cmd), 1;
    *model = NULL, *n_shards = 0, *batch = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 4096) {
                fprintf(stderr, "vrobin %s: --batch %s: expected 1..4096\n", cmd, argv[i]);
                return free(s), 2;
            }
            *batch = (int)v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vrobin %s: unknown option '%s'\n\n", cmd, argv[i]);
            usage(stderr);
            return free(s), 2;
        } else if (!*model) {
            *model = argv[i];
        } else {
            s[(*n_shards)++] = argv[i];
        }
    }
    if (!*model || !*n_shards) {
        usage(stderr);
        return free(s), 2;
    }
    *shards = s;
    return 0;
}

int tagger_cmd_eval(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) return eval_usage(stdout), 0;
    const char *model;
    char **shards;
    int n_shards, batch;
    int bad = tagger_eval_args(argc, argv, "tagger-eval", eval_usage, &model, &shards, &n_shards, &batch);
    if (bad) return bad;
    tagger_export x;
    acc_ctx a = {0};
    int rc = 1;
    if (tagger_export_load(&x, model, "tagger")) goto done;
    a.m = &x.m;
    int H = tagger_n_heads(&x.m);
    for (int h = 0; h < H; h++)
        if (!(a.counts[h] = calloc((size_t)tagger_n_classes(&x.m, h), sizeof *a.counts[h]))) {
            vr_fail("out of memory");
            goto done;
        }
    if (tagger_shards_foreach(shards, n_shards, batch, x.mean, x.std, x.D, accumulate, &a)) goto done;
    printf("Tagger accuracy: %s on %lld clips (%d shard%s)\n\n", model, (long long)a.n, n_shards,
           n_shards == 1 ? "" : "s");
    printf("| head | classes | accuracy | majority class | chance |\n|---|---:|---:|---:|---:|\n");
    for (int h = 0; h < H; h++) {
        int64_t most = 0;
        for (int k = 0; k < tagger_n_classes(&x.m, h); k++) most = a.counts[h][k] > most ? a.counts[h][k] : most;
        printf("| %s | %d | %.4f | %.4f | %.4f |\n", tagger_head_name(&x.m, h), tagger_n_classes(&x.m, h),
               (double)a.correct[h] / (double)a.n, (double)most / (double)a.n, 1.0 / tagger_n_classes(&x.m, h));
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "vrobin tagger-eval: %s\n", vr_error());
    for (int h = 0; h < TAGGER_MAX_HEADS; h++) free(a.counts[h]);
    tagger_export_free(&x);
    free(shards);
    return rc;
}
