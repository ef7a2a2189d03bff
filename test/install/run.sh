#!/usr/bin/env bash
# The installed toolchain, as a user gets it (ctest "install"):
#   cmake --install, then an out-of-tree frontend (docs/examples/embed.cpp)
#   built with find_package(fusevm) and with pkg-config, run with and
#   without the JIT plugin; the installed fusevmc compiling an executable
#   and an object linked with a main of its own; and cpack -G DEB, whose
#   package is unpacked and run.
# usage: run.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
SRC=$1
BUILD=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
P=$WORK/prefix

cmake --install "$BUILD" --prefix "$P" >/dev/null
for f in bin/fusevm bin/fusevmc lib/fusevm/libfusevm-jit.so \
         lib/libfusevm-runtime.a lib/libfusevm.a include/fusevm/VM/VM.h \
         include/fusevm/Config.h lib/cmake/fusevm/fusevmConfig.cmake \
         lib/pkgconfig/fusevm.pc; do
  test -e "$P/$f" || { echo "install: $f is missing"; exit 1; }
done
echo "install: cmake --install put every file in place"

check_embed() { # the output embed.cpp prints, without and with the JIT
  "$1" | grep >/dev/null 'result 42, status 0'
  "$1" --jit | grep >/dev/null 'native: 2 functions compiled'
  rm -rf "$WORK/cache"
  "$1" --jit-cache "$WORK/cache" | grep >/dev/null '2 generated, 0 loaded from the cache'
  "$1" --jit-cache "$WORK/cache" | grep >/dev/null '0 generated, 2 loaded from the cache'
}

# find_package(fusevm)
cmake -S "$SRC/test/install" -B "$WORK/pkg" -G Ninja \
  -DCMAKE_PREFIX_PATH="$P" -DEMBED_SOURCE="$SRC/docs/examples/embed.cpp" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$WORK/pkg" >/dev/null
check_embed "$WORK/pkg/embed"
echo "install: find_package(fusevm): built and ran embed.cpp (interpreter, JIT plugin, code cache)"

# pkg-config
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
# shellcheck disable=SC2046
c++ -O1 -o "$WORK/embed-pc" "$SRC/docs/examples/embed.cpp" \
  $(pkg-config --cflags --libs fusevm)
check_embed "$WORK/embed-pc"
echo "install: pkg-config fusevm: built and ran embed.cpp (interpreter, JIT plugin, code cache)"

# The installed fusevmc finds the installed runtime library.
"$P/bin/fusevmc" "$SRC/examples/primes.fasm" -o "$WORK/primes"
"$WORK/primes" 20 | grep >/dev/null 'count: 8'
"$P/bin/fusevmc" "$SRC/examples/primes.fasm" -o "$WORK/primes.o"
cc -o "$WORK/primes-own" "$SRC/test/lit/aot/Inputs/own_main.c" "$WORK/primes.o" \
  "$P/lib/libfusevm-runtime.a" -I"$P/include" -l:libstdc++.a -lm -lpthread -ldl
"$WORK/primes-own" 20 | grep >/dev/null 'the program returned status 0'
"$P/bin/fusevm" --jit=block --jit-log "$SRC/examples/primes.fasm" 10 2>&1 \
  | grep >/dev/null 'jit: compiled main'
echo "install: installed fusevmc linked executables; installed fusevm loaded its JIT plugin"

# The Debian package.
(cd "$BUILD" && cpack -G DEB >/dev/null)
DEB=$(ls "$BUILD"/fusevm_*.deb | head -1)
dpkg-deb --info "$DEB" | grep >/dev/null 'Package: fusevm'
dpkg-deb --contents "$DEB" | grep >/dev/null './usr/bin/fusevmc'
if [ "$(id -u)" -eq 0 ]; then
  # Its dependencies are met on this (Debian 12) machine.
  dpkg --dry-run -i "$DEB" >/dev/null
fi
dpkg-deb --extract "$DEB" "$WORK/deb"
"$WORK/deb/usr/bin/fusevm" --version | grep >/dev/null '^fusevm '
"$WORK/deb/usr/bin/fusevmc" "$SRC/examples/primes.fasm" -o "$WORK/primes-deb"
"$WORK/primes-deb" 20 | grep >/dev/null 'count: 8'
"$WORK/deb/usr/bin/fusevm" --jit=block --jit-log "$SRC/examples/primes.fasm" 10 \
  2>&1 | grep >/dev/null 'jit: compiled main'
echo "install: $(basename "$DEB"): unpacked, its tools run"
