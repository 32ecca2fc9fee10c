/*
 * mmusim — the trace reader's state, private to the trace layer: the replay
 * driver (src/trace/replay.c) decodes a binary trace's common records in
 * place and runs them in the same pass (mmusim_replay_read), leaving every
 * other record, the refills and the errors to mmusim_trace_read.
 */
#ifndef MMUSIM_TRACE_IMPL_H
#define MMUSIM_TRACE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmusim/trace.h"

#define BUF_CAP (1u << 20) /* one read; also the longest lackey line accepted */
#define BUF_PAD 32u        /* zeroed bytes past the data: a decoder may look ahead */
#define MAX_REC 12u        /* longest binary record: tag, size varint (2), delta varint (5) */
#define HDR_SIZE 16u

/*
 * A binary record: a tag byte, then an optional size varint, then an
 * optional address varint. Tag bits 0-1 the kind; 2-5 the size 1..15, or 0
 * when a varint gives it; bit 6 set when the address is the predicted one
 * (a fetch: the byte after the previous fetch; a load, store or modify: the
 * previous data address), else a zigzag varint of the difference follows;
 * bit 7 is the end mark (tag 0x80 alone), followed by the record count as
 * a varint.
 */
#define TAG_SAME 0x40u
#define TAG_END 0x80u

struct mmusim_trace_reader {
    FILE *f;
    enum mmusim_trace_format fmt;
    unsigned char *buf;     /* BUF_CAP + BUF_PAD bytes; the BUF_PAD after len are zero */
    size_t pos, len, lim;   /* next byte, bytes held, end of the last complete line (lackey) */
    int eof;
    uint64_t line;          /* lines (lackey) or records (binary) consumed */
    int err;                /* sticky error, MMUSIM_OK while none */
    const char *why;
    uint64_t err_line;
    uint32_t next_i, prev_d; /* binary: predicted addresses */
    int ended;               /* binary: end mark seen */
};

#endif /* MMUSIM_TRACE_IMPL_H */
