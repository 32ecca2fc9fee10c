/*
 * translate_bench — simulated memory accesses per second of host time.
 *
 * (a) hit:        4-byte loads cycling over 8 pages, which always hit the TLB;
 * (b) walk-heavy: uniform random loads and stores over 16 times the TLB reach
 *                 (2-level paging), so nearly every access walks;
 * (c) the same under PAE;
 * and, in the same run, a reference loop: a bare direct-mapped 64-entry array
 * probe with a tag compare, the least any TLB model can do per access.
 *
 * Each pattern is timed REPS times back to back (a fifth of the accesses
 * each) and reported as the best and the median rate: on a shared, noisy
 * machine other work only ever slows a repetition down, so the best is the
 * closest to what the code costs, and the median shows the spread.
 */
#include <stdlib.h>

#include "common.h"

static const char usage[] =
    "usage: translate_bench [options]\n"
    "Times mmusim_cpu_access: an always-hit loop, uniform random accesses over\n"
    "16 times the TLB reach (2-level and PAE), and a bare array-probe reference.\n";

#define NVAS 65536u
#define REPS 5
#define BASE_VA 0x10000000u

struct setup {
    mmusim_machine *m;
    mmusim_cpu *cpu;
    uint32_t *vas;
};

/* Map npages user pages from BASE_VA and precompute the address stream. */
static struct setup make(struct mmusim_config cfg, const char *paging, uint32_t npages, uint32_t span)
{
    struct setup s;
    uint64_t cr3, pfn;
    bench_check(mmusim_config_set(&cfg, "paging", paging), "paging");
    bench_check(mmusim_machine_create(&cfg, &s.m), "machine_create");
    s.cpu = mmusim_machine_cpu(s.m, 0);
    bench_check(mmusim_pgd_create(s.m, &cr3), "pgd_create");
    for (uint32_t i = 0; i < npages; i++) {
        if (mmusim_frame_alloc(s.m, MMUSIM_ZONE_HIGHMEM, &pfn) != MMUSIM_OK)
            bench_check(mmusim_frame_alloc(s.m, MMUSIM_ZONE_NORMAL, &pfn), "frame_alloc");
        bench_check(mmusim_pt_map(s.m, cr3, BASE_VA + i * 4096u, pfn << 12, MMUSIM_PAGE_4K,
                                  MMUSIM_PTE_RW | MMUSIM_PTE_US),
                    "pt_map");
    }
    bench_check(mmusim_cpu_write_cr3(s.cpu, cr3, NULL), "cr3");
    s.vas = malloc(sizeof(*s.vas) * NVAS);
    if (!s.vas)
        bench_check(MMUSIM_ENOMEM, "malloc");
    uint64_t x = cfg.seed | 1;
    for (uint32_t i = 0; i < NVAS; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t page = span ? (uint32_t)((x >> 33) % span) : i % 8u;
        s.vas[i] = BASE_VA + page * 4096u + (uint32_t)((x >> 20) & 0xffc);
    }
    return s;
}

static void destroy(struct setup *s)
{
    free(s->vas);
    mmusim_machine_destroy(s->m);
}

/* Best and median of REPS rates. */
struct rate {
    double best, median;
};

static struct rate summarize(double *r)
{
    for (int i = 1; i < REPS; i++) /* insertion sort: five values */
        for (int j = i; j > 0 && r[j] < r[j - 1]; j--) {
            double t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    return (struct rate){r[REPS - 1], r[REPS / 2]};
}

/* Accesses per second; stores one in eight when mixed. */
static double time_accesses(struct setup *s, uint64_t n, int mixed, double *walk_fraction)
{
    struct mmusim_access a;
    uint32_t v = 0, sum = 0;
    uint64_t walks = 0;
    int err = 0;
    double t0 = bench_now();
    for (uint64_t i = 0; i < n; i++) {
        unsigned acc = (mixed && (i & 7) == 0) ? MMUSIM_ACC_WRITE : MMUSIM_ACC_READ;
        err |= mmusim_cpu_access(s->cpu, s->vas[i & (NVAS - 1)], acc | MMUSIM_ACC_USER, 4, &v, &a);
        sum += v;
        walks += (uint64_t)a.walked;
    }
    double t = bench_now() - t0;
    bench_check(err, "an access was refused");
    if (walk_fraction)
        *walk_fraction = (double)walks / (double)n;
    if (sum == 0xdeadbeef) /* keep the loads alive */
        puts("");
    return (double)n / t;
}

static struct rate time_accesses_reps(struct setup *s, uint64_t n, int mixed, double *walk_fraction)
{
    double r[REPS];
    for (int i = 0; i < REPS; i++)
        r[i] = time_accesses(s, n / REPS, mixed, walk_fraction);
    return summarize(r);
}

/* The reference: a direct-mapped 64-entry tag array, as TinyEMU or Blink probe theirs. */
static double time_reference(const uint32_t *vas, uint64_t n)
{
    struct { uint32_t tag; uint32_t pad; uint64_t addend; } tab[64] = {{0}};
    uint64_t sum = 0;
    double t0 = bench_now();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t va = vas[i & (NVAS - 1)], vpn = va >> 12, idx = vpn & 63u;
        if (tab[idx].tag != vpn + 1) {
            tab[idx].tag = vpn + 1;
            tab[idx].addend = (uint64_t)vpn * 7919u;
        }
        sum += tab[idx].addend + (va & 0xfff);
    }
    double t = bench_now() - t0;
    if (sum == 42)
        puts("");
    return (double)n / t;
}

static struct rate time_reference_reps(const uint32_t *vas, uint64_t n)
{
    double r[REPS];
    for (int i = 0; i < REPS; i++)
        r[i] = time_reference(vas, n / REPS);
    return summarize(r);
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    bench_parse(argc, argv, usage, &o);
    bench_shard_refuse(&o, "translate_bench",
                       "its figures are host-timed rates compared with each other (hit path / reference), "
                       "not a set of independent rows");
    uint64_t n = o.iterations ? o.iterations : 50000000;
    const struct mmusim_tlb_config *t = &o.cfg.tlb;
    uint32_t reach = t->dtlb_4k.entries > t->stlb.entries ? t->dtlb_4k.entries : t->stlb.entries;
    uint32_t span = 16 * reach;

    struct setup hit = make(o.cfg, "2level", 8, 0);
    (void)time_accesses(&hit, 1000, 0, NULL); /* warm the TLB */
    struct rate hit_rate = time_accesses_reps(&hit, n, 0, NULL);
    struct rate ref_rate = time_reference_reps(hit.vas, n);
    destroy(&hit);

    double walk_frac, pae_walk_frac;
    struct setup heavy = make(o.cfg, "2level", span, span);
    struct rate heavy_rate = time_accesses_reps(&heavy, n / 4, 1, &walk_frac);
    destroy(&heavy);
    struct setup pae = make(o.cfg, "pae", span, span);
    struct rate pae_rate = time_accesses_reps(&pae, n / 4, 1, &pae_walk_frac);
    destroy(&pae);

    const char *preset = mmusim_preset_name(o.cfg.preset);
    if (o.json) {
        struct bench_json j;
        bench_json_begin_bench(&j, stdout, &o, "translate_bench");
        bench_json_u64(&j, "iterations", n);
        bench_json_u64(&j, "repetitions", REPS);
        bench_json_u64(&j, "walk_heavy_pages", span);
        bench_json_f64(&j, "hit_accesses_per_second", hit_rate.best);
        bench_json_f64(&j, "walk_heavy_accesses_per_second", heavy_rate.best);
        bench_json_f64(&j, "pae_walk_heavy_accesses_per_second", pae_rate.best);
        bench_json_f64(&j, "reference_probes_per_second", ref_rate.best);
        bench_json_f64(&j, "hit_to_reference_ratio", hit_rate.best / ref_rate.best);
        bench_json_f64(&j, "hit_accesses_per_second_median", hit_rate.median);
        bench_json_f64(&j, "walk_heavy_accesses_per_second_median", heavy_rate.median);
        bench_json_f64(&j, "pae_walk_heavy_accesses_per_second_median", pae_rate.median);
        bench_json_f64(&j, "reference_probes_per_second_median", ref_rate.median);
        bench_json_f64(&j, "walk_heavy_walk_fraction", walk_frac);
        bench_json_f64(&j, "pae_walk_heavy_walk_fraction", pae_walk_frac);
        bench_json_end(&j);
    } else {
        printf("translate_bench  preset %s, %llu accesses (walk-heavy: %llu over %u pages), "
               "best and median of %d repetitions\n\n",
               preset, (unsigned long long)n, (unsigned long long)(n / 4), span, REPS);
        printf("%-34s %14s %14s %8s\n", "pattern", "best/s", "median/s", "walked");
        printf("%-34s %14.3e %14.3e %8s\n", "(a) always hits, 8 pages", hit_rate.best, hit_rate.median, "0%");
        printf("%-34s %14.3e %14.3e %7.1f%%\n", "(b) random over 16x reach", heavy_rate.best, heavy_rate.median,
               100 * walk_frac);
        printf("%-34s %14.3e %14.3e %7.1f%%\n", "(c) the same under PAE", pae_rate.best, pae_rate.median,
               100 * pae_walk_frac);
        printf("%-34s %14.3e %14.3e\n", "reference: bare array probe", ref_rate.best, ref_rate.median);
        printf("\nhit path / reference probe (best): %.3f\n", hit_rate.best / ref_rate.best);
    }
    return 0;
}
