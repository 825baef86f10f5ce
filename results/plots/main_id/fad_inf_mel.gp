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
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'continuous: FAD∞ 359.7', 359.66930834775007 + 18427.002656175828 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit: FAD∞ 636.7', 636.65388353586377 + 10905.92376976607 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'no_rite: FAD∞ 242.2', 242.22697805782911 + 4153.9225452020455 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'retrieval: FAD∞ 91.95', 91.954743985289497 + 4950.5127511286055 * x with lines lw 2 lc rgb '#d62728' notitle, \
  'fad_inf_mel.dat' index 6 using 1:2 with points pt 7 ps 0.8 lc rgb '#9467bd' title 'text_only: FAD∞ 413', 413.02021142539127 + 6153.7306414838204 * x with lines lw 2 lc rgb '#9467bd' notitle, \
  'fad_inf_mel.dat' index 7 using 1:2 with points pt 7 ps 0.8 lc rgb '#8c564b' title 'video_only: FAD∞ 363.7', 363.70916215227857 + 9700.0589590616346 * x with lines lw 2 lc rgb '#8c564b' notitle, \
  'fad_inf_mel.dat' index 8 using 1:2 with points pt 7 ps 0.8 lc rgb '#e377c2' title 'vrobin: FAD∞ 283.3', 283.29731685731036 + 8756.2689510498876 * x with lines lw 2 lc rgb '#e377c2' notitle
set output
