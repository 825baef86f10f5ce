/* fsutil.c — see fsutil.h. */
#define _GNU_SOURCE
#include "fsutil.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int vr_atomic_open(vr_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->final_path = strdup(path);
    if (asprintf(&f->tmp_path, "%s.tmp.%ld", path, (long)getpid()) < 0 || !f->final_path) {
        free(f->final_path);
        f->final_path = NULL;
        return vr_fail("out of memory");
    }
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int e = errno;
        vr_fail("cannot create %s: %s", f->tmp_path, strerror(e));
        free(f->tmp_path);
        free(f->final_path);
        f->tmp_path = f->final_path = NULL;
        return -1;
    }
    return 0;
}

static int fsync_dir_of(const char *path) {
    char *copy = strdup(path);
    if (!copy) return vr_fail("out of memory");
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return 0; /* best effort: some filesystems refuse directory fds */
    fsync(fd);
    close(fd);
    return 0;
}

int vr_atomic_commit(vr_atomic_file *f) {
    if (!f->fp) return vr_fail("atomic commit of a file that is not open");
    int rc = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        rc = vr_fail("writing %s: %s", f->tmp_path, strerror(errno));
    else if (fsync(fileno(f->fp)) != 0)
        rc = vr_fail("fsync %s: %s", f->tmp_path, strerror(errno));
    if (fclose(f->fp) != 0 && rc == 0) rc = vr_fail("closing %s: %s", f->tmp_path, strerror(errno));
    f->fp = NULL;
    if (rc == 0 && rename(f->tmp_path, f->final_path) != 0)
        rc = vr_fail("renaming %s to %s: %s", f->tmp_path, f->final_path, strerror(errno));
    if (rc == 0) fsync_dir_of(f->final_path);
    if (rc != 0) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
    return rc;
}

void vr_atomic_abort(vr_atomic_file *f) {
    if (f->fp) fclose(f->fp);
    f->fp = NULL;
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->tmp_path);
    free(f->final_path);
    f->tmp_path = f->final_path = NULL;
}

int vr_write_file_atomic(const char *path, const void *data, size_t n) {
    vr_atomic_file f;
    if (vr_atomic_open(&f, path) != 0) return -1;
    if (n && fwrite(data, 1, n, f.fp) != n) {
        vr_fail("writing %s: %s", path, strerror(errno));
        vr_atomic_abort(&f);
        return -1;
    }
    return vr_atomic_commit(&f);
}

int vr_read_file(const char *path, char **data, size_t *n) {
    *data = NULL;
    if (n) *n = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) return vr_fail("cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { fclose(fp); return vr_fail("out of memory reading %s", path); }
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap) break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (!bigger) { free(buf); fclose(fp); return vr_fail("out of memory reading %s", path); }
        buf = bigger;
        cap *= 2;
    }
    if (ferror(fp)) { free(buf); fclose(fp); return vr_fail("reading %s: %s", path, strerror(errno)); }
    fclose(fp);
    buf[len] = '\0';
    *data = buf;
    if (n) *n = len;
    return 0;
}

int vr_mkdirs(const char *path) {
    char *p = strdup(path);
    if (!p) return vr_fail("out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                vr_fail("cannot create directory %s: %s", p, strerror(e));
                free(p);
                return -1;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return 0;
}

int vr_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}
