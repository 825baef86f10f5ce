/* loader.c — see loader.h. */
#define _GNU_SOURCE
#include "data/loader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"

typedef struct slot {
    vr_batch b;
    char **ids;    /* owned copies behind b.id */
    char **labels; /* and behind b.labels_json */
} slot;

struct vr_loader {
    vr_loader_opts o;
    int n_shards;
    vr_shard **shards;
    int64_t *offset;          /* [n_shards + 1]: global index of each shard's first clip */
    int64_t n_clips, global_batch, per_epoch;
    int T, D, Tv, Dv, H, W;

    /* the prefetch thread and its ring of n_slots = prefetch + 1 batches (one held by the caller) */
    pthread_t thread;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_free;
    slot *slots;
    int n_slots, head, n_ready, held;
    atomic_int stop;
    int failed;
    char err[1024];

    int64_t prod_epoch, prod_pos;  /* next batch the thread fills */
    int64_t cons_epoch, cons_pos;  /* next batch vr_loader_next returns */
    uint64_t seed;
    int64_t *perm, perm_epoch;     /* the thread's permutation and its epoch */
    double wait_s;
};

void vr_loader_opts_default(vr_loader_opts *o) {
    memset(o, 0, sizeof *o);
    o->batch_size = 8;
    o->world_size = 1;
    o->drop_last = 1;
    o->prefetch = 2;
    o->max_text = 256;
}

/* ---------------------------------------------------------------- filling a batch (thread) */

static int shard_of(const vr_loader *l, int64_t g) {
    int lo = 0, hi = l->n_shards - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (l->offset[mid] <= g) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static void make_perm(vr_loader *l, int64_t epoch) {
    if (l->perm_epoch == epoch) return;
    vr_rng r;
    vr_rng_seed_stream(&r, l->seed, (uint64_t)epoch);
    for (int64_t i = 0; i < l->n_clips; i++) l->perm[i] = i;
    vr_rng_shuffle_i64(&r, l->perm, l->n_clips);
    l->perm_epoch = epoch;
}

static int fill(vr_loader *l, slot *s, int64_t epoch, int64_t pos) {
    vr_batch *b = &s->b;
    make_perm(l, epoch);
    size_t na = (size_t)l->T * l->D, nv = (size_t)l->Tv * l->Dv, nf = (size_t)l->Tv * l->H * l->W * 3;
    for (int k = 0; k < b->B; k++) {
        if (atomic_load(&l->stop)) return 1;
        int64_t g = l->perm[(pos * l->global_batch + (int64_t)l->o.rank * b->B + k) % l->n_clips];
        int si = shard_of(l, g);
        vr_shard_clip c;
        int rc = l->o.frames ? vr_shard_read(l->shards[si], g - l->offset[si], &c)
                             : vr_shard_read_no_frames(l->shards[si], g - l->offset[si], &c);
        if (rc != 0) return vr_context("loader, epoch %lld step %lld", (long long)epoch, (long long)pos);
        memcpy(b->audio + k * na, c.audio, na * sizeof(float));
        memcpy(b->video + k * nv, c.video, nv * sizeof(float));
        if (l->o.frames) memcpy(b->frames + k * nf, c.frames, nf);
        /* cut long captions at a character boundary */
        size_t len = strlen(c.text), cut = len < (size_t)b->max_text ? len : (size_t)b->max_text;
        while (cut > 0 && cut < len && ((uint8_t)c.text[cut] & 0xc0) == 0x80) cut--;
        uint8_t *row = b->text + (size_t)k * b->max_text;
        memcpy(row, c.text, cut);
        memset(row + cut, 0, (size_t)b->max_text - cut);
        b->text_len[k] = (int)cut;
        b->clip[k] = g;
        char *id = strdup(c.id), *labels = strdup(c.labels_json ? c.labels_json : "{}");
        if (!id || !labels) {
            free(id);
            free(labels);
            return vr_fail("out of memory");
        }
        free(s->ids[k]);
        free(s->labels[k]);
        s->ids[k] = id;
        s->labels[k] = labels;
        b->id[k] = id;
        b->labels_json[k] = labels;
    }
    b->epoch = epoch;
    b->position = pos;
    return 0;
}

static void *prefetch_main(void *arg) {
    vr_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!atomic_load(&l->stop)) {
        if (l->n_ready + (l->held >= 0) >= l->n_slots) {
            pthread_cond_wait(&l->cv_free, &l->mu);
            continue;
        }
        slot *s = &l->slots[(l->head + l->n_ready) % l->n_slots];
        int64_t epoch = l->prod_epoch, pos = l->prod_pos;
        pthread_mutex_unlock(&l->mu);
        int rc = fill(l, s, epoch, pos);
        pthread_mutex_lock(&l->mu);
        if (rc > 0) break; /* stopped mid-batch */
        if (rc < 0) {
            snprintf(l->err, sizeof l->err, "%s", vr_error());
            l->failed = 1;
            pthread_cond_broadcast(&l->cv_ready);
            break;
        }
        l->n_ready++;
        if (++l->prod_pos == l->per_epoch) l->prod_epoch++, l->prod_pos = 0;
        pthread_cond_broadcast(&l->cv_ready);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void stop_thread(vr_loader *l) {
    if (!l->running) return;
    pthread_mutex_lock(&l->mu);
    atomic_store(&l->stop, 1);
    pthread_cond_broadcast(&l->cv_free);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->running = 0;
}

/* (Re)start reading at the consumer's position with an empty ring. */
static int start_thread(vr_loader *l) {
    l->head = l->n_ready = 0;
    l->held = -1;
    l->failed = 0;
    l->err[0] = '\0';
    l->prod_epoch = l->cons_epoch;
    l->prod_pos = l->cons_pos;
    atomic_store(&l->stop, 0);
    int e = pthread_create(&l->thread, NULL, prefetch_main, l);
    if (e != 0) return vr_fail("loader: cannot start the prefetch thread: %s", strerror(e));
    l->running = 1;
    return 0;
}

/* ---------------------------------------------------------------- open / close */

static int alloc_slot(slot *s, const vr_loader *l) {
    vr_batch *b = &s->b;
    int B = l->o.batch_size;
    b->B = B, b->T = l->T, b->D = l->D, b->Tv = l->Tv, b->Dv = l->Dv, b->max_text = l->o.max_text;
    b->H = l->o.frames ? l->H : 0;
    b->W = l->o.frames ? l->W : 0;
    b->audio = malloc((size_t)B * l->T * l->D * sizeof(float));
    b->video = malloc((size_t)B * l->Tv * l->Dv * sizeof(float));
    b->frames = l->o.frames ? malloc((size_t)B * l->Tv * l->H * l->W * 3) : NULL;
    b->text = malloc((size_t)B * l->o.max_text);
    b->text_len = calloc((size_t)B, sizeof *b->text_len);
    b->clip = calloc((size_t)B, sizeof *b->clip);
    b->id = calloc((size_t)B, sizeof *b->id);
    b->labels_json = calloc((size_t)B, sizeof *b->labels_json);
    s->ids = calloc((size_t)B, sizeof *s->ids);
    s->labels = calloc((size_t)B, sizeof *s->labels);
    if (!b->audio || !b->video || (l->o.frames && !b->frames) || !b->text || !b->text_len || !b->clip || !b->id ||
        !b->labels_json || !s->ids || !s->labels)
        return vr_fail("loader: out of memory for batches of %d clips", B);
    return 0;
}

static void free_slot(slot *s, int B) {
    for (int k = 0; s->ids && k < B; k++) free(s->ids[k]);
    for (int k = 0; s->labels && k < B; k++) free(s->labels[k]);
    free(s->ids);
    free(s->labels);
    free(s->b.audio);
    free(s->b.video);
    free(s->b.frames);
    free(s->b.text);
    free(s->b.text_len);
    free(s->b.clip);
    free(s->b.id);
    free(s->b.labels_json);
}

/* Shard `s` must match shard 0 in everything that gives its arrays a meaning. */
static int check_compatible(const vr_loader *l, const vr_shard *s, int frames) {
    const vr_shard *f = l->shards[0];
    const vr_shard_info *a = vr_shard_get_info(f), *b = vr_shard_get_info(s);
    const char *pa = vr_shard_path(f), *pb = vr_shard_path(s);
    if (frames && !b->frame_h) return vr_fail("loader: %s has no frames, but frames were asked for", pb);
    if (a->T != b->T || a->D != b->D || a->Tv != b->Tv || a->Dv != b->Dv ||
        (frames && (a->frame_h != b->frame_h || a->frame_w != b->frame_w)))
        return vr_fail("loader: %s has clips of audio [%d,%d] video [%d,%d] frames %dx%d, but %s has audio [%d,%d] "
                       "video [%d,%d] frames %dx%d", pb, b->T, b->D, b->Tv, b->Dv, b->frame_w, b->frame_h, pa, a->T,
                       a->D, a->Tv, a->Dv, a->frame_w, a->frame_h);
    if (a->audio_rate != b->audio_rate || a->video_fps != b->video_fps || strcmp(a->latent_kind, b->latent_kind) ||
        a->normalised != b->normalised)
        return vr_fail("loader: %s (%s latents at %g/s, video %g fps, normalised %d) does not match %s (%s at %g/s, "
                       "%g fps, normalised %d)", pb, b->latent_kind, b->audio_rate, b->video_fps, b->normalised, pa,
                       a->latent_kind, a->audio_rate, a->video_fps, a->normalised);
    if (memcmp(vr_shard_norm_mean(f), vr_shard_norm_mean(s), (size_t)a->D * sizeof(float)) ||
        memcmp(vr_shard_norm_std(f), vr_shard_norm_std(s), (size_t)a->D * sizeof(float)))
        return vr_fail("loader: %s and %s store latents with different normalisation (norm/audio_mean or "
                       "audio_std differ); build the shards with one set of statistics", pb, pa);
    for (int d = 0; d < a->Dv; d++)
        if (strcmp(vr_shard_video_feat_name(f, d), vr_shard_video_feat_name(s, d)))
            return vr_fail("loader: video_feat dim %d is '%s' in %s but '%s' in %s", d,
                           vr_shard_video_feat_name(s, d), pb, vr_shard_video_feat_name(f, d), pa);
    return 0;
}

static void loader_free(vr_loader *l) {
    for (int i = 0; l->shards && i < l->n_shards; i++) vr_shard_close(l->shards[i]);
    for (int i = 0; l->slots && i < l->n_slots; i++) free_slot(&l->slots[i], l->o.batch_size);
    free(l->slots);
    free(l->shards);
    free(l->offset);
    free(l->perm);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_ready);
    pthread_cond_destroy(&l->cv_free);
    free(l);
}

static int loader_setup(vr_loader *l, char **paths, int n_shards) {
    const vr_loader_opts *o = &l->o;
    if (n_shards < 1) return vr_fail("loader: no shards given");
    if (o->batch_size < 1 || o->world_size < 1 || o->rank < 0 || o->rank >= o->world_size || o->prefetch < 1 ||
        o->max_text < 1)
        return vr_fail("loader: bad options (batch_size %d, rank %d of world_size %d, prefetch %d, max_text %d)",
                       o->batch_size, o->rank, o->world_size, o->prefetch, o->max_text);
    l->shards = calloc((size_t)n_shards, sizeof *l->shards);
    l->offset = calloc((size_t)n_shards + 1, sizeof *l->offset);
    if (!l->shards || !l->offset) return vr_fail("out of memory");
    for (int i = 0; i < n_shards; i++) {
        if (!(l->shards[i] = vr_shard_open(paths[i]))) return vr_context("loader, shard %d of %d", i + 1, n_shards);
        l->n_shards = i + 1;
        if (check_compatible(l, l->shards[i], o->frames) != 0) return -1;
        l->offset[i + 1] = l->offset[i] + vr_shard_get_info(l->shards[i])->n_clips;
    }
    const vr_shard_info *in = vr_shard_get_info(l->shards[0]);
    l->T = in->T, l->D = in->D, l->Tv = in->Tv, l->Dv = in->Dv, l->H = in->frame_h, l->W = in->frame_w;
    l->n_clips = l->offset[n_shards];
    l->global_batch = (int64_t)o->batch_size * o->world_size;
    l->per_epoch = o->drop_last ? l->n_clips / l->global_batch : (l->n_clips + l->global_batch - 1) / l->global_batch;
    if (l->per_epoch == 0)
        return vr_fail("loader: %lld clips in %d shards cannot fill one global batch of %lld (batch_size %d x "
                       "world_size %d)", (long long)l->n_clips, n_shards, (long long)l->global_batch, o->batch_size,
                       o->world_size);
    l->perm = malloc((size_t)l->n_clips * sizeof *l->perm);
    l->n_slots = o->prefetch + 1;
    l->slots = calloc((size_t)l->n_slots, sizeof *l->slots);
    if (!l->perm || !l->slots) return vr_fail("out of memory");
    for (int i = 0; i < l->n_slots; i++)
        if (alloc_slot(&l->slots[i], l) != 0) return -1;
    return start_thread(l);
}

vr_loader *vr_loader_open(char **shard_paths, int n_shards, const vr_loader_opts *o) {
    vr_loader *l = calloc(1, sizeof *l);
    if (!l) return vr_fail_null("out of memory");
    l->o = *o;
    l->seed = o->seed;
    l->perm_epoch = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_ready, NULL);
    pthread_cond_init(&l->cv_free, NULL);
    if (loader_setup(l, shard_paths, n_shards) != 0) {
        loader_free(l);
        return NULL;
    }
    return l;
}

void vr_loader_close(vr_loader *l) {
    if (!l) return;
    stop_thread(l);
    loader_free(l);
}

/* ---------------------------------------------------------------- the consumer side */

int vr_loader_next(vr_loader *l, vr_batch *b) {
    double t0 = vr_now();
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->held = -1;
        pthread_cond_signal(&l->cv_free);
    }
    while (l->n_ready == 0 && !l->failed && l->running) pthread_cond_wait(&l->cv_ready, &l->mu);
    if (l->n_ready == 0) {
        int rc = vr_fail("%s", l->failed ? l->err : "loader: the prefetch thread is not running");
        pthread_mutex_unlock(&l->mu);
        return rc;
    }
    slot *s = &l->slots[l->head];
    l->held = l->head;
    l->head = (l->head + 1) % l->n_slots;
    l->n_ready--;
    l->cons_epoch = s->b.epoch;
    l->cons_pos = s->b.position + 1;
    if (l->cons_pos == l->per_epoch) l->cons_epoch++, l->cons_pos = 0;
    pthread_mutex_unlock(&l->mu);
    *b = s->b;
    l->wait_s += vr_now() - t0;
    return 0;
}

void vr_loader_get_state(const vr_loader *l, vr_loader_state *st) {
    st->seed = l->seed;
    st->epoch = l->cons_epoch;
    st->position = l->cons_pos;
    st->n_clips = l->n_clips;
    st->global_batch = l->global_batch;
}

int vr_loader_set_state(vr_loader *l, const vr_loader_state *st) {
    if (st->n_clips != l->n_clips || st->global_batch != l->global_batch)
        return vr_fail("loader: the saved state is for %lld clips in global batches of %lld, but these shards have "
                       "%lld clips and the global batch is %lld (batch_size %d x world_size %d)",
                       (long long)st->n_clips, (long long)st->global_batch, (long long)l->n_clips,
                       (long long)l->global_batch, l->o.batch_size, l->o.world_size);
    if (st->epoch < 0 || st->position < 0 || st->position >= l->per_epoch)
        return vr_fail("loader: bad saved state (epoch %lld, position %lld of %lld batches per epoch)",
                       (long long)st->epoch, (long long)st->position, (long long)l->per_epoch);
    stop_thread(l);
    l->seed = st->seed;
    l->perm_epoch = -1;
    l->cons_epoch = st->epoch;
    l->cons_pos = st->position;
    return start_thread(l);
}

double vr_loader_wait_seconds(const vr_loader *l) { return l->wait_s; }
int64_t vr_loader_n_clips(const vr_loader *l) { return l->n_clips; }
int64_t vr_loader_batches_per_epoch(const vr_loader *l) { return l->per_epoch; }
const vr_shard_info *vr_loader_info(const vr_loader *l) { return vr_shard_get_info(l->shards[0]); }
const float *vr_loader_norm_mean(const vr_loader *l) { return vr_shard_norm_mean(l->shards[0]); }
const float *vr_loader_norm_std(const vr_loader *l) { return vr_shard_norm_std(l->shards[0]); }
