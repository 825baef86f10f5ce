# safetensors reader/writer (core/safetensors.c): unit tests, hostile files, Python interop, fuzz replay.

# unit tests + the hostile-file corpus (each file must be rejected with its expected message)
add_executable(test_safetensors ${CMAKE_CURRENT_SOURCE_DIR}/test_safetensors.c)
target_link_libraries(test_safetensors PRIVATE vrobin_base)
add_test(NAME test_safetensors
         COMMAND test_safetensors --bad-dir ${CMAKE_CURRENT_SOURCE_DIR}/safetensors_bad)
set_tests_properties(test_safetensors PROPERTIES LABELS base)

# the libFuzzer target replayed over the seed and hostile corpora with the normal compiler, so
# every ctest run (the sanitizer build included) re-checks past fuzz findings; run_fuzz.sh fuzzes
add_executable(fuzz_safetensors_replay
  ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_safetensors.c ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/replay.c)
target_link_libraries(fuzz_safetensors_replay PRIVATE vrobin_base)
add_test(NAME fuzz_safetensors_corpus
         COMMAND fuzz_safetensors_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/safetensors
                 ${CMAKE_CURRENT_SOURCE_DIR}/safetensors_bad)
set_tests_properties(fuzz_safetensors_corpus PROPERTIES LABELS base)

# interop with Python's reading/writing (numpy + json; bf16 via torch). A missing interpreter or
# module fails the test (ctest cannot run it / ImportError), it never skips.
add_test(NAME st_py_to_c
         COMMAND ${VROBIN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/st_roundtrip.py py-to-c
                 $<TARGET_FILE:test_safetensors> ${CMAKE_CURRENT_BINARY_DIR}/st_interop)
add_test(NAME st_c_to_py
         COMMAND ${VROBIN_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/python/st_roundtrip.py c-to-py
                 $<TARGET_FILE:test_safetensors> ${CMAKE_CURRENT_BINARY_DIR}/st_interop)
set_tests_properties(st_py_to_c st_c_to_py PROPERTIES LABELS python)
