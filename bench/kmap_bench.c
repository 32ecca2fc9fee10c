/*
 * kmap_bench — persistent kmap (the pkmap pool) against kmap_atomic and
 * kmap_local on 1..64 CPUs, in simulated cycles.
 *
 * Every CPU runs one kernel thread (cr3 0: it borrows the loaded address
 * space, lazy TLB as in the kernel, and a CPU whose thread is done idles)
 * that repeats, --ops times, map - read - unmap of a page drawn at random
 * from a working set of highmem pages:
 *
 *   kmap         kmap / kunmap (the pkmap pool; era 2.6.37, variant stack-2.6.37)
 *   kmap_atomic  kmap_atomic / kunmap_atomic (stack-2.6.37, era 2.6.37)
 *   kmap_local   kmap_local_page / kunmap_local (local-5.11, era 5.11)
 *
 * for working sets below and above LAST_PKMAP (1024, or 512 under PAE),
 * 2-level and PAE. One op is the thread's clock from the map call to the
 * unmap's completion (spins on kmap_lock, the wrap flush and its IPIs, any
 * IPI handler that ran on this CPU in between, all included). The read goes
 * through the TLB (mmusim_cpu_access) and must find the frame's tag, so a
 * stale translation would stop the bench.
 *
 * Each row reports cycles per op (mean, and p50 / p99 from the layer's pair
 * histogram, exact to 1/16), pkmap wraps, the SMP flushes the layer started,
 * the IPIs sent (the machine's), the cycles spun on kmap_lock and the
 * sleeps on pkmap_map_wait. The verdict lines check that kmap's cost per op
 * grows with the CPU count once the working set exceeds LAST_PKMAP, that
 * kmap_atomic's and kmap_local's stay within 15% from 1 to 16 CPUs, and that
 * every wrap flush sent one IPI to each other CPU (exit 1 if not).
 *
 * Deterministic: the same options and seed give byte-identical output
 * (tests/CMakeLists.txt, kmap_bench_determinism).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage[] =
    "usage: kmap_bench [options]\n"
    "Cycles per map-read-unmap of a random highmem page for kmap (pkmap,\n"
    "2.6.37), kmap_atomic (stack-2.6.37) and kmap_local (local-5.11) on\n"
    "1, 2, 4, ..., 64 CPUs, working sets below and above LAST_PKMAP, 2-level\n"
    "and PAE. The bench sets cpus, paging and era itself (--cpus, --pae and\n"
    "--era are refused; --max-cpus bounds the sweep). --ops N: map-read-unmap\n"
    "operations per CPU (default 20000); --csv FILE also writes the rows as CSV.\n"
    "Same options and seed, byte-identical output.\n";

static uint64_t opt_ops = 20000;     /* per CPU */
static uint64_t opt_think = 0;       /* cycles of plain work between one op and the next */
static uint64_t opt_max_cpus = 64;
static uint64_t opt_ws_small = 256;  /* below LAST_PKMAP in both pagings (1024, 512) */
static uint64_t opt_ws_large = 4096; /* above it in both */

static const struct bench_uopt options[] = {
    {"--think", "N: cycles of other work between one op and the next, not counted in the op (default 0)",
     &opt_think, 0, 1000000000},
    {"--max-cpus", "N: the largest CPU count of 1, 2, 4, ..., 64 to run (default 64)", &opt_max_cpus, 1, 64},
    {"--ws-small", "N: the working set below LAST_PKMAP, in highmem pages (default 256)", &opt_ws_small, 1,
     1u << 20},
    {"--ws-large", "N: the working set above LAST_PKMAP, in highmem pages (default 4096)", &opt_ws_large, 1,
     1u << 20},
};

enum api { API_KMAP, API_ATOMIC, API_LOCAL, API_COUNT };
static const char *const api_names[API_COUNT] = {"kmap", "kmap_atomic", "kmap_local"};
static const char *const api_eras[API_COUNT] = {"2.6.37", "2.6.37", "5.11"};
static const enum mmusim_kmap_variant api_variants[API_COUNT] = {MMUSIM_KMAP_STACK_2_6_37, MMUSIM_KMAP_STACK_2_6_37,
                                                                  MMUSIM_KMAP_LOCAL_5_11};

static const unsigned cpu_counts[] = {1, 2, 4, 8, 16, 32, 64};
#define NCPUS (sizeof(cpu_counts) / sizeof(cpu_counts[0]))

/* splitmix64: the page choices, one stream per CPU. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

struct worker {
    enum api api;
    mmusim_kmap_layer *k;
    const uint64_t *pfns;
    unsigned ws;
    uint64_t rng;
    uint64_t ops, done;
    int phase; /* 0: start an op; 1: kmap completed by the engine; 2: kunmap completed by the engine */
    uint64_t pfn;
    struct mmusim_page page;
    struct mmusim_kaddr addr;
    uint64_t t0;
    uint64_t sum;   /* cycles of the completed ops */
    uint64_t wraps0;     /* this CPU's wrap count when the op started */
    uint64_t wrap_ops, wrap_sum; /* ops whose kmap wrapped the pool (this CPU flushed), their cycles */
    const char *err; /* the first failure */
};

static void fail(struct worker *w, const char *what)
{
    if (!w->err)
        w->err = what;
}

/* The read of the mapped page: through the TLB, and it must see the frame's tag. */
static int read_page(mmusim_cpu *cpu, struct worker *w)
{
    uint32_t v = 0;
    struct mmusim_access acc;
    if (mmusim_cpu_access(cpu, w->addr.va, MMUSIM_ACC_READ, 4, &v, &acc) != MMUSIM_OK || acc.fault) {
        fail(w, "read faulted");
        return 0;
    }
    if (v != (uint32_t)w->pfn) {
        fail(w, "read a page other than the one mapped");
        return 0;
    }
    return 1;
}

static uint64_t cpu_wraps(mmusim_cpu *cpu, const struct worker *w)
{
    struct mmusim_kmap_stats s;
    if (mmusim_kmap_stats(w->k, (int)mmusim_cpu_id(cpu), &s) != MMUSIM_OK)
        return 0;
    return s.wraps;
}

static void finish_op(mmusim_cpu *cpu, struct worker *w)
{
    uint64_t c = mmusim_cpu_cycles(cpu) - w->t0;
    w->sum += c;
    if (w->api == API_KMAP && cpu_wraps(cpu, w) != w->wraps0) {
        w->wrap_ops++;
        w->wrap_sum += c;
    }
    mmusim_kmap_record_pair(w->k, c);
    w->done++;
    w->phase = 0;
    if (opt_think && w->done < w->ops)
        mmusim_cpu_spend(cpu, opt_think);
}

static enum mmusim_step worker_step(mmusim_cpu *cpu, void *arg)
{
    struct worker *w = arg;
    int rc;
    if (w->err)
        return MMUSIM_STEP_DONE;
    switch (w->phase) {
    case 2: /* kunmap completed */
        finish_op(cpu, w);
        return w->done == w->ops ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
    case 1: /* kmap completed: read, kunmap */
        if (!read_page(cpu, w))
            return MMUSIM_STEP_DONE;
        rc = mmusim_kunmap(cpu, w->k, w->page);
        if (mmusim_is_error(rc)) {
            fail(w, "kunmap");
            return MMUSIM_STEP_DONE;
        }
        if (rc == MMUSIM_PENDING) {
            w->phase = 2;
            return MMUSIM_STEP_MORE;
        }
        finish_op(cpu, w);
        return w->done == w->ops ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
    default:
        break;
    }
    if (w->done == w->ops)
        return MMUSIM_STEP_DONE;
    w->pfn = w->pfns[rng_next(&w->rng) % w->ws];
    w->page = mmusim_page_of_pfn(mmusim_cpu_machine(cpu), w->pfn);
    w->t0 = mmusim_cpu_cycles(cpu);
    switch (w->api) {
    case API_KMAP:
        w->wraps0 = cpu_wraps(cpu, w);
        rc = mmusim_kmap(cpu, w->k, w->page, &w->addr);
        if (mmusim_is_error(rc)) {
            fail(w, "kmap");
            return MMUSIM_STEP_DONE;
        }
        w->phase = 1;
        if (rc == MMUSIM_PENDING)
            return MMUSIM_STEP_MORE;
        return worker_step(cpu, w); /* completed in the call: read and kunmap in this step */
    case API_ATOMIC:
        if (mmusim_kmap_atomic(cpu, w->k, w->page, MMUSIM_KM_USER0, &w->addr) != MMUSIM_OK) {
            fail(w, "kmap_atomic");
            return MMUSIM_STEP_DONE;
        }
        if (!read_page(cpu, w))
            return MMUSIM_STEP_DONE;
        if (mmusim_kunmap_atomic(cpu, w->k, w->addr, MMUSIM_KM_USER0) != MMUSIM_OK) {
            fail(w, "kunmap_atomic");
            return MMUSIM_STEP_DONE;
        }
        break;
    case API_LOCAL:
    case API_COUNT:
        if (mmusim_kmap_local(cpu, w->k, w->page, &w->addr) != MMUSIM_OK) {
            fail(w, "kmap_local");
            return MMUSIM_STEP_DONE;
        }
        if (!read_page(cpu, w))
            return MMUSIM_STEP_DONE;
        if (mmusim_kunmap_local(cpu, w->k, w->addr) != MMUSIM_OK) {
            fail(w, "kunmap_local");
            return MMUSIM_STEP_DONE;
        }
        break;
    }
    finish_op(cpu, w);
    return w->done == w->ops ? MMUSIM_STEP_DONE : MMUSIM_STEP_MORE;
}

struct row {
    enum api api;
    unsigned cpus;
    int pae;
    unsigned ws;
    uint64_t ops;
    double mean;
    uint64_t p50, p99;
    uint64_t wraps, global_flushes, ipis, lock_spin_cycles, sleeps;
    double wrap_op; /* mean cycles of an op whose kmap wrapped the pool; 0 without wraps */
};

static struct row run_row(struct mmusim_config cfg, enum api api, unsigned cpus, int pae, unsigned ws)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%u", cpus);
    bench_check(mmusim_config_set(&cfg, "cpus", buf), "cpus");
    bench_check(mmusim_config_set(&cfg, "paging", pae ? "pae" : "2level"), "paging");
    bench_check(mmusim_config_set(&cfg, "era", api_eras[api]), "era");
    mmusim_machine *m;
    bench_check(mmusim_machine_create(&cfg, &m), "machine_create");
    struct mmusim_kmap_opts ko;
    mmusim_kmap_opts_init(&ko, api_variants[api]);
    mmusim_kmap_layer *k;
    bench_check(mmusim_kmap_create(m, &ko, &k), "kmap_create");

    /* The working set: ws highmem frames, each tagged with its own number. */
    uint64_t *pfns = malloc(ws * sizeof(*pfns));
    struct worker *w = calloc(cpus, sizeof(*w));
    if (!pfns || !w)
        bench_check(MMUSIM_ENOMEM, "malloc");
    for (unsigned i = 0; i < ws; i++) {
        bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfns[i]), "frame_alloc (highmem)");
        bench_check(mmusim_phys_write32(m, pfns[i] << MMUSIM_PAGE_SHIFT, (uint32_t)pfns[i]), "phys_write32");
    }
    for (unsigned c = 0; c < cpus; c++) {
        w[c].api = api;
        w[c].k = k;
        w[c].pfns = pfns;
        w[c].ws = ws;
        w[c].ops = opt_ops;
        /* One stream per CPU, from the seed and the row (so rows do not share choices). */
        w[c].rng = cfg.seed * 0x100000001b3ull + ((uint64_t)api << 48) + ((uint64_t)pae << 40) +
                   ((uint64_t)ws << 8) + c;
        rng_next(&w[c].rng);
        mmusim_task *t;
        bench_check(mmusim_task_create(m, c, 0, worker_step, &w[c], &t), "task_create");
    }

    struct mmusim_run_result r;
    bench_check(mmusim_machine_run(m, 0, &r), "machine_run");
    struct mmusim_report rep;
    uint64_t nrep = mmusim_machine_reports(m, &rep, 1);
    for (unsigned c = 0; c < cpus; c++)
        if (w[c].err || w[c].done != w[c].ops) {
            fprintf(stderr, "%s: %s, %u CPUs, %s, working set %u: CPU %u: %s after %llu ops\n", bench_program(), api_names[api],
                    cpus, pae ? "PAE" : "2-level", ws, c, w[c].err ? w[c].err : "unfinished",
                    (unsigned long long)w[c].done);
            exit(1);
        }
    if (!r.finished || r.deadlock || nrep) {
        fprintf(stderr, "%s: %s, %u CPUs, %s, working set %u: finished %d deadlock %d reports %llu%s%s\n", bench_program(),
                api_names[api], cpus, pae ? "PAE" : "2-level", ws, r.finished, r.deadlock,
                (unsigned long long)nrep, nrep ? ": " : "", nrep ? rep.what : "");
        exit(1);
    }

    struct row row;
    memset(&row, 0, sizeof(row));
    row.api = api;
    row.cpus = cpus;
    row.pae = pae;
    row.ws = ws;
    row.ops = opt_ops * cpus;
    uint64_t sum = 0, wrap_ops = 0, wrap_sum = 0;
    for (unsigned c = 0; c < cpus; c++) {
        sum += w[c].sum;
        wrap_ops += w[c].wrap_ops;
        wrap_sum += w[c].wrap_sum;
    }
    row.wrap_op = wrap_ops ? (double)wrap_sum / (double)wrap_ops : 0.0;
    row.mean = row.ops ? (double)sum / (double)row.ops : 0.0;
    row.p50 = mmusim_kmap_percentile(k, MMUSIM_KMAP_HIST_PAIR, 50.0);
    row.p99 = mmusim_kmap_percentile(k, MMUSIM_KMAP_HIST_PAIR, 99.0);
    struct mmusim_kmap_stats ks;
    bench_check(mmusim_kmap_stats(k, -1, &ks), "kmap_stats");
    struct mmusim_cpu_stats ms;
    mmusim_machine_stats(m, &ms);
    row.wraps = ks.wraps;
    row.global_flushes = ks.global_flushes;
    row.ipis = ms.ipis_sent;
    row.lock_spin_cycles = ks.kmap_lock_spin_cycles;
    row.sleeps = ks.sleeps;
    free(w);
    free(pfns);
    mmusim_machine_destroy(m);
    return row;
}

static void write_csv(const char *path, const struct row *rows, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", bench_program(), path, strerror(errno));
        exit(1);
    }
    fputs("api,cpus,pae,working_set,ops,mean,p50,p99,wraps,global_flushes,ipis,lock_spin_cycles,sleeps,wrap_op_cycles\n", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s,%u,%d,%u,%llu,%.6g,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.6g\n", api_names[rows[i].api], rows[i].cpus,
                rows[i].pae, rows[i].ws, (unsigned long long)rows[i].ops, rows[i].mean,
                (unsigned long long)rows[i].p50, (unsigned long long)rows[i].p99, (unsigned long long)rows[i].wraps,
                (unsigned long long)rows[i].global_flushes, (unsigned long long)rows[i].ipis,
                (unsigned long long)rows[i].lock_spin_cycles, (unsigned long long)rows[i].sleeps, rows[i].wrap_op);
    bench_close(f, path);
}

/* The verdicts, as lines of text; the number of IPI mismatches is returned. */
struct verdict {
    int grows[2];           /* per paging: kmap's mean grows with the CPU count at the large working set */
    int flat[API_COUNT][2]; /* per API and paging: max/min mean over 1..16 CPUs (both working sets) <= 1.15 */
    double spread[API_COUNT][2];
    unsigned ipi_bad;
};

static const struct row *find(const struct row *rows, size_t n, enum api api, unsigned cpus, int pae, unsigned ws)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].api == api && rows[i].cpus == cpus && rows[i].pae == pae && rows[i].ws == ws)
            return &rows[i];
    return NULL;
}

static struct verdict judge(const struct row *rows, size_t n, unsigned ncpus)
{
    struct verdict v;
    memset(&v, 0, sizeof(v));
    for (size_t i = 0; i < n; i++)
        if (rows[i].ipis != rows[i].global_flushes * (rows[i].cpus - 1))
            v.ipi_bad++;
    for (int pae = 0; pae < 2; pae++) {
        v.grows[pae] = ncpus > 1;
        for (unsigned c = 1; c < ncpus; c++) {
            const struct row *a = find(rows, n, API_KMAP, cpu_counts[c - 1], pae, (unsigned)opt_ws_large);
            const struct row *b = find(rows, n, API_KMAP, cpu_counts[c], pae, (unsigned)opt_ws_large);
            if (!a || !b || !(b->mean > a->mean))
                v.grows[pae] = 0;
        }
        for (unsigned api = API_ATOMIC; api < API_COUNT; api++) {
            double lo = 0, hi = 0;
            for (size_t i = 0; i < n; i++) {
                if (rows[i].api != api || rows[i].pae != pae || rows[i].cpus > 16)
                    continue;
                if (lo == 0 || rows[i].mean < lo)
                    lo = rows[i].mean;
                if (rows[i].mean > hi)
                    hi = rows[i].mean;
            }
            v.spread[api][pae] = lo > 0 ? hi / lo - 1.0 : 0.0;
            v.flat[api][pae] = v.spread[api][pae] <= 0.15;
        }
    }
    return v;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    bench_parse_ext(argc, argv, usage, options, sizeof(options) / sizeof(options[0]), &o);
    const char *csv = o.csv;
    if (o.ops)
        opt_ops = o.ops;
    /* Each row chooses its CPU count, paging and era; a value given for
     * them would be silently overridden, so it is refused instead. */
    if (o.cpus || o.pae || o.era)
        bench_die("kmap_bench sets cpus, paging and era per row; use --max-cpus to bound the sweep (see --help)");
    unsigned ncpus = 0;
    while (ncpus < NCPUS && cpu_counts[ncpus] <= opt_max_cpus)
        ncpus++;
    const unsigned ws[2] = {(unsigned)opt_ws_small, (unsigned)opt_ws_large};

    size_t nrows = (size_t)API_COUNT * 2 * 2 * ncpus;
    struct row *rows = calloc(nrows, sizeof(*rows));
    if (!rows)
        bench_check(MMUSIM_ENOMEM, "calloc");
    /* Row k in the order below; with --shard only this shard's run, with
     * --merge they come from the shard files (bench/common.h). */
    if (o.merge_files) {
        bench_merge_read(&o, "kmap_bench", rows, nrows, sizeof(*rows));
    } else {
        size_t k = 0;
        for (int pae = 0; pae < 2; pae++)
            for (unsigned g = 0; g < 2; g++)
                for (unsigned api = 0; api < API_COUNT; api++)
                    for (unsigned c = 0; c < ncpus; c++, k++) {
                        if (bench_shard_mine(&o, k))
                            rows[k] = run_row(o.cfg, (enum api)api, cpu_counts[c], pae, ws[g]);
                        bench_progress("rows", k + 1, nrows);
                    }
    }
    if (o.shard_n) {
        /* The verdicts need every row (the --merge run gives them); a shard checks its own rows' IPIs. */
        unsigned ipi_bad = 0;
        for (size_t i = 0; i < nrows; i++)
            if (bench_shard_mine(&o, i) && rows[i].ipis != rows[i].global_flushes * (rows[i].cpus - 1))
                ipi_bad++;
        bench_shard_write(&o, "kmap_bench", rows, nrows, sizeof(*rows));
        free(rows);
        if (ipi_bad) {
            fprintf(stderr, "%s: %u rows where IPIs != global flushes x (CPUs - 1)\n", bench_program(), ipi_bad);
            return 1;
        }
        return 0;
    }
    struct verdict v = judge(rows, nrows, ncpus);
    if (csv)
        write_csv(csv, rows, nrows);

    if (o.json) {
        bench_json_header(stdout, &o, "kmap_bench");
        printf("  \"config\": {\n    \"bench\": \"kmap_bench\",\n    \"preset\": \"%s\",\n    \"seed\": %llu,\n"
               "    \"ops_per_cpu\": %llu,\n    \"think_cycles\": %llu,\n    \"max_cpus\": %u,\n    \"working_sets\": [%u, %u],\n"
               "    \"last_pkmap\": {\"2level\": 1024, \"pae\": 512},\n"
               "    \"apis\": {\"kmap\": \"kmap/kunmap, era 2.6.37\", "
               "\"kmap_atomic\": \"stack-2.6.37, era 2.6.37\", \"kmap_local\": \"local-5.11, era 5.11\"}\n  },\n"
               "  \"results\": [",
               mmusim_preset_name(o.cfg.preset), (unsigned long long)o.cfg.seed, (unsigned long long)opt_ops,
               (unsigned long long)opt_think, cpu_counts[ncpus - 1], ws[0], ws[1]);
        for (size_t i = 0; i < nrows; i++) {
            const struct row *r = &rows[i];
            printf("%s\n    {\"api\": \"%s\", \"cpus\": %u, \"pae\": %s, \"working_set\": %u, \"ops\": %llu, "
                   "\"cycles_per_op\": {\"mean\": %s, \"p50\": %llu, \"p99\": %llu}, \"wraps\": %llu, "
                   "\"global_flushes\": %llu, \"ipis\": %llu, \"lock_spin_cycles\": %llu, \"sleeps\": %llu, "
                   "\"wrap_op_cycles\": %s}",
                   i ? "," : "", api_names[r->api], r->cpus, r->pae ? "true" : "false", r->ws,
                   (unsigned long long)r->ops, bench_jnum(r->mean, -1), (unsigned long long)r->p50, (unsigned long long)r->p99,
                   (unsigned long long)r->wraps, (unsigned long long)r->global_flushes, (unsigned long long)r->ipis,
                   (unsigned long long)r->lock_spin_cycles, (unsigned long long)r->sleeps, bench_jnum(r->wrap_op, -1));
        }
        printf("\n  ],\n  \"verdict\": {\"kmap_grows_2level\": %s, \"kmap_grows_pae\": %s, "
               "\"kmap_atomic_flat_2level\": %s, \"kmap_atomic_flat_pae\": %s, "
               "\"kmap_local_flat_2level\": %s, \"kmap_local_flat_pae\": %s, \"ipi_mismatches\": %u}\n}\n",
               v.grows[0] ? "true" : "false", v.grows[1] ? "true" : "false", v.flat[API_ATOMIC][0] ? "true" : "false",
               v.flat[API_ATOMIC][1] ? "true" : "false", v.flat[API_LOCAL][0] ? "true" : "false",
               v.flat[API_LOCAL][1] ? "true" : "false", v.ipi_bad);
    } else {
        printf("kmap_bench  map-read-unmap of random highmem pages, %llu ops per CPU (%llu cycles of other work "
               "between ops), %s preset, seed %llu\n"
               "kmap: kmap/kunmap, era 2.6.37; kmap_atomic: stack-2.6.37; kmap_local: local-5.11, era 5.11\n"
               "LAST_PKMAP 1024 (2-level), 512 (PAE); cycles per op from the map call to the unmap's end\n\n",
               (unsigned long long)opt_ops, (unsigned long long)opt_think, mmusim_preset_name(o.cfg.preset),
               (unsigned long long)o.cfg.seed);
        printf("%-12s %5s %-7s %6s %8s %10s %8s %8s %7s %8s %8s %14s %7s %10s\n", "api", "cpus", "paging", "wset",
               "ops", "mean", "p50", "p99", "wraps", "flushes", "ipis", "lock_spin_cyc", "sleeps", "wrap_op");
        for (size_t i = 0; i < nrows; i++) {
            const struct row *r = &rows[i];
            if (i && (r->api != rows[i - 1].api || r->ws != rows[i - 1].ws || r->pae != rows[i - 1].pae))
                putchar('\n');
            printf("%-12s %5u %-7s %6u %8llu %10.1f %8llu %8llu %7llu %8llu %8llu %14llu %7llu %10.0f\n", api_names[r->api],
                   r->cpus, r->pae ? "pae" : "2level", r->ws, (unsigned long long)r->ops, r->mean,
                   (unsigned long long)r->p50, (unsigned long long)r->p99, (unsigned long long)r->wraps,
                   (unsigned long long)r->global_flushes, (unsigned long long)r->ipis,
                   (unsigned long long)r->lock_spin_cycles, (unsigned long long)r->sleeps, r->wrap_op);
        }
        putchar('\n');
        for (int pae = 0; pae < 2; pae++) {
            const struct row *a = find(rows, nrows, API_KMAP, 1, pae, ws[1]);
            const struct row *b = find(rows, nrows, API_KMAP, cpu_counts[ncpus - 1], pae, ws[1]);
            printf("verdict: kmap, %s, working set %u: cycles/op %.1f on 1 CPU, %.1f on %u: %s\n",
                   pae ? "PAE" : "2-level", ws[1], a ? a->mean : 0.0, b ? b->mean : 0.0, cpu_counts[ncpus - 1],
                   v.grows[pae] ? "grows with every CPU count: ok" : "does NOT grow with every CPU count");
            for (unsigned api = API_ATOMIC; api < API_COUNT; api++)
                printf("verdict: %s, %s: cycles/op spread over 1..%u CPUs %.1f%%: %s\n", api_names[api],
                       pae ? "PAE" : "2-level", cpu_counts[ncpus - 1] < 16 ? cpu_counts[ncpus - 1] : 16,
                       100.0 * v.spread[api][pae], v.flat[api][pae] ? "within 15%: ok" : "NOT within 15%");
        }
        printf("verdict: IPIs = global flushes x (CPUs - 1) in %zu of %zu rows: %s\n", nrows - v.ipi_bad, nrows,
               v.ipi_bad ? "MISMATCH" : "ok");
    }
    free(rows);
    if (v.ipi_bad) {
        fprintf(stderr, "%s: %u rows where IPIs != global flushes x (CPUs - 1)\n", bench_program(), v.ipi_bad);
        return 1;
    }
    return 0;
}
