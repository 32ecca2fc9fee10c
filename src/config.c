/*
 * mmusim — configuration: defaults, validation, and setting fields by name.
 *
 * Every key mmusim_config_set() knows is one row of key_table[] below, so the
 * library, the CLI's --set and docs/config.md all read the same list.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mmusim/error.h"
#include "mmusim/layout.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)

#define MMUSIM_MIN_MEM (16 * MIB) /* smallest machine: room for boot page tables and a DMA zone */
#define MMUSIM_MAX_MEM_2LEVEL (4 * GIB)  /* 32-bit physical addresses */
#define MMUSIM_MAX_MEM_PAE (64 * GIB)    /* 36-bit physical addresses (MAXPHYADDR 36) */
#define MMUSIM_MAX_NR_CPUS 256          /* beyond this the fixmap no longer fits below 4 GiB */
#define MMUSIM_MAX_KM_TYPES 64

/* ---- names ---- */

static const char *const paging_names[] = {"2level", "pae"};
static const char *const split_names[] = {"3G", "3G_OPT", "2G", "2G_OPT", "1G"};
static const char *const era_names[] = {"2.6.18", "2.6.32", "2.6.37", "5.11"};
static const char *const preempt_names[] = {"auto", "none", "voluntary", "full"};
static const char *const repl_names[] = {"lru", "plru", "fifo", "random"};

_Static_assert(MMUSIM_ARRAY_SIZE(era_names) == MMUSIM_ERA_COUNT_, "one name per era");
_Static_assert(MMUSIM_ARRAY_SIZE(preempt_names) == MMUSIM_PREEMPT_FULL + 1, "one name per preemption model");

static int name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

const char *mmusim_paging_name(enum mmusim_paging p)
{
    return (unsigned)p < MMUSIM_ARRAY_SIZE(paging_names) ? paging_names[p] : NULL;
}

const char *mmusim_split_name(enum mmusim_split s)
{
    return (unsigned)s < MMUSIM_ARRAY_SIZE(split_names) ? split_names[s] : NULL;
}

const char *mmusim_era_name(enum mmusim_era e)
{
    return (unsigned)e < MMUSIM_ARRAY_SIZE(era_names) ? era_names[e] : NULL;
}

const char *mmusim_preempt_name(enum mmusim_preempt p)
{
    return (unsigned)p < MMUSIM_ARRAY_SIZE(preempt_names) ? preempt_names[p] : NULL;
}

int mmusim_split_from_name(const char *name, enum mmusim_split *out)
{
    if (!name || !out)
        return MMUSIM_EINVAL;
    int i = name_index(split_names, MMUSIM_ARRAY_SIZE(split_names), name);
    if (i < 0)
        return MMUSIM_ESPLIT;
    *out = (enum mmusim_split)i;
    return MMUSIM_OK;
}

int mmusim_era_from_name(const char *name, enum mmusim_era *out)
{
    if (!name || !out)
        return MMUSIM_EINVAL;
    int i = name_index(era_names, MMUSIM_ARRAY_SIZE(era_names), name);
    if (i < 0)
        return MMUSIM_EERA;
    *out = (enum mmusim_era)i;
    return MMUSIM_OK;
}

/* ---- defaults ---- */

/*
 * What the keys left at 0/auto become in each era. docs/config.md gives the
 * reasons; in short:
 * - hz: 250, the Kconfig default (HZ_250) from 2.6.13 on, for the 2.6 eras;
 *   1000 for 5.11, as desktop-oriented builds such as Fedora's use (the
 *   Kconfig default is still HZ_250 there, and Debian builds 250).
 * - preempt: PREEMPT_VOLUNTARY, what Debian, Ubuntu, RHEL and Fedora built
 *   their kernels with in all four eras (the Kconfig default is PREEMPT_NONE).
 *   From the distributions' configurations as known to the authors, not
 *   from a source read here.
 * - flush_ceiling: none before the ranged flush_tlb_kernel_range (§6: 2.6.18
 *   to 2.6.37 always call flush_tlb_all); tlb_single_page_flush_ceiling = 33
 *   in 5.11's arch/x86/mm/tlb.c (§6, §7, seen in the 4.19-era file).
 */
static const struct era_defaults {
    unsigned hz;
    enum mmusim_preempt preempt;
    unsigned flush_ceiling;
} era_defaults[MMUSIM_ERA_COUNT_] = {
    [MMUSIM_ERA_2_6_18] = {250, MMUSIM_PREEMPT_VOLUNTARY, 0},
    [MMUSIM_ERA_2_6_32] = {250, MMUSIM_PREEMPT_VOLUNTARY, 0},
    [MMUSIM_ERA_2_6_37] = {250, MMUSIM_PREEMPT_VOLUNTARY, 0},
    [MMUSIM_ERA_5_11] = {1000, MMUSIM_PREEMPT_VOLUNTARY, 33},
};

static const struct era_defaults *defaults_of(const struct mmusim_config *cfg)
{
    /* An era out of range (an unvalidated cfg) reads as the default era. */
    return &era_defaults[(unsigned)cfg->era < MMUSIM_ERA_COUNT_ ? cfg->era : MMUSIM_ERA_2_6_32];
}

unsigned mmusim_config_hz(const struct mmusim_config *cfg)
{
    if (!cfg)
        return 0;
    return cfg->hz != 0 ? cfg->hz : defaults_of(cfg)->hz;
}

enum mmusim_preempt mmusim_config_preempt(const struct mmusim_config *cfg)
{
    if (!cfg)
        return MMUSIM_PREEMPT_AUTO;
    return cfg->preempt != MMUSIM_PREEMPT_AUTO ? cfg->preempt : defaults_of(cfg)->preempt;
}

unsigned mmusim_config_flush_ceiling(const struct mmusim_config *cfg)
{
    if (!cfg)
        return 0;
    return cfg->flush_ceiling != MMUSIM_FLUSH_CEILING_AUTO ? cfg->flush_ceiling
                                                           : defaults_of(cfg)->flush_ceiling;
}

int mmusim_config_apply_preset(struct mmusim_config *cfg, enum mmusim_preset p)
{
    struct mmusim_costs costs;
    struct mmusim_tlb_config tlb;
    if (!cfg)
        return MMUSIM_EINVAL;
    int rc = mmusim_costs_preset(p, &costs);
    if (rc == MMUSIM_OK)
        rc = mmusim__tlb_preset(p, &tlb);
    if (rc != MMUSIM_OK)
        return rc;
    cfg->preset = p;
    cfg->costs = costs;
    cfg->tlb = tlb;
    mmusim__ptcache_preset(p, &cfg->ptcache_lines, &cfg->ptcache_ways);
    return MMUSIM_OK;
}

void mmusim_config_init(struct mmusim_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->ncpus = 2;
    cfg->mem_bytes = 1 * GIB; /* the classic box that first needed highmem */
    cfg->paging = MMUSIM_PAGING_2LEVEL;
    cfg->split = MMUSIM_SPLIT_3G;
    cfg->era = MMUSIM_ERA_2_6_32;
    cfg->flush_ceiling = MMUSIM_FLUSH_CEILING_AUTO; /* hz 0 and preempt AUTO: the era's too */
    cfg->features = MMUSIM_FEAT_PSE | MMUSIM_FEAT_PGE;
    cfg->seed = 1;
    cfg->stall_steps = MMUSIM_STALL_STEPS_DEFAULT;
    int rc = mmusim_config_apply_preset(cfg, MMUSIM_PRESET_CORE2);
    (void)rc; /* core2 is a known preset: it cannot fail */
}

/* ---- validation ---- */

static int is_pow2(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* entries == 0: absent. Otherwise ways divides entries into a power-of-two number of sets. */
static int check_geometry(uint32_t entries, uint32_t ways)
{
    if (entries == 0)
        return MMUSIM_OK;
    if (ways == 0 || entries % ways != 0 || !is_pow2(entries / ways))
        return MMUSIM_ETLBGEOM;
    return MMUSIM_OK;
}

static int validate_memory(const struct mmusim_config *cfg)
{
    if (cfg->mem_bytes % MMUSIM_PAGE_SIZE != 0)
        return MMUSIM_EMEMALIGN;
    if (cfg->mem_bytes < MMUSIM_MIN_MEM)
        return MMUSIM_EMEMSIZE;
    if (cfg->mem_bytes > MMUSIM_MAX_MEM_PAE)
        return MMUSIM_EMEMPAE;
    if (cfg->paging == MMUSIM_PAGING_2LEVEL && cfg->mem_bytes > MMUSIM_MAX_MEM_2LEVEL)
        return MMUSIM_EMEMNOPAE;
    return MMUSIM_OK;
}

/*
 * linux-highmem.md §1.1: which splits each era offers, and which PAE forbids.
 * 2.6.37 and 5.11 offer the 2.6.32 choices: the doc is silent on 2.6.37, and
 * a v5.8 arch/x86/Kconfig has 2.6.32's five splits with their PAGE_OFFSETs
 * and !X86_PAE on the two _OPT ones only (docs/layout.md).
 */
static int validate_split(const struct mmusim_config *cfg)
{
    int pae = cfg->paging == MMUSIM_PAGING_PAE;
    switch (cfg->split) {
    case MMUSIM_SPLIT_3G:
        return MMUSIM_OK;
    case MMUSIM_SPLIT_3G_OPT:
    case MMUSIM_SPLIT_1G:
        /* 2.6.18: the whole choice depends on !X86_PAE. 2.6.32: 1G is allowed
         * with PAE (1 GiB aligned), the _OPT splits are not. */
        if (pae && (cfg->era == MMUSIM_ERA_2_6_18 || cfg->split == MMUSIM_SPLIT_3G_OPT))
            return MMUSIM_ESPLITPAE;
        return MMUSIM_OK;
    case MMUSIM_SPLIT_2G:
        return pae && cfg->era == MMUSIM_ERA_2_6_18 ? MMUSIM_ESPLITPAE : MMUSIM_OK;
    case MMUSIM_SPLIT_2G_OPT:
        if (cfg->era == MMUSIM_ERA_2_6_18)
            return MMUSIM_ESPLITERA; /* added in 2.6.2x, with 2G moved to 0x80000000 */
        return pae ? MMUSIM_ESPLITPAE : MMUSIM_OK;
    }
    return MMUSIM_ESPLIT;
}

static int validate_tlb(const struct mmusim_tlb_config *t)
{
    const struct mmusim_tlb_array_config *arrays[] = {
        &t->dtlb_4k, &t->dtlb_large, &t->itlb_4k, &t->itlb_large, &t->stlb, &t->utlb,
    };
    int plru = t->replacement == MMUSIM_REPL_PLRU; /* a PLRU tree needs a power-of-two number of ways */
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(arrays); i++) {
        int rc = check_geometry(arrays[i]->entries, arrays[i]->ways);
        if (rc != MMUSIM_OK)
            return rc;
        if (plru && arrays[i]->entries && !is_pow2(arrays[i]->ways))
            return MMUSIM_ETLBGEOM;
    }
    if (t->pdecache_entries && plru && !is_pow2(t->pdecache_entries))
        return MMUSIM_ETLBGEOM; /* fully associative: ways == entries */
    if (t->dtlb_4k.entries == 0 || t->itlb_4k.entries == 0)
        return MMUSIM_ETLBGEOM; /* every modelled CPU has first-level 4 KiB TLBs */
    if ((unsigned)t->replacement > MMUSIM_REPL_RANDOM)
        return MMUSIM_EVALUE;
    return MMUSIM_OK;
}

int mmusim_config_validate(const struct mmusim_config *cfg)
{
    int rc;
    if (!cfg)
        return MMUSIM_EINVAL;
    if (cfg->ncpus < 1 || cfg->ncpus > MMUSIM_MAX_CPUS)
        return MMUSIM_ENCPUS;
    if ((unsigned)cfg->paging > MMUSIM_PAGING_PAE)
        return MMUSIM_EPAGING;
    if ((unsigned)cfg->era >= MMUSIM_ERA_COUNT_)
        return MMUSIM_EERA;
    if ((unsigned)cfg->split > MMUSIM_SPLIT_1G)
        return MMUSIM_ESPLIT;
    if ((unsigned)cfg->preset >= MMUSIM_PRESET_COUNT_)
        return MMUSIM_EPRESET;
    if ((rc = validate_memory(cfg)) != MMUSIM_OK || (rc = validate_split(cfg)) != MMUSIM_OK)
        return rc;
    if (cfg->features & ~(MMUSIM_FEAT_PSE | MMUSIM_FEAT_PGE | MMUSIM_FEAT_NX))
        return MMUSIM_EINVAL;
    if ((cfg->features & MMUSIM_FEAT_NX) && cfg->paging != MMUSIM_PAGING_PAE)
        return MMUSIM_ENXNOPAE; /* XD is bit 63 of a 64-bit entry: PAE only */
    if (cfg->vmalloc_bytes % MMUSIM_PAGE_SIZE != 0)
        return MMUSIM_EVMALLOC;
    if (cfg->nr_cpus != 0 && (cfg->nr_cpus < cfg->ncpus || cfg->nr_cpus > MMUSIM_MAX_NR_CPUS))
        return MMUSIM_ENRCPUS;
    if (cfg->km_type_nr > MMUSIM_MAX_KM_TYPES)
        return MMUSIM_EKMTYPES;
    if (cfg->hz != 0 && (cfg->hz < MMUSIM_HZ_MIN || cfg->hz > MMUSIM_HZ_MAX))
        return MMUSIM_EVALUE;
    if ((unsigned)cfg->preempt > MMUSIM_PREEMPT_FULL)
        return MMUSIM_EVALUE;
    if (cfg->costs.cpu_mhz == 0)
        return MMUSIM_ECOST;
    if ((rc = validate_tlb(&cfg->tlb)) != MMUSIM_OK)
        return rc;
    return check_geometry(cfg->ptcache_lines, cfg->ptcache_ways);
}

/* ---- parsing ---- */

static int parse_u64(const char *s, uint64_t *out, char **end)
{
    if (!s || *s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return MMUSIM_EVALUE;
    errno = 0;
    unsigned long long v = strtoull(s, end, 0);
    if (errno != 0 || *end == s)
        return MMUSIM_EVALUE;
    *out = v;
    return MMUSIM_OK;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    uint64_t v;
    if (parse_u64(s, &v, &end) != MMUSIM_OK || *end != '\0' || v > max)
        return MMUSIM_EVALUE;
    *out = v;
    return MMUSIM_OK;
}

int mmusim_parse_size(const char *s, uint64_t *out)
{
    static const struct { const char *suffix; uint64_t mult; } units[] = {
        {"", 1},      {"K", KIB},   {"KiB", KIB}, {"k", KIB}, {"M", MIB},
        {"MiB", MIB}, {"G", GIB},   {"GiB", GIB}, {"KB", KIB}, {"MB", MIB}, {"GB", GIB},
    };
    char *end;
    uint64_t v;
    if (!s || !out)
        return MMUSIM_EINVAL;
    if (parse_u64(s, &v, &end) != MMUSIM_OK)
        return MMUSIM_EVALUE;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(units); i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (v > UINT64_MAX / units[i].mult)
            return MMUSIM_EVALUE;
        *out = v * units[i].mult;
        return MMUSIM_OK;
    }
    return MMUSIM_EVALUE;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};
    if (!s)
        return MMUSIM_EVALUE;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(yes); i++) {
        if (strcmp(s, yes[i]) == 0)
            return *out = 1, MMUSIM_OK;
        if (strcmp(s, no[i]) == 0)
            return *out = 0, MMUSIM_OK;
    }
    return MMUSIM_EVALUE;
}

/* ---- the key table ---- */

enum key_kind {
    K_UINT,    /* unsigned int field, arg = max */
    K_U32,     /* uint32_t field, arg = max */
    K_U64,     /* uint64_t field */
    K_SIZE,    /* uint64_t field, a size with suffix */
    K_FEATURE, /* bit arg of features */
    K_FLAG,    /* int field, boolean */
    K_PAE,     /* paging as a boolean */
    K_PAGING,
    K_SPLIT,
    K_ERA,
    K_PREEMPT,
    K_HZ,      /* unsigned field: 0 or "auto", or MMUSIM_HZ_MIN..MMUSIM_HZ_MAX */
    K_CEILING, /* unsigned field: "auto" (MMUSIM_FLUSH_CEILING_AUTO) or 0..arg */
    K_PRESET,
    K_REPL,
};

struct key {
    const char *name;
    const char *doc;
    enum key_kind kind;
    size_t off;
    uint64_t arg;
};

#define CFG_OFF(f) offsetof(struct mmusim_config, f)
#define TLB_KEYS_ZERO(prefix, field, what, zero)                                          \
    {prefix ".entries", "entries of the " what " (" zero ")", K_U32, CFG_OFF(tlb.field.entries), 1u << 20}, \
    {prefix ".ways", "ways of the " what " (= entries: fully associative)", K_U32, CFG_OFF(tlb.field.ways), 1u << 20}
#define TLB_KEYS(prefix, field, what) TLB_KEYS_ZERO(prefix, field, what, "0 = absent")
/* A large array's 0: the large pages go to the 4 KiB array of their kind as fragments. */
#define TLB_LARGE_ZERO "0 = none: large pages are cached as 4 KiB fragments in the 4 KiB array"

static const struct key key_table[] = {
    {"cpus", "number of CPUs, 1 to 64", K_UINT, CFG_OFF(ncpus), MMUSIM_MAX_CPUS},
    {"mem", "installed RAM (size: 1G, 512M, ...)", K_SIZE, CFG_OFF(mem_bytes), 0},
    {"paging", "2level or pae", K_PAGING, CFG_OFF(paging), 0},
    {"pae", "1 for PAE paging, 0 for 2-level", K_PAE, CFG_OFF(paging), 0},
    {"split", "VMSPLIT: 3G, 3G_OPT, 2G, 2G_OPT, 1G", K_SPLIT, CFG_OFF(split), 0},
    {"era", "kernel era: 2.6.18, 2.6.32, 2.6.37 or 5.11", K_ERA, CFG_OFF(era), 0},
    {"vmalloc", "the vmalloc= boot option (size); 0 = not given", K_SIZE, CFG_OFF(vmalloc_bytes), 0},
    {"pse", "CPU has PSE (4 MiB pages without PAE)", K_FEATURE, CFG_OFF(features), MMUSIM_FEAT_PSE},
    {"pge", "CPU has PGE (global pages)", K_FEATURE, CFG_OFF(features), MMUSIM_FEAT_PGE},
    {"nx", "CPU has NX and the kernel sets EFER.NXE (PAE only)", K_FEATURE, CFG_OFF(features), MMUSIM_FEAT_NX},
    {"nr_cpus", "kernel NR_CPUS sizing the fixmap; 0 = max(8, cpus)", K_UINT, CFG_OFF(nr_cpus), MMUSIM_MAX_NR_CPUS},
    {"km_type_nr", "kmap slots per CPU: KM_TYPE_NR, or KM_MAX_IDX in 5.11; 0 = the era's", K_UINT, CFG_OFF(km_type_nr), MMUSIM_MAX_KM_TYPES},
    {"debug_highmem", "CONFIG_DEBUG_HIGHMEM (fence slots, extra checks); in 5.11 CONFIG_DEBUG_KMAP_LOCAL", K_FLAG, CFG_OFF(debug_highmem), 0},
    {"flush_ceiling", "tlb_single_page_flush_ceiling in pages, 0 = none; auto = the era's (0 for 2.6, 33 for 5.11)", K_CEILING, CFG_OFF(flush_ceiling), 1u << 20},
    {"hz", "CONFIG_HZ, 100 to 10000; 0 or auto = the era's (250; 1000 for 5.11)", K_HZ, CFG_OFF(hz), 0},
    {"preempt", "preemption model: none, voluntary, full; auto = the era's (voluntary)", K_PREEMPT, CFG_OFF(preempt), 0},
    {"preset", "p3, core2, atom or haswell: reloads costs and TLB geometry", K_PRESET, CFG_OFF(preset), 0},
    {"seed", "seed of every random choice", K_U64, CFG_OFF(seed), 0},
    {"stall_steps", "engine actions in a row without the earliest clock advancing before a run stops with ESTALL (0 = never)", K_U32, CFG_OFF(stall_steps), UINT32_MAX},
    {"ptcache.lines", "lines of the per-CPU page-table line cache (0 = none)", K_U32, CFG_OFF(ptcache_lines), 1u << 20},
    {"ptcache.ways", "ways of the page-table line cache", K_U32, CFG_OFF(ptcache_ways), 1u << 20},
    TLB_KEYS("dtlb.4k", dtlb_4k, "data TLB for 4 KiB pages"),
    TLB_KEYS_ZERO("dtlb.large", dtlb_large, "data TLB for large pages", TLB_LARGE_ZERO),
    TLB_KEYS("itlb.4k", itlb_4k, "instruction TLB for 4 KiB pages"),
    TLB_KEYS_ZERO("itlb.large", itlb_large, "instruction TLB for large pages", TLB_LARGE_ZERO),
    TLB_KEYS("stlb", stlb, "second-level TLB (4 KiB)"),
    TLB_KEYS("utlb", utlb, "first-level data uTLB / DTLB0 (4 KiB loads)"),
    {"pdecache.entries", "entries of the paging-structure (PDE) cache (0 = none)", K_U32, CFG_OFF(tlb.pdecache_entries), 1u << 20},
    {"tlb.replacement", "lru, plru, fifo or random", K_REPL, CFG_OFF(tlb.replacement), 0},
#define MMUSIM_COST_KEY_(name, doc) {"cost." #name, doc, K_U32, CFG_OFF(costs.name), UINT32_MAX},
    MMUSIM_COST_FIELDS(MMUSIM_COST_KEY_)
#undef MMUSIM_COST_KEY_
};

size_t mmusim_config_key_count(void)
{
    return MMUSIM_ARRAY_SIZE(key_table);
}

int mmusim_config_key(size_t i, const char **name, const char **doc)
{
    if (i >= MMUSIM_ARRAY_SIZE(key_table))
        return MMUSIM_EINVAL;
    if (name)
        *name = key_table[i].name;
    if (doc)
        *doc = key_table[i].doc;
    return MMUSIM_OK;
}

const char *mmusim_config_key_doc(const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(key_table); i++)
        if (strcmp(key_table[i].name, key) == 0)
            return key_table[i].doc;
    return NULL;
}

_Static_assert(sizeof(enum mmusim_paging) == sizeof(int) && sizeof(enum mmusim_split) == sizeof(int) &&
                   sizeof(enum mmusim_era) == sizeof(int) && sizeof(enum mmusim_replacement) == sizeof(int) &&
                   sizeof(enum mmusim_preempt) == sizeof(int),
               "set_enum stores an int into enum fields");

static int set_enum(void *field, const char *const *names, size_t n, const char *value)
{
    int i = name_index(names, n, value);
    if (i < 0)
        return MMUSIM_EVALUE;
    memcpy(field, &i, sizeof(int)); /* every enum field here has the size of int */
    return MMUSIM_OK;
}

static int set_key(struct mmusim_config *cfg, const struct key *k, const char *v)
{
    void *field = (char *)cfg + k->off;
    uint64_t u;
    int b, rc;
    enum mmusim_preset p;

    switch (k->kind) {
    case K_UINT:
        if ((rc = parse_uint(v, k->arg, &u)) == MMUSIM_OK)
            *(unsigned *)field = (unsigned)u;
        return rc;
    case K_U32:
        if ((rc = parse_uint(v, k->arg, &u)) == MMUSIM_OK)
            *(uint32_t *)field = (uint32_t)u;
        return rc;
    case K_U64:
        if ((rc = parse_uint(v, UINT64_MAX, &u)) == MMUSIM_OK)
            *(uint64_t *)field = u;
        return rc;
    case K_SIZE:
        if ((rc = mmusim_parse_size(v, &u)) == MMUSIM_OK)
            *(uint64_t *)field = u;
        return rc;
    case K_FEATURE:
        if ((rc = parse_bool(v, &b)) == MMUSIM_OK)
            cfg->features = b ? cfg->features | (unsigned)k->arg : cfg->features & ~(unsigned)k->arg;
        return rc;
    case K_FLAG:
        if ((rc = parse_bool(v, &b)) == MMUSIM_OK)
            *(int *)field = b;
        return rc;
    case K_PAE:
        if ((rc = parse_bool(v, &b)) == MMUSIM_OK)
            cfg->paging = b ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL;
        return rc;
    case K_PAGING:
        return set_enum(field, paging_names, MMUSIM_ARRAY_SIZE(paging_names), v);
    case K_SPLIT:
        return set_enum(field, split_names, MMUSIM_ARRAY_SIZE(split_names), v);
    case K_ERA:
        return set_enum(field, era_names, MMUSIM_ARRAY_SIZE(era_names), v);
    case K_PREEMPT:
        return set_enum(field, preempt_names, MMUSIM_ARRAY_SIZE(preempt_names), v);
    case K_HZ:
        if (v && strcmp(v, "auto") == 0)
            u = 0;
        else if (parse_uint(v, MMUSIM_HZ_MAX, &u) != MMUSIM_OK || (u != 0 && u < MMUSIM_HZ_MIN))
            return MMUSIM_EVALUE;
        *(unsigned *)field = (unsigned)u;
        return MMUSIM_OK;
    case K_CEILING:
        if (v && strcmp(v, "auto") == 0)
            u = MMUSIM_FLUSH_CEILING_AUTO;
        else if ((rc = parse_uint(v, k->arg, &u)) != MMUSIM_OK)
            return rc;
        *(unsigned *)field = (unsigned)u;
        return MMUSIM_OK;
    case K_REPL:
        return set_enum(field, repl_names, MMUSIM_ARRAY_SIZE(repl_names), v);
    case K_PRESET:
        if (mmusim_preset_from_name(v, &p) != MMUSIM_OK)
            return MMUSIM_EVALUE;
        return mmusim_config_apply_preset(cfg, p);
    }
    return MMUSIM_EKEY;
}

static int get_enum(const void *field, const char *const *names, size_t n, char *buf, size_t len)
{
    int i;
    memcpy(&i, field, sizeof(int));
    return snprintf(buf, len, "%s", i >= 0 && (size_t)i < n ? names[i] : "?");
}

/* What set_key would take back: k's value in cfg as text. snprintf's count. */
static int get_key(const struct mmusim_config *cfg, const struct key *k, char *buf, size_t n)
{
    const void *field = (const char *)cfg + k->off;
    switch (k->kind) {
    case K_UINT:
        return snprintf(buf, n, "%u", *(const unsigned *)field);
    case K_U32:
        return snprintf(buf, n, "%lu", (unsigned long)*(const uint32_t *)field);
    case K_U64:
    case K_SIZE:
        return snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field);
    case K_FEATURE:
        return snprintf(buf, n, "%d", (cfg->features & (unsigned)k->arg) ? 1 : 0);
    case K_FLAG:
        return snprintf(buf, n, "%d", *(const int *)field ? 1 : 0);
    case K_PAE:
        return snprintf(buf, n, "%d", cfg->paging == MMUSIM_PAGING_PAE ? 1 : 0);
    case K_PAGING:
        return get_enum(field, paging_names, MMUSIM_ARRAY_SIZE(paging_names), buf, n);
    case K_SPLIT:
        return get_enum(field, split_names, MMUSIM_ARRAY_SIZE(split_names), buf, n);
    case K_ERA:
        return get_enum(field, era_names, MMUSIM_ARRAY_SIZE(era_names), buf, n);
    case K_PREEMPT:
        return get_enum(field, preempt_names, MMUSIM_ARRAY_SIZE(preempt_names), buf, n);
    case K_HZ:
        if (*(const unsigned *)field == 0)
            return snprintf(buf, n, "auto");
        return snprintf(buf, n, "%u", *(const unsigned *)field);
    case K_CEILING:
        if (*(const unsigned *)field == MMUSIM_FLUSH_CEILING_AUTO)
            return snprintf(buf, n, "auto");
        return snprintf(buf, n, "%u", *(const unsigned *)field);
    case K_REPL:
        return get_enum(field, repl_names, MMUSIM_ARRAY_SIZE(repl_names), buf, n);
    case K_PRESET:
        return snprintf(buf, n, "%s", mmusim_preset_name(cfg->preset));
    }
    return -1;
}

int mmusim_config_get(const struct mmusim_config *cfg, const char *key, char *buf, size_t n)
{
    if (!cfg || !key || !buf || n == 0)
        return MMUSIM_EINVAL;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(key_table); i++) {
        if (strcmp(key_table[i].name, key) != 0)
            continue;
        int len = get_key(cfg, &key_table[i], buf, n);
        if (len < 0 || (size_t)len >= n)
            return MMUSIM_EINVAL;
        return MMUSIM_OK;
    }
    return MMUSIM_EKEY;
}

int mmusim_config_set(struct mmusim_config *cfg, const char *key, const char *value)
{
    if (!cfg || !key || !value)
        return MMUSIM_EINVAL;
    for (size_t i = 0; i < MMUSIM_ARRAY_SIZE(key_table); i++) {
        if (strcmp(key_table[i].name, key) != 0)
            continue;
        struct mmusim_config tmp = *cfg; /* all or nothing */
        int rc = set_key(&tmp, &key_table[i], value);
        if (rc == MMUSIM_OK)
            *cfg = tmp;
        return rc;
    }
    return MMUSIM_EKEY;
}
