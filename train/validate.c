/* validate.c — validation loss and the free vs teacher-forced sample check (validate.h). */
#include "train/validate.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "data/loader.h"
#include "eval/dist.h"
#include "infer/generate.h"
#include "models/nn.h"
#include "models/robin.h"

/* Sums of the frame features of one set in one segment: n, Σf [D], Σffᵀ [D*D], laid out flat so
 * that all of them are added over ranks in one call. A frame's feature is [x_t | x_t - x_{t-1}]
 * (D = 2M): the frame and its change, so that dynamics count, not only the marginal of single frames
 * (the eval's mel backbone also reads the first difference; a jittery sample with the right frames
 * would look perfect on frames alone). */
enum { SET_REAL, SET_EVEN, SET_ODD, SET_MODE0, N_SETS = SET_MODE0 + VR_VAL_N_MODES }; /* generation g: SET_MODE0 + g */

const char *const vr_val_mode_name[VR_VAL_N_MODES] = {"free", "teacher", "teach_planner", "teach_ctx", "no_ctx"};
#define N_CELLS (N_SETS * VR_VAL_SEGMENTS)

static int64_t cell_size(int D) { return 1 + D + (int64_t)D * D; }
/* where the sums of `set` in segment s start, for features of dimension D */
static int64_t cell_at(int D, int set, int s) { return (set * VR_VAL_SEGMENTS + s) * cell_size(D); }

/* Adds the features of frames 1..T-1 of one clip x [T][M] to set `set`: frame t into segment t * S / T. */
static void accumulate(double *acc, int M, int set, const float *x, int64_t T) {
    int D = 2 * M;
    double f[D];
    for (int64_t t = 1; t < T; t++) {
        double *cell = acc + cell_at(D, set, (int)(t * VR_VAL_SEGMENTS / T));
        for (int i = 0; i < M; i++) {
            f[i] = x[t * M + i];
            f[M + i] = (double)x[t * M + i] - x[(t - 1) * M + i];
        }
        cell[0] += 1;
        for (int i = 0; i < D; i++) {
            cell[1 + i] += f[i];
            double *row = cell + 1 + D + (int64_t)i * D;
            for (int j = 0; j < D; j++) row[j] += f[i] * f[j];
        }
    }
}

/* Mean and unbiased covariance from the sums of segments [s0, s1) of `set`. */
static int stats_of(const double *acc, int M, int set, int s0, int s1, vr_dist_stats *st) {
    int D = 2 * M;
    st->d = D;
    st->n = 0;
    st->mu = calloc((size_t)D, sizeof *st->mu);
    st->sigma = calloc((size_t)D * D, sizeof *st->sigma);
    if (!st->mu || !st->sigma) return vr_fail("validate: out of memory");
    double n = 0;
    for (int s = s0; s < s1; s++) {
        const double *cell = acc + cell_at(D, set, s);
        n += cell[0];
        for (int i = 0; i < D; i++) st->mu[i] += cell[1 + i];
        for (int64_t k = 0; k < (int64_t)D * D; k++) st->sigma[k] += cell[1 + D + k];
    }
    if (n < 2) return vr_fail("validate: %.0f latent frames in a set; need at least 2", n);
    st->n = (int64_t)n;
    for (int i = 0; i < D; i++) st->mu[i] /= n;
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) st->sigma[i * D + j] = (st->sigma[i * D + j] - n * st->mu[i] * st->mu[j]) / (n - 1);
    return 0;
}

/* Frames summed into `set` over all segments. */
static double frames_in(const double *acc, int M, int set) {
    double n = 0;
    for (int s = 0; s < VR_VAL_SEGMENTS; s++) n += acc[cell_at(2 * M, set, s)];
    return n;
}

/* Mean squared frame change Σ_i E[dx_i²] of `set` over all segments. */
static double mean_sq_change(const double *acc, int M, int set) {
    int D = 2 * M;
    double n = 0, sq = 0;
    for (int s = 0; s < VR_VAL_SEGMENTS; s++) {
        const double *cell = acc + cell_at(D, set, s);
        n += cell[0];
        for (int i = M; i < D; i++) sq += cell[1 + D + (int64_t)i * D + i];
    }
    return n > 0 ? sq / n : NAN;
}

/* Mean over channels [lo, hi) of (mean of `set` - mean of the real frames), frame part only. */
static double mean_offset(const double *acc, int M, int set, int lo, int hi) {
    int D = 2 * M;
    double n[2] = {0}, sum = 0;
    for (int k = 0; k < 2; k++) {
        const int which = k ? SET_REAL : set;
        double tot = 0;
        for (int s = 0; s < VR_VAL_SEGMENTS; s++) {
            const double *cell = acc + cell_at(D, which, s);
            n[k] += cell[0];
            for (int i = lo; i < hi; i++) tot += cell[1 + i];
        }
        sum += (k ? -1 : 1) * tot / n[k];
    }
    return hi > lo ? sum / (hi - lo) : NAN;
}

static int fd_between(const double *acc, int M, int set1, int set2, int s0, int s1, double *out) {
    vr_dist_stats a = {0}, b = {0};
    int rc = stats_of(acc, M, set1, s0, s1, &a) || stats_of(acc, M, set2, s0, s1, &b) || vr_fad(&a, &b, out, NULL);
    vr_dist_stats_free(&a);
    vr_dist_stats_free(&b);
    return rc ? -1 : 0;
}

/* The generations of one batch's clips (vr_val_result.n_modes); their frames and the real ones go into acc. */
static int sample_batch(vr_model *m, const vr_batch *b, const vr_val_opts *o, int n_modes, double *acc, int M) {
    int rc = -1;
    tt_gen **gens = calloc((size_t)b->B, sizeof *gens);
    float *host = malloc(sizeof *host * (size_t)b->T * M * b->B);
    if (!gens || !host) {
        free(gens);
        free(host);
        return vr_fail("validate: out of memory");
    }
    tt_no_grad_begin();
    tt_scope_begin();
    tt_tensor *real = model_normalised_audio(m, b, "validate"); /* [B,T,M] */
    if (!real || tt_to_data(real, host, sizeof *host * (size_t)b->T * M * b->B)) goto done;
    /* the real frames by clip parity; SET_REAL is their sum, made once after the last batch */
    for (int i = 0; i < b->B; i++)
        accumulate(acc, M, b->clip[i] % 2 ? SET_ODD : SET_EVEN, host + (int64_t)i * b->T * M, b->T);
    for (int mode = 0; mode < n_modes; mode++) {
        for (int i = 0; i < b->B; i++) { /* the same noise in every generation */
            tt_gen_free(gens[i]);
            if (!(gens[i] = tt_gen_new(vr_gen_clip_seed(o->seed, b->id[i])))) goto done;
        }
        robin_gen_opts go = {.steps = o->steps,
                             .cfg_scale = o->cfg_scale,
                             .clip_gens = gens,
                             .dit_threads = o->dit_threads,
                             .teacher = mode == VR_VAL_FREE || mode == VR_VAL_NO_CTX ? NULL : real,
                             .teacher_to = mode == VR_VAL_TEACH_PLANNER ? ROBIN_TEACH_PLANNER
                                           : mode == VR_VAL_TEACH_CTX  ? ROBIN_TEACH_DIT_CTX
                                                                       : ROBIN_TEACH_BOTH,
                             .no_dit_ctx = mode == VR_VAL_NO_CTX};
        tt_tensor *x = robin_generate(m, b, &go, NULL, NULL);
        if (!x || tt_to_data(x, host, sizeof *host * (size_t)b->T * M * b->B)) goto done;
        for (int i = 0; i < b->B; i++)
            accumulate(acc, M, SET_MODE0 + mode, host + (int64_t)i * b->T * M, b->T);
    }
    rc = 0;
done:
    if (rc && tt_last_error()[0]) vr_fail("validate: sampling clips %s..: %s", b->id[0], tt_last_error());
    tt_scope_end();
    tt_no_grad_end();
    for (int i = 0; i < b->B; i++) tt_gen_free(gens[i]);
    free(gens);
    free(host);
    return rc;
}

/* One batch's loss (times its clips, so that ranks and batches add up). */
static int loss_batch(vr_model *m, const vr_batch *b, int64_t index, const vr_val_opts *o, double *sum,
                      vr_val_result *r) {
    tt_gen *g = tt_gen_new(o->seed ^ (uint64_t)index * 0x9e3779b97f4a7c15ULL);
    if (!g) return vr_fail("validate: %s", tt_last_error());
    vr_loss_parts parts = {0};
    double v = 0;
    tt_no_grad_begin();
    tt_scope_begin();
    tt_clear_error();
    tt_tensor *loss = o->no_history ? robin_loss_no_history(m, b, &parts) : m->ops->loss(m, b, 0, g, &parts);
    int rc = !loss || tt_item(loss, &v);
    tt_scope_end();
    tt_no_grad_end();
    tt_gen_free(g);
    if (rc)
        return tt_last_error()[0]
                   ? vr_fail("validate: %s loss on clips %s..: %s", m->ops->kind, b->id[0], tt_last_error())
                   : vr_context("validate: %s loss on clips %s..", m->ops->kind, b->id[0]);
    sum[0] += v * b->B;
    r->n_parts = parts.n < VR_MAX_LOSS_PARTS ? parts.n : VR_MAX_LOSS_PARTS;
    for (int i = 0; i < r->n_parts; i++) {
        r->part_name[i] = parts.name[i];
        sum[1 + i] += parts.value[i] * b->B;
    }
    return 0;
}

/* Sums over ranks; a failure on any rank fails all of them. */
static int agree_sum(const vr_dist *d, int failed, double *buf, int64_t n) {
    int flag = failed;
    if (d && d->world > 1) {
        if (vr_dist_max_i32(d, &flag, 1)) return -1;
        if (flag) return failed ? -1 : vr_fail("validate: another rank failed (its message is above)");
        for (int64_t at = 0; at < n; at += 1 << 20) {
            int len = (int)(n - at < (1 << 20) ? n - at : (1 << 20));
            if (vr_dist_sum_f64(d, buf + at, len)) return -1;
        }
    }
    return flag ? -1 : 0;
}

int vr_validate(vr_model *m, const vr_dist *d, const vr_val_opts *o, vr_val_result *r) {
    memset(r, 0, sizeof *r);
    r->fd_real_split = NAN;
    for (int g = 0; g < VR_VAL_N_MODES; g++) {
        vr_val_sample *v = &r->sample[g];
        v->fd = v->dx_ratio = NAN;
        for (int s = 0; s < VR_VAL_SEGMENTS; s++) v->fd_seg[s] = NAN;
        for (int k = 0; k < 3; k++) v->offset[k] = NAN;
    }
    r->n_modes = o->feedback_split ? VR_VAL_N_MODES : 2;
    r->no_history = o->no_history;
    int world = d ? d->world : 1, rank = d ? d->rank : 0;
    int is_robin = m->ops == &robin_ops;
    if (o->no_history && !is_robin)
        return vr_fail("validate: the loss without history (--no-history) needs a Video-Robin model (model.kind robin), "
                       "not '%s'",
                       m->ops->kind);
    if (o->n_shards < 1) return vr_fail("validate: no validation shards given");
    if (o->batch < world || o->batch % world)
        return vr_fail("validate: the batch (%d clips) must be a positive multiple of the ranks (%d)", o->batch, world);
    if (o->max_clips < 0 || o->sample_clips < 0)
        return vr_fail("validate: max_clips and sample_clips must be >= 0 (got %d, %d)", o->max_clips, o->sample_clips);
    vr_loader_opts lo;
    vr_loader_opts_default(&lo);
    lo.batch_size = o->batch / world, lo.rank = rank, lo.world_size = world, lo.seed = o->seed;
    lo.frames = o->frames;
    vr_loader *l = vr_loader_open(o->shards, o->n_shards, &lo);
    if (!l) return vr_context("validate: %s", o->shards[0]);
    int64_t n_batches = vr_loader_batches_per_epoch(l);
    if (o->max_clips && o->max_clips / o->batch < n_batches) n_batches = o->max_clips / o->batch;
    int64_t n_sample = is_robin ? (o->sample_clips + o->batch - 1) / o->batch : 0;
    if (n_batches < 1) {
        int64_t n_clips = vr_loader_n_clips(l);
        vr_loader_close(l);
        return vr_fail("validate: %s: %" PRId64 " clips make no whole batch of %d (max_clips %d)", o->shards[0],
                       n_clips, o->batch, o->max_clips);
    }
    if (n_sample > vr_loader_batches_per_epoch(l)) n_sample = vr_loader_batches_per_epoch(l);
    int M = vr_loader_info(l)->D;
    int64_t n_acc = (int64_t)N_CELLS * cell_size(2 * M);
    double *acc = n_sample ? calloc((size_t)n_acc, sizeof *acc) : NULL, sum[1 + VR_MAX_LOSS_PARTS] = {0};
    int rc = n_sample && !acc ? vr_fail("validate: out of memory") : 0;
    int64_t last = n_batches > n_sample ? n_batches : n_sample;
    for (int64_t j = 0; j < last && !rc; j++) {
        vr_batch b;
        if (vr_loader_next(l, &b)) {
            rc = -1;
            break;
        }
        if (j < n_batches) rc = loss_batch(m, &b, j, o, sum, r);
        if (!rc && j < n_sample) rc = sample_batch(m, &b, o, r->n_modes, acc, M);
    }
    vr_loader_close(l);
    if (agree_sum(d, rc != 0, sum, 1 + VR_MAX_LOSS_PARTS) || (n_sample && agree_sum(d, 0, acc, n_acc))) {
        free(acc);
        return -1;
    }
    r->n_loss = n_batches * o->batch;
    r->loss = sum[0] / (double)r->n_loss;
    for (int i = 0; i < r->n_parts; i++) r->part[i] = sum[1 + i] / (double)r->n_loss;
    if (n_sample) {
        double *real = acc + cell_at(2 * M, SET_REAL, 0); /* a set's segments lie back to back */
        const double *even = acc + cell_at(2 * M, SET_EVEN, 0), *odd = acc + cell_at(2 * M, SET_ODD, 0);
        for (int64_t k = 0; k < VR_VAL_SEGMENTS * cell_size(2 * M); k++) real[k] = even[k] + odd[k];
        r->n_sampled = n_sample * o->batch;
        double real_sq = mean_sq_change(acc, M, SET_REAL);
        for (int g = 0; g < r->n_modes && !rc; g++) {
            vr_val_sample *v = &r->sample[g];
            int set = SET_MODE0 + g;
            rc = fd_between(acc, M, SET_REAL, set, 0, VR_VAL_SEGMENTS, &v->fd);
            for (int s = 0; s < VR_VAL_SEGMENTS && !rc; s++)
                rc = fd_between(acc, M, SET_REAL, set, s, s + 1, &v->fd_seg[s]);
            v->dx_ratio = mean_sq_change(acc, M, set) / real_sq;
            for (int k = 0; k < 3; k++) v->offset[k] = mean_offset(acc, M, set, k * M / 3, (k + 1) * M / 3);
        }
        /* needs frames of both parities, as stats_of does (the sampled clips' indices may all be even) */
        if (!rc && frames_in(acc, M, SET_EVEN) >= 2 && frames_in(acc, M, SET_ODD) >= 2)
            rc = fd_between(acc, M, SET_EVEN, SET_ODD, 0, VR_VAL_SEGMENTS, &r->fd_real_split);
    }
    free(acc);
    return rc ? -1 : 0;
}

int vr_val_json(const vr_val_result *r, char *buf, size_t cap) {
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(buf + (n < cap ? n : cap), n < cap ? cap - n : 0, __VA_ARGS__)
    PUT("\"val_loss\": %.17g, \"val_clips\": %" PRId64, r->loss, r->n_loss);
    if (r->no_history) PUT(", \"val_no_history\": true"); /* only vrobin validate --no-history sets it */
    for (int i = 0; i < r->n_parts; i++) PUT(", \"val_%s\": %.17g", r->part_name[i], r->part[i]);
    if (r->n_sampled) {
        PUT(", \"val_sampled\": %" PRId64, r->n_sampled);
        if (!isnan(r->fd_real_split)) PUT(", \"val_fd_real_split\": %.9g", r->fd_real_split);
        static const char *const third[3] = {"low", "mid", "high"};
        for (int g = 0; g < r->n_modes; g++) {
            const vr_val_sample *v = &r->sample[g];
            const char *name = vr_val_mode_name[g];
            PUT(", \"val_fd_%s\": %.9g, \"val_dx_ratio_%s\": %.9g", name, v->fd, name, v->dx_ratio);
            for (int k = 0; k < 3; k++) PUT(", \"val_offset_%s_%s\": %.6g", third[k], name, v->offset[k]);
            for (int s = 0; s < VR_VAL_SEGMENTS; s++) PUT(", \"val_fd_%s_seg%d\": %.9g", name, s, v->fd_seg[s]);
        }
    }
#undef PUT
    return (int)n;
}

/* ---- vrobin validate ---- */

static void usage(FILE *out) {
    fprintf(out, "usage: vrobin validate --model MODEL.safetensors --shards VAL.h5[,VAL2.h5...] [--batch 8]\n"
                 "                       [--max-clips 64] [--sample-clips 16] [--steps 10] [--cfg-scale S]\n"
                 "                       [--dit-threads 1] [--seed 1] [--feedback-split] [--no-history]\n"
                 "                       [--json OUT.json]\n\n"
                 "The loss of an export on held-out shards (training-time randomness off, draws seeded per\n"
                 "clip) and, for Video-Robin models, the Fréchet distance of sampled latent frames to the\n"
                 "same clips' real frames, sampled freely and teacher-forced (the real previous patch fed\n"
                 "back), over the clip and per quarter of it. Free >> teacher-forced: the model is hurt by\n"
                 "its own feedback (exposure bias). --feedback-split adds three generations that tell which\n"
                 "path carries the drift: the real previous patch to the planner only, to LocDiT's context\n"
                 "only, and a free run without LocDiT's context. --no-history: the loss with every clip's\n"
                 "history hidden (zeros, as model.hist_dropout hides it), so it measures what the text and\n"
                 "video alone predict; compare it on shards with swapped captions to see whether the\n"
                 "caption is read. --sample-clips 0 skips sampling. Prints Markdown tables.\n");
}

static int parse_int(const char *flag, const char *v, int lo, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || end == v || x < lo || x > 1000000) {
        fprintf(stderr, "vrobin validate: %s %s: expected an integer >= %d\n", flag, v, lo);
        return -1;
    }
    *out = (int)x;
    return 0;
}

static void print_table(const vr_val_result *r, const char *model) {
    printf("| %s | value |\n|---|---:|\n", model);
    printf("| val loss (%" PRId64 " clips%s) | %.5f |\n", r->n_loss, r->no_history ? ", history hidden" : "",
           r->loss);
    for (int i = 0; i < r->n_parts; i++) printf("| val %s | %.5f |\n", r->part_name[i], r->part[i]);
    if (!isnan(r->fd_real_split)) printf("| FD real even vs odd clips (scale) | %.4f |\n", r->fd_real_split);
    if (!r->n_sampled) return;
    /* one column per generation: what the previous patch given to each patch was */
    static const char *const head[VR_VAL_N_MODES] = {"free", "teacher-forced", "real to planner only",
                                                     "real to LocDiT context only", "free, no LocDiT context"};
    printf("\n| %" PRId64 " sampled clips |", r->n_sampled);
    for (int g = 0; g < r->n_modes; g++) printf(" %s |", head[g]);
    printf("\n|---|");
    for (int g = 0; g < r->n_modes; g++) printf("---:|");
    printf("\n| FD to the real frames |");
    for (int g = 0; g < r->n_modes; g++) printf(" %.4f |", r->sample[g].fd);
    for (int s = 0; s < VR_VAL_SEGMENTS; s++) {
        printf("\n| FD, quarter %d |", s + 1);
        for (int g = 0; g < r->n_modes; g++) printf(" %.4f |", r->sample[g].fd_seg[s]);
    }
    printf("\n| frame change vs real |");
    for (int g = 0; g < r->n_modes; g++) printf(" %.3f |", r->sample[g].dx_ratio);
    printf("\n| mean offset, low / mid / high channels |");
    for (int g = 0; g < r->n_modes; g++) {
        const double *o = r->sample[g].offset;
        printf(" %+.3f / %+.3f / %+.3f |", o[0], o[1], o[2]);
    }
    printf("\n");
}

int vr_cmd_validate(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *model = NULL, *shards = NULL, *json = NULL;
    vr_val_opts o = {.batch = 8, .max_clips = 64, .sample_clips = 16, .steps = 10, .dit_threads = 1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, seed = 1;
        if (!strcmp(a, "--feedback-split")) { /* the two flags without a value */
            o.feedback_split = 1;
            continue;
        }
        if (!strcmp(a, "--no-history")) {
            o.no_history = 1;
            continue;
        }
        if (!v)
            bad = 1;
        else if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--shards"))
            shards = v;
        else if (!strcmp(a, "--json"))
            json = v;
        else if (!strcmp(a, "--batch"))
            bad = parse_int(a, v, 1, &o.batch) ? 2 : 0;
        else if (!strcmp(a, "--max-clips"))
            bad = parse_int(a, v, 0, &o.max_clips) ? 2 : 0;
        else if (!strcmp(a, "--sample-clips"))
            bad = parse_int(a, v, 0, &o.sample_clips) ? 2 : 0;
        else if (!strcmp(a, "--steps"))
            bad = parse_int(a, v, 1, &o.steps) ? 2 : 0;
        else if (!strcmp(a, "--dit-threads"))
            bad = parse_int(a, v, 1, &o.dit_threads) ? 2 : 0;
        else if (!strcmp(a, "--seed")) {
            bad = parse_int(a, v, 0, &seed) ? 2 : 0;
            o.seed = (uint64_t)seed;
        } else if (!strcmp(a, "--cfg-scale")) {
            char *end;
            o.cfg_scale = strtod(v, &end);
            if (*end || end == v || !(o.cfg_scale > 0)) {
                fprintf(stderr, "vrobin validate: --cfg-scale %s: expected a number > 0\n", v);
                bad = 2;
            }
        } else
            bad = 1;
        if (bad == 1) {
            fprintf(stderr, "vrobin validate: unexpected argument '%s'%s\n\n", a, v ? "" : " (missing its value?)");
            usage(stderr);
        }
        if (bad) return 2;
        i++;
    }
    if (!model || !shards) {
        fprintf(stderr, "vrobin validate: missing %s\n\n", !model ? "--model" : "--shards");
        usage(stderr);
        return 2;
    }
    char *list = strdup(shards), *paths[64];
    if (!list) return 1;
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p && o.n_shards < 64; p = strtok_r(NULL, ",", &save))
        paths[o.n_shards++] = p;
    o.shards = paths;
    vr_generator g = {0};
    vr_val_result r;
    int rc = 0;
    if (vr_generator_load(&g, model))
        rc = 1;
    else if (g.m.ops->loss == NULL)
        rc = (vr_fail("%s: model kind '%s' has no loss", model, g.m.ops->kind), 1);
    else {
        VR_INFO("validate %s on %s: loss over up to %d clips, %d clips sampled at %d steps", model, shards, o.max_clips,
                g.m.ops == &robin_ops ? o.sample_clips : 0, o.steps);
        if (g.m.ops != &robin_ops) o.sample_clips = 0;
        o.frames = cfg_bool(g.c, "train.load_frames");
        rc = vr_validate(&g.m, NULL, &o, &r) ? 1 : 0;
    }
    if (!rc) {
        print_table(&r, model);
        if (json) {
            char buf[4096], line[8192];
            vr_val_json(&r, buf, sizeof buf);
            /* the path as a JSON string (quotes and backslashes escaped) */
            cJSON *name = cJSON_CreateString(model);
            char *quoted = name ? cJSON_PrintUnformatted(name) : NULL;
            int n = quoted ? snprintf(line, sizeof line, "{\"model\": %s, %s}\n", quoted, buf) : -1;
            cJSON_free(quoted);
            cJSON_Delete(name);
            /* temp name + rename, like every writer here: no half-written result */
            if (n < 0 || (size_t)n >= sizeof line || vr_write_file_atomic(json, line, (size_t)n)) {
                if (n < 0) vr_fail("%s: out of memory", json);
                else if ((size_t)n >= sizeof line) vr_fail("%s: the model path is too long for the result", json);
                rc = 1;
            }
        }
    }
    if (rc) fprintf(stderr, "vrobin: %s\n", vr_error()); /* vr_validate's messages start with "validate:" */
    vr_generator_free(&g);
    free(list);
    return rc;
}
