# A bar chart of bench/run.sh's ratios.csv: each case's cost under each
# preload relative to no preload (1 = the same; above 1 = slower or
# larger; for the churn, the inverse of connections per second), with
# the min..max of the paired rounds as error bars.
#
#   gnuplot -e "data='bench/ratios.csv'; out='bench/ratios.png'" plot.gp
# (make bench-plot does this.)

if (!exists("data")) data = 'bench/ratios.csv'
if (!exists("out")) out = 'bench/ratios.png'

set terminal pngcairo size 1100,520 noenhanced font ',10'
set output out
set datafile separator ','
set datafile columnheaders
set title 'rebind: cost relative to no preload (median of paired rounds, min..max)'
set ylabel 'cost / cost without preload'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.75 border -1
set boxwidth 0.9
set key top left
set grid ytics
set xtics rotate by -25 nomirror
set yrange [0.8:*<2.5]
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb 'black'

plot data using 2:3:4:xtic(1) title 'pass-through (floor)' lc rgb '#999999', \
     ''   using 5:6:7 title 'rebind (defaults)' lc rgb '#3070b0', \
     ''   using 8:9:10 title 'rebind, REBIND_LINGER=safe-abort' lc rgb '#d08020'
