/* doctor.c — `vrobin doctor`: what this installation runs on, and whether it will be fast.
 * The loud check is the BLAS: Debian's libtorch calls whatever libblas.so.3 the alternatives
 * system points at, and the reference BLAS is ~30x slower than OpenBLAS on a modern CPU.
 */
#define _GNU_SOURCE
#include <fluidsynth.h>
#include <hdf5.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <mpi.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "core/cli.h"
#include "vrobin_git.h" /* generated: VROBIN_GIT_COMMIT */
#include "core/log.h"
#include "core/runtime.h"
#include "core/tt.h"

#define SOUNDFONT_DEFAULT "/usr/share/sounds/sf2/TimGM6mb.sf2"

static double mem_gib(void) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size / (1024.0 * 1024.0 * 1024.0) : 0;
}

int vr_cmd_doctor(int argc, char **argv) {
    if (vr_wants_help(argc, argv)) {
        printf("usage: vrobin doctor [--strict]\n\n"
               "Print versions of libtorch, the live BLAS, MPI, HDF5, FFmpeg, FluidSynth, and the device,\n"
               "and measure float32 matmul speed. Warns loudly when the BLAS is not OpenBLAS.\n"
               "--strict: exit 1 when a warning is printed (for CI and setup scripts).\n");
        return 0;
    }
    int strict = argc > 1 && !strcmp(argv[1], "--strict");
    int warnings = 0;
    char cpu[256];
    vr_cpu_model(cpu, sizeof cpu);

    printf("vrobin      %s (%s)\n", VROBIN_VERSION, VROBIN_GIT_COMMIT);
    printf("machine     %s, %ld cores, %.1f GiB\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), mem_gib());
    printf("libtorch    %s (fused attention: %s)\n", tt_version(), tt_has_fused_attention() ? "yes" : "no, by hand");
    printf("device      cpu%s\n", tt_cuda_available() ? ", cuda available" : " (no CUDA)");

    double gf = vr_matmul_gflops(1024, 5);
    vr_blas_info blas;
    vr_blas_query(&blas);
    printf("blas        %s\n", blas.library);
    if (blas.config[0]) printf("            %s, %d threads\n", blas.config, blas.threads);
    printf("threads     libtorch intra-op %d; OPENBLAS_NUM_THREADS=%s\n", tt_get_num_threads(),
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "(unset)");
    printf("matmul      1024x1024 f32: %.1f GFLOP/s\n", gf);
    if (!blas.is_openblas) {
        warnings++;
        printf("\n  WARNING: libtorch is NOT using OpenBLAS%s. Expect ~30x slower matmuls.\n"
               "  Fix: apt-get install libopenblas0-pthread && update-alternatives --set \\\n"
               "       libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3\n"
               "  (launch/setup.sh does both.)\n\n",
               blas.is_reference ? " but the reference BLAS" : "");
    }

    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpi, &len);
    mpi[strcspn(mpi, ",\n")] = '\0';
    printf("mpi         %s\n", mpi);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("hdf5        %u.%u.%u\n", maj, min, rel);
    printf("ffmpeg      %s (libavformat %d.%d, libavcodec %d.%d)\n", av_version_info(),
           LIBAVFORMAT_VERSION_MAJOR, LIBAVFORMAT_VERSION_MINOR, LIBAVCODEC_VERSION_MAJOR, LIBAVCODEC_VERSION_MINOR);
    const AVCodec *x264 = avcodec_find_encoder_by_name("libx264");
    if (!x264) {
        warnings++;
        printf("  WARNING: FFmpeg has no libx264 encoder (needed by `vrobin data synth`)\n");
    }
    printf("fluidsynth  %s; soundfont %s%s\n", fluid_version_str(), SOUNDFONT_DEFAULT,
           access(SOUNDFONT_DEFAULT, R_OK) == 0 ? "" : " (MISSING: apt-get install timgm6mb-soundfont)");
    if (access(SOUNDFONT_DEFAULT, R_OK) != 0) warnings++;
    printf("cjson       %s; libyaml %s\n", cJSON_Version(), yaml_get_version_string());
    printf("\n%s\n", warnings ? "doctor: warnings above" : "doctor: all good");
    return strict && warnings ? 1 : 0;
}
