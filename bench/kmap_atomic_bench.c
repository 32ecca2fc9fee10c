/*
 * kmap_atomic_bench — the kmap_atomic variants (slot-2.6.19, slot-2.6.36,
 * stack-2.6.37, local-5.11, heap) side by side on the same workloads, in
 * simulated time. Each variant runs on a machine of its own era (2.6.18,
 * 2.6.32, 2.6.37, 5.11, 2.6.37; --era overrides), same preset and CPUs.
 *
 * Scenarios (one machine each, fresh):
 *   copy_highpage  a task copies a highmem page to another through two
 *                  nested maps (KM_USER0 source, KM_USER1 destination in the
 *                  slot forms): map, map, 8 steps of 64 eight-byte reads and
 *                  writes (the whole page) with 128 cycles of plain work
 *                  each, unmap, unmap. The slot forms unmap KM_USER0 first
 *                  (2.6.18's and 2.6.32's copy_user_highpage), the others
 *                  LIFO (2.6.37 on). kmap_local (kmap_local_page) stands
 *                  for kmap_atomic on local-5.11.
 *   irq            the same while device interrupts (IRQF_DISABLED, mean gap
 *                  --irq-gap cycles) map a page (KM_BIO_SRC_IRQ) and read
 *                  it, and every other one raises a softirq that maps two
 *                  (KM_SOFTIRQ0, then KM_SKB_DATA_SOFTIRQ) across two steps.
 *   nesting        a task maps depth pages (1 .. the variant's limit, in
 *                  turn; distinct types in the slot forms), reads each, and
 *                  unmaps them LIFO.
 *   smp            irq on every CPU at once.
 *   ctxswitch      preempt=full, HZ 10000: a task holds its two mappings
 *                  across 32 steps of 2,000 cycles while another task on
 *                  the same CPU only wants to run. kmap_local is preempted
 *                  (clears and restores its slots: an INVLPG each); the
 *                  atomic forms hold preemption off until the unmap.
 *   ctxsleep       the same, and the task sleeps once per op, before the
 *                  17th step, until an interrupt 20,000 cycles later wakes it.
 *                  kmap_local sleeps holding both mappings (the switch-out
 *                  clears them, the switch-in restores them, the reads
 *                  after it are checked); the atomic forms may not sleep
 *                  in kmap_atomic, so they unmap both, sleep and map again.
 *   misuse-irq-type  an interrupt maps with KM_USER0 while the task holds it.
 *   misuse-order     KM_USER0 unmapped before KM_USER1 (not LIFO).
 *   misuse-addr      kunmap_atomic of the neighbouring window page.
 *   misuse-sleep     the task sleeps holding KM_USER0 (an interrupt wakes it
 *                    20,000 cycles later), then reads it again: "scheduling
 *                    while atomic", a BUG, for kmap_atomic (the sleep is
 *                    refused); allowed for kmap_local on local-5.11.
 *   Each misuse op is followed by a correct map, read and unmap of another
 *   page, which shows what the misuse left behind.
 *
 * Every page has a signature (word at offset o of frame pfn is pfn << 32 |
 * o, written with mmusim_phys_write); every read through a mapping is
 * checked, and so is the destination of each copy after its unmap: a
 * mismatch is a corrupted read.
 *
 * Deterministic: the same options and seed give byte-identical JSON
 * (tests/CMakeLists.txt, kmap_atomic_bench_determinism).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage[] =
    "usage: kmap_atomic_bench [options]\n"
    "Compares kmap_atomic variants (slot-2.6.19, slot-2.6.36, stack-2.6.37,\n"
    "local-5.11, heap), each on a machine of its own era, on copy_highpage, irq,\n"
    "nesting, smp, ctxswitch, ctxsleep and misuse scenarios, in simulated cycles.\n"
    "Rows outside misuse must have no IPI, no global flush, no corrupted read:\n"
    "the bench exits 1 otherwise. docs/results.md documents the fields.\n";

static uint64_t irq_gap = 6000;

static const struct bench_uopt options[] = {
    {"--irq-gap", "N: mean cycles between device interrupts in irq and smp (default 6000)", &irq_gap, 0,
     1000000000},
};

#define NV MMUSIM_KMAP_VARIANT_COUNT_
#define NSRC 64
#define NDST 16
#define WORDS 512u              /* eight-byte words in a page */
#define COPY_CHUNKS 8u
#define COPY_SPEND 128u         /* plain work per chunk */
#define CTX_CHUNKS 32u
#define CTX_SPEND 2000u
#define CTX_WORDS 8u
#define OTHER_SPEND 1000u       /* one step of the task that waits in ctxswitch */
#define SLEEP_AT (CTX_CHUNKS / 2) /* ctxsleep: the chunk before which the task sleeps */
#define SLEEP_GAP 20000u        /* cycles from the sleep to the interrupt that wakes it */
#define IRQ_SPEND 300u
#define MISUSE_TRIALS 4u
#define RUN_CHUNK 5000000u      /* cycles per mmusim_machine_run call */
#define DEFAULT_OPS 10000u

static const char *const era_of[NV] = {"2.6.18", "2.6.32", "2.6.37", "5.11", "2.6.37"};

enum scenario {
    S_COPY,
    S_IRQ,
    S_NEST,
    S_SMP,
    S_CTX,
    S_SLEEP,
    S_MIS_IRQ,
    S_MIS_ORDER,
    S_MIS_ADDR,
    S_MIS_SLEEP,
    S_COUNT
};
static const char *const scen_name[S_COUNT] = {"copy_highpage",   "irq",          "nesting",     "smp",
                                                "ctxswitch",       "ctxsleep",     "misuse-irq-type",
                                                "misuse-order",    "misuse-addr",  "misuse-sleep"};
static int is_misuse(enum scenario s)
{
    return s >= S_MIS_IRQ;
}

struct row {
    enum mmusim_kmap_variant v;
    enum scenario s;
    uint64_t ops, irq_ops;
    double mean;
    uint64_t p50, p99;
    uint64_t invlpg, global_flushes, ipis, tlb_misses, window_pages, tlb_footprint;
    uint64_t bugs, warns, corruptions, errors;
    uint64_t depth;               /* nesting: deepest nest */
    uint64_t switches;            /* context switches */
    uint64_t wait_p50, wait_p99, wait_max; /* ctxswitch: cycles the other task waited to run */
    uint64_t sleeps;              /* ctxsleep, misuse-sleep: sleeps the task went through */
    uint64_t switches_holding;    /* switches-out of the task while it held at least one mapping */
    uint64_t held_at_switch;      /* the mappings it held, summed over those switches */
    uint64_t switch_invlpg;       /* INVLPGs of the kmap_local switch-outs (ctxsw_clears) */
};

struct sim {
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    enum mmusim_kmap_variant v;
    enum scenario s;
    uint32_t win_lo, win_hi;
    unsigned char *touched;
    uint64_t src[NSRC], *dst; /* NDST destination pages per CPU: copies on different CPUs never share one */
    uint64_t *lat, *wait;
    size_t nlat, nwait, cap, wcap;
    uint64_t irq_ops, corruptions, errors, tlb_misses;
    enum mmusim_km_type types[MMUSIM_KM_TYPE_COUNT_];
    unsigned max_depth;
    unsigned tasks_left;
    int stop;
    mmusim_wait_queue *wq;            /* ctxsleep, misuse-sleep: where the task sleeps */
    int waking;                       /* the waker's wake_up is pending */
    uint64_t sleeps, switches_holding, held_at_switch;
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void push(uint64_t **a, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *a = realloc(*a, *cap * sizeof(**a));
        if (!*a) {
            fprintf(stderr, "kmap_atomic_bench: out of memory\n");
            exit(1);
        }
    }
    (*a)[(*n)++] = x;
}

static uint64_t sig(uint64_t pfn, unsigned word)
{
    return pfn << 32 | (uint64_t)word * 8u;
}

static void sign_page(struct sim *s, uint64_t pfn)
{
    uint64_t buf[WORDS];
    for (unsigned i = 0; i < WORDS; i++)
        buf[i] = sig(pfn, i);
    bench_check(mmusim_phys_write(s->m, pfn << 12, buf, sizeof(buf)), "phys_write");
}

static void note_access(struct sim *s, uint32_t va, const struct mmusim_access *a)
{
    if (va < s->win_lo || va >= s->win_hi)
        return;
    s->touched[(va - s->win_lo) >> 12] = 1;
    if (a->walked)
        s->tlb_misses++;
}

/* Read word `word` through va (the page's base) and check it is frame pfn's. */
static void rd(struct sim *s, mmusim_cpu *cpu, uint32_t va, uint64_t pfn, unsigned word)
{
    struct mmusim_access a;
    uint64_t x = 0;
    uint32_t at = va + word * 8u;
    if (mmusim_cpu_access(cpu, at, MMUSIM_ACC_READ, 8, &x, &a) != MMUSIM_OK || a.fault) {
        s->errors++;
        return;
    }
    note_access(s, at, &a);
    if (x != sig(pfn, word))
        s->corruptions++;
}

static void wr(struct sim *s, mmusim_cpu *cpu, uint32_t va, unsigned word, uint64_t x)
{
    struct mmusim_access a;
    uint32_t at = va + word * 8u;
    if (mmusim_cpu_access(cpu, at, MMUSIM_ACC_WRITE, 8, &x, &a) != MMUSIM_OK || a.fault) {
        s->errors++;
        return;
    }
    note_access(s, at, &a);
}

/* The variant's short-lived map: kmap_local on local-5.11, kmap_atomic otherwise. */
static int amap(struct sim *s, mmusim_cpu *cpu, uint64_t pfn, enum mmusim_km_type t, struct mmusim_kaddr *out)
{
    struct mmusim_page page = mmusim_page_of_pfn(s->m, pfn);
    if (s->v == MMUSIM_KMAP_LOCAL_5_11)
        return mmusim_kmap_local(cpu, s->k, page, out);
    return mmusim_kmap_atomic(cpu, s->k, page, t, out);
}

static int aunmap(struct sim *s, mmusim_cpu *cpu, struct mmusim_kaddr a, enum mmusim_km_type t)
{
    if (s->v == MMUSIM_KMAP_LOCAL_5_11)
        return mmusim_kunmap_local(cpu, s->k, a);
    return mmusim_kunmap_atomic(cpu, s->k, a, t);
}

/* A call the scenario does not expect to fail: outside misuse any failure is an error. */
static int ok(struct sim *s, int rc)
{
    if (rc == MMUSIM_OK)
        return 1;
    s->errors += !is_misuse(s->s);
    return 0;
}

static int slot_form(enum mmusim_kmap_variant v)
{
    return v == MMUSIM_KMAP_SLOT_2_6_19 || v == MMUSIM_KMAP_SLOT_2_6_36;
}

/* ---- the task ---- */

struct task {
    struct sim *s;
    uint64_t rng, target, done;
    unsigned phase;
    uint64_t t0;
    uint64_t pfn[MMUSIM_KM_TYPE_COUNT_ + 1];
    struct mmusim_kaddr a[MMUSIM_KM_TYPE_COUNT_ + 1];
    int held[MMUSIM_KM_TYPE_COUNT_ + 1];
    unsigned depth;
    int slept, remap;  /* ctxsleep and misuse-sleep: this op has slept; the atomic forms map again */
    int seen;          /* resumed is set */
    uint64_t resumed;  /* mmusim_task_resumed_at at the previous step */
};

static void finish_op(struct task *t, mmusim_cpu *cpu)
{
    push(&t->s->lat, &t->s->nlat, &t->s->cap, mmusim_cpu_cycles(cpu) - t->t0);
    t->done++;
    t->phase = 0;
    t->slept = 0;
}

static void unmap_held(struct task *t, mmusim_cpu *cpu, unsigned i, enum mmusim_km_type type)
{
    if (t->held[i])
        ok(t->s, aunmap(t->s, cpu, t->a[i], type));
    t->held[i] = 0;
}

/* ctxsleep, misuse-sleep: the interrupt that wakes the sleeping task (an I/O completion). */
static enum mmusim_step waker(mmusim_cpu *cpu, void *arg)
{
    struct sim *s = arg;
    if (s->waking) { /* the pending wake_up is done */
        s->waking = 0;
        return MMUSIM_STEP_DONE;
    }
    int rc = mmusim_wake_up(cpu, s->wq, NULL);
    if (rc == MMUSIM_PENDING) {
        s->waking = 1;
        return MMUSIM_STEP_MORE;
    }
    bench_check(rc, "wake_up");
    return MMUSIM_STEP_DONE;
}

/* The task sleeps on s->wq until an interrupt SLEEP_GAP cycles later wakes
 * it. Holding a kmap_atomic mapping the sleep is refused (a BUG: scheduling
 * while atomic) and the task goes on; the interrupt then wakes nobody. */
static enum mmusim_step sleep_now(struct task *t, mmusim_cpu *cpu)
{
    struct sim *s = t->s;
    bench_check(mmusim_irq_at_flags(s->m, mmusim_cpu_id(cpu), mmusim_cpu_cycles(cpu) + SLEEP_GAP, waker, s,
                                    MMUSIM_IRQF_DISABLED),
                "irq_at");
    int rc = mmusim_wait_queue_sleep(cpu, s->wq);
    if (rc == MMUSIM_PENDING) {
        s->sleeps++;
        return MMUSIM_STEP_BLOCK;
    }
    ok(s, rc);
    return MMUSIM_STEP_MORE;
}

/* copy_highpage (also irq, smp, ctxswitch, ctxsleep): chunks of words, with spend cycles each. */
static enum mmusim_step copy_step(struct task *t, mmusim_cpu *cpu, unsigned chunks, unsigned words, unsigned spend)
{
    struct sim *s = t->s;
    if (t->phase == 0) {
        if (t->done == t->target) {
            s->tasks_left--;
            return MMUSIM_STEP_DONE;
        }
        uint64_t r = next_rand(&t->rng);
        t->pfn[0] = s->src[r % NSRC];
        t->pfn[1] = s->dst[mmusim_cpu_id(cpu) * NDST + (r >> 16) % NDST];
        t->t0 = mmusim_cpu_cycles(cpu);
        t->held[0] = ok(s, amap(s, cpu, t->pfn[0], MMUSIM_KM_USER0, &t->a[0]));
        t->phase = 1;
        return MMUSIM_STEP_MORE;
    }
    if (t->phase == 1) {
        t->held[1] = ok(s, amap(s, cpu, t->pfn[1], MMUSIM_KM_USER1, &t->a[1]));
        t->phase = 2;
        return MMUSIM_STEP_MORE;
    }
    if (t->phase < 2 + chunks) {
        unsigned c = t->phase - 2, stride = WORDS / (chunks * words);
        if (s->s == S_SLEEP && c == SLEEP_AT && !t->slept) {
            /* kmap_local sleeps holding both mappings; the atomic forms may
             * not, so they drop them first (in their unmap order) and map the
             * pages again once woken. */
            if (s->v != MMUSIM_KMAP_LOCAL_5_11) {
                unmap_held(t, cpu, slot_form(s->v) ? 0 : 1, slot_form(s->v) ? MMUSIM_KM_USER0 : MMUSIM_KM_USER1);
                unmap_held(t, cpu, slot_form(s->v) ? 1 : 0, slot_form(s->v) ? MMUSIM_KM_USER1 : MMUSIM_KM_USER0);
                t->remap = 1;
            }
            t->slept = 1;
            return sleep_now(t, cpu);
        }
        if (t->remap) {
            t->held[0] = ok(s, amap(s, cpu, t->pfn[0], MMUSIM_KM_USER0, &t->a[0]));
            t->held[1] = ok(s, amap(s, cpu, t->pfn[1], MMUSIM_KM_USER1, &t->a[1]));
            t->remap = 0;
            return MMUSIM_STEP_MORE;
        }
        for (unsigned i = 0; i < words; i++) {
            unsigned w = (c * words + i) * stride;
            if (t->held[0])
                rd(s, cpu, t->a[0].va, t->pfn[0], w);
            if (t->held[1])
                wr(s, cpu, t->a[1].va, w, sig(t->pfn[0], w));
        }
        mmusim_cpu_spend(cpu, spend);
        t->phase++;
        return MMUSIM_STEP_MORE;
    }
    /* The slot forms' eras unmap KM_USER0 first; the stack forms unmap LIFO. */
    int user0_first = slot_form(s->v);
    if (t->phase == 2 + chunks) {
        if (user0_first)
            unmap_held(t, cpu, 0, MMUSIM_KM_USER0);
        else
            unmap_held(t, cpu, 1, MMUSIM_KM_USER1);
        t->phase++;
        return MMUSIM_STEP_MORE;
    }
    if (user0_first)
        unmap_held(t, cpu, 1, MMUSIM_KM_USER1);
    else
        unmap_held(t, cpu, 0, MMUSIM_KM_USER0);
    /* What reached the destination: the source's words, re-signed for the destination afterwards. */
    uint64_t x = 0;
    bench_check(mmusim_phys_read(s->m, t->pfn[1] << 12, &x, sizeof(x)), "phys_read");
    if (x != sig(t->pfn[0], 0))
        s->corruptions++;
    finish_op(t, cpu);
    return MMUSIM_STEP_MORE;
}

static enum mmusim_step nest_step(struct task *t, mmusim_cpu *cpu)
{
    struct sim *s = t->s;
    if (t->phase == 0) {
        if (t->done == t->target) {
            s->tasks_left--;
            return MMUSIM_STEP_DONE;
        }
        t->depth = 1 + (unsigned)(t->done % s->max_depth);
        t->t0 = mmusim_cpu_cycles(cpu);
        for (unsigned i = 0; i < t->depth; i++) {
            t->pfn[i] = s->src[(t->done + i) % NSRC];
            t->held[i] = ok(s, amap(s, cpu, t->pfn[i], s->types[i], &t->a[i]));
        }
        t->phase = 1;
        return MMUSIM_STEP_MORE;
    }
    if (t->phase == 1) {
        for (unsigned i = 0; i < t->depth; i++)
            if (t->held[i])
                rd(s, cpu, t->a[i].va, t->pfn[i], i);
        t->phase = 2;
        return MMUSIM_STEP_MORE;
    }
    for (unsigned i = t->depth; i-- > 0;)
        unmap_held(t, cpu, i, s->types[i]);
    finish_op(t, cpu);
    return MMUSIM_STEP_MORE;
}

static enum mmusim_step irq_user0(mmusim_cpu *cpu, void *arg);

/* The misuse op, then a correct map, read and unmap of another page. */
static enum mmusim_step misuse_step(struct task *t, mmusim_cpu *cpu)
{
    struct sim *s = t->s;
    switch (t->phase) {
    case 0:
        if (t->done == t->target) {
            s->tasks_left--;
            return MMUSIM_STEP_DONE;
        }
        t->pfn[0] = s->src[(2 * t->done) % NSRC];
        t->pfn[1] = s->src[(2 * t->done + 1) % NSRC];
        t->pfn[2] = s->src[(2 * t->done + 2) % NSRC];
        t->t0 = mmusim_cpu_cycles(cpu);
        t->held[0] = ok(s, amap(s, cpu, t->pfn[0], MMUSIM_KM_USER0, &t->a[0]));
        if (s->s == S_MIS_IRQ) /* taken at the boundary after this step */
            bench_check(mmusim_irq_at_flags(s->m, mmusim_cpu_id(cpu), mmusim_cpu_cycles(cpu), irq_user0, s,
                                            MMUSIM_IRQF_DISABLED),
                        "irq_at");
        if (s->s == S_MIS_ORDER)
            t->held[1] = ok(s, amap(s, cpu, t->pfn[1], MMUSIM_KM_USER1, &t->a[1]));
        t->phase = 1;
        return MMUSIM_STEP_MORE;
    case 1:
        if (t->held[0])
            rd(s, cpu, t->a[0].va, t->pfn[0], 1);
        if (s->s == S_MIS_ORDER && t->held[1])
            rd(s, cpu, t->a[1].va, t->pfn[1], 1);
        if (s->s == S_MIS_SLEEP && !t->slept) { /* sleep holding KM_USER0; read it again after */
            t->slept = 1;
            return sleep_now(t, cpu);
        }
        t->phase = 2;
        return MMUSIM_STEP_MORE;
    case 2:
        if (s->s == S_MIS_ORDER) { /* KM_USER0 first: not LIFO */
            if (t->held[0])
                (void)aunmap(s, cpu, t->a[0], MMUSIM_KM_USER0);
            if (t->held[1])
                (void)aunmap(s, cpu, t->a[1], MMUSIM_KM_USER1);
        } else if (s->s == S_MIS_ADDR && t->held[0]) { /* the neighbouring window page */
            struct mmusim_kaddr wrong = {t->a[0].va - 4096u};
            (void)aunmap(s, cpu, wrong, MMUSIM_KM_USER0);
        } else if (t->held[0]) {
            (void)aunmap(s, cpu, t->a[0], MMUSIM_KM_USER0);
        }
        t->held[0] = t->held[1] = 0;
        t->phase = 3;
        return MMUSIM_STEP_MORE;
    default: {
        /* The correct use that follows. */
        struct mmusim_kaddr a;
        if (amap(s, cpu, t->pfn[2], MMUSIM_KM_USER0, &a) == MMUSIM_OK) {
            rd(s, cpu, a.va, t->pfn[2], 2);
            (void)aunmap(s, cpu, a, MMUSIM_KM_USER0);
        }
        finish_op(t, cpu);
        return MMUSIM_STEP_MORE;
    }
    }
}

static enum mmusim_step task_step(mmusim_cpu *cpu, void *arg)
{
    struct task *t = arg;
    /* Switched out since its previous step (resumed at another cycle)? Then
     * it held, at that switch-out, what it holds now. */
    uint64_t resumed = mmusim_task_resumed_at(mmusim_cpu_current(cpu));
    if (t->seen && resumed != t->resumed) {
        unsigned held = 0;
        for (unsigned i = 0; i < MMUSIM_KM_TYPE_COUNT_ + 1; i++)
            held += t->held[i] != 0;
        if (held) {
            t->s->switches_holding++;
            t->s->held_at_switch += held;
        }
    }
    t->seen = 1;
    t->resumed = resumed;
    switch (t->s->s) {
    case S_COPY:
    case S_IRQ:
    case S_SMP:
        return copy_step(t, cpu, COPY_CHUNKS, WORDS / COPY_CHUNKS, COPY_SPEND);
    case S_CTX:
    case S_SLEEP:
        return copy_step(t, cpu, CTX_CHUNKS, CTX_WORDS, CTX_SPEND);
    case S_NEST:
        return nest_step(t, cpu);
    case S_MIS_IRQ:
    case S_MIS_ORDER:
    case S_MIS_ADDR:
    case S_MIS_SLEEP:
    case S_COUNT:
        break;
    }
    return misuse_step(t, cpu);
}

/* ctxswitch, ctxsleep: a task that only wants the CPU; records how long it waited between its steps. */
struct other {
    struct sim *s;
    uint64_t last_end;
};

static enum mmusim_step other_step(mmusim_cpu *cpu, void *arg)
{
    struct other *o = arg;
    if (o->s->tasks_left == 1) { /* the holder finished */
        o->s->tasks_left--;
        return MMUSIM_STEP_DONE;
    }
    uint64_t now = mmusim_cpu_cycles(cpu);
    if (o->last_end && now > o->last_end) /* it was switched out: how long it waited to run again */
        push(&o->s->wait, &o->s->nwait, &o->s->wcap, now - o->last_end);
    mmusim_cpu_spend(cpu, OTHER_SPEND);
    o->last_end = mmusim_cpu_cycles(cpu);
    return MMUSIM_STEP_MORE;
}

/* ---- interrupts ---- */

struct irqctx {
    struct sim *s;
    uint64_t rng, n;
    uint64_t pfn[2];
    struct mmusim_kaddr a[2];
    int held[2];
};

static enum mmusim_step softirq_step(mmusim_cpu *cpu, void *arg)
{
    struct irqctx *c = arg;
    struct sim *s = c->s;
    if (!c->held[0] && !c->held[1]) { /* first step: map two, read */
        uint64_t r = next_rand(&c->rng);
        c->pfn[0] = s->src[r % NSRC];
        c->pfn[1] = s->src[(r >> 20) % NSRC];
        c->held[0] = ok(s, amap(s, cpu, c->pfn[0], MMUSIM_KM_SOFTIRQ0, &c->a[0]));
        c->held[1] = ok(s, amap(s, cpu, c->pfn[1], MMUSIM_KM_SKB_DATA_SOFTIRQ, &c->a[1]));
        for (unsigned i = 0; i < 2; i++)
            if (c->held[i])
                rd(s, cpu, c->a[i].va, c->pfn[i], 3);
        s->irq_ops++;
        if (c->held[0] || c->held[1])
            return MMUSIM_STEP_MORE;
        return MMUSIM_STEP_DONE;
    }
    if (c->held[1])
        ok(s, aunmap(s, cpu, c->a[1], MMUSIM_KM_SKB_DATA_SOFTIRQ));
    if (c->held[0])
        ok(s, aunmap(s, cpu, c->a[0], MMUSIM_KM_SOFTIRQ0));
    c->held[0] = c->held[1] = 0;
    return MMUSIM_STEP_DONE;
}

struct irqsrc {
    struct irqctx hard, soft;
};

static enum mmusim_step irq_step(mmusim_cpu *cpu, void *arg)
{
    struct irqsrc *src = arg;
    struct irqctx *c = &src->hard;
    struct sim *s = c->s;
    if (s->stop)
        return MMUSIM_STEP_DONE;
    uint64_t pfn = s->src[next_rand(&c->rng) % NSRC];
    struct mmusim_kaddr a;
    if (ok(s, amap(s, cpu, pfn, MMUSIM_KM_BIO_SRC_IRQ, &a))) {
        for (unsigned w = 0; w < 4; w++)
            rd(s, cpu, a.va, pfn, 8 + w);
        ok(s, aunmap(s, cpu, a, MMUSIM_KM_BIO_SRC_IRQ));
    }
    s->irq_ops++;
    mmusim_cpu_spend(cpu, IRQ_SPEND);
    /* Every other interrupt raises a softirq, unless the last one still runs. */
    if ((++c->n & 1) == 0 && !src->soft.held[0] && !src->soft.held[1])
        bench_check(mmusim_raise_softirq(cpu, softirq_step, &src->soft), "raise_softirq");
    return MMUSIM_STEP_DONE;
}

/* misuse-irq-type: a handler that maps with KM_USER0, which the task holds. */
static enum mmusim_step irq_user0(mmusim_cpu *cpu, void *arg)
{
    struct sim *s = arg;
    uint64_t pfn = s->src[NSRC - 1];
    struct mmusim_kaddr a;
    if (amap(s, cpu, pfn, MMUSIM_KM_USER0, &a) == MMUSIM_OK) {
        rd(s, cpu, a.va, pfn, 4);
        (void)aunmap(s, cpu, a, MMUSIM_KM_USER0);
    }
    s->irq_ops++;
    return MMUSIM_STEP_DONE;
}

/* ---- one variant x scenario ---- */

struct bench {
    struct bench_opts o;
    unsigned cpus;
    uint64_t ops;
};

static void machine_for(const struct bench *b, enum mmusim_kmap_variant v, enum scenario s, mmusim_machine **m)
{
    struct mmusim_config c = b->o.cfg;
    bench_check(mmusim_config_set(&c, "era", b->o.era ? b->o.era : era_of[v]), "era");
    if (s == S_CTX || s == S_SLEEP) {
        bench_check(mmusim_config_set(&c, "preempt", "full"), "preempt");
        bench_check(mmusim_config_set(&c, "hz", "10000"), "hz");
    }
    bench_check(mmusim_machine_create(&c, m), "machine_create");
}

/* How deep the variant nests on CPU 0 without a BUG: probed on a machine of its own. */
static unsigned probe_depth(const struct bench *b, enum mmusim_kmap_variant v, enum mmusim_km_type *types)
{
    mmusim_machine *m;
    machine_for(b, v, S_NEST, &m);
    mmusim_kmap_layer *k;
    struct mmusim_kmap_opts ko;
    mmusim_kmap_opts_init(&ko, v);
    bench_check(mmusim_kmap_create(m, &ko, &k), "kmap_create");
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    unsigned n = 0;
    if (slot_form(v)) {
        /* Every type the era has, each its own slot (task context: no DEBUG, no context check). */
        for (unsigned t = 0; t < MMUSIM_KM_TYPE_COUNT_; t++) {
            uint64_t pfn;
            bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), "frame_alloc");
            struct mmusim_kaddr a;
            if (mmusim_kmap_atomic(cpu, k, mmusim_page_of_pfn(m, pfn), (enum mmusim_km_type)t, &a) == MMUSIM_OK)
                types[n++] = (enum mmusim_km_type)t;
        }
    } else if (v == MMUSIM_KMAP_STACK_2_6_37) {
        /* Without DEBUG_HIGHMEM 2.6.37 checks no overflow: the CPU's own slots are the limit. */
        n = l->kmap_slots_per_cpu;
    } else {
        for (n = 0; n < MMUSIM_KM_TYPE_COUNT_; n++) {
            uint64_t pfn;
            bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), "frame_alloc");
            struct mmusim_kaddr a;
            struct mmusim_page page = mmusim_page_of_pfn(m, pfn);
            int rc = v == MMUSIM_KMAP_LOCAL_5_11 ? mmusim_kmap_local(cpu, k, page, &a)
                                                  : mmusim_kmap_atomic(cpu, k, page, MMUSIM_KM_USER0, &a);
            if (rc != MMUSIM_OK)
                break;
        }
    }
    if (n > MMUSIM_KM_TYPE_COUNT_)
        n = MMUSIM_KM_TYPE_COUNT_;
    if (!slot_form(v))
        for (unsigned i = 0; i < n; i++)
            types[i] = MMUSIM_KM_USER0; /* ignored by these variants */
    mmusim_machine_destroy(m);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The exact p-th percentile (nearest rank) of a sorted array. */
static uint64_t pct(const uint64_t *a, size_t n, unsigned p)
{
    if (!n)
        return 0;
    size_t r = (n * p + 99) / 100;
    return a[r ? r - 1 : 0];
}

static struct row run(const struct bench *b, enum mmusim_kmap_variant v, enum scenario sc)
{
    struct sim s;
    memset(&s, 0, sizeof(s));
    s.v = v;
    s.s = sc;
    machine_for(b, v, sc, &s.m);
    struct mmusim_kmap_opts ko;
    mmusim_kmap_opts_init(&ko, v);
    bench_check(mmusim_kmap_create(s.m, &ko, &s.k), "kmap_create");
    const struct mmusim_layout *l = mmusim_machine_layout(s.m);
    s.win_lo = mmusim_fix_to_virt(l, l->fix_kmap_end);
    s.win_hi = mmusim_fix_to_virt(l, l->fix_kmap_begin) + 4096u;
    s.touched = calloc((s.win_hi - s.win_lo) >> 12, 1);
    for (unsigned i = 0; i < NSRC; i++) {
        bench_check(mmusim_frame_alloc(s.m, MMUSIM_ZONE_HIGHMEM, &s.src[i]), "frame_alloc");
        sign_page(&s, s.src[i]);
    }
    unsigned ncpu = mmusim_machine_ncpus(s.m);
    s.dst = calloc((size_t)NDST * ncpu, sizeof(*s.dst));
    for (unsigned i = 0; i < NDST * ncpu; i++) {
        bench_check(mmusim_frame_alloc(s.m, MMUSIM_ZONE_HIGHMEM, &s.dst[i]), "frame_alloc");
        sign_page(&s, s.dst[i]);
    }
    unsigned active = sc == S_SMP ? ncpu : 1;
    if (sc == S_NEST)
        s.max_depth = probe_depth(b, v, s.types);

    struct task *tasks = calloc(active, sizeof(*tasks));
    struct irqsrc *irqs = calloc(active, sizeof(*irqs));
    struct other other = {&s, 0};
    uint64_t target = b->ops;
    if (sc == S_CTX || sc == S_SLEEP)
        target = (b->ops + 9) / 10; /* each holds for ~64,000 cycles */
    if (sc == S_SLEEP || sc == S_MIS_SLEEP)
        bench_check(mmusim_wait_queue_create(s.m, &s.wq), "wait_queue_create");
    if (is_misuse(sc))
        target = MISUSE_TRIALS;
    for (unsigned c = 0; c < active; c++) {
        tasks[c].s = &s;
        tasks[c].rng = 0x51ed270b27ull * (c + 1) + (uint64_t)v;
        tasks[c].target = target;
        mmusim_task *tk;
        bench_check(mmusim_task_create(s.m, c, 0, task_step, &tasks[c], &tk), "task_create");
        s.tasks_left++;
        if (sc == S_IRQ || sc == S_SMP) {
            irqs[c].hard.s = irqs[c].soft.s = &s;
            irqs[c].hard.rng = 0xabcdefull * (c + 1);
            irqs[c].soft.rng = 0x123457ull * (c + 1);
            bench_check(mmusim_irq_random_flags(s.m, c, irq_gap ? irq_gap : 1, UINT64_C(1) << 60, irq_step, &irqs[c],
                                                MMUSIM_IRQF_DISABLED),
                        "irq_random");
        }
    }
    if (sc == S_CTX || sc == S_SLEEP) {
        mmusim_task *tk;
        bench_check(mmusim_task_create(s.m, 0, 0, other_step, &other, &tk), "task_create");
        s.tasks_left++;
    }

    struct mmusim_cpu_stats c0, c1;
    mmusim_machine_stats(s.m, &c0);
    struct mmusim_run_result r;
    uint64_t limit = 0;
    while (s.tasks_left > 0) {
        limit += RUN_CHUNK;
        bench_check(mmusim_machine_run(s.m, limit, &r), "machine_run");
        if (r.deadlock || (r.finished && s.tasks_left)) {
            fprintf(stderr, "kmap_atomic_bench: %s/%s: the run %s\n", mmusim_kmap_variant_name(v), scen_name[sc],
                    r.deadlock ? "deadlocked" : "ended early");
            exit(1);
        }
    }
    s.stop = 1;
    mmusim_machine_stats(s.m, &c1);

    struct row w;
    memset(&w, 0, sizeof(w));
    w.v = v;
    w.s = sc;
    w.ops = s.nlat;
    w.irq_ops = s.irq_ops;
    qsort(s.lat, s.nlat, sizeof(*s.lat), cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < s.nlat; i++)
        sum += s.lat[i];
    w.mean = s.nlat ? (double)sum / (double)s.nlat : 0;
    w.p50 = pct(s.lat, s.nlat, 50);
    w.p99 = pct(s.lat, s.nlat, 99);
    w.invlpg = c1.invlpg - c0.invlpg;
    w.global_flushes = c1.global_flushes - c0.global_flushes;
    w.ipis = c1.ipis_sent - c0.ipis_sent;
    w.bugs = c1.bugs - c0.bugs;
    w.warns = c1.warns - c0.warns;
    w.switches = c1.context_switches - c0.context_switches;
    w.tlb_misses = s.tlb_misses;
    w.corruptions = s.corruptions;
    w.errors = s.errors;
    w.depth = s.max_depth;
    w.sleeps = s.sleeps;
    w.switches_holding = s.switches_holding;
    w.held_at_switch = s.held_at_switch;
    struct mmusim_kmap_stats ks;
    bench_check(mmusim_kmap_stats(s.k, -1, &ks), "kmap_stats");
    w.switch_invlpg = ks.ctxsw_clears;
    for (uint32_t p = 0; p < (s.win_hi - s.win_lo) >> 12; p++)
        w.window_pages += s.touched[p];
    if (s.nwait) {
        qsort(s.wait, s.nwait, sizeof(*s.wait), cmp_u64);
        w.wait_p50 = pct(s.wait, s.nwait, 50);
        w.wait_p99 = pct(s.wait, s.nwait, 99);
        w.wait_max = s.wait[s.nwait - 1];
    }
    /* The window's TLB footprint: dtlb.4k entries that an INVLPG of every window page drops. */
    for (unsigned c = 0; c < ncpu; c++) {
        mmusim_cpu *cpu = mmusim_machine_cpu(s.m, c);
        struct mmusim_tlb_stats before, after;
        bench_check(mmusim_cpu_tlb_stats(cpu, MMUSIM_TLB_DTLB_4K, &before), "tlb_stats");
        for (uint32_t va = s.win_lo; va < s.win_hi; va += 4096u)
            (void)mmusim_flush_tlb_one(cpu, va);
        bench_check(mmusim_cpu_tlb_stats(cpu, MMUSIM_TLB_DTLB_4K, &after), "tlb_stats");
        w.tlb_footprint += before.valid - after.valid;
    }
    free(s.lat);
    free(s.wait);
    free(s.touched);
    free(s.dst);
    free(tasks);
    free(irqs);
    mmusim_machine_destroy(s.m);
    return w;
}

/* ---- output ---- */

/* Per switch-out while holding: INVLPGs of the switch-outs, mappings held (0 without such a switch). */
static double per_switch(uint64_t x, const struct row *w)
{
    return w->switches_holding ? (double)x / (double)w->switches_holding : 0;
}

static void json_row(FILE *f, const struct row *w, int first)
{
    fprintf(f,
            "%s\n    {\"variant\": \"%s\", \"scenario\": \"%s\", \"ops\": %llu, \"irq_ops\": %llu, "
            "\"cycles_per_op\": {\"mean\": %s, \"p50\": %llu, \"p99\": %llu}, \"invlpg\": %llu, "
            "\"global_flushes\": %llu, \"ipis\": %llu, \"tlb_misses\": %llu, \"window_pages\": %llu, "
            "\"tlb_footprint\": %llu, \"context_switches\": %llu, \"depth\": %llu, "
            "\"wait\": {\"p50\": %llu, \"p99\": %llu, \"max\": %llu}, \"sleeps\": %llu, "
            "\"switches_holding\": %llu, \"held_per_switch\": %.2f, \"switch_invlpg\": %llu, "
            "\"invlpg_per_switch\": %.2f, \"bugs\": %llu, \"warns\": %llu, \"corruptions\": %llu}",
            first ? "" : ",", mmusim_kmap_variant_name(w->v), scen_name[w->s], (unsigned long long)w->ops,
            (unsigned long long)w->irq_ops, bench_jnum(w->mean, 1), (unsigned long long)w->p50,
            (unsigned long long)w->p99, (unsigned long long)w->invlpg, (unsigned long long)w->global_flushes,
            (unsigned long long)w->ipis, (unsigned long long)w->tlb_misses, (unsigned long long)w->window_pages,
            (unsigned long long)w->tlb_footprint, (unsigned long long)w->switches, (unsigned long long)w->depth,
            (unsigned long long)w->wait_p50, (unsigned long long)w->wait_p99, (unsigned long long)w->wait_max,
            (unsigned long long)w->sleeps, (unsigned long long)w->switches_holding, per_switch(w->held_at_switch, w),
            (unsigned long long)w->switch_invlpg, per_switch(w->switch_invlpg, w), (unsigned long long)w->bugs,
            (unsigned long long)w->warns, (unsigned long long)w->corruptions);
}

static void write_csv(const char *path, const struct row *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", bench_program(), path, strerror(errno));
        exit(1);
    }
    fprintf(f, "variant,scenario,ops,irq_ops,cycles_mean,cycles_p50,cycles_p99,invlpg,global_flushes,ipis,"
               "tlb_misses,window_pages,tlb_footprint,context_switches,depth,wait_p50,wait_p99,wait_max,sleeps,"
               "switches_holding,held_per_switch,switch_invlpg,invlpg_per_switch,bugs,warns,corruptions\n");
    for (size_t i = 0; i < n; i++) {
        const struct row *w = &rows[i];
        fprintf(f,
                "%s,%s,%llu,%llu,%.1f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.2f,"
                "%llu,%.2f,%llu,%llu,%llu\n",
                mmusim_kmap_variant_name(w->v), scen_name[w->s], (unsigned long long)w->ops,
                (unsigned long long)w->irq_ops, w->mean, (unsigned long long)w->p50, (unsigned long long)w->p99,
                (unsigned long long)w->invlpg, (unsigned long long)w->global_flushes, (unsigned long long)w->ipis,
                (unsigned long long)w->tlb_misses, (unsigned long long)w->window_pages,
                (unsigned long long)w->tlb_footprint, (unsigned long long)w->switches, (unsigned long long)w->depth,
                (unsigned long long)w->wait_p50, (unsigned long long)w->wait_p99, (unsigned long long)w->wait_max,
                (unsigned long long)w->sleeps, (unsigned long long)w->switches_holding,
                per_switch(w->held_at_switch, w), (unsigned long long)w->switch_invlpg,
                per_switch(w->switch_invlpg, w), (unsigned long long)w->bugs, (unsigned long long)w->warns,
                (unsigned long long)w->corruptions);
    }
    bench_close(f, path);
}

static void summary(const struct row *rows, size_t n)
{
    printf("\nSummary\n");
    /* Local INVLPGs per map over the rows outside misuse; the fewest wins (ties named together). */
    double inv[NV] = {0}, maps[NV] = {0};
    uint64_t foot[NV] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct row *w = &rows[i];
        if (is_misuse(w->s))
            continue;
        inv[w->v] += (double)w->invlpg;
        /* ctxsleep: the atomic forms map their pages again after each sleep. */
        uint64_t per_op = w->s == S_SLEEP && w->v != MMUSIM_KMAP_LOCAL_5_11 ? 4 : 2;
        maps[w->v] += (double)(w->s == S_NEST ? w->ops * (w->depth + 1) / 2 : per_op * w->ops) + (double)w->irq_ops * 1.5;
        if (w->s == S_COPY)
            foot[w->v] = w->tlb_footprint;
    }
    double least = 0, most = 0;
    for (unsigned v = 0; v < NV; v++)
        if (maps[v]) {
            double r = inv[v] / maps[v];
            if (least == 0 || r < least)
                least = r;
            if (r > most)
                most = r;
        }
    /* Within half a percent the variants tie: no "(least)" label then, as
     * it would only name the first of equals. */
    int tie = most <= least * 1.005;
    printf("- local INVLPG per map (about), all rows outside misuse:");
    for (unsigned v = 0; v < NV; v++)
        if (maps[v])
            printf(" %s %.2f%s", mmusim_kmap_variant_name((enum mmusim_kmap_variant)v), inv[v] / maps[v],
                   !tie && inv[v] / maps[v] <= least * 1.001 ? " (least)" : "");
    if (tie)
        printf(" (a tie)");
    printf("\n  No IPI, no global flush, no corrupted read outside misuse (checked). After a copy,\n"
           "  slot-2.6.19 leaves %llu window entries in the DTLB (its unmap does not flush); the others %llu.\n",
           (unsigned long long)foot[MMUSIM_KMAP_SLOT_2_6_19], (unsigned long long)foot[MMUSIM_KMAP_SLOT_2_6_36]);
    for (size_t i = 0; i < n; i++) {
        const struct row *w = &rows[i];
        if (w->s != S_CTX && w->s != S_SLEEP)
            continue;
        printf("- %-9s %-13s the other task waits up to %llu cycles (p99 %llu); ", scen_name[w->s],
               mmusim_kmap_variant_name(w->v), (unsigned long long)w->wait_max, (unsigned long long)w->wait_p99);
        if (w->switches_holding)
            printf("%.3g INVLPG per switch while holding %.3g mappings (%llu such switches of %llu%s)\n",
                   per_switch(w->switch_invlpg, w), per_switch(w->held_at_switch, w),
                   (unsigned long long)w->switches_holding, (unsigned long long)w->switches,
                   w->s == S_SLEEP ? ", sleeps included" : "");
        else
            printf("no switch while holding a mapping (%llu switches%s)\n", (unsigned long long)w->switches,
                   w->s == S_SLEEP ? ", mappings dropped before each sleep" : "");
    }
    printf("- misuse (BUG/WARN = detected; corrupt = wrong bytes read, undetected unless a BUG/WARN too):\n");
    for (enum scenario sc = S_MIS_IRQ; sc < S_COUNT; sc++) {
        printf("  %-16s", scen_name[sc]);
        for (size_t i = 0; i < n; i++) {
            if (rows[i].s != sc)
                continue;
            char what[64];
            snprintf(what, sizeof(what), "%s%s%s%s", rows[i].bugs ? "BUG " : "", rows[i].warns ? "WARN " : "",
                     rows[i].corruptions ? "corrupt " : "",
                     !rows[i].bugs && !rows[i].warns && !rows[i].corruptions ? "harmless " : "");
            what[strlen(what) - 1] = '\0';
            printf(" %s: %s;", mmusim_kmap_variant_name(rows[i].v), what);
        }
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    struct bench b;
    bench_parse_ext(argc, argv, usage, options, sizeof(options) / sizeof(options[0]), &b.o);
    if (!b.o.cpus)
        bench_check(mmusim_config_set(&b.o.cfg, "cpus", "4"), "cpus");
    b.cpus = b.o.cfg.ncpus;
    b.ops = b.o.ops ? b.o.ops : DEFAULT_OPS;

    /* Row i = v * S_COUNT + scenario; with --shard only this shard's run,
     * with --merge they come from the shard files (bench/common.h). */
    struct row rows[NV * S_COUNT];
    memset(rows, 0, sizeof(rows));
    const size_t n = NV * S_COUNT;
    if (b.o.merge_files)
        bench_merge_read(&b.o, "kmap_atomic_bench", rows, n, sizeof(rows[0]));
    else
        for (size_t i = 0; i < n; i++) {
            if (bench_shard_mine(&b.o, i))
                rows[i] = run(&b, (enum mmusim_kmap_variant)(i / S_COUNT), (enum scenario)(i % S_COUNT));
            bench_progress("rows", i + 1, n);
        }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const struct row w = rows[i];
        if (!bench_shard_mine(&b.o, i) || is_misuse(w.s))
            continue;
        if (w.ipis || w.global_flushes || w.corruptions || w.errors || w.bugs) {
            fprintf(stderr,
                    "%s: %s/%s: %llu IPIs, %llu global flushes, %llu corrupted reads, "
                    "%llu failed calls, %llu BUGs outside misuse\n",
                    bench_program(), mmusim_kmap_variant_name(w.v), scen_name[w.s], (unsigned long long)w.ipis,
                    (unsigned long long)w.global_flushes, (unsigned long long)w.corruptions,
                    (unsigned long long)w.errors, (unsigned long long)w.bugs);
            bad = 1;
        }
    }
    if (b.o.shard_n) {
        bench_shard_write(&b.o, "kmap_atomic_bench", rows, n, sizeof(rows[0]));
        return bad;
    }
    if (b.o.csv)
        write_csv(b.o.csv, rows, n);
    if (b.o.json) {
        bench_json_header(stdout, &b.o, "kmap_atomic_bench");
        printf("  \"config\": {\"bench\": \"kmap_atomic_bench\", \"preset\": \"%s\", \"cpus\": %u, \"pae\": %d, "
               "\"era\": \"%s\", \"seed\": %llu, \"ops\": %llu, \"irq_gap\": %llu},\n  \"results\": [",
               mmusim_preset_name(b.o.cfg.preset), b.cpus, b.o.cfg.paging == MMUSIM_PAGING_PAE ? 1 : 0, b.o.era ? b.o.era : "own",
               (unsigned long long)b.o.cfg.seed, (unsigned long long)b.ops, (unsigned long long)irq_gap);
        for (size_t i = 0; i < n; i++)
            json_row(stdout, &rows[i], i == 0);
        printf("\n  ]\n}\n");
        return bad;
    }
    printf("kmap_atomic variants, %s preset, %u CPUs%s, %llu ops per scenario, irq gap %llu cycles, seed %llu\n\n",
           mmusim_preset_name(b.o.cfg.preset), b.cpus, b.o.cfg.paging == MMUSIM_PAGING_PAE ? ", PAE" : "", (unsigned long long)b.ops,
           (unsigned long long)irq_gap, (unsigned long long)b.o.cfg.seed);
    printf("%-13s %-16s %6s %9s %7s %7s %7s %5s %5s %7s %5s %4s %6s %6s %4s %4s %7s\n", "variant", "scenario", "ops",
           "cyc/op", "p50", "p99", "invlpg", "glob", "ipis", "tlbmiss", "wpage", "tlbf", "swhold", "inv/sw", "bug",
           "warn", "corrupt");
    for (size_t i = 0; i < n; i++) {
        const struct row *w = &rows[i];
        printf("%-13s %-16s %6llu %9.1f %7llu %7llu %7llu %5llu %5llu %7llu %5llu %4llu %6llu %6.2f %4llu %4llu %7llu\n",
               mmusim_kmap_variant_name(w->v), scen_name[w->s], (unsigned long long)w->ops, w->mean,
               (unsigned long long)w->p50, (unsigned long long)w->p99, (unsigned long long)w->invlpg,
               (unsigned long long)w->global_flushes, (unsigned long long)w->ipis,
               (unsigned long long)w->tlb_misses, (unsigned long long)w->window_pages,
               (unsigned long long)w->tlb_footprint, (unsigned long long)w->switches_holding,
               per_switch(w->switch_invlpg, w), (unsigned long long)w->bugs, (unsigned long long)w->warns,
               (unsigned long long)w->corruptions);
    }
    summary(rows, n);
    if (bad)
        fprintf(stderr, "%s: FAILED: a row outside misuse has an IPI, a global flush or a corrupted read\n",
                bench_program());
    return bad;
}
