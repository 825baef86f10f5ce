/* test_arframe.c — the autoregressive frame-level baseline (models/arframe.h).
 *
 * Without arguments: config and batch errors, per-clip condition dropout (a clip's loss does not
 * depend on the clips beside it, so N ranks = 1 rank), every parameter gets a gradient, the loss
 * falls when fitting one batch, sampling determinism (same seeds, same bits; a clip alone or in a
 * batch), CFG on/off, temperature, history continuation, and samples on the quantisation grid.
 *
 * `test_arframe parity PARAMS INPUTS OUT` is the C side of tests/models/parity_arframe.py: Python
 * writes random parameters and inputs (config overrides in the metadata); we load the parameters
 * strictly, compute the loss (arframe_loss_with with the given condition dropout) and its
 * gradients, the teacher-forced logits, and samples with and without history from generators
 * seeded 11, 12 (their uniforms written as "sample_u" [B, T, M]), and write them all to OUT.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/arframe.h"

#define MODEL_OPS arframe_ops
#define MODEL_PROG "test_arframe"
#define MODEL_TINY "model.kind=ar_frames", "model.d_model=16", "model.n_heads=2", "model.planner_layers=2", \
             "model.text_layers=1", "model.patch_frames=1", "model.latent_dim=3", "model.video_dim=4", \
             "model.ar_levels=8", "model.cond_dropout=0.5", "run.seed=5"
#include "tests/models/model_test.h"
#include "tests/check.h"

/* ---- the parity side ---- */

static int parity(const char *params_path, const char *inputs_path, const char *out_path) {
    if (!(g_meta = st_open(inputs_path))) return die("open inputs");
    tt_params *in = tio_params_from_file(inputs_path), *p = tt_params_new(), *res = tt_params_new();
    if (!in) return die("load inputs");
    cfg *c = config_from(st_meta(g_meta, "overrides"));
    if (!c) return die("config");
    tt_gen *g = tt_gen_new(1);
    vr_model m = {.params = p};
    if (arframe_ops.init(&m, c, g)) return die("init");
    if (tio_load_params(p, params_path, 1)) return die("load params");
    tt_scope_begin();
    vr_batch b = parity_batch(in, &m);
    vr_loss_parts parts;
    tt_tensor *loss = arframe_loss_with(&m, &b, input(in, "drop"), NULL, &parts);
    if (!loss || tt_backward(loss)) return die("loss forward/backward");
    tt_params_add(res, "loss", tt_detach(loss));
    tt_params_add(res, "part.ce", tt_scalar(parts.value[0], TT_F64));

    tt_no_grad_begin();
    tt_tensor *logits = arframe_logits(&m, &b, input(in, "drop"));
    int64_t B = b.B;
    tt_gen *gens[2][8], *ug[8];
    for (int64_t i = 0; i < B && i < 8; i++) {
        gens[0][i] = tt_gen_new(11 + (uint64_t)i);
        gens[1][i] = tt_gen_new(11 + (uint64_t)i);
        ug[i] = tt_gen_new(11 + (uint64_t)i);
    }
    tt_tensor *rows[8];
    for (int64_t i = 0; i < B; i++) { /* the uniforms clip i's generator gives, frame after frame */
        tt_tensor *frames[b.T];
        for (int k = 0; k < b.T; k++) frames[k] = tt_rand(ug[i], TT_SHAPE(1, 1, b.D, 1), TT_F32);
        rows[i] = tt_reshape(tt_cat(frames, b.T, 1), TT_SHAPE(1, b.T, b.D));
    }
    arframe_gen_opts o = {.cfg_scale = atof(st_meta(g_meta, "cfg_scale")),
                          .temperature = atof(st_meta(g_meta, "temperature")), .clip_gens = gens[0]};
    tt_tensor *sample = arframe_generate(&m, &b, &o, NULL);
    o.clip_gens = gens[1];
    o.history = input(in, "hist");
    tt_tensor *sample_h = arframe_generate(&m, &b, &o, NULL);
    tt_no_grad_end();
    if (!logits || !sample || !sample_h) return die("logits / generate");
    tt_params_add(res, "logits", logits);
    tt_params_add(res, "sample", sample);
    tt_params_add(res, "sample_hist", sample_h);
    tt_params_add(res, "sample_u", tt_cat(rows, (int)B, 0));
    add_grads(res, p, in);
    tt_scope_end();
    int rc = tio_save_params(res, out_path, 0, NULL, NULL) ? die("save output") : 0;
    printf("ar_frames: %lld parameters\n", (long long)tt_params_numel(p));
    for (int64_t i = 0; i < B && i < 8; i++) {
        tt_gen_free(gens[0][i]);
        tt_gen_free(gens[1][i]);
        tt_gen_free(ug[i]);
    }
    parity_batch_free(&b, &m);
    arframe_ops.free_state(&m);
    cfg_free(c);
    tt_params_free(res);
    tt_params_free(p);
    tt_params_free(in);
    tt_gen_free(g);
    st_close(g_meta);
    return rc;
}

/* ---- the self-tests ---- */

static void test_errors(void) {
    vr_model m;
    const char *bad_patch[] = {"model.patch_frames=5"};
    CHECK(make(&m, 1, bad_patch) != 0 && strstr(tt_last_error(), "model.patch_frames"), "patch_frames 5 accepted");
    destroy(&m);
    const char *bad_levels[] = {"model.ar_levels=1"};
    CHECK(make(&m, 1, bad_levels) != 0 && strstr(tt_last_error(), "model.ar_levels"), "ar_levels 1 accepted");
    destroy(&m);
    const char *bad_range[] = {"model.ar_range=0"};
    CHECK(make(&m, 1, bad_range) != 0 && strstr(tt_last_error(), "model.ar_range"), "ar_range 0 accepted");
    destroy(&m);
    CHECK(make(&m, 0, NULL) == 0, "tiny config refused: %s", tt_last_error());
    fixture f;
    fixture_fill(&f);
    vr_batch b = batch_of(&f, 0, B);
    b.D = 4;
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "channels"), "4 latent channels for 3 accepted");
    b = batch_of(&f, 0, B);
    b.Dv = 5;
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "model.video_dim"), "wrong video width accepted");
    b = batch_of(&f, 0, B);
    b.text_len = (int[]){1, 9, 0};
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "caption length 9"), "caption too long accepted");
    b = batch_of(&f, 0, B);
    tt_scope_begin();
    arframe_gen_opts o = {.history = tt_zeros(TT_SHAPE(B, T + 1, M), TT_F32)};
    tt_gen *g = tt_gen_new(1);
    CHECK(!arframe_generate(&m, &b, &o, g) && strstr(tt_last_error(), "history"), "history past the clip accepted");
    CHECK(!arframe_generate(&m, &b, NULL, NULL) && strstr(tt_last_error(), "generator"), "no generator accepted");
    tt_gen_free(g);
    tt_scope_end();
    destroy(&m);
}

/* a clip's loss is its own (condition dropout per clip); gradients everywhere; one batch can be fit */
static void test_loss(void) {
    vr_model m;
    if (make(&m, 0, NULL)) {
        CHECK(0, "make");
        return;
    }
    fixture f;
    fixture_fill(&f);
    for (int train = 0; train <= 1; train++) {
        vr_batch all = batch_of(&f, 0, B);
        double whole = loss_of(&m, &all, train), sum = 0;
        for (int i = 0; i < B; i++) {
            vr_batch one = batch_of(&f, i, 1);
            sum += loss_of(&m, &one, train);
        }
        CHECK(fabs(whole - sum / B) <= 1e-5 * fabs(whole), "train %d: batch loss %.8g vs mean of clips %.8g", train,
              whole, sum / B);
    }
    /* with cond_dropout 0.5, some epoch drops some clip's condition: the training loss differs from eval's */
    int differs = 0;
    for (int e = 0; e < 8 && !differs; e++) {
        vr_batch all = batch_of(&f, 0, B);
        all.epoch = e;
        differs = loss_of(&m, &all, 1) != loss_of(&m, &all, 0);
    }
    CHECK(differs, "condition dropout never changed the loss in 8 epochs");
    vr_batch all = batch_of(&f, 0, B);
    tt_scope_begin();
    vr_loss_parts parts = {0};
    tt_tensor *l = arframe_ops.loss(&m, &all, 0, NULL, &parts);
    CHECK(l && !tt_backward(l), "backward");
    CHECK(parts.n == 2 && !strcmp(parts.name[0], "ce") && fabs(parts.value[1] - parts.value[0] / log(2.0)) < 1e-9,
          "loss parts ce and bits");
    int missing = params_without_grad(&m);
    CHECK(missing == 0, "%d parameters without a gradient", missing);
    tt_scope_end();
    /* plain gradient descent on the one batch: the cross-entropy falls well below its start */
    double first = loss_of(&m, &all, 0), last = first;
    for (int step = 0; step < 100; step++) {
        tt_scope_begin();
        tt_tensor *ls = arframe_ops.loss(&m, &all, 0, NULL, NULL);
        if (ls && !tt_backward(ls)) {
            tt_no_grad_begin();
            for (int i = 0; i < tt_params_count(m.params); i++) {
                tt_tensor *p = tt_params_at(m.params, i);
                if (tt_has_grad(p)) tt_add_(p, tt_grad(p), -0.3);
                tt_zero_grad(p);
            }
            tt_no_grad_end();
        }
        tt_scope_end();
    }
    last = loss_of(&m, &all, 0);
    CHECK(last < 0.5 * first, "fitting one batch: cross-entropy %.4f -> %.4f", first, last);
    destroy(&m);
}

static tt_tensor *gen(vr_model *m, const vr_batch *b, const uint64_t *seeds, const arframe_gen_opts *base) {
    tt_gen *gs[B];
    for (int i = 0; i < b->B; i++) gs[i] = tt_gen_new(seeds[i]);
    arframe_gen_opts o = *base;
    o.clip_gens = gs;
    tt_tensor *x = arframe_generate(m, b, &o, NULL);
    for (int i = 0; i < b->B; i++) tt_gen_free(gs[i]);
    return x;
}

static void count_frame(void *ctx) { ++*(int *)ctx; }

static void test_sampling(void) {
    vr_model m;
    if (make(&m, 0, NULL)) {
        CHECK(0, "make");
        return;
    }
    fixture f;
    fixture_fill(&f);
    vr_batch all = batch_of(&f, 0, B);
    uint64_t seeds[B] = {4, 5, 6};
    tt_scope_begin();
    double secs = 0;
    int frames = 0;
    arframe_gen_opts o = {.cfg_scale = 2.0, .seconds = &secs, .on_frame = count_frame, .ctx = &frames};
    tt_tensor *a = gen(&m, &all, seeds, &o), *a2 = gen(&m, &all, seeds, &o);
    CHECK(a && tt_ndim(a) == 3 && tt_size(a, 0) == B && tt_size(a, 1) == T && tt_size(a, 2) == M, "sample shape");
    CHECK(max_abs_diff(a, a2) == 0, "same seeds, different samples (%g)", max_abs_diff(a, a2));
    CHECK(secs > 0 && frames == 2 * T, "time %g s, %d frame callbacks (expected %d)", secs, frames, 2 * T);
    /* every value is a level centre: -3 + (q + 1/2) * 6/8 */
    float host[B * T * M];
    int on_grid = a && !tt_to_data(tt_contiguous(a), host, sizeof host);
    for (int i = 0; on_grid && i < B * T * M; i++) {
        double q = (host[i] + 3.0) / 0.75 - 0.5;
        on_grid = fabs(q - round(q)) < 1e-4 && q > -0.5 && q < 7.5;
    }
    CHECK(on_grid, "samples off the quantisation grid");
    vr_batch one = batch_of(&f, 1, 1);
    tt_tensor *s1 = gen(&m, &one, seeds + 1, &o);
    CHECK(max_abs_diff(tt_slice(a, 0, 1, 2, 1), s1) == 0, "clip 1 alone vs in the batch differ by %g",
          max_abs_diff(tt_slice(a, 0, 1, 2, 1), s1));
    uint64_t other[B] = {4, 9, 6};
    tt_tensor *b2 = gen(&m, &all, other, &o);
    CHECK(max_abs_diff(tt_slice(a, 0, 0, 1, 1), tt_slice(b2, 0, 0, 1, 1)) == 0 &&
              max_abs_diff(tt_slice(a, 0, 1, 2, 1), tt_slice(b2, 0, 1, 2, 1)) > 0,
          "another seed for clip 1 must change clip 1 only");
    /* guidance changes the codes (a large scale, as the random model's condition moves logits little) */
    arframe_gen_opts o1 = {.cfg_scale = 1.0}, o8 = {.cfg_scale = 8.0};
    CHECK(max_abs_diff(gen(&m, &all, seeds, &o8), gen(&m, &all, seeds, &o1)) > 0, "CFG scale 8 and 1 gave the same samples");
    /* a very low temperature samples the most likely code: seeds stop mattering */
    arframe_gen_opts cold = {.cfg_scale = 2.0, .temperature = 1e-4};
    CHECK(max_abs_diff(gen(&m, &all, seeds, &cold), gen(&m, &all, other, &cold)) == 0,
          "temperature 1e-4 still depends on the seed");
    /* history: kept exactly, and the frames after it depend on it */
    tt_tensor *hist = tt_mul_scalar(tt_ones(TT_SHAPE(B, 3, M), TT_F32), 0.7);
    arframe_gen_opts oh = {.cfg_scale = 2.0, .history = hist};
    tt_tensor *h = gen(&m, &all, seeds, &oh);
    CHECK(max_abs_diff(tt_slice(h, 1, 0, 3, 1), hist) == 0, "history not kept exactly");
    CHECK(max_abs_diff(tt_slice(h, 1, 3, T, 1), tt_slice(a, 1, 3, T, 1)) > 0, "history had no effect");
    tt_scope_end();
    destroy(&m);

    /* no condition at all: CFG has nothing to drop, so scale 2 = scale 1 */
    const char *none[] = {"model.use_text=false", "model.use_video=false"};
    if (make(&m, 2, none)) {
        CHECK(0, "make unconditional");
        return;
    }
    tt_scope_begin();
    arframe_gen_opts o2 = {.cfg_scale = 2.0};
    tt_tensor *c2 = gen(&m, &all, seeds, &o2), *c1 = gen(&m, &all, seeds, &o1);
    CHECK(c2 && max_abs_diff(c1, c2) == 0, "unconditional model: CFG changed the sample");
    tt_scope_end();
    destroy(&m);
}

int main(int argc, char **argv) {
    tt_set_num_threads(1);
    if (argc == 5 && !strcmp(argv[1], "parity")) return parity(argv[2], argv[3], argv[4]);
    if (argc != 1) {
        fprintf(stderr, "usage: %s [parity PARAMS.safetensors INPUTS.safetensors OUT.safetensors]\n", argv[0]);
        return 2;
    }
    test_errors();
    test_loss();
    test_sampling();
    return check_summary();
}
