/* loader.h — training batches from shards, shuffled, split across ranks, read ahead on a thread.
 *
 * Order: an epoch is one permutation of all clips of all shards (global index = shards in the
 * order given, clips in file order), drawn with vr_rng seeded from (seed, epoch). The global batch
 * at position p of an epoch is perm[p*G .. (p+1)*G) with G = batch_size * world_size; rank r takes
 * the contiguous block [r*B, (r+1)*B) of it. So ranks see disjoint clips, and the union of all
 * ranks' batches at a step is exactly the batch one rank with batch_size G would get: N ranks and
 * 1 rank follow the same trajectory. With drop_last (the default) the tail that cannot fill a
 * global batch is dropped; without, the last global batch is filled up from the start of the same
 * permutation. Epochs advance automatically.
 *
 * State: (seed, epoch, position) of the next batch; vr_loader_set_state() on a fresh loader (any
 * world size with the same global batch) continues with exactly the same batches.
 *
 * Threads: one prefetch thread reads `prefetch` batches ahead into a ring; every HDF5 call goes
 * through the shard module's lock (see shard.h), so this works with a non-thread-safe HDF5 too.
 * An error on the thread (a damaged clip, a vanished file) is returned by the vr_loader_next call
 * that would have returned that batch, naming the shard and clip. vr_loader_close() stops and
 * joins the thread at any point.
 */
#ifndef VR_LOADER_H
#define VR_LOADER_H

#include <stdint.h>

#include "data/shard.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_loader_opts {
    int batch_size;      /* clips per rank per step */
    int rank, world_size;
    uint64_t seed;
    int drop_last;       /* 1 (default): drop the tail that cannot fill a global batch */
    int prefetch;        /* batches read ahead (default 2) */
    int frames;          /* also load frames (every shard must have them); default 0 */
    int max_text;        /* caption bytes per clip in a batch (default 256); longer ones are cut at a
                            character boundary */
} vr_loader_opts;

void vr_loader_opts_default(vr_loader_opts *o);

/* One rank's batch. Pointers belong to the loader, valid until the next vr_loader_next,
 * vr_loader_set_state or vr_loader_close. */
typedef struct vr_batch {
    int B, T, D, Tv, Dv, H, W, max_text;
    float *audio;        /* [B][T][D] as stored: with info->normalised 0, normalise with vr_loader_norm_* */
    float *video;        /* [B][Tv][Dv] */
    uint8_t *frames;     /* [B][Tv][H][W][3], NULL unless opts.frames */
    uint8_t *text;       /* [B][max_text] UTF-8, zero padded */
    int *text_len;       /* [B] bytes used in each text row */
    int64_t *clip;       /* [B] global clip indices */
    const char **id;     /* [B] clip ids, for diagnostics (e.g. a NaN loss) */
    const char **labels_json; /* [B] each clip's labels object as compact JSON ("{}" when none) */
    int64_t epoch, position; /* where this batch is in the order */
} vr_batch;

/* Everything needed to continue the order; n_clips and global_batch guard against resuming on
 * different data or a different global batch. */
typedef struct vr_loader_state {
    uint64_t seed;
    int64_t epoch, position; /* of the next batch */
    int64_t n_clips, global_batch;
} vr_loader_state;

typedef struct vr_loader vr_loader;

/* Opens and checks every shard (same shapes, rates, latent kind, normalisation and feature names)
 * and starts the prefetch thread. */
vr_loader *vr_loader_open(char **shard_paths, int n_shards, const vr_loader_opts *o);
/* 0 with *b filled, or -1 with vr_error(). */
int vr_loader_next(vr_loader *l, vr_batch *b);
void vr_loader_get_state(const vr_loader *l, vr_loader_state *st);
int vr_loader_set_state(vr_loader *l, const vr_loader_state *st);
/* Seconds vr_loader_next has spent waiting for the prefetch thread, in total. */
double vr_loader_wait_seconds(const vr_loader *l);
int64_t vr_loader_n_clips(const vr_loader *l);
int64_t vr_loader_batches_per_epoch(const vr_loader *l);
/* The first shard's description (shapes, rates, latent kind; n_clips is that shard's) and the
 * normalisation shared by all shards. */
const vr_shard_info *vr_loader_info(const vr_loader *l);
const float *vr_loader_norm_mean(const vr_loader *l);
const float *vr_loader_norm_std(const vr_loader *l);
void vr_loader_close(vr_loader *l); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
