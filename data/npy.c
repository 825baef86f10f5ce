/* npy.c — see npy.h. Format: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for
 * v2/v3), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }. */
#include "data/npy.h"

#include <ctype.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/fsutil.h"

/* Finds "'key':" in the header dict and returns a pointer just past the colon, or NULL. */
static const char *dict_value(const char *hdr, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

int vr_npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols) {
    *data = NULL;
    char *buf = NULL;
    size_t n = 0;
    if (vr_read_file(path, &buf, &n)) return -1;
    int rc = -1;
    char *hdr = NULL;
    if (n < 10 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        vr_fail("%s: not a .npy file (bad magic)", path);
        goto done;
    }
    unsigned major = (unsigned char)buf[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (unsigned char)buf[8] | ((size_t)(unsigned char)buf[9] << 8);
        off = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) {
            vr_fail("%s: truncated .npy header", path);
            goto done;
        }
        hlen = (unsigned char)buf[8] | ((size_t)(unsigned char)buf[9] << 8) |
               ((size_t)(unsigned char)buf[10] << 16) | ((size_t)(unsigned char)buf[11] << 24);
        off = 12;
    } else {
        vr_fail("%s: unsupported .npy version %u", path, major);
        goto done;
    }
    if (hlen > n - off || hlen > 1 << 20) {
        vr_fail("%s: .npy header length %zu exceeds the file", path, hlen);
        goto done;
    }
    hdr = strndup(buf + off, hlen);
    const char *descr = dict_value(hdr, "descr"), *order = dict_value(hdr, "fortran_order"),
               *shape = dict_value(hdr, "shape");
    if (!hdr || !descr || !order || !shape) {
        vr_fail("%s: .npy header lacks descr/fortran_order/shape", path);
        goto done;
    }
    int f64;
    if (!strncmp(descr, "'<f4'", 5)) f64 = 0;
    else if (!strncmp(descr, "'<f8'", 5)) f64 = 1;
    else {
        vr_fail("%s: dtype %.8s is not supported (expected little-endian float32 '<f4' or float64 '<f8')", path, descr);
        goto done;
    }
    if (strncmp(order, "False", 5) != 0) {
        vr_fail("%s: Fortran-order arrays are not supported (save with np.ascontiguousarray)", path);
        goto done;
    }
    if (*shape != '(') {
        vr_fail("%s: malformed shape in .npy header", path);
        goto done;
    }
    int64_t dims[2] = {1, 1};
    int nd = 0;
    const char *p = shape + 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p) || nd >= 2) {
            vr_fail("%s: expected a 1-D or 2-D array, shape is %.40s", path, shape);
            goto done;
        }
        char *end;
        long long v = strtoll(p, &end, 10);
        if (v < 0 || v > (1LL << 40)) {
            vr_fail("%s: absurd dimension %lld", path, v);
            goto done;
        }
        dims[nd++] = v;
        p = end;
    }
    if (nd == 0) {
        vr_fail("%s: scalar arrays are not supported", path);
        goto done;
    }
    int64_t count = dims[0] * dims[1];
    size_t esize = f64 ? 8 : 4, payload = off + hlen;
    if ((size_t)count > (n - payload) / esize) {
        vr_fail("%s: truncated: %lld values declared, %zu bytes of data", path, (long long)count, n - payload);
        goto done;
    }
    float *out = malloc(sizeof(float) * (size_t)(count ? count : 1));
    if (!out) {
        vr_fail("%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (f64) {
            double d;
            memcpy(&d, buf + payload + 8 * i, 8);
            out[i] = (float)d;
        } else {
            memcpy(&out[i], buf + payload + 4 * i, 4);
        }
    }
    *data = out;
    *rows = dims[0];
    *cols = nd == 2 ? dims[1] : 1;
    rc = 0;
done:
    free(hdr);
    free(buf);
    return rc;
}

/* Name of the single dataset at the root, for files that don't call it "features". */
static herr_t only_dataset(hid_t g, const char *name, const H5L_info_t *info, void *out) {
    (void)info;
    H5O_info_t oi;
    if (H5Oget_info_by_name(g, name, &oi, H5P_DEFAULT) >= 0 && oi.type == H5O_TYPE_DATASET) {
        char **found = out;
        if (*found) {
            free(*found);
            *found = strdup("");  /* more than one: ambiguous */
            return 1;
        }
        *found = strdup(name);
    }
    return 0;
}

static int h5_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols) {
    /* HDF5 prints its own error stacks unless told not to; we report our own message */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return vr_fail("%s: not an HDF5 file (or unreadable)", path);
    int rc = -1;
    char *name = NULL;
    hid_t d = -1, sp = -1;
    if (H5Lexists(f, "features", H5P_DEFAULT) > 0) {
        name = strdup("features");
    } else {
        H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, only_dataset, &name);
        if (!name || !name[0]) {
            vr_fail("%s: no dataset named 'features' (and not exactly one dataset to use instead)", path);
            goto done;
        }
    }
    d = H5Dopen2(f, name, H5P_DEFAULT);
    sp = d >= 0 ? H5Dget_space(d) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t dims[2] = {1, 1};
    if (nd < 1 || nd > 2 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0) {
        vr_fail("%s: dataset '%s' must be 1-D or 2-D", path, name);
        goto done;
    }
    if (dims[0] * dims[1] > ((hsize_t)1 << 32)) {
        vr_fail("%s: dataset '%s' is too large", path, name);
        goto done;
    }
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = H5Tget_class(t);
    H5Tclose(t);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        vr_fail("%s: dataset '%s' is not numeric", path, name);
        goto done;
    }
    size_t n = (size_t)(dims[0] * dims[1]);
    float *out = malloc(sizeof(float) * (n ? n : 1));
    if (!out) {
        vr_fail("%s: out of memory", path);
        goto done;
    }
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        free(out);
        vr_fail("%s: reading dataset '%s' failed", path, name);
        goto done;
    }
    *data = out;
    *rows = (int64_t)dims[0];
    *cols = nd == 2 ? (int64_t)dims[1] : 1;
    rc = 0;
done:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    H5Fclose(f);
    free(name);
    return rc;
}

int vr_external_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols) {
    *data = NULL;
    size_t n = strlen(path);
    if (n > 4 && !strcasecmp(path + n - 4, ".npy")) return vr_npy_read_f32(path, data, rows, cols);
    if ((n > 3 && !strcasecmp(path + n - 3, ".h5")) || (n > 5 && !strcasecmp(path + n - 5, ".hdf5")))
        return h5_read_f32(path, data, rows, cols);
    return vr_fail("%s: external arrays must be .npy or .h5/.hdf5", path);
}
