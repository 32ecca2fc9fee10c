/*
 * Tests for the cost and TLB-geometry presets (src/cpu/presets.c).
 *
 * Expected values are written from the sources in docs/hw-costs.md (the
 * comment next to each says which), not copied from presets.c; the last test
 * checks presets.c against every cell of docs/costs.md.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mmusim/config.h"
#include "mmusim/costs.h"
#include "mmusim/error.h"

static struct mmusim_costs costs_of(enum mmusim_preset p)
{
    struct mmusim_costs c;
    memset(&c, 0xa5, sizeof c);
    assert_int_equal(mmusim_costs_preset(p, &c), MMUSIM_OK);
    return c;
}

static struct mmusim_tlb_config tlb_of(enum mmusim_preset p)
{
    struct mmusim_tlb_config t;
    memset(&t, 0xa5, sizeof t);
    assert_int_equal(mmusim__tlb_preset(p, &t), MMUSIM_OK);
    return t;
}

static void assert_array(struct mmusim_tlb_array_config a, uint32_t entries, uint32_t ways)
{
    assert_int_equal(a.entries, entries);
    assert_int_equal(a.ways, ways);
}

static void assert_near(double got, double want, double tolerance)
{
    double d = got - want;
    if (d < 0)
        d = -d;
    if (d > tolerance)
        fail_msg("got %f, want %f (+- %f)", got, want, tolerance);
}

/* ---- names ---- */

static void test_names_round_trip(void **state)
{
    static const struct {
        const char *name;
        enum mmusim_preset p;
    } expect[] = {
        {"p3", MMUSIM_PRESET_P3},
        {"core2", MMUSIM_PRESET_CORE2},
        {"atom", MMUSIM_PRESET_ATOM},
        {"haswell", MMUSIM_PRESET_HASWELL},
    };
    (void)state;
    assert_int_equal(MMUSIM_ARRAY_SIZE(expect), MMUSIM_PRESET_COUNT_);
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(expect); i++) {
        enum mmusim_preset p = MMUSIM_PRESET_COUNT_;
        assert_string_equal(mmusim_preset_name(expect[i].p), expect[i].name);
        assert_int_equal(mmusim_preset_from_name(expect[i].name, &p), MMUSIM_OK);
        assert_int_equal(p, expect[i].p);
    }
}

static void test_unknown_names_are_rejected(void **state)
{
    static const char *const bad[] = {
        "", "P3", "Core2", "core", "core2 ", " atom", "pentium3", "haswell-ep", "skylake",
    };
    (void)state;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(bad); i++) {
        enum mmusim_preset p = MMUSIM_PRESET_ATOM;
        assert_int_equal(mmusim_preset_from_name(bad[i], &p), MMUSIM_EPRESET);
        assert_int_equal(p, MMUSIM_PRESET_ATOM); /* untouched on error */
    }
    enum mmusim_preset p = MMUSIM_PRESET_ATOM;
    assert_int_equal(mmusim_preset_from_name(NULL, &p), MMUSIM_EINVAL);
    assert_int_equal(mmusim_preset_from_name("core2", NULL), MMUSIM_EINVAL);
}

static void test_out_of_range_preset_is_rejected(void **state)
{
    const enum mmusim_preset bad[] = {
        MMUSIM_PRESET_COUNT_, (enum mmusim_preset)(MMUSIM_PRESET_COUNT_ + 7), (enum mmusim_preset)-1,
    };
    (void)state;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(bad); i++) {
        struct mmusim_costs c, before;
        struct mmusim_tlb_config t, tbefore;
        uint32_t lines = 77, ways = 7;
        memset(&c, 0x5a, sizeof c);
        memset(&t, 0x5a, sizeof t);
        before = c;
        tbefore = t;
        assert_null(mmusim_preset_name(bad[i]));
        assert_int_equal(mmusim_costs_preset(bad[i], &c), MMUSIM_EPRESET);
        assert_memory_equal(&c, &before, sizeof c);
        assert_int_equal(mmusim__tlb_preset(bad[i], &t), MMUSIM_EPRESET);
        assert_memory_equal(&t, &tbefore, sizeof t);
        mmusim__ptcache_preset(bad[i], &lines, &ways);
        assert_int_equal(lines, 77);
        assert_int_equal(ways, 7);
    }
    assert_int_equal(mmusim_costs_preset(MMUSIM_PRESET_CORE2, NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim__tlb_preset(MMUSIM_PRESET_CORE2, NULL), MMUSIM_EINVAL);
}

/* ---- clock ---- */

static void test_cycles_to_ns(void **state)
{
    struct mmusim_costs c = costs_of(MMUSIM_PRESET_CORE2);
    (void)state;
    c.cpu_mhz = 2400;
    assert_near(mmusim_cycles_to_ns(&c, 2400), 1000.0, 1e-9);
    assert_near(mmusim_cycles_to_ns(&c, 0), 0.0, 0.0);
    /* hw-costs §4: "775 ns ≈ 1,860 cycles at 2.4 GHz" */
    assert_near(mmusim_cycles_to_ns(&c, 1860), 775.0, 1e-9);
    /* 10^12 cycles at 2.4 GHz: 416.67 s; no overflow through uint32 arithmetic */
    assert_near(mmusim_cycles_to_ns(&c, UINT64_C(1000000000000)), 1e15 / 2400.0, 1.0);
    c.cpu_mhz = 1000;
    assert_near(mmusim_cycles_to_ns(&c, 630), 630.0, 1e-9); /* one APIC-bus message on p3 */
    c.cpu_mhz = 0; /* rejected by validation (MMUSIM_ECOST); must not divide by zero */
    assert_near(mmusim_cycles_to_ns(&c, 100), 0.0, 0.0);
    assert_near(mmusim_cycles_to_ns(NULL, 100), 0.0, 0.0);
}

static void test_clocks_are_the_documented_assumptions(void **state)
{
    (void)state;
    /* hw-costs §4 clock assumptions: PIII-like 1.0 GHz, Core 2-like 2.4 GHz, Atom-like 1.6 GHz */
    assert_int_equal(costs_of(MMUSIM_PRESET_P3).cpu_mhz, 1000);
    assert_int_equal(costs_of(MMUSIM_PRESET_CORE2).cpu_mhz, 2400);
    assert_int_equal(costs_of(MMUSIM_PRESET_ATOM).cpu_mhz, 1600);
    /* hw-costs §4 converts Amit's Haswell 775 ns into 1,860 cycles: 2.4 GHz */
    assert_int_equal(costs_of(MMUSIM_PRESET_HASWELL).cpu_mhz, 1860 * 1000 / 775);
}

/* ---- sourced costs ---- */

static void test_l0_miss_penalties(void **state)
{
    (void)state;
    /* Intel Optimization Reference Manual (hw-costs §2): "A DTLB0 miss that hits DTLB1 costs 2 cycles" */
    assert_int_equal(costs_of(MMUSIM_PRESET_CORE2).tlb_l0_miss, 2);
    /* 7-cpu.com Atom N270 (hw-costs §2): "L1 TLB size = 16 items. Miss penalty = 7" */
    assert_int_equal(costs_of(MMUSIM_PRESET_ATOM).tlb_l0_miss, 7);
    /* P6 has no uTLB (leaf 2 01h-04h only); the haswell preset models none */
    assert_int_equal(costs_of(MMUSIM_PRESET_P3).tlb_l0_miss, 0);
    assert_int_equal(costs_of(MMUSIM_PRESET_HASWELL).tlb_l0_miss, 0);
}

static void test_haswell_flush_primitives(void **state)
{
    struct mmusim_costs c = costs_of(MMUSIM_PRESET_HASWELL);
    (void)state;
    /* Dave Hansen, <55775749.3090004@intel.com>, Haswell Xeon row (hw-costs §3b) */
    assert_int_equal(c.invlpg, 216);
    assert_int_equal(c.mov_cr3, 124);
    assert_int_equal(c.pge_toggle, 960);
}

static void test_haswell_stlb_and_walk(void **state)
{
    struct mmusim_costs c = costs_of(MMUSIM_PRESET_HASWELL);
    (void)state;
    /* 4Gamer Haswell review (hw-costs §2): STLB hit ~12 cycles */
    assert_int_equal(c.stlb_hit, 12);
    /* same: an STLB miss with tables in cache adds ~20; with the PDE cache
     * hitting the walk makes one reference */
    assert_int_equal(c.walk_fixed + c.walk_ref_hit, 20);
}

static void test_core2_proxy_flush_costs(void **state)
{
    struct mmusim_costs c = costs_of(MMUSIM_PRESET_CORE2);
    (void)state;
    /* hw-costs §4 [P], from Hansen's Westmere Xeon 232/108/828 and Haswell 216/124/960 (§3b) */
    assert_int_equal(c.invlpg, 230);
    assert_int_equal(c.mov_cr3, 110);
    assert_int_equal(c.pge_toggle, 830);
    assert_in_range(c.invlpg, 216, 232);
    assert_in_range(c.mov_cr3, 108, 124);
    assert_in_range(c.pge_toggle, 828, 960);
}

static void test_walk_latencies(void **state)
{
    struct mmusim_costs core2 = costs_of(MMUSIM_PRESET_CORE2);
    struct mmusim_costs atom = costs_of(MMUSIM_PRESET_ATOM);
    (void)state;
    /* xbitlabs QX9650 review, CPU-Z: Core 2 L2 latency 14 (hw-costs §3a) */
    assert_int_equal(core2.walk_ref_hit, 14);
    /* 7-cpu Atom: L2 latency 15 (hw-costs §3a) */
    assert_int_equal(atom.walk_ref_hit, 15);
    /* 7-cpu Atom: DTLB miss = 16 with tables in cache, both refs at the L1's 3 cycles */
    assert_int_equal(atom.walk_fixed + 2 * 3, 16);
    /* 7-cpu Atom: RAM = 38 cycles + 115 ns = 38 + 184 at 1.6 GHz, rounded in hw-costs §4 */
    assert_in_range(atom.walk_ref_miss, 220, 38 + 115 * 1600 / 1000);
}

static void test_p3_serial_apic_bus(void **state)
{
    struct mmusim_costs c = costs_of(MMUSIM_PRESET_P3);
    (void)state;
    /* SDM Vol. 3 §10.11: Pentium and P6 send IPIs on the serial APIC bus */
    assert_int_equal(c.apic_bus_serial, 1);
    /* SDM Vol. 3B App. F: short message = 21 bus clocks; PICCLK 33.3 MHz = 100/3 MHz [E] */
    assert_int_equal(c.apic_bus_msg, 21 * c.cpu_mhz * 3 / 100);
    assert_int_equal(c.apic_bus_msg, 630);
    /* SDM §10.11: the Pentium 4 and later use the system bus */
    for (int p = MMUSIM_PRESET_CORE2; p < MMUSIM_PRESET_COUNT_; p++) {
        assert_int_equal(costs_of((enum mmusim_preset)p).apic_bus_serial, 0);
        assert_int_equal(costs_of((enum mmusim_preset)p).apic_bus_msg, 0);
    }
}

/*
 * idle_poll (docs/costs.md): the P6 has no MWAIT, so 2.6.18's default_idle
 * halts with TS_POLLING clear (a wake-up needs a reschedule IPI); core2,
 * atom and haswell idle in mwait with the polling flag set.
 */
static void test_idle_poll(void **state)
{
    (void)state;
    assert_int_equal(costs_of(MMUSIM_PRESET_P3).idle_poll, 0);
    for (int p = MMUSIM_PRESET_CORE2; p < MMUSIM_PRESET_COUNT_; p++)
        assert_int_equal(costs_of((enum mmusim_preset)p).idle_poll, 1);
}

static void test_ipi_costs(void **state)
{
    struct mmusim_costs p3 = costs_of(MMUSIM_PRESET_P3);
    struct mmusim_costs core2 = costs_of(MMUSIM_PRESET_CORE2);
    struct mmusim_costs atom = costs_of(MMUSIM_PRESET_ATOM);
    struct mmusim_costs hsw = costs_of(MMUSIM_PRESET_HASWELL);
    (void)state;
    /* hw-costs §4 row "IPI deliver + handler": 300 + INVLPG / 1,200 / 1,500 */
    assert_int_equal(p3.ipi_deliver + p3.ipi_handler, 300);
    assert_int_equal(core2.ipi_deliver + core2.ipi_handler, 1200);
    assert_int_equal(atom.ipi_deliver + atom.ipi_handler, 1500);
    /* Amit 2019 (hw-costs §3c): (1571 - 1436) ns / 2 targets = 67.5 ns; §4 rounds to ~170 cycles */
    assert_in_range(core2.ipi_extra_target, 1350 * 24 / 2 / 100, 70 * 24 / 10 + 2);
    /* haswell IPI fields are the Core 2 column, not fitted to Amit 2019 */
    assert_int_equal(hsw.ipi_send, core2.ipi_send);
    assert_int_equal(hsw.ipi_deliver, core2.ipi_deliver);
    assert_int_equal(hsw.ipi_handler, core2.ipi_handler);
    assert_int_equal(hsw.ipi_ack, core2.ipi_ack);
    assert_int_equal(hsw.ipi_extra_target, core2.ipi_extra_target);
}

/* ---- TLB geometry (hw-costs §2, decoded CPUID leaf 2) ---- */

static void test_tlb_geometry_p3(void **state)
{
    struct mmusim_tlb_config t = tlb_of(MMUSIM_PRESET_P3);
    (void)state;
    /* Pentium III Katmai, leaf 2 03020101 00000000 00000000 0C040843 (EXEgesis) */
    assert_array(t.itlb_4k, 32, 4);   /* 01h */
    assert_array(t.itlb_large, 2, 2); /* 02h, fully associative */
    assert_array(t.dtlb_4k, 64, 4);   /* 03h */
    assert_array(t.dtlb_large, 8, 4); /* 04h */
    assert_int_equal(t.stlb.entries, 0);
    assert_int_equal(t.utlb.entries, 0);
    assert_int_equal(t.pdecache_entries, 0);       /* hw-costs §4 [E] */
    assert_int_equal(t.replacement, MMUSIM_REPL_PLRU); /* hw-costs §4 */
}

static void test_tlb_geometry_core2(void **state)
{
    struct mmusim_tlb_config t = tlb_of(MMUSIM_PRESET_CORE2);
    (void)state;
    /* Core 2 X6800, leaf 2 05B0B101 005657F0 0 2CB43049 (VirtualBox); Intel Opt. Manual */
    assert_array(t.itlb_4k, 128, 4);   /* B0h */
    assert_array(t.itlb_large, 4, 4);  /* B1h, 4M reading: 4 entries, 4-way */
    assert_array(t.utlb, 16, 4);       /* 57h DTLB0 4K */
    assert_array(t.dtlb_4k, 256, 4);   /* B4h DTLB1 4K */
    assert_array(t.dtlb_large, 32, 4); /* 05h DTLB1 4M */
    assert_int_equal(t.stlb.entries, 0); /* first STLB: Nehalem */
    assert_int_equal(t.pdecache_entries, 16); /* hw-costs §4 [E] */
    assert_int_equal(t.replacement, MMUSIM_REPL_PLRU);
}

static void test_tlb_geometry_atom(void **state)
{
    struct mmusim_tlb_config t = tlb_of(MMUSIM_PRESET_ATOM);
    (void)state;
    /* Atom 330, leaf 2 4FBA5901 0E3080C0 0 0 (VirtualBox) */
    assert_int_equal(t.itlb_4k.entries, 32); /* 4Fh; no associativity given -> fully [E] */
    assert_int_equal(t.itlb_4k.ways, 32);
    assert_array(t.utlb, 16, 16);            /* 59h DTLB0, fully associative */
    assert_array(t.dtlb_4k, 64, 4);          /* BAh DTLB1 */
    assert_array(t.dtlb_large, 8, 4);        /* C0h DTLB 4K+4M, 8, 4-way: its capacity for large pages */
    assert_array(t.itlb_large, 8, 4);        /* none in leaf 2; a copy of C0h [E] */
    assert_int_equal(t.stlb.entries, 0);
    assert_int_equal(t.replacement, MMUSIM_REPL_PLRU);
}

static void test_tlb_geometry_haswell(void **state)
{
    struct mmusim_tlb_config t = tlb_of(MMUSIM_PRESET_HASWELL);
    (void)state;
    /* [P]: Nehalem 03h and Skylake 03h both DTLB 4K 64 4-way */
    assert_array(t.dtlb_4k, 64, 4);
    /* [P]: Nehalem 5Ah and Skylake 63h both DTLB 2M/4M 32 4-way */
    assert_array(t.dtlb_large, 32, 4);
    /* [P]: Nehalem B2h 64 4-way per thread, 128 per core */
    assert_array(t.itlb_4k, 2 * 64, 4);
    /* [P]: Skylake 76h ITLB 2M/4M 8 fully */
    assert_array(t.itlb_large, 8, 8);
    /* [E]: 1024 8-way; bracketed by Nehalem CAh 512 and Skylake C3h 1536 */
    assert_array(t.stlb, 1024, 8);
    assert_in_range(t.stlb.entries, 512, 1536);
    assert_int_equal(t.utlb.entries, 0);
}

static int is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static void assert_geometry_valid(struct mmusim_tlb_array_config a)
{
    if (a.entries == 0)
        return;
    assert_int_not_equal(a.ways, 0);
    assert_int_equal(a.entries % a.ways, 0);
    assert_true(is_pow2(a.entries / a.ways));
}

static void test_presets_are_consistent(void **state)
{
    (void)state;
    for (int i = 0; i < MMUSIM_PRESET_COUNT_; i++) {
        enum mmusim_preset p = (enum mmusim_preset)i;
        struct mmusim_costs c = costs_of(p);
        struct mmusim_tlb_config t = tlb_of(p);
        uint32_t lines = 0, ways = 0;
        /* what mmusim_config_validate() demands */
        assert_int_not_equal(c.cpu_mhz, 0);
        assert_int_not_equal(t.dtlb_4k.entries, 0);
        assert_int_not_equal(t.itlb_4k.entries, 0);
        assert_geometry_valid(t.dtlb_4k);
        assert_geometry_valid(t.dtlb_large);
        assert_geometry_valid(t.itlb_4k);
        assert_geometry_valid(t.itlb_large);
        assert_geometry_valid(t.stlb);
        assert_geometry_valid(t.utlb);
        mmusim__ptcache_preset(p, &lines, &ways);
        assert_int_not_equal(lines, 0);
        assert_geometry_valid((struct mmusim_tlb_array_config){lines, ways});
        /* a level's extra cost exists exactly when the level does */
        assert_int_equal(t.utlb.entries != 0, c.tlb_l0_miss != 0);
        assert_int_equal(t.stlb.entries != 0, c.stlb_hit != 0);
        /* a serial bus needs a message time */
        assert_int_equal(c.apic_bus_serial != 0, c.apic_bus_msg != 0);
    }
}

static void test_ptcache_geometry(void **state)
{
    static const struct {
        enum mmusim_preset p;
        uint32_t l2_bytes_per_core, l2_ways;
    } expect[] = {
        {MMUSIM_PRESET_P3, 512 * 1024, 4},            /* 43h: 512 KiB 4-way */
        {MMUSIM_PRESET_CORE2, 4096 * 1024 / 2, 16},   /* 49h: 4 MiB 16-way, two cores */
        {MMUSIM_PRESET_ATOM, 512 * 1024, 8},          /* 80h: 512 KiB 8-way */
        {MMUSIM_PRESET_HASWELL, 256 * 1024, 8},       /* 256 KiB 8-way [E] */
    };
    (void)state;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(expect); i++) {
        uint32_t lines = 0, ways = 0;
        mmusim__ptcache_preset(expect[i].p, &lines, &ways);
        /* docs/costs.md rule [E]: 1/32 of the core's L2, 64-byte lines, L2 ways */
        assert_int_equal(lines, expect[i].l2_bytes_per_core / 32 / 64);
        assert_int_equal(ways, expect[i].l2_ways);
    }
    uint32_t lines = 5, ways = 5;
    mmusim__ptcache_preset(MMUSIM_PRESET_CORE2, NULL, &ways); /* no crash, no write */
    mmusim__ptcache_preset(MMUSIM_PRESET_CORE2, &lines, NULL);
    assert_int_equal(lines, 5);
    assert_int_equal(ways, 5);
}

/* ---- docs/costs.md agrees with the code, cell by cell ---- */

struct doc_key {
    const char *name;
    size_t offset;
};

static const struct doc_key cost_keys[] = {
#define COST_KEY_(name, doc) {#name, offsetof(struct mmusim_costs, name)},
    MMUSIM_COST_FIELDS(COST_KEY_)
#undef COST_KEY_
};

static const struct doc_key tlb_keys[] = {
    {"dtlb.4k", offsetof(struct mmusim_tlb_config, dtlb_4k)},
    {"dtlb.large", offsetof(struct mmusim_tlb_config, dtlb_large)},
    {"itlb.4k", offsetof(struct mmusim_tlb_config, itlb_4k)},
    {"itlb.large", offsetof(struct mmusim_tlb_config, itlb_large)},
    {"stlb", offsetof(struct mmusim_tlb_config, stlb)},
    {"utlb", offsetof(struct mmusim_tlb_config, utlb)},
};

static const char *const tags[] = {"[S]", "[D]", "[P]", "[E]"};

static int find_key(const struct doc_key *keys, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* One cell "A [T]" or "A/B [T]": value(s) and a known tag. */
static void parse_cell(const char *cell, char *value, size_t size)
{
    size_t len = strcspn(cell, "[");
    int tagged = 0;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(tags); i++)
        tagged |= strncmp(cell + len, tags[i], 3) == 0;
    if (!tagged)
        fail_msg("cell without a tag: '%s'", cell);
    while (len > 0 && cell[len - 1] == ' ')
        len--;
    assert_true(len > 0 && len < size);
    memcpy(value, cell, len);
    value[len] = '\0';
}

static uint32_t parse_u32(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end != '\0')
        fail_msg("not a number: '%s'", s);
    return (uint32_t)v;
}

static uint32_t read_u32(const void *base, size_t offset)
{
    uint32_t v;
    memcpy(&v, (const char *)base + offset, sizeof v);
    return v;
}

static void check_geometry_cell(enum mmusim_preset p, const char *key, const char *value)
{
    struct mmusim_tlb_config t = tlb_of(p);
    int k = find_key(tlb_keys, MMUSIM_ARRAY_SIZE(tlb_keys), key);
    char buf[32];
    const char *slash = strchr(value, '/');
    uint32_t entries, ways = 0;
    if (strcmp(key, "tlb.replacement") == 0) {
        assert_int_equal(t.replacement, MMUSIM_REPL_PLRU);
        assert_string_equal(value, "plru");
        return;
    }
    snprintf(buf, sizeof buf, "%.*s", slash ? (int)(slash - value) : (int)strlen(value), value);
    entries = parse_u32(buf);
    if (slash)
        ways = parse_u32(slash + 1);
    if (strcmp(key, "pdecache.entries") == 0) {
        assert_int_equal(t.pdecache_entries, entries);
    } else if (strcmp(key, "ptcache") == 0) {
        uint32_t lines = 0, w = 0;
        mmusim__ptcache_preset(p, &lines, &w);
        assert_int_equal(lines, entries);
        assert_int_equal(w, ways);
    } else {
        struct mmusim_tlb_array_config a;
        if (k < 0)
            fail_msg("unknown geometry key '%s' in docs/costs.md", key);
        memcpy(&a, (const char *)&t + tlb_keys[k].offset, sizeof a);
        assert_int_equal(a.entries, entries);
        if (entries != 0)
            assert_int_equal(a.ways, ways);
    }
}

static int is_geometry_key(const char *key)
{
    return find_key(tlb_keys, MMUSIM_ARRAY_SIZE(tlb_keys), key) >= 0 ||
           strcmp(key, "pdecache.entries") == 0 || strcmp(key, "tlb.replacement") == 0 ||
           strcmp(key, "ptcache") == 0;
}

/* A table row "| `key` | c0 | c1 | c2 | c3 |": returns the number of rows checked (0 or 1). */
static int check_row(char *line, size_t *next_cost)
{
    char *tick = strchr(line + 3, '`');
    char *cells[MMUSIM_PRESET_COUNT_];
    char *s;
    char key[64];
    int k;
    if (!tick || (size_t)(tick - line - 3) >= sizeof key)
        return 0;
    memcpy(key, line + 3, (size_t)(tick - line - 3));
    key[tick - line - 3] = '\0';
    k = find_key(cost_keys, MMUSIM_ARRAY_SIZE(cost_keys), key);
    if (k < 0 && !is_geometry_key(key))
        return 0; /* another table (the preset list); missing rows are caught by the count */
    s = strchr(tick, '|');
    for (int i = 0; i < MMUSIM_PRESET_COUNT_; i++) {
        if (!s)
            fail_msg("row '%s' has fewer than %d preset columns", key, MMUSIM_PRESET_COUNT_);
        cells[i] = s + 1 + strspn(s + 1, " ");
        s = strchr(s + 1, '|');
        if (s)
            *s = '\0';
    }
    for (int i = 0; i < MMUSIM_PRESET_COUNT_; i++) {
        char value[32];
        parse_cell(cells[i], value, sizeof value);
        if (k >= 0) {
            struct mmusim_costs c = costs_of((enum mmusim_preset)i);
            if (read_u32(&c, cost_keys[k].offset) != parse_u32(value))
                fail_msg("%s.%s: code %u, docs/costs.md %s", mmusim_preset_name((enum mmusim_preset)i),
                         key, (unsigned)read_u32(&c, cost_keys[k].offset), value);
        } else {
            check_geometry_cell((enum mmusim_preset)i, key, value);
        }
    }
    if (k >= 0) {
        /* cost rows come in the order of MMUSIM_COST_FIELDS, each once */
        assert_int_equal((size_t)k, *next_cost);
        (*next_cost)++;
    }
    return 1;
}

static void test_docs_table_matches_code(void **state)
{
    const char *me = __FILE__;
    const char *tail = strstr(me, "tests/test_costs.c");
    char path[4096];
    char line[1024];
    size_t next_cost = 0;
    int rows = 0;
    FILE *f;
    (void)state;
    if (!tail)
        skip();
    snprintf(path, sizeof path, "%.*sdocs/costs.md", (int)(tail - me), me);
    f = fopen(path, "r");
    if (!f)
        skip(); /* source tree not available where the test runs */
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "| `", 3) == 0)
            rows += check_row(line, &next_cost);
    fclose(f);
    assert_int_equal(next_cost, MMUSIM_ARRAY_SIZE(cost_keys)); /* every cost field documented */
    /* cost rows, the 6 arrays, pdecache.entries, tlb.replacement, ptcache */
    assert_int_equal(rows, (int)(MMUSIM_ARRAY_SIZE(cost_keys) + MMUSIM_ARRAY_SIZE(tlb_keys) + 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_unknown_names_are_rejected),
        cmocka_unit_test(test_out_of_range_preset_is_rejected),
        cmocka_unit_test(test_cycles_to_ns),
        cmocka_unit_test(test_clocks_are_the_documented_assumptions),
        cmocka_unit_test(test_l0_miss_penalties),
        cmocka_unit_test(test_haswell_flush_primitives),
        cmocka_unit_test(test_haswell_stlb_and_walk),
        cmocka_unit_test(test_core2_proxy_flush_costs),
        cmocka_unit_test(test_walk_latencies),
        cmocka_unit_test(test_p3_serial_apic_bus),
        cmocka_unit_test(test_idle_poll),
        cmocka_unit_test(test_ipi_costs),
        cmocka_unit_test(test_tlb_geometry_p3),
        cmocka_unit_test(test_tlb_geometry_core2),
        cmocka_unit_test(test_tlb_geometry_atom),
        cmocka_unit_test(test_tlb_geometry_haswell),
        cmocka_unit_test(test_presets_are_consistent),
        cmocka_unit_test(test_ptcache_geometry),
        cmocka_unit_test(test_docs_table_matches_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
