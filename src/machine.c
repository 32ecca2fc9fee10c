/*
 * mmusim — the machine, above every layer (include/mmusim/machine.h).
 *
 * The machine owns one part per layer and creates them bottom up: the mmu
 * part (physical memory, the layout, swapper_pg_dir), then the cpu part (the
 * CPUs in their boot state, the engine), later kmap and trace above them. It
 * destroys them top down. Each layer sees only its own part and the parts
 * below it, never this structure; the public calls that take the machine
 * are answered here by handing the call to the part that owns the state.
 * Checks that need two layers at once (is an address space still loaded in
 * a CPU's CR3?) are made here too, for the same reason. docs/architecture.md
 * draws the picture.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_sys.h"
#include "internal.h"
#include "kmap/kmap_sys.h"
#include "mmu/mmu.h"
#include "mmusim/error.h"
#include "mmusim/pte.h"
#include "trace/elf.h"

struct mmusim_machine {
    struct mmusim_config cfg;
    struct mmusim_layout layout;
    struct mmu mmu;       /* src/mmu/ */
    struct cpu_sys cpus;  /* src/cpu/ (TLBs live in each CPU: src/tlb/) */
    mmusim_kmap_layer *kmap; /* src/kmap/, once mmusim_kmap_create made it */
};

int mmusim_machine_create(const struct mmusim_config *cfg, mmusim_machine **out)
{
    if (!out)
        return MMUSIM_EINVAL;
    *out = NULL;
    if (!cfg)
        return MMUSIM_EINVAL;
    struct mmusim_layout layout;
    int rc = mmusim_layout_compute(cfg, &layout);
    if (rc != MMUSIM_OK)
        return rc;
    struct mmusim_machine *m = mmusim__calloc(1, sizeof(*m));
    if (!m)
        return MMUSIM_ENOMEM;
    m->cfg = *cfg;
    m->layout = layout;
    if ((rc = mmusim__mmu_init(&m->mmu, &m->cfg, &m->layout)) != MMUSIM_OK ||
        (rc = mmusim__cpu_sys_init(&m->cpus, m, &m->cfg, &m->layout, &m->mmu)) != MMUSIM_OK) {
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
    mmusim__kmap_destroy(m->kmap);
    mmusim__cpu_sys_fini(&m->cpus);
    mmusim__mmu_fini(&m->mmu);
    mmusim__free(m);
}

const struct mmusim_config *mmusim_machine_config(const mmusim_machine *m)
{
    return m ? &m->cfg : NULL;
}

const struct mmusim_layout *mmusim_machine_layout(const mmusim_machine *m)
{
    return m ? &m->layout : NULL;
}

unsigned mmusim_machine_ncpus(const mmusim_machine *m)
{
    return m ? m->cpus.ncpus : 0;
}

mmusim_cpu *mmusim_machine_cpu(mmusim_machine *m, unsigned i)
{
    return (m && i < m->cpus.ncpus) ? mmusim__cpu_sys_cpu(&m->cpus, i) : NULL;
}

/* ---- physical memory and frames (the mmu part) ---- */

int mmusim_phys_read(const mmusim_machine *m, uint64_t pa, void *buf, size_t len)
{
    return m ? mmusim__phys_read(&m->mmu, pa, buf, len) : MMUSIM_EINVAL;
}

int mmusim_phys_write(mmusim_machine *m, uint64_t pa, const void *buf, size_t len)
{
    return m ? mmusim__phys_write(&m->mmu, pa, buf, len) : MMUSIM_EINVAL;
}

int mmusim_phys_read32(const mmusim_machine *m, uint64_t pa, uint32_t *out)
{
    return m ? mmusim__phys_read32(&m->mmu, pa, out) : MMUSIM_EINVAL;
}

int mmusim_phys_write32(mmusim_machine *m, uint64_t pa, uint32_t value)
{
    return m ? mmusim__phys_write32(&m->mmu, pa, value) : MMUSIM_EINVAL;
}

uint64_t mmusim_phys_resident_bytes(const mmusim_machine *m)
{
    return m ? m->mmu.pm.resident * MMUSIM_PAGE_SIZE : 0;
}

int mmusim_frame_alloc(mmusim_machine *m, enum mmusim_zone zone, uint64_t *pfn)
{
    return (m && pfn) ? mmusim__frame_alloc_get(&m->mmu.fa, zone, pfn) : MMUSIM_EINVAL;
}

int mmusim_frame_free(mmusim_machine *m, uint64_t pfn)
{
    return m ? mmusim__frame_free(&m->mmu, pfn) : MMUSIM_EINVAL;
}

uint64_t mmusim_zone_free_frames(const mmusim_machine *m, enum mmusim_zone zone)
{
    if (!m || (unsigned)zone >= MMUSIM_ZONE_COUNT_)
        return 0;
    return m->mmu.fa.nfree[zone];
}

/* ---- page tables (the mmu part) ---- */

uint64_t mmusim_kernel_cr3(const mmusim_machine *m)
{
    return m ? m->mmu.swapper_cr3 : 0;
}

void mmusim_machine_set_store_hook(mmusim_machine *m, mmusim_store_fn fn, void *ctx)
{
    if (!m)
        return;
    m->mmu.pm.hook = fn;
    m->mmu.pm.gen++; /* cached PTE pointers (struct mmusim__pte_slot) must now go through the hook */
    m->mmu.pm.hook_ctx = ctx;
}

int mmusim_pgd_create(mmusim_machine *m, uint64_t *cr3)
{
    return m ? mmusim__pgd_create(&m->mmu, cr3) : MMUSIM_EINVAL;
}

int mmusim_pgd_destroy(mmusim_machine *m, uint64_t cr3)
{
    if (!m)
        return MMUSIM_EINVAL;
    /* A loaded directory is always a known one, and swapper_pg_dir answers
     * EKERNEL below: the order of the codes is the mmu layer's. */
    if (cr3 != m->mmu.swapper_cr3 && mmusim__cpu_sys_cr3_loaded(&m->cpus, cr3))
        return MMUSIM_EBUSY;
    return mmusim__pgd_destroy(&m->mmu, cr3);
}

/*
 * After a successful store by the machine's own calls below (no CPU makes
 * it): the cpu part's record of the entry's last writer is forgotten
 * (include/mmusim/pte.h). A two-layer step, so it is made here.
 */
static int forget_writer(mmusim_machine *m, uint64_t cr3, uint32_t va, int rc)
{
    struct mmusim_pte_info info;
    if (rc == MMUSIM_OK && m->cpus.writers.n_written != 0 && mmusim__pt_get(&m->mmu, cr3, va, &info) == MMUSIM_OK)
        mmusim__pte_writer_forget(&m->cpus.writers, info.entry_pa);
    return rc;
}

int mmusim_pt_map(mmusim_machine *m, uint64_t cr3, uint32_t va, uint64_t pa, enum mmusim_page_size size,
                  uint64_t flags)
{
    return m ? forget_writer(m, cr3, va, mmusim__pt_map(&m->mmu, cr3, va, pa, size, flags)) : MMUSIM_EINVAL;
}

int mmusim_pt_unmap(mmusim_machine *m, uint64_t cr3, uint32_t va)
{
    return m ? forget_writer(m, cr3, va, mmusim__pt_unmap(&m->mmu, cr3, va)) : MMUSIM_EINVAL;
}

int mmusim_pt_protect(mmusim_machine *m, uint64_t cr3, uint32_t va, uint64_t flags)
{
    return m ? forget_writer(m, cr3, va, mmusim__pt_protect(&m->mmu, cr3, va, flags)) : MMUSIM_EINVAL;
}

int mmusim_pt_get(const mmusim_machine *m, uint64_t cr3, uint32_t va, struct mmusim_pte_info *out)
{
    return m ? mmusim__pt_get(&m->mmu, cr3, va, out) : MMUSIM_EINVAL;
}

int mmusim_pt_set_raw(mmusim_machine *m, uint64_t cr3, uint32_t va, enum mmusim_page_size size, uint64_t raw)
{
    return m ? forget_writer(m, cr3, va, mmusim__pt_set_raw(&m->mmu, cr3, va, size, raw)) : MMUSIM_EINVAL;
}

/* ---- CPUs, the coherence checker, statistics (the cpu part) ---- */

void mmusim_machine_set_coherence_check(mmusim_machine *m, int on)
{
    if (m)
        mmusim__machine_set_coherence_check(&m->cpus, on);
}

uint64_t mmusim_machine_coherence_violations(const mmusim_machine *m, struct mmusim_coherence_violation *buf,
                                             size_t max)
{
    return m ? mmusim__machine_coherence_violations(&m->cpus, buf, max) : 0;
}

void mmusim_machine_coherence_reset(mmusim_machine *m)
{
    if (m)
        mmusim__machine_coherence_reset(&m->cpus);
}

int mmusim_pte_last_writer(const mmusim_machine *m, uint32_t va, unsigned *cpu, uint64_t *cycle)
{
    return m ? mmusim__pte_last_writer(&m->cpus, va, cpu, cycle) : MMUSIM_EINVAL;
}

void mmusim_machine_stats(const mmusim_machine *m, struct mmusim_cpu_stats *out)
{
    if (out)
        mmusim__machine_stats(m ? &m->cpus : NULL, out);
}

/* ---- the engine (the cpu part) ---- */

uint64_t mmusim_machine_reports(const mmusim_machine *m, struct mmusim_report *buf, size_t max)
{
    return m ? mmusim__machine_reports(&m->cpus, buf, max) : 0;
}

void mmusim_machine_reports_reset(mmusim_machine *m)
{
    if (m)
        mmusim__machine_reports_reset(&m->cpus);
}

void mmusim_machine_set_report_policy(mmusim_machine *m, enum mmusim_report_policy policy)
{
    if (m)
        mmusim__machine_set_report_policy(&m->cpus, policy);
}

void mmusim_machine_set_report_callback(mmusim_machine *m, mmusim_report_fn fn, void *ctx)
{
    if (m)
        mmusim__machine_set_report_callback(&m->cpus, fn, ctx);
}

uint64_t mmusim_mm_cpu_mask(const mmusim_machine *m, uint64_t cr3)
{
    return m ? mmusim__mm_cpu_mask(&m->cpus, cr3) : 0;
}

int mmusim_irq_at(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg)
{
    return m ? mmusim__irq_at(&m->cpus, cpu, at, handler, arg, 0) : MMUSIM_EINVAL;
}

int mmusim_irq_at_flags(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg,
                        unsigned flags)
{
    return m ? mmusim__irq_at(&m->cpus, cpu, at, handler, arg, flags) : MMUSIM_EINVAL;
}

int mmusim_nmi_at(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg)
{
    return m ? mmusim__nmi_at(&m->cpus, cpu, at, handler, arg) : MMUSIM_EINVAL;
}

int mmusim_irq_random(mmusim_machine *m, unsigned cpu, uint64_t mean_gap, uint64_t until, mmusim_step_fn handler,
                      void *arg)
{
    return m ? mmusim__irq_random(&m->cpus, cpu, mean_gap, until, handler, arg, 0) : MMUSIM_EINVAL;
}

int mmusim_irq_random_flags(mmusim_machine *m, unsigned cpu, uint64_t mean_gap, uint64_t until,
                            mmusim_step_fn handler, void *arg, unsigned flags)
{
    return m ? mmusim__irq_random(&m->cpus, cpu, mean_gap, until, handler, arg, flags) : MMUSIM_EINVAL;
}

int mmusim_task_create(mmusim_machine *m, unsigned cpu, uint64_t cr3, mmusim_step_fn step, void *arg,
                       mmusim_task **out)
{
    return m ? mmusim__task_create(&m->cpus, cpu, cr3, step, arg, out) : MMUSIM_EINVAL;
}

int mmusim_spinlock_create(mmusim_machine *m, mmusim_spinlock **out)
{
    return m ? mmusim__spinlock_create(&m->cpus, out) : MMUSIM_EINVAL;
}

int mmusim_wait_queue_create(mmusim_machine *m, mmusim_wait_queue **out)
{
    return m ? mmusim__wait_queue_create(&m->cpus, out) : MMUSIM_EINVAL;
}

int mmusim_machine_run(mmusim_machine *m, uint64_t cycle_limit, struct mmusim_run_result *out)
{
    return m ? mmusim__machine_run(&m->cpus, cycle_limit, out) : MMUSIM_EINVAL;
}

/* ---- the kmap layer ---- */

int mmusim_kmap_create(mmusim_machine *m, const struct mmusim_kmap_opts *opts, mmusim_kmap_layer **out)
{
    if (!m || !opts || !out)
        return MMUSIM_EINVAL;
    *out = NULL;
    if (m->kmap)
        return MMUSIM_EEXIST;
    int rc = mmusim__kmap_create(&m->cpus, m, opts, &m->kmap);
    if (rc == MMUSIM_OK)
        *out = m->kmap;
    return rc;
}

/* ---- ELF loading (the trace part, on the mmu part and the cpu part's writer record) ---- */

/* The address space an ELF may be loaded into: one of this machine's, not swapper_pg_dir. */
static int elf_target(const mmusim_machine *m, uint64_t cr3)
{
    if (!mmusim__mmu_is_pgd(&m->mmu, cr3))
        return MMUSIM_ENOTPGD;
    return cr3 == m->mmu.swapper_cr3 ? MMUSIM_EKERNEL : MMUSIM_OK;
}

int mmusim_elf_load_mem(mmusim_machine *m, uint64_t cr3, const void *buf, size_t len, uint32_t bias,
                        const struct mmusim_elf_opts *opts, struct mmusim_elf_info *out)
{
    if (!m || !buf || !out)
        return MMUSIM_EINVAL;
    int rc = elf_target(m, cr3);
    if (rc != MMUSIM_OK)
        return rc;
    /* libelf takes a writable image: give it a copy, never the caller's bytes. */
    char *image = mmusim__malloc(len ? len : 1);
    if (!image)
        return MMUSIM_ENOMEM;
    memcpy(image, buf, len);
    rc = mmusim__elf_load(&m->mmu, &m->cpus.writers, cr3, image, len, bias, opts, out);
    mmusim__free(image);
    return rc;
}

int mmusim_elf_load_file(mmusim_machine *m, uint64_t cr3, const char *path, uint32_t bias,
                         const struct mmusim_elf_opts *opts, struct mmusim_elf_info *out)
{
    if (!m || !path || !out)
        return MMUSIM_EINVAL;
    int rc = elf_target(m, cr3);
    if (rc != MMUSIM_OK)
        return rc;
    char *image;
    size_t len;
    if ((rc = mmusim__elf_read_file(path, &image, &len)) != MMUSIM_OK)
        return rc;
    rc = mmusim__elf_load(&m->mmu, &m->cpus.writers, cr3, image, len, bias, opts, out);
    mmusim__free(image);
    return rc;
}
