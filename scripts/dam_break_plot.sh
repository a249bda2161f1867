#!/usr/bin/env bash
# Dam-break validation (docs/simulator.md): runs `lagrad generate --dam-break` for a square
# column and for a column of height 2a, compares the surge front with Martin & Moyce (1952)
# (scripts/martin_moyce_1952.dat) and draws docs/img/dam_break.png with gnuplot.
#   scripts/dam_break_plot.sh [path/to/lagrad]     (default: build/lagrad)
set -euo pipefail
cd "$(dirname "$0")/.."
LAGRAD=${1:-build/lagrad}
DATA=scripts/martin_moyce_1952.dat
OUT=${OUT_DIR:-$(mktemp -d)}
"$LAGRAD" generate --dam-break --dam-break-width 20 --dam-break-time 5.0 --dam-break-length 7 -o "$OUT/square.tsv"
"$LAGRAD" generate --dam-break --dam-break-width 20 --dam-break-height 40 --dam-break-time 4.6 \
  --dam-break-length 8 -o "$OUT/tall.tsv"

# Relative deviation of the simulated front from each measured point (linear interpolation of
# the simulation at the measured T), mean of |dev| and the largest |dev|.
deviation() {  # $1 simulation table, $2 data block index
  awk -v blk="$2" '
    FNR == 1 { file++ }
    file == 1 && !/^#/ { t[n] = $2; z[n] = $3; n++ }
    file == 2 && /^$/ { gap++; next }
    file == 2 && !/^#/ && int(gap / 2) == blk {
      for (i = 1; i < n; i++) if (t[i-1] <= $3 && $3 <= t[i]) {
        zs = z[i-1] + (z[i] - z[i-1]) * ($3 - t[i-1]) / (t[i] - t[i-1]); d = (zs - $2) / $2
        sum += (d < 0 ? -d : d); m++; if ((d < 0 ? -d : d) > mx) mx = (d < 0 ? -d : d); mean += d; break }
    }
    END { printf "%d points: mean deviation %+.1f%%, mean |deviation| %.1f%%, max |deviation| %.1f%%\n", m, 100 * mean / m, 100 * sum / m, 100 * mx }
  ' "$1" "$DATA"
}
echo "square column (n^2 = 1): $(deviation "$OUT/square.tsv" 0)"
echo "tall column   (n^2 = 2): $(deviation "$OUT/tall.tsv" 1)"

gnuplot <<GP
set terminal pngcairo size 900,600 font ",11"
set output "docs/img/dam_break.png"
set title "Dam break: surge front, lagrad DFSPH vs Martin and Moyce (1952)"
set xlabel "T = t sqrt(2g/a)"
set ylabel "Z = z / a"
set key top left
set grid
set xrange [0:5]
set yrange [0:7]
plot "$OUT/square.tsv" using 2:3 with lines lw 2 lc rgb "#1f77b4" title "lagrad, square column (20 x 20 particles)", \
     "$DATA" index 0 using 3:2 with points pt 7 ps 1.2 lc rgb "#1f77b4" title "Martin and Moyce, n^2 = 1 (T_{MM} x sqrt 2)", \
     "$OUT/tall.tsv" using 2:3 with lines lw 2 lc rgb "#d62728" title "lagrad, column 20 x 40 particles", \
     "$DATA" index 1 using 3:2 with points pt 5 ps 1.2 lc rgb "#d62728" title "Martin and Moyce, n^2 = 2"
GP
echo "wrote docs/img/dam_break.png (tables in $OUT)"
