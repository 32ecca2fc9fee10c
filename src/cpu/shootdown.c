/*
 * mmusim — IPIs and Linux's SMP TLB flushes (include/mmusim/smp.h).
 *
 * The sequences follow Linux 2.6.18–2.6.37 (arch/i386/kernel/smp.c, then
 * arch/x86/kernel/tlb_32.c and arch/x86/mm/tlb.c) as ../shared/docs/
 * linux-highmem.md §6 gives them:
 *   flush_tlb_all()   on_each_cpu(do_flush_tlb_all, wait): the other CPUs
 *                     by IPI first, waiting for all; then the local call.
 *                     do_flush_tlb_all is __flush_tlb_all(), plus leave_mm()
 *                     on a CPU in lazy TLB mode (not in 5.11).
 *   flush_tlb_kernel_range()  2.6.x: flush_tlb_all(), whatever the range.
 *                     With a flush ceiling (later kernels' tlb.c): per-page
 *                     INVLPG on every CPU up to the ceiling, else the same
 *                     full flush.
 *   flush_tlb_page/mm/range()  the local flush first (or leave_mm if the
 *                     CPU is lazy), then flush_tlb_others() to the rest of
 *                     the mm's cpu_vm_mask, each of which flushes if the mm
 *                     is its active one (leave_mm if lazy) and acknowledges.
 *
 * An IPI costs its sender ipi_send per message (up to 8 CPUs one message
 * carries the mask, Linux's flat logical mode; beyond, one message per target,
 * physflat mode), and on the P6 serial
 * APIC bus also the wait until the message is off the bus (apic_bus_msg per
 * message, one message at a time machine-wide: hw-costs.md §1, SDM Vol. 3
 * §10.11, App. F). Target i of a mask message (in CPU order) sees the
 * interrupt ipi_deliver after it, plus i * ipi_extra_target (the fan-out
 * slope); a unicast message's target, ipi_deliver after its own message.
 * A target takes it at its first operation boundary with interrupts on,
 * charges ipi_handler (entry and return) plus the flush, and its
 * acknowledgement reaches the sender ipi_ack later.
 */
#include <string.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"

/* One message on the wire from `ready`: on the serial APIC bus it waits for the bus and occupies it. */
static uint64_t message_departs(struct cpu_sys *m, uint64_t ready)
{
    const struct mmusim_costs *k = &m->cfg->costs;
    if (!k->apic_bus_serial)
        return ready;
    uint64_t start = ready > m->smp->apic_bus_free ? ready : m->smp->apic_bus_free;
    m->smp->apic_bus_free = start + k->apic_bus_msg;
    return m->smp->apic_bus_free; /* the sender polls delivery status until it is off the bus */
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
    if (!unicast)
        depart = message_departs(m, t + k->ipi_send);
    for (unsigned d = 0; d < m->ncpus; d++) {
        if (!(mask & (1ull << d)))
            continue;
        struct pending_irq p;
        memset(&p, 0, sizeof(p));
        if (unicast) {
            depart = message_departs(m, (depart > t ? depart : t) + k->ipi_send);
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
            if (req->fn != FN_RESCHED)
                mmusim__smp_ack(cpu, p.at);
        }
        last = p.at;
        i++;
    }
    cpu->cycles = depart > t ? depart : t;
    cpu->stats.ipi_send_cycles += cpu->cycles - t;
    cpu->stats.ipis_sent += i;
    return last;
}

void mmusim__smp_ack(struct mmusim_cpu *initiator, uint64_t at)
{
    struct cpu_smp *c = &initiator->smp;
    for (unsigned i = c->depth; i-- > 0;) {
        struct frame *f = &c->stack[i];
        if (f->wait == WAIT_ACKS && f->acks_left) {
            mmusim__smp_touch(initiator);
            f->acks_left--;
            if (at > f->wait_until)
                f->wait_until = at;
            return;
        }
    }
}

/* leave_mm(): drop out of the borrowed mm's mask and load swapper_pg_dir. */
static void leave_mm(struct mmusim_cpu *cpu)
{
    struct cpu_sys *m = cpu->sys;
    if (cpu->regs.cr3 == m->mmu->swapper_cr3)
        return;
    uint64_t *mask = mmusim__smp_mm_mask(m, cpu->regs.cr3);
    if (mask)
        *mask &= ~(1ull << cpu->id);
    if (mmusim_cpu_write_cr3(cpu, m->mmu->swapper_cr3, NULL) != MMUSIM_OK) /* swapper's PDPTEs are well formed */
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "leave_mm: swapper_pg_dir refused by CR3", 0);
    cpu->stats.leave_mm++;
}

static void flush_pages(struct mmusim_cpu *cpu, uint64_t start, uint64_t end)
{
    for (uint64_t va = start; va < end; va += MMUSIM_PAGE_SIZE)
        mmusim_flush_tlb_one(cpu, (uint32_t)va);
}

void mmusim__smp_run_flush(struct mmusim_cpu *cpu, const struct flush_req *r)
{
    switch (r->fn) {
    case FN_FLUSH_ALL:
        mmusim_flush_tlb_all(cpu);
        /* do_flush_tlb_all: in 2.6.18-2.6.37 a lazy CPU also leaves the
         * borrowed mm (leave_mm); 5.11's is __flush_tlb_all() alone
         * (arch/x86/mm/tlb.c), a lazy CPU catching up at its next switch. */
        if (cpu->smp.lazy && cpu->sys->cfg->era != MMUSIM_ERA_5_11)
            leave_mm(cpu);
        break;
    case FN_FLUSH_KRANGE:
        flush_pages(cpu, r->start, r->end);
        break;
    case FN_FLUSH_MM:
        if (cpu->regs.cr3 != r->cr3)
            break; /* switched away since: nothing of the mm is cached */
        if (cpu->smp.lazy)
            leave_mm(cpu);
        else if (r->end == r->start)
            mmusim_flush_tlb(cpu);
        else
            flush_pages(cpu, r->start, r->end);
        break;
    case FN_STEP:
    case FN_RESCHED:
        break;
    }
}

/* Checks common to every SMP flush; the frame to wait in, or NULL with *rc set.
 * va: the start of the range asked for (0 for flush_tlb_all, flush_tlb_mm), for a report. */
static struct frame *flush_frame(struct mmusim_cpu *cpu, uint32_t va, int *rc)
{
    if (!cpu) {
        *rc = MMUSIM_EINVAL;
        return NULL;
    }
    struct frame *f = mmusim__smp_op_frame(cpu, rc); /* only a step can wait for acknowledgements */
    if (!f)
        return NULL;
    if (cpu->smp.irqs_off || mmusim_cpu_in_interrupt(cpu)) {
        /* smp_call_function's WARN_ON(irqs_disabled()); with interrupts off
         * two CPUs flushing each other would deadlock. */
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "smp_call_function with irqs disabled or in interrupt context",
                           va);
        *rc = MMUSIM_ECONTEXT;
        return NULL;
    }
    return f;
}

static uint64_t others(const struct mmusim_cpu *cpu)
{
    uint64_t all = cpu->sys->ncpus == MMUSIM_MAX_CPUS ? ~0ull : (1ull << cpu->sys->ncpus) - 1;
    return all & ~(1ull << cpu->id);
}

/* IPI req to mask and make f wait for every acknowledgement; then run req locally if after_local. */
void mmusim__smp_send_and_wait(struct mmusim_cpu *cpu, struct frame *f, uint64_t mask, const struct flush_req *req,
                               int after_local)
{
    mmusim__smp_send_ipis(cpu, mask, req);
    f->wait = WAIT_ACKS;
    f->acks_left = mmusim__popcount64(mask);
    f->wait_until = 0;
    f->after_local = after_local;
    f->local = *req;
}

/* Send req to mask from f at this CPU's turn in global time, and wait for the acknowledgements: always pending. */
static int send_in_order(struct mmusim_cpu *cpu, struct frame *f, uint64_t mask, const struct flush_req *req,
                         int after_local)
{
    if (!mmusim__smp_in_order(cpu)) {
        f->order_req = *req;
        f->order_mask = mask;
        f->after_local = after_local;
        f->local = *req;
        return mmusim__smp_defer(cpu, f, OP_SEND);
    }
    mmusim__smp_send_and_wait(cpu, f, mask, req, after_local);
    return MMUSIM_PENDING;
}

/* on_each_cpu(fn, wait=1): the others by IPI, then (once all acknowledged) the local call. */
static int on_each_cpu(struct mmusim_cpu *cpu, struct frame *f, const struct flush_req *req)
{
    uint64_t mask = others(cpu);
    cpu->stats.shootdowns++;
    if (mask)
        return send_in_order(cpu, f, mask, req, 1);
    mmusim__smp_run_flush(cpu, req);
    return MMUSIM_OK;
}

int mmusim_flush_tlb_all_smp(mmusim_cpu *cpu)
{
    int rc;
    struct frame *f = flush_frame(cpu, 0, &rc);
    if (!f)
        return rc;
    struct flush_req r;
    memset(&r, 0, sizeof(r));
    r.fn = FN_FLUSH_ALL;
    r.initiator = cpu->id;
    return on_each_cpu(cpu, f, &r);
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
    int rc;
    struct frame *f = flush_frame(cpu, start, &rc);
    if (!f)
        return rc;
    unsigned ceiling = cpu->sys->layout->flush_ceiling; /* the era's when cfg says auto */
    r.initiator = cpu->id;
    r.fn = (ceiling == 0 || pages > ceiling) ? FN_FLUSH_ALL : FN_FLUSH_KRANGE;
    return on_each_cpu(cpu, f, &r);
}

int mmusim_flush_tlb_range_smp(mmusim_cpu *cpu, uint64_t cr3, uint32_t start, uint32_t end)
{
    struct flush_req r;
    memset(&r, 0, sizeof(r));
    if (!cpu || cr3 == 0)
        return MMUSIM_EINVAL;
    if (!(start == 0 && end == 0)) {
        uint64_t pages;
        if (page_range(start, end, &r, &pages) != MMUSIM_OK)
            return MMUSIM_EINVAL;
        unsigned ceiling = cpu->sys->layout->flush_ceiling; /* the era's when cfg says auto */
        /* 2.6.x: flush_tlb_page for one page, flush_tlb_mm for any longer
         * range; with a ceiling, per page up to it. */
        if (!(pages == 1 || (ceiling && pages <= ceiling)))
            r.start = r.end = 0;
    }
    r.fn = FN_FLUSH_MM;
    r.cr3 = cr3;
    r.initiator = cpu->id;
    int rc;
    struct frame *f = flush_frame(cpu, start, &rc);
    if (!f)
        return rc;
    cpu->stats.shootdowns++;
    mmusim__smp_run_flush(cpu, &r); /* the local part first, as flush_tlb_page does */
    uint64_t *mm = mmusim__smp_mm_mask(cpu->sys, cr3);
    uint64_t mask = mm ? *mm & ~(1ull << cpu->id) : 0;
    if (mask)
        return send_in_order(cpu, f, mask, &r, 0);
    return MMUSIM_OK;
}

/* ---- cpu_vm_mask: which CPUs have used an address space ---- */

uint64_t *mmusim__smp_mm_mask(struct cpu_sys *m, uint64_t cr3)
{
    struct machine_smp *s = m->smp;
    for (size_t i = 0; i < s->nmms; i++)
        if (s->mms[i].cr3 == cr3)
            return &s->mms[i].mask;
    struct mm_mask *p = mmusim__grow(s->mms, s->nmms, &s->mms_cap, sizeof(*p), 8);
    if (!p)
        return NULL;
    s->mms = p;
    s->mms[s->nmms].cr3 = cr3;
    s->mms[s->nmms].mask = 0;
    return &s->mms[s->nmms++].mask;
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
