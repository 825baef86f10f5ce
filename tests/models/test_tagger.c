/* test_tagger.c — the evaluation models (models/tagger.h, models/contrast.h).
 *
 *   test_tagger                       unit tests: configs and their errors, labels -> classes (edges,
 *                                     unknown values), loss parts and gradients, eval shapes and the
 *                                     window average, InfoNCE and retrieval against hand-computed numbers
 *   test_tagger parity KIND PARAMS INPUTS OUT
 *                                     the C side of tests/models/parity_eval_models.py: build model KIND
 *                                     (tagger | contrast) from the config overrides in INPUTS' metadata,
 *                                     load PARAMS strictly, write the loss (train = 0), every gradient
 *                                     ("grad.<name>") and the eval API's outputs to OUT
 *   test_tagger run tagger-eval|contrast-eval ARGS...
 *                                     the eval commands' functions, for tests/train/test_eval_models.sh
 *                                     (so that test does not depend on the dispatcher)
 *   test_tagger latent EXPORT SHARD AUDIO CLIP_ID
 *                                     tagger_export_latent of the AUDIO file equals the SHARD's latent of
 *                                     that clip (normalised with the export's statistics) to 0.02
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/rng.h"
#include "core/tensor_io.h"
#include "data/media.h"
#include "models/contrast.h"
#include "models/tagger.h"
#include "tests/check.h"
#include "train/registry.h"

/* ---- helpers ---- */

static cfg *config(const char *kind, int n_extra, char **extra) {
    char *base[32] = {"model.d_model=16", "model.n_heads=2", "model.cnn_channels=[4, 8]", "model.audio_layers=1",
                      "model.embed_dim=8", "model.crop_frames=20", "data.n_mels=8", "model.video_dim=5",
                      "model.video_layers=1", "model.text_layers=1"};
    int n = 10;
    static char kind_kv[64];
    snprintf(kind_kv, sizeof kind_kv, "model.kind=%s", kind);
    base[n++] = kind_kv;
    for (int i = 0; i < n_extra && n < 32; i++) base[n++] = extra[i];
    return cfg_defaults(vr_schema, n, base);
}

static int create(vr_model *m, const char *kind, int n_extra, char **extra) {
    cfg *c = config(kind, n_extra, extra);
    if (!c) return -1;
    tt_gen *g = tt_gen_new(3);
    int rc = vr_model_create(m, c, g);
    tt_gen_free(g);
    cfg_free(c);
    return rc;
}

static tt_tensor *randn(tt_gen *g, int64_t a, int64_t b, int64_t c) { return tt_randn(g, TT_SHAPE(a, b, c), TT_F32); }

static double max_abs_diff(tt_tensor *a, tt_tensor *b) {
    double v = INFINITY;
    tt_tensor *d = tt_max_all(tt_abs(tt_sub(a, b)));
    return d && !tt_item(d, &v) ? v : INFINITY;
}

static const char *LABELS[4] = {
    "{\"instrument\":\"piano\",\"pattern\":\"groove\",\"tempo_bpm\":80,\"mode\":\"major\"}",
    "{\"instrument\":\"bass_drums\",\"pattern\":\"melody\",\"tempo_bpm\":110,\"mode\":\"minor\"}",
    "{\"instrument\":\"organ\",\"pattern\":\"chords\",\"tempo_bpm\":139.5,\"mode\":\"minor\"}",
    "{\"instrument\":\"brass\",\"pattern\":\"arpeggio\",\"tempo_bpm\":95,\"mode\":\"major\"}"};

/* A batch of B clips of T frames, 8 mels, 6 video frames of 5 dims, captions, LABELS. */
typedef struct test_batch {
    vr_batch b;
    float audio[4 * 60 * 8], video[4 * 6 * 5];
    uint8_t text[4 * 32];
    int text_len[4];
    int64_t clip[4];
    const char *id[4], *labels[4];
} test_batch;

static void make_batch(test_batch *t, int B, int T) {
    memset(t, 0, sizeof *t);
    vr_rng r;
    vr_rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof t->audio / sizeof *t->audio; i++) t->audio[i] = (float)vr_rng_normal(&r);
    for (size_t i = 0; i < sizeof t->video / sizeof *t->video; i++) t->video[i] = (float)vr_rng_uniform(&r);
    static const char *captions[4] = {"warm piano groove", "deep bass and drums", "", "brassy arpeggios, high"};
    static const char *ids[4] = {"clip-a", "clip-b", "clip-c", "clip-d"};
    for (int i = 0; i < 4; i++) {
        t->text_len[i] = (int)strlen(captions[i]);
        memcpy(t->text + 32 * i, captions[i], (size_t)t->text_len[i]);
        t->clip[i] = i;
        t->id[i] = ids[i];
        t->labels[i] = LABELS[i];
    }
    t->b = (vr_batch){.B = B, .T = T, .D = 8, .Tv = 6, .Dv = 5, .max_text = 32, .audio = t->audio, .video = t->video,
                      .text = t->text, .text_len = t->text_len, .clip = t->clip, .id = t->id,
                      .labels_json = t->labels};
}

/* Every parameter got a finite gradient. */
static int all_grads(const vr_model *m) {
    for (int i = 0; i < tt_params_count(m->params); i++) {
        tt_tensor *p = tt_params_at(m->params, i);
        double v = NAN;
        if (!tt_has_grad(p) || tt_item(tt_norm_all(tt_grad(p)), &v) || !isfinite(v)) {
            fprintf(stderr, "no finite gradient for %s\n", tt_params_name(m->params, i));
            return 0;
        }
    }
    return 1;
}

/* ---- unit tests ---- */

static void test_tagger_config(void) {
    vr_model m;
    CHECK(create(&m, "tagger", 0, NULL) == 0, "tagger from the defaults");
    CHECK(tagger_n_heads(&m) == 4, "4 heads");
    static const int nc[4] = {8, 4, 4, 2};
    static const char *heads[4] = {"instrument", "pattern", "tempo", "mode"};
    for (int h = 0; h < 4; h++) {
        CHECK(tagger_n_classes(&m, h) == nc[h], "head %d: %d classes", h, tagger_n_classes(&m, h));
        CHECK(!strcmp(tagger_head_name(&m, h), heads[h]), "head %d is %s", h, tagger_head_name(&m, h));
    }
    static const char *tempo[4] = {"<95", "95-110", "110-125", ">=125"};
    for (int k = 0; k < 4; k++) CHECK(!strcmp(tagger_class_name(&m, 2, k), tempo[k]), "tempo class %d", k);
    CHECK(!strcmp(tagger_class_name(&m, 0, 7), "bass_drums") && !strcmp(tagger_class_name(&m, 0, 8), "?"),
          "instrument names");
    CHECK(tagger_embed_dim(&m) == 8 && tagger_latent_dim(&m) == 8, "dims");

    /* labels -> classes: tempo edges go up, unknown values and missing labels are errors */
    int cls[4];
    static const int want[4][4] = {{0, 2, 0, 0}, {7, 3, 2, 1}, {5, 1, 3, 1}, {3, 0, 1, 0}};
    for (int i = 0; i < 4; i++) {
        CHECK(tagger_classes_of(&m, "c", LABELS[i], cls) == 0, "labels %d", i);
        for (int h = 0; h < 4; h++)
            CHECK(cls[h] == want[i][h], "labels %d head %d: %d, want %d", i, h, cls[h], want[i][h]);
    }
    CHECK(tagger_classes_of(&m, "c", "{\"instrument\":\"piano\",\"pattern\":\"groove\",\"tempo_bpm\":94.99,"
                                     "\"mode\":\"major\"}", cls) == 0 && cls[2] == 0, "94.99 bpm is <95");
    CHECK(tagger_classes_of(&m, "clip-x", "{\"instrument\":\"banjo\",\"pattern\":\"groove\",\"tempo_bpm\":90,"
                                          "\"mode\":\"major\"}", cls) < 0 &&
              strstr(vr_error(), "clip-x") && strstr(vr_error(), "banjo") && strstr(vr_error(), "tagger_instruments"),
          "an unknown instrument names the clip and value: %s", vr_error());
    CHECK(tagger_classes_of(&m, "clip-y", "{\"instrument\":\"piano\",\"pattern\":\"groove\",\"mode\":\"major\"}",
                            cls) < 0 && strstr(vr_error(), "clip-y") && strstr(vr_error(), "tempo_bpm"),
          "a missing tempo is an error: %s", vr_error());
    CHECK(tagger_classes_of(&m, "clip-z", "{}", cls) < 0 && strstr(vr_error(), "clip-z"), "empty labels");
    CHECK(tagger_classes_of(&m, "clip-w", "[1]", cls) < 0 && strstr(vr_error(), "not a JSON object"), "not an object");
    vr_model_destroy(&m);

    /* a subset of heads in another order, other vocabularies */
    char *sub[] = {"model.tagger_heads=[mode, tempo]", "model.tagger_tempo_edges=[100]",
                   "model.tagger_modes=[minor, major]"};
    CHECK(create(&m, "tagger", 3, sub) == 0, "two heads");
    CHECK(tagger_n_heads(&m) == 2 && !strcmp(tagger_head_name(&m, 0), "mode") && tagger_n_classes(&m, 1) == 2 &&
              !strcmp(tagger_class_name(&m, 1, 1), ">=100"),
          "mode, tempo (2 classes)");
    CHECK(tagger_classes_of(&m, "c", "{\"tempo_bpm\":100,\"mode\":\"major\"}", cls) == 0 && cls[0] == 1 && cls[1] == 1,
          "only the heads' labels are needed");
    vr_model_destroy(&m);

    /* bad configs */
    struct {
        const char *kv, *want;
    } bad[] = {{"model.tagger_heads=[instrument, banana]", "banana"},
               {"model.tagger_heads=[mode, mode]", "twice"},
               {"model.tagger_heads=[]", "tagger_heads"},
               {"model.tagger_tempo_edges=[110, 95]", "increasing"},
               {"model.tagger_modes=[major]", "tagger_modes"},
               {"model.tagger_patterns=[a, b, a]", "twice"},
               {"model.cnn_channels=[]", "cnn_channels"},
               {"model.n_heads=3", "n_heads"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *kv = (char *)bad[i].kv;
        CHECK(create(&m, "tagger", 1, &kv) < 0 && strstr(vr_error(), bad[i].want), "%s refused: %s", kv, vr_error());
    }
}

static void test_tagger_loss_and_eval(void) {
    vr_model m;
    if (create(&m, "tagger", 0, NULL)) {
        CHECK(0, "tagger");
        return;
    }
    test_batch t;
    make_batch(&t, 4, 60);
    tt_gen *g = tt_gen_new(1);
    tt_scope_begin();
    vr_loss_parts parts = {0};
    tt_tensor *loss = tagger_ops.loss(&m, &t.b, 1, g, &parts);
    double v = NAN;
    CHECK(loss && !tt_item(loss, &v) && isfinite(v) && v > 0, "loss %g", v);
    CHECK(parts.n == 8 && !strcmp(parts.name[0], "ce_instrument") && !strcmp(parts.name[7], "acc_mode"),
          "8 loss parts (%d)", parts.n);
    double sum = 0;
    for (int i = 0; i < parts.n; i += 2) sum += parts.value[i];
    CHECK(fabs(sum - v) < 1e-5 * v, "loss = sum of the heads' CE (%g vs %g)", sum, v);
    CHECK(loss && !tt_backward(loss) && all_grads(&m), "every parameter gets a gradient");
    /* crops depend on (seed, epoch, clip): the same batch gives the same loss; eval uses the centre */
    tt_tensor *l2 = tagger_ops.loss(&m, &t.b, 1, g, NULL);
    double v2 = NAN, v3 = NAN;
    CHECK(l2 && !tt_item(l2, &v2) && v2 == v, "same crops, same loss (%g, %g)", v, v2);
    t.b.epoch = 1;
    tt_tensor *l3 = tagger_ops.loss(&m, &t.b, 1, g, NULL);
    CHECK(l3 && !tt_item(l3, &v3) && v3 != v, "another epoch, other crops (%g, %g)", v, v3);
    t.b.epoch = 0;

    /* a bad label in the batch: an error naming the clip */
    t.labels[2] = "{\"instrument\":\"kazoo\",\"pattern\":\"chords\",\"tempo_bpm\":100,\"mode\":\"minor\"}";
    CHECK(!tagger_ops.loss(&m, &t.b, 1, g, NULL) && strstr(tt_last_error(), "clip-c") &&
              strstr(tt_last_error(), "kazoo"),
          "bad label: %s", tt_last_error());
    t.labels[2] = LABELS[2];
    t.b.labels_json = NULL;
    CHECK(!tagger_ops.loss(&m, &t.b, 1, g, NULL) && strstr(tt_last_error(), "labels"), "no labels: %s",
          tt_last_error());
    t.b.labels_json = t.labels;
    t.b.D = 7;
    CHECK(!tagger_ops.loss(&m, &t.b, 1, g, NULL) && strstr(tt_last_error(), "channels"), "wrong D: %s",
          tt_last_error());
    t.b.D = 8;

    /* eval: shapes, windows (T 60, W 20, hop 10: 5 windows) averaged, shorter clips, no autograd */
    tt_tensor *x = randn(g, 2, 60, 8), *emb, *logits[4];
    CHECK(tagger_embed_logits(&m, x, &emb, logits) == 0, "embed_logits");
    CHECK(tt_size(emb, 0) == 2 && tt_size(emb, 1) == 8 && !tt_requires_grad(emb), "emb [2, 8] without grad");
    static const int nc[4] = {8, 4, 4, 2};
    for (int h = 0; h < 4; h++)
        CHECK(tt_size(logits[h], 0) == 2 && tt_size(logits[h], 1) == nc[h], "logits %d [2, %d]", h, nc[h]);
    tt_tensor *sum_emb = NULL;
    for (int k = 0; k < 5; k++) {
        tt_tensor *e;
        CHECK(tagger_embed_logits(&m, tt_slice(x, 1, 10 * k, 10 * k + 20, 1), &e, NULL) == 0, "window %d", k);
        sum_emb = k ? tt_add(sum_emb, e) : e;
    }
    CHECK(max_abs_diff(tt_mul_scalar(sum_emb, 0.2), emb) < 1e-5, "the clip embedding is the mean of its 5 windows");
    tt_tensor *short_x = randn(g, 3, 7, 8);
    CHECK(tagger_embed_logits(&m, short_x, &emb, logits) == 0 && tt_size(emb, 0) == 3, "a clip shorter than a crop");
    CHECK(tagger_embed_logits(&m, randn(g, 2, 60, 6), &emb, logits) < 0 && strstr(vr_error(), "8]"),
          "wrong mel count: %s", vr_error());
    tt_scope_end();
    tt_gen_free(g);
    vr_model_destroy(&m);
}

/* InfoNCE on fixed embeddings against the formula written out in double. */
static void test_info_nce(void) {
    static const float A[3][2] = {{1, 0}, {0.6f, 0.8f}, {0, 1}}, Bv[3][2] = {{0.8f, 0.6f}, {1, 0}, {0, -1}};
    double s = 2.5, want = 0, top = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int i = 0; i < 3; i++) {
            double l[3], mx = -INFINITY, z = 0;
            for (int j = 0; j < 3; j++) {
                const float *q = dir ? Bv[i] : A[i], *k = dir ? A[j] : Bv[j];
                l[j] = s * (q[0] * k[0] + q[1] * k[1]);
                mx = l[j] > mx ? l[j] : mx;
            }
            for (int j = 0; j < 3; j++) z += exp(l[j]);
            want += (log(z) - l[i]) / 6.0;
            top += (l[i] == mx) / 6.0;
        }
    tt_scope_begin();
    tt_tensor *a = tt_from_data(A, TT_F32, TT_SHAPE(3, 2)), *b = tt_from_data(Bv, TT_F32, TT_SHAPE(3, 2));
    double got = NAN, acc = NAN;
    tt_tensor *loss = contrast_info_nce(a, b, tt_scalar(s, TT_F32), &acc);
    CHECK(loss && !tt_item(loss, &got) && fabs(got - want) < 1e-6, "InfoNCE %.9f, by hand %.9f", got, want);
    CHECK(fabs(acc - top) < 1e-9, "accuracy %g, by hand %g", acc, top);
    CHECK(!contrast_info_nce(a, tt_slice(b, 0, 0, 2, 1), tt_scalar(s, TT_F32), NULL), "shape mismatch refused");
    tt_tensor *cs = contrast_cosine(tt_mul_scalar(a, 3), b);
    float c[3];
    CHECK(cs && !tt_to_data(cs, c, sizeof c) && fabs(c[0] - 0.8) < 1e-6 && fabs(c[1] - 0.6) < 1e-6 &&
              fabs(c[2] + 1) < 1e-6,
          "row-wise cosine");
    tt_scope_end();
}

/* Retrieval with a tie: keys 1 and 2 are identical. */
static void test_retrieval(void) {
    const float q[4][2] = {{1, 0}, {0, 1}, {0, 1}, {-1, 0}};
    const float k[4][2] = {{1, 0}, {0, 1}, {0, 1}, {0.6f, -0.8f}};
    contrast_recall r;
    CHECK(contrast_retrieval(&q[0][0], &k[0][0], 4, 2, &r) == 0, "retrieval");
    /* query 0: true 1, above none -> rank 1. query 1: true 1, tie with key 2 -> R@1 1/2, rank 1.5.
     * query 2: same, 1/2, 1.5. query 3: true -0.6, above: keys 1, 2 (0), key 0 (-1) below -> rank 3. */
    CHECK(fabs(r.r1 - (1 + 0.5 + 0.5 + 0) / 4) < 1e-12, "R@1 %g", r.r1);
    CHECK(r.r5 == 1 && r.r10 == 1, "R@5 %g", r.r5);
    CHECK(fabs(r.median_rank - 1.5) < 1e-12, "median rank %g", r.median_rank);
    CHECK(fabs(r.mean_pos - (1 + 1 + 1 - 0.6) / 4) < 1e-6, "mean cosine of pairs %g", r.mean_pos);
    double neg = (0 + 0 + 0.6 + 0 + 1 - 0.8 + 0 + 1 - 0.8 + -1 + 0 + 0) / 12;
    CHECK(fabs(r.mean_neg - neg) < 1e-6, "mean cosine of others %g vs %g", r.mean_neg, neg);
    CHECK(contrast_retrieval(&q[0][0], &k[0][0], 0, 2, &r) < 0, "no pairs refused");
}

static void test_contrast(void) {
    vr_model m;
    CHECK(create(&m, "contrast", 0, NULL) == 0, "contrast from the defaults");
    if (!m.state) return;
    test_batch t;
    make_batch(&t, 4, 60);
    tt_gen *g = tt_gen_new(1);
    tt_scope_begin();
    vr_loss_parts parts = {0};
    tt_tensor *loss = contrast_ops.loss(&m, &t.b, 1, g, &parts);
    double v = NAN;
    CHECK(loss && !tt_item(loss, &v) && isfinite(v), "loss %g", v);
    CHECK(parts.n == 5 && !strcmp(parts.name[0], "nce_video") && !strcmp(parts.name[4], "temperature") &&
              fabs(parts.value[4] - 0.07) < 1e-6 && fabs(parts.value[0] + parts.value[2] - v) < 1e-5,
          "parts: nce_video + nce_text = loss, temperature 0.07 (%d parts)", parts.n);
    /* untrained, four clips: each InfoNCE is near ln 4 */
    CHECK(fabs(parts.value[0] - log(4)) < 1.5, "nce_video %g near ln 4", parts.value[0]);
    CHECK(loss && !tt_backward(loss) && all_grads(&m), "every parameter gets a gradient");
    t.b.B = 1;
    CHECK(!contrast_ops.loss(&m, &t.b, 1, g, NULL) && strstr(tt_last_error(), "at least 2"), "one clip refused");
    t.b.B = 4;
    t.b.Dv = 4;
    CHECK(!contrast_ops.loss(&m, &t.b, 1, g, NULL) && strstr(tt_last_error(), "video_dim"), "bad Dv: %s",
          tt_last_error());
    t.b.Dv = 5;

    tt_tensor *a = contrast_embed_audio(&m, randn(g, 3, 60, 8)), *vv = contrast_embed_video(&m, randn(g, 3, 6, 5));
    const char *texts[3] = {"strings", "", "a much longer caption about brass and drums"};
    tt_tensor *tx = contrast_embed_text(&m, texts, 3);
    CHECK(a && vv && tx && tt_size(a, 1) == 8 && tt_size(vv, 0) == 3 && tt_size(tx, 1) == 8 && !tt_requires_grad(a),
          "embeddings [3, 8] without grad");
    tt_tensor *norms = tt_sum(tt_square(tx), -1, 0);
    CHECK(max_abs_diff(norms, tt_ones(TT_SHAPE(3), TT_F32)) < 1e-5, "unit norm");
    tt_tensor *one = contrast_embed_text(&m, texts + 2, 1);
    CHECK(max_abs_diff(one, tt_slice(tx, 0, 2, 3, 1)) < 1e-5, "a caption's embedding does not depend on its batch");
    tt_scope_end();
    vr_model_destroy(&m);

    char *kv[] = {"model.use_video=false", "model.use_text=false"};
    CHECK(create(&m, "contrast", 2, kv) < 0 && strstr(vr_error(), "both false"), "no branch refused: %s", vr_error());
    CHECK(create(&m, "contrast", 1, kv) == 0 && !contrast_has_video(&m) && contrast_has_text(&m), "text only");
    tt_scope_begin();
    CHECK(!contrast_embed_video(&m, randn(g, 1, 6, 5)) && strstr(tt_last_error(), "no video"), "no video encoder");
    make_batch(&t, 4, 60);
    CHECK(contrast_ops.loss(&m, &t.b, 0, NULL, &parts) && parts.n == 3 && !strcmp(parts.name[0], "nce_text"),
          "text-only loss");
    tt_scope_end();
    vr_model_destroy(&m);
    tt_gen_free(g);
}

/* ---- parity mode ---- */

static st_file *g_meta;

static void *host(tt_params *in, const char *name, size_t elem) {
    tt_tensor *t = tt_params_get(in, name);
    size_t n = t ? (size_t)tt_numel(t) * elem : 0;
    void *buf = t ? malloc(n ? n : 1) : NULL;
    if (!buf || tt_to_data(t, buf, n)) {
        fprintf(stderr, "test_tagger parity: input '%s' missing or unreadable\n", name);
        exit(1);
    }
    return buf;
}

static int parity_fail(const char *what) {
    fprintf(stderr, "test_tagger parity: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

static int parity(const char *kind, const char *params, const char *inputs, const char *out_path) {
    if (!(g_meta = st_open(inputs))) return parity_fail("open inputs");
    char *ov = strdup(st_meta(g_meta, "overrides") ? st_meta(g_meta, "overrides") : ""), *save = NULL, *items[64];
    int n_ov = 0;
    for (char *s = strtok_r(ov, ";", &save); s && n_ov < 64; s = strtok_r(NULL, ";", &save)) items[n_ov++] = s;
    cfg *c = cfg_defaults(vr_schema, n_ov, items);
    tt_params *in = tio_params_from_file(inputs), *res = tt_params_new();
    vr_model m;
    tt_gen *g = tt_gen_new(1);
    if (!c || !in || vr_model_create(&m, c, g) || strcmp(m.ops->kind, kind) || tio_load_params(m.params, params, 1))
        return parity_fail("model");
    tt_tensor *audio = tt_params_get(in, "audio"), *video = tt_params_get(in, "video");
    tt_tensor *text = tt_params_get(in, "text");
    int B = (int)tt_size(audio, 0), T = (int)tt_size(audio, 1), D = (int)tt_size(audio, 2);
    vr_batch b = {.B = B, .T = T, .D = D, .Tv = (int)tt_size(video, 1), .Dv = (int)tt_size(video, 2),
                  .max_text = (int)tt_size(text, 1)};
    b.audio = host(in, "audio", 4);
    b.video = host(in, "video", 4);
    b.text = host(in, "text", 1);
    b.text_len = host(in, "text_len", 4);
    float *mean = host(in, "mean", 4), *std = host(in, "std", 4);
    m.norm_mean = mean, m.norm_std = std;
    char *labels_copy = strdup(st_meta(g_meta, "labels") ? st_meta(g_meta, "labels") : ""), *ls = NULL;
    const char *labels[64], *ids[64] = {0};
    int nl = 0;
    for (char *s = strtok_r(labels_copy, "\n", &ls); s && nl < 64; s = strtok_r(NULL, "\n", &ls)) labels[nl++] = s;
    b.labels_json = nl == B ? labels : NULL;
    for (int i = 0; i < B; i++) ids[i] = "parity";
    b.id = ids;
    int rc = 0;
    tt_scope_begin();
    vr_loss_parts parts = {0};
    tt_tensor *loss = m.ops->loss(&m, &b, 0, NULL, &parts);
    if (!loss || tt_backward(loss)) {
        rc = parity_fail("loss");
        goto done;
    }
    tt_params_add(res, "loss", tt_detach(loss));
    for (int i = 0; i < parts.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "part.%s", parts.name[i]);
        tt_params_add(res, name, tt_scalar(parts.value[i], TT_F64));
    }
    for (int i = 0; i < tt_params_count(m.params); i++) {
        char name[300];
        tt_tensor *p = tt_params_at(m.params, i);
        snprintf(name, sizeof name, "grad.%s", tt_params_name(m.params, i));
        if (tt_has_grad(p)) tt_params_add(res, name, tt_grad(p));
    }
    /* the eval API on the normalised audio */
    tt_tensor *raw = tt_from_data(b.audio, TT_F32, TT_SHAPE(B, T, D));
    tt_tensor *x = tt_div(tt_sub(raw, tt_from_data(mean, TT_F32, TT_SHAPE(D))), tt_from_data(std, TT_F32, TT_SHAPE(D)));
    if (!strcmp(kind, "tagger")) {
        tt_tensor *emb, *logits[TAGGER_MAX_HEADS];
        if (tagger_embed_logits(&m, x, &emb, logits)) {
            rc = parity_fail("embed_logits");
            goto done;
        }
        tt_params_add(res, "emb", emb);
        for (int h = 0; h < tagger_n_heads(&m); h++) {
            char name[64];
            snprintf(name, sizeof name, "logits.%s", tagger_head_name(&m, h));
            tt_params_add(res, name, logits[h]);
        }
    } else {
        const char *texts[64];
        char *copies[64];
        for (int i = 0; i < B; i++) {
            copies[i] = strndup((const char *)b.text + (size_t)i * b.max_text, (size_t)b.text_len[i]);
            texts[i] = copies[i];
        }
        int hv = contrast_has_video(&m), ht = contrast_has_text(&m);
        tt_tensor *ea = contrast_embed_audio(&m, x), *ev = hv ? contrast_embed_video(&m, video) : NULL,
                  *et = ht ? contrast_embed_text(&m, texts, B) : NULL;
        for (int i = 0; i < B; i++) free(copies[i]);
        if (!ea || (hv && !ev) || (ht && !et)) {
            rc = parity_fail("embeddings");
            goto done;
        }
        tt_params_add(res, "emb_audio", ea);
        if (hv) tt_params_add(res, "emb_video", ev);
        if (ht) tt_params_add(res, "emb_text", et);
    }
    if (tio_save_params(res, out_path, 0, NULL, NULL)) rc = parity_fail("save");
done:
    tt_scope_end();
    vr_model_destroy(&m);
    tt_params_free(res);
    tt_params_free(in);
    tt_gen_free(g);
    cfg_free(c);
    st_close(g_meta);
    free(ov);
    free(labels_copy);
    free(b.audio);
    free(b.video);
    free(b.text);
    free(b.text_len);
    free(mean);
    free(std);
    return rc;
}

/* ---- latent mode: the export's log-mel of an audio file against a shard's latent of that clip ---- */

typedef struct find_ctx {
    const char *id;
    float *latent; /* [T][D] once found */
    int T, D;
} find_ctx;

static int find_clip(const vr_batch *b, void *ctx) {
    find_ctx *f = ctx;
    for (int i = 0; i < b->B && !f->latent; i++)
        if (!strcmp(b->id[i], f->id)) {
            f->T = b->T, f->D = b->D;
            f->latent = malloc(sizeof(float) * (size_t)b->T * (size_t)b->D);
            memcpy(f->latent, b->audio + (size_t)i * b->T * b->D, sizeof(float) * (size_t)b->T * (size_t)b->D);
        }
    return 0;
}

static int latent_mode(char *export_path, char *shard, const char *audio_path, const char *id) {
    tagger_export x;
    vr_media media = {0};
    find_ctx f = {.id = id};
    int rc = 1;
    vr_media_opts o;
    vr_media_opts_default(&o);
    o.want_video = 0, o.want_audio = 1;
    int bad = tagger_export_load(&x, export_path, "tagger");
    o.sample_rate = x.sample_rate;
    bad = bad || vr_media_decode(audio_path, &o, &media) ||
          tagger_shards_foreach(&shard, 1, 4, x.mean, x.std, x.D, find_clip, &f);
    if (bad) {
        fprintf(stderr, "test_tagger latent: %s\n", vr_error());
    } else if (!f.latent) {
        fprintf(stderr, "test_tagger latent: no clip '%s' in %s\n", id, shard);
    } else {
        tt_scope_begin();
        tt_tensor *got = tagger_export_latent(&x, tt_from_data(media.audio, TT_F32, TT_SHAPE(media.n_samples)));
        tt_tensor *want = tt_from_data(f.latent, TT_F32, TT_SHAPE(1, f.T, f.D));
        if (!got || tt_size(got, 1) != f.T || tt_size(got, 2) != f.D) {
            fprintf(stderr, "test_tagger latent: shape or error: %s\n", vr_error());
        } else {
            double diff = max_abs_diff(got, want);
            printf("latent [%d, %d] of %s: max |export - shard| = %.2e (normalised units)\n", f.T, f.D, id, diff);
            rc = diff < 0.02 ? 0 : 1;
        }
        tt_scope_end();
    }
    free(f.latent);
    vr_media_free(&media);
    tagger_export_free(&x);
    return rc;
}

int main(int argc, char **argv) {
    tt_set_num_threads(1);
    if (argc >= 3 && !strcmp(argv[1], "run")) {
        if (!strcmp(argv[2], "tagger-eval")) return tagger_cmd_eval(argc - 2, argv + 2);
        if (!strcmp(argv[2], "contrast-eval")) return contrast_cmd_eval(argc - 2, argv + 2);
    }
    if (argc == 6 && !strcmp(argv[1], "parity")) return parity(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 6 && !strcmp(argv[1], "latent")) return latent_mode(argv[2], argv[3], argv[4], argv[5]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [parity tagger|contrast PARAMS INPUTS OUT | run tagger-eval|contrast-eval ARGS... | "
                "latent EXPORT SHARD AUDIO CLIP_ID]\n", argv[0]);
        return 2;
    }
    test_tagger_config();
    test_tagger_loss_and_eval();
    test_info_nce();
    test_retrieval();
    test_contrast();
    return check_summary();
}
