# made by vrobin table; run `gnuplot fad_inf_mel.gp` in this folder to redraw fad_inf_mel.png
if (!exists("outfile")) outfile = 'fad_inf_mel.png'
set encoding utf8
set terminal pngcairo size 1000,620 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'test-id: FAD against 1/n and its fit FAD = a + b/n (FAD∞ = a), backbone mel'
set xlabel '1 / n   (n = embedding windows in the subsample)'
set ylabel 'FAD'
set key outside right top
set xrange [0:*]
set format x '%.1e'
plot 'fad_inf_mel.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#555555' title 'oracle: FAD∞ 86.78', 86.776661515023804 + 1247.0453224464034 * x with lines lw 2 lc rgb '#555555' notitle, \
  'fad_inf_mel.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#aaaaaa' title 'oracle_decoded: FAD∞ 82.63', 82.628735944645229 + 1825.5515394302697 * x with lines lw 2 lc rgb '#aaaaaa' notitle, \
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'continuous: FAD∞ 914.2', 914.24562035349982 + 8807.3980019999253 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit: FAD∞ 830', 829.98643779693873 + 10487.451502891709 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'no_rite: FAD∞ 475.2', 475.1931788809369 + 13035.900312948423 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'retrieval: FAD∞ 84.31', 84.307456746666105 + 6032.4203571496655 * x with lines lw 2 lc rgb '#d62728' notitle, \
  'fad_inf_mel.dat' index 6 using 1:2 with points pt 7 ps 0.8 lc rgb '#9467bd' title 'text_only: FAD∞ 530.8', 530.8257827886398 + 6150.9656547581853 * x with lines lw 2 lc rgb '#9467bd' notitle, \
  'fad_inf_mel.dat' index 7 using 1:2 with points pt 7 ps 0.8 lc rgb '#8c564b' title 'video_only: FAD∞ 307.6', 307.60814967682904 + 1472.6701153904048 * x with lines lw 2 lc rgb '#8c564b' notitle, \
  'fad_inf_mel.dat' index 8 using 1:2 with points pt 7 ps 0.8 lc rgb '#e377c2' title 'vrobin: FAD∞ 824.6', 824.64418078006474 + -6797.1794095238038 * x with lines lw 2 lc rgb '#e377c2' notitle
set output
