/*
 * mmusim — trace readers (valgrind lackey's text, mmusim's binary format)
 * and the binary writer (include/mmusim/trace.h, docs/replay.md).
 *
 * Both readers work on one buffer of BUF_CAP bytes, refilled with fread:
 * constant memory, whatever the length of the trace, and no allocation per
 * line. The lackey parser handles only complete lines (up to the last
 * newline in the buffer), so its inner loop needs no bounds checks: every
 * field scan stops at the newline, which is not a hex or decimal digit.
 * Lackey's output format is that of valgrind's lackey/lk_main.c
 * (trace_instr: "I  %08lx,%lu", trace_load/store/modify: " L", " S", " M").
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mmusim/error.h"
#include "mmusim/trace.h"
#include "trace/trace_impl.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MMUSIM_BIG_ENDIAN_HOST_ 1 /* hex8 reads bytes as a little-endian word */
#else
#define MMUSIM_BIG_ENDIAN_HOST_ 0
#endif

/* ---- the buffer ---- */

/* Keep [pos, len), read more behind it. MMUSIM_ETRACEIO on a read error. */
static int refill(struct mmusim_trace_reader *r)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->lim = r->lim > r->pos ? r->lim - r->pos : 0;
        r->pos = 0;
    }
    while (!r->eof && r->len < BUF_CAP) {
        size_t got = fread(r->buf + r->len, 1, BUF_CAP - r->len, r->f);
        r->len += got;
        if (got == 0) {
            if (ferror(r->f))
                return MMUSIM_ETRACEIO;
            r->eof = 1;
        }
        if (got > 0)
            break; /* a pipe: parse what came */
    }
    memset(r->buf + r->len, 0, BUF_PAD);
    return MMUSIM_OK;
}

static int fail(struct mmusim_trace_reader *r, int code, const char *why, uint64_t line)
{
    r->err = code;
    r->why = why;
    r->err_line = line;
    return code;
}

/* ---- lackey ---- */

/* The value of a hex digit, or -1. */
static inline int hexval(unsigned char c)
{
    unsigned d = (unsigned)c - '0';
    if (d < 10u)
        return (int)d;
    d = ((unsigned)c | 0x20u) - 'a';
    return d < 6u ? (int)d + 10 : -1;
}

/* The byte after the newline that ends the line at p (one is there before lim). */
static const unsigned char *skip_line(const unsigned char *p, const unsigned char *lim)
{
    return (const unsigned char *)memchr(p, '\n', (size_t)(lim - p)) + 1;
}

/*
 * Eight hex digits at p (lackey prints "%08lx", so a 32-bit client's
 * addresses are exactly that), by whole-word arithmetic: every byte below
 * 0x80 and in '0'-'9' or (case-folded) 'a'-'f', then the nibbles packed.
 * 1 with *out set, 0 if they are not eight hex digits (the caller falls back
 * to the byte loop, which names the error).
 */
static inline int hex8(const unsigned char *p, uint32_t *out)
{
    uint64_t v;
    memcpy(&v, p, 8);
    if (MMUSIM_BIG_ENDIAN_HOST_ || (v & 0x8080808080808080ull))
        return 0;
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    /* byte in [lo, hi], all bytes < 0x80: no carry crosses a byte */
#define IN_RANGE_(x, lo, hi) (~((x) + ones * (127u - (hi))) & ((x) + ones * (128u - (lo))) & high)
    uint64_t folded = v | ones * 0x20u;
    uint64_t ok = IN_RANGE_(v, '0', '9') | IN_RANGE_(folded, 'a', 'f');
#undef IN_RANGE_
    if (ok != high)
        return 0;
    /* '0'-'9' -> 0-9; 'a'-'f' and 'A'-'F' (bit 6 set) -> low nibble + 9 */
    uint64_t nib = (v & ones * 0x0fu) + 9u * ((v >> 6) & ones);
    /* byte 0 is the most significant digit: pack pairs, then quads, then halves */
    nib = ((nib & 0x000f000f000f000full) << 4) | ((nib >> 8) & 0x000f000f000f000full);
    nib = ((nib & 0x000000ff000000ffull) << 8) | ((nib >> 16) & 0x000000ff000000ffull);
    nib = ((nib & 0x000000000000ffffull) << 16) | ((nib >> 32) & 0x000000000000ffffull);
    *out = (uint32_t)nib;
    return 1;
}

/*
 * Parse one record line at p (its kind's three characters already matched).
 * Returns the byte after its newline, or NULL with *why set.
 */
static const unsigned char *parse_ref(const unsigned char *p, struct mmusim_trace_rec *out, const char **why)
{
    uint64_t a = 0;
    int v, nd = 0;
    uint32_t a8;
    if (p[8] == ',' && hex8(p, &a8)) { /* the common case */
        unsigned s = (unsigned)p[9] - '0', d;
        const unsigned char *q = p + 10;
        if (s < 10u && s != 0) {
            while ((d = (unsigned)*q - '0') < 10u && q < p + 14) {
                s = s * 10u + d;
                q++;
            }
            if (*q == '\n' && s <= MMUSIM_TRACE_MAX_SIZE) {
                out->va = a8;
                out->size = (uint16_t)s;
                out->pad_ = 0;
                return q + 1;
            }
        }
    }
    while ((v = hexval(*p)) >= 0) {
        a = (a << 4) | (unsigned)v;
        p++;
        if (++nd > 16) {
            *why = "bad address";
            return NULL;
        }
    }
    if (nd == 0) {
        *why = "bad address";
        return NULL;
    }
    if (a > 0xffffffffull) {
        *why = "address beyond 32 bits (a 64-bit program's trace)";
        return NULL;
    }
    if (*p != ',') {
        *why = "missing comma";
        return NULL;
    }
    p++;
    unsigned s = 0;
    nd = 0;
    while ((unsigned)(*p - '0') < 10u) {
        s = s * 10u + (unsigned)(*p - '0');
        p++;
        if (++nd > 5) {
            *why = "bad size";
            return NULL;
        }
    }
    if (nd == 0 || s == 0 || s > MMUSIM_TRACE_MAX_SIZE) {
        *why = "bad size";
        return NULL;
    }
    if (*p != '\n') {
        *why = "trailing characters";
        return NULL;
    }
    out->va = (uint32_t)a;
    out->size = (uint16_t)s;
    out->pad_ = 0;
    return p + 1;
}

/* The end of the last complete line in [pos, len), or pos if there is none. */
static size_t last_line_end(const struct mmusim_trace_reader *r)
{
    size_t l = r->len;
    while (l > r->pos && r->buf[l - 1] != '\n')
        l--;
    return l;
}

/* Make [pos, lim) hold complete lines. 0: none left (end of trace, or an error in *rc). */
static int lackey_more(struct mmusim_trace_reader *r, int *rc)
{
    *rc = MMUSIM_OK;
    for (;;) {
        if (r->pos < r->lim)
            return 1;
        if ((r->lim = last_line_end(r)) > r->pos)
            return 1;
        if (r->eof) {
            if (r->pos < r->len) { /* a last line without a newline */
                r->buf[r->len++] = '\n';
                r->lim = r->len;
                return 1;
            }
            return 0;
        }
        if (r->len - r->pos >= BUF_CAP) {
            *rc = fail(r, MMUSIM_ETRACE, "line too long", r->line + 1);
            return 0;
        }
        if ((*rc = refill(r)) != MMUSIM_OK) {
            fail(r, *rc, "read error", r->line + 1);
            return 0;
        }
    }
}

static int lackey_read(struct mmusim_trace_reader *r, struct mmusim_trace_rec *buf, size_t max, size_t *n)
{
    size_t k = 0;
    int rc = MMUSIM_OK;
    while (k < max && lackey_more(r, &rc)) {
        const unsigned char *p = r->buf + r->pos, *lim = r->buf + r->lim;
        uint64_t line = r->line;
        while (p < lim && k < max) {
            unsigned char c0 = p[0];
            unsigned kind;
            line++;
            if (c0 == 'I' && p[1] == ' ' && p[2] == ' ') {
                kind = MMUSIM_TRACE_I;
            } else if (c0 == ' ' && (p[1] == 'L' || p[1] == 'S' || p[1] == 'M') && p[2] == ' ') {
                kind = p[1] == 'L' ? MMUSIM_TRACE_L : p[1] == 'S' ? MMUSIM_TRACE_S : MMUSIM_TRACE_M;
            } else if (c0 == '\n') {
                p++;
                continue;
            } else if ((c0 == '=' || c0 == '-' || c0 == '*') && p[1] == c0) {
                p = skip_line(p, lim); /* valgrind's own output */
                continue;
            } else {
                r->pos = (size_t)(p - r->buf);
                r->line = line - 1;
                *n = k;
                fail(r, MMUSIM_ETRACE, "not a lackey line", line);
                return k ? MMUSIM_OK : MMUSIM_ETRACE;
            }
            const char *why = NULL;
            const unsigned char *q = parse_ref(p + 3, &buf[k], &why);
            if (!q) {
                r->pos = (size_t)(p - r->buf);
                r->line = line - 1;
                *n = k;
                fail(r, MMUSIM_ETRACE, why, line);
                return k ? MMUSIM_OK : MMUSIM_ETRACE;
            }
            buf[k++].kind = (uint8_t)kind;
            p = q;
        }
        r->pos = (size_t)(p - r->buf);
        r->line = line;
    }
    *n = k;
    if (rc != MMUSIM_OK)
        return k ? MMUSIM_OK : rc;
    return MMUSIM_OK;
}

/* ---- binary (the format: trace/trace_impl.h) ---- */

/* LEB128 varint of at most 10 bytes from [*pp, end). 0 if it runs past end or is too long. */
static int get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
    const unsigned char *p = *pp;
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return 0;
        unsigned char b = *p++;
        x |= (uint64_t)(b & 0x7fu) << shift;
        if (!(b & 0x80u)) {
            *pp = p;
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* One record at *pp, not past end. 1 done, 0 needs more bytes, -1 bad (why set). */
static int decode_one(struct mmusim_trace_reader *r, const unsigned char **pp, const unsigned char *end,
                      struct mmusim_trace_rec *out, const char **why)
{
    const unsigned char *p = *pp;
    if (p >= end)
        return 0;
    unsigned tag = *p++;
    uint64_t v;
    if (tag & TAG_END) {
        if (tag != TAG_END) {
            *why = "bad record tag";
            return -1;
        }
        if (!get_varint(&p, end, &v))
            return 0;
        if (v != r->line) {
            *why = "end mark disagrees with the record count";
            return -1;
        }
        r->ended = 1;
        *pp = p;
        return 2;
    }
    unsigned kind = tag & 3u, size = (tag >> 2) & 15u;
    if (size == 0) {
        if (!get_varint(&p, end, &v))
            return 0;
        if (v == 0 || v > MMUSIM_TRACE_MAX_SIZE) {
            *why = "bad size";
            return -1;
        }
        size = (unsigned)v;
    }
    uint32_t va = kind == MMUSIM_TRACE_I ? r->next_i : r->prev_d;
    if (!(tag & TAG_SAME)) {
        if (!get_varint(&p, end, &v))
            return 0;
        if (v > 0xffffffffull) {
            *why = "bad address";
            return -1;
        }
        uint32_t z = (uint32_t)v;
        va += (z >> 1) ^ (0u - (z & 1u)); /* zigzag, modulo 2^32 */
    }
    if (kind == MMUSIM_TRACE_I)
        r->next_i = va + size;
    else
        r->prev_d = va;
    out->va = va;
    out->size = (uint16_t)size;
    out->kind = (uint8_t)kind;
    out->pad_ = 0;
    *pp = p;
    return 1;
}

/*
 * The common records, decoded with no bounds check while at least MAX_REC
 * bytes remain: the size in the tag, and the address predicted or a
 * difference of up to 32 bits (trace_fast_addr). Anything else goes to
 * decode_one. Returns the records decoded; *pp moves past them.
 */
static size_t decode_fast(struct mmusim_trace_reader *r, const unsigned char **pp, const unsigned char *end,
                          struct mmusim_trace_rec *buf, size_t max)
{
    const unsigned char *p = *pp;
    uint32_t next_i = r->next_i, prev_d = r->prev_d;
    size_t k = 0;
    while (k < max && end - p >= (ptrdiff_t)MAX_REC) {
        unsigned tag = p[0], size = (tag >> 2) & 15u, kind = tag & 3u;
        if ((tag & TAG_END) || size == 0)
            break;
        uint32_t va;
        unsigned len = trace_fast_addr(p, kind == MMUSIM_TRACE_I ? next_i : prev_d, &va);
        if (len == 0)
            break;
        p += len;
        if (kind == MMUSIM_TRACE_I)
            next_i = va + size;
        else
            prev_d = va;
        buf[k].va = va;
        buf[k].size = (uint16_t)size;
        buf[k].kind = (uint8_t)kind;
        buf[k].pad_ = 0;
        k++;
    }
    r->next_i = next_i;
    r->prev_d = prev_d;
    *pp = p;
    return k;
}

static int binary_read(struct mmusim_trace_reader *r, struct mmusim_trace_rec *buf, size_t max, size_t *n)
{
    size_t k = 0;
    while (k < max && !r->ended) {
        const unsigned char *p = r->buf + r->pos, *end = r->buf + r->len;
        const char *why = NULL;
        int got = 1;
        while (k < max) {
            size_t f = decode_fast(r, &p, end, buf + k, max - k);
            k += f;
            r->line += f;
            if (k == max || (got = decode_one(r, &p, end, &buf[k], &why)) != 1)
                break;
            k++;
            r->line++;
        }
        r->pos = (size_t)(p - r->buf);
        if (got == 2)
            break;
        if (got < 0) {
            fail(r, MMUSIM_ETRACE, why, r->line + 1);
            break;
        }
        if (got == 0) {
            if (r->eof) {
                fail(r, MMUSIM_ETRACE, "truncated (no end mark)", r->line + 1);
                break;
            }
            int rc = refill(r);
            if (rc != MMUSIM_OK) {
                fail(r, rc, "read error", r->line + 1);
                break;
            }
        }
    }
    *n = k;
    return k ? MMUSIM_OK : r->err;
}

/* ---- the reader ---- */

static int check_header(struct mmusim_trace_reader *r)
{
    const unsigned char *h = r->buf;
    if (r->len < HDR_SIZE)
        return fail(r, MMUSIM_ETRACE, "truncated header", 0);
    unsigned version = h[8] | (unsigned)h[9] << 8, hsize = h[10] | (unsigned)h[11] << 8;
    uint32_t flags = h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 | (uint32_t)h[15] << 24;
    if (version != MMUSIM_TRACE_VERSION)
        return fail(r, MMUSIM_ETRACEVER, "unknown version", 0);
    if (hsize != HDR_SIZE || flags != 0)
        return fail(r, MMUSIM_ETRACE, "bad header", 0);
    r->pos = HDR_SIZE;
    return MMUSIM_OK;
}

int mmusim_trace_open(FILE *f, enum mmusim_trace_format format, mmusim_trace_reader **out)
{
    if (!f || !out || (unsigned)format >= MMUSIM_TRACE_FORMAT_COUNT_)
        return MMUSIM_EINVAL;
    struct mmusim_trace_reader *r = mmusim__calloc(1, sizeof *r);
    if (!r)
        return MMUSIM_ENOMEM;
    r->buf = mmusim__malloc(BUF_CAP + BUF_PAD);
    if (!r->buf) {
        mmusim__free(r);
        return MMUSIM_ENOMEM;
    }
    r->f = f;
    r->why = "";
    int rc = MMUSIM_OK;
    /* Enough bytes to tell the formats apart: the header, unless the stream is shorter. */
    while (rc == MMUSIM_OK && !r->eof && r->len < HDR_SIZE)
        rc = refill(r);
    if (rc == MMUSIM_OK) {
        int magic = r->len >= 8 && memcmp(r->buf, MMUSIM_TRACE_MAGIC, 8) == 0;
        if (format == MMUSIM_TRACE_AUTO)
            format = magic ? MMUSIM_TRACE_BINARY : MMUSIM_TRACE_LACKEY;
        r->fmt = format;
        if (format == MMUSIM_TRACE_BINARY)
            rc = magic ? check_header(r) : MMUSIM_ETRACE;
    }
    if (rc != MMUSIM_OK) {
        mmusim__free(r->buf);
        mmusim__free(r);
        return rc;
    }
    *out = r;
    return MMUSIM_OK;
}

int mmusim_trace_read(mmusim_trace_reader *r, struct mmusim_trace_rec *buf, size_t max, size_t *n)
{
    if (!r || !n || (!buf && max))
        return MMUSIM_EINVAL;
    *n = 0;
    if (r->err != MMUSIM_OK)
        return r->err;
    if (max == 0)
        return MMUSIM_OK;
    return r->fmt == MMUSIM_TRACE_BINARY ? binary_read(r, buf, max, n) : lackey_read(r, buf, max, n);
}

const char *mmusim_trace_error(const mmusim_trace_reader *r, uint64_t *line)
{
    if (!r)
        return NULL;
    if (line)
        *line = r->err_line;
    return r->why;
}

enum mmusim_trace_format mmusim_trace_format_of(const mmusim_trace_reader *r)
{
    return r ? r->fmt : MMUSIM_TRACE_FORMAT_COUNT_;
}

uint64_t mmusim_trace_lines(const mmusim_trace_reader *r)
{
    return r ? r->line : 0;
}

void mmusim_trace_close(mmusim_trace_reader *r)
{
    if (!r)
        return;
    mmusim__free(r->buf);
    mmusim__free(r);
}

/* ---- the writer ---- */

#define WBUF_CAP (1u << 16)

struct mmusim_trace_writer {
    FILE *f;
    int err;
    uint64_t count;
    uint32_t next_i, prev_d;
    size_t len;
    unsigned char buf[WBUF_CAP];
};

static void wflush(struct mmusim_trace_writer *w)
{
    if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
        w->err = MMUSIM_ETRACEIO;
    w->len = 0;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80u) {
        *p++ = (unsigned char)(v | 0x80u);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

int mmusim_trace_writer_open(FILE *f, mmusim_trace_writer **out)
{
    if (!f || !out)
        return MMUSIM_EINVAL;
    struct mmusim_trace_writer *w = mmusim__calloc(1, sizeof *w);
    if (!w)
        return MMUSIM_ENOMEM;
    w->f = f;
    unsigned char *h = w->buf;
    memcpy(h, MMUSIM_TRACE_MAGIC, 8);
    h[8] = MMUSIM_TRACE_VERSION & 0xffu;
    h[9] = 0;
    h[10] = HDR_SIZE;
    h[11] = 0;
    memset(h + 12, 0, 4); /* flags: none defined */
    w->len = HDR_SIZE;
    wflush(w);
    if (w->err) {
        mmusim__free(w);
        return MMUSIM_ETRACEIO;
    }
    *out = w;
    return MMUSIM_OK;
}

int mmusim_trace_write(mmusim_trace_writer *w, const struct mmusim_trace_rec *recs, size_t n)
{
    if (!w || (!recs && n))
        return MMUSIM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (recs[i].kind >= MMUSIM_TRACE_KIND_COUNT_ || recs[i].size == 0 || recs[i].size > MMUSIM_TRACE_MAX_SIZE)
            return MMUSIM_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (w->len + MAX_REC > WBUF_CAP)
            wflush(w);
        const struct mmusim_trace_rec *r = &recs[i];
        unsigned char *p = w->buf + w->len, *tag = p++;
        unsigned t = r->kind;
        if (r->size < 16u)
            t |= (unsigned)r->size << 2;
        else
            p = put_varint(p, r->size);
        uint32_t pred = r->kind == MMUSIM_TRACE_I ? w->next_i : w->prev_d;
        if (r->va == pred) {
            t |= TAG_SAME;
        } else {
            int32_t d = (int32_t)(r->va - pred);
            p = put_varint(p, ((uint32_t)d << 1) ^ (uint32_t)(d >> 31));
        }
        *tag = (unsigned char)t;
        if (r->kind == MMUSIM_TRACE_I)
            w->next_i = r->va + r->size;
        else
            w->prev_d = r->va;
        w->len = (size_t)(p - w->buf);
    }
    w->count += n;
    return w->err;
}

int mmusim_trace_writer_close(mmusim_trace_writer *w)
{
    if (!w)
        return MMUSIM_EINVAL;
    if (w->len + MAX_REC > WBUF_CAP)
        wflush(w);
    unsigned char *p = w->buf + w->len;
    *p++ = TAG_END;
    p = put_varint(p, w->count);
    w->len = (size_t)(p - w->buf);
    wflush(w);
    if (fflush(w->f) != 0)
        w->err = MMUSIM_ETRACEIO;
    int rc = w->err;
    mmusim__free(w);
    return rc;
}

const char *mmusim_trace_kind_name(enum mmusim_trace_kind k)
{
    static const char *const names[] = {"I", "L", "S", "M"};
    return (unsigned)k < MMUSIM_TRACE_KIND_COUNT_ ? names[k] : NULL;
}
