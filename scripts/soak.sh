#!/usr/bin/env bash
# The soak (tests/soak.c, docs/reliability.md "Soak"), run twice with one
# seed: each run must keep host memory flat (the soak itself fails
# otherwise) and both must print the same digest.
#
#   bash scripts/soak.sh [CYCLES [SEED]]     default 1e9 cycles, seed 1
#
# Uses build/bin/soak, building it (RelWithDebInfo) if it is missing. Prints
# each run's table, then the verdict; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-1e9}
seed=${2:-1}
if [[ ! -x build/bin/soak ]]; then
  cmake -S . -B build >/dev/null
  cmake --build build -j2 --target soak >/dev/null
fi
digests=()
for run in 1 2; do
  echo "-- soak run $run: --cycles $cycles --seed $seed"
  out=$(build/bin/soak --cycles "$cycles" --seed "$seed")
  echo "$out"
  digests+=("$(awk '$1 == "digest" { print $2 }' <<<"$out")")
done
if [[ -z ${digests[0]} || ${digests[0]} != "${digests[1]}" ]]; then
  echo "soak.sh: the two runs with seed $seed give digests '${digests[0]}' and '${digests[1]}'" >&2
  exit 1
fi
echo "soak.sh: host RSS flat in both runs, digest ${digests[0]} twice"
