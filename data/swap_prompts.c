/* swap_prompts.c — `vrobin data swap-prompts`: the intent test's manifest (issue 8, results/intent.md).
 *
 * Every clip keeps its video (and so its tempo, beats, cuts and mode) but takes the caption of
 * another clip of the same manifest that names a different instrument. The prompt-side labels
 * (instrument, programs, pattern, register, drums) come with the caption, so attribute accuracy is
 * scored against the new prompt while tempo and beat alignment are still scored against the video.
 * The clip's music stays the original: the oracle rows then show how the test reads music that
 * ignores the prompt (instrument accuracy near chance), the ceiling for a model that follows it.
 *
 * Paths are written absolute, so the new manifest may live anywhere. */
#include "data/manifest.h"

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the labels that describe the prompt, not the video */
static const char *const PROMPT_LABELS[] = {"instrument", "programs", "pattern", "register", "drums"};
#define N_PROMPT_LABELS (int)(sizeof PROMPT_LABELS / sizeof PROMPT_LABELS[0])

static const char *instrument_of(const cJSON *labels) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(labels, "instrument");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int add_path(cJSON *o, const char *key, const char *path, const char *manifest, int line) {
    if (!path) return 0;
    char abs[PATH_MAX];
    if (!realpath(path, abs)) return vr_fail("%s:%d: '%s' (%s) does not exist", manifest, line, key, path);
    cJSON_AddStringToObject(o, key, abs);
    return 0;
}

/* The new manifest line of clip e with the prompt of clip donor; NULL with vr_error(). */
static char *swapped_line(const vr_manifest_entry *e, const vr_manifest_entry *donor, const cJSON *labels,
                          const cJSON *donor_labels, const char *manifest) {
    cJSON *o = cJSON_CreateObject(), *l = cJSON_Duplicate(labels, 1);
    char *s = NULL;
    if (!o || !l) {
        cJSON_Delete(o), cJSON_Delete(l);
        vr_fail("out of memory");
        return NULL;
    }
    cJSON_AddItemToObject(o, "labels", l); /* o owns l from here */
    cJSON_AddStringToObject(o, "id", e->id);
    if (!add_path(o, "video", e->video, manifest, e->line) && !add_path(o, "music", e->music, manifest, e->line) &&
        !add_path(o, "features", e->features, manifest, e->line)) {
        cJSON_AddStringToObject(o, "text", donor->text);
        cJSON_AddNumberToObject(o, "start", e->start);
        if (e->end >= 0) cJSON_AddNumberToObject(o, "end", e->end);
        for (int k = 0; k < N_PROMPT_LABELS; k++) {
            cJSON_DeleteItemFromObjectCaseSensitive(l, PROMPT_LABELS[k]);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(donor_labels, PROMPT_LABELS[k]);
            if (v) cJSON_AddItemToObject(l, PROMPT_LABELS[k], cJSON_Duplicate(v, 1));
        }
        cJSON_AddStringToObject(l, "prompt_from", donor->id);
        if (!(s = cJSON_PrintUnformatted(o))) vr_fail("out of memory");
    }
    cJSON_Delete(o);
    return s;
}

int vr_swap_prompts(const char *in_path, const char *out_path, int shift) {
    vr_manifest *m = vr_manifest_load(in_path);
    if (!m) return -1;
    int rc = 0, n = m->n;
    cJSON **labels = calloc((size_t)(n ? n : 1), sizeof *labels);
    if (!labels) rc = vr_fail("out of memory");
    for (int i = 0; i < n && !rc; i++) {
        const vr_manifest_entry *e = &m->entries[i];
        if (e->error) rc = vr_fail("%s", e->error);
        else if (!(labels[i] = cJSON_Parse(e->labels_json)) || !instrument_of(labels[i]))
            rc = vr_fail("%s:%d: clip '%s': no \"instrument\" label (swap-prompts needs SynthV2M-style labels)", in_path,
                         e->line, e->id);
    }
    if (!rc && n < 2) rc = vr_fail("%s: %d clip(s); swapping prompts needs at least 2", in_path, n);
    vr_atomic_file af = {0};
    if (!rc) rc = vr_atomic_open(&af, out_path);
    int swapped = 0;
    for (int i = 0; i < n && !rc; i++) {
        /* the next clip (cyclically, starting `shift` on) whose caption names another instrument;
         * n candidates, since one of them is the clip itself */
        int j = -1;
        for (int k = 0; k < n && j < 0; k++) {
            int c = (i + shift + k) % n;
            if (c != i && strcmp(instrument_of(labels[c]), instrument_of(labels[i]))) j = c;
        }
        if (j < 0) j = (i + 1) % n; /* every clip has the same instrument: still a new caption */
        else swapped++;
        char *line = swapped_line(&m->entries[i], &m->entries[j], labels[i], labels[j], in_path);
        if (!line) rc = -1;
        else if (fprintf(af.fp, "%s\n", line) < 0) rc = vr_fail("%s: write failed", out_path);
        free(line);
    }
    if (!rc) rc = vr_atomic_commit(&af);
    else if (af.fp) vr_atomic_abort(&af);
    if (!rc && swapped < n)
        VR_WARN("swap-prompts: %d of %d clips found no caption with another instrument", n - swapped, n);
    for (int i = 0; labels && i < n; i++) cJSON_Delete(labels[i]);
    free(labels);
    vr_manifest_free(m);
    return rc ? -1 : n;
}

int vr_cmd_data_swap_prompts(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    int shift = 1, bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bad = -1;
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--shift") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1000000) bad = 1;
            shift = (int)v;
        } else if (argv[i][0] != '-' && !in) {
            in = argv[i];
        } else {
            bad = 1;
        }
    }
    if (bad || !in || !out) {
        FILE *f = bad < 0 ? stdout : stderr;
        fprintf(f, "usage: vrobin data swap-prompts IN.jsonl -o OUT.jsonl [--shift K]\n\n"
                   "The intent test's manifest: every clip keeps its video (tempo, beats, cuts, mode) and takes\n"
                   "the caption of the K-th next clip (default 1) that names another instrument, with that\n"
                   "caption's labels (instrument, programs, pattern, register, drums). Paths are written\n"
                   "absolute. Score it with `vrobin eval ... eval.manifest=OUT.jsonl`: instrument accuracy then\n"
                   "asks whether the music follows the new text, tempo accuracy whether it still follows the video.\n");
        return bad < 0 ? 0 : 2;
    }
    int n = vr_swap_prompts(in, out, shift);
    if (n < 0) {
        fprintf(stderr, "vrobin data swap-prompts: %s\n", vr_error());
        return 1;
    }
    printf("%s: %d clips with swapped prompts\n", out, n);
    return 0;
}
