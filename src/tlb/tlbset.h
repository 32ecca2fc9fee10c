/*
 * mmusim — the TLBs of one CPU: instruction and data arrays per page size,
 * the optional second-level TLB and data uTLB, and the optional PDE cache.
 *
 * Which array a translation lives in:
 *   data loads   utlb (if present) -> dtlb_4k / dtlb_large -> stlb (4 KiB)
 *   data stores  dtlb_4k / dtlb_large -> stlb (Core 2: DTLB1 serves stores)
 *   fetches      itlb_4k / itlb_large -> stlb
 * A large page with no large array of its kind is cached as 4 KiB
 * fragments in the 4 KiB array (flag TLBE_LARGE), which SDM §4.10.2.3 allows
 * (a processor may cache a large page as several smaller-page entries).
 * INVLPG anywhere in the large page drops all its fragments, because INVLPG
 * invalidates every entry derived from the page holding its address (SDM
 * §4.10.4.1).
 */
#ifndef MMUSIM_TLBSET_H
#define MMUSIM_TLBSET_H

#include "tlb/tlb.h"

enum tlbset_id {
    TS_ITLB_4K,
    TS_ITLB_LARGE,
    TS_DTLB_4K,
    TS_DTLB_LARGE,
    TS_STLB,
    TS_UTLB,
    TS_PDECACHE,
    TS_COUNT
};

struct tlbset {
    struct tlb_array a[TS_COUNT];
    uint32_t live;          /* bit i: array a[i] may hold a valid entry (tlb.h, live_word) */
    unsigned large_shift;   /* 22, or 21 under PAE */
    int fragments;          /* a 4 KiB array may hold large-page fragments */
};

int mmusim__tlbset_init(struct tlbset *t, const struct mmusim_tlb_config *cfg, int pae, uint64_t seed);
void mmusim__tlbset_fini(struct tlbset *t);

/* INVLPG va: every array, global or not, large or small; the PDE cache entirely. Returns entries dropped. */
unsigned mmusim__tlbset_invlpg_live(struct tlbset *t, uint32_t va);
static inline unsigned mmusim__tlbset_invlpg(struct tlbset *t, uint32_t va)
{
    /* No array may hold an entry (an INVLPG of a kmap slot on an idle TLB): nothing to do, no call. */
    if (!(t->live & ((1u << TS_COUNT) - 1)))
        return 0;
    return mmusim__tlbset_invlpg_live(t, va);
}
/* MOV to CR3 (keep_global) or a CR4.PGE change (!keep_global). Returns entries dropped. */
unsigned mmusim__tlbset_flush(struct tlbset *t, int keep_global);

#endif /* MMUSIM_TLBSET_H */
