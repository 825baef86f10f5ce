/* synth.c — SynthV2M generator (see synth.h): per-clip intents, captions, labels, rendered video,
 * FluidSynth music, a thread pool over clips, resumable output, and `vrobin data synth`. */
#define _GNU_SOURCE
#include "synth.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/rng.h"
#include "data/media.h"
#include "data/midi.h"

enum { W = 128, H = 128, FPS = 24, TEX = 128, MAX_CUTS = 3, MAX_SHOTS = MAX_CUTS + 1, MAX_OBJECTS = 48 };
#define PX_PER_BEAT 12.0f    /* every object moves this far per beat: speed is proportional to tempo */
#define PAN_PX_PER_BEAT 4.0f /* and so does the camera */
#define DEFAULT_SOUNDFONT "/usr/share/sounds/sf2/TimGM6mb.sf2"

static const char *SPLITS[VR_SYNTH_N_SPLITS] = {"train", "val", "test-id", "test-ood"};
const char *vr_synth_split_name(int s) { return s >= 0 && s < VR_SYNTH_N_SPLITS ? SPLITS[s] : "?"; }

typedef struct preset {
    const char *name;
    int64_t counts[VR_SYNTH_N_SPLITS];
} preset;
static const preset PRESETS[] = {
    {"micro", {2, 2, 2, 2}},
    {"tiny", {24, 4, 6, 6}},
    {"small", {2000, 100, 300, 300}},
    {"full", {20000, 1000, 300, 300}},
};
#define N_PRESETS ((int)(sizeof PRESETS / sizeof PRESETS[0]))

/* ---------------------------------------------------------------------------------------------- */
/* the benchmark's vocabulary */

/* Tempo ranges (BPM): train/val/test-id draw from the first, test-ood from one of the others. */
static const double TEMPO_ID[2] = {80, 140}, TEMPO_SLOW[2] = {60, 75}, TEMPO_FAST[2] = {150, 170};

/* instrument x pattern pairs that only test-ood uses */
static const int HELD_OUT[3][2] = {
    {VR_FAM_STRINGS, VR_PAT_GROOVE}, {VR_FAM_ORGAN, VR_PAT_ARPEGGIO}, {VR_FAM_WOODWIND, VR_PAT_CHORDS}};

enum { STYLE_GEOMETRIC, STYLE_STRIPES, STYLE_BLOBS, STYLE_PARTICLES, STYLE_RINGS, STYLE_TILES, N_STYLES };
enum { N_ID_STYLES = 4 }; /* rings and tiles appear only in test-ood */
static const char *STYLE_NAMES[N_STYLES] = {"geometric", "stripes", "blobs", "particles", "rings", "tiles"};
/* moving objects (ring sources for "rings") per activity level */
static const int N_OBJECTS[N_STYLES][3] = {{2, 4, 6}, {1, 2, 3}, {2, 4, 6}, {12, 24, 48}, {1, 2, 3}, {1, 2, 3}};

typedef struct palette {
    const char *name;
    float bg0[3], bg1[3]; /* background texture from bg0 to bg1 */
    float fg[4][3];       /* object colours */
} palette;
/* 0-3 warm and bright (major), 4-7 dark and cold (minor) */
static const palette PALETTES[8] = {
    {"sunrise", {250, 200, 140}, {255, 235, 190}, {{230, 80, 40}, {250, 150, 30}, {200, 40, 90}, {255, 210, 60}}},
    {"citrus", {240, 230, 150}, {255, 250, 210}, {{250, 120, 0}, {120, 190, 30}, {255, 190, 0}, {230, 60, 60}}},
    {"coral", {255, 190, 170}, {255, 225, 205}, {{240, 90, 80}, {255, 160, 60}, {250, 110, 150}, {200, 60, 40}}},
    {"meadow", {210, 235, 150}, {245, 250, 200}, {{250, 170, 30}, {230, 90, 50}, {110, 170, 40}, {255, 220, 80}}},
    {"midnight", {10, 15, 40}, {30, 40, 80}, {{90, 120, 220}, {140, 100, 200}, {60, 180, 200}, {200, 210, 230}}},
    {"glacier", {20, 40, 60}, {50, 80, 110}, {{120, 200, 230}, {200, 230, 250}, {70, 130, 190}, {150, 170, 200}}},
    {"storm", {25, 25, 35}, {60, 65, 80}, {{110, 120, 150}, {70, 90, 140}, {160, 170, 190}, {90, 60, 130}}},
    {"deepsea", {0, 25, 35}, {10, 55, 70}, {{0, 150, 150}, {40, 100, 160}, {80, 200, 180}, {20, 70, 110}}},
};

static const char *KEY_NAMES[12] = {"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"};
static const char *ACTIVITY_NAMES[3] = {"low", "medium", "high"};

/* caption words: each caption names the instrument (family word or the program's own name),
 * the pattern and the register, and sometimes a mood that agrees with the video's mode */
typedef struct words {
    int n;
    const char *w[4];
} words;
static const words FAMILY_WORDS[VR_N_FAMILIES] = {
    {2, {"piano", "keys"}}, {2, {"strings", "string section"}}, {2, {"guitar", "guitars"}},
    {2, {"brass", "horns"}}, {2, {"synth lead", "synthesizer"}}, {1, {"organ"}},
    {2, {"woodwinds", "woodwind"}}, {3, {"bass and drums", "drums and bass", "rhythm section"}}};
typedef struct program_words {
    int program;
    words w;
} program_words;
static const program_words PROGRAM_WORDS[] = {
    {0, {2, {"grand piano", "acoustic piano"}}}, {1, {1, {"bright piano"}}}, {4, {1, {"electric piano"}}},
    {48, {2, {"string ensemble", "orchestral strings"}}}, {45, {2, {"pizzicato strings", "plucked strings"}}},
    {40, {2, {"violin", "solo violin"}}}, {24, {2, {"nylon guitar", "classical guitar"}}},
    {25, {2, {"steel-string guitar", "acoustic guitar"}}}, {27, {1, {"clean electric guitar"}}},
    {61, {1, {"brass section"}}}, {56, {1, {"trumpet"}}}, {60, {1, {"french horn"}}},
    {80, {1, {"square-wave synth lead"}}}, {81, {1, {"sawtooth synth lead"}}}, {16, {1, {"drawbar organ"}}},
    {19, {2, {"church organ", "pipe organ"}}}, {17, {1, {"percussive organ"}}}, {73, {1, {"flute"}}},
    {71, {1, {"clarinet"}}}, {68, {1, {"oboe"}}}, {33, {1, {"fingered bass and drums"}}},
    {34, {1, {"picked bass and drums"}}}};
static const words PATTERN_WORDS[VR_N_PATTERNS] = {
    {4, {"arpeggios", "rolling arpeggios", "broken-chord arpeggios", "arpeggiated figures"}},
    {4, {"block chords", "steady chords", "sustained chords", "chordal hits"}},
    {4, {"a groove over bass and drums", "a bass-and-drums groove", "a rhythmic groove with drums",
         "a driving backbeat groove"}},
    {4, {"a melody", "a simple melody", "a lyrical melody", "a lead melody"}}};
static const words REGISTER_ADJ[VR_N_REGISTERS] = {
    {3, {"low", "deep", "low-pitched"}}, {3, {"mid-range", "middle-register", "mid-pitched"}},
    {3, {"high", "high-pitched", "upper-register"}}};
static const words REGISTER_PHRASE[VR_N_REGISTERS] = {
    {3, {"in a low register", "down low", "in the low range"}},
    {3, {"in the middle register", "in a mid range", "in a medium register"}},
    {3, {"in a high register", "up high", "in the upper range"}}};
static const words MOODS[2] = {{4, {"bright", "warm", "cheerful", "sunny"}},
                               {4, {"dark", "brooding", "melancholic", "somber"}}};
/* {I} instrument, {P} pattern, {R} register adjective, {RP} register phrase, {M} mood */
static const char *TEMPLATES[] = {
    "{M} {I} playing {P} {RP}",
    "{R} {I} with {P}, {M} feel",
    "{P} on {R} {I}",
    "a {M} cue: {I}, {P}, {RP}",
    "{I} with {P} {RP}",
    "score it with {R} {I} and {P}",
    "{P} played by {I} {RP}, {M} mood",
    "{R} {I}, {P}, {M} mood",
    "instrumental {I} with {P} {RP}",
    "let {R} {I} carry {P} under a {M} scene",
    "{P} from {I}, kept {R}",
    "music for this clip: {M} {I}, {P} {RP}",
    "{I} only: {P} {RP}",
};
#define N_TEMPLATES ((int)(sizeof TEMPLATES / sizeof TEMPLATES[0]))

/* ---------------------------------------------------------------------------------------------- */
/* a clip's intent */

typedef struct clip {
    int split;
    int64_t index;
    char id[40];
    int n_frames;                /* duration = n_frames / FPS */
    int bar_frames;              /* a bar lasts a whole number of frames: bpm = 4*60*FPS / bar_frames */
    int first_frame;             /* frame of the first downbeat, < bar_frames */
    int key, minor, activity;
    int family, program, pattern, reg;
    int style;
    int n_cuts;
    int cut_frame[MAX_CUTS];     /* each on a downbeat */
    int palette[MAX_SHOTS];
    uint64_t music_seed, video_seed;
    char text[256];
} clip;

static double clip_bpm(const clip *c) { return 4.0 * 60.0 * FPS / c->bar_frames; }
static double clip_duration(const clip *c) { return (double)c->n_frames / FPS; }

static const char *pick(vr_rng *r, const words *w) { return w->w[vr_rng_below(r, (uint64_t)w->n)]; }

static const char *instrument_word(vr_rng *r, int family, int program) {
    int n = (int)(sizeof PROGRAM_WORDS / sizeof PROGRAM_WORDS[0]);
    if (vr_rng_below(r, 2))
        for (int i = 0; i < n; i++)
            if (PROGRAM_WORDS[i].program == program) return pick(r, &PROGRAM_WORDS[i].w);
    return pick(r, &FAMILY_WORDS[family]);
}

static void make_caption(clip *c, uint64_t seed) {
    vr_rng r;
    vr_rng_seed(&r, seed);
    const char *t = TEMPLATES[vr_rng_below(&r, N_TEMPLATES)];
    const char *inst = instrument_word(&r, c->family, c->program);
    const char *pat = pick(&r, &PATTERN_WORDS[c->pattern]);
    const char *adj = pick(&r, &REGISTER_ADJ[c->reg]);
    const char *phr = pick(&r, &REGISTER_PHRASE[c->reg]);
    const char *mood = pick(&r, &MOODS[c->minor]);
    size_t n = 0, cap = sizeof c->text;
    for (const char *s = t; *s && n + 1 < cap;) {
        const char *word = NULL;
        size_t skip = 1;
        if (!strncmp(s, "{I}", 3)) word = inst, skip = 3;
        else if (!strncmp(s, "{P}", 3)) word = pat, skip = 3;
        else if (!strncmp(s, "{R}", 3)) word = adj, skip = 3;
        else if (!strncmp(s, "{RP}", 4)) word = phr, skip = 4;
        else if (!strncmp(s, "{M}", 3)) word = mood, skip = 3;
        if (word)
            n += (size_t)snprintf(c->text + n, cap - n, "%s", word);
        else
            c->text[n++] = *s;
        s += skip;
        if (n >= cap) n = cap - 1;
    }
    c->text[n] = '\0';
    if (c->text[0] >= 'a' && c->text[0] <= 'z') c->text[0] = (char)(c->text[0] - 'a' + 'A');
}

static int is_held_out(int family, int pattern) {
    for (int i = 0; i < 3; i++)
        if (HELD_OUT[i][0] == family && HELD_OUT[i][1] == pattern) return 1;
    return 0;
}

/* Everything about a clip, drawn in a fixed order from its own stream (changing the order changes
 * the benchmark: bump VR_SYNTH_VERSION). */
static void draw_clip(const vr_synth_opts *o, int split, int64_t index, clip *c) {
    memset(c, 0, sizeof *c);
    c->split = split;
    c->index = index;
    snprintf(c->id, sizeof c->id, "%s-%06lld", SPLITS[split], (long long)index);
    c->n_frames = (int)lround(o->clip_seconds * FPS);
    vr_rng r;
    vr_rng_seed_stream(&r, o->seed, ((uint64_t)split << 40) + (uint64_t)index);
    int ood = split == VR_SPLIT_TEST_OOD;

    const double *range = !ood ? TEMPO_ID : vr_rng_below(&r, 2) ? TEMPO_FAST : TEMPO_SLOW;
    double bpm = range[0] + (range[1] - range[0]) * vr_rng_uniform(&r);
    const double frames_bpm = 4.0 * 60.0 * FPS; /* bpm * bar_frames */
    int kmin = (int)ceil(frames_bpm / range[1] - 1e-9), kmax = (int)floor(frames_bpm / range[0] + 1e-9);
    int k = (int)lround(frames_bpm / bpm);
    c->bar_frames = k < kmin ? kmin : k > kmax ? kmax : k;
    c->first_frame = (int)vr_rng_below(&r, (uint64_t)c->bar_frames);
    c->key = (int)vr_rng_below(&r, 12);
    c->minor = (int)vr_rng_below(&r, 2);
    c->activity = (int)vr_rng_below(&r, 3);

    /* cuts on downbeats at least a second from either end */
    static const int WANT_CUTS[6] = {0, 1, 1, 2, 2, 3};
    int want = WANT_CUTS[vr_rng_below(&r, 6)];
    int cand[64], n_cand = 0;
    for (int f = c->first_frame; f <= c->n_frames - FPS && n_cand < 64; f += c->bar_frames)
        if (f >= FPS) cand[n_cand++] = f;
    for (int i = 0; i < want && i < n_cand; i++) { /* partial Fisher–Yates, then sort */
        int j = i + (int)vr_rng_below(&r, (uint64_t)(n_cand - i));
        int t = cand[i];
        cand[i] = cand[j];
        cand[j] = t;
        c->cut_frame[c->n_cuts++] = cand[i];
    }
    for (int i = 1; i < c->n_cuts; i++)
        for (int j = i; j > 0 && c->cut_frame[j] < c->cut_frame[j - 1]; j--) {
            int t = c->cut_frame[j];
            c->cut_frame[j] = c->cut_frame[j - 1];
            c->cut_frame[j - 1] = t;
        }

    c->style = ood ? N_ID_STYLES + (int)vr_rng_below(&r, N_STYLES - N_ID_STYLES) : (int)vr_rng_below(&r, N_ID_STYLES);
    int group = c->minor ? 4 : 0; /* each shot a different palette of the clip's mood */
    c->palette[0] = group + (int)vr_rng_below(&r, 4);
    for (int s = 1; s <= c->n_cuts; s++) c->palette[s] = group + (c->palette[s - 1] - group + 1 + (int)vr_rng_below(&r, 3)) % 4;

    if (ood) {
        int h = (int)vr_rng_below(&r, 3);
        c->family = HELD_OUT[h][0];
        c->pattern = HELD_OUT[h][1];
    } else { /* uniform over the pairs that are not held out */
        int m = (int)vr_rng_below(&r, VR_N_FAMILIES * VR_N_PATTERNS - 3);
        for (int p = 0; p < VR_N_FAMILIES * VR_N_PATTERNS; p++) {
            if (is_held_out(p / VR_N_PATTERNS, p % VR_N_PATTERNS)) continue;
            if (m-- == 0) {
                c->family = p / VR_N_PATTERNS;
                c->pattern = p % VR_N_PATTERNS;
                break;
            }
        }
    }
    const int *progs;
    int np = vr_family_programs(c->family, &progs);
    c->program = progs[vr_rng_below(&r, (uint64_t)np)];
    c->reg = (int)vr_rng_below(&r, VR_N_REGISTERS);
    c->music_seed = vr_rng_u64(&r);
    c->video_seed = vr_rng_u64(&r);
    make_caption(c, vr_rng_u64(&r));
}

/* ---------------------------------------------------------------------------------------------- */
/* labels and manifest lines */

static void clip_plan(const clip *c, double cuts[MAX_CUTS], vr_music_plan *plan) {
    for (int i = 0; i < c->n_cuts; i++) cuts[i] = (double)c->cut_frame[i] / FPS;
    *plan = (vr_music_plan){.bpm = clip_bpm(c), .first_downbeat = (double)c->first_frame / FPS,
                            .duration = clip_duration(c), .key = c->key, .minor = c->minor, .family = c->family,
                            .program = c->program, .pattern = c->pattern, .reg = c->reg, .activity = c->activity,
                            .cuts = cuts, .n_cuts = c->n_cuts, .seed = c->music_seed};
}

static double r6(double x) { return round(x * 1e6) / 1e6; } /* short JSON; times stay exact to 1 us */

static void add_times(cJSON *o, const char *key, const double *t, int n) {
    cJSON *a = cJSON_AddArrayToObject(o, key);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(r6(t[i])));
}

/* Beat times in 1/96 s units: a beat is bar_frames/96 s, the first downbeat first_frame/24 s. */
static int beat_ticks(const clip *c, int64_t *ticks, int max, int downbeats_only) {
    int64_t step = downbeats_only ? 4 * c->bar_frames : c->bar_frames, end = 4LL * c->n_frames;
    int64_t t = 4LL * c->first_frame;
    while (t - step >= 0) t -= step;
    int n = 0;
    for (; t < end && n < max; t += step) ticks[n++] = t;
    return n;
}

static cJSON *clip_labels(const clip *c, const vr_score *score, int sample_rate) {
    cJSON *l = cJSON_CreateObject();
    cJSON_AddNumberToObject(l, "tempo_bpm", r6(clip_bpm(c)));
    cJSON_AddNumberToObject(l, "beats_per_bar", 4);
    cJSON_AddNumberToObject(l, "bar_frames", c->bar_frames);
    int64_t ticks[1024];
    double t[1024];
    for (int pass = 0; pass < 2; pass++) {
        int n = beat_ticks(c, ticks, 1024, pass);
        for (int i = 0; i < n; i++) t[i] = (double)ticks[i] / (4.0 * FPS);
        add_times(l, pass ? "downbeat_times" : "beat_times", t, n);
    }
    for (int i = 0; i < c->n_cuts; i++) t[i] = (double)c->cut_frame[i] / FPS;
    add_times(l, "cut_times", t, c->n_cuts);
    cJSON_AddNumberToObject(l, "key", c->key);
    cJSON_AddStringToObject(l, "key_name", KEY_NAMES[c->key]);
    cJSON_AddStringToObject(l, "mode", c->minor ? "minor" : "major");
    cJSON_AddStringToObject(l, "instrument", vr_family_name(c->family));
    /* the programs the clip's score really uses (composing is cheap; rendering is not) */
    int programs[16], np = vr_score_programs(score, programs);
    cJSON_AddItemToObject(l, "programs", cJSON_CreateIntArray(programs, np));
    cJSON_AddBoolToObject(l, "drums", vr_score_has_drums(score));
    cJSON_AddStringToObject(l, "pattern", vr_pattern_name(c->pattern));
    cJSON_AddStringToObject(l, "register", vr_register_name(c->reg));
    cJSON_AddStringToObject(l, "activity", ACTIVITY_NAMES[c->activity]);
    cJSON_AddStringToObject(l, "style", STYLE_NAMES[c->style]);
    cJSON_AddStringToObject(l, "palette", PALETTES[c->palette[0]].name);
    cJSON *sp = cJSON_AddArrayToObject(l, "shot_palettes");
    for (int s = 0; s <= c->n_cuts; s++) cJSON_AddItemToArray(sp, cJSON_CreateString(PALETTES[c->palette[s]].name));
    cJSON_AddNumberToObject(l, "n_objects", N_OBJECTS[c->style][c->activity]);
    cJSON_AddNumberToObject(l, "motion_px_per_s", r6(PX_PER_BEAT * clip_bpm(c) / 60.0));
    cJSON_AddNumberToObject(l, "sample_rate", sample_rate);
    return l;
}

static char *manifest_line(const clip *c, int sample_rate) {
    char path[128];
    double cuts[MAX_CUTS];
    vr_music_plan plan;
    vr_score score;
    clip_plan(c, cuts, &plan);
    if (vr_score_compose(&plan, &score) != 0) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", c->id);
    snprintf(path, sizeof path, "%s/%s.mp4", SPLITS[c->split], c->id);
    cJSON_AddStringToObject(o, "video", path);
    snprintf(path, sizeof path, "%s/%s.flac", SPLITS[c->split], c->id);
    cJSON_AddStringToObject(o, "music", path);
    cJSON_AddStringToObject(o, "text", c->text);
    cJSON_AddNumberToObject(o, "start", 0);
    cJSON_AddNumberToObject(o, "end", r6(clip_duration(c)));
    cJSON_AddItemToObject(o, "labels", clip_labels(c, &score, sample_rate));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    vr_score_free(&score);
    if (!s) vr_fail("out of memory");
    return s;
}

/* ---------------------------------------------------------------------------------------------- */
/* video: one scene per shot, rendered in float RGB */

typedef struct object {
    float x, y, dx, dy, r; /* start position, unit direction, radius */
    int square, color;
} object;

typedef struct scene {
    int start; /* first frame of the shot */
    const palette *pal;
    float tex[TEX * TEX];  /* tileable value noise in [0, 1]: the background the camera pans over */
    float pan_dx, pan_dy;  /* camera direction */
    float st_cos, st_sin, st_period;
    int n_obj;
    object obj[MAX_OBJECTS];
} scene;

static float smooth(float t) { return t * t * (3 - 2 * t); }

/* Smoothstepped bilinear value noise on a cells x cells lattice that wraps around the texture. */
static float lattice_noise(const float *g, int cells, int x, int y) {
    int size = TEX / cells, cx = x / size, cy = y / size, nx = (cx + 1) % cells, ny = (cy + 1) % cells;
    float fx = smooth((float)(x % size) / size), fy = smooth((float)(y % size) / size);
    float top = g[cy * cells + cx] * (1 - fx) + g[cy * cells + nx] * fx;
    float bottom = g[ny * cells + cx] * (1 - fx) + g[ny * cells + nx] * fx;
    return top * (1 - fy) + bottom * fy;
}

/* Two octaves of tileable value noise (cells of 32 and 16 pixels; blobs get only the coarse one). */
static void make_texture(float *tex, vr_rng *r, int coarse_only) {
    float g1[4 * 4], g2[8 * 8];
    for (int i = 0; i < 16; i++) g1[i] = (float)vr_rng_uniform(r);
    for (int i = 0; i < 64; i++) g2[i] = (float)vr_rng_uniform(r);
    for (int y = 0; y < TEX; y++)
        for (int x = 0; x < TEX; x++)
            tex[y * TEX + x] = coarse_only ? lattice_noise(g1, 4, x, y)
                                           : 0.65f * lattice_noise(g1, 4, x, y) + 0.35f * lattice_noise(g2, 8, x, y);
}

static void scene_init(scene *s, const clip *c, int shot, int start, vr_rng *r) {
    s->start = start;
    s->pal = &PALETTES[c->palette[shot]];
    make_texture(s->tex, r, c->style == STYLE_BLOBS);
    float a = (float)(2 * M_PI * vr_rng_uniform(r));
    s->pan_dx = cosf(a);
    s->pan_dy = sinf(a);
    float sa = (float)(M_PI * vr_rng_uniform(r));
    s->st_cos = cosf(sa);
    s->st_sin = sinf(sa);
    s->st_period = 14 + 12 * (float)vr_rng_uniform(r);
    s->n_obj = N_OBJECTS[c->style][c->activity];
    float flow = (float)(2 * M_PI * vr_rng_uniform(r)); /* particles drift together */
    for (int i = 0; i < s->n_obj; i++) {
        object *o = &s->obj[i];
        static const float RADIUS[N_STYLES][2] = {{7, 7}, {9, 6}, {12, 8}, {1.5f, 1}, {0, 0}, {8, 4}};
        o->r = RADIUS[c->style][0] + RADIUS[c->style][1] * (float)vr_rng_uniform(r);
        o->x = o->r + (W - 2 * o->r) * (float)vr_rng_uniform(r);
        o->y = o->r + (H - 2 * o->r) * (float)vr_rng_uniform(r);
        float d = c->style == STYLE_PARTICLES ? flow + 0.7f * ((float)vr_rng_uniform(r) - 0.5f)
                                              : (float)(2 * M_PI * vr_rng_uniform(r));
        o->dx = cosf(d);
        o->dy = sinf(d);
        o->square = (int)vr_rng_below(r, 2);
        o->color = (int)vr_rng_below(r, 4);
    }
}

/* Bounce inside [lo, hi]: a triangle wave of the unbounded position. */
static float bounce(float x, float lo, float hi) {
    float len = hi - lo;
    if (len <= 0) return lo;
    float y = fmodf(x - lo, 2 * len);
    if (y < 0) y += 2 * len;
    return lo + (y < len ? y : 2 * len - y);
}

static float wrap(float x, float n) {
    float y = fmodf(x, n);
    return y < 0 ? y + n : y;
}

static void blend(float *p, const float *col, float a) {
    if (a <= 0) return;
    if (a > 1) a = 1;
    for (int k = 0; k < 3; k++) p[k] += (col[k] - p[k]) * a;
}

/* A filled circle or square with a one-pixel soft edge. */
static void draw_shape(float *img, float cx, float cy, float r, int square, const float *col) {
    int x0 = (int)floorf(cx - r - 1), x1 = (int)ceilf(cx + r + 1);
    int y0 = (int)floorf(cy - r - 1), y1 = (int)ceilf(cy + r + 1);
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < H; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < W; x++) {
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            float d = square ? fmaxf(fabsf(dx), fabsf(dy)) : sqrtf(dx * dx + dy * dy);
            blend(img + 3 * (y * W + x), col, r - d + 0.5f);
        }
}

static void draw_blob(float *img, float cx, float cy, float sigma, const float *col) {
    int rad = (int)ceilf(3 * sigma);
    for (int y = (int)cy - rad; y <= (int)cy + rad; y++)
        for (int x = (int)cx - rad; x <= (int)cx + rad; x++) {
            if (x < 0 || y < 0 || x >= W || y >= H) continue;
            float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
            blend(img + 3 * (y * W + x), col, 0.9f * expf(-(dx * dx + dy * dy) / (2 * sigma * sigma)));
        }
}

static void render_frame(const clip *c, const scene *s, int f, float *img, uint8_t *rgb) {
    /* beats since the shot began (motion) and since the first downbeat (pulses) */
    float tb = 4.0f * (float)(f - s->start) / (float)c->bar_frames;
    double ta = 4.0 * (f - c->first_frame) / c->bar_frames;
    double bi = floor(ta);
    float u = (float)(ta - bi);
    int down = ((long)bi % 4 + 4) % 4 == 0;
    float pulse = (down ? 1.0f : 0.5f) * expf(-5 * u); /* no full-frame flash: only cuts change the whole frame */
    const palette *pal = s->pal;
    float pan = PAN_PX_PER_BEAT * tb, dist = PX_PER_BEAT * tb;

    /* ring sources move like objects */
    float src[MAX_OBJECTS][2];
    int ns = c->style == STYLE_RINGS ? s->n_obj : 0;
    for (int i = 0; i < ns; i++) {
        src[i][0] = bounce(s->obj[i].x + dist * s->obj[i].dx, 0, W);
        src[i][1] = bounce(s->obj[i].y + dist * s->obj[i].dy, 0, H);
    }

    /* background */
    float ox = wrap(pan * s->pan_dx, TEX), oy = wrap(pan * s->pan_dy, TEX);
    int ix = (int)ox, iy = (int)oy;
    float fx = ox - ix, fy = oy - iy;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float v;
            if (c->style == STYLE_STRIPES) {
                float d = x * s->st_cos + y * s->st_sin - pan;
                v = 0.5f + 0.5f * sinf(2 * (float)M_PI * d / s->st_period);
            } else if (c->style == STYLE_TILES) { /* a checkerboard floor under the panning camera */
                int tx = (int)floorf((x + ox) / 16), ty = (int)floorf((y + oy) / 16);
                v = 0.15f + 0.7f * (float)((tx + ty) & 1);
            } else {
                int x0 = (x + ix) & (TEX - 1), y0 = (y + iy) & (TEX - 1);
                int x1 = (x0 + 1) & (TEX - 1), y1 = (y0 + 1) & (TEX - 1);
                const float *t = s->tex;
                v = (t[y0 * TEX + x0] * (1 - fx) + t[y0 * TEX + x1] * fx) * (1 - fy) +
                    (t[y1 * TEX + x0] * (1 - fx) + t[y1 * TEX + x1] * fx) * fy;
            }
            float *p = img + 3 * (y * W + x);
            for (int k = 0; k < 3; k++) p[k] = pal->bg0[k] + (pal->bg1[k] - pal->bg0[k]) * v;
            for (int i = 0; c->style == STYLE_RINGS && i < ns; i++) { /* rings spread at the camera's speed */
                float dx = x - src[i][0], dy = y - src[i][1];
                float ring = 0.5f + 0.5f * cosf(2 * (float)M_PI * (sqrtf(dx * dx + dy * dy) - pan) / 16);
                blend(p, pal->fg[s->obj[i].color], 0.8f * ring * ring * ring * ring);
            }
        }

    /* objects: a fixed distance per beat, bouncing off the frame (particles wrap), pulsing on beats */
    if (c->style != STYLE_RINGS)
        for (int i = 0; i < s->n_obj; i++) {
            const object *o = &s->obj[i];
            float r = o->r * (1 + 0.3f * pulse);
            float x = o->x + dist * o->dx, y = o->y + dist * o->dy;
            if (c->style == STYLE_PARTICLES) {
                float col[3];
                for (int k = 0; k < 3; k++) col[k] = fminf(255, pal->fg[o->color][k] * (0.8f + 0.4f * pulse));
                draw_shape(img, wrap(x, W), wrap(y, H), r, 0, col);
            } else if (c->style == STYLE_BLOBS)
                draw_blob(img, bounce(x, 0, W), bounce(y, 0, H), 0.6f * r, pal->fg[o->color]);
            else
                draw_shape(img, bounce(x, o->r, W - o->r), bounce(y, o->r, H - o->r), r,
                           c->style == STYLE_GEOMETRIC && o->square, pal->fg[o->color]);
        }
    for (int i = 0; i < W * H * 3; i++) {
        float v = img[i];
        rgb[i] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : (int)(v + 0.5f));
    }
}

/* ---------------------------------------------------------------------------------------------- */
/* one clip's files */

typedef struct worker_ctx {
    vr_fluid *fluid;
    float *img;
    uint8_t *rgb;
    scene *scene;
} worker_ctx;

static int write_clip(worker_ctx *w, const vr_synth_opts *o, const clip *c) {
    int sr = o->sample_rate;
    int64_t n = ((int64_t)c->n_frames * sr + FPS / 2) / FPS;
    double cuts[MAX_CUTS];
    vr_music_plan plan;
    vr_score score;
    clip_plan(c, cuts, &plan);
    if (vr_score_compose(&plan, &score) != 0) return -1;
    float *audio = malloc((size_t)n * sizeof *audio);
    if (!audio) {
        vr_score_free(&score);
        return vr_fail("out of memory");
    }
    int rc = vr_fluid_render(w->fluid, &score, audio, n);
    vr_score_free(&score);

    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.flac", o->out_dir, SPLITS[c->split], c->id);
    if (rc == 0) rc = vr_audio_write(path, audio, n, sr);

    snprintf(path, sizeof path, "%s/%s/%s.mp4", o->out_dir, SPLITS[c->split], c->id);
    vr_video_writer *vw = rc == 0 ? vr_video_writer_open(path, W, H, FPS, sr) : NULL;
    if (rc == 0 && !vw) rc = -1;
    vr_rng vrng;
    vr_rng_seed(&vrng, c->video_seed);
    int shot = 0;
    for (int f = 0; rc == 0 && f < c->n_frames; f++) {
        if (f == 0 || (shot < c->n_cuts && f == c->cut_frame[shot])) { /* a cut: a new scene */
            if (f > 0) shot++;
            scene_init(w->scene, c, shot, f, &vrng);
        }
        render_frame(c, w->scene, f, w->img, w->rgb);
        int64_t a0 = n * f / c->n_frames, a1 = n * (f + 1) / c->n_frames;
        if (vr_video_writer_frame(vw, w->rgb) != 0 || vr_video_writer_audio(vw, audio + a0, a1 - a0) != 0) rc = -1;
    }
    if (vw) {
        if (rc == 0) rc = vr_video_writer_close(vw);
        else vr_video_writer_abort(vw);
    }
    free(audio);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* the pool */

typedef struct pool {
    const vr_synth_opts *o;
    clip **todo;
    int64_t n_todo, next, done;
    int failed;
    char error[1024];
    pthread_mutex_t mu;
    vr_progress *progress;
} pool;

static void pool_fail(pool *p, const char *what) {
    pthread_mutex_lock(&p->mu);
    if (!p->failed) snprintf(p->error, sizeof p->error, "%s: %s", what, vr_error());
    p->failed = 1;
    pthread_mutex_unlock(&p->mu);
}

static void *pool_worker(void *arg) {
    pool *p = arg;
    worker_ctx w = {0};
    w.fluid = vr_fluid_new(p->o->soundfont, p->o->sample_rate);
    w.img = malloc(sizeof(float) * W * H * 3);
    w.rgb = malloc(W * H * 3);
    w.scene = malloc(sizeof *w.scene);
    if (!w.fluid) pool_fail(p, "starting FluidSynth");
    else if (!w.img || !w.rgb || !w.scene) {
        vr_fail("out of memory");
        pool_fail(p, "starting a worker");
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int64_t i = p->failed ? p->n_todo : p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n_todo) break;
        const clip *c = p->todo[i];
        if (write_clip(&w, p->o, c) != 0) {
            char what[128];
            snprintf(what, sizeof what, "%s/%s", SPLITS[c->split], c->id);
            pool_fail(p, what);
            break;
        }
        pthread_mutex_lock(&p->mu);
        vr_progress_update(p->progress, ++p->done, NULL);
        pthread_mutex_unlock(&p->mu);
    }
    vr_fluid_free(w.fluid);
    free(w.img);
    free(w.rgb);
    free(w.scene);
    return NULL;
}

static int run_pool(pool *p, int jobs) {
    pthread_t th[64];
    int started = 0;
    if (jobs > p->n_todo) jobs = (int)p->n_todo;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, pool_worker, p) != 0) break;
    if (started == 0 && p->n_todo > 0) return vr_fail("cannot start a worker thread: %s", strerror(errno));
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    return p->failed ? vr_fail("%s", p->error) : 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* the folder */

void vr_synth_opts_default(vr_synth_opts *o) {
    memset(o, 0, sizeof *o);
    o->preset = "tiny";
    for (int s = 0; s < VR_SYNTH_N_SPLITS; s++) o->counts[s] = -1;
    o->seed = 1;
    o->clip_seconds = 10;
    o->sample_rate = 16000;
    o->soundfont = DEFAULT_SOUNDFONT;
}

/* A folder keeps clips only from the same generator, seed, clip length and sample rate. */
static int check_existing(const vr_synth_opts *o, const char *info_path) {
    if (!vr_file_exists(info_path)) return 0;
    char *text = NULL;
    if (vr_read_file(info_path, &text, NULL) != 0) return -1;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) return vr_fail("%s: not valid JSON; remove it or use another folder", info_path);
    const struct { const char *key, *what; double want; } F[] = {
        {"version", "generator version", VR_SYNTH_VERSION}, {"seed", "seed", (double)o->seed},
        {"clip_seconds", "clip length (s)", o->clip_seconds}, {"sample_rate", "sample rate", o->sample_rate}};
    int rc = 0;
    for (size_t i = 0; i < sizeof F / sizeof F[0] && rc == 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, F[i].key);
        if (!cJSON_IsNumber(v))
            rc = vr_fail("%s: no \"%s\"; remove the file or use another folder", info_path, F[i].key);
        else if (v->valuedouble != F[i].want)
            rc = vr_fail("%s: the clips here were made with %s %.17g, this run asks for %.17g; use another folder, "
                         "or the same settings to resume", info_path, F[i].what, v->valuedouble, F[i].want);
    }
    cJSON_Delete(j);
    return rc;
}

static int write_info(const vr_synth_opts *o, const char *preset_name, const int64_t *counts, int complete,
                      const char *path) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "generator", "SynthV2M");
    cJSON_AddNumberToObject(j, "version", VR_SYNTH_VERSION);
    cJSON_AddStringToObject(j, "preset", preset_name);
    cJSON_AddNumberToObject(j, "seed", (double)o->seed);
    cJSON_AddNumberToObject(j, "clip_seconds", o->clip_seconds);
    cJSON_AddNumberToObject(j, "sample_rate", o->sample_rate);
    cJSON_AddNumberToObject(j, "fps", FPS);
    cJSON_AddNumberToObject(j, "width", W);
    cJSON_AddNumberToObject(j, "height", H);
    cJSON *cnt = cJSON_AddObjectToObject(j, "counts");
    for (int s = 0; s < VR_SYNTH_N_SPLITS; s++) cJSON_AddNumberToObject(cnt, SPLITS[s], (double)counts[s]);
    cJSON_AddBoolToObject(j, "media", !o->labels_only);
    cJSON_AddBoolToObject(j, "complete", complete);
    cJSON *id = cJSON_AddObjectToObject(j, "in_distribution");
    cJSON_AddItemToObject(id, "tempo_bpm", cJSON_CreateDoubleArray(TEMPO_ID, 2));
    cJSON *st = cJSON_AddArrayToObject(id, "styles");
    for (int s = 0; s < N_ID_STYLES; s++) cJSON_AddItemToArray(st, cJSON_CreateString(STYLE_NAMES[s]));
    cJSON *ood = cJSON_AddObjectToObject(j, "test_ood");
    cJSON *tr = cJSON_AddArrayToObject(ood, "tempo_bpm");
    cJSON_AddItemToArray(tr, cJSON_CreateDoubleArray(TEMPO_SLOW, 2));
    cJSON_AddItemToArray(tr, cJSON_CreateDoubleArray(TEMPO_FAST, 2));
    st = cJSON_AddArrayToObject(ood, "styles");
    for (int s = N_ID_STYLES; s < N_STYLES; s++) cJSON_AddItemToArray(st, cJSON_CreateString(STYLE_NAMES[s]));
    cJSON *ho = cJSON_AddArrayToObject(ood, "held_out_instrument_pattern");
    for (int i = 0; i < 3; i++) {
        const char *pair[2] = {vr_family_name(HELD_OUT[i][0]), vr_pattern_name(HELD_OUT[i][1])};
        cJSON_AddItemToArray(ho, cJSON_CreateStringArray(pair, 2));
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    if (!s) return vr_fail("out of memory");
    size_t len = strlen(s);
    s[len] = '\n'; /* replace the terminator: the file ends with a newline */
    int rc = vr_write_file_atomic(path, s, len + 1);
    free(s);
    return rc;
}

static int write_manifest(const vr_synth_opts *o, int split, const clip *clips, int64_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.jsonl", o->out_dir, SPLITS[split]);
    vr_atomic_file f;
    if (vr_atomic_open(&f, path) != 0) return -1;
    for (int64_t i = 0; i < n; i++) {
        char *line = manifest_line(&clips[i], o->sample_rate);
        if (!line) {
            vr_context("%s: clip %s", path, clips[i].id);
            vr_atomic_abort(&f);
            return -1;
        }
        fputs(line, f.fp);
        fputc('\n', f.fp);
        free(line);
    }
    return vr_atomic_commit(&f);
}

/* Temp files of an interrupted run ("<name>.tmp.<pid>") are garbage now. */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || !t[5] || strspn(t + 5, "0123456789") != strlen(t + 5)) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) VR_DEBUG("removed the stale temp file %s", path);
    }
    closedir(d);
}

static int has_media(const vr_synth_opts *o, const clip *c) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s.mp4", o->out_dir, SPLITS[c->split], c->id);
    if (!vr_file_exists(path)) return 0;
    snprintf(path, sizeof path, "%s/%s/%s.flac", o->out_dir, SPLITS[c->split], c->id);
    return vr_file_exists(path);
}

static int check_opts(const vr_synth_opts *o, int64_t counts[VR_SYNTH_N_SPLITS], const char **preset_name) {
    if (!o->out_dir || !*o->out_dir) return vr_fail("SynthV2M: no output folder given");
    const preset *pr = NULL;
    if (o->preset) {
        for (int i = 0; i < N_PRESETS; i++)
            if (!strcmp(o->preset, PRESETS[i].name)) pr = &PRESETS[i];
        if (!pr) return vr_fail("SynthV2M: unknown preset '%s' (expected micro, tiny, small or full)", o->preset);
    }
    int custom = 0;
    for (int s = 0; s < VR_SYNTH_N_SPLITS; s++) {
        counts[s] = o->counts[s] >= 0 ? o->counts[s] : pr ? pr->counts[s] : -1;
        if (counts[s] < 0) return vr_fail("SynthV2M: no count for split %s (give a preset or counts)", SPLITS[s]);
        if (counts[s] > 10000000) return vr_fail("SynthV2M: %lld clips in %s is too many", (long long)counts[s], SPLITS[s]);
        if (o->counts[s] >= 0 && (!pr || o->counts[s] != pr->counts[s])) custom = 1;
    }
    *preset_name = custom || !pr ? "custom" : pr->name;
    if (!(o->clip_seconds >= 2 && o->clip_seconds <= 60))
        return vr_fail("SynthV2M: clip length %g s, expected 2..60", o->clip_seconds);
    if (fabs(o->clip_seconds * FPS - round(o->clip_seconds * FPS)) > 1e-9)
        return vr_fail("SynthV2M: clip length %g s is not a whole number of %d-fps frames", o->clip_seconds, FPS);
    if (o->sample_rate < 8000 || o->sample_rate > 96000)
        return vr_fail("SynthV2M: sample rate %d Hz, expected 8000..96000", o->sample_rate);
    if (o->seed > (1ULL << 53)) return vr_fail("SynthV2M: seed %llu is above 2^53 (it must stay exact in JSON)",
                                               (unsigned long long)o->seed);
    if (!o->labels_only && access(o->soundfont ? o->soundfont : DEFAULT_SOUNDFONT, R_OK) != 0)
        return vr_fail("%s: cannot read the SoundFont (%s); install timgm6mb-soundfont or pass another",
                       o->soundfont ? o->soundfont : DEFAULT_SOUNDFONT, strerror(errno));
    return 0;
}

int vr_synth_generate(const vr_synth_opts *opts) {
    vr_synth_opts o = *opts;
    if (!o.soundfont) o.soundfont = DEFAULT_SOUNDFONT;
    int64_t counts[VR_SYNTH_N_SPLITS];
    const char *preset_name = "custom";
    if (check_opts(&o, counts, &preset_name) != 0) return -1;
    int jobs = o.jobs > 0 ? o.jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    if (jobs > 64) jobs = 64;

    char path[4096];
    if (vr_mkdirs(o.out_dir) != 0) return -1;
    snprintf(path, sizeof path, "%s/synth_info.json", o.out_dir);
    if (check_existing(&o, path) != 0 || write_info(&o, preset_name, counts, 0, path) != 0) return -1;

    clip *clips[VR_SYNTH_N_SPLITS] = {0};
    clip **todo = NULL;
    int64_t total = 0, n_todo = 0;
    int rc = 0;
    for (int s = 0; s < VR_SYNTH_N_SPLITS; s++) total += counts[s];
    if (!o.labels_only && !(todo = malloc((size_t)(total ? total : 1) * sizeof *todo))) rc = vr_fail("out of memory");
    for (int s = 0; s < VR_SYNTH_N_SPLITS && rc == 0; s++) {
        if (!counts[s]) continue;
        if (!(clips[s] = malloc((size_t)counts[s] * sizeof *clips[s]))) {
            rc = vr_fail("out of memory");
            break;
        }
        for (int64_t i = 0; i < counts[s]; i++) draw_clip(&o, s, i, &clips[s][i]);
        if (o.labels_only) continue;
        snprintf(path, sizeof path, "%s/%s", o.out_dir, SPLITS[s]);
        if (vr_mkdirs(path) != 0) {
            rc = -1;
            break;
        }
        remove_stale_temps(path);
        for (int64_t i = 0; i < counts[s]; i++)
            if (!has_media(&o, &clips[s][i])) todo[n_todo++] = &clips[s][i];
    }

    double t0 = vr_now();
    if (rc == 0 && n_todo > 0) {
        if (n_todo < total) VR_INFO("%s: %lld of %lld clips already there, generating the other %lld", o.out_dir,
                                    (long long)(total - n_todo), (long long)total, (long long)n_todo);
        pool p = {.o = &o, .todo = todo, .n_todo = n_todo};
        pthread_mutex_init(&p.mu, NULL);
        p.progress = vr_progress_begin("SynthV2M", n_todo, "clips");
        rc = run_pool(&p, jobs);
        vr_progress_end(p.progress);
        pthread_mutex_destroy(&p.mu);
    }
    double secs = vr_now() - t0;
    for (int s = 0; s < VR_SYNTH_N_SPLITS && rc == 0; s++)
        if (counts[s]) rc = write_manifest(&o, s, clips[s], counts[s]);
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/synth_info.json", o.out_dir);
        rc = write_info(&o, preset_name, counts, 1, path);
    }
    if (rc == 0 && n_todo > 0)
        VR_INFO("SynthV2M %s: %lld clips in %s (%lld generated in %.1f s, %.2f s per clip on %d jobs)", preset_name,
                (long long)total, o.out_dir, (long long)n_todo, secs, secs * (n_todo < jobs ? n_todo : jobs) / n_todo,
                (int)(n_todo < jobs ? n_todo : jobs));
    for (int s = 0; s < VR_SYNTH_N_SPLITS; s++) free(clips[s]);
    free(todo);
    return rc;
}

/* ---------------------------------------------------------------------------------------------- */
/* vrobin data synth */

static void synth_usage(FILE *out) {
    fprintf(out,
            "usage: vrobin data synth <micro|tiny|small|full> <outdir> [options]\n\n"
            "Generate SynthV2M, a procedural video-text-music benchmark with ground truth: per clip an\n"
            "mp4 (128x128, 24 fps, music as AAC soundtrack) and a flac of the music, plus one JSONL\n"
            "manifest per split (train, val, test-id, test-ood) with captions and labels (tempo, beat,\n"
            "downbeat and cut times, key, mode, instrument, pattern, register, visual style).\n"
            "Re-running into the same folder resumes an interrupted generation.\n\n"
            "presets (train/val/test-id/test-ood clips):\n"
            "  micro   2/2/2/2         tests\n"
            "  tiny    24/4/6/6        smoke runs, < 1 minute on 2 cores\n"
            "  small   2000/100/300/300  a laptop run (test-id has the paper's benchmark size)\n"
            "  full    20000/1000/300/300\n\n"
            "options:\n"
            "  --seed N            benchmark seed (default 1); same seed, same clips\n"
            "  --jobs N            worker threads (default: number of CPUs)\n"
            "  --clip-seconds S    clip length (default 10)\n"
            "  --sample-rate HZ    music sample rate (default 16000)\n"
            "  --soundfont PATH    General MIDI SoundFont (default " DEFAULT_SOUNDFONT ")\n"
            "  --labels-only       write manifests and synth_info.json without rendering media\n");
}

/* -h/--help anywhere in argv (core/main.c's vr_wants_help is not in the library) */
static int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-') return -1;
    *out = v;
    return 0;
}

int vr_cmd_data_synth(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        synth_usage(stdout);
        return 0;
    }
    vr_synth_opts o;
    vr_synth_opts_default(&o);
    const char *pos[2];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (npos == 2) {
                fprintf(stderr, "vrobin data synth: unexpected argument '%s'\n\n", a);
                synth_usage(stderr);
                return 2;
            }
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--labels-only")) {
            o.labels_only = 1;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u = 0;
        char *end = NULL;
        int ok = v != NULL;
        if (!strcmp(a, "--seed")) {
            ok = ok && parse_u64(v, &o.seed) == 0;
        } else if (!strcmp(a, "--jobs")) {
            ok = ok && parse_u64(v, &u) == 0 && u >= 1 && u <= 64;
            o.jobs = (int)u;
        } else if (!strcmp(a, "--sample-rate")) {
            ok = ok && parse_u64(v, &u) == 0 && u <= 1000000;
            o.sample_rate = (int)u;
        } else if (!strcmp(a, "--clip-seconds")) {
            if (ok) o.clip_seconds = strtod(v, &end);
            ok = ok && end != v && !*end;
        } else if (!strcmp(a, "--soundfont")) {
            o.soundfont = v;
        } else {
            fprintf(stderr, "vrobin data synth: unknown option '%s'\n\n", a);
            synth_usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "vrobin data synth: %s needs a %s, got '%s'\n", a,
                    !strcmp(a, "--jobs") ? "count 1..64" : !strcmp(a, "--soundfont") ? "path" : "number",
                    v ? v : "(nothing)");
            return 2;
        }
        i++;
    }
    if (npos != 2) {
        fprintf(stderr, "vrobin data synth: expected a preset and an output folder\n\n");
        synth_usage(stderr);
        return 2;
    }
    o.preset = pos[0];
    o.out_dir = pos[1];
    if (vr_synth_generate(&o) != 0) {
        fprintf(stderr, "vrobin data synth: %s\n", vr_error());
        return 1;
    }
    return 0;
}
