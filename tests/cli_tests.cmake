# The vrobin binary: help on every command, usage errors, and doctor (which must find OpenBLAS:
# --strict fails on a machine where setup did not switch libblas.so.3 to OpenBLAS).
add_test(NAME cli_help COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh $<TARGET_FILE:vrobin>)
set_tests_properties(cli_help PROPERTIES LABELS torch)
add_test(NAME cli_doctor COMMAND $<TARGET_FILE:vrobin> doctor --strict)
set_tests_properties(cli_doctor PROPERTIES LABELS torch PASS_REGULAR_EXPRESSION "doctor: all good")

# launch/reproduce.sh tiny: every table, plot and the report from one command, then a resumed run.
# Label `reproduce`: the ASan pass of launch/test.sh leaves it out (it only orchestrates the
# binaries whose own tests run there, and takes minutes).
add_test(NAME reproduce_tiny
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_reproduce.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
          ${CMAKE_BINARY_DIR}/tests/reproduce ${VROBIN_PYTHON})
# COST: the longest tests start first under ctest -j (no timing data on a fresh clone), so none runs alone at the end
set_tests_properties(reproduce_tiny PROPERTIES LABELS "reproduce;torch" TIMEOUT 1200 COST 170)
