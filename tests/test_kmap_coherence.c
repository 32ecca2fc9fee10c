/*
 * Every kmap variant under a seeded randomized workload on 4 CPUs with the
 * coherence checker on (docs/tlb.md): tasks map, read and unmap highmem
 * pages through kmap_atomic (or kmap_local, or heap runs) and kmap, nested
 * and interleaved; device interrupts on every CPU map a page too. Every read
 * through a mapping must return the page's own signature (no corruption),
 * and no TLB hit may disagree with the page tables (no coherence
 * violation): each variant's flushes are sufficient (linux-highmem.md §8).
 * With the unmap flush switched off (opts.no_unmap_flush, for tests only),
 * the checker must report violations, naming the CPU that wrote the entry.
 *
 * At least a million operations (map, unmap, read) per variant.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

#define NCPUS 4
#define TASKS_PER_CPU 2
#define NPAGES 3000          /* more than LAST_PKMAP: kmap wraps */
#define TARGET_OPS 1000000  /* the workers stop (unmapping what they hold) once this many were made */
#define IRQ_UNTIL 40000000ull /* device interrupts for the first 40 M cycles of each CPU */

struct world {
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    enum mmusim_kmap_variant v;
    uint64_t pfns[NPAGES];
    uint64_t ops, reads, corruptions, errors;
};

/* A page's signature: its frame number, in its first word. */
static void sign_pages(struct world *w)
{
    for (unsigned i = 0; i < NPAGES; i++) {
        assert_int_equal(mmusim_frame_alloc(w->m, MMUSIM_ZONE_HIGHMEM, &w->pfns[i]), MMUSIM_OK);
        assert_int_equal(mmusim_phys_write32(w->m, w->pfns[i] << 12, (uint32_t)w->pfns[i]), MMUSIM_OK);
    }
}

/* Read the first word through va and check it is pfn's signature. */
static void check_read(struct world *w, mmusim_cpu *cpu, uint32_t va, uint64_t pfn)
{
    struct mmusim_access a;
    uint32_t v = 0;
    w->ops++;
    w->reads++;
    if (mmusim_cpu_access(cpu, va, MMUSIM_ACC_READ, 4, &v, &a) != MMUSIM_OK || a.fault)
        w->errors++;
    else if (v != (uint32_t)pfn)
        w->corruptions++;
}

/* The variant's short-lived mapping: kmap_atomic, kmap_local, or a heap run of n pages. */
static int short_map(struct world *w, mmusim_cpu *cpu, const uint64_t *pfn, unsigned n, enum mmusim_km_type type,
                     struct mmusim_kaddr *out)
{
    w->ops++;
    if (w->v == MMUSIM_KMAP_HEAP) {
        struct mmusim_page pages[3];
        for (unsigned i = 0; i < n; i++)
            pages[i] = mmusim_page_of_pfn(w->m, pfn[i]);
        return mmusim_kmap_heap(cpu, w->k, pages, n, out);
    }
    struct mmusim_page page = mmusim_page_of_pfn(w->m, pfn[0]);
    if (w->v == MMUSIM_KMAP_LOCAL_5_11)
        return mmusim_kmap_local(cpu, w->k, page, out);
    return mmusim_kmap_atomic(cpu, w->k, page, type, out);
}

static int short_unmap(struct world *w, mmusim_cpu *cpu, struct mmusim_kaddr a, enum mmusim_km_type type)
{
    w->ops++;
    if (w->v == MMUSIM_KMAP_HEAP)
        return mmusim_kunmap_heap(cpu, w->k, a);
    if (w->v == MMUSIM_KMAP_LOCAL_5_11)
        return mmusim_kunmap_local(cpu, w->k, a);
    return mmusim_kunmap_atomic(cpu, w->k, a, type);
}

struct held {
    struct mmusim_kaddr a;
    uint64_t pfn[3];
    unsigned n;
};

struct worker {
    struct world *w;
    uint64_t rng;
    unsigned done;
    struct held atomic[2]; /* LIFO: KM_USER0 below KM_USER1 */
    unsigned depth;
    int kmapped, kmap_pending;
    uint64_t kpfn;
    struct mmusim_kaddr kaddr;
};

static const enum mmusim_km_type user_type[2] = {MMUSIM_KM_USER0, MMUSIM_KM_USER1};

static enum mmusim_step worker_step(mmusim_cpu *cpu, void *arg)
{
    struct worker *t = arg;
    struct world *w = t->w;
    if (t->kmap_pending) { /* the kmap completed while the step waited */
        t->kmap_pending = 0;
        t->kmapped = 1;
        check_read(w, cpu, t->kaddr.va, t->kpfn);
        return MMUSIM_STEP_MORE;
    }
    int enough = w->ops >= TARGET_OPS;
    if (enough && !t->depth && !t->kmapped)
        return MMUSIM_STEP_DONE;
    uint64_t r = ts_rand(&t->rng);
    unsigned what = (unsigned)(r % 8);
    if (enough)
        what = t->depth ? 3 : 6; /* wind down: unmap what is held */
    t->done++;
    switch (what) {
    case 0:
    case 1: /* map one more (at most two held) */
        if (t->depth < 2) {
            struct held *h = &t->atomic[t->depth];
            h->n = w->v == MMUSIM_KMAP_HEAP ? 1 + (unsigned)((r >> 8) % 3) : 1;
            for (unsigned i = 0; i < h->n; i++)
                h->pfn[i] = w->pfns[(r >> (16 + 8 * i)) % NPAGES];
            int rc = short_map(w, cpu, h->pfn, h->n, user_type[t->depth], &h->a);
            if (rc == MMUSIM_OK)
                t->depth++;
            else if (rc != MMUSIM_ENOWINDOW)
                w->errors++;
        }
        break;
    case 2: /* read through what is held */
        for (unsigned d = 0; d < t->depth; d++)
            for (unsigned i = 0; i < t->atomic[d].n; i++)
                check_read(w, cpu, t->atomic[d].a.va + i * 4096u, t->atomic[d].pfn[i]);
        if (t->kmapped)
            check_read(w, cpu, t->kaddr.va, t->kpfn);
        break;
    case 3: /* unmap the top */
        if (t->depth) {
            t->depth--;
            if (short_unmap(w, cpu, t->atomic[t->depth].a, user_type[t->depth]) != MMUSIM_OK)
                w->errors++;
        }
        break;
    case 4: /* kmap a page (may wait, sleep, flush at a wrap), with nothing atomic held */
        if (!t->kmapped && !t->depth) {
            t->kpfn = w->pfns[(r >> 8) % NPAGES];
            w->ops++;
            int rc = mmusim_kmap(cpu, w->k, mmusim_page_of_pfn(w->m, t->kpfn), &t->kaddr);
            if (rc == MMUSIM_PENDING) {
                t->kmap_pending = 1;
            } else if (rc == MMUSIM_OK) {
                t->kmapped = 1;
                check_read(w, cpu, t->kaddr.va, t->kpfn);
            } else {
                w->errors++;
            }
        }
        break;
    case 5:
    case 6: /* kunmap */
        if (t->kmapped && !t->depth) {
            t->kmapped = 0;
            w->ops++;
            int rc = mmusim_kunmap(cpu, w->k, mmusim_page_of_pfn(w->m, t->kpfn));
            if (mmusim_is_error(rc))
                w->errors++;
        }
        break;
    default:
        mmusim_cpu_spend(cpu, 50 + (r >> 40) % 200);
        break;
    }
    return MMUSIM_STEP_MORE;
}

/* A device interrupt's handler: map a page with an interrupt type, read it, unmap it. */
struct irq_ctx {
    struct world *w;
    uint64_t rng;
};

static enum mmusim_step irq_step(mmusim_cpu *cpu, void *arg)
{
    struct irq_ctx *c = arg;
    struct world *w = c->w;
    uint64_t pfn = w->pfns[ts_rand(&c->rng) % NPAGES];
    struct mmusim_kaddr a;
    int rc = short_map(w, cpu, &pfn, 1, MMUSIM_KM_IRQ0, &a);
    if (rc == MMUSIM_ENOWINDOW) /* the heap window can be full under a task's runs */
        return MMUSIM_STEP_DONE;
    if (rc != MMUSIM_OK) {
        w->errors++;
        return MMUSIM_STEP_DONE;
    }
    check_read(w, cpu, a.va, pfn);
    if (short_unmap(w, cpu, a, MMUSIM_KM_IRQ0) != MMUSIM_OK)
        w->errors++;
    return MMUSIM_STEP_DONE;
}

static void run_world(void **state, enum mmusim_kmap_variant v, int no_flush, struct world *w)
{
    /* preempt=full at HZ 1000: kmap_local tasks are switched out holding mappings. */
    /* The machine of the variant's own era (mmusim_kmap_variant_era). */
    const char *const kv[] = {"era", mmusim_era_name(mmusim_kmap_variant_era(v)),
                              "preempt", "full", "hz", "1000", "seed", "7", NULL};
    memset(w, 0, sizeof(*w));
    w->m = ts_machine(state, NCPUS, kv);
    w->v = v;
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, v);
    o.no_unmap_flush = no_flush;
    assert_int_equal(mmusim_kmap_create(w->m, &o, &w->k), MMUSIM_OK);
    sign_pages(w);
    mmusim_machine_set_coherence_check(w->m, 1);
    static struct worker workers[NCPUS * TASKS_PER_CPU];
    static struct irq_ctx irqs[NCPUS];
    memset(workers, 0, sizeof(workers));
    for (unsigned i = 0; i < NCPUS * TASKS_PER_CPU; i++) {
        workers[i].w = w;
        workers[i].rng = 0x1234567ull * (i + 1);
        ts_spawn(w->m, i % NCPUS, 0, worker_step, &workers[i]);
    }
    for (unsigned c = 0; c < NCPUS; c++) {
        irqs[c].w = w;
        irqs[c].rng = 0xabcdefull * (c + 1);
        assert_int_equal(mmusim_irq_random_flags(w->m, c, 20000, IRQ_UNTIL, irq_step, &irqs[c],
                                                 MMUSIM_IRQF_DISABLED),
                         MMUSIM_OK);
    }
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(w->m, 0, &r), MMUSIM_OK);
    /* The run ends when every worker has wound down and the interrupt sources stopped at IRQ_UNTIL. */
    assert_int_equal(r.finished, 1);
    for (unsigned i = 0; i < NCPUS * TASKS_PER_CPU; i++)
        assert_true(workers[i].done > 0);
}

static void zero_violations(void **state, enum mmusim_kmap_variant v)
{
    struct world w;
    run_world(state, v, 0, &w);
    assert_true(w.ops >= TARGET_OPS);
    assert_int_equal(w.errors, 0);
    assert_int_equal(w.corruptions, 0);
    assert_int_equal(mmusim_machine_coherence_violations(w.m, NULL, 0), 0);
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(w.k, -1, &s), MMUSIM_OK);
    assert_true(s.wraps > 0);            /* the pool wrapped: the wrap flush was exercised */
    assert_int_equal(s.bugs, 0);
    if (v == MMUSIM_KMAP_LOCAL_5_11)
        assert_true(s.ctxsw_clears > 0); /* tasks were switched out holding mappings */
}

static void test_slot_2_6_19_coherent(void **state)
{
    zero_violations(state, MMUSIM_KMAP_SLOT_2_6_19);
}

static void test_slot_2_6_36_coherent(void **state)
{
    zero_violations(state, MMUSIM_KMAP_SLOT_2_6_36);
}

static void test_stack_2_6_37_coherent(void **state)
{
    zero_violations(state, MMUSIM_KMAP_STACK_2_6_37);
}

static void test_local_5_11_coherent(void **state)
{
    zero_violations(state, MMUSIM_KMAP_LOCAL_5_11);
}

static void test_heap_coherent(void **state)
{
    zero_violations(state, MMUSIM_KMAP_HEAP);
}

/*
 * Without the unmap's INVLPG the slot's old translation stays in the TLB
 * after the PTE is cleared, and the next map of the slot (which writes a
 * new PTE without a flush) is read through the stale entry: the checker
 * reports it, naming the CPU whose store changed the entry. (slot-2.6.19
 * flushes at map, so switching the unmap flush off changes nothing there.)
 */
static void no_flush_is_caught(void **state, enum mmusim_kmap_variant v)
{
    struct world w;
    run_world(state, v, 1, &w);
    uint64_t n = mmusim_machine_coherence_violations(w.m, NULL, 0);
    assert_true(n > 0);
    struct mmusim_coherence_violation vio;
    assert_true(mmusim_machine_coherence_violations(w.m, &vio, 1) >= 1);
    assert_true(vio.writer_cpu < NCPUS);
    assert_int_equal(vio.writer_cpu, vio.cpu); /* a kmap slot is written by its own CPU */
}

static void test_slot_2_6_36_without_unmap_flush_is_caught(void **state)
{
    no_flush_is_caught(state, MMUSIM_KMAP_SLOT_2_6_36);
}

static void test_stack_2_6_37_without_unmap_flush_is_caught(void **state)
{
    no_flush_is_caught(state, MMUSIM_KMAP_STACK_2_6_37);
}

static void test_local_5_11_without_unmap_flush_is_caught(void **state)
{
    no_flush_is_caught(state, MMUSIM_KMAP_LOCAL_5_11);
}

static void test_heap_without_unmap_flush_is_caught(void **state)
{
    no_flush_is_caught(state, MMUSIM_KMAP_HEAP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_slot_2_6_19_coherent),
        TS_TEST(test_slot_2_6_36_coherent),
        TS_TEST(test_stack_2_6_37_coherent),
        TS_TEST(test_local_5_11_coherent),
        TS_TEST(test_heap_coherent),
        TS_TEST(test_slot_2_6_36_without_unmap_flush_is_caught),
        TS_TEST(test_stack_2_6_37_without_unmap_flush_is_caught),
        TS_TEST(test_local_5_11_without_unmap_flush_is_caught),
        TS_TEST(test_heap_without_unmap_flush_is_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
