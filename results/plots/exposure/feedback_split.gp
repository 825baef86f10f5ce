# gnuplot results/plots/exposure/feedback_split.gp (from the repository root): the bars of results/reproduce_small.md
set terminal pngcairo size 1500,540 font ",11"
set output "results/plots/exposure/feedback_split.png"
set datafile separator ","
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set xrange [-0.6:7.6]
set ylabel "FD of sampled latent frames to the real ones (24 val clips)"
set title "vrobin validate --feedback-split: what each patch is given of the previous one"
set yrange [0:*]
set grid ytics
# real against real: the even vs the odd val clips' frames (the floor a model can reach with 24 clips)
set arrow from graph 0, first 15.1 to graph 1, first 15.1 nohead dashtype 2 lw 1.5 lc rgb "#444444"
plot "results/plots/exposure/feedback_split.csv" every ::1 using 4:xtic(1) title "free", \
     "" every ::1 using 5 title "teacher-forced", "" every ::1 using 6 title "real to planner only", \
     "" every ::1 using 7 title "real to LocDiT context only", "" every ::1 using 8 title "free, no LocDiT context", \
     NaN with lines dashtype 2 lw 1.5 lc rgb "#444444" title "real vs real clips (15.1)"
