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
#include "support.h"

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
    int rc = create_with(sets, &m);
    if (rc == MMUSIM_OK)
        mmusim_machine_destroy(m); /* accepted after all: the assertion below fails, without a leak */
    assert_int_equal(rc, code);
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

/* ---- every bad configuration has its own code (config.h, error.h) ---- */

static void test_create_refuses_zero_cpus(void **state)
{
    (void)state;
    static const char *const cpus0[] = {"cpus", "0", NULL};
    expect_rejected(cpus0, MMUSIM_ENCPUS);
}

static void test_create_refuses_mem_not_multiple_of_4k(void **state)
{
    (void)state;
    static const char *const mem_unaligned[] = {"mem", "1048577", NULL};
    expect_rejected(mem_unaligned, MMUSIM_EMEMALIGN);
}

static void test_create_refuses_mem_below_16m(void **state)
{
    (void)state;
    static const char *const mem_small[] = {"mem", "8M", NULL};
    expect_rejected(mem_small, MMUSIM_EMEMSIZE);
}

static void test_create_refuses_mem_over_4g_without_pae(void **state)
{
    (void)state;
    static const char *const mem_4g_nopae[] = {"mem", "5G", NULL};
    expect_rejected(mem_4g_nopae, MMUSIM_EMEMNOPAE);
}

static void test_create_refuses_mem_over_64g_with_pae(void **state)
{
    (void)state;
    static const char *const mem_128g[] = {"paging", "pae", "mem", "65G", NULL};
    expect_rejected(mem_128g, MMUSIM_EMEMPAE);
}

static void test_create_refuses_nx_without_pae(void **state)
{
    (void)state;
    static const char *const nx_nopae[] = {"nx", "1", NULL};
    expect_rejected(nx_nopae, MMUSIM_ENXNOPAE);
}

/* 2.6.18 allows no split but 3G with PAE. */
static void test_create_refuses_2618_split_other_than_3g_with_pae(void **state)
{
    (void)state;
    static const char *const split_pae_18[] = {"era", "2.6.18", "paging", "pae", "split", "2G", NULL};
    expect_rejected(split_pae_18, MMUSIM_ESPLITPAE);
}

/* 2.6.32 allows no _OPT split with PAE. */
static void test_create_refuses_2632_opt_split_with_pae(void **state)
{
    (void)state;
    static const char *const split_pae_32[] = {"paging", "pae", "split", "3G_OPT", NULL};
    expect_rejected(split_pae_32, MMUSIM_ESPLITPAE);
}

/* 2.6.18 has no VMSPLIT_2G_OPT. */
static void test_create_refuses_split_missing_from_era(void **state)
{
    (void)state;
    static const char *const split_era[] = {"era", "2.6.18", "split", "2G_OPT", NULL};
    expect_rejected(split_era, MMUSIM_ESPLITERA);
}

static void test_create_refuses_nr_cpus_below_cpus(void **state)
{
    (void)state;
    static const char *const nr_cpus[] = {"cpus", "16", "nr_cpus", "8", NULL};
    expect_rejected(nr_cpus, MMUSIM_ENRCPUS);
}

static void test_create_refuses_unaligned_vmalloc(void **state)
{
    (void)state;
    static const char *const vm_align[] = {"vmalloc", "4097", NULL};
    expect_rejected(vm_align, MMUSIM_EVMALLOC);
}

/* 48 entries of 4 ways: 12 sets. */
static void test_create_refuses_tlb_sets_not_power_of_two(void **state)
{
    (void)state;
    static const char *const tlb_geom[] = {"dtlb.4k.entries", "48", "dtlb.4k.ways", "4", NULL};
    expect_rejected(tlb_geom, MMUSIM_ETLBGEOM);
}

static void test_create_refuses_tlb_entries_not_multiple_of_ways(void **state)
{
    (void)state;
    static const char *const tlb_ways[] = {"itlb.4k.entries", "64", "itlb.4k.ways", "5", NULL};
    expect_rejected(tlb_ways, MMUSIM_ETLBGEOM);
}

static void test_create_refuses_zero_cpu_mhz(void **state)
{
    (void)state;
    static const char *const mhz0[] = {"cost.cpu_mhz", "0", NULL};
    expect_rejected(mhz0, MMUSIM_ECOST);
}

/* 16 sets of 6 ways: no PLRU tree. */
static void test_create_refuses_plru_ways_not_power_of_two(void **state)
{
    (void)state;
    static const char *const plru6[] = {"tlb.replacement", "plru", "dtlb.4k.entries", "96", "dtlb.4k.ways", "6", NULL};
    expect_rejected(plru6, MMUSIM_ETLBGEOM);
}

/* The PDE cache is fully associative: 12 ways, no PLRU tree either. */
static void test_create_refuses_plru_pdecache_not_power_of_two(void **state)
{
    (void)state;
    static const char *const pdec12[] = {"tlb.replacement", "plru", "pdecache.entries", "12", NULL};
    expect_rejected(pdec12, MMUSIM_ETLBGEOM);
}

/* ---- fields mmusim_config_set cannot reach are validated too ---- */

static void test_create_refuses_more_than_64_cpus(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_machine *m = (mmusim_machine *)&cfg;
    mmusim_config_init(&cfg);
    cfg.ncpus = 65;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_ENCPUS);
    assert_null(m);
}

static void test_validate_refuses_unknown_paging(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.paging = (enum mmusim_paging)7;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EPAGING);
}

static void test_validate_refuses_unknown_era(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.era = (enum mmusim_era)9;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EERA);
}

static void test_validate_refuses_unknown_split(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.split = (enum mmusim_split)9;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_ESPLIT);
}

static void test_validate_refuses_unknown_preset(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.preset = MMUSIM_PRESET_COUNT_;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EPRESET);
}

static void test_validate_refuses_km_type_nr_over_64(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.km_type_nr = 65;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EKMTYPES);
}

static void test_validate_refuses_unknown_feature_bits(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.features |= 0x80;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EINVAL);
}

static void test_validate_refuses_null_config(void **state)
{
    (void)state;
    assert_int_equal(mmusim_config_validate(NULL), MMUSIM_EINVAL);
}

/* A valid configuration, so that the NULL out is what is refused. */
static void test_create_refuses_null_output(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_OK);
    assert_int_equal(mmusim_machine_create(&cfg, NULL), MMUSIM_EINVAL);
}

/* A configuration changed in six fields by mmusim_config_set, each read back. */
static void configured(struct mmusim_config *cfg)
{
    mmusim_config_init(cfg);
    assert_int_equal(mmusim_config_set(cfg, "mem", "512M"), MMUSIM_OK);
    assert_int_equal(cfg->mem_bytes, 512 * MIB);
    assert_int_equal(mmusim_config_set(cfg, "mem", "0x40000000"), MMUSIM_OK);
    assert_int_equal(cfg->mem_bytes, 1 * GIB);
    assert_int_equal(mmusim_config_set(cfg, "pae", "yes"), MMUSIM_OK);
    assert_int_equal(cfg->paging, MMUSIM_PAGING_PAE);
    assert_int_equal(mmusim_config_set(cfg, "split", "1G"), MMUSIM_OK);
    assert_int_equal(cfg->split, MMUSIM_SPLIT_1G);
    assert_int_equal(mmusim_config_set(cfg, "tlb.replacement", "fifo"), MMUSIM_OK);
    assert_int_equal(cfg->tlb.replacement, MMUSIM_REPL_FIFO);
    assert_int_equal(mmusim_config_set(cfg, "cost.invlpg", "123"), MMUSIM_OK);
    assert_int_equal(cfg->costs.invlpg, 123);
}

static void test_config_set_parses_values(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    configured(&cfg);
}

/* mmusim_config_set(key, value) on the configured() config returns code and changes nothing. */
static void expect_set_refused(const char *key, const char *value, int code)
{
    struct mmusim_config cfg, before;
    configured(&cfg);
    before = cfg;
    assert_int_equal(mmusim_config_set(&cfg, key, value), code);
    assert_memory_equal(&cfg, &before, sizeof(cfg));
}

static void test_config_set_refuses_unknown_key(void **state)
{
    (void)state;
    expect_set_refused("no.such.key", "1", MMUSIM_EKEY);
}

static void test_config_set_refuses_cpus_over_64(void **state)
{
    (void)state;
    expect_set_refused("cpus", "65", MMUSIM_EVALUE);
}

static void test_config_set_refuses_negative_number(void **state)
{
    (void)state;
    expect_set_refused("cpus", "-1", MMUSIM_EVALUE);
}

static void test_config_set_refuses_trailing_garbage(void **state)
{
    (void)state;
    expect_set_refused("cpus", "2x", MMUSIM_EVALUE);
}

static void test_config_set_refuses_unknown_size_suffix(void **state)
{
    (void)state;
    expect_set_refused("mem", "1T", MMUSIM_EVALUE);
}

static void test_config_set_refuses_size_overflow(void **state)
{
    (void)state;
    expect_set_refused("mem", "99999999999999999999", MMUSIM_EVALUE);
}

static void test_config_set_refuses_bad_boolean(void **state)
{
    (void)state;
    expect_set_refused("pge", "maybe", MMUSIM_EVALUE);
}

static void test_config_set_refuses_unknown_preset(void **state)
{
    (void)state;
    expect_set_refused("preset", "pentium5", MMUSIM_EVALUE);
}

static void test_config_set_refuses_unknown_era(void **state)
{
    (void)state;
    expect_set_refused("era", "2.4", MMUSIM_EVALUE);
}

static void test_config_set_refuses_empty_value(void **state)
{
    (void)state;
    expect_set_refused("cost.invlpg", "", MMUSIM_EVALUE);
}

static void test_config_set_refuses_null_key(void **state)
{
    (void)state;
    expect_set_refused(NULL, "1", MMUSIM_EINVAL);
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
}

/* mmusim_config_get gives back, for every key, text that mmusim_config_set
 * takes and that leaves a configuration unchanged; unknown keys, small buffers refused. */
static void test_config_get_round_trips_every_key(void **state)
{
    (void)state;
    struct mmusim_config def, cfg;
    mmusim_config_init(&def);
    for (size_t i = 0; i < mmusim_config_key_count(); i++) {
        const char *name, *doc;
        char v[64];
        assert_int_equal(mmusim_config_key(i, &name, &doc), MMUSIM_OK);
        assert_int_equal(mmusim_config_get(&def, name, v, sizeof(v)), MMUSIM_OK);
        mmusim_config_init(&cfg);
        assert_int_equal(mmusim_config_set(&cfg, name, v), MMUSIM_OK);
        assert_memory_equal(&cfg, &def, sizeof(cfg));
    }
    char v[64];
    assert_int_equal(mmusim_config_get(&def, "cpus", v, sizeof(v)), MMUSIM_OK);
    assert_string_equal(v, "2");
    assert_int_equal(mmusim_config_set(&cfg, "hz", "auto"), MMUSIM_OK);
    assert_int_equal(mmusim_config_get(&cfg, "hz", v, sizeof(v)), MMUSIM_OK);
    assert_string_equal(v, "auto");
    assert_int_equal(mmusim_config_get(&def, "no_such_key", v, sizeof(v)), MMUSIM_EKEY);
    assert_int_equal(mmusim_config_get(&def, "mem", v, 4), MMUSIM_EINVAL);
}

static void test_config_key_refuses_index_past_end(void **state)
{
    (void)state;
    const char *name, *doc;
    assert_int_equal(mmusim_config_key(mmusim_config_key_count(), &name, &doc), MMUSIM_EINVAL);
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
}

static void test_parse_size_refuses_fraction(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mmusim_parse_size("1.5G", &v), MMUSIM_EVALUE);
}

static void test_parse_size_refuses_empty_string(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mmusim_parse_size("", &v), MMUSIM_EVALUE);
}

static void test_parse_size_refuses_suffix_without_number(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(mmusim_parse_size("G", &v), MMUSIM_EVALUE);
}

static void test_parse_size_refuses_overflow(void **state)
{
    (void)state;
    uint64_t v;
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

static void test_physical_memory_is_sparse(void **state)
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
    mmusim_machine_destroy(m);
}

/* The 64 GiB PAE machine the range checks run on (owned by the fixture). */
static mmusim_machine *machine_64g(void **state)
{
    static const char *const sets[] = {"paging", "pae", "mem", "64G", NULL};
    return ts_machine(state, 64, sets);
}

static void test_phys_write32_refuses_address_beyond_ram(void **state)
{
    mmusim_machine *m = machine_64g(state);
    uint64_t base = mmusim_phys_resident_bytes(m);
    assert_int_equal(mmusim_phys_write32(m, 64 * GIB, 1), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_resident_bytes(m), base);
}

/* A range that starts in RAM and ends past it: refused, and its first bytes are not written either. */
static void test_phys_write_refuses_range_past_end_of_ram(void **state)
{
    mmusim_machine *m = machine_64g(state);
    char buf[8] = "abcdefg";
    uint64_t base = mmusim_phys_resident_bytes(m);
    assert_int_equal(mmusim_phys_write(m, 64 * GIB - 4, buf, 8), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_resident_bytes(m), base);
    uint32_t v = 0xdeadbeef;
    assert_int_equal(mmusim_phys_read32(m, 64 * GIB - 4, &v), MMUSIM_OK);
    assert_int_equal(v, 0);
}

static void test_phys_read32_refuses_unaligned_address(void **state)
{
    mmusim_machine *m = machine_64g(state);
    uint32_t v;
    assert_int_equal(mmusim_phys_read32(m, 2, &v), MMUSIM_EINVAL);
}

/* mem=1G: 2.6.32 lowmem ends at 0x377fe000, HighMem is the rest. */
static mmusim_machine *machine_1g(void **state)
{
    static const char *const sets[] = {"mem", "1G", NULL};
    return ts_machine(state, 2, sets);
}

static void test_frames_come_from_their_zone(void **state)
{
    mmusim_machine *m = machine_1g(state);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(pfn, l->max_low_pfn); /* next fit from the zone start */
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_DMA, &pfn), MMUSIM_OK);
    assert_true(pfn >= 256 && pfn < 4096); /* above the reserved first MiB, below 16 MiB */
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_OK);
}

static void test_frame_alloc_refuses_unknown_zone(void **state)
{
    mmusim_machine *m = machine_1g(state);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_COUNT_, &pfn), MMUSIM_EZONE);
}

static void test_frame_free_refuses_frame_not_allocated(void **state)
{
    mmusim_machine *m = machine_1g(state);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_DMA, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_EFRAME);
}

/* pfn 0 lies in the reserved first MiB: never allocatable, so never freeable. */
static void test_frame_free_refuses_reserved_frame(void **state)
{
    mmusim_machine *m = machine_1g(state);
    assert_int_equal(mmusim_frame_free(m, 0), MMUSIM_EFRAME);
}

/* A full zone is ENOFRAME; a frame freed there is the next one handed out. */
static void test_frame_alloc_refuses_full_zone(void **state)
{
    mmusim_machine *m = machine_1g(state);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    /* Exhaust HighMem: 1 GiB - 0x377fe000 (2.6.32 lowmem) = 34818 frames. */
    uint64_t n = mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(n + 1, l->max_pfn - l->max_low_pfn);
    for (uint64_t i = 0; i < n; i++)
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_ENOFRAME);
    assert_int_equal(mmusim_frame_free(m, l->max_low_pfn + 7), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(pfn, l->max_low_pfn + 7);
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
        cmocka_unit_test(test_create_refuses_zero_cpus),
        cmocka_unit_test(test_create_refuses_mem_not_multiple_of_4k),
        cmocka_unit_test(test_create_refuses_mem_below_16m),
        cmocka_unit_test(test_create_refuses_mem_over_4g_without_pae),
        cmocka_unit_test(test_create_refuses_mem_over_64g_with_pae),
        cmocka_unit_test(test_create_refuses_nx_without_pae),
        cmocka_unit_test(test_create_refuses_2618_split_other_than_3g_with_pae),
        cmocka_unit_test(test_create_refuses_2632_opt_split_with_pae),
        cmocka_unit_test(test_create_refuses_split_missing_from_era),
        cmocka_unit_test(test_create_refuses_nr_cpus_below_cpus),
        cmocka_unit_test(test_create_refuses_unaligned_vmalloc),
        cmocka_unit_test(test_create_refuses_tlb_sets_not_power_of_two),
        cmocka_unit_test(test_create_refuses_tlb_entries_not_multiple_of_ways),
        cmocka_unit_test(test_create_refuses_zero_cpu_mhz),
        cmocka_unit_test(test_create_refuses_plru_ways_not_power_of_two),
        cmocka_unit_test(test_create_refuses_plru_pdecache_not_power_of_two),
        cmocka_unit_test(test_create_refuses_more_than_64_cpus),
        cmocka_unit_test(test_validate_refuses_unknown_paging),
        cmocka_unit_test(test_validate_refuses_unknown_era),
        cmocka_unit_test(test_validate_refuses_unknown_split),
        cmocka_unit_test(test_validate_refuses_unknown_preset),
        cmocka_unit_test(test_validate_refuses_km_type_nr_over_64),
        cmocka_unit_test(test_validate_refuses_unknown_feature_bits),
        cmocka_unit_test(test_validate_refuses_null_config),
        cmocka_unit_test(test_create_refuses_null_output),
        cmocka_unit_test(test_config_set_parses_values),
        cmocka_unit_test(test_config_set_refuses_unknown_key),
        cmocka_unit_test(test_config_set_refuses_cpus_over_64),
        cmocka_unit_test(test_config_set_refuses_negative_number),
        cmocka_unit_test(test_config_set_refuses_trailing_garbage),
        cmocka_unit_test(test_config_set_refuses_unknown_size_suffix),
        cmocka_unit_test(test_config_set_refuses_size_overflow),
        cmocka_unit_test(test_config_set_refuses_bad_boolean),
        cmocka_unit_test(test_config_set_refuses_unknown_preset),
        cmocka_unit_test(test_config_set_refuses_unknown_era),
        cmocka_unit_test(test_config_set_refuses_empty_value),
        cmocka_unit_test(test_config_set_refuses_null_key),
        cmocka_unit_test(test_preset_key_reloads_costs_and_tlbs),
        cmocka_unit_test(test_every_key_is_listed_and_settable_name),
        cmocka_unit_test(test_config_key_refuses_index_past_end),
        cmocka_unit_test(test_config_get_round_trips_every_key),
        cmocka_unit_test(test_parse_size_units),
        cmocka_unit_test(test_parse_size_refuses_fraction),
        cmocka_unit_test(test_parse_size_refuses_empty_string),
        cmocka_unit_test(test_parse_size_refuses_suffix_without_number),
        cmocka_unit_test(test_parse_size_refuses_overflow),
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_physical_memory_is_sparse),
        TS_TEST(test_phys_write32_refuses_address_beyond_ram),
        TS_TEST(test_phys_write_refuses_range_past_end_of_ram),
        TS_TEST(test_phys_read32_refuses_unaligned_address),
        TS_TEST(test_frames_come_from_their_zone),
        TS_TEST(test_frame_alloc_refuses_unknown_zone),
        TS_TEST(test_frame_free_refuses_frame_not_allocated),
        TS_TEST(test_frame_free_refuses_reserved_frame),
        TS_TEST(test_frame_alloc_refuses_full_zone),
        cmocka_unit_test(test_cpus_boot_into_linux_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
