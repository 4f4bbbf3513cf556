# X1 (ETSI TS 103 221-1): the XML codec, the client (limf-admf) and the NE library (the
# POIs), in one library x1_lib. Included by x1/CMakeLists.txt.
add_library(x1_lib STATIC
  ${CMAKE_CURRENT_LIST_DIR}/x1_xml.c
  ${CMAKE_CURRENT_LIST_DIR}/x1_http.c
  ${CMAKE_CURRENT_LIST_DIR}/x1_io.c
  ${CMAKE_CURRENT_LIST_DIR}/x1_client.c
  ${CMAKE_CURRENT_LIST_DIR}/x1_ne.c)
target_include_directories(x1_lib PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(x1_lib PUBLIC li_common li_bytes PkgConfig::LIBXML2 Threads::Threads)

li_add_unit_test(test_x1_xml SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_xml.c LIBS x1_lib)
target_compile_definitions(test_x1_xml PRIVATE SOURCE_DIR="${PROJECT_SOURCE_DIR}")
li_add_fuzzer(fuzz_x1_xml SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_xml.c LIBS x1_lib
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_xml)
# The round trip runs the real client against the real NE over mutual TLS on loopback;
# it makes its own test PKI with deploy/pki.sh, so it needs no fixture.
li_add_unit_test(test_x1_roundtrip SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_roundtrip.c
                 LIBS x1_lib)
target_compile_definitions(test_x1_roundtrip PRIVATE SOURCE_DIR="${PROJECT_SOURCE_DIR}")
li_add_unit_test(test_x1_http SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_http.c LIBS x1_lib)
li_add_fuzzer(fuzz_x1_http SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_http.c LIBS x1_lib
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_http)

# A stand-alone X1 NE for testing an ADMF (limf-admf's integration tests use it).
add_executable(limf-x1-test-ne ${CMAKE_CURRENT_LIST_DIR}/main_x1_test_ne.c)
target_link_libraries(limf-x1-test-ne PRIVATE x1_lib)
li_add_bench(bench_x1 SOURCES ${LIMF_TESTS_DIR}/bench/bench_x1.c LIBS x1_lib)
target_compile_definitions(bench_x1 PRIVATE SOURCE_DIR="${PROJECT_SOURCE_DIR}")
# The test NE against an independent X1 client (openssl s_client with a hand-written
# request): answers, 403 for a non-ADMF certificate, clean SIGTERM.
add_test(NAME x1_test_ne_smoke
         COMMAND ${LIMF_TESTS_DIR}/tools/x1-ne-test/smoke.sh $<TARGET_FILE:limf-x1-test-ne>
                 ${PROJECT_SOURCE_DIR})
set_tests_properties(x1_test_ne_smoke PROPERTIES LABELS unit TIMEOUT 60)
