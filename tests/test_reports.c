/*
 * Kernel-style BUG and WARN reports (include/mmusim/smp.h): the checks the
 * SMP calls make, what they return, and how reports are recorded (in order,
 * with their CPU and cycle).
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

/* ==== Errors and reports ==== */

struct err_task {
    mmusim_machine *m;
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
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
 * Outside a run: flush_tlb_all is EBUSY, a bad CPU is ECPU, a NULL machine
 * EINVAL. Inside: flush_tlb_all with interrupts off is a WARN and EBUSY;
 * spin_unlock of a lock not held is a BUG and EINVAL; machine_run from a
 * step is EBUSY; spin_lock recursion is a BUG and EBUSY; sleeping in a
 * hardirq is a BUG (EBUSY) and flushing from it a WARN (EBUSY). Reports
 * come in order with their CPU and cycle.
 */
static void test_errors(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_task *t = NULL;
    struct mmusim_run_result r;
    assert_int_equal(mmusim_flush_tlb_all_smp(ts_cpu(m, 0)), MMUSIM_EBUSY);
    assert_int_equal(mmusim_flush_tlb_all_smp(NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_task_create(m, 2, 0, err_step, NULL, &t), MMUSIM_ECPU);
    assert_int_equal(mmusim_task_create(m, 0, 0, NULL, NULL, &t), MMUSIM_EINVAL);
    assert_int_equal(mmusim_machine_run(NULL, 0, &r), MMUSIM_EINVAL);
    assert_int_equal(mmusim_irq_at(m, 5, 0, err_irq_step, NULL), MMUSIM_ECPU);
    assert_int_equal(ts_nreports(m), 0);

    struct err_task e;
    memset(&e, 0, sizeof(e));
    e.m = m;
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &e.q), MMUSIM_OK);
    struct err_irq ei = {.q = e.q};
    ts_spawn(m, 0, 0, err_step, &e);
    assert_int_equal(mmusim_irq_at(m, 1, 1000, err_irq_step, &ei), MMUSIM_OK);
    ts_run_all(m);

    assert_int_equal(e.rc_flush_off, MMUSIM_EBUSY);
    assert_int_equal(e.rc_unlock, MMUSIM_EINVAL);
    assert_int_equal(e.rc_run, MMUSIM_EBUSY);
    assert_int_equal(e.rc_recurse, MMUSIM_EBUSY);
    assert_int_equal(e.rc_unlock_ok, MMUSIM_OK);
    assert_int_equal(ei.rc_sleep, MMUSIM_EBUSY);
    assert_int_equal(ei.rc_flush, MMUSIM_EBUSY);
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
    mmusim_machine_reports_reset(m);
    assert_int_equal(ts_nreports(m), 0);
}

struct err2 {
    mmusim_spinlock *l;
    mmusim_wait_queue *q;
    int phase, rc_sleep_locked, irqs_off_after, soft_irqs_off, rc_soft_flush;
    unsigned preempt_after;
};

/* preempt_enable underflow; sleeping with a spinlock held; then a proper sleep nobody ends. */
static enum mmusim_step err2_step(mmusim_cpu *cpu, void *arg)
{
    struct err2 *e = arg;
    if (e->phase++ == 0) {
        mmusim_preempt_enable(cpu); /* BUG: underflow */
        e->preempt_after = mmusim_cpu_preempt_count(cpu);
        if (mmusim_spin_lock(cpu, e->l) == MMUSIM_OK) {
            e->rc_sleep_locked = mmusim_wait_queue_sleep(cpu, e->q); /* BUG: scheduling while atomic */
            (void)mmusim_spin_unlock(cpu, e->l);
        }
        return MMUSIM_STEP_MORE;
    }
    (void)mmusim_wait_queue_sleep(cpu, e->q);
    return MMUSIM_STEP_BLOCK;
}

/* A softirq that tries flush_tlb_all: interrupts are on, but it is in interrupt context. */
static enum mmusim_step soft_flusher(mmusim_cpu *cpu, void *arg)
{
    struct err2 *e = arg;
    e->soft_irqs_off = mmusim_cpu_irqs_disabled(cpu);
    e->rc_soft_flush = mmusim_flush_tlb_all_smp(cpu);
    return MMUSIM_STEP_DONE;
}

/* A hardirq handler that enables interrupts (a WARN, and they stay off), then raises soft_flusher. */
static enum mmusim_step irq_enabler(mmusim_cpu *cpu, void *arg)
{
    struct err2 *e = arg;
    mmusim_local_irq_enable(cpu);
    e->irqs_off_after = mmusim_cpu_irqs_disabled(cpu);
    (void)mmusim_raise_softirq(cpu, soft_flusher, e);
    return MMUSIM_STEP_DONE;
}

/*
 * More reports: preempt_enable without preempt_disable (BUG, count stays
 * 0); sleeping while holding a spinlock (BUG, EBUSY); local_irq_enable in a
 * hardirq handler (WARN, interrupts stay off); flush_tlb_all from a softirq
 * (interrupts on, but in_interrupt(): WARN, EBUSY). A task asleep that nobody
 * wakes leaves work no CPU can do: the run ends with deadlock = 1,
 * finished = 0.
 */
static void test_errors_more(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct err2 e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &e.q), MMUSIM_OK);
    mmusim_task *t = ts_spawn(m, 0, 0, err2_step, &e);
    assert_int_equal(mmusim_irq_at(m, 0, 100000, irq_enabler, &e), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 1);
    assert_int_equal(mmusim_task_state(t), MMUSIM_TASK_SLEEPING);
    assert_int_equal(e.preempt_after, 0);
    assert_int_equal(e.rc_sleep_locked, MMUSIM_EBUSY);
    assert_int_equal(e.irqs_off_after, 1);
    assert_int_equal(e.soft_irqs_off, 0);
    assert_int_equal(e.rc_soft_flush, MMUSIM_EBUSY);
    struct mmusim_report rep[8];
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 4);
    assert_int_equal(rep[0].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep[1].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep[2].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[2].cycle, 100000 + ts_costs(m)->ipi_handler);
    assert_int_equal(rep[3].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[3].cycle, 100000 + ts_costs(m)->ipi_handler);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_errors),
        TS_TEST(test_errors_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
