/*
 * mmusim — one set-associative TLB array (private; not API).
 *
 * A CPU embeds several of these: data and instruction TLBs per page size, an
 * optional second-level TLB and an optional uTLB. The hit lookup is inline:
 * a compare against the array's last-touched entry, else a set index, a
 * compare of every way of the set and the policy's replacement update, plus
 * two counter increments; no allocation, division or indirect call. Fills,
 * invalidations and victim choice are out of line (tlb.c). bench/translate_bench
 * measures what a hit costs.
 *
 * Geometry: `entries` = `sets` x `ways`, sets a power of two; the set of a
 * linear address is (va >> shift) & set_mask, and an entry's tag is
 * (va >> shift) + 1, so 0 marks an invalid entry (a zeroed array is empty).
 * Tags live in their own array beside the entries (tags[i] is e[i]'s), so a
 * set's tags are contiguous and compared at once (mmusim__match32: a 4-way
 * set is one SSE2 compare), and an entry is found by its index.
 * shift is 12 for 4 KiB pages, 22 for 4 MiB (2-level PSE) or 21 for 2 MiB
 * (PAE) pages. Fully associative is ways == entries (one set).
 *
 * Replacement (victim choice on a fill that misses): an invalid way first,
 * the lowest-numbered one; otherwise, by policy:
 *   LRU     true LRU within the set. Every entry holds a stamp from a per-array
 *           64-bit clock, refreshed on each hit and fill (a hit on the entry
 *           that is already the newest may skip it: see tlb_array_lookup);
 *           the victim has the smallest stamp.
 *   PLRU    tree pseudo-LRU, ways a power of two, ways - 1 bits per set laid
 *           out as a heap: node 1 is the root, node n has children 2n and
 *           2n + 1, and way w is leaf ways + w. Bit n = 0 means "the victim is
 *           in the left (lower-numbered) half under node n", 1 "in the right
 *           half". An access to way w sets every node on its root-to-leaf path
 *           to point at the *other* half; the victim is found by following
 *           the bits from the root. Bit n of the set's word is node n (bit 0
 *           unused) when ways <= 64; wider trees use ways / 64 words per set.
 *   FIFO    insertion order: the stamp is set on a fill of a new entry only,
 *           so hits (and the in-place refill of a present entry) leave the
 *           order alone; the victim is the oldest insertion. Without
 *           invalidations this is the round-robin pointer of the hardware;
 *           after one it stays exact insertion order.
 *   RANDOM  a splitmix64 stream seeded by `seed`: the same seed gives the
 *           same victims. Hits change nothing.
 *
 * Invalidation (SDM Vol. 3A §4.10.4.1): INVLPG drops the page's entry whatever
 * its G bit (mmusim__tlb_array_invalidate_va); MOV to CR3 drops all but global entries
 * (mmusim__tlb_array_flush(a, 1)); toggling CR4.PGE drops everything
 * (mmusim__tlb_array_flush(a, 0)). A dropped entry becomes an invalid way, which the
 * next fill of its set takes before any policy victim, so the replacement
 * state needs no other repair.
 */
#ifndef MMUSIM_TLB_H
#define MMUSIM_TLB_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One entry; its tag is tags[i] of the array (i = its index in e). */
struct tlb_entry {
    uint32_t flags;    /* TLBE_* bits below */
    uint32_t pad_;     /* keeps the entry 32 bytes: an index scales by a shift */
    uint64_t pa;       /* physical address of the page base */
    uint64_t leaf_pa;  /* physical address of the leaf entry it came from (for checkers) */
    uint64_t stamp;    /* LRU: last use; FIFO: insertion (the array's clock) */
};

#define TLBE_W  0x01u  /* writable (combined over levels) */
#define TLBE_U  0x02u  /* user */
#define TLBE_NX 0x04u  /* execute-disable */
#define TLBE_G  0x08u  /* global */
#define TLBE_D  0x10u  /* the page is known dirty */
#define TLBE_LARGE 0x20u /* set by the caller; the array does not look at it */

/* hits and misses count tlb_array_lookup (lookups are their sum, not kept:
 * one counter less on the hit path); fills counts every mmusim__tlb_array_fill,
 * evictions the fills that displaced a valid entry, dropped the entries
 * removed by invalidate_va, flush or the caller. */
struct tlb_array_stats {
    uint64_t hits, misses, fills, evictions, dropped;
};

/* What a use of an entry updates (derived from the policy at init). */
enum tlb_touch {
    TLB_TOUCH_NONE,      /* FIFO, RANDOM, absent */
    TLB_TOUCH_PLRU,      /* tree PLRU, ways <= 64: one word per set */
    TLB_TOUCH_STAMP,     /* LRU */
    TLB_TOUCH_PLRU_WIDE  /* tree PLRU, ways > 64 */
};

/* PLRU, ways <= 64: a touch of way w does word = (word & keep) | point. */
struct tlb_plru_path {
    uint64_t keep;   /* clears the nodes on w's path */
    uint64_t point;  /* sets those where w is in the left half (point right) */
};

struct tlb_array {
    /* Hot: everything a hit reads, in the first 64 bytes. */
    uint32_t *tags;              /* sets * ways: (va >> shift) + 1 of e[i], 0 = invalid */
    struct tlb_entry *e;         /* sets * ways, set-major */
    uint32_t mru;                /* index of the entry touched last (any set) */
    uint32_t live_bit;           /* this array's bit in *live_word */
    uint64_t *plru;              /* PLRU: plru_words words per set */
    const struct tlb_plru_path *plru_path; /* PLRU, ways <= 64: indexed by way */
    uint64_t clock;              /* LRU/FIFO stamp source */
    uint32_t sets, ways, set_mask, shift; /* shift: 12 for 4 KiB pages, 21 or 22 for large */
    enum tlb_touch touch;
    /* Cold. */
    /* A bit clear when no entry is valid (since the last full flush), so an
     * INVLPG or flush can skip the array: the TLB set's word of all its
     * arrays (tlbset.h), or own_live for an array alone. */
    uint32_t *live_word;
    uint32_t own_live;
    enum mmusim_replacement policy;
    uint32_t plru_words;         /* PLRU: 1 if ways <= 64, else ways / 64 */
    uint64_t rng;                /* RANDOM: splitmix64 state */
    struct tlb_plru_path *plru_alloc; /* what plru_path points to */
    uint8_t *plru_victim;        /* PLRU, ways <= 8: the victim way of each word value */
    struct tlb_array_stats st;
};

/*
 * entries == 0 gives an absent array: lookups miss (and are counted), fills
 * return NULL, invalidations drop nothing. Otherwise MMUSIM_ETLBGEOM when
 * ways is 0, entries % ways != 0, entries / ways is not a power of two, or
 * the policy is PLRU and ways is not a power of two; MMUSIM_EINVAL for a shift
 * outside 12..31 or an unknown policy; MMUSIM_ENOMEM. On error *a is left
 * absent (mmusim__tlb_array_fini is still safe).
 */
int mmusim__tlb_array_init(struct tlb_array *a, uint32_t entries, uint32_t ways, unsigned shift,
                   enum mmusim_replacement policy, uint64_t seed);
void mmusim__tlb_array_fini(struct tlb_array *a);

/* Nonzero unless the array is absent (entries == 0). */
static inline int tlb_array_present(const struct tlb_array *a)
{
    return a->ways != 0;
}

static inline uint64_t tlb_array_lookups(const struct tlb_array *a)
{
    return a->st.hits + a->st.misses;
}

/* PLRU touch of way `way` for trees of more than 64 ways (tlb.c); returns e. */
struct tlb_entry *mmusim__tlb_plru_touch_wide(struct tlb_array *a, uint32_t set, uint32_t way,
                                       struct tlb_entry *e);

#define TLB_NONE UINT32_MAX /* "no such entry" for an index */

/* Record a use of entry i (base: the index of its set's way 0); returns it. */
static inline struct tlb_entry *tlb__touch(struct tlb_array *a, uint32_t set, uint32_t base, uint32_t i)
{
    a->mru = i;
    if (MMUSIM_LIKELY(a->touch == TLB_TOUCH_PLRU)) {
        const struct tlb_plru_path *p = &a->plru_path[i - base];
        uint64_t *b = &a->plru[set];
        *b = (*b & p->keep) | p->point;
    } else if (a->touch == TLB_TOUCH_STAMP) {
        a->e[i].stamp = ++a->clock;
    } else if (a->touch == TLB_TOUCH_PLRU_WIDE) {
        return mmusim__tlb_plru_touch_wide(a, set, i - base, &a->e[i]);
    }
    return &a->e[i];
}

/*
 * The index of the way of the set starting at base that holds tag, else
 * TLB_NONE. Tag 0 finds the lowest invalid way. The whole set is compared at
 * once, with no early exit: which way hits is as random as the address, and
 * an exit on the match would mispredict.
 */
static inline uint32_t tlb__find(const struct tlb_array *a, uint32_t base, uint32_t tag)
{
    uint32_t w = mmusim__find32(a->tags + base, a->ways, tag);
    return w == UINT32_MAX ? TLB_NONE : base + w;
}

/* The entry covering va, without counting or touching it; NULL if none. */
static inline struct tlb_entry *tlb_array_peek(const struct tlb_array *a, uint32_t va)
{
    uint32_t vpn = va >> a->shift;
    uint32_t i = tlb__find(a, (vpn & a->set_mask) * a->ways, vpn + 1u);
    return i == TLB_NONE ? NULL : &a->e[i];
}

/* The tag of entry e (0: invalid). */
static inline uint32_t tlb_array_tag(const struct tlb_array *a, const struct tlb_entry *e)
{
    return a->tags[e - a->e];
}

/* Drop entry e (the caller found it unusable); counted in st.dropped. */
static inline void tlb_array_drop(struct tlb_array *a, struct tlb_entry *e)
{
    a->tags[e - a->e] = 0;
    a->st.dropped++;
}

/*
 * The entry covering va, counted as a hit and touched; NULL (a miss) if none.
 *
 * Two steps. (1) a->mru, the entry touched last: when it matches, it is
 * already the most recently used of its set (every touch of that set since
 * would have moved a->mru), so touching it again changes neither LRU order
 * nor PLRU bits and is skipped. Runs of accesses to one page end here.
 * (2) a compare of the set's tags at once (tlb__find).
 */
static inline struct tlb_entry *tlb_array_lookup(struct tlb_array *a, uint32_t va)
{
    uint32_t vpn = va >> a->shift, tag = vpn + 1u;
    if (MMUSIM_LIKELY(a->tags[a->mru] == tag)) {
        a->st.hits++;
        return &a->e[a->mru];
    }
    uint32_t set = vpn & a->set_mask, base = set * a->ways; /* < entries: no overflow */
    uint32_t i = tlb__find(a, base, tag);
    if (MMUSIM_LIKELY(i != TLB_NONE)) {
        a->st.hits++;
        return tlb__touch(a, set, base, i);
    }
    a->st.misses++;
    return NULL;
}

/*
 * Install the translation of va's page. An entry already covering va is
 * overwritten in place and touched as on a hit (no eviction). Otherwise the
 * victim is the lowest invalid way, else the policy's choice (counted in
 * st.evictions), and the new entry becomes the most recently used (newest
 * insertion for FIFO). Counts st.fills. NULL only for an absent array.
 * The in-place case serves the PDE cache (refilled when a walk changed the
 * cached PDE it started from) and direct users of the array; the TLB fills
 * use tlb_array_insert (a dirty re-walk drops the refused entry first).
 */
struct tlb_entry *mmusim__tlb_array_fill(struct tlb_array *a, uint32_t va, uint64_t pa, uint64_t leaf_pa,
                                 uint32_t flags);

/*
 * mmusim__tlb_array_fill for a page the array is known not to hold (a lookup of va
 * just missed, or its entry was dropped since): no search for an entry to
 * refill in place. Same victim choice and counting as mmusim__tlb_array_fill.
 */
struct tlb_entry *mmusim__tlb_insert(struct tlb_array *a, uint32_t va, uint64_t pa, uint64_t leaf_pa, uint32_t flags);
static inline struct tlb_entry *tlb_array_insert(struct tlb_array *a, uint32_t va, uint64_t pa, uint64_t leaf_pa,
                                                 uint32_t flags)
{
    return a->ways ? mmusim__tlb_insert(a, va, pa, leaf_pa, flags) : NULL; /* absent arrays cost no call */
}

/* INVLPG: drop the entry covering va (compared as va >> shift), global or not. */
unsigned mmusim__tlb_array_invalidate_va(struct tlb_array *a, uint32_t va);

/* Drop every entry, or every entry without TLBE_G if keep_global. */
unsigned mmusim__tlb_array_flush(struct tlb_array *a, int keep_global);

unsigned mmusim__tlb_array_count_valid(const struct tlb_array *a);

#endif /* MMUSIM_TLB_H */
