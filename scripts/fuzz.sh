#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/, CMake option MMUSIM_FUZZ) with clang,
# ASan and UBSan into build-fuzz/, and run them.
#
#   bash scripts/fuzz.sh TARGET SECONDS   run fuzz_TARGET (config, cli, elf, trace, api, kmap) for SECONDS
#   bash scripts/fuzz.sh all SECONDS      run every target, SECONDS each
#
# Each run starts from a scratch copy of fuzz/corpus/TARGET/ (the repository
# is never written to); a crash input is left in the scratch directory, whose
# path is printed. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(config cli elf trace api kmap)
target=${1:-}
seconds=${2:-60}
if [[ -z $target || ! $seconds =~ ^[0-9]+$ ]]; then
  echo "usage: bash scripts/fuzz.sh config|cli|elf|trace|api|kmap|all SECONDS" >&2
  exit 2
fi
if [[ $target != all ]] && [[ ! " ${targets[*]} " =~ " $target " ]]; then
  echo "fuzz.sh: unknown target '$target' (${targets[*]} or all)" >&2
  exit 2
fi

if ! command -v clang >/dev/null; then
  echo "fuzz.sh: installing clang" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang >/dev/null
fi

cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMUSIM_FUZZ=ON \
  -DMMUSIM_BUILD_TESTS=OFF -DMMUSIM_BUILD_BENCH=OFF -DMMUSIM_BUILD_TOOLS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" --target fuzz_config fuzz_cli fuzz_elf fuzz_trace fuzz_api fuzz_kmap >/dev/null

run_one() { # TARGET SECONDS
  local t=$1 secs=$2 work
  work=$(mktemp -d "${TMPDIR:-/tmp}/mmusim-fuzz-$t.XXXXXX")
  mkdir -p "$work/corpus"
  cp fuzz/corpus/"$t"/* "$work/corpus/"
  echo "== fuzz_$t for ${secs}s (scratch: $work)"
  local rc=0
  ( cd "$work" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$OLDPWD/build-fuzz/bin/fuzz_$t" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -close_fd_mask=3 -print_final_stats=1 corpus ) >"$work/log" 2>&1 || rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb' "$work/log" || true
  if ((rc != 0)) || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$work/log"; then
    echo "fuzz.sh: fuzz_$t found a problem (exit $rc); log and crash input in $work:" >&2
    tail -n 40 "$work/log" >&2
    ls "$work" >&2
    return 1
  fi
  rm -rf "$work"
}

status=0
if [[ $target == all ]]; then
  for t in "${targets[@]}"; do run_one "$t" "$seconds" || status=1; done
else
  run_one "$target" "$seconds" || status=1
fi
exit $status
