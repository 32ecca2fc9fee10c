# mmusim replay and mmusim trace convert on a small trace (docs/replay.md).
#   -DMMUSIM=mmusim -DWORK=dir
cmake_minimum_required(VERSION 3.25)
file(MAKE_DIRECTORY ${WORK})

function(fail msg)
  message(SEND_ERROR "${msg}")
endfunction()

# Three pages of data, one of code, one of stack near the top (relocated),
# a straddling store, valgrind's own lines.
file(WRITE ${WORK}/small.lackey
"==42== Lackey, an example Valgrind tool
I  08048000,3
I  08048003,2
 L 0804a000,4
 S 0804a004,4
 M 0804b000,4
 S 0804bffe,4
I  08048005,5
 L feeb1860,4
 L 0804a008,8
==42== 
")

function(replay out)
  execute_process(COMMAND ${MMUSIM} replay ${ARGN} --json OUTPUT_VARIABLE doc ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("mmusim replay ${ARGN}: exit ${rc}: ${err}")
  endif()
  set(${out} "${doc}" PARENT_SCOPE)
endfunction()

function(expect_field doc want)
  string(JSON v GET "${doc}" ${ARGN})
  if(NOT v EQUAL want)
    fail("${ARGN}: ${v}, expected ${want}")
  endif()
endfunction()

replay(doc --lackey ${WORK}/small.lackey)
expect_field("${doc}" 3 references I)
expect_field("${doc}" 3 references L)
expect_field("${doc}" 2 references S)
expect_field("${doc}" 1 references M)
expect_field("${doc}" 10 accesses)
expect_field("${doc}" 1 split)
expect_field("${doc}" 1 relocated)
# pages: code 08048, data 0804a, 0804b, 0804c (the straddle), stack: 5 faults, 1 on a fetch
expect_field("${doc}" 5 faults)
expect_field("${doc}" 1 faults_exec)
expect_field("${doc}" 0 violations)

# The same trace on standard input.
execute_process(COMMAND ${MMUSIM} replay --lackey - --json INPUT_FILE ${WORK}/small.lackey
                OUTPUT_VARIABLE doc2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("mmusim replay --lackey -: exit ${rc}")
endif()
expect_field("${doc2}" 5 faults)

# Converted to the binary format, it replays to the same figures.
execute_process(COMMAND ${MMUSIM} trace convert --lackey ${WORK}/small.lackey -o ${WORK}/small.mtr RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("mmusim trace convert: exit ${rc}")
endif()
replay(doc3 --trace ${WORK}/small.mtr)
foreach(f accesses split relocated faults faults_exec cycles walks)
  string(JSON a GET "${doc}" ${f})
  string(JSON b GET "${doc3}" ${f})
  if(NOT a EQUAL b)
    fail("binary replay: ${f} ${b}, lackey ${a}")
  endif()
endforeach()

# --interval writes a CSV series.
execute_process(COMMAND ${MMUSIM} replay --lackey ${WORK}/small.lackey --interval 4 --csv ${WORK}/series.csv
                OUTPUT_QUIET RESULT_VARIABLE rc)
file(STRINGS ${WORK}/series.csv rows)
list(LENGTH rows nrows)
if(NOT rc EQUAL 0 OR NOT nrows EQUAL 4) # header, 4, 8, 9 records
  fail("--interval 4: exit ${rc}, ${nrows} rows: ${rows}")
endif()

# --procs: two copies on two CPUs, then two on one CPU switched every instruction.
replay(doc4 --lackey ${WORK}/small.lackey --procs 2)
expect_field("${doc4}" 10 faults)
expect_field("${doc4}" 2 cpus)
replay(doc5 --lackey ${WORK}/small.lackey --procs 2 --cpus 1 --slice 1)
expect_field("${doc5}" 10 faults)
string(JSON sw GET "${doc5}" context_switches)
string(JSON cr3 GET "${doc5}" cr3_writes)
if(sw LESS 3 OR cr3 LESS 3)
  fail("--procs 2 --cpus 1 --slice 1: ${sw} switches, ${cr3} CR3 writes")
endif()

# The scheduler's own references at each switch (the incoming task's
# task_struct and kernel stack, in the direct map's global large pages):
# with PGE their TLB entries survive the CR3 writes and walk once; without
# it, once per switch.
string(JSON kr GET "${doc5}" kernel_refs)
string(JSON kw GET "${doc5}" kernel_walks)
math(EXPR want_kr "2 * ${sw}")
if(NOT kr EQUAL want_kr OR kw GREATER 2)
  fail("--procs 2 --cpus 1 --slice 1: ${kr} kernel references (expected ${want_kr}), ${kw} walked (expected 2 at most)")
endif()
replay(doc6 --lackey ${WORK}/small.lackey --procs 2 --cpus 1 --slice 1 --set pge=0)
string(JSON sw6 GET "${doc6}" context_switches)
string(JSON kw6 GET "${doc6}" kernel_walks)
if(NOT kw6 EQUAL sw6)
  fail("without PGE: ${kw6} kernel walks, expected one per switch (${sw6})")
endif()

# Errors: a malformed line names its line (exit 1), --elf is refused (exit 2), no trace (exit 2).
file(WRITE ${WORK}/bad.lackey "I  08048000,3\n L 0804a000 4\n")
execute_process(COMMAND ${MMUSIM} replay --lackey ${WORK}/bad.lackey OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 1 OR NOT err MATCHES "bad.lackey: line 2: missing comma")
  fail("malformed trace: exit ${rc}, '${err}'")
endif()
# --elf with a program that is no i386 ELF (the host's own /bin/true, 64-bit; a text file): exit 1, the loader's reason.
execute_process(COMMAND ${MMUSIM} replay --lackey ${WORK}/small.lackey --elf /bin/true
                OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 1 OR NOT err MATCHES "/bin/true: not a 32-bit little-endian ELF")
  fail("--elf /bin/true: exit ${rc}, '${err}'")
endif()
execute_process(COMMAND ${MMUSIM} replay --lackey ${WORK}/small.lackey --elf ${WORK}/small.lackey
                OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 1 OR NOT err MATCHES "small.lackey: not an ELF file")
  fail("--elf of a text file: exit ${rc}, '${err}'")
endif()
execute_process(COMMAND ${MMUSIM} replay OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 2 OR NOT err MATCHES "no trace")
  fail("no trace: exit ${rc}, '${err}'")
endif()
