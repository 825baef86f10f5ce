/* table.h — the output side of the evaluation suite: paper-shaped tables, plots and a listening
 * report from several systems' `vrobin eval` results ("vrobin-eval/1" JSONs, eval/eval.h).
 *
 *   vrobin table (BENCH_DIR | SYSTEM.json ...) [-o OUT.md] [--csv OUT.csv] [--json OUT.json]
 *                [--preset main|ablation|latency | --columns a,b|c,...] [--title T]
 *                [--speedup-vs SYSTEM] [--plot DIR [--sweep KEY [--sweep-y m,...] [--group KEY]]]
 *   vrobin report BENCH_DIR [-o DIR/report.html] [--max-clips N] [--preset P | --columns ...]
 *
 * A set is one benchmark: every JSON must have the same "format" and "bench" (mixing is refused,
 * naming both files) and a distinct "system". Rows: the `oracle` row, the `oracle_decoded` row,
 * then the systems in the order given (a folder: by file name). A folder contributes every
 * *.json whose "format" is vrobin-eval/N; other JSON there (e.g. this command's own --json
 * output) is skipped with a note, and a file that is not JSON at all is an error.
 *
 * Columns: one per metric key. A preset lists keys, where "a|b" takes the first alternative
 * that some row measured (non-null), else the first present; preset keys no JSON has are left
 * out (noted). --columns keys must exist in some JSON (else the error lists the available ones).
 * Without either, every metric appears, in order of first appearance.
 *   main:     fad_mel, fad_tagger, FAD∞ (tagger|mel), kl, is, density and coverage (tagger|mel),
 *             align_video_music, align_text_music, loris_bhs, loris_bcs, loris_f1, tempo_acc1,
 *             instrument_acc
 *   ablation: fad_mel, fad_tagger, FAD∞, kl, is, align_video_music, align_text_music, loris_f1,
 *             tempo_acc1, instrument_acc, pattern_acc
 *   latency:  s_per_10s, rtf, every per-stage key "s_per_10s_<stage>", fad_mel, fad_tagger
 * --speedup-vs adds "speedup ×" columns, one per comma-separated spec:
 *   S                    s_per_10s of system S / s_per_10s of the row;
 *   PATTERN@same:KEY     against the system matching the glob PATTERN (e.g. fullseq_dit*) whose
 *                        KEY (e.g. eval.steps) equals the row's;
 *   PATTERN@equal:METRIC against the fastest PATTERN system whose METRIC (e.g. fad_mel) is no better
 *                        than the row's: how many times faster the row is at equal or better quality.
 *   "—" where no system qualifies or a value is not measured.
 *
 * Markdown: the runs' provenance first (command, commit, machine, date — identical values
 * grouped with the systems sharing them — and wall time), then the table (arrows ↓/↑ mark the
 * better direction, per-column precision, "—" for null, the best system value per column in
 * bold, oracle rows excluded), then the metric definitions taken from the JSONs. CSV: system,
 * kind, n_clips and the metric keys, full precision, empty = null. JSON: "vrobin-table/1".
 *
 * Plots (gnuplot, pngcairo; DIR gets <name>.png with its <name>.gp script and <name>.dat data, so
 * a figure can be restyled by hand): fad_inf_<backbone>.png (FAD against 1/n per system with the
 * least-squares line FAD = a + b/n, from "fad_inf_points"), metrics.png (one bar panel per
 * column), latency.png (s per 10-s clip, stacked by stage when the stage keys exist), and with
 * --sweep KEY sweep_<KEY>_<metric>.png: a metric (--sweep-y, default every fad_<bb> column)
 * against KEY — a metric or a header eval key such as eval.steps — one curve per value of
 * --group KEY (default one curve), oracle rows as dashed horizontal lines.
 *
 * Report: DIR/report.html + DIR/assets/ (relative links, so the folder can be zipped): the
 * table, and per system its row and its first N clips (default 4): an HTML5 <video> of the
 * clip's video carrying the system's audio (the picture copied as is when the clip is the whole
 * video — data/media.h vr_mux_audio_into_video —, else the window re-encoded at 320 px wide),
 * an <audio> player of the reference, log-mel spectrograms (data/mel.h, 64 bands at the
 * report's sample rate, 16 kHz by default; PNG through libavcodec) of both on one colour scale,
 * and the clip's own numbers.
 *
 * Errors: -1 with vr_error() naming the file, key or clip and what was expected.
 */
#ifndef VR_TABLE_H
#define VR_TABLE_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

#define VR_TABLE_FORMAT "vrobin-table/1"

/* One system's parsed results file. The pointers point into root. */
typedef struct vr_eval_run {
    char *path;
    struct cJSON *root;
    const char *format, *bench, *system, *kind;
    const struct cJSON *header, *metrics, *definitions, *points, *clips; /* points, clips may be NULL */
    int n_clips;
} vr_eval_run;

typedef struct vr_eval_set {
    vr_eval_run *runs; /* oracle, oracle_decoded, then the systems */
    int n;
} vr_eval_set;

/* Load folders and/or files (see above). 0, or -1 + vr_error(); on failure s is empty. */
int vr_eval_set_load(vr_eval_set *s, char *const *paths, int n_paths);
void vr_eval_set_free(vr_eval_set *s);
/* 1 for the two oracle kinds. */
int vr_eval_is_oracle(const vr_eval_run *r);
/* A number from the run: a metric key, else a header eval key ("eval.steps", or "steps" for
 * "eval.steps"), else a header field (wall_s). 0 with *v set, -1 when absent/null/not a number. */
int vr_eval_lookup(const vr_eval_run *r, const char *key, double *v);

typedef struct vr_table_col {
    char *key;      /* metric key, or "speedup_vs_<system>" */
    char *label;    /* "FAD∞ tagger" */
    int better;     /* -1 lower is better, +1 higher, 0 neither */
    int decimals;   /* Markdown/HTML precision, from the column's magnitude; -1: scientific */
    char *def_key;  /* key of its text in the JSONs' "definitions", or NULL */
    int speedup_ref; /* a speedup column against one system: the set's row of it; -1 otherwise */
    /* a speedup column against a group of systems (--speedup-vs 'PATTERN@same:KEY' or
     * 'PATTERN@equal:METRIC'): 's' or 'e', else 0; the glob and the key or metric */
    char speedup_mode, *speedup_pattern, *speedup_key;
    char *definition; /* its own definition text (speedup columns), or NULL */
} vr_table_col;

typedef struct vr_table {
    const vr_eval_set *set;
    vr_table_col *cols;
    int n_cols;
    double *v;        /* [set->n][n_cols], NAN = null or absent */
    char *speedup_vs; /* the --speedup-vs systems ("a" or "a,b"), or NULL */
} vr_table;

/* preset: NULL or main|ablation|latency; columns: NULL or "a,b|c"; not both. speedup_vs: NULL or
 * comma-separated specs (above): one speedup column each. 0, or -1 + vr_error(). */
int vr_table_build(vr_table *t, const vr_eval_set *s, const char *preset, const char *columns, const char *speedup_vs);
void vr_table_free(vr_table *t);
/* Row r, column c as shown: "1.234", "**1.234**" when bold is asked and it is the column's
 * best, "—" for null. buf holds >= 64 bytes. */
const char *vr_table_cell(const vr_table *t, int r, int c, int bold, char *buf);
/* 1 when row r holds column c's best value among the non-oracle rows (>= 2 of them measured). */
int vr_table_is_best(const vr_table *t, int r, int c);

/* Column c's definition text from the results (the first result's when they differ; the same
 * pointer for columns sharing one definition), or NULL. */
const char *vr_table_definition(const vr_table *t, int c);

/* command: the command line that made the table (shown in the header), may be NULL. */
int vr_table_write_markdown(const vr_table *t, FILE *out, const char *title, const char *command);
int vr_table_write_csv(const vr_table *t, FILE *out);
int vr_table_write_json(const vr_table *t, FILE *out, const char *title, const char *command);

/* fad_inf_<bb>.png, metrics.png, latency.png into dir (created). 0, or -1 + vr_error(). */
int vr_table_plot(const vr_table *t, const char *dir);
/* sweep_<x_key>_<y>.png for each y of y_keys ("a,b"; NULL = every fad_<bb> metric). group_key
 * may be NULL. */
int vr_table_sweep(const vr_eval_set *s, const char *dir, const char *x_key, const char *y_keys, const char *group_key);

/* Run gnuplot on dir/<name>.gp (cwd dir) with outfile set to a temp PNG, renamed over
 * dir/<name>.png on success; gnuplot's messages become the error (or warnings when it succeeded). */
int vr_gnuplot_run(const char *dir, const char *name);

typedef struct vr_report_opts {
    const char *out;        /* report.html path; its folder gets assets/ */
    int max_clips;          /* per system (default 4) */
    int sample_rate;        /* audio in the report (default 16000; must be a multiple of 50) */
} vr_report_opts;

int vr_report_write(const vr_table *t, const vr_report_opts *o);

/* `vrobin table ...`, `vrobin report ...`: 0, 1 (error), 2 (usage). */
int vr_cmd_table(int argc, char **argv);
int vr_cmd_report(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
