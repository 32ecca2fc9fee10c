/*
 * mmusim replay — run a program's memory references (a valgrind lackey
 * trace, or mmusim's binary trace) through the TLBs of a configured
 * machine, with demand paging; mmusim trace convert — write the binary
 * format. docs/replay.md describes both.
 *
 * Several processes (--procs N): N tasks, trace i % (number of traces) each,
 * in address spaces of their own, placed on the CPUs round-robin. Each CPU
 * runs its tasks in turns of --slice instructions (by default one
 * scheduler tick: cpu_mhz * 10^6 / HZ instructions, one instruction a cycle),
 * switching with a CR3 write (charged, counted) plus cost.ctx_switch and
 * the scheduler's two kernel loads of the incoming task (switch_to below);
 * the CPUs take their turns in order, so the run is deterministic.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mmusim.h"

#define RECS 65536u   /* records read at a time, per task */
#define MAX_TRACES 64
#define MAX_PROCS 256ul

static const char replay_help[] =
    "usage: mmusim replay (--lackey FILE|- | --trace FILE|-)... [OPTIONS] [--json]\n"
    "\n"
    "Replay a program's memory references on CPU 0 of the configured machine, in one\n"
    "user address space: fetches through the ITLB, loads and stores through the DTLB\n"
    "(a modify is a load then a store), accesses that straddle a page split, every\n"
    "first touch of a page a demand fault (charged cost.page_fault). Addresses above\n"
    "the user part of the split move down by 4 GiB - PAGE_OFFSET (docs/replay.md).\n"
    "\n"
    "  --lackey FILE|-     valgrind --tool=lackey --trace-mem=yes output ('-': stdin)\n"
    "  --trace FILE|-      a trace in either format (binary if it starts with its magic)\n"
    "  --elf PROG          load PROG (an i386 ELF, mmusim elf) into each process's address\n"
    "                      space first: its pages, rights and bytes are the program's; an\n"
    "                      access its rights refuse is counted as a violation and skipped\n"
    "  --procs N           N processes (1 to 256), trace i mod the number of traces each,\n"
    "                      on the CPUs round-robin, switched every --slice instructions\n"
    "  --slice N           instructions per time slice (default: one tick, cpu_mhz*10^6/HZ)\n"
    "  --interval N        a time series: TLB misses per N records, as CSV (--csv FILE,\n"
    "                      else after the table on stdout)\n"
    "  --csv FILE          where --interval writes its CSV\n"
    "  --json              one JSON document instead of the table\n"
    "\n"
    "A malformed trace line stops the replay: 'mmusim: FILE: line N: reason', exit 1.\n"
    "\n";

struct proc {
    const char *path;
    FILE *f;
    int own_file;
    mmusim_trace_reader *rd;
    mmusim_replay *rp;
    struct mmusim_trace_rec *buf;
    size_t pos, len;
    int done;
    unsigned cpu;
    uint32_t kstack, ktask;    /* kernel addresses of its kernel stack and task_struct (lowmem) */
};

struct run {
    mmusim_machine *m;
    struct proc *p;
    unsigned nprocs, ncpus_used;
    uint64_t slice;            /* instructions; 0 = no switching */
    uint64_t interval, next_mark, records;
    FILE *csv;
    uint64_t switches;
    uint64_t kernel_refs, kernel_walks; /* the scheduler's references at switches */
    uint64_t last[6];          /* the interval's previous totals */
};

/* ---- counters over the CPUs the run uses ---- */

static void tlb_sum(mmusim_machine *m, unsigned ncpus, enum mmusim_tlb_id id, struct mmusim_tlb_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned c = 0; c < ncpus; c++) {
        struct mmusim_tlb_stats t;
        if (mmusim_cpu_tlb_stats(mmusim_machine_cpu(m, c), id, &t) != MMUSIM_OK)
            continue;
        out->entries = t.entries;
        out->ways = t.ways;
        out->lookups += t.lookups;
        out->hits += t.hits;
        out->misses += t.misses;
        out->fills += t.fills;
        out->evictions += t.evictions;
        out->dropped += t.dropped;
    }
}

static void cpu_sum(mmusim_machine *m, unsigned ncpus, struct mmusim_cpu_stats *out, uint64_t *cycles)
{
    memset(out, 0, sizeof *out);
    *cycles = 0;
    for (unsigned c = 0; c < ncpus; c++) {
        struct mmusim_cpu_stats s;
        mmusim_cpu *cpu = mmusim_machine_cpu(m, c);
        mmusim_cpu_stats(cpu, &s);
        *cycles += mmusim_cpu_cycles(cpu);
#define SUM_(name, doc) out->name += s.name;
        MMUSIM_CPU_STATS(SUM_)
#undef SUM_
    }
}

static void replay_sum(const struct run *r, struct mmusim_replay_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < r->nprocs; i++) {
        struct mmusim_replay_stats s;
        mmusim_replay_stats(r->p[i].rp, &s);
        for (int k = 0; k < MMUSIM_TRACE_KIND_COUNT_; k++)
            out->records[k] += s.records[k];
        out->accesses += s.accesses;
        out->split += s.split;
        out->faults += s.faults;
        out->faults_exec += s.faults_exec;
        out->violations += s.violations;
        out->relocated += s.relocated;
        out->unrelocatable += s.unrelocatable;
        out->cycles += s.cycles;
    }
}

/* ---- the interval series ---- */

static const enum mmusim_tlb_id series_ids[4] = {MMUSIM_TLB_ITLB_4K, MMUSIM_TLB_DTLB_4K, MMUSIM_TLB_UTLB,
                                                 MMUSIM_TLB_STLB};

static void series_now(struct run *r, uint64_t v[6])
{
    for (int i = 0; i < 4; i++) {
        struct mmusim_tlb_stats t;
        tlb_sum(r->m, r->ncpus_used, series_ids[i], &t);
        v[i] = t.misses;
    }
    struct mmusim_cpu_stats s;
    uint64_t cyc;
    cpu_sum(r->m, r->ncpus_used, &s, &cyc);
    v[4] = s.walks;
    v[5] = s.minor_faults;
}

static void series_row(struct run *r)
{
    uint64_t v[6];
    series_now(r, v);
    fprintf(r->csv, "%" PRIu64, r->records);
    for (int i = 0; i < 6; i++)
        fprintf(r->csv, ",%" PRIu64, v[i] - r->last[i]);
    fputc('\n', r->csv);
    memcpy(r->last, v, sizeof v);
}

/* ---- running ---- */

/* Refill a task's buffer. 1: records there; 0: trace over; -1: error (printed). */
static int proc_fill(struct proc *p)
{
    if (p->pos < p->len)
        return 1;
    size_t n = 0;
    int rc = mmusim_trace_read(p->rd, p->buf, RECS, &n);
    if (rc != MMUSIM_OK) {
        uint64_t line = 0;
        const char *why = mmusim_trace_error(p->rd, &line);
        fprintf(stderr, "mmusim: %s: %s %" PRIu64 ": %s (%s)\n", p->path,
                mmusim_trace_format_of(p->rd) == MMUSIM_TRACE_BINARY ? "record" : "line", line, why,
                mmusim_strerror(rc));
        return -1;
    }
    p->pos = 0;
    p->len = n;
    if (n == 0)
        p->done = 1;
    return n ? 1 : 0;
}

/*
 * Run task p for up to budget instructions (0: no limit) or until its trace
 * ends. Cuts at interval marks. -1 on an error (printed).
 */
static int proc_run(struct run *r, struct proc *p, uint64_t budget)
{
    uint64_t used = 0;
    for (;;) {
        if (!budget && p->pos == p->len && !p->done) { /* no turn to cut: read and run in one pass */
            size_t lim = RECS, n = 0;
            if (r->interval && lim > r->next_mark - r->records)
                lim = (size_t)(r->next_mark - r->records);
            int rc = mmusim_replay_read(p->rp, p->rd, lim, &n);
            if (rc != MMUSIM_OK) {
                uint64_t line = 0;
                const char *why = mmusim_trace_error(p->rd, &line);
                if (why && *why)
                    fprintf(stderr, "mmusim: %s: %s %" PRIu64 ": %s (%s)\n", p->path,
                            mmusim_trace_format_of(p->rd) == MMUSIM_TRACE_BINARY ? "record" : "line", line, why,
                            mmusim_strerror(rc));
                else
                    fprintf(stderr, "mmusim: %s: replay: %s\n", p->path, mmusim_strerror(rc));
                return -1;
            }
            if (n == 0) {
                p->done = 1;
                return 0;
            }
            r->records += n;
            if (r->interval && r->records == r->next_mark) {
                series_row(r);
                r->next_mark += r->interval;
            }
            continue;
        }
        int f = proc_fill(p);
        if (f <= 0)
            return f;
        size_t end = p->len;
        if (r->interval && end - p->pos > r->next_mark - r->records)
            end = p->pos + (size_t)(r->next_mark - r->records);
        size_t cut = p->pos;
        if (budget) {
            while (cut < end && used < budget)
                used += p->buf[cut++].kind == MMUSIM_TRACE_I;
        } else {
            cut = end;
        }
        int rc = mmusim_replay_run(p->rp, p->buf + p->pos, cut - p->pos);
        if (rc != MMUSIM_OK) {
            fprintf(stderr, "mmusim: %s: replay: %s\n", p->path, mmusim_strerror(rc));
            return -1;
        }
        r->records += cut - p->pos;
        p->pos = cut;
        if (r->interval && r->records == r->next_mark) {
            series_row(r);
            r->next_mark += r->interval;
        }
        if (budget && used >= budget)
            return 1;
    }
}

/*
 * schedule() switching CPU c to task p: cost.ctx_switch, and the kernel's
 * own references to the incoming task, one load of its task_struct and one
 * of its kernel stack, both in the direct map (kernel pages: global under
 * PGE, so their TLB entries survive the CR3 write that follows, which the
 * replay makes when p's references start).
 */
static void switch_to(struct run *r, unsigned c, const struct proc *p)
{
    mmusim_cpu *cpu = mmusim_machine_cpu(r->m, c);
    mmusim_cpu_spend(cpu, mmusim_machine_config(r->m)->costs.ctx_switch);
    r->switches++;
    const uint32_t kva[2] = {p->ktask, p->kstack};
    for (int k = 0; k < 2; k++) {
        struct mmusim_access a;
        if (mmusim_cpu_access(cpu, kva[k], MMUSIM_ACC_READ, 4, NULL, &a) == MMUSIM_OK) {
            r->kernel_refs++;
            r->kernel_walks += (uint64_t)a.walked;
        }
    }
}

static int run_all(struct run *r)
{
    unsigned *turn = calloc(r->ncpus_used, sizeof *turn);
    int *prev = malloc(r->ncpus_used * sizeof *prev);
    if (!turn || !prev) {
        free(turn);
        free(prev);
        return -1;
    }
    for (unsigned c = 0; c < r->ncpus_used; c++)
        prev[c] = -1;
    for (;;) {
        int live = 0;
        for (unsigned c = 0; c < r->ncpus_used; c++) {
            /* The CPU's next live task after its last one, in order. */
            struct proc *p = NULL;
            unsigned mine = 0;
            for (unsigned k = 0; k < r->nprocs; k++)
                mine += r->p[k].cpu == c && !r->p[k].done;
            for (unsigned k = 0; k < r->nprocs && !p; k++) {
                unsigned i = (turn[c] + k) % r->nprocs;
                if (r->p[i].cpu == c && !r->p[i].done) {
                    p = &r->p[i];
                    turn[c] = i + 1;
                }
            }
            if (!p)
                continue;
            live = 1;
            if (prev[c] >= 0 && &r->p[prev[c]] != p)
                switch_to(r, c, p);
            prev[c] = (int)(p - r->p);
            if (proc_run(r, p, mine > 1 ? r->slice : 0) < 0) {
                free(turn);
                free(prev);
                return -1;
            }
        }
        if (!live)
            break;
    }
    free(turn);
    free(prev);
    if (r->interval && r->records % r->interval)
        series_row(r); /* the last, partial interval */
    return 0;
}

/* ---- output ---- */

static double per_k(uint64_t n, uint64_t instr)
{
    return instr ? 1000.0 * (double)n / (double)instr : 0.0;
}

static void print_table(const struct run *r, const struct mmusim_replay_stats *rs, double secs)
{
    struct mmusim_cpu_stats s;
    uint64_t cycles;
    cpu_sum(r->m, r->ncpus_used, &s, &cycles);
    const struct mmusim_config *cfg = mmusim_machine_config(r->m);
    uint64_t total = rs->records[0] + rs->records[1] + rs->records[2] + rs->records[3];
    printf("mmusim replay: %u process%s on %u CPU%s, preset %s, %s paging\n", r->nprocs, r->nprocs > 1 ? "es" : "",
           r->ncpus_used, r->ncpus_used > 1 ? "s" : "", mmusim_preset_name(cfg->preset),
           cfg->paging == MMUSIM_PAGING_PAE ? "PAE" : "2-level");
    printf("\nreferences   %12s %12s %12s %12s %12s\n", "I", "L", "S", "M", "total");
    printf("             %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "\n", rs->records[0],
           rs->records[1], rs->records[2], rs->records[3], total);
    printf("accesses %" PRIu64 " (split across pages %" PRIu64 ", relocated %" PRIu64 ", unrelocatable %" PRIu64
           ")\n",
           rs->accesses, rs->split, rs->relocated, rs->unrelocatable);
    printf("\n%-11s %8s %14s %14s %12s %12s %12s\n", "array", "entries", "lookups", "hits", "misses", "evictions",
           "MPKI");
    for (int id = 0; id < MMUSIM_TLB_COUNT_; id++) {
        struct mmusim_tlb_stats t;
        tlb_sum(r->m, r->ncpus_used, (enum mmusim_tlb_id)id, &t);
        printf("%-11s %8u %14" PRIu64 " %14" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12.3f\n",
               mmusim_tlb_name((enum mmusim_tlb_id)id), t.entries, t.lookups, t.hits, t.misses, t.evictions,
               per_k(t.misses, rs->records[0]));
    }
    printf("\nwalks %" PRIu64 " (%.3f per 1000 instructions), walk cycles %" PRIu64 ", page-table references %" PRIu64
           " (%" PRIu64 " hit the line cache)\n",
           s.walks, per_k(s.walks, rs->records[0]), s.walk_cycles, s.walk_refs, s.walk_ref_hits);
    printf("faults %" PRIu64 " (fetches %" PRIu64 "), fault cycles %" PRIu64 ", rights violations %" PRIu64 "\n",
           rs->faults, rs->faults_exec, s.minor_fault_cycles, rs->violations);
    printf("CR3 writes %" PRIu64 ", entries they dropped %" PRIu64 ", PDE-cache hits %" PRIu64
           ", context switches %" PRIu64 " (kernel references %" PRIu64 ", of which walked %" PRIu64 ")\n",
           s.cr3_writes, s.dropped_cr3, s.pdecache_hits, r->switches, r->kernel_refs, r->kernel_walks);
    printf("simulated cycles %" PRIu64 " (replay %" PRIu64 ")\n", cycles, rs->cycles);
    printf("host time %.3f s, %.0f references/s\n", secs, secs > 0 ? (double)total / secs : 0.0);
}

static void print_json(const struct run *r, const struct mmusim_replay_stats *rs, double secs)
{
    struct mmusim_cpu_stats s;
    uint64_t cycles;
    cpu_sum(r->m, r->ncpus_used, &s, &cycles);
    const struct mmusim_config *cfg = mmusim_machine_config(r->m);
    uint64_t total = rs->records[0] + rs->records[1] + rs->records[2] + rs->records[3];
    printf("{\n  \"command\": \"replay\",\n  \"version\": \"%s\",\n  \"preset\": \"%s\",\n  \"paging\": \"%s\",\n",
           mmusim_version_string(), mmusim_preset_name(cfg->preset),
           cfg->paging == MMUSIM_PAGING_PAE ? "pae" : "2level");
    printf("  \"procs\": %u,\n  \"cpus\": %u,\n", r->nprocs, r->ncpus_used);
    printf("  \"references\": {\"I\": %" PRIu64 ", \"L\": %" PRIu64 ", \"S\": %" PRIu64 ", \"M\": %" PRIu64
           ", \"total\": %" PRIu64 "},\n",
           rs->records[0], rs->records[1], rs->records[2], rs->records[3], total);
    printf("  \"accesses\": %" PRIu64 ",\n  \"split\": %" PRIu64 ",\n  \"relocated\": %" PRIu64
           ",\n  \"unrelocatable\": %" PRIu64 ",\n",
           rs->accesses, rs->split, rs->relocated, rs->unrelocatable);
    printf("  \"tlbs\": {");
    for (int id = 0; id < MMUSIM_TLB_COUNT_; id++) {
        struct mmusim_tlb_stats t;
        tlb_sum(r->m, r->ncpus_used, (enum mmusim_tlb_id)id, &t);
        printf("%s\n    \"%s\": {\"entries\": %u, \"ways\": %u, \"lookups\": %" PRIu64 ", \"hits\": %" PRIu64
               ", \"misses\": %" PRIu64 ", \"evictions\": %" PRIu64 ", \"mpki\": %.6g}",
               id ? "," : "", mmusim_tlb_name((enum mmusim_tlb_id)id), t.entries, t.ways, t.lookups, t.hits,
               t.misses, t.evictions, per_k(t.misses, rs->records[0]));
    }
    printf("\n  },\n");
    printf("  \"walks\": %" PRIu64 ",\n  \"walk_cycles\": %" PRIu64 ",\n  \"walk_refs\": %" PRIu64
           ",\n  \"walk_ref_hits\": %" PRIu64 ",\n  \"walks_pki\": %.6g,\n",
           s.walks, s.walk_cycles, s.walk_refs, s.walk_ref_hits, per_k(s.walks, rs->records[0]));
    printf("  \"faults\": %" PRIu64 ",\n  \"faults_exec\": %" PRIu64 ",\n  \"fault_cycles\": %" PRIu64
           ",\n  \"violations\": %" PRIu64 ",\n",
           rs->faults, rs->faults_exec, s.minor_fault_cycles, rs->violations);
    printf("  \"cr3_writes\": %" PRIu64 ",\n  \"dropped_cr3\": %" PRIu64 ",\n  \"pdecache_hits\": %" PRIu64
           ",\n  \"context_switches\": %" PRIu64 ",\n  \"kernel_refs\": %" PRIu64 ",\n  \"kernel_walks\": %" PRIu64
           ",\n",
           s.cr3_writes, s.dropped_cr3, s.pdecache_hits, r->switches, r->kernel_refs, r->kernel_walks);
    printf("  \"cycles\": %" PRIu64 ",\n  \"replay_cycles\": %" PRIu64 ",\n", cycles, rs->cycles);
    printf("  \"host_seconds\": %.6f,\n  \"references_per_second\": %.6g\n}\n", secs,
           secs > 0 ? (double)total / secs : 0.0);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the command ---- */

struct trace_arg {
    const char *path;
    enum mmusim_trace_format fmt;
};

static int open_proc(struct proc *p, const struct trace_arg *t)
{
    p->path = t->path;
    if (strcmp(t->path, "-") == 0) {
        p->f = stdin;
    } else {
        p->f = fopen(t->path, "rb");
        if (!p->f) {
            fprintf(stderr, "mmusim: %s: cannot open\n", t->path);
            return -1;
        }
        p->own_file = 1;
    }
    int rc = mmusim_trace_open(p->f, t->fmt, &p->rd);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "mmusim: %s: %s\n", t->path, mmusim_strerror(rc));
        return -1;
    }
    p->buf = malloc(RECS * sizeof *p->buf);
    if (!p->buf) {
        fprintf(stderr, "mmusim: out of memory\n");
        return -1;
    }
    return 0;
}

/* A task's kernel stack and task_struct: a lowmem frame each, reached through the direct map. */
static int kernel_pages(mmusim_machine *m, struct proc *p)
{
    uint64_t pfn[2];
    uint32_t page_offset = mmusim_machine_layout(m)->page_offset;
    for (int k = 0; k < 2; k++) {
        int rc = mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &pfn[k]);
        if (rc != MMUSIM_OK)
            return rc;
    }
    p->ktask = page_offset + (uint32_t)(pfn[0] << 12);
    p->kstack = page_offset + (uint32_t)(pfn[1] << 12) + 4096u - 64u; /* near the top of the stack */
    return MMUSIM_OK;
}

static void close_procs(struct proc *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        mmusim_replay_destroy(p[i].rp);
        mmusim_trace_close(p[i].rd);
        if (p[i].own_file)
            fclose(p[i].f);
        free(p[i].buf);
    }
    free(p);
}

/*
 * --elf: a new address space holding the program as the ELF loader maps it
 * (at its link address: valgrind runs a static executable there, so the
 * trace's addresses are the program's), for the replay to run in.
 */
static int load_program(mmusim_machine *m, const char *path, uint64_t *cr3)
{
    struct mmusim_elf_info info;
    int rc = mmusim_pgd_create(m, cr3);
    /* On an error the space is left to the machine, which the command destroys. */
    return rc == MMUSIM_OK ? mmusim_elf_load_file(m, *cr3, path, 0, NULL, &info) : rc;
}

int cmd_replay(int argc, char **argv)
{
    const char *cmd = "replay";
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    struct trace_arg traces[MAX_TRACES];
    unsigned ntraces = 0;
    unsigned long procs = 1, slice = 0, interval = 0;
    int json = 0, stdin_used = 0;
    const char *csv_path = NULL, *elf = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(replay_help, stdout);
            fputs(cli_config_options_help, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        enum mmusim_trace_format fmt = MMUSIM_TRACE_LACKEY;
        if ((m = cli_option_value(cmd, argc, argv, &i, "--lackey", &v)) == 0 &&
            (m = cli_option_value(cmd, argc, argv, &i, "--trace", &v)) != 0)
            fmt = MMUSIM_TRACE_AUTO;
        if (m != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            if (ntraces == MAX_TRACES)
                return cli_error(cmd, "at most %d traces", MAX_TRACES);
            if (strcmp(v, "-") == 0 && stdin_used++)
                return cli_error(cmd, "standard input can be read once only");
            traces[ntraces].path = v;
            traces[ntraces++].fmt = fmt;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--elf", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            elf = v;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--csv", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            csv_path = v;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--procs", &v)) != 0) {
            if (m < 0 || cli_range_option(cmd, "--procs", v, 1, MAX_PROCS, &procs) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--slice", &v)) != 0) {
            if (m < 0 || cli_range_option(cmd, "--slice", v, 1, 1000000000000ul, &slice) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--interval", &v)) != 0) {
            if (m < 0 || cli_range_option(cmd, "--interval", v, 1, 1000000000000ul, &interval) < 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        m = cli_config_option(cmd, argc, argv, &i, &cfg);
        if (m < 0)
            return CLI_EXIT_USAGE;
        if (m == 0)
            return cli_error(cmd, "unexpected argument '%s' (see mmusim replay --help)", argv[i]);
    }
    if (ntraces == 0)
        return cli_error(cmd, "no trace: give --lackey FILE|- or --trace FILE|- (see mmusim replay --help)");
    if (stdin_used && procs > ntraces)
        return cli_error(cmd, "--procs %lu would read standard input more than once", procs);
    if (interval && json && !csv_path)
        return cli_error(cmd, "--interval with --json needs --csv FILE");

    struct run r;
    memset(&r, 0, sizeof r);
    int rc = mmusim_machine_create(&cfg, &r.m);
    if (rc != MMUSIM_OK)
        return cli_error(cmd, "invalid configuration: %s", mmusim_strerror(rc));
    unsigned ncpus = mmusim_machine_ncpus(r.m);
    r.nprocs = (unsigned)procs;
    r.ncpus_used = r.nprocs < ncpus ? r.nprocs : ncpus;
    r.slice = slice ? slice : (uint64_t)cfg.costs.cpu_mhz * 1000000u / mmusim_config_hz(&cfg);
    r.interval = interval;
    r.next_mark = interval;
    r.p = calloc(r.nprocs, sizeof *r.p);
    int status = r.p ? CLI_EXIT_OK : 1;
    for (unsigned i = 0; status == CLI_EXIT_OK && i < r.nprocs; i++) {
        struct mmusim_replay_opts o;
        mmusim_replay_opts_init(&o);
        o.cpu = i % r.ncpus_used;
        r.p[i].cpu = o.cpu;
        if (open_proc(&r.p[i], &traces[i % ntraces]) < 0)
            status = 1;
        else if (kernel_pages(r.m, &r.p[i]) != MMUSIM_OK) {
            fprintf(stderr, "mmusim: replay: no lowmem frame for a task's kernel pages\n");
            status = 1;
        }
        else if (elf && (rc = load_program(r.m, elf, &o.cr3)) != MMUSIM_OK) {
            fprintf(stderr, "mmusim: %s: %s\n", elf, mmusim_strerror(rc)); /* bad input, as a bad trace: 1 */
            status = 1;
        }
        else if ((rc = mmusim_replay_create(r.m, &o, &r.p[i].rp)) != MMUSIM_OK)
        {
            fprintf(stderr, "mmusim: replay: %s\n", mmusim_strerror(rc));
            status = 1;
        }
    }
    if (status == CLI_EXIT_OK && interval) {
        r.csv = csv_path ? fopen(csv_path, "w") : stdout;
        if (!r.csv) {
            fprintf(stderr, "mmusim: %s: cannot open\n", csv_path);
            status = 1;
        }
    }
    double t0 = now();
    if (status == CLI_EXIT_OK && !csv_path && interval)
        puts("records,itlb.4k_misses,dtlb.4k_misses,utlb_misses,stlb_misses,walks,faults");
    else if (status == CLI_EXIT_OK && interval)
        fputs("records,itlb.4k_misses,dtlb.4k_misses,utlb_misses,stlb_misses,walks,faults\n", r.csv);
    if (status == CLI_EXIT_OK && run_all(&r) < 0)
        status = 1;
    double secs = now() - t0;
    if (status == CLI_EXIT_OK) {
        struct mmusim_replay_stats rs;
        replay_sum(&r, &rs);
        if (interval && !csv_path)
            putchar('\n');
        if (json)
            print_json(&r, &rs, secs);
        else
            print_table(&r, &rs, secs);
    }
    if (r.csv && r.csv != stdout && fclose(r.csv) != 0) {
        fprintf(stderr, "mmusim: %s: write error\n", csv_path);
        status = 1;
    }
    if (r.p)
        close_procs(r.p, r.nprocs);
    mmusim_machine_destroy(r.m);
    return status;
}

/* ---- mmusim trace convert ---- */

static const char trace_help[] =
    "usage: mmusim trace convert (--lackey FILE|- | --trace FILE|-) [-o FILE|-]\n"
    "\n"
    "Write a trace in mmusim's binary format (docs/replay.md): a 16-byte header,\n"
    "then a record of 1 to about 6 bytes per reference. Standard output by default.\n";

int cmd_trace(int argc, char **argv)
{
    const char *cmd = "trace", *in = NULL, *outp = "-";
    enum mmusim_trace_format fmt = MMUSIM_TRACE_AUTO;
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(trace_help, stdout);
        return CLI_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "convert") != 0)
        return cli_error(cmd, "expected 'mmusim trace convert ...' (see mmusim trace --help)");
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(trace_help, stdout);
            return CLI_EXIT_OK;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--lackey", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            in = v;
            fmt = MMUSIM_TRACE_LACKEY;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "--trace", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            in = v;
            fmt = MMUSIM_TRACE_AUTO;
            continue;
        }
        if ((m = cli_option_value(cmd, argc, argv, &i, "-o", &v)) != 0) {
            if (m < 0)
                return CLI_EXIT_USAGE;
            outp = v;
            continue;
        }
        return cli_error(cmd, "unexpected argument '%s' (see mmusim trace --help)", argv[i]);
    }
    if (!in)
        return cli_error(cmd, "no input: give --lackey FILE|- or --trace FILE|-");
    FILE *fi = strcmp(in, "-") == 0 ? stdin : fopen(in, "rb");
    if (!fi) {
        fprintf(stderr, "mmusim: %s: cannot open\n", in);
        return 1;
    }
    FILE *fo = strcmp(outp, "-") == 0 ? stdout : fopen(outp, "wb");
    int status = 0;
    mmusim_trace_reader *rd = NULL;
    mmusim_trace_writer *w = NULL;
    struct mmusim_trace_rec *buf = malloc(RECS * sizeof *buf);
    int rc;
    if (!fo || !buf) {
        fprintf(stderr, "mmusim: %s: cannot open\n", outp);
        status = 1;
    } else if ((rc = mmusim_trace_open(fi, fmt, &rd)) != MMUSIM_OK) {
        fprintf(stderr, "mmusim: %s: %s\n", in, mmusim_strerror(rc));
        status = 1;
    } else if ((rc = mmusim_trace_writer_open(fo, &w)) != MMUSIM_OK) {
        fprintf(stderr, "mmusim: %s: %s\n", outp, mmusim_strerror(rc));
        status = 1;
    }
    size_t n = 0;
    while (status == 0 && (rc = mmusim_trace_read(rd, buf, RECS, &n)) == MMUSIM_OK && n > 0)
        if ((rc = mmusim_trace_write(w, buf, n)) != MMUSIM_OK) {
            fprintf(stderr, "mmusim: %s: %s\n", outp, mmusim_strerror(rc));
            status = 1;
        }
    if (status == 0 && rc != MMUSIM_OK) {
        uint64_t line = 0;
        const char *why = mmusim_trace_error(rd, &line);
        fprintf(stderr, "mmusim: %s: %s %" PRIu64 ": %s (%s)\n", in,
                mmusim_trace_format_of(rd) == MMUSIM_TRACE_BINARY ? "record" : "line", line, why,
                mmusim_strerror(rc));
        status = 1;
    }
    if (w && (rc = mmusim_trace_writer_close(w)) != MMUSIM_OK && status == 0) {
        fprintf(stderr, "mmusim: %s: %s\n", outp, mmusim_strerror(rc));
        status = 1;
    }
    mmusim_trace_close(rd);
    free(buf);
    if (fi != stdin)
        fclose(fi);
    if (fo && fo != stdout && fclose(fo) != 0 && status == 0) {
        fprintf(stderr, "mmusim: %s: write error\n", outp);
        status = 1;
    }
    return status;
}
