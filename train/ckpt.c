/* ckpt.c — see ckpt.h and train/CKPT.md. */
#define _GNU_SOURCE
#include "train/ckpt.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/safetensors.h"
#include "core/tensor_io.h"
#include "data/manifest.h"

#ifndef VROBIN_VERSION
#define VROBIN_VERSION "unknown"
#endif

static const char *const CKPT_FILES[] = {"model.safetensors", "ema.safetensors", "optim.safetensors", "config.json"};
#define N_CKPT_FILES 4

static char *path_join(const char *a, const char *b) {
    char *s = NULL;
    if (asprintf(&s, "%s/%s", a, b) < 0) return vr_fail_null("out of memory");
    return s;
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return vr_fail("%s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc ? vr_fail("%s: fsync: %s", dir, strerror(errno)) : 0;
}

/* Checkpoint folders hold plain files only. */
static int remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : vr_fail("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = path_join(dir, e->d_name);
        if (!p || unlink(p)) rc = p ? vr_fail("%s: cannot delete: %s", p, strerror(errno)) : -1;
        free(p);
    }
    closedir(d);
    if (!rc && rmdir(dir)) rc = vr_fail("%s: cannot delete: %s", dir, strerror(errno));
    return rc;
}

static int file_sha256(const char *path, char hex[65], int64_t *bytes) {
    FILE *f = fopen(path, "rb");
    if (!f) return vr_fail("%s: %s", path, strerror(errno));
    vr_sha256_ctx c;
    vr_sha256_init(&c);
    static _Thread_local uint8_t buf[1 << 16];
    size_t n;
    *bytes = 0;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        vr_sha256_update(&c, buf, n);
        *bytes += (int64_t)n;
    }
    int err = ferror(f);
    fclose(f);
    if (err) return vr_fail("%s: read error", path);
    uint8_t dig[32];
    vr_sha256_final(&c, dig);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return 0;
}

static int step_of_name(const char *name, int64_t *step) {
    int n = 0;
    long long s = -1;
    if (sscanf(name, "step_%8lld%n", &s, &n) != 1 || n != 13 || name[n] || s < 0) return 0;
    *step = s;
    return 1;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int save_registry(const tt_params *p, const char *dir, const char *file, const vr_ckpt_state *st,
                         const char *what) {
    char *path = path_join(dir, file), step[32];
    if (!path) return -1;
    snprintf(step, sizeof step, "%" PRId64, st->step);
    const char *keys[] = {"format", "content", "step", "model.kind"};
    const char *vals[] = {"vrobin-checkpoint", what, step, st->model_kind};
    int rc = tio_save_params(p, path, 4, keys, vals);
    free(path);
    return rc;
}

static int write_state(const char *dir, const vr_ckpt_state *st) {
    cJSON *j = cJSON_CreateObject(), *loader = cJSON_CreateObject(), *files = cJSON_CreateObject();
    char seed[32], when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    snprintf(seed, sizeof seed, "%" PRIu64, st->loader.seed);
    cJSON_AddStringToObject(j, "format", "vrobin-checkpoint");
    cJSON_AddNumberToObject(j, "format_version", VR_CKPT_FORMAT_VERSION);
    cJSON_AddNumberToObject(j, "step", (double)st->step);
    cJSON_AddStringToObject(j, "model_kind", st->model_kind);
    cJSON_AddNumberToObject(j, "world_size", st->world_size);
    cJSON_AddStringToObject(loader, "seed", seed); /* a string: uint64 does not fit a JSON double */
    cJSON_AddNumberToObject(loader, "epoch", (double)st->loader.epoch);
    cJSON_AddNumberToObject(loader, "position", (double)st->loader.position);
    cJSON_AddNumberToObject(loader, "n_clips", (double)st->loader.n_clips);
    cJSON_AddNumberToObject(loader, "global_batch", (double)st->loader.global_batch);
    cJSON_AddItemToObject(j, "loader", loader);
    int rc = 0;
    for (int i = 0; i < N_CKPT_FILES && !rc; i++) {
        char *p = path_join(dir, CKPT_FILES[i]), hex[65];
        int64_t bytes = 0;
        rc = !p || file_sha256(p, hex, &bytes);
        if (!rc) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddNumberToObject(f, "bytes", (double)bytes);
            cJSON_AddStringToObject(f, "sha256", hex);
            cJSON_AddItemToObject(files, CKPT_FILES[i], f);
            if (!strcmp(CKPT_FILES[i], "config.json")) cJSON_AddStringToObject(j, "config_sha256", hex);
        }
        free(p);
    }
    cJSON_AddItemToObject(j, "files", files);
    cJSON_AddStringToObject(j, "vrobin_version", VROBIN_VERSION);
    cJSON_AddStringToObject(j, "created_utc", when);
    char *text = rc ? NULL : cJSON_Print(j);
    cJSON_Delete(j);
    if (rc) return -1;
    if (!text) return vr_fail("out of memory");
    char *path = path_join(dir, "state.json");
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON_Print's NUL becomes the final newline; the length excludes it */
    rc = path ? vr_write_file_atomic(path, text, len + 1) : -1;
    free(text);
    free(path);
    return rc;
}

static void test_crash_hook(int64_t step) {
    const char *s = getenv("VROBIN_TEST_CRASH_IN_CKPT");
    if (s && strtoll(s, NULL, 10) == step) {
        fprintf(stderr, "[vrobin] test hook: SIGKILL in the middle of writing checkpoint %" PRId64 "\n", step);
        raise(SIGKILL);
    }
}

int vr_ckpt_write(const char *run_dir, const vr_ckpt_state *st, const tt_params *params, const tt_params *ema,
                  const tt_params *optim, const char *config_json, int keep_last) {
    char name[32], tmpname[48];
    snprintf(name, sizeof name, "step_%08" PRId64, st->step);
    snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
    char *ckdir = path_join(run_dir, "ckpt");
    char *tmp = ckdir ? path_join(ckdir, tmpname) : NULL;
    char *final = ckdir ? path_join(ckdir, name) : NULL;
    char *cfg_path = tmp ? path_join(tmp, "config.json") : NULL;
    char *latest = path_join(run_dir, "latest");
    int rc = -1;
    if (!ckdir || !tmp || !final || !cfg_path || !latest) goto done;
    /* a leftover of a crash, or a complete folder that `latest` never named: neither is in use */
    if (vr_mkdirs(ckdir) || remove_flat_dir(tmp) || vr_mkdirs(tmp)) goto done;
    if (save_registry(params, tmp, "model.safetensors", st, "weights") ||
        save_registry(ema, tmp, "ema.safetensors", st, "ema weights"))
        goto done;
    test_crash_hook(st->step);
    if (save_registry(optim, tmp, "optim.safetensors", st, "AdamW state") ||
        vr_write_file_atomic(cfg_path, config_json, strlen(config_json)) || write_state(tmp, st) || fsync_dir(tmp))
        goto done;
    if (remove_flat_dir(final)) goto done;
    if (rename(tmp, final)) {
        vr_fail("renaming %s to %s: %s", tmp, final, strerror(errno));
        goto done;
    }
    char line[40];
    int n = snprintf(line, sizeof line, "%s\n", name);
    if (fsync_dir(ckdir) || vr_write_file_atomic(latest, line, (size_t)n)) goto done;
    rc = 0;
    if (keep_last > 0 && vr_ckpt_prune(run_dir, keep_last) < 0) rc = -1;
done:
    if (rc) vr_context("writing checkpoint %s of %s", name, run_dir);
    free(ckdir);
    free(tmp);
    free(final);
    free(cfg_path);
    free(latest);
    return rc;
}

/* ---- reading --------------------------------------------------------------------------------- */

char *vr_ckpt_latest(const char *run_dir, int *missing) {
    *missing = 0;
    char *latest = path_join(run_dir, "latest"), *text = NULL;
    size_t n = 0;
    if (!latest) return NULL;
    if (!vr_file_exists(latest)) {
        *missing = 1;
        vr_fail("%s: no checkpoint yet (no 'latest' file)", run_dir);
        free(latest);
        return NULL;
    }
    char *out = NULL;
    if (vr_read_file(latest, &text, &n) == 0) {
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) text[--n] = 0;
        int64_t step;
        if (!step_of_name(text, &step))
            vr_fail("%s: expected one line 'step_<8 digits>', found '%.40s'", latest, text);
        else if (asprintf(&out, "%s/ckpt/%s", run_dir, text) < 0)
            out = vr_fail_null("out of memory");
    }
    free(text);
    free(latest);
    return out;
}

static cJSON *read_json(const char *path) {
    char *text = NULL;
    size_t n = 0;
    if (vr_read_file(path, &text, &n)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, n);
    free(text);
    if (!j) return vr_fail_null("%s: not valid JSON", path);
    return j;
}

static int json_i64(const cJSON *o, const char *key, int64_t *out, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
        return vr_fail("%s: '%s' is missing or not an integer", path, key);
    *out = (int64_t)v->valuedouble;
    return 0;
}

int vr_ckpt_read_state(const char *ckpt_dir, vr_ckpt_state *st) {
    memset(st, 0, sizeof *st);
    char *path = path_join(ckpt_dir, "state.json");
    cJSON *j = path ? read_json(path) : NULL;
    int rc = -1;
    if (!j) goto done;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "model_kind");
    const cJSON *hash = cJSON_GetObjectItemCaseSensitive(j, "config_sha256");
    const cJSON *loader = cJSON_GetObjectItemCaseSensitive(j, "loader");
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(loader, "seed");
    int64_t version = 0, world = 0;
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "vrobin-checkpoint")) {
        vr_fail("%s: not a vrobin checkpoint state (no \"format\": \"vrobin-checkpoint\")", path);
        goto done;
    }
    if (json_i64(j, "format_version", &version, path)) goto done;
    if (version > VR_CKPT_FORMAT_VERSION) {
        vr_fail("%s: checkpoint format_version %" PRId64 " is newer than this vrobin (%d)", path, version,
                VR_CKPT_FORMAT_VERSION);
        goto done;
    }
    if (json_i64(j, "step", &st->step, path) || json_i64(j, "world_size", &world, path) ||
        json_i64(loader, "epoch", &st->loader.epoch, path) ||
        json_i64(loader, "position", &st->loader.position, path) ||
        json_i64(loader, "n_clips", &st->loader.n_clips, path) ||
        json_i64(loader, "global_batch", &st->loader.global_batch, path))
        goto done;
    if (!cJSON_IsString(kind) || !cJSON_IsString(hash) || !cJSON_IsString(seed)) {
        vr_fail("%s: model_kind, config_sha256 or loader.seed is missing", path);
        goto done;
    }
    char *end = NULL;
    errno = 0;
    st->loader.seed = strtoull(seed->valuestring, &end, 10);
    if (errno || !*seed->valuestring || *end) {
        vr_fail("%s: loader.seed '%s' is not an unsigned integer", path, seed->valuestring);
        goto done;
    }
    st->world_size = (int)world;
    snprintf(st->model_kind, sizeof st->model_kind, "%s", kind->valuestring);
    snprintf(st->config_sha256, sizeof st->config_sha256, "%s", hash->valuestring);
    rc = 0;
done:
    cJSON_Delete(j);
    free(path);
    return rc;
}

/* Sizes and SHA-256 of the files against state.json: catches truncation and bit rot. */
static int verify_files(const char *ckpt_dir) {
    char *path = path_join(ckpt_dir, "state.json");
    cJSON *j = path ? read_json(path) : NULL;
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    int rc = j ? 0 : -1;
    for (int i = 0; i < N_CKPT_FILES && !rc; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(files, CKPT_FILES[i]);
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(f, "sha256");
        char *p = path_join(ckpt_dir, CKPT_FILES[i]), hex[65];
        int64_t bytes = 0, want_bytes = 0;
        if (!p) rc = -1;
        else if (!cJSON_IsString(want) || json_i64(f, "bytes", &want_bytes, path))
            rc = vr_fail("%s: files.%s is missing its size or sha256", path, CKPT_FILES[i]);
        else if (file_sha256(p, hex, &bytes))
            rc = -1;
        else if (bytes != want_bytes || strcmp(hex, want->valuestring))
            rc = vr_fail("%s: damaged: %" PRId64 " bytes with sha256 %.12s..., state.json says %" PRId64
                         " bytes with %.12s...",
                         p, bytes, hex, want_bytes, want->valuestring);
        free(p);
    }
    cJSON_Delete(j);
    free(path);
    return rc;
}

int vr_ckpt_load(const char *ckpt_dir, tt_params *params, tt_params *ema, tt_params *optim, vr_ckpt_state *st) {
    const char *files[] = {"model.safetensors", "ema.safetensors", "optim.safetensors"};
    tt_params *regs[] = {params, ema, optim};
    if (vr_ckpt_read_state(ckpt_dir, st) || verify_files(ckpt_dir)) return vr_context("loading checkpoint");
    for (int i = 0; i < 3; i++) {
        char *p = path_join(ckpt_dir, files[i]);
        int rc = p ? tio_load_params(regs[i], p, 1) : -1;
        free(p);
        if (rc) return vr_context("loading checkpoint");
    }
    return 0;
}

int vr_ckpt_prune(const char *run_dir, int keep) {
    int missing = 0;
    char *latest = vr_ckpt_latest(run_dir, &missing);
    char *ckdir = path_join(run_dir, "ckpt");
    int64_t latest_step = INT64_MAX, *steps = NULL;
    int n = 0, cap = 0, deleted = 0, rc = 0;
    if (!ckdir || (!latest && !missing)) {
        free(latest);
        free(ckdir);
        return -1;
    }
    if (latest) step_of_name(strrchr(latest, '/') + 1, &latest_step);
    DIR *d = opendir(ckdir);
    for (struct dirent *e; d && (e = readdir(d)) && !rc;) {
        int64_t s;
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' && len > 4 && !strcmp(e->d_name + len - 4, ".tmp")) {
            char *p = path_join(ckdir, e->d_name);
            rc = !p || remove_flat_dir(p);
            free(p);
            deleted += !rc;
        } else if (step_of_name(e->d_name, &s)) {
            if (n == cap) {
                int64_t *grown = realloc(steps, sizeof *steps * (size_t)(cap = cap ? 2 * cap : 16));
                if (!grown) {
                    rc = vr_fail("out of memory");
                    break;
                }
                steps = grown;
            }
            steps[n++] = s;
        }
    }
    if (d) closedir(d);
    /* newest first; a checkpoint newer than `latest` belongs to an abandoned future (a crash
     * between its rename and the pointer update) and goes; `latest` itself is always kept */
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && steps[k] > steps[k - 1]; k--) {
            int64_t t = steps[k];
            steps[k] = steps[k - 1], steps[k - 1] = t;
        }
    int kept = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (steps[i] <= latest_step && (kept < keep || steps[i] == latest_step)) {
            kept++;
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "step_%08" PRId64, steps[i]);
        char *p = path_join(ckdir, name);
        rc = !p || remove_flat_dir(p);
        free(p);
        deleted += !rc;
    }
    free(steps);
    free(latest);
    free(ckdir);
    return rc ? vr_context("pruning old checkpoints of %s", run_dir) : deleted;
}

int vr_ckpt_remove_all(const char *run_dir) {
    char *latest = path_join(run_dir, "latest"), *ckdir = path_join(run_dir, "ckpt");
    int rc = latest && ckdir ? 0 : -1;
    if (!rc && unlink(latest) && errno != ENOENT) rc = vr_fail("%s: cannot delete: %s", latest, strerror(errno));
    DIR *d = rc ? NULL : opendir(ckdir);
    for (struct dirent *e; d && (e = readdir(d)) && !rc;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = path_join(ckdir, e->d_name);
        rc = !p || remove_flat_dir(p);
        free(p);
    }
    if (d) closedir(d);
    if (!rc && rmdir(ckdir) && errno != ENOENT) rc = vr_fail("%s: cannot delete: %s", ckdir, strerror(errno));
    free(latest);
    free(ckdir);
    return rc;
}

/* ---- init_from ------------------------------------------------------------------------------- */

static int allowed_new(const char *name, char *const *allow, int n_allow) {
    for (int i = 0; i < n_allow; i++)
        if (allow[i][0] && !strncmp(name, allow[i], strlen(allow[i]))) return 1;
    return 0;
}

/* Check the names of `file` against the registry (see vr_ckpt_init_from), then copy. */
static int load_weights(const char *file, tt_params *p, char *const *allow, int n_allow, int *n_new) {
    st_file *f = st_open(file);
    if (!f) return -1;
    int rc = 0;
    *n_new = 0;
    for (int i = 0; i < tt_params_count(p) && !rc; i++) {
        const char *name = tt_params_name(p, i);
        if (st_find(f, name)) continue;
        if (allowed_new(name, allow, n_allow)) (*n_new)++;
        else
            rc = vr_fail("%s: parameter '%s' is missing (a parameter new in this model must match a prefix in "
                         "train.init_allow_new)",
                         file, name);
    }
    for (int i = 0; i < f->n_tensors && !rc; i++)
        if (!tt_params_get(p, f->tensors[i].name))
            rc = vr_fail("%s: tensor '%s' is not a parameter of this model", file, f->tensors[i].name);
    st_close(f);
    return rc ? -1 : tio_load_params(p, file, 0);
}

int vr_ckpt_init_from(const char *path, tt_params *params, tt_params *ema, char *const *allow, int n_allow,
                      int *n_new) {
    struct stat sb;
    if (stat(path, &sb)) return vr_fail("train.init_from: %s: %s", path, strerror(errno));
    char *dir = NULL, *model = NULL, *ema_file = NULL;
    int rc = -1, fresh = 0, missing = 0;
    if (S_ISDIR(sb.st_mode)) {
        char *state = path_join(path, "state.json");
        int is_ckpt = state && vr_file_exists(state);
        free(state);
        dir = is_ckpt ? strdup(path) : vr_ckpt_latest(path, &missing);
        if (!dir) goto done;
        vr_ckpt_state st;
        model = path_join(dir, "model.safetensors");
        ema_file = path_join(dir, "ema.safetensors");
        if (!model || !ema_file || vr_ckpt_read_state(dir, &st) || verify_files(dir)) goto done;
    } else {
        model = strdup(path);
        ema_file = strdup(path);
        if (!model || !ema_file) goto done;
    }
    if (load_weights(model, params, allow, n_allow, &fresh) || load_weights(ema_file, ema, allow, n_allow, &fresh))
        goto done;
    if (n_new) *n_new = fresh;
    rc = 0;
done:
    if (rc) vr_context("train.init_from %s", path);
    free(dir);
    free(model);
    free(ema_file);
    return rc;
}
