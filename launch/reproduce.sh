#!/usr/bin/env bash
# reproduce.sh — the benchmark tables from a clean checkout, in one resumable command:
#   SynthV2M -> HDF5 shards -> the evaluation models (audio tagger, contrastive encoders)
#   -> train stage 1 + stage 2 of every system (vrobin, continuous, no_rite, text_only, video_only,
#      fullseq_dit, ar_frames; MPI ranks when the machine has them) -> export
#   -> vrobin eval on test-id and test-ood (+ the retrieval baseline and both oracle rows)
#   -> the intent test (same videos, swapped prompts) -> latency at batch 1 (vrobin vs fullseq_dit
#      at each sampling-step count, at the same steps and at equal or better FAD, and vs the
#      autoregressive frame baseline ar_frames)
#   -> results/{main_id,main_ood,ablation,latency,intent}.md (+ .csv, PNG plots, HTML report).
#
# Usage: launch/reproduce.sh [tiny|small|full] [--real DIR] [--work DIR] [--results DIR] [--ranks N]
#                            [--steps N] [--clips N] [--systems a,b,...] [--no-setup]
#   tiny   SynthV2M tiny, the tiny model, a few steps: a smoke run of every phase (minutes; a test)
#   small  SynthV2M small, the small model, 300 steps per stage, 40 clips per split: ~3 h on 2 cores
#   full   SynthV2M full, the configs' schedules as committed (a GPU node or a long CPU run)
#   --real DIR   also score every system on a folder of real videos (mp4/mkv/webm, captions from
#                same-stem .txt files), against their own soundtracks -> results/main_real.md
#   --work DIR   where data, runs and generated audio go (default runs/reproduce_<preset>)
#   --results D  where the tables go (default: results/ for small and full, <work>/results for tiny)
#   --ranks N    MPI ranks for training (default: 2 when the machine has 2 cores or more, else 1)
#   --steps N    training steps per stage instead of the preset's (one-stage systems get 2N)
#   --clips N    test clips scored per split instead of the preset's (0: all)
#   --systems L  train and score only these of vrobin,continuous,no_rite,text_only,video_only,
#                fullseq_dit,ar_frames (retrieval and the oracle rows are always scored; the latency
#                table needs vrobin and fullseq_dit, and has ar_frames when trained; intent: vrobin).
#                Without --systems, small leaves ar_frames out (it would add ~40 min); tiny/full train all
#   --no-setup   skip launch/setup.sh (packages installed and build/ up to date)
# Interrupted? Run the same command again: finished phases are skipped (<work>/done/), an
# interrupted training resumes from its last checkpoint, generation keeps the clips it wrote.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }

die() {
    echo "reproduce.sh: $*" >&2
    exit 2
}

# ---- phases: each runs once; a marker in done/ records it (and its wall time and commit) --------
PHASE_NO=0
phase() {
    local name=$1
    shift
    PHASE_NO=$((PHASE_NO + 1))
    if [ -e "done/$name" ]; then
        echo "== [$PHASE_NO] $name: done earlier ($(cat "done/$name"))"
        return 0
    fi
    echo "== [$PHASE_NO] $name  ($(date '+%H:%M:%S'), $(elapsed) since start)"
    local t0
    t0=$(date +%s)
    "$@"
    echo "$(($(date +%s) - t0)) s, commit $COMMIT, $(date -u '+%Y-%m-%dT%H:%M:%SZ')" > "done/$name"
}

elapsed() {
    local s=$(($(date +%s) - T_START))
    printf '%dh%02dm%02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
}

# ---- the systems ----------------------------------------------------------------------------------
# name | stage-1 config | stage-2 config ("-": one stage) | size class (robin, robin_norite, fullseq, ar)
SYSTEMS=(
    "vrobin|synth_stage1|synth_stage2|robin"
    "continuous|synth_continuous_stage1|synth_continuous_stage2|robin_norite"
    "no_rite|synth_no_rite_stage1|synth_no_rite_stage2|robin_norite"
    "text_only|synth_stage1|synth_text_only_stage2|robin"
    "video_only|synth_video_only_stage1|synth_video_only_stage2|robin"
    "fullseq_dit|synth_fullseq_stage1|synth_fullseq|fullseq"
    "ar_frames|synth_ar_stage1|synth_ar|ar"
)

# model-size overrides of a preset for one size class (the ablation configs set rite_layers and
# quantizer themselves, so the no-RITE classes never get rite_layers back)
size_overrides() {
    local class=$1
    case "$PRESET:$class" in
        tiny:robin) echo "model.d_model=32 model.n_heads=2 model.text_layers=1 model.planner_layers=2 model.dit_layers=2 model.rite_layers=1 model.fsq_levels=[8,5,5,5]" ;;
        tiny:robin_norite) echo "model.d_model=32 model.n_heads=2 model.text_layers=1 model.planner_layers=2 model.dit_layers=2 model.fsq_levels=[8,5,5,5]" ;;
        tiny:fullseq) echo "model.d_model=32 model.n_heads=2 model.text_layers=1 model.dit_layers=2" ;;
        tiny:ar) echo "model.d_model=32 model.n_heads=2 model.text_layers=1 model.planner_layers=2" ;;
        *) echo "" ;;
    esac
}

run_name_of() { echo "$1"; } # every experiment config names its run after itself (run.name)

train_one() { # config steps [init_from_run]
    local config=$1 steps=$2 init=${3:-} class=$4
    # the exported EMA must forget the random init within the run: a horizon of a tenth of it
    # (the configs' 0.999 suits 20k steps; after 200 steps it would still be 82 % initial weights)
    local ema
    ema=$(awk -v n="$steps" 'BEGIN { d = 1 - 10 / n; if (d > 0.999) d = 0.999; if (d < 0.5) d = 0.5; printf "%.6g", d }')
    local args=(run.dir=runs "data.shards=[$SHARDS]" train.steps="$steps" train.ckpt_every="$CKPT_EVERY"
        train.warmup_steps=$((steps / 10 > 0 ? steps / 10 : 1)) train.batch_size="$BATCH" train.ema_decay="$ema")
    [ -n "$init" ] && args+=(train.init_from="runs/$init")
    [ -n "$LR_SCALE_ARGS" ] && args+=($LR_SCALE_ARGS)
    # shellcheck disable=SC2207
    args+=($(size_overrides "$class"))
    VROBIN="$V" "$REPO/launch/local.sh" "$RANKS" "$REPO/configs/experiments/$config.yaml" --resume "${args[@]}"
}

train_system() { # "name|s1|s2|class"
    local name s1 s2 class
    IFS='|' read -r name s1 s2 class <<< "$1"
    if [ "$s2" = "-" ]; then
        train_one "$s1" $((2 * STEPS)) "" "$class"
        "$V" export "runs/$(run_name_of "$s1")" -o "models/$name.safetensors"
        "$V" plot "runs/$(run_name_of "$s1")" -o "$RESULTS/plots/train_$name.png" > /dev/null
    else
        train_one "$s1" "$STEPS" "" "$class"
        train_one "$s2" "$STEPS" "$(run_name_of "$s1")" "$class"
        "$V" export "runs/$(run_name_of "$s2")" -o "models/$name.safetensors"
        "$V" plot "runs/$(run_name_of "$s1")" -o "$RESULTS/plots/train_${name}_stage1.png" > /dev/null
        "$V" plot "runs/$(run_name_of "$s2")" -o "$RESULTS/plots/train_${name}_stage2.png" > /dev/null
    fi
}

# ---- data and evaluation models ---------------------------------------------------------------------
make_data() {
    "$V" data synth "$SYNTH" synth
    "$V" data build "$REPO/configs/data/synth_tiny.yaml" data.keep_frames=false
    for split in val test-id test-ood; do
        "$V" data build "$REPO/configs/data/synth_tiny.yaml" data.manifest="synth/$split.jsonl" data.name="$split" \
            data.norm_from=shards/train-00000.h5 data.keep_frames=false
    done
    "$V" data verify shards/*.h5
}

train_eval_models() {
    local over=()
    [ "$PRESET" = tiny ] && over=(train.steps=20 train.batch_size=8 train.ckpt_every=10 train.warmup_steps=2)
    for m in tagger contrast; do
        # shellcheck disable=SC2086
        "$V" train "$REPO/configs/experiments/synth_$m.yaml" --resume run.dir=runs "data.shards=[$SHARDS]" \
            "${over[@]}" $EVAL_MODEL_ARGS
        "$V" export "runs/synth_$m" -o "models/$m.safetensors"
    done
    "$V" tagger-eval models/tagger.safetensors shards/test-id-00000.h5 > "$RESULTS/tagger_test_id.md"
    "$V" contrast-eval models/contrast.safetensors shards/test-id-00000.h5 > "$RESULTS/contrast_test_id.md"
    cat "$RESULTS/tagger_test_id.md" "$RESULTS/contrast_test_id.md"
}

# ---- evaluation -------------------------------------------------------------------------------------
# eval_system BENCH MANIFEST SYSTEM [extra key=value ...]: score models/SYSTEM.safetensors (or the
# retrieval baseline) on one benchmark; vrobin eval itself resumes generation clip by clip.
eval_system() {
    local bench=$1 manifest=$2 sys=$3
    shift 3
    local common=(eval.name="$bench" eval.manifest="$manifest" eval.out_dir=scores eval.max_clips="$MAX_CLIPS"
        eval.tagger=models/tagger.safetensors eval.contrast=models/contrast.safetensors "$@")
    [ "$bench" = real ] && common+=(eval.reference="$manifest")
    if [ "$sys" = retrieval ]; then
        "$V" retrieve --train synth/train.jsonl --manifest "$manifest" --out "gen/$bench/retrieval" \
            --contrast models/contrast.safetensors
        "$V" eval "$REPO/configs/eval/synth_small_id.yaml" --audio "gen/$bench/retrieval" --name retrieval "${common[@]}"
    else
        "$V" eval "$REPO/configs/eval/synth_small_id.yaml" --model "models/$sys.safetensors" --name "$sys" \
            "${common[@]}"
    fi
}

eval_bench() { # BENCH MANIFEST
    local s name
    for s in "${SYSTEMS[@]}" "retrieval"; do
        name=${s%%|*}
        phase "eval_${1}_$name" eval_system "$1" "$2" "$name"
    done
}

intent_test() {
    "$V" data swap-prompts synth/test-id.jsonl -o intent/test-id-swapped.jsonl
    for sys in vrobin text_only video_only; do
        has_system "$sys" && eval_system intent intent/test-id-swapped.jsonl "$sys"
    done
}

latency_test() { # batch 1, a few clips, vrobin and fullseq_dit at each sampling-step count
    # each system as fast as this machine runs it: vrobin's C LocDiT sampler with its two CFG branches
    # on two threads, its blocks in bf16 where the CPU has AVX512-BF16 (results/bf16_quality.md: the
    # same FAD); fullseq_dit's large GEMMs already use both cores through OpenBLAS
    local steps fast="eval.dit_threads=2"
    grep -qw avx512_bf16 /proc/cpuinfo && fast="$fast eval.precision=bf16"
    for steps in $LATENCY_STEPS; do
        for sys in vrobin fullseq_dit; do
            # shellcheck disable=SC2046
            "$V" eval "$REPO/configs/eval/synth_small_id.yaml" --model "models/$sys.safetensors" \
                --name "${sys}_${steps}steps" eval.name=latency eval.out_dir=scores eval.batch=1 \
                eval.steps="$steps" eval.max_clips="$LATENCY_CLIPS" $([ "$sys" = vrobin ] && echo "$fast")
        done
    done
    if has_system ar_frames; then # no sampling steps: one row (eval.steps is not read by it)
        "$V" eval "$REPO/configs/eval/synth_small_id.yaml" --model models/ar_frames.safetensors --name ar_frames \
            eval.name=latency eval.out_dir=scores eval.batch=1 eval.max_clips="$LATENCY_CLIPS"
    fi
}

# ---- tables -----------------------------------------------------------------------------------------
# headed(OUT.md, title, vrobin table args...): the table with the reproduction's own header on top
headed() {
    local out=$1 title=$2
    shift 2
    "$V" table "$@" -o "$out.body" --title "$title" > /dev/null
    {
        echo "<!-- made by launch/reproduce.sh; do not edit by hand -->"
        echo "Reproduce: \`$CMDLINE\` — commit $COMMIT, $MACHINE, $(elapsed) of wall time up to this table"
        echo "(phases and their commits: \`$WORK/done/\`; each run's own command, commit and time are below)."
        echo
        cat "$out.body"
    } > "$out.tmp"
    mv "$out.tmp" "$out"
    rm -f "$out.body"
    echo "$out"
}

only_systems() { # BENCH SYSTEM... -> the JSON files that exist, oracle rows first
    local bench=$1 f
    shift
    for f in oracle oracle_decoded "$@"; do
        [ -e "scores/$bench/$f.json" ] && echo "scores/$bench/$f.json"
    done
}

write_tables() {
    mkdir -p "$RESULTS/plots"
    local pre=SynthV2M\ $PRESET
    # shellcheck disable=SC2046
    headed "$RESULTS/main_id.md" "$pre, test-id (in distribution): every system" scores/test-id --preset main \
        --csv "$RESULTS/main_id.csv" --plot "$RESULTS/plots/main_id"
    headed "$RESULTS/main_ood.md" "$pre, test-ood (held-out instrument x pattern pairs, styles, tempos)" \
        scores/test-ood --preset main --csv "$RESULTS/main_ood.csv" --plot "$RESULTS/plots/main_ood"
    # shellcheck disable=SC2046
    headed "$RESULTS/ablation.md" "$pre, test-id: ablations of the plan (FSQ, RITE) and of the conditions" \
        $(only_systems test-id vrobin no_rite continuous text_only video_only) --preset ablation \
        --csv "$RESULTS/ablation.csv"
    if [ -d scores/latency ]; then
        # speedups: vs fullseq_dit at the same steps, vs its fastest setting with no better FAD
        local vs="fullseq_dit_*@same:eval.steps,fullseq_dit_*@equal:fad_mel"
        [ -e scores/latency/ar_frames.json ] && vs="$vs,ar_frames,ar_frames@equal:fad_mel"
        headed "$RESULTS/latency.md" "$pre: seconds per 10-s clip at batch 1, vrobin vs fullseq_dit and ar_frames" \
            scores/latency --preset latency --speedup-vs "$vs" --csv "$RESULTS/latency.csv" \
            --plot "$RESULTS/plots/latency" --sweep eval.steps --sweep-y s_per_10s,fad_mel --group eval.model
    fi
    if [ -d scores/intent ]; then write_intent "$pre"; fi
    if [ -n "$REAL" ]; then
        headed "$RESULTS/main_real.md" "Real videos from $REAL, scored against their own soundtracks" scores/real \
            --preset main --csv "$RESULTS/main_real.csv"
    fi
    "$V" report scores/test-id -o "$RESULTS/report/report.html" --max-clips "$REPORT_CLIPS"
}

write_intent() {
    local pre=$1
    # shellcheck disable=SC2046
    headed "$RESULTS/intent.md" "$pre, test-id with swapped prompts: instrument follows the text, tempo the video" \
        scores/intent --columns instrument_acc,pattern_acc,tempo_acc1,loris_f1,align_video_music,align_text_music,kl \
        --csv "$RESULTS/intent.csv"
    {
        echo
        echo "The same videos with their own captions (test-id, from main_id.md):"
        echo
        # shellcheck disable=SC2046
        "$V" table $(only_systems test-id vrobin text_only video_only) \
            --columns instrument_acc,pattern_acc,tempo_acc1,loris_f1,align_video_music,align_text_music,kl |
            sed -n '/^| system/,/^$/p'
    } >> "$RESULTS/intent.md"
}

has_system() {
    local s
    for s in "${SYSTEMS[@]}"; do [ "${s%%|*}" = "$1" ] && return 0; done
    return 1
}

# ---- main ---------------------------------------------------------------------------------------------
main() {
    PRESET=small
    REAL=""
    WORK=""
    RESULTS=""
    RANKS=""
    STEPS_ARG=""
    CLIPS_ARG=""
    SYSTEMS_ARG=""
    local setup=1
    while [ $# -gt 0 ]; do
        case "$1" in
            tiny | small | full) PRESET=$1 ;;
            --real) REAL=$(cd "${2:?--real needs a folder}" && pwd) || die "--real: no folder '$2'"; shift ;;
            --work) WORK=${2:?--work needs a folder}; shift ;;
            --results) RESULTS=${2:?--results needs a folder}; shift ;;
            --ranks) RANKS=${2:?--ranks needs a number}; shift ;;
            --steps) STEPS_ARG=${2:?--steps needs a number}; shift ;;
            --clips) CLIPS_ARG=${2:?--clips needs a number}; shift ;;
            --systems) SYSTEMS_ARG=${2:?--systems needs a list}; shift ;;
            --no-setup) setup=0 ;;
            -h | --help) usage; return 0 ;;
            *) usage >&2; die "unknown argument '$1'" ;;
        esac
        shift
    done
    [ -z "$RANKS" ] && RANKS=$(($(nproc) >= 2 ? 2 : 1))
    [[ "$RANKS" =~ ^[1-9][0-9]*$ ]] || die "--ranks: expected a positive number, got '$RANKS'"
    [ -z "$STEPS_ARG" ] || [[ "$STEPS_ARG" =~ ^[1-9][0-9]*$ ]] || die "--steps: expected a positive number, got '$STEPS_ARG'"
    [ -z "$CLIPS_ARG" ] || [[ "$CLIPS_ARG" =~ ^[0-9]+$ ]] || die "--clips: expected a number, got '$CLIPS_ARG'"
    if [ -n "$SYSTEMS_ARG" ]; then # keep the SYSTEMS rows named, in their order
        local keep=() s n
        for n in ${SYSTEMS_ARG//,/ }; do
            local found=0
            for s in "${SYSTEMS[@]}"; do [ "${s%%|*}" = "$n" ] && found=1; done
            [ "$found" = 1 ] || die "--systems: unknown system '$n' (vrobin, continuous, no_rite, text_only, video_only, fullseq_dit, ar_frames)"
        done
        for s in "${SYSTEMS[@]}"; do [[ ",$SYSTEMS_ARG," == *",${s%%|*},"* ]] && keep+=("$s"); done
        SYSTEMS=("${keep[@]}")
    elif [ "$PRESET" = small ]; then # ar_frames would add ~40 min to ~3 h (600 steps at ~4 s on 2 cores)
        local keep=() s
        for s in "${SYSTEMS[@]}"; do [ "${s%%|*}" = ar_frames ] || keep+=("$s"); done
        SYSTEMS=("${keep[@]}")
        echo "reproduce.sh small: ar_frames left out (about 40 min more); add it with --systems vrobin,...,ar_frames"
    fi
    CMDLINE="launch/reproduce.sh $PRESET${REAL:+ --real $REAL}${STEPS_ARG:+ --steps $STEPS_ARG}${CLIPS_ARG:+ --clips $CLIPS_ARG}${SYSTEMS_ARG:+ --systems $SYSTEMS_ARG}"

    # preset: data size, training steps per stage, clips scored, evaluation-model steps
    case "$PRESET" in
        tiny)
            SYNTH=tiny EVAL_MODEL_ARGS="" STEPS=12 BATCH=4 CKPT_EVERY=6 MAX_CLIPS=4 LATENCY_CLIPS=2
            LATENCY_STEPS="4 8" REPORT_CLIPS=2 LR_SCALE_ARGS="train.lr=2e-3"
            ;;
        small)
            # every stage at the stage-1 LR: stage 2's fine-tuning 1e-4 suits 20k-step runs, but in a
            # 180-step stage 2 it left vrobin at FAD mel 794 where 3e-4 reached 336 (results/reproduce_small.md)
            SYNTH=small STEPS=300 BATCH=8 CKPT_EVERY=100 EVAL_MODEL_ARGS="" MAX_CLIPS=40 LATENCY_CLIPS=10
            LATENCY_STEPS="2 5 10 20" REPORT_CLIPS=6 LR_SCALE_ARGS="train.lr=3e-4"
            ;;
        full)
            SYNTH=full STEPS=2000 BATCH=8 CKPT_EVERY=200 EVAL_MODEL_ARGS="train.steps=2000" MAX_CLIPS=0 LATENCY_CLIPS=20
            LATENCY_STEPS="2 5 10 20" REPORT_CLIPS=8 LR_SCALE_ARGS=""
            ;;
    esac
    if [ -n "$STEPS_ARG" ]; then
        STEPS=$STEPS_ARG
        CKPT_EVERY=$((STEPS / 3 > 0 ? STEPS / 3 : 1))
    fi
    [ -n "$CLIPS_ARG" ] && MAX_CLIPS=$CLIPS_ARG
    WORK=${WORK:-runs/reproduce_$PRESET}
    if [ -z "$RESULTS" ]; then
        if [ "$PRESET" = tiny ]; then RESULTS=$WORK/results; else RESULTS=results; fi
    fi

    cd "$REPO"
    [ "$setup" = 1 ] && launch/setup.sh
    V=${VROBIN:-$REPO/build/vrobin}
    V=$(cd "$(dirname "$V")" && pwd)/$(basename "$V")
    COMMIT=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || COMMIT="$COMMIT+dirty"
    MACHINE=$("$V" doctor 2>/dev/null | sed -n 's/^machine *//p' | head -n1)
    mkdir -p "$WORK" "$RESULTS"
    RESULTS=$(cd "$RESULTS" && pwd)
    cd "$WORK"
    mkdir -p done models gen intent scores "$RESULTS/plots"
    T_START=$(date +%s)
    [ -e done/started ] && T_START=$(cat done/started) || echo "$T_START" > done/started
    echo "reproduce.sh $PRESET: work in $(pwd), tables in $RESULTS, $RANKS training rank(s), commit $COMMIT"

    phase data make_data
    SHARDS=$(ls shards/train-*.h5 | paste -sd, -)
    phase eval_models train_eval_models
    local s
    for s in "${SYSTEMS[@]}"; do phase "train_${s%%|*}" train_system "$s"; done
    eval_bench test-id synth/test-id.jsonl
    eval_bench test-ood synth/test-ood.jsonl
    if [ -n "$REAL" ]; then
        phase real_manifest "$V" data manifest "$REAL" -o real/real.jsonl
        eval_bench real real/real.jsonl
    fi
    if has_system vrobin; then phase intent intent_test; fi
    if has_system vrobin && has_system fullseq_dit; then phase latency latency_test; fi
    write_tables
    echo "reproduce.sh $PRESET: finished in $(elapsed); tables in $RESULTS"
}

main "$@"
exit $?
