/*
 * mmusim — a simulated i686 CPU: control registers, the page walker, the
 * clock.
 *
 * Every operation run on a CPU charges its cost, from the configured cost
 * table, to that CPU's cycle clock.
 */
#ifndef MMUSIM_CPU_H
#define MMUSIM_CPU_H

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
    uint64_t pdpte[4]; /* PAE PDPTE registers, as loaded by the last CR3 write */
};

/* The result of a translation. A fault is a result, not an error. */
struct mmusim_walk {
    int fault;             /* 1 if the access raised #PF */
    uint32_t error_code;   /* #PF error code (MMUSIM_PF_*) */
    uint32_t cr2;          /* faulting linear address */
    uint64_t pa;           /* physical address (when no fault) */
    enum mmusim_page_size size;
    uint64_t leaf;         /* the leaf entry as read (with A/D as they are now) */
    int writable, user, nx, global; /* effective rights over all levels */
    uint32_t refs;         /* page-table references made */
    uint32_t ad_writes;    /* A/D write-backs */
    uint64_t cycles;       /* cycles charged to the CPU */
};

unsigned mmusim_cpu_id(const mmusim_cpu *cpu);
mmusim_machine *mmusim_cpu_machine(mmusim_cpu *cpu);
uint64_t mmusim_cpu_cycles(const mmusim_cpu *cpu);
void mmusim_cpu_regs(const mmusim_cpu *cpu, struct mmusim_cpu_regs *out);
void mmusim_cpu_stats(const mmusim_cpu *cpu, struct mmusim_cpu_stats *out);
void mmusim_cpu_stats_reset(mmusim_cpu *cpu);

/*
 * MOV to CR3. Under PAE the four PDPTEs are loaded into the PDPTE registers;
 * a reserved bit in a present one is #GP (MMUSIM_EGP) and nothing changes.
 * *cycles (may be NULL) receives what was charged.
 */
int mmusim_cpu_write_cr3(mmusim_cpu *cpu, uint64_t cr3, uint64_t *cycles);

/*
 * MOV to CR4 (PSE and PGE; PAE must stay as configured) and CR0 (WP only can
 * change), WRMSR EFER (NXE). A bit the CPU lacks is MMUSIM_EFEATURE.
 */
int mmusim_cpu_write_cr4(mmusim_cpu *cpu, uint32_t cr4, uint64_t *cycles);
int mmusim_cpu_write_cr0(mmusim_cpu *cpu, uint32_t cr0);
int mmusim_cpu_write_efer(mmusim_cpu *cpu, uint64_t efer);

/*
 * Walk the page tables for (va, access) as the hardware walker does, without
 * looking in or filling the TLB: sets Accessed on the entries used and Dirty
 * on the leaf for a write (stored only when a bit changes), checks
 * permissions under CR0.WP, CR4 and EFER.NXE, and charges the walk to the
 * clock. On a fault out->fault is 1 and CR2 is set.
 */
int mmusim_cpu_walk(mmusim_cpu *cpu, uint32_t va, unsigned access, struct mmusim_walk *out);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_CPU_H */
