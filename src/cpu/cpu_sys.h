/*
 * mmusim — the cpu layer's part of the machine, as the machine sees it
 * (src/machine.c): the structure it embeds, its creation, and the public
 * calls that take the machine. Nothing of the engine's private state
 * (src/cpu/smp_impl.h) or of a CPU's structure (src/cpu/cpu_impl.h) shows
 * here: above src/cpu/ only this header and src/cpu/hooks.h are included.
 */
#ifndef MMUSIM_CPU_SYS_H
#define MMUSIM_CPU_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "mmu/mmu.h"
#include "mmusim/cpu.h"
#include "mmusim/smp.h"

struct machine_smp;

/*
 * The last store through mmusim_set_pte, mmusim_pte_clear or a layer's
 * kernel PTE store to each page-table entry (src/cpu/pte.c): one array of
 * records per page-table frame ever stored to (the kernel's fixmap and
 * pkmap tables, a few more), indexed by the entry's place in its frame, the
 * frame found through a small list with the last one used cached, since a
 * layer writes the same table over and over (kmap's slots).
 */
struct pte_writer {
    uint64_t cycle;    /* the writer's clock when its store began */
    unsigned cpu;      /* MMUSIM_NO_WRITER: nobody since the record was made or forgotten */
};

struct pte_writer_table {
    uint64_t pfn;               /* the page-table frame */
    struct pte_writer *rec;     /* one per entry of the frame (1024, or 512 under PAE) */
};

struct pte_writers {
    struct pte_writer_table *tables;
    size_t n, cap;
    size_t last;                /* the table the last store used */
    unsigned shift;             /* log2 of an entry's size: 2, or 3 under PAE */
    size_t n_written;           /* stores recorded since boot: 0 lets the machine skip forgetting */
};

/*
 * The cpu layer's part of the machine: the CPUs, the coherence checker's
 * record and the engine's machine-wide state. The machine (src/machine.c)
 * owns it and creates it after the mmu part, whose address it keeps. The
 * machine itself is opaque here: owner is only handed back to users.
 */
struct cpu_sys {
    mmusim_machine *owner;
    const struct mmusim_config *cfg;
    const struct mmusim_layout *layout;
    struct mmu *mmu;
    struct mmusim_cpu *cpus;
    unsigned ncpus;
    /* The coherence checker (include/mmusim/cpu.h). */
    int check;
    uint64_t nviolations;
    struct mmusim_coherence_violation *violations; /* the first MAX_VIOLATIONS */
    struct pte_writers writers;     /* who last stored to each entry (mmusim_set_pte, mmusim_pte_clear) */
    struct machine_smp *smp;        /* the engine's machine-wide state (src/cpu/smp_impl.h) */
};

#define MAX_VIOLATIONS 4096

/* Create the CPUs in their boot state and the engine's state; fini undoes
 * whatever init did, also after a failed init. */
int mmusim__cpu_sys_init(struct cpu_sys *s, mmusim_machine *owner, const struct mmusim_config *cfg,
                         const struct mmusim_layout *layout, struct mmu *mmu);
void mmusim__cpu_sys_fini(struct cpu_sys *s);

/* The public calls that take the machine, on the layer's part (include/mmusim/cpu.h, smp.h). */
void mmusim__machine_set_coherence_check(struct cpu_sys *m, int on);
uint64_t mmusim__machine_coherence_violations(const struct cpu_sys *m, struct mmusim_coherence_violation *buf,
                                              size_t max);
void mmusim__machine_coherence_reset(struct cpu_sys *m);
void mmusim__machine_stats(const struct cpu_sys *m, struct mmusim_cpu_stats *out);
uint64_t mmusim__machine_reports(const struct cpu_sys *m, struct mmusim_report *buf, size_t max);
void mmusim__machine_reports_reset(struct cpu_sys *m);
void mmusim__machine_set_report_policy(struct cpu_sys *m, enum mmusim_report_policy policy);
void mmusim__machine_set_report_callback(struct cpu_sys *m, mmusim_report_fn fn, void *ctx);
uint64_t mmusim__mm_cpu_mask(const struct cpu_sys *m, uint64_t cr3);
int mmusim__pte_last_writer(const struct cpu_sys *m, uint32_t va, unsigned *cpu, uint64_t *cycle);
int mmusim__irq_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg, unsigned irqf);
int mmusim__nmi_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg);
int mmusim__irq_random(struct cpu_sys *m, unsigned cpu, uint64_t mean_gap, uint64_t until, mmusim_step_fn handler,
                       void *arg, unsigned irqf);
int mmusim__task_create(struct cpu_sys *m, unsigned cpu, uint64_t cr3, mmusim_step_fn step, void *arg,
                        mmusim_task **out);
int mmusim__spinlock_create(struct cpu_sys *m, mmusim_spinlock **out);
int mmusim__wait_queue_create(struct cpu_sys *m, mmusim_wait_queue **out);
int mmusim__machine_run(struct cpu_sys *m, uint64_t cycle_limit, struct mmusim_run_result *out);

/* Forget the entry at pa: the machine stored to it without a CPU (mmusim_pt_map and the like). */
void mmusim__pte_writer_forget(struct pte_writers *w, uint64_t pa);

/* CPU i of the part (i < ncpus). */
mmusim_cpu *mmusim__cpu_sys_cpu(struct cpu_sys *s, unsigned i);
/* Whether some CPU has cr3 loaded in its CR3. */
int mmusim__cpu_sys_cr3_loaded(const struct cpu_sys *s, uint64_t cr3);

#endif /* MMUSIM_CPU_SYS_H */
