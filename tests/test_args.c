/*
 * Argument classes beyond NULL (test_api_null.c): values that would wrap a
 * clock, an arrival time or a physical range. Each is saturated or refused
 * as its header says, and the machine stays usable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

static enum mmusim_step done_at_once(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

/* mmusim_cpu_spend saturates at MMUSIM_CLOCK_MAX: a spend that would wrap used to run the clock back to near 0. */
static void test_spend_saturates(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    mmusim_cpu_spend(cpu, 1000);
    mmusim_cpu_spend(cpu, UINT64_MAX);
    assert_int_equal(mmusim_cpu_cycles(cpu), MMUSIM_CLOCK_MAX);
    mmusim_cpu_spend(cpu, UINT64_MAX - 5);
    assert_int_equal(mmusim_cpu_cycles(cpu), MMUSIM_CLOCK_MAX);
    assert_int_equal(ts_stats(m, 0).compute_cycles, MMUSIM_CLOCK_MAX);
}

/* An arrival time past MMUSIM_CLOCK_MAX is taken as it; a run with a cycle limit below it returns, the interrupt still pending. */
static void test_irq_at_beyond_clock_max(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    assert_int_equal(mmusim_irq_at(m, 0, UINT64_MAX, done_at_once, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_nmi_at(m, 1, UINT64_MAX - 1, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 1000000, &r), MMUSIM_OK);
    assert_false(r.finished);
    /* With no limit, the CPUs idle up to the arrival and take it: the run ends there. */
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    assert_true(r.end_cycle >= MMUSIM_CLOCK_MAX);
    assert_true(r.end_cycle < MMUSIM_CLOCK_MAX + 1000000);
}

/* mmusim_irq_random: a mean gap above MMUSIM_CLOCK_MAX (whose 2 * mean - 1 wraps) is refused. */
static void test_irq_random_huge_gap_refused(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    assert_int_equal(mmusim_irq_random(m, 0, UINT64_MAX, UINT64_MAX, done_at_once, NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_irq_random(m, 0, MMUSIM_CLOCK_MAX + 1, UINT64_MAX, done_at_once, NULL), MMUSIM_EINVAL);
    /* The largest accepted gap, with no end: one arrival at most before the clock's end. */
    assert_int_equal(mmusim_irq_random(m, 0, MMUSIM_CLOCK_MAX, UINT64_MAX, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    assert_true(r.end_cycle <= MMUSIM_CLOCK_MAX + 1000000);
}

static enum mmusim_step spend_long(mmusim_cpu *cpu, void *arg)
{
    mmusim_cpu_spend(cpu, *(const uint64_t *)arg);
    return MMUSIM_STEP_DONE;
}

/*
 * A random interrupt source on a CPU whose clock jumps far ahead (a step
 * spending 10^15 cycles) resumes from the clock, not from its last arrival:
 * the arrivals it missed merge into one, instead of 10^12 interrupts
 * replayed in the past (the run never ended).
 */
static void test_irq_source_after_clock_jump(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t jump = 1000000000000000ull;
    const uint64_t gap = 1000;
    ts_spawn(m, 0, 0, spend_long, &jump);
    assert_int_equal(mmusim_irq_random(m, 0, gap, jump + 1000000, done_at_once, NULL), MMUSIM_OK);
    struct mmusim_run_result r;
    assert_int_equal(mmusim_machine_run(m, 0, &r), MMUSIM_OK);
    assert_true(r.finished);
    struct mmusim_cpu_stats s = ts_stats(m, 0);
    assert_true(s.irqs > 100);   /* the source went on after the jump, */
    assert_true(s.irqs < 10000); /* at its rate: about 1,000 more */
}

/* Frame of the leaf entry for va in cr3: the page table holding it. */
static uint64_t table_pfn(mmusim_machine *m, uint64_t cr3, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, cr3, va, &info), MMUSIM_OK);
    return info.entry_pa >> 12;
}

/* Frames holding page tables in use are refused by mmusim_frame_free, in both paging modes, and stay as they were. */
static void check_tables_refused(void **state, const char *paging)
{
    const char *kv[] = {"paging", paging, "pse", "0", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t kcr3 = mmusim_kernel_cr3(m);
    uint64_t cr3 = ts_address_space(m, TS_USER_VA, 1, MMUSIM_PAGE_KERNEL | MMUSIM_PTE_US, NULL);
    uint64_t in_use[] = {
        kcr3 >> 12,                                   /* swapper_pg_dir (the PDPT under PAE) */
        cr3 >> 12,                                    /* an address space's directory */
        table_pfn(m, cr3, TS_USER_VA),                /* its user page table */
        table_pfn(m, kcr3, l->pkmap_base),            /* the pkmap table */
        table_pfn(m, kcr3, l->fixaddr_top - 0x1000),  /* a fixmap table */
        table_pfn(m, kcr3, l->page_offset + 0x100000), /* a direct-map table (no PSE) */
    };
    for (unsigned i = 0; i < sizeof(in_use) / sizeof(in_use[0]); i++)
        assert_int_equal(mmusim_frame_free(m, in_use[i]), MMUSIM_EPGTABLE);
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, cr3, TS_USER_VA, &info), MMUSIM_OK);
    assert_true(info.present);
    /* Once the address space is destroyed its frames are free already: not allocated. */
    uint64_t user_table = table_pfn(m, cr3, TS_USER_VA);
    assert_int_equal(mmusim_pgd_destroy(m, cr3), MMUSIM_OK);
    assert_int_equal(mmusim_frame_free(m, user_table), MMUSIM_EFRAME);
    /* A frame that holds no table is freed as before. */
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_frame_free(m, pfn), MMUSIM_OK);
}

static void test_frame_free_refuses_tables_2level(void **state)
{
    check_tables_refused(state, "2level");
}

static void test_frame_free_refuses_tables_pae(void **state)
{
    check_tables_refused(state, "pae");
}

/* A large page in 2-level paging needs PSE: without it mmusim_pt_map refuses it; PAE's 2 MiB pages need nothing. */
static void test_large_page_needs_pse(void **state)
{
    const char *nopse[] = {"pse", "0", NULL};
    mmusim_machine *m = ts_machine(state, 1, nopse);
    uint64_t cr3 = ts_address_space(m, TS_USER_VA, 0, 0, NULL);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x40000000u, 0x400000u, MMUSIM_PAGE_LARGE, MMUSIM_PAGE_KERNEL),
                     MMUSIM_EPAGESIZE);
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, cr3, 0x40000000u, &info), MMUSIM_ENOTMAPPED);
    const char *pse[] = {"pse", "1", NULL};
    m = ts_machine(state, 1, pse);
    cr3 = ts_address_space(m, TS_USER_VA, 0, 0, NULL);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x40000000u, 0x400000u, MMUSIM_PAGE_LARGE, MMUSIM_PAGE_KERNEL), MMUSIM_OK);
    const char *pae[] = {"paging", "pae", "pse", "0", NULL};
    m = ts_machine(state, 1, pae);
    cr3 = ts_address_space(m, TS_USER_VA, 0, 0, NULL);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x40000000u, 0x200000u, MMUSIM_PAGE_LARGE, MMUSIM_PAGE_KERNEL), MMUSIM_OK);
}

/* Physical ranges whose end wraps 2^64 or passes the end of RAM are MMUSIM_EPHYS, nothing read or written. */
static void test_phys_range_wraps(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t ram = mmusim_machine_config(m)->mem_bytes;
    uint8_t buf[16] = {0};
    assert_int_equal(mmusim_phys_write(m, 0x200000, buf, SIZE_MAX), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read(m, 0x200000, buf, SIZE_MAX - 0x1000), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write(m, UINT64_MAX - 7, buf, 16), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read(m, ram - 8, buf, 16), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write32(m, ram, 1), MMUSIM_EPHYS);
    uint32_t v;
    assert_int_equal(mmusim_phys_read32(m, UINT64_MAX - 3, &v), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read(m, ram - 16, buf, 16), MMUSIM_OK);
}

/*
 * preempt_count nested towards the top of its field: the DEBUG_PREEMPT
 * check of add_preempt_count (2.6.18 kernel/sched.c) and preempt_count_add
 * (5.11 kernel/sched/core.c) warns once when the preemption bits reach
 * PREEMPT_MASK - 10 (245 of 255), and the count goes on as the kernel's
 * does. A kmap_atomic there takes its general path and warns the same way.
 */
static void test_preempt_count_overflow_warns_once(void **state)
{
    const char *const kv[] = {"era", "2.6.37", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    const unsigned mask = mmusim_machine_layout(m)->preempt_bits.preempt_mask;
    for (unsigned i = 0; i < mask - 11; i++)
        mmusim_preempt_disable(cpu);
    assert_int_equal(ts_nreports(m), 0);
    mmusim_kmap_layer *k;
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_STACK_2_6_37);
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    struct mmusim_kaddr a;
    assert_int_equal(mmusim_kmap_atomic(cpu, k, mmusim_page_of_pfn(m, pfn), MMUSIM_KM_USER0, &a), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_preempt_count(cpu) & mask, mask - 10);
    struct mmusim_report r;
    assert_int_equal(mmusim_machine_reports(m, &r, 1), 1);
    assert_int_equal(r.kind, MMUSIM_REPORT_WARN);
    assert_non_null(strstr(r.what, "preempt_count overflowing"));
    mmusim_preempt_disable(cpu); /* once per machine, as debug_locks_off makes it */
    assert_int_equal(ts_nreports(m), 1);
    assert_int_equal(mmusim_kunmap_atomic(cpu, k, a, MMUSIM_KM_USER0), MMUSIM_OK);
    for (unsigned i = 0; i < mask - 10; i++)
        mmusim_preempt_enable(cpu);
    assert_int_equal(mmusim_cpu_preempt_count(cpu), 0);
}

/* The user flushes of an address space refuse a CR3 that is none (no mm to flush). */
static void test_flush_of_no_address_space(void **state)
{
    mmusim_machine *m = ts_machine(state, 2, NULL);
    uint64_t cr3 = ts_address_space(m, 0x08048000u, 1, MMUSIM_PTE_RW | MMUSIM_PTE_US, NULL);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    assert_int_equal(mmusim_flush_tlb_page_smp(cpu, cr3 + 0x1000, 0x08048000u), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_flush_tlb_range_smp(cpu, cr3 + 0x1000, 0, 0), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_flush_tlb_range_smp(cpu, mmusim_kernel_cr3(m) ^ 0x40000000u, 0x1000, 0x3000),
                     MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_mm_cpu_mask(m, cr3 + 0x1000), 0);
    assert_int_equal(ts_clock(m, 0), 0); /* nothing charged */
    /* The address space itself passes the check (outside a run, the flush then wants a step). */
    assert_int_equal(mmusim_flush_tlb_page_smp(cpu, cr3, 0x08048000u), MMUSIM_ENOSTEP);
}

/*
 * An entry written raw may name a frame its caller allocated for data as a
 * page table; destroying the address space gives back only the tables the
 * library made, never that frame (it stays its owner's, allocated).
 */
static void check_destroy_keeps_raw_frame(void **state, const char *paging)
{
    const char *kv[] = {"paging", paging, NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    uint64_t cr3, data;
    assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &data), MMUSIM_OK);
    /* The PDE of a user address names the data frame as its page table (no PS: not a large page). */
    uint64_t pde = (data << 12) | MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_US;
    assert_int_equal(mmusim_pt_set_raw(m, cr3, 0x40000000u, MMUSIM_PAGE_LARGE, pde), MMUSIM_OK);
    uint64_t before = mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL);
    assert_int_equal(mmusim_pgd_destroy(m, cr3), MMUSIM_OK);
    /* The directory (and, under PAE, its page directories) came back; the data frame did not. */
    assert_true(mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL) > before);
    assert_int_equal(mmusim_frame_free(m, data), MMUSIM_OK);
}

static void test_destroy_keeps_raw_frame_2level(void **state)
{
    check_destroy_keeps_raw_frame(state, "2level");
}

static void test_destroy_keeps_raw_frame_pae(void **state)
{
    check_destroy_keeps_raw_frame(state, "pae");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_spend_saturates),
        TS_TEST(test_irq_at_beyond_clock_max),
        TS_TEST(test_irq_random_huge_gap_refused),
        TS_TEST(test_irq_source_after_clock_jump),
        TS_TEST(test_frame_free_refuses_tables_2level),
        TS_TEST(test_frame_free_refuses_tables_pae),
        TS_TEST(test_large_page_needs_pse),
        TS_TEST(test_phys_range_wraps),
        TS_TEST(test_preempt_count_overflow_warns_once),
        TS_TEST(test_flush_of_no_address_space),
        TS_TEST(test_destroy_keeps_raw_frame_2level),
        TS_TEST(test_destroy_keeps_raw_frame_pae),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
