/*
 * The SMP flushes era by era (docs/smp.md, "The SMP flushes"): lazy TLB
 * states and leave_mm, the kernel's locks around IPIs, flushes with
 * interrupts off, 5.11's lazy CPUs and tlb_gen, the 3.x flush_tlb_mm_range
 * rule, and a pkmap-like kernel-range flush pinned cycle by cycle. Each
 * test names the kernel file, version and function it follows.
 *
 * Cycle values follow the timing model in support.h and the comments here;
 * none is written as a number.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

/* ---- actors: one action per step ---- */

enum act {
    A_END,
    A_SPEND,        /* spend n cycles */
    A_IRQ_OFF,
    A_IRQ_ON,
    A_FLUSH_ALL,    /* mmusim_flush_tlb_all_smp */
    A_FLUSH_KRANGE, /* mmusim_flush_tlb_kernel_range_smp(start, end) */
    A_FLUSH_RANGE,  /* mmusim_flush_tlb_range_smp(cr3, start, end); 0, 0: flush_tlb_mm */
    A_FLUSH_PAGE,   /* mmusim_flush_tlb_page_smp(cr3, start) */
    A_READ,         /* a read of start (user access if below PAGE_OFFSET) */
    A_WAIT,         /* until *flag >= n: steps of POLL cycles */
    A_SIGNAL        /* (*flag)++ */
};

#define MAX_ACTS 16
#define POLL 100u
#define POLL_CAP 100000u

struct action {
    enum act a;
    uint64_t n;
    uint32_t start, end;
};

struct actor {
    struct action prog[MAX_ACTS];
    unsigned pc, nacts;
    uint64_t cr3;          /* the mm of the flushes */
    int *flag;
    int rc[MAX_ACTS];
    uint64_t at[MAX_ACTS]; /* when action i began */
    uint64_t after[MAX_ACTS]; /* when the step after action i began (the action and any wait over) */
    unsigned polls;
    uint64_t poll_at[512];    /* when each A_WAIT step began (the first 512) */
};

static void add(struct actor *a, enum act what, uint64_t n, uint32_t start, uint32_t end)
{
    assert_true(a->nacts < MAX_ACTS - 1);
    a->prog[a->nacts].a = what;
    a->prog[a->nacts].n = n;
    a->prog[a->nacts].start = start;
    a->prog[a->nacts].end = end;
    a->nacts++;
}

static enum mmusim_step actor_step(mmusim_cpu *cpu, void *arg)
{
    struct actor *a = arg;
    uint64_t now = mmusim_cpu_cycles(cpu);
    if (a->pc > 0 && a->after[a->pc - 1] == 0)
        a->after[a->pc - 1] = now;
    if (a->pc >= a->nacts)
        return MMUSIM_STEP_DONE;
    const struct action *x = &a->prog[a->pc];
    if (x->a == A_WAIT && *a->flag < (int)x->n) {
        if (a->polls < 512)
            a->poll_at[a->polls] = now;
        mmusim_cpu_spend(cpu, POLL);
        return ++a->polls < POLL_CAP ? MMUSIM_STEP_MORE : MMUSIM_STEP_DONE;
    }
    a->at[a->pc] = now;
    int rc = MMUSIM_OK;
    struct mmusim_access acc;
    switch (x->a) {
    case A_SPEND:
        mmusim_cpu_spend(cpu, x->n);
        break;
    case A_IRQ_OFF:
        mmusim_local_irq_disable(cpu);
        break;
    case A_IRQ_ON:
        mmusim_local_irq_enable(cpu);
        break;
    case A_FLUSH_ALL:
        rc = mmusim_flush_tlb_all_smp(cpu);
        break;
    case A_FLUSH_KRANGE:
        rc = mmusim_flush_tlb_kernel_range_smp(cpu, x->start, x->end);
        break;
    case A_FLUSH_RANGE:
        rc = mmusim_flush_tlb_range_smp(cpu, a->cr3, x->start, x->end);
        break;
    case A_FLUSH_PAGE:
        rc = mmusim_flush_tlb_page_smp(cpu, a->cr3, x->start);
        break;
    case A_READ:
        rc = mmusim_cpu_access(cpu, x->start, MMUSIM_ACC_READ | (x->start < 0xc0000000u ? MMUSIM_ACC_USER : 0u), 4,
                               NULL, &acc);
        if (rc == MMUSIM_OK && acc.fault)
            rc = -1;
        break;
    case A_SIGNAL:
        (*a->flag)++;
        break;
    case A_WAIT:
    case A_END:
        break;
    }
    a->rc[a->pc++] = rc;
    return MMUSIM_STEP_MORE;
}

static const char *const era_names[] = {"2.6.18", "2.6.32", "2.6.37", "5.11"};

static mmusim_machine *era_machine(void **state, unsigned ncpus, enum mmusim_era era, const char *paging)
{
    const char *kv[] = {"era", era_names[era], "paging", paging ? paging : "2level", NULL};
    return ts_machine(state, ncpus, kv);
}

static uint64_t cr3_of(mmusim_machine *m, unsigned cpu)
{
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(ts_cpu(m, cpu), &r);
    return r.cr3;
}

/* A CR3 write: mov_cr3, plus mov_cr3_pae_extra under PAE (PDPTE loads). */
static uint64_t cr3_cost(mmusim_machine *m)
{
    const struct mmusim_costs *c = ts_costs(m);
    return c->mov_cr3 + (mmusim_machine_config(m)->paging == MMUSIM_PAGING_PAE ? c->mov_cr3_pae_extra : 0);
}

/*
 * The CR4.PGE pair of __flush_tlb_global: pge_toggle, and under PAE each of
 * the two CR4 writes reloads the PDPTEs (SDM Vol. 3A §4.4.1: a MOV to CR4
 * changing PGE with PAE paging on), 2 mov_cr3_pae_extra.
 */
static uint64_t cr4_pair_cost(mmusim_machine *m)
{
    const struct mmusim_costs *c = ts_costs(m);
    return c->pge_toggle + (mmusim_machine_config(m)->paging == MMUSIM_PAGING_PAE ? 2 * c->mov_cr3_pae_extra : 0);
}

/*
 * __flush_tlb_all() with PGE is __flush_tlb_global(): the CR4.PGE pair; in
 * 2.6.18 (include/asm-i386/tlbflush.h) with a CR3 reload between the two
 * CR4 writes, a CR3 write.
 */
static uint64_t global_flush_cr3_writes(mmusim_machine *m)
{
    return mmusim_machine_config(m)->era == MMUSIM_ERA_2_6_18 ? 1 : 0;
}

static uint64_t global_flush_cost(mmusim_machine *m)
{
    return cr4_pair_cost(m) + global_flush_cr3_writes(m) * cr3_cost(m);
}

/* ==== 0. The local primitives ==== */

/*
 * __flush_tlb_global: 2.6.18 include/asm-i386/tlbflush.h clears CR4.PGE,
 * reloads CR3 and restores CR4, so it costs pge_toggle plus a CR3 write
 * (mov_cr3, + mov_cr3_pae_extra under PAE), counted in cr3_writes; 2.6.32
 * arch/x86/include/asm/tlbflush.h (__native_flush_tlb_global) is the two
 * CR4 writes alone. Either drops every entry: one global flush.
 */
static void global_flush(void **state, enum mmusim_era era, const char *paging, uint64_t cr3_writes)
{
    mmusim_machine *m = era_machine(state, 1, era, paging);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    uint64_t before = mmusim_cpu_cycles(cpu);
    uint64_t want = cr4_pair_cost(m) + cr3_writes * cr3_cost(m);
    assert_int_equal(mmusim_flush_tlb_global(cpu), want);
    assert_int_equal(mmusim_cpu_cycles(cpu) - before, want);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.global_flushes, 1);
    assert_int_equal(s.global_flush_cycles, cr4_pair_cost(m)); /* the pair and its PDPTE loads */
    assert_int_equal(s.cr3_writes, cr3_writes);
    assert_int_equal(s.cr3_cycles, cr3_writes * cr3_cost(m));
    assert_int_equal(s.cr4_writes, 0);
}

static void test_flush_tlb_global_reloads_cr3_2_6_18(void **state)
{
    global_flush(state, MMUSIM_ERA_2_6_18, "2level", 1);
}

static void test_flush_tlb_global_reloads_cr3_2_6_18_pae(void **state)
{
    global_flush(state, MMUSIM_ERA_2_6_18, "pae", 1);
}

static void test_flush_tlb_global_two_cr4_writes_2_6_32(void **state)
{
    global_flush(state, MMUSIM_ERA_2_6_32, "2level", 0);
}

/*
 * __flush_tlb_all tests cpu_has_pge, the CPU feature (2.6.18
 * include/asm-i386/tlbflush.h, 2.6.32 arch/x86/include/asm/tlbflush.h), not
 * CR4.PGE: with the feature, and CR4.PGE cleared by hand, it is still the
 * global flush; without the feature, a CR3 reload.
 */
static void test_flush_tlb_all_tests_the_pge_feature(void **state)
{
    mmusim_machine *m = era_machine(state, 1, MMUSIM_ERA_2_6_32, NULL);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(cpu, &r);
    assert_true(r.cr4 & MMUSIM_CR4_PGE);
    assert_int_equal(mmusim_cpu_write_cr4(cpu, r.cr4 & ~MMUSIM_CR4_PGE, NULL), MMUSIM_OK);
    mmusim_cpu_stats_reset(cpu);
    assert_int_equal(mmusim_flush_tlb_all(cpu), ts_costs(m)->pge_toggle);
    assert_int_equal(ts_stats(m, 0).global_flushes, 1);
    assert_int_equal(ts_stats(m, 0).cr3_writes, 0);

    const char *kv[] = {"pge", "0", NULL};
    mmusim_machine *n = ts_machine(state, 1, kv);
    assert_int_equal(mmusim_flush_tlb_all(ts_cpu(n, 0)), ts_costs(n)->mov_cr3);
    assert_int_equal(ts_stats(n, 0).global_flushes, 0);
    assert_int_equal(ts_stats(n, 0).cr3_writes, 1);
}

/* ==== 1. Lazy TLB states and leave_mm ==== */

/*
 * 2.6.18 arch/i386/kernel/smp.c (do_flush_tlb_all, leave_mm), 2.6.32 and
 * 2.6.37 arch/x86/mm/tlb.c (the same functions): a CPU in TLBSTATE_LAZY
 * leaves the borrowed mm at every flush_tlb_all, loading swapper_pg_dir
 * again although CR3 already holds it, and stays lazy; a CPU in state 0
 * (no user mm since boot: cpu_tlbstate is { &init_mm, 0 }) is not lazy and
 * does not leave_mm.
 *
 * CPU1 runs a task of mm A (a CR3 write: state OK), then a kernel thread
 * (enter_lazy_tlb: LAZY) that waits for the flushes. CPU2 runs a kernel
 * thread only (state 0). CPU0, a kernel thread (state 0), calls
 * flush_tlb_all twice. Each time CPU1's handler is ipi_handler +
 * __flush_tlb_all + a CR3 write (leave_mm), CPU2's ipi_handler +
 * __flush_tlb_all.
 */
static void leave_mm_each_time(void **state, enum mmusim_era era)
{
    mmusim_machine *m = era_machine(state, 3, era, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    int flag = 0;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct actor user = {.flag = &flag}, lazy = {.flag = &flag}, idle2 = {.flag = &flag}, flusher = {.flag = &flag};
    add(&user, A_READ, 0, TS_USER_VA, 0);
    add(&lazy, A_WAIT, 2, 0, 0);
    add(&idle2, A_WAIT, 2, 0, 0);
    add(&flusher, A_SPEND, 20000, 0, 0); /* CPU1's user task is over and its kernel thread runs */
    add(&flusher, A_FLUSH_ALL, 0, 0, 0);
    add(&flusher, A_SIGNAL, 0, 0, 0);
    add(&flusher, A_FLUSH_ALL, 0, 0, 0);
    add(&flusher, A_SIGNAL, 0, 0, 0);
    ts_spawn(m, 1, a_cr3, actor_step, &user);
    ts_spawn(m, 1, 0, actor_step, &lazy);
    ts_spawn(m, 2, 0, actor_step, &idle2);
    ts_spawn(m, 0, 0, actor_step, &flusher);
    ts_run_all(m);

    assert_int_equal(user.rc[0], MMUSIM_OK);
    assert_int_equal(flusher.rc[1], MMUSIM_PENDING);
    assert_int_equal(flusher.rc[3], MMUSIM_PENDING);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1), s2 = ts_stats(m, 2);
    uint64_t gw = global_flush_cr3_writes(m);
    assert_int_equal(s1.leave_mm, 2);
    assert_int_equal(s1.cr3_writes, 1 + 2 + 2 * gw); /* switch_mm to A, two leave_mm, the global flushes' */
    assert_int_equal(s1.ipis_received, 2);
    assert_int_equal(s1.ipi_handler_cycles, 2 * (c->ipi_handler + global_flush_cost(m) + cr3_cost(m)));
    assert_int_equal(s2.leave_mm, 0);
    assert_int_equal(s2.cr3_writes, 2 * gw);
    assert_int_equal(s2.ipi_handler_cycles, 2 * (c->ipi_handler + global_flush_cost(m)));
    assert_int_equal(s0.leave_mm, 0);
    assert_int_equal(s0.cr3_writes, 2 * gw);
    assert_int_equal(mmusim_mm_cpu_mask(m, a_cr3), 0);
    assert_int_equal(cr3_of(m, 1), mmusim_kernel_cr3(m));
    assert_int_equal(ts_nreports(m), 0);
}

static void test_leave_mm_at_each_flush_all_2_6_18(void **state)
{
    leave_mm_each_time(state, MMUSIM_ERA_2_6_18);
}

static void test_leave_mm_at_each_flush_all_2_6_32(void **state)
{
    leave_mm_each_time(state, MMUSIM_ERA_2_6_32);
}

static void test_leave_mm_at_each_flush_all_2_6_37(void **state)
{
    leave_mm_each_time(state, MMUSIM_ERA_2_6_37);
}

/*
 * 2.6.32 include/asm/mmu_context.h, switch_mm(): a lazy CPU that leave_mm
 * dropped from A's mask reloads CR3 when a task of A runs on it again (the
 * bit was clear: "leave_mm disabled tlb flush IPI delivery"), and a CPU that
 * stayed in the mask does not. CPU1: a task of A, a kernel thread that
 * waits for CPU0's flush_tlb_all (leave_mm), then another task of A: 3 CR3
 * writes (switch, leave_mm, reload). CPU2: a task of A, a kernel thread,
 * another task of A with no flush in between (no reload), all over before
 * the flush, which finds it idle and lazy: 2 CR3 writes (switch, leave_mm).
 */
static void test_switch_back_after_leave_mm_reloads_cr3(void **state)
{
    mmusim_machine *m = era_machine(state, 3, MMUSIM_ERA_2_6_32, NULL);
    int flag = 0;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct actor u1 = {.flag = &flag}, k1 = {.flag = &flag}, v1 = {.flag = &flag};
    struct actor u2 = {.flag = &flag}, k2 = {.flag = &flag}, v2 = {.flag = &flag}, flusher = {.flag = &flag};
    add(&u1, A_READ, 0, TS_USER_VA, 0);
    add(&k1, A_WAIT, 1, 0, 0);
    add(&v1, A_READ, 0, TS_USER_VA, 0);
    add(&u2, A_READ, 0, TS_USER_VA, 0);
    add(&k2, A_SPEND, 100, 0, 0);
    add(&v2, A_READ, 0, TS_USER_VA, 0);
    add(&flusher, A_SPEND, 20000, 0, 0);
    add(&flusher, A_FLUSH_ALL, 0, 0, 0);
    add(&flusher, A_SIGNAL, 0, 0, 0);
    ts_spawn(m, 1, a_cr3, actor_step, &u1);
    ts_spawn(m, 1, 0, actor_step, &k1);
    ts_spawn(m, 1, a_cr3, actor_step, &v1);
    ts_spawn(m, 2, a_cr3, actor_step, &u2);
    ts_spawn(m, 2, 0, actor_step, &k2);
    ts_spawn(m, 2, a_cr3, actor_step, &v2);
    ts_spawn(m, 0, 0, actor_step, &flusher);
    ts_run_all(m);
    assert_int_equal(ts_stats(m, 1).cr3_writes, 3);
    assert_int_equal(ts_stats(m, 1).leave_mm, 1);
    assert_int_equal(ts_stats(m, 2).cr3_writes, 2);
    assert_int_equal(ts_stats(m, 2).leave_mm, 1);
    assert_true(v2.at[0] < flusher.at[1]);
    assert_int_equal(mmusim_mm_cpu_mask(m, a_cr3), 0x2); /* CPU1 back in; CPU2 left at the flush and ended */
    assert_int_equal(v1.rc[0], MMUSIM_OK);
}

/* ==== 2. The kernel's locks around IPIs ==== */

/*
 * 2.6.18 arch/i386/kernel/smp.c, smp_call_function(): call_lock is held
 * from before the send to after the last CPU has run the function, and
 * spin_lock leaves interrupts on. CPU0 and CPU1 (kernel threads, state 0)
 * call flush_tlb_all at t0 = ctx_switch; CPU0 goes first (tie: lower id):
 * call_lock (lock_op), the IPI (ipi_send) arrives at CPU1 at
 * a1 = t0 + lock_op + ipi_send + ipi_deliver. CPU1 paid lock_op and spins
 * from t0 + lock_op; it takes CPU0's IPI while spinning (handler to
 * h1 = a1 + ipi_handler + the global flush), whose ack lets CPU0 resume at
 * r0 = h1 + ipi_ack: it unlocks (lock_op) and the lock passes to CPU1 at
 * r0 + lock_op + lock_handoff; CPU0 then flushes itself. CPU1 sends at
 * once: its IPI reaches CPU0 at a0 = r0 + lock_op + lock_handoff + ipi_send
 * + ipi_deliver, taken at the first boundary from then (CPU0 may still be
 * in its local flush); CPU1 resumes after the ack, unlocks (lock_op) and
 * flushes itself.
 */
static void test_two_flush_all_serialise_on_call_lock_2_6_18(void **state)
{
    mmusim_machine *m = era_machine(state, 2, MMUSIM_ERA_2_6_18, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct actor f0 = {0}, f1 = {0};
    add(&f0, A_FLUSH_ALL, 0, 0, 0);
    add(&f1, A_FLUSH_ALL, 0, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &f0);
    ts_spawn(m, 1, 0, actor_step, &f1);
    ts_run_all(m);

    uint64_t g = global_flush_cost(m), L = c->lock_op;
    uint64_t t0 = c->ctx_switch;
    uint64_t a1 = t0 + L + c->ipi_send + c->ipi_deliver;
    uint64_t h1 = a1 + c->ipi_handler + g;
    uint64_t r0 = h1 + c->ipi_ack;
    uint64_t got1 = r0 + L + c->lock_handoff;        /* CPU1 owns call_lock */
    uint64_t a0 = got1 + c->ipi_send + c->ipi_deliver;
    uint64_t b0 = a0 > r0 + L + g ? a0 : r0 + L + g; /* CPU0 takes it once its own flush is over */
    uint64_t h0 = b0 + c->ipi_handler + g;
    assert_int_equal(f0.rc[0], MMUSIM_PENDING);
    assert_int_equal(f1.rc[0], MMUSIM_PENDING);
    assert_int_equal(f1.after[0], h0 + c->ipi_ack + L + g);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.lock_contended, 0);
    assert_int_equal(s1.lock_contended, 1);
    assert_int_equal(s1.spin_cycles, (a1 - (t0 + L)) + (got1 - h1)); /* the handler's time is not spin */
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + g);
    assert_int_equal(s0.ipi_handler_cycles, c->ipi_handler + g);
    assert_int_equal(s0.shootdowns + s1.shootdowns, 2);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * 2.6.32 kernel/smp.c: smp_call_function_many() with one other CPU goes to
 * smp_call_function_single(), whose lock is the target's call_single_queue
 * lock, held (interrupts off) only to queue the call: CPU0 and CPU1 lock
 * different queues, neither waits, both send at t0 + 2 lock_op + ipi_send
 * and each takes the other's IPI while waiting for its own ack.
 */
static void test_two_flush_all_overlap_2_6_32(void **state)
{
    mmusim_machine *m = era_machine(state, 2, MMUSIM_ERA_2_6_32, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct actor f0 = {0}, f1 = {0};
    add(&f0, A_FLUSH_ALL, 0, 0, 0);
    add(&f1, A_FLUSH_ALL, 0, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &f0);
    ts_spawn(m, 1, 0, actor_step, &f1);
    ts_run_all(m);

    uint64_t g = global_flush_cost(m);
    uint64_t a = c->ctx_switch + 2 * (uint64_t)c->lock_op + c->ipi_send + c->ipi_deliver;
    uint64_t done = a + c->ipi_handler + g + c->ipi_ack + g;
    assert_int_equal(f0.after[0], done);
    assert_int_equal(f1.after[0], done);
    for (unsigned i = 0; i < 2; i++) {
        assert_int_equal(ts_stats(m, i).lock_contended, 0);
        assert_int_equal(ts_stats(m, i).spin_cycles, 0);
        assert_int_equal(ts_stats(m, i).ipis_received, 1);
    }
}

/*
 * flush_tlb_others' lock: 2.6.18 arch/i386/kernel/smp.c has one
 * tlbstate_lock for every CPU; 2.6.32 arch/x86/mm/tlb.c,
 * flush_tlb_others_ipi(), takes flush_state[smp_processor_id() %
 * NUM_INVALIDATE_TLB_VECTORS (8)].tlbstate_lock. Held while sending and
 * waiting. Ten CPUs; tasks of mm A on CPUs 0, 1, 2 and 8; CPUs 0, 1 and 8
 * call flush_tlb_mm(A) at the same time (CPU 2 just runs A). In 2.6.32 only
 * CPU8 finds its lock (flush_state[0]) held, by CPU0; in 2.6.18 CPU1 and
 * CPU8 both wait for the one lock. The spinning CPUs take the IPIs of the
 * holder meanwhile (interrupts on), so nothing deadlocks.
 */
static void flush_mm_locks(void **state, enum mmusim_era era, int contended1)
{
    mmusim_machine *m = era_machine(state, 10, era, NULL);
    int flag = 0;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct actor f[3], busy = {.flag = &flag};
    const unsigned cpus[3] = {0, 1, 8};
    add(&busy, A_WAIT, 3, 0, 0);
    ts_spawn(m, 2, a_cr3, actor_step, &busy);
    for (unsigned i = 0; i < 3; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].cr3 = a_cr3;
        f[i].flag = &flag;
        add(&f[i], A_FLUSH_RANGE, 0, 0, 0);
        add(&f[i], A_SIGNAL, 0, 0, 0);
        ts_spawn(m, cpus[i], a_cr3, actor_step, &f[i]);
    }
    ts_run_all(m);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(f[i].rc[0], MMUSIM_PENDING);
    assert_int_equal(ts_stats(m, 0).lock_contended, 0);
    assert_int_equal(ts_stats(m, 1).lock_contended, contended1);
    assert_int_equal(ts_stats(m, 8).lock_contended, 1);
    assert_int_equal(ts_stats(m, 2).ipis_received, 3);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_flush_tlb_others_one_lock_2_6_18(void **state)
{
    flush_mm_locks(state, MMUSIM_ERA_2_6_18, 1);
}

static void test_flush_tlb_others_lock_per_cpu_mod_8_2_6_32(void **state)
{
    flush_mm_locks(state, MMUSIM_ERA_2_6_32, 0);
}

/* ==== 3. Flushes with interrupts off ==== */

/*
 * Two CPUs flush each other with interrupts off: the kernel WARNs (2.6.18
 * smp_call_function's WARN_ON(irqs_disabled()); 2.6.32 kernel/smp.c
 * smp_call_function_many's WARN_ON_ONCE) and goes on, into a deadlock the
 * run reports (deadlock 1, not finished). 2.6.18: CPU0 holds call_lock and
 * waits for CPU1's acknowledgement; CPU1 spins on call_lock with
 * interrupts off and never takes the IPI: one WARN (CPU0's, made with the
 * lock held), one IPI sent. 2.6.32: both send (the call_single_queue locks
 * differ) and both wait with interrupts off: two IPIs sent, none taken;
 * CPU0's call fires both WARN_ON_ONCEs (smp_call_function_many's and
 * _single's), CPU1's none.
 */
static void irqs_off_flush_each_other(void **state, enum mmusim_era era, uint64_t sent, uint64_t warns)
{
    mmusim_machine *m = era_machine(state, 2, era, NULL);
    struct actor f0 = {0}, f1 = {0};
    add(&f0, A_IRQ_OFF, 0, 0, 0);
    add(&f0, A_FLUSH_ALL, 0, 0, 0);
    add(&f0, A_IRQ_ON, 0, 0, 0);
    f1 = f0;
    ts_spawn(m, 0, 0, actor_step, &f0);
    ts_spawn(m, 1, 0, actor_step, &f1);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.deadlock, 1);
    assert_int_equal(r.finished, 0);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.ipis_sent + s1.ipis_sent, sent);
    assert_int_equal(s0.ipis_received + s1.ipis_received, 0);
    assert_int_equal(ts_nreports(m), warns);
    assert_int_equal(f0.pc, 2); /* both still in their flush */
    assert_int_equal(f1.pc, 2);
}

static void test_irqs_off_flushes_deadlock_2_6_18(void **state)
{
    irqs_off_flush_each_other(state, MMUSIM_ERA_2_6_18, 1, 1);
}

static void test_irqs_off_flushes_deadlock_2_6_32(void **state)
{
    irqs_off_flush_each_other(state, MMUSIM_ERA_2_6_32, 2, 2);
}

/*
 * A flush from a hardirq handler while the task it interrupted waits for
 * its own flush's acknowledgement (2.6.32 kernel/smp.c: the task waits in
 * smp_call_function_many's csd_lock_wait with interrupts on; the handler
 * calls flush_tlb_all with interrupts off — requested with IRQF_DISABLED —,
 * WARN_ON_ONCE, and waits too).
 * Each acknowledgement goes to the flush that sent the IPI. CPU0's task
 * flushes at t0; CPU1 runs with interrupts off until E = t0 + 5,000, so
 * both IPIs wait for it; CPU0's device interrupt at t0 + 1,000 flushes
 * again. At E CPU1 takes the task's IPI (its ack reaches CPU0 at
 * E + ipi_handler + G + ipi_ack: the task's), then the handler's (ack at
 * E + 2 (ipi_handler + G) + ipi_ack: the handler's), G = pge_toggle. The
 * handler's flush ends with its local flush (G), the handler returns, and
 * the task's path, whose acknowledgement is in, ends with its own (G).
 */
struct irq_flusher {
    int phase, rc;
    uint64_t resumed;
};

static enum mmusim_step irq_flush_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_flusher *h = arg;
    if (h->phase++ == 0) {
        h->rc = mmusim_flush_tlb_all_smp(cpu);
        return MMUSIM_STEP_MORE;
    }
    h->resumed = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

static void test_handler_flush_over_waiting_task_2_6_32(void **state)
{
    mmusim_machine *m = era_machine(state, 2, MMUSIM_ERA_2_6_32, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    struct ts_flusher f = {0};
    struct ts_script off = {0};
    ts_script_add(&off, TS_OP_IRQ_OFF, 5000, 1);
    ts_script_add(&off, TS_OP_IRQ_ON, 0, 1);
    ts_script_add(&off, TS_OP_SPEND, 100, 1);
    struct irq_flusher h = {0};
    uint64_t t0 = c->ctx_switch;
    ts_spawn(m, 0, 0, ts_flush_all_once, &f);
    ts_spawn(m, 1, 0, ts_script_step, &off);
    /* IRQF_DISABLED: in 2.6.32 a handler requested without it runs with interrupts on. */
    assert_int_equal(mmusim_irq_at_flags(m, 0, t0 + 1000, irq_flush_step, &h, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(m);

    uint64_t g = global_flush_cost(m), e = t0 + 5000;
    assert_int_equal(f.rc, MMUSIM_PENDING);
    assert_int_equal(h.rc, MMUSIM_PENDING);
    assert_int_equal(h.resumed, e + 2 * (c->ipi_handler + g) + c->ipi_ack + g);
    assert_int_equal(f.resumed_at, h.resumed + g);
    assert_int_equal(ts_stats(m, 1).ipis_received, 2);
    assert_int_equal(ts_nreports(m), 2); /* the handler's WARN_ON_ONCE, smp_call_function_many's and _single's */
}

/* ==== 4. 5.11: lazy CPUs skipped, tlb_gen ==== */

/*
 * 5.11 arch/x86/mm/tlb.c: native_flush_tlb_others() sends the flush with
 * on_each_cpu_cond_mask(tlb_is_not_lazy): a CPU in lazy TLB mode stays in
 * the mm's mask but gets no IPI; switch_mm_irqs_off() then reloads CR3 when
 * a task of the mm runs there again if the mm's tlb_gen moved on ("TLB
 * contents went out of date while we were in lazy mode").
 *
 * CPU1: a task of A (CR3 write), a kernel thread (lazy on A) that waits for
 * CPU0, another task of A. CPU0, a task of A, flush_tlb_page(A, va) after
 * 20,000 cycles: a local INVLPG and no IPI (done in the call), or, with
 * `flush` 0, nothing. CPU1's second task reloads CR3 only after the flush.
 * 2.6.32 for contrast (flush_tlb_others to the mask, lazy or not): the IPI,
 * leave_mm, and the reload because leave_mm dropped CPU1 from the mask.
 */
static void lazy_skip(void **state, enum mmusim_era era, int flush, uint64_t cpu1_cr3_writes, uint64_t ipis)
{
    mmusim_machine *m = era_machine(state, 2, era, NULL);
    int flag = 0;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct actor u = {.flag = &flag}, k = {.flag = &flag}, v = {.flag = &flag}, f = {.flag = &flag, .cr3 = a_cr3};
    add(&u, A_READ, 0, TS_USER_VA, 0);
    add(&k, A_WAIT, 1, 0, 0);
    add(&v, A_READ, 0, TS_USER_VA, 0);
    add(&f, A_SPEND, 20000, 0, 0);
    if (flush)
        add(&f, A_FLUSH_PAGE, 0, TS_USER_VA, 0);
    add(&f, A_SIGNAL, 0, 0, 0);
    ts_spawn(m, 1, a_cr3, actor_step, &u);
    ts_spawn(m, 1, 0, actor_step, &k);
    ts_spawn(m, 1, a_cr3, actor_step, &v);
    ts_spawn(m, 0, a_cr3, actor_step, &f);
    ts_run_all(m);
    assert_int_equal(v.rc[0], MMUSIM_OK);
    if (flush)
        assert_int_equal(f.rc[1], ipis ? MMUSIM_PENDING : MMUSIM_OK);
    assert_int_equal(ts_stats(m, 0).ipis_sent, ipis);
    assert_int_equal(ts_stats(m, 0).shootdowns, ipis);
    assert_int_equal(ts_stats(m, 0).invlpg, flush ? 1 : 0);
    assert_int_equal(ts_stats(m, 1).cr3_writes, cpu1_cr3_writes);
    assert_int_equal(mmusim_mm_cpu_mask(m, a_cr3), 0x3);
}

static void test_lazy_cpu_skipped_then_reloads_5_11(void **state)
{
    lazy_skip(state, MMUSIM_ERA_5_11, 1, 2, 0);
}

static void test_lazy_cpu_no_flush_no_reload_5_11(void **state)
{
    lazy_skip(state, MMUSIM_ERA_5_11, 0, 1, 0);
}

static void test_lazy_cpu_gets_ipi_2_6_32(void **state)
{
    lazy_skip(state, MMUSIM_ERA_2_6_32, 1, 3, 1); /* switch, leave_mm, reload */
}

/* ==== 5. flush_tlb_mm_range with a ceiling ==== */

/*
 * 3.x-4.13 arch/x86/mm/tlb.c, flush_tlb_mm_range() (what a 2.6 era with
 * flush_ceiling set stands for): an initiator whose current->active_mm is
 * not the mm ("goto out"), or which only borrows it (!current->mm:
 * leave_mm first), flushes nothing of it itself and sends TLB_FLUSH_ALL:
 * CPU1, running A, reloads CR3 instead of two INVLPGs. 5.11's
 * flush_tlb_mm_range has no such rule: the range goes out as asked, and
 * flush_tlb_func_common flushes it page by page (this flush is the next
 * generation, and the last). CPU0 is a kernel thread: `borrow` 0, it never
 * ran A (active_mm is init_mm); 1, it ran a task of A first (lazy on A).
 */
static void range_from_outsider(void **state, enum mmusim_era era, int borrow, int full)
{
    const char *kv[] = {"era", era_names[era], "flush_ceiling", "33", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    const struct mmusim_costs *c = ts_costs(m);
    int flag = 0;
    uint64_t a_cr3 = ts_address_space(m, TS_USER_VA, 2, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    struct actor busy = {.flag = &flag}, first = {.flag = &flag}, f = {.flag = &flag, .cr3 = a_cr3};
    add(&busy, A_WAIT, 1, 0, 0);
    add(&first, A_READ, 0, TS_USER_VA, 0);
    add(&f, A_SPEND, 20000, 0, 0);
    add(&f, A_FLUSH_RANGE, 0, TS_USER_VA, TS_USER_VA + 2 * 4096u);
    add(&f, A_SIGNAL, 0, 0, 0);
    ts_spawn(m, 1, a_cr3, actor_step, &busy);
    if (borrow)
        ts_spawn(m, 0, a_cr3, actor_step, &first);
    ts_spawn(m, 0, 0, actor_step, &f);
    ts_run_all(m);
    assert_int_equal(f.rc[1], MMUSIM_PENDING);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s1.invlpg, full ? 0 : 2);
    assert_int_equal(s1.cr3_writes, full ? 2 : 1); /* its switch to A, and the full flush */
    assert_int_equal(s1.ipi_handler_cycles, c->ipi_handler + (full ? cr3_cost(m) : 2 * (uint64_t)c->invlpg));
    assert_int_equal(s0.invlpg, 0);
    assert_int_equal(s0.leave_mm, borrow ? 1 : 0);
}

static void test_range_from_kthread_is_full_remotely_3x(void **state)
{
    range_from_outsider(state, MMUSIM_ERA_2_6_32, 0, 1);
}

static void test_range_from_lazy_kthread_leaves_and_is_full_3x(void **state)
{
    range_from_outsider(state, MMUSIM_ERA_2_6_32, 1, 1);
}

static void test_range_from_kthread_is_per_page_5_11(void **state)
{
    range_from_outsider(state, MMUSIM_ERA_5_11, 0, 0);
}

/* ==== 6. A pkmap wrap: flush_tlb_kernel_range over the whole pool ==== */

/*
 * kmap_high's wrap (mm/highmem.c, flush_all_zero_pkmaps) calls
 * flush_tlb_kernel_range(PKMAP_ADDR(0), PKMAP_ADDR(LAST_PKMAP)): 1,024
 * pages, 512 under PAE. 4 CPUs. CPU0 runs a task of its own mm K (the
 * kmap caller: TLBSTATE_OK). CPUs 1-3 each ran a task of their own user
 * mm (switch_mm: a CR3 write, TLBSTATE_OK; the task does nothing and ends)
 * and then run a kernel thread (enter_lazy_tlb: TLBSTATE_LAZY, the user mm
 * still loaded) in steps of POLL cycles until the flush is over.
 *
 * Times: every task switch costs ctx_switch, plus a CR3 write C = mov_cr3
 * (+ mov_cr3_pae_extra under PAE: the PDPTE loads) when it loads a user mm.
 * So CPU0's task and CPUs 1-3's user tasks start at tu = ctx_switch + C, the
 * kernel threads at tk = tu + ctx_switch (no CR3 write: they borrow the mm).
 * CPU0 spends 20,000 cycles, then flushes at t1 = tu + 20,000.
 *
 * 2.6.18 (include/asm-i386/tlbflush.h: flush_tlb_kernel_range is
 * flush_tlb_all; arch/i386/kernel/smp.c: flush_tlb_all is
 * on_each_cpu(do_flush_tlb_all), kernel/softirq.c: on_each_cpu is
 * smp_call_function then the local call):
 *   smp_call_function: spin_lock(&call_lock), free: lock_op.
 *     send_IPI_allbutself, one message for CPUs 1-3: ipi_send; target i
 *     (0, 1, 2) sees it at a_i = t1 + lock_op + ipi_send + ipi_deliver +
 *     i * ipi_extra_target, and takes it at the end of the kernel thread's
 *     step then (boundary b_i).
 *   On each target, smp_call_function_interrupt: ipi_handler, then
 *     do_flush_tlb_all: __flush_tlb_all = __flush_tlb_global (CPU has PGE):
 *     pge_toggle plus the CR3 reload between the CR4 writes (C); the CPU is
 *     TLBSTATE_LAZY, so leave_mm: clear it from its mm's cpu_vm_mask and
 *     load_cr3(swapper_pg_dir) (C). Handler: ipi_handler + pge_toggle + 2C;
 *     its acknowledgement reaches CPU0 ipi_ack after.
 *   CPU0, after the last acknowledgement: spin_unlock(&call_lock) (lock_op),
 *     then do_flush_tlb_all locally: pge_toggle + C; TLBSTATE_OK: no
 *     leave_mm.
 *   CR3 writes: CPU0 1 (its switch) + 1 (__flush_tlb_global); CPUs 1-3 1
 *   (the user task's switch) + 2.
 * 2.6.32 (arch/x86/include/asm/tlbflush.h: flush_tlb_kernel_range is
 * flush_tlb_all; arch/x86/mm/tlb.c: on_each_cpu(do_flush_tlb_all);
 * kernel/smp.c: smp_call_function_many):
 *   call_function.lock taken and dropped before the send (three targets):
 *     2 lock_op; then one message: ipi_send; the same arrivals from
 *     t1 + 2 lock_op.
 *   Each target: ipi_handler + __flush_tlb_global (native: two CR4 writes,
 *     pge_toggle) + leave_mm (C).
 *   CPU0 after the last acknowledgement: do_flush_tlb_all locally,
 *     pge_toggle; no lock to release.
 *   CR3 writes: CPU0 1; CPUs 1-3 2.
 * Either way 3 IPIs (ipis_sent on CPU0, one ipis_tlb on each target), one
 * shootdown, three leave_mm, every user mm's mask empty after. (PDPTE loads
 * are not counted apart here: they are the mov_cr3_pae_extra of each CR3
 * write under PAE.)
 */
static void pkmap_wrap(void **state, enum mmusim_era era, const char *paging)
{
    mmusim_machine *m = era_machine(state, 4, era, paging);
    const struct mmusim_costs *c = ts_costs(m);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    int pae = strcmp(paging, "pae") == 0;
    assert_int_equal(l->last_pkmap, pae ? 512u : 1024u);
    int flag = 0;
    uint64_t k_cr3 = ts_address_space(m, TS_USER_VA, 0, 0, NULL), mm[4];
    struct actor user[4], kthread[4], kmapper = {.flag = &flag};
    memset(user, 0, sizeof(user));
    memset(kthread, 0, sizeof(kthread));
    for (unsigned i = 1; i < 4; i++) {
        mm[i] = ts_address_space(m, TS_USER_VA, 0, 0, NULL);
        kthread[i].flag = &flag;
        add(&kthread[i], A_WAIT, 1, 0, 0);
        ts_spawn(m, i, mm[i], actor_step, &user[i]); /* no action: it ends at once */
        ts_spawn(m, i, 0, actor_step, &kthread[i]);
    }
    add(&kmapper, A_SPEND, 20000, 0, 0);
    add(&kmapper, A_FLUSH_KRANGE, 0, l->pkmap_base, l->pkmap_base + l->last_pkmap * 4096u);
    add(&kmapper, A_SIGNAL, 0, 0, 0);
    ts_spawn(m, 0, k_cr3, actor_step, &kmapper);
    ts_run_all(m);

    int e18 = era == MMUSIM_ERA_2_6_18;
    uint64_t C = cr3_cost(m), L = c->lock_op;
    uint64_t tu = c->ctx_switch + C, tk = tu + c->ctx_switch, t1 = tu + 20000;
    uint64_t send = t1 + (e18 ? L : 2 * L) + c->ipi_send;
    uint64_t gflush = cr4_pair_cost(m) + (e18 ? C : 0); /* __flush_tlb_global (+ its PDPTE loads under PAE) */
    uint64_t handler = c->ipi_handler + gflush + C;  /* + leave_mm */
    uint64_t last_ack = 0;
    for (unsigned i = 1; i < 4; i++) {
        uint64_t a = send + c->ipi_deliver + (uint64_t)(i - 1) * c->ipi_extra_target;
        uint64_t b = ts_boundary_after(tk, POLL, a);
        struct mmusim_cpu_stats s = ts_stats(m, i);
        assert_int_equal(s.ipis_received, 1);
        assert_int_equal(s.ipis_tlb, 1);
        assert_int_equal(s.ipi_handler_cycles, handler);
        assert_int_equal(s.leave_mm, 1);
        assert_int_equal(s.cr3_writes, 1 + (e18 ? 2 : 1));
        assert_int_equal(s.cr3_cycles, (1 + (e18 ? 2 : 1)) * C);
        assert_int_equal(s.global_flushes, 1);
        /* The kernel thread's steps: every POLL cycles from tk up to b, the next one at b + handler. */
        unsigned k = (unsigned)((b - tk) / POLL);
        assert_true(k < 511 && kthread[i].polls > k + 1);
        assert_int_equal(kthread[i].poll_at[k - 1], b - POLL);
        assert_int_equal(kthread[i].poll_at[k], b + handler);
        assert_int_equal(mmusim_mm_cpu_mask(m, mm[i]), 0);
        assert_int_equal(cr3_of(m, i), mmusim_kernel_cr3(m));
        if (b + handler + c->ipi_ack > last_ack)
            last_ack = b + handler + c->ipi_ack;
    }
    assert_int_equal(kmapper.at[1], t1);
    assert_int_equal(kmapper.rc[1], MMUSIM_PENDING);
    /* Resumed (the signal step) after the last ack, the unlock (2.6.18) and the local __flush_tlb_all. */
    assert_int_equal(kmapper.after[1], last_ack + (e18 ? L : 0) + gflush);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0);
    assert_int_equal(s0.ipis_sent, 3);
    assert_int_equal(s0.shootdowns, 1);
    assert_int_equal(s0.ipi_send_cycles, c->ipi_send);
    assert_int_equal(s0.leave_mm, 0);
    assert_int_equal(s0.cr3_writes, 1 + (e18 ? 1 : 0));
    assert_int_equal(s0.global_flushes, 1);
    assert_int_equal(s0.lock_cycles, 2 * L);
    assert_int_equal(mmusim_mm_cpu_mask(m, k_cr3), 0x1);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_pkmap_wrap_2_6_18_2level(void **state)
{
    pkmap_wrap(state, MMUSIM_ERA_2_6_18, "2level");
}

static void test_pkmap_wrap_2_6_18_pae(void **state)
{
    pkmap_wrap(state, MMUSIM_ERA_2_6_18, "pae");
}

static void test_pkmap_wrap_2_6_32_2level(void **state)
{
    pkmap_wrap(state, MMUSIM_ERA_2_6_32, "2level");
}

static void test_pkmap_wrap_2_6_32_pae(void **state)
{
    pkmap_wrap(state, MMUSIM_ERA_2_6_32, "pae");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_flush_tlb_global_reloads_cr3_2_6_18),
        TS_TEST(test_flush_tlb_global_reloads_cr3_2_6_18_pae),
        TS_TEST(test_flush_tlb_global_two_cr4_writes_2_6_32),
        TS_TEST(test_flush_tlb_all_tests_the_pge_feature),
        TS_TEST(test_leave_mm_at_each_flush_all_2_6_18),
        TS_TEST(test_leave_mm_at_each_flush_all_2_6_32),
        TS_TEST(test_leave_mm_at_each_flush_all_2_6_37),
        TS_TEST(test_switch_back_after_leave_mm_reloads_cr3),
        TS_TEST(test_two_flush_all_serialise_on_call_lock_2_6_18),
        TS_TEST(test_two_flush_all_overlap_2_6_32),
        TS_TEST(test_flush_tlb_others_one_lock_2_6_18),
        TS_TEST(test_flush_tlb_others_lock_per_cpu_mod_8_2_6_32),
        TS_TEST(test_irqs_off_flushes_deadlock_2_6_18),
        TS_TEST(test_irqs_off_flushes_deadlock_2_6_32),
        TS_TEST(test_handler_flush_over_waiting_task_2_6_32),
        TS_TEST(test_lazy_cpu_skipped_then_reloads_5_11),
        TS_TEST(test_lazy_cpu_no_flush_no_reload_5_11),
        TS_TEST(test_lazy_cpu_gets_ipi_2_6_32),
        TS_TEST(test_range_from_kthread_is_full_remotely_3x),
        TS_TEST(test_range_from_lazy_kthread_leaves_and_is_full_3x),
        TS_TEST(test_range_from_kthread_is_per_page_5_11),
        TS_TEST(test_pkmap_wrap_2_6_18_2level),
        TS_TEST(test_pkmap_wrap_2_6_18_pae),
        TS_TEST(test_pkmap_wrap_2_6_32_2level),
        TS_TEST(test_pkmap_wrap_2_6_32_pae),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
