/*
 * mmusim — kmap_atomic in its slot form (a slot per km_type and CPU;
 * 2.6.12-2.6.19 set and flush at map, 2.6.20-2.6.36 set at map and clear
 * and flush at unmap) and its stack form (2.6.37: a per-CPU stack,
 * __kmap_atomic_idx). ../shared/docs/linux-highmem.md §3 and §4; docs/kmap.md.
 *
 * A BUG the kernel would hit is recorded as a report and the call refuses
 * with MMUSIM_EKMAPBUG, undoing what it had raised (the preemption count,
 * the stack): the machine stays usable. A WARN is recorded and the call
 * goes on, as the kernel does.
 */
#include "kmap/kmap_impl.h"
#include "mmusim/error.h"

/* ---- the slot form ---- */

/*
 * The fixmap slot of km_type type: type itself, or with DEBUG_HIGHMEM's
 * fences (a __KM_FENCE_n before every type) 2 type + 1. UINT32_MAX if the
 * variant's era has no such type or the machine's slots end before it.
 */
static uint32_t slot_of_type(const mmusim_kmap_layer *k, enum mmusim_km_type type)
{
    if ((uint32_t)type >= k->ntypes)
        return UINT32_MAX;
    uint32_t i = k->opts.debug ? 2u * (uint32_t)type + 1u : (uint32_t)type;
    return i < k->slots_per_cpu ? i : UINT32_MAX;
}

static int is_irq_type(enum mmusim_km_type t)
{
    return t == MMUSIM_KM_IRQ0 || t == MMUSIM_KM_IRQ1 || t == MMUSIM_KM_BOUNCE_READ || t == MMUSIM_KM_BIO_SRC_IRQ ||
           t == MMUSIM_KM_BIO_DST_IRQ || t == MMUSIM_KM_IRQ_PTE || t == MMUSIM_KM_NMI || t == MMUSIM_KM_NMI_PTE;
}

/* The types a context may use (2.6.32 mm/highmem.c, debug_kmap_atomic; linux-highmem.md §3). */
static int type_allowed_in(enum mmusim_context ctx, int irqs_off, enum mmusim_km_type t)
{
    switch (ctx) {
    case MMUSIM_CTX_NMI:
        return t == MMUSIM_KM_NMI || t == MMUSIM_KM_NMI_PTE;
    case MMUSIM_CTX_HARDIRQ:
        return t == MMUSIM_KM_IRQ0 || t == MMUSIM_KM_IRQ1 || t == MMUSIM_KM_BIO_SRC_IRQ ||
               t == MMUSIM_KM_BIO_DST_IRQ || t == MMUSIM_KM_BOUNCE_READ || t == MMUSIM_KM_IRQ_PTE;
    case MMUSIM_CTX_SOFTIRQ:
        if (irqs_off)
            return 1; /* the softirq rule is for a softirq running with interrupts on */
        return t == MMUSIM_KM_IRQ0 || t == MMUSIM_KM_IRQ1 || t == MMUSIM_KM_SOFTIRQ0 || t == MMUSIM_KM_SOFTIRQ1 ||
               t == MMUSIM_KM_SKB_SUNRPC_DATA || t == MMUSIM_KM_SKB_DATA_SOFTIRQ || t == MMUSIM_KM_BOUNCE_READ;
    case MMUSIM_CTX_TASK:
        break;
    }
    return 1;
}

/*
 * debug_kmap_atomic(type), 2.6.32 with DEBUG_HIGHMEM: a WARN when a type is
 * used in a context it is not for, and another when an interrupt type is
 * used with interrupts on (or a softirq type outside interrupt context with
 * them on). The two checks are made one after the other, each with its own
 * WARN_ON and warn_count--, so one call can warn twice (an IRQ type that is
 * not a softirq type, in a softirq with interrupts on). The countdown is a
 * static int from 10, tested once on entry (return if below 0): calls warn
 * while it is 0 or more, so 11 single WARNs in all, one more if the last
 * call warns twice.
 */
static void debug_warn(mmusim_kmap_layer *k, mmusim_cpu *cpu, const char *why, uint32_t va)
{
    k->debug_warn_count--;
    mmusim__kmap_warn(k, cpu, why, va);
}

static void debug_kmap_atomic(mmusim_kmap_layer *k, mmusim_cpu *cpu, enum mmusim_km_type t, uint32_t va)
{
    if (k->debug_warn_count < 0)
        return;
    enum mmusim_context ctx = mmusim_cpu_context(cpu);
    int irqs_off = mmusim_cpu_irqs_disabled(cpu);
    if (mmusim_cpu_in_interrupt(cpu) && !type_allowed_in(ctx, irqs_off, t))
        debug_warn(k, cpu, "debug_kmap_atomic: km_type used in the wrong context", va);
    if (is_irq_type(t) && !irqs_off)
        debug_warn(k, cpu, "debug_kmap_atomic: interrupt km_type with interrupts enabled", va);
    else if ((t == MMUSIM_KM_SOFTIRQ0 || t == MMUSIM_KM_SOFTIRQ1) && !mmusim_cpu_in_interrupt(cpu) && !irqs_off)
        debug_warn(k, cpu, "debug_kmap_atomic: softirq km_type outside interrupt context with interrupts enabled",
                   va);
}

static int slot_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                    enum mmusim_km_type type, struct mmusim_kaddr *out, int flush_at_map)
{
    uint32_t i = slot_of_type(k, type);
    if (i == UINT32_MAX)
        return MMUSIM_EKMTYPE;
    /* inc_preempt_count (2.6.19) / pagefault_disable (2.6.20 on): even for lowmem, so unmap can always undo it. */
    mmusim__kmap_pagefault_disable(k, cpu);
    if (!highmem) {
        out->va = kmap_lowmem_va(k, pfn);
        return MMUSIM_OK;
    }
    struct kmap_slot *sl = kmap_slot(k, mmusim__cpu_head(cpu)->id, i);
    uint32_t va = sl->va;
    if (k->opts.debug && !flush_at_map)
        debug_kmap_atomic(k, cpu, type, va);
    /* Not none: a BUG under DEBUG_HIGHMEM before 2.6.20, always from 2.6.20 (linux-highmem.md §3);
     * kmap_atomic_pfn has no such check (2.6.18 highmem.c; 2.6.32 iomap_32.c kmap_atomic_prot_pfn). */
    if ((k->opts.debug || !flush_at_map) && highmem != KMAP_PFN && kmap_pte_read(k, sl->pte.entry_pa) != 0) {
        mmusim__kmap_bug(k, cpu, "kmap_atomic: the slot's PTE is not none (slot in use)", va);
        mmusim__kmap_pagefault_enable(k, cpu);
        return MMUSIM_EKMAPBUG;
    }
    int rc = mmusim__kmap_set_slot(k, cpu, sl, (pfn << MMUSIM_PAGE_SHIFT) | prot);
    if (rc != MMUSIM_OK) {
        mmusim__kmap_pagefault_enable(k, cpu);
        return rc;
    }
    if (flush_at_map)
        mmusim__kmap_invlpg(k, cpu, va); /* __flush_tlb_one: whatever the slot held before goes */
    out->va = va;
    return MMUSIM_OK;
}

static int lowmem_va(const mmusim_kmap_layer *k, uint32_t va)
{
    return va >= k->layout->page_offset && va < k->layout->high_memory;
}

/* 2.6.12-2.6.19: set and flush at map; unmap only lowers the count (and, with DEBUG, clears and flushes). */
static int slot19_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                      enum mmusim_km_type type, struct mmusim_kaddr *out)
{
    return slot_map(k, cpu, pfn, highmem, prot, type, out, 1);
}

static int slot19_unmap(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr, enum mmusim_km_type type)
{
    uint32_t i = slot_of_type(k, type);
    if (i == UINT32_MAX)
        return MMUSIM_EKMTYPE;
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    if (k->opts.debug && va >= k->layout->fixaddr_start) {
        unsigned c = mmusim__cpu_head(cpu)->id;
        uint32_t slot = mmusim__kmap_slot_va(k, c, i);
        if (va != slot) {
            mmusim__kmap_bug(k, cpu, "kunmap_atomic: address is not the slot of this km_type", addr.va);
            return MMUSIM_EKMAPBUG;
        }
        /* With DEBUG_HIGHMEM the slot is cleared and flushed (2.6.18 arch/i386/mm/highmem.c). */
        int rc = mmusim__kmap_clear_slot(k, cpu, kmap_slot(k, c, i));
        if (rc != MMUSIM_OK)
            return rc;
        if (!k->opts.no_unmap_flush)
            mmusim__kmap_invlpg(k, cpu, va);
    }
    /* Without DEBUG the PTE stays: the next map of the slot flushes it. */
    mmusim__kmap_pagefault_enable(k, cpu);
    return MMUSIM_OK;
}

/* 2.6.20-2.6.36: set at map (BUG if the slot is in use), clear and flush at unmap. */
static int slot36_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                      enum mmusim_km_type type, struct mmusim_kaddr *out)
{
    return slot_map(k, cpu, pfn, highmem, prot, type, out, 0);
}

static int slot36_unmap(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr, enum mmusim_km_type type)
{
    uint32_t i = slot_of_type(k, type);
    if (i == UINT32_MAX)
        return MMUSIM_EKMTYPE;
    struct kmap_slot *sl = kmap_slot(k, mmusim__cpu_head(cpu)->id, i);
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    if (va == sl->va) {
        /* kpte_clear_flush: pte_clear, then __flush_tlb_one. */
        int rc = mmusim__kmap_clear_slot(k, cpu, sl);
        if (rc != MMUSIM_OK)
            return rc;
        if (!k->opts.no_unmap_flush)
            mmusim__kmap_invlpg(k, cpu, va);
    } else if (k->opts.debug && !lowmem_va(k, va)) {
        mmusim__kmap_bug(k, cpu, "kunmap_atomic: address is neither this km_type's slot nor lowmem", addr.va);
        return MMUSIM_EKMAPBUG;
    }
    /* Another address without DEBUG: nothing is cleared, the slot's PTE stays set
     * and the next kmap_atomic of that type hits the BUG (linux-highmem.md §3). */
    mmusim__kmap_pagefault_enable(k, cpu);
    return MMUSIM_OK;
}

const struct kmap_variant_ops mmusim__kmap_slot19_ops = {slot19_map, slot19_unmap};
const struct kmap_variant_ops mmusim__kmap_slot36_ops = {slot36_map, slot36_unmap};

/* ---- the stack form (2.6.37 arch/x86/mm/highmem_32.c, include/linux/highmem.h) ---- */

/* 2.6.37's WARN_ON_ONCE sites: each warns the first time only (a static flag per site in the kernel). */
enum { ONCE_PUSH_IN_IRQ = 1u << 0, ONCE_UNMAP_NOT_TOP = 1u << 1 };

static void warn_once(mmusim_kmap_layer *k, mmusim_cpu *cpu, unsigned site, const char *what, uint32_t address)
{
    if (k->warned_once & site)
        return;
    k->warned_once |= site;
    mmusim__kmap_warn(k, cpu, what, address);
}

/*
 * The PTE of CPU c's stack position i, which may lie outside the CPU's
 * slots when the stack over- or underflows without a check stopping it
 * (then it is another CPU's slot, or another fixmap entry). 0 and a BUG
 * report when not even the fixmap's tables cover it.
 */
static MMUSIM_NOINLINE uint64_t stack_slot_pte_far(mmusim_kmap_layer *k, mmusim_cpu *cpu, unsigned c, int i,
                                                   uint32_t *va)
{
    int64_t fix = (int64_t)k->layout->fix_kmap_begin + i + (int64_t)k->slots_per_cpu * c;
    uint64_t pa;
    *va = fix >= 0 ? mmusim_fix_to_virt(k->layout, (uint32_t)fix) : 0; /* __fix_to_virt(FIX_KMAP_BEGIN + idx) */
    if (fix < 0 || *va < k->layout->fixaddr_boot_start || mmusim__kernel_pte_pa(k->sys, *va, &pa) != MMUSIM_OK) {
        mmusim__kmap_bug(k, cpu, "kmap_atomic stack beyond the fixmap: unable to handle paging request", *va);
        return 0;
    }
    return pa;
}

/* The same, and in *sl the CPU's own slot when position i is one (NULL beyond), for its fast stores. */
static inline uint64_t stack_slot_pte(mmusim_kmap_layer *k, mmusim_cpu *cpu, int i, uint32_t *va,
                                      struct kmap_slot **sl)
{
    unsigned c = mmusim__cpu_head(cpu)->id;
    if (MMUSIM_LIKELY(i >= 0 && (uint32_t)i < k->slots_per_cpu)) {
        *sl = kmap_slot(k, c, (uint32_t)i);
        *va = (*sl)->va;
        return (*sl)->pte.entry_pa;
    }
    *sl = NULL;
    return stack_slot_pte_far(k, cpu, c, i, va);
}

/* A store to a stack position's PTE: through the slot's handle, or by address beyond the CPU's slots. */
static inline int stack_store(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_slot *sl, uint64_t pte, uint64_t v)
{
    return sl ? mmusim__kmap_set_slot(k, cpu, sl, v) : mmusim__kmap_set(k, cpu, pte, v);
}

static inline int stack_clear(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_slot *sl, uint64_t pte)
{
    return sl ? mmusim__kmap_clear_slot(k, cpu, sl) : mmusim__kmap_clear(k, cpu, pte);
}

static int stack_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                     enum mmusim_km_type type, struct mmusim_kaddr *out)
{
    (void)type; /* 2.6.37 keeps the argument and ignores it */
    mmusim__kmap_pagefault_disable(k, cpu);
    if (!highmem) {
        out->va = kmap_lowmem_va(k, pfn);
        return MMUSIM_OK;
    }
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    /* kmap_atomic_idx_push: the old value, post-incremented. */
    int i = kc->atomic_idx++;
    if (k->opts.debug) {
        if (mmusim_cpu_context(cpu) == MMUSIM_CTX_HARDIRQ && !mmusim_cpu_irqs_disabled(cpu))
            warn_once(k, cpu, ONCE_PUSH_IN_IRQ, "kmap_atomic_idx_push: in hardirq with interrupts enabled", 0);
        /* BUG_ON(idx > KM_TYPE_NR) on the old value: 2.6.37's check is off by one
         * (> where >= is needed), so the push to position KM_TYPE_NR passes and
         * maps the next CPU's slot 0; the push after it BUGs (linux-highmem.md §4). */
        if ((int64_t)i > (int64_t)k->depth) {
            kc->atomic_idx--;
            mmusim__kmap_bug(k, cpu, "kmap_atomic_idx_push: kmap_atomic stack overflow", 0);
            mmusim__kmap_pagefault_enable(k, cpu);
            return MMUSIM_EKMAPBUG;
        }
    }
    uint32_t va;
    struct kmap_slot *sl;
    uint64_t pte = stack_slot_pte(k, cpu, i, &va, &sl);
    /* BUG_ON(!pte_none): kmap_atomic_prot's, not kmap_atomic_prot_pfn's (2.6.37 iomap_32.c). */
    if (!pte || (highmem != KMAP_PFN && kmap_pte_read(k, pte) != 0)) {
        if (pte)
            mmusim__kmap_bug(k, cpu, "kmap_atomic: the slot's PTE is not none (slot in use)", va);
        kc->atomic_idx--;
        mmusim__kmap_pagefault_enable(k, cpu);
        return MMUSIM_EKMAPBUG;
    }
    int rc = stack_store(k, cpu, sl, pte, (pfn << MMUSIM_PAGE_SHIFT) | prot);
    if (rc != MMUSIM_OK) {
        kc->atomic_idx--;
        mmusim__kmap_pagefault_enable(k, cpu);
        return rc;
    }
    out->va = va;
    return MMUSIM_OK;
}

/* kmap_atomic_idx_pop: pre-decrement; BUG_ON(idx < 0) under DEBUG. 0, or EKMAPBUG with the pop undone. */
static int stack_pop(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_cpu *kc)
{
    kc->atomic_idx--;
    if (k->opts.debug && kc->atomic_idx < 0) {
        kc->atomic_idx++;
        mmusim__kmap_bug(k, cpu, "kmap_atomic_idx_pop: kmap_atomic stack underflow", 0);
        return MMUSIM_EKMAPBUG;
    }
    return MMUSIM_OK;
}

/*
 * The first 2.6.37 version's unmap after its pop: the clear, as a
 * continuation whose first run (in the unmap call) only returns pending, so
 * that the clear comes at the CPU's next boundary, after any interrupt that
 * arrived meanwhile (the engine takes interrupts before it runs a step).
 */
static int late_clear(mmusim_cpu *cpu, void *state)
{
    struct kmap_late_clear *lc = state;
    if (!lc->started) {
        lc->started = 1;
        return MMUSIM_PENDING;
    }
    lc->started = 0;
    int rc = mmusim__kmap_clear(lc->k, cpu, lc->pte);
    if (rc == MMUSIM_OK && !lc->k->opts.no_unmap_flush)
        mmusim__kmap_invlpg(lc->k, cpu, lc->va);
    mmusim__kmap_pagefault_enable(lc->k, cpu);
    return rc;
}

static int stack_unmap(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr, enum mmusim_km_type type)
{
    (void)type;
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    if (va >= k->kslot_lo && va <= k->kslot_hi) {
        struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
        int top = kc->atomic_idx - 1; /* kmap_atomic_idx(): the top, not yet popped */
        if (k->opts.debug && top < 0) {
            /* An empty stack: kmap_atomic_idx_pop's BUG_ON(idx < 0). The kernel gets
             * there after the WARN (no address is slot -1's) and after
             * kpte_clear_flush of slot -1, which is the previous CPU's last slot,
             * maybe in use there: refused before that clear, so it survives. */
            warn_once(k, cpu, ONCE_UNMAP_NOT_TOP, "__kunmap_atomic: address is not the top of the kmap_atomic stack",
                      addr.va);
            mmusim__kmap_bug(k, cpu, "kmap_atomic_idx_pop: kmap_atomic stack underflow", 0);
            return MMUSIM_EKMAPBUG;
        }
        uint32_t slot_va;
        struct kmap_slot *sl;
        uint64_t pte = stack_slot_pte(k, cpu, top, &slot_va, &sl);
        if (k->opts.debug && va != slot_va)
            warn_once(k, cpu, ONCE_UNMAP_NOT_TOP, "__kunmap_atomic: address is not the top of the kmap_atomic stack",
                      addr.va);
        if (!pte)
            return MMUSIM_EKMAPBUG;
        if (k->opts.pop_before_clear) {
            /* The version before the Oct 2010 fix: pop, then clear. An interrupt
             * taken in between pushes onto the popped slot and finds its PTE set. */
            int rc = stack_pop(k, cpu, kc);
            if (rc != MMUSIM_OK)
                return rc;
            struct kmap_late_clear *lc = &kc->late;
            lc->k = k;
            lc->pte = pte;
            lc->va = va;
            lc->started = 0;
            rc = mmusim__smp_cont_start(cpu, late_clear, lc);
            if (rc == MMUSIM_ENOSTEP) {
                /* Outside a run no interrupt can come between: the clear at once. */
                lc->started = 1;
                return late_clear(cpu, lc);
            }
            if (rc == MMUSIM_ESTEP)
                kc->atomic_idx++; /* never started: the pop undone, nothing changed */
            return rc;
        }
        /* kpte_clear_flush(kmap_pte - idx, vaddr): the top slot's PTE is cleared,
         * and the address passed is the one flushed (the slot's, when they agree). */
        int rc = stack_clear(k, cpu, sl, pte);
        if (rc != MMUSIM_OK)
            return rc;
        if (!k->opts.no_unmap_flush)
            mmusim__kmap_invlpg(k, cpu, va);
        if ((rc = stack_pop(k, cpu, kc)) != MMUSIM_OK)
            return rc;
    } else if (k->opts.debug && !lowmem_va(k, va)) {
        mmusim__kmap_bug(k, cpu, "__kunmap_atomic: address is neither a kmap slot nor lowmem", addr.va);
        return MMUSIM_EKMAPBUG;
    }
    mmusim__kmap_pagefault_enable(k, cpu);
    return MMUSIM_OK;
}

const struct kmap_variant_ops mmusim__kmap_stack_ops = {stack_map, stack_unmap};

/* ---- the kmap_atomic family: arguments checked here, the variant does the rest ---- */

static int atomic_args(const mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                       const struct mmusim_kaddr *out, int *highmem)
{
    if (!k || !cpu || !out || (unsigned)type >= MMUSIM_KM_TYPE_COUNT_)
        return MMUSIM_EINVAL;
    if (mmusim__cpu_part(cpu) != k->sys)
        return MMUSIM_EINVAL; /* a CPU of another machine */
    if (pfn >= k->layout->max_pfn)
        return MMUSIM_EPHYS;
    *highmem = kmap_is_highmem(k, pfn);
    return MMUSIM_OK;
}

/*
 * The general path: every check, every variant, every misuse. The public
 * calls try the short path below first (docs/kmap.md, "Host cost").
 */
static MMUSIM_NOINLINE int atomic_map(mmusim_cpu *cpu, mmusim_kmap_layer *k, uint64_t pfn, int force_slot,
                                      enum mmusim_km_type type, uint64_t prot, struct mmusim_kaddr *out)
{
    int highmem;
    int rc = atomic_args(k, cpu, pfn, type, out, &highmem);
    if (rc != MMUSIM_OK)
        return rc;
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    rc = k->ops->map(k, cpu, pfn, force_slot ? KMAP_PFN : highmem, prot, type, out);
    if (!mmusim_is_error(rc))
        kmap_account_map(k, kmap_cpu_of(k, cpu), mmusim__cpu_head(cpu)->cycles - t0);
    return rc;
}

static MMUSIM_NOINLINE int atomic_unmap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr,
                                        enum mmusim_km_type type)
{
    if (!k || !cpu || (unsigned)type >= MMUSIM_KM_TYPE_COUNT_ || mmusim__cpu_part(cpu) != k->sys)
        return MMUSIM_EINVAL;
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    int rc = k->ops->unmap(k, cpu, addr, type);
    if (!mmusim_is_error(rc))
        kmap_account_unmap(k, kmap_cpu_of(k, cpu), mmusim__cpu_head(cpu)->cycles - t0);
    return rc;
}

/* The general path with the short paths' arguments: their fallback (a tail call), and the entry of the
 * layers without one (kmap_impl.h). */
int mmusim__kmap_atomic_general(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                uint64_t prot, struct mmusim_kaddr *out)
{
    return atomic_map(cpu, k, pfn, 0, type, prot, out);
}

int mmusim__kunmap_atomic_general(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                  enum mmusim_km_type type)
{
    return atomic_unmap(cpu, k, addr, type);
}

/* mmusim__kmap_invlpg with the CPU's kmap state at hand. */
static MMUSIM_INLINE void short_invlpg(struct kmap_cpu *kc, mmusim_cpu *cpu, uint32_t va)
{
    kc->st.invlpgs++;
    (void)mmusim__flush_tlb_one_hot(cpu, va);
}

/*
 * The short path: the common case of this file's three forms, a highmem
 * page mapped and unmapped without DEBUG_HIGHMEM and without the test
 * switches, into a slot whose PTE is none where the era checks it. It makes
 * the same stores, flushes, counts and charges as the general path, in the
 * same order (tests/test_kmap_short.c holds the two equal on a seeded
 * workload); it only skips the checks and branches that cannot apply. A
 * kmap_atomic pair is the hot path of every kmap bench, with a budget of
 * 200 host instructions (docs/kmap.md). Anything else (lowmem, a slot in
 * use, a stack at its end, an unmap of another address) goes to the
 * general path before anything is changed. The forms' short paths are
 * each compiled on their own (KMAP_SHORT_PATHS), with no call left on the
 * way through: inline PTE stores and INVLPG (cpu/hot.h), and every case
 * that needs a call (a PTE handle to resolve, a count at the edge of its
 * field) sent to the general path up front, so the compiler needs few
 * registers and no frame.
 */
static MMUSIM_INLINE int map_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                   uint64_t prot, struct mmusim_kaddr *out, const enum kmap_short form)
{
    if (mmusim__cpu_part(cpu) != k->sys || !kmap_is_highmem(k, pfn) ||
        (uint32_t)type >= k->short_types)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    uint32_t i = (uint32_t)type; /* below short_types: a slot of the CPU */
    if (form == KMAP_SHORT_STACK && (i = (uint32_t)kc->atomic_idx) >= k->slots_per_cpu)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out); /* the stack at its end, or below it */
    struct kmap_slot *sl = &kc->slots[i];
    /* A handle to resolve, a count at the edge of its field, a slot in use (the BUG): the general path. */
    if (!mmusim__pte_slot_current(cpu, &sl->pte) || mmusim__preempt_depth(cpu, k->preempt_mask) >= k->preempt_quiet ||
        (form != KMAP_SHORT_SLOT19 && mmusim__pte_slot_peek(&sl->pte) != 0))
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    const uint64_t t0 = cpu->cycles;
    mmusim__preempt_inc_hot(cpu); /* pagefault_disable before 5.11 */
    mmusim__pte_slot_put(cpu, &sl->pte, (pfn << MMUSIM_PAGE_SHIFT) | prot);
    kc->st.pte_writes++;
    if (form == KMAP_SHORT_STACK)
        kc->atomic_idx++;
    else if (form == KMAP_SHORT_SLOT19)
        short_invlpg(kc, cpu, sl->va);
    out->va = sl->va;
    kmap_account_map(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

static MMUSIM_INLINE int unmap_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                     enum mmusim_km_type type, const enum kmap_short form)
{
    if (mmusim__cpu_part(cpu) != k->sys || (uint32_t)type >= k->short_types ||
        mmusim__preempt_depth(cpu, k->preempt_mask) == 0)
        return mmusim__kunmap_atomic_general(k, cpu, addr, type);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    const uint64_t t0 = cpu->cycles;
    if (form != KMAP_SHORT_SLOT19) {
        uint32_t i = (uint32_t)type;
        if (form == KMAP_SHORT_STACK && (i = (uint32_t)kc->atomic_idx - 1) >= k->slots_per_cpu)
            return mmusim__kunmap_atomic_general(k, cpu, addr, type);
        struct kmap_slot *sl = &kc->slots[i];
        const uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
        /* Lowmem, another slot, a wrong address; a handle to resolve: the general path. */
        if (va != sl->va || !mmusim__pte_slot_current(cpu, &sl->pte))
            return mmusim__kunmap_atomic_general(k, cpu, addr, type);
        mmusim__pte_slot_put(cpu, &sl->pte, 0); /* pte_clear */
        kc->st.pte_writes++;
        short_invlpg(kc, cpu, va);
        if (form == KMAP_SHORT_STACK)
            kc->atomic_idx--;
    }
    mmusim__preempt_dec_hot(cpu); /* pagefault_enable */
    kmap_account_unmap(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

/* One short path per form, so that each compiles without the others' branches. */
#define KMAP_SHORT_PATHS(name, form)                                                                         \
    static MMUSIM_NOINLINE int map_short_##name(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn,          \
                                                enum mmusim_km_type type, uint64_t prot,                   \
                                                struct mmusim_kaddr *out)                                   \
    {                                                                                                       \
        return map_short(k, cpu, pfn, type, prot, out, form);                                               \
    }                                                                                                       \
    static MMUSIM_NOINLINE int unmap_short_##name(mmusim_kmap_layer *k, mmusim_cpu *cpu,                      \
                                                  struct mmusim_kaddr addr, enum mmusim_km_type type)       \
    {                                                                                                       \
        return unmap_short(k, cpu, addr, type, form);                                                       \
    }
KMAP_SHORT_PATHS(slot19, KMAP_SHORT_SLOT19)
KMAP_SHORT_PATHS(slot36, KMAP_SHORT_SLOT36)
KMAP_SHORT_PATHS(stack, KMAP_SHORT_STACK)

void mmusim__kmap_choose_entries(mmusim_kmap_layer *k)
{
    static const struct kmap_entries entries[] = {
        [KMAP_SHORT_NONE] = {mmusim__kmap_atomic_general, mmusim__kunmap_atomic_general},
        [KMAP_SHORT_SLOT19] = {map_short_slot19, unmap_short_slot19},
        [KMAP_SHORT_SLOT36] = {map_short_slot36, unmap_short_slot36},
        [KMAP_SHORT_STACK] = {map_short_stack, unmap_short_stack},
        [KMAP_SHORT_LOCAL] = {mmusim__kmap_local_atomic_short, mmusim__kunmap_local_atomic_short},
        [KMAP_SHORT_HEAP] = {mmusim__kmap_heap_atomic_short, mmusim__kunmap_heap_atomic_short},
    };
    k->entry = entries[k->short_form];
}

int mmusim_kmap_atomic(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page, enum mmusim_km_type type,
                       struct mmusim_kaddr *out)
{
    if (MMUSIM_UNLIKELY(!k) || MMUSIM_UNLIKELY(!cpu) || MMUSIM_UNLIKELY(!out))
        return MMUSIM_EINVAL;
    return k->entry.map(k, cpu, page.pfn, type, k->kmap_prot, out);
}

int mmusim_kmap_atomic_pfn(mmusim_cpu *cpu, mmusim_kmap_layer *k, uint64_t pfn, enum mmusim_km_type type,
                           struct mmusim_kaddr *out)
{
    return atomic_map(cpu, k, pfn, 1, type, k ? k->kmap_prot : 0, out); /* no PageHighMem test: always a slot */
}

int mmusim_kmap_atomic_prot(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page, enum mmusim_km_type type,
                            uint64_t prot, struct mmusim_kaddr *out)
{
    /* The flags mmusim_set_pte accepts, P implied; no PS (a 4 KiB slot). */
    const uint64_t ok = MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_US | MMUSIM_PTE_PWT | MMUSIM_PTE_PCD |
                        MMUSIM_PTE_A | MMUSIM_PTE_D | MMUSIM_PTE_G | MMUSIM_PTE_NX;
    if (prot & ~ok)
        return MMUSIM_EINVAL;
    if (k && (prot & MMUSIM_PTE_NX) && k->cfg->paging != MMUSIM_PAGING_PAE)
        return MMUSIM_EFEATURE;
    return atomic_map(cpu, k, page.pfn, 0, type, prot | MMUSIM_PTE_P, out);
}

int mmusim_kunmap_atomic(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr, enum mmusim_km_type type)
{
    if (MMUSIM_UNLIKELY(!k) || MMUSIM_UNLIKELY(!cpu))
        return MMUSIM_EINVAL;
    return k->entry.unmap(k, cpu, addr, type);
}
