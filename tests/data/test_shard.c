/* test_shard.c — the HDF5 shard format: float16 conversion, CRC-32, write/read round trip,
 * verify catching a flipped byte, truncated and too-new files, abort and atomic rename.
 *
 * Usage: test_shard                   run the tests
 *        test_shard --write-known OUT write the shard tests/python/read_shard.py checks with h5py
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "data/shard.h"
#include "tests/check.h"

/* manifest.c (linked for its UTF-8 check) refers to the media code's duration probe; this weak
 * stand-in lets the test link whether or not the media code is in the library. */
__attribute__((weak)) double vr_media_duration_probe(const char *path, void *ctx) {
    (void)ctx;
    return vr_fail("%s: no media probe in this test", path);
}


/* ---------------------------------------------------------------- float16 */

static uint16_t f16_bits(_Float16 h) {
    uint16_t b;
    memcpy(&b, &h, 2);
    return b;
}
static _Float16 f16_from_bits(uint16_t b) {
    _Float16 h;
    memcpy(&h, &b, 2);
    return h;
}
static float f32_from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}

/* 1 if ours matches the compiler's _Float16 conversion (NaN: any NaN of the same sign). */
static int same_as_compiler(float f) {
    uint16_t ours = vr_f32_to_f16(f), ref = f16_bits((_Float16)f);
    if (isnan(f)) return (ours & 0x7c00) == 0x7c00 && (ours & 0x3ff) && (ours & 0x8000) == (ref & 0x8000);
    return ours == ref;
}

static void test_half(void) {
    /* every half: to float (same as the compiler) and back (identical, NaN payloads aside) */
    int bad_up = 0, bad_round = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vr_f16_to_f32((uint16_t)h), ref = (float)f16_from_bits((uint16_t)h);
        uint32_t fb, rb;
        memcpy(&fb, &f, 4);
        memcpy(&rb, &ref, 4);
        int is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (is_nan ? !isnan(f) : fb != rb) bad_up++;
        uint16_t back = vr_f32_to_f16(f);
        if (is_nan ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff) && (back & 0x8000) == (h & 0x8000)) : back != h)
            bad_round++;
    }
    CHECK(bad_up == 0, "half -> float differs from _Float16 for %d patterns", bad_up);
    CHECK(bad_round == 0, "half -> float -> half not identical for %d patterns", bad_round);

    /* float -> half rounding: the exact midpoints between neighbouring halves (ties to even) and
     * one float either side, over every finite half, both signs */
    int bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double lo = vr_f16_to_f32((uint16_t)h), hi = vr_f16_to_f32((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2); /* exact: a float has 13 more mantissa bits */
        float probes[5] = {(float)lo, mid, nextafterf(mid, 0), nextafterf(mid, INFINITY), (float)hi};
        for (int k = 0; k < 5; k++) bad += !same_as_compiler(probes[k]) + !same_as_compiler(-probes[k]);
    }
    CHECK(bad == 0, "float -> half at midpoints differs from _Float16 for %d values", bad);
    /* a sweep over all float bit patterns (every 997th), including subnormals, inf and NaN */
    bad = 0;
    for (uint64_t b = 0; b <= 0xffffffffu; b += 997) bad += !same_as_compiler(f32_from_bits((uint32_t)b));
    CHECK(bad == 0, "float -> half differs from _Float16 for %d of 4.3M swept floats", bad);
    CHECK(vr_f32_to_f16(65504.0f) == 0x7bff && vr_f32_to_f16(65520.0f) == 0x7c00 &&
              vr_f32_to_f16(65519.99f) == 0x7bff,
          "overflow threshold");
    CHECK(vr_f32_to_f16(0x1p-25f) == 0 && vr_f32_to_f16(0x1.000002p-25f) == 1 && vr_f32_to_f16(-0.0f) == 0x8000,
          "smallest subnormal rounding and negative zero");
}

static void test_crc(void) {
    CHECK(vr_crc32(0, "123456789", 9) == 0xcbf43926u, "CRC-32 check value: %08x", vr_crc32(0, "123456789", 9));
    CHECK(vr_crc32(0, "", 0) == 0, "CRC-32 of nothing");
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 7 + 3);
    CHECK(vr_crc32(vr_crc32(0, buf, 333), buf + 333, 667) == vr_crc32(0, buf, 1000), "CRC-32 chains");
    /* the byte-at-a-time definition, to check the slicing-by-8 tables */
    uint32_t c = 0xffffffffu;
    for (int i = 0; i < 1000; i++) {
        c ^= buf[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    CHECK(vr_crc32(0, buf, 1000) == ~c, "slicing-by-8 equals the bitwise CRC");
}

/* ---------------------------------------------------------------- a known shard */

enum { N_CLIPS = 5, T = 40, D = 8, TV = 6, DV = 5, FH = 4, FW = 6 };

/* The same formulas are in tests/python/read_shard.py. */
static float known_audio(int i, int t, int d) { return (float)(((i * 31 + t * 7 + d * 3) % 200) - 100) / 64.0f; }
static float known_video(int i, int t, int d) { return (float)i + 0.5f * (float)t + 0.25f * (float)d; }
static uint8_t known_frame(int i, int t, int y, int x, int c) { return (uint8_t)(i + t * 11 + y * 3 + x * 5 + c * 7); }
static const char *KNOWN_TEXT[N_CLIPS] = {"warm strings, slow arpeggios", "", "café ♪ 音楽 🎵",
                                          "line\nbreak \"quoted\"", "brass"};
static const char *KNOWN_LABELS[N_CLIPS] = {"{\"tempo\":92,\"key\":\"C minor\"}", NULL, "{\"tempo\":120}",
                                            "{\"instruments\":[\"piano\",\"flute\"]}", "{}"};
static const char *FEAT_NAMES[DV] = {"brightness", "saturation", "motion", "cut", "grid_0"};

static void known_spec(vr_shard_spec *sp, int frames) {
    memset(sp, 0, sizeof *sp);
    sp->T = T, sp->D = D, sp->Tv = TV, sp->Dv = DV;
    sp->frame_h = frames ? FH : 0, sp->frame_w = frames ? FW : 0;
    sp->audio_rate = 50, sp->video_fps = 10, sp->sample_rate = 16000;
    sp->latent_kind = "logmel";
    sp->normalised = 1;
    sp->manifest_sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    sp->builder_config = "{\"fps\":10,\"mel_bins\":8}";
    sp->video_feat_names = FEAT_NAMES;
}

static int write_known(const char *path, int n_clips, int frames) {
    static float audio[T * D], video[TV * DV];
    static uint8_t fr[TV * FH * FW * 3];
    vr_shard_spec sp;
    known_spec(&sp, frames);
    vr_shard_writer *w = vr_shard_create(path, &sp);
    if (!w) return -1;
    for (int i = 0; i < n_clips; i++) {
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) audio[t * D + d] = known_audio(i, t, d);
        for (int t = 0; t < TV; t++)
            for (int d = 0; d < DV; d++) video[t * DV + d] = known_video(i, t, d);
        for (int t = 0; t < TV; t++)
            for (int y = 0; y < FH; y++)
                for (int x = 0; x < FW; x++)
                    for (int c = 0; c < 3; c++) fr[((t * FH + y) * FW + x) * 3 + c] = known_frame(i, t, y, x, c);
        char id[32];
        snprintf(id, sizeof id, "clip_%d", i);
        vr_shard_clip c = {id, KNOWN_TEXT[i % N_CLIPS], KNOWN_LABELS[i % N_CLIPS], audio, video, frames ? fr : NULL};
        if (vr_shard_append(w, &c) != 0) {
            vr_shard_abort(w);
            return -1;
        }
    }
    float mean[D], std[D];
    for (int d = 0; d < D; d++) mean[d] = -5.0f + (float)d, std[d] = 2.0f + 0.5f * (float)d;
    return vr_shard_finish(w, mean, std);
}

/* ---------------------------------------------------------------- helpers */

static char g_dir[256];

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static int copy_file(const char *from, const char *to, long truncate_to) {
    char *data;
    size_t n;
    if (vr_read_file(from, &data, &n) != 0) return -1;
    if (truncate_to >= 0 && (size_t)truncate_to < n) n = (size_t)truncate_to;
    int rc = vr_write_file_atomic(to, data, n);
    free(data);
    return rc;
}

/* File offset of dataset `name`'s chunk for clip i (one chunk per clip). */
static long chunk_offset(const char *path, const char *name, int i) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, name, H5P_DEFAULT);
    hsize_t coord[8] = {0}, size = 0;
    haddr_t addr = HADDR_UNDEF;
    unsigned mask = 0;
    coord[0] = (hsize_t)i;
    if (d >= 0) H5Dget_chunk_info_by_coord(d, coord, &mask, &addr, &size);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return addr == HADDR_UNDEF ? -1 : (long)addr;
}

static int flip_byte(const char *path, long offset) {
    FILE *fp = fopen(path, "r+b");
    if (!fp) return -1;
    int c = fseek(fp, offset, SEEK_SET) == 0 ? fgetc(fp) : EOF;
    int rc = -1;
    if (c != EOF && fseek(fp, offset, SEEK_SET) == 0 && fputc(c ^ 0x5a, fp) != EOF) rc = 0;
    fclose(fp);
    return rc;
}

typedef struct reports {
    int n;
    char last[1024];
} reports;

static void collect(const char *msg, void *ctx) {
    reports *r = ctx;
    r->n++;
    snprintf(r->last, sizeof r->last, "%s", msg);
}

/* ---------------------------------------------------------------- tests */

static void test_round_trip(const char *path) {
    CHECK(write_known(path, N_CLIPS, 1) == 0, "write: %s", vr_error());
    vr_shard *s = vr_shard_open(path);
    CHECK(s != NULL, "open: %s", vr_error());
    if (!s) return;
    const vr_shard_info *in = vr_shard_get_info(s);
    CHECK(in->n_clips == N_CLIPS && in->T == T && in->D == D && in->Tv == TV && in->Dv == DV && in->frame_h == FH &&
              in->frame_w == FW,
          "shapes");
    CHECK(in->audio_rate == 50 && in->video_fps == 10 && in->sample_rate == 16000 && in->normalised == 1 &&
              !strcmp(in->latent_kind, "logmel") && in->format_version == 1,
          "attributes");
    CHECK(!strncmp(in->manifest_sha256, "ba7816bf", 8) && strlen(in->created_utc) == 20 &&
              !strcmp(vr_shard_builder_config(s), "{\"fps\":10,\"mel_bins\":8}"),
          "string attributes: %s %s", in->manifest_sha256, in->created_utc);
    CHECK(!strcmp(vr_shard_video_feat_name(s, 2), "motion") && vr_shard_video_feat_name(s, DV) == NULL,
          "feature names");
    CHECK(vr_shard_norm_mean(s)[3] == -2.0f && vr_shard_norm_std(s)[2] == 3.0f, "norm");
    int exact = 1, half_ok = 1;
    for (int i = 0; i < N_CLIPS; i++) {
        vr_shard_clip c;
        if (vr_shard_read(s, i, &c) != 0) {
            CHECK(0, "read %d: %s", i, vr_error());
            continue;
        }
        char id[32];
        snprintf(id, sizeof id, "clip_%d", i);
        exact &= !strcmp(c.id, id) && !strcmp(c.text, KNOWN_TEXT[i]) &&
                 !strcmp(c.labels_json, KNOWN_LABELS[i] ? KNOWN_LABELS[i] : "{}");
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) half_ok &= c.audio[t * D + d] == known_audio(i, t, d);
        for (int t = 0; t < TV; t++)
            for (int d = 0; d < DV; d++) exact &= c.video[t * DV + d] == known_video(i, t, d);
        exact &= c.frames && c.frames[((2 * FH + 1) * FW + 3) * 3 + 1] == known_frame(i, 2, 1, 3, 1);
    }
    CHECK(exact, "strings, video features and frames read back exactly");
    CHECK(half_ok, "audio values representable in float16 read back exactly");
    vr_shard_clip c;
    CHECK(vr_shard_read_no_frames(s, 1, &c) == 0 && c.frames == NULL && !strcmp(c.id, "clip_1"), "read without frames");
    CHECK(vr_shard_read(s, N_CLIPS, &c) == -1 && strstr(vr_error(), "out of range"), "index past the end: %s",
          vr_error());
    vr_shard_close(s);
}

static void test_half_precision_storage(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/prec.h5", g_dir);
    enum { PT = 100, PD = 16 };
    static float audio[PT * PD];
    float video[2] = {0.1f, 0.2f};
    for (int k = 0; k < PT * PD; k++) audio[k] = (float)sin(0.37 * k) * 7.3f + (k % 5 == 0 ? 1e-6f : 0.0f);
    vr_shard_spec sp = {.T = PT, .D = PD, .Tv = 1, .Dv = 2, .audio_rate = 10, .video_fps = 1, .sample_rate = 8000,
                        .latent_kind = "external"};
    vr_shard_writer *w = vr_shard_create(path, &sp);
    vr_shard_clip c = {"a", "", NULL, audio, video, NULL};
    CHECK(w && vr_shard_append(w, &c) == 0 && vr_shard_finish(w, NULL, NULL) == 0, "write: %s", vr_error());
    vr_shard *s = vr_shard_open(path);
    vr_shard_clip r;
    double max_rel = 0;
    if (s && vr_shard_read(s, 0, &r) == 0) {
        for (int k = 0; k < PT * PD; k++) {
            double err = fabs(r.audio[k] - audio[k]), bound = fabs(audio[k]) * 0x1p-11 + 0x1p-25;
            if (err > bound) max_rel = 1;
            if (fabs(audio[k]) > 1e-3 && err / fabs(audio[k]) > max_rel) max_rel = err / fabs(audio[k]);
        }
        CHECK(max_rel <= 0x1p-11, "float16 relative error %.3g above 2^-11", max_rel);
        CHECK(vr_shard_norm_mean(s)[0] == 0 && vr_shard_norm_std(s)[5] == 1 &&
                  !strcmp(vr_shard_video_feat_name(s, 1), "f1"),
              "default norm and feature names");
    } else CHECK(0, "read: %s", vr_error());
    vr_shard_close(s);
}

static void test_verify_and_corruption(const char *good) {
    reports r = {0};
    CHECK(vr_shard_verify(good, collect, &r) == 0 && r.n == 0, "good shard verifies: %s", r.last);

    /* a flipped byte inside clip 3's audio chunk: exactly that clip is reported */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/flipped.h5", g_dir);
    long off = chunk_offset(good, "audio_latent", 3);
    CHECK(off > 0 && copy_file(good, bad, -1) == 0 && flip_byte(bad, off + 100) == 0, "flip a byte at %ld", off);
    memset(&r, 0, sizeof r);
    int n_bad = vr_shard_verify(bad, collect, &r);
    CHECK(n_bad == 1 && r.n == 1 && strstr(r.last, "clip 3 ('clip_3')") && strstr(r.last, "checksum mismatch") &&
              strstr(r.last, "flipped.h5"),
          "verify names exactly clip 3: %d bad, %d reports, last: %s", n_bad, r.n, r.last);
    vr_shard *s = vr_shard_open(bad);
    vr_shard_clip c;
    CHECK(s && vr_shard_read(s, 2, &c) == 0 && vr_shard_read(s, 4, &c) == 0, "other clips still read");
    CHECK(s && vr_shard_read(s, 3, &c) == -1 && strstr(vr_error(), "clip 3"), "reading clip 3 fails: %s", vr_error());
    vr_shard_close(s);

    /* frames have their own checksum: damage in clip 1's frames */
    off = chunk_offset(good, "frames", 1);
    CHECK(off > 0 && copy_file(good, bad, -1) == 0 && flip_byte(bad, off + 17) == 0, "flip a frames byte");
    memset(&r, 0, sizeof r);
    n_bad = vr_shard_verify(bad, collect, &r);
    CHECK(n_bad == 1 && strstr(r.last, "clip 1 ('clip_1')") && strstr(r.last, "frames checksum"),
          "frames damage: %d, %s", n_bad, r.last);
    s = vr_shard_open(bad);
    CHECK(s && vr_shard_read_no_frames(s, 1, &c) == 0, "clip 1 still reads without its frames: %s", vr_error());
    vr_shard_close(s);

    /* truncated: a clear error, no crash */
    char *data;
    size_t size;
    CHECK(vr_read_file(good, &data, &size) == 0, "read file");
    free(data);
    long cuts[] = {(long)size / 2, (long)size - 1, 600, 5};
    for (int k = 0; k < 4; k++) {
        CHECK(copy_file(good, bad, cuts[k]) == 0, "truncate");
        memset(&r, 0, sizeof r);
        int v = vr_shard_verify(bad, collect, &r);
        CHECK(v == -1 && strstr(vr_error(), "flipped.h5"), "truncated to %ld bytes: %d, %s", cuts[k], v, vr_error());
    }

    /* not a shard at all */
    CHECK(vr_write_file_atomic(bad, "hello", 5) == 0, "write text");
    CHECK(vr_shard_open(bad) == NULL && strstr(vr_error(), "not an HDF5 file"), "text file: %s", vr_error());
    snprintf(bad, sizeof bad, "%s/missing.h5", g_dir);
    CHECK(vr_shard_open(bad) == NULL && strstr(vr_error(), "missing.h5") && strstr(vr_error(), "No such file"),
          "missing file: %s", vr_error());
}

/* Rewrite a scalar integer attribute of an existing file in place. */
static int set_attr_i64(const char *path, const char *name, int64_t v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = f < 0 ? -1 : H5Aopen(f, name, H5P_DEFAULT);
    int rc = a >= 0 && H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    if (f >= 0) H5Fclose(f);
    return rc;
}

static void test_schema_errors(const char *good) {
    char path[300];
    snprintf(path, sizeof path, "%s/v99.h5", g_dir);
    CHECK(copy_file(good, path, -1) == 0 && set_attr_i64(path, "format_version", 99) == 0, "set version 99");
    CHECK(vr_shard_open(path) == NULL && strstr(vr_error(), "v99.h5: format_version 99 is newer than this vrobin (1)"),
          "too new: %s", vr_error());
    CHECK(vr_shard_verify(path, collect, &(reports){0}) == -1, "verify refuses a too-new shard");

    CHECK(copy_file(good, path, -1) == 0 && set_attr_i64(path, "n_clips", 7) == 0, "set n_clips 7");
    CHECK(vr_shard_open(path) == NULL && strstr(vr_error(), "dataset 'audio_latent' has shape [5,40,8], expected") &&
              strstr(vr_error(), "n_clips = 7"),
          "shape vs n_clips: %s", vr_error());

    /* an HDF5 file that is not a shard */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    CHECK(vr_shard_open(path) == NULL && strstr(vr_error(), "no attribute 'format_version'"), "plain HDF5: %s",
          vr_error());
    /* a shard missing a dataset: delete 'checksum' */
    CHECK(copy_file(good, path, -1) == 0, "copy");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    H5Ldelete(f, "checksum", H5P_DEFAULT);
    H5Fclose(f);
    CHECK(vr_shard_open(path) == NULL && strstr(vr_error(), "missing dataset 'checksum'"), "missing dataset: %s",
          vr_error());
}

static void test_writer_errors_and_atomicity(void) {
    char dir[300], path[320], tmp[340];
    snprintf(dir, sizeof dir, "%s/atomic", g_dir);
    vr_mkdirs(dir);
    snprintf(path, sizeof path, "%s/s.h5", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    vr_shard_spec sp;
    known_spec(&sp, 0);
    static float audio[T * D], video[TV * DV];
    vr_shard_writer *w = vr_shard_create(path, &sp);
    CHECK(w != NULL, "create: %s", vr_error());
    if (!w) return;
    vr_shard_clip c = {"a", "text", NULL, audio, video, NULL};
    CHECK(vr_shard_append(w, &c) == 0, "append: %s", vr_error());
    CHECK(!vr_file_exists(path) && vr_file_exists(tmp), "while writing only the temp name exists");

    c.id = "b";
    c.text = "bad \xc3\x28 utf-8";
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "'b': text is not valid UTF-8"), "%s", vr_error());
    c.text = "";
    c.labels_json = "[1,2]";
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "labels_json is not a JSON object"), "%s", vr_error());
    c.labels_json = NULL;
    audio[3 * D + 2] = NAN;
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "audio latent is nan at frame 3 dim 2"), "%s", vr_error());
    audio[3 * D + 2] = 1e6f;
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "overflows float16"), "%s", vr_error());
    audio[3 * D + 2] = 0;
    video[7] = INFINITY;
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "video feature is inf at frame 1 dim 2"), "%s",
          vr_error());
    video[7] = 0;
    c.id = "";
    CHECK(vr_shard_append(w, &c) == -1 && strstr(vr_error(), "empty id"), "%s", vr_error());
    c.id = "b";
    CHECK(vr_shard_append(w, &c) == 0 && vr_shard_writer_count(w) == 2, "a good clip after refused ones");
    vr_shard_abort(w);
    CHECK(count_files(dir) == 0, "abort leaves no files (%d left)", count_files(dir));

    w = vr_shard_create(path, &sp);
    CHECK(w && vr_shard_append(w, &c) == 0, "create again");
    float std[D] = {1, 1, 0};
    if (w) CHECK(vr_shard_finish(w, NULL, std) == -1 && strstr(vr_error(), "norm dim 2"), "zero std: %s", vr_error());
    CHECK(count_files(dir) == 0, "failed finish leaves no files");
    w = vr_shard_create(path, &sp);
    CHECK(w && vr_shard_append(w, &c) == 0 && vr_shard_finish(w, NULL, NULL) == 0, "finish: %s", vr_error());
    CHECK(vr_file_exists(path) && !vr_file_exists(tmp) && count_files(dir) == 1, "finish renames into place");

    sp.T = 0;
    CHECK(vr_shard_create(path, &sp) == NULL && strstr(vr_error(), "must be positive"), "%s", vr_error());
    known_spec(&sp, 0);
    sp.latent_kind = "vae";
    CHECK(vr_shard_create(path, &sp) == NULL && strstr(vr_error(), "latent_kind"), "%s", vr_error());
    known_spec(&sp, 0);
    sp.builder_config = "{oops";
    CHECK(vr_shard_create(path, &sp) == NULL && strstr(vr_error(), "builder_config must be a JSON object"), "%s",
          vr_error());
    known_spec(&sp, 0);
    sp.manifest_sha256 = "ABC";
    CHECK(vr_shard_create(path, &sp) == NULL && strstr(vr_error(), "manifest_sha256"), "%s", vr_error());
    known_spec(&sp, 0);
    CHECK(vr_shard_create("/nonexistent/dir/s.h5", &sp) == NULL && strstr(vr_error(), "/nonexistent/dir/s.h5.tmp."),
          "unwritable: %s", vr_error());
    CHECK(count_files(dir) == 1, "refused creates leave nothing");
}

static void test_summary_and_cli(const char *good) {
    char *text = NULL;
    size_t n = 0;
    FILE *mem = open_memstream(&text, &n);
    CHECK(vr_shard_print_summary(good, mem) == 0, "summary: %s", vr_error());
    fclose(mem);
    CHECK(text && strstr(text, "5 clips") && strstr(text, "audio_latent") && strstr(text, "[5,40,8]") &&
              strstr(text, "brightness") && strstr(text, "tempo") && strstr(text, "in 2 of 5 sampled clips") &&
              strstr(text, "instruments"),
          "summary content:\n%s", text ? text : "");
    free(text);

    char *help[] = {"verify", "--help"};
    char *none[] = {"verify"};
    char *ok[] = {"verify", (char *)good};
    CHECK(vr_cmd_data_verify(2, help) == 0 && vr_cmd_data_verify(2, ok) == 0, "verify --help and a good shard exit 0");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.h5", g_dir);
    char *bad[] = {"verify", (char *)good, missing};
    int r_none = vr_cmd_data_verify(1, none), r_bad = vr_cmd_data_verify(3, bad);
    CHECK(r_none == 2 && r_bad == 1, "usage error exits 2, a missing shard exits 1 (%d, %d)", r_none, r_bad);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--write-known")) {
        if (write_known(argv[2], N_CLIPS, 1) != 0) {
            fprintf(stderr, "test_shard: %s\n", vr_error());
            return 1;
        }
        return 0;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    snprintf(g_dir, sizeof g_dir, "%s/vrobin_test_shard_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    char good[300];
    snprintf(good, sizeof good, "%s/good.h5", g_dir);
    test_half();
    test_crc();
    test_round_trip(good);
    test_half_precision_storage();
    test_verify_and_corruption(good);
    test_schema_errors(good);
    test_writer_errors_and_atomicity();
    test_summary_and_cli(good);
    remove_tree(g_dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
