# X2/X3 (ETSI TS 103 221-2): the PDU codec, POI events, the POI sender library,
# limf-ingest and the limf-x2x3 CLI, with their tests, fuzzer and benchmark.
set(X2X3_DIR ${CMAKE_CURRENT_SOURCE_DIR})

# Pure codecs (DESIGN.md 9): link only li_bytes.
add_library(x2x3_pdu STATIC ${X2X3_DIR}/x2x3_pdu.c ${X2X3_DIR}/x2x3_event.c)
target_include_directories(x2x3_pdu PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_pdu PUBLIC li_bytes)

li_add_unit_test(test_x2x3_pdu SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_pdu.c LIBS x2x3_pdu)
target_compile_definitions(test_x2x3_pdu PRIVATE
  REFERENCE_DIR="${PROJECT_SOURCE_DIR}/../shared/reference")
li_add_unit_test(test_x2x3_event SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_event.c
                 LIBS x2x3_pdu PkgConfig::JANSSON)
li_add_fuzzer(fuzz_x2x3_pdu SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pdu.c LIBS x2x3_pdu
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pdu)

# The POI sender library (linked by limf-msrp-relay, limf-siptap and limf-x2x3).
add_library(x2x3_sender STATIC ${X2X3_DIR}/x2x3_sender.c)
target_include_directories(x2x3_sender PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_sender PUBLIC x2x3_pdu li_common)
