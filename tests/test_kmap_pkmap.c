/*
 * kmap and kunmap: the pkmap pool (include/mmusim/kmap.h, docs/kmap.md).
 * Every count asserted here is one of ../shared/docs/linux-highmem.md §7
 * (the table "Flush counts per operation" and the amortization note),
 * derived from mm/highmem.c's kmap_high / map_new_virtual /
 * flush_all_zero_pkmaps / kunmap_high / kmap_flush_unused of the era named
 * (2.6.18: the flush at every wrap; 2.6.32: need_flush), and from x86's
 * kmap / kunmap (2.6.18 arch/i386/mm/highmem.c, 2.6.32
 * arch/x86/mm/highmem_32.c: might_sleep, BUG if in_interrupt) and
 * flush_tlb_all (on_each_cpu(do_flush_tlb_all): an IPI to every other CPU,
 * linux-highmem.md §6). The misuses are those of DESIGN.md's list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

/* A task that kmaps then kunmaps pages pfn[0..n-1] in turn (keep: no kunmap), each call a step of its own. */
struct mapper {
    mmusim_kmap_layer *k;
    const uint64_t *pfn;
    unsigned n, i;
    int keep;
    int phase;   /* 0: call kmap; 1: kmap done; 2: kunmap done */
    int rc;
    unsigned pending;
    struct mmusim_kaddr addr;
    uint32_t first_va;
};

static enum mmusim_step mapper_step(mmusim_cpu *cpu, void *arg)
{
    struct mapper *m = arg;
    if (m->i == m->n)
        return MMUSIM_STEP_DONE;
    mmusim_machine *mach = mmusim_cpu_machine(cpu);
    struct mmusim_page page = mmusim_page_of_pfn(mach, m->pfn[m->i]);
    switch (m->phase) {
    case 0:
        m->rc = mmusim_kmap(cpu, m->k, page, &m->addr);
        assert_false(mmusim_is_error(m->rc));
        m->pending += m->rc == MMUSIM_PENDING;
        m->phase = 1;
        return MMUSIM_STEP_MORE;
    case 1:
        if (m->i == 0)
            m->first_va = m->addr.va;
        if (m->keep) {
            m->phase = 0;
            m->i++;
            return MMUSIM_STEP_MORE;
        }
        m->rc = mmusim_kunmap(cpu, m->k, page);
        assert_false(mmusim_is_error(m->rc));
        m->phase = 2;
        return MMUSIM_STEP_MORE;
    default:
        m->phase = 0;
        m->i++;
        return MMUSIM_STEP_MORE;
    }
}

/* A machine with a kmap layer of variant v; kv as for ts_machine. */
static mmusim_kmap_layer *layer(void **state, unsigned ncpus, const char *const *kv, enum mmusim_kmap_variant v,
                                mmusim_machine **out)
{
    mmusim_machine *m = ts_machine(state, ncpus, kv);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, v);
    mmusim_kmap_layer *k;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    *out = m;
    return k;
}

/* n fresh HighMem frames. */
static uint64_t *highmem_frames(mmusim_machine *m, unsigned n)
{
    uint64_t *p = test_malloc(n * sizeof(*p));
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &p[i]), MMUSIM_OK);
    return p;
}

/* §7: kmap/kunmap of a lowmem page: no lock, no PTE write, no TLB work; the direct-map address. */
static void test_lowmem_kmap_is_free(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 1, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &pfn), MMUSIM_OK);
    struct mapper t = {.k = k, .pfn = &pfn, .n = 1};
    ts_spawn(m, 0, 0, mapper_step, &t);
    ts_run_all(m);
    assert_int_equal(t.first_va, mmusim_machine_layout(m)->page_offset + (uint32_t)(pfn << 12));
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, -1, &s), MMUSIM_OK);
    assert_int_equal(s.kmaps, 1);
    assert_int_equal(s.kmap_lowmem, 1);
    assert_int_equal(s.pte_writes, 0);
    assert_int_equal(ts_stats(m, 0).pte_writes, 0);
    assert_int_equal(ts_stats(m, 0).lock_acquires, 0);
    assert_int_equal(ts_stats(m, 0).invlpg, 0);
}

/*
 * §2, §7: the first kmap of a highmem page takes slot 1 (last_pkmap_nr is
 * pre-incremented from 0), one PTE write, no flush; a second kmap of the
 * same page is a hit: no PTE write. The address is PKMAP_ADDR(1), and the
 * page_address table holds it until the slot is flushed away.
 */
static void test_first_kmap_takes_slot_one_and_a_hit_writes_nothing(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 1, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 1);
    uint64_t twice[2] = {pfn[0], pfn[0]};
    struct mapper t = {.k = k, .pfn = twice, .n = 2, .keep = 1};
    ts_spawn(m, 0, 0, mapper_step, &t);
    ts_run_all(m);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    assert_int_equal(t.first_va, mmusim_pkmap_addr(l, 1));
    assert_int_equal(t.addr.va, mmusim_pkmap_addr(l, 1));
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, 0, &s), MMUSIM_OK);
    assert_int_equal(s.kmap_misses, 1);
    assert_int_equal(s.kmap_hits, 1);
    assert_int_equal(s.pte_writes, 1);
    assert_int_equal(s.global_flushes, 0);
    assert_int_equal(ts_stats(m, 0).invlpg + ts_stats(m, 0).global_flushes, 0);
    struct mmusim_page page = mmusim_page_of_pfn(m, pfn[0]);
    assert_int_equal(mmusim_page_address(k, page).va, mmusim_pkmap_addr(l, 1));
    test_free(pfn);
}

/*
 * §7 amortization: new mappings flush only at a wrap. With kunmap after
 * each kmap, the first LAST_PKMAP - 1 new pages take slots 1 .. LAST_PKMAP
 * - 1 (slot 0 is skipped after boot) with no flush; the next one wraps:
 * flush_all_zero_pkmaps clears the LAST_PKMAP - 1 count-1 slots and does
 * one flush_tlb_kernel_range, and the page takes slot 0. PAE halves the
 * pool (LAST_PKMAP 512).
 */
static void wrap_after_last_pkmap_minus_one(void **state, const char *paging, uint32_t last_pkmap)
{
    const char *const kv[] = {"paging", paging, NULL};
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 1, kv, MMUSIM_KMAP_SLOT_2_6_36, &m);
    assert_int_equal(mmusim_machine_layout(m)->last_pkmap, last_pkmap);
    unsigned n = last_pkmap;
    uint64_t *pfn = highmem_frames(m, n);
    struct mapper t = {.k = k, .pfn = pfn, .n = n - 1};
    ts_spawn(m, 0, 0, mapper_step, &t);
    ts_run_all(m);
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, -1, &s), MMUSIM_OK);
    assert_int_equal(s.kmap_misses, n - 1);
    assert_int_equal(s.wraps, 0);
    assert_int_equal(s.global_flushes, 0);
    assert_int_equal(s.pte_writes, n - 1);

    /* One more new page: the wrap. */
    struct mapper u = {.k = k, .pfn = &pfn[n - 1], .n = 1};
    ts_spawn(m, 0, 0, mapper_step, &u);
    ts_run_all(m);
    assert_int_equal(mmusim_kmap_stats(k, -1, &s), MMUSIM_OK);
    assert_int_equal(s.wraps, 1);
    assert_int_equal(s.wrap_cleared, n - 1);
    assert_int_equal(s.wrap_flushes, 1);
    assert_int_equal(s.pte_writes, (n - 1) + (n - 1) + 1); /* sets, the sweep's clears, the new set */
    assert_int_equal(u.first_va, mmusim_pkmap_addr(mmusim_machine_layout(m), 0));
    test_free(pfn);
}

static void test_wrap_after_1023_new_kmaps(void **state)
{
    wrap_after_last_pkmap_minus_one(state, "2level", 1024);
}

static void test_pae_halves_the_pool(void **state)
{
    wrap_after_last_pkmap_minus_one(state, "pae", 512);
}

/* A layer made with opts (pkmap_era and the like). */
static mmusim_kmap_layer *layer_opts(void **state, unsigned ncpus, const char *const *kv,
                                     const struct mmusim_kmap_opts *o, mmusim_machine **out)
{
    mmusim_machine *m = ts_machine(state, ncpus, kv);
    mmusim_kmap_layer *k;
    assert_int_equal(mmusim_kmap_create(m, o, &k), MMUSIM_OK);
    *out = m;
    return k;
}

static struct mmusim_kmap_stats kstats(const mmusim_kmap_layer *k, int cpu)
{
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, cpu, &s), MMUSIM_OK);
    return s;
}

static struct mmusim_report nth_report(const mmusim_machine *m, uint64_t i)
{
    struct mmusim_report r[16];
    uint64_t n = mmusim_machine_reports(m, r, 16);
    assert_true(i < n && i < 16);
    return r[i];
}

/* ---- flush_tlb_all at a wrap, on an SMP machine ---- */

/* A kernel thread that spins (plain work, one step at a time) until *stop. */
struct spinner {
    const int *stop;
    uint64_t steps;
};

static enum mmusim_step spinner_step(mmusim_cpu *cpu, void *arg)
{
    struct spinner *s = arg;
    if (*s->stop)
        return MMUSIM_STEP_DONE;
    s->steps++;
    mmusim_cpu_spend(cpu, 1000);
    return MMUSIM_STEP_MORE;
}

/* A user task of one step: it only leaves its address space loaded for the kernel thread after it. */
static enum mmusim_step user_once(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, 100);
    return MMUSIM_STEP_DONE;
}

/* The mapper, and *stop set once it is done. */
struct stopping_mapper {
    struct mapper m;
    int *stop;
};

static enum mmusim_step stopping_mapper_step(mmusim_cpu *cpu, void *arg)
{
    struct stopping_mapper *s = arg;
    enum mmusim_step r = mapper_step(cpu, &s->m);
    if (r == MMUSIM_STEP_DONE)
        *s->stop = 1;
    return r;
}

/*
 * §7, the wrap row: "1 × flush_tlb_all: IPI to all other CPUs, full flush
 * including global entries on every CPU". A 4-CPU machine (2.6.32): CPU 0
 * kmaps and kunmaps 2 LAST_PKMAP new pages, so last_pkmap_nr wraps twice
 * (the first after LAST_PKMAP - 1 new mappings, the second LAST_PKMAP
 * later); each wrap clears the count-1 slots and makes one
 * flush_tlb_kernel_range, which in 2.6.32 is flush_tlb_all:
 * on_each_cpu(do_flush_tlb_all) sends one IPI to each of the 3 other CPUs,
 * and every CPU runs __flush_tlb_all, a CR4.PGE toggle on these PGE CPUs.
 * The other CPUs run kernel threads that borrow the address space of the
 * user task run before them (lazy TLB).
 */
static void test_wrap_flush_ipis_on_4_cpus(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 4, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    const uint32_t n = mmusim_machine_layout(m)->last_pkmap;
    assert_int_equal(n, 1024);
    uint64_t *pfn = highmem_frames(m, 2 * n);
    int stop = 0;
    struct stopping_mapper t = {.m = {.k = k, .pfn = pfn, .n = 2 * n}, .stop = &stop};
    struct spinner sp[3];
    ts_spawn(m, 0, 0, stopping_mapper_step, &t);
    for (unsigned c = 1; c < 4; c++) {
        uint64_t cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
        ts_spawn(m, c, cr3, user_once, NULL);
        sp[c - 1] = (struct spinner){.stop = &stop};
        ts_spawn(m, c, 0, spinner_step, &sp[c - 1]);
    }
    ts_run_all(m);

    struct mmusim_kmap_stats s = kstats(k, -1), s0 = kstats(k, 0);
    assert_int_equal(s.kmap_misses, 2 * n);
    assert_int_equal(s.wraps, 2);
    assert_int_equal(s.wrap_cleared, (n - 1) + n); /* slots 1..n-1 at the first wrap, all n at the second */
    assert_int_equal(s.wrap_flushes, 2);
    assert_int_equal(s.global_flushes, 2);
    assert_int_equal(s0.ipis_sent, 2 * 3); /* ncpus - 1 per wrap, counted in the layer */
    assert_int_equal(s.ipis_sent, 2 * 3);
    struct mmusim_cpu_stats c0 = ts_stats(m, 0);
    assert_int_equal(c0.ipis_sent, 2 * 3);
    assert_int_equal(c0.shootdowns, 2);
    assert_int_equal(c0.global_flushes, 2); /* the local __flush_tlb_all after the acknowledgements */
    assert_int_equal(c0.ipis_received, 0);
    for (unsigned c = 1; c < 4; c++) {
        struct mmusim_cpu_stats sc = ts_stats(m, c);
        assert_int_equal(sc.ipis_received, 2);
        assert_int_equal(sc.ipis_sent, 0);
        assert_int_equal(sc.global_flushes, 2);
        assert_true(sp[c - 1].steps > 0);
        /*
         * CR3 on the lazy CPUs (2.6.18-2.6.37 do_flush_tlb_all: leave_mm if
         * cpu_tlbstate.state is TLBSTATE_LAZY, which only switch_mm resets):
         * each flush_tlb_all reloads CR3 with swapper_pg_dir, so each of these
         * CPUs makes 2 leave_mm and 2 CR3 writes after the one of the user
         * task's switch.
         */
        assert_int_equal(sc.leave_mm, 2);
        assert_int_equal(sc.cr3_writes, 1 + 2);
    }
    /* A new kmap never flushes: no other TLB work than the two wraps'. */
    assert_int_equal(c0.invlpg, 0);
    test_free(pfn);
}

/*
 * A wrap that clears nothing: every slot still held (count 2) when
 * last_pkmap_nr comes back to 0. 2.6.32's flush_all_zero_pkmaps flushes only
 * if need_flush (a slot went from 1 to 0): no flush, no IPI. 2.6.18's
 * flushes unconditionally: one flush_tlb_all, one IPI to the other CPU
 * (§7: "≤2.6.24 even if k=0"). Either way the LAST_PKMAP-th page takes
 * slot 0, free since boot.
 */
static void wrap_clearing_nothing(void **state, enum mmusim_era era, uint64_t flushes)
{
    mmusim_machine *m;
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_SLOT_2_6_36);
    o.pkmap_era = era;
    mmusim_kmap_layer *k = layer_opts(state, 2, NULL, &o, &m);
    assert_int_equal(mmusim_kmap_options(k)->pkmap_era, era);
    const uint32_t n = mmusim_machine_layout(m)->last_pkmap;
    uint64_t *pfn = highmem_frames(m, n);
    struct mapper t = {.k = k, .pfn = pfn, .n = n, .keep = 1};
    ts_spawn(m, 0, 0, mapper_step, &t);
    ts_run_all(m);
    assert_int_equal(t.addr.va, mmusim_pkmap_addr(mmusim_machine_layout(m), 0));
    struct mmusim_kmap_stats s = kstats(k, -1);
    assert_int_equal(s.kmap_misses, n);
    assert_int_equal(s.wraps, 1);
    assert_int_equal(s.wrap_cleared, 0);
    assert_int_equal(s.wrap_flushes, flushes);
    assert_int_equal(s.ipis_sent, flushes);
    assert_int_equal(s.pte_writes, n); /* the sets alone */
    assert_int_equal(ts_stats(m, 1).ipis_received, flushes);
    assert_int_equal(ts_stats(m, 0).shootdowns, flushes);
    test_free(pfn);
}

static void test_wrap_that_cleared_nothing(void **state)
{
    wrap_clearing_nothing(state, MMUSIM_ERA_2_6_32, 0);
    wrap_clearing_nothing(state, MMUSIM_ERA_2_6_18, 1);
}

/* ---- a task that maps and holds pages, then unmaps them, when told ---- */

typedef int (*holder_cond)(void *ctx);

enum { HOLD_WAIT_GO, HOLD_MAP, HOLD_WAIT_RELEASE, HOLD_UNMAP, HOLD_WAIT_RELEASE2, HOLD_UNMAP2 };

/*
 * Waits (spending WAIT_SPEND per step) until go(ctx), kmaps pfn[0..n-1] one
 * per step and holds them, waits until release(ctx), kunmaps the first
 * n_first of them (all if 0), waits until release2(ctx), kunmaps the rest.
 * A NULL condition is true.
 */
#define WAIT_SPEND 2000u

struct holder {
    mmusim_kmap_layer *k;
    const uint64_t *pfn;
    unsigned n, n_first;
    struct mmusim_kaddr *addr; /* [n] */
    holder_cond go, release, release2;
    void *ctx;
    int phase, called;
    unsigned i, held, pending;
    int all_held;
    uint64_t first_kunmap_at;
};

static int cond_true(holder_cond c, void *ctx)
{
    return !c || c(ctx);
}

static enum mmusim_step holder_step(mmusim_cpu *cpu, void *arg)
{
    struct holder *h = arg;
    mmusim_machine *m = mmusim_cpu_machine(cpu);
    int rc;
    switch (h->phase) {
    case HOLD_WAIT_GO:
        if (!cond_true(h->go, h->ctx)) {
            mmusim_cpu_spend(cpu, WAIT_SPEND);
            return MMUSIM_STEP_MORE;
        }
        h->phase = HOLD_MAP;
        /* fall through */
    case HOLD_MAP:
        if (h->called) {
            /* The previous kmap is complete (at once, or the engine completed it). */
            h->called = 0;
            assert_true(h->addr[h->i].va != 0);
            h->i++;
            h->held++;
        }
        if (h->i < h->n) {
            rc = mmusim_kmap(cpu, h->k, mmusim_page_of_pfn(m, h->pfn[h->i]), &h->addr[h->i]);
            assert_false(mmusim_is_error(rc));
            h->pending += rc == MMUSIM_PENDING;
            h->called = 1;
            return MMUSIM_STEP_MORE;
        }
        h->all_held = 1;
        h->i = 0;
        h->phase = HOLD_WAIT_RELEASE;
        /* fall through */
    case HOLD_WAIT_RELEASE:
        if (!cond_true(h->release, h->ctx)) {
            mmusim_cpu_spend(cpu, WAIT_SPEND);
            return MMUSIM_STEP_MORE;
        }
        h->phase = HOLD_UNMAP;
        /* fall through */
    case HOLD_UNMAP:
        if (h->i < (h->n_first ? h->n_first : h->n)) {
            if (h->i == 0)
                h->first_kunmap_at = mmusim_cpu_cycles(cpu);
            rc = mmusim_kunmap(cpu, h->k, mmusim_page_of_pfn(m, h->pfn[h->i]));
            assert_false(mmusim_is_error(rc));
            h->i++;
            h->held--;
            return MMUSIM_STEP_MORE;
        }
        h->phase = HOLD_WAIT_RELEASE2;
        /* fall through */
    case HOLD_WAIT_RELEASE2:
        if (!cond_true(h->release2, h->ctx)) {
            mmusim_cpu_spend(cpu, WAIT_SPEND);
            return MMUSIM_STEP_MORE;
        }
        h->phase = HOLD_UNMAP2;
        /* fall through */
    default:
        if (h->i < h->n) {
            rc = mmusim_kunmap(cpu, h->k, mmusim_page_of_pfn(m, h->pfn[h->i]));
            assert_false(mmusim_is_error(rc));
            h->i++;
            h->held--;
            return MMUSIM_STEP_MORE;
        }
        return MMUSIM_STEP_DONE;
    }
}

static int sleeping(const mmusim_task *t)
{
    return mmusim_task_state(t) == MMUSIM_TASK_SLEEPING;
}

/* ---- the pool exhausted: sleeping on pkmap_map_wait ---- */

#define POOL_HOLD 300u
#define POOL_FIFTH 100u

struct pool {
    struct holder h[5];
    mmusim_task *t[5];
    int both_slept;
    unsigned t3_held_at_sleep, t4_held_at_sleep;
};

static int prev_holds_all(void *ctx, unsigned i)
{
    struct pool *p = ctx;
    return p->h[i - 1].all_held;
}

static int go1(void *ctx)
{
    return prev_holds_all(ctx, 1);
}

static int go2(void *ctx)
{
    return prev_holds_all(ctx, 2);
}

static int go3(void *ctx)
{
    return prev_holds_all(ctx, 3);
}

/* Both tasks of CPU 3 asleep (a latch: it stays true once seen). */
static int both_asleep(void *ctx)
{
    struct pool *p = ctx;
    if (!p->both_slept && sleeping(p->t[3]) && sleeping(p->t[4])) {
        p->both_slept = 1;
        p->t3_held_at_sleep = p->h[3].held;
        p->t4_held_at_sleep = p->h[4].held;
    }
    return p->both_slept;
}

/*
 * More held kmaps than LAST_PKMAP: tasks on CPUs 0, 1, 2 each kmap and hold
 * 300 pages, one after the other (900 slots: 1..900); then the task on CPU
 * 3 wants 300 too: it gets slots 901..1023 and, after a wrap that clears
 * nothing, slot 0, 124 = LAST_PKMAP - 900 in all, and its next kmap finds
 * no free slot in a whole scan: map_new_virtual sleeps on pkmap_map_wait
 * (TASK_UNINTERRUPTIBLE, kmap_lock dropped). Its CPU then runs the fifth
 * task, which needs 100 more: it sleeps too. Once both sleep, the holders
 * kunmap: the first kunmap that brings a count to 1 finds the wait queue
 * active and wakes the sleepers (wake_up after unlock_kmap, outside the
 * lock, kunmap_high). Woken, each takes kmap_lock again, finds its page
 * still unmapped and rescans (goto start): the wrap frees the count-1
 * slots, and every task finishes. The sleeps and the time asleep are
 * counted on CPU 3 (sleeps, sleep_cycles, which kmap_cycles include).
 */
static void test_pool_exhaustion_sleeps_and_wakes(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 4, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    const uint32_t n = mmusim_machine_layout(m)->last_pkmap;
    struct pool p;
    memset(&p, 0, sizeof(p));
    uint64_t *pfn = highmem_frames(m, 4 * POOL_HOLD + POOL_FIFTH);
    struct mmusim_kaddr *addr = test_calloc(4 * POOL_HOLD + POOL_FIFTH, sizeof(*addr));
    const holder_cond go[5] = {NULL, go1, go2, go3, NULL};
    for (unsigned i = 0; i < 5; i++) {
        p.h[i] = (struct holder){.k = k,
                                 .pfn = pfn + i * POOL_HOLD,
                                 .addr = addr + i * POOL_HOLD,
                                 .n = i < 4 ? POOL_HOLD : POOL_FIFTH,
                                 .go = go[i],
                                 .release = i < 3 ? both_asleep : NULL,
                                 .ctx = &p};
        p.t[i] = ts_spawn(m, i < 4 ? i : 3, 0, holder_step, &p.h[i]);
    }
    ts_run_all(m);

    assert_true(p.both_slept);
    assert_int_equal(p.t3_held_at_sleep, n - 3 * POOL_HOLD); /* the pool was full: 124 */
    assert_int_equal(p.t4_held_at_sleep, 0);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(mmusim_task_state(p.t[i]), MMUSIM_TASK_DONE);
        assert_int_equal(p.h[i].held, 0);
    }
    /* The 300 pages CPU 3's first task held at once had 300 distinct slots. */
    for (unsigned a = 0; a < POOL_HOLD; a++)
        for (unsigned b = a + 1; b < POOL_HOLD; b++)
            assert_true(p.h[3].addr[a].va != p.h[3].addr[b].va);

    struct mmusim_kmap_stats s = kstats(k, -1), s3 = kstats(k, 3);
    assert_int_equal(s.kmap_misses, 4 * POOL_HOLD + POOL_FIFTH); /* distinct pages: never found mapped */
    assert_true(s3.sleeps >= 2);     /* both tasks of CPU 3 slept at least once */
    assert_int_equal(s.sleeps, s3.sleeps); /* nobody else did */
    assert_true(s3.sleep_cycles > 0);
    assert_true(s3.kmap_cycles >= s3.sleep_cycles);
    /* Each sleeper ran again only after a kunmap woke it. */
    assert_true(mmusim_task_resumed_at(p.t[3]) > p.h[0].first_kunmap_at);
    assert_true(mmusim_task_resumed_at(p.t[4]) > p.h[0].first_kunmap_at);
    /* Three wraps freed nothing before the sleeps (CPU 3's slot-0 wrap and one per
     * fruitless scan; 2.6.32: no flush at those); the rescans' wraps flush. */
    assert_true(s.wraps >= 3);
    assert_true(s.wrap_flushes >= 1 && s.wrap_flushes <= s.wraps - 3);
    test_free(addr);
    test_free(pfn);
}

/*
 * map_new_virtual after its sleep: "Somebody else might have mapped it
 * while we slept": if page_address(page) is set, it returns it at once,
 * with no rescan. The pool is full: one task holds all LAST_PKMAP slots
 * (slots 1..1023, then a wrap that clears nothing, then slot 0; its one
 * wrap). Tasks A (CPU 1) and then B (CPU 2) kmap the same new page: each
 * scan goes from last_pkmap_nr round to it, passing 0 once (a wrap that
 * clears nothing, and in 2.6.32 flushes nothing: one wrap each), finds no
 * count 0 in LAST_PKMAP tries after it and sleeps. The holder kunmaps its
 * first page (slot 1, count 2 to 1), waking both. A, first in time, takes
 * kmap_lock, finds the page unmapped, rescans: the scan passes 0 at once
 * (its second wrap), which clears slot 1 (one clear, one flush), and slot 1
 * is then free: A maps the page there. B, spinning on kmap_lock meanwhile,
 * then finds the page mapped and returns A's address: no rescan (no wrap
 * after its sleep), no PTE write, and no second sleep although the pool is
 * full again. Wraps: 1 + 2 + 1.
 */
struct woken {
    struct holder hold, a, b;
    mmusim_task *ta, *tb;
    int a_sleeping_seen;
};

static int pool_full(void *ctx)
{
    struct woken *w = ctx;
    return w->hold.all_held;
}

static int a_asleep(void *ctx)
{
    struct woken *w = ctx;
    if (sleeping(w->ta))
        w->a_sleeping_seen = 1;
    return w->a_sleeping_seen;
}

static int a_and_b_asleep(void *ctx)
{
    struct woken *w = ctx;
    return sleeping(w->ta) && sleeping(w->tb);
}

static int b_has_it(void *ctx)
{
    struct woken *w = ctx;
    return w->b.all_held;
}

static int a_and_b_done(void *ctx)
{
    struct woken *w = ctx;
    return mmusim_task_state(w->ta) == MMUSIM_TASK_DONE && mmusim_task_state(w->tb) == MMUSIM_TASK_DONE;
}

static void test_woken_task_finds_page_mapped(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 3, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    const uint32_t n = mmusim_machine_layout(m)->last_pkmap;
    uint64_t *pfn = highmem_frames(m, n + 1);
    struct mmusim_kaddr *addr = test_calloc(n, sizeof(*addr));
    struct mmusim_kaddr pa, pb;
    struct woken w;
    memset(&w, 0, sizeof(w));
    w.hold = (struct holder){.k = k, .pfn = pfn, .n = n, .addr = addr, .n_first = 1,
                             .release = a_and_b_asleep, .release2 = a_and_b_done, .ctx = &w};
    w.a = (struct holder){.k = k, .pfn = &pfn[n], .n = 1, .addr = &pa, .go = pool_full, .release = b_has_it,
                          .ctx = &w};
    w.b = (struct holder){.k = k, .pfn = &pfn[n], .n = 1, .addr = &pb, .go = a_asleep, .ctx = &w};
    ts_spawn(m, 0, 0, holder_step, &w.hold);
    w.ta = ts_spawn(m, 1, 0, holder_step, &w.a);
    w.tb = ts_spawn(m, 2, 0, holder_step, &w.b);
    ts_run_all(m);

    const struct mmusim_layout *l = mmusim_machine_layout(m);
    assert_int_equal(pa.va, addr[0].va); /* the slot the holder gave back, freed by A's wrap */
    assert_int_equal(pb.va, pa.va);
    assert_int_equal(addr[0].va, mmusim_pkmap_addr(l, 1));
    struct mmusim_kmap_stats sa = kstats(k, 1), sb = kstats(k, 2), s = kstats(k, -1);
    assert_int_equal(sa.sleeps, 1);
    assert_int_equal(sb.sleeps, 1);
    assert_int_equal(sa.wraps, 2);
    assert_int_equal(sa.wrap_cleared, 1);
    assert_int_equal(sa.wrap_flushes, 1);
    assert_int_equal(sa.pte_writes, 2); /* the sweep's clear, the new set */
    assert_int_equal(sb.wraps, 1);      /* its first scan's: B did not rescan after waking */
    assert_int_equal(sb.wrap_flushes, 0);
    assert_int_equal(sb.pte_writes, 0);
    assert_int_equal(sb.kmap_misses, 1); /* its first lookup, before the sleep */
    assert_int_equal(s.wraps, 1 + 2 + 1);
    assert_int_equal(s.wrap_flushes, 1);
    assert_int_equal(s.pte_writes, n + 2);
    test_free(addr);
    test_free(pfn);
}

/* ---- kmap_lock across CPUs ---- */

struct one_kmap {
    mmusim_kmap_layer *k;
    uint64_t pfn;
    struct mmusim_kaddr addr;
    int phase, rc;
};

static enum mmusim_step one_kmap_step(mmusim_cpu *cpu, void *arg)
{
    struct one_kmap *o = arg;
    if (o->phase++ == 0) {
        o->rc = mmusim_kmap(cpu, o->k, mmusim_page_of_pfn(mmusim_cpu_machine(cpu), o->pfn), &o->addr);
        assert_false(mmusim_is_error(o->rc));
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

/*
 * kmap_high takes kmap_lock (a global spinlock, §7: "half of the lock
 * contention events during kernel compile were due to kmap()"). Two CPUs
 * kmap a new page each at the same simulated time: CPU 0 (lower number,
 * first in time order) takes the lock and slot 1; CPU 1 spins until CPU 0
 * unlocks, then takes slot 2. The spin is counted in kmap_lock_spin_cycles
 * on CPU 1 only, and is part of its kmap's latency.
 */
static void test_kmap_lock_contention(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 2, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 2);
    struct one_kmap a = {.k = k, .pfn = pfn[0]}, b = {.k = k, .pfn = pfn[1]};
    ts_spawn(m, 0, 0, one_kmap_step, &a);
    ts_spawn(m, 1, 0, one_kmap_step, &b);
    ts_run_all(m);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    assert_int_equal(a.addr.va, mmusim_pkmap_addr(l, 1));
    assert_int_equal(b.addr.va, mmusim_pkmap_addr(l, 2));
    struct mmusim_kmap_stats s0 = kstats(k, 0), s1 = kstats(k, 1);
    assert_int_equal(s0.kmap_lock_spin_cycles, 0);
    assert_true(s1.kmap_lock_spin_cycles > 0);
    assert_true(s1.kmap_cycles > s1.kmap_lock_spin_cycles);
    assert_true(s1.kmap_cycles > s0.kmap_cycles);
    /* CPU 1 spun at most for CPU 0's whole kmap and the lock's hand-over. */
    assert_true(s1.kmap_lock_spin_cycles <= s0.kmap_cycles + ts_costs(m)->lock_handoff);
    assert_true(ts_stats(m, 1).lock_contended >= 1);
    assert_int_equal(ts_stats(m, 0).lock_contended, 0);
    test_free(pfn);
}

/* ---- kmap_flush_unused ---- */

struct flusher {
    mmusim_kmap_layer *k;
    int phase, rc;
    uint64_t newpfn;
    struct mmusim_kaddr addr;
};

static enum mmusim_step flush_unused_step(mmusim_cpu *cpu, void *arg)
{
    struct flusher *f = arg;
    switch (f->phase++) {
    case 0:
    case 1:
        f->rc = mmusim_kmap_flush_unused(cpu, f->k);
        assert_false(mmusim_is_error(f->rc));
        return MMUSIM_STEP_MORE;
    case 2:
        f->rc = mmusim_kmap(cpu, f->k, mmusim_page_of_pfn(mmusim_cpu_machine(cpu), f->newpfn), &f->addr);
        assert_false(mmusim_is_error(f->rc));
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

/*
 * kmap_flush_unused (2.6.32 mm/highmem.c): lock_kmap,
 * flush_all_zero_pkmaps, unlock_kmap. Five pages kmapped and kunmapped
 * (count 1) and a sixth held (count 2): the sweep clears the five, forgets
 * their page_address and makes one flush_tlb_kernel_range (one IPI to the
 * other CPU); the held page keeps its slot. A second call finds nothing to
 * clear: no flush (need_flush). last_pkmap_nr is left alone, so the next new
 * page takes slot 7.
 */
static void test_kmap_flush_unused(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 2, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 7);
    struct mapper t = {.k = k, .pfn = pfn, .n = 5};
    ts_spawn(m, 0, 0, mapper_step, &t);
    struct mapper h = {.k = k, .pfn = &pfn[5], .n = 1, .keep = 1};
    ts_spawn(m, 0, 0, mapper_step, &h);
    ts_run_all(m);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    assert_int_equal(h.addr.va, mmusim_pkmap_addr(l, 6));
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(mmusim_page_address(k, mmusim_page_of_pfn(m, pfn[i])).va, mmusim_pkmap_addr(l, i + 1));

    struct flusher f = {.k = k, .newpfn = pfn[6]};
    ts_spawn(m, 0, 0, flush_unused_step, &f);
    ts_run_all(m);
    struct mmusim_kmap_stats s = kstats(k, -1);
    assert_int_equal(s.wraps, 0);
    assert_int_equal(s.wrap_cleared, 5);
    assert_int_equal(s.wrap_flushes, 1); /* the first call's; the second had nothing to clear */
    assert_int_equal(s.ipis_sent, 1);
    assert_int_equal(ts_stats(m, 1).ipis_received, 1);
    assert_int_equal(s.pte_writes, 6 + 5 + 1); /* six sets, five clears, the new page's set */
    for (unsigned i = 0; i < 5; i++)
        assert_int_equal(mmusim_page_address(k, mmusim_page_of_pfn(m, pfn[i])).va, 0);
    assert_int_equal(mmusim_page_address(k, mmusim_page_of_pfn(m, pfn[5])).va, mmusim_pkmap_addr(l, 6));
    assert_int_equal(f.addr.va, mmusim_pkmap_addr(l, 7));
    test_free(pfn);
}

/* ---- misuse ---- */

struct irq_misuse {
    mmusim_kmap_layer *k;
    struct mmusim_page page, low, other;
    int phase, handler_ran;
    int rc_kmap, rc_kunmap, rc_kmap_low, rc_kunmap_low;
    uint64_t handler_clock[4];
    struct mmusim_kaddr addr, out;
};

/* The task kmaps page (held while the interrupt comes), then kunmaps it, then maps and unmaps another. */
static enum mmusim_step irq_misuse_task(mmusim_cpu *cpu, void *arg)
{
    struct irq_misuse *x = arg;
    int rc;
    switch (x->phase++) {
    case 0:
        rc = mmusim_kmap(cpu, x->k, x->page, &x->addr);
        assert_false(mmusim_is_error(rc));
        return MMUSIM_STEP_MORE;
    case 1:
        mmusim_cpu_spend(cpu, 100000); /* the interrupt arrives meanwhile */
        return MMUSIM_STEP_MORE;
    case 2:
        rc = mmusim_kunmap(cpu, x->k, x->page);
        assert_false(mmusim_is_error(rc));
        return MMUSIM_STEP_MORE;
    case 3:
        rc = mmusim_kmap(cpu, x->k, x->other, &x->out);
        assert_false(mmusim_is_error(rc));
        return MMUSIM_STEP_MORE;
    case 4:
        rc = mmusim_kunmap(cpu, x->k, x->other);
        assert_false(mmusim_is_error(rc));
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

static enum mmusim_step irq_misuse_handler(mmusim_cpu *cpu, void *arg)
{
    struct irq_misuse *x = arg;
    struct mmusim_kaddr a = {0};
    x->handler_ran++;
    x->handler_clock[0] = mmusim_cpu_cycles(cpu);
    x->rc_kmap = mmusim_kmap(cpu, x->k, x->page, &a);
    x->handler_clock[1] = mmusim_cpu_cycles(cpu);
    x->rc_kunmap = mmusim_kunmap(cpu, x->k, x->page);
    x->handler_clock[2] = mmusim_cpu_cycles(cpu);
    x->rc_kmap_low = mmusim_kmap(cpu, x->k, x->low, &a);
    x->handler_clock[3] = mmusim_cpu_cycles(cpu);
    x->rc_kunmap_low = mmusim_kunmap(cpu, x->k, x->low);
    return MMUSIM_STEP_DONE;
}

/*
 * kmap and kunmap from a hardirq handler. x86 kmap: might_sleep() first
 * (kmap_high may sleep: "BUG: sleeping function called from invalid
 * context"), before the PageHighMem test, so a lowmem page too; kunmap:
 * "if (in_interrupt()) BUG();" before its PageHighMem test. Each is a BUG
 * report naming the CPU, at the handler's clock, with no address, and is
 * refused (kmap MMUSIM_ECONTEXT, kunmap MMUSIM_EKMAPBUG): the task's
 * mapping is untouched, its own kunmap and later kmaps work.
 */
static void test_kmap_kunmap_in_hardirq(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 2, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 2);
    uint64_t low;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &low), MMUSIM_OK);
    struct irq_misuse x = {.k = k,
                           .page = mmusim_page_of_pfn(m, pfn[0]),
                           .other = mmusim_page_of_pfn(m, pfn[1]),
                           .low = mmusim_page_of_pfn(m, low)};
    ts_spawn(m, 1, 0, irq_misuse_task, &x);
    assert_int_equal(mmusim_irq_at(m, 1, 50000, irq_misuse_handler, &x), MMUSIM_OK);
    ts_run_all(m);
    assert_int_equal(x.handler_ran, 1);
    assert_int_equal(x.rc_kmap, MMUSIM_ECONTEXT);
    assert_int_equal(x.rc_kunmap, MMUSIM_EKMAPBUG);
    assert_int_equal(x.rc_kmap_low, MMUSIM_ECONTEXT);
    assert_int_equal(x.rc_kunmap_low, MMUSIM_EKMAPBUG);
    assert_int_equal(ts_nreports(m), 4);
    for (unsigned i = 0; i < 4; i++) {
        struct mmusim_report r = nth_report(m, i);
        assert_int_equal(r.kind, MMUSIM_REPORT_BUG);
        assert_int_equal(r.cpu, 1);
        assert_int_equal(r.cycle, x.handler_clock[i]); /* the checks come before any work */
        assert_int_equal(r.address, 0);
        assert_non_null(strstr(r.what, i % 2 ? "kunmap" : "kmap"));
    }
    assert_int_equal(kstats(k, 1).bugs, 4);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    assert_int_equal(x.addr.va, mmusim_pkmap_addr(l, 1));
    assert_int_equal(x.out.va, mmusim_pkmap_addr(l, 2));
    struct mmusim_kmap_stats s = kstats(k, -1);
    assert_int_equal(s.kmaps, 2); /* the task's; the refused ones are not kmaps */
    assert_int_equal(s.kunmaps, 2);
    assert_int_equal(s.kmap_misses, 2);
    test_free(pfn);
}

/* A task that runs a list of kmap (+1) and kunmap (-1) calls on pages, one per step, noting each status. */
struct calls {
    mmusim_kmap_layer *k;
    const uint64_t *pfn;
    const int *op;  /* +1 kmap, -1 kunmap, 0 ends */
    unsigned n, i;
    int rc[8];
    uint64_t at[8], end[8];
    struct mmusim_kaddr addr[8];
    int last_called;
};

static enum mmusim_step calls_step(mmusim_cpu *cpu, void *arg)
{
    struct calls *c = arg;
    if (c->last_called)
        c->end[c->i - 1] = mmusim_cpu_cycles(cpu);
    if (c->i == c->n)
        return MMUSIM_STEP_DONE;
    struct mmusim_page p = mmusim_page_of_pfn(mmusim_cpu_machine(cpu), c->pfn[c->i]);
    c->at[c->i] = mmusim_cpu_cycles(cpu);
    c->rc[c->i] = c->op[c->i] > 0 ? mmusim_kmap(cpu, c->k, p, &c->addr[c->i]) : mmusim_kunmap(cpu, c->k, p);
    c->end[c->i] = mmusim_cpu_cycles(cpu);
    c->last_called = c->rc[c->i] == MMUSIM_PENDING;
    c->i++;
    return MMUSIM_STEP_MORE;
}

/*
 * kunmap of a page that has no pkmap address: kunmap_high's
 * BUG_ON(!vaddr) after page_address (kmap_lock held, the bucket lock taken
 * and released). Refused here, with kmap_lock released; the report is made
 * under the lock, so its cycle is the call's end less the unlock's lock_op.
 * On one CPU nothing waits: the lock, the lookup's irqsave lock and unlock,
 * the report, the unlock, each lock operation lock_op. Then the page is
 * kmapped and kunmapped normally.
 */
static void test_kunmap_unmapped_page(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 1, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 1);
    const uint64_t pages[3] = {pfn[0], pfn[0], pfn[0]};
    const int op[3] = {-1, +1, -1};
    struct calls c = {.k = k, .pfn = pages, .op = op, .n = 3};
    ts_spawn(m, 0, 0, calls_step, &c);
    ts_run_all(m);
    assert_int_equal(c.rc[0], MMUSIM_EKMAPBUG);
    assert_int_equal(c.rc[1], MMUSIM_OK);
    assert_int_equal(c.rc[2], MMUSIM_OK);
    assert_int_equal(ts_nreports(m), 1);
    struct mmusim_report r = nth_report(m, 0);
    const uint64_t lock_op = ts_costs(m)->lock_op;
    assert_int_equal(r.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(r.cpu, 0);
    assert_int_equal(r.address, 0);
    assert_int_equal(r.cycle, c.end[0] - lock_op);
    assert_int_equal(c.end[0] - c.at[0], 4 * lock_op);
    assert_non_null(strstr(r.what, "not mapped"));
    assert_int_equal(c.addr[1].va, mmusim_pkmap_addr(mmusim_machine_layout(m), 1));
    assert_int_equal(kstats(k, 0).bugs, 1);
    test_free(pfn);
}

/*
 * kunmap twice after one kmap: the second kunmap_high finds the count at 1
 * ("A count must never go down to zero without a TLB flush!": case 0:
 * BUG()). Refused, the count left at 1, so the page is still the slot's:
 * the next kmap of it is a hit with no PTE write, and its kunmap works.
 * The report is about the page's pkmap address, under kmap_lock (the
 * call's end less the unlock's lock_op).
 */
static void test_kunmap_count_reaching_zero(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = layer(state, 1, NULL, MMUSIM_KMAP_SLOT_2_6_36, &m);
    uint64_t *pfn = highmem_frames(m, 1);
    const uint64_t pages[5] = {pfn[0], pfn[0], pfn[0], pfn[0], pfn[0]};
    const int op[5] = {+1, -1, -1, +1, -1};
    struct calls c = {.k = k, .pfn = pages, .op = op, .n = 5};
    ts_spawn(m, 0, 0, calls_step, &c);
    ts_run_all(m);
    const uint32_t va = mmusim_pkmap_addr(mmusim_machine_layout(m), 1);
    assert_int_equal(c.rc[0], MMUSIM_OK);
    assert_int_equal(c.rc[1], MMUSIM_OK);
    assert_int_equal(c.rc[2], MMUSIM_EKMAPBUG);
    assert_int_equal(c.rc[3], MMUSIM_OK);
    assert_int_equal(c.rc[4], MMUSIM_OK);
    assert_int_equal(c.addr[0].va, va);
    assert_int_equal(c.addr[3].va, va);
    assert_int_equal(ts_nreports(m), 1);
    struct mmusim_report r = nth_report(m, 0);
    assert_int_equal(r.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(r.cpu, 0);
    assert_int_equal(r.address, va);
    assert_int_equal(r.cycle, c.end[2] - ts_costs(m)->lock_op);
    assert_non_null(strstr(r.what, "reached 0"));
    struct mmusim_kmap_stats s = kstats(k, 0);
    assert_int_equal(s.kmap_misses, 1);
    assert_int_equal(s.kmap_hits, 1);
    assert_int_equal(s.pte_writes, 1);
    assert_int_equal(s.bugs, 1);
    assert_int_equal(mmusim_page_address(k, mmusim_page_of_pfn(m, pfn[0])).va, va);
    test_free(pfn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_lowmem_kmap_is_free),
        TS_TEST(test_first_kmap_takes_slot_one_and_a_hit_writes_nothing),
        TS_TEST(test_wrap_after_1023_new_kmaps),
        TS_TEST(test_pae_halves_the_pool),
        TS_TEST(test_wrap_flush_ipis_on_4_cpus),
        TS_TEST(test_wrap_that_cleared_nothing),
        TS_TEST(test_pool_exhaustion_sleeps_and_wakes),
        TS_TEST(test_woken_task_finds_page_mapped),
        TS_TEST(test_kmap_lock_contention),
        TS_TEST(test_kmap_flush_unused),
        TS_TEST(test_kmap_kunmap_in_hardirq),
        TS_TEST(test_kunmap_unmapped_page),
        TS_TEST(test_kunmap_count_reaching_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
