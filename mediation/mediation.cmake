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

# med_core: the correlation engine and task table, pure of Kafka (table-testable).
li_protobuf_c(MED_PROTO_SRCS med_state.proto)
add_library(med_proto STATIC ${MED_PROTO_SRCS})
target_include_directories(med_proto PUBLIC ${CMAKE_CURRENT_BINARY_DIR}/proto)
target_link_libraries(med_proto PUBLIC PkgConfig::PROTOBUFC)
target_compile_options(med_proto PRIVATE -Wno-error -w)

add_library(med_core STATIC ${CMAKE_CURRENT_SOURCE_DIR}/med_map.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/med_tasks.c
                            ${CMAKE_CURRENT_SOURCE_DIR}/med_engine.c)
target_include_directories(med_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(med_core PUBLIC li_sip li_msrp li_proto med_proto li_bytes
                      PkgConfig::JANSSON)

li_add_unit_test(test_med_engine SOURCES ${LIMF_TESTS_DIR}/unit/test_med_engine.c
                 LIBS med_core)

# limf-mediator: the daemon (Kafka transactions; docs/MEDIATION.md).
add_executable(limf-mediator ${CMAKE_CURRENT_SOURCE_DIR}/main_mediator.c
                             ${CMAKE_CURRENT_SOURCE_DIR}/med_service.c
                             ${CMAKE_CURRENT_SOURCE_DIR}/med_metrics.c)
target_link_libraries(limf-mediator PRIVATE med_core li_common)

# Exactly once on the real broker: 3 instances, 200 sessions, kill -9, a 4th joins.
add_library(bench_med_gen STATIC ${LIMF_TESTS_DIR}/bench/bench_med_gen.c)
target_include_directories(bench_med_gen PUBLIC ${LIMF_TESTS_DIR}/bench)
target_link_libraries(bench_med_gen PUBLIC li_proto)
add_library(med_it_util STATIC ${LIMF_TESTS_DIR}/integration/med_util.c)
target_include_directories(med_it_util PUBLIC ${LIMF_TESTS_DIR}/integration)
target_link_libraries(med_it_util PUBLIC li_common)
add_executable(test_med_exactly_once ${LIMF_TESTS_DIR}/integration/med_exactly_once.c)
target_link_libraries(test_med_exactly_once PRIVATE bench_med_gen med_it_util)
li_add_integration_test(med_exactly_once
                        COMMAND $<TARGET_FILE:test_med_exactly_once> $<TARGET_FILE:limf-mediator>
                        TIMEOUT 180)
# limf.admin followed live: warrant created, window closed, tombstone.
add_executable(test_med_admin_follow ${LIMF_TESTS_DIR}/integration/med_admin_follow.c)
target_link_libraries(test_med_admin_follow PRIVATE bench_med_gen med_it_util)
li_add_integration_test(med_admin_follow
                        COMMAND $<TARGET_FILE:test_med_admin_follow> $<TARGET_FILE:limf-mediator>
                        TIMEOUT 120)
# A successor with the same transactional id fences a still-running instance.
add_executable(test_med_fencing ${LIMF_TESTS_DIR}/integration/med_fencing.c)
target_link_libraries(test_med_fencing PRIVATE bench_med_gen med_it_util med_core)
li_add_integration_test(med_fencing
                        COMMAND $<TARGET_FILE:test_med_fencing> $<TARGET_FILE:limf-mediator>
                        TIMEOUT 120)
li_add_fuzzer(fuzz_med_engine SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_med_engine.c LIBS med_core
              CORPUS ${LIMF_TESTS_DIR}/fuzz/fuzz_med_engine)

li_add_bench(bench_med SOURCES ${LIMF_TESTS_DIR}/bench/bench_med.c
             LIBS med_core bench_med_gen med_it_util)
