/* mlp_test.c — the trainer's test model (see registry.h): small, fast, deterministic, with a loss
 * that falls on shards whose mean audio latent depends on the text and video statistics.
 *
 *   text  = [text bytes / max_text, mean byte / 255]             [B, 2]
 *   video = [mean, std of the clip's video features]             [B, 2]   (model.use_video)
 *   h     = tanh(text_in(text) + video_in(video)); h = tanh(hidden(h))
 *   loss  = mean((out(h) - mean_t(normalised audio))^2)          target [B, D], D = data.n_mels
 * Width model.d_model; weights N(0, 1/fan_in), biases 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "train/registry.h"

typedef struct mlp_state {
    int H, D, video;
} mlp_state;

static int add_linear(tt_params *p, const char *name, int in, int out, tt_gen *g) {
    char key[128];
    snprintf(key, sizeof key, "%s.weight", name);
    tt_tensor *w = tt_randn(g, TT_SHAPE(out, in), TT_F32);
    tt_tensor *ws = w ? tt_mul_scalar(w, 1.0 / sqrt((double)in)) : NULL;
    tt_free(w);
    if (!ws || !tt_params_add(p, key, ws)) return -1;
    snprintf(key, sizeof key, "%s.bias", name);
    return tt_params_add(p, key, tt_zeros(TT_SHAPE(out), TT_F32)) ? 0 : -1;
}

static int init(vr_model *m, const cfg *c, tt_gen *g) {
    mlp_state *s = calloc(1, sizeof *s);
    if (!s) return vr_fail("out of memory");
    m->state = s;
    s->H = (int)cfg_int(c, "model.d_model"), s->D = (int)cfg_int(c, "data.n_mels");
    int video = s->video = cfg_bool(c, "model.use_video");
    if (s->H < 1 || s->D < 1) return vr_fail("mlp_test: model.d_model and data.n_mels must be positive");
    if (add_linear(m->params, "text_in", 2, s->H, g) || (video && add_linear(m->params, "video_in", 2, s->H, g)) ||
        add_linear(m->params, "hidden", s->H, s->H, g) || add_linear(m->params, "out", s->H, s->D, g))
        return vr_fail("mlp_test: %s", tt_last_error());
    return 0;
}

static tt_tensor *linear(const vr_model *m, const char *name, const tt_tensor *x) {
    char w[128], b[128];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(b, sizeof b, "%s.bias", name);
    return tt_linear(x, tt_params_get(m->params, w), tt_params_get(m->params, b));
}

static tt_tensor *loss(vr_model *m, const vr_batch *b, int train, tt_gen *g, vr_loss_parts *parts) {
    (void)train, (void)g;
    const mlp_state *s = m->state;
    if (b->D != s->D) return tt_fail("mlp_test: the batch's latents have %d dims, data.n_mels is %d", b->D, s->D);
    int B = b->B;
    float *text = malloc(sizeof(float) * 2 * (size_t)B), *video = malloc(sizeof(float) * 2 * (size_t)B);
    float *target = malloc(sizeof(float) * (size_t)B * (size_t)s->D);
    tt_tensor *out = NULL;
    if (!text || !video || !target) {
        tt_fail("mlp_test: out of memory");
        goto done;
    }
    for (int i = 0; i < B; i++) {
        const uint8_t *t = b->text + (size_t)i * (size_t)b->max_text;
        double sum = 0;
        for (int k = 0; k < b->text_len[i]; k++) sum += t[k];
        text[2 * i] = (float)b->text_len[i] / (float)b->max_text;
        text[2 * i + 1] = b->text_len[i] ? (float)(sum / b->text_len[i] / 255.0) : 0.0f;
        size_t nv = (size_t)b->Tv * (size_t)b->Dv;
        const float *v = b->video + (size_t)i * nv;
        double mean = 0, var = 0;
        for (size_t k = 0; k < nv; k++) mean += v[k];
        mean /= (double)(nv ? nv : 1);
        for (size_t k = 0; k < nv; k++) var += (v[k] - mean) * (v[k] - mean);
        video[2 * i] = (float)mean;
        video[2 * i + 1] = (float)sqrt(var / (double)(nv ? nv : 1));
        for (int d = 0; d < s->D; d++) {
            double acc = 0;
            for (int t2 = 0; t2 < b->T; t2++)
                acc += b->audio[((size_t)i * (size_t)b->T + (size_t)t2) * (size_t)b->D + (size_t)d];
            acc /= b->T;
            if (m->norm_mean) acc = (acc - m->norm_mean[d]) / m->norm_std[d];
            target[(size_t)i * (size_t)s->D + (size_t)d] = (float)acc;
        }
    }
    tt_tensor *xt = tt_from_data(text, TT_F32, TT_SHAPE(B, 2));
    tt_tensor *y = tt_from_data(target, TT_F32, TT_SHAPE(B, s->D));
    tt_tensor *pre = linear(m, "text_in", xt);
    if (s->video) pre = tt_add(pre, linear(m, "video_in", tt_from_data(video, TT_F32, TT_SHAPE(B, 2))));
    tt_tensor *h = tt_tanh(linear(m, "hidden", tt_tanh(pre)));
    out = tt_mse_loss(tt_to_dtype(linear(m, "out", h), TT_F32), y);
    double v = 0;
    if (out && parts && !tt_item(out, &v)) {
        parts->n = 1;
        parts->name[0] = "mse";
        parts->value[0] = v;
    }
done:
    free(text);
    free(video);
    free(target);
    return out;
}

static void free_state(vr_model *m) { free(m->state); }

const vr_model_ops vr_mlp_test_ops = {"mlp_test", init, loss, free_state};
