/* test_manifest.c — JSONL manifests (good and every kind of bad line), SHA-256 vectors, the strict
 * UTF-8 validator, and the folder adapter with a fake duration probe.
 *
 * Usage: test_manifest FIXTURE_DIR   (tests/data/bad_manifests)
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "data/manifest.h"
#include "tests/check.h"

/* `vrobin data manifest` calls the media code's FFmpeg probe; this weak stand-in lets the test link
 * without the media code, and makes every probe fail (the tests pass their own fake probe). */
__attribute__((weak)) double vr_media_duration_probe(const char *path, void *ctx) {
    (void)ctx;
    return vr_fail("%s: no media probe in this test", path);
}


static const char *g_fixtures;
static char g_dir[256];

static void fixture(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_fixtures, name); }

/* ---------------------------------------------------------------- manifests */

static void test_good(void) {
    char path[512], want[600];
    fixture(path, sizeof path, "good.jsonl");
    vr_manifest *m = vr_manifest_load(path);
    CHECK(m != NULL, "load good: %s", vr_error());
    if (!m) return;
    CHECK(m->n == 5 && m->n_bad == 0, "5 entries, none bad (%d, %d): %s", m->n, m->n_bad,
          m->n_bad ? m->entries[0].error : "");
    if (m->n != 5) goto done;
    vr_manifest_entry *e = m->entries;
    snprintf(want, sizeof want, "%s/clips/beach.mp4", g_fixtures);
    CHECK(e[0].line == 2 && !strcmp(e[0].id, "beach_0") && !strcmp(e[0].video, want) && e[0].start == 0 &&
              e[0].end == 10 && e[0].music == NULL && e[0].features == NULL && !strcmp(e[0].labels_json, "{}"),
          "entry 0: line %d video %s", e[0].line, e[0].video);
    snprintf(want, sizeof want, "%s/music/beach.flac", g_fixtures);
    CHECK(e[1].line == 4 && !strcmp(e[1].text, "") && !strcmp(e[1].music, want) && e[1].start == 10.5 &&
              e[1].end == 20.5 &&
              !strcmp(e[1].labels_json, "{\"tempo\":92,\"key\":\"C minor\",\"instruments\":[\"piano\"]}"),
          "entry 1: line %d labels %s", e[1].line, e[1].labels_json);
    snprintf(want, sizeof want, "%s/feats/dance.npy", g_fixtures);
    CHECK(e[2].line == 6 && !strcmp(e[2].video, "/data/dance.mkv") && !strcmp(e[2].text, "café ♪ 音楽") &&
              !strcmp(e[2].features, want) && !strcmp(e[2].labels_json, "{}"),
          "entry 2: absolute video, UTF-8 text, features");
    CHECK(e[3].start == 3 && e[3].end < 0, "start without end: to the end of the media");
    CHECK(e[4].line == 8 && !strcmp(e[4].id, "crlf") && !strcmp(e[4].text, "dos line ending") && e[4].start == 0 &&
              e[4].end == 4,
          "CRLF line");
    char hash[65];
    CHECK(vr_manifest_hash(path, hash) == 0 && !strcmp(hash, m->sha256) && strlen(hash) == 64,
          "manifest hash equals the file's SHA-256");
done:
    vr_manifest_free(m);
}

typedef struct bad_case {
    const char *file;
    int line;          /* the bad line */
    int n_entries;     /* entries in the file (good ones load normally) */
    const char *want;  /* substring of the error after "file:line: " */
} bad_case;

static void test_bad_lines(void) {
    static const bad_case cases[] = {
        {"invalid_json.jsonl", 2, 3, "invalid JSON"},
        {"trailing_text.jsonl", 1, 1, "invalid JSON: unexpected text after the object (column 45)"},
        {"not_object.jsonl", 2, 2, "expected a JSON object"},
        {"missing_video.jsonl", 2, 2, "missing 'video'"},
        {"missing_id.jsonl", 1, 1, "missing 'id'"},
        {"empty_id.jsonl", 1, 1, "'id' must be a non-empty string"},
        {"missing_text.jsonl", 1, 1, "missing 'text'"},
        {"text_not_string.jsonl", 1, 1, "'text' must be a string"},
        {"bad_utf8_text.jsonl", 2, 2, "text is not valid UTF-8"},
        {"overlong_utf8_text.jsonl", 1, 1, "text is not valid UTF-8"},
        {"end_before_start.jsonl", 2, 2, "'end' must be a number greater than 'start' (12)"},
        {"end_not_number.jsonl", 1, 1, "'end' must be a number greater than 'start'"},
        {"negative_start.jsonl", 1, 1, "'start' must be a number >= 0"},
        {"duplicate_id.jsonl", 3, 3, "duplicate id 'clip7' (first on line 1)"},
        {"duplicate_key.jsonl", 1, 1, "duplicate key 'text'"},
        {"unknown_key.jsonl", 1, 1, "unknown key 'musc'"},
        {"labels_not_object.jsonl", 1, 1, "'labels' must be a JSON object"},
        {"bad_features.jsonl", 1, 1, "'features' must be the path of a .npy or .h5 file"},
        {"empty_music.jsonl", 1, 1, "'music' must be a non-empty path string"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bad_case *c = &cases[k];
        char path[512], want[768];
        fixture(path, sizeof path, c->file);
        vr_manifest *m = vr_manifest_load(path);
        CHECK(m != NULL, "%s: a bad line must not fail the manifest: %s", c->file, vr_error());
        if (!m) continue;
        snprintf(want, sizeof want, "%s:%d: %s", path, c->line, c->want);
        const vr_manifest_entry *bad = NULL;
        for (int i = 0; i < m->n; i++)
            if (m->entries[i].line == c->line) bad = &m->entries[i];
        CHECK(m->n == c->n_entries && m->n_bad == 1, "%s: %d entries (want %d), %d bad (want 1)", c->file, m->n,
              c->n_entries, m->n_bad);
        CHECK(bad && bad->error && strstr(bad->error, want), "%s: error '%s', want '%s'", c->file,
              bad && bad->error ? bad->error : "(none)", want);
        vr_manifest_free(m);
    }
}

static void test_fatal(void) {
    CHECK(vr_manifest_load("/nonexistent/m.jsonl") == NULL && strstr(vr_error(), "/nonexistent/m.jsonl"),
          "missing manifest: %s", vr_error());
    CHECK(vr_manifest_load(g_fixtures) == NULL && strstr(vr_error(), g_fixtures), "a folder: %s", vr_error());
    char path[300];
    snprintf(path, sizeof path, "%s/empty.jsonl", g_dir);
    vr_write_file_atomic(path, "\n# nothing\n\n", 12);
    vr_manifest *m = vr_manifest_load(path);
    CHECK(m && m->n == 0 && m->n_bad == 0, "an empty manifest has no entries");
    vr_manifest_free(m);
    /* a manifest in the current directory keeps relative paths as they are */
    snprintf(path, sizeof path, "%s/bom.jsonl", g_dir);
    const char *bom = "\xef\xbb\xbf{\"id\":\"a\",\"video\":\"v.mp4\",\"text\":\"\"}\n";
    vr_write_file_atomic(path, bom, strlen(bom));
    char cwd[512];
    if (getcwd(cwd, sizeof cwd) && chdir(g_dir) == 0) {
        m = vr_manifest_load("bom.jsonl");
        CHECK(m && m->n == 1 && m->n_bad == 0 && !strcmp(m->entries[0].video, "v.mp4"),
              "byte-order mark skipped, relative path kept: %s", m && m->n_bad ? m->entries[0].error : vr_error());
        vr_manifest_free(m);
        CHECK(chdir(cwd) == 0, "chdir back");
    }
}

/* ---------------------------------------------------------------- SHA-256 and UTF-8 */

static void test_sha256(void) {
    char hex[65];
    vr_sha256_hex("", 0, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "sha256(\"\") %s", hex);
    vr_sha256_hex("abc", 3, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "sha256(abc) %s", hex);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    vr_sha256_hex(two, strlen(two), hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "two-block vector %s", hex);

    /* 1 MB of pseudo-random bytes: one shot, odd-sized pieces, the file hash and sha256sum agree */
    size_t n = 1 << 20;
    unsigned char *buf = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
    char one[65], pieces[65], file[65], tool[65] = "";
    vr_sha256_hex(buf, n, one);
    vr_sha256_ctx c;
    uint8_t d[32];
    vr_sha256_init(&c);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 % 1000 + 1)
        vr_sha256_update(&c, buf + off, off + step <= n ? step : n - off);
    vr_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) sprintf(pieces + 2 * i, "%02x", d[i]);
    char path[300], cmd[400];
    snprintf(path, sizeof path, "%s/mb.bin", g_dir);
    vr_write_file_atomic(path, buf, n);
    free(buf);
    CHECK(vr_manifest_hash(path, file) == 0, "hash file: %s", vr_error());
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    CHECK(p && fscanf(p, "%64s", tool) == 1, "run sha256sum");
    if (p) pclose(p);
    CHECK(!strcmp(one, tool) && !strcmp(pieces, tool) && !strcmp(file, tool), "1 MB: %s / %s / %s vs sha256sum %s",
          one, pieces, file, tool);
    CHECK(vr_manifest_hash("/nonexistent/x", file) == -1 && strstr(vr_error(), "/nonexistent/x"), "missing file");
}

static void test_utf8(void) {
    static const struct {
        const char *s;
        size_t n;
        int ok;
        const char *what;
    } cases[] = {
        {"plain ascii", 11, 1, "ASCII"},
        {"", 0, 1, "empty"},
        {"a\0b", 3, 1, "U+0000 is valid"},
        {"caf\xc3\xa9", 5, 1, "2-byte"},
        {"\xe2\x82\xac", 3, 1, "euro sign"},
        {"\xef\xbf\xbf", 3, 1, "U+FFFF"},
        {"\xf0\x9d\x84\x9e", 4, 1, "U+1D11E (4-byte)"},
        {"\xf4\x8f\xbf\xbf", 4, 1, "U+10FFFF, the last code point"},
        {"\xed\x9f\xbf", 3, 1, "U+D7FF, just below the surrogates"},
        {"\xee\x80\x80", 3, 1, "U+E000, just above the surrogates"},
        {"\xc0\x80", 2, 0, "overlong NUL"},
        {"\xc0\xaf", 2, 0, "overlong '/'"},
        {"\xc1\xbf", 2, 0, "overlong 2-byte"},
        {"\xe0\x80\xaf", 3, 0, "overlong 3-byte"},
        {"\xe0\x9f\xbf", 3, 0, "overlong 3-byte (U+07FF)"},
        {"\xf0\x8f\xbf\xbf", 4, 0, "overlong 4-byte (U+FFFF)"},
        {"\xed\xa0\x80", 3, 0, "high surrogate U+D800"},
        {"\xed\xbf\xbf", 3, 0, "low surrogate U+DFFF"},
        {"\xf4\x90\x80\x80", 4, 0, "U+110000"},
        {"\xf5\x80\x80\x80", 4, 0, "lead byte F5"},
        {"\xff", 1, 0, "byte FF"},
        {"\x80", 1, 0, "lone continuation"},
        {"\xe2\x82", 2, 0, "truncated 3-byte"},
        {"ok\xf0\x9d\x84", 5, 0, "truncated 4-byte at the end"},
        {"\xe2\x28\xa1", 3, 0, "bad continuation"},
        {"\xc3\xa9\xc3", 3, 0, "truncated after a good character"},
    };
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (vr_utf8_valid(cases[k].s, cases[k].n) != cases[k].ok) {
            bad++;
            fprintf(stderr, "  utf8 case '%s': got %d\n", cases[k].what, !cases[k].ok);
        }
    CHECK(bad == 0, "%d UTF-8 cases wrong", bad);
    /* every code point encodes to something valid, every surrogate to something invalid */
    int wrong = 0;
    for (uint32_t cp = 0x80; cp <= 0x10ffff; cp++) {
        unsigned char b[4];
        size_t n;
        if (cp < 0x800) b[0] = (unsigned char)(0xc0 | cp >> 6), b[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
        else if (cp < 0x10000)
            b[0] = (unsigned char)(0xe0 | cp >> 12), b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
            b[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
        else
            b[0] = (unsigned char)(0xf0 | cp >> 18), b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
            b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), b[3] = (unsigned char)(0x80 | (cp & 0x3f)), n = 4;
        int surrogate = cp >= 0xd800 && cp <= 0xdfff;
        wrong += vr_utf8_valid((const char *)b, n) == surrogate;
    }
    CHECK(wrong == 0, "%d code points judged wrongly", wrong);
}

/* ---------------------------------------------------------------- folder adapter */

typedef struct fake_media {
    const char *name; /* basename */
    double duration;  /* < 0: the probe fails */
} fake_media;

static const fake_media FAKE[] = {
    {"a.mp4", 25.0}, {"c.mkv", 10.0}, {"short.webm", 5.0}, {"broken.mov", -1}, {"x.MP4", 20.000000001},
    {"d.avi", 12.0}, {"d.mp4", 30.0}, {"e.mpg", 11.0},     {"bad_caption.mp4", 20.0},
};

static int g_probes;

static double fake_probe(const char *path, void *ctx) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    g_probes++;
    CHECK(ctx == (void *)FAKE, "the probe gets its context");
    for (size_t k = 0; k < sizeof FAKE / sizeof FAKE[0]; k++)
        if (!strcmp(FAKE[k].name, base)) {
            if (FAKE[k].duration < 0) return vr_fail("%s: not a media file", path);
            return FAKE[k].duration;
        }
    return vr_fail("%s: unexpected probe", path);
}

static void put(const char *dir, const char *rel, const char *content) {
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    vr_mkdirs(path);
    *slash = '/';
    vr_write_file_atomic(path, content, strlen(content));
}

static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static void test_folder(void) {
    char root[300], videos[320], out[340];
    snprintf(root, sizeof root, "%s/folder", g_dir);
    snprintf(videos, sizeof videos, "%s/videos", root);
    put(videos, "a.mp4", "fake");
    put(videos, "a.txt", "  A warm caption.\n\n");
    put(videos, "b/c.mkv", "fake");
    put(videos, "short.webm", "fake");
    put(videos, "broken.mov", "fake");
    put(videos, "x.MP4", "fake");
    put(videos, "d.avi", "fake");
    put(videos, "d.mp4", "fake"); /* same stem as d.avi: skipped */
    put(videos, "d.txt", "for d");
    put(videos, "b/e.mpg", "fake");
    put(videos, "b/e.txt", "ünïcödé 🎵");
    put(videos, "bad_caption.mp4", "fake");
    put(videos, "bad_caption.txt", "bad \xff byte");
    put(videos, ".hidden.mp4", "fake");
    put(videos, ".git/z.mp4", "fake");
    put(videos, "notes.md", "not a video");
    put(videos, "bad\xffname.mp4", "fake"); /* not UTF-8: skipped before probing */

    vr_log_level saved = vr_log_get_level();
    vr_log_set_level(VR_LOG_ERROR); /* the skipped videos warn */
    snprintf(out, sizeof out, "%s/manifest.jsonl", root);
    g_probes = 0;
    int n = vr_manifest_from_folder(videos, out, 10, 10, fake_probe, (void *)FAKE);
    vr_log_set_level(saved);
    /* a: 25 s -> [0,10] [10,20]; b/c: 10 s -> [0,10]; b/e: 11 s -> [0,10]; d (the .avi): 12 s -> [0,10];
     * x: 20.000000001 s -> [0,10] [10,20]; short, broken, bad_caption, bad\xffname and d.mp4 are skipped */
    CHECK(n == 7, "clips: %d (%s)", n, vr_error());
    CHECK(g_probes == 7, "probed 7 videos (not the duplicate, the bad caption or the bad name): %d", g_probes);
    CHECK(count_tmp(root) == 0, "no temp file left");
    vr_manifest *m = vr_manifest_load(out);
    CHECK(m && m->n == 7 && m->n_bad == 0, "the written manifest loads cleanly: %s",
          m && m->n_bad ? m->entries[0].error : vr_error());
    static const char *ids[] = {"a_0", "a_1", "b/c_0", "b/e_0", "d_0", "x_0", "x_1"};
    if (m && m->n == 7) {
        int order = 1;
        for (int i = 0; i < 7; i++) order &= !strcmp(m->entries[i].id, ids[i]);
        CHECK(order, "ids in sorted order: %s %s %s %s %s %s %s", m->entries[0].id, m->entries[1].id,
              m->entries[2].id, m->entries[3].id, m->entries[4].id, m->entries[5].id, m->entries[6].id);
        char want[600];
        snprintf(want, sizeof want, "%s/a.mp4", videos);
        CHECK(!strcmp(m->entries[1].video, want) && vr_file_exists(m->entries[1].video), "video path %s",
              m->entries[1].video);
        CHECK(m->entries[1].start == 10 && m->entries[1].end == 20 && !strcmp(m->entries[1].text, "A warm caption."),
              "window and trimmed caption: '%s'", m->entries[1].text);
        CHECK(!strcmp(m->entries[2].text, "") && !strcmp(m->entries[3].text, "ünïcödé 🎵") &&
                  !strcmp(m->entries[4].text, "for d"),
              "captions: none, UTF-8, the shared stem's");
        snprintf(want, sizeof want, "%s/d.avi", videos);
        CHECK(!strcmp(m->entries[4].video, want), "the first of two same-stem videos wins: %s", m->entries[4].video);
    }
    vr_manifest_free(m);
    /* paths are written relative to the manifest when the folder is inside its directory */
    char *text = NULL;
    size_t len = 0;
    vr_read_file(out, &text, &len);
    CHECK(text && !strncmp(text, "{\"id\":\"a_0\",\"video\":\"videos/a.mp4\",\"text\":\"A warm caption.\",\"start\":0,"
                                 "\"end\":10}\n", 80),
          "first line: %.120s", text ? text : "");
    free(text);

    /* overlapping windows; the manifest elsewhere gets absolute paths */
    snprintf(out, sizeof out, "%s/elsewhere/m.jsonl", g_dir);
    vr_log_set_level(VR_LOG_ERROR);
    n = vr_manifest_from_folder(videos, out, 10, 5, fake_probe, (void *)FAKE);
    vr_log_set_level(saved);
    /* a 25 s: 0,5,10,15 -> 4; c 10 s: 1; e 11 s: 1; d 12 s: 1; x 20 s: 0,5,10 -> 3 */
    CHECK(n == 10, "stride 5: %d clips", n);
    m = vr_manifest_load(out);
    if (m && m->n == 10) {
        CHECK(!strcmp(m->entries[3].id, "a_3") && m->entries[3].start == 15 && m->entries[3].end == 25 &&
                  m->entries[0].video[0] == '/',
              "last window fits exactly; absolute paths (%s %g-%g %s)", m->entries[3].id, m->entries[3].start,
              m->entries[3].end, m->entries[0].video);
    } else CHECK(0, "stride 5 manifest: %s", vr_error());
    vr_manifest_free(m);

    /* fractional windows print cleanly (0.1 * 3 is not 0.3 in binary) */
    n = vr_manifest_from_folder(videos, out, 0.1, 0.1, fake_probe, (void *)FAKE);
    vr_read_file(out, &text, &len);
    CHECK(n > 0 && text && strstr(text, "\"start\":0.3,\"end\":0.4}"), "rounded times");
    free(text);

    CHECK(vr_manifest_from_folder(videos, out, 0, 10, fake_probe, NULL) == -1 && strstr(vr_error(), "positive"),
          "zero window: %s", vr_error());
    CHECK(vr_manifest_from_folder("/nonexistent/v", out, 10, 10, fake_probe, NULL) == -1 &&
              strstr(vr_error(), "/nonexistent/v"),
          "missing folder: %s", vr_error());
    CHECK(vr_manifest_from_folder(out, out, 10, 10, fake_probe, NULL) == -1 && strstr(vr_error(), "not a folder"),
          "a file as folder: %s", vr_error());
}

/* swap-prompts: each clip takes the caption of the next clip (from --shift on, cyclically) naming
 * another instrument; every candidate is searched, including the one just before the clip. */
static void test_swap_prompts(void) {
    char dir[300], in[340], out[340], line[4096];
    snprintf(dir, sizeof dir, "%s/swap", g_dir);
    put(dir, "a.wav", "fake");
    put(dir, "a.mp4", "fake");
    const char *instr[] = {"piano", "piano", "flute", "piano"};
    char manifest[2048] = "";
    for (int i = 0; i < 4; i++) {
        char l[400];
        snprintf(l, sizeof l,
                 "{\"id\":\"c%d\",\"video\":\"a.mp4\",\"music\":\"a.wav\",\"text\":\"a %s tune\","
                 "\"labels\":{\"instrument\":\"%s\",\"tempo\":%d}}\n",
                 i, instr[i], instr[i], 100 + i);
        strcat(manifest, l);
    }
    put(dir, "m.jsonl", manifest);
    snprintf(in, sizeof in, "%s/m.jsonl", dir);
    snprintf(out, sizeof out, "%s/swapped.jsonl", dir);
    /* shift 3 from clip 0 visits c3 (piano), c0 (itself), c1 (piano), then c2 (flute) */
    CHECK(vr_swap_prompts(in, out, 3) == 4, "swap-prompts writes 4 clips: %s", vr_error());
    FILE *f = fopen(out, "r");
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "labels");
        const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id"));
        const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "prompt_from"));
        const char *inst = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(l, "instrument"));
        const cJSON *tempo = cJSON_GetObjectItemCaseSensitive(l, "tempo");
        CHECK(id && from && inst && cJSON_IsNumber(tempo), "line %d has id, prompt_from, instrument, tempo", n + 1);
        if (id && from && inst && cJSON_IsNumber(tempo)) {
            CHECK(!strcmp(id, (char[]){'c', (char)('0' + n), 0}), "clip order kept: %s", id);
            CHECK(tempo->valueint == 100 + n, "%s keeps its own tempo (%d)", id, tempo->valueint);
            if (n == 2) CHECK(strcmp(inst, "flute"), "%s (flute) takes a piano prompt: %s from %s", id, inst, from);
            else CHECK(!strcmp(from, "c2") && !strcmp(inst, "flute"), "%s takes c2's flute prompt: %s from %s", id,
                       inst, from);
        }
        cJSON_Delete(o);
        n++;
    }
    if (f) fclose(f);
    CHECK(n == 4, "4 lines written (%d)", n);

    /* a missing file is named with the manifest's full path and line, however long the path */
    char deep[1200];
    snprintf(deep, sizeof deep, "%s/%0200d/%0200d/%0200d", dir, 1, 2, 3);
    put(deep, "m.jsonl", "{\"id\":\"x\",\"video\":\"gone.wav\",\"text\":\"t\",\"labels\":{\"instrument\":\"a\"}}\n"
                         "{\"id\":\"y\",\"video\":\"gone.wav\",\"text\":\"t\",\"labels\":{\"instrument\":\"b\"}}\n");
    char deep_in[1300], deep_out[1300];
    snprintf(deep_in, sizeof deep_in, "%s/m.jsonl", deep);
    snprintf(deep_out, sizeof deep_out, "%s/out.jsonl", deep);
    char expect[1400];
    snprintf(expect, sizeof expect, "%s:1:", deep_in);
    CHECK(vr_swap_prompts(deep_in, deep_out, 1) < 0 && strstr(vr_error(), expect) && strstr(vr_error(), "gone.wav"),
          "a missing video file is named with the whole manifest path and line: %.120s...", vr_error());
    CHECK(!vr_file_exists(deep_out) && count_tmp(deep) == 0, "a refused swap leaves no output and no temp file");
}

static void test_cli(void) {
    char *help[] = {"manifest", "--help"};
    char *no_out[] = {"manifest", g_dir};
    char *bad_window[] = {"manifest", g_dir, "-o", "x.jsonl", "--window", "ten"};
    char *two[] = {"manifest", g_dir, g_dir, "-o", "x.jsonl"};
    char out[300], folder[300];
    snprintf(out, sizeof out, "%s/cli.jsonl", g_dir);
    snprintf(folder, sizeof folder, "%s/folder/videos", g_dir);
    char *run[] = {"manifest", folder, "-o", out, "--window", "5"};
    CHECK(vr_cmd_data_manifest(2, help) == 0, "--help exits 0");
    CHECK(vr_cmd_data_manifest(2, no_out) == 2, "no -o: usage error");
    CHECK(vr_cmd_data_manifest(6, bad_window) == 2, "bad --window: usage error");
    CHECK(vr_cmd_data_manifest(5, two) == 2, "two folders: usage error");
    vr_log_level saved = vr_log_get_level();
    vr_log_set_level(VR_LOG_ERROR);
    int rc = vr_cmd_data_manifest(6, run);
    vr_log_set_level(saved);
    CHECK(rc == 1 && vr_file_exists(out), "no probe-able video: exit 1 with an empty manifest (%d)", rc);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    g_fixtures = argv[1];
    snprintf(g_dir, sizeof g_dir, "%s/vrobin_test_manifest_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_good();
    test_bad_lines();
    test_fatal();
    test_sha256();
    test_utf8();
    test_folder();
    test_cli();
    test_swap_prompts();
    remove_tree(g_dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
