/* test_base.c — errors, atomic files, RNG and progress output of the pure-C core. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "tests/check.h"


static int count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static void test_errors(void) {
    vr_clear_error();
    CHECK(vr_fail("bad value %d", 3) == -1 && !strcmp(vr_error(), "bad value 3"), "vr_fail");
    vr_context("reading %s", "x.yaml");
    vr_context("loading config");
    CHECK(!strcmp(vr_error(), "loading config: reading x.yaml: bad value 3"), "context nests outermost-first: %s",
          vr_error());
    CHECK(vr_fail_null("n") == NULL, "vr_fail_null");
}

static void test_files(const char *dir) {
    char path[512], *data = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/sub/dir", dir);
    CHECK(vr_mkdirs(path) == 0 && vr_file_exists(path), "mkdirs");
    snprintf(path, sizeof path, "%s/sub/dir/a.txt", dir);
    CHECK(vr_write_file_atomic(path, "hello", 5) == 0, "atomic write");
    CHECK(vr_read_file(path, &data, &n) == 0 && n == 5 && !strcmp(data, "hello"), "read back");
    free(data);
    /* an aborted write leaves the old file and no temp file */
    vr_atomic_file f;
    CHECK(vr_atomic_open(&f, path) == 0, "open temp");
    fputs("half-written", f.fp);
    vr_atomic_abort(&f);
    CHECK(vr_read_file(path, &data, &n) == 0 && !strcmp(data, "hello"), "abort keeps the old file");
    free(data);
    snprintf(path, sizeof path, "%s/sub/dir", dir);
    CHECK(count_tmp_files(path) == 0, "no temp files left");
    CHECK(vr_read_file("/nonexistent/x", &data, &n) == -1 && strstr(vr_error(), "/nonexistent/x"),
          "missing file names the path: %s", vr_error());
    CHECK(vr_write_file_atomic("/nonexistent/dir/x", "a", 1) == -1 && strstr(vr_error(), "cannot create"),
          "unwritable dir: %s", vr_error());
}

static void test_rng(void) {
    vr_rng a, b;
    vr_rng_seed(&a, 42);
    vr_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= vr_rng_u64(&a) == vr_rng_u64(&b);
    CHECK(same, "same seed, same stream");
    vr_rng_seed_stream(&a, 42, 0);
    vr_rng_seed_stream(&b, 42, 1);
    CHECK(vr_rng_u64(&a) != vr_rng_u64(&b), "streams differ");
    /* state is four words: copying it resumes the stream exactly */
    vr_rng saved = a;
    uint64_t x = vr_rng_u64(&a);
    CHECK(vr_rng_u64(&saved) == x, "state copy resumes");
    double sum = 0, sq = 0;
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        double z = vr_rng_normal(&a);
        sum += z;
        sq += z * z;
        counts[vr_rng_below(&a, 10)]++;
    }
    CHECK(sum / 1e5 < 0.02 && sum / 1e5 > -0.02 && sq / 1e5 > 0.97 && sq / 1e5 < 1.03, "normal moments");
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= counts[i] > 9500 && counts[i] < 10500;
    CHECK(ok, "below() is uniform");
    int64_t perm[100];
    for (int i = 0; i < 100; i++) perm[i] = i;
    vr_rng_shuffle_i64(&a, perm, 100);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[perm[i]]++;
        moved += perm[i] != i;
    }
    ok = 1;
    for (int i = 0; i < 100; i++) ok &= seen[i] == 1;
    CHECK(ok && moved > 80, "shuffle is a permutation");
}

static void test_progress(void) {
    /* non-TTY output: plain lines (stderr is not a TTY under ctest) */
    setenv("VROBIN_PROGRESS_SECONDS", "0.001", 1);
    vr_progress *p = vr_progress_begin("test", 3, "items");
    for (int i = 1; i <= 3; i++) {
        usleep(2000);
        vr_progress_update(p, i, "loss 0.5");
    }
    vr_progress_end(p);
    CHECK(1, "progress ran");
}

int main(void) {
    char dir[] = "/tmp/vrobin_test_base_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_errors();
    test_files(dir);
    test_rng();
    test_progress();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
