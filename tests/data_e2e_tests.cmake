# The data path end to end: SynthV2M -> shards -> verify/inspect/h5py, its ground truth, and a
# corpus of bad media. Uses the vrobin binary as a user would.
add_executable(test_groundtruth ${CMAKE_CURRENT_SOURCE_DIR}/data/test_groundtruth.c)
target_link_libraries(test_groundtruth PRIVATE vrobin_lib)
add_test(NAME data_e2e
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/data/test_data_e2e.sh $<TARGET_FILE:vrobin> $<TARGET_FILE:test_groundtruth>
          ${CMAKE_CURRENT_SOURCE_DIR}/data/make_bad_media.sh ${CMAKE_CURRENT_BINARY_DIR}/data_e2e)
set_tests_properties(data_e2e PROPERTIES LABELS "data;python" TIMEOUT 1500)
