# made by vrobin table; run `gnuplot sweep_eval.steps_s_per_10s.gp` in this folder to redraw sweep_eval.steps_s_per_10s.png
if (!exists("outfile")) outfile = 'sweep_eval.steps_s_per_10s.png'
set encoding utf8
set terminal pngcairo size 900,600 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'latency: s / 10 s against eval.steps'
set xlabel 'eval.steps'
set ylabel 's / 10 s ↓'
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.05
set logscale x
plot 'sweep_eval.steps_s_per_10s.dat' index 0 using 1:2 with linespoints pt 7 lw 2 lc rgb '#1f77b4' title 'fullseq_dit', '' index 0 using 1:2:3 with labels offset 0,0.9 font ',8' notitle, \
  'sweep_eval.steps_s_per_10s.dat' index 1 using 1:2 with linespoints pt 7 lw 2 lc rgb '#ff7f0e' title 'vrobin', '' index 1 using 1:2:3 with labels offset 0,0.9 font ',8' notitle
set output
