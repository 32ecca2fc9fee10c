#!/usr/bin/env bash
# mmusim plots: the kmap benches' CSV turned into PNGs in build/plots/.
#
#   bash scripts/plot.sh [KMAP_BENCH_CSV [KMAP_ATOMIC_BENCH_CSV]]
#
# KMAP_BENCH_CSV defaults to build/plots/kmap_bench.csv; when that file is
# missing the script builds kmap_bench and writes it (the default run:
# build/bin/kmap_bench --csv build/plots/kmap_bench.csv). KMAP_ATOMIC_BENCH_CSV
# defaults to build/plots/kmap_atomic_bench.csv and is plotted when present
# (kmap_atomic_bench --csv FILE writes it; its rows are variant, scenario, ops,
# mean, p50, p99, invlpg, global_flushes, ipis, ...). Columns are found by
# their header names, so added columns do no harm.
#
# Output (build/plots/):
#   kmap_cycles_per_op.png      mean cycles per op against CPUs, per API and working set (2-level, PAE)
#   kmap_p99_per_op.png         the same for the 99th percentile
#   kmap_flushes_ipis.png       kmap's global flushes and IPIs per thousand ops against CPUs
#   kmap_atomic_cycles.png      kmap_atomic_bench: mean, p50, p99 cycles per op per variant and scenario
#   kmap_atomic_flushes.png     kmap_atomic_bench: INVLPGs, global flushes, IPIs per thousand ops
#
# gnuplot comes from Debian's gnuplot-nox, installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/plots
mkdir -p "$out"
kcsv=${1:-$out/kmap_bench.csv}
acsv=${2:-$out/kmap_atomic_bench.csv}

if ! command -v gnuplot >/dev/null; then
  echo "plot.sh: installing gnuplot-nox" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi

if [[ ! -f $kcsv ]]; then
  if [[ ! -x build/bin/kmap_bench ]]; then
    cmake -S . -B build >/dev/null
    cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target kmap_bench >/dev/null
  fi
  echo "plot.sh: running build/bin/kmap_bench --csv $kcsv" >&2
  build/bin/kmap_bench --csv "$kcsv" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- kmap_bench: one data file per (api, paging, working set) ----
# columns of each: cpus mean p50 p99 flushes_per_kop ipis_per_kop
awk -F, -v dir="$tmp" '
  NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  {
    f = dir "/k_" $c["api"] "_" ($c["pae"] ? "pae" : "2level") "_" $c["working_set"] ".dat"
    ops = $c["ops"] + 0
    printf "%s %s %s %s %.6g %.6g\n", $c["cpus"], $c["mean"], $c["p50"], $c["p99"],
           ops ? 1000 * $c["global_flushes"] / ops : 0, ops ? 1000 * $c["ipis"] / ops : 0 > f
  }' "$kcsv"

series() { # PAGING COLUMN: the plot clauses of every API and working set of one paging
  local paging=$1 col=$2 sep="" f base api ws
  for f in "$tmp"/k_*_"$paging"_*.dat; do
    [[ -e $f ]] || continue
    base=${f##*/k_}; base=${base%.dat}
    ws=${base##*_}; api=${base%_"$paging"_*}
    printf '%s"%s" using 1:%s with linespoints title "%s, %s pages"' "$sep" "$f" "$col" "$api" "$ws"
    sep=", "
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

cat >"$tmp/kmap.gp" <<EOF
set terminal pngcairo size 1400,560 font ",10" noenhanced
set logscale x 2
set logscale y 10
set xlabel "CPUs"
set key top left
set grid
set output "$out/kmap_cycles_per_op.png"
set multiplot layout 1,2 title "kmap_bench: mean cycles per map-read-unmap"
set ylabel "cycles per op (mean)"
set title "2-level (LAST_PKMAP 1024)"
plot $(series 2level 2)
set title "PAE (LAST_PKMAP 512)"
plot $(series pae 2)
unset multiplot
set output "$out/kmap_p99_per_op.png"
set multiplot layout 1,2 title "kmap_bench: 99th percentile cycles per map-read-unmap"
set ylabel "cycles per op (p99)"
set title "2-level (LAST_PKMAP 1024)"
plot $(series 2level 4)
set title "PAE (LAST_PKMAP 512)"
plot $(series pae 4)
unset multiplot
unset logscale y
set output "$out/kmap_flushes_ipis.png"
set multiplot layout 1,2 title "kmap_bench, kmap (pkmap): wrap flushes and IPIs per thousand ops"
set ylabel "global flushes per 1000 ops"
set title "global flushes (one per wrap)"
plot $(kmap_series 5)
set ylabel "IPIs per 1000 ops"
set title "IPIs (flushes x (CPUs - 1))"
plot $(kmap_series 6)
unset multiplot
EOF
gnuplot "$tmp/kmap.gp"
echo "plot.sh: $out/kmap_cycles_per_op.png $out/kmap_p99_per_op.png $out/kmap_flushes_ipis.png"

# ---- kmap_atomic_bench, when its CSV is there ----
if [[ -f $acsv ]]; then
  # columns: label mean p50 p99 invlpg_per_kop flushes_per_kop ipis_per_kop
  awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    {
      ops = $c["ops"] + 0
      label = $c["variant"] "/" $c["scenario"]
      printf "\"%s\" %s %s %s %.6g %.6g %.6g\n", label, $c["mean"], $c["p50"], $c["p99"],
             ops ? 1000 * $c["invlpg"] / ops : 0, ops ? 1000 * $c["global_flushes"] / ops : 0,
             ops ? 1000 * $c["ipis"] / ops : 0
    }' "$acsv" >"$tmp/atomic.dat"
  n=$(wc -l <"$tmp/atomic.dat")
  width=$((600 + 40 * n))
  cat >"$tmp/atomic.gp" <<EOF
set terminal pngcairo size $width,600 font ",10" noenhanced
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by -45 scale 0
set grid ytics
set yrange [0:*]
set key top left
set output "$out/kmap_atomic_cycles.png"
set title "kmap_atomic_bench: cycles per op"
set ylabel "cycles"
plot "$tmp/atomic.dat" using 2:xtic(1) title "mean", "" using 3 title "p50", "" using 4 title "p99"
set output "$out/kmap_atomic_flushes.png"
set title "kmap_atomic_bench: TLB work per thousand ops"
set ylabel "per 1000 ops"
plot "$tmp/atomic.dat" using 5:xtic(1) title "INVLPG", "" using 6 title "global flushes", "" using 7 title "IPIs"
EOF
  gnuplot "$tmp/atomic.gp"
  echo "plot.sh: $out/kmap_atomic_cycles.png $out/kmap_atomic_flushes.png"
else
  echo "plot.sh: no $acsv, kmap_atomic_bench not plotted" >&2
fi
