/*
 * mmusim — the kmap layer's private state (include/mmusim/kmap.h). The
 * layer sits on the cpu layer: it reaches it through cpu/cpu_sys.h and
 * cpu/hooks.h only (its locks, wait queue, PTE stores, continuations,
 * hooks and the extension areas that hold its per-CPU and per-task state).
 */
#ifndef MMUSIM_KMAP_IMPL_H
#define MMUSIM_KMAP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu_sys.h"
#include "cpu/hooks.h"
#include "cpu/hot.h"
#include "internal.h"
#include "kmap/kmap_sys.h"
#include "mmusim/kmap.h"
#include "mmusim/smp.h"

/* KM_MAX_IDX with CONFIG_DEBUG_KMAP_LOCAL: the deepest per-task stack (asm-generic/kmap_size.h). */
#define KMAP_LOCAL_MAX 33

/* The heap window holds at most this many pages (one 64-bit word of bits). */
#define KMAP_HEAP_MAX 64

/* PA_HASH_ORDER 7: page_address_htable[128] (mm/highmem.c). */
#define PA_HASH_BUCKETS 128

/* Latency histograms: 16 log-linear buckets per power of two (kmap.h). */
#define KMAP_HIST_SUB 16
#define KMAP_HIST_BUCKETS (64 * KMAP_HIST_SUB)

/* Latencies below this find their bucket in a table (hist_lut): a kmap_atomic's are tens to hundreds of cycles. */
#define KMAP_HIST_LUT 1024

struct kmap_hist {
    uint64_t b[KMAP_HIST_BUCKETS]; /* the sample count is their sum (mmusim_kmap_hist_count) */
};

/* kmap_high's continuation (pkmap.c): one per task, as only tasks may kmap. */
struct kmap_high_state {
    struct mmusim_kmap_layer *k;
    int pc;                   /* where the path stands (pkmap.c) */
    int busy;                 /* a path is under way */
    int unmap;                /* kunmap_high, not kmap_high */
    int flush_unused;         /* kmap_flush_unused */
    struct mmusim_page page;
    struct mmusim_kaddr *out;
    uint32_t vaddr;
    uint32_t count;           /* map_new_virtual's countdown */
    uint32_t n;               /* a slot index being worked on (the wrap's sweep) */
    int need_flush;
    int need_wakeup;
    unsigned flags;           /* spin_lock_irqsave's saved state */
    uint64_t wpfn;            /* the sweep: the frame a cleared slot mapped */
    int entry;                /* a page_address_maps[] entry being moved */
    uint64_t ipis_before;     /* the wrap flush: the CPU's ipis_sent before it */
    uint64_t started;         /* the clock at the call, for kmap_cycles */
    uint64_t slept_at;
    uint64_t spin_from;
};

/* The stack form's clear after a pop-before-clear unmap (opts.pop_before_clear; atomic.c). */
struct kmap_late_clear {
    struct mmusim_kmap_layer *k;
    uint64_t pte;
    uint32_t va;
    int started;
};

/* 5.11 struct kmap_ctrl (task_struct.kmap_ctrl): kmap_local's per-task stack (local.c). */
struct kmap_ctrl {
    int idx;                          /* pushes so far, times KM_INCR */
    uint64_t pteval[KMAP_LOCAL_MAX];  /* the PTE each live position holds, for the switch-in */
};

/* How deep a CPU's contexts nest (task, softirq, hardirq, NMI), with room to spare. */
#define KMAP_NEST_MAX 8

/* Per CPU, in the cpu layer's per-CPU extension area. */
struct kmap_cpu {
    struct kmap_slot *slots;    /* this CPU's kmap slots: kmap_slot(k, cpu, 0) */
    struct mmusim_kmap_stats st;
    int atomic_idx;             /* __kmap_atomic_idx: the stack form's depth */
    struct kmap_late_clear late;
    /*
     * heap: window page p (p = 0 the lowest address, docs/kmap.md) in use
     * when bit p is set; heap_run[p] the length of the run that starts at p
     * (0: none starts there).
     */
    uint64_t heap_used;
    uint8_t heap_run[KMAP_HEAP_MAX];
    /* local-5.11: the idle task's kmap_ctrl (swapper/N), used by handlers that find no task current. */
    struct kmap_ctrl idle_ctrl;
    /* local-5.11: the stack's idx when the handler at nesting level n first used it (bit n of handler_seen). */
    int handler_idx[KMAP_NEST_MAX];
    unsigned handler_seen;
};

/* Per task, in the cpu layer's per-task extension area. */
struct kmap_task {
    struct kmap_ctrl ctrl;
    /* 5.11: current->pagefault_disabled, apart from preempt_count since ~4.2. */
    int pagefault_disabled;
    struct kmap_high_state high;
};

/* An entry of the page_address table (struct page_address_map). */
struct pa_map {
    uint64_t pfn;
    uint32_t vaddr;
    int next;                 /* the bucket's (or the free pool's) next entry; -1 ends */
};

/* Which short path the public kmap_atomic calls may take (atomic.c, map_short); NONE: the general path only. */
enum kmap_short {
    KMAP_SHORT_NONE,
    KMAP_SHORT_SLOT19,
    KMAP_SHORT_SLOT36,
    KMAP_SHORT_STACK,
    KMAP_SHORT_LOCAL,
    KMAP_SHORT_HEAP,
};

/* The public kmap_atomic and kunmap_atomic go straight to these: a short path (atomic.c) or the general one. */
struct kmap_entries {
    int (*map)(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type, uint64_t prot,
               struct mmusim_kaddr *out);
    int (*unmap)(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr, enum mmusim_km_type type);
};

/* A fixmap kmap slot of one CPU: its address and its PTE (kmap_pte - idx), resolved for fast stores. */
struct kmap_slot {
    struct mmusim__pte_slot pte;
    uint32_t va;
};

struct mmusim_kmap_layer {
    struct cpu_sys *sys;
    const struct mmusim_config *cfg;
    const struct mmusim_layout *layout;
    struct mmusim_kmap_opts opts; /* resolved: debug 0 or 1, pkmap_era a real era */
    size_t cpu_off, task_off;     /* the extension areas */
    unsigned ncpus;

    /* The fixmap kmap slots (kmap_atomic, kmap_local, the heap window). */
    uint32_t slots_per_cpu;   /* the machine's kmap_slots_per_cpu */
    uint32_t ntypes;          /* slot forms: the km_types of the variant's era (13 or 19) */
    uint32_t depth;           /* stack forms: the stack's depth; heap: the window's pages */
    uint32_t incr;            /* KM_INCR: 2 for local-5.11 with debug (guard slots), else 1 */
    struct kmap_slot *slots;  /* [ncpus * slots_per_cpu] */
    uint32_t kslot_lo, kslot_hi; /* __fix_to_virt(FIX_KMAP_END), __fix_to_virt(FIX_KMAP_BEGIN): the fixmap's kmap range */
    uint64_t highmem_start;   /* the first HighMem frame: PageHighMem is pfn >= this */
    uint64_t highmem_frames;  /* HighMem frames in RAM: pfn - highmem_start below this is a highmem page */
    enum kmap_short short_form;
    struct kmap_entries entry;
    uint32_t short_types;     /* the short path's km_types: below this, a slot of the variant (slot forms) */
    unsigned preempt_mask;    /* the era's PREEMPT_MASK (layout preempt_bits), for the short paths */
    unsigned preempt_quiet;   /* MMUSIM__PREEMPT_QUIET_MAX of it: the short paths raise the count up to this */
    const struct kmap_variant_ops *ops;
    uint64_t kmap_prot;       /* PAGE_KERNEL: P RW A D, G on PGE CPUs, NX where enabled */

    /* pkmap (pkmap.c). */
    uint32_t last_pkmap;
    int *pkmap_count;         /* [last_pkmap] */
    uint32_t last_pkmap_nr;
    uint64_t *pkmap_pte;      /* [last_pkmap]: each slot's PTE */
    mmusim_spinlock *kmap_lock;
    mmusim_wait_queue *pkmap_map_wait;
    struct pa_map *maps;      /* page_address_maps[LAST_PKMAP] */
    int pa_head[PA_HASH_BUCKETS];
    mmusim_spinlock *pa_lock[PA_HASH_BUCKETS];
    int pool_head;            /* page_address_pool (2.6.18-2.6.32); -1 when empty */
    mmusim_spinlock *pool_lock;

    /* debug_kmap_atomic's static int warn_count (2.6.32 mm/highmem.c): 10, no WARN once below 0. */
    int debug_warn_count;
    /* The WARN_ON_ONCE sites that have fired (bit per site: atomic.c), once per machine as per boot. */
    unsigned warned_once;
    /* local-5.11: the WARN_ON_ONCE sites that have fired (a bit each, local.c). */
    unsigned local_warned;

    struct kmap_hist hist[MMUSIM_KMAP_HIST_COUNT_];
    uint16_t hist_lut[KMAP_HIST_LUT]; /* kmap_hist_bucket(v) for v below KMAP_HIST_LUT */
};

/* ---- kmap.c (creation: kmap_sys.h) ---- */

static inline struct kmap_cpu *kmap_cpu_of(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    return (struct kmap_cpu *)mmusim__cpu_ext(cpu, k->cpu_off);
}

static inline struct kmap_task *kmap_task_of(const mmusim_kmap_layer *k, mmusim_task *t)
{
    return (struct kmap_task *)mmusim__task_ext(t, k->task_off);
}

/* CPU cpu's kmap slot i (a km_type, a stack position, a window page). */
static inline struct kmap_slot *kmap_slot(const mmusim_kmap_layer *k, unsigned cpu, uint32_t i)
{
    return &k->slots[(size_t)cpu * k->slots_per_cpu + i];
}

/* The physical address of the PTE of CPU cpu's kmap slot i. */
static inline uint64_t kmap_slot_pte(const mmusim_kmap_layer *k, unsigned cpu, uint32_t i)
{
    return kmap_slot(k, cpu, i)->pte.entry_pa;
}

/* The address of CPU cpu's kmap slot i: __fix_to_virt(FIX_KMAP_BEGIN + i + slots_per_cpu * cpu). */
static inline uint32_t mmusim__kmap_slot_va(const mmusim_kmap_layer *k, unsigned cpu, uint32_t i)
{
    return kmap_slot(k, cpu, i)->va;
}

/* Record a BUG or WARN at the CPU's clock, counted in the layer's statistics. */
void mmusim__kmap_bug(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const char *what, uint32_t address);
void mmusim__kmap_warn(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const char *what, uint32_t address);

/* The bucket of a latency v: exact below 16, then 16 per power of two (the top 4 bits after the leading one). */
static inline unsigned kmap_hist_bucket(uint64_t v)
{
    if (v < KMAP_HIST_SUB)
        return (unsigned)v;
    unsigned e = mmusim__log2_64(v); /* >= 4 */
    unsigned mant = (unsigned)(v >> (e - 4)) & (KMAP_HIST_SUB - 1);
    return KMAP_HIST_SUB * (e - 3) + mant;
}

/* Add a latency sample (inline: every kmap_atomic and kunmap_atomic adds one, so the common
 * latencies find their bucket in a table rather than by a bit scan and shifts). */
static inline void mmusim__kmap_hist_add(mmusim_kmap_layer *k, enum mmusim_kmap_hist_kind kind, uint64_t cycles)
{
    unsigned b = MMUSIM_LIKELY(cycles < KMAP_HIST_LUT) ? k->hist_lut[cycles] : kmap_hist_bucket(cycles);
    k->hist[kind].b[b]++;
}

/* PageHighMem of a frame in RAM: in the HighMem zone. */
static inline int kmap_is_highmem(const mmusim_kmap_layer *k, uint64_t pfn)
{
    return pfn - k->highmem_start < k->highmem_frames;
}

/* The direct-map address of a lowmem frame (page_address of a lowmem page: __va). */
static inline uint32_t kmap_lowmem_va(const mmusim_kmap_layer *k, uint64_t pfn)
{
    return (uint32_t)(k->layout->page_offset + (pfn << MMUSIM_PAGE_SHIFT));
}

/* A PTE store or clear by this layer, counted in its statistics; MMUSIM_ENOMEM as the cpu layer's. */
static inline int mmusim__kmap_set(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t entry_pa, uint64_t value)
{
    int rc = mmusim__pte_store_now(cpu, entry_pa, value, NULL);
    if (MMUSIM_LIKELY(rc == 0))
        kmap_cpu_of(k, cpu)->st.pte_writes++;
    return rc;
}

static inline int mmusim__kmap_clear(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t entry_pa)
{
    int rc = mmusim__pte_clear_now(cpu, entry_pa, NULL);
    if (MMUSIM_LIKELY(rc == 0))
        kmap_cpu_of(k, cpu)->st.pte_writes++;
    return rc;
}

/* The same, through a slot's resolved handle (the kmap_atomic and kmap_local paths). */
static inline int mmusim__kmap_set_slot(const mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_slot *sl,
                                        uint64_t value)
{
    int rc = mmusim__pte_slot_store_hot(cpu, &sl->pte, value);
    if (MMUSIM_LIKELY(rc == 0))
        kmap_cpu_of(k, cpu)->st.pte_writes++;
    return rc;
}

static inline int mmusim__kmap_clear_slot(const mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_slot *sl)
{
    int rc = mmusim__pte_slot_clear_hot(cpu, &sl->pte);
    if (MMUSIM_LIKELY(rc == 0))
        kmap_cpu_of(k, cpu)->st.pte_writes++;
    return rc;
}

/* A local INVLPG by this layer (__flush_tlb_one: its cycles are charged to the clock). */
static inline void mmusim__kmap_invlpg(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t va)
{
    kmap_cpu_of(k, cpu)->st.invlpgs++;
    (void)mmusim__flush_tlb_one_hot(cpu, va);
}

/* The entry at entry_pa as it is now (pte_none is 0). */
static inline uint64_t kmap_pte_read(const mmusim_kmap_layer *k, uint64_t entry_pa)
{
    return pt_read(k->sys->mmu, entry_pa);
}

/*
 * pagefault_disable / pagefault_enable of the variant's era: before 5.11 a
 * raise of preempt_count (inc_preempt_count up to 2.6.19, pagefault_disable
 * after; the same count); in 5.11 a per-task count apart from it.
 */
static inline void mmusim__kmap_pagefault_disable(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    mmusim_task *t;
    if (k->opts.variant == MMUSIM_KMAP_LOCAL_5_11 && (t = mmusim_cpu_current(cpu)) != NULL)
        kmap_task_of(k, t)->pagefault_disabled++; /* 5.11: current->pagefault_disabled */
    else
        mmusim_preempt_disable(cpu);
}

static inline void mmusim__kmap_pagefault_enable(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    mmusim_task *t;
    if (k->opts.variant == MMUSIM_KMAP_LOCAL_5_11 && (t = mmusim_cpu_current(cpu)) != NULL)
        kmap_task_of(k, t)->pagefault_disabled--;
    else
        mmusim_preempt_enable(cpu);
}

/* ---- the variants' map and unmap (atomic.c, local.c, heap.c) ---- */

/*
 * kmap_atomic of frame pfn with PTE flags prot; highmem 0 is a lowmem page
 * (the direct map after the counts are raised), KMAP_PFN a kmap_atomic_pfn
 * (a slot whatever the frame). type is the km_type (slot forms) or ignored.
 * Called with the arguments checked.
 */
#define KMAP_PFN 2
typedef int (*kmap_map_fn)(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                           enum mmusim_km_type type, struct mmusim_kaddr *out);
typedef int (*kmap_unmap_fn)(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr, enum mmusim_km_type type);

struct kmap_variant_ops {
    kmap_map_fn map;
    kmap_unmap_fn unmap;
};

extern const struct kmap_variant_ops mmusim__kmap_slot19_ops, mmusim__kmap_slot36_ops, mmusim__kmap_stack_ops,
    mmusim__kmap_local_ops, mmusim__kmap_heap_ops;

/* Set k->entry from k->short_form (atomic.c). */
void mmusim__kmap_choose_entries(mmusim_kmap_layer *k);

/* kmap_atomic and kunmap_atomic's general path, with the entries' arguments (atomic.c): the short paths' fallback. */
int mmusim__kmap_atomic_general(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                uint64_t prot, struct mmusim_kaddr *out);
int mmusim__kunmap_atomic_general(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                  enum mmusim_km_type type);
/* local-5.11's short paths of kmap_atomic and kunmap_atomic (local.c). */
int mmusim__kmap_local_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                    uint64_t prot, struct mmusim_kaddr *out);
int mmusim__kunmap_local_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                      enum mmusim_km_type type);
/* The heap's (heap.c). */
int mmusim__kmap_heap_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                   uint64_t prot, struct mmusim_kaddr *out);
int mmusim__kunmap_heap_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                     enum mmusim_km_type type);

/* What every kmap_atomic and kunmap_atomic that succeeded adds to the statistics. */
static MMUSIM_INLINE void kmap_account_map(mmusim_kmap_layer *k, struct kmap_cpu *kc, uint64_t d)
{
    kc->st.atomic_maps++;
    kc->st.map_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_MAP, d);
}

static MMUSIM_INLINE void kmap_account_unmap(mmusim_kmap_layer *k, struct kmap_cpu *kc, uint64_t d)
{
    kc->st.atomic_unmaps++;
    kc->st.unmap_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_UNMAP, d);
}


/* local-5.11's hooks (local.c: context switch, fork, a task or handler ending); ctx: the layer, set when registered. */
extern const struct mmusim__hooks mmusim__kmap_local_hooks;

/* pkmap.c: set up and tear down the pool and the page_address table. */
int mmusim__pkmap_init(mmusim_kmap_layer *k);
void mmusim__pkmap_fini(mmusim_kmap_layer *k);
/* page_address of a highmem page, read without its locks (mmusim_page_address). */
uint32_t mmusim__pkmap_page_address(const mmusim_kmap_layer *k, uint64_t pfn);

#endif /* MMUSIM_KMAP_IMPL_H */
