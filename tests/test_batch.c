/*
 * mmusim_cpu_access_batch (include/mmusim/cpu.h) against mmusim_cpu_access:
 * the same seeded random sequence of user references (loads, stores and
 * fetches of 1, 2, 4 and 8 bytes, some straddling a page, some to unmapped
 * or read-only pages) run reference by reference on one machine and in
 * batches on another must give the same result for every reference, the
 * same clocks, the same CPU counters and the same counters of every TLB
 * array. The header says the batch call runs each reference "exactly as
 * mmusim_cpu_access(cpu, va, access, size, NULL, ...) would".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"

#define NPAGES 96u      /* pages of the region; the TLBs of core2 hold fewer in some sets */
#define BASE 0x08000000u
#define NREFS 20000u

static uint64_t rng_state;
static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A machine with one address space: pages 0..NPAGES-1 of BASE, every 7th
 * unmapped, every 5th read-only. */
static mmusim_machine *make(const char *preset)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "1"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "preset", preset), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "tlb.replacement", "lru"), MMUSIM_OK);
    mmusim_machine *m;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_OK);
    uint64_t cr3, pfn;
    assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
    for (unsigned p = 0; p < NPAGES; p++) {
        if (p % 7 == 3)
            continue;
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
        uint64_t fl = MMUSIM_PTE_US | (p % 5 == 1 ? 0 : MMUSIM_PTE_RW);
        assert_int_equal(mmusim_pt_map(m, cr3, BASE + p * 4096u, pfn << 12, MMUSIM_PAGE_4K, fl), MMUSIM_OK);
    }
    assert_int_equal(mmusim_cpu_write_cr3(mmusim_machine_cpu(m, 0), cr3, NULL), MMUSIM_OK);
    return m;
}

static void gen(struct mmusim_ref *refs, unsigned n, uint64_t seed)
{
    static const uint16_t sizes[4] = {1, 2, 4, 8};
    static const uint8_t kinds[3] = {MMUSIM_ACC_READ, MMUSIM_ACC_WRITE, MMUSIM_ACC_EXEC};
    rng_state = seed;
    uint32_t page = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t r = rnd();
        if (r % 4 == 0) /* mostly stay on a page: hits */
            page = (uint32_t)((r >> 8) % NPAGES);
        uint32_t off = (r >> 20) % 16 == 0 ? 4093u + (uint32_t)((r >> 30) % 3) : (uint32_t)((r >> 32) % 4096);
        if (page == NPAGES - 1 && off > 4088)
            off = 0;
        refs[i].va = BASE + page * 4096u + off;
        refs[i].size = sizes[(r >> 40) % 4];
        refs[i].access = (uint8_t)(kinds[(r >> 44) % 3] | MMUSIM_ACC_USER);
        refs[i].pad_ = 0;
    }
}

static void same_state(mmusim_machine *a, mmusim_machine *b)
{
    mmusim_cpu *ca = mmusim_machine_cpu(a, 0), *cb = mmusim_machine_cpu(b, 0);
    assert_int_equal(mmusim_cpu_cycles(ca), mmusim_cpu_cycles(cb));
    struct mmusim_cpu_stats sa, sb;
    mmusim_cpu_stats(ca, &sa);
    mmusim_cpu_stats(cb, &sb);
    assert_memory_equal(&sa, &sb, sizeof sa);
    for (int id = 0; id < MMUSIM_TLB_COUNT_; id++) {
        struct mmusim_tlb_stats ta, tb;
        assert_int_equal(mmusim_cpu_tlb_stats(ca, (enum mmusim_tlb_id)id, &ta), MMUSIM_OK);
        assert_int_equal(mmusim_cpu_tlb_stats(cb, (enum mmusim_tlb_id)id, &tb), MMUSIM_OK);
        assert_int_equal(ta.valid, tb.valid); /* field by field: the struct has padding */
        assert_int_equal(ta.lookups, tb.lookups);
        assert_int_equal(ta.hits, tb.hits);
        assert_int_equal(ta.misses, tb.misses);
        assert_int_equal(ta.fills, tb.fills);
        assert_int_equal(ta.evictions, tb.evictions);
        assert_int_equal(ta.dropped, tb.dropped);
    }
}

static void run_equal_checked(const char *preset, uint64_t seed, int with_per, int check)
{
    static struct mmusim_ref refs[NREFS];
    static struct mmusim_access per[NREFS];
    gen(refs, NREFS, seed);
    mmusim_machine *a = make(preset), *b = make(preset);
    mmusim_machine_set_coherence_check(a, check);
    mmusim_machine_set_coherence_check(b, check);
    mmusim_cpu *ca = mmusim_machine_cpu(a, 0), *cb = mmusim_machine_cpu(b, 0);
    unsigned faults = 0, walked = 0;
    /* Reference by reference. */
    static struct mmusim_access one[NREFS];
    for (unsigned i = 0; i < NREFS; i++) {
        assert_int_equal(mmusim_cpu_access(ca, refs[i].va, refs[i].access, refs[i].size, NULL, &one[i]), MMUSIM_OK);
        faults += (unsigned)one[i].fault;
        walked += (unsigned)one[i].walked;
    }
    assert_true(faults > 100); /* the sequence does fault and walk: the test can fail */
    assert_true(walked > 1000);
    /* In batches of 1000, going on after each fault as a caller would. */
    size_t i = 0;
    uint64_t bwalked = 0, bfaults = 0;
    while (i < NREFS) {
        size_t n = NREFS - i < 1000 ? NREFS - i : 1000;
        struct mmusim_batch_sum s;
        uint64_t c0 = mmusim_cpu_cycles(cb);
        assert_int_equal(mmusim_cpu_access_batch(cb, refs + i, n, with_per ? per + i : NULL, &s), MMUSIM_OK);
        assert_true(s.done >= 1 && s.done <= n);
        assert_int_equal(s.cycles, mmusim_cpu_cycles(cb) - c0);
        if (s.fault) {
            bfaults++;
            assert_true(one[i + s.done - 1].fault);
            assert_int_equal(s.fault_info.cr2, one[i + s.done - 1].cr2);
            assert_int_equal(s.fault_info.error_code, one[i + s.done - 1].error_code);
        } else {
            assert_int_equal(s.done, n);
        }
        bwalked += s.walked;
        i += s.done;
    }
    assert_int_equal(bfaults, faults);
    assert_int_equal(bwalked, walked);
    if (with_per)
        for (unsigned k = 0; k < NREFS; k++) {
            assert_int_equal(per[k].fault, one[k].fault);
            assert_int_equal(per[k].walked, one[k].walked);
            assert_int_equal(per[k].pa, one[k].pa);
            assert_int_equal(per[k].cycles, one[k].cycles);
            if (one[k].fault) {
                assert_int_equal(per[k].cr2, one[k].cr2);
                assert_int_equal(per[k].error_code, one[k].error_code);
            }
        }
    same_state(a, b);
    assert_int_equal(mmusim_machine_coherence_violations(a, NULL, 0), mmusim_machine_coherence_violations(b, NULL, 0));
    mmusim_machine_destroy(a);
    mmusim_machine_destroy(b);
}

static void run_equal(const char *preset, uint64_t seed, int with_per)
{
    run_equal_checked(preset, seed, with_per, 0);
}

static void test_equal_core2_per(void **state)
{
    (void)state;
    run_equal("core2", 1, 1);
}

static void test_equal_core2_sum(void **state)
{
    (void)state;
    run_equal("core2", 2, 0);
}

static void test_equal_other_presets(void **state)
{
    (void)state;
    run_equal("p3", 3, 1);
    run_equal("atom", 4, 0);   /* uTLB */
    run_equal("haswell", 5, 1); /* STLB */
}

/* With the coherence checker on, every hit is checked: the batch takes the slow path for each reference. */
static void test_equal_checker(void **state)
{
    (void)state;
    run_equal_checked("core2", 6, 1, 1);
    run_equal_checked("p3", 7, 0, 1);
}

/* Sizes past 8 (no data is moved) split at the page as a straddling access does. */
static void test_large_sizes(void **state)
{
    (void)state;
    mmusim_machine *m = make("core2");
    mmusim_cpu *c = mmusim_machine_cpu(m, 0);
    struct mmusim_ref r[3] = {
        {BASE + 4096u - 100u, 512, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 0}, /* pages 0 and 1 */
        {BASE + 2u * 4096u, 4096, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 0},  /* page 2 whole */
        {BASE + 2u * 4096u + 1u, 4096, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 0}, /* pages 2 and 3: 3 unmapped */
    };
    struct mmusim_access per[3];
    struct mmusim_batch_sum s;
    assert_int_equal(mmusim_cpu_access_batch(c, r, 3, per, &s), MMUSIM_OK);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.fault, 1);
    assert_int_equal(s.fault_info.cr2, BASE + 3u * 4096u); /* the second page's fault */
    assert_int_equal(per[0].fault, 0);
    assert_int_equal(per[0].walked, 1);
    struct mmusim_tlb_stats t;
    assert_int_equal(mmusim_cpu_tlb_stats(c, MMUSIM_TLB_DTLB_4K, &t), MMUSIM_OK);
    assert_int_equal(t.fills, 3); /* pages 0, 1, 2 */
    mmusim_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_core2_per),
        cmocka_unit_test(test_equal_core2_sum),
        cmocka_unit_test(test_equal_other_presets),
        cmocka_unit_test(test_equal_checker),
        cmocka_unit_test(test_large_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
