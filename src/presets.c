/*
 * mmusim — cost and TLB-geometry presets (p3, core2, atom, haswell).
 *
 * One static const table per preset. Every value carries its tag as in
 * docs/hw-costs.md: [S] sourced, [D] derived by arithmetic from [S] numbers,
 * [P] proxy (measured on another CPU), [E] estimate. "§n" means a section of
 * docs/hw-costs.md; docs/costs.md repeats every value with a longer note, and
 * tests/test_costs.c checks this file against both.
 *
 * Conventions shared by all presets (docs/costs.md, "Notes, field by
 * field", says more):
 *   - walk_ref_hit is the L2 load-to-use latency (§4 "Per-ref latency, L2
 *     hit"), not the L1 one: the page-table line cache stands for the lines a
 *     real workload keeps in L2, where data traffic has pushed them out of L1.
 *   - ipi_deliver + ipi_handler is the §4 row "IPI deliver + handler", split
 *     40:60 [E]; the flush the handler performs is charged separately.
 *   - On p3, ipi_send is the ICR write alone: the serial APIC-bus transfer is
 *     apic_bus_msg, serialised by the IPI engine because apic_bus_serial is set.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "mmusim/error.h"

static const char *const preset_names[MMUSIM_PRESET_COUNT_] = {
    [MMUSIM_PRESET_P3] = "p3",
    [MMUSIM_PRESET_CORE2] = "core2",
    [MMUSIM_PRESET_ATOM] = "atom",
    [MMUSIM_PRESET_HASWELL] = "haswell",
};

/* ---- cost tables ---- */

/* Pentium III-like (Katmai/Coppermine), 1.0 GHz, FSB 133, serial APIC bus. */
static const struct mmusim_costs costs_p3 = {
    .cpu_mhz = 1000,            /* [E] §4 clock assumptions */
    .walk_fixed = 5,            /* [E] §4 "Walk fixed overhead" */
    .walk_ref_hit = 8,          /* [E] §4 L2 hit: Coppermine on-die L2 */
    .walk_ref_miss = 120,       /* [E] §4 DRAM: ~120 ns PC133 at 1 GHz */
    .walk_ad_write = 20,        /* [E] no source: a locked RMW of a cached line */
    .tlb_l0_miss = 0,           /* no L0/uTLB on P6 [S §2, descriptors 01h-04h only] */
    .stlb_hit = 0,              /* no second-level TLB [S §2] */
    .invlpg = 40,               /* [E] §4: between P5's 25 [S] and a P6 serialising op */
    .mov_cr3 = 40,              /* [E] §4: serialising */
    .mov_cr3_pae_extra = 120,   /* [E] §4: PDPTEs loaded UC on old parts, one DRAM access */
    .pge_toggle = 100,          /* [E] §4: about two CR writes */
    .pte_write = 2,             /* [E] no source: a store to a cached line */
    .ipi_send = 30,             /* [E] §4: the ICR write; the bus transfer is apic_bus_msg */
    .ipi_deliver = 120,         /* [E] §4 "300 + INVLPG", 40% of 300 */
    .ipi_handler = 180,         /* [E] §4 "300 + INVLPG", 60% of 300 */
    .ipi_ack = 150,             /* [E] §4: FSB cache-to-cache transfer */
    .ipi_extra_target = 0,      /* [D] §4: fan-out cost is the bus serialisation below */
    .apic_bus_serial = 1,       /* [S] SDM Vol. 3 §10.11: P6 serial APIC bus */
    .apic_bus_msg = 630,        /* [D] 21 bus clocks [S SDM App. F] at 33.3 MHz [E] = 630 ns */
    .idle_poll = 0,             /* [S] no MWAIT on the P6: 2.6.18 default_idle halts with TS_POLLING clear */
    .ctx_switch = 1500,         /* [E] no source: ~1.5 us, an lmbench-style lat_ctx of the P6 era */
    .lock_op = 25,              /* [E] no source: a locked RMW of a cached line */
    .lock_handoff = 150,        /* [E] as ipi_ack: one FSB cache-to-cache transfer */
    .tick_handler = 4000,       /* [E] ~4 us: Tsafrir 2007 (5-15 us a tick in all); a slow CPU pays more of it directly */
    .irq_save_restore = 20,     /* [E] no source: pushf, cli and a microcoded popf */
    .page_fault = 4000,         /* [E] no source: #PF entry and return, handle_mm_fault, a 4 KiB clear_page over the FSB */
};

/* Core 2-like (Conroe/Merom), 2.4 GHz, FSB 1066, xAPIC over the FSB. */
static const struct mmusim_costs costs_core2 = {
    .cpu_mhz = 2400,            /* [E] §4 clock assumptions */
    .walk_fixed = 5,            /* [E] §4 "Walk fixed overhead" */
    .walk_ref_hit = 14,         /* [S] §4 L2 hit, xbitlabs CPU-Z (Kentsfield) */
    .walk_ref_miss = 160,       /* [E] §4 DRAM: ~65-70 ns at 2.4 GHz */
    .walk_ad_write = 20,        /* [E] no source: a locked RMW of a cached line */
    .tlb_l0_miss = 2,           /* [S] §2/§4: DTLB0 miss, DTLB1 hit, Intel Opt. Manual */
    .stlb_hit = 0,              /* no second-level TLB [S §2] */
    .invlpg = 230,              /* [P] §4: Westmere 232, Haswell 216 (§3b) */
    .mov_cr3 = 110,             /* [P] §4: Westmere 108, Haswell 124 (§3b) */
    .mov_cr3_pae_extra = 14,    /* [E] §4: one WB line of PDPTEs, L2 hit */
    .pge_toggle = 830,          /* [P] §4: Westmere 828, Haswell 960 (§3b) */
    .pte_write = 2,             /* [E] no source: a store to a cached line */
    .ipi_send = 150,            /* [E] §4: "programming the IPI itself is cheap" */
    .ipi_deliver = 480,         /* [E] §4 deliver + handler 1,200, 40% */
    .ipi_handler = 720,         /* [E] §4 deliver + handler 1,200, 60% */
    .ipi_ack = 100,             /* [E] §4: same die (300 across Kentsfield's dies) */
    .ipi_extra_target = 170,    /* [D] §4: (1571 - 1436) ns / 2 on Haswell, ~70 ns */
    .apic_bus_serial = 0,       /* [S] SDM §10.11: system bus from the Pentium 4 on */
    .apic_bus_msg = 0,          /* no serial APIC bus */
    .idle_poll = 1,             /* [E] mwait_idle (select_idle_routine, MWAIT present) keeps TS_POLLING set */
    .ctx_switch = 2400,         /* [E] no source: ~1 us */
    .lock_op = 20,              /* [E] no source: a locked RMW of a cached line */
    .lock_handoff = 100,        /* [E] as ipi_ack: one cache-line transfer on the die */
    .tick_handler = 2400,       /* [E] ~1 us: the direct part of Tsafrir 2007's 5-15 us a tick */
    .irq_save_restore = 25,     /* [P] Vlasenko 2016 (LKML): ~24.6 cycles per push+popf on a later core */
    .page_fault = 2500,         /* [E] no source: about 1 us for a minor anonymous fault, clear_page included */
};

/* Atom-like (Bonnell: Diamondville/Silverthorne), 1.6 GHz, FSB 533. */
static const struct mmusim_costs costs_atom = {
    .cpu_mhz = 1600,            /* [E] §4 clock assumptions (Atom 330 runs 1.6 GHz) */
    .walk_fixed = 10,           /* [D] §4: 7-cpu's 16-cycle walk minus 2 L1 refs of 3 */
    .walk_ref_hit = 15,         /* [S] §4 L2 hit, 7-cpu */
    .walk_ref_miss = 220,       /* [D] §4: 38 cycles + 115 ns at 1.6 GHz, 7-cpu */
    .walk_ad_write = 20,        /* [E] no source: a locked RMW of a cached line */
    .tlb_l0_miss = 7,           /* [S] §2/§4: uTLB miss penalty, 7-cpu (Atom N270) */
    .stlb_hit = 0,              /* no second-level TLB [S §2] */
    .invlpg = 100,              /* [E] §4 */
    .mov_cr3 = 80,              /* [E] §4 */
    .mov_cr3_pae_extra = 15,    /* [E] §4: one WB line of PDPTEs, L2 hit */
    .pge_toggle = 200,          /* [E] §4 */
    .pte_write = 2,             /* [E] no source: a store to a cached line */
    .ipi_send = 150,            /* [E] §4 */
    .ipi_deliver = 600,         /* [E] §4 deliver + handler 1,500, 40% */
    .ipi_handler = 900,         /* [E] §4 deliver + handler 1,500, 60% */
    .ipi_ack = 100,             /* [E] §4 */
    .ipi_extra_target = 170,    /* [E] §4: same as Core 2 */
    .apic_bus_serial = 0,       /* [S] SDM §10.11: system bus from the Pentium 4 on */
    .apic_bus_msg = 0,          /* no serial APIC bus */
    .idle_poll = 1,             /* [E] mwait_idle (select_idle_routine, MWAIT present) keeps TS_POLLING set */
    .ctx_switch = 2400,         /* [E] no source: ~1.5 us at 1.6 GHz */
    .lock_op = 15,              /* [E] no source: a locked RMW of a cached line */
    .lock_handoff = 100,        /* [E] as ipi_ack */
    .tick_handler = 2400,       /* [E] ~1.5 us at 1.6 GHz: the direct part of Tsafrir 2007's 5-15 us a tick */
    .irq_save_restore = 25,     /* [E] no source: as core2 */
    .page_fault = 4000,         /* [E] no source: about 2.5 us, an in-order core clearing the page */
};

/*
 * Haswell (Xeon), 2.4 GHz [E]: the flush primitives are Dave Hansen's
 * Haswell Xeon row (§3b). The IPI fields are the Core 2 column, deliberately
 * not fitted to Amit 2019 (§3c, §5 item 1), which they will be validated
 * against; docs/costs.md says which fields a later fit may move.
 */
static const struct mmusim_costs costs_haswell = {
    .cpu_mhz = 2400,            /* [E] the §4 conversion "775 ns = 1,860 cycles at 2.4 GHz" */
    .walk_fixed = 8,            /* [D] 4Gamer's +20 per STLB miss [S §2] minus one ref of 12 */
    .walk_ref_hit = 12,         /* [E] no Haswell L2 latency in hw-costs.md */
    .walk_ref_miss = 100,       /* [P] Nellans: Ivy Bridge memory "~100 clocks" (§3a) */
    .walk_ad_write = 20,        /* [E] no source: a locked RMW of a cached line */
    .tlb_l0_miss = 0,           /* no uTLB modelled (the first level is the L1 DTLB) */
    .stlb_hit = 12,             /* [S] §2: 4Gamer, STLB hit about 12 cycles */
    .invlpg = 216,              /* [S] §3b: Dave Hansen, Haswell Xeon */
    .mov_cr3 = 124,             /* [S] §3b: Dave Hansen, Haswell Xeon */
    .mov_cr3_pae_extra = 12,    /* [E] one WB line of PDPTEs, L2 hit (walk_ref_hit) */
    .pge_toggle = 960,          /* [S] §3b: Dave Hansen, Haswell Xeon */
    .pte_write = 2,             /* [E] no source: a store to a cached line */
    .ipi_send = 150,            /* [E] §4 Core 2 column, not fitted */
    .ipi_deliver = 480,         /* [E] §4 Core 2 column, not fitted */
    .ipi_handler = 720,         /* [E] §4 Core 2 column, not fitted */
    .ipi_ack = 100,             /* [E] §4 Core 2 column, not fitted */
    .ipi_extra_target = 170,    /* [D] §4: derived from Amit's own Haswell numbers */
    .apic_bus_serial = 0,       /* [S] SDM §10.11: system bus (x2APIC era) */
    .apic_bus_msg = 0,          /* no serial APIC bus */
    .idle_poll = 1,             /* [S] 5.x intel_idle: mwait_idle_with_hints sets TIF_POLLING_NRFLAG in every state */
    .ctx_switch = 2400,         /* [E] no source: ~1 us, as core2 */
    .lock_op = 20,              /* [E] no source: a locked RMW of a cached line */
    .lock_handoff = 100,        /* [E] as ipi_ack */
    .tick_handler = 2400,       /* [E] as core2, not fitted */
    .irq_save_restore = 25,     /* [P] Vlasenko 2016 (LKML): ~24.6 cycles per push+popf on a later core */
    .page_fault = 2000,         /* [E] no source: about 0.8 us, a faster clear_page than core2 */
};

static const struct mmusim_costs *const costs_table[MMUSIM_PRESET_COUNT_] = {
    [MMUSIM_PRESET_P3] = &costs_p3,
    [MMUSIM_PRESET_CORE2] = &costs_core2,
    [MMUSIM_PRESET_ATOM] = &costs_atom,
    [MMUSIM_PRESET_HASWELL] = &costs_haswell,
};

/* ---- TLB geometry (§2 decoded CPUID leaf 2, §4 table) ---- */

#define ARRAY_(n, w) {.entries = (n), .ways = (w)}
#define ABSENT_ {.entries = 0, .ways = 0}

/* Pentium III Katmai 06_07, leaf 2 = 03020101 00000000 00000000 0C040843. */
static const struct mmusim_tlb_config tlb_p3 = {
    .dtlb_4k = ARRAY_(64, 4),   /* [S] 03h: DTLB 4K, 64 entries, 4-way */
    .dtlb_large = ARRAY_(8, 4), /* [S] 04h: DTLB 4M, 8, 4-way (PAE 2M: same array [E]) */
    .itlb_4k = ARRAY_(32, 4),   /* [S] 01h: ITLB 4K, 32, 4-way */
    .itlb_large = ARRAY_(2, 2), /* [S] 02h: ITLB 4M, 2, fully associative */
    .stlb = ABSENT_,            /* [S] no second-level TLB */
    .utlb = ABSENT_,            /* [S] no uTLB */
    .pdecache_entries = 0,      /* [E] §4 */
    .replacement = MMUSIM_REPL_PLRU, /* [E] §4 */
};

/* Core 2 Conroe 06_0F, leaf 2 = 05B0B101 005657F0 0 2CB43049. */
static const struct mmusim_tlb_config tlb_core2 = {
    .dtlb_4k = ARRAY_(256, 4),   /* [S] B4h: DTLB1 4K, 256, 4-way */
    .dtlb_large = ARRAY_(32, 4), /* [S] 05h: DTLB1 4M, 32, 4-way */
    .itlb_4k = ARRAY_(128, 4),   /* [S] B0h: ITLB 4K, 128, 4-way */
    .itlb_large = ARRAY_(4, 4),  /* [S] B1h, 4M reading (2M reading: 8, 4-way) */
    .stlb = ABSENT_,             /* [S] no STLB before Nehalem */
    .utlb = ARRAY_(16, 4),       /* [S] 57h: DTLB0 4K, 16, 4-way (loads) */
    .pdecache_entries = 16,      /* [E] §4: present, size unknown */
    .replacement = MMUSIM_REPL_PLRU, /* [E] §4 */
};

/*
 * Atom 330 06_1C, leaf 2 = 4FBA5901 0E3080C0 0 0. C0h is one 8-entry 4-way
 * array holding 4K and 4M data entries. mmusim models it as a separate large
 * array of that size, not as "shared with dtlb_4k" (entries 0), which would
 * let large pages use BAh's 64 entries. See docs/costs.md.
 */
static const struct mmusim_tlb_config tlb_atom = {
    .dtlb_4k = ARRAY_(64, 4),    /* [S] BAh: DTLB1 4K, 64, 4-way */
    .dtlb_large = ARRAY_(8, 4),  /* [S] C0h: DTLB 4K+4M, 8, 4-way (its 4K use not modelled) */
    .itlb_4k = ARRAY_(32, 32),   /* [S] 4Fh: 32 entries; fully associative [E] */
    .itlb_large = ARRAY_(8, 4),  /* [E] §4: none in leaf 2; a private copy of C0h */
    .stlb = ABSENT_,             /* [S] no second-level TLB */
    .utlb = ARRAY_(16, 16),      /* [S] 59h: DTLB0 (uTLB) 4K, 16, fully associative */
    .pdecache_entries = 0,       /* [E] §4 says 0-8; 0 keeps walk_fixed's derivation */
    .replacement = MMUSIM_REPL_PLRU, /* [E] §4 */
};

/*
 * Haswell: hw-costs.md has no Haswell leaf-2 dump, so the L1 arrays borrow
 * the values that Nehalem and Skylake both report [P], and the STLB takes the
 * commonly quoted Haswell size [E].
 */
static const struct mmusim_tlb_config tlb_haswell = {
    .dtlb_4k = ARRAY_(64, 4),    /* [P] Nehalem 03h = Skylake 03h: 64, 4-way */
    .dtlb_large = ARRAY_(32, 4), /* [P] Nehalem 5Ah = Skylake 63h: 32, 4-way */
    .itlb_4k = ARRAY_(128, 4),   /* [P] Nehalem B2h 64 4-way per thread, 128 per core */
    .itlb_large = ARRAY_(8, 8),  /* [P] Skylake 76h: 8, fully associative */
    .stlb = ARRAY_(1024, 8),     /* [E] Nehalem 512/4 < Haswell < Skylake 1536 */
    .utlb = ABSENT_,             /* no uTLB modelled */
    .pdecache_entries = 16,      /* [E] as Core 2 */
    .replacement = MMUSIM_REPL_PLRU, /* [E] §4 */
};

#undef ARRAY_
#undef ABSENT_

static const struct mmusim_tlb_config *const tlb_table[MMUSIM_PRESET_COUNT_] = {
    [MMUSIM_PRESET_P3] = &tlb_p3,
    [MMUSIM_PRESET_CORE2] = &tlb_core2,
    [MMUSIM_PRESET_ATOM] = &tlb_atom,
    [MMUSIM_PRESET_HASWELL] = &tlb_haswell,
};

/*
 * Page-table line cache, 64-byte lines, per CPU. Rule [E]: 1/32 of the L2
 * one core owns, with the L2's associativity (§2 descriptors).
 */
struct ptcache_geometry {
    uint32_t lines;
    uint32_t ways;
};

static const struct ptcache_geometry ptcache_table[MMUSIM_PRESET_COUNT_] = {
    [MMUSIM_PRESET_P3] = {256, 4},       /* 43h: 512 KiB 4-way / 32 = 16 KiB */
    [MMUSIM_PRESET_CORE2] = {1024, 16},  /* 49h: 4 MiB 16-way for 2 cores / 32 = 64 KiB */
    [MMUSIM_PRESET_ATOM] = {256, 8},     /* 80h: 512 KiB 8-way / 32 = 16 KiB */
    [MMUSIM_PRESET_HASWELL] = {128, 8},  /* 256 KiB 8-way L2 [E] / 32 = 8 KiB */
};

/* ---- API ---- */

static int preset_valid(enum mmusim_preset p)
{
    return (unsigned)p < (unsigned)MMUSIM_PRESET_COUNT_;
}

const char *mmusim_preset_name(enum mmusim_preset p)
{
    return preset_valid(p) ? preset_names[p] : NULL;
}

int mmusim_preset_from_name(const char *name, enum mmusim_preset *out)
{
    if (!out)
        return MMUSIM_EINVAL;
    if (!name)
        return MMUSIM_EINVAL;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(preset_names); i++) {
        if (strcmp(name, preset_names[i]) == 0) {
            *out = (enum mmusim_preset)i;
            return MMUSIM_OK;
        }
    }
    return MMUSIM_EPRESET;
}

int mmusim_costs_preset(enum mmusim_preset p, struct mmusim_costs *out)
{
    if (!out)
        return MMUSIM_EINVAL;
    if (!preset_valid(p))
        return MMUSIM_EPRESET;
    *out = *costs_table[p];
    return MMUSIM_OK;
}

double mmusim_cycles_to_ns(const struct mmusim_costs *c, uint64_t cycles)
{
    if (!c || c->cpu_mhz == 0)
        return 0.0; /* mmusim_config_validate() rejects cpu_mhz == 0 (MMUSIM_ECOST) */
    /* cycles / (MHz * 1e6) seconds = cycles * 1000 / MHz nanoseconds */
    return (double)cycles * 1000.0 / (double)c->cpu_mhz;
}

int mmusim__tlb_preset(enum mmusim_preset p, struct mmusim_tlb_config *out)
{
    if (!out)
        return MMUSIM_EINVAL;
    if (!preset_valid(p))
        return MMUSIM_EPRESET;
    *out = *tlb_table[p];
    return MMUSIM_OK;
}

/* Leaves *lines and *ways unchanged for an unknown preset. */
void mmusim__ptcache_preset(enum mmusim_preset p, uint32_t *lines, uint32_t *ways)
{
    if (!preset_valid(p) || !lines || !ways)
        return;
    *lines = ptcache_table[p].lines;
    *ways = ptcache_table[p].ways;
}
