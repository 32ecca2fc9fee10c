/*
 * mmusim — the replay driver (include/mmusim/replay.h, docs/replay.md).
 *
 * Records become mmusim_ref batches (a modify: a load then a store, both
 * user accesses) run by mmusim_cpu_access_batch, which stops at a fault;
 * the driver then plays the kernel: a not-present fault on a user page gets
 * a frame and a mapping (Linux's do_anonymous_page, in effect), a
 * protection fault is recorded and its access skipped, and the batch goes
 * on. Everything goes through the public API, so a loader that populates
 * an address space (src/trace/elf.c) plugs in by passing its CR3.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/hooks.h"
#include "internal.h"
#include "mmusim.h"
#include "mmusim/replay.h"

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
 * completes or is skipped.
 */
static int run_access(struct mmusim_replay *r, struct run_state *s, uint32_t va, unsigned access, unsigned size,
                      unsigned kind, uint64_t record)
{
    for (;;) {
        struct mmusim_access out;
        int rc = mmusim__cpu_access_uncached(r->cpu, va, access, size, &s->c, &out);
        if (rc != MMUSIM_OK)
            return rc;
        if (MMUSIM_LIKELY(!out.fault)) {
            s->accesses++;
            return MMUSIM_OK;
        }
        mmusim__hit_cache_flush(r->cpu, &s->c);
        mmusim__hit_cache_forget(&s->c);
        if (!(out.error_code & MMUSIM_PF_P) && out.cr2 < r->task_size) {
            rc = demand_map(r, out.cr2, kind);
            if (rc != MMUSIM_OK)
                return rc;
            continue;
        }
        s->accesses++;
        record_violation(r, record, va, out.error_code, kind);
        return MMUSIM_OK;
    }
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
 * Run recs[0..n), valid records. The hot loop takes a record in the user
 * part, inside one page, whose page the cache holds for its access (both
 * accesses of a modify: the load's and the store's): TLB hits, whose
 * effects are counters, totalled by kind in hot[] and added at the end.
 * Everything else goes to run_record.
 */
static int run_records(struct mmusim_replay *r, struct run_state *s, const struct mmusim_trace_rec *recs, size_t n,
                       uint64_t rec_base)
{
    const uint32_t task_size = r->task_size;
    uint64_t hot[MMUSIM_TRACE_KIND_COUNT_] = {0};
    int rc = MMUSIM_OK;
    for (size_t j = 0; j < n; j++) {
        uint64_t w;
        memcpy(&w, &recs[j], sizeof w);
        uint32_t va = (uint32_t)w, tag = (va >> 12) + 1u;
        unsigned size = (unsigned)(w >> 32) & 0xffffu, kind = (unsigned)(w >> KIND_SHIFT) & 0xffu;
        if (MMUSIM_LIKELY(s->c.ok_tag[acc_of[kind]] == tag && (va & 0xfffu) + size <= 4096u && va < task_size &&
                          (kind != MMUSIM_TRACE_M || s->c.ok_tag[MMUSIM_ACC_WRITE | MMUSIM_ACC_USER] == tag))) {
            hot[kind]++;
            continue;
        }
        s->per_kind[kind]++;
        if ((rc = run_record(r, s, va, size, kind, rec_base + j)) != MMUSIM_OK)
            break;
    }
    for (unsigned k = 0; k < MMUSIM_TRACE_KIND_COUNT_; k++) {
        s->per_kind[k] += hot[k];
        s->c.hits[acc_of[k] & 3u] += hot[k];
        s->accesses += hot[k];
    }
    s->c.hits[MMUSIM_ACC_WRITE] += hot[MMUSIM_TRACE_M]; /* a modify's store */
    s->accesses += hot[MMUSIM_TRACE_M];
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

int mmusim_replay_run(mmusim_replay *r, const struct mmusim_trace_rec *recs, size_t n)
{
    if (!r || (!recs && n))
        return MMUSIM_EINVAL;
    if (!records_valid(recs, n))
        return MMUSIM_EINVAL;
    struct mmusim_cpu_regs regs;
    mmusim_cpu_regs(r->cpu, &regs);
    if (regs.cr3 != r->cr3) {
        uint64_t c = 0;
        int rc = mmusim_cpu_write_cr3(r->cpu, r->cr3, &c);
        if (rc != MMUSIM_OK)
            return rc;
        r->st.cycles += c;
    }
    uint64_t done = r->st.records[0] + r->st.records[1] + r->st.records[2] + r->st.records[3];
    struct run_state s;
    memset(&s, 0, sizeof s);
    mmusim__hit_cache_init(&s.c);
    uint64_t c0 = mmusim_cpu_cycles(r->cpu);
    int rc = run_records(r, &s, recs, n, done);
    mmusim__hit_cache_flush(r->cpu, &s.c);
    for (unsigned t = 0; t < MMUSIM_TRACE_KIND_COUNT_; t++)
        r->st.records[t] += s.per_kind[t];
    r->st.accesses += s.accesses;
    r->st.split += s.split;
    r->st.cycles += mmusim_cpu_cycles(r->cpu) - c0; /* walks and the faults' page_fault */
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
