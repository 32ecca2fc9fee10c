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
 */
#include <stdlib.h>

#include "mmu/mmu.h"
#include "mmusim/error.h"

/* ---- page-table line cache: set-associative, LRU, 64-byte lines ---- */

int ptcache_init(struct ptcache *pc, uint32_t lines, uint32_t ways)
{
    memset(pc, 0, sizeof(*pc));
    if (lines == 0)
        return MMUSIM_OK;
    pc->tags = calloc(lines, sizeof(*pc->tags));
    pc->stamp = calloc(lines, sizeof(*pc->stamp));
    if (!pc->tags || !pc->stamp) {
        ptcache_fini(pc);
        return MMUSIM_ENOMEM;
    }
    pc->ways = ways;
    pc->sets = lines / ways;
    return MMUSIM_OK;
}

void ptcache_fini(struct ptcache *pc)
{
    free(pc->tags);
    free(pc->stamp);
    memset(pc, 0, sizeof(*pc));
}

/*
 * The tag compare covers the whole set at once (mmusim__match32: SSE2 where
 * the host has it) with no early exit: which way a walk's line sits in is as
 * random as the walk's address, and an exit on the match mispredicted on most
 * references. Only a miss (rare once the tables are warm) scans the stamps
 * for the LRU way. Tags are 32 bits (line number + 1; lines of a 64 GiB space
 * need 30), so a 16-way set's tags fill one host cache line. Sets wider than
 * 64 ways (a fully associative cache set up by hand) are scanned in pieces.
 */
int ptcache_ref(struct ptcache *pc, uint64_t pa)
{
    if (pc->sets == 0)
        return 0;
    uint32_t line = (uint32_t)(pa >> 6), tag = line + 1;
    uint32_t base = (line & (pc->sets - 1)) * pc->ways, end = base + pc->ways;
    pc->now++;
    for (uint32_t i = base; i < end; i += 64u) {
        uint32_t n = end - i < 64u ? end - i : 64u;
        uint64_t hit = mmusim__match32(pc->tags + i, n, tag);
        if (MMUSIM_LIKELY(hit != 0)) {
            pc->stamp[i + mmusim__ctz64(hit)] = pc->now;
            return 1;
        }
    }
    uint32_t victim = base;
    for (uint32_t i = base + 1; i < end; i++)
        victim = pc->stamp[i] < pc->stamp[victim] ? i : victim;
    pc->tags[victim] = tag;
    pc->stamp[victim] = pc->now;
    return 0;
}

/* ---- the walk ---- */

struct walk_state {
    const struct mmu_ctx *c;
    struct mmusim_walk *out;
};

/* Read one entry, charging the reference. */
static uint64_t walk_read(struct walk_state *w, uint64_t pa)
{
    const struct mmu_ctx *c = w->c;
    int hit = c->ptc ? ptcache_ref(c->ptc, pa) : 0;
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
    (void)pt_update_low(w->c->m, pa, *entry); /* the frame was just read: it has storage */
    w->out->ad_writes++;
    w->out->cycles += w->c->costs->walk_ad_write;
    w->c->stats->ad_writes++;
}

void mmu_walk(const struct mmu_ctx *c, uint32_t va, unsigned access, unsigned wflags,
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
        uint64_t pte_index = (va >> 12) & (pae ? 0x1ffu : 0x3ffu);
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
    uint64_t offset_mask = large ? (pae ? 0x1fffff : 0x3fffff) : 0xfff;
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
