/* fsutil.h — files that are either complete or absent.
 *
 * Every writer in vrobin (shards, checkpoints, exports, tables) writes to "<path>.tmp.<pid>",
 * fsyncs, renames over <path>, and fsyncs the directory, so a crash at any moment leaves
 * either the old file or the new one, never a torn one.
 */
#ifndef VR_FSUTIL_H
#define VR_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vr_atomic_file {
    FILE *fp;           /* write through this */
    char *final_path;
    char *tmp_path;
} vr_atomic_file;

/* Open a temp file beside `path`. Returns 0, or -1 with vr_error(). */
int vr_atomic_open(vr_atomic_file *f, const char *path);
/* Flush, fsync, rename into place, fsync the directory. On failure the temp file is removed. */
int vr_atomic_commit(vr_atomic_file *f);
/* Give up: close and delete the temp file (safe to call after a failed commit or twice). */
void vr_atomic_abort(vr_atomic_file *f);

/* Whole-file helpers. vr_write_file_atomic writes `n` bytes atomically. */
int vr_write_file_atomic(const char *path, const void *data, size_t n);
/* Read a whole file into a malloc'd buffer (NUL-terminated for convenience). */
int vr_read_file(const char *path, char **data, size_t *n);

/* mkdir -p. Returns 0 or -1 with vr_error(). */
int vr_mkdirs(const char *path);
int vr_file_exists(const char *path);

#ifdef __cplusplus
}
#endif
#endif
