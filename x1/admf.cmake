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
li_add_fuzzer(fuzz_x1_rest SOURCES ${LIMF_TESTS_DIR}/fuzz/fuzz_x1_rest.c LIBS x1_admf_core
              CORPUS ${LIMF_TESTS_DIR}/fuzz/x1_rest)
