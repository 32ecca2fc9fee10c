/*
 * mmusim — the i386 kernel address layout, computed as Linux computes it.
 *
 * Sources: docs/layout.md, which follows linux-highmem.md §1 (2.6.18 and
 * 2.6.32 arch/i386 / arch/x86 headers). Names are Linux's, lower-cased.
 * Every value is an integer; addresses are 32-bit linear addresses, pfns are
 * page frame numbers.
 */
#ifndef MMUSIM_LAYOUT_H
#define MMUSIM_LAYOUT_H

#include <stdint.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMUSIM_PAGE_SHIFT 12
#define MMUSIM_PAGE_SIZE  4096u

/* Memory zones, as Linux derives them on i386 (DMA below 16 MiB). */
enum mmusim_zone {
    MMUSIM_ZONE_DMA,
    MMUSIM_ZONE_NORMAL,
    MMUSIM_ZONE_HIGHMEM,
    MMUSIM_ZONE_COUNT_
};

struct mmusim_zone_span {
    uint64_t start_pfn; /* first pfn */
    uint64_t end_pfn;   /* one past the last; == start_pfn for an empty zone */
};

struct mmusim_layout {
    /* Inputs, resolved. */
    enum mmusim_era era;
    enum mmusim_paging paging;
    uint32_t nr_cpus;           /* NR_CPUS that sized the fixmap */
    uint32_t km_type_nr;        /* KM_TYPE_NR */

    /* Paging geometry. */
    uint32_t ptrs_per_pte;      /* 1024, or 512 under PAE */
    uint32_t pmd_shift;         /* 22 (folded PMD), or 21 under PAE */
    uint32_t pgdir_shift;       /* 22, or 30 under PAE */
    uint32_t kernel_pgd_boundary; /* first PGD index of kernel space: PAGE_OFFSET >> pgdir_shift */

    /* Direct map. */
    uint32_t page_offset;       /* PAGE_OFFSET */
    uint64_t vmalloc_reserve;   /* __VMALLOC_RESERVE */
    uint64_t maxmem;            /* MAXMEM: the most lowmem the split allows */
    uint64_t max_pfn;           /* RAM size in pages */
    uint64_t max_low_pfn;       /* end of lowmem (pfn) */
    uint64_t highstart_pfn;     /* == max_low_pfn */
    uint32_t high_memory;       /* __va(max_low_pfn << PAGE_SHIFT) */
    struct mmusim_zone_span zones[MMUSIM_ZONE_COUNT_];

    /* vmalloc, pkmap, fixmap (top-down order of asm/highmem.h). */
    uint32_t vmalloc_start;     /* VMALLOC_START */
    uint32_t vmalloc_end;       /* VMALLOC_END = PKMAP_BASE - 2 pages */
    uint32_t pkmap_base;        /* PKMAP_BASE */
    uint32_t last_pkmap;        /* LAST_PKMAP: 1024, or 512 under PAE */
    uint32_t fixaddr_top;       /* FIXADDR_TOP = 0xfffff000 */
    uint32_t fixaddr_start;     /* FIXADDR_START = TOP - permanent fixmap size */
    uint32_t fixaddr_boot_start; /* FIXADDR_BOOT_START: also covers the boot-time maps */
    uint32_t fix_kmap_begin;    /* FIX_KMAP_BEGIN (a fixmap index) */
    uint32_t fix_kmap_end;      /* FIX_KMAP_END = BEGIN + KM_TYPE_NR * NR_CPUS - 1 */
    uint32_t end_of_permanent_fixed_addresses;
    uint32_t fix_btmap_end;     /* FIX_BTMAP_END: first (highest-address) boot-time map */
    uint32_t fix_btmap_begin;   /* FIX_BTMAP_BEGIN: last boot-time map */
    uint32_t end_of_fixed_addresses;
};

/*
 * Compute the layout of the kernel cfg describes. Validates cfg first and
 * returns its error; MMUSIM_ELAYOUT where Linux's boot-time checks would BUG
 * (pkmap overlapping the fixmap, an empty vmalloc area, lowmem under 16 MiB).
 */
int mmusim_layout_compute(const struct mmusim_config *cfg, struct mmusim_layout *out);

/* __fix_to_virt(idx) = FIXADDR_TOP - (idx << PAGE_SHIFT). */
uint32_t mmusim_fix_to_virt(const struct mmusim_layout *l, uint32_t idx);

/* __virt_to_fix(vaddr) = (FIXADDR_TOP - (vaddr & PAGE_MASK)) >> PAGE_SHIFT. */
uint32_t mmusim_virt_to_fix(const struct mmusim_layout *l, uint32_t vaddr);

/* __va(pa) and __pa(va) of the direct map (no range check, as in Linux). */
uint32_t mmusim_layout_va(const struct mmusim_layout *l, uint64_t pa);
uint64_t mmusim_layout_pa(const struct mmusim_layout *l, uint32_t va);

/* PKMAP_ADDR(nr) and PKMAP_NR(vaddr). */
uint32_t mmusim_pkmap_addr(const struct mmusim_layout *l, uint32_t nr);
uint32_t mmusim_pkmap_nr(const struct mmusim_layout *l, uint32_t vaddr);

/* Linear address of kmap fixmap slot idx (idx = type + KM_TYPE_NR * cpu). */
uint32_t mmusim_kmap_slot_vaddr(const struct mmusim_layout *l, uint32_t idx);

/* The zone a pfn lies in, or MMUSIM_ZONE_COUNT_ if beyond RAM. */
enum mmusim_zone mmusim_layout_zone_of(const struct mmusim_layout *l, uint64_t pfn);

/* "DMA", "Normal", "HighMem". */
const char *mmusim_zone_name(enum mmusim_zone z);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_LAYOUT_H */
