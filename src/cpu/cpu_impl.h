/* mmusim — the CPU structure, private to the library. */
#ifndef MMUSIM_CPU_IMPL_H
#define MMUSIM_CPU_IMPL_H

#include "mmu/mmu.h"

struct mmusim_cpu {
    struct mmusim_machine *m;
    unsigned id;
    uint64_t cycles;                /* this CPU's clock */
    struct mmusim_cpu_regs regs;
    struct ptcache ptc;
    struct mmusim_cpu_stats stats;
};

/* Boot state: paging on, WP, CR4 and EFER from the features, CR3 = swapper_pg_dir. */
int cpu_init(struct mmusim_cpu *cpu, struct mmusim_machine *m, unsigned id);
void cpu_fini(struct mmusim_cpu *cpu);

/* The walker's view of this CPU. */
static inline struct mmu_ctx cpu_mmu_ctx(struct mmusim_cpu *cpu)
{
    struct mmu_ctx c = {cpu->m, &cpu->regs, &cpu->ptc, &cpu->m->cfg.costs, &cpu->stats};
    return c;
}

#endif /* MMUSIM_CPU_IMPL_H */
