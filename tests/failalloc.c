/*
 * Host allocation failure (issue 14 item 7, docs/reliability.md): every
 * host allocation a call makes is refused in turn, and each time the call
 * must return MMUSIM_ENOMEM, leak nothing, and leave the machine it was
 * called on usable.
 *
 * Linked with mmusim_failalloc, the library built with MMUSIM_FAILALLOC
 * (src/internal.h): mmusim__failalloc_arm(n) refuses the n-th allocation
 * from now, and mmusim__failalloc_live() counts the blocks allocated and
 * not freed. Each scenario builds what its call needs (a machine, a kmap
 * layer, an address space) with nothing armed, then for n = 1, 2, 3, ...:
 * arm n, make the call, and check
 *   - that it returned MMUSIM_ENOMEM (not a crash, not another code);
 *   - that the live count is what it was before the call: nothing leaked,
 *     nothing half-built left behind (a scenario marked `keeps` may keep
 *     storage that belongs to the machine, e.g. a grown array: its blocks
 *     must then be freed with the machine);
 *   - that the machine still maps, accesses and flushes (usable());
 *   - that the same call, made again with nothing armed, succeeds (the
 *     failed one left nothing that blocks a retry), and that the machine
 *     then runs exactly as one where the call succeeded at once
 *     (fingerprint(); not for a call marked `partial`, whose refusal may
 *     leave its earlier effects: an access whose translation was done);
 *   - that destroying everything brings the live count back to where the
 *     scenario started.
 * The sweep ends at the first n that the call does not reach: it then
 * succeeded with every allocation granted. In the ASan build LeakSanitizer
 * checks the same at exit, independently of the counter.
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "mmusim.h"

#define USER_VA 0x08048000u

struct fx {
    /* the scenario's parameters */
    const char *preset;
    const char *paging;
    const char *era;
    enum mmusim_kmap_variant variant;
    int with_kmap;
    /* what setup built */
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    uint64_t cr3;
    uint64_t pfn;
    /* what the call made, for the retry and the teardown */
    mmusim_task *task;
};

struct scenario {
    const char *name;
    int (*setup)(struct fx *f); /* with nothing armed; NULL: none */
    int (*call)(struct fx *f);  /* the call under test */
    int keeps;                  /* may keep storage the machine owns after a refusal (a CPU's extension
                                   block grown for the kmap layer, a directory of frame storage, the
                                   array of interrupt sources, a page-table frame's record of last
                                   writers made before the frame's storage was refused) */
    int partial;                /* a refusal may leave the call's earlier effects (see test_growth) */
};

/* ---- building blocks ---- */

static int machine(struct fx *f)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    int rc;
    if ((rc = mmusim_config_set(&cfg, "preset", f->preset ? f->preset : "core2")) != MMUSIM_OK ||
        (rc = mmusim_config_set(&cfg, "paging", f->paging ? f->paging : "2level")) != MMUSIM_OK ||
        (rc = mmusim_config_set(&cfg, "era", f->era ? f->era : "2.6.32")) != MMUSIM_OK ||
        (rc = mmusim_config_set(&cfg, "cpus", "4")) != MMUSIM_OK)
        return rc;
    return mmusim_machine_create(&cfg, &f->m);
}

static int kmap_layer(struct fx *f)
{
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, f->variant);
    return mmusim_kmap_create(f->m, &o, &f->k);
}

/* The era a kmap variant's machine needs (tests/test_kmap_atomic.c). */
/* The era a kmap variant's machine needs. */
static const char *era_of(enum mmusim_kmap_variant v)
{
    return mmusim_era_name(mmusim_kmap_variant_era(v));
}

static int setup_machine(struct fx *f)
{
    int rc = machine(f);
    if (rc == MMUSIM_OK && f->with_kmap)
        rc = kmap_layer(f);
    return rc;
}

static int setup_pgd(struct fx *f)
{
    int rc = setup_machine(f);
    return rc == MMUSIM_OK ? mmusim_pgd_create(f->m, &f->cr3) : rc;
}

/*
 * The machine maps, accesses and flushes: a fresh user address space with
 * one page, CR3 loaded on CPU 1, a write and a read back through the TLB,
 * an INVLPG and a read that walks again.
 */
static void usable(mmusim_machine *m, const char *what, uint64_t n)
{
    uint64_t cr3, pfn;
    int rc;
    if ((rc = mmusim_pgd_create(m, &cr3)) != MMUSIM_OK || (rc = mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn)) ||
        (rc = mmusim_pt_map(m, cr3, USER_VA, pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K,
                            MMUSIM_PTE_RW | MMUSIM_PTE_US)) != MMUSIM_OK)
        fail_msg("%s, allocation %llu refused: the machine cannot map afterwards (%s)", what, (unsigned long long)n,
                 mmusim_strerror(rc));
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 1);
    uint32_t v = 0x5a5a0000u + (uint32_t)n, back = 0;
    struct mmusim_access a;
    if ((rc = mmusim_cpu_write_cr3(cpu, cr3, NULL)) != MMUSIM_OK ||
        (rc = mmusim_cpu_access(cpu, USER_VA, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v, &a)) != MMUSIM_OK ||
        a.fault || (rc = mmusim_cpu_access(cpu, USER_VA, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, &back, &a)) ||
        a.walked || back != v)
        fail_msg("%s, allocation %llu refused: an access goes wrong afterwards (%s)", what, (unsigned long long)n,
                 mmusim_strerror(rc));
    mmusim_flush_tlb_one(cpu, USER_VA);
    back = 0;
    if ((rc = mmusim_cpu_access(cpu, USER_VA, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, &back, &a)) != MMUSIM_OK ||
        !a.walked || back != v)
        fail_msg("%s, allocation %llu refused: a flush goes wrong afterwards (%s)", what, (unsigned long long)n,
                 mmusim_strerror(rc));
    if ((rc = mmusim_cpu_write_cr3(cpu, mmusim_kernel_cr3(m), NULL)) != MMUSIM_OK)
        fail_msg("%s: CR3 back to swapper_pg_dir: %s", what, mmusim_strerror(rc));
}

/* FNV-1a over bytes, folded into h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/*
 * What the machine does next: it runs (its tasks, interrupts, as the
 * scenario left them) to a cycle limit, and the run's result and every
 * CPU's counters are hashed. A call that failed and was then made again
 * must leave a machine that gives the same hash as one where the call
 * succeeded at once: a failure that left something half-built (a task, an
 * interrupt source, a record) shows up here.
 */
static uint64_t fingerprint(mmusim_machine *m, const char *what, uint64_t n)
{
    struct mmusim_run_result r;
    int rc = mmusim_machine_run(m, 2000000, &r);
    if (rc != MMUSIM_OK)
        fail_msg("%s, allocation %llu refused: the run afterwards: %s", what, (unsigned long long)n,
                 mmusim_strerror(rc));
    uint64_t h = fnv(0xcbf29ce484222325ull, &r.steps, sizeof(r.steps));
    h = fnv(h, &r.end_cycle, sizeof(r.end_cycle));
    for (unsigned i = 0; i < mmusim_machine_ncpus(m); i++) {
        struct mmusim_cpu_stats st;
        mmusim_cpu_stats(mmusim_machine_cpu(m, i), &st);
        h = fnv(h, &st, sizeof(st));
    }
    return h ^ mmusim_machine_reports(m, NULL, 0);
}

/*
 * One scenario for n = 1, 2, ...: the checks of the comment at the top.
 * Returns how many refusals were checked.
 */
static uint64_t sweep(const struct scenario *s, const struct fx *params)
{
    struct fx ref = *params;
    int rc0 = s->setup ? s->setup(&ref) : MMUSIM_OK;
    if (rc0 == MMUSIM_OK)
        rc0 = s->call(&ref);
    if (rc0 != MMUSIM_OK)
        fail_msg("%s: with every allocation granted: %s", s->name, mmusim_strerror(rc0));
    uint64_t expect = fingerprint(ref.m, s->name, 0);
    mmusim_machine_destroy(ref.m);
    for (uint64_t n = 1;; n++) {
        int64_t base = mmusim__failalloc_live();
        struct fx f = *params;
        int rc = s->setup ? s->setup(&f) : MMUSIM_OK;
        if (rc != MMUSIM_OK)
            fail_msg("%s: setup: %s", s->name, mmusim_strerror(rc));
        int64_t before = mmusim__failalloc_live();
        uint64_t calls = mmusim__failalloc_calls();
        mmusim__failalloc_arm(n);
        rc = s->call(&f);
        mmusim__failalloc_arm(0);
        int refused = mmusim__failalloc_calls() - calls >= n;
        if (!refused && rc != MMUSIM_OK)
            fail_msg("%s: with every allocation granted: %s", s->name, mmusim_strerror(rc));
        if (refused && rc != MMUSIM_ENOMEM)
            fail_msg("%s: allocation %llu refused: %s, not MMUSIM_ENOMEM", s->name, (unsigned long long)n,
                     mmusim_strerror(rc));
        if (refused && !s->keeps && mmusim__failalloc_live() != before)
            fail_msg("%s: allocation %llu refused: %lld blocks left behind", s->name, (unsigned long long)n,
                     (long long)(mmusim__failalloc_live() - before));
        if (refused && (rc = s->call(&f)) != MMUSIM_OK)
            fail_msg("%s: allocation %llu refused, then the call again: %s", s->name, (unsigned long long)n,
                     mmusim_strerror(rc));
        if (refused && !s->partial && fingerprint(f.m, s->name, n) != expect)
            fail_msg("%s: allocation %llu refused, then the call again: the machine runs differently from one "
                     "where the call succeeded at once", s->name, (unsigned long long)n);
        if (f.m)
            usable(f.m, s->name, n);
        mmusim_machine_destroy(f.m);
        if (mmusim__failalloc_live() != base)
            fail_msg("%s: allocation %llu refused: %lld blocks leaked", s->name, (unsigned long long)n,
                     (long long)(mmusim__failalloc_live() - base));
        if (!refused)
            return n - 1;
    }
}

/* ---- the calls ---- */

static int call_machine_create(struct fx *f)
{
    int rc = machine(f);
    if (rc != MMUSIM_OK && f->m)
        fail_msg("machine create: %s with a machine made", mmusim_strerror(rc));
    return rc;
}

static int call_machine_and_kmap(struct fx *f)
{
    mmusim_machine_destroy(f->m); /* a retry starts again */
    f->m = NULL;
    int rc = call_machine_create(f);
    if (rc == MMUSIM_OK && (rc = kmap_layer(f)) != MMUSIM_OK) {
        mmusim_machine_destroy(f->m); /* what a user does: then nothing may remain */
        f->m = NULL;
    }
    return rc;
}

static int call_kmap_create(struct fx *f)
{
    return kmap_layer(f);
}

static int call_pgd_create(struct fx *f)
{
    return mmusim_pgd_create(f->m, &f->cr3);
}

/* Eight address spaces already: the machine's list of them must grow for a ninth. */
static int setup_pgds8(struct fx *f)
{
    int rc = setup_machine(f);
    for (int i = 0; rc == MMUSIM_OK && i < 7; i++) /* swapper_pg_dir is the first */
        rc = mmusim_pgd_create(f->m, &f->cr3);
    return rc;
}

/* A user page whose page table does not exist yet: a new table frame. */
static int call_pt_map(struct fx *f)
{
    uint64_t pfn;
    int rc = mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn);
    if (rc != MMUSIM_OK)
        return rc;
    rc = mmusim_pt_map(f->m, f->cr3, USER_VA + 0x10000000u, pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K,
                       MMUSIM_PTE_RW | MMUSIM_PTE_US);
    if (rc != MMUSIM_OK && mmusim_frame_free(f->m, pfn) != MMUSIM_OK)
        fail_msg("pt_map: the frame cannot be freed");
    return rc;
}

/* Frames never written before, in two storage chunks: host memory grows. */
static int call_phys_write(struct fx *f)
{
    static const uint8_t buf[3 * MMUSIM_PAGE_SIZE];
    uint64_t pa = mmusim_machine_config(f->m)->mem_bytes - 2 * MMUSIM_PAGE_SIZE - 100;
    return mmusim_phys_write(f->m, pa - (1u << 24), buf, sizeof(buf));
}

static int call_phys_write32(struct fx *f)
{
    return mmusim_phys_write32(f->m, mmusim_machine_config(f->m)->mem_bytes - 64, 0x12345678u);
}

static enum mmusim_step done_step(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, 10);
    return MMUSIM_STEP_DONE;
}

static int call_task_create(struct fx *f)
{
    return mmusim_task_create(f->m, 1, f->cr3, done_step, NULL, &f->task);
}

static int call_spinlock_create(struct fx *f)
{
    mmusim_spinlock *l;
    return mmusim_spinlock_create(f->m, &l);
}

static int call_wait_queue_create(struct fx *f)
{
    mmusim_wait_queue *q;
    return mmusim_wait_queue_create(f->m, &q);
}

static int call_irq_random(struct fx *f)
{
    return mmusim_irq_random(f->m, 2, 5000, 100000, done_step, NULL);
}

/* Eight interrupts pending on CPU 3 already: its queue must grow for a ninth. */
static int setup_irqs8(struct fx *f)
{
    int rc = setup_machine(f);
    for (uint64_t i = 0; rc == MMUSIM_OK && i < 8; i++)
        rc = mmusim_irq_at(f->m, 3, 1000 + 100 * i, done_step, NULL);
    return rc;
}

static int call_irq_at(struct fx *f)
{
    return mmusim_irq_at(f->m, 3, 777, done_step, NULL);
}

/* A user page on a frame never written: a write through it needs the frame's storage. */
static int setup_fresh_page(struct fx *f)
{
    int rc = setup_pgd(f);
    if (rc == MMUSIM_OK && (rc = mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &f->pfn)) == MMUSIM_OK)
        rc = mmusim_pt_map(f->m, f->cr3, USER_VA, f->pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K,
                           MMUSIM_PTE_RW | MMUSIM_PTE_US);
    if (rc == MMUSIM_OK)
        rc = mmusim_cpu_write_cr3(mmusim_machine_cpu(f->m, 2), f->cr3, NULL);
    return rc;
}

static int call_access_write(struct fx *f)
{
    struct mmusim_access a;
    uint32_t v = 0x77;
    int rc = mmusim_cpu_access(mmusim_machine_cpu(f->m, 2), USER_VA, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v, &a);
    if (rc == MMUSIM_OK && (a.fault || mmusim_phys_read32(f->m, f->pfn << MMUSIM_PAGE_SHIFT, &v) || v != 0x77))
        fail_msg("access: the write did not reach the frame");
    return rc;
}

/* set_pte of a pkmap slot: the first store into that page-table frame makes its record of last writers. */
static int call_set_pte(struct fx *f)
{
    uint64_t pfn;
    int rc = mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn);
    if (rc != MMUSIM_OK)
        return rc;
    rc = mmusim_set_pte(mmusim_machine_cpu(f->m, 0), mmusim_machine_layout(f->m)->pkmap_base,
                        pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_KERNEL, NULL);
    if (rc != MMUSIM_OK && mmusim_frame_free(f->m, pfn) != MMUSIM_OK)
        fail_msg("set_pte: the frame cannot be freed");
    return rc;
}

/* raise_softirq outside a run: queued for CPU 1's next return from interrupt context. */
static int call_raise_softirq(struct fx *f)
{
    return mmusim_raise_softirq(mmusim_machine_cpu(f->m, 1), done_step, NULL);
}

static int call_nmi_at(struct fx *f)
{
    return mmusim_nmi_at(f->m, 0, 500, done_step, NULL);
}

/* ---- traces (src/trace/) ---- */

/* A lackey trace of 600 data references over 600 pages, for the reader and the replay. */
static const char *lackey_text(size_t *len)
{
    static char text[600 * 24];
    static size_t n;
    if (!n)
        for (unsigned i = 0; i < 600; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, " L %08x,4\n", 0x10000000u + i * 0x1000u);
    *len = n;
    return text;
}

/* A reader opened on the trace, every record read, closed: its state and its buffer. */
static int call_trace_read(struct fx *f)
{
    (void)f;
    size_t len;
    const char *text = lackey_text(&len);
    FILE *in = fmemopen((void *)(uintptr_t)text, len, "r");
    if (!in)
        fail_msg("trace read: fmemopen");
    mmusim_trace_reader *r;
    int rc = mmusim_trace_open(in, MMUSIM_TRACE_LACKEY, &r);
    struct mmusim_trace_rec recs[128];
    size_t n, total = 0;
    while (rc == MMUSIM_OK && (rc = mmusim_trace_read(r, recs, 128, &n)) == MMUSIM_OK && n)
        total += n;
    if (rc == MMUSIM_OK && total != 600)
        fail_msg("trace read: %zu records, not 600", total);
    if (r && rc != MMUSIM_ENOMEM)
        mmusim_trace_close(r);
    fclose(in);
    return rc;
}

static struct mmusim_trace_rec replay_recs[600];

/* A machine, and the trace's records read with nothing armed. */
static int setup_replay(struct fx *f)
{
    size_t len, n;
    const char *text = lackey_text(&len);
    FILE *in = fmemopen((void *)(uintptr_t)text, len, "r");
    mmusim_trace_reader *r;
    if (!in || mmusim_trace_open(in, MMUSIM_TRACE_LACKEY, &r) != MMUSIM_OK ||
        mmusim_trace_read(r, replay_recs, 600, &n) != MMUSIM_OK || n != 600)
        fail_msg("replay: the trace cannot be read");
    mmusim_trace_close(r);
    fclose(in);
    return setup_machine(f);
}

/*
 * A replay of the trace's 600 first touches (each a demand fault: a frame
 * taken, its number kept in a list that grows), then destroyed: every frame
 * and the address space given back. A refusal in the middle of the run
 * leaves the accesses before it done (partial).
 */
static int call_replay(struct fx *f)
{
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *rp;
    int rc = mmusim_replay_create(f->m, &o, &rp);
    if (rc != MMUSIM_OK)
        return rc;
    rc = mmusim_replay_run(rp, replay_recs, 600);
    mmusim_replay_destroy(rp);
    return rc;
}

/*
 * A run: on each CPU two tasks in two address spaces (context switches with
 * CR3 writes), each writing its page, mapping a HighMem page with
 * kmap_atomic (with a kmap layer), shooting its page down on the other
 * CPUs, and yielding; random interrupts on every CPU.
 */
struct run_task {
    struct fx *f;
    uint64_t cr3;
    struct mmusim_page page;
    unsigned phase, rounds;
    struct mmusim_kaddr ka; /* kmap's address, between two steps */
    int rc;                 /* the first error a call gave the step */
};

static struct run_task run_tasks[8];

static void note(struct run_task *t, int rc)
{
    if (rc != MMUSIM_OK && rc != MMUSIM_PENDING && t->rc == MMUSIM_OK)
        t->rc = rc;
}

/* The variant's short-lived map and unmap around one read. */
static void short_map(struct run_task *t, mmusim_cpu *cpu)
{
    struct mmusim_kaddr ka;
    struct mmusim_access a;
    uint32_t v;
    mmusim_kmap_layer *k = t->f->k;
    int local = t->f->variant == MMUSIM_KMAP_LOCAL_5_11;
    int rc = local ? mmusim_kmap_local(cpu, k, t->page, &ka) : mmusim_kmap_atomic(cpu, k, t->page, MMUSIM_KM_USER0, &ka);
    note(t, rc);
    if (rc != MMUSIM_OK)
        return;
    note(t, mmusim_cpu_access(cpu, ka.va, MMUSIM_ACC_READ, 4, &v, &a));
    note(t, local ? mmusim_kunmap_local(cpu, k, ka) : mmusim_kunmap_atomic(cpu, k, ka, MMUSIM_KM_USER0));
}

static enum mmusim_step run_step(mmusim_cpu *cpu, void *arg)
{
    struct run_task *t = arg;
    struct mmusim_access a;
    uint32_t v = t->rounds;
    int rc;
    switch (t->phase++ % 6) {
    case 0:
        note(t, mmusim_cpu_access(cpu, USER_VA, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v, &a));
        return MMUSIM_STEP_MORE;
    case 1:
        if (t->f->k)
            short_map(t, cpu);
        mmusim_cpu_spend(cpu, 100);
        return MMUSIM_STEP_MORE;
    case 2:
        t->ka.va = 0;
        if (t->f->k && (rc = mmusim_kmap(cpu, t->f->k, t->page, &t->ka)) != MMUSIM_PENDING)
            note(t, rc); /* pending: t->ka is filled when the step is called again */
        mmusim_cpu_spend(cpu, 10);
        return MMUSIM_STEP_MORE;
    case 3:
        if (t->ka.va) {
            note(t, mmusim_cpu_access(cpu, t->ka.va, MMUSIM_ACC_READ, 4, &v, &a));
            note(t, mmusim_kunmap(cpu, t->f->k, t->page));
        }
        mmusim_cpu_spend(cpu, 10);
        return MMUSIM_STEP_MORE;
    case 4:
        note(t, mmusim_flush_tlb_page_smp(cpu, t->cr3, USER_VA));
        return MMUSIM_STEP_MORE;
    default:
        note(t, mmusim_cond_resched(cpu));
        mmusim_cpu_spend(cpu, 50);
        return ++t->rounds < 20 ? MMUSIM_STEP_MORE : MMUSIM_STEP_DONE;
    }
}

static enum mmusim_step run_irq(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, 200);
    return MMUSIM_STEP_DONE;
}

static int setup_run(struct fx *f)
{
    int rc = setup_machine(f);
    uint64_t cr3[2], pfn;
    for (int i = 0; rc == MMUSIM_OK && i < 2; i++)
        if ((rc = mmusim_pgd_create(f->m, &cr3[i])) == MMUSIM_OK &&
            (rc = mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn)) == MMUSIM_OK &&
            (rc = mmusim_phys_write32(f->m, pfn << MMUSIM_PAGE_SHIFT, 1)) == MMUSIM_OK)
            rc = mmusim_pt_map(f->m, cr3[i], USER_VA, pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K,
                               MMUSIM_PTE_RW | MMUSIM_PTE_US);
    if (rc == MMUSIM_OK && (rc = mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn)) == MMUSIM_OK)
        rc = mmusim_phys_write32(f->m, pfn << MMUSIM_PAGE_SHIFT, 2);
    for (unsigned i = 0; rc == MMUSIM_OK && i < 8; i++) {
        mmusim_task *t;
        run_tasks[i] = (struct run_task){.f = f, .cr3 = cr3[i % 2], .page = mmusim_page_of_pfn(f->m, pfn)};
        rc = mmusim_task_create(f->m, i / 2, run_tasks[i].cr3, run_step, &run_tasks[i], &t);
    }
    for (unsigned c = 0; rc == MMUSIM_OK && c < 4; c++)
        rc = mmusim_irq_random(f->m, c, 3000, 200000, run_irq, NULL);
    return rc;
}

/* The run's result: MMUSIM_OK, or the first error a step was given. */
static int call_run(struct fx *f)
{
    struct mmusim_run_result r;
    int rc = mmusim_machine_run(f->m, 0, &r);
    if (rc == MMUSIM_ENOMEM) {
        /* A pending operation ran out: the run stopped, and goes on when called again. */
        int again = mmusim_machine_run(f->m, 0, &r);
        if (again != MMUSIM_OK)
            fail_msg("run: after MMUSIM_ENOMEM, the run again: %s", mmusim_strerror(again));
    }
    for (unsigned i = 0; rc == MMUSIM_OK && i < 8; i++)
        rc = run_tasks[i].rc;
    if (!r.finished)
        fail_msg("run: not finished");
    return rc;
}

static const struct scenario machine_create = {"machine create", NULL, call_machine_create, 0, 0};

static const char *const presets[] = {"p3", "core2", "atom", "haswell"};
static const char *const pagings[] = {"2level", "pae"};

/* mmusim_machine_create under every preset, 2-level and PAE. */
static void test_machine_create(void **state)
{
    (void)state;
    for (size_t p = 0; p < MMUSIM_ARRAY_SIZE(presets); p++)
        for (size_t g = 0; g < MMUSIM_ARRAY_SIZE(pagings); g++) {
            struct fx params = {.preset = presets[p], .paging = pagings[g]};
            uint64_t n = sweep(&machine_create, &params);
            print_message("machine create %s %s: %llu allocations refused one by one\n", presets[p], pagings[g],
                          (unsigned long long)n);
            assert_true(n > 0);
        }
}

/* mmusim_kmap_create of each variant, on a machine that exists; then the machine and the layer together. */
static void test_kmap_create(void **state)
{
    (void)state;
    static const struct scenario on_machine = {"kmap create", setup_machine, call_kmap_create, 1, 0};
    static const struct scenario both = {"machine and kmap create", NULL, call_machine_and_kmap, 0, 0};
    for (int v = 0; v < MMUSIM_KMAP_VARIANT_COUNT_; v++)
        for (size_t g = 0; g < MMUSIM_ARRAY_SIZE(pagings); g++) {
            struct fx params = {.paging = pagings[g], .era = era_of((enum mmusim_kmap_variant)v),
                                .variant = (enum mmusim_kmap_variant)v};
            uint64_t n = sweep(&on_machine, &params);
            uint64_t n2 = sweep(&both, &params);
            print_message("kmap create %s %s: %llu refused; with the machine: %llu\n",
                          mmusim_kmap_variant_name((enum mmusim_kmap_variant)v), pagings[g],
                          (unsigned long long)n, (unsigned long long)n2);
            assert_true(n > 0);
        }
}

/* The structures that grow while a machine lives. */
static void test_growth(void **state)
{
    (void)state;
    static const struct scenario list[] = {
        {"pgd create", setup_machine, call_pgd_create, 0, 0},
        {"pgd create, the list grown", setup_pgds8, call_pgd_create, 0, 0},
        {"pt_map with a new page table", setup_pgd, call_pt_map, 1, 0},
        {"phys_write of fresh frames", setup_machine, call_phys_write, 1, 0},
        {"phys_write32 of a fresh frame", setup_machine, call_phys_write32, 1, 0},
        {"task create", setup_pgd, call_task_create, 0, 0},
        {"spinlock create", setup_machine, call_spinlock_create, 0, 0},
        {"wait queue create", setup_machine, call_wait_queue_create, 0, 0},
        {"irq_random", setup_machine, call_irq_random, 1, 0},
        {"irq_at, the queue grown", setup_irqs8, call_irq_at, 0, 0},
        {"nmi_at", setup_machine, call_nmi_at, 0, 0},
        {"raise_softirq", setup_machine, call_raise_softirq, 0, 0},
        {"set_pte, a new writer record", setup_machine, call_set_pte, 1, 0},
        /* The translation (TLB fill, A bit, cycles) is done before the data
         * store needs the frame's storage: a refusal leaves it done. */
        {"access writing a fresh frame", setup_fresh_page, call_access_write, 1, 1},
        {"trace reader", setup_machine, call_trace_read, 0, 0},
        /* The replay's address space gets page tables, whose records of last writers stay the machine's. */
        {"replay with demand paging", setup_replay, call_replay, 1, 1},
    };
    for (size_t g = 0; g < MMUSIM_ARRAY_SIZE(pagings); g++)
        for (int kmap = 0; kmap < 2; kmap++)
            for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(list); i++) {
                struct fx params = {.paging = pagings[g], .with_kmap = kmap, .variant = MMUSIM_KMAP_STACK_2_6_37,
                                    .era = "2.6.37"};
                uint64_t n = sweep(&list[i], &params);
                print_message("%s (%s%s): %llu refused\n", list[i].name, pagings[g], kmap ? ", kmap layer" : "",
                              (unsigned long long)n);
            }
}

/*
 * A run of tasks, kmaps, shootdowns and interrupts. Without a kmap layer it
 * makes no host allocation once set up. With one, the layer's first PTE
 * store into each page-table frame makes its record of the entries' last
 * writers; refusing one of those gives that kmap_atomic MMUSIM_ENOMEM, and
 * the run must go on as if the map had not been asked for: every task
 * finishes, no BUG or WARN report, preemption enabled again everywhere.
 */
static void test_run(void **state)
{
    (void)state;
    for (int kmap = -1; kmap < MMUSIM_KMAP_VARIANT_COUNT_; kmap++)
        for (uint64_t n = 1;; n++) {
            int64_t base = mmusim__failalloc_live();
            enum mmusim_kmap_variant v = kmap < 0 ? MMUSIM_KMAP_STACK_2_6_37 : (enum mmusim_kmap_variant)kmap;
            struct fx f = {.with_kmap = kmap >= 0, .variant = v, .era = era_of(v)};
            assert_int_equal(setup_run(&f), MMUSIM_OK);
            uint64_t calls = mmusim__failalloc_calls();
            mmusim__failalloc_arm(n);
            int rc = call_run(&f);
            mmusim__failalloc_arm(0);
            uint64_t made = mmusim__failalloc_calls() - calls;
            if (made >= n && rc != MMUSIM_ENOMEM)
                fail_msg("run: allocation %llu refused: a step got %s", (unsigned long long)n, mmusim_strerror(rc));
            if (made < n && rc != MMUSIM_OK)
                fail_msg("run: %s", mmusim_strerror(rc));
            if (mmusim_machine_reports(f.m, NULL, 0) != 0)
                fail_msg("run: allocation %llu refused: a report was made", (unsigned long long)n);
            for (unsigned c = 0; c < 4; c++)
                if (mmusim_cpu_preempt_count(mmusim_machine_cpu(f.m, c)) != 0)
                    fail_msg("run: allocation %llu refused: CPU %u ends with preemption disabled",
                             (unsigned long long)n, c);
            usable(f.m, "run", n);
            mmusim_machine_destroy(f.m);
            if (mmusim__failalloc_live() != base)
                fail_msg("run: allocation %llu refused: %lld blocks leaked", (unsigned long long)n,
                         (long long)(mmusim__failalloc_live() - base));
            if (made < n) {
                print_message("run (%s): %llu host allocations, refused one by one\n",
                              kmap >= 0 ? mmusim_kmap_variant_name(v) : "no kmap layer", (unsigned long long)made);
                assert_true(kmap >= 0 || made == 0);
                break;
            }
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machine_create),
        cmocka_unit_test(test_kmap_create),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
