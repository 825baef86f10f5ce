/* test_fullseq.c — the full-sequence DiT baseline (models/fullseq.h).
 *
 * Without arguments: config and batch errors, per-clip draws (a clip's loss does not depend on
 * the clips beside it, so N ranks = 1 rank), gradient flow, sampling determinism (same seeds,
 * same bits; a clip alone or in a batch), CFG on/off, and history continuation.
 *
 * `test_fullseq parity PARAMS INPUTS OUT` is the C side of tests/models/parity_fullseq.py:
 * Python writes random parameters and inputs (config overrides in the metadata); we load the
 * parameters strictly, compute the loss (fullseq_loss_with with the given draws) and its
 * gradients, the velocity, and samples with and without history from generators seeded 11, 12
 * (their noise written as "sample_noise"), and write them all to OUT.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/fullseq.h"

#define MODEL_OPS fullseq_ops
#define MODEL_PROG "test_fullseq"
#define MODEL_TINY "model.kind=fullseq_dit", "model.d_model=16", "model.n_heads=2", "model.dit_layers=2", \
             "model.text_layers=1", "model.patch_frames=2", "model.latent_dim=3", "model.video_dim=4", \
             "model.sample_steps=3", "model.cond_dropout=0.5", "run.seed=5"
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
    if (fullseq_ops.init(&m, c, g)) return die("init");
    if (tio_load_params(p, params_path, 1)) return die("load params");
    tt_scope_begin();
    vr_batch b = parity_batch(in, &m);
    fullseq_draw draw = {.noise = input(in, "noise"), .t = input(in, "t"), .drop = input(in, "drop")};
    vr_loss_parts parts;
    tt_tensor *loss = fullseq_loss_with(&m, &b, &draw, NULL, &parts);
    if (!loss || tt_backward(loss)) return die("loss forward/backward");
    tt_params_add(res, "loss", tt_detach(loss));
    tt_params_add(res, "part.flow", tt_scalar(parts.value[0], TT_F64));

    tt_no_grad_begin();
    tt_tensor *v = fullseq_velocity(&m, &b, input(in, "xt_v"), input(in, "t_v"), input(in, "drop"));
    int64_t B = b.B, Hf = tt_size(input(in, "hist"), 1);
    tt_gen *gens[2][8], *ng[8];
    for (int64_t i = 0; i < B && i < 8; i++) {
        gens[0][i] = tt_gen_new(11 + (uint64_t)i);
        gens[1][i] = tt_gen_new(11 + (uint64_t)i);
        ng[i] = tt_gen_new(11 + (uint64_t)i);
    }
    tt_tensor *rows[8];
    for (int64_t i = 0; i < B; i++) rows[i] = tt_randn(ng[i], TT_SHAPE(1, b.T, b.D), TT_F32);
    fullseq_gen_opts o = {.steps = atoi(st_meta(g_meta, "steps")), .cfg_scale = atof(st_meta(g_meta, "cfg_scale")),
                          .clip_gens = gens[0]};
    tt_tensor *sample = fullseq_generate(&m, &b, &o, NULL);
    o.clip_gens = gens[1];
    o.history = tt_reshape(input(in, "hist"), TT_SHAPE(B, Hf, b.D));
    tt_tensor *sample_h = fullseq_generate(&m, &b, &o, NULL);
    tt_no_grad_end();
    if (!v || !sample || !sample_h) return die("velocity / generate");
    tt_params_add(res, "v", v);
    tt_params_add(res, "sample", sample);
    tt_params_add(res, "sample_hist", sample_h);
    tt_params_add(res, "sample_noise", tt_cat(rows, (int)B, 0));
    add_grads(res, p, in);
    tt_scope_end();
    int rc = tio_save_params(res, out_path, 0, NULL, NULL) ? die("save output") : 0;
    printf("fullseq_dit: %lld parameters\n", (long long)tt_params_numel(p));
    for (int64_t i = 0; i < B && i < 8; i++) {
        tt_gen_free(gens[0][i]);
        tt_gen_free(gens[1][i]);
        tt_gen_free(ng[i]);
    }
    parity_batch_free(&b, &m);
    fullseq_ops.free_state(&m);
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
    const char *bad_heads[] = {"model.n_heads=3"};
    CHECK(make(&m, 1, bad_heads) != 0 && strstr(tt_last_error(), "model.n_heads"), "n_heads 3 of d 16 accepted");
    destroy(&m);
    const char *bad_layers[] = {"model.dit_layers=0"};
    CHECK(make(&m, 1, bad_layers) != 0 && strstr(tt_last_error(), "model.dit_layers"), "dit_layers 0 accepted");
    destroy(&m);
    CHECK(make(&m, 0, NULL) == 0, "tiny config refused: %s", tt_last_error());
    fixture f;
    fixture_fill(&f);
    vr_batch b = batch_of(&f, 0, B);
    b.T = 7;
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "multiple of model.patch_frames"),
          "7 frames with patch 2 accepted");
    b = batch_of(&f, 0, B);
    b.Dv = 5;
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "model.video_dim"), "wrong video width accepted");
    b = batch_of(&f, 0, B);
    b.text_len = (int[]){1, 9, 0};
    CHECK(isnan(loss_of(&m, &b, 1)) && strstr(tt_last_error(), "caption length 9"), "caption too long accepted");
    b = batch_of(&f, 0, B);
    tt_scope_begin();
    fullseq_gen_opts o = {.history = tt_zeros(TT_SHAPE(B, T, M), TT_F32)};
    tt_gen *g = tt_gen_new(1);
    CHECK(!fullseq_generate(&m, &b, &o, g) && strstr(tt_last_error(), "history"), "history of the whole clip accepted");
    tt_gen_free(g);
    tt_scope_end();
    destroy(&m);
}

/* a clip's loss is its own: the batch of 3 = the mean of the three alone (per-clip draws) */
static void test_draws(void) {
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
        double again = loss_of(&m, &all, train);
        CHECK(again == whole, "train %d: the same batch gave %.9g then %.9g", train, whole, again);
        all.epoch = 3;
        CHECK(loss_of(&m, &all, train) != whole, "train %d: another epoch gave the same draws", train);
    }
    /* every parameter gets a gradient */
    vr_batch all = batch_of(&f, 0, B);
    tt_scope_begin();
    tt_tensor *l = fullseq_ops.loss(&m, &all, 0, NULL, NULL);
    CHECK(l && !tt_backward(l), "backward");
    int missing = params_without_grad(&m);
    CHECK(missing == 0, "%d parameters without a gradient", missing);
    tt_scope_end();
    destroy(&m);
}

static tt_tensor *gen(vr_model *m, const vr_batch *b, const uint64_t *seeds, const fullseq_gen_opts *base) {
    tt_gen *gs[B];
    for (int i = 0; i < b->B; i++) gs[i] = tt_gen_new(seeds[i]);
    fullseq_gen_opts o = *base;
    o.clip_gens = gs;
    tt_tensor *x = fullseq_generate(m, b, &o, NULL);
    for (int i = 0; i < b->B; i++) tt_gen_free(gs[i]);
    return x;
}

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
    fullseq_gen_opts o = {.steps = 4, .cfg_scale = 2.0, .seconds = &secs};
    tt_tensor *a = gen(&m, &all, seeds, &o), *a2 = gen(&m, &all, seeds, &o);
    CHECK(a && tt_ndim(a) == 3 && tt_size(a, 0) == B && tt_size(a, 1) == T && tt_size(a, 2) == M, "sample shape");
    CHECK(max_abs_diff(a, a2) == 0, "same seeds, different samples (%g)", max_abs_diff(a, a2));
    CHECK(secs > 0, "no time accumulated");
    vr_batch one = batch_of(&f, 1, 1);
    tt_tensor *s1 = gen(&m, &one, seeds + 1, &o);
    double d1 = max_abs_diff(tt_slice(a, 0, 1, 2, 1), s1);
    CHECK(d1 <= 1e-4, "clip 1 alone vs in the batch differ by %g", d1);
    uint64_t other[B] = {4, 9, 6};
    tt_tensor *b2 = gen(&m, &all, other, &o);
    CHECK(max_abs_diff(tt_slice(a, 0, 0, 1, 1), tt_slice(b2, 0, 0, 1, 1)) <= 1e-4 &&
              max_abs_diff(tt_slice(a, 0, 1, 2, 1), tt_slice(b2, 0, 1, 2, 1)) > 1e-3,
          "another seed for clip 1 must change clip 1 only");
    fullseq_gen_opts o1 = {.steps = 4, .cfg_scale = 1.0};
    tt_tensor *u = gen(&m, &all, seeds, &o1);
    CHECK(max_abs_diff(a, u) > 1e-3, "CFG scale 2 and 1 gave the same samples");
    /* history: kept exactly, and the frames after it depend on it */
    tt_tensor *hist = tt_mul_scalar(tt_ones(TT_SHAPE(B, 4, M), TT_F32), 0.7);
    fullseq_gen_opts oh = {.steps = 4, .cfg_scale = 2.0, .history = hist};
    tt_tensor *h = gen(&m, &all, seeds, &oh);
    CHECK(max_abs_diff(tt_slice(h, 1, 0, 4, 1), hist) == 0, "history not kept exactly");
    CHECK(max_abs_diff(tt_slice(h, 1, 4, T, 1), tt_slice(a, 1, 4, T, 1)) > 1e-4, "history had no effect");
    tt_scope_end();
    destroy(&m);

    /* no condition at all: CFG has nothing to drop, so scale 2 = scale 1 */
    const char *none[] = {"model.use_text=false", "model.use_video=false"};
    if (make(&m, 2, none)) {
        CHECK(0, "make unconditional");
        return;
    }
    tt_scope_begin();
    tt_tensor *c2 = gen(&m, &all, seeds, &o), *c1 = gen(&m, &all, seeds, &o1);
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
    test_draws();
    test_sampling();
    return check_summary();
}
