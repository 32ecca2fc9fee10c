/*
 * kmap_atomic and kunmap_atomic in the slot forms of 2.6.19 (flush at map)
 * and 2.6.36 (clear and flush at unmap) and the stack form of 2.6.37
 * (include/mmusim/kmap.h). Every count asserted here is one of
 * ../shared/docs/linux-highmem.md §7 (the table "Flush counts per
 * operation"), and every misuse one of §3, §4 and §8; each is derived in its
 * comment from the kernel function it follows:
 *
 *   slot-2.6.19   2.6.18 arch/i386/mm/highmem.c: kmap_atomic, kunmap_atomic,
 *                 kmap_atomic_pfn, kmap_atomic_to_page;
 *                 include/asm-i386/kmap_types.h (13 km_types; with
 *                 DEBUG_HIGHMEM a __KM_FENCE_n before each: slot 2 type + 1)
 *   slot-2.6.36   2.6.32 arch/x86/mm/highmem_32.c: kmap_atomic_prot,
 *                 kunmap_atomic, kmap_atomic_to_page; arch/x86/mm/iomap_32.c:
 *                 kmap_atomic_prot_pfn; mm/highmem.c: debug_kmap_atomic;
 *                 include/asm-generic/kmap_types.h (19 km_types, KMAP_D fences)
 *   stack-2.6.37  2.6.37 arch/x86/mm/highmem_32.c: kmap_atomic_prot,
 *                 __kunmap_atomic; arch/x86/mm/iomap_32.c:
 *                 kmap_atomic_prot_pfn; include/linux/highmem.h:
 *                 kmap_atomic_idx_push, kmap_atomic_idx, kmap_atomic_idx_pop;
 *                 and commit 20273941f212 ("mm: fix race in kunmap_atomic()")
 *
 * Each machine runs the era of its variant (2.6.18, 2.6.32, 2.6.37), so its
 * fixmap has that era's KM_TYPE_NR slots per CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

/* ---- fixtures ---- */

/* The era whose kernel each variant comes from (its km_types, its KM_TYPE_NR). */
static const char *era_of(enum mmusim_kmap_variant v)
{
    if (v == MMUSIM_KMAP_SLOT_2_6_19)
        return "2.6.18";
    if (v == MMUSIM_KMAP_SLOT_2_6_36)
        return "2.6.32";
    return "2.6.37";
}

struct env {
    enum mmusim_kmap_variant v;
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    mmusim_cpu *cpu; /* CPU 0 */
    const struct mmusim_layout *l;
    int debug;
};

/* A machine of v's era with ncpus CPUs and debug_highmem as given, and its kmap layer (opts may be NULL). */
static void env_make(void **state, struct env *e, enum mmusim_kmap_variant v, int debug, unsigned ncpus,
                     const struct mmusim_kmap_opts *opts)
{
    const char *const kv[] = {"era", era_of(v), "debug_highmem", debug ? "1" : "0", NULL};
    e->m = ts_machine(state, ncpus, kv);
    struct mmusim_kmap_opts o;
    if (opts)
        o = *opts;
    else
        mmusim_kmap_opts_init(&o, v);
    assert_int_equal(mmusim_kmap_create(e->m, &o, &e->k), MMUSIM_OK);
    e->cpu = ts_cpu(e->m, 0);
    e->l = mmusim_machine_layout(e->m);
    e->debug = debug;
    e->v = v;
}

/* A fresh frame of zone z whose first word is tag (mmusim_phys_write32). */
static struct mmusim_page page_in(struct env *e, enum mmusim_zone z, uint32_t tag)
{
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(e->m, z, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_phys_write32(e->m, pfn << MMUSIM_PAGE_SHIFT, tag), MMUSIM_OK);
    struct mmusim_page p = mmusim_page_of_pfn(e->m, pfn);
    assert_int_equal(p.zone, z);
    return p;
}

static struct mmusim_page hpage(struct env *e, uint32_t tag)
{
    return page_in(e, MMUSIM_ZONE_HIGHMEM, tag);
}

/*
 * The fixmap slot of km_type t on CPU cpu: idx = type + KM_TYPE_NR * cpu, with
 * DEBUG_HIGHMEM's fences (D(n) / KMAP_D(n) in kmap_types.h) slot 2 type + 1.
 */
static uint32_t type_va(const struct env *e, unsigned cpu, enum mmusim_km_type t)
{
    uint32_t i = e->debug ? 2u * (uint32_t)t + 1u : (uint32_t)t;
    return mmusim_kmap_slot_vaddr(e->l, mmusim_kmap_idx(e->l, cpu, i));
}

/* The fixmap slot of stack position i on CPU cpu: idx = type + KM_TYPE_NR * cpu, type the position (2.6.37). */
static uint32_t pos_va(const struct env *e, unsigned cpu, uint32_t i)
{
    return mmusim_kmap_slot_vaddr(e->l, mmusim_kmap_idx(e->l, cpu, i));
}

/* Where the first mapping of KM_USER0 on CPU 0 goes: the type's slot, or stack position 0. */
static uint32_t first_va(const struct env *e)
{
    return e->v == MMUSIM_KMAP_STACK_2_6_37 ? pos_va(e, 0, 0) : type_va(e, 0, MMUSIM_KM_USER0);
}

/* The kernel PTE of va (swapper_pg_dir: the kmap PTEs are shared by every address space). */
static struct mmusim_pte_info kpte(const struct env *e, uint32_t va)
{
    struct mmusim_pte_info pi;
    assert_int_equal(mmusim_pt_get(e->m, mmusim_kernel_cr3(e->m), va, &pi), MMUSIM_OK);
    return pi;
}

/* kmap_prot: PAGE_KERNEL, global on a PGE CPU (every preset here has PGE on). */
static uint64_t kmap_prot(void)
{
    return MMUSIM_PAGE_KERNEL | MMUSIM_PTE_G;
}

/* A 4-byte read at va on cpu through its TLB; asserts no fault. */
static uint32_t rd(mmusim_cpu *cpu, uint32_t va)
{
    uint32_t v = 0;
    struct mmusim_access a;
    assert_int_equal(mmusim_cpu_access(cpu, va, MMUSIM_ACC_READ, 4, &v, &a), MMUSIM_OK);
    assert_int_equal(a.fault, 0);
    return v;
}

static struct mmusim_kmap_stats kst(const struct env *e, int cpu)
{
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(e->k, cpu, &s), MMUSIM_OK);
    return s;
}

static struct mmusim_report report(const struct env *e, uint64_t i)
{
    struct mmusim_report r[16];
    uint64_t n = mmusim_machine_reports(e->m, r, 16);
    assert_true(i < n && i < 16);
    return r[i];
}

static void map_ok(struct env *e, mmusim_cpu *cpu, struct mmusim_page p, enum mmusim_km_type t,
                   struct mmusim_kaddr *a)
{
    assert_int_equal(mmusim_kmap_atomic(cpu, e->k, p, t, a), MMUSIM_OK);
}

static void unmap_ok(struct env *e, mmusim_cpu *cpu, struct mmusim_kaddr a, enum mmusim_km_type t)
{
    assert_int_equal(mmusim_kunmap_atomic(cpu, e->k, a, t), MMUSIM_OK);
}

/*
 * The machine is still usable after a misuse: on cpu, with type t, a new
 * highmem page maps, reads its own data, unmaps, and the preemption count
 * comes back to where it was.
 */
static void still_usable(struct env *e, mmusim_cpu *cpu, enum mmusim_km_type t)
{
    unsigned pc = mmusim_cpu_preempt_count(cpu);
    struct mmusim_page p = hpage(e, 0x600d600du);
    struct mmusim_kaddr a;
    map_ok(e, cpu, p, t, &a);
    assert_int_equal(rd(cpu, a.va), 0x600d600du);
    unmap_ok(e, cpu, a, t);
    assert_int_equal(mmusim_cpu_preempt_count(cpu), pc);
}

/* ---- §7: what a pair costs ---- */

/*
 * One kmap_atomic + kunmap_atomic of a highmem page, outside a run on CPU 0:
 * the layer's PTE writes and INVLPGs at the map and at the unmap, the CPU's
 * own counters agreeing, and no IPI or global flush at all (__flush_tlb_one
 * is the local INVLPG; linux-highmem.md §6).
 */
static void pair_costs(void **state, enum mmusim_kmap_variant v, int debug, unsigned map_writes,
                       unsigned map_invlpgs, unsigned unmap_writes, unsigned unmap_invlpgs)
{
    struct env e;
    env_make(state, &e, v, debug, 2, NULL);
    struct mmusim_page p = hpage(&e, 0xa11ce000u);
    struct mmusim_kaddr a;
    map_ok(&e, e.cpu, p, MMUSIM_KM_USER0, &a);
    assert_int_equal(a.va, first_va(&e)); /* slot forms: the type's slot; stack: position 0 */
    struct mmusim_pte_info pi = kpte(&e, a.va);
    assert_int_equal(pi.raw, (p.pfn << MMUSIM_PAGE_SHIFT) | kmap_prot());
    struct mmusim_kmap_stats s = kst(&e, 0);
    struct mmusim_cpu_stats c = ts_stats(e.m, 0);
    assert_int_equal(s.pte_writes, map_writes);
    assert_int_equal(s.invlpgs, map_invlpgs);
    assert_int_equal(c.pte_writes, map_writes);
    assert_int_equal(c.invlpg, map_invlpgs);
    assert_int_equal(rd(e.cpu, a.va), 0xa11ce000u);

    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    s = kst(&e, 0);
    c = ts_stats(e.m, 0);
    assert_int_equal(s.pte_writes, map_writes + unmap_writes);
    assert_int_equal(s.invlpgs, map_invlpgs + unmap_invlpgs);
    assert_int_equal(c.pte_writes, map_writes + unmap_writes);
    assert_int_equal(c.invlpg, map_invlpgs + unmap_invlpgs);
    assert_int_equal(s.atomic_maps, 1);
    assert_int_equal(s.atomic_unmaps, 1);
    assert_int_equal(s.global_flushes + s.ipis_sent, 0);
    struct mmusim_cpu_stats all;
    mmusim_machine_stats(e.m, &all);
    assert_int_equal(all.ipis_sent + all.ipis_received + all.shootdowns + all.global_flushes, 0);
    /* The other CPU did nothing. */
    assert_int_equal(ts_stats(e.m, 1).invlpg, 0);
    /* After the unmap: 2.6.20 on, the slot's PTE is none (kpte_clear_flush);
     * 2.6.19 without DEBUG_HIGHMEM leaves it mapped. */
    assert_int_equal(kpte(&e, a.va).present, unmap_writes == 0);
    assert_int_equal(ts_nreports(e.m), 0);
}

/*
 * 2.6.18 kmap_atomic: set_pte, then __flush_tlb_one(vaddr); kunmap_atomic
 * without DEBUG_HIGHMEM: dec_preempt_count only. §7: 1 PTE write, 1 local
 * INVLPG, both at map.
 */
static void test_pair_slot19(void **state)
{
    pair_costs(state, MMUSIM_KMAP_SLOT_2_6_19, 0, 1, 1, 0, 0);
}

/* ... with DEBUG_HIGHMEM kunmap_atomic also does pte_clear + __flush_tlb_one: 2 writes, 1 INVLPG at map and 1 at unmap. */
static void test_pair_slot19_debug(void **state)
{
    pair_costs(state, MMUSIM_KMAP_SLOT_2_6_19, 1, 1, 1, 1, 1);
}

/*
 * 2.6.32 kmap_atomic_prot: set_pte, no flush; kunmap_atomic:
 * kpte_clear_flush (pte_clear + __flush_tlb_one). §7: 2 PTE writes, 1 INVLPG
 * at unmap; DEBUG_HIGHMEM adds checks, no write or flush.
 */
static void test_pair_slot36(void **state)
{
    pair_costs(state, MMUSIM_KMAP_SLOT_2_6_36, 0, 1, 0, 1, 1);
}

static void test_pair_slot36_debug(void **state)
{
    pair_costs(state, MMUSIM_KMAP_SLOT_2_6_36, 1, 1, 0, 1, 1);
}

/* 2.6.37 kmap_atomic_prot: push, set_pte, no flush; __kunmap_atomic: kpte_clear_flush, pop. §7: as 2.6.36. */
static void test_pair_stack37(void **state)
{
    pair_costs(state, MMUSIM_KMAP_STACK_2_6_37, 0, 1, 0, 1, 1);
}

static void test_pair_stack37_debug(void **state)
{
    pair_costs(state, MMUSIM_KMAP_STACK_2_6_37, 1, 1, 0, 1, 1);
}

/* ---- §8.6: the preemption count ---- */

/*
 * kmap_atomic raises the count before it looks at the page (2.6.18:
 * inc_preempt_count, "even !CONFIG_PREEMPT needs this, for in_atomic in
 * do_page_fault"; 2.6.32 and 2.6.37: pagefault_disable, which is
 * inc_preempt_count then), so a lowmem page raises it too and gets its
 * page_address with no PTE write or flush; every kunmap_atomic path ends
 * with dec_preempt_count / pagefault_enable (2.6.18 DEBUG: the vaddr <
 * FIXADDR_START branch; 2.6.32 and 2.6.37: lowmem is the else branch).
 */
static void preempt_raised_and_undone(void **state, enum mmusim_kmap_variant v, int debug)
{
    struct env e;
    env_make(state, &e, v, debug, 1, NULL);
    struct mmusim_page low = page_in(&e, MMUSIM_ZONE_NORMAL, 0x10e10e10u);
    struct mmusim_page high = hpage(&e, 0x41941941u);
    struct mmusim_kaddr la, ha;
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);

    map_ok(&e, e.cpu, low, MMUSIM_KM_USER0, &la);
    assert_int_equal(la.va, e.l->page_offset + (uint32_t)(low.pfn << MMUSIM_PAGE_SHIFT)); /* page_address */
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);
    assert_int_equal(kst(&e, 0).pte_writes + kst(&e, 0).invlpgs, 0);
    assert_int_equal(rd(e.cpu, la.va), 0x10e10e10u);

    /* A highmem page on top (another type: the slot forms need one per live mapping). */
    map_ok(&e, e.cpu, high, MMUSIM_KM_USER1, &ha);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 2);
    assert_int_equal(rd(e.cpu, ha.va), 0x41941941u);
    unmap_ok(&e, e.cpu, ha, MMUSIM_KM_USER1);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);

    unmap_ok(&e, e.cpu, la, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(ts_nreports(e.m), 0);
}

static void test_preempt_slot19(void **state)
{
    preempt_raised_and_undone(state, MMUSIM_KMAP_SLOT_2_6_19, 0);
    preempt_raised_and_undone(state, MMUSIM_KMAP_SLOT_2_6_19, 1);
}

static void test_preempt_slot36(void **state)
{
    preempt_raised_and_undone(state, MMUSIM_KMAP_SLOT_2_6_36, 0);
    preempt_raised_and_undone(state, MMUSIM_KMAP_SLOT_2_6_36, 1);
}

static void test_preempt_stack37(void **state)
{
    preempt_raised_and_undone(state, MMUSIM_KMAP_STACK_2_6_37, 0);
    preempt_raised_and_undone(state, MMUSIM_KMAP_STACK_2_6_37, 1);
}

/* ---- an interrupt that uses the task's slot type ---- */

/*
 * A task maps page A with KM_USER0 and reads it; a hardirq arrives while
 * the task holds the mapping and its handler maps page B with KM_USER0
 * too (the misuse the per-context slot rules forbid: §3, "slot reservation
 * by context"), reads it and unmaps; then the task reads through its
 * address again and unmaps. A and B hold distinct words.
 */
#define TAG_A 0xaaaa0001u
#define TAG_B 0xbbbb0002u

struct reuse {
    struct env *e;
    struct mmusim_page a, b;
    struct mmusim_kaddr ta, ha;
    uint32_t task_before, task_after, handler_read;
    int phase, handler_ran, handler_between;
    int rc_handler_map, rc_handler_unmap, rc_task_unmap;
    unsigned handler_preempt_before, handler_preempt_after;
    uint64_t handler_clock; /* the handler's clock at its kmap_atomic call */
};

/* The task's one long step (it spends REUSE_SPEND cycles holding A) and the interrupt's arrival inside it. */
#define REUSE_SPEND 100000u
#define REUSE_IRQ_AT 50000u

static enum mmusim_step reuse_task(mmusim_cpu *cpu, void *arg)
{
    struct reuse *r = arg;
    switch (r->phase++) {
    case 0:
        map_ok(r->e, cpu, r->a, MMUSIM_KM_USER0, &r->ta);
        r->task_before = rd(cpu, r->ta.va);
        mmusim_cpu_spend(cpu, REUSE_SPEND); /* the interrupt arrives meanwhile: taken at the step's end */
        return MMUSIM_STEP_MORE;
    default:
        r->task_after = rd(cpu, r->ta.va);
        r->rc_task_unmap = mmusim_kunmap_atomic(cpu, r->e->k, r->ta, MMUSIM_KM_USER0);
        return MMUSIM_STEP_DONE;
    }
}

static enum mmusim_step reuse_handler(mmusim_cpu *cpu, void *arg)
{
    struct reuse *r = arg;
    r->handler_ran++;
    r->handler_between = r->phase == 1; /* after the task's map, before its second read */
    r->handler_preempt_before = mmusim_cpu_preempt_count(cpu);
    r->handler_clock = mmusim_cpu_cycles(cpu);
    r->rc_handler_map = mmusim_kmap_atomic(cpu, r->e->k, r->b, MMUSIM_KM_USER0, &r->ha);
    if (r->rc_handler_map == MMUSIM_OK) {
        r->handler_read = rd(cpu, r->ha.va);
        r->rc_handler_unmap = mmusim_kunmap_atomic(cpu, r->e->k, r->ha, MMUSIM_KM_USER0);
    }
    r->handler_preempt_after = mmusim_cpu_preempt_count(cpu);
    return MMUSIM_STEP_DONE;
}

static void run_reuse(void **state, struct env *e, struct reuse *r, enum mmusim_kmap_variant v)
{
    env_make(state, e, v, 0, 1, NULL);
    memset(r, 0, sizeof(*r));
    r->e = e;
    r->a = hpage(e, TAG_A);
    r->b = hpage(e, TAG_B);
    ts_spawn(e->m, 0, 0, reuse_task, r);
    assert_int_equal(mmusim_irq_at(e->m, 0, REUSE_IRQ_AT, reuse_handler, r), MMUSIM_OK);
    ts_run_all(e->m);
    assert_int_equal(r->handler_ran, 1);
    assert_true(r->handler_between);
    assert_int_equal(r->task_before, TAG_A);
    assert_int_equal(r->rc_task_unmap, MMUSIM_OK);
    assert_int_equal(mmusim_cpu_preempt_count(e->cpu), 0);
}

/*
 * 2.6.18 kmap_atomic (no DEBUG_HIGHMEM): no check of the slot, set_pte and
 * __flush_tlb_one: the handler's map silently replaces the task's PTE and
 * drops its TLB entry; its kunmap_atomic touches nothing. The task's next
 * read through its own address walks to B: a corrupted read, and no report.
 */
static void test_irq_reuse_slot19_corrupts(void **state)
{
    struct env e;
    struct reuse r;
    run_reuse(state, &e, &r, MMUSIM_KMAP_SLOT_2_6_19);
    assert_int_equal(r.rc_handler_map, MMUSIM_OK);
    assert_int_equal(r.ha.va, r.ta.va); /* the same slot: KM_USER0 on CPU 0 */
    assert_int_equal(r.handler_read, TAG_B);
    assert_int_equal(r.task_after, TAG_B); /* the task reads the handler's page */
    assert_int_equal(kst(&e, 0).invlpgs, 2); /* one per map, none at unmap */
    assert_int_equal(ts_nreports(e.m), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/*
 * 2.6.32 kmap_atomic_prot: BUG_ON(!pte_none(*(kmap_pte-idx))), unconditional
 * from 2.6.20: the handler's map is a BUG (refused here, the count it raised
 * undone); the task still reads A and unmaps normally.
 */
static void test_irq_reuse_slot36_bugs(void **state)
{
    struct env e;
    struct reuse r;
    run_reuse(state, &e, &r, MMUSIM_KMAP_SLOT_2_6_36);
    assert_int_equal(r.rc_handler_map, MMUSIM_EKMAPBUG);
    assert_int_equal(r.handler_preempt_after, r.handler_preempt_before);
    assert_int_equal(r.task_after, TAG_A);
    assert_int_equal(ts_nreports(e.m), 1);
    struct mmusim_report rep = report(&e, 0);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, r.handler_clock); /* the check comes before any charged work */
    assert_int_equal(rep.address, type_va(&e, 0, MMUSIM_KM_USER0));
    assert_non_null(strstr(rep.what, "not none"));
    assert_int_equal(kpte(&e, r.ta.va).present, 0); /* the task's unmap cleared it */
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/*
 * 2.6.37: the type is ignored; kmap_atomic_idx_push gives the handler
 * position 1, above the task's 0 (interrupts nest LIFO on the interrupted
 * context, §4 "Why nesting is safe"): both read their own page.
 */
static void test_irq_reuse_stack37_nests(void **state)
{
    struct env e;
    struct reuse r;
    run_reuse(state, &e, &r, MMUSIM_KMAP_STACK_2_6_37);
    assert_int_equal(r.rc_handler_map, MMUSIM_OK);
    assert_int_equal(r.rc_handler_unmap, MMUSIM_OK);
    assert_int_equal(r.ta.va, pos_va(&e, 0, 0));
    assert_int_equal(r.ha.va, pos_va(&e, 0, 1));
    assert_int_equal(r.handler_read, TAG_B);
    assert_int_equal(r.task_after, TAG_A);
    assert_int_equal(ts_nreports(e.m), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/* ---- unmapping with the wrong address ---- */

/*
 * 2.6.18 kunmap_atomic without DEBUG_HIGHMEM never looks at the address:
 * dec_preempt_count and nothing else. The next map of the slot flushes at
 * map, so nothing goes wrong.
 */
static void test_wrong_unmap_slot19_does_nothing(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_19, 0, 1, NULL);
    struct mmusim_kaddr a, wrong = {type_va(&e, 0, MMUSIM_KM_USER1)};
    map_ok(&e, e.cpu, hpage(&e, TAG_A), MMUSIM_KM_USER0, &a);
    unmap_ok(&e, e.cpu, wrong, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(kst(&e, 0).pte_writes, 1); /* the map's set, nothing since */
    assert_int_equal(kst(&e, 0).invlpgs, 1);
    assert_int_equal(ts_nreports(e.m), 0);
    struct mmusim_kaddr b;
    map_ok(&e, e.cpu, hpage(&e, TAG_B), MMUSIM_KM_USER0, &b);
    assert_int_equal(rd(e.cpu, b.va), TAG_B);
    unmap_ok(&e, e.cpu, b, MMUSIM_KM_USER0);
    assert_int_equal(ts_nreports(e.m), 0);
}

/*
 * 2.6.18 kunmap_atomic with DEBUG_HIGHMEM: an address at or above
 * FIXADDR_START that is not the type's slot is BUG(); refused here before
 * the preemption count is lowered, so the right unmap still works.
 */
static void test_wrong_unmap_slot19_debug_bugs(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_19, 1, 1, NULL);
    struct mmusim_kaddr a, wrong = {type_va(&e, 0, MMUSIM_KM_USER1)};
    map_ok(&e, e.cpu, hpage(&e, TAG_A), MMUSIM_KM_USER0, &a);
    uint64_t t = mmusim_cpu_cycles(e.cpu);
    assert_int_equal(mmusim_kunmap_atomic(e.cpu, e.k, wrong, MMUSIM_KM_USER0), MMUSIM_EKMAPBUG);
    assert_int_equal(ts_nreports(e.m), 1);
    struct mmusim_report rep = report(&e, 0);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, t);
    assert_int_equal(rep.address, wrong.va);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);
    assert_int_equal(kpte(&e, a.va).present, 1);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(kpte(&e, a.va).present, 0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/*
 * 2.6.32 kunmap_atomic: only the type's own slot address is cleared; any
 * other address (without DEBUG_HIGHMEM) falls through to pagefault_enable.
 * The slot's PTE stays set, and the next kmap_atomic of that type hits
 * BUG_ON(!pte_none) (§3 "Consequence"). Other types still work.
 */
static void test_wrong_unmap_slot36_next_map_bugs(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 0, 1, NULL);
    struct mmusim_kaddr a, b, wrong = {type_va(&e, 0, MMUSIM_KM_USER1)};
    map_ok(&e, e.cpu, hpage(&e, TAG_A), MMUSIM_KM_USER0, &a);
    unmap_ok(&e, e.cpu, wrong, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(kst(&e, 0).pte_writes, 1);
    assert_int_equal(kst(&e, 0).invlpgs, 0);
    assert_int_equal(kpte(&e, a.va).present, 1);
    assert_int_equal(ts_nreports(e.m), 0);

    uint64_t t = mmusim_cpu_cycles(e.cpu);
    assert_int_equal(mmusim_kmap_atomic(e.cpu, e.k, hpage(&e, TAG_B), MMUSIM_KM_USER0, &b), MMUSIM_EKMAPBUG);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(ts_nreports(e.m), 1);
    struct mmusim_report rep = report(&e, 0);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, t);
    assert_int_equal(rep.address, a.va);
    assert_non_null(strstr(rep.what, "not none"));
    assert_int_equal(rd(e.cpu, a.va), TAG_A); /* the stale mapping is still A */
    still_usable(&e, e.cpu, MMUSIM_KM_USER1);
}

/*
 * 2.6.32 kunmap_atomic with DEBUG_HIGHMEM: an address that is neither the
 * slot nor lowmem is BUG_ON(vaddr < PAGE_OFFSET || vaddr >= high_memory);
 * refused, so the right unmap follows.
 */
static void test_wrong_unmap_slot36_debug_bugs(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 1, 1, NULL);
    struct mmusim_kaddr a, wrong = {type_va(&e, 0, MMUSIM_KM_USER1)};
    map_ok(&e, e.cpu, hpage(&e, TAG_A), MMUSIM_KM_USER0, &a);
    uint64_t t = mmusim_cpu_cycles(e.cpu);
    assert_int_equal(mmusim_kunmap_atomic(e.cpu, e.k, wrong, MMUSIM_KM_USER0), MMUSIM_EKMAPBUG);
    struct mmusim_report rep = report(&e, 0);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, t);
    assert_int_equal(rep.address, wrong.va);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(ts_nreports(e.m), 1);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/*
 * 2.6.37 __kunmap_atomic: any address in the kmap range unmaps the top of
 * the stack: kpte_clear_flush(kmap_pte-idx, vaddr) clears the top slot's PTE
 * but flushes vaddr, the address passed. Given A's address while B is on
 * top, B's PTE is cleared and A's TLB entry dropped, but B's TLB entry
 * stays: a read through B's address hits it, a stale translation the
 * coherence checker reports. The address mismatch is WARN_ON_ONCE under
 * DEBUG_HIGHMEM only.
 */
static void wrong_unmap_stack37(void **state, int debug)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, debug, 1, NULL);
    mmusim_machine_set_coherence_check(e.m, 1);
    struct mmusim_page pa = hpage(&e, TAG_A), pb = hpage(&e, TAG_B);
    struct mmusim_kaddr a, b;
    map_ok(&e, e.cpu, pa, MMUSIM_KM_USER0, &a);
    map_ok(&e, e.cpu, pb, MMUSIM_KM_USER1, &b);
    assert_int_equal(b.va, pos_va(&e, 0, 1));
    assert_int_equal(rd(e.cpu, a.va), TAG_A);
    assert_int_equal(rd(e.cpu, b.va), TAG_B); /* B's translation now in the TLB */

    uint64_t t = mmusim_cpu_cycles(e.cpu);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0); /* out of order: A is not the top */
    assert_int_equal(kpte(&e, b.va).present, 0); /* the top slot, B's, is cleared */
    assert_int_equal(kpte(&e, a.va).present, 1);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);
    assert_int_equal(ts_nreports(e.m), (uint64_t)debug);
    if (debug) {
        struct mmusim_report rep = report(&e, 0);
        assert_int_equal(rep.kind, MMUSIM_REPORT_WARN);
        assert_int_equal(rep.cpu, 0);
        assert_int_equal(rep.cycle, t);
        assert_int_equal(rep.address, a.va);
    }

    /* B's TLB entry survived the flush of A's address: the read uses it. */
    assert_int_equal(mmusim_machine_coherence_violations(e.m, NULL, 0), 0);
    assert_int_equal(rd(e.cpu, b.va), TAG_B);
    struct mmusim_coherence_violation cv;
    assert_int_equal(mmusim_machine_coherence_violations(e.m, &cv, 1), 1);
    assert_int_equal(cv.cpu, 0);
    assert_int_equal(cv.va, b.va);
    assert_int_equal(cv.stale_pa, pb.pfn << MMUSIM_PAGE_SHIFT);
    assert_int_equal(cv.current_present, 0);
    assert_int_equal(cv.writer_cpu, 0); /* the unmap's clear */

    /* The stack is one deep now: A's own unmap is at the top and matches. */
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(kpte(&e, a.va).present, 0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);

    /* WARN_ON_ONCE: a second mismatch is not reported again. */
    map_ok(&e, e.cpu, pa, MMUSIM_KM_USER0, &a);
    map_ok(&e, e.cpu, pb, MMUSIM_KM_USER1, &b);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(ts_nreports(e.m), (uint64_t)debug);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    mmusim_machine_set_coherence_check(e.m, 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

static void test_wrong_unmap_stack37_clears_top(void **state)
{
    wrong_unmap_stack37(state, 0);
}

static void test_wrong_unmap_stack37_debug_warns_once(void **state)
{
    wrong_unmap_stack37(state, 1);
}

/* ---- the stack's bounds (2.6.37, DEBUG_HIGHMEM) ---- */

/*
 * kmap_atomic_idx_push: idx = __kmap_atomic_idx++ (the old value), then,
 * under DEBUG_HIGHMEM, BUG_ON(idx > KM_TYPE_NR). The check is off by one:
 * positions 0 .. KM_TYPE_NR - 1 are the CPU's slots, and the push to
 * position KM_TYPE_NR passes too, mapping idx KM_TYPE_NR + KM_TYPE_NR * cpu,
 * which is the next CPU's slot 0; the push after it BUGs. KM_TYPE_NR is 41
 * here (20 types and 21 fences). Then kmap_atomic_idx_pop: BUG_ON(idx < 0)
 * under DEBUG_HIGHMEM, once every mapping is gone.
 */
static void test_stack37_overflow_off_by_one(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, 1, 2, NULL);
    const uint32_t n = e.l->km_type_nr;
    assert_int_equal(n, 41);
    struct mmusim_kaddr a[42];
    for (uint32_t i = 0; i <= n; i++) {
        map_ok(&e, e.cpu, hpage(&e, 0x57ac0000u + i), MMUSIM_KM_USER0, &a[i]);
        assert_int_equal(a[i].va, pos_va(&e, 0, i));
    }
    assert_int_equal(a[n].va, pos_va(&e, 1, 0)); /* CPU 1's slot 0 */
    assert_int_equal(ts_nreports(e.m), 0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), n + 1);

    struct mmusim_kaddr over;
    uint64_t t = mmusim_cpu_cycles(e.cpu);
    assert_int_equal(mmusim_kmap_atomic(e.cpu, e.k, hpage(&e, 0xdeadu), MMUSIM_KM_USER0, &over), MMUSIM_EKMAPBUG);
    assert_int_equal(ts_nreports(e.m), 1);
    struct mmusim_report rep = report(&e, 0);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, t);
    assert_non_null(strstr(rep.what, "overflow"));
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), n + 1);

    for (uint32_t i = n + 1; i-- > 0;) {
        assert_int_equal(rd(e.cpu, a[i].va), 0x57ac0000u + i);
        unmap_ok(&e, e.cpu, a[i], MMUSIM_KM_USER0);
    }
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(ts_nreports(e.m), 1);

    /* One unmap too many: the pop goes below 0. */
    t = mmusim_cpu_cycles(e.cpu);
    assert_int_equal(mmusim_kunmap_atomic(e.cpu, e.k, a[0], MMUSIM_KM_USER0), MMUSIM_EKMAPBUG);
    uint64_t nrep = ts_nreports(e.m);
    rep = report(&e, nrep - 1);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 0);
    assert_int_equal(rep.cycle, t);
    assert_non_null(strstr(rep.what, "underflow"));
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
    still_usable(&e, ts_cpu(e.m, 1), MMUSIM_KM_USER0);
}

/*
 * The underflow is refused before anything is touched. Top position -1 of
 * CPU 1 is idx -1 + KM_TYPE_NR * 1, CPU 0's last slot; the kernel's BUG
 * stops there, and here the refused unmap must not clear CPU 0's live
 * mapping in that slot.
 */
static void test_stack37_underflow_leaves_other_cpu_alone(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, 1, 2, NULL);
    const uint32_t n = e.l->km_type_nr;
    struct mmusim_kaddr a[41];
    for (uint32_t i = 0; i < n; i++)
        map_ok(&e, e.cpu, hpage(&e, 0x57ac0000u + i), MMUSIM_KM_USER0, &a[i]);
    assert_int_equal(a[n - 1].va, pos_va(&e, 0, n - 1));
    assert_int_equal(rd(e.cpu, a[n - 1].va), 0x57ac0000u + n - 1);

    mmusim_cpu *c1 = ts_cpu(e.m, 1);
    struct mmusim_kaddr c1slot = {pos_va(&e, 1, 0)};
    assert_int_equal(mmusim_kunmap_atomic(c1, e.k, c1slot, MMUSIM_KM_USER0), MMUSIM_EKMAPBUG);
    uint64_t nrep = ts_nreports(e.m);
    assert_true(nrep >= 1);
    struct mmusim_report rep = report(&e, nrep - 1);
    assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
    assert_int_equal(rep.cpu, 1);
    assert_non_null(strstr(rep.what, "underflow"));
    assert_int_equal(mmusim_cpu_preempt_count(c1), 0);
    /* CPU 0's top mapping is intact. */
    assert_int_equal(kpte(&e, a[n - 1].va).present, 1);
    assert_int_equal(ts_stats(e.m, 1).pte_writes, 0);
    for (uint32_t i = n; i-- > 0;)
        unmap_ok(&e, e.cpu, a[i], MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    still_usable(&e, c1, MMUSIM_KM_USER0);
}

/* Without DEBUG_HIGHMEM kmap_atomic_idx_push has no check at all: the push past KM_TYPE_NR + 1 is not reported. */
static void test_stack37_no_bounds_without_debug(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, 0, 2, NULL);
    const uint32_t n = e.l->km_type_nr;
    assert_int_equal(n, 20);
    struct mmusim_kaddr a[22];
    for (uint32_t i = 0; i < n + 2; i++)
        map_ok(&e, e.cpu, hpage(&e, i), MMUSIM_KM_USER0, &a[i]);
    assert_int_equal(a[n + 1].va, pos_va(&e, 1, 1));
    assert_int_equal(ts_nreports(e.m), 0);
    for (uint32_t i = n + 2; i-- > 0;)
        unmap_ok(&e, e.cpu, a[i], MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

/* ---- debug_kmap_atomic (2.6.32 mm/highmem.c, DEBUG_HIGHMEM) ---- */

struct dbg {
    struct env *e;
    int phase;
    uint64_t task_clock, handler_clock;
    int handler_ran;
};

/*
 * The task maps KM_IRQ0 with interrupts on (the type check: an IRQ type
 * needs irqs_disabled(): WARN), then with them off (no WARN), holding
 * nothing across its spend; the handler, in hardirq context, maps
 * KM_USER0 (in_irq() allows only IRQ0/1, BIO_SRC/DST_IRQ, BOUNCE_READ,
 * IRQ_PTE: WARN) and KM_IRQ0 (allowed; interrupts are off in a handler:
 * no WARN).
 */
static enum mmusim_step dbg_task(mmusim_cpu *cpu, void *arg)
{
    struct dbg *d = arg;
    struct mmusim_kaddr a;
    struct mmusim_page p = hpage(d->e, 1);
    switch (d->phase++) {
    case 0:
        d->task_clock = mmusim_cpu_cycles(cpu);
        map_ok(d->e, cpu, p, MMUSIM_KM_IRQ0, &a);
        unmap_ok(d->e, cpu, a, MMUSIM_KM_IRQ0);
        mmusim_cpu_spend(cpu, REUSE_SPEND);
        return MMUSIM_STEP_MORE;
    default:
        mmusim_local_irq_disable(cpu);
        map_ok(d->e, cpu, p, MMUSIM_KM_IRQ0, &a);
        unmap_ok(d->e, cpu, a, MMUSIM_KM_IRQ0);
        mmusim_local_irq_enable(cpu);
        return MMUSIM_STEP_DONE;
    }
}

static enum mmusim_step dbg_handler(mmusim_cpu *cpu, void *arg)
{
    struct dbg *d = arg;
    struct mmusim_kaddr a;
    d->handler_ran++;
    d->handler_clock = mmusim_cpu_cycles(cpu);
    map_ok(d->e, cpu, hpage(d->e, 2), MMUSIM_KM_USER0, &a);
    unmap_ok(d->e, cpu, a, MMUSIM_KM_USER0);
    map_ok(d->e, cpu, hpage(d->e, 3), MMUSIM_KM_IRQ0, &a);
    unmap_ok(d->e, cpu, a, MMUSIM_KM_IRQ0);
    return MMUSIM_STEP_DONE;
}

static void test_debug_kmap_atomic_warns(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 1, 1, NULL);
    struct dbg d = {.e = &e};
    ts_spawn(e.m, 0, 0, dbg_task, &d);
    /* IRQF_DISABLED: the handler's KM_IRQ0 is then used with interrupts off, as it must be
     * (a 2.6.32 handler requested without it runs with interrupts on: a third WARN). */
    assert_int_equal(mmusim_irq_at_flags(e.m, 0, REUSE_IRQ_AT, dbg_handler, &d, MMUSIM_IRQF_DISABLED), MMUSIM_OK);
    ts_run_all(e.m);
    assert_int_equal(d.handler_ran, 1);
    assert_int_equal(ts_nreports(e.m), 2);
    struct mmusim_report r0 = report(&e, 0), r1 = report(&e, 1);
    assert_int_equal(r0.kind, MMUSIM_REPORT_WARN);
    assert_int_equal(r0.cpu, 0);
    assert_int_equal(r0.cycle, d.task_clock);
    assert_int_equal(r0.address, type_va(&e, 0, MMUSIM_KM_IRQ0));
    assert_int_equal(r1.kind, MMUSIM_REPORT_WARN);
    assert_int_equal(r1.cpu, 0);
    assert_int_equal(r1.cycle, d.handler_clock);
    assert_int_equal(r1.address, type_va(&e, 0, MMUSIM_KM_USER0));
    assert_int_equal(kst(&e, -1).warns, 2);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    /* The same layer without DEBUG_HIGHMEM has no debug_kmap_atomic: see test_pair_slot36 (no report). */
}

/* A softirq handler maps with a type, with interrupts on. */
struct soft {
    struct env *e;
    enum mmusim_km_type type;
    int ran, phase;
};

static enum mmusim_step soft_handler(mmusim_cpu *cpu, void *arg)
{
    struct soft *s = arg;
    struct mmusim_kaddr a;
    s->ran++;
    map_ok(s->e, cpu, hpage(s->e, 4), s->type, &a);
    unmap_ok(s->e, cpu, a, s->type);
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step soft_task(mmusim_cpu *cpu, void *arg)
{
    struct soft *s = arg;
    if (s->phase++ == 0) {
        assert_int_equal(mmusim_raise_softirq(cpu, soft_handler, s), MMUSIM_OK);
        return MMUSIM_STEP_MORE;
    }
    return MMUSIM_STEP_DONE;
}

/*
 * debug_kmap_atomic makes its two checks one after the other, each with its
 * own WARN_ON and warn_count--: in a softirq with interrupts on,
 * KM_BIO_SRC_IRQ is not a softirq type (the in_interrupt() branch: WARN) and
 * is an IRQ type with interrupts on (the type branch: WARN again). KM_IRQ0
 * is allowed in a softirq but still an IRQ type: one WARN; KM_SOFTIRQ0
 * there: none.
 */
static void softirq_warns(void **state, enum mmusim_km_type t, uint64_t warns)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 1, 1, NULL);
    struct soft s = {.e = &e, .type = t};
    ts_spawn(e.m, 0, 0, soft_task, &s);
    ts_run_all(e.m);
    assert_int_equal(s.ran, 1);
    assert_int_equal(ts_nreports(e.m), warns);
    assert_int_equal(kst(&e, -1).warns, warns);
}

static void test_debug_kmap_atomic_softirq(void **state)
{
    softirq_warns(state, MMUSIM_KM_BIO_SRC_IRQ, 2);
    softirq_warns(state, MMUSIM_KM_IRQ0, 1);
    softirq_warns(state, MMUSIM_KM_SOFTIRQ0, 0);
}

/*
 * 2.6.32 debug_kmap_atomic: static int warn_count = 10, and "if
 * (unlikely(warn_count < 0)) return;" on entry, each WARN_ON(1) followed by
 * warn_count--. A call warns while the count is 0 or more: 10 .. 0, so 11
 * single WARNs, then none (linux-highmem.md §3 says "up to 10 times"; the
 * signed test on entry lets the eleventh through). 13 misuses, 11 WARNs.
 */
static void test_debug_kmap_atomic_at_most_11(void **state)
{
    struct env e;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 1, 1, NULL);
    struct mmusim_page p = hpage(&e, 5);
    for (int i = 0; i < 13; i++) {
        struct mmusim_kaddr a;
        map_ok(&e, e.cpu, p, MMUSIM_KM_IRQ0, &a); /* an IRQ type with interrupts on */
        unmap_ok(&e, e.cpu, a, MMUSIM_KM_IRQ0);
        assert_int_equal(ts_nreports(e.m), i < 11 ? (uint64_t)i + 1 : 11);
    }
    assert_int_equal(kst(&e, 0).warns, 11);
    assert_int_equal(kst(&e, 0).atomic_maps, 13);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
}

/* ---- the race fixed in 2.6.37 (commit 20273941f212) ---- */

/*
 * The first 2.6.37 __kunmap_atomic popped the stack, then cleared the slot.
 * An interrupt taken between the two pushes onto the popped position, finds
 * the PTE still set and hits kmap_atomic_prot's BUG_ON(!pte_none). The fix
 * (kmap_atomic_idx() to read the top, kpte_clear_flush, then pop) leaves
 * nothing for the interrupt to find. The task's step maps A, holds it while
 * the interrupt arrives, and unmaps; the interrupt is taken at the next
 * boundary, which with opts.pop_before_clear falls between the pop and the
 * clear.
 */
struct race {
    struct env *e;
    struct mmusim_page a, b;
    struct mmusim_kaddr ta, ha;
    int phase, rc_unmap, rc_handler_map, handler_ran;
    uint32_t handler_read;
    uint64_t handler_clock;
};

static enum mmusim_step race_task(mmusim_cpu *cpu, void *arg)
{
    struct race *r = arg;
    switch (r->phase++) {
    case 0:
        map_ok(r->e, cpu, r->a, MMUSIM_KM_USER0, &r->ta);
        mmusim_cpu_spend(cpu, REUSE_SPEND); /* the interrupt arrives */
        r->rc_unmap = mmusim_kunmap_atomic(cpu, r->e->k, r->ta, MMUSIM_KM_USER0);
        return MMUSIM_STEP_MORE;
    default:
        return MMUSIM_STEP_DONE;
    }
}

static enum mmusim_step race_handler(mmusim_cpu *cpu, void *arg)
{
    struct race *r = arg;
    r->handler_ran++;
    r->handler_clock = mmusim_cpu_cycles(cpu);
    r->rc_handler_map = mmusim_kmap_atomic(cpu, r->e->k, r->b, MMUSIM_KM_IRQ0, &r->ha);
    if (r->rc_handler_map == MMUSIM_OK) {
        r->handler_read = rd(cpu, r->ha.va);
        unmap_ok(r->e, cpu, r->ha, MMUSIM_KM_IRQ0);
    }
    return MMUSIM_STEP_DONE;
}

static void race(void **state, int pop_before_clear)
{
    struct env e;
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_STACK_2_6_37);
    o.pop_before_clear = pop_before_clear;
    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, 0, 1, &o);
    struct race r = {.e = &e};
    r.a = hpage(&e, TAG_A);
    r.b = hpage(&e, TAG_B);
    ts_spawn(e.m, 0, 0, race_task, &r);
    assert_int_equal(mmusim_irq_at(e.m, 0, REUSE_IRQ_AT, race_handler, &r), MMUSIM_OK);
    ts_run_all(e.m);
    assert_int_equal(r.handler_ran, 1);
    const uint32_t slot0 = pos_va(&e, 0, 0);
    assert_int_equal(r.ta.va, slot0);
    if (pop_before_clear) {
        assert_int_equal(r.rc_unmap, MMUSIM_PENDING); /* the clear is still to come */
        assert_int_equal(r.rc_handler_map, MMUSIM_EKMAPBUG);
        assert_int_equal(ts_nreports(e.m), 1);
        struct mmusim_report rep = report(&e, 0);
        assert_int_equal(rep.kind, MMUSIM_REPORT_BUG);
        assert_int_equal(rep.cpu, 0);
        assert_int_equal(rep.cycle, r.handler_clock);
        assert_int_equal(rep.address, slot0);
        assert_non_null(strstr(rep.what, "not none"));
    } else {
        assert_int_equal(r.rc_unmap, MMUSIM_OK);
        assert_int_equal(r.rc_handler_map, MMUSIM_OK);
        assert_int_equal(r.ha.va, slot0); /* the interrupt pushes onto the freed position 0 */
        assert_int_equal(r.handler_read, TAG_B);
        assert_int_equal(ts_nreports(e.m), 0);
    }
    /* Either way the task's clear has happened and the stack is empty. */
    assert_int_equal(kpte(&e, slot0).present, 0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    struct mmusim_kaddr a;
    map_ok(&e, e.cpu, hpage(&e, 7), MMUSIM_KM_USER0, &a);
    assert_int_equal(a.va, slot0);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
}

static void test_race_pop_before_clear_bugs(void **state)
{
    race(state, 1);
}

static void test_race_fixed_version_does_not(void **state)
{
    race(state, 0);
}

/* ---- kmap_atomic_pfn, kmap_atomic_prot, kmap_atomic_to_page ---- */

/*
 * kmap_atomic_pfn (2.6.18 highmem.c; 2.6.32 and 2.6.37 through
 * kmap_atomic_prot_pfn, iomap_32.c) has no PageHighMem test: even a lowmem
 * frame is mapped through the slot, with kmap_prot. Its costs are
 * kmap_atomic's (2.6.18: set_pte + __flush_tlb_one; later: set_pte, no
 * flush, and kunmap_atomic's kpte_clear_flush). kmap_atomic_to_page reads
 * the frame back from the slot's PTE (pte_page(*(kmap_pte - idx))).
 */
static void pfn_through_slot(void **state, enum mmusim_kmap_variant v)
{
    struct env e;
    env_make(state, &e, v, 0, 1, NULL);
    struct mmusim_page low = page_in(&e, MMUSIM_ZONE_NORMAL, 0x9f9f9f9fu);
    struct mmusim_kaddr a;
    assert_int_equal(mmusim_kmap_atomic_pfn(e.cpu, e.k, low.pfn, MMUSIM_KM_USER0, &a), MMUSIM_OK);
    assert_int_equal(a.va, first_va(&e));
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 1);
    assert_int_equal(kpte(&e, a.va).raw, (low.pfn << MMUSIM_PAGE_SHIFT) | kmap_prot());
    assert_int_equal(rd(e.cpu, a.va), 0x9f9f9f9fu);
    struct mmusim_page back;
    assert_int_equal(mmusim_kmap_atomic_to_page(e.k, a, &back), MMUSIM_OK);
    assert_int_equal(back.pfn, low.pfn);
    assert_int_equal(back.zone, MMUSIM_ZONE_NORMAL);
    struct mmusim_kmap_stats s = kst(&e, 0);
    assert_int_equal(s.pte_writes, 1);
    assert_int_equal(s.invlpgs, v == MMUSIM_KMAP_SLOT_2_6_19);
    assert_int_equal(s.atomic_maps, 1);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    s = kst(&e, 0);
    assert_int_equal(s.pte_writes, v == MMUSIM_KMAP_SLOT_2_6_19 ? 1 : 2);
    assert_int_equal(s.invlpgs, 1);
    /* After the unmap 2.6.20 on leave nothing in the slot; 2.6.19 leaves it mapped. */
    assert_int_equal(mmusim_kmap_atomic_to_page(e.k, a, &back),
                     v == MMUSIM_KMAP_SLOT_2_6_19 ? MMUSIM_OK : MMUSIM_ENOTMAPPED);
    /* A lowmem address is virt_to_page. */
    struct mmusim_kaddr la = {e.l->page_offset + (uint32_t)(low.pfn << MMUSIM_PAGE_SHIFT) + 12};
    assert_int_equal(mmusim_kmap_atomic_to_page(e.k, la, &back), MMUSIM_OK);
    assert_int_equal(back.pfn, low.pfn);
    /* A pkmap address is neither. */
    struct mmusim_kaddr pk = {mmusim_pkmap_addr(e.l, 1)};
    assert_int_equal(mmusim_kmap_atomic_to_page(e.k, pk, &back), MMUSIM_EINVAL);
    assert_int_equal(ts_nreports(e.m), 0);
}

static void test_pfn_slot19(void **state)
{
    pfn_through_slot(state, MMUSIM_KMAP_SLOT_2_6_19);
}

static void test_pfn_slot36(void **state)
{
    pfn_through_slot(state, MMUSIM_KMAP_SLOT_2_6_36);
}

static void test_pfn_stack37(void **state)
{
    pfn_through_slot(state, MMUSIM_KMAP_STACK_2_6_37);
}

/*
 * kmap_atomic_pfn makes no BUG_ON(!pte_none) check, in any era: 2.6.18's
 * kmap_atomic_pfn is inc_preempt_count, set_pte, __flush_tlb_one, with no
 * DEBUG_HIGHMEM block; 2.6.32's kmap_atomic_prot_pfn (iomap_32.c) is
 * pagefault_disable, debug_kmap_atomic, set_pte. So it overwrites a slot in
 * use without a report where kmap_atomic would BUG (2.6.32 always, 2.6.18
 * with DEBUG_HIGHMEM).
 */
static void pfn_on_busy_slot(void **state, enum mmusim_kmap_variant v, int debug)
{
    struct env e;
    env_make(state, &e, v, debug, 1, NULL);
    struct mmusim_page pa = hpage(&e, TAG_A), pb = hpage(&e, TAG_B);
    struct mmusim_kaddr a, b;
    map_ok(&e, e.cpu, pa, MMUSIM_KM_USER0, &a);
    assert_int_equal(mmusim_kmap_atomic_pfn(e.cpu, e.k, pb.pfn, MMUSIM_KM_USER0, &b), MMUSIM_OK);
    assert_int_equal(b.va, a.va);
    assert_int_equal(kpte(&e, a.va).pa, pb.pfn << MMUSIM_PAGE_SHIFT);
    assert_int_equal(ts_nreports(e.m), 0);
    /* And kmap_atomic itself BUGs on that slot, as before. */
    struct mmusim_kaddr c;
    assert_int_equal(mmusim_kmap_atomic(e.cpu, e.k, pa, MMUSIM_KM_USER0, &c), MMUSIM_EKMAPBUG);
    assert_int_equal(ts_nreports(e.m), 1);
    unmap_ok(&e, e.cpu, b, MMUSIM_KM_USER0);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

static void test_pfn_no_pte_check_slot36(void **state)
{
    pfn_on_busy_slot(state, MMUSIM_KMAP_SLOT_2_6_36, 0);
}

static void test_pfn_no_pte_check_slot19_debug(void **state)
{
    pfn_on_busy_slot(state, MMUSIM_KMAP_SLOT_2_6_19, 1);
}

/*
 * kmap_atomic_prot(page, type, prot) (2.6.22 on; 2.6.32 highmem_32.c,
 * 2.6.37 the same without type): kmap_atomic with the caller's prot in the
 * PTE. A read-only prot reads and faults on a write.
 */
static void prot_readonly(void **state, enum mmusim_kmap_variant v)
{
    struct env e;
    env_make(state, &e, v, 0, 1, NULL);
    struct mmusim_page p = hpage(&e, 0x0badf00du);
    const uint64_t ro = MMUSIM_PTE_P | MMUSIM_PTE_A | MMUSIM_PTE_G;
    struct mmusim_kaddr a;
    assert_int_equal(mmusim_kmap_atomic_prot(e.cpu, e.k, p, MMUSIM_KM_USER0, ro, &a), MMUSIM_OK);
    assert_int_equal(kpte(&e, a.va).raw, (p.pfn << MMUSIM_PAGE_SHIFT) | ro);
    assert_int_equal(rd(e.cpu, a.va), 0x0badf00du);
    uint32_t w = 1;
    struct mmusim_access acc;
    assert_int_equal(mmusim_cpu_access(e.cpu, a.va, MMUSIM_ACC_WRITE, 4, &w, &acc), MMUSIM_OK);
    assert_int_equal(acc.fault, 1);
    assert_true(acc.error_code & MMUSIM_PF_P);
    struct mmusim_page back;
    assert_int_equal(mmusim_kmap_atomic_to_page(e.k, a, &back), MMUSIM_OK);
    assert_int_equal(back.pfn, p.pfn);
    assert_int_equal(back.zone, MMUSIM_ZONE_HIGHMEM);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_USER0);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);

    /* Flags a PTE cannot take are refused before anything is raised. */
    assert_int_equal(mmusim_kmap_atomic_prot(e.cpu, e.k, p, MMUSIM_KM_USER0, ro | MMUSIM_PTE_PS, &a),
                     MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_atomic_prot(e.cpu, e.k, p, MMUSIM_KM_USER0, ro | MMUSIM_PTE_NX, &a),
                     MMUSIM_EFEATURE); /* NX without PAE */
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    assert_int_equal(ts_nreports(e.m), 0);
    still_usable(&e, e.cpu, MMUSIM_KM_USER0);
}

static void test_prot_slot19(void **state)
{
    prot_readonly(state, MMUSIM_KMAP_SLOT_2_6_19);
}

static void test_prot_slot36(void **state)
{
    prot_readonly(state, MMUSIM_KMAP_SLOT_2_6_36);
}

static void test_prot_stack37(void **state)
{
    prot_readonly(state, MMUSIM_KMAP_STACK_2_6_37);
}

/* ---- arguments the variant's era does not have ---- */

/*
 * 2.6.18's enum km_type ends at KM_SOFTIRQ1 (KM_TYPE_NR 13): KM_SYNC_ICACHE
 * (13) is not a type there. 2.6.32's ends at KM_NMI_PTE (19 types): KM_KDB
 * came with 2.6.37. Such a type is MMUSIM_EKMTYPE, with nothing raised;
 * 2.6.37 ignores the type. A slot-2.6.36 layer on a 2.6.18 machine has
 * only 13 slots per CPU: its later types do not fit (MMUSIM_EKMTYPE too).
 */
static void test_km_type_beyond_era(void **state)
{
    struct env e;
    struct mmusim_kaddr a;
    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_19, 0, 1, NULL);
    struct mmusim_page p = hpage(&e, 1);
    assert_int_equal(mmusim_kmap_atomic(e.cpu, e.k, p, MMUSIM_KM_SYNC_ICACHE, &a), MMUSIM_EKMTYPE);
    assert_int_equal(mmusim_kmap_atomic_pfn(e.cpu, e.k, p.pfn, MMUSIM_KM_SYNC_ICACHE, &a), MMUSIM_EKMTYPE);
    a.va = type_va(&e, 0, MMUSIM_KM_SOFTIRQ1);
    assert_int_equal(mmusim_kunmap_atomic(e.cpu, e.k, a, MMUSIM_KM_SYNC_ICACHE), MMUSIM_EKMTYPE);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);
    map_ok(&e, e.cpu, p, MMUSIM_KM_SOFTIRQ1, &a); /* the last type of 2.6.18 */
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_SOFTIRQ1);
    assert_int_equal(kst(&e, 0).atomic_maps, 1);

    env_make(state, &e, MMUSIM_KMAP_SLOT_2_6_36, 0, 1, NULL);
    p = hpage(&e, 2);
    assert_int_equal(mmusim_kmap_atomic(e.cpu, e.k, p, MMUSIM_KM_KDB, &a), MMUSIM_EKMTYPE);
    map_ok(&e, e.cpu, p, MMUSIM_KM_NMI_PTE, &a);
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_NMI_PTE);
    assert_int_equal(mmusim_cpu_preempt_count(e.cpu), 0);

    env_make(state, &e, MMUSIM_KMAP_STACK_2_6_37, 0, 1, NULL);
    map_ok(&e, e.cpu, hpage(&e, 3), MMUSIM_KM_KDB, &a);
    assert_int_equal(a.va, pos_va(&e, 0, 0));
    unmap_ok(&e, e.cpu, a, MMUSIM_KM_SYNC_ICACHE);

    /* slot-2.6.36 on a 2.6.18 machine (13 slots per CPU). */
    const char *const kv[] = {"era", "2.6.18", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_SLOT_2_6_36);
    mmusim_kmap_layer *k;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_kmap_atomic(ts_cpu(m, 0), k, mmusim_page_of_pfn(m, pfn), MMUSIM_KM_SYNC_ICACHE, &a),
                     MMUSIM_EKMTYPE);
    assert_int_equal(mmusim_cpu_preempt_count(ts_cpu(m, 0)), 0);
}

/*
 * opts.debug must agree with the machine's debug_highmem: the fence slots
 * DEBUG_HIGHMEM lays out in the fixmap come with its checks
 * (MMUSIM_EKMAPDEBUG otherwise, and no layer made: the machine takes one
 * with the right setting afterwards). MMUSIM_KMAP_DEBUG_MACHINE follows it.
 */
static void test_debug_must_agree_with_machine(void **state)
{
    for (int machine_debug = 0; machine_debug < 2; machine_debug++) {
        const char *const kv[] = {"era", "2.6.32", "debug_highmem", machine_debug ? "1" : "0", NULL};
        mmusim_machine *m = ts_machine(state, 1, kv);
        struct mmusim_kmap_opts o;
        mmusim_kmap_layer *k = NULL;
        mmusim_kmap_opts_init(&o, MMUSIM_KMAP_SLOT_2_6_36);
        o.debug = !machine_debug;
        assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_EKMAPDEBUG);
        assert_null(k);
        o.debug = MMUSIM_KMAP_DEBUG_MACHINE;
        assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
        assert_int_equal(mmusim_kmap_options(k)->debug, machine_debug);
        uint64_t pfn;
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
        struct mmusim_kaddr a;
        mmusim_cpu *c = ts_cpu(m, 0);
        assert_int_equal(mmusim_kmap_atomic(c, k, mmusim_page_of_pfn(m, pfn), MMUSIM_KM_USER0, &a), MMUSIM_OK);
        const struct mmusim_layout *l = mmusim_machine_layout(m);
        uint32_t slot = machine_debug ? 2u * MMUSIM_KM_USER0 + 1u : MMUSIM_KM_USER0;
        assert_int_equal(a.va, mmusim_kmap_slot_vaddr(l, mmusim_kmap_idx(l, 0, slot)));
        assert_int_equal(mmusim_kunmap_atomic(c, k, a, MMUSIM_KM_USER0), MMUSIM_OK);
    }
    /* 0 and 1 that agree are accepted as they are. */
    const char *const kv[] = {"era", "2.6.32", "debug_highmem", "1", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct mmusim_kmap_opts o;
    mmusim_kmap_layer *k;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_STACK_2_6_37);
    o.debug = 1;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
}

/* One kmap layer per machine: a second mmusim_kmap_create is MMUSIM_EEXIST,
 * *out NULL, and the first layer still works. */
static void test_second_layer_refused(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    struct mmusim_kmap_opts o;
    mmusim_kmap_layer *k, *k2 = (mmusim_kmap_layer *)&o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_STACK_2_6_37);
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    assert_int_equal(mmusim_kmap_create(m, &o, &k2), MMUSIM_EEXIST);
    assert_null(k2);
    uint64_t pfn;
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    struct mmusim_kaddr a;
    mmusim_cpu *c = ts_cpu(m, 0);
    assert_int_equal(mmusim_kmap_atomic(c, k, mmusim_page_of_pfn(m, pfn), MMUSIM_KM_USER0, &a), MMUSIM_OK);
    assert_int_equal(mmusim_kunmap_atomic(c, k, a, MMUSIM_KM_USER0), MMUSIM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_pair_slot19),
        TS_TEST(test_second_layer_refused),
        TS_TEST(test_pair_slot19_debug),
        TS_TEST(test_pair_slot36),
        TS_TEST(test_pair_slot36_debug),
        TS_TEST(test_pair_stack37),
        TS_TEST(test_pair_stack37_debug),
        TS_TEST(test_preempt_slot19),
        TS_TEST(test_preempt_slot36),
        TS_TEST(test_preempt_stack37),
        TS_TEST(test_irq_reuse_slot19_corrupts),
        TS_TEST(test_irq_reuse_slot36_bugs),
        TS_TEST(test_irq_reuse_stack37_nests),
        TS_TEST(test_wrong_unmap_slot19_does_nothing),
        TS_TEST(test_wrong_unmap_slot19_debug_bugs),
        TS_TEST(test_wrong_unmap_slot36_next_map_bugs),
        TS_TEST(test_wrong_unmap_slot36_debug_bugs),
        TS_TEST(test_wrong_unmap_stack37_clears_top),
        TS_TEST(test_wrong_unmap_stack37_debug_warns_once),
        TS_TEST(test_stack37_overflow_off_by_one),
        TS_TEST(test_stack37_underflow_leaves_other_cpu_alone),
        TS_TEST(test_stack37_no_bounds_without_debug),
        TS_TEST(test_debug_kmap_atomic_warns),
        TS_TEST(test_debug_kmap_atomic_softirq),
        TS_TEST(test_debug_kmap_atomic_at_most_11),
        TS_TEST(test_race_pop_before_clear_bugs),
        TS_TEST(test_race_fixed_version_does_not),
        TS_TEST(test_pfn_slot19),
        TS_TEST(test_pfn_slot36),
        TS_TEST(test_pfn_stack37),
        TS_TEST(test_pfn_no_pte_check_slot36),
        TS_TEST(test_pfn_no_pte_check_slot19_debug),
        TS_TEST(test_prot_slot19),
        TS_TEST(test_prot_slot36),
        TS_TEST(test_prot_stack37),
        TS_TEST(test_km_type_beyond_era),
        TS_TEST(test_debug_must_agree_with_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
