# The vrobin binary: help on every command, usage errors, and doctor (which must find OpenBLAS:
# --strict fails on a machine where setup did not switch libblas.so.3 to OpenBLAS).
add_test(NAME cli_help COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.sh $<TARGET_FILE:vrobin>)
set_tests_properties(cli_help PROPERTIES LABELS torch)
add_test(NAME cli_doctor COMMAND $<TARGET_FILE:vrobin> doctor --strict)
set_tests_properties(cli_doctor PROPERTIES LABELS torch PASS_REGULAR_EXPRESSION "doctor: all good")
