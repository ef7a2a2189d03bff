#!/usr/bin/env bash
# Idempotent set-up for a Debian 12 machine: installs every package the
# project needs (when missing), then configures and builds into build/.
#
#   scripts/setup.sh            install + configure + build
#   scripts/setup.sh --deps     install only
#
# Runs as root (apt-get) or through sudo when available.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  cmake ninja-build g++ lld ccache python3 python3-psutil pkg-config dpkg-dev
  llvm-19-dev llvm-19-tools libzstd-dev
  libcereal-dev libcli11-dev libsqlite3-dev sqlite3 libgtest-dev
  lua5.4 luajit hyperfine time gcc util-linux gnuplot-nox   # benchmark peers
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" = "--deps" ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD_DIR"
