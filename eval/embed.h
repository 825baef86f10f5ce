/* embed.h — audio embedding backbones for FAD, density/coverage and per-clip metrics.
 *
 * A backbone maps audio to one embedding per window. Every backbone sees the same windows:
 *   audio -> mono (the mean of the channels) -> resampled to the backbone rate sr (libswresample)
 *   -> windows of W = round(window_s * sr) samples starting every H = round(hop_s * sr) samples:
 *   n_windows = 1 + floor((N - W) / H) for N >= W samples. Samples after the last whole window
 *   are not embedded (fewer than H). A clip shorter than one window is an error, not zero-padded:
 *   a padded window is mostly silence and would pull the statistics towards it; evaluation clips
 *   are 10 s, so a short one is a bug upstream. Non-finite samples are an error.
 * Embeddings come back in float64 (FAD runs in float64), row-major [n_windows][dim].
 *
 * Backbones, chosen by a spec string:
 *   "mel"               built in, weight-free. Per window, the log-mel of data/mel.h (hop sr/50,
 *                       n_fft the smallest power of two >= 2 hop (1024 at 16 kHz), n_mels Slaney
 *                       bands, ln(max(mel, 1e-5))) computed on the window alone (centred STFT,
 *                       reflect-padded at the window's edges; T = W / hop frames, 50 for a 1-s
 *                       window), and from its frames x[t][m] the per-band statistics
 *                         [ mean_t x | std_t x | mean_t dx | std_t dx ],  dx[t] = x[t+1] - x[t],
 *                       std the population one (divide by T, resp. T - 1). dim = 4 * n_mels (256 by
 *                       default). mean/std describe the timbre; the first difference adds its
 *                       dynamics (mean dx: the window's trend, e.g. a decay; std dx: how fast it
 *                       changes). Needs W >= n_fft.
 *   "torchscript:FILE"  any TorchScript embedding model (VGGish, PANNs, CLAP ...) loaded with
 *                       torch::jit::load onto the default device. Contract: forward takes windows
 *                       [B, W] float32 (mono waveform in [-1, 1] at sample_rate) and returns
 *                       [B, D], or [B, ..., D], which is mean-pooled over the middle dims (e.g.
 *                       per-frame outputs [B, T, D]). It runs under no-grad in eval mode, `batch`
 *                       windows per call. Opening runs it once on a silent window to check the
 *                       contract and learn D. Any other output (a tuple, a rank-1 tensor, another
 *                       batch size, a D that changes) or a non-finite embedding is an error that
 *                       names FILE. Wrapping an existing PyTorch model to this contract:
 *
 *     import torch
 *     class Embed(torch.nn.Module):              # the contract: [B, samples] float32 -> [B, D]
 *         def __init__(self, model):
 *             super().__init__()
 *             self.model = model                 # e.g. PANNs' Cnn14, which returns a dict
 *         def forward(self, wav: torch.Tensor) -> torch.Tensor:
 *             out = self.model(wav)              # wav: mono in [-1, 1] at eval.embed.sample_rate
 *             return out["embedding"]            # [B, D] ([B, T, D] is mean-pooled over T)
 *     m = torch.jit.script(Embed(my_model).eval())
 *     # or: torch.jit.trace(Embed(my_model).eval(), torch.zeros(2, 16000), strict=False)
 *     m.save("embed.pt")                         # spec: torchscript:embed.pt
 *
 *   ("tagger", the toolkit's own audio classifier, is not here yet.)
 *
 * Errors: -1/NULL with vr_error() naming the backbone, the file and what was expected.
 */
#ifndef VR_EMBED_H
#define VR_EMBED_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_embed_opts {
    int sample_rate;  /* backbone input rate in Hz (default 16000; mel: sample_rate/50 must be whole) */
    double window_s;  /* window length in seconds (default 1.0) */
    double hop_s;     /* hop between window starts in seconds (default 0.5) */
    int batch;        /* windows per forward call (default 32) */
    int n_mels;       /* mel backbone: bands (default 64) */
} vr_embed_opts;

typedef struct vr_embedder vr_embedder;

void vr_embed_opts_default(vr_embed_opts *o);

/* spec: "mel" or "torchscript:FILE"; o NULL means the defaults. */
vr_embedder *vr_embedder_open(const char *spec, const vr_embed_opts *o);
void vr_embedder_free(vr_embedder *e);  /* NULL is fine */
int vr_embedder_dim(const vr_embedder *e);
const char *vr_embedder_spec(const vr_embedder *e);  /* as opened, e.g. "torchscript:vggish.pt" */
const vr_embed_opts *vr_embedder_opts(const vr_embedder *e);

/* wav: interleaved [n_samples][channels] float samples at sample_rate (1000-1000000 Hz).
 * On success *emb (malloc'd, caller frees) holds [*n_windows][*dim] and 0 is returned. */
int vr_embed_audio(vr_embedder *e, const float *wav, int64_t n_samples, int sample_rate, int channels, double **emb,
                   int *n_windows, int *dim);

/* The same for a whole media file (any FFmpeg-readable audio or video with an audio stream),
 * decoded with data/media.h straight to mono at the backbone rate; errors name the file. */
int vr_embed_file(vr_embedder *e, const char *path, double **emb, int *n_windows, int *dim);

#ifdef __cplusplus
}
#endif
#endif
