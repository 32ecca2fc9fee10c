/*
 * mmusim — Linux's high-memory mappings on the simulated machine: kmap and
 * kunmap (the pkmap pool), kmap_atomic in its slot form (flush at map, up to
 * 2.6.19; clear and flush at unmap, 2.6.20-2.6.36) and its stack form
 * (2.6.37), kmap_local (5.11), and a heap-managed window (beyond Linux).
 * docs/kmap.md gives each variant's state and paths step by step, with the
 * sources in ../shared/docs/linux-highmem.md.
 *
 * A page frame and a kernel virtual address are distinct types: passing a
 * page where an address is expected does not compile (the kunmap_atomic(page)
 * mistake; 2.6.37's BUILD_BUG_ON in include/linux/highmem.h, done here by the
 * type system).
 *
 * Every call that maps or unmaps runs on a CPU, from a workload step (or,
 * for the calls that never wait, outside a run too), and returns a status:
 * MMUSIM_OK when it completed, MMUSIM_PENDING when the engine completes it
 * (kmap spinning on kmap_lock, flushing at a wrap, sleeping for a free
 * slot: the step must return, and when it is called again the output is
 * filled), or an error. Kernel BUG and WARN conditions (misuse) are recorded
 * as machine reports (mmusim_machine_reports) and counted, never crashes;
 * the call then does what the kernel would have done next, or, where the
 * kernel would have stopped (BUG), refuses with MMUSIM_EKMAPBUG and changes
 * nothing, so the machine stays usable.
 */
#ifndef MMUSIM_KMAP_H
#define MMUSIM_KMAP_H

#include "api.h"

#include <stdint.h>

#include "config.h"
#include "cpu.h"
#include "layout.h"
#include "machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pages and kernel addresses ---- */

/* A page frame: its number and the zone it lies in (struct page). */
struct mmusim_page {
    uint64_t pfn;
    enum mmusim_zone zone;
};

/* A kernel virtual address (void * in the kernel's kmap API); va 0 is none. */
struct mmusim_kaddr {
    uint32_t va;
};

/* The page of frame pfn on m (its zone from the layout: pfn_to_page). */
MMUSIM_API struct mmusim_page mmusim_page_of_pfn(const mmusim_machine *m, uint64_t pfn);
/* PageHighMem(). */
MMUSIM_API int mmusim_page_is_highmem(struct mmusim_page page);

/* ---- the mapping layer ---- */

typedef struct mmusim_kmap_layer mmusim_kmap_layer;

/* How kmap_atomic manages the window (docs/kmap.md, one section each). */
enum mmusim_kmap_variant {
    MMUSIM_KMAP_SLOT_2_6_19,  /* a slot per km_type and CPU; set and flush at map, unmap does nothing */
    MMUSIM_KMAP_SLOT_2_6_36,  /* a slot per km_type and CPU; set at map, clear and flush at unmap */
    MMUSIM_KMAP_STACK_2_6_37, /* a per-CPU stack of slots (__kmap_atomic_idx) */
    MMUSIM_KMAP_LOCAL_5_11,   /* a per-task stack, cleared and restored at context switch */
    MMUSIM_KMAP_HEAP,         /* a per-CPU window handed out first-fit in runs of pages */
    MMUSIM_KMAP_VARIANT_COUNT_
};

/* The variant's name ("slot-2.6.19", "slot-2.6.36", "stack-2.6.37", "local-5.11", "heap"), or "?". */
MMUSIM_API const char *mmusim_kmap_variant_name(enum mmusim_kmap_variant v);
/* The kernel era a variant comes from (its pkmap rules by default, and the machine era it is meant for);
 * MMUSIM_ERA_COUNT_ past the table. */
MMUSIM_API enum mmusim_era mmusim_kmap_variant_era(enum mmusim_kmap_variant v);
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_variant_from_name(const char *name, enum mmusim_kmap_variant *out);

/* opts.debug: DEBUG_HIGHMEM (or 5.11's DEBUG_KMAP_LOCAL). */
#define MMUSIM_KMAP_DEBUG_MACHINE (-1) /* as the machine's debug_highmem key: the default */

/* opts.pkmap_era: the era whose pkmap rules apply. */
#define MMUSIM_KMAP_ERA_OF_VARIANT MMUSIM_ERA_COUNT_ /* the variant's own era: the default */

struct mmusim_kmap_opts {
    enum mmusim_kmap_variant variant;
    /*
     * The debug checks (BUG and WARN conditions that only CONFIG_DEBUG_HIGHMEM
     * or CONFIG_DEBUG_KMAP_LOCAL build in). They come with the fixmap's
     * guard slots (KM_TYPE_NR 2N+1, KM_MAX_IDX 33), which the machine's
     * debug_highmem key lays out, so 0 or 1 must agree with it
     * (MMUSIM_EKMAPDEBUG otherwise); MMUSIM_KMAP_DEBUG_MACHINE follows it.
     */
    int debug;
    /*
     * Whose pkmap (kmap, kunmap) rules: the wrap flush unconditional
     * (2.6.18) or only when a slot was cleared (2.6.32 on), the
     * page_address pool (2.6.18-2.6.32) or its direct index (later). By
     * default the variant's era: 2.6.18 for slot-2.6.19, 2.6.32 for
     * slot-2.6.36, 2.6.37 for stack-2.6.37 and heap, 5.11 for local-5.11.
     */
    enum mmusim_era pkmap_era;
    /* For tests of the checker only: unmaps skip their TLB flush. */
    int no_unmap_flush;
    /* stack-2.6.37 only: the first version's unmap, which popped before clearing (the race fixed in 2.6.37). */
    int pop_before_clear;
};

/* Defaults for variant v: the machine's debug, the variant's era, no test switches. */
MMUSIM_API void mmusim_kmap_opts_init(struct mmusim_kmap_opts *opts, enum mmusim_kmap_variant v);

/*
 * The mapping layer of machine m, as opts describe it; *out is owned by the
 * machine (destroyed with it). Create it after the machine and before any
 * task or run: it registers its context-switch and task-end hooks and its
 * per-CPU and per-task state with the CPUs (MMUSIM_ECLOSED afterwards). One
 * per machine (MMUSIM_EEXIST for a second). MMUSIM_EKMAPDEBUG when
 * opts->debug disagrees with the machine; MMUSIM_EKMAPFIT when the
 * machine's fixmap has fewer kmap slots per CPU than the variant needs
 * (local-5.11's KM_MAX_IDX; set the machine's km_type_nr).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_create(mmusim_machine *m, const struct mmusim_kmap_opts *opts,
                                                   mmusim_kmap_layer **out);
MMUSIM_API const struct mmusim_kmap_opts *mmusim_kmap_options(const mmusim_kmap_layer *k);

/*
 * page_address(page), read without simulating its locks: lowmem, the direct
 * map; highmem, the pkmap address the page_address table holds, or none.
 */
MMUSIM_API struct mmusim_kaddr mmusim_page_address(const mmusim_kmap_layer *k, struct mmusim_page page);

/* ---- kmap, kunmap: the pkmap pool (LAST_PKMAP slots, 1024 or 512 under PAE) ---- */

/*
 * kmap(page) from a step of a task: lowmem, the direct map at once;
 * highmem, kmap_high: kmap_lock, the page_address lookup, a new slot if the
 * page has none (the scan, the wrap flush under the lock, a sleep when no
 * slot is free), pkmap_count raised. MMUSIM_PENDING while any of that
 * waits; *out is filled when the step is called again.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page,
                                            struct mmusim_kaddr *out);
/* kunmap(page): pkmap_count lowered, sleepers woken outside the lock when a slot became free. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kunmap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page);
/* kmap_flush_unused(): flush_all_zero_pkmaps under kmap_lock. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_flush_unused(mmusim_cpu *cpu, mmusim_kmap_layer *k);

/* ---- kmap_atomic ---- */

/*
 * The km_type slots (include/asm-generic/kmap_types.h): 2.6.12-2.6.24 have
 * the first 13 (KM_TYPE_NR 13), 2.6.32-2.6.36 the first 19, 2.6.37 adds
 * KM_KDB (20). The slot variants accept the types of their era; the other
 * variants ignore the type, as 2.6.37's kmap_atomic(page, type) did.
 */
enum mmusim_km_type {
    MMUSIM_KM_BOUNCE_READ,
    MMUSIM_KM_SKB_SUNRPC_DATA,
    MMUSIM_KM_SKB_DATA_SOFTIRQ,
    MMUSIM_KM_USER0,
    MMUSIM_KM_USER1,
    MMUSIM_KM_BIO_SRC_IRQ,
    MMUSIM_KM_BIO_DST_IRQ,
    MMUSIM_KM_PTE0,
    MMUSIM_KM_PTE1,
    MMUSIM_KM_IRQ0,
    MMUSIM_KM_IRQ1,
    MMUSIM_KM_SOFTIRQ0,
    MMUSIM_KM_SOFTIRQ1,
    MMUSIM_KM_SYNC_ICACHE,
    MMUSIM_KM_SYNC_DCACHE,
    MMUSIM_KM_UML_USERCOPY,
    MMUSIM_KM_IRQ_PTE,
    MMUSIM_KM_NMI,
    MMUSIM_KM_NMI_PTE,
    MMUSIM_KM_KDB,
    MMUSIM_KM_TYPE_COUNT_
};

/* The type's name ("KM_BOUNCE_READ", ...), or "?" out of range. */
MMUSIM_API const char *mmusim_km_type_name(enum mmusim_km_type t);

/*
 * kmap_atomic(page, type): never sleeps; preemption and page faults
 * disabled until the unmap (even for a lowmem page, whose direct-map
 * address is returned). MMUSIM_EKMTYPE for a type the variant's era or the
 * machine's fixmap does not have.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_atomic(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page,
                                                   enum mmusim_km_type type, struct mmusim_kaddr *out);
/* kunmap_atomic(addr, type): the address the map returned (the stack forms unmap their top slot whatever it is). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kunmap_atomic(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr,
                                                     enum mmusim_km_type type);
/* kmap_atomic_pfn(pfn, type): a frame with no page test (always through a slot). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_atomic_pfn(mmusim_cpu *cpu, mmusim_kmap_layer *k, uint64_t pfn,
                                                       enum mmusim_km_type type, struct mmusim_kaddr *out);
/* kmap_atomic_prot(page, type, prot): the PTE flags given instead of kmap_prot. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_atomic_prot(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page,
                                                        enum mmusim_km_type type, uint64_t prot,
                                                        struct mmusim_kaddr *out);
/* kmap_atomic_to_page(addr): the page a kmap_atomic address maps (lowmem: virt_to_page). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_atomic_to_page(const mmusim_kmap_layer *k, struct mmusim_kaddr addr,
                                                           struct mmusim_page *out);

/* ---- kmap_local (5.11) ---- */

/*
 * kmap_local_page(page): lowmem, the direct map at once; highmem, the next
 * position of the current task's stack (a handler's pushes go on the task
 * it interrupted, or on the idle task's with no task current), set without
 * a flush. Preemption stays enabled. Never pending. A stack overflow is a
 * BUG report and MMUSIM_EKMAPBUG. MMUSIM_EKMAPVARIANT unless the layer's
 * variant is local-5.11.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_local(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page,
                                                  struct mmusim_kaddr *out);
/*
 * kunmap_local(addr): the top position cleared, addr flushed (one local
 * INVLPG), popped; an address that is not the top's is a WARN (the top is
 * still the one cleared); an underflow a BUG and MMUSIM_EKMAPBUG. A lowmem
 * address needs no work.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kunmap_local(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr);

/* ---- the heap window (beyond Linux) ---- */

/*
 * npages (1 to the window's size) contiguous pages of the CPU's window,
 * first fit from the window's lowest address, mapped to pages[0..npages-1]
 * at ascending addresses: *out is the run's lowest address and maps
 * pages[0], out->va + i * MMUSIM_PAGE_SIZE maps pages[i]. Every page goes
 * through the window, lowmem ones too. Preemption stays disabled until the
 * run is released, in any order, with mmusim_kunmap_heap (from any context
 * of the same CPU). MMUSIM_ENOWINDOW when no run of npages is free;
 * MMUSIM_EKMAPVARIANT unless the layer's variant is heap.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_heap(mmusim_cpu *cpu, mmusim_kmap_layer *k, const struct mmusim_page *pages,
                                                 unsigned npages, struct mmusim_kaddr *out);
MMUSIM_API MMUSIM_NODISCARD int mmusim_kunmap_heap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr);

/* ---- statistics ---- */

/*
 * Per CPU, summed over the machine by mmusim_kmap_stats with cpu = -1.
 * Cycles are charged where the counters are bumped, so they reconcile.
 */
#define MMUSIM_KMAP_STATS(XX)                                                                       \
    XX(kmaps, "kmap calls")                                                                         \
    XX(kmap_lowmem, "kmap of a lowmem page: the direct map, no work")                               \
    XX(kmap_hits, "kmap of a highmem page already mapped: no PTE write, no flush")                  \
    XX(kmap_misses, "kmap that took a new pkmap slot")                                              \
    XX(kunmaps, "kunmap calls")                                                                     \
    XX(kmap_cycles, "cycles inside kmap, from the call to its completion (spins and sleeps in)")    \
    XX(kunmap_cycles, "cycles inside kunmap")                                                       \
    XX(wraps, "wraps of last_pkmap_nr to 0 (flush_all_zero_pkmaps)")                                \
    XX(wrap_cleared, "slots cleared by flush_all_zero_pkmaps (count 1 to 0)")                       \
    XX(wrap_flushes, "flush_tlb_kernel_range calls made by flush_all_zero_pkmaps")                  \
    XX(kmap_lock_spin_cycles, "cycles spent spinning on kmap_lock")                                 \
    XX(sleeps, "sleeps on pkmap_map_wait (no free slot)")                                           \
    XX(sleep_cycles, "cycles from going to sleep to running again")                                 \
    XX(atomic_maps, "kmap_atomic calls (and kmap_atomic_pfn, _prot)")                               \
    XX(atomic_unmaps, "kunmap_atomic calls")                                                        \
    XX(local_maps, "kmap_local calls")                                                              \
    XX(local_unmaps, "kunmap_local calls")                                                          \
    XX(heap_maps, "runs of the heap window handed out (kmap_heap; kmap_atomic on the heap variant)") \
    XX(heap_unmaps, "runs given back (kunmap_heap; kunmap_atomic on the heap variant)")             \
    XX(heap_refused, "heap window requests refused: no free run")                                   \
    XX(heap_fragmented, "of those, refused although enough pages were free")                       \
    XX(heap_irq_cycles, "cycles of the heap allocator's local_irq_save/restore (irq_save_restore)") \
    XX(map_cycles, "cycles inside the atomic, local and heap maps")                                 \
    XX(unmap_cycles, "cycles inside their unmaps")                                                  \
    XX(pte_writes, "PTE stores by this layer (sets and clears)")                                    \
    XX(invlpgs, "local INVLPGs by this layer")                                                      \
    XX(global_flushes, "SMP flushes started by this layer (the wrap flush)")                        \
    XX(ipis_sent, "IPIs those flushes sent")                                                        \
    XX(ctxsw_clears, "kmap_local slots cleared at a switch-out")                                    \
    XX(ctxsw_restores, "kmap_local slots restored at a switch-in")                                  \
    XX(ctxsw_cycles, "cycles of those clears and restores")                                         \
    XX(bugs, "BUG reports by this layer")                                                           \
    XX(warns, "WARN reports by this layer")

struct mmusim_kmap_stats {
#define MMUSIM_KMAP_STAT_FIELD_(name, doc) uint64_t name;
    MMUSIM_KMAP_STATS(MMUSIM_KMAP_STAT_FIELD_)
#undef MMUSIM_KMAP_STAT_FIELD_
};

/* CPU cpu's counters, or (cpu = -1) the machine's. MMUSIM_ECPU for a CPU out of range. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_kmap_stats(const mmusim_kmap_layer *k, int cpu, struct mmusim_kmap_stats *out);
MMUSIM_API void mmusim_kmap_stats_reset(mmusim_kmap_layer *k);

/*
 * The distribution of an operation's latency in cycles (map, unmap, or a
 * whole map-access-unmap of one page as a workload reports it): counts in
 * log-linear buckets, 16 per power of two, so a percentile is exact to
 * within 1/16 of its value.
 */
enum mmusim_kmap_hist_kind {
    MMUSIM_KMAP_HIST_MAP,   /* every map call: kmap, atomic, local, heap */
    MMUSIM_KMAP_HIST_UNMAP, /* every unmap call */
    MMUSIM_KMAP_HIST_PAIR,  /* mmusim_kmap_record_pair */
    MMUSIM_KMAP_HIST_COUNT_
};

/* The p-th percentile (0 < p <= 100) of kind over the machine; 0 with no samples. */
MMUSIM_API uint64_t mmusim_kmap_percentile(const mmusim_kmap_layer *k, enum mmusim_kmap_hist_kind kind, double p);
MMUSIM_API uint64_t mmusim_kmap_samples(const mmusim_kmap_layer *k, enum mmusim_kmap_hist_kind kind);
/* A workload reports the cycles one map-access-unmap took (its own clock difference). */
MMUSIM_API void mmusim_kmap_record_pair(mmusim_kmap_layer *k, uint64_t cycles);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_KMAP_H */
