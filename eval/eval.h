/* eval.h — `vrobin eval`: every metric of DESIGN §2.6 for one system on one benchmark.
 *
 *   vrobin eval configs/eval/<bench>.yaml (--model M.safetensors | --audio DIR) [--name SYS] [key=value ...]
 *
 * The benchmark (eval.*): the test clips (eval.manifest: id, video, text, music = the reference
 * soundtrack, labels = SynthV2M ground truth when present) and a disjoint reference set for the
 * distribution metrics (eval.reference, e.g. the val split). The system's audio is either
 * generated here from an exported model (batched, seeded, resumable: files already present are
 * kept) or read from DIR/<id>.wav (any other system: baselines, another toolkit's output).
 * Each run also scores the two oracle rows, once per benchmark (cached): `oracle` — the reference
 * soundtracks themselves, and `oracle_decoded` — their log-mel latents decoded by the same
 * Griffin-Lim decoder as generated audio (the decoder's ceiling: no model can beat it).
 *
 * Metrics, per system (definitions are also written into every JSON/Markdown output):
 *   fad_<bb>, fad_inf_<bb> (fadtk), fad_inf_clips_<bb> (both sets extrapolated over clips),
 *       per_clip_fad_<bb> (median), precision/recall/density/coverage_<bb>
 *       for each embedding backbone bb of eval.backbones (eval/dist.h, eval/embed.h): windows of
 *       every clip pooled into one set; PRDC on per-clip mean embeddings, k = eval.prdc_k.
 *   kl, is, instrument_acc, pattern_acc          with eval.tagger (a tagger export)
 *   align_video_music, align_text_music          with eval.contrast (a contrastive export)
 *   loris_bcs/bhs/f1, d2m_bcs/bhs                music onsets vs the video's beats (eval/beats.h)
 *   tempo_acc1/acc2/mae, mode_acc, key_acc       vs the labels tempo_bpm, mode, key (when present)
 *   s_per_10s, rtf                               from generation timings (generated systems)
 *
 * Output: <eval.out_dir>/<eval.name>/<system>.{json,csv,md} (atomic writes), format
 * "vrobin-eval/1":
 *   {"format", "bench", "system", "kind": model|audio|oracle|oracle_decoded,
 *    "header": {"command", "commit", "machine", "date", "wall_s", "eval": {resolved eval.* keys}},
 *    "definitions": {metric: text}, "n_clips",
 *    "metrics": {name: number or null},             (null = not measured, e.g. no tagger given)
 *    "fad_inf_points": {backbone: {"n": [...], "fad": [...]}},
 *    "clips": [{"id", "audio", "video", "text", per-clip numbers ...}]}
 * `vrobin table` (eval/table.h) merges these into the paper-shaped tables, plots and the report.
 *
 * Bad input never gives a silent number: a missing or wrong-length audio file (more than
 * eval.length_tolerance_s off the clip's length) is an error naming the clip and the file; NaN
 * embeddings are errors (eval/dist.h); a reference set smaller than the embedding dimension is
 * warned about and its rank reported.
 */
#ifndef VR_EVAL_H
#define VR_EVAL_H

#ifdef __cplusplus
extern "C" {
#endif

#define VR_EVAL_FORMAT "vrobin-eval/1"

/* `vrobin eval ...`: 0, 1 (error), 2 (usage). */
int vr_cmd_eval(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
