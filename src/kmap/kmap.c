/*
 * mmusim — the kmap layer: creation, the variants' dispatch, pages and
 * addresses, statistics and latency histograms (include/mmusim/kmap.h).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kmap/kmap_impl.h"
#include "mmusim/error.h"

/* ---- names ---- */

static const char *const variant_names[MMUSIM_KMAP_VARIANT_COUNT_] = {
    "slot-2.6.19", "slot-2.6.36", "stack-2.6.37", "local-5.11", "heap"};

const char *mmusim_kmap_variant_name(enum mmusim_kmap_variant v)
{
    return (unsigned)v < MMUSIM_KMAP_VARIANT_COUNT_ ? variant_names[v] : "?";
}

int mmusim_kmap_variant_from_name(const char *name, enum mmusim_kmap_variant *out)
{
    if (!name || !out)
        return MMUSIM_EINVAL;
    for (unsigned v = 0; v < MMUSIM_KMAP_VARIANT_COUNT_; v++)
        if (strcmp(name, variant_names[v]) == 0) {
            *out = (enum mmusim_kmap_variant)v;
            return MMUSIM_OK;
        }
    return MMUSIM_EINVAL;
}

static const char *const km_type_names[MMUSIM_KM_TYPE_COUNT_] = {
    "KM_BOUNCE_READ", "KM_SKB_SUNRPC_DATA", "KM_SKB_DATA_SOFTIRQ", "KM_USER0",      "KM_USER1",
    "KM_BIO_SRC_IRQ", "KM_BIO_DST_IRQ",     "KM_PTE0",             "KM_PTE1",       "KM_IRQ0",
    "KM_IRQ1",        "KM_SOFTIRQ0",        "KM_SOFTIRQ1",         "KM_SYNC_ICACHE", "KM_SYNC_DCACHE",
    "KM_UML_USERCOPY", "KM_IRQ_PTE",        "KM_NMI",              "KM_NMI_PTE",    "KM_KDB"};

const char *mmusim_km_type_name(enum mmusim_km_type t)
{
    return (unsigned)t < MMUSIM_KM_TYPE_COUNT_ ? km_type_names[t] : "?";
}

/* ---- options ---- */

/* Each variant's own era: the kernel its kmap_atomic comes from, and so its pkmap rules by default. */
static const enum mmusim_era variant_era[MMUSIM_KMAP_VARIANT_COUNT_] = {
    MMUSIM_ERA_2_6_18, /* slot-2.6.19: the flush-at-map form, as 2.6.18 has it */
    MMUSIM_ERA_2_6_32, /* slot-2.6.36: the flush-at-unmap form, as 2.6.32 has it */
    MMUSIM_ERA_2_6_37,
    MMUSIM_ERA_5_11,
    MMUSIM_ERA_2_6_37, /* heap: measured against the stack form, so on its era's pkmap */
};

enum mmusim_era mmusim_kmap_variant_era(enum mmusim_kmap_variant v)
{
    return (unsigned)v < MMUSIM_KMAP_VARIANT_COUNT_ ? variant_era[v] : MMUSIM_ERA_COUNT_;
}

/* The km_types of the slot forms' eras (include/asm-generic/kmap_types.h, linux-highmem.md §3). */
#define KM_TYPES_2_6_18 13u
#define KM_TYPES_2_6_32 19u

void mmusim_kmap_opts_init(struct mmusim_kmap_opts *opts, enum mmusim_kmap_variant v)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof(*opts));
    opts->variant = v;
    opts->debug = MMUSIM_KMAP_DEBUG_MACHINE;
    opts->pkmap_era = MMUSIM_KMAP_ERA_OF_VARIANT;
}

static const struct kmap_variant_ops *variant_ops(enum mmusim_kmap_variant v)
{
    switch (v) {
    case MMUSIM_KMAP_SLOT_2_6_19:
        return &mmusim__kmap_slot19_ops;
    case MMUSIM_KMAP_SLOT_2_6_36:
        return &mmusim__kmap_slot36_ops;
    case MMUSIM_KMAP_STACK_2_6_37:
        return &mmusim__kmap_stack_ops;
    case MMUSIM_KMAP_LOCAL_5_11:
        return &mmusim__kmap_local_ops;
    case MMUSIM_KMAP_HEAP:
        return &mmusim__kmap_heap_ops;
    case MMUSIM_KMAP_VARIANT_COUNT_:
        break;
    }
    return NULL;
}

/* opts checked against the machine and resolved into k->opts and the window's geometry. */
static int resolve(mmusim_kmap_layer *k, const struct mmusim_kmap_opts *opts)
{
    const struct mmusim_layout *l = k->layout;
    if ((unsigned)opts->variant >= MMUSIM_KMAP_VARIANT_COUNT_)
        return MMUSIM_EINVAL;
    if (!(k->ops = variant_ops(opts->variant)))
        return MMUSIM_EKMAPVARIANT;
    if (opts->pkmap_era != MMUSIM_KMAP_ERA_OF_VARIANT && (unsigned)opts->pkmap_era >= MMUSIM_ERA_COUNT_)
        return MMUSIM_EERA;
    int machine_debug = k->cfg->debug_highmem != 0;
    if (opts->debug != MMUSIM_KMAP_DEBUG_MACHINE && (opts->debug != 0) != machine_debug)
        return MMUSIM_EKMAPDEBUG;
    k->opts = *opts;
    k->opts.debug = machine_debug;
    if (opts->pkmap_era == MMUSIM_KMAP_ERA_OF_VARIANT)
        k->opts.pkmap_era = variant_era[opts->variant];
    k->slots_per_cpu = l->kmap_slots_per_cpu;
    k->incr = 1;
    switch (opts->variant) {
    case MMUSIM_KMAP_SLOT_2_6_19:
        k->ntypes = KM_TYPES_2_6_18;
        break;
    case MMUSIM_KMAP_SLOT_2_6_36:
        k->ntypes = KM_TYPES_2_6_32;
        break;
    case MMUSIM_KMAP_STACK_2_6_37:
    case MMUSIM_KMAP_HEAP:
        /* The stack is as deep as the machine's slots per CPU (KM_TYPE_NR, fences
         * included: 2.6.37 pushes through all of them, §4); the heap window is
         * the same size, capped at KMAP_HEAP_MAX pages. */
        k->depth = k->slots_per_cpu;
        if (opts->variant == MMUSIM_KMAP_HEAP && k->depth > KMAP_HEAP_MAX)
            k->depth = KMAP_HEAP_MAX;
        break;
    case MMUSIM_KMAP_LOCAL_5_11:
        /* KM_MAX_IDX 16, or 33 with DEBUG_KMAP_LOCAL, whose even slots are guards (KM_INCR 2). */
        k->depth = k->opts.debug ? 33u : 16u;
        k->incr = k->opts.debug ? 2u : 1u;
        if (k->slots_per_cpu < k->depth)
            return MMUSIM_EKMAPFIT;
        break;
    case MMUSIM_KMAP_VARIANT_COUNT_:
        return MMUSIM_EINVAL;
    }
    return MMUSIM_OK;
}

/* kmap_prot: PAGE_KERNEL (P RW A D), global on PGE CPUs, NX where the machine enables it (linux-highmem.md §2). */
static uint64_t kmap_prot_of(const struct mmusim_config *cfg)
{
    uint64_t prot = MMUSIM_PAGE_KERNEL;
    if (cfg->features & MMUSIM_FEAT_PGE)
        prot |= MMUSIM_PTE_G;
    if ((cfg->features & MMUSIM_FEAT_NX) && cfg->paging == MMUSIM_PAGING_PAE)
        prot |= MMUSIM_PTE_NX;
    return prot;
}

/* Every kmap slot's address and PTE address, as kmap_init computes kmap_pte once. */
static int find_slot_ptes(mmusim_kmap_layer *k)
{
    size_t n = (size_t)k->ncpus * k->slots_per_cpu;
    if (!(k->slots = mmusim__calloc(n ? n : 1, sizeof(*k->slots))))
        return MMUSIM_ENOMEM;
    const struct mmusim_layout *l = k->layout;
    k->kslot_lo = mmusim_kmap_slot_vaddr(l, l->fix_kmap_end - l->fix_kmap_begin);
    k->kslot_hi = mmusim_kmap_slot_vaddr(l, 0);
    for (unsigned c = 0; c < k->ncpus; c++)
        for (uint32_t i = 0; i < k->slots_per_cpu; i++) {
            struct kmap_slot *sl = kmap_slot(k, c, i);
            uint64_t pa;
            sl->va = mmusim_kmap_slot_vaddr(k->layout, mmusim_kmap_idx(k->layout, c, i));
            int rc = mmusim__kernel_pte_pa(k->sys, sl->va, &pa);
            if (rc != MMUSIM_OK)
                return rc; /* the fixmap tables are allocated at boot: cannot happen */
            mmusim__pte_slot_init(&sl->pte, pa);
            if (i == 0)
                kmap_cpu_of(k, mmusim__cpu_sys_cpu(k->sys, c))->slots = sl;
        }
    return MMUSIM_OK;
}

/* The short path of each variant, and the km_types it serves. */
static void short_form_of(mmusim_kmap_layer *k)
{
    static const enum kmap_short form_of[MMUSIM_KMAP_VARIANT_COUNT_] = {
        [MMUSIM_KMAP_SLOT_2_6_19] = KMAP_SHORT_SLOT19,
        [MMUSIM_KMAP_SLOT_2_6_36] = KMAP_SHORT_SLOT36,
        [MMUSIM_KMAP_STACK_2_6_37] = KMAP_SHORT_STACK,
        [MMUSIM_KMAP_LOCAL_5_11] = KMAP_SHORT_LOCAL,
        [MMUSIM_KMAP_HEAP] = KMAP_SHORT_HEAP,
    };
    k->short_form = form_of[k->opts.variant];
    /* The slot forms' types are slots 0 to ntypes - 1 (no fences without DEBUG), as far as the
     * machine's slots go; the stack forms ignore the type but refuse one past the list. */
    if (k->short_form == KMAP_SHORT_SLOT19 || k->short_form == KMAP_SHORT_SLOT36)
        k->short_types = k->ntypes < k->slots_per_cpu ? k->ntypes : k->slots_per_cpu;
    else
        k->short_types = MMUSIM_KM_TYPE_COUNT_;
}

/*
 * The short path of kmap_atomic (atomic.c, map_short) serves the slot and
 * stack forms without DEBUG_HIGHMEM and without the switches that only tests
 * set; the rest always takes the general path.
 */
static void choose_short_path(mmusim_kmap_layer *k)
{
    const struct mmusim_zone_span *hm = &k->layout->zones[MMUSIM_ZONE_HIGHMEM];
    uint64_t end = hm->end_pfn < k->layout->max_pfn ? hm->end_pfn : k->layout->max_pfn;
    k->highmem_frames = end > k->highmem_start ? end - k->highmem_start : 0;
    k->preempt_mask = k->layout->preempt_bits.preempt_mask;
    k->preempt_quiet = MMUSIM__PREEMPT_QUIET_MAX(k->preempt_mask);
    k->short_form = KMAP_SHORT_NONE;
    if (!k->opts.debug && !k->opts.no_unmap_flush && !k->opts.pop_before_clear)
        short_form_of(k);
    mmusim__kmap_choose_entries(k);
}

int mmusim__kmap_create(struct cpu_sys *sys, mmusim_machine *owner, const struct mmusim_kmap_opts *opts,
                        mmusim_kmap_layer **out)
{
    if (!sys || !opts || !out)
        return MMUSIM_EINVAL;
    *out = NULL;
    mmusim_kmap_layer *k = mmusim__calloc(1, sizeof(*k));
    if (!k)
        return MMUSIM_ENOMEM;
    k->sys = sys;
    k->cfg = mmusim_machine_config(owner);
    k->layout = mmusim_machine_layout(owner);
    k->ncpus = mmusim_machine_ncpus(owner);
    k->kmap_prot = kmap_prot_of(k->cfg);
    k->highmem_start = k->layout->zones[MMUSIM_ZONE_HIGHMEM].start_pfn;
    k->debug_warn_count = 10;
    for (unsigned v = 0; v < KMAP_HIST_LUT; v++)
        k->hist_lut[v] = (uint16_t)kmap_hist_bucket(v);
    int rc = resolve(k, opts);
    if (rc == MMUSIM_OK)
        rc = mmusim__cpu_ext_reserve(sys, sizeof(struct kmap_cpu), &k->cpu_off);
    if (rc == MMUSIM_OK)
        rc = mmusim__task_ext_reserve(sys, sizeof(struct kmap_task), &k->task_off);
    if (rc == MMUSIM_OK)
        rc = find_slot_ptes(k);
    if (rc == MMUSIM_OK)
        choose_short_path(k);
    if (rc == MMUSIM_OK)
        rc = mmusim__pkmap_init(k);
    if (rc == MMUSIM_OK && k->opts.variant == MMUSIM_KMAP_LOCAL_5_11) {
        /* kmap_local's context-switch, fork, task-end and handler-end hooks
         * (local.c); last, so that no failure after it leaves them pointing
         * at a freed layer (a hook cannot be unregistered). */
        struct mmusim__hooks h = mmusim__kmap_local_hooks;
        h.ctx = k;
        rc = mmusim__hooks_register(sys, &h);
    }
    if (rc != MMUSIM_OK) {
        mmusim__kmap_destroy(k);
        return rc;
    }
    *out = k;
    return MMUSIM_OK;
}

void mmusim__kmap_destroy(mmusim_kmap_layer *k)
{
    if (!k)
        return;
    mmusim__pkmap_fini(k);
    mmusim__free(k->slots);
    mmusim__free(k);
}

const struct mmusim_kmap_opts *mmusim_kmap_options(const mmusim_kmap_layer *k)
{
    return k ? &k->opts : NULL;
}

/* ---- pages and addresses ---- */

struct mmusim_page mmusim_page_of_pfn(const mmusim_machine *m, uint64_t pfn)
{
    struct mmusim_page p = {pfn, MMUSIM_ZONE_NORMAL};
    if (m)
        p.zone = mmusim_layout_zone_of(mmusim_machine_layout(m), pfn);
    return p;
}

int mmusim_page_is_highmem(struct mmusim_page page)
{
    return page.zone == MMUSIM_ZONE_HIGHMEM;
}

struct mmusim_kaddr mmusim_page_address(const mmusim_kmap_layer *k, struct mmusim_page page)
{
    struct mmusim_kaddr a = {0};
    if (!k || page.pfn >= k->layout->max_pfn)
        return a;
    a.va = mmusim_page_is_highmem(page) ? mmusim__pkmap_page_address(k, page.pfn) : kmap_lowmem_va(k, page.pfn);
    return a;
}

/* ---- what every path shares ---- */

void mmusim__kmap_bug(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const char *what, uint32_t address)
{
    kmap_cpu_of(k, cpu)->st.bugs++;
    mmusim_report_bug(cpu, what, address);
}

void mmusim__kmap_warn(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const char *what, uint32_t address)
{
    kmap_cpu_of(k, cpu)->st.warns++;
    mmusim_report_warn(cpu, what, address);
}

int mmusim_kmap_atomic_to_page(const mmusim_kmap_layer *k, struct mmusim_kaddr addr, struct mmusim_page *out)
{
    if (!k || !out)
        return MMUSIM_EINVAL;
    const struct mmusim_layout *l = k->layout;
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    uint64_t pfn;
    if (va < l->fixaddr_start) {
        /* virt_to_page: lowmem only. */
        if (va < l->page_offset || va >= l->high_memory)
            return MMUSIM_EINVAL;
        pfn = (uint64_t)(va - l->page_offset) >> MMUSIM_PAGE_SHIFT;
    } else {
        uint32_t first = mmusim__kmap_slot_va(k, 0, 0), last = mmusim__kmap_slot_va(k, k->ncpus - 1, k->slots_per_cpu - 1);
        if (va > first || va < last)
            return MMUSIM_EINVAL; /* not a kmap slot */
        uint32_t idx = (first - va) >> MMUSIM_PAGE_SHIFT;
        uint64_t pte = mmusim__pte_read(k->sys, k->slots[idx].pte.entry_pa);
        if (!(pte & MMUSIM_PTE_P))
            return MMUSIM_ENOTMAPPED;
        pfn = (pte & pt_frame_mask(k->sys->mmu)) >> MMUSIM_PAGE_SHIFT;
    }
    out->pfn = pfn;
    out->zone = mmusim_layout_zone_of(l, pfn);
    return MMUSIM_OK;
}

/* ---- statistics ---- */

int mmusim_kmap_stats(const mmusim_kmap_layer *k, int cpu, struct mmusim_kmap_stats *out)
{
    if (!k || !out)
        return MMUSIM_EINVAL;
    if (cpu >= 0) {
        if ((unsigned)cpu >= k->ncpus)
            return MMUSIM_ECPU;
        *out = kmap_cpu_of(k, mmusim__cpu_sys_cpu(k->sys, (unsigned)cpu))->st;
        return MMUSIM_OK;
    }
    if (cpu != -1)
        return MMUSIM_ECPU;
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < k->ncpus; i++) {
        const struct mmusim_kmap_stats *s = &kmap_cpu_of(k, mmusim__cpu_sys_cpu(k->sys, i))->st;
#define MMUSIM_KMAP_SUM_(name, doc) out->name += s->name;
        MMUSIM_KMAP_STATS(MMUSIM_KMAP_SUM_)
#undef MMUSIM_KMAP_SUM_
    }
    return MMUSIM_OK;
}

void mmusim_kmap_stats_reset(mmusim_kmap_layer *k)
{
    if (!k)
        return;
    for (unsigned i = 0; i < k->ncpus; i++)
        memset(&kmap_cpu_of(k, mmusim__cpu_sys_cpu(k->sys, i))->st, 0, sizeof(struct mmusim_kmap_stats));
    memset(k->hist, 0, sizeof(k->hist));
}

/* The smallest value of bucket b (kmap_hist_bucket's inverse, kmap_impl.h). */
static uint64_t hist_floor(unsigned b)
{
    if (b < KMAP_HIST_SUB)
        return b;
    unsigned e = b / KMAP_HIST_SUB + 3, mant = b % KMAP_HIST_SUB;
    return ((uint64_t)(KMAP_HIST_SUB + mant)) << (e - 4);
}

/* How many samples a histogram holds: the sum of its buckets (not kept apart: one add less per sample). */
static uint64_t hist_count(const struct kmap_hist *h)
{
    uint64_t n = 0;
    for (unsigned b = 0; b < KMAP_HIST_BUCKETS; b++)
        n += h->b[b];
    return n;
}

uint64_t mmusim_kmap_percentile(const mmusim_kmap_layer *k, enum mmusim_kmap_hist_kind kind, double p)
{
    if (!k || (unsigned)kind >= MMUSIM_KMAP_HIST_COUNT_ || !(p > 0.0) || p > 100.0)
        return 0;
    const struct kmap_hist *h = &k->hist[kind];
    uint64_t n = hist_count(h);
    if (!n)
        return 0;
    /* The sample of rank ceil(p% of n), counted from 1. */
    uint64_t rank = (uint64_t)((double)n * p / 100.0);
    if ((double)rank < (double)n * p / 100.0)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < KMAP_HIST_BUCKETS; b++) {
        seen += h->b[b];
        if (seen >= rank)
            return hist_floor(b);
    }
    return 0;
}

uint64_t mmusim_kmap_samples(const mmusim_kmap_layer *k, enum mmusim_kmap_hist_kind kind)
{
    return (k && (unsigned)kind < MMUSIM_KMAP_HIST_COUNT_) ? hist_count(&k->hist[kind]) : 0;
}

void mmusim_kmap_record_pair(mmusim_kmap_layer *k, uint64_t cycles)
{
    if (k)
        mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_PAIR, cycles);
}
