/* test_robin.c — the Video-Robin model beyond numerical parity (tests/models/parity_models.py):
 * configs and their parameter sets, clear errors for bad configs and batches, KV-cached
 * generation equal to the training forward (planner, RITE and the whole conditioning path),
 * deterministic sampling, gradient flow into every parameter, dropout, no handle leaks, and a tiny
 * model overfitting two clips with a plain Adam loop.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/rng.h"
#include "models/encoders.h"
#include "models/planner.h"
#include "models/rite.h"
#include "models/robin.h"
#define CHECK_DETAIL() tt_last_error()
#include "tests/check.h"
#include "tests/tt_testing.h"


/* The model of these tests: configs/model/tiny.yaml (d 32, 2 heads, 1-2 layers) with 16 latent
 * channels, plus overrides. */
static char g_configs[1024]; /* the configs/ folder */
#define TINY "model.latent_dim=16"

static cfg *config_file(const char *name, int n, char **overrides) {
    char path[1200];
    snprintf(path, sizeof path, "%s/model/%s", g_configs, name);
    cfg *c = cfg_load(path, vr_schema, n, overrides);
    if (!c) {
        fprintf(stderr, "config: %s\n", vr_error());
        exit(1);
    }
    return c;
}
#define CONFIG(...) config_file("tiny.yaml", sizeof((char *[]){__VA_ARGS__}) / sizeof(char *), (char *[]){__VA_ARGS__})

static vr_model *model_new(cfg *c, uint64_t seed) {
    vr_model *m = calloc(1, sizeof *m);
    tt_gen *g = tt_gen_new(seed);
    m->params = tt_params_new();
    if (robin_ops.init(m, c, g)) {
        fprintf(stderr, "robin init: %s\n", tt_last_error());
        exit(1);
    }
    tt_gen_free(g);
    return m;
}

static void model_free(vr_model *m) {
    robin_ops.free_state(m);
    tt_params_free(m->params);
    free(m);
}

/* ---- synthetic batches ---- */

typedef struct test_batch {
    vr_batch b;
    float mean[64], std[64];
    const char *ids[8];
} test_batch;

/* B clips: smooth log-mel-like patterns (different per clip), video descriptors that follow them,
 * captions of different lengths (clip 1's is empty). Raw values, stats from the data. */
static void make_batch(test_batch *tb, int B, int T, int M, int Tv, int Dv, uint64_t seed) {
    static const char *captions[] = {"warm strings, slow arpeggios", "", "bright piano", "dark synth bass"};
    static const char *names[] = {"clip-a", "clip-b", "clip-c", "clip-d", "clip-e", "clip-f", "clip-g", "clip-h"};
    vr_rng r;
    vr_rng_seed(&r, seed);
    vr_batch *b = &tb->b;
    *b = (vr_batch){.B = B, .T = T, .D = M, .Tv = Tv, .Dv = Dv, .max_text = 32};
    b->audio = malloc(sizeof(float) * B * T * M);
    b->video = malloc(sizeof(float) * B * Tv * Dv);
    b->text = calloc((size_t)B * b->max_text, 1);
    b->text_len = malloc(sizeof(int) * B);
    for (int i = 0; i < B; i++) {
        double f0 = 0.05 + 0.05 * i, ph = vr_rng_uniform(&r) * 6.28;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < M; k++)
                b->audio[((size_t)i * T + t) * M + k] =
                    (float)(-4 + 2 * sin(f0 * t + ph + 0.4 * k * (i + 1)) + 0.5 * cos(0.7 * k) + 0.1 * vr_rng_normal(&r));
        for (int t = 0; t < Tv; t++)
            for (int k = 0; k < Dv; k++)
                b->video[((size_t)i * Tv + t) * Dv + k] = (float)(0.5 + 0.4 * sin(f0 * t * 2 + k + i));
        const char *cap = captions[i % 4];
        b->text_len[i] = (int)strlen(cap);
        memcpy(b->text + (size_t)i * b->max_text, cap, strlen(cap));
        tb->ids[i] = names[i];
    }
    b->id = tb->ids;
    for (int k = 0; k < M; k++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < B * T; i++) {
            double v = b->audio[(size_t)i * M + k];
            s += v;
            s2 += v * v;
        }
        double mu = s / (B * T);
        tb->mean[k] = (float)mu;
        tb->std[k] = (float)sqrt(s2 / (B * T) - mu * mu + 1e-6);
    }
}

static void free_batch(test_batch *tb) {
    free(tb->b.audio);
    free(tb->b.video);
    free(tb->b.text);
    free(tb->b.text_len);
}

static int has_param(vr_model *m, const char *prefix) {
    for (int i = 0; i < tt_params_count(m->params); i++)
        if (!strncmp(tt_params_name(m->params, i), prefix, strlen(prefix))) return 1;
    return 0;
}

/* ---- tests ---- */

static void test_configs(void) {
    struct {
        cfg *c;
        int text, video, fsq, rite;
    } cases[] = {
        {CONFIG(TINY), 1, 1, 1, 1},
        {CONFIG(TINY, "model.use_video=false"), 1, 0, 1, 1},
        {CONFIG(TINY, "model.use_text=false"), 0, 1, 1, 1},
        {CONFIG(TINY, "model.quantizer=none", "model.rite_layers=0"), 1, 1, 0, 0},
        {CONFIG(TINY, "model.rite_layers=0"), 1, 1, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        vr_model *m = model_new(cases[i].c, 1);
        CHECK(has_param(m, "text.") == cases[i].text && has_param(m, "video.") == cases[i].video &&
                  has_param(m, "fsq.") == cases[i].fsq && has_param(m, "rite.") == cases[i].rite &&
                  has_param(m, "planner.") && has_param(m, "dit.null") && has_param(m, "audio.bos"),
              "config %zu: parameter groups", i);
        /* each configuration trains on a batch (the ablations are configs, not forks) */
        test_batch tb;
        make_batch(&tb, 2, 20, 16, 4, 31, 7);
        m->norm_mean = tb.mean;
        m->norm_std = tb.std;
        tt_gen *g = tt_gen_new(3);
        vr_loss_parts parts = {0};
        tt_scope_begin();
        tt_tensor *loss = robin_ops.loss(m, &tb.b, 1, g, &parts);
        double v = NAN;
        CHECK(loss && !tt_item(loss, &v) && isfinite(v) && parts.n == (cases[i].fsq ? 3 : 1) &&
                  !strcmp(parts.name[0], "flow") && parts.value[0] == v,
              "config %zu: loss %g with %d parts", i, v, parts.n);
        if (cases[i].fsq)
            CHECK(!strcmp(parts.name[1], "fsq_usage") && parts.value[1] > 0 && parts.value[1] <= 8.0 / 1000 &&
                      !strcmp(parts.name[2], "fsq_perplexity") && parts.value[2] >= 1 && parts.value[2] <= 8,
                  "config %zu: 8 rows use at most 8 of 1000 codes: usage %g, perplexity %g", i, parts.value[1],
                  parts.value[2]);
        tt_scope_end();
        tt_gen_free(g);
        free_batch(&tb);
        model_free(m);
        cfg_free(cases[i].c);
    }
}

/* configs/model/{small,base}.yaml are valid configs of this model (initialising them is the
 * benchmark's job: tests/models/bench_robin.c) */
static void test_config_files(void) {
    const char *names[] = {"small.yaml", "base.yaml"};
    for (int i = 0; i < 2; i++) {
        cfg *c = config_file(names[i], 0, NULL);
        CHECK(!strcmp(cfg_str(c, "model.kind"), "robin") && cfg_int(c, "model.d_model") % cfg_int(c, "model.n_heads") == 0,
              "%s", names[i]);
        cfg_free(c);
    }
}

static void expect_init_error(cfg *c, const char *needle) {
    vr_model m = {.params = tt_params_new()};
    tt_gen *g = tt_gen_new(1);
    tt_clear_error();
    int rc = robin_ops.init(&m, c, g);
    CHECK(rc == -1 && strstr(tt_last_error(), needle) && strstr(vr_error(), needle), "init error naming '%s': '%s'",
          needle, tt_last_error());
    robin_ops.free_state(&m);
    tt_params_free(m.params);
    tt_gen_free(g);
    cfg_free(c);
}

static void test_bad_configs(void) {
    expect_init_error(CONFIG(TINY, "model.n_heads=3"), "model.n_heads");
    expect_init_error(CONFIG(TINY, "model.fsq_levels=[8,1]"), "level 1 is 1");
    expect_init_error(CONFIG(TINY, "model.fsq_levels=[]"), "model.fsq_levels");
    expect_init_error(CONFIG(TINY, "model.patch_frames=0"), "model.patch_frames");
    expect_init_error(CONFIG(TINY, "model.planner_layers=0"), "model.planner_layers");
    expect_init_error(CONFIG(TINY, "model.cond_dropout=1.0"), "model.cond_dropout");
    expect_init_error(CONFIG(TINY, "model.rollout_prob=1.5"), "model.rollout_prob");
    expect_init_error(CONFIG(TINY, "model.rollout_steps=0"), "model.rollout_steps");
    expect_init_error(CONFIG(TINY, "runtime.rollout_threads=3"), "runtime.rollout_threads");
    expect_init_error(CONFIG(TINY, "model.hist_dropout=1"), "model.hist_dropout");
    expect_init_error(CONFIG(TINY, "model.latent_dim=0", "data.n_mels=0"), "data.n_mels");
}

static void expect_loss_error(vr_model *m, const vr_batch *b, const char *needle) {
    tt_gen *g = tt_gen_new(1);
    tt_clear_error();
    tt_scope_begin();
    tt_tensor *loss = robin_ops.loss(m, b, 1, g, NULL);
    CHECK(!loss && strstr(tt_last_error(), needle), "loss error naming '%s': '%s'", needle, tt_last_error());
    tt_scope_end();
    tt_gen_free(g);
}

static void test_bad_batches(void) {
    cfg *c = CONFIG(TINY);
    vr_model *m = model_new(c, 1);
    test_batch tb;
    make_batch(&tb, 2, 20, 16, 4, 31, 7);
    m->norm_mean = tb.mean;
    m->norm_std = tb.std;
    vr_batch b = tb.b;
    b.T = 19;
    expect_loss_error(m, &b, "model.patch_frames = 5");
    b = tb.b;
    b.T = 10;
    b.D = 32; /* same buffer size, other shape */
    expect_loss_error(m, &b, "32 channels");
    b = tb.b;
    b.Dv = 30;
    expect_loss_error(m, &b, "model.video_dim = 31");
    b = tb.b;
    tb.b.text_len[1] = 33;
    expect_loss_error(m, &b, "clip 'clip-b': caption length 33");
    tb.b.text_len[1] = 0;
    float saved = tb.std[3];
    tb.std[3] = 0;
    expect_loss_error(m, &tb.b, "channel 3");
    tb.std[3] = saved;
    tt_clear_error();
    tt_scope_begin();
    /* flow draws come from (run.seed, epoch, clip), not the step generator: with model.dropout 0
     * the loss is the same with or without one, and a new epoch gives new draws */
    {
        tt_gen *g1 = tt_gen_new(1);
        double with_gen = NAN, without = NAN, next_epoch = NAN;
        tt_item(robin_ops.loss(m, &tb.b, 1, g1, NULL), &with_gen);
        tt_item(robin_ops.loss(m, &tb.b, 1, NULL, NULL), &without);
        tb.b.epoch++;
        tt_item(robin_ops.loss(m, &tb.b, 1, NULL, NULL), &next_epoch);
        tb.b.epoch--;
        CHECK(with_gen == without && with_gen != next_epoch, "draws per (epoch, clip): %g %g %g", with_gen, without,
              next_epoch);
        tt_gen_free(g1);
    }
    robin_draw bad = {.noise = tt_zeros(TT_SHAPE(3, 5, 16), TT_F32), .t = tt_zeros(TT_SHAPE(8), TT_F32)};
    CHECK(!robin_loss_with(m, &tb.b, &bad, NULL, NULL) && strstr(tt_last_error(), "noise [8, 5, 16]"),
          "draws of the wrong shape");
    tt_scope_end();
    free_batch(&tb);
    model_free(m);
    cfg_free(c);
}

/* planner: plan_prefill + plan_step row by row == plan_fwd; RITE: rite_step == rite_fwd */
static void test_kv_cache(void) {
    int d = 32, H = 4, B = 3, Lt = 6, Tv = 5, P = 7;
    tt_params *p = tt_params_new();
    tt_gen *g = tt_gen_new(11);
    planner pl;
    rite rt;
    CHECK(!plan_init(&pl, p, "planner", d, H, 3, g) && !rite_init(&rt, p, "rite", d, H, 2, g), "init");
    uint8_t valid[3 * 11];
    for (int b = 0; b < B; b++)
        for (int j = 0; j < Lt + Tv; j++) valid[b * (Lt + Tv) + j] = j == 0 || j >= Lt || j < Lt - 2 * b;
    tt_scope_begin();
    tt_tensor *text = tt_randn(g, TT_SHAPE(B, Lt, d), TT_F32), *video = tt_randn(g, TT_SHAPE(B, Tv, d), TT_F32);
    tt_tensor *audio = tt_randn(g, TT_SHAPE(B, P, d), TT_F32), *q = tt_randn(g, TT_SHAPE(B, P, d), TT_F32);
    double pos[7];
    plan_audio_positions(pos, P, Tv);
    tt_no_grad_begin();
    tt_tensor *prefix = plan_prefix(&pl, text, video);
    tt_tensor *full = plan_fwd(&pl, prefix, valid, audio, pos, 0.0, NULL);
    tt_tensor *rfull = rite_fwd(&rt, q, 0.0, NULL);
    plan_cache pc;
    nn_kv_cache rc[2];
    int ok = !plan_cache_init(&pc, &pl, B, Lt + Tv, valid, P) && !plan_prefill(&pl, &pc, prefix) &&
             !nn_kv_cache_init(&rc[0], B, H, d / H, P) && !nn_kv_cache_init(&rc[1], B, H, d / H, P);
    CHECK(ok, "caches");
    double worst = 0, rworst = 0;
    for (int k = 0; ok && k < P; k++) {
        tt_tensor *a = tt_slice(audio, 1, k, k + 1, 1);
        tt_tensor *step = plan_step(&pl, &pc, a, pos[k]);
        tt_tensor *rstep = rite_step(&rt, rc, tt_slice(q, 1, k, k + 1, 1), k);
        double e = tt_test_max_abs_diff(step, tt_slice(full, 1, k, k + 1, 1));
        double re = tt_test_max_abs_diff(rstep, tt_slice(rfull, 1, k, k + 1, 1));
        worst = e > worst || isnan(e) ? e : worst;
        rworst = re > rworst || isnan(re) ? re : rworst;
    }
    CHECK(worst <= 1e-5, "planner: cached step vs full forward, max abs err %.2e", worst);
    CHECK(rworst <= 1e-5, "RITE: cached step vs full forward, max abs err %.2e", rworst);
    /* one token past capacity is an error, not a write out of bounds */
    CHECK(!plan_step(&pl, &pc, tt_slice(audio, 1, 0, 1, 1), 0.0) && strstr(tt_last_error(), "KV cache full"),
          "cache overflow is an error");
    tt_no_grad_end();
    plan_cache_free(&pc);
    tt_scope_end();
    plan_free(&pl);
    rite_free(&rt);
    tt_params_free(p);
    tt_gen_free(g);
}

/* generation: deterministic per seed; its conditions equal the teacher-forced forward on the
 * latent it produced (planner + FSQ + RITE caches and the audio-history feedback all agree) */
static void test_generation(void) {
    const char *variants[][3] = {{"model.use_video=true", "model.quantizer=fsq", "model.rite_layers=2"},
                                 {"model.use_video=false", "model.quantizer=none", "model.rite_layers=0"}};
    for (int v = 0; v < 2; v++) {
        cfg *c = CONFIG(TINY, (char *)variants[v][0], (char *)variants[v][1], (char *)variants[v][2]);
        vr_model *m = model_new(c, 5);
        tt_test_perturb(m->params, 0.05, 6);
        test_batch tb;
        make_batch(&tb, 3, 20, 16, 4, 31, 8);
        m->norm_mean = tb.mean;
        m->norm_std = tb.std;
        int64_t live = tt_live_handles();
        tt_scope_begin();
        robin_gen_opts o = {.steps = 4, .cfg_scale = 2.0};
        tt_gen *g1 = tt_gen_new(42), *g2 = tt_gen_new(42), *g3 = tt_gen_new(43);
        tt_tensor *cond = NULL;
        tt_tensor *x1 = robin_generate(m, &tb.b, &o, g1, &cond);
        tt_tensor *x2 = robin_generate(m, &tb.b, &o, g2, NULL);
        tt_tensor *x3 = robin_generate(m, &tb.b, &o, g3, NULL);
        CHECK(x1 && x2 && x3 && cond && tt_size(x1, 0) == 3 && tt_size(x1, 1) == 20 && tt_size(x1, 2) == 16,
              "variant %d: generates [3, 20, 16]", v);
        if (x1 && x2 && x3 && cond) {
            float a[3 * 20 * 16], b[3 * 20 * 16];
            tt_to_data(x1, a, sizeof a);
            tt_to_data(x2, b, sizeof b);
            CHECK(!memcmp(a, b, sizeof a), "variant %d: same seed, identical latents", v);
            CHECK(tt_test_max_abs_diff(x1, x3) > 1e-3, "variant %d: another seed, other latents", v);
            double mx = NAN;
            tt_item(tt_max_all(tt_abs(x1)), &mx);
            CHECK(isfinite(mx), "variant %d: finite latents (max |x| %g)", v, mx);
            tt_tensor *tf = robin_condition(m, &tb.b, x1);
            double e = tf ? tt_test_max_abs_diff(tf, cond) : INFINITY;
            CHECK(e <= 1e-5, "variant %d: generation's conditions vs teacher forcing on its output: %.2e", v, e);
            tt_gen *g4 = tt_gen_new(42);
            tt_tensor *unguided = robin_generate(m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 1.0}, g4, NULL);
            tt_gen_free(g4);
            CHECK(unguided && tt_test_max_abs_diff(unguided, x1) > 1e-4, "variant %d: CFG scale changes the sample", v);
            /* teacher forcing (train/validate.h's exposure-bias check): a free run is a fixed point
             * (fed its own output, it feeds back the same patches), on both the cached and the
             * recomputed path; another teacher changes every patch after the first */
            for (int nokv = 0; nokv < 2; nokv++) {
                tt_gen *g5 = tt_gen_new(42);
                tt_tensor *same = robin_generate(
                    m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 2.0, .teacher = x1, .no_kv_cache = nokv}, g5,
                    NULL);
                tt_gen_free(g5);
                double e5 = same ? tt_test_max_abs_diff(same, x1) : INFINITY;
                CHECK(e5 <= (nokv ? 1e-4 : 0), "variant %d: teacher = its own free run%s reproduces it: %.2e", v,
                      nokv ? " (no KV cache)" : "", e5);
            }
            tt_gen *g6 = tt_gen_new(42);
            tt_tensor *forced = robin_generate(m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 2.0, .teacher = x3},
                                               g6, NULL);
            tt_gen_free(g6);
            CHECK(forced && tt_test_max_abs_diff(tt_slice(forced, 1, 0, 4, 1), tt_slice(x1, 1, 0, 4, 1)) == 0 &&
                      tt_test_max_abs_diff(tt_slice(forced, 1, 4, 20, 1), tt_slice(x1, 1, 4, 20, 1)) > 1e-4,
                  "variant %d: another teacher: first patch as the free run (same noise, nothing fed back yet), "
                  "the rest differ",
                  v);
            /* the split feedback (validate --feedback-split): the teacher to the planner only, to
             * LocDiT's context only, no LocDiT context. Fed its own free run, each split reproduces
             * it; with another teacher, the planner's conditions are the teacher-forced ones of
             * whatever reached the planner: the teacher, or the run's own output */
            for (int to = ROBIN_TEACH_PLANNER; to <= ROBIN_TEACH_DIT_CTX; to++) {
                tt_gen *ga = tt_gen_new(42), *gb = tt_gen_new(42);
                tt_tensor *c_split = NULL;
                tt_tensor *same = robin_generate(
                    m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 2.0, .teacher = x1, .teacher_to = to}, ga,
                    NULL);
                tt_tensor *split = robin_generate(
                    m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 2.0, .teacher = x3, .teacher_to = to}, gb,
                    &c_split);
                tt_gen_free(ga);
                tt_gen_free(gb);
                const char *what = to == ROBIN_TEACH_PLANNER ? "teacher to the planner only" : "teacher to LocDiT only";
                CHECK(same && tt_test_max_abs_diff(same, x1) == 0,
                      "variant %d: %s, fed its own free run, reproduces it", v, what);
                tt_tensor *want = split ? robin_condition(m, &tb.b, to == ROBIN_TEACH_PLANNER ? x3 : split) : NULL;
                double ec = want && c_split ? tt_test_max_abs_diff(want, c_split) : INFINITY;
                CHECK(ec <= 1e-5, "variant %d: %s: conditions = teacher forcing on %s: %.2e", v, what,
                      to == ROBIN_TEACH_PLANNER ? "the teacher" : "the run's own output", ec);
                CHECK(split && forced &&
                          tt_test_max_abs_diff(tt_slice(split, 1, 4, 20, 1), tt_slice(forced, 1, 4, 20, 1)) > 1e-4 &&
                          tt_test_max_abs_diff(tt_slice(split, 1, 4, 20, 1), tt_slice(x1, 1, 4, 20, 1)) > 1e-4,
                      "variant %d: %s differs from both full teacher forcing and the free run", v, what);
            }
            tt_gen *gn = tt_gen_new(42);
            tt_tensor *c_noctx = NULL;
            tt_tensor *noctx = robin_generate(
                m, &tb.b, &(robin_gen_opts){.steps = 4, .cfg_scale = 2.0, .no_dit_ctx = 1}, gn, &c_noctx);
            tt_gen_free(gn);
            tt_tensor *want_nc = noctx ? robin_condition(m, &tb.b, noctx) : NULL;
            CHECK(noctx && want_nc && tt_test_max_abs_diff(want_nc, c_noctx) <= 1e-5 &&
                      tt_test_max_abs_diff(tt_slice(noctx, 1, 0, 4, 1), tt_slice(x1, 1, 0, 4, 1)) == 0 &&
                      tt_test_max_abs_diff(tt_slice(noctx, 1, 4, 20, 1), tt_slice(x1, 1, 4, 20, 1)) > 1e-4,
                  "variant %d: no LocDiT context: first patch as the free run (its context is zero anyway), the rest "
                  "differ, conditions = teacher forcing on its output",
                  v);
            tt_gen *g8 = tt_gen_new(42);
            tt_tensor *bad_to =
                robin_generate(m, &tb.b, &(robin_gen_opts){.steps = 4, .teacher = x3, .teacher_to = 7}, g8, NULL);
            tt_gen_free(g8);
            CHECK(!bad_to && strstr(tt_last_error(), "teacher_to must be"), "variant %d: teacher_to 7 is refused: %s",
                  v, tt_last_error());
            tt_gen *g7 = tt_gen_new(42);
            tt_tensor *bad = robin_generate(m, &tb.b, &(robin_gen_opts){.steps = 4, .teacher = cond}, g7, NULL);
            tt_gen_free(g7);
            CHECK(!bad && strstr(tt_last_error(), "teacher latent must be [3, 20, 16]"),
                  "variant %d: a teacher of the wrong shape is refused: %s", v, tt_last_error());
            tt_tensor *raw = robin_denormalise(m, x1);
            tt_tensor *back = tt_div(tt_sub(raw, tt_from_data(tb.mean, TT_F32, TT_SHAPE(16))),
                                     tt_from_data(tb.std, TT_F32, TT_SHAPE(16)));
            CHECK(raw && tt_test_max_abs_diff(back, x1) < 1e-5, "variant %d: denormalise inverts the normalisation", v);
        }
        tt_gen_free(g1);
        tt_gen_free(g2);
        tt_gen_free(g3);
        tt_scope_end();
        CHECK(tt_live_handles() == live, "variant %d: generation leaks no handles (%lld vs %lld)", v,
              (long long)tt_live_handles(), (long long)live);
        free_batch(&tb);
        model_free(m);
        cfg_free(c);
    }
}

/* ---- training: gradients and a plain Adam loop ---- */

typedef struct adam {
    int n;
    tt_tensor **m, **v;
    int step;
} adam;

static void adam_init(adam *a, tt_params *p) {
    a->n = tt_params_count(p);
    a->m = calloc(a->n, sizeof *a->m);
    a->v = calloc(a->n, sizeof *a->v);
    a->step = 0;
    for (int i = 0; i < a->n; i++) {
        int64_t shape[8];
        int nd = tt_shape(tt_params_at(p, i), shape, 8);
        a->m[i] = tt_zeros(shape, nd, TT_F32);
        a->v[i] = tt_zeros(shape, nd, TT_F32);
    }
}

static void adam_free(adam *a) {
    for (int i = 0; i < a->n; i++) {
        tt_free(a->m[i]);
        tt_free(a->v[i]);
    }
    free(a->m);
    free(a->v);
}

/* p -= lr * mhat / (sqrt(vhat) + eps), then drop the grads */
static void adam_step(adam *a, tt_params *p, double lr) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    a->step++;
    double bc1 = 1 - pow(b1, a->step), bc2 = 1 - pow(b2, a->step);
    tt_scope_begin();
    for (int i = 0; i < a->n; i++) {
        tt_tensor *w = tt_params_at(p, i);
        if (!tt_has_grad(w)) continue;
        tt_tensor *g = tt_grad(w);
        tt_lerp_(a->m[i], g, 1 - b1);
        tt_mul_scalar_(a->v[i], b2);
        tt_addcmul_(a->v[i], g, g, 1 - b2);
        tt_tensor *denom = tt_add_scalar(tt_sqrt(tt_mul_scalar(a->v[i], 1 / bc2)), eps);
        tt_addcdiv_(w, a->m[i], denom, -lr / bc1);
        tt_zero_grad(w);
    }
    tt_scope_end();
}

/* N (<= 64) rows of flow draws from g, rows r with r % 4 == 1 dropped (so the null vector is used) */
static robin_draw draws(tt_gen *g, int64_t N, int F, int M, int with_drop) {
    uint8_t drop[64];
    for (int i = 0; i < N && i < 64; i++) drop[i] = with_drop && i % 4 == 1;
    return (robin_draw){.noise = tt_randn(g, TT_SHAPE(N, F, M), TT_F32), .t = tt_rand(g, TT_SHAPE(N), TT_F32),
                        .drop = tt_from_data(drop, TT_BOOL, TT_SHAPE(N))};
}

static void test_gradients(void) {
    cfg *c = CONFIG(TINY);
    vr_model *m = model_new(c, 21);
    test_batch tb;
    make_batch(&tb, 2, 20, 16, 4, 31, 9);
    m->norm_mean = tb.mean;
    m->norm_std = tb.std;
    tt_gen *g = tt_gen_new(5);
    adam opt;
    adam_init(&opt, m->params);
    int n = tt_params_count(m->params);
    /* adaLN-Zero: at initialisation dit.out is zero, and so are the ada/final_ada layers whose
     * outputs (gates, shifts, scales) carry the condition. So the first backward reaches only
     * dit.out, the second (after one Adam step) also the ada layers, and from the third on every
     * parameter, the null vector included as rows are dropped. */
    for (int pass = 0; pass < 3; pass++) {
        tt_scope_begin();
        robin_draw dr = draws(g, 8, 5, 16, 1);
        tt_tensor *loss = robin_loss_with(m, &tb.b, &dr, NULL, NULL);
        CHECK(loss && !tt_backward(loss), "backward %d", pass);
        int zero = 0, bad = 0;
        const char *first_bad = NULL;
        for (int i = 0; i < n; i++) {
            tt_tensor *w = tt_params_at(m->params, i);
            const char *name = tt_params_name(m->params, i);
            double gn = NAN;
            if (tt_has_grad(w)) tt_item(tt_norm_all(tt_grad(w)), &gn);
            if (!isfinite(gn)) bad++, first_bad = first_bad ? first_bad : name;
            if (gn == 0) {
                zero++;
                if (pass == 2 && !first_bad) first_bad = name;
            } else if (pass == 0 && strncmp(name, "dit.out.", 8)) {
                first_bad = first_bad ? first_bad : name;
            }
        }
        if (pass == 0) {
            CHECK(bad == 0 && zero == n - 2 && !first_bad, "first backward: only dit.out.{weight,bias} have gradient "
                  "(%d zero of %d, unexpected '%s')", zero, n, first_bad ? first_bad : "-");
        } else if (pass == 2) {
            CHECK(bad == 0 && zero == 0, "second backward: every one of %d parameters has a finite non-zero gradient "
                  "(%d zero, %d non-finite, first '%s')", n, zero, bad, first_bad ? first_bad : "-");
        }
        tt_scope_end();
        adam_step(&opt, m->params, 1e-3);
    }
    adam_free(&opt);

    /* dropout: the same draws give different losses with different dropout generators, and the
     * same loss without dropout */
    cfg *cd = CONFIG(TINY, "model.dropout=0.3");
    vr_model *md = model_new(cd, 21);
    tt_test_perturb(md->params, 0.05, 2);
    md->norm_mean = tb.mean;
    md->norm_std = tb.std;
    tt_scope_begin();
    tt_gen *gd = tt_gen_new(8);
    robin_draw dr = draws(gd, 8, 5, 16, 0);
    tt_gen *d1 = tt_gen_new(1), *d2 = tt_gen_new(2);
    double l1 = 0, l2 = 0, e1 = 0, e2 = 0;
    tt_item(robin_loss_with(md, &tb.b, &dr, d1, NULL), &l1);
    tt_item(robin_loss_with(md, &tb.b, &dr, d2, NULL), &l2);
    tt_item(robin_loss_with(md, &tb.b, &dr, NULL, NULL), &e1);
    tt_item(robin_loss_with(md, &tb.b, &dr, NULL, NULL), &e2);
    CHECK(l1 != l2 && e1 == e2 && isfinite(l1), "dropout: train %g vs %g, eval %g == %g", l1, l2, e1, e2);
    tt_gen_free(d1);
    tt_gen_free(d2);
    tt_gen_free(gd);
    tt_scope_end();
    model_free(md);
    cfg_free(cd);

    tt_gen_free(g);
    free_batch(&tb);
    model_free(m);
    cfg_free(c);
}

/* model.hist_noise_to: the history noise reaches only the reader it names. With every LocDiT context
 * hidden (ctx_drop), noise meant for the context changes nothing; with every condition replaced by
 * the null vector (drop), noise meant for the planner changes nothing; otherwise each does. */
static void test_hist_noise_to(void) {
    static const char *const to[3] = {"model.hist_noise_to=both", "model.hist_noise_to=planner",
                                      "model.hist_noise_to=dit_ctx"};
    test_batch tb;
    make_batch(&tb, 2, 20, 16, 4, 31, 9);
    const int64_t N = 8; /* 2 clips x 4 patches */
    uint8_t all[8], none[8];
    memset(all, 1, sizeof all);
    memset(none, 0, sizeof none);
    double loss[3][3][2]; /* [hist_noise_to][no drop, all contexts hidden, all conditions null][without, with noise] */
    for (int k = 0; k < 3; k++) {
        cfg *c = CONFIG(TINY, "model.hist_noise=0.5", (char *)to[k]);
        vr_model *m = model_new(c, 21);
        tt_test_perturb(m->params, 0.05, 3); /* the same weights for each k: same seeds */
        m->norm_mean = tb.mean;
        m->norm_std = tb.std;
        tt_scope_begin();
        for (int mask = 0; mask < 3; mask++)
            for (int noisy = 0; noisy < 2; noisy++) {
                tt_gen *g = tt_gen_new(17); /* the same draws in every case */
                robin_draw dr = {.noise = tt_randn(g, TT_SHAPE(N, 5, 16), TT_F32),
                                 .t = tt_rand(g, TT_SHAPE(N), TT_F32),
                                 .drop = tt_from_data(mask == 2 ? all : none, TT_BOOL, TT_SHAPE(N)),
                                 .ctx_drop = tt_from_data(mask == 1 ? all : none, TT_BOOL, TT_SHAPE(N))};
                tt_tensor *h = tt_mul_scalar(tt_randn(g, TT_SHAPE(N, 5, 16), TT_F32), 0.5);
                dr.hist_noise = noisy ? h : NULL;
                loss[k][mask][noisy] = NAN;
                tt_item(robin_loss_with(m, &tb.b, &dr, NULL, NULL), &loss[k][mask][noisy]);
                tt_gen_free(g);
            }
        tt_scope_end();
        model_free(m);
        cfg_free(c);
    }
    for (int k = 0; k < 3; k++)
        CHECK(loss[k][0][0] == loss[0][0][0] && isfinite(loss[k][0][1]) && loss[k][0][1] != loss[k][0][0],
              "%s: without noise the same loss as 'both' (%.9g vs %.9g); the noise changes it (%.9g)", to[k],
              loss[k][0][0], loss[0][0][0], loss[k][0][1]);
    CHECK(loss[1][0][1] != loss[0][0][1] && loss[2][0][1] != loss[0][0][1] && loss[1][0][1] != loss[2][0][1],
          "planner-only, context-only and both give three losses: %.9g %.9g %.9g", loss[1][0][1], loss[2][0][1],
          loss[0][0][1]);
    CHECK(loss[2][1][1] == loss[2][1][0] && loss[1][1][1] != loss[1][1][0],
          "contexts hidden: noise for LocDiT's context changes nothing (%.9g = %.9g), noise for the planner does",
          loss[2][1][1], loss[2][1][0]);
    CHECK(loss[1][2][1] == loss[1][2][0] && loss[2][2][1] != loss[2][2][0],
          "conditions null: noise for the planner changes nothing (%.9g = %.9g), noise for the context does",
          loss[1][2][1], loss[1][2][0]);
    free_batch(&tb);
}

/* A model of config c from init seed `seed`, its weights perturbed (seed `perturb`) off their
 * initial values, normalised for tb: the same weights for any config of the same shapes. */
static vr_model *perturbed_model(cfg *c, uint64_t seed, uint64_t perturb, const test_batch *tb) {
    vr_model *m = model_new(c, seed);
    tt_test_perturb(m->params, 0.05, perturb);
    m->norm_mean = tb->mean;
    m->norm_std = tb->std;
    return m;
}

/* The loss and every gradient under two sets of draws: *la, *lb the losses, *gdiff the largest
 * gradient difference, *gmax the largest gradient of `a` (a parameter with a gradient under only
 * one of them counts as INFINITY). parts_a: loss parts of `a` (may be NULL). */
static void compare_losses(vr_model *m, const vr_batch *b, const robin_draw *a, const robin_draw *bdraw,
                           vr_loss_parts *parts_a, double *la, double *lb, double *gdiff, double *gmax) {
    int n = tt_params_count(m->params);
    *la = *lb = NAN, *gdiff = 0, *gmax = 0;
    tt_tensor *loss = robin_loss_with(m, b, a, NULL, parts_a);
    tt_tensor **grads = calloc((size_t)n, sizeof *grads);
    if (loss && !tt_backward(loss) && !tt_item(loss, la))
        for (int i = 0; i < n; i++) {
            tt_tensor *w = tt_params_at(m->params, i);
            grads[i] = tt_has_grad(w) ? tt_clone(tt_grad(w)) : NULL; /* dit.null: no row dropped */
            tt_zero_grad(w);
        }
    tt_tensor *ref = robin_loss_with(m, b, bdraw, NULL, NULL);
    if (ref && !tt_backward(ref) && !tt_item(ref, lb))
        for (int i = 0; i < n; i++) {
            tt_tensor *w = tt_params_at(m->params, i);
            double mx = 0, e = !grads[i] == !tt_has_grad(w) ? 0 : INFINITY;
            if (grads[i] && tt_has_grad(w)) {
                tt_item(tt_max_all(tt_abs(grads[i])), &mx);
                e = tt_test_max_abs_diff(grads[i], tt_grad(w));
            }
            *gmax = fmax(*gmax, mx);
            *gdiff = fmax(*gdiff, isfinite(e) ? e : INFINITY);
            tt_zero_grad(w);
        }
    free(grads);
}

/* model.rollout_prob (parallel scheduled sampling): where draw.rollout says so, the history fed back
 * is the model's own sample of the patch, the one generation makes with the real history as teacher
 * (robin_generate, same noise). So the loss and every gradient equal those of the real history
 * plus (sample - real) as hist_noise on those rows: no gradient through the sampling, both readers
 * fed. No row rolled out: exactly the loss without rollout. */
static void test_rollout(void) {
    enum { B = 2, P = 4, F = 5, M = 16, N = B * P };
    test_batch tb;
    make_batch(&tb, B, P * F, M, 4, 31, 9);
    cfg *c = CONFIG(TINY, "model.rollout_prob=0.5", "model.rollout_steps=3");
    vr_model *m = perturbed_model(c, 21, 3, &tb);
    tt_scope_begin();
    /* the rollout noise as robin_generate draws it: patch by patch, a [1, F, M] row per clip generator */
    tt_gen *gens[B] = {tt_gen_new(31), tt_gen_new(32)}, *same[B] = {tt_gen_new(31), tt_gen_new(32)};
    tt_tensor *rows[N];
    for (int k = 0; k < P; k++)
        for (int i = 0; i < B; i++) rows[i * P + k] = tt_randn(gens[i], TT_SHAPE(1, F, M), TT_F32);
    tt_tensor *rnoise = tt_cat(rows, N, 0);
    tt_tensor *real = model_normalised_audio(m, &tb.b, "test_rollout"); /* [B, T, M] */
    tt_tensor *own = robin_generate(m, &tb.b, &(robin_gen_opts){.steps = 3, .teacher = real, .clip_gens = same},
                                    NULL, NULL);
    CHECK(own != NULL, "teacher-forced generation: %s", own ? "ok" : tt_last_error());
    tt_tensor *diff = tt_reshape(tt_sub(own, real), TT_SHAPE(N, F, M));
    double own_mse = NAN;
    tt_item(tt_mean_all(tt_mul(diff, diff)), &own_mse);
    static const uint8_t masks[3][N] = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 0, 0, 1, 0, 1, 1, 0}, {0}};
    for (int k = 0; k < 3; k++) {
        tt_gen *g = tt_gen_new(17);
        robin_draw plain = {.noise = tt_randn(g, TT_SHAPE(N, F, M), TT_F32), .t = tt_rand(g, TT_SHAPE(N), TT_F32)};
        robin_draw roll = plain, same_hist = plain;
        roll.rollout = tt_from_data(masks[k], TT_BOOL, TT_SHAPE(N));
        roll.rollout_noise = rnoise;
        same_hist.hist_noise =
            tt_where(tt_reshape(roll.rollout, TT_SHAPE(N, 1, 1)), diff, tt_zeros(TT_SHAPE(1), TT_F32));
        vr_loss_parts parts = {0};
        double lr, le, lp = NAN, gmax, gdiff;
        compare_losses(m, &tb.b, &roll, &same_hist, &parts, &lr, &le, &gdiff, &gmax);
        tt_item(robin_loss_with(m, &tb.b, &plain, NULL, NULL), &lp);
        CHECK(fabs(lr - le) <= 1e-5 * fabs(le) && gdiff <= 1e-4 * gmax && gmax > 0,
              "mask %d: loss %.9g = real history + (own sample - real) as noise %.9g; gradients differ by %.2e of "
              "max %.2e",
              k, lr, le, gdiff, gmax);
        CHECK(k == 2 ? lr == lp : fabs(lr - lp) > 1e-6 * lp, "mask %d: %s the loss without rollout (%.9g vs %.9g)",
              k, k == 2 ? "no row rolled out: exactly" : "rows rolled out: not", lr, lp);
        CHECK(parts.n >= 2 && !strcmp(parts.name[parts.n - 1], "rollout_mse") &&
                  fabs(parts.value[parts.n - 1] - own_mse) <= 1e-4 * own_mse && own_mse > 1e-3,
              "mask %d: rollout_mse %g = mean (own - real)^2 %g", k, parts.n ? parts.value[parts.n - 1] : NAN, own_mse);
        tt_gen_free(g);
    }
    /* runtime.rollout_threads 2 (guidance branches on two threads): the same loss, bit for bit */
    cfg *c2 = CONFIG(TINY, "model.rollout_prob=0.5", "model.rollout_steps=3", "runtime.rollout_threads=2");
    vr_model *m2 = perturbed_model(c2, 21, 3, &tb);
    tt_gen *g2 = tt_gen_new(17);
    robin_draw all = {.noise = tt_randn(g2, TT_SHAPE(N, F, M), TT_F32), .t = tt_rand(g2, TT_SHAPE(N), TT_F32),
                      .rollout = tt_from_data(masks[0], TT_BOOL, TT_SHAPE(N)), .rollout_noise = rnoise};
    double one = NAN, two = NAN;
    tt_item(robin_loss_with(m, &tb.b, &all, NULL, NULL), &one);
    tt_item(robin_loss_with(m2, &tb.b, &all, NULL, NULL), &two);
    CHECK(one == two && isfinite(one), "rollout on 1 and 2 sampler threads: %.9g == %.9g", one, two);
    tt_gen_free(g2);
    model_free(m2);
    cfg_free(c2);
    robin_draw half = {.noise = tt_zeros(TT_SHAPE(N, F, M), TT_F32), .t = tt_zeros(TT_SHAPE(N), TT_F32),
                       .rollout = tt_from_data(masks[0], TT_BOOL, TT_SHAPE(N))};
    CHECK(!robin_loss_with(m, &tb.b, &half, NULL, NULL) && strstr(tt_last_error(), "rollout bool"),
          "rollout without rollout_noise is refused: %s", tt_last_error());
    for (int i = 0; i < B; i++) tt_gen_free(gens[i]), tt_gen_free(same[i]);
    tt_scope_end();
    model_free(m);
    cfg_free(c);
    free_batch(&tb);
}

/* model.hist_dropout: a clip whose history is hidden gives the loss and gradients of its history
 * zeroed through hist_noise (= -history) for both readers; no clip hidden gives the plain loss. */
static void test_hist_dropout(void) {
    enum { B = 2, P = 4, F = 5, M = 16, N = B * P };
    test_batch tb;
    make_batch(&tb, B, P * F, M, 4, 31, 11);
    cfg *c = CONFIG(TINY, "model.hist_dropout=0.5");
    vr_model *m = perturbed_model(c, 23, 5, &tb);
    tt_scope_begin();
    tt_tensor *real = tt_reshape(model_normalised_audio(m, &tb.b, "test_hist_dropout"), TT_SHAPE(N, F, M));
    static const uint8_t clips[3][B] = {{1, 1}, {0, 1}, {0, 0}};
    for (int k = 0; k < 3; k++) {
        uint8_t rows[N];
        for (int i = 0; i < N; i++) rows[i] = clips[k][i / P];
        tt_gen *g = tt_gen_new(19);
        robin_draw plain = {.noise = tt_randn(g, TT_SHAPE(N, F, M), TT_F32), .t = tt_rand(g, TT_SHAPE(N), TT_F32)};
        robin_draw hidden = plain, zeroed = plain;
        hidden.hist_drop = tt_from_data(clips[k], TT_BOOL, TT_SHAPE(B));
        zeroed.hist_noise = tt_where(tt_from_data(rows, TT_BOOL, TT_SHAPE(N, 1, 1)), tt_neg(real),
                                     tt_zeros(TT_SHAPE(1), TT_F32));
        double lh, lz, lp = NAN, gmax, gdiff;
        compare_losses(m, &tb.b, &hidden, &zeroed, NULL, &lh, &lz, &gdiff, &gmax);
        tt_item(robin_loss_with(m, &tb.b, &plain, NULL, NULL), &lp);
        CHECK(fabs(lh - lz) <= 1e-5 * fabs(lz) && gdiff <= 1e-4 * gmax && gmax > 0,
              "clips %d%d hidden: loss %.9g = history zeroed through hist_noise %.9g; gradients differ by %.2e of "
              "max %.2e",
              clips[k][0], clips[k][1], lh, lz, gdiff, gmax);
        CHECK(k == 2 ? lh == lp : fabs(lh - lp) > 1e-6 * lp, "clips %d%d hidden: %s the plain loss (%.9g vs %.9g)",
              clips[k][0], clips[k][1], k == 2 ? "none hidden: exactly" : "some hidden: not", lh, lp);
        tt_gen_free(g);
    }
    robin_draw bad = {.noise = tt_zeros(TT_SHAPE(N, F, M), TT_F32), .t = tt_zeros(TT_SHAPE(N), TT_F32),
                      .hist_drop = tt_zeros(TT_SHAPE(N), TT_BOOL)};
    CHECK(!robin_loss_with(m, &tb.b, &bad, NULL, NULL) && strstr(tt_last_error(), "hist_drop bool"),
          "hist_drop of the wrong size is refused: %s", tt_last_error());
    /* in training (ops.loss) it is drawn: at 0.999 (every clip hidden, in practice) the training loss
     * differs from the same weights' without it */
    cfg *c0 = CONFIG(TINY), *c9 = CONFIG(TINY, "model.hist_dropout=0.999");
    vr_model *m0 = perturbed_model(c0, 23, 5, &tb), *m9 = perturbed_model(c9, 23, 5, &tb);
    double with = NAN, without = NAN;
    tt_item(robin_ops.loss(m9, &tb.b, 1, NULL, NULL), &with);
    tt_item(robin_ops.loss(m0, &tb.b, 1, NULL, NULL), &without);
    CHECK(isfinite(with) && isfinite(without) && with != without,
          "training loss with model.hist_dropout 0.999 %.9g, without %.9g", with, without);
    /* robin_loss_no_history (vrobin validate --no-history): the evaluation loss with every clip hidden,
     * the same on every call, not the loss with the history */
    double nh[2] = {NAN, NAN}, seen = NAN;
    for (int k = 0; k < 2; k++) tt_item(robin_loss_no_history(m0, &tb.b, NULL), &nh[k]);
    tt_item(robin_ops.loss(m0, &tb.b, 0, NULL, NULL), &seen);
    CHECK(isfinite(nh[0]) && nh[0] == nh[1] && isfinite(seen) && nh[0] != seen,
          "evaluation loss with every history hidden %.9g (again %.9g), with the history %.9g", nh[0], nh[1], seen);
    model_free(m0);
    model_free(m9);
    cfg_free(c0);
    cfg_free(c9);
    tt_scope_end();
    model_free(m);
    cfg_free(c);
    free_batch(&tb);
}

/* The inputs the planner and RITE add sinusoid positions to start at unit scale (encoders.c, fsq.c):
 * the caption's bytes, the video tokens and the FSQ plan. At GPT-2's 0.02 the positions drowned them
 * (bytes ~0.02, video tokens ~0.01 and the plan ~0.03 against the sinusoid's ~0.7), and a 180-step
 * stage 1 left the planner blind to its caption (results/reproduce_small.md). */
static double rms_of(const tt_tensor *t) {
    double v = NAN;
    tt_item(tt_sqrt(tt_mean_all(tt_mul(t, t))), &v);
    return v;
}

static void test_input_scales(void) {
    enum { B = 4, P = 4, F = 5, M = 16, Tv = 4, Dv = 31 };
    test_batch tb;
    make_batch(&tb, B, P * F, M, Tv, Dv, 3);
    cfg *c = CONFIG(TINY);
    vr_model *m = model_new(c, 5);
    tt_scope_begin();
    static const struct {
        const char *name;
        double want; /* the weight's rms */
    } init[] = {{"text.embed", 1.0}, {"video.fc1.weight", 1 / sqrt(Dv)}, {"fsq.up.weight", -1}};
    for (int i = 0; i < 3; i++) {
        tt_tensor *w = tt_params_get(m->params, init[i].name);
        double want = init[i].want > 0 ? init[i].want : 1 / sqrt((double)tt_size(w, 1)), got = w ? rms_of(w) : NAN;
        CHECK(fabs(got - want) <= 0.1 * want, "%s starts at rms %.4f, want %.4f (unit-scale output)", init[i].name, got,
              want);
    }
    /* the tokens themselves: the test batch's video through a fresh encoder, against the sinusoid's
     * rms of 1/sqrt(2) */
    tt_params *vp = tt_params_new();
    tt_gen *g = tt_gen_new(7);
    enc_video e;
    double vt = enc_video_init(&e, vp, "video", Dv, 32, g)
                    ? NAN
                    : rms_of(enc_video_fwd(&e, tt_from_data(tb.b.video, TT_F32, TT_SHAPE(B, Tv, Dv))));
    CHECK(vt > 0.1 && vt < 3, "video tokens at init: rms %.3f, want 0.1..3 (the positions': 0.71)", vt);
    tt_gen_free(g);
    tt_params_free(vp);
    tt_scope_end();
    model_free(m);
    cfg_free(c);
    free_batch(&tb);
}

/* mean flow loss over fixed evaluation draws (no condition dropout) */
static double eval_loss(vr_model *m, const vr_batch *b) {
    tt_gen *g = tt_gen_new(777);
    double sum = 0;
    tt_scope_begin();
    for (int i = 0; i < 8; i++) {
        robin_draw dr = draws(g, b->B * b->T / 5, 5, 16, 0);
        double v = NAN;
        tt_item(robin_loss_with(m, b, &dr, NULL, NULL), &v);
        sum += v;
    }
    tt_scope_end();
    tt_gen_free(g);
    return sum / 8;
}

/* err[gen][truth]: mean squared error, in normalised units, between clip `gen`'s generation
 * (20 Euler steps, no CFG; one generation of the whole batch) and clip `truth`'s latents;
 * 1 on success, 0 (errors left INFINITY) when generation fails */
static int generation_errors(vr_model *m, const test_batch *tb, double err[2][2]) {
    const vr_batch *b = &tb->b;
    const int T = b->T, M = b->D;
    float *x = malloc(sizeof(float) * b->B * T * M);
    int ok = 0;
    for (int i = 0; i < 2; i++) err[i][0] = err[i][1] = INFINITY;
    tt_scope_begin();
    tt_gen *g = tt_gen_new(99);
    tt_tensor *out = robin_generate(m, b, &(robin_gen_opts){.steps = 20, .cfg_scale = 1.0}, g, NULL);
    if (out && !tt_to_data(out, x, sizeof(float) * b->B * T * M)) {
        ok = 1;
        for (int gen = 0; gen < 2; gen++)
            for (int truth = 0; truth < 2; truth++) {
                double sum = 0;
                for (int t = 0; t < T; t++)
                    for (int k = 0; k < M; k++) {
                        double want = (b->audio[((size_t)truth * T + t) * M + k] - tb->mean[k]) / tb->std[k];
                        double d = x[((size_t)gen * T + t) * M + k] - want;
                        sum += d * d;
                    }
                err[gen][truth] = sum / ((double)T * M);
            }
    }
    tt_gen_free(g);
    tt_scope_end();
    free(x);
    return ok;
}

/* Two 1-s clips (10 patches each): the flow loss must fall >= 5x in 200 steps (it reaches ~11x;
 * with uniform t the floor is set by t near 1, where v = (x1 - x_t) / (1 - t) needs x1 exactly). */
static void test_overfit(void) {
    cfg *c = CONFIG(TINY);
    vr_model *m = model_new(c, 31), *fresh = model_new(c, 31);
    test_batch tb;
    make_batch(&tb, 2, 50, 16, 10, 31, 10);
    m->norm_mean = fresh->norm_mean = tb.mean;
    m->norm_std = fresh->norm_std = tb.std;
    tt_gen *g = tt_gen_new(12);
    adam opt;
    adam_init(&opt, m->params);
    double before = eval_loss(m, &tb.b);
    int64_t live = tt_live_handles();
    int ok = 1;
    for (int step = 0; ok && step < 200; step++) {
        tt_scope_begin();
        tb.b.epoch = step; /* each step a new pass over the two clips: fresh flow noise and times */
        tt_tensor *loss = robin_ops.loss(m, &tb.b, 1, g, NULL);
        ok = loss && !tt_backward(loss);
        tt_scope_end();
        adam_step(&opt, m->params, 1e-2 * 0.5 * (1 + cos(M_PI * step / 200))); /* cosine decay */
    }
    CHECK(ok && tt_live_handles() == live, "200 training steps without errors or leaked handles");
    double after = eval_loss(m, &tb.b);
    printf("overfit: flow loss %.4f -> %.4f (%.1fx) in 200 Adam steps\n", before, after, before / after);
    CHECK(after * 5 <= before, "tiny model overfits two clips: flow loss %.4f -> %.4f, expected >= 5x lower", before,
          after);
    /* ... and generation, from noise with no teacher forcing, renders what it memorised: each clip's
     * own latents, not the other clip's. A mismatch between the training and the sampling paths
     * (history, time convention, normalisation, CFG) shows here even when the loss falls. */
    double e[2][2], e_fresh[2][2];
    CHECK(generation_errors(m, &tb, e) && generation_errors(fresh, &tb, e_fresh), "generation runs");
    double own[2] = {e[0][0], e[1][1]}, other[2] = {e[0][1], e[1][0]}, fresh_err = e_fresh[0][0];
    printf("overfit: generated vs own latents MSE %.3f / %.3f, vs the other clip's %.3f / %.3f, untrained %.3f\n",
           own[0], own[1], other[0], other[1], fresh_err);
    for (int i = 0; i < 2; i++)
        CHECK(own[i] < 0.25 && own[i] * 4 < other[i] && own[i] * 4 < fresh_err,
              "clip %d: generation reproduces the memorised latents (MSE %.3f; other clip %.3f, untrained %.3f)", i,
              own[i], other[i], fresh_err);
    model_free(fresh);
    adam_free(&opt);
    tt_gen_free(g);
    free_batch(&tb);
    model_free(m);
    cfg_free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFIGS_DIR\n", argv[0]);
        return 2;
    }
    snprintf(g_configs, sizeof g_configs, "%s", argv[1]);
    tt_set_num_threads(1);
    test_configs();
    test_config_files();
    test_bad_configs();
    test_bad_batches();
    test_kv_cache();
    test_generation();
    test_gradients();
    test_hist_noise_to();
    test_rollout();
    test_hist_dropout();
    test_input_scales();
    test_overfit();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
