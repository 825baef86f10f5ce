/* trainer.c — `vrobin train`: see trainer.h. */
#define _GNU_SOURCE
#include "train/trainer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/tt.h"
#include "data/loader.h"
#include "train/ckpt.h"
#include "train/dist.h"
#include "train/optim.h"
#include "train/registry.h"
#include "train/validate.h"

#define IDS_CAP 2048 /* bytes of clip ids kept per rank and step, for diagnostics */

/* what the ranks sum after the forward/backward passes of a step */
enum { ST_LOSS = 0, ST_PART0 = 1, ST_WAIT = 1 + VR_MAX_LOSS_PARTS, ST_BAD, N_STATS };

typedef struct hooks {
    int nan_kind; /* 0 none, 1 loss, 2 grad */
    int64_t nan_step, kill_step, fail_step;
    int nan_rank, fail_rank;
} hooks;

typedef struct trainer {
    vr_dist d;
    cfg *c;
    char *run_dir, *config_json;
    int resume;             /* --resume given */
    char *resume_from;      /* the checkpoint folder resumed from, or NULL */
    vr_loader *loader;
    vr_model model;
    int have_model;
    tt_params *ema;
    vr_optim *opt;
    FILE *metrics;
    vr_progress *bar;
    int64_t step, steps, warmup, ckpt_every;
    int64_t val_every;          /* 0: no validation */
    vr_val_opts val;            /* train.val_*: shards, clips, sampling */
    char **val_paths;
    int accum, B, batch, keep_last, bf16;
    double lr, min_lr_ratio, grad_clip, ema_decay;
    size_t bucket_bytes;
    uint64_t seed;
    hooks hk;
    const char *part_names[VR_MAX_LOSS_PARTS];
    int n_parts;
    char ids[IDS_CAP]; /* this step's clip ids on this rank, comma separated */
    size_t ids_len;
    double t_start;
} trainer;

/* one rank's account of a failed step, gathered on rank 0 */
typedef struct rank_report {
    double loss;
    int bad;
    char ids[IDS_CAP];
} rank_report;

static void end_bar(trainer *tr) {
    if (tr->bar) vr_progress_end(tr->bar);
    tr->bar = NULL;
}

static void report(trainer *tr, const char *msg) {
    end_bar(tr); /* the message is the last line */
    if (tr->d.world > 1)
        fprintf(stderr, "vrobin train (rank %d/%d): %s\n", tr->d.rank, tr->d.world, msg);
    else
        fprintf(stderr, "vrobin train: %s\n", msg);
}

/* An error only this rank sees, during the steps: with other ranks waiting in a collective, the
 * only way to stop them is MPI_Abort. Returns -1 for the single-process unwind. */
static int fatal(trainer *tr) {
    report(tr, vr_error());
    if (tr->d.world > 1) vr_dist_abort(&tr->d, 1);
    return -1;
}

/* Setup errors: every rank reaches this point; all stop if any failed. The failing ranks print
 * (only rank 0 when it failed too: the same message from every rank says nothing new). */
static int agree(trainer *tr, int rc) {
    int flags[2] = {rc != 0, tr->d.rank == 0 && rc != 0};
    if (vr_dist_max_i32(&tr->d, flags, 2)) {
        report(tr, vr_error());
        return -1;
    }
    if (rc && (tr->d.rank == 0 || !flags[1])) report(tr, vr_error());
    return flags[0] ? -1 : 0;
}

/* ---- arguments and config ------------------------------------------------------------------ */

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin train CONFIG [--resume] [key=value ...]\n"
            "       vrobin train --resume RUN_DIR [key=value ...]\n"
            "       mpirun -np N vrobin train ...        (or launch/local.sh N CONFIG ...)\n\n"
            "Train the model named by model.kind on data.shards with AdamW, warmup + cosine schedule,\n"
            "gradient clipping, EMA and optional bf16 autocast, on one process or N MPI ranks (the\n"
            "global batch train.batch_size is split over ranks and train.accum_steps micro-batches).\n"
            "The run folder <run.dir>/<run.name>/ gets config.json, metrics.jsonl (one line per step),\n"
            "ckpt/step_<N>/ and `latest` (see train/CKPT.md). Plot it with `vrobin plot RUN_DIR`.\n\n"
            "  --resume    continue the run from its latest checkpoint; the result is bit-identical to\n"
            "              an uninterrupted run (a run with no checkpoint yet starts from step 0)\n"
            "  key=value   override a config key (the value is YAML): train.steps=5000 train.lr=1e-3\n\n"
            "A new run refuses a folder that already holds one, unless run.overwrite=true.\n");
}

static char *yaml_quote(const char *s) {
    size_t n = strlen(s), k = 0;
    char *q = malloc(2 * n + 3);
    if (!q) return NULL;
    q[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') q[k++] = '\'';
        q[k++] = s[i];
    }
    q[k++] = '\'';
    q[k] = 0;
    return q;
}

/* 0, 1 (error, printed) or 2 (usage, printed); rank 0 prints. */
static int load_config(trainer *tr, int argc, char **argv) {
    const char *pos = NULL;
    char **over = calloc((size_t)argc + 3, sizeof *over);
    char *extra[2] = {NULL, NULL};
    int n_over = 0, rc = 0;
    if (!over) return 1;
    const char *bad = NULL;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "--resume")) tr->resume = 1;
        else if (argv[i][0] == '-') bad = argv[i];
        else if (strchr(argv[i], '=')) over[n_over++] = argv[i];
        else if (!pos) pos = argv[i];
        else bad = argv[i];
    }
    if (bad || !pos) {
        if (tr->d.rank == 0) {
            if (bad) fprintf(stderr, "vrobin train: unexpected argument '%s'\n", bad);
            usage(stderr);
        }
        free(over);
        return 2;
    }
    struct stat sb;
    char *path = NULL;
    if (stat(pos, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (!tr->resume) {
            vr_fail("%s is a folder; to continue that run use: vrobin train --resume %s", pos, pos);
            rc = 1;
        } else {
            /* the run folder may have moved since: it names itself */
            char *a = strdup(pos);
            for (size_t n = a ? strlen(a) : 0; n > 1 && a[n - 1] == '/'; n--) a[n - 1] = 0;
            char *b = a ? strdup(a) : NULL;
            char *qd = b ? yaml_quote(dirname(a)) : NULL, *qn = b ? yaml_quote(basename(b)) : NULL;
            if (qd && qn && asprintf(&extra[0], "run.dir=%s", qd) > 0 && asprintf(&extra[1], "run.name=%s", qn) > 0 &&
                asprintf(&path, "%s/config.json", pos) > 0) {
                over[n_over++] = extra[0];
                over[n_over++] = extra[1];
            } else {
                rc = 1;
                vr_fail("out of memory");
            }
            free(a), free(b), free(qd), free(qn);
        }
    } else {
        path = strdup(pos);
    }
    if (!rc) {
        tr->c = path ? cfg_load(path, vr_schema, n_over, over) : NULL;
        rc = tr->c ? 0 : 1;
    }
    if (rc && tr->d.rank == 0) fprintf(stderr, "vrobin train: %s\n", vr_error());
    free(path);
    free(extra[0]);
    free(extra[1]);
    free(over);
    return rc;
}

static int read_settings(trainer *tr) {
    const cfg *c = tr->c;
    tr->steps = cfg_int(c, "train.steps");
    tr->batch = (int)cfg_int(c, "train.batch_size");
    tr->accum = (int)cfg_int(c, "train.accum_steps");
    tr->warmup = cfg_int(c, "train.warmup_steps");
    tr->ckpt_every = cfg_int(c, "train.ckpt_every");
    tr->keep_last = (int)cfg_int(c, "train.keep_last");
    tr->lr = cfg_float(c, "train.lr");
    tr->min_lr_ratio = cfg_float(c, "train.min_lr_ratio");
    tr->grad_clip = cfg_float(c, "train.grad_clip");
    tr->ema_decay = cfg_float(c, "train.ema_decay");
    tr->bucket_bytes = (size_t)(cfg_float(c, "train.bucket_mb") * 1024 * 1024);
    tr->seed = (uint64_t)cfg_int(c, "run.seed");
    tr->bf16 = !strcmp(cfg_str(c, "runtime.dtype"), "bf16");
    if (tr->steps < 1) return vr_fail("train.steps must be at least 1 (got %" PRId64 ")", tr->steps);
    if (tr->accum < 1) return vr_fail("train.accum_steps must be at least 1 (got %d)", tr->accum);
    if (tr->batch < 1 || tr->batch % (tr->d.world * tr->accum))
        return vr_fail("train.batch_size %d must be a positive multiple of the number of ranks (%d) times "
                       "train.accum_steps (%d)",
                       tr->batch, tr->d.world, tr->accum);
    tr->B = tr->batch / (tr->d.world * tr->accum);
    if (tr->warmup < 0 || tr->ckpt_every < 1 || tr->lr <= 0 || tr->min_lr_ratio < 0 || tr->min_lr_ratio > 1 ||
        tr->grad_clip < 0 || tr->ema_decay < 0 || tr->ema_decay >= 1 || tr->bucket_bytes < 4)
        return vr_fail("invalid training settings: need train.warmup_steps >= 0, train.ckpt_every >= 1, train.lr > 0, "
                       "0 <= train.min_lr_ratio <= 1, train.grad_clip >= 0, 0 <= train.ema_decay < 1, "
                       "train.bucket_mb > 0");
    if (cfg_float(c, "train.beta1") < 0 || cfg_float(c, "train.beta1") >= 1 || cfg_float(c, "train.beta2") < 0 ||
        cfg_float(c, "train.beta2") >= 1 || cfg_float(c, "train.eps") <= 0)
        return vr_fail("invalid AdamW settings: need 0 <= train.beta1, train.beta2 < 1 and train.eps > 0");
    if (cfg_list_len(c, "data.shards") == 0) return vr_fail("data.shards is empty: nothing to train on");
    tr->val_every = cfg_int(c, "train.val_every");
    int n_val = cfg_list_len(c, "train.val_shards");
    if (tr->val_every < 0 || (tr->val_every > 0 && n_val == 0))
        return vr_fail("train.val_every %" PRId64 ": needs to be >= 0, and train.val_shards to name the validation "
                       "shards when it is > 0",
                       tr->val_every);
    if (tr->val_every) {
        tr->val_paths = calloc((size_t)n_val, sizeof *tr->val_paths);
        if (!tr->val_paths) return vr_fail("out of memory");
        for (int i = 0; i < n_val; i++) tr->val_paths[i] = (char *)cfg_list_str(c, "train.val_shards", i);
        tr->val = (vr_val_opts){.shards = tr->val_paths, .n_shards = n_val, .batch = tr->batch,
                                .max_clips = (int)cfg_int(c, "train.val_max_clips"),
                                .sample_clips = (int)cfg_int(c, "train.val_sample_clips"),
                                .steps = (int)cfg_int(c, "train.val_steps"),
                                .frames = cfg_bool(c, "train.load_frames"), .seed = tr->seed};
        if (tr->val.max_clips < 0 || tr->val.sample_clips < 0 || tr->val.steps < 0)
            return vr_fail("train.val_max_clips, train.val_sample_clips and train.val_steps must be >= 0");
    }
    if (asprintf(&tr->run_dir, "%s/%s", cfg_str(c, "run.dir"), cfg_str(c, "run.name")) < 0)
        return vr_fail("out of memory");
    tr->config_json = cfg_to_json(c);
    return tr->config_json ? 0 : vr_fail("out of memory");
}

static void parse_hooks(trainer *tr) {
    hooks *h = &tr->hk;
    memset(h, 0, sizeof *h);
    h->kill_step = h->fail_step = h->nan_step = -1;
    const char *s = getenv("VROBIN_TEST_NAN");
    if (s) {
        long long step = -1;
        int rank = 0;
        h->nan_kind = !strncmp(s, "loss:", 5) ? 1 : !strncmp(s, "grad:", 5) ? 2 : 0;
        if (h->nan_kind && sscanf(s + 5, "%lld:%d", &step, &rank) >= 1) h->nan_step = step, h->nan_rank = rank;
    }
    if ((s = getenv("VROBIN_TEST_KILL_AT_STEP"))) h->kill_step = strtoll(s, NULL, 10);
    long long step;
    if ((s = getenv("VROBIN_TEST_FAIL_AT")) && sscanf(s, "%d:%lld", &h->fail_rank, &step) == 2) h->fail_step = step;
}

/* ---- resuming: what may differ from the checkpoint's config -------------------------------- */

/* Keys that shape the trajectory must match; these may change (the data order guards itself:
 * the loader refuses a different number of clips or global batch). */
static const char *const RESUME_MAY_CHANGE[] = {"run.dir", "run.name", "run.overwrite", "train.steps",
                                                "train.ckpt_every", "train.keep_last", "train.init_from",
                                                "train.bucket_mb"};

static int checked_on_resume(const char *key) {
    if (strncmp(key, "run.", 4) && strncmp(key, "model.", 6) && strncmp(key, "train.", 6)) return 0;
    for (size_t i = 0; i < sizeof RESUME_MAY_CHANGE / sizeof *RESUME_MAY_CHANGE; i++)
        if (!strcmp(key, RESUME_MAY_CHANGE[i])) return 0;
    return 1;
}

/* Walk the nested config objects; report differences (checked ones into *err, others logged). */
static void diff_config(const cJSON *old, const cJSON *now, const char *prefix, char *err, size_t cap) {
    for (const cJSON *it = now ? now->child : NULL; it; it = it->next) {
        char key[256];
        snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", it->string);
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(old, it->string);
        if (cJSON_IsObject(it)) {
            diff_config(was, it, key, err, cap);
            continue;
        }
        if (!was || cJSON_Compare(was, it, 1)) continue; /* a key newer than the checkpoint: its default */
        char *a = cJSON_PrintUnformatted(was), *b = cJSON_PrintUnformatted(it);
        if (checked_on_resume(key)) {
            size_t at = strlen(err);
            snprintf(err + at, cap - at, "%s%s (%s -> %s)", at ? ", " : "", key, a ? a : "?", b ? b : "?");
        } else {
            VR_INFO("resuming with %s changed: %s -> %s", key, a ? a : "?", b ? b : "?");
        }
        free(a);
        free(b);
    }
}

static int check_resume_config(const trainer *tr, const char *ckpt_dir) {
    char *path = NULL, *text = NULL;
    size_t n = 0;
    if (asprintf(&path, "%s/config.json", ckpt_dir) < 0) return vr_fail("out of memory");
    int rc = vr_read_file(path, &text, &n);
    cJSON *old = rc ? NULL : cJSON_ParseWithLength(text, n), *now = cJSON_Parse(tr->config_json);
    char err[2048] = "";
    if (!rc && (!old || !now)) rc = vr_fail("%s: not valid JSON", path);
    if (!rc) diff_config(old, now, "", err, sizeof err);
    if (!rc && err[0])
        rc = vr_fail("cannot resume %s: the config differs from its checkpoint in %s; resume with the same "
                     "settings, or start a new run (another run.name)",
                     tr->run_dir, err);
    cJSON_Delete(old);
    cJSON_Delete(now);
    free(text);
    free(path);
    return rc;
}

/* Keep the metrics of steps <= step (a torn last line from a kill is dropped). */
static int truncate_metrics(const char *path, int64_t step) {
    char *text = NULL;
    size_t n = 0;
    if (!vr_file_exists(path)) return vr_write_file_atomic(path, "", 0);
    if (vr_read_file(path, &text, &n)) return -1;
    size_t out = 0;
    for (size_t at = 0; at < n;) {
        char *nl = memchr(text + at, '\n', n - at);
        if (!nl) break;
        size_t len = (size_t)(nl - (text + at)) + 1;
        cJSON *j = cJSON_ParseWithLength(text + at, len);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
        if (cJSON_IsNumber(s) && s->valuedouble <= (double)step) {
            memmove(text + out, text + at, len);
            out += len;
        }
        cJSON_Delete(j);
        at += len;
    }
    int rc = vr_write_file_atomic(path, text, out);
    free(text);
    return rc;
}

/* ---- setup ------------------------------------------------------------------------------------ */

static int holds_a_run(const char *dir) {
    static const char *const marks[] = {"latest", "metrics.jsonl", "config.json", "ckpt"};
    for (int i = 0; i < 4; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, marks[i]);
        if (vr_file_exists(p)) return 1;
    }
    return 0;
}

/* Rank 0 prepares the folder of a new run. */
static int prepare_new_run(const trainer *tr) {
    if (holds_a_run(tr->run_dir)) {
        if (!cfg_bool(tr->c, "run.overwrite"))
            return vr_fail("%s already holds a run; continue it with --resume, or set run.overwrite=true to "
                           "delete its checkpoints and metrics and start again",
                           tr->run_dir);
        VR_WARN("run.overwrite=true: deleting the checkpoints and metrics of %s", tr->run_dir);
        char p[4096];
        snprintf(p, sizeof p, "%s/metrics.jsonl", tr->run_dir);
        if (vr_ckpt_remove_all(tr->run_dir)) return vr_context("run.overwrite");
        if (unlink(p) && errno != ENOENT) return vr_fail("run.overwrite: %s: cannot delete: %s", p, strerror(errno));
    }
    return vr_mkdirs(tr->run_dir);
}

static int open_loader(trainer *tr) {
    int n = cfg_list_len(tr->c, "data.shards");
    char **paths = calloc((size_t)n, sizeof *paths);
    if (!paths) return vr_fail("out of memory");
    for (int i = 0; i < n; i++) paths[i] = (char *)cfg_list_str(tr->c, "data.shards", i);
    vr_loader_opts o;
    vr_loader_opts_default(&o);
    o.batch_size = tr->B, o.rank = tr->d.rank, o.world_size = tr->d.world, o.seed = tr->seed;
    o.frames = cfg_bool(tr->c, "train.load_frames");
    tr->loader = vr_loader_open(paths, n, &o);
    free(paths);
    if (!tr->loader) return vr_context("data.shards");
    const vr_shard_info *info = vr_loader_info(tr->loader);
    if (!info->normalised) {
        tr->model.norm_mean = vr_loader_norm_mean(tr->loader);
        tr->model.norm_std = vr_loader_norm_std(tr->loader);
    }
    VR_INFO("data: %" PRId64 " clips in %d shard(s), %" PRId64 " steps per epoch; %d rank(s) x %d clips x %d "
            "micro-batch(es) = batch %d",
            vr_loader_n_clips(tr->loader), n, vr_loader_batches_per_epoch(tr->loader) / tr->accum, tr->d.world, tr->B,
            tr->accum, tr->batch);
    return 0;
}

static int setup_model(trainer *tr) {
    tt_gen *g = tt_gen_new(tr->seed); /* the same on every rank: identical initial weights */
    if (!g) return vr_fail("%s", tt_last_error());
    const float *mean = tr->model.norm_mean, *std = tr->model.norm_std;
    int rc = vr_model_create(&tr->model, tr->c, g);
    tt_gen_free(g);
    if (rc) return -1;
    tr->have_model = 1;
    tr->model.norm_mean = mean, tr->model.norm_std = std;
    vr_adamw_opts ao = {cfg_float(tr->c, "train.beta1"), cfg_float(tr->c, "train.beta2"), cfg_float(tr->c, "train.eps"),
                        cfg_float(tr->c, "train.weight_decay")};
    tr->ema = vr_ema_new(tr->model.params);
    tr->opt = tr->ema ? vr_optim_new(tr->model.params, &ao) : NULL;
    if (!tr->opt) return -1;
    VR_INFO("model %s: %d tensors, %" PRId64 " parameters", tr->model.ops->kind, tt_params_count(tr->model.params),
            tt_params_numel(tr->model.params));
    return 0;
}

/* Resume from `latest`, or initialise from train.init_from, or keep the fresh weights. A --resume
 * of a run with no checkpoint yet is a new run: train.init_from still applies (a stage 2 resumed
 * before its first checkpoint must not silently train from scratch). */
static int restore(trainer *tr) {
    if (tr->resume) {
        int missing = 0;
        tr->resume_from = vr_ckpt_latest(tr->run_dir, &missing);
        if (!tr->resume_from && !missing) return -1;
    }
    if (tr->resume && !tr->resume_from) {
        VR_WARN("%s has no checkpoint yet: starting from step 0", tr->run_dir);
        vr_clear_error();
    } else if (tr->resume) {
        vr_ckpt_state st;
        if (check_resume_config(tr, tr->resume_from) ||
            vr_ckpt_load(tr->resume_from, tr->model.params, tr->ema, tr->opt->state, &st))
            return -1;
        if (strcmp(st.model_kind, tr->model.ops->kind))
            return vr_fail("%s holds a '%s' model, the config asks for '%s'", tr->resume_from, st.model_kind,
                           tr->model.ops->kind);
        if (vr_optim_state_loaded(tr->opt)) return -1;
        if (vr_loader_set_state(tr->loader, &st.loader)) return vr_context("resuming the data order");
        tr->step = st.step;
        VR_INFO("resumed %s at step %" PRId64 " (epoch %" PRId64 ")", tr->resume_from, st.step, st.loader.epoch);
        return 0;
    }
    const char *from = cfg_str(tr->c, "train.init_from");
    if (!from[0]) return 0;
    int n = cfg_list_len(tr->c, "train.init_allow_new"), fresh = 0;
    char **allow = calloc((size_t)n + 1, sizeof *allow);
    if (!allow) return vr_fail("out of memory");
    for (int i = 0; i < n; i++) allow[i] = (char *)cfg_list_str(tr->c, "train.init_allow_new", i);
    int rc = vr_ckpt_init_from(from, tr->model.params, tr->ema, allow, n, &fresh);
    free(allow);
    if (!rc) VR_INFO("initialised from %s (%d new parameter tensor(s) kept fresh)", from, fresh);
    return rc;
}

/* Rank 0: config.json and the metrics file (cut back to the resumed step). */
static int open_outputs(trainer *tr) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", tr->run_dir);
    if (vr_mkdirs(tr->run_dir) || vr_write_file_atomic(path, tr->config_json, strlen(tr->config_json))) return -1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", tr->run_dir);
    if (truncate_metrics(path, tr->resume_from ? tr->step : 0)) return -1;
    tr->metrics = fopen(path, "a");
    if (!tr->metrics) return vr_fail("%s: %s", path, strerror(errno));
    return 0;
}

/* Rank 0's tensors to all ranks: the ranks start identical whatever their disks hold. Every rank
 * makes every broadcast even after an error, so that no rank waits for another forever; the
 * first error is returned. */
static int bcast_registry(const vr_dist *d, tt_params *p) {
    int rc = 0;
    for (int i = 0; i < tt_params_count(p); i++) {
        tt_tensor *t = tt_params_at(p, i);
        int64_t shape[16];
        int nd = tt_shape(t, shape, 16);
        size_t nb = (size_t)tt_numel(t) * tt_dtype_size(tt_dtype_of(t));
        char *buf = calloc(nb + 1, 1);
        if (!buf) {
            fprintf(stderr, "vrobin train: out of memory for '%s' (%zu bytes)\n", tt_params_name(p, i), nb);
            vr_dist_abort(d, 1); /* the other ranks are about to wait for this one */
        }
        int bad = d->rank == 0 && tt_to_data(t, buf, nb);
        tt_scope_begin();
        if (vr_dist_bcast(d, buf, nb)) {
            if (!rc) rc = vr_context("broadcasting '%s'", tt_params_name(p, i));
        } else if (bad || (d->rank != 0 && tt_copy_(t, tt_from_data(buf, tt_dtype_of(t), shape, nd)))) {
            if (!rc) rc = vr_fail("broadcasting '%s': %s", tt_params_name(p, i), tt_last_error());
        }
        tt_scope_end();
        free(buf);
    }
    return rc;
}

static int setup(trainer *tr) {
    int rc = read_settings(tr);
    if (!rc && tr->d.rank == 0 && !tr->resume) rc = prepare_new_run(tr);
    if (!rc) {
        int blas = (int)cfg_int(tr->c, "runtime.blas_threads");
        vr_runtime_apply((int)cfg_int(tr->c, "runtime.torch_threads"), blas ? blas : tr->d.world > 1 ? 1 : 0);
        if (!strcmp(cfg_str(tr->c, "runtime.device"), "cuda")) {
            if (!tt_cuda_available()) rc = vr_fail("runtime.device is cuda, but libtorch sees no CUDA device");
            else tt_set_default_device(TT_CUDA);
        }
    }
    if (!rc) rc = open_loader(tr);
    if (!rc && tr->val_every) { /* bad validation shards stop the run now, not at the first validation */
        vr_loader_opts lo;
        vr_loader_opts_default(&lo);
        lo.batch_size = 1;
        vr_loader *l = vr_loader_open(tr->val_paths, tr->val.n_shards, &lo);
        if (!l) rc = vr_context("train.val_shards");
        vr_loader_close(l);
    }
    if (!rc) rc = setup_model(tr);
    if (!rc) rc = restore(tr);
    if (!rc && tr->d.rank == 0) rc = open_outputs(tr);
    if (agree(tr, rc)) return -1;
    /* every rank read the same files; start from rank 0's bits anyway, and check the step (every
     * rank makes every broadcast, whatever happened, so that none waits forever) */
    int64_t step0 = tr->step;
    rc = vr_dist_bcast(&tr->d, &step0, sizeof step0);
    if (!rc && tr->d.world > 1) {
        rc |= bcast_registry(&tr->d, tr->model.params);
        rc |= bcast_registry(&tr->d, tr->ema);
        rc |= bcast_registry(&tr->d, tr->opt->state);
        if (!rc) rc = vr_optim_state_loaded(tr->opt);
    }
    if (!rc && step0 != tr->step)
        rc = vr_fail("rank %d resumed at step %" PRId64 ", rank 0 at %" PRId64, tr->d.rank, tr->step, step0);
    return agree(tr, rc);
}

/* ---- the step --------------------------------------------------------------------------------- */

static void note_ids(trainer *tr, const vr_batch *b) {
    for (int i = 0; i < b->B && tr->ids_len + 4 < IDS_CAP; i++) {
        int n = snprintf(tr->ids + tr->ids_len, IDS_CAP - tr->ids_len, "%s%s", tr->ids_len ? "," : "", b->id[i]);
        tr->ids_len = n > 0 && tr->ids_len + (size_t)n < IDS_CAP ? tr->ids_len + (size_t)n : IDS_CAP - 1;
    }
}

/* A non-finite loss (param < 0) or gradient of parameter `param`: rank 0 gathers every rank's
 * clip ids and prints one message; then every rank stops. */
static void report_nonfinite(trainer *tr, double loss, int bad, int param, double norm) {
    rank_report mine = {loss, bad, ""}, *all = NULL;
    snprintf(mine.ids, sizeof mine.ids, "%s", tr->ids);
    if (tr->d.rank == 0) all = calloc((size_t)tr->d.world, sizeof *all);
    if (vr_dist_gather(&tr->d, &mine, tr->d.rank == 0 ? (void *)all : NULL, sizeof mine) || tr->d.rank != 0 || !all) {
        free(all);
        return;
    }
    int missing = 0;
    char *latest = vr_ckpt_latest(tr->run_dir, &missing);
    end_bar(tr);
    fprintf(stderr, "vrobin train: step %" PRId64 ": ", tr->step + 1);
    if (param < 0) {
        for (int r = 0; r < tr->d.world; r++)
            if (all[r].bad) {
                fprintf(stderr, "the loss is not finite (%g", all[r].loss);
                if (tr->d.world > 1) fprintf(stderr, " on rank %d", r);
                fprintf(stderr, ")");
                break;
            }
    } else {
        fprintf(stderr, "the gradient of parameter '%s' is not finite (global gradient norm %g)",
                tt_params_name(tr->model.params, param), norm);
    }
    fprintf(stderr, "; stopped without saving this state (last checkpoint: %s).\n  batch clips:",
            latest ? latest : "none");
    for (int r = 0; r < tr->d.world; r++) {
        if (tr->d.world > 1) fprintf(stderr, " [rank %d]", r);
        fprintf(stderr, " %s", all[r].ids);
    }
    fprintf(stderr, "\n");
    free(latest);
    free(all);
}

static int write_metrics(trainer *tr, const double *stats, double lr, double norm, double coef, double step_s,
                         double comm_s, int64_t epoch) {
    double n = (double)tr->d.world * tr->accum;
    fprintf(tr->metrics, "{\"step\": %" PRId64 ", \"epoch\": %" PRId64 ", \"loss\": %.17g", tr->step, epoch,
            stats[ST_LOSS] / n);
    for (int i = 0; i < tr->n_parts; i++)
        fprintf(tr->metrics, ", \"%s\": %.17g", tr->part_names[i], stats[ST_PART0 + i] / n);
    double wait = stats[ST_WAIT] / tr->d.world;
    fprintf(tr->metrics,
            ", \"lr\": %.9g, \"grad_norm\": %.9g, \"clip\": %.9g, \"samples_per_s\": %.6g, \"step_s\": %.6g, "
            "\"data_wait_pct\": %.4g, \"allreduce_s\": %.4g, \"elapsed_s\": %.6g}\n",
            lr, norm, coef, tr->batch / step_s, step_s, 100.0 * wait / step_s, comm_s, vr_now() - tr->t_start);
    if (fflush(tr->metrics)) return vr_fail("%s/metrics.jsonl: %s", tr->run_dir, strerror(errno));
    return 0;
}

static uint64_t step_seed(const trainer *tr) {
    vr_rng r;
    vr_rng_seed_stream(&r, tr->seed, ((uint64_t)tr->step << 16) ^ (uint64_t)tr->d.rank);
    return vr_rng_u64(&r);
}

/* Forward + backward of this rank's micro-batches; fills stats (this rank's sums). 0, 1 when
 * the loss is not finite, -1 on an error. */
static int forward_backward(trainer *tr, double *stats, double *bad_loss, int64_t *epoch) {
    tt_gen *g = tt_gen_new(step_seed(tr));
    if (!g) return vr_fail("%s", tt_last_error());
    int rc = 0;
    for (int k = 0; k < tr->accum && !rc; k++) {
        vr_batch b;
        double t0 = vr_now();
        if (vr_loader_next(tr->loader, &b)) {
            rc = -1;
            break;
        }
        stats[ST_WAIT] += vr_now() - t0;
        *epoch = b.epoch;
        note_ids(tr, &b);
        vr_loss_parts parts = {0};
        tt_clear_error();
        tt_scope_begin();
        if (tr->bf16) tt_autocast_begin(TT_BF16);
        tt_tensor *loss = tr->model.ops->loss(&tr->model, &b, 1, g, &parts);
        if (tr->bf16) tt_autocast_end();
        double v = 0;
        if (loss && tr->hk.nan_kind == 1 && tr->hk.nan_step == tr->step + 1 && tr->hk.nan_rank == tr->d.rank)
            loss = tt_mul_scalar(loss, NAN);
        if (!loss || tt_item(loss, &v)) {
            /* models report through the wrapper's message (tt_fail) or through vr_fail */
            if (tt_last_error()[0])
                rc = vr_fail("step %" PRId64 ": %s forward: %s", tr->step + 1, tr->model.ops->kind, tt_last_error());
            else
                rc = vr_context("step %" PRId64 ": %s forward", tr->step + 1, tr->model.ops->kind);
        } else if (!isfinite(v)) {
            *bad_loss = v;
            rc = 1;
        } else if (tt_backward(tr->accum > 1 ? tt_mul_scalar(loss, 1.0 / tr->accum) : loss)) {
            rc = vr_fail("step %" PRId64 ": backward: %s", tr->step + 1, tt_last_error());
        }
        tt_scope_end();
        if (rc) break;
        if (vr_optim_gather_grads(tr->opt, k > 0)) rc = -1;
        stats[ST_LOSS] += v;
        if (k == 0 && tr->n_parts == 0)
            for (int i = 0; i < parts.n; i++) tr->part_names[tr->n_parts++] = parts.name[i];
        for (int i = 0; i < parts.n && i < tr->n_parts; i++) stats[ST_PART0 + i] += parts.value[i];
    }
    tt_gen_free(g);
    if (rc == 0 && tr->hk.fail_step == tr->step + 1 && tr->hk.fail_rank == tr->d.rank)
        rc = vr_fail("step %" PRId64 ": test hook VROBIN_TEST_FAIL_AT: rank %d fails", tr->step + 1, tr->d.rank);
    return rc;
}

/* Swap the live weights and the EMA (the weights an export holds, so the ones to validate). */
static int swap_ema(trainer *tr) {
    int rc = 0;
    tt_no_grad_begin();
    for (int i = 0; i < tt_params_count(tr->ema) && !rc; i++) {
        tt_scope_begin();
        tt_tensor *p = tt_params_get(tr->model.params, tt_params_name(tr->ema, i)), *e = tt_params_at(tr->ema, i);
        tt_tensor *live = p ? tt_clone(p) : NULL;
        rc = !live || tt_copy_(p, e) || tt_copy_(e, live);
        tt_scope_end();
    }
    tt_no_grad_end();
    return rc ? vr_fail("swapping the EMA weights in for validation: %s", tt_last_error()) : 0;
}

/* Validation of the EMA weights (train/validate.h) on every rank; rank 0 logs it as its own
 * metrics line {"step": N, "val_loss": ...}. It changes no training state: the weights are swapped
 * back bit for bit and the step's generators are seeded from the step, so a resumed run is the
 * same with or without it. */
static int validate(trainer *tr) {
    vr_val_result r;
    int rc = swap_ema(tr);
    if (!rc) {
        rc = vr_validate(&tr->model, &tr->d, &tr->val, &r);
        if (swap_ema(tr)) rc = -1;
    }
    if (rc) return fatal(tr);
    if (tr->d.rank == 0) {
        char buf[4096];
        vr_val_json(&r, buf, sizeof buf);
        fprintf(tr->metrics, "{\"step\": %" PRId64 ", %s}\n", tr->step, buf);
        if (fflush(tr->metrics)) {
            vr_fail("%s/metrics.jsonl: %s", tr->run_dir, strerror(errno));
            return fatal(tr);
        }
        if (r.n_sampled)
            VR_INFO("step %" PRId64 ": val loss %.4g (%" PRId64 " clips), latent FD free %.3g / teacher-forced %.3g "
                    "(%" PRId64 " clips)",
                    tr->step, r.loss, r.n_loss, r.sample[VR_VAL_FREE].fd, r.sample[VR_VAL_TEACHER].fd, r.n_sampled);
        else
            VR_INFO("step %" PRId64 ": val loss %.4g (%" PRId64 " clips)", tr->step, r.loss, r.n_loss);
    }
    return 0;
}

static int checkpoint(trainer *tr) {
    int rc = 0;
    if (tr->d.rank == 0) {
        vr_ckpt_state st = {.step = tr->step, .world_size = tr->d.world};
        vr_loader_get_state(tr->loader, &st.loader);
        snprintf(st.model_kind, sizeof st.model_kind, "%s", tr->model.ops->kind);
        /* the metrics up to this step must survive whatever comes next */
        if (fflush(tr->metrics) || fsync(fileno(tr->metrics)))
            rc = vr_fail("%s/metrics.jsonl: %s", tr->run_dir, strerror(errno));
        if (!rc)
            rc = vr_ckpt_write(tr->run_dir, &st, tr->model.params, tr->ema, tr->opt->state, tr->config_json,
                               tr->keep_last);
        if (rc) report(tr, vr_error());
    }
    /* the other ranks wait here: a failed write stops everyone */
    int flag = rc != 0;
    if (vr_dist_max_i32(&tr->d, &flag, 1)) return fatal(tr);
    return flag ? -1 : 0;
}

static int train_loop(trainer *tr) {
    int64_t first = tr->step;
    if (tr->d.rank == 0) tr->bar = vr_progress_begin("train", tr->steps - first, "steps");
    tr->t_start = vr_now();
    if (tr->val_every && tr->step == 0 && validate(tr)) return -1; /* the starting point of the curve */
    while (tr->step < tr->steps) {
        double t0 = vr_now(), stats[N_STATS] = {0}, bad_loss = 0;
        int64_t epoch = 0;
        double lr = vr_lr_at(tr->step, tr->steps, tr->warmup, tr->lr, tr->min_lr_ratio);
        tr->ids_len = 0;
        tr->ids[0] = 0;
        int rc = forward_backward(tr, stats, &bad_loss, &epoch);
        if (rc < 0) return fatal(tr);
        stats[ST_BAD] = rc;
        if (vr_dist_sum_f64(&tr->d, stats, N_STATS)) return fatal(tr);
        if (stats[ST_BAD] > 0) {
            report_nonfinite(tr, bad_loss, rc, -1, 0);
            return -1;
        }
        /* average the gradients: sum over ranks, then / N */
        vr_optim *o = tr->opt;
        if (tr->hk.nan_kind == 2 && tr->hk.nan_step == tr->step + 1 && tr->hk.nan_rank == tr->d.rank)
            o->grad[o->offset[o->n - 1]] = NAN;
        double t_comm = vr_now();
        if (vr_dist_max_i32(&tr->d, o->has_grad, o->n) ||
            vr_dist_sum_f32(&tr->d, o->grad, o->offset[o->n], tr->bucket_bytes))
            return fatal(tr);
        t_comm = vr_now() - t_comm;
        vr_optim_scale_grads(o, 1.0 / tr->d.world);
        double norm = vr_optim_grad_norm(o);
        if (!isfinite(norm)) {
            report_nonfinite(tr, 0, 0, vr_optim_first_nonfinite(o), norm);
            return -1;
        }
        double coef = vr_clip_coef(norm, tr->grad_clip);
        vr_optim_scale_grads(o, coef);
        if (vr_optim_step(o, lr) || vr_ema_update(tr->ema, tr->model.params, tr->ema_decay)) return fatal(tr);
        tr->step++;
        if (tr->d.rank == 0) {
            if (write_metrics(tr, stats, lr, norm, coef, vr_now() - t0, t_comm, epoch)) return fatal(tr);
            char extra[96];
            snprintf(extra, sizeof extra, "step %" PRId64 "  loss %.4g  lr %.3g", tr->step,
                     stats[ST_LOSS] / ((double)tr->d.world * tr->accum), lr);
            vr_progress_update(tr->bar, tr->step - first, extra);
        }
        if (tr->val_every && (tr->step % tr->val_every == 0 || tr->step == tr->steps) && validate(tr)) return -1;
        if ((tr->step % tr->ckpt_every == 0 || tr->step == tr->steps) && checkpoint(tr)) return -1;
        if (tr->hk.kill_step == tr->step) {
            fprintf(stderr, "[vrobin] test hook: SIGKILL after step %" PRId64 "\n", tr->step);
            raise(SIGKILL);
        }
    }
    end_bar(tr);
    return 0;
}

static void cleanup(trainer *tr) {
    end_bar(tr);
    if (tr->metrics) fclose(tr->metrics);
    vr_loader_close(tr->loader);
    vr_optim_free(tr->opt);
    tt_params_free(tr->ema);
    if (tr->have_model) vr_model_destroy(&tr->model);
    cfg_free(tr->c);
    free(tr->run_dir);
    free(tr->config_json);
    free(tr->resume_from);
    free(tr->val_paths);
}

int vr_cmd_train(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    trainer tr;
    memset(&tr, 0, sizeof tr);
    if (vr_dist_init(&tr.d)) {
        fprintf(stderr, "vrobin train: %s\n", vr_error());
        return 1;
    }
    vr_log_set_rank(tr.d.rank, tr.d.world);
    parse_hooks(&tr);
    int rc = load_config(&tr, argc, argv);
    if (rc == 0) {
        rc = setup(&tr) ? 1 : 0;
        if (rc == 0) {
            int64_t first = tr.step;
            double t0 = vr_now();
            if (tr.step >= tr.steps)
                VR_INFO("%s is already at step %" PRId64 " of %" PRId64 ": nothing to do", tr.run_dir, tr.step,
                        tr.steps);
            else
                rc = train_loop(&tr) ? 1 : 0;
            double dt = vr_now() - t0;
            if (rc == 0 && tr.step > first)
                VR_INFO("trained steps %" PRId64 "..%" PRId64 " in %.1f s (%.3g steps/s, %.4g samples/s); run: %s",
                        first + 1, tr.step, dt, (double)(tr.step - first) / dt,
                        (double)(tr.step - first) * tr.batch / dt, tr.run_dir);
        }
    }
    cleanup(&tr);
    vr_dist_finalize(&tr.d);
    return rc;
}
