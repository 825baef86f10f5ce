/* test_parity_block.c — the C side of the PyTorch parity test (tests/python/parity_block.py).
 *
 * Usage: test_parity_block IN.safetensors OUT.safetensors
 * IN holds the weights and inputs Python made (names below) and metadata n_heads, rms.
 * We run the block through the wrapper and models/nn.c, backpropagate, and write the output,
 * the loss and every gradient to OUT for Python to compare against torch.
 *
 *   h    = in(x)                                  linear Din -> C
 *   h    = block(h)  causal multi-head attention + GELU MLP, pre-norm (LayerNorm or RMSNorm)
 *   out  = final_norm(h)                          LayerNorm
 *   loss = mse(out, target) + cross_entropy(head(out), labels)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_io.h"
#include "models/nn.h"

static int fail(const char *what) {
    fprintf(stderr, "test_parity_block: %s: %s\n", what, vr_error()[0] ? vr_error() : tt_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s IN.safetensors OUT.safetensors\n", argv[0]);
        return 2;
    }
    st_file *meta = st_open(argv[1]);
    if (!meta) return fail("open input");
    int n_heads = atoi(st_meta(meta, "n_heads") ? st_meta(meta, "n_heads") : "0");
    int rms = atoi(st_meta(meta, "rms") ? st_meta(meta, "rms") : "0");
    st_close(meta);

    tt_params *p = tio_params_from_file(argv[1]);
    if (!p) return fail("load input");
    nn_linear in, head;
    nn_block block;
    nn_norm final_norm;
    if (nn_linear_bind(&in, p, "in", 1) || nn_block_bind(&block, p, "block", n_heads, rms) ||
        nn_norm_bind(&final_norm, p, "final_norm", 0) || nn_linear_bind(&head, p, "head", 0))
        return fail("bind");
    tt_tensor *x = tt_params_get(p, "x"), *target = tt_params_get(p, "target"), *labels = tt_params_get(p, "labels");
    if (!x || !target || !labels) return fail("inputs x/target/labels");

    tt_scope_begin();
    tt_tensor *h = nn_block_fwd(&block, nn_linear_fwd(&in, x), /*causal=*/1, NULL);
    tt_tensor *out = nn_norm_fwd(&final_norm, h);
    tt_tensor *logits = nn_linear_fwd(&head, out);
    int64_t V = tt_size(logits, -1);
    tt_tensor *ce = tt_cross_entropy(tt_reshape(logits, TT_SHAPE(-1, V)), tt_reshape(labels, TT_SHAPE(-1)));
    tt_tensor *loss = tt_add(tt_mse_loss(out, target), ce);
    if (!loss || tt_backward(loss)) return fail("forward/backward");

    /* results: out, loss, grad.<name> for every float parameter (x included) */
    tt_params *res = tt_params_new();
    tt_params_add(res, "out", tt_detach(out));
    tt_params_add(res, "loss", tt_detach(loss));
    for (int i = 0; i < tt_params_count(p); i++) {
        tt_tensor *t = tt_params_at(p, i);
        if (!tt_requires_grad(t)) continue;
        char name[300];
        snprintf(name, sizeof name, "grad.%s", tt_params_name(p, i));
        if (!tt_params_add(res, name, tt_grad(t))) return fail(name);
    }
    tt_scope_end();
    if (tio_save_params(res, argv[2], 0, NULL, NULL)) return fail("save output");
    tt_params_free(res);
    tt_params_free(p);
    return 0;
}
