# The MSRP relay POI (limf-msrp-relay), its codec and its tests.
# li_msrp: the pure RFC 4975 codec, shared with the mediator (links only li_bytes).
add_library(li_msrp STATIC ${PROJECT_SOURCE_DIR}/common/li_msrp.c)
target_include_directories(li_msrp PUBLIC ${PROJECT_SOURCE_DIR}/common)
target_link_libraries(li_msrp PUBLIC li_bytes)

li_add_unit_test(test_li_msrp SOURCES ${LIMF_TESTS_DIR}/unit/test_li_msrp.c LIBS li_msrp)
li_add_fuzzer(fuzz_li_msrp SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_li_msrp.c LIBS li_msrp
              CORPUS ${LIMF_TESTS_DIR}/fuzz/li_msrp)
