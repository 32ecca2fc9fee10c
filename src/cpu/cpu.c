/*
 * mmusim — CPU control registers and the walk entry point (include/mmusim/cpu.h).
 */
#include <stdlib.h>

#include "cpu/cpu_impl.h"
#include "internal.h"
#include "mmusim/error.h"

/* Load the PDPTE registers from the PDPT at cr3 (SDM §4.4.1); EGP on a reserved bit. */
static int load_pdptes(const struct mmusim_cpu *cpu, uint64_t cr3, uint64_t pdpte[4])
{
    for (unsigned i = 0; i < 4; i++) {
        pdpte[i] = physmem_read64(&cpu->sys->mmu->pm, (cr3 & ~0x1full) + i * 8);
        if ((pdpte[i] & MMUSIM_PTE_P) && (pdpte[i] & PAE_PDPTE_RSVD))
            return MMUSIM_EGP;
    }
    return MMUSIM_OK;
}

int mmusim__cpu_init(struct mmusim_cpu *cpu, struct cpu_sys *m, unsigned id)
{
    const struct mmusim_config *cfg = m->cfg;
    memset(cpu, 0, sizeof(*cpu));
    cpu->sys = m;
    cpu->id = id;
    cpu->costs = &cfg->costs;
    cpu->pm_gen = &m->mmu->pm.gen;
    cpu->regs.cr0 = MMUSIM_CR0_PE | MMUSIM_CR0_PG | MMUSIM_CR0_WP;
    if (cfg->features & MMUSIM_FEAT_PSE)
        cpu->regs.cr4 |= MMUSIM_CR4_PSE;
    if (cfg->features & MMUSIM_FEAT_PGE)
        cpu->regs.cr4 |= MMUSIM_CR4_PGE;
    if (m->mmu->pae)
        cpu->regs.cr4 |= MMUSIM_CR4_PAE;
    if (cfg->features & MMUSIM_FEAT_NX)
        cpu->regs.efer |= MMUSIM_EFER_NXE;
    cpu->regs.cr3 = m->mmu->swapper_cr3;
    if (m->mmu->pae && load_pdptes(cpu, m->mmu->swapper_cr3, cpu->regs.pdpte) != MMUSIM_OK)
        return MMUSIM_EGP; /* cannot happen: swapper's PDPTEs are well formed */
    mmusim__cpu_update_hit_masks(cpu);
    /* Every CPU's random replacement draws from its own stream of the seed. */
    int rc = mmusim__tlbset_init(&cpu->tlb, &cfg->tlb, m->mmu->pae, cfg->seed ^ ((uint64_t)id << 32));
    if (rc != MMUSIM_OK)
        return rc;
    struct tlb_array *a = cpu->tlb.a;
    cpu->first[MMUSIM_ACC_READ] = tlb_array_present(&a[TS_UTLB]) ? &a[TS_UTLB] : &a[TS_DTLB_4K];
    cpu->first[MMUSIM_ACC_WRITE] = &a[TS_DTLB_4K];
    cpu->first[MMUSIM_ACC_EXEC] = &a[TS_ITLB_4K];
    cpu->first[3] = &a[TS_DTLB_4K]; /* not an access kind; never looked at */
    return mmusim__ptcache_init(&cpu->ptc, cfg->ptcache_lines, cfg->ptcache_ways);
}

void mmusim__cpu_fini(struct mmusim_cpu *cpu)
{
    mmusim__smp_cpu_fini(cpu);
    mmusim__tlbset_fini(&cpu->tlb);
    mmusim__ptcache_fini(&cpu->ptc);
}

mmusim_cpu *mmusim__cpu_sys_cpu(struct cpu_sys *s, unsigned i)
{
    return &s->cpus[i];
}

int mmusim__cpu_sys_cr3_loaded(const struct cpu_sys *s, uint64_t cr3)
{
    for (unsigned c = 0; c < s->ncpus; c++)
        if (s->cpus[c].regs.cr3 == cr3)
            return 1;
    return 0;
}

int mmusim__cpu_sys_init(struct cpu_sys *s, mmusim_machine *owner, const struct mmusim_config *cfg,
                         const struct mmusim_layout *layout, struct mmu *mmu)
{
    s->owner = owner;
    s->cfg = cfg;
    s->layout = layout;
    s->mmu = mmu;
    s->writers.shift = mmu->pae ? 3u : 2u; /* 8-byte PAE entries, 4-byte 2-level ones */
    if (!(s->cpus = mmusim__calloc(cfg->ncpus, sizeof(*s->cpus))))
        return MMUSIM_ENOMEM;
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        s->ncpus = i + 1; /* so fini finalises exactly those initialised */
        int rc = mmusim__cpu_init(&s->cpus[i], s, i);
        if (rc != MMUSIM_OK)
            return rc;
    }
    return mmusim__smp_machine_init(s);
}

void mmusim__cpu_sys_fini(struct cpu_sys *s)
{
    mmusim__smp_machine_fini(s);
    for (unsigned i = 0; i < s->ncpus; i++)
        mmusim__cpu_fini(&s->cpus[i]);
    mmusim__free(s->cpus);
    mmusim__free(s->violations);
    mmusim__pte_writers_fini(&s->writers);
    s->cpus = NULL;
    s->violations = NULL;
    s->ncpus = 0;
}

void mmusim__cpu_tlb_flush(struct mmusim_cpu *cpu, int keep_global)
{
    unsigned n = mmusim__tlbset_flush(&cpu->tlb, keep_global);
    if (keep_global) {
        cpu->stats.dropped_cr3 += n;
    } else {
        cpu->stats.dropped_global += n;
        cpu->stats.global_flushes++;
    }
}

unsigned mmusim_cpu_id(const mmusim_cpu *cpu)
{
    return cpu ? cpu->id : 0;
}

mmusim_machine *mmusim_cpu_machine(mmusim_cpu *cpu)
{
    return cpu ? cpu->sys->owner : NULL;
}

uint64_t mmusim_cpu_cycles(const mmusim_cpu *cpu)
{
    return cpu ? cpu->cycles : 0;
}

void mmusim_cpu_regs(const mmusim_cpu *cpu, struct mmusim_cpu_regs *out)
{
    if (cpu && out)
        *out = cpu->regs;
}

void mmusim_cpu_stats(const mmusim_cpu *cpu, struct mmusim_cpu_stats *out)
{
    if (cpu && out)
        *out = cpu->stats;
}

void mmusim_cpu_stats_reset(mmusim_cpu *cpu)
{
    if (!cpu)
        return;
    memset(&cpu->stats, 0, sizeof(cpu->stats));
    for (int i = 0; i < TS_COUNT; i++)
        memset(&cpu->tlb.a[i].st, 0, sizeof(cpu->tlb.a[i].st));
}

static void charge(struct mmusim_cpu *cpu, uint64_t c, uint64_t *out)
{
    cpu->cycles += c;
    if (out)
        *out = c;
}

int mmusim_cpu_write_cr3(mmusim_cpu *cpu, uint64_t cr3, uint64_t *cycles)
{
    uint64_t pdpte[4];
    if (!cpu || cr3 > 0xffffffffull)
        return MMUSIM_EINVAL; /* CR3 is a 32-bit register on i686 */
    if (cpu->sys->mmu->pae) {
        int rc = load_pdptes(cpu, cr3, pdpte);
        if (rc != MMUSIM_OK)
            return rc;
        memcpy(cpu->regs.pdpte, pdpte, sizeof(pdpte));
    }
    cpu->regs.cr3 = cr3;
    /* MOV to CR3 drops all but global entries, and the PDE cache (SDM §4.10.4.1). */
    mmusim__cpu_tlb_flush(cpu, 1);
    uint64_t c = cpu->sys->cfg->costs.mov_cr3;
    if (cpu->sys->mmu->pae) {
        c += cpu->sys->cfg->costs.mov_cr3_pae_extra; /* the four PDPTE loads */
        cpu->stats.pdpte_loads++;
    }
    cpu->stats.cr3_writes++;
    cpu->stats.cr3_cycles += c;
    charge(cpu, c, cycles);
    return MMUSIM_OK;
}

int mmusim_cpu_write_cr4(mmusim_cpu *cpu, uint32_t cr4, uint64_t *cycles)
{
    if (!cpu)
        return MMUSIM_EINVAL;
    const struct mmusim_config *cfg = cpu->sys->cfg;
    if (cr4 & ~(MMUSIM_CR4_PSE | MMUSIM_CR4_PAE | MMUSIM_CR4_PGE))
        return MMUSIM_EINVAL;
    if (((cr4 & MMUSIM_CR4_PAE) != 0) != (cpu->sys->mmu->pae != 0))
        return MMUSIM_EINVAL; /* the machine's tables are in one format */
    if (((cr4 & MMUSIM_CR4_PSE) && !(cfg->features & MMUSIM_FEAT_PSE)) ||
        ((cr4 & MMUSIM_CR4_PGE) && !(cfg->features & MMUSIM_FEAT_PGE)))
        return MMUSIM_EFEATURE;
    uint32_t changed = cr4 ^ cpu->regs.cr4;
    /*
     * With PAE paging in use after it, a MOV to CR4 that modifies PAE, PGE or
     * PSE loads the four PDPTE registers from CR3, as a MOV to CR3 does, with
     * the same #GP on a reserved bit in a present PDPTE (SDM Vol. 3A §4.4.1).
     * A faulting MOV does not happen: CR4, the registers, the TLBs, the clock
     * and the counters stay as they were.
     */
    int load = cpu->sys->mmu->pae && (changed & (MMUSIM_CR4_PAE | MMUSIM_CR4_PGE | MMUSIM_CR4_PSE));
    if (load) {
        uint64_t pdpte[4];
        int rc = load_pdptes(cpu, cpu->regs.cr3, pdpte);
        if (rc != MMUSIM_OK)
            return rc;
        memcpy(cpu->regs.pdpte, pdpte, sizeof(pdpte));
    }
    cpu->regs.cr4 = cr4;
    /*
     * One CR4 write is half of __flush_tlb_global's pair. Every accepted write
     * is charged and counted in cr4_cycles, flushing or not; a flush it causes
     * counts in global_flushes, its cycles stay in cr4_cycles only. A PDPTE
     * load costs what the CR3 write pays for its own, mov_cr3_pae_extra.
     */
    uint64_t c = cfg->costs.pge_toggle / 2;
    if (load) {
        c += cfg->costs.mov_cr3_pae_extra;
        cpu->stats.pdpte_loads++;
    }
    cpu->stats.cr4_writes++;
    cpu->stats.cr4_cycles += c;
    if (changed & (MMUSIM_CR4_PGE | MMUSIM_CR4_PSE)) {
        /*
         * A change of PGE flushes everything (SDM Vol. 3A §4.10.4.1). So does a
         * change of PSE, on every preset: that is the P6/P4 rule ("changing any
         * paging flag flushes all entries", SDM Vol. 2A "MOV to CRn",
         * hw-costs.md §1). Elsewhere it flushes more than required, which
         * §4.10.4.1 allows (a processor may always invalidate more, p. 4-42).
         */
        mmusim__cpu_tlb_flush(cpu, 0);
    }
    charge(cpu, c, cycles);
    return MMUSIM_OK;
}

int mmusim__cpu_pdpte_reload(struct mmusim_cpu *cpu, unsigned n, uint64_t *extra)
{
    *extra = 0;
    if (!cpu->sys->mmu->pae || n == 0)
        return MMUSIM_OK;
    uint64_t pdpte[4];
    int rc = load_pdptes(cpu, cpu->regs.cr3, pdpte); /* every load reads the same CR3: the first decides */
    if (rc != MMUSIM_OK)
        return rc;
    memcpy(cpu->regs.pdpte, pdpte, sizeof(pdpte));
    cpu->stats.pdpte_loads += n;
    *extra = (uint64_t)n * cpu->sys->cfg->costs.mov_cr3_pae_extra;
    return MMUSIM_OK;
}

int mmusim_cpu_write_cr0(mmusim_cpu *cpu, uint32_t cr0)
{
    if (!cpu)
        return MMUSIM_EINVAL;
    if ((cr0 ^ cpu->regs.cr0) & ~MMUSIM_CR0_WP)
        return MMUSIM_EINVAL; /* paging and protection stay on */
    cpu->regs.cr0 = cr0;
    mmusim__cpu_update_hit_masks(cpu);
    return MMUSIM_OK;
}

int mmusim_cpu_write_efer(mmusim_cpu *cpu, uint64_t efer)
{
    if (!cpu)
        return MMUSIM_EINVAL;
    if (efer & ~(uint64_t)MMUSIM_EFER_NXE)
        return MMUSIM_EINVAL;
    if ((efer & MMUSIM_EFER_NXE) && !(cpu->sys->cfg->features & MMUSIM_FEAT_NX))
        return MMUSIM_EFEATURE;
    cpu->regs.efer = efer;
    return MMUSIM_OK;
}

int mmusim_cpu_walk(mmusim_cpu *cpu, uint32_t va, unsigned access, struct mmusim_walk *out)
{
    if (!cpu || !out || (access & ~7u) || MMUSIM_ACC_KIND(access) == 3u)
        return MMUSIM_EINVAL;
    struct mmu_ctx c = cpu_mmu_ctx(cpu);
    mmusim__mmu_walk(&c, va, access, WALK_SET_AD, out, NULL);
    if (out->fault)
        cpu->regs.cr2 = out->cr2;
    cpu->stats.walk_cycles += out->cycles;
    cpu->cycles += out->cycles;
    return MMUSIM_OK;
}
