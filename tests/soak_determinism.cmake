# The soak's digest (a hash of every statistic) is the same for the same seed
# and differs for another; each run must also pass the soak's own checks
# (host RSS flat, no unexpected error: exit status 0).
#
#   cmake -DSOAK=path -DCYCLES=N -DSEED=1 -DOTHER_SEED=2 -P soak_determinism.cmake
foreach(v SOAK CYCLES SEED OTHER_SEED)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "soak_determinism: ${v} is not set")
  endif()
endforeach()

function(soak_digest seed out)
  execute_process(COMMAND ${SOAK} --cycles ${CYCLES} --seed ${seed} --json
                  OUTPUT_VARIABLE o ERROR_VARIABLE e RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "soak --cycles ${CYCLES} --seed ${seed} failed (${rc}): ${e}\n${o}")
  endif()
  if(NOT o MATCHES "\"digest\": \"([0-9a-f]+)\"")
    message(FATAL_ERROR "soak: no digest in\n${o}")
  endif()
  set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
endfunction()

soak_digest(${SEED} first)
soak_digest(${SEED} second)
soak_digest(${OTHER_SEED} other)
if(NOT first STREQUAL second)
  message(FATAL_ERROR "soak: two runs with seed ${SEED} give digests ${first} and ${second}")
endif()
if(first STREQUAL other)
  message(FATAL_ERROR "soak: seeds ${SEED} and ${OTHER_SEED} give the same digest ${first}")
endif()
message(STATUS "soak: digest ${first} twice for seed ${SEED}, ${other} for seed ${OTHER_SEED}")
