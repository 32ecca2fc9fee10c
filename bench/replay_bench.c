/*
 * replay_bench — how fast traces replay (docs/replay.md, "Speed").
 *
 * Generates a lackey-format file of --lines lines (default 20 million: a
 * loop over 16 code pages, loads and stores over a working set of 48 pages
 * with a jump to a random page of 4096 one time in 64, so mostly TLB hits),
 * then, each timed REPS times back to back (best and median reported):
 *
 *   floor         a bare loop that reads the file in 1 MiB blocks and counts
 *                 its newlines (memchr): the least a line parser can cost;
 *   lackey parse  mmusim_trace_read over the file;
 *   lackey replay mmusim_replay_read (reading and running in one pass): the
 *                 whole replay;
 *   binary parse, binary replay: the same on the file converted to mmusim's
 *                 binary format;
 *   batch hits    mmusim_cpu_access_batch on 4-byte loads that all hit one
 *                 page (no parsing): the simulator's own floor per reference.
 *
 * --hits-only runs the batch-hit loop alone, --ops times, for callgrind:
 *   valgrind --tool=callgrind --toggle-collect=mmusim_cpu_access_batch \
 *       build-rel/bin/replay_bench --hits-only --ops 10000000
 * and the instructions of mmusim_cpu_access_batch divided by the references.
 * --binary-only generates and converts the trace, then replays the binary
 * file once in binary_replay_once, for callgrind:
 *   valgrind --tool=callgrind --toggle-collect=binary_replay_once \
 *       build-rel/bin/replay_bench --binary-only 1 --lines 2000000
 * and the instructions of binary_replay_once divided by the references.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage[] =
    "usage: replay_bench [options] [--lines N] [--hits-only 1] [--binary-only 1]\n"
    "Generates a lackey trace of N lines (default 20000000) in $TMPDIR (default\n"
    "/tmp; removed at the end) and times the bare line-splitting\n"
    "floor, the lackey parser, the lackey replay, the binary parser and replay, and\n"
    "the batch call on TLB hits. --hits-only: only the batch-hit loop, --ops references.\n"
    "--binary-only: one binary replay of the converted trace (for callgrind).\n";

#define REPS 5
#define RECS 65536u

static uint64_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* The generated trace: fetches through 16 pages of code, data over 48 pages, far jumps now and then. */
static void generate(const char *path, uint64_t lines)
{
    FILE *f = fopen(path, "w");
    if (!f)
        bench_die("%s: cannot create", path);
    static char buf[1 << 16];
    setvbuf(f, buf, _IOFBF, sizeof buf);
    fputs("==1== Lackey, an example Valgrind tool\n", f);
    uint32_t ip = 0x08048000u, data = 0x0804a000u;
    for (uint64_t i = 0; i < lines; i++) {
        uint32_t r = rnd();
        if (r % 3 != 0) {
            unsigned size = 1 + r % 7;
            fprintf(f, "I  %08x,%u\n", ip, size);
            ip += size;
            if (ip >= 0x08048000u + 16 * 4096u)
                ip = 0x08048000u;
        } else {
            if (r % 64 == 3)
                data = 0x10000000u + (rnd() % 4096u) * 4096u;
            else if (r % 8 == 0)
                data = 0x0804a000u + (rnd() % 48u) * 4096u + (r & 0xffcu);
            else
                data += 4;
            static const char kinds[3] = {'L', 'S', 'M'};
            fprintf(f, " %c %08x,%u\n", kinds[(r >> 8) % 3], data, (r >> 10) % 4 ? 4u : 8u);
        }
    }
    bench_close(f, path);
}

static uint64_t floor_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        bench_die("%s: cannot open", path);
    static char buf[1 << 20];
    uint64_t lines = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        const char *p = buf, *end = buf + n;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            lines++;
            p++;
        }
    }
    fclose(f);
    return lines;
}

/* Parse (and replay, when m is not NULL) the file; returns the records. */
static uint64_t run_file(const char *path, enum mmusim_trace_format fmt, const struct mmusim_config *cfg,
                         int replay)
{
    static struct mmusim_trace_rec recs[RECS];
    FILE *f = fopen(path, "rb");
    if (!f)
        bench_die("%s: cannot open", path);
    mmusim_trace_reader *rd;
    bench_check(mmusim_trace_open(f, fmt, &rd), "trace_open");
    mmusim_machine *m = NULL;
    mmusim_replay *rp = NULL;
    if (replay) {
        struct mmusim_replay_opts o;
        mmusim_replay_opts_init(&o);
        bench_check(mmusim_machine_create(cfg, &m), "machine_create");
        bench_check(mmusim_replay_create(m, &o, &rp), "replay_create");
    }
    uint64_t total = 0;
    size_t n;
    int rc;
    if (rp) /* read and run in one pass */
        while ((rc = mmusim_replay_read(rp, rd, RECS, &n)) == MMUSIM_OK && n > 0)
            total += n;
    else
        while ((rc = mmusim_trace_read(rd, recs, RECS, &n)) == MMUSIM_OK && n > 0)
            total += n;
    bench_check(rc, rp ? "replay_read" : "trace_read");
    mmusim_replay_destroy(rp);
    mmusim_machine_destroy(m);
    mmusim_trace_close(rd);
    fclose(f);
    return total;
}

static void convert(const char *in, const char *out)
{
    static struct mmusim_trace_rec recs[RECS];
    FILE *fi = fopen(in, "rb"), *fo = fopen(out, "wb");
    if (!fi || !fo)
        bench_die("%s: cannot create", out);
    mmusim_trace_reader *rd;
    mmusim_trace_writer *w;
    bench_check(mmusim_trace_open(fi, MMUSIM_TRACE_LACKEY, &rd), "trace_open");
    bench_check(mmusim_trace_writer_open(fo, &w), "writer_open");
    size_t n;
    int rc;
    while ((rc = mmusim_trace_read(rd, recs, RECS, &n)) == MMUSIM_OK && n > 0)
        bench_check(mmusim_trace_write(w, recs, n), "trace_write");
    bench_check(rc, "trace_read");
    bench_check(mmusim_trace_writer_close(w), "writer_close");
    mmusim_trace_close(rd);
    fclose(fi);
    bench_close(fo, out);
}

/* n 4-byte user loads on one mapped page, in batches of 4096: all TLB hits but the first. */
static uint64_t batch_hits(const struct mmusim_config *cfg, uint64_t n)
{
    mmusim_machine *m;
    uint64_t cr3, pfn;
    bench_check(mmusim_machine_create(cfg, &m), "machine_create");
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    bench_check(mmusim_pgd_create(m, &cr3), "pgd_create");
    bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), "frame_alloc");
    bench_check(mmusim_pt_map(m, cr3, 0x08048000u, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_RW | MMUSIM_PTE_US),
                "pt_map");
    bench_check(mmusim_cpu_write_cr3(cpu, cr3, NULL), "cr3");
    static struct mmusim_ref refs[4096];
    for (unsigned i = 0; i < 4096; i++) {
        refs[i].va = 0x08048000u + (i * 4u) % 4096u;
        refs[i].size = 4;
        refs[i].access = MMUSIM_ACC_READ | MMUSIM_ACC_USER;
        refs[i].pad_ = 0;
    }
    uint64_t done = 0;
    while (done < n) {
        size_t k = n - done < 4096 ? (size_t)(n - done) : 4096;
        struct mmusim_batch_sum s;
        bench_check(mmusim_cpu_access_batch(cpu, refs, k, NULL, &s), "access_batch");
        done += s.done;
    }
    mmusim_machine_destroy(m);
    return done;
}

/* One binary replay, apart so that callgrind can count it alone (--toggle-collect=binary_replay_once). */
__attribute__((noinline)) uint64_t binary_replay_once(const char *bin, const struct mmusim_config *cfg);
__attribute__((noinline)) uint64_t binary_replay_once(const char *bin, const struct mmusim_config *cfg)
{
    return run_file(bin, MMUSIM_TRACE_BINARY, cfg, 1);
}

struct timing {
    double best, median;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Items per second over REPS runs of what (0 floor, 1 lackey parse, 2 lackey replay, 3 binary parse, 4 binary replay, 5 hits). */
static struct timing timed(int what, const char *lackey, const char *bin, const struct mmusim_config *cfg,
                           uint64_t hits, uint64_t *items)
{
    double rate[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now();
        switch (what) {
        case 0: *items = floor_lines(lackey); break;
        case 1: *items = run_file(lackey, MMUSIM_TRACE_LACKEY, cfg, 0); break;
        case 2: *items = run_file(lackey, MMUSIM_TRACE_LACKEY, cfg, 1); break;
        case 3: *items = run_file(bin, MMUSIM_TRACE_BINARY, cfg, 0); break;
        case 4: *items = binary_replay_once(bin, cfg); break;
        default: *items = batch_hits(cfg, hits); break;
        }
        double dt = bench_now() - t0;
        rate[r] = dt > 0 ? (double)*items / dt : 0.0;
    }
    qsort(rate, REPS, sizeof rate[0], cmp_double);
    struct timing t = {rate[REPS - 1], rate[REPS / 2]};
    return t;
}

int main(int argc, char **argv)
{
    uint64_t lines = 20000000, hits_only = 0, binary_only = 0;
    const struct bench_uopt extra[] = {
        {"--lines", "lines of the generated lackey trace", &lines, 1000, 1000000000},
        {"--hits-only", "1: only the batch-hit loop (--ops references), for callgrind", &hits_only, 0, 1},
        {"--binary-only", "1: only one binary replay of the converted trace, for callgrind", &binary_only, 0, 1},
    };
    struct bench_opts o;
    bench_parse_ext(argc, argv, usage, extra, sizeof extra / sizeof extra[0], &o);
    uint64_t hits = o.ops ? o.ops : 100000000;
    if (hits_only) {
        uint64_t n = batch_hits(&o.cfg, hits);
        printf("batch hits: %llu references\n", (unsigned long long)n);
        return 0;
    }
    char lackey[4000], bin[4096];
    const char *dir = getenv("TMPDIR");
    snprintf(lackey, sizeof lackey, "%s/replay_bench.%ld.lackey", dir && *dir ? dir : "/tmp", (long)getpid());
    snprintf(bin, sizeof bin, "%s.mtr", lackey);
    generate(lackey, lines);
    convert(lackey, bin);
    if (binary_only) {
        uint64_t n = binary_replay_once(bin, &o.cfg);
        remove(lackey);
        remove(bin);
        printf("binary replay: %llu references\n", (unsigned long long)n);
        return 0;
    }
    static const char *const names[6] = {"floor (memchr lines)", "lackey parse", "lackey replay", "binary parse",
                                         "binary replay", "batch hits"};
    static const char *const keys[6] = {"floor", "lackey_parse", "lackey_replay", "binary_parse", "binary_replay",
                                        "batch_hits"};
    struct timing t[6];
    uint64_t items[6];
    for (int w = 0; w < 6; w++)
        t[w] = timed(w, lackey, bin, &o.cfg, hits, &items[w]);
    remove(lackey);
    remove(bin);
    if (o.json) {
        struct bench_json j;
        bench_json_begin_bench(&j, stdout, &o, "replay_bench");
        bench_json_u64(&j, "lines", lines);
        for (int w = 0; w < 6; w++) {
            char key[64];
            snprintf(key, sizeof key, "%s_items", keys[w]);
            bench_json_u64(&j, key, items[w]);
            snprintf(key, sizeof key, "%s_per_s_best", keys[w]);
            bench_json_f64(&j, key, t[w].best);
            snprintf(key, sizeof key, "%s_per_s_median", keys[w]);
            bench_json_f64(&j, key, t[w].median);
        }
        bench_json_end(&j);
        return 0;
    }
    printf("replay_bench: %llu generated lackey lines, best and median of %d runs (per second of host time)\n\n",
           (unsigned long long)lines, REPS);
    printf("%-22s %14s %16s %16s\n", "what", "items", "best /s", "median /s");
    for (int w = 0; w < 6; w++)
        printf("%-22s %14llu %16.0f %16.0f\n", names[w], (unsigned long long)items[w], t[w].best, t[w].median);
    printf("\nlackey replay at %.0f%% of the floor's rate; binary replay %.1fx the lackey replay\n",
           100.0 * t[2].best / t[0].best, t[4].best / t[2].best);
    return 0;
}
