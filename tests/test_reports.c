/*
 * Kernel-style BUG and WARN reports (include/mmusim/smp.h): one case per
 * check the SMP calls make (what is reported, on which CPU and cycle, and
 * what the call returns), then how reports are recorded: in the order they
 * happen in simulated time, with their CPU and cycle, until reset.
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

/* When a hardirq is due in these tests (on an idle CPU: taken at that cycle). */
#define IRQ_AT 100000u

/* Exactly one report was recorded, and it is this one. */
static void expect_one_report(const mmusim_machine *m, enum mmusim_report_kind kind, unsigned cpu, uint64_t cycle)
{
    struct mmusim_report rep[2];
    memset(rep, 0, sizeof(rep));
    assert_int_equal(mmusim_machine_reports(m, rep, 2), 1);
    assert_int_equal(rep[0].kind, kind);
    assert_int_equal(rep[0].cpu, cpu);
    assert_int_equal(rep[0].cycle, cycle);
    assert_non_null(rep[0].what);
}

/* What a rule's step saw and got back: -1 (or ~0u) until the step sets it. */
struct rule {
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
    int rc, rc2, irqs_off;
    unsigned preempt;
};

/* A lock and a wait queue for the step; every result not yet set. */
static struct rule *rule_new(mmusim_machine *m, struct rule *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(mmusim_spinlock_create(m, &r->l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &r->q), MMUSIM_OK);
    r->rc = r->rc2 = r->irqs_off = -1;
    r->preempt = ~0u;
    return r;
}

/* ==== 1. One check each ==== */

static enum mmusim_step flush_with_irqs_off(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    mmusim_local_irq_disable(cpu);
    r->rc = mmusim_flush_tlb_all_smp(cpu);
    mmusim_local_irq_enable(cpu);
    return MMUSIM_STEP_DONE;
}

/* flush_tlb_all with interrupts off (smp_call_function's check): a WARN, and ECONTEXT. */
static void test_flush_tlb_all_smp_with_irqs_off_is_warn(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct rule r;
    ts_spawn(m, 0, 0, flush_with_irqs_off, rule_new(m, &r));
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_ECONTEXT);
    expect_one_report(m, MMUSIM_REPORT_WARN, 0, ts_costs(m)->ctx_switch);
}

static enum mmusim_step unlock_unheld(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    r->rc = mmusim_spin_unlock(cpu, r->l);
    return MMUSIM_STEP_DONE;
}

/* spin_unlock of a lock this CPU does not hold: a BUG, and EINVAL. */
static void test_spin_unlock_of_unheld_lock_is_bug(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct rule r;
    ts_spawn(m, 0, 0, unlock_unheld, rule_new(m, &r));
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_EINVAL);
    expect_one_report(m, MMUSIM_REPORT_BUG, 0, ts_costs(m)->ctx_switch);
}

static enum mmusim_step lock_twice(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    if (mmusim_spin_lock(cpu, r->l) == MMUSIM_OK) {
        r->rc = mmusim_spin_lock(cpu, r->l);
        r->rc2 = mmusim_spin_unlock(cpu, r->l);
    }
    return MMUSIM_STEP_DONE;
}

/*
 * spin_lock of a lock this CPU already holds (spinlock recursion): a BUG
 * after the first lock's lock_op, and EDEADLK; the lock stays held, so the
 * unlock that follows succeeds.
 */
static void test_spin_lock_recursion_is_bug(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct rule r;
    ts_spawn(m, 0, 0, lock_twice, rule_new(m, &r));
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_EDEADLK);
    assert_int_equal(r.rc2, MMUSIM_OK);
    expect_one_report(m, MMUSIM_REPORT_BUG, 0, c->ctx_switch + c->lock_op);
}

static enum mmusim_step sleep_now(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    r->rc = mmusim_wait_queue_sleep(cpu, r->q);
    return MMUSIM_STEP_DONE;
}

/* Sleeping in a hardirq handler (scheduling while atomic): a BUG, and ECONTEXT. */
static void test_sleep_in_hardirq_is_bug(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct rule r;
    assert_int_equal(mmusim_irq_at(m, 1, IRQ_AT, sleep_now, rule_new(m, &r)), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_ECONTEXT);
    expect_one_report(m, MMUSIM_REPORT_BUG, 1, IRQ_AT + ts_costs(m)->ipi_handler);
}

static enum mmusim_step flush_now(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    r->irqs_off = mmusim_cpu_irqs_disabled(cpu);
    r->rc = mmusim_flush_tlb_all_smp(cpu);
    return MMUSIM_STEP_DONE;
}

/* flush_tlb_all from a hardirq handler: a WARN, and ECONTEXT. */
static void test_flush_tlb_all_smp_in_hardirq_is_warn(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct rule r;
    assert_int_equal(mmusim_irq_at(m, 1, IRQ_AT, flush_now, rule_new(m, &r)), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_ECONTEXT);
    expect_one_report(m, MMUSIM_REPORT_WARN, 1, IRQ_AT + ts_costs(m)->ipi_handler);
}

static enum mmusim_step raise_flush_softirq(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    r->rc2 = mmusim_raise_softirq(cpu, flush_now, r);
    return MMUSIM_STEP_DONE;
}

/*
 * flush_tlb_all from a softirq: interrupts are on there, but it is in
 * interrupt context (in_interrupt()): a WARN, and ECONTEXT. The softirq is
 * raised by a hardirq on an idle CPU and runs when the hardirq returns, at
 * the same cycle.
 */
static void test_flush_tlb_all_smp_in_softirq_is_warn(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct rule r;
    assert_int_equal(mmusim_irq_at(m, 0, IRQ_AT, raise_flush_softirq, rule_new(m, &r)), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.rc2, MMUSIM_OK);
    assert_int_equal(r.irqs_off, 0);
    assert_int_equal(r.rc, MMUSIM_ECONTEXT);
    assert_int_equal(ts_stats(m, 0).softirqs, 1);
    expect_one_report(m, MMUSIM_REPORT_WARN, 0, IRQ_AT + ts_costs(m)->ipi_handler);
}

static enum mmusim_step preempt_underflow(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    mmusim_preempt_enable(cpu);
    r->preempt = mmusim_cpu_preempt_count(cpu);
    return MMUSIM_STEP_DONE;
}

/* preempt_enable without preempt_disable: a BUG, and the count stays 0. */
static void test_preempt_enable_without_disable_is_bug(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct rule r;
    ts_spawn(m, 0, 0, preempt_underflow, rule_new(m, &r));
    ts_run_all(m);
    assert_int_equal(r.preempt, 0);
    expect_one_report(m, MMUSIM_REPORT_BUG, 0, ts_costs(m)->ctx_switch);
}

static enum mmusim_step sleep_holding_lock(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    if (mmusim_spin_lock(cpu, r->l) == MMUSIM_OK) {
        r->rc = mmusim_wait_queue_sleep(cpu, r->q);
        r->rc2 = mmusim_spin_unlock(cpu, r->l);
    }
    return MMUSIM_STEP_DONE;
}

/*
 * Sleeping with a spinlock held (scheduling while atomic: preemption is off):
 * a BUG, and ECONTEXT; the task does not sleep, and the lock is still its own
 * to unlock.
 */
static void test_sleep_holding_spinlock_is_bug(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct rule r;
    mmusim_task *t = ts_spawn(m, 0, 0, sleep_holding_lock, rule_new(m, &r));
    ts_run_all(m);
    assert_int_equal(r.rc, MMUSIM_ECONTEXT);
    assert_int_equal(r.rc2, MMUSIM_OK);
    assert_int_equal(mmusim_task_state(t), MMUSIM_TASK_DONE);
    expect_one_report(m, MMUSIM_REPORT_BUG, 0, c->ctx_switch + c->lock_op);
}

static enum mmusim_step enable_irqs_in_hardirq(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    mmusim_local_irq_enable(cpu);
    r->irqs_off = mmusim_cpu_irqs_disabled(cpu);
    return MMUSIM_STEP_DONE;
}

/*
 * local_irq_enable in a hardirq handler requested with IRQF_DISABLED, per
 * era. The sti always takes effect: no kernel checks it at the call.
 * 2.6.18 and 2.6.32, kernel/irq/handle.c, handle_IRQ_event: a handler may
 * run with interrupts on (those without IRQF_DISABLED always do), so there
 * is no check at all: no report. 2.6.37, handle_IRQ_event: handlers run
 * with interrupts off since 2.6.35 (commit e58aa3d2d0cc), still without a
 * check: no report. 5.11, __handle_irq_event_percpu: WARN_ONCE("irq %u
 * handler %pS enabled interrupts") and local_irq_disable() when the handler
 * returns (commit b738a50a2026): one WARN at the handler's return
 * (IRQ_AT + ipi_handler, it spends nothing), and a second such handler
 * (at 2 IRQ_AT) makes none, WARN_ONCE having fired.
 */
static void irq_enable_in_hardirq(void **state, const char *era, int warns)
{
    const char *const kv[] = {"era", era, NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct rule r, r2;
    assert_int_equal(mmusim_irq_at_flags(m, 0, IRQ_AT, enable_irqs_in_hardirq, rule_new(m, &r), MMUSIM_IRQF_DISABLED),
                     MMUSIM_OK);
    assert_int_equal(mmusim_irq_at_flags(m, 0, 2 * IRQ_AT, enable_irqs_in_hardirq, rule_new(m, &r2),
                                         MMUSIM_IRQF_DISABLED),
                     MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.irqs_off, 0);
    assert_int_equal(r2.irqs_off, 0);
    assert_int_equal(mmusim_cpu_irqs_disabled(ts_cpu(m, 0)), 0); /* the iret restored the idle CPU's IF */
    if (warns)
        expect_one_report(m, MMUSIM_REPORT_WARN, 0, IRQ_AT + ts_costs(m)->ipi_handler);
    else
        assert_int_equal(ts_nreports(m), 0);
}

static void test_local_irq_enable_in_hardirq_2_6_18_no_warn(void **state)
{
    irq_enable_in_hardirq(state, "2.6.18", 0);
}

static void test_local_irq_enable_in_hardirq_2_6_32_no_warn(void **state)
{
    irq_enable_in_hardirq(state, "2.6.32", 0);
}

static void test_local_irq_enable_in_hardirq_2_6_37_no_warn(void **state)
{
    irq_enable_in_hardirq(state, "2.6.37", 0);
}

static void test_local_irq_enable_in_hardirq_5_11_warns_once(void **state)
{
    irq_enable_in_hardirq(state, "5.11", 1);
}

/* ==== 2. How reports are recorded ==== */

struct err_task {
    mmusim_machine *m;
    mmusim_spinlock *l;
    int rc_flush_off, rc_unlock, rc_run, rc_recurse, rc_unlock_ok;
    uint64_t at;
};

static enum mmusim_step err_step(mmusim_cpu *cpu, void *arg)
{
    struct err_task *t = arg;
    t->at = mmusim_cpu_cycles(cpu);
    mmusim_local_irq_disable(cpu);
    t->rc_flush_off = mmusim_flush_tlb_all_smp(cpu); /* WARN 1 */
    mmusim_local_irq_enable(cpu);
    t->rc_unlock = mmusim_spin_unlock(cpu, t->l); /* BUG 2 */
    t->rc_run = mmusim_machine_run(t->m, 0, NULL);
    if (mmusim_spin_lock(cpu, t->l) == MMUSIM_OK) {
        t->rc_recurse = mmusim_spin_lock(cpu, t->l); /* BUG 3 */
        t->rc_unlock_ok = mmusim_spin_unlock(cpu, t->l);
    }
    return MMUSIM_STEP_DONE;
}

struct err_irq {
    mmusim_wait_queue *q;
    int rc_sleep, rc_flush;
    uint64_t at;
};

static enum mmusim_step err_irq_step(mmusim_cpu *cpu, void *arg)
{
    struct err_irq *e = arg;
    e->at = mmusim_cpu_cycles(cpu);
    e->rc_sleep = mmusim_wait_queue_sleep(cpu, e->q); /* BUG 4 */
    e->rc_flush = mmusim_flush_tlb_all_smp(cpu);     /* WARN 5 */
    return MMUSIM_STEP_DONE;
}

/*
 * Across CPUs, reports come in the order they happen in simulated time,
 * with their CPU and cycle. CPU0's task, at ctx_switch: flush_tlb_all with
 * interrupts off (WARN), spin_unlock of a lock not held (BUG),
 * mmusim_machine_run from a step (no report), spin_lock recursion after one
 * lock_op (BUG). CPU1's hardirq at 1000, before ctx_switch: sleeping (BUG)
 * and flush_tlb_all (WARN). CPU1's two come first.
 */
static void test_reports_keep_order_across_cpus(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct err_task e;
    memset(&e, 0, sizeof(e));
    e.m = m;
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    struct err_irq ei;
    memset(&ei, 0, sizeof(ei));
    assert_int_equal(mmusim_wait_queue_create(m, &ei.q), MMUSIM_OK);
    ts_spawn(m, 0, 0, err_step, &e);
    assert_int_equal(mmusim_irq_at(m, 1, 1000, err_irq_step, &ei), MMUSIM_OK);
    ts_run_all(m);

    assert_int_equal(e.at, c->ctx_switch);
    assert_int_equal(ei.at, 1000 + c->ipi_handler);

    struct mmusim_report rep[8];
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 5);
    /* Ordered by when they were recorded: CPU1's hardirq at 1000 ran before CPU0's task at ctx_switch. */
    assert_true(1000 < c->ctx_switch);
    const struct {
        enum mmusim_report_kind kind;
        unsigned cpu;
        uint64_t cycle;
    } want[5] = {
        {MMUSIM_REPORT_BUG, 1, 1000 + c->ipi_handler},
        {MMUSIM_REPORT_WARN, 1, 1000 + c->ipi_handler},
        {MMUSIM_REPORT_WARN, 0, c->ctx_switch},
        {MMUSIM_REPORT_BUG, 0, c->ctx_switch},
        {MMUSIM_REPORT_BUG, 0, c->ctx_switch + c->lock_op},
    };
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(rep[i].kind, want[i].kind);
        assert_int_equal(rep[i].cpu, want[i].cpu);
        assert_int_equal(rep[i].cycle, want[i].cycle);
        assert_non_null(rep[i].what);
    }
}

struct err2 {
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
    int phase;
};

/* preempt_enable underflow; sleeping with a spinlock held; then a proper sleep nobody ends. */
static enum mmusim_step err2_step(mmusim_cpu *cpu, void *arg)
{
    struct err2 *e = arg;
    if (e->phase++ == 0) {
        mmusim_preempt_enable(cpu); /* BUG: underflow */
        if (mmusim_spin_lock(cpu, e->l) == MMUSIM_OK) {
            assert_int_equal(mmusim_wait_queue_sleep(cpu, e->q), MMUSIM_ECONTEXT); /* BUG: scheduling while atomic */
            assert_int_equal(mmusim_spin_unlock(cpu, e->l), MMUSIM_OK);
        }
        return MMUSIM_STEP_MORE;
    }
    assert_int_equal(mmusim_wait_queue_sleep(cpu, e->q), MMUSIM_PENDING);
    return MMUSIM_STEP_BLOCK;
}

/* A softirq that tries flush_tlb_all: interrupts are on, but it is in interrupt context. */
static enum mmusim_step soft_flusher(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    assert_int_equal(mmusim_flush_tlb_all_smp(cpu), MMUSIM_ECONTEXT); /* WARN */
    return MMUSIM_STEP_DONE;
}

/* A hardirq handler that enables interrupts (in 5.11 a WARN when it returns), then raises soft_flusher. */
static enum mmusim_step irq_enabler(mmusim_cpu *cpu, void *arg)
{
    mmusim_local_irq_enable(cpu);
    assert_int_equal(mmusim_raise_softirq(cpu, soft_flusher, arg), MMUSIM_OK);
    return MMUSIM_STEP_DONE;
}

/*
 * On one CPU, reports come in the order they happen: the task's two BUGs
 * (preempt_enable without preempt_disable; sleeping with a spinlock held),
 * then, at IRQ_AT + ipi_handler, the hardirq's WARN (5.11's
 * __handle_irq_event_percpu: a handler returned with interrupts on) and its
 * softirq's (flush_tlb_all from a softirq). The task ends asleep with
 * nobody to wake it: the run stops there (a deadlock, test_engine's
 * test_unwoken_sleeper_ends_run_in_deadlock). The machine is of era 5.11:
 * before, mmusim warned at local_irq_enable in every era, which no kernel
 * does (test_local_irq_enable_in_hardirq_*), and 5.11 is the era whose
 * kernel warns at the handler's return.
 */
static void test_reports_keep_order_within_a_cpu(void **state)
{
    const char *const kv[] = {"era", "5.11", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct err2 e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &e.q), MMUSIM_OK);
    ts_spawn(m, 0, 0, err2_step, &e);
    assert_int_equal(mmusim_irq_at(m, 0, IRQ_AT, irq_enabler, &e), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    struct mmusim_report rep[8];
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 4);
    assert_int_equal(rep[0].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep[1].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep[2].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[2].cycle, IRQ_AT + ts_costs(m)->ipi_handler);
    assert_int_equal(rep[3].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[3].cycle, IRQ_AT + ts_costs(m)->ipi_handler);
}

/* mmusim_machine_reports_reset forgets every report recorded so far. */
static void test_reports_reset_forgets_every_report(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct err_task e;
    memset(&e, 0, sizeof(e));
    e.m = m;
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    ts_spawn(m, 0, 0, err_step, &e);
    ts_run_all(m);
    assert_int_equal(ts_nreports(m), 3);
    mmusim_machine_reports_reset(m);
    assert_int_equal(ts_nreports(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_flush_tlb_all_smp_with_irqs_off_is_warn),
        TS_TEST(test_spin_unlock_of_unheld_lock_is_bug),
        TS_TEST(test_spin_lock_recursion_is_bug),
        TS_TEST(test_sleep_in_hardirq_is_bug),
        TS_TEST(test_flush_tlb_all_smp_in_hardirq_is_warn),
        TS_TEST(test_flush_tlb_all_smp_in_softirq_is_warn),
        TS_TEST(test_preempt_enable_without_disable_is_bug),
        TS_TEST(test_sleep_holding_spinlock_is_bug),
        TS_TEST(test_local_irq_enable_in_hardirq_2_6_18_no_warn),
        TS_TEST(test_local_irq_enable_in_hardirq_2_6_32_no_warn),
        TS_TEST(test_local_irq_enable_in_hardirq_2_6_37_no_warn),
        TS_TEST(test_local_irq_enable_in_hardirq_5_11_warns_once),
        TS_TEST(test_reports_keep_order_across_cpus),
        TS_TEST(test_reports_keep_order_within_a_cpu),
        TS_TEST(test_reports_reset_forgets_every_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
