#!/bin/sh
# make_bad_media.sh OUTDIR — media fixtures for test_media_read, made with the ffmpeg CLI
# (tests may shell out to ffmpeg; the toolkit itself never does).
#
# good/  one short clip per container/codec the reader must handle, with testsrc2 video and a
#        440 Hz sine (1/8 amplitude), plus clips with known content at known times:
#          ramp.*   frame k has luma 16 + 9*(k mod 24) (lossless H.264, so exact), audio at
#                   200 + 100*floor(t) Hz: the picture says the frame, the audio the second
#          offset.ts / offset.mkv  the same content with timestamps starting at 7 s
#        and audio-only files (ogg/opus, flac, mp3, wav).
# bad/   files the reader must refuse with a clear reason (the name says which).
#
# An absurd frame rate: mkv stores 1 ms timestamps, so -r 1000 gives a 1000 fps stream.
set -eu
out=${1:?usage: make_bad_media.sh OUTDIR}
rm -rf "$out"
mkdir -p "$out/good" "$out/bad"
g=$out/good
b=$out/bad

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

V="testsrc2=size=128x96:rate=24"
A="sine=frequency=440:sample_rate=44100"
D=4

# ---- good clips: every container/codec pair ----
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 64k "$g/h264_aac.mp4"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a flac "$g/h264_flac.mkv"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 300k -c:a libopus "$g/vp9_opus.webm"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libvpx -deadline realtime -cpu-used 8 -b:v 300k -c:a libvorbis "$g/vp8_vorbis.webm"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v mpeg2video -q:v 4 -c:a mp2 -f vob "$g/mpeg2_mp2.mpg"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -r 25 -c:v mpeg1video -q:v 4 -c:a mp2 -f mpeg "$g/mpeg1_mp2.mpg"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v mjpeg -q:v 5 -c:a pcm_s16le "$g/mjpeg_pcm.mov"
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=$D" \
   -ac 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 96k "$g/h264_aac_stereo.mov"

# audio only
ff -f lavfi -i "$A:duration=$D" -c:a libopus "$g/audio.ogg"
ff -f lavfi -i "$A:duration=$D" -c:a flac "$g/audio.flac"
ff -f lavfi -i "$A:duration=$D" -c:a libmp3lame -b:a 96k "$g/audio.mp3"
ff -f lavfi -i "$A:duration=$D" -c:a pcm_s16le "$g/audio.wav"

# ---- known content at known times (6 s): a brightness ramp and stepped audio frequency ----
RV="color=c=black:size=64x48:rate=24:duration=6,format=yuv420p,geq=lum='16+9*mod(N,24)':cb=128:cr=128"
RA="aevalsrc='0.5*sin(2*PI*(200+100*floor(t))*t)':sample_rate=32000:duration=6"
ff -f lavfi -i "$RV" -f lavfi -i "$RA" \
   -c:v libx264 -preset ultrafast -qp 0 -c:a flac "$g/ramp.mkv"
ff -f lavfi -i "$RV" -f lavfi -i "$RA" \
   -c:v libx264 -preset ultrafast -qp 0 -pix_fmt yuv420p -c:a aac -b:a 96k "$g/ramp.mp4"
# timestamps starting at 7 s (start_time != 0)
ff -f lavfi -i "$RV" -f lavfi -i "$RA" -output_ts_offset 7 \
   -c:v libx264 -preset ultrafast -qp 0 -c:a mp2 -ar 32000 -b:a 128k "$g/offset.ts"
ff -f lavfi -i "$RV" -f lavfi -i "$RA" -output_ts_offset 7 \
   -c:v libx264 -preset ultrafast -qp 0 -c:a flac "$g/offset.mkv"
# a 50 ms gap in the audio timestamps at 2 s: the audio after it must stay in sync with the video
ff -f lavfi -i "$RV" -f lavfi -i "$RA:nb_samples=320,asetpts='PTS+gte(PTS*TB,2)*0.05/TB'" \
   -c:v libx264 -preset ultrafast -qp 0 -c:a pcm_s16le "$g/gap.mkv"
# variable frame rate (frames 33 or 47 ms apart, ~50 fps) in mkv: no stated average rate, and the
# 1 kHz timestamp clock as r_frame_rate, like WebM recorded in a browser
ff -f lavfi -i "testsrc2=size=128x96:rate=1000:duration=3" -vf "select='not(mod(n,33))+not(mod(n,47))'" \
   -fps_mode passthrough -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$g/vfr.mkv"
# a longer clip with keyframes every 2 s, for seeking to a late window
ff -f lavfi -i "color=c=black:size=64x48:rate=24:duration=30,format=yuv420p,geq=lum='16+9*mod(N,24)':cb=128:cr=128" \
   -f lavfi -i "aevalsrc='0.5*sin(2*PI*(200+20*floor(t))*t)':sample_rate=32000:duration=30" \
   -c:v libx264 -preset ultrafast -qp 0 -g 48 -c:a aac -b:a 96k "$g/long.mp4"

# a shot cut at exactly 2.0 s (frame 20 at 10 fps): testsrc2, then SMPTE bars
ff -filter_complex "testsrc2=size=96x64:rate=24:duration=2[a];smptebars=size=96x64:rate=24:duration=2[b];[a][b]concat=n=2:v=1:a=0" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$g/cut.mp4"
# damaged in the middle: 400 zero bytes over a few transport-stream packets. The reader must
# either get through it (ffmpeg skips such packets) or say the file is damaged; never crash.
cp "$g/offset.ts" "$out/damaged.ts"
size=$(wc -c <"$out/damaged.ts")
dd if=/dev/zero of="$out/damaged.ts" bs=1 seek=$((size / 2)) count=400 conv=notrunc status=none

# ---- bad corpus ----
# truncated: the index is at the front (faststart), so the file opens but the data stops at ~40 %
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -movflags +faststart "$b/full.mp4"
size=$(wc -c <"$b/full.mp4")
head -c $((size * 2 / 5)) "$b/full.mp4" >"$b/truncated.mp4"
# truncated with the index at the end: no index at all
ff -f lavfi -i "$V:duration=$D" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$b/full_noidx.mp4"
size=$(wc -c <"$b/full_noidx.mp4")
head -c $((size / 2)) "$b/full_noidx.mp4" >"$b/truncated_noindex.mp4"
rm -f "$b/full.mp4" "$b/full_noidx.mp4"
# truncated mkv (the header still claims the full duration)
ff -f lavfi -i "$V:duration=$D" -f lavfi -i "$A:duration=$D" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a flac "$b/full.mkv"
size=$(wc -c <"$b/full.mkv")
head -c $((size / 2)) "$b/full.mkv" >"$b/truncated.mkv"
rm -f "$b/full.mkv"

printf 'this is not a video, just some text\n' >"$b/text.mp4"
: >"$b/empty.mp4"
ff -f lavfi -i "$V:duration=$D" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$b/no_audio.mp4"
ff -f lavfi -i "$A:duration=$D" -c:a aac "$b/audio_only.m4a"
ff -f lavfi -i "$V:duration=$D" -frames:v 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$b/one_frame.mp4"
ff -f lavfi -i "$V:duration=$D" -frames:v 0 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$b/zero_frames.mp4"
ff -f lavfi -i "$V:duration=$D" -frames:v 1 "$b/still.png"
ff -f lavfi -i "testsrc2=size=128x96:rate=24:duration=2" -f lavfi -i "$A:duration=2" \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$b/short_2s.mp4"
ff -f lavfi -i "testsrc2=size=64x48:rate=1000:duration=1" -c:v libx264 -preset ultrafast \
   -pix_fmt yuv420p "$b/fps1000.mkv"
ff -f lavfi -i "sine=frequency=100:sample_rate=8000:duration=2" -ar 400 -c:a pcm_s16le "$b/rate400.wav"
