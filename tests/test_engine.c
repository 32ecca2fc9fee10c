/*
 * The SMP engine (include/mmusim/smp.h): stepping order and interrupt
 * delivery at step boundaries, nested contexts (task, softirq, hardirq,
 * NMI) and their preempt counts, softirqs raised while a CPU waits,
 * determinism (same seed, same run; runs in slices), the cycle limit, and
 * run arguments.
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

/* ==== 1. Nested interrupt contexts ==== */

/*
 * The default era is 2.6.32, whose handle_IRQ_event (kernel/irq/handle.c)
 * runs a handler requested without IRQF_DISABLED with interrupts on
 * (local_irq_enable_in_hardirq): H1 and H2 see them on. (This test expected
 * them off before mmusim followed the era; the timings are unchanged, as
 * nothing else arrives while H1 or H2 runs.)
 * A task of 1000-cycle steps from t0 = ctx_switch. Hardirq H1 at t0 + 600 is
 * taken at the boundary t0 + 1000 and enters at + ipi_handler; it raises a
 * softirq and spends 200. The softirq S (3 steps of 500) runs when H1
 * returns. An NMI arriving 100 into S's first step is taken at its end and
 * nests on S; a hardirq H2 arriving 100 into S's second step nests too
 * (softirqs run with interrupts on). The task resumes when S is done.
 * preempt_count follows Linux 2.6.32: SOFTIRQ_OFFSET 0x100, HARDIRQ_OFFSET
 * 0x10000, nmi_enter adds NMI_OFFSET + HARDIRQ_OFFSET.
 */
static void test_nested_contexts(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script task = {0}, soft = {0};
    ts_script_add(&task, TS_OP_SPEND, 1000, 5);
    ts_script_add(&soft, TS_OP_SPEND, 500, 3);
    struct ts_handler h1 = {.spend = 200, .soft = ts_script_step, .soft_arg = &soft};
    struct ts_handler nmi = {.spend = 50}, h2 = {.spend = 50};

    uint64_t t0 = c->ctx_switch;
    uint64_t irq1_at = t0 + 600;
    uint64_t h1_entry = ts_boundary_after(t0, 1000, irq1_at) + c->ipi_handler;
    uint64_t soft1 = h1_entry + h1.spend;
    uint64_t nmi_at = soft1 + 100;
    uint64_t nmi_entry = soft1 + 500 + c->ipi_handler;
    uint64_t soft2 = nmi_entry + nmi.spend;
    uint64_t irq2_at = soft2 + 100;
    uint64_t h2_entry = soft2 + 500 + c->ipi_handler;
    uint64_t soft3 = h2_entry + h2.spend;
    uint64_t task_resume = soft3 + 500;

    mmusim_task *t = ts_spawn(m, 0, 0, ts_script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 0, irq1_at, ts_handler_step, &h1), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, nmi_at, ts_handler_step, &nmi), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at(m, 0, irq2_at, ts_handler_step, &h2), MMUSIM_OK);
    ts_run_all(m);

    const unsigned SO = MMUSIM_SOFTIRQ_OFFSET, HO = MMUSIM_HARDIRQ_OFFSET, NO = MMUSIM_NMI_OFFSET;
    ts_check_snap(&task.at[0], t0, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    ts_check_snap(&h1.snap, h1_entry, MMUSIM_CTX_HARDIRQ, 1, 0, 2, HO);
    assert_int_equal(h1.rc, MMUSIM_OK);
    ts_check_snap(&soft.at[0], soft1, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    ts_check_snap(&nmi.snap, nmi_entry, MMUSIM_CTX_NMI, 1, 1, 3, SO + NO + HO);
    ts_check_snap(&soft.at[1], soft2, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    ts_check_snap(&h2.snap, h2_entry, MMUSIM_CTX_HARDIRQ, 1, 0, 3, SO + HO);
    ts_check_snap(&soft.at[2], soft3, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    ts_check_snap(&task.at[1], task_resume, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    /* The interrupted task stays current throughout. */
    assert_ptr_equal(h1.snap.current, t);
    assert_ptr_equal(nmi.snap.current, t);
    assert_ptr_equal(soft.at[0].current, t);

    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.irqs, 2);
    assert_int_equal(s.nmis, 1);
    assert_int_equal(s.softirqs, 1);
    assert_int_equal(s.irq_entry_cycles, 3 * (uint64_t)c->ipi_handler);
    assert_int_equal(s.ipis_received, 0);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * A hardirq arriving while interrupts are disabled waits for
 * local_irq_enable; an NMI in the same window does not. The task disables
 * interrupts and spends 1000, spends 1000, spends 1000, enables (0 cycles),
 * spends 1000. The hardirq (at t0 + 500) is taken at the enable boundary;
 * the NMI (at t0 + 1500) at the boundary t0 + 2000, and on its return
 * interrupts are still off (iret restores the task's IF). The hardirq's
 * handler runs with interrupts on (2.6.32's handle_IRQ_event, no
 * IRQF_DISABLED; it was expected off before mmusim followed the era).
 */
static void test_irq_waits_for_enable(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script task = {0};
    ts_script_add(&task, TS_OP_IRQ_OFF, 1000, 1);
    ts_script_add(&task, TS_OP_SPEND, 1000, 2);
    ts_script_add(&task, TS_OP_IRQ_ON, 0, 1);
    ts_script_add(&task, TS_OP_SPEND, 1000, 1);
    struct ts_handler irq = {.spend = 50}, nmi = {.spend = 50};
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 0, t0 + 500, ts_handler_step, &irq), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, t0 + 1500, ts_handler_step, &nmi), MMUSIM_OK);
    ts_run_all(m);

    uint64_t nmi_entry = t0 + 2000 + c->ipi_handler;
    uint64_t s2 = nmi_entry + nmi.spend;
    uint64_t enable = s2 + 1000;
    uint64_t irq_entry = enable + c->ipi_handler;
    ts_check_snap(&nmi.snap, nmi_entry, MMUSIM_CTX_NMI, 1, 1, 2, MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET);
    ts_check_snap(&task.at[2], s2, MMUSIM_CTX_TASK, 0, 1, 1, 0);
    ts_check_snap(&task.at[3], enable, MMUSIM_CTX_TASK, 0, 1, 1, 0);
    ts_check_snap(&irq.snap, irq_entry, MMUSIM_CTX_HARDIRQ, 1, 0, 2, MMUSIM_HARDIRQ_OFFSET);
    ts_check_snap(&task.at[4], irq_entry + irq.spend, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.irqs, 1);
    assert_int_equal(s.nmis, 1);
}

/*
 * preempt_count follows the era's layout (include/linux/hardirq.h of
 * 2.6.18, preempt.h of 5.11; struct mmusim_preempt_bits): a hardirq is
 * entered, an NMI that arrived by then nests on it before the handler's
 * first step, and a second NMI arriving during the first is taken after the
 * first returns, nested on the hardirq again. 2.6.18: HARDIRQ_OFFSET
 * 0x10000, no NMI count (nmi_enter is irq_enter), so an NMI shows
 * 2 x 0x10000, and the hardirq mask is 12 bits (0x0fff0000). 5.11: HARDIRQ
 * 0x10000, NMI_OFFSET 0x100000, and nmi_enter adds both. The hardirq's
 * handler sees interrupts as its era runs one requested without
 * IRQF_DISABLED: on in 2.6.18 (handle_IRQ_event, kernel/irq/handle.c), off
 * in 5.11 (always, since 2.6.35); the NMIs, taken whatever the flag, nest
 * before its first step either way, so the timings do not depend on it.
 */
static void era_preempt_count(void **state, const char *era, unsigned hardirq, unsigned nmi_adds, int irq_irqs_off)
{
    const char *const kv[] = {"era", era, NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script task = {0};
    ts_script_add(&task, TS_OP_SPEND, 1000, 3);
    struct ts_handler irq = {.spend = 400}, nmi1 = {.spend = 400}, nmi2 = {.spend = 10};
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 0, t0 + 500, ts_handler_step, &irq), MMUSIM_OK);
    uint64_t irq_entry = t0 + 1000 + c->ipi_handler;
    /* NMI1 arrives as the hardirq is entered, NMI2 during NMI1's step. */
    assert_int_equal(mmusim_nmi_at(m, 0, irq_entry, ts_handler_step, &nmi1), MMUSIM_OK);
    uint64_t nmi1_entry = irq_entry + c->ipi_handler;
    assert_int_equal(mmusim_nmi_at(m, 0, nmi1_entry + 100, ts_handler_step, &nmi2), MMUSIM_OK);
    ts_run_all(m);

    const struct mmusim_preempt_bits *b = &mmusim_machine_layout(m)->preempt_bits;
    assert_int_equal(b->hardirq_offset, hardirq);
    ts_check_snap(&nmi1.snap, nmi1_entry, MMUSIM_CTX_NMI, 1, 1, 3, hardirq + nmi_adds);
    uint64_t nmi2_entry = nmi1_entry + nmi1.spend + c->ipi_handler;
    ts_check_snap(&nmi2.snap, nmi2_entry, MMUSIM_CTX_NMI, 1, 1, 3, hardirq + nmi_adds);
    ts_check_snap(&irq.snap, nmi2_entry + nmi2.spend, MMUSIM_CTX_HARDIRQ, 1, irq_irqs_off, 2, hardirq);
    assert_int_equal(ts_stats(m, 0).nmis, 2);
    assert_int_equal(mmusim_cpu_preempt_count(ts_cpu(m, 0)), 0);
}

static void test_preempt_count_layout_2_6_18(void **state)
{
    era_preempt_count(state, "2.6.18", 0x10000u, 0x10000u, 0);
    mmusim_machine *m = ts_machine(state, 1, (const char *const[]){"era", "2.6.18", NULL});
    assert_int_equal(mmusim_machine_layout(m)->preempt_bits.hardirq_mask, 0x0fff0000u);
    assert_int_equal(mmusim_machine_layout(m)->preempt_bits.nmi_offset, 0);
}

static void test_preempt_count_layout_5_11(void **state)
{
    era_preempt_count(state, "5.11", 0x10000u, 0x100000u + 0x10000u, 1);
}

/*
 * NMIs do not nest on NMIs: NMI1 (at t0 + 500, taken at the boundary
 * t0 + 1000) runs two 300-cycle steps; NMI2 arrives 100 into the first and
 * is taken only when NMI1 returns, at n1_end = t0 + 1000 + ipi_handler + 600.
 */
static void test_nmi_not_nested_in_nmi(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script task = {0}, n1 = {0};
    ts_script_add(&task, TS_OP_SPEND, 1000, 4);
    ts_script_add(&n1, TS_OP_SPEND, 300, 2);
    struct ts_handler n2 = {.spend = 50};
    uint64_t t0 = c->ctx_switch;
    uint64_t n1_entry = t0 + 1000 + c->ipi_handler;
    uint64_t n1_end = n1_entry + 600;
    uint64_t n2_entry = n1_end + c->ipi_handler;
    ts_spawn(m, 0, 0, ts_script_step, &task);
    assert_int_equal(mmusim_nmi_at(m, 0, t0 + 500, ts_script_step, &n1), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, n1_entry + 100, ts_handler_step, &n2), MMUSIM_OK);
    ts_run_all(m);

    const unsigned NMI = MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET;
    ts_check_snap(&n1.at[0], n1_entry, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    ts_check_snap(&n1.at[1], n1_entry + 300, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    ts_check_snap(&n2.snap, n2_entry, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    ts_check_snap(&task.at[1], n2_entry + n2.spend, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    assert_int_equal(ts_stats(m, 0).nmis, 2);
}

/*
 * Regression test (failed up to commit 2d79f46): the interrupt flag is per
 * CPU, and a task frame's pop did not touch it, so a task that ended with
 * interrupts disabled left them disabled for whatever ran next.
 *
 * A task switch starts the next task with interrupts on: Linux's
 * context_switch() ends in finish_task_switch() -> finish_lock_switch() ->
 * raw_spin_unlock_irq(&rq->lock), i.e. local_irq_enable(). Task A disables
 * interrupts and exits; task B, next on the same CPU, must see them on, and
 * a hardirq due at 100000 must be delivered (the run finishes).
 */
static void test_task_switch_enables_irqs(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script a = {0}, b = {0};
    ts_script_add(&a, TS_OP_IRQ_OFF, 100, 1);
    ts_script_add(&b, TS_OP_SPEND, 100, 1);
    struct ts_handler h = {.spend = 0};
    ts_spawn(m, 0, 0, ts_script_step, &a);
    ts_spawn(m, 0, 0, ts_script_step, &b);
    assert_int_equal(mmusim_irq_at(m, 0, 100000, ts_handler_step, &h), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_true(b.at[0].taken);
    assert_int_equal(b.at[0].irqs_off, 0);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.finished, 1);
    assert_int_equal(h.snap.clock, 100000 + c->ipi_handler);
}

/* ==== 2. Softirqs raised while a CPU waits (spinlock, shootdown) ==== */

/*
 * Regression test (failed up to commit 2d79f46): engine.c next_event()
 * ignored pending softirqs when the top frame waited, so the softirq ran
 * only after the wait ended.
 *
 * A softirq raised by a hardirq that interrupted a spinning CPU runs when
 * the hardirq returns (smp.h: "handler runs in softirq context when cpu next
 * leaves hardirq context"; Linux irq_exit() runs pending softirqs whenever
 * !in_interrupt(), and a spin_lock() spinner is not in interrupt). CPU0
 * holds the lock 20000 cycles; CPU1 spins from t0 + lock_op; a hardirq at
 * t0 + 1000 on CPU1 (taken at once: a spinner has interrupts on) enters at
 * + ipi_handler, raises a softirq and spends 50: the softirq must start at
 * h_end = t0 + 1000 + ipi_handler + 50, long before CPU1 gets the lock at
 * R0 + lock_handoff. The handler runs with interrupts on (2.6.32's
 * handle_IRQ_event without IRQF_DISABLED; expected off before mmusim
 * followed the era, with the same timings).
 */
static void test_softirq_while_spinning(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct ts_locker a = {.l = l, .hold = 20000}, b = {.l = l, .hold = 10};
    struct ts_script soft = {0};
    ts_script_add(&soft, TS_OP_SPEND, 100, 1);
    struct ts_handler h = {.spend = 50, .soft = ts_script_step, .soft_arg = &soft};
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_lock_step, &a);
    ts_spawn(m, 1, 0, ts_lock_step, &b);
    assert_int_equal(mmusim_irq_at(m, 1, t0 + 1000, ts_handler_step, &h), MMUSIM_OK);
    ts_run_all(m);

    uint64_t h_entry = t0 + 1000 + c->ipi_handler, h_end = h_entry + h.spend;
    uint64_t r0 = t0 + c->lock_op + a.hold + c->lock_op;
    assert_int_equal(a.released, r0);
    ts_check_snap(&h.snap, h_entry, MMUSIM_CTX_HARDIRQ, 1, 0, 2, MMUSIM_HARDIRQ_OFFSET + 1);
    assert_int_equal(ts_stats(m, 1).softirqs, 1);
    /* The softirq runs on top of the spinning task (preempt count 1 from spin_lock) when the hardirq returns. */
    assert_int_equal(soft.at[0].clock, h_end);
    ts_check_snap(&soft.at[0], h_end, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, MMUSIM_SOFTIRQ_OFFSET + 1);
    /* and so does not delay the acquisition. */
    assert_int_equal(b.acquired, r0 + c->lock_handoff);
}

/*
 * Regression test (failed up to commit 2d79f46), for the same bug as above.
 *
 * The same for a CPU waiting for shootdown acknowledgements: CPU0 calls
 * flush_tlb_all at t0 while CPU1 has interrupts off for 20000 cycles. A
 * hardirq on CPU0 at t0 + 1000 (CPU0 waits with interrupts on) raises a
 * softirq, which must run at the hardirq's end, not after the last ack.
 * The handler runs with interrupts on (2.6.32, no IRQF_DISABLED; expected
 * off before mmusim followed the era, with the same timings).
 */
static void test_softirq_while_waiting_acks(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    struct ts_script busy = {0}, soft = {0};
    ts_script_add(&busy, TS_OP_IRQ_OFF, 20000, 1);
    ts_script_add(&busy, TS_OP_IRQ_ON, 0, 1);
    ts_script_add(&busy, TS_OP_SPEND, 1000, 1);
    ts_script_add(&soft, TS_OP_SPEND, 100, 1);
    struct ts_handler h = {.spend = 50, .soft = ts_script_step, .soft_arg = &soft};
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_spawn(m, 1, 0, ts_script_step, &busy);
    assert_int_equal(mmusim_irq_at(m, 0, t0 + 1000, ts_handler_step, &h), MMUSIM_OK);
    ts_run_all(m);

    uint64_t h_entry = t0 + 1000 + c->ipi_handler, h_end = h_entry + h.spend;
    uint64_t ack = t0 + 20000 + c->ipi_handler + c->pge_toggle + c->ipi_ack;
    /* The handler runs with interrupts on (2.6.32, no IRQF_DISABLED), and the waiting
     * task has preemption disabled for the whole flush (on_each_cpu's preempt_disable(),
     * kernel/softirq.c), so the handler nested on it counts 1 more. */
    ts_check_snap(&h.snap, h_entry, MMUSIM_CTX_HARDIRQ, 1, 0, 2, MMUSIM_HARDIRQ_OFFSET + 1);
    assert_int_equal(ts_stats(m, 0).softirqs, 1);
    assert_int_equal(soft.at[0].clock, h_end);
    ts_check_snap(&soft.at[0], h_end, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, MMUSIM_SOFTIRQ_OFFSET + 1);
    assert_int_equal(f.resumed_at, ack + c->pge_toggle);
}

/* ==== 3. Determinism and the cycle limit ==== */

#define DET_CPUS 4
#define DET_PAGES 16
#define DET_OPS 300

struct det_task {
    mmusim_machine *m;
    mmusim_spinlock *lock;
    uint64_t cr3; /* 0: a kernel thread, kernel addresses only */
    uint32_t kva;
    uint64_t rng;
    unsigned ops;
    int locked, errors;
};

struct det_irq {
    uint32_t kva;
    unsigned raised;
};

static uint64_t det_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void det_access(mmusim_cpu *cpu, uint32_t va, unsigned kind, int *errors)
{
    struct mmusim_access a;
    uint32_t v = 0x12345678u;
    if (mmusim_cpu_access(cpu, va, kind, 4, &v, &a) != MMUSIM_OK || a.fault)
        (*errors)++;
}

static enum mmusim_step det_step(mmusim_cpu *cpu, void *arg)
{
    struct det_task *t = arg;
    uint64_t r = det_next(&t->rng);
    if (t->locked) {
        mmusim_cpu_spend(cpu, 50 + r % 200);
        if (mmusim_spin_unlock(cpu, t->lock) != MMUSIM_OK)
            t->errors++;
        t->locked = 0;
        return MMUSIM_STEP_MORE;
    }
    if (t->ops++ == DET_OPS)
        return MMUSIM_STEP_DONE;
    uint32_t upage = TS_USER_VA + (uint32_t)((r >> 8) % DET_PAGES) * 4096u;
    uint32_t kpage = t->kva + (uint32_t)((r >> 8) % 64) * 4096u;
    unsigned wr = ((r >> 16) & 1) ? MMUSIM_ACC_WRITE : MMUSIM_ACC_READ;
    int rc = MMUSIM_OK;
    switch (r % 10) {
    case 0:
    case 1:
    case 2:
        if (t->cr3)
            det_access(cpu, upage, wr | MMUSIM_ACC_USER, &t->errors);
        else
            det_access(cpu, kpage, wr, &t->errors);
        break;
    case 3:
    case 4:
        det_access(cpu, kpage, MMUSIM_ACC_READ, &t->errors);
        break;
    case 5:
        rc = mmusim_spin_lock(cpu, t->lock);
        t->locked = !mmusim_is_error(rc); /* pending: ours when the step is called again */
        break;
    case 6:
        if (t->cr3)
            rc = mmusim_flush_tlb_range_smp(cpu, t->cr3, upage, upage + 4096);
        else
            rc = mmusim_flush_tlb_kernel_range_smp(cpu, kpage, kpage + 4096);
        break;
    case 7:
        if ((r >> 8) % 8 == 0)
            rc = mmusim_flush_tlb_all_smp(cpu);
        else
            mmusim_cpu_spend(cpu, 300);
        break;
    default:
        mmusim_cpu_spend(cpu, 100 + r % 500);
        break;
    }
    if (mmusim_is_error(rc))
        t->errors++;
    return MMUSIM_STEP_MORE;
}

static enum mmusim_step det_softirq(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, 150);
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step det_irq(mmusim_cpu *cpu, void *arg)
{
    struct det_irq *d = arg;
    struct mmusim_access a;
    assert_int_equal(mmusim_cpu_access(cpu, d->kva + (d->raised % 8) * 4096u, MMUSIM_ACC_READ, 4, NULL, &a), MMUSIM_OK);
    if (d->raised++ % 2 == 0)
        assert_int_equal(mmusim_raise_softirq(cpu, det_softirq, NULL), MMUSIM_OK);
    return MMUSIM_STEP_DONE;
}

struct det_result {
    struct mmusim_cpu_stats s[DET_CPUS];
    uint64_t clocks[DET_CPUS];
    struct mmusim_run_result r;
    uint64_t reports;
    int errors;
};

/*
 * The mixed workload on a 4-CPU machine with the given seed; random hardirqs
 * on CPUs 1 and 2. chunk 0: one run; else runs to cycle_limit chunk, 2 chunk,
 * ... (smp.h: "Can be called again to continue").
 */
static void det_run(void **state, const char *seed, uint64_t chunk, struct det_result *out)
{
    const char *const kv[] = {"seed", seed, NULL};
    mmusim_machine *m = ts_machine(state, DET_CPUS, kv);
    uint32_t kva = mmusim_machine_layout(m)->page_offset + 0x200000u;
    /* Two address spaces mapping the same DET_PAGES frames. */
    uint64_t pfns[DET_PAGES], b_cr3;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, DET_PAGES, MMUSIM_PTE_RW | MMUSIM_PTE_US, pfns);
    assert_int_equal(mmusim_pgd_create(m, &b_cr3), MMUSIM_OK);
    ts_map_pages(m, b_cr3, TS_USER_VA, pfns, DET_PAGES, MMUSIM_PTE_RW | MMUSIM_PTE_US);
    mmusim_spinlock *lock;
    assert_int_equal(mmusim_spinlock_create(m, &lock), MMUSIM_OK);
    static struct det_task t[DET_CPUS];
    static struct det_irq irqs[2];
    const uint64_t cr3s[DET_CPUS] = {a_cr3, a_cr3, b_cr3, 0};
    memset(t, 0, sizeof(t));
    memset(irqs, 0, sizeof(irqs));
    for (unsigned i = 0; i < DET_CPUS; i++) {
        t[i].m = m;
        t[i].lock = lock;
        t[i].cr3 = cr3s[i];
        t[i].kva = kva;
        t[i].rng = 0x9e3779b97f4a7c15ull * (i + 1); /* the workload does not depend on the seed */
        ts_spawn(m, i, t[i].cr3, det_step, &t[i]);
    }
    for (unsigned i = 0; i < 2; i++) {
        irqs[i].kva = kva;
        assert_int_equal(mmusim_irq_random(m, i + 1, 3000, 300000, det_irq, &irqs[i]), MMUSIM_OK);
    }
    if (chunk == 0) {
        out->r = ts_run_all(m);
    } else {
        struct mmusim_run_result r;
        uint64_t steps = 0;
        unsigned calls = 0;
        for (uint64_t limit = chunk;; limit += chunk) {
            assert_true(limit < TS_CYCLE_LIMIT);
            assert_int_equal(mmusim_machine_run(m, limit, &r), MMUSIM_OK);
            assert_int_equal(r.deadlock, 0); /* (a step begun by limit may end past it: steps are atomic) */
            steps += r.steps;
            calls++;
            if (r.finished)
                break;
        }
        assert_true(calls > 10);
        out->r = r;
        out->r.steps = steps;
    }
    out->errors = 0;
    for (unsigned i = 0; i < DET_CPUS; i++) {
        mmusim_cpu_stats(ts_cpu(m, i), &out->s[i]);
        out->clocks[i] = ts_clock(m, i);
        out->errors += t[i].errors;
    }
    out->reports = ts_nreports(m);
}

/*
 * Same configuration and seed twice: identical per-CPU counters (memcmp of
 * struct mmusim_cpu_stats), clocks and run results. Another seed changes
 * the random hardirq arrivals, so the irqs counts or the clocks differ.
 */
static void test_determinism(void **state)
{
    static struct det_result a, b, c;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    det_run(state, "42", 0, &a);
    det_run(state, "42", 0, &b);
    det_run(state, "43", 0, &c);

    assert_int_equal(a.errors, 0);
    assert_int_equal(a.reports, 0);
    /* The workload really mixes everything. */
    struct mmusim_cpu_stats sum;
    memset(&sum, 0, sizeof(sum));
    for (unsigned i = 0; i < DET_CPUS; i++) {
        sum.irqs += a.s[i].irqs;
        sum.softirqs += a.s[i].softirqs;
        sum.shootdowns += a.s[i].shootdowns;
        sum.lock_contended += a.s[i].lock_contended;
        sum.ipis_received += a.s[i].ipis_received;
    }
    assert_true(sum.irqs > 10 && sum.softirqs > 5 && sum.shootdowns > 10 && sum.ipis_received > 10);

    for (unsigned i = 0; i < DET_CPUS; i++) {
        assert_memory_equal(&a.s[i], &b.s[i], sizeof(a.s[i]));
        assert_int_equal(a.clocks[i], b.clocks[i]);
    }
    assert_int_equal(a.r.steps, b.r.steps);
    assert_int_equal(a.r.end_cycle, b.r.end_cycle);

    int differs = 0;
    for (unsigned i = 0; i < DET_CPUS; i++)
        differs |= a.s[i].irqs != c.s[i].irqs || a.clocks[i] != c.clocks[i];
    assert_true(differs);
}

/*
 * Running in slices (cycle_limit 7919, 15838, ...) gives exactly the run of
 * one call: the same counters, clocks, step total and end cycle.
 */
static void test_run_in_slices(void **state)
{
    static struct det_result a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    det_run(state, "7", 0, &a);
    det_run(state, "7", 7919, &b);
    assert_int_equal(b.errors, 0);
    for (unsigned i = 0; i < DET_CPUS; i++) {
        assert_memory_equal(&a.s[i], &b.s[i], sizeof(a.s[i]));
        assert_int_equal(a.clocks[i], b.clocks[i]);
    }
    assert_int_equal(a.r.steps, b.r.steps);
    assert_int_equal(a.r.end_cycle, b.r.end_cycle);
}

/*
 * cycle_limit: a run stops before the first event later than the limit (an
 * event at the limit still happens). CPU0 runs ten 1000-cycle steps from
 * t0 = ctx_switch; CPU1 is idle with a hardirq due at 100000. With the limit
 * at t0 + 3000, steps 0..3 run and CPU0 stops at t0 + 4000, CPU1 does not
 * move; a second call finishes the work.
 */
static void test_cycle_limit(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_script task = {0};
    ts_script_add(&task, TS_OP_SPEND, 1000, 10);
    struct ts_handler h = {.spend = 0};
    ts_spawn(m, 0, 0, ts_script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 1, 100000, ts_handler_step, &h), MMUSIM_OK);
    uint64_t t0 = c->ctx_switch;
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, t0 + 3000, &r), MMUSIM_OK);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.steps, 4);
    assert_int_equal(task.pc, 4);
    assert_int_equal(ts_clock(m, 0), t0 + 4000);
    assert_int_equal(ts_clock(m, 1), 0);
    assert_int_equal(r.end_cycle, t0 + 4000);
    assert_false(h.snap.taken);
    r = ts_run_all(m);
    assert_int_equal(r.steps, 6 + 1);
    assert_int_equal(task.pc, 10);
    assert_int_equal(h.snap.clock, 100000 + c->ipi_handler);
}

/* ==== 4. A softirq that cannot run ==== */

static enum mmusim_step noop_softirq(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

/*
 * A softirq pending on an idle CPU whose interrupts are off cannot run, and
 * must not count as an event: the run ends (stalled, not finished) instead
 * of picking that CPU forever. Up to commit 2d79f46 this looped in the host.
 */
static void test_blocked_softirq_does_not_spin_engine(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_cpu *c0 = mmusim_machine_cpu(m, 0);
    mmusim_local_irq_disable(c0);
    assert_int_equal(mmusim_raise_softirq(c0, noop_softirq, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 1000000, &r), MMUSIM_OK);
    assert_false(r.finished);
    assert_true(r.deadlock);
    assert_int_equal(r.steps, 0);
    mmusim_local_irq_enable(c0);
    assert_int_equal(mmusim_machine_run(m, 1000000, &r), MMUSIM_OK);
    assert_true(r.finished);
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(c0, &s);
    assert_int_equal(s.softirqs, 1);
}


/* ==== 5. Run arguments and run results ==== */

static enum mmusim_step never_called(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (*(unsigned *)arg)++;
    return MMUSIM_STEP_DONE;
}

/* mmusim_machine_run of a NULL machine: EINVAL. */
static void test_machine_run_refuses_null_machine(void **state)
{
    (void)state;
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(NULL, 0, &r), MMUSIM_EINVAL);
}

struct run_from_step {
    mmusim_machine *m;
    int rc;
};

static enum mmusim_step call_run(mmusim_cpu *cpu, void *arg)
{
    struct run_from_step *t = arg;
    (void)cpu;
    t->rc = mmusim_machine_run(t->m, 0, NULL);
    return MMUSIM_STEP_DONE;
}

/* mmusim_machine_run from inside a step: EINRUN, with no report; the outer run goes on and finishes. */
static void test_machine_run_refuses_call_from_step(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct run_from_step t = {.m = m, .rc = -1};
    ts_spawn(m, 0, 0, call_run, &t);
    struct mmusim_run_result r = ts_run_all(m);
    assert_int_equal(t.rc, MMUSIM_EINRUN);
    assert_int_equal(r.steps, 1);
    assert_int_equal(ts_nreports(m), 0);
}

/* mmusim_irq_at for a CPU the machine does not have: ECPU, and nothing is queued. */
static void test_irq_at_refuses_bad_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    unsigned calls = 0;
    assert_int_equal(mmusim_irq_at(m, 5, 0, never_called, &calls), MMUSIM_ECPU);
    assert_int_equal(ts_nreports(m), 0);
    struct mmusim_run_result r = ts_run_all(m);
    assert_int_equal(r.steps, 0);
    assert_int_equal(calls, 0);
}

struct sleeper_alone {
    mmusim_wait_queue *q;
    int rc;
};

static enum mmusim_step sleep_forever(mmusim_cpu *cpu, void *arg)
{
    struct sleeper_alone *s = arg;
    s->rc = mmusim_wait_queue_sleep(cpu, s->q);
    return MMUSIM_STEP_BLOCK;
}

/*
 * A task asleep that nobody wakes leaves work no CPU can do: the run ends
 * with deadlock = 1, finished = 0, the task still sleeping. A proper sleep
 * is no BUG: nothing is reported.
 */
static void test_unwoken_sleeper_ends_run_in_deadlock(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct sleeper_alone s = {.rc = -1};
    assert_int_equal(mmusim_wait_queue_create(m, &s.q), MMUSIM_OK);
    mmusim_task *t = ts_spawn(m, 0, 0, sleep_forever, &s);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(s.rc, MMUSIM_PENDING);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 1);
    assert_int_equal(mmusim_task_state(t), MMUSIM_TASK_SLEEPING);
    assert_int_equal(ts_nreports(m), 0);
}

/* Run queue order (task.c): 1000 tasks on one CPU run in creation order;
 * the first sleeps at once and the second wakes it, so it runs again only
 * after every task queued before the wake-up (a FIFO run queue, as Linux's
 * per-priority lists). */
#define RQ_TASKS 1000
struct rq_order {
    mmusim_wait_queue *q;
    unsigned order[RQ_TASKS + 1];
    unsigned n;
    int slept;
};
struct rq_task {
    struct rq_order *o;
    unsigned id;
};

static enum mmusim_step rq_step(mmusim_cpu *cpu, void *arg)
{
    struct rq_task *t = arg;
    struct rq_order *o = t->o;
    mmusim_cpu_spend(cpu, 100);
    o->order[o->n++] = t->id;
    if (t->id == 0 && !o->slept) {
        o->slept = 1;
        assert_int_equal(mmusim_wait_queue_sleep(cpu, o->q), MMUSIM_PENDING);
        return MMUSIM_STEP_BLOCK;
    }
    if (t->id == 1) {
        unsigned woken = 0;
        assert_int_equal(mmusim_wake_up(cpu, o->q, &woken), MMUSIM_OK);
        assert_int_equal(woken, 1);
    }
    return MMUSIM_STEP_DONE;
}

static void test_run_queue_is_fifo(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    static struct rq_order o;
    static struct rq_task t[RQ_TASKS];
    memset(&o, 0, sizeof(o));
    assert_int_equal(mmusim_wait_queue_create(m, &o.q), MMUSIM_OK);
    for (unsigned i = 0; i < RQ_TASKS; i++) {
        t[i] = (struct rq_task){&o, i};
        ts_spawn(m, 0, 0, rq_step, &t[i]);
    }
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.finished, 1);
    assert_int_equal(o.n, RQ_TASKS + 1);
    for (unsigned i = 0; i < RQ_TASKS; i++)
        assert_int_equal(o.order[i], i);
    assert_int_equal(o.order[RQ_TASKS], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_nested_contexts),
        TS_TEST(test_irq_waits_for_enable),
        TS_TEST(test_preempt_count_layout_2_6_18),
        TS_TEST(test_preempt_count_layout_5_11),
        TS_TEST(test_nmi_not_nested_in_nmi),
        TS_TEST(test_task_switch_enables_irqs),
        TS_TEST(test_softirq_while_spinning),
        TS_TEST(test_softirq_while_waiting_acks),
        TS_TEST(test_determinism),
        TS_TEST(test_run_in_slices),
        TS_TEST(test_cycle_limit),
        TS_TEST(test_blocked_softirq_does_not_spin_engine),
        TS_TEST(test_machine_run_refuses_null_machine),
        TS_TEST(test_machine_run_refuses_call_from_step),
        TS_TEST(test_irq_at_refuses_bad_cpu),
        TS_TEST(test_unwoken_sleeper_ends_run_in_deadlock),
        TS_TEST(test_run_queue_is_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
