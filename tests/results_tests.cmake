# The analysis scripts in results/ (caption_swap.py, instrument_probe.py) on SynthV2M tiny: what they
# write and how they refuse bad input (tests/results/test_scripts.sh)
add_test(NAME results_scripts
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/results/test_scripts.sh ${CMAKE_SOURCE_DIR}
          ${CMAKE_CURRENT_BINARY_DIR}/results_scripts ${VROBIN_PYTHON} $<TARGET_FILE:vrobin>)
set_tests_properties(results_scripts PROPERTIES LABELS python TIMEOUT 600 COST 10
  FIXTURES_REQUIRED synth_tiny ENVIRONMENT VROBIN_TEST_SYNTH_TINY=${VR_SYNTH_TINY})
