/*
 * Spinlocks, tasks and wait queues (include/mmusim/smp.h): ticket-order
 * contention and hand-offs, a release later in simulated time than an
 * acquirer's clock, and wake-ups across CPUs (reschedule IPI, address-space
 * switch), from a local hardirq, and onto a busy CPU.
 *
 * Cycle values follow the timing model in support.h; none is written as a
 * number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

/* ==== 1. Spinlock contention ==== */

/*
 * Three CPUs take one lock at the same time t0 = ctx_switch. Each reaches
 * the acquisition at t0 + lock_op, when the others' next events (t0) are
 * earlier: each call is pending and the acquisitions happen in global time
 * order, ties by CPU number. CPU0 gets it at t0 + lock_op; CPU1 and CPU2
 * spin from t0 + lock_op, in ticket order. Each holds it H cycles and
 * unlocks (lock_op): release R_i. The next owner gets it at
 * R_i + lock_handoff and its spin_cycles is that minus its spin start.
 */
static void test_lock_contention(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t H = 5000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker t[3];
    memset(t, 0, sizeof(t));
    for (unsigned i = 0; i < 3; i++) {
        t[i].l = l;
        t[i].hold = H;
        ts_spawn(m, i, 0, ts_lock_step, &t[i]);
    }
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch, from = t0 + c->lock_op;
    uint64_t acq0 = from;
    uint64_t rel0 = acq0 + H + c->lock_op;
    uint64_t acq1 = rel0 + c->lock_handoff;
    uint64_t rel1 = acq1 + H + c->lock_op;
    uint64_t acq2 = rel1 + c->lock_handoff;
    uint64_t rel2 = acq2 + H + c->lock_op;
    const uint64_t acq[3] = {acq0, acq1, acq2}, rel[3] = {rel0, rel1, rel2};
    for (unsigned i = 0; i < 3; i++) {
        struct mmusim_cpu_stats s = ts_stats(m, i);
        assert_int_equal(t[i].rc_lock, MMUSIM_PENDING);
        assert_int_equal(t[i].rc_unlock, MMUSIM_OK);
        assert_int_equal(t[i].spin_from, from);
        assert_int_equal(t[i].owner, 1);
        assert_int_equal(t[i].preempt_in, 1); /* spin_lock disabled preemption */
        assert_int_equal(t[i].acquired, acq[i]);
        assert_int_equal(t[i].released, rel[i]);
        assert_int_equal(s.lock_acquires, 1);
        assert_int_equal(s.lock_contended, i == 0 ? 0 : 1);
        assert_int_equal(s.spin_cycles, acq[i] - from);
        assert_int_equal(mmusim_cpu_preempt_count(ts_cpu(m, i)), 0);
    }
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * A release that lies later in simulated time than an acquirer's clock
 * (smp_impl.h: a release needs no turn, it is stamped with its time): CPU0
 * takes the lock at t0 + lock_op (its turn: before CPU1's at the tie), then
 * holds H and unlocks in one step before CPU1's acquisition is done.
 * CPU1's spin_lock at t0 + lock_op finds it free but released at
 * R0 = t0 + 2 lock_op + H: it spins until R0 + lock_handoff.
 */
static void test_lock_released_in_future(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t H = 3000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = H}, b = {.l = l, .hold = 10};
    ts_spawn(m, 0, 0, ts_lock_atomic, &a);
    ts_spawn(m, 1, 0, ts_lock_step, &b);
    ts_run_all(m);
    assert_int_equal(a.rc_lock, MMUSIM_PENDING); /* CPU1 was at t0 when CPU0 reached the lock */
    assert_int_equal(b.rc_lock, MMUSIM_PENDING);
    assert_int_equal(a.rc_unlock, MMUSIM_OK);

    uint64_t t0 = c->ctx_switch;
    uint64_t rel0 = t0 + c->lock_op + H + c->lock_op;
    assert_int_equal(a.released, rel0);
    assert_int_equal(b.spin_from, t0 + c->lock_op);
    assert_int_equal(b.acquired, rel0 + c->lock_handoff);
    struct mmusim_cpu_stats s1 = ts_stats(m, 1);
    assert_int_equal(s1.lock_contended, 1);
    assert_int_equal(s1.spin_cycles, rel0 + c->lock_handoff - (t0 + c->lock_op));
}

/*
 * A lock handed over to a CPU that is still spinning for it is not yet that
 * CPU's: spin_unlock from it (here outside the run, as a handler nested on
 * the spin could too) is a BUG report and MMUSIM_EINVAL, and the spinner
 * still gets the lock. (It used to free the lock under the spinner, which
 * then waited for a hand-over that never came: the run never ended.)
 */
static void test_unlock_by_cpu_still_spinning(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = 1000000}, b = {.l = l, .hold = 10};
    ts_spawn(m, 0, 0, ts_lock_step, &a);
    ts_spawn(m, 1, 0, ts_lock_step, &b);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 100000, &r), MMUSIM_OK);
    assert_int_equal(b.rc_lock, MMUSIM_PENDING); /* CPU1 spins */
    assert_int_equal(mmusim_spin_unlock(ts_cpu(m, 0), l), MMUSIM_OK); /* handed to CPU1 */
    assert_false(mmusim_spin_is_owner(ts_cpu(m, 1), l));
    uint64_t before = ts_nreports(m);
    assert_int_equal(mmusim_spin_unlock(ts_cpu(m, 1), l), MMUSIM_EINVAL);
    assert_int_equal(ts_nreports(m), before + 1);
    ts_run_all(m);
    assert_int_equal(b.owner, 1);
    assert_int_equal(b.rc_unlock, MMUSIM_OK);
    assert_int_equal(a.rc_unlock, MMUSIM_EINVAL); /* CPU0 no longer held it */
}

/*
 * Uncontended, but last released by another CPU: CPU0 locks and unlocks at
 * t0; CPU1, at t0 + 10000, finds it free and pays lock_op + lock_handoff
 * (the line was in CPU0's cache); its lock_cycles is 2 lock_op +
 * lock_handoff, with no spin and no contention.
 */
static void test_lock_handoff_uncontended(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = 10}, b = {.l = l, .hold = 10, .delay = 10000};
    ts_spawn(m, 0, 0, ts_lock_atomic, &a);
    ts_spawn(m, 1, 0, ts_lock_atomic, &b);
    ts_run_all(m);
    uint64_t t0 = c->ctx_switch;
    assert_int_equal(a.acquired, t0 + c->lock_op);
    assert_int_equal(b.acquired, t0 + b.delay + c->lock_op + c->lock_handoff);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.lock_cycles, 2 * (uint64_t)c->lock_op);
    assert_int_equal(s1.lock_cycles, 2 * (uint64_t)c->lock_op + c->lock_handoff);
    assert_int_equal(s1.lock_contended, 0);
    assert_int_equal(s1.spin_cycles, 0);
}

/* ==== 2. Wake-ups ==== */

struct sleeper {
    mmusim_wait_queue *q;
    int phase, rc;
    uint64_t woke_at;
};

static enum mmusim_step sleeper_step(mmusim_cpu *cpu, void *arg)
{
    struct sleeper *s = arg;
    if (s->phase++ == 0) {
        s->rc = mmusim_wait_queue_sleep(cpu, s->q);
        return MMUSIM_STEP_BLOCK;
    }
    s->woke_at = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

struct waker {
    mmusim_wait_queue *q;
    uint64_t delay, woke_at;
    int phase;
    unsigned n;
};

static enum mmusim_step waker_step(mmusim_cpu *cpu, void *arg)
{
    struct waker *w = arg;
    if (w->phase++ == 0) {
        mmusim_cpu_spend(cpu, w->delay);
        return MMUSIM_STEP_MORE;
    }
    w->woke_at = mmusim_cpu_cycles(cpu);
    assert_false(mmusim_is_error(mmusim_wake_up(cpu, w->q, &w->n)));
    return MMUSIM_STEP_DONE; /* a pending wake-up is done before the task ends */
}

/*
 * A task of mm A sleeps on CPU1; if other_mm, a task of mm B then runs on
 * CPU1 (so B is loaded when the sleeper wakes). CPU0 wakes it at w (its
 * clock at wake_up); CPU1 is idle. If idle CPUs halt (cost.idle_poll 0, as
 * on p3: 2.6.18 default_idle clears TS_POLLING around hlt), try_to_wake_up
 * sends a reschedule IPI: resumption at w + ipi_send + ipi_deliver +
 * ipi_handler + ctx_switch. If they poll (idle_poll 1, core2's default:
 * mwait_idle keeps TS_POLLING set), resched_task only sets need_resched:
 * resumption at w + ctx_switch. Plus mov_cr3 (+ mov_cr3_pae_extra under
 * PAE) only when B, not A, is loaded.
 */
static void wake_remote(void **state, const char *paging, int other_mm, int poll)
{
    const char *const kv[] = {"paging", paging, "cost.idle_poll", poll ? "1" : "0", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t a_cr3, b_cr3;
    assert_int_equal(mmusim_pgd_create(m, &a_cr3), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_create(m, &b_cr3), MMUSIM_OK);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct ts_script other = {0};
    ts_script_add(&other, TS_OP_SPEND, 1000, 2);
    struct waker w = {.q = q, .delay = 40000};
    mmusim_task *ts = ts_spawn(m, 1, a_cr3, sleeper_step, &s);
    if (other_mm)
        ts_spawn(m, 1, b_cr3, ts_script_step, &other);
    ts_spawn(m, 0, 0, waker_step, &w);
    ts_run_all(m);

    uint64_t cr3_cost = c->mov_cr3 + (strcmp(paging, "pae") == 0 ? c->mov_cr3_pae_extra : 0);
    uint64_t ipi = poll ? 0 : c->ipi_send + c->ipi_deliver + c->ipi_handler;
    uint64_t expect = w.woke_at + ipi + c->ctx_switch + (other_mm ? cr3_cost : 0);
    assert_int_equal(w.woke_at, c->ctx_switch + w.delay);
    assert_int_equal(w.n, 1);
    assert_int_equal(s.rc, MMUSIM_PENDING); /* a sleep always is: the engine completes it at the wake-up */
    /* B's task (if any) was over long before the wake-up. */
    if (other_mm)
        assert_true(other.pc == 2 && other.at[1].clock + 1000 < w.woke_at);
    assert_int_equal(mmusim_task_resumed_at(ts), expect);
    assert_int_equal(s.woke_at, expect);
    assert_int_equal(mmusim_task_state(ts), MMUSIM_TASK_DONE);
    assert_int_equal(mmusim_task_done_at(ts), expect);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.ipis_sent, poll ? 0 : 1);
    assert_int_equal(s0.ipi_send_cycles, poll ? 0 : c->ipi_send);
    assert_int_equal(s1.ipis_received, poll ? 0 : 1);
    assert_int_equal(s1.ipis_resched, poll ? 0 : 1);
    assert_int_equal(s1.ipis_tlb, 0);
    assert_int_equal(s1.ipi_handler_cycles, poll ? 0 : c->ipi_handler);
    /* A's first switch, B's switch, A's switch back: 3 CR3 writes with B, 1 without. */
    assert_int_equal(s1.cr3_writes, other_mm ? 3 : 1);
    /* Under PAE each CR3 write loads the four PDPTE registers once (SDM Vol. 3A §4.4.1). */
    assert_int_equal(s1.pdpte_loads, strcmp(paging, "pae") == 0 ? s1.cr3_writes : 0);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_wake_remote_same_mm(void **state)
{
    wake_remote(state, "2level", 0, 0);
}

static void test_wake_remote_other_mm(void **state)
{
    wake_remote(state, "2level", 1, 0);
}

static void test_wake_remote_other_mm_pae(void **state)
{
    wake_remote(state, "pae", 1, 0);
}

static void test_wake_remote_polling_same_mm(void **state)
{
    wake_remote(state, "2level", 0, 1);
}

static void test_wake_remote_polling_other_mm_pae(void **state)
{
    wake_remote(state, "pae", 1, 1);
}

/* A hardirq handler that wakes q, then spends. */
struct irq_waker {
    mmusim_wait_queue *q;
    uint64_t spend, at;
    unsigned n;
    int woke;
};

static enum mmusim_step irq_wake_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_waker *w = arg;
    if (!w->woke++) {
        w->at = mmusim_cpu_cycles(cpu);
        int rc = mmusim_wake_up(cpu, w->q, &w->n);
        assert_false(mmusim_is_error(rc));
        if (rc == MMUSIM_PENDING)
            return MMUSIM_STEP_MORE; /* the step returns; the spend comes after the wake-up */
    }
    mmusim_cpu_spend(cpu, w->spend);
    return MMUSIM_STEP_DONE;
}

/*
 * Same-CPU wake-up: a kernel thread sleeps on CPU0, which is then idle. A
 * hardirq at X (taken at X: the CPU is idle) wakes it and spends 100: no
 * IPI; the task runs once the handler returns:
 * resumed_at = X + ipi_handler + 100 + ctx_switch.
 */
static void test_wake_from_local_irq(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct irq_waker w = {.q = q, .spend = 100};
    const uint64_t X = 20000;
    mmusim_task *ts = ts_spawn(m, 0, 0, sleeper_step, &s);
    assert_int_equal(mmusim_irq_at(m, 0, X, irq_wake_step, &w), MMUSIM_OK);
    ts_run_all(m);

    uint64_t expect = X + c->ipi_handler + w.spend + c->ctx_switch;
    assert_int_equal(w.at, X + c->ipi_handler);
    assert_int_equal(w.n, 1);
    assert_int_equal(mmusim_task_resumed_at(ts), expect);
    assert_int_equal(s.woke_at, expect);
    struct mmusim_cpu_stats all;
    mmusim_machine_stats(m, &all);
    assert_int_equal(all.ipis_sent, 0);
    assert_int_equal(all.ipis_received, 0);
    assert_int_equal(ts_stats(m, 0).context_switches, 2);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * Waking a task whose CPU is busy: no IPI (no wake-up preemption); the task
 * runs when the current one ends. A kernel thread S sleeps on CPU1 at t0;
 * X then runs there (ctx_switch, ten 1000-cycle steps). CPU0 wakes S at
 * t0 + 5000, while X runs: S resumes at done_at(X) + ctx_switch.
 */
static void test_wake_busy_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct ts_script x = {0};
    ts_script_add(&x, TS_OP_SPEND, 1000, 10);
    struct waker w = {.q = q, .delay = 5000};
    mmusim_task *ts = ts_spawn(m, 1, 0, sleeper_step, &s);
    mmusim_task *tx = ts_spawn(m, 1, 0, ts_script_step, &x);
    ts_spawn(m, 0, 0, waker_step, &w);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t x_done = t0 + c->ctx_switch + 10 * 1000;
    assert_int_equal(w.n, 1);
    assert_true(w.woke_at > t0 + c->ctx_switch && w.woke_at < x_done); /* X was running */
    assert_int_equal(mmusim_task_done_at(tx), x_done);
    assert_int_equal(mmusim_task_resumed_at(ts), x_done + c->ctx_switch);
    assert_int_equal(s.woke_at, x_done + c->ctx_switch);
    struct mmusim_cpu_stats all;
    mmusim_machine_stats(m, &all);
    assert_int_equal(all.ipis_sent, 0);
}


/* ==== 3. Task arguments ==== */

static enum mmusim_step never_called(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (*(unsigned *)arg)++;
    return MMUSIM_STEP_DONE;
}

/* mmusim_task_create on a CPU the machine does not have: ECPU, and no task: a run has nothing to do. */
static void test_task_create_refuses_bad_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    unsigned calls = 0;
    mmusim_task *t = NULL;
    assert_int_equal(mmusim_task_create(m, 2, 0, never_called, &calls, &t), MMUSIM_ECPU);
    assert_int_equal(ts_nreports(m), 0);
    assert_int_equal(ts_run_all(m).steps, 0);
    assert_int_equal(calls, 0);
}

/* mmusim_task_create with a NULL step: EINVAL, and no task. */
static void test_task_create_refuses_null_step(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_task *t = NULL;
    assert_int_equal(mmusim_task_create(m, 0, 0, NULL, NULL, &t), MMUSIM_EINVAL);
    assert_int_equal(ts_nreports(m), 0);
    assert_int_equal(ts_run_all(m).steps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_lock_contention),
        TS_TEST(test_lock_released_in_future),
        TS_TEST(test_lock_handoff_uncontended),
        TS_TEST(test_unlock_by_cpu_still_spinning),
        TS_TEST(test_wake_remote_same_mm),
        TS_TEST(test_wake_remote_other_mm),
        TS_TEST(test_wake_remote_other_mm_pae),
        TS_TEST(test_wake_remote_polling_same_mm),
        TS_TEST(test_wake_remote_polling_other_mm_pae),
        TS_TEST(test_wake_from_local_irq),
        TS_TEST(test_wake_busy_cpu),
        TS_TEST(test_task_create_refuses_bad_cpu),
        TS_TEST(test_task_create_refuses_null_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
