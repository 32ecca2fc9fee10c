/*
 * mmusim — memory-reference traces: valgrind lackey's text and mmusim's own
 * compact binary format (docs/replay.md, "Formats").
 *
 * A reader streams records from a FILE * (a file, a pipe, standard input) in
 * constant memory: it reads large blocks and parses them in place. It never
 * closes the stream. A writer turns records into the binary format.
 */
#ifndef MMUSIM_TRACE_H
#define MMUSIM_TRACE_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of lackey's lines: I (fetch), L (load), S (store), M (modify: a load then a store). */
enum mmusim_trace_kind {
    MMUSIM_TRACE_I,
    MMUSIM_TRACE_L,
    MMUSIM_TRACE_S,
    MMUSIM_TRACE_M,
    MMUSIM_TRACE_KIND_COUNT_
};

/* One reference: size 1 to MMUSIM_TRACE_MAX_SIZE bytes at va. */
struct mmusim_trace_rec {
    uint32_t va;
    uint16_t size;
    uint8_t kind;  /* enum mmusim_trace_kind */
    uint8_t pad_;  /* 0 */
};
#define MMUSIM_TRACE_MAX_SIZE 4096u

enum mmusim_trace_format {
    MMUSIM_TRACE_AUTO,   /* binary if the stream starts with the binary magic, else lackey */
    MMUSIM_TRACE_LACKEY,
    MMUSIM_TRACE_BINARY,
    MMUSIM_TRACE_FORMAT_COUNT_
};

/* The binary format: magic, version (docs/replay.md). */
#define MMUSIM_TRACE_MAGIC "MMUSIMTR"
#define MMUSIM_TRACE_VERSION 1u

typedef struct mmusim_trace_reader mmusim_trace_reader;
typedef struct mmusim_trace_writer mmusim_trace_writer;

/*
 * Open a reader on f. A binary stream's header is checked here:
 * MMUSIM_ETRACE for a bad magic (format BINARY) or a short header,
 * MMUSIM_ETRACEVER for an unknown version, MMUSIM_ETRACEIO for a read
 * error; MMUSIM_EINVAL for a NULL argument or an unknown format.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_trace_open(FILE *f, enum mmusim_trace_format format,
                                                  mmusim_trace_reader **out);

/*
 * Up to max records into buf; *n is how many (0 at the end of the trace).
 * Lackey: lines "I  ADDR,SIZE", " L ADDR,SIZE", " S ADDR,SIZE", " M ADDR,SIZE"
 * (ADDR hexadecimal, at most 32 bits; SIZE decimal, 1 to 4096) are records;
 * empty lines and valgrind's own lines ("==PID==", "--PID--", "**PID**") are
 * skipped; any other line is MMUSIM_ETRACE. Binary: a bad record or a
 * stream that ends before its end mark is MMUSIM_ETRACE. The records before
 * a bad one come out first, with MMUSIM_OK; the next call returns the error,
 * and every later call returns it again. mmusim_trace_error says where.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_trace_read(mmusim_trace_reader *r, struct mmusim_trace_rec *buf, size_t max,
                                                  size_t *n);

/*
 * Why the reader stopped with an error ("bad address", "missing comma",
 * "truncated", ...; "" when there was none), and where: *line gets the
 * 1-based line of a lackey trace, or the 1-based record of a binary one
 * (line may be NULL). NULL for a NULL reader.
 */
MMUSIM_API const char *mmusim_trace_error(const mmusim_trace_reader *r, uint64_t *line);

/* The format being read (never AUTO); MMUSIM_TRACE_FORMAT_COUNT_ for NULL. */
MMUSIM_API enum mmusim_trace_format mmusim_trace_format_of(const mmusim_trace_reader *r);

/* Lines (lackey) or records (binary) read so far; 0 for NULL. */
MMUSIM_API uint64_t mmusim_trace_lines(const mmusim_trace_reader *r);

/* Free the reader (the stream stays open). NULL: nothing. */
MMUSIM_API void mmusim_trace_close(mmusim_trace_reader *r);

/* Open a writer on f: writes the binary header. MMUSIM_ETRACEIO if it cannot be written. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_trace_writer_open(FILE *f, mmusim_trace_writer **out);

/* Append n records. MMUSIM_EINVAL for a bad kind or size (nothing written), MMUSIM_ETRACEIO on a write error. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_trace_write(mmusim_trace_writer *w, const struct mmusim_trace_rec *recs,
                                                   size_t n);

/*
 * Write the end mark, flush, free the writer (the stream stays open).
 * MMUSIM_ETRACEIO if any write failed. NULL: MMUSIM_EINVAL.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_trace_writer_close(mmusim_trace_writer *w);

/* "I", "L", "S", "M"; NULL past the table. */
MMUSIM_API const char *mmusim_trace_kind_name(enum mmusim_trace_kind k);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_TRACE_H */
