/* midi.h — SynthV2M's music: MIDI-like note events composed from a musical plan, rendered to mono
 * audio with FluidSynth and a General MIDI soundfont.
 *
 * A plan fixes the timing (tempo, first downbeat, section changes at the video's cuts), the
 * harmony (key, mode) and the orchestration (instrument family + GM program, pattern, register,
 * activity). Bars are 4/4; one chord per bar from a 4-bar progression that restarts — and switches
 * to the other of two progressions — at every cut, where the music also accents (full chord,
 * crash cymbal after a drum fill when drums play). Composition is deterministic given the plan
 * (its seed drives velocities, melody steps, voicings).
 */
#ifndef VR_MIDI_H
#define VR_MIDI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VR_FAM_PIANO, VR_FAM_STRINGS, VR_FAM_GUITAR, VR_FAM_BRASS,
    VR_FAM_SYNTH_LEAD, VR_FAM_ORGAN, VR_FAM_WOODWIND, VR_FAM_BASS_DRUMS,
    VR_N_FAMILIES
} vr_family;

typedef enum { VR_PAT_ARPEGGIO, VR_PAT_CHORDS, VR_PAT_GROOVE, VR_PAT_MELODY, VR_N_PATTERNS } vr_pattern;
typedef enum { VR_REG_LOW, VR_REG_MID, VR_REG_HIGH, VR_N_REGISTERS } vr_register;

/* Names used in labels: "piano", "strings", ..., "bass_drums"; "arpeggio", "chords", "groove",
 * "melody"; "low", "mid", "high". */
const char *vr_family_name(int family);
const char *vr_pattern_name(int pattern);
const char *vr_register_name(int reg);
/* The GM programs (0-127) a family's lead part may use; returns how many, *programs points at them. */
int vr_family_programs(int family, const int **programs);

#define VR_GM_BASS 33       /* Fingered Bass: the bass line under a groove */
#define VR_DRUM_CHANNEL 9   /* MIDI channel 10 */

typedef struct vr_music_plan {
    double bpm;             /* quarter notes per minute; 4 beats a bar */
    double first_downbeat;  /* seconds, in [0, one bar): earlier notes are the previous bar's tail */
    double duration;        /* seconds */
    int key;                /* tonic, 0 = C .. 11 = B */
    int minor;              /* natural minor (harmonic V), else major */
    int family, program;    /* vr_family and one of its programs */
    int pattern, reg;       /* vr_pattern, vr_register */
    int activity;           /* 0 low, 1 medium, 2 high: note density */
    const double *cuts;     /* section changes, seconds; each on a downbeat */
    int n_cuts;
    uint64_t seed;
} vr_music_plan;

typedef struct vr_note {
    double t, dur;          /* onset and length, seconds */
    uint8_t channel, pitch, velocity;
} vr_note;

typedef struct vr_score {
    vr_note *notes;
    int n, cap;
    int program[16];        /* GM program per channel, -1 unused; the drum channel plays kit 0 */
} vr_score;

/* Compose the notes of a plan. Returns 0, or -1 with vr_error() (bad plan, out of memory). */
int vr_score_compose(const vr_music_plan *plan, vr_score *score);
void vr_score_free(vr_score *score);
/* The melodic programs a score uses (ascending, no repeats) into out[16]; returns how many. */
int vr_score_programs(const vr_score *score, int out[16]);
int vr_score_has_drums(const vr_score *score);

/* A General MIDI SoundFont loaded once (~0.03 s; one vr_fluid per thread) and lent to a fresh
 * synthesizer per score, so a score renders to the same samples whatever was rendered before.
 * Headless, no reverb/chorus, gain 0.5. FluidSynth's warnings are silenced, its errors logged. */
typedef struct vr_fluid vr_fluid;
vr_fluid *vr_fluid_new(const char *soundfont, int sample_rate);
/* Render the first n samples of a score, mono, peak-normalised to -1 dBFS. Events are applied at
 * 64-sample block boundaries (onset error <= 2 ms at 16 kHz). */
int vr_fluid_render(vr_fluid *f, const vr_score *score, float *out, int64_t n);
void vr_fluid_free(vr_fluid *f);

#ifdef __cplusplus
}
#endif
#endif
