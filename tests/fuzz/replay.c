/* replay.c — run LLVMFuzzerTestOneInput over every file in the given files/directories, with the
 * normal compiler (no libFuzzer needed). ctest's fuzz_safetensors_corpus replays the seed corpus
 * and the hostile-file corpus on every run, under the sanitizer build too.
 *
 *   fuzz_safetensors_replay DIR_OR_FILE...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int g_files;

/* Each input gets a buffer of exactly its size, so ASan sees any read past the end. */
static int replay_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        fclose(fp);
        return -1;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    size_t got = buf ? fread(buf, 1, n, fp) : 0;
    fclose(fp);
    if (!buf || got != n) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    g_files++;
    return 0;
}

static int replay(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s does not exist\n", path);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) return replay_file(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(len);
        snprintf(child, len, "%s/%s", path, e->d_name);
        if (replay(child)) rc = -1;
        free(child);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (replay(argv[i])) rc = 1;
    printf("replayed %d inputs%s\n", g_files, rc ? " (some could not be read)" : "");
    return rc || g_files == 0;
}
