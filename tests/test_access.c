/*
 * Memory access through the TLBs (mmusim_cpu_access), the flush primitives,
 * TLB statistics and the coherence checker, against:
 *   - Intel SDM Vol. 3A §4.6 (access rights, CR0.WP), §4.7 (#PF error codes),
 *     §4.8 (Accessed/Dirty), §4.10 (TLBs, paging-structure caches and their
 *     invalidation), as summarised in /work/shared/docs/hw-costs.md §1;
 *   - the preset TLB geometries of hw-costs.md §2 / §4 and docs/costs.md §2
 *     (each number below carries the tag of its source table);
 *   - the cost tables of docs/costs.md §1.
 * The last tests are a seeded differential test: 100,000+ random operations on
 * a 4-CPU machine, every access compared with a reference model written here
 * from SDM §4.6/§4.7, and the coherence checker on throughout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmusim.h"

#define MIB (1024ull * 1024)

#define USER_RW (MMUSIM_PTE_RW | MMUSIM_PTE_US)
#define USER_RW_AD (USER_RW | MMUSIM_PTE_A | MMUSIM_PTE_D)

/* A large, suitably aligned physical region in highmem (mem=1G), clear of the frame allocator's next-fit start. */
#define LARGE_PA 0x3c000000ull

struct fx {
    mmusim_machine *m;
    mmusim_cpu *cpu;
    uint64_t cr3; /* a user address space, loaded in every CPU */
};

/* A machine from config keys (set "preset" first, as config.h asks), a user address space loaded on every CPU. */
static struct fx *fx_new(const char *paging, const char *const *sets)
{
    struct mmusim_config cfg;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "paging", paging), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "1G"), MMUSIM_OK);
    for (; sets && *sets; sets += 2)
        assert_int_equal(mmusim_config_set(&cfg, sets[0], sets[1]), MMUSIM_OK);
    assert_int_equal(mmusim_machine_create(&cfg, &f->m), MMUSIM_OK);
    f->cpu = mmusim_machine_cpu(f->m, 0);
    assert_int_equal(mmusim_pgd_create(f->m, &f->cr3), MMUSIM_OK);
    for (unsigned i = 0; i < mmusim_machine_ncpus(f->m); i++)
        assert_int_equal(mmusim_cpu_write_cr3(mmusim_machine_cpu(f->m, i), f->cr3, NULL), MMUSIM_OK);
    return f;
}

static void fx_free(struct fx *f)
{
    mmusim_machine_destroy(f->m);
    free(f);
}

static uint64_t frame(struct fx *f)
{
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    return pfn << 12;
}

static void map4k(struct fx *f, uint32_t va, uint64_t pa, uint64_t flags)
{
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, va, pa, MMUSIM_PAGE_4K, flags), MMUSIM_OK);
}

static struct mmusim_access acc(mmusim_cpu *cpu, uint32_t va, unsigned kind, unsigned size, void *data)
{
    struct mmusim_access a;
    memset(&a, 0xa5, sizeof(a));
    assert_int_equal(mmusim_cpu_access(cpu, va, kind, size, data, &a), MMUSIM_OK);
    return a;
}

static struct mmusim_tlb_stats tlbst(const mmusim_cpu *cpu, enum mmusim_tlb_id id)
{
    struct mmusim_tlb_stats s;
    assert_int_equal(mmusim_cpu_tlb_stats(cpu, id, &s), MMUSIM_OK);
    return s;
}

static struct mmusim_cpu_stats cstats(const mmusim_cpu *cpu)
{
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(cpu, &s);
    return s;
}

static const struct mmusim_costs *costs(struct fx *f)
{
    return &mmusim_machine_config(f->m)->costs;
}

static uint32_t phys32(struct fx *f, uint64_t pa)
{
    uint32_t v;
    assert_int_equal(mmusim_phys_read32(f->m, pa, &v), MMUSIM_OK);
    return v;
}

/* ---- 1. geometry: hw-costs.md §2 (decoded CPUID leaf 2) and docs/costs.md §2 ---- */

struct geo {
    enum mmusim_tlb_id id;
    uint32_t entries, ways;
};

static void check_geometry(const char *preset, const struct geo *g, size_t n)
{
    const char *sets[] = {"preset", preset, NULL};
    struct fx *f = fx_new("2level", sets);
    for (size_t i = 0; i < n; i++) {
        struct mmusim_tlb_stats s = tlbst(f->cpu, g[i].id);
        if (s.entries != g[i].entries || s.ways != g[i].ways)
            print_error("%s %s: %u/%u, want %u/%u\n", preset, mmusim_tlb_name(g[i].id), s.entries, s.ways,
                        g[i].entries, g[i].ways);
        assert_int_equal(s.entries, g[i].entries);
        assert_int_equal(s.ways, g[i].ways);
        assert_int_equal(s.valid, 0);
    }
    fx_free(f);
}

static void test_geometry_p3(void **state)
{
    (void)state;
    /* Pentium III Katmai, leaf 2 03020101 ... 0C040843 (hw-costs.md §2) [S]:
     * 03h DTLB 4K 64 4-way, 01h ITLB 4K 32 4-way, 04h DTLB 4M 8 4-way,
     * 02h ITLB 4M 2 fully; no uTLB, no STLB [S]; PDE cache 0 (docs/costs.md §2 [E]). */
    static const struct geo g[] = {
        {MMUSIM_TLB_DTLB_4K, 64, 4}, {MMUSIM_TLB_ITLB_4K, 32, 4}, {MMUSIM_TLB_DTLB_LARGE, 8, 4},
        {MMUSIM_TLB_ITLB_LARGE, 2, 2}, {MMUSIM_TLB_UTLB, 0, 0}, {MMUSIM_TLB_STLB, 0, 0},
        {MMUSIM_TLB_PDECACHE, 0, 0},
    };
    check_geometry("p3", g, sizeof(g) / sizeof(g[0]));
}

static void test_geometry_core2(void **state)
{
    (void)state;
    /* Core 2 Conroe, leaf 2 05B0B101 005657F0 0 2CB43049 (hw-costs.md §2) [S]:
     * B4h DTLB1 4K 256 4-way, 57h DTLB0 4K 16 4-way (= utlb), B0h ITLB 4K 128
     * 4-way, 05h DTLB1 4M 32 4-way; B1h ITLB 4M reading 4 4-way (docs/costs.md
     * §2, the 2-level default) [S]; no STLB [S]; PDE cache 16 [E]. */
    static const struct geo g[] = {
        {MMUSIM_TLB_DTLB_4K, 256, 4}, {MMUSIM_TLB_UTLB, 16, 4}, {MMUSIM_TLB_ITLB_4K, 128, 4},
        {MMUSIM_TLB_DTLB_LARGE, 32, 4}, {MMUSIM_TLB_ITLB_LARGE, 4, 4}, {MMUSIM_TLB_STLB, 0, 0},
        {MMUSIM_TLB_PDECACHE, 16, 16},
    };
    check_geometry("core2", g, sizeof(g) / sizeof(g[0]));
}

static void test_geometry_atom(void **state)
{
    (void)state;
    /* Atom 330, leaf 2 4FBA5901 0E3080C0 0 0 (hw-costs.md §2) [S]: 59h DTLB0
     * (uTLB) 16 fully, BAh DTLB1 4K 64 4-way, C0h 8 4-way as dtlb.large;
     * 4Fh ITLB 32, associativity not given -> fully [E]; itlb.large 8/4 [E];
     * no STLB [S]; PDE cache 0 [E] (docs/costs.md §2). */
    static const struct geo g[] = {
        {MMUSIM_TLB_UTLB, 16, 16}, {MMUSIM_TLB_DTLB_4K, 64, 4}, {MMUSIM_TLB_DTLB_LARGE, 8, 4},
        {MMUSIM_TLB_ITLB_4K, 32, 32}, {MMUSIM_TLB_ITLB_LARGE, 8, 4}, {MMUSIM_TLB_STLB, 0, 0},
        {MMUSIM_TLB_PDECACHE, 0, 0},
    };
    check_geometry("atom", g, sizeof(g) / sizeof(g[0]));
}

static void test_geometry_haswell(void **state)
{
    (void)state;
    /* docs/costs.md §2, haswell column: dtlb.4k 64/4 [P], dtlb.large 32/4 [P],
     * itlb.4k 128/4 [P], itlb.large 8/8 [P], stlb 1024/8 [E], utlb 0 [E],
     * pdecache 16 [E]. */
    static const struct geo g[] = {
        {MMUSIM_TLB_DTLB_4K, 64, 4}, {MMUSIM_TLB_DTLB_LARGE, 32, 4}, {MMUSIM_TLB_ITLB_4K, 128, 4},
        {MMUSIM_TLB_ITLB_LARGE, 8, 8}, {MMUSIM_TLB_STLB, 1024, 8}, {MMUSIM_TLB_UTLB, 0, 0},
        {MMUSIM_TLB_PDECACHE, 16, 16},
    };
    check_geometry("haswell", g, sizeof(g) / sizeof(g[0]));
}

/* ---- 2. access basics ---- */

static void test_read_walks_then_hits(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "p3", NULL};
    struct fx *f = fx_new("2level", sets);
    uint64_t pa = frame(f);
    map4k(f, 0x08048000u, pa, USER_RW);
    unsigned k = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    struct mmusim_access a = acc(f->cpu, 0x08048010u, k, 4, NULL);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 1);
    assert_int_equal(a.pa, pa + 0x10);
    assert_true(a.cycles > 0);
    a = acc(f->cpu, 0x08048ff0u, k, 4, NULL);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 0);
    assert_int_equal(a.pa, pa + 0xff0);
    /* P3 has no uTLB (hw-costs.md §2): an L1 DTLB hit costs nothing extra (cpu.h). */
    assert_int_equal(a.cycles, 0);
    struct mmusim_tlb_stats s = tlbst(f->cpu, MMUSIM_TLB_DTLB_4K);
    assert_int_equal(s.valid, 1);
    assert_int_equal(s.fills, 1);
    assert_int_equal(s.hits, 1);
    struct mmusim_cpu_stats cs = cstats(f->cpu);
    assert_int_equal(cs.accesses, 2);
    assert_int_equal(cs.walks, 1);
    fx_free(f);
}

static void test_write_read_back_at_physical_address(void **state)
{
    (void)state;
    struct fx *f = fx_new("2level", NULL);
    uint64_t pa = frame(f);
    map4k(f, 0x08048000u, pa, USER_RW);
    uint64_t v = 0x1122334455667788ull, r = 0;
    struct mmusim_access a = acc(f->cpu, 0x08048128u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 8, &v);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.pa, pa + 0x128);
    a = acc(f->cpu, 0x08048128u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 8, &r);
    assert_int_equal(a.fault, 0);
    assert_int_equal(r, v);
    uint64_t p = 0;
    assert_int_equal(mmusim_phys_read(f->m, pa + 0x128, &p, 8), MMUSIM_OK);
    assert_int_equal(p, v);
    /* Sizes 1 and 2 too. */
    uint8_t b = 0x5a;
    uint16_t h = 0xbeef;
    acc(f->cpu, 0x08048003u, MMUSIM_ACC_WRITE, 1, &b);
    acc(f->cpu, 0x08048006u, MMUSIM_ACC_WRITE, 2, &h);
    assert_int_equal(phys32(f, pa + 4) >> 16, 0xbeef);
    assert_int_equal(phys32(f, pa) >> 24, 0x5a);
    fx_free(f);
}

static void test_core2_load_after_store_costs_l0_miss(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "core2", NULL};
    struct fx *f = fx_new("2level", sets);
    /* "A DTLB0 miss that hits DTLB1 costs 2 cycles" (Intel Optimization Reference
     * Manual, Core µarch, via hw-costs.md §2/§3a; docs/costs.md tlb_l0_miss core2 2 [S]). */
    assert_int_equal(costs(f)->tlb_l0_miss, 2);
    uint64_t pa = frame(f);
    map4k(f, 0x08048000u, pa, USER_RW_AD);
    uint32_t v = 0xdeadbeef, r = 0;
    struct mmusim_access a = acc(f->cpu, 0x08048100u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v);
    assert_int_equal(a.walked, 1);
    /* DTLB1 serves stores: the store filled dtlb.4k, not the load-only uTLB (DTLB0). */
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, 1);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_UTLB).valid, 0);
    struct mmusim_tlb_stats d0 = tlbst(f->cpu, MMUSIM_TLB_DTLB_4K);
    a = acc(f->cpu, 0x08048100u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, &r);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 0);
    assert_int_equal(r, v);
    assert_int_equal(a.cycles, 2);
    struct mmusim_tlb_stats d1 = tlbst(f->cpu, MMUSIM_TLB_DTLB_4K);
    assert_int_equal(d1.hits, d0.hits + 1);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_UTLB).misses, 1);
    /* The DTLB1 hit filled DTLB0: the next load hits there, for free. */
    a = acc(f->cpu, 0x08048104u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, &r);
    assert_int_equal(a.walked, 0);
    assert_int_equal(a.cycles, 0);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_UTLB).hits, 1);
    fx_free(f);
}

/* ---- 3. replacement seen through the CPU ---- */

static void lru_round_robin(unsigned npages, unsigned *walks_after_warmup)
{
    static const char *const sets[] = {"preset", "core2", "dtlb.4k.entries", "4", "dtlb.4k.ways", "4",
                                       "utlb.entries", "0", "stlb.entries", "0", "tlb.replacement", "lru",
                                       NULL};
    struct fx *f = fx_new("2level", sets);
    for (unsigned i = 0; i < npages; i++)
        map4k(f, 0x08000000u + i * 0x1000u, frame(f), USER_RW_AD);
    *walks_after_warmup = 0;
    for (unsigned round = 0; round < 6; round++) {
        for (unsigned i = 0; i < npages; i++) {
            struct mmusim_access a =
                acc(f->cpu, 0x08000000u + i * 0x1000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL);
            assert_int_equal(a.fault, 0);
            if (round == 0)
                assert_int_equal(a.walked, 1);
            else
                *walks_after_warmup += (unsigned)a.walked;
        }
    }
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, npages < 4 ? npages : 4);
    fx_free(f);
}

static void test_lru_thrash_five_pages_in_four_ways(void **state)
{
    (void)state;
    unsigned w;
    lru_round_robin(5, &w);
    assert_int_equal(w, 5 * 5); /* every access of rounds 1..5 misses: true LRU evicts the next one wanted */
    lru_round_robin(4, &w);
    assert_int_equal(w, 0); /* four pages fit the four ways */
}

/* ---- 4. large pages and INVLPG inside them ---- */

static void large_invlpg(const char *paging, int fragments)
{
    const char *sets[] = {"preset", "p3", "dtlb.large.entries", "0", NULL};
    if (!fragments)
        sets[2] = NULL;
    struct fx *f = fx_new(paging, sets);
    /* 4 MiB page (2-level, PSE, SDM §4.3) or 2 MiB (PAE, §4.4), at 0x40000000. */
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x40000000u, LARGE_PA, MMUSIM_PAGE_LARGE, USER_RW_AD),
                     MMUSIM_OK);
    unsigned k = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    struct mmusim_access a = acc(f->cpu, 0x40001234u, k, 4, NULL);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 1);
    assert_int_equal(a.pa, LARGE_PA + 0x1234);
    if (fragments) {
        assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_LARGE).valid, 0);
        assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, 1);
        /* a second fragment of the same large page */
        a = acc(f->cpu, 0x40002000u, k, 4, NULL);
        assert_int_equal(a.walked, 1);
        assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, 2);
    } else {
        assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_LARGE).valid, 1);
        assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, 0);
        /* anywhere in the large page hits */
        a = acc(f->cpu, 0x40100000u, k, 4, NULL);
        assert_int_equal(a.walked, 0);
        assert_int_equal(a.pa, LARGE_PA + 0x100000);
    }
    a = acc(f->cpu, 0x40001238u, k, 4, NULL);
    assert_int_equal(a.walked, 0);
    /* SDM §4.10.4.1: INVLPG drops every entry for the page its operand is in,
     * whatever page size: an address inside the 2 MiB/4 MiB page other than the
     * one used to fill the entry. */
    mmusim_flush_tlb_one(f->cpu, 0x40155000u);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_LARGE).valid, 0);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, 0);
    assert_int_equal(cstats(f->cpu).dropped_invlpg, fragments ? 2 : 1);
    a = acc(f->cpu, 0x40001234u, k, 4, NULL);
    assert_int_equal(a.walked, 1);
    if (fragments) {
        a = acc(f->cpu, 0x40002000u, k, 4, NULL);
        assert_int_equal(a.walked, 1);
    }
    fx_free(f);
}

static void test_invlpg_inside_4m_page(void **state)
{
    (void)state;
    large_invlpg("2level", 0);
}

static void test_invlpg_inside_2m_page(void **state)
{
    (void)state;
    large_invlpg("pae", 0);
}

static void test_invlpg_drops_large_page_fragments(void **state)
{
    (void)state;
    large_invlpg("2level", 1);
    large_invlpg("pae", 1);
}

/* ---- 5. global entries ---- */

static void test_global_survives_cr3_not_pge_toggle(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "p3", NULL};
    struct fx *f = fx_new("2level", sets);
    const struct mmusim_costs *c = costs(f);
    /* docs/costs.md §1, p3: mov_cr3 40 [E], pge_toggle 100 [E], invlpg 40 [E]. */
    assert_int_equal(c->mov_cr3, 40);
    assert_int_equal(c->pge_toggle, 100);
    assert_int_equal(c->invlpg, 40);
    uint32_t kva = 0xc0100000u; /* direct map: PAGE_KERNEL + G under PGE (machine.h) */
    map4k(f, 0x08048000u, frame(f), USER_RW_AD);
    unsigned uk = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    assert_int_equal(acc(f->cpu, 0x08048000u, uk, 4, NULL).walked, 1);
    mmusim_cpu_stats_reset(f->cpu);

    /* SDM §4.10.4.1: MOV to CR3 invalidates all but global entries. */
    assert_int_equal(mmusim_flush_tlb(f->cpu), 40);
    struct mmusim_cpu_stats s = cstats(f->cpu);
    assert_int_equal(s.cr3_writes, 1);
    assert_int_equal(s.cr3_cycles, 40);
    assert_int_equal(s.dropped_cr3, 1); /* the user entry */
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 0);
    assert_int_equal(acc(f->cpu, 0x08048000u, uk, 4, NULL).walked, 1);
    uint64_t cyc = 0;
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, &cyc), MMUSIM_OK);
    assert_int_equal(cyc, 40);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 0);
    assert_int_equal(acc(f->cpu, 0x08048000u, uk, 4, NULL).walked, 1);
    assert_int_equal(cstats(f->cpu).dropped_cr3, 2);

    /* SDM p. 4-42: a CR4.PGE change invalidates all entries, global ones too. */
    uint64_t before = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_flush_tlb_global(f->cpu), 100);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - before, 100);
    s = cstats(f->cpu);
    assert_int_equal(s.global_flushes, 1);
    assert_int_equal(s.dropped_global, 2);
    assert_int_equal(s.global_flush_cycles, 100);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    assert_int_equal(acc(f->cpu, 0x08048000u, uk, 4, NULL).walked, 1);

    /* __flush_tlb_all with CR4.PGE set is the global flush. */
    assert_int_equal(mmusim_flush_tlb_all(f->cpu), 100);
    s = cstats(f->cpu);
    assert_int_equal(s.global_flushes, 2);
    assert_int_equal(s.dropped_global, 4);
    assert_int_equal(s.cr3_writes, 2);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);

    /* INVLPG drops a global entry too (§4.10.4.1). */
    assert_int_equal(mmusim_flush_tlb_one(f->cpu, kva + 0x1000), 40);
    s = cstats(f->cpu);
    assert_int_equal(s.invlpg, 1);
    assert_int_equal(s.invlpg_cycles, 40);
    assert_int_equal(s.dropped_invlpg, 1);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    fx_free(f);
}

static void test_flush_tlb_all_without_pge_is_cr3(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "core2", "pge", "0", NULL};
    struct fx *f = fx_new("2level", sets);
    /* docs/costs.md §1, core2: mov_cr3 110 [P]. */
    assert_int_equal(costs(f)->mov_cr3, 110);
    uint32_t kva = 0xc0100000u;
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    mmusim_cpu_stats_reset(f->cpu);
    assert_int_equal(mmusim_flush_tlb_all(f->cpu), 110);
    struct mmusim_cpu_stats s = cstats(f->cpu);
    assert_int_equal(s.cr3_writes, 1);
    assert_int_equal(s.global_flushes, 0);
    assert_int_equal(s.dropped_cr3, 1); /* without PGE the kernel entry is not global */
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    fx_free(f);
}

/* Every accepted CR4 write is charged pge_toggle / 2 and recorded in cr4_cycles,
 * flushing or not; a flush it causes is counted, but its cycles only once. */
static void test_cr4_write_cycles_recorded_in_cr4_cycles(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "p3", NULL};
    struct fx *f = fx_new("2level", sets);
    /* docs/costs.md §1, p3: pge_toggle 100 [E]. */
    assert_int_equal(costs(f)->pge_toggle, 100);
    uint32_t kva = 0xc0100000u; /* direct map, global under PGE */
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);

    /* A write that changes nothing: no flush, but charged and recorded. */
    struct mmusim_cpu_stats s0 = cstats(f->cpu);
    uint64_t clk0 = mmusim_cpu_cycles(f->cpu), cyc = 0;
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4, &cyc), MMUSIM_OK);
    struct mmusim_cpu_stats s1 = cstats(f->cpu);
    assert_int_equal(cyc, 50);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - clk0, s1.cr4_cycles - s0.cr4_cycles);
    assert_int_equal(s1.cr4_cycles - s0.cr4_cycles, 50);
    assert_int_equal(s1.cr4_writes - s0.cr4_writes, 1);
    assert_int_equal(s1.global_flushes, s0.global_flushes);
    assert_int_equal(s1.global_flush_cycles, s0.global_flush_cycles);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 0); /* still cached */

    /* PGE off and on by hand: two flushes, their cycles in cr4_cycles only. */
    clk0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4 & ~MMUSIM_CR4_PGE, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4, NULL), MMUSIM_OK);
    struct mmusim_cpu_stats s2 = cstats(f->cpu);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - clk0, 100);
    assert_int_equal(s2.cr4_cycles - s1.cr4_cycles, 100);
    assert_int_equal(s2.cr4_writes - s1.cr4_writes, 2);
    assert_int_equal(s2.global_flushes - s1.global_flushes, 2);
    assert_int_equal(s2.global_flush_cycles, s1.global_flush_cycles);
    assert_int_equal(acc(f->cpu, kva, MMUSIM_ACC_READ, 4, NULL).walked, 1);

    /* __flush_tlb_global writes no CR4: global_flush_cycles, not cr4_cycles. */
    clk0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_flush_tlb_global(f->cpu), 100);
    struct mmusim_cpu_stats s3 = cstats(f->cpu);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - clk0, 100);
    assert_int_equal(s3.global_flush_cycles - s2.global_flush_cycles, 100);
    assert_int_equal(s3.cr4_cycles, s2.cr4_cycles);
    assert_int_equal(s3.cr4_writes, s2.cr4_writes);
    assert_int_equal(s3.global_flushes - s2.global_flushes, 1);
    fx_free(f);
}

/* Under PAE, __flush_tlb's CR3 reload re-reads the PDPTEs (SDM §4.4.1). A
 * present PDPTE that gained a reserved bit makes it a #GP: the MOV does not
 * happen, so nothing is flushed or charged and mmusim_flush_tlb returns 0. */
static void test_flush_tlb_pae_pdpte_gp_flushes_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_new("pae", NULL);
    uint32_t va = 0x08048000u; /* PDPTE 0 */
    map4k(f, va, frame(f), USER_RW_AD);
    unsigned uk = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 1);
    uint32_t valid = tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid;
    assert_true(valid >= 1);

    uint64_t pdpt = f->cr3 & ~0x1full;
    uint32_t pdpte0 = phys32(f, pdpt);
    assert_int_equal(pdpte0 & MMUSIM_PTE_P, MMUSIM_PTE_P);
    /* Bit 1 is reserved in a PAE PDPTE (SDM §4.4.1). */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0 | 0x2u), MMUSIM_OK);

    struct mmusim_cpu_stats s0 = cstats(f->cpu);
    uint64_t clk0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_flush_tlb(f->cpu), 0);
    struct mmusim_cpu_stats s1 = cstats(f->cpu);
    assert_int_equal(mmusim_cpu_cycles(f->cpu), clk0);
    assert_int_equal(s1.cr3_writes, s0.cr3_writes);
    assert_int_equal(s1.dropped_cr3, s0.dropped_cr3);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, valid);
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 0); /* the TLB still holds it */
    uint64_t cyc = 1;
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, &cyc), MMUSIM_EGP);

    /* PDPTE repaired: the reload works again and flushes. */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0), MMUSIM_OK);
    assert_int_equal(mmusim_flush_tlb(f->cpu), costs(f)->mov_cr3 + costs(f)->mov_cr3_pae_extra);
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 1);
    fx_free(f);
}

/*
 * Intel SDM Vol. 3A §4.4.1 (PDPTE registers): with PAE paging in use after
 * it, a MOV to CR4 that modifies CR4.PAE, PGE or PSE loads the four PDPTEs
 * from CR3, as a MOV to CR3 does. Linux 2.6.32,
 * arch/x86/include/asm/tlbflush.h, __native_flush_tlb_global: two CR4
 * writes, PGE cleared then restored. So under PAE each write reloads the
 * registers: a PDPTE cleared in memory (P = 0) takes effect at the first
 * write (the walk then faults, not present), and its repair at the second.
 * Each such write costs pge_toggle / 2 + mov_cr3_pae_extra (the CR3 write's
 * cost of the same loads) and counts one pdpte_loads; a CR4 write that
 * changes nothing loads nothing.
 */
static void test_cr4_pge_toggle_pae_reloads_pdptes(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "core2", NULL};
    struct fx *f = fx_new("pae", sets);
    const struct mmusim_costs *c = costs(f);
    uint32_t va = 0x08048000u; /* PDPTE 0 */
    map4k(f, va, frame(f), USER_RW_AD);
    unsigned uk = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 1);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    uint64_t pdpt = f->cr3 & ~0x1full;
    uint32_t pdpte0 = phys32(f, pdpt);
    assert_int_equal(r.pdpte[0] & 0xffffffffu, pdpte0);

    /* A write that changes nothing: no PDPTE load. */
    struct mmusim_cpu_stats s0 = cstats(f->cpu);
    uint64_t cyc = 0;
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4, &cyc), MMUSIM_OK);
    assert_int_equal(cyc, c->pge_toggle / 2);
    assert_int_equal(cstats(f->cpu).pdpte_loads, s0.pdpte_loads);

    /* PDPTE 0 not present in memory: the registers still hold it until a load. */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0 & ~MMUSIM_PTE_P), MMUSIM_OK);
    s0 = cstats(f->cpu);
    uint64_t clk0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4 & ~MMUSIM_CR4_PGE, &cyc), MMUSIM_OK);
    struct mmusim_cpu_stats s1 = cstats(f->cpu);
    assert_int_equal(cyc, c->pge_toggle / 2 + c->mov_cr3_pae_extra);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - clk0, cyc);
    assert_int_equal(s1.cr4_cycles - s0.cr4_cycles, cyc);
    assert_int_equal(s1.pdpte_loads - s0.pdpte_loads, 1);
    assert_int_equal(s1.cr3_writes, s0.cr3_writes);
    struct mmusim_cpu_regs r1;
    mmusim_cpu_regs(f->cpu, &r1);
    assert_int_equal(r1.pdpte[0] & MMUSIM_PTE_P, 0);
    struct mmusim_access a = acc(f->cpu, va, uk, 4, NULL);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.error_code & MMUSIM_PF_P, 0); /* not present: the register's P is clear */

    /* Repaired in memory; the second write of the pair loads it again. */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4, &cyc), MMUSIM_OK);
    assert_int_equal(cyc, c->pge_toggle / 2 + c->mov_cr3_pae_extra);
    struct mmusim_cpu_stats s2 = cstats(f->cpu);
    assert_int_equal(s2.pdpte_loads - s0.pdpte_loads, 2); /* __flush_tlb_global's two writes: two loads */
    assert_int_equal(s2.global_flushes - s0.global_flushes, 2);
    mmusim_cpu_regs(f->cpu, &r1);
    assert_int_equal(r1.pdpte[0] & 0xffffffffu, pdpte0);
    a = acc(f->cpu, va, uk, 4, NULL);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 1);
    fx_free(f);
}

/*
 * SDM Vol. 3A §4.4.1: if a PDPTE that the load reads sets P and a reserved
 * bit, the MOV to CR4 is a #GP(0) and the PDPTEs are not loaded; as any
 * faulting instruction it then does nothing. So a PGE toggle under PAE over
 * a PDPT that gained a reserved bit is MMUSIM_EGP and changes nothing: CR4
 * and the PDPTE registers, the TLBs (the cached translation still hits),
 * the clock and every counter. mmusim_flush_tlb_global (Linux 2.6.32
 * __native_flush_tlb_global, whose first CR4 write would fault) returns 0
 * and changes nothing either.
 */
static void test_cr4_write_pae_pdpte_gp_changes_nothing(void **state)
{
    (void)state;
    struct fx *f = fx_new("pae", NULL);
    uint32_t va = 0x08048000u; /* PDPTE 0 */
    map4k(f, va, frame(f), USER_RW_AD);
    unsigned uk = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 1);
    uint32_t valid = tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid;
    uint64_t pdpt = f->cr3 & ~0x1full;
    uint32_t pdpte0 = phys32(f, pdpt);
    /* Bit 1 is reserved in a PAE PDPTE (SDM §4.4.1). */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0 | 0x2u), MMUSIM_OK);

    struct mmusim_cpu_regs r0, r1;
    mmusim_cpu_regs(f->cpu, &r0);
    struct mmusim_cpu_stats s0 = cstats(f->cpu);
    uint64_t clk0 = mmusim_cpu_cycles(f->cpu), cyc = 77;
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r0.cr4 & ~MMUSIM_CR4_PGE, &cyc), MMUSIM_EGP);
    assert_int_equal(cyc, 77); /* nothing charged, nothing written back */
    assert_int_equal(mmusim_flush_tlb_global(f->cpu), 0);
    mmusim_cpu_regs(f->cpu, &r1);
    struct mmusim_cpu_stats s1 = cstats(f->cpu);
    assert_memory_equal(&r0, &r1, sizeof(r0));
    assert_memory_equal(&s0, &s1, sizeof(s0));
    assert_int_equal(mmusim_cpu_cycles(f->cpu), clk0);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_DTLB_4K).valid, valid);
    assert_int_equal(acc(f->cpu, va, uk, 4, NULL).walked, 0); /* still cached */

    /* Repaired: the toggle works again. */
    assert_int_equal(mmusim_phys_write32(f->m, pdpt, pdpte0), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r0.cr4 & ~MMUSIM_CR4_PGE, NULL), MMUSIM_OK);
    assert_int_equal(cstats(f->cpu).pdpte_loads, s0.pdpte_loads + 1);
    fx_free(f);
}

/*
 * pdpte_loads counts one load of the four registers per MOV that loads them
 * (SDM Vol. 3A §4.4.1): a CR3 write under PAE (Linux __flush_tlb's reload,
 * a context switch's) is one; mmusim_flush_tlb_global under PAE (Linux
 * 2.6.32 arch/x86/include/asm/tlbflush.h, __native_flush_tlb_global: two
 * CR4 writes) is two, charged 2 * mov_cr3_pae_extra on top of pge_toggle,
 * in global_flush_cycles. Without PAE there are no PDPTE registers: nothing
 * is counted and nothing added.
 */
static void pdpte_loads_case(const char *paging, int pae)
{
    static const char *const sets[] = {"preset", "p3", NULL};
    struct fx *f = fx_new(paging, sets);
    const struct mmusim_costs *c = costs(f);
    mmusim_cpu_stats_reset(f->cpu);
    uint64_t extra = pae ? c->mov_cr3_pae_extra : 0;
    assert_int_equal(mmusim_flush_tlb(f->cpu), c->mov_cr3 + extra);
    assert_int_equal(cstats(f->cpu).pdpte_loads, pae ? 1 : 0);
    assert_int_equal(mmusim_flush_tlb_global(f->cpu), c->pge_toggle + 2 * extra);
    struct mmusim_cpu_stats s = cstats(f->cpu);
    assert_int_equal(s.pdpte_loads, pae ? 3 : 0);
    assert_int_equal(s.global_flush_cycles, c->pge_toggle + 2 * extra);
    assert_int_equal(s.global_flushes, 1);
    assert_int_equal(s.cr4_writes, 0);
    /* __flush_tlb_all with PGE is __flush_tlb_global: two loads more. */
    assert_int_equal(mmusim_flush_tlb_all(f->cpu), c->pge_toggle + 2 * extra);
    assert_int_equal(cstats(f->cpu).pdpte_loads, pae ? 5 : 0);
    fx_free(f);
}

static void test_pdpte_loads_counted_pae(void **state)
{
    (void)state;
    pdpte_loads_case("pae", 1);
}

static void test_pdpte_loads_none_without_pae(void **state)
{
    (void)state;
    pdpte_loads_case("2level", 0);
}

/* ---- 6. PDE cache ---- */

static void test_pde_cache_hit_and_invalidation(void **state)
{
    (void)state;
    static const char *const sets[] = {"preset", "core2", NULL};
    struct fx *f = fx_new("2level", sets);
    const struct mmusim_costs *c = costs(f);
    /* docs/costs.md §1, core2: walk_fixed 5 [E], walk_ref_hit 14 [S]. */
    assert_int_equal(c->walk_fixed, 5);
    assert_int_equal(c->walk_ref_hit, 14);
    unsigned k = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    /* A set everywhere: no A/D write-backs muddy the walk cost. */
    for (uint32_t i = 0; i < 4; i++)
        map4k(f, 0x08048000u + i * 0x1000u, frame(f), USER_RW_AD);
    struct mmusim_cpu_stats s0 = cstats(f->cpu);
    struct mmusim_access a = acc(f->cpu, 0x08048000u, k, 4, NULL);
    assert_int_equal(a.walked, 1);
    struct mmusim_cpu_stats s1 = cstats(f->cpu);
    assert_int_equal(s1.walk_refs - s0.walk_refs, 2);
    assert_int_equal(s1.pdecache_hits, 0);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_PDECACHE).valid, 1);

    a = acc(f->cpu, 0x08049000u, k, 4, NULL);
    assert_int_equal(a.walked, 1);
    struct mmusim_cpu_stats s2 = cstats(f->cpu);
    assert_int_equal(s2.pdecache_hits, 1);
    assert_int_equal(s2.walk_refs - s1.walk_refs, 1); /* the PTE only */
    /* The PTE sits in the same 64-byte line as the first page's, read by the
     * previous walk: one line-cache hit. walk = walk_fixed + walk_ref_hit. */
    assert_int_equal(s2.walk_ref_hits - s1.walk_ref_hits, 1);
    assert_int_equal(a.cycles, 5 + 14);
    assert_int_equal(s2.walk_cycles - s1.walk_cycles, 5 + 14);

    /* SDM §4.10.4.1: INVLPG invalidates all paging-structure-cache entries,
     * whatever address: here an unrelated, unmapped one. */
    mmusim_flush_tlb_one(f->cpu, 0x30000000u);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_PDECACHE).valid, 0);
    a = acc(f->cpu, 0x0804a000u, k, 4, NULL);
    struct mmusim_cpu_stats s3 = cstats(f->cpu);
    assert_int_equal(a.walked, 1);
    assert_int_equal(s3.pdecache_hits, 1);
    assert_int_equal(s3.walk_refs - s2.walk_refs, 2);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_PDECACHE).valid, 1);
    /* The two pages walked before are still in the TLB (INVLPG hit another page). */
    assert_int_equal(acc(f->cpu, 0x08049000u, k, 4, NULL).walked, 0);

    /* MOV to CR3 also empties it (§4.10.4.1). */
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, NULL), MMUSIM_OK);
    assert_int_equal(tlbst(f->cpu, MMUSIM_TLB_PDECACHE).valid, 0);
    a = acc(f->cpu, 0x0804b000u, k, 4, NULL);
    assert_int_equal(cstats(f->cpu).pdecache_hits, 1);
    assert_int_equal(cstats(f->cpu).walk_refs - s3.walk_refs, 2);
    fx_free(f);
}

/* ---- 7. dirty re-walk ---- */

/* haswell has an STLB: the clean entry is refused by dtlb.4k and by the STLB, still one re-walk. */
static void dirty_rewalk(const char *preset)
{
    const char *sets[] = {"preset", preset, NULL};
    struct fx *f = fx_new("2level", sets);
    map4k(f, 0x08048000u, frame(f), USER_RW | MMUSIM_PTE_A);
    struct mmusim_pte_info pi;
    unsigned w = MMUSIM_ACC_WRITE | MMUSIM_ACC_USER;
    uint32_t v = 7;
    assert_int_equal(acc(f->cpu, 0x08048000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL).walked, 1);
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, 0x08048000u, &pi), MMUSIM_OK);
    assert_int_equal(pi.raw & MMUSIM_PTE_D, 0);
    /* SDM §4.8: a write through an entry cached with D clear must get D set in memory. */
    struct mmusim_access a = acc(f->cpu, 0x08048004u, w, 4, &v);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 1);
    assert_int_equal(cstats(f->cpu).dirty_rewalks, 1);
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, 0x08048000u, &pi), MMUSIM_OK);
    assert_int_equal(pi.raw & MMUSIM_PTE_D, MMUSIM_PTE_D);
    a = acc(f->cpu, 0x08048008u, w, 4, &v);
    assert_int_equal(a.walked, 0);
    assert_int_equal(cstats(f->cpu).dirty_rewalks, 1);
    assert_int_equal(cstats(f->cpu).walks, 2);
    fx_free(f);
}

static void test_write_through_clean_entry_walks_to_set_dirty(void **state)
{
    (void)state;
    dirty_rewalk("p3");
    dirty_rewalk("core2");
    dirty_rewalk("haswell");
}

/* ---- 8. stale rights ---- */

static void test_protect_without_flush_stale_write(void **state)
{
    (void)state;
    struct fx *f = fx_new("2level", NULL);
    uint64_t pa = frame(f);
    map4k(f, 0x08048000u, pa, USER_RW_AD);
    unsigned w = MMUSIM_ACC_WRITE | MMUSIM_ACC_USER;
    uint32_t v = 1;
    assert_int_equal(acc(f->cpu, 0x08048000u, w, 4, &v).fault, 0);
    mmusim_machine_set_coherence_check(f->m, 1);
    assert_int_equal(mmusim_pt_protect(f->m, f->cr3, 0x08048000u, MMUSIM_PTE_US | MMUSIM_PTE_A | MMUSIM_PTE_D),
                     MMUSIM_OK);
    /* No INVLPG: the TLB still holds the writable, dirty entry; hardware uses it. */
    v = 2;
    struct mmusim_access a = acc(f->cpu, 0x08048010u, w, 4, &v);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 0);
    assert_int_equal(phys32(f, pa + 0x10), 2);
    struct mmusim_coherence_violation viol[4];
    assert_int_equal(mmusim_machine_coherence_violations(f->m, viol, 4), 1);
    assert_int_equal(viol[0].va, 0x08048010u);
    assert_int_equal(viol[0].current_present, 1);
    assert_int_equal(viol[0].stale_pa, pa);
    assert_int_equal(viol[0].current_pa, pa);
    assert_true(viol[0].stale_rights & MMUSIM_RIGHT_W);
    assert_false(viol[0].current_rights & MMUSIM_RIGHT_W);
    assert_true(viol[0].current_rights & MMUSIM_RIGHT_U);
    assert_int_equal(cstats(f->cpu).coherence_violations, 1);
    /* After the INVLPG the write faults: protection, write, user (SDM §4.7) = 7. */
    mmusim_flush_tlb_one(f->cpu, 0x08048000u);
    a = acc(f->cpu, 0x08048010u, w, 4, &v);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.error_code, MMUSIM_PF_P | MMUSIM_PF_W | MMUSIM_PF_U);
    assert_int_equal(phys32(f, pa + 0x10), 2);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 1);
    fx_free(f);
}

/* ---- 9. the coherence checker ---- */

static void remap_case(const char *paging)
{
    struct fx *f = fx_new(paging, NULL);
    uint64_t A = frame(f), B = frame(f);
    uint32_t va = 0x08048000u, mA = 0xaaaaaaaau, mB = 0xbbbbbbbbu, r = 0;
    assert_int_equal(mmusim_phys_write32(f->m, A + 0x40, mA), MMUSIM_OK);
    assert_int_equal(mmusim_phys_write32(f->m, B + 0x40, mB), MMUSIM_OK);
    unsigned rd = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
    mmusim_cpu *c1 = mmusim_machine_cpu(f->m, 1);

    mmusim_machine_set_coherence_check(f->m, 1);
    map4k(f, va, A, USER_RW_AD);
    assert_int_equal(acc(c1, va + 0x40, rd, 4, &r).fault, 0);
    assert_int_equal(r, mA);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 0);

    /* remap without a flush: the stale entry still reaches A */
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, va), MMUSIM_OK);
    map4k(f, va, B, USER_RW_AD);
    struct mmusim_access a = acc(c1, va + 0x40, rd, 4, &r);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 0);
    assert_int_equal(a.pa, A + 0x40);
    assert_int_equal(r, mA);
    struct mmusim_coherence_violation v[2];
    memset(v, 0, sizeof(v));
    assert_int_equal(mmusim_machine_coherence_violations(f->m, v, 2), 1);
    assert_int_equal(v[0].cpu, 1);
    assert_int_equal(v[0].va, va + 0x40);
    assert_int_equal(v[0].stale_pa, A);
    assert_int_equal(v[0].current_pa, B);
    assert_int_equal(v[0].current_present, 1);
    assert_int_equal(v[0].stale_rights, v[0].current_rights);
    struct mmusim_pte_info pi;
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, va, &pi), MMUSIM_OK);
    assert_int_equal(v[0].leaf_pa, pi.entry_pa); /* the same PTE slot */

    /* the same with the flush: no violation, and B is reached */
    mmusim_machine_coherence_reset(f->m);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, va), MMUSIM_OK);
    map4k(f, va, A, USER_RW_AD);
    mmusim_flush_tlb_one(c1, va);
    assert_int_equal(acc(c1, va + 0x40, rd, 4, &r).walked, 1);
    assert_int_equal(r, mA);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, va), MMUSIM_OK);
    map4k(f, va, B, USER_RW_AD);
    mmusim_flush_tlb_one(c1, va);
    a = acc(c1, va + 0x40, rd, 4, &r);
    assert_int_equal(a.walked, 1);
    assert_int_equal(a.pa, B + 0x40);
    assert_int_equal(r, mB);
    assert_int_equal(acc(c1, va + 0x40, rd, 4, &r).walked, 0); /* a hit, and a coherent one */
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 0);

    /* unmap without a flush: the tables no longer map va */
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, va), MMUSIM_OK);
    a = acc(c1, va + 0x40, rd, 4, &r);
    assert_int_equal(a.fault, 0);
    assert_int_equal(r, mB);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, v, 2), 1);
    assert_int_equal(v[0].current_present, 0);
    assert_int_equal(v[0].stale_pa, B);

    /* checker off: the same stale hit, nothing recorded */
    mmusim_machine_set_coherence_check(f->m, 0);
    mmusim_machine_coherence_reset(f->m);
    a = acc(c1, va + 0x40, rd, 4, &r);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.walked, 0);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 0);
    /* and CPU 0, which never cached va, faults: not present, user read = 4 */
    a = acc(f->cpu, va + 0x40, rd, 4, &r);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.error_code, MMUSIM_PF_U);
    fx_free(f);
}

static void test_coherence_remap_without_flush_2level(void **state)
{
    (void)state;
    remap_case("2level");
}

static void test_coherence_remap_without_flush_pae(void **state)
{
    (void)state;
    remap_case("pae");
}

/* ---- 10. straddling ---- */

static void test_straddling_write(void **state)
{
    (void)state;
    struct fx *f = fx_new("2level", NULL);
    uint64_t A = frame(f), B = frame(f), C = frame(f), D = frame(f);
    map4k(f, 0x08048000u, A, USER_RW);
    map4k(f, 0x08049000u, B, USER_RW);
    unsigned w = MMUSIM_ACC_WRITE | MMUSIM_ACC_USER;
    uint8_t bytes[4] = {0x11, 0x22, 0x33, 0x44}, got[4];
    struct mmusim_access a = acc(f->cpu, 0x08048ffeu, w, 4, bytes);
    assert_int_equal(a.fault, 0);
    assert_int_equal(a.pa, A + 0xffe);
    assert_int_equal(mmusim_phys_read(f->m, A + 0xffe, got, 2), MMUSIM_OK);
    assert_memory_equal(got, bytes, 2);
    assert_int_equal(mmusim_phys_read(f->m, B, got, 2), MMUSIM_OK);
    assert_memory_equal(got, bytes + 2, 2);
    uint32_t r = 0;
    assert_int_equal(acc(f->cpu, 0x08048ffeu, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, &r).fault, 0);
    assert_memory_equal(&r, bytes, 4);

    /* second page not mapped: #PF on it, and neither frame written */
    map4k(f, 0x0804c000u, C, USER_RW);
    assert_int_equal(mmusim_phys_write32(f->m, C + 0xffc, 0x5a5a5a5au), MMUSIM_OK);
    assert_int_equal(mmusim_phys_write32(f->m, D, 0x5a5a5a5au), MMUSIM_OK);
    a = acc(f->cpu, 0x0804cffeu, w, 4, bytes);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.cr2, 0x0804d000u);
    assert_int_equal(a.error_code, MMUSIM_PF_W | MMUSIM_PF_U);
    struct mmusim_cpu_regs regs;
    mmusim_cpu_regs(f->cpu, &regs);
    assert_int_equal(regs.cr2, 0x0804d000u);
    assert_int_equal(phys32(f, C + 0xffc), 0x5a5a5a5au);
    assert_int_equal(phys32(f, D), 0x5a5a5a5au);
    /* mapped read-only instead: a protection fault, still nothing written */
    map4k(f, 0x0804d000u, D, MMUSIM_PTE_US);
    a = acc(f->cpu, 0x0804cffeu, w, 4, bytes);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.cr2, 0x0804d000u);
    assert_int_equal(a.error_code, MMUSIM_PF_P | MMUSIM_PF_W | MMUSIM_PF_U);
    assert_int_equal(phys32(f, C + 0xffc), 0x5a5a5a5au);
    assert_int_equal(phys32(f, D), 0x5a5a5a5au);
    fx_free(f);
}

/* ---- 11. faults through the access path ---- */

static void check_fault_like_walker(struct fx *f, uint32_t va, unsigned kind, uint32_t want_ec)
{
    struct mmusim_walk w;
    assert_int_equal(mmusim_cpu_walk(f->cpu, va, kind, &w), MMUSIM_OK);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, want_ec);
    struct mmusim_tlb_stats before[MMUSIM_TLB_COUNT_];
    for (int i = 0; i < MMUSIM_TLB_COUNT_; i++)
        before[i] = tlbst(f->cpu, (enum mmusim_tlb_id)i);
    uint64_t data = 0;
    struct mmusim_access a = acc(f->cpu, va, kind, 4, &data);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.walked, 1);
    assert_int_equal(a.error_code, w.error_code);
    assert_int_equal(a.cr2, va);
    struct mmusim_cpu_regs regs;
    mmusim_cpu_regs(f->cpu, &regs);
    assert_int_equal(regs.cr2, va);
    /* SDM §4.10.2.3: no TLB entry from a faulting translation. */
    for (int i = 0; i < MMUSIM_TLB_COUNT_; i++)
        assert_int_equal(tlbst(f->cpu, (enum mmusim_tlb_id)i).fills, before[i].fills);
    a = acc(f->cpu, va, kind, 4, &data);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.walked, 1);
}

static void test_faults_match_walker_2level(void **state)
{
    (void)state;
    struct fx *f = fx_new("2level", NULL);
    map4k(f, 0x08048000u, frame(f), MMUSIM_PTE_RW); /* supervisor page */
    map4k(f, 0x08049000u, frame(f), MMUSIM_PTE_US); /* user read-only */
    /* SDM §4.7: P=1 protection, W=1 write, U/S=1 user: 7. */
    check_fault_like_walker(f, 0x08048010u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 7);
    check_fault_like_walker(f, 0x08048010u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 5);
    check_fault_like_walker(f, 0x08049010u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 7);
    /* CR0.WP = 1 (machine.h): a supervisor write to a read-only page faults, 3. */
    check_fault_like_walker(f, 0x08049010u, MMUSIM_ACC_WRITE, 3);
    /* not present: P=0, 6 for a user write, 0 for a supervisor read */
    check_fault_like_walker(f, 0x0804a010u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 6);
    check_fault_like_walker(f, 0x30000000u, MMUSIM_ACC_READ, 0);
    /* a user read of the kernel direct map: 5 */
    check_fault_like_walker(f, 0xc0100000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 5);
    /* without PAE there is no I/D bit (§4.7) */
    check_fault_like_walker(f, 0x0804a010u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 4);
    /* A TLB entry present for a page is refused for an access it does not permit. */
    assert_int_equal(acc(f->cpu, 0x08049010u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL).walked, 1);
    check_fault_like_walker(f, 0x08049010u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 7);
    fx_free(f);
}

static void test_faults_match_walker_pae_nx(void **state)
{
    (void)state;
    static const char *const sets[] = {"nx", "1", NULL};
    struct fx *f = fx_new("pae", sets);
    map4k(f, 0x08048000u, frame(f), USER_RW | MMUSIM_PTE_NX);
    /* execute-disable with EFER.NXE: P | U | I = 0x15 (§4.7) */
    check_fault_like_walker(f, 0x08048010u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 0x15);
    check_fault_like_walker(f, 0x0804a010u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 0x14);
    /* a read of the same NX page is fine and fills the TLB; an exec still faults */
    assert_int_equal(acc(f->cpu, 0x08048010u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, 4, NULL).fault, 0);
    assert_int_equal(acc(f->cpu, 0x08048010u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 4, NULL).error_code, 0x15);
    fx_free(f);
}

/* ---- 12. the differential test ---- */

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

#define D_NCPU 4
#define D_NAS 2
#define D_N4K 64      /* 4 page tables x 16 pages */
#define D_NLARGE 2
#define D_NSLOT (D_N4K + D_NLARGE)
#define D_NFRAMES 24
#define D_OPS 120000u

struct shadow_pte {
    int present;
    uint64_t pa;    /* page base */
    uint64_t flags; /* as mapped */
};

struct diff {
    struct fx *f;
    int pae;
    uint64_t span; /* large-page size */
    uint64_t cr3[D_NAS];
    unsigned cur[D_NCPU]; /* address space loaded in each CPU */
    struct shadow_pte sh[D_NAS][D_NSLOT];
    uint64_t frames[D_NFRAMES];
    uint64_t accesses, hits, faults, edits, mismatches;
};

static uint32_t slot_va(const struct diff *d, unsigned s)
{
    if (s < D_N4K) /* 4 page tables, 16 pages each, spread within them */
        return 0x10000000u + (uint32_t)((s / 16) * d->span) + (s % 16) * 0x3000u;
    return 0x20000000u + (uint32_t)((s - D_N4K) * d->span);
}

static uint64_t rand_flags(struct diff *d)
{
    uint64_t fl = 0;
    if (rndn(10))
        fl |= MMUSIM_PTE_US;
    if (rndn(6))
        fl |= MMUSIM_PTE_RW;
    if (rndn(2))
        fl |= MMUSIM_PTE_A;
    if (rndn(2))
        fl |= MMUSIM_PTE_D;
    if (d->pae && !rndn(8))
        fl |= MMUSIM_PTE_NX;
    return fl;
}

/* The shootdown Linux does after a PTE change: INVLPG on every CPU. */
static void shootdown(struct diff *d, uint32_t va)
{
    for (unsigned c = 0; c < D_NCPU; c++)
        mmusim_flush_tlb_one(mmusim_machine_cpu(d->f->m, c), va);
}

/* Edit slot s of address space as; returns the address to flush. */
static uint32_t edit(struct diff *d, unsigned as, unsigned s, int force_unmap)
{
    struct shadow_pte *p = &d->sh[as][s];
    int large = s >= D_N4K;
    uint32_t va = slot_va(d, s);
    d->edits++;
    if (force_unmap || (p->present && !rndn(8))) {
        assert_int_equal(mmusim_pt_unmap(d->f->m, d->cr3[as], va), MMUSIM_OK);
        p->present = 0;
    } else if (p->present) {
        p->flags = rand_flags(d);
        assert_int_equal(mmusim_pt_protect(d->f->m, d->cr3[as], va, p->flags), MMUSIM_OK);
    } else {
        p->present = 1;
        p->flags = rand_flags(d);
        p->pa = large ? LARGE_PA + rndn(2) * d->span : d->frames[rndn(D_NFRAMES)];
        assert_int_equal(mmusim_pt_map(d->f->m, d->cr3[as], va, p->pa, large ? MMUSIM_PAGE_LARGE : MMUSIM_PAGE_4K,
                                       p->flags),
                         MMUSIM_OK);
    }
    /* any address of the page: INVLPG anywhere in a large page must do */
    return large ? va + (uint32_t)(rnd() % d->span & ~0xfffull) : va;
}

/* The reference model: SDM §4.6 (CR0.WP = 1) and §4.7. Returns 1 and *ec on a fault. */
static int reference(const struct diff *d, unsigned cpu, uint32_t va, unsigned kind, uint64_t *pa, uint32_t *ec)
{
    unsigned k = kind & 3u;
    int user = (kind & MMUSIM_ACC_USER) != 0;
    uint32_t e = (k == MMUSIM_ACC_WRITE ? MMUSIM_PF_W : 0) | (user ? MMUSIM_PF_U : 0) |
                 (k == MMUSIM_ACC_EXEC && d->pae ? MMUSIM_PF_I : 0); /* NXE on with PAE here */
    uint64_t base, flags;
    if (va >= 0xc0000000u) { /* the direct map: PAGE_KERNEL (+G), supervisor, writable */
        base = (va - 0xc0000000u) & ~0xfffull;
        flags = MMUSIM_PTE_RW;
    } else {
        const struct shadow_pte *p = NULL;
        uint64_t size = 4096;
        for (unsigned s = 0; s < D_NSLOT; s++) {
            uint64_t sz = s < D_N4K ? 4096 : d->span;
            uint32_t sva = slot_va(d, s);
            if (va >= sva && va - sva < sz) {
                p = &d->sh[d->cur[cpu]][s];
                size = sz;
                break;
            }
        }
        if (!p || !p->present) {
            *ec = e;
            return 1;
        }
        base = p->pa + ((va & ~0xfffull) & (size - 1));
        flags = p->flags; /* PDEs of user tables are _PAGE_TABLE: P RW US A D */
    }
    int ok = !(user && !(flags & MMUSIM_PTE_US)) && !(k == MMUSIM_ACC_WRITE && !(flags & MMUSIM_PTE_RW)) &&
             !(k == MMUSIM_ACC_EXEC && (flags & MMUSIM_PTE_NX));
    if (!ok) {
        *ec = e | MMUSIM_PF_P;
        return 1;
    }
    *pa = base | (va & 0xfffu);
    return 0;
}

static void do_access(struct diff *d, unsigned cpu, uint32_t va, unsigned kind, unsigned size, int check)
{
    mmusim_cpu *c = mmusim_machine_cpu(d->f->m, cpu);
    uint64_t data = rnd(), back = 0;
    struct mmusim_access a;
    assert_int_equal(mmusim_cpu_access(c, va, kind, size, &data, &a), MMUSIM_OK);
    uint64_t pa = 0;
    uint32_t ec = 0;
    int fault = reference(d, cpu, va, kind, &pa, &ec);
    d->accesses++;
    d->hits += !a.walked;
    d->faults += (uint64_t)a.fault;
    int same = a.fault == fault && (fault ? a.error_code == ec && a.cr2 == va : a.pa == pa);
    if (same && !fault) {
        assert_int_equal(mmusim_phys_read(d->f->m, pa, &back, size), MMUSIM_OK);
        same = memcmp(&back, &data, size) == 0; /* the bytes moved at the reference address */
    }
    if (!same) {
        d->mismatches++;
        if (check)
            print_error("op on cpu %u va %#x kind %u: got fault %d ec %#x pa %#llx, want fault %d ec %#x pa %#llx\n",
                        cpu, va, kind, a.fault, a.error_code, (unsigned long long)a.pa, fault, ec,
                        (unsigned long long)pa);
    }
    if (check)
        assert_true(same);
}

/* skip_at: 0, or the op from which one edit (an unmap of a page CPU 0 has just used) is left unflushed. */
static void differential(const char *paging, const char *preset, int fragments, unsigned skip_at, struct diff *d)
{
    const char *sets[] = {"preset", preset, "cpus", "4", "dtlb.large.entries", "0", "nx", "1", NULL};
    if (strcmp(paging, "pae") != 0)
        sets[6] = NULL;
    if (!fragments) /* large pages cached as 4 KiB fragments in dtlb.4k */
        sets[4] = sets[6], sets[5] = sets[7], sets[6] = NULL;
    memset(d, 0, sizeof(*d));
    d->f = fx_new(paging, sets);
    d->pae = strcmp(paging, "pae") == 0;
    d->span = d->pae ? 2 * MIB : 4 * MIB;
    rng_state = 0x5eed2024u + (uint64_t)d->pae;
    struct mmusim_machine *m = d->f->m;
    d->cr3[0] = d->f->cr3;
    for (unsigned i = 1; i < D_NAS; i++)
        assert_int_equal(mmusim_pgd_create(m, &d->cr3[i]), MMUSIM_OK);
    for (unsigned i = 0; i < D_NFRAMES; i++)
        d->frames[i] = frame(d->f);
    for (unsigned as = 0; as < D_NAS; as++) /* start with everything mapped (nothing cached yet) */
        for (unsigned s = 0; s < D_NSLOT; s++)
            (void)edit(d, as, s, 0);
    mmusim_machine_set_coherence_check(m, 1);
    int skipped = 0, check = skip_at == 0;
    unsigned last_ok_slot = D_NSLOT; /* CPU 0's last successful access to a 4 KiB slot, the op before */
    uint32_t last_ok_va = 0;
    unsigned last_ok_kind = 0;
    for (unsigned op = 0; op < D_OPS; op++) {
        unsigned r = rndn(1000);
        if (!skipped && skip_at && op >= skip_at && last_ok_slot < D_NSLOT) {
            /* the deliberate bug: unmap a page CPU 0 has cached, flush nowhere, touch it again */
            (void)edit(d, d->cur[0], last_ok_slot, 1);
            skipped = 1;
            do_access(d, 0, last_ok_va, last_ok_kind, 4, 0);
            continue;
        }
        last_ok_slot = D_NSLOT;
        if (r < 60) { /* (a)(b)(c) map, unmap, protect, then the shootdown */
            unsigned as = rndn(D_NAS), s = rndn(D_NSLOT);
            if (s >= D_N4K && rndn(2))
                s = rndn(D_NSLOT); /* keep large pages a minority of the edits */
            shootdown(d, edit(d, as, s, 0));
        } else if (r < 63) { /* (e) context switch: load one of the address spaces */
            unsigned cpu = rndn(D_NCPU), as = rndn(D_NAS);
            assert_int_equal(mmusim_cpu_write_cr3(mmusim_machine_cpu(m, cpu), d->cr3[as], NULL), MMUSIM_OK);
            d->cur[cpu] = as;
        } else if (r < 64) { /* the other flushes, on one CPU */
            mmusim_cpu *c = mmusim_machine_cpu(m, rndn(D_NCPU));
            if (rndn(2))
                (void)mmusim_flush_tlb_all(c);
            else
                (void)mmusim_flush_tlb(c);
        } else { /* (d) an access */
            unsigned cpu = rndn(D_NCPU), pick = rndn(100);
            unsigned size = 1u << rndn(4);
            uint32_t va;
            unsigned s = D_NSLOT;
            if (pick < 78) {
                s = rndn(D_N4K);
                va = slot_va(d, s) + (rndn(4096) & ~(size - 1));
            } else if (pick < 93) {
                va = slot_va(d, D_N4K + rndn(D_NLARGE)) + (uint32_t)(rnd() % d->span & ~(uint64_t)(size - 1));
            } else if (pick < 96) {
                va = 0x30000000u + rndn(64) * 0x1000u; /* no page table there */
            } else {
                va = 0xc0000000u + rndn(4 * 1024) * 0x1000u; /* the direct map, first 16 MiB */
            }
            unsigned kind = rndn(100) < 55 ? MMUSIM_ACC_READ : rndn(3) ? MMUSIM_ACC_WRITE : MMUSIM_ACC_EXEC;
            if (va >= 0xc0000000u && kind == MMUSIM_ACC_WRITE)
                kind = MMUSIM_ACC_READ; /* never scribble on the kernel's own tables */
            if (rndn(10) < 7)
                kind |= MMUSIM_ACC_USER;
            uint64_t before = d->faults;
            do_access(d, cpu, va, kind, size, check);
            if (cpu == 0 && s < D_NSLOT && d->faults == before) {
                last_ok_slot = s;
                last_ok_va = va & ~3u;
                last_ok_kind = kind;
            }
        }
    }
    assert_true(!skip_at || skipped);
}

static void test_differential(const char *paging, const char *preset, int fragments)
{
    struct diff *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    clock_t t0 = clock();
    differential(paging, preset, fragments, 0, d);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    struct mmusim_cpu_stats ms;
    mmusim_machine_stats(d->f->m, &ms);
    print_message("differential %s %s%s: %u ops, %llu accesses, %llu TLB hits (%.1f%%), %llu faults, %llu edits, %.2f s\n",
                  paging, preset, fragments ? " (fragments)" : "", D_OPS, (unsigned long long)d->accesses, (unsigned long long)d->hits,
                  100.0 * (double)d->hits / (double)d->accesses, (unsigned long long)d->faults,
                  (unsigned long long)d->edits, secs);
    assert_int_equal(d->mismatches, 0);
    assert_int_equal(mmusim_machine_coherence_violations(d->f->m, NULL, 0), 0);
    assert_int_equal(ms.coherence_violations, 0);
    assert_int_equal(ms.accesses, d->accesses);
    /* > 30% of accesses hit a TLB; > 20% with fragments, where random offsets in a
     * large page are mostly new 4 KiB fragments */
    assert_true(d->hits * 10 > d->accesses * (fragments ? 2 : 3));
    assert_true(d->faults > 0 && d->faults < d->accesses);
    assert_true(ms.dirty_rewalks > 0);
    assert_true(ms.pdecache_hits > 0 || mmusim_machine_config(d->f->m)->tlb.pdecache_entries == 0);
    fx_free(d->f);
    free(d);
}

static void test_differential_2level(void **state)
{
    (void)state;
    test_differential("2level", "core2", 0);
}

static void test_differential_pae(void **state)
{
    (void)state;
    test_differential("pae", "core2", 0);
}

/* The other TLB shapes: an STLB (haswell), no uTLB (p3), large pages as fragments (atom). */
static void test_differential_other_presets(void **state)
{
    (void)state;
    test_differential("pae", "haswell", 0);
    test_differential("2level", "haswell", 0);
    test_differential("2level", "p3", 0);
    test_differential("2level", "atom", 1);
    test_differential("pae", "p3", 1);
}

/* One shootdown left out: the checker and the reference comparison both see it. */
static void test_differential_catches_skipped_flush(void **state)
{
    (void)state;
    static const char *const modes[] = {"2level", "pae"};
    for (unsigned i = 0; i < 2; i++) {
        struct diff *d = calloc(1, sizeof(*d));
        assert_non_null(d);
        differential(modes[i], "core2", 0, 5000, d);
        assert_true(mmusim_machine_coherence_violations(d->f->m, NULL, 0) >= 1);
        assert_true(d->mismatches >= 1);
        fx_free(d->f);
        free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry_p3),
        cmocka_unit_test(test_geometry_core2),
        cmocka_unit_test(test_geometry_atom),
        cmocka_unit_test(test_geometry_haswell),
        cmocka_unit_test(test_read_walks_then_hits),
        cmocka_unit_test(test_write_read_back_at_physical_address),
        cmocka_unit_test(test_core2_load_after_store_costs_l0_miss),
        cmocka_unit_test(test_lru_thrash_five_pages_in_four_ways),
        cmocka_unit_test(test_invlpg_inside_4m_page),
        cmocka_unit_test(test_invlpg_inside_2m_page),
        cmocka_unit_test(test_invlpg_drops_large_page_fragments),
        cmocka_unit_test(test_global_survives_cr3_not_pge_toggle),
        cmocka_unit_test(test_flush_tlb_all_without_pge_is_cr3),
        cmocka_unit_test(test_cr4_write_cycles_recorded_in_cr4_cycles),
        cmocka_unit_test(test_flush_tlb_pae_pdpte_gp_flushes_nothing),
        cmocka_unit_test(test_cr4_pge_toggle_pae_reloads_pdptes),
        cmocka_unit_test(test_cr4_write_pae_pdpte_gp_changes_nothing),
        cmocka_unit_test(test_pdpte_loads_counted_pae),
        cmocka_unit_test(test_pdpte_loads_none_without_pae),
        cmocka_unit_test(test_pde_cache_hit_and_invalidation),
        cmocka_unit_test(test_write_through_clean_entry_walks_to_set_dirty),
        cmocka_unit_test(test_protect_without_flush_stale_write),
        cmocka_unit_test(test_coherence_remap_without_flush_2level),
        cmocka_unit_test(test_coherence_remap_without_flush_pae),
        cmocka_unit_test(test_straddling_write),
        cmocka_unit_test(test_faults_match_walker_2level),
        cmocka_unit_test(test_faults_match_walker_pae_nx),
        cmocka_unit_test(test_differential_2level),
        cmocka_unit_test(test_differential_pae),
        cmocka_unit_test(test_differential_other_presets),
        cmocka_unit_test(test_differential_catches_skipped_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
