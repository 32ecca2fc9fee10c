/*
 * Machine creation, configuration, physical memory and the frame allocator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

/* Set key=value pairs, create, and return the code; a failed create leaves out NULL. */
static int create_with(const char *const *sets, mmusim_machine **out)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    for (; sets && *sets; sets += 2)
        assert_int_equal(mmusim_config_set(&cfg, sets[0], sets[1]), MMUSIM_OK);
    *out = (mmusim_machine *)&cfg; /* must be overwritten with NULL on failure */
    int rc = mmusim_machine_create(&cfg, out);
    if (rc != MMUSIM_OK)
        assert_null(*out);
    return rc;
}

static void expect_rejected(const char *const *sets, int code)
{
    mmusim_machine *m;
    assert_int_equal(create_with(sets, &m), code);
}

static void test_defaults_create_a_working_machine(void **state)
{
    (void)state;
    mmusim_machine *m;
    assert_int_equal(create_with(NULL, &m), MMUSIM_OK);
    assert_int_equal(mmusim_machine_ncpus(m), 2);
    assert_int_equal(mmusim_machine_config(m)->preset, MMUSIM_PRESET_CORE2);
    assert_int_equal(mmusim_machine_layout(m)->page_offset, 0xc0000000u);
    assert_null(mmusim_machine_cpu(m, 2));
    assert_int_equal(mmusim_cpu_cycles(mmusim_machine_cpu(m, 1)), 0);
    mmusim_machine_destroy(m);
    mmusim_machine_destroy(NULL); /* harmless */
}

static void test_every_bad_configuration_has_its_own_code(void **state)
{
    (void)state;
    static const char *const cpus0[] = {"cpus", "0", NULL};
    static const char *const mem_unaligned[] = {"mem", "1048577", NULL};
    static const char *const mem_small[] = {"mem", "8M", NULL};
    static const char *const mem_4g_nopae[] = {"mem", "5G", NULL};
    static const char *const mem_128g[] = {"paging", "pae", "mem", "65G", NULL};
    static const char *const nx_nopae[] = {"nx", "1", NULL};
    static const char *const split_pae_18[] = {"era", "2.6.18", "paging", "pae", "split", "2G", NULL};
    static const char *const split_pae_32[] = {"paging", "pae", "split", "3G_OPT", NULL};
    static const char *const split_era[] = {"era", "2.6.18", "split", "2G_OPT", NULL};
    static const char *const nr_cpus[] = {"cpus", "16", "nr_cpus", "8", NULL};
    static const char *const vm_align[] = {"vmalloc", "4097", NULL};
    static const char *const tlb_geom[] = {"dtlb.4k.entries", "48", "dtlb.4k.ways", "4", NULL};
    static const char *const tlb_ways[] = {"itlb.4k.entries", "64", "itlb.4k.ways", "5", NULL};
    static const char *const mhz0[] = {"cost.cpu_mhz", "0", NULL};
    static const char *const plru6[] = {"tlb.replacement", "plru", "dtlb.4k.entries", "96", "dtlb.4k.ways", "6", NULL};
    static const char *const pdec12[] = {"tlb.replacement", "plru", "pdecache.entries", "12", NULL};
    expect_rejected(cpus0, MMUSIM_ENCPUS);
    expect_rejected(mem_unaligned, MMUSIM_EMEMALIGN);
    expect_rejected(mem_small, MMUSIM_EMEMSIZE);
    expect_rejected(mem_4g_nopae, MMUSIM_EMEMNOPAE);
    expect_rejected(mem_128g, MMUSIM_EMEMPAE);
    expect_rejected(nx_nopae, MMUSIM_ENXNOPAE);
    expect_rejected(split_pae_18, MMUSIM_ESPLITPAE);
    expect_rejected(split_pae_32, MMUSIM_ESPLITPAE);
    expect_rejected(split_era, MMUSIM_ESPLITERA);
    expect_rejected(nr_cpus, MMUSIM_ENRCPUS);
    expect_rejected(vm_align, MMUSIM_EVMALLOC);
    expect_rejected(tlb_geom, MMUSIM_ETLBGEOM);
    expect_rejected(tlb_ways, MMUSIM_ETLBGEOM);
    expect_rejected(mhz0, MMUSIM_ECOST);
    expect_rejected(plru6, MMUSIM_ETLBGEOM);  /* 16 sets of 6 ways: no PLRU tree */
    expect_rejected(pdec12, MMUSIM_ETLBGEOM);
}

static void test_fields_outside_set_are_validated_too(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_machine *m = (mmusim_machine *)&cfg;
    mmusim_config_init(&cfg);
    cfg.ncpus = 65;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_ENCPUS);
    assert_null(m);
    mmusim_config_init(&cfg);
    cfg.paging = (enum mmusim_paging)7;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EPAGING);
    mmusim_config_init(&cfg);
    cfg.era = (enum mmusim_era)9;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EERA);
    mmusim_config_init(&cfg);
    cfg.split = (enum mmusim_split)9;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_ESPLIT);
    mmusim_config_init(&cfg);
    cfg.preset = MMUSIM_PRESET_COUNT_;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EPRESET);
    mmusim_config_init(&cfg);
    cfg.km_type_nr = 65;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EKMTYPES);
    mmusim_config_init(&cfg);
    cfg.features |= 0x80;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EINVAL);
    assert_int_equal(mmusim_config_validate(NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_machine_create(&cfg, NULL), MMUSIM_EINVAL);
}

static void test_config_set_parses_and_refuses_without_change(void **state)
{
    (void)state;
    struct mmusim_config cfg, before;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "512M"), MMUSIM_OK);
    assert_int_equal(cfg.mem_bytes, 512 * MIB);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "0x40000000"), MMUSIM_OK);
    assert_int_equal(cfg.mem_bytes, 1 * GIB);
    assert_int_equal(mmusim_config_set(&cfg, "pae", "yes"), MMUSIM_OK);
    assert_int_equal(cfg.paging, MMUSIM_PAGING_PAE);
    assert_int_equal(mmusim_config_set(&cfg, "split", "1G"), MMUSIM_OK);
    assert_int_equal(cfg.split, MMUSIM_SPLIT_1G);
    assert_int_equal(mmusim_config_set(&cfg, "tlb.replacement", "fifo"), MMUSIM_OK);
    assert_int_equal(cfg.tlb.replacement, MMUSIM_REPL_FIFO);
    assert_int_equal(mmusim_config_set(&cfg, "cost.invlpg", "123"), MMUSIM_OK);
    assert_int_equal(cfg.costs.invlpg, 123);
    before = cfg;
    assert_int_equal(mmusim_config_set(&cfg, "no.such.key", "1"), MMUSIM_EKEY);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "65"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "-1"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "2x"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "1T"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "99999999999999999999"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "pge", "maybe"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "preset", "pentium5"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "era", "2.4"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "cost.invlpg", ""), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, NULL, "1"), MMUSIM_EINVAL);
    assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void test_preset_key_reloads_costs_and_tlbs(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "cost.invlpg", "1"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "preset", "haswell"), MMUSIM_OK);
    assert_int_equal(cfg.preset, MMUSIM_PRESET_HASWELL);
    assert_int_equal(cfg.costs.invlpg, 216); /* Hansen 2015, Haswell Xeon (hw-costs.md §3b) */
    assert_int_equal(mmusim_config_set(&cfg, "preset", "p3"), MMUSIM_OK);
    assert_int_equal(cfg.tlb.dtlb_4k.entries, 64); /* PIII descriptor 03h (hw-costs.md §2) */
}

static void test_every_key_is_listed_and_settable_name(void **state)
{
    (void)state;
    size_t n = mmusim_config_key_count();
    assert_true(n > 40);
    const char *name, *doc;
    int saw_cost = 0, saw_tlb = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(mmusim_config_key(i, &name, &doc), MMUSIM_OK);
        assert_true(strlen(name) > 0 && strlen(doc) > 0);
        saw_cost += strncmp(name, "cost.", 5) == 0;
        saw_tlb += strcmp(name, "stlb.entries") == 0 || strcmp(name, "pdecache.entries") == 0;
    }
    assert_int_equal(saw_tlb, 2);
    assert_true(saw_cost >= 19);
    assert_int_equal(mmusim_config_key(n, &name, &doc), MMUSIM_EINVAL);
}

static void test_parse_size_units(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mmusim_parse_size("4096", &v), MMUSIM_OK);
    assert_int_equal(v, 4096);
    assert_int_equal(mmusim_parse_size("4K", &v), MMUSIM_OK);
    assert_int_equal(v, 4096);
    assert_int_equal(mmusim_parse_size("64GiB", &v), MMUSIM_OK);
    assert_int_equal(v, 64 * GIB);
    assert_int_equal(mmusim_parse_size("1.5G", &v), MMUSIM_EVALUE);
    assert_int_equal(mmusim_parse_size("", &v), MMUSIM_EVALUE);
    assert_int_equal(mmusim_parse_size("G", &v), MMUSIM_EVALUE);
    assert_int_equal(mmusim_parse_size("17179869184G", &v), MMUSIM_EVALUE); /* 2^64 overflows */
}

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int c = 0; c < MMUSIM_ERR_COUNT_; c++) {
        assert_true(strlen(mmusim_strerror(c)) > 0);
        assert_true(strcmp(mmusim_err_name(c), "UNKNOWN") != 0);
        for (int d = 0; d < c; d++)
            assert_true(strcmp(mmusim_strerror(c), mmusim_strerror(d)) != 0);
    }
    assert_string_equal(mmusim_strerror(MMUSIM_OK), "success");
    assert_string_equal(mmusim_err_name(MMUSIM_ENOFRAME), "ENOFRAME");
    assert_string_equal(mmusim_strerror(-1), "unknown error");
    assert_string_equal(mmusim_strerror(MMUSIM_ERR_COUNT_), "unknown error");
}

static void test_physical_memory_is_sparse_and_range_checked(void **state)
{
    (void)state;
    static const char *const sets[] = {"paging", "pae", "mem", "64G", "cpus", "64", NULL};
    mmusim_machine *m;
    assert_int_equal(create_with(sets, &m), MMUSIM_OK);
    uint64_t base = mmusim_phys_resident_bytes(m);
    assert_true(base < 64 * 1024); /* boot writes only a handful of page-table frames */
    uint32_t v = 0xdeadbeef;
    assert_int_equal(mmusim_phys_read32(m, 40 * GIB, &v), MMUSIM_OK);
    assert_int_equal(v, 0); /* never written: zero, and no storage */
    assert_int_equal(mmusim_phys_resident_bytes(m), base);
    assert_int_equal(mmusim_phys_write32(m, 40 * GIB + 8, 0x12345678), MMUSIM_OK);
    assert_int_equal(mmusim_phys_resident_bytes(m), base + 4096);
    assert_int_equal(mmusim_phys_read32(m, 40 * GIB + 8, &v), MMUSIM_OK);
    assert_int_equal(v, 0x12345678);
    /* A write across a frame boundary lands in both frames. */
    char buf[8] = "abcdefg", back[8];
    assert_int_equal(mmusim_phys_write(m, 2 * GIB - 4, buf, 8), MMUSIM_OK);
    assert_int_equal(mmusim_phys_read(m, 2 * GIB - 4, back, 8), MMUSIM_OK);
    assert_memory_equal(buf, back, 8);
    assert_int_equal(mmusim_phys_write32(m, 64 * GIB, 1), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write(m, 64 * GIB - 4, buf, 8), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read32(m, 2, &v), MMUSIM_EINVAL);
    mmusim_machine_destroy(m);
}

static void test_frames_come_from_their_zone(void **state)
{
    (void)state;
    mmusim_machine *m;
    static const char *const sets[] = {"mem", "1G", NULL};
    assert_int_equal(create_with(sets, &m), MMUSIM_OK);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(pfn, l->max_low_pfn); /* next fit from the zone start */
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_DMA, &pfn), MMUSIM_OK);
    assert_true(pfn >= 256 && pfn < 4096); /* above the reserved first MiB, below 16 MiB */
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_COUNT_, &pfn), MMUSIM_EZONE);
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_EFRAME);
    assert_int_equal(mmusim_frame_free(m, 0), MMUSIM_EFRAME);
    /* Exhaust HighMem: 1 GiB - 0x377fe000 (2.6.32 lowmem) = 34818 frames. */
    uint64_t n = mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(n + 1, l->max_pfn - l->max_low_pfn);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_ENOFRAME);
    assert_int_equal(mmusim_frame_free(m, l->max_low_pfn + 7), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(pfn, l->max_low_pfn + 7);
    mmusim_machine_destroy(m);
}

static void test_cpus_boot_into_linux_state(void **state)
{
    (void)state;
    static const char *const sets[] = {"paging", "pae", "nx", "1", "cpus", "4", NULL};
    mmusim_machine *m;
    assert_int_equal(create_with(sets, &m), MMUSIM_OK);
    for (unsigned i = 0; i < 4; i++) {
        struct mmusim_cpu_regs r;
        mmusim_cpu *cpu = mmusim_machine_cpu(m, i);
        assert_int_equal(mmusim_cpu_id(cpu), i);
        mmusim_cpu_regs(cpu, &r);
        assert_int_equal(r.cr0 & (MMUSIM_CR0_PG | MMUSIM_CR0_WP), MMUSIM_CR0_PG | MMUSIM_CR0_WP);
        assert_int_equal(r.cr4, MMUSIM_CR4_PSE | MMUSIM_CR4_PAE | MMUSIM_CR4_PGE);
        assert_int_equal(r.efer, MMUSIM_EFER_NXE);
        assert_int_equal(r.cr3, mmusim_kernel_cr3(m));
        assert_int_equal(r.pdpte[3] & MMUSIM_PTE_P, MMUSIM_PTE_P); /* the kernel PMD */
    }
    mmusim_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_create_a_working_machine),
        cmocka_unit_test(test_every_bad_configuration_has_its_own_code),
        cmocka_unit_test(test_fields_outside_set_are_validated_too),
        cmocka_unit_test(test_config_set_parses_and_refuses_without_change),
        cmocka_unit_test(test_preset_key_reloads_costs_and_tlbs),
        cmocka_unit_test(test_every_key_is_listed_and_settable_name),
        cmocka_unit_test(test_parse_size_units),
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_physical_memory_is_sparse_and_range_checked),
        cmocka_unit_test(test_frames_come_from_their_zone),
        cmocka_unit_test(test_cpus_boot_into_linux_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
