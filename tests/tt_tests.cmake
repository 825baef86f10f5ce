# libtorch wrapper: unit tests and the PyTorch parity test of a transformer block.
add_executable(test_tt ${CMAKE_CURRENT_SOURCE_DIR}/tt/test_tt.c)
target_link_libraries(test_tt PRIVATE vrobin_lib)
add_test(NAME tt_unit COMMAND test_tt)
set_tests_properties(tt_unit PROPERTIES LABELS torch)

add_executable(test_parity_block ${CMAKE_CURRENT_SOURCE_DIR}/tt/test_parity_block.c)
target_link_libraries(test_parity_block PRIVATE vrobin_lib)
# Fails (does not skip) when python3-torch is missing: the import error is a test failure.
add_test(NAME tt_parity_block
  COMMAND ${VROBIN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/parity_block.py
          $<TARGET_FILE:test_parity_block> ${CMAKE_CURRENT_BINARY_DIR}/parity)
set_tests_properties(tt_parity_block PROPERTIES LABELS "torch;python")
