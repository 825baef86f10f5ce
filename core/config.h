/* config.h — YAML configs parsed into a typed, validated tree.
 *
 * Every key vrobin understands is declared once in a schema (core/schema.c: vr_schema) with its
 * type, default, allowed values and a one-line doc; configs/README.md is generated from it.
 * A config file is YAML whose keys are checked against that schema:
 *
 *   extends: ../base.yaml        # or a list; resolved relative to this file, applied in order
 *   train:
 *     lr: 1e-3                   # nested form ...
 *   train.steps: 5000            # ... or dotted form
 *   data.shards: [a.h5, b.h5]    # lists replace the parent's list, never append
 *   train.init_from: ~           # null: back to the schema default
 *
 * Precedence, lowest first: schema defaults, extended files (in order, recursively), the file
 * itself, command-line overrides "key.sub=value" (the value is YAML: 1e-3, true, [1, 2]).
 * Errors carry the file and line and, for unknown keys, the closest valid key:
 *   "configs/x.yaml:12: unknown key 'train.lrr' (did you mean 'train.lr'?)"
 */
#ifndef VR_CONFIG_H
#define VR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CFG_BOOL, CFG_INT, CFG_FLOAT, CFG_STRING, CFG_LIST_INT, CFG_LIST_FLOAT, CFG_LIST_STRING } cfg_type;

typedef struct cfg_key_spec {
    const char *key;     /* dotted path, e.g. "train.lr" */
    cfg_type type;
    const char *def;     /* default as YAML text ("3e-4", "true", "[1, 2]", "cpu"); NULL: required */
    const char *doc;     /* one line for configs/README.md */
    const char *choices; /* "|"-separated allowed strings, e.g. "cpu|cuda"; NULL: any */
} cfg_key_spec;

/* The schema of vrobin (core/schema.c), terminated by {0}. */
extern const cfg_key_spec vr_schema[];

typedef struct cfg cfg;

/* Load a YAML file, resolve `extends:`, apply overrides ("a.b=value"), validate every key, fill
 * defaults. NULL on error with vr_error() set. */
cfg *cfg_load(const char *path, const cfg_key_spec *schema, int n_overrides, char **overrides);
/* Same from text in memory; `name` stands for the file in messages and `extends:` is resolved
 * relative to its directory. */
cfg *cfg_load_string(const char *text, size_t len, const char *name, const cfg_key_spec *schema);
/* Defaults plus overrides, no file. */
cfg *cfg_defaults(const cfg_key_spec *schema, int n_overrides, char **overrides);
void cfg_free(cfg *c);

/* Typed getters. Asking for a key that is not in the schema, or with the wrong type, is a bug in
 * vrobin (not in the user's config): it prints the key and aborts. cfg_float reads FLOAT keys,
 * whose values may be written as integers ("lr: 1"). Lists: index out of range also aborts. */
int64_t cfg_int(const cfg *c, const char *key);
double cfg_float(const cfg *c, const char *key);
int cfg_bool(const cfg *c, const char *key);
const char *cfg_str(const cfg *c, const char *key);
int cfg_list_len(const cfg *c, const char *key);
int64_t cfg_list_int(const cfg *c, const char *key, int i);
double cfg_list_float(const cfg *c, const char *key, int i);
const char *cfg_list_str(const cfg *c, const char *key, int i);

/* Where the value came from: "configs/x.yaml:12", "override" or "default", for messages such as
 * "data.manifest (configs/x.yaml:4): file not found". */
const char *cfg_origin(const cfg *c, const char *key);

/* The resolved config as pretty JSON, nested objects by dotted path, every schema key included.
 * The output is itself a valid config (JSON is YAML). malloc'd; NULL on OOM. */
char *cfg_to_json(const cfg *c);

/* Markdown tables of all keys (key, type, default, choices, doc), one per top-level section. */
char *cfg_schema_markdown(const cfg_key_spec *schema);
/* configs/README.md: a header on writing configs, then cfg_schema_markdown(vr_schema). */
char *cfg_doc_markdown(void);

#ifdef __cplusplus
}
#endif
#endif
