/*
 * Must not compile: kunmap_local given the page instead of the address
 * kmap_local_page returned. 5.11's include/linux/highmem-internal.h has the
 * same BUILD_BUG_ON(__same_type((__addr), struct page *)) in its
 * kunmap_local macro; here the types differ.
 */
#include "mmusim.h"

int unmap_page(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page);

int unmap_page(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page)
{
    return mmusim_kunmap_local(cpu, k, page);
}
