/* manifest.c — see manifest.h. */
#define _GNU_SOURCE
#include "data/manifest.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void vr_sha256_init(vr_sha256_ctx *c) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->n_bytes = 0;
    c->n_buf = 0;
}

void vr_sha256_update(vr_sha256_ctx *c, const void *data, size_t n) {
    const uint8_t *p = data;
    c->n_bytes += n;
    if (c->n_buf) {
        size_t take = 64 - c->n_buf < n ? 64 - c->n_buf : n;
        memcpy(c->buf + c->n_buf, p, take);
        c->n_buf += take, p += take, n -= take;
        if (c->n_buf < 64) return;
        sha256_block(c->h, c->buf);
        c->n_buf = 0;
    }
    for (; n >= 64; p += 64, n -= 64) sha256_block(c->h, p);
    memcpy(c->buf, p, n);
    c->n_buf = n;
}

void vr_sha256_final(vr_sha256_ctx *c, uint8_t digest[32]) {
    uint64_t bits = c->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t n_pad = (c->n_buf < 56 ? 56 : 120) - c->n_buf;
    for (int i = 0; i < 8; i++) pad[n_pad + i] = (uint8_t)(bits >> (56 - 8 * i));
    vr_sha256_update(c, pad, n_pad + 8);
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 4; k++) digest[4 * i + k] = (uint8_t)(c->h[i] >> (24 - 8 * k));
}

static void hex32(const uint8_t d[32], char out[65]) {
    for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", d[i]);
    out[64] = '\0';
}

void vr_sha256_hex(const void *data, size_t n, char out[65]) {
    vr_sha256_ctx c;
    uint8_t d[32];
    vr_sha256_init(&c);
    vr_sha256_update(&c, data, n);
    vr_sha256_final(&c, d);
    hex32(d, out);
}

int vr_manifest_hash(const char *path, char out[65]) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return vr_fail("cannot open %s: %s", path, strerror(errno));
    vr_sha256_ctx c;
    vr_sha256_init(&c);
    uint8_t buf[1 << 16], d[32];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, fp)) > 0) vr_sha256_update(&c, buf, got);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) return vr_fail("reading %s: %s", path, strerror(errno));
    vr_sha256_final(&c, d);
    hex32(d, out);
    return 0;
}

/* ---------------------------------------------------------------- UTF-8 */

int vr_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        int len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f; /* 0xc0/0xc1 only start overlongs */
        else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
        else return 0;
        if (end - p < len) return 0;
        for (int k = 1; k < len; k++) {
            if ((p[k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (p[k] & 0x3f);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
        if (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
        p += len;
    }
    return 1;
}

/* ---------------------------------------------------------------- loading */

static int entry_fail(vr_manifest_entry *e, const char *path, const char *fmt, ...) VR_PRINTF(3, 4);
static int entry_fail(vr_manifest_entry *e, const char *path, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(e->error);
    if (asprintf(&e->error, "%s:%d: %s", path, e->line, msg) < 0) e->error = strdup("out of memory");
    return -1;
}

/* `value` relative to the manifest's directory (dir "" = the current one). */
static char *resolve(const char *dir, const char *value) {
    char *out = NULL;
    if (value[0] == '/' || !dir[0]) return strdup(value);
    return asprintf(&out, "%s/%s", dir, value) < 0 ? NULL : out;
}

static const char *const KEYS[] = {"id", "video", "text", "music", "start", "end", "labels", "features"};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && !strcasecmp(s + n - k, suffix);
}

/* Fill e from one JSON object; on the first problem set e->error and return -1. */
static int parse_object(vr_manifest_entry *e, const char *path, const char *dir, cJSON *o) {
    int seen[N_KEYS] = {0};
    cJSON *it;
    cJSON_ArrayForEach(it, o) {
        int k = 0;
        while (k < N_KEYS && strcmp(KEYS[k], it->string)) k++;
        if (k == N_KEYS)
            return entry_fail(e, path, "unknown key '%s' (known: id, video, text, music, start, end, labels, "
                              "features; extra metadata belongs in 'labels')", it->string);
        if (seen[k]++) return entry_fail(e, path, "duplicate key '%s'", it->string);
    }
    cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id"), *video = cJSON_GetObjectItemCaseSensitive(o, "video");
    cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text"), *music = cJSON_GetObjectItemCaseSensitive(o, "music");
    cJSON *start = cJSON_GetObjectItemCaseSensitive(o, "start"), *end = cJSON_GetObjectItemCaseSensitive(o, "end");
    cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "labels");
    cJSON *features = cJSON_GetObjectItemCaseSensitive(o, "features");

    if (!id) return entry_fail(e, path, "missing 'id'");
    if (!cJSON_IsString(id) || !id->valuestring[0]) return entry_fail(e, path, "'id' must be a non-empty string");
    if (!vr_utf8_valid(id->valuestring, strlen(id->valuestring))) return entry_fail(e, path, "id is not valid UTF-8");
    if (!(e->id = strdup(id->valuestring))) return entry_fail(e, path, "out of memory");
    if (!video) return entry_fail(e, path, "missing 'video'");
    if (!cJSON_IsString(video) || !video->valuestring[0])
        return entry_fail(e, path, "'video' must be a non-empty path string");
    if (!text) return entry_fail(e, path, "missing 'text' (use \"\" for no caption)");
    if (!cJSON_IsString(text)) return entry_fail(e, path, "'text' must be a string");
    if (!vr_utf8_valid(text->valuestring, strlen(text->valuestring)))
        return entry_fail(e, path, "text is not valid UTF-8");
    if (music && (!cJSON_IsString(music) || !music->valuestring[0]))
        return entry_fail(e, path, "'music' must be a non-empty path string");
    e->start = 0;
    e->end = -1;
    if (start) {
        if (!cJSON_IsNumber(start) || !isfinite(start->valuedouble) || start->valuedouble < 0)
            return entry_fail(e, path, "'start' must be a number >= 0");
        e->start = start->valuedouble;
    }
    if (end) {
        if (!cJSON_IsNumber(end) || !isfinite(end->valuedouble) || end->valuedouble <= e->start)
            return entry_fail(e, path, "'end' must be a number greater than 'start' (%g)", e->start);
        e->end = end->valuedouble;
    }
    if (labels && !cJSON_IsObject(labels)) return entry_fail(e, path, "'labels' must be a JSON object");
    if (features && (!cJSON_IsString(features) ||
                     !(ends_with_ci(features->valuestring, ".npy") || ends_with_ci(features->valuestring, ".h5") ||
                       ends_with_ci(features->valuestring, ".hdf5"))))
        return entry_fail(e, path, "'features' must be the path of a .npy or .h5 file");
    e->labels_json = labels ? cJSON_PrintUnformatted(labels) : strdup("{}");
    if (e->labels_json && !vr_utf8_valid(e->labels_json, strlen(e->labels_json)))
        return entry_fail(e, path, "labels are not valid UTF-8");
    e->video = resolve(dir, video->valuestring);
    e->text = strdup(text->valuestring);
    e->music = music ? resolve(dir, music->valuestring) : NULL;
    e->features = features ? resolve(dir, features->valuestring) : NULL;
    if (!e->labels_json || !e->video || !e->text || (music && !e->music) || (features && !e->features))
        return entry_fail(e, path, "out of memory");
    return 0;
}

static int parse_line(vr_manifest_entry *e, const char *path, const char *dir, const char *line, size_t len) {
    const char *endp = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &endp, 0);
    if (!o) {
        long col = endp && endp >= line && endp <= line + len ? (long)(endp - line) + 1 : 1;
        return entry_fail(e, path, "invalid JSON (near column %ld)", col);
    }
    while (endp < line + len && isspace((unsigned char)*endp)) endp++;
    int rc;
    if (endp < line + len)
        rc = entry_fail(e, path, "invalid JSON: unexpected text after the object (column %ld)",
                        (long)(endp - line) + 1);
    else if (!cJSON_IsObject(o)) rc = entry_fail(e, path, "expected a JSON object, one clip a line");
    else rc = parse_object(e, path, dir, o);
    cJSON_Delete(o);
    return rc;
}

typedef struct id_line {
    const char *id;
    int index;
} id_line;

static int cmp_id_line(const void *a, const void *b) {
    const id_line *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : x->index - y->index;
}

/* Among good entries, every repeat of an id becomes an error naming the first line. */
static int mark_duplicates(vr_manifest *m) {
    id_line *ids = malloc(((size_t)m->n + 1) * sizeof *ids);
    if (!ids) return vr_fail("out of memory");
    int n = 0;
    for (int i = 0; i < m->n; i++)
        if (!m->entries[i].error) ids[n++] = (id_line){m->entries[i].id, i};
    qsort(ids, (size_t)n, sizeof *ids, cmp_id_line);
    for (int k = 1; k < n; k++) {
        int first = k - 1;
        for (; k < n && !strcmp(ids[k].id, ids[first].id); k++) {
            vr_manifest_entry *e = &m->entries[ids[k].index];
            entry_fail(e, m->path, "duplicate id '%s' (first on line %d)", e->id, m->entries[ids[first].index].line);
        }
    }
    free(ids);
    return 0;
}

vr_manifest *vr_manifest_load(const char *path) {
    char *data = NULL;
    size_t n = 0;
    if (vr_read_file(path, &data, &n) != 0) return NULL;
    vr_manifest *m = calloc(1, sizeof *m);
    char *dir = strdup(path);
    if (!m || !dir || !(m->path = strdup(path))) {
        free(m);
        free(dir);
        free(data);
        return vr_fail_null("out of memory");
    }
    vr_sha256_hex(data, n, m->sha256);
    char *slash = strrchr(dir, '/');
    if (slash) slash == dir ? (void)(dir[1] = '\0') : (void)(*slash = '\0');
    else dir[0] = '\0';

    int cap = 0, rc = 0;
    const char *p = data, *end = data + n;
    if (n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) p += 3; /* a UTF-8 byte-order mark */
    for (int line_no = 1; p < end && rc == 0; line_no++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p;
        size_t len = (size_t)((nl ? nl : end) - p);
        p = nl ? nl + 1 : end;
        if (len && line[len - 1] == '\r') len--;
        size_t skip = 0;
        while (skip < len && isspace((unsigned char)line[skip])) skip++;
        if (skip == len || line[skip] == '#') continue;
        if (m->n == cap) {
            cap = cap ? 2 * cap : 64;
            vr_manifest_entry *grown = realloc(m->entries, (size_t)cap * sizeof *grown);
            if (!grown) {
                rc = vr_fail("out of memory reading %s", path);
                break;
            }
            m->entries = grown;
        }
        vr_manifest_entry *e = &m->entries[m->n++];
        memset(e, 0, sizeof *e);
        e->line = line_no;
        parse_line(e, path, slash ? dir : "", line, len);
    }
    free(dir);
    free(data);
    if (rc == 0) rc = mark_duplicates(m);
    if (rc != 0) {
        vr_manifest_free(m);
        return NULL;
    }
    for (int i = 0; i < m->n; i++) m->n_bad += m->entries[i].error != NULL;
    return m;
}

void vr_manifest_free(vr_manifest *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) {
        vr_manifest_entry *e = &m->entries[i];
        free(e->id);
        free(e->video);
        free(e->music);
        free(e->text);
        free(e->labels_json);
        free(e->features);
        free(e->error);
    }
    free(m->entries);
    free(m->path);
    free(m);
}

/* ---------------------------------------------------------------- folder adapter */

static const char *const VIDEO_EXTS[] = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".mpg"};

static int is_video_name(const char *name) {
    for (size_t k = 0; k < sizeof VIDEO_EXTS / sizeof VIDEO_EXTS[0]; k++)
        if (ends_with_ci(name, VIDEO_EXTS[k])) return 1;
    return 0;
}

typedef struct str_list {
    char **s;
    int n, cap;
} str_list;

static int list_push(str_list *l, char *s) {
    if (!s) return vr_fail("out of memory");
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->s, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(s);
            return vr_fail("out of memory");
        }
        l->s = grown, l->cap = cap;
    }
    l->s[l->n++] = s;
    return 0;
}

static void list_free(str_list *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
}

/* Relative paths of the video files under root/rel. Symlinked directories are not followed (no
 * loops); symlinked files are. Hidden entries (".git", "._x.mp4") are skipped. */
static int walk(const char *root, const char *rel, int depth, str_list *out) {
    char *dir_path = NULL;
    if (asprintf(&dir_path, "%s%s%s", root, rel[0] ? "/" : "", rel) < 0) return vr_fail("out of memory");
    DIR *d = opendir(dir_path);
    if (!d) {
        int e = errno;
        vr_fail("cannot list %s: %s", dir_path, strerror(e));
        free(dir_path);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *child = NULL, *full = NULL;
        if (asprintf(&child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) < 0) child = NULL;
        if (child && asprintf(&full, "%s/%s", root, child) < 0) full = NULL;
        struct stat st;
        if (!child || !full) rc = vr_fail("out of memory");
        else if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth >= 64) rc = vr_fail("%s: folders nested too deep", full);
            else rc = walk(root, child, depth + 1, out);
        } else if (is_video_name(de->d_name) && stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            rc = list_push(out, child);
            child = NULL;
        }
        free(child);
        free(full);
    }
    closedir(d);
    free(dir_path);
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Caption from <stem>.txt, trimmed; "" when there is none. NULL (with a warning) when unusable. */
static char *read_caption(const char *full_stem) {
    char *txt = NULL, *data = NULL;
    size_t n = 0;
    if (asprintf(&txt, "%s.txt", full_stem) < 0) return NULL;
    if (!vr_file_exists(txt)) {
        free(txt);
        return strdup("");
    }
    if (vr_read_file(txt, &data, &n) != 0) {
        VR_WARN("%s", vr_error());
        free(txt);
        return NULL;
    }
    size_t a = 0;
    while (a < n && isspace((unsigned char)data[a])) a++;
    while (n > a && isspace((unsigned char)data[n - 1])) n--;
    if (!vr_utf8_valid(data + a, n - a) || memchr(data + a, '\0', n - a)) {
        VR_WARN("%s: caption is not valid UTF-8 text; skipping its video", txt);
        free(txt);
        free(data);
        return NULL;
    }
    free(txt);
    char *out = strndup(data + a, n - a);
    free(data);
    return out;
}

/* Directory part of a path ("." when there is none). */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static double round_us(double x) { return round(x * 1e6) / 1e6; }

/* Append the windows of one video as JSON lines; returns the clip count or -1. */
static int write_video_clips(FILE *fp, const char *path_in_manifest, const char *id_stem, const char *caption,
                             double duration, double window_s, double stride_s) {
    int n = 0;
    for (int64_t k = 0; (double)k * stride_s + window_s <= duration + 1e-6; k++) {
        char id[PATH_MAX + 32];
        snprintf(id, sizeof id, "%s_%lld", id_stem, (long long)k);
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", id) || !cJSON_AddStringToObject(o, "video", path_in_manifest) ||
            !cJSON_AddStringToObject(o, "text", caption) ||
            !cJSON_AddNumberToObject(o, "start", round_us((double)k * stride_s)) ||
            !cJSON_AddNumberToObject(o, "end", round_us((double)k * stride_s + window_s))) {
            cJSON_Delete(o);
            return vr_fail("out of memory");
        }
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!line) return vr_fail("out of memory");
        fprintf(fp, "%s\n", line);
        free(line);
        n++;
    }
    return n;
}

/* dup[i] = 1 when video i has the stem of an earlier one ("a.mp4" after "a.avi": the same ids).
 * NULL when out of memory. */
static char *duplicate_stems(const str_list *videos) {
    char *dup = calloc((size_t)videos->n + 1, 1);
    id_line *stems = calloc((size_t)videos->n + 1, sizeof *stems);
    int n = 0;
    for (; dup && stems && n < videos->n; n++) {
        const char *v = videos->s[n];
        if (!(stems[n].id = strndup(v, (size_t)(strrchr(v, '.') - v)))) break;
        stems[n].index = n;
    }
    if (dup && stems && n == videos->n) {
        qsort(stems, (size_t)n, sizeof *stems, cmp_id_line);
        for (int k = 1; k < n; k++)
            if (!strcmp(stems[k].id, stems[k - 1].id)) dup[stems[k].index] = 1;
    }
    for (int k = 0; k < n; k++) free((char *)stems[k].id);
    free(stems);
    if (!dup || n != videos->n) {
        free(dup);
        return vr_fail_null("out of memory");
    }
    return dup;
}

int vr_manifest_from_folder(const char *folder, const char *out_path, double window_s, double stride_s,
                            vr_duration_probe_fn probe_duration, void *ctx) {
    if (!(window_s > 0) || !(stride_s > 0) || !isfinite(window_s) || !isfinite(stride_s))
        return vr_fail("window (%g s) and stride (%g s) must be positive", window_s, stride_s);
    struct stat st;
    if (stat(folder, &st) != 0) return vr_fail("%s: %s", folder, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return vr_fail("%s: not a folder", folder);

    /* where the folder lies relative to the manifest decides relative vs absolute paths */
    char folder_abs[PATH_MAX], out_dir_abs[PATH_MAX];
    char *out_dir = dir_of(out_path);
    if (!out_dir) return vr_fail("out of memory");
    int rc = vr_mkdirs(out_dir);
    if (rc == 0 && !realpath(folder, folder_abs)) rc = vr_fail("%s: %s", folder, strerror(errno));
    if (rc == 0 && !realpath(out_dir, out_dir_abs)) rc = vr_fail("%s: %s", out_dir, strerror(errno));
    free(out_dir);
    if (rc != 0) return -1;
    size_t od = strlen(out_dir_abs);
    const char *prefix = folder_abs; /* absolute, unless the folder is inside the manifest's directory */
    if (!strcmp(folder_abs, out_dir_abs)) prefix = "";
    else if (!strcmp(out_dir_abs, "/")) prefix = folder_abs + 1;
    else if (!strncmp(folder_abs, out_dir_abs, od) && folder_abs[od] == '/') prefix = folder_abs + od + 1;

    str_list videos = {0};
    if (walk(folder_abs, "", 0, &videos) != 0) {
        list_free(&videos);
        return -1;
    }
    qsort(videos.s, (size_t)videos.n, sizeof *videos.s, cmp_str);
    char *dup = duplicate_stems(&videos);
    if (!dup) {
        list_free(&videos);
        return -1;
    }

    vr_atomic_file f;
    if (vr_atomic_open(&f, out_path) != 0) {
        free(dup);
        list_free(&videos);
        return -1;
    }
    int n_clips = 0, n_skipped = 0;
    for (int i = 0; i < videos.n && rc == 0; i++) {
        const char *rel = videos.s[i];
        char *stem = strndup(rel, (size_t)(strrchr(rel, '.') - rel));
        char *full = NULL, *full_stem = NULL, *in_manifest = NULL, *caption = NULL;
        if (!stem || asprintf(&full, "%s/%s", folder_abs, rel) < 0 ||
            asprintf(&full_stem, "%s/%s", folder_abs, stem) < 0 ||
            asprintf(&in_manifest, "%s%s%s", prefix, prefix[0] ? "/" : "", rel) < 0) {
            rc = vr_fail("out of memory");
            free(stem);
            break;
        }
        if (!vr_utf8_valid(rel, strlen(rel))) {
            VR_WARN("%s: the file name is not valid UTF-8 (ids and JSON must be); skipped", full);
            n_skipped++;
        } else if (dup[i]) {
            VR_WARN("%s: another video has the same name stem '%s'; skipped (ids must be unique)", full, stem);
            n_skipped++;
        } else if (!(caption = read_caption(full_stem))) {
            n_skipped++;
        } else {
            vr_clear_error();
            double duration = probe_duration(full, ctx);
            if (!(duration > 0) || !isfinite(duration)) {
                if (vr_error()[0]) VR_WARN("skipped: %s", vr_error()); /* the probe's message names the file */
                else VR_WARN("%s: skipped: no duration", full);
                n_skipped++;
            } else {
                int n = write_video_clips(f.fp, in_manifest, stem, caption, duration, window_s, stride_s);
                if (n < 0) rc = -1;
                else if (n == 0) {
                    VR_WARN("%s: %.2f s is shorter than the %.2f s window; skipped", full, duration, window_s);
                    n_skipped++;
                }
                n_clips += n > 0 ? n : 0;
            }
        }
        free(stem);
        free(full);
        free(full_stem);
        free(in_manifest);
        free(caption);
    }
    free(dup);
    int n_videos = videos.n;
    list_free(&videos);
    if (rc != 0) {
        vr_atomic_abort(&f);
        return -1;
    }
    if (vr_atomic_commit(&f) != 0) return -1;
    VR_INFO("%s: %d clips from %d videos (%d skipped)", out_path, n_clips, n_videos, n_skipped);
    return n_clips;
}

/* ---------------------------------------------------------------- `vrobin data manifest` */

static int parse_seconds(const char *flag, const char *s, double *out) {
    char *end = NULL;
    double v = s ? strtod(s, &end) : NAN;
    if (!s || end == s || *end || !(v > 0) || !isfinite(v)) {
        fprintf(stderr, "vrobin data manifest: %s needs a positive number of seconds, got '%s'\n", flag,
                s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int vr_cmd_data_manifest(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        printf("usage: vrobin data manifest FOLDER -o OUT.jsonl [--window SECONDS] [--stride SECONDS]\n\n"
               "Write a JSONL manifest for every video (*.mp4 *.mkv *.webm *.mov *.avi *.mpg) under FOLDER,\n"
               "searched recursively in sorted order. Each video becomes clips [k*stride, k*stride+window]\n"
               "that fit inside it, with ids \"<stem>_<k>\" (the stem keeps subfolders: \"a/b_0\") and the\n"
               "caption from a same-stem .txt file (\"\" without one). Videos shorter than the window,\n"
               "unreadable ones and non-UTF-8 captions are skipped with a warning.\n\n"
               "  -o, --output PATH   the manifest to write (atomically)\n"
               "  --window SECONDS    clip length (default 10)\n"
               "  --stride SECONDS    distance between clip starts (default: the window)\n");
        return 0;
    }
    const char *folder = NULL, *out = NULL;
    double window_s = 10, stride_s = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!v) break;
            out = v, i++;
        } else if (!strcmp(a, "--window") || !strcmp(a, "--stride")) {
            if (parse_seconds(a, v, a[2] == 'w' ? &window_s : &stride_s) != 0) return 2;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "vrobin data manifest: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (!folder) folder = a;
        else {
            fprintf(stderr, "vrobin data manifest: one folder only ('%s' and '%s')\n", folder, a);
            return 2;
        }
    }
    if (!folder || !out) {
        fprintf(stderr, "usage: vrobin data manifest FOLDER -o OUT.jsonl [--window SECONDS] [--stride SECONDS]\n");
        return 2;
    }
    if (stride_s < 0) stride_s = window_s;
    int n = vr_manifest_from_folder(folder, out, window_s, stride_s, vr_media_duration_probe, NULL);
    if (n < 0) {
        fprintf(stderr, "vrobin data manifest: %s\n", vr_error());
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "vrobin data manifest: no clips found under %s (wrote an empty %s)\n", folder, out);
        return 1;
    }
    printf("wrote %d clips to %s\n", n, out);
    return 0;
}
