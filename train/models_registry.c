/* models_registry.c — see registry.h. Add a model by adding its ops to MODELS. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/contrast.h"
#include "models/arframe.h"
#include "models/fullseq.h"
#include "models/robin.h"
#include "models/tagger.h"
#include "train/registry.h"

static const vr_model_ops *const MODELS[] = {
    &robin_ops,
    &fullseq_ops,
    &arframe_ops,
    &tagger_ops,
    &contrast_ops,
    &vr_mlp_test_ops,
};
#define N_MODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

const vr_model_ops *vr_model_find(const char *kind) {
    for (int i = 0; i < N_MODELS; i++)
        if (!strcmp(MODELS[i]->kind, kind)) return MODELS[i];
    return NULL;
}

void vr_model_kinds(char *buf, size_t cap) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < N_MODELS && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? ", " : "", MODELS[i]->kind);
}

int vr_model_create(vr_model *m, const cfg *c, tt_gen *g) {
    memset(m, 0, sizeof *m);
    const char *kind = cfg_str(c, "model.kind");
    m->ops = vr_model_find(kind);
    if (!m->ops) {
        char known[512];
        vr_model_kinds(known, sizeof known);
        return vr_fail("model.kind '%s' (%s): no such model (known: %s)", kind, cfg_origin(c, "model.kind"), known);
    }
    m->params = tt_params_new();
    if (!m->params) return vr_fail("out of memory");
    tt_clear_error();
    vr_clear_error();
    if (m->ops->init(m, c, g)) {
        /* models report through the wrapper's message (tt_fail) or through vr_fail */
        if (tt_last_error()[0]) vr_fail("initialising model '%s': %s", kind, tt_last_error());
        else vr_context("initialising model '%s'", kind);
        vr_model_destroy(m);
        return -1;
    }
    return 0;
}

void vr_model_destroy(vr_model *m) {
    if (m->ops && m->ops->free_state && m->state) m->ops->free_state(m);
    m->state = NULL;
    tt_params_free(m->params);
    m->params = NULL;
}
