# media: FFmpeg decoding (data/media_read.c) and the weight-free per-frame video descriptors
# (data/video_desc.c). Included from the top-level CMakeLists.txt.
target_sources(vrobin_lib PRIVATE
  ${CMAKE_SOURCE_DIR}/data/media_read.c
  ${CMAKE_SOURCE_DIR}/data/video_desc.c)

if(VROBIN_TESTS)
  # Fixtures are made at test time with the ffmpeg CLI (tests may use it; the toolkit never does).
  # Without ffmpeg on PATH the setup test fails, and so does data_media_read: no silent skip.
  set(VR_MEDIA_FIXTURES ${CMAKE_CURRENT_BINARY_DIR}/media_fixtures)
  add_test(NAME data_media_fixtures
    COMMAND sh ${CMAKE_SOURCE_DIR}/tests/data/make_bad_media.sh ${VR_MEDIA_FIXTURES})
  set_tests_properties(data_media_fixtures PROPERTIES FIXTURES_SETUP media_fixtures LABELS data)

  add_executable(test_media_read ${CMAKE_SOURCE_DIR}/tests/data/test_media_read.c)
  target_link_libraries(test_media_read PRIVATE vrobin_lib)
  add_test(NAME data_media_read COMMAND test_media_read ${VR_MEDIA_FIXTURES})
  set_tests_properties(data_media_read PROPERTIES FIXTURES_REQUIRED media_fixtures LABELS data)

  add_executable(test_video_desc ${CMAKE_SOURCE_DIR}/tests/data/test_video_desc.c)
  target_link_libraries(test_video_desc PRIVATE vrobin_lib)
  add_test(NAME data_video_desc COMMAND test_video_desc)
  set_tests_properties(data_video_desc PROPERTIES LABELS data)
endif()
