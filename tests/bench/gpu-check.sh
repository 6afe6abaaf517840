#!/bin/sh
# The GPU checks of the cuda backend, for a session whose task has the device machine.
# It builds nothing: it runs binaries built on the dev box and carried along.
#
#   here, after building:   tests/bench/gpu-check.sh --prepare
#       copies test-backend-ops, test-comm-nccl, bench-attn-cuda and libcmocka.so.0 (absent there) into
#       .carry/gpu (ignored by git, a few MB)
#   there:                   device run, carry [".carry"], timeout_s 560:
#       sh tests/bench/gpu-check.sh
#
# Steps (each bounded by its own timeout, 530 s at worst; expected 3-4 minutes in all):
#   1. test-backend-ops cuda          every op against cpu-ref (bf16 tolerances)
#   1b. test-comm-nccl                the nccl comm on this machine's GPUs (world 1 on one GPU)
#   2. bench-attn-cuda                our attention vs torch SDPA FLASH / cuDNN, one table
#   3. compute-sanitizer memcheck     on test-backend-ops cuda
#   4. compute-sanitizer racecheck    on test-backend-ops cuda
# Each step's log goes to $OUT/<step>.log (when OUT is set); the last lines are a summary.
set -u
CARRY=.carry/gpu

if [ "${1:-}" = "--prepare" ]; then
  BUILD=${2:-build}
  set -e
  rm -rf "$CARRY"
  mkdir -p "$CARRY/lib"
  cp "$BUILD/tests/kernels/test-backend-ops" "$BUILD/tests/ring/test-comm-nccl" \
    "$BUILD/tests/bench/bench-attn-cuda" "$CARRY/"
  cmocka=$(ldd "$BUILD/tests/kernels/test-backend-ops" | awk '/libcmocka/ {print $3}')
  cp -L "$cmocka" "$CARRY/lib/"
  du -sh "$CARRY"
  exit 0
fi

LOGDIR=${OUT:-/tmp}
export LD_LIBRARY_PATH="$PWD/$CARRY/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RINGVIT_LOG=warn RINGVIT_SOURCE_DIR="$PWD" PYTHONUNBUFFERED=1
SUMMARY=""

# step NAME SECONDS TAIL COMMAND...: runs it under a timeout into $LOGDIR/NAME.log, shows
# its last TAIL lines, records the exit code.
step() {
  name=$1 secs=$2 lines=$3
  shift 3
  echo "==== $name: $*"
  t0=$(date +%s)
  timeout "$secs" "$@" >"$LOGDIR/$name.log" 2>&1
  rc=$?
  t1=$(date +%s)
  tail -n "$lines" "$LOGDIR/$name.log"
  SUMMARY="$SUMMARY
$(printf '%-10s rc=%-4s %4ss' "$name" "$rc" $((t1 - t0)))"
}

if [ ! -x "$CARRY/test-backend-ops" ]; then
  echo "gpu-check: $CARRY is missing: run tests/bench/gpu-check.sh --prepare here and carry .carry"
  exit 2
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,memory.used --format=csv,noheader

step ops 90 25 "$CARRY/test-backend-ops" cuda
step nccl 60 12 "$CARRY/test-comm-nccl"
step bench 200 20 "$CARRY/bench-attn-cuda" --python "${PYTHON:-python3}" --reps 3

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer /usr/local/cuda/compute-sanitizer/compute-sanitizer 2>/dev/null | head -n 1)
if [ -n "$SAN" ]; then
  step memcheck 120 12 "$SAN" --tool memcheck --error-exitcode 3 "$CARRY/test-backend-ops" cuda
  step racecheck 120 12 "$SAN" --tool racecheck --error-exitcode 3 "$CARRY/test-backend-ops" cuda
else
  SUMMARY="$SUMMARY
sanitizer    not found"
fi

echo "==== summary (rc 0 = passed, 124 = timed out; logs in $LOGDIR)$SUMMARY"
