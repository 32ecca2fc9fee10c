/*
 * mmusim — machine configuration.
 *
 * A plain struct, filled with defaults by mmusim_config_init() and then
 * changed field by field or by name with mmusim_config_set(). Nothing is
 * checked until mmusim_config_validate() (which mmusim_machine_create() calls):
 * every out-of-range or inconsistent value has its own error code.
 *
 *     struct mmusim_config cfg;
 *     mmusim_config_init(&cfg);
 *     mmusim_config_set(&cfg, "preset", "p3");   // costs and TLB geometry
 *     mmusim_config_set(&cfg, "mem", "8G");
 *     mmusim_config_set(&cfg, "paging", "pae");
 */
#ifndef MMUSIM_CONFIG_H
#define MMUSIM_CONFIG_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>

#include "costs.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The most CPUs a machine may have. CPU sets are 64-bit masks (bit n = CPU
 * n: mmusim_mm_cpu_mask, the engine's event tree), so this cannot grow past
 * 64 without changing them.
 */
#define MMUSIM_MAX_CPUS 64

/* i686 paging modes: 32-bit two-level, or PAE's three levels (SDM Vol. 3A §4.3, §4.4). */
enum mmusim_paging {
    MMUSIM_PAGING_2LEVEL,
    MMUSIM_PAGING_PAE
};

/*
 * CONFIG_VMSPLIT_* (linux-highmem.md §1.1). 2.6.18 has 3G, 3G_OPT, 2G
 * (0x78000000) and 1G, none of them but 3G with PAE. 2.6.32 moves 2G to
 * 0x80000000, adds 2G_OPT (0x78000000), and forbids only the _OPT ones with PAE.
 * 2.6.37 and 5.11 have the 2.6.32 choices (docs/layout.md says where from).
 */
enum mmusim_split {
    MMUSIM_SPLIT_3G,
    MMUSIM_SPLIT_3G_OPT,
    MMUSIM_SPLIT_2G,
    MMUSIM_SPLIT_2G_OPT,
    MMUSIM_SPLIT_1G
};

/*
 * The kernel whose layout (and, later, highmem code) is modelled
 * (linux-highmem.md §2-§5): 2.6.18 (slot kmap_atomic, flush at map),
 * 2.6.32 (slot kmap_atomic, flush at unmap), 2.6.37 (stack kmap_atomic),
 * 5.11 (kmap_local). MMUSIM_ERA_COUNT_ is the number of eras, not an era.
 */
enum mmusim_era {
    MMUSIM_ERA_2_6_18,
    MMUSIM_ERA_2_6_32,
    MMUSIM_ERA_2_6_37,
    MMUSIM_ERA_5_11,
    MMUSIM_ERA_COUNT_
};

/*
 * The kernel's preemption model (CONFIG_PREEMPT_NONE, _VOLUNTARY, CONFIG_PREEMPT).
 * AUTO is the era's usual distribution kernel: voluntary in every era
 * (docs/config.md says why); mmusim_config_preempt() resolves it.
 */
enum mmusim_preempt {
    MMUSIM_PREEMPT_AUTO,
    MMUSIM_PREEMPT_NONE,
    MMUSIM_PREEMPT_VOLUNTARY,
    MMUSIM_PREEMPT_FULL
};

/* The default of the stall_steps key: far more zero-cycle actions in a row
 * than any real workload makes (each step, interrupt or switch charges
 * cycles), few enough to be found in milliseconds of host time. */
#define MMUSIM_STALL_STEPS_DEFAULT 1000000u

/* flush_ceiling value meaning "the era's": 0 for the 2.6 eras, 33 for 5.11. */
#define MMUSIM_FLUSH_CEILING_AUTO (~0u)

/* The range of an explicit HZ (CONFIG_HZ); 0 means the era's (250, or 1000 for 5.11). */
#define MMUSIM_HZ_MIN 100u
#define MMUSIM_HZ_MAX 10000u

/* CPU features (CPUID bits the kernel looks at). */
#define MMUSIM_FEAT_PSE 0x1u /* 4 MiB pages in 2-level paging (CR4.PSE) */
#define MMUSIM_FEAT_PGE 0x2u /* global pages (CR4.PGE) */
#define MMUSIM_FEAT_NX  0x4u /* execute-disable, PAE only (EFER.NXE) */

/* TLB replacement policies. */
enum mmusim_replacement {
    MMUSIM_REPL_LRU,
    MMUSIM_REPL_PLRU,
    MMUSIM_REPL_FIFO,
    MMUSIM_REPL_RANDOM
};

/* One set-associative array: entries == 0 means absent; ways == entries is fully associative. */
struct mmusim_tlb_array_config {
    uint32_t entries;
    uint32_t ways;
};

/* TLB geometry of every CPU (all CPUs of a machine are alike). */
struct mmusim_tlb_config {
    struct mmusim_tlb_array_config dtlb_4k;    /* data, 4 KiB pages */
    struct mmusim_tlb_array_config dtlb_large; /* data, 4 MiB or 2 MiB pages; entries 0 = shared with dtlb_4k */
    struct mmusim_tlb_array_config itlb_4k;
    struct mmusim_tlb_array_config itlb_large;
    struct mmusim_tlb_array_config stlb;       /* optional second level, 4 KiB */
    struct mmusim_tlb_array_config utlb;       /* optional first-level data uTLB / DTLB0, 4 KiB loads */
    uint32_t pdecache_entries;                 /* optional paging-structure (PDE) cache */
    enum mmusim_replacement replacement;
};

struct mmusim_config {
    unsigned ncpus;              /* 1..64; default 2 */
    uint64_t mem_bytes;          /* installed RAM; default 1 GiB */
    enum mmusim_paging paging;   /* default 2-level */
    enum mmusim_split split;     /* default 3G */
    enum mmusim_era era;         /* default 2.6.32 */
    uint64_t vmalloc_bytes;      /* the vmalloc= boot option; 0 = not given (128 MiB reserve) */
    unsigned features;           /* MMUSIM_FEAT_*; default PSE | PGE */
    unsigned nr_cpus;            /* kernel NR_CPUS (sizes the fixmap); 0 = max(8, ncpus) */
    /* kmap fixmap slots per CPU: 0 = the era's KM_TYPE_NR (13, 19, 20;
     * 2N+1 with debug_highmem) or, in 5.11, KM_MAX_IDX (16; 33 with
     * debug_highmem). A non-zero value is taken as is, debug included. */
    unsigned km_type_nr;
    /* CONFIG_DEBUG_HIGHMEM: fence slots between km_types (2.6 eras); in 5.11
     * it stands for CONFIG_DEBUG_KMAP_LOCAL (KM_MAX_IDX 33, guard slots). */
    int debug_highmem;
    /* tlb_single_page_flush_ceiling: flush_tlb_kernel_range and flush_tlb_range
     * use per-page INVLPG up to this many pages, else a full flush. 0 (the
     * 2.6 eras: they have no ceiling) makes a kernel range always
     * flush_tlb_all and a user range of more than one page flush_tlb_mm.
     * Later kernels use 33 (arch/x86/mm/tlb.c). Default
     * MMUSIM_FLUSH_CEILING_AUTO: 0 for the 2.6 eras, 33 for 5.11
     * (mmusim_config_flush_ceiling() resolves it). */
    unsigned flush_ceiling;
    unsigned hz;                 /* CONFIG_HZ: 0 = the era's (250; 1000 for 5.11), else 100..10000 */
    enum mmusim_preempt preempt; /* preemption model; default AUTO (the era's) */
    /* Liveness (docs/smp.md): mmusim_machine_run stops with MMUSIM_ESTALL once
     * this many engine actions in a row leave the earliest clock where it was
     * (a step returning MORE without spending a cycle). Default
     * MMUSIM_STALL_STEPS_DEFAULT; 0 = never check. */
    uint32_t stall_steps;
    enum mmusim_preset preset;   /* what filled costs and tlb; default core2 */
    struct mmusim_costs costs;
    struct mmusim_tlb_config tlb;
    uint32_t ptcache_lines;      /* per-CPU page-table line cache (64-byte lines) */
    uint32_t ptcache_ways;
    uint64_t seed;               /* seeds every random choice; default 1 */
};

/* Fill cfg with the defaults above, costs and TLB geometry from core2. */
MMUSIM_API void mmusim_config_init(struct mmusim_config *cfg);

/* Load a preset's costs and TLB geometry into cfg (other fields untouched). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_config_apply_preset(struct mmusim_config *cfg, enum mmusim_preset p);

/* MMUSIM_OK, or the code of the first problem found. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_config_validate(const struct mmusim_config *cfg);

/*
 * The effective values of the keys that follow the era when left at
 * 0/auto: HZ, the preemption model and the flush ceiling (the layout
 * carries the same values). cfg is assumed valid.
 */
MMUSIM_API unsigned mmusim_config_hz(const struct mmusim_config *cfg);
MMUSIM_API enum mmusim_preempt mmusim_config_preempt(const struct mmusim_config *cfg);
MMUSIM_API unsigned mmusim_config_flush_ceiling(const struct mmusim_config *cfg);

/*
 * Set one field by name: "cpus", "mem", "paging", "split", "era", "vmalloc",
 * "pse", "pge", "nx", "nr_cpus", "km_type_nr", "debug_highmem",
 * "flush_ceiling", "hz", "preempt", "preset", "seed", "ptcache.lines",
 * "ptcache.ways", "cost.NAME", the TLB keys
 * ("dtlb.4k.entries", ..., "tlb.replacement"). docs/config.md lists them all.
 * Returns MMUSIM_EKEY for an unknown key, MMUSIM_EVALUE for a value that does
 * not parse; cfg is unchanged on error. "preset" reloads costs and TLB
 * geometry, so set it before any cost.* or TLB key.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_config_set(struct mmusim_config *cfg, const char *key, const char *value);

/*
 * The value of one key in cfg, as text mmusim_config_set() accepts back
 * (numbers in decimal, sizes in bytes, names, "auto"), into buf of n bytes.
 * MMUSIM_EKEY for an unknown key, MMUSIM_EINVAL if buf is too small.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_config_get(const struct mmusim_config *cfg, const char *key, char *buf,
                                                  size_t n);

/* Number of keys mmusim_config_set() accepts, and the i-th key with a description. */
MMUSIM_API size_t mmusim_config_key_count(void);
MMUSIM_API MMUSIM_NODISCARD int mmusim_config_key(size_t i, const char **name, const char **doc);
/* The description of key (what values it takes: its range, its names), or NULL for an unknown key or NULL. */
MMUSIM_API const char *mmusim_config_key_doc(const char *key);

/*
 * Parse a size: a decimal or 0x number with an optional K, M, G suffix
 * (binary multiples; "KiB", "MiB", "GiB" accepted). MMUSIM_EVALUE on garbage
 * or overflow, MMUSIM_EINVAL if s or out is NULL.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_parse_size(const char *s, uint64_t *out);

/*
 * Names used by the CLI and JSON: "2level"/"pae", "3G"..., "2.6.18", "2.6.32",
 * "2.6.37", "5.11", and "auto"/"none"/"voluntary"/"full". NULL for a value
 * out of range.
 */
MMUSIM_API const char *mmusim_paging_name(enum mmusim_paging p);
MMUSIM_API const char *mmusim_split_name(enum mmusim_split s);
MMUSIM_API const char *mmusim_era_name(enum mmusim_era e);
MMUSIM_API const char *mmusim_preempt_name(enum mmusim_preempt p);
MMUSIM_API MMUSIM_NODISCARD int mmusim_split_from_name(const char *name, enum mmusim_split *out);
MMUSIM_API MMUSIM_NODISCARD int mmusim_era_from_name(const char *name, enum mmusim_era *out);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_CONFIG_H */
