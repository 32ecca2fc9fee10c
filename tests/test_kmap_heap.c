/*
 * The heap window (include/mmusim/kmap.h, docs/kmap.md "The heap window"):
 * each CPU's kmap slots handed out as runs, first fit from the lowest
 * address, released in any order. Beyond Linux, so the counts here are
 * derived from the window's own paths (docs/kmap.md), built from the same
 * kernel primitives as kmap_atomic's stack form (linux-highmem.md §4, §7):
 * a page mapped is one set_pte with no flush; a page unmapped is one
 * pte_clear and one local invlpg; the allocator's bits are touched inside
 * local_irq_save/restore, one irq_save_restore per map and per unmap. The
 * machines are of era 2.6.37, whose KM_TYPE_NR 20 is the window's size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

#define MAXP 64

static mmusim_kmap_layer *heap_layer(void **state, unsigned ncpus, mmusim_machine **out)
{
    static const char *const kv[] = {"era", "2.6.37", NULL};
    mmusim_machine *m = ts_machine(state, ncpus, kv);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_HEAP);
    mmusim_kmap_layer *k = NULL;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    *out = m;
    return k;
}

/* The window's size: the stack form's depth, KM_TYPE_NR (20 in 2.6.37), at most 64. */
static uint32_t depth_of(const mmusim_machine *m)
{
    uint32_t d = mmusim_machine_layout(m)->kmap_slots_per_cpu;
    return d > 64 ? 64 : d;
}

/* Window page p of CPU cpu: slot depth-1-p, so p = 0 is the lowest address and p+1 the next page up. */
static uint32_t win_va(const mmusim_machine *m, unsigned cpu, uint32_t p)
{
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    return mmusim_kmap_slot_vaddr(l, mmusim_kmap_idx(l, cpu, depth_of(m) - 1u - p));
}

/* n fresh frames of zone z, the first byte of frame j set to 0x20 + j. */
static void frames(mmusim_machine *m, enum mmusim_zone z, unsigned n, uint64_t *pfn)
{
    for (unsigned j = 0; j < n; j++) {
        assert_int_equal(mmusim_frame_alloc(m, z, &pfn[j]), MMUSIM_OK);
        uint8_t v = (uint8_t)(0x20 + j);
        assert_int_equal(mmusim_phys_write(m, pfn[j] << MMUSIM_PAGE_SHIFT, &v, 1), MMUSIM_OK);
    }
}

static uint64_t pte_of(const mmusim_machine *m, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, mmusim_kernel_cr3(m), va, &info), MMUSIM_OK);
    return info.raw;
}

static struct mmusim_kmap_stats kstats(const mmusim_kmap_layer *k, int cpu)
{
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, cpu, &s), MMUSIM_OK);
    return s;
}

static void check_report(const mmusim_machine *m, unsigned n, enum mmusim_report_kind kind, unsigned cpu,
                         uint32_t address)
{
    struct mmusim_report r[16];
    uint64_t total = mmusim_machine_reports(m, r, 16);
    assert_true(n < total && n < 16);
    assert_int_equal(r[n].kind, kind);
    assert_int_equal(r[n].cpu, cpu);
    assert_int_equal(r[n].address, address);
}

/* ---- a scripted actor: one operation per step ---- */

enum op_kind {
    OP_HMAP,    /* kmap_heap(pages j .. j+n-1) into run[r] */
    OP_HUNMAP,  /* kunmap_heap(run[r]) */
    OP_HUNMAP_VA, /* kunmap_heap(n) */
    OP_AMAP,    /* kmap_atomic(page j) into run[r] */
    OP_AUNMAP,  /* kunmap_atomic(run[r]) */
    OP_READ,    /* one byte at run[r] + n pages into got[r][n] */
};

struct op {
    enum op_kind kind;
    unsigned r, j;
    uint64_t n;
};

struct actor {
    mmusim_kmap_layer *k;
    const uint64_t *pfn;
    struct op prog[96];
    unsigned n, pc;
    int rc[96];
    unsigned preempt[96];
    uint64_t cycles[96];        /* what each op charged */
    struct mmusim_kaddr run[32];
    uint8_t got[32][8];
    int faulted;
};

static void add(struct actor *a, enum op_kind kind, unsigned r, unsigned j, uint64_t n)
{
    assert_true(a->n < 96);
    a->prog[a->n++] = (struct op){kind, r, j, n};
}

static enum mmusim_step actor_step(mmusim_cpu *cpu, void *arg)
{
    struct actor *a = arg;
    if (a->pc == a->n)
        return MMUSIM_STEP_DONE;
    const struct op *o = &a->prog[a->pc];
    mmusim_machine *m = mmusim_cpu_machine(cpu);
    uint64_t t0 = mmusim_cpu_cycles(cpu);
    int rc = MMUSIM_OK;
    switch (o->kind) {
    case OP_HMAP: {
        struct mmusim_page pg[MAXP];
        for (unsigned i = 0; i < o->n; i++)
            pg[i] = mmusim_page_of_pfn(m, a->pfn[o->j + i]);
        rc = mmusim_kmap_heap(cpu, a->k, pg, (unsigned)o->n, &a->run[o->r]);
        break;
    }
    case OP_HUNMAP:
        rc = mmusim_kunmap_heap(cpu, a->k, a->run[o->r]);
        break;
    case OP_HUNMAP_VA:
        rc = mmusim_kunmap_heap(cpu, a->k, (struct mmusim_kaddr){(uint32_t)o->n});
        break;
    case OP_AMAP:
        rc = mmusim_kmap_atomic(cpu, a->k, mmusim_page_of_pfn(m, a->pfn[o->j]), MMUSIM_KM_USER0, &a->run[o->r]);
        break;
    case OP_AUNMAP:
        rc = mmusim_kunmap_atomic(cpu, a->k, a->run[o->r], MMUSIM_KM_USER0);
        break;
    case OP_READ: {
        struct mmusim_access acc;
        rc = mmusim_cpu_access(cpu, a->run[o->r].va + (uint32_t)o->n * MMUSIM_PAGE_SIZE, MMUSIM_ACC_READ, 1,
                               &a->got[o->r][o->n], &acc);
        a->faulted |= acc.fault;
        break;
    }
    }
    a->cycles[a->pc] = mmusim_cpu_cycles(cpu) - t0;
    a->rc[a->pc] = rc;
    a->preempt[a->pc] = mmusim_cpu_preempt_count(cpu);
    a->pc++;
    return a->pc == a->n ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

static void actor_init(struct actor *a, mmusim_kmap_layer *k, const uint64_t *pfn)
{
    memset(a, 0, sizeof(*a));
    a->k = k;
    a->pfn = pfn;
}

/* Every op returned rc except those listed in bad (index, rc) pairs, ended by -1. */
static void rcs(const struct actor *a, const int *bad)
{
    assert_int_equal(a->pc, a->n);
    assert_false(a->faulted);
    for (unsigned i = 0; i < a->n; i++) {
        int want = MMUSIM_OK;
        for (const int *b = bad; b && *b >= 0; b += 2)
            if ((unsigned)b[0] == i)
                want = b[1];
        assert_int_equal(a->rc[i], want);
    }
}

/* ==== a pair ==== */

/*
 * A one-page run and its release: the map takes the run inside
 * local_irq_save/restore (irq_save_restore) and sets the page with no
 * flush (pte_write); the unmap clears and flushes the page (pte_write +
 * invlpg) before giving the run back inside local_irq_save/restore. So 2
 * PTE writes and 1 local invlpg, no IPI, as kmap_atomic's stack form,
 * plus 2 irq_save_restore. Preemption is disabled while the run is held.
 * The first run is window page 0, the lowest address of the window.
 */
static void test_heap_pair_costs(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 2, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[1];
    frames(m, MMUSIM_ZONE_HIGHMEM, 1, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 1);
    add(&a, OP_READ, 0, 0, 0);
    add(&a, OP_HUNMAP, 0, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    rcs(&a, NULL);
    assert_int_equal(a.run[0].va, win_va(m, 0, 0));
    assert_int_equal(a.got[0][0], 0x20);
    assert_int_equal(a.preempt[0], 1);
    assert_int_equal(a.preempt[2], 0);
    assert_int_equal(a.cycles[0], c->pte_write + c->irq_save_restore);
    assert_int_equal(a.cycles[2], c->pte_write + c->invlpg + c->irq_save_restore);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.pte_writes, 2);
    assert_int_equal(s0.invlpg, 1);
    assert_int_equal(s0.ipis_sent + s1.ipis_received, 0);
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.heap_maps, 1);
    assert_int_equal(ks.heap_unmaps, 1);
    assert_int_equal(ks.heap_irq_cycles, 2 * (uint64_t)c->irq_save_restore);
    assert_int_equal(ks.map_cycles, a.cycles[0]);
    assert_int_equal(ks.unmap_cycles, a.cycles[2]);
    assert_int_equal(pte_of(m, win_va(m, 0, 0)), 0);
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== first fit and runs ==== */

/*
 * Runs of 1, 3 and 2 pages take window pages 0, 1-3 and 4-5, each at its
 * lowest address with pages[i] at address + i pages (a read of each page
 * of the 3-run sees pages 1, 2, 3 in order). With the 3-run released, a
 * 2-run fits first at page 1, the next 2-run finds page 3 too short and
 * goes to 6-7, and a 1-run takes page 3. An n-page map writes n PTEs and
 * flushes nothing; an n-page unmap writes n and flushes n.
 */
static void test_heap_first_fit_runs(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 2, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[12];
    frames(m, MMUSIM_ZONE_HIGHMEM, 12, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 1);  /* 0: page 0 */
    add(&a, OP_HMAP, 1, 1, 3);  /* 1: pages 1-3 */
    add(&a, OP_HMAP, 2, 4, 2);  /* 2: pages 4-5 */
    for (unsigned i = 0; i < 3; i++)
        add(&a, OP_READ, 1, 0, i);
    add(&a, OP_HUNMAP, 1, 0, 0); /* 6: pages 1-3 free */
    add(&a, OP_HMAP, 3, 6, 2);  /* 7: pages 1-2 */
    add(&a, OP_HMAP, 4, 8, 2);  /* 8: pages 6-7 */
    add(&a, OP_HMAP, 5, 10, 1); /* 9: page 3 */
    add(&a, OP_READ, 3, 0, 1);
    add(&a, OP_READ, 4, 0, 1);
    add(&a, OP_READ, 5, 0, 0);
    for (unsigned r = 0; r < 6; r++)
        if (r != 1)
            add(&a, OP_HUNMAP, r, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    rcs(&a, NULL);
    static const uint32_t at[6] = {0, 1, 4, 1, 6, 3};
    for (unsigned r = 0; r < 6; r++)
        assert_int_equal(a.run[r].va, win_va(m, 0, at[r]));
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(a.got[1][i], 0x21 + i);
    assert_int_equal(a.got[3][1], 0x27);
    assert_int_equal(a.got[4][1], 0x29);
    assert_int_equal(a.got[5][0], 0x2a);
    assert_int_equal(a.cycles[1], 3 * (uint64_t)c->pte_write + c->irq_save_restore);
    assert_int_equal(a.cycles[6], 3 * ((uint64_t)c->pte_write + c->invlpg) + c->irq_save_restore);
    /* Pages mapped: 1+3+2+2+2+1 = 11, each set once and cleared once, each clear flushed. */
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.pte_writes, 2 * 11);
    assert_int_equal(ks.invlpgs, 11);
    assert_int_equal(ks.heap_maps, 6);
    assert_int_equal(ks.heap_unmaps, 6);
    assert_int_equal(a.preempt[9], 5); /* five runs held */
    assert_int_equal(a.preempt[a.n - 1], 0);
    for (uint32_t p = 0; p < depth_of(m); p++)
        assert_int_equal(pte_of(m, win_va(m, 0, p)), 0);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * Release in any order: three pages released B, A, C (not the reverse of
 * their maps) with no report and every page clear; the window is then
 * whole again, so one run of the window's full size fits.
 */
static void test_heap_release_any_order(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    uint32_t d = depth_of(m);
    uint64_t pfn[MAXP];
    frames(m, MMUSIM_ZONE_HIGHMEM, d, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 1);
    add(&a, OP_HMAP, 1, 1, 1);
    add(&a, OP_HMAP, 2, 2, 1);
    add(&a, OP_HUNMAP, 1, 0, 0);
    add(&a, OP_HUNMAP, 0, 0, 0);
    add(&a, OP_READ, 2, 0, 0);
    add(&a, OP_HUNMAP, 2, 0, 0);
    add(&a, OP_HMAP, 3, 0, d);
    add(&a, OP_READ, 3, 0, 0);
    add(&a, OP_READ, 3, 0, 7);
    add(&a, OP_HUNMAP, 3, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    rcs(&a, NULL);
    assert_int_equal(a.got[2][0], 0x22);
    assert_int_equal(a.run[3].va, win_va(m, 0, 0));
    assert_int_equal(a.got[3][0], 0x20);
    assert_int_equal(a.got[3][7], 0x27);
    assert_int_equal(kstats(k, 0).invlpgs, 3 + d);
    assert_int_equal(ts_nreports(m), 0);
    for (uint32_t p = 0; p < d; p++)
        assert_int_equal(pte_of(m, win_va(m, 0, p)), 0);
}

/* ==== refusal and fragmentation ==== */

/*
 * With the whole window held (d one-page runs), a page more is refused
 * (MMUSIM_ENOWINDOW, heap_refused 1, not fragmentation: nothing is free).
 * With every other page released, d/2 pages are free but no two adjacent:
 * a 2-run is refused as fragmentation (heap_refused 2, heap_fragmented 1),
 * and a 1-run still fits, at the first hole (page 0). Refusals are not
 * reports, and change nothing: no PTE write, no invlpg, preemption as it
 * was.
 */
static void test_heap_refusal_and_fragmentation(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint32_t d = depth_of(m);
    uint64_t pfn[MAXP];
    frames(m, MMUSIM_ZONE_HIGHMEM, d + 1, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    for (unsigned r = 0; r < d; r++)
        add(&a, OP_HMAP, r, r, 1);
    unsigned full = a.n;
    add(&a, OP_HMAP, 31, d, 1);             /* refused: full */
    for (unsigned r = 0; r < d; r += 2)
        add(&a, OP_HUNMAP, r, 0, 0);
    unsigned frag = a.n;
    add(&a, OP_HMAP, 31, d - 1, 2);         /* refused: fragmented */
    add(&a, OP_HMAP, 30, d, 1);             /* fits at page 0 */
    add(&a, OP_READ, 30, 0, 0);
    add(&a, OP_HUNMAP, 30, 0, 0);
    for (unsigned r = 1; r < d; r += 2)
        add(&a, OP_HUNMAP, r, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    const int bad[] = {(int)full, MMUSIM_ENOWINDOW, (int)frag, MMUSIM_ENOWINDOW, -1};
    rcs(&a, bad);
    assert_int_equal(a.run[30].va, win_va(m, 0, 0));
    assert_int_equal(a.got[30][0], 0x20 + d);
    /* A refusal costs only the allocator's section, and holds nothing. */
    assert_int_equal(a.cycles[full], c->irq_save_restore);
    assert_int_equal(a.preempt[full], d);
    assert_int_equal(a.preempt[frag], d / 2);
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.heap_refused, 2);
    assert_int_equal(ks.heap_fragmented, 1);
    assert_int_equal(ks.heap_maps, d + 1);
    assert_int_equal(ks.pte_writes, 2 * (d + 1));
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== from a handler ==== */

/*
 * A hardirq taken while the task holds a 2-page run allocates a page of
 * the same window (page 2, the first free), reads it and gives it back;
 * the task's run is untouched. Inside a hardirq interrupts are already
 * off, so local_irq_restore leaves them off (no enable in hardirq, no
 * report). Four allocator sections in all: 4 irq_save_restore.
 */
static void test_heap_from_handler(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 3, pfn);
    struct actor a, h;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 2);
    add(&a, OP_READ, 0, 0, 0);
    for (unsigned i = 0; i < 4; i++)
        add(&a, OP_READ, 0, 0, 1); /* the interrupt comes between these steps */
    add(&a, OP_HUNMAP, 0, 0, 0);
    actor_init(&h, k, pfn);
    add(&h, OP_HMAP, 1, 2, 1);
    add(&h, OP_READ, 1, 0, 0);
    add(&h, OP_HUNMAP, 1, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    assert_int_equal(mmusim_irq_at(m, 0, c->ctx_switch + 2 * (uint64_t)c->pte_write + c->irq_save_restore + 1,
                                   actor_step, &h),
                     MMUSIM_OK);
    ts_run_all(m);
    rcs(&a, NULL);
    rcs(&h, NULL);
    assert_int_equal(ts_stats(m, 0).irqs, 1);
    assert_int_equal(h.run[1].va, win_va(m, 0, 2));
    assert_int_equal(h.got[1][0], 0x22);
    assert_int_equal(a.got[0][0], 0x20);
    assert_int_equal(a.got[0][1], 0x21);
    assert_int_equal(kstats(k, 0).heap_irq_cycles, 4 * (uint64_t)c->irq_save_restore);
    assert_int_equal(ts_nreports(m), 0);
    assert_false(mmusim_cpu_irqs_disabled(ts_cpu(m, 0)));
}

/* ==== misuse ==== */

/*
 * Freeing what is not a run is a BUG, refused with nothing changed: the
 * middle page of a held run, the same run twice, and a lowmem address
 * (outside the window). Each report names CPU 0 and the address given;
 * the run stays mapped and readable between the misuses, and a pair
 * works after them.
 */
static void test_heap_misuse_is_refused(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    uint64_t pfn[4];
    frames(m, MMUSIM_ZONE_HIGHMEM, 3, pfn);
    frames(m, MMUSIM_ZONE_NORMAL, 1, &pfn[3]);
    uint32_t mid = win_va(m, 0, 1), low = mmusim_machine_layout(m)->page_offset + 0x1000;
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 3);
    add(&a, OP_HUNMAP_VA, 0, 0, mid);        /* 1: BUG */
    add(&a, OP_READ, 0, 0, 1);
    add(&a, OP_HUNMAP, 0, 0, 0);
    add(&a, OP_HUNMAP, 0, 0, 0);             /* 4: BUG, freed already */
    add(&a, OP_HUNMAP_VA, 0, 0, low);        /* 5: BUG, not the window */
    add(&a, OP_HMAP, 1, 3, 1);               /* a lowmem page goes through the window too */
    add(&a, OP_READ, 1, 0, 0);
    add(&a, OP_HUNMAP, 1, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    const int bad[] = {1, MMUSIM_EKMAPBUG, 4, MMUSIM_EKMAPBUG, 5, MMUSIM_EKMAPBUG, -1};
    rcs(&a, bad);
    assert_int_equal(a.got[0][1], 0x21);
    assert_int_equal(a.run[1].va, win_va(m, 0, 0));
    assert_int_equal(a.got[1][0], 0x20);
    assert_int_equal(ts_nreports(m), 3);
    check_report(m, 0, MMUSIM_REPORT_BUG, 0, mid);
    check_report(m, 1, MMUSIM_REPORT_BUG, 0, win_va(m, 0, 0));
    check_report(m, 2, MMUSIM_REPORT_BUG, 0, low);
    assert_int_equal(kstats(k, 0).bugs, 3);
    assert_int_equal(kstats(k, 0).pte_writes, 2 * 4);
    assert_int_equal(a.preempt[a.n - 1], 0);
}

/* ==== kmap_atomic on the heap ==== */

/*
 * kmap_atomic of a highmem page on the heap variant is a one-page run
 * (pages 0 then 1), with pagefault_disable's preemption count (2.6.37: one
 * per map); the two are released first-in first-out, which the stack form
 * would WARN about (under DEBUG) and here is fine. A lowmem page gets its
 * direct-map address and no window page.
 */
static void test_heap_kmap_atomic(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    frames(m, MMUSIM_ZONE_NORMAL, 1, &pfn[2]);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_AMAP, 0, 0, 0);
    add(&a, OP_AMAP, 1, 1, 0);
    add(&a, OP_READ, 1, 0, 0);
    add(&a, OP_AUNMAP, 0, 0, 0);
    add(&a, OP_AUNMAP, 1, 0, 0);
    add(&a, OP_AMAP, 2, 2, 0);
    add(&a, OP_READ, 2, 0, 0);
    add(&a, OP_AUNMAP, 2, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    rcs(&a, NULL);
    static const unsigned want_preempt[] = {1, 2, 2, 1, 0, 1, 1, 0};
    for (unsigned i = 0; i < a.n; i++)
        assert_int_equal(a.preempt[i], want_preempt[i]);
    assert_int_equal(a.run[0].va, win_va(m, 0, 0));
    assert_int_equal(a.run[1].va, win_va(m, 0, 1));
    assert_int_equal(a.got[1][0], 0x21);
    assert_int_equal(a.run[2].va, mmusim_machine_layout(m)->page_offset + (uint32_t)(pfn[2] << MMUSIM_PAGE_SHIFT));
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.atomic_maps, 3);
    assert_int_equal(ks.heap_maps, 2);
    assert_int_equal(ks.pte_writes, 4);
    assert_int_equal(ks.invlpgs, 2);
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== windows per CPU, refusals of the call ==== */

/* Each CPU has its own window: CPU 1's first run is its own page 0, with no work on CPU 0. */
static void test_heap_window_per_cpu(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 2, &m);
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor a, b;
    actor_init(&a, k, pfn);
    add(&a, OP_HMAP, 0, 0, 1);
    add(&a, OP_HUNMAP, 0, 0, 0);
    actor_init(&b, k, pfn);
    add(&b, OP_HMAP, 0, 1, 1);
    add(&b, OP_READ, 0, 0, 0);
    add(&b, OP_HUNMAP, 0, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_spawn(m, 1, 0, actor_step, &b);
    ts_run_all(m);
    rcs(&a, NULL);
    rcs(&b, NULL);
    assert_int_equal(a.run[0].va, win_va(m, 0, 0));
    assert_int_equal(b.run[0].va, win_va(m, 1, 0));
    assert_int_equal(b.got[0][0], 0x21);
    assert_int_equal(kstats(k, 0).invlpgs, 1);
    assert_int_equal(kstats(k, 1).invlpgs, 1);
}

static void test_heap_refusals(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = heap_layer(state, 1, &m);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    struct mmusim_kaddr va;
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    struct mmusim_page pg[MAXP + 1];
    for (unsigned i = 0; i <= MAXP; i++)
        pg[i] = mmusim_page_of_pfn(m, pfn);
    assert_int_equal(mmusim_kmap_heap(NULL, k, pg, 1, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_heap(cpu, NULL, pg, 1, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_heap(cpu, k, NULL, 1, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_heap(cpu, k, pg, 1, NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_heap(cpu, k, pg, 0, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_heap(cpu, k, pg, depth_of(m) + 1, &va), MMUSIM_EINVAL);
    struct mmusim_page far = {mmusim_machine_layout(m)->max_pfn, MMUSIM_ZONE_HIGHMEM};
    assert_int_equal(mmusim_kmap_heap(cpu, k, &far, 1, &va), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kunmap_heap(NULL, k, va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_local(cpu, k, pg[0], &va), MMUSIM_EKMAPVARIANT);
    assert_int_equal(mmusim_cpu_preempt_count(cpu), 0);
    assert_int_equal(kstats(k, 0).heap_refused, 0);
    assert_int_equal(ts_nreports(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_heap_pair_costs),
        TS_TEST(test_heap_first_fit_runs),
        TS_TEST(test_heap_release_any_order),
        TS_TEST(test_heap_refusal_and_fragmentation),
        TS_TEST(test_heap_from_handler),
        TS_TEST(test_heap_misuse_is_refused),
        TS_TEST(test_heap_kmap_atomic),
        TS_TEST(test_heap_window_per_cpu),
        TS_TEST(test_heap_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
