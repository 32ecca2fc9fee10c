/*
 * Page tables and the page walker, against the Intel SDM Vol. 3A:
 * §4.3 (32-bit paging), §4.4 (PAE), §4.6 (access rights), §4.7 (#PF error
 * codes), §4.8 (Accessed and Dirty), and Linux's PAE store order
 * (linux-highmem.md §1.7).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mmusim.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

#define USER_RW (MMUSIM_PTE_RW | MMUSIM_PTE_US)

struct fx {
    mmusim_machine *m;
    mmusim_cpu *cpu;
    uint64_t cr3; /* a user address space, loaded in CPU 0 */
};

static struct fx *fx_new(const char *paging, const char *mem, const char *const *sets)
{
    struct mmusim_config cfg;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "paging", paging), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "mem", mem), MMUSIM_OK);
    for (; sets && *sets; sets += 2)
        assert_int_equal(mmusim_config_set(&cfg, sets[0], sets[1]), MMUSIM_OK);
    assert_int_equal(mmusim_machine_create(&cfg, &f->m), MMUSIM_OK);
    f->cpu = mmusim_machine_cpu(f->m, 0);
    assert_int_equal(mmusim_pgd_create(f->m, &f->cr3), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, NULL), MMUSIM_OK);
    return f;
}

static void fx_free(struct fx *f)
{
    mmusim_machine_destroy(f->m);
    free(f);
}

static int setup_2level(void **state)
{
    *state = fx_new("2level", "1G", NULL);
    return 0;
}

static int setup_pae(void **state)
{
    static const char *const sets[] = {"nx", "1", NULL};
    *state = fx_new("pae", "8G", sets);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

/* A highmem or lowmem frame's physical address. */
static uint64_t frame(struct fx *f, enum mmusim_zone z)
{
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(f->m, z, &pfn), MMUSIM_OK);
    return pfn << 12;
}

static struct mmusim_walk walk(struct fx *f, uint32_t va, unsigned access)
{
    struct mmusim_walk w;
    assert_int_equal(mmusim_cpu_walk(f->cpu, va, access, &w), MMUSIM_OK);
    return w;
}

static uint64_t leaf(struct fx *f, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, va, &info), MMUSIM_OK);
    return info.raw;
}

/* ---- 32-bit paging ---- */

static void test_direct_map_uses_4m_global_pages(void **state)
{
    struct fx *f = *state;
    /* __va(0x123456) = 0xc0123456, in a 4 MiB PSE page, global under PGE. */
    struct mmusim_walk w = walk(f, 0xc0123456u, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, 0x123456);
    assert_int_equal(w.size, MMUSIM_PAGE_LARGE);
    assert_int_equal(w.global, 1);
    assert_int_equal(w.refs, 1); /* a PSE walk stops at the PDE */
}

static void test_direct_map_without_pse_uses_4k_pages(void **state)
{
    (void)state;
    static const char *const sets[] = {"pse", "0", NULL};
    struct fx *f = fx_new("2level", "64M", sets);
    struct mmusim_walk w = walk(f, 0xc0123456u, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, 0x123456);
    assert_int_equal(w.size, MMUSIM_PAGE_4K);
    assert_int_equal(w.refs, 2);
    fx_free(f);
}

static void test_4k_read_translates_and_sets_accessed_only(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x08048000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(leaf(f, 0x08048000u) & (MMUSIM_PTE_A | MMUSIM_PTE_D), 0);
    struct mmusim_walk w = walk(f, 0x08048abcu, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, pa + 0xabc);
    assert_int_equal(w.size, MMUSIM_PAGE_4K);
    assert_int_equal(w.refs, 2);
    /* §4.8: A set in the PDE and the PTE; D untouched by a read. */
    assert_int_equal(leaf(f, 0x08048000u) & (MMUSIM_PTE_A | MMUSIM_PTE_D), MMUSIM_PTE_A);
    /* One write-back: the PDE was born accessed (Linux's _PAGE_TABLE has A). */
    assert_int_equal(w.ad_writes, 1);
}

static void test_write_sets_dirty_in_leaf_only(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x08048000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x08048000u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(leaf(f, 0x08048000u) & (MMUSIM_PTE_A | MMUSIM_PTE_D), MMUSIM_PTE_A | MMUSIM_PTE_D);
    /* D has no meaning in a PDE that points to a table (§4.8): left alone. */
    uint32_t pde;
    assert_int_equal(mmusim_phys_read32(f->m, f->cr3 + (0x08048000u >> 22) * 4, &pde), MMUSIM_OK);
    assert_int_equal(pde & MMUSIM_PTE_A, MMUSIM_PTE_A);
    assert_int_equal(pde & MMUSIM_PTE_D, MMUSIM_PTE_D); /* _PAGE_TABLE has D set by Linux itself */
}

static unsigned stores;
static void count_store(void *ctx, uint64_t pa, uint32_t v)
{
    (void)ctx, (void)pa, (void)v;
    stores++;
}

static void test_ad_bits_written_only_when_they_change(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    (void)walk(f, 0x1000u, MMUSIM_ACC_WRITE);
    stores = 0;
    mmusim_machine_set_store_hook(f->m, count_store, NULL);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_WRITE);
    mmusim_machine_set_store_hook(f->m, NULL, NULL);
    assert_int_equal(w.ad_writes, 0);
    assert_int_equal(stores, 0);
}

static void test_not_present_pte_faults_with_code_0(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    /* Same page table, next PTE: not present. Supervisor read: P=0 W=0 U=0. */
    struct mmusim_walk w = walk(f, 0x2010u, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, 0);
    assert_int_equal(w.cr2, 0x2010u);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    assert_int_equal(r.cr2, 0x2010u);
}

static void test_not_present_pde_user_write_code_6(void **state)
{
    struct fx *f = *state;
    struct mmusim_walk w = walk(f, 0x40000000u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_W | MMUSIM_PF_U); /* 6 */
    assert_int_equal(w.refs, 1);
    /* A faulting walk leaves no Accessed bit behind in mmusim. */
}

static void test_user_read_of_supervisor_page_code_5(void **state)
{
    struct fx *f = *state;
    struct mmusim_walk w = walk(f, 0xc0001000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_U); /* 5 */
}

static void test_user_write_to_read_only_code_7(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, MMUSIM_PTE_US), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER).fault, 0);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_W | MMUSIM_PF_U); /* 7 */
}

static void test_read_only_in_pde_wins_over_writable_pte(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    /* Clear R/W in the PDE: §4.6 combines rights over every level. */
    uint64_t pde_pa = f->cr3 + 0;
    uint32_t pde;
    assert_int_equal(mmusim_phys_read32(f->m, pde_pa, &pde), MMUSIM_OK);
    assert_int_equal(mmusim_phys_write32(f->m, pde_pa, pde & ~(uint32_t)MMUSIM_PTE_RW), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, 7);
}

static void test_supervisor_write_to_read_only_obeys_cr0_wp(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, 0), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_WRITE);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_W); /* 3 */
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    assert_int_equal(mmusim_cpu_write_cr0(f->cpu, r.cr0 & ~MMUSIM_CR0_WP), MMUSIM_OK);
    w = walk(f, 0x1000u, MMUSIM_ACC_WRITE);
    assert_int_equal(w.fault, 0); /* WP=0: supervisor writes ignore R/W */
    assert_int_equal(leaf(f, 0x1000u) & MMUSIM_PTE_D, MMUSIM_PTE_D);
}

static void test_4m_page_translates(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x00400000u, 0x00800000u, MMUSIM_PAGE_LARGE, USER_RW), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x00523456u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, 0x00923456u);
    assert_int_equal(w.size, MMUSIM_PAGE_LARGE);
    assert_int_equal(leaf(f, 0x00400000u) & (MMUSIM_PTE_A | MMUSIM_PTE_D | MMUSIM_PTE_PS),
                     MMUSIM_PTE_A | MMUSIM_PTE_D | MMUSIM_PTE_PS);
}

static void test_ps_ignored_without_cr4_pse(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x00400000u, 0x00800000u, MMUSIM_PAGE_LARGE, USER_RW), MMUSIM_OK);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4 & ~MMUSIM_CR4_PSE, NULL), MMUSIM_OK);
    /* §4.3: with CR4.PSE=0 bit 7 is ignored and the PDE names a page table:
     * frame 0x800000 read as a table of zeros, so the PTE is not present. */
    struct mmusim_walk w = walk(f, 0x00523456u, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.refs, 2);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_U);
}

static void test_4m_pde_reserved_bits_fault_rsvd(void **state)
{
    struct fx *f = *state;
    uint64_t raw = 0x00800000u | (1u << 13) | MMUSIM_PTE_PS | USER_RW | MMUSIM_PTE_P;
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, 0x00400000u, MMUSIM_PAGE_LARGE, raw), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x00400000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_U | MMUSIM_PF_RSVD); /* 0xd */
}

/* Without PAE there is no NX bit (SDM §4.3): a mapping asking for it is refused. */
static void test_pt_map_refuses_nx_without_pae(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW | MMUSIM_PTE_NX),
                     MMUSIM_EFEATURE);
}

/* EFER.NXE needs the NX feature, which needs PAE: refused, EFER unchanged. */
static void test_efer_write_refuses_nxe_without_pae(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs before, after;
    mmusim_cpu_regs(f->cpu, &before);
    assert_int_equal(mmusim_cpu_write_efer(f->cpu, MMUSIM_EFER_NXE), MMUSIM_EFEATURE);
    mmusim_cpu_regs(f->cpu, &after);
    assert_int_equal(after.efer, before.efer);
}

static void test_exec_fault_has_no_id_bit_without_pae(void **state)
{
    struct fx *f = *state;
    /* An instruction fetch from a missing page: I/D is reported only with PAE+NXE. */
    struct mmusim_walk w = walk(f, 0x5000u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_U);
}

/*
 * A PDE that points at a page table beyond installed RAM (possible with
 * mmusim_pt_set_raw): the walker's read of the PTE has no memory behind it
 * and reads as all ones, as a PC's bus returns for a read no device claims
 * (docs/tlb.md, "Unbacked physical memory"). Without PAE that is a present,
 * writable, user PTE with A and D set for frame 0xfffff, itself past this
 * machine's 1 GiB: the walk succeeds and writes nothing back, the access
 * moves no data and says MMUSIM_EPHYS, and nothing outside the simulated
 * memory is touched (the ASan build would catch that). tests/test_ephys.c
 * covers PAE and the maintenance calls.
 */
static void test_page_table_beyond_ram_reads_as_all_ones(void **state)
{
    struct fx *f = *state;
    const uint32_t va = 0x30000000u;
    uint64_t table = 0xfff00000u; /* near 4 GiB: past this machine's 1 GiB */
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, va, MMUSIM_PAGE_LARGE, table | MMUSIM_PTE_P | USER_RW),
                     MMUSIM_OK);
    struct mmusim_walk w = walk(f, va + 0x123u, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.leaf, 0xffffffffu);
    assert_int_equal(w.pa, 0xfffff123u);
    assert_int_equal(w.ad_writes, 1); /* the PDE's A, in RAM; the PTE's A and D read as set */
    uint32_t v = 0xabcdu;
    struct mmusim_access a;
    assert_int_equal(mmusim_cpu_access(f->cpu, va + 0x123u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &v, &a),
                     MMUSIM_EPHYS);
}

static void test_walk_cost_is_fixed_plus_references(void **state)
{
    struct fx *f = *state;
    const struct mmusim_costs *c = &mmusim_machine_config(f->m)->costs;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW | MMUSIM_PTE_A), MMUSIM_OK);
    uint64_t before = mmusim_cpu_cycles(f->cpu);
    /* Cold: both references miss the page-table line cache; the PDE's A is
     * already set (_PAGE_TABLE), the PTE's too: no write-back. */
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_READ);
    assert_int_equal(w.ad_writes, 0);
    assert_int_equal(w.cycles, c->walk_fixed + 2ull * c->walk_ref_miss);
    /* Warm: both lines are cached now. */
    w = walk(f, 0x1000u, MMUSIM_ACC_READ);
    assert_int_equal(w.cycles, c->walk_fixed + 2ull * c->walk_ref_hit);
    /* A write sets D: one write-back. */
    w = walk(f, 0x1000u, MMUSIM_ACC_WRITE);
    assert_int_equal(w.cycles, c->walk_fixed + 2ull * c->walk_ref_hit + c->walk_ad_write);
    assert_int_equal(mmusim_cpu_cycles(f->cpu) - before,
                     3ull * c->walk_fixed + 2ull * c->walk_ref_miss + 4ull * c->walk_ref_hit + c->walk_ad_write);
}

static void test_global_only_under_cr4_pge(void **state)
{
    struct fx *f = *state;
    assert_int_equal(walk(f, 0xc0000000u, MMUSIM_ACC_READ).global, 1);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4 & ~MMUSIM_CR4_PGE, NULL), MMUSIM_OK);
    assert_int_equal(walk(f, 0xc0000000u, MMUSIM_ACC_READ).global, 0);
}

static void test_kernel_tables_shared_by_every_address_space(void **state)
{
    struct fx *f = *state;
    uint64_t other, pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pgd_create(f->m, &other), MMUSIM_OK);
    /* A vmalloc address needs a new kernel page table after both address
     * spaces exist: the kernel PDE must reach both. */
    uint32_t va = mmusim_machine_layout(f->m)->vmalloc_start + 0x5000;
    assert_int_equal(mmusim_pt_map(f->m, other, va, pa, MMUSIM_PAGE_4K, MMUSIM_PAGE_KERNEL), MMUSIM_OK);
    struct mmusim_walk w = walk(f, va, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, pa);
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, mmusim_kernel_cr3(f->m), NULL), MMUSIM_OK);
    assert_int_equal(walk(f, va, MMUSIM_ACC_READ).pa, pa);
}

static void test_user_mappings_are_private(void **state)
{
    struct fx *f = *state;
    uint64_t other, pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pgd_create(f->m, &other), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(f->m, other, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ).fault, 1);
}

static void test_pgd_destroy_returns_frames(void **state)
{
    struct fx *f = *state;
    uint64_t other, pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    uint64_t low_free = mmusim_zone_free_frames(f->m, MMUSIM_ZONE_NORMAL);
    assert_int_equal(mmusim_pgd_create(f->m, &other), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(f->m, other, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(mmusim_zone_free_frames(f->m, MMUSIM_ZONE_NORMAL), low_free - 2); /* PGD + PT */
    assert_int_equal(mmusim_pgd_destroy(f->m, other), MMUSIM_OK);
    assert_int_equal(mmusim_zone_free_frames(f->m, MMUSIM_ZONE_NORMAL), low_free);
}

static void test_pgd_destroy_refuses_destroyed_pgd(void **state)
{
    struct fx *f = *state;
    uint64_t other;
    assert_int_equal(mmusim_pgd_create(f->m, &other), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_destroy(f->m, other), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_destroy(f->m, other), MMUSIM_ENOTPGD);
}

/* The fixture's address space is loaded in CPU 0's CR3. */
static void test_pgd_destroy_refuses_pgd_loaded_in_cr3(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mmusim_pgd_destroy(f->m, f->cr3), MMUSIM_EBUSY);
}

static void test_pgd_destroy_refuses_kernel_pgd(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mmusim_pgd_destroy(f->m, mmusim_kernel_cr3(f->m)), MMUSIM_EKERNEL);
}

/* mmusim_pt_map(...) returns code and takes no page-table frame (pgtable.h: nothing is changed on error). */
static void expect_map_refused(struct fx *f, uint64_t cr3, uint32_t va, uint64_t pa, enum mmusim_page_size size,
                               uint64_t flags, int code)
{
    uint64_t low_free = mmusim_zone_free_frames(f->m, MMUSIM_ZONE_NORMAL);
    assert_int_equal(mmusim_pt_map(f->m, cr3, va, pa, size, flags), code);
    assert_int_equal(mmusim_zone_free_frames(f->m, MMUSIM_ZONE_NORMAL), low_free);
}

static void test_pt_map_refuses_unaligned_va(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    expect_map_refused(f, f->cr3, 0x1001u, pa, MMUSIM_PAGE_4K, 0, MMUSIM_EALIGN);
}

static void test_pt_map_refuses_unaligned_pa(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    expect_map_refused(f, f->cr3, 0x1000u, pa + 1, MMUSIM_PAGE_4K, 0, MMUSIM_EALIGN);
}

/* A 4 MiB page needs a 4 MiB-aligned frame: 2 MiB is not enough. */
static void test_pt_map_refuses_large_page_pa_not_large_aligned(void **state)
{
    struct fx *f = *state;
    expect_map_refused(f, f->cr3, 0x00400000u, 0x00200000u, MMUSIM_PAGE_LARGE, 0, MMUSIM_EALIGN);
}

static void test_pt_map_refuses_pa_beyond_ram(void **state)
{
    struct fx *f = *state;
    expect_map_refused(f, f->cr3, 0x1000u, 1 * GIB, MMUSIM_PAGE_4K, 0, MMUSIM_EPHYS);
}

/* A frame near 2^64: pa + 4096 wraps to 0, which must not pass for "inside RAM". */
static void test_pt_map_refuses_pa_whose_end_wraps(void **state)
{
    struct fx *f = *state;
    expect_map_refused(f, f->cr3, 0x1000u, 0xfffffffffffff000ull, MMUSIM_PAGE_4K, 0, MMUSIM_EPHYS);
}

/* 0x200 is an AVL bit: not a flag mmusim_pt_map takes. */
static void test_pt_map_refuses_unknown_flag_bits(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    expect_map_refused(f, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, 0x200, MMUSIM_EINVAL);
}

static void test_pt_map_refuses_unknown_pgd(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    expect_map_refused(f, 0x12345000u, 0x1000u, pa, MMUSIM_PAGE_4K, 0, MMUSIM_ENOTPGD);
}

static void test_pt_map_refuses_mapped_va(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, 0), MMUSIM_OK);
    uint64_t before = leaf(f, 0x1000u);
    expect_map_refused(f, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, 0, MMUSIM_EMAPPED);
    assert_int_equal(leaf(f, 0x1000u), before);
}

/* A large page where a page table (mapping 0x1000) already is: the PDE is in use. */
static void test_pt_map_refuses_large_page_over_page_table(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, 0), MMUSIM_OK);
    expect_map_refused(f, f->cr3, 0x0u, 0x0u, MMUSIM_PAGE_LARGE, 0, MMUSIM_EMAPPED);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ).pa, pa);
}

/* The direct map is made of large pages: no 4 KiB page inside one. */
static void test_pt_map_refuses_4k_page_inside_large_page(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    expect_map_refused(f, f->cr3, 0xc0001000u, pa, MMUSIM_PAGE_4K, 0, MMUSIM_ELARGE);
    assert_int_equal(walk(f, 0xc0001000u, MMUSIM_ACC_READ).pa, 0x1000u);
}

static void test_unmap_and_protect(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(mmusim_pt_protect(f->m, f->cr3, 0x1000u, MMUSIM_PTE_US), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER).error_code, 7);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER).pa, pa);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, 0x1000u), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER).error_code, MMUSIM_PF_U);
}

/* A page mapped, then unmapped: its page table is still there, its PTE not present. */
static void map_then_unmap(struct fx *f, uint32_t va)
{
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, va, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, va), MMUSIM_OK);
}

static void test_pt_unmap_refuses_unmapped_page(void **state)
{
    struct fx *f = *state;
    map_then_unmap(f, 0x1000u);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, 0x1000u), MMUSIM_ENOTMAPPED);
}

static void test_pt_protect_refuses_unmapped_page(void **state)
{
    struct fx *f = *state;
    map_then_unmap(f, 0x1000u);
    assert_int_equal(mmusim_pt_protect(f->m, f->cr3, 0x1000u, 0), MMUSIM_ENOTMAPPED);
}

static void test_pt_unmap_refuses_va_without_page_table(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, 0x40000000u), MMUSIM_ENOTMAPPED);
}

/* ---- PAE ---- */

static void test_pae_4k_above_4g(void **state)
{
    struct fx *f = *state;
    uint64_t pa = 5 * GIB + 0x3000; /* a 36-bit frame */
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0xb7f00000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0xb7f00123u, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, pa + 0x123);
    assert_int_equal(w.refs, 2); /* PDE and PTE: the PDPTE comes from a register */
    assert_int_equal(leaf(f, 0xb7f00000u) >> 32, pa >> 32);
}

static void test_pae_2m_page_without_cr4_pse(void **state)
{
    (void)state;
    static const char *const sets[] = {"pse", "0", NULL};
    struct fx *f = fx_new("pae", "8G", sets);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x00600000u, 6 * GIB, MMUSIM_PAGE_LARGE, USER_RW), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x006abcdeu, MMUSIM_ACC_READ | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, 6 * GIB + 0xabcde);
    assert_int_equal(w.size, MMUSIM_PAGE_LARGE);
    assert_int_equal(w.refs, 1);
    /* The direct map uses 2 MiB pages under PAE too. */
    assert_int_equal(walk(f, 0xc0300000u, MMUSIM_ACC_READ).size, MMUSIM_PAGE_LARGE);
    fx_free(f);
}

static void test_pae_nx_faults_instruction_fetch(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW | MMUSIM_PTE_NX), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ | MMUSIM_ACC_USER).fault, 0);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_U | MMUSIM_PF_I); /* 0x15 */
    assert_int_equal(w.nx, 0); /* not filled on a fault */
    /* Supervisor fetches are refused too. */
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_EXEC).error_code, MMUSIM_PF_P | MMUSIM_PF_I);
    /* Not present under NXE: I/D still reported. */
    assert_int_equal(walk(f, 0x9000u, MMUSIM_ACC_EXEC).error_code, MMUSIM_PF_I);
}

static void test_pae_nx_bit_reserved_without_nxe(void **state)
{
    (void)state;
    struct fx *f = fx_new("pae", "1G", NULL); /* NX feature off: EFER.NXE = 0 */
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, 0x1000u, MMUSIM_PAGE_4K,
                                       pa | MMUSIM_PTE_NX | USER_RW | MMUSIM_PTE_P), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD); /* 9 */
    /* And no I/D bit for a fetch without NXE. */
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_EXEC).error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD);
    fx_free(f);
}

static void test_pae_reserved_bits(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    /* Bit 40 is above MAXPHYADDR (36): reserved in a PTE. */
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, 0x1000u, MMUSIM_PAGE_4K,
                                       pa | (1ull << 40) | MMUSIM_PTE_P), MMUSIM_OK);
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ).error_code, MMUSIM_PF_P | MMUSIM_PF_RSVD);
    /* Bits 20:13 of a 2 MiB PDE are reserved. */
    assert_int_equal(mmusim_pt_set_raw(f->m, f->cr3, 0x00400000u, MMUSIM_PAGE_LARGE,
                                       0x00400000u | (1u << 14) | MMUSIM_PTE_PS | MMUSIM_PTE_P), MMUSIM_OK);
    assert_int_equal(walk(f, 0x00400000u, MMUSIM_ACC_WRITE).error_code,
                     MMUSIM_PF_P | MMUSIM_PF_W | MMUSIM_PF_RSVD);
}

static void test_pae_pdptes_are_registers_loaded_by_cr3(void **state)
{
    struct fx *f = *state;
    uint64_t pa = frame(f, MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    uint64_t pdpte0;
    assert_int_equal(mmusim_phys_read(f->m, f->cr3, &pdpte0, 8), MMUSIM_OK);
    uint64_t zero = 0;
    assert_int_equal(mmusim_phys_write(f->m, f->cr3, &zero, 8), MMUSIM_OK);
    /* The CPU still uses its PDPTE register (SDM §4.4.1)... */
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_READ).pa, pa);
    /* ...until CR3 is written again. */
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, NULL), MMUSIM_OK);
    struct mmusim_walk w = walk(f, 0x1000u, MMUSIM_ACC_READ);
    assert_int_equal(w.fault, 1);
    assert_int_equal(w.refs, 0);
    assert_int_equal(mmusim_phys_write(f->m, f->cr3, &pdpte0, 8), MMUSIM_OK);
}

static void test_pae_reserved_pdpte_bit_is_gp_and_keeps_state(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs before, after;
    mmusim_cpu_regs(f->cpu, &before);
    uint64_t other, pdpte;
    assert_int_equal(mmusim_pgd_create(f->m, &other), MMUSIM_OK);
    assert_int_equal(mmusim_phys_read(f->m, other, &pdpte, 8), MMUSIM_OK);
    pdpte |= 0x2; /* bit 1 is reserved in a PDPTE (SDM Table 4-8) */
    assert_int_equal(mmusim_phys_write(f->m, other, &pdpte, 8), MMUSIM_OK);
    uint64_t c0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, other, NULL), MMUSIM_EGP);
    mmusim_cpu_regs(f->cpu, &after);
    assert_memory_equal(&before, &after, sizeof(before));
    assert_int_equal(mmusim_cpu_cycles(f->cpu), c0);
}

struct store { uint64_t pa; uint32_t v; };
static struct store log_[8];
static unsigned nlog;
static void log_store(void *ctx, uint64_t pa, uint32_t v)
{
    (void)ctx;
    if (nlog < 8)
        log_[nlog].pa = pa, log_[nlog].v = v;
    nlog++;
}

static void test_pae_set_writes_high_then_low_and_clear_low_then_high(void **state)
{
    struct fx *f = *state;
    uint64_t pa = 5 * GIB;
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, 0x100000, MMUSIM_PAGE_4K, 0), MMUSIM_OK);
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, 0x1000u), MMUSIM_OK); /* table now exists */
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(f->m, f->cr3, 0x1000u, &info), MMUSIM_OK);
    nlog = 0;
    mmusim_machine_set_store_hook(f->m, log_store, NULL);
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW), MMUSIM_OK);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0].pa, info.entry_pa + 4); /* high half: frame bits 35:32 */
    assert_int_equal(log_[0].v, 1);
    assert_int_equal(log_[1].pa, info.entry_pa);     /* then the low half, with P */
    assert_int_equal(log_[1].v & MMUSIM_PTE_P, MMUSIM_PTE_P);
    nlog = 0;
    assert_int_equal(mmusim_pt_unmap(f->m, f->cr3, 0x1000u), MMUSIM_OK);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0].pa, info.entry_pa);     /* low half (P) first */
    assert_int_equal(log_[1].pa, info.entry_pa + 4);
    /* The walker's A/D update changes the low half only: one store. */
    assert_int_equal(mmusim_pt_map(f->m, f->cr3, 0x1000u, pa, MMUSIM_PAGE_4K, USER_RW | MMUSIM_PTE_A), MMUSIM_OK);
    nlog = 0;
    assert_int_equal(walk(f, 0x1000u, MMUSIM_ACC_WRITE).fault, 0);
    assert_int_equal(nlog, 1);
    assert_int_equal(log_[0].pa, info.entry_pa);
    mmusim_machine_set_store_hook(f->m, NULL, NULL);
}

/* A refused control-register write leaves the registers and the clock as they were (error.h). */
static void expect_cpu_unchanged(struct fx *f, const struct mmusim_cpu_regs *before, uint64_t cycles)
{
    struct mmusim_cpu_regs after;
    mmusim_cpu_regs(f->cpu, &after);
    assert_memory_equal(before, &after, sizeof(after));
    assert_int_equal(mmusim_cpu_cycles(f->cpu), cycles);
}

/* PAE is fixed by the configuration (cpu.h): CR4.PAE cannot be cleared. */
static void test_cr4_write_refuses_clearing_pae(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    /* The PAE fixture: PAE and NXE on. */
    assert_int_equal(r.cr4 & MMUSIM_CR4_PAE, MMUSIM_CR4_PAE);
    assert_int_equal(r.efer & MMUSIM_EFER_NXE, MMUSIM_EFER_NXE);
    uint64_t c0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr4(f->cpu, r.cr4 & ~MMUSIM_CR4_PAE, NULL), MMUSIM_EINVAL);
    expect_cpu_unchanged(f, &r, c0);
}

/* Only CR0.WP can change (cpu.h): clearing PG is refused. */
static void test_cr0_write_refuses_clearing_pg(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    uint64_t c0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr0(f->cpu, r.cr0 & ~MMUSIM_CR0_PG), MMUSIM_EINVAL);
    expect_cpu_unchanged(f, &r, c0);
}

/* Under PAE CR3 holds a 32-bit physical address (of the PDPT): 4 GiB is out of reach. */
static void test_cr3_write_refuses_address_above_4g(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(f->cpu, &r);
    uint64_t c0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, 1ull << 32, NULL), MMUSIM_EINVAL);
    expect_cpu_unchanged(f, &r, c0);
}

static void test_cr3_write_under_pae_charges_pae_extra(void **state)
{
    struct fx *f = *state;
    uint64_t charged = 0;
    const struct mmusim_costs *c = &mmusim_machine_config(f->m)->costs;
    assert_int_equal(mmusim_cpu_write_cr3(f->cpu, f->cr3, &charged), MMUSIM_OK);
    assert_int_equal(charged, c->mov_cr3 + c->mov_cr3_pae_extra);
}

/* Access kind 3 (write and execute at once) is no access. */
static void test_walk_refuses_unknown_access_kind(void **state)
{
    struct fx *f = *state;
    struct mmusim_walk w;
    uint64_t c0 = mmusim_cpu_cycles(f->cpu);
    assert_int_equal(mmusim_cpu_walk(f->cpu, 0, 3, &w), MMUSIM_EINVAL);
    assert_int_equal(mmusim_cpu_cycles(f->cpu), c0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_direct_map_uses_4m_global_pages, setup_2level, teardown),
        cmocka_unit_test(test_direct_map_without_pse_uses_4k_pages),
        cmocka_unit_test_setup_teardown(test_4k_read_translates_and_sets_accessed_only, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_write_sets_dirty_in_leaf_only, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_ad_bits_written_only_when_they_change, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_not_present_pte_faults_with_code_0, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_not_present_pde_user_write_code_6, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_user_read_of_supervisor_page_code_5, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_user_write_to_read_only_code_7, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_in_pde_wins_over_writable_pte, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_supervisor_write_to_read_only_obeys_cr0_wp, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_4m_page_translates, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_ps_ignored_without_cr4_pse, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_4m_pde_reserved_bits_fault_rsvd, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_nx_without_pae, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_efer_write_refuses_nxe_without_pae, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_exec_fault_has_no_id_bit_without_pae, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_walk_cost_is_fixed_plus_references, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_page_table_beyond_ram_reads_as_all_ones, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_global_only_under_cr4_pge, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_kernel_tables_shared_by_every_address_space, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_user_mappings_are_private, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pgd_destroy_returns_frames, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pgd_destroy_refuses_destroyed_pgd, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pgd_destroy_refuses_pgd_loaded_in_cr3, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pgd_destroy_refuses_kernel_pgd, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_unaligned_va, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_unaligned_pa, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_large_page_pa_not_large_aligned, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_pa_beyond_ram, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_pa_whose_end_wraps, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_unknown_flag_bits, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_unknown_pgd, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_mapped_va, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_large_page_over_page_table, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_map_refuses_4k_page_inside_large_page, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_and_protect, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_unmap_refuses_unmapped_page, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_protect_refuses_unmapped_page, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pt_unmap_refuses_va_without_page_table, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pae_4k_above_4g, setup_pae, teardown),
        cmocka_unit_test(test_pae_2m_page_without_cr4_pse),
        cmocka_unit_test_setup_teardown(test_pae_nx_faults_instruction_fetch, setup_pae, teardown),
        cmocka_unit_test(test_pae_nx_bit_reserved_without_nxe),
        cmocka_unit_test_setup_teardown(test_pae_reserved_bits, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pae_pdptes_are_registers_loaded_by_cr3, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pae_reserved_pdpte_bit_is_gp_and_keeps_state, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pae_set_writes_high_then_low_and_clear_low_then_high, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_cr4_write_refuses_clearing_pae, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_cr0_write_refuses_clearing_pg, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_cr3_write_refuses_address_above_4g, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_cr3_write_under_pae_charges_pae_extra, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_walk_refuses_unknown_access_kind, setup_pae, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
