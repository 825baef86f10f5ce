# eval: `vrobin eval` — every metric for one system on one benchmark (eval/eval.h).
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/eval.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with numpy/scipy (test oracle)")
  endif()
  # synth tiny -> train 6+6 steps -> export -> eval --model / --audio, resume, refused inputs
  add_test(NAME eval_e2e
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/eval/test_eval.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/eval/e2e ${VROBIN_PYTHON})
  set_tests_properties(eval_e2e PROPERTIES LABELS "eval;python" TIMEOUT 1200 COST 45)
endif()
