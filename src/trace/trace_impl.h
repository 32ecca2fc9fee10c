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

/*
 * The address of the binary record whose tag is at p, read with no bounds
 * check (MAX_REC bytes follow p): the predicted one under TAG_SAME, else
 * the prediction plus the zigzag varint difference that follows the tag
 * (up to five bytes, 32 bits, modulo 2^32). For a tag that holds its size.
 * Returns how many bytes tag and address take; 0 for a difference past 32
 * bits, left to mmusim_trace_read, which names the error. The reader's fast
 * loop (trace.c) and the replay's (replay.c) both decode with it.
 */
static inline unsigned trace_fast_addr(const unsigned char *p, uint32_t predicted, uint32_t *va)
{
    if (p[0] & TAG_SAME) {
        *va = predicted;
        return 1;
    }
    uint32_t z = p[1] & 0x7fu;
    unsigned n;
    if (!(p[1] & 0x80u)) {
        n = 2;
    } else if (!(p[2] & 0x80u)) {
        z |= (uint32_t)p[2] << 7;
        n = 3;
    } else if (!(p[3] & 0x80u)) {
        z |= (uint32_t)(p[2] & 0x7fu) << 7 | (uint32_t)p[3] << 14;
        n = 4;
    } else if (!(p[4] & 0x80u)) { /* a far jump */
        z |= (uint32_t)(p[2] & 0x7fu) << 7 | (uint32_t)(p[3] & 0x7fu) << 14 | (uint32_t)p[4] << 21;
        n = 5;
    } else if (p[5] < 0x10u) { /* 29 to 32 bits */
        z |= (uint32_t)(p[2] & 0x7fu) << 7 | (uint32_t)(p[3] & 0x7fu) << 14 | (uint32_t)(p[4] & 0x7fu) << 21 |
             (uint32_t)p[5] << 28;
        n = 6;
    } else {
        return 0;
    }
    *va = predicted + ((z >> 1) ^ (0u - (z & 1u))); /* zigzag */
    return n;
}

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
