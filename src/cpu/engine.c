/*
 * mmusim — the engine (include/mmusim/smp.h): lowest-clock-first stepping of
 * the CPUs, context stacks, interrupts, tasks and scheduling, reports.
 *
 * Each CPU's next event is: its clock, if its top frame can run; the time its
 * wait ends (once known) or the first interrupt it may take, if the top frame
 * waits; the first interrupt or runnable task, if it is idle. The engine
 * advances the CPU with the earliest event (ties: the lowest CPU number),
 * which makes a run a deterministic function of the configuration and seed.
 * See DESIGN.md "Time" for why units run atomically and why effects on other
 * CPUs are timed at the moment they happen.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "cpu/smp_impl.h"
#include "mmusim/error.h"

/* ---- machine-wide state, reports ---- */

int mmusim__smp_machine_init(struct cpu_sys *m)
{
    m->smp = calloc(1, sizeof(*m->smp));
    if (!m->smp)
        return MMUSIM_ENOMEM;
    m->smp->reports = calloc(MAX_REPORTS, sizeof(*m->smp->reports));
    if (!m->smp->reports)
        return MMUSIM_ENOMEM;
    for (unsigned i = 0; i < m->ncpus; i++)
        m->cpus[i].smp.lazy = 1; /* booted CPUs idle on swapper_pg_dir */
    return MMUSIM_OK;
}

void mmusim__smp_cpu_fini(struct mmusim_cpu *cpu)
{
    free(cpu->smp.irqs);
    free(cpu->smp.sources);
    free(cpu->smp.softirqs);
    memset(&cpu->smp, 0, sizeof(cpu->smp));
}

void mmusim__smp_machine_fini(struct cpu_sys *m)
{
    struct machine_smp *s = m->smp;
    if (!s)
        return;
    for (struct mmusim_task *t = s->tasks, *n; t; t = n) {
        n = t->next_all;
        free(t);
    }
    for (struct mmusim_wait_queue *q = s->queues, *n; q; q = n) {
        n = q->next_all;
        free(q);
    }
    for (struct mmusim_spinlock *l = s->locks, *n; l; l = n) {
        n = l->next_all;
        free(l);
    }
    free(s->mms);
    free(s->reports);
    free(s);
    m->smp = NULL;
}

void mmusim__smp_report(struct mmusim_cpu *cpu, enum mmusim_report_kind kind, const char *what)
{
    struct machine_smp *s = cpu->sys->smp;
    if (s->nreports < MAX_REPORTS) {
        struct mmusim_report *r = &s->reports[s->nreports];
        r->kind = kind;
        r->cpu = cpu->id;
        r->cycle = cpu->cycles;
        r->what = what;
    }
    s->nreports++;
}

uint64_t mmusim__machine_reports(const struct cpu_sys *m, struct mmusim_report *buf, size_t max)
{
    if (!m || !m->smp)
        return 0;
    const struct machine_smp *s = m->smp;
    size_t kept = s->nreports < MAX_REPORTS ? (size_t)s->nreports : MAX_REPORTS;
    for (size_t i = 0; buf && i < kept && i < max; i++)
        buf[i] = s->reports[i];
    return s->nreports;
}

void mmusim__machine_reports_reset(struct cpu_sys *m)
{
    if (m && m->smp)
        m->smp->nreports = 0;
}

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

void mmusim__smp_touch(struct mmusim_cpu *cpu)
{
    cpu->sys->smp->dirty |= 1ull << cpu->id;
}

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

int mmusim_cpu_in_interrupt(const mmusim_cpu *cpu)
{
    return cpu && (cpu->smp.preempt_count & (MMUSIM_HARDIRQ_MASK | MMUSIM_SOFTIRQ_MASK | MMUSIM_NMI_OFFSET)) != 0;
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
    /* Enabling interrupts inside a hardirq handler is a kernel bug (WARN in
     * 2.6.32's handle_IRQ_event when a handler returns with them on). */
    enum mmusim_context ctx = mmusim_cpu_context(cpu);
    if (ctx == MMUSIM_CTX_HARDIRQ || ctx == MMUSIM_CTX_NMI) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "local_irq_enable in hardirq context");
        return;
    }
    cpu->smp.irqs_off = 0;
    mmusim__smp_touch(cpu);
}

void mmusim_preempt_disable(mmusim_cpu *cpu)
{
    if (cpu)
        cpu->smp.preempt_count++;
}

void mmusim_preempt_enable(mmusim_cpu *cpu)
{
    if (!cpu)
        return;
    if (!(cpu->smp.preempt_count & MMUSIM_PREEMPT_MASK)) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "preempt_enable without preempt_disable (preempt count underflow)");
        return;
    }
    cpu->smp.preempt_count--;
}

void mmusim_cpu_spend(mmusim_cpu *cpu, uint64_t cycles)
{
    if (!cpu)
        return;
    cpu->cycles += cycles;
    cpu->stats.compute_cycles += cycles;
}

/* Push a frame; NULL (and a BUG report) if the stack is full. */
static struct frame *push(struct mmusim_cpu *cpu, enum mmusim_context ctx)
{
    struct cpu_smp *c = &cpu->smp;
    if (c->depth == MAX_NEST) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "interrupt nesting deeper than mmusim's context stack");
        return NULL;
    }
    struct frame *f = &c->stack[c->depth++];
    memset(f, 0, sizeof(*f));
    f->ctx = ctx;
    f->irqs_were_off = c->irqs_off;
    switch (ctx) {
    case MMUSIM_CTX_TASK:
        break;
    case MMUSIM_CTX_SOFTIRQ:
        c->preempt_count += MMUSIM_SOFTIRQ_OFFSET;
        c->irqs_off = 0; /* __do_softirq runs handlers with interrupts on */
        break;
    case MMUSIM_CTX_HARDIRQ:
        c->preempt_count += MMUSIM_HARDIRQ_OFFSET;
        c->irqs_off = 1; /* handlers run with interrupts off (IRQF_DISABLED; always since 2.6.35) */
        break;
    case MMUSIM_CTX_NMI:
        c->preempt_count += MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET; /* nmi_enter() adds both */
        c->irqs_off = 1;
        break;
    }
    return f;
}

static void pop(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    struct frame *f = &c->stack[--c->depth];
    switch (f->ctx) {
    case MMUSIM_CTX_TASK:
        return;
    case MMUSIM_CTX_SOFTIRQ:
        c->preempt_count -= MMUSIM_SOFTIRQ_OFFSET;
        break;
    case MMUSIM_CTX_HARDIRQ:
        c->preempt_count -= MMUSIM_HARDIRQ_OFFSET;
        break;
    case MMUSIM_CTX_NMI:
        c->preempt_count -= MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET;
        break;
    }
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
        return !(cpu->smp.preempt_count & MMUSIM_NMI_OFFSET); /* NMIs do not nest on NMIs */
    return !cpu->smp.irqs_off;
}

/* Index of the first interrupt cpu may take, whenever it arrives; nirqs if none. */
static size_t first_takeable(const struct mmusim_cpu *cpu)
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

static int post_user_irq(struct cpu_sys *m, unsigned cpu, uint64_t at, int nmi, int source, mmusim_step_fn h,
                         void *arg)
{
    if (!m || !h)
        return MMUSIM_EINVAL;
    if (cpu >= m->ncpus)
        return MMUSIM_ECPU;
    struct pending_irq p;
    memset(&p, 0, sizeof(p));
    p.at = at;
    p.nmi = nmi;
    p.step = h;
    p.arg = arg;
    p.source = source;
    return mmusim__smp_post_irq(&m->cpus[cpu], &p);
}

int mmusim__irq_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg)
{
    return post_user_irq(m, cpu, at, 0, -1, handler, arg);
}

int mmusim__nmi_at(struct cpu_sys *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg)
{
    return post_user_irq(m, cpu, at, 1, -1, handler, arg);
}

/* A gap uniform in [1, 2 * mean - 1]: mean `mean`, integer arithmetic only (no libm: bit-for-bit everywhere). */
static uint64_t next_gap(struct irq_source *s)
{
    return s->mean <= 1 ? 1 : 1 + mmusim__splitmix64(&s->rng) % (2 * s->mean - 1);
}

/* Post the source's next arrival after `after`, if before its end. */
static int source_post(struct cpu_sys *m, unsigned cpu, int idx, uint64_t after)
{
    struct irq_source *s = &m->cpus[cpu].smp.sources[idx];
    uint64_t at = after + next_gap(s);
    if (at > s->until)
        return MMUSIM_OK;
    return post_user_irq(m, cpu, at, 0, idx, s->step, s->arg);
}

int mmusim__irq_random(struct cpu_sys *m, unsigned cpu, uint64_t mean_gap, uint64_t until, mmusim_step_fn handler,
                      void *arg)
{
    if (!m || !handler || mean_gap == 0)
        return MMUSIM_EINVAL;
    if (cpu >= m->ncpus)
        return MMUSIM_ECPU;
    struct cpu_smp *c = &m->cpus[cpu].smp;
    struct irq_source *n = realloc(c->sources, (c->nsources + 1) * sizeof(*n));
    if (!n)
        return MMUSIM_ENOMEM;
    c->sources = n;
    struct irq_source *s = &c->sources[c->nsources];
    memset(s, 0, sizeof(*s));
    s->mean = mean_gap;
    s->until = until;
    s->step = handler;
    s->arg = arg;
    /* One stream per CPU and source, all from the machine seed. */
    s->rng = m->cfg->seed ^ (0x5bd1e995ull * (cpu + 1)) ^ ((uint64_t)c->nsources << 40);
    int idx = (int)c->nsources++;
    return source_post(m, cpu, idx, 0);
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

/* ---- tasks ---- */

static void runq_append(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct cpu_smp *c = &cpu->smp;
    t->next_run = NULL;
    if (c->runq_tail)
        c->runq_tail->next_run = t;
    else
        c->runq_head = t;
    c->runq_tail = t;
    mmusim__smp_touch(cpu);
}

int mmusim__task_create(struct cpu_sys *m, unsigned cpu, uint64_t cr3, mmusim_step_fn step, void *arg,
                       mmusim_task **out)
{
    if (!m || !step || !out)
        return MMUSIM_EINVAL;
    if (cpu >= m->ncpus)
        return MMUSIM_ECPU;
    if (cr3 && !mmusim__mmu_is_pgd(m->mmu, cr3))
        return MMUSIM_ENOTPGD;
    struct mmusim_task *t = calloc(1, sizeof(*t));
    if (!t)
        return MMUSIM_ENOMEM;
    t->sys = m;
    t->cpu = cpu;
    t->cr3 = cr3;
    t->step = step;
    t->arg = arg;
    t->state = MMUSIM_TASK_RUNNABLE;
    t->ready_at = m->cpus[cpu].cycles;
    t->next_all = m->smp->tasks;
    m->smp->tasks = t;
    runq_append(&m->cpus[cpu], t);
    *out = t;
    return MMUSIM_OK;
}

enum mmusim_task_state mmusim_task_state(const mmusim_task *t)
{
    return t ? t->state : MMUSIM_TASK_DONE;
}

uint64_t mmusim_task_resumed_at(const mmusim_task *t)
{
    return t ? t->resumed_at : 0;
}

uint64_t mmusim_task_done_at(const mmusim_task *t)
{
    return t ? t->done_at : 0;
}

mmusim_task *mmusim_cpu_current(mmusim_cpu *cpu)
{
    return cpu ? cpu->smp.current : NULL;
}

/* Wake t from cpu at cpu's clock: ready at once, or after a reschedule IPI to an idle CPU. */
void mmusim__smp_wake_task(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct mmusim_cpu *home = &cpu->sys->cpus[t->cpu];
    t->state = MMUSIM_TASK_RUNNABLE;
    t->ready_at = cpu->cycles;
    if (home != cpu && home->smp.depth == 0) {
        /* An idle CPU sleeps in hlt: try_to_wake_up's reschedule IPI wakes it,
         * and the task runs once the IPI is handled. A busy CPU runs the task
         * when its current one blocks or ends (no wake-up preemption). */
        struct flush_req r;
        memset(&r, 0, sizeof(r));
        r.fn = FN_RESCHED;
        r.initiator = cpu->id;
        t->ready_at = mmusim__smp_send_ipis(cpu, 1ull << home->id, &r);
    }
    runq_append(home, t);
}

/* The task to run next: the first in queue order that is ready by `now`. */
static struct mmusim_task *runq_take(struct cpu_smp *c, uint64_t now)
{
    struct mmusim_task **pp = &c->runq_head, *prev = NULL;
    for (struct mmusim_task *t = c->runq_head; t; prev = t, pp = &t->next_run, t = t->next_run) {
        if (t->ready_at <= now) {
            *pp = t->next_run;
            if (c->runq_tail == t)
                c->runq_tail = prev;
            t->next_run = NULL;
            return t;
        }
    }
    return NULL;
}

static uint64_t runq_earliest(const struct cpu_smp *c)
{
    uint64_t t = NEVER;
    for (const struct mmusim_task *k = c->runq_head; k; k = k->next_run)
        if (k->ready_at < t)
            t = k->ready_at;
    return t;
}

/* context_switch(): switch_mm (a CR3 write unless the mm is the loaded one, or a kernel thread borrows it), switch_to. */
static void switch_to(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct cpu_sys *m = cpu->sys;
    uint64_t c = m->cfg->costs.ctx_switch;
    cpu->cycles += c;
    cpu->stats.context_switches++;
    cpu->stats.context_switch_cycles += c;
    if (t->cr3 == 0) {
        cpu->smp.lazy = 1; /* enter_lazy_tlb: keep the loaded mm */
    } else {
        uint64_t prev = cpu->regs.cr3;
        if (prev != t->cr3) {
            uint64_t *pm = prev != m->mmu->swapper_cr3 ? mmusim__smp_mm_mask(m, prev) : NULL;
            if (pm)
                *pm &= ~(1ull << cpu->id); /* switch_mm clears the CPU from the old mm's mask */
            if (mmusim_cpu_write_cr3(cpu, t->cr3, NULL) != MMUSIM_OK) /* a created pgd: its PDPTEs are well formed */
                mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "switch_mm: the task's page directory refused by CR3");
        }
        uint64_t *nm = mmusim__smp_mm_mask(m, t->cr3);
        if (nm)
            *nm |= 1ull << cpu->id;
        cpu->smp.lazy = 0;
    }
    t->state = MMUSIM_TASK_RUNNING;
    t->resumed_at = cpu->cycles;
    cpu->smp.current = t;
}

/* ---- the engine ---- */

/* Whether f's wait is over once the clock reaches f->wait_until. */
static int wait_resolved(const struct mmusim_cpu *cpu, const struct frame *f)
{
    if (f->wait == WAIT_ACKS)
        return f->acks_left == 0;
    return f->lock && f->lock->owner == (int)cpu->id && f->wait_until != NEVER;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* Pending softirqs that run_softirq would start now: irq_exit runs them whenever !in_interrupt() with interrupts on. */
static int softirq_runnable(const struct mmusim_cpu *cpu)
{
    return cpu->smp.nsoftirqs && !cpu->smp.irqs_off && !mmusim_cpu_in_interrupt(cpu);
}

static uint64_t next_event(const struct mmusim_cpu *cpu)
{
    const struct cpu_smp *c = &cpu->smp;
    size_t i = first_takeable(cpu);
    uint64_t irq = i < c->nirqs ? max64(c->irqs[i].at, cpu->cycles) : NEVER;
    if (c->depth) {
        const struct frame *f = &c->stack[c->depth - 1];
        if (f->wait == WAIT_NONE || softirq_runnable(cpu)) /* a spinning CPU runs softirqs too */
            return cpu->cycles;
        uint64_t t = wait_resolved(cpu, f) ? max64(f->wait_until, cpu->cycles) : NEVER;
        return t < irq ? t : irq;
    }
    if (softirq_runnable(cpu))
        return cpu->cycles;
    uint64_t r = runq_earliest(c);
    if (r != NEVER)
        r = max64(r, cpu->cycles);
    return r < irq ? r : irq;
}

static void end_frame(struct mmusim_cpu *cpu, struct frame *f, enum mmusim_step r);

/* The wait of f is over: a shootdown's local part, if it was deferred, runs now. */
static void finish_wait(struct mmusim_cpu *cpu, struct frame *f)
{
    enum wait_kind k = f->wait;
    f->wait = WAIT_NONE;
    if (k == WAIT_ACKS && f->after_local) {
        f->after_local = 0;
        mmusim__smp_run_flush(cpu, &f->local);
    }
    if (f->end_after_wait) {
        enum mmusim_step r = (enum mmusim_step)f->end_after_wait;
        f->end_after_wait = 0;
        end_frame(cpu, f, r);
    }
}

/* Take the first interrupt that has arrived and may be taken; 1 if one was. */
static int take_interrupt(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    size_t i = first_takeable(cpu);
    if (i == c->nirqs || c->irqs[i].at > cpu->cycles)
        return 0;
    struct pending_irq p = c->irqs[i];
    remove_irq(c, i);
    const struct mmusim_costs *k = &cpu->sys->cfg->costs;
    if (p.req.fn != FN_STEP) {
        /* An IPI: entry, the function, the acknowledgement, return — run as one unit. */
        struct frame *f = push(cpu, MMUSIM_CTX_HARDIRQ);
        if (!f)
            return 1;
        uint64_t t0 = cpu->cycles;
        cpu->cycles += k->ipi_handler;
        mmusim__smp_run_flush(cpu, &p.req);
        cpu->stats.ipis_received++;
        cpu->stats.ipi_handler_cycles += cpu->cycles - t0;
        if (p.req.fn != FN_RESCHED)
            mmusim__smp_ack(&cpu->sys->cpus[p.req.initiator], cpu->cycles + k->ipi_ack);
        pop(cpu);
        return 1;
    }
    struct frame *f = push(cpu, p.nmi ? MMUSIM_CTX_NMI : MMUSIM_CTX_HARDIRQ);
    if (!f)
        return 1;
    f->step = p.step;
    f->arg = p.arg;
    cpu->cycles += k->ipi_handler; /* interrupt entry and return: the same path an IPI takes */
    cpu->stats.irq_entry_cycles += k->ipi_handler;
    if (p.nmi)
        cpu->stats.nmis++;
    else
        cpu->stats.irqs++;
    if (p.source >= 0)
        (void)source_post(cpu->sys, cpu->id, p.source, p.at);
    return 1;
}

/* irq_exit / local_bh_enable: pending softirqs run when nothing of interrupt context is active. */
static int run_softirq(struct mmusim_cpu *cpu)
{
    struct cpu_smp *c = &cpu->smp;
    if (!softirq_runnable(cpu))
        return 0;
    struct softirq s = c->softirqs[0];
    memmove(&c->softirqs[0], &c->softirqs[1], (c->nsoftirqs - 1) * sizeof(s));
    c->nsoftirqs--;
    struct frame *f = push(cpu, MMUSIM_CTX_SOFTIRQ);
    if (!f)
        return 1;
    f->step = s.step;
    f->arg = s.arg;
    cpu->stats.softirqs++;
    return 1;
}

/* The top frame's step returned r (DONE or BLOCK): the handler returns, or the task ends or sleeps. */
static void end_frame(struct mmusim_cpu *cpu, struct frame *f, enum mmusim_step r)
{
    if (f->ctx != MMUSIM_CTX_TASK) {
        if (r == MMUSIM_STEP_BLOCK)
            mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "scheduling while atomic: a handler blocked");
        pop(cpu);
        return;
    }
    struct mmusim_task *t = f->task;
    if (r == MMUSIM_STEP_BLOCK && t->state != MMUSIM_TASK_SLEEPING) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "task step blocked without sleeping on a wait queue");
        t->state = MMUSIM_TASK_RUNNABLE;
        t->ready_at = cpu->cycles;
        runq_append(cpu, t);
    } else if (r == MMUSIM_STEP_DONE) {
        t->state = MMUSIM_TASK_DONE;
        t->done_at = cpu->cycles;
    }
    pop(cpu);
    cpu->smp.current = NULL;
    cpu->smp.lazy = 1; /* the idle task borrows the mm until the next switch */
    /* Every switch ends in finish_task_switch(), which unlocks the runqueue
     * with spin_unlock_irq(): interrupts are on again whatever the task left. */
    cpu->smp.irqs_off = 0;
}

static void run_step(struct mmusim_cpu *cpu, struct frame *f)
{
    unsigned idx = cpu->smp.depth - 1;
    enum mmusim_step r = f->step(cpu, f->arg);
    f = &cpu->smp.stack[idx];
    if (r == MMUSIM_STEP_MORE)
        return;
    if (f->wait != WAIT_NONE) {
        f->end_after_wait = (int)r; /* e.g. a task whose last act is a shootdown: it ends once acknowledged */
        return;
    }
    end_frame(cpu, f, r);
}

/* Advance cpu to its event at time t and do one thing there. */
static void advance(struct mmusim_cpu *cpu, uint64_t t, uint64_t *steps)
{
    struct cpu_smp *c = &cpu->smp;
    struct frame *f = mmusim__smp_top(cpu);
    if (t > cpu->cycles) {
        uint64_t d = t - cpu->cycles;
        if (!f)
            cpu->stats.idle_cycles += d;
        else if (f->wait == WAIT_ACKS)
            cpu->stats.shootdown_wait_cycles += d;
        else if (f->wait == WAIT_LOCK)
            cpu->stats.spin_cycles += d;
        cpu->cycles = t;
    }
    if (f && f->wait != WAIT_NONE && wait_resolved(cpu, f) && cpu->cycles >= f->wait_until) {
        finish_wait(cpu, f);
        return;
    }
    if (take_interrupt(cpu) || run_softirq(cpu))
        return;
    if (!f) {
        struct mmusim_task *k = runq_take(c, cpu->cycles);
        if (k) {
            struct frame *tf = push(cpu, MMUSIM_CTX_TASK);
            if (tf) {
                tf->task = k;
                tf->step = k->step;
                tf->arg = k->arg;
                switch_to(cpu, k);
            }
        }
        return;
    }
    if (f->wait == WAIT_NONE) {
        (*steps)++;
        run_step(cpu, f);
    }
}

/*
 * Picking the CPU with the earliest event is a tournament over 64 leaves:
 * a changed CPU replays its six matches up to the root, so a step costs the
 * same with 64 CPUs as with 2. A tie goes to the left, lower-numbered, CPU.
 */
static void tree_update(struct machine_smp *s, unsigned cpu)
{
    for (unsigned n = (64 + cpu) >> 1; n >= 1; n >>= 1) {
        uint8_t a = s->win[2 * n], b = s->win[2 * n + 1];
        s->win[n] = s->next[b] < s->next[a] ? b : a;
    }
}

static int all_done(const struct cpu_sys *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        const struct cpu_smp *c = &m->cpus[i].smp;
        if (c->depth || c->runq_head || c->nirqs || c->nsoftirqs)
            return 0;
    }
    for (const struct mmusim_task *t = m->smp->tasks; t; t = t->next_all)
        if (t->state != MMUSIM_TASK_DONE)
            return 0;
    return 1;
}

int mmusim__machine_run(struct cpu_sys *m, uint64_t cycle_limit, struct mmusim_run_result *out)
{
    if (!m)
        return MMUSIM_EINVAL;
    struct machine_smp *s = m->smp;
    if (s->running)
        return MMUSIM_EBUSY;
    s->running = 1;
    uint64_t steps = 0;
    int stalled = 0;
    s->dirty = m->ncpus == 64 ? ~0ull : (1ull << m->ncpus) - 1; /* anything may have changed between runs */
    for (unsigned i = 0; i < 64; i++) { /* CPUs that do not exist never win */
        s->next[i] = NEVER;
        s->win[64 + i] = (uint8_t)i;
    }
    for (unsigned n = 63; n >= 1; n--)
        s->win[n] = s->win[2 * n];
    for (;;) {
        for (uint64_t d = s->dirty; d; d &= d - 1) {
            unsigned i = mmusim__ctz64(d);
            s->next[i] = next_event(&m->cpus[i]);
            tree_update(s, i);
        }
        s->dirty = 0;
        unsigned best = s->win[1];
        uint64_t bt = s->next[best];
        if (bt == NEVER) {
            stalled = 1;
            break;
        }
        if (cycle_limit && bt > cycle_limit)
            break;
        advance(&m->cpus[best], bt, &steps);
        s->dirty |= 1ull << best;
    }
    s->running = 0;
    if (out) {
        memset(out, 0, sizeof(*out));
        out->steps = steps;
        for (unsigned i = 0; i < m->ncpus; i++)
            out->end_cycle = max64(out->end_cycle, m->cpus[i].cycles);
        out->finished = all_done(m);
        out->deadlock = stalled && !out->finished;
    }
    return MMUSIM_OK;
}
