#!/usr/bin/env bash
# mmusim developer entry point: the README's two quick-start commands.
#
#   bash scripts/dev.sh run     build (Release), then run the main bench, kmap_atomic_bench
#   bash scripts/dev.sh test    build, then run every test with CTest
#   bash scripts/dev.sh asan    the tests again, built with AddressSanitizer and UBSan
#
# On a fresh Debian machine it first installs what is missing (cmake,
# pkg-config, a C compiler, libcmocka-dev, libelf-dev, gcc-multilib) with apt-get.
# With CI set in the environment, compiler warnings are errors.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  command -v cc >/dev/null || missing+=(gcc)
  command -v make >/dev/null || missing+=(make)
  if command -v pkg-config >/dev/null; then
    pkg-config --exists cmocka || missing+=(libcmocka-dev)
    pkg-config --exists libelf || missing+=(libelf-dev)
  else
    missing+=(libcmocka-dev libelf-dev)
  fi
  # gcc -m32 builds the i386 programs of the ELF loader's and the replay's
  # tests (tests/programs/): Debian's gcc-multilib, on amd64 hosts; valgrind
  # (lackey, cachegrind) traces them. Without them those tests report a skip.
  if [[ $(dpkg --print-architecture 2>/dev/null) == amd64 ]] &&
     ! echo 'int main(void) { return 0; }' | gcc -m32 -x c - -o /dev/null 2>/dev/null; then
    missing+=(gcc-multilib)
  fi
  command -v valgrind >/dev/null || missing+=(valgrind)
  ((${#missing[@]} == 0)) && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() { # DIR [extra cmake args...]
  local dir=$1; shift
  local werror=OFF
  [[ -n ${CI:-} ]] && werror=ON
  cmake -S . -B "$dir" -DMMUSIM_WERROR=$werror "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)"
}

cmd=${1:-}
case $cmd in
  run)
    need_packages
    configure_and_build build -DCMAKE_BUILD_TYPE=Release
    ./build/bin/kmap_atomic_bench
    echo
    echo "dev.sh: the executables are in build/bin/ (kmap_atomic_bench, kmap_bench, shootdown_bench, mmusim; each takes --help)."
    echo "Next: bash scripts/dev.sh test; build/bin/kmap_bench (kmap against kmap_atomic and kmap_local);"
    echo "      build/bin/mmusim layout; docs/results.md explains every field."
    ;;
  test)
    need_packages
    configure_and_build build
    ctest --test-dir build --output-on-failure
    ;;
  asan)
    need_packages
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DMMUSIM_SANITIZE=address,undefined
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure
    ;;
  *)
    echo "usage: bash scripts/dev.sh run|test|asan" >&2
    exit 2
    ;;
esac
