/*
 * Pending operations and global time order (include/mmusim/smp.h,
 * DESIGN.md "Time"): an operation that waits returns MMUSIM_PENDING and the
 * engine completes it; what other CPUs observe (locks, wake-ups, IPIs)
 * takes effect in simulated-time order whatever the step boundaries; a
 * library-carried continuation (src/cpu/smp_impl.h) shows the step one
 * pending call for a whole kernel path.
 *
 * Cycle values follow the timing model in support.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cpu/smp_impl.h"
#include "mmusim.h"
#include "support.h"

/* ==== the time-ordered lock (issue: "Interactions in time order") ==== */

/*
 * A task that waits until `start` (one step of spending from its first
 * clock), then runs ts_lock_atomic: in one step it spends `delay` cycles
 * and takes the lock, holds it `hold` cycles and releases it.
 */
struct late_locker {
    uint64_t start;
    int started;
    struct ts_locker lk;
    uint64_t reached; /* the clock at the spin_lock call */
};

static enum mmusim_step late_lock_step(mmusim_cpu *cpu, void *arg)
{
    struct late_locker *t = arg;
    if (!t->started++) {
        mmusim_cpu_spend(cpu, t->start - mmusim_cpu_cycles(cpu));
        t->reached = t->start + t->lk.delay;
        return MMUSIM_STEP_MORE;
    }
    return ts_lock_atomic(cpu, &t->lk);
}

/*
 * CPU 0 starts a step at cycle 2,400, spends 1,000 cycles in it and reaches
 * the lock at 3,400; CPU 1 reaches it at 2,450. The step of CPU 0 ran first
 * (its clock was the lower), but CPU 1 gets the lock first: CPU 0's
 * spin_lock is pending until its turn at 3,400 + lock_op, when CPU 1 has
 * taken the lock at 2,450 + lock_op, held it 300 cycles and released it.
 * CPU 0 then finds it free, last held by another CPU: it pays lock_handoff.
 */
static void test_lock_taken_in_time_order_not_step_order(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct late_locker a = {.start = 2400, .lk = {.l = l, .delay = 1000, .hold = 100}};
    struct late_locker b = {.start = 2450, .lk = {.l = l, .delay = 0, .hold = 300}};
    ts_spawn(m, 0, 0, late_lock_step, &a);
    ts_spawn(m, 1, 0, late_lock_step, &b);
    ts_run_all(m);

    assert_int_equal(a.reached, 3400);
    assert_int_equal(b.reached, 2450);
    assert_int_equal(b.lk.rc_lock, MMUSIM_OK); /* its turn: CPU 0's next event is 3,400 */
    assert_int_equal(b.lk.acquired, 2450 + c->lock_op);
    assert_int_equal(b.lk.released, 2450 + c->lock_op + 300 + c->lock_op);
    assert_int_equal(a.lk.rc_lock, MMUSIM_PENDING);
    assert_true(b.lk.released < a.reached);
    assert_int_equal(a.lk.acquired, 3400 + c->lock_op + c->lock_handoff);
    assert_int_equal(a.lk.rc_unlock, MMUSIM_OK);
    assert_int_equal(b.lk.rc_unlock, MMUSIM_OK);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.lock_contended, 0); /* free at its turn */
    assert_int_equal(s1.lock_contended, 0);
    assert_int_equal(s0.spin_cycles, 0);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * The same with CPU 1 holding the lock across CPU 0's arrival: CPU 1 takes
 * it at 2,450 + lock_op and holds it 2,000 cycles; CPU 0 reaches it at
 * 3,400 + lock_op, spins, and gets it at CPU 1's release + lock_handoff.
 */
static void test_lock_pending_spins_until_time_ordered_release(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct late_locker a = {.start = 2400, .lk = {.l = l, .delay = 1000, .hold = 100}};
    struct late_locker b = {.start = 2450, .lk = {.l = l, .delay = 0, .hold = 2000}};
    ts_spawn(m, 0, 0, late_lock_step, &a);
    ts_spawn(m, 1, 0, late_lock_step, &b);
    ts_run_all(m);

    uint64_t rel1 = 2450 + c->lock_op + 2000 + c->lock_op;
    assert_int_equal(b.lk.released, rel1);
    assert_int_equal(a.lk.rc_lock, MMUSIM_PENDING);
    assert_int_equal(a.lk.acquired, rel1 + c->lock_handoff);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0);
    assert_int_equal(s0.lock_contended, 1);
    assert_int_equal(s0.spin_cycles, rel1 + c->lock_handoff - (3400 + c->lock_op));
}

/* ==== the step must return after a pending call ==== */

struct twice {
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
    int phase, rc_first, rc_second, rc_wake, owner_now;
    unsigned woken;
};

/* CPU 1 reaches the lock while CPU 0 holds it, then tries another operation in the same step. */
static enum mmusim_step second_call_step(mmusim_cpu *cpu, void *arg)
{
    struct twice *t = arg;
    switch (t->phase++) {
    case 0:
        mmusim_cpu_spend(cpu, 500);
        return MMUSIM_STEP_MORE;
    case 1:
        t->rc_first = mmusim_spin_lock(cpu, t->l);
        t->rc_second = mmusim_flush_tlb_all_smp(cpu);
        t->rc_wake = mmusim_wake_up(cpu, t->q, &t->woken);
        t->owner_now = mmusim_spin_is_owner(cpu, t->l);
        return MMUSIM_STEP_MORE;
    case 2:
        t->owner_now = mmusim_spin_is_owner(cpu, t->l) ? 2 : -1;
        return mmusim_spin_unlock(cpu, t->l) == MMUSIM_OK ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

/* CPU 0 holds the lock 3,000 cycles from the start. */
struct holder {
    mmusim_spinlock *l;
    int phase;
    mmusim_cpu *waiter;
    int waiter_owner_after_unlock, self_owner_after_unlock;
};

static enum mmusim_step holder_step(mmusim_cpu *cpu, void *arg)
{
    struct holder *h = arg;
    switch (h->phase++) {
    case 0:
        assert_false(mmusim_is_error(mmusim_spin_lock(cpu, h->l))); /* ours now, or when called again */
        return MMUSIM_STEP_MORE;
    case 1:
        mmusim_cpu_spend(cpu, 3000);
        return MMUSIM_STEP_MORE;
    case 2:
        assert_int_equal(mmusim_spin_unlock(cpu, h->l), MMUSIM_OK);
        /* Handed over to CPU 1, which is still spinning until release + lock_handoff. */
        h->waiter_owner_after_unlock = mmusim_spin_is_owner(h->waiter, h->l);
        h->self_owner_after_unlock = mmusim_spin_is_owner(cpu, h->l);
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

/*
 * After MMUSIM_PENDING the step must return: a second operation in the same
 * step is refused with MMUSIM_ESTEP and does nothing (no IPI is sent, no
 * wake-up done). spin_is_owner is false while the CPU spins, also after
 * the lock was handed to it and before its spin is over, and true when the
 * step is called again.
 */
static void test_second_operation_after_pending_is_refused(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct holder h = {.l = l, .waiter = ts_cpu(m, 1)};
    struct twice t = {.l = l, .q = q, .woken = 77};
    ts_spawn(m, 0, 0, holder_step, &h);
    ts_spawn(m, 1, 0, second_call_step, &t);
    ts_run_all(m);

    assert_int_equal(t.rc_first, MMUSIM_PENDING);
    assert_int_equal(t.rc_second, MMUSIM_ESTEP);
    assert_int_equal(t.rc_wake, MMUSIM_ESTEP);
    assert_int_equal(t.woken, 77); /* untouched */
    assert_int_equal(t.owner_now, 2);
    assert_int_equal(h.waiter_owner_after_unlock, 0);
    assert_int_equal(h.self_owner_after_unlock, 0);
    struct mmusim_cpu_stats s1 = ts_stats(m, 1);
    assert_int_equal(s1.ipis_sent, 0);
    assert_int_equal(s1.shootdowns, 0);
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== wake-ups in time order ==== */

struct late_waker {
    mmusim_wait_queue *q;
    uint64_t work;
    int phase, rc;
    unsigned woken;
    uint64_t at;
};

static enum mmusim_step late_wake_step(mmusim_cpu *cpu, void *arg)
{
    struct late_waker *w = arg;
    if (w->phase++ == 0) {
        mmusim_cpu_spend(cpu, w->work);
        w->at = mmusim_cpu_cycles(cpu);
        w->rc = mmusim_wake_up(cpu, w->q, &w->woken);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

struct napper {
    mmusim_wait_queue *q;
    uint64_t delay;
    int phase, rc;
    uint64_t slept_at, woke_at;
};

static enum mmusim_step napper_step(mmusim_cpu *cpu, void *arg)
{
    struct napper *n = arg;
    switch (n->phase++) {
    case 0:
        mmusim_cpu_spend(cpu, n->delay);
        return MMUSIM_STEP_MORE;
    case 1:
        n->slept_at = mmusim_cpu_cycles(cpu);
        n->rc = mmusim_wait_queue_sleep(cpu, n->q);
        return MMUSIM_STEP_BLOCK;
    default:
        n->woke_at = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_DONE;
    }
}

/*
 * CPU 0 spends 5,000 cycles in one step and wakes the queue at
 * t0 + 5,000; CPU 1 goes to sleep at t0 + 1,000, a step that runs after
 * CPU 0's. In simulated time the sleep came first, so the wake-up (pending
 * until its turn) finds the sleeper and wakes it: one task woken, resumed
 * as soon as the wake-up is done (core2's idle CPU polls need_resched in
 * mwait, cost.idle_poll: no reschedule IPI; support.h). Done in step
 * order, the wake-up would have found the queue empty and the sleeper
 * would never wake.
 */
static void test_wake_up_finds_sleeper_that_slept_earlier_in_time(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct late_waker w = {.q = q, .work = 5000};
    struct napper n = {.q = q, .delay = 1000};
    ts_spawn(m, 0, 0, late_wake_step, &w);
    ts_spawn(m, 1, 0, napper_step, &n);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    assert_int_equal(w.at, t0 + 5000);
    assert_int_equal(n.slept_at, t0 + 1000);
    assert_int_equal(n.rc, MMUSIM_PENDING);
    assert_int_equal(w.rc, MMUSIM_PENDING); /* CPU 1 was at t0 + 1,000 */
    assert_int_equal(w.woken, 1);
    assert_int_equal(c->idle_poll, 1);
    assert_int_equal(n.woke_at, w.at + c->ctx_switch);
}

/*
 * The other way round: the sleep comes later in simulated time (t0 + 8,000)
 * than the wake-up (t0 + 5,000), although the sleeper's step ran first.
 * The wake-up passes over it: nobody is woken, and the sleeper sleeps on
 * (the run ends with it asleep: a deadlock, finished = 0).
 */
static void test_wake_up_passes_over_later_sleeper(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct napper n = {.q = q, .delay = 8000};
    struct late_waker w = {.q = q, .work = 5000};
    mmusim_task *sleeper = ts_spawn(m, 0, 0, napper_step, &n);
    ts_spawn(m, 1, 0, late_wake_step, &w);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);

    uint64_t t0 = c->ctx_switch;
    assert_int_equal(n.slept_at, t0 + 8000);
    assert_int_equal(w.at, t0 + 5000);
    assert_int_equal(w.woken, 0);
    assert_int_equal(mmusim_task_state(sleeper), MMUSIM_TASK_SLEEPING);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 1);
}

/* ==== page-table stores in time order ==== */

struct pte_storer {
    uint32_t va;
    uint64_t pa;
    int phase, rc;
    uint64_t old, at;
};

/* Spends 1,000 cycles, then stores a present entry for va, all in one step. */
static enum mmusim_step pte_store_step(mmusim_cpu *cpu, void *arg)
{
    struct pte_storer *p = arg;
    if (p->phase++ == 0) {
        mmusim_cpu_spend(cpu, 1000);
        p->at = mmusim_cpu_cycles(cpu);
        p->old = 0xdead;
        p->rc = mmusim_set_pte(cpu, p->va, p->pa, MMUSIM_PAGE_KERNEL, &p->old);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

struct pte_reader {
    uint32_t va;
    uint64_t gap[2]; /* cycles before each access */
    int phase, fault[2];
    uint64_t at[2];
};

/* Spend gap[i] in one step, then access in the next: each access starts a step of its own. */
static enum mmusim_step pte_read_step(mmusim_cpu *cpu, void *arg)
{
    struct pte_reader *r = arg;
    int k = r->phase++, i = k / 2;
    if (i == 2)
        return MMUSIM_STEP_DONE;
    if (k % 2 == 0) {
        mmusim_cpu_spend(cpu, r->gap[i]);
        return MMUSIM_STEP_MORE;
    }
    r->at[i] = mmusim_cpu_cycles(cpu);
    struct mmusim_access a;
    uint32_t v;
    assert_int_equal(mmusim_cpu_access(cpu, r->va, MMUSIM_ACC_READ, 4, &v, &a), MMUSIM_OK);
    r->fault[i] = a.fault;
    return MMUSIM_STEP_MORE;
}

/*
 * CPU 0's step spends 1,000 cycles and then stores a present pkmap entry:
 * the store is pending until its turn at t0 + 1,000. CPU 1 reads through
 * the address in a step that starts at t0 + 500, after CPU 0's step ran:
 * it must see the entry as it was then, not present (a fault); in a step
 * that starts after t0 + 1,000, present. *old is filled at the turn with
 * the entry as it was: none. (Reads are not put in turn: a read inside a
 * step that began before the store's turn sees the entry as it was at the
 * step's start, the one-step bound of docs/smp.md.)
 */
static void test_pte_store_in_time_order(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    uint32_t va = mmusim_machine_layout(m)->pkmap_base + 5 * 4096u;
    struct pte_storer w = {.va = va, .pa = pfn << 12};
    struct pte_reader r = {.va = va, .gap = {500, 2000}};
    ts_spawn(m, 0, 0, pte_store_step, &w);
    ts_spawn(m, 1, 0, pte_read_step, &r);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    assert_int_equal(w.at, t0 + 1000);
    assert_int_equal(w.rc, MMUSIM_PENDING);
    assert_int_equal(w.old, 0);
    assert_int_equal(r.at[0], t0 + 500);
    assert_int_equal(r.fault[0], 1);
    assert_true(r.at[1] > w.at);
    assert_int_equal(r.fault[1], 0);
    unsigned cpu;
    uint64_t cycle;
    assert_int_equal(mmusim_pte_last_writer(m, va, &cpu, &cycle), MMUSIM_OK);
    assert_int_equal(cpu, 0);
    assert_int_equal(cycle, t0 + 1000);
}

/* ==== a library-carried continuation ==== */

/*
 * A composite kernel path as the kmap layer will write them: take the
 * lock, do some work, flush every TLB under the lock, release the lock.
 * Each operation may be pending; the path is a state machine the engine
 * calls again until it is over.
 */
struct path {
    mmusim_spinlock *l;
    int pc;
    int calls;           /* how many times the engine (or the start) ran it */
    int rc;              /* the path's outcome, for the step to read */
    uint64_t locked_at, flushed_at, unlocked_at;
};

static int locked_flush_path(struct mmusim_cpu *cpu, void *state)
{
    struct path *p = state;
    int rc;
    p->calls++;
    switch (p->pc) {
    case 0:
        p->pc = 1;
        rc = mmusim_spin_lock(cpu, p->l);
        if (rc != MMUSIM_OK)
            return rc;
        /* fall through */
    case 1:
        p->locked_at = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, 200); /* the work under the lock */
        p->pc = 2;
        rc = mmusim_flush_tlb_all_smp(cpu);
        if (rc != MMUSIM_OK)
            return rc;
        /* fall through */
    case 2:
        p->flushed_at = mmusim_cpu_cycles(cpu);
        p->pc = 3;
        p->rc = mmusim_spin_unlock(cpu, p->l);
        p->unlocked_at = mmusim_cpu_cycles(cpu);
        return p->rc;
    default:
        return MMUSIM_EINVAL;
    }
}

struct path_user {
    struct path p;
    uint64_t delay;  /* spent in a step of its own before the path starts */
    int waited;
    int step_calls, rc_start;
    int saw_done, saw_owner;
};

static enum mmusim_step path_user_step(mmusim_cpu *cpu, void *arg)
{
    struct path_user *u = arg;
    if (!u->waited++ && u->delay) {
        mmusim_cpu_spend(cpu, u->delay);
        return MMUSIM_STEP_MORE;
    }
    if (u->step_calls++ == 0) {
        u->rc_start = mmusim__smp_cont_start(cpu, locked_flush_path, &u->p);
        return MMUSIM_STEP_MORE; /* pending or not, the step returns here */
    }
    u->saw_done = u->p.pc == 3;
    u->saw_owner = mmusim_spin_is_owner(cpu, u->p.l);
    return MMUSIM_STEP_DONE;
}

/*
 * CPU 0 runs the path (after 100 cycles, so that CPU 1 has the lock first)
 * while CPU 1 holds the lock for 1,000 cycles and then CPU 1 and 2 run
 * kernel threads: the path spins for the lock, then waits
 * for two acknowledgements, all inside one pending call. The step is
 * called exactly twice: the call that started the path (MMUSIM_PENDING),
 * and once the whole path is over. The flush happened under the lock:
 * locked_at < flushed_at <= unlocked_at, and CPU 1 and 2 each took the
 * flush IPI after CPU 1 released the lock.
 */
static void test_continuation_is_one_pending_call(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker hold = {.l = l, .hold = 1000};
    struct ts_script busy[2];
    memset(busy, 0, sizeof(busy));
    for (unsigned i = 0; i < 2; i++)
        ts_script_add(&busy[i], TS_OP_SPEND, 500, 20);
    struct path_user u;
    memset(&u, 0, sizeof(u));
    u.p.l = l;
    u.delay = 100;
    ts_spawn(m, 1, 0, ts_lock_step, &hold);
    ts_spawn(m, 1, 0, ts_script_step, &busy[0]);
    ts_spawn(m, 2, 0, ts_script_step, &busy[1]);
    ts_spawn(m, 0, 0, path_user_step, &u);
    ts_run_all(m);

    assert_int_equal(u.rc_start, MMUSIM_PENDING);
    assert_int_equal(u.step_calls, 2);
    assert_int_equal(u.saw_done, 1);
    assert_int_equal(u.saw_owner, 0);
    assert_int_equal(u.p.rc, MMUSIM_OK);
    assert_int_equal(u.p.calls, 3); /* the start, after the lock, after the acknowledgements */
    assert_true(u.p.locked_at >= hold.released + c->lock_handoff);
    assert_true(u.p.locked_at + 200 < u.p.flushed_at);
    assert_int_equal(u.p.unlocked_at, u.p.flushed_at + c->lock_op);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1), s2 = ts_stats(m, 2);
    assert_int_equal(s0.shootdowns, 1);
    assert_int_equal(s0.ipis_sent, 2);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s2.ipis_received, 1);
    assert_int_equal(s0.lock_contended, 1);
    assert_int_equal(ts_nreports(m), 0);
}

/* A path that completes inside the start (no other CPU, the lock free): MMUSIM_OK, nothing left on the frame. */
static void test_continuation_completing_at_once_returns_ok(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct path_user u;
    memset(&u, 0, sizeof(u));
    u.p.l = l;
    ts_spawn(m, 0, 0, path_user_step, &u);
    ts_run_all(m);
    assert_int_equal(u.rc_start, MMUSIM_OK);
    assert_int_equal(u.p.calls, 1);
    assert_int_equal(u.step_calls, 2);
    assert_int_equal(u.saw_done, 1);
}

/* Outside a run there is no step to be pending in: MMUSIM_ENOSTEP, and the path never ran. */
static void test_continuation_outside_run_is_refused(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct path p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(mmusim_spinlock_create(m, &p.l), MMUSIM_OK);
    assert_int_equal(mmusim__smp_cont_start(ts_cpu(m, 0), locked_flush_path, &p), MMUSIM_ENOSTEP);
    assert_int_equal(p.calls, 0);
}

/*
 * Continuations nest: an outer path spends 300 cycles, then starts the
 * locked flush path above as an inner continuation, and records when it is
 * called again. The step sees one pending call; the outer path is called
 * twice (its start, and once the inner path is over), the inner one three
 * times (its start, after the lock, after the acknowledgements), and the
 * outer path's second call comes after the inner path's unlock, at the
 * same clock (nothing runs in between on this CPU).
 */
struct outer_path {
    struct path inner;
    int pc, calls, inner_rc;
    uint64_t resumed_at;
};

static int outer_path_fn(struct mmusim_cpu *cpu, void *state)
{
    struct outer_path *o = state;
    o->calls++;
    if (o->pc == 0) {
        o->pc = 1;
        mmusim_cpu_spend(cpu, 300);
        o->inner_rc = mmusim__smp_cont_start(cpu, locked_flush_path, &o->inner);
        if (o->inner_rc != MMUSIM_OK)
            return o->inner_rc;
    }
    o->resumed_at = mmusim_cpu_cycles(cpu);
    return MMUSIM_OK;
}

struct outer_user {
    struct outer_path o;
    int step_calls, rc_start;
};

static enum mmusim_step outer_user_step(mmusim_cpu *cpu, void *arg)
{
    struct outer_user *u = arg;
    if (u->step_calls++ == 0) {
        u->rc_start = mmusim__smp_cont_start(cpu, outer_path_fn, &u->o);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

static void test_continuations_nest(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker hold = {.l = l, .hold = 1000};
    struct ts_script busy[2];
    memset(busy, 0, sizeof(busy));
    for (unsigned i = 0; i < 2; i++)
        ts_script_add(&busy[i], TS_OP_SPEND, 500, 20);
    struct outer_user u;
    memset(&u, 0, sizeof(u));
    u.o.inner.l = l;
    ts_spawn(m, 1, 0, ts_lock_step, &hold);
    ts_spawn(m, 1, 0, ts_script_step, &busy[0]);
    ts_spawn(m, 2, 0, ts_script_step, &busy[1]);
    ts_spawn(m, 0, 0, outer_user_step, &u);
    ts_run_all(m);

    assert_int_equal(u.rc_start, MMUSIM_PENDING);
    assert_int_equal(u.o.inner_rc, MMUSIM_PENDING);
    assert_int_equal(u.step_calls, 2);
    assert_int_equal(u.o.calls, 2);
    assert_int_equal(u.o.inner.calls, 3);
    assert_int_equal(u.o.inner.pc, 3);
    assert_int_equal(u.o.inner.rc, MMUSIM_OK);
    assert_int_equal(u.o.resumed_at, u.o.inner.unlocked_at);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * A frame holds MAX_CONT (4) nested continuations: a path that starts
 * itself again gets MMUSIM_EFULL at the fifth level, and every level
 * returns it at once (nothing stays on the frame).
 */
struct deep_path {
    int depth, rcs[8];
};

static int deep_path_fn(struct mmusim_cpu *cpu, void *state)
{
    struct deep_path *d = state;
    int me = d->depth++;
    d->rcs[me] = mmusim__smp_cont_start(cpu, deep_path_fn, d);
    return d->rcs[me];
}

static enum mmusim_step deep_step(mmusim_cpu *cpu, void *arg)
{
    struct deep_path *d = arg;
    if (d->depth == 0) {
        d->rcs[7] = mmusim__smp_cont_start(cpu, deep_path_fn, d);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

static void test_continuations_nest_four_deep(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct deep_path d;
    memset(&d, 0, sizeof(d));
    ts_spawn(m, 0, 0, deep_step, &d);
    ts_run_all(m);
    assert_int_equal(MAX_CONT, 4);
    assert_int_equal(d.depth, 4);          /* four levels ran */
    for (int i = 0; i < 4; i++)
        assert_int_equal(d.rcs[i], MMUSIM_EFULL);
    assert_int_equal(d.rcs[7], MMUSIM_EFULL);
}

/* mmusim_is_error: OK and PENDING are statuses, every other code an error. */
static void test_pending_is_not_an_error(void **state)
{
    (void)state;
    assert_false(mmusim_is_error(MMUSIM_OK));
    assert_false(mmusim_is_error(MMUSIM_PENDING));
    for (int code = MMUSIM_PENDING + 1; code < MMUSIM_ERR_COUNT_; code++)
        assert_true(mmusim_is_error(code));
    assert_string_equal(mmusim_err_name(MMUSIM_PENDING), "PENDING");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_lock_taken_in_time_order_not_step_order),
        TS_TEST(test_lock_pending_spins_until_time_ordered_release),
        TS_TEST(test_second_operation_after_pending_is_refused),
        TS_TEST(test_wake_up_finds_sleeper_that_slept_earlier_in_time),
        TS_TEST(test_wake_up_passes_over_later_sleeper),
        TS_TEST(test_pte_store_in_time_order),
        TS_TEST(test_continuation_is_one_pending_call),
        TS_TEST(test_continuation_completing_at_once_returns_ok),
        TS_TEST(test_continuation_outside_run_is_refused),
        TS_TEST(test_continuations_nest),
        TS_TEST(test_continuations_nest_four_deep),
        TS_TEST(test_pending_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
