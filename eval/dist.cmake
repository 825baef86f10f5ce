# eval/dist: distribution metrics in float64 C (eval/dist.h): embedding statistics, FAD, FAD∞,
# per-clip FAD, precision/recall/density/coverage, KL and IS. Linear algebra from LAPACK/BLAS
# (Debian's liblapack.so.3/libblas.so.3 alternatives, OpenBLAS here).
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/dist.c)
find_library(VR_LAPACK_LIBRARY NAMES lapack liblapack.so.3 REQUIRED)
find_library(VR_BLAS_LIBRARY NAMES blas libblas.so.3 REQUIRED)
target_link_libraries(vrobin_lib PUBLIC ${VR_LAPACK_LIBRARY} ${VR_BLAS_LIBRARY})

if(VROBIN_TESTS)
  # same cache entry as tests/CMakeLists.txt, which may be read after this fragment
  set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")
  # every metric against the numpy/scipy oracle (tests/eval/dist_reference.py: scipy.linalg.sqrtm
  # FAD, np.polyfit, prdc formulas), plus the refused inputs; a missing module fails the test
  add_executable(test_dist ${CMAKE_SOURCE_DIR}/tests/eval/test_dist.c)
  target_link_libraries(test_dist PRIVATE vrobin_lib)
  add_test(NAME eval_dist
    COMMAND test_dist ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/eval/dist_reference.py
            ${CMAKE_BINARY_DIR}/tests/eval/dist)
  set_tests_properties(eval_dist PROPERTIES LABELS "eval;python" TIMEOUT 600)
endif()
