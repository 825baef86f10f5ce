/* test_generate.c — generation beyond one window and beyond one clip, on a tiny random model:
 *
 *   robin_generate with a history: the history comes back unchanged, the conditions it used
 *   equal the teacher-forced ones (robin_condition) on the concatenated latent, another history
 *   gives other conditions and music, H = P samples nothing; per-clip generators make a clip's
 *   sample independent of its batch (up to matmul round-off); the KV-cache-free path gives the
 *   same result; stage times and the per-patch callback; bad histories and generators refused.
 *
 *   infer/generate.c: the sliding-window schedule (full windows, half-window hop, the last
 *   window aligned to the end, every patch sampled once), and vr_gen_latents over a clip of four
 *   windows: deterministic, its first window equal to a one-window clip's (continuation never
 *   rewrites the past), batch-independent, and a batch of clips of different lengths refused.
 *
 * usage: test_generate CONFIGS_DIR
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/rng.h"
#include "infer/generate.h"
#include "models/robin.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"
#include "tests/tt_testing.h"

enum { M = 16, F = 5, DV = 31, MAXT = 32 };

static char g_configs[1024];

/* configs/model/tiny.yaml with 16 mel bins and a 0.8-s window (8 patches of 5 frames, 8 video
 * frames), so a 2-s clip takes four windows */
static cfg *tiny_config(void) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model/tiny.yaml", g_configs);
    char *ov[] = {"data.n_mels=16", "data.clip_seconds=0.8", "model.rite_layers=2"};
    cfg *c = cfg_load(path, vr_schema, 3, ov);
    if (!c) {
        fprintf(stderr, "config: %s\n", vr_error());
        exit(1);
    }
    return c;
}

/* ---- batches made by hand ---- */

typedef struct clip_batch {
    vr_batch b;
    const char *ids[4];
    float video[4 * 64 * DV];
    uint8_t text[4 * MAXT];
    int text_len[4];
} clip_batch;

static const char *captions[] = {"warm strings, slow arpeggios", "", "bright piano", "dark synth bass"};

/* clips `first`..first+B-1 of a fixed family: T latent frames, Tv video frames each */
static void make_batch(clip_batch *cb, int first, int B, int T, int Tv) {
    static const char *names[] = {"clip-a", "clip-b", "clip-c", "clip-d"};
    memset(cb, 0, sizeof *cb);
    cb->b = (vr_batch){.B = B, .T = T, .D = M, .Tv = Tv, .Dv = DV, .max_text = MAXT, .video = cb->video,
                       .text = cb->text, .text_len = cb->text_len, .id = cb->ids};
    for (int i = 0; i < B; i++) {
        int c = first + i;
        for (int t = 0; t < Tv; t++)
            for (int k = 0; k < DV; k++) cb->video[(i * Tv + t) * DV + k] = (float)(0.5 + 0.4 * sin(0.3 * t * (c + 1) + k));
        cb->text_len[i] = (int)strlen(captions[c]);
        memcpy(cb->text + i * MAXT, captions[c], strlen(captions[c]));
        cb->ids[i] = names[c];
    }
}

/* normalised-latent-like history [B, H*F, M] */
static tt_tensor *history(int B, int H, uint64_t seed) {
    tt_gen *g = tt_gen_new(seed);
    tt_tensor *h = tt_randn(g, TT_SHAPE(B, H * F, M), TT_F32);
    tt_gen_free(g);
    return h;
}

static tt_gen **clip_gens(int first, int B) {
    tt_gen **g = calloc((size_t)B, sizeof *g);
    for (int i = 0; i < B; i++) g[i] = tt_gen_new(1000 + first + i);
    return g;
}

static void free_gens(tt_gen **g, int B) {
    for (int i = 0; i < B; i++) tt_gen_free(g[i]);
    free(g);
}

static void count_patch(void *ctx) { ++*(int *)ctx; }

/* ---- robin_generate with a history ---- */

static void test_history(vr_model *m) {
    enum { B = 3, P = 8, H = 3, T = P * F, TV = 8 };
    clip_batch cb;
    make_batch(&cb, 0, B, T, TV);
    int64_t live = tt_live_handles();
    tt_scope_begin();
    tt_tensor *hist = history(B, H, 1), *hist2 = history(B, H, 2);
    tt_gen **g1 = clip_gens(0, B), **g2 = clip_gens(0, B), **g3 = clip_gens(0, B), **g4 = clip_gens(0, B);
    robin_gen_times tm = {0};
    int n_patches = 0;
    robin_gen_opts o = {.steps = 3, .cfg_scale = 2.0, .history = hist, .clip_gens = g1, .times = &tm,
                        .on_patch = count_patch, .ctx = &n_patches};
    tt_tensor *c1 = NULL, *c2 = NULL;
    tt_tensor *x1 = robin_generate(m, &cb.b, &o, NULL, &c1);
    CHECK(x1 && c1 && tt_size(x1, 0) == B && tt_size(x1, 1) == T && tt_size(x1, 2) == M && tt_size(c1, 1) == P,
          "history: generates [%d, %d, %d] and conditions for all %d patches", B, T, M, P);
    if (!x1 || !c1) goto out;
    CHECK(n_patches == P - H, "history: %d patches sampled, expected %d", n_patches, P - H);
    CHECK(tm.prefix > 0 && tm.planner > 0 && tm.rite > 0 && tm.dit > 0, "stage times prefix %g planner %g rite %g dit %g",
          tm.prefix, tm.planner, tm.rite, tm.dit);

    /* the history comes back bit for bit */
    float got[B * H * F * M], want[B * H * F * M];
    tt_to_data(tt_contiguous(tt_slice(x1, 1, 0, H * F, 1)), got, sizeof got);
    tt_to_data(hist, want, sizeof want);
    CHECK(!memcmp(got, want, sizeof got), "history: the first %d patches are the history, unchanged", H);

    /* the conditions used, history patches included, are the teacher-forced ones on the result */
    tt_tensor *tf = robin_condition(m, &cb.b, x1);
    double e = tf ? tt_test_max_abs_diff(tf, c1) : INFINITY;
    CHECK(e <= 1e-5, "history: conditions vs robin_condition on history + generated: %.2e", e);
    e = tf ? tt_test_max_abs_diff(tt_slice(tf, 1, 0, H + 1, 1), tt_slice(c1, 1, 0, H + 1, 1)) : INFINITY;
    CHECK(e <= 1e-5, "history: c_0..c_H (read the history) match teacher forcing: %.2e", e);

    /* another history: other conditions from c_1 on (c_0 sees only the prefix), other music */
    o.history = hist2;
    o.clip_gens = g2;
    o.times = NULL;
    tt_tensor *x2 = robin_generate(m, &cb.b, &o, NULL, &c2);
    CHECK(x2 && c2, "history 2 generates");
    if (!x2 || !c2) goto out;
    CHECK(tt_test_max_abs_diff(tt_select(c1, 1, 0), tt_select(c2, 1, 0)) == 0, "c_0 does not depend on the history");
    CHECK(tt_test_max_abs_diff(tt_slice(c1, 1, 1, H + 1, 1), tt_slice(c2, 1, 1, H + 1, 1)) > 1e-3,
          "c_1..c_H depend on the history");
    CHECK(tt_test_max_abs_diff(tt_slice(x1, 1, H * F, T, 1), tt_slice(x2, 1, H * F, T, 1)) > 1e-3,
          "the continuation depends on the history");

    /* same history, same generators: the same bits */
    o.history = hist;
    o.clip_gens = g3;
    tt_tensor *x3 = robin_generate(m, &cb.b, &o, NULL, NULL);
    if (x3) {
        float a[B * T * M], b[B * T * M];
        tt_to_data(x1, a, sizeof a);
        tt_to_data(x3, b, sizeof b);
        CHECK(!memcmp(a, b, sizeof a), "history: same generators, identical latents");
    } else {
        CHECK(0, "history: repeat generates");
    }

    /* without KV caches (planner and RITE recomputed per patch): the same, up to round-off */
    o.clip_gens = g4;
    o.no_kv_cache = 1;
    tt_tensor *c4 = NULL, *x4 = robin_generate(m, &cb.b, &o, NULL, &c4);
    double ex = x4 ? tt_test_max_abs_diff(x1, x4) : INFINITY, ec = c4 ? tt_test_max_abs_diff(c1, c4) : INFINITY;
    CHECK(ec <= 1e-5 && ex <= 1e-4, "no KV cache: conditions differ by %.2e, latents by %.2e", ec, ex);
    printf("no KV cache vs KV cache: conditions %.2e, latents %.2e\n", ec, ex);

    /* H = P: nothing to sample, the history is the result */
    n_patches = 0;
    tt_tensor *full = history(B, P, 3);
    tt_tensor *x5 = robin_generate(m, &cb.b, &(robin_gen_opts){.steps = 2, .history = full, .clip_gens = g1,
                                                                .on_patch = count_patch, .ctx = &n_patches},
                                   NULL, NULL);
    CHECK(x5 && tt_test_max_abs_diff(x5, full) == 0 && n_patches == 0, "H = P: returns the history, samples nothing (%d)",
          n_patches);
out:
    free_gens(g1, B);
    free_gens(g2, B);
    free_gens(g3, B);
    free_gens(g4, B);
    tt_scope_end();
    CHECK(tt_live_handles() == live, "history tests leak no handles (%lld vs %lld)", (long long)tt_live_handles(),
          (long long)live);
}

/* A clip's sample with its own generator does not depend on the batch around it. */
static void test_batch_independence(vr_model *m) {
    enum { P = 8, H = 2, T = P * F, TV = 8 };
    clip_batch all, one;
    make_batch(&all, 0, 4, T, TV);
    make_batch(&one, 2, 1, T, TV);
    tt_scope_begin();
    tt_tensor *hist = history(4, H, 9);
    tt_gen **ga = clip_gens(0, 4), **g1 = clip_gens(2, 1);
    tt_tensor *xa = robin_generate(m, &all.b, &(robin_gen_opts){.steps = 3, .history = hist, .clip_gens = ga}, NULL, NULL);
    tt_tensor *x1 = robin_generate(m, &one.b,
                                   &(robin_gen_opts){.steps = 3, .history = tt_slice(hist, 0, 2, 3, 1), .clip_gens = g1},
                                   NULL, NULL);
    double e = xa && x1 ? tt_test_max_abs_diff(tt_slice(xa, 0, 2, 3, 1), x1) : INFINITY;
    /* not bit-exact: batched matmuls and the longer padded caption sum in another order */
    CHECK(e <= 1e-4, "clip c alone vs in a batch of 4: latents differ by %.2e", e);
    printf("batch 1 vs batch 4 (robin_generate, per-clip generators): max |diff| %.2e\n", e);
    free_gens(ga, 4);
    free_gens(g1, 1);
    tt_scope_end();
}

static void test_bad_inputs(vr_model *m) {
    enum { B = 2, P = 4, T = P * F, TV = 4 };
    clip_batch cb;
    make_batch(&cb, 0, B, T, TV);
    int64_t live = tt_live_handles();
    tt_scope_begin();
    tt_gen **g = clip_gens(0, B);
    struct {
        tt_tensor *h;
        const char *what;
    } bad[] = {
        {tt_zeros(TT_SHAPE(B, 7, M), TT_F32), "not whole patches"},
        {tt_zeros(TT_SHAPE(B, (P + 1) * F, M), TT_F32), "longer than the clip"},
        {tt_zeros(TT_SHAPE(B + 1, F, M), TT_F32), "another batch size"},
        {tt_zeros(TT_SHAPE(B, F, M + 1), TT_F32), "other channels"},
        {tt_zeros(TT_SHAPE(B * F, M), TT_F32), "2 dims"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tt_tensor *x = robin_generate(m, &cb.b, &(robin_gen_opts){.history = bad[i].h, .clip_gens = g}, NULL, NULL);
        CHECK(!x && strstr(tt_last_error(), "history must be") && strstr(tt_last_error(), "clip-a"),
              "history %s refused: %s", bad[i].what, tt_last_error());
    }
    tt_gen *keep = g[1];
    g[1] = NULL;
    tt_tensor *x = robin_generate(m, &cb.b, &(robin_gen_opts){.clip_gens = g}, NULL, NULL);
    CHECK(!x && strstr(tt_last_error(), "clip-b") && strstr(tt_last_error(), "clip_gens[1]"),
          "a missing clip generator is named: %s", tt_last_error());
    g[1] = keep;
    x = robin_generate(m, &cb.b, NULL, NULL, NULL);
    CHECK(!x && strstr(tt_last_error(), "needs a generator"), "no generator at all: %s", tt_last_error());
    free_gens(g, B);
    tt_scope_end();
    CHECK(tt_live_handles() == live, "refusals leak no handles");
}

/* ---- the sliding-window schedule ---- */

static void test_windows(void) {
    vr_gen_window w[700];
    CHECK(vr_gen_windows(100, 100, w) == 1 && w[0].start == 0 && w[0].history == 0 && w[0].len == 100,
          "one full window");
    CHECK(vr_gen_windows(37, 100, w) == 1 && w[0].len == 37, "a short clip is one window of its length");
    struct {
        int64_t P_total, P_win;
        int n;
    } cases[] = {{601, 100, 12}, {300, 100, 5}, {101, 100, 2}, {20, 8, 4}, {5, 1, 5}, {150, 100, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int64_t Pt = cases[c].P_total, Pw = cases[c].P_win, hop = Pw / 2 > 0 ? Pw / 2 : 1;
        int n = vr_gen_windows(Pt, Pw, w), ok = n == cases[c].n && n == vr_gen_windows(Pt, Pw, NULL);
        int64_t end = 0;
        for (int i = 0; ok && i < n; i++) {
            ok = w[i].len == Pw && w[i].start + w[i].history == end && w[i].len > w[i].history &&
                 (i == 0 ? w[i].history == 0 : w[i].history >= Pw - hop) &&
                 (i == 0 || i == n - 1 || w[i].start == w[i - 1].start + hop);
            end = w[i].start + w[i].len;
        }
        CHECK(ok && end == Pt, "%lld patches, windows of %lld: %d windows (want %d), each full, hop %lld, every patch "
              "sampled once, ends at %lld", (long long)Pt, (long long)Pw, n, cases[c].n, (long long)hop, (long long)end);
    }
}

/* ---- vr_gen_latents over several windows ---- */

static void make_clip(vr_gen_clip *c, const char *id, int T, uint64_t seed, int variant) {
    int n_frames = (T / F) + 1; /* one frame per patch, one spare as a decoder gives */
    *c = (vr_gen_clip){.id = id, .text = captions[variant], .seed = seed, .n_frames = n_frames, .Dv = DV, .T = T,
                       .n_samples = (int64_t)T * 320};
    c->feat = malloc(sizeof(float) * (size_t)n_frames * DV);
    for (int t = 0; t < n_frames; t++)
        for (int k = 0; k < DV; k++) c->feat[t * DV + k] = (float)(0.5 + 0.4 * sin(0.2 * t * (variant + 1) + k));
}

static int latents_equal(const vr_gen_clip *a, const vr_gen_clip *b, int64_t frames) {
    return a->latent && b->latent && !memcmp(a->latent, b->latent, sizeof(float) * (size_t)(frames * M));
}

static double latent_diff(const vr_gen_clip *a, const vr_gen_clip *b, int64_t frames) {
    double e = 0;
    for (int64_t i = 0; i < frames * M; i++) e = fmax(e, fabs(a->latent[i] - b->latent[i]));
    return e;
}

static void test_sliding(vr_generator *g) {
    enum { T = 100, T_WIN = 40 }; /* 20 patches, windows of 8: 4 windows */
    robin_gen_opts o = {.steps = 3, .cfg_scale = 2.0};
    vr_gen_clip a, a2, w1, b, c, short_b;
    make_clip(&a, "long-a", T, 11, 0);
    make_clip(&a2, "long-a", T, 11, 0);
    make_clip(&w1, "one-window", T_WIN, 11, 0);
    make_clip(&b, "long-b", T, 12, 2);
    make_clip(&c, "long-c", T, 13, 3);
    make_clip(&short_b, "short-b", T - 5, 12, 2);
    robin_gen_times tm = {0};
    o.times = &tm;
    int rc = vr_gen_latents(g, (vr_gen_clip *[]){&a}, 1, &o, NULL);
    CHECK(rc == 0 && a.latent, "a 4-window clip generates: %s", vr_error());
    CHECK(tm.dit > 0 && tm.planner > 0, "stage times are filled");
    o.times = NULL;
    CHECK(vr_gen_latents(g, (vr_gen_clip *[]){&a2}, 1, &o, NULL) == 0 && latents_equal(&a, &a2, T),
          "same seed: identical latents over all windows");
    /* the first window of the long clip is a one-window clip: continuing never rewrites the past */
    CHECK(vr_gen_latents(g, (vr_gen_clip *[]){&w1}, 1, &o, NULL) == 0 && latents_equal(&a, &w1, T_WIN),
          "the long clip's first window equals the same clip cut to one window");
    double mx = 0;
    for (int i = 0; a.latent && i < T * M; i++) mx = fmax(mx, fabs(a.latent[i]));
    CHECK(isfinite(mx) && mx > 0, "finite, non-zero latents (max |x| %g)", mx);
    /* batched with two other clips: the same music up to round-off */
    CHECK(vr_gen_latents(g, (vr_gen_clip *[]){&b, &a2, &c}, 3, &o, NULL) == 0, "a batch of 3 long clips generates");
    double e = a2.latent ? latent_diff(&a, &a2, T) : INFINITY;
    CHECK(e <= 1e-4, "clip in a batch of 3 vs alone, over 4 windows: %.2e", e);
    printf("batch 1 vs batch 3 (vr_gen_latents, 4 windows): max |diff| %.2e\n", e);
    CHECK(vr_gen_latents(g, (vr_gen_clip *[]){&a, &short_b}, 2, &o, NULL) == -1 && strstr(vr_error(), "short-b") &&
              strstr(vr_error(), "one length"),
          "clips of different lengths are refused: %s", vr_error());
    vr_gen_clip *all[] = {&a, &a2, &w1, &b, &c, &short_b};
    for (int i = 0; i < 6; i++) vr_gen_clip_free(all[i]);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIGS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(g_configs, sizeof g_configs, "%s", argv[1]);
    cfg *c = tiny_config();
    vr_generator g;
    if (vr_generator_init(&g, c, 5)) {
        fprintf(stderr, "generator: %s\n", vr_error());
        return 1;
    }
    tt_test_perturb(g.m.params, 0.05, 6);
    test_history(&g.m);
    test_batch_independence(&g.m);
    test_bad_inputs(&g.m);
    test_windows();
    test_sliding(&g);
    vr_generator_free(&g);
    cfg_free(c);
    return check_summary();
}
