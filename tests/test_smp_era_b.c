/*
 * The SMP layer per kernel era (include/mmusim/smp.h; docs/smp.md, "Per
 * era"): device interrupt handlers (interrupts on unless IRQF_DISABLED
 * before 2.6.35, always off from 2.6.35; nesting; an IRQ line never nests
 * on itself).
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

/* ==== 1. Device interrupt handlers and the interrupt flag ==== */

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
