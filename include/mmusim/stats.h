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
    XX(global_flushes, "flushes of all entries (CR4.PGE toggle, other paging-bit changes)") \
    XX(global_flush_cycles, "cycles charged for them")                         \
    XX(dropped_invlpg, "TLB entries dropped by INVLPG")                        \
    XX(dropped_cr3, "TLB entries dropped by CR3 writes")                       \
    XX(dropped_global, "TLB entries dropped by global flushes")                \
    XX(coherence_violations, "stale TLB hits seen by the coherence checker")

struct mmusim_cpu_stats {
#define MMUSIM_STAT_FIELD_(name, doc) uint64_t name;
    MMUSIM_CPU_STATS(MMUSIM_STAT_FIELD_)
#undef MMUSIM_STAT_FIELD_
};

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_STATS_H */
