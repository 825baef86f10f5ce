# table: the output side of the evaluation suite (eval/table.h) — `vrobin table` (Markdown/CSV/JSON
# tables, gnuplot PNGs) and `vrobin report` (HTML listening report), with their end-to-end test.
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/table.c ${CMAKE_SOURCE_DIR}/eval/report.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")
  endif()
  # fixture results over ffmpeg-made media -> table (Markdown/CSV/JSON, refusals), plots (valid PNGs),
  # report (files, media elements) and the report loaded in headless Chromium (DOM + screenshot)
  add_test(NAME eval_table
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/eval/test_table.sh $<TARGET_FILE:vrobin> ${VROBIN_PYTHON}
            ${CMAKE_BINARY_DIR}/tests/eval/table)
  set_tests_properties(eval_table PROPERTIES LABELS "eval;python" TIMEOUT 600 COST 36)
endif()
