# The replay of a real program against cachegrind (docs/replay.md).
#   -DMMUSIM=mmusim -DPROGRAM=matrix32 -DM32_OK=ON|OFF -DWORK=dir
# 1. valgrind's lackey traces the i386 program and its output is piped,
#    with no file in between, into mmusim replay --lackey -.
# 2. cachegrind runs the same program with I1 and D1 shaped as the TLBs
#    (size = entries x 4096, the same ways, 4096-byte lines; cachegrind's
#    replacement is LRU), and mmusim replays with that geometry, LRU, no
#    STLB and no uTLB. A demand fault makes its access miss twice in mmusim
#    (the faulting lookup and the retry), never in cachegrind, so mmusim's
#    misses less its faults of that side must equal cachegrind's within 0.5%.
# Where gcc -m32 or valgrind cannot run, the test prints
# REPLAY_PROGRAM_SKIPPED (CTest's SKIP_REGULAR_EXPRESSION) and says why.
cmake_minimum_required(VERSION 3.25)
file(MAKE_DIRECTORY ${WORK})

function(skip why)
  message("REPLAY_PROGRAM_SKIPPED: ${why}")
endfunction()

if(NOT M32_OK)
  skip("gcc -m32 does not link here (install gcc-multilib: bash scripts/dev.sh test does)")
  return()
endif()
find_program(VALGRIND valgrind)
if(NOT VALGRIND)
  skip("valgrind is not installed (bash scripts/dev.sh test installs it)")
  return()
endif()
execute_process(COMMAND ${VALGRIND} --tool=none -q ${PROGRAM} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  skip("valgrind cannot run the i386 program here (exit ${rc}): ${err}")
  return()
endif()

# Valgrind places the client's stack after the host's address-space
# randomisation, so the stack page (and the TLB set it falls in) moves from
# run to run: about 7% of this program's DTLB misses with it. Both tools
# run with randomisation off (setarch -R), so they trace the same layout.
set(NORAND "")
find_program(SETARCH setarch)
if(SETARCH)
  execute_process(COMMAND ${SETARCH} -R true RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    set(NORAND ${SETARCH} -R)
  endif()
endif()
if(NOT NORAND)
  message(STATUS "setarch -R is not available: the two runs may see different stack placements")
endif()

# The TLB geometry under test: ITLB 8 entries 2-way, DTLB 64 entries 4-way.
set(I_ENTRIES 8)
set(I_WAYS 2)
set(D_ENTRIES 64)
set(D_WAYS 4)
math(EXPR I_BYTES "${I_ENTRIES} * 4096")
math(EXPR D_BYTES "${D_ENTRIES} * 4096")
set(GEOMETRY --set tlb.replacement=lru --set itlb.4k.entries=${I_ENTRIES} --set itlb.4k.ways=${I_WAYS}
             --set dtlb.4k.entries=${D_ENTRIES} --set dtlb.4k.ways=${D_WAYS}
             --set utlb.entries=0 --set stlb.entries=0)

# 1. lackey | mmusim replay --lackey -
execute_process(COMMAND ${NORAND} ${VALGRIND} --tool=lackey --trace-mem=yes --log-fd=1 ${PROGRAM}
                COMMAND ${MMUSIM} replay --lackey - --json ${GEOMETRY}
                OUTPUT_VARIABLE doc ERROR_VARIABLE err RESULTS_VARIABLE rcs)
if(NOT rcs STREQUAL "0;0")
  message(FATAL_ERROR "valgrind --tool=lackey | mmusim replay: exit statuses ${rcs}: ${err}")
endif()
string(JSON m_i GET "${doc}" references I)
string(JSON m_l GET "${doc}" references L)
string(JSON m_s GET "${doc}" references S)
string(JSON m_m GET "${doc}" references M)
string(JSON m_imiss GET "${doc}" tlbs itlb.4k misses)
string(JSON m_dmiss GET "${doc}" tlbs dtlb.4k misses)
string(JSON m_faults GET "${doc}" faults)
string(JSON m_ifaults GET "${doc}" faults_exec)
string(JSON m_viol GET "${doc}" violations)
string(JSON m_unreloc GET "${doc}" unrelocatable)
if(m_i LESS 100000 OR m_faults LESS 50)
  message(FATAL_ERROR "the replay saw too little: ${m_i} instructions, ${m_faults} faults")
endif()
if(NOT m_viol EQUAL 0 OR NOT m_unreloc EQUAL 0)
  message(FATAL_ERROR "violations ${m_viol}, unrelocatable ${m_unreloc}: expected none without --elf")
endif()

# 2. cachegrind as a TLB
execute_process(COMMAND ${NORAND} ${VALGRIND} --tool=cachegrind --cache-sim=yes --I1=${I_BYTES},${I_WAYS},4096
                        --D1=${D_BYTES},${D_WAYS},4096 --LL=8388608,16,4096 --cachegrind-out-file=/dev/null
                        ${PROGRAM}
                RESULT_VARIABLE rc ERROR_VARIABLE cg)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cachegrind: exit ${rc}: ${cg}")
endif()
function(cg_field regex out)
  if(NOT cg MATCHES "${regex} +([0-9,]+)")
    message(FATAL_ERROR "cachegrind output lacks '${regex}': ${cg}")
  endif()
  string(REPLACE "," "" v "${CMAKE_MATCH_1}")
  set(${out} ${v} PARENT_SCOPE)
endfunction()
cg_field("I   refs:" cg_ir)
cg_field("I1  misses:" cg_i1)
cg_field("D1  misses:" cg_d1)
if(NOT cg MATCHES "D   refs: +[0-9,]+ +\\( *([0-9,]+) rd +\\+ *([0-9,]+) wr")
  message(FATAL_ERROR "cachegrind output lacks 'D refs': ${cg}")
endif()
string(REPLACE "," "" cg_dr "${CMAKE_MATCH_1}")
string(REPLACE "," "" cg_dw "${CMAKE_MATCH_2}")

math(EXPR m_dfaults "${m_faults} - ${m_ifaults}")
math(EXPR m_i_cmp "${m_imiss} - ${m_ifaults}")
math(EXPR m_d_cmp "${m_dmiss} - ${m_dfaults}")
math(EXPR m_reads "${m_l} + ${m_m}")
message(STATUS "references: mmusim I ${m_i} L+M ${m_reads} S ${m_s}; cachegrind I ${cg_ir} Dr ${cg_dr} Dw ${cg_dw}")
message(STATUS "ITLB misses: mmusim ${m_imiss} - ${m_ifaults} fetch faults = ${m_i_cmp}; cachegrind I1 ${cg_i1}")
message(STATUS "DTLB misses: mmusim ${m_dmiss} - ${m_dfaults} data faults = ${m_d_cmp}; cachegrind D1 ${cg_d1}")

# |a - b| <= 0.5% of b, in integers
function(within what a b)
  math(EXPR d "${a} - ${b}")
  if(d LESS 0)
    math(EXPR d "0 - ${d}")
  endif()
  math(EXPR lhs "${d} * 1000")
  math(EXPR rhs "${b} * 5")
  if(lhs GREATER rhs)
    message(SEND_ERROR "${what}: mmusim ${a}, cachegrind ${b}: more than 0.5% apart")
  endif()
endfunction()
within("instructions" ${m_i} ${cg_ir})
within("data reads (L + M)" ${m_reads} ${cg_dr})
within("data writes (S)" ${m_s} ${cg_dw})
within("ITLB misses" ${m_i_cmp} ${cg_i1})
within("DTLB misses" ${m_d_cmp} ${cg_d1})

# 3. The same trace with --elf: the program's own pages, rights and bytes
# from the ELF loader. Its text, data and bss are mapped before the first
# reference, so only pages the loader does not make (the heap past brk, the
# part of valgrind's stack below the loaded one) demand-fault: fewer faults
# than without --elf, and no access breaks a segment's rights.
execute_process(COMMAND ${NORAND} ${VALGRIND} --tool=lackey --trace-mem=yes --log-fd=1 ${PROGRAM}
                COMMAND ${MMUSIM} replay --lackey - --elf ${PROGRAM} --json ${GEOMETRY}
                OUTPUT_VARIABLE edoc ERROR_VARIABLE err RESULTS_VARIABLE rcs)
if(NOT rcs STREQUAL "0;0")
  message(FATAL_ERROR "valgrind --tool=lackey | mmusim replay --elf: exit statuses ${rcs}: ${err}")
endif()
string(JSON e_i GET "${edoc}" references I)
string(JSON e_faults GET "${edoc}" faults)
string(JSON e_ifaults GET "${edoc}" faults_exec)
string(JSON e_viol GET "${edoc}" violations)
message(STATUS "--elf: faults ${e_faults} (fetches ${e_ifaults}) against ${m_faults} without, violations ${e_viol}")
if(NOT e_i EQUAL m_i OR NOT e_viol EQUAL 0 OR NOT e_ifaults EQUAL 0 OR NOT e_faults LESS m_faults)
  message(SEND_ERROR "--elf: ${e_i} instructions (${m_i} without), ${e_viol} violations, "
                     "${e_ifaults} fetch faults (the text is loaded: none expected), ${e_faults} faults")
endif()
