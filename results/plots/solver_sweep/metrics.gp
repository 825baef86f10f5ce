# made by vrobin table; run `gnuplot metrics.gp` in this folder to redraw metrics.png
if (!exists("outfile")) outfile = 'metrics.png'
set encoding utf8
set terminal pngcairo size 1320,640 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set multiplot layout 2,4 title 'solver_sweep: metrics per system (↓/↑ = lower/higher is better)'
unset key
set style fill solid 0.85 border -1
set boxwidth 0.7
set grid noxtics ytics
set xtics rotate by 35 right
set xrange [-0.6:7.6]
set offsets 0,0,graph 0.12,0
set yrange [0:*]
set title 'FAD mel ↓'
plot 'metrics.dat' using 0:3:2:xtic(1) with boxes lc rgb variable, '' using 0:3:(sprintf('%.1f', column(3))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'FAD/clip mel ↓'
plot 'metrics.dat' using 0:5:2:xtic(1) with boxes lc rgb variable, '' using 0:5:(sprintf('%.1f', column(5))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'tempo Acc1 ↑'
plot 'metrics.dat' using 0:6:2:xtic(1) with boxes lc rgb variable, '' using 0:6:(sprintf('%.3f', column(6))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 'beat F1 ↑'
plot 'metrics.dat' using 0:7:2:xtic(1) with boxes lc rgb variable, '' using 0:7:(sprintf('%.3f', column(7))) with labels offset 0,0.6 font ',8'
set yrange [0:*]
set title 's / 10 s ↓'
plot 'metrics.dat' using 0:8:2:xtic(1) with boxes lc rgb variable, '' using 0:8:(sprintf('%.3f', column(8))) with labels offset 0,0.6 font ',8'
unset multiplot
set output
