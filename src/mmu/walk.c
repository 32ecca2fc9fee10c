/*
 * mmusim — the page walker and its page-table line cache.
 *
 * The walk follows SDM Vol. 3A §4.3 (32-bit paging) and §4.4 (PAE): one
 * reference per level read from simulated memory (PAE's PDPTEs come from the
 * PDPTE registers, not memory, §4.4.1), rights combined over the levels
 * (§4.6), reserved bits checked in every present entry (§4.7), Accessed set on
 * every entry used and Dirty on the leaf for a write (§4.8), stored only when a
 * bit changes.
 *
 * Where the SDM leaves a choice, mmusim makes the simple one and says so:
 * Accessed bits are written only when the translation succeeds (the SDM allows
 * but does not require setting them on a faulting walk); PSE-36 is not
 * modelled, so a 4 MiB PDE's bits 21:13 must be zero.
 *
 * Cost: walk_fixed, plus walk_ref_hit or walk_ref_miss per reference as the
 * per-CPU page-table line cache says, plus walk_ad_write per A/D write-back.
 *
 * Host speed: every TLB miss walks, so mmusim__mmu_walk first tries walk_fast, a
 * straight-line walk for the common case (a 4 KiB page, nothing to fault,
 * nothing to write back); any other walk is walk_general's, with the same
 * result to the bit.
 */
#include <stdlib.h>

#include "internal.h"
#include "mmu/mmu.h"
#include "mmusim/error.h"

/* ---- page-table line cache: set-associative, LRU, 64-byte lines ---- */

int mmusim__ptcache_init(struct ptcache *pc, uint32_t lines, uint32_t ways)
{
    memset(pc, 0, sizeof(*pc));
    if (lines == 0)
        return MMUSIM_OK;
    pc->tags = mmusim__calloc(lines, sizeof(*pc->tags));
    pc->stamp = mmusim__calloc(lines, sizeof(*pc->stamp));
    if (!pc->tags || !pc->stamp) {
        mmusim__ptcache_fini(pc);
        return MMUSIM_ENOMEM;
    }
    pc->ways = ways;
    pc->sets = lines / ways;
    return MMUSIM_OK;
}

void mmusim__ptcache_fini(struct ptcache *pc)
{
    mmusim__free(pc->tags);
    mmusim__free(pc->stamp);
    memset(pc, 0, sizeof(*pc));
}

/* A miss: the LRU way (lowest stamp, the first of equals) takes the line. */
MMUSIM_NOINLINE static int ptcache_fill(struct ptcache *pc, uint32_t base, uint32_t tag)
{
    uint32_t victim = base;
    for (uint32_t i = base + 1; i < base + pc->ways; i++)
        victim = pc->stamp[i] < pc->stamp[victim] ? i : victim;
    pc->tags[victim] = tag;
    pc->stamp[victim] = pc->now;
    return 0;
}

/*
 * Reference the page-table line holding pa (a cache with lines): 1 on a hit,
 * 0 on a miss, which fills the line. The tag compare covers the whole set at
 * once (mmusim__find32: one run of SSE2 compares for the presets' 4, 8 and 16
 * ways) with no early exit: which way a walk's line sits in is as random as
 * the walk's address, and an exit on the match mispredicted on most
 * references. Tags are 32 bits (line number + 1; lines of a 64 GiB space
 * need 30), so a 16-way set's tags fill one host cache line.
 */
static inline int ptcache_lookup(struct ptcache *pc, uint64_t pa)
{
    uint32_t line = (uint32_t)(pa >> 6), tag = line + 1;
    uint32_t base = (line & (pc->sets - 1)) * pc->ways;
    uint32_t w = mmusim__find32(pc->tags + base, pc->ways, tag);
    uint64_t now = ++pc->now;
    if (MMUSIM_LIKELY(w != UINT32_MAX)) {
        pc->stamp[base + w] = now;
        return 1;
    }
    return ptcache_fill(pc, base, tag);
}

/* ---- the walk ---- */

struct walk_state {
    const struct mmu_ctx *c;
    struct mmusim_walk *out;
};

/* Reference the page-table line holding pa: 1 on a hit (no cache: a miss). */
static inline int walk_line_ref(const struct mmu_ctx *c, uint64_t pa)
{
    return c->ptc && c->ptc->sets != 0 ? ptcache_lookup(c->ptc, pa) : 0;
}

/* Read one entry, charging the reference. */
static uint64_t walk_read(struct walk_state *w, uint64_t pa)
{
    const struct mmu_ctx *c = w->c;
    int hit = walk_line_ref(c, pa);
    w->out->refs++;
    w->out->cycles += hit ? c->costs->walk_ref_hit : c->costs->walk_ref_miss;
    c->stats->walk_refs++;
    c->stats->walk_ref_hits += (uint64_t)hit;
    return pt_read(c->m, pa);
}

static void fault(struct walk_state *w, uint32_t va, unsigned access, uint32_t why)
{
    const struct mmusim_cpu_regs *r = w->c->regs;
    uint32_t ec = why;
    if ((access & 3u) == MMUSIM_ACC_WRITE)
        ec |= MMUSIM_PF_W;
    if (access & MMUSIM_ACC_USER)
        ec |= MMUSIM_PF_U;
    /* I/D is reported only where execute-disable exists (SDM §4.7). */
    if ((access & 3u) == MMUSIM_ACC_EXEC && (r->cr4 & MMUSIM_CR4_PAE) && (r->efer & MMUSIM_EFER_NXE))
        ec |= MMUSIM_PF_I;
    w->out->fault = 1;
    w->out->error_code = ec;
    w->out->cr2 = va;
    w->c->stats->faults++;
    if (!(why & MMUSIM_PF_P))
        w->c->stats->faults_not_present++;
    else if (why & MMUSIM_PF_RSVD)
        w->c->stats->faults_reserved++;
    else
        w->c->stats->faults_protection++;
}

/* SDM §4.6: may this access use a page with these combined rights? */
static int allowed(const struct mmusim_cpu_regs *r, unsigned access, int writable, int user, int nx)
{
    unsigned kind = access & 3u;
    int cpl3 = (access & MMUSIM_ACC_USER) != 0;
    if (cpl3 && !user)
        return 0;
    if (kind == MMUSIM_ACC_WRITE && !writable && (cpl3 || (r->cr0 & MMUSIM_CR0_WP)))
        return 0;
    if (kind == MMUSIM_ACC_EXEC && nx)
        return 0;
    return 1;
}

/* Reserved bits of a present PDE (large or not) or PTE, for this CPU's mode. */
static uint64_t rsvd_mask(const struct mmusim_cpu_regs *r, int large)
{
    if (!(r->cr4 & MMUSIM_CR4_PAE))
        return large ? PT2_LARGE_RSVD : 0;
    uint64_t m = PAE_RSVD_HIGH;
    if (!(r->efer & MMUSIM_EFER_NXE))
        m |= MMUSIM_PTE_NX;
    if (large)
        m |= PAE_LARGE_RSVD;
    return m;
}

/* Set A (and D) in an entry if missing; one write-back per entry that changes. */
static void set_bits(struct walk_state *w, uint64_t pa, uint64_t *entry, uint64_t bits)
{
    if ((*entry & bits) == bits)
        return;
    *entry |= bits;
    /* A store past RAM is lost, as on the bus (physmem.h): pt_update_low
     * says MMUSIM_EPHYS and touches nothing, and the walk goes on with the
     * bits set, as the CPU does. An entry read from there reads as all ones,
     * A and D included, so it never needs one. */
    (void)pt_update_low(w->c->m, pa, *entry);
    w->out->ad_writes++;
    w->out->cycles += w->c->costs->walk_ad_write;
    w->c->stats->ad_writes++;
}

/*
 * Any walk: every fault, large pages, A/D write-backs. mmusim__mmu_walk comes here
 * when walk_fast declines; kept out of line so the fast path's frame stays
 * small.
 */
MMUSIM_NOINLINE static void walk_general(const struct mmu_ctx *c, uint32_t va, unsigned access, unsigned wflags,
                                         struct mmusim_walk *out, struct walk_pde *hint)
{
    const struct mmusim_cpu_regs *r = c->regs;
    struct walk_state w = {c, out};
    int pae = (r->cr4 & MMUSIM_CR4_PAE) != 0;
    int nxe = pae && (r->efer & MMUSIM_EFER_NXE);
    uint64_t pde_pa, pte_pa = 0, pde, pte = 0;

    /* Field by field: a memset of the whole record was a library call per walk. */
    out->fault = 0;
    out->error_code = 0;
    out->cr2 = 0;
    out->pa = 0;
    out->size = MMUSIM_PAGE_4K;
    out->leaf = 0;
    out->leaf_pa = 0;
    out->writable = out->user = out->nx = out->global = 0;
    out->refs = 0;
    out->ad_writes = 0;
    if (hint)
        hint->table = 0;
    out->cycles = c->costs->walk_fixed;
    c->stats->walks++;

    if (hint && hint->cached) {
        /* PDE-cache hit: the walk starts at the page table (SDM §4.10.3.1). */
        pde_pa = hint->pa;
        pde = hint->value;
        c->stats->pdecache_hits++;
        goto have_pde;
    }
    if (pae) {
        uint64_t pdpte = r->pdpte[va >> 30];
        if (!(pdpte & MMUSIM_PTE_P)) {
            fault(&w, va, access, 0);
            return;
        }
        pde_pa = (pdpte & PAE_FRAME) + ((uint64_t)((va >> 21) & 0x1ff) << 3);
    } else {
        pde_pa = (r->cr3 & PT2_FRAME) + ((uint64_t)(va >> 22) << 2);
    }
    pde = walk_read(&w, pde_pa);
have_pde:
    if (!(pde & MMUSIM_PTE_P)) {
        fault(&w, va, access, 0);
        return;
    }
    /* PS is honoured under PAE always, without PAE only with CR4.PSE (§4.3). */
    int large = (pde & MMUSIM_PTE_PS) && (pae || (r->cr4 & MMUSIM_CR4_PSE));
    if (pde & rsvd_mask(r, large)) {
        fault(&w, va, access, MMUSIM_PF_P | MMUSIM_PF_RSVD);
        return;
    }
    uint64_t leaf = pde;
    if (!large) {
        uint64_t pte_index = (va >> MMUSIM_PAGE_SHIFT) & (pae ? 0x1ffu : 0x3ffu);
        pte_pa = (pde & (pae ? PAE_FRAME : PT2_FRAME)) + (pte_index << (pae ? 3 : 2));
        pte = walk_read(&w, pte_pa);
        if (!(pte & MMUSIM_PTE_P)) {
            fault(&w, va, access, 0);
            return;
        }
        if (pte & rsvd_mask(r, 0)) {
            fault(&w, va, access, MMUSIM_PF_P | MMUSIM_PF_RSVD);
            return;
        }
        leaf = pte;
    }
    uint64_t both = large ? pde : (pde & pte);
    int writable = (both & MMUSIM_PTE_RW) != 0;
    int user = (both & MMUSIM_PTE_US) != 0;
    int nx = nxe && ((pde | leaf) & MMUSIM_PTE_NX);
    if (!allowed(r, access, writable, user, nx)) {
        fault(&w, va, access, MMUSIM_PF_P);
        return;
    }

    if (wflags & WALK_SET_AD) {
        uint64_t dirty = (access & 3u) == MMUSIM_ACC_WRITE ? MMUSIM_PTE_D : 0;
        if (large) {
            set_bits(&w, pde_pa, &pde, MMUSIM_PTE_A | dirty);
            leaf = pde;
        } else {
            set_bits(&w, pde_pa, &pde, MMUSIM_PTE_A);
            set_bits(&w, pte_pa, &pte, MMUSIM_PTE_A | dirty);
            leaf = pte;
        }
    }
    if (hint && !large) {
        hint->table = 1;
        hint->pa = pde_pa;
        hint->value = pde;
    }
    uint64_t offset_mask = large ? (pae ? 0x1fffff : 0x3fffff) : MMUSIM_PAGE_OFFSET_MASK;
    uint64_t frame_mask = large ? (pae ? PAE_LARGE : PT2_LARGE) : (pae ? PAE_FRAME : PT2_FRAME);
    out->pa = (leaf & frame_mask) | (va & offset_mask);
    out->size = large ? MMUSIM_PAGE_LARGE : MMUSIM_PAGE_4K;
    out->leaf = leaf;
    out->leaf_pa = large ? pde_pa : pte_pa;
    out->writable = writable;
    out->user = user;
    out->nx = nx;
    out->global = (leaf & MMUSIM_PTE_G) && (r->cr4 & MMUSIM_CR4_PGE);
}

/* ---- the common walk, straight through ---- */

#if defined(__GNUC__)
#define WALK_INLINE inline __attribute__((always_inline))
#else
#define WALK_INLINE inline
#endif

/*
 * SDM §4.6 as a table: the rights every entry of the walk must grant, per
 * CR0.WP and access (kind | MMUSIM_ACC_USER). U/S at CPL 3; R/W for a write
 * at CPL 3, and at CPL 0 under WP. Kind 3 (no access the API takes) needs
 * what a read needs, as in allowed().
 */
#define US_ MMUSIM_PTE_US
#define RW_ MMUSIM_PTE_RW
static const uint8_t rights_needed[2][8] = {
    {0, 0, 0, 0, US_, US_ | RW_, US_, US_},   /* CR0.WP clear */
    {0, RW_, 0, 0, US_, US_ | RW_, US_, US_}, /* CR0.WP set */
};
#undef US_
#undef RW_

/*
 * The walk most TLB misses make: the PDE (from the PDE cache or memory)
 * points at a page table, the PTE is present, neither has a reserved bit set,
 * the rights allow the access, and A (and D for a write) are set already, so
 * nothing is written back. walk_fast first reads the entries (pt_read has no
 * side effects) and checks all of that; only then does it charge the
 * references, count and fill the record, each field stored once. If anything
 * else is the case it returns 0 having changed nothing, and walk_general does
 * the whole walk, which then gives exactly what it would have given alone.
 *
 * pae is a constant at each call (mmusim__mmu_walk), so each paging mode gets its
 * own copy with its masks and index shifts folded in rather than chosen per
 * walk.
 */
static WALK_INLINE int walk_fast(const struct mmu_ctx *c, uint32_t va, unsigned access, unsigned wflags,
                                 struct mmusim_walk *out, struct walk_pde *hint, const int pae)
{
    const struct mmusim_cpu_regs *r = c->regs;
    const uint64_t frame = pae ? PAE_FRAME : PT2_FRAME;
    /* Reserved bits of a PDE pointing at a table and of a PTE (rsvd_mask(r, 0)):
     * none in 32-bit paging (§4.3); under PAE bits 62:36, and 63 without NXE (§4.4.2). */
    const uint64_t rsvd = pae ? PAE_RSVD_HIGH | ((r->efer & MMUSIM_EFER_NXE) ? 0 : MMUSIM_PTE_NX) : 0;
    const int cached = hint && hint->cached;
    uint64_t pde_pa, pde;

    if (cached) {
        pde_pa = hint->pa;
        pde = hint->value;
    } else {
        if (pae) {
            uint64_t pdpte = r->pdpte[va >> 30];
            if (!(pdpte & MMUSIM_PTE_P))
                return 0;
            pde_pa = (pdpte & PAE_FRAME) + ((va >> 18) & 0xff8u); /* bits 29:21, times 8 */
        } else {
            pde_pa = (r->cr3 & PT2_FRAME) + ((va >> 20) & 0xffcu); /* bits 31:22, times 4 */
        }
        pde = pt_read(c->m, pde_pa);
    }
    /* Present, no reserved bit, and PS clear: a PS PDE (a large page, or
     * under 32-bit paging without CR4.PSE an ignored bit) is the general
     * walk's to sort out. The PTE is read only where walk_general reads it. */
    if ((pde & (MMUSIM_PTE_P | MMUSIM_PTE_PS | rsvd)) != MMUSIM_PTE_P)
        return 0;
    uint64_t pte_pa = (pde & frame) + (pae ? (va >> 9) & 0xff8u : (va >> 10) & 0xffcu); /* bits 20:12 or 21:12 */
    uint64_t pte = pt_read(c->m, pte_pa);

    /*
     * What each entry must have, as allowed() and set_bits() would see it
     * (§4.6, §4.8): the rights (rights_needed), P in the PTE, and A in both
     * and D in the PTE for a write if this walk sets them. An instruction
     * fetch must not meet NX in either: NX can be set only with NXE here
     * (without it bit 63 was reserved above; 32-bit entries have no bit 63).
     */
    unsigned kind = access & 3u;
    uint64_t need = rights_needed[(r->cr0 & MMUSIM_CR0_WP) != 0][access & 7u];
    uint64_t pde_need = need, pte_need = need | MMUSIM_PTE_P;
    if (wflags & WALK_SET_AD) {
        pde_need |= MMUSIM_PTE_A;
        pte_need |= MMUSIM_PTE_A | (kind == MMUSIM_ACC_WRITE ? MMUSIM_PTE_D : 0);
    }
    uint64_t forbid = kind == MMUSIM_ACC_EXEC ? MMUSIM_PTE_NX : 0;
    if ((pde_need & ~pde) | (pte_need & ~pte) | (pte & rsvd) | ((pde | pte) & forbid))
        return 0;

    /* The walk succeeds. The record first, each field once (so little stays
     * live across the line-cache references), then the charges. */
    out->fault = 0;
    out->error_code = 0;
    out->cr2 = 0;
    out->pa = (pte & frame) | (va & MMUSIM_PAGE_OFFSET_MASK);
    out->size = MMUSIM_PAGE_4K;
    out->leaf = pte;
    out->leaf_pa = pte_pa;
    out->writable = (pde & pte & MMUSIM_PTE_RW) != 0;
    out->user = (pde & pte & MMUSIM_PTE_US) != 0;
    out->nx = pae && ((pde | pte) & MMUSIM_PTE_NX); /* set only with NXE, as above */
    out->global = (pte & MMUSIM_PTE_G) && (r->cr4 & MMUSIM_CR4_PGE);
    out->ad_writes = 0;
    if (hint) {
        hint->table = 1;
        hint->pa = pde_pa;
        hint->value = pde;
    }

    /* Count and charge as walk_general does, the references in walk order. */
    const struct mmusim_costs *k = c->costs;
    struct mmusim_cpu_stats *st = c->stats;
    uint64_t cycles = k->walk_fixed;
    st->walks++;
    if (cached) {
        st->pdecache_hits++;
    } else {
        int pde_hit = walk_line_ref(c, pde_pa);
        cycles += pde_hit ? k->walk_ref_hit : k->walk_ref_miss;
        st->walk_refs++;
        st->walk_ref_hits += (uint64_t)pde_hit;
    }
    int pte_hit = walk_line_ref(c, pte_pa);
    cycles += pte_hit ? k->walk_ref_hit : k->walk_ref_miss;
    st->walk_refs++;
    st->walk_ref_hits += (uint64_t)pte_hit;
    out->refs = cached ? 1 : 2;
    out->cycles = cycles;
    return 1;
}

void mmusim__mmu_walk(const struct mmu_ctx *c, uint32_t va, unsigned access, unsigned wflags,
              struct mmusim_walk *out, struct walk_pde *hint)
{
    int done = (c->regs->cr4 & MMUSIM_CR4_PAE) ? walk_fast(c, va, access, wflags, out, hint, 1)
                                               : walk_fast(c, va, access, wflags, out, hint, 0);
    if (MMUSIM_LIKELY(done))
        return;
    walk_general(c, va, access, wflags, out, hint);
}
