/* optim.c — see optim.h. The update follows torch.optim.AdamW's single-tensor path op by op, in
 * its order: on the host as one pass per parameter (torch's path makes ten passes over the
 * parameter and its moments; the update is memory-bound), elsewhere (CUDA) as the same ATen
 * in-place ops. Results agree with PyTorch to float round-off (tests/python/train_reference.py). */
#define _GNU_SOURCE
#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static tt_tensor *zeros_like(const tt_tensor *t) {
    int64_t shape[16];
    int nd = tt_shape(t, shape, 16);
    if (nd < 0 || nd > 16) return tt_fail("tensor with %d dims", nd);
    return tt_zeros(shape, nd, TT_F32);
}

vr_optim *vr_optim_new(tt_params *params, const vr_adamw_opts *opts) {
    vr_optim *o = calloc(1, sizeof *o);
    int n = tt_params_count(params);
    if (!o) return vr_fail_null("out of memory");
    o->params = params, o->n = n, o->opts = *opts;
    o->state = tt_params_new();
    o->m = calloc((size_t)n + 1, sizeof *o->m);
    o->v = calloc((size_t)n + 1, sizeof *o->v);
    o->t = calloc((size_t)n + 1, sizeof *o->t);
    o->count = calloc((size_t)n + 1, sizeof *o->count);
    o->offset = calloc((size_t)n + 1, sizeof *o->offset);
    o->has_grad = calloc((size_t)n + 1, sizeof *o->has_grad);
    if (!o->state || !o->m || !o->v || !o->t || !o->count || !o->offset || !o->has_grad) {
        vr_optim_free(o);
        return vr_fail_null("out of memory");
    }
    for (int i = 0; i < n; i++) {
        const char *name = tt_params_name(params, i);
        tt_tensor *p = tt_params_at(params, i);
        if (tt_dtype_of(p) != TT_F32) {
            vr_fail("parameter '%s' is %s; the optimiser keeps float32 master weights", name,
                    tt_dtype_name(tt_dtype_of(p)));
            vr_optim_free(o);
            return NULL;
        }
        o->offset[i + 1] = o->offset[i] + tt_numel(p);
        char key[512];
        snprintf(key, sizeof key, "exp_avg.%s", name);
        o->m[i] = tt_params_add(o->state, key, zeros_like(p));
        snprintf(key, sizeof key, "exp_avg_sq.%s", name);
        o->v[i] = tt_params_add(o->state, key, zeros_like(p));
        snprintf(key, sizeof key, "step.%s", name);
        o->t[i] = tt_params_add(o->state, key, tt_scalar(0, TT_F32));
        if (!o->m[i] || !o->v[i] || !o->t[i] || tt_set_requires_grad(o->m[i], 0) || tt_set_requires_grad(o->v[i], 0) ||
            tt_set_requires_grad(o->t[i], 0)) {
            vr_fail("optimiser state for '%s': %s", name, tt_last_error());
            vr_optim_free(o);
            return NULL;
        }
    }
    o->grad = calloc((size_t)o->offset[n] + 1, sizeof *o->grad);
    if (!o->grad) {
        vr_fail("out of memory for %lld gradient values", (long long)o->offset[n]);
        vr_optim_free(o);
        return NULL;
    }
    return o;
}

void vr_optim_free(vr_optim *o) {
    if (!o) return;
    tt_params_free(o->state);
    free(o->m);
    free(o->v);
    free(o->t);
    free(o->count);
    free(o->offset);
    free(o->grad);
    free(o->has_grad);
    free(o);
}

int vr_optim_gather_grads(vr_optim *o, int accumulate) {
    if (!accumulate) {
        memset(o->grad, 0, (size_t)o->offset[o->n] * sizeof *o->grad);
        memset(o->has_grad, 0, (size_t)o->n * sizeof *o->has_grad);
    }
    int rc = 0;
    tt_scope_begin();
    for (int i = 0; i < o->n && !rc; i++) {
        tt_tensor *p = tt_params_at(o->params, i);
        if (!tt_has_grad(p)) continue;
        size_t len = (size_t)(o->offset[i + 1] - o->offset[i]);
        float *dst = o->grad + o->offset[i];
        tt_tensor *g = tt_grad(p);
        if (g && tt_dtype_of(g) != TT_F32) g = tt_to_dtype(g, TT_F32);
        if (!accumulate || !o->has_grad[i]) {
            rc = g ? tt_to_data(g, dst, len * sizeof *dst) : -1;
        } else {
            float *tmp = malloc(len * sizeof *tmp + 1);
            rc = tmp && g ? tt_to_data(g, tmp, len * sizeof *tmp) : -1;
            for (size_t k = 0; !rc && k < len; k++) dst[k] += tmp[k];
            free(tmp);
        }
        if (rc) vr_fail("reading the gradient of '%s': %s", tt_params_name(o->params, i), tt_last_error());
        o->has_grad[i] = 1;
        if (!rc && tt_zero_grad(p)) rc = vr_fail("dropping the gradient of '%s': %s", tt_params_name(o->params, i),
                                                 tt_last_error());
    }
    tt_scope_end();
    return rc;
}

double vr_optim_grad_norm(const vr_optim *o) {
    /* eight partial sums: independent chains the compiler vectorises (one chain is latency-bound) */
    double part[8] = {0};
    int64_t n = o->offset[o->n], k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++) part[j] += (double)o->grad[k + j] * (double)o->grad[k + j];
    for (; k < n; k++) part[0] += (double)o->grad[k] * (double)o->grad[k];
    double ss = 0;
    for (int j = 0; j < 8; j++) ss += part[j];
    return sqrt(ss);
}

int vr_optim_first_nonfinite(const vr_optim *o) {
    for (int i = 0; i < o->n; i++)
        for (int64_t k = o->offset[i]; k < o->offset[i + 1]; k++)
            if (!isfinite(o->grad[k])) return i;
    return -1;
}

double vr_clip_coef(double norm, double max_norm) {
    if (max_norm <= 0) return 1.0;
    /* torch: clamp(max_norm / (total_norm + 1e-6), max=1), where the division is
     * total_norm.reciprocal() * max_norm, all in float32 */
    float denom = (float)norm + (float)1e-6;
    float coef = (1.0f / denom) * (float)max_norm;
    return coef < 1.0f ? (double)coef : 1.0;
}

void vr_optim_scale_grads(vr_optim *o, double s) {
    if (s == 1.0) return;
    float f = (float)s;
    for (int64_t k = 0; k < o->offset[o->n]; k++) o->grad[k] *= f;
}

/* AdamW on n host floats, torch's single-tensor path per element with its float constants:
 * p *= 1 - lr wd; m = m b1 + (1 - b1) g; v = v b2 + (1 - b2) g g; p += -step m / (sqrt(v) / bc2_sqrt + eps).
 * Compiled with -fno-math-errno (train/train.cmake), so sqrtf is an instruction and the loop
 * vectorises; v >= 0 always, and a NaN gradient is the NaN guard's to catch. */
static void adamw_host(float *restrict p, float *restrict m, float *restrict v, const float *restrict g, int64_t n,
                       float keep, float b1, float one_b1, float b2, float one_b2, float bc2_sqrt, float eps,
                       float neg_step) {
    for (int64_t k = 0; k < n; k++) {
        float mk = m[k] * b1 + one_b1 * g[k], vk = v[k] * b2 + one_b2 * g[k] * g[k];
        m[k] = mk, v[k] = vk;
        p[k] = p[k] * keep + neg_step * mk / (sqrtf(vk) / bc2_sqrt + eps);
    }
}

int vr_optim_step(vr_optim *o, double lr) {
    const vr_adamw_opts *a = &o->opts;
    int rc = 0;
    tt_no_grad_begin();
    for (int i = 0; i < o->n && !rc; i++) {
        if (!o->has_grad[i]) continue;
        double t = (double)++o->count[i];
        double bc1 = 1 - pow(a->beta1, t), bc2 = 1 - pow(a->beta2, t);
        double step_size = lr / bc1, bc2_sqrt = sqrt(bc2);
        tt_tensor *p = tt_params_at(o->params, i);
        float *pd = tt_data_ptr(p), *md = tt_data_ptr(o->m[i]), *vd = tt_data_ptr(o->v[i]);
        if (pd && md && vd) { /* host, contiguous: one pass */
            adamw_host(pd, md, vd, o->grad + o->offset[i], o->offset[i + 1] - o->offset[i],
                       (float)(1 - lr * a->weight_decay), (float)a->beta1, (float)(1 - a->beta1), (float)a->beta2,
                       (float)(1 - a->beta2), (float)bc2_sqrt, (float)a->eps, (float)-step_size);
            if (tt_fill_(o->t[i], t)) rc = vr_fail("AdamW step count of '%s': %s", tt_params_name(o->params, i),
                                                   tt_last_error());
            continue;
        }
        tt_scope_begin();
        int64_t shape[16];
        int nd = tt_shape(p, shape, 16);
        tt_tensor *g = tt_from_data(o->grad + o->offset[i], TT_F32, shape, nd);
        rc = !g || tt_fill_(o->t[i], t) || tt_mul_scalar_(p, 1 - lr * a->weight_decay) ||
             tt_mul_scalar_(o->m[i], a->beta1) || tt_add_(o->m[i], g, 1 - a->beta1) ||
             tt_mul_scalar_(o->v[i], a->beta2) || tt_addcmul_(o->v[i], g, g, 1 - a->beta2);
        tt_tensor *denom = rc ? NULL : tt_add_scalar(tt_div(tt_sqrt(o->v[i]), tt_scalar(bc2_sqrt, TT_F32)), a->eps);
        if (!rc) rc = !denom || tt_addcdiv_(p, o->m[i], denom, -step_size);
        if (rc) vr_fail("AdamW update of '%s': %s", tt_params_name(o->params, i), tt_last_error());
        tt_scope_end();
    }
    tt_no_grad_end();
    return rc ? -1 : 0;
}

int vr_optim_state_loaded(vr_optim *o) {
    for (int i = 0; i < o->n; i++) {
        double t = 0;
        if (tt_item(o->t[i], &t))
            return vr_fail("optimiser step of '%s': %s", tt_params_name(o->params, i), tt_last_error());
        if (!(t >= 0) || t != floor(t))
            return vr_fail("optimiser step of '%s' is %g, not a count", tt_params_name(o->params, i), t);
        o->count[i] = (int64_t)t;
    }
    return 0;
}

double vr_lr_at(int64_t s, int64_t total, int64_t warmup, double lr, double min_lr_ratio) {
    if (s < warmup) return lr * (double)(s + 1) / (double)warmup;
    double span = (double)(total > warmup ? total - warmup : 1);
    double progress = (double)(s - warmup) / span;
    if (progress > 1) progress = 1;
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + cos(M_PI * progress)));
}

tt_params *vr_ema_new(const tt_params *params) {
    tt_params *e = tt_params_new();
    if (!e) return vr_fail_null("out of memory");
    int rc = 0;
    tt_scope_begin(); /* frees the detached views; the clones move into the registry */
    for (int i = 0; i < tt_params_count(params) && !rc; i++) {
        tt_tensor *c = tt_clone(tt_detach(tt_params_at(params, i)));
        tt_tensor *t = c ? tt_params_add(e, tt_params_name(params, i), c) : NULL;
        if (!t || tt_set_requires_grad(t, 0))
            rc = vr_fail("EMA copy of '%s': %s", tt_params_name(params, i), tt_last_error());
    }
    tt_scope_end();
    if (rc) {
        tt_params_free(e);
        return NULL;
    }
    return e;
}

int vr_ema_update(tt_params *ema, const tt_params *params, double decay) {
    for (int i = 0; i < tt_params_count(params); i++)
        if (tt_lerp_(tt_params_at(ema, i), tt_params_at(params, i), 1 - decay))
            return vr_fail("EMA update of '%s': %s", tt_params_name(params, i), tt_last_error());
    return 0;
}
