/* safetensors.c — see safetensors.h.
 *
 * The reader trusts nothing in the file. Order of checks: the 8-byte length, then the header bytes
 * (UTF-8, no control characters), then the JSON structure entry by entry, then the set of tensors
 * as a whole (duplicate names, overlap, coverage). Every error is a sentence without the file
 * name; st_open / st_open_memory prepend "path: ".
 */
#define _GNU_SOURCE
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "fsutil.h"

typedef unsigned long long ull;  /* for printf of uint64_t without PRIu64 noise */

/* JSON numbers are doubles in cJSON; integers below 2^53 are exact, so that is our limit. */
#define ST_MAX_INT 9007199254740992.0 /* 2^53, exclusive */

/* ---------------------------------------------------------------- dtypes */

static const struct {
    const char *name;
    size_t size;
} g_dtypes[ST_N_DTYPES] = {
    [ST_F64] = {"F64", 8},  [ST_F32] = {"F32", 4},   [ST_F16] = {"F16", 2},
    [ST_BF16] = {"BF16", 2}, [ST_I64] = {"I64", 8},  [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},  [ST_I8] = {"I8", 1},     [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1}, [ST_U16] = {"U16", 2},  [ST_U32] = {"U32", 4},
    [ST_U64] = {"U64", 8},  [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

static int dtype_valid(st_dtype d) { return (int)d >= 0 && (int)d < ST_N_DTYPES; }

size_t st_dtype_size(st_dtype d) { return dtype_valid(d) ? g_dtypes[d].size : 0; }

const char *st_dtype_name(st_dtype d) { return dtype_valid(d) ? g_dtypes[d].name : "?"; }

int st_dtype_from_name(const char *s, st_dtype *out) {
    for (int i = 0; s && i < ST_N_DTYPES; i++)
        if (!strcmp(s, g_dtypes[i].name)) {
            *out = (st_dtype)i;
            return 0;
        }
    return vr_fail("unknown dtype '%s'", s ? s : "(null)");
}

/* numel of a shape, or -1 on overflow. Any 0 dim makes it 0 whatever the others are. */
static int64_t shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        if (shape[d] == 0) return 0;
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || __builtin_mul_overflow(n, shape[d], &n)) return -1;
    return n;
}

int64_t st_numel(const st_tensor *t) { return shape_numel(t->ndim, t->shape); }

/* numel * dtype size with overflow checks; -1 on overflow. */
static int shape_bytes(int ndim, const int64_t *shape, st_dtype dt, uint64_t *bytes) {
    int64_t n = shape_numel(ndim, shape);
    if (n < 0) return -1;
    return __builtin_mul_overflow((uint64_t)n, (uint64_t)st_dtype_size(dt), bytes) ? -1 : 0;
}

static void fmt_shape(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* ---------------------------------------------------------------- header text checks */

/* Offset of the first byte that is not part of valid UTF-8 (overlongs, surrogates and code points
 * above U+10FFFF are invalid), or n when all is valid. */
static size_t utf8_invalid_at(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

/* What cJSON lets through but JSON (and the official reader) forbids: control characters (cJSON
 * treats any byte <= 32 as whitespace and copies them raw inside strings), a UTF-8 byte-order mark
 * or any non-ASCII byte outside strings, "\u0000" (it would
 * silently cut a name short in C), and number literals that are not plain digits: 2.0, 1e3 and -0
 * parse to integral doubles, so the value checks alone would accept them. The first such number
 * is only reported (*num_at, *num_len) so that value errors, which name the tensor, come first. */
static int scan_header(const char *s, size_t n, size_t *num_at, size_t *num_len) {
    int in_str = 0;
    *num_at = SIZE_MAX;
    *num_len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_str) {
            if (c < 0x20) return vr_fail("header has a raw control character 0x%02x inside a string (byte %zu)", c, i);
            if (c == '"') in_str = 0;
            else if (c == '\\' && i + 1 < n) {
                if (s[i + 1] == 'u' && n - i >= 6 && !memcmp(s + i + 2, "0000", 4))
                    return vr_fail("header has a \\u0000 (NUL) inside a string (byte %zu)", i);
                i++;  /* skip the escaped character (so \" does not end the string) */
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return vr_fail("header has a control character 0x%02x (byte %zu)", c, i);
        } else if (c >= 0x80) {  /* e.g. a byte-order mark, which cJSON would skip */
            return vr_fail("header is not valid JSON (non-ASCII byte 0x%02x outside a string at byte %zu)", c, i);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            int plain = 1;
            while (j < n && strchr("0123456789+-.eE", s[j]) && s[j]) {
                if (s[j] < '0' || s[j] > '9') plain = 0;
                j++;
            }
            if (!plain && *num_at == SIZE_MAX) *num_at = i, *num_len = j - i;
            i = j - 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- header structure */

/* An exact non-negative integer below 2^53. */
static int get_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d < ST_MAX_INT)) return -1;
    uint64_t u = (uint64_t)d;
    if ((double)u != d) return -1;
    *out = u;
    return 0;
}

/* "shape[1] = 2.5" or "shape[1] (a string)" for error messages. */
static const char *describe_value(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsNumber(v)) snprintf(buf, cap, " = %.17g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, cap, " (a string)");
    else if (cJSON_IsArray(v)) snprintf(buf, cap, " (an array)");
    else if (cJSON_IsObject(v)) snprintf(buf, cap, " (an object)");
    else buf[0] = '\0';
    return buf;
}

static int parse_entry(const cJSON *e, st_tensor *t, uint64_t data_len) {
    const char *name = t->name;
    if (!cJSON_IsObject(e)) return vr_fail("tensor '%s': entry is not an object", name);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *f = e->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offs
                                                                  : NULL;
        if (!slot) return vr_fail("tensor '%s': unknown field '%s'", name, f->string);
        if (*slot) return vr_fail("tensor '%s': duplicate field '%s'", name, f->string);
        *slot = f;
    }
    if (!dtype) return vr_fail("tensor '%s': missing field 'dtype'", name);
    if (!shape) return vr_fail("tensor '%s': missing field 'shape'", name);
    if (!offs) return vr_fail("tensor '%s': missing field 'data_offsets'", name);

    if (!cJSON_IsString(dtype)) return vr_fail("tensor '%s': dtype is not a string", name);
    if (st_dtype_from_name(dtype->valuestring, &t->dtype))
        return vr_fail("unknown dtype '%s' for tensor '%s'", dtype->valuestring, name);

    char why[64];
    if (!cJSON_IsArray(shape)) return vr_fail("tensor '%s': shape is not an array", name);
    int nd = 0;
    for (const cJSON *d = shape->child; d; d = d->next, nd++) {
        if (nd == ST_MAX_DIMS) return vr_fail("tensor '%s': shape has more than %d dims", name, ST_MAX_DIMS);
        uint64_t v;
        if (get_uint(d, &v))
            return vr_fail("tensor '%s': shape[%d]%s is not a non-negative integer below 2^53", name, nd,
                           describe_value(d, why, sizeof why));
        t->shape[nd] = (int64_t)v;
    }
    t->ndim = nd;

    int n_offs = 0;
    uint64_t o[2] = {0, 0};
    if (!cJSON_IsArray(offs)) return vr_fail("tensor '%s': data_offsets is not an array", name);
    for (const cJSON *d = offs->child; d; d = d->next, n_offs++) {
        if (n_offs >= 2) continue;  /* counted, then rejected below */
        if (get_uint(d, &o[n_offs]))
            return vr_fail("tensor '%s': data_offsets[%d]%s is not a non-negative integer below 2^53", name,
                           n_offs, describe_value(d, why, sizeof why));
    }
    if (n_offs != 2) return vr_fail("tensor '%s': data_offsets must hold exactly two integers [begin, end]", name);
    t->begin = o[0], t->end = o[1];
    if (t->begin > t->end)
        return vr_fail("tensor '%s': data_offsets [%llu, %llu] has begin > end", name, (ull)t->begin, (ull)t->end);
    if (t->end > data_len)
        return vr_fail("tensor '%s': data_offsets [%llu, %llu] out of range: the data buffer has %llu bytes", name,
                       (ull)t->begin, (ull)t->end, (ull)data_len);

    char sh[ST_MAX_DIMS * 22 + 4];
    uint64_t bytes;
    fmt_shape(t->ndim, t->shape, sh, sizeof sh);
    if (shape_bytes(t->ndim, t->shape, t->dtype, &bytes))
        return vr_fail("tensor '%s': shape %s of %s overflows a 64-bit byte count", name, sh, st_dtype_name(t->dtype));
    if (t->end - t->begin != bytes)
        return vr_fail("tensor '%s': data_offsets [%llu, %llu] span %llu bytes but %s %s needs %llu", name,
                       (ull)t->begin, (ull)t->end, (ull)(t->end - t->begin), st_dtype_name(t->dtype), sh,
                       (ull)bytes);
    return 0;
}

typedef struct {
    const char *name;
    int idx;
} name_idx;

static int cmp_name_idx(const void *a, const void *b) {
    return strcmp(((const name_idx *)a)->name, ((const name_idx *)b)->name);
}

static int parse_metadata(const cJSON *m, st_file *out) {
    if (!cJSON_IsObject(m)) return vr_fail("\"__metadata__\" is not an object");
    int n = 0;
    for (const cJSON *e = m->child; e; e = e->next) n++;
    out->meta_keys = calloc((size_t)n + 1, sizeof(char *));
    out->meta_values = calloc((size_t)n + 1, sizeof(char *));
    if (!out->meta_keys || !out->meta_values) return vr_fail("out of memory");
    for (const cJSON *e = m->child; e; e = e->next) {
        if (!cJSON_IsString(e)) return vr_fail("\"__metadata__\" value for '%s' is not a string", e->string);
        char *k = strdup(e->string), *v = strdup(e->valuestring);
        out->meta_keys[out->n_meta] = k;
        out->meta_values[out->n_meta] = v;
        if (k || v) out->n_meta++;
        if (!k || !v) return vr_fail("out of memory");
    }
    /* duplicate keys (cJSON keeps them): sort, then compare neighbours — a hostile header may
     * hold millions of keys, so no quadratic scan */
    name_idx *order = malloc(((size_t)n + 1) * sizeof *order);
    if (!order) return vr_fail("out of memory");
    for (int i = 0; i < n; i++) order[i] = (name_idx){out->meta_keys[i], i};
    qsort(order, (size_t)n, sizeof *order, cmp_name_idx);
    for (int i = 1; i < n; i++)
        if (!strcmp(order[i - 1].name, order[i].name)) {
            vr_fail("\"__metadata__\" has duplicate key '%s'", order[i].name);
            free(order);
            return -1;
        }
    free(order);
    return 0;
}

static int cmp_offsets(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sort by offset, index by name (rejecting duplicates), and check the tensors tile the buffer. */
static int check_layout(st_file *out) {
    int n = out->n_tensors;
    qsort(out->tensors, (size_t)n, sizeof *out->tensors, cmp_offsets);

    name_idx *order = malloc(((size_t)n + 1) * sizeof *order);
    out->name_order_ = malloc(((size_t)n + 1) * sizeof(int));
    if (!order || !out->name_order_) {
        free(order);
        return vr_fail("out of memory");
    }
    for (int i = 0; i < n; i++) order[i] = (name_idx){out->tensors[i].name, i};
    qsort(order, (size_t)n, sizeof *order, cmp_name_idx);
    for (int i = 0; i < n; i++) {
        if (i > 0 && !strcmp(order[i - 1].name, order[i].name)) {
            vr_fail("duplicate tensor name '%s'", order[i].name);
            free(order);
            return -1;
        }
        out->name_order_[i] = order[i].idx;
    }
    free(order);

    /* the official format requires the tensors to cover the buffer exactly, in order */
    uint64_t pos = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = &out->tensors[i];
        if (t->begin < pos) {
            const st_tensor *p = &out->tensors[i - 1];
            return vr_fail("tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", p->name, (ull)p->begin,
                           (ull)p->end, t->name, (ull)t->begin, (ull)t->end);
        }
        if (t->begin > pos)
            return vr_fail("data not fully covered: bytes [%llu, %llu) before tensor '%s' belong to no tensor",
                           (ull)pos, (ull)t->begin, t->name);
        pos = t->end;
    }
    if (n == 0 && out->data_len)
        return vr_fail("data not fully covered: %llu bytes of data but no tensors", (ull)out->data_len);
    if (pos != out->data_len)
        return vr_fail("data not fully covered: bytes [%llu, %llu) after the last tensor belong to no tensor",
                       (ull)pos, (ull)out->data_len);
    return 0;
}

void st_header_free(st_file *f) {
    if (!f) return;
    for (int i = 0; f->tensors && i < f->n_tensors; i++) free(f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->name_order_);
    f->tensors = NULL;
    f->meta_keys = f->meta_values = NULL;
    f->name_order_ = NULL;
    f->n_tensors = f->n_meta = 0;
}

int st_parse_header(const char *json, size_t json_len, uint64_t data_len, st_file *out) {
    memset(out, 0, sizeof *out);
    out->data_len = data_len;
    if (json_len == 0) return vr_fail("header is empty");
    if (json_len > ST_MAX_HEADER_LEN)
        return vr_fail("header length %zu exceeds the limit of %llu bytes", json_len, ST_MAX_HEADER_LEN);
    size_t bad = utf8_invalid_at((const uint8_t *)json, json_len);
    if (bad < json_len) return vr_fail("header is not valid UTF-8 (byte %zu)", bad);
    size_t num_at, num_len;
    if (scan_header(json, json_len, &num_at, &num_len)) return -1;

    /* cJSON wants a NUL-terminated string for safety; the header is small next to the data */
    char *text = malloc(json_len + 1);
    if (!text) return vr_fail("out of memory for a %zu-byte header", json_len);
    memcpy(text, json, json_len);
    text[json_len] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, json_len, &end, 0);
    int rc = -1;
    if (!root) {
        vr_fail("header is not valid JSON (error near byte %zu)", end ? (size_t)(end - text) : (size_t)0);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        vr_fail("header is not a JSON object");
        goto done;
    }
    /* the official writer pads with spaces; anything else after the object is garbage */
    size_t pos = (size_t)(end - text);
    while (pos < json_len && text[pos] == ' ') pos++;
    if (pos < json_len) {
        vr_fail("header has trailing bytes after the JSON object (byte %zu; only spaces may pad it)", pos);
        goto done;
    }

    size_t n = 0;
    for (const cJSON *e = root->child; e; e = e->next) n++;
    if (n > (size_t)INT32_MAX / 2) {
        vr_fail("header has too many entries (%zu)", n);
        goto done;
    }
    out->tensors = calloc(n + 1, sizeof *out->tensors);
    if (!out->tensors) {
        vr_fail("out of memory for %zu tensors", n);
        goto done;
    }
    int seen_meta = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (seen_meta++) {
                vr_fail("duplicate \"__metadata__\"");
                goto done;
            }
            if (parse_metadata(e, out)) goto done;
            continue;
        }
        if (!e->string[0]) {
            vr_fail("empty tensor name");
            goto done;
        }
        st_tensor *t = &out->tensors[out->n_tensors];
        if (!(t->name = strdup(e->string))) {
            vr_fail("out of memory");
            goto done;
        }
        out->n_tensors++;
        if (parse_entry(e, t, data_len)) goto done;
    }
    if (num_at != SIZE_MAX) {
        vr_fail("header has a number '%.*s' (byte %zu) that is not a plain non-negative integer",
                (int)(num_len > 40 ? 40 : num_len), json + num_at, num_at);
        goto done;
    }
    rc = check_layout(out);
done:
    cJSON_Delete(root);
    free(text);
    if (rc) {
        st_header_free(out);
        out->data_len = data_len;
    }
    return rc;
}

/* ---------------------------------------------------------------- opening files */

static uint64_t read_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Validate a whole file image; on success fills f (header + data pointer). No file name here. */
static int parse_image(st_file *f, const uint8_t *buf, uint64_t len) {
    if (len < 8)
        return vr_fail("file is too short (%llu bytes) to be safetensors: it needs at least the 8-byte header length",
                       (ull)len);
    uint64_t n = read_le64(buf);
    if (n == 0) return vr_fail("header length is 0");
    if (n > ST_MAX_HEADER_LEN)
        return vr_fail("header length %llu exceeds the limit of %llu bytes", (ull)n, ST_MAX_HEADER_LEN);
    if (n > len - 8)
        return vr_fail("header length %llu is larger than the rest of the file (%llu bytes)", (ull)n,
                       (ull)(len - 8));
    if (st_parse_header((const char *)buf + 8, (size_t)n, len - 8 - n, f)) return -1;
    f->data = buf + 8 + n;
    return 0;
}

st_file *st_open_memory(const void *buf, size_t len, const char *name) {
    if (!name) name = "<memory>";
    st_file *f = calloc(1, sizeof *f);
    if (!f) return vr_fail_null("%s: out of memory", name);
    if (!buf && len) {
        free(f);
        return vr_fail_null("%s: NULL buffer", name);
    }
    static const uint8_t empty[1];
    if (parse_image(f, buf ? buf : empty, len) || !(f->path = strdup(name))) {
        if (f->data) vr_fail("out of memory");
        vr_context("%s", name);
        st_close(f);
        return NULL;
    }
    return f;
}

st_file *st_open(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vr_fail_null("cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return vr_fail_null("cannot stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return vr_fail_null("%s: not a regular file", path);
    }
    uint64_t len = (uint64_t)sb.st_size;
    if (len < 8) {
        close(fd);
        vr_fail("file is too short (%llu bytes) to be safetensors: it needs at least the 8-byte header length",
                (ull)len);
        vr_context("%s", path);
        return NULL;
    }
    void *map = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return vr_fail_null("cannot map %s: %s", path, strerror(e));

    st_file *f = calloc(1, sizeof *f);
    if (!f) {
        munmap(map, (size_t)len);
        return vr_fail_null("%s: out of memory", path);
    }
    int rc = parse_image(f, map, len);
    f->map_ = map, f->map_len_ = (size_t)len;  /* set after parse_image, which clears *f */
    if (rc || !(f->path = strdup(path))) {
        if (!rc) vr_fail("out of memory");
        vr_context("%s", path);
        st_close(f);
        return NULL;
    }
    return f;
}

void st_close(st_file *f) {
    if (!f) return;
    st_header_free(f);
    if (f->map_) munmap(f->map_, f->map_len_);
    free(f->path);
    free(f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    if (!f || !name) return NULL;
    if (!f->name_order_) {  /* a hand-built st_file */
        for (int i = 0; i < f->n_tensors; i++)
            if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
        return NULL;
    }
    int lo = 0, hi = f->n_tensors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const st_tensor *t = &f->tensors[f->name_order_[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const void *st_tensor_data(const st_file *f, const st_tensor *t) {
    if (!f || !t || !f->data || t->end > f->data_len) return NULL;
    return f->data + t->begin;
}

const char *st_meta(const st_file *f, const char *key) {
    for (int i = 0; f && key && i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key)) return f->meta_values[i];
    return NULL;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} st_wtensor;

struct st_writer {
    int n, cap;
    st_wtensor *t;
    int n_meta, meta_cap;
    char **keys, **values;
};

st_writer *st_writer_new(void) {
    st_writer *w = calloc(1, sizeof *w);
    if (!w) return vr_fail_null("out of memory");
    return w;
}

void st_writer_free(st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->keys[i]);
        free(w->values[i]);
    }
    free(w->t);
    free(w->keys);
    free(w->values);
    free(w);
}

/* A string the reader will accept back: valid UTF-8 without NUL (C strings have none). */
static int check_text(const char *what, const char *s) {
    size_t n = strlen(s);
    size_t bad = utf8_invalid_at((const uint8_t *)s, n);
    if (bad < n) return vr_fail("%s '%s' is not valid UTF-8 (byte %zu)", what, s, bad);
    return 0;
}

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, size_t nbytes) {
    if (!w || !name) return vr_fail("st_writer_add: NULL writer or name");
    if (!name[0]) return vr_fail("empty tensor name");
    if (!strcmp(name, "__metadata__")) return vr_fail("tensor name '__metadata__' is reserved");
    if (check_text("tensor name", name)) return -1;
    if (!dtype_valid(dtype)) return vr_fail("tensor '%s': invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > ST_MAX_DIMS)
        return vr_fail("tensor '%s': %d dims (at most %d)", name, ndim, ST_MAX_DIMS);
    if (ndim > 0 && !shape) return vr_fail("tensor '%s': NULL shape", name);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0 || (double)shape[d] >= ST_MAX_INT)
            return vr_fail("tensor '%s': shape[%d] = %lld is not a non-negative integer below 2^53", name, d,
                           (long long)shape[d]);
    uint64_t need;
    if (shape_bytes(ndim, shape, dtype, &need))
        return vr_fail("tensor '%s': shape overflows a 64-bit byte count", name);
    if (need != (uint64_t)nbytes) {
        char sh[ST_MAX_DIMS * 22 + 4];
        fmt_shape(ndim, shape, sh, sizeof sh);
        return vr_fail("tensor '%s': %zu bytes given but %s %s needs %llu", name, nbytes, st_dtype_name(dtype), sh,
                       (ull)need);
    }
    if (nbytes && !data) return vr_fail("tensor '%s': NULL data", name);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return vr_fail("duplicate tensor name '%s'", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_wtensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) return vr_fail("out of memory");
        w->t = t, w->cap = cap;
    }
    st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) return vr_fail("out of memory");
    t->dtype = dtype, t->ndim = ndim, t->data = data, t->nbytes = nbytes;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    w->n++;
    return 0;
}

int st_writer_meta(st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return vr_fail("st_writer_meta: NULL writer, key or value");
    if (check_text("metadata key", key) || check_text("metadata value", value)) return -1;
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->keys[i], key)) return vr_fail("duplicate metadata key '%s'", key);
    if (w->n_meta == w->meta_cap) {
        int cap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **k = realloc(w->keys, (size_t)cap * sizeof *k);
        if (!k) return vr_fail("out of memory");
        w->keys = k;
        char **v = realloc(w->values, (size_t)cap * sizeof *v);
        if (!v) return vr_fail("out of memory");
        w->values = v, w->meta_cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return vr_fail("out of memory");
    }
    w->keys[w->n_meta] = k, w->values[w->n_meta] = v;
    w->n_meta++;
    return 0;
}

/* A growing string for the header. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) VR_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal; UTF-8 passes through raw, control characters are escaped. */
static void sb_json_string(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
            case '"': sb_put(b, "\\\"", 2); break;
            case '\\': sb_put(b, "\\\\", 2); break;
            case '\n': sb_put(b, "\\n", 2); break;
            case '\r': sb_put(b, "\\r", 2); break;
            case '\t': sb_put(b, "\\t", 2); break;
            default:
                if (*c < 0x20) sb_printf(b, "\\u%04x", *c);
                else sb_put(b, (const char *)c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

int st_writer_write(st_writer *w, const char *path) {
    if (!w || !path) return vr_fail("st_writer_write: NULL writer or path");
    sbuf h = {0};
    sb_str(&h, "{");
    if (w->n_meta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_string(&h, w->keys[i]);
            sb_str(&h, ":");
            sb_json_string(&h, w->values[i]);
        }
        sb_str(&h, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const st_wtensor *t = &w->t[i];
        if (i || w->n_meta) sb_str(&h, ",");
        sb_json_string(&h, t->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) sb_printf(&h, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (ull)off, (ull)(off + t->nbytes));
        off += t->nbytes;
    }
    sb_str(&h, "}");
    while (h.len % 8) sb_str(&h, " ");  /* 8 + N is then a multiple of 8: the buffer starts aligned */
    if (h.oom) {
        free(h.p);
        return vr_fail("writing %s: out of memory for the header", path);
    }
    if ((double)off >= ST_MAX_INT || h.len > ST_MAX_HEADER_LEN) {
        free(h.p);
        return vr_fail("writing %s: too much data (%llu bytes) or too large a header (%zu bytes)", path, (ull)off,
                       h.len);
    }

    vr_atomic_file af;
    if (vr_atomic_open(&af, path)) {
        free(h.p);
        return -1;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.fp) == 8 && fwrite(h.p, 1, h.len, af.fp) == h.len;
    for (int i = 0; ok && i < w->n; i++)
        if (w->t[i].nbytes) ok = fwrite(w->t[i].data, 1, w->t[i].nbytes, af.fp) == w->t[i].nbytes;
    free(h.p);
    if (!ok) {
        vr_fail("writing %s: %s", path, strerror(errno));
        vr_atomic_abort(&af);
        return -1;
    }
    return vr_atomic_commit(&af);
}

/* ---------------------------------------------------------------- summary */

static float f16_to_f32(uint16_t h) {
    int exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    float v;
    if (exp == 0) v = ldexpf((float)man, -24);                  /* zero / subnormal */
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexpf((float)(man | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

static float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* Element i as a double (data may be unaligned, so memcpy). */
static double float_at(const uint8_t *p, st_dtype dt, int64_t i) {
    switch (dt) {
        case ST_F64: { double v; memcpy(&v, p + 8 * i, 8); return v; }
        case ST_F32: { float v; memcpy(&v, p + 4 * i, 4); return v; }
        case ST_F16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return f16_to_f32(v); }
        case ST_BF16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return bf16_to_f32(v); }
        default: return 0;
    }
}

/* Names and metadata may hold anything UTF-8: show control characters escaped. */
static void print_clean(FILE *out, const char *s) {
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7F) fprintf(out, "\\x%02x", *c);
        else fputc(*c, out);
}

/* Columns a UTF-8 name takes (one per code point; good enough for alignment). */
static int text_width(const char *s) {
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void fmt_bytes(uint64_t n, char *buf, size_t cap) {
    if (n < 1024) snprintf(buf, cap, "%llu B", (ull)n);
    else if (n < (1ull << 20)) snprintf(buf, cap, "%.1f KiB", n / 1024.0);
    else if (n < (1ull << 30)) snprintf(buf, cap, "%.1f MiB", n / 1048576.0);
    else snprintf(buf, cap, "%.2f GiB", n / 1073741824.0);
}

int st_print_summary(const char *path, FILE *out) {
    st_file *f = st_open(path);
    if (!f) return -1;
    char b1[32], b2[32];
    fmt_bytes(f->map_len_, b1, sizeof b1);
    fmt_bytes(f->data_len, b2, sizeof b2);
    fprintf(out, "%s: %s, %d tensor%s, %s of data\n", path, b1, f->n_tensors, f->n_tensors == 1 ? "" : "s", b2);
    if (f->n_meta) fprintf(out, "metadata:\n");
    for (int i = 0; i < f->n_meta; i++) {
        fprintf(out, "  ");
        print_clean(out, f->meta_keys[i]);
        fprintf(out, " = ");
        print_clean(out, f->meta_values[i]);
        fprintf(out, "\n");
    }
    int width = 4;
    for (int i = 0; i < f->n_tensors; i++) {
        int len = text_width(f->tensors[i].name);
        if (len > width) width = len < 48 ? len : 48;
    }
    if (f->n_tensors) fprintf(out, "tensors:\n");
    int64_t total = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        char sh[ST_MAX_DIMS * 22 + 4];
        fmt_shape(t->ndim, t->shape, sh, sizeof sh);
        fmt_bytes(t->end - t->begin, b1, sizeof b1);
        int64_t n = st_numel(t);
        total += n;
        fprintf(out, "  ");
        print_clean(out, t->name);
        int pad = width - text_width(t->name);
        fprintf(out, "%*s  %-7s %-18s %10s", pad > 0 ? pad : 0, "", st_dtype_name(t->dtype), sh, b1);
        int is_float = t->dtype == ST_F32 || t->dtype == ST_F64 || t->dtype == ST_F16 || t->dtype == ST_BF16;
        if (is_float && n > 0) {
            const uint8_t *p = st_tensor_data(f, t);
            double lo = INFINITY, hi = -INFINITY, sum = 0;
            int64_t finite = 0, nonfinite = 0;
            for (int64_t k = 0; k < n; k++) {
                double v = float_at(p, t->dtype, k);
                if (!isfinite(v)) {
                    nonfinite++;
                    continue;
                }
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                sum += v;
                finite++;
            }
            if (finite) fprintf(out, "  min %.6g  max %.6g  mean %.6g", lo, hi, sum / (double)finite);
            fprintf(out, "  non-finite %lld", (long long)nonfinite);
        } else if (n == 0) {
            fprintf(out, "  (empty)");
        }
        fprintf(out, "\n");
    }
    fprintf(out, "total: %lld elements\n", (long long)total);
    st_close(f);
    return ferror(out) ? vr_fail("writing the summary of %s", path) : 0;
}
