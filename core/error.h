/* error.h — one thread-local error message for all C code in vrobin.
 *
 * Convention: a function that fails returns -1 (or NULL) after calling vr_fail(),
 * and each caller that adds meaning wraps it with vr_context("reading %s", path),
 * so the message reaching the user reads outermost-first:
 *   "loading configs/x.yaml: line 12: unknown key 'modle' (did you mean 'model'?)"
 * The libtorch wrapper keeps its own message (tt_last_error()); code that calls the
 * wrapper forwards it with vr_fail("...: %s", tt_last_error()).
 */
#ifndef VR_ERROR_H
#define VR_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VR_PRINTF(a, b)
#endif

/* Set the message (replacing any earlier one). Returns -1 so callers can `return vr_fail(...)`. */
int vr_fail(const char *fmt, ...) VR_PRINTF(1, 2);
/* Same, returning NULL for pointer-returning functions. */
void *vr_fail_null(const char *fmt, ...) VR_PRINTF(1, 2);
/* Prepend "context: " to the current message. Returns -1. */
int vr_context(const char *fmt, ...) VR_PRINTF(1, 2);
/* The current message ("" when none). Valid until the next vr_* call on this thread. */
const char *vr_error(void);
void vr_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
