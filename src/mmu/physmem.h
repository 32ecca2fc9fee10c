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
    /*
     * Bumped whenever a host pointer into a frame may stop being right: a
     * frame's storage dropped, or a store hook set (stores must then reach
     * it). A layer that keeps such a pointer (src/cpu/pte.c, struct
     * mmusim__pte_slot) compares it with the value it saw.
     */
    uint64_t gen;
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

/* Host storage of a frame, or NULL if it was never written; pfn < nframes. */
static inline uint8_t *physmem_frame(const struct physmem *pm, uint64_t pfn)
{
    uint8_t **chunk = pm->dir[pfn >> PM_CHUNK_SHIFT];
    return chunk ? chunk[pfn & (PM_CHUNK - 1)] : NULL;
}

/* Host storage of a frame, allocated (zeroed) if needed; NULL if out of host
 * memory. pfn < nframes: the callers check it (the data path against
 * mem_bytes), so the store of every access pays no second compare. */
uint8_t *mmusim__physmem_frame_rw(struct physmem *pm, uint64_t pfn);

/* Drop a frame's contents (it reads as zero again); nothing for a pfn past RAM. */
void mmusim__physmem_discard(struct physmem *pm, uint64_t pfn);

/*
 * Unbacked physical memory (docs/tlb.md, "Unbacked physical memory"). An
 * entry can name any frame (mmusim_pt_set_raw, mmusim_phys_write32, a store
 * through the direct map), so a walk may read where no RAM is installed.
 * On a PC such a read is claimed by no device: it ends in a PCI master
 * abort, which completes a read with all ones and drops a write (QEMU models
 * it so after the PCI spec, commit a53ae8e9 "hw/pci: partially handle pci
 * master abort"; Intel 41210 bridge manual, Table 31: an Unsupported Request
 * on a memory read returns all Fs). So mmusim reads it as all ones: under PAE an entry with reserved bits 62:36
 * set, which faults (SDM Vol. 3A §4.4.2, §4.7); without PAE a present entry
 * for frame 0xfffff, itself unbacked. Stores there are lost (write32 and
 * write say MMUSIM_EPHYS; the walker ignores that for its A/D write-back).
 * Host storage is only ever looked up for pfn < nframes: the directory has
 * ceil(nframes / PM_CHUNK) entries.
 */
static inline int physmem_backed(const struct physmem *pm, uint64_t pa)
{
    return (pa >> 12) < pm->nframes;
}

/* Aligned reads inside one frame: 0 where never written, all ones past RAM. */
static inline uint32_t physmem_read32(const struct physmem *pm, uint64_t pa)
{
    if (MMUSIM_UNLIKELY(!physmem_backed(pm, pa)))
        return UINT32_MAX;
    const uint8_t *f = physmem_frame(pm, pa >> 12);
    uint32_t v = 0;
    if (f)
        memcpy(&v, f + (pa & 0xfff), 4);
    return v;
}

static inline uint64_t physmem_read64(const struct physmem *pm, uint64_t pa)
{
    if (MMUSIM_UNLIKELY(!physmem_backed(pm, pa)))
        return UINT64_MAX;
    const uint8_t *f = physmem_frame(pm, pa >> 12);
    uint64_t v = 0;
    if (f)
        memcpy(&v, f + (pa & 0xfff), 8);
    return v;
}

/* MMUSIM_OK, MMUSIM_ENOMEM, or MMUSIM_EPHYS past RAM (nothing stored, no hook
 * called). Calls the store hook, if any. */
int mmusim__physmem_write32(struct physmem *pm, uint64_t pa, uint32_t v);

/* Byte ranges that may cross frames; the caller has range-checked them (the
 * write says MMUSIM_EPHYS and stores nothing for a range leaving RAM anyway). */
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
