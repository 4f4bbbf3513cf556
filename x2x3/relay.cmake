# The MSRP relay POI (limf-msrp-relay), its codec and its tests.
# li_msrp: the pure RFC 4975 codec, shared with the mediator (links only li_bytes).
add_library(li_msrp STATIC ${PROJECT_SOURCE_DIR}/common/li_msrp.c)
target_include_directories(li_msrp PUBLIC ${PROJECT_SOURCE_DIR}/common)
target_link_libraries(li_msrp PUBLIC li_bytes)

li_add_unit_test(test_li_msrp SOURCES ${LIMF_TESTS_DIR}/unit/test_li_msrp.c LIBS li_msrp)
li_add_fuzzer(fuzz_li_msrp SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_li_msrp.c LIBS li_msrp
              CORPUS ${LIMF_TESTS_DIR}/fuzz/li_msrp)

# The relay engine (sockets, TLS, control API, tap) and the daemon.
add_library(x2x3_relay STATIC
  ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay.c
  ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_ctl.c
  ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_path.c
  ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_req.c
  ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_tap.c)
target_include_directories(x2x3_relay PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(x2x3_relay PUBLIC li_msrp x2x3_router x1_lib li_common
                      PkgConfig::MHD PkgConfig::JANSSON)

li_add_unit_test(test_x2x3_relay SOURCES ${LIMF_TESTS_DIR}/unit/test_x2x3_relay.c
                 ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_path.c ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_req.c
                 LIBS li_msrp PkgConfig::JANSSON)
target_include_directories(test_x2x3_relay PRIVATE ${CMAKE_CURRENT_LIST_DIR})

add_executable(limf-msrp-relay ${CMAKE_CURRENT_LIST_DIR}/main_relay.c)
target_link_libraries(limf-msrp-relay PRIVATE x2x3_relay)

# Integration tests: real relay, real test UEs over TLS, real X1, limf-ingest and Kafka.
add_library(relay_testutil STATIC ${LIMF_TESTS_DIR}/integration/relay_util.c)
target_include_directories(relay_testutil PUBLIC ${LIMF_TESTS_DIR}/integration)
target_link_libraries(relay_testutil PUBLIC x1_lib li_common)
foreach(t relay_e2e relay_concurrent relay_passthrough relay_tapfail relay_routes)
  add_executable(${t} ${LIMF_TESTS_DIR}/integration/${t}.c)
  target_link_libraries(${t} PRIVATE relay_testutil x2x3_testutil li_msrp x2x3_pdu)
  add_dependencies(${t} limf-msrp-relay limf-test-ue limf-ingest)
  li_add_integration_test(${t} COMMAND $<TARGET_FILE:${t}> TIMEOUT 240)
endforeach()

# The sender's ring as the relay drives it: wrap-around, kill -9 of the ingest, resend.
add_executable(relay_sender_ring ${LIMF_TESTS_DIR}/integration/relay_sender_ring.c)
target_link_libraries(relay_sender_ring PRIVATE x2x3_testutil)
add_dependencies(relay_sender_ring limf-ingest)
li_add_integration_test(relay_sender_ring COMMAND $<TARGET_FILE:relay_sender_ring> TIMEOUT 120)

# Benchmark (not a test): tap off / on through TLS, with limf-ingest and Kafka.
li_add_bench(bench_relay SOURCES ${LIMF_TESTS_DIR}/bench/bench_relay.c
             LIBS relay_testutil x2x3_testutil)
add_dependencies(bench_relay limf-msrp-relay limf-test-ue limf-ingest)

# The reservation body is the relay's input from the IMS-ALG: fuzzed.
li_add_fuzzer(fuzz_x2x3_relay_req SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x2x3_relay_req.c
              ${CMAKE_CURRENT_LIST_DIR}/x2x3_relay_req.c LIBS li_msrp PkgConfig::JANSSON
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x2x3_relay_req)
target_include_directories(fuzz_x2x3_relay_req PRIVATE ${CMAKE_CURRENT_LIST_DIR})
