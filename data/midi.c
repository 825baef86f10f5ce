/* midi.c — see midi.h. Composition (plan -> notes) and rendering (notes -> samples). */
#define _GNU_SOURCE
#include "midi.h"

#include <errno.h>
#include <fluidsynth.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"

static const char *FAMILY_NAMES[VR_N_FAMILIES] = {"piano", "strings", "guitar", "brass",
                                                  "synth_lead", "organ", "woodwind", "bass_drums"};
static const char *PATTERN_NAMES[VR_N_PATTERNS] = {"arpeggio", "chords", "groove", "melody"};
static const char *REGISTER_NAMES[VR_N_REGISTERS] = {"low", "mid", "high"};

static const int PROGRAMS[VR_N_FAMILIES][3] = {
    {0, 1, 4},    /* grand, bright, electric piano */
    {48, 45, 40}, /* string ensemble, pizzicato, violin (not "slow strings": its attack blurs the beat) */
    {24, 25, 27}, /* nylon, steel, clean electric guitar */
    {61, 56, 60}, /* brass section, trumpet, french horn */
    {80, 81},     /* square and saw leads */
    {16, 19, 17}, /* drawbar, church, percussive organ */
    {73, 71, 68}, /* flute, clarinet, oboe */
    {33, 34},     /* fingered, picked bass (with the drum kit) */
};
static const int N_PROGRAMS[VR_N_FAMILIES] = {3, 3, 3, 3, 2, 3, 3, 2};

const char *vr_family_name(int f) { return f >= 0 && f < VR_N_FAMILIES ? FAMILY_NAMES[f] : "?"; }
const char *vr_pattern_name(int p) { return p >= 0 && p < VR_N_PATTERNS ? PATTERN_NAMES[p] : "?"; }
const char *vr_register_name(int r) { return r >= 0 && r < VR_N_REGISTERS ? REGISTER_NAMES[r] : "?"; }

int vr_family_programs(int family, const int **programs) {
    if (family < 0 || family >= VR_N_FAMILIES) return 0;
    *programs = PROGRAMS[family];
    return N_PROGRAMS[family];
}

/* ---------------------------------------------------------------------------------------------- */
/* composition */

static const int MAJOR[7] = {0, 2, 4, 5, 7, 9, 11};
static const int MINOR[7] = {0, 2, 3, 5, 7, 8, 10};

/* 4-bar progressions as scale degrees (0 = I). A clip draws two distinct ones and alternates
 * them section by section, so a cut also changes the harmony. */
static const int PROG_MAJOR[5][4] = {{0, 4, 5, 3}, {0, 3, 4, 3}, {0, 5, 3, 4}, {5, 3, 0, 4}, {0, 3, 0, 4}};
static const int PROG_MINOR[5][4] = {{0, 5, 2, 6}, {0, 3, 4, 0}, {0, 6, 5, 6}, {0, 3, 5, 4}, {0, 5, 3, 4}};

enum { KICK = 36, SNARE = 38, HAT = 42, OPEN_HAT = 46, CRASH = 49, RIDE = 51 };
enum { DRUMS_LIGHT, DRUMS_BACKBEAT, DRUMS_GROOVE, DRUMS_RIDE };

typedef struct composer {
    const vr_music_plan *p;
    vr_score *s;
    vr_rng rng;
    double beat;         /* seconds */
    int tonic;           /* MIDI pitch of the lead part's tonic (register-dependent) */
    int bass_tonic;      /* tonic of the bass line under a groove */
    const int *scale;
    const int *prog[2];
    int arp_shape;
    int mel;             /* melody position, scale steps above the tonic */
    int failed;
} composer;

static void add_note(composer *c, int ch, int pitch, int vel, double t, double dur) {
    if (t < -1e-9 || t >= c->p->duration - 1e-9 || c->failed) return;
    if (t + dur > c->p->duration) dur = c->p->duration - t;
    vr_score *s = c->s;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        vr_note *bigger = realloc(s->notes, (size_t)cap * sizeof *bigger);
        if (!bigger) {
            c->failed = 1;
            return;
        }
        s->notes = bigger;
        s->cap = cap;
    }
    pitch = pitch < 0 ? 0 : pitch > 127 ? 127 : pitch;
    vel = vel < 1 ? 1 : vel > 127 ? 127 : vel;
    s->notes[s->n++] = (vr_note){t < 0 ? 0 : t, dur, (uint8_t)ch, (uint8_t)pitch, (uint8_t)vel};
}

static int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* Pitch `step` scale steps above `tonic` (negative steps go down). */
static int scale_pitch(const composer *c, int tonic, int step) {
    int oct = floor_div(step, 7);
    return tonic + 12 * oct + c->scale[step - 7 * oct];
}

/* The i-th tone (0 root, 1 third, 2 fifth, 3 octave, ...) of the triad on degree `deg`, voiced so
 * that roots stay within a fifth around the tonic. Minor keys take the harmonic V (raised third). */
static int chord_tone(const composer *c, int tonic, int deg, int i) {
    int pitch = scale_pitch(c, tonic, deg + 2 * (i % 3) + 7 * (i / 3));
    if (c->p->minor && deg == 4 && i % 3 == 1) pitch += 1;
    return c->scale[deg] > 7 ? pitch - 12 : pitch;
}

/* Accents: downbeats loudest (a cut's downbeat at full force), then beat 3, then 2 and 4, offbeats
 * soft. Moderate steps: a bar accent much stronger than the beats pulls tempo estimates to half. */
static int velocity(composer *c, double pos, int cut) {
    int v = 70 + 8 * c->p->activity;
    if (pos == 0) {
        if (cut) return 127;
        v += 12;
    } else if (pos == floor(pos))
        v += pos == 2 ? 8 : 6;
    else
        v -= 10;
    return v + (int)vr_rng_below(&c->rng, 7) - 3;
}

/* Chords at `n` onsets (beats within the bar), each held up to the next one; `tones` is a bit mask
 * of chord tones (bit i: chord_tone i). */
static void chord_rhythm(composer *c, const double *pos, int n, double t0, int deg, unsigned tones, int cut) {
    for (int k = 0; k < n; k++) {
        double next = k + 1 < n ? pos[k + 1] : 4.0;
        int v = velocity(c, pos[k], cut);
        for (int i = 0; i < 4; i++) /* detached: bowed and blown chords need a gap to be heard anew */
            if (tones >> i & 1)
                add_note(c, 0, chord_tone(c, c->tonic, deg, i), v, t0 + pos[k] * c->beat, 0.6 * (next - pos[k]) * c->beat);
    }
}

static void drums(composer *c, double t0, int style, int cut, int fill_next) {
    const int a = c->p->activity;
    const double b = c->beat, len = 0.2 * b; /* shorter than a 16th: no overlaps on one key */
    for (int k = 0; k < 16; k++) { /* sixteenths */
        double pos = k / 4.0;
        if (fill_next && pos >= 3) { /* a snare fill into the next section */
            add_note(c, VR_DRUM_CHANNEL, SNARE, 70 + 12 * (k - 12), t0 + pos * b, len);
            continue;
        }
        int v = velocity(c, pos, cut);
        int on8 = k % 2 == 0, on4 = k % 4 == 0;
        int kick = 0, snare = 0, hat = 0;
        switch (style) {
        case DRUMS_LIGHT:
            kick = k == 0 || (a == 2 && k == 8);
            hat = on8;
            break;
        case DRUMS_BACKBEAT:
            kick = k == 0 || k == 8;
            snare = k == 4 || k == 12;
            hat = on4 || (a > 0 && on8);
            break;
        case DRUMS_GROOVE:
            kick = k == 0 || k == 8 || (a == 2 && k == 10);
            snare = k == 4 || k == 12;
            hat = a == 2 ? 1 : on8;
            break;
        case DRUMS_RIDE:
            kick = k == 0 || k == 8;
            if (on4 || (a == 2 && on8)) add_note(c, VR_DRUM_CHANNEL, RIDE, v - 10, t0 + pos * b, len);
            break;
        }
        if (kick) add_note(c, VR_DRUM_CHANNEL, KICK, v, t0 + pos * b, len);
        if (snare) add_note(c, VR_DRUM_CHANNEL, SNARE, v, t0 + pos * b, len);
        if (hat) {
            int open = style == DRUMS_GROOVE && a == 2 && k == 14;
            add_note(c, VR_DRUM_CHANNEL, open ? OPEN_HAT : HAT, on4 ? v - 20 : v - 32, t0 + pos * b, len);
        }
    }
    if (cut) add_note(c, VR_DRUM_CHANNEL, CRASH, 120, t0, len);
}

/* A section change without drums still lands: the full chord on the cut's downbeat. */
static void stinger(composer *c, double t0, int deg) {
    for (int i = 0; i < 4; i++) add_note(c, 1, chord_tone(c, c->tonic, deg, i), 115, t0, c->beat);
}

/* 2, 3 or 4 notes per beat over the chord's root an octave down on every beat; the figure
 * restarts on every beat (a figure spanning 1.5 or 4/3 beats would suggest another tempo, and did
 * for a beat tracker). */
static void bar_arpeggio(composer *c, double t0, int deg, int cut) {
    static const int SHAPES[4][4] = {{0, 1, 2, 3}, {0, 2, 1, 3}, {0, 2, 3, 2}, {0, 1, 2, 4}};
    int sub = 2 + c->p->activity;
    double step = c->beat / sub;
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < sub; j++) {
            int tone = SHAPES[c->arp_shape][j];
            add_note(c, 0, chord_tone(c, c->tonic, deg, tone), velocity(c, j ? b + 0.5 : b, cut),
                     t0 + (b * sub + j) * step, 0.9 * step);
            if (j == 0 && c->p->family != VR_FAM_BASS_DRUMS) /* (a bass has its drums for the pulse) */
                add_note(c, 1, chord_tone(c, c->tonic, deg, 0) - 12, velocity(c, b, cut) - 10, t0 + b * c->beat,
                         0.9 * c->beat);
        }
    if (cut && c->p->family != VR_FAM_BASS_DRUMS) stinger(c, t0, deg);
}

static void bar_chords(composer *c, double t0, int deg, int cut) {
    static const double LOW[] = {0, 1, 2, 3}, MID[] = {0, 1, 1.5, 2, 3, 3.5}, HIGH[] = {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5};
    static const double *R[3] = {LOW, MID, HIGH};
    static const int N[3] = {4, 6, 8};
    int a = c->p->activity;
    /* a bass plays root-fifth double stops; other instruments root, third, fifth and octave */
    chord_rhythm(c, R[a], N[a], t0, deg, c->p->family == VR_FAM_BASS_DRUMS ? 0x5u : 0xfu, cut);
}

static void bar_groove(composer *c, double t0, int deg, int cut) {
    /* Stabs on the backbeat or the offbeats, bass on the beats: figures that repeat every beat.
     * Tresillo-like (0, 1.5, 2, 3.5) or dotted figures pull a tempo estimate to 2/3 or 4/3. */
    static const double BASS[3][8] = {{0, 2}, {0, 1, 2, 3}, {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5}};
    static const double STAB[3][4] = {{1, 3}, {0.5, 1.5, 2.5, 3.5}, {0.5, 1.5, 2.5, 3.5}};
    static const double LINE[3][8] = {{0, 1, 2, 3}, {0, 1, 1.5, 2, 3, 3.5}, {0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5}};
    static const int NB[3] = {2, 4, 8}, NS[3] = {2, 4, 4}, NL[3] = {4, 6, 8};
    int a = c->p->activity;
    if (c->p->family == VR_FAM_BASS_DRUMS) { /* the bass is the lead: on every beat, fifths on offbeats */
        for (int k = 0; k < NL[a]; k++) {
            double pos = LINE[a][k], next = k + 1 < NL[a] ? LINE[a][k + 1] : 4.0;
            int tone = pos == floor(pos) ? 0 : 2;
            add_note(c, 0, chord_tone(c, c->tonic, deg, tone), velocity(c, pos, cut), t0 + pos * c->beat,
                     0.85 * (next - pos) * c->beat);
        }
    } else {
        for (int k = 0; k < NB[a]; k++) {
            double pos = BASS[a][k], next = k + 1 < NB[a] ? BASS[a][k + 1] : 4.0;
            int tone = pos == floor(pos) ? 0 : 2;
            add_note(c, 2, chord_tone(c, c->bass_tonic, deg, tone), velocity(c, pos, cut), t0 + pos * c->beat,
                     0.9 * (next - pos) * c->beat);
        }
        for (int k = 0; k < NS[a]; k++) {
            int v = velocity(c, STAB[a][k], cut);
            for (int i = 0; i < 3; i++)
                add_note(c, 0, chord_tone(c, c->tonic, deg, i), v, t0 + STAB[a][k] * c->beat, 0.4 * c->beat);
        }
    }
}

static void bar_melody(composer *c, double t0, int deg, int cut) {
    static const int SLOTS[3] = {1, 2, 2};
    static const double P_OFF[3] = {0, 0.5, 1};
    int a = c->p->activity, slots = SLOTS[a];
    double pos[16];
    int n = 0;
    for (int k = 0; k < 4 * slots; k++) /* every beat sounds; offbeats by chance */
        if (k % slots == 0 || vr_rng_uniform(&c->rng) < P_OFF[a]) pos[n++] = (double)k / slots;
    for (int k = 0; k < n; k++) {
        if (pos[k] == 0 || pos[k] == 2) { /* strong beats land on the nearest chord tone */
            int best = c->mel, bestd = 99;
            for (int o = -7; o <= 14; o += 7)
                for (int i = 0; i < 3; i++) {
                    int st = deg + 2 * i + o, d = abs(st - c->mel);
                    if (d < bestd && st >= -2 && st <= 9) bestd = d, best = st;
                }
            c->mel = best;
        } else {
            static const int STEPS[7] = {-2, -1, -1, 0, 1, 1, 2};
            c->mel += STEPS[vr_rng_below(&c->rng, 7)];
            c->mel = c->mel < -2 ? -2 : c->mel > 9 ? 9 : c->mel;
        }
        double next = k + 1 < n ? pos[k + 1] : 4.0;
        add_note(c, 0, scale_pitch(c, c->tonic, c->mel), velocity(c, pos[k], cut) + 8, t0 + pos[k] * c->beat,
                 0.95 * (next - pos[k]) * c->beat);
    }
    if (c->p->family != VR_FAM_BASS_DRUMS) /* soft chords an octave below keep the pulse */
        for (int b = 0; b < 4; b++) {
            int v = cut && b == 0 ? 100 : 40 + 5 * a + (b == 0 ? 6 : 0);
            for (int i = 0; i < 3; i++)
                add_note(c, 1, chord_tone(c, c->tonic, deg, i) - 12, v, t0 + b * c->beat, 0.9 * c->beat);
        }
}

static int plan_check(const vr_music_plan *p) {
    if (!(p->bpm >= 20 && p->bpm <= 400)) return vr_fail("music plan: tempo %g BPM, expected 20..400", p->bpm);
    if (!(p->duration > 0 && p->duration <= 3600)) return vr_fail("music plan: duration %g s", p->duration);
    double bar = 240.0 / p->bpm;
    if (!(p->first_downbeat >= 0 && p->first_downbeat < bar))
        return vr_fail("music plan: first downbeat %g s, expected within the first bar (%g s)", p->first_downbeat, bar);
    if (p->key < 0 || p->key > 11) return vr_fail("music plan: key %d, expected 0..11", p->key);
    if (p->family < 0 || p->family >= VR_N_FAMILIES) return vr_fail("music plan: instrument family %d", p->family);
    if (p->pattern < 0 || p->pattern >= VR_N_PATTERNS) return vr_fail("music plan: pattern %d", p->pattern);
    if (p->reg < 0 || p->reg >= VR_N_REGISTERS) return vr_fail("music plan: register %d", p->reg);
    if (p->activity < 0 || p->activity > 2) return vr_fail("music plan: activity %d, expected 0..2", p->activity);
    if (p->program < 0 || p->program > 127) return vr_fail("music plan: GM program %d", p->program);
    for (int i = 0; i < p->n_cuts; i++) {
        double bars = (p->cuts[i] - p->first_downbeat) / bar;
        if (fabs(bars - round(bars)) > 1e-6 || p->cuts[i] <= 0 || p->cuts[i] >= p->duration)
            return vr_fail("music plan: cut at %.6f s is not a downbeat inside the clip", p->cuts[i]);
        if (i > 0 && p->cuts[i] <= p->cuts[i - 1]) return vr_fail("music plan: cuts are not in increasing order");
    }
    return 0;
}

int vr_score_compose(const vr_music_plan *p, vr_score *s) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 16; i++) s->program[i] = -1;
    if (plan_check(p) != 0) return -1;
    composer c = {.p = p, .s = s, .beat = 60.0 / p->bpm, .scale = p->minor ? MINOR : MAJOR};
    vr_rng_seed(&c.rng, p->seed);
    const int(*progs)[4] = p->minor ? PROG_MINOR : PROG_MAJOR;
    int first = (int)vr_rng_below(&c.rng, 5), second = (first + 1 + (int)vr_rng_below(&c.rng, 4)) % 5;
    c.prog[0] = progs[first];
    c.prog[1] = progs[second];
    c.arp_shape = (int)vr_rng_below(&c.rng, 4);
    c.mel = 2 + (int)vr_rng_below(&c.rng, 3);
    /* register: the lead's tonic in octave 3, 4 or 5 (bass: 2, 3, 4), key folded to -5..+6 */
    int fold = (p->key + 5) % 12 - 5;
    int base = (p->family == VR_FAM_BASS_DRUMS ? 36 : 48) + 12 * p->reg;
    c.tonic = base + fold;
    c.bass_tonic = 36 + fold;

    int drum_style = -1;
    if (p->pattern == VR_PAT_GROOVE) drum_style = DRUMS_GROOVE;
    else if (p->family == VR_FAM_BASS_DRUMS)
        drum_style = p->pattern == VR_PAT_ARPEGGIO ? DRUMS_LIGHT : p->pattern == VR_PAT_CHORDS ? DRUMS_BACKBEAT : DRUMS_RIDE;

    double bar = 4 * c.beat;
    int section = 0, section_start = 0;
    for (int b = -1;; b++) { /* bar -1: the tail of the bar before the clip starts */
        double t0 = p->first_downbeat + b * bar;
        if (t0 >= p->duration - 1e-9) break;
        int cut = 0, fill_next = 0;
        for (int i = 0; i < p->n_cuts; i++) {
            if (fabs(p->cuts[i] - t0) < 1e-6) cut = 1;
            if (fabs(p->cuts[i] - (t0 + bar)) < 1e-6) fill_next = 1;
        }
        if (cut) section++, section_start = b;
        int in_section = ((b - section_start) % 4 + 4) % 4;
        int deg = c.prog[section % 2][in_section];
        switch (p->pattern) {
        case VR_PAT_ARPEGGIO: bar_arpeggio(&c, t0, deg, cut); break;
        case VR_PAT_CHORDS: bar_chords(&c, t0, deg, cut); break;
        case VR_PAT_GROOVE: bar_groove(&c, t0, deg, cut); break;
        default: bar_melody(&c, t0, deg, cut); break;
        }
        if (drum_style >= 0) drums(&c, t0, drum_style, cut, fill_next);
    }
    if (c.failed) {
        vr_score_free(s);
        return vr_fail("out of memory composing %.1f s of music", p->duration);
    }
    for (int i = 0; i < s->n; i++) {
        int ch = s->notes[i].channel;
        s->program[ch] = ch == VR_DRUM_CHANNEL ? 0 : ch == 2 ? VR_GM_BASS : p->program;
    }
    return 0;
}

void vr_score_free(vr_score *s) {
    free(s->notes);
    s->notes = NULL;
    s->n = s->cap = 0;
}

int vr_score_programs(const vr_score *s, int out[16]) {
    int n = 0;
    for (int p = 0; p < 128; p++)
        for (int ch = 0; ch < 16; ch++)
            if (ch != VR_DRUM_CHANNEL && s->program[ch] == p) {
                out[n++] = p;
                break;
            }
    return n;
}

int vr_score_has_drums(const vr_score *s) { return s->program[VR_DRUM_CHANNEL] >= 0; }

/* ---------------------------------------------------------------------------------------------- */
/* rendering */

enum { BLOCK = 64 }; /* FluidSynth's internal block: events take effect at block boundaries */

/* A used synth is not as good as new: fluid_synth_system_reset() leaves voices sounding, and
 * even after they have died out a render differs slightly from a fresh synth's. So each score
 * gets a fresh synth (~1 ms), and the SoundFont, loaded once into `holder`, is lent to it. */
struct vr_fluid {
    fluid_settings_t *settings;
    fluid_synth_t *holder;
    fluid_sfont_t *sfont;
    int rate;
    char *path;
};

static void fluid_error_to_log(int level, const char *message, void *data) {
    (void)level;
    (void)data;
    VR_ERROR("fluidsynth: %s", message);
}

static void quiet_fluid(void) {
    fluid_set_log_function(FLUID_PANIC, fluid_error_to_log, NULL);
    fluid_set_log_function(FLUID_ERR, fluid_error_to_log, NULL);
    fluid_set_log_function(FLUID_WARN, NULL, NULL);
    fluid_set_log_function(FLUID_INFO, NULL, NULL);
    fluid_set_log_function(FLUID_DBG, NULL, NULL);
}
static pthread_once_t g_fluid_once = PTHREAD_ONCE_INIT;
/* new_fluid_synth() initialises FluidSynth's global tables on first use without a lock */
static pthread_mutex_t g_fluid_create = PTHREAD_MUTEX_INITIALIZER;

static fluid_synth_t *new_synth(fluid_settings_t *settings) {
    pthread_mutex_lock(&g_fluid_create);
    fluid_synth_t *synth = new_fluid_synth(settings);
    pthread_mutex_unlock(&g_fluid_create);
    return synth;
}

vr_fluid *vr_fluid_new(const char *soundfont, int sample_rate) {
    pthread_once(&g_fluid_once, quiet_fluid);
    if (sample_rate < 8000 || sample_rate > 96000)
        return vr_fail_null("FluidSynth: sample rate %d Hz, expected 8000..96000", sample_rate);
    if (access(soundfont, R_OK) != 0) /* say so plainly, before FluidSynth's own complaints */
        return vr_fail_null("%s: cannot read the SoundFont: %s", soundfont, strerror(errno));
    vr_fluid *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(soundfont))) {
        free(f);
        return vr_fail_null("out of memory");
    }
    f->rate = sample_rate;
    f->settings = new_fluid_settings();
    if (f->settings) {
        fluid_settings_setnum(f->settings, "synth.sample-rate", sample_rate);
        fluid_settings_setint(f->settings, "synth.reverb.active", 0);
        fluid_settings_setint(f->settings, "synth.chorus.active", 0);
        fluid_settings_setnum(f->settings, "synth.gain", 0.5);
        fluid_settings_setint(f->settings, "synth.threadsafe-api", 0); /* one synth per thread */
        f->holder = new_synth(f->settings);
    }
    if (!f->holder) {
        vr_fluid_free(f);
        return vr_fail_null("FluidSynth: cannot create a synthesizer");
    }
    int id = fluid_synth_sfload(f->holder, soundfont, 0);
    if (id == FLUID_FAILED || !(f->sfont = fluid_synth_get_sfont_by_id(f->holder, id))) {
        vr_fluid_free(f);
        return vr_fail_null("%s: not a loadable SoundFont (install fluid-soundfont-gm or timgm6mb-soundfont)",
                            soundfont);
    }
    return f;
}

void vr_fluid_free(vr_fluid *f) {
    if (!f) return;
    if (f->holder) delete_fluid_synth(f->holder);
    if (f->settings) delete_fluid_settings(f->settings);
    free(f->path);
    free(f);
}

typedef struct event {
    int64_t block;
    int on;    /* 0: note off (sorted first, so a repeated key re-strikes) */
    int note;  /* index into the score: a total order, so sorting is deterministic */
} event;

static int event_cmp(const void *a, const void *b) {
    const event *x = a, *y = b;
    if (x->block != y->block) return x->block < y->block ? -1 : 1;
    if (x->on != y->on) return x->on - y->on;
    return x->note - y->note;
}

static int render_blocks(vr_fluid *f, fluid_synth_t *synth, int sfont_id, const vr_score *s, float *out, int64_t n) {
    for (int ch = 0; ch < 16; ch++) {
        if (s->program[ch] < 0) continue;
        int drum = ch == VR_DRUM_CHANNEL;
        if (drum) fluid_synth_set_channel_type(synth, ch, CHANNEL_TYPE_DRUM);
        if (fluid_synth_program_select(synth, ch, sfont_id, drum ? 128 : 0, s->program[ch]) != FLUID_OK)
            return vr_fail("%s: no %s %d in this SoundFont", f->path, drum ? "drum kit" : "GM program", s->program[ch]);
    }
    event *ev = malloc((size_t)(2 * s->n + 1) * sizeof *ev);
    if (!ev) return vr_fail("out of memory");
    for (int i = 0; i < s->n; i++) { /* round to the nearest block boundary */
        int64_t on = (int64_t)llround(s->notes[i].t * f->rate);
        int64_t off = (int64_t)llround((s->notes[i].t + s->notes[i].dur) * f->rate);
        ev[2 * i] = (event){(on + BLOCK / 2) / BLOCK, 1, i};
        ev[2 * i + 1] = (event){(off + BLOCK / 2) / BLOCK, 0, i};
    }
    int ne = 2 * s->n;
    qsort(ev, (size_t)ne, sizeof *ev, event_cmp);
    float l[BLOCK], r[BLOCK];
    int64_t nblocks = (n + BLOCK - 1) / BLOCK;
    int e = 0;
    for (int64_t b = 0; b < nblocks; b++) {
        for (; e < ne && ev[e].block <= b; e++) {
            const vr_note *nt = &s->notes[ev[e].note];
            if (ev[e].on) fluid_synth_noteon(synth, nt->channel, nt->pitch, nt->velocity);
            else fluid_synth_noteoff(synth, nt->channel, nt->pitch);
        }
        if (fluid_synth_write_float(synth, BLOCK, l, 0, 1, r, 0, 1) != FLUID_OK) {
            free(ev);
            return vr_fail("FluidSynth: rendering failed");
        }
        for (int i = 0; i < BLOCK && b * BLOCK + i < n; i++) out[b * BLOCK + i] = 0.5f * (l[i] + r[i]);
    }
    free(ev);
    return 0;
}

int vr_fluid_render(vr_fluid *f, const vr_score *s, float *out, int64_t n) {
    if (n <= 0) return vr_fail("FluidSynth: nothing to render (%lld samples)", (long long)n);
    fluid_synth_t *synth = new_synth(f->settings);
    if (!synth) return vr_fail("FluidSynth: cannot create a synthesizer");
    int id = fluid_synth_add_sfont(synth, f->sfont);
    int rc = id == FLUID_FAILED ? vr_fail("FluidSynth: cannot attach %s", f->path) : render_blocks(f, synth, id, s, out, n);
    if (id != FLUID_FAILED) fluid_synth_remove_sfont(synth, f->sfont); /* lent, not owned */
    delete_fluid_synth(synth);
    if (rc != 0) return -1;

    float peak = 0;
    for (int64_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(out[i]));
    if (!(peak > 1e-4f) || !isfinite(peak))
        return vr_fail("FluidSynth: the render is silent or broken (peak %g) — does %s hold GM presets?", peak, f->path);
    float g = 0.89125094f / peak; /* -1 dBFS */
    for (int64_t i = 0; i < n; i++) out[i] *= g;
    return 0;
}
