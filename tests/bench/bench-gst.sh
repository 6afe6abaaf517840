#!/bin/sh
# The GStreamer paths against `ringvit analyze` on one long generated file (issue 10):
#   rvsrc ! rvencoder ! rvtracker ! rvjsonsink
#   uridecodebin ! videoconvert ! rvencoder ! rvtracker ! rvjsonsink
#   ringvit analyze --mode stream
# each timed wall-clock, as x real time (seconds of video per second), side by side in one
# run, with the ratio to analyze, and the CPU seconds each used (user + system: steadier than
# wall time on a shared machine). Not run by ctest.
#
#   tests/bench/bench-gst.sh [BUILD_DIR] [SECONDS] [MODEL]
# BUILD_DIR defaults to ./build, SECONDS to 600; MODEL to the demo model, else the busy test
# model (random weights: then the figures measure decoding and plumbing, not a real encoder).
set -eu
build=${1:-build}
seconds=${2:-600}
src=$(cd "$(dirname "$0")/../.." && pwd)
model=${3:-$src/samples/models/rv-demo.safetensors}
[ -r "$model" ] || model=$src/tests/data/pipeline/busy.model.safetensors
ringvit=$build/ringvit
export GST_PLUGIN_PATH=$build/plugins RINGVIT_LOG=warn
mkdir -p "$build/bench-media"
media=$(cd "$build/bench-media" && pwd)

video=$media/scene-$seconds.mp4
[ -s "$video" ] || "$ringvit" synth --seconds "$seconds" --seed 21 -o "$video" --gt "$media/gt-$seconds" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

now() { date +%s.%N; }
cpu() { # user + system seconds of this shell's finished children, as `times` wrote them to $1
  tail -n 1 "$1" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); n += a[1] * 60 + a[2] } print n }'
}
timed() { # name, command...: prints "name wall_seconds cpu_seconds"
  name=$1
  shift
  t0=$(now)
  times >"$out/times0" # in this shell: a $(...) subshell would count its own children
  "$@" >/dev/null 2>&1 || { echo "$name: failed" >&2; exit 1; }
  times >"$out/times1"
  echo "$name $(awk "BEGIN { print $(now) - $t0 }") $(awk "BEGIN { print $(cpu "$out/times1") - $(cpu "$out/times0") }")"
}

echo "file: $video ($seconds s, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)); model: $(basename "$model")"
{
  timed analyze "$ringvit" analyze "$video" --model "$model" --mode stream -o "$out/a.jsonl"
  timed rvsrc gst-launch-1.0 -q rvsrc location="$video" fps=0 ! rvencoder model="$model" ! rvtracker ! \
    rvjsonsink location="$out/s.jsonl"
  timed uridecodebin gst-launch-1.0 -q uridecodebin uri="file://$video" ! videoconvert ! \
    rvencoder model="$model" ! rvtracker ! rvjsonsink location="$out/u.jsonl"
  timed rvsrc-sampled gst-launch-1.0 -q rvsrc location="$video" fps=2 ! rvencoder model="$model" ! \
    rvtracker ! rvjsonsink location="$out/f.jsonl"
} | awk -v s="$seconds" '
  { name[NR] = $1; t[NR] = $2; c[NR] = $3 }
  END {
    printf "| path | wall s | x real time | vs analyze | CPU s | CPU vs analyze |\n|---|---|---|---|---|---|\n"
    for (i = 1; i <= NR; i++)
      printf "| %s | %.1f | %.1f | %.2fx | %.1f | %.2fx |\n", name[i], t[i], s / t[i], t[1] / t[i], c[i], c[i] / c[1]
  }'
echo "lines: analyze $(wc -l <"$out/a.jsonl"), rvsrc $(wc -l <"$out/s.jsonl"), uridecodebin $(wc -l <"$out/u.jsonl"), rvsrc fps=2 $(wc -l <"$out/f.jsonl")"
