#!/bin/sh
# Installs the Debian 12 packages ringvit builds and tests with, when any is missing.
# Sourced or run by tests/run.sh and samples/demo.sh; needs root (or sudo).
set -e
RINGVIT_DEBS="build-essential cmake ninja-build pkg-config git
  libjansson-dev libcmocka-dev libopenblas-dev libopenmpi-dev openmpi-bin
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav
  libgstrtspserver-1.0-dev gstreamer1.0-rtsp libcairo2-dev chromium python3
  python3-numpy python3-torch python3-torchvision"

missing=""
for p in $RINGVIT_DEBS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "ringvit: installing:$missing"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing
fi
