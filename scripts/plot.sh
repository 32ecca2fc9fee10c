#!/usr/bin/env bash
# mmusim plots: the kmap benches' CSV turned into PNGs in build/plots/.
#
#   bash scripts/plot.sh [--rerun]
#
# One command draws every plot. It needs gnuplot (Debian's gnuplot-nox,
# installed with apt-get when missing; the build tools too, as in
# scripts/dev.sh), builds the two benches (a Release build when build/ is not
# configured yet), and runs each bench whose CSV is missing:
#
#   build/bin/kmap_bench --csv build/plots/kmap_bench.csv                (about 17 s)
#   build/bin/kmap_atomic_bench --csv build/plots/kmap_atomic_bench.csv  (about 6 s)
#
# --rerun runs both benches even when their CSV is there. Extra bench options
# come from the environment: KMAP_BENCH_ARGS="--preset atom" and
# KMAP_ATOMIC_BENCH_ARGS="--irq-gap 60000", for example (use --rerun with them).
# A bench that fails (bad option, or a row it rejects: it exits non-zero)
# stops the script with its status and leaves no CSV behind. Columns are found
# by their header names; a missing column is an error.
#
# Output (build/plots/):
#   kmap_cycles_per_op.png      kmap_bench: mean cycles per op against CPUs, per API and working set (2-level, PAE)
#   kmap_p99_per_op.png         kmap_bench: the same for the 99th percentile
#   kmap_flushes_ipis.png       kmap_bench: kmap's global flushes and IPIs per thousand ops against CPUs
#   kmap_atomic_latency.png     kmap_atomic_bench: p50 and p99 (and mean) cycles per op, per variant, one panel per scenario
#   kmap_atomic_flushes.png     kmap_atomic_bench: INVLPGs, global flushes, IPIs per thousand ops, per variant and scenario
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "plot.sh: $*" >&2; exit 1; }

rerun=0
case ${1:-} in
  --rerun) rerun=1 ;;
  "") ;;
  *) echo "usage: bash scripts/plot.sh [--rerun]" >&2; exit 2 ;;
esac

out=build/plots
mkdir -p "$out"
kcsv=$out/kmap_bench.csv
acsv=$out/kmap_atomic_bench.csv

apt_install() { # PACKAGE...
  echo "plot.sh: installing $*" >&2
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed"
}

command -v gnuplot >/dev/null || apt_install gnuplot-nox
command -v gnuplot >/dev/null || die "gnuplot still missing after installing gnuplot-nox"

run_bench() { # NAME CSV EXTRA_ARGS: run build/bin/NAME --csv into a temporary file, then move it to CSV
  local name=$1 csv=$2 extra=$3 rc=0
  echo "plot.sh: running build/bin/$name $extra --csv $csv" >&2
  # shellcheck disable=SC2086 # EXTRA_ARGS is a list of options
  build/bin/"$name" $extra --csv "$csv.part" >"$out/$name.txt" || rc=$?
  if ((rc != 0)); then
    rm -f "$csv.part"
    echo "plot.sh: build/bin/$name failed with status $rc; its output is in $out/$name.txt:" >&2
    tail -n 20 "$out/$name.txt" >&2
    exit "$rc"
  fi
  [[ -s $csv.part ]] || die "build/bin/$name wrote no CSV"
  mv "$csv.part" "$csv"
  # the preset and CPUs of this run, for the plot titles
  grep -m1 -o '[a-z0-9]* preset\(, [0-9]* CPUs\)\?' "$out/$name.txt" >"$csv.title" || true
}

if ((rerun)) || [[ ! -f $kcsv || ! -f $acsv ]]; then
  if [[ ! -f build/CMakeCache.txt ]]; then
    missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v cc >/dev/null || missing+=(gcc)
    command -v make >/dev/null || missing+=(make)
    ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake configure failed"
  fi
  cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target kmap_bench kmap_atomic_bench >/dev/null ||
    die "building kmap_bench and kmap_atomic_bench failed (cmake --build build --target kmap_bench kmap_atomic_bench)"
  if ((rerun)) || [[ ! -f $kcsv ]]; then run_bench kmap_bench "$kcsv" "${KMAP_BENCH_ARGS:-}"; fi
  if ((rerun)) || [[ ! -f $acsv ]]; then run_bench kmap_atomic_bench "$acsv" "${KMAP_ATOMIC_BENCH_ARGS:-}"; fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# AWK program prefix: index the header, fail on a missing column.
# shellcheck disable=SC2016 # awk's $ fields, not the shell's
header_awk='
  function need(names,   n, k, a) {
    n = split(names, a, " ")
    for (k = 1; k <= n; k++)
      if (!(a[k] in c)) { printf "plot.sh: %s has no column %s\n", FILENAME, a[k] > "/dev/stderr"; bad = 1; exit 1 }
  }
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; need(cols); next }
'

# ---- kmap_bench: one data file per (api, paging, working set) ----
# columns of each: cpus mean p50 p99 flushes_per_kop ipis_per_kop
awk -F, -v dir="$tmp" -v cols="api cpus pae working_set ops mean p50 p99 global_flushes ipis" "$header_awk"'
  {
    f = dir "/k_" $c["api"] "_" ($c["pae"] ? "pae" : "2level") "_" $c["working_set"] ".dat"
    ops = $c["ops"] + 0
    printf "%s %s %s %s %.6g %.6g\n", $c["cpus"], $c["mean"], $c["p50"], $c["p99"],
           ops ? 1000 * $c["global_flushes"] / ops : 0, ops ? 1000 * $c["ipis"] / ops : 0 > f
    rows++
  }
  END { if (!bad && !rows) { print "plot.sh: no rows in " FILENAME > "/dev/stderr"; exit 1 } }' "$kcsv" ||
  die "cannot read $kcsv (delete it, or run with --rerun, to regenerate it)"

series() { # PAGING COLUMN: the plot clauses of every API and working set of one paging
  local paging=$1 col=$2 sep="" f api ws dash color=0
  for api in kmap kmap_atomic kmap_local; do
    for f in "$tmp"/k_"$api"_"$paging"_*.dat; do
      [[ -e $f ]] || continue
      ws=${f##*_}; ws=${ws%.dat}
      color=$((color + 1))
      # kmap_atomic and kmap_local give the same numbers: kmap_local is drawn dashed over it
      dash=1; [[ $api == kmap_local ]] && dash=2
      printf '%s"%s" using 1:%s with linespoints lc %s dt %s title "%s, %s pages"' \
        "$sep" "$f" "$col" "$color" "$dash" "$api" "$ws"
      sep=", "
    done
  done
}

kmap_series() { # COLUMN: kmap's lines, both pagings and working sets
  local col=$1 sep="" f base paging ws
  for f in "$tmp"/k_kmap_2level_*.dat "$tmp"/k_kmap_pae_*.dat; do
    [[ -e $f ]] || continue
    base=${f##*/k_kmap_}; base=${base%.dat}
    paging=${base%_*}; ws=${base##*_}
    printf '%s"%s" using 1:%s with linespoints title "%s, %s pages"' "$sep" "$f" "$col" "$paging" "$ws"
    sep=", "
  done
}

kcfg=$(cat "$kcsv.title" 2>/dev/null || true)
cat >"$tmp/kmap.gp" <<EOF
set terminal pngcairo size 1200,480 font ",9" noenhanced
set logscale x 2
set logscale y 10
set xlabel "CPUs"
set key top left
set grid
set output "$out/kmap_cycles_per_op.png"
set multiplot layout 1,2 title "kmap_bench $kcfg: mean cycles per map-read-unmap (kmap_local dashed, on top of kmap_atomic)"
set ylabel "cycles per op (mean)"
set title "2-level (LAST_PKMAP 1024)"
plot $(series 2level 2)
set title "PAE (LAST_PKMAP 512)"
plot $(series pae 2)
unset multiplot
set output "$out/kmap_p99_per_op.png"
set multiplot layout 1,2 title "kmap_bench $kcfg: 99th percentile cycles per map-read-unmap"
set ylabel "cycles per op (p99)"
set title "2-level (LAST_PKMAP 1024)"
plot $(series 2level 4)
set title "PAE (LAST_PKMAP 512)"
plot $(series pae 4)
unset multiplot
unset logscale y
set output "$out/kmap_flushes_ipis.png"
set multiplot layout 1,2 title "kmap_bench $kcfg, kmap (pkmap): wrap flushes and IPIs per thousand ops (kmap_atomic, kmap_local: 0)"
set ylabel "global flushes per 1000 ops"
set title "global flushes (one per wrap)"
plot $(kmap_series 5)
set ylabel "IPIs per 1000 ops"
set title "IPIs (flushes x (CPUs - 1))"
plot $(kmap_series 6)
unset multiplot
EOF
gnuplot "$tmp/kmap.gp" || die "gnuplot failed on the kmap_bench plots"
echo "plot.sh: $out/kmap_cycles_per_op.png $out/kmap_p99_per_op.png $out/kmap_flushes_ipis.png"

# ---- kmap_atomic_bench: one data file per scenario, one line per variant ----
# columns of each: variant mean p50 p99 invlpg_per_kop flushes_per_kop ipis_per_kop ops
awk -F, -v dir="$tmp" -v cols="variant scenario ops cycles_mean cycles_p50 cycles_p99 invlpg global_flushes ipis" "$header_awk"'
  {
    s = $c["scenario"]
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    ops = $c["ops"] + 0
    printf "\"%s\" %s %s %s %.6g %.6g %.6g %s\n", $c["variant"], $c["cycles_mean"], $c["cycles_p50"], $c["cycles_p99"],
           ops ? 1000 * $c["invlpg"] / ops : 0, ops ? 1000 * $c["global_flushes"] / ops : 0,
           ops ? 1000 * $c["ipis"] / ops : 0, ops > (dir "/a_" s ".dat")
    printf "\"%s/%s\" %.6g %.6g %.6g\n", $c["variant"], s, ops ? 1000 * $c["invlpg"] / ops : 0,
           ops ? 1000 * $c["global_flushes"] / ops : 0, ops ? 1000 * $c["ipis"] / ops : 0 > (dir "/atomic_tlb.dat")
  }
  END {
    if (bad) exit 1
    if (!ns) { print "plot.sh: no rows in " FILENAME > "/dev/stderr"; exit 1 }
    for (k = 1; k <= ns; k++) print order[k] > (dir "/scenarios")
  }' "$acsv" || die "cannot read $acsv (delete it, or run with --rerun, to regenerate it)"

acfg=$(cat "$acsv.title" 2>/dev/null || true)
nscen=$(wc -l <"$tmp/scenarios")
rows=$(((nscen + 3) / 4))
{
  cat <<EOF
set terminal pngcairo size 1400,$((330 * rows + 40)) font ",9" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set xtics rotate by -30 scale 0
set grid ytics
set yrange [0:*]
set format y "%.0f"
set key inside top left horizontal font ",8"
set offsets 0, 0, graph 0.18, 0
set output "$out/kmap_atomic_latency.png"
set multiplot layout $rows,4 title "kmap_atomic_bench $acfg: cycles per op (p50, p99, mean), per variant"
EOF
  while read -r s; do
    n=$(awk 'NR == 1 { print $8 }' "$tmp/a_$s.dat")
    printf 'set title "%s (%s ops)"\n' "$s" "$n"
    printf 'plot "%s" using 3:xtic(1) title "p50", "" using 4 title "p99", "" using 2 title "mean"\n' "$tmp/a_$s.dat"
  done <"$tmp/scenarios"
  n=$(wc -l <"$tmp/atomic_tlb.dat")
  cat <<EOF
unset multiplot
set terminal pngcairo size $((400 + 28 * n)),560 font ",9" noenhanced
set format y "%g"
set xtics rotate by -60 scale 0 font ",8"
set output "$out/kmap_atomic_flushes.png"
set title "kmap_atomic_bench $acfg: TLB work per thousand ops (an op: a copy, a nest, a misuse trial)"
set ylabel "per 1000 ops"
plot "$tmp/atomic_tlb.dat" using 2:xtic(1) title "INVLPG", "" using 3 title "global flushes", "" using 4 title "IPIs"
EOF
} >"$tmp/atomic.gp"
gnuplot "$tmp/atomic.gp" || die "gnuplot failed on the kmap_atomic_bench plots"
echo "plot.sh: $out/kmap_atomic_latency.png $out/kmap_atomic_flushes.png"
