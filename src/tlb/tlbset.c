/* mmusim — the TLBs of one CPU (tlbset.h). */
#include "tlb/tlbset.h"
#include <string.h>

#include "mmusim/error.h"

int mmusim__tlbset_init(struct tlbset *t, const struct mmusim_tlb_config *cfg, int pae, uint64_t seed)
{
    const struct mmusim_tlb_array_config *geo[TS_COUNT] = {
        [TS_ITLB_4K] = &cfg->itlb_4k, [TS_ITLB_LARGE] = &cfg->itlb_large,
        [TS_DTLB_4K] = &cfg->dtlb_4k, [TS_DTLB_LARGE] = &cfg->dtlb_large,
        [TS_STLB] = &cfg->stlb,       [TS_UTLB] = &cfg->utlb,
    };
    struct mmusim_tlb_array_config pdec = {cfg->pdecache_entries, cfg->pdecache_entries};
    geo[TS_PDECACHE] = &pdec;
    memset(t, 0, sizeof(*t));
    t->large_shift = pae ? 21 : 22;
    for (int i = 0; i < TS_COUNT; i++) {
        unsigned shift = (i == TS_ITLB_LARGE || i == TS_DTLB_LARGE || i == TS_PDECACHE) ? t->large_shift : 12;
        /* Each array draws its own random stream from the CPU's seed. */
        int rc = mmusim__tlb_array_init(&t->a[i], geo[i]->entries, geo[i]->ways, shift, cfg->replacement,
                                seed * 0x9e3779b97f4a7c15ull + (uint64_t)i);
        if (rc != MMUSIM_OK) {
            mmusim__tlbset_fini(t);
            return rc;
        }
        t->a[i].live_word = &t->live;
        t->a[i].live_bit = 1u << i;
    }
    return MMUSIM_OK;
}

void mmusim__tlbset_fini(struct tlbset *t)
{
    for (int i = 0; i < TS_COUNT; i++)
        mmusim__tlb_array_fini(&t->a[i]);
}

/* Drop the 4 KiB fragments of the large page holding va from a 4 KiB array. */
static unsigned drop_fragments(struct tlbset *t, struct tlb_array *a, uint32_t va)
{
    unsigned n = 0;
    uint32_t large = va >> t->large_shift;
    for (uint32_t i = 0; i < a->sets * a->ways; i++) {
        uint32_t tag = a->tags[i];
        if (tag && (a->e[i].flags & TLBE_LARGE) && ((tag - 1u) >> (t->large_shift - 12)) == large) {
            a->tags[i] = 0;
            n++;
        }
    }
    a->st.dropped += n;
    return n;
}

unsigned mmusim__tlbset_invlpg_live(struct tlbset *t, uint32_t va)
{
    unsigned n = 0;
    /* Only the arrays that may hold a valid entry (none, for an INVLPG of a kmap slot on an idle TLB). */
    for (uint32_t live = t->live & ((1u << TS_PDECACHE) - 1); live; live &= live - 1) {
        int i = (int)mmusim__ctz64(live);
        n += mmusim__tlb_array_invalidate_va(&t->a[i], va);
        if (t->fragments && (i == TS_ITLB_4K || i == TS_DTLB_4K || i == TS_UTLB || i == TS_STLB))
            n += drop_fragments(t, &t->a[i], va);
    }
    /* INVLPG empties every paging-structure cache, whatever the address (SDM §4.10.4.1). */
    if (t->live & (1u << TS_PDECACHE))
        mmusim__tlb_array_flush(&t->a[TS_PDECACHE], 0);
    return n;
}

unsigned mmusim__tlbset_flush(struct tlbset *t, int keep_global)
{
    unsigned n = 0;
    for (int i = 0; i < TS_PDECACHE; i++)
        n += mmusim__tlb_array_flush(&t->a[i], keep_global);
    /* Paging-structure caches ignore G: both flushes empty them (SDM §4.10.3). */
    mmusim__tlb_array_flush(&t->a[TS_PDECACHE], 0);
    return n;
}
