/*
 * kmap_pair_bench — how fast mmusim simulates a kmap_atomic/kunmap_atomic
 * pair of a highmem page, per variant, on one CPU with the coherence
 * checker off: host pairs per second (best and median of 5 repetitions),
 * and what one pair costs on the simulated CPU (cycles, PTE writes, local
 * INVLPGs), which must be §7 of linux-highmem.md's counts.
 *
 * The pairs are called outside mmusim_machine_run: kmap_atomic never waits,
 * so no step is needed, and the figure is the layer's own cost. For the
 * host instructions per pair, run it under callgrind with a small --iterations
 * and divide the Ir of the timed loop (README gives the command).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage[] =
    "usage: kmap_pair_bench [options] [--variant NAME]\n"
    "Times kmap_atomic/kunmap_atomic pairs of a highmem page on one CPU, per\n"
    "variant (slot-2.6.19, slot-2.6.36, stack-2.6.37, local-5.11, heap; default all).\n";

#define REPS 5

struct run {
    enum mmusim_kmap_variant v;
    int available;
    double best, median;         /* pairs per second of host time */
    double cycles_per_pair;      /* simulated */
    double pte_writes_per_pair, invlpg_per_pair;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static struct run time_variant(const struct mmusim_config *cfg, enum mmusim_kmap_variant v, uint64_t n)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.v = v;
    struct mmusim_config c = *cfg;
    bench_check(mmusim_config_set(&c, "cpus", "1"), "cpus");
    mmusim_machine *m;
    bench_check(mmusim_machine_create(&c, &m), "machine_create");
    struct mmusim_kmap_opts o;
    mmusim_kmap_opts_init(&o, v);
    mmusim_kmap_layer *k;
    int rc = mmusim_kmap_create(m, &o, &k);
    if (rc == MMUSIM_EKMAPVARIANT) { /* not built into this library */
        mmusim_machine_destroy(m);
        return r;
    }
    bench_check(rc, "kmap_create");
    r.available = 1;
    uint64_t pfn;
    bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), "frame_alloc");
    struct mmusim_page page = mmusim_page_of_pfn(m, pfn);
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    struct mmusim_kaddr a;
    double rate[REPS];
    int err = 0;
    uint64_t c0 = mmusim_cpu_cycles(cpu);
    struct mmusim_cpu_stats s0;
    mmusim_cpu_stats(cpu, &s0);
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = bench_now();
        for (uint64_t i = 0; i < n; i++) {
            err |= mmusim_kmap_atomic(cpu, k, page, MMUSIM_KM_USER0, &a);
            err |= mmusim_kunmap_atomic(cpu, k, a, MMUSIM_KM_USER0);
        }
        rate[rep] = (double)n / (bench_now() - t0);
    }
    bench_check(err, "kmap_atomic pair");
    struct mmusim_cpu_stats s1;
    mmusim_cpu_stats(cpu, &s1);
    double pairs = (double)n * REPS;
    r.cycles_per_pair = (double)(mmusim_cpu_cycles(cpu) - c0) / pairs;
    r.pte_writes_per_pair = (double)(s1.pte_writes - s0.pte_writes) / pairs;
    r.invlpg_per_pair = (double)(s1.invlpg - s0.invlpg) / pairs;
    qsort(rate, REPS, sizeof(rate[0]), cmp_double);
    r.best = rate[REPS - 1];
    r.median = rate[REPS / 2];
    mmusim_machine_destroy(m);
    return r;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    /* --variant is a name: take it out before the common parser sees argv. */
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--variant") == 0) {
            only = argv[i + 1];
            memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(argv[0]));
            argc -= 2;
            break;
        }
    bench_parse(argc, argv, usage, &o);
    bench_shard_refuse(&o, "kmap_pair_bench",
                       "its figures are host-timed pair rates, comparable only when measured in one process "
                       "on one host");
    enum mmusim_kmap_variant want = MMUSIM_KMAP_VARIANT_COUNT_;
    if (only && mmusim_kmap_variant_from_name(only, &want) != MMUSIM_OK) {
        bench_die("--variant: unknown variant '%s'", only);
    }
    uint64_t n = o.iterations ? o.iterations : 2000000;
    struct run runs[MMUSIM_KMAP_VARIANT_COUNT_];
    unsigned nruns = 0;
    for (unsigned v = 0; v < MMUSIM_KMAP_VARIANT_COUNT_; v++)
        if (want == MMUSIM_KMAP_VARIANT_COUNT_ || want == v)
            runs[nruns++] = time_variant(&o.cfg, (enum mmusim_kmap_variant)v, n);
    if (o.json) {
        bench_json_header(stdout, &o, "kmap_pair_bench");
        if (only)
            printf("  \"variant\": \"%s\",\n", mmusim_kmap_variant_name(want));
        printf("  \"iterations\": %llu,\n  \"repetitions\": %d,\n  \"results\": [", (unsigned long long)n, REPS);
        int first = 1;
        for (unsigned i = 0; i < nruns; i++) {
            if (!runs[i].available)
                continue;
            printf("%s\n    {\"variant\": \"%s\", \"pairs_per_second\": %s, \"pairs_per_second_median\": %s, "
                   "\"cycles_per_pair\": %s, \"pte_writes_per_pair\": %s, \"invlpg_per_pair\": %s}",
                   first ? "" : ",", mmusim_kmap_variant_name(runs[i].v), bench_jnum(runs[i].best, -1),
                   bench_jnum(runs[i].median, -1), bench_jnum(runs[i].cycles_per_pair, -1),
                   bench_jnum(runs[i].pte_writes_per_pair, -1), bench_jnum(runs[i].invlpg_per_pair, -1));
            first = 0;
        }
        printf("\n  ]\n}\n");
        return 0;
    }
    printf("kmap_atomic + kunmap_atomic of a highmem page, one CPU, %s preset, %llu pairs x %d\n\n",
           mmusim_preset_name(o.cfg.preset), (unsigned long long)n, REPS);
    printf("%-14s %16s %16s %14s %12s %10s\n", "variant", "pairs/s (best)", "pairs/s (median)", "cycles/pair",
           "PTE writes", "INVLPG");
    for (unsigned i = 0; i < nruns; i++) {
        if (!runs[i].available) {
            printf("%-14s %16s\n", mmusim_kmap_variant_name(runs[i].v), "(not built)");
            continue;
        }
        printf("%-14s %16.4g %16.4g %14.1f %12.2f %10.2f\n", mmusim_kmap_variant_name(runs[i].v), runs[i].best,
               runs[i].median, runs[i].cycles_per_pair, runs[i].pte_writes_per_pair, runs[i].invlpg_per_pair);
    }
    return 0;
}
