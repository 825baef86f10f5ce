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
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'fullseq_dit_10steps: FAD∞ 892.4', 892.38425780311354 + 7683.9351000922898 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit_20steps: FAD∞ 935', 934.95561060461011 + 8648.61876620568 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'vrobin_10steps: FAD∞ 703.5', 703.47283256251717 + 728.25702825295355 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'vrobin_20steps: FAD∞ 836', 835.96909102384348 + 1421.6626611094275 * x with lines lw 2 lc rgb '#d62728' notitle
set output
