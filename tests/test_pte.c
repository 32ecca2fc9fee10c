/*
 * Kernel stores to page-table entries by a CPU (include/mmusim/pte.h):
 * mmusim_set_pte, mmusim_pte_clear and the record of their last writer,
 * against Linux's set_pte / pte_clear (linux-highmem.md §1.7: PAE halves,
 * high then low for set_pte, low then high for pte_clear; no flush inside
 * either, the caller flushes) and the coherence checker of docs/tlb.md §7.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mmusim.h"

#define GIB (1024ull * 1024 * 1024)

/* A pte_write no preset has, so the charge is this field and nothing else. */
#define PTE_WRITE_COST 7u

struct fx {
    mmusim_machine *m;
    mmusim_cpu *c0, *c1;
    const struct mmusim_layout *l;
    int pae;
    uint32_t va;   /* pkmap entry 0: its table exists from boot */
    uint64_t a, b; /* two highmem frames */
};

static struct fx *fx_new(int pae)
{
    struct mmusim_config cfg;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "paging", pae ? "pae" : "2level"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "mem", pae ? "8G" : "1G"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "2"), MMUSIM_OK);
    if (pae)
        assert_int_equal(mmusim_config_set(&cfg, "nx", "1"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "cost.pte_write", "7"), MMUSIM_OK);
    assert_int_equal(mmusim_machine_create(&cfg, &f->m), MMUSIM_OK);
    f->c0 = mmusim_machine_cpu(f->m, 0);
    f->c1 = mmusim_machine_cpu(f->m, 1);
    f->l = mmusim_machine_layout(f->m);
    f->pae = pae;
    f->va = mmusim_pkmap_addr(f->l, 0);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    f->a = pfn << 12;
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    f->b = pfn << 12;
    return f;
}

static int setup_2level(void **state)
{
    *state = fx_new(0);
    return 0;
}

static int setup_pae(void **state)
{
    *state = fx_new(1);
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mmusim_machine_destroy(f->m);
    free(f);
    return 0;
}

static struct mmusim_pte_info entry(struct fx *f, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(f->m, mmusim_kernel_cr3(f->m), va, &info), MMUSIM_OK);
    return info;
}

static void writer(struct fx *f, uint32_t va, unsigned *cpu, uint64_t *cycle)
{
    assert_int_equal(mmusim_pte_last_writer(f->m, va, cpu, cycle), MMUSIM_OK);
}

/* ---- the store hook ---- */

static struct {
    uint64_t pa;
    uint32_t v;
} log_[8];
static unsigned nlog;

static void log_store(void *ctx, uint64_t pa, uint32_t v)
{
    (void)ctx;
    if (nlog < 8)
        log_[nlog].pa = pa, log_[nlog].v = v;
    nlog++;
}

/* ---- overwrite, old value ---- */

static void test_set_pte_overwrites_and_returns_old(void **state)
{
    struct fx *f = *state;
    uint64_t flags = MMUSIM_PAGE_KERNEL, old = 0xdead;
    /* The pkmap table is preallocated and empty. */
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, flags, &old), MMUSIM_OK);
    assert_int_equal(old, 0);
    assert_int_equal(entry(f, f->va).raw, f->a | flags | MMUSIM_PTE_P);
    /* Present already: overwritten, no "already mapped" refusal. */
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | MMUSIM_PTE_G, &old), MMUSIM_OK);
    assert_int_equal(old, f->a | flags | MMUSIM_PTE_P);
    assert_int_equal(entry(f, f->va).raw, f->b | flags | MMUSIM_PTE_G | MMUSIM_PTE_P);
    /* A fresh walk (no TLB involved) sees the new frame. */
    struct mmusim_walk w;
    assert_int_equal(mmusim_cpu_walk(f->c1, f->va + 0x10, MMUSIM_ACC_READ, &w), MMUSIM_OK);
    assert_int_equal(w.fault, 0);
    assert_int_equal(w.pa, f->b + 0x10);
    /* old may be NULL. */
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, flags, NULL), MMUSIM_OK);
    /* pte_clear: any address inside the page; returns the entry it cleared. */
    assert_int_equal(mmusim_pte_clear(f->c1, f->va + 0x123, &old), MMUSIM_OK);
    assert_int_equal(old, f->a | flags | MMUSIM_PTE_P);
    assert_int_equal(entry(f, f->va).raw, 0);
    /* Clearing a clear entry is a store like any other. */
    assert_int_equal(mmusim_pte_clear(f->c1, f->va, &old), MMUSIM_OK);
    assert_int_equal(old, 0);
    assert_int_equal(mmusim_pte_clear(f->c1, f->va, NULL), MMUSIM_OK);
    /* A kmap_atomic slot of the fixmap: its table is preallocated too. */
    uint32_t slot = mmusim_kmap_slot_vaddr(f->l, 0);
    assert_int_equal(mmusim_set_pte(f->c1, slot, f->b, flags, &old), MMUSIM_OK);
    assert_int_equal(old, 0);
    assert_int_equal(entry(f, slot).raw, f->b | flags | MMUSIM_PTE_P);
    /* Kernel tables are shared: a user address space sees the same entry. */
    uint64_t cr3;
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pgd_create(f->m, &cr3), MMUSIM_OK);
    assert_int_equal(mmusim_pt_get(f->m, cr3, slot, &info), MMUSIM_OK);
    assert_int_equal(info.entry_pa, entry(f, slot).entry_pa);
    assert_int_equal(info.raw, f->b | flags | MMUSIM_PTE_P);
}

/* PAE: a frame above 4 GiB and NX fill the high half; old comes back whole. */
static void test_pae_set_pte_high_frame_and_nx(void **state)
{
    struct fx *f = *state;
    uint64_t hi = 5 * GIB, flags = MMUSIM_PAGE_KERNEL | MMUSIM_PTE_NX, old;
    assert_int_equal(mmusim_set_pte(f->c0, f->va, hi, flags, &old), MMUSIM_OK);
    assert_int_equal(old, 0);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, MMUSIM_PAGE_KERNEL, &old), MMUSIM_OK);
    assert_int_equal(old, hi | flags | MMUSIM_PTE_P);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, hi, flags, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_pte_clear(f->c0, f->va, &old), MMUSIM_OK);
    assert_int_equal(old, hi | flags | MMUSIM_PTE_P);
}

/* ---- store order ---- */

static void test_pae_store_order(void **state)
{
    struct fx *f = *state;
    uint64_t hi = 5 * GIB, e = entry(f, f->va).entry_pa;
    nlog = 0;
    mmusim_machine_set_store_hook(f->m, log_store, NULL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, hi, MMUSIM_PAGE_KERNEL | MMUSIM_PTE_NX, NULL), MMUSIM_OK);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0].pa, e + 4); /* set_pte: high half first (frame 35:32, NX) */
    assert_int_equal(log_[0].v, 0x80000001u);
    assert_int_equal(log_[1].pa, e);     /* then the low half, which holds P */
    assert_int_equal(log_[1].v, (uint32_t)(hi | MMUSIM_PAGE_KERNEL | MMUSIM_PTE_P));
    nlog = 0;
    assert_int_equal(mmusim_pte_clear(f->c0, f->va, NULL), MMUSIM_OK);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0].pa, e);     /* pte_clear: low half (P) first */
    assert_int_equal(log_[0].v, 0);
    assert_int_equal(log_[1].pa, e + 4); /* then the high half */
    assert_int_equal(log_[1].v, 0);
    mmusim_machine_set_store_hook(f->m, NULL, NULL);
}

static void test_2level_one_store(void **state)
{
    struct fx *f = *state;
    uint64_t e = entry(f, f->va).entry_pa;
    nlog = 0;
    mmusim_machine_set_store_hook(f->m, log_store, NULL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(nlog, 1);
    assert_int_equal(log_[0].pa, e);
    assert_int_equal(log_[0].v, (uint32_t)(f->a | MMUSIM_PAGE_KERNEL | MMUSIM_PTE_P));
    nlog = 0;
    assert_int_equal(mmusim_pte_clear(f->c0, f->va, NULL), MMUSIM_OK);
    assert_int_equal(nlog, 1);
    assert_int_equal(log_[0].pa, e);
    assert_int_equal(log_[0].v, 0);
    mmusim_machine_set_store_hook(f->m, NULL, NULL);
}

/* ---- clock and counters ---- */

static void test_clock_and_counters(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_stats s0, s1, want, total;
    mmusim_cpu_stats(f->c0, &want);
    uint64_t t0 = mmusim_cpu_cycles(f->c0), t1 = mmusim_cpu_cycles(f->c1);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_cycles(f->c0), t0 + PTE_WRITE_COST);
    assert_int_equal(mmusim_pte_clear(f->c0, f->va, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_cycles(f->c0), t0 + 2 * PTE_WRITE_COST);
    /* Exactly these two counters moved: no flush, no walk, nothing else. */
    want.pte_writes += 2;
    want.pte_write_cycles += 2 * PTE_WRITE_COST;
    mmusim_cpu_stats(f->c0, &s0);
    assert_memory_equal(&s0, &want, sizeof(want));
    /* The other CPU is not charged. */
    assert_int_equal(mmusim_cpu_cycles(f->c1), t1);
    mmusim_cpu_stats(f->c1, &s1);
    assert_int_equal(s1.pte_writes, 0);
    /* Machine totals sum the CPUs. */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->b, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_cycles(f->c1), t1 + PTE_WRITE_COST);
    mmusim_machine_stats(f->m, &total);
    assert_int_equal(total.pte_writes, 3);
    assert_int_equal(total.pte_write_cycles, 3 * PTE_WRITE_COST);
    mmusim_cpu_stats_reset(f->c0);
    mmusim_cpu_stats(f->c0, &s0);
    assert_int_equal(s0.pte_writes, 0);
    assert_int_equal(s0.pte_write_cycles, 0);
}

/* ---- no flush: the stale entry is used, and the checker names the writer ---- */

static struct mmusim_access read_at(mmusim_cpu *cpu, uint32_t va, uint32_t *data)
{
    struct mmusim_access a;
    assert_int_equal(mmusim_cpu_access(cpu, va, MMUSIM_ACC_READ, 4, data, &a), MMUSIM_OK);
    assert_int_equal(a.fault, 0);
    return a;
}

static void test_no_flush_stale_entry_reported_with_writer(void **state)
{
    struct fx *f = *state;
    uint32_t in_a = 0xaaaa0001u, in_b = 0xbbbb0002u, got = 0;
    assert_int_equal(mmusim_phys_write32(f->m, f->a, in_a), MMUSIM_OK);
    assert_int_equal(mmusim_phys_write32(f->m, f->b, in_b), MMUSIM_OK);
    mmusim_machine_set_coherence_check(f->m, 1);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    /* Both CPUs cache va -> a. */
    assert_int_equal(read_at(f->c1, f->va, &got).walked, 1);
    assert_int_equal(read_at(f->c0, f->va, &got).walked, 1);
    assert_int_equal(read_at(f->c1, f->va, &got).walked, 0);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 0);

    /* CPU 0 remaps va to b, and flushes nothing. */
    mmusim_cpu_spend(f->c0, 1000); /* so the writer's clock is not the other CPU's */
    uint64_t when = mmusim_cpu_cycles(f->c0);
    struct mmusim_tlb_stats before0, before1, after;
    assert_int_equal(mmusim_cpu_tlb_stats(f->c0, MMUSIM_TLB_DTLB_4K, &before0), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c1, MMUSIM_TLB_DTLB_4K, &before1), MMUSIM_OK);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c0, MMUSIM_TLB_DTLB_4K, &after), MMUSIM_OK);
    assert_int_equal(after.dropped, before0.dropped);
    assert_int_equal(after.valid, before0.valid);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c1, MMUSIM_TLB_DTLB_4K, &after), MMUSIM_OK);
    assert_int_equal(after.dropped, before1.dropped);
    assert_int_equal(after.valid, before1.valid);

    /* CPU 1 still hits the old entry and really reads the old frame. */
    uint64_t at1 = mmusim_cpu_cycles(f->c1);
    struct mmusim_access a = read_at(f->c1, f->va + 8, &got);
    assert_int_equal(a.walked, 0);
    assert_int_equal(a.pa, f->a + 8);
    got = 0;
    a = read_at(f->c1, f->va, &got);
    assert_int_equal(got, in_a);
    /* So does the writer itself, until it flushes. */
    a = read_at(f->c0, f->va, &got);
    assert_int_equal(a.pa, f->a);

    struct mmusim_coherence_violation v[4];
    assert_int_equal(mmusim_machine_coherence_violations(f->m, v, 4), 3);
    assert_int_equal(v[0].cpu, 1);
    assert_int_equal(v[0].va, f->va + 8);
    assert_int_equal(v[0].cycle, at1);
    assert_int_equal(v[0].stale_pa, f->a);
    assert_int_equal(v[0].current_pa, f->b);
    assert_int_equal(v[0].current_present, 1);
    assert_int_equal(v[0].leaf_pa, entry(f, f->va).entry_pa);
    assert_int_equal(v[0].writer_cpu, 0);
    assert_int_equal(v[0].written_at, when);
    assert_int_equal(v[2].cpu, 0);
    assert_int_equal(v[2].writer_cpu, 0);
    assert_int_equal(v[2].written_at, when);

    /* A pte_clear by CPU 1 makes it the writer of a not-present entry. */
    mmusim_cpu_spend(f->c1, 500);
    uint64_t when1 = mmusim_cpu_cycles(f->c1);
    assert_int_equal(mmusim_pte_clear(f->c1, f->va, NULL), MMUSIM_OK);
    mmusim_machine_coherence_reset(f->m);
    (void)read_at(f->c0, f->va, &got);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, v, 4), 1);
    assert_int_equal(v[0].current_present, 0);
    assert_int_equal(v[0].writer_cpu, 1);
    assert_int_equal(v[0].written_at, when1);

    /* After the caller's flush, a walk finds b and the checker is quiet. */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->b, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    mmusim_machine_coherence_reset(f->m);
    (void)mmusim_flush_tlb_one(f->c1, f->va);
    a = read_at(f->c1, f->va, &got);
    assert_int_equal(a.walked, 1);
    assert_int_equal(a.pa, f->b);
    assert_int_equal(got, in_b);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 0), 0);
}

/* An entry last written by the machine's own calls names no CPU. */
static void test_violation_without_cpu_writer(void **state)
{
    struct fx *f = *state;
    uint64_t k = mmusim_kernel_cr3(f->m);
    unsigned cpu;
    uint64_t cycle;
    uint32_t got;
    mmusim_machine_set_coherence_check(f->m, 1);
    /* A CPU wrote it first... */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    (void)read_at(f->c0, f->va, &got);
    /* ...then the machine rewrote it: the record is forgotten. */
    assert_int_equal(mmusim_pt_unmap(f->m, k, f->va), MMUSIM_OK);
    writer(f, f->va, &cpu, &cycle);
    assert_int_equal(cpu, MMUSIM_NO_WRITER);
    assert_int_equal(cycle, 0);
    assert_int_equal(mmusim_pt_map(f->m, k, f->va, f->b, MMUSIM_PAGE_4K, MMUSIM_PAGE_KERNEL), MMUSIM_OK);
    (void)read_at(f->c0, f->va, &got);
    struct mmusim_coherence_violation v[2];
    assert_int_equal(mmusim_machine_coherence_violations(f->m, v, 2), 1);
    assert_int_equal(v[0].stale_pa, f->a);
    assert_int_equal(v[0].current_pa, f->b);
    assert_int_equal(v[0].writer_cpu, MMUSIM_NO_WRITER);
    assert_int_equal(v[0].written_at, 0);
    /* pt_protect and pt_set_raw forget too. */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_pt_protect(f->m, k, f->va, MMUSIM_PTE_A), MMUSIM_OK);
    writer(f, f->va, &cpu, NULL);
    assert_int_equal(cpu, MMUSIM_NO_WRITER);
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_pt_set_raw(f->m, k, f->va, MMUSIM_PAGE_4K, 0), MMUSIM_OK);
    writer(f, f->va, &cpu, NULL);
    assert_int_equal(cpu, MMUSIM_NO_WRITER);
    /* A refused machine call forgets nothing. */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(f->m, k, f->va, f->b, MMUSIM_PAGE_4K, MMUSIM_PAGE_KERNEL), MMUSIM_EMAPPED);
    writer(f, f->va, &cpu, NULL);
    assert_int_equal(cpu, 1);
}

/* ---- mmusim_pte_last_writer ---- */

static void test_last_writer(void **state)
{
    struct fx *f = *state;
    unsigned cpu = 7;
    uint64_t cycle = 7;
    writer(f, f->va, &cpu, &cycle);
    assert_int_equal(cpu, MMUSIM_NO_WRITER);
    assert_int_equal(cycle, 0);
    mmusim_cpu_spend(f->c1, 300);
    uint64_t t1 = mmusim_cpu_cycles(f->c1);
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    writer(f, f->va + 0xfff, &cpu, &cycle); /* any address in the page */
    assert_int_equal(cpu, 1);
    assert_int_equal(cycle, t1); /* the clock when the store began */
    uint64_t t0 = mmusim_cpu_cycles(f->c0);
    assert_int_equal(mmusim_pte_clear(f->c0, f->va, NULL), MMUSIM_OK);
    writer(f, f->va, &cpu, &cycle);
    assert_int_equal(cpu, 0);
    assert_int_equal(cycle, t0);
    /* The neighbour entry has its own record. */
    writer(f, f->va + 0x1000, &cpu, &cycle);
    assert_int_equal(cpu, MMUSIM_NO_WRITER);
    writer(f, f->va, NULL, NULL);
    /* Refusals. */
    assert_int_equal(mmusim_pte_last_writer(NULL, f->va, &cpu, &cycle), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_last_writer(f->m, 0x1000u, &cpu, &cycle), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_last_writer(f->m, f->l->page_offset, &cpu, &cycle), MMUSIM_ELARGE);
    assert_int_equal(mmusim_pte_last_writer(f->m, f->l->vmalloc_start, &cpu, &cycle), MMUSIM_ENOTMAPPED);
}

/* ---- refusals change nothing ---- */

struct snap {
    uint64_t raw, raw_direct;
    uint64_t c0, c1;
    struct mmusim_cpu_stats total;
    unsigned writer;
    uint64_t written_at;
};

static struct snap snap_of(struct fx *f)
{
    struct snap s;
    memset(&s, 0, sizeof(s));
    s.raw = entry(f, f->va).raw;
    s.raw_direct = entry(f, f->l->page_offset).raw;
    s.c0 = mmusim_cpu_cycles(f->c0);
    s.c1 = mmusim_cpu_cycles(f->c1);
    mmusim_machine_stats(f->m, &s.total);
    writer(f, f->va, &s.writer, &s.written_at);
    return s;
}

static void test_2level_refusals_change_nothing(void **state)
{
    struct fx *f = *state;
    uint32_t user = f->l->page_offset - 0x1000u, none = f->l->vmalloc_start, large = f->l->page_offset;
    uint64_t ram = mmusim_machine_config(f->m)->mem_bytes, flags = MMUSIM_PAGE_KERNEL, old = 0x5555;
    struct mmusim_pte_info info;
    /* The addresses are what they claim to be. */
    assert_int_equal(mmusim_pt_get(f->m, mmusim_kernel_cr3(f->m), none, &info), MMUSIM_ENOTMAPPED);
    assert_int_equal(entry(f, large).size, MMUSIM_PAGE_LARGE);
    /* A present entry, written by CPU 1, that no refusal may touch. */
    assert_int_equal(mmusim_set_pte(f->c1, f->va, f->a, flags, NULL), MMUSIM_OK);
    struct snap before = snap_of(f);
    nlog = 0;
    mmusim_machine_set_store_hook(f->m, log_store, NULL);

    assert_int_equal(mmusim_set_pte(NULL, f->va, f->b, flags, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_clear(NULL, f->va, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, user, f->b, flags, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, 0x1000u, f->b, flags, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_clear(f->c0, user, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, none, f->b, flags, &old), MMUSIM_ENOTMAPPED);
    assert_int_equal(mmusim_pte_clear(f->c0, none, &old), MMUSIM_ENOTMAPPED);
    assert_int_equal(mmusim_set_pte(f->c0, large, f->b, flags, &old), MMUSIM_ELARGE);
    assert_int_equal(mmusim_set_pte(f->c0, large + 0x5000u, f->b, flags, &old), MMUSIM_ELARGE);
    assert_int_equal(mmusim_pte_clear(f->c0, large, &old), MMUSIM_ELARGE);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | MMUSIM_PTE_PS, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | 0x200u, &old), MMUSIM_EINVAL); /* AVL */
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | (1ull << 40), &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | MMUSIM_PTE_NX, &old), MMUSIM_EFEATURE);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, ram, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, ram + 0x100000, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, 0xfffffffffffff000ull, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b + 0x10, flags, &old), MMUSIM_EALIGN);
    assert_int_equal(mmusim_set_pte(f->c0, f->va + 4, f->b, flags, &old), MMUSIM_EALIGN);

    mmusim_machine_set_store_hook(f->m, NULL, NULL);
    assert_int_equal(nlog, 0);
    assert_int_equal(old, 0x5555);
    struct snap after = snap_of(f);
    assert_int_equal(after.raw, before.raw);
    assert_int_equal(after.raw_direct, before.raw_direct);
    assert_int_equal(after.c0, before.c0);
    assert_int_equal(after.c1, before.c1);
    assert_memory_equal(&after.total, &before.total, sizeof(before.total));
    assert_int_equal(after.writer, 1);
    assert_int_equal(after.writer, before.writer);
    assert_int_equal(after.written_at, before.written_at);
}

/* The same refusals under PAE, where NX is accepted (it is not tried here) and RAM is 8 GiB. */
static void test_pae_refusals_change_nothing(void **state)
{
    struct fx *f = *state;
    uint32_t user = f->l->page_offset - 0x1000u, none = f->l->vmalloc_start, large = f->l->page_offset;
    uint64_t ram = mmusim_machine_config(f->m)->mem_bytes, flags = MMUSIM_PAGE_KERNEL, old = 0x5555;
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(f->m, mmusim_kernel_cr3(f->m), none, &info), MMUSIM_ENOTMAPPED);
    assert_int_equal(entry(f, large).size, MMUSIM_PAGE_LARGE);
    assert_int_equal(mmusim_set_pte(f->c1, f->va, 5 * GIB, flags | MMUSIM_PTE_NX, NULL), MMUSIM_OK);
    struct snap before = snap_of(f);
    nlog = 0;
    mmusim_machine_set_store_hook(f->m, log_store, NULL);

    assert_int_equal(mmusim_set_pte(NULL, f->va, f->b, flags, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_clear(NULL, f->va, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, user, f->b, flags, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_pte_clear(f->c0, user, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, none, f->b, flags, &old), MMUSIM_ENOTMAPPED);
    assert_int_equal(mmusim_pte_clear(f->c0, none, &old), MMUSIM_ENOTMAPPED);
    assert_int_equal(mmusim_set_pte(f->c0, large, f->b, flags, &old), MMUSIM_ELARGE);
    assert_int_equal(mmusim_pte_clear(f->c0, large, &old), MMUSIM_ELARGE);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | MMUSIM_PTE_PS, &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b, flags | (1ull << 40), &old), MMUSIM_EINVAL);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, ram, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, 1ull << 36, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, 0xfffffffffffff000ull, flags, &old), MMUSIM_EPHYS);
    assert_int_equal(mmusim_set_pte(f->c0, f->va, f->b + 0x10, flags, &old), MMUSIM_EALIGN);
    assert_int_equal(mmusim_set_pte(f->c0, f->va + 4, f->b, flags, &old), MMUSIM_EALIGN);

    mmusim_machine_set_store_hook(f->m, NULL, NULL);
    assert_int_equal(nlog, 0);
    assert_int_equal(old, 0x5555);
    struct snap after = snap_of(f);
    assert_int_equal(after.raw, before.raw);
    assert_int_equal(after.raw_direct, before.raw_direct);
    assert_int_equal(after.c0, before.c0);
    assert_int_equal(after.c1, before.c1);
    assert_memory_equal(&after.total, &before.total, sizeof(before.total));
    assert_int_equal(after.writer, 1);
    assert_int_equal(after.written_at, before.written_at);
}

/* ---- the record grows, forgets, and is freed with the machine ---- */

static void test_record_grows_and_forgets(void **state)
{
    struct fx *f = *state;
    uint64_t k = mmusim_kernel_cr3(f->m);
    uint32_t n = f->l->last_pkmap;
    uint64_t *at = calloc(n, sizeof(*at));
    assert_non_null(at);
    /* Every pkmap entry, by alternating CPUs: the record grows well past its first size. */
    for (uint32_t i = 0; i < n; i++) {
        mmusim_cpu *c = (i & 1) ? f->c1 : f->c0;
        at[i] = mmusim_cpu_cycles(c);
        assert_int_equal(mmusim_set_pte(c, mmusim_pkmap_addr(f->l, i), f->a, MMUSIM_PAGE_KERNEL, NULL), MMUSIM_OK);
    }
    for (uint32_t i = 0; i < n; i++) {
        unsigned cpu;
        uint64_t cycle;
        writer(f, mmusim_pkmap_addr(f->l, i), &cpu, &cycle);
        assert_int_equal(cpu, i & 1);
        assert_int_equal(cycle, at[i]);
    }
    /* Forget every third (the machine unmaps them); the rest must still be found. */
    for (uint32_t i = 0; i < n; i += 3)
        assert_int_equal(mmusim_pt_unmap(f->m, k, mmusim_pkmap_addr(f->l, i)), MMUSIM_OK);
    for (uint32_t i = 0; i < n; i++) {
        unsigned cpu;
        uint64_t cycle;
        writer(f, mmusim_pkmap_addr(f->l, i), &cpu, &cycle);
        assert_int_equal(cpu, i % 3 == 0 ? MMUSIM_NO_WRITER : (i & 1));
        assert_int_equal(cycle, i % 3 == 0 ? 0 : at[i]);
    }
    /* Written again, found again. */
    for (uint32_t i = 0; i < n; i += 3) {
        at[i] = mmusim_cpu_cycles(f->c1);
        assert_int_equal(mmusim_pte_clear(f->c1, mmusim_pkmap_addr(f->l, i), NULL), MMUSIM_OK);
    }
    for (uint32_t i = 0; i < n; i++) {
        unsigned cpu;
        uint64_t cycle;
        writer(f, mmusim_pkmap_addr(f->l, i), &cpu, &cycle);
        assert_int_equal(cpu, i % 3 == 0 ? 1 : (i & 1));
        assert_int_equal(cycle, at[i]);
    }
    free(at);
}

/* One test body on both paging modes, named NAME_2level and NAME_pae. */
#define BOTH_MODES(fn) {#fn "_2level", fn, setup_2level, teardown, NULL}, {#fn "_pae", fn, setup_pae, teardown, NULL}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_MODES(test_set_pte_overwrites_and_returns_old),
        cmocka_unit_test_setup_teardown(test_pae_set_pte_high_frame_and_nx, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_pae_store_order, setup_pae, teardown),
        cmocka_unit_test_setup_teardown(test_2level_one_store, setup_2level, teardown),
        BOTH_MODES(test_clock_and_counters),
        BOTH_MODES(test_no_flush_stale_entry_reported_with_writer),
        BOTH_MODES(test_violation_without_cpu_writer),
        BOTH_MODES(test_last_writer),
        cmocka_unit_test_setup_teardown(test_2level_refusals_change_nothing, setup_2level, teardown),
        cmocka_unit_test_setup_teardown(test_pae_refusals_change_nothing, setup_pae, teardown),
        BOTH_MODES(test_record_grows_and_forgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
