/* error.c — see error.h. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define VR_ERROR_CAP 4096

static _Thread_local char g_msg[VR_ERROR_CAP];

/* Through a local buffer: callers often pass vr_error() itself as an argument, to add context. */
static void set_msg_v(const char *fmt, va_list ap) {
    char msg[VR_ERROR_CAP];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(g_msg, msg, sizeof g_msg);
}

int vr_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_msg_v(fmt, ap);
    va_end(ap);
    return -1;
}

void *vr_fail_null(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_msg_v(fmt, ap);
    va_end(ap);
    return NULL;
}

int vr_context(const char *fmt, ...) {
    char prefix[VR_ERROR_CAP], old[VR_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    if (old[0])
        snprintf(g_msg, sizeof g_msg, "%s: %s", prefix, old);
    else
        snprintf(g_msg, sizeof g_msg, "%s", prefix);
    return -1;
}

const char *vr_error(void) { return g_msg; }

void vr_clear_error(void) { g_msg[0] = '\0'; }
