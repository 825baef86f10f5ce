add_executable(test_base ${CMAKE_CURRENT_SOURCE_DIR}/base/test_base.c)
target_link_libraries(test_base PRIVATE vrobin_base)
add_test(NAME base_core COMMAND test_base)
set_tests_properties(base_core PROPERTIES LABELS base)
