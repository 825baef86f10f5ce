/* test_safetensors.c — the safetensors reader/writer (core/safetensors.c).
 *
 *   test_safetensors [--bad-dir DIR]     unit tests; DIR = the hostile-file corpus
 *                                        (default tests/safetensors_bad)
 *   test_safetensors write-fixture PATH  write the interop fixture for tests/python/st_roundtrip.py
 *   test_safetensors check-fixture PATH  check the fixture Python wrote
 *
 * The fixture (13 tensors, every common dtype, a scalar, a zero-size tensor, a non-ASCII name,
 * metadata with quotes/backslash/newline/UTF-8) is defined identically in st_roundtrip.py.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "tests/check.h"


static char g_dir[256];  /* scratch directory */

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

/* A file image: 8-byte length + header (as given, no padding) + data. */
static uint8_t *image(const char *hdr, const void *data, size_t n, size_t *len) {
    size_t h = strlen(hdr);
    uint8_t *buf = malloc(8 + h + n + 1);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, hdr, h);
    if (n) memcpy(buf + 8 + h, data, n);
    *len = 8 + h + n;
    return buf;
}

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(p, 1, n, fp);
    return (fclose(fp) == 0 && w == n) ? 0 : -1;
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len + 1);
    *n = fread(buf, 1, (size_t)len, fp);
    fclose(fp);
    return buf;
}

static int count_tmp_files(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* ---------------------------------------------------------------- dtypes */

static void test_dtypes(void) {
    static const size_t sizes[ST_N_DTYPES] = {8, 4, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8, 1, 1};
    for (int i = 0; i < ST_N_DTYPES; i++) {
        st_dtype d;
        CHECK(st_dtype_size((st_dtype)i) == sizes[i], "size of %s", st_dtype_name((st_dtype)i));
        CHECK(st_dtype_from_name(st_dtype_name((st_dtype)i), &d) == 0 && d == (st_dtype)i, "name round trip %d", i);
    }
    st_dtype d;
    CHECK(st_dtype_from_name("F128", &d) == -1 && strstr(vr_error(), "F128"), "unknown dtype: %s", vr_error());
    CHECK(st_dtype_size((st_dtype)99) == 0 && !strcmp(st_dtype_name((st_dtype)99), "?"), "invalid dtype value");
}

/* ---------------------------------------------------------------- round trip */

#define RT_N (ST_N_DTYPES + 4)

static void test_roundtrip(void) {
    /* one [2,3] tensor per dtype with distinct bytes, plus a scalar, zero-size and 8-dim tensor */
    static uint8_t bufs[ST_N_DTYPES][6 * 8];
    char names[RT_N][32];
    st_writer *w = st_writer_new();
    int64_t shape23[2] = {2, 3};
    for (int d = 0; d < ST_N_DTYPES; d++) {
        for (size_t k = 0; k < sizeof bufs[d]; k++) bufs[d][k] = (uint8_t)(k * 37 + d * 11 + 1);
        snprintf(names[d], sizeof names[d], "layer.%d.%s", d, st_dtype_name((st_dtype)d));
        CHECK(st_writer_add(w, names[d], (st_dtype)d, 2, shape23, bufs[d], 6 * st_dtype_size((st_dtype)d)) == 0,
              "add %s: %s", names[d], vr_error());
    }
    double scalar = -3.75;
    int64_t zero_shape[3] = {3, 0, 2}, shape8[8] = {1, 2, 1, 2, 1, 1, 1, 2};
    int64_t i64s[8] = {1, -2, 3, -4, 5, 1LL << 62, 7, -(1LL << 62)};
    CHECK(st_writer_add(w, "scalar", ST_F64, 0, NULL, &scalar, 8) == 0, "add scalar: %s", vr_error());
    CHECK(st_writer_add(w, "empty", ST_BF16, 3, zero_shape, NULL, 0) == 0, "add zero-size: %s", vr_error());
    CHECK(st_writer_add(w, "eight_dims", ST_I64, 8, shape8, i64s, sizeof i64s) == 0, "add 8 dims: %s", vr_error());
    CHECK(st_writer_add(w, "empty_last", ST_U8, 1, (int64_t[]){0}, NULL, 0) == 0, "add zero-size last");
    CHECK(st_writer_meta(w, "format", "pt") == 0, "meta");
    CHECK(st_writer_meta(w, "note", "h\xc3\xa9llo \"q\" \\ back\nslash\ttab \x01") == 0, "meta with escapes");
    CHECK(st_writer_meta(w, "", "empty key is fine") == 0, "meta empty key");
    const char *path = tmp_path("rt.safetensors");
    CHECK(st_writer_write(w, path) == 0, "write: %s", vr_error());
    CHECK(st_writer_write(w, path) == 0, "write again (overwrite): %s", vr_error());
    st_writer_free(w);
    CHECK(count_tmp_files() == 0, "no temp files left");

    /* the header is 8-byte aligned and padded with spaces */
    size_t n = 0;
    uint8_t *raw = read_bytes(path, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | raw[i];
    CHECK(hlen % 8 == 0 && 8 + hlen <= n, "header length %llu aligned", (unsigned long long)hlen);
    CHECK(raw[8] == '{', "header starts with {");
    size_t last = 8 + hlen - 1;
    while (raw[last] == ' ') last--;
    CHECK(raw[last] == '}', "header is JSON then spaces");

    st_file *f = st_open(path);
    CHECK(f != NULL, "open: %s", vr_error());
    if (!f) {
        free(raw);
        return;
    }
    CHECK(f->n_tensors == RT_N, "n_tensors %d", f->n_tensors);
    CHECK(!strcmp(f->path, path), "path");
    /* sorted by offset == insertion order, zero-size ones included */
    for (int d = 0; d < ST_N_DTYPES; d++) {
        const st_tensor *t = st_find(f, names[d]);
        CHECK(t == &f->tensors[d], "find %s in insertion order", names[d]);
        if (!t) continue;
        CHECK(t->dtype == (st_dtype)d && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3, "%s type/shape",
              names[d]);
        CHECK(st_numel(t) == 6 && t->end - t->begin == 6 * st_dtype_size((st_dtype)d), "%s size", names[d]);
        CHECK(!memcmp(st_tensor_data(f, t), bufs[d], 6 * st_dtype_size((st_dtype)d)), "%s bytes", names[d]);
    }
    const st_tensor *t = st_find(f, "scalar");
    double got;
    CHECK(t && t->ndim == 0 && st_numel(t) == 1 && t->dtype == ST_F64, "scalar");
    if (t) memcpy(&got, st_tensor_data(f, t), 8);
    CHECK(t && got == -3.75, "scalar value");
    t = st_find(f, "empty");
    CHECK(t && t->ndim == 3 && t->shape[1] == 0 && st_numel(t) == 0 && t->begin == t->end, "zero-size tensor");
    CHECK(t && st_tensor_data(f, t) != NULL, "zero-size tensor has a (valid, empty) data pointer");
    t = st_find(f, "eight_dims");
    CHECK(t && t->ndim == 8 && st_numel(t) == 8 && !memcmp(st_tensor_data(f, t), i64s, sizeof i64s), "8 dims");
    t = st_find(f, "empty_last");
    CHECK(t && t->begin == f->data_len && t->end == f->data_len, "zero-size tensor at the very end");
    CHECK(st_find(f, "nope") == NULL && st_find(f, "") == NULL, "find missing -> NULL");
    CHECK(f->n_meta == 3 && st_meta(f, "format") && !strcmp(st_meta(f, "format"), "pt"), "meta format");
    CHECK(st_meta(f, "note") && !strcmp(st_meta(f, "note"), "h\xc3\xa9llo \"q\" \\ back\nslash\ttab \x01"),
          "meta escapes survive");
    CHECK(st_meta(f, "") && st_meta(f, "missing") == NULL, "meta lookups");
    CHECK(f->data_len == n - 8 - hlen && f->data == (const uint8_t *)f->map_ + 8 + hlen, "data buffer bounds");

    /* the same bytes through st_open_memory */
    st_file *m = st_open_memory(raw, n, "mem");
    CHECK(m && m->n_tensors == RT_N && m->data == raw + 8 + hlen && !strcmp(m->path, "mem"), "open_memory: %s",
          vr_error());
    st_close(m);
    st_close(f);
    free(raw);
}

/* ---------------------------------------------------------------- writer checks */

static void test_writer_errors(void) {
    st_writer *w = st_writer_new();
    float x[6] = {0};
    int64_t s23[2] = {2, 3}, neg[1] = {-1}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(st_writer_add(w, "a", ST_F32, 2, s23, x, 20) == -1 && strstr(vr_error(), "needs 24"), "nbytes: %s",
          vr_error());
    CHECK(st_writer_add(w, "a", ST_F32, 2, s23, x, 24) == 0, "add a");
    CHECK(st_writer_add(w, "a", ST_F32, 2, s23, x, 24) == -1 && strstr(vr_error(), "duplicate tensor name 'a'"),
          "dup: %s", vr_error());
    CHECK(st_writer_add(w, "", ST_F32, 2, s23, x, 24) == -1 && strstr(vr_error(), "empty"), "empty name");
    CHECK(st_writer_add(w, "__metadata__", ST_F32, 2, s23, x, 24) == -1, "reserved name");
    CHECK(st_writer_add(w, "b", ST_F32, 1, neg, x, 0) == -1 && strstr(vr_error(), "shape[0]"), "negative dim");
    CHECK(st_writer_add(w, "b", ST_F32, 9, s9, x, 4) == -1 && strstr(vr_error(), "at most 8"), "9 dims");
    CHECK(st_writer_add(w, "b", (st_dtype)42, 1, s23, x, 8) == -1 && strstr(vr_error(), "invalid dtype"), "dtype");
    CHECK(st_writer_add(w, "b\xff", ST_F32, 1, s23, x, 8) == -1 && strstr(vr_error(), "UTF-8"), "bad UTF-8 name");
    CHECK(st_writer_add(w, "b", ST_F32, 1, s23, NULL, 8) == -1 && strstr(vr_error(), "NULL data"), "NULL data");
    int64_t big[3] = {1LL << 40, 1LL << 40, 1LL << 40};
    CHECK(st_writer_add(w, "b", ST_F32, 3, big, x, 4) == -1 && strstr(vr_error(), "overflow"), "overflow: %s",
          vr_error());
    CHECK(st_writer_meta(w, "k", "v") == 0 && st_writer_meta(w, "k", "w") == -1 &&
              strstr(vr_error(), "duplicate metadata key 'k'"),
          "dup meta key");
    CHECK(st_writer_meta(w, "k2", "\xc3") == -1 && strstr(vr_error(), "UTF-8"), "bad UTF-8 meta");
    /* a write into a missing directory fails cleanly */
    CHECK(st_writer_write(w, tmp_path("no/such/dir.safetensors")) == -1 && strstr(vr_error(), "no/such/dir"),
          "write into missing dir: %s", vr_error());
    CHECK(count_tmp_files() == 0, "no temp files after failures");
    /* an empty writer writes a valid empty file */
    st_writer *e = st_writer_new();
    const char *p = tmp_path("empty.safetensors");
    CHECK(st_writer_write(e, p) == 0, "write empty");
    st_file *f = st_open(p);
    CHECK(f && f->n_tensors == 0 && f->n_meta == 0 && f->data_len == 0, "empty file reads back: %s", vr_error());
    st_close(f);
    st_writer_free(e);
    st_writer_free(w);
}

/* ---------------------------------------------------------------- hostile files */

static void test_bad_corpus(const char *dir) {
    char *path = NULL;
    if (asprintf(&path, "%s/expected.txt", dir) < 0) return;
    FILE *fp = fopen(path, "r");
    CHECK(fp != NULL, "cannot open %s (run from the repository root or pass --bad-dir)", path);
    free(path);
    if (!fp) return;
    char line[1024];
    int n = 0;
    char *listed[256];
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        CHECK(tab != NULL, "bad line in expected.txt: %s", line);
        if (!tab) continue;
        *tab = '\0';
        const char *name = line, *expect = tab + 1;
        if (n < 256) listed[n] = strdup(name);
        n++;
        if (asprintf(&path, "%s/%s", dir, name) < 0) break;
        vr_clear_error();
        st_file *f = st_open(path);
        CHECK(f == NULL, "%s: accepted, expected an error containing \"%s\"", name, expect);
        st_close(f);
        CHECK(strstr(vr_error(), expect) && strstr(vr_error(), path), "%s: error \"%s\" lacks \"%s\" or the path",
              name, vr_error(), expect);
        /* the same through the in-memory path */
        size_t len = 0;
        uint8_t *buf = read_bytes(path, &len);
        f = st_open_memory(buf, len, name);
        CHECK(f == NULL && strstr(vr_error(), expect) && !strncmp(vr_error(), name, strlen(name)),
              "%s (memory): error \"%s\"", name, vr_error());
        st_close(f);
        free(buf);
        free(path);
    }
    fclose(fp);
    CHECK(n >= 40, "expected.txt lists %d files", n);
    /* every committed bad file is listed, so none is silently skipped */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strstr(e->d_name, ".safetensors")) continue;
        int found = 0;
        for (int i = 0; i < n && i < 256; i++) found |= !strcmp(listed[i], e->d_name);
        CHECK(found, "%s is not listed in expected.txt", e->d_name);
    }
    if (d) closedir(d);
    for (int i = 0; i < n && i < 256; i++) free(listed[i]);
    printf("bad corpus: %d files rejected as expected\n", n);
}

static void test_open_errors(void) {
    const char *missing = tmp_path("missing.safetensors");
    CHECK(st_open(missing) == NULL && strstr(vr_error(), missing) && strstr(vr_error(), "No such file"),
          "missing file: %s", vr_error());
    CHECK(st_open(g_dir) == NULL && strstr(vr_error(), "not a regular file"), "directory: %s", vr_error());
    CHECK(st_print_summary(missing, stdout) == -1 && strstr(vr_error(), missing), "summary of a missing file");

    /* huge header lengths: the length is checked before anything is allocated or read */
    uint8_t hdr[16] = {0};
    memcpy(hdr + 8, "{}      ", 8);
    uint64_t lens[] = {~0ull, 1ull << 63, 100000001ull, 100000000ull, 9};
    const char *want[] = {"exceeds the limit", "exceeds the limit", "exceeds the limit", "larger than the rest",
                          "larger than the rest"};
    for (int k = 0; k < 5; k++) {
        for (int i = 0; i < 8; i++) hdr[i] = (uint8_t)(lens[k] >> (8 * i));
        st_file *f = st_open_memory(hdr, sizeof hdr, "huge");
        CHECK(!f && strstr(vr_error(), want[k]) && strstr(vr_error(), "huge: "), "header length %llu: %s",
              (unsigned long long)lens[k], vr_error());
        const char *p = tmp_path("huge.safetensors");
        write_bytes(p, hdr, sizeof hdr);
        f = st_open(p);
        CHECK(!f && strstr(vr_error(), want[k]), "file with header length %llu: %s", (unsigned long long)lens[k],
              vr_error());
        unlink(p);
    }
    CHECK(st_open_memory(NULL, 0, NULL) == NULL && strstr(vr_error(), "<memory>: file is too short"),
          "empty buffer: %s", vr_error());
    const char *p = tmp_path("short.safetensors");
    write_bytes(p, "abc", 3);
    CHECK(st_open(p) == NULL && strstr(vr_error(), "too short") && strstr(vr_error(), p), "short: %s", vr_error());
    unlink(p);
}

/* Files the official tooling can produce, or that are odd but legal. */
static void test_valid_edge_cases(void) {
    struct {
        const char *hdr;
        size_t data_len;
        int n_tensors;
        const char *why;
    } cases[] = {
        {"{}", 0, 0, "empty header object, no data, unaligned length"},
        {"{}      ", 0, 0, "padded empty header"},
        {" \n\t{} ", 0, 0, "leading JSON whitespace"},
        {"{\"__metadata__\":{}}", 0, 0, "empty metadata"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
         "\"a\":{\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"I32\"}}",
         8, 2, "entries out of offset order, fields in any order, scalar"},
        {"{\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
         "\"z2\":{\"dtype\":\"F64\",\"shape\":[5,0,7],\"data_offsets\":[0,0]}}",
         0, 2, "two zero-size tensors at the same offset"},
        {"{\"big0\":{\"dtype\":\"U8\",\"shape\":[9007199254740991,0],\"data_offsets\":[0,0]}}", 0, 1,
         "zero-size with a huge other dim (no overflow: numel is 0)"},
        {"{\"na\\u00efve\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]},"
         "\"u\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[2,10]}}",
         10, 2, "escaped unicode name, typed-only dtypes"},
        {"{\"\\ud83d\\ude00\":{\"dtype\":\"BOOL\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, 1,
         "surrogate-pair name, 8 dims"},
    };
    uint8_t data[16] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len;
        uint8_t *img = image(cases[c].hdr, data, cases[c].data_len, &len);
        st_file *f = st_open_memory(img, len, "edge");
        CHECK(f && f->n_tensors == cases[c].n_tensors && f->data_len == cases[c].data_len, "%s: %s", cases[c].why,
              f ? "wrong counts" : vr_error());
        if (f && f->n_tensors == 2)
            CHECK(f->tensors[0].begin <= f->tensors[1].begin, "%s: sorted by offset", cases[c].why);
        st_close(f);
        free(img);
    }
    /* names decoded from escapes are UTF-8 */
    size_t len;
    uint8_t *img = image(cases[7].hdr, data, 10, &len);
    st_file *f = st_open_memory(img, len, "edge");
    CHECK(f && st_find(f, "na\xc3\xafve") && st_find(f, "na\xc3\xafve")->dtype == ST_F8_E4M3, "escaped name found");
    st_close(f);
    free(img);

    /* st_parse_header alone: no data pointer, validates against the given length */
    const char *h = "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}   ";
    st_file hf;
    CHECK(st_parse_header(h, strlen(h), 4, &hf) == 0 && hf.n_tensors == 1 && hf.data == NULL &&
              st_tensor_data(&hf, &hf.tensors[0]) == NULL,
          "parse_header: %s", vr_error());
    st_header_free(&hf);
    CHECK(st_parse_header(h, strlen(h), 6, &hf) == -1 && strstr(vr_error(), "data not fully covered") &&
              hf.tensors == NULL,
          "parse_header checks coverage: %s", vr_error());
    CHECK(st_parse_header(h, 0, 0, &hf) == -1 && strstr(vr_error(), "empty"), "parse_header of nothing");
    /* a header cut mid-string (no NUL terminator after it in memory) */
    char cut[8] = {'{', '"', 'a', '\\', '"', '\\', 'u', '0'};
    CHECK(st_parse_header(cut, sizeof cut, 0, &hf) == -1, "parse_header of a truncated string");
}

/* ---------------------------------------------------------------- summary */

static void test_summary(void) {
    st_writer *w = st_writer_new();
    float xs[5] = {1.0f, -2.0f, NAN, INFINITY, 4.0f};
    uint16_t f16[3] = {0x3C00, 0xB800, 0x7BFF};  /* 1, -0.5, 65504 */
    uint16_t bf16[2] = {0x3F80, 0xC020};         /* 1, -2.5 */
    int32_t ints[2] = {7, 8};
    st_writer_add(w, "w.f32", ST_F32, 1, (int64_t[]){5}, xs, sizeof xs);
    st_writer_add(w, "w.f16", ST_F16, 1, (int64_t[]){3}, f16, sizeof f16);
    st_writer_add(w, "w.bf16", ST_BF16, 2, (int64_t[]){1, 2}, bf16, sizeof bf16);
    st_writer_add(w, "ints", ST_I32, 1, (int64_t[]){2}, ints, sizeof ints);
    st_writer_add(w, "none", ST_F32, 2, (int64_t[]){0, 4}, NULL, 0);
    st_writer_meta(w, "step", "1200");
    const char *p = tmp_path("sum.safetensors");
    CHECK(st_writer_write(w, p) == 0, "write summary file");
    st_writer_free(w);
    char *text = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    CHECK(st_print_summary(p, out) == 0, "summary: %s", vr_error());
    fclose(out);
    CHECK(strstr(text, p) && strstr(text, "5 tensors") && strstr(text, "step = 1200"), "summary head:\n%s", text);
    CHECK(strstr(text, "min -2  max 4  mean 1  non-finite 2"), "f32 stats:\n%s", text);
    CHECK(strstr(text, "min -0.5  max 65504"), "f16 stats:\n%s", text);
    CHECK(strstr(text, "min -2.5  max 1  mean -0.75  non-finite 0"), "bf16 stats:\n%s", text);
    CHECK(strstr(text, "[1, 2]") && strstr(text, "(empty)") && strstr(text, "I32"), "shapes/dtypes:\n%s", text);
    free(text);
}

/* ---------------------------------------------------------------- interop fixture */

/* Must match FIXTURE in tests/python/st_roundtrip.py. */
#define FX_N 13
static const char *FX_NOTE = "h\xc3\xa9llo \"quoted\" \\ back\nslash \xe2\x9c\x93";
static const char *FX_NAME = "na\xc3\xafve.w\xc3\xa9ight";

static int fixture_write(const char *path) {
    float f32[6], scalar = 42.5f, odd = 3.25f;
    double f64[4];
    for (int i = 0; i < 6; i++) f32[i] = i * 0.5f - 1.0f;
    for (int i = 0; i < 4; i++) f64[i] = i / 3.0;
    int64_t i64[3] = {-(1LL << 40), 0, (1LL << 53) + 1};
    uint8_t u8[5] = {0, 1, 127, 128, 255}, boo[4] = {1, 0, 0, 1};
    uint16_t bf16[4] = {0x3F80, 0xC020, 0x3E20, 0x7F80};  /* 1, -2.5, 0.15625, inf */
    uint16_t f16[3] = {0x3C00, 0xB800, 0x7BFF};           /* 1, -0.5, 65504 */
    int32_t i32[2] = {-7, 2147483647};
    int16_t i16[2] = {-32768, 12345};
    int8_t i8[3] = {-128, 0, 127};
    st_writer *w = st_writer_new();
    int rc = st_writer_meta(w, "format", "pt") || st_writer_meta(w, "note", FX_NOTE) ||
             st_writer_add(w, "f32", ST_F32, 2, (int64_t[]){2, 3}, f32, sizeof f32) ||
             st_writer_add(w, "f64", ST_F64, 1, (int64_t[]){4}, f64, sizeof f64) ||
             st_writer_add(w, "i64", ST_I64, 1, (int64_t[]){3}, i64, sizeof i64) ||
             st_writer_add(w, "u8", ST_U8, 1, (int64_t[]){5}, u8, sizeof u8) ||
             st_writer_add(w, "bf16", ST_BF16, 2, (int64_t[]){2, 2}, bf16, sizeof bf16) ||
             st_writer_add(w, "f16", ST_F16, 1, (int64_t[]){3}, f16, sizeof f16) ||
             st_writer_add(w, "i32", ST_I32, 1, (int64_t[]){2}, i32, sizeof i32) ||
             st_writer_add(w, "i16", ST_I16, 1, (int64_t[]){2}, i16, sizeof i16) ||
             st_writer_add(w, "i8", ST_I8, 1, (int64_t[]){3}, i8, sizeof i8) ||
             st_writer_add(w, "bool", ST_BOOL, 1, (int64_t[]){4}, boo, sizeof boo) ||
             st_writer_add(w, "scalar", ST_F32, 0, NULL, &scalar, 4) ||
             st_writer_add(w, "empty", ST_F32, 2, (int64_t[]){0, 3}, NULL, 0) ||
             st_writer_add(w, FX_NAME, ST_F32, 1, (int64_t[]){1}, &odd, 4) || st_writer_write(w, path);
    st_writer_free(w);
    if (rc) fprintf(stderr, "write-fixture: %s\n", vr_error());
    return rc ? 1 : 0;
}

/* Compare tensor `name` with dtype/shape/bytes. */
static void fx_expect(const st_file *f, const char *name, st_dtype dt, int ndim, const int64_t *shape,
                      const void *bytes, size_t n) {
    const st_tensor *t = st_find(f, name);
    CHECK(t != NULL, "fixture lacks '%s'", name);
    if (!t) return;
    int same = t->dtype == dt && t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    CHECK(same, "'%s': dtype %s ndim %d", name, st_dtype_name(t->dtype), t->ndim);
    CHECK(t->end - t->begin == n && (n == 0 || !memcmp(st_tensor_data(f, t), bytes, n)), "'%s': values", name);
}

static int fixture_check(const char *path) {
    st_file *f = st_open(path);
    CHECK(f != NULL, "open fixture: %s", vr_error());
    if (!f) return 1;
    CHECK(f->n_tensors == FX_N, "fixture has %d tensors", f->n_tensors);
    CHECK(st_meta(f, "format") && !strcmp(st_meta(f, "format"), "pt"), "meta format");
    CHECK(st_meta(f, "note") && !strcmp(st_meta(f, "note"), FX_NOTE), "meta note: %s",
          st_meta(f, "note") ? st_meta(f, "note") : "(none)");
    float f32[6], scalar = 42.5f, odd = 3.25f;
    double f64[4];
    for (int i = 0; i < 6; i++) f32[i] = i * 0.5f - 1.0f;
    for (int i = 0; i < 4; i++) f64[i] = i / 3.0;
    int64_t i64[3] = {-(1LL << 40), 0, (1LL << 53) + 1};
    uint8_t u8[5] = {0, 1, 127, 128, 255}, boo[4] = {1, 0, 0, 1};
    uint16_t bf16[4] = {0x3F80, 0xC020, 0x3E20, 0x7F80};
    uint16_t f16[3] = {0x3C00, 0xB800, 0x7BFF};
    int32_t i32[2] = {-7, 2147483647};
    int16_t i16[2] = {-32768, 12345};
    int8_t i8[3] = {-128, 0, 127};
    fx_expect(f, "f32", ST_F32, 2, (int64_t[]){2, 3}, f32, sizeof f32);
    fx_expect(f, "f64", ST_F64, 1, (int64_t[]){4}, f64, sizeof f64);
    fx_expect(f, "i64", ST_I64, 1, (int64_t[]){3}, i64, sizeof i64);
    fx_expect(f, "u8", ST_U8, 1, (int64_t[]){5}, u8, sizeof u8);
    fx_expect(f, "bf16", ST_BF16, 2, (int64_t[]){2, 2}, bf16, sizeof bf16);
    fx_expect(f, "f16", ST_F16, 1, (int64_t[]){3}, f16, sizeof f16);
    fx_expect(f, "i32", ST_I32, 1, (int64_t[]){2}, i32, sizeof i32);
    fx_expect(f, "i16", ST_I16, 1, (int64_t[]){2}, i16, sizeof i16);
    fx_expect(f, "i8", ST_I8, 1, (int64_t[]){3}, i8, sizeof i8);
    fx_expect(f, "bool", ST_BOOL, 1, (int64_t[]){4}, boo, sizeof boo);
    fx_expect(f, "scalar", ST_F32, 0, NULL, &scalar, 4);
    fx_expect(f, "empty", ST_F32, 2, (int64_t[]){0, 3}, NULL, 0);
    fx_expect(f, FX_NAME, ST_F32, 1, (int64_t[]){1}, &odd, 4);
    st_close(f);
    printf("check-fixture %s: %d passed, %d failed\n", path, g_pass, g_fail);
    return g_fail ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void cleanup_dir(void) {
    DIR *d = opendir(g_dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') unlink(tmp_path(e->d_name));
    if (d) closedir(d);
    rmdir(g_dir);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "write-fixture")) return fixture_write(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "check-fixture")) return fixture_check(argv[2]);
    const char *bad_dir = "tests/safetensors_bad";
    if (argc == 3 && !strcmp(argv[1], "--bad-dir")) bad_dir = argv[2];
    else if (argc != 1) {
        fprintf(stderr, "usage: %s [--bad-dir DIR] | write-fixture PATH | check-fixture PATH\n", argv[0]);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/st_test_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_dtypes();
    test_roundtrip();
    test_writer_errors();
    test_open_errors();
    test_valid_edge_cases();
    test_summary();
    test_bad_corpus(bad_dir);
    cleanup_dir();
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
