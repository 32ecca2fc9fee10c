/*
 * Must not compile: kunmap_atomic given the page instead of the address
 * kmap_atomic returned, the mistake of LWN's "On not getting burned by
 * kmap_atomic()" (2004). 2.6.37's include/linux/highmem.h stops it with
 * BUILD_BUG_ON(__same_type((addr), struct page *)) in the kunmap_atomic
 * macro; here struct mmusim_page and struct mmusim_kaddr are distinct types.
 */
#include "mmusim.h"

int unmap_page(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page);

int unmap_page(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page)
{
    return mmusim_kunmap_atomic(cpu, k, page, MMUSIM_KM_USER0);
}
