# generate_setup.sh — sourced by the generation benchmarks (run_generate_bench.sh,
# run_generate_speed_bench.sh, run_patch_size_bench.sh) after they set BUILD and WORK:
# builds bench_generate, makes WORK and results/bench, and writes the benchmark clip
# WORK/clip.mp4: a 640x360 24-fps H.264 test pattern of 10 s (a typical user video size;
# decoding is part of the cost).
cmake --build "$BUILD" --target bench_generate >/dev/null
mkdir -p "$WORK" results/bench
ffmpeg -v error -y -f lavfi -i testsrc2=size=640x360:rate=24 -t 10 -c:v libx264 -pix_fmt yuv420p "$WORK/clip.mp4"
