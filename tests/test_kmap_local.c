/*
 * kmap_local of 5.11 and kmap_atomic on top of it (include/mmusim/kmap.h,
 * docs/kmap.md "kmap_local (5.11)"). Every count asserted here is derived,
 * in the comment above its test, from the 5.11 code that
 * ../shared/docs/linux-highmem.md §5 paraphrases (mm/highmem.c:
 * kmap_local_idx_push/_pop, __kmap_local_pfn_prot, kunmap_local_indexed,
 * __kmap_local_sched_out/_in, kmap_local_fork; arch/x86/include/asm/
 * highmem.h: arch_kmap_local_post_map is no flush, _post_unmap is
 * flush_tlb_one_kernel) and from §7's table ("kmap_local + kunmap_local,
 * 5.11+: 2 PTE writes, 1 local invlpg at unmap"; "context switch with N
 * live local kmaps: N clears and N invlpgs at switch-out, N sets and 0
 * invlpgs at switch-in"). Cycle values come from the machine's cost fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"
#include "support.h"

#include "cpu/hooks.h"

/* ---- machines and pages ---- */

#define MAXP 40

/* A machine of era 5.11 (KM_MAX_IDX 16, or 33 with debug) with a local-5.11 layer; kv extra keys. */
static mmusim_kmap_layer *local_layer(void **state, unsigned ncpus, int debug, const char *const *kv,
                                      int no_unmap_flush, mmusim_machine **out)
{
    const char *keys[32];
    unsigned n = 0;
    keys[n++] = "era";
    keys[n++] = "5.11";
    keys[n++] = "debug_highmem";
    keys[n++] = debug ? "1" : "0";
    for (; kv && *kv; kv++) {
        assert_true(n < 30);
        keys[n++] = *kv;
    }
    keys[n] = NULL;
    mmusim_machine *m = ts_machine(state, ncpus, keys);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_LOCAL_5_11);
    o.no_unmap_flush = no_unmap_flush;
    mmusim_kmap_layer *k = NULL;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    *out = m;
    return k;
}

/* n fresh frames of zone z, the first byte of frame j set to 0x40 + j. */
static void frames(mmusim_machine *m, enum mmusim_zone z, unsigned n, uint64_t *pfn)
{
    for (unsigned j = 0; j < n; j++) {
        assert_int_equal(mmusim_frame_alloc(m, z, &pfn[j]), MMUSIM_OK);
        uint8_t v = (uint8_t)(0x40 + j);
        assert_int_equal(mmusim_phys_write(m, pfn[j] << MMUSIM_PAGE_SHIFT, &v, 1), MMUSIM_OK);
    }
}

/* The address of CPU cpu's kmap slot i: __fix_to_virt(FIX_KMAP_BEGIN + i + slots_per_cpu * cpu). */
static uint32_t pos_va(const mmusim_machine *m, unsigned cpu, uint32_t i)
{
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    return mmusim_kmap_slot_vaddr(l, mmusim_kmap_idx(l, cpu, i));
}

/* The kernel PTE of va as stored now. */
static uint64_t pte_of(const mmusim_machine *m, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, mmusim_kernel_cr3(m), va, &info), MMUSIM_OK);
    return info.raw;
}

static struct mmusim_kmap_stats kstats(const mmusim_kmap_layer *k, int cpu)
{
    struct mmusim_kmap_stats s;
    assert_int_equal(mmusim_kmap_stats(k, cpu, &s), MMUSIM_OK);
    return s;
}

/* The n-th report (asserts it exists). */
static struct mmusim_report report(const mmusim_machine *m, unsigned n)
{
    struct mmusim_report r[16];
    uint64_t total = mmusim_machine_reports(m, r, 16);
    assert_true(n < total && n < 16);
    return r[n];
}

static void check_report(const mmusim_machine *m, unsigned n, enum mmusim_report_kind kind, unsigned cpu,
                         uint32_t address)
{
    struct mmusim_report r = report(m, n);
    assert_int_equal(r.kind, kind);
    assert_int_equal(r.cpu, cpu);
    assert_int_equal(r.address, address);
    assert_non_null(r.what);
}

/* ---- a scripted actor: one operation per step (a task or a handler) ---- */

enum op_kind {
    OP_MAP,     /* kmap_local(page j) into va[j] */
    OP_UNMAP,   /* kunmap_local(va[j]) */
    OP_UNMAP_VA, /* kunmap_local(n) */
    OP_AMAP,    /* kmap_atomic(page j) into va[j] */
    OP_AUNMAP,  /* kunmap_atomic(va[j]) */
    OP_READ,    /* one byte at va[j] into got[j] */
    OP_SPEND,   /* n cycles of work */
    OP_FORK,    /* create the task `child` on CPU n */
    OP_PTES,    /* the kernel PTEs of this CPU's positions 0 .. NPTES-1 into ptes[] */
};

#define NPTES 8

struct op {
    enum op_kind kind;
    unsigned j;
    uint64_t n;
};

struct actor {
    mmusim_kmap_layer *k;
    const uint64_t *pfn;
    struct op prog[64];
    unsigned n, pc;
    int rc[64];
    unsigned preempt[64];       /* preempt_count after each op */
    struct mmusim_kaddr va[MAXP];
    uint8_t got[MAXP];
    int faulted;
    struct actor *child;        /* OP_FORK */
    uint64_t ptes[NPTES];
};

static void add(struct actor *a, enum op_kind kind, unsigned j, uint64_t n)
{
    assert_true(a->n < 64);
    a->prog[a->n++] = (struct op){kind, j, n};
}

static enum mmusim_step actor_step(mmusim_cpu *cpu, void *arg)
{
    struct actor *a = arg;
    if (a->pc == a->n)
        return MMUSIM_STEP_DONE;
    const struct op *o = &a->prog[a->pc];
    mmusim_machine *m = mmusim_cpu_machine(cpu);
    int rc = MMUSIM_OK;
    switch (o->kind) {
    case OP_MAP:
        rc = mmusim_kmap_local(cpu, a->k, mmusim_page_of_pfn(m, a->pfn[o->j]), &a->va[o->j]);
        break;
    case OP_UNMAP:
        rc = mmusim_kunmap_local(cpu, a->k, a->va[o->j]);
        break;
    case OP_UNMAP_VA:
        rc = mmusim_kunmap_local(cpu, a->k, (struct mmusim_kaddr){(uint32_t)o->n});
        break;
    case OP_AMAP:
        rc = mmusim_kmap_atomic(cpu, a->k, mmusim_page_of_pfn(m, a->pfn[o->j]), MMUSIM_KM_USER0, &a->va[o->j]);
        break;
    case OP_AUNMAP:
        rc = mmusim_kunmap_atomic(cpu, a->k, a->va[o->j], MMUSIM_KM_USER0);
        break;
    case OP_READ: {
        struct mmusim_access acc;
        rc = mmusim_cpu_access(cpu, a->va[o->j].va, MMUSIM_ACC_READ, 1, &a->got[o->j], &acc);
        a->faulted |= acc.fault;
        break;
    }
    case OP_SPEND:
        mmusim_cpu_spend(cpu, o->n);
        break;
    case OP_PTES:
        for (uint32_t i = 0; i < NPTES; i++)
            a->ptes[i] = pte_of(m, pos_va(m, mmusim_cpu_id(cpu), i));
        break;
    case OP_FORK: {
        mmusim_task *t = NULL;
        rc = mmusim_task_create(m, (unsigned)o->n, 0, actor_step, a->child, &t);
        break;
    }
    }
    a->rc[a->pc] = rc;
    a->preempt[a->pc] = mmusim_cpu_preempt_count(cpu);
    a->pc++;
    return a->pc == a->n ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

static void actor_init(struct actor *a, mmusim_kmap_layer *k, const uint64_t *pfn)
{
    memset(a, 0, sizeof(*a));
    a->k = k;
    a->pfn = pfn;
}

static void all_ok(const struct actor *a)
{
    assert_int_equal(a->pc, a->n);
    for (unsigned i = 0; i < a->n; i++)
        assert_int_equal(a->rc[i], MMUSIM_OK);
    assert_false(a->faulted);
}

/* ==== the pair ==== */

/*
 * §5, §7: kmap_local of a highmem page pushes (idx 0 -> 1, position 0),
 * checks the PTE is none, set_pte_at, and arch_kmap_local_post_map does no
 * flush: 1 PTE write, 0 invlpg, costing pte_write. kunmap_local finds
 * the address in the fixmap, clears the top position (1 PTE write) and
 * flush_tlb_one_kernel(addr): 1 local invlpg, costing pte_write + invlpg.
 * No lock, no IPI, on any CPU. kmap_local leaves preemption enabled
 * (preempt_disable/_enable around the work only). The address is CPU 0's
 * slot 0; an access through it reads the page.
 */
static void test_local_pair_one_invlpg_no_ipi(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 2, 0, NULL, 0, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[1];
    frames(m, MMUSIM_ZONE_HIGHMEM, 1, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_READ, 0, 0);
    add(&a, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    assert_int_equal(a.va[0].va, pos_va(m, 0, 0));
    assert_int_equal(a.got[0], 0x40);
    assert_int_equal(a.preempt[0], 0);
    struct mmusim_cpu_stats s0 = ts_stats(m, 0), s1 = ts_stats(m, 1);
    assert_int_equal(s0.invlpg, 1);
    assert_int_equal(s0.pte_writes, 2);
    assert_int_equal(s0.ipis_sent + s1.ipis_sent + s1.ipis_received, 0);
    assert_int_equal(s0.shootdowns, 0);
    assert_int_equal(s0.lock_acquires, 0);
    assert_int_equal(s1.invlpg + s1.pte_writes, 0);
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.local_maps, 1);
    assert_int_equal(ks.local_unmaps, 1);
    assert_int_equal(ks.pte_writes, 2);
    assert_int_equal(ks.invlpgs, 1);
    assert_int_equal(ks.map_cycles, c->pte_write);
    assert_int_equal(ks.unmap_cycles, c->pte_write + c->invlpg);
    assert_int_equal(pte_of(m, pos_va(m, 0, 0)), 0);
    assert_int_equal(ts_nreports(m), 0);
}

/* §5: kmap_local of a lowmem page is page_address: no push, no PTE write, no flush (FORCE_MAP not modelled). */
static void test_local_lowmem_is_free(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    uint64_t pfn[1];
    frames(m, MMUSIM_ZONE_NORMAL, 1, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_READ, 0, 0);
    add(&a, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    assert_int_equal(a.va[0].va, mmusim_machine_layout(m)->page_offset + (uint32_t)(pfn[0] << MMUSIM_PAGE_SHIFT));
    assert_int_equal(a.got[0], 0x40);
    assert_int_equal(ts_stats(m, 0).pte_writes, 0);
    assert_int_equal(ts_stats(m, 0).invlpg, 0);
    assert_int_equal(kstats(k, 0).local_maps, 1);
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== the context switch ==== */

/* A recording layer around kmap's hooks: the CPU's invlpg and PTE-write counts at each switch hook. */
struct snap {
    int out;            /* switch_out, else switch_in */
    unsigned task;
    uint64_t invlpg, pte_writes;
};

struct recorder {
    struct snap s[32];
    unsigned n;
};

static void rec(struct recorder *r, int out, mmusim_cpu *cpu, mmusim_task *t)
{
    assert_true(r->n < 32);
    struct mmusim_cpu_stats st;
    mmusim_cpu_stats(cpu, &st);
    r->s[r->n++] = (struct snap){out, mmusim_task_id(t), st.invlpg, st.pte_writes};
}

static void rec_out(void *ctx, mmusim_cpu *cpu, mmusim_task *t)
{
    rec(ctx, 1, cpu, t);
}

static void rec_in(void *ctx, mmusim_cpu *cpu, mmusim_task *t)
{
    rec(ctx, 0, cpu, t);
}

static void add_recorder(mmusim_machine *m, struct recorder *r)
{
    memset(r, 0, sizeof(*r));
    struct mmusim__hooks h = {r, rec_out, rec_in, NULL, NULL, NULL};
    assert_int_equal(mmusim__hooks_register(mmusim__cpu_part(ts_cpu(m, 0)), &h), MMUSIM_OK);
}

/* The k-th snapshot of (out, task) in r. */
static const struct snap *find_snap(const struct recorder *r, int out, unsigned task, unsigned k)
{
    for (unsigned i = 0; i < r->n; i++)
        if (r->s[i].out == out && r->s[i].task == task && k-- == 0)
            return &r->s[i];
    fail_msg("no snapshot %s:%u", out ? "out" : "in", task);
    return NULL;
}

/*
 * Two tasks on one CPU, preempt=full, HZ 10,000 (the tick at P = cpu_mhz *
 * 100 cycles ends the slice). A maps N pages (N pushes: positions 0 ..
 * N-1, or 1, 3, .. 2N-1 with debug, whose KM_INCR is 2), reads them, and
 * works P cycles: the tick falls during that step and A, preempt_count 0
 * (kmap_local does not disable preemption), is switched out at its end.
 * __kmap_local_sched_out walks positions 0 .. idx-1 and clears each live
 * one with pte_clear + flush_tlb_one_kernel: N PTE writes and N invlpg
 * (the guard positions are skipped: no work). B then maps its own page:
 * its stack is empty, so it gets position 0 (1 with debug) — A's first
 * address — and must read its own page (A's entry was flushed). When A
 * comes back, __kmap_local_sched_in sets each saved pteval again with
 * set_pte_at and no flush: N PTE writes, 0 invlpg; A reads its pages
 * through the same addresses. Each hook's work is bracketed by two
 * recording layers, one registered before kmap's (its switch_out runs
 * after, its switch_in before) and one after.
 */
#define NLIVE 3

static void switch_scenario(void **state, int debug)
{
    const char *const kv[] = {"era",     "5.11", "debug_highmem", debug ? "1" : "0",
                              "preempt", "full", "hz",            "10000", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    static struct recorder before, after;
    add_recorder(m, &before); /* registered before kmap: sees switch_out after it, switch_in before it */
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_LOCAL_5_11);
    mmusim_kmap_layer *k = NULL;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    add_recorder(m, &after);
    mmusim_machine_set_coherence_check(m, 1);
    const uint64_t P = (uint64_t)ts_costs(m)->cpu_mhz * 100u;
    uint64_t pfn[NLIVE + 1];
    frames(m, MMUSIM_ZONE_HIGHMEM, NLIVE + 1, pfn);
    struct actor a, b;
    actor_init(&a, k, pfn);
    for (unsigned j = 0; j < NLIVE; j++)
        add(&a, OP_MAP, j, 0);
    for (unsigned j = 0; j < NLIVE; j++)
        add(&a, OP_READ, j, 0);
    add(&a, OP_SPEND, 0, P);
    for (unsigned j = 0; j < NLIVE; j++)
        add(&a, OP_READ, j, 0);
    for (unsigned j = NLIVE; j-- > 0;)
        add(&a, OP_UNMAP, j, 0);
    actor_init(&b, k, pfn);
    add(&b, OP_MAP, NLIVE, 0);
    add(&b, OP_READ, NLIVE, 0);
    add(&b, OP_UNMAP, NLIVE, 0);
    mmusim_task *ta = ts_spawn(m, 0, 0, actor_step, &a);
    mmusim_task *tb = ts_spawn(m, 0, 0, actor_step, &b);
    ts_run_all(m);
    all_ok(&a);
    all_ok(&b);
    assert_int_equal(ts_stats(m, 0).preemptions, 1);
    unsigned inc = debug ? 2 : 1;
    for (unsigned j = 0; j < NLIVE; j++) {
        assert_int_equal(a.va[j].va, pos_va(m, 0, inc * j + inc - 1));
        assert_int_equal(a.got[j], 0x40 + j);
    }
    assert_int_equal(b.va[NLIVE].va, a.va[0].va); /* B's position 0 is A's */
    assert_int_equal(b.got[NLIVE], 0x40 + NLIVE);

    unsigned ida = mmusim_task_id(ta), idb = mmusim_task_id(tb);
    /* A's switch-out at its preemption: N clears, N invlpg. */
    const struct snap *o0 = find_snap(&after, 1, ida, 0), *o1 = find_snap(&before, 1, ida, 0);
    assert_int_equal(o1->pte_writes - o0->pte_writes, NLIVE);
    assert_int_equal(o1->invlpg - o0->invlpg, NLIVE);
    /* A's switch-in after B: N sets, no invlpg. */
    const struct snap *i0 = find_snap(&before, 0, ida, 1), *i1 = find_snap(&after, 0, ida, 1);
    assert_int_equal(i1->pte_writes - i0->pte_writes, NLIVE);
    assert_int_equal(i1->invlpg - i0->invlpg, 0);
    /* B's switch-in and switch-out, and A's first switch-in and last switch-out: empty stacks, no work. */
    const struct snap *bi0 = find_snap(&before, 0, idb, 0), *bi1 = find_snap(&after, 0, idb, 0);
    assert_int_equal(bi1->pte_writes - bi0->pte_writes, 0);
    const struct snap *ao0 = find_snap(&after, 1, ida, 1), *ao1 = find_snap(&before, 1, ida, 1);
    assert_int_equal(ao1->pte_writes - ao0->pte_writes, 0);
    assert_int_equal(ao1->invlpg - ao0->invlpg, 0);

    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.ctxsw_clears, NLIVE);
    assert_int_equal(ks.ctxsw_restores, NLIVE);
    const struct mmusim_costs *c = ts_costs(m);
    assert_int_equal(ks.ctxsw_cycles, NLIVE * (2 * (uint64_t)c->pte_write + c->invlpg));
    /* In all: A's N pairs and B's pair (2 writes, 1 invlpg each), plus the switch's 2N writes and N invlpg. */
    assert_int_equal(ks.pte_writes, 2 * (NLIVE + 1) + 2 * NLIVE);
    assert_int_equal(ks.invlpgs, (NLIVE + 1) + NLIVE);
    assert_int_equal(mmusim_machine_coherence_violations(m, NULL, 0), 0);
    assert_int_equal(ts_nreports(m), 0);
    for (unsigned i = 0; i < 2 * NLIVE + 2; i++)
        assert_int_equal(pte_of(m, pos_va(m, 0, i)), 0);
}

static void test_local_switch_clears_and_restores(void **state)
{
    switch_scenario(state, 0);
}

/* With DEBUG_KMAP_LOCAL: the same counts, the guard positions skipped at both switches. */
static void test_local_switch_skips_guards(void **state)
{
    switch_scenario(state, 1);
}

/*
 * Without the switch-out's flush (opts.no_unmap_flush, for the checker's
 * tests), B's set of position 0 finds A's translation still in the TLB:
 * B's read hits the stale entry and gets A's byte, and the coherence
 * checker records it.
 */
static void test_local_switch_without_flush_is_caught(void **state)
{
    mmusim_machine *m;
    static const char *const kv[] = {"preempt", "full", "hz", "10000", NULL};
    mmusim_kmap_layer *k = local_layer(state, 1, 0, kv, 1, &m);
    mmusim_machine_set_coherence_check(m, 1);
    const uint64_t P = (uint64_t)ts_costs(m)->cpu_mhz * 100u;
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor a, b;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_READ, 0, 0);
    add(&a, OP_SPEND, 0, P);
    add(&a, OP_UNMAP, 0, 0);
    actor_init(&b, k, pfn);
    add(&b, OP_MAP, 1, 0);
    add(&b, OP_READ, 1, 0);
    add(&b, OP_UNMAP, 1, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_spawn(m, 0, 0, actor_step, &b);
    ts_run_all(m);
    assert_int_equal(b.va[1].va, a.va[0].va);
    assert_int_equal(b.got[1], 0x40); /* A's page, through the stale entry */
    assert_true(mmusim_machine_coherence_violations(m, NULL, 0) >= 1);
    assert_int_equal(kstats(k, 0).ctxsw_clears, 1);
    assert_int_equal(ts_stats(m, 0).invlpg, 0);
}

/* ==== the guard positions ==== */

/*
 * DEBUG_KMAP_LOCAL: KM_INCR 2, so the k-th push (idx 2k) maps position
 * 2k-1: 1, 3, 5, ...; the even positions stay none (guard pages).
 */
static void test_local_debug_guard_positions(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 1, NULL, 0, &m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 3, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    for (unsigned j = 0; j < 3; j++)
        add(&a, OP_MAP, j, 0);
    for (unsigned j = 0; j < 3; j++)
        add(&a, OP_READ, j, 0);
    add(&a, OP_PTES, 0, 0);
    for (unsigned j = 3; j-- > 0;)
        add(&a, OP_UNMAP, j, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    for (unsigned i = 0; i < 7; i++) {
        if (i & 1u)
            assert_int_equal(a.ptes[i] >> MMUSIM_PAGE_SHIFT, pfn[i / 2]);
        else
            assert_int_equal(a.ptes[i], 0);
    }
    for (unsigned j = 0; j < 3; j++) {
        assert_int_equal(a.va[j].va, pos_va(m, 0, 2 * j + 1));
        assert_int_equal(a.got[j], 0x40 + j);
    }
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== overflow and underflow ==== */

/*
 * kmap_local_idx_push: idx += KM_INCR; BUG_ON(idx >= KM_MAX_IDX),
 * unconditional in 5.11. Without debug (KM_MAX_IDX 16, KM_INCR 1) the
 * 16th push makes idx 16: BUG, so 15 mappings fit (the 16th slot is never
 * used). With debug (33, 2) the 17th push makes idx 34 >= 33: BUG, 16
 * fit. The BUG names the position the push would have mapped (idx - 1);
 * the call is refused with the stack as it was: a later unmap pops the
 * true top and a later map works.
 */
static void overflow(void **state, int debug)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, debug, NULL, 0, &m);
    unsigned fit = debug ? 16 : 15, inc = debug ? 2 : 1;
    uint64_t pfn[MAXP];
    frames(m, MMUSIM_ZONE_HIGHMEM, fit + 2, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    for (unsigned j = 0; j <= fit; j++)
        add(&a, OP_MAP, j, 0);              /* the last one overflows */
    add(&a, OP_UNMAP, fit - 1, 0);          /* the true top */
    add(&a, OP_MAP, fit + 1, 0);            /* works again, at the same position */
    add(&a, OP_READ, fit + 1, 0);
    add(&a, OP_UNMAP, fit + 1, 0);
    for (unsigned j = fit - 1; j-- > 0;)
        add(&a, OP_UNMAP, j, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    for (unsigned i = 0; i < a.n; i++)
        assert_int_equal(a.rc[i], i == fit ? MMUSIM_EKMAPBUG : MMUSIM_OK);
    assert_int_equal(a.va[fit - 1].va, pos_va(m, 0, inc * fit - 1));
    assert_int_equal(a.va[fit + 1].va, a.va[fit - 1].va);
    assert_int_equal(a.got[fit + 1], 0x40 + fit + 1);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_BUG, 0, pos_va(m, 0, inc * (fit + 1) - 1));
    assert_int_equal(kstats(k, 0).bugs, 1);
    /* The refused push wrote nothing: every map set once and every unmap cleared once. */
    assert_int_equal(kstats(k, 0).pte_writes, 2 * (fit + 1));
    for (unsigned i = 0; i < (debug ? 33u : 16u); i++)
        assert_int_equal(pte_of(m, pos_va(m, 0, i)), 0);
}

static void test_local_overflow_bug(void **state)
{
    overflow(state, 0);
}

static void test_local_overflow_bug_debug(void **state)
{
    overflow(state, 1);
}

/*
 * kunmap_local of a kmap address with nothing mapped: kmap_local_idx() is
 * -1 and kmap_local_idx_pop's BUG_ON(idx < 0) fires. mmusim refuses before
 * the kernel's clear of the PTE below the stack: no PTE write, no invlpg,
 * a BUG naming CPU 0 and the address. A pair afterwards works.
 */
static void test_local_underflow_bug(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    uint64_t pfn[1];
    frames(m, MMUSIM_ZONE_HIGHMEM, 1, pfn);
    uint32_t va0 = pos_va(m, 0, 0);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_UNMAP_VA, 0, va0 + 0x123);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_READ, 0, 0);
    add(&a, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    assert_int_equal(a.rc[0], MMUSIM_EKMAPBUG);
    for (unsigned i = 1; i < a.n; i++)
        assert_int_equal(a.rc[i], MMUSIM_OK);
    assert_int_equal(a.va[0].va, va0);
    assert_int_equal(a.got[0], 0x40);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_BUG, 0, va0 + 0x123);
    assert_int_equal(kstats(k, 0).pte_writes, 2); /* the pair's only */
    assert_int_equal(kstats(k, 0).invlpgs, 1);
    assert_int_equal(kstats(k, 0).local_unmaps, 1);
}

/*
 * kunmap_local_indexed with an address that is not the top's: WARN_ON_ONCE,
 * then the top position is cleared anyway and the address given is the one
 * flushed (arch_kmap_local_post_unmap(addr)). So after map 0 (position 0),
 * map 1 (position 1), a read through 1 (a TLB entry), and the unmap of 0's
 * address: position 1 is cleared but its TLB entry stays. The next map
 * takes position 1 again and sets it without a flush: a read through it
 * hits the stale entry, reads page 1, and the coherence checker records
 * it. The later mismatched unmap makes no second report (WARN_ON_ONCE).
 * At the end every position is clear and a new pair works.
 */
static void test_local_wrong_address_warns_once(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    mmusim_machine_set_coherence_check(m, 1);
    uint64_t pfn[4];
    frames(m, MMUSIM_ZONE_HIGHMEM, 4, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_MAP, 1, 0);
    add(&a, OP_READ, 1, 0);
    add(&a, OP_UNMAP, 0, 0);  /* 5: not the top: WARN, position 1 cleared, 0's address flushed */
    add(&a, OP_MAP, 2, 0);    /* position 1 again */
    add(&a, OP_READ, 2, 0);   /* the stale entry: page 1's byte */
    add(&a, OP_UNMAP, 2, 0);
    add(&a, OP_UNMAP, 1, 0);  /* position 1's address, top is 0: no second report */
    add(&a, OP_MAP, 3, 0);
    add(&a, OP_READ, 3, 0);
    add(&a, OP_UNMAP, 3, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    assert_int_equal(a.va[2].va, a.va[1].va);
    assert_int_equal(a.got[2], 0x41);
    assert_int_equal(mmusim_machine_coherence_violations(m, NULL, 0), 1);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, a.va[0].va);
    assert_int_equal(a.va[3].va, pos_va(m, 0, 0));
    assert_int_equal(a.got[3], 0x43);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(pte_of(m, pos_va(m, 0, i)), 0);
}

/* kunmap_local of a user address: outside the fixmap, WARN_ON_ONCE(addr < PAGE_OFFSET), nothing else. */
static void test_local_user_address_warns(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    uint64_t pfn[1];
    frames(m, MMUSIM_ZONE_HIGHMEM, 1, pfn);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_UNMAP_VA, 0, TS_USER_VA);
    add(&a, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, TS_USER_VA);
    assert_int_equal(kstats(k, 0).pte_writes, 2);
}

/*
 * A task that ends with a live mapping (kmap_assert_nomap on its way out):
 * a WARN naming CPU 0 and the top address. The switch-out that follows
 * (__kmap_local_sched_out) clears it: 1 clear, 1 invlpg. A task created
 * afterwards starts with an empty stack and maps position 0 cleanly.
 */
static void test_local_task_end_with_mapping(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 3, pfn);
    struct actor a, b;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_MAP, 1, 0);
    add(&a, OP_UNMAP, 1, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, pos_va(m, 0, 0));
    assert_int_equal(kstats(k, 0).ctxsw_clears, 1);
    assert_int_equal(pte_of(m, pos_va(m, 0, 0)), 0);

    actor_init(&b, k, pfn);
    add(&b, OP_MAP, 2, 0);
    add(&b, OP_READ, 2, 0);
    add(&b, OP_UNMAP, 2, 0);
    ts_spawn(m, 0, 0, actor_step, &b);
    ts_run_all(m);
    all_ok(&b);
    assert_int_equal(b.va[2].va, pos_va(m, 0, 0));
    assert_int_equal(b.got[2], 0x42);
    assert_int_equal(ts_nreports(m), 1);
}

/* ==== interrupts ==== */

/*
 * An interrupt taken while a task holds two mappings pushes on the task's
 * stack (current->kmap_ctrl): its map gets position 2 and pops back to 2,
 * the task's positions untouched (Gleixner's argument, §5). The handler's
 * pair costs what a pair costs: 2 PTE writes, 1 invlpg. Then the task
 * reads its pages and unmaps in order, with no report.
 */
static void test_local_interrupt_nests_on_task_stack(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 3, pfn);
    struct actor a, h;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_MAP, 1, 0);
    add(&a, OP_SPEND, 0, 10000);   /* the interrupt arrives during this step */
    add(&a, OP_READ, 0, 0);
    add(&a, OP_READ, 1, 0);
    add(&a, OP_UNMAP, 1, 0);
    add(&a, OP_UNMAP, 0, 0);
    actor_init(&h, k, pfn);
    add(&h, OP_MAP, 2, 0);
    add(&h, OP_READ, 2, 0);
    add(&h, OP_UNMAP, 2, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    assert_int_equal(mmusim_irq_at(m, 0, c->ctx_switch + 2 * (uint64_t)c->pte_write + 5000, actor_step, &h),
                     MMUSIM_OK);
    ts_run_all(m);
    all_ok(&a);
    all_ok(&h);
    assert_int_equal(ts_stats(m, 0).irqs, 1);
    assert_int_equal(h.va[2].va, pos_va(m, 0, 2));
    assert_int_equal(h.got[2], 0x42);
    assert_int_equal(a.got[0], 0x40);
    assert_int_equal(a.got[1], 0x41);
    assert_int_equal(kstats(k, 0).pte_writes, 3 * 2);
    assert_int_equal(kstats(k, 0).invlpgs, 3);
    assert_int_equal(ts_nreports(m), 0);
}

/*
 * A handler that returns with its mapping held: a WARN (mmusim's check, no
 * kernel counterpart) naming the CPU and the address it left, here
 * position 1 above the task's position 0. mmusim unwinds it (1 clear, 1
 * invlpg), so the task's unmap of position 0 is the top's: no WARN.
 */
static void test_local_handler_end_with_mapping(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    const struct mmusim_costs *c = ts_costs(m);
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor a, h;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_SPEND, 0, 10000);
    add(&a, OP_READ, 0, 0);
    add(&a, OP_UNMAP, 0, 0);
    actor_init(&h, k, pfn);
    add(&h, OP_MAP, 1, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    assert_int_equal(mmusim_irq_at(m, 0, c->ctx_switch + c->pte_write + 5000, actor_step, &h), MMUSIM_OK);
    ts_run_all(m);
    all_ok(&a);
    all_ok(&h);
    assert_int_equal(h.va[1].va, pos_va(m, 0, 1));
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, pos_va(m, 0, 1));
    assert_int_equal(a.got[0], 0x40);
    assert_int_equal(pte_of(m, pos_va(m, 0, 1)), 0);
    assert_int_equal(kstats(k, 0).invlpgs, 2); /* the unwind's and the task's unmap */
}

/*
 * A handler on an idle CPU (no task current) uses that CPU's idle stack:
 * position 0 of CPU 1. Returning with it held is reported against CPU 1
 * and unwound; a second handler there gets position 0 again and pairs
 * cleanly.
 */
static void test_local_idle_handler_stack(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 2, 0, NULL, 0, &m);
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor h1, h2;
    actor_init(&h1, k, pfn);
    add(&h1, OP_MAP, 0, 0);
    add(&h1, OP_READ, 0, 0);
    actor_init(&h2, k, pfn);
    add(&h2, OP_MAP, 1, 0);
    add(&h2, OP_READ, 1, 0);
    add(&h2, OP_UNMAP, 1, 0);
    assert_int_equal(mmusim_irq_at(m, 1, 10000, actor_step, &h1), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at(m, 1, 20000, actor_step, &h2), MMUSIM_OK);
    ts_run_all(m);
    all_ok(&h1);
    all_ok(&h2);
    assert_int_equal(h1.va[0].va, pos_va(m, 1, 0));
    assert_int_equal(h2.va[1].va, pos_va(m, 1, 0));
    assert_int_equal(h1.got[0], 0x40);
    assert_int_equal(h2.got[1], 0x41);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 1, pos_va(m, 1, 0));
    assert_int_equal(pte_of(m, pos_va(m, 1, 0)), 0);
    assert_int_equal(kstats(k, 0).pte_writes + kstats(k, 0).invlpgs, 0);
}

/*
 * kmap_local_idx_push: WARN_ON_ONCE(in_irq() && !irqs_disabled()). A 5.11
 * handler always runs with interrupts off (IRQF_DISABLED is the rule from
 * 2.6.35), but on a 2.6.32 machine (19 slots per CPU, room for KM_MAX_IDX
 * 16) a handler requested without IRQF_DISABLED runs with them on: its
 * first push WARNs (address 0: the push has none yet), its second does not
 * (once), and both pairs complete.
 */
static void test_local_push_in_hardirq_with_irqs_on_warns_once(void **state)
{
    static const char *const kv[] = {"era", "2.6.32", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_LOCAL_5_11);
    mmusim_kmap_layer *k = NULL;
    assert_int_equal(mmusim_kmap_create(m, &o, &k), MMUSIM_OK);
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor h1, h2;
    actor_init(&h1, k, pfn);
    add(&h1, OP_MAP, 0, 0);
    add(&h1, OP_UNMAP, 0, 0);
    actor_init(&h2, k, pfn);
    add(&h2, OP_MAP, 1, 0);
    add(&h2, OP_UNMAP, 1, 0);
    assert_int_equal(mmusim_irq_at_flags(m, 0, 1000, actor_step, &h1, 0), MMUSIM_OK);
    assert_int_equal(mmusim_irq_at_flags(m, 0, 50000, actor_step, &h2, 0), MMUSIM_OK);
    ts_run_all(m);
    all_ok(&h1);
    all_ok(&h2);
    assert_int_equal(h1.va[0].va, pos_va(m, 0, 0));
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, 0);
    assert_int_equal(kstats(k, 0).local_maps, 2);
}

/* ==== fork ==== */

/*
 * kmap_local_fork: a child starts with idx 0; forking while the parent
 * holds a mapping would copy its kmap_ctrl, which 5.11 WARNs about (once)
 * and clears. The child, on CPU 1, maps position 0 of CPU 1.
 */
static void test_local_fork_warns_and_child_starts_empty(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 2, 0, NULL, 0, &m);
    uint64_t pfn[2];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    struct actor p, ch;
    actor_init(&ch, k, pfn);
    add(&ch, OP_MAP, 1, 0);
    add(&ch, OP_READ, 1, 0);
    add(&ch, OP_UNMAP, 1, 0);
    actor_init(&p, k, pfn);
    p.child = &ch;
    add(&p, OP_MAP, 0, 0);
    add(&p, OP_FORK, 0, 1);
    add(&p, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &p);
    ts_run_all(m);
    all_ok(&p);
    all_ok(&ch);
    assert_int_equal(ts_nreports(m), 1);
    check_report(m, 0, MMUSIM_REPORT_WARN, 0, pos_va(m, 0, 0));
    assert_int_equal(ch.va[1].va, pos_va(m, 1, 0));
    assert_int_equal(ch.got[1], 0x41);
}

/* ==== kmap_atomic of 5.11 ==== */

/*
 * 5.11's kmap_atomic is preempt_disable, pagefault_disable, then the local
 * map on the same per-task stack: after a kmap_local (position 0) it takes
 * position 1, with preemption disabled until kunmap_atomic (preempt_count
 * 1), and costs a pair's 2 PTE writes and 1 invlpg. Of a lowmem page it
 * still raises the counts and returns page_address.
 */
static void test_local_kmap_atomic_shares_the_stack(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    uint64_t pfn[3];
    frames(m, MMUSIM_ZONE_HIGHMEM, 2, pfn);
    frames(m, MMUSIM_ZONE_NORMAL, 1, &pfn[2]);
    struct actor a;
    actor_init(&a, k, pfn);
    add(&a, OP_MAP, 0, 0);
    add(&a, OP_AMAP, 1, 0);
    add(&a, OP_READ, 1, 0);
    add(&a, OP_AUNMAP, 1, 0);
    add(&a, OP_AMAP, 2, 0);
    add(&a, OP_AUNMAP, 2, 0);
    add(&a, OP_UNMAP, 0, 0);
    ts_spawn(m, 0, 0, actor_step, &a);
    ts_run_all(m);
    all_ok(&a);
    static const unsigned want_preempt[] = {0, 1, 1, 0, 1, 0, 0};
    for (unsigned i = 0; i < a.n; i++)
        assert_int_equal(a.preempt[i], want_preempt[i]);
    assert_int_equal(a.va[1].va, pos_va(m, 0, 1));
    assert_int_equal(a.got[1], 0x41);
    assert_int_equal(a.va[2].va, mmusim_machine_layout(m)->page_offset + (uint32_t)(pfn[2] << MMUSIM_PAGE_SHIFT));
    struct mmusim_kmap_stats ks = kstats(k, 0);
    assert_int_equal(ks.atomic_maps, 2);
    assert_int_equal(ks.atomic_unmaps, 2);
    assert_int_equal(ks.pte_writes, 4);
    assert_int_equal(ks.invlpgs, 2);
    assert_int_equal(ts_nreports(m), 0);
}

/* ==== refusals ==== */

static void test_local_refusals(void **state)
{
    mmusim_machine *m;
    mmusim_kmap_layer *k = local_layer(state, 1, 0, NULL, 0, &m);
    mmusim_cpu *cpu = ts_cpu(m, 0);
    struct mmusim_kaddr va;
    struct mmusim_page far = {mmusim_machine_layout(m)->max_pfn, MMUSIM_ZONE_HIGHMEM};
    assert_int_equal(mmusim_kmap_local(NULL, k, far, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_local(cpu, NULL, far, &va), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_local(cpu, k, far, NULL), MMUSIM_EINVAL);
    assert_int_equal(mmusim_kmap_local(cpu, k, far, &va), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kunmap_local(NULL, k, va), MMUSIM_EINVAL);
    /* A CPU of another machine. */
    mmusim_machine *m2 = ts_machine(state, 1, NULL);
    assert_int_equal(mmusim_kunmap_local(ts_cpu(m2, 0), k, va), MMUSIM_EINVAL);
    /* The heap's calls belong to the heap variant; kmap_local to local-5.11 only. */
    struct mmusim_page pg = mmusim_page_of_pfn(m, 0);
    assert_int_equal(mmusim_kmap_heap(cpu, k, &pg, 1, &va), MMUSIM_EKMAPVARIANT);
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_STACK_2_6_37);
    mmusim_kmap_layer *k2 = NULL;
    assert_int_equal(mmusim_kmap_create(m2, &o, &k2), MMUSIM_OK);
    assert_int_equal(mmusim_kmap_local(ts_cpu(m2, 0), k2, pg, &va), MMUSIM_EKMAPVARIANT);
    assert_int_equal(mmusim_kunmap_local(ts_cpu(m2, 0), k2, va), MMUSIM_EKMAPVARIANT);
    /* 2.6.18's fixmap has 13 slots per CPU, fewer than KM_MAX_IDX 16. */
    static const char *const old[] = {"era", "2.6.18", NULL};
    mmusim_machine *m3 = ts_machine(state, 1, old);
    mmusim_kmap_opts_init(&o, MMUSIM_KMAP_LOCAL_5_11);
    assert_int_equal(mmusim_kmap_create(m3, &o, &k2), MMUSIM_EKMAPFIT);
    assert_int_equal(ts_nreports(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_local_pair_one_invlpg_no_ipi),
        TS_TEST(test_local_lowmem_is_free),
        TS_TEST(test_local_switch_clears_and_restores),
        TS_TEST(test_local_switch_skips_guards),
        TS_TEST(test_local_switch_without_flush_is_caught),
        TS_TEST(test_local_debug_guard_positions),
        TS_TEST(test_local_overflow_bug),
        TS_TEST(test_local_overflow_bug_debug),
        TS_TEST(test_local_underflow_bug),
        TS_TEST(test_local_wrong_address_warns_once),
        TS_TEST(test_local_user_address_warns),
        TS_TEST(test_local_task_end_with_mapping),
        TS_TEST(test_local_interrupt_nests_on_task_stack),
        TS_TEST(test_local_handler_end_with_mapping),
        TS_TEST(test_local_idle_handler_stack),
        TS_TEST(test_local_push_in_hardirq_with_irqs_on_warns_once),
        TS_TEST(test_local_fork_warns_and_child_starts_empty),
        TS_TEST(test_local_kmap_atomic_shares_the_stack),
        TS_TEST(test_local_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
