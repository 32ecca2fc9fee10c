/*
 * mmusim — spinlocks and wait queues in simulated time (include/mmusim/smp.h).
 *
 * Spinlocks are ticket locks (Linux x86 since 2.6.25): waiters get the lock in
 * the order they started spinning. A CPU that finds the lock held is not
 * called again until it owns it; the cycles in between are its spin. Because
 * a step runs as one unit, a CPU can reach spin_lock at a simulated time
 * before another CPU's already-executed release: it then spins until that
 * release (DESIGN.md: "a lock released at cycle T makes a later acquirer spin
 * until T"). Every hand-over to another CPU costs lock_handoff, the lock's
 * cache line moving.
 *
 * In 2.6.18 they are byte locks (include/asm-i386/spinlock.h: "lock; decb",
 * then polling the byte until it is positive, and again; "We make no
 * fairness assumptions"). Nobody queues: when the lock is released, the
 * spinner whose next attempt succeeds first gets it. mmusim's rule,
 * deterministic: every CPU polling at the release (its spinning frame on
 * top of its stack, not in a handler) sees the line lock_handoff later, so
 * the first to try is the one that started polling first, counting from
 * the release (max(spin start, release)); ties, that is every CPU spinning
 * when the release happens, go to the lowest CPU number, the engine's rule
 * for every tie in simulated time (which core wins the line in hardware is
 * not specified). Until that hand-over completes the lock is free, so a CPU
 * whose own attempt would succeed earlier takes it instead (the releaser
 * itself, whose line is local, if it locks again within lock_handoff: the
 * unfairness that starved CPUs and made x86 move to ticket locks), and the
 * chosen spinner goes back to spinning. A spinner in an interrupt handler is
 * not polling: it tries again when the handler returns.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "internal.h"
#include "mmusim/error.h"

int mmusim__spinlock_create(struct cpu_sys *m, mmusim_spinlock **out)
{
    if (!m || !out)
        return MMUSIM_EINVAL;
    struct mmusim_spinlock *l = mmusim__calloc(1, sizeof(*l));
    if (!l)
        return MMUSIM_ENOMEM;
    l->sys = m;
    l->owner = -1;
    l->last_owner = -1;
    l->next_all = m->smp->locks;
    m->smp->locks = l;
    *out = l;
    return MMUSIM_OK;
}

static void charge_lock_op(struct mmusim_cpu *cpu)
{
    uint64_t c = cpu->sys->cfg->costs.lock_op;
    cpu->cycles += c;
    cpu->stats.lock_cycles += c;
}

/* Whether f spins on l, or waits for its turn to take it. */
static int frame_waits_on(const struct frame *f, const struct mmusim_spinlock *l)
{
    return f->lock == l && (f->wait == WAIT_LOCK || (f->wait == WAIT_ORDER && f->op == OP_LOCK));
}

/* The frame of cpu spinning on l, or waiting for its turn to take it; NULL if none. */
static struct frame *spinning_frame(struct mmusim_cpu *cpu, const struct mmusim_spinlock *l)
{
    for (unsigned i = cpu->smp.depth; i-- > 0;)
        if (frame_waits_on(&cpu->smp.stack[i], l))
            return &cpu->smp.stack[i];
    return NULL;
}

/* The frame of cpu to which l is being handed over (spinning, its wait's end known); NULL if none. */
static struct frame *handover_frame(struct mmusim_cpu *cpu, const struct mmusim_spinlock *l)
{
    for (unsigned i = cpu->smp.depth; i-- > 0;) {
        struct frame *f = &cpu->smp.stack[i];
        if (f->lock == l && f->wait == WAIT_LOCK && f->wait_until != NEVER)
            return f;
    }
    return NULL;
}

/* f starts spinning on l at cpu's clock, its end unknown (NEVER) or at until. */
static void start_spin(struct mmusim_cpu *cpu, struct frame *f, uint64_t until)
{
    f->wait = WAIT_LOCK;
    f->wait_from = cpu->cycles;
    f->wait_until = until;
    if (f->spin_irqs_on)
        cpu->smp.irqs_off = 0; /* 2.6.18 __raw_spin_lock_flags: sti while polling */
}

/* ---- byte locks (2.6.18) ---- */

/* When cpu's locked decb on the free byte lock l, tried at `at`, succeeds: after
 * the release, and lock_handoff later unless the line is its own (it released last). */
static uint64_t byte_try(const struct mmusim_cpu *cpu, const struct mmusim_spinlock *l, uint64_t at)
{
    uint64_t t = max64(at, l->free_at);
    if (l->last_owner >= 0 && l->last_owner != (int)cpu->id)
        t += cpu->sys->cfg->costs.lock_handoff;
    return t;
}

/*
 * Whether cpu, trying at its clock, takes l from the spinner it is being
 * handed to (*wf on CPU *w, set when there is one): the lock is still free
 * and cpu's attempt succeeds first (ties: the lower CPU number). A frame of
 * cpu itself that was being handed the lock is not polling (cpu runs above
 * it): the caller takes it.
 */
static int byte_may_take(const struct mmusim_cpu *cpu, const struct mmusim_spinlock *l, struct mmusim_cpu **w,
                         struct frame **wf)
{
    *w = NULL;
    *wf = NULL;
    if (l->owner < 0)
        return 1;
    struct mmusim_cpu *o = &cpu->sys->cpus[l->owner];
    struct frame *of = handover_frame(o, l);
    if (!of)
        return 0; /* held */
    *w = o;
    *wf = of;
    if (o == cpu)
        return 1;
    uint64_t a = byte_try(cpu, l, cpu->cycles);
    return a < of->wait_until || (a == of->wait_until && cpu->id < o->id);
}

/* A byte-lock attempt by f (cpu's top frame) at cpu's turn; repoll: f was already spinning. */
static void byte_acquire(struct mmusim_cpu *cpu, struct frame *f, struct mmusim_spinlock *l, int repoll)
{
    f->lock = l;
    struct mmusim_cpu *w;
    struct frame *wf;
    if (!byte_may_take(cpu, l, &w, &wf)) {
        if (!repoll) {
            cpu->stats.lock_contended++;
            start_spin(cpu, f, NEVER);
        }
        return;
    }
    if (wf) { /* the lock was being handed to wf: it spins on */
        wf->wait_until = NEVER;
        if (w != cpu)
            mmusim__smp_touch(w);
    }
    l->owner = (int)cpu->id;
    uint64_t a = byte_try(cpu, l, cpu->cycles);
    if (repoll) {
        f->wait_until = a; /* the spin ends with the attempt */
        return;
    }
    if (l->free_at > cpu->cycles) {
        /* Released later in simulated time than now: held now, spin until the release. */
        cpu->stats.lock_contended++;
        start_spin(cpu, f, a);
        return;
    }
    /* Free: taken now, lock_handoff more if the line was in another CPU's cache. */
    f->spin_irqs_on = 0;
    cpu->stats.lock_cycles += a - cpu->cycles;
    cpu->cycles = a;
}

/* The acquisition itself, at the caller's turn in global time (engine.c). */
void mmusim__smp_lock_acquire(struct mmusim_cpu *cpu, struct frame *f, struct mmusim_spinlock *l)
{
    const struct mmusim_costs *k = &cpu->sys->cfg->costs;
    f->lock = l;
    if (cpu->sys->smp->byte_locks) {
        byte_acquire(cpu, f, l, 0);
        return;
    }
    if (l->owner < 0) {
        l->owner = (int)cpu->id;
        if (l->free_at > cpu->cycles) {
            /* Released later in simulated time than now: it was held then. */
            cpu->stats.lock_contended++;
            f->wait = WAIT_LOCK;
            f->wait_from = cpu->cycles;
            f->wait_until = l->free_at + k->lock_handoff;
        } else if (l->last_owner >= 0 && l->last_owner != (int)cpu->id) {
            cpu->cycles += k->lock_handoff; /* the line was in another CPU's cache */
            cpu->stats.lock_cycles += k->lock_handoff;
        }
        return;
    }
    cpu->stats.lock_contended++;
    l->waiters[l->nwaiters++] = cpu->id; /* at most one entry per CPU: the caller checked */
    f->wait = WAIT_LOCK;
    f->wait_from = cpu->cycles;
    f->wait_until = NEVER; /* known at the release */
}

int mmusim_spin_lock(mmusim_cpu *cpu, mmusim_spinlock *l)
{
    if (!cpu || !l || l->sys != cpu->sys)
        return MMUSIM_EINVAL;
    int rc;
    struct frame *f = mmusim__smp_op_frame(cpu, &rc); /* only a step can spin */
    if (!f)
        return rc;
    int recursion;
    if (cpu->sys->smp->byte_locks) {
        /* A byte lock this CPU holds. One that a context it interrupted spins
         * on is no deadlock: that spinner holds nothing, and tries again when
         * this context has taken, used and released the lock. */
        recursion = l->owner == (int)cpu->id && !handover_frame(cpu, l);
    } else {
        /* The CPU holds it, or a context it interrupted has its ticket: in
         * the kernel this CPU would spin forever. */
        recursion = l->owner == (int)cpu->id || spinning_frame(cpu, l);
    }
    if (recursion) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spinlock recursion: lock already held or awaited by this CPU", 0);
        return MMUSIM_EDEADLK;
    }
    mmusim__preempt_inc(cpu); /* spin_lock: preempt_disable() first */
    charge_lock_op(cpu);
    cpu->stats.lock_acquires++;
    f->lock = l;
    if (!mmusim__smp_in_order(cpu))
        return mmusim__smp_defer(cpu, f, OP_LOCK);
    mmusim__smp_lock_acquire(cpu, f, l);
    return f->wait == WAIT_NONE ? MMUSIM_OK : MMUSIM_PENDING;
}

int mmusim_spin_lock_irqsave(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned *flags)
{
    if (!cpu || !flags)
        return MMUSIM_EINVAL;
    unsigned saved = (unsigned)cpu->smp.irqs_off;
    cpu->smp.irqs_off = 1;
    /*
     * 2.6.18: _spin_lock_irqsave spins in __raw_spin_lock_flags
     * (include/asm-i386/spinlock.h), which turns interrupts back on while it
     * polls if the saved flags had them on, and off again before each
     * attempt. From 2.6.25 the ticket lock's __raw_spin_lock_flags ignores
     * the flags (arch/x86/include/asm/spinlock.h): it spins with interrupts
     * off. The spin itself sets them (start_spin, finish_wait in engine.c).
     */
    struct frame *f = mmusim__smp_top(cpu);
    int reenable = f && !saved && cpu->sys->smp->byte_locks && f->wait == WAIT_NONE;
    if (reenable)
        f->spin_irqs_on = 1;
    int rc = mmusim_spin_lock(cpu, l);
    if (reenable && rc != MMUSIM_PENDING)
        f->spin_irqs_on = 0; /* taken at once, or refused: no spin */
    if (mmusim_is_error(rc)) {
        cpu->smp.irqs_off = (int)saved;
        return rc;
    }
    *flags = saved;
    return rc;
}

/*
 * A byte lock released at cpu's clock R ("movb $1"): free, and the CPU
 * polling on it whose attempt succeeds first is handed it: among the CPUs
 * whose top frame spins on it, the least max(spin start, R) + lock_handoff,
 * ties to the lowest CPU number. A spinner in a handler is not polling (it
 * tries when it returns, engine.c). The hand-over can still be taken by an
 * earlier attempt (byte_acquire).
 */
static void byte_release(struct mmusim_cpu *cpu, struct mmusim_spinlock *l)
{
    l->owner = -1;
    l->free_at = cpu->cycles;
    l->last_owner = (int)cpu->id;
    struct frame *best = NULL;
    unsigned best_cpu = 0;
    uint64_t best_at = NEVER;
    for (unsigned i = 0; i < cpu->sys->ncpus; i++) {
        struct mmusim_cpu *c = &cpu->sys->cpus[i];
        struct frame *f = mmusim__smp_top(c);
        if (!f || f->wait != WAIT_LOCK || f->lock != l || f->wait_until != NEVER)
            continue;
        uint64_t at = byte_try(c, l, f->wait_from);
        if (at < best_at) { /* in CPU order: a tie keeps the lower number */
            best = f;
            best_cpu = i;
            best_at = at;
        }
    }
    if (best) {
        l->owner = (int)best_cpu;
        best->wait_until = best_at;
        mmusim__smp_touch(&cpu->sys->cpus[best_cpu]);
    }
}

void mmusim__smp_lock_interrupted(struct mmusim_cpu *cpu, struct frame *f)
{
    struct mmusim_spinlock *l = f->lock;
    if (f->wait_until == NEVER || l->owner != (int)cpu->id)
        return; /* not being handed the lock: nothing to undo */
    f->wait_until = NEVER;
    l->owner = -1; /* free since its release (free_at) */
    for (unsigned i = 0; i < cpu->sys->ncpus; i++) {
        struct mmusim_cpu *c = &cpu->sys->cpus[i];
        const struct frame *t = mmusim__smp_top(c);
        if (c != cpu && t && t->wait == WAIT_LOCK && t->lock == l)
            mmusim__smp_touch(c);
    }
}

uint64_t mmusim__smp_lock_poll(const struct mmusim_cpu *cpu, const struct frame *f)
{
    struct mmusim_cpu *w;
    struct frame *wf;
    return byte_may_take(cpu, f->lock, &w, &wf) ? cpu->cycles : NEVER;
}

void mmusim__smp_lock_repoll(struct mmusim_cpu *cpu, struct frame *f)
{
    byte_acquire(cpu, f, f->lock, 1);
}

int mmusim_spin_unlock(mmusim_cpu *cpu, mmusim_spinlock *l)
{
    if (!cpu || !l || l->sys != cpu->sys)
        return MMUSIM_EINVAL;
    /* A lock handed over to a CPU still spinning for it is not its own yet (spin_is_owner). */
    if (!mmusim_spin_is_owner(cpu, l)) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spin_unlock of a lock this CPU does not hold", 0);
        return MMUSIM_EINVAL;
    }
    charge_lock_op(cpu);
    if (cpu->smp.preempt_count & cpu->sys->layout->preempt_bits.preempt_mask)
        cpu->smp.preempt_count--;
    if (cpu->sys->smp->byte_locks) {
        byte_release(cpu, l);
        return MMUSIM_OK;
    }
    if (l->nwaiters) {
        unsigned next = l->waiters[0];
        memmove(&l->waiters[0], &l->waiters[1], (l->nwaiters - 1) * sizeof(l->waiters[0]));
        l->nwaiters--;
        l->owner = (int)next;
        struct frame *f = spinning_frame(&cpu->sys->cpus[next], l);
        if (f) {
            uint64_t from = f->wait_from > cpu->cycles ? f->wait_from : cpu->cycles;
            f->wait_until = from + cpu->sys->cfg->costs.lock_handoff;
            mmusim__smp_touch(&cpu->sys->cpus[next]);
        }
        return MMUSIM_OK;
    }
    l->owner = -1;
    l->free_at = cpu->cycles;
    l->last_owner = (int)cpu->id;
    return MMUSIM_OK;
}

int mmusim_spin_unlock_irqrestore(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned flags)
{
    int rc = mmusim_spin_unlock(cpu, l);
    if (rc == MMUSIM_OK) {
        cpu->smp.irqs_off = flags != 0;
        mmusim__smp_touch(cpu);
    }
    return rc;
}

int mmusim_spin_is_owner(const mmusim_cpu *cpu, const mmusim_spinlock *l)
{
    /* A waiter the lock was handed to holds it only once its spin is over. (A
     * context that a byte lock's holder interrupted may spin on it too.) */
    if (!cpu || !l || l->owner != (int)cpu->id)
        return 0;
    for (unsigned i = 0; i < cpu->smp.depth; i++) {
        const struct frame *f = &cpu->smp.stack[i];
        if (frame_waits_on(f, l) && (!cpu->sys->smp->byte_locks || f->wait_until != NEVER))
            return 0;
    }
    return 1;
}

/* ---- wait queues ---- */

int mmusim__wait_queue_create(struct cpu_sys *m, mmusim_wait_queue **out)
{
    if (!m || !out)
        return MMUSIM_EINVAL;
    struct mmusim_wait_queue *q = mmusim__calloc(1, sizeof(*q));
    if (!q)
        return MMUSIM_ENOMEM;
    q->sys = m;
    q->next_all = m->smp->queues;
    m->smp->queues = q;
    *out = q;
    return MMUSIM_OK;
}

int mmusim_wait_queue_sleep(mmusim_cpu *cpu, mmusim_wait_queue *q)
{
    if (!cpu || !q || q->sys != cpu->sys)
        return MMUSIM_EINVAL;
    int rc;
    struct frame *f = mmusim__smp_op_frame(cpu, &rc);
    if (!f)
        return rc;
    if (f->ctx != MMUSIM_CTX_TASK) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "sleeping outside task context", 0);
        return MMUSIM_ECONTEXT;
    }
    if (cpu->smp.preempt_count & cpu->sys->layout->preempt_bits.preempt_mask) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "scheduling while atomic: sleeping with preemption disabled", 0);
        return MMUSIM_ECONTEXT;
    }
    /* Going to sleep needs no turn in global time: a wake-up, which does
     * wait for its turn, passes over a sleeper that went to sleep later in
     * simulated time than the wake-up (mmusim__smp_wake_queue). */
    struct mmusim_task *t = f->task;
    t->state = MMUSIM_TASK_SLEEPING;
    t->slept_at = cpu->cycles;
    t->next_wait = NULL;
    if (q->tail)
        q->tail->next_wait = t;
    else
        q->head = t;
    q->tail = t;
    return MMUSIM_PENDING;
}

unsigned mmusim__smp_wake_queue(struct mmusim_cpu *cpu, struct mmusim_wait_queue *q)
{
    unsigned n = 0;
    struct mmusim_task *t = q->head, *keep_head = NULL, *keep_tail = NULL;
    while (t) {
        struct mmusim_task *next = t->next_wait;
        t->next_wait = NULL;
        if (t->slept_at > cpu->cycles) { /* asleep only later in simulated time */
            if (keep_tail)
                keep_tail->next_wait = t;
            else
                keep_head = t;
            keep_tail = t;
        } else {
            mmusim__smp_wake_task(cpu, t);
            n++;
        }
        t = next;
    }
    q->head = keep_head;
    q->tail = keep_tail;
    return n;
}

int mmusim_wake_up(mmusim_cpu *cpu, mmusim_wait_queue *q, unsigned *woken)
{
    if (!cpu || !q || q->sys != cpu->sys)
        return MMUSIM_EINVAL;
    if (cpu->sys->smp->running) {
        int rc;
        struct frame *f = mmusim__smp_op_frame(cpu, &rc);
        if (!f)
            return rc;
        if (!mmusim__smp_in_order(cpu)) {
            f->order_queue = q;
            f->order_woken = woken;
            return mmusim__smp_defer(cpu, f, OP_WAKE);
        }
    }
    unsigned n = mmusim__smp_wake_queue(cpu, q);
    if (woken)
        *woken = n;
    return MMUSIM_OK;
}

int mmusim_wait_queue_active(const mmusim_wait_queue *q)
{
    return q && q->head != NULL;
}
