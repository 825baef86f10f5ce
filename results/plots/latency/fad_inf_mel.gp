# made by vrobin table; run `gnuplot fad_inf_mel.gp` in this folder to redraw fad_inf_mel.png
if (!exists("outfile")) outfile = 'fad_inf_mel.png'
set encoding utf8
set terminal pngcairo size 1000,620 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'latency: FAD against 1/n and its fit FAD = a + b/n (FAD∞ = a), backbone mel'
set xlabel '1 / n   (n = embedding windows in the subsample)'
set ylabel 'FAD'
set key outside right top
set xrange [0:*]
set format x '%.1e'
plot 'fad_inf_mel.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#555555' title 'oracle: FAD∞ 188.3', 188.34767596894611 + 90.505388862117741 * x with lines lw 2 lc rgb '#555555' notitle, \
  'fad_inf_mel.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#aaaaaa' title 'oracle_decoded: FAD∞ 167.8', 167.80298073633605 + 1131.3971018471968 * x with lines lw 2 lc rgb '#aaaaaa' notitle, \
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'fullseq_dit_10steps: FAD∞ 587.9', 587.89169134544466 + 7092.931181302929 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit_20steps: FAD∞ 634.9', 634.89813120552469 + 7495.2255017721473 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'fullseq_dit_2steps: FAD∞ 483.9', 483.85982874440293 + 6654.1783547511204 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'fullseq_dit_5steps: FAD∞ 534.5', 534.4918738656736 + 6460.5667262126244 * x with lines lw 2 lc rgb '#d62728' notitle, \
  'fad_inf_mel.dat' index 6 using 1:2 with points pt 7 ps 0.8 lc rgb '#9467bd' title 'vrobin_10steps: FAD∞ 225.7', 225.67902363206605 + 3119.7994972230299 * x with lines lw 2 lc rgb '#9467bd' notitle, \
  'fad_inf_mel.dat' index 7 using 1:2 with points pt 7 ps 0.8 lc rgb '#8c564b' title 'vrobin_20steps: FAD∞ 243.4', 243.37181277853975 + 3414.1662666843781 * x with lines lw 2 lc rgb '#8c564b' notitle, \
  'fad_inf_mel.dat' index 8 using 1:2 with points pt 7 ps 0.8 lc rgb '#e377c2' title 'vrobin_2steps: FAD∞ 159.5', 159.51399758179244 + 2617.8338475660162 * x with lines lw 2 lc rgb '#e377c2' notitle, \
  'fad_inf_mel.dat' index 9 using 1:2 with points pt 7 ps 0.8 lc rgb '#17becf' title 'vrobin_5steps: FAD∞ 193.3', 193.33374295137466 + 2869.6640470603779 * x with lines lw 2 lc rgb '#17becf' notitle
set output
