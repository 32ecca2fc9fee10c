# The executables' options and outputs (issue 14, item 5).
#   -DMMUSIM=path/to/mmusim -DBENCHES="b1|b2|..." -DVERSION=x.y.z -DWORK=dir
# Every bench: a number out of range, an overflowing one, one that is no
# number: exit 2 with the one message "NAME: --opt: ..."; --help into
# /dev/full: exit 1. kmap_atomic_bench (small): stdout and --csv into
# /dev/full exit 1; its --json starts with the common header and holds no
# nan or inf. mmusim: --version, keys --json, the same range message, /dev/full.
cmake_minimum_required(VERSION 3.25)
string(REPLACE "|" ";" BENCHES "${BENCHES}")
file(MAKE_DIRECTORY ${WORK})
set(failures 0)

function(fail msg)
  message(SEND_ERROR "${msg}")
endfunction()

# expect(RC REGEX cmd...): the exit status is RC and stderr matches REGEX.
function(expect want_rc regex)
  execute_process(COMMAND ${ARGN} OUTPUT_QUIET ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc STREQUAL want_rc)
    fail("${ARGN}: exit status ${rc}, expected ${want_rc}; stderr: ${err}")
  elseif(NOT err MATCHES "${regex}")
    fail("${ARGN}: stderr '${err}' does not match '${regex}'")
  endif()
endfunction()

function(expect_full want_rc regex)
  execute_process(COMMAND ${ARGN} OUTPUT_FILE /dev/full ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc STREQUAL want_rc)
    fail("${ARGN} > /dev/full: exit status ${rc}, expected ${want_rc}; stderr: ${err}")
  elseif(NOT err MATCHES "${regex}")
    fail("${ARGN} > /dev/full: stderr '${err}' does not match '${regex}'")
  endif()
endfunction()

foreach(b ${BENCHES})
  get_filename_component(n ${b} NAME)
  expect(2 "^${n}: --iterations: 100000000000000000000 is out of range \\(1 to 10000000000\\)\n$"
         ${b} --iterations 100000000000000000000)
  expect(2 "^${n}: --iterations: 0 is out of range \\(1 to 10000000000\\)\n$" ${b} --iterations 0)
  expect(2 "^${n}: --ops: 1000000001 is out of range \\(1 to 1000000000\\)\n$" ${b} --ops 1000000001)
  expect(2 "^${n}: --cpus: 0 is out of range \\(1 to 64\\)\n$" ${b} --cpus 0)
  expect(2 "^${n}: --cpus: 65 is out of range \\(1 to 64\\)\n$" ${b} --cpus 65)
  expect(2 "^${n}: --seed: 18446744073709551616 is out of range \\(0 to 18446744073709551615\\)\n$"
         ${b} --seed 18446744073709551616)
  expect(2 "^${n}: --ops: -1 is not a non-negative integer" ${b} --ops -1)
  expect(2 "^${n}: --ops: 12x is not a non-negative integer" ${b} --ops 12x)
  expect(2 "^${n}: unknown (or ambiguous )?option: --no-such-option" ${b} --no-such-option)
  # A --set value out of its key's range: the key's description gives the range.
  expect(2 "^${n}: --set cpus=65: bad value for this configuration key \\(cpus: number of CPUs, 1 to 64\\)\n$"
         ${b} --set cpus=65)
  expect_full(1 "^${n}: error writing the output" ${b} --help)
  if(n STREQUAL "kmap_atomic_bench")
    expect(2 "^${n}: --irq-gap: 1000000001 is out of range \\(0 to 1000000000\\)\n$" ${b} --irq-gap 1000000001)
    expect_full(1 "^${n}: error writing the output" ${b} --ops 20)
    expect_full(1 "^${n}: error writing the output" ${b} --ops 20 --json)
    expect(1 "^${n}: /dev/full: " ${b} --ops 20 --csv /dev/full)
    execute_process(COMMAND ${b} --ops 20 --seed 3 --json OUTPUT_VARIABLE doc RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      fail("${n} --json: exit status ${rc}")
    endif()
    string(JSON v GET "${doc}" bench)
    string(JSON ver GET "${doc}" version)
    string(JSON p GET "${doc}" preset)
    string(JSON s GET "${doc}" seed)
    string(JSON o GET "${doc}" options)
    string(JSON first MEMBER "${doc}" 0)
    if(NOT v STREQUAL n OR NOT ver STREQUAL VERSION OR NOT p STREQUAL "core2" OR NOT s STREQUAL "3"
       OR NOT first STREQUAL "bench")
      fail("${n} --json header: bench ${v}, version ${ver}, preset ${p}, seed ${s}, first key ${first}")
    endif()
    if(NOT o MATCHES "\"--ops\", *\"20\", *\"--seed\", *\"3\"")
      fail("${n} --json options: ${o}")
    endif()
    if(doc MATCHES "[^a-z_\"](nan|inf|-nan|-inf)[^a-z_\"]")
      fail("${n} --json holds a non-finite number")
    endif()
  endif()
  if(n STREQUAL "kmap_bench")
    expect(2 "^${n}: --max-cpus: 65 is out of range \\(1 to 64\\)\n$" ${b} --max-cpus 65)
    expect(2 "^${n}: --ws-large: 1048577 is out of range \\(1 to 1048576\\)\n$" ${b} --ws-large 1048577)
  endif()
endforeach()

# mmusim
execute_process(COMMAND ${MMUSIM} --version OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "mmusim ${VERSION}\n")
  fail("mmusim --version: '${out}' (exit ${rc}), expected 'mmusim ${VERSION}' (the CMake project version)")
endif()
execute_process(COMMAND ${MMUSIM} keys --json OUTPUT_VARIABLE doc RESULT_VARIABLE rc)
string(JSON nkeys LENGTH "${doc}" keys)
string(JSON k0 GET "${doc}" keys 0 key)
string(JSON d0 GET "${doc}" keys 0 default)
string(JSON desc0 GET "${doc}" keys 0 description)
if(NOT rc EQUAL 0 OR nkeys LESS 20 OR NOT k0 STREQUAL "cpus" OR NOT d0 STREQUAL "2" OR NOT desc0 MATCHES "1 to 64")
  fail("mmusim keys --json: exit ${rc}, ${nkeys} keys, first ${k0} default ${d0} (${desc0})")
endif()
expect(2 "^mmusim: --cpus: 0 is out of range \\(1 to 64\\)\n$" ${MMUSIM} layout --cpus 0)
expect(2 "^mmusim: --cpus: 100000000000000000000 is out of range \\(1 to 64\\)\n$"
       ${MMUSIM} layout --cpus 100000000000000000000)
expect(2 "^mmusim: --nr-cpus: 257 is out of range \\(0 to 256\\)\n$" ${MMUSIM} layout --nr-cpus 257)
expect(2 "^mmusim: --cpus: 'x' is not a non-negative integer\n$" ${MMUSIM} layout --cpus x)
expect(2 "^mmusim: --set cpus=65: bad value for this configuration key \\(cpus: number of CPUs, 1 to 64\\)\n$"
       ${MMUSIM} layout --set cpus=65)
expect(2 "^mmusim: unknown command 'nope'" ${MMUSIM} nope)
expect_full(1 "^mmusim: error writing the output\n$" ${MMUSIM} layout)
expect_full(1 "^mmusim: error writing the output\n$" ${MMUSIM} layout --json)
expect_full(1 "^mmusim: error writing the output\n$" ${MMUSIM} keys --json)
expect_full(1 "^mmusim: error writing the output\n$" ${MMUSIM} --version)
