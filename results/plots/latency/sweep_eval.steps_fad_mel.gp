# made by vrobin table; run `gnuplot sweep_eval.steps_fad_mel.gp` in this folder to redraw sweep_eval.steps_fad_mel.png
if (!exists("outfile")) outfile = 'sweep_eval.steps_fad_mel.png'
set encoding utf8
set terminal pngcairo size 900,600 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'latency: FAD mel against eval.steps'
set xlabel 'eval.steps'
set ylabel 'FAD mel ↓'
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.05
set logscale x
plot 'sweep_eval.steps_fad_mel.dat' index 0 using 1:2 with linespoints pt 7 lw 2 lc rgb '#1f77b4' title 'fullseq_dit', '' index 0 using 1:2:3 with labels offset 0,0.9 font ',8' notitle, \
  'sweep_eval.steps_fad_mel.dat' index 1 using 1:2 with linespoints pt 7 lw 2 lc rgb '#ff7f0e' title 'vrobin', '' index 1 using 1:2:3 with labels offset 0,0.9 font ',8' notitle, 168.43807818815753 with lines dt 2 lw 2 lc rgb '#555555' title 'oracle', 156.25540671170882 with lines dt 2 lw 2 lc rgb '#aaaaaa' title 'oracle_decoded'
set output
