# X1 (ETSI TS 103 221-1): the XML codec, the client (limf-admf) and the NE library (the
# POIs), in one library x1_lib. Included by x1/CMakeLists.txt.
add_library(x1_lib STATIC
  ${CMAKE_CURRENT_LIST_DIR}/x1_xml.c)
target_include_directories(x1_lib PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(x1_lib PUBLIC li_common li_bytes PkgConfig::LIBXML2 Threads::Threads)

li_add_unit_test(test_x1_xml SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_xml.c LIBS x1_lib)
li_add_fuzzer(fuzz_x1_xml SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_xml.c LIBS x1_lib
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_xml)
