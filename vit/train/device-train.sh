#!/bin/bash
# Trains the demo model on the GPU machine (the `device` tool) in one call; this machine
# prepares what travels.
#
#   bash vit/train/device-train.sh --prepare        # here: .carry/bin/ringvit (for `synth`)
#   run(command="bash vit/train/device-train.sh 8 --resume .carry/start.pt --lr 2e-4 ...",
#       carry=[".carry"])                            # there: 8 minutes of train.py on cuda
#
# The GPU machine has PyTorch but no FFmpeg, GStreamer or jansson headers, so the ringvit
# that renders the training clips there (`synth` writes raw frames) is built here without
# them and travels in .carry/bin with the one library it needs. Clips are rendered there
# (a cache of 96 clips is 8 GB, far over what travels), --jobs at a time. Arguments after
# the minutes go to train.py; what comes back under $OUT: the model, its checkpoint (to
# resume or calibrate here) and the log. DEVICE=cpu PYTHON=/usr/bin/python3 runs the same here.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --prepare ]; then
  cmake -S . -B build-device -G Ninja -DCMAKE_BUILD_TYPE=Release -DRINGVIT_WITH_FFMPEG=OFF \
    -DRINGVIT_WITH_GSTREAMER=OFF -DRINGVIT_WITH_CUDA=OFF -DRINGVIT_WITH_NCCL=OFF \
    -DRINGVIT_WITH_MPI=OFF -DRINGVIT_WITH_OPENBLAS=OFF >/dev/null
  ninja -C build-device ringvit-cli >/dev/null
  mkdir -p .carry/bin
  cp build-device/ringvit .carry/bin/
  cp "$(ldd build-device/ringvit | awk '/libjansson/ {print $3}')" .carry/bin/
  ls -l .carry/bin
  exit 0
fi
minutes=${1:?usage: device-train.sh MINUTES [train.py options] | --prepare}
shift
bin=$PWD/.carry/bin/ringvit
export LD_LIBRARY_PATH=$PWD/.carry/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
out=${OUT:-$PWD/out}
work=${WORK:-/tmp/rv-gpu}
py=${PYTHON:-python3}
mkdir -p "$out" "$work"
"$bin" --version
"$py" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")'
PYTHONUNBUFFERED=1 "$py" vit/train/train.py --ringvit "$bin" --work "$work" \
  -o "$out/rv-demo.safetensors" --device "${DEVICE:-cuda}" --jobs "$(nproc)" --threads 4 \
  --minutes "$minutes" "$@" 2>&1 | tee "$out/train.log"
cp "$work/checkpoint.pt" "$out/"
