/*
 * mmusim — kmap_local (5.11): a per-task stack of fixmap slots (struct
 * kmap_ctrl in task_struct), cleared at every switch-out and restored at
 * every switch-in; kmap_atomic of 5.11 on top of it. Sources:
 * ../shared/docs/linux-highmem.md §5 (mm/highmem.c,
 * include/linux/highmem-internal.h, arch/x86/include/asm/highmem.h of 5.11);
 * docs/kmap.md, "kmap_local (5.11)", gives the paths step by step.
 *
 * As in atomic.c: a BUG the kernel would hit is recorded as a report and the
 * call refuses with MMUSIM_EKMAPBUG, changing nothing; a WARN is recorded and
 * the call goes on. 5.11's WARNs are WARN_ON_ONCE: each site reports the
 * first time it fires on the machine, and stays silent afterwards.
 *
 * Which stack: the current task's, also from an interrupt handler (the
 * handler pushes above the interrupted task's positions and pops back to
 * them, Gleixner's argument); a handler on a CPU with no task current uses
 * that CPU's idle_ctrl, which stands for the idle task's (swapper/N).
 * migrate_disable and migrate_enable have nothing to do: mmusim's tasks
 * never leave their CPU.
 */
#include "kmap/kmap_impl.h"
#include "mmusim/error.h"

/* The WARN_ON_ONCE sites (bits of k->local_warned). */
enum {
    ONCE_PUSH_IRQ = 1u << 0,    /* kmap_local_idx_push: in_irq() && !irqs_disabled() */
    ONCE_UNMAP_USER = 1u << 1,  /* kunmap_local_indexed: an address below PAGE_OFFSET */
    ONCE_UNMAP_TOP = 1u << 2,   /* kunmap_local_indexed: not the top slot's address */
    ONCE_GUARD = 1u << 3,       /* sched_out / sched_in: a guard position's pteval not none */
    ONCE_LIVE_NONE = 1u << 4,   /* sched_out / sched_in: a live position's pteval none */
    ONCE_FORK = 1u << 5,        /* kmap_local_fork: the child's idx not 0 */
};

static void warn_once(mmusim_kmap_layer *k, mmusim_cpu *cpu, unsigned site, const char *what, uint32_t address)
{
    if (k->local_warned & site)
        return;
    k->local_warned |= site;
    mmusim__kmap_warn(k, cpu, what, address);
}

/* The stack in use on cpu: current->kmap_ctrl, or the idle task's. */
static struct kmap_ctrl *ctrl_of(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    mmusim_task *t = mmusim_cpu_current(cpu);
    return t ? &kmap_task_of(k, t)->ctrl : &kmap_cpu_of(k, cpu)->idle_ctrl;
}

/*
 * The hooks offer no handler-start point, so a handler's entry idx is noted
 * at its first kmap_local call (map or unmap), per nesting level: until
 * then the handler cannot have changed the stack, and whatever a handler
 * nested in it left behind was reported at that handler's end. handler_end
 * compares and forgets the record.
 */
static void note_handler_entry(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const struct kmap_ctrl *ctrl)
{
    if (mmusim_cpu_context(cpu) == MMUSIM_CTX_TASK)
        return;
    unsigned n = mmusim_cpu_nesting(cpu);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    if (n >= KMAP_NEST_MAX || (kc->handler_seen & (1u << n)))
        return;
    kc->handler_seen |= 1u << n;
    kc->handler_idx[n] = ctrl->idx;
}

/* Clear stack position i of cpu's slots (pte_clear) and flush it (arch_kmap_local_post_unmap: a local invlpg). */
static void clear_position(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint32_t i)
{
    unsigned c = mmusim__cpu_head(cpu)->id;
    if (mmusim__kmap_clear_slot(k, cpu, kmap_slot(k, c, i)) != MMUSIM_OK)
        return; /* out of host memory: the fixmap's table exists, so this cannot happen */
    if (!k->opts.no_unmap_flush)
        mmusim__kmap_invlpg(k, cpu, mmusim__kmap_slot_va(k, c, i));
}

/*
 * __kmap_local_pfn_prot(pfn, prot): push, BUG if the slot's PTE is not
 * none, set_pte without a flush, the pteval recorded for the switch-in.
 */
static int local_map_pfn(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, uint64_t prot, struct mmusim_kaddr *out)
{
    struct kmap_ctrl *ctrl = ctrl_of(k, cpu);
    note_handler_entry(k, cpu, ctrl);
    /* migrate_disable(): nothing to do (no migration in mmusim). */
    mmusim_preempt_disable(cpu);
    /* kmap_local_idx_push. */
    enum mmusim_context ctx = mmusim_cpu_context(cpu);
    if ((ctx == MMUSIM_CTX_HARDIRQ || ctx == MMUSIM_CTX_NMI) && !mmusim_cpu_irqs_disabled(cpu))
        warn_once(k, cpu, ONCE_PUSH_IRQ, "kmap_local_idx_push: in hardirq with interrupts enabled", 0);
    int idx = ctrl->idx + (int)k->incr;
    if ((uint32_t)idx >= k->depth) {
        /* BUG_ON(idx >= KM_MAX_IDX), unconditional in 5.11. */
        /* The address the push would have mapped: position idx - 1, which may
         * lie beyond this CPU's slots (computed, not read from the table). */
        mmusim__kmap_bug(k, cpu, "kmap_local_idx_push: kmap_local stack overflow",
                         mmusim_kmap_slot_vaddr(k->layout, mmusim_kmap_idx(k->layout, mmusim__cpu_head(cpu)->id,
                                                                           (uint32_t)idx - 1)));
        mmusim_preempt_enable(cpu);
        return MMUSIM_EKMAPBUG;
    }
    uint32_t i = (uint32_t)idx - 1; /* the position: idx - 1 (odd with KM_INCR 2: the even ones are guards) */
    unsigned c = mmusim__cpu_head(cpu)->id;
    struct kmap_slot *sl = kmap_slot(k, c, i);
    uint32_t va = sl->va;
    if (kmap_pte_read(k, sl->pte.entry_pa) != 0) {
        mmusim__kmap_bug(k, cpu, "__kmap_local_pfn_prot: the slot's PTE is not none", va);
        mmusim_preempt_enable(cpu);
        return MMUSIM_EKMAPBUG;
    }
    uint64_t pteval = (pfn << MMUSIM_PAGE_SHIFT) | prot;
    int rc = mmusim__kmap_set_slot(k, cpu, sl, pteval); /* set_pte_at; arch_kmap_local_post_map: no flush */
    if (rc != MMUSIM_OK) {
        mmusim_preempt_enable(cpu);
        return rc;
    }
    ctrl->idx = idx;
    ctrl->pteval[i] = pteval;
    mmusim_preempt_enable(cpu);
    out->va = va;
    return MMUSIM_OK;
}

/*
 * kunmap_local_indexed(addr): outside the kmap fixmap, nothing (a WARN below
 * PAGE_OFFSET); inside, the top position is cleared and addr flushed,
 * whatever addr is (a WARN when it is not the top's), then popped.
 */
static int local_unmap_addr(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr)
{
    const struct mmusim_layout *l = k->layout;
    uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    /* __fix_to_virt(FIX_KMAP_END) .. __fix_to_virt(FIX_KMAP_BEGIN) */
    if (va < k->kslot_lo || va > k->kslot_hi) {
        /* No kmap_high_get on x86: a lowmem address needs no work. */
        if (va < l->page_offset)
            warn_once(k, cpu, ONCE_UNMAP_USER, "kunmap_local: address below PAGE_OFFSET", addr.va);
        return MMUSIM_OK;
    }
    struct kmap_ctrl *ctrl = ctrl_of(k, cpu);
    note_handler_entry(k, cpu, ctrl);
    /*
     * kmap_local_idx_pop's BUG_ON(idx < 0), checked before the clear: the
     * kernel would first clear the PTE below the stack and write pteval[-1];
     * mmusim refuses with nothing changed.
     */
    if (ctrl->idx - (int)k->incr < 0) {
        mmusim__kmap_bug(k, cpu, "kmap_local_idx_pop: kmap_local stack underflow", addr.va);
        return MMUSIM_EKMAPBUG;
    }
    mmusim_preempt_disable(cpu);
    unsigned c = mmusim__cpu_head(cpu)->id;
    uint32_t top = (uint32_t)ctrl->idx - 1; /* kmap_local_idx() */
    if (va != mmusim__kmap_slot_va(k, c, top))
        warn_once(k, cpu, ONCE_UNMAP_TOP, "kunmap_local: address is not the top of the kmap_local stack", addr.va);
    int rc = mmusim__kmap_clear_slot(k, cpu, kmap_slot(k, c, top)); /* pte_clear(kmap_pte - idx) */
    if (rc != MMUSIM_OK) {
        mmusim_preempt_enable(cpu);
        return rc;
    }
    /* arch_kmap_local_post_unmap: flush_tlb_one_kernel(addr), the address passed. */
    if (!k->opts.no_unmap_flush)
        mmusim__kmap_invlpg(k, cpu, va);
    ctrl->pteval[top] = 0;
    ctrl->idx -= (int)k->incr;
    mmusim_preempt_enable(cpu);
    /* migrate_enable(): nothing to do. */
    return MMUSIM_OK;
}

/* ---- the public calls ---- */

/* The checks of both calls: the layer, the CPU, the variant. */
static int local_args(const mmusim_kmap_layer *k, mmusim_cpu *cpu)
{
    if (!k || !cpu || mmusim__cpu_part(cpu) != k->sys)
        return MMUSIM_EINVAL;
    if (k->opts.variant != MMUSIM_KMAP_LOCAL_5_11)
        return MMUSIM_EKMAPVARIANT;
    return MMUSIM_OK;
}

/* kmap_local_page(page): lowmem, page_address; highmem, __kmap_local_pfn_prot(pfn, kmap_prot). */
int mmusim_kmap_local(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page, struct mmusim_kaddr *out)
{
    int rc = local_args(k, cpu);
    if (rc != MMUSIM_OK)
        return rc;
    if (!out)
        return MMUSIM_EINVAL;
    if (page.pfn >= k->layout->max_pfn)
        return MMUSIM_EPHYS;
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    if (mmusim_layout_zone_of(k->layout, page.pfn) != MMUSIM_ZONE_HIGHMEM)
        out->va = kmap_lowmem_va(k, page.pfn); /* DEBUG_KMAP_LOCAL_FORCE_MAP is not modelled */
    else if ((rc = local_map_pfn(k, cpu, page.pfn, k->kmap_prot, out)) != MMUSIM_OK)
        return rc;
    uint64_t d = mmusim__cpu_head(cpu)->cycles - t0;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.local_maps++;
    kc->st.map_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_MAP, d);
    return MMUSIM_OK;
}

int mmusim_kunmap_local(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_kaddr addr)
{
    int rc = local_args(k, cpu);
    if (rc != MMUSIM_OK)
        return rc;
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    if ((rc = local_unmap_addr(k, cpu, addr)) != MMUSIM_OK)
        return rc;
    uint64_t d = mmusim__cpu_head(cpu)->cycles - t0;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.local_unmaps++;
    kc->st.unmap_cycles += d;
    mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_UNMAP, d);
    return MMUSIM_OK;
}

/* ---- kmap_atomic of 5.11 (include/linux/highmem-internal.h) ---- */

/* kmap_atomic_prot: preempt_disable, pagefault_disable, then the local map (lowmem: page_address). */
static int local_atomic_map(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, int highmem, uint64_t prot,
                            enum mmusim_km_type type, struct mmusim_kaddr *out)
{
    (void)type; /* no km_type in 5.11 */
    mmusim_preempt_disable(cpu);
    mmusim__kmap_pagefault_disable(k, cpu);
    if (!highmem) {
        out->va = kmap_lowmem_va(k, pfn);
        return MMUSIM_OK;
    }
    int rc = local_map_pfn(k, cpu, pfn, prot, out);
    if (rc != MMUSIM_OK) {
        mmusim__kmap_pagefault_enable(k, cpu);
        mmusim_preempt_enable(cpu);
    }
    return rc;
}

/* __kunmap_atomic: kunmap_local_indexed, pagefault_enable, preempt_enable. */
static int local_atomic_unmap(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                              enum mmusim_km_type type)
{
    (void)type;
    int rc = local_unmap_addr(k, cpu, addr);
    if (rc != MMUSIM_OK)
        return rc;
    mmusim__kmap_pagefault_enable(k, cpu);
    mmusim_preempt_enable(cpu);
    return MMUSIM_OK;
}

const struct kmap_variant_ops mmusim__kmap_local_ops = {local_atomic_map, local_atomic_unmap};

/*
 * kmap_atomic and kunmap_atomic of 5.11 in their common case, short (see
 * atomic.c, "The short path"): a highmem page in task context, the stack
 * with room, the slot free, the address unmapped the top's. The same
 * stores, flush, counts and charges as local_atomic_map and
 * local_atomic_unmap; __kmap_local_pfn_prot's own preempt_disable and
 * preempt_enable, which nothing reads between, are left out as a pair.
 * Anything else goes to the general path before anything is changed.
 */
int mmusim__kmap_local_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type type,
                                    uint64_t prot, struct mmusim_kaddr *out)
{
    /* preempt_disable, and pagefault_disable's raise when no task is current: room for two. */
    if (mmusim__cpu_part(cpu) != k->sys || !kmap_is_highmem(k, pfn) ||
        (uint32_t)type >= MMUSIM_KM_TYPE_COUNT_ || !mmusim__cpu_in_task_hot(cpu) ||
        mmusim__preempt_depth(cpu, k->preempt_mask) + 2u > k->preempt_quiet)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    mmusim_task *t = mmusim__cpu_current_hot(cpu);
    struct kmap_task *kt = t ? (struct kmap_task *)mmusim__task_ext_hot(t, k->task_off) : NULL;
    struct kmap_ctrl *ctrl = kt ? &kt->ctrl : &kc->idle_ctrl;
    const int idx = ctrl->idx + (int)k->incr;
    if ((uint32_t)idx >= k->depth)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out); /* the stack's BUG */
    const uint32_t i = (uint32_t)idx - 1;
    struct kmap_slot *sl = &kc->slots[i];
    if (!mmusim__pte_slot_current(cpu, &sl->pte) || mmusim__pte_slot_peek(&sl->pte) != 0)
        return mmusim__kmap_atomic_general(k, cpu, pfn, type, prot, out);
    const uint64_t t0 = cpu->cycles;
    mmusim__preempt_inc_hot(cpu); /* preempt_disable */
    if (kt)
        kt->pagefault_disabled++; /* pagefault_disable: current->pagefault_disabled */
    else
        mmusim__preempt_inc_hot(cpu);
    const uint64_t pteval = (pfn << MMUSIM_PAGE_SHIFT) | prot;
    mmusim__pte_slot_put(cpu, &sl->pte, pteval); /* set_pte_at; no flush */
    kc->st.pte_writes++;
    ctrl->idx = idx;
    ctrl->pteval[i] = pteval;
    out->va = sl->va;
    kmap_account_map(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

int mmusim__kunmap_local_atomic_short(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_kaddr addr,
                                      enum mmusim_km_type type)
{
    if (mmusim__cpu_part(cpu) != k->sys || (uint32_t)type >= MMUSIM_KM_TYPE_COUNT_ || !mmusim__cpu_in_task_hot(cpu))
        return mmusim__kunmap_atomic_general(k, cpu, addr, type);
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    mmusim_task *t = mmusim__cpu_current_hot(cpu);
    struct kmap_task *kt = t ? (struct kmap_task *)mmusim__task_ext_hot(t, k->task_off) : NULL;
    struct kmap_ctrl *ctrl = kt ? &kt->ctrl : &kc->idle_ctrl;
    const uint32_t top = (uint32_t)ctrl->idx - 1;
    const uint32_t va = addr.va & ~MMUSIM_PAGE_OFFSET_MASK;
    /* The stack not empty (idx - KM_INCR >= 0), the top's address, and the counts to drop. */
    if (ctrl->idx < (int)k->incr || top >= k->slots_per_cpu || va != kc->slots[top].va ||
        !mmusim__pte_slot_current(cpu, &kc->slots[top].pte) ||
        mmusim__preempt_depth(cpu, k->preempt_mask) < (kt ? 1u : 2u))
        return mmusim__kunmap_atomic_general(k, cpu, addr, type);
    struct kmap_slot *sl = &kc->slots[top];
    const uint64_t t0 = cpu->cycles;
    mmusim__pte_slot_put(cpu, &sl->pte, 0); /* pte_clear(kmap_pte - idx) */
    kc->st.pte_writes++;
    kc->st.invlpgs++;
    (void)mmusim__flush_tlb_one_hot(cpu, va); /* arch_kmap_local_post_unmap */
    ctrl->pteval[top] = 0;
    ctrl->idx -= (int)k->incr;
    if (kt)
        kt->pagefault_disabled--; /* pagefault_enable */
    else
        mmusim__preempt_dec_hot(cpu);
    mmusim__preempt_dec_hot(cpu); /* preempt_enable */
    kmap_account_unmap(k, kc, cpu->cycles - t0);
    return MMUSIM_OK;
}

/* ---- the hooks ---- */

/*
 * The live positions of ctrl, as __kmap_local_sched_out and _sched_in walk
 * them: 0 .. idx-1; with debug the even ones are guards, skipped (a WARN if
 * their pteval is not none); a live one whose pteval is none is skipped
 * with a WARN. Returns whether position i holds a mapping to act on.
 */
static int live_position(mmusim_kmap_layer *k, mmusim_cpu *cpu, const struct kmap_ctrl *ctrl, uint32_t i)
{
    uint64_t pteval = ctrl->pteval[i];
    unsigned c = mmusim__cpu_head(cpu)->id;
    if (k->opts.debug && !(i & 1u)) {
        if (pteval != 0)
            warn_once(k, cpu, ONCE_GUARD, "kmap_local: a guard position's pteval is not none",
                      mmusim__kmap_slot_va(k, c, i));
        return 0;
    }
    if (pteval == 0) {
        warn_once(k, cpu, ONCE_LIVE_NONE, "kmap_local: a live position's pteval is none",
                  mmusim__kmap_slot_va(k, c, i));
        return 0;
    }
    return 1;
}

/*
 * prepare_task_switch -> kmap_local_sched_out (interrupts off, prev still
 * current): every live position cleared and flushed, one invlpg each; the
 * idx and the ptevals stay.
 */
static void local_switch_out(void *ctx, mmusim_cpu *cpu, mmusim_task *prev)
{
    mmusim_kmap_layer *k = ctx;
    const struct kmap_ctrl *ctrl = &kmap_task_of(k, prev)->ctrl;
    if (ctrl->idx == 0)
        return;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    for (uint32_t i = 0; i < (uint32_t)ctrl->idx; i++) {
        if (!live_position(k, cpu, ctrl, i))
            continue;
        clear_position(k, cpu, i);
        kc->st.ctxsw_clears++;
    }
    kc->st.ctxsw_cycles += mmusim__cpu_head(cpu)->cycles - t0;
}

/* finish_task_switch -> kmap_local_sched_in: every saved pteval set again, no flush. */
static void local_switch_in(void *ctx, mmusim_cpu *cpu, mmusim_task *next)
{
    mmusim_kmap_layer *k = ctx;
    const struct kmap_ctrl *ctrl = &kmap_task_of(k, next)->ctrl;
    if (ctrl->idx == 0)
        return;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    unsigned c = mmusim__cpu_head(cpu)->id;
    uint64_t t0 = mmusim__cpu_head(cpu)->cycles;
    for (uint32_t i = 0; i < (uint32_t)ctrl->idx; i++) {
        if (!live_position(k, cpu, ctrl, i))
            continue;
        if (mmusim__kmap_set_slot(k, cpu, kmap_slot(k, c, i), ctrl->pteval[i]) == MMUSIM_OK)
            kc->st.ctxsw_restores++;
    }
    kc->st.ctxsw_cycles += mmusim__cpu_head(cpu)->cycles - t0;
}

/*
 * kmap_local_fork: the child's kmap_ctrl, copied from the parent by
 * dup_task_struct, is WARNed about and cleared if its idx is not 0. Here
 * the child's area is already zeroed: the WARN is made when the parent's
 * idx is not 0, naming the parent's top address.
 */
static void local_fork(void *ctx, mmusim_cpu *cpu, mmusim_task *parent, mmusim_task *child)
{
    mmusim_kmap_layer *k = ctx;
    (void)child;
    if (!cpu || !parent)
        return;
    const struct kmap_ctrl *pc = &kmap_task_of(k, parent)->ctrl;
    if (pc->idx != 0)
        warn_once(k, cpu, ONCE_FORK, "kmap_local_fork: the child would inherit live kmap_local mappings",
                  mmusim__kmap_slot_va(k, mmusim__cpu_head(cpu)->id, (uint32_t)pc->idx - 1));
}

/*
 * A task ending with live mappings (5.11's kmap_assert_nomap on the way to
 * user space): a WARN naming its top mapping's address, each time. The
 * switch-out that follows clears the positions, so the slots are free for
 * the next task.
 */
static void local_task_end(void *ctx, mmusim_cpu *cpu, mmusim_task *t)
{
    mmusim_kmap_layer *k = ctx;
    const struct kmap_ctrl *ctrl = &kmap_task_of(k, t)->ctrl;
    if (ctrl->idx != 0)
        mmusim__kmap_warn(k, cpu, "task exits with kmap_local mappings (kmap_assert_nomap)",
                          mmusim__kmap_slot_va(k, mmusim__cpu_head(cpu)->id, (uint32_t)ctrl->idx - 1));
}

/*
 * A handler returning with the stack not where it found it: a WARN naming
 * the top address it left (or, when it popped below its entry, the entry's
 * top). The kernel has no such check (the interrupted context would go on
 * with a corrupt stack); mmusim unwinds what the handler left, clearing and
 * flushing each position, so that the interrupted context resumes with its
 * stack as it was.
 */
static void local_handler_end(void *ctx, mmusim_cpu *cpu, enum mmusim_context kind)
{
    mmusim_kmap_layer *k = ctx;
    (void)kind;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    unsigned n = mmusim_cpu_nesting(cpu);
    if (n >= KMAP_NEST_MAX || !(kc->handler_seen & (1u << n)))
        return;
    kc->handler_seen &= (1u << n) - 1u; /* this level and any above it are over */
    struct kmap_ctrl *ctrl = ctrl_of(k, cpu);
    int entry = kc->handler_idx[n];
    unsigned c = mmusim__cpu_head(cpu)->id;
    if (ctrl->idx > entry) {
        mmusim__kmap_warn(k, cpu, "handler returns with kmap_local mappings",
                          mmusim__kmap_slot_va(k, c, (uint32_t)ctrl->idx - 1));
        for (uint32_t i = (uint32_t)ctrl->idx; i-- > (uint32_t)entry;) {
            if (ctrl->pteval[i] != 0)
                clear_position(k, cpu, i);
            ctrl->pteval[i] = 0;
        }
        ctrl->idx = entry;
    } else if (ctrl->idx < entry) {
        mmusim__kmap_warn(k, cpu, "handler unmapped kmap_local mappings of the context it interrupted",
                          mmusim__kmap_slot_va(k, c, (uint32_t)entry - 1));
    }
}

const struct mmusim__hooks mmusim__kmap_local_hooks = {
    NULL, local_switch_out, local_switch_in, local_handler_end, local_task_end, local_fork,
};
