# The compile_fail test: tests/compile_fail/control.c must compile (warnings
# as errors), and every other file there must fail to compile with a
# diagnostic that names both struct mmusim_page and struct mmusim_kaddr: a
# page passed where a kmap address is expected (kunmap_atomic, kunmap_local)
# is a type error, as 2.6.37's BUILD_BUG_ON(__same_type(addr, struct page *))
# made it in the kernel. Run with -DCC=... -DINCLUDE=... -DDIR=...
set(base -std=c11 -Wall -Wextra -Werror -fsyntax-only -I "${INCLUDE}")

execute_process(COMMAND "${CC}" ${base} "${DIR}/control.c" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the control file does not compile, so the test proves nothing:\n${err}")
endif()

file(GLOB cases "${DIR}/*.c")
set(n 0)
foreach(src ${cases})
  get_filename_component(name "${src}" NAME)
  if(name STREQUAL "control.c")
    continue()
  endif()
  math(EXPR n "${n} + 1")
  execute_process(COMMAND "${CC}" ${base} "${src}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "${name} compiled, but passing a struct mmusim_page for an address must not")
  endif()
  if(NOT "${out}${err}" MATCHES "mmusim_page" OR NOT "${out}${err}" MATCHES "mmusim_kaddr")
    message(FATAL_ERROR "${name} failed to compile for another reason than the page/address type mismatch:\n${out}${err}")
  endif()
  message(STATUS "${name}: refused, as it must be")
endforeach()
if(n EQUAL 0)
  message(FATAL_ERROR "no file to refuse in ${DIR}")
endif()
