# infer: `vrobin export` (a run's EMA weights as one self-describing safetensors file) and
# `vrobin generate` (music for a video: .wav/.flac, or muxed into a copy of the video), plus the
# muxer they use (data/mux.c). Included from the top-level CMakeLists.txt after vrobin_lib.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/infer/export.c
  ${CMAKE_SOURCE_DIR}/infer/generate.c
  ${CMAKE_SOURCE_DIR}/data/mux.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with numpy/h5py (test oracle)")
  endif()
  # continuation (robin_generate with a history, the sliding windows), per-clip generators, the
  # KV-cache-free path, on a tiny random model; ~2 s
  add_executable(test_generate ${CMAKE_SOURCE_DIR}/tests/infer/test_generate.c)
  target_link_libraries(test_generate PRIVATE vrobin_lib)
  add_test(NAME infer_generate COMMAND test_generate ${CMAKE_SOURCE_DIR}/configs)
  set_tests_properties(infer_generate PROPERTIES LABELS "infer")
  # synth tiny -> train 8+8 steps -> export (checked in Python) -> generate (checked with ffprobe),
  # determinism by seed, a 60-s video over 12 windows, batch mode (batch 1 vs 4, resume,
  # timings.json, bad clips), and the refused inputs; ~40 s on 2 cores
  add_test(NAME infer_export_generate
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/infer/test_infer.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/infer/e2e ${VROBIN_PYTHON})
  set_tests_properties(infer_export_generate PROPERTIES LABELS "infer;python" TIMEOUT 1200 COST 70)
endif()
