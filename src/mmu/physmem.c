/* mmusim — sparse physical memory and the page-frame allocator (physmem.h). */
#include <stdlib.h>

#include "internal.h"
#include "mmu/physmem.h"
#include "mmusim/error.h"

int mmusim__physmem_init(struct physmem *pm, uint64_t nframes)
{
    memset(pm, 0, sizeof(*pm));
    pm->nframes = nframes;
    pm->ndir = (size_t)((nframes + PM_CHUNK - 1) >> PM_CHUNK_SHIFT);
    pm->dir = mmusim__calloc(pm->ndir, sizeof(*pm->dir));
    return pm->dir ? MMUSIM_OK : MMUSIM_ENOMEM;
}

void mmusim__physmem_fini(struct physmem *pm)
{
    if (!pm->dir)
        return;
    for (size_t i = 0; i < pm->ndir; i++) {
        if (!pm->dir[i])
            continue;
        for (size_t j = 0; j < PM_CHUNK; j++)
            mmusim__free(pm->dir[i][j]);
        mmusim__free(pm->dir[i]);
    }
    mmusim__free(pm->dir);
    memset(pm, 0, sizeof(*pm));
}

uint8_t *mmusim__physmem_frame_rw(struct physmem *pm, uint64_t pfn)
{
    uint8_t ***slot = &pm->dir[pfn >> PM_CHUNK_SHIFT];
    if (!*slot && !(*slot = mmusim__calloc(PM_CHUNK, sizeof(**slot))))
        return NULL;
    uint8_t **frame = &(*slot)[pfn & (PM_CHUNK - 1)];
    if (!*frame) {
        if (!(*frame = mmusim__calloc(1, MMUSIM_PAGE_SIZE)))
            return NULL;
        pm->resident++;
    }
    return *frame;
}

void mmusim__physmem_discard(struct physmem *pm, uint64_t pfn)
{
    if (pfn >= pm->nframes)
        return; /* no storage there to drop */
    uint8_t **chunk = pm->dir[pfn >> PM_CHUNK_SHIFT];
    if (!chunk || !chunk[pfn & (PM_CHUNK - 1)])
        return;
    mmusim__free(chunk[pfn & (PM_CHUNK - 1)]);
    chunk[pfn & (PM_CHUNK - 1)] = NULL;
    pm->resident--;
    pm->gen++;
}

int mmusim__physmem_write32(struct physmem *pm, uint64_t pa, uint32_t v)
{
    if (!physmem_backed(pm, pa))
        return MMUSIM_EPHYS; /* a store to nothing is lost */
    uint8_t *f = mmusim__physmem_frame_rw(pm, pa >> MMUSIM_PAGE_SHIFT);
    if (!f)
        return MMUSIM_ENOMEM;
    memcpy(f + (pa & MMUSIM_PAGE_OFFSET_MASK), &v, 4);
    if (MMUSIM_UNLIKELY(pm->hook != NULL))
        pm->hook(pm->hook_ctx, pa, v);
    return MMUSIM_OK;
}

void mmusim__physmem_read(const struct physmem *pm, uint64_t pa, void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len > 0) {
        size_t off = (size_t)(pa & MMUSIM_PAGE_OFFSET_MASK), n = MMUSIM_PAGE_SIZE - off;
        if (n > len)
            n = len;
        const uint8_t *f = physmem_backed(pm, pa) ? physmem_frame(pm, pa >> MMUSIM_PAGE_SHIFT) : NULL;
        if (f)
            memcpy(out, f + off, n);
        else
            memset(out, physmem_backed(pm, pa) ? 0 : 0xff, n); /* unbacked: all ones (physmem.h) */
        out += n, pa += n, len -= n;
    }
}

int mmusim__physmem_write(struct physmem *pm, uint64_t pa, const void *buf, size_t len)
{
    const uint8_t *in = buf;
    if (len && (!physmem_backed(pm, pa) || !physmem_backed(pm, pa + len - 1) || pa + len - 1 < pa))
        return MMUSIM_EPHYS;
    /* Allocate every frame first, so a failure writes nothing. */
    for (uint64_t p = pa >> MMUSIM_PAGE_SHIFT; len && p <= (pa + len - 1) >> MMUSIM_PAGE_SHIFT; p++)
        if (!mmusim__physmem_frame_rw(pm, p))
            return MMUSIM_ENOMEM;
    while (len > 0) {
        size_t off = (size_t)(pa & MMUSIM_PAGE_OFFSET_MASK), n = MMUSIM_PAGE_SIZE - off;
        if (n > len)
            n = len;
        memcpy(physmem_frame(pm, pa >> MMUSIM_PAGE_SHIFT) + off, in, n);
        in += n, pa += n, len -= n;
    }
    return MMUSIM_OK;
}

/* ---- frame allocator ---- */

int mmusim__frame_alloc_is_used(const struct frame_alloc *fa, uint64_t pfn)
{
    return (int)((fa->used[pfn >> 6] >> (pfn & 63)) & 1);
}

static void mark(struct frame_alloc *fa, uint64_t pfn, int used)
{
    enum mmusim_zone z = MMUSIM_ZONE_DMA;
    while (z < MMUSIM_ZONE_HIGHMEM && pfn >= fa->zones[z].end_pfn)
        z++;
    if (used) {
        fa->used[pfn >> 6] |= 1ull << (pfn & 63);
        fa->nfree[z]--;
    } else {
        fa->used[pfn >> 6] &= ~(1ull << (pfn & 63));
        fa->nfree[z]++;
    }
}

int mmusim__frame_alloc_init(struct frame_alloc *fa, const struct mmusim_layout *l)
{
    memset(fa, 0, sizeof(*fa));
    fa->nframes = l->max_pfn;
    fa->used = mmusim__calloc((size_t)((l->max_pfn + 63) / 64), sizeof(uint64_t));
    if (!fa->used)
        return MMUSIM_ENOMEM;
    for (int z = 0; z < MMUSIM_ZONE_COUNT_; z++) {
        fa->zones[z] = l->zones[z];
        fa->cursor[z] = l->zones[z].start_pfn;
        fa->nfree[z] = l->zones[z].end_pfn - l->zones[z].start_pfn;
    }
    return MMUSIM_OK;
}

void mmusim__frame_alloc_fini(struct frame_alloc *fa)
{
    mmusim__free(fa->used);
    fa->used = NULL;
}

void mmusim__frame_alloc_reserve(struct frame_alloc *fa, uint64_t start, uint64_t end)
{
    for (uint64_t p = start; p < end && p < fa->nframes; p++)
        if (!mmusim__frame_alloc_is_used(fa, p))
            mark(fa, p, 1);
}

/* First free frame in [from, to), skipping full 64-frame words; to if none. */
static uint64_t find_free(const struct frame_alloc *fa, uint64_t from, uint64_t to)
{
    uint64_t p = from;
    while (p < to) {
        uint64_t word = fa->used[p >> 6] | ((1ull << (p & 63)) - 1);
        if (word != UINT64_MAX) {
            uint64_t hit = (p & ~63ull) + (uint64_t)mmusim__ctz64(~word);
            return hit < to ? hit : to;
        }
        p = (p | 63) + 1;
    }
    return to;
}

int mmusim__frame_alloc_get(struct frame_alloc *fa, enum mmusim_zone z, uint64_t *pfn)
{
    if ((unsigned)z >= MMUSIM_ZONE_COUNT_)
        return MMUSIM_EZONE;
    if (fa->nfree[z] == 0)
        return MMUSIM_ENOFRAME;
    const struct mmusim_zone_span *s = &fa->zones[z];
    uint64_t p = find_free(fa, fa->cursor[z], s->end_pfn);
    if (p == s->end_pfn)
        p = find_free(fa, s->start_pfn, fa->cursor[z]);
    mark(fa, p, 1);
    fa->cursor[z] = p + 1 < s->end_pfn ? p + 1 : s->start_pfn;
    *pfn = p;
    return MMUSIM_OK;
}

int mmusim__frame_alloc_put(struct frame_alloc *fa, uint64_t pfn)
{
    if (pfn >= fa->nframes || !mmusim__frame_alloc_is_used(fa, pfn))
        return MMUSIM_EFRAME;
    mark(fa, pfn, 0);
    return MMUSIM_OK;
}
