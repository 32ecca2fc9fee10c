/*
 * mmusim — kernel stores to page-table entries, made by a CPU.
 *
 * mmusim_set_pte and mmusim_pte_clear are Linux's set_pte and pte_clear on a
 * kernel address: the store a kmap, kunmap or kmap_atomic makes to a pkmap
 * or fixmap entry. Unlike mmusim_pt_map and mmusim_pt_unmap (pgtable.h),
 * which set the machine up and charge nobody, they run on a CPU:
 *
 *   - the store is charged to that CPU's clock: the cost pte_write, once per
 *     call (a PAE entry's two 32-bit halves are one entry store), counted in
 *     the CPU's pte_writes and pte_write_cycles (stats.h);
 *   - under PAE the halves are stored in Linux's order: set_pte the high
 *     half, then the low half holding P; pte_clear the low half, then the
 *     high half (pgtable.h; mmusim_machine_set_store_hook shows the order);
 *   - the machine records which CPU last stored to the entry, and at which
 *     cycle (mmusim_pte_last_writer below); the coherence checker names that
 *     CPU and cycle in a violation (cpu.h, struct mmusim_coherence_violation);
 *   - no TLB is touched, on any CPU: flushing is the caller's job, as in the
 *     kernel. A CPU that cached the old translation keeps using it until it
 *     is flushed;
 *   - whatever the entry holds is overwritten, present or not: there is no
 *     "already mapped" refusal (kmap_atomic before 2.6.20 overwrites its slot
 *     without clearing it first), and *old receives the entry as it was.
 *
 * Another CPU's walk reads the entry, so inside a run the store takes effect
 * in global simulated-time order, as locks, IPI sends and wake-ups do
 * (docs/smp.md, Global time order): MMUSIM_OK when it was stored in the
 * call; MMUSIM_PENDING when it comes later than another CPU's next event,
 * and the engine stores it at its turn (the step must return; *old is
 * filled with what the entry held then, when the step is called again).
 * Outside a run, and on a one-CPU machine, it is always stored at once.
 *
 * Only kernel addresses (va >= PAGE_OFFSET) are accepted, in the shared
 * kernel page tables (every address space sees the same entry), and only
 * where the page table already exists: the pkmap and fixmap tables are
 * allocated at boot (machine.h), others by mmusim_pt_map. These calls never
 * allocate a page table.
 *
 * Errors, each leaving the entry, the clock, the counters and the record as
 * they were, checked in this order:
 *   MMUSIM_EINVAL      cpu NULL, or va below PAGE_OFFSET (a user address)
 *   MMUSIM_EALIGN      set_pte: va or pa not 4 KiB aligned
 *   MMUSIM_EPHYS       set_pte: the page at pa not wholly inside RAM
 *   MMUSIM_EINVAL      set_pte: a flag outside MMUSIM_PTE_P, RW, US, PWT,
 *                      PCD, A, D, G, NX (MMUSIM_PTE_PS, for one)
 *   MMUSIM_EFEATURE    set_pte: MMUSIM_PTE_NX without PAE
 *   MMUSIM_ENOTMAPPED  no page table covers va
 *   MMUSIM_EPHYS       the kernel PDE for va (or, under PAE, its PDPTE)
 *                      names a table past the end of RAM (docs/tlb.md §9)
 *   MMUSIM_ELARGE      va lies in a large page (the direct map of lowmem)
 *   MMUSIM_ENOMEM      out of host memory (for the record, or for the
 *                      contents of a table never stored to before)
 * set_pte's argument checks are mmusim_pt_map's, in the same order.
 */
#ifndef MMUSIM_PTE_H
#define MMUSIM_PTE_H

#include "api.h"

#include <stdint.h>

#include "cpu.h"
#include "machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * set_pte(pte of va, pfn_pte(pa >> 12, flags)): store pa | flags | P into
 * the 4 KiB entry mapping the kernel address va (P is implied, as in
 * mmusim_pt_map; A, D, G and NX are stored as given). *old (old may be NULL)
 * receives the entry as it was, present or not.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_set_pte(mmusim_cpu *cpu, uint32_t va, uint64_t pa, uint64_t flags,
                                               uint64_t *old);

/*
 * pte_clear(pte of va): store 0 into the 4 KiB entry mapping the kernel
 * address va (any address inside the page), present or not. *old (old may
 * be NULL) receives the entry as it was.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pte_clear(mmusim_cpu *cpu, uint32_t va, uint64_t *old);

/*
 * Who last stored to the 4 KiB entry mapping the kernel address va through
 * mmusim_set_pte or mmusim_pte_clear: *cpu gets the CPU's index and *cycle
 * that CPU's clock when the store began (before pte_write was charged).
 * If no CPU did, or if the entry was written since by one of the machine's
 * own calls (mmusim_pt_map, _unmap, _protect, _set_raw), *cpu gets
 * MMUSIM_NO_WRITER and *cycle 0, and MMUSIM_OK is returned. Raw stores to
 * physical memory (mmusim_phys_write*) and the walker's Accessed/Dirty
 * updates do not change the record. cpu and cycle may be NULL.
 *
 * MMUSIM_EINVAL if m is NULL or va is below PAGE_OFFSET, MMUSIM_ENOTMAPPED if
 * no page table covers va, MMUSIM_ELARGE if va lies in a large page,
 * MMUSIM_EPHYS if its page table lies past the end of RAM (docs/tlb.md §9).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pte_last_writer(const mmusim_machine *m, uint32_t va, unsigned *cpu,
                                                       uint64_t *cycle);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_PTE_H */
