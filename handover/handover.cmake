# handover/: the PS-PDU codec (pure, links li_bytes only), limf-handover and limf-lemf.
add_library(ho_codec STATIC ${CMAKE_CURRENT_LIST_DIR}/ho_ber.c ${CMAKE_CURRENT_LIST_DIR}/ho_pdu.c)
target_include_directories(ho_codec PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ho_codec PUBLIC li_bytes)

li_add_unit_test(test_ho_pdu SOURCES ${LIMF_TESTS_DIR}/unit/test_ho_pdu.c LIBS ho_codec)
li_add_fuzzer(fuzz_ho_pdu SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_pdu.c LIBS ho_codec
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_pdu)

# Independent oracle: asn1tools (PyPI) decodes our encoder's PDUs against ETSI's module.
add_executable(ho_oracle_dump ${LIMF_TESTS_DIR}/integration/ho_oracle_dump.c)
target_link_libraries(ho_oracle_dump PRIVATE ho_daemon)
add_test(NAME ho_oracle COMMAND ${LIMF_TESTS_DIR}/integration/ho_oracle.sh
         $<TARGET_FILE:ho_oracle_dump>)
set_tests_properties(ho_oracle PROPERTIES LABELS integration TIMEOUT 240 SKIP_RETURN_CODE 77
  ENVIRONMENT "LIMF_BUILD_DIR=${PROJECT_BINARY_DIR};LIMF_SOURCE_DIR=${PROJECT_SOURCE_DIR}")

# I/O shared by both daemons (sockets, TLS, PDU stream reader) and the LEMF's core.
add_library(ho_io STATIC ${CMAKE_CURRENT_LIST_DIR}/ho_io.c ${CMAKE_CURRENT_LIST_DIR}/ho_lemf.c)
target_link_libraries(ho_io PUBLIC ho_codec li_common PkgConfig::JANSSON)

add_executable(limf-lemf ${CMAKE_CURRENT_LIST_DIR}/main_lemf.c)
target_link_libraries(limf-lemf PRIVATE ho_io)
li_add_unit_test(test_ho_lemf SOURCES ${LIMF_TESTS_DIR}/unit/test_ho_lemf.c LIBS ho_io)

add_library(ho_daemon STATIC ${CMAKE_CURRENT_LIST_DIR}/ho_dest.c ${CMAKE_CURRENT_LIST_DIR}/ho_service.c)
target_link_libraries(ho_daemon PUBLIC ho_io li_common)
add_executable(limf-handover ${CMAKE_CURRENT_LIST_DIR}/main_handover.c)
target_link_libraries(limf-handover PRIVATE ho_daemon)

# Delivery on the real broker with real limf-lemf processes over mutual TLS.
add_executable(ho_delivery ${LIMF_TESTS_DIR}/integration/ho_delivery.c)
target_link_libraries(ho_delivery PRIVATE ho_codec li_common)
add_dependencies(ho_delivery limf-handover limf-lemf)
foreach(scenario outage kill9 silent two trust halfsilent)
  li_add_integration_test(ho_delivery_${scenario} COMMAND $<TARGET_FILE:ho_delivery> ${scenario}
                          TIMEOUT 150)
endforeach()

li_add_unit_test(test_ho_record SOURCES ${LIMF_TESTS_DIR}/unit/test_ho_record.c LIBS ho_daemon)

li_add_bench(bench_ho SOURCES ${LIMF_TESTS_DIR}/bench/bench_ho.c LIBS ho_io li_common)
add_dependencies(bench_ho limf-handover limf-lemf)
# Coverage feedback needs the code under test instrumented, not only the fuzz target.
if(LIMF_FUZZ)
  target_compile_options(ho_codec PRIVATE -fsanitize=fuzzer-no-link)
  target_compile_options(ho_io PRIVATE -fsanitize=fuzzer-no-link)
endif()
li_add_fuzzer(fuzz_ho_lemf SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_lemf.c LIBS ho_io
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_ho_lemf)
