/* export.c — see export.h. */
#define _GNU_SOURCE
#include "infer/export.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/tensor_io.h"
#include "core/tt.h"
#include "data/shard.h"
#include "models/model.h"
#include "train/ckpt.h"
#include "train/registry.h"
#include "vrobin_git.h" /* generated: VROBIN_GIT_COMMIT */

/* "x.safetensors" -> "x.config.json"; any other name gets ".config.json" appended. */
static char *config_path_for(const char *out_path) {
    size_t n = strlen(out_path), ext = strlen(".safetensors");
    if (n > ext && !strcmp(out_path + n - ext, ".safetensors")) n -= ext;
    char *p;
    if (asprintf(&p, "%.*s.config.json", (int)n, out_path) < 0) return vr_fail_null("out of memory");
    return p;
}

/* A shard path of the training config: as written (relative to where training ran), else relative
 * to the folder that holds runs/<name> (the usual layout). malloc'd. */
static char *resolve_shard(const char *run_dir, const char *shard) {
    char *p = NULL;
    if (shard[0] == '/' || vr_file_exists(shard)) return strdup(shard);
    if (asprintf(&p, "%s/../../%s", run_dir, shard) < 0) return NULL;
    if (vr_file_exists(p)) return p;
    free(p);
    return strdup(shard); /* the open reports the path as the config names it */
}

static cJSON *float_array(const float *x, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)x[i]));
    return a;
}

/* norm_mean / norm_std / data settings from the run's first training shard. */
static int shard_meta(const cfg *c, const char *run_dir, char **mean_json, char **std_json, char **data_json) {
    if (cfg_list_len(c, "data.shards") < 1)
        return vr_fail("the run's config lists no data.shards: the latent normalisation comes from its training shards");
    char *path = resolve_shard(run_dir, cfg_list_str(c, "data.shards", 0));
    if (!path) return vr_fail("out of memory");
    vr_shard *s = vr_shard_open(path);
    if (!s) {
        vr_context("data.shards[0] of the run (needed for the latent normalisation)");
        free(path);
        return -1;
    }
    const vr_shard_info *info = vr_shard_get_info(s);
    int rc = -1;
    cJSON *b = cJSON_Parse(vr_shard_builder_config(s) ? vr_shard_builder_config(s) : "");
    cJSON *d = cJSON_CreateObject();
    static const char *const keys[] = {"fps", "frame_size", "sample_rate", "n_mels", "mel_fps", "clip_seconds"};
    for (int i = 0; b && d && i < 6; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(b, keys[i]);
        if (!cJSON_IsNumber(v)) {
            vr_fail("%s: builder_config has no number '%s'", path, keys[i]);
            goto done;
        }
        cJSON_AddNumberToObject(d, keys[i], v->valuedouble);
    }
    if (!b) {
        vr_fail("%s: the shard's builder_config is not JSON", path);
        goto done;
    }
    if (strcmp(info->latent_kind, "logmel")) {
        vr_fail("%s: latent kind '%s'; generate decodes log-mel latents only", path, info->latent_kind);
        goto done;
    }
    cJSON *m = float_array(vr_shard_norm_mean(s), info->D), *sd = float_array(vr_shard_norm_std(s), info->D);
    *mean_json = cJSON_PrintUnformatted(m);
    *std_json = cJSON_PrintUnformatted(sd);
    *data_json = cJSON_PrintUnformatted(d);
    cJSON_Delete(m);
    cJSON_Delete(sd);
    rc = *mean_json && *std_json && *data_json ? 0 : vr_fail("out of memory");
done:
    cJSON_Delete(b);
    cJSON_Delete(d);
    vr_shard_close(s);
    free(path);
    return rc;
}

int vr_export(const char *run_dir, long long step, const char *dtype, const char *out_path) {
    int bf16 = !strcmp(dtype, "bf16");
    if (!bf16 && strcmp(dtype, "f32")) return vr_fail("--dtype %s: expected f32 or bf16", dtype);
    char *ckpt = NULL, *cfg_text = NULL, *cfg_json = NULL, *mean = NULL, *std = NULL, *data = NULL, *cfg_out = NULL;
    char path[4096], step_s[32];
    cfg *c = NULL;
    vr_model m = {0};
    tt_params *out = NULL;
    int rc = -1, have_model = 0, missing;
    size_t n;
    vr_ckpt_state st;

    if (step >= 0) {
        if (asprintf(&ckpt, "%s/ckpt/step_%08lld", run_dir, step) < 0) return vr_fail("out of memory");
    } else if (!(ckpt = vr_ckpt_latest(run_dir, &missing))) {
        return vr_context("%s: no checkpoint to export", run_dir);
    }
    if (vr_ckpt_read_state(ckpt, &st)) goto done;
    snprintf(path, sizeof path, "%s/config.json", ckpt);
    if (vr_read_file(path, &cfg_text, &n) || !(c = cfg_load_string(cfg_text, n, path, vr_schema))) goto done;
    if (!(cfg_json = cfg_to_json(c))) {
        vr_fail("out of memory");
        goto done;
    }
    if (shard_meta(c, run_dir, &mean, &std, &data)) goto done;

    /* build the model from the config and load the EMA strictly: the export is known to load */
    tt_gen *g = tt_gen_new(0);
    have_model = vr_model_create(&m, c, g) == 0;
    tt_gen_free(g);
    if (!have_model) goto done;
    snprintf(path, sizeof path, "%s/ema.safetensors", ckpt);
    if (tio_load_params(m.params, path, 1)) goto done;
    out = m.params;
    if (bf16) {
        out = tt_params_new();
        for (int i = 0; out && i < tt_params_count(m.params); i++)
            if (!tt_params_add(out, tt_params_name(m.params, i), tt_to_dtype(tt_params_at(m.params, i), TT_BF16))) {
                vr_fail("converting %s to bf16: %s", tt_params_name(m.params, i), tt_last_error());
                goto done;
            }
    }
    snprintf(step_s, sizeof step_s, "%lld", (long long)st.step);
    const char *keys[] = {"format", "format_version", "config", "norm_mean", "norm_std", "data", "model.kind",
                          "step", "dtype", "vrobin_version", "git_commit", "source"};
    const char *vals[] = {VR_EXPORT_FORMAT, VR_EXPORT_FORMAT_VERSION, cfg_json, mean, std, data,
                          cfg_str(c, "model.kind"), step_s, bf16 ? "bf16" : "f32", VROBIN_VERSION, VROBIN_GIT_COMMIT, ckpt};
    if (!(cfg_out = config_path_for(out_path))) goto done;
    if (vr_write_file_atomic(cfg_out, cfg_json, strlen(cfg_json))) goto done;
    if (tio_save_params(out, out_path, (int)(sizeof keys / sizeof keys[0]), keys, vals)) {
        remove(cfg_out);
        goto done;
    }
    VR_INFO("exported %s (step %lld, %d tensors, %lld parameters, %s) -> %s (+ %s)", ckpt, (long long)st.step,
            tt_params_count(out), (long long)tt_params_numel(out), bf16 ? "bf16" : "f32", out_path, cfg_out);
    rc = 0;
done:
    if (rc) vr_context("export %s", ckpt ? ckpt : run_dir);
    if (out && out != m.params) tt_params_free(out);
    if (have_model) vr_model_destroy(&m);
    cfg_free(c);
    free(ckpt);
    free(cfg_text);
    free(cfg_json);
    free(mean);
    free(std);
    free(data);
    free(cfg_out);
    return rc;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: vrobin export RUN -o MODEL.safetensors [--dtype f32|bf16] [--step N]\n\n"
            "Write the EMA weights of a run's latest checkpoint (or of step N) as one safetensors file for\n"
            "`vrobin generate`: the metadata holds the model config, the latent normalisation (from the\n"
            "run's first training shard, so that shard must still be readable) and the data settings the\n"
            "video features need. MODEL.config.json is written beside it. --dtype bf16 halves the file.\n");
}

int vr_cmd_export(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *run = NULL, *out = NULL, *dtype = "f32";
    long long step = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "-o") && has_val) out = argv[++i];
        else if (!strcmp(a, "--dtype") && has_val) dtype = argv[++i];
        else if (!strcmp(a, "--step") && has_val) {
            char *end;
            step = strtoll(argv[++i], &end, 10);
            if (*end || step < 0) {
                fprintf(stderr, "vrobin export: --step %s: expected a step number >= 0\n", argv[i]);
                return 2;
            }
        } else if (a[0] != '-' && !run) run = a;
        else {
            fprintf(stderr, "vrobin export: unexpected argument '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!run || !out) {
        fprintf(stderr, "vrobin export: %s\n\n", !run ? "missing the run folder" : "missing -o MODEL.safetensors");
        usage(stderr);
        return 2;
    }
    if (strcmp(dtype, "f32") && strcmp(dtype, "bf16")) {
        fprintf(stderr, "vrobin export: --dtype %s: expected f32 or bf16\n", dtype);
        return 2;
    }
    if (vr_export(run, step, dtype, out)) {
        fprintf(stderr, "vrobin export: %s\n", vr_error());
        return 1;
    }
    return 0;
}
