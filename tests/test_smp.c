/*
 * The SMP engine (include/mmusim/smp.h): simulated time across CPUs, IPIs,
 * the SMP TLB flushes, interrupt contexts, spinlocks, wake-ups, determinism
 * and the BUG/WARN reports.
 *
 * Every cycle value asserted here is derived from the timing model below and
 * from the preset's cost fields as the machine holds them
 * (mmusim_machine_config(m)->costs); no cycle count is written as a number.
 *
 *   - The engine steps the CPU with the lowest clock (ties: lowest id); a step
 *     is atomic; interrupts are taken at step boundaries once the CPU's clock
 *     has reached their arrival and interrupts are on (NMIs always, except in
 *     an NMI). An idle CPU jumps its clock to the arrival.
 *   - Starting a task costs ctx_switch, plus mov_cr3 (+ mov_cr3_pae_extra
 *     under PAE) when the task's nonzero cr3 differs from the loaded one.
 *   - xAPIC (core2, atom, haswell), up to 8 CPUs: the sender pays ipi_send
 *     once per mask; target i (0-based, CPU order) sees the IPI at
 *     t + ipi_send + ipi_deliver + i * ipi_extra_target. Beyond 8 CPUs
 *     (physflat, docs/smp.md) one message per target, one after the other.
 *     p3 (apic_bus_serial): the message departs at
 *     max(t + ipi_send, bus_free) + apic_bus_msg.
 *   - A target charges ipi_handler plus the flush (pge_toggle for
 *     __flush_tlb_all under CR4.PGE, invlpg per page, mov_cr3 for a CR3
 *     reload or leave_mm) and acknowledges ipi_ack after its handler ends.
 *   - flush_tlb_all / flush_tlb_kernel_range: local flush after the last ack;
 *     flush_tlb_range: local flush first.
 *   - Hardirqs and NMIs charge ipi_handler on entry (irq_entry_cycles).
 *   - spin_lock / spin_unlock charge lock_op; a held lock passes to the next
 *     waiter at (release) + lock_handoff.
 *   - A cross-CPU wake-up of a task whose CPU is idle: the waker pays
 *     ipi_send; the task resumes at waker_clock + ipi_send + ipi_deliver +
 *     ipi_handler + ctx_switch (+ the CR3 write if one is needed).
 *
 * Machines live in the test's state and are destroyed by the teardown, so a
 * failing assertion (which longjmps out of the engine) leaks nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim.h"

/* A run not finished by then counts as a hang: run_all fails instead of looping on. */
#define CYCLE_LIMIT 200000000ull

#define MAX_MACHINES 4
#define MAX_STEPS 64

/* A user page (the traditional ELF text start). */
#define USER_VA 0x08048000u

/* ---- fixture: machines created by a test, destroyed by the teardown ---- */

struct fixture {
    mmusim_machine *m[MAX_MACHINES];
    unsigned n;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (unsigned i = 0; i < f->n; i++)
        mmusim_machine_destroy(f->m[i]);
    free(f);
    return 0;
}

/* A machine with ncpus CPUs and the key/value pairs of kv (NULL-terminated; "preset" first). */
static mmusim_machine *mk(void **state, unsigned ncpus, const char *const *kv)
{
    struct fixture *f = *state;
    struct mmusim_config cfg;
    char n[16];
    mmusim_config_init(&cfg);
    for (; kv && *kv; kv += 2)
        assert_int_equal(mmusim_config_set(&cfg, kv[0], kv[1]), MMUSIM_OK);
    snprintf(n, sizeof(n), "%u", ncpus);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", n), MMUSIM_OK);
    assert_true(f->n < MAX_MACHINES);
    mmusim_machine *m = NULL;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_OK);
    f->m[f->n++] = m;
    return m;
}

static const struct mmusim_costs *costs_of(const mmusim_machine *m)
{
    return &mmusim_machine_config(m)->costs;
}

static mmusim_cpu *cpu_of(mmusim_machine *m, unsigned i)
{
    mmusim_cpu *c = mmusim_machine_cpu(m, i);
    assert_non_null(c);
    return c;
}

static struct mmusim_cpu_stats st(mmusim_machine *m, unsigned i)
{
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(cpu_of(m, i), &s);
    return s;
}

static uint64_t clk(mmusim_machine *m, unsigned i)
{
    return mmusim_cpu_cycles(cpu_of(m, i));
}

static mmusim_task *spawn(mmusim_machine *m, unsigned cpu, uint64_t cr3, mmusim_step_fn fn, void *arg)
{
    mmusim_task *t = NULL;
    assert_int_equal(mmusim_task_create(m, cpu, cr3, fn, arg, &t), MMUSIM_OK);
    assert_non_null(t);
    return t;
}

/* Run to completion: everything must finish, without deadlock, before CYCLE_LIMIT. */
static struct mmusim_run_result run_all(mmusim_machine *m)
{
    struct mmusim_run_result r;
    memset(&r, 0xa5, sizeof(r));
    assert_int_equal(mmusim_machine_run(m, CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.finished, 1);
    return r;
}

static uint64_t nreports(const mmusim_machine *m)
{
    return mmusim_machine_reports(m, NULL, 0);
}

/* First step boundary at or after `at` of a CPU whose steps start at t0 and last len cycles. */
static uint64_t boundary_after(uint64_t t0, uint64_t len, uint64_t at)
{
    if (at <= t0)
        return t0;
    return t0 + (at - t0 + len - 1) / len * len;
}

/* ---- what a step saw ---- */

struct snap {
    int taken;
    uint64_t clock;
    enum mmusim_context ctx;
    int in_int, irqs_off;
    unsigned nest, preempt;
    mmusim_task *current;
};

static void take_snap(mmusim_cpu *cpu, struct snap *s)
{
    s->taken = 1;
    s->clock = mmusim_cpu_cycles(cpu);
    s->ctx = mmusim_cpu_context(cpu);
    s->in_int = mmusim_cpu_in_interrupt(cpu);
    s->irqs_off = mmusim_cpu_irqs_disabled(cpu);
    s->nest = mmusim_cpu_nesting(cpu);
    s->preempt = mmusim_cpu_preempt_count(cpu);
    s->current = mmusim_cpu_current(cpu);
}

static void check_snap(const struct snap *s, uint64_t clock, enum mmusim_context ctx, int in_int, int irqs_off,
                       unsigned nest, unsigned preempt)
{
    assert_true(s->taken);
    assert_int_equal(s->clock, clock);
    assert_int_equal(s->ctx, ctx);
    assert_int_equal(s->in_int, in_int);
    assert_int_equal(s->irqs_off, irqs_off);
    assert_int_equal(s->nest, nest);
    assert_int_equal(s->preempt, preempt);
}

/* ---- a scripted step function: one instruction per step ---- */

enum op { OP_END, OP_SPEND, OP_IRQ_OFF, OP_IRQ_ON };

struct ins {
    enum op op;
    uint64_t n; /* cycles spent after the op */
};

struct script {
    struct ins prog[MAX_STEPS];
    unsigned pc;
    struct snap at[MAX_STEPS]; /* what each step saw when called */
};

/* Append n instructions (op, cycles). */
static void script_add(struct script *s, enum op op, uint64_t cycles, unsigned n)
{
    unsigned len = 0;
    while (s->prog[len].op != OP_END)
        len++;
    assert_true(len + n < MAX_STEPS);
    for (unsigned i = 0; i < n; i++) {
        s->prog[len + i].op = op;
        s->prog[len + i].n = cycles;
    }
}

static enum mmusim_step script_step(mmusim_cpu *cpu, void *arg)
{
    struct script *s = arg;
    unsigned i = s->pc;
    take_snap(cpu, &s->at[i]);
    if (s->prog[i].op == OP_IRQ_OFF)
        mmusim_local_irq_disable(cpu);
    else if (s->prog[i].op == OP_IRQ_ON)
        mmusim_local_irq_enable(cpu);
    mmusim_cpu_spend(cpu, s->prog[i].n);
    s->pc++;
    return s->prog[s->pc].op == OP_END ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

/* ---- a task that calls flush_tlb_all once and notes when it was called and resumed ---- */

struct flusher {
    int phase, rc;
    uint64_t delay; /* spent just before the call */
    uint64_t called_at, resumed_at;
};

static enum mmusim_step flush_all_once(mmusim_cpu *cpu, void *arg)
{
    struct flusher *f = arg;
    if (f->phase++ == 0) {
        mmusim_cpu_spend(cpu, f->delay);
        f->called_at = mmusim_cpu_cycles(cpu);
        f->rc = mmusim_flush_tlb_all_smp(cpu);
        return MMUSIM_STEP_MORE;
    }
    f->resumed_at = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

/* ==== 1. IPI timing ==== */

/*
 * Busy target. CPU0 (a kernel thread: ctx_switch, no CR3 write) calls
 * flush_tlb_all at t0 = ctx_switch. CPU1 runs steps of L cycles from t0. The
 * IPI arrives at t0 + ipi_send + ipi_deliver and is taken at CPU1's first
 * boundary B at or after it; the handler ends at
 * B + ipi_handler + pge_toggle (CR4.PGE is on by default), so CPU1's next
 * step starts then. CPU0 waits from t0 + ipi_send to the ack at
 * (handler end) + ipi_ack, then flushes locally (pge_toggle).
 */
static void ipi_busy_target(void **state, uint64_t L)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    struct script s = {0};
    script_add(&s, OP_SPEND, L, 20);
    spawn(m, 0, 0, flush_all_once, &f);
    spawn(m, 1, 0, script_step, &s);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + c->ipi_send + c->ipi_deliver;
    uint64_t b = boundary_after(t0, L, arrival);
    unsigned k = (unsigned)((b - t0) / L);
    uint64_t hend = b + c->ipi_handler + c->pge_toggle;
    uint64_t ack = hend + c->ipi_ack;
    assert_true(b >= arrival && k >= 1 && k < 20);

    assert_int_equal(f.rc, MMUSIM_OK);
    assert_int_equal(f.called_at, t0);
    assert_int_equal(f.resumed_at, ack + c->pge_toggle);
    assert_int_equal(s.at[k - 1].clock, b - L); /* the step the IPI arrived during ran to its end */
    assert_int_equal(s.at[k].clock, hend);      /* the IPI was taken at B, not before */

    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1);
    assert_int_equal(s0.ipis_sent, 1);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.shootdowns, 1);
    assert_int_equal(s0.shootdown_wait_cycles, ack - (t0 + c->ipi_send));
    assert_int_equal(s0.global_flushes, 1);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->pge_toggle);
    assert_int_equal(s1.global_flushes, 1);
    assert_int_equal(s1.shootdowns, 0);
    assert_int_equal(nreports(m), 0);
}

/* Steps of 250 cycles: the arrival (t0 + 630 on core2) falls inside a step. */
static void test_ipi_busy_target(void **state)
{
    ipi_busy_target(state, 250);
}

/*
 * Steps of exactly (ipi_send + ipi_deliver) / 2 cycles: the arrival falls on
 * a boundary, where clock >= arrival already holds: taken there.
 */
static void test_ipi_busy_target_on_boundary(void **state)
{
    struct mmusim_costs k;
    assert_int_equal(mmusim_costs_preset(MMUSIM_PRESET_CORE2, &k), MMUSIM_OK);
    assert_int_equal((k.ipi_send + k.ipi_deliver) % 2, 0);
    ipi_busy_target(state, (k.ipi_send + k.ipi_deliver) / 2);
}

/*
 * Idle target: CPU1 has no task, so it jumps to the arrival
 * t0 + ipi_send + ipi_deliver (its idle_cycles) and takes the IPI there.
 */
static void test_ipi_idle_target(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + c->ipi_send + c->ipi_deliver;
    uint64_t hend = arrival + c->ipi_handler + c->pge_toggle;
    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1);
    assert_int_equal(s1.idle_cycles, arrival);
    assert_int_equal(clk(m, 1), hend);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->pge_toggle);
    assert_int_equal(s0.shootdown_wait_cycles, hend + c->ipi_ack - (t0 + c->ipi_send));
    assert_int_equal(f.resumed_at, hend + c->ipi_ack + c->pge_toggle);
}

/*
 * Target with interrupts disabled: CPU1 disables them and spends 500, then
 * 3 x 1000 over three steps, then enables them (a step of 0 cycles) at
 * enable = t0 + 3500. The IPI (arrived at t0 + ipi_send + ipi_deliver, long
 * before) is taken only at that boundary: handler end = enable + ipi_handler
 * + pge_toggle, and CPU0's wait lasts until that + ipi_ack.
 */
static void test_ipi_irqs_disabled_target(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    struct script s = {0};
    script_add(&s, OP_IRQ_OFF, 500, 1);
    script_add(&s, OP_SPEND, 1000, 3);
    script_add(&s, OP_IRQ_ON, 0, 1);
    script_add(&s, OP_SPEND, 1000, 2);
    spawn(m, 0, 0, flush_all_once, &f);
    spawn(m, 1, 0, script_step, &s);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + c->ipi_send + c->ipi_deliver;
    uint64_t enable = t0 + 500 + 3 * 1000;
    uint64_t hend = enable + c->ipi_handler + c->pge_toggle;
    assert_true(arrival < t0 + 500 + 1000); /* it arrived while interrupts were off */
    for (unsigned i = 1; i <= 4; i++)
        assert_int_equal(s.at[i].irqs_off, 1);
    assert_int_equal(s.at[4].clock, enable);
    assert_int_equal(s.at[5].clock, hend);
    assert_int_equal(s.at[5].irqs_off, 0);
    struct mmusim_cpu_stats s0 = st(m, 0);
    assert_int_equal(s0.shootdown_wait_cycles, hend + c->ipi_ack - (t0 + c->ipi_send));
    assert_int_equal(f.resumed_at, hend + c->ipi_ack + c->pge_toggle);
    assert_int_equal(st(m, 1).ipis_received, 1);
}

/*
 * Fan-out: CPU0 flushes 3 idle CPUs. One message (ipi_send once); target i
 * (i = 0, 1, 2 for CPUs 1, 2, 3) sees it at t0 + ipi_send + ipi_deliver +
 * i * ipi_extra_target, its idle_cycles. The wait ends with the last ack.
 */
static void test_ipi_fanout(void **state)
{
    mmusim_machine *m = mk(state, 4, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);

    uint64_t t0 = c->ctx_switch, last_ack = 0;
    for (unsigned d = 1; d < 4; d++) {
        uint64_t arrival = t0 + c->ipi_send + c->ipi_deliver + (uint64_t)(d - 1) * c->ipi_extra_target;
        uint64_t hend = arrival + c->ipi_handler + c->pge_toggle;
        struct mmusim_cpu_stats s = st(m, d);
        assert_int_equal(s.idle_cycles, arrival);
        assert_int_equal(clk(m, d), hend);
        assert_int_equal(s.ipis_received, 1);
        last_ack = hend + c->ipi_ack;
    }
    struct mmusim_cpu_stats s0 = st(m, 0);
    assert_int_equal(s0.ipis_sent, 3);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.shootdown_wait_cycles, last_ack - (t0 + c->ipi_send));
    assert_int_equal(f.resumed_at, last_ack + c->pge_toggle);
}

/*
 * Eight CPUs: still one message for the 7 targets (Linux's flat logical
 * mode), the sender pays ipi_send once and target i sees it at
 * t0 + ipi_send + ipi_deliver + i * ipi_extra_target.
 */
static void test_ipi_eight_cpus_one_message(void **state)
{
    mmusim_machine *m = mk(state, 8, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);
    uint64_t t0 = c->ctx_switch;
    for (unsigned d = 1; d < 8; d++)
        assert_int_equal(st(m, d).idle_cycles,
                         t0 + c->ipi_send + c->ipi_deliver + (uint64_t)(d - 1) * c->ipi_extra_target);
    assert_int_equal(st(m, 0).ipi_send_cycles, c->ipi_send);
    assert_int_equal(st(m, 0).ipis_sent, 7);
}

/*
 * Nine CPUs: physflat, one message per target, sent one after the other
 * (docs/smp.md "IPIs"). Target j (CPU j, j = 1..8) sees it at
 * t0 + j * ipi_send + ipi_deliver; the sender pays 8 ipi_send; the wait ends
 * with the last target's ack.
 */
static void test_ipi_nine_cpus_unicast(void **state)
{
    mmusim_machine *m = mk(state, 9, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);
    uint64_t t0 = c->ctx_switch, last = 0;
    for (unsigned d = 1; d < 9; d++) {
        uint64_t arrival = t0 + d * (uint64_t)c->ipi_send + c->ipi_deliver;
        assert_int_equal(st(m, d).idle_cycles, arrival);
        assert_int_equal(clk(m, d), arrival + c->ipi_handler + c->pge_toggle);
        last = arrival + c->ipi_handler + c->pge_toggle + c->ipi_ack;
    }
    struct mmusim_cpu_stats s0 = st(m, 0);
    assert_int_equal(s0.ipis_sent, 8);
    assert_int_equal(s0.ipi_send_cycles, 8 * (uint64_t)c->ipi_send);
    assert_int_equal(s0.shootdown_wait_cycles, last - (t0 + 8 * (uint64_t)c->ipi_send));
    assert_int_equal(f.resumed_at, last + c->pge_toggle);
}

/* ==== 2. Nested interrupt contexts ==== */

/* An interrupt handler: notes what it saw on its first call, may raise a softirq, spends, returns. */
struct handler {
    struct snap snap;
    uint64_t spend;
    mmusim_step_fn soft;
    void *soft_arg;
    int rc;
};

static enum mmusim_step handler_step(mmusim_cpu *cpu, void *arg)
{
    struct handler *h = arg;
    if (!h->snap.taken)
        take_snap(cpu, &h->snap);
    if (h->soft)
        h->rc = mmusim_raise_softirq(cpu, h->soft, h->soft_arg);
    mmusim_cpu_spend(cpu, h->spend);
    return MMUSIM_STEP_DONE;
}

/*
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
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct script task = {0}, soft = {0};
    script_add(&task, OP_SPEND, 1000, 5);
    script_add(&soft, OP_SPEND, 500, 3);
    struct handler h1 = {.spend = 200, .soft = script_step, .soft_arg = &soft};
    struct handler nmi = {.spend = 50}, h2 = {.spend = 50};

    uint64_t t0 = c->ctx_switch;
    uint64_t irq1_at = t0 + 600;
    uint64_t h1_entry = boundary_after(t0, 1000, irq1_at) + c->ipi_handler;
    uint64_t soft1 = h1_entry + h1.spend;
    uint64_t nmi_at = soft1 + 100;
    uint64_t nmi_entry = soft1 + 500 + c->ipi_handler;
    uint64_t soft2 = nmi_entry + nmi.spend;
    uint64_t irq2_at = soft2 + 100;
    uint64_t h2_entry = soft2 + 500 + c->ipi_handler;
    uint64_t soft3 = h2_entry + h2.spend;
    uint64_t task_resume = soft3 + 500;

    mmusim_task *t = spawn(m, 0, 0, script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 0, irq1_at, handler_step, &h1), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, nmi_at, handler_step, &nmi), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at(m, 0, irq2_at, handler_step, &h2), MMUSIM_OK);
    run_all(m);

    const unsigned SO = MMUSIM_SOFTIRQ_OFFSET, HO = MMUSIM_HARDIRQ_OFFSET, NO = MMUSIM_NMI_OFFSET;
    check_snap(&task.at[0], t0, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    check_snap(&h1.snap, h1_entry, MMUSIM_CTX_HARDIRQ, 1, 1, 2, HO);
    assert_int_equal(h1.rc, MMUSIM_OK);
    check_snap(&soft.at[0], soft1, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    check_snap(&nmi.snap, nmi_entry, MMUSIM_CTX_NMI, 1, 1, 3, SO + NO + HO);
    check_snap(&soft.at[1], soft2, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    check_snap(&h2.snap, h2_entry, MMUSIM_CTX_HARDIRQ, 1, 1, 3, SO + HO);
    check_snap(&soft.at[2], soft3, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, SO);
    check_snap(&task.at[1], task_resume, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    /* The interrupted task stays current throughout. */
    assert_ptr_equal(h1.snap.current, t);
    assert_ptr_equal(nmi.snap.current, t);
    assert_ptr_equal(soft.at[0].current, t);

    struct mmusim_cpu_stats s = st(m, 0);
    assert_int_equal(s.irqs, 2);
    assert_int_equal(s.nmis, 1);
    assert_int_equal(s.softirqs, 1);
    assert_int_equal(s.irq_entry_cycles, 3 * (uint64_t)c->ipi_handler);
    assert_int_equal(s.ipis_received, 0);
    assert_int_equal(nreports(m), 0);
}

/*
 * A hardirq arriving while interrupts are disabled waits for
 * local_irq_enable; an NMI in the same window does not. The task disables
 * interrupts and spends 1000, spends 1000, spends 1000, enables (0 cycles),
 * spends 1000. The hardirq (at t0 + 500) is taken at the enable boundary;
 * the NMI (at t0 + 1500) at the boundary t0 + 2000, and on its return
 * interrupts are still off (iret restores the task's IF).
 */
static void test_irq_waits_for_enable(void **state)
{
    mmusim_machine *m = mk(state, 1, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct script task = {0};
    script_add(&task, OP_IRQ_OFF, 1000, 1);
    script_add(&task, OP_SPEND, 1000, 2);
    script_add(&task, OP_IRQ_ON, 0, 1);
    script_add(&task, OP_SPEND, 1000, 1);
    struct handler irq = {.spend = 50}, nmi = {.spend = 50};
    uint64_t t0 = c->ctx_switch;
    spawn(m, 0, 0, script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 0, t0 + 500, handler_step, &irq), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, t0 + 1500, handler_step, &nmi), MMUSIM_OK);
    run_all(m);

    uint64_t nmi_entry = t0 + 2000 + c->ipi_handler;
    uint64_t s2 = nmi_entry + nmi.spend;
    uint64_t enable = s2 + 1000;
    uint64_t irq_entry = enable + c->ipi_handler;
    check_snap(&nmi.snap, nmi_entry, MMUSIM_CTX_NMI, 1, 1, 2, MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET);
    check_snap(&task.at[2], s2, MMUSIM_CTX_TASK, 0, 1, 1, 0);
    check_snap(&task.at[3], enable, MMUSIM_CTX_TASK, 0, 1, 1, 0);
    check_snap(&irq.snap, irq_entry, MMUSIM_CTX_HARDIRQ, 1, 1, 2, MMUSIM_HARDIRQ_OFFSET);
    check_snap(&task.at[4], irq_entry + irq.spend, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    struct mmusim_cpu_stats s = st(m, 0);
    assert_int_equal(s.irqs, 1);
    assert_int_equal(s.nmis, 1);
}

/*
 * NMIs do not nest on NMIs: NMI1 (at t0 + 500, taken at the boundary
 * t0 + 1000) runs two 300-cycle steps; NMI2 arrives 100 into the first and
 * is taken only when NMI1 returns, at n1_end = t0 + 1000 + ipi_handler + 600.
 */
static void test_nmi_not_nested_in_nmi(void **state)
{
    mmusim_machine *m = mk(state, 1, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct script task = {0}, n1 = {0};
    script_add(&task, OP_SPEND, 1000, 4);
    script_add(&n1, OP_SPEND, 300, 2);
    struct handler n2 = {.spend = 50};
    uint64_t t0 = c->ctx_switch;
    uint64_t n1_entry = t0 + 1000 + c->ipi_handler;
    uint64_t n1_end = n1_entry + 600;
    uint64_t n2_entry = n1_end + c->ipi_handler;
    spawn(m, 0, 0, script_step, &task);
    assert_int_equal(mmusim_nmi_at(m, 0, t0 + 500, script_step, &n1), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, n1_entry + 100, handler_step, &n2), MMUSIM_OK);
    run_all(m);

    const unsigned NMI = MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET;
    check_snap(&n1.at[0], n1_entry, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    check_snap(&n1.at[1], n1_entry + 300, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    check_snap(&n2.snap, n2_entry, MMUSIM_CTX_NMI, 1, 1, 2, NMI);
    check_snap(&task.at[1], n2_entry + n2.spend, MMUSIM_CTX_TASK, 0, 0, 1, 0);
    assert_int_equal(st(m, 0).nmis, 2);
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
    mmusim_machine *m = mk(state, 1, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct script a = {0}, b = {0};
    script_add(&a, OP_IRQ_OFF, 100, 1);
    script_add(&b, OP_SPEND, 100, 1);
    struct handler h = {.spend = 0};
    spawn(m, 0, 0, script_step, &a);
    spawn(m, 0, 0, script_step, &b);
    assert_int_equal(mmusim_irq_at(m, 0, 100000, handler_step, &h), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_true(b.at[0].taken);
    assert_int_equal(b.at[0].irqs_off, 0);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.finished, 1);
    assert_int_equal(h.snap.clock, 100000 + c->ipi_handler);
}

/* ==== 3. flush_tlb_all drops every CPU's global entries ==== */

struct fa_shared {
    uint32_t va;
    unsigned ncpus, initiator, ready;
    int flushed, rc;
};

struct fa_task {
    struct fa_shared *sh;
    int phase, access_rc[3], walked[3];
    unsigned large_before, large_after, polls;
};

static unsigned large_valid(const mmusim_cpu *cpu)
{
    struct mmusim_tlb_stats t;
    if (mmusim_cpu_tlb_stats(cpu, MMUSIM_TLB_DTLB_LARGE, &t) != MMUSIM_OK)
        return ~0u;
    return t.valid;
}

static void fa_access(mmusim_cpu *cpu, struct fa_task *t, int i)
{
    struct mmusim_access a;
    uint32_t v;
    memset(&a, 0, sizeof(a));
    t->access_rc[i] = mmusim_cpu_access(cpu, t->sh->va, MMUSIM_ACC_READ, 4, &v, &a);
    t->walked[i] = a.fault ? -1 : a.walked;
}

static enum mmusim_step fa_step(mmusim_cpu *cpu, void *arg)
{
    struct fa_task *t = arg;
    struct fa_shared *sh = t->sh;
    int me = mmusim_cpu_id(cpu) == sh->initiator;
    switch (t->phase) {
    case 0:
        fa_access(cpu, t, 0);
        t->phase = 1;
        return MMUSIM_STEP_MORE;
    case 1:
        fa_access(cpu, t, 1);
        t->large_before = large_valid(cpu);
        sh->ready++;
        t->phase = 2;
        return MMUSIM_STEP_MORE;
    case 2:
        if (me ? sh->ready < sh->ncpus : !sh->flushed) {
            mmusim_cpu_spend(cpu, 100);
            if (++t->polls < 100000)
                return MMUSIM_STEP_MORE;
            return MMUSIM_STEP_DONE; /* gave up: the asserts below fail */
        }
        if (me) {
            sh->rc = mmusim_flush_tlb_all_smp(cpu);
            t->phase = 3;
            return MMUSIM_STEP_MORE;
        }
        break;
    default:
        sh->flushed = 1; /* the initiator, resumed after the last ack */
        break;
    }
    t->large_after = large_valid(cpu);
    fa_access(cpu, t, 2);
    return MMUSIM_STEP_DONE;
}

/*
 * 4 CPUs each read a direct-map address (lowmem, PAGE_OFFSET + 1 MiB: a
 * large global page): the first access walks, the second hits, and
 * dtlb.large holds the entry. CPU2 then calls flush_tlb_all. Every CPU's
 * dtlb.large is empty afterwards and its next access walks again; CPU2 sent
 * 3 IPIs (one per other CPU) in one shootdown; every CPU did one global
 * flush.
 */
static void test_flush_all_drops_globals(void **state)
{
    mmusim_machine *m = mk(state, 4, NULL);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    struct fa_shared sh = {.va = l->page_offset + 0x100000u, .ncpus = 4, .initiator = 2};
    struct fa_task t[4];
    memset(t, 0, sizeof(t));
    assert_true(sh.va < l->high_memory);
    for (unsigned i = 0; i < 4; i++) {
        t[i].sh = &sh;
        spawn(m, i, 0, fa_step, &t[i]);
    }
    run_all(m);

    assert_int_equal(sh.rc, MMUSIM_OK);
    assert_int_equal(sh.flushed, 1);
    for (unsigned i = 0; i < 4; i++) {
        struct mmusim_cpu_stats s = st(m, i);
        for (int k = 0; k < 3; k++)
            assert_int_equal(t[i].access_rc[k], MMUSIM_OK);
        assert_int_equal(t[i].walked[0], 1);
        assert_int_equal(t[i].walked[1], 0);
        assert_true(t[i].large_before >= 1);
        assert_int_equal(t[i].large_after, 0);
        assert_int_equal(t[i].walked[2], 1);
        assert_int_equal(s.global_flushes, 1);
        assert_true(s.dropped_global >= 1);
        assert_int_equal(s.walks, 2);
        if (i == sh.initiator) {
            assert_int_equal(s.ipis_sent, 3);
            assert_int_equal(s.shootdowns, 1);
            assert_int_equal(s.ipis_received, 0);
        } else {
            assert_int_equal(s.ipis_sent, 0);
            assert_int_equal(s.shootdowns, 0);
            assert_int_equal(s.ipis_received, 1);
        }
    }
    assert_int_equal(nreports(m), 0);
}

/* ==== 4. flush_tlb_kernel_range and the flush ceiling ==== */

#define KR_MAX 4

struct kr_task {
    mmusim_machine *m;
    uint64_t cr3; /* 0: flush_tlb_kernel_range; else flush_tlb_range of this mm */
    uint32_t start[KR_MAX], end[KR_MAX];
    unsigned n, i;
    int rc[KR_MAX];
    struct mmusim_cpu_stats snap[KR_MAX + 1][3]; /* snap[k]: every CPU before flush k (snap[n]: after the last) */
};

static enum mmusim_step kr_step(mmusim_cpu *cpu, void *arg)
{
    struct kr_task *t = arg;
    for (unsigned d = 0; d < 3; d++)
        mmusim_cpu_stats(mmusim_machine_cpu(t->m, d), &t->snap[t->i][d]);
    if (t->i == t->n)
        return MMUSIM_STEP_DONE;
    if (t->cr3)
        t->rc[t->i] = mmusim_flush_tlb_range_smp(cpu, t->cr3, t->start[t->i], t->end[t->i]);
    else
        t->rc[t->i] = mmusim_flush_tlb_kernel_range_smp(cpu, t->start[t->i], t->end[t->i]);
    t->i++;
    return MMUSIM_STEP_MORE;
}

/* Counter deltas of flush k on CPU d. */
#define KR_DELTA(t, k, d, field) ((t).snap[(k) + 1][d].field - (t).snap[k][d].field)

/*
 * flush_ceiling 0 (2.6.x): a 1-page kernel range is flush_tlb_all: one
 * global flush on each of the 3 CPUs, no INVLPG.
 */
static void test_kernel_range_no_ceiling(void **state)
{
    mmusim_machine *m = mk(state, 3, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    t.n = 1;
    t.start[0] = mmusim_machine_layout(m)->vmalloc_start;
    t.end[0] = t.start[0] + 4096;
    spawn(m, 0, 0, kr_step, &t);
    run_all(m);
    assert_int_equal(t.rc[0], MMUSIM_OK);
    for (unsigned d = 0; d < 3; d++) {
        assert_int_equal(KR_DELTA(t, 0, d, global_flushes), 1);
        assert_int_equal(KR_DELTA(t, 0, d, invlpg), 0);
    }
    assert_int_equal(KR_DELTA(t, 0, 0, ipis_sent), 2);
    assert_int_equal(KR_DELTA(t, 0, 1, ipi_handler_cycles), c->ipi_handler + c->pge_toggle);
}

/*
 * flush_ceiling 33 (later kernels' tlb_single_page_flush_ceiling): 1 page
 * and 33 pages are flushed by INVLPG on every CPU (1 and 33 each, handler
 * ipi_handler + pages * invlpg), no global flush; 34 pages is a full flush.
 */
static void test_kernel_range_ceiling(void **state)
{
    static const char *const kv[] = {"flush_ceiling", "33", NULL};
    mmusim_machine *m = mk(state, 3, kv);
    const struct mmusim_costs *c = costs_of(m);
    assert_int_equal(mmusim_machine_config(m)->flush_ceiling, 33);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    t.n = 3;
    uint32_t base = mmusim_machine_layout(m)->vmalloc_start;
    const unsigned pages[3] = {1, 33, 34};
    for (unsigned k = 0; k < 3; k++) {
        t.start[k] = base;
        t.end[k] = base + pages[k] * 4096u;
    }
    spawn(m, 0, 0, kr_step, &t);
    run_all(m);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(t.rc[k], MMUSIM_OK);
    for (unsigned d = 0; d < 3; d++) {
        assert_int_equal(KR_DELTA(t, 0, d, invlpg), 1);
        assert_int_equal(KR_DELTA(t, 0, d, global_flushes), 0);
        assert_int_equal(KR_DELTA(t, 1, d, invlpg), 33);
        assert_int_equal(KR_DELTA(t, 1, d, global_flushes), 0);
        assert_int_equal(KR_DELTA(t, 2, d, invlpg), 0);
        assert_int_equal(KR_DELTA(t, 2, d, global_flushes), 1);
    }
    for (unsigned d = 1; d < 3; d++) {
        assert_int_equal(KR_DELTA(t, 0, d, ipi_handler_cycles), c->ipi_handler + c->invlpg);
        assert_int_equal(KR_DELTA(t, 1, d, ipi_handler_cycles), c->ipi_handler + 33 * (uint64_t)c->invlpg);
        assert_int_equal(KR_DELTA(t, 2, d, ipi_handler_cycles), c->ipi_handler + c->pge_toggle);
    }
}

/*
 * flush_tlb_range of a user mm A, 3 CPUs: CPU0 (the initiator) and CPU1 run
 * tasks of A (CPU1 busy, not lazy); CPU2 never ran A, is not in its mask and
 * gets no IPI. flush_ceiling 0 (2.6.x): one page is flush_tlb_page (INVLPG
 * locally and on CPU1: handler ipi_handler + invlpg); two pages are
 * flush_tlb_mm, as is (0, 0): a CR3 reload on both (handler ipi_handler +
 * mov_cr3).
 */
static void test_user_range_no_ceiling(void **state)
{
    mmusim_machine *m = mk(state, 3, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    assert_int_equal(mmusim_pgd_create(m, &t.cr3), MMUSIM_OK);
    t.n = 3;
    t.start[0] = USER_VA;
    t.end[0] = USER_VA + 4096;
    t.start[1] = USER_VA;
    t.end[1] = USER_VA + 2 * 4096;
    t.start[2] = t.end[2] = 0;
    struct script busy = {0};
    script_add(&busy, OP_SPEND, 1000, 40);
    spawn(m, 0, t.cr3, kr_step, &t);
    spawn(m, 1, t.cr3, script_step, &busy);
    run_all(m);
    for (unsigned k = 0; k < 3; k++) {
        assert_int_equal(t.rc[k], MMUSIM_OK);
        assert_int_equal(KR_DELTA(t, k, 0, ipis_sent), 1);
        assert_int_equal(KR_DELTA(t, k, 0, shootdowns), 1);
        assert_int_equal(KR_DELTA(t, k, 1, ipis_received), 1);
        assert_int_equal(KR_DELTA(t, k, 2, ipis_received), 0);
        assert_int_equal(KR_DELTA(t, k, 1, leave_mm), 0);
        for (unsigned d = 0; d < 2; d++) {
            assert_int_equal(KR_DELTA(t, k, d, invlpg), k == 0 ? 1 : 0);
            assert_int_equal(KR_DELTA(t, k, d, cr3_writes), k == 0 ? 0 : 1);
            assert_int_equal(KR_DELTA(t, k, d, global_flushes), 0);
        }
        assert_int_equal(KR_DELTA(t, k, 1, ipi_handler_cycles), c->ipi_handler + (k == 0 ? c->invlpg : c->mov_cr3));
    }
    assert_int_equal(mmusim_mm_cpu_mask(m, t.cr3), 0x3);
}

/* The same with flush_ceiling 33: two pages are two INVLPGs on each, 34 pages a CR3 reload. */
static void test_user_range_ceiling(void **state)
{
    static const char *const kv[] = {"flush_ceiling", "33", NULL};
    mmusim_machine *m = mk(state, 3, kv);
    const struct mmusim_costs *c = costs_of(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    assert_int_equal(mmusim_pgd_create(m, &t.cr3), MMUSIM_OK);
    t.n = 2;
    t.start[0] = USER_VA;
    t.end[0] = USER_VA + 2 * 4096;
    t.start[1] = USER_VA;
    t.end[1] = USER_VA + 34 * 4096;
    struct script busy = {0};
    script_add(&busy, OP_SPEND, 1000, 40);
    spawn(m, 0, t.cr3, kr_step, &t);
    spawn(m, 1, t.cr3, script_step, &busy);
    run_all(m);
    for (unsigned d = 0; d < 2; d++) {
        assert_int_equal(KR_DELTA(t, 0, d, invlpg), 2);
        assert_int_equal(KR_DELTA(t, 0, d, cr3_writes), 0);
        assert_int_equal(KR_DELTA(t, 1, d, invlpg), 0);
        assert_int_equal(KR_DELTA(t, 1, d, cr3_writes), 1);
    }
    assert_int_equal(KR_DELTA(t, 0, 1, ipi_handler_cycles), c->ipi_handler + 2 * (uint64_t)c->invlpg);
    assert_int_equal(KR_DELTA(t, 1, 1, ipi_handler_cycles), c->ipi_handler + c->mov_cr3);
    assert_int_equal(KR_DELTA(t, 0, 2, ipis_received) + KR_DELTA(t, 1, 2, ipis_received), 0);
}


/* ==== 5. flush_tlb_range and a lazy CPU ==== */

struct lazy_shared {
    mmusim_machine *m;
    uint64_t cr3;
    int k1_started, flushed, phase;
    int rc[2], access_rc;
    uint64_t mask_before, mask_after, cr3_of_cpu1_before;
    unsigned polls;
};

/* CPU1, task of mm A: touches the user page, exits (CPU1 keeps A loaded). */
static enum mmusim_step lazy_user(mmusim_cpu *cpu, void *arg)
{
    struct lazy_shared *sh = arg;
    struct mmusim_access a;
    sh->access_rc = mmusim_cpu_access(cpu, USER_VA, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL, &a);
    if (sh->access_rc == MMUSIM_OK && a.fault)
        sh->access_rc = -1;
    return MMUSIM_STEP_DONE;
}

/* CPU1, a kernel thread: borrows A (lazy TLB) until CPU0 has flushed. */
static enum mmusim_step lazy_kthread(mmusim_cpu *cpu, void *arg)
{
    struct lazy_shared *sh = arg;
    sh->k1_started = 1;
    if (sh->flushed || ++sh->polls > 100000)
        return MMUSIM_STEP_DONE;
    mmusim_cpu_spend(cpu, 100);
    return MMUSIM_STEP_MORE;
}

/* CPU0, task of mm A: once CPU1 is lazy, flush_tlb_page twice. */
static enum mmusim_step lazy_flusher(mmusim_cpu *cpu, void *arg)
{
    struct lazy_shared *sh = arg;
    if (!sh->k1_started) {
        mmusim_cpu_spend(cpu, 100);
        return MMUSIM_STEP_MORE;
    }
    if (sh->phase == 0) {
        struct mmusim_cpu_regs r;
        sh->phase = 1;
        mmusim_cpu_regs(mmusim_machine_cpu(sh->m, 1), &r);
        sh->cr3_of_cpu1_before = r.cr3;
        sh->mask_before = mmusim_mm_cpu_mask(sh->m, sh->cr3);
        sh->rc[0] = mmusim_flush_tlb_range_smp(cpu, sh->cr3, USER_VA, USER_VA + 4096);
        return MMUSIM_STEP_MORE;
    }
    if (!sh->flushed) {
        sh->mask_after = mmusim_mm_cpu_mask(sh->m, sh->cr3);
        sh->flushed = 1;
        /* CPU1 left the mm: this one must not IPI it. */
        sh->rc[1] = mmusim_flush_tlb_range_smp(cpu, sh->cr3, USER_VA, USER_VA + 4096);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

/*
 * CPU1 runs a task of mm A, then a kernel thread (cr3 0): it is lazy with A
 * still loaded and still in A's cpu_vm_mask. CPU0, running a task of A,
 * flush_tlb_page()s a page of A: locally one INVLPG (A is its active mm),
 * and an IPI to CPU1, which leave_mm()s: it loads swapper_pg_dir
 * (mmusim_kernel_cr3; its handler costs ipi_handler + mov_cr3) and drops out
 * of A's mask. A second flush_tlb_page sends no IPI.
 */
static void test_flush_range_lazy_cpu(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct lazy_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.m = m;
    assert_int_equal(mmusim_pgd_create(m, &sh.cr3), MMUSIM_OK);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(m, sh.cr3, USER_VA, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_RW | MMUSIM_PTE_US),
                     MMUSIM_OK);
    spawn(m, 1, sh.cr3, lazy_user, &sh);
    spawn(m, 1, 0, lazy_kthread, &sh);
    spawn(m, 0, sh.cr3, lazy_flusher, &sh);
    run_all(m);

    assert_int_equal(sh.access_rc, MMUSIM_OK);
    assert_int_equal(sh.rc[0], MMUSIM_OK);
    assert_int_equal(sh.rc[1], MMUSIM_OK);
    assert_int_equal(sh.cr3_of_cpu1_before, sh.cr3);
    assert_int_equal(sh.mask_before, 0x3);
    assert_int_equal(sh.mask_after, 0x1);
    assert_int_equal(mmusim_mm_cpu_mask(m, sh.cr3), 0x1);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(cpu_of(m, 1), &r);
    assert_int_equal(r.cr3, mmusim_kernel_cr3(m));

    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1);
    assert_int_equal(s1.leave_mm, 1);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->mov_cr3);
    assert_int_equal(s1.invlpg, 0);
    assert_int_equal(s0.leave_mm, 0);
    assert_int_equal(s0.shootdowns, 2);
    assert_int_equal(s0.ipis_sent, 1);
    assert_int_equal(s0.invlpg, 2);
}

/*
 * flush_tlb_all reaching a lazy CPU: CPU1 ran a task of mm A and is idle
 * with A loaded. CPU0 calls flush_tlb_all at t0 + 20000; CPU1 takes the IPI
 * at its arrival and does __flush_tlb_all plus leave_mm (do_flush_tlb_all):
 * handler ipi_handler + pge_toggle + mov_cr3; CR3 becomes swapper_pg_dir
 * (mmusim_kernel_cr3) and A's mask loses CPU1.
 */
static void test_flush_all_lazy_cpu(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct lazy_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.m = m;
    assert_int_equal(mmusim_pgd_create(m, &sh.cr3), MMUSIM_OK);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(m, sh.cr3, USER_VA, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_RW | MMUSIM_PTE_US),
                     MMUSIM_OK);
    struct flusher f = {.delay = 20000};
    mmusim_task *u = spawn(m, 1, sh.cr3, lazy_user, &sh);
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    assert_true(mmusim_task_done_at(u) < t0 + f.delay);
    uint64_t arrival = t0 + f.delay + c->ipi_send + c->ipi_deliver;
    uint64_t handler = c->ipi_handler + c->pge_toggle + c->mov_cr3;
    struct mmusim_cpu_stats s1 = st(m, 1);
    assert_int_equal(sh.access_rc, MMUSIM_OK);
    assert_int_equal(s1.leave_mm, 1);
    assert_int_equal(s1.ipi_handler_cycles, handler);
    assert_int_equal(clk(m, 1), arrival + handler);
    assert_int_equal(mmusim_mm_cpu_mask(m, sh.cr3), 0);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(cpu_of(m, 1), &r);
    assert_int_equal(r.cr3, mmusim_kernel_cr3(m));
    assert_int_equal(f.resumed_at, arrival + handler + c->ipi_ack + c->pge_toggle);
    assert_int_equal(st(m, 0).leave_mm, 0); /* CPU0's kernel thread borrowed swapper: nothing to leave */
}

/* ==== 6. Spinlock contention ==== */

struct lk_task {
    mmusim_spinlock *l;
    uint64_t hold, delay;
    int phase, rc_lock, rc_unlock, owner;
    uint64_t spin_from, acquired, released;
    unsigned preempt_in;
};

/* lock; (once owned) note the time and spend `hold`; unlock. */
static enum mmusim_step lk_step(mmusim_cpu *cpu, void *arg)
{
    struct lk_task *t = arg;
    switch (t->phase++) {
    case 0:
        t->rc_lock = mmusim_spin_lock(cpu, t->l);
        t->spin_from = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_MORE;
    case 1:
        t->acquired = mmusim_cpu_cycles(cpu);
        t->owner = mmusim_spin_is_owner(cpu, t->l);
        t->preempt_in = mmusim_cpu_preempt_count(cpu);
        mmusim_cpu_spend(cpu, t->hold);
        return MMUSIM_STEP_MORE;
    default:
        t->rc_unlock = mmusim_spin_unlock(cpu, t->l);
        t->released = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_DONE;
    }
}

/*
 * Three CPUs take one lock at the same time t0 = ctx_switch. CPU0 gets it
 * (lock_op) at t0 + lock_op; CPU1 and CPU2 spin from t0 + lock_op, in ticket
 * order (CPU1 first: it ran first at the tie). Each holds it H cycles and
 * unlocks (lock_op): release R_i. The next owner gets it at
 * R_i + lock_handoff and its spin_cycles is that minus its spin start.
 */
static void test_lock_contention(void **state)
{
    mmusim_machine *m = mk(state, 3, NULL);
    const struct mmusim_costs *c = costs_of(m);
    const uint64_t H = 5000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct lk_task t[3];
    memset(t, 0, sizeof(t));
    for (unsigned i = 0; i < 3; i++) {
        t[i].l = l;
        t[i].hold = H;
        spawn(m, i, 0, lk_step, &t[i]);
    }
    run_all(m);

    uint64_t t0 = c->ctx_switch, from = t0 + c->lock_op;
    uint64_t acq0 = from;
    uint64_t rel0 = acq0 + H + c->lock_op;
    uint64_t acq1 = rel0 + c->lock_handoff;
    uint64_t rel1 = acq1 + H + c->lock_op;
    uint64_t acq2 = rel1 + c->lock_handoff;
    uint64_t rel2 = acq2 + H + c->lock_op;
    const uint64_t acq[3] = {acq0, acq1, acq2}, rel[3] = {rel0, rel1, rel2};
    for (unsigned i = 0; i < 3; i++) {
        struct mmusim_cpu_stats s = st(m, i);
        assert_int_equal(t[i].rc_lock, MMUSIM_OK);
        assert_int_equal(t[i].rc_unlock, MMUSIM_OK);
        assert_int_equal(t[i].spin_from, from);
        assert_int_equal(t[i].owner, 1);
        assert_int_equal(t[i].preempt_in, 1); /* spin_lock disabled preemption */
        assert_int_equal(t[i].acquired, acq[i]);
        assert_int_equal(t[i].released, rel[i]);
        assert_int_equal(s.lock_acquires, 1);
        assert_int_equal(s.lock_contended, i == 0 ? 0 : 1);
        assert_int_equal(s.spin_cycles, acq[i] - from);
        assert_int_equal(mmusim_cpu_preempt_count(cpu_of(m, i)), 0);
    }
    assert_int_equal(nreports(m), 0);
}

/* lock, spend `hold`, unlock, all in one (atomic) step. */
static enum mmusim_step lk_atomic(mmusim_cpu *cpu, void *arg)
{
    struct lk_task *t = arg;
    if (t->phase++ == 0) {
        mmusim_cpu_spend(cpu, t->delay);
        t->rc_lock = mmusim_spin_lock(cpu, t->l);
        t->acquired = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, t->hold);
        t->rc_unlock = mmusim_spin_unlock(cpu, t->l);
        t->released = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

/*
 * A release that lies later in simulated time than an acquirer's clock
 * (smp.h; sync.c: "a lock released at cycle T makes a later acquirer spin
 * until T"): CPU0 locks, holds H and unlocks in one step before CPU1 runs.
 * CPU1's spin_lock at t0 + lock_op finds it free but released at
 * R0 = t0 + 2 lock_op + H: it spins until R0 + lock_handoff.
 */
static void test_lock_released_in_future(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    const uint64_t H = 3000;
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct lk_task a = {.l = l, .hold = H}, b = {.l = l, .hold = 10};
    spawn(m, 0, 0, lk_atomic, &a);
    spawn(m, 1, 0, lk_step, &b);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t rel0 = t0 + c->lock_op + H + c->lock_op;
    assert_int_equal(a.released, rel0);
    assert_int_equal(b.spin_from, t0 + c->lock_op);
    assert_int_equal(b.acquired, rel0 + c->lock_handoff);
    struct mmusim_cpu_stats s1 = st(m, 1);
    assert_int_equal(s1.lock_contended, 1);
    assert_int_equal(s1.spin_cycles, rel0 + c->lock_handoff - (t0 + c->lock_op));
}

/*
 * Uncontended, but last released by another CPU: CPU0 locks and unlocks at
 * t0; CPU1, at t0 + 10000, finds it free and pays lock_op + lock_handoff
 * (the line was in CPU0's cache); its lock_cycles is 2 lock_op +
 * lock_handoff, with no spin and no contention.
 */
static void test_lock_handoff_uncontended(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct lk_task a = {.l = l, .hold = 10}, b = {.l = l, .hold = 10, .delay = 10000};
    spawn(m, 0, 0, lk_atomic, &a);
    spawn(m, 1, 0, lk_atomic, &b);
    run_all(m);
    uint64_t t0 = c->ctx_switch;
    assert_int_equal(a.acquired, t0 + c->lock_op);
    assert_int_equal(b.acquired, t0 + b.delay + c->lock_op + c->lock_handoff);
    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1);
    assert_int_equal(s0.lock_cycles, 2 * (uint64_t)c->lock_op);
    assert_int_equal(s1.lock_cycles, 2 * (uint64_t)c->lock_op + c->lock_handoff);
    assert_int_equal(s1.lock_contended, 0);
    assert_int_equal(s1.spin_cycles, 0);
}

/* ---- 6b. Softirqs raised while a CPU waits (spinlock, shootdown) ---- */

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
 * R0 + lock_handoff.
 */
static void test_softirq_while_spinning(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    mmusim_spinlock *l;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct lk_task a = {.l = l, .hold = 20000}, b = {.l = l, .hold = 10};
    struct script soft = {0};
    script_add(&soft, OP_SPEND, 100, 1);
    struct handler h = {.spend = 50, .soft = script_step, .soft_arg = &soft};
    uint64_t t0 = c->ctx_switch;
    spawn(m, 0, 0, lk_step, &a);
    spawn(m, 1, 0, lk_step, &b);
    assert_int_equal(mmusim_irq_at(m, 1, t0 + 1000, handler_step, &h), MMUSIM_OK);
    run_all(m);

    uint64_t h_entry = t0 + 1000 + c->ipi_handler, h_end = h_entry + h.spend;
    uint64_t r0 = t0 + c->lock_op + a.hold + c->lock_op;
    assert_int_equal(a.released, r0);
    check_snap(&h.snap, h_entry, MMUSIM_CTX_HARDIRQ, 1, 1, 2, MMUSIM_HARDIRQ_OFFSET + 1);
    assert_int_equal(st(m, 1).softirqs, 1);
    /* The softirq runs on top of the spinning task (preempt count 1 from spin_lock) when the hardirq returns. */
    assert_int_equal(soft.at[0].clock, h_end);
    check_snap(&soft.at[0], h_end, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, MMUSIM_SOFTIRQ_OFFSET + 1);
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
 */
static void test_softirq_while_waiting_acks(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    struct script busy = {0}, soft = {0};
    script_add(&busy, OP_IRQ_OFF, 20000, 1);
    script_add(&busy, OP_IRQ_ON, 0, 1);
    script_add(&busy, OP_SPEND, 1000, 1);
    script_add(&soft, OP_SPEND, 100, 1);
    struct handler h = {.spend = 50, .soft = script_step, .soft_arg = &soft};
    uint64_t t0 = c->ctx_switch;
    spawn(m, 0, 0, flush_all_once, &f);
    spawn(m, 1, 0, script_step, &busy);
    assert_int_equal(mmusim_irq_at(m, 0, t0 + 1000, handler_step, &h), MMUSIM_OK);
    run_all(m);

    uint64_t h_entry = t0 + 1000 + c->ipi_handler, h_end = h_entry + h.spend;
    uint64_t ack = t0 + 20000 + c->ipi_handler + c->pge_toggle + c->ipi_ack;
    check_snap(&h.snap, h_entry, MMUSIM_CTX_HARDIRQ, 1, 1, 2, MMUSIM_HARDIRQ_OFFSET);
    assert_int_equal(st(m, 0).softirqs, 1);
    assert_int_equal(soft.at[0].clock, h_end);
    check_snap(&soft.at[0], h_end, MMUSIM_CTX_SOFTIRQ, 1, 0, 2, MMUSIM_SOFTIRQ_OFFSET);
    assert_int_equal(f.resumed_at, ack + c->pge_toggle);
}

/* ==== 7. Wake-ups ==== */

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
    w->n = mmusim_wake_up(cpu, w->q);
    return MMUSIM_STEP_DONE;
}

/*
 * A task of mm A sleeps on CPU1; if other_mm, a task of mm B then runs on
 * CPU1 (so B is loaded when the sleeper wakes). CPU0 wakes it at w (its
 * clock at wake_up); CPU1 is idle. Resumption at w + ipi_send + ipi_deliver
 * + ipi_handler + ctx_switch, plus mov_cr3 (+ mov_cr3_pae_extra under PAE)
 * only when B, not A, is loaded.
 */
static void wake_remote(void **state, const char *paging, int other_mm)
{
    const char *const kv[] = {"paging", paging, NULL};
    mmusim_machine *m = mk(state, 2, kv);
    const struct mmusim_costs *c = costs_of(m);
    uint64_t a_cr3, b_cr3;
    assert_int_equal(mmusim_pgd_create(m, &a_cr3), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_create(m, &b_cr3), MMUSIM_OK);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct script other = {0};
    script_add(&other, OP_SPEND, 1000, 2);
    struct waker w = {.q = q, .delay = 40000};
    mmusim_task *ts = spawn(m, 1, a_cr3, sleeper_step, &s);
    if (other_mm)
        spawn(m, 1, b_cr3, script_step, &other);
    spawn(m, 0, 0, waker_step, &w);
    run_all(m);

    uint64_t cr3_cost = c->mov_cr3 + (strcmp(paging, "pae") == 0 ? c->mov_cr3_pae_extra : 0);
    uint64_t expect = w.woke_at + c->ipi_send + c->ipi_deliver + c->ipi_handler + c->ctx_switch +
                      (other_mm ? cr3_cost : 0);
    assert_int_equal(w.woke_at, c->ctx_switch + w.delay);
    assert_int_equal(w.n, 1);
    assert_int_equal(s.rc, MMUSIM_OK);
    /* B's task (if any) was over long before the wake-up. */
    if (other_mm)
        assert_true(other.pc == 2 && other.at[1].clock + 1000 < w.woke_at);
    assert_int_equal(mmusim_task_resumed_at(ts), expect);
    assert_int_equal(s.woke_at, expect);
    assert_int_equal(mmusim_task_state(ts), MMUSIM_TASK_DONE);
    assert_int_equal(mmusim_task_done_at(ts), expect);
    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1);
    assert_int_equal(s0.ipis_sent, 1);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler);
    /* A's first switch, B's switch, A's switch back: 3 CR3 writes with B, 1 without. */
    assert_int_equal(s1.cr3_writes, other_mm ? 3 : 1);
    assert_int_equal(nreports(m), 0);
}

static void test_wake_remote_same_mm(void **state)
{
    wake_remote(state, "2level", 0);
}

static void test_wake_remote_other_mm(void **state)
{
    wake_remote(state, "2level", 1);
}

static void test_wake_remote_other_mm_pae(void **state)
{
    wake_remote(state, "pae", 1);
}

/* A hardirq handler that wakes q, then spends. */
struct irq_waker {
    mmusim_wait_queue *q;
    uint64_t spend, at;
    unsigned n;
};

static enum mmusim_step irq_wake_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_waker *w = arg;
    w->at = mmusim_cpu_cycles(cpu);
    w->n = mmusim_wake_up(cpu, w->q);
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
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct irq_waker w = {.q = q, .spend = 100};
    const uint64_t X = 20000;
    mmusim_task *ts = spawn(m, 0, 0, sleeper_step, &s);
    assert_int_equal(mmusim_irq_at(m, 0, X, irq_wake_step, &w), MMUSIM_OK);
    run_all(m);

    uint64_t expect = X + c->ipi_handler + w.spend + c->ctx_switch;
    assert_int_equal(w.at, X + c->ipi_handler);
    assert_int_equal(w.n, 1);
    assert_int_equal(mmusim_task_resumed_at(ts), expect);
    assert_int_equal(s.woke_at, expect);
    struct mmusim_cpu_stats all;
    mmusim_machine_stats(m, &all);
    assert_int_equal(all.ipis_sent, 0);
    assert_int_equal(all.ipis_received, 0);
    assert_int_equal(st(m, 0).context_switches, 2);
    assert_int_equal(nreports(m), 0);
}

/*
 * Waking a task whose CPU is busy: no IPI (no wake-up preemption); the task
 * runs when the current one ends. A kernel thread S sleeps on CPU1 at t0;
 * X then runs there (ctx_switch, ten 1000-cycle steps). CPU0 wakes S at
 * t0 + 5000, while X runs: S resumes at done_at(X) + ctx_switch.
 */
static void test_wake_busy_cpu(void **state)
{
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    mmusim_wait_queue *q;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {.q = q};
    struct script x = {0};
    script_add(&x, OP_SPEND, 1000, 10);
    struct waker w = {.q = q, .delay = 5000};
    mmusim_task *ts = spawn(m, 1, 0, sleeper_step, &s);
    mmusim_task *tx = spawn(m, 1, 0, script_step, &x);
    spawn(m, 0, 0, waker_step, &w);
    run_all(m);

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

/* ==== 8. Determinism ==== */

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
    uint32_t upage = USER_VA + (uint32_t)((r >> 8) % DET_PAGES) * 4096u;
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
        t->locked = rc == MMUSIM_OK;
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
    if (rc != MMUSIM_OK)
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
    mmusim_machine *m = mk(state, DET_CPUS, kv);
    uint32_t kva = mmusim_machine_layout(m)->page_offset + 0x200000u;
    uint64_t a_cr3, b_cr3;
    assert_int_equal(mmusim_pgd_create(m, &a_cr3), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_create(m, &b_cr3), MMUSIM_OK);
    for (unsigned i = 0; i < DET_PAGES; i++) {
        uint64_t pfn;
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
        assert_int_equal(mmusim_pt_map(m, a_cr3, USER_VA + i * 4096u, pfn << 12, MMUSIM_PAGE_4K,
                                       MMUSIM_PTE_RW | MMUSIM_PTE_US),
                         MMUSIM_OK);
        assert_int_equal(mmusim_pt_map(m, b_cr3, USER_VA + i * 4096u, pfn << 12, MMUSIM_PAGE_4K,
                                       MMUSIM_PTE_RW | MMUSIM_PTE_US),
                         MMUSIM_OK);
    }
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
        spawn(m, i, t[i].cr3, det_step, &t[i]);
    }
    for (unsigned i = 0; i < 2; i++) {
        irqs[i].kva = kva;
        assert_int_equal(mmusim_irq_random(m, i + 1, 3000, 300000, det_irq, &irqs[i]), MMUSIM_OK);
    }
    if (chunk == 0) {
        out->r = run_all(m);
    } else {
        struct mmusim_run_result r;
        uint64_t steps = 0;
        unsigned calls = 0;
        for (uint64_t limit = chunk;; limit += chunk) {
            assert_true(limit < CYCLE_LIMIT);
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
        mmusim_cpu_stats(cpu_of(m, i), &out->s[i]);
        out->clocks[i] = clk(m, i);
        out->errors += t[i].errors;
    }
    out->reports = nreports(m);
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
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    struct script task = {0};
    script_add(&task, OP_SPEND, 1000, 10);
    struct handler h = {.spend = 0};
    spawn(m, 0, 0, script_step, &task);
    assert_int_equal(mmusim_irq_at(m, 1, 100000, handler_step, &h), MMUSIM_OK);
    uint64_t t0 = c->ctx_switch;
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, t0 + 3000, &r), MMUSIM_OK);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.steps, 4);
    assert_int_equal(task.pc, 4);
    assert_int_equal(clk(m, 0), t0 + 4000);
    assert_int_equal(clk(m, 1), 0);
    assert_int_equal(r.end_cycle, t0 + 4000);
    assert_false(h.snap.taken);
    r = run_all(m);
    assert_int_equal(r.steps, 6 + 1);
    assert_int_equal(task.pc, 10);
    assert_int_equal(h.snap.clock, 100000 + c->ipi_handler);
}

/* ==== 9. Errors and reports ==== */

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
    mmusim_machine *m = mk(state, 2, NULL);
    const struct mmusim_costs *c = costs_of(m);
    mmusim_task *t = NULL;
    struct mmusim_run_result r;
    assert_int_equal(mmusim_flush_tlb_all_smp(cpu_of(m, 0)), MMUSIM_EBUSY);
    assert_int_equal(mmusim_flush_tlb_all_smp(NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_task_create(m, 2, 0, err_step, NULL, &t), MMUSIM_ECPU);
    assert_int_equal(mmusim_task_create(m, 0, 0, NULL, NULL, &t), MMUSIM_EINVAL);
    assert_int_equal(mmusim_machine_run(NULL, 0, &r), MMUSIM_EINVAL);
    assert_int_equal(mmusim_irq_at(m, 5, 0, err_irq_step, NULL), MMUSIM_ECPU);
    assert_int_equal(nreports(m), 0);

    struct err_task e;
    memset(&e, 0, sizeof(e));
    e.m = m;
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &e.q), MMUSIM_OK);
    struct err_irq ei = {.q = e.q};
    spawn(m, 0, 0, err_step, &e);
    assert_int_equal(mmusim_irq_at(m, 1, 1000, err_irq_step, &ei), MMUSIM_OK);
    run_all(m);

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
    assert_int_equal(nreports(m), 0);
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
            assert_int_equal(mmusim_spin_unlock(cpu, e->l), MMUSIM_OK);
        }
        return MMUSIM_STEP_MORE;
    }
    assert_int_equal(mmusim_wait_queue_sleep(cpu, e->q), MMUSIM_OK);
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
    assert_int_equal(mmusim_raise_softirq(cpu, soft_flusher, e), MMUSIM_OK);
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
    mmusim_machine *m = mk(state, 1, NULL);
    struct err2 e;
    memset(&e, 0, sizeof(e));
    assert_int_equal(mmusim_spinlock_create(m, &e.l), MMUSIM_OK);
    assert_int_equal(mmusim_wait_queue_create(m, &e.q), MMUSIM_OK);
    mmusim_task *t = spawn(m, 0, 0, err2_step, &e);
    assert_int_equal(mmusim_irq_at(m, 0, 100000, irq_enabler, &e), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, CYCLE_LIMIT, &r), MMUSIM_OK);
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
    assert_int_equal(rep[2].cycle, 100000 + costs_of(m)->ipi_handler);
    assert_int_equal(rep[3].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[3].cycle, 100000 + costs_of(m)->ipi_handler);
}

/* ==== 10. The P6 serial APIC bus ==== */

/*
 * p3: CPU0 and CPU1 both call flush_tlb_all at t0 = ctx_switch; CPU0 runs
 * first (tie, lower id). Its message departs d0 = t0 + ipi_send +
 * apic_bus_msg; CPU1's waits for the bus: d1 = max(t0 + ipi_send, d0) +
 * apic_bus_msg = d0 + apic_bus_msg. Each sender pays up to its departure
 * (ipi_send_cycles). Idle CPU2 takes the first at d0 + ipi_deliver and the
 * second at d1 + ipi_deliver (the first handler is over by then), ending at
 * d1 + ipi_deliver + ipi_handler + pge_toggle.
 */
static void test_p3_apic_bus(void **state)
{
    static const char *const kv[] = {"preset", "p3", NULL};
    mmusim_machine *m = mk(state, 4, kv);
    const struct mmusim_costs *c = costs_of(m);
    assert_int_equal(c->apic_bus_serial, 1);
    struct flusher f0 = {0}, f1 = {0};
    spawn(m, 0, 0, flush_all_once, &f0);
    spawn(m, 1, 0, flush_all_once, &f1);
    run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t d0 = t0 + c->ipi_send + c->apic_bus_msg;
    uint64_t d1 = d0 + c->apic_bus_msg;
    uint64_t hend2 = d0 + c->ipi_deliver + c->ipi_handler + c->pge_toggle;
    assert_true(hend2 <= d1 + c->ipi_deliver);
    assert_int_equal(f0.called_at, t0);
    assert_int_equal(f1.called_at, t0);
    assert_int_equal(f0.rc, MMUSIM_OK);
    assert_int_equal(f1.rc, MMUSIM_OK);
    struct mmusim_cpu_stats s0 = st(m, 0), s1 = st(m, 1), s2 = st(m, 2);
    assert_int_equal(s0.ipi_send_cycles, d0 - t0);
    assert_int_equal(s1.ipi_send_cycles, d1 - t0);
    assert_int_equal(s0.ipis_sent, 3);
    assert_int_equal(s1.ipis_sent, 3);
    assert_int_equal(s2.ipis_received, 2);
    assert_int_equal(s2.idle_cycles, d0 + c->ipi_deliver + (d1 - d0) - (c->ipi_handler + c->pge_toggle));
    assert_int_equal(clk(m, 2), d1 + c->ipi_deliver + c->ipi_handler + c->pge_toggle);
    assert_int_equal(nreports(m), 0);
}

/* p3, one sender alone: it pays ipi_send + apic_bus_msg, and its targets see it apic_bus_msg later than on xAPIC. */
static void test_p3_single_sender(void **state)
{
    static const char *const kv[] = {"preset", "p3", NULL};
    mmusim_machine *m = mk(state, 2, kv);
    const struct mmusim_costs *c = costs_of(m);
    struct flusher f = {0};
    spawn(m, 0, 0, flush_all_once, &f);
    run_all(m);
    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + c->ipi_send + c->apic_bus_msg + c->ipi_deliver;
    assert_int_equal(st(m, 0).ipi_send_cycles, c->ipi_send + c->apic_bus_msg);
    assert_int_equal(st(m, 1).idle_cycles, arrival);
    assert_int_equal(f.resumed_at, arrival + c->ipi_handler + c->pge_toggle + c->ipi_ack + c->pge_toggle);
}

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
    mmusim_machine *m = mk(state, 2, NULL);
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


#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ipi_busy_target),
        T(test_ipi_busy_target_on_boundary),
        T(test_ipi_idle_target),
        T(test_ipi_irqs_disabled_target),
        T(test_ipi_fanout),
        T(test_ipi_eight_cpus_one_message),
        T(test_ipi_nine_cpus_unicast),
        T(test_nested_contexts),
        T(test_irq_waits_for_enable),
        T(test_nmi_not_nested_in_nmi),
        T(test_task_switch_enables_irqs),
        T(test_softirq_while_spinning),
        T(test_softirq_while_waiting_acks),
        T(test_flush_all_drops_globals),
        T(test_kernel_range_no_ceiling),
        T(test_kernel_range_ceiling),
        T(test_user_range_no_ceiling),
        T(test_user_range_ceiling),
        T(test_flush_range_lazy_cpu),
        T(test_flush_all_lazy_cpu),
        T(test_lock_contention),
        T(test_lock_released_in_future),
        T(test_lock_handoff_uncontended),
        T(test_wake_remote_same_mm),
        T(test_wake_remote_other_mm),
        T(test_wake_remote_other_mm_pae),
        T(test_wake_from_local_irq),
        T(test_wake_busy_cpu),
        T(test_determinism),
        T(test_run_in_slices),
        T(test_cycle_limit),
        T(test_errors),
        T(test_errors_more),
        T(test_p3_apic_bus),
        T(test_p3_single_sender),
        T(test_blocked_softirq_does_not_spin_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
