#!/bin/sh
# The whole test suite: installs what is missing, configures, builds, runs ctest.
# Usage: tests/run.sh [extra ctest arguments]   (build folder: $RINGVIT_BUILD or ./build)
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RINGVIT_BUILD:-$root/build}
sh "$root/.ci/deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON
cmake --build "$build" --parallel
cd "$build"
exec ctest --output-on-failure --timeout 1200 -j "$(nproc)" "$@"
