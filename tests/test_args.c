/*
 * Argument classes beyond NULL (test_api_null.c): values that would wrap a
 * clock, an arrival time or a physical range. Each is saturated or refused
 * as its header says, and the machine stays usable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mmusim.h"
#include "support.h"

static enum mmusim_step done_at_once(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

/* mmusim_cpu_spend saturates at MMUSIM_CLOCK_MAX: a spend that would wrap used to run the clock back to near 0. */
static void test_spend_saturates(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    mmusim_cpu_spend(cpu, 1000);
    mmusim_cpu_spend(cpu, UINT64_MAX);
    assert_int_equal(mmusim_cpu_cycles(cpu), MMUSIM_CLOCK_MAX);
    mmusim_cpu_spend(cpu, UINT64_MAX - 5);
    assert_int_equal(mmusim_cpu_cycles(cpu), MMUSIM_CLOCK_MAX);
    assert_int_equal(ts_stats(m, 0).compute_cycles, MMUSIM_CLOCK_MAX);
}

/* An arrival time past MMUSIM_CLOCK_MAX is taken as it; a run with a cycle limit below it returns, the interrupt still pending. */
static void test_irq_at_beyond_clock_max(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    assert_int_equal(mmusim_irq_at(m, 0, UINT64_MAX, done_at_once, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 1, UINT64_MAX - 1, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 1000000, &r), MMUSIM_OK);
    assert_false(r.finished);
    /* With no limit, the CPUs idle up to the arrival and take it: the run ends there. */
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    assert_true(r.end_cycle >= MMUSIM_CLOCK_MAX);
    assert_true(r.end_cycle < MMUSIM_CLOCK_MAX + 1000000);
}

/* mmusim_irq_random: a mean gap above MMUSIM_CLOCK_MAX (whose 2 * mean - 1 wraps) is refused. */
static void test_irq_random_huge_gap_refused(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    assert_int_equal(mmusim_irq_random(m, 0, UINT64_MAX, UINT64_MAX, done_at_once, NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_irq_random(m, 0, MMUSIM_CLOCK_MAX + 1, UINT64_MAX, done_at_once, NULL), MMUSIM_EINVAL);
    /* The largest accepted gap, with no end: one arrival at most before the clock's end. */
    assert_int_equal(mmusim_irq_random(m, 0, MMUSIM_CLOCK_MAX, UINT64_MAX, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    assert_true(r.end_cycle <= MMUSIM_CLOCK_MAX + 1000000);
}

static enum mmusim_step spend_long(mmusim_cpu *cpu, void *arg)
{
    mmusim_cpu_spend(cpu, *(const uint64_t *)arg);
    return MMUSIM_STEP_DONE;
}

/*
 * A random interrupt source on a CPU whose clock jumps far ahead (a step
 * spending 10^15 cycles) resumes from the clock, not from its last arrival:
 * the arrivals it missed merge into one, instead of 10^12 interrupts
 * replayed in the past (the run never ended).
 */
static void test_irq_source_after_clock_jump(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t jump = 1000000000000000ull;
    const uint64_t gap = 1000;
    ts_spawn(m, 0, 0, spend_long, &jump);
    assert_int_equal(mmusim_irq_random(m, 0, gap, jump + 1000000, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_true(s.irqs > 100);   /* the source went on after the jump, */
    assert_true(s.irqs < 10000); /* at its rate: about 1,000 more */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_spend_saturates),
        TS_TEST(test_irq_at_beyond_clock_max),
        TS_TEST(test_irq_random_huge_gap_refused),
        TS_TEST(test_irq_source_after_clock_jump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
