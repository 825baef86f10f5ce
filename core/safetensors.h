/* safetensors.h — read and write the safetensors format, hardened against hostile files.
 *
 * Layout (https://github.com/huggingface/safetensors):
 *   u64 little-endian N | N bytes of UTF-8 JSON header | byte buffer
 * The header maps tensor name -> {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
 * to the buffer) plus an optional "__metadata__": {string: string}. It may be padded with trailing
 * spaces; our writer pads it so the buffer starts 8-byte aligned, like the official writer.
 *
 * The reader validates everything before handing out a pointer: sizes, offsets, dtypes, shapes,
 * overflow, overlap, full coverage of the buffer, duplicate names. Any violation is an error that
 * names the file, the problem and the tensor, never a crash or an out-of-bounds read.
 * Tensor data is not necessarily aligned for its dtype: copy it (memcpy) rather than casting.
 */
#ifndef VR_SAFETENSORS_H
#define VR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ST_F64, ST_F32, ST_F16, ST_BF16, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL,
    /* known and typed, but vrobin's models do not compute in them */
    ST_U16, ST_U32, ST_U64, ST_F8_E4M3, ST_F8_E5M2
} st_dtype;
#define ST_N_DTYPES 15

#define ST_MAX_DIMS 8
/* The official reader's limit on the header length. */
#define ST_MAX_HEADER_LEN 100000000ull

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    int ndim;                     /* 0 for a scalar (numel 1) */
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;          /* byte range within the buffer */
} st_tensor;

typedef struct st_file {
    char *path;
    int n_tensors;
    st_tensor *tensors;           /* sorted by data offset */
    int n_meta;
    char **meta_keys;
    char **meta_values;
    const uint8_t *data;          /* the byte buffer (after the header) */
    uint64_t data_len;
    /* private */
    int *name_order_;             /* tensor indices sorted by name, for st_find's binary search */
    void *map_;                   /* the mapping (st_open); NULL for st_open_memory / st_parse_header */
    size_t map_len_;
} st_file;

size_t st_dtype_size(st_dtype d);              /* 0 for an invalid value */
const char *st_dtype_name(st_dtype d);         /* "F32", ... ; "?" for an invalid value */
int st_dtype_from_name(const char *s, st_dtype *out);  /* 0, or -1 + vr_error() */

/* Parse and validate a header (json, json_len bytes, not NUL-terminated; trailing spaces allowed)
 * against a buffer of data_len bytes. Fills *out (data stays NULL); free with st_header_free.
 * 0, or -1 + vr_error() (without the file name; callers add it). The fuzz target. */
int st_parse_header(const char *json, size_t json_len, uint64_t data_len, st_file *out);
/* Free what st_parse_header allocated (not path or mapping) and zero those fields. */
void st_header_free(st_file *f);

/* mmap read-only and validate. NULL + vr_error() ("path: problem"). */
st_file *st_open(const char *path);
/* Validate a whole file held in memory; no copy, so buf must outlive the st_file.
 * name (may be NULL) is used in error messages and as f->path. */
st_file *st_open_memory(const void *buf, size_t len, const char *name);
void st_close(st_file *f);

const st_tensor *st_find(const st_file *f, const char *name);  /* NULL if absent (no error) */
const void *st_tensor_data(const st_file *f, const st_tensor *t);
const char *st_meta(const st_file *f, const char *key);        /* NULL if absent */
int64_t st_numel(const st_tensor *t);          /* 1 for a scalar; -1 on overflow */

/* Writer: tensors are referenced, not copied — keep their buffers alive until st_writer_write
 * returns. Names must be non-empty UTF-8 and unique; metadata keys unique. */
typedef struct st_writer st_writer;
st_writer *st_writer_new(void);                /* NULL + vr_error() when out of memory */
/* Checks the dtype, ndim <= ST_MAX_DIMS, shape, nbytes == numel * dtype size, duplicate names. */
int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, size_t nbytes);
int st_writer_meta(st_writer *w, const char *key, const char *value);
/* Atomically (temp file + fsync + rename) write the file: tensors in insertion order, header
 * padded with spaces so the buffer starts 8-byte aligned. The writer can be written again. */
int st_writer_write(st_writer *w, const char *path);
void st_writer_free(st_writer *w);

/* Human summary for `vrobin inspect`: path, size, metadata, one line per tensor (name, dtype,
 * shape, bytes) and, for F32/F64/F16/BF16, min/max/mean of the finite values and the count of
 * non-finite ones. 0, or -1 + vr_error(). */
int st_print_summary(const char *path, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
