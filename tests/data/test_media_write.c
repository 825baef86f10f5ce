/* test_media_write.c — the writing half of data/media.h, checked with the ffprobe/ffmpeg CLIs as
 * an independent oracle: 3 s of a moving square + a sine into mp4/mkv/webm, a sine into flac/wav;
 * streams, codecs, durations, frame sizes; samples read back within 16-bit quantisation; and
 * failures (unwritable path, bad type, abort) leave no file behind.
 * Usage: test_media_write [WORKDIR]  (default: a fresh folder under /tmp)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "data/media.h"
#include "tests/check.h"


enum { W = 96, H = 64, FPS = 24, SR = 16000, SECONDS = 3 };

static float sine(int64_t i) { return 0.5f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / SR); }

/* A white square moving right over a dark blue background. */
static void draw_frame(uint8_t *rgb, int k) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = rgb + 3 * (y * W + x);
            int in = x >= k && x < k + 16 && y >= 24 && y < 40;
            p[0] = in ? 240 : 20;
            p[1] = in ? 240 : 30;
            p[2] = in ? 240 : 90;
        }
}

static char *run_capture(const char *cmd, size_t *len) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    int rc = pclose(p);
    if (!buf || rc != 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static cJSON *ffprobe(const char *path) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,sample_rate,channels,duration"
             ":format=duration -of json '%s'",
             path);
    char *out = run_capture(cmd, NULL);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

static cJSON *stream_of(cJSON *probe, const char *type) {
    cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(probe, "streams")) {
        cJSON *t = cJSON_GetObjectItem(s, "codec_type");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, type)) return s;
    }
    return NULL;
}

static double num_field(cJSON *o, const char *key) {
    cJSON *v = cJSON_GetObjectItem(o, key);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v)) return atof(v->valuestring);
    return -1;
}

static const char *str_field(cJSON *o, const char *key) {
    cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

static void test_video(const char *dir, const char *ext, const char *vcodec, const char *acodec, int arate) {
    char path[512];
    snprintf(path, sizeof path, "%s/clip.%s", dir, ext);
    vr_video_writer *w = vr_video_writer_open(path, W, H, FPS, SR);
    CHECK(w != NULL, "open %s: %s", path, vr_error());
    if (!w) return;
    uint8_t *rgb = malloc(W * H * 3);
    int ok = 1;
    int64_t done = 0;
    for (int k = 0; k < FPS * SECONDS; k++) {
        draw_frame(rgb, k);
        ok &= vr_video_writer_frame(w, rgb) == 0;
        /* audio in uneven chunks that do not line up with frames or encoder frames */
        int64_t upto = (int64_t)SR * (k + 1) / FPS + (k % 3 == 0 ? 37 : -11);
        if (k == FPS * SECONDS - 1) upto = (int64_t)SR * SECONDS;
        float buf[1200];
        int64_t n = upto - done;
        for (int64_t i = 0; i < n; i++) buf[i] = sine(done + i);
        ok &= vr_video_writer_audio(w, buf, n) == 0;
        done = upto;
    }
    free(rgb);
    CHECK(ok, "%s: writing frames/audio: %s", path, vr_error());
    CHECK(vr_video_writer_close(w) == 0, "close %s: %s", path, vr_error());

    cJSON *p = ffprobe(path);
    CHECK(p != NULL, "ffprobe %s", path);
    if (!p) return;
    cJSON *v = stream_of(p, "video"), *a = stream_of(p, "audio");
    CHECK(v && !strcmp(str_field(v, "codec_name"), vcodec), "%s: video codec %s, expected %s", path,
          v ? str_field(v, "codec_name") : "(none)", vcodec);
    CHECK(v && num_field(v, "width") == W && num_field(v, "height") == H, "%s: frame size %gx%g", path,
          v ? num_field(v, "width") : 0, v ? num_field(v, "height") : 0);
    CHECK(a && !strcmp(str_field(a, "codec_name"), acodec), "%s: audio codec %s, expected %s", path,
          a ? str_field(a, "codec_name") : "(none)", acodec);
    CHECK(a && num_field(a, "sample_rate") == arate && num_field(a, "channels") == 1, "%s: audio %g Hz %g ch", path,
          a ? num_field(a, "sample_rate") : 0, a ? num_field(a, "channels") : 0);
    double d = num_field(cJSON_GetObjectItem(p, "format"), "duration");
    CHECK(fabs(d - SECONDS) <= 0.1, "%s: duration %.3f s, expected %d", path, d, SECONDS);
    cJSON_Delete(p);
}

/* Read a file back as f32 mono through the ffmpeg CLI and compare with the sine. */
static void check_samples(const char *path, int64_t n_expected) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f f32le -ac 1 -", path);
    size_t len = 0;
    char *raw = run_capture(cmd, &len);
    CHECK(raw != NULL, "decoding %s with ffmpeg", path);
    if (!raw) return;
    int64_t n = (int64_t)(len / sizeof(float));
    CHECK(n == n_expected, "%s: %lld samples, expected %lld", path, (long long)n, (long long)n_expected);
    float maxerr = 0;
    for (int64_t i = 0; i < n && i < n_expected; i++) {
        float x;
        memcpy(&x, raw + i * sizeof x, sizeof x);
        float e = fabsf(x - sine(i));
        if (e > maxerr) maxerr = e;
    }
    CHECK(maxerr <= 0.51f / 32768.0f + 1e-7f, "%s: max sample error %g, expected <= half a 16-bit step", path,
          maxerr);
    free(raw);
}

static void test_audio(const char *dir, const char *ext, const char *codec) {
    char path[512];
    snprintf(path, sizeof path, "%s/music.%s", dir, ext);
    int64_t n = (int64_t)SR * SECONDS + 123; /* not a multiple of any frame size */
    float *x = malloc(n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = sine(i);
    CHECK(vr_audio_write(path, x, n, SR) == 0, "write %s: %s", path, vr_error());
    free(x);
    cJSON *p = ffprobe(path);
    cJSON *a = p ? stream_of(p, "audio") : NULL;
    CHECK(a && !strcmp(str_field(a, "codec_name"), codec) && num_field(a, "sample_rate") == SR &&
              num_field(a, "channels") == 1,
          "%s: expected %s %d Hz mono", path, codec, SR);
    double d = p ? num_field(cJSON_GetObjectItem(p, "format"), "duration") : -1;
    CHECK(fabs(d - (double)n / SR) < 0.01, "%s: duration %.4f, expected %.4f", path, d, (double)n / SR);
    cJSON_Delete(p);
    check_samples(path, n);
}

static void test_determinism(const char *dir) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/det_a.flac", dir);
    snprintf(b, sizeof b, "%s/det_b.flac", dir);
    float x[4000];
    for (int i = 0; i < 4000; i++) x[i] = sine(i);
    CHECK(vr_audio_write(a, x, 4000, SR) == 0 && vr_audio_write(b, x, 4000, SR) == 0, "flac writes: %s", vr_error());
    char *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    CHECK(vr_read_file(a, &da, &na) == 0 && vr_read_file(b, &db, &nb) == 0 && na == nb && !memcmp(da, db, na),
          "the same samples give byte-identical flac files");
    free(da);
    free(db);
}

static void test_failures(const char *dir) {
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/fail", dir);
    vr_mkdirs(sub);
    /* a path under a regular file cannot be created */
    snprintf(path, sizeof path, "%s/det_a.flac/x.mp4", dir);
    vr_clear_error();
    vr_video_writer *w = vr_video_writer_open(path, W, H, FPS, SR);
    CHECK(w == NULL && strstr(vr_error(), path), "unwritable path: a clear error naming it: '%s'", vr_error());
    snprintf(path, sizeof path, "%s/no/such/dir/x.flac", dir);
    float x[100] = {0};
    CHECK(vr_audio_write(path, x, 100, SR) != 0 && strstr(vr_error(), "x.flac") && !vr_file_exists(path),
          "audio to a missing folder: '%s'", vr_error());
    /* bad requests */
    snprintf(path, sizeof path, "%s/x.avi", sub);
    CHECK(vr_video_writer_open(path, W, H, FPS, SR) == NULL && strstr(vr_error(), ".mp4"), "unknown type: '%s'",
          vr_error());
    snprintf(path, sizeof path, "%s/x.mp4", sub);
    CHECK(vr_video_writer_open(path, 95, H, FPS, SR) == NULL && strstr(vr_error(), "even"), "odd width: '%s'",
          vr_error());
    snprintf(path, sizeof path, "%s/x.wav", sub);
    CHECK(vr_audio_write(path, x, 100, 0) != 0 && strstr(vr_error(), "sample rate"), "rate 0: '%s'", vr_error());
    /* abort after writing: neither the file nor a temp remains */
    snprintf(path, sizeof path, "%s/aborted.mp4", sub);
    w = vr_video_writer_open(path, W, H, FPS, SR);
    CHECK(w != NULL, "open %s: %s", path, vr_error());
    if (w) {
        uint8_t rgb[W * H * 3];
        for (int k = 0; k < 10; k++) {
            draw_frame(rgb, k);
            vr_video_writer_frame(w, rgb);
        }
        vr_video_writer_audio(w, x, 100);
        vr_video_writer_abort(w);
    }
    /* close with no frames is an error and also leaves nothing */
    snprintf(path, sizeof path, "%s/empty.mkv", sub);
    w = vr_video_writer_open(path, W, H, FPS, 0);
    CHECK(w && vr_video_writer_close(w) != 0 && strstr(vr_error(), "no video frames"), "empty close: '%s'",
          vr_error());
    CHECK(count_entries(sub) == 0, "failed and aborted writes leave no files (found %d)", count_entries(sub));
}

int main(int argc, char **argv) {
    char dir[512];
    if (argc > 1) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0 || vr_mkdirs(dir) != 0) return fprintf(stderr, "cannot make %s\n", dir), 1;
    } else {
        snprintf(dir, sizeof dir, "/tmp/vr_media_write_XXXXXX");
        if (!mkdtemp(dir)) return fprintf(stderr, "cannot make a temp folder\n"), 1;
    }
    test_video(dir, "mp4", "h264", "aac", SR);
    test_video(dir, "mkv", "h264", "flac", SR);
    test_video(dir, "webm", "vp9", "opus", 48000);
    test_audio(dir, "flac", "flac");
    test_audio(dir, "wav", "pcm_s16le");
    test_determinism(dir);
    test_failures(dir);
    CHECK(count_entries(dir) == 8, "only the written files remain in %s (found %d entries)", dir, count_entries(dir));
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
