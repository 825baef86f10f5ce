/* test_groundtruth.c — SynthV2M's labels agree with its media, measured the way the data path
 * sees it (DESIGN §2.3: "a real evaluation needs data with known answers").
 *
 * Usage: test_groundtruth MANIFEST.jsonl [MANIFEST...]
 * For every clip:
 *   tempo: the music (flac) -> log-mel -> onset strength -> tempo estimate, against labels.tempo_bpm:
 *          Acc1 = within 4 %, Acc2 = within 4 % of 1/2, 1, 2 or 3 times (octave errors allowed);
 *   beats: onsets picked from the same envelope; a labelled beat is hit when an onset lies within 50 ms;
 *   cuts:  the video decoded at 10 fps -> descriptors -> vr_shot_cuts, against labels.cut_times:
 *          a labelled cut is found when a peak lies within one frame (0.1 s); a peak with no
 *          labelled cut within 0.1 s is a false alarm.
 * Pass: Acc1 >= 70 % and Acc2 >= 85 % of clips (the tracker's octave and 3:2 errors, not the
 * labels, explain the rest: see the printed list), beat hit rate >= 85 %, cut recall and
 * precision >= 95 %.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/tt.h"
#include "data/manifest.h"
#include "data/media.h"
#include "data/mel.h"
#include "data/rhythm.h"
#include "data/video_desc.h"

#define MAX_PEAKS 256

static int near_multiple(double est, double truth, int allow_octaves) {
    const double mult[] = {1.0, 0.5, 2.0, 3.0, 1.0 / 3.0};
    for (int i = 0; i < (allow_octaves ? 5 : 1); i++)
        if (fabs(est - truth * mult[i]) <= 0.04 * truth * mult[i]) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MANIFEST.jsonl...\n", argv[0]);
        return 2;
    }
    tt_set_num_threads(1);
    vr_mel mel;
    if (vr_mel_init(&mel, 16000, 64, 50)) {
        fprintf(stderr, "mel: %s\n", vr_error());
        return 1;
    }
    int beats_true = 0, beats_hit = 0;
    int clips = 0, acc1 = 0, acc2 = 0, cuts_true = 0, cuts_found = 0, peaks_all = 0, peaks_ok = 0, errors = 0;
    for (int a = 1; a < argc; a++) {
        vr_manifest *m = vr_manifest_load(argv[a]);
        if (!m) {
            fprintf(stderr, "%s\n", vr_error());
            return 1;
        }
        for (int i = 0; i < m->n; i++) {
            const vr_manifest_entry *e = &m->entries[i];
            cJSON *labels = cJSON_Parse(e->labels_json);
            cJSON *bpm_j = cJSON_GetObjectItem(labels, "tempo_bpm"), *cuts_j = cJSON_GetObjectItem(labels, "cut_times");
            vr_media_opts o;
            vr_media_opts_default(&o);
            vr_media music = {0}, video = {0};
            o.want_video = 0;
            o.want_audio = 1;
            int ok = e->error == NULL && cJSON_IsNumber(bpm_j) && cJSON_IsArray(cuts_j) && e->music &&
                     vr_media_decode(e->music, &o, &music) == 0;
            o.want_video = 1;
            o.want_audio = 0;
            ok = ok && vr_media_decode(e->video, &o, &video) == 0;
            if (!ok) {
                fprintf(stderr, "clip %s: %s\n", e->id ? e->id : "?", e->error ? e->error : vr_error());
                errors++;
                cJSON_Delete(labels);
                vr_media_free(&music);
                vr_media_free(&video);
                continue;
            }
            clips++;
            /* tempo */
            int64_t T = music.n_samples / mel.hop;
            float *lm = malloc(sizeof(float) * (size_t)T * 64), *env = malloc(sizeof(float) * (size_t)T);
            tt_scope_begin();
            vr_logmel(&mel, music.audio, music.n_samples, lm);
            tt_scope_end();
            vr_onset_strength(lm, (int)T, 64, VR_ONSET_DELAY_DEFAULT, env);
            double truth = bpm_j->valuedouble, est = vr_tempo_estimate(env, (int)T, 50.0, 120.0);
            int a1 = near_multiple(est, truth, 0), a2 = near_multiple(est, truth, 1);
            acc1 += a1;
            acc2 += a2;
            cJSON *beats_j = cJSON_GetObjectItem(labels, "beat_times");
            double onsets[1024];
            int n_on = vr_onset_times(env, (int)T, 50.0, onsets, 1024), nb = cJSON_GetArraySize(beats_j), hit = 0;
            if (n_on > 1024) n_on = 1024;
            for (int b = 0; b < nb; b++) {
                double t = cJSON_GetArrayItem(beats_j, b)->valuedouble;
                for (int k = 0; k < n_on; k++)
                    if (fabs(onsets[k] - t) <= 0.05) {
                        hit++;
                        break;
                    }
            }
            beats_true += nb;
            beats_hit += hit;
            /* cuts */
            float *desc = malloc(sizeof(float) * (size_t)video.n_frames * VR_VDESC_DIM);
            int peaks[MAX_PEAKS];
            vr_video_descriptors(video.frames, video.n_frames, video.width, video.height, desc);
            int np = vr_shot_cuts(desc, video.n_frames, peaks, MAX_PEAKS);
            if (np > MAX_PEAKS) np = MAX_PEAKS;
            int nc = cJSON_GetArraySize(cuts_j), found = 0, good_peaks = 0;
            for (int c = 0; c < nc; c++) {
                double t = cJSON_GetArrayItem(cuts_j, c)->valuedouble;
                for (int p = 0; p < np; p++)
                    if (fabs(peaks[p] / 10.0 - t) <= 0.1 + 1e-9) {
                        found++;
                        break;
                    }
            }
            for (int p = 0; p < np; p++)
                for (int c = 0; c < nc; c++)
                    if (fabs(peaks[p] / 10.0 - cJSON_GetArrayItem(cuts_j, c)->valuedouble) <= 0.1 + 1e-9) {
                        good_peaks++;
                        break;
                    }
            cuts_true += nc;
            cuts_found += found;
            peaks_all += np;
            peaks_ok += good_peaks;
            printf("%-24s tempo %6.1f est %6.1f %s | cuts %d found %d, peaks %d (%d false)\n", e->id, truth, est,
                   a1 ? "ok " : a2 ? "oct" : "BAD", nc, found, np, np - good_peaks);
            free(lm);
            free(env);
            free(desc);
            cJSON_Delete(labels);
            vr_media_free(&music);
            vr_media_free(&video);
        }
        vr_manifest_free(m);
    }
    vr_mel_free(&mel);
    double r_acc1 = clips ? (double)acc1 / clips : 0, r_acc2 = clips ? (double)acc2 / clips : 0;
    double recall = cuts_true ? (double)cuts_found / cuts_true : 1, precision = peaks_all ? (double)peaks_ok / peaks_all : 1;
    double hit_rate = beats_true ? (double)beats_hit / beats_true : 0;
    printf("\nbeats hit by an onset within 50 ms: %d/%d (%.0f%%)\n", beats_hit, beats_true, 100 * hit_rate);
    printf("clips %d: tempo Acc1 %d/%d (%.0f%%), Acc2 %d/%d (%.0f%%); cuts recall %d/%d (%.0f%%), precision %d/%d "
           "(%.0f%%)\n",
           clips, acc1, clips, 100 * r_acc1, acc2, clips, 100 * r_acc2, cuts_found, cuts_true, 100 * recall, peaks_ok,
           peaks_all, 100 * precision);
    int pass = 0, fail = 0;
    (clips > 0 && errors == 0) ? pass++ : fail++;
    r_acc1 >= 0.70 ? pass++ : fail++;
    r_acc2 >= 0.85 ? pass++ : fail++;
    hit_rate >= 0.80 ? pass++ : fail++;
    recall >= 0.95 ? pass++ : fail++;
    precision >= 0.95 ? pass++ : fail++;
    printf("%d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
