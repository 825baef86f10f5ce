/* trainer.h — `vrobin train` and `vrobin plot`.
 *
 *   vrobin train CONFIG [key=value ...]            a new run in <run.dir>/<run.name>/
 *   vrobin train CONFIG --resume [key=value ...]   continue that run from its `latest` checkpoint
 *   vrobin train --resume RUN_DIR [key=value ...]  same, with the config saved in RUN_DIR
 *   mpirun -np N vrobin train ...                  N data-parallel ranks (launch/local.sh)
 *
 * One step: every rank takes train.accum_steps micro-batches of batch_size / (N * accum_steps)
 * clips, runs forward (under bf16 autocast with runtime.dtype=bf16) and backward, the gradients
 * are summed over ranks in flat float32 buckets (MPI_Allreduce) and divided by N, clipped by
 * their global norm, and AdamW updates the weights; then the EMA. Rank 0 logs metrics.jsonl and
 * writes checkpoints; every rank runs the same steps and stops together. The tensor RNG handed
 * to the model is re-seeded every step from (run.seed, step, rank), so a resumed run draws the
 * same numbers without saving generator state (train/CKPT.md).
 *
 * N ranks and 1 rank: a step sees the same clips (data/loader.h) and averages equal-sized
 * per-rank means, i.e. the same global mean, so a deterministic loss follows the same trajectory
 * up to float rounding (tests: 1.7e-7 relative over 24 steps). A loss that draws noise (flow
 * matching) draws it from each rank's own generator, so it agrees in distribution only — unless
 * the model seeds its per-clip noise from the clip (vr_batch.clip) instead of the batch order.
 *
 * The run folder holds config.json (the resolved config), metrics.jsonl (one JSON object per
 * step: step, epoch, loss and its parts, lr, grad_norm, clip, samples_per_s, step_s,
 * data_wait_pct, allreduce_s, elapsed_s), ckpt/ and `latest` (train/ckpt.h). With train.val_every
 * the EMA weights are validated on train.val_shards at step 0, every val_every steps and at the end
 * (train/validate.h: held-out loss, free vs teacher-forced sample distances), each logged as a line
 * of its own, {"step": N, "val_loss": ...}, written before that step's checkpoint. A new run refuses
 * a folder that already holds a run unless run.overwrite=true; --resume on a folder with no
 * checkpoint yet starts from step 0.
 *
 * Failures: a non-finite loss or gradient norm stops every rank with a message naming the step,
 * the tensor ("loss" or the parameter whose gradient is not finite) and the batch's clip ids,
 * and no checkpoint of that state is written. Any other error on one rank prints its reason and
 * ends all ranks with MPI_Abort (exit status 1).
 *
 * Test hooks (environment; for tests/train only):
 *   VROBIN_TEST_NAN=loss:<step>[:<rank>] | grad:<step>[:<rank>]   poison the loss / a gradient
 *   VROBIN_TEST_KILL_AT_STEP=<step>     SIGKILL after that step is logged (and checkpointed)
 *   VROBIN_TEST_FAIL_AT=<rank>:<step>   that rank fails with an error at that step
 *   VROBIN_TEST_CRASH_IN_CKPT=<step>    SIGKILL half-way through writing that checkpoint (ckpt.h)
 */
#ifndef VR_TRAINER_H
#define VR_TRAINER_H

#ifdef __cplusplus
extern "C" {
#endif

/* argv[0] is the subcommand name; returns the exit status (0, 1 failure, 2 usage). */
int vr_cmd_train(int argc, char **argv);
/* vrobin plot RUN_DIR [-o out.png]: loss (and its parts) and learning rate against the step, from
 * RUN_DIR/metrics.jsonl, drawn by gnuplot into a PNG (default RUN_DIR/curves.png). */
int vr_cmd_plot(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
