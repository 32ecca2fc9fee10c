/*
 * libFuzzer target: the trace readers and the replay (include/mmusim/trace.h,
 * include/mmusim/replay.h; docs/replay.md).
 *
 * The first byte of the input picks the format the reader is opened with
 * (auto, lackey or binary) and the machine (2-level, or PAE with NX); the
 * rest is the stream, read through fmemopen. Then:
 *
 *  - the records read before any error are written with the binary writer
 *    and read back: the same records, in the same order, and a clean end;
 *  - a reader that stops with an error says why (a non-empty reason);
 *  - the records are replayed on a small machine, in an address space the
 *    replay makes and destroys: whatever the replay returns, every zone
 *    has its free frames back afterwards, and the machine still maps,
 *    accesses and flushes.
 *
 * A finding is a sanitizer report, a leak, a crash, or a broken invariant
 * (abort()). Seeds: fuzz/corpus/trace/.
 */
#define _POSIX_C_SOURCE 200809L /* fmemopen, open_memstream */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_machine.h"
#include "mmusim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECS 8192u   /* records kept per input: bounds the replay's time */
#define CHUNK 256u


/* Read every record of f (at most MAX_RECS kept) into recs; the reader's last status. */
static int read_all(FILE *f, enum mmusim_trace_format fmt, struct mmusim_trace_rec *recs, size_t *nrecs)
{
    mmusim_trace_reader *r;
    int rc = mmusim_trace_open(f, fmt, &r);
    *nrecs = 0;
    if (rc != MMUSIM_OK)
        return rc;
    struct mmusim_trace_rec buf[CHUNK];
    size_t n;
    while ((rc = mmusim_trace_read(r, buf, CHUNK, &n)) == MMUSIM_OK && n > 0) {
        size_t take = n < MAX_RECS - *nrecs ? n : MAX_RECS - *nrecs;
        memcpy(recs + *nrecs, buf, take * sizeof(*buf));
        *nrecs += take;
    }
    if (rc != MMUSIM_OK) {
        const char *why = mmusim_trace_error(r, NULL);
        if (!why || !*why)
            abort(); /* an error must say why */
    }
    mmusim_trace_close(r);
    return rc;
}

/* The binary writer and reader give the records back as they were. */
static void round_trip(const struct mmusim_trace_rec *recs, size_t n)
{
    char *bytes = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&bytes, &len);
    mmusim_trace_writer *tw;
    if (!w || mmusim_trace_writer_open(w, &tw) != MMUSIM_OK || mmusim_trace_write(tw, recs, n) != MMUSIM_OK ||
        mmusim_trace_writer_close(tw) != MMUSIM_OK || fclose(w) != 0)
        abort();
    FILE *rf = fmemopen(bytes, len, "rb");
    struct mmusim_trace_rec *back = malloc(MAX_RECS * sizeof(*back));
    size_t nback;
    if (!rf || !back || read_all(rf, MMUSIM_TRACE_BINARY, back, &nback) != MMUSIM_OK || nback != n ||
        (n && memcmp(back, recs, n * sizeof(*recs)) != 0))
        abort();
    fclose(rf);
    free(back);
    free(bytes);
}

/* Replay on a machine; its frames all back afterwards, and the machine still works. */
static void replay(mmusim_machine *m, const struct mmusim_trace_rec *recs, size_t n)
{
    uint64_t before = fuzz_free_frames(m);
    struct mmusim_replay_opts o;
    mmusim_replay_opts_init(&o);
    mmusim_replay *r;
    if (mmusim_replay_create(m, &o, &r) != MMUSIM_OK)
        abort();
    int rc = mmusim_replay_run(r, recs, n);
    if (rc != MMUSIM_OK && rc != MMUSIM_ENOFRAME)
        abort(); /* the records came from a reader: valid kinds and sizes */
    mmusim_replay_destroy(r);
    if (fuzz_free_frames(m) != before)
        abort();
    /* Still usable: a kernel access through the direct map, and a flush. */
    struct mmusim_access a;
    uint32_t word;
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    if (mmusim_cpu_access(cpu, mmusim_machine_layout(m)->page_offset, MMUSIM_ACC_READ, 4, &word, &a) != MMUSIM_OK ||
        a.fault)
        abort();
    (void)mmusim_flush_tlb_all(cpu);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (1u << 20))
        return -1;
    enum mmusim_trace_format fmt = (enum mmusim_trace_format)(data[0] % 3);
    int pae = (data[0] >> 2) & 1;
    /* fmemopen wants a writable buffer in older C libraries; a copy keeps the input intact. */
    char *stream = malloc(size - 1);
    if (!stream)
        return 0;
    memcpy(stream, data + 1, size - 1);
    FILE *f = fmemopen(stream, size - 1, "rb");
    struct mmusim_trace_rec *recs = malloc(MAX_RECS * sizeof(*recs));
    if (!f || !recs)
        abort();
    size_t n;
    (void)read_all(f, fmt, recs, &n);
    fclose(f);
    round_trip(recs, n);
    replay(fuzz_machine(pae), recs, n);
    free(recs);
    free(stream);
    return 0;
}
