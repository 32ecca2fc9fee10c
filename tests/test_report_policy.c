/*
 * Reports (include/mmusim/smp.h): the address a report carries, the public
 * mmusim_report_bug and mmusim_report_warn, the report callback, the policy
 * (MMUSIM_REPORT_CONTINUE, MMUSIM_REPORT_STOP_ON_BUG), the bugs and warns
 * counters and the cap of 1024 kept records.
 *
 * Cycle values follow the timing model in support.h, none written as a
 * number: two kernel threads (cr3 0, no CR3 write) start at ctx_switch, each
 * step spends a fixed number of cycles, and the CPU with the lowest clock
 * steps next (ties: the lowest CPU number).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mmusim.h"
#include "support.h"

#define KERNEL_VA 0xc0801234u

static const char BUG_WHAT[] = "test: kmap of a page already mapped";
static const char WARN_WHAT[] = "test: kunmap_atomic of the wrong address";

static uint64_t ctx_switch(const mmusim_machine *m)
{
    return ts_costs(m)->ctx_switch;
}

static void spawn(mmusim_machine *m, unsigned cpu, mmusim_step_fn fn, void *arg)
{
    (void)ts_spawn(m, cpu, 0, fn, arg);
}

/* mmusim_machine_run with TS_CYCLE_LIMIT: no deadlock; finished or not, as the test checks. */
static struct mmusim_run_result run(mmusim_machine *m)
{
    struct mmusim_run_result r;
    memset(&r, 0xa5, sizeof(r));
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.deadlock, 0);
    return r;
}

static void check_report(const struct mmusim_report *r, enum mmusim_report_kind kind, unsigned cpu, uint64_t cycle,
                         uint64_t address, const char *what)
{
    assert_int_equal(r->kind, kind);
    assert_int_equal(r->cpu, cpu);
    assert_int_equal(r->cycle, cycle);
    assert_int_equal(r->address, address);
    assert_ptr_equal(r->what, what);
}

/* ---- a worker: nsteps steps of `spend` cycles, reporting at chosen steps ---- */

#define NONE (-1)

struct worker {
    unsigned nsteps;
    uint64_t spend;
    int bug_at, bugs;   /* at step bug_at (0-based), after spending, report `bugs` BUGs */
    int warn_at;        /* and at step warn_at one WARN */
    uint64_t addr;      /* the address of the first report; each further one + 1 */
    unsigned done;      /* steps run */
    uint64_t report_clock;
};

static enum mmusim_step worker_step(mmusim_cpu *cpu, void *arg)
{
    struct worker *w = arg;
    mmusim_cpu_spend(cpu, w->spend);
    if ((int)w->done == w->bug_at) {
        w->report_clock = mmusim_cpu_cycles(cpu);
        for (int i = 0; i < w->bugs; i++)
            mmusim_report_bug(cpu, BUG_WHAT, w->addr + (uint64_t)i);
    }
    if ((int)w->done == w->warn_at) {
        w->report_clock = mmusim_cpu_cycles(cpu);
        mmusim_report_warn(cpu, WARN_WHAT, w->addr);
    }
    w->done++;
    return w->done == w->nsteps ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

/* ---- the callback: a copy of each report, and what the machine held at that moment ---- */

#define MAX_SEEN 2048

struct seen {
    mmusim_machine *m;
    unsigned n;
    struct mmusim_report r[MAX_SEEN];
    uint64_t count_then[MAX_SEEN]; /* mmusim_machine_reports's count during the call */
    int stored_then[MAX_SEEN];     /* the kept record at that index equalled *r (or was beyond the cap) */
};

static void on_report(void *ctx, const struct mmusim_report *r)
{
    struct seen *s = ctx;
    if (s->n >= MAX_SEEN)
        return;
    uint64_t count = mmusim_machine_reports(s->m, NULL, 0);
    int stored = 1;
    if (count <= 1024) {
        struct mmusim_report kept[1024];
        uint64_t n = mmusim_machine_reports(s->m, kept, 1024);
        stored = n == count && count > 0 && memcmp(&kept[count - 1], r, sizeof(*r)) == 0;
    }
    s->r[s->n] = *r;
    s->count_then[s->n] = count;
    s->stored_then[s->n] = stored;
    s->n++;
}

/* ---- tests ---- */

/*
 * A step misusing the SMP flushes (interrupts off, one flush a step: each
 * may be pending) and preempt_enable: the library's own checks, in 2.6.18,
 * whose smp_call_function WARN_ON(irqs_disabled()) fires on every call,
 * once call_lock is held (arch/i386/kernel/smp.c), and whose
 * flush_tlb_others has no such check. cr3: a user mm the CPU never ran,
 * nobody else either: its flushes are done in the call.
 */
static const char *const era_2_6_18[] = {"era", "2.6.18", NULL};

struct misuse {
    uint64_t cr3;
    int phase;
    int rc_krange, rc_range, rc_mm, rc_all;
    uint64_t at[5]; /* the clock when each step began */
};

static enum mmusim_step misuse_step(mmusim_cpu *cpu, void *arg)
{
    struct misuse *u = arg;
    u->at[u->phase] = mmusim_cpu_cycles(cpu);
    switch (u->phase++) {
    case 0:
        mmusim_local_irq_disable(cpu);
        u->rc_krange = mmusim_flush_tlb_kernel_range_smp(cpu, KERNEL_VA, KERNEL_VA + 0x2000);
        return MMUSIM_STEP_MORE;
    case 1:
        u->rc_range = mmusim_flush_tlb_range_smp(cpu, u->cr3, TS_USER_VA + 0x10, TS_USER_VA + 0x1000);
        return MMUSIM_STEP_MORE;
    case 2:
        u->rc_mm = mmusim_flush_tlb_range_smp(cpu, u->cr3, 0, 0);
        return MMUSIM_STEP_MORE;
    case 3:
        u->rc_all = mmusim_flush_tlb_all_smp(cpu);
        return MMUSIM_STEP_MORE;
    default:
        mmusim_local_irq_enable(cpu);
        mmusim_preempt_enable(cpu); /* no matching disable: a BUG */
        return MMUSIM_STEP_DONE;
    }
}

static void misuse_init(mmusim_machine *m, struct misuse *u)
{
    memset(u, 0, sizeof(*u));
    u->cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
}

/*
 * The kernel-range flush's WARN carries the start of the range, the full
 * flush's none; each is made once call_lock is taken (lock_op after the
 * call; CPU1 took it last itself, so no hand-over the second time). The
 * user-mm flushes make none: 2.6.18's flush_tlb_others does not check.
 * Every flush went on with interrupts off (the other CPU, idle, took the
 * IPIs).
 */
static void test_library_checks_record_the_address(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, era_2_6_18);
    struct misuse u;
    misuse_init(m, &u);
    spawn(m, 1, misuse_step, &u);
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(u.rc_krange, MMUSIM_PENDING);
    assert_int_equal(u.rc_range, MMUSIM_OK);
    assert_int_equal(u.rc_mm, MMUSIM_OK);
    assert_int_equal(u.rc_all, MMUSIM_PENDING);
    assert_int_equal(ts_stats(m, 0).ipis_received, 2);

    struct mmusim_report rep[8];
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 3);
    const uint64_t want_addr[3] = {KERNEL_VA, 0, 0};
    const uint64_t want_cycle[2] = {u.at[0] + ts_costs(m)->lock_op, u.at[3] + ts_costs(m)->lock_op};
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(rep[i].kind, MMUSIM_REPORT_WARN);
        assert_int_equal(rep[i].cpu, 1);
        assert_int_equal(rep[i].cycle, want_cycle[i]);
        assert_int_equal(rep[i].address, want_addr[i]);
        assert_string_equal(rep[i].what, "smp_call_function with irqs disabled (2.6.18 WARN_ON)");
    }
    assert_int_equal(u.at[0], ctx_switch(m));
    assert_int_equal(rep[2].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep[2].address, want_addr[2]);
    assert_string_equal(rep[2].what, "preempt_enable without preempt_disable (preempt count underflow)");
}

static void test_public_reports_from_a_step(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct worker w0 = {.nsteps = 3, .spend = 100, .bug_at = 1, .bugs = 1, .warn_at = NONE, .addr = 0xc1000000u};
    struct worker w1 = {.nsteps = 3, .spend = 70, .bug_at = NONE, .warn_at = 2, .addr = 0xfff00000u};
    spawn(m, 0, worker_step, &w0);
    spawn(m, 1, worker_step, &w1);
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(r.bug_index, 0);

    uint64_t cs = ctx_switch(m);
    assert_int_equal(w0.report_clock, cs + 2 * 100);
    assert_int_equal(w1.report_clock, cs + 3 * 70);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 2);
    /* Recorded in simulated-time order: CPU0's at cs + 200 before CPU1's step starting at cs + 140 ends at cs + 210. */
    check_report(&rep[0], MMUSIM_REPORT_BUG, 0, cs + 200, 0xc1000000u, BUG_WHAT);
    check_report(&rep[1], MMUSIM_REPORT_WARN, 1, cs + 210, 0xfff00000u, WARN_WHAT);
}

static void test_public_reports_outside_a_run(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_STOP_ON_BUG);
    mmusim_report_warn(ts_cpu(m, 1), WARN_WHAT, 0x1234);
    mmusim_report_bug(ts_cpu(m, 0), BUG_WHAT, 0); /* outside a run: recorded, stops nothing */
    assert_int_equal(ts_nreports(m), 2);

    struct worker w = {.nsteps = 4, .spend = 50, .bug_at = NONE, .warn_at = NONE};
    spawn(m, 1, worker_step, &w);
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(r.steps, 4);
    assert_int_equal(w.done, 4);

    /* After the run, at the clock the run left. */
    mmusim_report_bug(ts_cpu(m, 1), BUG_WHAT, 0xc0000000u);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 3);
    check_report(&rep[0], MMUSIM_REPORT_WARN, 1, 0, 0x1234, WARN_WHAT);
    check_report(&rep[1], MMUSIM_REPORT_BUG, 0, 0, 0, BUG_WHAT);
    check_report(&rep[2], MMUSIM_REPORT_BUG, 1, ctx_switch(m) + 4 * 50, 0xc0000000u, BUG_WHAT);
    assert_int_equal(ts_clock(m, 1), ctx_switch(m) + 4 * 50);
}

static void test_null_arguments_do_nothing(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct seen *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->m = m;
    mmusim_machine_set_report_callback(m, on_report, s);
    mmusim_report_bug(NULL, BUG_WHAT, 1);
    mmusim_report_warn(NULL, WARN_WHAT, 1);
    mmusim_report_bug(ts_cpu(m, 0), NULL, 1);
    mmusim_report_warn(ts_cpu(m, 0), NULL, 1);
    mmusim_machine_set_report_policy(NULL, MMUSIM_REPORT_STOP_ON_BUG);
    mmusim_machine_set_report_callback(NULL, on_report, s);
    unsigned calls = s->n;
    mmusim_machine_set_report_callback(m, NULL, NULL);
    free(s);
    assert_int_equal(calls, 0);
    assert_int_equal(ts_nreports(m), 0);
    assert_int_equal(ts_stats(m, 0).bugs + ts_stats(m, 0).warns, 0);
}

static void test_callback_sees_each_report_in_order(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, era_2_6_18);
    struct seen *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->m = m;
    mmusim_machine_set_report_callback(m, on_report, s);

    mmusim_report_warn(ts_cpu(m, 0), WARN_WHAT, 0x1000); /* outside a run */
    struct misuse u;
    misuse_init(m, &u);
    spawn(m, 1, misuse_step, &u); /* 2 WARNs (the first at ctx_switch + lock_op) and a BUG from the library */
    struct worker w = {.nsteps = 2, .spend = 10, .bug_at = 0, .bugs = 2, .warn_at = 1, .addr = 0xd0000000u};
    spawn(m, 0, worker_step, &w); /* 2 BUGs at ctx_switch + 10, a WARN at ctx_switch + 20 */
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.finished, 1);

    struct mmusim_report rep[16];
    uint64_t n = mmusim_machine_reports(m, rep, 16);
    assert_int_equal(n, 7);
    assert_int_equal(s->n, 7);
    for (unsigned i = 0; i < 7; i++) {
        assert_memory_equal(&s->r[i], &rep[i], sizeof(rep[i]));
        assert_int_equal(s->count_then[i], i + 1); /* called after the record was made */
        assert_true(s->stored_then[i]);
    }
    uint64_t cs = ctx_switch(m);
    check_report(&s->r[0], MMUSIM_REPORT_WARN, 0, 0, 0x1000, WARN_WHAT);
    /* Both steps start at cs; CPU0's goes first (ties: the lowest CPU) and reports at cs + 10. CPU1's
     * reaches call_lock at cs + lock_op (20), later than CPU0's next step (cs + 10): the lock waits for
     * its turn (global time order), so CPU0's second step reports at cs + 20 first, then CPU1 takes the
     * lock and WARNs at cs + 20. */
    assert_int_equal(ts_costs(m)->lock_op, 20);
    check_report(&s->r[1], MMUSIM_REPORT_BUG, 0, cs + 10, 0xd0000000u, BUG_WHAT);
    check_report(&s->r[2], MMUSIM_REPORT_BUG, 0, cs + 10, 0xd0000001u, BUG_WHAT);
    check_report(&s->r[3], MMUSIM_REPORT_WARN, 0, cs + 20, 0xd0000000u, WARN_WHAT);
    assert_int_equal(s->r[4].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(s->r[4].cpu, 1);
    assert_int_equal(s->r[4].cycle, cs + ts_costs(m)->lock_op);
    assert_int_equal(s->r[4].address, KERNEL_VA);
    assert_int_equal(s->r[5].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(s->r[5].cpu, 1);
    assert_int_equal(s->r[5].address, 0);
    assert_int_equal(s->r[6].kind, MMUSIM_REPORT_BUG);
    assert_int_equal(s->r[6].cpu, 1);

    /* Removed: no more calls. */
    mmusim_machine_set_report_callback(m, NULL, s);
    mmusim_report_bug(ts_cpu(m, 1), BUG_WHAT, 0);
    assert_int_equal(s->n, 7);
    assert_int_equal(ts_nreports(m), 8);
    free(s);
}

/* A report made by the callback itself is recorded but not passed to it again. */
struct reentrant {
    mmusim_cpu *cpu;
    unsigned calls;
};

static void reporting_callback(void *ctx, const struct mmusim_report *r)
{
    struct reentrant *e = ctx;
    (void)r;
    e->calls++;
    mmusim_report_warn(e->cpu, WARN_WHAT, 0);
}

static void test_callback_that_reports_is_not_reentered(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct reentrant e = {ts_cpu(m, 0), 0};
    mmusim_machine_set_report_callback(m, reporting_callback, &e);
    mmusim_report_bug(ts_cpu(m, 0), BUG_WHAT, 0);
    assert_int_equal(e.calls, 1);
    assert_int_equal(ts_nreports(m), 2);
}

/* CPU0 and CPU1 each run 10 steps of 100 cycles; CPU0 reports BUGs at its step 3, CPU1 a WARN at its step 6. */
static void two_workers(mmusim_machine *m, struct worker *w0, struct worker *w1)
{
    struct worker a = {.nsteps = 10, .spend = 100, .bug_at = 3, .bugs = 2, .warn_at = NONE, .addr = 0xc2000000u};
    struct worker b = {.nsteps = 10, .spend = 100, .bug_at = NONE, .warn_at = 6, .addr = 0xc3000000u};
    *w0 = a;
    *w1 = b;
    spawn(m, 0, worker_step, w0);
    spawn(m, 1, worker_step, w1);
}

static void test_stop_on_bug_stops_at_the_reporting_step(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct seen *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->m = m;
    mmusim_machine_set_report_callback(m, on_report, s);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_STOP_ON_BUG);
    mmusim_machine_set_report_policy(m, (enum mmusim_report_policy)7); /* ignored */
    mmusim_report_warn(ts_cpu(m, 1), WARN_WHAT, 0); /* index 0: the BUG will be index 1 */
    struct worker w0, w1;
    two_workers(m, &w0, &w1);
    uint64_t cs = ctx_switch(m);

    /* CPU0's step 3 starts at cs + 300 (before CPU1's at the same time: ties
     * go to CPU0) and reports at cs + 400; CPU1 has run steps 0-2 by then. */
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.stopped_on_bug, 1);
    assert_int_equal(r.bug_index, 1);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.steps, 4 + 3);
    assert_int_equal(w0.done, 4);
    assert_int_equal(w1.done, 3);
    assert_int_equal(ts_clock(m, 0), cs + 400);
    assert_int_equal(ts_clock(m, 1), cs + 300);
    assert_int_equal(r.end_cycle, cs + 400);
    /* Both BUGs of the step were made (the step ran to its end); the first stopped the run. */
    struct mmusim_report rep[8];
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 3);
    check_report(&rep[1], MMUSIM_REPORT_BUG, 0, cs + 400, 0xc2000000u, BUG_WHAT);
    check_report(&rep[2], MMUSIM_REPORT_BUG, 0, cs + 400, 0xc2000001u, BUG_WHAT);
    assert_int_equal(s->n, 3);
    assert_int_equal(mmusim_task_state(mmusim_cpu_current(ts_cpu(m, 1))), MMUSIM_TASK_RUNNING);

    /* Run again: continues to completion; CPU1's WARN does not stop it. */
    r = run(m);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(r.bug_index, 0);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.steps, 20 - 7);
    assert_int_equal(w0.done, 10);
    assert_int_equal(w1.done, 10);
    assert_int_equal(ts_clock(m, 0), cs + 1000);
    assert_int_equal(ts_clock(m, 1), cs + 1000);
    assert_int_equal(mmusim_machine_reports(m, rep, 8), 4);
    check_report(&rep[3], MMUSIM_REPORT_WARN, 1, cs + 700, 0xc3000000u, WARN_WHAT);
    assert_int_equal(s->n, 4);
    free(s);
    mmusim_machine_set_report_callback(m, NULL, NULL);
}

/* A BUG from an interrupt handler stops the run too, once the handler's step is over. */
static enum mmusim_step buggy_handler(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_report_bug(cpu, BUG_WHAT, 0xabc000);
    return MMUSIM_STEP_DONE;
}

static void test_stop_on_bug_from_a_handler(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_STOP_ON_BUG);
    struct worker w0 = {.nsteps = 40, .spend = 100, .bug_at = NONE, .warn_at = NONE};
    struct worker w1 = {.nsteps = 40, .spend = 100, .bug_at = NONE, .warn_at = NONE};
    spawn(m, 0, worker_step, &w0);
    spawn(m, 1, worker_step, &w1);
    uint64_t cs = ctx_switch(m);
    uint64_t ipi = ts_costs(m)->ipi_handler;
    assert_true(500 + ipi < 39 * 100);
    /* Arrives at cs + 450 on CPU1, taken at its step boundary cs + 500 (5
     * steps done); the handler, entered for ipi_handler, reports at
     * t = cs + 500 + ipi_handler. CPU0 runs every step that starts by t (a
     * tie goes to CPU0), and nothing after. */
    assert_int_equal(mmusim_irq_at(m, 1, cs + 450, buggy_handler, NULL), MMUSIM_OK);
    struct mmusim_run_result r = run(m);
    uint64_t t = cs + 500 + ipi;
    unsigned done0 = (unsigned)((500 + ipi) / 100 + 1);
    assert_int_equal(r.stopped_on_bug, 1);
    assert_int_equal(r.bug_index, 0);
    assert_int_equal(r.finished, 0);
    struct mmusim_report rep;
    assert_int_equal(mmusim_machine_reports(m, &rep, 1), 1);
    check_report(&rep, MMUSIM_REPORT_BUG, 1, t, 0xabc000, BUG_WHAT);
    assert_int_equal(w1.done, 5);
    assert_int_equal(ts_clock(m, 1), t);
    assert_int_equal(w0.done, done0);
    assert_int_equal(ts_clock(m, 0), cs + 100 * done0);
    assert_int_equal(r.steps, 5 + 1 + done0); /* the handler's step counts */
    assert_int_equal(mmusim_cpu_context(ts_cpu(m, 1)), MMUSIM_CTX_TASK); /* the handler has returned */

    r = run(m);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(w0.done, 40);
    assert_int_equal(w1.done, 40);
    assert_int_equal(ts_nreports(m), 1);
}

static void test_continue_runs_on(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_STOP_ON_BUG);
    mmusim_machine_set_report_policy(m, MMUSIM_REPORT_CONTINUE);
    struct worker w0, w1;
    two_workers(m, &w0, &w1);
    struct mmusim_run_result r = run(m);
    assert_int_equal(r.finished, 1);
    assert_int_equal(r.stopped_on_bug, 0);
    assert_int_equal(r.bug_index, 0);
    assert_int_equal(r.steps, 20);
    assert_int_equal(w0.done, 10);
    assert_int_equal(w1.done, 10);
    assert_int_equal(ts_nreports(m), 3);
}

static void test_counters_per_cpu_and_totals(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    mmusim_cpu *c0 = ts_cpu(m, 0), *c1 = ts_cpu(m, 1);
    for (int i = 0; i < 3; i++)
        mmusim_report_bug(c0, BUG_WHAT, 0);
    mmusim_report_warn(c0, WARN_WHAT, 0);
    mmusim_report_warn(c1, WARN_WHAT, 0);
    mmusim_report_warn(c1, WARN_WHAT, 0);
    mmusim_preempt_enable(c1); /* the library's own BUG counts too */

    assert_int_equal(ts_stats(m, 0).bugs, 3);
    assert_int_equal(ts_stats(m, 0).warns, 1);
    assert_int_equal(ts_stats(m, 1).bugs, 1);
    assert_int_equal(ts_stats(m, 1).warns, 2);
    assert_int_equal(ts_stats(m, 2).bugs, 0);
    assert_int_equal(ts_stats(m, 2).warns, 0);
    struct mmusim_cpu_stats t;
    mmusim_machine_stats(m, &t);
    assert_int_equal(t.bugs, 4);
    assert_int_equal(t.warns, 3);

    /* Forgetting the records leaves the counters; a stats reset clears them. */
    mmusim_machine_reports_reset(m);
    assert_int_equal(ts_nreports(m), 0);
    assert_int_equal(ts_stats(m, 0).bugs, 3);
    mmusim_cpu_stats_reset(c0);
    mmusim_machine_stats(m, &t);
    assert_int_equal(t.bugs, 1);
    assert_int_equal(t.warns, 2);
}

static void test_first_1024_kept_all_counted(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    struct seen *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->m = m;
    mmusim_machine_set_report_callback(m, on_report, s);
    const unsigned total = 1500;
    for (unsigned i = 0; i < total; i++) {
        mmusim_cpu *c = ts_cpu(m, i % 2);
        if (i % 3 == 0)
            mmusim_report_bug(c, BUG_WHAT, i);
        else
            mmusim_report_warn(c, WARN_WHAT, i);
    }
    assert_int_equal(ts_nreports(m), total);
    /* The callback saw every one, also those beyond the kept 1024. */
    assert_int_equal(s->n, total);
    for (unsigned i = 0; i < total; i++) {
        assert_int_equal(s->r[i].address, i);
        assert_int_equal(s->r[i].cpu, i % 2);
        assert_int_equal(s->count_then[i], i + 1);
        assert_true(s->stored_then[i]);
    }

    struct mmusim_report *buf = calloc(1100, sizeof(*buf));
    assert_non_null(buf);
    memset(buf, 0xee, 1100 * sizeof(*buf));
    struct mmusim_report untouched;
    memset(&untouched, 0xee, sizeof(untouched));
    assert_int_equal(mmusim_machine_reports(m, buf, 1100), total);
    for (unsigned i = 0; i < 1024; i++) {
        assert_int_equal(buf[i].address, i);
        assert_int_equal(buf[i].kind, i % 3 == 0 ? MMUSIM_REPORT_BUG : MMUSIM_REPORT_WARN);
    }
    assert_memory_equal(&buf[1024], &untouched, sizeof(untouched));
    /* A smaller buffer gets the first max. */
    memset(buf, 0xee, 1100 * sizeof(*buf));
    assert_int_equal(mmusim_machine_reports(m, buf, 10), total);
    assert_int_equal(buf[9].address, 9);
    assert_memory_equal(&buf[10], &untouched, sizeof(untouched));
    free(buf);

    struct mmusim_cpu_stats t;
    mmusim_machine_stats(m, &t);
    assert_int_equal(t.bugs, 500);
    assert_int_equal(t.warns, 1000);
    assert_int_equal(t.bugs + t.warns, total);
    mmusim_machine_set_report_callback(m, NULL, NULL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_library_checks_record_the_address),
        TS_TEST(test_public_reports_from_a_step),
        TS_TEST(test_public_reports_outside_a_run),
        TS_TEST(test_null_arguments_do_nothing),
        TS_TEST(test_callback_sees_each_report_in_order),
        TS_TEST(test_callback_that_reports_is_not_reentered),
        TS_TEST(test_stop_on_bug_stops_at_the_reporting_step),
        TS_TEST(test_stop_on_bug_from_a_handler),
        TS_TEST(test_continue_runs_on),
        TS_TEST(test_counters_per_cpu_and_totals),
        TS_TEST(test_first_1024_kept_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
