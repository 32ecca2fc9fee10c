/*
 * mmusim — tasks (include/mmusim/smp.h): creation, the per-CPU run queues
 * (FIFO, a task runnable from its ready time), wake-ups, context_switch()
 * with switch_mm's CR3 write and lazy TLB mode, and what happens when a
 * frame's step ends (a handler returns; a task ends or sleeps).
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "internal.h"
#include "mmusim/error.h"

/* ---- tasks ---- */

/*
 * The run queue keeps Linux 2.6's O(1) promise in its own way: the order is
 * FIFO (the first queued task that is ready runs), and a long queue must
 * not make each pick or each "when is the next task ready" a walk of the
 * whole queue (100,000 tasks on one CPU would then cost quadratic time).
 * Two leftist heaps (Knuth, TAOCP vol. 3, 5.2.3; Crane 1972): a merge walks
 * only right spines, each at most log2(n + 1) long, so the recursion below
 * is shallow and nothing is allocated.
 */
static int rq_before_pending(const struct mmusim_task *a, const struct mmusim_task *b)
{
    return a->ready_at != b->ready_at ? a->ready_at < b->ready_at : a->rq_seq < b->rq_seq;
}

static int rq_before_ready(const struct mmusim_task *a, const struct mmusim_task *b)
{
    return a->rq_seq < b->rq_seq;
}

static unsigned rq_rank(const struct mmusim_task *t)
{
    return t ? t->rq_rank : 0;
}

static struct mmusim_task *rq_merge(struct mmusim_task *a, struct mmusim_task *b,
                                    int (*before)(const struct mmusim_task *, const struct mmusim_task *))
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (before(b, a)) {
        struct mmusim_task *x = a;
        a = b;
        b = x;
    }
    a->rq_right = rq_merge(a->rq_right, b, before);
    if (rq_rank(a->rq_left) < rq_rank(a->rq_right)) { /* keep the right spine the short one */
        struct mmusim_task *x = a->rq_left;
        a->rq_left = a->rq_right;
        a->rq_right = x;
    }
    a->rq_rank = rq_rank(a->rq_right) + 1;
    return a;
}

static struct mmusim_task *rq_pop(struct mmusim_task **heap,
                                  int (*before)(const struct mmusim_task *, const struct mmusim_task *))
{
    struct mmusim_task *t = *heap;
    *heap = rq_merge(t->rq_left, t->rq_right, before);
    t->rq_left = t->rq_right = NULL;
    t->rq_rank = 1;
    return t;
}

void mmusim__smp_runq_append(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct cpu_smp *c = &cpu->smp;
    t->rq_left = t->rq_right = NULL;
    t->rq_rank = 1;
    t->rq_seq = c->rq_seq++;
    c->rq_pending = rq_merge(c->rq_pending, t, rq_before_pending);
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
    struct mmusim_task *t = mmusim__calloc(1, mmusim__smp_task_alloc_size(m)); /* the extension area zeroed too */
    if (!t)
        return MMUSIM_ENOMEM;
    /* The address space's cpu_vm_mask record is made now, so switch_mm in
     * the run never needs host memory: there a failure could only be
     * swallowed, and a CPU missing from the mask would miss shootdowns. */
    if (cr3 && !mmusim__smp_mm(m, cr3)) {
        mmusim__free(t);
        return MMUSIM_ENOMEM;
    }
    m->smp->sealed = 1; /* every task has the same extension area */
    t->sys = m;
    t->id = ++m->smp->ntasks;
    t->cpu = cpu;
    t->cr3 = cr3;
    t->step = step;
    t->arg = arg;
    t->state = MMUSIM_TASK_RUNNABLE;
    t->ready_at = m->cpus[cpu].cycles;
    t->next_all = m->smp->tasks;
    m->smp->tasks = t;
    mmusim__smp_fire_fork(m, t);
    mmusim__smp_runq_append(&m->cpus[cpu], t);
    *out = t;
    return MMUSIM_OK;
}

unsigned mmusim_task_id(const mmusim_task *t)
{
    return t ? t->id : 0;
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

/*
 * Wake t from cpu at cpu's clock: ready at once, or after a reschedule IPI
 * to an idle CPU that halts. With idle_poll the idle CPU polls
 * need_resched (mwait_idle, TS_POLLING set): try_to_wake_up's resched_task
 * only sets the flag (2.6.18 kernel/sched.c; 5.x set_nr_and_not_polling),
 * and the CPU notices at once (its wake-up latency from mwait is not
 * modelled).
 */
void mmusim__smp_wake_task(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct mmusim_cpu *home = &cpu->sys->cpus[t->cpu];
    t->state = MMUSIM_TASK_RUNNABLE;
    t->ready_at = cpu->cycles;
    if (home != cpu && home->smp.depth == 0 && !cpu->sys->cfg->costs.idle_poll) {
        /* An idle CPU sleeps in hlt: try_to_wake_up's reschedule IPI wakes it,
         * and the task runs once the IPI is handled. A busy CPU runs the task
         * when its current one blocks or ends (no wake-up preemption). */
        struct flush_req r;
        memset(&r, 0, sizeof(r));
        r.fn = FN_RESCHED;
        r.initiator = cpu->id;
        t->ready_at = mmusim__smp_send_ipis(cpu, 1ull << home->id, &r);
    }
    mmusim__smp_runq_append(home, t);
}

/* The task to run next: the first in queue order that is ready by `now`
 * (the CPU's clock, which never goes back). */
struct mmusim_task *mmusim__smp_runq_take(struct cpu_smp *c, uint64_t now)
{
    while (c->rq_pending && c->rq_pending->ready_at <= now)
        c->rq_ready = rq_merge(c->rq_ready, rq_pop(&c->rq_pending, rq_before_pending), rq_before_ready);
    c->rq_found_at = now;
    return c->rq_ready ? rq_pop(&c->rq_ready, rq_before_ready) : NULL;
}

/*
 * When a queued task is runnable: NEVER for an empty queue; else the
 * earliest ready_at of the tasks not yet found ready, or, when some were
 * found ready at a pick, that pick's clock (no later than the CPU's clock
 * now, which is all the callers compare it with).
 */
uint64_t mmusim__smp_runq_earliest(const struct cpu_smp *c)
{
    if (c->rq_ready)
        return c->rq_found_at;
    return c->rq_pending ? c->rq_pending->ready_at : NEVER;
}

int mmusim__smp_runq_empty(const struct cpu_smp *c)
{
    return !c->rq_ready && !c->rq_pending;
}

int mmusim__smp_other_ready(const struct mmusim_cpu *cpu)
{
    return mmusim__smp_runq_earliest(&cpu->smp) <= cpu->cycles;
}

int mmusim__smp_may_switch(const struct mmusim_cpu *cpu)
{
    const struct cpu_smp *c = &cpu->smp;
    return c->depth == 1 && c->stack[0].wait == WAIT_NONE && !c->stack[0].nconts && c->preempt_count == 0 &&
           !c->irqs_off && mmusim__smp_other_ready(cpu);
}

/*
 * context_switch() to t on cpu, which has no task on its stack: the
 * schedule() path runs with interrupts off; enter_lazy_tlb for a kernel
 * thread (it borrows the loaded mm), else switch_mm (a CR3 write unless the
 * mm is the active one and still loaded; shootdown.c has the era's rules),
 * switch_to, then finish_task_switch(): the switch_in hooks, and interrupts
 * on again (spin_unlock_irq of the run queue), whatever the previous task
 * left.
 */
static void switch_to(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct cpu_sys *m = cpu->sys;
    uint64_t c = m->cfg->costs.ctx_switch;
    if (!cpu->smp.current) {
        /* Out of NO_HZ idle: the tick restarts at the next period boundary (hrtimer_forward to now). */
        uint64_t p = m->smp->tick_period;
        cpu->smp.next_tick = (cpu->cycles / p + 1) * p;
    }
    cpu->smp.irqs_off = 1;
    cpu->smp.need_resched = 0;
    cpu->cycles += c;
    cpu->stats.context_switches++;
    cpu->stats.context_switch_cycles += c;
    if (t->cr3 == 0)
        mmusim__smp_enter_lazy_tlb(cpu); /* keep the loaded mm */
    else
        mmusim__smp_switch_mm(cpu, t->cr3);
    t->state = MMUSIM_TASK_RUNNING;
    cpu->smp.current = t;
    mmusim__smp_fire_switch_in(cpu, t);
    t->resumed_at = cpu->cycles;
    cpu->smp.irqs_off = 0;
}

/* Put t on cpu's empty stack and switch to it. */
static void run_task(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    struct frame *tf = mmusim__smp_push(cpu, MMUSIM_CTX_TASK);
    if (!tf)
        return;
    tf->task = t;
    tf->step = t->step;
    tf->arg = t->arg;
    if (t->nconts) { /* a continuation that slept goes on where it stopped */
        memcpy(tf->conts, t->conts, t->nconts * sizeof(t->conts[0]));
        tf->nconts = t->nconts;
        tf->end_after_wait = t->cont_end;
        t->nconts = 0;
        t->cont_end = 0;
    }
    switch_to(cpu, t);
}

int mmusim__smp_pick(struct mmusim_cpu *cpu)
{
    struct mmusim_task *k = mmusim__smp_runq_take(&cpu->smp, cpu->cycles);
    if (!k)
        return 0;
    run_task(cpu, k);
    return 1;
}

/* prepare_task_switch() for prev, the current task: interrupts off, the switch_out hooks. */
static void switch_out(struct mmusim_cpu *cpu, struct mmusim_task *prev)
{
    cpu->smp.irqs_off = 1;
    cpu->smp.need_resched = 0;
    cpu->smp.yield = 0;
    mmusim__smp_fire_switch_out(cpu, prev);
}

void mmusim__smp_preempt(struct mmusim_cpu *cpu)
{
    struct mmusim_task *prev = cpu->smp.current;
    switch_out(cpu, prev);
    mmusim__smp_pop(cpu);
    prev->state = MMUSIM_TASK_RUNNABLE;
    prev->ready_at = cpu->cycles;
    mmusim__smp_runq_append(cpu, prev);
    /* The first ready task, which is not prev: another was ready ahead of it (mmusim__smp_may_switch). */
    run_task(cpu, mmusim__smp_runq_take(&cpu->smp, cpu->cycles));
}

int mmusim_cond_resched(mmusim_cpu *cpu)
{
    if (!cpu)
        return MMUSIM_EINVAL;
    int rc;
    if (!mmusim__smp_op_frame(cpu, &rc))
        return rc; /* ENOSTEP outside a step, ESTEP after a pending call of this step */
    if (cpu->sys->smp->stepping != cpu)
        return MMUSIM_ENOSTEP; /* a step of another CPU */
    struct cpu_smp *c = &cpu->smp;
    if (mmusim_cpu_context(cpu) != MMUSIM_CTX_TASK || c->preempt_count || c->irqs_off) {
        /* __might_sleep() in cond_resched(): "sleeping function called from invalid context". */
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "cond_resched in atomic context", 0);
        return MMUSIM_ECONTEXT;
    }
    /* should_resched(): only once the tick has ended the slice (need_resched),
     * in every preemption model (_cond_resched exists without CONFIG_PREEMPT). */
    if (!c->need_resched || !mmusim__smp_may_switch(cpu))
        return MMUSIM_OK;
    c->yield = 1; /* done by the engine at the task's next boundary (engine.c, advance) */
    return MMUSIM_PENDING;
}

void mmusim__smp_end_frame(struct mmusim_cpu *cpu, struct frame *f, enum mmusim_step r)
{
    if (f->ctx != MMUSIM_CTX_TASK) {
        if (r == MMUSIM_STEP_BLOCK)
            mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "scheduling while atomic: a handler blocked", 0);
        mmusim__smp_pop(cpu);
        return;
    }
    struct mmusim_task *t = f->task;
    if (r == MMUSIM_STEP_DONE)
        mmusim__smp_fire_task_end(cpu, t); /* do_exit */
    else if (t->state != MMUSIM_TASK_SLEEPING)
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, "task step blocked without sleeping on a wait queue", 0);
    switch_out(cpu, t);
    if (r == MMUSIM_STEP_DONE) {
        t->state = MMUSIM_TASK_DONE;
        t->done_at = cpu->cycles;
    } else if (t->state != MMUSIM_TASK_SLEEPING) {
        t->state = MMUSIM_TASK_RUNNABLE; /* the WARN above: it runs again */
        t->ready_at = cpu->cycles;
        mmusim__smp_runq_append(cpu, t);
    }
    mmusim__smp_pop(cpu);
    cpu->smp.current = NULL;
    mmusim__smp_enter_lazy_tlb(cpu); /* the idle task borrows the mm until the next switch */
    /* The switch to idle ends in finish_task_switch() too: interrupts on. */
    cpu->smp.irqs_off = 0;
}
