/*
 * mmusim — counters.
 *
 * One X-macro list, per CPU (and summed machine-wide). Cycles are charged at
 * the same places the counters are bumped, so *_cycles fields reconcile with
 * the CPU clocks.
 */
#ifndef MMUSIM_STATS_H
#define MMUSIM_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, meaning) */
#define MMUSIM_CPU_STATS(XX)                                                   \
    XX(accesses, "memory accesses (mmusim_cpu_access), split ones counted once") \
    XX(access_cycles, "cycles charged by accesses, walks included")            \
    XX(walks, "page walks")                                                    \
    XX(walk_cycles, "cycles spent in page walks")                              \
    XX(walk_refs, "page-table references made by walks")                       \
    XX(walk_ref_hits, "of those, hits in the page-table line cache")           \
    XX(ad_writes, "Accessed/Dirty bit write-backs")                            \
    XX(faults, "page faults (#PF) raised")                                     \
    XX(faults_not_present, "of those, not-present faults")                     \
    XX(faults_protection, "of those, protection faults")                       \
    XX(faults_reserved, "of those, reserved-bit faults")                       \
    XX(dirty_rewalks, "writes through a TLB entry not yet dirty, walked again") \
    XX(pdecache_hits, "walks that found the PDE in the PDE cache")             \
    XX(invlpg, "INVLPG executed")                                              \
    XX(invlpg_cycles, "cycles charged for INVLPG")                             \
    XX(cr3_writes, "MOV to CR3")                                               \
    XX(cr3_cycles, "cycles charged for MOV to CR3")                            \
    XX(cr4_writes, "MOV to CR4 accepted by mmusim_cpu_write_cr4, flushing or not") \
    XX(cr4_cycles, "cycles charged for them (pge_toggle / 2 each, + mov_cr3_pae_extra for a PDPTE load), their flushes included") \
    XX(pdpte_loads, "loads of the four PAE PDPTE registers: one per MOV to CR3, one per MOV to CR4 changing PGE or PSE (two per __flush_tlb_global)") \
    XX(global_flushes, "flushes of all entries (CR4 writes changing PGE or PSE, mmusim_flush_tlb_global)") \
    XX(global_flush_cycles, "cycles charged by mmusim_flush_tlb_global, its PDPTE loads included (a CR4 write's are in cr4_cycles)") \
    XX(dropped_invlpg, "TLB entries dropped by INVLPG")                        \
    XX(dropped_cr3, "TLB entries dropped by CR3 writes")                       \
    XX(dropped_global, "TLB entries dropped by global flushes")                \
    XX(pte_writes, "kernel stores to page-table entries (mmusim_set_pte, mmusim_pte_clear)") \
    XX(pte_write_cycles, "cycles charged for them (pte_write each, a PAE entry's two halves included)") \
    XX(coherence_violations, "stale TLB hits seen by the coherence checker") \
    XX(ipis_sent, "IPIs this CPU sent (one per target)")                       \
    XX(ipi_send_cycles, "cycles spent issuing them (ICR writes, serial APIC-bus transfers)") \
    XX(ipis_received, "IPIs this CPU took")                                    \
    XX(ipis_tlb, "of those, TLB flush IPIs (flush_tlb_others' and flush_tlb_all's call-function IPIs)") \
    XX(ipis_resched, "of those, reschedule IPIs (a wake-up of a task whose CPU halts in idle)") \
    XX(ipi_handler_cycles, "cycles taken from this CPU by IPI handlers, their flushes included") \
    XX(shootdowns, "SMP flushes this CPU initiated that sent IPIs (flush_tlb_all, _kernel_range, _range, _page)") \
    XX(shootdown_wait_cycles, "cycles this CPU spun waiting for shootdown acknowledgements") \
    XX(leave_mm, "lazy-TLB exits (leave_mm: switch to swapper_pg_dir)")        \
    XX(irqs, "hardirqs taken (IPIs excluded)")                                 \
    XX(nmis, "NMIs taken")                                                     \
    XX(softirqs, "softirq handlers run")                                       \
    XX(irq_entry_cycles, "interrupt entry and return cycles of hardirqs and NMIs (IPIs and ticks excluded)") \
    XX(lock_acquires, "spinlocks taken")                                       \
    XX(lock_contended, "of those, found held by another CPU")                  \
    XX(lock_cycles, "cycles of lock and unlock operations, hand-offs of free locks included") \
    XX(spin_cycles, "cycles spun on held spinlocks, up to and including the hand-over")                           \
    XX(context_switches, "task switches")                                      \
    XX(context_switch_cycles, "cycles charged for them (CR3 writes counted under cr3_cycles)") \
    XX(ticks, "scheduler ticks taken")                                        \
    XX(tick_cycles, "cycles charged for them (tick_handler each)")             \
    XX(preemptions, "tasks switched out because the tick ended their slice (preempt=full)") \
    XX(yields, "tasks switched out by mmusim_cond_resched")                   \
    XX(idle_cycles, "cycles with nothing to run")                              \
    XX(compute_cycles, "plain work charged by mmusim_cpu_spend")              \
    XX(minor_faults, "minor page faults handled (mmusim_cpu_minor_fault: the replay's demand paging)") \
    XX(minor_fault_cycles, "cycles charged for them (page_fault each)") \
    XX(bugs, "BUG reports made on this CPU, beyond the 1024 kept too (mmusim_machine_reports)") \
    XX(warns, "WARN reports made on this CPU, likewise")

struct mmusim_cpu_stats {
#define MMUSIM_STAT_FIELD_(name, doc) uint64_t name;
    MMUSIM_CPU_STATS(MMUSIM_STAT_FIELD_)
#undef MMUSIM_STAT_FIELD_
};

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_STATS_H */
