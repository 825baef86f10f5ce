/* synth.h — SynthV2M, the procedural video–text–music benchmark with ground truth (DESIGN §2.3).
 *
 * Output of one generation, all paths relative to out_dir:
 *   <split>/<id>.mp4    128x128 H.264 at 24 fps with the music as its AAC soundtrack
 *   <split>/<id>.flac   the music, lossless, mono at sample_rate (16 kHz by default)
 *   <split>.jsonl       one line per clip: {"id","video","music","text","start":0,"end":D,"labels":{...}}
 *   synth_info.json     preset, seed, counts, clip length, generator version, split definitions
 * Splits: train, val, test-id (one distribution) and test-ood, whose every clip combines an
 * instrument x pattern pair held out of the other splits, an unseen visual style and a tempo
 * outside the training range (slower or faster).
 *
 * Each clip has an "intent" drawn from its own RNG stream vr_rng_seed_stream(seed, global index),
 * with disjoint index ranges per split (split k: k * 2^40 + i), so a clip depends only on
 * (seed, split, index, clip_seconds, sample_rate): presets share their first clips, and splits
 * never share one. The video carries timing and mood — shapes move a fixed distance per beat and
 * pulse on every beat, shot cuts fall on downbeats (which lie exactly on frame boundaries: a bar is
 * a whole number of 24-fps frames), bright warm palettes mean major, dark cold ones minor, more
 * moving objects mean busier music. The text carries what the video leaves open: instrument,
 * pattern, register. Labels (in each manifest line) give the ground truth:
 *   tempo_bpm, beats_per_bar (4), bar_frames, beat_times, downbeat_times, cut_times (seconds),
 *   key (0-11), key_name, mode ("major"/"minor"), instrument (family), programs (GM numbers of
 *   the melodic parts), drums (bool), pattern, register, activity ("low"/"medium"/"high"),
 *   style, palette (first shot), shot_palettes, n_objects, motion_px_per_s.
 *
 * Re-running into the same folder resumes: clips whose .mp4 and .flac both exist are kept (every
 * file is written atomically, so a present file is complete); manifests and synth_info.json are
 * rewritten. A folder made with another seed, clip length, sample rate or generator version is
 * refused. Same seed -> byte-identical flac files and manifests, whatever the number of jobs.
 */
#ifndef VR_SYNTH_H
#define VR_SYNTH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VR_SYNTH_VERSION 1 /* bump whenever the same seed would give different clips */

enum { VR_SPLIT_TRAIN, VR_SPLIT_VAL, VR_SPLIT_TEST_ID, VR_SPLIT_TEST_OOD, VR_SYNTH_N_SPLITS };

typedef struct vr_synth_opts {
    const char *out_dir;
    /* "micro" (2 clips per split, for tests), "tiny" (24/4/6/6), "small" (2000/100/300/300),
     * "full" (20000/1000/300/300). Sets every count that is < 0. */
    const char *preset;
    int64_t counts[VR_SYNTH_N_SPLITS]; /* clips per split; -1: from the preset */
    uint64_t seed;                     /* default 1 */
    int jobs;                          /* worker threads; <= 0: the number of online CPUs */
    double clip_seconds;               /* default 10 (the benchmark's clip length); 2..60 */
    int sample_rate;                   /* of the music, default 16000; 8000..96000 */
    const char *soundfont;             /* default /usr/share/sounds/sf2/TimGM6mb.sf2 */
    int labels_only;                   /* write manifests and synth_info.json, render no media */
} vr_synth_opts;

void vr_synth_opts_default(vr_synth_opts *o);
/* "train", "val", "test-id", "test-ood". */
const char *vr_synth_split_name(int split);
/* Generate (or complete) a SynthV2M folder. Returns 0, or -1 with vr_error() naming the clip. */
int vr_synth_generate(const vr_synth_opts *o);

/* `vrobin data synth <micro|tiny|small|full> <outdir> [--seed N] [--jobs N] [--clip-seconds S]
 * [--sample-rate HZ] [--soundfont PATH] [--labels-only]`; argv[0] is "synth". */
int vr_cmd_data_synth(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
