# The YAML config system (core/config.c, core/schema.c): included from tests/CMakeLists.txt.
add_executable(test_config ${CMAKE_CURRENT_SOURCE_DIR}/test_config.c)
target_link_libraries(test_config PRIVATE vrobin_base)
add_test(NAME config COMMAND test_config ${CMAKE_CURRENT_SOURCE_DIR}/configs ${CMAKE_SOURCE_DIR}/configs/README.md)
set_tests_properties(config PROPERTIES LABELS base)

# The `vrobin config` command on the committed files (needs the full, libtorch-linked binary).
if(TARGET vrobin)
  add_test(NAME config_cli COMMAND sh -c [[
    set -e
    "$1" config check "$2/configs/default.yaml" | grep -qx ok
    "$1" config doc | cmp -s - "$2/configs/README.md"
    "$1" config show "$2/configs/default.yaml" train.lr=1e-3 | grep -q '"lr": 0.001'
    rc=0; out=$("$1" config check "$2/tests/configs/bad/unknown_key.yaml" 2>&1) || rc=$?
    [ $rc = 1 ]
    echo "$out" | grep -q "^vrobin config: .*did you mean 'train.lr'"
    rc=0; "$1" config show >/dev/null 2>&1 || rc=$?
    [ $rc = 2 ]
  ]] sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR})
  set_tests_properties(config_cli PROPERTIES LABELS torch)
endif()
