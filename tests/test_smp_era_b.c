/*
 * The SMP layer per kernel era (include/mmusim/smp.h; docs/smp.md, "Per
 * era"): spinlocks (2.6.18's unfair byte locks and their
 * spin_lock_irqsave, which spins with interrupts on; the ticket locks of
 * 2.6.25 and later, spinning with interrupts off) and device interrupt
 * handlers (interrupts on unless IRQF_DISABLED before 2.6.35, always off
 * from 2.6.35; nesting; an IRQ line never nests on itself).
 *
 * Each test names the kernel file, version and function it follows. Cycle
 * values follow the timing model in support.h and are derived from the
 * cost fields the machine holds, never written as numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

static mmusim_machine *era_machine(void **state, unsigned ncpus, const char *era)
{
    const char *const kv[] = {"era", era, NULL};
    return ts_machine(state, ncpus, kv);
}

static int is_byte_era(const char *era)
{
    return strcmp(era, "2.6.18") == 0;
}

/* ==== 1. Who gets a released spinlock ==== */

/*
 * Three CPUs want the lock from t0 = ctx_switch: CPU0 at once (it holds it
 * H cycles and releases it at R0), CPU2 100 cycles later, CPU1 200 cycles
 * later; all reach it at their turn in global time, CPU0 first.
 *
 * 2.6.32 (arch/x86/include/asm/spinlock.h, __ticket_spin_lock; ticket locks
 * since 2.6.25, commit 314cdbefd1fd): the waiters get it in arrival order,
 * CPU2 at R0 + lock_handoff, then CPU1 at CPU2's release + lock_handoff.
 *
 * 2.6.18 (include/asm-i386/spinlock.h, __raw_spin_lock: "lock; decb", poll,
 * retry; "We make no fairness assumptions"): at the release both spin, both
 * see the line lock_handoff later, and the tie goes to the lower CPU number
 * (mmusim's rule, docs/smp.md): CPU1 first although it came last.
 */
static void lock_order(void **state, const char *era)
{
    mmusim_machine *m = era_machine(state, 3, era);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t H = 5000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker t[3];
    memset(t, 0, sizeof(t));
    const uint64_t delay[3] = {0, 200, 100};
    for (unsigned i = 0; i < 3; i++) {
        t[i].l = l;
        t[i].hold = H;
        t[i].delay = delay[i];
        ts_spawn(m, i, 0, ts_lock_atomic, &t[i]);
    }
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch, h = c->lock_handoff, op = c->lock_op;
    uint64_t acq0 = t0 + op, r0 = acq0 + H + op;
    uint64_t acq[3];
    unsigned first = is_byte_era(era) ? 1 : 2, second = 3 - first; /* the first and second after CPU0 */
    acq[0] = acq0;
    acq[first] = r0 + h;
    acq[second] = acq[first] + H + op + h;
    for (unsigned i = 0; i < 3; i++) {
        struct mmusim_cpu_stats s = ts_stats(m, i);
        uint64_t from = t0 + delay[i] + op;
        assert_int_equal(t[i].rc_unlock, MMUSIM_OK);
        assert_int_equal(t[i].spin_from, from);
        assert_int_equal(t[i].acquired, acq[i]);
        assert_int_equal(t[i].released, acq[i] + H + op);
        assert_int_equal(s.lock_acquires, 1);
        assert_int_equal(s.lock_contended, i == 0 ? 0 : 1);
        assert_int_equal(s.spin_cycles, acq[i] - (i == 0 ? acq0 : from));
    }
    assert_int_equal(ts_nreports(m), 0);
}

static void test_lock_order_2_6_18_lowest_cpu_first(void **state)
{
    lock_order(state, "2.6.18");
}

static void test_lock_order_2_6_32_ticket(void **state)
{
    lock_order(state, "2.6.32");
}

static void test_lock_order_5_11_ticket(void **state)
{
    /* 5.11's queued spinlock (kernel/locking/qspinlock.c) also serves its
     * waiters in the order they queued. */
    lock_order(state, "5.11");
}

/* CPU0: lock, hold, unlock and lock again at once, hold, unlock. */
struct relocker {
    mmusim_spinlock *l;
    uint64_t hold;
    int phase, rc_relock;
    uint64_t acquired, released, reacquired, rereleased;
};

static enum mmusim_step relock_step(mmusim_cpu *cpu, void *arg)
{
    struct relocker *r = arg;
    switch (r->phase++) {
    case 0:
        assert_false(mmusim_is_error(mmusim_spin_lock(cpu, r->l)));
        return MMUSIM_STEP_MORE;
    case 1:
        r->acquired = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, r->hold);
        assert_int_equal(mmusim_spin_unlock(cpu, r->l), MMUSIM_OK);
        r->released = mmusim_cpu_cycles(cpu);
        r->rc_relock = mmusim_spin_lock(cpu, r->l);
        assert_false(mmusim_is_error(r->rc_relock));
        return MMUSIM_STEP_MORE;
    case 2:
        r->reacquired = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, r->hold);
        assert_int_equal(mmusim_spin_unlock(cpu, r->l), MMUSIM_OK);
        r->rereleased = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

/*
 * The unfairness that made x86 move to ticket locks (commit 314cdbefd1fd):
 * the releaser locks again at once. CPU0 holds the lock from t0 + lock_op,
 * releases it at R and locks again at R + lock_op (its turn comes after
 * CPU1's, which reaches the lock at t0 + 100 + lock_op, so the call is
 * pending first); CPU1 spins from before R.
 *
 * 2.6.18 (include/asm-i386/spinlock.h, __raw_spin_lock): the lock is free
 * from R; CPU1 would see it at R + lock_handoff, but CPU0's own "lock;
 * decb" on its own line succeeds at R + lock_op, earlier: CPU0 takes it
 * back, and CPU1 gets it only at CPU0's second release + lock_handoff.
 *
 * 2.6.32 (arch/x86/include/asm/spinlock.h, __ticket_spin_lock): CPU1's
 * ticket comes first: it gets the lock at R + lock_handoff, and CPU0 after
 * CPU1's release (R1) + lock_handoff.
 */
static void releaser_relocks(void **state, const char *era)
{
    mmusim_machine *m = era_machine(state, 2, era);
    const struct mmusim_costs *c = ts_costs(m);
    assert_true(c->lock_op < c->lock_handoff); /* the releaser's line is local: it tries first */
    const uint64_t H = 5000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct relocker r0 = {.l = l, .hold = H};
    struct ts_locker b = {.l = l, .hold = 10, .delay = 100};
    ts_spawn(m, 0, 0, relock_step, &r0);
    ts_spawn(m, 1, 0, ts_lock_atomic, &b);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch, h = c->lock_handoff, op = c->lock_op;
    uint64_t rel = t0 + op + H + op;
    assert_int_equal(r0.acquired, t0 + op);
    assert_int_equal(r0.released, rel);
    assert_int_equal(r0.rc_relock, MMUSIM_PENDING); /* CPU1's turn came first */
    assert_int_equal(b.spin_from, t0 + b.delay + op);
    if (is_byte_era(era)) {
        assert_int_equal(r0.reacquired, rel + op);
        assert_int_equal(r0.rereleased, rel + op + H + op);
        assert_int_equal(b.acquired, r0.rereleased + h);
        assert_int_equal(ts_stats(m, 0).lock_contended, 0); /* the lock was free when it tried */
    } else {
        assert_int_equal(b.acquired, rel + h);
        assert_int_equal(r0.reacquired, b.acquired + b.hold + op + h);
        assert_int_equal(ts_stats(m, 0).lock_contended, 1);
    }
    assert_int_equal(ts_stats(m, 1).spin_cycles, b.acquired - b.spin_from);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_releaser_relocks_first_2_6_18(void **state)
{
    releaser_relocks(state, "2.6.18");
}

static void test_releaser_relocks_after_ticket_2_6_32(void **state)
{
    releaser_relocks(state, "2.6.32");
}

/*
 * A spinner in an interrupt handler is not polling. CPU0 holds the lock
 * until R0; CPU1 spins from t0 + 100 + lock_op, CPU2 from t0 + 200 +
 * lock_op (plain spin_lock: interrupts on while spinning in every era). A
 * device interrupt (IRQF_DISABLED, three 5000-cycle steps) reaches CPU1 at
 * X, before R0, and its handler ends at E, after R0 + lock_handoff.
 *
 * 2.6.18 (include/asm-i386/spinlock.h, __raw_spin_lock): at R0 only CPU2
 * polls: it gets the lock at R0 + lock_handoff and releases it at R2; CPU1,
 * back from the handler at E, finds it free and takes it at
 * E + lock_handoff.
 *
 * 2.6.32 (arch/x86/include/asm/spinlock.h, __ticket_spin_lock): CPU1's
 * ticket is served at R0 + lock_handoff, while it is in the handler; it
 * owns the lock when the handler returns, at E, and CPU2 waits for CPU1's
 * release (R1) + lock_handoff.
 */
static void spinner_in_handler(void **state, const char *era)
{
    mmusim_machine *m = era_machine(state, 3, era);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t H = 10000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = H}, b = {.l = l, .hold = 10, .delay = 100},
                     d = {.l = l, .hold = 10, .delay = 200};
    struct ts_script irq = {0};
    ts_script_add(&irq, TS_OP_SPEND, 5000, 3);
    ts_spawn(m, 0, 0, ts_lock_atomic, &a);
    ts_spawn(m, 1, 0, ts_lock_atomic, &b);
    ts_spawn(m, 2, 0, ts_lock_atomic, &d);
    uint64_t t0 = c->ctx_switch, h = c->lock_handoff, op = c->lock_op;
    const uint64_t X = t0 + 5000;
    assert_int_equal(mmusim_irq_at_flags(m, 1, X, ts_script_step, &irq, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);

    uint64_t r0 = t0 + op + H + op;
    uint64_t e = X + c->ipi_handler + 3 * 5000;
    assert_true(X > t0 + d.delay + op && X < r0);
    assert_true(e > r0 + h);
    assert_int_equal(a.released, r0);
    assert_int_equal(irq.at[0].clock, X + c->ipi_handler);
    if (is_byte_era(era)) {
        assert_int_equal(d.acquired, r0 + h);
        assert_int_equal(b.acquired, e + h);
    } else {
        assert_int_equal(b.acquired, e);
        assert_int_equal(d.acquired, e + b.hold + op + h);
    }
    /* The handler's time is not spin. */
    assert_int_equal(ts_stats(m, 1).spin_cycles, b.acquired - b.spin_from - (e - X));
    assert_int_equal(ts_nreports(m), 0);
}

static void test_spinner_in_handler_loses_byte_lock_2_6_18(void **state)
{
    spinner_in_handler(state, "2.6.18");
}

static void test_spinner_in_handler_keeps_ticket_2_6_32(void **state)
{
    spinner_in_handler(state, "2.6.32");
}

/* A handler that takes the lock, holds it `hold` cycles and releases it. */
struct irq_locker {
    mmusim_spinlock *l;
    uint64_t hold;
    int phase, rc;
    uint64_t acquired, released;
};

static enum mmusim_step irq_lock_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_locker *k = arg;
    if (k->phase++ == 0) {
        k->rc = mmusim_spin_lock(cpu, k->l);
        if (k->rc == MMUSIM_PENDING)
            return MMUSIM_STEP_MORE;
        if (k->rc != MMUSIM_OK)
            return MMUSIM_STEP_DONE;
    }
    k->acquired = mmusim_cpu_cycles(cpu);
    mmusim_cpu_spend(cpu, k->hold);
    assert_int_equal(mmusim_spin_unlock(cpu, k->l), MMUSIM_OK);
    k->released = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

/*
 * A handler takes a lock the task it interrupted spins on. CPU0 holds it
 * until R0; CPU1's task spins from t0 + 100 + lock_op; a device interrupt
 * on CPU1 at X runs a handler that takes the same lock.
 *
 * 2.6.18 (include/asm-i386/spinlock.h, __raw_spin_lock): a byte-lock
 * spinner holds nothing, so this is no deadlock and no bug: the handler
 * spins, is the one polling at R0 and gets the lock at R0 + lock_handoff,
 * releases it at Rh; the task, polling again once the handler returns at
 * Rh, takes it at once (the line is its CPU's).
 *
 * 2.6.32 (arch/x86/include/asm/spinlock.h, __ticket_spin_lock): the task
 * holds a ticket; the handler's ticket would come after it and the task
 * cannot run: the CPU would spin forever. mmusim reports the recursion (a
 * BUG) and refuses (MMUSIM_EDEADLK); the task gets the lock at
 * R0 + lock_handoff.
 */
static void handler_takes_lock_task_spins_on(void **state, const char *era)
{
    mmusim_machine *m = era_machine(state, 2, era);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t H = 10000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = H}, b = {.l = l, .hold = 10, .delay = 100};
    struct irq_locker k = {.l = l, .hold = 10};
    ts_spawn(m, 0, 0, ts_lock_atomic, &a);
    ts_spawn(m, 1, 0, ts_lock_atomic, &b);
    uint64_t t0 = c->ctx_switch, h = c->lock_handoff, op = c->lock_op;
    const uint64_t X = t0 + 1000;
    assert_int_equal(mmusim_irq_at_flags(m, 1, X, irq_lock_step, &k, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);

    uint64_t r0 = t0 + op + H + op;
    assert_int_equal(a.released, r0);
    if (is_byte_era(era)) {
        assert_int_equal(k.rc, MMUSIM_PENDING);
        assert_int_equal(k.acquired, r0 + h);
        assert_int_equal(k.released, r0 + h + k.hold + op);
        assert_int_equal(b.acquired, k.released);
        assert_int_equal(ts_nreports(m), 0);
    } else {
        assert_int_equal(k.rc, MMUSIM_EDEADLK);
        assert_int_equal(b.acquired, r0 + h);
        struct mmusim_report rep;
        assert_int_equal(mmusim_machine_reports(m, &rep, 1), 1);
        assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
        assert_int_equal(rep.cpu, 1);
        assert_int_equal(rep.cycle, X + c->ipi_handler);
    }
}

static void test_handler_takes_lock_task_spins_on_2_6_18(void **state)
{
    handler_takes_lock_task_spins_on(state, "2.6.18");
}

static void test_handler_takes_lock_task_spins_on_2_6_32_is_recursion(void **state)
{
    handler_takes_lock_task_spins_on(state, "2.6.32");
}

/* ==== 2. spin_lock_irqsave spinning while an IPI comes ==== */

/* CPU0: take the lock, spend, flush_tlb_all (IPIs) while holding it, then unlock. */
struct holder {
    mmusim_spinlock *l;
    uint64_t spend;
    int phase, rc_flush;
    uint64_t acquired, flushed_at, resumed_at, released;
};

static enum mmusim_step holder_step(mmusim_cpu *cpu, void *arg)
{
    struct holder *o = arg;
    switch (o->phase++) {
    case 0:
        assert_false(mmusim_is_error(mmusim_spin_lock(cpu, o->l)));
        return MMUSIM_STEP_MORE;
    case 1:
        o->acquired = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, o->spend);
        o->flushed_at = mmusim_cpu_cycles(cpu);
        o->rc_flush = mmusim_flush_tlb_all_smp(cpu);
        return MMUSIM_STEP_MORE;
    default:
        o->resumed_at = mmusim_cpu_cycles(cpu);
        assert_int_equal(mmusim_spin_unlock(cpu, o->l), MMUSIM_OK);
        o->released = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_DONE;
    }
}

/* CPU1: (interrupts off first, if asked) spend, spin_lock_irqsave, note, unlock_irqrestore. */
struct saver {
    mmusim_spinlock *l;
    uint64_t delay;
    int irqs_off_before;
    int phase, rc, irqs_off_held, irqs_off_after;
    unsigned flags;
    uint64_t spin_from, acquired;
};

static enum mmusim_step saver_step(mmusim_cpu *cpu, void *arg)
{
    struct saver *v = arg;
    switch (v->phase++) {
    case 0:
        if (v->irqs_off_before)
            mmusim_local_irq_disable(cpu);
        mmusim_cpu_spend(cpu, v->delay);
        v->rc = mmusim_spin_lock_irqsave(cpu, v->l, &v->flags);
        v->spin_from = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_MORE;
    default:
        v->acquired = mmusim_cpu_cycles(cpu);
        v->irqs_off_held = mmusim_cpu_irqs_disabled(cpu);
        assert_int_equal(mmusim_spin_unlock_irqrestore(cpu, v->l, v->flags), MMUSIM_OK);
        v->irqs_off_after = mmusim_cpu_irqs_disabled(cpu);
        return MMUSIM_STEP_DONE;
    }
}

/*
 * CPU0 takes a lock (plain spin_lock: interrupts stay on) at t0 + lock_op
 * and, still holding it, calls flush_tlb_all at F (IPI to CPU1), then
 * unlocks once acknowledged; CPU1 calls spin_lock_irqsave on the lock at
 * t0 + 1000 + lock_op, with interrupts on, and spins (the kmap_lock pattern
 * of flush_all_zero_pkmaps: a shootdown under a lock another CPU waits for).
 *
 * 2.6.18 (kernel/spinlock.c, _spin_lock_irqsave -> include/asm-i386/
 * spinlock.h, __raw_spin_lock_flags: "sti" while polling when the saved
 * flags have IF): CPU1 takes the IPI at its arrival A = F + lock_op (call_lock)
 * + ipi_send + ipi_deliver while it spins, acknowledges at K = A +
 * ipi_handler + pge_toggle + mov_cr3 + ipi_ack; CPU0 releases call_lock,
 * flushes locally (pge_toggle + mov_cr3), unlocks at R;
 * CPU1 gets the lock at R + lock_handoff with interrupts off again ("cli"
 * before the locked decb), and unlock_irqrestore turns them back on. The
 * IPI's time is not spin.
 */
static void test_irqsave_spinner_takes_ipi_2_6_18(void **state)
{
    mmusim_machine *m = era_machine(state, 2, "2.6.18");
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct holder o = {.l = l, .spend = 3000};
    struct saver v = {.l = l, .delay = 1000};
    ts_spawn(m, 0, 0, holder_step, &o);
    ts_spawn(m, 1, 0, saver_step, &v);
    ts_run_all(m);

    /* 2.6.18's flush_tlb_all (arch/i386/kernel/smp.c, kernel/softirq.c
     * on_each_cpu): spin_lock(&call_lock) before the send, spin_unlock after
     * the acknowledgement, then the local call; __flush_tlb_global reloads
     * CR3 between its CR4 writes (include/asm-i386/tlbflush.h): a mov_cr3 in
     * the handler and in the local flush. Neither CPU has left the boot
     * state (TLBSTATE 0): no leave_mm. */
    uint64_t t0 = c->ctx_switch, op = c->lock_op;
    uint64_t gflush = c->pge_toggle + c->mov_cr3;
    uint64_t f = t0 + op + o.spend;
    uint64_t arrive = f + op + c->ipi_send + c->ipi_deliver;
    uint64_t handler = c->ipi_handler + gflush;
    uint64_t ack = arrive + handler + c->ipi_ack;
    uint64_t rel = ack + op + gflush + op;
    assert_int_equal(o.acquired, t0 + op);
    assert_int_equal(o.flushed_at, f);
    assert_int_equal(o.rc_flush, MMUSIM_PENDING);
    assert_int_equal(v.spin_from, t0 + v.delay + op);
    assert_true(v.spin_from < f); /* CPU1 spins before the IPI is sent */
    assert_int_equal(o.resumed_at, ack + op + gflush);
    assert_int_equal(o.released, rel);
    assert_int_equal(v.rc, MMUSIM_PENDING);
    assert_int_equal(v.flags, 0); /* interrupts were on */
    assert_int_equal(v.acquired, rel + c->lock_handoff);
    assert_int_equal(v.irqs_off_held, 1);
    assert_int_equal(v.irqs_off_after, 0);
    struct mmusim_cpu_stats s1 = ts_stats(m, 1);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, handler);
    assert_int_equal(s1.spin_cycles, v.acquired - v.spin_from - s1.ipi_handler_cycles);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * The same, where CPU1 spins with interrupts off: the IPI is never taken,
 * CPU0 waits for its acknowledgement forever while holding the lock CPU1
 * waits for: a deadlock (the run ends with deadlock = 1).
 *   - 2.6.32 and 2.6.37 (arch/x86/include/asm/spinlock.h,
 *     __raw_spin_lock_flags: the ticket lock ignores the flags) and 5.11
 *     (include/asm-generic/qspinlock.h, arch_spin_lock_flags is
 *     arch_spin_lock): spin_lock_irqsave spins with interrupts off.
 *   - 2.6.18 with interrupts already off before the call: the saved flags
 *     have no IF, so __raw_spin_lock_flags (include/asm-i386/spinlock.h)
 *     never executes its "sti".
 */
static void irqsave_spinner_deadlocks(void **state, const char *era, int irqs_off_before)
{
    mmusim_machine *m = era_machine(state, 2, era);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct holder o = {.l = l, .spend = 3000};
    struct saver v = {.l = l, .delay = 1000, .irqs_off_before = irqs_off_before};
    ts_spawn(m, 0, 0, holder_step, &o);
    ts_spawn(m, 1, 0, saver_step, &v);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 1);
    assert_int_equal(o.rc_flush, MMUSIM_PENDING);
    assert_int_equal(o.phase, 2); /* waiting for the acknowledgement */
    assert_int_equal(v.rc, MMUSIM_PENDING);
    assert_int_equal(v.phase, 1); /* still spinning */
    assert_int_equal(mmusim_cpu_irqs_disabled(ts_cpu(m, 1)), 1);
    assert_int_equal(ts_stats(m, 1).ipis_received, 0);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_irqsave_spinner_deadlocks_2_6_32(void **state)
{
    irqsave_spinner_deadlocks(state, "2.6.32", 0);
}

static void test_irqsave_spinner_deadlocks_2_6_37(void **state)
{
    irqsave_spinner_deadlocks(state, "2.6.37", 0);
}

static void test_irqsave_spinner_deadlocks_5_11(void **state)
{
    irqsave_spinner_deadlocks(state, "5.11", 0);
}

static void test_irqsave_spinner_irqs_off_before_deadlocks_2_6_18(void **state)
{
    irqsave_spinner_deadlocks(state, "2.6.18", 1);
}

/* ==== 3. Device interrupt handlers and the interrupt flag ==== */

/*
 * What a device handler sees, per era and flag, on an idle CPU at X.
 * 2.6.18 and 2.6.32 (kernel/irq/handle.c, handle_IRQ_event):
 * "if (!(action->flags & IRQF_DISABLED)) local_irq_enable_in_hardirq()":
 * on without the flag, off with it (2.6.18's old name SA_INTERRUPT is the
 * same bit). 2.6.37 and 5.11: off, whatever the flag (since 2.6.35, commit
 * e58aa3d2d0cc "genirq: Run irq handlers with interrupts disabled").
 * Interrupts are off again once the handler has returned (the idle CPU's
 * own state, restored by the iret).
 */
static void handler_irq_flag(void **state, const char *era, int on_without_flag)
{
    mmusim_machine *m = era_machine(state, 1, era);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_handler plain = {.spend = 10}, disabled = {.spend = 10};
    const uint64_t X = 10000;
    assert_int_equal(mmusim_irq_at(m, 0, X, ts_handler_step, &plain), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at_flags(m, 0, 2 * X, ts_handler_step, &disabled, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);
    const unsigned HO = mmusim_machine_layout(m)->preempt_bits.hardirq_offset;
    ts_check_snap(&plain.snap, X + c->ipi_handler, MMUSIM_CTX_HARDIRQ, 1, !on_without_flag, 1, HO);
    ts_check_snap(&disabled.snap, 2 * X + c->ipi_handler, MMUSIM_CTX_HARDIRQ, 1, 1, 1, HO);
    assert_int_equal(mmusim_cpu_irqs_disabled(ts_cpu(m, 0)), 0);
    assert_int_equal(ts_stats(m, 0).irqs, 2);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_handler_irqs_on_2_6_18(void **state)
{
    handler_irq_flag(state, "2.6.18", 1);
}

static void test_handler_irqs_on_2_6_32(void **state)
{
    handler_irq_flag(state, "2.6.32", 1);
}

static void test_handler_irqs_off_2_6_37(void **state)
{
    handler_irq_flag(state, "2.6.37", 0);
}

static void test_handler_irqs_off_5_11(void **state)
{
    handler_irq_flag(state, "5.11", 0);
}

/* Flags other than MMUSIM_IRQF_DISABLED are refused, and nothing is queued. */
static void test_irq_flags_refuses_unknown_bits(void **state)
{
    mmusim_machine *m = era_machine(state, 1, "2.6.32");
    struct ts_handler h = {.spend = 0};
    assert_int_equal(mmusim_irq_at_flags(m, 0, 100, ts_handler_step, &h, 0x80u), MMUSIM_EINVAL);
    assert_int_equal(mmusim_irq_random_flags(m, 0, 100, 1000, ts_handler_step, &h, MMUSIM_IRQF_DISABLED | 1u),
                     MMUSIM_EINVAL);
    struct mmusim_run_result r = ts_run_all(m);
    assert_int_equal(r.steps, 0);
    assert_false(h.snap.taken);
}

/*
 * Nesting. H1 (three 1000-cycle steps) reaches an idle CPU at X; H2 arrives
 * 500 cycles into H1's first step.
 * 2.6.32 (kernel/irq/handle.c, handle_IRQ_event), H1 without IRQF_DISABLED:
 * H1 runs with interrupts on, so H2 is taken at H1's first step boundary,
 * nested on it (two hardirq levels in preempt_count), and H1 resumes when
 * H2 returns. With IRQF_DISABLED, and in 2.6.37 whatever the flag
 * (handlers always run with interrupts off since 2.6.35), H2 waits for H1's
 * return.
 */
static void nesting(void **state, const char *era, unsigned h1_flags, int nests)
{
    mmusim_machine *m = era_machine(state, 1, era);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script h1 = {0};
    ts_script_add(&h1, TS_OP_SPEND, 1000, 3);
    struct ts_handler h2 = {.spend = 50};
    const uint64_t X = 10000;
    uint64_t e1 = X + c->ipi_handler;
    assert_int_equal(mmusim_irq_at_flags(m, 0, X, ts_script_step, &h1, h1_flags), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at(m, 0, e1 + 500, ts_handler_step, &h2), MMUSIM_OK);
    ts_run_all(m);

    const unsigned HO = mmusim_machine_layout(m)->preempt_bits.hardirq_offset;
    /* A handler without the flag runs with interrupts on in 2.6.18 and 2.6.32 only. */
    int default_off = strcmp(era, "2.6.37") == 0 || strcmp(era, "5.11") == 0;
    int h1_off = (h1_flags & MMUSIM_IRQF_DISABLED) || default_off, h2_off = default_off;
    ts_check_snap(&h1.at[0], e1, MMUSIM_CTX_HARDIRQ, 1, h1_off, 1, HO);
    if (nests) {
        uint64_t e2 = e1 + 1000 + c->ipi_handler;
        ts_check_snap(&h2.snap, e2, MMUSIM_CTX_HARDIRQ, 1, h2_off, 2, 2 * HO);
        ts_check_snap(&h1.at[1], e2 + h2.spend, MMUSIM_CTX_HARDIRQ, 1, h1_off, 1, HO);
    } else {
        ts_check_snap(&h1.at[1], e1 + 1000, MMUSIM_CTX_HARDIRQ, 1, h1_off, 1, HO);
        ts_check_snap(&h2.snap, e1 + 3000 + c->ipi_handler, MMUSIM_CTX_HARDIRQ, 1, h2_off, 1, HO);
    }
    assert_int_equal(ts_stats(m, 0).irqs, 2);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_handler_nests_2_6_32(void **state)
{
    nesting(state, "2.6.32", 0, 1);
}

static void test_handler_irqf_disabled_no_nesting_2_6_32(void **state)
{
    nesting(state, "2.6.32", MMUSIM_IRQF_DISABLED, 0);
}

static void test_handler_no_nesting_2_6_37(void **state)
{
    nesting(state, "2.6.37", 0, 0);
}

/*
 * An IPI reaching a CPU in a device handler. CPU1's task (1000-cycle steps)
 * takes a device interrupt at t0 + 1000 (entry E = that + ipi_handler; ten
 * 1000-cycle steps); CPU0 calls flush_tlb_all at t0 + 3000, so the IPI
 * arrives at A = t0 + 3000 + ipi_send + ipi_deliver, inside the handler.
 * 2.6.32 (kernel/irq/handle.c, handle_IRQ_event; no IRQF_DISABLED): the
 * handler runs with interrupts on: CPU1 takes the IPI at the handler's
 * first step boundary at or after A. 2.6.37 (always off since 2.6.35), and
 * 2.6.32 with IRQF_DISABLED: at the handler's return, E + 10000. The
 * initiator resumes at that + ipi_handler + pge_toggle + ipi_ack +
 * pge_toggle (its own flush once acknowledged).
 */
static void ipi_into_handler(void **state, const char *era, unsigned flags, int early)
{
    mmusim_machine *m = era_machine(state, 2, era);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {.delay = 3000};
    struct ts_script task = {0}, h = {0};
    ts_script_add(&task, TS_OP_SPEND, 1000, 20);
    ts_script_add(&h, TS_OP_SPEND, 1000, 10);
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_spawn(m, 1, 0, ts_script_step, &task);
    assert_int_equal(mmusim_irq_at_flags(m, 1, t0 + 500, ts_script_step, &h, flags), MMUSIM_OK);
    ts_run_all(m);

    uint64_t e = t0 + 1000 + c->ipi_handler;
    uint64_t arrive = t0 + f.delay + c->ipi_send + c->ipi_deliver;
    assert_true(arrive > e && arrive < e + 10000);
    uint64_t taken = early ? ts_boundary_after(e, 1000, arrive) : e + 10000;
    assert_int_equal(f.called_at, t0 + f.delay);
    assert_int_equal(f.resumed_at, taken + c->ipi_handler + c->pge_toggle + c->ipi_ack + c->pge_toggle);
    assert_int_equal(h.at[0].clock, e);
    if (early) /* the handler's next step comes after the IPI */
        assert_int_equal(h.at[(taken - e) / 1000].clock, taken + c->ipi_handler + c->pge_toggle);
    assert_int_equal(ts_stats(m, 1).ipis_received, 1);
}

static void test_ipi_into_handler_2_6_32(void **state)
{
    ipi_into_handler(state, "2.6.32", 0, 1);
}

static void test_ipi_waits_for_irqf_disabled_handler_2_6_32(void **state)
{
    ipi_into_handler(state, "2.6.32", MMUSIM_IRQF_DISABLED, 0);
}

static void test_ipi_waits_for_handler_2_6_37(void **state)
{
    ipi_into_handler(state, "2.6.37", 0, 0);
}

/* A handler noting the deepest nesting it was called at. */
static unsigned deepest;

static enum mmusim_step nest_probe(mmusim_cpu *cpu, void *arg)
{
    unsigned *steps = arg;
    unsigned n = mmusim_cpu_nesting(cpu);
    if (n > deepest)
        deepest = n;
    mmusim_cpu_spend(cpu, 1000);
    return ++*steps % 5 == 0 ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

/*
 * An IRQ line never nests on itself: 2.6.18 and 2.6.32 flow handlers mark
 * the descriptor IRQ_INPROGRESS while its actions run, and an interrupt of
 * the same line meanwhile is only marked IRQ_PENDING and handled when they
 * return (kernel/irq/handle.c, __do_IRQ; kernel/irq/chip.c,
 * handle_edge_irq). Two seeded sources (two lines) on an idle CPU, mean gap
 * 300 cycles, handlers of five 1000-cycle steps: in 2.6.32 (handlers with
 * interrupts on) the other line nests, so the deepest nesting is exactly 2,
 * never 3; in 2.6.37 it is 1.
 */
static void one_line_no_self_nesting(void **state, const char *era, unsigned want)
{
    mmusim_machine *m = era_machine(state, 1, era);
    unsigned sa = 0, sb = 0;
    deepest = 0;
    assert_int_equal(mmusim_irq_random(m, 0, 300, 100000, nest_probe, &sa), MMUSIM_OK);
    assert_int_equal(mmusim_irq_random(m, 0, 300, 100000, nest_probe, &sb), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(deepest, want);
    assert_true(sa % 5 == 0 && sb % 5 == 0); /* every handler ran to its end */
    assert_int_equal(ts_stats(m, 0).irqs, (sa + sb) / 5);
    assert_true(ts_stats(m, 0).irqs > 10);
}

static void test_irq_line_nests_only_on_another_2_6_32(void **state)
{
    one_line_no_self_nesting(state, "2.6.32", 2);
}

static void test_irq_lines_do_not_nest_2_6_37(void **state)
{
    one_line_no_self_nesting(state, "2.6.37", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_lock_order_2_6_18_lowest_cpu_first),
        TS_TEST(test_lock_order_2_6_32_ticket),
        TS_TEST(test_lock_order_5_11_ticket),
        TS_TEST(test_releaser_relocks_first_2_6_18),
        TS_TEST(test_releaser_relocks_after_ticket_2_6_32),
        TS_TEST(test_spinner_in_handler_loses_byte_lock_2_6_18),
        TS_TEST(test_spinner_in_handler_keeps_ticket_2_6_32),
        TS_TEST(test_handler_takes_lock_task_spins_on_2_6_18),
        TS_TEST(test_handler_takes_lock_task_spins_on_2_6_32_is_recursion),
        TS_TEST(test_irqsave_spinner_takes_ipi_2_6_18),
        TS_TEST(test_irqsave_spinner_deadlocks_2_6_32),
        TS_TEST(test_irqsave_spinner_deadlocks_2_6_37),
        TS_TEST(test_irqsave_spinner_deadlocks_5_11),
        TS_TEST(test_irqsave_spinner_irqs_off_before_deadlocks_2_6_18),
        TS_TEST(test_handler_irqs_on_2_6_18),
        TS_TEST(test_handler_irqs_on_2_6_32),
        TS_TEST(test_handler_irqs_off_2_6_37),
        TS_TEST(test_handler_irqs_off_5_11),
        TS_TEST(test_irq_flags_refuses_unknown_bits),
        TS_TEST(test_handler_nests_2_6_32),
        TS_TEST(test_handler_irqf_disabled_no_nesting_2_6_32),
        TS_TEST(test_handler_no_nesting_2_6_37),
        TS_TEST(test_ipi_into_handler_2_6_32),
        TS_TEST(test_ipi_waits_for_irqf_disabled_handler_2_6_32),
        TS_TEST(test_ipi_waits_for_handler_2_6_37),
        TS_TEST(test_irq_line_nests_only_on_another_2_6_32),
        TS_TEST(test_irq_lines_do_not_nest_2_6_37),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
