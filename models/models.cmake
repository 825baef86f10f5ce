# models: the Video-Robin model (models/robin.h: encoders, planner, FSQ, RITE, LocDiT) and its tests.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/models/encoders.c ${CMAKE_SOURCE_DIR}/models/planner.c ${CMAKE_SOURCE_DIR}/models/fsq.c
  ${CMAKE_SOURCE_DIR}/models/rite.c ${CMAKE_SOURCE_DIR}/models/locdit.c ${CMAKE_SOURCE_DIR}/models/robin.c
  ${CMAKE_SOURCE_DIR}/models/tagger.c ${CMAKE_SOURCE_DIR}/models/contrast.c ${CMAKE_SOURCE_DIR}/models/fullseq.c
  ${CMAKE_SOURCE_DIR}/models/arframe.c
  ${CMAKE_SOURCE_DIR}/models/locdit_fast.c ${CMAKE_SOURCE_DIR}/models/blocks_fast.c)

if(VROBIN_TESTS)
  # same cache entry as tests/CMakeLists.txt, which may be read after this fragment
  set(VROBIN_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with python3-torch/numpy/scipy/h5py (test oracle)")

  # configs, errors, KV-cache equivalence, deterministic generation, gradient flow, tiny overfit
  add_executable(test_robin ${CMAKE_SOURCE_DIR}/tests/models/test_robin.c)
  target_link_libraries(test_robin PRIVATE vrobin_lib)
  add_test(NAME models_robin COMMAND test_robin ${CMAKE_SOURCE_DIR}/configs)
  set_tests_properties(models_robin PROPERTIES LABELS torch)

  # the libtorch-free LocDiT sampler (models/locdit_fast.h) against dit_fwd / dit_sample on random
  # weights, several shapes, one and two threads; robin_generate with the C kernel vs libtorch
  # LocDiT; errors; ~1 s (~45 s under ASan)
  add_executable(test_locdit_fast ${CMAKE_SOURCE_DIR}/tests/models/test_locdit_fast.c)
  target_link_libraries(test_locdit_fast PRIVATE vrobin_lib)
  add_test(NAME models_locdit_fast COMMAND test_locdit_fast ${CMAKE_SOURCE_DIR}/configs)
  set_tests_properties(models_locdit_fast PROPERTIES LABELS torch)

  # the libtorch-free block steps of the planner and RITE (models/blocks_fast.h) against
  # nn_block_step: prefilled prefix with padding, causal steps, refusals
  add_executable(test_blocks_fast ${CMAKE_SOURCE_DIR}/tests/models/test_blocks_fast.c)
  target_link_libraries(test_blocks_fast PRIVATE vrobin_lib)
  add_test(NAME models_blocks_fast COMMAND test_blocks_fast)
  set_tests_properties(models_blocks_fast PROPERTIES LABELS torch)

  # parity with the plain-torch reference (tests/python/models_reference.py); a missing module
  # fails the test
  add_executable(test_models_parity ${CMAKE_SOURCE_DIR}/tests/models/test_models_parity.c)
  target_link_libraries(test_models_parity PRIVATE vrobin_lib)
  add_test(NAME models_parity
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/models/parity_models.py
            $<TARGET_FILE:test_models_parity> ${CMAKE_BINARY_DIR}/tests/models/parity)
  set_tests_properties(models_parity PROPERTIES LABELS "torch;python")

  # the full-sequence DiT baseline (models/fullseq.h): config errors, per-clip draws (a clip's
  # loss does not depend on its batch), sampling determinism and history; then parity of the loss,
  # every gradient, the velocity and the CFG sampler with a plain-torch reference
  # (tests/models/parity_fullseq.py); then SynthV2M tiny -> train a few steps -> export -> generate
  add_executable(test_fullseq ${CMAKE_SOURCE_DIR}/tests/models/test_fullseq.c)
  target_link_libraries(test_fullseq PRIVATE vrobin_lib)
  add_test(NAME models_fullseq COMMAND test_fullseq)
  set_tests_properties(models_fullseq PROPERTIES LABELS torch)
  add_test(NAME models_fullseq_parity
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/models/parity_fullseq.py
            $<TARGET_FILE:test_fullseq> ${CMAKE_BINARY_DIR}/tests/models/parity_fullseq)
  set_tests_properties(models_fullseq_parity PROPERTIES LABELS "torch;python")
  add_test(NAME models_fullseq_e2e
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/models/test_fullseq_e2e.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/models/fullseq_e2e ${VROBIN_PYTHON})
  set_tests_properties(models_fullseq_e2e PROPERTIES LABELS "train;python" TIMEOUT 600 COST 30)

  # the autoregressive frame-level baseline (models/arframe.h): config and batch errors, per-clip
  # condition dropout, gradients, fitting one batch, sampling determinism, CFG, temperature and
  # history; then parity of the loss, every gradient, the logits and the sampler (with the same
  # uniforms) with a plain-torch reference (tests/models/parity_arframe.py); then SynthV2M tiny ->
  # stage 1 + 2 -> export -> generate (tests/models/test_arframe_e2e.sh)
  add_executable(test_arframe ${CMAKE_SOURCE_DIR}/tests/models/test_arframe.c)
  target_link_libraries(test_arframe PRIVATE vrobin_lib)
  add_test(NAME models_arframe COMMAND test_arframe)
  set_tests_properties(models_arframe PROPERTIES LABELS torch)
  add_test(NAME models_arframe_parity
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/models/parity_arframe.py
            $<TARGET_FILE:test_arframe> ${CMAKE_BINARY_DIR}/tests/models/parity_arframe)
  set_tests_properties(models_arframe_parity PROPERTIES LABELS "torch;python")
  add_test(NAME models_arframe_e2e
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/models/test_arframe_e2e.sh $<TARGET_FILE:vrobin> ${CMAKE_SOURCE_DIR}
            ${CMAKE_BINARY_DIR}/tests/models/arframe_e2e)
  set_tests_properties(models_arframe_e2e PROPERTIES LABELS "train;python" TIMEOUT 600 COST 35)

  # sizes and step time of configs/model/*.yaml (a measurement, not a test):
  #   OPENBLAS_NUM_THREADS=2 build/bench_robin configs [steps] [--gen]
  add_executable(bench_robin ${CMAKE_SOURCE_DIR}/tests/models/bench_robin.c)
  target_link_libraries(bench_robin PRIVATE vrobin_lib)

  # the eval models (tagger, contrast): labels, shapes, InfoNCE and retrieval against hand-computed
  # numbers, errors; then parity of both losses (forward + every gradient) and of the eval API with
  # a plain-torch reference (tests/models/parity_eval_models.py; a missing module fails the test)
  add_executable(test_tagger ${CMAKE_SOURCE_DIR}/tests/models/test_tagger.c)
  target_link_libraries(test_tagger PRIVATE vrobin_lib)
  add_test(NAME models_tagger COMMAND test_tagger)
  set_tests_properties(models_tagger PROPERTIES LABELS torch)
  add_test(NAME models_tagger_parity
    COMMAND ${VROBIN_PYTHON} ${CMAKE_SOURCE_DIR}/tests/models/parity_eval_models.py
            $<TARGET_FILE:test_tagger> ${CMAKE_BINARY_DIR}/tests/models/parity_eval)
  set_tests_properties(models_tagger_parity PROPERTIES LABELS "torch;python")
  # synth micro -> shards -> train tagger and contrast a few steps -> export -> tagger-eval and
  # contrast-eval (run through test_tagger, which calls the commands' functions) -> bad labels
  add_test(NAME models_eval_e2e
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/train/test_eval_models.sh $<TARGET_FILE:vrobin> $<TARGET_FILE:test_tagger>
            ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/tests/train/eval_models ${VROBIN_PYTHON})
  set_tests_properties(models_eval_e2e PROPERTIES LABELS "train;python" TIMEOUT 900)
endif()
