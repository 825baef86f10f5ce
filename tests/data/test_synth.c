/* test_synth.c — the SynthV2M generator: valid media (ffprobe), complete manifests and labels,
 * label consistency (beats vs tempo, cuts on downbeats and frame boundaries), split design
 * (held-out pairs, unseen styles, tempo ranges), captions, cuts and mood visible in the decoded
 * video, determinism across runs and job counts, resume, and refusal of a mismatched folder.
 * Usage: test_synth [WORKDIR]  (default: a fresh folder under /tmp)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "data/midi.h"
#include "data/synth.h"
#include "tests/check.h"


#define CLIP_SECONDS 6.0
#define SEED 7

static const char *SPLIT[4] = {"train", "val", "test-id", "test-ood"};

/* ---- helpers ---- */

static char *run_capture(const char *cmd, size_t *len) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) buf = realloc(buf, cap *= 2);
    }
    if (pclose(p) != 0 || !buf) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static int same_file(const char *a, const char *b) {
    char *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    int same = vr_read_file(a, &da, &na) == 0 && vr_read_file(b, &db, &nb) == 0 && na == nb && !memcmp(da, db, na);
    free(da);
    free(db);
    return same;
}

static ino_t inode_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static cJSON **read_manifest(const char *dir, const char *split, int *n) {
    char path[1024], *text = NULL;
    snprintf(path, sizeof path, "%s/%s.jsonl", dir, split);
    *n = 0;
    if (vr_read_file(path, &text, NULL) != 0) return NULL;
    cJSON **lines = NULL;
    for (char *save = NULL, *s = strtok_r(text, "\n", &save); s; s = strtok_r(NULL, "\n", &save)) {
        lines = realloc(lines, (size_t)(*n + 1) * sizeof *lines);
        lines[(*n)++] = cJSON_Parse(s);
    }
    free(text);
    return lines;
}

static void free_manifest(cJSON **l, int n) {
    for (int i = 0; i < n; i++) cJSON_Delete(l[i]);
    free(l);
}

static cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static const char *str(const cJSON *o, const char *k) {
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}
static double num(const cJSON *o, const char *k) {
    const cJSON *v = get(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int generate(const char *dir, const char *preset, const int64_t *counts, uint64_t seed, int jobs,
                    double seconds, int labels_only) {
    vr_synth_opts o;
    vr_synth_opts_default(&o);
    o.out_dir = dir;
    o.preset = preset;
    if (counts)
        for (int s = 0; s < 4; s++) o.counts[s] = counts[s];
    o.seed = seed;
    o.jobs = jobs;
    o.clip_seconds = seconds;
    o.labels_only = labels_only;
    return vr_synth_generate(&o);
}

/* ---- FluidSynth: a score renders the same whatever rendered before ---- */

static void test_fluid_history(void) {
    double cuts[1] = {2.0};
    vr_music_plan a = {.bpm = 120, .first_downbeat = 0, .duration = 4, .key = 2, .minor = 0,
                       .family = VR_FAM_PIANO, .program = 0, .pattern = VR_PAT_GROOVE, .reg = VR_REG_MID,
                       .activity = 2, .cuts = cuts, .n_cuts = 1, .seed = 11};
    vr_music_plan b = {.bpm = 97, .first_downbeat = 0.3, .duration = 3.3, .key = 9, .minor = 1,
                       .family = VR_FAM_STRINGS, .program = 48, .pattern = VR_PAT_MELODY, .reg = VR_REG_LOW,
                       .activity = 1, .seed = 12};
    vr_score sa, sb;
    CHECK(vr_score_compose(&a, &sa) == 0 && vr_score_compose(&b, &sb) == 0, "compose: %s", vr_error());
    CHECK(vr_score_has_drums(&sa) && !vr_score_has_drums(&sb), "groove has drums, the string melody none");
    int progs[16], np = vr_score_programs(&sa, progs);
    CHECK(np == 2 && progs[0] == 0 && progs[1] == VR_GM_BASS, "groove programs: piano + bass (%d programs)", np);
    int64_t n = 4 * 16000, nb = (int64_t)(3.3 * 16000);
    float *x1 = malloc(n * sizeof *x1), *x2 = malloc(n * sizeof *x2), *y = malloc(nb * sizeof *y);
    vr_fluid *f = vr_fluid_new("/usr/share/sounds/sf2/TimGM6mb.sf2", 16000);
    vr_fluid *g = vr_fluid_new("/usr/share/sounds/sf2/TimGM6mb.sf2", 16000);
    CHECK(f && g, "FluidSynth: %s", vr_error());
    if (f && g) {
        CHECK(vr_fluid_render(f, &sb, y, nb) == 0 && vr_fluid_render(f, &sa, x1, n) == 0, "render: %s", vr_error());
        CHECK(vr_fluid_render(g, &sa, x2, n) == 0, "render: %s", vr_error());
        CHECK(!memcmp(x1, x2, n * sizeof *x1), "the same score renders identically after another one");
        float peak = 0;
        for (int64_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x1[i]));
        CHECK(fabsf(peak - 0.8913f) < 1e-3f, "peak normalised to -1 dBFS (%.4f)", peak);
        /* onsets: the energy right after the downbeat at 2.0 s (a cut: crash + accent) exceeds the
         * energy just before it */
        double pre = 0, post = 0;
        for (int i = 0; i < 800; i++) pre += x1[32000 - 800 + i] * x1[32000 - 800 + i], post += x1[32000 + 64 + i] * x1[32000 + 64 + i];
        CHECK(post > 2 * pre, "the cut's downbeat is accented (energy %.2f after vs %.2f before)", post, pre);
    }
    vr_fluid_free(f);
    vr_fluid_free(g);
    vr_fluid *bad = vr_fluid_new("/nonexistent.sf2", 16000);
    CHECK(!bad && strstr(vr_error(), "/nonexistent.sf2"), "a missing soundfont is named: '%s'", vr_error());
    /* a cut that is not on a downbeat is refused */
    double off[1] = {2.1};
    a.cuts = off;
    vr_score sc;
    CHECK(vr_score_compose(&a, &sc) != 0 && strstr(vr_error(), "downbeat"), "off-beat cut refused: '%s'", vr_error());
    vr_score_free(&sa);
    vr_score_free(&sb);
    free(x1);
    free(x2);
    free(y);
}

/* ---- labels ---- */

static int has_word(const char *text, const char *family) {
    static const struct { const char *family, *words[5]; } WORDS[] = {
        {"piano", {"piano", "keys"}}, {"strings", {"string", "violin"}}, {"guitar", {"guitar"}},
        {"brass", {"brass", "horn", "trumpet"}}, {"synth_lead", {"synth"}}, {"organ", {"organ"}},
        {"woodwind", {"woodwind", "flute", "clarinet", "oboe"}}, {"bass_drums", {"drum", "rhythm section"}}};
    char low[512];
    snprintf(low, sizeof low, "%s", text);
    for (char *p = low; *p; p++) *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (!strcmp(WORDS[i].family, family))
            for (int k = 0; k < 5 && WORDS[i].words[k]; k++)
                if (strstr(low, WORDS[i].words[k])) return 1;
    return 0;
}

static int in_list(const cJSON *arr, double t, double tol) {
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) if (fabs(v->valuedouble - t) <= tol) return 1;
    return 0;
}

/* Every label present and consistent; returns the number of problems (reported once per clip). */
static int check_clip_labels(const cJSON *c, int split, double seconds) {
    const char *id = str(c, "id");
    const cJSON *l = get(c, "labels");
    static const char *STRINGS[] = {"key_name", "mode", "instrument", "pattern", "register", "activity", "style", "palette"};
    static const char *NUMBERS[] = {"tempo_bpm", "beats_per_bar", "bar_frames", "key", "n_objects", "motion_px_per_s"};
    static const char *ARRAYS[] = {"beat_times", "downbeat_times", "cut_times", "programs", "shot_palettes"};
    int bad = 0;
    if (!cJSON_IsObject(l)) return fprintf(stderr, "%s: no labels\n", id), 1;
    for (size_t i = 0; i < sizeof STRINGS / sizeof *STRINGS; i++)
        if (!*str(l, STRINGS[i])) bad++, fprintf(stderr, "%s: label %s missing\n", id, STRINGS[i]);
    for (size_t i = 0; i < sizeof NUMBERS / sizeof *NUMBERS; i++)
        if (isnan(num(l, NUMBERS[i]))) bad++, fprintf(stderr, "%s: label %s missing\n", id, NUMBERS[i]);
    for (size_t i = 0; i < sizeof ARRAYS / sizeof *ARRAYS; i++)
        if (!cJSON_IsArray(get(l, ARRAYS[i]))) bad++, fprintf(stderr, "%s: label %s missing\n", id, ARRAYS[i]);
    if (!cJSON_IsBool(get(l, "drums"))) bad++, fprintf(stderr, "%s: label drums missing\n", id);
    if (bad) return bad;
    if (num(c, "start") != 0 || fabs(num(c, "end") - seconds) > 1e-9) bad++, fprintf(stderr, "%s: start/end\n", id);

    double bpm = num(l, "tempo_bpm"), beat = 60.0 / bpm;
    const cJSON *beats = get(l, "beat_times"), *downs = get(l, "downbeat_times"), *cuts = get(l, "cut_times");
    int nb = cJSON_GetArraySize(beats);
    if (nb < (int)floor(seconds / beat) || nb > (int)ceil(seconds / beat) + 1)
        bad++, fprintf(stderr, "%s: %d beats for %.1f s at %.3f BPM\n", id, nb, seconds, bpm);
    for (int i = 0; i < nb; i++) {
        double t = cJSON_GetArrayItem(beats, i)->valuedouble;
        if (t < 0 || t >= seconds) bad++, fprintf(stderr, "%s: beat at %.6f outside the clip\n", id, t);
        if (i > 0 && fabs(t - cJSON_GetArrayItem(beats, i - 1)->valuedouble - beat) > 2e-6)
            bad++, fprintf(stderr, "%s: beat %d is not one beat (%.6f s) after the last\n", id, i, beat);
    }
    if (cJSON_GetArraySize(beats) > 0 && cJSON_GetArrayItem(beats, 0)->valuedouble >= beat + 2e-6)
        bad++, fprintf(stderr, "%s: the first beat comes later than one beat\n", id);
    const cJSON *v;
    int nd = 0;
    cJSON_ArrayForEach(v, downs) {
        nd++;
        if (!in_list(beats, v->valuedouble, 1e-6)) bad++, fprintf(stderr, "%s: downbeat %.6f is not a beat\n", id, v->valuedouble);
        double f = v->valuedouble * 24;
        if (fabs(f - round(f)) > 1e-4) bad++, fprintf(stderr, "%s: downbeat %.6f is not on a frame\n", id, v->valuedouble);
    }
    if (abs(nd - nb / 4) > 1) bad++, fprintf(stderr, "%s: %d downbeats for %d beats\n", id, nd, nb);
    int nc = 0;
    cJSON_ArrayForEach(v, cuts) {
        nc++;
        double t = v->valuedouble, f = t * 24;
        if (!in_list(downs, t, 1e-6)) bad++, fprintf(stderr, "%s: cut %.6f is not a downbeat\n", id, t);
        if (fabs(f - round(f)) > 1e-4) bad++, fprintf(stderr, "%s: cut %.6f is not on a frame boundary\n", id, t);
        if (t < 1 - 1e-9 || t > seconds - 1 + 1e-9) bad++, fprintf(stderr, "%s: cut %.6f too close to an end\n", id, t);
    }
    if (nc > 3 || cJSON_GetArraySize(get(l, "shot_palettes")) != nc + 1)
        bad++, fprintf(stderr, "%s: %d cuts, %d shot palettes\n", id, nc, cJSON_GetArraySize(get(l, "shot_palettes")));
    int ood = split == 3;
    if (!ood && (bpm < 80 || bpm > 140)) bad++, fprintf(stderr, "%s: tempo %.2f outside 80..140\n", id, bpm);
    if (ood && !((bpm >= 60 && bpm <= 75) || (bpm >= 150 && bpm <= 170)))
        bad++, fprintf(stderr, "%s: OOD tempo %.2f inside the training range\n", id, bpm);
    if (fabs(num(l, "motion_px_per_s") - 12 * bpm / 60) > 1e-4) bad++, fprintf(stderr, "%s: motion not 12 px per beat\n", id);
    if (num(l, "key") < 0 || num(l, "key") > 11) bad++, fprintf(stderr, "%s: key\n", id);
    const char *text = str(c, "text");
    if (!has_word(text, str(l, "instrument"))) bad++, fprintf(stderr, "%s: caption '%s' does not name %s\n", id, text, str(l, "instrument"));
    for (const char *p = text; *p; p++)
        if (isdigit((unsigned char)*p)) {
            bad++, fprintf(stderr, "%s: caption '%s' states a number\n", id, text);
            break;
        }
    return bad;
}

/* ---- media ---- */

static cJSON *ffprobe(const char *path) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -show_entries stream=codec_type,codec_name,width,height,sample_rate,channels,avg_frame_rate"
             ":format=duration -of json '%s'", path);
    char *out = run_capture(cmd, NULL);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    return j;
}

static void check_media(const char *dir, const cJSON *c) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, str(c, "video"));
    cJSON *p = ffprobe(path);
    int vid = 0, aud = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, get(p, "streams")) {
        if (!strcmp(str(s, "codec_type"), "video"))
            vid = !strcmp(str(s, "codec_name"), "h264") && num(s, "width") == 128 && num(s, "height") == 128 &&
                  !strcmp(str(s, "avg_frame_rate"), "24/1");
        if (!strcmp(str(s, "codec_type"), "audio"))
            aud = !strcmp(str(s, "codec_name"), "aac") && !strcmp(str(s, "sample_rate"), "16000") && num(s, "channels") == 1;
    }
    double d = p ? atof(str(get(p, "format"), "duration")) : -1;
    CHECK(vid && aud && fabs(d - CLIP_SECONDS) <= 0.1, "%s: expected h264 128x128 24 fps + aac 16 kHz mono, %.1f s (%.3f)",
          path, CLIP_SECONDS, d);
    cJSON_Delete(p);

    snprintf(path, sizeof path, "%s/%s", dir, str(c, "music"));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f f32le -", path);
    size_t len = 0;
    char *raw = run_capture(cmd, &len);
    int64_t n = (int64_t)(len / 4);
    float peak = 0;
    for (int64_t i = 0; raw && i < n; i++) {
        float x;
        memcpy(&x, raw + 4 * i, 4);
        peak = fmaxf(peak, fabsf(x));
    }
    free(raw);
    CHECK(n == (int64_t)(CLIP_SECONDS * 16000) && fabsf(peak - 0.891f) < 0.002f,
          "%s: %lld samples (expected %d), peak %.4f (expected -1 dBFS)", path, (long long)n, (int)(CLIP_SECONDS * 16000), peak);
}

/* Decode the video; the frame-to-frame change must peak at each labelled cut, and major clips
 * (warm, bright palettes) must be brighter than minor ones. Returns the mean luma. */
static double check_video_cuts(const char *dir, const cJSON *c) {
    char path[1024], cmd[2048];
    snprintf(path, sizeof path, "%s/%s", dir, str(c, "video"));
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f rawvideo -pix_fmt rgb24 -", path);
    size_t len = 0;
    unsigned char *raw = (unsigned char *)run_capture(cmd, &len);
    const size_t fs = 128 * 128 * 3;
    int nf = (int)(len / fs);
    CHECK(raw && nf == (int)(CLIP_SECONDS * 24), "%s: decoded %d frames", path, nf);
    if (!raw || nf < 2) {
        free(raw);
        return 0;
    }
    double *diff = calloc((size_t)nf, sizeof *diff), luma = 0;
    for (int f = 0; f < nf; f++)
        for (size_t i = 0; i < fs; i++) {
            luma += raw[f * fs + i];
            if (f > 0) diff[f] += fabs((double)raw[f * fs + i] - raw[(f - 1) * fs + i]);
        }
    const cJSON *cuts = get(get(c, "labels"), "cut_times"), *v;
    cJSON_ArrayForEach(v, cuts) {
        int k = (int)lround(v->valuedouble * 24);
        double others = 0;
        for (int f = 1; f < nf; f++)
            if (f != k && !in_list(cuts, f / 24.0, 1e-6) && diff[f] > others) others = diff[f];
        CHECK(k > 0 && k < nf && diff[k] > 1.5 * others, "%s: the cut at frame %d (%.3f s) is not where the picture "
              "changes most (%.0f vs %.0f elsewhere)", path, k, v->valuedouble, k < nf ? diff[k] : 0, others);
    }
    free(diff);
    free(raw);
    return luma / ((double)nf * fs);
}

/* ---- the generator ---- */

static void test_generate(const char *root) {
    char a[1024], b[1024], p1[1200], p2[1200];
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    vr_log_set_level(VR_LOG_WARN);
    CHECK(generate(a, "micro", NULL, SEED, 2, CLIP_SECONDS, 0) == 0, "generate micro: %s", vr_error());
    CHECK(generate(b, "micro", NULL, SEED, 1, CLIP_SECONDS, 0) == 0, "generate micro again: %s", vr_error());

    double luma[2] = {0, 0};
    int n_mode[2] = {0, 0}, with_cuts = 0;
    for (int s = 0; s < 4; s++) {
        int n = 0, nb = 0;
        cJSON **m = read_manifest(a, SPLIT[s], &n), **mb = read_manifest(b, SPLIT[s], &nb);
        CHECK(n == 2 && nb == 2, "%s.jsonl: %d lines, expected 2", SPLIT[s], n);
        snprintf(p1, sizeof p1, "%s/%s.jsonl", a, SPLIT[s]);
        snprintf(p2, sizeof p2, "%s/%s.jsonl", b, SPLIT[s]);
        CHECK(same_file(p1, p2), "%s manifests are identical across runs (2 jobs vs 1)", SPLIT[s]);
        for (int i = 0; i < n; i++) {
            CHECK(m[i] != NULL, "%s.jsonl line %d parses", SPLIT[s], i + 1);
            if (!m[i]) continue;
            CHECK(check_clip_labels(m[i], s, CLIP_SECONDS) == 0, "%s: labels", str(m[i], "id"));
            check_media(a, m[i]);
            const cJSON *l = get(m[i], "labels");
            int minor = !strcmp(str(l, "mode"), "minor");
            luma[minor] += check_video_cuts(a, m[i]);
            n_mode[minor]++;
            with_cuts += cJSON_GetArraySize(get(l, "cut_times")) > 0;
            snprintf(p1, sizeof p1, "%s/%s", a, str(m[i], "music"));
            snprintf(p2, sizeof p2, "%s/%s", b, str(m[i], "music"));
            CHECK(same_file(p1, p2), "%s: flac is byte-identical across runs", str(m[i], "id"));
            snprintf(p1, sizeof p1, "%s/%s", a, str(m[i], "video"));
            snprintf(p2, sizeof p2, "%s/%s", b, str(m[i], "video"));
            CHECK(same_file(p1, p2), "%s: mp4 is byte-identical across runs", str(m[i], "id"));
        }
        free_manifest(m, n);
        free_manifest(mb, nb);
    }
    CHECK(with_cuts > 0, "some micro clips have cuts to check (%d)", with_cuts);
    if (n_mode[0] && n_mode[1])
        CHECK(luma[0] / n_mode[0] > luma[1] / n_mode[1] + 60, "major clips are brighter (%.0f) than minor (%.0f)",
              luma[0] / n_mode[0], luma[1] / n_mode[1]);
    snprintf(p1, sizeof p1, "%s/synth_info.json", a);
    char *info = NULL;
    cJSON *j = vr_read_file(p1, &info, NULL) == 0 ? cJSON_Parse(info) : NULL;
    CHECK(j && !strcmp(str(j, "preset"), "micro") && num(j, "seed") == SEED && num(j, "version") == VR_SYNTH_VERSION &&
              num(get(j, "counts"), "test-ood") == 2 && cJSON_IsTrue(get(j, "complete")),
          "synth_info.json records preset, seed, version, counts");
    cJSON_Delete(j);
    free(info);

    /* another seed gives other clips */
    char c[1024];
    snprintf(c, sizeof c, "%s/c", root);
    int64_t one[4] = {1, 0, 0, 0};
    CHECK(generate(c, NULL, one, SEED + 1, 2, CLIP_SECONDS, 0) == 0, "generate seed+1: %s", vr_error());
    snprintf(p1, sizeof p1, "%s/train/train-000000.flac", a);
    snprintf(p2, sizeof p2, "%s/train/train-000000.flac", c);
    CHECK(vr_file_exists(p2) && !same_file(p1, p2), "a different seed gives different music");
    int n1 = 0, n2 = 0;
    cJSON **m1 = read_manifest(a, "train", &n1), **m2 = read_manifest(c, "train", &n2);
    CHECK(n1 >= 1 && n2 == 1 && !cJSON_Compare(get(m1[0], "labels"), get(m2[0], "labels"), 1),
          "a different seed gives different labels");
    free_manifest(m1, n1);
    free_manifest(m2, n2);

    /* resume: delete one file of two clips, leave a stale temp; only those clips are redone */
    const char *names[] = {"train/train-000001", "test-id/test-id-000000", "val/val-000000", "test-ood/test-ood-000001"};
    ino_t ino[4][2];
    for (int i = 0; i < 4; i++) {
        snprintf(p1, sizeof p1, "%s/%s.mp4", a, names[i]);
        snprintf(p2, sizeof p2, "%s/%s.flac", a, names[i]);
        ino[i][0] = inode_of(p1);
        ino[i][1] = inode_of(p2);
    }
    snprintf(p1, sizeof p1, "%s/train/train-000001.flac", a);
    unlink(p1);
    snprintf(p1, sizeof p1, "%s/test-id/test-id-000000.mp4", a);
    unlink(p1);
    snprintf(p1, sizeof p1, "%s/val/val-000001.mp4.tmp.99999", a);
    vr_write_file_atomic(p1, "junk", 4);
    CHECK(generate(a, "micro", NULL, SEED, 2, CLIP_SECONDS, 0) == 0, "resume: %s", vr_error());
    CHECK(!vr_file_exists(p1), "resume removes stale temp files");
    for (int i = 0; i < 4; i++) {
        snprintf(p1, sizeof p1, "%s/%s.flac", a, names[i]);
        snprintf(p2, sizeof p2, "%s/%s.flac", b, names[i]);
        CHECK(same_file(p1, p2), "%s: flac identical after resume", names[i]);
        snprintf(p1, sizeof p1, "%s/%s.mp4", a, names[i]);
        snprintf(p2, sizeof p2, "%s/%s.mp4", b, names[i]);
        CHECK(same_file(p1, p2), "%s: mp4 identical after resume", names[i]);
        if (i >= 2) { /* untouched clips are kept, not rewritten */
            snprintf(p1, sizeof p1, "%s/%s.mp4", a, names[i]);
            snprintf(p2, sizeof p2, "%s/%s.flac", a, names[i]);
            CHECK(inode_of(p1) == ino[i][0] && inode_of(p2) == ino[i][1], "%s: complete clip kept on resume", names[i]);
        }
    }
    snprintf(p1, sizeof p1, "%s/train/train-000001.mp4", a);
    CHECK(inode_of(p1) != ino[0][0], "a clip missing its flac is regenerated whole");

    /* a folder from another seed or clip length is refused, untouched */
    CHECK(generate(a, "micro", NULL, SEED + 5, 2, CLIP_SECONDS, 0) != 0 && strstr(vr_error(), "seed"),
          "another seed into the same folder is refused: '%s'", vr_error());
    CHECK(generate(a, "micro", NULL, SEED, 2, 8.0, 0) != 0 && strstr(vr_error(), "clip length"),
          "another clip length is refused: '%s'", vr_error());
}

/* Kill a generation mid-way (SIGKILL, no cleanup), resume it: the result equals an uninterrupted
 * run's, byte for byte, and no temp file is left. Where the kill lands varies; the outcome must not. */
static void test_kill_resume(const char *root) {
    char k[1024], b[1024], p1[1200], p2[1200];
    snprintf(k, sizeof k, "%s/killed", root);
    snprintf(b, sizeof b, "%s/b", root);
    pid_t pid = fork();
    if (pid == 0) {
        generate(k, "micro", NULL, SEED, 2, CLIP_SECONDS, 0);
        _exit(0);
    }
    snprintf(p1, sizeof p1, "%s/train/train-000000.mp4", k); /* kill once the first clip is done */
    for (int t = 0; t < 3000 && !vr_file_exists(p1); t++) usleep(10 * 1000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK(generate(k, "micro", NULL, SEED, 2, CLIP_SECONDS, 0) == 0, "resume after kill: %s", vr_error());
    int same = 0, total = 0;
    for (int s = 0; s < 4; s++) {
        snprintf(p1, sizeof p1, "%s/%s.jsonl", k, SPLIT[s]);
        snprintf(p2, sizeof p2, "%s/%s.jsonl", b, SPLIT[s]);
        same += same_file(p1, p2), total++;
        for (int i = 0; i < 2; i++)
            for (int e = 0; e < 2; e++) {
                snprintf(p1, sizeof p1, "%s/%s/%s-%06d.%s", k, SPLIT[s], SPLIT[s], i, e ? "mp4" : "flac");
                snprintf(p2, sizeof p2, "%s/%s/%s-%06d.%s", b, SPLIT[s], SPLIT[s], i, e ? "mp4" : "flac");
                same += same_file(p1, p2), total++;
            }
    }
    CHECK(same == total, "killed + resumed equals uninterrupted: %d of %d files identical", same, total);
    snprintf(p1, sizeof p1, "find '%s' -name '*.tmp.*' | wc -l", k);
    char *out = run_capture(p1, NULL);
    CHECK(out && atoi(out) == 0, "no temp files after resume (%s)", out ? out : "?");
    free(out);
}

/* The split design on many clips, from labels alone (no media). */
static void test_splits(const char *root) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/labels", root);
    int64_t counts[4] = {600, 60, 60, 200};
    CHECK(generate(dir, NULL, counts, 3, 2, 10, 1) == 0, "labels-only generation: %s", vr_error());
    int seen[8][4] = {{0}}, ood_pairs[8][4] = {{0}}, ood_styles_in_id = 0, bad = 0, n_ood_slow = 0, n_ood_fast = 0;
    char id_styles[8][16] = {{0}}, ood_styles[8][16] = {{0}};
    int n_id_styles = 0, n_ood_styles = 0, mood_mismatch = 0;
    static const char *FAMS[8] = {"piano", "strings", "guitar", "brass", "synth_lead", "organ", "woodwind", "bass_drums"};
    static const char *PATS[4] = {"arpeggio", "chords", "groove", "melody"};
    static const char *MAJOR_PAL[4] = {"sunrise", "citrus", "coral", "meadow"};
    for (int s = 0; s < 4; s++) {
        int n = 0;
        cJSON **m = read_manifest(dir, SPLIT[s], &n);
        CHECK(n == counts[s], "%s: %d lines, expected %lld", SPLIT[s], n, (long long)counts[s]);
        for (int i = 0; i < n; i++) {
            if (!m[i]) {
                bad++;
                continue;
            }
            bad += check_clip_labels(m[i], s, 10) > 0;
            const cJSON *l = get(m[i], "labels");
            int f = -1, p = -1;
            for (int k = 0; k < 8; k++) if (!strcmp(str(l, "instrument"), FAMS[k])) f = k;
            for (int k = 0; k < 4; k++) if (!strcmp(str(l, "pattern"), PATS[k])) p = k;
            if (f < 0 || p < 0) {
                bad++;
                continue;
            }
            /* drums play under every groove and with the bass; the groove adds a bass (GM 33) */
            int drums = cJSON_IsTrue(get(l, "drums")), np = cJSON_GetArraySize(get(l, "programs")), has33 = 0;
            const cJSON *pg;
            cJSON_ArrayForEach(pg, get(l, "programs")) has33 |= pg->valueint == 33;
            if (drums != (p == 2 || f == 7) || np != (p == 2 && f != 7 ? 2 : 1) || (p == 2 && f != 7 && !has33))
                bad++, fprintf(stderr, "%s: %s %s with drums=%d and %d programs\n", str(m[i], "id"), FAMS[f], PATS[p], drums, np);
            if (s == 3) ood_pairs[f][p]++;
            else seen[f][p]++;
            const char *style = str(l, "style");
            char (*list)[16] = s == 3 ? ood_styles : id_styles;
            int *nl = s == 3 ? &n_ood_styles : &n_id_styles, found = 0;
            for (int k = 0; k < *nl; k++) found |= !strcmp(list[k], style);
            if (!found && *nl < 8) snprintf(list[(*nl)++], 16, "%s", style);
            double bpm = num(l, "tempo_bpm");
            if (s == 3) n_ood_slow += bpm < 80, n_ood_fast += bpm > 140;
            /* every shot's palette matches the mode: warm-bright for major */
            const cJSON *sp;
            cJSON_ArrayForEach(sp, get(l, "shot_palettes")) {
                int major_pal = 0;
                for (int k = 0; k < 4; k++) major_pal |= !strcmp(sp->valuestring, MAJOR_PAL[k]);
                mood_mismatch += major_pal != !strcmp(str(l, "mode"), "major");
            }
        }
        free_manifest(m, n);
    }
    CHECK(bad == 0, "%d clips with bad or inconsistent labels", bad);
    int leaked = 0, id_pairs = 0, ood_kinds = 0;
    for (int f = 0; f < 8; f++)
        for (int p = 0; p < 4; p++) {
            leaked += ood_pairs[f][p] && seen[f][p];
            id_pairs += seen[f][p] > 0;
            ood_kinds += ood_pairs[f][p] > 0;
        }
    CHECK(leaked == 0, "%d of test-ood's instrument x pattern pairs occur in train/val/test-id", leaked);
    CHECK(id_pairs == 29 && ood_kinds == 3, "train/val/test-id use 29 pairs (%d), test-ood the 3 held out (%d)", id_pairs, ood_kinds);
    for (int i = 0; i < n_ood_styles; i++)
        for (int k = 0; k < n_id_styles; k++) ood_styles_in_id += !strcmp(ood_styles[i], id_styles[k]);
    CHECK(ood_styles_in_id == 0 && n_id_styles == 4 && n_ood_styles == 2, "styles: 4 in-distribution, 2 unseen (%d shared)",
          ood_styles_in_id);
    CHECK(n_ood_slow > 40 && n_ood_fast > 40, "test-ood has slow (%d) and fast (%d) tempos", n_ood_slow, n_ood_fast);
    CHECK(mood_mismatch == 0, "%d shots with a palette of the wrong mood", mood_mismatch);
    char media[1200];
    snprintf(media, sizeof media, "%s/train/train-000000.mp4", dir);
    CHECK(!vr_file_exists(media), "labels-only renders no media");
}

static void test_bad_options(const char *root) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/bad", root);
    CHECK(generate(dir, "huge", NULL, 1, 1, 10, 1) != 0 && strstr(vr_error(), "huge"), "unknown preset: '%s'", vr_error());
    CHECK(generate(dir, "micro", NULL, 1, 1, 1.0, 1) != 0 && strstr(vr_error(), "clip length"), "1-s clips: '%s'", vr_error());
    CHECK(generate(dir, "micro", NULL, 1, 1, 4.01, 1) != 0 && strstr(vr_error(), "frames"), "4.01-s clips: '%s'", vr_error());
    vr_synth_opts o;
    vr_synth_opts_default(&o);
    o.out_dir = dir;
    o.preset = "micro";
    o.soundfont = "/nonexistent/gm.sf2";
    CHECK(vr_synth_generate(&o) != 0 && strstr(vr_error(), "/nonexistent/gm.sf2"), "missing soundfont: '%s'", vr_error());
    char *argv_help[] = {"synth", "--help"};
    char *argv_bad[] = {"synth", "tiny"};
    char *argv_opt[] = {"synth", "tiny", dir, "--jobs", "zero"};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc_help = vr_cmd_data_synth(2, argv_help);
    fclose(stdout);
    stdout = saved;
    CHECK(rc_help == 0, "--help exits 0");
    FILE *err = stderr;
    stderr = fopen("/dev/null", "w");
    int rc_bad = vr_cmd_data_synth(2, argv_bad), rc_opt = vr_cmd_data_synth(5, argv_opt);
    fclose(stderr);
    stderr = err;
    CHECK(rc_bad == 2 && rc_opt == 2, "usage errors exit 2 (%d, %d)", rc_bad, rc_opt);
}

int main(int argc, char **argv) {
    char root[1024];
    if (argc > 1) {
        snprintf(root, sizeof root, "%s", argv[1]);
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
        if (system(cmd) != 0 || vr_mkdirs(root) != 0) return fprintf(stderr, "cannot make %s\n", root), 1;
    } else {
        snprintf(root, sizeof root, "/tmp/vr_synth_XXXXXX");
        if (!mkdtemp(root)) return fprintf(stderr, "cannot make a temp folder\n"), 1;
    }
    test_fluid_history();
    test_generate(root);
    test_kill_resume(root);
    test_splits(root);
    test_bad_options(root);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
