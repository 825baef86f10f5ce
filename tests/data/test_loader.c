/* test_loader.c — the training loader over 3 small shards: determinism, resume through saved
 * state, disjoint ranks whose union is the 1-rank batch, each clip once per epoch, epochs differ,
 * clear errors for missing, mismatched and corrupt shards; then a throughput measurement.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/loader.h"
#include "data/manifest.h"
#include "tests/check.h"

/* manifest.c (linked for its UTF-8 check) refers to the media code's duration probe; this weak
 * stand-in lets the test link whether or not the media code is in the library. */
__attribute__((weak)) double vr_media_duration_probe(const char *path, void *ctx) {
    (void)ctx;
    return vr_fail("%s: no media probe in this test", path);
}


enum { T = 16, D = 4, TV = 3, DV = 2, FH = 2, FW = 2, N_SHARDS = 3 };
static const int SHARD_CLIPS[N_SHARDS] = {7, 5, 8};
#define N_CLIPS 20

static char g_dir[256];
static char g_paths[N_SHARDS][300];
static char *g_shards[N_SHARDS];

/* Clip g (global index) carries g in its arrays, text and id, so a batch can be checked. */
static int write_shard(const char *path, int first, int n, int d, int frames) {
    static float audio[T * 8], video[TV * DV];
    static uint8_t fr[TV * FH * FW * 3];
    static const char *names[DV] = {"brightness", "motion"};
    vr_shard_spec sp = {.T = T, .D = d, .Tv = TV, .Dv = DV, .frame_h = frames ? FH : 0, .frame_w = frames ? FW : 0,
                        .audio_rate = 50, .video_fps = 10, .sample_rate = 16000, .latent_kind = "logmel",
                        .video_feat_names = names};
    vr_shard_writer *w = vr_shard_create(path, &sp);
    if (!w) return -1;
    for (int g = first; g < first + n; g++) {
        for (int k = 0; k < T * d; k++) audio[k] = (float)g + (float)k / 64.0f;
        for (int k = 0; k < TV * DV; k++) video[k] = (float)g * 10 + (float)k;
        memset(fr, g, sizeof fr);
        char id[32], text[32];
        snprintf(id, sizeof id, "clip%d", g);
        snprintf(text, sizeof text, "clip %d ♪", g);
        vr_shard_clip c = {id, text, NULL, audio, video, frames ? fr : NULL};
        if (vr_shard_append(w, &c) != 0) {
            vr_shard_abort(w);
            return -1;
        }
    }
    return vr_shard_finish(w, NULL, NULL);
}

static vr_loader *open_loader(int batch, int rank, int world, uint64_t seed) {
    vr_loader_opts o;
    vr_loader_opts_default(&o);
    o.batch_size = batch, o.rank = rank, o.world_size = world, o.seed = seed;
    return vr_loader_open(g_shards, N_SHARDS, &o);
}

/* The batch's contents match its clip indices. */
static int batch_consistent(const vr_batch *b) {
    for (int k = 0; k < b->B; k++) {
        int64_t g = b->clip[k];
        char want[32];
        snprintf(want, sizeof want, "clip %lld ♪", (long long)g);
        if (b->audio[(size_t)k * T * D] != (float)g || b->audio[(size_t)k * T * D + 5] != (float)g + 5.0f / 64.0f ||
            b->video[(size_t)k * TV * DV + 1] != (float)g * 10 + 1 || b->text_len[k] != (int)strlen(want) ||
            memcmp(b->text + (size_t)k * b->max_text, want, strlen(want)) ||
            b->text[(size_t)k * b->max_text + strlen(want)] != 0)
            return 0;
        char id[32];
        snprintf(id, sizeof id, "clip%lld", (long long)g);
        if (strcmp(b->id[k], id)) return 0;
    }
    return 1;
}

/* Clip indices of `steps` batches. */
static int run(vr_loader *l, int steps, int64_t *clips, int B) {
    for (int s = 0; s < steps; s++) {
        vr_batch b;
        if (vr_loader_next(l, &b) != 0) return -1;
        memcpy(clips + (size_t)s * B, b.clip, (size_t)B * sizeof *clips);
    }
    return 0;
}

static void test_basic(void) {
    vr_loader *l = open_loader(4, 0, 1, 7);
    CHECK(l != NULL, "open: %s", vr_error());
    if (!l) return;
    CHECK(vr_loader_n_clips(l) == N_CLIPS && vr_loader_batches_per_epoch(l) == 5, "20 clips, 5 batches per epoch");
    CHECK(vr_loader_info(l)->D == D && vr_loader_norm_std(l)[0] == 1.0f, "info and norm");
    int seen[2][N_CLIPS] = {{0}}, consistent = 1, positions = 1;
    int64_t order[2][N_CLIPS];
    for (int s = 0; s < 10; s++) {
        vr_batch b;
        if (vr_loader_next(l, &b) != 0) {
            CHECK(0, "next: %s", vr_error());
            break;
        }
        consistent &= batch_consistent(&b) && b.B == 4 && b.T == T && b.D == D && b.frames == NULL;
        positions &= b.epoch == s / 5 && b.position == s % 5;
        for (int k = 0; k < 4; k++) {
            seen[s / 5][b.clip[k]]++;
            order[s / 5][(s % 5) * 4 + k] = b.clip[k];
        }
    }
    CHECK(consistent, "batch contents match their clip indices");
    CHECK(positions, "epoch and position advance");
    int once = 1;
    for (int e = 0; e < 2; e++)
        for (int g = 0; g < N_CLIPS; g++) once &= seen[e][g] == 1;
    CHECK(once, "every clip exactly once per epoch");
    CHECK(memcmp(order[0], order[1], sizeof order[0]) != 0, "epochs have different orders");
    vr_loader_state st;
    vr_loader_get_state(l, &st);
    CHECK(st.seed == 7 && st.epoch == 2 && st.position == 0 && st.n_clips == N_CLIPS && st.global_batch == 4,
          "state after 2 epochs: epoch %lld position %lld", (long long)st.epoch, (long long)st.position);
    CHECK(vr_loader_wait_seconds(l) >= 0, "wait time");
    vr_loader_close(l);
}

static void test_determinism_and_resume(void) {
    enum { B = 3, STEPS = 15, CUT = 7 };
    int64_t ref[STEPS * B], again[STEPS * B], other[STEPS * B], resumed[STEPS * B];
    vr_loader *l = open_loader(B, 0, 1, 42);
    CHECK(l && run(l, STEPS, ref, B) == 0, "reference run: %s", vr_error());
    vr_loader_close(l);
    l = open_loader(B, 0, 1, 42);
    CHECK(l && run(l, STEPS, again, B) == 0 && !memcmp(ref, again, sizeof ref), "same seed, same batches");
    vr_loader_close(l);
    l = open_loader(B, 0, 1, 43);
    CHECK(l && run(l, STEPS, other, B) == 0 && memcmp(ref, other, sizeof ref), "another seed, other batches");
    vr_loader_close(l);

    /* run CUT steps, save the state, close; a new loader restores it and continues identically
     * (CUT = 7 lands inside the second epoch: 6 batches per epoch) */
    vr_loader_state st;
    l = open_loader(B, 0, 1, 42);
    CHECK(l && run(l, CUT, resumed, B) == 0, "first part");
    if (l) vr_loader_get_state(l, &st);
    vr_loader_close(l);
    CHECK(st.epoch == 1 && st.position == 1, "state epoch %lld position %lld", (long long)st.epoch,
          (long long)st.position);
    l = open_loader(B, 0, 1, 999); /* the state's seed wins */
    CHECK(l && vr_loader_set_state(l, &st) == 0 && run(l, STEPS - CUT, resumed + CUT * B, B) == 0, "resume: %s",
          vr_error());
    CHECK(!memcmp(ref, resumed, sizeof ref), "resumed run sees exactly the same batches");
    /* set_state on a loader that is already reading ahead */
    vr_loader_state back = st;
    CHECK(l && vr_loader_set_state(l, &back) == 0 && run(l, STEPS - CUT, again, B) == 0 &&
              !memcmp(again, ref + CUT * B, (size_t)(STEPS - CUT) * B * sizeof *ref),
          "set_state while prefetching rewinds exactly");
    vr_loader_state wrong = st;
    wrong.n_clips = 21;
    CHECK(l && vr_loader_set_state(l, &wrong) == -1 && strstr(vr_error(), "21 clips"), "state for other data: %s",
          vr_error());
    wrong = st;
    wrong.position = 6;
    CHECK(l && vr_loader_set_state(l, &wrong) == -1 && strstr(vr_error(), "bad saved state"), "bad position: %s",
          vr_error());
    vr_loader_close(l);
}

static void test_ranks(void) {
    /* B 3 x 2 ranks: 3 global batches per epoch, 2 clips dropped each epoch */
    enum { B = 3, W = 2, STEPS = 7 };
    int64_t r0[STEPS * B], r1[STEPS * B], one[STEPS * B * W];
    vr_loader *a = open_loader(B, 0, W, 5), *b = open_loader(B, 1, W, 5), *c = open_loader(B * W, 0, 1, 5);
    CHECK(a && b && c, "open ranks: %s", vr_error());
    if (a && b && c) {
        CHECK(run(a, STEPS, r0, B) == 0 && run(b, STEPS, r1, B) == 0 && run(c, STEPS, one, B * W) == 0, "runs");
        int unions = 1, disjoint = 1;
        for (int s = 0; s < STEPS; s++) {
            unions &= !memcmp(r0 + s * B, one + s * B * W, B * sizeof *r0) &&
                      !memcmp(r1 + s * B, one + s * B * W + B, B * sizeof *r1);
            for (int i = 0; i < B; i++)
                for (int j = 0; j < B; j++) disjoint &= r0[s * B + i] != r1[s * B + j];
        }
        CHECK(unions, "rank 0 then rank 1 is the 1-rank batch of size 2B at every step");
        CHECK(disjoint, "ranks get disjoint clips");
        int seen[N_CLIPS] = {0}, at_most_once = 1, n_seen = 0;
        for (int s = 0; s < 3; s++)
            for (int k = 0; k < B; k++) seen[r0[s * B + k]]++, seen[r1[s * B + k]]++;
        for (int g = 0; g < N_CLIPS; g++) at_most_once &= seen[g] <= 1, n_seen += seen[g] == 1;
        CHECK(at_most_once && n_seen == 18, "one epoch over both ranks: 18 distinct clips, the tail of 2 dropped");
        /* resume on 2 ranks from the 1-rank state: the global batch is the same */
        vr_loader_state st;
        vr_loader_get_state(c, &st);
        vr_loader_close(a);
        a = open_loader(B, 0, W, 0);
        int64_t next1[B * W], next0[B];
        CHECK(a && vr_loader_set_state(a, &st) == 0 && run(a, 1, next0, B) == 0 && run(c, 1, next1, B * W) == 0 &&
                  !memcmp(next0, next1, sizeof next0),
              "1-rank state resumes on 2 ranks");
    }
    vr_loader_close(a);
    vr_loader_close(b);
    vr_loader_close(c);

    /* a divisible case: B 5 x 2 ranks cover every clip exactly once per epoch */
    a = open_loader(5, 0, 2, 11);
    b = open_loader(5, 1, 2, 11);
    int64_t x[4 * 5], y[4 * 5];
    CHECK(a && b && run(a, 4, x, 5) == 0 && run(b, 4, y, 5) == 0, "runs");
    int seen[2][N_CLIPS] = {{0}}, ok = 1;
    for (int s = 0; s < 4; s++)
        for (int k = 0; k < 5; k++) seen[s / 2][x[s * 5 + k]]++, seen[s / 2][y[s * 5 + k]]++;
    for (int e = 0; e < 2; e++)
        for (int g = 0; g < N_CLIPS; g++) ok &= seen[e][g] == 1;
    CHECK(ok, "every clip exactly once per global epoch across 2 ranks");
    vr_loader_close(a);
    vr_loader_close(b);
}

static void test_options(void) {
    vr_loader_opts o;
    vr_loader_opts_default(&o);
    o.batch_size = 8;
    o.drop_last = 0;
    o.max_text = 8;
    o.seed = 3;
    vr_loader *l = vr_loader_open(g_shards, N_SHARDS, &o);
    CHECK(l && vr_loader_batches_per_epoch(l) == 3, "drop_last 0: 3 batches for 20 clips");
    int64_t clips[3 * 8];
    int text_ok = 1;
    for (int s = 0; l && s < 3; s++) {
        vr_batch b;
        if (vr_loader_next(l, &b) != 0) break;
        memcpy(clips + s * 8, b.clip, sizeof b.clip[0] * 8);
        for (int k = 0; k < 8; k++) {
            /* "clip 3 ♪" is 10 bytes: cut before the note (7); "clip 13 ♪" keeps "clip 13 " (8) */
            int want = b.clip[k] < 10 ? 7 : 8;
            text_ok &= b.text_len[k] == want && vr_utf8_valid((const char *)b.text + k * 8, (size_t)b.text_len[k]);
        }
    }
    CHECK(text_ok, "long captions are cut at a character boundary");
    CHECK(!memcmp(clips + 20, clips, 4 * sizeof *clips), "the last batch is filled up from the start of the epoch");
    vr_loader_close(l);

    o.drop_last = 1;
    o.batch_size = 21;
    CHECK(vr_loader_open(g_shards, N_SHARDS, &o) == NULL && strstr(vr_error(), "cannot fill one global batch of 21"),
          "too few clips: %s", vr_error());
    o.batch_size = 2;
    o.rank = 2;
    o.world_size = 2;
    CHECK(vr_loader_open(g_shards, N_SHARDS, &o) == NULL && strstr(vr_error(), "bad options"), "rank >= world: %s",
          vr_error());
    o.rank = 0;
    o.world_size = 1;
    o.frames = 1;
    CHECK(vr_loader_open(g_shards, N_SHARDS, &o) == NULL && strstr(vr_error(), "has no frames"), "no frames: %s",
          vr_error());

    /* frames, from shards that have them */
    char fpath[2][300];
    char *fshards[2] = {fpath[0], fpath[1]};
    snprintf(fpath[0], sizeof fpath[0], "%s/f0.h5", g_dir);
    snprintf(fpath[1], sizeof fpath[1], "%s/f1.h5", g_dir);
    CHECK(write_shard(fpath[0], 0, 3, D, 1) == 0 && write_shard(fpath[1], 3, 3, D, 1) == 0, "frames shards");
    l = vr_loader_open(fshards, 2, &o);
    vr_batch b;
    CHECK(l && vr_loader_next(l, &b) == 0 && b.frames && b.H == FH && b.W == FW &&
              b.frames[0] == (uint8_t)b.clip[0] && b.frames[TV * FH * FW * 3 + 5] == (uint8_t)b.clip[1],
          "frames arrive: %s", vr_error());
    vr_loader_close(l);
}

/* File offset of clip i's audio chunk. */
static long audio_chunk_offset(const char *path, int i) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, "audio_latent", H5P_DEFAULT);
    hsize_t coord[3] = {(hsize_t)i, 0, 0}, size = 0;
    haddr_t addr = HADDR_UNDEF;
    unsigned mask = 0;
    if (d >= 0) H5Dget_chunk_info_by_coord(d, coord, &mask, &addr, &size);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return addr == HADDR_UNDEF ? -1 : (long)addr;
}

static void test_errors(void) {
    char missing[300], other[300], bad[300];
    snprintf(missing, sizeof missing, "%s/missing.h5", g_dir);
    char *with_missing[3] = {g_shards[0], missing, g_shards[2]};
    vr_loader_opts o;
    vr_loader_opts_default(&o);
    o.batch_size = 2;
    CHECK(vr_loader_open(with_missing, 3, &o) == NULL && strstr(vr_error(), "shard 2 of 3") &&
              strstr(vr_error(), "missing.h5"),
          "missing shard: %s", vr_error());

    snprintf(other, sizeof other, "%s/other_d.h5", g_dir);
    CHECK(write_shard(other, 100, 4, D + 1, 0) == 0, "write a shard with another D");
    char *mixed[2] = {g_shards[0], other};
    CHECK(vr_loader_open(mixed, 2, &o) == NULL && strstr(vr_error(), "other_d.h5") && strstr(vr_error(), "s0.h5"),
          "mismatched shapes: %s", vr_error());

    /* a flipped byte in one clip: open works, the batch holding that clip fails with its name */
    snprintf(bad, sizeof bad, "%s/corrupt.h5", g_dir);
    CHECK(write_shard(bad, 0, 6, D, 0) == 0, "write");
    long off = audio_chunk_offset(bad, 4);
    FILE *fp = fopen(bad, "r+b");
    CHECK(off > 0 && fp && fseek(fp, off + 9, SEEK_SET) == 0 && fputc(0x77, fp) != EOF, "corrupt clip 4");
    if (fp) fclose(fp);
    char *one[1] = {bad};
    vr_loader *l = vr_loader_open(one, 1, &o);
    CHECK(l != NULL, "a corrupt clip does not stop open: %s", vr_error());
    int failed_at = -1;
    for (int s = 0; l && s < 6; s++) {
        vr_batch b;
        if (vr_loader_next(l, &b) != 0) {
            failed_at = s;
            break;
        }
        for (int k = 0; k < b.B; k++) CHECK(b.clip[k] != 4, "the corrupt clip is never delivered");
    }
    CHECK(failed_at >= 0 && failed_at < 3 && strstr(vr_error(), "corrupt.h5: clip 4 ('clip4'): checksum mismatch") &&
              strstr(vr_error(), "loader, epoch 0 step"),
          "error names shard and clip (step %d): %s", failed_at, vr_error());
    vr_batch b;
    CHECK(l && vr_loader_next(l, &b) == -1 && strstr(vr_error(), "checksum mismatch"), "the error persists");
    vr_loader_close(l);

    /* closing while the thread waits on a full ring, or mid-epoch, does not hang */
    o.prefetch = 4;
    l = vr_loader_open(g_shards, N_SHARDS, &o);
    CHECK(l && vr_loader_next(l, &b) == 0, "one batch");
    usleep(20000);
    vr_loader_close(l);
    l = vr_loader_open(g_shards, N_SHARDS, &o);
    vr_loader_close(l); /* before any batch */
    CHECK(1, "close at any point");
}

/* Throughput for batch 8 of [500,64] latents + [100,30] video features (printed, not asserted). */
static void measure_throughput(void) {
    enum { BT = 500, BD = 64, BTV = 100, BDV = 30, CLIPS = 64, B = 8, BATCHES = 200 };
    char path[300];
    snprintf(path, sizeof path, "%s/bench.h5", g_dir);
    vr_shard_spec sp = {.T = BT, .D = BD, .Tv = BTV, .Dv = BDV, .audio_rate = 50, .video_fps = 10,
                        .sample_rate = 16000, .latent_kind = "logmel", .normalised = 1};
    float *audio = malloc(sizeof(float) * BT * BD), *video = malloc(sizeof(float) * BTV * BDV);
    vr_rng r;
    vr_rng_seed(&r, 1);
    double t0 = vr_now();
    vr_shard_writer *w = vr_shard_create(path, &sp);
    for (int i = 0; w && i < CLIPS; i++) {
        for (int k = 0; k < BT * BD; k++) audio[k] = (float)vr_rng_normal(&r);
        for (int k = 0; k < BTV * BDV; k++) video[k] = (float)vr_rng_uniform(&r);
        char id[16];
        snprintf(id, sizeof id, "b%d", i);
        vr_shard_clip c = {id, "a caption of some length, as a user would write it", NULL, audio, video, NULL};
        if (vr_shard_append(w, &c) != 0) break;
    }
    int ok = w && vr_shard_finish(w, NULL, NULL) == 0;
    double t_write = vr_now() - t0;
    free(audio);
    free(video);
    CHECK(ok, "bench shard: %s", vr_error());
    if (!ok) return;
    char *paths[1] = {path};
    vr_loader_opts o;
    vr_loader_opts_default(&o);
    o.batch_size = B;
    vr_loader *l = vr_loader_open(paths, 1, &o);
    vr_batch b;
    t0 = vr_now();
    int n = 0;
    while (l && n < BATCHES && vr_loader_next(l, &b) == 0) n++;
    double dt = vr_now() - t0;
    CHECK(n == BATCHES, "bench batches: %s", vr_error());
    double mb = (double)n * B * (BT * BD + BTV * BDV) * sizeof(float) / 1e6;
    printf("loader throughput: batch %d of audio [%d,%d] + video [%d,%d]: %.0f batches/s, %.0f MB/s of float32 "
           "batches (%.0f clips/s); shard write %.0f clips/s\n",
           B, BT, BD, BTV, BDV, n / dt, mb / dt, n * B / dt, CLIPS / t_write);
    /* with a (simulated, sleeping) 5 ms training step the prefetch thread should hide the reads */
    double w0 = l ? vr_loader_wait_seconds(l) : 0;
    t0 = vr_now();
    for (n = 0; l && n < 40 && vr_loader_next(l, &b) == 0; n++) usleep(5000);
    dt = vr_now() - t0;
    printf("loader with a 5 ms step: data wait %.1f%% of the time\n",
           l ? 100 * (vr_loader_wait_seconds(l) - w0) / dt : 0);
    vr_loader_close(l);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s/vrobin_test_loader_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int first = 0;
    for (int s = 0; s < N_SHARDS; s++) {
        snprintf(g_paths[s], sizeof g_paths[s], "%s/s%d.h5", g_dir, s);
        g_shards[s] = g_paths[s];
        CHECK(write_shard(g_paths[s], first, SHARD_CLIPS[s], D, 0) == 0, "write shard %d: %s", s, vr_error());
        first += SHARD_CLIPS[s];
    }
    test_basic();
    test_determinism_and_resume();
    test_ranks();
    test_options();
    test_errors();
    measure_throughput();
    remove_tree(g_dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
