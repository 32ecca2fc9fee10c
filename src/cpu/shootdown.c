/*
 * mmusim — IPIs and Linux's SMP TLB flushes (include/mmusim/smp.h), era by
 * era. The sequences are those of arch/i386/kernel/smp.c (2.6.18),
 * arch/x86/mm/tlb.c and kernel/smp.c (2.6.32, 2.6.37, 5.11), as
 * ../shared/docs/linux-highmem.md §6 and docs/smp.md give them:
 *
 *   flush_tlb_all()   on_each_cpu(do_flush_tlb_all, wait): smp_call_function
 *                     to the other CPUs (2.6.18: under call_lock, held while
 *                     sending and waiting; 2.6.32/37: smp_call_function_many,
 *                     whose call_function lock, or the single target's
 *                     call_single_queue lock, is held around the queueing
 *                     only; 5.11: no lock), waiting for all; then the local
 *                     call. do_flush_tlb_all is __flush_tlb_all(), plus
 *                     leave_mm() on a CPU in lazy TLB mode (not in 5.11).
 *   flush_tlb_kernel_range()  2.6.x: flush_tlb_all(), whatever the range.
 *                     With a flush ceiling (later kernels' tlb.c): per-page
 *                     INVLPG on every CPU up to the ceiling, else the full
 *                     flush.
 *   flush_tlb_mm/page/range()  the local part first (the flush if this CPU
 *                     runs the mm, leave_mm if it only borrows it), then
 *                     flush_tlb_others() to the rest of the mm's cpu_vm_mask
 *                     (2.6.18: under the one tlbstate_lock; 2.6.32/37: under
 *                     flush_state[cpu % 8]'s; 5.11: smp_call_function_many
 *                     to the CPUs not in lazy TLB mode), each of which
 *                     flushes if the mm is its active one (leave_mm if lazy)
 *                     and acknowledges.
 *
 * A flush is a composite path — lock, send, wait, unlock, local part — run
 * as a continuation on the caller's frame (smp_impl.h, struct flush_op), so
 * the step sees one call that completed or is pending.
 *
 * An IPI costs its sender ipi_send per message (up to 8 CPUs one message
 * carries the mask, Linux's flat logical mode; beyond, one message per
 * target, physflat mode). On the P6 serial APIC bus the sender first waits
 * for its own previous message to be off the bus (apic_wait_icr_idle()
 * precedes the ICR write), and the message occupies the bus apic_bus_msg
 * cycles, one message at a time machine-wide (hw-costs.md §1, SDM Vol. 3
 * §10.11, App. F). Target i of a mask message (in CPU order) sees the
 * interrupt ipi_deliver after the message departs, plus i * ipi_extra_target
 * (the fan-out slope). A target takes it at its first operation boundary
 * with interrupts on, charges ipi_handler (entry and return) plus the
 * flush, and its acknowledgement reaches the sender ipi_ack later.
 */
#include <string.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"

static enum mmusim_era era(const struct mmusim_cpu *cpu)
{
    return cpu->sys->cfg->era;
}

/* ---- IPIs ---- */

/*
 * One IPI message from cpu at its clock; returns when it departs (reaches
 * its targets' APICs). On the serial APIC bus, apic_wait_icr_idle() comes
 * before the ICR write (send_IPI_mask_bitmask, __send_IPI_shortcut in
 * 2.6.18 arch/i386/kernel/smp.c): the sender waits for its own previous
 * message to be off the bus, writes the ICR, and goes on while this one
 * waits for the bus and travels.
 */
static uint64_t send_message(struct mmusim_cpu *cpu)
{
    struct cpu_sys *m = cpu->sys;
    const struct mmusim_costs *k = &m->cfg->costs;
    if (!k->apic_bus_serial) {
        cpu->cycles += k->ipi_send;
        return cpu->cycles;
    }
    cpu->cycles = max64(cpu->cycles, cpu->smp.icr_idle_at) + k->ipi_send;
    m->smp->apic_bus_free = max64(cpu->cycles, m->smp->apic_bus_free) + k->apic_bus_msg;
    cpu->smp.icr_idle_at = m->smp->apic_bus_free;
    return m->smp->apic_bus_free;
}

uint64_t mmusim__smp_send_ipis(struct mmusim_cpu *cpu, uint64_t mask, const struct flush_req *req)
{
    struct cpu_sys *m = cpu->sys;
    const struct mmusim_costs *k = &m->cfg->costs;
    /* Up to 8 CPUs Linux uses flat logical destinations: one message for the
     * whole mask. Beyond, physical destinations (physflat): one message per
     * target, sent one after the other. */
    int unicast = m->ncpus > 8;
    uint64_t t = cpu->cycles, depart = 0, last = t;
    unsigned i = 0;
    if (!unicast && mask)
        depart = send_message(cpu);
    for (unsigned d = 0; d < m->ncpus; d++) {
        if (!(mask & (1ull << d)))
            continue;
        struct pending_irq p;
        memset(&p, 0, sizeof(p));
        if (unicast) {
            depart = send_message(cpu);
            p.at = depart + k->ipi_deliver;
        } else {
            p.at = depart + k->ipi_deliver + (uint64_t)i * k->ipi_extra_target;
        }
        p.source = -1;
        p.req = *req;
        if (mmusim__smp_post_irq(&m->cpus[d], &p) != MMUSIM_OK) {
            /* Out of host memory: the IPI is lost, as the report says; an
             * initiator waiting for it is released by this false ack. */
            mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "IPI lost: out of host memory", 0);
            mmusim__smp_out_of_memory(m);
            if (req->fn != FN_RESCHED) {
                m->smp->ack_frame = (int)req->frame;
                mmusim__smp_ack(cpu, p.at);
            }
        }
        last = p.at;
        i++;
    }
    cpu->stats.ipi_send_cycles += cpu->cycles - t;
    cpu->stats.ipis_sent += i;
    return last;
}

static void ack_frame(struct mmusim_cpu *initiator, struct frame *f, uint64_t at)
{
    mmusim__smp_touch(initiator);
    f->acks_left--;
    if (at > f->wait_until)
        f->wait_until = at;
}

void mmusim__smp_ack(struct mmusim_cpu *initiator, uint64_t at)
{
    struct cpu_smp *c = &initiator->smp;
    int idx = initiator->sys->smp->ack_frame;
    initiator->sys->smp->ack_frame = -1;
    if (idx >= 0 && (unsigned)idx < c->depth && c->stack[idx].wait == WAIT_ACKS && c->stack[idx].acks_left) {
        ack_frame(initiator, &c->stack[idx], at);
        return;
    }
    for (unsigned i = c->depth; i-- > 0;) {
        struct frame *f = &c->stack[i];
        if (f->wait == WAIT_ACKS && f->acks_left) {
            ack_frame(initiator, f, at);
            return;
        }
    }
}

/* ---- lazy TLB mode and the address space of a CPU ---- */

static void load_cr3(struct mmusim_cpu *cpu, uint64_t cr3, const char *what)
{
    if (mmusim_cpu_write_cr3(cpu, cr3, NULL) != MMUSIM_OK) /* created pgds and swapper have well-formed PDPTEs */
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, what, 0);
}

/*
 * leave_mm(): drop out of the borrowed mm's cpu_vm_mask and load
 * swapper_pg_dir. 2.6 (arch/i386/kernel/smp.c, arch/x86/mm/tlb.c): always,
 * even when CR3 already holds swapper_pg_dir, and the CPU stays lazy with
 * the same active_mm, so every later flush_tlb_all reloads CR3 again. A
 * CPU in TLBSTATE_OK must never get here (leave_mm's BUG()). 5.11's
 * counterpart is flush_tlb_func_common's switch_mm_irqs_off(NULL, &init_mm)
 * for a lazy CPU: init_mm becomes the loaded mm, and the CPU is no longer
 * lazy.
 */
static void leave_mm(struct mmusim_cpu *cpu)
{
    struct cpu_sys *m = cpu->sys;
    struct cpu_smp *c = &cpu->smp;
    if (c->tlbstate == TLBSTATE_OK) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "leave_mm on a CPU in TLBSTATE_OK", 0);
        return;
    }
    uint64_t *mask = c->active_mm != m->mmu->swapper_cr3 ? mmusim__smp_mm_mask(m, c->active_mm) : NULL;
    if (mask)
        *mask &= ~(1ull << cpu->id);
    load_cr3(cpu, m->mmu->swapper_cr3, "leave_mm: swapper_pg_dir refused by CR3");
    cpu->stats.leave_mm++;
    if (era(cpu) == MMUSIM_ERA_5_11) {
        c->active_mm = m->mmu->swapper_cr3;
        c->tlbstate = TLBSTATE_BOOT;
    }
}

/* enter_lazy_tlb(): a CPU that ran a user mm borrows it (2.6: state OK becomes LAZY; 5.11: is_lazy unless init_mm is loaded). */
void mmusim__smp_enter_lazy_tlb(struct mmusim_cpu *cpu)
{
    if (cpu->smp.tlbstate == TLBSTATE_OK)
        cpu->smp.tlbstate = TLBSTATE_LAZY;
}

/*
 * switch_mm() to the address space `next` of the task being switched in.
 * 2.6 (include/asm-i386/mmu_context.h, arch/x86/include/asm/mmu_context.h):
 * to another mm, the CPU leaves the old one's mask, joins the new one's and
 * loads CR3; to the mm it already has as active_mm, it loads CR3 only if
 * leave_mm had dropped it from the mask. 5.11 (arch/x86/mm/tlb.c,
 * switch_mm_irqs_off): to the loaded mm, a CPU that was lazy reloads CR3
 * only if the mm's tlb_gen moved on meanwhile (flushes skipped it); to
 * another mm, always (no PCID on i686).
 */
void mmusim__smp_switch_mm(struct mmusim_cpu *cpu, uint64_t next)
{
    struct cpu_sys *m = cpu->sys;
    struct cpu_smp *c = &cpu->smp;
    uint64_t bit = 1ull << cpu->id;
    struct mm_mask *nm = mmusim__smp_mm(m, next);
    int reload;
    if (c->active_mm != next) {
        uint64_t *pm = c->active_mm != m->mmu->swapper_cr3 ? mmusim__smp_mm_mask(m, c->active_mm) : NULL;
        nm = mmusim__smp_mm(m, next); /* again: the look-up above may have moved the records */
        if (pm)
            *pm &= ~bit;
        reload = 1;
    } else if (era(cpu) == MMUSIM_ERA_5_11) {
        reload = c->tlbstate == TLBSTATE_LAZY && nm && c->tlb_gen != nm->tlb_gen;
    } else {
        reload = !nm || !(nm->mask & bit);
    }
    if (nm) {
        nm->mask |= bit;
        if (reload)
            c->tlb_gen = nm->tlb_gen;
    }
    c->tlbstate = TLBSTATE_OK;
    c->active_mm = next;
    if (reload)
        load_cr3(cpu, next, "switch_mm: the task's page directory refused by CR3");
}

/* ---- what a CPU does: the flushes themselves ---- */

static void flush_pages(struct mmusim_cpu *cpu, uint64_t start, uint64_t end)
{
    for (uint64_t va = start; va < end; va += MMUSIM_PAGE_SIZE)
        mmusim_flush_tlb_one(cpu, (uint32_t)va);
}

/* A user mm's range [start, end), or all of it (start == end), on this CPU. */
static void flush_user(struct mmusim_cpu *cpu, const struct flush_req *r)
{
    if (r->end == r->start)
        (void)mmusim_flush_tlb(cpu); /* a #GP leaves everything as it was; the cycles are counted */
    else
        flush_pages(cpu, r->start, r->end);
}

/*
 * A user mm flush on this CPU. 2.6 smp_invalidate_interrupt (and 3.x
 * flush_tlb_func): if the mm is the active one, flush in TLBSTATE_OK, else
 * leave_mm. 5.11 flush_tlb_func_common: only for the loaded mm; a lazy CPU
 * switches to init_mm; a CPU already at the mm's tlb_gen does nothing; the
 * range is flushed page by page only if this flush is the next generation
 * and the last one, else everything.
 */
static void flush_mm(struct mmusim_cpu *cpu, const struct flush_req *r)
{
    struct cpu_smp *c = &cpu->smp;
    if (c->active_mm != r->cr3 || c->tlbstate == TLBSTATE_BOOT)
        return; /* another mm since (or init_mm): nothing of this one to flush */
    if (c->tlbstate == TLBSTATE_LAZY) {
        leave_mm(cpu);
        return;
    }
    if (era(cpu) != MMUSIM_ERA_5_11) {
        flush_user(cpu, r);
        return;
    }
    struct mm_mask *mm = mmusim__smp_mm(cpu->sys, r->cr3);
    uint64_t mm_gen = mm ? mm->tlb_gen : r->gen;
    if (c->tlb_gen == mm_gen)
        return;
    if (r->end != r->start && r->gen == c->tlb_gen + 1 && r->gen == mm_gen)
        flush_pages(cpu, r->start, r->end);
    else
        (void)mmusim_flush_tlb(cpu);
    c->tlb_gen = mm_gen;
}

static void do_flush(struct mmusim_cpu *cpu, const struct flush_req *r)
{
    switch (r->fn) {
    case FN_FLUSH_ALL:
        mmusim_flush_tlb_all(cpu);
        /* do_flush_tlb_all: in 2.6.18-2.6.37 a CPU in TLBSTATE_LAZY also
         * leaves the borrowed mm (leave_mm), each time; a CPU in state 0
         * (no user mm since boot) does not. 5.11's is __flush_tlb_all()
         * alone (arch/x86/mm/tlb.c), a lazy CPU catching up at its next
         * switch. */
        if (cpu->smp.tlbstate == TLBSTATE_LAZY && era(cpu) != MMUSIM_ERA_5_11)
            leave_mm(cpu);
        break;
    case FN_FLUSH_KRANGE:
        flush_pages(cpu, r->start, r->end);
        break;
    case FN_FLUSH_MM:
        flush_mm(cpu, r);
        break;
    case FN_STEP:
    case FN_RESCHED:
        break;
    }
}

/*
 * An IPI taken: counted by kind, as /proc/interrupts counts them on the CPU
 * that takes them (RES, and TLB; mmusim also counts flush_tlb_all's
 * call-function IPIs as TLB IPIs), then its work.
 */
void mmusim__smp_run_flush(struct mmusim_cpu *cpu, const struct flush_req *r)
{
    if (r->fn == FN_RESCHED) {
        cpu->stats.ipis_resched++;
    } else if (r->fn != FN_STEP) {
        cpu->stats.ipis_tlb++;
        cpu->sys->smp->ack_frame = (int)r->frame; /* for the acknowledgement that follows */
    }
    do_flush(cpu, r);
}

/* ---- the composite paths ---- */

/* IPI req to mask and make f wait for every acknowledgement (one shootdown). */
void mmusim__smp_send_and_wait(struct mmusim_cpu *cpu, struct frame *f, uint64_t mask, const struct flush_req *req)
{
    struct flush_req r = *req;
    r.frame = (unsigned)(f - cpu->smp.stack); /* the acknowledgements are this frame's */
    mmusim__smp_send_ipis(cpu, mask, &r);
    cpu->stats.shootdowns++; /* a flush that sent IPIs */
    f->wait = WAIT_ACKS;
    f->acks_left = mmusim__popcount64(mask);
    f->wait_until = 0;
    f->wait_from = cpu->cycles; /* for the soft-lockup watchdog (engine.c) */
}

/* Send req to mask from the top frame at this CPU's turn in global time, and wait for the acknowledgements: pending. */
static int send_in_order(struct mmusim_cpu *cpu, uint64_t mask, const struct flush_req *req)
{
    struct frame *f = mmusim__smp_top(cpu);
    if (!mmusim__smp_in_order(cpu)) {
        f->order_req = *req;
        f->order_mask = mask;
        return mmusim__smp_defer(cpu, f, OP_SEND);
    }
    mmusim__smp_send_and_wait(cpu, f, mask, req);
    return MMUSIM_PENDING;
}

/* preempt_enable() at the end of a flush (no preemption point: the step runs next). */
static void flush_preempt_enable(struct mmusim_cpu *cpu)
{
    if (cpu->smp.preempt_count & cpu->sys->layout->preempt_bits.preempt_mask)
        cpu->smp.preempt_count--;
}

enum { FP_LOCK, FP_SHORT, FP_SEND, FP_DONE };

static int flush_failed(struct mmusim_cpu *cpu, struct flush_op *op, int rc)
{
    /* A lock refused (spinlock recursion: a BUG report was made; in the kernel the CPU would spin forever). */
    if (op->lock && op->pc == FP_SEND) { /* held: the short lock or its release failed */
        int urc = mmusim_spin_unlock(cpu, op->lock);
        if (urc != MMUSIM_OK)
            rc = urc;
    }
    flush_preempt_enable(cpu);
    return rc;
}

static const char warn_call_function[] = "smp_call_function with irqs disabled (2.6.18 WARN_ON)";
static const char warn_call_many[] = "smp_call_function_many with irqs disabled (WARN_ON_ONCE)";
static const char warn_call_single[] = "smp_call_function_single with irqs disabled (WARN_ON_ONCE)";

/* The path of a flush (struct flush_op): lock, short lock, send, wait, unlock, local part. */
static int flush_path(struct mmusim_cpu *cpu, void *state)
{
    struct flush_op *op = state;
    int rc;
    switch (op->pc) {
    case FP_LOCK:
        op->pc = FP_SHORT;
        if (op->lock && (rc = mmusim_spin_lock(cpu, op->lock)) != MMUSIM_OK)
            return rc == MMUSIM_PENDING ? rc : flush_failed(cpu, op, rc);
        /* fall through */
    case FP_SHORT:
        if (op->warn_after_lock && cpu->smp.irqs_off)
            mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, warn_call_function, op->va);
        op->pc = FP_SEND;
        if (op->short_lock && (rc = mmusim_spin_lock_irqsave(cpu, op->short_lock, &op->flags)) != MMUSIM_OK)
            return rc == MMUSIM_PENDING ? rc : flush_failed(cpu, op, rc);
        /* fall through */
    case FP_SEND:
        if (op->short_lock && (rc = mmusim_spin_unlock_irqrestore(cpu, op->short_lock, op->flags)) != MMUSIM_OK)
            return flush_failed(cpu, op, rc);
        op->pc = FP_DONE;
        if (op->mask)
            return send_in_order(cpu, op->mask, &op->req);
        /* fall through */
    default:
        if (op->lock && (rc = mmusim_spin_unlock(cpu, op->lock)) != MMUSIM_OK)
            return flush_failed(cpu, op, rc);
        /* on_each_cpu: local_irq_disable(); func(info); local_irq_enable() — one unit here. */
        if (op->local.fn != FN_STEP)
            do_flush(cpu, &op->local);
        flush_preempt_enable(cpu);
        return MMUSIM_OK;
    }
}

/* Start the flush prepared in f->flush, preemption disabled (on_each_cpu, flush_tlb_mm/page). */
static int start_flush(struct mmusim_cpu *cpu, struct frame *f)
{
    mmusim__preempt_inc(cpu);
    f->flush.pc = FP_LOCK;
    return mmusim__smp_cont_start(cpu, flush_path, &f->flush);
}

/* The frame to run a flush on, or NULL with *rc set (EINVAL, ENOSTEP outside a step, ESTEP, EFULL). */
static struct frame *flush_frame(struct mmusim_cpu *cpu, int *rc)
{
    if (!cpu) {
        *rc = MMUSIM_EINVAL;
        return NULL;
    }
    struct frame *f = mmusim__smp_op_frame(cpu, rc); /* only a step can wait for acknowledgements */
    if (f && f->nconts == MAX_CONT) {
        *rc = MMUSIM_EFULL; /* no room for the flush's continuation: nothing done */
        return NULL;
    }
    if (f)
        memset(&f->flush, 0, sizeof(f->flush));
    return f;
}

static uint64_t others(const struct mmusim_cpu *cpu)
{
    uint64_t all = cpu->sys->ncpus == MMUSIM_MAX_CPUS ? ~0ull : (1ull << cpu->sys->ncpus) - 1;
    return all & ~(1ull << cpu->id);
}

/*
 * A WARN_ON_ONCE(irqs_disabled()) of 2.6.32+'s kernel/smp.c: reported the
 * first time only, per call site, machine-wide (a static flag in the
 * kernel). The flush goes on, as the kernel's does.
 */
static void warn_once(struct mmusim_cpu *cpu, int *fired, const char *what, uint32_t va)
{
    if (cpu->smp.irqs_off && !*fired) {
        *fired = 1;
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, what, va);
    }
}

/* on_each_cpu(r): the era's smp_call_function path to every other CPU, then r locally. */
static int on_each_cpu(struct mmusim_cpu *cpu, const struct flush_req *r, uint32_t va)
{
    int rc;
    struct frame *f = flush_frame(cpu, &rc);
    if (!f)
        return rc;
    struct machine_smp *s = cpu->sys->smp;
    struct flush_op *op = &f->flush;
    op->req = *r;
    op->local = *r;
    op->va = va;
    op->mask = others(cpu);
    switch (era(cpu)) {
    case MMUSIM_ERA_2_6_18:
        /* smp_call_function(): spin_lock(&call_lock), then (if there are
         * other CPUs) WARN_ON(irqs_disabled()), send, wait for every CPU to
         * have run the function, spin_unlock. */
        op->lock = s->call_lock;
        op->warn_after_lock = op->mask != 0;
        break;
    case MMUSIM_ERA_2_6_32:
    case MMUSIM_ERA_2_6_37:
        /* smp_call_function_many(): WARN_ON_ONCE first; one target goes
         * through smp_call_function_single (its own WARN_ON_ONCE, the
         * target's call_single_queue lock), several through
         * call_function.lock; either lock is held, interrupts off, only to
         * queue the call. */
        warn_once(cpu, &s->call_many_warned, warn_call_many, va);
        if (mmusim__popcount64(op->mask) == 1) {
            warn_once(cpu, &s->call_single_warned, warn_call_single, va);
            op->short_lock = s->call_single_lock[mmusim__ctz64(op->mask)];
        } else if (op->mask) {
            op->short_lock = s->call_function_lock;
        }
        break;
    case MMUSIM_ERA_5_11:
    case MMUSIM_ERA_COUNT_:
        /* 5.11 smp_call_function_many_cond(): WARN_ON_ONCE, lock-free queues. */
        warn_once(cpu, &s->call_many_warned, warn_call_many, va);
        break;
    }
    return start_flush(cpu, f);
}

int mmusim_flush_tlb_all_smp(mmusim_cpu *cpu)
{
    struct flush_req r;
    memset(&r, 0, sizeof(r));
    r.fn = FN_FLUSH_ALL;
    r.initiator = cpu ? cpu->id : 0;
    return on_each_cpu(cpu, &r, 0);
}

/* [start, end) widened to whole pages, and its page count; EINVAL for an empty or reversed range. */
static int page_range(uint32_t start, uint32_t end, struct flush_req *r, uint64_t *pages)
{
    if (end <= start)
        return MMUSIM_EINVAL;
    r->start = start & MMUSIM_PAGE_MASK;
    r->end = ((uint64_t)end + MMUSIM_PAGE_OFFSET_MASK) & MMUSIM_PAGE_MASK; /* up to 2^32: the top page included */
    *pages = (r->end - r->start) >> 12;
    return MMUSIM_OK;
}

int mmusim_flush_tlb_kernel_range_smp(mmusim_cpu *cpu, uint32_t start, uint32_t end)
{
    struct flush_req r;
    uint64_t pages;
    memset(&r, 0, sizeof(r));
    if (!cpu || page_range(start, end, &r, &pages) != MMUSIM_OK)
        return MMUSIM_EINVAL;
    unsigned ceiling = cpu->sys->layout->flush_ceiling; /* the era's when cfg says auto */
    r.initiator = cpu->id;
    r.fn = (ceiling == 0 || pages > ceiling) ? FN_FLUSH_ALL : FN_FLUSH_KRANGE;
    return on_each_cpu(cpu, &r, start);
}

/*
 * A flush of the user mm r->cr3 (r: the range, or everything if start ==
 * end) from cpu: the era's local part, then flush_tlb_others. page: the
 * call is flush_tlb_page, which 2.6 and 3.x kernels have apart from
 * flush_tlb_mm_range.
 */
static int mm_flush(struct mmusim_cpu *cpu, struct flush_req *r, int page, uint32_t va)
{
    int rc;
    struct frame *f = flush_frame(cpu, &rc);
    if (!f)
        return rc;
    struct cpu_sys *m = cpu->sys;
    struct cpu_smp *c = &cpu->smp;
    struct flush_op *op = &f->flush;
    r->fn = FN_FLUSH_MM;
    r->initiator = cpu->id;
    struct mm_mask *mm = mmusim__smp_mm(m, r->cr3);
    uint64_t mask = mm ? mm->mask & ~(1ull << cpu->id) : 0;
    int user = c->current && c->current->cr3 != 0; /* current->mm */
    if (era(cpu) == MMUSIM_ERA_5_11) {
        /* flush_tlb_mm_range: inc_mm_tlb_gen, the local flush if the mm
         * is loaded (flush_tlb_func_local), then flush_tlb_others if the
         * mm's mask has another CPU: on_each_cpu_cond_mask(tlb_is_not_lazy)
         * leaves out CPUs in lazy TLB mode (native_flush_tlb_others). */
        r->gen = mm ? ++mm->tlb_gen : 0;
        if (c->active_mm == r->cr3)
            flush_mm(cpu, r);
        if (!mask)
            return MMUSIM_OK;
        warn_once(cpu, &m->smp->call_many_warned, warn_call_many, va);
        for (unsigned d = 0; d < m->ncpus; d++)
            if (m->cpus[d].smp.tlbstate == TLBSTATE_LAZY)
                mask &= ~(1ull << d);
    } else {
        if (m->layout->flush_ceiling && !page) {
            /* 3.x-4.13 flush_tlb_mm_range (arch/x86/mm/tlb.c): an initiator
             * that does not run the mm (current->active_mm != mm), or only
             * borrows it (!current->mm: leave_mm first), flushes nothing
             * itself and has the others flush everything. */
            if (c->active_mm != r->cr3 || !user) {
                if (c->active_mm == r->cr3)
                    leave_mm(cpu);
                r->start = r->end = 0;
            } else {
                flush_user(cpu, r);
            }
        } else if (c->active_mm == r->cr3) {
            /* 2.6 flush_tlb_mm / flush_tlb_page: the flush if current->mm, else leave_mm. */
            if (user)
                flush_user(cpu, r);
            else
                leave_mm(cpu);
        }
        if (!mask)
            return MMUSIM_OK;
        /* flush_tlb_others: 2.6.18's one tlbstate_lock; 2.6.32/37
         * flush_tlb_others_ipi's flush_state[cpu % NUM_INVALIDATE_TLB_VECTORS].
         * Held while sending and waiting; no WARN on this path. */
        op->lock = m->smp->flush_lock[era(cpu) == MMUSIM_ERA_2_6_18 ? 0 : cpu->id % NUM_INVALIDATE_TLB_VECTORS];
    }
    op->req = *r;
    op->local.fn = FN_STEP; /* the local part is done */
    op->mask = mask;
    op->va = va;
    return start_flush(cpu, f);
}

int mmusim_flush_tlb_range_smp(mmusim_cpu *cpu, uint64_t cr3, uint32_t start, uint32_t end)
{
    struct flush_req r;
    memset(&r, 0, sizeof(r));
    if (!cpu || cr3 == 0)
        return MMUSIM_EINVAL;
    if (!mmusim__mmu_is_pgd(cpu->sys->mmu, cr3))
        return MMUSIM_ENOTPGD; /* no address space: no mm to flush */
    if (!(start == 0 && end == 0)) {
        uint64_t pages;
        if (page_range(start, end, &r, &pages) != MMUSIM_OK)
            return MMUSIM_EINVAL;
        unsigned ceiling = cpu->sys->layout->flush_ceiling; /* the era's when cfg says auto */
        /* 2.6.x: flush_tlb_range is flush_tlb_mm, whatever the range
         * (include/asm-i386/tlbflush.h, arch/x86/include/asm/tlbflush.h);
         * with a ceiling, per page up to it. */
        if (ceiling == 0 || pages > ceiling)
            r.start = r.end = 0;
    }
    r.cr3 = cr3;
    return mm_flush(cpu, &r, 0, start);
}

int mmusim_flush_tlb_page_smp(mmusim_cpu *cpu, uint64_t cr3, uint32_t va)
{
    struct flush_req r;
    memset(&r, 0, sizeof(r));
    if (!cpu || cr3 == 0)
        return MMUSIM_EINVAL;
    if (!mmusim__mmu_is_pgd(cpu->sys->mmu, cr3))
        return MMUSIM_ENOTPGD;
    r.cr3 = cr3;
    r.start = va & MMUSIM_PAGE_MASK;
    r.end = r.start + MMUSIM_PAGE_SIZE;
    /* 5.11's flush_tlb_page is flush_tlb_mm_range(va, va + PAGE_SIZE):
     * everything if even one page is above the ceiling. */
    if (era(cpu) == MMUSIM_ERA_5_11 && cpu->sys->layout->flush_ceiling == 0)
        r.start = r.end = 0;
    return mm_flush(cpu, &r, 1, va);
}

/* ---- the kernel's IPI locks ---- */

int mmusim__smp_flush_locks_init(struct cpu_sys *m)
{
    struct machine_smp *s = m->smp;
    int rc = mmusim__spinlock_create(m, &s->call_lock);
    if (rc == MMUSIM_OK)
        rc = mmusim__spinlock_create(m, &s->call_function_lock);
    for (unsigned i = 0; rc == MMUSIM_OK && i < NUM_INVALIDATE_TLB_VECTORS; i++)
        rc = mmusim__spinlock_create(m, &s->flush_lock[i]);
    for (unsigned i = 0; rc == MMUSIM_OK && i < m->ncpus; i++)
        rc = mmusim__spinlock_create(m, &s->call_single_lock[i]);
    return rc;
}

/* ---- cpu_vm_mask: which CPUs have used an address space ---- */

struct mm_mask *mmusim__smp_mm(struct cpu_sys *m, uint64_t cr3)
{
    struct machine_smp *s = m->smp;
    for (size_t i = 0; i < s->nmms; i++)
        if (s->mms[i].cr3 == cr3)
            return &s->mms[i];
    struct mm_mask *p = mmusim__grow(s->mms, s->nmms, &s->mms_cap, sizeof(*p), 8);
    if (!p)
        return NULL;
    s->mms = p;
    memset(&s->mms[s->nmms], 0, sizeof(s->mms[0]));
    s->mms[s->nmms].cr3 = cr3;
    return &s->mms[s->nmms++];
}

uint64_t *mmusim__smp_mm_mask(struct cpu_sys *m, uint64_t cr3)
{
    struct mm_mask *mm = mmusim__smp_mm(m, cr3);
    return mm ? &mm->mask : NULL;
}

uint64_t mmusim__mm_cpu_mask(const struct cpu_sys *m, uint64_t cr3)
{
    if (!m || !m->smp)
        return 0;
    for (size_t i = 0; i < m->smp->nmms; i++)
        if (m->smp->mms[i].cr3 == cr3)
            return m->smp->mms[i].mask;
    return 0;
}
