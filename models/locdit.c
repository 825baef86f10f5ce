/* locdit.c — see locdit.h. */
#include "models/locdit.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int zero_linear(nn_linear *l, tt_params *p, const char *name, int in, int out, tt_gen *g) {
    if (nn_linear_init(l, p, name, in, out, 1, g)) return -1;
    return tt_zero_(l->w);
}

static tt_tensor *add_normal(tt_params *p, const char *name, const int64_t *shape, int ndim, tt_gen *g) {
    tt_tensor *t = tt_randn(g, shape, ndim, TT_F32);
    if (t) tt_mul_scalar_(t, 0.02);
    return tt_params_add(p, name, t);
}

int dit_block_init(dit_block *b, tt_params *p, const char *prefix, int d, int n_heads, tt_gen *g) {
    char name[256];
    snprintf(name, sizeof name, "%s.attn", prefix);
    if (nn_attention_init(&b->attn, p, name, d, n_heads, g)) return -1;
    snprintf(name, sizeof name, "%s.mlp", prefix);
    if (nn_mlp_init(&b->mlp, p, name, d, 4 * d, g)) return -1;
    snprintf(name, sizeof name, "%s.ada", prefix);
    return zero_linear(&b->ada, p, name, d, 6 * d, g);
}

int dit_init(locdit *m, tt_params *p, const char *prefix, int d, int n_heads, int n_layers, int frames, int dim,
             tt_gen *g) {
    char name[256];
    m->d = d;
    m->n_heads = n_heads;
    m->n_layers = n_layers;
    m->frames = frames;
    m->dim = dim;
    m->blocks = calloc(n_layers > 0 ? n_layers : 1, sizeof *m->blocks);
    if (!m->blocks) return nn_fail("dit_init: out of memory");
#define PART(s) (snprintf(name, sizeof name, "%s.%s", prefix, s), name)
    if (nn_linear_init(&m->in, p, PART("in"), dim, d, 1, g)) return -1;
    if (!(m->pos = add_normal(p, PART("pos"), TT_SHAPE(2 * frames, d), g))) return -1;
    if (nn_linear_init(&m->t_fc1, p, PART("t_fc1"), d, d, 1, g)) return -1;
    if (nn_linear_init(&m->t_fc2, p, PART("t_fc2"), d, d, 1, g)) return -1;
    for (int i = 0; i < n_layers; i++) {
        snprintf(name, sizeof name, "%s.blocks.%d", prefix, i);
        if (dit_block_init(&m->blocks[i], p, name, d, n_heads, g)) return -1;
    }
    if (zero_linear(&m->final_ada, p, PART("final_ada"), d, 2 * d, g)) return -1;
    if (zero_linear(&m->out, p, PART("out"), d, dim, g)) return -1;
    if (!(m->null = add_normal(p, PART("null"), TT_SHAPE(d), g))) return -1;
#undef PART
    return 0;
}

void dit_free(locdit *m) {
    free(m->blocks);
    m->blocks = NULL;
}

/* LN(x) * (1 + scale) + shift; x [N,S,d], shift/scale [N,1,d] */
static tt_tensor *modulate(const tt_tensor *x, const tt_tensor *shift, const tt_tensor *scale) {
    return tt_ln_modulate(x, shift, scale, 1e-6);
}

tt_tensor *dit_block_fwd(const dit_block *b, const tt_tensor *x, const tt_tensor *cond_act, double p, tt_gen *g) {
    tt_tensor *m[6]; /* shift1 scale1 gate1 shift2 scale2 gate2, each [N,1,d] */
    if (tt_chunk(tt_unsqueeze(nn_linear_fwd(&b->ada, cond_act), 1), 6, -1, m)) return NULL;
    tt_tensor *att = nn_dropout(nn_attention_fwd(&b->attn, modulate(x, m[0], m[1]), 0, NULL), p, g);
    tt_tensor *h = tt_gated_add(x, m[2], att);
    return tt_gated_add(h, m[5], nn_dropout(nn_mlp_fwd(&b->mlp, modulate(h, m[3], m[4])), p, g));
}

tt_tensor *dit_fwd(const locdit *m, const tt_tensor *ctx, const tt_tensor *xt, const tt_tensor *t, const tt_tensor *c,
                   double p, tt_gen *g) {
    int64_t F = m->frames;
    tt_tensor *x = tt_add(nn_linear_fwd(&m->in, tt_cat((tt_tensor *[]){(tt_tensor *)ctx, (tt_tensor *)xt}, 2, 1)),
                          m->pos);                                                   /* [N,2F,d] */
    tt_tensor *temb = nn_sinusoid_embed(tt_mul_scalar(t, 1000.0), m->d);             /* [N,d] */
    temb = nn_linear_fwd(&m->t_fc2, tt_silu(nn_linear_fwd(&m->t_fc1, temb)));
    tt_tensor *cond_act = tt_silu(tt_add(temb, c));                                  /* [N,d] */
    for (int i = 0; i < m->n_layers; i++) x = dit_block_fwd(&m->blocks[i], x, cond_act, p, g);
    tt_tensor *fm[2]; /* shift, scale [N,1,d] */
    if (tt_chunk(tt_unsqueeze(nn_linear_fwd(&m->final_ada, cond_act), 1), 2, -1, fm)) return NULL;
    return nn_linear_fwd(&m->out, modulate(tt_slice(x, 1, F, 2 * F, 1), fm[0], fm[1])); /* [N,F,M] */
}

int dit_solver_parse(const char *name, dit_solver *out) {
    if (!strcmp(name, "euler")) *out = DIT_EULER;
    else if (!strcmp(name, "heun")) *out = DIT_HEUN;
    else return -1;
    return 0;
}

const char *dit_solver_name(dit_solver s) { return s == DIT_HEUN ? "heun" : "euler"; }

/* The guided velocity at flow time t of the rows x [B, F, M] (ctx2/c2: [cond ; uncond] rows when guided). */
static tt_tensor *guided_velocity(const locdit *m, const tt_tensor *ctx2, const tt_tensor *c2, tt_tensor *x, double t,
                                  int64_t B, double cfg_scale) {
    int guided = cfg_scale != 1.0;
    tt_tensor *tt = tt_full(TT_SHAPE(guided ? 2 * B : B), t, TT_F32);
    tt_tensor *xin = guided ? tt_cat((tt_tensor *[]){x, x}, 2, 0) : x;
    tt_tensor *v = dit_fwd(m, ctx2, xin, tt, c2, 0.0, NULL);
    if (guided && v) {
        tt_tensor *vc = tt_slice(v, 0, 0, B, 1), *vu = tt_slice(v, 0, B, 2 * B, 1);
        v = tt_add(vu, tt_mul_scalar(tt_sub(vc, vu), cfg_scale));
    }
    return v;
}

tt_tensor *dit_sample(const locdit *m, const tt_tensor *ctx, const tt_tensor *c, const tt_tensor *x0, int steps,
                      dit_solver solver, double cfg_scale) {
    if (steps < 1) return tt_fail("dit_sample: %d steps, expected >= 1", steps);
    if (solver != DIT_EULER && solver != DIT_HEUN) return tt_fail("dit_sample: unknown solver %d", (int)solver);
    int64_t B = tt_size(x0, 0);
    int guided = cfg_scale != 1.0;
    /* rows [cond ; uncond] when guided */
    tt_tensor *ctx2 = guided ? tt_cat((tt_tensor *[]){(tt_tensor *)ctx, (tt_tensor *)ctx}, 2, 0) : (tt_tensor *)ctx;
    tt_tensor *c2 = (tt_tensor *)c;
    if (guided) c2 = tt_cat((tt_tensor *[]){(tt_tensor *)c, tt_expand(tt_unsqueeze(m->null, 0), TT_SHAPE(B, m->d))}, 2, 0);
    tt_tensor *x = (tt_tensor *)x0;
    double dt = 1.0 / steps;
    for (int i = 0; i < steps; i++) {
        tt_tensor *v = guided_velocity(m, ctx2, c2, x, (double)i / steps, B, cfg_scale);
        if (v && solver == DIT_HEUN) {
            tt_tensor *x_end = tt_add(x, tt_mul_scalar(v, dt));
            tt_tensor *v_end = guided_velocity(m, ctx2, c2, x_end, (double)(i + 1) / steps, B, cfg_scale);
            v = v_end ? tt_mul_scalar(tt_add(v, v_end), 0.5) : NULL;
        }
        x = v ? tt_add(x, tt_mul_scalar(v, dt)) : NULL;
        if (!x) return NULL;
    }
    return x;
}
