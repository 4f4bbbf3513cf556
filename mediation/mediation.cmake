# mediation/: SIP/SDP codecs (shared with limf-siptap), correlation and limf-mediator.
# Included from mediation/CMakeLists.txt; paths are relative to the project root.

# li_sip: pure SIP and SDP codecs (DESIGN.md 9: only li_bytes).
add_library(li_sip STATIC ${PROJECT_SOURCE_DIR}/common/li_sip.c
                          ${PROJECT_SOURCE_DIR}/common/li_sdp.c)
target_include_directories(li_sip PUBLIC ${PROJECT_SOURCE_DIR}/common)
target_link_libraries(li_sip PUBLIC li_bytes)

li_add_unit_test(test_li_sip SOURCES ${LIMF_TESTS_DIR}/unit/test_li_sip.c LIBS li_sip)
li_add_unit_test(test_li_sdp SOURCES ${LIMF_TESTS_DIR}/unit/test_li_sdp.c LIBS li_sip)
li_add_fuzzer(fuzz_li_sip SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_li_sip.c LIBS li_sip
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_li_sip)
li_add_fuzzer(fuzz_li_sdp SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_li_sdp.c LIBS li_sip
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_li_sdp)
