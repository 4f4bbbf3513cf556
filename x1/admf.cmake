# limf-admf (DESIGN.md 6): REST API, store of record on limf.admin, audit trail on
# limf.audit, X1 client towards the POIs; and limf-audit-verify, the offline verifier.

# Pure parts (validation, audit chain, in-memory store, JSON views): no sockets.
add_library(x1_admf_core STATIC x1_validate.c x1_audit.c x1_store.c x1_admf_json.c)
target_include_directories(x1_admf_core PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(x1_admf_core PUBLIC li_bytes li_proto PkgConfig::JANSSON OpenSSL::Crypto)

add_executable(limf-audit-verify main_audit_verify.c)
target_link_libraries(limf-audit-verify PRIVATE x1_admf_core li_common)

li_add_unit_test(test_x1_validate SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_validate.c
                 LIBS x1_admf_core)
li_add_unit_test(test_x1_audit SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_audit.c
                 LIBS x1_admf_core)
li_add_unit_test(test_x1_admf_json SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_admf_json.c
                 LIBS x1_admf_core)
li_add_unit_test(test_x1_admf_store SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_admf_store.c
                 LIBS x1_admf_core)
li_add_fuzzer(fuzz_x1_rest SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_rest.c LIBS x1_admf_core
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_rest)

pkg_check_modules(GNUTLS REQUIRED IMPORTED_TARGET gnutls)

# The OpenAPI document is served from memory: embedded at configure time.
set(X1_OPENAPI ${CMAKE_CURRENT_SOURCE_DIR}/openapi.json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${X1_OPENAPI})
file(READ ${X1_OPENAPI} x1_openapi_hex HEX)
string(LENGTH "${x1_openapi_hex}" x1_openapi_hexlen)
math(EXPR x1_openapi_len "${x1_openapi_hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," x1_openapi_bytes "${x1_openapi_hex}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/x1_rest_openapi.h
     "/* Generated from x1/openapi.json by x1/admf.cmake. */\n#include <stddef.h>\nextern const unsigned char x1_rest_openapi_json[];\nextern const size_t x1_rest_openapi_json_len;\n")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/x1_rest_openapi.c
     "#include \"x1_rest_openapi.h\"\nconst unsigned char x1_rest_openapi_json[] = {${x1_openapi_bytes}0};\nconst size_t x1_rest_openapi_json_len = ${x1_openapi_len};\n")

# The daemon's parts with I/O (Kafka, HTTPS, X1), as a library for the daemon and tests.
add_library(x1_admf_svc STATIC x1_admf.c x1_admf_uses.c x1_rest.c x1_reconcile.c
            ${CMAKE_CURRENT_BINARY_DIR}/x1_rest_openapi.c)
target_include_directories(x1_admf_svc PRIVATE ${CMAKE_CURRENT_BINARY_DIR})
target_link_libraries(x1_admf_svc PUBLIC x1_admf_core x1_lib li_common PkgConfig::MHD
                      PkgConfig::GNUTLS)

add_executable(limf-admf main_admf.c)
target_link_libraries(limf-admf PRIVATE x1_admf_svc)

li_add_unit_test(test_x1_admf_uses SOURCES ${LIMF_TESTS_DIR}/unit/test_x1_admf_uses.c
                 LIBS x1_admf_svc)
li_add_fuzzer(fuzz_x1_admf_uses SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_admf_uses.c
              LIBS x1_admf_svc CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_admf_uses)

# Contract, role, concurrency, tamper, restart and validity-window tests against the real
# daemon, the real broker (mutual TLS) and the test PKI.
add_library(admf_test_util STATIC ${LIMF_TESTS_DIR}/integration/admf_util.c)
target_link_libraries(admf_test_util PUBLIC PkgConfig::JANSSON OpenSSL::SSL Threads::Threads)
add_executable(admf_api ${LIMF_TESTS_DIR}/integration/admf_api.c)
target_link_libraries(admf_api PRIVATE admf_test_util)
li_add_integration_test(admf_api COMMAND $<TARGET_FILE:admf_api> TIMEOUT 180)

# X1 round trip: the daemon against test POIs built on the real NE library.
add_executable(admf_test_ne ${LIMF_TESTS_DIR}/integration/admf_test_ne.c)
target_link_libraries(admf_test_ne PRIVATE x1_lib)
add_executable(admf_test_xpdu ${LIMF_TESTS_DIR}/integration/admf_test_xpdu.c)
target_link_libraries(admf_test_xpdu PRIVATE li_common)
add_executable(admf_x1 ${LIMF_TESTS_DIR}/integration/admf_x1.c)
target_link_libraries(admf_x1 PRIVATE admf_test_util)
li_add_integration_test(admf_x1 COMMAND $<TARGET_FILE:admf_x1> TIMEOUT 180)

li_add_bench(bench_admf SOURCES ${LIMF_TESTS_DIR}/bench/bench_admf.c LIBS li_common)
