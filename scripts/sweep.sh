#!/usr/bin/env bash
# mmusim sweeps: one bench run as N shards in parallel (GNU parallel), merged
# into the document the unsharded run prints with --json, byte for byte.
#
#   bash scripts/sweep.sh [-o FILE] [-j JOBS] [-k DIR] BENCH N [bench options...]
#
#   BENCH   kmap_atomic_bench, kmap_bench or shootdown_bench (the benches whose
#           output is a set of independent rows), or a path to one of them
#   N       the number of shards: BENCH OPTIONS --shard K/N --json for K = 1 .. N
#   -o FILE write the merged JSON to FILE (default: stdout)
#   -j JOBS shards run at once (default: parallel's, one per CPU core)
#   -k DIR  keep the shard files in DIR (shard-K.json, and parallel's joblog;
#           default: a temporary directory, removed at the end)
#
# Example: bash scripts/sweep.sh -o kmap.json kmap_bench 8 --ops 20000
# The exit status is the merge's, that is the whole run's (1 if the bench's
# checks fail over all rows, 2 if a shard exited 2 or more, is missing or is
# broken). The shards
# and their merge are docs/results.md's "Sweeps"; the same sweep as a Slurm
# job array is there too. GNU parallel comes from Debian's package parallel,
# installed with apt-get when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

out="" jobs="" keep=""
while getopts "o:j:k:h" opt; do
  case $opt in
    o) out=$OPTARG ;;
    j) jobs=$OPTARG ;;
    k) keep=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -ge 2 ]] || usage
bench=$1 n=$2
shift 2
if ! [[ $n =~ ^[1-9][0-9]{0,5}$ ]]; then
  echo "sweep.sh: N wants a shard count from 1 to 999999: $n" >&2
  exit 2
fi
if [[ -n $jobs ]] && ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
  echo "sweep.sh: -j wants a positive job count: $jobs" >&2
  exit 2
fi

if [[ $bench != */* ]]; then
  if [[ ! -x $root/build/bin/$bench ]]; then
    cmake -S "$root" -B "$root/build" >/dev/null
    cmake --build "$root/build" -j2 --target "$bench" >/dev/null
  fi
  bench=$root/build/bin/$bench
fi
[[ -x $bench ]] || { echo "sweep.sh: no such bench: $bench" >&2; exit 2; }

if ! command -v parallel >/dev/null; then
  echo "sweep.sh: installing parallel" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends parallel >/dev/null
fi

if [[ -n $keep ]]; then
  dir=$keep
  mkdir -p "$dir"
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

# GNU parallel hands the command to a shell: quote the bench and its options.
cmd="$(printf '%q ' "$bench" "$@")--shard {}/$n --json > $(printf '%q' "$dir")/shard-{}.json"
popts=(--will-cite --joblog "$dir/joblog")
[[ -z $jobs ]] || popts+=(-j "$jobs")
parallel "${popts[@]}" "$cmd" ::: $(seq 1 "$n") || true
# A shard may exit 1 (a check failed on its rows) and still write all its
# rows: the merge judges every row again. Any other status (a bad option, a
# crash) stops the sweep here.
failed=$(awk -F'\t' -v n="$n" 'NR > 1 && $7 != 0 && $7 != 1 {
  print "shard " $1 "/" n " exited " $7 ($8 != 0 ? " (signal " $8 ")" : "")}' \
  "$dir/joblog")
if [[ -n $failed ]]; then
  echo "sweep.sh: $failed" | sed '2,$s/^/sweep.sh: /' >&2
  exit 2
fi

files=()
for k in $(seq 1 "$n"); do
  files+=("$dir/shard-$k.json")
done
if [[ -n $out ]]; then
  "$bench" --json --merge "${files[@]}" >"$out"
else
  "$bench" --json --merge "${files[@]}"
fi
