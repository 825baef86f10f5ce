/* tensor_io.c — see tensor_io.h. */
#include "core/tensor_io.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int tio_dtype_to_st(tt_dtype dt, st_dtype *out) {
    switch (dt) {
        case TT_F32: *out = ST_F32; return 0;
        case TT_F64: *out = ST_F64; return 0;
        case TT_F16: *out = ST_F16; return 0;
        case TT_BF16: *out = ST_BF16; return 0;
        case TT_I64: *out = ST_I64; return 0;
        case TT_I32: *out = ST_I32; return 0;
        case TT_I16: *out = ST_I16; return 0;
        case TT_I8: *out = ST_I8; return 0;
        case TT_U8: *out = ST_U8; return 0;
        case TT_BOOL: *out = ST_BOOL; return 0;
        default: return vr_fail("dtype %s has no safetensors equivalent", tt_dtype_name(dt));
    }
}

int tio_dtype_from_st(st_dtype dt, tt_dtype *out) {
    switch (dt) {
        case ST_F32: *out = TT_F32; return 0;
        case ST_F64: *out = TT_F64; return 0;
        case ST_F16: *out = TT_F16; return 0;
        case ST_BF16: *out = TT_BF16; return 0;
        case ST_I64: *out = TT_I64; return 0;
        case ST_I32: *out = TT_I32; return 0;
        case ST_I16: *out = TT_I16; return 0;
        case ST_I8: *out = TT_I8; return 0;
        case ST_U8: *out = TT_U8; return 0;
        case ST_BOOL: *out = TT_BOOL; return 0;
        default: return vr_fail("safetensors dtype %s is not supported by vrobin", st_dtype_name(dt));
    }
}

int tio_save_params(const tt_params *p, const char *path, int n_meta, const char *const *keys,
                    const char *const *values) {
    int n = tt_params_count(p), rc = -1;
    void **bufs = calloc((size_t)n + 1, sizeof *bufs);
    st_writer *w = st_writer_new();
    if (!bufs || !w) {
        vr_fail("out of memory");
        goto done;
    }
    for (int i = 0; i < n_meta; i++)
        if (st_writer_meta(w, keys[i], values[i])) goto done;
    for (int i = 0; i < n; i++) {
        tt_tensor *t = tt_params_at(p, i);
        st_dtype sd;
        if (tio_dtype_to_st(tt_dtype_of(t), &sd)) goto done;
        int64_t shape[ST_MAX_DIMS];
        int nd = tt_shape(t, shape, ST_MAX_DIMS);
        if (nd > ST_MAX_DIMS) {
            vr_fail("tensor '%s' has %d dims (at most %d)", tt_params_name(p, i), nd, ST_MAX_DIMS);
            goto done;
        }
        size_t nbytes = (size_t)tt_numel(t) * tt_dtype_size(tt_dtype_of(t));
        bufs[i] = malloc(nbytes ? nbytes : 1);
        if (!bufs[i]) {
            vr_fail("out of memory for tensor '%s' (%zu bytes)", tt_params_name(p, i), nbytes);
            goto done;
        }
        if (tt_to_data(t, bufs[i], nbytes)) {
            vr_fail("reading tensor '%s': %s", tt_params_name(p, i), tt_last_error());
            goto done;
        }
        if (st_writer_add(w, tt_params_name(p, i), sd, nd, shape, bufs[i], nbytes)) goto done;
    }
    rc = st_writer_write(w, path);
done:
    if (rc) vr_context("saving %s", path);
    st_writer_free(w);
    for (int i = 0; bufs && i < n; i++) free(bufs[i]);
    free(bufs);
    return rc;
}

tt_tensor *tio_tensor_from_st(const st_file *f, const st_tensor *t) {
    tt_dtype dt = TT_F32;
    if (tio_dtype_from_st(t->dtype, &dt)) {
        vr_context("tensor '%s'", t->name);
        return NULL;
    }
    tt_tensor *x = tt_from_data(st_tensor_data(f, t), dt, t->shape, t->ndim);
    if (!x) vr_fail("tensor '%s': %s", t->name, tt_last_error());
    return x;
}

int tio_load_params(tt_params *p, const char *path, int strict) {
    st_file *f = st_open(path);
    if (!f) return -1;
    int rc = -1;
    tt_scope_begin();
    for (int i = 0; i < tt_params_count(p); i++) {
        const char *name = tt_params_name(p, i);
        tt_tensor *dst = tt_params_at(p, i);
        const st_tensor *st = st_find(f, name);
        if (!st) {
            if (!strict) continue;
            vr_fail("%s: parameter '%s' is missing", path, name);
            goto done;
        }
        int64_t shape[16];
        int nd = tt_shape(dst, shape, 16);
        int same = nd == st->ndim;
        for (int d = 0; same && d < nd; d++) same = shape[d] == st->shape[d];
        if (!same) {
            char *want = tt_describe(dst);
            vr_fail("%s: tensor '%s' has a different shape than the model's %s", path, name, want);
            free(want);
            goto done;
        }
        tt_tensor *src = tio_tensor_from_st(f, st);
        if (!src || tt_copy_(dst, src)) {
            if (src) vr_fail("%s: copying '%s': %s", path, name, tt_last_error());
            goto done;
        }
    }
    if (strict)
        for (int i = 0; i < f->n_tensors; i++)
            if (!tt_params_get(p, f->tensors[i].name)) {
                vr_fail("%s: tensor '%s' is not a parameter of this model", path, f->tensors[i].name);
                goto done;
            }
    rc = 0;
done:
    tt_scope_end();
    st_close(f);
    return rc;
}

tt_params *tio_params_from_file(const char *path) {
    st_file *f = st_open(path);
    if (!f) return NULL;
    tt_params *p = tt_params_new();
    for (int i = 0; p && i < f->n_tensors; i++) {
        tt_tensor *t = tio_tensor_from_st(f, &f->tensors[i]);
        if (!t || !tt_params_add(p, f->tensors[i].name, t)) {
            if (t) vr_fail("%s", tt_last_error());
            vr_context("loading %s", path);
            tt_params_free(p);
            p = NULL;
        }
    }
    st_close(f);
    return p;
}
