/* log.h — levelled logging and progress bars.
 *
 * Messages go to stderr as "[vrobin] level: text". The level comes from VROBIN_LOG
 * (debug|info|warn|error, default info) or vr_log_set_level(). Under MPI only rank 0 prints
 * info/debug (vr_log_set_rank), while warnings and errors print from every rank, tagged.
 *
 * Progress: on a TTY a redrawn bar with count, rate and ETA; otherwise (CI, log files) one plain
 * line every `VROBIN_PROGRESS_SECONDS` (default 10) seconds and at the end, so logs stay readable.
 */
#ifndef VR_LOG_H
#define VR_LOG_H

#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { VR_LOG_DEBUG = 0, VR_LOG_INFO = 1, VR_LOG_WARN = 2, VR_LOG_ERROR = 3, VR_LOG_QUIET = 4 } vr_log_level;

void vr_log_set_level(vr_log_level level);
vr_log_level vr_log_get_level(void);
void vr_log_set_rank(int rank, int world);
void vr_log(vr_log_level level, const char *fmt, ...) VR_PRINTF(2, 3);

#define VR_DEBUG(...) vr_log(VR_LOG_DEBUG, __VA_ARGS__)
#define VR_INFO(...) vr_log(VR_LOG_INFO, __VA_ARGS__)
#define VR_WARN(...) vr_log(VR_LOG_WARN, __VA_ARGS__)
#define VR_ERROR(...) vr_log(VR_LOG_ERROR, __VA_ARGS__)

typedef struct vr_progress vr_progress;

/* total <= 0 means unknown (no ETA). `unit` names the items ("clips", "steps"). */
vr_progress *vr_progress_begin(const char *label, int64_t total, const char *unit);
/* Set the number of items done; `extra` (may be NULL) is shown after the bar, e.g. "loss 0.31". */
void vr_progress_update(vr_progress *p, int64_t done, const char *extra);
void vr_progress_end(vr_progress *p);

/* Monotonic seconds, for timing. */
double vr_now(void);

#ifdef __cplusplus
}
#endif
#endif
