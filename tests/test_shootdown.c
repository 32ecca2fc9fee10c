/*
 * IPIs and the SMP TLB flushes (include/mmusim/smp.h): IPI timing to busy,
 * idle and interrupts-off targets, fan-out and the physflat unicast beyond
 * 8 CPUs, flush_tlb_all dropping global entries everywhere,
 * flush_tlb_kernel_range and flush_tlb_range against the flush ceiling, lazy
 * TLB CPUs and leave_mm, and the P6 serial APIC bus.
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

/* ==== 1. IPI timing ==== */

/*
 * In 2.6.32 (the default era) flush_tlb_all's smp_call_function_many takes
 * a short lock before the send (kernel/smp.c): the target's
 * call_single_queue lock for one target (smp_call_function_single), else
 * call_function.lock, taken and released with interrupts off: lock_op
 * each, no hand-over on a machine's first flush. So the IPI leaves at
 * t0 + CALL_LOCKS + ipi_send, CALL_LOCKS later than before the locks were
 * modelled.
 */
#define CALL_LOCKS(c) (2 * (uint64_t)(c)->lock_op)

/*
 * Busy target. CPU0 (a kernel thread: ctx_switch, no CR3 write) calls
 * flush_tlb_all at t0 = ctx_switch. CPU1 runs steps of L cycles from t0. The
 * IPI arrives at t0 + CALL_LOCKS + ipi_send + ipi_deliver and is taken at
 * CPU1's first boundary B at or after it; the handler ends at
 * B + ipi_handler + pge_toggle (CR4.PGE is on by default), so CPU1's next
 * step starts then. CPU0 waits from t0 + CALL_LOCKS + ipi_send to the ack
 * at (handler end) + ipi_ack, then flushes locally (pge_toggle).
 */
static void ipi_busy_target(void **state, uint64_t L)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    struct ts_script s = {0};
    ts_script_add(&s, TS_OP_SPEND, L, 20);
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_spawn(m, 1, 0, ts_script_step, &s);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver;
    uint64_t b = ts_boundary_after(t0, L, arrival);
    unsigned k = (unsigned)((b - t0) / L);
    uint64_t hend = b + c->ipi_handler + c->pge_toggle;
    uint64_t ack = hend + c->ipi_ack;
    assert_true(b >= arrival && k >= 1 && k < 20);

    assert_int_equal(f.rc, MMUSIM_PENDING);
    assert_int_equal(f.called_at, t0);
    assert_int_equal(f.resumed_at, ack + c->pge_toggle);
    assert_int_equal(s.at[k - 1].clock, b - L); /* the step the IPI arrived during ran to its end */
    assert_int_equal(s.at[k].clock, hend);      /* the IPI was taken at B, not before */

    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.ipis_sent, 1);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.lock_acquires, 1);       /* the call_single_queue lock */
    assert_int_equal(s0.lock_cycles, CALL_LOCKS(c));
    assert_int_equal(s0.shootdowns, 1);
    assert_int_equal(s0.shootdown_wait_cycles, ack - (t0 + CALL_LOCKS(c) + c->ipi_send));
    assert_int_equal(s0.global_flushes, 1);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->pge_toggle);
    assert_int_equal(s1.global_flushes, 1);
    assert_int_equal(s1.shootdowns, 0);
    assert_int_equal(ts_nreports(m), 0);
}

/* Steps of 250 cycles: the arrival (t0 + 670 on core2) falls inside a step. */
static void test_ipi_busy_target(void **state)
{
    ipi_busy_target(state, 250);
}

/*
 * Steps of exactly (CALL_LOCKS + ipi_send + ipi_deliver) / 2 cycles: the
 * arrival falls on a boundary, where clock >= arrival already holds: taken
 * there.
 */
static void test_ipi_busy_target_on_boundary(void **state)
{
    struct mmusim_costs k;
    assert_int_equal(mmusim_costs_preset(MMUSIM_PRESET_CORE2, &k), MMUSIM_OK);
    assert_int_equal((CALL_LOCKS(&k) + k.ipi_send + k.ipi_deliver) % 2, 0);
    ipi_busy_target(state, (CALL_LOCKS(&k) + k.ipi_send + k.ipi_deliver) / 2);
}

/*
 * Idle target: CPU1 has no task, so it jumps to the arrival
 * t0 + CALL_LOCKS + ipi_send + ipi_deliver (its idle_cycles) and takes the
 * IPI there.
 */
static void test_ipi_idle_target(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver;
    uint64_t hend = arrival + c->ipi_handler + c->pge_toggle;
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s1.idle_cycles, arrival);
    assert_int_equal(ts_clock(m, 1), hend);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->pge_toggle);
    assert_int_equal(s0.shootdown_wait_cycles, hend + c->ipi_ack - (t0 + CALL_LOCKS(c) + c->ipi_send));
    assert_int_equal(f.resumed_at, hend + c->ipi_ack + c->pge_toggle);
}

/*
 * Target with interrupts disabled: CPU1 disables them and spends 500, then
 * 3 x 1000 over three steps, then enables them (a step of 0 cycles) at
 * enable = t0 + 3500. The IPI (arrived at t0 + CALL_LOCKS + ipi_send +
 * ipi_deliver, long before) is taken only at that boundary: handler end =
 * enable + ipi_handler + pge_toggle, and CPU0's wait lasts until that +
 * ipi_ack.
 */
static void test_ipi_irqs_disabled_target(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    struct ts_script s = {0};
    ts_script_add(&s, TS_OP_IRQ_OFF, 500, 1);
    ts_script_add(&s, TS_OP_SPEND, 1000, 3);
    ts_script_add(&s, TS_OP_IRQ_ON, 0, 1);
    ts_script_add(&s, TS_OP_SPEND, 1000, 2);
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_spawn(m, 1, 0, ts_script_step, &s);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver;
    uint64_t enable = t0 + 500 + 3 * 1000;
    uint64_t hend = enable + c->ipi_handler + c->pge_toggle;
    assert_true(arrival < t0 + 500 + 1000); /* it arrived while interrupts were off */
    for (unsigned i = 1; i <= 4; i++)
        assert_int_equal(s.at[i].irqs_off, 1);
    assert_int_equal(s.at[4].clock, enable);
    assert_int_equal(s.at[5].clock, hend);
    assert_int_equal(s.at[5].irqs_off, 0);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0);
    assert_int_equal(s0.shootdown_wait_cycles, hend + c->ipi_ack - (t0 + CALL_LOCKS(c) + c->ipi_send));
    assert_int_equal(f.resumed_at, hend + c->ipi_ack + c->pge_toggle);
    assert_int_equal(ts_stats(m, 1).ipis_received, 1);
}

/*
 * Fan-out: CPU0 flushes 3 idle CPUs. call_function.lock (CALL_LOCKS), then
 * one message (ipi_send once); target i (i = 0, 1, 2 for CPUs 1, 2, 3) sees
 * it at t0 + CALL_LOCKS + ipi_send + ipi_deliver + i * ipi_extra_target,
 * its idle_cycles. The wait ends with the last ack.
 */
static void test_ipi_fanout(void **state)
{
    mmusim_machine *m = ts_machine(state, 4, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch, last_ack = 0;
    for (unsigned d = 1; d < 4; d++) {
        uint64_t arrival = t0 + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver + (uint64_t)(d - 1) * c->ipi_extra_target;
        uint64_t hend = arrival + c->ipi_handler + c->pge_toggle;
        struct mmusim_cpu_stats s = ts_stats(m, d);
        assert_int_equal(s.idle_cycles, arrival);
        assert_int_equal(ts_clock(m, d), hend);
        assert_int_equal(s.ipis_received, 1);
        assert_int_equal(s.ipis_tlb, 1); /* the kinds add up to the total */
        assert_int_equal(s.ipis_resched, 0);
        last_ack = hend + c->ipi_ack;
    }
    struct mmusim_cpu_stats s0 = ts_stats(m, 0);
    assert_int_equal(s0.ipis_sent, 3);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.shootdown_wait_cycles, last_ack - (t0 + CALL_LOCKS(c) + c->ipi_send));
    assert_int_equal(f.resumed_at, last_ack + c->pge_toggle);
}

/*
 * Eight CPUs: still one message for the 7 targets (Linux's flat logical
 * mode), the sender pays ipi_send once and target i sees it at
 * t0 + CALL_LOCKS + ipi_send + ipi_deliver + i * ipi_extra_target.
 */
static void test_ipi_eight_cpus_one_message(void **state)
{
    mmusim_machine *m = ts_machine(state, 8, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);
    uint64_t t0 = c->ctx_switch;
    for (unsigned d = 1; d < 8; d++)
        assert_int_equal(ts_stats(m, d).idle_cycles,
                         t0 + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver + (uint64_t)(d - 1) * c->ipi_extra_target);
    assert_int_equal(ts_stats(m, 0).ipi_send_cycles, c->ipi_send);
    assert_int_equal(ts_stats(m, 0).ipis_sent, 7);
}

/*
 * Nine CPUs: physflat, one message per target, sent one after the other
 * (docs/smp.md "IPIs"). Target j (CPU j, j = 1..8) sees it at
 * t0 + CALL_LOCKS + j * ipi_send + ipi_deliver; the sender pays 8 ipi_send;
 * the wait ends with the last target's ack.
 */
static void test_ipi_nine_cpus_unicast(void **state)
{
    mmusim_machine *m = ts_machine(state, 9, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);
    uint64_t t0 = c->ctx_switch, last = 0;
    for (unsigned d = 1; d < 9; d++) {
        uint64_t arrival = t0 + CALL_LOCKS(c) + d * (uint64_t)c->ipi_send + c->ipi_deliver;
        assert_int_equal(ts_stats(m, d).idle_cycles, arrival);
        assert_int_equal(ts_clock(m, d), arrival + c->ipi_handler + c->pge_toggle);
        last = arrival + c->ipi_handler + c->pge_toggle + c->ipi_ack;
    }
    struct mmusim_cpu_stats s0 = ts_stats(m, 0);
    assert_int_equal(s0.ipis_sent, 8);
    assert_int_equal(s0.ipi_send_cycles, 8 * (uint64_t)c->ipi_send);
    assert_int_equal(s0.shootdown_wait_cycles, last - (t0 + CALL_LOCKS(c) + 8 * (uint64_t)c->ipi_send));
    assert_int_equal(f.resumed_at, last + c->pge_toggle);
}

/* ==== 2. flush_tlb_all drops every CPU's global entries ==== */

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
    mmusim_machine *m = ts_machine(state, 4, NULL);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    struct fa_shared sh = {.va = l->page_offset + 0x100000u, .ncpus = 4, .initiator = 2};
    struct fa_task t[4];
    memset(t, 0, sizeof(t));
    assert_true(sh.va < l->high_memory);
    for (unsigned i = 0; i < 4; i++) {
        t[i].sh = &sh;
        ts_spawn(m, i, 0, fa_step, &t[i]);
    }
    ts_run_all(m);

    assert_int_equal(sh.rc, MMUSIM_PENDING);
    assert_int_equal(sh.flushed, 1);
    for (unsigned i = 0; i < 4; i++) {
        struct mmusim_cpu_stats s = ts_stats(m, i);
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
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== 3. flush_tlb_kernel_range and the flush ceiling ==== */

#define KR_MAX 4

struct kr_task {
    mmusim_machine *m;
    uint64_t cr3; /* 0: flush_tlb_kernel_range; else flush_tlb_range of this mm */
    uint32_t start[KR_MAX], end[KR_MAX];
    int page[KR_MAX]; /* with cr3: flush_tlb_page(start) instead */
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
    if (t->cr3 && t->page[t->i])
        t->rc[t->i] = mmusim_flush_tlb_page_smp(cpu, t->cr3, t->start[t->i]);
    else if (t->cr3)
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
    mmusim_machine *m = ts_machine(state, 3, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    t.n = 1;
    t.start[0] = mmusim_machine_layout(m)->vmalloc_start;
    t.end[0] = t.start[0] + 4096;
    ts_spawn(m, 0, 0, kr_step, &t);
    ts_run_all(m);
    assert_int_equal(t.rc[0], MMUSIM_PENDING);
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
    mmusim_machine *m = ts_machine(state, 3, kv);
    const struct mmusim_costs *c = ts_costs(m);
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
    ts_spawn(m, 0, 0, kr_step, &t);
    ts_run_all(m);
    for (unsigned k = 0; k < 3; k++)
        assert_int_equal(t.rc[k], MMUSIM_PENDING);
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
 * flush_tlb_page and flush_tlb_range of a user mm A, 3 CPUs: CPU0 (the
 * initiator) and CPU1 run tasks of A (CPU1 busy, not lazy); CPU2 never ran
 * A, is not in its mask and gets no IPI. flush_ceiling 0 (2.6.32,
 * arch/x86/mm/tlb.c and arch/x86/include/asm/tlbflush.h):
 * flush_tlb_page(va) is one INVLPG locally and on CPU1 (handler ipi_handler
 * + invlpg); flush_tlb_range is flush_tlb_mm whatever the range, so one
 * page, two pages and (0, 0) are a CR3 reload on both (handler ipi_handler
 * + mov_cr3). (Before flush_tlb_page had its own call, a one-page range
 * stood for it; a one-page flush_tlb_range is now what 2.6 does: the whole
 * mm.) Each flush_tlb_others holds flush_state[0].tlbstate_lock (CPU0 % 8)
 * while it sends and waits: one lock taken per flush.
 */
static void test_user_range_no_ceiling(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    assert_int_equal(mmusim_pgd_create(m, &t.cr3), MMUSIM_OK);
    t.n = 4;
    t.start[0] = TS_USER_VA;
    t.page[0] = 1;
    t.start[1] = TS_USER_VA;
    t.end[1] = TS_USER_VA + 4096;
    t.start[2] = TS_USER_VA;
    t.end[2] = TS_USER_VA + 2 * 4096;
    t.start[3] = t.end[3] = 0;
    struct ts_script busy = {0};
    ts_script_add(&busy, TS_OP_SPEND, 1000, 40);
    ts_spawn(m, 0, t.cr3, kr_step, &t);
    ts_spawn(m, 1, t.cr3, ts_script_step, &busy);
    ts_run_all(m);
    for (unsigned k = 0; k < 4; k++) {
        assert_int_equal(KR_DELTA(t, k, 0, lock_acquires), 1);
        assert_int_equal(KR_DELTA(t, k, 0, lock_cycles), 2 * (uint64_t)c->lock_op); /* the same CPU's lock: no hand-over */
        assert_int_equal(t.rc[k], MMUSIM_PENDING);
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

/*
 * The same with flush_ceiling 33, which stands for the 3.x-4.13
 * flush_tlb_mm_range (arch/x86/mm/tlb.c, the initiator running the mm):
 * two pages are two INVLPGs on each, 34 pages a CR3 reload.
 */
static void test_user_range_ceiling(void **state)
{
    static const char *const kv[] = {"flush_ceiling", "33", NULL};
    mmusim_machine *m = ts_machine(state, 3, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct kr_task t;
    memset(&t, 0, sizeof(t));
    t.m = m;
    assert_int_equal(mmusim_pgd_create(m, &t.cr3), MMUSIM_OK);
    t.n = 2;
    t.start[0] = TS_USER_VA;
    t.end[0] = TS_USER_VA + 2 * 4096;
    t.start[1] = TS_USER_VA;
    t.end[1] = TS_USER_VA + 34 * 4096;
    struct ts_script busy = {0};
    ts_script_add(&busy, TS_OP_SPEND, 1000, 40);
    ts_spawn(m, 0, t.cr3, kr_step, &t);
    ts_spawn(m, 1, t.cr3, ts_script_step, &busy);
    ts_run_all(m);
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

/* ==== 4. flush_tlb_range and a lazy CPU ==== */

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
    sh->access_rc = mmusim_cpu_access(cpu, TS_USER_VA, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL, &a);
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
        sh->rc[0] = mmusim_flush_tlb_page_smp(cpu, sh->cr3, TS_USER_VA);
        return MMUSIM_STEP_MORE;
    }
    if (!sh->flushed) {
        sh->mask_after = mmusim_mm_cpu_mask(sh->m, sh->cr3);
        sh->flushed = 1;
        /* CPU1 left the mm: this one must not IPI it. */
        sh->rc[1] = mmusim_flush_tlb_page_smp(cpu, sh->cr3, TS_USER_VA);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

/*
 * CPU1 runs a task of mm A, then a kernel thread (cr3 0): it is lazy
 * (TLBSTATE_LAZY) with A still loaded and still in A's cpu_vm_mask. CPU0,
 * running a task of A, flush_tlb_page()s a page of A (2.6.32
 * arch/x86/mm/tlb.c, flush_tlb_page): locally one INVLPG (A is its active
 * mm and current->mm), and an IPI to CPU1, whose flush IPI handler
 * (smp_invalidate_interrupt) leave_mm()s: it loads swapper_pg_dir
 * (mmusim_kernel_cr3; its handler costs ipi_handler + mov_cr3) and drops
 * out of A's mask. A second flush_tlb_page sends no IPI.
 */
static void test_flush_range_lazy_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct lazy_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.m = m;
    sh.cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    ts_spawn(m, 1, sh.cr3, lazy_user, &sh);
    ts_spawn(m, 1, 0, lazy_kthread, &sh);
    ts_spawn(m, 0, sh.cr3, lazy_flusher, &sh);
    ts_run_all(m);

    assert_int_equal(sh.access_rc, MMUSIM_OK);
    assert_int_equal(sh.rc[0], MMUSIM_PENDING);
    assert_int_equal(sh.rc[1], MMUSIM_OK); /* no IPI to send: done in the call */
    assert_int_equal(sh.cr3_of_cpu1_before, sh.cr3);
    assert_int_equal(sh.mask_before, 0x3);
    assert_int_equal(sh.mask_after, 0x1);
    assert_int_equal(mmusim_mm_cpu_mask(m, sh.cr3), 0x1);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(ts_cpu(m, 1), &r);
    assert_int_equal(r.cr3, mmusim_kernel_cr3(m));

    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s1.leave_mm, 1);
    assert_int_equal(s1.ipis_received, 1);
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + c->mov_cr3);
    assert_int_equal(s1.invlpg, 0);
    assert_int_equal(s0.leave_mm, 0);
    assert_int_equal(s0.shootdowns, 1); /* the second flush sent no IPI: not a shootdown */
    assert_int_equal(s0.ipis_sent, 1);
    assert_int_equal(s0.invlpg, 2);
}

/*
 * flush_tlb_all reaching a lazy CPU: CPU1 ran a task of mm A and is idle
 * with A loaded (TLBSTATE_LAZY). CPU0 calls flush_tlb_all at t0 + 20000;
 * CPU1 takes the IPI at its arrival and does __flush_tlb_all plus leave_mm
 * (2.6.32 arch/x86/mm/tlb.c, do_flush_tlb_all): handler ipi_handler +
 * pge_toggle + mov_cr3; CR3 becomes swapper_pg_dir (mmusim_kernel_cr3) and
 * A's mask loses CPU1. CPU0's kernel thread never ran a user mm (state 0,
 * not lazy): no leave_mm there.
 */
static void test_flush_all_lazy_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct lazy_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.m = m;
    sh.cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct ts_flusher f = {.delay = 20000};
    mmusim_task *u = ts_spawn(m, 1, sh.cr3, lazy_user, &sh);
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    assert_true(mmusim_task_done_at(u) < t0 + f.delay);
    uint64_t arrival = t0 + f.delay + CALL_LOCKS(c) + c->ipi_send + c->ipi_deliver;
    uint64_t handler = c->ipi_handler + c->pge_toggle + c->mov_cr3;
    struct mmusim_cpu_stats s1 = ts_stats(m, 1);
    assert_int_equal(sh.access_rc, MMUSIM_OK);
    assert_int_equal(s1.leave_mm, 1);
    assert_int_equal(s1.ipi_handler_cycles, handler);
    assert_int_equal(ts_clock(m, 1), arrival + handler);
    assert_int_equal(mmusim_mm_cpu_mask(m, sh.cr3), 0);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(ts_cpu(m, 1), &r);
    assert_int_equal(r.cr3, mmusim_kernel_cr3(m));
    assert_int_equal(f.resumed_at, arrival + handler + c->ipi_ack + c->pge_toggle);
    assert_int_equal(ts_stats(m, 0).leave_mm, 0); /* CPU0 in state 0 since boot: not lazy, nothing to leave */
}

/*
 * The same in 5.11 (arch/x86/mm/tlb.c, do_flush_tlb_all): __flush_tlb_all()
 * alone, no leave_mm. CPU1's handler is ipi_handler + pge_toggle; A stays
 * loaded and CPU1 stays in A's mask.
 */
static void test_flush_all_lazy_cpu_5_11_keeps_mm(void **state)
{
    static const char *const kv[] = {"era", "5.11", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct lazy_shared sh;
    memset(&sh, 0, sizeof(sh));
    sh.m = m;
    sh.cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct ts_flusher f = {.delay = 20000};
    ts_spawn(m, 1, sh.cr3, lazy_user, &sh);
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + f.delay + c->ipi_send + c->ipi_deliver;
    uint64_t handler = c->ipi_handler + c->pge_toggle;
    struct mmusim_cpu_stats s1 = ts_stats(m, 1);
    assert_int_equal(s1.leave_mm, 0);
    assert_int_equal(s1.ipi_handler_cycles, handler);
    assert_int_equal(ts_clock(m, 1), arrival + handler);
    assert_int_equal(mmusim_mm_cpu_mask(m, sh.cr3), 0x2);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(ts_cpu(m, 1), &r);
    assert_int_equal(r.cr3, sh.cr3);
}

/*
 * 5.11's flush_tlb_kernel_range (arch/x86/mm/tlb.c): up to
 * tlb_single_page_flush_ceiling (33) pages, an INVLPG per page on every
 * CPU; above, a full flush. The era's default ceiling is 33 (layout.md).
 */
struct krange_once {
    uint32_t start, pages;
    int rc, done;
};

static enum mmusim_step krange_once_step(mmusim_cpu *cpu, void *arg)
{
    struct krange_once *k = arg;
    if (k->done++)
        return MMUSIM_STEP_DONE;
    k->rc = mmusim_flush_tlb_kernel_range_smp(cpu, k->start, k->start + k->pages * 4096u);
    return MMUSIM_STEP_MORE;
}

static void krange_5_11(void **state, unsigned pages, int per_page)
{
    static const char *const kv[] = {"era", "5.11", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    assert_int_equal(mmusim_machine_layout(m)->flush_ceiling, 33);
    struct krange_once k = {.start = mmusim_machine_layout(m)->pkmap_base, .pages = pages};
    struct ts_script busy = {0};
    ts_script_add(&busy, TS_OP_SPEND, 1000, 30);
    ts_spawn(m, 1, 0, ts_script_step, &busy);
    ts_spawn(m, 0, 0, krange_once_step, &k);
    ts_run_all(m);
    assert_int_equal(k.rc, MMUSIM_PENDING);
    for (unsigned i = 0; i < 2; i++) {
        struct mmusim_cpu_stats s = ts_stats(m, i);
        assert_int_equal(s.invlpg, per_page ? pages : 0);
        assert_int_equal(s.global_flushes, per_page ? 0 : 1);
    }
}

static void test_kernel_range_5_11_per_page_up_to_33(void **state)
{
    krange_5_11(state, 33, 1);
}

static void test_kernel_range_5_11_full_above_33(void **state)
{
    krange_5_11(state, 34, 0);
}

/* ==== 5. The P6 serial APIC bus ==== */

/*
 * p3: CPU0 and CPU1 both call flush_tlb_all at t0 = ctx_switch; CPU0 runs
 * first (tie, lower id). Both first take and drop call_function.lock
 * (2.6.32 smp_call_function_many, interrupts off): CPU0 takes it free
 * (lock_op) and drops it at t0 + 2 lock_op; CPU1, having paid lock_op,
 * finds it held until then and spins to t0 + 2 lock_op + lock_handoff (its
 * spin_cycles: lock_op + lock_handoff), then drops it (lock_op). CPU0's
 * message departs d0 = t0 + 2 lock_op + ipi_send + apic_bus_msg; CPU1's,
 * written at t0 + 3 lock_op + lock_handoff + ipi_send, before d0, waits for
 * the bus: d1 = d0 + apic_bus_msg. Each sender pays only its ICR write
 * (ipi_send): it waits for the ICR to be idle before a send, not after
 * (apic_wait_icr_idle() precedes the ICR write in 2.6.18's
 * send_IPI_mask_bitmask), so its own message travels while it goes on; it
 * had no earlier message on the bus. Idle CPU2 takes the first at d0 +
 * ipi_deliver and the second at d1 + ipi_deliver (the first handler is
 * over by then), ending at d1 + ipi_deliver + ipi_handler + pge_toggle.
 */
static void test_p3_apic_bus(void **state)
{
    static const char *const kv[] = {"preset", "p3", NULL};
    mmusim_machine *m = ts_machine(state, 4, kv);
    const struct mmusim_costs *c = ts_costs(m);
    assert_int_equal(c->apic_bus_serial, 1);
    struct ts_flusher f0 = {0}, f1 = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f0);
    ts_spawn(m, 1, 0, ts_flush_all_once, &f1);
    ts_run_all(m);

    uint64_t t0 = c->ctx_switch, lk = c->lock_op;
    uint64_t send1 = t0 + 3 * lk + c->lock_handoff; /* CPU1 done with call_function.lock */
    uint64_t d0 = t0 + 2 * lk + c->ipi_send + c->apic_bus_msg;
    uint64_t d1 = d0 + c->apic_bus_msg;
    uint64_t hend2 = d0 + c->ipi_deliver + c->ipi_handler + c->pge_toggle;
    assert_true(hend2 <= d1 + c->ipi_deliver);
    assert_true(send1 + c->ipi_send < d0);
    assert_int_equal(f0.called_at, t0);
    assert_int_equal(f1.called_at, t0);
    assert_int_equal(f0.rc, MMUSIM_PENDING);
    assert_int_equal(f1.rc, MMUSIM_PENDING);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1), s2 = ts_stats(m, 2);
    assert_int_equal(s1.spin_cycles, lk + c->lock_handoff);
    assert_int_equal(s1.lock_contended, 1);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s1.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.ipis_sent, 3);
    assert_int_equal(s1.ipis_sent, 3);
    assert_int_equal(s2.ipis_received, 2);
    assert_int_equal(s2.idle_cycles, d0 + c->ipi_deliver + (d1 - d0) - (c->ipi_handler + c->pge_toggle));
    assert_int_equal(ts_clock(m, 2), d1 + c->ipi_deliver + c->ipi_handler + c->pge_toggle);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * p3, one sender alone: after the call_single_queue lock (2 lock_op) it
 * pays ipi_send (the bus transfer is not its wait: the ICR is idle before
 * the send), and its targets see it apic_bus_msg later than on xAPIC.
 */
static void test_p3_single_sender(void **state)
{
    static const char *const kv[] = {"preset", "p3", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_run_all(m);
    uint64_t t0 = c->ctx_switch;
    uint64_t arrival = t0 + CALL_LOCKS(c) + c->ipi_send + c->apic_bus_msg + c->ipi_deliver;
    assert_int_equal(ts_stats(m, 0).ipi_send_cycles, c->ipi_send);
    assert_int_equal(ts_stats(m, 1).idle_cycles, arrival);
    assert_int_equal(f.resumed_at, arrival + c->ipi_handler + c->pge_toggle + c->ipi_ack + c->pge_toggle);
}

/*
 * p3, one CPU sends two IPIs in a row: two wake-ups in one step, of tasks
 * asleep on idle CPUs 1 and 2 (reschedule IPIs; the P6 halts in idle, so
 * each wake-up needs one). The first message is written at t + ipi_send and
 * occupies the bus until d1 = t + ipi_send + apic_bus_msg, while CPU0 goes
 * on; before the second ICR write CPU0 waits for the first message to be
 * off the bus (2.6.18 arch/i386/kernel/smp.c, send_IPI_mask_bitmask:
 * apic_wait_icr_idle() first), writes at d1 + ipi_send, and the second
 * message departs at d2 = d1 + ipi_send + apic_bus_msg. CPU0 pays 2 ipi_send
 * + apic_bus_msg. Each sleeper resumes at its IPI's arrival + ipi_handler +
 * ctx_switch.
 */
struct p3_sleeper {
    mmusim_wait_queue *q;
    int phase;
    uint64_t resumed;
};

static enum mmusim_step p3_sleep_step(mmusim_cpu *cpu, void *arg)
{
    struct p3_sleeper *z = arg;
    if (z->phase++ == 0) {
        assert_int_equal(mmusim_wait_queue_sleep(cpu, z->q), MMUSIM_PENDING);
        return MMUSIM_STEP_BLOCK;
    }
    z->resumed = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

struct p3_waker {
    mmusim_wait_queue *q[2];
    int phase, rc[2];
    uint64_t t;
};

static enum mmusim_step p3_wake_step(mmusim_cpu *cpu, void *arg)
{
    struct p3_waker *w = arg;
    if (w->phase++ == 0) {
        mmusim_cpu_spend(cpu, 10000);
        return MMUSIM_STEP_MORE;
    }
    w->t = mmusim_cpu_cycles(cpu);
    unsigned n;
    w->rc[0] = mmusim_wake_up(cpu, w->q[0], &n);
    w->rc[1] = mmusim_wake_up(cpu, w->q[1], &n);
    return MMUSIM_STEP_DONE;
}

static void test_p3_sender_waits_for_its_previous_message(void **state)
{
    static const char *const kv[] = {"preset", "p3", NULL};
    mmusim_machine *m = ts_machine(state, 3, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct p3_sleeper z[2];
    struct p3_waker w;
    memset(z, 0, sizeof(z));
    memset(&w, 0, sizeof(w));
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(mmusim_wait_queue_create(m, &z[i].q), MMUSIM_OK);
        w.q[i] = z[i].q;
        ts_spawn(m, 1 + i, 0, p3_sleep_step, &z[i]);
    }
    ts_spawn(m, 0, 0, p3_wake_step, &w);
    ts_run_all(m);

    assert_int_equal(w.rc[0], MMUSIM_OK);
    assert_int_equal(w.rc[1], MMUSIM_OK);
    uint64_t d1 = w.t + c->ipi_send + c->apic_bus_msg;
    uint64_t d2 = d1 + c->ipi_send + c->apic_bus_msg;
    assert_int_equal(ts_stats(m, 0).ipi_send_cycles, 2 * (uint64_t)c->ipi_send + c->apic_bus_msg);
    assert_int_equal(z[0].resumed, d1 + c->ipi_deliver + c->ipi_handler + c->ctx_switch);
    assert_int_equal(z[1].resumed, d2 + c->ipi_deliver + c->ipi_handler + c->ctx_switch);
}

/* ==== 6. Calls the SMP flushes refuse ==== */

/* flush_tlb_all outside mmusim_machine_run (no engine to wait in): ENOSTEP, with no report. */
static void test_flush_tlb_all_smp_refuses_outside_run(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    assert_int_equal(mmusim_flush_tlb_all_smp(ts_cpu(m, 0)), MMUSIM_ENOSTEP);
    assert_int_equal(ts_nreports(m), 0);
    assert_int_equal(ts_stats(m, 0).shootdowns, 0);
}

/* flush_tlb_all of a NULL CPU: EINVAL. */
static void test_flush_tlb_all_smp_refuses_null_cpu(void **state)
{
    (void)state;
    assert_int_equal(mmusim_flush_tlb_all_smp(NULL), MMUSIM_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_ipi_busy_target),
        TS_TEST(test_ipi_busy_target_on_boundary),
        TS_TEST(test_ipi_idle_target),
        TS_TEST(test_ipi_irqs_disabled_target),
        TS_TEST(test_ipi_fanout),
        TS_TEST(test_ipi_eight_cpus_one_message),
        TS_TEST(test_ipi_nine_cpus_unicast),
        TS_TEST(test_flush_all_drops_globals),
        TS_TEST(test_kernel_range_no_ceiling),
        TS_TEST(test_kernel_range_ceiling),
        TS_TEST(test_user_range_no_ceiling),
        TS_TEST(test_user_range_ceiling),
        TS_TEST(test_flush_range_lazy_cpu),
        TS_TEST(test_flush_all_lazy_cpu),
        TS_TEST(test_flush_all_lazy_cpu_5_11_keeps_mm),
        TS_TEST(test_kernel_range_5_11_per_page_up_to_33),
        TS_TEST(test_kernel_range_5_11_full_above_33),
        TS_TEST(test_p3_apic_bus),
        TS_TEST(test_p3_single_sender),
        TS_TEST(test_p3_sender_waits_for_its_previous_message),
        TS_TEST(test_flush_tlb_all_smp_refuses_outside_run),
        TS_TEST(test_flush_tlb_all_smp_refuses_null_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
