# made by vrobin table; run `gnuplot fad_inf_mel.gp` in this folder to redraw fad_inf_mel.png
if (!exists("outfile")) outfile = 'fad_inf_mel.png'
set encoding utf8
set terminal pngcairo size 1000,620 noenhanced font 'DejaVu Sans,10'
set output outfile
set grid
set title 'latency_fad: FAD against 1/n and its fit FAD = a + b/n (FAD∞ = a), backbone mel'
set xlabel '1 / n   (n = embedding windows in the subsample)'
set ylabel 'FAD'
set key outside right top
set xrange [0:*]
set format x '%.1e'
plot 'fad_inf_mel.dat' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#555555' title 'oracle: FAD∞ 86.78', 86.776661515023804 + 1247.0453224464034 * x with lines lw 2 lc rgb '#555555' notitle, \
  'fad_inf_mel.dat' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb '#aaaaaa' title 'oracle_decoded: FAD∞ 82.63', 82.628735944645229 + 1825.5515394302697 * x with lines lw 2 lc rgb '#aaaaaa' notitle, \
  'fad_inf_mel.dat' index 2 using 1:2 with points pt 7 ps 0.8 lc rgb '#1f77b4' title 'ar_frames: FAD∞ 367.8', 367.79991015751853 + 1135.8811255894318 * x with lines lw 2 lc rgb '#1f77b4' notitle, \
  'fad_inf_mel.dat' index 3 using 1:2 with points pt 7 ps 0.8 lc rgb '#ff7f0e' title 'fullseq_dit_10steps: FAD∞ 583.7', 583.71038713835173 + 10568.427612519206 * x with lines lw 2 lc rgb '#ff7f0e' notitle, \
  'fad_inf_mel.dat' index 4 using 1:2 with points pt 7 ps 0.8 lc rgb '#2ca02c' title 'fullseq_dit_20steps: FAD∞ 636.7', 636.65285694521936 + 10905.789978690891 * x with lines lw 2 lc rgb '#2ca02c' notitle, \
  'fad_inf_mel.dat' index 5 using 1:2 with points pt 7 ps 0.8 lc rgb '#d62728' title 'fullseq_dit_2steps: FAD∞ 460.7', 460.74080596997169 + 8476.8068298277831 * x with lines lw 2 lc rgb '#d62728' notitle, \
  'fad_inf_mel.dat' index 6 using 1:2 with points pt 7 ps 0.8 lc rgb '#9467bd' title 'fullseq_dit_5steps: FAD∞ 530', 530.00952513655909 + 10076.234901550086 * x with lines lw 2 lc rgb '#9467bd' notitle, \
  'fad_inf_mel.dat' index 7 using 1:2 with points pt 7 ps 0.8 lc rgb '#8c564b' title 'vrobin_10steps: FAD∞ 314.7', 314.74682373556806 + 1781.2546429422098 * x with lines lw 2 lc rgb '#8c564b' notitle, \
  'fad_inf_mel.dat' index 8 using 1:2 with points pt 7 ps 0.8 lc rgb '#e377c2' title 'vrobin_20steps: FAD∞ 339.4', 339.40875815924204 + 1468.2072078960186 * x with lines lw 2 lc rgb '#e377c2' notitle, \
  'fad_inf_mel.dat' index 9 using 1:2 with points pt 7 ps 0.8 lc rgb '#17becf' title 'vrobin_2steps: FAD∞ 246.2', 246.17144909648053 + 3649.7025671749034 * x with lines lw 2 lc rgb '#17becf' notitle, \
  'fad_inf_mel.dat' index 10 using 1:2 with points pt 7 ps 0.8 lc rgb '#bcbd22' title 'vrobin_5steps: FAD∞ 274.9', 274.92714122416794 + 3273.8038051256326 * x with lines lw 2 lc rgb '#bcbd22' notitle
set output
