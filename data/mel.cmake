# mel: the log-mel front end with its Griffin-Lim inverse (data/mel.c) and rhythm analysis
# (data/rhythm.c: onsets, tempo, beats), and their tests.
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/data/mel.c ${CMAKE_SOURCE_DIR}/data/rhythm.c)

if(VROBIN_TESTS)
  # same cache entry as tests/CMakeLists.txt, which is read after this fragment
  set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")

  add_executable(test_mel ${CMAKE_SOURCE_DIR}/tests/data/test_mel.c)
  target_link_libraries(test_mel PRIVATE vrobin_lib)
  # The numpy oracle writes the reference into the work dir; a missing module fails the test.
  add_test(NAME data_mel
    COMMAND test_mel ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/python/mel_reference.py
            ${CMAKE_BINARY_DIR}/tests/data/mel_ref)
  set_tests_properties(data_mel PROPERTIES LABELS "data;python")

  add_executable(test_rhythm ${CMAKE_SOURCE_DIR}/tests/data/test_rhythm.c)
  target_link_libraries(test_rhythm PRIVATE vrobin_lib)
  add_test(NAME data_rhythm COMMAND test_rhythm)
  set_tests_properties(data_rhythm PROPERTIES LABELS data)
endif()
