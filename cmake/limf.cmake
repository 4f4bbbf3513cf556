# Helpers every folder uses to declare its tests, fuzzers and benchmarks, so that each
# folder's CMakeLists.txt owns its own targets.

set(LIMF_TESTS_DIR ${PROJECT_SOURCE_DIR}/tests)

# li_add_unit_test(NAME SOURCES src... LIBS lib...)
# A cmocka test, label "unit"; runs in the sanitizer build too.
function(li_add_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

# li_add_integration_test(NAME COMMAND cmd args... [LABELS l...] [TIMEOUT s])
# Runs with the real Kafka broker and the test PKI of this build (CTest fixtures); the
# command sees LIMF_KAFKA_TLS_BOOTSTRAP, LIMF_KAFKA_DIR (clients/ROLE.conf), LIMF_PKI_DIR,
# LIMF_TOPIC_PREFIX (unique per run of the test), LIMF_BUILD_DIR, LIMF_SOURCE_DIR and
# LIMF_REFERENCE_DIR (empty when not configured).
function(li_add_integration_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS integration)
  endif()
  add_test(NAME ${name}
           COMMAND ${LIMF_TESTS_DIR}/integration/with_kafka.sh ${name} ${T_COMMAND})
  set_tests_properties(${name} PROPERTIES
    LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT} FIXTURES_REQUIRED "kafka;pki"
    ENVIRONMENT "LIMF_BUILD_DIR=${PROJECT_BINARY_DIR};LIMF_SOURCE_DIR=${PROJECT_SOURCE_DIR};LIMF_REFERENCE_DIR=${LIMF_REFERENCE_DIR}")
endfunction()

# li_add_fuzzer(NAME SOURCES src... LIBS lib... CORPUS dir)
# With LIMF_FUZZ: a libFuzzer binary. Otherwise: the same target linked with a main()
# that replays every file of the seed corpus, run as a test (label "fuzz").
function(li_add_fuzzer name)
  cmake_parse_arguments(T "" "CORPUS" "SOURCES;LIBS" ${ARGN})
  if(LIMF_FUZZ)
    add_executable(${name} ${T_SOURCES})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${name} ${T_SOURCES} ${LIMF_TESTS_DIR}/fuzz/replay_main.c)
  endif()
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  if(LIMF_FUZZ)
    add_test(NAME ${name}_replay COMMAND ${name} -runs=0 ${T_CORPUS})
  else()
    add_test(NAME ${name}_replay COMMAND ${name} ${T_CORPUS})
  endif()
  set_tests_properties(${name}_replay PROPERTIES LABELS fuzz TIMEOUT 300)
  if(LIMF_FUZZ)
    # A short coverage-guided run in CI on top of the replay.
    # Runs on a copy of the seed corpus so that new inputs never land in the source tree.
    add_test(NAME ${name}_run
             COMMAND sh -c "d=$(mktemp -d) && cp -r \"$1\"/. \"$d\" && \"$0\" -max_total_time=\${LIMF_FUZZ_SECONDS:-10} -rss_limit_mb=2048 \"$d\"; rc=$?; rm -rf \"$d\"; exit $rc"
                     $<TARGET_FILE:${name}> ${T_CORPUS})
    set_tests_properties(${name}_run PROPERTIES LABELS fuzzrun TIMEOUT 120)
  endif()
endfunction()

# li_add_bench(NAME SOURCES src... LIBS lib...): a benchmark program (not a test).
function(li_add_bench name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
endfunction()

# li_protobuf_c(OUT_VAR proto...): generated sources from common/proto.
function(li_protobuf_c out_var)
  set(outputs)
  foreach(proto ${ARGN})
    get_filename_component(base ${proto} NAME_WE)
    set(c ${CMAKE_CURRENT_BINARY_DIR}/proto/${base}.pb-c.c)
    set(h ${CMAKE_CURRENT_BINARY_DIR}/proto/${base}.pb-c.h)
    add_custom_command(
      OUTPUT ${c} ${h}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/proto
      COMMAND ${PROTOC_C} --proto_path=${CMAKE_CURRENT_SOURCE_DIR}/proto
              --c_out=${CMAKE_CURRENT_BINARY_DIR}/proto ${CMAKE_CURRENT_SOURCE_DIR}/proto/${base}.proto
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/proto/${base}.proto
      COMMENT "protoc-c ${base}.proto")
    list(APPEND outputs ${c} ${h})
  endforeach()
  set(${out_var} ${outputs} PARENT_SCOPE)
endfunction()
