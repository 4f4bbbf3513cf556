# limf-siptap, the SIP point of interception (DESIGN.md 2): frame decoding and TCP
# reassembly (pure, fuzzed), the tap engine, the daemon, its tests and benchmark.

# Frame decoding and bounded TCP reassembly: no I/O, links only li_bytes.
add_library(x2x3_pkt STATIC x2x3_pkt.c x2x3_tcpreasm.c)
target_include_directories(x2x3_pkt PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(x2x3_pkt PUBLIC li_bytes)

li_add_unit_test(test_x2x3_pkt SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt.c
                 ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt_build.c LIBS x2x3_pkt)
li_add_unit_test(test_x2x3_tcpreasm SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_tcpreasm.c
                 LIBS x2x3_pkt)
li_add_fuzzer(fuzz_x2x3_pkt SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pkt.c LIBS x2x3_pkt
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pkt)

# The tap engine: frames in, X2 records out (x2x3_record from the sender's header, task
# matches from the NE's header; the daemon links those libraries, the engine does not).
add_library(x2x3_siptap STATIC x2x3_siptap.c x2x3_siptap_frag.c)
target_include_directories(x2x3_siptap PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}
                           ${PROJECT_SOURCE_DIR}/x1)
target_link_libraries(x2x3_siptap PUBLIC x2x3_pkt li_sip li_bytes)
li_add_unit_test(test_x2x3_pkt_frag SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt_frag.c
                 LIBS x2x3_siptap)
li_add_unit_test(test_x2x3_siptap SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_siptap.c
                 ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt_build.c LIBS x2x3_siptap)
li_add_fuzzer(fuzz_x2x3_pkt_siptap SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pkt_siptap.c
              LIBS x2x3_siptap CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_pkt_siptap)

# The libpcap capture (live or file) feeding the engine.
add_library(x2x3_siptap_io STATIC x2x3_siptap_io.c)
target_link_libraries(x2x3_siptap_io PUBLIC x2x3_siptap li_common PkgConfig::PCAP)

# The daemon: the capture, the X1 NE and the X2/X3 sender around the engine.
add_executable(limf-siptap main_siptap.c x2x3_siptap_metrics.c)
target_link_libraries(limf-siptap PRIVATE x2x3_siptap_io x2x3_router li_common)

# End to end on loopback with sipp, libpcap on lo, X1 and X2 over mutual TLS, a real
# limf-ingest and Kafka (tests/integration/siptap_test.c); skipped (77) without
# CAP_NET_RAW, sipp or dumpcap.
add_executable(siptap_test ${LIMF_TESTS_DIR}/integration/siptap_test.c
               ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt_build.c)
target_include_directories(siptap_test PRIVATE ${LIMF_TESTS_DIR}/unit)
target_link_libraries(siptap_test PRIVATE x1_lib x2x3_testutil x2x3_pdu li_common
                      PkgConfig::PCAP)
add_dependencies(siptap_test limf-siptap limf-ingest)
li_add_integration_test(siptap_sipp COMMAND $<TARGET_FILE:siptap_test> TIMEOUT 180)
set_tests_properties(siptap_sipp PROPERTIES SKIP_RETURN_CODE 77)
# A crafted hostile capture replayed at its own pace through the default filter.
li_add_integration_test(siptap_pcap COMMAND $<TARGET_FILE:siptap_test> pcap TIMEOUT 120)
set_tests_properties(siptap_pcap PROPERTIES SKIP_RETURN_CODE 77)

# Packets/s and SIP messages/s from a generated pcap through the capture and the engine.
li_add_bench(bench_siptap SOURCES ${LIMF_TESTS_DIR}/bench/bench_siptap.c
             ${LIMF_TESTS_DIR}/unit/test_x2x3_pkt_build.c LIBS x2x3_siptap_io x2x3_pdu)
target_include_directories(bench_siptap PRIVATE ${LIMF_TESTS_DIR}/unit)
