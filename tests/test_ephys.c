/*
 * Entries naming frames outside installed RAM (issue 14, item 1).
 *
 * Simulated software can store any value in a page-table entry
 * (mmusim_pt_set_raw, mmusim_phys_write32, a store through the direct map),
 * so a PDE or PDPTE may name a "table" at or past the end of RAM. What is
 * checked here (docs/tlb.md, "Unbacked physical memory"):
 *
 *   - the walker reads an unbacked entry as all ones, as a PC's bus returns
 *     for a read no device claims: under PAE that entry has reserved bits
 *     62:36 set, so the walk is a #PF with P and RSVD; under 32-bit paging
 *     it is a present, writable, user, dirty 4 KiB PTE for frame 0xfffff,
 *     itself past RAM, so the data access is MMUSIM_EPHYS;
 *   - every table maintenance call that would follow such an entry refuses
 *     with MMUSIM_EPHYS and changes nothing: no table byte, no frame count;
 *   - nothing outside the simulated memory's host structures is touched:
 *     before the fix these calls overran the physmem directory (the ASan
 *     build reports it), and the Release build returned MMUSIM_OK.
 *
 * Bad frames tried: the first frame past RAM (exactly at the end), and the
 * largest a table address can encode (20-bit frames without PAE, 24-bit
 * frames, MAXPHYADDR 36, under PAE).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mmu/mmu.h"
#include "mmusim.h"
#include "mmusim/error.h"

#define USER_RW (MMUSIM_PTE_RW | MMUSIM_PTE_US)
#define VA 0x30000000u /* a user address; PAE: the first PDPTE's range */

struct fx {
    mmusim_machine *m;
    mmusim_cpu *cpu;
    uint64_t cr3;       /* a user address space, not loaded */
    int pae;
    uint64_t nframes;   /* frames of RAM */
    uint64_t max_pfn;   /* the largest frame a table address can encode */
};

static struct fx *fx_new(const char *paging, const char *mem)
{
    struct mmusim_config cfg;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "paging", paging), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "mem", mem), MMUSIM_OK);
    assert_int_equal(mmusim_machine_create(&cfg, &f->m), MMUSIM_OK);
    f->cpu = mmusim_machine_cpu(f->m, 0);
    assert_int_equal(mmusim_pgd_create(f->m, &f->cr3), MMUSIM_OK);
    f->pae = strcmp(paging, "pae") == 0;
    f->nframes = mmusim_machine_config(f->m)->mem_bytes >> 12;
    f->max_pfn = f->pae ? 0xffffffull : 0xfffffull;
    return f;
}

static int setup_2level(void **state)
{
    *state = fx_new("2level", "1G");
    return 0;
}

static int setup_pae(void **state)
{
    *state = fx_new("pae", "8G");
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mmusim_machine_destroy(f->m);
    free(f);
    return 0;
}

/* ---- entries by physical address ---- */

static uint64_t read_entry(struct fx *f, uint64_t pa)
{
    uint32_t lo = 0, hi = 0;
    assert_int_equal(mmusim_phys_read32(f->m, pa, &lo), MMUSIM_OK);
    if (f->pae)
        assert_int_equal(mmusim_phys_read32(f->m, pa + 4, &hi), MMUSIM_OK);
    return ((uint64_t)hi << 32) | lo;
}

static void write_entry(struct fx *f, uint64_t pa, uint64_t v)
{
    assert_int_equal(mmusim_phys_write32(f->m, pa, (uint32_t)v), MMUSIM_OK);
    if (f->pae)
        assert_int_equal(mmusim_phys_write32(f->m, pa + 4, (uint32_t)(v >> 32)), MMUSIM_OK);
}

static uint64_t pdpte_pa(struct fx *f)
{
    return f->cr3 + (uint64_t)(VA >> 30) * 8;
}

static uint64_t pde_pa(struct fx *f)
{
    if (!f->pae)
        return f->cr3 + (uint64_t)(VA >> 22) * 4;
    return (read_entry(f, pdpte_pa(f)) & 0xffffff000ull) + (uint64_t)((VA >> 21) & 0x1ff) * 8;
}

/* ---- what must not change ---- */

struct snap {
    uint8_t pgd[4096];
    uint8_t pd[4096];   /* PAE: the page directory of VA's PDPTE, if in RAM */
    uint64_t free[MMUSIM_ZONE_COUNT_];
    uint64_t resident;
};

static void snap_take(struct fx *f, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    assert_int_equal(mmusim_phys_read(f->m, f->cr3, s->pgd, sizeof(s->pgd)), MMUSIM_OK);
    if (f->pae) {
        uint64_t pd = read_entry(f, pdpte_pa(f)) & 0xffffff000ull;
        if ((pd >> 12) < f->nframes)
            assert_int_equal(mmusim_phys_read(f->m, pd, s->pd, sizeof(s->pd)), MMUSIM_OK);
    }
    for (int z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        s->free[z] = mmusim_zone_free_frames(f->m, (enum mmusim_zone)z);
    s->resident = mmusim_phys_resident_bytes(f->m);
}

static void snap_same(struct fx *f, const struct snap *before)
{
    struct snap now;
    snap_take(f, &now);
    assert_memory_equal(now.pgd, before->pgd, sizeof(now.pgd));
    assert_memory_equal(now.pd, before->pd, sizeof(now.pd));
    for (int z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        assert_int_equal(now.free[z], before->free[z]);
    assert_int_equal(now.resident, before->resident);
}

/* Every maintenance call that follows VA's walk refuses with EPHYS and changes nothing. */
static void maintenance_refused(struct fx *f)
{
    struct snap before;
    struct mmusim_pte_info info;
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    snap_take(f, &before);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, VA, pfn << 12, MMUSIM_PAGE_4K, USER_RW), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, VA + 0x1000u, pfn << 12, MMUSIM_PAGE_4K, USER_RW), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, VA), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_protect(f->m, f->cr3, VA, MMUSIM_PTE_US), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, VA, MMUSIM_PAGE_4K, (pfn << 12) | MMUSIM_PTE_P), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, VA, MMUSIM_PAGE_4K, 0), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, VA, &info), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pgd_destroy(f->m, f->cr3), MMUSIM_EPHYS);
    snap_same(f, &before);
    assert_int_equal(mmusim_frame_free(f->m, pfn), MMUSIM_OK);
}

/* ---- a PDE naming a page table outside RAM ---- */

static void pde_names_table(struct fx *f, uint64_t table_pfn)
{
    uint64_t pa = pde_pa(f), good = read_entry(f, pa);
    write_entry(f, pa, (table_pfn << 12) | MMUSIM_PTE_P | USER_RW | MMUSIM_PTE_A);
    maintenance_refused(f);

    /* A large-page store over it is refused too (it would replace a table PDE). */
    struct snap before;
    snap_take(f, &before);
    uint64_t large = f->pae ? 0x200000u : 0x400000u;
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, VA, MMUSIM_PAGE_LARGE, large | MMUSIM_PTE_P | MMUSIM_PTE_PS),
                     MMUSIM_EPHYS);
    snap_same(f, &before);

    /* The walker, with the address space loaded. */
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, NULL), MMUSIM_OK);
    struct mmusim_walk w;
    assert_int_equal(mmusim_cpu_walk(f->cpu, VA + 0x123u, MMUSIM_ACC_READ | MMUSIM_ACC_USER, &w), MMUSIM_OK);
    uint32_t v = 0xabcdu;
    struct mmusim_access a;
    int rc = mmusim_cpu_access(f->cpu, VA + 0x123u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v, &a);
    if (f->pae) {
        /* The PTE reads as all ones: bits 62:36 reserved (SDM §4.4.2). */
        assert_int_equal(w.fault, 1);
        assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD | MMUSIM_PF_U);
        assert_int_equal(rc, MMUSIM_OK);
        assert_int_equal(a.fault, 1);
        assert_int_equal(a.error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD | MMUSIM_PF_U | MMUSIM_PF_W);
    } else {
        /* The PTE reads as 0xffffffff: present, RW, US, A, D, frame 0xfffff. */
        assert_int_equal(w.fault, 0);
        assert_int_equal(w.leaf, 0xffffffffu);
        assert_int_equal(w.pa, 0xfffff123u);
        assert_int_equal(w.ad_writes, 0); /* A and D read as set: nothing to write back */
        assert_int_equal(rc, MMUSIM_EPHYS); /* the data lies past RAM too */
    }
    snap_same(f, &before);

    /* Put the PDE back: the address space works and goes away cleanly. */
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, mmusim_kernel_cr3(f->m), NULL), MMUSIM_OK);
    write_entry(f, pa, good);
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, VA, MMUSIM_PAGE_4K, 0x5000u | MMUSIM_PTE_P), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_destroy(f->m, f->cr3), MMUSIM_OK);
}

static void test_pde_table_at_end_of_ram(void **state)
{
    struct fx *f = *state;
    pde_names_table(f, f->nframes);
}

static void test_pde_table_at_largest_frame(void **state)
{
    struct fx *f = *state;
    pde_names_table(f, f->max_pfn);
}

/* ---- PAE: a PDPTE naming a page directory outside RAM ---- */

static void pdpte_names_directory(struct fx *f, uint64_t pd_pfn)
{
    uint64_t pa = pdpte_pa(f), good = read_entry(f, pa);
    write_entry(f, pa, (pd_pfn << 12) | MMUSIM_PTE_P);
    maintenance_refused(f);

    struct snap before;
    snap_take(f, &before);
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, VA, MMUSIM_PAGE_LARGE, 0x200000u | MMUSIM_PTE_P | MMUSIM_PTE_PS),
                     MMUSIM_EPHYS);
    snap_same(f, &before);

    /* CR3 loads the PDPTE (no reserved bit in it); the PDE then reads as all
     * ones, reserved bits set: #PF with P and RSVD. */
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, NULL), MMUSIM_OK);
    struct mmusim_walk w;
    assert_int_equal(mmusim_cpu_walk(f->cpu, VA, MMUSIM_ACC_READ, &w), MMUSIM_OK);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD);
    struct mmusim_access a;
    uint32_t v = 1;
    assert_int_equal(mmusim_cpu_access(f->cpu, VA, MMUSIM_ACC_WRITE, 4, &v, &a), MMUSIM_OK);
    assert_int_equal(a.fault, 1);
    assert_int_equal(a.error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD | MMUSIM_PF_W);
    snap_same(f, &before);

    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, mmusim_kernel_cr3(f->m), NULL), MMUSIM_OK);
    write_entry(f, pa, good);
    assert_int_equal(mmusim_pgd_destroy(f->m, f->cr3), MMUSIM_OK);
}

static void test_pdpte_directory_at_end_of_ram(void **state)
{
    struct fx *f = *state;
    pdpte_names_directory(f, f->nframes);
}

static void test_pdpte_directory_at_largest_frame(void **state)
{
    struct fx *f = *state;
    pdpte_names_directory(f, f->max_pfn);
}

/* ---- a kernel PDE: the CPU layer's PTE stores (set_pte, pte_clear) ---- */

static void test_set_pte_refuses_kernel_table_outside_ram(void **state)
{
    struct fx *f = *state;
    uint32_t va = mmusim_machine_layout(f->m)->pkmap_base;
    uint64_t kcr3 = mmusim_kernel_cr3(f->m), pa;
    if (f->pae)
        pa = (read_entry(f, kcr3 + (uint64_t)(va >> 30) * 8) & 0xffffff000ull) + (uint64_t)((va >> 21) & 0x1ff) * 8;
    else
        pa = kcr3 + (uint64_t)(va >> 22) * 4;
    uint64_t good = read_entry(f, pa), old = 7;
    write_entry(f, pa, (f->nframes << 12) | MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_A);
    struct snap before;
    snap_take(f, &before);
    assert_int_equal(mmusim_set_pte(f->cpu, va, 0x5000u, MMUSIM_PTE_RW, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_pte_clear(f->cpu, va, &old), MMUSIM_EPHYS);
    assert_int_equal(old, 7);
    snap_same(f, &before);
    write_entry(f, pa, good);
    assert_int_equal(mmusim_set_pte(f->cpu, va, 0x5000u, MMUSIM_PTE_RW, &old), MMUSIM_OK);
}

/* ---- frames: free and the store helpers ---- */

static void test_frame_free_refuses_frame_outside_ram(void **state)
{
    struct fx *f = *state;
    struct snap before;
    snap_take(f, &before);
    assert_int_equal(mmusim_frame_free(f->m, f->nframes), MMUSIM_EPHYS);
    assert_int_equal(mmusim_frame_free(f->m, f->max_pfn), MMUSIM_EPHYS);
    assert_int_equal(mmusim_frame_free(f->m, UINT64_MAX), MMUSIM_EPHYS);
    snap_same(f, &before);
}

/*
 * The private layer: physmem reads past RAM as all ones and refuses stores
 * and discards there; the mmu layer's entry stores (pt_set, pt_clear, and
 * pt_update_low, the walker's A/D write-back) refuse without storing.
 */
static void test_physmem_and_store_helpers_outside_ram(void **state)
{
    (void)state;
    struct mmu m;
    memset(&m, 0, sizeof(m));
    assert_int_equal(mmusim__physmem_init(&m.pm, 2048), MMUSIM_OK);
    const uint64_t end = 2048ull << 12;
    for (int pae = 0; pae < 2; pae++) {
        m.pae = pae;
        assert_int_equal(physmem_read32(&m.pm, end), 0xffffffffu);
        assert_true(physmem_read64(&m.pm, end + 8) == UINT64_MAX);
        assert_true(pt_read(&m, 0xffffff000ull) == (pae ? UINT64_MAX : 0xffffffffu));
        assert_int_equal(physmem_read32(&m.pm, end - 4), 0); /* in RAM, never written */
        assert_int_equal(mmusim__physmem_write32(&m.pm, end, 1), MMUSIM_EPHYS);
        assert_int_equal(pt_set(&m, end, 0x1234567000ull | 1), MMUSIM_EPHYS);
        assert_int_equal(pt_set(&m, 0xffffff000ull, 1), MMUSIM_EPHYS);
        assert_int_equal(pt_clear(&m, end + 0x10), MMUSIM_EPHYS);
        assert_int_equal(pt_update_low(&m, end, 0x21), MMUSIM_EPHYS);
        uint8_t buf[8] = {1};
        assert_int_equal(mmusim__physmem_write(&m.pm, end - 4, buf, 8), MMUSIM_EPHYS);
        mmusim__physmem_discard(&m.pm, 2048);
        mmusim__physmem_discard(&m.pm, UINT64_MAX);
        assert_int_equal(m.pm.resident, 0);
    }
    mmusim__physmem_fini(&m.pm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pde_table_at_end_of_ram, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pde_table_at_largest_frame, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pde_table_at_end_of_ram, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pde_table_at_largest_frame, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pdpte_directory_at_end_of_ram, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pdpte_directory_at_largest_frame, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_set_pte_refuses_kernel_table_outside_ram, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_set_pte_refuses_kernel_table_outside_ram, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_frame_free_refuses_frame_outside_ram, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_frame_free_refuses_frame_outside_ram, setup_pae, teardown),
        cmocka_unit_test(test_physmem_and_store_helpers_outside_ram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
