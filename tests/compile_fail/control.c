/*
 * The control of the compile_fail test: the same calls as its other files,
 * given the address kmap_atomic and kmap_local return. It must compile with
 * warnings as errors, so that the test fails if the headers or the compiler
 * command line break, rather than passing because everything fails.
 */
#include "mmusim.h"

int unmap_address(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr);

int unmap_address(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr)
{
    int rc = mmusim_kunmap_atomic(cpu, k, addr, MMUSIM_KM_USER0);
    if (rc != MMUSIM_OK)
        return rc;
    return mmusim_kunmap_local(cpu, k, addr);
}
