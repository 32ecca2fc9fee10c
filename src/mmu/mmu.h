/*
 * mmusim — the machine's memory side, private to the library: the machine
 * structure, page-table entry access in both formats, and the walker.
 */
#ifndef MMUSIM_MMU_H
#define MMUSIM_MMU_H

#include "mmu/physmem.h"
#include "mmusim/cpu.h"
#include "mmusim/layout.h"
#include "mmusim/pgtable.h"

/*
 * The mmu layer's part of the machine: physical memory and its frames, the
 * kernel layout, and every address space's page directory. The machine
 * (src/machine.c) owns it, creates it first and destroys it last; the
 * configuration and layout it points to are the machine's, fixed for its life.
 */
struct mmu {
    const struct mmusim_config *cfg;
    const struct mmusim_layout *layout;
    struct physmem pm;
    struct frame_alloc fa;
    int pae;
    uint64_t swapper_cr3;      /* swapper_pg_dir */
    uint64_t *pgds;            /* every address space, swapper_pg_dir first */
    size_t npgds, pgds_cap;
    /* Bit pfn: the frame holds a table this layer made (a directory, a PDPT,
     * a page table) and has not freed: only such a frame needs the scan of
     * mmusim__pt_frame_in_use when it is freed (pgtable.c, alloc_table). */
    uint64_t *table_bits;
};

static inline int mmu_is_table_frame(const struct mmu *m, uint64_t pfn)
{
    return (m->table_bits[pfn >> 6] >> (pfn & 63)) & 1;
}

/* Boot the memory side as the configured kernel leaves it (include/mmusim/machine.h). */
int mmusim__mmu_init(struct mmu *m, const struct mmusim_config *cfg, const struct mmusim_layout *layout);
void mmusim__mmu_fini(struct mmu *m);
/* Whether cr3 is an address space of this machine (swapper_pg_dir included). */
int mmusim__mmu_is_pgd(const struct mmu *m, uint64_t cr3);

/* The public page-table, physical-memory and frame calls, on the layer's part
 * (include/mmusim/pgtable.h and machine.h say what each does). */
int mmusim__pgd_create(struct mmu *m, uint64_t *cr3);
int mmusim__pgd_destroy(struct mmu *m, uint64_t cr3);
int mmusim__pt_map(struct mmu *m, uint64_t cr3, uint32_t va, uint64_t pa, enum mmusim_page_size size,
                   uint64_t flags);
int mmusim__pt_unmap(struct mmu *m, uint64_t cr3, uint32_t va);
int mmusim__pt_protect(struct mmu *m, uint64_t cr3, uint32_t va, uint64_t flags);
int mmusim__pt_set_raw(struct mmu *m, uint64_t cr3, uint32_t va, enum mmusim_page_size size, uint64_t raw);
int mmusim__pt_get(const struct mmu *m, uint64_t cr3, uint32_t va, struct mmusim_pte_info *out);
int mmusim__phys_read(const struct mmu *m, uint64_t pa, void *buf, size_t len);
int mmusim__phys_write(struct mmu *m, uint64_t pa, const void *buf, size_t len);
int mmusim__phys_read32(const struct mmu *m, uint64_t pa, uint32_t *out);
int mmusim__phys_write32(struct mmu *m, uint64_t pa, uint32_t value);
int mmusim__frame_free(struct mmu *m, uint64_t pfn);
/* Free the empty user page table mapping va (src/mmu/pgtable.c says when). */
int mmusim__pt_free_empty_table(struct mmu *m, uint64_t cr3, uint32_t va);
/* Whether frame pfn holds a page table in use (pgtable.c). */
int mmusim__pt_frame_in_use(const struct mmu *m, uint64_t pfn);

/* The arguments of a mapping as mmusim_pt_map checks them, before any table is
 * looked at: EPAGESIZE, EALIGN (va or pa), EPHYS (the page not wholly inside
 * RAM), EINVAL (a flag outside PT_FLAG_BITS), EFEATURE (NX without PAE). */
int mmusim__pt_check_map(const struct mmu *m, uint32_t va, uint64_t pa, enum mmusim_page_size size,
                         uint64_t flags);

/* Address masks of the two formats (SDM Tables 4-4..4-6, 4-8..4-11). */
#define PT2_FRAME      0xfffff000ull
#define PT2_LARGE      0xffc00000ull
#define PT2_LARGE_RSVD 0x003fe000ull  /* bits 21:13 of a 4 MiB PDE (no PSE-36 modelled) */
#define PAE_FRAME      0x0000000ffffff000ull
#define PAE_LARGE      0x0000000fffe00000ull
#define PAE_LARGE_RSVD 0x00000000001fe000ull /* bits 20:13 of a 2 MiB PDE */
#define PAE_RSVD_HIGH  0x7ffffff000000000ull /* bits 62:36 (MAXPHYADDR 36) */
#define PAE_PDPTE_RSVD (0xfffffff000000000ull | 0x1e6ull) /* 63:36, 8:5, 2:1 */

/* The flag bits mmusim__pt_map accepts. */
#define PT_FLAG_BITS (MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_US | MMUSIM_PTE_PWT | MMUSIM_PTE_PCD | \
                      MMUSIM_PTE_A | MMUSIM_PTE_D | MMUSIM_PTE_G | MMUSIM_PTE_NX)

/* Linux's _PAGE_TABLE (user) and _KERNPG_TABLE (kernel) for a PDE pointing at a table. */
#define PDE_USER_TABLE   (MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_US | MMUSIM_PTE_A | MMUSIM_PTE_D)
#define PDE_KERNEL_TABLE (MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_A | MMUSIM_PTE_D)

static inline uint64_t pt_frame_mask(const struct mmu *m)
{
    return m->pae ? PAE_FRAME : PT2_FRAME;
}

static inline uint64_t pt_large_mask(const struct mmu *m)
{
    return m->pae ? PAE_LARGE : PT2_LARGE;
}

static inline unsigned pt_large_shift(const struct mmu *m)
{
    return m->pae ? 21 : 22;
}

/* Read one entry (4 or 8 bytes). */
static inline uint64_t pt_read(const struct mmu *m, uint64_t pa)
{
    return m->pae ? physmem_read64(&m->pm, pa) : physmem_read32(&m->pm, pa);
}

/*
 * One 32-bit store to an entry: straight into the frame's contents when the
 * frame has host storage and no store hook watches, else the general path
 * (which allocates the frame, or reports the store to the hook, or says
 * MMUSIM_EPHYS past RAM, storing nothing: physmem.h).
 */
static inline int pt_store32(struct mmu *m, uint64_t pa, uint32_t v)
{
    uint64_t pfn = pa >> MMUSIM_PAGE_SHIFT;
    uint8_t *f = pfn < m->pm.nframes ? physmem_frame(&m->pm, pfn) : NULL;
    if (MMUSIM_LIKELY(f != NULL && m->pm.hook == NULL)) {
        memcpy(f + (pa & MMUSIM_PAGE_OFFSET_MASK), &v, 4);
        return 0;
    }
    return mmusim__physmem_write32(&m->pm, pa, v);
}

/* set_pte: under PAE the high half (frame bits) first, then the low half
 * holding P, so that no CPU sees a present entry with half a frame number
 * (linux-highmem.md §1.7). MMUSIM_OK, MMUSIM_ENOMEM, or MMUSIM_EPHYS for an
 * entry past RAM; on error nothing is stored (both halves lie in one frame,
 * so only the first store can fail). */
static inline int pt_set(struct mmu *m, uint64_t pa, uint64_t v)
{
    int rc;
    if (!m->pae)
        return pt_store32(m, pa, (uint32_t)v);
    if ((rc = pt_store32(m, pa + 4, (uint32_t)(v >> 32))) != 0)
        return rc;
    return pt_store32(m, pa, (uint32_t)v);
}

/* pte_clear: under PAE the low half (P) first, then the high half. Errors as pt_set. */
static inline int pt_clear(struct mmu *m, uint64_t pa)
{
    int rc;
    if (!m->pae)
        return pt_store32(m, pa, 0);
    if ((rc = pt_store32(m, pa, 0)) != 0)
        return rc;
    return pt_store32(m, pa + 4, 0);
}

/* A walker's A/D update: only the low half changes. MMUSIM_EPHYS past RAM
 * (the walker drops it: a write to nothing is lost). */
static inline int pt_update_low(struct mmu *m, uint64_t pa, uint64_t v)
{
    return pt_store32(m, pa, (uint32_t)v);
}

/* Physical address of the PDE for va in the directory cr3 (PAE: through the
 * PDPT in memory); MMUSIM_EPHYS if that PDPTE names a directory past RAM. */
int mmusim__pt_pde_addr(const struct mmu *m, uint64_t cr3, uint32_t va, uint64_t *pde_pa);

/* Make sure the page table for va exists (kernel tables are shared);
 * MMUSIM_EPHYS, nothing allocated, if the walk to it leaves RAM. */
int mmusim__pt_ensure_table(struct mmu *m, uint64_t cr3, uint32_t va);

/* Set up swapper_pg_dir at boot: direct map, pkmap and fixmap tables. */
int mmusim__pt_boot(struct mmu *m);

/* ---- the walker ---- */

/* The page-table line cache: a timing model of where page-table lines live. */
struct ptcache {
    uint32_t *tags;    /* line number + 1 per way; 0 = empty */
    uint64_t *stamp;   /* LRU time stamps (64-bit: a 32-bit clock wraps within a long run) */
    uint64_t now;
    uint32_t sets, ways;
};

int mmusim__ptcache_init(struct ptcache *pc, uint32_t lines, uint32_t ways);
void mmusim__ptcache_fini(struct ptcache *pc);

/* What the walker needs from a CPU. */
struct mmu_ctx {
    struct mmu *m;
    const struct mmusim_cpu_regs *regs;
    struct ptcache *ptc;
    const struct mmusim_costs *costs;
    struct mmusim_cpu_stats *stats;
};

#define WALK_SET_AD 0x1u  /* write Accessed/Dirty back (a real walk); off for a checker's peek */

/*
 * The PDE a walk used, for the paging-structure (PDE) cache: on input, if
 * cached is set, the walk takes pa/value from here instead of reading the
 * PDE (a PDE-cache hit, SDM §4.10.3); on output, table says whether the PDE
 * pointed to a page table (only such PDEs may be cached), with its address and
 * value after the walk's A update.
 */
struct walk_pde {
    int cached;
    int table;
    uint64_t pa;
    uint64_t value;
    uint64_t cached_value; /* the caller's copy of value as the cache gave it (the walker ignores it) */
};

/* Translate va. Fills out (cycles included; not charged to any clock). pde may be NULL. */
void mmusim__mmu_walk(const struct mmu_ctx *c, uint32_t va, unsigned access, unsigned wflags,
              struct mmusim_walk *out, struct walk_pde *pde);

#endif /* MMUSIM_MMU_H */
