/* npy.h — read 1-D/2-D float arrays from NumPy .npy (and HDF5) files (external features and latents that
 * users bring: CLIP frame embeddings, a VAE's latents). Only what such files use is accepted:
 * little-endian float32/float64, C order; anything else is a clear error.
 */
#ifndef VR_NPY_H
#define VR_NPY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reads `path` into a malloc'd float32 array [rows][cols] (a 1-D array is 1 column). */
int vr_npy_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols);

/* External per-frame arrays by extension: .npy as above, or .h5/.hdf5 holding a 1-D/2-D numeric
 * dataset named "features" (or, failing that, the file's only dataset), converted to float32. */
int vr_external_read_f32(const char *path, float **data, int64_t *rows, int64_t *cols);

#ifdef __cplusplus
}
#endif
#endif
