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
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"

int mmusim__spinlock_create(struct cpu_sys *m, mmusim_spinlock **out)
{
    if (!m || !out)
        return MMUSIM_EINVAL;
    struct mmusim_spinlock *l = calloc(1, sizeof(*l));
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

/* The acquisition itself, at the caller's turn in global time (engine.c). */
void mmusim__smp_lock_acquire(struct mmusim_cpu *cpu, struct frame *f, struct mmusim_spinlock *l)
{
    const struct mmusim_costs *k = &cpu->sys->cfg->costs;
    f->lock = l;
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
    if (l->owner == (int)cpu->id || spinning_frame(cpu, l)) {
        /* The CPU holds it, or a context it interrupted is spinning on it:
         * in the kernel this CPU would spin forever. */
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spinlock recursion: lock already held or awaited by this CPU", 0);
        return MMUSIM_EDEADLK;
    }
    cpu->smp.preempt_count++; /* spin_lock: preempt_disable() first */
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
    int rc = mmusim_spin_lock(cpu, l);
    if (mmusim_is_error(rc)) {
        cpu->smp.irqs_off = (int)saved;
        return rc;
    }
    *flags = saved;
    return rc;
}

int mmusim_spin_unlock(mmusim_cpu *cpu, mmusim_spinlock *l)
{
    if (!cpu || !l || l->sys != cpu->sys)
        return MMUSIM_EINVAL;
    if (l->owner != (int)cpu->id) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spin_unlock of a lock this CPU does not hold", 0);
        return MMUSIM_EINVAL;
    }
    charge_lock_op(cpu);
    if (cpu->smp.preempt_count & cpu->sys->layout->preempt_bits.preempt_mask)
        cpu->smp.preempt_count--;
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
    /* A waiter the lock was handed to holds it only once its spin is over. */
    if (!cpu || !l || l->owner != (int)cpu->id)
        return 0;
    for (unsigned i = 0; i < cpu->smp.depth; i++)
        if (frame_waits_on(&cpu->smp.stack[i], l))
            return 0;
    return 1;
}

/* ---- wait queues ---- */

int mmusim__wait_queue_create(struct cpu_sys *m, mmusim_wait_queue **out)
{
    if (!m || !out)
        return MMUSIM_EINVAL;
    struct mmusim_wait_queue *q = calloc(1, sizeof(*q));
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
