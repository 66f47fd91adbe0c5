#!/usr/bin/env bash
# Sets up and builds gwsim on Debian 12: installs the Debian packages that are missing, configures
# once (Release, Ninja) and builds incrementally. Usage: ./build.sh [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")"

packages=(build-essential cmake ninja-build pkg-config git
          nlohmann-json3-dev libfmt-dev libcli11-dev libeigen3-dev libboost-graph-dev libsimgrid-dev
          libgtest-dev libgmock-dev libbenchmark-dev qt6-base-dev qt6-charts-dev libqt6opengl6-dev
          libopenmpi-dev openmpi-bin python3 clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# CUDA is optional: use the toolkit under /usr/local/cuda when it is there.
cuda_args=()
if [ -x /usr/local/cuda/bin/nvcc ]; then cuda_args=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc); fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B build "$@"
fi
cmake --build build -j"$(nproc)"
