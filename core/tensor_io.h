/* tensor_io.h — parameters <-> safetensors files (checkpoints, exports, test fixtures).
 * Tensor names in the file are the registry's names; metadata is string -> string.
 */
#ifndef VR_TENSOR_IO_H
#define VR_TENSOR_IO_H

#include "core/safetensors.h"
#include "core/tt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Save every tensor of the registry (atomically). n_meta pairs of metadata. 0 or -1 + vr_error(). */
int tio_save_params(const tt_params *p, const char *path, int n_meta, const char *const *keys,
                    const char *const *values);
/* Copy tensors from a file into an existing registry (same names and shapes; values converted
 * to each parameter's dtype). strict: a parameter missing from the file, or a tensor in the
 * file that is not a parameter, is an error. 0 or -1 + vr_error(). */
int tio_load_params(tt_params *p, const char *path, int strict);
/* A new registry holding every tensor of the file. NULL + vr_error(). */
tt_params *tio_params_from_file(const char *path);
/* One tensor of an open file as a new (scoped) handle. NULL + vr_error(). */
tt_tensor *tio_tensor_from_st(const st_file *f, const st_tensor *t);

int tio_dtype_to_st(tt_dtype dt, st_dtype *out);
int tio_dtype_from_st(st_dtype dt, tt_dtype *out);

#ifdef __cplusplus
}
#endif
#endif
