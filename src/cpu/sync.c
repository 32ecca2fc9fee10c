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

int mmusim_spin_lock(mmusim_cpu *cpu, mmusim_spinlock *l)
{
    if (!cpu || !l || l->sys != cpu->sys)
        return MMUSIM_EINVAL;
    struct frame *f = mmusim__smp_top(cpu);
    if (!f || !cpu->sys->smp->running)
        return MMUSIM_EBUSY; /* only a step can spin */
    if (l->owner == (int)cpu->id) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spinlock recursion: lock already held by this CPU");
        return MMUSIM_EBUSY;
    }
    for (unsigned i = 0; i < l->nwaiters; i++)
        if (l->waiters[i] == cpu->id) {
            mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spinlock recursion: this CPU is already spinning on it");
            return MMUSIM_EBUSY;
        }
    cpu->smp.preempt_count++; /* spin_lock: preempt_disable() first */
    charge_lock_op(cpu);
    cpu->stats.lock_acquires++;
    if (l->owner < 0) {
        l->owner = (int)cpu->id;
        if (l->free_at > cpu->cycles) {
            /* Released later in simulated time than now: it was held then. */
            cpu->stats.lock_contended++;
            f->wait = WAIT_LOCK;
            f->lock = l;
            f->wait_from = cpu->cycles;
            f->wait_until = l->free_at + cpu->sys->cfg->costs.lock_handoff;
        } else if (l->last_owner >= 0 && l->last_owner != (int)cpu->id) {
            uint64_t c = cpu->sys->cfg->costs.lock_handoff; /* the line was in another CPU's cache */
            cpu->cycles += c;
            cpu->stats.lock_cycles += c;
        }
        return MMUSIM_OK;
    }
    cpu->stats.lock_contended++;
    l->waiters[l->nwaiters++] = cpu->id; /* at most one entry per CPU: checked above */
    f->wait = WAIT_LOCK;
    f->lock = l;
    f->wait_from = cpu->cycles;
    f->wait_until = NEVER; /* known at the release */
    return MMUSIM_OK;
}

int mmusim_spin_lock_irqsave(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned *flags)
{
    if (!cpu || !flags)
        return MMUSIM_EINVAL;
    unsigned saved = (unsigned)cpu->smp.irqs_off;
    cpu->smp.irqs_off = 1;
    int rc = mmusim_spin_lock(cpu, l);
    if (rc != MMUSIM_OK) {
        cpu->smp.irqs_off = (int)saved;
        return rc;
    }
    *flags = saved;
    return MMUSIM_OK;
}

/* The frame of cpu spinning on l. */
static struct frame *spinning_frame(struct mmusim_cpu *cpu, const struct mmusim_spinlock *l)
{
    for (unsigned i = cpu->smp.depth; i-- > 0;)
        if (cpu->smp.stack[i].wait == WAIT_LOCK && cpu->smp.stack[i].lock == l)
            return &cpu->smp.stack[i];
    return NULL;
}

int mmusim_spin_unlock(mmusim_cpu *cpu, mmusim_spinlock *l)
{
    if (!cpu || !l || l->sys != cpu->sys)
        return MMUSIM_EINVAL;
    if (l->owner != (int)cpu->id) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "spin_unlock of a lock this CPU does not hold");
        return MMUSIM_EINVAL;
    }
    charge_lock_op(cpu);
    if (cpu->smp.preempt_count & MMUSIM_PREEMPT_MASK)
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
    return cpu && l && l->owner == (int)cpu->id;
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
    struct frame *f = mmusim__smp_top(cpu);
    if (!f || f->ctx != MMUSIM_CTX_TASK) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "sleeping outside task context");
        return MMUSIM_EBUSY;
    }
    if (cpu->smp.preempt_count & MMUSIM_PREEMPT_MASK) {
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "scheduling while atomic: sleeping with preemption disabled");
        return MMUSIM_EBUSY;
    }
    struct mmusim_task *t = f->task;
    t->state = MMUSIM_TASK_SLEEPING;
    t->next_wait = NULL;
    if (q->tail)
        q->tail->next_wait = t;
    else
        q->head = t;
    q->tail = t;
    return MMUSIM_OK;
}

unsigned mmusim_wake_up(mmusim_cpu *cpu, mmusim_wait_queue *q)
{
    if (!cpu || !q || q->sys != cpu->sys)
        return 0;
    unsigned n = 0;
    struct mmusim_task *t = q->head;
    q->head = q->tail = NULL;
    while (t) {
        struct mmusim_task *next = t->next_wait;
        t->next_wait = NULL;
        mmusim__smp_wake_task(cpu, t);
        n++;
        t = next;
    }
    return n;
}
