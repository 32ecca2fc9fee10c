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

#if defined(__GNUC__)
#define MMUSIM_UNLIKELY_(x) __builtin_expect(!!(x), 0)
#else
#define MMUSIM_UNLIKELY_(x) (x)
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "build() writes references as little-endian words"
#endif

#define CHUNK 4096u           /* references built at a time */
#define WINDOW 256u           /* references per batch call */           /* references per batch */
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
    /* The batch being run: refs, and for each the record it came from. */
    struct mmusim_ref refs[CHUNK];
    uint32_t rec_of[CHUNK];
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

/* ---- records to references ---- */

static const uint8_t acc_of[MMUSIM_TRACE_KIND_COUNT_] = {
    MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, MMUSIM_ACC_READ | MMUSIM_ACC_USER, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER,
    MMUSIM_ACC_READ | MMUSIM_ACC_USER};

/*
 * Fill r->refs from recs[*i..n) until CHUNK references; *i moves past the
 * records taken (a modify takes two slots, or none). Returns the count.
 */
/*
 * A trace record and a reference have one layout (va, size, a byte, a pad
 * byte): a record becomes its reference by replacing the kind byte with the
 * access, one 64-bit word each. A modify becomes two references.
 */
_Static_assert(sizeof(struct mmusim_trace_rec) == 8 && sizeof(struct mmusim_ref) == 8 &&
                   offsetof(struct mmusim_trace_rec, kind) == offsetof(struct mmusim_ref, access) &&
                   offsetof(struct mmusim_trace_rec, size) == offsetof(struct mmusim_ref, size),
               "a record becomes a reference by its kind byte");
#define BYTE6 (0xffull << 48)
#define KIND_SHIFT 48 /* the kind byte, read from a little-endian word */

static size_t build(struct mmusim_replay *r, const struct mmusim_trace_rec *recs, size_t n, size_t *i)
{
    size_t k = 0, j = *i, first = j;
    uint64_t per_kind[MMUSIM_TRACE_KIND_COUNT_] = {0}, split = 0;
    const uint32_t task_size = r->task_size, reloc = r->reloc;
    for (; j < n && k + 2 <= CHUNK; j++) {
        const struct mmusim_trace_rec *rec = &recs[j];
        uint32_t va = rec->va;
        unsigned kind = rec->kind, size = rec->size;
        per_kind[kind]++;
        if (MMUSIM_UNLIKELY_(va >= task_size) && reloc) {
            if (va < reloc) { /* the offset would take it below 0 */
                r->st.unrelocatable += 1u + (kind == MMUSIM_TRACE_M);
                continue;
            }
            va -= reloc;
            r->st.relocated += 1u + (kind == MMUSIM_TRACE_M);
        }
        uint64_t w = (uint64_t)va | (uint64_t)size << 32 | (uint64_t)acc_of[kind] << KIND_SHIFT;
        memcpy(&r->refs[k], &w, sizeof w);
        r->rec_of[k++] = (uint32_t)(j - first);
        split += (va & 0xfffu) + size > 4096u;
        if (kind == MMUSIM_TRACE_M) {
            w = (w & ~BYTE6) | (uint64_t)(MMUSIM_ACC_WRITE | MMUSIM_ACC_USER) << KIND_SHIFT;
            memcpy(&r->refs[k], &w, sizeof w);
            r->rec_of[k++] = (uint32_t)(j - first);
            split += (va & 0xfffu) + size > 4096u;
        }
    }
    for (unsigned t = 0; t < MMUSIM_TRACE_KIND_COUNT_; t++)
        r->st.records[t] += per_kind[t];
    r->st.split += split;
    *i = j;
    return k;
}

/* Run r->refs[0..k): the batch, and the faults it stops at. */
static int run_refs(struct mmusim_replay *r, size_t k, const struct mmusim_trace_rec *recs, uint64_t rec_base)
{
    size_t at = 0;
    uint64_t c0 = mmusim_cpu_cycles(r->cpu);
    int rc = MMUSIM_OK;
    while (at < k) {
        struct mmusim_batch_sum s;
        /* Windows of WINDOW references: the batch call checks every reference
         * it is given before running any, and returns at each fault, so one
         * call over the whole chunk would check its tail again after every
         * fault. */
        size_t w = k - at < WINDOW ? k - at : WINDOW;
        rc = mmusim__cpu_access_batch_trusted(r->cpu, r->refs + at, w, NULL, &s); /* built from checked records */
        if (rc != MMUSIM_OK)
            break;
        r->st.accesses += s.done;
        at += s.done;
        if (!s.fault)
            continue;
        const struct mmusim_ref *f = &r->refs[at - 1];
        unsigned kind = recs[r->rec_of[at - 1]].kind;
        if (!(s.fault_info.error_code & MMUSIM_PF_P) && s.fault_info.cr2 < r->task_size) {
            r->st.accesses--; /* the access runs again: counted once, when it completes */
            at--;
            rc = demand_map(r, s.fault_info.cr2, kind);
            if (rc != MMUSIM_OK)
                break;
        } else {
            record_violation(r, rec_base + r->rec_of[at - 1], f->va, s.fault_info.error_code, kind);
        }
    }
    r->st.cycles += mmusim_cpu_cycles(r->cpu) - c0; /* walks and the faults' page_fault */
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
    size_t i = 0;
    while (i < n) {
        size_t first = i;
        size_t k = build(r, recs, n, &i);
        int rc = run_refs(r, k, recs + first, done + first);
        if (rc != MMUSIM_OK)
            return rc;
    }
    return MMUSIM_OK;
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
