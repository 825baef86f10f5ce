# train: `vrobin train` (AdamW, schedule, EMA, MPI data parallelism, checkpoints, bit-exact resume),
# `vrobin plot`, the model registry and the trainer's test model. Included from the top-level
# CMakeLists.txt after vrobin_lib is defined.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/train/optim.c
  ${CMAKE_SOURCE_DIR}/train/dist.c
  ${CMAKE_SOURCE_DIR}/train/ckpt.c
  ${CMAKE_SOURCE_DIR}/train/trainer.c
  ${CMAKE_SOURCE_DIR}/train/plot.c
  ${CMAKE_SOURCE_DIR}/train/validate.c
  ${CMAKE_SOURCE_DIR}/train/models_registry.c
  ${CMAKE_SOURCE_DIR}/train/mlp_test.c)
# AdamW's host loop takes sqrtf: without errno it vectorises (the update is one pass, memory-bound)
set_source_files_properties(${CMAKE_SOURCE_DIR}/train/optim.c PROPERTIES COMPILE_OPTIONS -fno-math-errno)

# trainer throughput at 1 and 2 ranks (bench/run_train_bench.sh -> results/bench/train.md)
add_executable(bench_train ${CMAKE_SOURCE_DIR}/bench/bench_train.c)
target_link_libraries(bench_train PRIVATE vrobin_lib)

if(VROBIN_TESTS)
  set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")
  set(VR_TRAIN_TMP ${CMAKE_BINARY_DIR}/tests/train)

  # optimiser, schedule, clipping, EMA, gradient gathering: unit checks in C
  add_executable(test_optim ${CMAKE_SOURCE_DIR}/tests/train/test_optim.c)
  target_link_libraries(test_optim PRIVATE vrobin_lib)
  add_test(NAME train_optim COMMAND test_optim)
  set_tests_properties(train_optim PROPERTIES LABELS train)

  # the same updates replayed by torch.optim.AdamW + clip_grad_norm_; fails if torch is missing
  add_test(NAME train_optim_torch
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/python/train_reference.py
            $<TARGET_FILE:test_optim> ${VR_TRAIN_TMP}/optim_torch)
  set_tests_properties(train_optim_torch PROPERTIES LABELS "train;python")

  # whole runs: the driver runs itself as the trainer (`test_train exec train ...`), under mpirun
  # for the multi-rank cases
  add_executable(test_train ${CMAKE_SOURCE_DIR}/tests/train/test_train.c)
  target_link_libraries(test_train PRIVATE vrobin_lib)
  foreach(case ranks resume guard stages)
    add_test(NAME train_${case}
      COMMAND test_train ${case} ${VR_TRAIN_TMP}/${case} ${MPIEXEC_EXECUTABLE} ${CMAKE_SOURCE_DIR}/configs)
    set_tests_properties(train_${case} PROPERTIES LABELS train TIMEOUT 900)
  endforeach()
endif()

if(VROBIN_TESTS)
  # the real model on SynthV2M tiny: 1 vs 2 ranks, stage 1 -> 2, plot, falling loss
  add_test(NAME train_e2e
    COMMAND ${CMAKE_SOURCE_DIR}/tests/train/test_train_e2e.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/train/e2e)
  set_tests_properties(train_e2e PROPERTIES LABELS "train;python" TIMEOUT 1500 COST 70)
endif()
