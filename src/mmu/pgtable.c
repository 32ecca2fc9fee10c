/*
 * mmusim — page tables stored in simulated frames (include/mmusim/pgtable.h).
 *
 * Kernel space is shared the way i386 Linux shares it: under PAE every
 * address space's kernel PDPTEs point at swapper_pg_dir's kernel page
 * directories; without PAE each address space holds a copy of the kernel
 * PDEs (pgd_ctor's clone_pgd_range), and a kernel PDE that changes later is
 * written to every copy, as 2.6's set_pmd_pfn/vmalloc_sync do over pgd_list.
 *
 * Entries are data that simulated software may overwrite with anything, so
 * every call here that follows an entry to the table it names first checks
 * that the table lies in RAM (locate, tables_in_ram), and refuses with
 * MMUSIM_EPHYS before changing anything if not (docs/tlb.md, "Unbacked
 * physical memory"): a table past RAM has no storage to read or write.
 */
#include <stdlib.h>

#include "mmu/mmu.h"
#include "mmusim/error.h"

/* ---- address spaces ---- */

static int is_kernel_va(const struct mmu *m, uint32_t va)
{
    return va >= m->layout->page_offset;
}

static ptrdiff_t pgd_index_of(const struct mmu *m, uint64_t cr3)
{
    for (size_t i = 0; i < m->npgds; i++)
        if (m->pgds[i] == cr3)
            return (ptrdiff_t)i;
    return -1;
}

int mmusim__pt_pde_addr(const struct mmu *m, uint64_t cr3, uint32_t va, uint64_t *pde_pa)
{
    if (!m->pae) {
        *pde_pa = (cr3 & PT2_FRAME) + ((uint64_t)(va >> 22) << 2);
        return MMUSIM_OK; /* cr3 is one of this machine's directories, in RAM */
    }
    uint64_t pdpte = physmem_read64(&m->pm, (cr3 & ~0x1full) + ((uint64_t)(va >> 30) << 3));
    *pde_pa = (pdpte & PAE_FRAME) + ((uint64_t)((va >> 21) & 0x1ff) << 3);
    /* Checked present or not: the library has always used a user PDPTE's
     * frame as it finds it, and a cleared P must not let a stray frame
     * number through. */
    return physmem_backed(&m->pm, *pde_pa) ? MMUSIM_OK : MMUSIM_EPHYS;
}

/* Whether a present PDE points at a page table (not a large page) that lies
 * outside RAM. */
static int pde_table_unbacked(const struct mmu *m, uint64_t pde)
{
    return (pde & (MMUSIM_PTE_P | MMUSIM_PTE_PS)) == MMUSIM_PTE_P && !physmem_backed(&m->pm, pde & pt_frame_mask(m));
}

/*
 * The PDE for va, its address and value, with the walk to it and from it
 * checked: MMUSIM_EPHYS if the PDPTE (PAE) names a directory past RAM or the
 * PDE names a page table past RAM. Reads only.
 */
static int locate(const struct mmu *m, uint64_t cr3, uint32_t va, uint64_t *pde_pa, uint64_t *pde)
{
    int rc = mmusim__pt_pde_addr(m, cr3, va, pde_pa);
    if (rc != MMUSIM_OK)
        return rc;
    *pde = pt_read(m, *pde_pa);
    return pde_table_unbacked(m, *pde) ? MMUSIM_EPHYS : MMUSIM_OK;
}

static uint64_t pte_addr(const struct mmu *m, uint64_t pde, uint32_t va)
{
    uint64_t idx = m->pae ? (va >> MMUSIM_PAGE_SHIFT) & 0x1ff : (va >> MMUSIM_PAGE_SHIFT) & 0x3ff;
    return (pde & pt_frame_mask(m)) + (idx << (m->pae ? 3 : 2));
}

/* A zeroed lowmem frame for a page table (get_zeroed_page(GFP_KERNEL)). */
static int alloc_table(struct mmu *m, uint64_t *pa)
{
    uint64_t pfn;
    int rc = mmusim__frame_alloc_get(&m->fa, MMUSIM_ZONE_NORMAL, &pfn);
    if (rc == MMUSIM_ENOFRAME)
        rc = mmusim__frame_alloc_get(&m->fa, MMUSIM_ZONE_DMA, &pfn);
    if (rc != MMUSIM_OK)
        return rc;
    mmusim__physmem_discard(&m->pm, pfn); /* a frame never written reads as zero */
    m->table_bits[pfn >> 6] |= 1ull << (pfn & 63);
    *pa = pfn << 12;
    return MMUSIM_OK;
}

/*
 * Give a table's frame back. Only a frame this layer made a table of: an
 * entry written raw (mmusim_pt_set_raw, a physical write) may name any
 * frame, one its caller allocated for data, and destroying the address
 * space must not free that frame under its owner.
 */
static void free_table(struct mmu *m, uint64_t pa)
{
    uint64_t pfn = pa >> MMUSIM_PAGE_SHIFT;
    if (pfn >= m->pm.nframes || !mmu_is_table_frame(m, pfn))
        return;
    m->table_bits[pfn >> 6] &= ~(1ull << (pfn & 63));
    mmusim__physmem_discard(&m->pm, pa >> MMUSIM_PAGE_SHIFT);
    (void)mmusim__frame_alloc_put(&m->fa, pa >> MMUSIM_PAGE_SHIFT);
}

/*
 * Write the PDE for va. A kernel PDE without PAE lives in every directory:
 * write them all. (Under PAE the kernel directories themselves are shared.)
 */
static int set_pde(struct mmu *m, uint64_t cr3, uint32_t va, uint64_t v, int clear)
{
    size_t n = (!m->pae && is_kernel_va(m, va)) ? m->npgds : 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t dir = n == 1 ? cr3 : m->pgds[i], pa;
        /* Without PAE the address needs no entry (every pgd is in RAM); with
         * PAE it is the one the caller's locate checked. */
        int rc = mmusim__pt_pde_addr(m, dir, va, &pa);
        if (rc == MMUSIM_OK)
            rc = clear ? pt_clear(m, pa) : pt_set(m, pa, v);
        if (rc != MMUSIM_OK)
            return rc;
    }
    return MMUSIM_OK;
}

int mmusim__pt_ensure_table(struct mmu *m, uint64_t cr3, uint32_t va)
{
    uint64_t pde_pa, pde, table;
    int rc = locate(m, cr3, va, &pde_pa, &pde);
    if (rc != MMUSIM_OK)
        return rc;
    if (pde & MMUSIM_PTE_P)
        return (pde & MMUSIM_PTE_PS) ? MMUSIM_ELARGE : MMUSIM_OK;
    if ((rc = alloc_table(m, &table)) != MMUSIM_OK)
        return rc;
    uint64_t flags = is_kernel_va(m, va) ? PDE_KERNEL_TABLE : PDE_USER_TABLE;
    if ((rc = set_pde(m, cr3, va, table | flags, 0)) != MMUSIM_OK)
        free_table(m, table);
    return rc;
}

int mmusim__pgd_create(struct mmu *m, uint64_t *cr3)
{
    if (!m || !cr3)
        return MMUSIM_EINVAL;
    uint64_t *pgds = mmusim__grow(m->pgds, m->npgds, &m->pgds_cap, sizeof(*pgds), 8);
    if (!pgds)
        return MMUSIM_ENOMEM;
    m->pgds = pgds;
    uint64_t dir = 0, pmds[4] = {0}; /* pfn 0 is reserved: 0 means "not allocated" */
    unsigned nuser = m->layout->kernel_pgd_boundary;
    int rc = alloc_table(m, &dir);
    /* PAE: the user page directories are allocated with the PDPT, as
     * 2.6's pgd_alloc preallocates them. */
    for (unsigned i = 0; rc == MMUSIM_OK && m->pae && i < nuser; i++)
        rc = alloc_table(m, &pmds[i]);
    if (rc != MMUSIM_OK) {
        for (unsigned i = 0; i < 4; i++)
            if (pmds[i])
                free_table(m, pmds[i]);
        if (dir)
            free_table(m, dir);
        return rc;
    }
    unsigned entries = m->pae ? 4 : 1024, size = m->pae ? 8 : 4;
    for (unsigned i = 0; i < entries && rc == MMUSIM_OK; i++) {
        uint64_t v = (i < nuser && m->pae) ? (pmds[i] | MMUSIM_PTE_P)
                   : (i >= nuser) ? pt_read(m, (m->swapper_cr3 & ~0x1full) + (uint64_t)i * size) : 0;
        if (v)
            rc = pt_set(m, dir + (uint64_t)i * size, v);
    }
    if (rc != MMUSIM_OK)
        return rc; /* host memory ran out mid-copy: the frames stay allocated */
    m->pgds[m->npgds++] = dir;
    *cr3 = dir;
    return MMUSIM_OK;
}

/* Whether every page table under one user page directory lies in RAM. */
static int user_tables_in_ram(const struct mmu *m, uint64_t dir, unsigned n)
{
    unsigned size = m->pae ? 8 : 4;
    for (unsigned i = 0; i < n; i++)
        if (pde_table_unbacked(m, pt_read(m, dir + (uint64_t)i * size)))
            return 0;
    return 1;
}

/* Whether every user table of the address space cr3 lies in RAM: what
 * pgd_destroy frees, checked before it frees anything. */
static int tables_in_ram(const struct mmu *m, uint64_t cr3, unsigned nuser)
{
    if (!m->pae)
        return user_tables_in_ram(m, cr3, nuser);
    for (unsigned i = 0; i < nuser; i++) {
        uint64_t pdpte = physmem_read64(&m->pm, cr3 + (uint64_t)i * 8);
        if (!(pdpte & MMUSIM_PTE_P))
            continue;
        if (!physmem_backed(&m->pm, pdpte & PAE_FRAME) || !user_tables_in_ram(m, pdpte & PAE_FRAME, 512))
            return 0;
    }
    return 1;
}

/* Free the page tables under one user page directory (not the pages they map). */
static void free_user_tables(struct mmu *m, uint64_t dir, unsigned n)
{
    unsigned size = m->pae ? 8 : 4;
    for (unsigned i = 0; i < n; i++) {
        uint64_t pde = pt_read(m, dir + (uint64_t)i * size);
        if ((pde & MMUSIM_PTE_P) && !(pde & MMUSIM_PTE_PS))
            free_table(m, pde & pt_frame_mask(m));
    }
}

/* Whether one of the n entries of the directory at dir names frame pfn as a page table. */
static int dir_names_table(const struct mmu *m, uint64_t dir, unsigned n, uint64_t pfn)
{
    if (!physmem_backed(&m->pm, dir))
        return 0;
    unsigned size = m->pae ? 8 : 4;
    for (unsigned i = 0; i < n; i++) {
        uint64_t pde = pt_read(m, dir + (uint64_t)i * size);
        if ((pde & MMUSIM_PTE_P) && !(pde & MMUSIM_PTE_PS) && (pde & pt_frame_mask(m)) >> MMUSIM_PAGE_SHIFT == pfn)
            return 1;
    }
    return 0;
}

/*
 * Whether frame pfn holds a page table some address space uses: a page
 * directory (or PDPT) of the list, a PAE page directory a present PDPTE
 * names, or a page table a present PDE names (the kernel's pkmap and fixmap
 * tables among them). A scan of every directory: frame_free only.
 */
int mmusim__pt_frame_in_use(const struct mmu *m, uint64_t pfn)
{
    for (size_t g = 0; g < m->npgds; g++) {
        uint64_t cr3 = m->pgds[g];
        if (cr3 >> MMUSIM_PAGE_SHIFT == pfn)
            return 1;
        if (!m->pae) {
            if (dir_names_table(m, cr3, 1024, pfn))
                return 1;
            continue;
        }
        for (unsigned i = 0; i < 4; i++) {
            uint64_t pdpte = physmem_read64(&m->pm, cr3 + (uint64_t)i * 8);
            if (!(pdpte & MMUSIM_PTE_P))
                continue;
            if ((pdpte & PAE_FRAME) >> MMUSIM_PAGE_SHIFT == pfn || dir_names_table(m, pdpte & PAE_FRAME, 512, pfn))
                return 1;
        }
    }
    return 0;
}

int mmusim__pgd_destroy(struct mmu *m, uint64_t cr3)
{
    if (!m)
        return MMUSIM_EINVAL;
    ptrdiff_t idx = pgd_index_of(m, cr3);
    if (idx < 0)
        return MMUSIM_ENOTPGD;
    if (cr3 == m->swapper_cr3)
        return MMUSIM_EKERNEL;
    /* Whether a CPU still has it loaded is the machine's check (src/machine.c):
     * this layer does not know the CPUs. */
    unsigned nuser = m->layout->kernel_pgd_boundary;
    if (!tables_in_ram(m, cr3, nuser))
        return MMUSIM_EPHYS;
    if (m->pae) {
        for (unsigned i = 0; i < nuser; i++) {
            uint64_t pdpte = physmem_read64(&m->pm, cr3 + (uint64_t)i * 8);
            if (pdpte & MMUSIM_PTE_P) {
                free_user_tables(m, pdpte & PAE_FRAME, 512);
                free_table(m, pdpte & PAE_FRAME);
            }
        }
    } else {
        free_user_tables(m, cr3, nuser);
    }
    free_table(m, cr3);
    m->pgds[idx] = m->pgds[--m->npgds];
    return MMUSIM_OK;
}

/* ---- mappings ---- */

static int check_space(const struct mmu *m, uint64_t cr3)
{
    return pgd_index_of(m, cr3) < 0 ? MMUSIM_ENOTPGD : MMUSIM_OK;
}

/* Kernel addresses always go to the shared kernel tables. */
static uint64_t space_for(const struct mmu *m, uint64_t cr3, uint32_t va)
{
    return is_kernel_va(m, va) ? m->swapper_cr3 : cr3;
}

int mmusim__pt_check_map(const struct mmu *m, uint32_t va, uint64_t pa, enum mmusim_page_size size,
                         uint64_t flags)
{
    uint64_t bytes = size == MMUSIM_PAGE_4K ? MMUSIM_PAGE_SIZE : 1ull << pt_large_shift(m);
    if (size != MMUSIM_PAGE_4K && size != MMUSIM_PAGE_LARGE)
        return MMUSIM_EPAGESIZE;
    if (size == MMUSIM_PAGE_LARGE && !m->pae && !(m->cfg->features & MMUSIM_FEAT_PSE))
        return MMUSIM_EPAGESIZE; /* a 4 MiB page needs PSE without PAE (2 MiB ones need nothing) */
    if ((va | pa) & (bytes - 1))
        return MMUSIM_EALIGN;
    if (pa >= m->cfg->mem_bytes || m->cfg->mem_bytes - pa < bytes)
        return MMUSIM_EPHYS; /* not pa + bytes > mem_bytes: that wraps for a pa near 2^64 */
    if (flags & ~PT_FLAG_BITS)
        return MMUSIM_EINVAL;
    if ((flags & MMUSIM_PTE_NX) && !m->pae)
        return MMUSIM_EFEATURE; /* no XD bit in a 32-bit entry */
    return MMUSIM_OK;
}

int mmusim__pt_map(struct mmu *m, uint64_t cr3, uint32_t va, uint64_t pa,
                  enum mmusim_page_size size, uint64_t flags)
{
    int rc;
    if (!m)
        return MMUSIM_EINVAL;
    if ((rc = check_space(m, cr3)) != MMUSIM_OK || (rc = mmusim__pt_check_map(m, va, pa, size, flags)) != MMUSIM_OK)
        return rc;
    cr3 = space_for(m, cr3, va);
    uint64_t pde_pa, pde;
    if ((rc = locate(m, cr3, va, &pde_pa, &pde)) != MMUSIM_OK)
        return rc;
    if (size == MMUSIM_PAGE_LARGE) {
        if (pde & MMUSIM_PTE_P)
            return MMUSIM_EMAPPED;
        return set_pde(m, cr3, va, pa | flags | MMUSIM_PTE_P | MMUSIM_PTE_PS, 0);
    }
    if ((pde & (MMUSIM_PTE_P | MMUSIM_PTE_PS)) == (MMUSIM_PTE_P | MMUSIM_PTE_PS))
        return MMUSIM_ELARGE;
    if ((pde & MMUSIM_PTE_P) && (pt_read(m, pte_addr(m, pde, va)) & MMUSIM_PTE_P))
        return MMUSIM_EMAPPED;
    if ((rc = mmusim__pt_ensure_table(m, cr3, va)) != MMUSIM_OK)
        return rc;
    pde = pt_read(m, pde_pa);
    return pt_set(m, pte_addr(m, pde, va), pa | flags | MMUSIM_PTE_P);
}

/* Find the leaf entry for va: its address and size. ENOTMAPPED if no table
 * reaches it, EPHYS if the walk to it leaves RAM. */
static int find_leaf(const struct mmu *m, uint64_t cr3, uint32_t va,
                     uint64_t *entry_pa, enum mmusim_page_size *size)
{
    uint64_t pde_pa, pde;
    int rc = locate(m, cr3, va, &pde_pa, &pde);
    if (rc != MMUSIM_OK)
        return rc;
    if (pde & MMUSIM_PTE_PS) {
        *entry_pa = pde_pa, *size = MMUSIM_PAGE_LARGE;
        return MMUSIM_OK;
    }
    if (!(pde & MMUSIM_PTE_P))
        return MMUSIM_ENOTMAPPED;
    *entry_pa = pte_addr(m, pde, va), *size = MMUSIM_PAGE_4K;
    return MMUSIM_OK;
}

int mmusim__pt_get(const struct mmu *m, uint64_t cr3, uint32_t va, struct mmusim_pte_info *out)
{
    int rc;
    if (!m || !out)
        return MMUSIM_EINVAL;
    if ((rc = check_space(m, cr3)) != MMUSIM_OK)
        return rc;
    cr3 = space_for(m, cr3, va);
    if ((rc = find_leaf(m, cr3, va, &out->entry_pa, &out->size)) != MMUSIM_OK)
        return rc;
    out->raw = pt_read(m, out->entry_pa);
    out->present = (int)(out->raw & MMUSIM_PTE_P);
    out->pa = out->raw & (out->size == MMUSIM_PAGE_LARGE ? pt_large_mask(m) : pt_frame_mask(m));
    return MMUSIM_OK;
}

/* The present leaf entry for va, or ENOTMAPPED. */
static int present_leaf(const struct mmu *m, uint64_t cr3, uint32_t va, struct mmusim_pte_info *info)
{
    int rc = mmusim__pt_get(m, cr3, va, info);
    if (rc == MMUSIM_OK && !info->present)
        rc = MMUSIM_ENOTMAPPED;
    return rc;
}

int mmusim__pt_unmap(struct mmu *m, uint64_t cr3, uint32_t va)
{
    struct mmusim_pte_info info;
    int rc = present_leaf(m, cr3, va, &info);
    if (rc != MMUSIM_OK)
        return rc;
    if (info.size == MMUSIM_PAGE_LARGE)
        return set_pde(m, space_for(m, cr3, va), va, 0, 1);
    return pt_clear(m, info.entry_pa);
}

int mmusim__pt_protect(struct mmu *m, uint64_t cr3, uint32_t va, uint64_t flags)
{
    struct mmusim_pte_info info;
    int rc = present_leaf(m, cr3, va, &info);
    if (rc != MMUSIM_OK)
        return rc;
    if (flags & ~PT_FLAG_BITS)
        return MMUSIM_EINVAL;
    if ((flags & MMUSIM_PTE_NX) && !m->pae)
        return MMUSIM_EFEATURE;
    uint64_t v = info.pa | flags | MMUSIM_PTE_P;
    if (info.size == MMUSIM_PAGE_LARGE)
        return set_pde(m, space_for(m, cr3, va), va, v | MMUSIM_PTE_PS, 0);
    return pt_set(m, info.entry_pa, v);
}

int mmusim__pt_set_raw(struct mmu *m, uint64_t cr3, uint32_t va, enum mmusim_page_size size, uint64_t raw)
{
    int rc;
    if (!m)
        return MMUSIM_EINVAL;
    if ((rc = check_space(m, cr3)) != MMUSIM_OK)
        return rc;
    if (!m->pae && (raw >> 32))
        return MMUSIM_EINVAL; /* a 32-bit entry */
    cr3 = space_for(m, cr3, va);
    uint64_t pde_pa, pde;
    if ((rc = locate(m, cr3, va, &pde_pa, &pde)) != MMUSIM_OK)
        return rc;
    if (size == MMUSIM_PAGE_LARGE) {
        if ((pde & MMUSIM_PTE_P) && !(pde & MMUSIM_PTE_PS))
            return MMUSIM_EMAPPED; /* would orphan a page table */
        return set_pde(m, cr3, va, raw, raw == 0);
    }
    if (size != MMUSIM_PAGE_4K)
        return MMUSIM_EPAGESIZE;
    if ((rc = mmusim__pt_ensure_table(m, cr3, va)) != MMUSIM_OK)
        return rc;
    pde = pt_read(m, pde_pa);
    return raw == 0 ? pt_clear(m, pte_addr(m, pde, va)) : pt_set(m, pte_addr(m, pde, va), raw);
}

/*
 * Free the user page table that maps va, if it maps nothing (every entry
 * zero): clear its PDE and give its frame back. A loader that failed halfway
 * uses it to leave the address space as it found it. MMUSIM_ENOTMAPPED if no
 * table is there, MMUSIM_EBUSY if an entry is still set, MMUSIM_EINVAL for a
 * kernel address (kernel tables are shared and never freed).
 */
int mmusim__pt_free_empty_table(struct mmu *m, uint64_t cr3, uint32_t va)
{
    uint64_t pde_pa, pde;
    int rc;
    if ((rc = check_space(m, cr3)) != MMUSIM_OK)
        return rc;
    if (is_kernel_va(m, va))
        return MMUSIM_EINVAL;
    if ((rc = locate(m, cr3, va, &pde_pa, &pde)) != MMUSIM_OK)
        return rc;
    if ((pde & (MMUSIM_PTE_P | MMUSIM_PTE_PS)) != MMUSIM_PTE_P)
        return MMUSIM_ENOTMAPPED;
    uint64_t table = pde & pt_frame_mask(m);
    unsigned entries = m->pae ? 512 : 1024, size = m->pae ? 8 : 4;
    for (unsigned i = 0; i < entries; i++)
        if (pt_read(m, table + (uint64_t)i * size) != 0)
            return MMUSIM_EBUSY;
    if ((rc = set_pde(m, cr3, va, 0, 1)) != MMUSIM_OK)
        return rc;
    free_table(m, table);
    return MMUSIM_OK;
}

/* ---- boot ---- */

/* kernel_physical_mapping_init: the direct map of lowmem, large pages where they fit. */
static int map_lowmem(struct mmu *m)
{
    uint64_t flags = MMUSIM_PAGE_KERNEL;
    if (m->cfg->features & MMUSIM_FEAT_PGE)
        flags |= MMUSIM_PTE_G; /* __PAGE_KERNEL gains _PAGE_GLOBAL on PGE CPUs */
    int large_ok = m->pae || (m->cfg->features & MMUSIM_FEAT_PSE);
    uint64_t end = m->layout->max_low_pfn << MMUSIM_PAGE_SHIFT, large = 1ull << pt_large_shift(m);
    uint64_t pa = 0;
    int rc = MMUSIM_OK;
    while (pa < end && rc == MMUSIM_OK) {
        uint32_t va = (uint32_t)(m->layout->page_offset + pa);
        if (large_ok && pa + large <= end) {
            rc = mmusim__pt_map(m, m->swapper_cr3, va, pa, MMUSIM_PAGE_LARGE, flags);
            pa += large;
        } else {
            rc = mmusim__pt_map(m, m->swapper_cr3, va, pa, MMUSIM_PAGE_4K, flags);
            pa += MMUSIM_PAGE_SIZE;
        }
    }
    return rc;
}

/* permanent_kmaps_init and the fixmap's page_table_range_init: the tables, no entries. */
static int prealloc_kernel_tables(struct mmu *m)
{
    const struct mmusim_layout *l = m->layout;
    uint64_t step = 1ull << pt_large_shift(m);
    int rc = mmusim__pt_ensure_table(m, m->swapper_cr3, l->pkmap_base);
    for (uint64_t va = l->fixaddr_boot_start & ~(step - 1); rc == MMUSIM_OK && va <= l->fixaddr_top; va += step)
        rc = mmusim__pt_ensure_table(m, m->swapper_cr3, (uint32_t)va);
    return rc;
}

int mmusim__pt_boot(struct mmu *m)
{
    uint64_t dir;
    int rc = alloc_table(m, &dir);
    if (rc != MMUSIM_OK)
        return rc;
    m->swapper_cr3 = dir;
    m->pgds[m->npgds++] = dir;
    /* PAE: swapper_pg_dir's four page directories exist from the start; the
     * kernel ones are the ones every address space shares. */
    for (unsigned i = 0; m->pae && i < 4 && rc == MMUSIM_OK; i++) {
        uint64_t pmd;
        if ((rc = alloc_table(m, &pmd)) == MMUSIM_OK)
            rc = pt_set(m, dir + i * 8, pmd | MMUSIM_PTE_P);
    }
    if (rc == MMUSIM_OK)
        rc = map_lowmem(m);
    if (rc == MMUSIM_OK)
        rc = prealloc_kernel_tables(m);
    return rc;
}
