# made by vrobin table; run `gnuplot latency.gp` in this folder to redraw latency.png
if (!exists("outfile")) outfile = 'latency.png'
set encoding utf8
set terminal pngcairo size 1080,560 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'latency: generation time per 10-s clip'
set ylabel 'seconds per 10 s of audio'
set yrange [0:*]
set offsets 0,0,graph 0.1,0
set grid noxtics ytics
set style fill solid 0.85 border -1
set xtics rotate by 35 right
set boxwidth 0.7
set xrange [-0.6:7.6]
stages = 'decode planner rite locdit decoder write other'
set style data histograms
set style histogram rowstacked
set key outside right top title 'stage'
plot for [k=4:10] 'latency.dat' using k:xtic(1) title word(stages, k - 3), '' using 0:3:(sprintf('%.2f s', $3)) with labels offset 0,0.7 notitle
set output
