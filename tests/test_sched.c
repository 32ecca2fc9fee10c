/*
 * The scheduler side of the cpu layer: the hooks and extension areas that
 * the layers above register (src/cpu/hooks.h), task ids, the scheduler tick
 * and preemption, cond_resched (include/mmusim/smp.h; docs/smp.md, "Hooks"
 * and "Tick and preemption").
 *
 * Cycle values are derived from the cost fields the machine holds
 * (tests/support.h gives the timing model), never written as numbers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "support.h"

#include <stdio.h>
#include <string.h>

#include "cpu/hooks.h"

#define MAX_EVENTS 512

static struct cpu_sys *part_of(mmusim_machine *m)
{
    struct cpu_sys *s = mmusim__cpu_part(ts_cpu(m, 0));
    assert_non_null(s);
    return s;
}

static mmusim_task *spawn(mmusim_machine *m, unsigned cpu, mmusim_step_fn fn, void *arg)
{
    return ts_spawn(m, cpu, 0, fn, arg);
}

/* ---- a recording layer: every hook call, with what the CPU looked like ---- */

enum ev_kind { EV_OUT, EV_IN, EV_HANDLER_END, EV_TASK_END, EV_FORK };

struct ev {
    enum ev_kind kind;
    int layer;
    int cpu;                /* -1: no CPU */
    unsigned task, parent;  /* task ids; parent for EV_FORK */
    unsigned current;       /* mmusim_cpu_current's id then */
    int irqs_off;
    enum mmusim_context ctx, kind_arg;
    unsigned preempt;
    uint64_t cycle;
};

struct log {
    struct ev ev[MAX_EVENTS];
    unsigned n;
};

struct layer {
    struct log *log;
    int id;
    size_t task_off;        /* its task extension area, for the fork hook */
};

static struct ev *rec(struct layer *l, enum ev_kind kind, mmusim_cpu *cpu, mmusim_task *t)
{
    assert_true(l->log->n < MAX_EVENTS);
    struct ev *e = &l->log->ev[l->log->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->layer = l->id;
    e->cpu = cpu ? (int)mmusim_cpu_id(cpu) : -1;
    e->task = mmusim_task_id(t);
    if (cpu) {
        e->current = mmusim_task_id(mmusim_cpu_current(cpu));
        e->irqs_off = mmusim_cpu_irqs_disabled(cpu);
        e->ctx = mmusim_cpu_context(cpu);
        e->preempt = mmusim_cpu_preempt_count(cpu);
        e->cycle = mmusim_cpu_cycles(cpu);
    }
    return e;
}

static void h_out(void *ctx, mmusim_cpu *cpu, mmusim_task *prev)
{
    rec(ctx, EV_OUT, cpu, prev);
}

static void h_in(void *ctx, mmusim_cpu *cpu, mmusim_task *next)
{
    rec(ctx, EV_IN, cpu, next);
}

static void h_handler_end(void *ctx, mmusim_cpu *cpu, enum mmusim_context kind)
{
    rec(ctx, EV_HANDLER_END, cpu, NULL)->kind_arg = kind;
}

static void h_task_end(void *ctx, mmusim_cpu *cpu, mmusim_task *t)
{
    rec(ctx, EV_TASK_END, cpu, t);
}

/* fork: records, and gives the child its parent's value + 1 (or 100 without a parent). */
static void h_fork(void *ctx, mmusim_cpu *cpu, mmusim_task *parent, mmusim_task *child)
{
    struct layer *l = ctx;
    rec(l, EV_FORK, cpu, child)->parent = mmusim_task_id(parent);
    if (l->task_off != (size_t)-1) {
        unsigned *c = mmusim__task_ext(child, l->task_off);
        assert_int_equal(*c, 0); /* zeroed before the hook */
        *c = parent ? *(unsigned *)mmusim__task_ext(parent, l->task_off) + 1 : 100;
    }
}

static void add_layer(mmusim_machine *m, struct layer *l, struct log *log, int id)
{
    struct mmusim__hooks h = {l, h_out, h_in, h_handler_end, h_task_end, h_fork};
    l->log = log;
    l->id = id;
    l->task_off = (size_t)-1;
    assert_int_equal(mmusim__hooks_register(part_of(m), &h), MMUSIM_OK);
}

/* The events of one layer, in order, as "kind:task" words: "in:1 end:1 out:1". */
static void events_of(const struct log *log, int layer, char *buf, size_t size)
{
    static const char *const names[] = {"out", "in", "hend", "end", "fork"};
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < log->n; i++) {
        const struct ev *e = &log->ev[i];
        if (e->layer != layer)
            continue;
        int w = snprintf(buf + len, size - len, "%s%s:%u", len ? " " : "", names[e->kind], e->task);
        assert_true(w > 0 && (size_t)w < size - len);
        len += (size_t)w;
    }
}

/* ---- steps ---- */

/* Spends `spend` cycles per step for `steps` steps, then ends. */
struct worker {
    unsigned steps, done;
    uint64_t spend;
    uint64_t first_at, last_at; /* clock when its first and last step began */
};

static enum mmusim_step work_step(mmusim_cpu *cpu, void *arg)
{
    struct worker *w = arg;
    if (w->done == 0)
        w->first_at = mmusim_cpu_cycles(cpu);
    w->last_at = mmusim_cpu_cycles(cpu);
    mmusim_cpu_spend(cpu, w->spend);
    return ++w->done == w->steps ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

/* Sleeps on q at its first step, ends at its second. */
struct sleeper {
    mmusim_wait_queue *q;
    unsigned phase;
};

static enum mmusim_step sleep_step(mmusim_cpu *cpu, void *arg)
{
    struct sleeper *s = arg;
    if (s->phase++ == 0) {
        assert_int_equal(mmusim_wait_queue_sleep(cpu, s->q), MMUSIM_PENDING);
        return MMUSIM_STEP_BLOCK;
    }
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step wake_step(mmusim_cpu *cpu, void *arg)
{
    unsigned woken = 0;
    assert_int_equal(mmusim_wake_up(cpu, arg, &woken), MMUSIM_OK);
    assert_int_equal(woken, 1);
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step handler_done(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

/* A hardirq handler that raises a softirq. */
static enum mmusim_step handler_raise(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    assert_int_equal(mmusim_raise_softirq(cpu, handler_done, NULL), MMUSIM_OK);
    return MMUSIM_STEP_DONE;
}

/* ==== 1. hooks ==== */

/*
 * Two tasks on one CPU, A (2 steps) then B (1 step): in:A, end:A, out:A,
 * in:B, end:B, out:B. switch_out runs with interrupts off and the outgoing
 * task current; switch_in with interrupts still off and the new task
 * current, after the switch is charged; task_end with the task current and
 * interrupts as its step left them (on).
 */
static void test_hooks_switch_points(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    const struct mmusim_costs *c = ts_costs(m);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct worker a = {2, 0, 1000, 0, 0}, b = {1, 0, 500, 0, 0};
    mmusim_task *ta = spawn(m, 0, work_step, &a);
    mmusim_task *tb = spawn(m, 0, work_step, &b);
    ts_run_all(m);

    char buf[256];
    events_of(&log, 0, buf, sizeof(buf));
    assert_string_equal(buf, "fork:1 fork:2 in:1 end:1 out:1 in:2 end:2 out:2");
    const struct ev *e = log.ev;
    /* fork outside a step: no CPU, no parent */
    assert_int_equal(e[0].cpu, -1);
    assert_int_equal(e[0].parent, 0);
    /* in:A after ctx_switch, irqs off, A current */
    assert_int_equal(e[2].cycle, c->ctx_switch);
    assert_int_equal(e[2].irqs_off, 1);
    assert_int_equal(e[2].current, mmusim_task_id(ta));
    assert_int_equal(e[2].ctx, MMUSIM_CTX_TASK);
    assert_int_equal(a.first_at, c->ctx_switch); /* irqs on again before the step: it ran at once */
    /* end:A: A current, interrupts as its step left them */
    assert_int_equal(e[3].cycle, c->ctx_switch + 2000);
    assert_int_equal(e[3].irqs_off, 0);
    assert_int_equal(e[3].current, mmusim_task_id(ta));
    /* out:A: irqs off, A still current */
    assert_int_equal(e[4].irqs_off, 1);
    assert_int_equal(e[4].current, mmusim_task_id(ta));
    assert_int_equal(e[4].cycle, c->ctx_switch + 2000);
    /* in:B */
    assert_int_equal(e[5].cycle, 2 * c->ctx_switch + 2000);
    assert_int_equal(e[5].irqs_off, 1);
    assert_int_equal(e[5].current, mmusim_task_id(tb));
    assert_int_equal(e[7].current, mmusim_task_id(tb));
    assert_false(mmusim_cpu_irqs_disabled(ts_cpu(m, 0)));
    assert_null(mmusim_cpu_current(ts_cpu(m, 0)));
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * A sleeps, B wakes it, A ends: in:A out:A (the block) in:B end:B out:B
 * in:A end:A out:A. Task states are as Linux has them at each point.
 */
static void test_hooks_block_and_wake(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    mmusim_wait_queue *q = NULL;
    assert_int_equal(mmusim_wait_queue_create(m, &q), MMUSIM_OK);
    struct sleeper s = {q, 0};
    spawn(m, 0, sleep_step, &s);
    spawn(m, 0, wake_step, q);
    ts_run_all(m);
    char buf[256];
    events_of(&log, 0, buf, sizeof(buf));
    assert_string_equal(buf, "fork:1 fork:2 in:1 out:1 in:2 end:2 out:2 in:1 end:1 out:1");
    for (unsigned i = 0; i < log.n; i++) {
        if (log.ev[i].kind == EV_OUT || log.ev[i].kind == EV_IN) {
            assert_int_equal(log.ev[i].irqs_off, 1);
            assert_int_equal(log.ev[i].current, log.ev[i].task);
        }
    }
    assert_int_equal(ts_stats(m, 0).context_switches, 3);
}

/*
 * Two layers: set-up hooks (fork, switch_in) in registration order,
 * tear-down hooks (task_end, switch_out, handler_end) in reverse.
 */
static void test_hooks_order_of_layers(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    static struct log log;
    struct layer l0, l1;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l0, &log, 0);
    add_layer(m, &l1, &log, 1);
    struct worker a = {1, 0, 100, 0, 0};
    spawn(m, 0, work_step, &a);
    assert_int_equal(mmusim_irq_at(m, 0, 50000, handler_done, NULL), MMUSIM_OK);
    ts_run_all(m);
    static const struct {
        enum ev_kind kind;
        int layer;
    } want[] = {
        {EV_FORK, 0}, {EV_FORK, 1}, {EV_IN, 0}, {EV_IN, 1}, {EV_TASK_END, 1}, {EV_TASK_END, 0},
        {EV_OUT, 1}, {EV_OUT, 0}, {EV_HANDLER_END, 1}, {EV_HANDLER_END, 0},
    };
    assert_int_equal(log.n, sizeof(want) / sizeof(want[0]));
    for (unsigned i = 0; i < log.n; i++) {
        assert_int_equal(log.ev[i].kind, want[i].kind);
        assert_int_equal(log.ev[i].layer, want[i].layer);
    }
}

/* Registration is closed once a task exists or a run has started; the table holds MMUSIM__MAX_HOOKS. */
static void test_hooks_registration_rules(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct cpu_sys *s = part_of(m);
    struct mmusim__hooks h = {NULL, NULL, NULL, NULL, NULL, NULL};
    size_t off;
    assert_int_equal(mmusim__hooks_register(NULL, &h), MMUSIM_EINVAL);
    assert_int_equal(mmusim__hooks_register(s, NULL), MMUSIM_EINVAL);
    for (unsigned i = 0; i < MMUSIM__MAX_HOOKS; i++)
        assert_int_equal(mmusim__hooks_register(s, &h), MMUSIM_OK);
    assert_int_equal(mmusim__hooks_register(s, &h), MMUSIM_EFULL);
    assert_int_equal(mmusim__task_ext_reserve(s, 0, &off), MMUSIM_EINVAL);
    assert_int_equal(mmusim__cpu_ext_reserve(s, 8, NULL), MMUSIM_EINVAL);
    struct worker w = {1, 0, 10, 0, 0};
    spawn(m, 0, work_step, &w);
    assert_int_equal(mmusim__task_ext_reserve(s, 8, &off), MMUSIM_ECLOSED);
    assert_int_equal(mmusim__cpu_ext_reserve(s, 8, &off), MMUSIM_ECLOSED);

    mmusim_machine *m2 = ts_machine(state, 1, NULL);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m2, 0, &r), MMUSIM_OK); /* nothing to do, but it ran */
    assert_int_equal(r.finished, 1);
    assert_int_equal(mmusim__hooks_register(part_of(m2), &h), MMUSIM_ECLOSED);
    assert_int_equal(mmusim__task_ext_reserve(part_of(m2), 8, &off), MMUSIM_ECLOSED);
    assert_int_equal(mmusim__cpu_ext_reserve(part_of(m2), 8, &off), MMUSIM_ECLOSED);
}

/*
 * handler_end fires for each kind of handler just before its frame is
 * popped: still in that context, its preempt_count offset still counted. A
 * hardirq at 10,000 on an idle CPU raises a softirq, which runs after it;
 * an NMI at 20,000.
 */
static void test_hooks_handler_end(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    assert_int_equal(mmusim_irq_at(m, 0, 10000, handler_raise, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 0, 20000, handler_done, NULL), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(log.n, 3);
    static const enum mmusim_context kinds[] = {MMUSIM_CTX_HARDIRQ, MMUSIM_CTX_SOFTIRQ, MMUSIM_CTX_NMI};
    static const unsigned counts[] = {MMUSIM_HARDIRQ_OFFSET, MMUSIM_SOFTIRQ_OFFSET,
                                      MMUSIM_NMI_OFFSET + MMUSIM_HARDIRQ_OFFSET};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(log.ev[i].kind, EV_HANDLER_END);
        assert_int_equal(log.ev[i].kind_arg, kinds[i]);
        assert_int_equal(log.ev[i].ctx, kinds[i]);
        assert_int_equal(log.ev[i].preempt, counts[i]);
        assert_int_equal(log.ev[i].cpu, 0);
        assert_int_equal(log.ev[i].current, 0); /* the CPU was idle */
    }
    assert_int_equal(log.ev[0].cycle, 10000 + ts_costs(m)->ipi_handler);
    assert_int_equal(mmusim_cpu_nesting(ts_cpu(m, 0)), 0);
}

/* An IPI's handler ends too (a hardirq): CPU0 flushes, CPU1 takes the IPI while idle. */
static enum mmusim_step flush_step(mmusim_cpu *cpu, void *arg)
{
    int *phase = arg;
    if ((*phase)++ == 0) {
        assert_int_equal(mmusim_flush_tlb_all_smp(cpu), MMUSIM_PENDING);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

static void test_hooks_handler_end_ipi(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    int phase = 0;
    spawn(m, 0, flush_step, &phase);
    ts_run_all(m);
    unsigned n = 0;
    for (unsigned i = 0; i < log.n; i++)
        if (log.ev[i].kind == EV_HANDLER_END) {
            n++;
            assert_int_equal(log.ev[i].cpu, 1);
            assert_int_equal(log.ev[i].kind_arg, MMUSIM_CTX_HARDIRQ);
        }
    assert_int_equal(n, 1);
}

/*
 * fork: a task created from a step has the stepping CPU and its current
 * task as parent; the hook can initialise the child's extension area from
 * the parent's. A (made outside a run: no parent, value 100) creates B on
 * CPU 1 from its step; B creates C from its own.
 */
struct forker {
    mmusim_machine *m;
    unsigned cpu_for_child;
    struct forker *child_args;
    mmusim_task *child;
};

static enum mmusim_step fork_step(mmusim_cpu *cpu, void *arg)
{
    struct forker *f = arg;
    (void)cpu;
    if (f->child_args)
        assert_int_equal(mmusim_task_create(f->m, f->cpu_for_child, 0, fork_step, f->child_args, &f->child),
                         MMUSIM_OK);
    return MMUSIM_STEP_DONE;
}

static void test_hooks_fork_parent(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    assert_int_equal(mmusim__task_ext_reserve(part_of(m), sizeof(unsigned), &l.task_off), MMUSIM_OK);
    struct forker fc = {m, 0, NULL, NULL}, fb = {m, 0, &fc, NULL}, fa = {m, 1, &fb, NULL};
    mmusim_task *ta = spawn(m, 0, fork_step, &fa);
    ts_run_all(m);
    assert_non_null(fa.child);
    assert_non_null(fb.child);
    unsigned forks = 0;
    for (unsigned i = 0; i < log.n; i++) {
        const struct ev *e = &log.ev[i];
        if (e->kind != EV_FORK)
            continue;
        forks++;
        if (e->task == mmusim_task_id(ta)) {
            assert_int_equal(e->cpu, -1);
            assert_int_equal(e->parent, 0);
        } else if (e->task == mmusim_task_id(fa.child)) {
            assert_int_equal(e->cpu, 0); /* created by A's step on CPU 0, for CPU 1 */
            assert_int_equal(e->parent, mmusim_task_id(ta));
            assert_int_equal(e->current, mmusim_task_id(ta));
        } else {
            assert_int_equal(e->task, mmusim_task_id(fb.child));
            assert_int_equal(e->cpu, 1);
            assert_int_equal(e->parent, mmusim_task_id(fa.child));
        }
    }
    assert_int_equal(forks, 3);
    assert_int_equal(*(unsigned *)mmusim__task_ext(ta, l.task_off), 100);
    assert_int_equal(*(unsigned *)mmusim__task_ext(fa.child, l.task_off), 101);
    assert_int_equal(*(unsigned *)mmusim__task_ext(fb.child, l.task_off), 102);
}

/* ==== 2. per-owner state ==== */

/* Ids 1, 2, 3 in creation order, per machine; 0 for NULL. */
static void test_task_ids(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL), *m2 = ts_machine(state, 1, NULL);
    struct worker w[4];
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < 4; i++) {
        w[i].steps = 1;
        w[i].spend = 10;
    }
    mmusim_task *a = spawn(m, 1, work_step, &w[0]);
    mmusim_task *b = spawn(m, 0, work_step, &w[1]);
    mmusim_task *c = spawn(m, 1, work_step, &w[2]);
    mmusim_task *d = spawn(m2, 0, work_step, &w[3]);
    assert_int_equal(mmusim_task_id(a), 1);
    assert_int_equal(mmusim_task_id(b), 2);
    assert_int_equal(mmusim_task_id(c), 3);
    assert_int_equal(mmusim_task_id(d), 1);
    assert_int_equal(mmusim_task_id(NULL), 0);
    ts_run_all(m);
    assert_int_equal(mmusim_task_id(c), 3); /* for the task's life, done included */
}

/*
 * Extension areas: two reservations per kind, aligned and disjoint; zeroed
 * in every task and every CPU; a write to one task's (CPU's) area is seen in
 * no other's.
 */
static void test_extension_areas(void **state)
{
    mmusim_machine *m = ts_machine(state, 3, NULL);
    struct cpu_sys *s = part_of(m);
    size_t t1, t2, c1, c2;
    const size_t align = _Alignof(max_align_t);
    assert_int_equal(mmusim__task_ext_reserve(s, 24, &t1), MMUSIM_OK);
    assert_int_equal(mmusim__task_ext_reserve(s, 100, &t2), MMUSIM_OK);
    assert_int_equal(mmusim__cpu_ext_reserve(s, 5, &c1), MMUSIM_OK);
    /* the first CPU area, written before the second reservation grows the blocks, keeps its value */
    *(unsigned char *)mmusim__cpu_ext(ts_cpu(m, 2), c1) = 0x5a;
    assert_int_equal(mmusim__cpu_ext_reserve(s, 64, &c2), MMUSIM_OK);
    assert_true(t2 >= t1 + 24 && c2 >= c1 + 5);
    assert_int_equal(t1 % align, 0);
    assert_int_equal(t2 % align, 0);
    assert_int_equal(c2 % align, 0);
    assert_int_equal(*(unsigned char *)mmusim__cpu_ext(ts_cpu(m, 2), c1), 0x5a);
    *(unsigned char *)mmusim__cpu_ext(ts_cpu(m, 2), c1) = 0;

    struct worker w[3];
    memset(w, 0, sizeof(w));
    mmusim_task *t[3];
    for (unsigned i = 0; i < 3; i++) {
        w[i].steps = 1;
        t[i] = spawn(m, i, work_step, &w[i]);
        unsigned char *a = mmusim__task_ext(t[i], t1), *b = mmusim__task_ext(t[i], t2);
        assert_int_equal((uintptr_t)a % align, 0);
        assert_int_equal((uintptr_t)b % align, 0);
        for (unsigned k = 0; k < 24; k++)
            assert_int_equal(a[k], 0);
        for (unsigned k = 0; k < 100; k++)
            assert_int_equal(b[k], 0);
        unsigned char *x = mmusim__cpu_ext(ts_cpu(m, i), c1), *y = mmusim__cpu_ext(ts_cpu(m, i), c2);
        for (unsigned k = 0; k < 5; k++)
            assert_int_equal(x[k], 0);
        for (unsigned k = 0; k < 64; k++)
            assert_int_equal(y[k], 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        memset(mmusim__task_ext(t[i], t1), (int)(0x10 + i), 24);
        memset(mmusim__task_ext(t[i], t2), (int)(0x20 + i), 100);
        memset(mmusim__cpu_ext(ts_cpu(m, i), c1), (int)(0x30 + i), 5);
        memset(mmusim__cpu_ext(ts_cpu(m, i), c2), (int)(0x40 + i), 64);
    }
    for (unsigned i = 0; i < 3; i++) {
        const unsigned char *a = mmusim__task_ext(t[i], t1), *b = mmusim__task_ext(t[i], t2);
        const unsigned char *x = mmusim__cpu_ext(ts_cpu(m, i), c1), *y = mmusim__cpu_ext(ts_cpu(m, i), c2);
        assert_int_equal(a[0], 0x10 + i);
        assert_int_equal(a[23], 0x10 + i);
        assert_int_equal(b[0], 0x20 + i);
        assert_int_equal(b[99], 0x20 + i);
        assert_int_equal(x[0], 0x30 + i);
        assert_int_equal(x[4], 0x30 + i);
        assert_int_equal(y[0], 0x40 + i);
        assert_int_equal(y[63], 0x40 + i);
    }
    ts_run_all(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_hooks_switch_points),
        TS_TEST(test_hooks_block_and_wake),
        TS_TEST(test_hooks_order_of_layers),
        TS_TEST(test_hooks_registration_rules),
        TS_TEST(test_hooks_handler_end),
        TS_TEST(test_hooks_handler_end_ipi),
        TS_TEST(test_hooks_fork_parent),
        TS_TEST(test_task_ids),
        TS_TEST(test_extension_areas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
