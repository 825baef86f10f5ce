# bench.cmake — benchmark drivers (measurement tools, not tests); included from the top CMakeLists.
add_executable(bench_robin_step ${CMAKE_SOURCE_DIR}/bench/bench_robin_step.c)
target_link_libraries(bench_robin_step PRIVATE vrobin_lib)
add_executable(bench_generate ${CMAKE_SOURCE_DIR}/bench/bench_generate.c)
target_link_libraries(bench_generate PRIVATE vrobin_lib)
