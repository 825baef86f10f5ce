/* table.c — `vrobin table`: several systems' eval results merged into one paper-shaped table
 * (Markdown, CSV, JSON) and gnuplot figures (see table.h). */
#define _GNU_SOURCE
#include "eval/table.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/cli.h"
#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "eval/eval.h"

/* ---------------------------------------------------------------- loading */

static const char *str_field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int kind_rank(const char *kind) {
    return !strcmp(kind, "oracle") ? 0 : !strcmp(kind, "oracle_decoded") ? 1 : 2;
}

int vr_eval_is_oracle(const vr_eval_run *r) { return kind_rank(r->kind) < 2; }

static void run_free(vr_eval_run *r) {
    cJSON_Delete(r->root);
    free(r->path);
    memset(r, 0, sizeof *r);
}

/* Parse and check one file. *foreign = 1 (and 0 returned, r empty) when from a folder and the
 * file is JSON of another kind (no vrobin-eval/N format). */
static int run_load(const char *path, int in_folder, vr_eval_run *r, int *foreign) {
    memset(r, 0, sizeof *r);
    *foreign = 0;
    char *text = NULL;
    size_t len = 0;
    if (vr_read_file(path, &text, &len)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= text && at <= text + len ? (long)(at - text) : -1;
        free(text);
        return vr_fail("%s: not valid JSON (parse error near byte %ld)", path, off);
    }
    free(text);
    r->root = root;
    r->path = strdup(path);
    int rc = r->path ? 0 : vr_fail("out of memory");
    const char *format = cJSON_IsObject(root) ? str_field(root, "format") : NULL;
    if (!rc && (!format || strncmp(format, "vrobin-eval/", 12))) {
        if (in_folder) {
            VR_INFO("table: skipping %s (format %s, not a vrobin eval result)", path, format ? format : "absent");
            *foreign = 1;
            run_free(r);
            return 0;
        }
        rc = vr_fail("%s: format %s%s%s, expected '%s' (a `vrobin eval` result)", path, format ? "'" : "",
                     format ? format : "absent", format ? "'" : "", VR_EVAL_FORMAT);
    }
    if (!rc && strcmp(format, VR_EVAL_FORMAT))
        rc = vr_fail("%s: format '%s' is not the one this vrobin reads ('%s')", path, format, VR_EVAL_FORMAT);
    if (rc) {
        run_free(r);
        return -1;
    }
    r->format = format;
    r->bench = str_field(root, "bench");
    r->system = str_field(root, "system");
    r->kind = str_field(root, "kind");
    r->header = cJSON_GetObjectItemCaseSensitive(root, "header");
    r->metrics = cJSON_GetObjectItemCaseSensitive(root, "metrics");
    r->definitions = cJSON_GetObjectItemCaseSensitive(root, "definitions");
    r->points = cJSON_GetObjectItemCaseSensitive(root, "fad_inf_points");
    r->clips = cJSON_GetObjectItemCaseSensitive(root, "clips");
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(root, "n_clips");
    const char *bad = NULL;
    if (!r->bench || !*r->bench) bad = "\"bench\" (a non-empty string)";
    else if (!r->system || !*r->system) bad = "\"system\" (a non-empty string)";
    else if (!r->kind || (kind_rank(r->kind) == 2 && strcmp(r->kind, "model") && strcmp(r->kind, "audio")))
        bad = "\"kind\": model, audio, oracle or oracle_decoded";
    else if (!cJSON_IsNumber(nc) || nc->valuedouble < 0 || nc->valuedouble != floor(nc->valuedouble))
        bad = "\"n_clips\" (a whole number)";
    else if (!cJSON_IsObject(r->header)) bad = "\"header\" (an object)";
    else if (!cJSON_IsObject(r->metrics)) bad = "\"metrics\" (an object)";
    else if (!cJSON_IsObject(r->definitions)) bad = "\"definitions\" (an object)";
    else if (r->points && !cJSON_IsObject(r->points)) bad = "\"fad_inf_points\" to be an object";
    else if (r->clips && !cJSON_IsArray(r->clips)) bad = "\"clips\" to be an array";
    if (bad) rc = vr_fail("%s: expected %s", path, bad);
    static const char *const hfields[] = {"command", "commit", "machine", "date"};
    for (size_t i = 0; !rc && i < sizeof hfields / sizeof *hfields; i++)
        if (!str_field(r->header, hfields[i]))
            rc = vr_fail("%s: header.%s missing or not a string", path, hfields[i]);
    if (!rc && !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r->header, "wall_s")))
        rc = vr_fail("%s: header.wall_s missing or not a number", path);
    const cJSON *m;
    cJSON_ArrayForEach(m, r->metrics) {
        if (!rc && !cJSON_IsNumber(m) && !cJSON_IsNull(m))
            rc = vr_fail("%s: metrics.%s is not a number or null", path, m->string);
    }
    cJSON_ArrayForEach(m, r->definitions) {
        if (!rc && !cJSON_IsString(m)) rc = vr_fail("%s: definitions.%s is not a string", path, m->string);
    }
    if (rc) {
        run_free(r);
        return -1;
    }
    r->n_clips = (int)nc->valuedouble;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The *.json files of a folder, sorted. */
static int list_json(const char *dir, char ***out, int *n) {
    DIR *d = opendir(dir);
    if (!d) return vr_fail("%s: %s", dir, strerror(errno));
    char **names = NULL;
    int k = 0, cap = 0, rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") || e->d_name[0] == '.') continue;
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *nn);
            if (!nn) {
                rc = vr_fail("out of memory");
                break;
            }
            names = nn;
        }
        if (asprintf(&names[k], "%s/%s", dir, e->d_name) < 0) rc = vr_fail("out of memory");
        else k++;
    }
    closedir(d);
    if (names) qsort(names, (size_t)k, sizeof *names, cmp_str);
    *out = names;
    *n = k;
    return rc;
}

void vr_eval_set_free(vr_eval_set *s) {
    for (int i = 0; i < s->n; i++) run_free(&s->runs[i]);
    free(s->runs);
    s->runs = NULL;
    s->n = 0;
}

static int add_run(vr_eval_set *s, int *cap, const char *path, int in_folder) {
    if (s->n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        vr_eval_run *nr = realloc(s->runs, (size_t)*cap * sizeof *nr);
        if (!nr) return vr_fail("out of memory");
        s->runs = nr;
    }
    int foreign = 0;
    if (run_load(path, in_folder, &s->runs[s->n], &foreign)) return -1;
    if (!foreign) s->n++;
    return 0;
}

int vr_eval_set_load(vr_eval_set *s, char *const *paths, int n_paths) {
    memset(s, 0, sizeof *s);
    int cap = 0, rc = 0;
    for (int i = 0; !rc && i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st)) {
            rc = vr_fail("%s: %s", paths[i], strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            char **files = NULL;
            int nf = 0, before = s->n;
            rc = list_json(paths[i], &files, &nf);
            for (int j = 0; !rc && j < nf; j++) rc = add_run(s, &cap, files[j], 1);
            for (int j = 0; j < nf; j++) free(files[j]);
            free(files);
            if (!rc && s->n == before) rc = vr_fail("%s: no `vrobin eval` results (*.json with format %s) in this folder", paths[i], VR_EVAL_FORMAT);
        } else {
            rc = add_run(s, &cap, paths[i], 0);
        }
    }
    if (!rc && s->n == 0) rc = vr_fail("no results to table");
    for (int i = 1; !rc && i < s->n; i++) {
        const vr_eval_run *a = &s->runs[0], *b = &s->runs[i];
        if (strcmp(a->bench, b->bench))
            rc = vr_fail("cannot mix benchmarks in one table: %s is '%s', %s is '%s' (make one table per benchmark)",
                         a->path, a->bench, b->path, b->bench);
        for (int j = 0; !rc && j < i; j++)
            if (!strcmp(s->runs[j].system, b->system))
                rc = vr_fail("system '%s' appears twice: %s and %s", b->system, s->runs[j].path, b->path);
    }
    for (int i = 1; !rc && i < s->n; i++)
        if (s->runs[i].n_clips != s->runs[0].n_clips) {
            VR_WARN("table: the results cover different numbers of clips (%s: %d, %s: %d): their numbers are not "
                    "directly comparable (see the clips column)",
                    s->runs[0].system, s->runs[0].n_clips, s->runs[i].system, s->runs[i].n_clips);
            break;
        }
    /* oracle rows first, the rest in the given order (insertion sort: stable) */
    for (int i = 1; !rc && i < s->n; i++) {
        vr_eval_run r = s->runs[i];
        int j = i;
        for (; j > 0 && kind_rank(s->runs[j - 1].kind) > kind_rank(r.kind); j--) s->runs[j] = s->runs[j - 1];
        s->runs[j] = r;
    }
    if (rc) vr_eval_set_free(s);
    return rc;
}

/* A value of the run by key: metrics, header.eval (flat "eval.x" keys, or nested), header, top level. */
static const cJSON *lookup_item(const vr_eval_run *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->metrics, key);
    if (v) return v;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(r->header, "eval");
    if (cJSON_IsObject(ev)) {
        if ((v = cJSON_GetObjectItemCaseSensitive(ev, key))) return v;
        char k2[256];
        snprintf(k2, sizeof k2, "eval.%s", key);
        if ((v = cJSON_GetObjectItemCaseSensitive(ev, k2))) return v;
        /* nested: "eval.a.b" -> eval{a{b}} */
        const char *p = strncmp(key, "eval.", 5) ? key : key + 5;
        v = ev;
        while (v && *p) {
            const char *dot = strchr(p, '.');
            size_t l = dot ? (size_t)(dot - p) : strlen(p);
            char part[128];
            if (l >= sizeof part) return NULL;
            memcpy(part, p, l);
            part[l] = 0;
            v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, part) : NULL;
            p = dot ? dot + 1 : p + l;
        }
        if (v && v != ev) return v;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(r->header, key))) return v;
    return cJSON_GetObjectItemCaseSensitive(r->root, key);
}

int vr_eval_lookup(const vr_eval_run *r, const char *key, double *v) {
    const cJSON *it = lookup_item(r, key);
    if (!cJSON_IsNumber(it)) return -1;
    *v = it->valuedouble;
    return 0;
}

static double metric(const vr_eval_run *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->metrics, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ---------------------------------------------------------------- columns */

static const struct {
    const char *prefix, *label;
    int better;
} FAMILIES[] = { /* <prefix><backbone>: longest prefixes first */
    {"fad_inf_clips_r2_", "FAD∞ clips r² ", 0}, {"fad_inf_clips_", "FAD∞ clips ", -1},
    {"fad_inf_r2_", "FAD∞ r² ", 0},    {"fad_ref_rank_", "ref. rank ", 0}, {"fad_inf_", "FAD∞ ", -1},
    {"per_clip_fad_", "FAD/clip ", -1}, {"fad_", "FAD ", -1},          {"precision_", "precision ", 1},
    {"recall_", "recall ", 1},         {"density_", "density ", 1},      {"coverage_", "coverage ", 1},
    {"s_per_10s_", "s/10 s ", -1},
};

static const struct {
    const char *key, *label;
    int better;
} NAMED[] = {
    {"kl", "KL", -1},
    {"is", "IS", 1},
    {"instrument_acc", "instrument acc", 1},
    {"pattern_acc", "pattern acc", 1},
    {"align_video_music", "video–music", 1},
    {"align_text_music", "text–music", 1},
    {"loris_bcs", "BCS", 1},
    {"loris_bhs", "BHS", 1},
    {"loris_f1", "beat F1", 1},
    {"d2m_bcs", "BCS (D2M)", 0}, /* |gen| / |true| beat bins: 1 is ideal, not larger or smaller */
    {"d2m_bhs", "BHS (D2M)", 1},
    {"tempo_acc1", "tempo Acc1", 1},
    {"tempo_acc2", "tempo Acc2", 1},
    {"tempo_mae", "tempo MAE", -1},
    {"mode_acc", "mode acc", 1},
    {"key_acc", "key acc", 1},
    {"s_per_10s", "s / 10 s", -1},
    {"rtf", "RTF", -1},
};

/* definitions whose key is not a prefix of the metric's */
static const struct {
    const char *prefix, *def;
} DEF_ALIASES[] = {
    {"precision_", "prdc"}, {"recall_", "prdc"},   {"density_", "prdc"},  {"coverage_", "prdc"},
    {"loris_", "beats"},    {"d2m_", "beats"},     {"mode_acc", "key"},   {"key_acc", "key"},
    {"s_per_10s", "latency"}, {"rtf", "latency"}, {"tempo_", "tempo"},
};

static int starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static int describe(const char *key, char **label, int *better) {
    *better = 0;
    for (size_t i = 0; i < sizeof NAMED / sizeof *NAMED; i++)
        if (!strcmp(key, NAMED[i].key)) {
            *better = NAMED[i].better;
            *label = strdup(NAMED[i].label);
            return *label ? 0 : vr_fail("out of memory");
        }
    for (size_t i = 0; i < sizeof FAMILIES / sizeof *FAMILIES; i++)
        if (starts(key, FAMILIES[i].prefix) && key[strlen(FAMILIES[i].prefix)]) {
            *better = FAMILIES[i].better;
            return asprintf(label, "%s%s", FAMILIES[i].label, key + strlen(FAMILIES[i].prefix)) < 0 ? vr_fail("out of memory") : 0;
        }
    size_t l = strlen(key);
    if (l > 4 && !strcmp(key + l - 4, "_acc")) *better = 1;
    *label = strdup(key);
    return *label ? 0 : vr_fail("out of memory");
}

/* Key of the definition text for a metric in the set's "definitions": the key itself, the
 * longest definition key that prefixes it at a '_', or an alias. NULL when none. */
static const char *find_def_key(const vr_eval_set *s, const char *key) {
    const char *best = NULL;
    for (int i = 0; i < s->n; i++) {
        const cJSON *d;
        cJSON_ArrayForEach(d, s->runs[i].definitions) {
            size_t l = strlen(d->string);
            if (!strcmp(d->string, key)) return d->string;
            if (!strncmp(key, d->string, l) && key[l] == '_' && (!best || l > strlen(best))) best = d->string;
        }
    }
    if (best) return best;
    for (size_t a = 0; a < sizeof DEF_ALIASES / sizeof *DEF_ALIASES; a++)
        if (starts(key, DEF_ALIASES[a].prefix))
            for (int i = 0; i < s->n; i++) {
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(s->runs[i].definitions, DEF_ALIASES[a].def);
                if (d) return d->string;
            }
    return NULL;
}

static const char *const PRESET_MAIN[] = {
    "fad_mel", "fad_tagger", "fad_inf_tagger|fad_inf_mel", "fad_inf_clips_mel", "kl", "is", "density_tagger|density_mel",
    "coverage_tagger|coverage_mel", "align_video_music", "align_text_music", "loris_bhs", "loris_bcs", "loris_f1",
    "tempo_acc1", "instrument_acc", NULL};
static const char *const PRESET_ABLATION[] = {
    "fad_mel", "fad_tagger", "fad_inf_tagger|fad_inf_mel", "fad_inf_clips_mel", "kl", "is", "align_video_music", "align_text_music",
    "loris_f1", "tempo_acc1", "instrument_acc", "pattern_acc", NULL};
static const char *const PRESET_LATENCY[] = {"s_per_10s", "rtf", "s_per_10s_*", "fad_mel", "fad_tagger", NULL};

/* Every metric key of the set, in order of first appearance (pointers into the runs). */
static int all_keys(const vr_eval_set *s, const char ***keys, int *n) {
    int cap = 0;
    *keys = NULL;
    *n = 0;
    for (int i = 0; i < s->n; i++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, s->runs[i].metrics) {
            int seen = 0;
            for (int k = 0; k < *n && !seen; k++) seen = !strcmp((*keys)[k], m->string);
            if (seen) continue;
            if (*n == cap) {
                cap = cap ? 2 * cap : 32;
                const char **nk = realloc(*keys, (size_t)cap * sizeof *nk);
                if (!nk) return vr_fail("out of memory");
                *keys = nk;
            }
            (*keys)[(*n)++] = m->string;
        }
    }
    return 0;
}

static int key_present(const vr_eval_set *s, const char *key, int *measured) {
    int present = 0;
    *measured = 0;
    for (int i = 0; i < s->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->runs[i].metrics, key);
        present |= v != NULL;
        *measured |= cJSON_IsNumber(v);
    }
    return present;
}

static int add_col(vr_table *t, int *cap, const vr_eval_set *s, const char *key) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c].key, key)) return 0;
    if (t->n_cols == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        vr_table_col *nc = realloc(t->cols, (size_t)*cap * sizeof *nc);
        if (!nc) return vr_fail("out of memory");
        t->cols = nc;
    }
    vr_table_col *col = &t->cols[t->n_cols];
    memset(col, 0, sizeof *col);
    col->speedup_ref = -1;
    col->key = strdup(key);
    const char *dk = find_def_key(s, key);
    col->def_key = dk ? strdup(dk) : NULL;
    t->n_cols++;
    if (!col->key || (dk && !col->def_key)) return vr_fail("out of memory");
    return describe(key, &col->label, &col->better);
}

/* One column spec "a|b|c" (or "prefix*"): the first alternative measured, else the first present. */
static int add_spec(vr_table *t, int *cap, const vr_eval_set *s, const char *spec, int from_preset, const char **keys,
                    int n_keys) {
    size_t sl = strlen(spec);
    if (sl && spec[sl - 1] == '*') {
        int matched = 0;
        for (int k = 0; k < n_keys; k++)
            if (!strncmp(keys[k], spec, sl - 1) && (++matched, add_col(t, cap, s, keys[k]))) return -1;
        if (!matched && !from_preset) return vr_fail("--columns: no result has a metric matching '%s'", spec);
        return 0;
    }
    char *copy = strdup(spec), *save = NULL;
    if (!copy) return vr_fail("out of memory");
    const char *first_present = NULL, *chosen = NULL;
    for (char *alt = strtok_r(copy, "|", &save); alt && !chosen; alt = strtok_r(NULL, "|", &save)) {
        int measured;
        if (!key_present(s, alt, &measured)) continue;
        if (measured) chosen = alt;
        else if (!first_present) first_present = alt;
    }
    if (!chosen) chosen = first_present;
    int rc = 0;
    if (chosen) {
        rc = add_col(t, cap, s, chosen);
    } else if (from_preset) {
        VR_INFO("table: no result has %s; column left out", spec);
    } else {
        size_t n = 0;
        for (int k = 0; k < n_keys; k++) n += strlen(keys[k]) + 2;
        char *avail = malloc(n + 1);
        if (avail) {
            avail[0] = 0;
            for (int k = 0; k < n_keys; k++) strcat(strcat(avail, k ? ", " : ""), keys[k]);
        }
        rc = vr_fail("--columns: no result has metric '%s' (available: %s)", spec, avail ? avail : "?");
        free(avail);
    }
    free(copy);
    return rc;
}

static void set_decimals(vr_table *t, int c) {
    double maxabs = 0;
    int any = 0, integral = 1;
    for (int r = 0; r < t->set->n; r++) {
        double x = t->v[(size_t)r * t->n_cols + c];
        if (!isfinite(x)) continue;
        any = 1;
        if (fabs(x) > maxabs) maxabs = fabs(x);
        if (x != floor(x)) integral = 0;
    }
    int d = 3;
    if (any && integral && maxabs >= 2 && maxabs < 1e9) d = 0; /* counts, ranks; not 0/1 rates */
    else if (maxabs >= 100) d = 1;
    else if (maxabs >= 10) d = 2;
    else if (any && maxabs < 0.01 && maxabs > 0) d = -1;
    t->cols[c].decimals = d;
}

void vr_table_free(vr_table *t) {
    for (int c = 0; c < t->n_cols; c++) {
        free(t->cols[c].key);
        free(t->cols[c].label);
        free(t->cols[c].def_key);
        free(t->cols[c].speedup_pattern);
        free(t->cols[c].speedup_key);
        free(t->cols[c].definition);
    }
    free(t->cols);
    free(t->v);
    free(t->speedup_vs);
    memset(t, 0, sizeof *t);
}

/* ---- speedup columns (--speedup-vs) ---- */

/* A metric-key part from a glob or a key: glob characters dropped, [A-Za-z0-9_] kept, others '_'. */
static void key_part(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        if (strchr("*?[]", *s)) continue;
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_';
        out[k++] = ok ? *s : '_';
    }
    while (k > 0 && out[k - 1] == '_') k--;
    out[k] = 0;
}

static int is_peer(const vr_eval_set *s, const vr_table_col *col, int r) {
    return !vr_eval_is_oracle(&s->runs[r]) && !fnmatch(col->speedup_pattern, s->runs[r].system, 0);
}

/* Row r's value of a speedup column: the reference's s_per_10s over the row's (NAN: not measured,
 * or no system qualifies). */
static double speedup_value(const vr_eval_set *s, const vr_table_col *col, int r) {
    double own = metric(&s->runs[r], "s_per_10s");
    if (!(own > 0)) return NAN;
    if (col->speedup_ref >= 0) return metric(&s->runs[col->speedup_ref], "s_per_10s") / own;
    double ref = NAN, mine, theirs;
    if (col->speedup_mode == 's') { /* the peer at the same KEY */
        if (vr_eval_lookup(&s->runs[r], col->speedup_key, &mine)) return NAN;
        for (int p = 0; p < s->n; p++)
            if (is_peer(s, col, p) && !vr_eval_lookup(&s->runs[p], col->speedup_key, &theirs) && theirs == mine)
                ref = metric(&s->runs[p], "s_per_10s");
    } else { /* the fastest peer no better on METRIC than the row */
        char *label = NULL;
        int better = -1;
        describe(col->speedup_key, &label, &better);
        free(label);
        if (!isfinite(mine = metric(&s->runs[r], col->speedup_key))) return NAN;
        for (int p = 0; p < s->n; p++) {
            double t = metric(&s->runs[p], "s_per_10s");
            theirs = metric(&s->runs[p], col->speedup_key);
            int no_better = better > 0 ? theirs <= mine : theirs >= mine;
            if (is_peer(s, col, p) && t > 0 && isfinite(theirs) && no_better && !(t >= ref)) ref = t;
        }
    }
    return ref / own;
}

/* One --speedup-vs spec: a system, PATTERN@same:KEY or PATTERN@equal:METRIC. */
static int add_speedup_col(vr_table *t, int *cap, const vr_eval_set *s, char *spec) {
    char *at = strchr(spec, '@'), mode = 0, key[300];
    const char *what = NULL;
    if (at) {
        *at = 0;
        if (!strncmp(at + 1, "same:", 5)) mode = 's', what = at + 6;
        else if (!strncmp(at + 1, "equal:", 6)) mode = 'e', what = at + 7;
        if (!mode || !*what || !*spec)
            return vr_fail("--speedup-vs '%s@%s': expected SYSTEM, PATTERN@same:KEY or PATTERN@equal:METRIC", spec,
                           at + 1);
    }
    int sv = -1, n_peers = 0;
    for (int r = 0; r < s->n; r++) {
        if (!mode && !strcmp(s->runs[r].system, spec)) sv = r;
        if (mode && !vr_eval_is_oracle(&s->runs[r]) && !fnmatch(spec, s->runs[r].system, 0)) n_peers++;
    }
    if (!mode && sv < 0) return vr_fail("--speedup-vs '%s': no such system in the table", spec);
    if (!mode && !(metric(&s->runs[sv], "s_per_10s") > 0))
        return vr_fail("--speedup-vs '%s': its s_per_10s is not measured (%s)", spec, s->runs[sv].path);
    if (mode && !n_peers) return vr_fail("--speedup-vs '%s@...': no system in the table matches '%s'", spec, spec);
    int measured;
    if (mode == 'e' && !key_present(s, what, &measured))
        return vr_fail("--speedup-vs '%s@equal:%s': no result has the metric '%s'", spec, what, what);
    char plain[120], wk[120];
    key_part(spec, plain, sizeof plain);
    key_part(what ? what : "", wk, sizeof wk);
    if (!mode) snprintf(key, sizeof key, "speedup_vs_%s", spec);
    else snprintf(key, sizeof key, "speedup_%s_%s_vs_%s", mode == 's' ? "same" : "equal", wk, plain);
    int before = t->n_cols, rc = add_col(t, cap, s, key);
    if (!rc && t->n_cols == before) return vr_fail("--speedup-vs: the results already have a metric '%s'", key);
    if (rc) return rc;
    vr_table_col *col = &t->cols[t->n_cols - 1];
    free(col->label);
    col->label = NULL;
    col->better = 1;
    col->speedup_ref = sv;
    col->speedup_mode = mode;
    if (!mode)
        return asprintf(&col->label, "speedup × vs %s", spec) < 0 ? vr_fail("out of memory") : 0;
    char *mlabel = NULL;
    int better = 0;
    if (mode == 'e' && describe(what, &mlabel, &better)) return -1;
    /* the label names the group without glob characters (a '*' would turn Markdown into emphasis);
     * the definition quotes the pattern as code */
    char name[120];
    size_t k = 0;
    for (const char *c = spec; *c && k + 1 < sizeof name; c++)
        if (!strchr("*?[]", *c)) name[k++] = *c;
    while (k > 0 && name[k - 1] == '_') k--;
    name[k] = 0;
    int ok = (col->speedup_pattern = strdup(spec)) && (col->speedup_key = strdup(what));
    if (ok && mode == 's')
        ok = asprintf(&col->label, "speedup × vs %s, same %s", name, what) >= 0 &&
             asprintf(&col->definition,
                      "s_per_10s of the system matching `%s` with the same %s as the row, divided by the row's "
                      "s_per_10s (—: no such system).",
                      spec, what) >= 0;
    else if (ok)
        ok = asprintf(&col->label, "speedup × vs %s at equal or better %s", name, mlabel) >= 0 &&
             asprintf(&col->definition,
                      "s_per_10s of the fastest system matching `%s` whose %s is no better than the row's, "
                      "divided by the row's s_per_10s: how many times faster the row is than %s at equal or "
                      "better %s (—: every such system is better on %s, or a value is not measured).",
                      spec, mlabel, name, mlabel, mlabel) >= 0;
    free(mlabel);
    return ok ? 0 : vr_fail("out of memory");
}

int vr_table_build(vr_table *t, const vr_eval_set *s, const char *preset, const char *columns, const char *speedup_vs) {
    memset(t, 0, sizeof *t);
    t->set = s;
    if (preset && columns) return vr_fail("--preset and --columns: choose one");
    const char *const *specs = NULL;
    if (preset) {
        if (!strcmp(preset, "main")) specs = PRESET_MAIN;
        else if (!strcmp(preset, "ablation")) specs = PRESET_ABLATION;
        else if (!strcmp(preset, "latency")) specs = PRESET_LATENCY;
        else return vr_fail("--preset '%s': expected main, ablation or latency", preset);
    }
    const char **keys = NULL;
    int n_keys = 0, cap = 0;
    int rc = all_keys(s, &keys, &n_keys);
    if (!rc && specs) {
        for (int i = 0; !rc && specs[i]; i++) rc = add_spec(t, &cap, s, specs[i], 1, keys, n_keys);
    } else if (!rc && columns) {
        char *copy = strdup(columns), *save = NULL;
        if (!copy) rc = vr_fail("out of memory");
        for (char *c = copy ? strtok_r(copy, ",", &save) : NULL; !rc && c; c = strtok_r(NULL, ",", &save)) {
            while (*c == ' ') c++;
            char *e = c + strlen(c);
            while (e > c && e[-1] == ' ') *--e = 0;
            if (*c) rc = add_spec(t, &cap, s, c, 0, keys, n_keys);
        }
        free(copy);
        if (!rc && t->n_cols == 0) rc = vr_fail("--columns '%s' names no metric", columns);
    } else {
        for (int k = 0; !rc && k < n_keys; k++) rc = add_col(t, &cap, s, keys[k]);
    }
    free(keys);
    char *refs = speedup_vs && !rc ? strdup(speedup_vs) : NULL, *save = NULL;
    if (speedup_vs && !rc && !(refs && (t->speedup_vs = strdup(speedup_vs)))) rc = vr_fail("out of memory");
    for (char *spec = refs ? strtok_r(refs, ",", &save) : NULL; !rc && spec; spec = strtok_r(NULL, ",", &save))
        rc = add_speedup_col(t, &cap, s, spec);
    free(refs);
    if (!rc && !(t->v = malloc((size_t)s->n * (t->n_cols ? t->n_cols : 1) * sizeof *t->v))) rc = vr_fail("out of memory");
    for (int r = 0; !rc && r < s->n; r++)
        for (int c = 0; c < t->n_cols; c++) {
            const vr_table_col *col = &t->cols[c];
            t->v[(size_t)r * t->n_cols + c] = col->speedup_ref >= 0 || col->speedup_mode
                                                  ? speedup_value(s, col, r)
                                                  : metric(&s->runs[r], col->key);
        }
    for (int c = 0; !rc && c < t->n_cols; c++) set_decimals(t, c);
    if (rc) vr_table_free(t);
    return rc;
}

/* ---------------------------------------------------------------- cells */

static void format_value(double x, int decimals, char *buf) {
    if (!isfinite(x)) strcpy(buf, "—");
    else if (decimals < 0) snprintf(buf, 64, "%.2e", x);
    else snprintf(buf, 64, "%.*f", decimals, x);
}

int vr_table_is_best(const vr_table *t, int r, int c) {
    const vr_table_col *col = &t->cols[c];
    if (!col->better || vr_eval_is_oracle(&t->set->runs[r])) return 0;
    double x = t->v[(size_t)r * t->n_cols + c];
    if (!isfinite(x)) return 0;
    double best = NAN;
    int n = 0;
    for (int i = 0; i < t->set->n; i++) {
        double y = t->v[(size_t)i * t->n_cols + c];
        if (vr_eval_is_oracle(&t->set->runs[i]) || !isfinite(y)) continue;
        n++;
        if (!isfinite(best) || (col->better < 0 ? y < best : y > best)) best = y;
    }
    /* ties as shown count as ties; when every system ties, nothing stands out */
    char a[64], b[64], o[64];
    format_value(x, col->decimals, a);
    format_value(best, col->decimals, b);
    if (n < 2 || strcmp(a, b)) return 0;
    for (int i = 0; i < t->set->n; i++) {
        double y = t->v[(size_t)i * t->n_cols + c];
        if (vr_eval_is_oracle(&t->set->runs[i]) || !isfinite(y)) continue;
        format_value(y, col->decimals, o);
        if (strcmp(o, b)) return 1;
    }
    return 0;
}

const char *vr_table_cell(const vr_table *t, int r, int c, int bold, char *buf) {
    char v[64];
    format_value(t->v[(size_t)r * t->n_cols + c], t->cols[c].decimals, v);
    if (bold && vr_table_is_best(t, r, c)) snprintf(buf, 64, "**%s**", v);
    else strcpy(buf, v);
    return buf;
}

/* ---------------------------------------------------------------- Markdown */

static int text_width(const char *s) { /* code points: enough for the arrows, ∞ and — used here */
    int w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void md_code(FILE *f, const char *s) {
    if (strchr(s, '`')) fprintf(f, "`` %s ``", s);
    else fprintf(f, "`%s`", s);
}

static void md_plain(FILE *f, const char *s) { /* outside tables: one line */
    for (; *s; s++) fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static const char *arrow(int better) { return better < 0 ? " ↓" : better > 0 ? " ↑" : ""; }

static const char *header_str(const vr_eval_run *r, const char *k) { /* checked at load */
    const char *v = str_field(r->header, k);
    return v ? v : "";
}

/* "- **field**: `value` — systems" lines, identical values grouped */
static void md_grouped(FILE *f, const vr_eval_set *s, const char *field, int code) {
    char *done = calloc((size_t)s->n, 1);
    if (!done) return;
    for (int i = 0; i < s->n; i++) {
        if (done[i]) continue;
        const char *v = header_str(&s->runs[i], field);
        int n_same = 0;
        for (int j = i; j < s->n; j++) n_same += !strcmp(v, header_str(&s->runs[j], field));
        fprintf(f, "- %s: ", field);
        if (code) md_code(f, v);
        else md_plain(f, v);
        if (n_same == s->n && s->n > 1) fprintf(f, " — all systems\n");
        else {
            fprintf(f, " — ");
            for (int j = i, k = 0; j < s->n; j++)
                if (!strcmp(v, header_str(&s->runs[j], field))) {
                    fprintf(f, "%s", k++ ? ", " : "");
                    md_plain(f, s->runs[j].system);
                    done[j] = 1;
                }
            fputc('\n', f);
        }
        if (n_same == s->n) break;
    }
    free(done);
}

static void now_utc(char *buf, size_t n) {
    time_t now = time(NULL);
    struct tm tm;
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
}

/* The definition text of a column, warning once per key when the JSONs disagree. */
static const char *def_text(const vr_table *t, const vr_table_col *col, int *differs) {
    const char *text = NULL;
    *differs = 0;
    if (col->definition) return col->definition;
    if (col->speedup_ref >= 0)
        return "s_per_10s of the named system divided by the row's s_per_10s: how many times faster the row generates.";
    for (int i = 0; col->def_key && i < t->set->n; i++) {
        const char *d = str_field(t->set->runs[i].definitions, col->def_key);
        if (d && !text) text = d;
        else if (d && strcmp(d, text)) *differs = 1;
    }
    return text;
}

const char *vr_table_definition(const vr_table *t, int c) {
    int differs;
    return def_text(t, &t->cols[c], &differs);
}

int vr_table_write_markdown(const vr_table *t, FILE *f, const char *title, const char *command) {
    const vr_eval_set *s = t->set;
    char now[64];
    now_utc(now, sizeof now);
    fprintf(f, "# ");
    if (title) md_plain(f, title);
    else fprintf(f, "Benchmark %s", s->runs[0].bench);
    fprintf(f, "\n\nBenchmark `%s`, %d system%s", s->runs[0].bench, s->n, s->n > 1 ? "s" : "");
    if (command) {
        fprintf(f, "; table made by ");
        md_code(f, command);
    }
    fprintf(f, " on %s.\n\nRuns (from each result's header):\n\n", now);
    md_grouped(f, s, "command", 1);
    md_grouped(f, s, "commit", 1);
    md_grouped(f, s, "machine", 0);
    fprintf(f, "- date, wall time: ");
    for (int i = 0; i < s->n; i++) {
        fprintf(f, "%s", i ? "; " : "");
        md_plain(f, s->runs[i].system);
        fprintf(f, " %s, %.1f s", header_str(&s->runs[i], "date"),
                cJSON_GetObjectItemCaseSensitive(s->runs[i].header, "wall_s")->valuedouble);
    }
    fprintf(f, "\n\n");

    /* cells: header row + one row per system; columns: system, clips, metrics */
    int nc = t->n_cols + 2, nr = s->n + 1;
    char **cell = calloc((size_t)nc * nr, sizeof *cell);
    int *w = calloc((size_t)nc, sizeof *w), rc = cell && w ? 0 : vr_fail("out of memory");
    for (int c = 0; !rc && c < nc; c++)
        for (int r = 0; r < nr; r++) {
            char buf[64], *v = NULL;
            if (r == 0) {
                if (c == 0) v = strdup("system");
                else if (c == 1) v = strdup("clips");
                else if (asprintf(&v, "%s%s", t->cols[c - 2].label, arrow(t->cols[c - 2].better)) < 0) v = NULL;
            } else if (c == 0) {
                const char *sys = s->runs[r - 1].system;
                char *o = v = malloc(2 * strlen(sys) + 1);
                for (; o && *sys; sys++) {
                    if (*sys == '|') *o++ = '\\'; /* a pipe would split the cell */
                    *o++ = *sys;
                }
                if (o) *o = 0;
            } else if (c == 1) {
                if (asprintf(&v, "%d", s->runs[r - 1].n_clips) < 0) v = NULL;
            } else {
                v = strdup(vr_table_cell(t, r - 1, c - 2, 1, buf));
            }
            if (!v) {
                rc = vr_fail("out of memory");
                break;
            }
            cell[(size_t)r * nc + c] = v;
            if (text_width(v) > w[c]) w[c] = text_width(v);
        }
    for (int r = 0; !rc && r < nr; r++) {
        for (int c = 0; c < nc; c++) {
            const char *v = cell[(size_t)r * nc + c];
            int pad = w[c] - text_width(v);
            fprintf(f, "| ");
            if (c == 0) fprintf(f, "%s%*s ", v, pad, "");
            else fprintf(f, "%*s%s ", pad, "", v);
        }
        fprintf(f, "|\n");
        if (r == 0) {
            for (int c = 0; c < nc; c++) {
                fprintf(f, "|%s", c == 0 ? ":" : "");
                for (int k = 0; k <= w[c]; k++) fputc('-', f);
                fprintf(f, "%s", c == 0 ? "" : ":");
            }
            fprintf(f, "|\n");
        }
    }
    for (int i = 0; cell && i < nc * nr; i++) free(cell[i]);
    free(cell);
    free(w);
    if (rc) return rc;

    fprintf(f, "\n↓ / ↑: lower / higher is better; **bold**: the best system in the column (oracle rows excluded); "
               "—: not measured. `oracle`: the reference music itself; `oracle_decoded`: the reference's latents "
               "through the same decoder as generated audio (the decoder's ceiling).\n\nDefinitions:\n\n");
    /* one line per definition text, naming the columns it covers */
    for (int c = 0; c < t->n_cols; c++) {
        const vr_table_col *col = &t->cols[c];
        int first = 1, differs = 0;
        for (int p = 0; p < c && first; p++)
            first = !(col->def_key && t->cols[p].def_key && !strcmp(col->def_key, t->cols[p].def_key));
        if (!first) continue;
        const char *text = def_text(t, col, &differs);
        fprintf(f, "- ");
        for (int q = c, k = 0; q < t->n_cols; q++)
            if (q == c || (col->def_key && t->cols[q].def_key && !strcmp(col->def_key, t->cols[q].def_key)))
                fprintf(f, "%s**%s** (`%s`)", k++ ? ", " : "", t->cols[q].label, t->cols[q].key);
        if (text) {
            fprintf(f, ": ");
            md_plain(f, text);
        } else {
            fprintf(f, ": no definition in the results");
        }
        if (differs) {
            fprintf(f, " **(the results give different definitions of `%s`: compare their JSONs)**", col->def_key);
            VR_WARN("table: the results define '%s' differently; the first is shown", col->def_key);
        }
        fputc('\n', f);
    }
    return ferror(f) ? vr_fail("writing the Markdown table: %s", strerror(errno)) : 0;
}

/* ---------------------------------------------------------------- CSV, JSON */

static void csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_number(FILE *f, double x) {
    if (!isfinite(x)) return;
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", x);
    if (strtod(buf, NULL) != x) snprintf(buf, sizeof buf, "%.17g", x);
    fputs(buf, f);
}

int vr_table_write_csv(const vr_table *t, FILE *f) {
    fprintf(f, "system,kind,n_clips");
    for (int c = 0; c < t->n_cols; c++) {
        fputc(',', f);
        csv_field(f, t->cols[c].key);
    }
    fputc('\n', f);
    for (int r = 0; r < t->set->n; r++) {
        csv_field(f, t->set->runs[r].system);
        fprintf(f, ",%s,%d", t->set->runs[r].kind, t->set->runs[r].n_clips);
        for (int c = 0; c < t->n_cols; c++) {
            fputc(',', f);
            csv_number(f, t->v[(size_t)r * t->n_cols + c]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? vr_fail("writing the CSV table: %s", strerror(errno)) : 0;
}

int vr_table_write_json(const vr_table *t, FILE *f, const char *title, const char *command) {
    char now[64];
    now_utc(now, sizeof now);
    cJSON *root = cJSON_CreateObject(), *cols = cJSON_CreateArray(), *rows = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "format", VR_TABLE_FORMAT);
    cJSON_AddStringToObject(root, "bench", t->set->runs[0].bench);
    if (title) cJSON_AddStringToObject(root, "title", title);
    else cJSON_AddNullToObject(root, "title");
    if (command) cJSON_AddStringToObject(root, "command", command);
    else cJSON_AddNullToObject(root, "command");
    cJSON_AddStringToObject(root, "date", now);
    for (int c = 0; c < t->n_cols; c++) {
        cJSON *o = cJSON_CreateObject();
        int differs;
        const char *text = def_text(t, &t->cols[c], &differs);
        cJSON_AddStringToObject(o, "key", t->cols[c].key);
        cJSON_AddStringToObject(o, "label", t->cols[c].label);
        if (t->cols[c].better) cJSON_AddStringToObject(o, "better", t->cols[c].better < 0 ? "lower" : "higher");
        else cJSON_AddNullToObject(o, "better");
        if (text) cJSON_AddStringToObject(o, "definition", text);
        else cJSON_AddNullToObject(o, "definition");
        cJSON_AddItemToArray(cols, o);
    }
    for (int r = 0; r < t->set->n; r++) {
        const vr_eval_run *run = &t->set->runs[r];
        cJSON *o = cJSON_CreateObject(), *vals = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "system", run->system);
        cJSON_AddStringToObject(o, "kind", run->kind);
        cJSON_AddNumberToObject(o, "n_clips", run->n_clips);
        cJSON_AddStringToObject(o, "file", run->path);
        cJSON_AddItemToObject(o, "header", cJSON_Duplicate(run->header, 1));
        for (int c = 0; c < t->n_cols; c++) {
            double x = t->v[(size_t)r * t->n_cols + c];
            if (isfinite(x)) cJSON_AddNumberToObject(vals, t->cols[c].key, x);
            else cJSON_AddNullToObject(vals, t->cols[c].key);
        }
        cJSON_AddItemToObject(o, "values", vals);
        cJSON_AddItemToArray(rows, o);
    }
    cJSON_AddItemToObject(root, "columns", cols);
    cJSON_AddItemToObject(root, "rows", rows);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return vr_fail("out of memory");
    fprintf(f, "%s\n", text);
    free(text);
    return ferror(f) ? vr_fail("writing the JSON table: %s", strerror(errno)) : 0;
}

/* ---------------------------------------------------------------- gnuplot */

/* A file name part: [A-Za-z0-9._-], anything else '_'. */
static void safe_name(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++, k++) {
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
                 (*s == '.' && k > 0);
        out[k] = ok ? *s : '_';
    }
    out[k] = 0;
}

/* gnuplot single-quoted string: '' is a quote */
static void gp_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

/* data-file string column: double quotes, inner ones dropped */
static void gp_datastr(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++)
        if (*s != '"' && *s != '\n') fputc(*s, f);
    fputc('"', f);
}

/* data-file comment line */
static void gp_comment(FILE *f, const char *s) {
    fputs("# ", f);
    for (; *s; s++) fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    fputc('\n', f);
}

static void gp_num(FILE *f, double x) {
    if (isfinite(x)) fprintf(f, "%.10g", x);
    else fprintf(f, "NaN");
}

int vr_gnuplot_run(const char *dir, const char *name) {
    char tmp[512], logp[4096], expr[600], script[512];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d.png", name, (int)getpid());
    snprintf(script, sizeof script, "%s.gp", name);
    snprintf(expr, sizeof expr, "outfile='%s'", tmp);
    snprintf(logp, sizeof logp, "%s/.%s.gnuplot.%d.log", dir, name, (int)getpid());
    int fd = open(logp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return vr_fail("cannot create %s: %s", logp, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* only async-signal-safe calls between fork and exec */
        static const char no_dir[] = "cannot enter the plot folder\n", no_gp[] = "cannot run gnuplot (install gnuplot-nox)\n";
        ssize_t ignored = 0;
        if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        if (chdir(dir) != 0) {
            ignored = write(2, no_dir, sizeof no_dir - 1);
            _exit(126);
        }
        execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);
        ignored = write(2, no_gp, sizeof no_gp - 1);
        (void)ignored;
        _exit(127);
    }
    close(fd);
    int st = 0;
    if (pid < 0) {
        unlink(logp);
        return vr_fail("cannot start gnuplot: %s", strerror(errno));
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    char *log = NULL;
    size_t n = 0;
    if (vr_read_file(logp, &log, &n)) log = NULL;
    unlink(logp);
    while (log && n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' ')) log[--n] = 0;
    char tmp_path[4096], png[4096];
    snprintf(tmp_path, sizeof tmp_path, "%s/%s", dir, tmp);
    snprintf(png, sizeof png, "%s/%s.png", dir, name);
    int rc = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        rc = vr_fail("gnuplot failed on %s/%s (status %d): %.1500s", dir, script, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                     log && *log ? log : "no message");
    else if (!vr_file_exists(tmp_path))
        rc = vr_fail("gnuplot wrote no image for %s/%s: %.1500s", dir, script, log && *log ? log : "no message");
    else if (rename(tmp_path, png))
        rc = vr_fail("renaming %s to %s: %s", tmp_path, png, strerror(errno));
    if (!rc && log && *log) VR_WARN("gnuplot (%s/%s): %s", dir, script, log);
    if (rc) unlink(tmp_path);
    free(log);
    return rc;
}

/* Write dir/<name>.dat and dir/<name>.gp from memory streams, then run gnuplot. */
static int plot_files(const char *dir, const char *name, char *data, size_t nd, char *gp, size_t ngp) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    int rc = vr_write_file_atomic(path, data, nd);
    snprintf(path, sizeof path, "%s/%s.gp", dir, name);
    if (!rc) rc = vr_write_file_atomic(path, gp, ngp);
    if (!rc) rc = vr_gnuplot_run(dir, name);
    if (!rc) printf("%s/%s.png\n", dir, name);
    return rc;
}

static void gp_preamble(FILE *g, const char *name, int w, int h) {
    fprintf(g, "# made by vrobin table; run `gnuplot %s.gp` in this folder to redraw %s.png\n"
               "if (!exists(\"outfile\")) outfile = '%s.png'\n"
               "set encoding utf8\nset terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,10'\n"
               "set output outfile\nset grid\n",
            name, name, name, w, h);
}

static const char *const PALETTE[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22"};

/* colour of row r: greys for the oracles, then the palette */
static unsigned colour(const vr_eval_set *s, int r) {
    if (!strcmp(s->runs[r].kind, "oracle")) return 0x555555;
    if (!strcmp(s->runs[r].kind, "oracle_decoded")) return 0xaaaaaa;
    int k = 0;
    for (int i = 0; i < r; i++) k += !vr_eval_is_oracle(&s->runs[i]);
    return (unsigned)strtoul(PALETTE[k % (int)(sizeof PALETTE / sizeof *PALETTE)] + 1, NULL, 16);
}

/* FAD against 1/n for one backbone, every system with points, and its least-squares line. */
static int plot_fad_inf(const vr_table *t, const char *dir, const char *bb) {
    const vr_eval_set *s = t->set;
    char *data = NULL, *gp = NULL, name[200], sbb[128];
    size_t nd = 0, ngp = 0;
    safe_name(bb, sbb, sizeof sbb);
    snprintf(name, sizeof name, "fad_inf_%s", sbb);
    FILE *d = open_memstream(&data, &nd), *g = open_memstream(&gp, &ngp);
    int rc = d && g ? 0 : vr_fail("out of memory"), block = 0;
    if (!rc) {
        gp_preamble(g, name, 1000, 620);
        fprintf(g, "set title ");
        char title[300];
        snprintf(title, sizeof title, "%s: FAD against 1/n and its fit FAD = a + b/n (FAD∞ = a), backbone %s",
                 s->runs[0].bench, bb);
        gp_quoted(g, title);
        fprintf(g, "\nset xlabel '1 / n   (n = embedding windows in the subsample)'\nset ylabel 'FAD'\n"
                   "set key outside right top\nset xrange [0:*]\nset format x '%%.1e'\nplot ");
    }
    for (int r = 0; !rc && r < s->n; r++) {
        const vr_eval_run *run = &s->runs[r];
        const cJSON *p = run->points ? cJSON_GetObjectItemCaseSensitive(run->points, bb) : NULL;
        if (!p) continue;
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(p, "n"), *fs = cJSON_GetObjectItemCaseSensitive(p, "fad");
        int k = cJSON_GetArraySize(ns);
        if (!cJSON_IsArray(ns) || !cJSON_IsArray(fs) || k != cJSON_GetArraySize(fs) || k < 2) {
            rc = vr_fail("%s: fad_inf_points.%s: expected arrays \"n\" and \"fad\" of one length >= 2", run->path, bb);
            break;
        }
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        gp_comment(d, run->system);
        for (int i = 0; !rc && i < k; i++) {
            const cJSON *a = cJSON_GetArrayItem(ns, i), *b = cJSON_GetArrayItem(fs, i);
            if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(a->valuedouble > 0) || !isfinite(b->valuedouble)) {
                rc = vr_fail("%s: fad_inf_points.%s[%d]: n must be a positive number and fad a number", run->path, bb, i);
                break;
            }
            double x = 1.0 / a->valuedouble, y = b->valuedouble;
            sx += x, sy += y, sxx += x * x, sxy += x * y;
            fprintf(d, "%.10g %.10g\n", x, y);
        }
        if (rc) break;
        fprintf(d, "\n\n");
        double den = k * sxx - sx * sx, slope = den > 0 ? (k * sxy - sx * sy) / den : 0, a = (sy - slope * sx) / k;
        if (!(den > 0)) VR_WARN("table: %s: every FAD∞ point of %s has the same n; no slope to fit", run->path, bb);
        char key[160];
        snprintf(key, sizeof key, "fad_inf_%s", bb);
        double rep = metric(run, key);
        if (isfinite(rep) && fabs(rep - a) > 1e-6 * (1 + fabs(rep)))
            VR_WARN("table: %s: %s is %.6g but its fad_inf_points fit a = %.6g", run->path, key, rep, a);
        char title[300];
        snprintf(title, sizeof title, "%s: FAD∞ %.4g", run->system, a);
        fprintf(g, "%s'%s.dat' index %d using 1:2 with points pt 7 ps 0.8 lc rgb '#%06x' title ", block ? ", \\\n  " : "",
                name, block, colour(s, r));
        gp_quoted(g, title);
        fprintf(g, ", %.17g + %.17g * x with lines lw 2 lc rgb '#%06x' notitle", a, slope, colour(s, r));
        block++;
    }
    if (g) fprintf(g, "\nset output\n");
    if (d) fclose(d);
    if (g) fclose(g);
    if (!rc && block) rc = plot_files(dir, name, data, nd, gp, ngp);
    free(data);
    free(gp);
    return rc;
}

/* One bar panel per column with a measured value. */
static int plot_metrics(const vr_table *t, const char *dir) {
    const vr_eval_set *s = t->set;
    int *show = calloc((size_t)t->n_cols + 1, sizeof *show), k = 0;
    if (!show) return vr_fail("out of memory");
    for (int c = 0; c < t->n_cols; c++) {
        for (int r = 0; r < s->n && !show[c]; r++) show[c] = isfinite(t->v[(size_t)r * t->n_cols + c]);
        k += show[c];
    }
    if (!k) {
        VR_INFO("table: no measured metric; metrics.png not drawn");
        free(show);
        return 0;
    }
    char *data = NULL, *gp = NULL;
    size_t nd = 0, ngp = 0;
    FILE *d = open_memstream(&data, &nd), *g = open_memstream(&gp, &ngp);
    int rc = d && g ? 0 : vr_fail("out of memory");
    if (!rc) {
        int cols = k < 4 ? k : 4, rows = (k + cols - 1) / cols;
        fprintf(d, "# system colour");
        for (int c = 0; c < t->n_cols; c++) fprintf(d, " %s", t->cols[c].key);
        fputc('\n', d);
        for (int r = 0; r < s->n; r++) {
            gp_datastr(d, s->runs[r].system);
            fprintf(d, " %u", colour(s, r));
            for (int c = 0; c < t->n_cols; c++) fputc(' ', d), gp_num(d, t->v[(size_t)r * t->n_cols + c]);
            fputc('\n', d);
        }
        gp_preamble(g, "metrics", 330 * cols, 300 * rows + 40);
        char title[300];
        snprintf(title, sizeof title, "%s: metrics per system (↓/↑ = lower/higher is better)", s->runs[0].bench);
        fprintf(g, "set multiplot layout %d,%d title ", rows, cols);
        gp_quoted(g, title);
        fprintf(g, "\nunset key\nset style fill solid 0.85 border -1\nset boxwidth 0.7\nset grid noxtics ytics\n"
                   "set xtics rotate by 35 right\nset xrange [-0.6:%g]\nset offsets 0,0,graph 0.12,0\n",
                s->n - 0.4);
        for (int c = 0; c < t->n_cols; c++) {
            if (!show[c]) continue;
            char label[200], fmt[16];
            snprintf(label, sizeof label, "%s%s", t->cols[c].label, arrow(t->cols[c].better));
            if (t->cols[c].decimals < 0) snprintf(fmt, sizeof fmt, "%%.2e");
            else snprintf(fmt, sizeof fmt, "%%.%df", t->cols[c].decimals);
            int negative = 0;
            for (int r = 0; r < s->n; r++) negative |= t->v[(size_t)r * t->n_cols + c] < 0;
            fprintf(g, "set yrange [%s:*]\nset title ", negative ? "*" : "0"); /* bars from 0 */
            gp_quoted(g, label);
            fprintf(g, "\nplot 'metrics.dat' using 0:%d:2:xtic(1) with boxes lc rgb variable, "
                       "'' using 0:%d:(sprintf('%s', column(%d))) with labels offset 0,0.6 font ',8'\n",
                    c + 3, c + 3, fmt, c + 3);
        }
        fprintf(g, "unset multiplot\nset output\n");
    }
    if (d) fclose(d);
    if (g) fclose(g);
    if (!rc) rc = plot_files(dir, "metrics", data, nd, gp, ngp);
    free(data);
    free(gp);
    free(show);
    return rc;
}

/* s per 10-s clip per system, stacked by the s_per_10s_<stage> keys when any result has them. */
static int plot_latency(const vr_table *t, const char *dir) {
    const vr_eval_set *s = t->set;
    const char **keys = NULL, **stages = NULL;
    int n_keys = 0, n_st = 0, n_rows = 0;
    int rc = all_keys(s, &keys, &n_keys);
    if (!rc && !(stages = malloc((size_t)(n_keys + 1) * sizeof *stages))) rc = vr_fail("out of memory");
    for (int k = 0; !rc && k < n_keys; k++)
        if (starts(keys[k], "s_per_10s_")) stages[n_st++] = keys[k];
    for (int r = 0; !rc && r < s->n; r++) n_rows += metric(&s->runs[r], "s_per_10s") > 0;
    if (!rc && !n_rows) VR_INFO("table: no result has s_per_10s; latency.png not drawn");
    char *data = NULL, *gp = NULL;
    size_t nd = 0, ngp = 0;
    FILE *d = NULL, *g = NULL;
    if (!rc && n_rows) {
        d = open_memstream(&data, &nd);
        g = open_memstream(&gp, &ngp);
        if (!d || !g) rc = vr_fail("out of memory");
    }
    if (!rc && n_rows) {
        fprintf(d, "# system colour total");
        for (int k = 0; k < n_st; k++) fprintf(d, " %s", stages[k] + 10);
        fprintf(d, " other\n");
        for (int r = 0; r < s->n; r++) {
            double total = metric(&s->runs[r], "s_per_10s"), sum = 0;
            if (!(total > 0)) continue;
            gp_datastr(d, s->runs[r].system);
            fprintf(d, " %u %.10g", colour(s, r), total);
            for (int k = 0; k < n_st; k++) {
                double x = metric(&s->runs[r], stages[k]);
                fprintf(d, " %.10g", isfinite(x) ? x : 0.0);
                sum += isfinite(x) ? x : 0.0;
            }
            fprintf(d, " %.10g\n", total - sum > 1e-9 ? total - sum : 0.0);
        }
        gp_preamble(g, "latency", 200 + 110 * n_rows, 560);
        char title[300];
        snprintf(title, sizeof title, "%s: generation time per 10-s clip", s->runs[0].bench);
        fprintf(g, "set title ");
        gp_quoted(g, title);
        fprintf(g, "\nset ylabel 'seconds per 10 s of audio'\nset yrange [0:*]\nset offsets 0,0,graph 0.1,0\n"
                   "set grid noxtics ytics\nset style fill solid 0.85 border -1\nset xtics rotate by 35 right\n"
                   "set boxwidth 0.7\nset xrange [-0.6:%g]\n",
                n_rows - 0.4);
        if (n_st) {
            fprintf(g, "stages = '");
            for (int k = 0; k < n_st; k++) fprintf(g, "%s ", stages[k] + 10);
            fprintf(g, "other'\nset style data histograms\nset style histogram rowstacked\n"
                       "set key outside right top title 'stage'\n"
                       "plot for [k=4:%d] 'latency.dat' using k:xtic(1) title word(stages, k - 3), "
                       "'' using 0:3:(sprintf('%%.2f s', $3)) with labels offset 0,0.7 notitle\n",
                    4 + n_st);
        } else {
            fprintf(g, "unset key\n"
                       "plot 'latency.dat' using 0:3:2:xtic(1) with boxes lc rgb variable, "
                       "'' using 0:3:(sprintf('%%.2f s', $3)) with labels offset 0,0.7\n");
        }
        fprintf(g, "set output\n");
    }
    if (d) fclose(d);
    if (g) fclose(g);
    if (!rc && n_rows) rc = plot_files(dir, "latency", data, nd, gp, ngp);
    free(data);
    free(gp);
    free(stages);
    free(keys);
    return rc;
}

int vr_table_plot(const vr_table *t, const char *dir) {
    if (vr_mkdirs(dir)) return -1;
    const vr_eval_set *s = t->set;
    /* backbones with FAD∞ points, in order of first appearance */
    int rc = 0;
    for (int r = 0; !rc && r < s->n; r++) {
        const cJSON *b;
        cJSON_ArrayForEach(b, s->runs[r].points) {
            int seen = 0;
            for (int q = 0; q < r && !seen; q++)
                seen = s->runs[q].points && cJSON_GetObjectItemCaseSensitive(s->runs[q].points, b->string);
            if (!seen && !rc) rc = plot_fad_inf(t, dir, b->string);
        }
    }
    if (!rc) rc = plot_metrics(t, dir);
    if (!rc) rc = plot_latency(t, dir);
    return rc;
}

/* ---------------------------------------------------------------- sweep */

typedef struct sweep_pt {
    double x, y;
    const char *system;
    char group[128];
} sweep_pt;

static int cmp_pt(const void *a, const void *b) {
    const sweep_pt *p = a, *q = b;
    int g = strcmp(p->group, q->group);
    return g ? g : (p->x > q->x) - (p->x < q->x);
}

static void group_of(const vr_eval_run *r, const char *key, char *out, size_t n) {
    const cJSON *v = key ? lookup_item(r, key) : NULL;
    if (!key) snprintf(out, n, "systems");
    else if (cJSON_IsString(v) && strchr(v->valuestring, '/')) { /* a path (eval.model): its file's stem */
        const char *base = strrchr(v->valuestring, '/') + 1, *dot = strrchr(base, '.');
        snprintf(out, n, "%.*s", (int)(dot && dot > base ? dot - base : (int)strlen(base)), base);
    } else if (cJSON_IsString(v)) snprintf(out, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v)) snprintf(out, n, "%s = %g", key, v->valuedouble);
    else if (!v) snprintf(out, n, "%s absent", key);
    else {
        char *p = cJSON_PrintUnformatted(v);
        snprintf(out, n, "%s", p ? p : "?");
        free(p);
    }
}

static int sweep_one(const vr_eval_set *s, const char *dir, const char *x_key, const char *y_key, const char *group_key) {
    sweep_pt *pts = calloc((size_t)s->n, sizeof *pts);
    if (!pts) return vr_fail("out of memory");
    int n = 0, rc = 0;
    double xmin = INFINITY, xmax = -INFINITY;
    for (int r = 0; r < s->n; r++) {
        const vr_eval_run *run = &s->runs[r];
        if (vr_eval_is_oracle(run)) continue;
        double x, y = metric(run, y_key);
        if (vr_eval_lookup(run, x_key, &x)) {
            VR_WARN("table: --sweep %s: %s has no number under that key; left out", x_key, run->path);
            continue;
        }
        if (!isfinite(y)) {
            VR_WARN("table: --sweep %s: %s has no %s; left out", x_key, run->path, y_key);
            continue;
        }
        pts[n].x = x, pts[n].y = y, pts[n].system = run->system;
        group_of(run, group_key, pts[n].group, sizeof pts[n].group);
        xmin = fmin(xmin, x), xmax = fmax(xmax, x);
        n++;
    }
    if (n < 2 || xmin == xmax)
        rc = vr_fail("--sweep %s: %s (need at least two systems with %s at different values of %s)", x_key,
                     n < 2 ? "fewer than two results measured it" : "every result has the same value", y_key, x_key);
    char *data = NULL, *gp = NULL, name[300], sx[120], sy[120];
    size_t nd = 0, ngp = 0;
    safe_name(x_key, sx, sizeof sx);
    safe_name(y_key, sy, sizeof sy);
    snprintf(name, sizeof name, "sweep_%s_%s", sx, sy);
    FILE *d = NULL, *g = NULL;
    if (!rc) {
        d = open_memstream(&data, &nd);
        g = open_memstream(&gp, &ngp);
        if (!d || !g) rc = vr_fail("out of memory");
    }
    if (!rc) {
        qsort(pts, (size_t)n, sizeof *pts, cmp_pt);
        char *ylabel = NULL;
        int better;
        if (describe(y_key, &ylabel, &better)) rc = -1;
        gp_preamble(g, name, 900, 600);
        char title[400];
        snprintf(title, sizeof title, "%s: %s against %s", s->runs[0].bench, ylabel ? ylabel : y_key, x_key);
        fprintf(g, "set title ");
        gp_quoted(g, title);
        fprintf(g, "\nset xlabel ");
        gp_quoted(g, x_key);
        snprintf(title, sizeof title, "%s%s", ylabel ? ylabel : y_key, arrow(better));
        fprintf(g, "\nset ylabel ");
        gp_quoted(g, title);
        fprintf(g, "\nset key outside right top\nset offsets graph 0.05, graph 0.05, graph 0.1, graph 0.05\n");
        if (xmin > 0 && xmax / xmin >= 8) fprintf(g, "set logscale x\n");
        double ylo = INFINITY, yhi = -INFINITY;
        for (int r = 0; r < s->n; r++) {
            double y = metric(&s->runs[r], y_key);
            if (isfinite(y)) ylo = fmin(ylo, y), yhi = fmax(yhi, y);
        }
        if (ylo == yhi) { /* one value everywhere: centre it rather than let gnuplot complain */
            double d = ylo ? 0.1 * fabs(ylo) : 1.0;
            fprintf(g, "set yrange [%.10g:%.10g]\n", ylo - d, yhi + d);
        }
        free(ylabel);
        fprintf(g, "plot ");
        int block = 0;
        for (int i = 0; i < n; block++) {
            int j = i;
            gp_comment(d, pts[i].group);
            for (; j < n && !strcmp(pts[j].group, pts[i].group); j++) {
                fprintf(d, "%.10g %.10g ", pts[j].x, pts[j].y);
                gp_datastr(d, pts[j].system);
                fputc('\n', d);
            }
            fprintf(d, "\n\n");
            fprintf(g, "%s'%s.dat' index %d using 1:2 with linespoints pt 7 lw 2 lc rgb '%s' title ", block ? ", \\\n  " : "",
                    name, block, PALETTE[block % (int)(sizeof PALETTE / sizeof *PALETTE)]);
            gp_quoted(g, pts[i].group);
            fprintf(g, ", '' index %d using 1:2:3 with labels offset 0,0.9 font ',8' notitle", block);
            i = j;
        }
        for (int r = 0; r < s->n; r++) {
            double y = metric(&s->runs[r], y_key);
            if (!vr_eval_is_oracle(&s->runs[r]) || !isfinite(y)) continue;
            fprintf(g, ", %.17g with lines dt 2 lw 2 lc rgb '#%06x' title ", y, colour(s, r));
            gp_quoted(g, s->runs[r].system);
        }
        fprintf(g, "\nset output\n");
    }
    if (d) fclose(d);
    if (g) fclose(g);
    if (!rc) rc = plot_files(dir, name, data, nd, gp, ngp);
    free(data);
    free(gp);
    free(pts);
    return rc;
}

int vr_table_sweep(const vr_eval_set *s, const char *dir, const char *x_key, const char *y_keys, const char *group_key) {
    if (vr_mkdirs(dir)) return -1;
    int rc = 0, done = 0;
    if (y_keys) {
        char *copy = strdup(y_keys), *save = NULL;
        if (!copy) return vr_fail("out of memory");
        for (char *y = strtok_r(copy, ",", &save); !rc && y; y = strtok_r(NULL, ",", &save), done++)
            rc = sweep_one(s, dir, x_key, y, group_key);
        free(copy);
    } else {
        const char **keys = NULL;
        int n_keys = 0;
        rc = all_keys(s, &keys, &n_keys);
        for (int k = 0; !rc && k < n_keys; k++)
            if (starts(keys[k], "fad_") && !starts(keys[k], "fad_inf_") && !starts(keys[k], "fad_ref_rank_"))
                rc = sweep_one(s, dir, x_key, keys[k], group_key), done++;
        free(keys);
    }
    if (!rc && !done) rc = vr_fail("--sweep %s: no fad_<backbone> metric to plot; name one with --sweep-y", x_key);
    return rc;
}

/* ---------------------------------------------------------------- command */

/* argv as one shell-quoted line, for the table's header */
static char *command_line(int argc, char **argv) {
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    if (!f) return NULL;
    fprintf(f, "vrobin");
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (*a && !strpbrk(a, " \t\n'\"\\$`|&;<>()*?[]{}!#~")) {
            fprintf(f, " %s", a);
            continue;
        }
        fprintf(f, " '");
        for (; *a; a++) {
            if (*a == '\'') fprintf(f, "'\\''");
            else fputc(*a, f);
        }
        fputc('\'', f);
    }
    fclose(f);
    return out;
}

typedef int (*writer_fn)(const vr_table *, FILE *, const char *, const char *);

static int write_csv3(const vr_table *t, FILE *f, const char *a, const char *b) { return vr_table_write_csv(t, f); }

static int write_out(const char *path, writer_fn fn, const vr_table *t, const char *title, const char *cmd) {
    vr_atomic_file af;
    if (vr_atomic_open(&af, path)) return -1;
    if (fn(t, af.fp, title, cmd)) {
        vr_atomic_abort(&af);
        return vr_context("%s", path);
    }
    return vr_atomic_commit(&af);
}

static void table_usage(FILE *out) {
    fprintf(out,
            "usage: vrobin table (BENCH_DIR | SYSTEM.json ...) [-o OUT.md] [--csv OUT.csv] [--json OUT.json]\n"
            "                    [--preset main|ablation|latency | --columns a,b|c,...] [--title T]\n"
            "                    [--speedup-vs SYSTEM] [--plot DIR [--sweep KEY [--sweep-y m,...] [--group KEY]]]\n\n"
            "Merge `vrobin eval` results of one benchmark (a folder of <system>.json, or the files) into one\n"
            "table: oracle rows first, one column per metric (arrows mark the better direction), headed by each\n"
            "run's command, commit, machine, date and wall time, metric definitions below. Markdown goes to\n"
            "stdout unless -o; --csv/--json write the same rows.\n\n"
            "  --preset P       the paper's column sets: main, ablation, latency (s_per_10s, rtf, stages, FAD)\n"
            "  --columns K,...  metric keys; 'a|b' takes the first one measured\n"
            "  --speedup-vs S   add s_per_10s(S) / s_per_10s(row); S may be a comma list (a column each);\n"
            "                   PATTERN@same:KEY: against the system matching the glob with the row's KEY\n"
            "                   (e.g. 'fullseq_dit*@same:eval.steps'); PATTERN@equal:METRIC: against the\n"
            "                   fastest matching system no better on METRIC (e.g. 'fullseq_dit*@equal:fad_mel')\n"
            "  --plot DIR       gnuplot PNGs: fad_inf_<backbone>.png, metrics.png, latency.png (+ .gp/.dat)\n"
            "  --sweep KEY      also plot metrics against KEY (a metric, or a header eval key such as eval.steps)\n"
            "  --sweep-y M,...  the metrics of --sweep (default every fad_<backbone>)\n"
            "  --group KEY      one curve per value of KEY (e.g. eval.model; default one curve)\n");
}

int vr_cmd_table(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        table_usage(stdout);
        return 0;
    }
    const char *md = NULL, *csv = NULL, *json = NULL, *preset = NULL, *columns = NULL, *title = NULL, *speedup = NULL,
               *plot = NULL, *sweep = NULL, *sweep_y = NULL, *group = NULL;
    char **paths = calloc((size_t)argc, sizeof *paths);
    int n_paths = 0;
    const char *bad = NULL;
    if (!paths) return 1;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i], **dst = NULL;
        if (!strcmp(a, "-o")) dst = &md;
        else if (!strcmp(a, "--csv")) dst = &csv;
        else if (!strcmp(a, "--json")) dst = &json;
        else if (!strcmp(a, "--preset")) dst = &preset;
        else if (!strcmp(a, "--columns")) dst = &columns;
        else if (!strcmp(a, "--title")) dst = &title;
        else if (!strcmp(a, "--speedup-vs")) dst = &speedup;
        else if (!strcmp(a, "--plot")) dst = &plot;
        else if (!strcmp(a, "--sweep")) dst = &sweep;
        else if (!strcmp(a, "--sweep-y")) dst = &sweep_y;
        else if (!strcmp(a, "--group")) dst = &group;
        else if (a[0] == '-' && a[1]) bad = a;
        else paths[n_paths++] = argv[i];
        if (dst && i + 1 >= argc) bad = a;
        else if (dst) *dst = argv[++i];
    }
    const char *why = bad                         ? "unknown option or missing value"
                      : !n_paths                  ? "no results given"
                      : sweep && !plot            ? "--sweep needs --plot DIR"
                      : (sweep_y || group) && !sweep ? "--sweep-y and --group go with --sweep"
                                                  : NULL;
    if (why) {
        fprintf(stderr, "vrobin table: %s%s%s%s\n", why, bad ? " '" : "", bad ? bad : "", bad ? "'" : "");
        table_usage(stderr);
        free(paths);
        return 2;
    }
    vr_eval_set set;
    vr_table t;
    char *cmd = command_line(argc, argv);
    int rc = vr_eval_set_load(&set, paths, n_paths);
    if (!rc) {
        rc = vr_table_build(&t, &set, preset, columns, speedup);
        if (!rc && md) rc = write_out(md, vr_table_write_markdown, &t, title, cmd);
        else if (!rc) rc = vr_table_write_markdown(&t, stdout, title, cmd);
        if (!rc && csv) rc = write_out(csv, write_csv3, &t, title, cmd);
        if (!rc && json) rc = write_out(json, vr_table_write_json, &t, title, cmd);
        if (!rc && plot) rc = vr_table_plot(&t, plot);
        if (!rc && sweep) rc = vr_table_sweep(&set, plot, sweep, sweep_y, group);
        if (!rc && md) printf("%s: %d systems x %d columns\n", md, set.n, t.n_cols);
        vr_table_free(&t);
        vr_eval_set_free(&set);
    }
    if (rc) fprintf(stderr, "vrobin table: %s\n", vr_error());
    free(cmd);
    free(paths);
    return rc ? 1 : 0;
}
