/*
 * mmusim — the engine (include/mmusim/smp.h): lowest-clock-first stepping of
 * the CPUs and the tournament tree that picks the next one.
 *
 * Each CPU's next event is: its clock, if its top frame can run; the time its
 * wait ends (once known) or the first interrupt it may take, if the top frame
 * waits; the first interrupt or runnable task, if it is idle. The engine
 * advances the CPU with the earliest event (ties: the lowest CPU number),
 * which makes a run a deterministic function of the configuration and seed.
 * See DESIGN.md "Time" for why units run atomically and why effects on other
 * CPUs are timed at the moment they happen. Contexts and interrupts are in
 * context.c, tasks and the run queues in task.c, reports in report.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "internal.h"
#include "mmusim/error.h"

/* The soft-lockup threshold, in seconds of simulated time (spun_too_long). */
#define SOFTLOCKUP_SECONDS 20u

/* ---- machine-wide state, reports ---- */

int mmusim__smp_machine_init(struct cpu_sys *m)
{
    m->smp = mmusim__calloc(1, sizeof(*m->smp));
    if (!m->smp)
        return MMUSIM_ENOMEM;
    m->smp->reports = mmusim__calloc(MAX_REPORTS, sizeof(*m->smp->reports));
    if (!m->smp->reports)
        return MMUSIM_ENOMEM;
    for (unsigned i = 0; i < m->ncpus; i++) {
        /* Booted CPUs idle on init_mm (swapper_pg_dir) in cpu_tlbstate's state 0:
         * not lazy, as no user mm was ever switched to (2.6.18 smp.c: { &init_mm, 0 }). */
        m->cpus[i].smp.tlbstate = TLBSTATE_BOOT;
        m->cpus[i].smp.active_mm = m->mmu->swapper_cr3;
    }
    m->smp->ack_frame = -1;
    int rc = mmusim__smp_flush_locks_init(m);
    if (rc != MMUSIM_OK)
        return rc;
    /* The tick period in whole cycles (cpu_mhz * 10^6 / HZ: 9,600,000 for core2 at 250 Hz). */
    m->smp->tick_period = (uint64_t)m->cfg->costs.cpu_mhz * 1000000u / mmusim_config_hz(m->cfg);
    if (m->smp->tick_period == 0)
        m->smp->tick_period = 1;
    m->smp->preempt = mmusim_config_preempt(m->cfg);
    m->smp->stall_limit = m->cfg->stall_steps ? m->cfg->stall_steps : UINT64_MAX;
    /* The soft-lockup watchdog's threshold: 20 s (2 * watchdog_thresh from 2.6.36; 2.6.18
     * and 2.6.32 used 10 s and 60 s, all far beyond any spin a sound workload makes). */
    m->smp->softlockup = (uint64_t)m->cfg->costs.cpu_mhz * 1000000u * SOFTLOCKUP_SECONDS;
    /*
     * Device interrupt handlers. Up to 2.6.34, handle_IRQ_event
     * (kernel/irq/handle.c) turns interrupts on before the handlers unless
     * the first action has IRQF_DISABLED (2.6.18 also accepts its old name
     * SA_INTERRUPT), and off again after them; from 2.6.35 (commit
     * e58aa3d2d0cc, "genirq: Run irq handlers with interrupts disabled")
     * they always run with interrupts off. A handler that turns them on
     * itself draws no warning up to 2.6.37; later kernels WARN_ONCE and turn
     * them off when it returns (commit b738a50a2026, "genirq: Warn when
     * handler enables interrupts"; 5.11's __handle_irq_event_percpu).
     */
    enum mmusim_era era = m->cfg->era;
    m->smp->irq_handlers_irqs_on = era == MMUSIM_ERA_2_6_18 || era == MMUSIM_ERA_2_6_32;
    m->smp->irq_enable_warn = era == MMUSIM_ERA_5_11;
    /* x86 spinlocks are byte locks without fairness up to 2.6.24 and ticket
     * locks from 2.6.25 (commit 314cdbefd1fd, "x86: FIFO ticket spinlocks");
     * 5.11's queued spinlocks also hand over in arrival order (sync.c). */
    m->smp->byte_locks = era == MMUSIM_ERA_2_6_18;
    return MMUSIM_OK;
}

void mmusim__smp_cpu_fini(struct mmusim_cpu *cpu)
{
    mmusim__free(cpu->smp.irqs);
    mmusim__free(cpu->smp.sources);
    mmusim__free(cpu->smp.softirqs);
    mmusim__free(cpu->ext);
    cpu->ext = NULL;
    memset(&cpu->smp, 0, sizeof(cpu->smp));
}

void mmusim__smp_machine_fini(struct cpu_sys *m)
{
    struct machine_smp *s = m->smp;
    if (!s)
        return;
    for (struct mmusim_task *t = s->tasks, *n; t; t = n) {
        n = t->next_all;
        mmusim__free(t);
    }
    for (struct mmusim_wait_queue *q = s->queues, *n; q; q = n) {
        n = q->next_all;
        mmusim__free(q);
    }
    for (struct mmusim_spinlock *l = s->locks, *n; l; l = n) {
        n = l->next_all;
        mmusim__free(l);
    }
    mmusim__free(s->mms);
    mmusim__free(s->reports);
    mmusim__free(s);
    m->smp = NULL;
}

void mmusim__smp_touch(struct mmusim_cpu *cpu)
{
    cpu->sys->smp->dirty |= 1ull << cpu->id;
}

/* ---- the engine ---- */

static uint64_t next_event(const struct mmusim_cpu *cpu);
static void tree_update(struct machine_smp *s, unsigned cpu);

int mmusim__smp_in_order(struct mmusim_cpu *cpu)
{
    struct cpu_sys *m = cpu->sys;
    struct machine_smp *s = m->smp;
    if (!s->running || m->ncpus == 1)
        return 1; /* nobody else to observe it */
    /* Bring the other CPUs' next events up to date (this step may have
     * posted an IPI or handed over a lock), then ask the tree for the
     * earliest of them with this CPU left out. */
    for (uint64_t d = s->dirty & ~(1ull << cpu->id); d; d &= d - 1) {
        unsigned i = mmusim__ctz64(d);
        s->next[i] = next_event(&m->cpus[i]);
        tree_update(s, i);
        s->dirty &= ~(1ull << i);
    }
    uint64_t mine = s->next[cpu->id];
    s->next[cpu->id] = NEVER;
    tree_update(s, cpu->id);
    unsigned w = s->win[1];
    uint64_t t = s->next[w];
    s->next[cpu->id] = mine;
    tree_update(s, cpu->id);
    return cpu->cycles < t || (cpu->cycles == t && cpu->id < w);
}

struct frame *mmusim__smp_op_frame(struct mmusim_cpu *cpu, int *rc)
{
    struct frame *f = mmusim__smp_top(cpu);
    if (!f || !cpu->sys->smp->running) {
        *rc = MMUSIM_ENOSTEP;
        return NULL;
    }
    /* A wait, a continuation under way, or the task's cond_resched yield (not a handler's business). */
    if (f->wait != WAIT_NONE || (f->nconts && !f->in_cont) || (f->ctx == MMUSIM_CTX_TASK && cpu->smp.yield)) {
        *rc = MMUSIM_ESTEP;
        return NULL;
    }
    *rc = MMUSIM_OK;
    return f;
}

int mmusim__smp_defer(struct mmusim_cpu *cpu, struct frame *f, enum order_op op)
{
    f->wait = WAIT_ORDER;
    f->op = op;
    mmusim__smp_touch(cpu);
    return MMUSIM_PENDING;
}

int mmusim__smp_cont_start(struct mmusim_cpu *cpu, mmusim__cont_fn fn, void *state)
{
    int rc;
    struct frame *f = mmusim__smp_op_frame(cpu, &rc);
    if (!f)
        return rc;
    if (f->nconts == MAX_CONT)
        return MMUSIM_EFULL;
    unsigned idx = cpu->smp.depth - 1, level = f->nconts++;
    int was_in = f->in_cont; /* 1: started by a running continuation, which goes on after this returns */
    f->conts[level].fn = fn;
    f->conts[level].state = state;
    f->in_cont = 1;
    rc = fn(cpu, state);
    f = &cpu->smp.stack[idx];
    f->in_cont = was_in;
    if (rc != MMUSIM_PENDING)
        f->nconts = level; /* over at once: nothing of it stays on the frame */
    return rc;
}

/* Whether f's wait is over once the clock reaches f->wait_until. */
static int wait_resolved(const struct mmusim_cpu *cpu, const struct frame *f)
{
    if (f->wait == WAIT_ACKS)
        return f->acks_left == 0;
    if (f->wait != WAIT_LOCK)
        return 0;
    return f->lock && f->lock->owner == (int)cpu->id && f->wait_until != NEVER;
}

/* Pending softirqs that run_softirq would start now: irq_exit runs them whenever !in_interrupt() with interrupts on. */
int mmusim__smp_softirq_runnable(const struct mmusim_cpu *cpu)
{
    return cpu->smp.nsoftirqs && !cpu->smp.irqs_off && !mmusim_cpu_in_interrupt(cpu);
}

/* When the first interrupt cpu may take arrives (its clock at the earliest); NEVER if none. */
static uint64_t first_irq(const struct mmusim_cpu *cpu)
{
    const struct cpu_smp *c = &cpu->smp;
    size_t i = mmusim__smp_first_takeable(cpu);
    return i < c->nirqs ? max64(c->irqs[i].at, cpu->cycles) : NEVER;
}

static uint64_t event_other_than_tick(const struct mmusim_cpu *cpu)
{
    const struct cpu_smp *c = &cpu->smp;
    if (c->depth) {
        const struct frame *f = &c->stack[c->depth - 1];
        /* A frame that can run (the common case, and the operation waiting
         * for its turn, which belongs to the step) goes at the clock. */
        if (f->wait == WAIT_NONE || f->wait == WAIT_ORDER)
            return cpu->cycles;
        if (mmusim__smp_softirq_runnable(cpu)) /* a spinning CPU runs softirqs too */
            return cpu->cycles;
        uint64_t irq = first_irq(cpu);
        uint64_t t = wait_resolved(cpu, f) ? max64(f->wait_until, cpu->cycles) : NEVER;
        if (t == NEVER && f->wait == WAIT_LOCK && f->wait_until == NEVER && cpu->sys->smp->byte_locks)
            t = mmusim__smp_lock_poll(cpu, f); /* a byte lock freed while this CPU was in a handler */
        return t < irq ? t : irq;
    }
    if (mmusim__smp_softirq_runnable(cpu))
        return cpu->cycles;
    uint64_t irq = first_irq(cpu);
    uint64_t r = mmusim__smp_runq_earliest(c);
    if (r != NEVER)
        r = max64(r, cpu->cycles);
    return r < irq ? r : irq;
}

/*
 * The tick counts only beside another event: a CPU whose only event would
 * be its tick (spinning on a lock nobody will release, waiting for an
 * acknowledgement not yet sent) takes no tick until something else is due,
 * then takes the ticks it missed in order, at their times. A tick cannot
 * end such a wait, so a machine with nothing but ticks left is done (or
 * deadlocked), not running forever.
 */
static uint64_t next_event(const struct mmusim_cpu *cpu)
{
    uint64_t e = event_other_than_tick(cpu);
    if (e > cpu->cycles && e != NEVER && cpu->smp.current && !cpu->smp.irqs_off) { /* at the clock, nothing is earlier */
        uint64_t tick = max64(cpu->smp.next_tick, cpu->cycles);
        if (tick < e)
            e = tick;
    }
    return e;
}

/* The wait of f is over; the frame ends if its step already returned DONE or BLOCK and no continuation is left. */
static void finish_wait(struct mmusim_cpu *cpu, struct frame *f)
{
    enum wait_kind k = f->wait;
    f->wait = WAIT_NONE;
    if (k == WAIT_LOCK && f->spin_irqs_on) {
        /* 2.6.18 __raw_spin_lock_flags: cli once the lock is seen free, then the locked decb succeeds. */
        f->spin_irqs_on = 0;
        cpu->smp.irqs_off = 1;
    }
    if (f->end_after_wait && !f->nconts) { /* a continuation still to run keeps the frame */
        enum mmusim_step r = (enum mmusim_step)f->end_after_wait;
        f->end_after_wait = 0;
        mmusim__smp_end_frame(cpu, f, r);
    }
}

/* Take the first interrupt that has arrived and may be taken; 1 if one was. */

/* The operation f deferred, at its turn; then, if it did not have to wait, the wait is over. */
static void run_ordered(struct mmusim_cpu *cpu, struct frame *f)
{
    f->wait = WAIT_NONE;
    switch (f->op) {
    case OP_LOCK:
        mmusim__smp_lock_acquire(cpu, f, f->lock);
        break;
    case OP_SEND:
        mmusim__smp_send_and_wait(cpu, f, f->order_mask, &f->order_req);
        break;
    case OP_WAKE: {
        unsigned n = mmusim__smp_wake_queue(cpu, f->order_queue);
        if (f->order_woken)
            *f->order_woken = n;
        break;
    }
    case OP_PTE:
        mmusim__pte_store_at_turn(cpu, f);
        break;
    }
    if (f->wait == WAIT_NONE)
        finish_wait(cpu, f);
}

/*
 * The task of f sleeps inside its continuations: it blocks, and keeps them
 * (and the step's end still to apply) until it runs again (task.c run_task).
 */
static void block_keeping_conts(struct mmusim_cpu *cpu, struct frame *f)
{
    struct mmusim_task *t = f->task;
    memcpy(t->conts, f->conts, f->nconts * sizeof(f->conts[0]));
    t->nconts = f->nconts;
    t->cont_end = f->end_after_wait;
    f->nconts = 0;
    f->end_after_wait = 0;
    mmusim__smp_end_frame(cpu, f, MMUSIM_STEP_BLOCK);
}

void mmusim__smp_out_of_memory(struct cpu_sys *m)
{
    struct machine_smp *s = m->smp;
    if (!s->running)
        return;
    if (!s->fail)
        s->fail = MMUSIM_ENOMEM;
    s->stop |= 2;
}

/*
 * The innermost continuation's next move. Once it is over, the one that
 * started it (if any) is called at the next move, and finds its operation
 * done; once the last is over, the frame ends if its step already returned
 * DONE or BLOCK.
 */
static void run_cont(struct mmusim_cpu *cpu, struct frame *f)
{
    unsigned idx = cpu->smp.depth - 1, level = f->nconts - 1;
    f->in_cont = 1;
    int rc = f->conts[level].fn(cpu, f->conts[level].state);
    f = &cpu->smp.stack[idx];
    f->in_cont = 0;
    if (rc == MMUSIM_PENDING) {
        if (f->ctx == MMUSIM_CTX_TASK && f->task->state == MMUSIM_TASK_SLEEPING && f->wait == WAIT_NONE)
            block_keeping_conts(cpu, f); /* the path sleeps (a kmap waiting for a free slot) */
        return;
    }
    /* The step that started the operation got PENDING and cannot get this
     * code: the run's caller does (the other errors are the operation's own,
     * reported where they arise). */
    if (MMUSIM_UNLIKELY(rc == MMUSIM_ENOMEM))
        mmusim__smp_out_of_memory(cpu->sys);
    f->nconts = level;
    if (!f->nconts && f->end_after_wait && f->wait == WAIT_NONE) {
        enum mmusim_step r = (enum mmusim_step)f->end_after_wait;
        f->end_after_wait = 0;
        mmusim__smp_end_frame(cpu, f, r);
    }
}

static void run_step(struct mmusim_cpu *cpu, struct frame *f)
{
    if (f->nconts) {
        run_cont(cpu, f);
        return;
    }
    unsigned idx = cpu->smp.depth - 1;
    struct machine_smp *s = cpu->sys->smp;
    s->stepping = cpu;
    enum mmusim_step r = f->step(cpu, f->arg);
    s->stepping = NULL;
    f = &cpu->smp.stack[idx];
    if (MMUSIM_UNLIKELY(f->nconts != 0) && f->wait == WAIT_NONE && f->ctx == MMUSIM_CTX_TASK &&
        f->task->state == MMUSIM_TASK_SLEEPING) {
        /* The step's continuation slept in its first run, inside the call (a kmap
         * that found no free slot at once): the task blocks now, keeping the
         * continuation, as run_cont does when it sleeps later. A step that
         * returned MORE or BLOCK is called again once the path is over; DONE ends
         * the task then. */
        f->end_after_wait = r == MMUSIM_STEP_DONE ? (int)r : 0;
        block_keeping_conts(cpu, f);
        return;
    }
    if (MMUSIM_LIKELY(r == MMUSIM_STEP_MORE)) {
        if (MMUSIM_LIKELY(f->ctx != MMUSIM_CTX_TASK || f->task->state != MMUSIM_TASK_SLEEPING))
            return;
        /* The step slept and asked to be called again: the kernel's task that set
         * TASK_UNINTERRUPTIBLE and went on without schedule(). Guessing which it
         * meant would hide a bug in the workload, so the run stops with an error;
         * the task is left asleep (as BLOCK), so the machine stays consistent and a
         * later run goes on from there (docs/smp.md, Liveness). */
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "step returned MORE after going to sleep (must return BLOCK)", 0);
        s->fail = MMUSIM_ENOBLOCK;
        s->stop |= 2;
        r = MMUSIM_STEP_BLOCK;
    }
    if (f->wait != WAIT_NONE || f->nconts) {
        f->end_after_wait = (int)r; /* e.g. a task whose last act is a shootdown: it ends once acknowledged */
        return;
    }
    mmusim__smp_end_frame(cpu, f, r);
}

/* Advance cpu to its event at time t and do one thing there. */
static void advance(struct mmusim_cpu *cpu, uint64_t t, uint64_t *steps)
{
    struct cpu_smp *c = &cpu->smp;
    struct frame *f = c->depth ? &c->stack[c->depth - 1] : NULL;
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
    if (f && f->wait == WAIT_ORDER) {
        run_ordered(cpu, f);
        return;
    }
    if (f && f->wait != WAIT_NONE && wait_resolved(cpu, f) && cpu->cycles >= f->wait_until) {
        finish_wait(cpu, f);
        return;
    }
    if (f && f->wait == WAIT_LOCK && f->wait_until == NEVER && cpu->sys->smp->byte_locks &&
        mmusim__smp_lock_poll(cpu, f) <= cpu->cycles) {
        mmusim__smp_lock_repoll(cpu, f); /* the spin loop polls again, back from a handler */
        return;
    }
    /* Pending interrupts, a due tick or softirqs: the calls look closer (the common case has none). */
    if ((c->nirqs || (c->next_tick <= cpu->cycles && c->current)) && mmusim__smp_take_interrupt(cpu))
        return;
    if (c->nsoftirqs && mmusim__smp_run_softirq(cpu))
        return;
    if (!f) {
        (void)mmusim__smp_pick(cpu);
        return;
    }
    if (f->wait == WAIT_NONE) {
        if (MMUSIM_UNLIKELY(c->yield | c->need_resched) &&
            (c->yield || cpu->sys->smp->preempt == MMUSIM_PREEMPT_FULL) && c->depth == 1) {
            /* The task's own boundary: a cond_resched yield (its step has returned), or a
             * tick that ended the slice (preempt=full: irq return, or the first boundary after
             * preempt_enable or local_irq_enable). The switch is in global time order, as
             * this CPU is the earliest. A yield that may not happen now is dropped. */
            int yield = c->yield;
            c->yield = 0;
            if (mmusim__smp_may_switch(cpu)) {
                if (yield)
                    cpu->stats.yields++;
                else
                    cpu->stats.preemptions++;
                mmusim__smp_preempt(cpu);
                return;
            }
        }
        (*steps)++;
        run_step(cpu, f);
    }
}

/*
 * Picking the CPU with the earliest event is a tournament over MMUSIM_MAX_CPUS (64) leaves:
 * a changed CPU replays its six matches up to the root, so a step costs the
 * same with 64 CPUs as with 2. A tie goes to the left, lower-numbered, CPU.
 */
_Static_assert(MMUSIM_MAX_CPUS == 64, "the event tree, the dirty mask and CPU masks are 64-bit words");

static void tree_update(struct machine_smp *s, unsigned cpu)
{
    for (unsigned n = (MMUSIM_MAX_CPUS + cpu) >> 1; n >= 1; n >>= 1) {
        uint8_t a = s->win[2 * n], b = s->win[2 * n + 1];
        s->win[n] = s->next[b] < s->next[a] ? b : a;
    }
}

static int all_done(const struct cpu_sys *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        const struct cpu_smp *c = &m->cpus[i].smp;
        if (c->depth || !mmusim__smp_runq_empty(c) || c->nirqs || c->nsoftirqs)
            return 0;
    }
    for (const struct mmusim_task *t = m->smp->tasks; t; t = t->next_all)
        if (t->state != MMUSIM_TASK_DONE)
            return 0;
    return 1;
}

/*
 * A CPU spinning on a lock that is never handed over (its owner finished
 * holding it, or two CPUs wait for each other's lock), or on the
 * acknowledgements of a flush a target never takes (its interrupts left
 * off), or on acknowledgements due at a clock far ahead (a target that
 * spent 10^18 cycles), still takes its ticks, so its clock advances and
 * neither the stall count nor the deadlock test (no event left) ends the
 * run for as long as the spin lasts. The kernel's soft-lockup watchdog is
 * what notices: a spin longer than the threshold is its BUG.
 */
static int spun_too_long(const struct mmusim_cpu *cpu)
{
    const struct cpu_smp *c = &cpu->smp;
    if (!c->depth)
        return 0;
    const struct frame *f = &c->stack[c->depth - 1];
    /* Whether the end of the spin is known yet or not: one known to lie beyond the
     * threshold (a target whose clock is far ahead acknowledges then) is as long. */
    return (f->wait == WAIT_LOCK || f->wait == WAIT_ACKS) && cpu->cycles >= f->wait_from &&
           cpu->cycles - f->wait_from > cpu->sys->smp->softlockup;
}

int mmusim__machine_run(struct cpu_sys *m, uint64_t cycle_limit, struct mmusim_run_result *out)
{
    if (!m)
        return MMUSIM_EINVAL;
    struct machine_smp *s = m->smp;
    if (s->running)
        return MMUSIM_EINRUN;
    s->running = 1;
    s->stop = 0;
    s->fail = 0;
    s->sealed = 1; /* no hooks or extension areas once the machine has run */
    uint64_t steps = 0;
    int stalled = 0, rc = MMUSIM_OK;
    /* Liveness: how many actions in a row found the earliest event at last_t. Every
     * action but a stuck one charges cycles (a step's operations, an interrupt's entry,
     * a switch), so a long run of them at one time is a step looping without spending
     * (a compare and an increment per action: nothing next to the tree's work). */
    uint64_t last_t = NEVER, same = 0;
    s->dirty = m->ncpus == MMUSIM_MAX_CPUS ? ~0ull : (1ull << m->ncpus) - 1; /* anything may have changed between runs */
    for (unsigned i = 0; i < MMUSIM_MAX_CPUS; i++) { /* CPUs that do not exist never win */
        s->next[i] = NEVER;
        s->win[MMUSIM_MAX_CPUS + i] = (uint8_t)i;
    }
    for (unsigned n = MMUSIM_MAX_CPUS - 1; n >= 1; n--)
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
        if (bt != last_t) {
            last_t = bt;
            same = 0;
        } else if (MMUSIM_UNLIKELY(++same >= s->stall_limit)) {
            /* The soft lockup detector's "BUG: soft lockup - CPU#n stuck": the CPU
             * that keeps winning at this time has run stall_steps actions without
             * its clock moving. Nothing is undone: its frame is as the last call left
             * it, so the machine can be inspected or destroyed. */
            mmusim__smp_report(&m->cpus[best], MMUSIM_REPORT_BUG, "soft lockup: stall_steps actions without the clock advancing", 0);
            rc = MMUSIM_ESTALL;
            break;
        }
        advance(&m->cpus[best], bt, &steps);
        s->dirty |= 1ull << best;
        if (MMUSIM_UNLIKELY(spun_too_long(&m->cpus[best]))) {
            mmusim__smp_report(&m->cpus[best], MMUSIM_REPORT_BUG, "soft lockup: spinning on a lock or on flush acknowledgements past the watchdog threshold", 0);
            rc = MMUSIM_ESTALL;
            break;
        }
        if (s->stop) /* a BUG under MMUSIM_REPORT_STOP_ON_BUG (report.c), or a liveness error: stop with this step done */
            break;
    }
    if (s->fail)
        rc = s->fail;
    s->running = 0;
    if (out) {
        memset(out, 0, sizeof(*out));
        out->steps = steps;
        for (unsigned i = 0; i < m->ncpus; i++)
            out->end_cycle = max64(out->end_cycle, m->cpus[i].cycles);
        out->finished = all_done(m);
        out->deadlock = stalled && !out->finished;
        out->stopped_on_bug = s->stop & 1; /* bit 1: the liveness error alone */
        out->bug_index = (s->stop & 1) ? s->stop_index : 0;
    }
    s->stop = 0;
    s->fail = 0;
    return rc;
}
