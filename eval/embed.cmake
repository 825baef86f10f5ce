# embed: the embedding backbones of the evaluation metrics (eval/embed.c): the weight-free "mel"
# statistics and any TorchScript model; the test checks both against Python.
target_sources(vrobin_lib PRIVATE ${CMAKE_SOURCE_DIR}/eval/embed.c)

if(VROBIN_TESTS)
  if(NOT VROBIN_PYTHON)
    set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")
  endif()
  add_executable(test_embed ${CMAKE_SOURCE_DIR}/tests/eval/test_embed.c)
  target_link_libraries(test_embed PRIVATE vrobin_lib)
  # Python scripts a VGGish-like model with random weights and computes the references; C must
  # reproduce them. A missing module fails the test.
  add_test(NAME eval_embed
    COMMAND test_embed ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/eval/embed_reference.py
            ${CMAKE_BINARY_DIR}/tests/eval/embed)
  set_tests_properties(eval_embed PROPERTIES LABELS "eval;python" TIMEOUT 600)
endif()
