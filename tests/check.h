/* check.h — the one assertion macro of vrobin's C tests.
 *
 * CHECK(cond, fmt, ...) counts a pass, or counts a failure and prints the file:line, the message
 * and the library's last error (CHECK_DETAIL(), vr_error() by default; tests of the wrapper use
 * tt_last_error()). A test's main ends with `return check_summary();`, which prints the closing
 * line ctest logs show ("N passed, M failed") and returns the exit code.
 */
#ifndef VR_TESTS_CHECK_H
#define VR_TESTS_CHECK_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

#ifndef CHECK_DETAIL
#define CHECK_DETAIL() vr_error()
#endif

static int g_pass, g_fail;

#define CHECK(cond, ...)                                           \
    do {                                                           \
        if (cond) {                                                \
            g_pass++;                                              \
        } else {                                                   \
            g_fail++;                                              \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
            fprintf(stderr, __VA_ARGS__);                          \
            fprintf(stderr, "  (last error: %s)\n", CHECK_DETAIL()); \
        }                                                          \
    } while (0)

static inline int check_summary(void) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

/* rm -rf for the tests' scratch folders (lstat: never follows a link out of the folder). */
static inline void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

#endif
