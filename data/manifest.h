/* manifest.h — JSONL clip manifests, their SHA-256, UTF-8 validation, and the folder adapter.
 *
 * A manifest has one JSON object a line (blank lines and lines starting with '#' are skipped):
 *   {"id": "beach_0", "video": "clips/beach.mp4", "text": "warm strings, slow arpeggios",
 *    "music": "music/beach.flac", "start": 0, "end": 10, "labels": {"tempo": 92},
 *    "features": "clip/beach.npy"}
 * required: id (non-empty string, unique), video (path), text (UTF-8 string, may be "");
 * optional: music (path; without it the video's own soundtrack is the target), start/end (seconds,
 * 0 <= start < end; absent: the whole file), labels (a JSON object, kept as its JSON text),
 * features (an external per-frame feature file, .npy or .h5/.hdf5). Any other key is an error
 * (a typo such as "musc" would otherwise silently change the target); extra metadata belongs in
 * "labels". Relative paths are resolved against the manifest's directory.
 *
 * A bad line does not fail the whole manifest: its entry is kept with `error` set, e.g.
 *   "data/manifest.jsonl:17: 'end' must be a number greater than 'start' (5)"
 * so the builder can skip that clip and say why. A missing or unreadable manifest is fatal.
 */
#ifndef VR_MANIFEST_H
#define VR_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_manifest_entry {
    int line;            /* 1-based line in the manifest */
    char *id;            /* NULL only when the line has no usable id */
    char *video, *music; /* resolved paths; music NULL when absent */
    char *text;
    double start, end;   /* seconds; end < 0: to the end of the media (start defaults to 0) */
    char *labels_json;   /* compact JSON object text, "{}" when absent */
    char *features;      /* resolved path or NULL */
    char *error;         /* NULL when the line is good; else "path:line: what is wrong" */
} vr_manifest_entry;

typedef struct vr_manifest {
    char *path;
    char sha256[65];     /* of the file's bytes, lowercase hex */
    int n, n_bad;        /* entries (good and bad), bad ones among them */
    vr_manifest_entry *entries;
} vr_manifest;

vr_manifest *vr_manifest_load(const char *path);
void vr_manifest_free(vr_manifest *m); /* NULL is fine */

/* SHA-256 of a file's bytes as 64 lowercase hex digits + NUL. Returns 0 or -1 with vr_error(). */
int vr_manifest_hash(const char *path, char out[65]);

/* SHA-256 (FIPS 180-4), incremental. */
typedef struct vr_sha256_ctx {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} vr_sha256_ctx;
void vr_sha256_init(vr_sha256_ctx *c);
void vr_sha256_update(vr_sha256_ctx *c, const void *data, size_t n);
void vr_sha256_final(vr_sha256_ctx *c, uint8_t digest[32]);
void vr_sha256_hex(const void *data, size_t n, char out[65]);

/* Strict UTF-8: 1 if s[0..n) is valid (no overlong forms, no surrogates, nothing above U+10FFFF). */
int vr_utf8_valid(const char *s, size_t n);

/* Duration probe: seconds, or a negative value with vr_error() set. The media code (data/media.c)
 * defines vr_media_duration_probe over FFmpeg; tests pass their own. */
typedef double (*vr_duration_probe_fn)(const char *path, void *ctx);
extern double vr_media_duration_probe(const char *path, void *ctx);

/* Folder adapter: every *.mp4/mkv/webm/mov/avi/mpg under `folder` (recursive, sorted by relative
 * path, hidden entries skipped) becomes clips [k*stride, k*stride + window] that fit inside its
 * duration, with ids "<relative stem>_<k>" (for "a/b.mp4": "a/b_0", "a/b_1", ...) and the caption
 * from the same-stem .txt file ("" without one). Videos that cannot be probed, are shorter than
 * the window, have a non-UTF-8 caption or repeat a stem are skipped with a warning. Paths are
 * written relative to out_path's directory when the folder is inside it, else absolute. Writes
 * out_path atomically; returns the number of clips, or -1 with vr_error(). */
int vr_manifest_from_folder(const char *folder, const char *out_path, double window_s, double stride_s,
                            vr_duration_probe_fn probe_duration, void *ctx);

/* `vrobin data manifest <folder> -o out.jsonl [--window 10] [--stride 10]` (argv[0] = "manifest"). */
int vr_cmd_data_manifest(int argc, char **argv);

/* The intent test's manifest (data/swap_prompts.c): every clip of in_path keeps its video and takes
 * the caption and prompt-side labels (instrument, programs, pattern, register, drums) of the
 * shift-th next clip naming another instrument; paths written absolute, out_path atomically.
 * Returns the number of clips, or -1 with vr_error() (bad line, no "instrument" label, < 2 clips). */
int vr_swap_prompts(const char *in_path, const char *out_path, int shift);
/* `vrobin data swap-prompts IN.jsonl -o OUT.jsonl [--shift K]` (argv[0] = "swap-prompts"). */
int vr_cmd_data_swap_prompts(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
