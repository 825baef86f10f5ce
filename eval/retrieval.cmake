# retrieval: `vrobin retrieve` — the nearest training clip's music, the retrieval baseline (eval/retrieval.h).
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/retrieval.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with numpy/scipy (test oracle)")
  endif()
  # SynthV2M micro: one wav per test id at the clip's length, self-retrieval at distance 0, resume,
  # the JSON, `vrobin eval --audio` on the result, refused inputs
  add_test(NAME eval_retrieval
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/eval/test_retrieval.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/eval/retrieval ${VROBIN_PYTHON})
  set_tests_properties(eval_retrieval PROPERTIES LABELS "eval;python" TIMEOUT 600 COST 36)
endif()
