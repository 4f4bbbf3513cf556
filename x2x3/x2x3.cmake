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
# Coverage feedback needs the decoder itself instrumented, not only the fuzz target.
if(LIMF_FUZZ)
  target_compile_options(x2x3_pdu PRIVATE -fsanitize=fuzzer-no-link)
endif()
li_add_fuzzer(fuzz_x2x3_pdu SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pdu.c LIBS x2x3_pdu
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pdu)

# The POI sender library (linked by limf-msrp-relay, limf-siptap and limf-x2x3).
add_library(x2x3_sender STATIC ${X2X3_DIR}/x2x3_sender.c)
target_include_directories(x2x3_sender PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_sender PUBLIC x2x3_pdu li_common)
# An in-process TLS ingest for the POI side's unit tests.
add_library(x2x3_test_ingest STATIC ${LIMF_TESTS_DIR}/unit/x2x3_test_ingest.c)
target_include_directories(x2x3_test_ingest PUBLIC ${LIMF_TESTS_DIR}/unit)
target_link_libraries(x2x3_test_ingest PUBLIC x2x3_pdu li_common)
li_add_unit_test(test_x2x3_sender SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_sender.c
                 LIBS x2x3_sender x2x3_test_ingest)
target_compile_definitions(test_x2x3_sender PRIVATE SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# A POI's routes: one sender per X1 destination (linked by the relay and siptap).
add_library(x2x3_router STATIC ${X2X3_DIR}/x2x3_router.c)
target_include_directories(x2x3_router PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_router PUBLIC x2x3_sender x1_lib)
li_add_unit_test(test_x2x3_router SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_router.c
                 LIBS x2x3_router x2x3_test_ingest)
target_compile_definitions(test_x2x3_router PRIVATE SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# The limf.xpdu record's encoder (pure; checked against protobuf-c).
add_library(x2x3_xpdu STATIC ${X2X3_DIR}/x2x3_xpdu.c)
target_include_directories(x2x3_xpdu PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_xpdu PUBLIC li_proto)
li_add_unit_test(test_x2x3_xpdu SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_xpdu.c
                 LIBS x2x3_xpdu)

# limf-ingest: the X2/X3 receiver that publishes to Kafka.
add_library(x2x3_ingest STATIC ${X2X3_DIR}/x2x3_ingest.c)
target_include_directories(x2x3_ingest PUBLIC ${X2X3_DIR})
target_link_libraries(x2x3_ingest PUBLIC x2x3_pdu x2x3_xpdu li_common li_proto)
add_executable(limf-ingest ${X2X3_DIR}/main_ingest.c)
target_link_libraries(limf-ingest PRIVATE x2x3_ingest)

# Integration tests: a real limf-ingest process, real TLS, the real Kafka broker.
add_library(x2x3_testutil STATIC ${LIMF_TESTS_DIR}/integration/x2x3_util.c)
target_include_directories(x2x3_testutil PUBLIC ${LIMF_TESTS_DIR}/integration)
target_link_libraries(x2x3_testutil PUBLIC x2x3_sender li_common li_proto)
foreach(t x2x3_roundtrip x2x3_kill9 x2x3_hostile x2x3_backpressure x2x3_interop)
  add_executable(${t} ${LIMF_TESTS_DIR}/integration/${t}.c)
  target_link_libraries(${t} PRIVATE x2x3_testutil)
  add_dependencies(${t} limf-ingest)
  li_add_integration_test(${t} COMMAND $<TARGET_FILE:${t}> TIMEOUT 240)
endforeach()
set_tests_properties(x2x3_interop PROPERTIES SKIP_RETURN_CODE 77)

# limf-x2x3: decode / encode / send for operators.
add_executable(limf-x2x3 ${X2X3_DIR}/main_x2x3.c)
target_link_libraries(limf-x2x3 PRIVATE x2x3_sender PkgConfig::JANSSON)

# Oracle: Wireshark's 5gli dissector decodes our encoder's PDUs (no broker needed).
add_executable(x2x3_oracle ${LIMF_TESTS_DIR}/integration/x2x3_oracle.c)
target_link_libraries(x2x3_oracle PRIVATE x2x3_pdu)
add_test(NAME x2x3_oracle COMMAND x2x3_oracle)
set_tests_properties(x2x3_oracle PROPERTIES LABELS integration TIMEOUT 120 SKIP_RETURN_CODE 77)

add_executable(x2x3_gap ${LIMF_TESTS_DIR}/integration/x2x3_gap.c)
target_link_libraries(x2x3_gap PRIVATE x2x3_testutil PkgConfig::JANSSON)
add_dependencies(x2x3_gap limf-ingest)
li_add_integration_test(x2x3_gap COMMAND $<TARGET_FILE:x2x3_gap> TIMEOUT 120)
li_add_integration_test(x2x3_cli COMMAND ${LIMF_TESTS_DIR}/integration/x2x3_cli.sh TIMEOUT 120)

li_add_bench(bench_x2x3 SOURCES ${LIMF_TESTS_DIR}/bench/bench_x2x3.c LIBS x2x3_testutil)
add_dependencies(bench_x2x3 limf-ingest)
