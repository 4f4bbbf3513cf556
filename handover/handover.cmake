# handover/: the PS-PDU codec (pure, links li_bytes only), limf-handover and limf-lemf.
add_library(ho_codec STATIC ${CMAKE_CURRENT_LIST_DIR}/ho_ber.c ${CMAKE_CURRENT_LIST_DIR}/ho_pdu.c)
target_include_directories(ho_codec PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ho_codec PUBLIC li_bytes)

li_add_unit_test(test_ho_pdu SOURCES ${LIMF_TESTS_DIR}/unit/test_ho_pdu.c LIBS ho_codec)
li_add_fuzzer(fuzz_ho_pdu SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_pdu.c LIBS ho_codec
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_pdu)
