/* embed.c — audio embedding backbones: the weight-free "mel" statistics and TorchScript models.
 * Definitions and the model contract are in embed.h. */
#include "eval/embed.h"

#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libswresample/swresample.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tt.h"
#include "data/media.h"
#include "data/mel.h"

#define MEL_FPS 50              /* log-mel frames per second: the toolkit's front end (data/mel.h) */
#define TS_PREFIX "torchscript:"
#define RATE_MIN 1000           /* input and backbone rates, Hz */
#define RATE_MAX 1000000
#define WINDOW_MAX_S 600.0      /* a longer window is surely a unit mistake (ms for s) */

enum { EMB_MEL, EMB_TS };

struct vr_embedder {
    int kind;
    char *spec;
    vr_embed_opts o;
    int64_t win, hop;  /* window and hop in samples at o.sample_rate */
    int dim;
    vr_mel mel;        /* EMB_MEL */
    tt_jit *jit;       /* EMB_TS */
};

void vr_embed_opts_default(vr_embed_opts *o) {
    memset(o, 0, sizeof *o);
    o->sample_rate = 16000;
    o->window_s = 1.0;
    o->hop_s = 0.5;
    o->batch = 32;
    o->n_mels = 64;
}

int vr_embedder_dim(const vr_embedder *e) { return e ? e->dim : -1; }
const char *vr_embedder_spec(const vr_embedder *e) { return e ? e->spec : NULL; }
const vr_embed_opts *vr_embedder_opts(const vr_embedder *e) { return e ? &e->o : NULL; }

void vr_embedder_free(vr_embedder *e) {
    if (!e) return;
    vr_mel_free(&e->mel);
    tt_jit_free(e->jit);
    free(e->spec);
    free(e);
}

/* ---- the backbones on one batch of windows [B, W] f32 -> [B, dim] f64 --------------------- */

/* Per-band mean and population std of the log-mel and of its first difference over time. */
static tt_tensor *mel_embed(vr_embedder *e, const tt_tensor *wins) {
    tt_tensor *lm = vr_mel_forward(&e->mel, wins); /* [B, T, M]; sets vr_error itself */
    if (!lm) return NULL;
    tt_tensor *x = tt_to_dtype(lm, TT_F64);
    int64_t T = tt_size(x, 1);
    tt_tensor *dx = tt_sub(tt_slice(x, 1, 1, T, 1), tt_slice(x, 1, 0, T - 1, 1));
    tt_tensor *parts[4] = {tt_mean(x, 1, 0), tt_sqrt(tt_var(x, 1, 0, 0)), tt_mean(dx, 1, 0),
                           tt_sqrt(tt_var(dx, 1, 0, 0))};
    tt_tensor *y = tt_cat(parts, 4, 1);
    if (!y) return vr_fail_null("%s: %s", e->spec, tt_last_error());
    return y;
}

static void shape_str(const tt_tensor *t, char *buf, size_t cap) {
    int64_t s[16];
    int nd = tt_shape(t, s, 16);
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && i < 16 && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* The module's output, checked against the contract and mean-pooled to [B, D] in f64. On the
 * first call (e->dim == 0, the probe at open) D is learnt; later a different D is an error. */
static tt_tensor *ts_embed(vr_embedder *e, const tt_tensor *wins) {
    int64_t B = tt_size(wins, 0);
    tt_tensor *y = tt_jit_forward(e->jit, wins);
    if (!y) return vr_fail_null("%s: forward on windows [%lld, %lld] failed: %s", e->spec, (long long)B,
                                (long long)e->win, tt_last_error());
    char sh[256];
    shape_str(y, sh, sizeof sh);
    int nd = tt_ndim(y);
    tt_dtype dt = tt_dtype_of(y);
    if (nd < 2 || tt_size(y, 0) != B || tt_size(y, -1) < 1)
        return vr_fail_null("%s: the module returned %s for %lld windows, expected [%lld, D] or [%lld, ..., D]", e->spec,
                            sh, (long long)B, (long long)B, (long long)B);
    if (dt != TT_F32 && dt != TT_F64 && dt != TT_F16 && dt != TT_BF16)
        return vr_fail_null("%s: the module returned %s %s, expected a floating-point embedding", e->spec,
                            tt_dtype_name(dt), sh);
    int64_t D = tt_size(y, -1);
    if (D > 1 << 20)
        return vr_fail_null("%s: the module returned %s: embedding dimension %lld is implausible", e->spec, sh,
                            (long long)D);
    if (e->dim && D != e->dim)
        return vr_fail_null("%s: the module returned %s, but its embeddings had %d dims before", e->spec, sh, e->dim);
    tt_tensor *z = tt_to_dtype(y, TT_F64);
    if (nd > 2) z = tt_mean(tt_reshape(z, TT_SHAPE(B, -1, D)), 1, 0);
    if (!z) return vr_fail_null("%s: pooling the output %s: %s", e->spec, sh, tt_last_error());
    e->dim = (int)D;
    return z;
}

/* Embed nw windows of x (mono at the backbone rate) into out [nw][dim]. */
static int embed_windows(vr_embedder *e, const float *x, int nw, double *out) {
    int bmax = e->o.batch < nw ? e->o.batch : nw;
    float *buf = malloc((size_t)bmax * (size_t)e->win * sizeof *buf);
    if (!buf) return vr_fail("%s: out of memory for %d windows of %lld samples", e->spec, bmax, (long long)e->win);
    int rc = 0;
    tt_no_grad_begin();
    for (int b0 = 0; b0 < nw && rc == 0; b0 += bmax) {
        int bn = nw - b0 < bmax ? nw - b0 : bmax;
        for (int i = 0; i < bn; i++)
            memcpy(buf + (size_t)i * e->win, x + (int64_t)(b0 + i) * e->hop, (size_t)e->win * sizeof *buf);
        tt_scope_begin();
        tt_tensor *wins = tt_from_data(buf, TT_F32, TT_SHAPE(bn, e->win));
        tt_tensor *y = !wins ? vr_fail_null("%s: %s", e->spec, tt_last_error())
                       : e->kind == EMB_MEL ? mel_embed(e, wins) : ts_embed(e, wins);
        double *dst = out + (size_t)b0 * e->dim;
        if (!y) rc = -1;
        else if (tt_to_data(y, dst, (size_t)bn * e->dim * sizeof *dst) != 0)
            rc = vr_fail("%s: %s", e->spec, tt_last_error());
        tt_scope_end();
        for (size_t k = 0; rc == 0 && k < (size_t)bn * e->dim; k++)
            if (!isfinite(dst[k]))
                rc = vr_fail("%s: non-finite embedding (window %d, dim %d)", e->spec, b0 + (int)(k / e->dim),
                             (int)(k % e->dim));
    }
    tt_no_grad_end();
    free(buf);
    return rc;
}

/* ---- opening ---------------------------------------------------------------------------- */

static int check_opts(const vr_embed_opts *o) {
    if (o->sample_rate < RATE_MIN || o->sample_rate > RATE_MAX)
        return vr_fail("sample_rate %d Hz is outside %d-%d Hz", o->sample_rate, RATE_MIN, RATE_MAX);
    if (!(o->window_s > 0 && o->window_s <= WINDOW_MAX_S))
        return vr_fail("window_s %g is outside (0, %g] seconds", o->window_s, WINDOW_MAX_S);
    if (!(o->hop_s > 0 && o->hop_s <= WINDOW_MAX_S))
        return vr_fail("hop_s %g is outside (0, %g] seconds", o->hop_s, WINDOW_MAX_S);
    if (llround(o->hop_s * o->sample_rate) < 1)
        return vr_fail("hop_s %g is less than one sample at %d Hz", o->hop_s, o->sample_rate);
    if (o->batch < 1) return vr_fail("batch %d must be >= 1", o->batch);
    return 0;
}

static int open_mel(vr_embedder *e) {
    if (e->o.n_mels < 1 || e->o.n_mels > 512) return vr_fail("mel: n_mels %d is outside 1-512", e->o.n_mels);
    if (e->o.sample_rate % MEL_FPS != 0)
        return vr_fail("mel: sample_rate %d Hz is not a multiple of the log-mel frame rate (%d/s)", e->o.sample_rate,
                       MEL_FPS);
    if (vr_mel_init(&e->mel, e->o.sample_rate, e->o.n_mels, MEL_FPS) != 0) return -1; /* "mel: ..." */
    if (e->win < e->mel.n_fft || e->win / e->mel.hop < 2)
        return vr_fail("mel: window_s %g (%lld samples) is shorter than the %d-sample STFT window plus one hop",
                       e->o.window_s, (long long)e->win, e->mel.n_fft);
    e->dim = 4 * e->o.n_mels;
    return 0;
}

static int open_torchscript(vr_embedder *e, const char *file) {
    if (!*file) return vr_fail("torchscript backbone: no file after '%s'", TS_PREFIX);
    e->jit = tt_jit_load(file);
    if (!e->jit) return vr_fail("torchscript backbone: %s", tt_last_error()); /* names the file */
    /* probe: one silent window checks the output contract and gives D */
    float *zero = calloc((size_t)e->win, sizeof *zero);
    if (!zero) return vr_fail("%s: out of memory", e->spec);
    int rc = 0;
    tt_no_grad_begin();
    tt_scope_begin();
    tt_tensor *w = tt_from_data(zero, TT_F32, TT_SHAPE(1, e->win));
    if (!w) rc = vr_fail("%s: %s", e->spec, tt_last_error());
    else if (!ts_embed(e, w)) rc = -1;
    tt_scope_end();
    tt_no_grad_end();
    free(zero);
    return rc;
}

vr_embedder *vr_embedder_open(const char *spec, const vr_embed_opts *o) {
    if (!spec) return vr_fail_null("embedding backbone: spec is NULL");
    int kind = !strcmp(spec, "mel") ? EMB_MEL : !strncmp(spec, TS_PREFIX, strlen(TS_PREFIX)) ? EMB_TS : -1;
    if (kind < 0) return vr_fail_null("unknown backbone '%s' (expected mel or torchscript:<file>)", spec);
    vr_embedder *e = calloc(1, sizeof *e);
    if (!e || !(e->spec = strdup(spec))) {
        free(e);
        return vr_fail_null("%s: out of memory", spec);
    }
    e->kind = kind;
    if (o) e->o = *o;
    else vr_embed_opts_default(&e->o);
    int rc = check_opts(&e->o) == 0 ? 0 : vr_context("%s", spec);
    if (rc == 0) {
        e->win = llround(e->o.window_s * e->o.sample_rate);
        e->hop = llround(e->o.hop_s * e->o.sample_rate);
        rc = kind == EMB_MEL ? open_mel(e) : open_torchscript(e, spec + strlen(TS_PREFIX));
    }
    if (rc != 0) {
        vr_embedder_free(e);
        return NULL;
    }
    return e;
}

/* ---- audio in ---------------------------------------------------------------------------- */

/* Mono x[n] at rate `from` -> *out[*n_out] at rate `to`, *n_out = round(n * to / from) exactly.
 * libswresample's output starts aligned with its input (it compensates its filter delay), and
 * input + flush give that length; any shortfall is zero-padded. */
static int resample(const float *x, int64_t n, int from, int to, float **out, int64_t *n_out) {
    int64_t want = (n * to + from / 2) / from;
    if (want > INT32_MAX / 2)
        return vr_fail("resampling %d -> %d Hz: %lld output samples are too many", from, to, (long long)want);
    SwrContext *s = NULL;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    float *y = NULL;
    int err = swr_alloc_set_opts2(&s, &mono, AV_SAMPLE_FMT_FLT, to, &mono, AV_SAMPLE_FMT_FLT, from, 0, NULL);
    if (err >= 0) err = swr_init(s);
    int64_t cap = err >= 0 ? swr_get_out_samples(s, (int)n) : 0, got = 0;
    if (err >= 0 && cap < want) cap = want;
    if (err >= 0 && !(y = calloc((size_t)cap + 1, sizeof *y))) err = AVERROR(ENOMEM);
    const uint8_t *in[1] = {(const uint8_t *)x};
    /* the input in one call, then flush until the resampler has nothing left */
    for (int k = 0; err >= 0 && got < cap; k++) {
        uint8_t *o[1] = {(uint8_t *)(y + got)};
        err = swr_convert(s, o, (int)(cap - got), k == 0 ? in : NULL, k == 0 ? (int)n : 0);
        if (err == 0 && k > 0) break;
        if (err > 0) got += err;
    }
    swr_free(&s);
    if (err < 0) {
        free(y);
        char eb[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(err, eb, sizeof eb);
        return vr_fail("resampling %d -> %d Hz: %s", from, to, eb);
    }
    *out = y;
    *n_out = want;
    return 0;
}

int vr_embed_audio(vr_embedder *e, const float *wav, int64_t n_samples, int sample_rate, int channels, double **emb,
                   int *n_windows, int *dim) {
    if (!e || !wav || !emb || !n_windows || !dim) return vr_fail("vr_embed_audio: NULL argument");
    *emb = NULL;
    if (channels < 1 || channels > 64) return vr_fail("%s: %d audio channels (expected 1-64)", e->spec, channels);
    if (sample_rate < RATE_MIN || sample_rate > RATE_MAX)
        return vr_fail("%s: input sample rate %d Hz is outside %d-%d Hz", e->spec, sample_rate, RATE_MIN, RATE_MAX);
    if (n_samples < 0 || n_samples > INT32_MAX / 2)
        return vr_fail("%s: %lld samples per call is outside 0-%d (split the audio)", e->spec, (long long)n_samples,
                       INT32_MAX / 2);
    int64_t n = sample_rate == e->o.sample_rate ? n_samples : (n_samples * e->o.sample_rate + sample_rate / 2) / sample_rate;
    if (n < e->win)
        return vr_fail("%s: clip of %lld samples at %d Hz (%.4f s) is shorter than one %g-s window", e->spec,
                       (long long)n_samples, sample_rate, (double)n_samples / sample_rate, e->o.window_s);

    float *mono = malloc((size_t)n_samples * sizeof *mono);
    if (!mono) return vr_fail("%s: out of memory for %lld samples", e->spec, (long long)n_samples);
    for (int64_t i = 0; i < n_samples; i++) {
        double s = 0;
        for (int c = 0; c < channels; c++) {
            float v = wav[i * channels + c];
            if (!isfinite(v)) {
                free(mono);
                return vr_fail("%s: non-finite audio sample at index %lld (channel %d)", e->spec, (long long)i, c);
            }
            s += v;
        }
        mono[i] = (float)(s / channels);
    }
    if (sample_rate != e->o.sample_rate) {
        float *r = NULL;
        int rc = resample(mono, n_samples, sample_rate, e->o.sample_rate, &r, &n);
        free(mono);
        if (rc != 0) return vr_context("%s", e->spec);
        mono = r;
    }
    int64_t nw = 1 + (n - e->win) / e->hop;
    if (nw > 1 << 24) {
        free(mono);
        return vr_fail("%s: %lld windows are too many for one call", e->spec, (long long)nw);
    }
    double *out = malloc((size_t)nw * e->dim * sizeof *out);
    int rc = out ? embed_windows(e, mono, (int)nw, out) : vr_fail("%s: out of memory", e->spec);
    free(mono);
    if (rc != 0) {
        free(out);
        return -1;
    }
    *emb = out;
    *n_windows = (int)nw;
    *dim = e->dim;
    return 0;
}

int vr_embed_file(vr_embedder *e, const char *path, double **emb, int *n_windows, int *dim) {
    if (!e || !path) return vr_fail("vr_embed_file: NULL argument");
    vr_media_opts mo;
    vr_media_opts_default(&mo);
    mo.want_video = 0;
    mo.want_audio = 1;
    mo.sample_rate = e->o.sample_rate;
    vr_media m;
    if (vr_media_decode(path, &mo, &m) != 0) return -1; /* names the file */
    int rc = vr_embed_audio(e, m.audio, m.n_samples, m.sample_rate, 1, emb, n_windows, dim);
    vr_media_free(&m);
    return rc == 0 ? 0 : vr_context("%s", path);
}
