/*
 * kmap and kunmap: the pkmap pool (include/mmusim/kmap.h, docs/kmap.md).
 * Every count asserted here is one of ../shared/docs/linux-highmem.md §7
 * (the table "Flush counts per operation" and the amortization note),
 * derived from mm/highmem.c's kmap_high / map_new_virtual /
 * flush_all_zero_pkmaps / kunmap_high of the era named.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_lowmem_kmap_is_free),
        TS_TEST(test_first_kmap_takes_slot_one_and_a_hit_writes_nothing),
        TS_TEST(test_wrap_after_1023_new_kmaps),
        TS_TEST(test_pae_halves_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
