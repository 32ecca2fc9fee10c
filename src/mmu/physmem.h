/*
 * mmusim — sparse physical memory and the page-frame allocator.
 *
 * Contents are stored per 4 KiB frame, allocated on first write: a frame never
 * written reads as zero and costs no host memory, so a 64 GiB machine costs
 * only what it touches. Frames are found through a two-level directory
 * (pfn >> 10, then pfn & 1023), both levels allocated on demand.
 */
#ifndef MMUSIM_PHYSMEM_H
#define MMUSIM_PHYSMEM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "mmusim/layout.h"

#define PM_CHUNK_SHIFT 10
#define PM_CHUNK (1u << PM_CHUNK_SHIFT)

/* Observer of 32-bit stores, for tests that check store order (PAE set_pte). */
typedef void (*mmusim__store_hook)(void *ctx, uint64_t pa, uint32_t value);

struct physmem {
    uint64_t nframes;
    size_t ndir;          /* entries of dir: ceil(nframes / PM_CHUNK) */
    uint8_t ***dir;       /* dir[pfn >> 10][pfn & 1023] -> 4 KiB of contents, or NULL */
    uint64_t resident;    /* frames with host storage */
    mmusim__store_hook hook;
    void *hook_ctx;
};

struct frame_alloc {
    uint64_t *used;       /* bitmap, one bit per frame */
    uint64_t nframes;
    uint64_t cursor[MMUSIM_ZONE_COUNT_];   /* next-fit start, per zone */
    uint64_t nfree[MMUSIM_ZONE_COUNT_];
    struct mmusim_zone_span zones[MMUSIM_ZONE_COUNT_];
};

int mmusim__physmem_init(struct physmem *pm, uint64_t nframes);
void mmusim__physmem_fini(struct physmem *pm);

/* Host storage of a frame, or NULL if it was never written. */
static inline uint8_t *physmem_frame(const struct physmem *pm, uint64_t pfn)
{
    uint8_t **chunk = pm->dir[pfn >> PM_CHUNK_SHIFT];
    return chunk ? chunk[pfn & (PM_CHUNK - 1)] : NULL;
}

/* Host storage of a frame, allocated (zeroed) if needed; NULL if out of host memory. */
uint8_t *mmusim__physmem_frame_rw(struct physmem *pm, uint64_t pfn);

/* Drop a frame's contents (it reads as zero again). */
void mmusim__physmem_discard(struct physmem *pm, uint64_t pfn);

/*
 * Aligned reads inside one frame. An address beyond installed RAM reads as 0:
 * the walker follows whatever frame an entry names (mmusim_pt_set_raw can
 * name any), and with no bus modelled to return an unclaimed read's all-ones,
 * 0 (not present) is the answer that faults rather than invents a mapping.
 */
static inline const uint8_t *physmem_frame_of(const struct physmem *pm, uint64_t pa)
{
    return (pa >> 12) < pm->nframes ? physmem_frame(pm, pa >> 12) : NULL;
}

static inline uint32_t physmem_read32(const struct physmem *pm, uint64_t pa)
{
    const uint8_t *f = physmem_frame_of(pm, pa);
    uint32_t v = 0;
    if (f)
        memcpy(&v, f + (pa & 0xfff), 4);
    return v;
}

static inline uint64_t physmem_read64(const struct physmem *pm, uint64_t pa)
{
    const uint8_t *f = physmem_frame_of(pm, pa);
    uint64_t v = 0;
    if (f)
        memcpy(&v, f + (pa & 0xfff), 8);
    return v;
}

/* MMUSIM_OK or MMUSIM_ENOMEM. Calls the store hook, if any. */
int mmusim__physmem_write32(struct physmem *pm, uint64_t pa, uint32_t v);

/* Byte ranges that may cross frames; the caller has range-checked them. */
void mmusim__physmem_read(const struct physmem *pm, uint64_t pa, void *buf, size_t len);
int mmusim__physmem_write(struct physmem *pm, uint64_t pa, const void *buf, size_t len);

int mmusim__frame_alloc_init(struct frame_alloc *fa, const struct mmusim_layout *l);
void mmusim__frame_alloc_fini(struct frame_alloc *fa);
/* Lowest free frame of the zone at or after its cursor (next fit). */
int mmusim__frame_alloc_get(struct frame_alloc *fa, enum mmusim_zone z, uint64_t *pfn);
int mmusim__frame_alloc_put(struct frame_alloc *fa, uint64_t pfn);
/* Mark [start, end) used at boot (reserved memory). */
void mmusim__frame_alloc_reserve(struct frame_alloc *fa, uint64_t start, uint64_t end);
int mmusim__frame_alloc_is_used(const struct frame_alloc *fa, uint64_t pfn);

#endif /* MMUSIM_PHYSMEM_H */
