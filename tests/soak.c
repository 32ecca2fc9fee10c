/*
 * soak — a long seeded run of a large machine (issue 14 item 9,
 * docs/reliability.md, "Soak"): 64 CPUs for 10^9 simulated cycles by
 * default, with tasks in several address spaces (context switches, CR3
 * writes, lazy-TLB kernel threads), user accesses, PTE changes with their
 * shootdowns, kernel-range flushes, kmap, kmap_atomic and kmap_local, and
 * random interrupts that map pages too.
 *
 * The run is cut into ten equal parts; after each, the host's resident set
 * (/proc/self/statm) is sampled. The soak fails (exit 1) if it grows from
 * the 10% sample to the 100% one by more than RSS_TOLERANCE, or if a call
 * returns an error the workload does not expect. It prints a digest, a hash
 * of every statistic the library keeps (CPU, TLB and kmap counters, the
 * latency histograms' percentiles, the run results, the report count) and
 * of the workload's own counts: the same seed must give the same digest,
 * whatever the host.
 *
 *   soak [--cycles N] [--seed S] [--cpus N] [--variant NAME] [--json]
 *
 * Uses the public API only.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mmusim.h"

#define USER_VA 0x08048000u
#define AS_COUNT 16          /* address spaces */
#define AS_PAGES 16          /* user pages in each */
#define HIGH_PAGES 2048      /* HighMem pages the kmaps map: more than the pkmap pool's 1024 slots, so it wraps */
#define TASKS_PER_CPU 3      /* two user tasks and a kernel thread */
#define IRQ_MEAN_GAP 50000   /* cycles between a CPU's random interrupts, on average */
#define PARTS 10             /* RSS samples: at 10%, 20%, ... 100% */
#define RSS_TOLERANCE (1u << 20) /* bytes the resident set may grow from 10% to 100% */

struct opts {
    uint64_t cycles, seed;
    unsigned cpus;
    enum mmusim_kmap_variant variant;
    int json;
};

/* What the workload counts, beside the library's statistics. */
#define WL_COUNTS(XX)                                                    \
    XX(steps, "task steps")                                              \
    XX(accesses, "user accesses")                                        \
    XX(faults, "of those, page faults (writes to read-only pages)")      \
    XX(atomic_pairs, "kmap_atomic, read, kunmap_atomic")                 \
    XX(local_pairs, "kmap_local, read, kunmap_local")                    \
    XX(local_held, "of those, held across a step boundary")              \
    XX(kmap_pairs, "kmap, read (next step), kunmap")                     \
    XX(protects, "PTE permission changes, each with flush_tlb_page")     \
    XX(range_flushes, "flush_tlb_range of eight user pages")             \
    XX(kernel_flushes, "flush_tlb_kernel_range of the pkmap area")       \
    XX(resched, "cond_resched calls")                                    \
    XX(irq_maps, "interrupt handlers' kmap_atomic pairs")                \
    XX(errors, "calls that returned an unexpected error")

struct wl_counts {
#define WL_FIELD(name, doc) uint64_t name;
    WL_COUNTS(WL_FIELD)
#undef WL_FIELD
};

struct soak;

struct task {
    struct soak *s;
    uint64_t rng;
    uint64_t cr3; /* 0: a kernel thread */
    int kmap_held;  /* a kmap to read and kunmap at the next step */
    int local_held; /* a kmap_local held across a step boundary (preemption may switch it out) */
    struct mmusim_page kpage;
    struct mmusim_kaddr ka, la;
};

struct soak {
    struct opts o;
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    uint64_t cr3[AS_COUNT];
    uint64_t user_pfn[AS_COUNT][AS_PAGES];
    struct mmusim_page high[HIGH_PAGES];
    uint64_t protected_mask[AS_COUNT]; /* bit i: page i of that space is read-only now */
    struct task *tasks;
    unsigned ntasks;
    struct wl_counts wl;
    int last_error;
};

/* splitmix64 (Steele, Lea, Flood 2014). */
static uint64_t next_rand(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void check(struct soak *s, int rc)
{
    if (rc != MMUSIM_OK && rc != MMUSIM_PENDING) {
        s->wl.errors++;
        s->last_error = rc;
    }
}

/* ---- the workload ---- */

static void user_access(struct task *t, mmusim_cpu *cpu, uint64_t r)
{
    struct soak *s = t->s;
    struct mmusim_access a;
    uint32_t v = (uint32_t)r;
    unsigned acc = ((r >> 8) & 1 ? MMUSIM_ACC_WRITE : MMUSIM_ACC_READ) | MMUSIM_ACC_USER;
    check(s, mmusim_cpu_access(cpu, USER_VA + (uint32_t)((r >> 16) % AS_PAGES) * MMUSIM_PAGE_SIZE, acc, 4, &v, &a));
    s->wl.accesses++;
    s->wl.faults += (uint64_t)a.fault;
}

/* Read the first word through a kernel mapping. */
static void kread(struct soak *s, mmusim_cpu *cpu, struct mmusim_kaddr ka)
{
    struct mmusim_access a;
    uint32_t v;
    check(s, mmusim_cpu_access(cpu, ka.va, MMUSIM_ACC_READ, 4, &v, &a));
}

static void atomic_pair(struct soak *s, mmusim_cpu *cpu, struct mmusim_page p, enum mmusim_km_type type)
{
    struct mmusim_kaddr ka;
    int rc = mmusim_kmap_atomic(cpu, s->k, p, type, &ka);
    check(s, rc);
    if (rc != MMUSIM_OK)
        return;
    kread(s, cpu, ka);
    check(s, mmusim_kunmap_atomic(cpu, s->k, ka, type));
}

static void local_pair(struct soak *s, mmusim_cpu *cpu, struct mmusim_page p)
{
    struct mmusim_kaddr ka;
    int rc = mmusim_kmap_local(cpu, s->k, p, &ka);
    check(s, rc);
    if (rc != MMUSIM_OK)
        return;
    kread(s, cpu, ka);
    check(s, mmusim_kunmap_local(cpu, s->k, ka));
}

/* A user page's write permission toggled, then flush_tlb_page on every CPU that uses the space. */
static int protect_and_flush(struct task *t, mmusim_cpu *cpu, uint64_t r)
{
    struct soak *s = t->s;
    unsigned as = 0;
    while (s->cr3[as] != t->cr3)
        as++;
    unsigned i = (unsigned)((r >> 16) % AS_PAGES);
    s->protected_mask[as] ^= 1ull << i;
    uint64_t flags = (s->protected_mask[as] >> i) & 1 ? MMUSIM_PTE_US : MMUSIM_PTE_US | MMUSIM_PTE_RW;
    uint32_t va = USER_VA + i * MMUSIM_PAGE_SIZE;
    check(s, mmusim_pt_protect(s->m, t->cr3, va, flags));
    s->wl.protects++;
    int rc = mmusim_flush_tlb_page_smp(cpu, t->cr3, va);
    check(s, rc);
    return rc;
}

static enum mmusim_step task_step(mmusim_cpu *cpu, void *arg)
{
    struct task *t = arg;
    struct soak *s = t->s;
    uint64_t r = next_rand(&t->rng);
    int rc = MMUSIM_OK;
    s->wl.steps++;
    mmusim_cpu_spend(cpu, 20 + (r >> 40) % 400); /* the work between two operations */
    if (t->local_held) {
        /* Possibly switched out and back meanwhile: the slot restored at the switch-in. */
        t->local_held = 0;
        kread(s, cpu, t->la);
        check(s, mmusim_kunmap_local(cpu, s->k, t->la));
        return MMUSIM_STEP_MORE;
    }
    if (t->kmap_held) {
        /* kmap completed (at once or after a wait): read, then kunmap (which may wake a sleeper). */
        t->kmap_held = 0;
        kread(s, cpu, t->ka);
        check(s, mmusim_kunmap(cpu, s->k, t->kpage));
        s->wl.kmap_pairs++;
        return MMUSIM_STEP_MORE;
    }
    unsigned pick = (unsigned)(r % 1000);
    struct mmusim_page hp = s->high[(r >> 24) % HIGH_PAGES];
    if (pick < 400) {
        if (t->cr3)
            user_access(t, cpu, r);
    } else if (pick < 550) {
        atomic_pair(s, cpu, hp, MMUSIM_KM_USER0);
        s->wl.atomic_pairs++;
    } else if (pick < 650) {
        if (s->o.variant == MMUSIM_KMAP_LOCAL_5_11 && t->cr3 && (r >> 12) & 1) {
            rc = mmusim_kmap_local(cpu, s->k, hp, &t->la);
            check(s, rc);
            t->local_held = rc == MMUSIM_OK;
            s->wl.local_pairs++;
            s->wl.local_held++;
        } else if (s->o.variant == MMUSIM_KMAP_LOCAL_5_11) {
            local_pair(s, cpu, hp);
            s->wl.local_pairs++;
        } else {
            atomic_pair(s, cpu, hp, MMUSIM_KM_USER1);
            s->wl.atomic_pairs++;
        }
    } else if (pick < 720) {
        t->kpage = hp;
        t->ka.va = 0;
        rc = mmusim_kmap(cpu, s->k, hp, &t->ka);
        check(s, rc);
        t->kmap_held = rc == MMUSIM_OK || rc == MMUSIM_PENDING;
    } else if (pick < 760) {
        if (t->cr3)
            rc = protect_and_flush(t, cpu, r);
    } else if (pick < 770) {
        if (t->cr3) {
            rc = mmusim_flush_tlb_range_smp(cpu, t->cr3, USER_VA, USER_VA + 8 * MMUSIM_PAGE_SIZE);
            check(s, rc);
            s->wl.range_flushes++;
        }
    } else if (pick < 771) {
        const struct mmusim_layout *l = mmusim_machine_layout(s->m);
        rc = mmusim_flush_tlb_kernel_range_smp(cpu, l->pkmap_base, l->pkmap_base + 16 * MMUSIM_PAGE_SIZE);
        check(s, rc);
        s->wl.kernel_flushes++;
    } else if (pick < 850) {
        rc = mmusim_cond_resched(cpu);
        check(s, rc);
        s->wl.resched++;
    } else {
        mmusim_cpu_spend(cpu, (r >> 32) % 2000);
    }
    (void)rc; /* pending or not, the step returns: the engine completes the operation */
    return MMUSIM_STEP_MORE;
}

static enum mmusim_step irq_handler(mmusim_cpu *cpu, void *arg)
{
    struct soak *s = arg;
    uint64_t c = mmusim_cpu_cycles(cpu);
    atomic_pair(s, cpu, s->high[(c >> 4) % HIGH_PAGES], MMUSIM_KM_IRQ0);
    s->wl.irq_maps++;
    mmusim_cpu_spend(cpu, 300);
    return MMUSIM_STEP_DONE;
}

/* ---- the machine ---- */

/* The era a kmap variant's machine needs. */
static const char *era_of(enum mmusim_kmap_variant v)
{
    return mmusim_era_name(mmusim_kmap_variant_era(v));
}

static int fresh_page(struct soak *s, enum mmusim_zone z, uint64_t *pfn, uint32_t tag)
{
    int rc = mmusim_frame_alloc(s->m, z, pfn);
    /* Written now, so the run itself never needs new host frames. */
    return rc == MMUSIM_OK ? mmusim_phys_write32(s->m, *pfn << MMUSIM_PAGE_SHIFT, tag) : rc;
}

static int build(struct soak *s)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    char num[32];
    int rc;
    snprintf(num, sizeof(num), "%u", s->o.cpus);
    if ((rc = mmusim_config_set(&cfg, "era", era_of(s->o.variant))) != MMUSIM_OK ||
        (rc = mmusim_config_set(&cfg, "cpus", num)) != MMUSIM_OK ||
        (rc = mmusim_config_set(&cfg, "preempt", "full")) != MMUSIM_OK) /* the tick preempts tasks, kmap_local held or not */
        return rc;
    cfg.seed = s->o.seed;
    if ((rc = mmusim_machine_create(&cfg, &s->m)) != MMUSIM_OK)
        return rc;
    struct mmusim_kmap_opts ko;
    mmusim_kmap_opts_init(&ko, s->o.variant);
    if ((rc = mmusim_kmap_create(s->m, &ko, &s->k)) != MMUSIM_OK)
        return rc;
    for (unsigned a = 0; a < AS_COUNT; a++) {
        if ((rc = mmusim_pgd_create(s->m, &s->cr3[a])) != MMUSIM_OK)
            return rc;
        for (unsigned i = 0; i < AS_PAGES; i++)
            if ((rc = fresh_page(s, MMUSIM_ZONE_HIGHMEM, &s->user_pfn[a][i], a * 100 + i)) != MMUSIM_OK ||
                (rc = mmusim_pt_map(s->m, s->cr3[a], USER_VA + i * MMUSIM_PAGE_SIZE,
                                    s->user_pfn[a][i] << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K,
                                    MMUSIM_PTE_RW | MMUSIM_PTE_US)) != MMUSIM_OK)
                return rc;
    }
    for (unsigned i = 0; i < HIGH_PAGES; i++) {
        uint64_t pfn;
        if ((rc = fresh_page(s, MMUSIM_ZONE_HIGHMEM, &pfn, 0x4000 + i)) != MMUSIM_OK)
            return rc;
        s->high[i] = mmusim_page_of_pfn(s->m, pfn);
    }
    s->ntasks = s->o.cpus * TASKS_PER_CPU;
    if (!(s->tasks = calloc(s->ntasks, sizeof(*s->tasks))))
        return MMUSIM_ENOMEM;
    for (unsigned i = 0; i < s->ntasks; i++) {
        struct task *t = &s->tasks[i];
        mmusim_task *h;
        t->s = s;
        t->rng = s->o.seed * 0x2545f4914f6cdd1dull + i;
        t->cr3 = i % TASKS_PER_CPU == TASKS_PER_CPU - 1 ? 0 : s->cr3[(i * 7 + i / TASKS_PER_CPU) % AS_COUNT];
        if ((rc = mmusim_task_create(s->m, i / TASKS_PER_CPU, t->cr3, task_step, t, &h)) != MMUSIM_OK)
            return rc;
    }
    for (unsigned c = 0; c < s->o.cpus; c++)
        if ((rc = mmusim_irq_random(s->m, c, IRQ_MEAN_GAP, s->o.cycles, irq_handler, s)) != MMUSIM_OK)
            return rc;
    return MMUSIM_OK;
}

/* ---- measurements ---- */

static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        h = (h ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return h;
}

/* Every statistic the library keeps, field by field (no padding bytes), and the workload's counts. */
static uint64_t digest(const struct soak *s, const struct mmusim_run_result *r)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv(h, r->steps);
    h = fnv(h, r->end_cycle);
    h = fnv(h, mmusim_machine_reports(s->m, NULL, 0));
    for (unsigned c = 0; c < s->o.cpus; c++) {
        mmusim_cpu *cpu = mmusim_machine_cpu(s->m, c);
        struct mmusim_cpu_stats st;
        mmusim_cpu_stats(cpu, &st);
        h = fnv(h, mmusim_cpu_cycles(cpu));
#define HASH_FIELD(name, doc) h = fnv(h, st.name);
        MMUSIM_CPU_STATS(HASH_FIELD)
#undef HASH_FIELD
        for (int id = 0; id < MMUSIM_TLB_COUNT_; id++) {
            struct mmusim_tlb_stats ts;
            if (mmusim_cpu_tlb_stats(cpu, (enum mmusim_tlb_id)id, &ts) != MMUSIM_OK)
                continue;
            h = fnv(h, ts.valid);
            h = fnv(h, ts.lookups);
            h = fnv(h, ts.hits);
            h = fnv(h, ts.misses);
            h = fnv(h, ts.fills);
            h = fnv(h, ts.evictions);
            h = fnv(h, ts.dropped);
        }
        struct mmusim_kmap_stats ks;
        if (mmusim_kmap_stats(s->k, (int)c, &ks) == MMUSIM_OK) {
#define HASH_KFIELD(name, doc) h = fnv(h, ks.name);
            MMUSIM_KMAP_STATS(HASH_KFIELD)
#undef HASH_KFIELD
        }
    }
    for (int kind = 0; kind < MMUSIM_KMAP_HIST_COUNT_; kind++) {
        h = fnv(h, mmusim_kmap_samples(s->k, (enum mmusim_kmap_hist_kind)kind));
        h = fnv(h, mmusim_kmap_percentile(s->k, (enum mmusim_kmap_hist_kind)kind, 50));
        h = fnv(h, mmusim_kmap_percentile(s->k, (enum mmusim_kmap_hist_kind)kind, 99));
    }
#define HASH_WL(name, doc) h = fnv(h, s->wl.name);
    WL_COUNTS(HASH_WL)
#undef HASH_WL
    return h;
}

/* ---- the command line ---- */

static int parse_u64(const char *prog, const char *opt, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!v) {
        fprintf(stderr, "%s: %s needs a value\n", prog, opt);
        return 0;
    }
    double d = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end == 'e' || *end == 'E') { /* 1e9 */
        d = strtod(v, &end);
        x = d >= 0 && d <= 1.8e19 ? (unsigned long long)d : 0;
    }
    if (*v == '-' || *end || x < lo || x > hi) {
        fprintf(stderr, "%s: %s: %s is out of range (%" PRIu64 " to %" PRIu64 ")\n", prog, opt, v, lo, hi);
        return 0;
    }
    *out = x;
    return 1;
}

static int parse(int argc, char **argv, struct opts *o)
{
    o->cycles = 1000000000ull;
    o->seed = 1;
    o->cpus = 64;
    o->variant = MMUSIM_KMAP_LOCAL_5_11;
    o->json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t x;
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: %s [--cycles N] [--seed S] [--cpus N] [--variant NAME] [--json]\n"
                   "  --cycles N      simulated cycles to run (default 1e9)\n"
                   "  --seed S        the machine's and the workload's seed (default 1)\n"
                   "  --cpus N        CPUs, 1 to 64 (default 64)\n"
                   "  --variant NAME  kmap variant (default local-5.11: kmap, kmap_atomic and kmap_local)\n"
                   "  --json          one JSON document instead of the table\n",
                   argv[0]);
            exit(0);
        }
        if (!strcmp(a, "--cycles") && parse_u64(argv[0], a, v, 1000, UINT64_MAX / 2, &x))
            o->cycles = x;
        else if (!strcmp(a, "--seed") && parse_u64(argv[0], a, v, 0, UINT64_MAX, &x))
            o->seed = x;
        else if (!strcmp(a, "--cpus") && parse_u64(argv[0], a, v, 1, 64, &x))
            o->cpus = (unsigned)x;
        else if (!strcmp(a, "--variant") && v && mmusim_kmap_variant_from_name(v, &o->variant) == MMUSIM_OK)
            ;
        else {
            if (strcmp(a, "--cycles") && strcmp(a, "--seed") && strcmp(a, "--cpus"))
                fprintf(stderr, "%s: unknown option or bad value: %s%s%s\n", argv[0], a, v ? " " : "", v ? v : "");
            return 0;
        }
        i++;
    }
    return 1;
}

/* ---- output ---- */

static void print_table(const struct soak *s, const struct mmusim_run_result *r, const uint64_t *rss,
                        double secs, uint64_t dig, int flat)
{
    const struct opts *o = &s->o;
    struct mmusim_cpu_stats st;
    mmusim_machine_stats(s->m, &st);
    printf("soak: %u CPUs, %" PRIu64 " cycles, seed %" PRIu64 ", kmap variant %s\n", o->cpus, o->cycles, o->seed,
           mmusim_kmap_variant_name(o->variant));
    printf("  host time          %.1f s\n", secs);
    printf("  engine steps       %" PRIu64 ", end cycle %" PRIu64 "\n", r->steps, r->end_cycle);
    printf("  accesses           %" PRIu64 " (walks %" PRIu64 ", faults %" PRIu64 ")\n", st.accesses, st.walks,
           st.faults);
    printf("  context switches   %" PRIu64 " (CR3 writes %" PRIu64 ", preemptions %" PRIu64 ")\n",
           st.context_switches, st.cr3_writes, st.preemptions);
    printf("  interrupts         %" PRIu64 ", IPIs sent %" PRIu64 ", shootdowns %" PRIu64 "\n", st.irqs,
           st.ipis_sent, st.shootdowns);
    struct mmusim_kmap_stats ks;
    if (mmusim_kmap_stats(s->k, -1, &ks) == MMUSIM_OK)
        printf("  kmap layer         pkmap wraps %" PRIu64 " (flushes %" PRIu64 "), sleeps %" PRIu64
               ", kmap_local slots cleared / restored at switches %" PRIu64 " / %" PRIu64 "\n",
               ks.wraps, ks.wrap_flushes, ks.sleeps, ks.ctxsw_clears, ks.ctxsw_restores);
#define PRINT_WL(name, doc) printf("  %-18s %" PRIu64 "  (%s)\n", #name, s->wl.name, doc);
    WL_COUNTS(PRINT_WL)
#undef PRINT_WL
    printf("  reports            %" PRIu64 " (bugs %" PRIu64 ", warns %" PRIu64 ")\n",
           mmusim_machine_reports(s->m, NULL, 0), st.bugs, st.warns);
    printf("  host RSS (KiB)    ");
    for (int i = 0; i < PARTS; i++)
        printf(" %" PRIu64, rss[i] / 1024);
    printf("\n  RSS 10%%->100%%     %+" PRId64 " KiB (tolerance %u KiB): %s\n",
           (int64_t)(rss[PARTS - 1] - rss[0]) / 1024, RSS_TOLERANCE / 1024, flat ? "flat" : "GROWS");
    printf("  digest             %016" PRIx64 "\n", dig);
}

static void print_json(const struct soak *s, const struct mmusim_run_result *r, const uint64_t *rss, double secs,
                       uint64_t dig, int flat)
{
    const struct opts *o = &s->o;
    struct mmusim_cpu_stats st;
    mmusim_machine_stats(s->m, &st);
    printf("{\n  \"version\": \"%s\",\n  \"cpus\": %u,\n  \"cycles\": %" PRIu64 ",\n  \"seed\": %" PRIu64 ",\n",
           mmusim_version_string(), o->cpus, o->cycles, o->seed);
    printf("  \"variant\": \"%s\",\n  \"host_seconds\": %.3f,\n", mmusim_kmap_variant_name(o->variant), secs);
    printf("  \"steps\": %" PRIu64 ",\n  \"end_cycle\": %" PRIu64 ",\n", r->steps, r->end_cycle);
    printf("  \"machine\": {");
    const char *sep = "";
#define JSON_STAT(name, doc) printf("%s\"%s\": %" PRIu64, sep, #name, st.name), sep = ", ";
    MMUSIM_CPU_STATS(JSON_STAT)
#undef JSON_STAT
    printf("},\n  \"workload\": {");
    sep = "";
#define JSON_WL(name, doc) printf("%s\"%s\": %" PRIu64, sep, #name, s->wl.name), sep = ", ";
    WL_COUNTS(JSON_WL)
#undef JSON_WL
    printf("},\n  \"kmap\": {");
    sep = "";
    struct mmusim_kmap_stats ks;
    if (mmusim_kmap_stats(s->k, -1, &ks) != MMUSIM_OK)
        memset(&ks, 0, sizeof(ks));
#define JSON_KMAP(name, doc) printf("%s\"%s\": %" PRIu64, sep, #name, ks.name), sep = ", ";
    MMUSIM_KMAP_STATS(JSON_KMAP)
#undef JSON_KMAP
    printf("},\n  \"reports\": %" PRIu64 ",\n  \"rss_bytes\": [", mmusim_machine_reports(s->m, NULL, 0));
    for (int i = 0; i < PARTS; i++)
        printf("%s%" PRIu64, i ? ", " : "", rss[i]);
    printf("],\n  \"rss_growth_bytes\": %" PRId64 ",\n  \"rss_tolerance_bytes\": %u,\n  \"rss_flat\": %s,\n",
           (int64_t)(rss[PARTS - 1] - rss[0]), RSS_TOLERANCE, flat ? "true" : "false");
    printf("  \"digest\": \"%016" PRIx64 "\"\n}\n", dig);
}

int main(int argc, char **argv)
{
    struct soak s;
    memset(&s, 0, sizeof(s));
    if (!parse(argc, argv, &s.o))
        return 2;
    int rc = build(&s);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "%s: setting up the machine: %s\n", argv[0], mmusim_strerror(rc));
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct mmusim_run_result r;
    memset(&r, 0, sizeof(r));
    uint64_t rss[PARTS], steps = 0;
    for (int p = 1; p <= PARTS; p++) {
        uint64_t limit = s.o.cycles / PARTS * (uint64_t)p + (p == PARTS ? s.o.cycles % PARTS : 0);
        if ((rc = mmusim_machine_run(s.m, limit, &r)) != MMUSIM_OK) {
            fprintf(stderr, "%s: the run, part %d: %s\n", argv[0], p, mmusim_strerror(rc));
            return 1;
        }
        steps += r.steps;
        rss[p - 1] = rss_bytes();
    }
    r.steps = steps; /* the whole run's, not the last part's */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int flat = rss[PARTS - 1] <= rss[0] + RSS_TOLERANCE;
    uint64_t dig = digest(&s, &r);
    if (s.o.json)
        print_json(&s, &r, rss, secs, dig, flat);
    else
        print_table(&s, &r, rss, secs, dig, flat);
    int ok = flat && s.wl.errors == 0 && !r.deadlock;
    if (s.wl.errors)
        fprintf(stderr, "%s: %" PRIu64 " calls failed, the last with %s\n", argv[0], s.wl.errors,
                mmusim_strerror(s.last_error));
    if (r.deadlock)
        fprintf(stderr, "%s: the machine deadlocked\n", argv[0]);
    if (!flat)
        fprintf(stderr, "%s: host RSS grew by %" PRId64 " bytes from 10%% to 100%% of the run (tolerance %u)\n",
                argv[0], (int64_t)(rss[PARTS - 1] - rss[0]), RSS_TOLERANCE);
    mmusim_machine_destroy(s.m);
    free(s.tasks);
    return ok ? 0 : 1;
}
