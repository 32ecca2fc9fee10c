# "Same configuration and seed, same output, bit for bit", checked on a bench's
# JSON: run BENCH twice with the same ARGS and seed and compare the bytes, then
# once with another seed, which must change the output (else the check could
# not fail: the runs would not depend on the seed at all).
#
#   cmake -DBENCH=path -DARGS="a;b" -DSEED=1 -DOTHER_SEED=2 -P bench_determinism.cmake
foreach(v BENCH ARGS SEED OTHER_SEED)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "bench_determinism: ${v} is not set")
  endif()
endforeach()

function(run_bench seed out)
  execute_process(COMMAND ${BENCH} ${ARGS} --set seed=${seed}
                  OUTPUT_VARIABLE o ERROR_VARIABLE e RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BENCH} ${ARGS} --set seed=${seed} failed (${rc}): ${e}")
  endif()
  if(NOT o MATCHES "\"seed\": ${seed},")
    message(FATAL_ERROR "${BENCH}: the JSON does not record seed ${seed}")
  endif()
  set(${out} "${o}" PARENT_SCOPE)
endfunction()

run_bench(${SEED} first)
run_bench(${SEED} second)
run_bench(${OTHER_SEED} other)
string(LENGTH "${first}" n)
if(n LESS 1000)
  message(FATAL_ERROR "${BENCH}: only ${n} bytes of output")
endif()
if(NOT first STREQUAL second)
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/determinism-first.json "${first}")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/determinism-second.json "${second}")
  message(FATAL_ERROR "${BENCH}: two runs with seed ${SEED} differ "
                      "(determinism-first.json, determinism-second.json)")
endif()
# Outputs differ only in the recorded seed? Then the seed changed nothing.
string(REPLACE "\"seed\": ${OTHER_SEED}," "\"seed\": ${SEED}," other_as_first "${other}")
if(other_as_first STREQUAL first)
  message(FATAL_ERROR "${BENCH}: seeds ${SEED} and ${OTHER_SEED} give the same results")
endif()
message(STATUS "${BENCH}: ${n} bytes, identical for seed ${SEED}, different for seed ${OTHER_SEED}")
