/* config.c — see config.h.
 *
 * Three steps: libyaml events -> a small node tree (ynode, with line numbers); the tree is walked
 * against the schema and each leaf parsed into its typed slot (cfg_value); unset slots get their
 * defaults. Files are applied parent-first, so a later write to a slot is simply an override.
 */
#define _GNU_SOURCE
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

#include "error.h"
#include "fsutil.h"

#define MAX_DEPTH 32   /* YAML nesting; configs are 2-3 levels deep */
#define MAX_EXTENDS 32 /* length of an extends chain */

/* ---------------------------------------------------------------- small helpers */

static char *str_printf(const char *fmt, ...) VR_PRINTF(1, 2);
static char *str_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* A growing string; `oom` sticks, so callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) VR_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 1024) + n;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += n;
}

static char *sb_take(sbuf *b) {
    if (b->oom || !b->p) { free(b->p); return NULL; }
    return b->p;
}

/* ---------------------------------------------------------------- sources and errors */

/* Where text came from: a file (messages say "name:line") or a label such as "override 'a=b'". */
typedef struct src {
    const char *name;
    int has_lines;
    int id;             /* files only: which file set a slot, to catch a key set twice in one file */
    const char *origin; /* non-files: what cfg_origin reports ("override", "default") */
} src;

static int fail_at(const src *s, int line, const char *fmt, ...) VR_PRINTF(3, 4);
static int fail_at(const src *s, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->has_lines) return vr_fail("%s:%d: %s", s->name, line, msg);
    return vr_fail("%s: %s", s->name, msg);
}

/* ---------------------------------------------------------------- YAML -> node tree */

enum { Y_SCALAR, Y_MAP, Y_SEQ };

typedef struct ynode {
    int kind, line;
    char *text;          /* Y_SCALAR */
    int plain;           /* unquoted, untagged: may be null, a bool or a number; quoted is a string */
    int n, cap;
    struct ynode **kids; /* Y_SEQ items, Y_MAP values */
    struct ynode **keys; /* Y_MAP keys (scalars) */
} ynode;

static void y_free(ynode *y) {
    if (!y) return;
    for (int i = 0; i < y->n; i++) {
        y_free(y->kids[i]);
        if (y->keys) y_free(y->keys[i]);
    }
    free(y->kids);
    free(y->keys);
    free(y->text);
    free(y);
}

static int y_null(const ynode *y) {
    return y->kind == Y_SCALAR && y->plain &&
           (!y->text[0] || !strcmp(y->text, "~") || !strcasecmp(y->text, "null"));
}

/* "'ten'", "the quoted string \"10\"", "a mapping", ... for "expects X, got Y" messages. */
static const char *y_describe(const ynode *y, char *buf, size_t n) {
    if (y->kind == Y_MAP) return "a mapping";
    if (y->kind == Y_SEQ) return "a list";
    if (y_null(y)) return "null";
    int cut = strlen(y->text) > 60;
    if (y->plain) snprintf(buf, n, "'%.60s%s'", y->text, cut ? "..." : "");
    else snprintf(buf, n, "the quoted string \"%.60s%s\"", y->text, cut ? "..." : "");
    return buf;
}

typedef struct yreader {
    yaml_parser_t p;
    const src *s;
} yreader;

static int y_next(yreader *r, yaml_event_t *ev) {
    if (yaml_parser_parse(&r->p, ev)) return 0;
    const yaml_parser_t *p = &r->p;
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR) return vr_fail("%s: out of memory parsing YAML", r->s->name);
    if (p->error == YAML_READER_ERROR) /* encoding problems: libyaml knows only the byte offset */
        return vr_fail("%s: byte %zu: %s", r->s->name, p->problem_offset, problem);
    char where[64] = "";
    if (r->s->has_lines)
        snprintf(where, sizeof where, ":%zu:%zu", p->problem_mark.line + 1, p->problem_mark.column + 1);
    if (p->context)
        return vr_fail("%s%s: YAML syntax error: %s (%s at line %zu)", r->s->name, where, problem, p->context,
                       p->context_mark.line + 1);
    return vr_fail("%s%s: YAML syntax error: %s", r->s->name, where, problem);
}

static ynode *y_new(int kind, int line) {
    ynode *y = calloc(1, sizeof *y);
    if (y) { y->kind = kind; y->line = line; }
    return y;
}

static int y_push(ynode *y, ynode *key, ynode *kid) {
    if (y->n == y->cap) {
        int cap = y->cap ? y->cap * 2 : 8;
        ynode **kids = realloc(y->kids, cap * sizeof *kids);
        if (!kids) return -1;
        y->kids = kids;
        if (y->kind == Y_MAP) {
            ynode **keys = realloc(y->keys, cap * sizeof *keys);
            if (!keys) return -1;
            y->keys = keys;
        }
        y->cap = cap;
    }
    if (y->kind == Y_MAP) y->keys[y->n] = key;
    y->kids[y->n++] = kid;
    return 0;
}

/* Build the node that starts with event `ev` (consumed), reading events up to its end. */
static ynode *y_build(yreader *r, yaml_event_t *ev, int depth) {
    int line = (int)ev->start_mark.line + 1;
    ynode *y = NULL;
    if (depth > MAX_DEPTH) {
        fail_at(r->s, line, "YAML nested deeper than %d levels", MAX_DEPTH);
        goto fail;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *tag = (const char *)ev->data.scalar.tag;
        if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
            fail_at(r->s, line, "a value contains a NUL character");
            goto fail;
        }
        if (!(y = y_new(Y_SCALAR, line)) || !(y->text = strndup((char *)ev->data.scalar.value, ev->data.scalar.length)))
            goto oom;
        y->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(tag && !strcmp(tag, YAML_STR_TAG));
        yaml_event_delete(ev);
        return y;
    }
    case YAML_ALIAS_EVENT:
        fail_at(r->s, line, "YAML aliases (*%s) are not supported; write the value out", ev->data.alias.anchor);
        goto fail;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int map = ev->type == YAML_MAPPING_START_EVENT;
        yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
        yaml_event_delete(ev);
        if (!(y = y_new(map ? Y_MAP : Y_SEQ, line))) return vr_fail_null("%s: out of memory", r->s->name);
        for (;;) {
            yaml_event_t e;
            if (y_next(r, &e)) goto fail_y;
            if (e.type == end) { yaml_event_delete(&e); return y; }
            ynode *key = NULL;
            if (map) {
                if (!(key = y_build(r, &e, depth + 1))) goto fail_y;
                if (key->kind != Y_SCALAR) {
                    fail_at(r->s, key->line, "a key must be a name, not %s", key->kind == Y_MAP ? "a mapping" : "a list");
                    y_free(key);
                    goto fail_y;
                }
                if (y_next(r, &e)) { y_free(key); goto fail_y; }
            }
            ynode *kid = y_build(r, &e, depth + 1);
            if (!kid || y_push(y, key, kid)) {
                if (kid) vr_fail("%s: out of memory", r->s->name);
                y_free(key);
                y_free(kid);
                goto fail_y;
            }
        }
    }
    default:
        fail_at(r->s, line, "unexpected YAML event %d", ev->type);
        goto fail;
    }
oom:
    vr_fail("%s: out of memory", r->s->name);
fail:
    yaml_event_delete(ev);
fail_y:
    y_free(y);
    return NULL;
}

/* Parse one YAML document. An empty stream gives a null scalar. */
static ynode *y_parse(const char *text, size_t len, const src *s) {
    yreader r = {.s = s};
    if (!yaml_parser_initialize(&r.p)) return vr_fail_null("%s: out of memory", s->name);
    yaml_parser_set_input_string(&r.p, (const unsigned char *)text, len);
    ynode *root = NULL;
    yaml_event_t ev;
    if (y_next(&r, &ev)) goto done; /* stream start */
    yaml_event_delete(&ev);
    if (y_next(&r, &ev)) goto done;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        if ((root = y_new(Y_SCALAR, 1)) && (root->text = strdup(""))) root->plain = 1;
        else { y_free(root); root = vr_fail_null("%s: out of memory", s->name); }
        goto done;
    }
    yaml_event_delete(&ev); /* document start */
    if (y_next(&r, &ev) || !(root = y_build(&r, &ev, 0))) goto done;
    if (y_next(&r, &ev)) goto fail; /* document end */
    yaml_event_delete(&ev);
    if (y_next(&r, &ev)) goto fail;
    if (ev.type != YAML_STREAM_END_EVENT) {
        fail_at(s, (int)ev.start_mark.line + 1, "a second YAML document ('---'); a config is one document");
        yaml_event_delete(&ev);
        goto fail;
    }
    yaml_event_delete(&ev);
    goto done;
fail:
    y_free(root);
    root = NULL;
done:
    yaml_parser_delete(&r.p);
    return root;
}

/* ---------------------------------------------------------------- the config */

typedef struct cfg_value {
    int set;           /* 0 until a file, an override or the default gives a value */
    int64_t i;         /* CFG_BOOL (0/1), CFG_INT */
    double f;          /* CFG_FLOAT */
    char *s;           /* CFG_STRING */
    int n;             /* lists */
    int64_t *li;
    double *lf;
    char **ls;
    char *origin;      /* "file:line", "override" or "default" */
    int file_id, line; /* which file last wrote this slot (even with null), and where */
} cfg_value;

struct cfg {
    const cfg_key_spec *schema;
    int n;
    cfg_value *v;
    int files; /* files applied so far, for src.id */
};

/* The extends chain being loaded, innermost first, for cycle detection and messages. */
typedef struct chain {
    const char *name, *real;
    const struct chain *up;
    int depth;
} chain;

static void value_clear(cfg_value *v) {
    free(v->s);
    free(v->li);
    free(v->lf);
    for (int i = 0; v->ls && i < v->n; i++) free(v->ls[i]);
    free(v->ls);
    free(v->origin);
    memset(v, 0, sizeof *v);
}

void cfg_free(cfg *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) value_clear(&c->v[i]);
    free(c->v);
    free(c);
}

static int find_key(const cfg_key_spec *schema, const char *key) {
    for (int i = 0; schema[i].key; i++)
        if (!strcmp(schema[i].key, key)) return i;
    return -1;
}

/* A section is a proper dotted prefix of some key ("" is the top level). */
static int is_section(const cfg_key_spec *schema, const char *path) {
    size_t n = strlen(path);
    if (!n) return 1;
    for (int i = 0; schema[i].key; i++)
        if (!strncmp(schema[i].key, path, n) && schema[i].key[n] == '.') return 1;
    return 0;
}

static const char *last_part(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Levenshtein distance; long strings (not plausible typos of a key) count as far away. */
static int lev(const char *a, const char *b) {
    enum { CAP = 128 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > CAP || lb > CAP) return INT_MAX / 2;
    int row[CAP + 1];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return (int)row[lb];
}

/* Score `cand` against the unknown `path`: a close full key ("train.lrr" ~ "train.lr") beats a
 * close last part ("lr" at the top level ~ "train.lr", a key put in the wrong section). Typos
 * allowed: max(2, a third of the last part), so a long section name buys no extra slack; a key
 * guessed from its last part alone must be closer (a third, no floor: "foo.bar" is not "run.dir"). */
static void consider(const char *path, const char *cand, char *best, int *best_score) {
    int third = (int)strlen(last_part(path)) / 3;
    int d = lev(path, cand), score = INT_MAX;
    if (d <= (third > 2 ? third : 2)) score = 2 * d;
    d = lev(last_part(path), last_part(cand));
    if (d <= third && 2 * d + 1 < score) score = 2 * d + 1;
    if (score < *best_score) {
        *best_score = score;
        snprintf(best, 256, "%s", cand);
    }
}

/* The part of `key` right below section `parent` ("" = top level), or NULL if not under it. */
static const char *child_of(const char *key, const char *parent, int *len) {
    size_t plen = strlen(parent);
    if (plen && (strncmp(key, parent, plen) || key[plen] != '.')) return NULL;
    const char *child = key + (plen ? plen + 1 : 0);
    *len = (int)strcspn(child, ".");
    return child;
}

/* The error for an unknown key or section: the closest valid name, else the valid names nearby. */
static int fail_unknown(const cfg *c, const src *s, int line, const char *path, int as_section) {
    char best[256] = "";
    int score = INT_MAX;
    for (int i = 0; i < c->n; i++) {
        const char *key = c->schema[i].key;
        if (!as_section) consider(path, key, best, &score);
        for (const char *dot = strchr(key, '.'); dot; dot = strchr(dot + 1, '.')) {
            char sec[256];
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - key), key);
            consider(path, sec, best, &score);
        }
    }
    const char *what = as_section ? "section" : "key";
    if (best[0]) return fail_at(s, line, "unknown %s '%s' (did you mean '%s'?)", what, path, best);

    /* No likely typo: list the names valid in the closest existing section. */
    char parent[256];
    snprintf(parent, sizeof parent, "%s", path);
    do {
        char *dot = strrchr(parent, '.');
        if (dot) *dot = '\0';
        else parent[0] = '\0';
    } while (!is_section(c->schema, parent));
    char names[600] = "";
    size_t used = 0;
    for (int i = 0; i < c->n && used < sizeof names; i++) {
        int len;
        const char *child = child_of(c->schema[i].key, parent, &len);
        int seen = 0; /* a sub-section is listed once, at its first key */
        for (int j = 0; j < i && child && !seen; j++) {
            int jlen;
            const char *other = child_of(c->schema[j].key, parent, &jlen);
            seen = other && jlen == len && !strncmp(other, child, len);
        }
        if (child && !seen) used += snprintf(names + used, sizeof names - used, "%s%.*s", used ? ", " : "", len, child);
    }
    if (parent[0]) return fail_at(s, line, "unknown %s '%s' (valid keys in '%s': %s)", what, path, parent, names);
    return fail_at(s, line, "unknown %s '%s' (valid sections: %s)", what, path, names);
}

/* ---------------------------------------------------------------- values */

static const char *type_name(cfg_type t) {
    switch (t) {
    case CFG_BOOL: return "a boolean (true/false)";
    case CFG_INT: return "an integer";
    case CFG_FLOAT: return "a number";
    case CFG_STRING: return "a string";
    case CFG_LIST_INT: return "a list of integers";
    case CFG_LIST_FLOAT: return "a list of numbers";
    case CFG_LIST_STRING: return "a list of strings";
    }
    return "?";
}

static cfg_type elem_type(cfg_type t) {
    return t == CFG_LIST_INT ? CFG_INT : t == CFG_LIST_FLOAT ? CFG_FLOAT : t == CFG_LIST_STRING ? CFG_STRING : t;
}

static int parse_bool(const char *s, int64_t *out) {
    static const char *T[] = {"true", "yes", "on"}, *F[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, T[i])) { *out = 1; return 0; }
        if (!strcasecmp(s, F[i])) { *out = 0; return 0; }
    }
    return -1;
}

/* Decimal only: "010" is 10, "0x10" and "1e3" are not integers. */
static int parse_int(const char *s, int64_t *out) {
    const char *d = s + (*s == '+' || *s == '-');
    if (!*d || strspn(d, "0123456789") != strlen(d)) return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return -2;
    *out = v;
    return 0;
}

/* Plain decimal notation (no hex floats, no inf/nan spellings), finite. */
static int parse_float(const char *s, double *out) {
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s)) return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s) return -1;
    if (!isfinite(v)) return -2;
    *out = v;
    return 0;
}

static int choice_ok(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *p = choices;; p++) {
        size_t len = strcspn(p, "|");
        if (len == n && !strncmp(p, s, n)) return 1;
        p += len;
        if (!*p) return 0;
    }
}

/* Parse scalar `y` as (an element of) key `k` into the output of its type; `item` > 0 names a
 * list item in messages. */
static int parse_scalar(const cfg_key_spec *k, const ynode *y, const src *s, int item, int64_t *i, double *f,
                        char **str) {
    cfg_type t = elem_type(k->type);
    char got[128], at[32] = "";
    if (item) snprintf(at, sizeof at, " at item %d", item);
    const char *why = "";
    int rc = -1;
    if (y->kind == Y_SCALAR && !y_null(y)) {
        if (t == CFG_STRING) {
            if (k->choices && !choice_ok(k->choices, y->text))
                return fail_at(s, y->line, "key '%s' must be one of %s, got %s%s", k->key, k->choices,
                               y_describe(y, got, sizeof got), at);
            return (*str = strdup(y->text)) ? 0 : vr_fail("out of memory");
        }
        if (y->plain) /* quoted text is a string, whatever it spells */
            rc = t == CFG_BOOL ? parse_bool(y->text, i) : t == CFG_INT ? parse_int(y->text, i) : parse_float(y->text, f);
        if (rc == 0) return 0;
        if (rc == -2) why = t == CFG_INT ? " (out of the 64-bit range)" : " (NaN and infinity are not allowed)";
        else if (t == CFG_FLOAT && y->plain && (strcasestr(y->text, "nan") || strcasestr(y->text, "inf")))
            why = " (NaN and infinity are not allowed)";
    }
    return fail_at(s, y->line, "key '%s' expects %s, got %s%s%s", k->key, type_name(k->type),
                   y_describe(y, got, sizeof got), at, why);
}

/* Parse non-null `y` as the type of key `k` into `v` (zeroed). */
static int parse_value(const cfg_key_spec *k, const ynode *y, const src *s, cfg_value *v) {
    if (k->type < CFG_LIST_INT) return parse_scalar(k, y, s, 0, &v->i, &v->f, &v->s);
    char got[128];
    if (y->kind != Y_SEQ)
        return fail_at(s, y->line, "key '%s' expects %s, got %s", k->key, type_name(k->type),
                       y_describe(y, got, sizeof got));
    v->n = y->n;
    size_t n = y->n ? y->n : 1;
    if (k->type == CFG_LIST_INT) v->li = calloc(n, sizeof *v->li);
    if (k->type == CFG_LIST_FLOAT) v->lf = calloc(n, sizeof *v->lf);
    if (k->type == CFG_LIST_STRING) v->ls = calloc(n, sizeof *v->ls);
    if (!v->li && !v->lf && !v->ls) return vr_fail("out of memory");
    for (int j = 0; j < y->n; j++) {
        int64_t i = 0;
        double f = 0;
        char *str = NULL;
        if (parse_scalar(k, y->kids[j], s, j + 1, &i, &f, &str)) return -1;
        if (v->li) v->li[j] = i;
        if (v->lf) v->lf[j] = f;
        if (v->ls) v->ls[j] = str;
    }
    return 0;
}

/* Write key `idx` from node `y` given at `line` of source `s`; null resets it to the default. */
static int set_value(cfg *c, int idx, const ynode *y, const src *s, int line) {
    const cfg_key_spec *k = &c->schema[idx];
    cfg_value *old = &c->v[idx];
    if (s->id && old->file_id == s->id) /* e.g. "train.lr:" and "train: {lr:}" in one file */
        return fail_at(s, line, "duplicate key '%s' (first at line %d)", k->key, old->line);
    cfg_value v = {.file_id = s->id, .line = line};
    if (!y_null(y)) {
        if (parse_value(k, y, s, &v)) { value_clear(&v); return -1; }
        v.set = 1;
        v.origin = s->has_lines ? str_printf("%s:%d", s->name, line) : strdup(s->origin);
        if (!v.origin) { value_clear(&v); return vr_fail("out of memory"); }
    }
    value_clear(old);
    *old = v;
    return 0;
}

/* Apply mapping `map` found under section `prefix` ("" at the top level). */
static int apply_map(cfg *c, const ynode *map, const char *prefix, const src *s) {
    for (int i = 0; i < map->n; i++) {
        const ynode *key = map->keys[i], *val = map->kids[i];
        char *path = *prefix ? str_printf("%s.%s", prefix, key->text) : strdup(key->text);
        if (!path) return vr_fail("out of memory");
        int rc = 0;
        for (int j = 0; j < i && !rc; j++)
            if (!strcmp(map->keys[j]->text, key->text))
                rc = fail_at(s, key->line, "duplicate key '%s' (first at line %d)", path, map->keys[j]->line);
        int idx = find_key(c->schema, path);
        if (rc || (!*prefix && !strcmp(path, "extends"))) { /* extends was applied first */
        } else if (idx < 0 && !strcmp(last_part(path), "extends")) {
            rc = fail_at(s, key->line, "'extends' belongs at the top level, not in '%s'", path);
        } else if (idx >= 0) {
            rc = set_value(c, idx, val, s, key->line);
        } else if (*path && is_section(c->schema, path)) {
            char got[128];
            if (val->kind == Y_MAP) rc = apply_map(c, val, path, s);
            else if (!y_null(val))
                rc = fail_at(s, val->line, "'%s' is a section and expects a mapping of keys, got %s", path,
                             y_describe(val, got, sizeof got));
        } else {
            rc = fail_unknown(c, s, key->line, path, val->kind == Y_MAP);
        }
        free(path);
        if (rc) return rc;
    }
    return 0;
}

static int apply_text(cfg *c, const char *text, size_t len, const char *name, const chain *up);

/* Apply file `path`, extended from `up` (NULL for the top file) at line `line` of `from`. */
static int apply_file(cfg *c, const char *path, const chain *up, const src *from, int line) {
    struct stat st; /* a FIFO or device would block or never end */
    const char *why = stat(path, &st) ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a regular file" : NULL;
    if (why && from) return fail_at(from, line, "extends: cannot open %s: %s", path, why);
    if (why) return vr_fail("cannot open %s: %s", path, why);
    char *text = NULL;
    size_t len = 0;
    if (vr_read_file(path, &text, &len)) {
        if (from) fail_at(from, line, "extends: %s", vr_error());
        return -1;
    }
    int rc = apply_text(c, text, len, path, up);
    free(text);
    return rc;
}

/* `extends: a.yaml` or `extends: [a.yaml, b.yaml]`, relative to the including file's folder. */
static int apply_extends(cfg *c, const ynode *ext, const src *s, const chain *me) {
    char got[128];
    if (y_null(ext)) return 0;
    int n = ext->kind == Y_SEQ ? ext->n : 1;
    for (int i = 0; i < n; i++) {
        const ynode *t = ext->kind == Y_SEQ ? ext->kids[i] : ext;
        if (t->kind != Y_SCALAR || y_null(t))
            return fail_at(s, t->line, "'extends' expects a file name or a list of file names, got %s",
                           y_describe(t, got, sizeof got));
        const char *slash = strrchr(s->name, '/');
        char *path = t->text[0] == '/' || !slash ? strdup(t->text)
                                                 : str_printf("%.*s/%s", (int)(slash - s->name), s->name, t->text);
        char *real = path ? realpath(path, NULL) : NULL;
        int rc = path ? 0 : vr_fail("out of memory");
        if (!rc && me->depth >= MAX_EXTENDS) rc = fail_at(s, t->line, "extends nested deeper than %d files", MAX_EXTENDS);
        for (const chain *p = me; !rc && real && p; p = p->up) {
            if (!p->real || strcmp(p->real, real)) continue;
            const chain *loop[MAX_EXTENDS + 2];
            int n_loop = 0;
            for (const chain *q = me; q != p->up; q = q->up) loop[n_loop++] = q;
            sbuf b = {0};
            while (n_loop--) sb_printf(&b, "%s -> ", loop[n_loop]->name);
            rc = fail_at(s, t->line, "extends cycle: %s%s", b.p ? b.p : "", path);
            free(b.p);
        }
        if (!rc) rc = apply_file(c, path, me, s, t->line);
        free(real);
        free(path);
        if (rc) return rc;
    }
    return 0;
}

/* Apply one file's text: its extends first (lower precedence), then its own keys. */
static int apply_text(cfg *c, const char *text, size_t len, const char *name, const chain *up) {
    src s = {.name = name, .has_lines = 1, .id = ++c->files};
    char *real = realpath(name, NULL); /* NULL for a name that is no file: never part of a cycle */
    chain me = {name, real, up, up ? up->depth + 1 : 0};
    ynode *root = y_parse(text, len, &s);
    int rc = root ? 0 : -1;
    char got[128];
    if (!rc && !y_null(root) && root->kind != Y_MAP)
        rc = fail_at(&s, root->line, "expected a mapping of keys at the top level, got %s",
                     y_describe(root, got, sizeof got));
    if (!rc && root->kind == Y_MAP) {
        for (int i = 0; i < root->n && !rc; i++)
            if (!strcmp(root->keys[i]->text, "extends")) {
                rc = apply_extends(c, root->kids[i], &s, &me);
                break; /* a second one is reported as a duplicate by apply_map */
            }
        if (!rc) rc = apply_map(c, root, "", &s);
    }
    y_free(root);
    free(real);
    return rc;
}

/* "key=value": the value is YAML ("1e-3", "true", "[a.h5, b.h5]"); empty or "~" means the default. */
static int apply_override(cfg *c, const char *ov) {
    char *label = str_printf("override '%s'", ov);
    if (!label) return vr_fail("out of memory");
    src s = {.name = label, .origin = "override"};
    const char *eq = strchr(ov, '=');
    char *key = eq ? strndup(ov, eq - ov) : NULL;
    int rc = 0;
    if (!eq) rc = fail_at(&s, 0, "expected key=value");
    else if (!key) rc = vr_fail("out of memory");
    else {
        int idx = find_key(c->schema, key);
        if (idx < 0 && *key && is_section(c->schema, key))
            rc = fail_at(&s, 0, "'%s' is a section; set one of its keys (key.sub=value)", key);
        else if (idx < 0) rc = fail_unknown(c, &s, 0, key, 0);
        else {
            ynode *y = y_parse(eq + 1, strlen(eq + 1), &s);
            rc = y ? set_value(c, idx, y, &s, 0) : -1;
            y_free(y);
        }
    }
    free(key);
    free(label);
    return rc;
}

/* Defaults for every slot still unset. A STRING default is literal text (so "" is the empty
 * string); the others are YAML. */
static int fill_defaults(cfg *c) {
    for (int i = 0; i < c->n; i++) {
        const cfg_key_spec *k = &c->schema[i];
        if (c->v[i].set) continue;
        if (!k->def) return vr_fail("missing required key '%s' (it has no default)", k->key);
        char label[300];
        snprintf(label, sizeof label, "schema default of '%s'", k->key);
        src s = {.name = label, .origin = "default"};
        ynode lit = {.kind = Y_SCALAR, .text = (char *)k->def};
        ynode *y = k->type == CFG_STRING ? &lit : y_parse(k->def, strlen(k->def), &s);
        int rc = y ? set_value(c, i, y, &s, 0) : -1;
        if (!rc && !c->v[i].set) rc = fail_at(&s, 0, "is null");
        if (y != &lit) y_free(y);
        if (rc) return rc;
    }
    return 0;
}

/* Everything but the file: the shared tail of the three loaders. */
static cfg *load(const char *path, const char *text, size_t len, const cfg_key_spec *schema, int n_overrides,
                 char **overrides) {
    cfg *c = calloc(1, sizeof *c);
    if (!c) return vr_fail_null("out of memory");
    c->schema = schema;
    while (schema[c->n].key) c->n++;
    c->v = calloc(c->n ? c->n : 1, sizeof *c->v);
    if (!c->v) { cfg_free(c); return vr_fail_null("out of memory"); }
    int rc = 0;
    if (text) rc = apply_text(c, text, len, path, NULL);
    else if (path) rc = apply_file(c, path, NULL, NULL, 0);
    for (int i = 0; !rc && i < n_overrides; i++) rc = apply_override(c, overrides[i]);
    if (!rc) rc = fill_defaults(c);
    if (rc) { cfg_free(c); return NULL; }
    return c;
}

cfg *cfg_load(const char *path, const cfg_key_spec *schema, int n_overrides, char **overrides) {
    return load(path, NULL, 0, schema, n_overrides, overrides);
}

cfg *cfg_load_string(const char *text, size_t len, const char *name, const cfg_key_spec *schema) {
    return load(name, text, len, schema, 0, NULL);
}

cfg *cfg_defaults(const cfg_key_spec *schema, int n_overrides, char **overrides) {
    return load(NULL, NULL, 0, schema, n_overrides, overrides);
}

/* ---------------------------------------------------------------- getters */

/* Misuse is a bug in vrobin, not in the user's config: say which key, and stop. */
static const cfg_value *get(const cfg *c, const char *key, unsigned types, const char *fn) {
    int idx = find_key(c->schema, key);
    if (idx < 0) {
        fprintf(stderr, "vrobin bug: %s(\"%s\"): no such key in the schema\n", fn, key);
        abort();
    }
    if (!(types & (1u << c->schema[idx].type))) {
        fprintf(stderr, "vrobin bug: %s(\"%s\"): the key is %s in the schema\n", fn, key,
                type_name(c->schema[idx].type));
        abort();
    }
    return &c->v[idx];
}

static int check_index(const cfg_value *v, const char *key, int i, const char *fn) {
    if (i < 0 || i >= v->n) {
        fprintf(stderr, "vrobin bug: %s(\"%s\", %d): the list has %d items\n", fn, key, i, v->n);
        abort();
    }
    return i;
}

#define LISTS ((1u << CFG_LIST_INT) | (1u << CFG_LIST_FLOAT) | (1u << CFG_LIST_STRING))

int64_t cfg_int(const cfg *c, const char *key) { return get(c, key, 1u << CFG_INT, __func__)->i; }
double cfg_float(const cfg *c, const char *key) { return get(c, key, 1u << CFG_FLOAT, __func__)->f; }
int cfg_bool(const cfg *c, const char *key) { return (int)get(c, key, 1u << CFG_BOOL, __func__)->i; }
const char *cfg_str(const cfg *c, const char *key) { return get(c, key, 1u << CFG_STRING, __func__)->s; }
int cfg_list_len(const cfg *c, const char *key) { return get(c, key, LISTS, __func__)->n; }
const char *cfg_origin(const cfg *c, const char *key) { return get(c, key, ~0u, __func__)->origin; }

int64_t cfg_list_int(const cfg *c, const char *key, int i) {
    const cfg_value *v = get(c, key, 1u << CFG_LIST_INT, __func__);
    return v->li[check_index(v, key, i, __func__)];
}

double cfg_list_float(const cfg *c, const char *key, int i) {
    const cfg_value *v = get(c, key, 1u << CFG_LIST_FLOAT, __func__);
    return v->lf[check_index(v, key, i, __func__)];
}

const char *cfg_list_str(const cfg *c, const char *key, int i) {
    const cfg_value *v = get(c, key, 1u << CFG_LIST_STRING, __func__);
    return v->ls[check_index(v, key, i, __func__)];
}

/* ---------------------------------------------------------------- JSON */

/* Numbers go out as raw text: cJSON holds numbers as doubles, which would round int64s, and
 * prints 10.0 as 10; here a float keeps its ".0" so readers see the key's type. */
static cJSON *json_int(int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return cJSON_CreateRaw(buf);
}

static cJSON *json_float(double v) {
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) { /* the shortest text that reads back exactly */
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".e")) strcat(buf, ".0");
    return cJSON_CreateRaw(buf);
}

static cJSON *json_value(const cfg_key_spec *k, const cfg_value *v) {
    cJSON *arr = NULL;
    switch (k->type) {
    case CFG_BOOL: return cJSON_CreateBool(v->i != 0);
    case CFG_INT: return json_int(v->i);
    case CFG_FLOAT: return json_float(v->f);
    case CFG_STRING: return cJSON_CreateString(v->s);
    default: break;
    }
    if (!(arr = cJSON_CreateArray())) return NULL;
    for (int i = 0; i < v->n; i++) {
        cJSON *item = k->type == CFG_LIST_INT     ? json_int(v->li[i])
                      : k->type == CFG_LIST_FLOAT ? json_float(v->lf[i])
                                                  : cJSON_CreateString(v->ls[i]);
        if (!item) { cJSON_Delete(arr); return NULL; }
        cJSON_AddItemToArray(arr, item);
    }
    return arr;
}

char *cfg_to_json(const cfg *c) {
    cJSON *root = cJSON_CreateObject();
    char *out = NULL, *txt = NULL;
    if (!root) return NULL;
    for (int i = 0; i < c->n; i++) {
        const char *key = c->schema[i].key;
        cJSON *obj = root;
        for (const char *p = key, *dot; (dot = strchr(p, '.')); p = dot + 1) { /* sections */
            char part[256];
            snprintf(part, sizeof part, "%.*s", (int)(dot - p), p);
            cJSON *sub = cJSON_GetObjectItemCaseSensitive(obj, part);
            if (!sub && !(sub = cJSON_AddObjectToObject(obj, part))) goto done;
            obj = sub;
        }
        cJSON *val = json_value(&c->schema[i], &c->v[i]);
        if (!val) goto done;
        cJSON_AddItemToObject(obj, last_part(key), val);
    }
    if (!(txt = cJSON_Print(root))) goto done;
    /* cJSON indents with tabs and puts one after each colon (tabs inside strings are escaped):
     * spaces read better and keep the output loadable as YAML. */
    size_t tabs = 0, n = strlen(txt);
    for (size_t i = 0; i < n; i++) tabs += txt[i] == '\t';
    if ((out = malloc(n + tabs + 1))) {
        char *o = out;
        for (size_t i = 0; i < n; i++) {
            if (txt[i] != '\t') *o++ = txt[i];
            else if (i && txt[i - 1] == ':') *o++ = ' ';
            else { *o++ = ' '; *o++ = ' '; }
        }
        *o = '\0';
    }
done:
    cJSON_free(txt);
    cJSON_Delete(root);
    return out;
}

/* ---------------------------------------------------------------- Markdown */

static const char *short_type(cfg_type t) {
    static const char *names[] = {"bool", "int", "float", "string", "list of int", "list of float", "list of string"};
    return names[t];
}

/* Table cells: '|' would end the cell. */
static void sb_cell(sbuf *b, const char *s) {
    for (; *s; s++) {
        if (*s == '|') sb_printf(b, "\\|");
        else sb_printf(b, "%c", *s);
    }
}

char *cfg_schema_markdown(const cfg_key_spec *schema) {
    sbuf b = {0};
    for (int i = 0; schema[i].key; i++) {
        int slen = (int)strcspn(schema[i].key, ".");
        int seen = 0; /* one table per section, at its first key */
        for (int j = 0; j < i && !seen; j++)
            seen = (int)strcspn(schema[j].key, ".") == slen && !strncmp(schema[j].key, schema[i].key, slen);
        if (seen) continue;
        sb_printf(&b, "%s## `%.*s`\n\n| key | type | default | choices | description |\n|---|---|---|---|---|\n",
                  b.len ? "\n" : "", slen, schema[i].key);
        for (int j = i; schema[j].key; j++) {
            const cfg_key_spec *k = &schema[j];
            if ((int)strcspn(k->key, ".") != slen || strncmp(k->key, schema[i].key, slen)) continue;
            sb_printf(&b, "| `%s` | %s | ", k->key, short_type(k->type));
            if (!k->def) sb_printf(&b, "*required*");
            else if (!k->def[0]) sb_printf(&b, "`\"\"`");
            else sb_printf(&b, "`%s`", k->def);
            sb_printf(&b, " | ");
            for (const char *p = k->choices; p && *p;) {
                int len = (int)strcspn(p, "|");
                sb_printf(&b, "%s`%.*s`", p == k->choices ? "" : ", ", len, p);
                p += len + (p[len] == '|');
            }
            sb_printf(&b, " | ");
            sb_cell(&b, k->doc ? k->doc : "");
            sb_printf(&b, " |\n");
        }
    }
    return sb_take(&b);
}

char *cfg_doc_markdown(void) {
    char *table = cfg_schema_markdown(vr_schema);
    if (!table) return NULL;
    char *doc = str_printf(
        "# Configuration keys\n"
        "\n"
        "<!-- Generated by `vrobin config doc` from core/schema.c; do not edit by hand. After changing the\n"
        "     schema run `vrobin config doc > configs/README.md` (tests/test_config.c checks they agree). -->\n"
        "\n"
        "vrobin reads its settings from one YAML config. Every key has a type and a default, so a config\n"
        "lists only what differs from the defaults. Keys can be nested or dotted:\n"
        "\n"
        "```yaml\n"
        "extends: ../base.yaml     # start from another config (relative to this file; or a list, in order)\n"
        "run.name: small-lr\n"
        "train:\n"
        "  lr: 1e-4\n"
        "  steps: 20000\n"
        "data.shards: [train-0.h5, train-1.h5]   # a list replaces the inherited list\n"
        "train.init_from: ~        # null resets a key to its default\n"
        "```\n"
        "\n"
        "- **Precedence**, lowest first: the defaults below, the extended files (recursively, in order),\n"
        "  the file itself, then command-line overrides `key.sub=value`, whose values are YAML:\n"
        "  `vrobin config show x.yaml train.lr=1e-3 data.shards=[a.h5,b.h5]`.\n"
        "- **Types** are strict. Integers are decimal; floats are decimal (`3e-4`, `.5`, `1`), never NaN or\n"
        "  infinity; booleans are `true/false/yes/no/on/off`; a quoted `\"10\"` is a string, not a number.\n"
        "- **Errors** name the file and line, and an unknown key comes with the closest valid one:\n"
        "  `x.yaml:12: unknown key 'train.lrr' (did you mean 'train.lr'?)`. Wrong types, values outside\n"
        "  the choices, duplicate keys, `extends` cycles and YAML syntax errors are errors too.\n"
        "- `vrobin config check x.yaml [key=value ...]` validates a config; `vrobin config show` prints\n"
        "  the resolved config as JSON, the form saved with runs (itself a valid config).\n"
        "\n"
        "%s",
        table);
    free(table);
    return doc;
}
