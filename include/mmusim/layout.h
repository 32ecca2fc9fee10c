/*
 * mmusim — the i386 kernel address layout, computed as Linux computes it.
 *
 * Sources: docs/layout.md, which follows linux-highmem.md §1 (2.6.18,
 * 2.6.32, 2.6.37 and 5.11 arch/i386 / arch/x86 headers). Names are Linux's,
 * lower-cased.
 * Every value is an integer; addresses are 32-bit linear addresses, pfns are
 * page frame numbers.
 */
#ifndef MMUSIM_LAYOUT_H
#define MMUSIM_LAYOUT_H

#include "api.h"

#include <stdint.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMUSIM_PAGE_SHIFT 12
#define MMUSIM_PAGE_SIZE  4096u
/* Linux's PAGE_MASK, 64 bits wide so that it keeps the high bits of a PAE physical address. */
#define MMUSIM_PAGE_MASK  (~(uint64_t)(MMUSIM_PAGE_SIZE - 1))
/* The offset inside a page. */
#define MMUSIM_PAGE_OFFSET_MASK (MMUSIM_PAGE_SIZE - 1)

/* Memory zones, as Linux derives them on i386 (DMA below 16 MiB). */
enum mmusim_zone {
    MMUSIM_ZONE_DMA,
    MMUSIM_ZONE_NORMAL,
    MMUSIM_ZONE_HIGHMEM,
    MMUSIM_ZONE_COUNT_
};

/*
 * How kmap_atomic (and kmap_local) use the fixmap kmap slots in the era
 * (linux-highmem.md §3-§5). The slot of CPU c is idx = i + slots_per_cpu * c
 * in every form; i is the km_type (SLOT) or the stack position (STACK, LOCAL).
 */
enum mmusim_kmap_form {
    MMUSIM_KMAP_SLOT,  /* one slot per km_type and CPU: 2.6.18, 2.6.32 (§3) */
    MMUSIM_KMAP_STACK, /* a per-CPU stack of KM_TYPE_NR slots: 2.6.37 (§4) */
    MMUSIM_KMAP_LOCAL  /* a per-task stack over KM_MAX_IDX slots per CPU: 5.11 (§5) */
};

/*
 * The fields of preempt_count in the era (include/linux/hardirq.h up to the
 * 2.6 eras, include/linux/preempt.h in 5.11; docs/layout.md cites each). An
 * offset is what entering the context adds; a mask selects its counter.
 */
struct mmusim_preempt_bits {
    uint32_t preempt_offset;         /* PREEMPT_OFFSET: 1 */
    uint32_t preempt_mask;           /* PREEMPT_MASK: bits 0-7 */
    uint32_t softirq_offset;         /* SOFTIRQ_OFFSET: 0x100, serving a softirq */
    uint32_t softirq_disable_offset; /* what local_bh_disable() adds: SOFTIRQ_OFFSET
                                      * in 2.6.18/2.6.32, SOFTIRQ_DISABLE_OFFSET =
                                      * 2 * SOFTIRQ_OFFSET from 2.6.37 */
    uint32_t softirq_mask;           /* SOFTIRQ_MASK: bits 8-15 */
    uint32_t hardirq_offset;         /* HARDIRQ_OFFSET: 0x10000 */
    uint32_t hardirq_mask;           /* HARDIRQ_MASK: 12, 10 or 4 bits from bit 16 */
    uint32_t nmi_offset;             /* NMI_OFFSET; 0 in 2.6.18, which has no NMI count */
    uint32_t nmi_mask;               /* NMI_MASK; 0 in 2.6.18 */
    uint32_t preempt_active;         /* x86 PREEMPT_ACTIVE (0x10000000); 0 in 5.11 */
    uint32_t need_resched;           /* x86 PREEMPT_NEED_RESCHED (0x80000000, kept
                                      * inverted); 0 before it existed */
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
    uint32_t hz;                /* CONFIG_HZ in effect (cfg hz, or the era's) */
    enum mmusim_preempt preempt; /* preemption model in effect, never AUTO */
    uint32_t flush_ceiling;     /* tlb_single_page_flush_ceiling in effect; 0 = none */

    /* kmap fixmap slots (linux-highmem.md §1.4, §1.5, §5). */
    enum mmusim_kmap_form kmap_form;
    uint32_t km_type_nr;        /* KM_TYPE_NR (2N+1 with debug_highmem); 0 in 5.11, which has no km_type */
    uint32_t km_max_idx;        /* 5.11 KM_MAX_IDX: 16, 33 with DEBUG_KMAP_LOCAL; 0 before */
    uint32_t kmap_slots_per_cpu; /* km_type_nr or km_max_idx: the slots of one CPU */
    uint32_t kmap_idx_incr;     /* KM_INCR: 2 in 5.11 with DEBUG_KMAP_LOCAL (even slots are
                                 * guard pages, odd ones used), else 1 */

    /* preempt_count layout of the era. */
    struct mmusim_preempt_bits preempt_bits;

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
    uint32_t fixaddr_boot_start; /* FIXADDR_BOOT_START (5.11: FIXADDR_TOT_START): also covers the boot-time maps */
    uint32_t cpu_entry_area_base; /* 5.11 CPU_ENTRY_AREA_BASE, below the fixmap; 0 before */
    uint32_t cpu_entry_area_pages; /* 5.11 CPU_ENTRY_AREA_PAGES (NR_CPUS * pages per CPU); 0 before */
    uint32_t ldt_base_addr;     /* 5.11 LDT_BASE_ADDR, one PMD below the cpu_entry_area; 0 before */
    uint32_t fix_kmap_begin;    /* FIX_KMAP_BEGIN (a fixmap index) */
    uint32_t fix_kmap_end;      /* FIX_KMAP_END = BEGIN + kmap_slots_per_cpu * NR_CPUS - 1 */
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
MMUSIM_API MMUSIM_NODISCARD int mmusim_layout_compute(const struct mmusim_config *cfg, struct mmusim_layout *out);

/* __fix_to_virt(idx) = FIXADDR_TOP - (idx << PAGE_SHIFT). */
MMUSIM_API uint32_t mmusim_fix_to_virt(const struct mmusim_layout *l, uint32_t idx);

/* __virt_to_fix(vaddr) = (FIXADDR_TOP - (vaddr & PAGE_MASK)) >> PAGE_SHIFT. */
MMUSIM_API uint32_t mmusim_virt_to_fix(const struct mmusim_layout *l, uint32_t vaddr);

/* __va(pa) and __pa(va) of the direct map (no range check, as in Linux). */
MMUSIM_API uint32_t mmusim_layout_va(const struct mmusim_layout *l, uint64_t pa);
MMUSIM_API uint64_t mmusim_layout_pa(const struct mmusim_layout *l, uint32_t va);

/* PKMAP_ADDR(nr) and PKMAP_NR(vaddr). */
MMUSIM_API uint32_t mmusim_pkmap_addr(const struct mmusim_layout *l, uint32_t nr);
MMUSIM_API uint32_t mmusim_pkmap_nr(const struct mmusim_layout *l, uint32_t vaddr);

/*
 * kmap fixmap slot index of CPU cpu's slot i: i + kmap_slots_per_cpu * cpu,
 * i being the km_type (2.6.18, 2.6.32) or the stack position (2.6.37, 5.11).
 */
MMUSIM_API uint32_t mmusim_kmap_idx(const struct mmusim_layout *l, uint32_t cpu, uint32_t i);

/* Linear address of kmap fixmap slot idx: __fix_to_virt(FIX_KMAP_BEGIN + idx). */
MMUSIM_API uint32_t mmusim_kmap_slot_vaddr(const struct mmusim_layout *l, uint32_t idx);

/* The preempt_count layout of an era; MMUSIM_EERA for an era out of range. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_preempt_bits_of(enum mmusim_era era, struct mmusim_preempt_bits *out);

/* "slot", "stack", "local"; NULL out of range. */
MMUSIM_API const char *mmusim_kmap_form_name(enum mmusim_kmap_form f);

/* The zone a pfn lies in, or MMUSIM_ZONE_COUNT_ if beyond RAM. */
MMUSIM_API enum mmusim_zone mmusim_layout_zone_of(const struct mmusim_layout *l, uint64_t pfn);

/* "DMA", "Normal", "HighMem"; "unknown" out of range. */
MMUSIM_API const char *mmusim_zone_name(enum mmusim_zone z);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_LAYOUT_H */
