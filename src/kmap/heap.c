/*
 * mmusim — the heap window (beyond Linux): each CPU's kmap slots managed as
 * a heap instead of a stack, the idea raised in the 2009 discussion of the
 * stack form: hand out however many pages are asked for, as one virtually
 * contiguous run, and take them back in any order. docs/kmap.md, "The heap
 * window", gives the paths, the costs and the choices.
 *
 * The window of CPU c is its kmap slots 0 .. depth-1 (depth: the stack
 * form's size, at most KMAP_HEAP_MAX). Slots descend in address as their
 * index grows, so the allocator numbers the window by address instead:
 * window page p (p = 0 the lowest address) is slot depth-1-p, and pages p,
 * p+1, ... are consecutive ascending addresses. A run is handed out first
 * fit from p = 0 and its address is its lowest page's.
 *
 * The allocator's bits are touched with interrupts masked (local_irq_save
 * and local_irq_restore, charged irq_save_restore), so a handler can
 * allocate and free on the CPU too. A held run keeps preemption disabled,
 * as kmap_atomic does. Misuse (freeing what is not a run) is a BUG report
 * and MMUSIM_EKMAPBUG with nothing changed, as in atomic.c.
 */
#include "internal.h"
#include "kmap/kmap_impl.h"
#include "mmusim/error.h"

/* The CPU slot of window page p. */
static uint32_t page_slot(const mmusim_kmap_layer *k, uint32_t p)
{
    return k->depth - 1u - p;
}

/* The bits of window pages p .. p+n-1. */
static uint64_t run_bits(uint32_t p, uint32_t n)
{
    uint64_t m = n >= 64 ? ~0ull : (1ull << n) - 1u;
    return m << p;
}

/* local_irq_save: the old interrupt state, interrupts masked; the pair's cost charged here. */
static int irq_save(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    int was_off = mmusim_cpu_irqs_disabled(cpu);
    mmusim_local_irq_disable(cpu);
    uint64_t c = k->cfg->costs.irq_save_restore;
    mmusim_cpu_spend(cpu, c);
    kmap_cpu_of(k, cpu)->st.heap_irq_cycles += c;
    return was_off;
}

/* local_irq_restore. */
static void irq_restore(mmusim_cpu *cpu, int was_off)
{
    if (!was_off)
        mmusim_local_irq_enable(cpu);
}

/*
 * Take a run of n pages (the critical section, interrupts masked): first
 * fit from the lowest address. *p gets its first page; MMUSIM_ENOWINDOW,
 * counted (and as fragmentation when enough pages were free in all), when
 * none is free.
 */
static int take_run(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t n, uint32_t *p)
{
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    int flags = irq_save(k, cpu);
    for (uint32_t q = 0; q + n <= k->depth; q++) {
        uint64_t bits = run_bits(q, n);
        if (kc->heap_used & bits)
            continue;
        kc->heap_used |= bits;
        kc->heap_run[q] = (uint8_t)n;
        irq_restore(cpu, flags);
        *p = q;
        return MMUSIM_OK;
    }
    unsigned nfree = k->depth - mmusim__popcount64(kc->heap_used);
    irq_restore(cpu, flags);
    kc->st.heap_refused++;
    if (nfree >= n)
        kc->st.heap_fragmented++;
    return MMUSIM_ENOWINDOW;
}

/* Give the run at page p back (the critical section). */
static void put_run(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t p)
{
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    int flags = irq_save(k, cpu);
    kc->heap_used &= ~run_bits(p, kc->heap_run[p]);
    kc->heap_run[p] = 0;
    irq_restore(cpu, flags);
}

/*
 * Hand out and map a run for pfns[0..n-1] with PTE flags prot: the run
 * taken in the critical section, then each page checked (a BUG, with the
 * run given back, if a free page's PTE is not none) and set without a
 * flush, as kmap_atomic's set. Preemption is the caller's.
 */
static int heap_map_run(mmusim_kmap_layer *k, mmusim_cpu *cpu, const uint64_t *pfns, uint32_t n, uint64_t prot,
                        struct mmusim_kaddr *out)
{
    uint32_t p;
    int rc = take_run(k, cpu, n, &p);
    if (rc != MMUSIM_OK)
        return rc;
    unsigned c = mmusim__cpu_head(cpu)->id;
    for (uint32_t j = 0; j < n; j++) {
        if (kmap_pte_read(k, kmap_slot_pte(k, c, page_slot(k, p + j))) != 0) {
            mmusim__kmap_bug(k, cpu, "kmap_heap: a free window page's PTE is not none",
                             mmusim__kmap_slot_va(k, c, page_slot(k, p + j)));
            put_run(k, cpu, p);
            return MMUSIM_EKMAPBUG;
        }
    }
    for (uint32_t j = 0; j < n; j++) {
        rc = mmusim__kmap_set_slot(k, cpu, kmap_slot(k, c, page_slot(k, p + j)), (pfns[j] << MMUSIM_PAGE_SHIFT) | prot);
        if (rc != MMUSIM_OK) {
            /* Out of host memory (cannot happen: the fixmap's table exists): undo the pages set. */
            while (j-- > 0)
                (void)mmusim__kmap_clear_slot(k, cpu, kmap_slot(k, c, page_slot(k, p + j)));
            put_run(k, cpu, p);
            return rc;
        }
    }
    kmap_cpu_of(k, cpu)->st.heap_maps++;
    out->va = mmusim__kmap_slot_va(k, c, page_slot(k, p));
    return MMUSIM_OK;
}

/* The window page of va on cpu, or UINT32_MAX outside the window. */
static uint32_t window_page(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t va)
{
    uint32_t lo = mmusim__kmap_slot_va(k, mmusim__cpu_head(cpu)->id, k->depth - 1u);
    if (va < lo || (va - lo) >> MMUSIM_PAGE_SHIFT >= k->depth)
        return UINT32_MAX;
    return (va - lo) >> MMUSIM_PAGE_SHIFT;
}

/*
 * Unmap and give back the run that starts at va (page-aligned, inside the
 * window): each page cleared and flushed (one INVLPG a page), and only then
 * the run given back, so that a handler allocating in between cannot find
 * a page still set (the order 2.6.37's stack form had to be fixed to keep,
 * linux-highmem.md §4). A page that starts no run in use is a BUG.
 */
static int heap_unmap_run(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t p, uint32_t addr)
{
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    uint32_t n = kc->heap_run[p];
    if (n == 0) {
        mmusim__kmap_bug(k, cpu, "kunmap_heap: address does not start a run in use", addr);
        return MMUSIM_EKMAPBUG;
    }
    unsigned c = mmusim__cpu_head(cpu)->id;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t i = page_slot(k, p + j);
        int rc = mmusim__kmap_clear(k, cpu, kmap_slot_pte(k, c, i));
        if (rc != MMUSIM_OK)
            return rc; /* cannot happen (the table exists); the pages before stay cleared */
        if (!k->opts.no_unmap_flush)
            mmusim__kmap_invlpg(k, cpu, mmusim__kmap_slot_va(k, c, i));
    }
    put_run(k, cpu, p);
    kc->st.heap_unmaps++;
    return MMUSIM_OK;
}

/* ---- the public calls ---- */

static int heap_args(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    if (!k || !cpu || mmusim__cpu_part(cpu) != k->sys)
        return MMUSIM_EINVAL;
    if (k->opts.variant != MMUSIM_KMAP_HEAP)
        return MMUSIM_EKMAPVARIANT;
    return MMUSIM_OK;
}

int mmusim_kmap_heap(mmusim_cpu *cpu, mmusim_kmap_layer *k, const struct mmusim_page *pages, unsigned npages,
                     struct mmusim_kaddr *out)
{
    int rc = heap_args(k, cpu);
    if (rc != MMUSIM_OK)
        return rc;
    if (!pages || !out || npages == 0 || npages > k->depth)
        return MMUSIM_EINVAL;
    uint64_t pfns[KMAP_HEAP_MAX];
    for (unsigned j = 0; j < npages; j++) {
        if (pages[j].pfn >= k->layout->max_pfn)
            return MMUSIM_EPHYS;
        pfns[j] = pages[j].pfn;
    }
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    mmusim_preempt_disable(cpu); /* held with the run */
    rc = heap_map_run(k, cpu, pfns, npages, k->kmap_prot, out);
    if (rc != MMUSIM_OK) {
        mmusim_preempt_enable(cpu);
        return rc;
    }
    uint64_t d = mmusim__cpu_head(cpu)->cycles - t0;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.map_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_MAP, d);
    return MMUSIM_OK;
}

int mmusim_kunmap_heap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr)
{
    int rc = heap_args(k, cpu);
    if (rc != MMUSIM_OK)
        return rc;
    uint32_t p = window_page(k, cpu, addr.va & ~MMUSIM_PAGE_OFFSET_MASK);
    if (p == UINT32_MAX) {
        mmusim__kmap_bug(k, cpu, "kunmap_heap: address not in this CPU's window", addr.va);
        return MMUSIM_EKMAPBUG;
    }
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    if ((rc = heap_unmap_run(k, cpu, p, addr.va)) != MMUSIM_OK)
        return rc;
    mmusim_preempt_enable(cpu);
    uint64_t d = mmusim__cpu_head(cpu)->cycles - t0;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.unmap_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_UNMAP, d);
    return MMUSIM_OK;
}

/* ---- kmap_atomic on the heap: a one-page run ---- */

/* pagefault_disable (the 2.6.37 era's: preemption off too), lowmem direct, else one page of the window. */
static int heap_atomic_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                           enum mmusim_km_type type, struct mmusim_kaddr *out)
{
    (void)type;
    mmusim__kmap_pagefault_disable(k, cpu);
    if (!highmem) {
        out->va = kmap_lowmem_va(k, pfn);
        return MMUSIM_OK;
    }
    int rc = heap_map_run(k, cpu, &pfn, 1, prot, out);
    if (rc != MMUSIM_OK)
        mmusim__kmap_pagefault_enable(k, cpu);
    return rc;
}

static int heap_atomic_unmap(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                             enum mmusim_km_type type)
{
    (void)type;
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    uint32_t p = window_page(k, cpu, va);
    if (p != UINT32_MAX) {
        int rc = heap_unmap_run(k, cpu, p, addr.va);
        if (rc != MMUSIM_OK)
            return rc;
    } else if (va < k->layout->page_offset || va >= k->layout->high_memory) {
        mmusim__kmap_bug(k, cpu, "kunmap_atomic: address is neither in this CPU's window nor lowmem", addr.va);
        return MMUSIM_EKMAPBUG;
    }
    mmusim__kmap_pagefault_enable(k, cpu);
    return MMUSIM_OK;
}

const struct kmap_variant_ops mmusim__kmap_heap_ops = {heap_atomic_map, heap_atomic_unmap};

/*
 * kmap_atomic and kunmap_atomic on the heap in their common case, short
 * (see atomic.c, "The short path"): a highmem page into the lowest free
 * window page, whose PTE is none, and the unmap of a one-page run at its
 * address. The same charges, counts and stores as heap_atomic_map and
 * heap_atomic_unmap, in the same order: pagefault_disable, the allocator's
 * critical section (local_irq_save and local_irq_restore charged
 * irq_save_restore; within one call the interrupt flag ends as it began),
 * the PTE store; the clear and INVLPG, the critical section, then
 * pagefault_enable. Anything else (lowmem, a full window, a page in use, a
 * run of several pages, an address outside the window) goes to the general
 * path before anything is changed.
 */
int mmusim__kmap_heap_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                   uint64_t prot, struct mmusim_kaddr *out)
{
    if (mmusim__cpu_part(cpu) != k->sys || !kmap_is_highmem(k, pfn) ||
        (uint32_t)type >= MMUSIM_KM_TYPE_COUNT_ || mmusim__preempt_depth(cpu, k->preempt_mask) >= k->preempt_quiet)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    const uint64_t free_pages = ~kc->heap_used & run_bits(0, k->depth);
    if (!free_pages)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out); /* the window is full: refused */
    const uint32_t p = mmusim__ctz64(free_pages); /* first fit of one page: the lowest free */
    struct kmap_slot *sl = &kc->slots[page_slot(k, p)];
    if (!mmusim__pte_slot_current(cpu, &sl->pte) || mmusim__pte_slot_peek(&sl->pte) != 0)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    const uint64_t t0 = cpu->cycles;
    const uint64_t c = k->cfg->costs.irq_save_restore;
    mmusim__preempt_inc_hot(cpu); /* pagefault_disable (2.6.37: preemption off) */
    mmusim__irq_save_restore_hot(cpu);
    mmusim__cpu_spend_hot(cpu, c);
    kc->st.heap_irq_cycles += c;
    kc->heap_used |= 1ull << p;
    kc->heap_run[p] = 1;
    mmusim__pte_slot_put(cpu, &sl->pte, (pfn << MMUSIM_PAGE_SHIFT) | prot);
    kc->st.pte_writes++;
    kc->st.heap_maps++;
    out->va = sl->va;
    kmap_account_map(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

int mmusim__kunmap_heap_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                     enum mmusim_km_type type)
{
    if (mmusim__cpu_part(cpu) != k->sys || (uint32_t)type >= MMUSIM_KM_TYPE_COUNT_ ||
        mmusim__preempt_depth(cpu, k->preempt_mask) == 0)
        return mmusim__kunmap_atomic_general(k, cpu, addr, type);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    const uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    const uint32_t lo = kc->slots[k->depth - 1u].va; /* window page 0 */
    const uint32_t p = (va - lo) >> MMUSIM_PAGE_SHIFT;
    if (va < lo || p >= k->depth || kc->heap_run[p] != 1)
        return mmusim__kunmap_atomic_general(k, cpu, addr, type); /* outside the window, no run, several pages */
    struct kmap_slot *sl = &kc->slots[page_slot(k, p)];
    if (!mmusim__pte_slot_current(cpu, &sl->pte))
        return mmusim__kunmap_atomic_general(k, cpu, addr, type);
    const uint64_t t0 = cpu->cycles;
    const uint64_t c = k->cfg->costs.irq_save_restore;
    mmusim__pte_slot_put(cpu, &sl->pte, 0); /* the page cleared and flushed before the run goes back */
    kc->st.pte_writes++;
    kc->st.invlpgs++;
    (void)mmusim__flush_tlb_one_hot(cpu, sl->va);
    mmusim__irq_save_restore_hot(cpu);
    mmusim__cpu_spend_hot(cpu, c);
    kc->st.heap_irq_cycles += c;
    kc->heap_used &= ~(1ull << p);
    kc->heap_run[p] = 0;
    kc->st.heap_unmaps++;
    mmusim__preempt_dec_hot(cpu); /* pagefault_enable */
    kmap_account_unmap(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

