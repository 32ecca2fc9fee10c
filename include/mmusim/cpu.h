/*
 * mmusim — a simulated i686 CPU: control registers, the page walker, the
 * clock.
 *
 * Every operation run on a CPU charges its cost, from the configured cost
 * table, to that CPU's cycle clock.
 */
#ifndef MMUSIM_CPU_H
#define MMUSIM_CPU_H

#include "api.h"

#include <stdint.h>

#include "machine.h"
#include "pgtable.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Control-register bits mmusim models (SDM Vol. 3A §2.5, §4.1). */
#define MMUSIM_CR0_PE  0x00000001u
#define MMUSIM_CR0_WP  0x00010000u /* supervisor writes honour R/W */
#define MMUSIM_CR0_PG  0x80000000u
#define MMUSIM_CR4_PSE 0x00000010u
#define MMUSIM_CR4_PAE 0x00000020u
#define MMUSIM_CR4_PGE 0x00000080u
#define MMUSIM_EFER_NXE 0x00000800u

/* Access kinds, plus MMUSIM_ACC_USER for a CPL-3 access. */
#define MMUSIM_ACC_READ  0x0u
#define MMUSIM_ACC_WRITE 0x1u
#define MMUSIM_ACC_EXEC  0x2u
#define MMUSIM_ACC_USER  0x4u
/* The kind of an access (read, write or execute), without MMUSIM_ACC_USER. */
#define MMUSIM_ACC_KIND(a) ((a) & 0x3u)

/* #PF error code bits (SDM Vol. 3A §4.7). */
#define MMUSIM_PF_P    0x01u /* 0: not present; 1: protection or reserved bit */
#define MMUSIM_PF_W    0x02u /* the access was a write */
#define MMUSIM_PF_U    0x04u /* the access was a user-mode access */
#define MMUSIM_PF_RSVD 0x08u /* a reserved bit was set in an entry */
#define MMUSIM_PF_I    0x10u /* instruction fetch (only with PAE and EFER.NXE) */

struct mmusim_cpu_regs {
    uint32_t cr0, cr2, cr4;
    uint64_t cr3;      /* physical address of the PGD (PAE: of the PDPT, 32-byte aligned) */
    uint64_t efer;
    uint64_t pdpte[4]; /* PAE PDPTE registers, as loaded by the last CR3 write or PDPTE-loading CR4 write */
};

/* The result of a translation. A fault is a result, not an error. */
struct mmusim_walk {
    int fault;             /* 1 if the access raised #PF */
    uint32_t error_code;   /* #PF error code (MMUSIM_PF_*) */
    uint32_t cr2;          /* faulting linear address */
    uint64_t pa;           /* physical address (when no fault) */
    enum mmusim_page_size size;
    uint64_t leaf;         /* the leaf entry as read (with A/D as they are now) */
    uint64_t leaf_pa;      /* physical address of the leaf entry (PTE, or PDE of a large page) */
    int writable, user, nx, global; /* effective rights over all levels */
    uint32_t refs;         /* page-table references made */
    uint32_t ad_writes;    /* A/D write-backs */
    uint64_t cycles;       /* cycles charged to the CPU */
};

/*
 * The highest value a CPU clock takes: 2^62 cycles (about 73 years at
 * 2 GHz). mmusim_cpu_spend saturates there, and an interrupt's arrival time
 * beyond it (mmusim_irq_at, mmusim_nmi_at) is taken as it, so no clock and
 * no arrival wraps around 2^64 (the engine's order would run backwards).
 */
#define MMUSIM_CLOCK_MAX (UINT64_C(1) << 62)

MMUSIM_API unsigned mmusim_cpu_id(const mmusim_cpu *cpu);
MMUSIM_API mmusim_machine *mmusim_cpu_machine(mmusim_cpu *cpu);
MMUSIM_API uint64_t mmusim_cpu_cycles(const mmusim_cpu *cpu);
MMUSIM_API void mmusim_cpu_regs(const mmusim_cpu *cpu, struct mmusim_cpu_regs *out);
MMUSIM_API void mmusim_cpu_stats(const mmusim_cpu *cpu, struct mmusim_cpu_stats *out);
MMUSIM_API void mmusim_cpu_stats_reset(mmusim_cpu *cpu);

/*
 * MOV to CR3. Under PAE the four PDPTEs are loaded into the PDPTE registers
 * (counted in pdpte_loads, charged mov_cr3_pae_extra on top of mov_cr3); a
 * reserved bit in a present one is #GP (MMUSIM_EGP) and nothing changes.
 * *cycles (may be NULL) receives what was charged.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_write_cr3(mmusim_cpu *cpu, uint64_t cr3, uint64_t *cycles);

/*
 * MOV to CR4 (PSE and PGE; PAE must stay as configured) and CR0 (WP only can
 * change), WRMSR EFER (NXE). A bit the CPU lacks is MMUSIM_EFEATURE. Every
 * accepted CR4 write is charged pge_toggle / 2 (counted in cr4_writes and
 * cr4_cycles); one that changes PGE or PSE also flushes every TLB entry and
 * the PDE cache (a global flush) and, under PAE, reloads the PDPTE registers
 * from CR3 as a CR3 write does (SDM Vol. 3A §4.4.1): mov_cr3_pae_extra more,
 * one pdpte_loads, and MMUSIM_EGP on a reserved bit in a present PDPTE, the
 * write then changing nothing (CR4, TLBs, clock, counters).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_write_cr4(mmusim_cpu *cpu, uint32_t cr4, uint64_t *cycles);
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_write_cr0(mmusim_cpu *cpu, uint32_t cr0);
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_write_efer(mmusim_cpu *cpu, uint64_t efer);

/*
 * Walk the page tables for (va, access) as the hardware walker does, without
 * looking in or filling the TLB: sets Accessed on the entries used and Dirty
 * on the leaf for a write (stored only when a bit changes), checks
 * permissions under CR0.WP, CR4 and EFER.NXE, and charges the walk to the
 * clock. On a fault out->fault is 1 and CR2 is set.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_walk(mmusim_cpu *cpu, uint32_t va, unsigned access, struct mmusim_walk *out);

/* ---- memory access through the TLBs ---- */

/* The result of an access. A fault is a result, not an error. */
struct mmusim_access {
    int fault;           /* 1 if #PF: nothing was read or written */
    uint32_t error_code; /* #PF error code */
    uint32_t cr2;        /* faulting linear address */
    uint64_t pa;         /* physical address of the first byte; 0 on a fault */
    int walked;          /* 1 if a page walk was needed (a TLB miss) */
    uint64_t cycles;     /* charged to the CPU's clock */
};

/*
 * Access size bytes (1, 2, 4 or 8) at va: TLB lookup, a walk on a miss, the
 * fill, then the data read into or written from *data through the
 * translation the TLB gave (so a stale entry really reaches the old frame).
 * An access that straddles a page is split as hardware splits it: both pages
 * are translated before any byte is written. The translation's cost is what
 * is charged: an L1 TLB hit costs nothing extra (data caches are not
 * modelled); a load that misses the uTLB and hits dtlb.4k costs tlb_l0_miss,
 * while a hit in dtlb.large (or itlb.large) costs nothing extra (no L0 step
 * for large pages, docs/costs.md §2); an STLB hit costs stlb_hit, and a miss
 * the walk. data may be NULL (translate only).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_access(mmusim_cpu *cpu, uint32_t va, unsigned access, unsigned size, void *data,
                      struct mmusim_access *out);

/*
 * ---- many accesses in one call ----
 *
 * The batch call runs refs[0..n-1] in order, each exactly as
 * mmusim_cpu_access(cpu, va, access, size, NULL, ...) would (translation
 * only: no data moved), with the same lookups, fills, counters and cycles.
 * Because no data is moved, a reference may be of any size from 1 to 4096
 * bytes (a valgrind trace has 10-, 16- and 512-byte ones); one that
 * straddles a page is split as mmusim_cpu_access splits it.
 *
 * Every reference is checked before any runs: a bad access value or size
 * is MMUSIM_EINVAL and nothing changes. The call stops after the first
 * reference that faults, so the caller can handle the fault (map the page)
 * and go on from sum->done. per (may be NULL) receives one result per
 * reference run; sum (required) the totals of this call. A reference that
 * returns an error (MMUSIM_EPHYS: a raw entry names a frame past RAM) stops
 * the call there with that error, as mmusim_cpu_access would return it, the
 * references before it having run.
 */
struct mmusim_ref {
    uint32_t va;
    uint16_t size;   /* 1 to 4096 */
    uint8_t access;  /* MMUSIM_ACC_READ, _WRITE or _EXEC, | MMUSIM_ACC_USER */
    uint8_t pad_;    /* 0 */
};

struct mmusim_batch_sum {
    size_t done;         /* references run, the faulting one included */
    uint64_t walked;     /* references that needed a walk (mmusim_access.walked) */
    uint64_t cycles;     /* charged to the CPU's clock by this call */
    int fault;           /* 1 if refs[done - 1] faulted (the call stopped there) */
    struct mmusim_access fault_info; /* that reference's result when fault is 1, else zeroed */
};

#define MMUSIM_REF_MAX_SIZE 4096u

MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_access_batch(mmusim_cpu *cpu, const struct mmusim_ref *refs, size_t n,
                                                        struct mmusim_access *per, struct mmusim_batch_sum *sum);

/*
 * The kernel handled a minor page fault on this CPU (a first touch of a user
 * page: the frame found, cleared and mapped by the caller): charges
 * cost.page_fault to the clock, counts minor_faults and minor_fault_cycles,
 * and returns the cycles charged (0 for a NULL cpu).
 */
MMUSIM_API uint64_t mmusim_cpu_minor_fault(mmusim_cpu *cpu);

/* ---- the Linux flush primitives, on one CPU; each returns the cycles charged ---- */

MMUSIM_API uint64_t mmusim_flush_tlb_one(mmusim_cpu *cpu, uint32_t va); /* __flush_tlb_one: INVLPG va */
/*
 * __flush_tlb: CR3 reloaded, globals survive. Under PAE, if the reload of the
 * PDPTEs faults (#GP: a present PDPTE in memory has gained a reserved bit),
 * it returns 0 and flushes nothing, as mmusim_cpu_write_cr3 changes nothing.
 */
MMUSIM_API uint64_t mmusim_flush_tlb(mmusim_cpu *cpu);
/*
 * __flush_tlb_global: CR4.PGE off and on (2.6.18: with a CR3 reload in
 * between, a counted CR3 write). Under PAE each CR4 write reloads the
 * PDPTEs (two pdpte_loads, 2 * mov_cr3_pae_extra more); if that faults
 * (#GP), it returns 0 and flushes nothing.
 */
MMUSIM_API uint64_t mmusim_flush_tlb_global(mmusim_cpu *cpu);
/* __flush_tlb_all: the global flush if the CPU has PGE (cpu_has_pge: the configuration's feature), else CR3. */
MMUSIM_API uint64_t mmusim_flush_tlb_all(mmusim_cpu *cpu);

/* ---- TLB statistics ---- */

enum mmusim_tlb_id {
    MMUSIM_TLB_ITLB_4K,
    MMUSIM_TLB_ITLB_LARGE,
    MMUSIM_TLB_DTLB_4K,
    MMUSIM_TLB_DTLB_LARGE,
    MMUSIM_TLB_STLB,
    MMUSIM_TLB_UTLB,
    MMUSIM_TLB_PDECACHE,
    MMUSIM_TLB_COUNT_
};

struct mmusim_tlb_stats {
    uint32_t entries, ways, valid; /* geometry, and entries valid now */
    uint64_t lookups, hits, misses, fills, evictions, dropped;
};

/* "itlb.4k", "itlb.large", "dtlb.4k", "dtlb.large", "stlb", "utlb", "pdecache". */
MMUSIM_API const char *mmusim_tlb_name(enum mmusim_tlb_id id);
MMUSIM_API MMUSIM_NODISCARD int mmusim_cpu_tlb_stats(const mmusim_cpu *cpu, enum mmusim_tlb_id id, struct mmusim_tlb_stats *out);

/* Sum of every CPU's counters. */
MMUSIM_API void mmusim_machine_stats(const mmusim_machine *m, struct mmusim_cpu_stats *out);

/* ---- the coherence checker ---- */

/*
 * When on, every TLB hit is compared with a walk of the current page tables
 * (no A/D written, nothing charged). A hit whose frame or rights no longer
 * match, or whose page is no longer mapped, is a stale translation: the
 * access still uses it, as hardware would, and a violation is recorded,
 * naming the CPU that last stored to the entry the TLB entry came from
 * through mmusim_set_pte or mmusim_pte_clear (pte.h), and when: the store
 * that made it stale, unless another store to it came since.
 */
struct mmusim_coherence_violation {
    unsigned cpu;
    uint32_t va;
    uint64_t cycle;          /* the CPU's clock at the access */
    uint64_t stale_pa;       /* page the TLB entry maps */
    uint64_t current_pa;     /* page the tables map now (when current_present) */
    int current_present;     /* 0: the tables no longer map va */
    unsigned stale_rights;   /* MMUSIM_RIGHT_* of the entry */
    unsigned current_rights; /* and of the tables */
    uint64_t leaf_pa;        /* physical address of the leaf entry the TLB entry came from */
    unsigned writer_cpu;     /* CPU that last stored to that entry (mmusim_set_pte, mmusim_pte_clear),
                                MMUSIM_NO_WRITER if none did (mmusim_pt_map and the like charge no CPU) */
    uint64_t written_at;     /* that CPU's clock when its store began; 0 when writer_cpu is MMUSIM_NO_WRITER */
};
/* writer_cpu (and mmusim_pte_last_writer's *cpu) when no CPU stored to the entry. */
#define MMUSIM_NO_WRITER ((unsigned)-1)
#define MMUSIM_RIGHT_W  0x1u
#define MMUSIM_RIGHT_U  0x2u
#define MMUSIM_RIGHT_NX 0x4u

MMUSIM_API void mmusim_machine_set_coherence_check(mmusim_machine *m, int on);
/* Total violations seen; copies the first min(max, recorded) of them (the first 4096 are kept). */
MMUSIM_API uint64_t mmusim_machine_coherence_violations(const mmusim_machine *m, struct mmusim_coherence_violation *buf,
                                             size_t max);
MMUSIM_API void mmusim_machine_coherence_reset(mmusim_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_CPU_H */
