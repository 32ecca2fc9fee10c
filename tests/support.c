/*
 * Shared test fixtures: see support.h. Public API only.
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
#include "support.h"

/* ---- the fixture ---- */

int ts_setup(void **state)
{
    struct ts_fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    *state = f;
    return 0;
}

int ts_teardown(void **state)
{
    struct ts_fixture *f = *state;
    if (!f)
        return 0;
    for (unsigned i = 0; i < f->n; i++)
        mmusim_machine_destroy(f->m[i]);
    free(f);
    *state = NULL;
    return 0;
}

mmusim_machine *ts_machine_from(void **state, const struct mmusim_config *cfg)
{
    struct ts_fixture *f = *state;
    assert_non_null(f);
    assert_true(f->n < TS_MAX_MACHINES);
    mmusim_machine *m = NULL;
    int rc = mmusim_machine_create(cfg, &m);
    if (rc != MMUSIM_OK)
        print_error("mmusim_machine_create: %s\n", mmusim_strerror(rc));
    assert_int_equal(rc, MMUSIM_OK);
    assert_non_null(m);
    f->m[f->n++] = m;
    return m;
}

mmusim_machine *ts_machine(void **state, unsigned ncpus, const char *const *kv)
{
    struct mmusim_config cfg;
    char n[16];
    mmusim_config_init(&cfg);
    for (; kv && *kv; kv += 2)
        assert_int_equal(mmusim_config_set(&cfg, kv[0], kv[1]), MMUSIM_OK);
    snprintf(n, sizeof(n), "%u", ncpus);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", n), MMUSIM_OK);
    return ts_machine_from(state, &cfg);
}

/* ---- address spaces ---- */

void ts_map_pages(mmusim_machine *m, uint64_t cr3, uint32_t va, const uint64_t *pfns, unsigned npages,
                  uint64_t flags)
{
    for (unsigned i = 0; i < npages; i++)
        assert_int_equal(mmusim_pt_map(m, cr3, va + i * MMUSIM_PAGE_SIZE, pfns[i] << MMUSIM_PAGE_SHIFT,
                                       MMUSIM_PAGE_4K, flags),
                         MMUSIM_OK);
}

uint64_t ts_address_space(mmusim_machine *m, uint32_t va, unsigned npages, uint64_t flags, uint64_t *pfns)
{
    uint64_t cr3 = 0;
    assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
    for (unsigned i = 0; i < npages; i++) {
        uint64_t pfn;
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
        ts_map_pages(m, cr3, va + i * MMUSIM_PAGE_SIZE, &pfn, 1, flags);
        if (pfns)
            pfns[i] = pfn;
    }
    return cr3;
}

/* ---- running ---- */

struct mmusim_run_result ts_run_all(mmusim_machine *m)
{
    struct mmusim_run_result r;
    memset(&r, 0xa5, sizeof(r));
    assert_int_equal(mmusim_machine_run(m, TS_CYCLE_LIMIT, &r), MMUSIM_OK);
    assert_int_equal(r.deadlock, 0);
    assert_int_equal(r.finished, 1);
    return r;
}

mmusim_task *ts_spawn(mmusim_machine *m, unsigned cpu, uint64_t cr3, mmusim_step_fn fn, void *arg)
{
    mmusim_task *t = NULL;
    assert_int_equal(mmusim_task_create(m, cpu, cr3, fn, arg, &t), MMUSIM_OK);
    assert_non_null(t);
    return t;
}

/* ---- looking at a machine ---- */

const struct mmusim_costs *ts_costs(const mmusim_machine *m)
{
    return &mmusim_machine_config(m)->costs;
}

mmusim_cpu *ts_cpu(mmusim_machine *m, unsigned i)
{
    mmusim_cpu *c = mmusim_machine_cpu(m, i);
    assert_non_null(c);
    return c;
}

struct mmusim_cpu_stats ts_stats(mmusim_machine *m, unsigned i)
{
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(ts_cpu(m, i), &s);
    return s;
}

uint64_t ts_clock(mmusim_machine *m, unsigned i)
{
    return mmusim_cpu_cycles(ts_cpu(m, i));
}

uint64_t ts_nreports(const mmusim_machine *m)
{
    return mmusim_machine_reports(m, NULL, 0);
}

uint64_t ts_boundary_after(uint64_t t0, uint64_t len, uint64_t at)
{
    if (at <= t0)
        return t0;
    return t0 + (at - t0 + len - 1) / len * len;
}

/* ---- what a step saw ---- */

void ts_take_snap(mmusim_cpu *cpu, struct ts_snap *s)
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

void ts_check_snap(const struct ts_snap *s, uint64_t clock, enum mmusim_context ctx, int in_int, int irqs_off,
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

/* ---- steps shared by the SMP tests ---- */

void ts_script_add(struct ts_script *s, enum ts_op op, uint64_t cycles, unsigned n)
{
    unsigned len = 0;
    while (s->prog[len].op != TS_OP_END)
        len++;
    assert_true(len + n < TS_MAX_STEPS);
    for (unsigned i = 0; i < n; i++) {
        s->prog[len + i].op = op;
        s->prog[len + i].n = cycles;
    }
}

enum mmusim_step ts_script_step(mmusim_cpu *cpu, void *arg)
{
    struct ts_script *s = arg;
    unsigned i = s->pc;
    ts_take_snap(cpu, &s->at[i]);
    if (s->prog[i].op == TS_OP_IRQ_OFF)
        mmusim_local_irq_disable(cpu);
    else if (s->prog[i].op == TS_OP_IRQ_ON)
        mmusim_local_irq_enable(cpu);
    mmusim_cpu_spend(cpu, s->prog[i].n);
    s->pc++;
    return s->prog[s->pc].op == TS_OP_END ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

enum mmusim_step ts_flush_all_once(mmusim_cpu *cpu, void *arg)
{
    struct ts_flusher *f = arg;
    if (f->phase++ == 0) {
        mmusim_cpu_spend(cpu, f->delay);
        f->called_at = mmusim_cpu_cycles(cpu);
        f->rc = mmusim_flush_tlb_all_smp(cpu);
        return MMUSIM_STEP_MORE;
    }
    f->resumed_at = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_DONE;
}

enum mmusim_step ts_handler_step(mmusim_cpu *cpu, void *arg)
{
    struct ts_handler *h = arg;
    if (!h->snap.taken)
        ts_take_snap(cpu, &h->snap);
    if (h->soft)
        h->rc = mmusim_raise_softirq(cpu, h->soft, h->soft_arg);
    mmusim_cpu_spend(cpu, h->spend);
    return MMUSIM_STEP_DONE;
}

enum mmusim_step ts_lock_step(mmusim_cpu *cpu, void *arg)
{
    struct ts_locker *t = arg;
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

enum mmusim_step ts_lock_atomic(mmusim_cpu *cpu, void *arg)
{
    struct ts_locker *t = arg;
    switch (t->phase++) {
    case 0:
        mmusim_cpu_spend(cpu, t->delay);
        t->rc_lock = mmusim_spin_lock(cpu, t->l);
        t->spin_from = mmusim_cpu_cycles(cpu);
        if (t->rc_lock == MMUSIM_PENDING)
            return MMUSIM_STEP_MORE; /* the step must return; the lock is ours when it is called again */
        t->phase++;
        /* fall through */
    case 1:
        t->acquired = mmusim_cpu_cycles(cpu);
        mmusim_cpu_spend(cpu, t->hold);
        t->rc_unlock = mmusim_spin_unlock(cpu, t->l);
        t->released = mmusim_cpu_cycles(cpu);
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

uint64_t ts_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
