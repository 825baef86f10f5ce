/* shard.c — see shard.h and data/SCHEMA.md. */
#define _GNU_SOURCE
#include "data/shard.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "data/manifest.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shard.c assumes a little-endian host (the checksums are over little-endian bytes)"
#endif

#ifndef VROBIN_VERSION
#define VROBIN_VERSION "unknown"
#endif

/* ---------------------------------------------------------------- float16 and CRC-32 */

uint16_t vr_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff); /* quiet NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00;  /* >= 65520 rounds to inf */
    if (ax >= 0x38800000u) {                      /* normal half: rebias, round to nearest even */
        ax += 0xc8000fffu + ((ax >> 13) & 1);     /* (15 - 127) << 23, plus the rounding bias */
        return sign | (uint16_t)(ax >> 13);
    }
    uint32_t e = ax >> 23;                        /* subnormal half (or zero): integer rounding */
    if (e < 102) return sign;                     /* below 2^-25: rounds to zero */
    uint32_t m = (ax & 0x7fffffu) | 0x800000u, shift = 126 - e;
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (r & 1))) r++;
    return sign | (uint16_t)r;
}

float vr_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0 && m == 0) x = sign;
    else if (e == 0) { /* subnormal: normalise the mantissa */
        e = 113;
        while (!(m & 0x400)) { m <<= 1; e--; }
        x = sign | (e << 23) | ((m & 0x3ff) << 13);
    } else if (e == 31) x = sign | 0x7f800000u | (m << 13);
    else x = sign | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static uint32_t g_crc[8][256];
static pthread_once_t g_crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        g_crc[0][i] = c;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++) g_crc[k][i] = (g_crc[k - 1][i] >> 8) ^ g_crc[0][g_crc[k - 1][i] & 0xff];
}

/* slicing-by-8: ~2 GB/s, so checking every clip on read costs a few percent of the I/O */
uint32_t vr_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&g_crc_once, crc_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= c;
        c = g_crc[7][lo & 0xff] ^ g_crc[6][(lo >> 8) & 0xff] ^ g_crc[5][(lo >> 16) & 0xff] ^ g_crc[4][lo >> 24] ^
            g_crc[3][hi & 0xff] ^ g_crc[2][(hi >> 8) & 0xff] ^ g_crc[1][(hi >> 16) & 0xff] ^ g_crc[0][hi >> 24];
    }
    while (n--) c = g_crc[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* The per-clip checksum: audio_latent (float16 bytes), video_feat (float32 bytes), then text, id
 * and labels_json, each as UTF-8 bytes plus one NUL. Frames have their own (frames_checksum). */
static uint32_t clip_crc(const uint16_t *half, size_t n_audio, const float *video, size_t n_video, const char *text,
                         const char *id, const char *labels) {
    uint32_t c = vr_crc32(0, half, n_audio * 2);
    c = vr_crc32(c, video, n_video * 4);
    c = vr_crc32(c, text, strlen(text) + 1);
    c = vr_crc32(c, id, strlen(id) + 1);
    return vr_crc32(c, labels, strlen(labels) + 1);
}

/* ---------------------------------------------------------------- HDF5 plumbing */

/* One lock around all our HDF5 use (see shard.h). HDF5's error stack is per thread in thread-safe
 * builds, so automatic printing is turned off on each thread that gets here. */
static pthread_mutex_t g_h5_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local int t_h5_quiet;
/* HDF5 clears its error stack on entry to most API calls, even a successful close on the way out
 * of a failed operation; the message is saved here first and appended by h5_fail(). */
static _Thread_local char t_h5_detail[512];

/* Transfer properties for per-clip reads and writes: HDF5 callocs a type-conversion buffer of
 * 1 MB (the default size) for every variable-length string access; 4 KB holds a string's handle
 * just as well and took the writer from ~2 ms to well under 1 ms per clip. */
static hid_t g_dxpl = -1;

static void h5_enter(void) {
    pthread_mutex_lock(&g_h5_lock);
    if (!t_h5_quiet) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        t_h5_quiet = 1;
    }
    if (g_dxpl < 0) {
        hid_t p = H5Pcreate(H5P_DATASET_XFER);
        if (p >= 0 && H5Pset_buffer(p, 4096, NULL, NULL) >= 0) g_dxpl = p;
        else if (p >= 0) H5Pclose(p);
    }
    t_h5_detail[0] = '\0';
}

static hid_t dxpl(void) { return g_dxpl >= 0 ? g_dxpl : H5P_DEFAULT; }
static void h5_leave(void) { pthread_mutex_unlock(&g_h5_lock); }

typedef struct h5_msgs {
    char outer[256], inner[256];
} h5_msgs;

static herr_t h5_walk(unsigned n, const H5E_error2_t *e, void *data) {
    h5_msgs *m = data;
    if (!e->desc) return 0;
    if (n == 0) snprintf(m->outer, sizeof m->outer, "%s", e->desc);
    snprintf(m->inner, sizeof m->inner, "%s", e->desc);
    return 0;
}

/* Save the outermost and innermost messages of a non-empty error stack, and clear it. */
static void h5_capture(void) {
    if (H5Eget_num(H5E_DEFAULT) <= 0) return;
    h5_msgs m = {{0}, {0}};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, h5_walk, &m);
    H5Eclear2(H5E_DEFAULT);
    if (!m.outer[0]) return;
    if (!strcmp(m.outer, m.inner)) snprintf(t_h5_detail, sizeof t_h5_detail, "%s", m.outer);
    else snprintf(t_h5_detail, sizeof t_h5_detail, "%s: %s", m.outer, m.inner);
}

/* vr_fail with the HDF5 error message appended, when there is one. */
static int h5_fail(const char *fmt, ...) VR_PRINTF(1, 2);
static int h5_fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h5_capture();
    int rc = t_h5_detail[0] ? vr_fail("%s (HDF5: %s)", msg, t_h5_detail) : vr_fail("%s", msg);
    t_h5_detail[0] = '\0';
    return rc;
}

static void h5_close(hid_t *h) {
    h5_capture();
    if (*h < 0) return;
    switch (H5Iget_type(*h)) {
    case H5I_FILE: H5Fclose(*h); break;
    case H5I_GROUP: H5Gclose(*h); break;
    case H5I_DATASET: H5Dclose(*h); break;
    case H5I_DATATYPE: H5Tclose(*h); break;
    case H5I_DATASPACE: H5Sclose(*h); break;
    case H5I_ATTR: H5Aclose(*h); break;
    case H5I_GENPROP_LST: H5Pclose(*h); break;
    default: break;
    }
    *h = -1;
}

/* IEEE half, which HDF5 1.10 lacks: h5py reads this as numpy float16. */
static hid_t half_type(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0 || H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_precision(t, 16) < 0 ||
        H5Tset_ebias(t, 15) < 0) {
        h5_close(&t);
        return -1;
    }
    return t;
}

static hid_t str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        h5_close(&t);
        return -1;
    }
    return t;
}

/* Select row i (the first dimension) of dataset d; returns the file and memory spaces. */
static int select_row(hid_t d, int64_t i, hid_t *fspace, hid_t *mspace) {
    hsize_t dims[8], start[8] = {0}, count[8];
    *mspace = -1;
    *fspace = H5Dget_space(d);
    int rank = *fspace < 0 ? -1 : H5Sget_simple_extent_dims(*fspace, dims, NULL);
    if (rank < 1 || rank > 8) {
        h5_close(fspace);
        return -1;
    }
    for (int k = 0; k < rank; k++) count[k] = dims[k];
    start[0] = (hsize_t)i;
    count[0] = 1;
    if (H5Sselect_hyperslab(*fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (*mspace = H5Screate_simple(rank, count, NULL)) < 0) {
        h5_close(fspace);
        return -1;
    }
    return 0;
}

static int read_row(hid_t d, hid_t mtype, int64_t i, void *buf) {
    hid_t fs, ms;
    if (select_row(d, i, &fs, &ms) != 0) return -1;
    herr_t rc = H5Dread(d, mtype, ms, fs, dxpl(), buf);
    h5_close(&fs);
    h5_close(&ms);
    return rc < 0 ? -1 : 0;
}

/* ---------------------------------------------------------------- attributes */

static int attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *value) {
    hid_t sp = H5Screate(H5S_SCALAR), a = -1;
    int rc = -1;
    if (sp >= 0 && (a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Awrite(a, mtype, value) >= 0)
        rc = 0;
    h5_close(&a);
    h5_close(&sp);
    return rc;
}

static int attr_write_str(hid_t obj, const char *name, const char *s) {
    hid_t t = str_type();
    int rc = t < 0 ? -1 : attr_write(obj, name, t, t, &s);
    h5_close(&t);
    return rc;
}

static int attr_write_i64(hid_t obj, const char *name, int64_t v) {
    return attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}
static int attr_write_f64(hid_t obj, const char *name, double v) {
    return attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

/* Scalar numeric attribute (any integer or float type; HDF5 converts). 1 = missing. */
static int attr_read_num(hid_t obj, const char *name, hid_t mtype, void *out) {
    if (H5Aexists(obj, name) <= 0) return 1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = -1, sp = -1;
    int rc = -1;
    if (a >= 0 && (t = H5Aget_type(a)) >= 0 && (sp = H5Aget_space(a)) >= 0) {
        H5T_class_t cls = H5Tget_class(t);
        if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && H5Sget_simple_extent_npoints(sp) == 1 &&
            H5Aread(a, mtype, out) >= 0)
            rc = 0;
    }
    h5_close(&sp);
    h5_close(&t);
    h5_close(&a);
    return rc;
}

/* Scalar string attribute, variable or fixed length, into a malloc'd string. 1 = missing. */
static int attr_read_str(hid_t obj, const char *name, char **out) {
    *out = NULL;
    if (H5Aexists(obj, name) <= 0) return 1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = -1, mt = -1;
    int rc = -1;
    if (a >= 0 && (t = H5Aget_type(a)) >= 0 && H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            if ((mt = str_type()) >= 0 && H5Aread(a, mt, &s) >= 0) {
                *out = strdup(s ? s : "");
                H5free_memory(s);
                rc = *out ? 0 : -1;
            }
        } else {
            size_t n = H5Tget_size(t);
            char *s = calloc(n + 1, 1);
            if (s && (mt = H5Tcopy(t)) >= 0 && H5Aread(a, mt, s) >= 0) {
                *out = s;
                rc = 0;
            } else free(s);
        }
    }
    h5_close(&mt);
    h5_close(&t);
    h5_close(&a);
    return rc;
}

/* ---------------------------------------------------------------- writer */

static int check_json_object(const char *s) {
    cJSON *j = cJSON_Parse(s);
    int ok = j && cJSON_IsObject(j);
    cJSON_Delete(j);
    return ok;
}

struct vr_shard_writer {
    char *path, *tmp;
    int T, D, Tv, Dv, H, W;
    int64_t n;
    hid_t file, t_half, t_str;
    hid_t d_audio, d_video, d_frames, d_text, d_id, d_labels, d_crc, d_fcrc;
    uint16_t *half;
};

/* Chunked dataset [0, dims...] growing along the first dimension. */
static hid_t create_grow(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *row_dims, hsize_t chunk0) {
    hsize_t dims[8], maxd[8], chunk[8];
    dims[0] = 0;
    maxd[0] = H5S_UNLIMITED;
    chunk[0] = chunk0;
    for (int k = 1; k < rank; k++) dims[k] = maxd[k] = chunk[k] = row_dims[k - 1];
    hid_t sp = H5Screate_simple(rank, dims, maxd), pl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (sp >= 0 && pl >= 0 && H5Pset_chunk(pl, rank, chunk) >= 0)
        d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    h5_close(&pl);
    h5_close(&sp);
    return d;
}

static int write_row(hid_t d, hid_t mtype, int64_t i, const void *buf) {
    hsize_t dims[8];
    hid_t sp = H5Dget_space(d);
    int rank = sp < 0 ? -1 : H5Sget_simple_extent_dims(sp, dims, NULL);
    h5_close(&sp);
    if (rank < 1) return -1;
    dims[0] = (hsize_t)i + 1;
    if (H5Dset_extent(d, dims) < 0) return -1;
    hid_t fs, ms;
    if (select_row(d, i, &fs, &ms) != 0) return -1;
    herr_t rc = H5Dwrite(d, mtype, ms, fs, dxpl(), buf);
    h5_close(&fs);
    h5_close(&ms);
    return rc < 0 ? -1 : 0;
}

static void writer_close_handles(vr_shard_writer *w) {
    hid_t *hs[] = {&w->d_audio, &w->d_video, &w->d_frames, &w->d_text, &w->d_id,
                   &w->d_labels, &w->d_crc, &w->d_fcrc, &w->t_half, &w->t_str, &w->file};
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) h5_close(hs[k]);
}

static void writer_free(vr_shard_writer *w) {
    free(w->path);
    free(w->tmp);
    free(w->half);
    free(w);
}

static int writer_setup(vr_shard_writer *w, const vr_shard_spec *sp) {
    const char *p = w->path;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        h5_close(&fapl);
        return h5_fail("%s: cannot set up HDF5", p);
    }
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    h5_close(&fapl);
    if (w->file < 0) return h5_fail("cannot create %s", w->tmp);
    if ((w->t_half = half_type()) < 0 || (w->t_str = str_type()) < 0) return h5_fail("%s: HDF5 types", p);

    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    hid_t f = w->file;
    if (attr_write_i64(f, "format_version", VR_SHARD_FORMAT_VERSION) ||
        attr_write_str(f, "vrobin_version", VROBIN_VERSION) || attr_write_str(f, "created_utc", created) ||
        attr_write_str(f, "manifest_sha256", sp->manifest_sha256 ? sp->manifest_sha256 : "") ||
        attr_write_str(f, "builder_config", sp->builder_config ? sp->builder_config : "{}") ||
        attr_write_i64(f, "n_clips", 0) || attr_write_f64(f, "audio_rate", sp->audio_rate) ||
        attr_write_f64(f, "video_fps", sp->video_fps) || attr_write_i64(f, "sample_rate", sp->sample_rate) ||
        attr_write_str(f, "latent_kind", sp->latent_kind) || attr_write_i64(f, "normalised", sp->normalised ? 1 : 0))
        return h5_fail("%s: writing attributes", p);

    hsize_t a_row[] = {(hsize_t)sp->T, (hsize_t)sp->D}, v_row[] = {(hsize_t)sp->Tv, (hsize_t)sp->Dv};
    hsize_t f_row[] = {(hsize_t)sp->Tv, (hsize_t)sp->frame_h, (hsize_t)sp->frame_w, 3};
    if ((w->d_audio = create_grow(f, "audio_latent", w->t_half, 3, a_row, 1)) < 0 ||
        (w->d_video = create_grow(f, "video_feat", H5T_IEEE_F32LE, 3, v_row, 1)) < 0 ||
        (w->H && (w->d_frames = create_grow(f, "frames", H5T_STD_U8LE, 5, f_row, 1)) < 0) ||
        (w->d_text = create_grow(f, "text", w->t_str, 1, NULL, 256)) < 0 ||
        (w->d_id = create_grow(f, "id", w->t_str, 1, NULL, 256)) < 0 ||
        (w->d_labels = create_grow(f, "labels_json", w->t_str, 1, NULL, 256)) < 0 ||
        (w->d_crc = create_grow(f, "checksum", H5T_STD_U32LE, 1, NULL, 1024)) < 0 ||
        (w->H && (w->d_fcrc = create_grow(f, "frames_checksum", H5T_STD_U32LE, 1, NULL, 1024)) < 0))
        return h5_fail("%s: creating datasets", p);

    /* the names of the video_feat dims, as an attribute of the dataset */
    const char **names = calloc((size_t)sp->Dv, sizeof *names);
    char *gen = calloc((size_t)sp->Dv, 16);
    if (!names || !gen) {
        free(names);
        free(gen);
        return vr_fail("out of memory");
    }
    for (int k = 0; k < sp->Dv; k++) {
        snprintf(gen + 16 * k, 16, "f%d", k);
        names[k] = sp->video_feat_names && sp->video_feat_names[k] ? sp->video_feat_names[k] : gen + 16 * k;
    }
    hsize_t nd = (hsize_t)sp->Dv;
    hid_t nsp = H5Screate_simple(1, &nd, NULL), a = -1;
    int rc = 0;
    if (nsp < 0 || (a = H5Acreate2(w->d_video, "names", w->t_str, nsp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, w->t_str, names) < 0)
        rc = h5_fail("%s: writing video_feat names", p);
    h5_close(&a);
    h5_close(&nsp);
    free(names);
    free(gen);
    return rc;
}

vr_shard_writer *vr_shard_create(const char *path, const vr_shard_spec *sp) {
    if (sp->T <= 0 || sp->D <= 0 || sp->Tv <= 0 || sp->Dv <= 0)
        return vr_fail_null("%s: shard shapes must be positive (T %d, D %d, Tv %d, Dv %d)", path, sp->T, sp->D, sp->Tv,
                            sp->Dv);
    if (sp->frame_h < 0 || sp->frame_w < 0 || (sp->frame_h == 0) != (sp->frame_w == 0))
        return vr_fail_null("%s: frame size %dx%d: give both or neither", path, sp->frame_w, sp->frame_h);
    if (!sp->latent_kind || (strcmp(sp->latent_kind, "logmel") && strcmp(sp->latent_kind, "external")))
        return vr_fail_null("%s: latent_kind must be \"logmel\" or \"external\", not \"%s\"", path,
                            sp->latent_kind ? sp->latent_kind : "(null)");
    if (!(sp->audio_rate > 0) || !(sp->video_fps > 0) || sp->sample_rate <= 0)
        return vr_fail_null("%s: audio_rate, video_fps and sample_rate must be positive", path);
    if (sp->builder_config && !check_json_object(sp->builder_config))
        return vr_fail_null("%s: builder_config must be a JSON object", path);
    const char *sha = sp->manifest_sha256 ? sp->manifest_sha256 : "";
    if (sha[0] && (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64))
        return vr_fail_null("%s: manifest_sha256 must be 64 lowercase hex digits, not '%s'", path, sha);
    vr_shard_writer *w = calloc(1, sizeof *w);
    if (!w) return vr_fail_null("out of memory");
    w->T = sp->T, w->D = sp->D, w->Tv = sp->Tv, w->Dv = sp->Dv, w->H = sp->frame_h, w->W = sp->frame_w;
    w->file = w->t_half = w->t_str = w->d_audio = w->d_video = w->d_frames = -1;
    w->d_text = w->d_id = w->d_labels = w->d_crc = w->d_fcrc = -1;
    w->path = strdup(path);
    w->half = malloc((size_t)sp->T * sp->D * sizeof *w->half);
    if (!w->path || !w->half || asprintf(&w->tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        w->tmp = NULL;
        writer_free(w);
        return vr_fail_null("out of memory");
    }
    h5_enter();
    int rc = writer_setup(w, sp);
    if (rc != 0) {
        writer_close_handles(w);
        unlink(w->tmp);
    }
    h5_leave();
    if (rc != 0) {
        writer_free(w);
        return NULL;
    }
    return w;
}

int64_t vr_shard_writer_count(const vr_shard_writer *w) { return w->n; }

/* First non-finite value of x[n], or -1. */
static int64_t first_nonfinite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

int vr_shard_append(vr_shard_writer *w, const vr_shard_clip *c) {
    const char *p = w->path, *labels = c->labels_json ? c->labels_json : "{}";
    const char *id = c->id ? c->id : "", *text = c->text ? c->text : "";
    if (!id[0]) return vr_fail("%s: clip %lld has an empty id", p, (long long)w->n);
    if (!vr_utf8_valid(id, strlen(id))) return vr_fail("%s: clip %lld: id is not valid UTF-8", p, (long long)w->n);
    if (!vr_utf8_valid(text, strlen(text))) return vr_fail("%s: clip '%s': text is not valid UTF-8", p, id);
    if (!vr_utf8_valid(labels, strlen(labels)) || !check_json_object(labels))
        return vr_fail("%s: clip '%s': labels_json is not a JSON object", p, id);
    if (!c->audio || !c->video) return vr_fail("%s: clip '%s': audio and video arrays are required", p, id);
    if (w->H && !c->frames) return vr_fail("%s: clip '%s': this shard stores frames, but the clip has none", p, id);
    int64_t na = (int64_t)w->T * w->D, nv = (int64_t)w->Tv * w->Dv, bad;
    if ((bad = first_nonfinite(c->audio, na)) >= 0)
        return vr_fail("%s: clip '%s': audio latent is %g at frame %lld dim %lld", p, id, c->audio[bad],
                       (long long)(bad / w->D), (long long)(bad % w->D));
    if ((bad = first_nonfinite(c->video, nv)) >= 0)
        return vr_fail("%s: clip '%s': video feature is %g at frame %lld dim %lld", p, id, c->video[bad],
                       (long long)(bad / w->Dv), (long long)(bad % w->Dv));
    for (int64_t k = 0; k < na; k++) {
        w->half[k] = vr_f32_to_f16(c->audio[k]);
        if ((w->half[k] & 0x7c00) == 0x7c00)
            return vr_fail("%s: clip '%s': audio latent %g at frame %lld dim %lld overflows float16 (max 65504); "
                           "normalise the latents", p, id, c->audio[k], (long long)(k / w->D), (long long)(k % w->D));
    }
    uint32_t crc = clip_crc(w->half, (size_t)na, c->video, (size_t)nv, text, id, labels);
    uint32_t fcrc = w->H ? vr_crc32(0, c->frames, (size_t)w->Tv * w->H * w->W * 3) : 0;

    h5_enter();
    int64_t i = w->n;
    int rc = 0;
    if (write_row(w->d_audio, w->t_half, i, w->half) || write_row(w->d_video, H5T_NATIVE_FLOAT, i, c->video) ||
        (w->H && write_row(w->d_frames, H5T_NATIVE_UINT8, i, c->frames)) ||
        write_row(w->d_text, w->t_str, i, &text) || write_row(w->d_id, w->t_str, i, &id) ||
        write_row(w->d_labels, w->t_str, i, &labels) || write_row(w->d_crc, H5T_NATIVE_UINT32, i, &crc) ||
        (w->H && write_row(w->d_fcrc, H5T_NATIVE_UINT32, i, &fcrc)))
        rc = h5_fail("%s: writing clip %lld ('%s')", w->tmp, (long long)i, id);
    if (rc != 0) { /* back to n rows everywhere, so the shard stays consistent without this clip */
        hid_t ds[] = {w->d_audio, w->d_video, w->d_frames, w->d_text, w->d_id, w->d_labels, w->d_crc, w->d_fcrc};
        for (size_t k = 0; k < sizeof ds / sizeof ds[0]; k++) {
            hsize_t dims[8];
            hid_t sp = ds[k] < 0 ? -1 : H5Dget_space(ds[k]);
            if (sp >= 0 && H5Sget_simple_extent_dims(sp, dims, NULL) > 0 && dims[0] > (hsize_t)i) {
                dims[0] = (hsize_t)i;
                H5Dset_extent(ds[k], dims);
            }
            if (sp >= 0) H5Sclose(sp);
        }
    }
    h5_leave();
    if (rc == 0) w->n++;
    return rc;
}

static int write_vec(hid_t loc, const char *name, const float *x, int n) {
    hsize_t d = (hsize_t)n;
    hid_t sp = H5Screate_simple(1, &d, NULL), ds = -1;
    int rc = -1;
    if (sp >= 0 && (ds = H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0)
        rc = 0;
    h5_close(&ds);
    h5_close(&sp);
    return rc;
}

static int writer_finish_h5(vr_shard_writer *w, const float *mean, const float *std) {
    float *m = malloc((size_t)w->D * sizeof *m), *s = malloc((size_t)w->D * sizeof *s);
    if (!m || !s) {
        free(m);
        free(s);
        return vr_fail("out of memory");
    }
    for (int k = 0; k < w->D; k++) {
        m[k] = mean ? mean[k] : 0.0f;
        s[k] = std ? std[k] : 1.0f;
    }
    int rc = 0;
    hid_t g = H5Gcreate2(w->file, "norm", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), a = -1;
    int64_t n = w->n;
    if (g < 0 || write_vec(g, "audio_mean", m, w->D) || write_vec(g, "audio_std", s, w->D))
        rc = h5_fail("%s: writing norm", w->tmp);
    else if ((a = H5Aopen(w->file, "n_clips", H5P_DEFAULT)) < 0 || H5Awrite(a, H5T_NATIVE_INT64, &n) < 0)
        rc = h5_fail("%s: writing n_clips", w->tmp);
    h5_close(&a);
    h5_close(&g);
    free(m);
    free(s);
    if (rc == 0 && H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) rc = h5_fail("%s: flushing", w->tmp);
    hid_t file = w->file;
    w->file = -1;
    writer_close_handles(w);
    if (H5Fclose(file) < 0 && rc == 0) rc = h5_fail("%s: closing", w->tmp);
    return rc;
}

static void fsync_path(const char *path, int flags) {
    int fd = open(path, flags);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

int vr_shard_finish(vr_shard_writer *w, const float *mean, const float *std) {
    for (int k = 0; std && k < w->D; k++)
        if (!(std[k] > 0) || !isfinite(std[k]) || !isfinite(mean ? mean[k] : 0.0f)) {
            vr_fail("%s: norm dim %d: std must be positive and finite (mean %g, std %g)", w->path, k,
                    mean ? mean[k] : 0.0, std[k]);
            vr_shard_abort(w);
            return -1;
        }
    h5_enter();
    int rc = writer_finish_h5(w, mean, std);
    h5_leave();
    if (rc == 0) {
        /* HDF5 has written and closed the file; make it durable, then rename it into place */
        int fd = open(w->tmp, O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) rc = vr_fail("fsync %s: %s", w->tmp, strerror(errno));
        if (fd >= 0) close(fd);
    }
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = vr_fail("renaming %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (rc == 0) {
        char *dir = strdup(w->path);
        if (dir) fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
        free(dir);
    } else unlink(w->tmp);
    writer_free(w);
    return rc;
}

void vr_shard_abort(vr_shard_writer *w) {
    if (!w) return;
    h5_enter();
    writer_close_handles(w);
    h5_leave();
    unlink(w->tmp);
    writer_free(w);
}

/* ---------------------------------------------------------------- reader */

struct vr_shard {
    char *path;
    vr_shard_info info;
    hid_t file, t_half, t_str;
    hid_t d_audio, d_video, d_frames, d_text, d_id, d_labels, d_crc, d_fcrc;
    float *mean, *std;
    char *builder_config;
    char **feat_names;
    /* the last clip read */
    uint16_t *half;
    float *audio, *video;
    uint8_t *frames;
    char *id, *text, *labels;
};

static void shard_close_handles(vr_shard *s) {
    hid_t *hs[] = {&s->d_audio, &s->d_video, &s->d_frames, &s->d_text, &s->d_id,
                   &s->d_labels, &s->d_crc, &s->d_fcrc, &s->t_half, &s->t_str, &s->file};
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) h5_close(hs[k]);
}

static void shard_free(vr_shard *s) {
    if (s->feat_names)
        for (int k = 0; k < s->info.Dv; k++) free(s->feat_names[k]);
    free(s->feat_names);
    free(s->path);
    free(s->mean);
    free(s->std);
    free(s->builder_config);
    free(s->half);
    free(s->audio);
    free(s->video);
    free(s->frames);
    free(s->id);
    free(s->text);
    free(s->labels);
    free(s);
}

static void fmt_dims(char *buf, size_t cap, const hsize_t *d, int rank) {
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < rank && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%llu", k ? "," : "[", (unsigned long long)d[k]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

typedef enum { K_HALF, K_F32, K_U8, K_U32, K_VSTR } ds_kind;

static const char *kind_name(ds_kind k) {
    switch (k) {
    case K_HALF: return "float16";
    case K_F32: return "float32";
    case K_U8: return "uint8";
    case K_U32: return "uint32";
    default: return "variable-length string";
    }
}

/* Open dataset `name` and check its element type and rank; dims get its shape. */
static hid_t open_checked(vr_shard *s, hid_t loc, const char *name, ds_kind kind, int rank, hsize_t *dims) {
    const char *p = s->path;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return vr_fail("%s: missing dataset '%s'", p, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT), t = -1, sp = -1;
    if (d < 0) return h5_fail("%s: cannot open dataset '%s'", p, name);
    int ok = 0, r = -1;
    if ((t = H5Dget_type(d)) >= 0) {
        H5T_class_t c = H5Tget_class(t);
        size_t sz = H5Tget_size(t);
        switch (kind) {
        case K_HALF: ok = c == H5T_FLOAT && sz == 2; break;
        case K_F32: ok = c == H5T_FLOAT && sz == 4; break;
        case K_U8: ok = c == H5T_INTEGER && sz == 1 && H5Tget_sign(t) == H5T_SGN_NONE; break;
        case K_U32: ok = c == H5T_INTEGER && sz == 4 && H5Tget_sign(t) == H5T_SGN_NONE; break;
        case K_VSTR: ok = c == H5T_STRING && H5Tis_variable_str(t) > 0; break;
        }
    }
    if (ok && (sp = H5Dget_space(d)) >= 0) r = H5Sget_simple_extent_dims(sp, dims, NULL);
    h5_close(&sp);
    h5_close(&t);
    if (!ok) {
        h5_close(&d);
        return vr_fail("%s: dataset '%s' must hold %s", p, name, kind_name(kind));
    }
    if (r != rank) {
        h5_close(&d);
        return vr_fail("%s: dataset '%s' has %d dimensions, expected %d", p, name, r, rank);
    }
    return d;
}

/* The shape must equal `want`, where -1 entries are free (set from the file). `what` explains the
 * expectation, e.g. "[n_clips,T,D]". */
static int check_shape(vr_shard *s, const char *name, const hsize_t *dims, int rank, int64_t *want, const char *what) {
    int ok = 1;
    for (int k = 0; k < rank; k++) {
        if (want[k] < 0) want[k] = (int64_t)dims[k];
        else if ((int64_t)dims[k] != want[k]) ok = 0;
        if (dims[k] == 0 && k > 0) ok = 0;
        if (dims[k] > INT32_MAX && k > 0) ok = 0;
    }
    if (ok) return 0;
    char got[128];
    fmt_dims(got, sizeof got, dims, rank);
    return vr_fail("%s: dataset '%s' has shape %s, expected %s with n_clips = %lld (T = %d, D = %d, Tv = %d, Dv = %d)",
                   s->path, name, got, what, (long long)s->info.n_clips, s->info.T, s->info.D, s->info.Tv, s->info.Dv);
}

static int read_str_attr_into(vr_shard *s, const char *name, char *buf, size_t cap) {
    char *v = NULL;
    int r = attr_read_str(s->file, name, &v);
    if (r == 1) return vr_fail("%s: missing attribute '%s'", s->path, name);
    if (r != 0) return h5_fail("%s: attribute '%s' must be a string", s->path, name);
    snprintf(buf, cap, "%s", v);
    free(v);
    return 0;
}

static int read_num_attr(vr_shard *s, const char *name, hid_t mtype, void *out) {
    int r = attr_read_num(s->file, name, mtype, out);
    if (r == 1) return vr_fail("%s: missing attribute '%s'", s->path, name);
    if (r != 0) return h5_fail("%s: attribute '%s' must be a number", s->path, name);
    return 0;
}

static int read_feat_names(vr_shard *s) {
    const char *p = s->path;
    if (H5Aexists(s->d_video, "names") <= 0) return vr_fail("%s: dataset 'video_feat' has no 'names' attribute", p);
    hid_t a = H5Aopen(s->d_video, "names", H5P_DEFAULT), t = -1, sp = -1;
    int rc = -1;
    char **raw = NULL;
    if (a >= 0 && (t = H5Aget_type(a)) >= 0 && (sp = H5Aget_space(a)) >= 0) {
        hssize_t n = H5Sget_simple_extent_npoints(sp);
        if (H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0 || n != s->info.Dv)
            rc = vr_fail("%s: video_feat attribute 'names' must hold %d variable-length strings", p, s->info.Dv);
        else if (!(raw = calloc((size_t)n, sizeof *raw)) || !(s->feat_names = calloc((size_t)n, sizeof(char *))))
            rc = vr_fail("out of memory");
        else if (H5Aread(a, s->t_str, raw) < 0)
            rc = h5_fail("%s: reading video_feat names", p);
        else {
            rc = 0;
            for (hssize_t k = 0; k < n; k++)
                if (!(s->feat_names[k] = strdup(raw[k] ? raw[k] : ""))) rc = vr_fail("out of memory");
            H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
        }
    } else rc = h5_fail("%s: reading video_feat names", p);
    free(raw);
    h5_close(&sp);
    h5_close(&t);
    h5_close(&a);
    return rc;
}

static int read_norm(vr_shard *s) {
    const char *p = s->path;
    if (H5Lexists(s->file, "norm", H5P_DEFAULT) <= 0) return vr_fail("%s: missing group 'norm'", p);
    hid_t g = H5Gopen2(s->file, "norm", H5P_DEFAULT);
    if (g < 0) return h5_fail("%s: cannot open group 'norm'", p);
    int rc = 0;
    const char *names[2] = {"audio_mean", "audio_std"};
    float **dst[2] = {&s->mean, &s->std};
    for (int k = 0; k < 2 && rc == 0; k++) {
        hsize_t dims[8];
        int64_t want[1] = {s->info.D};
        char full[32];
        snprintf(full, sizeof full, "norm/%s", names[k]);
        hid_t d = open_checked(s, g, names[k], K_F32, 1, dims);
        if (d < 0) rc = -1;
        else if (check_shape(s, full, dims, 1, want, "[D]")) rc = -1;
        else if (!(*dst[k] = malloc((size_t)s->info.D * sizeof(float)))) rc = vr_fail("out of memory");
        else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *dst[k]) < 0)
            rc = h5_fail("%s: reading %s", p, full);
        h5_close(&d);
    }
    h5_close(&g);
    return rc;
}

static int shard_open_h5(vr_shard *s) {
    const char *p = s->path;
    vr_shard_info *in = &s->info;
    if (access(p, R_OK) != 0) return vr_fail("%s: %s", p, strerror(errno));
    if (H5Fis_hdf5(p) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return vr_fail("%s: not an HDF5 file", p);
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    s->file = H5Fopen(p, H5F_ACC_RDONLY, fapl);
    h5_close(&fapl);
    if (s->file < 0) return h5_fail("%s: cannot open", p);
    if ((s->t_half = half_type()) < 0 || (s->t_str = str_type()) < 0) return h5_fail("%s: HDF5 types", p);

    int64_t v = 0;
    int r = attr_read_num(s->file, "format_version", H5T_NATIVE_INT64, &v);
    if (r == 1) return vr_fail("%s: no attribute 'format_version' (not a vrobin shard)", p);
    if (r != 0) return h5_fail("%s: attribute 'format_version' must be an integer", p);
    if (v > VR_SHARD_FORMAT_VERSION)
        return vr_fail("%s: format_version %lld is newer than this vrobin (%d); upgrade vrobin to read it", p,
                       (long long)v, VR_SHARD_FORMAT_VERSION);
    if (v < 1) return vr_fail("%s: invalid format_version %lld", p, (long long)v);
    in->format_version = (int)v;

    int64_t n = 0, sr = 0, norm = 0;
    if (read_num_attr(s, "n_clips", H5T_NATIVE_INT64, &n) ||
        read_num_attr(s, "audio_rate", H5T_NATIVE_DOUBLE, &in->audio_rate) ||
        read_num_attr(s, "video_fps", H5T_NATIVE_DOUBLE, &in->video_fps) ||
        read_num_attr(s, "sample_rate", H5T_NATIVE_INT64, &sr) ||
        read_num_attr(s, "normalised", H5T_NATIVE_INT64, &norm) ||
        read_str_attr_into(s, "latent_kind", in->latent_kind, sizeof in->latent_kind) ||
        read_str_attr_into(s, "manifest_sha256", in->manifest_sha256, sizeof in->manifest_sha256) ||
        read_str_attr_into(s, "vrobin_version", in->vrobin_version, sizeof in->vrobin_version) ||
        read_str_attr_into(s, "created_utc", in->created_utc, sizeof in->created_utc))
        return -1;
    if (n < 0) return vr_fail("%s: n_clips is negative (%lld)", p, (long long)n);
    in->n_clips = n;
    in->sample_rate = (int)sr;
    in->normalised = norm != 0;
    r = attr_read_str(s->file, "builder_config", &s->builder_config);
    if (r == 1) return vr_fail("%s: missing attribute 'builder_config'", p);
    if (r != 0) return h5_fail("%s: attribute 'builder_config' must be a string", p);

    hsize_t dims[8];
    int64_t w3[3] = {n, -1, -1};
    if ((s->d_audio = open_checked(s, s->file, "audio_latent", K_HALF, 3, dims)) < 0 ||
        check_shape(s, "audio_latent", dims, 3, w3, "[n_clips,T,D]"))
        return -1;
    in->T = (int)w3[1], in->D = (int)w3[2];
    int64_t v3[3] = {n, -1, -1};
    if ((s->d_video = open_checked(s, s->file, "video_feat", K_F32, 3, dims)) < 0 ||
        check_shape(s, "video_feat", dims, 3, v3, "[n_clips,Tv,Dv]"))
        return -1;
    in->Tv = (int)v3[1], in->Dv = (int)v3[2];
    if (H5Lexists(s->file, "frames", H5P_DEFAULT) > 0) {
        int64_t f5[5] = {n, in->Tv, -1, -1, 3};
        if ((s->d_frames = open_checked(s, s->file, "frames", K_U8, 5, dims)) < 0 ||
            check_shape(s, "frames", dims, 5, f5, "[n_clips,Tv,H,W,3]"))
            return -1;
        in->frame_h = (int)f5[2], in->frame_w = (int)f5[3];
        int64_t w1[1] = {n};
        if ((s->d_fcrc = open_checked(s, s->file, "frames_checksum", K_U32, 1, dims)) < 0 ||
            check_shape(s, "frames_checksum", dims, 1, w1, "[n_clips]"))
            return -1;
    }
    struct { const char *name; hid_t *d; ds_kind kind; } one[] = {
        {"text", &s->d_text, K_VSTR}, {"id", &s->d_id, K_VSTR}, {"labels_json", &s->d_labels, K_VSTR},
        {"checksum", &s->d_crc, K_U32}};
    for (size_t k = 0; k < sizeof one / sizeof one[0]; k++) {
        int64_t w1[1] = {n};
        if ((*one[k].d = open_checked(s, s->file, one[k].name, one[k].kind, 1, dims)) < 0 ||
            check_shape(s, one[k].name, dims, 1, w1, "[n_clips]"))
            return -1;
    }
    if (read_norm(s) || read_feat_names(s)) return -1;

    size_t na = (size_t)in->T * in->D, nv = (size_t)in->Tv * in->Dv;
    size_t nf = (size_t)in->Tv * in->frame_h * in->frame_w * 3;
    s->half = malloc(na * sizeof *s->half);
    s->audio = malloc(na * sizeof *s->audio);
    s->video = malloc(nv * sizeof *s->video);
    s->frames = nf ? malloc(nf) : NULL;
    if (!s->half || !s->audio || !s->video || (nf && !s->frames)) return vr_fail("out of memory");
    return 0;
}

vr_shard *vr_shard_open(const char *path) {
    vr_shard *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return vr_fail_null("out of memory");
    }
    s->file = s->t_half = s->t_str = s->d_audio = s->d_video = s->d_frames = -1;
    s->d_text = s->d_id = s->d_labels = s->d_crc = s->d_fcrc = -1;
    h5_enter();
    int rc = shard_open_h5(s);
    if (rc != 0) shard_close_handles(s);
    h5_leave();
    if (rc != 0) {
        shard_free(s);
        return NULL;
    }
    return s;
}

void vr_shard_close(vr_shard *s) {
    if (!s) return;
    h5_enter();
    shard_close_handles(s);
    h5_leave();
    shard_free(s);
}

const vr_shard_info *vr_shard_get_info(const vr_shard *s) { return &s->info; }
const char *vr_shard_path(const vr_shard *s) { return s->path; }
const float *vr_shard_norm_mean(const vr_shard *s) { return s->mean; }
const float *vr_shard_norm_std(const vr_shard *s) { return s->std; }
const char *vr_shard_builder_config(const vr_shard *s) { return s->builder_config; }
const char *vr_shard_video_feat_name(const vr_shard *s, int dim) {
    return dim >= 0 && dim < s->info.Dv ? s->feat_names[dim] : NULL;
}

/* One variable-length string element into a malloc'd copy (*dst replaced). */
static int read_vstr(vr_shard *s, hid_t d, int64_t i, char **dst) {
    char *v = NULL;
    if (read_row(d, s->t_str, i, &v) != 0) return -1;
    char *copy = strdup(v ? v : "");
    H5free_memory(v);
    if (!copy) return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

static int read_clip(vr_shard *s, int64_t i, int want_frames, vr_shard_clip *out) {
    const vr_shard_info *in = &s->info;
    if (i < 0 || i >= in->n_clips)
        return vr_fail("%s: clip %lld out of range (%lld clips)", s->path, (long long)i, (long long)in->n_clips);
    int frames = want_frames && s->d_frames >= 0;
    uint32_t crc = 0, fcrc = 0;
    h5_enter();
    int rc = 0;
    if (read_vstr(s, s->d_id, i, &s->id) || read_vstr(s, s->d_text, i, &s->text) ||
        read_vstr(s, s->d_labels, i, &s->labels) || read_row(s->d_audio, s->t_half, i, s->half) ||
        read_row(s->d_video, H5T_NATIVE_FLOAT, i, s->video) || read_row(s->d_crc, H5T_NATIVE_UINT32, i, &crc) ||
        (frames && (read_row(s->d_frames, H5T_NATIVE_UINT8, i, s->frames) ||
                    read_row(s->d_fcrc, H5T_NATIVE_UINT32, i, &fcrc))))
        rc = h5_fail("%s: reading clip %lld", s->path, (long long)i);
    h5_leave();
    if (rc != 0) return rc;
    size_t na = (size_t)in->T * in->D, nv = (size_t)in->Tv * in->Dv;
    uint32_t got = clip_crc(s->half, na, s->video, nv, s->text, s->id, s->labels);
    if (got != crc)
        return vr_fail("%s: clip %lld ('%s'): checksum mismatch (stored 0x%08x, computed 0x%08x)", s->path,
                       (long long)i, s->id, crc, got);
    if (frames) {
        got = vr_crc32(0, s->frames, (size_t)in->Tv * in->frame_h * in->frame_w * 3);
        if (got != fcrc)
            return vr_fail("%s: clip %lld ('%s'): frames checksum mismatch (stored 0x%08x, computed 0x%08x)", s->path,
                           (long long)i, s->id, fcrc, got);
    }
    for (size_t k = 0; k < na; k++) s->audio[k] = vr_f16_to_f32(s->half[k]);
    out->id = s->id;
    out->text = s->text;
    out->labels_json = s->labels;
    out->audio = s->audio;
    out->video = s->video;
    out->frames = frames ? s->frames : NULL;
    return 0;
}

int vr_shard_read(vr_shard *s, int64_t i, vr_shard_clip *out) { return read_clip(s, i, 1, out); }
int vr_shard_read_no_frames(vr_shard *s, int64_t i, vr_shard_clip *out) { return read_clip(s, i, 0, out); }

/* ---------------------------------------------------------------- verify */

typedef struct id_ref {
    const char *id;
    int64_t clip;
} id_ref;

static int cmp_id_ref(const void *a, const void *b) {
    const id_ref *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->clip > y->clip) - (x->clip < y->clip);
}

static void report_stderr(const char *msg, void *ctx) {
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

/* Problems of a clip that read correctly (checksums match): content the writer would refuse. */
static const char *clip_content_problem(const vr_shard *s, const vr_shard_clip *c) {
    const vr_shard_info *in = &s->info;
    if (!c->id[0]) return "empty id";
    if (!vr_utf8_valid(c->id, strlen(c->id))) return "id is not valid UTF-8";
    if (!vr_utf8_valid(c->text, strlen(c->text))) return "text is not valid UTF-8";
    if (!vr_utf8_valid(c->labels_json, strlen(c->labels_json)) || !check_json_object(c->labels_json))
        return "labels_json is not a JSON object";
    if (first_nonfinite(c->audio, (int64_t)in->T * in->D) >= 0) return "audio_latent has NaN or inf";
    if (first_nonfinite(c->video, (int64_t)in->Tv * in->Dv) >= 0) return "video_feat has NaN or inf";
    return NULL;
}

/* Check every clip of an open shard; returns the number of bad clips. */
static int verify_clips(vr_shard *s, void (*report)(const char *msg, void *ctx), void *ctx) {
    int64_t n = s->info.n_clips;
    id_ref *ids = calloc((size_t)n + 1, sizeof *ids);
    char *bad = calloc((size_t)n + 1, 1);
    if (!ids || !bad) {
        free(ids);
        free(bad);
        return vr_fail("out of memory");
    }
    char msg[2048];
    int64_t n_ids = 0;
    for (int64_t i = 0; i < n; i++) {
        vr_shard_clip c;
        if (vr_shard_read(s, i, &c) != 0) {
            report(vr_error(), ctx);
            bad[i] = 1;
            continue;
        }
        const char *problem = clip_content_problem(s, &c);
        if (problem) {
            snprintf(msg, sizeof msg, "%s: clip %lld ('%s'): %s", s->path, (long long)i, c.id, problem);
            report(msg, ctx);
            bad[i] = 1;
        }
        if (!(ids[n_ids].id = strdup(c.id))) continue;
        ids[n_ids++].clip = i;
    }
    qsort(ids, (size_t)n_ids, sizeof *ids, cmp_id_ref);
    for (int64_t k = 1; k < n_ids; k++) {
        int64_t first = k - 1;
        while (k < n_ids && !strcmp(ids[k].id, ids[first].id)) {
            snprintf(msg, sizeof msg, "%s: clip %lld: duplicate id '%s' (first at clip %lld)", s->path,
                     (long long)ids[k].clip, ids[k].id, (long long)ids[first].clip);
            report(msg, ctx);
            bad[ids[k].clip] = 1;
            k++;
        }
    }
    int n_bad = 0;
    for (int64_t i = 0; i < n; i++) n_bad += bad[i];
    for (int64_t k = 0; k < n_ids; k++) free((char *)ids[k].id);
    free(ids);
    free(bad);
    return n_bad;
}

int vr_shard_verify(const char *path, void (*report)(const char *msg, void *ctx), void *ctx) {
    vr_shard *s = vr_shard_open(path);
    if (!s) return -1;
    int n_bad = verify_clips(s, report ? report : report_stderr, ctx);
    vr_shard_close(s);
    return n_bad;
}

/* ---------------------------------------------------------------- summary */

typedef struct stat_acc {
    double min, max, sum, sum2;
    int64_t n;
} stat_acc;

static void stat_add(stat_acc *a, double x) {
    if (a->n == 0 || x < a->min) a->min = x;
    if (a->n == 0 || x > a->max) a->max = x;
    a->sum += x;
    a->sum2 += x * x;
    a->n++;
}

static void stat_print(FILE *out, const char *label, const stat_acc *a) {
    if (!a->n) return;
    double mean = a->sum / (double)a->n, var = a->sum2 / (double)a->n - mean * mean;
    fprintf(out, "    %-24s min %10.4g  max %10.4g  mean %10.4g  std %10.4g\n", label, a->min, a->max, mean,
            sqrt(var > 0 ? var : 0));
}

static void print_dataset_line(FILE *out, vr_shard *s, hid_t d, const char *name, const char *dtype) {
    hsize_t dims[8];
    char shape[128];
    h5_enter();
    hid_t sp = H5Dget_space(d);
    int rank = sp < 0 ? 0 : H5Sget_simple_extent_dims(sp, dims, NULL);
    hsize_t bytes = H5Dget_storage_size(d);
    h5_close(&sp);
    h5_leave();
    fmt_dims(shape, sizeof shape, dims, rank > 0 ? rank : 0);
    double per = s->info.n_clips ? (double)bytes / (double)s->info.n_clips : 0;
    fprintf(out, "  %-16s %-8s %-22s %10.3f MB  (%.1f KB/clip)\n", name, dtype, shape, (double)bytes / 1e6,
            per / 1e3);
}

typedef struct key_count {
    char *key, *example;
    int count;
} key_count;

static void count_label_keys(const char *labels, key_count **keys, int *n_keys) {
    cJSON *j = cJSON_Parse(labels), *it;
    cJSON_ArrayForEach(it, j) {
        int k = 0;
        while (k < *n_keys && strcmp((*keys)[k].key, it->string)) k++;
        if (k == *n_keys) {
            key_count *grown = realloc(*keys, (size_t)(*n_keys + 1) * sizeof **keys);
            if (!grown) break;
            *keys = grown;
            char *ex = cJSON_PrintUnformatted(it);
            grown[k].key = strdup(it->string);
            grown[k].example = ex;
            grown[k].count = 0;
            (*n_keys)++;
        }
        (*keys)[k].count++;
    }
    cJSON_Delete(j);
}

int vr_shard_print_summary(const char *path, FILE *out) {
    vr_shard *s = vr_shard_open(path);
    if (!s) return -1;
    const vr_shard_info *in = &s->info;
    fprintf(out, "%s: vrobin shard, format_version %d, %lld clips\n", path, in->format_version, (long long)in->n_clips);
    fprintf(out, "  created %s by vrobin %s\n", in->created_utc, in->vrobin_version);
    fprintf(out, "  manifest_sha256 %s\n", in->manifest_sha256[0] ? in->manifest_sha256 : "(none)");
    fprintf(out, "  latent_kind %s, normalised %d, audio_rate %g frames/s (%g s per clip), sample_rate %d\n",
            in->latent_kind, in->normalised, in->audio_rate, in->T / in->audio_rate, in->sample_rate);
    fprintf(out, "  video_fps %g, frames %s\n", in->video_fps, in->frame_h ? "stored" : "not stored");
    fprintf(out, "  builder_config %s\n", s->builder_config);
    fprintf(out, "datasets:\n");
    print_dataset_line(out, s, s->d_audio, "audio_latent", "float16");
    print_dataset_line(out, s, s->d_video, "video_feat", "float32");
    if (s->d_frames >= 0) print_dataset_line(out, s, s->d_frames, "frames", "uint8");
    print_dataset_line(out, s, s->d_text, "text", "str");
    print_dataset_line(out, s, s->d_id, "id", "str");
    print_dataset_line(out, s, s->d_labels, "labels_json", "str");
    print_dataset_line(out, s, s->d_crc, "checksum", "uint32");
    if (s->d_fcrc >= 0) print_dataset_line(out, s, s->d_fcrc, "frames_checksum", "uint32");

    /* value ranges over up to 16 clips spread over the shard */
    int64_t n = in->n_clips, n_sample = n < 16 ? n : 16;
    stat_acc audio = {0}, frames = {0}, text_len = {0}, *video = calloc((size_t)in->Dv, sizeof *video);
    key_count *keys = NULL;
    int n_keys = 0, rc = 0;
    char examples[3][96] = {{0}};
    if (!video) rc = vr_fail("out of memory");
    for (int64_t k = 0; k < n_sample && rc == 0; k++) {
        int64_t i = n_sample > 1 ? k * (n - 1) / (n_sample - 1) : 0;
        vr_shard_clip c;
        if (vr_shard_read(s, i, &c) != 0) {
            rc = -1;
            break;
        }
        for (int64_t j = 0; j < (int64_t)in->T * in->D; j++) stat_add(&audio, c.audio[j]);
        for (int64_t j = 0; j < (int64_t)in->Tv * in->Dv; j++) stat_add(&video[j % in->Dv], c.video[j]);
        for (int64_t j = 0; c.frames && j < (int64_t)in->Tv * in->frame_h * in->frame_w * 3; j++)
            stat_add(&frames, c.frames[j]);
        stat_add(&text_len, (double)strlen(c.text));
        if (k < 3) snprintf(examples[k], sizeof examples[k], "%s: \"%s\"", c.id, c.text);
        count_label_keys(c.labels_json, &keys, &n_keys);
    }
    if (rc == 0 && n_sample > 0) {
        fprintf(out, "values over %lld sampled clips:\n", (long long)n_sample);
        stat_print(out, "audio_latent", &audio);
        for (int d = 0; d < in->Dv; d++) stat_print(out, s->feat_names[d], &video[d]);
        stat_print(out, "frames", &frames);
        stat_print(out, "text length (bytes)", &text_len);
        for (int k = 0; k < 3 && examples[k][0]; k++) fprintf(out, "    text %s\n", examples[k]);
        fprintf(out, "label keys:%s\n", n_keys ? "" : " (none)");
        for (int k = 0; k < n_keys; k++)
            fprintf(out, "    %-20s in %d of %lld sampled clips, e.g. %s\n", keys[k].key, keys[k].count,
                    (long long)n_sample, keys[k].example ? keys[k].example : "");
    }
    for (int k = 0; k < n_keys; k++) {
        free(keys[k].key);
        free(keys[k].example);
    }
    free(keys);
    free(video);
    vr_shard_close(s);
    return rc;
}

/* ---------------------------------------------------------------- `vrobin data verify` */

int vr_cmd_data_verify(int argc, char **argv) {
    if (argc < 2 || vr_wants_help(argc, argv)) {
        fprintf(argc < 2 ? stderr : stdout,
                "usage: vrobin data verify SHARD.h5 [SHARD.h5 ...]\n\n"
                "Check vrobin shards: the schema (data/SCHEMA.md), every clip's CRC-32 checksums, UTF-8\n"
                "strings, labels JSON, finite values and unique ids. Prints one line per problem and a\n"
                "verdict per file; exits 1 if any shard is bad.\n");
        return argc < 2 ? 2 : 0;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        vr_shard *s = vr_shard_open(argv[i]);
        int n_bad = s ? verify_clips(s, report_stderr, NULL) : -1;
        if (n_bad < 0) {
            fprintf(stderr, "vrobin data verify: %s\n", vr_error());
            rc = 1;
        } else if (n_bad) {
            printf("%s: BAD, %d of %lld clips\n", argv[i], n_bad, (long long)s->info.n_clips);
            rc = 1;
        } else printf("%s: ok, %lld clips\n", argv[i], (long long)s->info.n_clips);
        vr_shard_close(s);
    }
    return rc;
}
