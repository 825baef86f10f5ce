/* bench_data.c — throughput of the data path, printed as Markdown (results/bench/data.md).
 *
 * Usage: bench_data MANIFEST.jsonl WORKDIR
 *   1. `vrobin data build` of MANIFEST with 1 and 2 jobs, with and without stored frames:
 *      clips/s of decode + video descriptors + log-mel + shard write (DESIGN goal: >= 20 clips/s
 *      of 10-s clips on 2 cores);
 *   2. shard write and read MB/s for 256 clips of [500, 64] latents, [100, 31] features and
 *      100 64x64 frames;
 *   3. loader batches/s at batch 8 (prefetch thread), against what a training step consumes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/build.h"
#include "data/loader.h"
#include "data/shard.h"

static double file_mb(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / 1e6 : 0;
}

static int build_once(const char *manifest, const char *dir, int jobs, int frames, vr_build_result *res) {
    char a[4200], b[4200], c[64], d[64];
    snprintf(a, sizeof a, "data.manifest=%s", manifest);
    snprintf(b, sizeof b, "data.out_dir=%s", dir);
    snprintf(c, sizeof c, "data.jobs=%d", jobs);
    snprintf(d, sizeof d, "data.keep_frames=%s", frames ? "true" : "false");
    char *ov[] = {a, b, c, d, "data.verify=false", "data.name=bench"};
    cfg *cf = cfg_defaults(vr_schema, 6, ov);
    if (!cf) return -1;
    int rc = vr_data_build(cf, res);
    cfg_free(cf);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MANIFEST.jsonl WORKDIR\n", argv[0]);
        return 2;
    }
    vr_log_set_level(VR_LOG_WARN);
    const char *work = argv[2];
    char dir[4096], path[4200];
    printf("| data build (decode + descriptors + log-mel + shard write) | jobs | frames stored | clips | seconds | "
           "clips/s |\n|---|---|---|---|---|---|\n");
    for (int frames = 0; frames <= 1; frames++)
        for (int jobs = 1; jobs <= 2; jobs++) {
            vr_build_result res;
            snprintf(dir, sizeof dir, "%s/build_j%d_f%d", work, jobs, frames);
            if (build_once(argv[1], dir, jobs, frames, &res)) {
                fprintf(stderr, "bench_data: %s\n", vr_error());
                return 1;
            }
            printf("| `vrobin data build` | %d | %s | %d | %.2f | %.1f |\n", jobs, frames ? "yes" : "no", res.n_ok,
                   res.seconds, res.n_ok / res.seconds);
        }

    /* shard write / read */
    enum { N = 256, T = 500, D = 64, TV = 100, DV = 31, H = 64, W = 64 };
    float *audio = malloc(sizeof(float) * T * D), *video = malloc(sizeof(float) * TV * DV);
    uint8_t *frames = malloc((size_t)TV * H * W * 3);
    vr_rng rng;
    vr_rng_seed(&rng, 1);
    for (int i = 0; i < T * D; i++) audio[i] = (float)vr_rng_normal(&rng);
    for (int i = 0; i < TV * DV; i++) video[i] = (float)vr_rng_uniform(&rng);
    for (size_t i = 0; i < (size_t)TV * H * W * 3; i++) frames[i] = (uint8_t)vr_rng_below(&rng, 256);
    printf("\n| shard I/O (%d clips, latents f16 [%d,%d], features [%d,%d]) | frames | MB on disk | seconds | MB/s |\n"
           "|---|---|---|---|---|\n", N, T, D, TV, DV);
    for (int with_frames = 0; with_frames <= 1; with_frames++) {
        snprintf(path, sizeof path, "%s/io_%d.h5", work, with_frames);
        vr_shard_spec spec = {.T = T, .D = D, .Tv = TV, .Dv = DV, .frame_h = with_frames ? H : 0,
                              .frame_w = with_frames ? W : 0, .audio_rate = 50, .video_fps = 10,
                              .sample_rate = 16000, .latent_kind = "logmel"};
        double t0 = vr_now();
        vr_shard_writer *w = vr_shard_create(path, &spec);
        for (int i = 0; w && i < N; i++) {
            char id[32];
            snprintf(id, sizeof id, "clip%d", i);
            vr_shard_clip c = {.id = id, .text = "a caption", .audio = audio, .video = video,
                               .frames = with_frames ? frames : NULL};
            if (vr_shard_append(w, &c)) {
                fprintf(stderr, "bench_data: %s\n", vr_error());
                return 1;
            }
        }
        if (!w || vr_shard_finish(w, NULL, NULL)) {
            fprintf(stderr, "bench_data: %s\n", vr_error());
            return 1;
        }
        double tw = vr_now() - t0, mb = file_mb(path);
        printf("| write | %s | %.1f | %.3f | %.0f |\n", with_frames ? "yes" : "no", mb, tw, mb / tw);
        vr_shard *s = vr_shard_open(path);
        t0 = vr_now();
        for (int i = 0; s && i < N; i++) {
            vr_shard_clip c;
            if (vr_shard_read(s, i, &c)) {
                fprintf(stderr, "bench_data: %s\n", vr_error());
                return 1;
            }
        }
        double tr = vr_now() - t0;
        vr_shard_close(s);
        printf("| read + checksum | %s | %.1f | %.3f | %.0f |\n", with_frames ? "yes" : "no", mb, tr, mb / tr);
    }

    /* loader */
    snprintf(path, sizeof path, "%s/io_0.h5", work);
    char *paths[] = {path};
    vr_loader_opts lo;
    vr_loader_opts_default(&lo);
    lo.batch_size = 8;
    vr_loader *l = vr_loader_open(paths, 1, &lo);
    if (!l) {
        fprintf(stderr, "bench_data: %s\n", vr_error());
        return 1;
    }
    vr_batch b;
    int n_batches = 300;
    double t0 = vr_now();
    for (int i = 0; i < n_batches; i++)
        if (vr_loader_next(l, &b)) {
            fprintf(stderr, "bench_data: %s\n", vr_error());
            return 1;
        }
    double dt = vr_now() - t0;
    double mb = (double)n_batches * 8 * (T * D + TV * DV) * 4 / 1e6;
    printf("\n| loader (batch 8, no frames, prefetch thread) | batches | seconds | batches/s | clips/s | MB/s of float "
           "batches |\n|---|---|---|---|---|---|\n| `vr_loader_next` | %d | %.3f | %.0f | %.0f | %.0f |\n",
           n_batches, dt, n_batches / dt, 8 * n_batches / dt, mb / dt);
    printf("\nA training step of the `small` model at batch 8 takes ~2.1 s on this machine (DESIGN.md §4), i.e. it "
           "consumes ~4 clips/s: the loader is %.0fx faster than needed.\n", 8 * n_batches / dt / 4.0);
    vr_loader_close(l);
    free(audio);
    free(video);
    free(frames);
    return 0;
}
