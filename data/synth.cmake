# synth: media writing (data/media_write.c, the writing half of data/media.h) and the SynthV2M
# benchmark generator (data/synth.c, with MIDI-like composition + FluidSynth in data/midi.c).
# Included from the top-level CMakeLists.txt.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/data/media_write.c
  ${CMAKE_SOURCE_DIR}/data/midi.c
  ${CMAKE_SOURCE_DIR}/data/synth.c)

if(VROBIN_TESTS)
  # Both tests check their output with the ffprobe/ffmpeg CLIs (an independent oracle); without
  # them on PATH they fail, they do not skip. test_synth also needs /usr/share/sounds/sf2/TimGM6mb.sf2.
  add_executable(test_media_write ${CMAKE_SOURCE_DIR}/tests/data/test_media_write.c)
  target_link_libraries(test_media_write PRIVATE vrobin_lib)
  add_test(NAME data_media_write COMMAND test_media_write ${CMAKE_BINARY_DIR}/tests/data_media_write)
  set_tests_properties(data_media_write PROPERTIES LABELS data)

  add_executable(test_synth ${CMAKE_SOURCE_DIR}/tests/data/test_synth.c)
  target_link_libraries(test_synth PRIVATE vrobin_lib)
  add_test(NAME data_synth COMMAND test_synth ${CMAKE_BINARY_DIR}/tests/data_synth)
  set_tests_properties(data_synth PROPERTIES LABELS data)
endif()
