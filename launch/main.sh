#!/usr/bin/env bash
# The main job on a bare machine. For now (foundation): install + build, check the installation
# with `vrobin doctor`, and run the wrapper benchmark (C vs Python torch) into results/bench/.
# Later milestones extend this to: SynthV2M -> shards -> short training -> evaluation table.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
echo "== vrobin doctor =="
build/vrobin doctor
echo "== wrapper benchmark (C vs Python torch) =="
bench/run_wrapper_bench.sh
