# made by vrobin table; run `gnuplot fad_inf_mel.gp` in this folder to redraw fad_inf_mel.png
if (!exists("outfile")) outfile = 'fad_inf_mel.png'
set encoding utf8
set terminal pngcairo size 1000,620 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'test-ood: FAD against 1/n and its fit FAD = a + b/n (FAD∞ = a), backbone mel'
set xlabel '1 / n   (n = embedding windows in the subsample)'
set ylabel 'FAD'
set key outside right top
set xrange [0:*]
set format x '%.1e'
plot 'fad_inf_mel.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#555555' title 'oracle: FAD∞ 161.2', 161.1603794391942 + 2791.8083001068776 * x with lines lw 2 lc rgb '#555555' notitle, \
  'fad_inf_mel.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#aaaaaa' title 'oracle_decoded: FAD∞ 167.8', 167.80657772440841 + 3132.3376079287118 * x with lines lw 2 lc rgb '#aaaaaa' notitle, \
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'continuous: FAD∞ 427.5', 427.48687220441019 + 7109.1582341848889 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit: FAD∞ 656.4', 656.38392489497767 + 6549.8248704418811 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'no_rite: FAD∞ 260', 260.02646274931084 + 2599.5823291056067 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'retrieval: FAD∞ 121.1', 121.10619285780896 + 1012.0395905977017 * x with lines lw 2 lc rgb '#d62728' notitle, \
  'fad_inf_mel.dat' index 6 using 1:2 with points pt 7 ps 0.8 lc rgb '#9467bd' title 'text_only: FAD∞ 495.4', 495.41676314093866 + -7511.694182464209 * x with lines lw 2 lc rgb '#9467bd' notitle, \
  'fad_inf_mel.dat' index 7 using 1:2 with points pt 7 ps 0.8 lc rgb '#8c564b' title 'video_only: FAD∞ 388.6', 388.58952948441686 + 3313.9005265752367 * x with lines lw 2 lc rgb '#8c564b' notitle, \
  'fad_inf_mel.dat' index 8 using 1:2 with points pt 7 ps 0.8 lc rgb '#e377c2' title 'vrobin: FAD∞ 389.1', 389.1327202404492 + -4407.5575375632079 * x with lines lw 2 lc rgb '#e377c2' notitle
set output
