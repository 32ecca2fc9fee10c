/*
 * mmusim — execution contexts and interrupts (include/mmusim/smp.h): each
 * CPU's context stack (task, softirq, hardirq, NMI) with Linux's
 * preempt_count, the interrupt flag, pending interrupts (an array sorted by
 * arrival time and order), the seeded interrupt sources and softirqs, and
 * taking an interrupt at an operation boundary.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "internal.h"
#include "mmusim/error.h"

/* ---- contexts ---- */

struct frame *mmusim__smp_top(struct mmusim_cpu *cpu)
{
    return cpu->smp.depth ? &cpu->smp.stack[cpu->smp.depth - 1] : NULL;
}

enum mmusim_context mmusim_cpu_context(const mmusim_cpu *cpu)
{
    if (!cpu || !cpu->smp.depth)
        return MMUSIM_CTX_TASK;
    return cpu->smp.stack[cpu->smp.depth - 1].ctx;
}

unsigned mmusim_cpu_preempt_count(const mmusim_cpu *cpu)
{
    return cpu ? cpu->smp.preempt_count : 0;
}

/* The era's preempt_count layout (include/mmusim/layout.h, struct mmusim_preempt_bits). */
static const struct mmusim_preempt_bits *bits(const struct mmusim_cpu *cpu)
{
    return &cpu->sys->layout->preempt_bits;
}

int mmusim_cpu_in_interrupt(const mmusim_cpu *cpu)
{
    if (!cpu)
        return 0;
    const struct mmusim_preempt_bits *b = bits(cpu);
    return (cpu->smp.preempt_count & (b->hardirq_mask | b->softirq_mask | b->nmi_mask)) != 0;
}

int mmusim_cpu_irqs_disabled(const mmusim_cpu *cpu)
{
    return cpu && cpu->smp.irqs_off;
}

unsigned mmusim_cpu_nesting(const mmusim_cpu *cpu)
{
    return cpu ? cpu->smp.depth : 0;
}

void mmusim_local_irq_disable(mmusim_cpu *cpu)
{
    if (cpu) {
        cpu->smp.irqs_off = 1;
        mmusim__smp_touch(cpu);
    }
}

void mmusim_local_irq_enable(mmusim_cpu *cpu)
{
    if (!cpu)
        return;
    /* sti, wherever it is: no kernel of the four eras checks it at the call.
     * In a hardirq handler it is no bug before 2.6.35 (handle_IRQ_event ran
     * handlers with interrupts on); 5.11 warns when the handler returns
     * (mmusim__smp_pop). Another interrupt may then nest. */
    cpu->smp.irqs_off = 0;
    mmusim__smp_touch(cpu);
}

void mmusim__preempt_inc(struct mmusim_cpu *cpu)
{
    const unsigned mask = bits(cpu)->preempt_mask;
    cpu->smp.preempt_count++;
    if ((cpu->smp.preempt_count & mask) >= MMUSIM__PREEMPT_WARN_AT(mask) && !cpu->sys->smp->preempt_warned) {
        cpu->sys->smp->preempt_warned = 1;
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "preempt_count overflowing soon (DEBUG_PREEMPT)", 0);
    }
}

void mmusim_preempt_disable(mmusim_cpu *cpu)
{
    if (cpu)
        mmusim__preempt_inc(cpu);
}

void mmusim_preempt_enable(mmusim_cpu *cpu)
{
    if (!cpu)
        return;
    if (!(cpu->smp.preempt_count & bits(cpu)->preempt_mask)) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "preempt_enable without preempt_disable (preempt count underflow)", 0);
        return;
    }
    cpu->smp.preempt_count--;
}

void mmusim_cpu_spend(mmusim_cpu *cpu, uint64_t cycles)
{
    if (!cpu)
        return;
    /* Saturate at MMUSIM_CLOCK_MAX: a clock that wrapped would run the CPU back in time. */
    uint64_t room = cpu->cycles < MMUSIM_CLOCK_MAX ? MMUSIM_CLOCK_MAX - cpu->cycles : 0;
    if (cycles > room)
        cycles = room;
    cpu->cycles += cycles;
    cpu->stats.compute_cycles += cycles;
}

/* Push a frame; NULL (and a BUG report) if the stack is full. */
/*
 * What entering ctx adds to preempt_count in the machine's era: a softirq
 * SOFTIRQ_OFFSET (__do_softirq), a hardirq HARDIRQ_OFFSET (irq_enter), an
 * NMI NMI_OFFSET + HARDIRQ_OFFSET (nmi_enter; 2.6.18 has no NMI count and
 * its nmi_enter is irq_enter: HARDIRQ_OFFSET alone).
 */
static uint32_t context_offset(const struct mmusim_cpu *cpu, enum mmusim_context ctx)
{
    const struct mmusim_preempt_bits *b = bits(cpu);
    switch (ctx) {
    case MMUSIM_CTX_SOFTIRQ:
        return b->softirq_offset;
    case MMUSIM_CTX_HARDIRQ:
        return b->hardirq_offset;
    case MMUSIM_CTX_NMI:
        return b->nmi_offset + b->hardirq_offset;
    case MMUSIM_CTX_TASK:
        break;
    }
    return 0;
}

struct frame *mmusim__smp_push(struct mmusim_cpu *cpu, enum mmusim_context ctx)
{
    struct cpu_smp *c = &cpu->smp;
    if (c->depth == MAX_NEST) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "interrupt nesting deeper than mmusim's context stack", 0);
        return NULL;
    }
    if (c->depth && c->stack[c->depth - 1].wait == WAIT_LOCK && cpu->sys->smp->byte_locks)
        mmusim__smp_lock_interrupted(cpu, &c->stack[c->depth - 1]); /* it stops polling its byte lock */
    struct frame *f = &c->stack[c->depth++];
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    f->irqs_were_off = c->irqs_off;
    f->count_added = context_offset(cpu, ctx);
    c->preempt_count += f->count_added;
    switch (ctx) {
    case MMUSIM_CTX_TASK:
        break;
    case MMUSIM_CTX_SOFTIRQ:
        c->irqs_off = 0; /* __do_softirq runs handlers with interrupts on */
        break;
    case MMUSIM_CTX_HARDIRQ:
        c->irqs_off = 1; /* handlers run with interrupts off (IRQF_DISABLED; always since 2.6.35) */
        break;
    case MMUSIM_CTX_NMI:
        c->nmi_depth++; /* the CPU blocks further NMIs until the handler's iret */
        c->irqs_off = 1;
        break;
    }
    return f;
}

void mmusim__smp_pop(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    struct frame *f = &c->stack[c->depth - 1];
    if (f->device_irq) {
        struct machine_smp *s = cpu->sys->smp;
        /* 5.11's __handle_irq_event_percpu, after each handler: WARN_ONCE if it
         * returned with interrupts on, then local_irq_disable(). */
        if (s->irq_enable_warn && !c->irqs_off) {
            if (!s->irq_enable_warned) {
                s->irq_enable_warned = 1;
                mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "irq handler enabled interrupts", 0);
            }
            c->irqs_off = 1;
        }
        if (f->source)
            c->sources[f->source - 1].in_progress = 0; /* the line may interrupt again */
    }
    if (f->ctx != MMUSIM_CTX_TASK)
        mmusim__smp_fire_handler_end(cpu, f->ctx); /* the handler returns: still in its context */
    c->depth--;
    if (f->ctx == MMUSIM_CTX_TASK)
        return;
    c->preempt_count -= f->count_added;
    if (f->ctx == MMUSIM_CTX_NMI)
        c->nmi_depth--;
    c->irqs_off = f->irqs_were_off; /* iret restores EFLAGS.IF */
}

/* ---- pending interrupts: an array sorted by (at, seq) ---- */

int mmusim__smp_post_irq(struct mmusim_cpu *target, const struct pending_irq *p)
{
    struct cpu_smp *c = &target->smp;
    struct pending_irq *grown = mmusim__grow(c->irqs, c->nirqs, &c->irqs_cap, sizeof(*grown), 8);
    if (!grown)
        return MMUSIM_ENOMEM;
    c->irqs = grown;
    struct pending_irq q = *p;
    q.seq = target->sys->smp->seq++;
    size_t i = c->nirqs;
    while (i > 0 && c->irqs[i - 1].at > q.at) /* equal times keep arrival order */
        i--;
    memmove(&c->irqs[i + 1], &c->irqs[i], (c->nirqs - i) * sizeof(q));
    c->irqs[i] = q;
    c->nirqs++;
    mmusim__smp_touch(target);
    return MMUSIM_OK;
}

static int takeable(const struct mmusim_cpu *cpu, const struct pending_irq *p)
{
    if (p->nmi)
        return cpu->smp.nmi_depth == 0; /* NMIs are blocked until the NMI handler's iret (SDM §6.7.1) */
    if (p->source >= 0 && cpu->smp.sources[p->source].in_progress)
        return 0; /* IRQ_INPROGRESS: a line's handler never nests on itself; the next one waits for its return */
    return !cpu->smp.irqs_off;
}

/* Index of the first interrupt cpu may take, whenever it arrives; nirqs if none. */
size_t mmusim__smp_first_takeable(const struct mmusim_cpu *cpu)
{
    for (size_t i = 0; i < cpu->smp.nirqs; i++)
        if (takeable(cpu, &cpu->smp.irqs[i]))
            return i;
    return cpu->smp.nirqs;
}

static void remove_irq(struct cpu_smp *c, size_t i)
{
    memmove(&c->irqs[i], &c->irqs[i + 1], (c->nirqs - i - 1) * sizeof(c->irqs[0]));
    c->nirqs--;
}

static int post_user_irq(struct cpu_sys *m, unsigned cpu, uint64_t at, int nmi, int source, unsigned irqf,
                         mmusim_step_fn h, void *arg)
{
    if (!m || !h || (irqf & ~MMUSIM_IRQF_DISABLED))
        return MMUSIM_EINVAL;
    if (cpu >= m->ncpus)
        return MMUSIM_ECPU;
    struct pending_irq p;
    memset(&p, 0, sizeof(p));
    p.at = at < MMUSIM_CLOCK_MAX ? at : MMUSIM_CLOCK_MAX; /* no clock goes beyond: as late as it gets */
    p.nmi = nmi;
    p.step = h;
    p.arg = arg;
    p.source = source;
    p.irqf = irqf;
    return mmusim__smp_post_irq(&m->cpus[cpu], &p);
}

int mmusim__irq_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg, unsigned irqf)
{
    return post_user_irq(m, cpu, at, 0, -1, irqf, handler, arg);
}

int mmusim__nmi_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg)
{
    return post_user_irq(m, cpu, at, 1, -1, 0, handler, arg);
}

/* A gap uniform in [1, 2 * mean - 1]: mean `mean`, integer arithmetic only (no libm: bit-for-bit everywhere). */
static uint64_t next_gap(struct irq_source *s)
{
    return s->mean <= 1 ? 1 : 1 + mmusim__splitmix64(&s->rng) % (2 * s->mean - 1);
}

/*
 * Where the source's stream goes on after an arrival at `at` taken at
 * `now`: from `at`, or, when the CPU took it more than SOURCE_LATE mean
 * gaps late (its clock jumped: a long spend, a long wait), from `now`. The
 * arrivals in between merge into the one taken, as an interrupt
 * controller keeps one pending per line; following them one by one would
 * replay up to 2^62 / mean_gap interrupts in the past.
 */
#define SOURCE_LATE 64u
static uint64_t source_resume(const struct cpu_smp *c, int idx, uint64_t at, uint64_t now)
{
    uint64_t mean = c->sources[idx].mean;
    return now > at && (now - at) / SOURCE_LATE > mean ? now : at;
}

/* Post the source's next arrival after `after`, if before its end. */
static int source_post(struct cpu_sys *m, unsigned cpu, int idx, uint64_t after)
{
    struct irq_source *s = &m->cpus[cpu].smp.sources[idx];
    uint64_t at = after + next_gap(s);
    if (at > s->until || at > MMUSIM_CLOCK_MAX)
        return MMUSIM_OK;
    return post_user_irq(m, cpu, at, 0, idx, s->irqf, s->step, s->arg);
}

int mmusim__irq_random(struct cpu_sys *m, unsigned cpu, uint64_t mean_gap, uint64_t until, mmusim_step_fn handler,
                      void *arg, unsigned irqf)
{
    if (!m || !handler || mean_gap == 0 || mean_gap > MMUSIM_CLOCK_MAX || (irqf & ~MMUSIM_IRQF_DISABLED))
        return MMUSIM_EINVAL;
    if (cpu >= m->ncpus)
        return MMUSIM_ECPU;
    struct cpu_smp *c = &m->cpus[cpu].smp;
    struct irq_source *n = mmusim__realloc(c->sources, (c->nsources + 1) * sizeof(*n));
    if (!n)
        return MMUSIM_ENOMEM;
    c->sources = n;
    struct irq_source *s = &c->sources[c->nsources];
    memset(s, 0, sizeof(*s));
    s->mean = mean_gap;
    s->until = until;
    s->step = handler;
    s->arg = arg;
    s->irqf = irqf;
    /* One stream per CPU and source, all from the machine seed. */
    s->rng = m->cfg->seed ^ (0x5bd1e995ull * (cpu + 1)) ^ ((uint64_t)c->nsources << 40);
    int idx = (int)c->nsources++;
    int rc = source_post(m, cpu, idx, 0);
    if (rc != MMUSIM_OK)
        c->nsources--; /* no arrival posted: the source was never there (the array keeps its room) */
    return rc;
}

int mmusim_raise_softirq(mmusim_cpu *cpu, mmusim_step_fn handler, void *arg)
{
    if (!cpu || !handler)
        return MMUSIM_EINVAL;
    struct cpu_smp *c = &cpu->smp;
    struct softirq *grown = mmusim__grow(c->softirqs, c->nsoftirqs, &c->softirqs_cap, sizeof(*grown), 4);
    if (!grown)
        return MMUSIM_ENOMEM;
    c->softirqs = grown;
    c->softirqs[c->nsoftirqs].step = handler;
    c->softirqs[c->nsoftirqs].arg = arg;
    c->nsoftirqs++;
    mmusim__smp_touch(cpu);
    return MMUSIM_OK;
}

/*
 * The scheduler tick, as one unit like an IPI: timer interrupt entry,
 * scheduler_tick(), return. The next tick is the first period boundary
 * after now (missed ticks are not queued: one pending timer interrupt, then
 * hrtimer_forward). The tick ends the running task's slice (one tick long):
 * if another task is ready it sets need_resched, in every preemption model
 * as scheduler_tick() does. With preempt=full the engine acts on it at the
 * first step boundary that may preempt (engine.c); otherwise only a
 * voluntary point does (mmusim_cond_resched).
 */
static void take_tick(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    const struct machine_smp *s = cpu->sys->smp;
    uint64_t at = cpu->cycles, k = cpu->sys->cfg->costs.tick_handler;
    c->next_tick = (at / s->tick_period + 1) * s->tick_period;
    if (!mmusim__smp_push(cpu, MMUSIM_CTX_HARDIRQ))
        return;
    cpu->cycles += k;
    cpu->stats.ticks++;
    cpu->stats.tick_cycles += k;
    if (mmusim__smp_other_ready(cpu))
        c->need_resched = 1;
    mmusim__smp_pop(cpu);
}

int mmusim__smp_take_interrupt(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    int tick_due = c->current && !c->irqs_off && c->next_tick <= cpu->cycles;
    if (c->nirqs == 0 && !tick_due)
        return 0; /* the common case: nothing pending */
    size_t i = mmusim__smp_first_takeable(cpu);
    int irq = i < c->nirqs && c->irqs[i].at <= cpu->cycles;
    /* The tick is due; an interrupt that arrived first goes first, and one at the same time too. */
    if (tick_due && (!irq || c->next_tick < c->irqs[i].at)) {
        take_tick(cpu);
        return 1;
    }
    if (!irq)
        return 0;
    struct pending_irq p = c->irqs[i];
    remove_irq(c, i);
    const struct mmusim_costs *k = &cpu->sys->cfg->costs;
    if (p.req.fn != FN_STEP) {
        /* An IPI: entry, the function, the acknowledgement, return — run as one unit. */
        struct frame *f = mmusim__smp_push(cpu, MMUSIM_CTX_HARDIRQ);
        if (!f)
            return 1;
        uint64_t t0 = cpu->cycles;
        cpu->cycles += k->ipi_handler;
        mmusim__smp_run_flush(cpu, &p.req);
        cpu->stats.ipis_received++;
        cpu->stats.ipi_handler_cycles += cpu->cycles - t0;
        if (p.req.fn != FN_RESCHED)
            mmusim__smp_ack(&cpu->sys->cpus[p.req.initiator], cpu->cycles + k->ipi_ack);
        mmusim__smp_pop(cpu);
        return 1;
    }
    struct frame *f = mmusim__smp_push(cpu, p.nmi ? MMUSIM_CTX_NMI : MMUSIM_CTX_HARDIRQ);
    if (!f)
        return 1;
    f->step = p.step;
    f->arg = p.arg;
    if (!p.nmi) {
        f->device_irq = 1;
        if (p.source >= 0) {
            f->source = p.source + 1;
            c->sources[p.source].in_progress = 1;
        }
        /* handle_IRQ_event up to 2.6.34: local_irq_enable_in_hardirq() unless IRQF_DISABLED.
         * The IPIs and the tick are not device handlers: they run with interrupts off. */
        if (cpu->sys->smp->irq_handlers_irqs_on && !(p.irqf & MMUSIM_IRQF_DISABLED))
            c->irqs_off = 0;
    }
    cpu->cycles += k->ipi_handler; /* interrupt entry and return: the same path an IPI takes */
    cpu->stats.irq_entry_cycles += k->ipi_handler;
    if (p.nmi)
        cpu->stats.nmis++;
    else
        cpu->stats.irqs++;
    if (p.source >= 0 &&
        source_post(cpu->sys, cpu->id, p.source, source_resume(c, p.source, p.at, cpu->cycles)) != MMUSIM_OK) {
        /* Its next arrival could not be queued: the source is over. */
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "interrupt source stopped: out of host memory", 0);
        mmusim__smp_out_of_memory(cpu->sys);
    }
    return 1;
}

/* irq_exit / local_bh_enable: pending softirqs run when nothing of interrupt context is active. */
int mmusim__smp_run_softirq(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    if (!mmusim__smp_softirq_runnable(cpu))
        return 0;
    struct softirq s = c->softirqs[0];
    memmove(&c->softirqs[0], &c->softirqs[1], (c->nsoftirqs - 1) * sizeof(s));
    c->nsoftirqs--;
    struct frame *f = mmusim__smp_push(cpu, MMUSIM_CTX_SOFTIRQ);
    if (!f)
        return 1;
    f->step = s.step;
    f->arg = s.arg;
    cpu->stats.softirqs++;
    return 1;
}

/* The top frame's step returned r (DONE or BLOCK): the handler returns, or the task ends or sleeps. */
