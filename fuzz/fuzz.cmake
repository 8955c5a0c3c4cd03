# fuzz/fuzz.cmake — the libFuzzer targets' build and tests (included by tests/faults and fuzz/).
# The project compiler may be gcc, so each target is built by calling clang directly. For each
# target NAME (build/bin/fuzz_NAME), with clang:
#   fuzz_NAME_corpus  runs the target once over every file of its seed corpus (a regression test;
#                     an input that takes over 5 s fails it)
#   fuzz_NAME_seeded  fuzzes from that corpus with a fixed seed (1) for a fixed number of inputs,
#                     address-space randomisation off, new inputs into a scratch directory emptied
#                     first: the same inputs on every run, so a test run is never red by chance.
#                     Crashes go to build/fuzz-artifacts/NAME-*.
# Without clang both exit 77 (ctest: skipped). The target's command line is written once, to
# build/fuzz/NAME.args, for fuzz/run.sh, which both the test and `make fuzz` (open-ended, random
# seed, FUZZ_SECONDS per target, new inputs kept in build/fuzz-corpus-new/NAME) run.
include_guard(GLOBAL)
find_program(DRIP_CLANG NAMES clang clang-14)

function(drip_fuzz_skipped name)
  foreach(t fuzz_${name}_corpus fuzz_${name}_seeded)
    add_test(NAME ${t} COMMAND sh -c "echo 'SKIP clang is not installed: the ${name} fuzz target cannot be built'; exit 77")
    set_tests_properties(${t} PROPERTIES LABELS fuzz SKIP_RETURN_CODE 77)
  endforeach()
endfunction()

# The two tests of target NAME built at EXE: CORPUS (the seed corpus), RUNS (inputs of the seeded
# run), then the libFuzzer flags both runs use.
function(drip_fuzz_tests name exe corpus runs)
  set(new ${PROJECT_BINARY_DIR}/fuzz-corpus-new/${name})
  file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz ${PROJECT_BINARY_DIR}/fuzz-artifacts)
  string(REPLACE ";" "\n" flags "${ARGN}")
  file(WRITE ${PROJECT_BINARY_DIR}/fuzz/${name}.args
       "${exe}\n${new}\n${corpus}\n-artifact_prefix=${PROJECT_BINARY_DIR}/fuzz-artifacts/${name}-\n${flags}\n")
  add_test(NAME fuzz_${name}_corpus COMMAND ${exe} -runs=0 -timeout=5 ${corpus})
  add_test(NAME fuzz_${name}_seeded
    COMMAND bash ${PROJECT_SOURCE_DIR}/fuzz/run.sh seeded ${runs} ${PROJECT_BINARY_DIR}/fuzz/${name}.args)
  set_tests_properties(fuzz_${name}_corpus fuzz_${name}_seeded PROPERTIES LABELS fuzz TIMEOUT 300)
endfunction()

# A parser's target: NAME, then its sources (relative to the project); fuzz/NAME/ holds the
# target's corpus and NAME.dict. DRIP_FUZZ_RUNS_NAME, when set, is its seeded run's length.
function(drip_parser_fuzzer name)
  if(NOT DRIP_CLANG)
    drip_fuzz_skipped(${name})
    return()
  endif()
  set(exe ${PROJECT_BINARY_DIR}/bin/fuzz_${name})
  set(srcs)
  foreach(s ${ARGN})
    list(APPEND srcs ${PROJECT_SOURCE_DIR}/${s})
  endforeach()
  add_custom_command(OUTPUT ${exe}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/bin
    COMMAND ${DRIP_CLANG} -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-coverage=stack-depth
            -fno-sanitize-recover=undefined -I${PROJECT_SOURCE_DIR}/src/common -I${PROJECT_SOURCE_DIR}/src/preload
            ${srcs} -o ${exe}
    DEPENDS ${srcs}
    COMMENT "Building the ${name} fuzz target with clang")
  add_custom_target(fuzz_${name} ALL DEPENDS ${exe})
  set(runs 200000)
  if(DRIP_FUZZ_RUNS_${name})
    set(runs ${DRIP_FUZZ_RUNS_${name}})
  endif()
  drip_fuzz_tests(${name} ${exe} ${PROJECT_SOURCE_DIR}/fuzz/${name}/corpus ${runs}
    -rss_limit_mb=2048 -timeout=5 -max_len=4096 -print_final_stats=1
    -dict=${PROJECT_SOURCE_DIR}/fuzz/${name}/${name}.dict)
endfunction()
