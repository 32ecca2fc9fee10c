/*
 * shootdown_bench — what an SMP TLB shootdown costs in simulated time.
 *
 * (a) For each preset and 1..64 CPUs, CPU 0 flushes a kernel range of 1 or
 *     33 pages (per-page INVLPG, flush_ceiling 33) or everything
 *     (flush_tlb_all) while every other CPU runs a busy kernel thread. The
 *     initiator's cost is its clock from the call to its resumption once
 *     every acknowledgement is in; the targets' is their IPI handler time.
 * (b) Amit 2019's single-page shootdown of a user address space whose
 *     threads run on 1 + N CPUs (haswell): the initiator's extra time over a
 *     purely local flush, against the published 775 ns (N = 1) and 910 ns
 *     (N = 3).
 * (c) Per-page INVLPG of n kernel pages against a full flush (haswell, 2 and
 *     4 CPUs, flush_ceiling 64): the smallest n for which per-page costs the
 *     initiator more, against Hansen 2014's table (crossing between 3 and 4).
 *
 * With --irq-gap N every CPU also takes device interrupts at a seeded random
 * rate (mean gap N cycles, each handler IRQ_WORK cycles with interrupts off:
 * requested with IRQF_DISABLED, which keeps them off in every era),
 * so an IPI may find its target in a handler and wait for it: the costs then
 * depend on the seed (--set seed=S).
 *
 * The model is deterministic: the same options, seed included, give
 * byte-identical output (tests/bench_determinism.cmake checks it).
 */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage[] =
    "usage: shootdown_bench [options]\n"
    "Simulated cost of SMP TLB shootdowns: kernel range (1, 33 pages) and full\n"
    "flushes on 1..64 CPUs for every preset (or the one --preset names), a\n"
    "user-mm single-page flush against Amit 2019 (haswell), and the per-page\n"
    "vs full flush crossover against Hansen 2014 (haswell).\n"
    "The bench sets cpus and flush_ceiling itself; --iterations is ignored\n"
    "(the model is deterministic: one run per point, and the same options and\n"
    "seed give byte-identical output).\n";

#define IRQ_WORK 2000u              /* cycles of one device interrupt handler (--irq-gap) */
#define IRQ_UNTIL 1000000u          /* device interrupts arrive up to this cycle */

/* --irq-gap: mean cycles between device interrupts on each CPU; 0 = none. */
static uint64_t irq_gap;

static const struct bench_uopt options[] = {
    {"--irq-gap", "N: device interrupts on every CPU, mean gap N cycles (seeded; default 0, none)", &irq_gap, 0,
     1000000000},
};

#define BUSY_CYCLES 50u             /* one busy step on a non-initiating CPU */
#define BUSY_STEP_CAP (1u << 22)    /* safety net: a busy task gives up after this many steps */
#define USER_VA 0x10000000u

enum kind {
    K_KERNEL_RANGE, /* mmusim_flush_tlb_kernel_range_smp over [start, start + pages * 4096) */
    K_FULL,         /* mmusim_flush_tlb_all_smp */
    K_USER_PAGE     /* mmusim_flush_tlb_page_smp(cr3, va) */
};

struct ctx {
    mmusim_machine *m;
    enum kind kind;
    uint32_t start, end;
    uint64_t cr3;       /* K_USER_PAGE: the address space */
    uint64_t need_mask; /* K_USER_PAGE: CPUs that must have the mm loaded before the flush */
    int phase;
    int rc;
    int done;           /* set by the initiator once resumed: the busy tasks stop */
    int capped;         /* a busy task hit BUSY_STEP_CAP */
    uint64_t before, after;
};

struct busy {
    struct ctx *c;
    uint64_t steps;
};

static enum mmusim_step initiator_step(mmusim_cpu *cpu, void *arg)
{
    struct ctx *c = arg;
    if (c->phase == 0) {
        /* A user flush reaches only CPUs in the mm's cpu_vm_mask: wait until every thread runs. */
        if (c->kind == K_USER_PAGE && (mmusim_mm_cpu_mask(c->m, c->cr3) & c->need_mask) != c->need_mask) {
            mmusim_cpu_spend(cpu, BUSY_CYCLES);
            return MMUSIM_STEP_MORE;
        }
        c->before = mmusim_cpu_cycles(cpu);
        switch (c->kind) {
        case K_KERNEL_RANGE:
            c->rc = mmusim_flush_tlb_kernel_range_smp(cpu, c->start, c->end);
            break;
        case K_FULL:
            c->rc = mmusim_flush_tlb_all_smp(cpu);
            break;
        case K_USER_PAGE:
            c->rc = mmusim_flush_tlb_page_smp(cpu, c->cr3, c->start);
            break;
        }
        c->phase = 1;
        return MMUSIM_STEP_MORE;
    }
    /* Resumed: every acknowledgement is in and the local part is done. */
    c->after = mmusim_cpu_cycles(cpu);
    c->done = 1;
    return MMUSIM_STEP_DONE;
}

static enum mmusim_step busy_step(mmusim_cpu *cpu, void *arg)
{
    struct busy *b = arg;
    if (b->c->done)
        return MMUSIM_STEP_DONE;
    if (++b->steps > BUSY_STEP_CAP) {
        b->c->capped = 1;
        return MMUSIM_STEP_DONE;
    }
    mmusim_cpu_spend(cpu, BUSY_CYCLES);
    return MMUSIM_STEP_MORE;
}

/* A device interrupt: its handler's work, with interrupts off, in one step. */
static enum mmusim_step irq_step(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, IRQ_WORK);
    return MMUSIM_STEP_DONE;
}

/* One run: a row of the sweep (--shard, --merge: a shard file holds its bytes,
 * so it has no pointer and no padding). */
struct point {
    enum mmusim_preset preset;
    unsigned cpus;
    unsigned pages;            /* 0: a full flush */
    unsigned unused_;          /* zero: the padding made a field */
    uint64_t initiator_cycles;
    double initiator_ns;
    uint64_t target_cycles_total;
    uint64_t ipis;
};

/*
 * One shootdown on a machine of `cpus` CPUs: CPU 0 flushes, the others run
 * busy tasks (kernel threads, or threads of the flushed mm for K_USER_PAGE).
 */
static struct point run_one(struct mmusim_config cfg, unsigned cpus, unsigned ceiling, enum kind kind, unsigned pages)
{
    char buf[32];
    mmusim_machine *m;
    snprintf(buf, sizeof(buf), "%u", cpus);
    bench_check(mmusim_config_set(&cfg, "cpus", buf), "cpus");
    snprintf(buf, sizeof(buf), "%u", ceiling);
    bench_check(mmusim_config_set(&cfg, "flush_ceiling", buf), "flush_ceiling");
    bench_check(mmusim_machine_create(&cfg, &m), "machine_create");

    struct ctx c;
    memset(&c, 0, sizeof(c));
    c.m = m;
    c.kind = kind;
    uint64_t task_cr3 = 0;
    if (kind == K_USER_PAGE) {
        uint64_t pfn;
        bench_check(mmusim_pgd_create(m, &c.cr3), "pgd_create");
        bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &pfn), "frame_alloc");
        bench_check(mmusim_pt_map(m, c.cr3, USER_VA, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_RW | MMUSIM_PTE_US),
                    "pt_map");
        c.start = USER_VA;
        c.end = USER_VA + 4096u;
        c.need_mask = cpus == 64 ? ~0ull : (1ull << cpus) - 1;
        task_cr3 = c.cr3;
    } else if (kind == K_KERNEL_RANGE) {
        c.start = mmusim_machine_layout(m)->pkmap_base;
        c.end = c.start + pages * 4096u;
    }

    struct busy *b = calloc(cpus, sizeof(*b));
    if (!b)
        bench_check(MMUSIM_ENOMEM, "calloc");
    mmusim_task *t;
    bench_check(mmusim_task_create(m, 0, task_cr3, initiator_step, &c, &t), "task_create");
    for (unsigned i = 1; i < cpus; i++) {
        b[i].c = &c;
        bench_check(mmusim_task_create(m, i, task_cr3, busy_step, &b[i], &t), "task_create");
    }
    for (unsigned i = 0; irq_gap && i < cpus; i++)
        bench_check(mmusim_irq_random_flags(m, i, irq_gap, IRQ_UNTIL, irq_step, NULL, MMUSIM_IRQF_DISABLED),
                    "irq_random");

    struct mmusim_run_result r;
    bench_check(mmusim_machine_run(m, 0, &r), "machine_run");
    bench_check(c.rc, "flush");
    struct mmusim_report rep;
    uint64_t nrep = mmusim_machine_reports(m, &rep, 1);
    if (!r.finished || r.deadlock || c.capped || c.phase != 1 || !c.done || nrep) {
        fprintf(stderr,
                "%s: %s, %u CPUs, kind %d, %u pages: finished %d deadlock %d capped %d done %d reports %llu%s%s\n",
                bench_program(), mmusim_preset_name(cfg.preset), cpus, (int)kind, pages, r.finished, r.deadlock, c.capped, c.done,
                (unsigned long long)nrep, nrep ? ": " : "", nrep ? rep.what : "");
        exit(1);
    }

    struct point p;
    memset(&p, 0, sizeof(p));
    p.preset = cfg.preset;
    p.cpus = cpus;
    p.pages = pages;
    p.initiator_cycles = c.after - c.before;
    p.initiator_ns = mmusim_cycles_to_ns(&cfg.costs, p.initiator_cycles);
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(mmusim_machine_cpu(m, 0), &s);
    p.ipis = s.ipis_sent;
    for (unsigned i = 1; i < cpus; i++) {
        mmusim_cpu_stats(mmusim_machine_cpu(m, i), &s);
        p.target_cycles_total += s.ipi_handler_cycles;
    }
    free(b);
    mmusim_machine_destroy(m);
    return p;
}

/* A key inside the bench_json object, for the values its writer has no call for (arrays). */
static void json_key(struct bench_json *j, const char *k)
{
    fprintf(j->f, "%s\n  \"%s\": ", j->first ? "" : ",", k);
    j->first = 0;
}

static const unsigned cpu_counts[] = {1, 2, 4, 8, 16, 32, 64};
static const unsigned page_counts[] = {1, 33, 0};
#define NCPUS (sizeof(cpu_counts) / sizeof(cpu_counts[0]))
#define NPAGES (sizeof(page_counts) / sizeof(page_counts[0]))

#define XOVER_MAX 33
static const unsigned xover_cpus[] = {2, 4};
#define NXOVER (sizeof(xover_cpus) / sizeof(xover_cpus[0]))

/* Hansen 2014, Ivy Bridge, flush_tlb_mm_range cycles. */
static const unsigned hansen_pages[] = {1, 2, 3, 4};
static const unsigned hansen_cycles[] = {1276, 1505, 1880, 2447};
#define HANSEN_FULL 2283u

struct xover {
    uint64_t per_page[XOVER_MAX + 1];
    uint64_t full;
    unsigned crossover; /* 0: per-page never costs more up to XOVER_MAX */
};

int main(int argc, char **argv)
{
    struct bench_opts o;
    bench_parse_ext(argc, argv, usage, options, sizeof(options) / sizeof(options[0]), &o);
    if (o.cpus)
        bench_die("shootdown_bench sweeps the CPU count itself; --cpus is refused (see --help)");

    enum mmusim_preset presets[MMUSIM_PRESET_COUNT_];
    unsigned npresets = 0;
    if (o.preset_given) {
        presets[npresets++] = o.cfg.preset;
    } else {
        for (unsigned p = 0; p < MMUSIM_PRESET_COUNT_; p++)
            presets[npresets++] = (enum mmusim_preset)p;
    }

    /* The rows, each one run_one: (a) the sweep, preset x CPUs x pages; (b)
     * Amit 2019: user mm, one page, 0, 1 and 3 remote CPUs (haswell); (c)
     * per-page vs full kernel flushes (haswell, flush_ceiling 64): for each
     * CPU count the full flush, then 1 .. XOVER_MAX pages. With --shard only
     * this shard's run; with --merge they come from the shard files. */
    const size_t npoints = (size_t)npresets * NCPUS * NPAGES, nxrow = XOVER_MAX + 1;
    const size_t nrows = npoints + 3 + NXOVER * nxrow;
    struct point *rows = calloc(nrows, sizeof(*rows));
    if (!rows)
        bench_check(MMUSIM_ENOMEM, "calloc");
    struct mmusim_config hsw = bench_config_for_preset(&o, MMUSIM_PRESET_HASWELL);
    if (o.merge_files) {
        bench_merge_read(&o, "shootdown_bench", rows, nrows, sizeof(*rows));
    } else {
        for (size_t i = 0; i < nrows; i++) {
            if (!bench_shard_mine(&o, i))
                continue;
            if (i < npoints) {
                unsigned p = (unsigned)(i / (NCPUS * NPAGES)), c = (unsigned)(i / NPAGES % NCPUS),
                         g = (unsigned)(i % NPAGES);
                struct mmusim_config cfg = bench_config_for_preset(&o, presets[p]);
                rows[i] = run_one(cfg, cpu_counts[c], 33, page_counts[g] ? K_KERNEL_RANGE : K_FULL, page_counts[g]);
            } else if (i < npoints + 3) {
                static const unsigned user_cpus[3] = {1, 2, 4};
                rows[i] = run_one(hsw, user_cpus[i - npoints], 33, K_USER_PAGE, 1);
            } else {
                size_t x = (i - npoints - 3) / nxrow;
                unsigned n = (unsigned)((i - npoints - 3) % nxrow);
                rows[i] = run_one(hsw, xover_cpus[x], 64, n ? K_KERNEL_RANGE : K_FULL, n);
            }
            bench_progress("rows", i + 1, nrows);
        }
    }
    if (o.shard_n) {
        bench_shard_write(&o, "shootdown_bench", rows, nrows, sizeof(*rows));
        free(rows);
        return 0;
    }

    /* (a) the sweep */
    const struct point *pts = rows;

    /* (b) */
    struct point u0 = rows[npoints], u1 = rows[npoints + 1], u3 = rows[npoints + 2];
    double extra1 = u1.initiator_ns - u0.initiator_ns, extra3 = u3.initiator_ns - u0.initiator_ns;
    const double pub1 = 775.0, pub3 = 910.0;

    /* (c) */
    struct xover xo[NXOVER];
    for (unsigned x = 0; x < NXOVER; x++) {
        const struct point *r = rows + npoints + 3 + x * nxrow;
        xo[x].full = r[0].initiator_cycles;
        xo[x].crossover = 0;
        for (unsigned n = 1; n <= XOVER_MAX; n++) {
            xo[x].per_page[n] = r[n].initiator_cycles;
            if (!xo[x].crossover && xo[x].per_page[n] > xo[x].full)
                xo[x].crossover = n;
        }
    }

    if (o.json) {
        struct bench_json j;
        bench_json_begin_bench(&j, stdout, &o, "shootdown_bench");
        bench_json_u64(&j, "busy_step_cycles", BUSY_CYCLES);
        bench_json_u64(&j, "flush_ceiling", 33);
        bench_json_u64(&j, "irq_gap_cycles", irq_gap);
        bench_json_u64(&j, "irq_work_cycles", irq_gap ? IRQ_WORK : 0);
        json_key(&j, "results");
        fputs("[", stdout);
        for (size_t i = 0; i < npoints; i++)
            printf("%s\n    {\"preset\": \"%s\", \"cpus\": %u, \"pages\": %u, \"initiator_cycles\": %llu, "
                   "\"initiator_ns\": %s, \"target_cycles_total\": %llu, \"ipis\": %llu}",
                   i ? "," : "", mmusim_preset_name(pts[i].preset), pts[i].cpus, pts[i].pages,
                   (unsigned long long)pts[i].initiator_cycles, bench_jnum(pts[i].initiator_ns, -1),
                   (unsigned long long)pts[i].target_cycles_total, (unsigned long long)pts[i].ipis);
        fputs("\n  ]", stdout);
        bench_json_str(&j, "user_flush_preset", "haswell");
        bench_json_f64(&j, "local_ns_0_remote", u0.initiator_ns);
        bench_json_f64(&j, "initiator_ns_1_remote", u1.initiator_ns);
        bench_json_f64(&j, "initiator_ns_3_remote", u3.initiator_ns);
        bench_json_f64(&j, "extra_ns_1_remote", extra1);
        bench_json_f64(&j, "extra_ns_3_remote", extra3);
        bench_json_u64(&j, "published_extra_ns_1_remote", 775);
        bench_json_u64(&j, "published_extra_ns_3_remote", 910);
        bench_json_f64(&j, "extra_1_remote_diff_pct", 100.0 * (extra1 - pub1) / pub1);
        bench_json_f64(&j, "extra_3_remote_diff_pct", 100.0 * (extra3 - pub3) / pub3);
        bench_json_str(&j, "crossover_preset", "haswell");
        bench_json_u64(&j, "crossover_cpus", xover_cpus[0]);
        bench_json_u64(&j, "crossover_pages", xo[0].crossover);
        bench_json_u64(&j, "crossover_pages_4cpus", xo[1].crossover);
        bench_json_u64(&j, "published_crossover_pages", 4);
        for (unsigned x = 0; x < NXOVER; x++) {
            json_key(&j, x == 0 ? "crossover" : "crossover_4cpus");
            fputs("[", stdout);
            for (unsigned n = 1; n <= XOVER_MAX; n++)
                printf("%s\n    {\"pages\": %u, \"per_page_cycles\": %llu, \"full_cycles\": %llu}", n > 1 ? "," : "",
                       n, (unsigned long long)xo[x].per_page[n], (unsigned long long)xo[x].full);
            fputs("\n  ]", stdout);
        }
        json_key(&j, "published_crossover");
        fputs("[", stdout);
        for (unsigned i = 0; i < sizeof(hansen_pages) / sizeof(hansen_pages[0]); i++)
            printf("%s\n    {\"pages\": %u, \"per_page_cycles\": %u, \"full_cycles\": %u}", i ? "," : "",
                   hansen_pages[i], hansen_cycles[i], HANSEN_FULL);
        fputs("\n  ]", stdout);
        bench_json_end(&j);
    } else {
        printf("shootdown_bench  CPU 0 flushes a kernel range (flush_ceiling 33; pages 0 = flush_tlb_all);\n"
               "every other CPU runs a busy kernel thread (%u-cycle steps)\n",
               BUSY_CYCLES);
        if (irq_gap)
            printf("device interrupts on every CPU: mean gap %llu cycles, %u cycles each, seed %llu\n",
                   (unsigned long long)irq_gap, IRQ_WORK, (unsigned long long)o.cfg.seed);
        putchar('\n');
        printf("%-8s %5s %6s %16s %14s %20s %6s\n", "preset", "cpus", "pages", "initiator_cycles", "initiator_ns",
               "target_cycles_total", "ipis");
        for (size_t i = 0; i < npoints; i++) {
            char pg[16];
            if (pts[i].pages)
                snprintf(pg, sizeof(pg), "%u", pts[i].pages);
            else
                snprintf(pg, sizeof(pg), "full");
            printf("%-8s %5u %6s %16llu %14.1f %20llu %6llu\n", mmusim_preset_name(pts[i].preset), pts[i].cpus, pg,
                   (unsigned long long)pts[i].initiator_cycles, pts[i].initiator_ns,
                   (unsigned long long)pts[i].target_cycles_total, (unsigned long long)pts[i].ipis);
            if (i + 1 < npoints && pts[i + 1].preset != pts[i].preset)
                putchar('\n');
        }

        printf("\nUser mm, one page (flush_tlb_page), haswell: threads on 1 + N CPUs\n");
        printf("  initiator, 0 remote (local only): %8.1f ns (%llu cycles)\n", u0.initiator_ns,
               (unsigned long long)u0.initiator_cycles);
        printf("  initiator, 1 remote:              %8.1f ns (%llu cycles)\n", u1.initiator_ns,
               (unsigned long long)u1.initiator_cycles);
        printf("  initiator, 3 remote:              %8.1f ns (%llu cycles)\n", u3.initiator_ns,
               (unsigned long long)u3.initiator_cycles);
        printf("  extra for 1 remote CPU: simulated %.1f ns vs published %.0f ns (Amit 2019: 1436 - 661): %+.1f%%\n",
               extra1, pub1, 100.0 * (extra1 - pub1) / pub1);
        printf("  extra for 3 remote CPUs: simulated %.1f ns vs published %.0f ns (Amit 2019: 1571 - 661): %+.1f%%\n",
               extra3, pub3, 100.0 * (extra3 - pub3) / pub3);

        printf("\nPer-page INVLPG of n kernel pages vs a full flush, initiator cycles (haswell, flush_ceiling 64)\n");
        printf("%6s", "pages");
        for (unsigned x = 0; x < NXOVER; x++)
            printf("   %2u CPUs per-page %7s", xover_cpus[x], "full");
        printf("   Hansen 2014 (Ivy Bridge)\n");
        for (unsigned n = 1; n <= XOVER_MAX; n++) {
            printf("%6u", n);
            for (unsigned x = 0; x < NXOVER; x++)
                printf("   %17llu %7llu", (unsigned long long)xo[x].per_page[n], (unsigned long long)xo[x].full);
            if (n <= 4)
                printf("   %u vs full %u", hansen_cycles[n - 1], HANSEN_FULL);
            putchar('\n');
        }
        for (unsigned x = 0; x < NXOVER; x++) {
            if (xo[x].crossover)
                printf("crossover, %u CPUs: simulated %u pages (per-page costs more from %u pages on)\n",
                       xover_cpus[x], xo[x].crossover, xo[x].crossover);
            else
                printf("crossover, %u CPUs: none up to %u pages\n", xover_cpus[x], XOVER_MAX);
        }
        printf("crossover, published (Hansen 2014, Ivy Bridge): 4 pages (3 pages %u < full %u < 4 pages %u)\n",
               hansen_cycles[2], HANSEN_FULL, hansen_cycles[3]);
    }
    free(rows);
    return 0;
}
