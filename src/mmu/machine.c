/*
 * mmusim — creating and destroying a machine, physical memory access
 * (include/mmusim/machine.h).
 */
#include <stdlib.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"

/* The first 1 MiB (real-mode IVT, BIOS data, the ISA hole) is never handed out. */
#define RESERVED_LOW_PFNS 256

static int boot(struct mmusim_machine *m)
{
    int rc;
    m->pae = m->cfg.paging == MMUSIM_PAGING_PAE;
    if ((rc = mmusim__physmem_init(&m->pm, m->layout.max_pfn)) != MMUSIM_OK ||
        (rc = mmusim__frame_alloc_init(&m->fa, &m->layout)) != MMUSIM_OK)
        return rc;
    mmusim__frame_alloc_reserve(&m->fa, 0, RESERVED_LOW_PFNS);
    if (!(m->pgds = malloc(8 * sizeof(*m->pgds))))
        return MMUSIM_ENOMEM;
    m->pgds_cap = 8;
    if ((rc = mmusim__pt_boot(m)) != MMUSIM_OK)
        return rc;
    if (!(m->cpus = calloc(m->cfg.ncpus, sizeof(*m->cpus))))
        return MMUSIM_ENOMEM;
    for (unsigned i = 0; i < m->cfg.ncpus; i++) {
        m->ncpus = i + 1; /* so destroy finalises exactly those initialised */
        if ((rc = mmusim__cpu_init(&m->cpus[i], m, i)) != MMUSIM_OK)
            return rc;
    }
    return mmusim__smp_machine_init(m);
}

int mmusim_machine_create(const struct mmusim_config *cfg, mmusim_machine **out)
{
    if (!out)
        return MMUSIM_EINVAL;
    *out = NULL;
    struct mmusim_layout layout;
    int rc = mmusim_layout_compute(cfg, &layout);
    if (rc != MMUSIM_OK)
        return rc;
    struct mmusim_machine *m = calloc(1, sizeof(*m));
    if (!m)
        return MMUSIM_ENOMEM;
    m->cfg = *cfg;
    m->layout = layout;
    if ((rc = boot(m)) != MMUSIM_OK) {
        mmusim_machine_destroy(m);
        return rc;
    }
    *out = m;
    return MMUSIM_OK;
}

void mmusim_machine_destroy(mmusim_machine *m)
{
    if (!m)
        return;
    mmusim__smp_machine_fini(m);
    for (unsigned i = 0; i < m->ncpus; i++)
        mmusim__cpu_fini(&m->cpus[i]);
    free(m->cpus);
    free(m->violations);
    free(m->pgds);
    mmusim__frame_alloc_fini(&m->fa);
    mmusim__physmem_fini(&m->pm);
    free(m);
}

const struct mmusim_config *mmusim_machine_config(const mmusim_machine *m)
{
    return &m->cfg;
}

const struct mmusim_layout *mmusim_machine_layout(const mmusim_machine *m)
{
    return &m->layout;
}

unsigned mmusim_machine_ncpus(const mmusim_machine *m)
{
    return m->ncpus;
}

mmusim_cpu *mmusim_machine_cpu(mmusim_machine *m, unsigned i)
{
    return (m && i < m->ncpus) ? &m->cpus[i] : NULL;
}

static int phys_range_ok(const struct mmusim_machine *m, uint64_t pa, size_t len)
{
    return pa <= m->cfg.mem_bytes && len <= m->cfg.mem_bytes - pa;
}

int mmusim_phys_read(const mmusim_machine *m, uint64_t pa, void *buf, size_t len)
{
    if (!m || (!buf && len))
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, len))
        return MMUSIM_EPHYS;
    mmusim__physmem_read(&m->pm, pa, buf, len);
    return MMUSIM_OK;
}

int mmusim_phys_write(mmusim_machine *m, uint64_t pa, const void *buf, size_t len)
{
    if (!m || (!buf && len))
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, len))
        return MMUSIM_EPHYS;
    return mmusim__physmem_write(&m->pm, pa, buf, len);
}

int mmusim_phys_read32(const mmusim_machine *m, uint64_t pa, uint32_t *out)
{
    if (!m || !out || (pa & 3))
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, 4))
        return MMUSIM_EPHYS;
    *out = physmem_read32(&m->pm, pa);
    return MMUSIM_OK;
}

int mmusim_phys_write32(mmusim_machine *m, uint64_t pa, uint32_t value)
{
    if (!m || (pa & 3))
        return MMUSIM_EINVAL;
    if (!phys_range_ok(m, pa, 4))
        return MMUSIM_EPHYS;
    return mmusim__physmem_write32(&m->pm, pa, value);
}

uint64_t mmusim_phys_resident_bytes(const mmusim_machine *m)
{
    return m ? m->pm.resident * 4096 : 0;
}

int mmusim_frame_alloc(mmusim_machine *m, enum mmusim_zone zone, uint64_t *pfn)
{
    if (!m || !pfn)
        return MMUSIM_EINVAL;
    return mmusim__frame_alloc_get(&m->fa, zone, pfn);
}

int mmusim_frame_free(mmusim_machine *m, uint64_t pfn)
{
    if (!m)
        return MMUSIM_EINVAL;
    if (pfn < RESERVED_LOW_PFNS)
        return MMUSIM_EFRAME;
    int rc = mmusim__frame_alloc_put(&m->fa, pfn);
    if (rc == MMUSIM_OK)
        mmusim__physmem_discard(&m->pm, pfn);
    return rc;
}

uint64_t mmusim_zone_free_frames(const mmusim_machine *m, enum mmusim_zone zone)
{
    if (!m || (unsigned)zone >= MMUSIM_ZONE_COUNT_)
        return 0;
    return m->fa.nfree[zone];
}
