/* mmusim — the CPU structure, private to the library. */
#ifndef MMUSIM_CPU_IMPL_H
#define MMUSIM_CPU_IMPL_H

#include "mmu/mmu.h"
#include "tlb/tlbset.h"
#include <stddef.h>

#include "cpu/cpu_sys.h"
#include "cpu/smp_impl.h"
#include "mmusim/smp.h"

struct mmusim_cpu {
    /* The members a layer above may read without a call (cpu/hooks.h,
     * struct mmusim__cpu_head), first, and by name for this layer. */
    union {
        struct mmusim__cpu_head head;
        struct {
            struct cpu_sys *sys;    /* the layer's machine-wide part */
            unsigned id;
            uint64_t cycles;        /* this CPU's clock */
            unsigned char *ext;     /* the layers' per-CPU extension area (hooks.c) */
        };
    };
    /* What a TLB hit must find in an entry's flags, per access (kind | user):
     * (flags & hit_mask[a]) == hit_want[a]. Rebuilt when CR0.WP changes. */
    uint32_t hit_mask[8], hit_want[8];
    /* The array an access looks in first, by kind (read, write, exec; 3 is
     * unused): the uTLB for loads where there is one, else the L1 4 KiB
     * array. Fixed at creation, as the arrays' presence is. */
    struct tlb_array *first[4];
    /* &sys->cfg->costs and &sys->mmu->pm.gen, a load nearer: the kmap_atomic short
     * paths charge from the one and test their PTE handles against the other (cpu/hot.h). */
    const struct mmusim_costs *costs;
    const uint64_t *pm_gen;
    struct tlbset tlb;
    struct mmusim_cpu_regs regs;
    struct ptcache ptc;
    struct mmusim_cpu_stats stats;
    struct cpu_smp smp;             /* the engine's view: contexts, run queue, interrupts */
};

/* Rebuild hit_mask/hit_want from CR0.WP (src/cpu/access.c). */
void mmusim__cpu_update_hit_masks(struct mmusim_cpu *cpu);
/* Drop entries as a CR3 write (keep_global) or PGE change does, counting them. */
void mmusim__cpu_tlb_flush(struct mmusim_cpu *cpu, int keep_global);
/*
 * n loads of the PDPTE registers from CR3 under PAE (SDM Vol. 3A §4.4.1), as
 * n MOVs that reload them would do (__flush_tlb_global's two CR4 writes):
 * pdpte_loads += n, *extra = n * mov_cr3_pae_extra, for the caller to
 * charge. MMUSIM_EGP on a reserved bit in a present PDPTE, and then nothing
 * changes. Without PAE (or n 0): nothing, *extra 0.
 */
int mmusim__cpu_pdpte_reload(struct mmusim_cpu *cpu, unsigned n, uint64_t *extra);

/* The record of the last store to the entry at pa, or NULL (src/cpu/pte.c). */
const struct pte_writer *mmusim__pte_writer_find(const struct pte_writers *w, uint64_t pa);
void mmusim__pte_writers_fini(struct pte_writers *w);

/* Boot state: paging on, WP, CR4 and EFER from the features, CR3 = swapper_pg_dir. */
int mmusim__cpu_init(struct mmusim_cpu *cpu, struct cpu_sys *sys, unsigned id);
void mmusim__cpu_fini(struct mmusim_cpu *cpu);

/* The walker's view of this CPU. */
static inline struct mmu_ctx cpu_mmu_ctx(struct mmusim_cpu *cpu)
{
    struct mmu_ctx c = {cpu->sys->mmu, &cpu->regs, &cpu->ptc, &cpu->sys->cfg->costs, &cpu->stats};
    return c;
}

/* The union's two views of the head must agree member by member. */
_Static_assert(offsetof(struct mmusim_cpu, sys) == offsetof(struct mmusim_cpu, head.sys), "cpu head: sys");
_Static_assert(offsetof(struct mmusim_cpu, id) == offsetof(struct mmusim_cpu, head.id), "cpu head: id");
_Static_assert(offsetof(struct mmusim_cpu, cycles) == offsetof(struct mmusim_cpu, head.cycles), "cpu head: cycles");
_Static_assert(offsetof(struct mmusim_cpu, ext) == offsetof(struct mmusim_cpu, head.ext), "cpu head: ext");
_Static_assert(offsetof(struct mmusim_cpu, head) == 0, "cpu head first");

#endif /* MMUSIM_CPU_IMPL_H */
