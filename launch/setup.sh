#!/usr/bin/env bash
# Install everything vrobin needs on a fresh Debian 12 machine, then configure and build.
# Idempotent: re-running only re-checks packages and rebuilds what changed.
# Usage: launch/setup.sh [--no-build] [--build-dir DIR] [--sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build
DO_BUILD=1
SANITIZE=OFF
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --sanitize) SANITIZE=ON ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

PACKAGES=(
  build-essential cmake pkg-config git
  libtorch-dev libopenblas0-pthread
  libopenmpi-dev openmpi-bin
  libhdf5-dev
  libavformat-dev libavcodec-dev libswscale-dev libswresample-dev libavutil-dev ffmpeg
  libcjson-dev libyaml-dev
  libfluidsynth-dev timgm6mb-soundfont
  gnuplot-nox
  chromium fonts-dejavu-core
  clang libclang-rt-14-dev
  python3-torch python3-numpy python3-scipy python3-h5py
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# libtorch must run on OpenBLAS, not the reference BLAS (~30x slower here).
if command -v update-alternatives >/dev/null; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    cur=$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/{print $2}')
    best=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n1 || true)
    if [ -n "$best" ] && [ "$cur" != "$best" ]; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
      $SUDO update-alternatives --set "$alt" "$best"
    fi
  done
fi

[ "$DO_BUILD" = 1 ] || exit 0
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVROBIN_SANITIZE="$SANITIZE" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
