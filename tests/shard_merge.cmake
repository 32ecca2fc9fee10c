# A sweep in shards merges back into the unsharded run, byte for byte: run
# BENCH ARGS --json once whole, then N times with --shard K/N (one after the
# other: no GNU parallel needed), merge the shard files with --merge (given in
# reverse order: the merge orders the rows) and compare. So that the check can
# fail, a shard alone must differ from the whole document, a merge with a
# shard missing or a bad --shard value must be refused (exit 2).
#
#   cmake -DBENCH=path -DARGS="a;b" -DN=4 -DWORK=dir -P shard_merge.cmake
foreach(v BENCH ARGS N WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "shard_merge: ${v} is not set")
  endif()
endforeach()
file(MAKE_DIRECTORY ${WORK})

execute_process(COMMAND ${BENCH} ${ARGS} --json OUTPUT_VARIABLE full ERROR_VARIABLE e RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BENCH} ${ARGS} --json failed (${rc}): ${e}")
endif()
file(WRITE ${WORK}/full.json "${full}")

set(files "")
foreach(k RANGE 1 ${N})
  execute_process(COMMAND ${BENCH} ${ARGS} --shard ${k}/${N} --json
                  OUTPUT_FILE ${WORK}/shard-${k}.json ERROR_VARIABLE e RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BENCH} ${ARGS} --shard ${k}/${N} failed (${rc}): ${e}")
  endif()
  list(PREPEND files ${WORK}/shard-${k}.json)
endforeach()

file(READ ${WORK}/shard-1.json one)
if(one STREQUAL full)
  message(FATAL_ERROR "${BENCH}: shard 1/${N} alone prints the whole document")
endif()

execute_process(COMMAND ${BENCH} --json --merge ${files}
                OUTPUT_VARIABLE merged ERROR_VARIABLE e RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BENCH} --json --merge failed (${rc}): ${e}")
endif()
file(WRITE ${WORK}/merged.json "${merged}")
string(LENGTH "${full}" len)
if(len LESS 1000)
  message(FATAL_ERROR "${BENCH}: only ${len} bytes of output")
endif()
if(NOT merged STREQUAL full)
  message(FATAL_ERROR "${BENCH}: the merge of ${N} shards differs from the unsharded run "
                      "(${WORK}/full.json, ${WORK}/merged.json)")
endif()

# A shard missing: refused.
list(REMOVE_AT files 0)
execute_process(COMMAND ${BENCH} --json --merge ${files} OUTPUT_QUIET ERROR_VARIABLE e RESULT_VARIABLE rc)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "${BENCH}: a merge without shard ${N}/${N} exited ${rc}, not 2: ${e}")
endif()
# A bad --shard value: refused.
foreach(bad 0/${N} 5/4 1/0 1/4x 99999999999/99999999999)
  execute_process(COMMAND ${BENCH} ${ARGS} --shard ${bad} OUTPUT_QUIET ERROR_VARIABLE e RESULT_VARIABLE rc)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${BENCH}: --shard ${bad} exited ${rc}, not 2: ${e}")
  endif()
endforeach()
message(STATUS "${BENCH}: ${N} shards merge into the unsharded ${len} bytes; a missing shard and bad --shard "
               "values are refused")
