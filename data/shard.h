/* shard.h — HDF5 shards: N fixed-length clips in one file (schema: data/SCHEMA.md).
 *
 * Writing: vr_shard_create() opens "<path>.tmp.<pid>", vr_shard_append() adds one clip (audio is
 * stored as float16, converted here with round-to-nearest-even), vr_shard_finish() writes the
 * normalisation and n_clips, flushes, fsyncs and renames into place; vr_shard_abort() deletes the
 * temp file. So a shard under its final name is always complete.
 *
 * Reading: vr_shard_open() validates the version, attributes and every dataset's type and shape;
 * vr_shard_read() reads one clip (one chunk per array) and checks its CRC32 checksum.
 * vr_shard_verify() checks a whole file; vr_shard_print_summary() is `vrobin inspect` for shards.
 *
 * Threads: every function here takes one process-wide mutex around its HDF5 calls, so shards may
 * be used from several threads (the loader reads on its prefetch thread) even with an HDF5 that is
 * not built thread-safe. Code that calls HDF5 directly while a loader runs needs a thread-safe
 * HDF5 (Debian's is: H5is_library_threadsafe).
 *
 * Errors: -1/NULL with vr_error() naming the file (and clip), e.g.
 *   "x.h5: format_version 2 is newer than this vrobin (1)"
 *   "x.h5: clip 7 ('beach_3'): checksum mismatch (stored 0x1a2b3c4d, computed 0x9e8f7a6b)"
 */
#ifndef VR_SHARD_H
#define VR_SHARD_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VR_SHARD_FORMAT_VERSION 1

/* What a shard holds; the same for every clip in it. */
typedef struct vr_shard_spec {
    int T, D;                 /* audio latent frames per clip, dims per frame */
    int Tv, Dv;               /* video feature frames per clip, dims per frame */
    int frame_h, frame_w;     /* stored RGB frames [Tv][H][W][3]; 0 = no frames */
    double audio_rate;        /* latent frames per second */
    double video_fps;         /* video frames per second (of video_feat and frames) */
    int sample_rate;          /* of the audio the latents were computed from */
    const char *latent_kind;  /* "logmel" or "external" */
    int normalised;           /* 1: latents stored as (x - mean) / std; 0: raw (see vr_shard_finish) */
    const char *manifest_sha256;       /* 64 hex digits of the source manifest, or NULL */
    const char *builder_config;        /* JSON text of the builder's settings, or NULL ("{}") */
    const char *const *video_feat_names; /* Dv names of the video_feat dims; NULL: "f0", "f1", ... */
} vr_shard_spec;

/* One clip. Writing: inputs (frames only when the spec has frames). Reading: the pointers point
 * into the vr_shard handle, valid until the next read or close; frames is NULL when the shard has
 * none or they were skipped. */
typedef struct vr_shard_clip {
    const char *id, *text, *labels_json; /* labels_json: a JSON object, NULL when writing = "{}" */
    const float *audio;                  /* [T][D] */
    const float *video;                  /* [Tv][Dv] */
    const uint8_t *frames;               /* [Tv][H][W][3] RGB */
} vr_shard_clip;

/* ---- writing ---- */
typedef struct vr_shard_writer vr_shard_writer;

vr_shard_writer *vr_shard_create(const char *path, const vr_shard_spec *spec);
int vr_shard_append(vr_shard_writer *w, const vr_shard_clip *c);
int64_t vr_shard_writer_count(const vr_shard_writer *w);
/* mean/std [D]: per-dim latent statistics, stored as norm/audio_mean and norm/audio_std — with
 * normalised = 1 the ones the latents were normalised with, with 0 the ones to normalise them with
 * (NULL: 0 and 1). std must be positive. Frees w, and on failure removes the temp file. */
int vr_shard_finish(vr_shard_writer *w, const float *mean, const float *std);
void vr_shard_abort(vr_shard_writer *w); /* frees w; NULL is fine */

/* ---- reading ---- */
typedef struct vr_shard_info {
    int64_t n_clips;
    int T, D, Tv, Dv, frame_h, frame_w; /* frame_h = frame_w = 0 without frames */
    double audio_rate, video_fps;
    int sample_rate, normalised, format_version;
    char latent_kind[16];
    char manifest_sha256[65];
    char vrobin_version[64];
    char created_utc[32];
} vr_shard_info;

typedef struct vr_shard vr_shard;

vr_shard *vr_shard_open(const char *path);
void vr_shard_close(vr_shard *s); /* NULL is fine */
const vr_shard_info *vr_shard_get_info(const vr_shard *s);
const char *vr_shard_path(const vr_shard *s);
const float *vr_shard_norm_mean(const vr_shard *s); /* [D] */
const float *vr_shard_norm_std(const vr_shard *s);  /* [D] */
const char *vr_shard_builder_config(const vr_shard *s);
const char *vr_shard_video_feat_name(const vr_shard *s, int dim); /* dim in [0, Dv) */

/* Read clip i and check its checksums. */
int vr_shard_read(vr_shard *s, int64_t i, vr_shard_clip *out);
/* Same, without the frames (they are the bulk of a shard): the clip's `checksum` is still checked,
 * `frames_checksum` is not. */
int vr_shard_read_no_frames(vr_shard *s, int64_t i, vr_shard_clip *out);

/* Check the schema and every clip: checksums, UTF-8 strings, valid labels JSON, finite values,
 * unique ids. Calls report(msg, ctx) once per problem (NULL: print to stderr). Returns the number
 * of bad clips, or -1 when the file cannot be checked at all (vr_error() says why). */
int vr_shard_verify(const char *path, void (*report)(const char *msg, void *ctx), void *ctx);

/* Attributes, shapes, bytes on disk, value ranges over a sample of clips, label keys. */
int vr_shard_print_summary(const char *path, FILE *out);

/* `vrobin data verify <shard.h5>...`: exit 0 when all are good, 1 otherwise, 2 on usage errors. */
int vr_cmd_data_verify(int argc, char **argv);

/* ---- helpers, exposed for tests and other writers ---- */
/* IEEE binary16 <-> binary32: round to nearest even, overflow to inf, subnormals, NaN kept quiet. */
uint16_t vr_f32_to_f16(float f);
float vr_f16_to_f32(uint16_t h);
/* CRC-32 (IEEE 802.3, the zlib/PNG one: reflected 0xEDB88320, init and final xor 0xFFFFFFFF).
 * Chain: crc = vr_crc32(vr_crc32(0, a, na), b, nb) == CRC of a||b. */
uint32_t vr_crc32(uint32_t crc, const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
