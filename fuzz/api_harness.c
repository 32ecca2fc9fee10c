/*
 * The API-sequence harness (api_harness.h): a decoded configuration, then
 * decoded public calls outside and inside runs, with the coherence checker
 * on.
 *
 * How the harness decides that an access must be coherent. Every change to
 * a leaf entry the harness makes (unmap, protect, a raw store, set_pte,
 * pte_clear) that replaces a present entry is a *pending* change of that
 * page, owed a flush on every CPU; it is settled for one CPU by an INVLPG of
 * the page there, a CR3 write or reload (when the old entry was not global),
 * a full flush (global flush, a CR4 write toggling PGE or PSE), or an SMP
 * flush covering the page that completed after the change. Changes the
 * harness cannot follow page by page (a write into physical memory other
 * than its own data frames, a large-page entry changed, an address space
 * destroyed, a CR0 or EFER change) *taint* every CPU until its next full
 * flush; kmap calls taint the kmap area (PKMAP_BASE up), as misuse is
 * allowed there. Changes it cannot follow at all — a frame freed that may
 * be mapped, a writable mapping of a frame that may hold page tables, a
 * write through an address that may reach one — make the machine *wild*:
 * no access is held to coherence any more. An access by a CPU with nothing
 * pending or tainted for the pages it touches must add no violation.
 */
#include "api_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim.h"

#define H_POOL 8          /* data frames per zone (lowmem, highmem) */
#define H_PEND 64         /* pending changes followed one by one */
#define H_WORKERS 64      /* tasks and handlers per machine */
#define H_PGDS 4          /* user address spaces */
#define H_FRAMES 16       /* frames from the frame-alloc operation */
#define H_HELD 8          /* kmap addresses remembered for the unmaps */
#define H_BUF 8192        /* the phys read/write buffer */
#define H_RUN_CYCLES 4000000ull
#define H_STALL_STEPS 256u

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint8_t u8(struct apih_src *s)
{
    if (s->seeded)
        return (uint8_t)(splitmix(&s->rng) >> 56);
    if (s->pos < s->size)
        return s->data[s->pos++];
    s->exhausted = 1;
    return 0;
}

static uint32_t u32(struct apih_src *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | u8(s);
    return v;
}

static uint64_t u64(struct apih_src *s)
{
    return (uint64_t)u32(s) << 32 | u32(s);
}

/* A status the harness does not look at (any is allowed): GCC's warn_unused_result ignores (void). */
static void ignore(int rc)
{
    (void)rc;
}

/* ---- the world ---- */

struct pend {
    uint32_t va;     /* page */
    uint64_t cr3;    /* the address space of a user page; 0 for a kernel page */
    uint64_t cpus;   /* CPUs still owed a flush */
    uint64_t seq;    /* when the change was made; UINT64_MAX while its store is pending */
    int global;      /* the old entry was global: a CR3 write does not drop it */
};

enum pend_kind { PK_NONE, PK_FLUSH_ALL, PK_FLUSH_KRANGE, PK_FLUSH_MM, PK_STORE, PK_KMAP };

struct world;

struct worker {
    struct world *w;
    unsigned budget;
    int is_task;
    enum pend_kind pk;
    uint64_t pseq, pcr3;
    uint32_t pa, pb;
    unsigned pidx;
    /* Outputs a pending call fills when the step is called again: they must outlive the step. */
    struct mmusim_kaddr kout;
    uint64_t old;
    unsigned woken;
};

struct world {
    struct apih_src *src;
    enum apih_mode mode;
    struct apih_totals *t;
    mmusim_machine *m;
    mmusim_kmap_layer *k;
    const struct mmusim_layout *l;
    unsigned ncpus;
    uint64_t allcpus;
    int pge;
    uint64_t pool[2 * H_POOL];
    unsigned npool, nlow;
    uint64_t cr3s[H_PGDS];
    unsigned ncr3;
    uint64_t task_cr3s[H_PGDS + 1]; /* address spaces given to tasks */
    unsigned ntask_cr3;
    uint64_t frames[H_FRAMES];
    unsigned nframes;
    struct pend pend[H_PEND];
    unsigned npend;
    uint64_t seq;
    uint64_t taint_all, taint_kmap;
    int wild, kmap_wild;
    mmusim_spinlock *locks[2];
    mmusim_wait_queue *wq[2];
    struct worker workers[H_WORKERS];
    unsigned nworkers;
    struct mmusim_kaddr held[H_HELD];
    unsigned nheld;
    uint64_t ops, max_ops;
    uint64_t reports;
    unsigned irq_flags; /* spin_lock_irqsave's saved state, for the next irqrestore */
    struct worker outside; /* the outputs of calls made outside runs */
    uint8_t buf[H_BUF];
};

static int done(const struct world *w)
{
    return w->src->exhausted || w->ops >= w->max_ops;
}

static int in_pool(const struct world *w, uint64_t pfn)
{
    for (unsigned i = 0; i < w->npool; i++)
        if (w->pool[i] == pfn)
            return 1;
    return 0;
}

/* ---- following changes and flushes ---- */

static void add_pend(struct world *w, uint32_t va, uint64_t cr3, int global, int unsettled)
{
    if (w->npend == H_PEND) { /* too many to follow: every CPU owes a full flush */
        w->taint_all = w->allcpus;
        return;
    }
    struct pend *p = &w->pend[w->npend++];
    p->va = va & ~0xfffu;
    p->cr3 = va >= w->l->page_offset ? 0 : cr3;
    p->cpus = w->allcpus;
    p->seq = unsettled ? UINT64_MAX : ++w->seq;
    p->global = global || !w->pge;
    if (!w->pge)
        p->global = 0;
}

static void compact(struct world *w)
{
    unsigned j = 0;
    for (unsigned i = 0; i < w->npend; i++)
        if (w->pend[i].cpus)
            w->pend[j++] = w->pend[i];
    w->npend = j;
}

/* Before a change of the leaf of va in cr3: note the old entry if it was present. */
static void note_change(struct world *w, uint64_t cr3, uint32_t va, const struct mmusim_pte_info *old, int got)
{
    if (got != MMUSIM_OK)
        return;
    if (old->size == MMUSIM_PAGE_LARGE) {
        w->taint_all = w->allcpus;
        return;
    }
    if (old->raw & MMUSIM_PTE_P)
        add_pend(w, va, cr3, (old->raw & MMUSIM_PTE_G) != 0, 0);
}

static void full_flush(struct world *w, unsigned c)
{
    uint64_t bit = 1ull << c;
    for (unsigned i = 0; i < w->npend; i++)
        if (w->pend[i].seq != UINT64_MAX)
            w->pend[i].cpus &= ~bit;
    w->taint_all &= ~bit;
    w->taint_kmap &= ~bit;
    compact(w);
}

static void cr3_flush(struct world *w, unsigned c)
{
    for (unsigned i = 0; i < w->npend; i++)
        if (!w->pend[i].global && w->pend[i].seq != UINT64_MAX)
            w->pend[i].cpus &= ~(1ull << c);
    compact(w);
}

static void page_flush(struct world *w, unsigned c, uint32_t va)
{
    for (unsigned i = 0; i < w->npend; i++)
        if (w->pend[i].va == (va & ~0xfffu) && w->pend[i].seq != UINT64_MAX)
            w->pend[i].cpus &= ~(1ull << c);
    compact(w);
}

/* An SMP flush called at seq `since` completed: changes made before it are flushed on cpus. */
static void smp_done(struct world *w, uint64_t since, uint64_t cpus, uint32_t start, uint32_t end, uint64_t cr3,
                     int all)
{
    for (unsigned i = 0; i < w->npend; i++) {
        struct pend *p = &w->pend[i];
        if (p->seq > since)
            continue;
        if (all) {
            p->cpus &= ~cpus;
            continue;
        }
        int in = p->va >= start && (uint64_t)p->va + 0x1000 <= end;
        if (cr3) /* flush_tlb_range/page: the mm's own non-global entries */
            in = in && p->cr3 == cr3 && !p->global;
        if (in)
            p->cpus &= ~cpus;
    }
    if (all)
        for (unsigned c = 0; c < w->ncpus; c++)
            if (cpus >> c & 1)
                full_flush(w, c);
    compact(w);
}

/* CPUs an mm flush of cr3 reached: its cpu mask, and every CPU not running cr3 (it holds none of its non-global entries). */
static uint64_t mm_reach(struct world *w, uint64_t cr3)
{
    uint64_t cpus = mmusim_mm_cpu_mask(w->m, cr3);
    for (unsigned c = 0; c < w->ncpus; c++) {
        struct mmusim_cpu_regs r;
        mmusim_cpu_regs(mmusim_machine_cpu(w->m, c), &r);
        if (r.cr3 != cr3)
            cpus |= 1ull << c;
    }
    return cpus & w->allcpus;
}

static int page_clean(const struct world *w, unsigned c, uint32_t va)
{
    uint64_t bit = 1ull << c;
    if (w->taint_all & bit)
        return 0;
    if (va >= w->l->pkmap_base && ((w->taint_kmap & bit) || w->kmap_wild))
        return 0;
    for (unsigned i = 0; i < w->npend; i++)
        if (w->pend[i].va == (va & ~0xfffu) && (w->pend[i].cpus & bit))
            return 0;
    return 1;
}

/* ---- choosing operands ---- */

static unsigned pick_cpu(struct world *w)
{
    uint8_t b = u8(w->src);
    return b == 0xff ? 64u + b : b % w->ncpus; /* now and then a CPU out of range */
}

static uint64_t pick_cr3(struct world *w, int *known)
{
    uint8_t b = u8(w->src);
    *known = 1;
    if (b < 96 && w->ncr3)
        return w->cr3s[b % w->ncr3];
    if (b < 250)
        return mmusim_kernel_cr3(w->m);
    *known = 0;
    return b == 250 ? 0 : b == 251 ? mmusim_kernel_cr3(w->m) + 0x1000 : u64(w->src);
}

/* A virtual address; *safe when a write through it can only reach the harness's data frames. */
static uint32_t pick_va(struct world *w, int *safe)
{
    const struct mmusim_layout *l = w->l;
    uint8_t b = u8(w->src), o = u8(w->src);
    uint32_t page = (uint32_t)(o & 7) << 12, off = o & 0x80 ? 0xffcu + (o & 3) : (uint32_t)(o & 0x78);
    *safe = 1;
    switch (b % 8) {
    case 0:
    case 1:
        return 0x08048000u + page + off;
    case 2:
        return 0x08400000u + page + off;
    case 3:
        return l->vmalloc_start + page + off;
    case 4:
        return l->pkmap_base + ((uint32_t)(o & 0x1f) << 12) + (o & 0x60);
    case 5:
        return l->fixaddr_top - ((l->fix_kmap_begin + (o & 0x3fu)) << 12) + (o & 0x40);
    case 6: {
        /* the direct map of a lowmem data frame */
        if (w->nlow && !(o & 0x80))
            return l->page_offset + (uint32_t)(w->pool[o % w->nlow] << 12) + (o & 0x7c);
        *safe = 0;
        return l->page_offset + (u32(w->src) % (uint32_t)(l->max_low_pfn << 12 | 1));
    }
    default:
        *safe = 0;
        return u32(w->src);
    }
}

/* A physical address; *pool when it lies in one of the harness's data frames. */
static uint64_t pick_pa(struct world *w, int *pool)
{
    uint8_t b = u8(w->src);
    *pool = 0;
    if (b < 200 && w->npool) {
        *pool = 1;
        return w->pool[b % w->npool] << 12;
    }
    if (b < 230)
        return (uint64_t)(u32(w->src) % (uint32_t)(w->l->max_pfn | 1)) << 12;
    if (b < 245)
        return (w->l->max_pfn << 12) - 0x1000 * (b & 1);
    return u64(w->src);
}

static uint64_t pick_flags(struct world *w)
{
    static const uint64_t bits[8] = {MMUSIM_PTE_RW, MMUSIM_PTE_US, MMUSIM_PTE_A,   MMUSIM_PTE_D,
                                     MMUSIM_PTE_G,  MMUSIM_PTE_NX, MMUSIM_PTE_PWT, MMUSIM_PTE_PS};
    uint8_t b = u8(w->src);
    if (b == 0xff)
        return u64(w->src); /* anything, reserved bits included */
    uint64_t f = MMUSIM_PTE_P;
    for (int i = 0; i < 7; i++) /* PS only with the raw value above */
        if (b >> i & 1)
            f |= bits[i];
    return f;
}

static struct mmusim_page pick_page(struct world *w, int *pool)
{
    int dummy;
    uint64_t pa = pick_pa(w, pool ? pool : &dummy);
    return mmusim_page_of_pfn(w->m, pa >> 12);
}

static struct mmusim_kaddr pick_kaddr(struct world *w)
{
    uint8_t b = u8(w->src);
    if (b < 200 && w->nheld)
        return w->held[b % w->nheld];
    int safe;
    return (struct mmusim_kaddr){pick_va(w, &safe)};
}

static void remember(struct world *w, struct mmusim_kaddr a)
{
    if (!a.va)
        return;
    if (w->nheld < H_HELD)
        w->held[w->nheld++] = a;
    else
        w->held[a.va >> 12 & (H_HELD - 1)] = a;
}

/* ---- the operations ---- */

static void access_op(struct world *w, mmusim_cpu *cpu)
{
    int safe;
    uint32_t va = pick_va(w, &safe);
    uint8_t b = u8(w->src);
    static const unsigned sizes[8] = {1, 2, 4, 8, 4, 4, 3, 16};
    unsigned size = sizes[b & 7];
    unsigned acc = (b >> 3) % 3 | (b & 0x20 ? MMUSIM_ACC_USER : 0);
    uint64_t data = u64(w->src);
    unsigned c = mmusim_cpu_id(cpu);
    int clean = !w->wild && c < w->ncpus && page_clean(w, c, va) && page_clean(w, c, va + (size ? size - 1 : 0));
    uint64_t before = mmusim_machine_coherence_violations(w->m, NULL, 0);
    struct mmusim_access a;
    int rc = mmusim_cpu_access(cpu, va, acc, size, b & 0x40 ? NULL : &data, &a);
    uint64_t after = mmusim_machine_coherence_violations(w->m, NULL, 0);
    if (after > before) {
        if (clean) {
            struct mmusim_coherence_violation v;
            (void)mmusim_machine_coherence_violations(w->m, &v, 1);
            fprintf(stderr,
                    "api_harness: coherence violation with every change flushed: cpu %u va 0x%08x (%llu before)\n",
                    c, va, (unsigned long long)before);
            abort();
        }
        w->t->violations_seen += after - before;
    } else if (clean) {
        w->t->checked++;
    }
    if (rc == MMUSIM_OK && !a.fault && MMUSIM_ACC_KIND(acc) == MMUSIM_ACC_WRITE && !safe)
        w->wild = 1; /* the write may have reached a page table */
}

static void map_op(struct world *w)
{
    int known, pool;
    uint64_t cr3 = pick_cr3(w, &known);
    int safe;
    uint32_t va = pick_va(w, &safe);
    uint64_t pa = pick_pa(w, &pool);
    uint8_t b = u8(w->src);
    enum mmusim_page_size size = b < 16 ? MMUSIM_PAGE_LARGE : b == 16 ? (enum mmusim_page_size)7 : MMUSIM_PAGE_4K;
    if (size == MMUSIM_PAGE_LARGE && (b & 1)) { /* aligned, to get through */
        uint32_t big = w->l->paging == MMUSIM_PAGING_PAE ? 0x200000u : 0x400000u;
        va &= ~(big - 1);
        pa &= ~(uint64_t)(big - 1);
    }
    uint64_t flags = pick_flags(w);
    int rc = mmusim_pt_map(w->m, cr3, va, pa, size, flags);
    if (rc == MMUSIM_OK && (!pool || size != MMUSIM_PAGE_4K) && (flags & MMUSIM_PTE_RW))
        w->wild = 1; /* a writable mapping of a frame that may hold page tables */
    if (rc == MMUSIM_OK && !known)
        w->wild = 1;
}

static void leaf_op(struct world *w, unsigned what)
{
    int known;
    uint64_t cr3 = pick_cr3(w, &known);
    int safe;
    uint32_t va = pick_va(w, &safe);
    struct mmusim_pte_info old;
    int got = mmusim_pt_get(w->m, cr3, va, &old);
    int rc;
    if (what == 0) {
        rc = mmusim_pt_unmap(w->m, cr3, va);
    } else if (what == 1) {
        uint64_t flags = pick_flags(w);
        rc = mmusim_pt_protect(w->m, cr3, va, flags);
        if (rc == MMUSIM_OK && got == MMUSIM_OK && !in_pool(w, old.pa >> 12) && (flags & MMUSIM_PTE_RW))
            w->wild = 1;
    } else {
        int pool;
        uint8_t b = u8(w->src);
        enum mmusim_page_size size = b < 16 ? MMUSIM_PAGE_LARGE : MMUSIM_PAGE_4K;
        uint64_t raw = b < 200 ? pick_pa(w, &pool) | pick_flags(w) : u64(w->src);
        if (b >= 200)
            pool = 0;
        rc = mmusim_pt_set_raw(w->m, cr3, va, size, raw);
        if (rc == MMUSIM_OK && size == MMUSIM_PAGE_LARGE)
            w->taint_all = w->allcpus;
        if (rc == MMUSIM_OK && (raw & MMUSIM_PTE_P) && (raw & MMUSIM_PTE_RW) && (!pool || size != MMUSIM_PAGE_4K))
            w->wild = 1;
    }
    if (rc == MMUSIM_OK) {
        note_change(w, cr3, va, &old, got);
        if (!known)
            w->wild = 1;
    }
}

/* Ranges for the physical-memory calls: inside a data frame, across the end of RAM, or wrapping. */
static void phys_op(struct world *w)
{
    int pool;
    uint64_t pa = pick_pa(w, &pool);
    uint8_t b = u8(w->src);
    size_t len = (size_t)(u8(w->src) | (b & 0x1f) << 8) % H_BUF;
    if (b >= 0xf0) /* a length that wraps pa + len, or runs far past RAM: must be refused */
        len = b & 1 ? (size_t)(0 - pa) + 16 : SIZE_MAX - (b & 0x7);
    else if (pool)
        len = len % (0x1000 - (pa & 0xfff) + 1);
    if (len > H_BUF && b < 0xf0)
        len = H_BUF;
    int rc;
    switch (b >> 5 & 3) {
    case 0:
        rc = mmusim_phys_write(w->m, pa, w->buf, len);
        break;
    case 1:
        rc = mmusim_phys_read(w->m, pa, w->buf, len);
        return;
    case 2: {
        uint32_t v = u32(w->src);
        rc = mmusim_phys_write32(w->m, pa + (b & 3), v);
        len = 4;
        break;
    }
    default: {
        uint32_t v;
        rc = mmusim_phys_read32(w->m, pa + (b & 3), &v);
        return;
    }
    }
    if (len > H_BUF && rc == MMUSIM_OK) {
        fprintf(stderr, "api_harness: a physical write of %zu bytes at 0x%llx past RAM was accepted\n", len,
                (unsigned long long)pa);
        abort();
    }
    if (rc == MMUSIM_OK && !pool)
        w->taint_all = w->allcpus; /* it may have changed a page table */
}

static void cr_op(struct world *w, mmusim_cpu *cpu)
{
    unsigned c = mmusim_cpu_id(cpu);
    struct mmusim_cpu_regs r;
    mmusim_cpu_regs(cpu, &r);
    uint8_t b = u8(w->src);
    int rc;
    switch (b & 3) {
    case 0: {
        int known;
        uint64_t cr3 = pick_cr3(w, &known);
        rc = mmusim_cpu_write_cr3(cpu, cr3, NULL);
        if (rc == MMUSIM_OK && c < w->ncpus) {
            cr3_flush(w, c);
            if (!known)
                w->wild = 1;
        }
        break;
    }
    case 1: {
        static const uint32_t toggles[4] = {MMUSIM_CR4_PGE, MMUSIM_CR4_PSE, MMUSIM_CR4_PAE, 0x200u};
        uint32_t cr4 = b & 0x80 ? u32(w->src) : r.cr4 ^ toggles[b >> 2 & 3];
        rc = mmusim_cpu_write_cr4(cpu, cr4, NULL);
        if (rc == MMUSIM_OK && c < w->ncpus && ((cr4 ^ r.cr4) & (MMUSIM_CR4_PGE | MMUSIM_CR4_PSE)))
            full_flush(w, c);
        break;
    }
    case 2: {
        uint32_t cr0 = b & 0x80 ? u32(w->src) : r.cr0 ^ MMUSIM_CR0_WP;
        rc = mmusim_cpu_write_cr0(cpu, cr0);
        if (rc == MMUSIM_OK && c < w->ncpus)
            w->taint_all |= 1ull << c;
        break;
    }
    default: {
        uint64_t efer = b & 0x80 ? u64(w->src) : r.efer ^ MMUSIM_EFER_NXE;
        rc = mmusim_cpu_write_efer(cpu, efer);
        if (rc == MMUSIM_OK && c < w->ncpus)
            w->taint_all |= 1ull << c;
        break;
    }
    }
}

static void flush_op(struct world *w, mmusim_cpu *cpu)
{
    unsigned c = mmusim_cpu_id(cpu);
    uint8_t b = u8(w->src);
    int safe;
    switch (b & 3) {
    case 0: {
        uint32_t va = pick_va(w, &safe);
        mmusim_flush_tlb_one(cpu, va);
        if (c < w->ncpus)
            page_flush(w, c, va);
        break;
    }
    case 1:
        if (mmusim_flush_tlb(cpu) && c < w->ncpus)
            cr3_flush(w, c);
        break;
    case 2:
        if (mmusim_flush_tlb_global(cpu) && c < w->ncpus)
            full_flush(w, c);
        break;
    default: {
        /* __flush_tlb_all: the global flush with PGE, else a CR3 reload, full without global entries */
        if (mmusim_flush_tlb_all(cpu) && c < w->ncpus) {
            if (w->pge)
                full_flush(w, c);
            else
                cr3_flush(w, c);
        }
        break;
    }
    }
}

static int pte_op(struct world *w, mmusim_cpu *cpu, struct worker *t)
{
    int safe, pool;
    uint32_t va = pick_va(w, &safe);
    uint8_t b = u8(w->src);
    uint64_t *old = t ? &t->old : &w->outside.old;
    int rc;
    if (b & 1) {
        uint64_t pa = pick_pa(w, &pool);
        uint64_t flags = pick_flags(w);
        rc = mmusim_set_pte(cpu, va, pa, flags, old);
        if (rc == MMUSIM_OK || rc == MMUSIM_PENDING)
            if (!pool && (flags & MMUSIM_PTE_RW))
                w->wild = 1;
    } else {
        rc = mmusim_pte_clear(cpu, va, old);
    }
    if (rc == MMUSIM_OK)
        add_pend(w, va, 0, 1, 0);
    if (rc == MMUSIM_PENDING) {
        add_pend(w, va, 0, 1, 1);
        if (t) {
            t->pk = PK_STORE;
            t->pa = va & ~0xfffu;
        }
    }
    if (b & 2) {
        unsigned wc;
        uint64_t cyc;
        ignore(mmusim_pte_last_writer(w->m, va, &wc, &cyc));
    }
    return rc;
}

static void frame_op(struct world *w)
{
    uint8_t b = u8(w->src);
    if (b < 100) {
        uint64_t pfn;
        if (mmusim_frame_alloc(w->m, (enum mmusim_zone)(b % 4), &pfn) == MMUSIM_OK && w->nframes < H_FRAMES)
            w->frames[w->nframes++] = pfn;
        return;
    }
    uint64_t pfn;
    int mine = 0;
    if (b < 180 && w->nframes) {
        unsigned i = b % w->nframes;
        pfn = w->frames[i];
        w->frames[i] = w->frames[--w->nframes];
        mine = 1;
    } else if (b < 200) {
        pfn = mmusim_kernel_cr3(w->m) >> 12;
    } else if (b < 215 && w->ncr3) {
        pfn = w->cr3s[b % w->ncr3] >> 12;
    } else {
        int pool;
        pfn = pick_pa(w, &pool) >> 12;
    }
    if (mmusim_frame_free(w->m, pfn) == MMUSIM_OK && !mine)
        w->wild = 1; /* a data frame or a table now free, and maybe reused as a table */
}

static void pgd_op(struct world *w)
{
    uint8_t b = u8(w->src);
    if (b < 128) {
        uint64_t cr3;
        if (mmusim_pgd_create(w->m, &cr3) == MMUSIM_OK) {
            if (w->ncr3 < H_PGDS)
                w->cr3s[w->ncr3++] = cr3;
        }
        return;
    }
    int known;
    uint64_t cr3 = pick_cr3(w, &known);
    if (mmusim_pgd_destroy(w->m, cr3) != MMUSIM_OK)
        return;
    w->taint_all = w->allcpus;
    for (unsigned i = 0; i < w->ntask_cr3; i++)
        if (w->task_cr3s[i] == cr3)
            w->wild = 1; /* a task may switch to it */
    for (unsigned i = 0; i < w->ncr3; i++)
        if (w->cr3s[i] == cr3) {
            w->cr3s[i] = w->cr3s[--w->ncr3];
            break;
        }
    if (!known)
        w->wild = 1;
}

static enum mmusim_step worker_step(mmusim_cpu *cpu, void *arg);

static struct worker *new_worker(struct world *w, int is_task)
{
    if (w->nworkers == H_WORKERS)
        return NULL;
    struct worker *t = &w->workers[w->nworkers++];
    memset(t, 0, sizeof(*t));
    t->w = w;
    t->is_task = is_task;
    t->budget = 1 + u8(w->src) % 24;
    return t;
}

static void note_task_cr3(struct world *w, uint64_t cr3)
{
    for (unsigned i = 0; i < w->ntask_cr3; i++)
        if (w->task_cr3s[i] == cr3)
            return;
    if (w->ntask_cr3 < H_PGDS + 1)
        w->task_cr3s[w->ntask_cr3++] = cr3;
    else
        w->wild = 1;
}

static void spawn_task(struct world *w)
{
    struct worker *t = new_worker(w, 1);
    if (!t)
        return;
    unsigned c = pick_cpu(w);
    int known;
    uint64_t cr3 = u8(w->src) & 1 ? 0 : pick_cr3(w, &known);
    mmusim_task *task;
    if (mmusim_task_create(w->m, c, cr3, worker_step, t, &task) == MMUSIM_OK) {
        note_task_cr3(w, cr3);
        if (!known && cr3)
            w->wild = 1;
    }
}

/* CPU c's clock (0 for a CPU out of range). */
static uint64_t cpu_clock(struct world *w, unsigned c)
{
    return mmusim_cpu_cycles(mmusim_machine_cpu(w->m, c));
}

static void interrupt_op(struct world *w, mmusim_cpu *cpu)
{
    uint8_t b = u8(w->src);
    unsigned c = pick_cpu(w);
    uint64_t now = mmusim_cpu_cycles(cpu);
    uint64_t at = b & 0x80 ? u64(w->src) : now + u8(w->src) * 16u;
    struct worker *t;
    switch (b & 7) {
    case 0:
        mmusim_local_irq_disable(cpu);
        break;
    case 1:
        mmusim_local_irq_enable(cpu);
        break;
    case 2:
        mmusim_preempt_disable(cpu);
        break;
    case 3:
        mmusim_preempt_enable(cpu);
        break;
    case 4:
        if ((t = new_worker(w, 0)))
            ignore(mmusim_irq_at_flags(w->m, c, at, worker_step, t, b & 0x40 ? MMUSIM_IRQF_DISABLED : 0));
        break;
    case 5:
        if ((t = new_worker(w, 0)))
            ignore(mmusim_nmi_at(w->m, c, at, worker_step, t));
        break;
    case 6:
        if ((t = new_worker(w, 0)))
            ignore(mmusim_raise_softirq(cpu, worker_step, t));
        break;
    default:
        if ((t = new_worker(w, 0)))
            ignore(mmusim_irq_random(w->m, c, 1 + u8(w->src) * 64u, cpu_clock(w, c) + 20000 + u8(w->src) * 100u,
                                     worker_step, t));
        break;
    }
}

static void spend_op(struct world *w, mmusim_cpu *cpu)
{
    uint8_t b = u8(w->src);
    uint64_t cycles = b == 0xff ? u64(w->src) : (uint64_t)b * 8u;
    mmusim_cpu_spend(cpu, cycles);
}

static int smp_flush_op(struct world *w, mmusim_cpu *cpu, struct worker *t)
{
    uint8_t b = u8(w->src);
    int safe, known;
    uint32_t start = pick_va(w, &safe) & ~0xfffu;
    uint32_t end = start + (uint32_t)(u8(w->src) % 48) * 0x1000u;
    uint64_t cr3 = 0;
    int rc;
    enum pend_kind pk;
    uint64_t since = w->seq;
    switch (b & 3) {
    case 0:
        rc = mmusim_flush_tlb_all_smp(cpu);
        pk = PK_FLUSH_ALL;
        break;
    case 1:
        rc = mmusim_flush_tlb_kernel_range_smp(cpu, start, end);
        pk = PK_FLUSH_KRANGE;
        break;
    case 2:
        cr3 = pick_cr3(w, &known);
        rc = mmusim_flush_tlb_range_smp(cpu, cr3, start, end);
        pk = PK_FLUSH_MM;
        break;
    default:
        cr3 = pick_cr3(w, &known);
        end = start + 0x1000u;
        rc = mmusim_flush_tlb_page_smp(cpu, cr3, start);
        pk = PK_FLUSH_MM;
        break;
    }
    if (rc == MMUSIM_PENDING && t) {
        t->pk = pk;
        t->pseq = since;
        t->pa = start;
        t->pb = end;
        t->pcr3 = cr3;
    } else if (rc == MMUSIM_OK) {
        if (pk == PK_FLUSH_ALL)
            smp_done(w, since, w->allcpus, 0, 0, 0, 1);
        else if (pk == PK_FLUSH_KRANGE)
            smp_done(w, since, w->allcpus, start, end, 0, 0);
        else if (cr3 && start < end)
            smp_done(w, since, mm_reach(w, cr3), start, end, cr3, 0);
    }
    return rc;
}

/* Returns 1 when the step must return BLOCK (it went to sleep). */
static int sync_op(struct world *w, mmusim_cpu *cpu, struct worker *t)
{
    uint8_t b = u8(w->src);
    mmusim_spinlock *l = w->locks[b >> 7];
    mmusim_wait_queue *q = w->wq[b >> 7];
    unsigned *flags = &w->irq_flags;
    int rc;
    switch (b & 7) {
    case 0:
        ignore(mmusim_spin_lock(cpu, l));
        break;
    case 1:
        ignore(mmusim_spin_lock_irqsave(cpu, l, flags));
        break;
    case 2:
        ignore(mmusim_spin_unlock(cpu, l));
        break;
    case 3:
        ignore(mmusim_spin_unlock_irqrestore(cpu, l, *flags));
        break;
    case 4:
        rc = mmusim_wait_queue_sleep(cpu, q);
        return rc == MMUSIM_PENDING;
    case 5:
        ignore(mmusim_wake_up(cpu, q, b & 0x40 ? NULL : t ? &t->woken : &w->outside.woken));
        break;
    case 6:
        ignore(mmusim_cond_resched(cpu));
        break;
    default:
        (void)mmusim_spin_is_owner(cpu, l);
        (void)mmusim_wait_queue_active(q);
        (void)mmusim_cpu_context(cpu);
        (void)mmusim_cpu_preempt_count(cpu);
        (void)mmusim_cpu_in_interrupt(cpu);
        (void)mmusim_cpu_irqs_disabled(cpu);
        (void)mmusim_cpu_nesting(cpu);
        (void)mmusim_task_state(mmusim_cpu_current(cpu));
        break;
    }
    return 0;
}

static enum mmusim_km_type pick_type(struct world *w)
{
    uint8_t b = u8(w->src);
    return b < 250 ? (enum mmusim_km_type)(b % MMUSIM_KM_TYPE_COUNT_) : (enum mmusim_km_type)(b);
}

static int kmap_op(struct world *w, mmusim_cpu *cpu, struct worker *t)
{
    if (!w->k)
        return MMUSIM_OK;
    uint8_t b = u8(w->src);
    int pool = 1;
    struct mmusim_kaddr *outp = t ? &t->kout : &w->outside.kout;
    outp->va = 0;
    struct mmusim_page page;
    int rc = MMUSIM_OK;
    unsigned c = mmusim_cpu_id(cpu);
    if (c < w->ncpus)
        w->taint_kmap = w->allcpus;
    switch (b % 13) {
    case 0:
        page = pick_page(w, &pool);
        rc = mmusim_kmap(cpu, w->k, page, outp);
        break;
    case 1:
        page = pick_page(w, &pool);
        rc = mmusim_kunmap(cpu, w->k, page);
        break;
    case 2:
        rc = mmusim_kmap_flush_unused(cpu, w->k);
        break;
    case 3:
    case 4:
        page = pick_page(w, &pool);
        rc = mmusim_kmap_atomic(cpu, w->k, page, pick_type(w), outp);
        break;
    case 5:
        rc = mmusim_kunmap_atomic(cpu, w->k, pick_kaddr(w), pick_type(w));
        break;
    case 6: {
        int ppool;
        uint64_t pa = pick_pa(w, &ppool);
        pool = ppool;
        rc = mmusim_kmap_atomic_pfn(cpu, w->k, pa >> 12, pick_type(w), outp);
        break;
    }
    case 7: {
        page = pick_page(w, &pool);
        enum mmusim_km_type ty = pick_type(w);
        rc = mmusim_kmap_atomic_prot(cpu, w->k, page, ty, pick_flags(w), outp);
        break;
    }
    case 8: {
        struct mmusim_page pg;
        ignore(mmusim_kmap_atomic_to_page(w->k, pick_kaddr(w), &pg));
        (void)mmusim_page_address(w->k, pick_page(w, NULL));
        break;
    }
    case 9:
        page = pick_page(w, &pool);
        rc = mmusim_kmap_local(cpu, w->k, page, outp);
        break;
    case 10:
        rc = mmusim_kunmap_local(cpu, w->k, pick_kaddr(w));
        break;
    case 11: {
        struct mmusim_page pages[4];
        unsigned n = u8(w->src) % 6;
        for (unsigned i = 0; i < 4; i++)
            pages[i] = pick_page(w, &pool);
        if (n > 4)
            n = 4;
        rc = mmusim_kmap_heap(cpu, w->k, pages, n, outp);
        break;
    }
    default:
        rc = mmusim_kunmap_heap(cpu, w->k, pick_kaddr(w));
        break;
    }
    if ((rc == MMUSIM_OK || rc == MMUSIM_PENDING) && !pool)
        w->wild = 1; /* a kernel mapping of a frame that may hold page tables */
    if (rc == MMUSIM_OK)
        remember(w, *outp);
    else if (rc == MMUSIM_PENDING && t)
        t->pk = PK_KMAP;
    return rc;
}

static void misc_op(struct world *w, mmusim_cpu *cpu)
{
    uint8_t b = u8(w->src);
    switch (b & 7) {
    case 0:
        mmusim_machine_set_report_policy(w->m, (enum mmusim_report_policy)(b >> 3 & 3));
        break;
    case 1: {
        struct mmusim_report r[4];
        (void)mmusim_machine_reports(w->m, r, 4);
        if (b & 0x80) {
            w->t->reports += mmusim_machine_reports(w->m, NULL, 0);
            mmusim_machine_reports_reset(w->m);
            w->reports = 0;
        }
        break;
    }
    case 2: {
        struct mmusim_cpu_stats s;
        mmusim_machine_stats(w->m, &s);
        mmusim_cpu_stats(cpu, &s);
        if (b & 0x80)
            mmusim_cpu_stats_reset(cpu);
        break;
    }
    case 3: {
        struct mmusim_tlb_stats s;
        ignore(mmusim_cpu_tlb_stats(cpu, (enum mmusim_tlb_id)(b >> 3 & 7), &s));
        break;
    }
    case 4: {
        struct mmusim_walk wk;
        int safe;
        uint32_t va = pick_va(w, &safe);
        ignore(mmusim_cpu_walk(cpu, va, u8(w->src) & 7, &wk));
        break;
    }
    case 5: {
        int known;
        (void)mmusim_mm_cpu_mask(w->m, pick_cr3(w, &known));
        (void)mmusim_zone_free_frames(w->m, (enum mmusim_zone)(b >> 3 & 3));
        (void)mmusim_phys_resident_bytes(w->m);
        break;
    }
    case 6:
        if (w->k) {
            struct mmusim_kmap_stats ks;
            ignore(mmusim_kmap_stats(w->k, (int)(b >> 3 & 15) - 1, &ks));
            (void)mmusim_kmap_percentile(w->k, (enum mmusim_kmap_hist_kind)(b >> 3 & 3), 1 + (b >> 5) * 14);
        }
        break;
    default:
        mmusim_report_warn(cpu, "api_harness: a user WARN", b);
        break;
    }
}

enum op {
    OP_ACCESS,
    OP_ACCESS2,
    OP_MAP,
    OP_UNMAP,
    OP_PROTECT,
    OP_RAW,
    OP_PHYS,
    OP_CR,
    OP_FLUSH,
    OP_PTE,
    OP_FRAME,
    OP_PGD,
    OP_RUN,
    OP_TASK,
    OP_SMP_FLUSH,
    OP_SYNC,
    OP_INTERRUPT,
    OP_SPEND,
    OP_KMAP,
    OP_MISC,
    OP_COUNT_
};

static enum op pick_op(struct world *w)
{
    uint8_t b = u8(w->src);
    if (w->mode == APIH_MODE_KMAP && b < 140)
        return b < 40 ? OP_ACCESS : b < 50 ? OP_RUN : b < 60 ? OP_TASK : b < 70 ? OP_FLUSH : OP_KMAP;
    return (enum op)(b % OP_COUNT_);
}

static void run_op(struct world *w);

/* One operation on cpu (t: the worker whose step makes it, NULL outside runs). Returns 1 to block. */
static int do_op(struct world *w, mmusim_cpu *cpu, struct worker *t)
{
    enum op op = pick_op(w);
    int block = 0;
    w->ops++;
    w->t->ops++;
    switch (op) {
    case OP_ACCESS:
    case OP_ACCESS2:
        access_op(w, cpu);
        break;
    case OP_MAP:
        map_op(w);
        break;
    case OP_UNMAP:
    case OP_PROTECT:
    case OP_RAW:
        leaf_op(w, (unsigned)(op - OP_UNMAP));
        break;
    case OP_PHYS:
        phys_op(w);
        break;
    case OP_CR:
        cr_op(w, cpu);
        break;
    case OP_FLUSH:
        flush_op(w, cpu);
        break;
    case OP_PTE:
        (void)pte_op(w, cpu, t);
        break;
    case OP_FRAME:
        frame_op(w);
        break;
    case OP_PGD:
        pgd_op(w);
        break;
    case OP_RUN:
        if (t) { /* from a step: refused */
            struct mmusim_run_result r;
            if (mmusim_machine_run(w->m, 1, &r) != MMUSIM_EINRUN)
                abort();
        } else {
            run_op(w);
        }
        break;
    case OP_TASK:
        spawn_task(w);
        break;
    case OP_SMP_FLUSH:
        (void)smp_flush_op(w, cpu, t);
        break;
    case OP_SYNC:
        block = sync_op(w, cpu, t);
        break;
    case OP_INTERRUPT:
        interrupt_op(w, cpu);
        break;
    case OP_SPEND:
        spend_op(w, cpu);
        break;
    case OP_KMAP:
        (void)kmap_op(w, cpu, t);
        break;
    case OP_MISC:
    case OP_COUNT_:
        misc_op(w, cpu);
        break;
    }
    uint64_t nrep = mmusim_machine_reports(w->m, NULL, 0);
    if (nrep != w->reports && w->k)
        w->kmap_wild = 1; /* kmap state after a BUG or WARN may be anything the kernel would leave */
    w->reports = nrep;
    return block;
}

/* The step called again after a pending operation: its completion. */
static void finish_pending(struct world *w, struct worker *t)
{
    switch (t->pk) {
    case PK_NONE:
        break;
    case PK_FLUSH_ALL:
        smp_done(w, t->pseq, w->allcpus, 0, 0, 0, 1);
        break;
    case PK_FLUSH_KRANGE:
        smp_done(w, t->pseq, w->allcpus, t->pa, t->pb, 0, 0);
        break;
    case PK_FLUSH_MM:
        if (t->pcr3 && t->pa < t->pb)
            smp_done(w, t->pseq, mm_reach(w, t->pcr3), t->pa, t->pb, t->pcr3, 0);
        break;
    case PK_STORE:
        for (unsigned i = 0; i < w->npend; i++)
            if (w->pend[i].va == t->pa && w->pend[i].seq == UINT64_MAX)
                w->pend[i].seq = ++w->seq;
        break;
    case PK_KMAP:
        remember(w, t->kout);
        break;
    }
    t->pk = PK_NONE;
}

static enum mmusim_step worker_step(mmusim_cpu *cpu, void *arg)
{
    struct worker *t = arg;
    struct world *w = t->w;
    finish_pending(w, t);
    if (!t->budget || done(w))
        return MMUSIM_STEP_DONE;
    t->budget--;
    if (do_op(w, cpu, t))
        return MMUSIM_STEP_BLOCK;
    return MMUSIM_STEP_MORE;
}

/* The earliest clock: a limit from there bounds the work of the CPUs behind (a spend may have put one far ahead). */
static uint64_t min_clock(struct world *w)
{
    uint64_t m = UINT64_MAX;
    for (unsigned c = 0; c < w->ncpus; c++) {
        uint64_t v = cpu_clock(w, c);
        if (v < m)
            m = v;
    }
    return m;
}

static void run_op(struct world *w)
{
    unsigned ntasks = u8(w->src) % 4;
    for (unsigned i = 0; i < ntasks; i++)
        spawn_task(w);
    uint8_t b = u8(w->src);
    uint64_t now = min_clock(w);
    uint64_t limit = b == 0xff ? 0 : now + 1000 + (uint64_t)b * (H_RUN_CYCLES / 256);
    if (limit && limit < now) /* a clock near the top: no limit would be safer than a wrapped one */
        limit = UINT64_MAX;
    struct mmusim_run_result r;
    int rc = mmusim_machine_run(w->m, limit ? limit : UINT64_MAX, &r);
    w->t->runs++;
    if (rc != MMUSIM_OK && rc != MMUSIM_ESTALL && rc != MMUSIM_ENOBLOCK) {
        fprintf(stderr, "api_harness: mmusim_machine_run returned %s\n", mmusim_err_name(rc));
        abort();
    }
}

/* ---- the machine ---- */

static int configure(struct world *w, struct mmusim_config *cfg, enum mmusim_kmap_variant *variant)
{
    struct apih_src *s = w->src;
    uint8_t b0 = u8(s), b1 = u8(s), b2 = u8(s), b3 = u8(s);
    mmusim_config_init(cfg);
    cfg->ncpus = 1 + (b0 & 7);
    cfg->paging = b0 & 8 ? MMUSIM_PAGING_PAE : MMUSIM_PAGING_2LEVEL;
    cfg->era = (enum mmusim_era)(b0 >> 4 & 3);
    cfg->debug_highmem = b0 >> 6 & 1;
    if (b0 & 0x80)
        cfg->features &= ~MMUSIM_FEAT_PSE;
    if (mmusim_config_apply_preset(cfg, (enum mmusim_preset)(b1 & 3)) != MMUSIM_OK)
        return -1;
    static const uint64_t mems[4] = {32ull << 20, 240ull << 20, 256ull << 20, 64ull << 20};
    cfg->mem_bytes = mems[b1 >> 2 & 3];
    cfg->vmalloc_bytes = 800ull << 20; /* lowmem ends near 208 MiB: highmem in a small machine */
    if ((b1 & 0x10) && cfg->paging == MMUSIM_PAGING_PAE)
        cfg->features |= MMUSIM_FEAT_NX;
    if (b1 & 0x20)
        cfg->features &= ~MMUSIM_FEAT_PGE;
    if (b1 & 0x40)
        cfg->flush_ceiling = 33;
    if (b1 & 0x80)
        cfg->preempt = MMUSIM_PREEMPT_FULL;
    cfg->stall_steps = H_STALL_STEPS;
    cfg->seed = b3;
    *variant = (enum mmusim_kmap_variant)(b2 % (MMUSIM_KMAP_VARIANT_COUNT_ + 1));
    if (w->mode == APIH_MODE_KMAP && *variant == MMUSIM_KMAP_VARIANT_COUNT_)
        *variant = (enum mmusim_kmap_variant)(b2 >> 4 & 3);
    if (*variant == MMUSIM_KMAP_LOCAL_5_11 && cfg->era != MMUSIM_ERA_5_11)
        cfg->km_type_nr = cfg->debug_highmem ? 33 : 16;
    return 0;
}

static void populate(struct world *w)
{
    for (int z = MMUSIM_ZONE_NORMAL; z <= MMUSIM_ZONE_HIGHMEM; z++)
        for (unsigned i = 0; i < H_POOL; i++) {
            uint64_t pfn;
            if (mmusim_frame_alloc(w->m, (enum mmusim_zone)z, &pfn) != MMUSIM_OK)
                break;
            w->pool[w->npool++] = pfn;
            if (z == MMUSIM_ZONE_NORMAL)
                w->nlow++;
        }
    uint64_t cr3;
    if (mmusim_pgd_create(w->m, &cr3) == MMUSIM_OK)
        w->cr3s[w->ncr3++] = cr3;
    for (int i = 0; i < 2; i++) {
        if (mmusim_spinlock_create(w->m, &w->locks[i]) != MMUSIM_OK ||
            mmusim_wait_queue_create(w->m, &w->wq[i]) != MMUSIM_OK)
            abort();
    }
}

void apih_episode(struct apih_src *src, enum apih_mode mode, uint64_t max_ops, struct apih_totals *t)
{
    struct world *w = calloc(1, sizeof(*w));
    if (!w)
        return;
    w->src = src;
    w->mode = mode;
    w->t = t;
    w->max_ops = max_ops;
    struct mmusim_config cfg;
    enum mmusim_kmap_variant variant;
    if (configure(w, &cfg, &variant) != 0 || mmusim_machine_create(&cfg, &w->m) != MMUSIM_OK) {
        free(w);
        return;
    }
    t->episodes++;
    w->l = mmusim_machine_layout(w->m);
    w->ncpus = mmusim_machine_ncpus(w->m);
    w->allcpus = w->ncpus == 64 ? ~0ull : (1ull << w->ncpus) - 1;
    w->pge = (cfg.features & MMUSIM_FEAT_PGE) != 0;
    if (variant < MMUSIM_KMAP_VARIANT_COUNT_) {
        struct mmusim_kmap_opts o;
        mmusim_kmap_opts_init(&o, variant);
        if (mmusim_kmap_create(w->m, &o, &w->k) != MMUSIM_OK)
            w->k = NULL;
    }
    mmusim_machine_set_coherence_check(w->m, 1);
    populate(w);
    while (!done(w)) {
        unsigned c = pick_cpu(w);
        mmusim_cpu *cpu = mmusim_machine_cpu(w->m, c);
        if (!cpu) { /* a CPU out of range: the calls that take one must refuse NULL */
            ignore(mmusim_cpu_access(NULL, 0, 0, 4, NULL, NULL));
            mmusim_cpu_spend(NULL, 1);
            w->ops++;
            t->ops++;
            continue;
        }
        (void)do_op(w, cpu, NULL);
    }
    t->reports += mmusim_machine_reports(w->m, NULL, 0);
    mmusim_machine_destroy(w->m);
    free(w);
}
