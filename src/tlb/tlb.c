/* mmusim — one set-associative TLB array (tlb.h): fills, victims, invalidation. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mmusim/error.h"
#include "tlb/tlb.h"

/* Where an absent array's `e` and `tags` point, so that lookups never offset
 * NULL: the one tag is 0, which no lookup's tag equals. Never written. */
static struct tlb_entry absent_entry;
static uint32_t absent_tag;

static int is_pow2(uint32_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

static void make_absent(struct tlb_array *a, unsigned shift, enum mmusim_replacement policy)
{
    memset(a, 0, sizeof(*a));
    a->e = &absent_entry;
    a->tags = &absent_tag;
    a->live_word = &a->own_live; /* an array alone; a TLB set points it at its own word */
    a->live_bit = 1;
    a->shift = shift;
    a->policy = policy;
}

/*
 * For ways <= 64 each way gets its root-to-leaf path as a keep/point pair, so
 * a touch is one and/or on the set's word (see struct tlb_plru_path).
 */
static int plru_init(struct tlb_array *a)
{
    uint32_t ways = a->ways;
    a->plru_words = ways <= 64 ? 1 : ways / 64;
    a->plru = mmusim__calloc((size_t)a->sets * a->plru_words, sizeof(*a->plru));
    if (!a->plru)
        return MMUSIM_ENOMEM;
    if (ways > 64) {
        a->touch = TLB_TOUCH_PLRU_WIDE;
        return MMUSIM_OK;
    }
    struct tlb_plru_path *path = mmusim__calloc(ways, sizeof(*path));
    if (!path)
        return MMUSIM_ENOMEM;
    for (uint32_t w = 0; w < ways; w++) {
        uint64_t nodes = 0, right = 0;
        for (uint32_t n = ways + w; n > 1; n >>= 1) {
            nodes |= 1ull << (n >> 1);
            if (!(n & 1))
                right |= 1ull << (n >> 1); /* came up from the left child: point right */
        }
        path[w].keep = ~nodes;
        path[w].point = right;
    }
    a->plru_alloc = path;
    a->plru_path = path;
    a->touch = TLB_TOUCH_PLRU;
    if (ways <= 8) {
        /* Up to 8 ways the tree is at most 7 bits (bits 1..7 of the word), so
         * the victim of every tree state fits a 256-byte table: one load
         * instead of a walk down the tree on each eviction. */
        a->plru_victim = mmusim__malloc(256);
        if (!a->plru_victim)
            return MMUSIM_ENOMEM;
        for (uint32_t word = 0; word < 256; word++) {
            uint32_t n = 1;
            while (n < ways)
                n = 2 * n + ((word >> n) & 1u);
            a->plru_victim[word] = (uint8_t)(n - ways);
        }
    }
    return MMUSIM_OK;
}

int mmusim__tlb_array_init(struct tlb_array *a, uint32_t entries, uint32_t ways, unsigned shift,
                   enum mmusim_replacement policy, uint64_t seed)
{
    make_absent(a, shift, policy);
    if (shift < 12 || shift > 31)
        return MMUSIM_EINVAL;
    switch (policy) {
    case MMUSIM_REPL_LRU:
    case MMUSIM_REPL_PLRU:
    case MMUSIM_REPL_FIFO:
    case MMUSIM_REPL_RANDOM:
        break;
    default:
        return MMUSIM_EINVAL;
    }
    a->rng = seed;
    if (entries == 0)
        return MMUSIM_OK;
    if (ways == 0 || entries % ways != 0 || !is_pow2(entries / ways))
        return MMUSIM_ETLBGEOM;
    if (policy == MMUSIM_REPL_PLRU && !is_pow2(ways))
        return MMUSIM_ETLBGEOM;
    struct tlb_entry *e = mmusim__calloc(entries, sizeof(*e));
    uint32_t *tags = mmusim__calloc(entries, sizeof(*tags));
    if (!e || !tags) {
        mmusim__free(e);
        mmusim__free(tags);
        return MMUSIM_ENOMEM;
    }
    a->e = e;
    a->tags = tags;
    a->sets = entries / ways;
    a->ways = ways;
    a->set_mask = a->sets - 1;
    if (policy == MMUSIM_REPL_LRU)
        a->touch = TLB_TOUCH_STAMP;
    if (policy == MMUSIM_REPL_PLRU) {
        int rc = plru_init(a);
        if (rc != MMUSIM_OK) {
            mmusim__tlb_array_fini(a);
            return rc;
        }
    }
    return MMUSIM_OK;
}

void mmusim__tlb_array_fini(struct tlb_array *a)
{
    if (a->e != &absent_entry)
        mmusim__free(a->e);
    if (a->tags != &absent_tag)
        mmusim__free(a->tags);
    mmusim__free(a->plru);
    mmusim__free(a->plru_alloc);
    mmusim__free(a->plru_victim);
    make_absent(a, a->shift, a->policy);
}

static inline int plru_bit(const uint64_t *bits, uint32_t n)
{
    return (int)((bits[n >> 6] >> (n & 63)) & 1);
}

struct tlb_entry *mmusim__tlb_plru_touch_wide(struct tlb_array *a, uint32_t set, uint32_t way,
                                       struct tlb_entry *e)
{
    uint64_t *bits = a->plru + (size_t)set * a->plru_words;
    for (uint32_t n = a->ways + way; n > 1; n >>= 1) {
        uint32_t p = n >> 1;
        if (n & 1)
            bits[p >> 6] &= ~(1ull << (p & 63)); /* came from the right: point left */
        else
            bits[p >> 6] |= 1ull << (p & 63);
    }
    return e;
}

/* Policy victim in a full set (every way valid); s: the set's first entry. */
static uint32_t pick_victim(struct tlb_array *a, uint32_t set, const struct tlb_entry *s)
{
    switch (a->policy) {
    case MMUSIM_REPL_LRU:
    case MMUSIM_REPL_FIFO: {
        uint32_t v = 0;
        for (uint32_t w = 1; w < a->ways; w++)
            if (s[w].stamp < s[v].stamp)
                v = w;
        return v;
    }
    case MMUSIM_REPL_PLRU: {
        if (a->plru_victim)
            return a->plru_victim[a->plru[set]];
        const uint64_t *bits = a->plru + (size_t)set * a->plru_words;
        uint32_t n = 1;
        while (n < a->ways)
            n = 2 * n + (uint32_t)plru_bit(bits, n);
        return n - a->ways;
    }
    case MMUSIM_REPL_RANDOM:
        /* Top 32 bits scaled to [0, ways): no division, no modulo bias worth naming. */
        return (uint32_t)(((mmusim__splitmix64(&a->rng) >> 32) * a->ways) >> 32);
    }
    return 0;
}

static inline struct tlb_entry *write_entry(struct tlb_array *a, uint32_t i, uint32_t tag, uint64_t pa,
                                            uint64_t leaf_pa, uint32_t flags)
{
    struct tlb_entry *e = &a->e[i];
    a->tags[i] = tag;
    *a->live_word |= a->live_bit;
    e->flags = flags;
    e->pa = pa;
    e->leaf_pa = leaf_pa;
    return e;
}

/* Install a new entry in index i of the set at base (TLB_NONE: the policy picks a victim). */
static struct tlb_entry *place(struct tlb_array *a, uint32_t set, uint32_t base, uint32_t i, uint32_t tag,
                               uint64_t pa, uint64_t leaf_pa, uint32_t flags)
{
    if (i == TLB_NONE) {
        i = base + pick_victim(a, set, a->e + base);
        a->st.evictions++;
    }
    struct tlb_entry *e = write_entry(a, i, tag, pa, leaf_pa, flags);
    if (a->policy == MMUSIM_REPL_FIFO) {
        e->stamp = ++a->clock;
        a->mru = i;
        return e;
    }
    return tlb__touch(a, set, base, i);
}

/* tlb_array_insert, for a present array. */
struct tlb_entry *mmusim__tlb_insert(struct tlb_array *a, uint32_t va, uint64_t pa, uint64_t leaf_pa, uint32_t flags)
{
    uint32_t vpn = va >> a->shift;
    uint32_t set = vpn & a->set_mask, base = set * a->ways;
    a->st.fills++;
    /* The lowest invalid way (tag 0) first, else the policy's victim. */
    uint32_t i = tlb__find(a, base, 0);
    if (MMUSIM_LIKELY(a->plru_victim != NULL)) {
        /* Tree PLRU of up to 8 ways (every preset's TLBs): place() without
         * its policy switches, the victim straight from the table. */
        if (i == TLB_NONE) {
            i = base + a->plru_victim[a->plru[set]];
            a->st.evictions++;
        }
        write_entry(a, i, vpn + 1u, pa, leaf_pa, flags);
        return tlb__touch(a, set, base, i);
    }
    return place(a, set, base, i, vpn + 1u, pa, leaf_pa, flags);
}

struct tlb_entry *mmusim__tlb_array_fill(struct tlb_array *a, uint32_t va, uint64_t pa, uint64_t leaf_pa,
                                 uint32_t flags)
{
    struct tlb_entry *e = tlb_array_peek(a, va); /* an absent array holds nothing */
    if (!e)
        return tlb_array_insert(a, va, pa, leaf_pa, flags);
    /* Refill in place (the PDE cache, when a walk changed the cached PDE it
     * started from; direct users): a use, not an insertion. */
    uint32_t set = (va >> a->shift) & a->set_mask;
    a->st.fills++;
    e->flags = flags;
    e->pa = pa;
    e->leaf_pa = leaf_pa;
    return tlb__touch(a, set, set * a->ways, (uint32_t)(e - a->e));
}

unsigned mmusim__tlb_array_invalidate_va(struct tlb_array *a, uint32_t va)
{
    if (!(*a->live_word & a->live_bit))
        return 0; /* nothing valid: an INVLPG of a kmap slot right after a flush costs no search */
    uint32_t vpn = va >> a->shift;
    uint32_t tag = vpn + 1u;
    uint32_t *t = a->tags + (vpn & a->set_mask) * a->ways;
    unsigned n = 0;
    for (uint32_t w = 0; w < a->ways; w++) {
        if (t[w] == tag) {
            t[w] = 0;
            n++;
        }
    }
    a->st.dropped += n;
    return n;
}

unsigned mmusim__tlb_array_flush(struct tlb_array *a, int keep_global)
{
    if (!(*a->live_word & a->live_bit))
        return 0;
    uint32_t entries = a->sets * a->ways;
    uint32_t keep = keep_global ? TLBE_G : 0;
    unsigned n = 0, kept = 0;
    for (uint32_t i = 0; i < entries; i++) {
        if (a->tags[i] != 0) {
            if (!(a->e[i].flags & keep)) {
                a->tags[i] = 0;
                n++;
            } else {
                kept++;
            }
        }
    }
    if (!kept)
        *a->live_word &= ~a->live_bit;
    a->st.dropped += n;
    return n;
}

unsigned mmusim__tlb_array_count_valid(const struct tlb_array *a)
{
    uint32_t entries = a->sets * a->ways;
    unsigned n = 0;
    for (uint32_t i = 0; i < entries; i++)
        n += a->tags[i] != 0;
    return n;
}
