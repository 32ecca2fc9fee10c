/*
 * mmusim — kernel stores to page-table entries by a CPU (include/mmusim/pte.h).
 *
 * The entry is found in the shared kernel tables (swapper_pg_dir) and stored
 * through the mmu layer's mmusim__pt_set / mmusim__pt_clear, which keep the
 * PAE half order; the charge is the CPU's.
 */
#include <stdlib.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"
#include "mmusim/pte.h"

/* ---- the stores ---- */

/* The 4 KiB entry for the kernel address va, in the shared kernel tables. */
static int kernel_entry(const struct cpu_sys *s, uint32_t va, struct mmusim_pte_info *info)
{
    int rc = mmusim__pt_get(s->mmu, s->mmu->swapper_cr3, va, info);
    if (rc == MMUSIM_OK && info->size == MMUSIM_PAGE_LARGE)
        rc = MMUSIM_ELARGE;
    return rc;
}

/* set_pte (clear 0) or pte_clear (clear 1) of the entry for va, arguments checked. */
static int pte_store(struct mmusim_cpu *cpu, uint32_t va, uint64_t v, int clear, uint64_t *old)
{
    struct cpu_sys *s = cpu->sys;
    struct mmusim_pte_info info;
    int rc = kernel_entry(s, va, &info);
    if (rc != MMUSIM_OK)
        return rc;
    /* Both halves of a PAE entry lie in one frame: if the first 32-bit store
     * finds no host memory for it, nothing is stored; the second cannot fail. */
    rc = clear ? mmusim__pt_clear(s->mmu, info.entry_pa) : mmusim__pt_set(s->mmu, info.entry_pa, v);
    if (rc != MMUSIM_OK)
        return rc;
    uint64_t c = s->cfg->costs.pte_write;
    cpu->cycles += c;
    cpu->stats.pte_writes++;
    cpu->stats.pte_write_cycles += c;
    if (old)
        *old = info.raw;
    return MMUSIM_OK;
}

int mmusim_set_pte(mmusim_cpu *cpu, uint32_t va, uint64_t pa, uint64_t flags, uint64_t *old)
{
    if (!cpu || va < cpu->sys->layout->page_offset)
        return MMUSIM_EINVAL;
    int rc = mmusim__pt_check_map(cpu->sys->mmu, va, pa, MMUSIM_PAGE_4K, flags);
    if (rc != MMUSIM_OK)
        return rc;
    return pte_store(cpu, va, pa | flags | MMUSIM_PTE_P, 0, old);
}

int mmusim_pte_clear(mmusim_cpu *cpu, uint32_t va, uint64_t *old)
{
    if (!cpu || va < cpu->sys->layout->page_offset)
        return MMUSIM_EINVAL;
    return pte_store(cpu, va, 0, 1, old);
}
