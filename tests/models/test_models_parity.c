/* test_models_parity.c — the C side of the model parity tests (tests/models/parity_models.py).
 *
 * Usage: test_models_parity MODE PARAMS.safetensors INPUTS.safetensors OUT.safetensors
 * Python writes the parameters (random, non-zero everywhere — also where our init puts zeros) and
 * the inputs; we build the module with our own init from the dimensions in the inputs' metadata,
 * load PARAMS strictly (so names and shapes must agree with the reference), run forward +
 * backward, and write outputs, the loss and every gradient ("grad.<name>") to OUT.
 *
 *   fsq      out = fsq(h); loss = sum(out * r); also codes, usage, perplexity
 *   dit      block_out = dit.blocks.0(x, silu(cond)); v = dit(ctx, xt, t, c);
 *            loss = sum(block_out * r_block) + sum(v * r_dit); sample = Euler CFG sampling (no grad)
 *   planner  h = planner(prefix(text_tok, video_tok), audio_tok); loss = sum(h * r)
 *   robin    the whole model's loss (robin_loss_with) on a batch with explicit noise/t/drop
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/tensor_io.h"
#include "models/fsq.h"
#include "models/locdit.h"
#include "models/planner.h"
#include "models/robin.h"

static int fail(const char *what) {
    fprintf(stderr, "test_models_parity: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

static st_file *g_meta_file;  /* the inputs file: dimensions in its metadata */
static const char *g_params;   /* the parameters file */

static int meta_int(const char *key) {
    const char *v = st_meta(g_meta_file, key);
    if (!v) {
        fprintf(stderr, "test_models_parity: metadata '%s' missing\n", key);
        exit(1);
    }
    return atoi(v);
}

static tt_tensor *input(tt_params *in, const char *name) {
    tt_tensor *t = tt_params_get(in, name);
    if (!t) {
        fprintf(stderr, "test_models_parity: input '%s' missing\n", name);
        exit(1);
    }
    return t;
}

/* Add grad.<name> for every float tensor of p that has one. */
static int add_grads(tt_params *res, tt_params *p) {
    for (int i = 0; i < tt_params_count(p); i++) {
        tt_tensor *t = tt_params_at(p, i);
        if (!tt_requires_grad(t) || !tt_has_grad(t)) continue;
        char name[300];
        snprintf(name, sizeof name, "grad.%s", tt_params_name(p, i));
        if (!tt_params_add(res, name, tt_grad(t))) return -1;
    }
    return 0;
}

static tt_tensor *dot(tt_tensor *a, tt_tensor *b) { return tt_sum_all(tt_mul(a, b)); }

static int run_fsq(tt_params *p, tt_params *in, tt_params *res, tt_gen *g) {
    int n = meta_int("n_levels"), levels[FSQ_MAX_DIMS];
    char key[32];
    for (int i = 0; i < n && i < FSQ_MAX_DIMS; i++) {
        snprintf(key, sizeof key, "level%d", i);
        levels[i] = meta_int(key);
    }
    fsq f;
    if (fsq_init(&f, p, "fsq", meta_int("d"), levels, n, g)) return fail("fsq_init");
    if (tio_load_params(p, g_params, 1)) return fail("load params");
    tt_tensor *codes, *out = fsq_fwd(&f, input(in, "h"), &codes);
    tt_tensor *loss = dot(out, input(in, "r"));
    if (!loss || tt_backward(loss)) return fail("fsq forward/backward");
    double usage, perplexity;
    if (fsq_stats(&f, codes, &usage, &perplexity)) return fail("fsq_stats");
    tt_params_add(res, "out", tt_detach(out));
    tt_params_add(res, "codes", codes);
    tt_params_add(res, "loss", tt_detach(loss));
    tt_params_add(res, "usage", tt_scalar(usage, TT_F64));
    tt_params_add(res, "perplexity", tt_scalar(perplexity, TT_F64));
    return 0;
}

static int run_dit(tt_params *p, tt_params *in, tt_params *res, tt_gen *g) {
    locdit m;
    if (dit_init(&m, p, "dit", meta_int("d"), meta_int("n_heads"), meta_int("n_layers"), meta_int("frames"),
                 meta_int("dim"), g))
        return fail("dit_init");
    if (tio_load_params(p, g_params, 1)) return fail("load params");
    tt_tensor *block_out = dit_block_fwd(&m.blocks[0], input(in, "x"), tt_silu(input(in, "cond")), 0.0, NULL);
    tt_tensor *v = dit_fwd(&m, input(in, "ctx"), input(in, "xt"), input(in, "t"), input(in, "c"), 0.0, NULL);
    tt_tensor *loss = tt_add(dot(block_out, input(in, "r_block")), dot(v, input(in, "r_dit")));
    if (!loss || tt_backward(loss)) return fail("dit forward/backward");
    tt_no_grad_begin();
    tt_tensor *sample = dit_sample(&m, input(in, "ctx_s"), input(in, "c_s"), input(in, "x0"), meta_int("steps"),
                                   DIT_EULER, atof(st_meta(g_meta_file, "cfg_scale")));
    tt_tensor *sample1 =
        dit_sample(&m, input(in, "ctx_s"), input(in, "c_s"), input(in, "x0"), meta_int("steps"), DIT_EULER, 1.0);
    tt_tensor *sample_heun = dit_sample(&m, input(in, "ctx_s"), input(in, "c_s"), input(in, "x0"), meta_int("steps"),
                                        DIT_HEUN, atof(st_meta(g_meta_file, "cfg_scale")));
    tt_no_grad_end();
    if (!sample || !sample1 || !sample_heun) return fail("dit_sample");
    tt_params_add(res, "sample_heun", sample_heun);
    tt_params_add(res, "block_out", tt_detach(block_out));
    tt_params_add(res, "v", tt_detach(v));
    tt_params_add(res, "sample", sample);
    tt_params_add(res, "sample_unguided", sample1);
    tt_params_add(res, "loss", tt_detach(loss));
    dit_free(&m);
    return 0;
}

static int run_planner(tt_params *p, tt_params *in, tt_params *res, tt_gen *g) {
    planner pl;
    if (plan_init(&pl, p, "planner", meta_int("d"), meta_int("n_heads"), meta_int("n_layers"), g)) return fail("plan_init");
    if (tio_load_params(p, g_params, 1)) return fail("load params");
    tt_tensor *text = input(in, "text_tok"), *video = input(in, "video_tok"), *audio = input(in, "audio_tok");
    tt_tensor *valid_t = input(in, "prefix_valid"); /* u8 [B, Lp] */
    int64_t B = tt_size(valid_t, 0), Lp = tt_size(valid_t, 1), P = tt_size(audio, 1), Tv = tt_size(video, 1);
    uint8_t *valid = malloc((size_t)(B * Lp));
    if (!valid || tt_to_data(valid_t, valid, (size_t)(B * Lp))) return fail("prefix_valid");
    double pos[P];
    plan_audio_positions(pos, P, Tv);
    tt_tensor *h = plan_fwd(&pl, plan_prefix(&pl, text, video), valid, audio, pos, 0.0, NULL);
    free(valid);
    tt_tensor *loss = dot(h, input(in, "r"));
    if (!loss || tt_backward(loss)) return fail("planner forward/backward");
    tt_params_add(res, "h", tt_detach(h));
    tt_params_add(res, "loss", tt_detach(loss));
    plan_free(&pl);
    return 0;
}

/* Host copy of an input tensor (freed by the caller). */
static void *host(tt_params *in, const char *name, size_t elem) {
    tt_tensor *t = input(in, name);
    size_t n = (size_t)tt_numel(t) * elem;
    void *buf = malloc(n ? n : 1);
    if (!buf || tt_to_data(t, buf, n)) {
        fprintf(stderr, "test_models_parity: reading input '%s': %s\n", name, tt_last_error());
        exit(1);
    }
    return buf;
}

static int run_robin(tt_params *p, tt_params *in, tt_params *res, tt_gen *g) {
    /* config: overrides "k=v;k=v" from the metadata */
    char *ov = strdup(st_meta(g_meta_file, "overrides")), *save = NULL, *items[64];
    int n_ov = 0;
    for (char *s = strtok_r(ov, ";", &save); s && n_ov < 64; s = strtok_r(NULL, ";", &save)) items[n_ov++] = s;
    cfg *c = cfg_defaults(vr_schema, n_ov, items);
    if (!c) return fail("config");
    vr_model m = {.params = p};
    if (robin_ops.init(&m, c, g)) return fail("robin init");
    if (tio_load_params(p, g_params, 1)) return fail("load params");

    tt_tensor *audio = input(in, "audio"), *video = input(in, "video"), *text = input(in, "text");
    vr_batch b = {.B = (int)tt_size(audio, 0), .T = (int)tt_size(audio, 1), .D = (int)tt_size(audio, 2),
                  .Tv = (int)tt_size(video, 1), .Dv = (int)tt_size(video, 2), .max_text = (int)tt_size(text, 1)};
    b.audio = host(in, "audio", 4);
    b.video = host(in, "video", 4);
    b.text = host(in, "text", 1);
    b.text_len = host(in, "text_len", 4);
    float *mean = host(in, "mean", 4), *std = host(in, "std", 4);
    m.norm_mean = mean;
    m.norm_std = std;
    robin_draw draw = {.noise = input(in, "noise"), .t = input(in, "t"), .drop = input(in, "drop"),
                      .ctx_drop = input(in, "ctx_drop"), .hist_noise = input(in, "hist_noise")};
    vr_loss_parts parts;
    tt_tensor *loss = robin_loss_with(&m, &b, &draw, NULL, &parts);
    if (!loss || tt_backward(loss)) return fail("robin forward/backward");
    tt_params_add(res, "loss", tt_detach(loss));
    for (int i = 0; i < parts.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "part.%s", parts.name[i]);
        tt_params_add(res, name, tt_scalar(parts.value[i], TT_F64));
    }
    printf("robin: %lld parameters\n", (long long)tt_params_numel(p));
    free(b.audio);
    free(b.video);
    free(b.text);
    free(b.text_len);
    free(mean);
    free(std);
    robin_ops.free_state(&m);
    cfg_free(c);
    free(ov);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s fsq|dit|planner|robin PARAMS.safetensors INPUTS.safetensors OUT.safetensors\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    tt_set_num_threads(1);
    if (!(g_meta_file = st_open(argv[3]))) return fail("open inputs");
    tt_params *in = tio_params_from_file(argv[3]);
    if (!in) return fail("load inputs");
    tt_params *p = tt_params_new(), *res = tt_params_new();
    tt_gen *g = tt_gen_new(1);
    g_params = argv[2];
    int rc;
    tt_scope_begin();
    if (!strcmp(mode, "fsq")) rc = run_fsq(p, in, res, g);
    else if (!strcmp(mode, "dit")) rc = run_dit(p, in, res, g);
    else if (!strcmp(mode, "planner")) rc = run_planner(p, in, res, g);
    else if (!strcmp(mode, "robin")) rc = run_robin(p, in, res, g);
    else {
        fprintf(stderr, "test_models_parity: unknown mode '%s'\n", mode);
        rc = 2;
    }
    if (!rc) {
        tt_params *inputs_and_params[2] = {p, in};
        for (int i = 0; i < 2 && !rc; i++)
            if (add_grads(res, inputs_and_params[i])) rc = fail("collect gradients");
    }
    tt_scope_end();
    if (!rc && tio_save_params(res, argv[4], 0, NULL, NULL)) rc = fail("save output");
    tt_params_free(res);
    tt_params_free(p);
    tt_params_free(in);
    tt_gen_free(g);
    st_close(g_meta_file);
    return rc;
}
