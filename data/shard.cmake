# shard: JSONL manifests, the HDF5 shard format (data/SCHEMA.md) and the training loader.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/data/manifest.c
  ${CMAKE_SOURCE_DIR}/data/swap_prompts.c
  ${CMAKE_SOURCE_DIR}/data/shard.c
  ${CMAKE_SOURCE_DIR}/data/loader.c)

if(VROBIN_TESTS)
  set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")

  add_executable(test_manifest ${CMAKE_SOURCE_DIR}/tests/data/test_manifest.c)
  target_link_libraries(test_manifest PRIVATE vrobin_lib)
  add_test(NAME data_manifest COMMAND test_manifest ${CMAKE_SOURCE_DIR}/tests/data/bad_manifests)
  set_tests_properties(data_manifest PROPERTIES LABELS data)

  add_executable(test_shard ${CMAKE_SOURCE_DIR}/tests/data/test_shard.c)
  target_link_libraries(test_shard PRIVATE vrobin_lib)
  add_test(NAME data_shard COMMAND test_shard)
  set_tests_properties(data_shard PROPERTIES LABELS data)

  # h5py reads what the C writer wrote; fails (does not skip) when h5py or numpy is missing
  add_test(NAME data_shard_h5py
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/python/read_shard.py
            $<TARGET_FILE:test_shard> ${CMAKE_BINARY_DIR}/tests/data_shard_h5py)
  set_tests_properties(data_shard_h5py PROPERTIES LABELS "data;python")

  add_executable(test_loader ${CMAKE_SOURCE_DIR}/tests/data/test_loader.c)
  target_link_libraries(test_loader PRIVATE vrobin_lib)
  add_test(NAME data_loader COMMAND test_loader)
  set_tests_properties(data_loader PROPERTIES LABELS data)
endif()
