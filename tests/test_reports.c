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

/*
 * flush_tlb_all twice with interrupts off, one step each (the second once
 * the first is over), then interrupts on again. The kernel WARNs and goes
 * on: so do these flushes (the other CPU, idle with interrupts on, takes
 * both IPIs), and what is reported depends on the era.
 */
struct irqs_off_flusher {
    int phase, rc[2];
    uint64_t at[2];
};

static enum mmusim_step flush_twice_irqs_off(mmusim_cpu *cpu, void *arg)
{
    struct irqs_off_flusher *f = arg;
    if (f->phase < 2) {
        if (f->phase == 0)
            mmusim_local_irq_disable(cpu);
        f->at[f->phase] = mmusim_cpu_cycles(cpu);
        f->rc[f->phase] = mmusim_flush_tlb_all_smp(cpu);
        f->phase++;
        return MMUSIM_STEP_MORE;
    }
    mmusim_local_irq_enable(cpu);
    return MMUSIM_STEP_DONE;
}

static mmusim_machine *run_flush_twice_irqs_off(void **state, const char *era, struct irqs_off_flusher *f)
{
    const char *const kv[] = {"era", era, NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    memset(f, 0, sizeof(*f));
    ts_spawn(m, 0, 0, flush_twice_irqs_off, f);
    ts_run_all(m);
    assert_int_equal(f->rc[0], MMUSIM_PENDING);
    assert_int_equal(f->rc[1], MMUSIM_PENDING);
    assert_int_equal(ts_stats(m, 1).ipis_received, 2);
    assert_int_equal(ts_stats(m, 0).global_flushes, 2);
    return m;
}

/*
 * 2.6.18, arch/i386/kernel/smp.c, smp_call_function(): spin_lock(&call_lock)
 * first, then WARN_ON(irqs_disabled()) when there are other CPUs: a WARN on
 * each call, lock_op after it began (the lock's charge), and the flush
 * proceeds.
 */
static void test_flush_tlb_all_irqs_off_warns_each_time_2_6_18(void **state)
{
    struct irqs_off_flusher f;
    mmusim_machine *m = run_flush_twice_irqs_off(state, "2.6.18", &f);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rep[i].kind, MMUSIM_REPORT_WARN);
        assert_int_equal(rep[i].cpu, 0);
        assert_int_equal(rep[i].cycle, f.at[i] + ts_costs(m)->lock_op);
        assert_string_equal(rep[i].what, "smp_call_function with irqs disabled (2.6.18 WARN_ON)");
    }
    assert_int_equal(f.at[0], ts_costs(m)->ctx_switch);
}

/*
 * 2.6.32, kernel/smp.c: smp_call_function_many()'s WARN_ON_ONCE at its
 * entry, and, as the only other CPU is one target, the fast path
 * smp_call_function_single()'s own WARN_ON_ONCE: two WARNs at the first
 * call, none at the second (each fires once per boot).
 */
static void test_flush_tlb_all_irqs_off_warns_once_2_6_32(void **state)
{
    struct irqs_off_flusher f;
    mmusim_machine *m = run_flush_twice_irqs_off(state, "2.6.32", &f);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 2);
    assert_string_equal(rep[0].what, "smp_call_function_many with irqs disabled (WARN_ON_ONCE)");
    assert_string_equal(rep[1].what, "smp_call_function_single with irqs disabled (WARN_ON_ONCE)");
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rep[i].kind, MMUSIM_REPORT_WARN);
        assert_int_equal(rep[i].cpu, 0);
        assert_int_equal(rep[i].cycle, f.at[0]);
    }
}

/* 5.11, kernel/smp.c: smp_call_function_many_cond()'s WARN_ON_ONCE, one site: one WARN in all. */
static void test_flush_tlb_all_irqs_off_warns_once_5_11(void **state)
{
    struct irqs_off_flusher f;
    mmusim_machine *m = run_flush_twice_irqs_off(state, "5.11", &f);
    expect_one_report(m, MMUSIM_REPORT_WARN, 0, f.at[0]);
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

/*
 * flush_tlb_all from a hardirq handler (interrupts off): 2.6.32's two
 * WARN_ON_ONCE (smp_call_function_many, then _single for the one other
 * CPU), and the flush proceeds: CPU0, idle, takes the IPI, and the handler
 * returns once it is acknowledged.
 */
static void test_flush_tlb_all_smp_in_hardirq_warns_and_proceeds(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct rule r;
    /* IRQF_DISABLED: a 2.6.32 handler requested without it runs with interrupts on. */
    assert_int_equal(mmusim_irq_at_flags(m, 1, IRQ_AT, flush_now, rule_new(m, &r), MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.irqs_off, 1);
    assert_int_equal(r.rc, MMUSIM_PENDING);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 2);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rep[i].kind, MMUSIM_REPORT_WARN);
        assert_int_equal(rep[i].cpu, 1);
        assert_int_equal(rep[i].cycle, IRQ_AT + ts_costs(m)->ipi_handler);
    }
    assert_int_equal(ts_stats(m, 0).ipis_received, 1);
    assert_int_equal(ts_stats(m, 1).global_flushes, 1);
}

static enum mmusim_step raise_flush_softirq(mmusim_cpu *cpu, void *arg)
{
    struct rule *r = arg;
    r->rc2 = mmusim_raise_softirq(cpu, flush_now, r);
    return MMUSIM_STEP_DONE;
}

/*
 * flush_tlb_all from a softirq: interrupts are on there. The kernel checks
 * irqs_disabled() only (smp_call_function_many's WARN_ON_ONCE in 2.6.32
 * kernel/smp.c; "must not be called from a bottom half" is a comment, not
 * a check): no report, and on one CPU the flush is done in the call. The
 * softirq is raised by a hardirq on an idle CPU and runs when the hardirq
 * returns, at the same cycle.
 */
static void test_flush_tlb_all_smp_in_softirq_makes_no_report(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct rule r;
    assert_int_equal(mmusim_irq_at(m, 0, IRQ_AT, raise_flush_softirq, rule_new(m, &r)), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(r.rc2, MMUSIM_OK);
    assert_int_equal(r.irqs_off, 0);
    assert_int_equal(r.rc, MMUSIM_OK);
    assert_int_equal(ts_stats(m, 0).softirqs, 1);
    assert_int_equal(ts_stats(m, 0).global_flushes, 1);
    assert_int_equal(ts_nreports(m), 0);
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
    t->rc_unlock = mmusim_spin_unlock(cpu, t->l); /* BUG 3 */
    t->rc_run = mmusim_machine_run(t->m, 0, NULL);
    if (mmusim_spin_lock(cpu, t->l) == MMUSIM_OK) {
        t->rc_recurse = mmusim_spin_lock(cpu, t->l); /* BUG 4 */
        t->rc_unlock_ok = mmusim_spin_unlock(cpu, t->l);
    }
    /* Last, as it may be pending: with interrupts off, 2.6.32's two WARN_ON_ONCE (5, 6). */
    mmusim_local_irq_disable(cpu);
    t->rc_flush_off = mmusim_flush_tlb_all_smp(cpu);
    return MMUSIM_STEP_DONE;
}

struct err_irq {
    mmusim_wait_queue *q;
    int rc_sleep;
    int irqs_off;
    uint64_t at;
};

static enum mmusim_step err_irq_step(mmusim_cpu *cpu, void *arg)
{
    struct err_irq *e = arg;
    e->at = mmusim_cpu_cycles(cpu);
    e->rc_sleep = mmusim_wait_queue_sleep(cpu, e->q); /* BUG 1 */
    mmusim_local_irq_enable(cpu);                    /* no WARN in 2.6.32 (handle_IRQ_event has none) */
    e->irqs_off = mmusim_cpu_irqs_disabled(cpu);
    return MMUSIM_STEP_DONE;
}

/*
 * Across CPUs, reports come in the order they happen in simulated time,
 * with their CPU and cycle. CPU1's hardirq at 1000 (IRQF_DISABLED), before
 * ctx_switch: sleeping (BUG), then local_irq_enable, which 2.6.32 allows
 * without a WARN (the interrupts go on). CPU0's task, at
 * ctx_switch: spin_unlock of a lock not held (BUG), mmusim_machine_run from
 * a step (no report), spin_lock recursion after one lock_op (BUG), then,
 * after the unlock's lock_op, flush_tlb_all with interrupts off: 2.6.32's
 * WARN_ON_ONCE of smp_call_function_many and of _single (two WARNs; the
 * flush proceeds, CPU1 takes its IPI). CPU1's one comes first.
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
    assert_int_equal(mmusim_irq_at_flags(m, 1, 1000, err_irq_step, &ei, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);

    assert_int_equal(e.at, c->ctx_switch);
    assert_int_equal(ei.at, 1000 + c->ipi_handler);
    assert_int_equal(ei.irqs_off, 0);
    assert_int_equal(e.rc_flush_off, MMUSIM_PENDING);
    assert_int_equal(ts_stats(m, 1).ipis_received, 1);

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
        {MMUSIM_REPORT_BUG, 0, c->ctx_switch},
        {MMUSIM_REPORT_BUG, 0, c->ctx_switch + c->lock_op},
        {MMUSIM_REPORT_WARN, 0, c->ctx_switch + 2 * (uint64_t)c->lock_op},
        {MMUSIM_REPORT_WARN, 0, c->ctx_switch + 2 * (uint64_t)c->lock_op},
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

/* A softirq that tries cond_resched: interrupts are on, but it is in interrupt context (might_sleep). */
static enum mmusim_step soft_resched(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    assert_int_equal(mmusim_cond_resched(cpu), MMUSIM_ECONTEXT); /* WARN */
    return MMUSIM_STEP_DONE;
}

/* A hardirq handler that enables interrupts (in 5.11 a WARN when it returns), then raises soft_resched. */
static enum mmusim_step irq_enabler(mmusim_cpu *cpu, void *arg)
{
    mmusim_local_irq_enable(cpu);
    assert_int_equal(mmusim_raise_softirq(cpu, soft_resched, arg), MMUSIM_OK);
    return MMUSIM_STEP_DONE;
}

/*
 * On one CPU, reports come in the order they happen: the task's two BUGs
 * (preempt_enable without preempt_disable; sleeping with a spinlock held),
 * then, at IRQ_AT + ipi_handler, the hardirq's WARN (5.11's
 * __handle_irq_event_percpu: a handler returned with interrupts on) and its
 * softirq's (cond_resched from a softirq: might_sleep). The task ends asleep
 * with nobody to wake it: the run stops there (a deadlock, test_engine's
 * test_unwoken_sleeper_ends_run_in_deadlock). The machine is of era 5.11:
 * no kernel warns at local_irq_enable itself (test_local_irq_enable_in_hardirq_*),
 * and 5.11 is the era whose kernel warns at the handler's return.
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
    assert_int_equal(ts_nreports(m), 4);
    mmusim_machine_reports_reset(m);
    assert_int_equal(ts_nreports(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_flush_tlb_all_irqs_off_warns_each_time_2_6_18),
        TS_TEST(test_flush_tlb_all_irqs_off_warns_once_2_6_32),
        TS_TEST(test_flush_tlb_all_irqs_off_warns_once_5_11),
        TS_TEST(test_spin_unlock_of_unheld_lock_is_bug),
        TS_TEST(test_spin_lock_recursion_is_bug),
        TS_TEST(test_sleep_in_hardirq_is_bug),
        TS_TEST(test_flush_tlb_all_smp_in_hardirq_warns_and_proceeds),
        TS_TEST(test_flush_tlb_all_smp_in_softirq_makes_no_report),
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
