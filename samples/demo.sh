#!/bin/sh
# The README's first command: installs what is missing (Debian 12, as root or with sudo),
# builds ringvit, generates a two-minute synthetic street scene with ground truth, analyses
# it with the shipped demo model and scores the result against the ground truth.
# Usage: sh samples/demo.sh [output folder]   (default ./demo-out; build folder $RINGVIT_BUILD or ./build)
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RINGVIT_BUILD:-$root/build}
out=${1:-$PWD/demo-out}
sh "$root/.ci/deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel --target ringvit-cli
mkdir -p "$out"
rv="$build/ringvit"
echo "ringvit demo: generating a 120 s scene (held-out seed 7) in $out/scene.mp4"
"$rv" synth --seconds 120 --seed 7 -o "$out/scene.mp4" --gt "$out/gt"
echo "ringvit demo: analysing it with the demo model"
"$rv" analyze "$out/scene.mp4" -o "$out/scene.jsonl" --mot "$out/scene-mot.txt" --report "$out/report.html"
echo "ringvit demo: scoring against the ground truth"
"$rv" eval --gt "$out/gt" --pred "$out/scene.jsonl"
echo
echo "ringvit demo: annotations  $out/scene.jsonl"
echo "ringvit demo: MOT tracks   $out/scene-mot.txt"
echo "ringvit demo: report       $out/report.html"
