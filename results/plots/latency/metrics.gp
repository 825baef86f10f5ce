# made by vrobin table; run `gnuplot metrics.gp` in this folder to redraw metrics.png
if (!exists("outfile")) outfile = 'metrics.png'
set encoding utf8
set terminal pngcairo size 1320,940 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set multiplot layout 3,4 title 'latency: metrics per system (↓/↑ = lower/higher is better)'
unset key
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid noxtics ytics
set xtics rotate by 35 right
set xrange [-0.6:9.6]
set offsets 0,0,graph 0.12,0
set yrange [0:*]
set title 's / 10 s ↓'
plot 'metrics.dat' using 0:3:2:xtic(1) with boxes lc rgb variable, '' using 0:3:(sprintf('%.3f', column(3))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'RTF ↓'
plot 'metrics.dat' using 0:4:2:xtic(1) with boxes lc rgb variable, '' using 0:4:(sprintf('%.3f', column(4))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s decode ↓'
plot 'metrics.dat' using 0:5:2:xtic(1) with boxes lc rgb variable, '' using 0:5:(sprintf('%.3f', column(5))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s planner ↓'
plot 'metrics.dat' using 0:6:2:xtic(1) with boxes lc rgb variable, '' using 0:6:(sprintf('%.3f', column(6))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s rite ↓'
plot 'metrics.dat' using 0:7:2:xtic(1) with boxes lc rgb variable, '' using 0:7:(sprintf('%.3f', column(7))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s locdit ↓'
plot 'metrics.dat' using 0:8:2:xtic(1) with boxes lc rgb variable, '' using 0:8:(sprintf('%.3f', column(8))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s decoder ↓'
plot 'metrics.dat' using 0:9:2:xtic(1) with boxes lc rgb variable, '' using 0:9:(sprintf('%.3f', column(9))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's/10 s write ↓'
plot 'metrics.dat' using 0:10:2:xtic(1) with boxes lc rgb variable, '' using 0:10:(sprintf('%.2e', column(10))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'FAD mel ↓'
plot 'metrics.dat' using 0:11:2:xtic(1) with boxes lc rgb variable, '' using 0:11:(sprintf('%.1f', column(11))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'speedup × vs fullseq_dit, same eval.steps ↑'
plot 'metrics.dat' using 0:13:2:xtic(1) with boxes lc rgb variable, '' using 0:13:(sprintf('%.3f', column(13))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'speedup × vs fullseq_dit at equal or better FAD mel ↑'
plot 'metrics.dat' using 0:14:2:xtic(1) with boxes lc rgb variable, '' using 0:14:(sprintf('%.3f', column(14))) with labels offset 0,0.6 font ',8'
unset multiplot
set output
