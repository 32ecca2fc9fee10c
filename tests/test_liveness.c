/*
 * Liveness (docs/smp.md, Liveness; issue 14 item 3): no workload makes
 * mmusim_machine_run loop forever. A step that returns MORE after going to
 * sleep stops the run with MMUSIM_ENOBLOCK; a task step, an interrupt
 * handler or a softirq that returns MORE again and again without spending a
 * cycle stops it with MMUSIM_ESTALL once stall_steps actions in a row left
 * the clock where it was. Each is a BUG report, and the machine can still be
 * inspected and destroyed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "support.h"

/* A small stall_steps keeps the tests fast; one test runs the default. */
#define STALL "1000"
#define STALL_N 1000u

static const struct mmusim_report *only_report(mmusim_machine *m, struct mmusim_report *r)
{
    assert_int_equal(mmusim_machine_reports(m, r, 1), 1);
    return r;
}

/* ---- (a) MORE after going to sleep ---- */

struct sleepy {
    mmusim_wait_queue *q;
    unsigned calls;
    int rc;
};

static enum mmusim_step sleep_then_more(mmusim_cpu *cpu, void *arg)
{
    struct sleepy *s = arg;
    s->calls++;
    s->rc = mmusim_wait_queue_sleep(cpu, s->q);
    return MMUSIM_STEP_MORE; /* should be BLOCK */
}

/*
 * The task sleeps and says MORE: a BUG report on its CPU, the run returns
 * MMUSIM_ENOBLOCK after that step (whatever the report policy), the task is
 * asleep as if it had said BLOCK. Another run goes on from there: nobody
 * wakes it, so that run ends in deadlock, with no new report.
 */
static void test_sleep_then_more_is_an_error(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct sleepy s = {0};
    assert_int_equal(mmusim_wait_queue_create(m, &s.q), MMUSIM_OK);
    mmusim_task *t = ts_spawn(m, 1, 0, sleep_then_more, &s);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &res), MMUSIM_ENOBLOCK);
    assert_int_equal(s.rc, MMUSIM_PENDING);
    assert_int_equal(s.calls, 1);
    assert_int_equal(res.finished, 0);
    assert_int_equal(res.stopped_on_bug, 0);
    struct mmusim_report r;
    only_report(m, &r);
    assert_int_equal(r.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(r.cpu, 1);
    assert_int_equal(r.cycle, ts_clock(m, 1));
    assert_non_null(strstr(r.what, "MORE after going to sleep"));
    assert_int_equal(ts_stats(m, 1).bugs, 1);
    assert_int_equal(mmusim_task_state(t), MMUSIM_TASK_SLEEPING);

    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &res), MMUSIM_OK);
    assert_int_equal(res.deadlock, 1);
    assert_int_equal(s.calls, 1);
    assert_int_equal(ts_nreports(m), 1);
    assert_string_equal(mmusim_err_name(MMUSIM_ENOBLOCK), "ENOBLOCK");
    assert_true(mmusim_is_error(MMUSIM_ENOBLOCK));
}

/* ---- (b), (c), (d): MORE forever without spending ---- */

struct spinner {
    unsigned long calls;
};

static enum mmusim_step more_forever(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    ((struct spinner *)arg)->calls++;
    return MMUSIM_STEP_MORE;
}

/* A stall's report: a BUG on cpu, at its clock, naming the soft lockup. */
static void check_stall_report(mmusim_machine *m, unsigned cpu)
{
    struct mmusim_report r;
    only_report(m, &r);
    assert_int_equal(r.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(r.cpu, cpu);
    assert_int_equal(r.cycle, ts_clock(m, cpu));
    assert_int_equal(r.address, 0);
    assert_non_null(strstr(r.what, "soft lockup"));
}

/*
 * (b) A task step that spends nothing: the clock never moves, so no cycle
 * limit could end the run. With the default stall_steps (1,000,000) and no
 * cycle limit the run returns MMUSIM_ESTALL after that many calls.
 */
static void test_task_more_forever_stalls_default(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct spinner sp = {0};
    ts_spawn(m, 0, 0, more_forever, &sp);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, 0, &res), MMUSIM_ESTALL);
    /* The first call finds the clock just moved by the switch; the stall counts from there. */
    assert_int_equal(sp.calls, MMUSIM_STALL_STEPS_DEFAULT);
    assert_int_equal(res.finished, 0);
    assert_int_equal(res.deadlock, 0);
    check_stall_report(m, 0);
}

/* The key: stall_steps 1000 stops after 1000 calls, and a second run stalls again. */
static void test_stall_steps_key(void **state)
{
    const char *kv[] = {"stall_steps", STALL, NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    struct spinner sp = {0};
    ts_spawn(m, 0, 0, more_forever, &sp);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, 0, &res), MMUSIM_ESTALL);
    assert_int_equal(sp.calls, STALL_N);
    check_stall_report(m, 0);
    assert_int_equal(mmusim_machine_run(m, 0, &res), MMUSIM_ESTALL);
    assert_int_equal(sp.calls, 2 * STALL_N);
    assert_int_equal(ts_nreports(m), 2);
}

/* A step that spends cycles is no stall, however many steps (stall_steps 1000, 5000 steps). */
struct counted {
    unsigned left;
};

static enum mmusim_step spend_n(mmusim_cpu *cpu, void *arg)
{
    struct counted *c = arg;
    mmusim_cpu_spend(cpu, 1);
    return --c->left ? MMUSIM_STEP_MORE : MMUSIM_STEP_DONE;
}

static void test_spending_steps_do_not_stall(void **state)
{
    const char *kv[] = {"stall_steps", STALL, NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    struct counted c0 = {5 * STALL_N}, c1 = {5 * STALL_N};
    ts_spawn(m, 0, 0, spend_n, &c0);
    ts_spawn(m, 1, 0, spend_n, &c1);
    struct mmusim_run_result res = ts_run_all(m);
    assert_int_equal(res.finished, 1);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * (c) A device interrupt handler that returns MORE forever on CPU 1, while
 * CPU 0's task spends cycles: CPU 1 stays the earliest, and the stall is its.
 */
static void test_irq_handler_more_forever_stalls(void **state)
{
    const char *kv[] = {"stall_steps", STALL, NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    struct spinner sp = {0};
    struct counted c0 = {1000000};
    ts_spawn(m, 0, 0, spend_n, &c0);
    assert_int_equal(mmusim_irq_at(m, 1, 1000, more_forever, &sp), MMUSIM_OK);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, 0, &res), MMUSIM_ESTALL);
    assert_int_equal(sp.calls, STALL_N);
    check_stall_report(m, 1);
    assert_int_equal(mmusim_cpu_context(ts_cpu(m, 1)), MMUSIM_CTX_HARDIRQ);
}

/* (c) A softirq that returns MORE forever, raised by a task on CPU 0. */
struct raiser {
    struct spinner *sp;
    int raised;
};

static enum mmusim_step raise_then_done(mmusim_cpu *cpu, void *arg)
{
    struct raiser *r = arg;
    if (!r->raised) {
        r->raised = 1;
        mmusim_cpu_spend(cpu, 100);
        assert_int_equal(mmusim_raise_softirq(cpu, more_forever, r->sp), MMUSIM_OK);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

static void test_softirq_more_forever_stalls(void **state)
{
    const char *kv[] = {"stall_steps", STALL, NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct spinner sp = {0};
    struct raiser r = {&sp, 0};
    ts_spawn(m, 0, 0, raise_then_done, &r);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, 0, &res), MMUSIM_ESTALL);
    /* Entering the softirq is an action too, at the same time (it costs no cycle). */
    assert_int_equal(sp.calls, STALL_N - 1);
    check_stall_report(m, 0);
    assert_int_equal(mmusim_cpu_context(ts_cpu(m, 0)), MMUSIM_CTX_SOFTIRQ);
}

/* A task that takes the lock and ends holding it. */
static enum mmusim_step lock_and_exit(mmusim_cpu *cpu, void *arg)
{
    int rc = mmusim_spin_lock(cpu, arg);
    (void)rc;
    return MMUSIM_STEP_DONE;
}

/* Takes the lock (then spins for it forever). */
static enum mmusim_step lock_forever(mmusim_cpu *cpu, void *arg)
{
    int rc = mmusim_spin_lock(cpu, arg);
    return rc == MMUSIM_PENDING ? MMUSIM_STEP_MORE : MMUSIM_STEP_DONE;
}

static enum mmusim_step done_at_once(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

/*
 * A spin on a lock never released, on a CPU with an interrupt due far
 * ahead: the CPU takes its ticks while it waits for it, so the clock moves,
 * the stall count never fires and the run is no deadlock (an event
 * remains): without a cycle limit it used to go on for as long as the
 * interrupt was away (forever at UINT64_MAX). The soft-lockup watchdog's
 * 20 s end it: MMUSIM_ESTALL and one BUG report on the spinning CPU, whose
 * clock is past the threshold.
 */
static void test_spin_forever_is_a_soft_lockup(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    ts_spawn(m, 0, 0, lock_and_exit, l);
    ts_spawn(m, 1, 0, lock_forever, l);
    assert_int_equal(mmusim_irq_at(m, 1, UINT64_MAX - 1, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_ESTALL);
    struct mmusim_report rep;
    assert_int_equal(only_report(m, &rep)->kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 1);
    assert_non_null(strstr(rep.what, "soft lockup"));
    uint64_t threshold = (uint64_t)ts_costs(m)->cpu_mhz * 1000000u * 20u;
    assert_true(ts_clock(m, 1) > threshold);
    assert_true(ts_clock(m, 1) < 2 * threshold);
}

/*
 * (d) With a cycle limit the run returns too: the clock never reaches the
 * limit, the stall check ends it. Under MMUSIM_REPORT_STOP_ON_BUG the
 * stall's BUG is also the one that stopped the run.
 */
static void test_cycle_limit_run_returns(void **state)
{
    const char *kv[] = {"stall_steps", STALL, NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    struct spinner sp = {0};
    struct counted c1 = {1000000};
    ts_spawn(m, 0, 0, more_forever, &sp);
    ts_spawn(m, 1, 0, spend_n, &c1);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_STOP_ON_BUG);
    struct mmusim_run_result res;
    assert_int_equal(mmusim_machine_run(m, 1000000, &res), MMUSIM_ESTALL);
    assert_true(res.end_cycle < 1000000);
    assert_int_equal(res.stopped_on_bug, 1);
    assert_int_equal(res.bug_index, 0);
    assert_int_equal(sp.calls, STALL_N);
    check_stall_report(m, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_sleep_then_more_is_an_error),
        TS_TEST(test_task_more_forever_stalls_default),
        TS_TEST(test_stall_steps_key),
        TS_TEST(test_spending_steps_do_not_stall),
        TS_TEST(test_irq_handler_more_forever_stalls),
        TS_TEST(test_softirq_more_forever_stalls),
        TS_TEST(test_cycle_limit_run_returns),
        TS_TEST(test_spin_forever_is_a_soft_lockup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
