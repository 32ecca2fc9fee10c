/*
 * mmusim — the replay driver (include/mmusim/replay.h, docs/replay.md).
 *
 * Records run one by one through the batch call's path (a modify: a load
 * then a store, both user accesses), with its hit cache kept here for the
 * whole run (struct mmusim__hit_cache, src/cpu/hooks.h): a record on the
 * page its access last hit, inside that page, is a TLB hit whose effects
 * are counters; any other takes mmusim__cpu_access_uncached, the path of
 * mmusim_cpu_access. At a fault the driver plays the kernel: a not-present
 * fault on a user page gets a frame and a mapping (Linux's
 * do_anonymous_page, in effect), a protection fault is recorded and its
 * access skipped, and the run goes on. mmusim_replay_read decodes a binary
 * trace's records straight from the reader's buffer into that loop
 * (src/trace/trace_impl.h). The kernel's part goes through the public API,
 * so a loader that populates an address space (src/trace/elf.c) plugs in
 * by passing its CR3.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/hooks.h"
#include "internal.h"
#include "mmusim.h"
#include "mmusim/replay.h"
#include "trace/trace_impl.h"

/* A call whose failure leaves nothing to undo (cleanup): its status is dropped on purpose. */
static void ignore(int rc)
{
    (void)rc;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "records are read as little-endian words"
#endif

#define MAX_KEPT_VIOLATIONS 64u
#define RELOC_ALIGN (4u << 20) /* keeps the set index of up to 1024 sets of 4 KiB pages */

struct mmusim_replay {
    mmusim_machine *m;
    mmusim_cpu *cpu;
    uint64_t cr3;
    int owned;                /* the replay created cr3 */
    uint32_t task_size;       /* PAGE_OFFSET: the user part is [0, task_size) */
    uint32_t reloc;           /* 0: no relocation */
    struct mmusim_replay_stats st;
    uint64_t nviol;
    struct mmusim_replay_violation viol[MAX_KEPT_VIOLATIONS];
    uint64_t *frames;         /* frames taken by demand paging (freed with an owned space) */
    size_t nframes, capframes;
};

void mmusim_replay_opts_init(struct mmusim_replay_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->relocate = 1;
}

int mmusim_replay_create(mmusim_machine *m, const struct mmusim_replay_opts *o, mmusim_replay **out)
{
    if (!m || !o || !out || (o->reloc_offset % RELOC_ALIGN) != 0)
        return MMUSIM_EINVAL;
    mmusim_cpu *cpu = mmusim_machine_cpu(m, o->cpu);
    if (!cpu)
        return MMUSIM_ECPU;
    if (o->cr3) {
        struct mmusim_pte_info info;
        int rc = mmusim_pt_get(m, o->cr3, 0, &info); /* a cr3 the machine did not create is refused */
        if (rc != MMUSIM_OK && rc != MMUSIM_ENOTMAPPED)
            return rc;
        if (o->cr3 == mmusim_kernel_cr3(m))
            return MMUSIM_EINVAL; /* swapper_pg_dir has no user part to fill */
    }
    struct mmusim_replay *r = mmusim__calloc(1, sizeof *r);
    if (!r)
        return MMUSIM_ENOMEM;
    r->m = m;
    r->cpu = cpu;
    r->task_size = mmusim_machine_layout(m)->page_offset;
    r->reloc = !o->relocate ? 0 : o->reloc_offset ? o->reloc_offset : (uint32_t)(0x100000000ull - r->task_size);
    if (o->cr3) {
        r->cr3 = o->cr3;
    } else {
        int rc = mmusim_pgd_create(m, &r->cr3);
        if (rc != MMUSIM_OK) {
            mmusim__free(r);
            return rc;
        }
        r->owned = 1;
    }
    *out = r;
    return MMUSIM_OK;
}

/* ---- the kernel's part: faults ---- */

static int remember_frame(struct mmusim_replay *r, uint64_t pfn)
{
    if (r->nframes == r->capframes) {
        size_t cap = r->capframes ? 2 * r->capframes : 256;
        uint64_t *f = mmusim__realloc(r->frames, cap * sizeof *f);
        if (!f)
            return MMUSIM_ENOMEM;
        r->frames = f;
        r->capframes = cap;
    }
    r->frames[r->nframes++] = pfn;
    return MMUSIM_OK;
}

/* A frame for a user page: highmem first, as GFP_HIGHUSER asks, then the lower zones. */
static int take_frame(struct mmusim_replay *r, uint64_t *pfn)
{
    static const enum mmusim_zone order[] = {MMUSIM_ZONE_HIGHMEM, MMUSIM_ZONE_NORMAL, MMUSIM_ZONE_DMA};
    int rc = MMUSIM_ENOFRAME;
    for (size_t i = 0; i < sizeof order / sizeof order[0] && rc != MMUSIM_OK; i++)
        rc = mmusim_frame_alloc(r->m, order[i], pfn);
    return rc;
}

/* Demand paging: map the page of va read-write for the user, charge the fault. */
static int demand_map(struct mmusim_replay *r, uint32_t va, unsigned kind)
{
    uint64_t pfn;
    int rc = take_frame(r, &pfn);
    if (rc != MMUSIM_OK)
        return rc;
    if ((rc = remember_frame(r, pfn)) != MMUSIM_OK ||
        (rc = mmusim_pt_map(r->m, r->cr3, va & ~0xfffu, pfn << 12, MMUSIM_PAGE_4K,
                            MMUSIM_PTE_RW | MMUSIM_PTE_US)) != MMUSIM_OK) {
        if (r->nframes && r->frames[r->nframes - 1] == pfn)
            r->nframes--;
        ignore(mmusim_frame_free(r->m, pfn));
        return rc;
    }
    r->st.faults++;
    r->st.faults_exec += kind == MMUSIM_TRACE_I;
    (void)mmusim_cpu_minor_fault(r->cpu); /* in the clock, which run_refs totals */
    return MMUSIM_OK;
}

static void record_violation(struct mmusim_replay *r, uint64_t record, uint32_t va, uint32_t ec, unsigned kind)
{
    if (r->nviol < MAX_KEPT_VIOLATIONS) {
        struct mmusim_replay_violation *v = &r->viol[r->nviol];
        v->record = record;
        v->va = va;
        v->error_code = ec;
        v->kind = (uint8_t)kind;
    }
    r->nviol++;
    r->st.violations++;
}

/* ---- records to accesses ---- */

static const uint8_t acc_of[MMUSIM_TRACE_KIND_COUNT_] = {
    MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, MMUSIM_ACC_READ | MMUSIM_ACC_USER, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER,
    MMUSIM_ACC_READ | MMUSIM_ACC_USER};

/*
 * The running totals of one mmusim_replay_run, kept in locals and added to
 * r->st at the end: the hot loop then touches no memory but the records
 * and the cache.
 */
struct run_state {
    struct mmusim__hit_cache c;
    uint64_t per_kind[MMUSIM_TRACE_KIND_COUNT_];
    uint64_t accesses, split;
};

/*
 * One access of a record, the cache having not served it: the CPU's full
 * path, then the kernel's part for a fault it stops at (a demand fault
 * maps the page and the access runs again; a protection fault is recorded
 * and the access skipped). After a fault the cache is forgotten, as the
 * batch call starts afresh after each. The access is counted once, when it
 * completes or is skipped. access_faulted takes over at the first fault.
 */
MMUSIM_NOINLINE static int access_faulted(struct mmusim_replay *r, struct run_state *s, uint32_t va,
                                          unsigned access, unsigned size, unsigned kind, uint64_t record,
                                          struct mmusim_access *out)
{
    for (;;) {
        mmusim__hit_cache_flush(r->cpu, &s->c);
        mmusim__hit_cache_forget(&s->c);
        if (!(out->error_code & MMUSIM_PF_P) && out->cr2 < r->task_size) {
            int rc = demand_map(r, out->cr2, kind);
            if (rc == MMUSIM_OK)
                rc = mmusim__cpu_access_uncached(r->cpu, va, access, size, &s->c, out);
            if (rc != MMUSIM_OK)
                return rc;
            if (!out->fault) {
                s->accesses++;
                return MMUSIM_OK;
            }
            continue;
        }
        s->accesses++;
        record_violation(r, record, va, out->error_code, kind);
        return MMUSIM_OK;
    }
}

static inline __attribute__((always_inline)) int run_access(struct mmusim_replay *r, struct run_state *s,
                                                            uint32_t va, unsigned access, unsigned size,
                                                            unsigned kind, uint64_t record)
{
    struct mmusim_access out;
    int rc = mmusim__cpu_access_uncached(r->cpu, va, access, size, &s->c, &out);
    if (MMUSIM_LIKELY(rc == MMUSIM_OK && !out.fault)) {
        s->accesses++;
        return MMUSIM_OK;
    }
    if (rc != MMUSIM_OK)
        return rc;
    return access_faulted(r, s, va, access, size, kind, record, &out);
}

/* The cache's test for one access: a hit counted, or the full path. */
static inline int one_access(struct mmusim_replay *r, struct run_state *s, uint32_t va, unsigned access,
                             unsigned size, unsigned kind, uint64_t record)
{
    if (MMUSIM_LIKELY(s->c.ok_tag[access] == (va >> 12) + 1u)) {
        s->c.hits[access & 3u]++;
        s->accesses++;
        return MMUSIM_OK;
    }
    return run_access(r, s, va, access, size, kind, record);
}

/*
 * A record the hot loop does not take: one above the user part
 * (relocated, or skipped), or one that straddles a page, or a modify.
 */
MMUSIM_NOINLINE static int run_record(struct mmusim_replay *r, struct run_state *s, uint32_t va, unsigned size,
                                       unsigned kind, uint64_t record)
{
    unsigned n = 1u + (kind == MMUSIM_TRACE_M);
    if (va >= r->task_size && r->reloc) {
        if (va < r->reloc) { /* the offset would take it below 0 */
            r->st.unrelocatable += n;
            return MMUSIM_OK;
        }
        va -= r->reloc;
        r->st.relocated += n;
    }
    int straddles = (va & 0xfffu) + size > 4096u;
    s->split += n * (unsigned)straddles;
    int rc;
    if (straddles) {
        rc = run_access(r, s, va, acc_of[kind], size, kind, record);
        if (rc == MMUSIM_OK && kind == MMUSIM_TRACE_M)
            rc = run_access(r, s, va, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, size, kind, record);
        return rc;
    }
    rc = one_access(r, s, va, acc_of[kind], size, kind, record);
    if (rc == MMUSIM_OK && kind == MMUSIM_TRACE_M)
        rc = one_access(r, s, va, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, size, kind, record);
    return rc;
}

/*
 * A trace record and a reference have one layout (va, size, a byte, a pad
 * byte): a record is read as one 64-bit word.
 */
_Static_assert(sizeof(struct mmusim_trace_rec) == 8 && offsetof(struct mmusim_trace_rec, va) == 0 &&
                   offsetof(struct mmusim_trace_rec, size) == 4 && offsetof(struct mmusim_trace_rec, kind) == 6,
               "a record is read as one little-endian word");
#define KIND_SHIFT 48 /* the kind byte, read from a little-endian word */

/*
 * The hot case of a record: in the user part, inside one page, whose page
 * the cache holds for the record's access (both accesses of a modify: the
 * load's and the store's): TLB hits, whose only effects are counters. A
 * record's kind indexes hot_tag: the cache's tag for the fetch, the load,
 * the store, and for a modify the tag held for both the load and the
 * store. A tag at or above the user part's end is left out when the replay
 * relocates (such a record is moved down first, by run_record): so a
 * record whose page has its kind's hot tag is in the user part. Rebuilt
 * from the cache after every call that may change it (hot_sync).
 */
struct hot {
    uint32_t tag[MMUSIM_TRACE_KIND_COUNT_];
    uint32_t max_tag;                        /* the highest tag kept */
    uint32_t user_end;                       /* the user part's end: no relocation below it */
    uint64_t n[MMUSIM_TRACE_KIND_COUNT_];    /* hot records run, by kind, not yet counted anywhere */
};

static inline void hot_sync(struct hot *h, const struct run_state *s)
{
    uint32_t i = s->c.ok_tag[MMUSIM_ACC_EXEC | MMUSIM_ACC_USER], l = s->c.ok_tag[MMUSIM_ACC_READ | MMUSIM_ACC_USER],
             st = s->c.ok_tag[MMUSIM_ACC_WRITE | MMUSIM_ACC_USER];
    h->tag[MMUSIM_TRACE_I] = i <= h->max_tag ? i : 0;
    h->tag[MMUSIM_TRACE_L] = l <= h->max_tag ? l : 0;
    h->tag[MMUSIM_TRACE_S] = st <= h->max_tag ? st : 0;
    h->tag[MMUSIM_TRACE_M] = l == st && l <= h->max_tag ? l : 0;
}

static void hot_start(struct hot *h, const struct mmusim_replay *r, const struct run_state *s)
{
    memset(h, 0, sizeof *h);
    h->max_tag = r->reloc ? r->task_size >> 12 : UINT32_MAX; /* page < task_size / 4096 */
    h->user_end = r->task_size;
    hot_sync(h, s);
}

/* The hot records' counts into the run's. */
static void hot_done(struct run_state *s, const struct hot *h)
{
    for (unsigned k = 0; k < MMUSIM_TRACE_KIND_COUNT_; k++) {
        s->per_kind[k] += h->n[k];
        s->c.hits[acc_of[k] & 3u] += h->n[k];
        s->accesses += h->n[k];
    }
    s->c.hits[MMUSIM_ACC_WRITE] += h->n[MMUSIM_TRACE_M]; /* a modify's store */
    s->accesses += h->n[MMUSIM_TRACE_M];
}

/* One valid record: the hot case, or run_record. */
static inline __attribute__((always_inline)) int run_one(struct mmusim_replay *r, struct run_state *s, struct hot *h,
                                                         uint32_t va, unsigned size, unsigned kind, uint64_t record)
{
    if (MMUSIM_LIKELY(h->tag[kind] == (va >> 12) + 1u && (va & 0xfffu) + size <= 4096u)) {
        h->n[kind]++;
        return MMUSIM_OK;
    }
    s->per_kind[kind]++;
    int rc = run_record(r, s, va, size, kind, record);
    hot_sync(h, s);
    return rc;
}

/* Run recs[0..n), valid records, the first being record rec_base of the replay. */
static int run_records(struct mmusim_replay *r, struct run_state *s, const struct mmusim_trace_rec *recs, size_t n,
                       uint64_t rec_base)
{
    struct hot h;
    hot_start(&h, r, s);
    int rc = MMUSIM_OK;
    for (size_t j = 0; j < n; j++) {
        uint64_t w;
        memcpy(&w, &recs[j], sizeof w);
        rc = run_one(r, s, &h, (uint32_t)w, (unsigned)(w >> 32) & 0xffffu, (unsigned)(w >> KIND_SHIFT) & 0xffu,
                     rec_base + j);
        if (rc != MMUSIM_OK)
            break;
    }
    hot_done(s, &h);
    return rc;
}

/*
 * The size in a binary record's tag when the record can be decoded without
 * its varints' bounds (decode_fast in src/trace/trace.c): 1..15, else 0
 * (the end mark, or a size varint).
 */
#define FS4_(t) (((t) & 0x80u) ? 0u : ((t) >> 2) & 15u)
#define FS16_(t) FS4_(t), FS4_((t) + 1u), FS4_((t) + 2u), FS4_((t) + 3u), FS4_((t) + 4u), FS4_((t) + 5u), \
    FS4_((t) + 6u), FS4_((t) + 7u), FS4_((t) + 8u), FS4_((t) + 9u), FS4_((t) + 10u), FS4_((t) + 11u),         \
    FS4_((t) + 12u), FS4_((t) + 13u), FS4_((t) + 14u), FS4_((t) + 15u)
static const uint8_t fast_size[256] = {FS16_(0u),   FS16_(16u),  FS16_(32u),  FS16_(48u),  FS16_(64u),  FS16_(80u),
                                       FS16_(96u),  FS16_(112u), FS16_(128u), FS16_(144u), FS16_(160u), FS16_(176u),
                                       FS16_(192u), FS16_(208u), FS16_(224u), FS16_(240u)};
#undef FS16_
#undef FS4_

/* The size in the tag of a fetch at its predicted address (tag bits: TAG_SAME, size 1..15, kind I), else 0. */
#define SF4_(t) ((((t) & (TAG_END | TAG_SAME | 3u)) == (TAG_SAME | MMUSIM_TRACE_I)) ? ((t) >> 2) & 15u : 0u)
#define SF16_(t) SF4_(t), SF4_((t) + 1u), SF4_((t) + 2u), SF4_((t) + 3u), SF4_((t) + 4u), SF4_((t) + 5u), \
    SF4_((t) + 6u), SF4_((t) + 7u), SF4_((t) + 8u), SF4_((t) + 9u), SF4_((t) + 10u), SF4_((t) + 11u),         \
    SF4_((t) + 12u), SF4_((t) + 13u), SF4_((t) + 14u), SF4_((t) + 15u)
static const uint8_t same_fetch_size[256] = {
    SF16_(0u),   SF16_(16u),  SF16_(32u),  SF16_(48u),  SF16_(64u),  SF16_(80u),  SF16_(96u),  SF16_(112u),
    SF16_(128u), SF16_(144u), SF16_(160u), SF16_(176u), SF16_(192u), SF16_(208u), SF16_(224u), SF16_(240u)};
#undef SF16_
#undef SF4_

/*
 * A binary trace, decoded and run in one pass: while at least MAX_REC bytes
 * remain, a record with its size in the tag and its address predicted or a
 * difference of up to five varint bytes (32 bits) runs straight from the
 * buffer; anything else (a size varint, a varint beyond 32 bits, the end
 * mark, the last bytes before a refill) is read with
 * mmusim_trace_read, one record, and run the same way. *k counts the
 * records run.
 */
static int read_binary(struct mmusim_replay *r, struct run_state *s, struct mmusim_trace_reader *rd, size_t max,
                       size_t *kp, uint64_t rec_base)
{
    struct hot h;
    hot_start(&h, r, s);
    size_t k = 0;
    int rc = MMUSIM_OK;
    while (k < max) {
        const unsigned char *p = rd->buf + rd->pos, *end = rd->buf + rd->len;
        /* p <= safe: MAX_REC bytes left, and a record more before max
         * (every record takes a byte at least) */
        const unsigned char *safe = end - p >= (ptrdiff_t)MAX_REC ? end - MAX_REC : p;
        int room = end - p >= (ptrdiff_t)MAX_REC;
        if ((size_t)(safe - p) >= max - k)
            safe = p + (max - k - 1);
        uint32_t next_i = rd->next_i, prev_d = rd->prev_d;
        size_t k0 = k;
        while (room && p <= safe) {
            unsigned tag = p[0];
            /* The commonest records of all: fetches at the predicted
             * address (the next instruction) on the page the cache holds
             * for fetches. Once one is on that page, the next ones are as
             * long as they end by the page's end: a run of them costs a
             * table look-up, an add and two compares each. */
            if (same_fetch_size[tag] != 0 && h.tag[MMUSIM_TRACE_I] == (next_i >> 12) + 1u) {
                const uint64_t page_end = (uint64_t)(next_i & ~0xfffu) + 4096u;
                const unsigned char *p0 = p;
                unsigned z;
                while ((z = same_fetch_size[*p]) != 0 && next_i + (uint64_t)z <= page_end) {
                    next_i += z;
                    if (++p > safe)
                        break;
                }
                k += (size_t)(p - p0);
                h.n[MMUSIM_TRACE_I] += (uint64_t)(p - p0);
                if (p != p0)
                    continue;
            }
            unsigned size = fast_size[tag], kind = tag & 3u;
            if (MMUSIM_UNLIKELY(size == 0))
                break;
            uint32_t va;
            unsigned len = trace_fast_addr(p, kind == MMUSIM_TRACE_I ? next_i : prev_d, &va);
            if (len == 0)
                break; /* beyond 32 bits: mmusim_trace_read names the error */
            p += len;
            if (kind == MMUSIM_TRACE_I)
                next_i = va + size;
            else
                prev_d = va;
            k++;
            if (MMUSIM_LIKELY(h.tag[kind] == (va >> 12) + 1u && (va & 0xfffu) + size <= 4096u)) {
                h.n[kind]++;
                continue;
            }
            s->per_kind[kind]++;
            if (va < h.user_end && (va & 0xfffu) + size <= 4096u && kind != MMUSIM_TRACE_M)
                rc = run_access(r, s, va, acc_of[kind], size, kind, rec_base + k - 1); /* run_record's commonest case */
            else
                rc = run_record(r, s, va, size, kind, rec_base + k - 1);
            hot_sync(&h, s);
            if (rc != MMUSIM_OK)
                break;
        }
        rd->pos = (size_t)(p - rd->buf);
        rd->next_i = next_i;
        rd->prev_d = prev_d;
        rd->line += k - k0;
        if (rc != MMUSIM_OK || k == max)
            break;
        struct mmusim_trace_rec rec;
        size_t got;
        int rrc = mmusim_trace_read(rd, &rec, 1, &got);
        if (rrc != MMUSIM_OK) { /* kept by the reader: returned now if nothing ran, else by the next call */
            if (k == 0)
                rc = rrc;
            break;
        }
        if (got == 0)
            break; /* the end mark */
        k++;
        if ((rc = run_one(r, s, &h, rec.va, rec.size, rec.kind, rec_base + k - 1)) != MMUSIM_OK)
            break;
    }
    hot_done(s, &h);
    *kp = k;
    return rc;
}

/* A lackey trace: chunks of records through mmusim_trace_read, then run_records. */
#define READ_CHUNK 1024u
static int read_chunks(struct mmusim_replay *r, struct run_state *s, struct mmusim_trace_reader *rd, size_t max,
                       size_t *kp, uint64_t rec_base)
{
    struct mmusim_trace_rec recs[READ_CHUNK];
    size_t k = 0;
    int rc = MMUSIM_OK;
    while (k < max) {
        size_t got;
        int rrc = mmusim_trace_read(rd, recs, max - k < READ_CHUNK ? max - k : READ_CHUNK, &got);
        if (rrc != MMUSIM_OK) {
            if (k == 0)
                rc = rrc;
            break;
        }
        if (got == 0)
            break;
        rc = run_records(r, s, recs, got, rec_base + k);
        k += got;
        if (rc != MMUSIM_OK)
            break;
    }
    *kp = k;
    return rc;
}

/* Every record of a known kind and a size of 1 to 4096; one word each, branch-free, so it vectorises. */
static int records_valid(const struct mmusim_trace_rec *recs, size_t n)
{
    uint64_t bad = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t w;
        memcpy(&w, &recs[j], sizeof w);
        bad |= ((w - (1ull << 32)) & (0xfull << 44)) | (w & (0xfcull << KIND_SHIFT));
    }
    return bad == 0;
}

/* Load the replay's address space into its CPU if the CPU holds another (a counted, charged CR3 write). */
static int load_cr3(struct mmusim_replay *r)
{
    struct mmusim_cpu_regs regs;
    mmusim_cpu_regs(r->cpu, &regs);
    if (regs.cr3 != r->cr3) {
        uint64_t c = 0;
        int rc = mmusim_cpu_write_cr3(r->cpu, r->cr3, &c);
        if (rc != MMUSIM_OK)
            return rc;
        r->st.cycles += c;
    }
    return MMUSIM_OK;
}

static uint64_t records_run(const struct mmusim_replay *r)
{
    return r->st.records[0] + r->st.records[1] + r->st.records[2] + r->st.records[3];
}

static void run_start(struct mmusim_replay *r, struct run_state *s, uint64_t *c0)
{
    memset(s, 0, sizeof *s);
    mmusim__hit_cache_init(&s->c);
    *c0 = mmusim_cpu_cycles(r->cpu);
}

/* The run's counts into the CPU, its arrays and the replay's totals. */
static void run_finish(struct mmusim_replay *r, struct run_state *s, uint64_t c0)
{
    mmusim__hit_cache_flush(r->cpu, &s->c);
    for (unsigned t = 0; t < MMUSIM_TRACE_KIND_COUNT_; t++)
        r->st.records[t] += s->per_kind[t];
    r->st.accesses += s->accesses;
    r->st.split += s->split;
    r->st.cycles += mmusim_cpu_cycles(r->cpu) - c0; /* walks and the faults' page_fault */
}

int mmusim_replay_run(mmusim_replay *r, const struct mmusim_trace_rec *recs, size_t n)
{
    if (!r || (!recs && n))
        return MMUSIM_EINVAL;
    if (!records_valid(recs, n))
        return MMUSIM_EINVAL;
    int rc = load_cr3(r);
    if (rc != MMUSIM_OK)
        return rc;
    struct run_state s;
    uint64_t c0;
    run_start(r, &s, &c0);
    rc = run_records(r, &s, recs, n, records_run(r));
    run_finish(r, &s, c0);
    return rc;
}

int mmusim_replay_read(mmusim_replay *r, mmusim_trace_reader *rd, size_t max, size_t *n)
{
    if (!r || !rd || !n)
        return MMUSIM_EINVAL;
    *n = 0;
    if (rd->err != MMUSIM_OK)
        return rd->err;
    if (max == 0)
        return MMUSIM_OK;
    int rc = load_cr3(r);
    if (rc != MMUSIM_OK)
        return rc;
    struct run_state s;
    uint64_t c0;
    run_start(r, &s, &c0);
    if (rd->fmt == MMUSIM_TRACE_BINARY)
        rc = read_binary(r, &s, rd, max, n, records_run(r));
    else
        rc = read_chunks(r, &s, rd, max, n, records_run(r));
    run_finish(r, &s, c0);
    return rc;
}

void mmusim_replay_stats(const mmusim_replay *r, struct mmusim_replay_stats *out)
{
    if (r && out)
        *out = r->st;
}

uint64_t mmusim_replay_violations(const mmusim_replay *r, struct mmusim_replay_violation *buf, size_t max)
{
    if (!r)
        return 0;
    for (size_t i = 0; buf && i < max && i < r->nviol && i < MAX_KEPT_VIOLATIONS; i++)
        buf[i] = r->viol[i];
    return r->nviol;
}

uint64_t mmusim_replay_cr3(const mmusim_replay *r)
{
    return r ? r->cr3 : 0;
}

void mmusim_replay_destroy(mmusim_replay *r)
{
    if (!r)
        return;
    if (r->owned) {
        for (unsigned i = 0; i < mmusim_machine_ncpus(r->m); i++) {
            mmusim_cpu *c = mmusim_machine_cpu(r->m, i);
            struct mmusim_cpu_regs regs;
            mmusim_cpu_regs(c, &regs);
            if (regs.cr3 == r->cr3)
                ignore(mmusim_cpu_write_cr3(c, mmusim_kernel_cr3(r->m), NULL));
        }
        ignore(mmusim_pgd_destroy(r->m, r->cr3));
        for (size_t i = 0; i < r->nframes; i++)
            ignore(mmusim_frame_free(r->m, r->frames[i]));
    }
    mmusim__free(r->frames);
    mmusim__free(r);
}
