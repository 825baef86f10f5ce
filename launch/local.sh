#!/usr/bin/env bash
# local.sh — train on N MPI ranks of this machine: mpirun with the flags this kind of machine
# needs, then `vrobin train` with the rest of the arguments.
#
#   launch/local.sh N CONFIG [--resume] [key=value ...]
#   launch/local.sh 2 configs/experiments/test_tiny.yaml data.shards=[a.h5,b.h5]
#
# - N = 1 runs vrobin directly (no MPI at all).
# - OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 for every rank (DESIGN.md §4: ranks x threads must
#   not exceed the cores, or OpenMP/OpenBLAS threads spin against each other); the config's
#   runtime.torch_threads (default 1) and runtime.blas_threads (0: 1 per rank under MPI) still apply.
# - --allow-run-as-root when root (containers); --oversubscribe and no core binding when N is larger
#   than the cores (slow, but useful to test N ranks on a laptop).
# - btl_vader_single_copy_mechanism=none: containers usually forbid the cross-memory attach that
#   Open MPI's shared-memory transport tries first (it would warn, or fail, at start).
# Environment: VROBIN (default build/vrobin), MPIRUN (default mpirun), MPI_ARGS (extra mpirun flags).
set -euo pipefail
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
N=$1
shift
VROBIN=${VROBIN:-$(dirname "$0")/../build/vrobin}
MPIRUN=${MPIRUN:-mpirun}

if [ "$N" -eq 1 ]; then
    exec "$VROBIN" train "$@"
fi

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
flags=(-np "$N" -x OPENBLAS_NUM_THREADS -x OMP_NUM_THREADS)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
if [ "$N" -gt "$(nproc)" ]; then
    flags+=(--oversubscribe --bind-to none)
fi
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
# shellcheck disable=SC2086
exec "$MPIRUN" "${flags[@]}" ${MPI_ARGS:-} "$VROBIN" train "$@"
