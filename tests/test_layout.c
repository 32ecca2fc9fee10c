/*
 * Tests of the kernel address layout (src/mmu/layout.c).
 *
 * Every expected number comes from docs/linux-highmem.md (the shared spec,
 * "§" below) — mostly the worked examples of §1.6 — or is derived by hand
 * from the §1 formulas, with the derivation written next to it. None is
 * copied from the program's own output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim/config.h"
#include "mmusim/error.h"
#include "mmusim/layout.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)

/* A machine like the §1.6 examples: NR_CPUS=8, 1 GiB of RAM. */
static void example_config(struct mmusim_config *cfg, enum mmusim_era era, enum mmusim_paging paging)
{
    mmusim_config_init(cfg);
    cfg->era = era;
    cfg->paging = paging;
    cfg->nr_cpus = 8;
    cfg->mem_bytes = 1 * GIB;
}

static void compute_ok(const struct mmusim_config *cfg, struct mmusim_layout *l)
{
    int rc = mmusim_layout_compute(cfg, l);
    if (rc != MMUSIM_OK)
        print_error("mmusim_layout_compute: %s\n", mmusim_strerror(rc));
    assert_int_equal(rc, MMUSIM_OK);
}

static void example(enum mmusim_era era, enum mmusim_paging paging, struct mmusim_layout *l)
{
    struct mmusim_config cfg;
    example_config(&cfg, era, paging);
    compute_ok(&cfg, l);
}

/* ---- 2.6.18, §1.6 first example ---- */

static void test_2618_fixmap_indices(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.6: FIX_KMAP_BEGIN=67, FIX_KMAP_END=170, end-of-permanent=176, end-of-all=193. */
    assert_int_equal(l.km_type_nr, 13); /* §1.5 */
    assert_int_equal(l.nr_cpus, 8);
    assert_int_equal(l.fix_kmap_begin, 67);
    assert_int_equal(l.fix_kmap_end, 170);
    assert_int_equal(l.end_of_permanent_fixed_addresses, 176);
    assert_int_equal(l.end_of_fixed_addresses, 193);
    /* §1.4: FIX_BTMAP_END = end-of-permanent, 16 boot maps, then FIX_WP_TEST: 176..191, 192. */
    assert_int_equal(l.fix_btmap_end, 176);
    assert_int_equal(l.fix_btmap_begin, 191);
}

static void test_2618_fixaddr(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.2: FIXADDR_TOP 0xfffff000; §1.6: FIXADDR_START=0xfff4f000, FIXADDR_BOOT_START=0xfff3e000. */
    assert_int_equal(l.fixaddr_top, 0xfffff000u);
    assert_int_equal(l.fixaddr_start, 0xfff4f000u);
    assert_int_equal(l.fixaddr_boot_start, 0xfff3e000u);
    /* The PAE kernel has the same fixmap. */
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_PAE, &l);
    assert_int_equal(l.fixaddr_start, 0xfff4f000u);
    assert_int_equal(l.fixaddr_boot_start, 0xfff3e000u);
}

static void test_2618_pkmap_vmalloc_end(void **state)
{
    (void)state;
    struct mmusim_layout l;
    /* §1.6: PKMAP_BASE=0xff800000 (no PAE, window up to 0xffc00000), VMALLOC_END=0xff7fe000. */
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(l.pkmap_base, 0xff800000u);
    assert_int_equal(mmusim_pkmap_addr(&l, l.last_pkmap), 0xffc00000u);
    assert_int_equal(l.vmalloc_end, 0xff7fe000u);
    /* §1.6: PKMAP_BASE=0xffc00000 (PAE, up to 0xffe00000), VMALLOC_END=0xffbfe000. */
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_PAE, &l);
    assert_int_equal(l.pkmap_base, 0xffc00000u);
    assert_int_equal(mmusim_pkmap_addr(&l, l.last_pkmap), 0xffe00000u);
    assert_int_equal(l.vmalloc_end, 0xffbfe000u);
}

static void test_2618_lowmem(void **state)
{
    (void)state;
    struct mmusim_layout l;
    /* §1.1 and §1.6: MAXMEM = 896 MB, high_memory = 0xf8000000, VMALLOC_START = 0xf8800000. */
    for (int pae = 0; pae <= 1; pae++) {
        example(MMUSIM_ERA_2_6_18, pae ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL, &l);
        assert_int_equal(l.maxmem, 896 * MIB);
        assert_int_equal(l.maxmem, 0x38000000u);
        assert_int_equal(l.vmalloc_reserve, 128 * MIB); /* §1.1 default */
        assert_int_equal(l.max_pfn, (1 * GIB) >> 12);
        assert_int_equal(l.max_low_pfn, (896 * MIB) >> 12);
        assert_int_equal(l.highstart_pfn, l.max_low_pfn);
        assert_int_equal(l.high_memory, 0xf8000000u);
        assert_int_equal(l.vmalloc_start, 0xf8800000u);
    }
}

static void test_2618_kmap_slots(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.6: CPU0 KM_USER0 (type 3) at 0xfffb9000, CPU1 KM_USER0 at 0xfffac000. */
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, 3 + 13 * 0), 0xfffb9000u);
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, 3 + 13 * 1), 0xfffac000u);
    /* §1.6: the slot for cpu c, type t is at 0xfffbc000 - 4096 * (t + 13c). */
    for (uint32_t c = 0; c < 8; c++)
        for (uint32_t t = 0; t < 13; t++)
            assert_int_equal(mmusim_kmap_slot_vaddr(&l, t + 13 * c), 0xfffbc000u - 4096u * (t + 13 * c));
    /* §1.4: slot idx is __fix_to_virt(FIX_KMAP_BEGIN + idx). */
    assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_begin), 0xfffbc000u);
}

/* ---- 2.6.32, §1.6 second example ---- */

static void test_2632_fixmap_indices(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_32, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.6: FIX_KMAP_BEGIN=69 (vaddr 0xfffba000), end-of-permanent=224 (225 with paravirt,
     * not modelled), boot maps end at 513. */
    assert_int_equal(l.km_type_nr, 19); /* §1.5 */
    assert_int_equal(l.fix_kmap_begin, 69);
    assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_begin), 0xfffba000u);
    assert_int_equal(l.fix_kmap_end, 69 + 19 * 8 - 1); /* §1.4 formula: 220 */
    assert_int_equal(l.end_of_permanent_fixed_addresses, 224);
    assert_int_equal(l.end_of_fixed_addresses, 513);
    /* §1.4: 256 boot maps starting at the next 256 boundary: 256..511, then FIX_WP_TEST 512. */
    assert_int_equal(l.fix_btmap_end, 256);
    assert_int_equal(l.fix_btmap_begin, 511);
}

static void test_2632_fixaddr(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_32, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.6: FIXADDR_START ≈ 0xfff1f000 (= 0xfffff000 - 224 pages), FIXADDR_BOOT_START=0xffdfe000. */
    assert_int_equal(l.fixaddr_start, 0xfff1f000u);
    assert_int_equal(l.fixaddr_boot_start, 0xffdfe000u);
}

static void test_2632_nopae(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_32, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.6: PKMAP_BASE=0xff800000, VMALLOC_END=0xff7fe000, MAXMEM=0x377fe000 (≈888 MB),
     * lowmem 0xc0000000–0xf77fe000, vmalloc 0xf7ffe000–0xff7fe000 (120 MB). */
    assert_int_equal(l.pkmap_base, 0xff800000u);
    assert_int_equal(l.vmalloc_end, 0xff7fe000u);
    assert_int_equal(l.maxmem, 0x377fe000u);
    assert_int_equal(l.page_offset, 0xc0000000u);
    assert_int_equal(l.high_memory, 0xf77fe000u);
    assert_int_equal(l.vmalloc_start, 0xf7ffe000u);
    assert_int_equal(l.vmalloc_end - l.vmalloc_start, 120 * MIB);
    assert_int_equal(l.max_low_pfn, 0x377feu);
}

static void test_2632_pae(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_32, MMUSIM_PAGING_PAE, &l);
    /* §1.6: PKMAP_BASE=0xffa00000, MAXMEM ≈ 890 MB; the brief pins MAXMEM 0x379fe000
     * (= PKMAP_BASE - 2 pages - 0xc0000000 - 128 MiB, §1.1). */
    assert_int_equal(l.pkmap_base, 0xffa00000u);
    assert_int_equal(l.vmalloc_end, 0xffa00000u - 2 * 4096u);
    assert_int_equal(l.maxmem, 0x379fe000u);
    assert_true(l.maxmem >= 889 * MIB && l.maxmem <= 890 * MIB);
    assert_int_equal(l.fixaddr_boot_start, 0xffdfe000u);
}

/*
 * §1.6: "With NR_CPUS=32–64 the fixmap grows past one 4 MB PMD and PKMAP_BASE
 * drops to 0xff400000 (no PAE) or 0xff600000–0xff800000 (PAE)". By hand (§1.4,
 * §1.3):
 *   NR_CPUS=32: KMAP 69..676, end_perm 680, BTMAP_END 680+256-168 = 768,
 *     end-of-all 1025, BOOT_START 0xfffff000-1025 pages = 0xffbfe000,
 *     PKMAP (0xffbfe000-1025 pages)&4M = 0xff400000, PAE (..-513 pages)&2M = 0xff800000.
 *   NR_CPUS=64: KMAP 69..1284, end_perm 1288, BTMAP_END 1288+256-8 = 1536,
 *     end-of-all 1793, BOOT_START 0xff8fe000, PKMAP 0xff400000, PAE 0xff600000.
 */
static void big_nr_cpus(unsigned nr_cpus, uint32_t end_perm, uint32_t btmap_end, uint32_t end_all,
                        uint32_t boot_start, uint32_t pkmap_pae)
{
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_2_6_32, MMUSIM_PAGING_2LEVEL);
    cfg.nr_cpus = nr_cpus;
    compute_ok(&cfg, &l);
    assert_int_equal(l.fix_kmap_end, 69 + 19 * nr_cpus - 1);
    assert_int_equal(l.end_of_permanent_fixed_addresses, end_perm);
    assert_int_equal(l.fix_btmap_end, btmap_end);
    assert_int_equal(l.end_of_fixed_addresses, end_all);
    assert_int_equal(l.fixaddr_boot_start, boot_start);
    assert_int_equal(l.pkmap_base, 0xff400000u); /* §1.6 */
    assert_int_equal(l.vmalloc_end, 0xff3fe000u);

    cfg.paging = MMUSIM_PAGING_PAE;
    compute_ok(&cfg, &l);
    assert_int_equal(l.pkmap_base, pkmap_pae);
    assert_in_range(l.pkmap_base, 0xff600000u, 0xff800000u); /* §1.6 */
}

static void test_2632_nr_cpus_32(void **state)
{
    (void)state;
    big_nr_cpus(32, 680, 768, 1025, 0xffbfe000u, 0xff800000u);
}

static void test_2632_nr_cpus_64(void **state)
{
    (void)state;
    big_nr_cpus(64, 1288, 1536, 1793, 0xff8fe000u, 0xff600000u);
}

/* ---- 2.6.37 (no worked example in §1.6: derived by hand from §1) ---- */

/*
 * 2.6.37, NR_CPUS 8, KM_TYPE_NR 20 (§1.5), the 2.6.32 fixmap entries (§1.4
 * lists none for 2.6.37; 2.6.32 is the nearest documented enumeration):
 *   FIX_HOLE 0, FIX_VDSO 1, DBGP 2, EARLYCON 3, APIC 4, IO-APIC 5..68,
 *   FIX_KMAP_BEGIN 69, FIX_KMAP_END = 69 + 20 * 8 - 1 = 228,
 *   PCIE_MCFG 229, TEXT_POKE1 230, TEXT_POKE0 231, end-of-permanent 232,
 *   FIX_BTMAP_END = 232 + 256 - (232 & 255) = 256, BEGIN 511, WP_TEST 512, end 513.
 *   FIXADDR_START = 0xfffff000 - 232 * 4096 = 0xfff17000,
 *   FIXADDR_BOOT_START = 0xfffff000 - 513 * 4096 = 0xffdfe000,
 *   FIX_KMAP_BEGIN at 0xfffff000 - 69 * 4096 = 0xfffba000, END at - 228 pages = 0xfff1b000.
 * 2-level: PKMAP_BASE = (0xffdfe000 - 1025 pages = 0xffbfd000) & ~(4M-1) = 0xff800000,
 *   VMALLOC_END = 0xff7fe000, MAXMEM = 0xff7fe000 - 0xc0000000 - 128M = 0x377fe000,
 *   high_memory = 0xf77fe000, VMALLOC_START = high_memory + 8M = 0xf7ffe000.
 * PAE: PKMAP_BASE = (0xffdfe000 - 513 pages = 0xffbfd000) & ~(2M-1) = 0xffa00000,
 *   VMALLOC_END = 0xff9fe000, MAXMEM = 0x379fe000, high_memory 0xf79fe000,
 *   VMALLOC_START 0xf81fe000.
 */
static void test_2637_fixmap(void **state)
{
    (void)state;
    struct mmusim_layout l;
    for (int pae = 0; pae <= 1; pae++) {
        example(MMUSIM_ERA_2_6_37, pae ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL, &l);
        assert_int_equal(l.kmap_form, MMUSIM_KMAP_STACK);
        assert_int_equal(l.km_type_nr, 20);
        assert_int_equal(l.km_max_idx, 0);
        assert_int_equal(l.kmap_slots_per_cpu, 20);
        assert_int_equal(l.kmap_idx_incr, 1);
        assert_int_equal(l.fix_kmap_begin, 69);
        assert_int_equal(l.fix_kmap_end, 228);
        assert_int_equal(l.end_of_permanent_fixed_addresses, 232);
        assert_int_equal(l.fix_btmap_end, 256);
        assert_int_equal(l.fix_btmap_begin, 511);
        assert_int_equal(l.end_of_fixed_addresses, 513);
        assert_int_equal(l.fixaddr_top, 0xfffff000u);
        assert_int_equal(l.fixaddr_start, 0xfff17000u);
        assert_int_equal(l.fixaddr_boot_start, 0xffdfe000u);
        assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_begin), 0xfffba000u);
        assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_end), 0xfff1b000u);
        assert_int_equal(l.page_offset, 0xc0000000u);
        /* Nothing of 5.11's between the fixmap and pkmap. */
        assert_int_equal(l.cpu_entry_area_base, 0);
        assert_int_equal(l.cpu_entry_area_pages, 0);
        assert_int_equal(l.ldt_base_addr, 0);
    }
}

static void test_2637_pkmap_lowmem(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_37, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(l.last_pkmap, 1024);
    assert_int_equal(l.pkmap_base, 0xff800000u);
    assert_int_equal(l.vmalloc_end, 0xff7fe000u);
    assert_int_equal(l.maxmem, 0x377fe000u);
    assert_int_equal(l.high_memory, 0xf77fe000u);
    assert_int_equal(l.vmalloc_start, 0xf7ffe000u);
    example(MMUSIM_ERA_2_6_37, MMUSIM_PAGING_PAE, &l);
    assert_int_equal(l.last_pkmap, 512);
    assert_int_equal(l.pkmap_base, 0xffa00000u);
    assert_int_equal(l.vmalloc_end, 0xff9fe000u);
    assert_int_equal(l.maxmem, 0x379fe000u);
    assert_int_equal(l.high_memory, 0xf79fe000u);
    assert_int_equal(l.vmalloc_start, 0xf81fe000u);
}

/*
 * 2.6.37 with DEBUG_HIGHMEM: KM_TYPE_NR 41 (§1.5, 2 * 20 + 1). FIX_KMAP_END =
 * 69 + 41 * 8 - 1 = 396, end-of-permanent 400, FIX_BTMAP_END = 400 + 256 - 144
 * = 512, end 769, FIXADDR_BOOT_START = 0xfffff000 - 769 pages = 0xffcfe000,
 * PKMAP_BASE (- 1025 pages = 0xff8fd000) & 4M = 0xff800000, PAE (- 513 pages =
 * 0xffafd000) & 2M = 0xffa00000. The stack form uses the slots one by one
 * (§4: the fences are no longer used), so KM_INCR stays 1.
 */
static void test_2637_debug_highmem(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_2_6_37, MMUSIM_PAGING_2LEVEL);
    cfg.debug_highmem = 1;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_type_nr, 41);
    assert_int_equal(l.kmap_slots_per_cpu, 41);
    assert_int_equal(l.kmap_idx_incr, 1);
    assert_int_equal(l.fix_kmap_end, 396);
    assert_int_equal(l.end_of_permanent_fixed_addresses, 400);
    assert_int_equal(l.fix_btmap_end, 512);
    assert_int_equal(l.end_of_fixed_addresses, 769);
    assert_int_equal(l.fixaddr_boot_start, 0xffcfe000u);
    assert_int_equal(l.pkmap_base, 0xff800000u);
    cfg.paging = MMUSIM_PAGING_PAE;
    compute_ok(&cfg, &l);
    assert_int_equal(l.pkmap_base, 0xffa00000u);
}

/* ---- 5.11 (§1.2 cpu_entry_area order, §1.4 FIX_KMAP, §5 KM_MAX_IDX) ---- */

/*
 * 5.11, NR_CPUS 8, KM_MAX_IDX 16 (§5). Fixmap (32-bit branch of 5.11's
 * asm/fixmap.h, docs/layout.md): FIX_HOLE 0, DBGP 1, EARLYCON 2, APIC 3,
 * IO-APIC 4..67, FIX_KMAP_BEGIN 68, FIX_KMAP_END = 68 + 16 * 8 - 1 = 195 (§1.4),
 * PCIE_MCFG 196, end-of-permanent 197. 512 boot maps: FIX_BTMAP_END moves to
 * the next multiple of 512 only if [197, 197 + 511] crosses a page-table page:
 *   2-level (1024 PTEs): 197..708 does not: BTMAP_END 197, BEGIN 708, WP_TEST 709, end 710;
 *   PAE (512 PTEs): it does: BTMAP_END 197 + 512 - 197 = 512, BEGIN 1023, WP_TEST 1024, end 1025.
 * FIXADDR_START = 0xfffff000 - 197 pages = 0xfff3a000 (both),
 * FIX_KMAP_BEGIN at 0xfffff000 - 68 pages = 0xfffbb000, END at - 195 pages = 0xfff3c000.
 * FIXADDR_TOT_START: 2-level 0xfffff000 - 710 pages = 0xffd39000; PAE - 1025 pages = 0xffbfe000.
 * CPU_ENTRY_AREA_PAGES = 8 * 43 = 344 (43 pages per CPU, docs/layout.md).
 * 2-level, PMD 4 MiB:
 *   CPU_ENTRY_AREA_BASE = (0xffd39000 - 345 pages = 0xffbe0000) & ~(4M-1) = 0xff800000,
 *   LDT_BASE_ADDR = (0xff800000 - 4096) & ~(4M-1) = 0xff400000,
 *   PKMAP_BASE = (0xff400000 - 4096) & ~(4M-1) = 0xff000000, VMALLOC_END = 0xfeffe000,
 *   MAXMEM = 0xfeffe000 - 0xc0000000 - 128M = 0x36ffe000, high_memory = 0xf6ffe000,
 *   VMALLOC_START = 0xf77fe000.
 * PAE, PMD 2 MiB:
 *   CPU_ENTRY_AREA_BASE = (0xffbfe000 - 345 pages = 0xffaa5000) & ~(2M-1) = 0xffa00000,
 *   LDT_BASE_ADDR = 0xff800000, PKMAP_BASE = 0xff600000, VMALLOC_END = 0xff5fe000,
 *   MAXMEM = 0x375fe000, high_memory = 0xf75fe000, VMALLOC_START = 0xf7dfe000.
 */
static void test_511_fixmap(void **state)
{
    (void)state;
    struct mmusim_layout l;
    for (int pae = 0; pae <= 1; pae++) {
        example(MMUSIM_ERA_5_11, pae ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL, &l);
        assert_int_equal(l.kmap_form, MMUSIM_KMAP_LOCAL);
        assert_int_equal(l.km_type_nr, 0); /* no km_type in 5.11 */
        assert_int_equal(l.km_max_idx, 16);
        assert_int_equal(l.kmap_slots_per_cpu, 16);
        assert_int_equal(l.kmap_idx_incr, 1);
        assert_int_equal(l.fix_kmap_begin, 68);
        assert_int_equal(l.fix_kmap_end, 195);
        assert_int_equal(l.end_of_permanent_fixed_addresses, 197);
        assert_int_equal(l.fixaddr_top, 0xfffff000u);
        assert_int_equal(l.fixaddr_start, 0xfff3a000u);
        assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_begin), 0xfffbb000u);
        assert_int_equal(mmusim_fix_to_virt(&l, l.fix_kmap_end), 0xfff3c000u);
        assert_int_equal(l.cpu_entry_area_pages, 344);
        assert_int_equal(l.page_offset, 0xc0000000u);
    }
    example(MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(l.fix_btmap_end, 197);
    assert_int_equal(l.fix_btmap_begin, 708);
    assert_int_equal(l.end_of_fixed_addresses, 710);
    assert_int_equal(l.fixaddr_boot_start, 0xffd39000u);
    example(MMUSIM_ERA_5_11, MMUSIM_PAGING_PAE, &l);
    assert_int_equal(l.fix_btmap_end, 512);
    assert_int_equal(l.fix_btmap_begin, 1023);
    assert_int_equal(l.end_of_fixed_addresses, 1025);
    assert_int_equal(l.fixaddr_boot_start, 0xffbfe000u);
}

static void test_511_nopae(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(l.cpu_entry_area_base, 0xff800000u);
    assert_int_equal(l.ldt_base_addr, 0xff400000u);
    assert_int_equal(l.last_pkmap, 1024);
    assert_int_equal(l.pkmap_base, 0xff000000u);
    assert_int_equal(mmusim_pkmap_addr(&l, l.last_pkmap), l.ldt_base_addr); /* the window ends at the LDT PMD */
    assert_int_equal(l.vmalloc_end, 0xfeffe000u);
    assert_int_equal(l.vmalloc_reserve, 128 * MIB);
    assert_int_equal(l.maxmem, 0x36ffe000u);
    assert_int_equal(l.max_low_pfn, 0x36ffeu);
    assert_int_equal(l.high_memory, 0xf6ffe000u);
    assert_int_equal(l.vmalloc_start, 0xf77fe000u);
    assert_int_equal(l.vmalloc_end - l.vmalloc_start, 120 * MIB);
}

static void test_511_pae(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_5_11, MMUSIM_PAGING_PAE, &l);
    assert_int_equal(l.cpu_entry_area_base, 0xffa00000u);
    assert_int_equal(l.ldt_base_addr, 0xff800000u);
    assert_int_equal(l.last_pkmap, 512);
    assert_int_equal(l.pkmap_base, 0xff600000u);
    assert_int_equal(mmusim_pkmap_addr(&l, l.last_pkmap), l.ldt_base_addr);
    assert_int_equal(l.vmalloc_end, 0xff5fe000u);
    assert_int_equal(l.maxmem, 0x375fe000u);
    assert_int_equal(l.high_memory, 0xf75fe000u);
    assert_int_equal(l.vmalloc_start, 0xf7dfe000u);
}

/*
 * 5.11, NR_CPUS 32, 2-level: FIX_KMAP_END = 68 + 16 * 32 - 1 = 579, PCIE_MCFG
 * 580, end-of-permanent 581. [581, 1092] crosses index 1024, so FIX_BTMAP_END
 * = 581 + 512 - (581 & 511 = 69) = 1024, BEGIN 1535, WP_TEST 1536, end 1537;
 * FIXADDR_TOT_START = 0xfffff000 - 1537 pages = 0xff9fe000. CPU_ENTRY_AREA_PAGES
 * = 32 * 43 = 1376; BASE = (0xff9fe000 - 1377 pages = 0xff49d000) & ~(4M-1) =
 * 0xff400000, LDT 0xff000000, PKMAP_BASE 0xfec00000, VMALLOC_END 0xfebfe000,
 * MAXMEM = 0xfebfe000 - 0xc0000000 - 128M = 0x36bfe000.
 */
static void test_511_nr_cpus_32(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL);
    cfg.nr_cpus = 32;
    compute_ok(&cfg, &l);
    assert_int_equal(l.fix_kmap_end, 579);
    assert_int_equal(l.end_of_permanent_fixed_addresses, 581);
    assert_int_equal(l.fix_btmap_end, 1024);
    assert_int_equal(l.fix_btmap_begin, 1535);
    assert_int_equal(l.end_of_fixed_addresses, 1537);
    assert_int_equal(l.fixaddr_boot_start, 0xff9fe000u);
    assert_int_equal(l.cpu_entry_area_pages, 1376);
    assert_int_equal(l.cpu_entry_area_base, 0xff400000u);
    assert_int_equal(l.ldt_base_addr, 0xff000000u);
    assert_int_equal(l.pkmap_base, 0xfec00000u);
    assert_int_equal(l.vmalloc_end, 0xfebfe000u);
    assert_int_equal(l.maxmem, 0x36bfe000u);
}

/*
 * 5.11 with debug_highmem standing for CONFIG_DEBUG_KMAP_LOCAL: KM_MAX_IDX 33
 * and KM_INCR 2 (§5). FIX_KMAP_END = 68 + 33 * 8 - 1 = 331, end-of-permanent
 * 333; 2-level: [333, 844] stays in one page-table page, BTMAP_END 333, end
 * 846, FIXADDR_TOT_START = 0xfffff000 - 846 pages = 0xffcb1000,
 * CPU_ENTRY_AREA_BASE = (0xffcb1000 - 345 pages = 0xffb58000) & ~(4M-1) =
 * 0xff800000: the rest as without debug (PKMAP_BASE 0xff000000).
 */
static void test_511_debug_kmap_local(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL);
    cfg.debug_highmem = 1;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_max_idx, 33);
    assert_int_equal(l.km_type_nr, 0);
    assert_int_equal(l.kmap_slots_per_cpu, 33);
    assert_int_equal(l.kmap_idx_incr, 2);
    assert_int_equal(l.fix_kmap_end, 331);
    assert_int_equal(l.end_of_permanent_fixed_addresses, 333);
    assert_int_equal(l.fix_btmap_end, 333);
    assert_int_equal(l.end_of_fixed_addresses, 846);
    assert_int_equal(l.fixaddr_boot_start, 0xffcb1000u);
    assert_int_equal(l.cpu_entry_area_base, 0xff800000u);
    assert_int_equal(l.pkmap_base, 0xff000000u);
    /* An explicit count is KM_MAX_IDX in this era. */
    cfg.km_type_nr = 20;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_max_idx, 20);
    assert_int_equal(l.fix_kmap_end, 68 + 20 * 8 - 1);
}

/*
 * §1.4/§5: the slot of stack position i on CPU c is idx = i + KM_MAX_IDX * c
 * at __fix_to_virt(FIX_KMAP_BEGIN + idx): CPU 1, position 0 is idx 16 at
 * 0xfffff000 - (68 + 16) * 4096 = 0xfffab000; CPU 7, position 15 is idx 127,
 * FIX_KMAP_END (195), at 0xfff3c000. 2.6.37: idx = i + KM_TYPE_NR * c, CPU 1
 * position 2 is idx 22 at 0xfffff000 - (69 + 22) * 4096 = 0xfffa4000.
 */
static void test_kmap_idx(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(mmusim_kmap_idx(&l, 1, 0), 16);
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, mmusim_kmap_idx(&l, 1, 0)), 0xfffab000u);
    assert_int_equal(mmusim_kmap_idx(&l, 7, 15), 127);
    assert_int_equal(l.fix_kmap_begin + mmusim_kmap_idx(&l, 7, 15), l.fix_kmap_end);
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, 127), 0xfff3c000u);
    example(MMUSIM_ERA_2_6_37, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(mmusim_kmap_idx(&l, 1, 2), 22);
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, 22), 0xfffa4000u);
    /* 2.6.18 (§1.6): CPU1 KM_USER0 (type 3) is idx 16 at 0xfffac000. */
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    assert_int_equal(mmusim_kmap_slot_vaddr(&l, mmusim_kmap_idx(&l, 1, 3)), 0xfffac000u);
    assert_string_equal(mmusim_kmap_form_name(MMUSIM_KMAP_SLOT), "slot");
    assert_string_equal(mmusim_kmap_form_name(MMUSIM_KMAP_STACK), "stack");
    assert_string_equal(mmusim_kmap_form_name(MMUSIM_KMAP_LOCAL), "local");
}

/* 2.6.37 and 5.11 take vmalloc= as 2.6.32 does: the size plus 8 MiB (§1.1).
 * 5.11 2-level, vmalloc=256M: MAXMEM = 0xfeffe000 - 0xc0000000 - 264M =
 * 0x2e7fe000, VMALLOC_START = 0xee7fe000 + 8M = 0xeeffe000, area 256 MiB. */
static void test_vmalloc_option_later(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL);
    cfg.vmalloc_bytes = 256 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.vmalloc_reserve, 264 * MIB);
    assert_int_equal(l.maxmem, 0x2e7fe000u);
    assert_int_equal(l.vmalloc_start, 0xeeffe000u);
    assert_int_equal(l.vmalloc_end - l.vmalloc_start, 256 * MIB);
    cfg.era = MMUSIM_ERA_2_6_37; /* as 2.6.32: 0x2effe000 (test_vmalloc_option_2632) */
    compute_ok(&cfg, &l);
    assert_int_equal(l.vmalloc_reserve, 264 * MIB);
    assert_int_equal(l.maxmem, 0x2effe000u);
}

/* ---- preempt_count layout per era ---- */

/*
 * 2.6.18 include/linux/hardirq.h: PREEMPT 0-7, SOFTIRQ 8-15, HARDIRQ_BITS 12
 * (16-27), no NMI field. 2.6.32/2.6.37: HARDIRQ_BITS 10 (16-25), NMI_BITS 1
 * (bit 26). 5.11 include/linux/preempt.h: HARDIRQ_BITS 4 (16-19), NMI_BITS 4
 * (20-23). Masks are ((1 << bits) - 1) << shift: 0x0fff0000, 0x03ff0000,
 * 0x000f0000; NMI 0x04000000 and 0x00f00000.
 */
static void test_preempt_bits(void **state)
{
    (void)state;
    struct mmusim_preempt_bits b;
    struct mmusim_layout l;
    for (int era = 0; era < MMUSIM_ERA_COUNT_; era++) {
        assert_int_equal(mmusim_preempt_bits_of((enum mmusim_era)era, &b), MMUSIM_OK);
        assert_int_equal(b.preempt_offset, 1);
        assert_int_equal(b.preempt_mask, 0x000000ffu);
        assert_int_equal(b.softirq_offset, 0x00000100u);
        assert_int_equal(b.softirq_mask, 0x0000ff00u);
        assert_int_equal(b.hardirq_offset, 0x00010000u);
        /* The layout carries the same values. */
        example((enum mmusim_era)era, MMUSIM_PAGING_2LEVEL, &l);
        assert_memory_equal(&l.preempt_bits, &b, sizeof(b));
    }
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_2_6_18, &b), MMUSIM_OK);
    assert_int_equal(b.hardirq_mask, 0x0fff0000u);
    assert_int_equal(b.nmi_offset, 0);
    assert_int_equal(b.nmi_mask, 0);
    assert_int_equal(b.softirq_disable_offset, 0x100u); /* local_bh_disable adds SOFTIRQ_OFFSET */
    assert_int_equal(b.preempt_active, 0x10000000u);
    assert_int_equal(b.need_resched, 0);
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_2_6_32, &b), MMUSIM_OK);
    assert_int_equal(b.hardirq_mask, 0x03ff0000u);
    assert_int_equal(b.nmi_offset, 0x04000000u);
    assert_int_equal(b.nmi_mask, 0x04000000u);
    assert_int_equal(b.softirq_disable_offset, 0x100u);
    assert_int_equal(b.preempt_active, 0x10000000u);
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_2_6_37, &b), MMUSIM_OK);
    assert_int_equal(b.hardirq_mask, 0x03ff0000u);
    assert_int_equal(b.nmi_offset, 0x04000000u);
    assert_int_equal(b.nmi_mask, 0x04000000u);
    assert_int_equal(b.softirq_disable_offset, 0x200u); /* SOFTIRQ_DISABLE_OFFSET */
    assert_int_equal(b.preempt_active, 0x10000000u);
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_5_11, &b), MMUSIM_OK);
    assert_int_equal(b.hardirq_mask, 0x000f0000u);
    assert_int_equal(b.nmi_offset, 0x00100000u);
    assert_int_equal(b.nmi_mask, 0x00f00000u);
    assert_int_equal(b.softirq_disable_offset, 0x200u);
    assert_int_equal(b.preempt_active, 0);
    assert_int_equal(b.need_resched, 0x80000000u);
    /* The fields never overlap, and the 2.6.32 ones are those of <mmusim/smp.h>. */
    for (int era = 0; era < MMUSIM_ERA_COUNT_; era++) {
        assert_int_equal(mmusim_preempt_bits_of((enum mmusim_era)era, &b), MMUSIM_OK);
        assert_int_equal(b.preempt_mask & b.softirq_mask, 0);
        assert_int_equal((b.preempt_mask | b.softirq_mask) & b.hardirq_mask, 0);
        assert_int_equal((b.preempt_mask | b.softirq_mask | b.hardirq_mask) & b.nmi_mask, 0);
        assert_int_equal((b.hardirq_mask | b.nmi_mask) & (b.preempt_active | b.need_resched), 0);
    }
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_COUNT_, &b), MMUSIM_EERA);
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_5_11, NULL), MMUSIM_EINVAL);
}

/* ---- the keys that follow the era: hz, preempt, flush_ceiling ---- */

static void test_era_keys_defaults(void **state)
{
    (void)state;
    /* hz 250 for the 2.6 eras, 1000 for 5.11; voluntary everywhere; flush
     * ceiling 0 (no per-page kernel flush, §6) for 2.6, 33 for 5.11 (§6, §7). */
    static const struct {
        enum mmusim_era era;
        unsigned hz, ceiling;
    } want[] = {
        {MMUSIM_ERA_2_6_18, 250, 0},
        {MMUSIM_ERA_2_6_32, 250, 0},
        {MMUSIM_ERA_2_6_37, 250, 0},
        {MMUSIM_ERA_5_11, 1000, 33},
    };
    struct mmusim_config cfg;
    struct mmusim_layout l;
    mmusim_config_init(&cfg);
    assert_int_equal(cfg.hz, 0);
    assert_int_equal(cfg.preempt, MMUSIM_PREEMPT_AUTO);
    assert_int_equal(cfg.flush_ceiling, MMUSIM_FLUSH_CEILING_AUTO);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        example_config(&cfg, want[i].era, MMUSIM_PAGING_2LEVEL);
        assert_int_equal(mmusim_config_hz(&cfg), want[i].hz);
        assert_int_equal(mmusim_config_preempt(&cfg), MMUSIM_PREEMPT_VOLUNTARY);
        assert_int_equal(mmusim_config_flush_ceiling(&cfg), want[i].ceiling);
        compute_ok(&cfg, &l);
        assert_int_equal(l.hz, want[i].hz);
        assert_int_equal(l.preempt, MMUSIM_PREEMPT_VOLUNTARY);
        assert_int_equal(l.flush_ceiling, want[i].ceiling);
    }
    /* Setting the era by name after init moves the defaults with it. */
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "era", "5.11"), MMUSIM_OK);
    assert_int_equal(cfg.era, MMUSIM_ERA_5_11);
    assert_int_equal(mmusim_config_hz(&cfg), 1000);
    assert_int_equal(mmusim_config_flush_ceiling(&cfg), 33);
    assert_int_equal(mmusim_config_set(&cfg, "era", "2.6.37"), MMUSIM_OK);
    assert_int_equal(cfg.era, MMUSIM_ERA_2_6_37);
    assert_int_equal(mmusim_config_hz(&cfg), 250);
    assert_int_equal(mmusim_config_flush_ceiling(&cfg), 0);
}

static void test_era_keys_explicit(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "100"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "full"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "0"), MMUSIM_OK); /* explicit 0 beats 5.11's 33 */
    compute_ok(&cfg, &l);
    assert_int_equal(l.hz, 100);
    assert_int_equal(l.preempt, MMUSIM_PREEMPT_FULL);
    assert_int_equal(l.flush_ceiling, 0);
    /* The 2.6 era keeps what the user set, too. */
    assert_int_equal(mmusim_config_set(&cfg, "era", "2.6.18"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "10000"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "none"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "33"), MMUSIM_OK);
    compute_ok(&cfg, &l);
    assert_int_equal(l.hz, 10000);
    assert_int_equal(l.preempt, MMUSIM_PREEMPT_NONE);
    assert_int_equal(l.flush_ceiling, 33);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "voluntary"), MMUSIM_OK);
    assert_int_equal(cfg.preempt, MMUSIM_PREEMPT_VOLUNTARY);
    /* Back to the era's: 0 or auto. */
    assert_int_equal(mmusim_config_set(&cfg, "hz", "0"), MMUSIM_OK);
    assert_int_equal(cfg.hz, 0);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "auto"), MMUSIM_OK);
    assert_int_equal(cfg.hz, 0);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "auto"), MMUSIM_OK);
    assert_int_equal(cfg.preempt, MMUSIM_PREEMPT_AUTO);
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "auto"), MMUSIM_OK);
    assert_int_equal(cfg.flush_ceiling, MMUSIM_FLUSH_CEILING_AUTO);
    assert_int_equal(mmusim_config_set(&cfg, "era", "5.11"), MMUSIM_OK);
    compute_ok(&cfg, &l);
    assert_int_equal(l.hz, 1000);
    assert_int_equal(l.flush_ceiling, 33);
    assert_string_equal(mmusim_preempt_name(MMUSIM_PREEMPT_AUTO), "auto");
    assert_string_equal(mmusim_preempt_name(MMUSIM_PREEMPT_NONE), "none");
    assert_string_equal(mmusim_preempt_name(MMUSIM_PREEMPT_VOLUNTARY), "voluntary");
    assert_string_equal(mmusim_preempt_name(MMUSIM_PREEMPT_FULL), "full");
    assert_null(mmusim_preempt_name((enum mmusim_preempt)4));
}

static void test_era_keys_rejected(void **state)
{
    (void)state;
    struct mmusim_config cfg, before;
    example_config(&cfg, MMUSIM_ERA_5_11, MMUSIM_PAGING_2LEVEL);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "300"), MMUSIM_OK);
    before = cfg;
    /* hz: 100..10000, or 0/auto. */
    assert_int_equal(mmusim_config_set(&cfg, "hz", "99"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "1"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "10001"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "-250"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "250Hz"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", ""), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "hz", "99999999999999999999999"), MMUSIM_EVALUE);
    /* preempt: the four names only. */
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "rt"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "Full"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "preempt", "1"), MMUSIM_EVALUE);
    /* flush_ceiling: auto or 0..2^20. */
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "1048577"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "-1"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "flush_ceiling", "Auto"), MMUSIM_EVALUE);
    /* era: the four names only. */
    assert_int_equal(mmusim_config_set(&cfg, "era", "5.10"), MMUSIM_EVALUE);
    assert_int_equal(mmusim_config_set(&cfg, "era", "2.6.36"), MMUSIM_EVALUE);
    assert_memory_equal(&cfg, &before, sizeof(cfg)); /* unchanged on error */
    /* Values put in the struct directly are checked by validation. */
    cfg.hz = 50;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EVALUE);
    cfg.hz = 20000;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EVALUE);
    cfg.hz = 0;
    cfg.preempt = (enum mmusim_preempt)7;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EVALUE);
    cfg.preempt = MMUSIM_PREEMPT_AUTO;
    cfg.era = MMUSIM_ERA_COUNT_;
    assert_int_equal(mmusim_config_validate(&cfg), MMUSIM_EERA);
}

static void test_era_names(void **state)
{
    (void)state;
    static const char *const names[] = {"2.6.18", "2.6.32", "2.6.37", "5.11"};
    enum mmusim_era e;
    for (int i = 0; i < MMUSIM_ERA_COUNT_; i++) {
        assert_string_equal(mmusim_era_name((enum mmusim_era)i), names[i]);
        assert_int_equal(mmusim_era_from_name(names[i], &e), MMUSIM_OK);
        assert_int_equal(e, i);
    }
    assert_null(mmusim_era_name(MMUSIM_ERA_COUNT_));
    assert_int_equal(mmusim_era_from_name("5.11.0", &e), MMUSIM_EERA);
    /* The default era stays 2.6.32. */
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(cfg.era, MMUSIM_ERA_2_6_32);
}

/* ---- geometry, split, options ---- */

static void test_last_pkmap_and_geometry(void **state)
{
    (void)state;
    struct mmusim_layout l;
    for (int era = MMUSIM_ERA_2_6_18; era < MMUSIM_ERA_COUNT_; era++) {
        /* §1.3: LAST_PKMAP 1024 without PAE, 512 with; §1.7 shifts. */
        example((enum mmusim_era)era, MMUSIM_PAGING_2LEVEL, &l);
        assert_int_equal(l.last_pkmap, 1024);
        assert_int_equal(l.ptrs_per_pte, 1024);
        assert_int_equal(l.pmd_shift, 22);
        assert_int_equal(l.pgdir_shift, 22);
        assert_int_equal(l.kernel_pgd_boundary, 0xc0000000u >> 22); /* 768 */
        assert_int_equal(l.pkmap_base % (4 * MIB), 0);
        example((enum mmusim_era)era, MMUSIM_PAGING_PAE, &l);
        assert_int_equal(l.last_pkmap, 512);
        assert_int_equal(l.ptrs_per_pte, 512);
        assert_int_equal(l.pmd_shift, 21);
        assert_int_equal(l.pgdir_shift, 30);
        assert_int_equal(l.kernel_pgd_boundary, 3);
        assert_int_equal(l.pkmap_base % (2 * MIB), 0);
    }
}

static uint32_t page_offset_of(enum mmusim_era era, enum mmusim_split split)
{
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, era, MMUSIM_PAGING_2LEVEL);
    cfg.split = split;
    compute_ok(&cfg, &l);
    return l.page_offset;
}

static void test_page_offset_2618(void **state)
{
    (void)state;
    /* §1.1, 2.6.18 arch/i386/Kconfig. */
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_18, MMUSIM_SPLIT_3G), 0xC0000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_18, MMUSIM_SPLIT_3G_OPT), 0xB0000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_18, MMUSIM_SPLIT_2G), 0x78000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_18, MMUSIM_SPLIT_1G), 0x40000000u);
}

static void test_page_offset_2632(void **state)
{
    (void)state;
    /* §1.1, 2.6.32 arch/x86/Kconfig: 2G moved to 0x80000000, 2G_OPT added. */
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_32, MMUSIM_SPLIT_3G), 0xC0000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_32, MMUSIM_SPLIT_3G_OPT), 0xB0000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_32, MMUSIM_SPLIT_2G), 0x80000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_32, MMUSIM_SPLIT_2G_OPT), 0x78000000u);
    assert_int_equal(page_offset_of(MMUSIM_ERA_2_6_32, MMUSIM_SPLIT_1G), 0x40000000u);
}

static void test_page_offset_later(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* 2.6.37 and 5.11 offer 2.6.32's splits (docs/layout.md: §1.1 is silent on
     * them; a v5.8 arch/x86/Kconfig has the same choices and PAGE_OFFSETs). */
    static const enum mmusim_era eras[] = {MMUSIM_ERA_2_6_37, MMUSIM_ERA_5_11};
    for (size_t i = 0; i < sizeof(eras) / sizeof(eras[0]); i++) {
        assert_int_equal(page_offset_of(eras[i], MMUSIM_SPLIT_3G), 0xC0000000u);
        assert_int_equal(page_offset_of(eras[i], MMUSIM_SPLIT_3G_OPT), 0xB0000000u);
        assert_int_equal(page_offset_of(eras[i], MMUSIM_SPLIT_2G), 0x80000000u);
        assert_int_equal(page_offset_of(eras[i], MMUSIM_SPLIT_2G_OPT), 0x78000000u);
        assert_int_equal(page_offset_of(eras[i], MMUSIM_SPLIT_1G), 0x40000000u);
        /* With PAE only the _OPT splits are refused (they depend on !X86_PAE). */
        example_config(&cfg, eras[i], MMUSIM_PAGING_PAE);
        cfg.split = MMUSIM_SPLIT_3G_OPT;
        assert_int_equal(mmusim_layout_compute(&cfg, &l), MMUSIM_ESPLITPAE);
        cfg.split = MMUSIM_SPLIT_2G_OPT;
        assert_int_equal(mmusim_layout_compute(&cfg, &l), MMUSIM_ESPLITPAE);
        cfg.split = MMUSIM_SPLIT_2G;
        compute_ok(&cfg, &l);
        assert_int_equal(l.kernel_pgd_boundary, 2);
        cfg.split = MMUSIM_SPLIT_1G;
        compute_ok(&cfg, &l);
        assert_int_equal(l.kernel_pgd_boundary, 1);
    }
}

static void test_split_1g_maxmem(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* §1.1, 2.6.18: MAXMEM = 4G - PAGE_OFFSET - 128M = 4G - 1G - 128M = 0xb8000000. */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.split = MMUSIM_SPLIT_1G;
    cfg.mem_bytes = 4 * GIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.maxmem, 0xb8000000u);
    assert_int_equal(l.high_memory, 0xf8000000u);
    assert_int_equal(l.vmalloc_start, 0xf8800000u);
    /* 2.6.32: MAXMEM = VMALLOC_END - PAGE_OFFSET - 128M = 0xff7fe000 - 0x40000000 - 0x8000000. */
    cfg.era = MMUSIM_ERA_2_6_32;
    compute_ok(&cfg, &l);
    assert_int_equal(l.maxmem, 0xb77fe000u);
    assert_int_equal(l.high_memory, 0xf77fe000u);
}

static void test_vmalloc_option_2618(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* §1.1: 2.6.18 vmalloc= sets __VMALLOC_RESERVE to exactly the size:
     * MAXMEM = 4G - 3G - 256M = 768M. VMALLOC_START = (0xf0000000 + 16M - 1) & ~(8M - 1). */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.vmalloc_bytes = 256 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.vmalloc_reserve, 256 * MIB);
    assert_int_equal(l.maxmem, 768 * MIB);
    assert_int_equal(l.high_memory, 0xf0000000u);
    assert_int_equal(l.vmalloc_start, 0xf0800000u);
    /* A smaller reserve grows lowmem: vmalloc=64M -> MAXMEM 960M, the last 64M of 1G is highmem,
     * VMALLOC_START = (0xfc000000 + 16M - 1) & ~(8M - 1) = 0xfc800000. */
    cfg.vmalloc_bytes = 64 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.maxmem, 960 * MIB);
    assert_int_equal(l.max_low_pfn, (960 * MIB) >> 12);
    assert_int_equal(l.high_memory, 0xfc000000u);
    assert_int_equal(l.vmalloc_start, 0xfc800000u);
}

static void test_vmalloc_option_2632(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* §1.1: 2.6.32 vmalloc= gives the size plus VMALLOC_OFFSET (8 MB):
     * reserve 264M, MAXMEM = 0xff7fe000 - 0xc0000000 - 0x10800000 = 0x2effe000,
     * VMALLOC_START = high_memory + 8M = 0xeeffe000 + 0x800000 = 0xef7fe000,
     * so the vmalloc area is 0xff7fe000 - 0xef7fe000 = 256 MiB, the size asked for. */
    example_config(&cfg, MMUSIM_ERA_2_6_32, MMUSIM_PAGING_2LEVEL);
    cfg.vmalloc_bytes = 256 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.vmalloc_reserve, 264 * MIB);
    assert_int_equal(l.maxmem, 0x2effe000u);
    assert_int_equal(l.high_memory, 0xeeffe000u);
    assert_int_equal(l.vmalloc_start, 0xef7fe000u);
    assert_int_equal(l.vmalloc_end - l.vmalloc_start, 256 * MIB);
}

static void test_small_memory(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* 512 MiB fits under MAXMEM (§1.1: max_low_pfn = max_pfn, no highmem). */
    for (int era = MMUSIM_ERA_2_6_18; era < MMUSIM_ERA_COUNT_; era++) {
        example_config(&cfg, (enum mmusim_era)era, MMUSIM_PAGING_2LEVEL);
        cfg.mem_bytes = 512 * MIB;
        compute_ok(&cfg, &l);
        assert_int_equal(l.max_pfn, 131072);
        assert_int_equal(l.max_low_pfn, l.max_pfn);
        assert_int_equal(l.high_memory, 0xe0000000u);
        /* §1.2: 2.6.18 (0xe0000000 + 16M - 1) & ~(8M-1); 2.6.32 0xe0000000 + 8M: both 0xe0800000. */
        assert_int_equal(l.vmalloc_start, 0xe0800000u);
        assert_int_equal(l.zones[MMUSIM_ZONE_HIGHMEM].start_pfn, l.zones[MMUSIM_ZONE_HIGHMEM].end_pfn);
        assert_int_equal(mmusim_layout_zone_of(&l, 131071), MMUSIM_ZONE_NORMAL);
        assert_int_equal(mmusim_layout_zone_of(&l, 131072), MMUSIM_ZONE_COUNT_);
    }
    /* The smallest machine: 16 MiB, DMA only. */
    cfg.mem_bytes = 16 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.zones[MMUSIM_ZONE_DMA].end_pfn, 4096);
    assert_int_equal(l.zones[MMUSIM_ZONE_NORMAL].start_pfn, l.zones[MMUSIM_ZONE_NORMAL].end_pfn);
}

static void test_zones(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* 2 GiB, 2.6.18 3G: DMA [0, 16M), Normal [16M, 896M), HighMem [896M, 2G), in pfns. */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.mem_bytes = 2 * GIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.zones[MMUSIM_ZONE_DMA].start_pfn, 0);
    assert_int_equal(l.zones[MMUSIM_ZONE_DMA].end_pfn, 4096);
    assert_int_equal(l.zones[MMUSIM_ZONE_NORMAL].start_pfn, 4096);
    assert_int_equal(l.zones[MMUSIM_ZONE_NORMAL].end_pfn, 229376);
    assert_int_equal(l.zones[MMUSIM_ZONE_HIGHMEM].start_pfn, 229376);
    assert_int_equal(l.zones[MMUSIM_ZONE_HIGHMEM].end_pfn, 524288);
    assert_int_equal(mmusim_layout_zone_of(&l, 0), MMUSIM_ZONE_DMA);
    assert_int_equal(mmusim_layout_zone_of(&l, 4095), MMUSIM_ZONE_DMA);
    assert_int_equal(mmusim_layout_zone_of(&l, 4096), MMUSIM_ZONE_NORMAL);
    assert_int_equal(mmusim_layout_zone_of(&l, 229375), MMUSIM_ZONE_NORMAL);
    assert_int_equal(mmusim_layout_zone_of(&l, 229376), MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_layout_zone_of(&l, 524287), MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_layout_zone_of(&l, 524288), MMUSIM_ZONE_COUNT_);
    assert_string_equal(mmusim_zone_name(MMUSIM_ZONE_DMA), "DMA");
    assert_string_equal(mmusim_zone_name(MMUSIM_ZONE_NORMAL), "Normal");
    assert_string_equal(mmusim_zone_name(MMUSIM_ZONE_HIGHMEM), "HighMem");
}

static void test_pae_big_memory(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* §1.7: PAE addresses up to 64 GB. 8 GiB on 2.6.32 PAE: lowmem is MAXMEM 0x379fe000 (§1.6). */
    example_config(&cfg, MMUSIM_ERA_2_6_32, MMUSIM_PAGING_PAE);
    cfg.mem_bytes = 8 * GIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.max_pfn, 2097152);
    assert_int_equal(l.max_low_pfn, 0x379feu);
    assert_int_equal(l.zones[MMUSIM_ZONE_HIGHMEM].end_pfn, 2097152);
    assert_int_equal(mmusim_layout_zone_of(&l, 2097151), MMUSIM_ZONE_HIGHMEM);
    cfg.mem_bytes = 64 * GIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.max_pfn, 64 * GIB >> 12);
}

static void test_va_pa(void **state)
{
    (void)state;
    struct mmusim_layout l;
    example(MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL, &l);
    /* §1.1: __va(x) = x + PAGE_OFFSET, __pa(x) = x - PAGE_OFFSET. */
    assert_int_equal(mmusim_layout_va(&l, 0), 0xc0000000u);
    assert_int_equal(mmusim_layout_pa(&l, 0xc0100000u), 0x100000u);
    assert_int_equal(mmusim_layout_va(&l, l.max_low_pfn << 12), l.high_memory);
    for (uint64_t pa = 0; pa < l.max_low_pfn << 12; pa += 0x123457)
        assert_int_equal(mmusim_layout_pa(&l, mmusim_layout_va(&l, pa)), pa);
}

static void test_pkmap_round_trip(void **state)
{
    (void)state;
    struct mmusim_layout l;
    for (int pae = 0; pae <= 1; pae++) {
        example(MMUSIM_ERA_2_6_32, pae ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL, &l);
        /* §1.3: PKMAP_ADDR(n) = PKMAP_BASE + n pages, PKMAP_NR(v) = (v - PKMAP_BASE) >> 12. */
        assert_int_equal(mmusim_pkmap_addr(&l, 0), l.pkmap_base);
        for (uint32_t nr = 0; nr < l.last_pkmap; nr++) {
            uint32_t va = mmusim_pkmap_addr(&l, nr);
            assert_int_equal(va, l.pkmap_base + nr * 4096u);
            assert_int_equal(mmusim_pkmap_nr(&l, va), nr);
            assert_int_equal(mmusim_pkmap_nr(&l, va + 0xfff), nr);
        }
        /* The window stays below the fixmap (§1.3, mem_init's check). */
        assert_true(mmusim_pkmap_addr(&l, l.last_pkmap) <= l.fixaddr_start);
    }
}

static void test_fix_round_trip(void **state)
{
    (void)state;
    struct mmusim_layout l;
    for (int era = MMUSIM_ERA_2_6_18; era < MMUSIM_ERA_COUNT_; era++) {
        example((enum mmusim_era)era, MMUSIM_PAGING_2LEVEL, &l);
        /* §1.2: __fix_to_virt(i) = FIXADDR_TOP - (i << 12); __virt_to_fix inverts it. */
        assert_int_equal(mmusim_fix_to_virt(&l, 0), 0xfffff000u); /* FIX_HOLE */
        for (uint32_t i = 0; i < l.end_of_fixed_addresses; i++) {
            uint32_t va = mmusim_fix_to_virt(&l, i);
            assert_int_equal(va, 0xfffff000u - (i << 12));
            assert_int_equal(mmusim_virt_to_fix(&l, va), i);
            assert_int_equal(mmusim_virt_to_fix(&l, va + 0x7ff), i);
        }
        assert_int_equal(mmusim_fix_to_virt(&l, l.end_of_permanent_fixed_addresses), l.fixaddr_start);
        assert_int_equal(mmusim_fix_to_virt(&l, l.end_of_fixed_addresses), l.fixaddr_boot_start);
    }
}

static void test_debug_highmem(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* §1.5: fences make KM_TYPE_NR = 2N+1: 27 in 2.6.18, 39 in 2.6.32. */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.debug_highmem = 1;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_type_nr, 27);
    assert_int_equal(l.fix_kmap_begin, 67);
    assert_int_equal(l.fix_kmap_end, 67 + 27 * 8 - 1); /* §1.4 formula */
    cfg.era = MMUSIM_ERA_2_6_32;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_type_nr, 39);
    assert_int_equal(l.fix_kmap_end, 69 + 39 * 8 - 1);
    /* An explicit KM_TYPE_NR is taken as is. */
    cfg.km_type_nr = 20;
    compute_ok(&cfg, &l);
    assert_int_equal(l.km_type_nr, 20);
}

static void test_nr_cpus_default(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    mmusim_config_init(&cfg);
    cfg.ncpus = 2;
    cfg.nr_cpus = 0;
    compute_ok(&cfg, &l);
    assert_int_equal(l.nr_cpus, 8); /* max(8, ncpus) */
    cfg.ncpus = 16;
    compute_ok(&cfg, &l);
    assert_int_equal(l.nr_cpus, 16);
    assert_int_equal(l.fix_kmap_end, l.fix_kmap_begin + 19 * 16 - 1);
}

/* ---- rejected configurations ---- */

static int layout_rc(const struct mmusim_config *cfg)
{
    struct mmusim_layout l;
    memset(&l, 0xab, sizeof(l));
    int rc = mmusim_layout_compute(cfg, &l);
    if (rc != MMUSIM_OK) {
        /* Nothing is written on error. */
        unsigned char ref[sizeof(l)];
        memset(ref, 0xab, sizeof(ref));
        assert_memory_equal(&l, ref, sizeof(l));
    }
    return rc;
}

static void test_reject_split_era(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    /* §1.1: 2.6.18 has no VMSPLIT_2G_OPT. */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.split = MMUSIM_SPLIT_2G_OPT;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITERA);
}

/* §1.1: 3G_OPT and 2G_OPT depend on !X86_PAE in 2.6.32. */
static void test_reject_2632_opt_split_with_pae(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    example_config(&cfg, MMUSIM_ERA_2_6_32, MMUSIM_PAGING_PAE);
    cfg.split = MMUSIM_SPLIT_3G_OPT;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITPAE);
    cfg.split = MMUSIM_SPLIT_2G_OPT;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITPAE);
}

/* §1.1: in 2.6.18 the whole VMSPLIT choice depends on !X86_PAE, so PAE kernels are always 3G. */
static void test_reject_2618_split_other_than_3g_with_pae(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_PAE);
    cfg.split = MMUSIM_SPLIT_3G_OPT;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITPAE);
    cfg.split = MMUSIM_SPLIT_1G;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITPAE);
    /* 2G with PAE: refused by 2.6.18 (test_2632_allows_2g_split_with_pae: allowed by 2.6.32). */
    cfg.split = MMUSIM_SPLIT_2G;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ESPLITPAE);
}

/* 2.6.32 allows 2G with PAE: PAGE_OFFSET 0x80000000 is 1 GB-aligned (§1.1). */
static void test_2632_allows_2g_split_with_pae(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    example_config(&cfg, MMUSIM_ERA_2_6_32, MMUSIM_PAGING_PAE);
    cfg.split = MMUSIM_SPLIT_2G;
    compute_ok(&cfg, &l);
    assert_int_equal(l.page_offset, 0x80000000u);
    assert_int_equal(l.kernel_pgd_boundary, 2);
}

/* vmalloc= of `bytes` is EVMALLOC in both eras (2-level, 1 GiB, NR_CPUS 8). */
static void expect_vmalloc_rejected(uint64_t bytes)
{
    struct mmusim_config cfg;
    for (int era = MMUSIM_ERA_2_6_18; era < MMUSIM_ERA_COUNT_; era++) {
        example_config(&cfg, (enum mmusim_era)era, MMUSIM_PAGING_2LEVEL);
        cfg.vmalloc_bytes = bytes;
        assert_int_equal(layout_rc(&cfg), MMUSIM_EVMALLOC);
    }
}

/* 1 GiB of vmalloc leaves no lowmem in a 1 GiB kernel space (§1.1 MAXMEM <= 0). */
static void test_reject_vmalloc_leaving_no_lowmem(void **state)
{
    (void)state;
    expect_vmalloc_rejected(1 * GIB);
}

/* 1 GiB - 8 MiB: 2.6.18 MAXMEM = 8 MiB, under the 16 MiB DMA zone. */
static void test_reject_vmalloc_leaving_lowmem_under_16m(void **state)
{
    (void)state;
    expect_vmalloc_rejected(1 * GIB - 8 * MIB);
}

/* Far beyond 32 bits: must not wrap into something that looks valid. */
static void test_reject_vmalloc_beyond_32_bits(void **state)
{
    (void)state;
    expect_vmalloc_rejected(1ull << 40);
    expect_vmalloc_rejected(UINT64_MAX - 4095);
}

/* Not a multiple of 4 KiB. */
static void test_reject_unaligned_vmalloc(void **state)
{
    (void)state;
    expect_vmalloc_rejected(128 * MIB + 1);
}

static void test_reject_tiny_vmalloc_2618(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    struct mmusim_layout l;
    /* 2.6.18, vmalloc=16M, 2 GiB: MAXMEM = 1G - 16M, high_memory = 0xff000000,
     * VMALLOC_START = (0xff000000 + 16M - 1) & ~(8M - 1) = 0xff800000 > VMALLOC_END
     * 0xff7fe000: mem_init() BUGs (§1.3). */
    example_config(&cfg, MMUSIM_ERA_2_6_18, MMUSIM_PAGING_2LEVEL);
    cfg.mem_bytes = 2 * GIB;
    cfg.vmalloc_bytes = 16 * MIB;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ELAYOUT);
    /* The same kernel boots on a 64 MiB machine: high_memory is far below. */
    cfg.mem_bytes = 64 * MIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.high_memory, 0xc4000000u);
    /* 2.6.32 adds the reserve on top of the 8 MiB hole: vmalloc=16M never overlaps. */
    cfg.era = MMUSIM_ERA_2_6_32;
    cfg.mem_bytes = 2 * GIB;
    compute_ok(&cfg, &l);
    assert_int_equal(l.vmalloc_end - l.vmalloc_start, 16 * MIB);
}

static void test_reject_null_config(void **state)
{
    (void)state;
    struct mmusim_layout l;
    assert_int_equal(mmusim_layout_compute(NULL, &l), MMUSIM_EINVAL);
}

static void test_reject_null_output(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_layout_compute(&cfg, NULL), MMUSIM_EINVAL);
}

/* Validation errors come through unchanged: a bad CPU count, */
static void test_reject_zero_cpus(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.ncpus = 0;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ENCPUS);
}

/* more than 4 GiB without PAE, */
static void test_reject_mem_over_4g_without_pae(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.mem_bytes = 8 * GIB; /* 2-level paging */
    assert_int_equal(layout_rc(&cfg), MMUSIM_EMEMNOPAE);
}

/* an NR_CPUS below the number of CPUs. */
static void test_reject_nr_cpus_below_cpus(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    cfg.ncpus = 4;
    cfg.nr_cpus = 2;
    assert_int_equal(layout_rc(&cfg), MMUSIM_ENRCPUS);
}

/* ---- invariants over many configurations ---- */

static void test_invariants_grid(void **state)
{
    (void)state;
    static const uint64_t mems[] = {16 * MIB, 100 * MIB, 880 * MIB, 896 * MIB, 1 * GIB, 3 * GIB, 4 * GIB, 16 * GIB};
    static const unsigned nrs[] = {1, 8, 16, 32, 64, 128, 256};
    unsigned ok = 0;
    for (int era = 0; era < MMUSIM_ERA_COUNT_; era++)
        for (int pae = 0; pae <= 1; pae++)
            for (int split = 0; split <= MMUSIM_SPLIT_1G; split++)
                for (size_t m = 0; m < sizeof(mems) / sizeof(mems[0]); m++)
                    for (size_t n = 0; n < sizeof(nrs) / sizeof(nrs[0]); n++)
                        for (int dbg = 0; dbg <= 1; dbg++) {
                            struct mmusim_config cfg;
                            struct mmusim_layout l;
                            mmusim_config_init(&cfg);
                            cfg.ncpus = 1;
                            cfg.era = (enum mmusim_era)era;
                            cfg.paging = pae ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL;
                            cfg.split = (enum mmusim_split)split;
                            cfg.mem_bytes = mems[m];
                            cfg.nr_cpus = nrs[n];
                            cfg.debug_highmem = dbg;
                            if (mmusim_layout_compute(&cfg, &l) != MMUSIM_OK)
                                continue;
                            ok++;
                            /* §1.2 order, top down, and §1.3's checks. */
                            assert_true(l.fixaddr_boot_start <= l.fixaddr_start);
                            assert_true(l.pkmap_base + l.last_pkmap * 4096u <= l.fixaddr_boot_start);
                            assert_int_equal(l.pkmap_base & ((1u << l.pmd_shift) - 1), 0);
                            assert_int_equal(l.vmalloc_end, l.pkmap_base - 8192u);
                            assert_true(l.vmalloc_start < l.vmalloc_end);
                            assert_true(l.high_memory + 8 * MIB <= l.vmalloc_start);
                            assert_true(l.high_memory > l.page_offset);
                            assert_int_equal(l.high_memory, l.page_offset + (l.max_low_pfn << 12));
                            assert_true(l.max_low_pfn <= l.maxmem >> 12);
                            /* The zones tile [0, max_pfn). */
                            assert_int_equal(l.zones[MMUSIM_ZONE_DMA].start_pfn, 0);
                            assert_int_equal(l.zones[MMUSIM_ZONE_DMA].end_pfn, l.zones[MMUSIM_ZONE_NORMAL].start_pfn);
                            assert_int_equal(l.zones[MMUSIM_ZONE_NORMAL].end_pfn, l.zones[MMUSIM_ZONE_HIGHMEM].start_pfn);
                            assert_int_equal(l.zones[MMUSIM_ZONE_HIGHMEM].end_pfn, l.max_pfn);
                            /* The last kmap slot is still in the permanent fixmap. */
                            assert_true(mmusim_kmap_slot_vaddr(&l, l.kmap_slots_per_cpu * l.nr_cpus - 1) >= l.fixaddr_start);
                            assert_int_equal(l.fix_kmap_end + 1 - l.fix_kmap_begin, l.kmap_slots_per_cpu * l.nr_cpus);
                            assert_int_equal(l.kmap_slots_per_cpu, l.km_type_nr + l.km_max_idx);
                            /* 5.11 (§1.2): fixmap, cpu_entry_area (+ RO IDT page), LDT PMD, pkmap. */
                            if (l.era == MMUSIM_ERA_5_11) {
                                uint32_t pmd = 1u << l.pmd_shift;
                                assert_true(l.cpu_entry_area_base + (l.cpu_entry_area_pages + 1) * 4096u <=
                                            l.fixaddr_boot_start);
                                assert_int_equal(l.cpu_entry_area_base & (pmd - 1), 0);
                                assert_true(l.ldt_base_addr + pmd <= l.cpu_entry_area_base);
                                assert_true(l.pkmap_base + l.last_pkmap * 4096u <= l.ldt_base_addr);
                            } else {
                                assert_int_equal(l.cpu_entry_area_pages, 0);
                            }
                        }
    assert_true(ok > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_2618_fixmap_indices),
        cmocka_unit_test(test_2618_fixaddr),
        cmocka_unit_test(test_2618_pkmap_vmalloc_end),
        cmocka_unit_test(test_2618_lowmem),
        cmocka_unit_test(test_2618_kmap_slots),
        cmocka_unit_test(test_2632_fixmap_indices),
        cmocka_unit_test(test_2632_fixaddr),
        cmocka_unit_test(test_2632_nopae),
        cmocka_unit_test(test_2632_pae),
        cmocka_unit_test(test_2632_nr_cpus_32),
        cmocka_unit_test(test_2632_nr_cpus_64),
        cmocka_unit_test(test_2637_fixmap),
        cmocka_unit_test(test_2637_pkmap_lowmem),
        cmocka_unit_test(test_2637_debug_highmem),
        cmocka_unit_test(test_511_fixmap),
        cmocka_unit_test(test_511_nopae),
        cmocka_unit_test(test_511_pae),
        cmocka_unit_test(test_511_nr_cpus_32),
        cmocka_unit_test(test_511_debug_kmap_local),
        cmocka_unit_test(test_kmap_idx),
        cmocka_unit_test(test_vmalloc_option_later),
        cmocka_unit_test(test_preempt_bits),
        cmocka_unit_test(test_era_keys_defaults),
        cmocka_unit_test(test_era_keys_explicit),
        cmocka_unit_test(test_era_keys_rejected),
        cmocka_unit_test(test_era_names),
        cmocka_unit_test(test_last_pkmap_and_geometry),
        cmocka_unit_test(test_page_offset_2618),
        cmocka_unit_test(test_page_offset_2632),
        cmocka_unit_test(test_page_offset_later),
        cmocka_unit_test(test_split_1g_maxmem),
        cmocka_unit_test(test_vmalloc_option_2618),
        cmocka_unit_test(test_vmalloc_option_2632),
        cmocka_unit_test(test_small_memory),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_pae_big_memory),
        cmocka_unit_test(test_va_pa),
        cmocka_unit_test(test_pkmap_round_trip),
        cmocka_unit_test(test_fix_round_trip),
        cmocka_unit_test(test_debug_highmem),
        cmocka_unit_test(test_nr_cpus_default),
        cmocka_unit_test(test_reject_split_era),
        cmocka_unit_test(test_reject_2632_opt_split_with_pae),
        cmocka_unit_test(test_reject_2618_split_other_than_3g_with_pae),
        cmocka_unit_test(test_2632_allows_2g_split_with_pae),
        cmocka_unit_test(test_reject_vmalloc_leaving_no_lowmem),
        cmocka_unit_test(test_reject_vmalloc_leaving_lowmem_under_16m),
        cmocka_unit_test(test_reject_vmalloc_beyond_32_bits),
        cmocka_unit_test(test_reject_unaligned_vmalloc),
        cmocka_unit_test(test_reject_tiny_vmalloc_2618),
        cmocka_unit_test(test_reject_null_config),
        cmocka_unit_test(test_reject_null_output),
        cmocka_unit_test(test_reject_zero_cpus),
        cmocka_unit_test(test_reject_mem_over_4g_without_pae),
        cmocka_unit_test(test_reject_nr_cpus_below_cpus),
        cmocka_unit_test(test_invariants_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
