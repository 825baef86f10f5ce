/* encoders.c — see encoders.h. */
#include "models/encoders.h"

#include <stdio.h>
#include <stdlib.h>

#define NAME(buf, prefix, part) snprintf(buf, sizeof buf, "%s.%s", prefix, part)

static tt_tensor *add_normal(tt_params *p, const char *name, const int64_t *shape, int ndim, tt_gen *g) {
    tt_tensor *t = tt_randn(g, shape, ndim, TT_F32);
    if (t) tt_mul_scalar_(t, 0.02);
    return tt_params_add(p, name, t);
}

/* ---- text ---- */

int enc_text_init(enc_text *e, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, tt_gen *g) {
    char name[256];
    e->n_layers = n_layers;
    e->blocks = calloc(n_layers > 0 ? n_layers : 1, sizeof *e->blocks);
    if (!e->blocks) return nn_fail("enc_text_init: out of memory");
    NAME(name, prefix, "embed");
    /* N(0, 1): byte embeddings of unit scale, like the sinusoid added to them (tagger.c's reason).
     * At GPT-2's 0.02 the positions drowned the bytes: after 180-1,760 steps no planner read its
     * caption (results/reproduce_small.md, "Why the text is not followed"). */
    if (!(e->embed = tt_params_add(p, name, tt_randn(g, TT_SHAPE(ENC_TEXT_VOCAB, d), TT_F32)))) return -1;
    for (int i = 0; i < n_layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        if (nn_block_init(&e->blocks[i], p, name, d, n_heads, 4 * d, 0, g)) return -1;
    }
    NAME(name, prefix, "norm");
    return nn_norm_init(&e->norm, p, name, d, 0);
}

void enc_text_free(enc_text *e) {
    free(e->blocks);
    e->blocks = NULL;
}

int enc_text_tokens(const uint8_t *text, const int *text_len, int B, int max_text, int64_t **ids, uint8_t **valid,
                    int *L) {
    int longest = 0;
    if (B < 1) return nn_fail("enc_text_tokens: batch of %d captions", B);
    for (int b = 0; b < B; b++) {
        if (text_len[b] < 0 || text_len[b] > max_text)
            return nn_fail("caption %d has length %d, expected 0..%d bytes", b, text_len[b], max_text);
        if (text_len[b] > longest) longest = text_len[b];
    }
    int n = 1 + longest;
    *ids = malloc((size_t)B * (size_t)n * sizeof **ids);
    *valid = malloc((size_t)B * (size_t)n);
    if (!*ids || !*valid) {
        free(*ids);
        free(*valid);
        return nn_fail("enc_text_tokens: out of memory");
    }
    for (int b = 0; b < B; b++) {
        (*ids)[b * n] = ENC_TEXT_START;
        (*valid)[b * n] = 1;
        for (int j = 0; j < longest; j++) {
            int real = j < text_len[b];
            (*ids)[b * n + 1 + j] = real ? text[(size_t)b * max_text + j] : ENC_TEXT_PAD;
            (*valid)[b * n + 1 + j] = (uint8_t)real;
        }
    }
    *L = n;
    return 0;
}

tt_tensor *enc_text_fwd(const enc_text *e, const tt_tensor *ids, const tt_tensor *valid, double p, tt_gen *g) {
    int64_t L = tt_size(ids, 1);
    int d = (int)tt_size(e->embed, 1);
    double pos[L > 0 ? L : 1];
    for (int64_t i = 0; i < L; i++) pos[i] = (double)i;
    tt_tensor *x = tt_add(tt_embedding(e->embed, ids), nn_sinusoid_table(pos, L, d)); /* [B,L,d] */
    for (int i = 0; i < e->n_layers; i++) x = nn_block_fwd_dropout(&e->blocks[i], x, 0, valid, p, g);
    return nn_norm_fwd(&e->norm, x);
}

/* ---- video ---- */

int enc_video_init(enc_video *e, tt_params *p, const char *prefix, int video_dim, int d, tt_gen *g) {
    char name[256];
    /* N(0, 1/fan_in) both: video tokens of the scale of the sinusoid the planner adds to them; at
     * 0.02 they came out ~0.01 and the positions drowned them, as the bytes and the plan were */
    NAME(name, prefix, "fc1");
    if (nn_linear_init_unit(&e->fc1, p, name, video_dim, d, 1, g)) return -1;
    NAME(name, prefix, "fc2");
    return nn_linear_init_unit(&e->fc2, p, name, d, d, 1, g);
}

tt_tensor *enc_video_fwd(const enc_video *e, const tt_tensor *x) {
    return nn_linear_fwd(&e->fc2, tt_gelu(nn_linear_fwd(&e->fc1, x), 1));
}

/* ---- audio history ---- */

int enc_audio_init(enc_audio *e, tt_params *p, const char *prefix, int patch_dim, int d, tt_gen *g) {
    char name[256];
    NAME(name, prefix, "proj");
    if (nn_linear_init(&e->proj, p, name, patch_dim, d, 1, g)) return -1;
    NAME(name, prefix, "bos");
    return (e->bos = add_normal(p, name, TT_SHAPE(d), g)) ? 0 : -1;
}

tt_tensor *enc_audio_fwd(const enc_audio *e, const tt_tensor *patches) {
    int64_t B = tt_size(patches, 0), P = tt_size(patches, 1), d = tt_size(e->bos, 0);
    tt_tensor *bos = tt_expand(tt_reshape(e->bos, TT_SHAPE(1, 1, d)), TT_SHAPE(B, 1, d));
    if (P == 1) return tt_contiguous(bos);
    tt_tensor *hist = nn_linear_fwd(&e->proj, tt_slice(patches, 1, 0, P - 1, 1)); /* [B,P-1,d] */
    return tt_cat((tt_tensor *[]){bos, hist}, 2, 1);                               /* [B,P,d] */
}

tt_tensor *enc_audio_step(const enc_audio *e, const tt_tensor *prev, int64_t B) {
    int64_t d = tt_size(e->bos, 0);
    if (!prev) return tt_contiguous(tt_expand(tt_reshape(e->bos, TT_SHAPE(1, 1, d)), TT_SHAPE(B, 1, d)));
    return tt_unsqueeze(nn_linear_fwd(&e->proj, prev), 1);
}
