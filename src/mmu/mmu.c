/*
 * mmusim — the mmu layer's part of the machine: boot of the memory side,
 * physical memory access and page frames (include/mmusim/machine.h).
 */
#include <stdlib.h>

#include "internal.h"
#include "mmu/mmu.h"
#include "mmusim/error.h"

/* The first 1 MiB (real-mode IVT, BIOS data, the ISA hole) is never handed out. */
#define RESERVED_LOW_PFNS 256

int mmusim__mmu_init(struct mmu *m, const struct mmusim_config *cfg, const struct mmusim_layout *layout)
{
    int rc;
    m->cfg = cfg;
    m->layout = layout;
    m->pae = cfg->paging == MMUSIM_PAGING_PAE;
    if ((rc = mmusim__physmem_init(&m->pm, layout->max_pfn)) != MMUSIM_OK ||
        (rc = mmusim__frame_alloc_init(&m->fa, layout)) != MMUSIM_OK)
        return rc;
    mmusim__frame_alloc_reserve(&m->fa, 0, RESERVED_LOW_PFNS);
    if (!(m->pgds = mmusim__malloc(8 * sizeof(*m->pgds))) ||
        !(m->table_bits = mmusim__calloc((size_t)((layout->max_pfn + 63) / 64) + 1, sizeof(*m->table_bits))))
        return MMUSIM_ENOMEM;
    m->pgds_cap = 8;
    return mmusim__pt_boot(m);
}

void mmusim__mmu_fini(struct mmu *m)
{
    mmusim__free(m->pgds);
    m->pgds = NULL;
    mmusim__free(m->table_bits);
    m->table_bits = NULL;
    mmusim__frame_alloc_fini(&m->fa);
    mmusim__physmem_fini(&m->pm);
}

int mmusim__mmu_is_pgd(const struct mmu *m, uint64_t cr3)
{
    for (size_t i = 0; i < m->npgds; i++)
        if (m->pgds[i] == cr3)
            return 1;
    return 0;
}

static int phys_range_ok(const struct mmu *m, uint64_t pa, size_t len)
{
    return pa <= m->cfg->mem_bytes && len <= m->cfg->mem_bytes - pa;
}

int mmusim__phys_read(const struct mmu *m, uint64_t pa, void *buf, size_t len)
{
    if (!buf && len)
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, len))
        return MMUSIM_EPHYS;
    mmusim__physmem_read(&m->pm, pa, buf, len);
    return MMUSIM_OK;
}

int mmusim__phys_write(struct mmu *m, uint64_t pa, const void *buf, size_t len)
{
    if (!buf && len)
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, len))
        return MMUSIM_EPHYS;
    return mmusim__physmem_write(&m->pm, pa, buf, len);
}

int mmusim__phys_read32(const struct mmu *m, uint64_t pa, uint32_t *out)
{
    if (!out || (pa & 3))
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, 4))
        return MMUSIM_EPHYS;
    *out = physmem_read32(&m->pm, pa);
    return MMUSIM_OK;
}

int mmusim__phys_write32(struct mmu *m, uint64_t pa, uint32_t value)
{
    if (pa & 3)
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, 4))
        return MMUSIM_EPHYS;
    return mmusim__physmem_write32(&m->pm, pa, value);
}

int mmusim__frame_free(struct mmu *m, uint64_t pfn)
{
    if (pfn < RESERVED_LOW_PFNS)
        return MMUSIM_EFRAME;
    if (pfn >= m->pm.nframes)
        return MMUSIM_EPHYS; /* no such frame: nothing to free or discard */
    /* Only a frame this layer made a table of can be one in use (a frame a
     * caller linked in with raw entries is its own business): the scan of every
     * directory is made for those alone, so freeing data frames stays cheap. */
    if (mmu_is_table_frame(m, pfn) && mmusim__pt_frame_in_use(m, pfn))
        return MMUSIM_EPGTABLE; /* freed, it would be reused while the walker still reads it */
    int rc = mmusim__frame_alloc_put(&m->fa, pfn);
    if (rc == MMUSIM_OK)
        mmusim__physmem_discard(&m->pm, pfn);
    return rc;
}
