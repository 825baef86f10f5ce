/* test_config.c — the YAML config system: defaults, files, extends, overrides, every error, JSON.
 *
 * usage: test_config TESTS_CONFIGS_DIR CONFIGS_README
 *   TESTS_CONFIGS_DIR  tests/configs: each good/NAME.yaml must load; each bad/NAME.yaml must fail with the
 *                      substrings on its leading "# expect: ..." lines (adding a case is adding a file)
 *   CONFIGS_README     configs/README.md: must equal `vrobin config doc`; configs/default.yaml beside
 *                      it must load
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "tests/check.h"


static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* A small schema with every type, a choice, a nested section and a top-level key. */
static const cfg_key_spec T[] = {
    {"a.flag", CFG_BOOL, "false", "a boolean", NULL},
    {"a.n", CFG_INT, "3", "an integer", NULL},
    {"a.x", CFG_FLOAT, "0.5", "a float", NULL},
    {"a.s", CFG_STRING, "hi", "a string", NULL},
    {"a.mode", CFG_STRING, "fast", "a choice | with a pipe", "fast|slow"},
    {"b.li", CFG_LIST_INT, "[1, 2]", "ints", NULL},
    {"b.lf", CFG_LIST_FLOAT, "[0.5]", "floats", NULL},
    {"b.ls", CFG_LIST_STRING, "[]", "strings", NULL},
    {"b.deep.k", CFG_INT, "0", "in a nested section", NULL},
    {"top", CFG_INT, "7", "a key outside any section", NULL},
    {0},
};

static cfg *load_rel(const char *dir, const char *rel, int n, char **ov) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    cfg *c = cfg_load(path, vr_schema, n, ov);
    CHECK(c, "loading %s: %s", rel, vr_error());
    return c;
}

static cfg *load_str(const char *text, const cfg_key_spec *schema) {
    return cfg_load_string(text, strlen(text), "mem.yaml", schema);
}

/* vr_error() after a failing call contains `want`. */
#define CHECK_ERR(call, want)                                                                              \
    do {                                                                                                   \
        cfg *c_ = (call);                                                                                  \
        CHECK(!c_ && strstr(vr_error(), want), "%s: want error containing \"%s\", got \"%s\"", #call, want, \
              c_ ? "(no error)" : vr_error());                                                             \
        cfg_free(c_);                                                                                      \
    } while (0)

static void test_schema(void) {
    int n = 0;
    for (const cfg_key_spec *k = vr_schema; k->key; k++, n++) {
        CHECK(k->doc && k->doc[0], "%s has a doc line", k->key);
        CHECK(!k->choices || k->type == CFG_STRING || k->type == CFG_LIST_STRING, "%s: choices only for strings",
              k->key);
        const char *clash = NULL; /* the same key twice, or a key that is also a section */
        for (const cfg_key_spec *o = vr_schema; o->key; o++) {
            size_t len = strlen(k->key);
            if (o != k && (!strcmp(o->key, k->key) || (!strncmp(o->key, k->key, len) && o->key[len] == '.')))
                clash = o->key;
        }
        CHECK(!clash, "%s clashes with %s", k->key, clash);
    }
    CHECK(n >= 30, "schema has %d keys", n);
}

static void test_defaults(void) {
    cfg *c = cfg_defaults(vr_schema, 0, NULL);
    CHECK(c, "defaults: %s", vr_error());
    if (!c) return;
    CHECK(!strcmp(cfg_str(c, "run.name"), "run") && !strcmp(cfg_str(c, "run.dir"), "runs"), "run.*");
    CHECK(cfg_int(c, "run.seed") == 1234, "seed");
    CHECK(!strcmp(cfg_str(c, "runtime.device"), "cpu") && !strcmp(cfg_str(c, "runtime.dtype"), "f32"), "runtime");
    CHECK(cfg_int(c, "runtime.torch_threads") == 1 && cfg_int(c, "runtime.blas_threads") == 0, "threads");
    CHECK(!strcmp(cfg_str(c, "data.manifest"), "") && cfg_list_len(c, "data.shards") == 0, "empty defaults");
    CHECK(cfg_float(c, "train.lr") == 3e-4 && cfg_float(c, "data.clip_seconds") == 10.0, "floats");
    static const int64_t fsq[] = {8, 8, 8, 5, 5, 5};
    CHECK(cfg_list_len(c, "model.fsq_levels") == 6, "fsq len");
    for (int i = 0; i < 6 && cfg_list_len(c, "model.fsq_levels") == 6; i++)
        CHECK(cfg_list_int(c, "model.fsq_levels", i) == fsq[i], "fsq[%d]", i);
    CHECK(!strcmp(cfg_origin(c, "train.lr"), "default"), "origin default");
    cfg_free(c);

    c = cfg_defaults(T, 0, NULL);
    CHECK(c && !cfg_bool(c, "a.flag") && cfg_int(c, "a.n") == 3 && cfg_float(c, "a.x") == 0.5, "T defaults");
    CHECK(c && cfg_list_len(c, "b.li") == 2 && cfg_list_float(c, "b.lf", 0) == 0.5 && cfg_int(c, "top") == 7,
          "T list defaults");
    cfg_free(c);

    static const cfg_key_spec REQ[] = {{"need.x", CFG_INT, NULL, "required", NULL}, {0}};
    CHECK_ERR(cfg_defaults(REQ, 0, NULL), "missing required key 'need.x'");
    char *ov[] = {"need.x=4"};
    c = cfg_defaults(REQ, 1, ov);
    CHECK(c && cfg_int(c, "need.x") == 4, "required key given by override");
    cfg_free(c);
}

static void test_good_file(const char *dir) {
    cfg *c = load_rel(dir, "good/basic.yaml", 0, NULL);
    if (!c) return;
    CHECK(!strcmp(cfg_str(c, "run.name"), "basic run") && cfg_int(c, "run.seed") == -7, "run");
    CHECK(!strcmp(cfg_str(c, "runtime.device"), "cuda") && !strcmp(cfg_str(c, "runtime.dtype"), "bf16"), "runtime");
    CHECK(cfg_list_len(c, "data.shards") == 2 && !strcmp(cfg_list_str(c, "data.shards", 1), "shard 1.h5"), "shards");
    CHECK(cfg_float(c, "data.clip_seconds") == 5.0, "int for float");
    CHECK(cfg_int(c, "model.d_model") == 128 && cfg_list_len(c, "model.fsq_levels") == 3, "flow mapping");
    CHECK(cfg_float(c, "train.lr") == 0.5e-3 && cfg_int(c, "train.steps") == 42, "dotted keys");
    CHECK(!strcmp(cfg_str(c, "train.init_from"), "123"), "number as string");
    CHECK(cfg_int(c, "model.n_heads") == 4, "untouched key keeps its default");
    CHECK(ends_with(cfg_origin(c, "run.name"), "good/basic.yaml:3"), "origin %s", cfg_origin(c, "run.name"));
    CHECK(ends_with(cfg_origin(c, "data.shards"), "good/basic.yaml:9"), "origin %s", cfg_origin(c, "data.shards"));
    CHECK(ends_with(cfg_origin(c, "train.steps"), "good/basic.yaml:16"), "origin %s", cfg_origin(c, "train.steps"));
    CHECK(!strcmp(cfg_origin(c, "model.n_heads"), "default"), "origin default");
    cfg_free(c);
}

/* Every file in good/ loads. */
static void test_all_good(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/good", dir);
    DIR *d = opendir(path);
    CHECK(d, "open %s", path);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (!ends_with(e->d_name, ".yaml")) continue;
        snprintf(path, sizeof path, "good/%s", e->d_name);
        cfg_free(load_rel(dir, path, 0, NULL));
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 4, "good/ has %d files", n);
}

static void test_extends(const char *dir) {
    /* top.yaml -> chain/mid.yaml -> chain/base.yaml, then overrides on top */
    char *ov[] = {"train.lr=5", "run.seed=9", "run.seed=10"};
    cfg *c = load_rel(dir, "good/top.yaml", 3, ov);
    if (c) {
        CHECK(!strcmp(cfg_str(c, "run.name"), "top") && ends_with(cfg_origin(c, "run.name"), "good/top.yaml:3"),
              "level 3 wins: %s", cfg_origin(c, "run.name"));
        CHECK(cfg_int(c, "train.steps") == 300, "steps from top");
        CHECK(cfg_float(c, "train.lr") == 5.0 && !strcmp(cfg_origin(c, "train.lr"), "override"), "override wins");
        CHECK(cfg_int(c, "run.seed") == 10, "the last override wins");
        CHECK(cfg_int(c, "train.batch_size") == 2 &&
                  ends_with(cfg_origin(c, "train.batch_size"), "good/chain/base.yaml:7"),
              "level 1 survives: %s", cfg_origin(c, "train.batch_size"));
        CHECK(cfg_list_len(c, "data.shards") == 1 && !strcmp(cfg_list_str(c, "data.shards", 0), "m.h5"),
              "lists replace");
        CHECK(cfg_float(c, "model.dropout") == 0.0 && !strcmp(cfg_origin(c, "model.dropout"), "default"),
              "null resets to the default");
        cfg_free(c);
    }
    c = load_rel(dir, "good/chain/mid.yaml", 0, NULL);
    CHECK(c && cfg_float(c, "train.lr") == 0.2 && cfg_int(c, "train.steps") == 200, "level 2 alone");
    cfg_free(c);

    /* extends: [a, b], both extending common.yaml: applied in order, a diamond is not a cycle */
    c = load_rel(dir, "good/multi.yaml", 0, NULL);
    if (c) {
        CHECK(!strcmp(cfg_str(c, "run.name"), "b") && cfg_int(c, "train.steps") == 2, "b after a");
        CHECK(cfg_float(c, "train.lr") == 0.01 && ends_with(cfg_origin(c, "train.lr"), "good/parts/common.yaml:3"),
              "b's parent applies after a: %s", cfg_origin(c, "train.lr"));
        CHECK(cfg_int(c, "data.fps") == 25 && cfg_int(c, "train.batch_size") == 3, "multi");
        cfg_free(c);
    }

    /* cfg_load_string resolves extends relative to its name */
    char name[1024];
    snprintf(name, sizeof name, "%s/good/virtual.yaml", dir);
    const char *text = "extends: chain/base.yaml\nrun.name: virtual\n";
    c = cfg_load_string(text, strlen(text), name, vr_schema);
    CHECK(c && cfg_int(c, "train.steps") == 100 && !strcmp(cfg_str(c, "run.name"), "virtual"), "string extends: %s",
          c ? "" : vr_error());
    cfg_free(c);
}

static void test_types(void) {
    static const char *yes[] = {"true", "True", "YES", "on"}, *no[] = {"false", "No", "OFF", "off"};
    char text[128];
    for (int i = 0; i < 4; i++) {
        snprintf(text, sizeof text, "a.flag: %s\n", yes[i]);
        cfg *c = load_str(text, T);
        CHECK(c && cfg_bool(c, "a.flag") == 1, "bool %s", yes[i]);
        cfg_free(c);
        snprintf(text, sizeof text, "a: {flag: %s}\n", no[i]);
        c = load_str(text, T);
        CHECK(c && cfg_bool(c, "a.flag") == 0, "bool %s", no[i]);
        cfg_free(c);
    }
    CHECK_ERR(load_str("a.flag: 1\n", T), "mem.yaml:1: key 'a.flag' expects a boolean (true/false), got '1'");
    CHECK_ERR(load_str("a.flag: \"true\"\n", T), "got the quoted string \"true\"");

    cfg *c = load_str("a:\n  n: -9223372036854775808\n  x: -.5e-3\n  s: true\ntop: 007\nb.deep.k: 5\n", T);
    CHECK(c && cfg_int(c, "a.n") == INT64_MIN && cfg_float(c, "a.x") == -.5e-3, "int64 min, float: %s",
          c ? "" : vr_error());
    CHECK(c && !strcmp(cfg_str(c, "a.s"), "true") && cfg_int(c, "top") == 7 && cfg_int(c, "b.deep.k") == 5,
          "bool text in a string key, leading zeros, nested section");
    cfg_free(c);
    CHECK_ERR(load_str("a.n: 9223372036854775808\n", T), "out of the 64-bit range");
    CHECK_ERR(load_str("a.n: 0x10\n", T), "key 'a.n' expects an integer, got '0x10'");
    CHECK_ERR(load_str("a.x: -inf\n", T), "(NaN and infinity are not allowed)");
    CHECK_ERR(load_str("a.mode: medium\n", T), "mem.yaml:1: key 'a.mode' must be one of fast|slow, got 'medium'");
    CHECK_ERR(load_str("b:\n  deep:\n    kk: 1\n", T), "mem.yaml:3: unknown key 'b.deep.kk' (did you mean 'b.deep.k'?)");
    CHECK_ERR(load_str("b:\n  deeep:\n    k: 1\n", T), "mem.yaml:2: unknown section 'b.deeep' (did you mean 'b.deep'?)");
    CHECK_ERR(load_str("b.lf: [1, nan]\n", T), "expects a list of numbers, got 'nan' at item 2");
    CHECK_ERR(load_str("{a.n: 1, a.n: 2}", T), "mem.yaml:1: duplicate key 'a.n' (first at line 1)");

    c = load_str("b: {deep: {k: ~}, li: [], lf: [1, 2.5], ls: [x, 'y z']}\n", T);
    CHECK(c && cfg_list_len(c, "b.li") == 0 && cfg_list_float(c, "b.lf", 0) == 1.0 && cfg_list_float(c, "b.lf", 1) == 2.5,
          "lists: %s", c ? "" : vr_error());
    CHECK(c && cfg_list_len(c, "b.ls") == 2 && !strcmp(cfg_list_str(c, "b.ls", 1), "y z"), "string list");
    cfg_free(c);

    c = load_str("", T); /* an empty file is all defaults */
    CHECK(c && cfg_int(c, "a.n") == 3, "empty text");
    cfg_free(c);
}

static void test_overrides(void) {
    char *ov[] = {"a.flag=yes", "a.n=-5", "a.x=1e-3", "a.s=123", "a.mode=slow", "b.li=[4, 5, 6]",
                  "b.lf=[2, .25]", "b.ls=[a.h5,b.h5]", "top=8", "b.deep.k=2"};
    cfg *c = cfg_defaults(T, 10, ov);
    CHECK(c, "overrides: %s", vr_error());
    if (c) {
        CHECK(cfg_bool(c, "a.flag") && cfg_int(c, "a.n") == -5 && cfg_float(c, "a.x") == 1e-3, "scalars");
        CHECK(!strcmp(cfg_str(c, "a.s"), "123") && !strcmp(cfg_str(c, "a.mode"), "slow"), "strings");
        CHECK(cfg_list_len(c, "b.li") == 3 && cfg_list_int(c, "b.li", 2) == 6, "int list");
        CHECK(cfg_list_len(c, "b.lf") == 2 && cfg_list_float(c, "b.lf", 1) == 0.25, "float list");
        CHECK(cfg_list_len(c, "b.ls") == 2 && !strcmp(cfg_list_str(c, "b.ls", 0), "a.h5") &&
                  !strcmp(cfg_list_str(c, "b.ls", 1), "b.h5"),
              "string list");
        CHECK(cfg_int(c, "top") == 8 && cfg_int(c, "b.deep.k") == 2, "top-level and nested keys");
        CHECK(!strcmp(cfg_origin(c, "a.n"), "override") && !strcmp(cfg_origin(c, "b.lf"), "override"), "origins");
        cfg_free(c);
    }
    char *reset[] = {"a.n=9", "a.n=~", "a.s="};
    c = cfg_defaults(T, 3, reset);
    CHECK(c && cfg_int(c, "a.n") == 3 && !strcmp(cfg_origin(c, "a.n"), "default") && !strcmp(cfg_str(c, "a.s"), "hi"),
          "null override resets to the default");
    cfg_free(c);

    char *e1[] = {"train.stesp=5"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e1),
              "override 'train.stesp=5': unknown key 'train.stesp' (did you mean 'train.steps'?)");
    char *e2[] = {"train.steps=ten"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e2), "override 'train.steps=ten': key 'train.steps' expects an integer, got 'ten'");
    char *e3[] = {"train.steps"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e3), "override 'train.steps': expected key=value");
    char *e4[] = {"train=5"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e4), "override 'train=5': 'train' is a section");
    char *e5[] = {"data.shards=[a.h5"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e5), "override 'data.shards=[a.h5': YAML syntax error");
    char *e6[] = {"runtime.device=gpu"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e6), "key 'runtime.device' must be one of cpu|cuda, got 'gpu'");
    char *e7[] = {"lr=1"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e7), "unknown key 'lr' (did you mean 'train.lr'?)");
    char *e8[] = {"foo.bar=1"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e8), "unknown key 'foo.bar' (valid sections: run, runtime, data, model, train, eval)");
    char *e9[] = {"data.shards=a.h5"};
    CHECK_ERR(cfg_defaults(vr_schema, 1, e9), "key 'data.shards' expects a list of strings, got 'a.h5'");
}

/* Each bad/NAME.yaml must fail with the substrings on its leading "# expect: " lines. */
static void test_bad_files(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/bad", dir);
    DIR *d = opendir(path);
    CHECK(d, "open %s", path);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        if (!ends_with(e->d_name, ".yaml")) continue;
        snprintf(path, sizeof path, "%s/bad/%s", dir, e->d_name);
        char *text = NULL;
        if (vr_read_file(path, &text, NULL)) { CHECK(0, "%s", vr_error()); continue; }
        cfg *c = cfg_load(path, vr_schema, 0, NULL);
        CHECK(!c, "%s loaded but should fail", e->d_name);
        int expects = 0;
        for (char *line = text; !strncmp(line, "# expect: ", 10); expects++) {
            char *end = strchr(line, '\n');
            if (end) *end = '\0';
            CHECK(c || strstr(vr_error(), line + 10), "%s:\n  want: %s\n  got:  %s", e->d_name, line + 10, vr_error());
            if (!end) break;
            line = end + 1;
        }
        CHECK(expects > 0, "%s has no '# expect: ' first line", e->d_name);
        cfg_free(c);
        free(text);
        n++;
    }
    if (d) closedir(d);
    CHECK(n >= 20, "bad/ has %d cases", n);
    CHECK_ERR(cfg_load("/no/such/config.yaml", vr_schema, 0, NULL), "cannot open /no/such/config.yaml");
}

/* The JSON dump holds every schema key with its value, and loads back to the same config. */
static void check_json(const cfg *c, const cfg_key_spec *schema) {
    char *json = cfg_to_json(c);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    CHECK(root, "JSON parses:\n%s", json ? json : "(null)");
    for (const cfg_key_spec *k = schema; root && k->key; k++) {
        const cJSON *v = root;
        char path[256];
        snprintf(path, sizeof path, "%s", k->key);
        for (char *save, *part = strtok_r(path, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
            v = cJSON_GetObjectItemCaseSensitive(v, part);
        CHECK(v, "%s in JSON", k->key);
        if (!v) continue;
        int ok = 0, n = cJSON_GetArraySize(v);
        switch (k->type) {
        case CFG_BOOL: ok = cJSON_IsBool(v) && cJSON_IsTrue(v) == cfg_bool(c, k->key); break;
        case CFG_INT: ok = cJSON_IsNumber(v) && v->valuedouble == (double)cfg_int(c, k->key); break;
        case CFG_FLOAT: ok = cJSON_IsNumber(v) && v->valuedouble == cfg_float(c, k->key); break;
        case CFG_STRING: ok = cJSON_IsString(v) && !strcmp(v->valuestring, cfg_str(c, k->key)); break;
        default:
            ok = cJSON_IsArray(v) && n == cfg_list_len(c, k->key);
            for (int i = 0; ok && i < n; i++) {
                const cJSON *it = cJSON_GetArrayItem(v, i);
                if (k->type == CFG_LIST_INT) ok = it->valuedouble == (double)cfg_list_int(c, k->key, i);
                if (k->type == CFG_LIST_FLOAT) ok = it->valuedouble == cfg_list_float(c, k->key, i);
                if (k->type == CFG_LIST_STRING) ok = cJSON_IsString(it) && !strcmp(it->valuestring, cfg_list_str(c, k->key, i));
            }
        }
        CHECK(ok, "%s: JSON value matches", k->key);
    }
    cJSON_Delete(root);
    cfg *back = json ? cfg_load_string(json, strlen(json), "dump.json", schema) : NULL;
    char *json2 = back ? cfg_to_json(back) : NULL;
    CHECK(json2 && !strcmp(json, json2), "JSON loads back as the same config: %s", back ? "" : vr_error());
    free(json2);
    cfg_free(back);
    free(json);
}

static void test_json(const char *dir) {
    char *ov[] = {"train.lr=1e-3", "model.dropout=0.1", "data.shards=[\"a \\\"q\\\".h5\", b.h5]"};
    cfg *c = load_rel(dir, "good/top.yaml", 3, ov);
    if (c) check_json(c, vr_schema);
    cfg_free(c);

    char *tov[] = {"a.flag=on", "a.n=-9223372036854775808", "a.x=0.1", "b.lf=[1e-300, 2]", "a.s=tab\there"};
    c = cfg_defaults(T, 5, tov);
    if (c) {
        check_json(c, T);
        char *json = cfg_to_json(c);
        CHECK(json && strstr(json, "\"n\": -9223372036854775808") && strstr(json, "\"lf\": [1e-300, 2.0]"),
              "exact int64 and typed floats in JSON:\n%s", json ? json : "(null)");
        free(json);
    }
    cfg_free(c);
}

/* Misusing a getter is a bug in vrobin: it names the key and aborts. */
static void expect_abort(int which) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        cfg *c = cfg_defaults(T, 0, NULL);
        if (which == 0) cfg_int(c, "a.nn");
        if (which == 1) cfg_int(c, "a.x");
        if (which == 2) cfg_list_int(c, "b.li", 2);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "getter misuse %d aborts", which);
}

static void test_getter_bugs(void) {
    for (int i = 0; i < 3; i++) expect_abort(i);
}

static void test_markdown(const char *readme) {
    char *md = cfg_schema_markdown(T);
    CHECK(md && strstr(md, "## `a`\n") && strstr(md, "## `b`\n") && strstr(md, "## `top`\n"), "sections");
    CHECK(md && strstr(md, "| `a.mode` | string | `fast` | `fast`, `slow` | a choice \\| with a pipe |\n"), "row:\n%s", md ? md : "(null)");
    CHECK(md && strstr(md, "| `b.li` | list of int | `[1, 2]` |"), "list row");
    free(md);

    char *doc = cfg_doc_markdown(), *file = NULL;
    if (vr_read_file(readme, &file, NULL)) CHECK(0, "%s", vr_error());
    CHECK(doc && file && !strcmp(doc, file),
          "%s is out of date: regenerate it with `vrobin config doc > configs/README.md`", readme);
    free(doc);
    free(file);

    char path[1024]; /* configs/default.yaml, beside the README */
    snprintf(path, sizeof path, "%s", readme);
    char *slash = strrchr(path, '/');
    snprintf(slash ? slash + 1 : path, sizeof path - (slash ? slash + 1 - path : 0), "default.yaml");
    cfg *c = cfg_load(path, vr_schema, 0, NULL);
    CHECK(c, "configs/default.yaml: %s", vr_error());
    cfg_free(c);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s TESTS_CONFIGS_DIR CONFIGS_README\n", argv[0]);
        return 2;
    }
    test_schema();
    test_defaults();
    test_good_file(argv[1]);
    test_all_good(argv[1]);
    test_extends(argv[1]);
    test_types();
    test_overrides();
    test_bad_files(argv[1]);
    test_json(argv[1]);
    test_getter_bugs();
    test_markdown(argv[2]);
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}
