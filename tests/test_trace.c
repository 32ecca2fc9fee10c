/*
 * Trace readers, the binary format and the replay driver
 * (include/mmusim/trace.h, include/mmusim/replay.h, docs/replay.md).
 *
 * Lackey's line format is valgrind's lackey/lk_main.c: "I  %08lx,%lu" for a
 * fetch, " L ", " S ", " M " and the same fields for data. Every malformed
 * class must be refused with its line number; the binary format must give
 * back what was written; the replay must take one demand fault per page
 * first touched, relocate the top of the address space by 4 GiB -
 * PAGE_OFFSET, split straddling accesses, and report references that break
 * the rights of pages mapped by the caller.
 */
#define _POSIX_C_SOURCE 200809L /* fdopen, fork */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mmusim.h"

/* A FILE * reading the bytes of s (a temporary file: fmemopen is POSIX too, but a real fd is what the CLI gets). */
static FILE *file_of(const void *s, size_t n)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    rewind(f);
    return f;
}

static FILE *text(const char *s)
{
    return file_of(s, strlen(s));
}

/* Read everything; returns the status of the last read, *count the records. */
static int read_all(mmusim_trace_reader *r, struct mmusim_trace_rec *out, size_t max, size_t *count)
{
    size_t n = 0, total = 0;
    int rc;
    while ((rc = mmusim_trace_read(r, out ? out + total : NULL, out ? max - total : 0, &n)) == MMUSIM_OK && n > 0)
        total += n;
    if (!out) { /* counting only: small reads */
        struct mmusim_trace_rec buf[7];
        while ((rc = mmusim_trace_read(r, buf, 7, &n)) == MMUSIM_OK && n > 0)
            total += n;
    }
    *count = total;
    return rc;
}

/* ---- lackey ---- */

static void test_lackey_good(void **state)
{
    (void)state;
    const char *t = "==1234== Lackey, an example Valgrind tool\n"
                    "==1234== Command: ./prog\n"
                    "==1234== \n"
                    "I  0401b5c0,2\n"
                    " S feeb1860,4\n"
                    "\n"
                    " L 0804A00c,8\n"
                    " M 00000010,1\n"
                    "--1234-- a valgrind message\n"
                    "**1234** another\n"
                    "I  ffffffff,15\n"
                    " L 1000,4096"; /* the last line has no newline */
    FILE *f = text(t);
    mmusim_trace_reader *r;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_AUTO, &r), MMUSIM_OK);
    assert_int_equal(mmusim_trace_format_of(r), MMUSIM_TRACE_LACKEY);
    struct mmusim_trace_rec recs[16];
    size_t n;
    assert_int_equal(read_all(r, recs, 16, &n), MMUSIM_OK);
    assert_int_equal(n, 6);
    assert_int_equal(recs[0].kind, MMUSIM_TRACE_I);
    assert_int_equal(recs[0].va, 0x0401b5c0u);
    assert_int_equal(recs[0].size, 2);
    assert_int_equal(recs[1].kind, MMUSIM_TRACE_S);
    assert_int_equal(recs[1].va, 0xfeeb1860u);
    assert_int_equal(recs[2].kind, MMUSIM_TRACE_L);
    assert_int_equal(recs[2].va, 0x0804a00cu); /* upper-case hex too */
    assert_int_equal(recs[2].size, 8);
    assert_int_equal(recs[3].kind, MMUSIM_TRACE_M);
    assert_int_equal(recs[4].va, 0xffffffffu);
    assert_int_equal(recs[4].size, 15);
    assert_int_equal(recs[5].size, 4096);
    assert_int_equal(mmusim_trace_lines(r), 12);
    uint64_t line = 99;
    assert_string_equal(mmusim_trace_error(r, &line), "");
    mmusim_trace_close(r);
    fclose(f);
}

struct bad_case {
    const char *text;
    uint64_t line;
    const char *why;
};

static void test_lackey_malformed(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"I  1000,4\nhello\n", 2, "not a lackey line"},
        {"I  1000,4\n X 1000,4\n", 2, "not a lackey line"},
        {"I 1000,4\n", 1, "not a lackey line"},             /* one space after I */
        {"==1== x\n L ,4\n", 2, "bad address"},
        {" L 00000000000000001000,4\n", 1, "bad address"},   /* 20 digits */
        {" L 1ffefffd40,4\n", 1, "address beyond 32 bits (a 64-bit program's trace)"},
        {" L 1000 4\n", 1, "missing comma"},
        {" L 10g0,4\n", 1, "missing comma"},
        {" S 1000,\n", 1, "bad size"},
        {" S 1000,0\n", 1, "bad size"},
        {" S 1000,4097\n", 1, "bad size"},
        {" S 1000,123456\n", 1, "bad size"},
        {"\n\n\n M 1000,4 \n", 4, "trailing characters"},
        {" M 1000,4x\n", 1, "trailing characters"},
        {" M 1000,4\r\n", 1, "trailing characters"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        FILE *f = text(cases[c].text);
        mmusim_trace_reader *r;
        assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_LACKEY, &r), MMUSIM_OK);
        struct mmusim_trace_rec recs[4];
        size_t n;
        int rc = read_all(r, recs, 4, &n);
        assert_int_equal(rc, MMUSIM_ETRACE);
        uint64_t line = 0;
        const char *why = mmusim_trace_error(r, &line);
        if (line != cases[c].line || strcmp(why, cases[c].why) != 0)
            fail_msg("case %zu '%s': line %llu '%s', expected %llu '%s'", c, cases[c].text,
                     (unsigned long long)line, why, (unsigned long long)cases[c].line, cases[c].why);
        /* The error stays. */
        assert_int_equal(mmusim_trace_read(r, recs, 4, &n), MMUSIM_ETRACE);
        assert_int_equal(n, 0);
        mmusim_trace_close(r);
        fclose(f);
    }
}

/* A line longer than the reader's buffer (1 MiB) is refused, not grown into. */
static void test_lackey_line_too_long(void **state)
{
    (void)state;
    size_t n = (1u << 20) + 100;
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, "I  1000,4\n==", 12);
    memset(s + 12, 'x', n - 12);
    s[n] = '\0';
    FILE *f = file_of(s, n);
    free(s);
    mmusim_trace_reader *r;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_LACKEY, &r), MMUSIM_OK);
    size_t count;
    assert_int_equal(read_all(r, NULL, 0, &count), MMUSIM_ETRACE);
    assert_int_equal(count, 1);
    uint64_t line;
    assert_string_equal(mmusim_trace_error(r, &line), "line too long");
    assert_int_equal(line, 2);
    mmusim_trace_close(r);
    fclose(f);
}

/*
 * Standard input is a pipe: a child writes 3 MiB of lines (more than the
 * reader's buffer) in small writes; the reader gets every record.
 */
static void test_lackey_pipe(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const unsigned lines = 200000; /* "I  0804xxxx,3\n": 15 bytes each */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        FILE *w = fdopen(fds[1], "w");
        setvbuf(w, NULL, _IOLBF, 0);
        fputs("==7== Lackey\n", w);
        for (unsigned i = 0; i < lines; i++)
            fprintf(w, i % 2 ? " L %08x,4\n" : "I  %08x,3\n", 0x08048000u + i * 3u);
        fclose(w);
        _exit(0);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    assert_non_null(f);
    mmusim_trace_reader *r;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_AUTO, &r), MMUSIM_OK);
    struct mmusim_trace_rec buf[1000];
    size_t n, total = 0;
    int rc, ok = 1;
    while ((rc = mmusim_trace_read(r, buf, 1000, &n)) == MMUSIM_OK && n > 0) {
        for (size_t k = 0; k < n; k++)
            ok &= buf[k].va == 0x08048000u + (uint32_t)(total + k) * 3u;
        total += n;
    }
    assert_int_equal(rc, MMUSIM_OK);
    assert_true(ok);
    assert_int_equal(total, lines);
    mmusim_trace_close(r);
    fclose(f);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* ---- binary ---- */

static uint64_t rs = 42;
static uint32_t rnd32(void)
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rs >> 32);
}

static void test_binary_roundtrip(void **state)
{
    (void)state;
    enum { N = 300000 };
    struct mmusim_trace_rec *in = malloc(N * sizeof *in), *out = malloc(N * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    uint32_t ip = 0x08048000u;
    for (unsigned i = 0; i < N; i++) {
        uint32_t r = rnd32();
        in[i].kind = (uint8_t)(r % 4);
        in[i].pad_ = 0;
        if (in[i].kind == MMUSIM_TRACE_I) {
            in[i].size = (uint16_t)(1 + (r >> 8) % 15);
            if ((r >> 12) % 8 == 0)
                ip = rnd32(); /* a jump anywhere */
            in[i].va = ip;
            ip += in[i].size;
        } else {
            in[i].size = (r >> 8) % 16 == 0 ? (uint16_t)(1 + (r >> 12) % MMUSIM_TRACE_MAX_SIZE) : 4;
            in[i].va = (r >> 20) % 2 ? rnd32() : 0xbfff0000u + (r >> 16) % 64;
        }
    }
    FILE *f = tmpfile();
    mmusim_trace_writer *w;
    assert_int_equal(mmusim_trace_writer_open(f, &w), MMUSIM_OK);
    assert_int_equal(mmusim_trace_write(w, in, N / 2), MMUSIM_OK);
    assert_int_equal(mmusim_trace_write(w, in + N / 2, N - N / 2), MMUSIM_OK);
    assert_int_equal(mmusim_trace_writer_close(w), MMUSIM_OK);
    long bytes = ftell(f);
    assert_true(bytes < 16 + 7L * N); /* a few bytes a record */
    rewind(f);
    mmusim_trace_reader *r;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_AUTO, &r), MMUSIM_OK);
    assert_int_equal(mmusim_trace_format_of(r), MMUSIM_TRACE_BINARY);
    size_t n;
    assert_int_equal(read_all(r, out, N, &n), MMUSIM_OK);
    assert_int_equal(n, N);
    assert_memory_equal(in, out, N * sizeof *in);
    assert_int_equal(mmusim_trace_lines(r), N);
    mmusim_trace_close(r);
    fclose(f);
    free(in);
    free(out);
}

/* The binary header: magic, version 1 (little-endian u16), header size 16, flags 0. */
static const unsigned char good_header[16] = {'M', 'M', 'U', 'S', 'I', 'M', 'T', 'R', 1, 0, 16, 0, 0, 0, 0, 0};

static void expect_open(const unsigned char *b, size_t n, enum mmusim_trace_format fmt, int want)
{
    FILE *f = file_of(b, n);
    mmusim_trace_reader *r = NULL;
    assert_int_equal(mmusim_trace_open(f, fmt, &r), want);
    if (want == MMUSIM_OK)
        mmusim_trace_close(r);
    else
        assert_null(r);
    fclose(f);
}

static void expect_read(const unsigned char *b, size_t n, size_t records, const char *why, uint64_t at)
{
    FILE *f = file_of(b, n);
    mmusim_trace_reader *r;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_BINARY, &r), MMUSIM_OK);
    size_t count;
    assert_int_equal(read_all(r, NULL, 0, &count), why ? MMUSIM_ETRACE : MMUSIM_OK);
    assert_int_equal(count, records);
    uint64_t line = 0;
    assert_string_equal(mmusim_trace_error(r, &line), why ? why : "");
    if (why)
        assert_int_equal(line, at);
    mmusim_trace_close(r);
    fclose(f);
}

static void test_binary_bad(void **state)
{
    (void)state;
    unsigned char b[64];
    memcpy(b, good_header, 16);
    /* bad magic, forced binary: refused; AUTO reads it as (bad) lackey text */
    b[0] = 'X';
    expect_open(b, 16, MMUSIM_TRACE_BINARY, MMUSIM_ETRACE);
    expect_open(b, 16, MMUSIM_TRACE_AUTO, MMUSIM_OK);
    b[0] = 'M';
    b[8] = 2; /* unknown version */
    expect_open(b, 16, MMUSIM_TRACE_BINARY, MMUSIM_ETRACEVER);
    expect_open(b, 16, MMUSIM_TRACE_AUTO, MMUSIM_ETRACEVER);
    b[8] = 1;
    b[12] = 1; /* an unknown flag */
    expect_open(b, 16, MMUSIM_TRACE_BINARY, MMUSIM_ETRACE);
    b[12] = 0;
    expect_open(b, 12, MMUSIM_TRACE_BINARY, MMUSIM_ETRACE); /* truncated header */
    expect_open(b, 0, MMUSIM_TRACE_BINARY, MMUSIM_ETRACE);  /* empty */
    expect_open(b, 16, MMUSIM_TRACE_BINARY, MMUSIM_OK);
    /* records: I of 3 bytes at the predicted 0 (tag 0x40|3<<2|0), L 4 bytes at +8 (zigzag 16) */
    b[16] = 0x40 | (3 << 2) | 0;
    b[17] = (4 << 2) | 1;
    b[18] = 16;
    b[19] = 0x80; /* end mark, count 2 */
    b[20] = 2;
    expect_read(b, 21, 2, NULL, 0);
    expect_read(b, 19, 2, "truncated (no end mark)", 3); /* cut before the end mark */
    expect_read(b, 18, 1, "truncated (no end mark)", 2); /* cut inside a record */
    b[20] = 3;
    expect_read(b, 21, 2, "end mark disagrees with the record count", 3);
    b[20] = 2;
    b[17] = 0xc1; /* bit 7 with other bits: no such tag */
    expect_read(b, 21, 1, "bad record tag", 2);
    b[17] = 1; /* size from a varint: 0 */
    b[18] = 0;
    expect_read(b, 21, 1, "bad size", 2);
    b[18] = 0x81; /* 4097 */
    b[19] = 0x20;
    expect_read(b, 21, 1, "bad size", 2);
}

/* A writer to a stream that cannot be written (/dev/full) reports it at close. */
static void test_binary_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        skip();
    mmusim_trace_writer *w;
    struct mmusim_trace_rec rec = {0x1000, 4, MMUSIM_TRACE_S, 0};
    int rc = mmusim_trace_writer_open(f, &w);
    if (rc == MMUSIM_OK) { /* the header may sit in stdio's buffer */
        for (int i = 0; i < 100000 && rc == MMUSIM_OK; i++)
            rc = mmusim_trace_write(w, &rec, 1);
        int rc2 = mmusim_trace_writer_close(w);
        assert_int_equal(rc == MMUSIM_OK ? rc2 : rc, MMUSIM_ETRACEIO);
    } else {
        assert_int_equal(rc, MMUSIM_ETRACEIO);
    }
    fclose(f);
}

/* ---- replay ---- */

static mmusim_machine *machine(const char *split)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "1"), MMUSIM_OK);
    if (split)
        assert_int_equal(mmusim_split_from_name(split, &cfg.split), MMUSIM_OK);
    mmusim_machine *m;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_OK);
    return m;
}

static struct mmusim_trace_rec R(unsigned kind, uint32_t va, unsigned size)
{
    struct mmusim_trace_rec r = {va, (uint16_t)size, (uint8_t)kind, 0};
    return r;
}

static void test_replay_demand(void **state)
{
    (void)state;
    mmusim_machine *m = machine(NULL);
    mmusim_cpu *c = mmusim_machine_cpu(m, 0);
    const struct mmusim_costs *costs = &mmusim_machine_config(m)->costs;
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    uint64_t free0 = mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM);
    struct mmusim_trace_rec t[] = {
        R(MMUSIM_TRACE_I, 0x08048000u, 4), /* fault (fetch), then runs */
        R(MMUSIM_TRACE_I, 0x08048004u, 4), /* hit */
        R(MMUSIM_TRACE_L, 0x0804a000u, 4), /* fault */
        R(MMUSIM_TRACE_M, 0x0804a010u, 4), /* load and store, no fault */
        R(MMUSIM_TRACE_S, 0x0804bffeu, 4), /* straddles b and c: c faults... b too: 2 faults */
        R(MMUSIM_TRACE_L, 0xfeeb1860u, 4), /* above PAGE_OFFSET 0xc0000000: moved to 0xbeeb1860, a fault */
        R(MMUSIM_TRACE_M, 0xfeeb1864u, 4), /* moved too: 2 accesses */
    };
    assert_int_equal(mmusim_replay_run(r, t, sizeof t / sizeof t[0]), MMUSIM_OK);
    struct mmusim_replay_stats s;
    mmusim_replay_stats(r, &s);
    assert_int_equal(s.records[MMUSIM_TRACE_I], 2);
    assert_int_equal(s.records[MMUSIM_TRACE_L], 2);
    assert_int_equal(s.records[MMUSIM_TRACE_S], 1);
    assert_int_equal(s.records[MMUSIM_TRACE_M], 2);
    assert_int_equal(s.accesses, 9);
    assert_int_equal(s.faults, 5);
    assert_int_equal(s.faults_exec, 1);
    assert_int_equal(s.split, 1);
    assert_int_equal(s.relocated, 3);
    assert_int_equal(s.unrelocatable, 0);
    assert_int_equal(s.violations, 0);
    assert_int_equal(free0 - mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM), 5);
    struct mmusim_cpu_stats cs;
    mmusim_cpu_stats(c, &cs);
    assert_int_equal(cs.minor_faults, 5);
    assert_int_equal(cs.minor_fault_cycles, 5ull * costs->page_fault);
    assert_int_equal(cs.faults_not_present, 5);
    assert_int_equal(cs.accesses, 9 + 5); /* each faulting access ran twice */
    /* The clock holds the walks, the faults and the CR3 write of the first run. */
    assert_int_equal(mmusim_cpu_cycles(c), s.cycles);
    /* The relocated page is mapped where the offset (4 GiB - 0xc0000000) puts it. */
    struct mmusim_pte_info pi;
    assert_int_equal(mmusim_pt_get(m, mmusim_replay_cr3(r), 0xbeeb1000u, &pi), MMUSIM_OK);
    assert_true(pi.present);
    mmusim_replay_destroy(r);
    /* Everything given back: the frames and the address space. */
    assert_int_equal(mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM), free0);
    struct mmusim_cpu_regs regs;
    mmusim_cpu_regs(c, &regs);
    assert_int_equal(regs.cr3, mmusim_kernel_cr3(m));
    mmusim_machine_destroy(m);
}

/* ---- mmusim_replay_read against mmusim_trace_read + mmusim_replay_run ---- */

struct outcome {
    struct mmusim_replay_stats st;
    struct mmusim_cpu_stats cs;
    struct mmusim_tlb_stats tlb[MMUSIM_TLB_COUNT_];
    uint64_t cycles, nviol, records;
    struct mmusim_replay_violation viol[8];
    int rc;
};

static mmusim_machine *machine_preset(const char *preset, const char *split)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "1"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "preset", preset), MMUSIM_OK);
    if (split)
        assert_int_equal(mmusim_split_from_name(split, &cfg.split), MMUSIM_OK);
    mmusim_machine *m;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_OK);
    return m;
}

/* Replay the trace in bytes [0, n) one way: by arrays (max 0) or mmusim_replay_read with max. */
static void replay_way(const void *bytes, size_t len, const char *preset, const char *split, int populated,
                       size_t max, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    mmusim_machine *m = machine_preset(preset, split);
    struct mmusim_replay_opts opts;
    mmusim_replay_opts_init(&opts);
    if (populated) { /* a read-only page: stores to it are violations */
        uint64_t cr3, pfn;
        assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
        assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
        assert_int_equal(mmusim_pt_map(m, cr3, 0x0804a000u, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_US), MMUSIM_OK);
        opts.cr3 = cr3;
    }
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &opts, &r), MMUSIM_OK);
    FILE *f = file_of(bytes, len);
    mmusim_trace_reader *rd;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_AUTO, &rd), MMUSIM_OK);
    static struct mmusim_trace_rec buf[4096];
    size_t n;
    int rc;
    for (;;) {
        if (max == 0) {
            rc = mmusim_trace_read(rd, buf, 4096, &n);
            if (rc == MMUSIM_OK && n > 0)
                rc = mmusim_replay_run(r, buf, n);
        } else {
            rc = mmusim_replay_read(r, rd, max, &n);
        }
        if (rc != MMUSIM_OK || n == 0)
            break;
        o->records += n;
    }
    o->rc = rc;
    mmusim_replay_stats(r, &o->st);
    mmusim_cpu *c = mmusim_machine_cpu(m, 0);
    mmusim_cpu_stats(c, &o->cs);
    for (unsigned t = 0; t < MMUSIM_TLB_COUNT_; t++)
        if (mmusim_cpu_tlb_stats(c, (enum mmusim_tlb_id)t, &o->tlb[t]) != MMUSIM_OK)
            memset(&o->tlb[t], 0, sizeof o->tlb[t]);
    o->cycles = mmusim_cpu_cycles(c);
    o->nviol = mmusim_replay_violations(r, o->viol, 8);
    mmusim_trace_close(rd);
    fclose(f);
    mmusim_replay_destroy(r);
    mmusim_machine_destroy(m);
}

static void expect_same_ways(const void *bytes, size_t len, const char *preset, const char *split, int populated)
{
    static const size_t maxes[] = {1, 7, 1000, 65536};
    struct outcome want, got;
    replay_way(bytes, len, preset, split, populated, 0, &want);
    for (size_t i = 0; i < sizeof maxes / sizeof maxes[0]; i++) {
        replay_way(bytes, len, preset, split, populated, maxes[i], &got);
        assert_int_equal(got.rc, want.rc);
        assert_int_equal(got.records, want.records);
        assert_memory_equal(&got.st, &want.st, sizeof want.st);
        assert_memory_equal(&got.cs, &want.cs, sizeof want.cs);
        assert_memory_equal(got.tlb, want.tlb, sizeof want.tlb);
        assert_int_equal(got.cycles, want.cycles);
        assert_int_equal(got.nviol, want.nviol);
        assert_memory_equal(got.viol, want.viol, sizeof want.viol);
    }
}

/*
 * Seeded traces (fetches through 24 pages, data over 80 with runs, far
 * jumps, sizes past 15 and straddles, the top of the address space),
 * binary and lackey, whole and cut short: mmusim_replay_read gives what
 * reading into an array and mmusim_replay_run give, on every preset.
 */
static void test_replay_read_equal(void **state)
{
    (void)state;
    enum { N = 60000 };
    struct mmusim_trace_rec *in = malloc(N * sizeof *in);
    char *lackey = malloc((size_t)N * 24 + 1);
    assert_non_null(in);
    assert_non_null(lackey);
    uint32_t ip = 0x08048000u, data = 0x0804a000u;
    size_t tl = 0;
    for (unsigned i = 0; i < N; i++) {
        uint32_t r = rnd32();
        if (r % 3 != 0) {
            in[i] = R(MMUSIM_TRACE_I, ip, 1 + r % 7);
            ip += in[i].size;
            if ((r >> 8) % 97 == 0)
                ip = 0x08048000u + (rnd32() % (24u * 4096u));
        } else {
            if ((r >> 4) % 64 == 3)
                data = 0x10000000u + (rnd32() % 4096u) * 4096u;
            else if ((r >> 4) % 61 == 5)
                data = 0xfee00000u + (rnd32() % 64u) * 64u; /* relocated, or not relocatable */
            else if ((r >> 4) % 8 == 0)
                data = 0x0804a000u + (rnd32() % 80u) * 4096u + (r & 0xffcu);
            else
                data += 4;
            unsigned size = (r >> 12) % 50 == 0 ? 1 + (r >> 16) % 300 : (r >> 10) % 4 ? 4u : 8u;
            in[i] = R(1 + (r >> 20) % 3, data, size);
        }
        tl += (size_t)sprintf(lackey + tl, in[i].kind == MMUSIM_TRACE_I ? "I  %08x,%u\n" : " %c %08x,%u\n",
                              in[i].kind == MMUSIM_TRACE_I ? (unsigned)in[i].va : (unsigned)"ILSM"[in[i].kind],
                              in[i].kind == MMUSIM_TRACE_I ? (unsigned)in[i].size : (unsigned)in[i].va,
                              (unsigned)in[i].size);
    }
    FILE *f = tmpfile();
    assert_non_null(f);
    mmusim_trace_writer *w;
    assert_int_equal(mmusim_trace_writer_open(f, &w), MMUSIM_OK);
    assert_int_equal(mmusim_trace_write(w, in, N), MMUSIM_OK);
    assert_int_equal(mmusim_trace_writer_close(w), MMUSIM_OK);
    long len = ftell(f);
    unsigned char *bin = malloc((size_t)len);
    assert_non_null(bin);
    rewind(f);
    assert_int_equal(fread(bin, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    static const char *const presets[] = {"core2", "p3", "atom", "haswell"};
    for (size_t p = 0; p < 4; p++) {
        expect_same_ways(bin, (size_t)len, presets[p], NULL, 0);
        expect_same_ways(lackey, tl, presets[p], NULL, 0);
    }
    expect_same_ways(bin, (size_t)len, "core2", "1G", 0);       /* unrelocatable references */
    expect_same_ways(bin, (size_t)len, "atom", NULL, 1);        /* violations */
    expect_same_ways(bin, (size_t)len / 2, "core2", NULL, 0);   /* truncated: no end mark */
    expect_same_ways(lackey, tl / 2 + 3, "core2", NULL, 0);     /* a broken line */
    free(bin);
    free(lackey);
    free(in);
}

/* Under VMSPLIT_1G the user part is 1 GiB: 0x50000000 cannot move down by 3 GiB. */
static void test_replay_unrelocatable(void **state)
{
    (void)state;
    mmusim_machine *m = machine("1G");
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    struct mmusim_trace_rec t[] = {R(MMUSIM_TRACE_L, 0x50000000u, 4), R(MMUSIM_TRACE_M, 0x60000000u, 4),
                                   R(MMUSIM_TRACE_L, 0xfeeb1860u, 4), R(MMUSIM_TRACE_L, 0x08048000u, 4)};
    assert_int_equal(mmusim_replay_run(r, t, 4), MMUSIM_OK);
    struct mmusim_replay_stats s;
    mmusim_replay_stats(r, &s);
    assert_int_equal(s.unrelocatable, 3);
    assert_int_equal(s.relocated, 1); /* 0xfeeb1860 - 0xc0000000 = 0x3eeb1860 */
    assert_int_equal(s.faults, 2);
    assert_int_equal(s.accesses, 2);
    mmusim_replay_destroy(r);
    mmusim_machine_destroy(m);
}

/*
 * The seam for a loader: an address space the caller populated. A store to
 * its read-only page is a violation (recorded, skipped), a fetch from its
 * page runs, an unmapped page demand-faults; the caller's pages stay.
 */
static void test_replay_populated(void **state)
{
    (void)state;
    mmusim_machine *m = machine(NULL);
    uint64_t cr3, pfn_text, pfn_data;
    assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn_text), MMUSIM_OK);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn_data), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x08048000u, pfn_text << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_US), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x0804a000u, pfn_data << 12, MMUSIM_PAGE_4K,
                                   MMUSIM_PTE_US | MMUSIM_PTE_RW),
                     MMUSIM_OK);
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    o.cr3 = cr3;
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    assert_int_equal(mmusim_replay_cr3(r), cr3);
    struct mmusim_trace_rec t[] = {
        R(MMUSIM_TRACE_I, 0x08048000u, 2), R(MMUSIM_TRACE_S, 0x08048100u, 4), /* text is read-only */
        R(MMUSIM_TRACE_M, 0x0804a000u, 4), R(MMUSIM_TRACE_L, 0x0804c000u, 4), /* unmapped: demand */
        R(MMUSIM_TRACE_M, 0x08048200u, 4),                                    /* load runs, store refused */
    };
    assert_int_equal(mmusim_replay_run(r, t, 5), MMUSIM_OK);
    struct mmusim_replay_stats s;
    mmusim_replay_stats(r, &s);
    assert_int_equal(s.violations, 2);
    assert_int_equal(s.faults, 1);
    assert_int_equal(s.accesses, 7); /* 8 accesses, the refused ones counted as run */
    struct mmusim_replay_violation v[4];
    assert_int_equal(mmusim_replay_violations(r, v, 4), 2);
    assert_int_equal(v[0].record, 1);
    assert_int_equal(v[0].va, 0x08048100u);
    assert_int_equal(v[0].kind, MMUSIM_TRACE_S);
    assert_int_equal(v[0].error_code, MMUSIM_PF_P | MMUSIM_PF_W | MMUSIM_PF_U);
    assert_int_equal(v[1].record, 4);
    assert_int_equal(v[1].kind, MMUSIM_TRACE_M);
    mmusim_replay_destroy(r);
    /* The caller's space and pages stay; the replay's demand page is the caller's now, in its tables. */
    struct mmusim_pte_info pi;
    assert_int_equal(mmusim_pt_get(m, cr3, 0x08048000u, &pi), MMUSIM_OK);
    assert_true(pi.present);
    assert_int_equal(mmusim_cpu_write_cr3(mmusim_machine_cpu(m, 0), mmusim_kernel_cr3(m), NULL), MMUSIM_OK);
    assert_int_equal(mmusim_pgd_destroy(m, cr3), MMUSIM_OK);
    mmusim_machine_destroy(m);
}

/* A bad trace stops reading, not the machine: the replay goes on with another trace. */
static void test_bad_trace_machine_usable(void **state)
{
    (void)state;
    mmusim_machine *m = machine(NULL);
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    FILE *f = text("I  08048000,4\n L 0804a000,4\n L zz\n L 0804b000,4\n");
    mmusim_trace_reader *rd;
    assert_int_equal(mmusim_trace_open(f, MMUSIM_TRACE_LACKEY, &rd), MMUSIM_OK);
    struct mmusim_trace_rec buf[8];
    size_t n;
    assert_int_equal(mmusim_trace_read(rd, buf, 8, &n), MMUSIM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mmusim_replay_run(r, buf, n), MMUSIM_OK);
    assert_int_equal(mmusim_trace_read(rd, buf, 8, &n), MMUSIM_ETRACE);
    mmusim_trace_close(rd);
    fclose(f);
    struct mmusim_trace_rec more = R(MMUSIM_TRACE_L, 0x0804a004u, 4);
    assert_int_equal(mmusim_replay_run(r, &more, 1), MMUSIM_OK);
    struct mmusim_replay_stats s;
    mmusim_replay_stats(r, &s);
    assert_int_equal(s.faults, 2);
    assert_int_equal(s.accesses, 3);
    mmusim_replay_destroy(r);
    mmusim_machine_destroy(m);
}

/* Demand paging out of frames: MMUSIM_ENOFRAME, the faults before it counted, everything given back. */
static void test_replay_out_of_frames(void **state)
{
    (void)state;
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", "1"), MMUSIM_OK);
    assert_int_equal(mmusim_config_set(&cfg, "mem", "16M"), MMUSIM_OK);
    mmusim_machine *m;
    assert_int_equal(mmusim_machine_create(&cfg, &m), MMUSIM_OK);
    uint64_t free_normal = mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL);
    uint64_t free_dma = mmusim_zone_free_frames(m, MMUSIM_ZONE_DMA);
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *r;
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    enum { PAGES = 5000 }; /* more than 16 MiB holds */
    static struct mmusim_trace_rec t[PAGES];
    for (unsigned i = 0; i < PAGES; i++)
        t[i] = R(MMUSIM_TRACE_S, 0x10000000u + i * 4096u, 4);
    assert_int_equal(mmusim_replay_run(r, t, PAGES), MMUSIM_ENOFRAME);
    struct mmusim_replay_stats s;
    mmusim_replay_stats(r, &s);
    assert_true(s.faults > 1000 && s.faults < PAGES);
    assert_int_equal(s.accesses, s.faults); /* every store before the failing one ran */
    mmusim_replay_destroy(r);
    assert_int_equal(mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL), free_normal);
    assert_int_equal(mmusim_zone_free_frames(m, MMUSIM_ZONE_DMA), free_dma);
    /* The machine is still usable: a new replay runs. */
    assert_int_equal(mmusim_replay_create(m, &o, &r), MMUSIM_OK);
    assert_int_equal(mmusim_replay_run(r, t, 10), MMUSIM_OK);
    mmusim_replay_destroy(r);
    mmusim_machine_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lackey_good),
        cmocka_unit_test(test_lackey_malformed),
        cmocka_unit_test(test_lackey_line_too_long),
        cmocka_unit_test(test_lackey_pipe),
        cmocka_unit_test(test_binary_roundtrip),
        cmocka_unit_test(test_binary_bad),
        cmocka_unit_test(test_binary_write_error),
        cmocka_unit_test(test_replay_demand),
        cmocka_unit_test(test_replay_unrelocatable),
        cmocka_unit_test(test_replay_populated),
        cmocka_unit_test(test_bad_trace_machine_usable),
        cmocka_unit_test(test_replay_out_of_frames),
        cmocka_unit_test(test_replay_read_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
