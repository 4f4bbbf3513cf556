# limf-test-ue: the MSRP test endpoint of the relay's tests and benchmark.
add_executable(limf-test-ue ${CMAKE_CURRENT_LIST_DIR}/test_ue.c)
target_link_libraries(limf-test-ue PRIVATE li_msrp OpenSSL::SSL OpenSSL::Crypto)
