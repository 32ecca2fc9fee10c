/*
 * mmusim — the i386 kernel address layout, computed as Linux computes it.
 *
 * The formulas are those of linux-highmem.md §1 (2.6.18: include/asm-i386/
 * {page,fixmap,highmem,pgtable}.h, arch/i386/mm/init.c, arch/i386/kernel/
 * setup.c; 2.6.32: arch/x86/include/asm/{fixmap,highmem,pgtable_32_types}.h,
 * arch/x86/mm/{init_32,pgtable_32}.c; 5.11: arch/x86/include/asm/
 * {fixmap,pgtable_32_areas,cpu_entry_area}.h). docs/layout.md walks through
 * them and says where the spec is silent and what was chosen.
 *
 * Everything is worked out top-down, the way the kernel headers chain their
 * macros: fixmap enumeration -> FIXADDR_START / FIXADDR_BOOT_START ->
 * (5.11: CPU_ENTRY_AREA_BASE -> LDT_BASE_ADDR ->) PKMAP_BASE -> VMALLOC_END
 * -> MAXMEM -> max_low_pfn -> high_memory -> VMALLOC_START. Intermediate
 * values are signed 64-bit so that a configuration that would wrap a 32-bit
 * unsigned long in the kernel shows up as a negative or oversized number and
 * is rejected, never silently wrapped.
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "mmusim/error.h"
#include "mmusim/layout.h"

#define KIB 1024ll
#define MIB (1024ll * KIB)
#define GIB (1024ll * MIB)

#define PAGE_SIZE ((int64_t)MMUSIM_PAGE_SIZE)
#define FIXADDR_TOP 0xfffff000u         /* §1.2: constant in 2.6.18, initial __FIXADDR_TOP from 2.6.20 (5.11 too) */
#define VMALLOC_OFFSET (8 * MIB)        /* §1.2 */
#define VMALLOC_RESERVE_DEFAULT (128 * MIB) /* §1.1: __VMALLOC_RESERVE = 128 << 20 */
#define MAX_DMA_PFN ((16 * MIB) >> MMUSIM_PAGE_SHIFT) /* ZONE_DMA ends at 16 MiB */
#define MIN_LOWMEM (16 * MIB)           /* below this the DMA zone would not even fit */

/* ---- per-era constants ---- */

/*
 * CONFIG_PAGE_OFFSET for each VMSPLIT choice (§1.1). 0 marks a choice the era
 * does not offer: 2.6.18 has no 2G_OPT, and its 2G sits at 0x78000000.
 * §1.1 gives 2.6.18 and 2.6.32 only. 2.6.37 takes 2.6.32's (the doc is
 * silent; the arch/x86/Kconfig choice did not change between them), and so
 * does 5.11 (a v5.8 arch/x86/Kconfig has the same five splits and defaults).
 */
#define PAGE_OFFSETS_2_6_32                     \
    {                                           \
        [MMUSIM_SPLIT_3G] = 0xC0000000u,        \
        [MMUSIM_SPLIT_3G_OPT] = 0xB0000000u,    \
        [MMUSIM_SPLIT_2G] = 0x80000000u,        \
        [MMUSIM_SPLIT_2G_OPT] = 0x78000000u,    \
        [MMUSIM_SPLIT_1G] = 0x40000000u,        \
    }
static const uint32_t page_offsets[MMUSIM_ERA_COUNT_][5] = {
    [MMUSIM_ERA_2_6_18] = {
        [MMUSIM_SPLIT_3G] = 0xC0000000u,
        [MMUSIM_SPLIT_3G_OPT] = 0xB0000000u,
        [MMUSIM_SPLIT_2G] = 0x78000000u,
        [MMUSIM_SPLIT_2G_OPT] = 0,
        [MMUSIM_SPLIT_1G] = 0x40000000u,
    },
    [MMUSIM_ERA_2_6_32] = PAGE_OFFSETS_2_6_32,
    [MMUSIM_ERA_2_6_37] = PAGE_OFFSETS_2_6_32,
    [MMUSIM_ERA_5_11] = PAGE_OFFSETS_2_6_32,
};

/*
 * kmap fixmap slots per CPU without the debug option: KM_TYPE_NR of §1.5
 * (13 km_types in 2.6.18, 19 in 2.6.32, 20 in 2.6.37) and 5.11's KM_MAX_IDX
 * (§5, include/asm-generic/kmap_size.h: 16). With debug_highmem all four
 * become 2N+1: the fence before every km_type and before KM_TYPE_NR (§1.5:
 * 27, 39, 41), and CONFIG_DEBUG_KMAP_LOCAL's KM_MAX_IDX 33 (§5).
 */
static const uint32_t era_kmap_slots[MMUSIM_ERA_COUNT_] = {
    [MMUSIM_ERA_2_6_18] = 13,
    [MMUSIM_ERA_2_6_32] = 19,
    [MMUSIM_ERA_2_6_37] = 20,
    [MMUSIM_ERA_5_11] = 16,
};

/* The form of kmap_atomic (§3 slot form up to 2.6.36, §4 stack form, §5 kmap_local). */
static const enum mmusim_kmap_form era_kmap_form[MMUSIM_ERA_COUNT_] = {
    [MMUSIM_ERA_2_6_18] = MMUSIM_KMAP_SLOT,
    [MMUSIM_ERA_2_6_32] = MMUSIM_KMAP_SLOT,
    [MMUSIM_ERA_2_6_37] = MMUSIM_KMAP_STACK,
    [MMUSIM_ERA_5_11] = MMUSIM_KMAP_LOCAL,
};

/*
 * Pages of one CPU's struct cpu_entry_area on x86-32 in 5.11 (the doc gives
 * the formula, pgtable_32_areas.h: CPU_ENTRY_AREA_PAGES = NR_CPUS *
 * DIV_ROUND_UP(sizeof(struct cpu_entry_area), PAGE_SIZE), not the size).
 * Worked out from the 5.10/5.11 arch/x86/include/asm/{cpu_entry_area,
 * processor,intel_ds}.h members, each page-aligned: gdt 1, guard 1,
 * entry_stack_page 1, guard 1, doublefault_stack 1, tss_struct 5 (104-byte
 * x86_hw_tss + x86_io_bitmap of 8 + 4 + 2 * 2049 * 4 bytes = 16508 bytes,
 * rounded to pages), debug_store 1, debug_store_buffers 32 (BTS and PEBS
 * buffers of PAGE_SIZE << 4 each) = 43. docs/layout.md repeats this.
 */
#define CEA_PAGES_PER_CPU_5_11 43

/* ---- the fixmap enumeration (§1.4) ---- */

/*
 * enum fixed_addresses, one step per entry. Index 0 is at FIXADDR_TOP and
 * indices grow downward in address. The kernel makes many entries depend on
 * CONFIG_ options; the tables below are the configuration of the §1.6 worked
 * examples: local APIC and IO-APIC (64), ACPI and MMCONFIG in 2.6.18;
 * DBGP, EARLYCON, APIC, IO-APIC, MMCONFIG and text_poke in 2.6.32; no VISWS,
 * F00F, Cyclone, OHCI1394, paravirt or tboot entries.
 */
enum fix_kind {
    FIX_PAGES,         /* n consecutive indices */
    FIX_KMAP,          /* FIX_KMAP_BEGIN..FIX_KMAP_END: KM_TYPE_NR * NR_CPUS indices */
    FIX_END_PERMANENT, /* __end_of_permanent_fixed_addresses: a count, no index of its own */
    FIX_BTMAP,         /* FIX_BTMAP_END..FIX_BTMAP_BEGIN: n boot-time maps right after the permanent ones */
    FIX_BTMAP_PADDED,  /* the same, FIX_BTMAP_END pushed to end_perm + 256 - (end_perm & 255) */
    FIX_BTMAP_ALIGNED, /* the same, FIX_BTMAP_END moved up to a multiple of n only if the n maps
                        * would otherwise cross a page-table page (PTRS_PER_PTE entries) */
    FIX_END            /* __end_of_fixed_addresses */
};

struct fix_step {
    const char *name; /* Linux's name of the first index of the step */
    enum fix_kind kind;
    uint32_t n;
};

/* 2.6.18, include/asm-i386/fixmap.h. */
static const struct fix_step fixmap_2_6_18[] = {
    {"FIX_HOLE", FIX_PAGES, 1},            /* 0xfffff000, never mapped */
    {"FIX_VDSO", FIX_PAGES, 1},
    {"FIX_APIC_BASE", FIX_PAGES, 1},       /* CONFIG_X86_LOCAL_APIC */
    {"FIX_IO_APIC_BASE_0", FIX_PAGES, 64}, /* CONFIG_X86_IO_APIC, MAX_IO_APICS = 64 */
    {"FIX_KMAP_BEGIN", FIX_KMAP, 0},       /* CONFIG_HIGHMEM */
    {"FIX_ACPI_BEGIN", FIX_PAGES, 4},      /* CONFIG_ACPI, FIX_ACPI_PAGES = 4 */
    {"FIX_PCIE_MCFG", FIX_PAGES, 1},       /* CONFIG_PCI_MMCONFIG */
    {"__end_of_permanent_fixed_addresses", FIX_END_PERMANENT, 0},
    {"FIX_BTMAP_END", FIX_BTMAP, 16},      /* NR_FIX_BTMAPS = 16 */
    {"FIX_WP_TEST", FIX_PAGES, 1},
    {"__end_of_fixed_addresses", FIX_END, 0},
};

/*
 * 2.6.32, arch/x86/include/asm/fixmap.h (the CONFIG_X86_32 branch). 2.6.37
 * uses this table too: §1.4 lists no 2.6.37 enumeration, and 2.6.32 is the
 * nearest documented one (with KM_TYPE_NR 20). Left out as in 2.6.32:
 * OHCI1394, VISWS, F00F, Cyclone, paravirt, tboot, and 2.6.37's
 * CONFIG_X86_MRST FIX_LNW_VRTC. Whether 2.6.37 already pads FIX_BTMAP_END
 * only when needed (FIX_BTMAP_ALIGNED, as the 4.1x and 5.11 trees do) was
 * not verified; docs/layout.md shows what would change.
 */
static const struct fix_step fixmap_2_6_32[] = {
    {"FIX_HOLE", FIX_PAGES, 1},
    {"FIX_VDSO", FIX_PAGES, 1},
    {"FIX_DBGP_BASE", FIX_PAGES, 1},
    {"FIX_EARLYCON_MEM_BASE", FIX_PAGES, 1},
    {"FIX_APIC_BASE", FIX_PAGES, 1},       /* CONFIG_X86_LOCAL_APIC */
    {"FIX_IO_APIC_BASE_0", FIX_PAGES, 64}, /* CONFIG_X86_IO_APIC, MAX_IO_APICS = 64 */
    {"FIX_KMAP_BEGIN", FIX_KMAP, 0},       /* CONFIG_HIGHMEM */
    {"FIX_PCIE_MCFG", FIX_PAGES, 1},       /* CONFIG_PCI_MMCONFIG */
    {"FIX_TEXT_POKE1", FIX_PAGES, 1},
    {"FIX_TEXT_POKE0", FIX_PAGES, 1},
    {"__end_of_permanent_fixed_addresses", FIX_END_PERMANENT, 0}, /* no FIX_PARAVIRT_BOOTMAP */
    {"FIX_BTMAP_END", FIX_BTMAP_PADDED, 256}, /* NR_FIX_BTMAPS 64 * FIX_BTMAPS_SLOTS 4 */
    {"FIX_WP_TEST", FIX_PAGES, 1},
    {"__end_of_fixed_addresses", FIX_END, 0}, /* no FIX_TBOOT_BASE */
};

/*
 * 5.11, arch/x86/include/asm/fixmap.h (the CONFIG_X86_32 branch), which §1.4
 * gives only for FIX_KMAP; the rest read from a 5.11-era copy of the file and
 * from Gleixner's "x86: Support kmap_local() forced debugging" patch (Nov
 * 2020). FIX_VDSO, FIX_TEXT_POKE0/1 and FIX_RO_IDT / FIX_GDT_REMAP are gone
 * (the last two moved to the cpu_entry_area). Configuration as in the other
 * tables: local APIC and IO-APIC (MAX_IO_APICS 64 on 32-bit, asm/apicdef.h),
 * CONFIG_KMAP_LOCAL (always with HIGHMEM), MMCONFIG; no OHCI1394,
 * PARAVIRT_XXL, APEI_GHES or INTEL_TXT entries.
 */
static const struct fix_step fixmap_5_11[] = {
    {"FIX_HOLE", FIX_PAGES, 1},
    {"FIX_DBGP_BASE", FIX_PAGES, 1},
    {"FIX_EARLYCON_MEM_BASE", FIX_PAGES, 1},
    {"FIX_APIC_BASE", FIX_PAGES, 1},       /* CONFIG_X86_LOCAL_APIC */
    {"FIX_IO_APIC_BASE_0", FIX_PAGES, 64}, /* CONFIG_X86_IO_APIC, MAX_IO_APICS = 64 */
    {"FIX_KMAP_BEGIN", FIX_KMAP, 0},       /* CONFIG_KMAP_LOCAL: KM_MAX_IDX * NR_CPUS */
    {"FIX_PCIE_MCFG", FIX_PAGES, 1},       /* CONFIG_PCI_MMCONFIG */
    {"__end_of_permanent_fixed_addresses", FIX_END_PERMANENT, 0},
    {"FIX_BTMAP_END", FIX_BTMAP_ALIGNED, 512}, /* NR_FIX_BTMAPS 64 * FIX_BTMAPS_SLOTS 8 */
    {"FIX_WP_TEST", FIX_PAGES, 1},
    {"__end_of_fixed_addresses", FIX_END, 0},
};

/* Each era's enumeration. */
static const struct {
    const struct fix_step *steps;
    size_t n;
} era_fixmap[MMUSIM_ERA_COUNT_] = {
    [MMUSIM_ERA_2_6_18] = {fixmap_2_6_18, MMUSIM_ARRAY_SIZE(fixmap_2_6_18)},
    [MMUSIM_ERA_2_6_32] = {fixmap_2_6_32, MMUSIM_ARRAY_SIZE(fixmap_2_6_32)},
    [MMUSIM_ERA_2_6_37] = {fixmap_2_6_32, MMUSIM_ARRAY_SIZE(fixmap_2_6_32)},
    [MMUSIM_ERA_5_11] = {fixmap_5_11, MMUSIM_ARRAY_SIZE(fixmap_5_11)},
};

/* The fixmap indices the rest of the layout needs. */
struct fixmap_marks {
    int64_t kmap_begin, kmap_end;
    int64_t end_permanent;
    int64_t btmap_end, btmap_begin;
    int64_t end_all;
};

static void walk_fixmap(const struct fix_step *steps, size_t nsteps, int64_t kmap_slots,
                        int64_t ptrs_per_pte, struct fixmap_marks *m)
{
    int64_t idx = 0; /* the next free index */
    for (size_t i = 0; i < nsteps; i++) {
        const struct fix_step *s = &steps[i];
        switch (s->kind) {
        case FIX_PAGES:
            idx += s->n;
            break;
        case FIX_KMAP:
            m->kmap_begin = idx;
            idx += kmap_slots;
            m->kmap_end = idx - 1;
            break;
        case FIX_END_PERMANENT:
            m->end_permanent = idx;
            break;
        case FIX_BTMAP:
            m->btmap_end = idx;
            idx += s->n;
            m->btmap_begin = idx - 1;
            break;
        case FIX_BTMAP_PADDED:
            /* "rounded up to the next 256 boundary", exactly as 2.6.32 writes
             * it: an end already on a boundary still moves up by 256. */
            m->btmap_end = idx + 256 - (idx & 255);
            idx = m->btmap_end + s->n;
            m->btmap_begin = idx - 1;
            break;
        case FIX_BTMAP_ALIGNED:
            /* 5.11: if [end, end + n - 1] spans two page-table pages (the
             * indices differ above the PTRS_PER_PTE bits), FIX_BTMAP_END
             * moves up to the next multiple of n (a power of two); else it
             * stays at end. Under PAE n = PTRS_PER_PTE, so it always aligns. */
            m->btmap_end = ((idx ^ (idx + s->n - 1)) & -ptrs_per_pte) ? idx + s->n - (idx & (s->n - 1)) : idx;
            idx = m->btmap_end + s->n;
            m->btmap_begin = idx - 1;
            break;
        case FIX_END:
            m->end_all = idx;
            break;
        }
    }
}

/* ---- the computation ---- */

static int resolve_page_offset(const struct mmusim_config *cfg, uint32_t *out)
{
    if ((unsigned)cfg->era >= MMUSIM_ARRAY_SIZE(page_offsets))
        return MMUSIM_EERA;
    if ((unsigned)cfg->split >= MMUSIM_ARRAY_SIZE(page_offsets[0]))
        return MMUSIM_ESPLIT;
    *out = page_offsets[cfg->era][cfg->split];
    return *out != 0 ? MMUSIM_OK : MMUSIM_ESPLITERA;
}

/*
 * __VMALLOC_RESERVE (§1.1): vmalloc= is taken as is in 2.6.18, plus
 * VMALLOC_OFFSET in 2.6.32. The doc is silent on 2.6.37 and 5.11; both do
 * as 2.6.32 (5.11's arch/x86/mm/pgtable_32.c still adds VMALLOC_OFFSET).
 */
static int vmalloc_reserve(const struct mmusim_config *cfg, int64_t *out)
{
    if (cfg->vmalloc_bytes == 0) {
        *out = VMALLOC_RESERVE_DEFAULT;
        return MMUSIM_OK;
    }
    if (cfg->vmalloc_bytes % MMUSIM_PAGE_SIZE != 0 || cfg->vmalloc_bytes > (uint64_t)4 * GIB)
        return MMUSIM_EVMALLOC;
    *out = (int64_t)cfg->vmalloc_bytes;
    if (cfg->era != MMUSIM_ERA_2_6_18)
        *out += VMALLOC_OFFSET;
    return MMUSIM_OK;
}

int mmusim_layout_compute(const struct mmusim_config *cfg, struct mmusim_layout *out)
{
    int rc = mmusim_config_validate(cfg);
    if (rc != MMUSIM_OK)
        return rc;
    if (!out)
        return MMUSIM_EINVAL;

    struct mmusim_layout l = {0};
    uint32_t page_offset;
    if ((rc = resolve_page_offset(cfg, &page_offset)) != MMUSIM_OK)
        return rc;
    const int pae = cfg->paging == MMUSIM_PAGING_PAE;
    /* 2.6.32 and later use the later x86 formulas (§1.1, §1.2): MAXMEM from
     * VMALLOC_END, VMALLOC_START = high_memory + 8 MiB. The doc gives them
     * for 2.6.32 and (pgtable_32_areas.h) 5.11; 2.6.37 is taken to do the same. */
    const int later_x86 = cfg->era != MMUSIM_ERA_2_6_18;
    /* 5.11 puts the cpu_entry_area and the LDT remap between the fixmap and
     * the pkmap window (§1.2, since about 4.15). */
    const int cea = cfg->era == MMUSIM_ERA_5_11;

    /* Geometry (§1.7): PMD folded into the PGD without PAE. */
    l.era = cfg->era;
    l.paging = cfg->paging;
    l.ptrs_per_pte = pae ? 512 : 1024;
    l.pmd_shift = pae ? 21 : 22;
    l.pgdir_shift = pae ? 30 : 22;
    l.page_offset = page_offset;
    l.kernel_pgd_boundary = page_offset >> l.pgdir_shift;

    /* The keys that follow the era (src/config.c). */
    l.hz = mmusim_config_hz(cfg);
    l.preempt = mmusim_config_preempt(cfg);
    l.flush_ceiling = mmusim_config_flush_ceiling(cfg);
    if (mmusim_preempt_bits_of(cfg->era, &l.preempt_bits) != MMUSIM_OK)
        return MMUSIM_EERA;

    /* NR_CPUS and the kmap slots of one CPU (§1.5: the fences make KM_TYPE_NR
     * 2N+1; §5: DEBUG_KMAP_LOCAL makes KM_MAX_IDX 33 and KM_INCR 2). An
     * explicit km_type_nr is the final count, debug included. */
    l.nr_cpus = cfg->nr_cpus != 0 ? cfg->nr_cpus : (cfg->ncpus > 8 ? cfg->ncpus : 8);
    l.kmap_form = era_kmap_form[cfg->era];
    if (cfg->km_type_nr != 0)
        l.kmap_slots_per_cpu = cfg->km_type_nr;
    else
        l.kmap_slots_per_cpu = cfg->debug_highmem ? 2 * era_kmap_slots[cfg->era] + 1 : era_kmap_slots[cfg->era];
    if (l.kmap_form == MMUSIM_KMAP_LOCAL) {
        l.km_max_idx = l.kmap_slots_per_cpu;
        l.kmap_idx_incr = cfg->debug_highmem ? 2 : 1;
    } else {
        l.km_type_nr = l.kmap_slots_per_cpu;
        l.kmap_idx_incr = 1;
    }

    /* Fixmap (§1.4) and the two fixmap boundaries (§1.2). */
    struct fixmap_marks fm = {0};
    walk_fixmap(era_fixmap[cfg->era].steps, era_fixmap[cfg->era].n, (int64_t)l.kmap_slots_per_cpu * l.nr_cpus,
                l.ptrs_per_pte, &fm);
    const int64_t fixaddr_start = (int64_t)FIXADDR_TOP - fm.end_permanent * PAGE_SIZE;
    const int64_t fixaddr_boot_start = (int64_t)FIXADDR_TOP - fm.end_all * PAGE_SIZE;
    const int64_t pmd_size = (int64_t)1 << l.pmd_shift;

    /* 5.11 (§1.2, pgtable_32_areas.h): the cpu_entry_area (one read-only IDT
     * page, then each CPU's area) below FIXADDR_TOT_START, aligned down to a
     * PMD; the LDT remap takes the PMD below it. */
    int64_t cea_pages = 0, cea_base = 0, ldt_base = 0;
    if (cea) {
        cea_pages = (int64_t)l.nr_cpus * CEA_PAGES_PER_CPU_5_11;
        cea_base = (fixaddr_boot_start - PAGE_SIZE * (cea_pages + 1)) & ~(pmd_size - 1);
        ldt_base = (cea_base - PAGE_SIZE) & ~(pmd_size - 1);
    }

    /* pkmap (§1.3): one page-table page aligned down to a PMD (4 MiB, or
     * 2 MiB under PAE), at least one guard page below what lies above it:
     * the boot fixmaps in 2.6, the LDT remap in 5.11. */
    const int64_t last_pkmap = l.ptrs_per_pte;
    const int64_t pkmap_base = cea ? (ldt_base - PAGE_SIZE) & ~(pmd_size - 1)
                                   : (fixaddr_boot_start - PAGE_SIZE * (last_pkmap + 1)) & ~(pmd_size - 1);
    const int64_t vmalloc_end = pkmap_base - 2 * PAGE_SIZE;
    if (pkmap_base <= (int64_t)page_offset)
        return MMUSIM_ELAYOUT; /* the fixmap alone would reach into the direct map */

    /* MAXMEM (§1.1), the most lowmem the split leaves room for. */
    int64_t reserve;
    if ((rc = vmalloc_reserve(cfg, &reserve)) != MMUSIM_OK)
        return rc;
    const int64_t maxmem = later_x86 ? vmalloc_end - (int64_t)page_offset - reserve
                                     : 4 * GIB - (int64_t)page_offset - reserve;
    if (maxmem < MIN_LOWMEM)
        return cfg->vmalloc_bytes != 0 ? MMUSIM_EVMALLOC : MMUSIM_ELAYOUT;

    /* Lowmem: find_max_low_pfn() caps RAM at MAXMEM_PFN; the rest is highmem. */
    const int64_t max_pfn = (int64_t)(cfg->mem_bytes >> MMUSIM_PAGE_SHIFT);
    const int64_t maxmem_pfn = maxmem >> MMUSIM_PAGE_SHIFT;
    const int64_t max_low_pfn = max_pfn < maxmem_pfn ? max_pfn : maxmem_pfn;
    if (max_low_pfn < MAX_DMA_PFN)
        return MMUSIM_ELAYOUT;
    const int64_t high_memory = (int64_t)page_offset + (max_low_pfn << MMUSIM_PAGE_SHIFT);

    /* VMALLOC_START (§1.2): at least an 8 MiB hole above high_memory. 2.6.18
     * also rounds to 8 MiB (its vmalloc_earlyreserve is taken as 0). */
    const int64_t vmalloc_start = later_x86 ? high_memory + VMALLOC_OFFSET
                                            : (high_memory + 2 * VMALLOC_OFFSET - 1) & ~(VMALLOC_OFFSET - 1);

    /* mem_init()'s sanity checks (§1.3), where Linux would BUG. 2.6.18 only
     * BUGs on VMALLOC_START > VMALLOC_END, but its VMALLOC_START is 8 MiB
     * aligned and VMALLOC_END is not, so they can never be equal. */
    if (pkmap_base + last_pkmap * PAGE_SIZE > fixaddr_start || vmalloc_end > pkmap_base ||
        vmalloc_start >= vmalloc_end || high_memory > vmalloc_start)
        return MMUSIM_ELAYOUT;

    l.vmalloc_reserve = (uint64_t)reserve;
    l.maxmem = (uint64_t)maxmem;
    l.max_pfn = (uint64_t)max_pfn;
    l.max_low_pfn = (uint64_t)max_low_pfn;
    l.highstart_pfn = (uint64_t)max_low_pfn;
    l.high_memory = (uint32_t)high_memory;

    /* Zones: DMA below 16 MiB, Normal up to the end of lowmem, HighMem above. */
    const uint64_t dma_end = l.max_low_pfn < MAX_DMA_PFN ? l.max_low_pfn : (uint64_t)MAX_DMA_PFN;
    l.zones[MMUSIM_ZONE_DMA] = (struct mmusim_zone_span){0, dma_end};
    l.zones[MMUSIM_ZONE_NORMAL] = (struct mmusim_zone_span){dma_end, l.max_low_pfn};
    l.zones[MMUSIM_ZONE_HIGHMEM] = (struct mmusim_zone_span){l.max_low_pfn, l.max_pfn};

    l.vmalloc_start = (uint32_t)vmalloc_start;
    l.vmalloc_end = (uint32_t)vmalloc_end;
    l.pkmap_base = (uint32_t)pkmap_base;
    l.last_pkmap = (uint32_t)last_pkmap;
    l.fixaddr_top = FIXADDR_TOP;
    l.fixaddr_start = (uint32_t)fixaddr_start;
    l.fixaddr_boot_start = (uint32_t)fixaddr_boot_start;
    l.cpu_entry_area_base = (uint32_t)cea_base;
    l.cpu_entry_area_pages = (uint32_t)cea_pages;
    l.ldt_base_addr = (uint32_t)ldt_base;
    l.fix_kmap_begin = (uint32_t)fm.kmap_begin;
    l.fix_kmap_end = (uint32_t)fm.kmap_end;
    l.end_of_permanent_fixed_addresses = (uint32_t)fm.end_permanent;
    l.fix_btmap_end = (uint32_t)fm.btmap_end;
    l.fix_btmap_begin = (uint32_t)fm.btmap_begin;
    l.end_of_fixed_addresses = (uint32_t)fm.end_all;

    *out = l;
    return MMUSIM_OK;
}

/* ---- address helpers (no range checks, as in Linux) ---- */

uint32_t mmusim_fix_to_virt(const struct mmusim_layout *l, uint32_t idx)
{
    if (!l)
        return 0;
    return l->fixaddr_top - (idx << MMUSIM_PAGE_SHIFT);
}

uint32_t mmusim_virt_to_fix(const struct mmusim_layout *l, uint32_t vaddr)
{
    if (!l)
        return 0;
    return (l->fixaddr_top - (vaddr & ~(MMUSIM_PAGE_SIZE - 1))) >> MMUSIM_PAGE_SHIFT;
}

uint32_t mmusim_layout_va(const struct mmusim_layout *l, uint64_t pa)
{
    if (!l)
        return 0;
    return (uint32_t)(pa + l->page_offset);
}

uint64_t mmusim_layout_pa(const struct mmusim_layout *l, uint32_t va)
{
    if (!l)
        return 0;
    return (uint32_t)(va - l->page_offset);
}

uint32_t mmusim_pkmap_addr(const struct mmusim_layout *l, uint32_t nr)
{
    if (!l)
        return 0;
    return l->pkmap_base + (nr << MMUSIM_PAGE_SHIFT);
}

uint32_t mmusim_pkmap_nr(const struct mmusim_layout *l, uint32_t vaddr)
{
    if (!l)
        return 0;
    return (vaddr - l->pkmap_base) >> MMUSIM_PAGE_SHIFT;
}

uint32_t mmusim_kmap_idx(const struct mmusim_layout *l, uint32_t cpu, uint32_t i)
{
    if (!l)
        return 0;
    return i + l->kmap_slots_per_cpu * cpu;
}

uint32_t mmusim_kmap_slot_vaddr(const struct mmusim_layout *l, uint32_t idx)
{
    if (!l)
        return 0;
    return mmusim_fix_to_virt(l, l->fix_kmap_begin + idx);
}

const char *mmusim_kmap_form_name(enum mmusim_kmap_form f)
{
    switch (f) {
    case MMUSIM_KMAP_SLOT:
        return "slot";
    case MMUSIM_KMAP_STACK:
        return "stack";
    case MMUSIM_KMAP_LOCAL:
        return "local";
    }
    return NULL;
}

/* ---- preempt_count ---- */

/*
 * The preempt_count fields of each era: PREEMPT bits 0-7 and SOFTIRQ bits
 * 8-15 throughout, then
 * - 2.6.18 include/linux/hardirq.h: HARDIRQ_BITS defaults to 12 (bits 16-27;
 *   asm-i386/hardirq.h does not override it), no NMI count (nmi_enter() adds
 *   HARDIRQ_OFFSET only); PREEMPT_ACTIVE is 0x10000000 (asm-i386/thread_info.h).
 * - 2.6.32 include/linux/hardirq.h: HARDIRQ_BITS = MAX_HARDIRQ_BITS 10
 *   (bits 16-25), NMI_BITS 1 (bit 26); x86 PREEMPT_ACTIVE 0x10000000. 2.6.37
 *   is taken to keep them (the doc is silent; HARDIRQ_BITS shrank in 3.x).
 * - 5.11 include/linux/preempt.h (read in a 5.10.13 copy; unchanged in
 *   5.11): HARDIRQ_BITS 4 (bits 16-19), NMI_BITS 4 (bits 20-23), no
 *   PREEMPT_ACTIVE (gone since 4.x), PREEMPT_NEED_RESCHED 0x80000000 (x86
 *   keeps it inverted: set means no reschedule is needed).
 * SOFTIRQ_DISABLE_OFFSET (2 * SOFTIRQ_OFFSET, so that in_serving_softirq()
 * can tell serving from disabled) came with the softirq time accounting of
 * 2.6.37 ("sched: Fix softirq time accounting", Oct 2010); before it
 * local_bh_disable() added SOFTIRQ_OFFSET. That version is from the kernel
 * history, not from a 2.6.37 file read here.
 */
int mmusim_preempt_bits_of(enum mmusim_era era, struct mmusim_preempt_bits *out)
{
    unsigned hardirq_bits, nmi_bits;
    if (!out)
        return MMUSIM_EINVAL;
    switch (era) {
    case MMUSIM_ERA_2_6_18:
        hardirq_bits = 12, nmi_bits = 0;
        break;
    case MMUSIM_ERA_2_6_32:
    case MMUSIM_ERA_2_6_37:
        hardirq_bits = 10, nmi_bits = 1;
        break;
    case MMUSIM_ERA_5_11:
        hardirq_bits = 4, nmi_bits = 4;
        break;
    case MMUSIM_ERA_COUNT_:
    default:
        return MMUSIM_EERA;
    }
    const unsigned softirq_shift = 8, hardirq_shift = 16, nmi_shift = hardirq_shift + hardirq_bits;
    struct mmusim_preempt_bits b = {0};
    b.preempt_offset = 1;
    b.preempt_mask = 0xffu;
    b.softirq_offset = 1u << softirq_shift;
    b.softirq_mask = 0xffu << softirq_shift;
    b.softirq_disable_offset = era == MMUSIM_ERA_2_6_18 || era == MMUSIM_ERA_2_6_32 ? b.softirq_offset
                                                                                     : 2 * b.softirq_offset;
    b.hardirq_offset = 1u << hardirq_shift;
    b.hardirq_mask = ((1u << hardirq_bits) - 1) << hardirq_shift;
    b.nmi_offset = nmi_bits ? 1u << nmi_shift : 0;
    b.nmi_mask = ((1u << nmi_bits) - 1) << nmi_shift;
    b.preempt_active = era == MMUSIM_ERA_5_11 ? 0 : 0x10000000u;
    b.need_resched = era == MMUSIM_ERA_5_11 ? 0x80000000u : 0;
    *out = b;
    return MMUSIM_OK;
}

enum mmusim_zone mmusim_layout_zone_of(const struct mmusim_layout *l, uint64_t pfn)
{
    if (!l)
        return MMUSIM_ZONE_COUNT_;
    for (int z = MMUSIM_ZONE_DMA; z < MMUSIM_ZONE_COUNT_; z++)
        if (pfn >= l->zones[z].start_pfn && pfn < l->zones[z].end_pfn)
            return (enum mmusim_zone)z;
    return MMUSIM_ZONE_COUNT_;
}

const char *mmusim_zone_name(enum mmusim_zone z)
{
    switch (z) {
    case MMUSIM_ZONE_DMA:
        return "DMA";
    case MMUSIM_ZONE_NORMAL:
        return "Normal";
    case MMUSIM_ZONE_HIGHMEM:
        return "HighMem";
    case MMUSIM_ZONE_COUNT_:
        break;
    }
    return "unknown";
}
