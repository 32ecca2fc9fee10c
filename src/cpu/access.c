/*
 * mmusim — memory access through the TLBs, the flush primitives, TLB
 * statistics and the coherence checker (include/mmusim/cpu.h).
 *
 * The hit path is: one array lookup (set index, a few tag compares, the
 * replacement update), one mask compare for the rights, the data access.
 * Everything else — the next TLB level, the walk, the fill, the checker —
 * is out of line.
 */
#include <stdlib.h>

#include "cpu/cpu_impl.h"
#include "cpu/hot.h"
#include "cpu/hooks.h"
#include "mmusim/error.h"

_Static_assert(TS_ITLB_4K == (int)MMUSIM_TLB_ITLB_4K && TS_PDECACHE == (int)MMUSIM_TLB_PDECACHE &&
                   TS_COUNT == (int)MMUSIM_TLB_COUNT_ && TS_UTLB == (int)MMUSIM_TLB_UTLB,
               "enum tlbset_id and enum mmusim_tlb_id share an order");

/* ---- rights on a hit ---- */

/*
 * SDM §4.6 turned into entry flags: what an entry must have for the access to
 * use it without a walk. A write also needs TLBE_D: a write through an entry
 * not yet dirty walks again so the walker sets D (SDM §4.8).
 */
void mmusim__cpu_update_hit_masks(struct mmusim_cpu *cpu)
{
    int wp = (cpu->regs.cr0 & MMUSIM_CR0_WP) != 0;
    for (unsigned a = 0; a < 8; a++) {
        unsigned kind = MMUSIM_ACC_KIND(a), user = a & MMUSIM_ACC_USER;
        uint32_t want = user ? TLBE_U : 0, forbid = 0;
        if (kind == MMUSIM_ACC_WRITE)
            want |= TLBE_D | ((user || wp) ? TLBE_W : 0);
        if (kind == MMUSIM_ACC_EXEC)
            forbid = TLBE_NX;
        cpu->hit_mask[a] = want | forbid;
        cpu->hit_want[a] = want;
    }
}

/* ---- the coherence checker ---- */

static unsigned rights_of(uint32_t flags)
{
    return flags & (TLBE_W | TLBE_U | TLBE_NX); /* same bit values as MMUSIM_RIGHT_* */
}

MMUSIM_NOINLINE static void check_hit(struct mmusim_cpu *cpu, uint32_t va, const struct tlb_entry *e,
                                      unsigned shift)
{
    struct mmusim_cpu_stats scratch = {0};
    struct mmu_ctx c = {cpu->sys->mmu, &cpu->regs, NULL, &cpu->sys->cfg->costs, &scratch};
    struct mmusim_walk w;
    mmusim__mmu_walk(&c, va, MMUSIM_ACC_READ, 0, &w, NULL); /* a peek: no A/D, no clock */
    uint64_t page = ~((1ull << shift) - 1);
    uint64_t stale_pa = e->pa & page, now_pa = w.pa & page;
    unsigned now_rights = (w.writable ? TLBE_W : 0) | (w.user ? TLBE_U : 0) | (w.nx ? TLBE_NX : 0);
    if (!w.fault && stale_pa == now_pa && rights_of(e->flags) == now_rights)
        return;
    struct cpu_sys *m = cpu->sys;
    cpu->stats.coherence_violations++;
    if (m->nviolations < MAX_VIOLATIONS && m->violations) {
        struct mmusim_coherence_violation *v = &m->violations[m->nviolations];
        v->cpu = cpu->id;
        v->va = va;
        v->cycle = cpu->cycles;
        v->stale_pa = stale_pa;
        v->current_pa = w.fault ? 0 : now_pa;
        v->current_present = !w.fault;
        v->stale_rights = rights_of(e->flags);
        v->current_rights = w.fault ? 0 : now_rights;
        v->leaf_pa = e->leaf_pa;
        const struct pte_writer *wr = mmusim__pte_writer_find(&m->writers, e->leaf_pa);
        v->writer_cpu = wr ? wr->cpu : MMUSIM_NO_WRITER;
        v->written_at = wr ? wr->cycle : 0;
    }
    m->nviolations++;
}

void mmusim__machine_set_coherence_check(struct cpu_sys *m, int on)
{
    if (!m)
        return;
    if (on && !m->violations)
        m->violations = mmusim__calloc(MAX_VIOLATIONS, sizeof(*m->violations));
    m->check = on && m->violations != NULL;
}

uint64_t mmusim__machine_coherence_violations(const struct cpu_sys *m, struct mmusim_coherence_violation *buf,
                                             size_t max)
{
    if (!m)
        return 0;
    size_t kept = m->nviolations < MAX_VIOLATIONS ? (size_t)m->nviolations : MAX_VIOLATIONS;
    for (size_t i = 0; buf && m->violations && i < kept && i < max; i++)
        buf[i] = m->violations[i];
    return m->nviolations;
}

void mmusim__machine_coherence_reset(struct cpu_sys *m)
{
    if (m)
        m->nviolations = 0;
}

/* ---- translation ---- */

struct xlate {
    uint64_t pa;
    uint64_t cycles;
    int walked;
    int dirty_refused;       /* an entry was refused only for lacking D */
    struct mmusim_walk walk; /* valid when walked */
};

/* A hit in array a usable for access acc: the physical address, and the checker's look. */
static inline int use_entry(struct mmusim_cpu *cpu, struct tlb_array *a, struct tlb_entry *e, uint32_t va,
                            unsigned acc, struct xlate *x)
{
    if (MMUSIM_UNLIKELY((e->flags & cpu->hit_mask[acc]) != cpu->hit_want[acc]))
        return 0;
    if (MMUSIM_UNLIKELY(cpu->sys->check))
        check_hit(cpu, va, e, a->shift);
    x->pa = e->pa + (va & ((1u << a->shift) - 1u));
    return 1;
}

/*
 * The entry could not serve the access: drop it so the walk refills it. A
 * write may be refused by several levels (dtlb.4k, then the STLB) for want of
 * D: the translation counts one dirty re-walk, when it walks.
 */
static void refuse_entry(struct mmusim_cpu *cpu, struct tlb_array *a, struct tlb_entry *e, unsigned acc,
                         struct xlate *x)
{
    uint32_t missing = cpu->hit_want[acc] & ~e->flags;
    if (missing == TLBE_D)
        x->dirty_refused = 1;
    tlb_array_drop(a, e);
}

/*
 * Fill after a successful walk: the arrays this access goes through. Every
 * TLB array filled here (and after a hit in a lower level, below) was looked
 * up for va by this translation and missed, or its entry was refused and
 * dropped, so the fills are inserts with no search for an entry to refill in
 * place. The PDE cache alone may hold the PDE: its lookup may have hit.
 */
static void fill_after_walk(struct mmusim_cpu *cpu, uint32_t va, unsigned acc, const struct mmusim_walk *w,
                            const struct walk_pde *pde)
{
    struct tlbset *t = &cpu->tlb;
    unsigned kind = MMUSIM_ACC_KIND(acc);
    uint32_t flags = (w->writable ? TLBE_W : 0) | (w->user ? TLBE_U : 0) | (w->nx ? TLBE_NX : 0) |
                     (w->global ? TLBE_G : 0) | ((w->leaf & MMUSIM_PTE_D) ? TLBE_D : 0);
    struct tlb_array *l1_4k = &t->a[kind == MMUSIM_ACC_EXEC ? TS_ITLB_4K : TS_DTLB_4K];
    struct tlb_array *l1_large = &t->a[kind == MMUSIM_ACC_EXEC ? TS_ITLB_LARGE : TS_DTLB_LARGE];
    if (w->size == MMUSIM_PAGE_LARGE) {
        uint64_t base = w->pa & ~((1ull << t->large_shift) - 1);
        if (tlb_array_present(l1_large)) {
            tlb_array_insert(l1_large, va, base, w->leaf_pa, flags | TLBE_LARGE);
        } else {
            /* No large array of this kind: keep the 4 KiB piece, remembered as a fragment. */
            t->fragments = 1;
            tlb_array_insert(l1_4k, va, w->pa & MMUSIM_PAGE_MASK, w->leaf_pa, flags | TLBE_LARGE);
        }
        return;
    }
    uint64_t page = w->pa & MMUSIM_PAGE_MASK;
    tlb_array_insert(l1_4k, va, page, w->leaf_pa, flags);
    tlb_array_insert(&t->a[TS_STLB], va, page, w->leaf_pa, flags);
    if (kind == MMUSIM_ACC_READ)
        tlb_array_insert(&t->a[TS_UTLB], va, page, w->leaf_pa, flags);
    /* The PDE cache holds the PDE itself: its value and where it lives. A
     * walk that started from a cached PDE left that entry as it was and its
     * lookup already touched it, so the refill would change nothing. */
    if (pde->table && !(pde->cached && pde->value == pde->cached_value))
        mmusim__tlb_array_fill(&t->a[TS_PDECACHE], va, pde->value, pde->pa, 0);
}

/* Everything past the first-level lookup: next levels, the walk, the fill. */
MMUSIM_NOINLINE static void translate_slow(struct mmusim_cpu *cpu, uint32_t va, unsigned acc, struct xlate *x)
{
    struct tlbset *t = &cpu->tlb;
    const struct mmusim_costs *costs = &cpu->sys->cfg->costs;
    unsigned kind = MMUSIM_ACC_KIND(acc);
    struct tlb_array *l1_4k = &t->a[kind == MMUSIM_ACC_EXEC ? TS_ITLB_4K : TS_DTLB_4K];
    struct tlb_array *l1_large = &t->a[kind == MMUSIM_ACC_EXEC ? TS_ITLB_LARGE : TS_DTLB_LARGE];
    struct tlb_entry *e;

    /* A load that missed the uTLB tries the first-level DTLB (Core 2: DTLB0 -> DTLB1). */
    if (kind == MMUSIM_ACC_READ && tlb_array_present(&t->a[TS_UTLB])) {
        if ((e = tlb_array_lookup(l1_4k, va)) != NULL) {
            if (use_entry(cpu, l1_4k, e, va, acc, x)) {
                x->cycles += costs->tlb_l0_miss;
                if (!(e->flags & TLBE_LARGE))
                    tlb_array_insert(&t->a[TS_UTLB], va, e->pa, e->leaf_pa, e->flags);
                return;
            }
            refuse_entry(cpu, l1_4k, e, acc, x);
        }
    }
    if ((e = tlb_array_lookup(l1_large, va)) != NULL) {
        if (use_entry(cpu, l1_large, e, va, acc, x))
            return;
        refuse_entry(cpu, l1_large, e, acc, x);
    }
    if ((e = tlb_array_lookup(&t->a[TS_STLB], va)) != NULL) {
        if (use_entry(cpu, &t->a[TS_STLB], e, va, acc, x)) {
            x->cycles += costs->stlb_hit;
            tlb_array_insert(l1_4k, va, e->pa, e->leaf_pa, e->flags);
            if (kind == MMUSIM_ACC_READ)
                tlb_array_insert(&t->a[TS_UTLB], va, e->pa, e->leaf_pa, e->flags);
            return;
        }
        refuse_entry(cpu, &t->a[TS_STLB], e, acc, x);
    }

    /* A miss everywhere: the PDE cache, then the walker. */
    struct walk_pde pde = {0};
    if ((e = tlb_array_lookup(&t->a[TS_PDECACHE], va)) != NULL) {
        pde.cached = 1;
        pde.value = pde.cached_value = e->pa;
        pde.pa = e->leaf_pa;
    }
    struct mmu_ctx c = cpu_mmu_ctx(cpu);
    mmusim__mmu_walk(&c, va, acc, WALK_SET_AD, &x->walk, &pde);
    x->walked = 1;
    cpu->stats.dirty_rewalks += (uint64_t)x->dirty_refused;
    x->cycles += x->walk.cycles;
    cpu->stats.walk_cycles += x->walk.cycles;
    if (x->walk.fault) {
        cpu->regs.cr2 = x->walk.cr2;
        return;
    }
    fill_after_walk(cpu, va, acc, &x->walk, &pde);
    x->pa = x->walk.pa;
}

/*
 * Translate va for access acc, given what the first array's lookup returned
 * (e, possibly NULL); on a fault x->walk.fault is set.
 */
static void translate_from(struct mmusim_cpu *cpu, uint32_t va, unsigned acc, struct xlate *x, struct tlb_entry *e)
{
    struct tlb_array *first = cpu->first[MMUSIM_ACC_KIND(acc)];
    x->pa = 0; /* what a fault reports */
    x->cycles = 0;
    x->walked = 0;
    x->dirty_refused = 0;
    x->walk.fault = 0;
    if (e != NULL) {
        if (use_entry(cpu, first, e, va, acc, x))
            return;
        refuse_entry(cpu, first, e, acc, x);
    }
    translate_slow(cpu, va, acc, x);
}

static void translate(struct mmusim_cpu *cpu, uint32_t va, unsigned acc, struct xlate *x)
{
    translate_from(cpu, va, acc, x, tlb_array_lookup(cpu->first[MMUSIM_ACC_KIND(acc)], va));
}

/* ---- data ---- */

/* n bytes inside one frame (the caller split the access at the page boundary). */
static inline int data_op(struct mmusim_cpu *cpu, uint64_t pa, unsigned n, void *data, int write)
{
    struct physmem *pm = &cpu->sys->mmu->pm;
    if (MMUSIM_UNLIKELY(pa + n > cpu->sys->cfg->mem_bytes))
        return MMUSIM_EPHYS; /* a raw entry may point past RAM */
    if (!data)
        return MMUSIM_OK;
    uint8_t *f = write ? mmusim__physmem_frame_rw(pm, pa >> MMUSIM_PAGE_SHIFT) : physmem_frame(pm, pa >> MMUSIM_PAGE_SHIFT);
    if (MMUSIM_UNLIKELY(!f)) {
        if (write)
            return MMUSIM_ENOMEM;
        memset(data, 0, n); /* a frame never written reads as zero */
        return MMUSIM_OK;
    }
    if (write)
        memcpy(f + (pa & MMUSIM_PAGE_OFFSET_MASK), data, n);
    else
        memcpy(data, f + (pa & MMUSIM_PAGE_OFFSET_MASK), n);
    return MMUSIM_OK;
}

static void finish(struct mmusim_cpu *cpu, struct mmusim_access *out, uint64_t cycles)
{
    out->cycles = cycles;
    cpu->cycles += cycles;
    cpu->stats.accesses++;
    cpu->stats.access_cycles += cycles;
}

static void report_fault(struct mmusim_access *out, const struct xlate *x)
{
    out->fault = 1;
    out->error_code = x->walk.error_code;
    out->cr2 = x->walk.cr2;
}

/*
 * Everything but a usable first-level hit inside one page: refused or missing
 * entries, the walk, faults, the checker, straddling accesses. e is what the
 * first array's lookup returned (already counted).
 */
MMUSIM_NOINLINE static int access_slow(struct mmusim_cpu *cpu, uint32_t va, unsigned access, unsigned size,
                                       void *data, struct mmusim_access *out, struct tlb_entry *e)
{
    struct xlate x;
    translate_from(cpu, va, access, &x, e);
    out->fault = 0;
    out->walked = x.walked;
    out->pa = x.pa;
    unsigned first = MMUSIM_PAGE_SIZE - (va & MMUSIM_PAGE_OFFSET_MASK);
    if (first >= size) {
        int rc = MMUSIM_OK;
        if (x.walk.fault)
            report_fault(out, &x);
        else
            rc = data_op(cpu, x.pa, size, data, MMUSIM_ACC_KIND(access) == MMUSIM_ACC_WRITE);
        finish(cpu, out, x.cycles);
        return rc;
    }
    /* Straddling two pages: translate both, then move the bytes. */
    struct xlate y;
    uint64_t cycles = x.cycles;
    y.walk.fault = 0;
    if (!x.walk.fault) {
        translate(cpu, va + first, access, &y);
        cycles += y.cycles;
        out->walked |= y.walked;
    }
    int rc = MMUSIM_OK;
    if (x.walk.fault) {
        report_fault(out, &x);
    } else if (y.walk.fault) {
        report_fault(out, &y);
    } else {
        int write = MMUSIM_ACC_KIND(access) == MMUSIM_ACC_WRITE;
        uint8_t *bytes = data;
        rc = data_op(cpu, x.pa, first, bytes, write);
        if (rc == MMUSIM_OK)
            rc = data_op(cpu, y.pa, size - first, bytes ? bytes + first : NULL, write);
    }
    finish(cpu, out, cycles);
    return rc;
}

/* Per size - 1, the valid access values as a bit mask: kinds 0..2, USER or not (kind 3 is not one). */
static const uint8_t valid_access[8] = {0x77, 0x77, 0, 0x77, 0, 0, 0, 0x77};

/*
 * The hit path: the first array's lookup, the rights mask, the data. A hit
 * costs no cycles (the TLB lookup is part of the load's latency), so the
 * clock and access_cycles are left as they are.
 */
int mmusim_cpu_access(mmusim_cpu *cpu, uint32_t va, unsigned access, unsigned size, void *data,
                      struct mmusim_access *out)
{
    if (MMUSIM_UNLIKELY(!cpu || !out || size - 1u > 7u || access > 7u || !((valid_access[size - 1u] >> access) & 1u)))
        return MMUSIM_EINVAL;
    struct tlb_array *a = cpu->first[MMUSIM_ACC_KIND(access)];
    struct tlb_entry *e = tlb_array_lookup(a, va);
    if (MMUSIM_UNLIKELY(e == NULL || (e->flags & cpu->hit_mask[access]) != cpu->hit_want[access] ||
                        cpu->sys->check || (va & MMUSIM_PAGE_OFFSET_MASK) + size > MMUSIM_PAGE_SIZE))
        return access_slow(cpu, va, access, size, data, out, e);
    uint64_t pa = e->pa + (va & ((1u << a->shift) - 1u));
    out->fault = 0;
    out->walked = 0;
    out->pa = pa;
    out->cycles = 0;
    cpu->stats.accesses++;
    return data_op(cpu, pa, size, data, MMUSIM_ACC_KIND(access) == MMUSIM_ACC_WRITE);
}

/* ---- the batch call ---- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MMUSIM_BIG_ENDIAN_HOST 1
#else
#define MMUSIM_BIG_ENDIAN_HOST 0
#endif

/*
 * Every reference valid: an access of kind 0..2 with or without USER, a
 * size of 1 to 4096. Branch-free over the array so the compiler can
 * vectorise it: it runs before any reference does (a refused call changes
 * nothing), and costs a few instructions a reference.
 */
static int batch_valid(const struct mmusim_ref *refs, size_t n)
{
    /* A reference as one little-endian word: va in bits 0-31, size 32-47,
     * access 48-55. Bad: size - 1 >= 4096 (bits 44-47 of w - 2^32: a size of
     * 0 borrows into them), access bits 3-7 set, or kind 3 (bits 0 and 1). */
    _Static_assert(sizeof(struct mmusim_ref) == 8 && offsetof(struct mmusim_ref, size) == 4 &&
                       offsetof(struct mmusim_ref, access) == 6,
                   "mmusim_ref is read as one 64-bit word");
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, &refs[i], sizeof w);
        if (MMUSIM_BIG_ENDIAN_HOST)
            w = (uint64_t)refs[i].va | (uint64_t)refs[i].size << 32 | (uint64_t)refs[i].access << 48;
        bad |= ((w - (1ull << 32)) & (0xfull << 44)) | (w & (0x1full << 51)) | (w & (w >> 1) & (1ull << 48));
    }
    return bad == 0;
}

/*
 * A reference the cache did not serve: the full lookup, then a hit on the
 * entry found (which becomes the cache's tag for this access) or
 * mmusim_cpu_access's slow path. A lookup that hits changes its own array
 * only; the slow path may change every array of its side (instruction or
 * data), so that side's tags are dropped: a fetch changes only the
 * instruction side's arrays (itlb, stlb, pdecache), a load or store only
 * the data side's (utlb, dtlb, stlb, pdecache), and the other side's first
 * array and its most recent entry stay as they were. On a hit, out gets
 * fault and walked 0, and pa and cycles when fill_hit.
 */
static inline __attribute__((always_inline)) int access_uncached(struct mmusim_cpu *cpu, uint32_t va,
                                                                 unsigned access, unsigned size,
                                                                 struct mmusim__hit_cache *c,
                                                                 struct mmusim_access *out, int fill_hit)
{
    unsigned kind = MMUSIM_ACC_KIND(access);
    struct tlb_array *a = cpu->first[kind];
    struct tlb_entry *e = tlb_array_lookup(a, va);
    /* The lookup changed array a alone (its most recent entry, its set's
     * order): the tags of the accesses whose first array is a go. */
    c->ok_tag[kind] = c->ok_tag[kind | MMUSIM_ACC_USER] = 0;
    if (kind != MMUSIM_ACC_EXEC && cpu->first[MMUSIM_ACC_READ] == cpu->first[MMUSIM_ACC_WRITE])
        c->ok_tag[kind ^ 1u] = c->ok_tag[(kind ^ 1u) | MMUSIM_ACC_USER] = 0; /* no uTLB: one data array */
    if (e != NULL && (e->flags & cpu->hit_mask[access]) == cpu->hit_want[access] &&
        (va & MMUSIM_PAGE_OFFSET_MASK) + size <= MMUSIM_PAGE_SIZE) {
        c->slow_hits++;
        c->ok_tag[access] = (va >> MMUSIM_PAGE_SHIFT) + 1u; /* e is now its array's most recently used entry */
        out->fault = 0;
        out->walked = 0;
        if (fill_hit) {
            out->pa = e->pa + (va & ((1u << a->shift) - 1u));
            out->cycles = 0;
        }
        return MMUSIM_OK;
    }
    /* The slow path may fill and evict in every array of its side. */
    if (kind == MMUSIM_ACC_EXEC) {
        c->ok_tag[MMUSIM_ACC_EXEC] = c->ok_tag[MMUSIM_ACC_EXEC | MMUSIM_ACC_USER] = 0;
    } else {
        c->ok_tag[MMUSIM_ACC_READ] = c->ok_tag[MMUSIM_ACC_READ | MMUSIM_ACC_USER] = 0;
        c->ok_tag[MMUSIM_ACC_WRITE] = c->ok_tag[MMUSIM_ACC_WRITE | MMUSIM_ACC_USER] = 0;
    }
    return access_slow(cpu, va, access, size, NULL, out, e);
}

void mmusim__hit_cache_flush(mmusim_cpu *cpu, struct mmusim__hit_cache *c)
{
    for (unsigned k = 0; k < 3; k++)
        cpu->first[k]->st.hits += c->hits[k];
    cpu->stats.accesses += c->hits[0] + c->hits[1] + c->hits[2] + c->slow_hits;
    for (unsigned k = 0; k < 4; k++)
        c->hits[k] = 0;
    c->slow_hits = 0;
}

int mmusim__cpu_access_uncached(mmusim_cpu *cpu, uint32_t va, unsigned access, unsigned size,
                                struct mmusim__hit_cache *c, struct mmusim_access *out)
{
    if (MMUSIM_UNLIKELY(cpu->sys->check)) /* every hit checked: never cached, as batch_checked does */
        return access_slow(cpu, va, access, size, NULL, out,
                           tlb_array_lookup(cpu->first[MMUSIM_ACC_KIND(access)], va));
    return access_uncached(cpu, va, access, size, c, out, 0);
}

/*
 * The same path as mmusim_cpu_access with data NULL, for a run of
 * references. The common case is tested against a local cache (struct
 * mmusim__hit_cache, src/cpu/hooks.h): ok_tag[acc] is the tag of the most
 * recently used entry of access acc's first array when that entry is known
 * to serve acc (its rights matched), else 0 (no tag is 0). A reference
 * whose page has that tag and that stays inside the page is a hit on that
 * entry, which tlb_array_lookup would count and leave untouched (it is
 * already the most recent of its set); the hits are counted in the cache
 * and added to the arrays at the end. Every other reference takes
 * access_uncached. The first arrays (itlb.4k, dtlb.4k, utlb) index by
 * 4 KiB pages. per is a constant at each of the two call sites.
 */
static inline __attribute__((always_inline)) int batch_run(struct mmusim_cpu *cpu, const struct mmusim_ref *refs,
                                                           size_t n, struct mmusim_access *per,
                                                           struct mmusim_batch_sum *sum)
{
    struct mmusim_access scratch, *out = &scratch;
    struct mmusim__hit_cache c;
    mmusim__hit_cache_init(&c);
    uint64_t walked = 0;
    size_t i = 0;
    int rc = MMUSIM_OK, fault = 0;
    for (; i < n; i++) {
        uint32_t va = refs[i].va;
        unsigned access = refs[i].access, size = refs[i].size;
        uint32_t tag = (va >> MMUSIM_PAGE_SHIFT) + 1u;
        if (MMUSIM_LIKELY(c.ok_tag[access] == tag && (va & MMUSIM_PAGE_OFFSET_MASK) + size <= MMUSIM_PAGE_SIZE)) {
            c.hits[MMUSIM_ACC_KIND(access)]++;
            if (per) {
                const struct tlb_array *a = cpu->first[MMUSIM_ACC_KIND(access)];
                per[i].fault = 0;
                per[i].walked = 0;
                per[i].pa = a->e[a->mru].pa + (va & MMUSIM_PAGE_OFFSET_MASK);
                per[i].cycles = 0;
            }
            continue;
        }
        if (per)
            out = &per[i];
        rc = access_uncached(cpu, va, access, size, &c, out, per != NULL);
        walked += (uint64_t)out->walked;
        if (MMUSIM_UNLIKELY(rc != MMUSIM_OK || out->fault)) {
            fault = out->fault;
            i++;
            break;
        }
    }
    mmusim__hit_cache_flush(cpu, &c);
    sum->done = i;
    sum->walked = walked;
    sum->fault = fault;
    if (fault)
        sum->fault_info = *out;
    else
        memset(&sum->fault_info, 0, sizeof sum->fault_info);
    return rc;
}

/* With the coherence checker on, every hit is checked: each reference takes mmusim_cpu_access's slow path. */
static int batch_checked(struct mmusim_cpu *cpu, const struct mmusim_ref *refs, size_t n, struct mmusim_access *per,
                         struct mmusim_batch_sum *sum)
{
    struct mmusim_access scratch, *out = &scratch;
    size_t i = 0;
    int rc = MMUSIM_OK;
    memset(sum, 0, sizeof *sum);
    for (; i < n; i++) {
        const struct mmusim_ref *r = &refs[i];
        if (per)
            out = &per[i];
        rc = access_slow(cpu, r->va, r->access, r->size, NULL, out,
                         tlb_array_lookup(cpu->first[MMUSIM_ACC_KIND(r->access)], r->va));
        sum->walked += (uint64_t)out->walked;
        if (rc != MMUSIM_OK || out->fault) {
            sum->fault = out->fault;
            if (out->fault)
                sum->fault_info = *out;
            i++;
            break;
        }
    }
    sum->done = i;
    return rc;
}

int mmusim_cpu_access_batch(mmusim_cpu *cpu, const struct mmusim_ref *refs, size_t n, struct mmusim_access *per,
                            struct mmusim_batch_sum *sum)
{
    if (MMUSIM_UNLIKELY(!cpu || !sum || (!refs && n) || !batch_valid(refs, n)))
        return MMUSIM_EINVAL;
    return mmusim__cpu_access_batch_trusted(cpu, refs, n, per, sum);
}

int mmusim__cpu_access_batch_trusted(mmusim_cpu *cpu, const struct mmusim_ref *refs, size_t n,
                                     struct mmusim_access *per, struct mmusim_batch_sum *sum)
{
    uint64_t cycles0 = cpu->cycles;
    int rc;
    if (MMUSIM_UNLIKELY(cpu->sys->check))
        rc = batch_checked(cpu, refs, n, per, sum);
    else if (per)
        rc = batch_run(cpu, refs, n, per, sum);
    else
        rc = batch_run(cpu, refs, n, NULL, sum);
    sum->cycles = cpu->cycles - cycles0;
    return rc;
}

uint64_t mmusim_cpu_minor_fault(mmusim_cpu *cpu)
{
    if (!cpu)
        return 0;
    uint64_t c = cpu->sys->cfg->costs.page_fault;
    cpu->cycles += c;
    cpu->stats.minor_faults++;
    cpu->stats.minor_fault_cycles += c;
    return c;
}

/* ---- flush primitives ---- */

uint64_t mmusim_flush_tlb_one(mmusim_cpu *cpu, uint32_t va)
{
    return cpu ? mmusim__flush_tlb_one_hot(cpu, va) : 0;
}

/*
 * __flush_tlb is a MOV to CR3 of the value CR3 holds. Under PAE that reloads
 * the PDPTE registers from memory (SDM §4.4.1). If a present PDPTE of the PDPT
 * has gained a reserved bit since CR3 was loaded, the MOV is a #GP and, as on
 * hardware, does not happen: CR3, the PDPTE registers and every TLB entry stay
 * as they were, nothing is charged or counted, and 0 is returned (the only
 * sign of the fault: there is no #GP to deliver).
 */
uint64_t mmusim_flush_tlb(mmusim_cpu *cpu)
{
    uint64_t c = 0;
    if (!cpu)
        return 0;
    if (mmusim_cpu_write_cr3(cpu, cpu->regs.cr3, &c) != MMUSIM_OK)
        return 0; /* #GP: the reload faulted, nothing was flushed */
    return c;
}

/*
 * __flush_tlb_global. 2.6.32 and later (arch/x86/include/asm/tlbflush.h):
 * CR4 written without PGE, then restored: everything goes, globals too.
 * 2.6.18 (include/asm-i386/tlbflush.h) reloads CR3 between the two CR4
 * writes. CR4 itself is not written (cr4_writes, cr4_cycles stay as they
 * are); the pair's cost is counted here, in global_flush_cycles, once.
 * Under PAE each of the two CR4 writes reloads the PDPTEs (SDM Vol. 3A
 * §4.4.1); a #GP on the first means nothing happens, and 0 is returned. The
 * 2.6.18 CR3 reload is a MOV to CR3 of the value CR3 holds (mov_cr3, and
 * the PDPTE loads under PAE), counted in cr3_writes and cr3_cycles; a #GP on
 * it (a PDPTE gone bad) leaves it undone and uncharged, as in
 * mmusim_flush_tlb().
 */
uint64_t mmusim_flush_tlb_global(mmusim_cpu *cpu)
{
    uint64_t extra;
    if (!cpu)
        return 0;
    if (mmusim__cpu_pdpte_reload(cpu, 2, &extra) != MMUSIM_OK)
        return 0;
    uint64_t c = cpu->sys->cfg->costs.pge_toggle + extra;
    mmusim__cpu_tlb_flush(cpu, 0);
    cpu->stats.global_flush_cycles += c;
    cpu->cycles += c;
    if (cpu->sys->cfg->era == MMUSIM_ERA_2_6_18) {
        uint64_t c3 = 0;
        if (mmusim_cpu_write_cr3(cpu, cpu->regs.cr3, &c3) == MMUSIM_OK)
            c += c3;
    }
    return c;
}

/* __flush_tlb_all: cpu_has_pge, the CPU's feature (the configuration's PGE), not CR4.PGE. */
uint64_t mmusim_flush_tlb_all(mmusim_cpu *cpu)
{
    if (!cpu)
        return 0;
    if (cpu->sys->cfg->features & MMUSIM_FEAT_PGE)
        return mmusim_flush_tlb_global(cpu);
    return mmusim_flush_tlb(cpu);
}

/* ---- statistics ---- */

static const char *const tlb_names[] = {"itlb.4k", "itlb.large", "dtlb.4k", "dtlb.large", "stlb", "utlb", "pdecache"};

const char *mmusim_tlb_name(enum mmusim_tlb_id id)
{
    return (unsigned)id < MMUSIM_TLB_COUNT_ ? tlb_names[id] : NULL;
}

int mmusim_cpu_tlb_stats(const mmusim_cpu *cpu, enum mmusim_tlb_id id, struct mmusim_tlb_stats *out)
{
    if (!cpu || !out || (unsigned)id >= MMUSIM_TLB_COUNT_)
        return MMUSIM_EINVAL;
    const struct tlb_array *a = &cpu->tlb.a[id]; /* the two enums share an order */
    out->entries = a->sets * a->ways;
    out->ways = a->ways;
    out->valid = mmusim__tlb_array_count_valid(a);
    out->lookups = tlb_array_lookups(a);
    out->hits = a->st.hits;
    out->misses = a->st.misses;
    out->fills = a->st.fills;
    out->evictions = a->st.evictions;
    out->dropped = a->st.dropped;
    return MMUSIM_OK;
}

void mmusim__machine_stats(const struct cpu_sys *m, struct mmusim_cpu_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; m && i < m->ncpus; i++) {
        const struct mmusim_cpu_stats *s = &m->cpus[i].stats;
#define MMUSIM_SUM_(name, doc) out->name += s->name;
        MMUSIM_CPU_STATS(MMUSIM_SUM_)
#undef MMUSIM_SUM_
    }
}
