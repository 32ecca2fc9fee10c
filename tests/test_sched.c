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

/* ==== 3. the scheduler tick ==== */

/*
 * The tick timing model (docs/smp.md, "Tick and preemption"):
 *   - period P = cpu_mhz * 10^6 / HZ cycles; ticks fall on multiples of P;
 *   - a CPU takes ticks only while it has a task (current), with interrupts
 *     on, at its first step boundary at or after the tick's time; each costs
 *     tick_handler; the next is the first multiple of P after the one taken;
 *   - a CPU that picks a task after being idle restarts its tick at the first
 *     multiple of P after its clock.
 * The tests use steps of S cycles with ctx_switch, tick_handler and P all
 * multiples of S, so every multiple of P is a step boundary of a running
 * task and each tick is taken exactly at k * P.
 */

/* Which task ran, step by step, as a list of runs: A A B A -> {A, B, A}. */
struct runs {
    unsigned who[64];
    unsigned n;
};

/* A CPU-bound task: `steps` steps of `spend` cycles, with optional preemption or interrupts off for some steps. */
struct hog {
    unsigned tag;
    unsigned steps, done;
    uint64_t spend;
    struct runs *runs;
    unsigned preempt_off_at, preempt_on_at; /* 1-based step numbers; 0 = never */
    unsigned irq_off_at, irq_on_at;
    int resched;                            /* call cond_resched after the work of each step but the last */
    int rc[8];
    unsigned nrc;
    uint64_t first_at, last_step_at;
};

static enum mmusim_step hog_step(mmusim_cpu *cpu, void *arg)
{
    struct hog *h = arg;
    unsigned n = h->done + 1;
    if (h->runs && (h->runs->n == 0 || h->runs->who[h->runs->n - 1] != h->tag)) {
        assert_true(h->runs->n < 64);
        h->runs->who[h->runs->n++] = h->tag;
    }
    if (h->done == 0)
        h->first_at = mmusim_cpu_cycles(cpu);
    h->last_step_at = mmusim_cpu_cycles(cpu);
    if (n == h->preempt_off_at)
        mmusim_preempt_disable(cpu);
    if (n == h->irq_off_at)
        mmusim_local_irq_disable(cpu);
    mmusim_cpu_spend(cpu, h->spend);
    if (n == h->preempt_on_at)
        mmusim_preempt_enable(cpu);
    if (n == h->irq_on_at)
        mmusim_local_irq_enable(cpu);
    h->done = n;
    if (h->done == h->steps)
        return MMUSIM_STEP_DONE;
    if (h->resched) {
        int rc = mmusim_cond_resched(cpu);
        if (h->nrc < 8)
            h->rc[h->nrc++] = rc;
    }
    return MMUSIM_STEP_MORE;
}

static void hog_init(struct hog *h, unsigned tag, unsigned steps, uint64_t spend, struct runs *runs)
{
    memset(h, 0, sizeof(*h));
    h->tag = tag;
    h->steps = steps;
    h->spend = spend;
    h->runs = runs;
}

/* The tick period of m, as the model defines it. */
static uint64_t period_of(const mmusim_machine *m)
{
    const struct mmusim_config *cfg = mmusim_machine_config(m);
    return (uint64_t)cfg->costs.cpu_mhz * 1000000u / mmusim_config_hz(cfg);
}

/* The step length S of these tests: every cost the runs charge, and P, are multiples of it. */
#define S 800u

static void check_multiples(const mmusim_machine *m)
{
    const struct mmusim_costs *c = ts_costs(m);
    assert_int_equal(c->ctx_switch % S, 0);
    assert_int_equal(c->tick_handler % S, 0);
    assert_int_equal(period_of(m) % S, 0);
}

static const char *const hz1000[] = {"hz", "1000", NULL};

/*
 * One task on one CPU, 3.5 periods of work from the switch in: ticks at
 * P, 2P, 3P exactly (the next, 4P, falls after its end), each tick_handler
 * long, its handler_end (a hardirq) at k * P + tick_handler. The task ends
 * at ctx_switch + work + 3 * tick_handler.
 */
static void test_tick_count_and_cycles(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, hz1000);
    const struct mmusim_costs *c = ts_costs(m);
    check_multiples(m);
    const uint64_t P = period_of(m);
    assert_int_equal(P, (uint64_t)c->cpu_mhz * 1000u); /* 1 ms */
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct hog h;
    const unsigned n = (unsigned)(7 * P / 2 / S);
    hog_init(&h, 1, n, S, NULL);
    mmusim_task *t = spawn(m, 0, hog_step, &h);
    struct mmusim_run_result r = ts_run_all(m);

    uint64_t end = c->ctx_switch + (uint64_t)n * S + 3 * c->tick_handler;
    assert_true(end < 4 * P);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.ticks, 3);
    assert_int_equal(s.tick_cycles, 3 * (uint64_t)c->tick_handler);
    assert_int_equal(s.preemptions, 0);
    assert_int_equal(s.context_switches, 1);
    assert_int_equal(s.irqs, 0); /* ticks are counted apart from device interrupts */
    assert_int_equal(s.irq_entry_cycles, 0);
    assert_int_equal(mmusim_task_done_at(t), end);
    assert_int_equal(r.end_cycle, end);
    assert_int_equal(r.steps, n);
    unsigned k = 0;
    for (unsigned i = 0; i < log.n; i++) {
        if (log.ev[i].kind != EV_HANDLER_END)
            continue;
        k++;
        assert_int_equal(log.ev[i].kind_arg, MMUSIM_CTX_HARDIRQ);
        assert_int_equal(log.ev[i].cycle, k * P + c->tick_handler);
        assert_int_equal(log.ev[i].current, mmusim_task_id(t));
        assert_int_equal(log.ev[i].preempt, MMUSIM_HARDIRQ_OFFSET);
    }
    assert_int_equal(k, 3);
    /* the clock the machine reports agrees with the counters */
    assert_int_equal(s.compute_cycles + s.context_switch_cycles + s.tick_cycles, end);
}

/* The era's HZ: 250 for 2.6.32 (P = 9.6 M cycles on core2), 1000 for 5.11; two and a half periods: two ticks. */
static void test_tick_era_default_hz(void **state)
{
    static const char *const e5[] = {"era", "5.11", NULL};
    mmusim_machine *ms[2] = {ts_machine(state, 1, NULL), ts_machine(state, 1, e5)};
    assert_int_equal(mmusim_config_hz(mmusim_machine_config(ms[0])), 250);
    assert_int_equal(mmusim_config_hz(mmusim_machine_config(ms[1])), 1000);
    struct hog h[2];
    for (unsigned i = 0; i < 2; i++) {
        mmusim_machine *m = ms[i];
        check_multiples(m);
        const uint64_t P = period_of(m);
        hog_init(&h[i], 1, (unsigned)(5 * P / 2 / S), S, NULL);
        spawn(m, 0, hog_step, &h[i]);
        ts_run_all(m);
        assert_int_equal(ts_stats(m, 0).ticks, 2);
        assert_int_equal(ts_stats(m, 0).tick_cycles, 2 * (uint64_t)ts_costs(m)->tick_handler);
    }
}

/*
 * An idle CPU takes no tick (NO_HZ idle), and ticks are no work: a machine
 * without tasks finishes at once; one whose only task is done finishes.
 */
static void test_tick_idle_cpu_takes_none(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, hz1000);
    const uint64_t P = period_of(m);
    struct hog h;
    hog_init(&h, 1, (unsigned)(7 * P / 2 / S), S, NULL);
    spawn(m, 0, hog_step, &h);
    struct mmusim_run_result r = ts_run_all(m);
    assert_int_equal(ts_stats(m, 0).ticks, 3);
    assert_int_equal(ts_stats(m, 1).ticks, 0);
    assert_int_equal(ts_clock(m, 1), 0);
    assert_int_equal(r.end_cycle, ts_clock(m, 0));

    mmusim_machine *e = ts_machine(state, 2, hz1000);
    r = ts_run_all(e);
    assert_int_equal(r.end_cycle, 0);
    assert_int_equal(ts_stats(e, 0).ticks + ts_stats(e, 1).ticks, 0);
}

/*
 * A tick that cannot end a wait does not keep a stuck machine running: CPU 0
 * takes a lock and ends without releasing it; CPU 1 spins on it with
 * interrupts on. The run stops in deadlock, CPU 1 far before its first tick.
 */
struct grab {
    mmusim_spinlock *l;
    uint64_t delay;
    int phase, rc;
};

static enum mmusim_step grab_step(mmusim_cpu *cpu, void *arg)
{
    struct grab *g = arg;
    if (g->phase++ == 0) {
        mmusim_cpu_spend(cpu, g->delay);
        g->rc = mmusim_spin_lock(cpu, g->l);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE; /* the lock is never released */
}

static void test_tick_no_work_in_deadlock(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, hz1000);
    const uint64_t P = period_of(m);
    mmusim_spinlock *l = NULL;
    assert_int_equal(mmusim_spinlock_create(m, &l), MMUSIM_OK);
    struct grab a = {l, 0, 0, -1}, b = {l, 1000, 0, -1};
    spawn(m, 0, grab_step, &a);
    spawn(m, 1, grab_step, &b);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 100 * P, &r), MMUSIM_OK);
    assert_false(mmusim_is_error(a.rc)); /* taken, at once or at its turn in time order */
    assert_int_equal(b.rc, MMUSIM_PENDING);
    assert_int_equal(r.finished, 0);
    assert_int_equal(r.deadlock, 1);
    assert_true(r.end_cycle < P);
    assert_int_equal(ts_stats(m, 1).ticks, 0);
}

/*
 * Interrupts off mask the tick: a task turns them off at its first step and
 * on again at the end of the step that ends at 5P/2. The ticks of P and 2P
 * are one pending tick, taken at that boundary; the next is at 3P. Work of
 * 7P/2 in all: 2 ticks, not 3.
 */
static void test_tick_masked_by_irqs_off(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, hz1000);
    const struct mmusim_costs *c = ts_costs(m);
    check_multiples(m);
    const uint64_t P = period_of(m);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct hog h;
    hog_init(&h, 1, (unsigned)(7 * P / 2 / S), S, NULL);
    h.irq_off_at = 1;
    h.irq_on_at = (unsigned)((5 * P / 2 - c->ctx_switch) / S); /* its step ends at 5P/2 */
    spawn(m, 0, hog_step, &h);
    ts_run_all(m);
    assert_int_equal(ts_stats(m, 0).ticks, 2);
    unsigned k = 0;
    const uint64_t want[2] = {5 * P / 2 + c->tick_handler, 3 * P + c->tick_handler};
    for (unsigned i = 0; i < log.n; i++)
        if (log.ev[i].kind == EV_HANDLER_END) {
            assert_true(k < 2);
            assert_int_equal(log.ev[i].cycle, want[k++]);
        }
    assert_int_equal(k, 2);
}

/* ==== 4. preemption ==== */

/*
 * preempt=full, two CPU-bound tasks A and B on one CPU, N steps each. Every
 * tick ends the running task's slice (one tick long) and B or A is ready:
 * the task is switched out at k * P + tick_handler, goes to the tail of the
 * queue, and the other runs. A's first slice holds (P - ctx_switch) / S
 * steps, every later slice (P - tick_handler - ctx_switch) / S. With N =
 * 6,000 A ends in its third slice, B then runs its rest without a tick.
 */
static void test_preempt_full_switches_at_slice_end(void **state)
{
    static const char *const kv[] = {"hz", "1000", "preempt", "full", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    check_multiples(m);
    const uint64_t P = period_of(m), th = c->tick_handler, cs = c->ctx_switch;
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    const unsigned n = 6000;
    hog_init(&a, 1, n, S, &runs);
    hog_init(&b, 2, n, S, &runs);
    mmusim_task *ta = spawn(m, 0, hog_step, &a), *tb = spawn(m, 0, hog_step, &b);
    ts_run_all(m);

    const uint64_t first = (P - cs) / S, slice = (P - th - cs) / S;
    assert_true(n > first + slice && n - first - slice < slice && n > 2 * slice && n - 2 * slice < slice);
    uint64_t done_a = 4 * P + th + cs + (n - first - slice) * S;
    uint64_t done_b = done_a + cs + (n - 2 * slice) * S;
    assert_true(done_b < 5 * P);
    assert_int_equal(mmusim_task_done_at(ta), done_a);
    assert_int_equal(mmusim_task_done_at(tb), done_b);

    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.ticks, 4);
    assert_int_equal(s.preemptions, 4);
    assert_int_equal(s.context_switches, 6); /* A; four preemptions; B after A's end */
    assert_int_equal(s.context_switch_cycles, 6 * cs);
    assert_int_equal(s.yields, 0);
    assert_int_equal(runs.n, 6);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(runs.who[i], i % 2 ? 2u : 1u);

    char buf[512];
    events_of(&log, 0, buf, sizeof(buf));
    assert_string_equal(buf, "fork:1 fork:2 in:1 hend:0 out:1 in:2 hend:0 out:2 in:1 hend:0 out:1 in:2 hend:0 out:2 "
                             "in:1 end:1 out:1 in:2 end:2 out:2");
    unsigned k = 0;
    for (unsigned i = 0; i < log.n; i++) {
        const struct ev *e = &log.ev[i];
        if (e->kind != EV_OUT || k == 4)
            continue;
        k++;
        assert_int_equal(e->cycle, k * P + th); /* switched out right after the tick's return */
        assert_int_equal(e->irqs_off, 1);
        assert_int_equal(e->current, e->task);
        assert_int_equal(e->preempt, 0);
        assert_int_equal(log.ev[i + 1].kind, EV_IN);
        assert_int_equal(log.ev[i + 1].cycle, k * P + th + cs);
    }
    assert_int_equal(k, 4);
    assert_int_equal(ts_nreports(m), 0);
}

/* The same two tasks, preempt none or voluntary: no tick preemption; A runs to its end, then B. */
static void no_tick_preemption(void **state, const char *model)
{
    const char *const kv[] = {"hz", "1000", "preempt", model, NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 6000, S, &runs);
    hog_init(&b, 2, 6000, S, &runs);
    mmusim_task *ta = spawn(m, 0, hog_step, &a), *tb = spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_true(s.ticks >= 4);
    assert_int_equal(s.preemptions, 0);
    assert_int_equal(s.context_switches, 2);
    assert_int_equal(runs.n, 2);
    assert_int_equal(b.first_at, mmusim_task_done_at(ta) + c->ctx_switch);
    assert_true(mmusim_task_done_at(tb) > mmusim_task_done_at(ta));
}

static void test_preempt_none_no_tick_preemption(void **state)
{
    no_tick_preemption(state, "none");
}

static void test_preempt_voluntary_no_tick_preemption(void **state)
{
    no_tick_preemption(state, "voluntary");
}

static void test_preempt_auto_is_voluntary(void **state)
{
    no_tick_preemption(state, "auto");
}

/*
 * preempt=full, but A keeps preemption disabled from its first step to its
 * last: the ticks come (need_resched is set) but A is not switched out; B
 * runs after A's end. Likewise with interrupts off (no tick is even taken
 * while A runs).
 */
static void not_preempted(void **state, int irqs)
{
    static const char *const kv[] = {"hz", "1000", "preempt", "full", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 6000, S, &runs);
    hog_init(&b, 2, 100, S, &runs);
    if (irqs) {
        a.irq_off_at = 1;
        a.irq_on_at = 6000;
    } else {
        a.preempt_off_at = 1;
        a.preempt_on_at = 6000;
    }
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    mmusim_task *ta = spawn(m, 0, hog_step, &a);
    spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_int_equal(s.preemptions, 0);
    assert_int_equal(s.context_switches, 2);
    assert_int_equal(runs.n, 2);
    unsigned ticks_during_a = 0;
    for (unsigned i = 0; i < log.n; i++)
        if (log.ev[i].kind == EV_HANDLER_END && log.ev[i].cycle <= mmusim_task_done_at(ta))
            ticks_during_a++;
    assert_int_equal(ticks_during_a, irqs ? 0 : 2); /* 6000 steps of S: two periods and a bit */
    assert_int_equal(mmusim_cpu_preempt_count(ts_cpu(m, 0)), 0);
    assert_int_equal(ts_nreports(m), 0);
}

static void test_preempt_full_not_with_preempt_count(void **state)
{
    not_preempted(state, 0);
}

static void test_preempt_full_not_with_irqs_off(void **state)
{
    not_preempted(state, 1);
}

/*
 * need_resched waits for the first boundary that allows it: A disables
 * preemption at its first step and enables it at the end of the step that
 * ends at 3P/2. The tick at P ended its slice; A is switched out at 3P/2,
 * the boundary right after preempt_enable (preempt_schedule), not at 2P.
 */
static void test_preempt_full_at_preempt_enable(void **state)
{
    static const char *const kv[] = {"hz", "1000", "preempt", "full", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    check_multiples(m);
    const uint64_t P = period_of(m);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct hog a, b;
    hog_init(&a, 1, 6000, S, NULL);
    hog_init(&b, 2, 10, S, NULL);
    a.preempt_off_at = 1;
    a.preempt_on_at = (unsigned)((3 * P / 2 - c->ctx_switch - c->tick_handler) / S); /* ends at 3P/2 */
    spawn(m, 0, hog_step, &a);
    spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    const struct ev *out = NULL;
    for (unsigned i = 0; i < log.n && !out; i++)
        if (log.ev[i].kind == EV_OUT)
            out = &log.ev[i];
    assert_non_null(out);
    assert_int_equal(out->task, 1);
    assert_int_equal(out->cycle, 3 * P / 2);
    assert_int_equal(b.first_at, 3 * P / 2 + c->ctx_switch);
    assert_int_equal(ts_stats(m, 0).preemptions, 1);
}

/* ==== 5. cond_resched ==== */

/*
 * cond_resched() yields when should_resched(): the tick has ended the slice
 * and another task is ready (need_resched), in every preemption model. The
 * tests run at HZ 10,000 (period P = cpu_mhz x 100 cycles) so that a tick
 * falls inside a step of P cycles.
 */

/*
 * A (3 steps of P, cond_resched after each but the last) and B (2 steps of
 * S) on one CPU, preempt none or voluntary (the tick does not preempt). A's
 * first cond_resched, at ctx_switch + P, comes before any tick: OK. The
 * tick at P is taken at that boundary and sets need_resched (B is ready);
 * A's second step ends at cs + 2P + th and its cond_resched yields
 * (PENDING). The tick at 2P, due during that step, is taken at its end, then
 * A is switched out: B starts at cs + 2P + 2 th + cs, ends 2 S later, and A
 * comes back for its last step of P.
 */
static void cond_resched_yields_after_tick(void **state, const char *model)
{
    const char *const kv[] = {"preempt", model, "hz", "10000", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t cs = c->ctx_switch, th = c->tick_handler, P = period_of(m);
    assert_int_equal(P, (uint64_t)c->cpu_mhz * 100u);
    static struct log log;
    struct layer l;
    memset(&log, 0, sizeof(log));
    add_layer(m, &l, &log, 0);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 3, P, &runs);
    hog_init(&b, 2, 2, S, &runs);
    a.resched = 1;
    mmusim_task *ta = spawn(m, 0, hog_step, &a), *tb = spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    assert_int_equal(a.nrc, 2);
    assert_int_equal(a.rc[0], MMUSIM_OK);
    assert_int_equal(a.rc[1], MMUSIM_PENDING);
    assert_int_equal(runs.n, 3);
    assert_int_equal(b.first_at, cs + 2 * P + 2 * th + cs);
    assert_int_equal(mmusim_task_done_at(tb), 2 * cs + 2 * P + 2 * th + 2 * S);
    assert_int_equal(mmusim_task_done_at(ta), 3 * cs + 3 * P + 2 * th + 2 * S);
    struct mmusim_cpu_stats st = ts_stats(m, 0);
    assert_int_equal(st.yields, 1);
    assert_int_equal(st.preemptions, 0);
    assert_int_equal(st.ticks, 2);
    assert_int_equal(st.context_switches, 3);
    char buf[256];
    events_of(&log, 0, buf, sizeof(buf));
    assert_string_equal(buf, "fork:1 fork:2 in:1 hend:0 hend:0 out:1 in:2 end:2 out:2 in:1 end:1 out:1");
    assert_int_equal(ts_nreports(m), 0);
}

static void test_cond_resched_voluntary_yields_after_tick(void **state)
{
    cond_resched_yields_after_tick(state, "voluntary");
}

/* PREEMPT_NONE kernels have cond_resched too: it yields just the same. */
static void test_cond_resched_none_yields_after_tick(void **state)
{
    cond_resched_yields_after_tick(state, "none");
}

/*
 * preempt=full: the tick at P, taken at A's first boundary, preempts A
 * there (cs + P + th); its cond_resched calls never find need_resched (the
 * switch cleared it, and after B's end nothing else is ready): no yield.
 */
static void test_cond_resched_full_preempted_before_yield(void **state)
{
    static const char *const kv[] = {"preempt", "full", "hz", "10000", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t cs = c->ctx_switch, th = c->tick_handler, P = period_of(m);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 3, P, &runs);
    hog_init(&b, 2, 2, S, &runs);
    a.resched = 1;
    mmusim_task *tb = spawn(m, 0, hog_step, &a);
    tb = spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    assert_int_equal(a.rc[0], MMUSIM_OK);
    assert_int_equal(a.rc[1], MMUSIM_OK);
    assert_int_equal(b.first_at, cs + P + th + cs);
    assert_int_equal(mmusim_task_done_at(tb), 2 * cs + P + th + 2 * S);
    struct mmusim_cpu_stats st = ts_stats(m, 0);
    assert_int_equal(st.yields, 0);
    assert_int_equal(st.preemptions, 1);
}

/* Another task ready but no tick yet (steps of S, far shorter than a period): cond_resched never yields. */
static void test_cond_resched_before_tick_does_not_yield(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 5, S, &runs);
    hog_init(&b, 2, 2, S, &runs);
    a.resched = 1;
    spawn(m, 0, hog_step, &a);
    spawn(m, 0, hog_step, &b);
    ts_run_all(m);
    assert_int_equal(a.nrc, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(a.rc[i], MMUSIM_OK);
    assert_int_equal(runs.n, 2);
    assert_int_equal(ts_stats(m, 0).ticks, 0);
    assert_int_equal(ts_stats(m, 0).yields, 0);
}

/* Alone on its CPU (another task on another CPU does not count), cond_resched never yields, ticks or not. */
static void test_cond_resched_alone_does_not_yield(void **state)
{
    static const char *const kv[] = {"hz", "10000", NULL};
    mmusim_machine *m = ts_machine(state, 2, kv);
    const uint64_t P = period_of(m);
    struct hog a, b;
    hog_init(&a, 1, 5, P, NULL);
    hog_init(&b, 2, 5, P, NULL);
    a.resched = 1;
    spawn(m, 0, hog_step, &a);
    spawn(m, 1, hog_step, &b);
    ts_run_all(m);
    assert_int_equal(a.nrc, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(a.rc[i], MMUSIM_OK);
    assert_true(ts_stats(m, 0).ticks >= 4);
    assert_int_equal(ts_stats(m, 0).yields, 0);
    assert_int_equal(ts_stats(m, 0).context_switches, 1);
}

/*
 * The refusals: outside a run (ENOSTEP); a second pending call of the same
 * step (ESTEP); with preemption disabled or in a hardirq handler (a WARN
 * report and ECONTEXT); NULL (EINVAL). The first step spends a period, so
 * that the tick has set need_resched before the calls.
 */
struct misuse {
    int phase;
    uint64_t period;
    int rc_twice[2], rc_atomic, rc_irq;
};

static enum mmusim_step misuse_irq(mmusim_cpu *cpu, void *arg)
{
    struct misuse *u = arg;
    u->rc_irq = mmusim_cond_resched(cpu);
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step misuse_step(mmusim_cpu *cpu, void *arg)
{
    struct misuse *u = arg;
    switch (u->phase++) {
    case 0:
        mmusim_cpu_spend(cpu, u->period);
        return MMUSIM_STEP_MORE;
    case 1:
        mmusim_preempt_disable(cpu);
        u->rc_atomic = mmusim_cond_resched(cpu);
        mmusim_preempt_enable(cpu);
        return MMUSIM_STEP_MORE;
    case 2:
        u->rc_twice[0] = mmusim_cond_resched(cpu);
        u->rc_twice[1] = mmusim_cond_resched(cpu);
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

static void test_cond_resched_refusals(void **state)
{
    static const char *const kv[] = {"hz", "10000", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    assert_int_equal(mmusim_cond_resched(NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_cond_resched(ts_cpu(m, 0)), MMUSIM_ENOSTEP);
    struct misuse u;
    memset(&u, 0, sizeof(u));
    u.period = period_of(m);
    struct hog other;
    hog_init(&other, 2, 1, S, NULL);
    spawn(m, 0, misuse_step, &u);
    spawn(m, 0, hog_step, &other);
    assert_int_equal(mmusim_irq_at(m, 0, u.period / 2, misuse_irq, &u), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(u.rc_atomic, MMUSIM_ECONTEXT);
    assert_int_equal(u.rc_twice[0], MMUSIM_PENDING);
    assert_int_equal(u.rc_twice[1], MMUSIM_ESTEP);
    assert_int_equal(u.rc_irq, MMUSIM_ECONTEXT);
    struct mmusim_report rep[4];
    assert_int_equal(mmusim_machine_reports(m, rep, 4), 2);
    assert_int_equal(rep[0].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(rep[1].kind, MMUSIM_REPORT_WARN);
    assert_int_equal(ts_stats(m, 0).yields, 1);
}

/*
 * An interrupt taken between the yielding step and the switch runs first,
 * and may operate (the yield is the task's, not the handler's): A's first
 * step of P takes the tick after it (need_resched: B is ready); its second
 * step of P yields at its end, cs + 2P + th. A hardirq that arrived during
 * that step takes and releases a spinlock, the tick at 2P follows (it
 * arrived later), then A is switched out.
 */
struct irq_locker {
    mmusim_spinlock *l;
    int rc_lock, rc_unlock;
};

static enum mmusim_step irq_lock_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_locker *k = arg;
    k->rc_lock = mmusim_spin_lock(cpu, k->l);
    k->rc_unlock = mmusim_spin_unlock(cpu, k->l);
    return MMUSIM_STEP_DONE;
}

static void test_cond_resched_yield_after_interrupt(void **state)
{
    static const char *const kv[] = {"hz", "10000", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_costs *c = ts_costs(m);
    const uint64_t cs = c->ctx_switch, th = c->tick_handler, P = period_of(m);
    struct irq_locker k = {NULL, -1, -1};
    assert_int_equal(mmusim_spinlock_create(m, &k.l), MMUSIM_OK);
    struct runs runs = {{0}, 0};
    struct hog a, b;
    hog_init(&a, 1, 3, P, &runs);
    hog_init(&b, 2, 1, S, &runs);
    a.resched = 1;
    spawn(m, 0, hog_step, &a);
    spawn(m, 0, hog_step, &b);
    uint64_t irq_at = cs + P + th + P / 2;
    assert_true(irq_at < 2 * P);
    assert_int_equal(mmusim_irq_at(m, 0, irq_at, irq_lock_step, &k), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(a.rc[0], MMUSIM_OK);
    assert_int_equal(a.rc[1], MMUSIM_PENDING);
    assert_int_equal(k.rc_lock, MMUSIM_OK);
    assert_int_equal(k.rc_unlock, MMUSIM_OK);
    assert_int_equal(runs.n, 3);
    assert_int_equal(ts_stats(m, 0).yields, 1);
    assert_int_equal(b.first_at, cs + 2 * P + th + c->ipi_handler + 2 * c->lock_op + th + cs);
}

/* ==== 6. determinism ==== */

/*
 * Two machines from one configuration (preempt=full, HZ 1000, seeded device
 * interrupts on both CPUs, two hogs per CPU, one calling cond_resched) end
 * with identical counters and clocks.
 */
static void test_tick_deterministic(void **state)
{
    static const char *const kv[] = {"hz", "1000", "preempt", "full", "seed", "7", NULL};
    struct mmusim_cpu_stats s[2][2];
    uint64_t end[2];
    static struct hog h[2][4];
    for (unsigned k = 0; k < 2; k++) {
        mmusim_machine *m = ts_machine(state, 2, kv);
        for (unsigned c = 0; c < 2; c++) {
            assert_int_equal(mmusim_irq_random(m, c, 50000, 6000000, handler_done, NULL), MMUSIM_OK);
            for (unsigned j = 0; j < 2; j++) {
                struct hog *x = &h[k][2 * c + j];
                hog_init(x, j + 1, 4000 + 1000 * c, 700 + 100 * j, NULL);
                x->resched = j;
                spawn(m, c, hog_step, x);
            }
        }
        struct mmusim_run_result r = ts_run_all(m);
        end[k] = r.end_cycle;
        for (unsigned c = 0; c < 2; c++)
            s[k][c] = ts_stats(m, c);
        assert_true(s[k][0].ticks > 0 && s[k][0].preemptions > 0 && s[k][0].irqs > 0);
    }
    assert_int_equal(end[0], end[1]);
    assert_memory_equal(&s[0][0], &s[1][0], sizeof(s[0][0]));
    assert_memory_equal(&s[0][1], &s[1][1], sizeof(s[0][1]));
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
        TS_TEST(test_tick_count_and_cycles),
        TS_TEST(test_tick_era_default_hz),
        TS_TEST(test_tick_idle_cpu_takes_none),
        TS_TEST(test_tick_no_work_in_deadlock),
        TS_TEST(test_tick_masked_by_irqs_off),
        TS_TEST(test_preempt_full_switches_at_slice_end),
        TS_TEST(test_preempt_none_no_tick_preemption),
        TS_TEST(test_preempt_voluntary_no_tick_preemption),
        TS_TEST(test_preempt_auto_is_voluntary),
        TS_TEST(test_preempt_full_not_with_preempt_count),
        TS_TEST(test_preempt_full_not_with_irqs_off),
        TS_TEST(test_preempt_full_at_preempt_enable),
        TS_TEST(test_cond_resched_voluntary_yields_after_tick),
        TS_TEST(test_cond_resched_none_yields_after_tick),
        TS_TEST(test_cond_resched_full_preempted_before_yield),
        TS_TEST(test_cond_resched_before_tick_does_not_yield),
        TS_TEST(test_cond_resched_alone_does_not_yield),
        TS_TEST(test_cond_resched_refusals),
        TS_TEST(test_cond_resched_yield_after_interrupt),
        TS_TEST(test_tick_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
