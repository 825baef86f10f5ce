/* retrieval.h — the `retrieval` baseline: each test clip gets the music of the training clip whose
 * video + text embedding is nearest (an honest, strong baseline: real music, on-genre when the
 * caption and the pictures say so, never synchronised to this video).
 *
 *   vrobin retrieve --train TRAIN.jsonl --manifest TEST.jsonl --out DIR [--contrast EXPORT]
 *                   [--weights video=1,text=1] [--clip-seconds 10] [--sample-rate 16000]
 *
 * Embeddings, one video part and one text part per clip (the clip's window [start, start + length]):
 *   built-in (no weights)  video: per-dimension mean and std over the frames of the per-frame video
 *                          descriptors of data/build.h (vr_clip_video_features at the default
 *                          data.fps / data.frame_size, plus the manifest's "features" if any),
 *                          z-scored with the training set's mean and std of each dimension
 *                          (std 1 where constant; z clipped to [-10, 10]);
 *                          text: the caption's byte-trigram histogram (vr_retrieval_caption_embed).
 *   --contrast EXPORT      the contrastive encoders' L2-normalised video and text embeddings
 *                          (models/contrast.h), at the export's data.fps / data.frame_size.
 * Distance of a test clip q to a training clip t, a weighted sum of the two parts:
 *   d = w_video * d_video + w_text * d_text
 *   d_text  = |q_t - t_t|^2 / 2            (= 1 - cosine for unit vectors; 0.5 to or from "")
 *   d_video = |q_v - t_v|^2 / 2            with --contrast (= 1 - cosine)
 *           = |q_v - t_v|^2 / (2 dims)   built-in (z-scored statistics: about 1 between two
 *                                          random training clips, as 1 - a correlation)
 * The nearest training clip wins; ties go to the first in the training manifest. Identical inputs
 * give exactly 0.
 *
 * Output: DIR/<id>.wav, 16-bit mono at --sample-rate, the chosen training clip's music (its
 * "music", else its video's soundtrack) from the clip's start, exactly the test clip's length
 * (round(seconds * rate) samples): a shorter training segment is looped from its start (music,
 * not silence, for the whole clip). Files already present are kept (resume); every file is
 * written atomically. DIR/retrieval.json ("vrobin-retrieval/1") lists, per test id, the chosen
 * train id and the distance with its two parts. Clip length: end - start when the manifest gives
 * "end", else the media's length after start capped at --clip-seconds (as `vrobin eval` does with
 * data.clip_seconds).
 * The training embeddings are cached in DIR/train_index.bin, keyed by the training manifest's
 * SHA-256 and the embedding settings (and the contrast export's SHA-256): a rerun reuses them.
 *
 * Errors name the clip and the file: a training clip whose music is missing, a test clip whose
 * video cannot be decoded, an empty manifest, a bad manifest line of the test set (bad lines of
 * the training set are skipped with a warning, as the data builder does).
 */
#ifndef VR_RETRIEVAL_H
#define VR_RETRIEVAL_H

#ifdef __cplusplus
extern "C" {
#endif

#define VR_RETRIEVAL_FORMAT "vrobin-retrieval/1"
#define VR_RETRIEVAL_TEXT_DIM 256

/* The built-in caption embedding: " " + caption + " " with ASCII letters lower-cased, every
 * consecutive byte trigram hashed (32-bit FNV-1a) into one of VR_RETRIEVAL_TEXT_DIM bins and
 * counted, then L2-normalised. Captions with no trigram ("") give the zero vector. */
void vr_retrieval_caption_embed(const char *text, float out[VR_RETRIEVAL_TEXT_DIM]);

/* `vrobin retrieve ...`: 0, 1 (error, message printed), 2 (usage). */
int vr_cmd_retrieve(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
