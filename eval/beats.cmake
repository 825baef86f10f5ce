# beats: rhythm and attribute metrics (eval/beats.c: BCS/BHS in the LORIS and D2M-GAN definitions,
# beat F-measure, tempo Acc1/Acc2, key/mode) and `vrobin rhythm-check`, with their tests.
# Included from the top-level CMakeLists.txt (eval/*.cmake).
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/beats.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with numpy/scipy (test oracle)")
  endif()
  add_executable(test_beats ${CMAKE_SOURCE_DIR}/tests/eval/test_beats.c)
  target_link_libraries(test_beats PRIVATE vrobin_lib)
  # hand-made cases with known answers (pure C, < 1 s)
  add_test(NAME eval_beats COMMAND test_beats)
  set_tests_properties(eval_beats PROPERTIES LABELS eval)
  # the same functions on random cases against numpy/scipy (the papers' code logic, mir_eval's matching)
  add_test(NAME eval_beats_oracle
    COMMAND test_beats ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/eval/beats_reference.py
            ${CMAKE_BINARY_DIR}/tests/eval/beats_oracle)
  set_tests_properties(eval_beats_oracle PROPERTIES LABELS "eval;python")
  # `vrobin rhythm-check` on SynthV2M micro ground truth, and its refusals (~15 s)
  add_test(NAME eval_rhythm_check
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/eval/test_rhythm_synth.sh $<TARGET_FILE:vrobin>
            ${CMAKE_BINARY_DIR}/tests/eval/rhythm_check)
  set_tests_properties(eval_rhythm_check PROPERTIES LABELS eval TIMEOUT 600)
endif()
