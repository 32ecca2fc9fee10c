#!/usr/bin/env bash
# Line and branch coverage of src/ by every CTest test, and which error codes
# the tests reach (docs/reliability.md, "## Coverage").
#
#   bash scripts/coverage.sh
#
# Builds build-cov/ (Debug, -DMMUSIM_COVERAGE=ON: GCC's --coverage on the
# library, tests, benches and CLI), clears old counters, runs every CTest test,
# then prints gcovr's per-file table and summary for src/, the same per
# directory, and a table of the error codes of include/mmusim/error.h: for
# each, the places in src/ that produce it and how many of them ran.
# HTML report: build-cov/coverage/index.html; gcovr's JSON beside it.
# Installs gcovr with apt-get if it is missing (Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v gcovr >/dev/null; then
  echo "coverage.sh: installing gcovr" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gcovr >/dev/null
fi

dir=build-cov
werror=OFF
[[ -n ${CI:-} ]] && werror=ON
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DMMUSIM_COVERAGE=ON -DMMUSIM_WERROR=$werror >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
find "$dir" -name '*.gcda' -delete
# A failing test still leaves its counters; report coverage, then fail.
test_rc=0
ctest --test-dir "$dir" -j"$(nproc 2>/dev/null || echo 2)" --output-on-failure || test_rc=$?

mkdir -p "$dir/coverage"
# One gcovr pass: the HTML report, the JSON for coverage_errors.py, the
# per-file line table (printed), the per-file branch table (kept in a file)
# and the summary lines (printed).
gcovr "$dir" --root . --filter 'src/' --object-directory "$dir" \
      --html-details "$dir/coverage/index.html" \
      --json "$dir/coverage/coverage.json" \
      --txt "$dir/coverage/lines.txt" \
      --print-summary >"$dir/coverage/summary.txt"
gcovr "$dir" --root . --filter 'src/' --object-directory "$dir" --branches \
      --txt "$dir/coverage/branches.txt"
cat "$dir/coverage/lines.txt"
echo "(per-file branches: $dir/coverage/branches.txt)"
cat "$dir/coverage/summary.txt"

python3 scripts/coverage_errors.py "$dir/coverage/coverage.json"
echo "coverage.sh: HTML report in $dir/coverage/index.html"
exit "$test_rc"
