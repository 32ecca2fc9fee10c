/*
 * mmusim — kernel stores to page-table entries by a CPU, and the record of
 * who made the last one (include/mmusim/pte.h).
 *
 * The entry is found in the shared kernel tables (swapper_pg_dir) and stored
 * through the mmu layer's pt_set / pt_clear (src/mmu/mmu.h), which keep the
 * PAE half order. The record is the cpu layer's: the mmu layer stores
 * entries for everyone and knows no CPU.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "cpu/hot.h"
#include "mmusim/error.h"
#include "mmusim/pte.h"

/* ---- the record: entry pa -> (CPU, cycle) ---- */

/* The table of page-table frame pfn, or NULL. */
static struct pte_writer_table *table_of(const struct pte_writers *w, uint64_t pfn)
{
    if (w->n && w->tables[w->last].pfn == pfn)
        return &w->tables[w->last];
    for (size_t i = 0; i < w->n; i++)
        if (w->tables[i].pfn == pfn)
            return &w->tables[i];
    return NULL;
}

/* The table of the frame holding the entry at pa, made if new (records all "nobody"); NULL if out of memory. */
static struct pte_writer_table *table_for(struct pte_writers *w, uint64_t pa)
{
    uint64_t pfn = pa >> MMUSIM_PAGE_SHIFT;
    struct pte_writer_table *t = table_of(w, pfn);
    if (t) {
        w->last = (size_t)(t - w->tables);
        return t;
    }
    size_t entries = MMUSIM_PAGE_SIZE >> w->shift;
    struct pte_writer *rec = mmusim__malloc(entries * sizeof(*rec));
    if (!rec)
        return NULL;
    struct pte_writer_table *grown = mmusim__grow(w->tables, w->n, &w->cap, sizeof(*grown), 4);
    if (!grown) {
        mmusim__free(rec);
        return NULL;
    }
    w->tables = grown;
    for (size_t i = 0; i < entries; i++) {
        rec[i].cpu = MMUSIM_NO_WRITER;
        rec[i].cycle = 0;
    }
    w->tables[w->n].pfn = pfn;
    w->tables[w->n].rec = rec;
    w->last = w->n++;
    return &w->tables[w->last];
}

static size_t entry_index(const struct pte_writers *w, uint64_t pa)
{
    return (size_t)((pa & MMUSIM_PAGE_OFFSET_MASK) >> w->shift);
}

/* The record of the entry at pa, its table made if new; NULL if out of memory. Inline for the common
 * case: the same table as the last store (a layer writing its own slots). */
static inline struct pte_writer *record_of(struct pte_writers *w, uint64_t pa)
{
    struct pte_writer_table *t;
    if (MMUSIM_LIKELY(w->n != 0 && w->tables[w->last].pfn == pa >> MMUSIM_PAGE_SHIFT))
        t = &w->tables[w->last];
    else if (!(t = table_for(w, pa)))
        return NULL;
    return &t->rec[entry_index(w, pa)];
}

/* Room for the record of the entry at pa (its table made now): ENOMEM leaves everything as it was. */
static int writers_reserve(struct pte_writers *w, uint64_t pa)
{
    return table_for(w, pa) ? MMUSIM_OK : MMUSIM_ENOMEM;
}

const struct pte_writer *mmusim__pte_writer_find(const struct pte_writers *w, uint64_t pa)
{
    const struct pte_writer_table *t = table_of(w, pa >> MMUSIM_PAGE_SHIFT);
    if (!t)
        return NULL;
    const struct pte_writer *r = &t->rec[entry_index(w, pa)];
    return r->cpu != MMUSIM_NO_WRITER ? r : NULL;
}

void mmusim__pte_writer_forget(struct pte_writers *w, uint64_t pa)
{
    struct pte_writer_table *t = table_of(w, pa >> MMUSIM_PAGE_SHIFT);
    if (t)
        t->rec[entry_index(w, pa)].cpu = MMUSIM_NO_WRITER;
}

void mmusim__pte_writers_fini(struct pte_writers *w)
{
    for (size_t i = 0; i < w->n; i++)
        mmusim__free(w->tables[i].rec);
    mmusim__free(w->tables);
    w->tables = NULL;
    w->n = w->cap = w->last = 0;
}

/* ---- the stores ---- */

/* The 4 KiB entry for the kernel address va, in the shared kernel tables. */
static int kernel_entry(const struct cpu_sys *s, uint32_t va, struct mmusim_pte_info *info)
{
    int rc = mmusim__pt_get(s->mmu, s->mmu->swapper_cr3, va, info);
    if (rc == MMUSIM_OK && info->size == MMUSIM_PAGE_LARGE)
        rc = MMUSIM_ELARGE;
    return rc;
}

/*
 * The store itself, its record and its cost; *old (may be NULL) gets what
 * the entry held. The record's room is found (or made) first, so ENOMEM
 * leaves everything as it was.
 */
static MMUSIM_NOINLINE int store_now(struct mmusim_cpu *cpu, uint64_t entry_pa, uint64_t v, int clear, uint64_t *old)
{
    struct cpu_sys *s = cpu->sys;
    struct pte_writer *r = record_of(&s->writers, entry_pa);
    if (!r)
        return MMUSIM_ENOMEM;
    uint64_t raw = old ? pt_read(s->mmu, entry_pa) : 0;
    /* Both halves of a PAE entry lie in one frame: if the first 32-bit store
     * finds no host memory for it, nothing is stored; the second cannot fail. */
    int rc = clear ? pt_clear(s->mmu, entry_pa) : pt_set(s->mmu, entry_pa, v);
    if (rc != MMUSIM_OK)
        return rc;
    r->cpu = cpu->id;
    r->cycle = cpu->cycles;
    s->writers.n_written++;
    uint64_t c = s->cfg->costs.pte_write;
    cpu->cycles += c;
    cpu->stats.pte_writes++;
    cpu->stats.pte_write_cycles += c;
    if (old)
        *old = raw;
    return MMUSIM_OK;
}

/*
 * set_pte (clear 0) or pte_clear (clear 1) of the entry for va, arguments
 * checked. Another CPU's walk reads the entry, so the store takes effect in
 * global time order (src/cpu/smp_impl.h): out of turn, it waits for its
 * turn and the call is pending; *old is filled when the step is called
 * again. The record's room is reserved first, so the store at its turn
 * cannot fail for it.
 */
static int pte_store(struct mmusim_cpu *cpu, uint32_t va, uint64_t v, int clear, uint64_t *old)
{
    struct cpu_sys *s = cpu->sys;
    struct mmusim_pte_info info;
    int rc = kernel_entry(s, va, &info);
    if (rc != MMUSIM_OK)
        return rc;
    struct frame *f = NULL;
    if (s->smp->running && !(f = mmusim__smp_op_frame(cpu, &rc)))
        return rc;
    if ((rc = writers_reserve(&s->writers, info.entry_pa)) != MMUSIM_OK)
        return rc;
    if (f && !mmusim__smp_in_order(cpu)) {
        f->order_entry = info.entry_pa;
        f->order_value = v;
        f->order_clear = clear;
        f->order_old = old;
        return mmusim__smp_defer(cpu, f, OP_PTE);
    }
    return store_now(cpu, info.entry_pa, v, clear, old);
}

/* ---- for the layers above (cpu/hooks.h) ---- */

int mmusim__kernel_pte_pa(struct cpu_sys *s, uint32_t va, uint64_t *entry_pa)
{
    struct mmusim_pte_info info;
    int rc = kernel_entry(s, va, &info);
    if (rc == MMUSIM_OK)
        *entry_pa = info.entry_pa;
    return rc;
}

uint64_t mmusim__pte_read(struct cpu_sys *s, uint64_t entry_pa)
{
    return pt_read(s->mmu, entry_pa);
}

/*
 * The common case of a layer's store, kept short because kmap_atomic makes
 * two per pair: a 2-level entry (one 32-bit store) in the frame the last
 * store used, whose contents exist, with no store hook and no old value
 * wanted. Anything else takes store_now. 1 if it stored.
 */
static inline int store_fast(struct mmusim_cpu *cpu, uint64_t entry_pa, uint32_t v)
{
    struct cpu_sys *s = cpu->sys;
    struct pte_writers *w = &s->writers;
    struct mmu *m = s->mmu;
    uint64_t pfn = entry_pa >> MMUSIM_PAGE_SHIFT;
    if (m->pae || w->n == 0 || w->tables[w->last].pfn != pfn || m->pm.hook || pfn >= m->pm.nframes)
        return 0;
    uint8_t *f = physmem_frame(&m->pm, pfn);
    if (!f)
        return 0;
    memcpy(f + (entry_pa & MMUSIM_PAGE_OFFSET_MASK), &v, 4);
    struct pte_writer *r = &w->tables[w->last].rec[entry_index(w, entry_pa)];
    r->cpu = cpu->id;
    r->cycle = cpu->cycles;
    w->n_written++;
    uint64_t c = s->cfg->costs.pte_write;
    cpu->cycles += c;
    cpu->stats.pte_writes++;
    cpu->stats.pte_write_cycles += c;
    return 1;
}

int mmusim__pte_store_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t value, uint64_t *old)
{
    if (!old && value <= UINT32_MAX && store_fast(cpu, entry_pa, (uint32_t)value))
        return MMUSIM_OK;
    return store_now(cpu, entry_pa, value, 0, old);
}

int mmusim__pte_clear_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t *old)
{
    if (!old && store_fast(cpu, entry_pa, 0))
        return MMUSIM_OK;
    return store_now(cpu, entry_pa, 0, 1, old);
}

/* ---- slot handles (cpu/hooks.h) ---- */

void mmusim__pte_slot_init(struct mmusim__pte_slot *p, uint64_t entry_pa)
{
    p->entry_pa = entry_pa;
    p->host = NULL;
    p->rec = NULL;
    p->gen = UINT64_MAX;
}

/*
 * Point the handle at its entry's host bytes and record, making both if
 * new: MMUSIM_OK. MMUSIM_ENOMEM if either cannot be made (what was made is
 * the machine's, as store_now's would be). 1 leaves it unresolved: no store
 * hook may be bypassed, and an entry past RAM has no bytes (store_now
 * refuses it with MMUSIM_EPHYS).
 */
static MMUSIM_NOINLINE int slot_resolve(struct cpu_sys *s, struct mmusim__pte_slot *p)
{
    struct mmu *m = s->mmu;
    uint64_t pfn = p->entry_pa >> MMUSIM_PAGE_SHIFT;
    p->gen = UINT64_MAX;
    if (m->pm.hook || pfn >= m->pm.nframes)
        return 1;
    struct pte_writer *r = record_of(&s->writers, p->entry_pa);
    uint8_t *f = r ? mmusim__physmem_frame_rw(&m->pm, pfn) : NULL;
    if (!f)
        return MMUSIM_ENOMEM; /* not retried: a refused allocation is the call's ENOMEM */
    p->host = f + (p->entry_pa & MMUSIM_PAGE_OFFSET_MASK);
    p->rec = r;
    p->wide = m->pae;
    p->gen = m->pm.gen;
    return MMUSIM_OK;
}

/* A store through a handle: inline (cpu/hot.h) while it is current, else resolved again, else store_now. */
static int slot_write(struct mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t v, int clear)
{
    if (mmusim__pte_slot_write_hot(cpu, p, v) == 0)
        return MMUSIM_OK;
    int rc = slot_resolve(cpu->sys, p);
    if (rc == MMUSIM_OK && mmusim__pte_slot_write_hot(cpu, p, v) == 0)
        return MMUSIM_OK;
    return rc == MMUSIM_ENOMEM ? rc : store_now(cpu, p->entry_pa, v, clear, NULL);
}

int mmusim__pte_slot_store(mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t value)
{
    return slot_write(cpu, p, value, 0);
}

int mmusim__pte_slot_clear(mmusim_cpu *cpu, struct mmusim__pte_slot *p)
{
    return slot_write(cpu, p, 0, 1);
}

void mmusim__pte_store_at_turn(struct mmusim_cpu *cpu, struct frame *f)
{
    /* What the entry holds now: another CPU may have stored to it since the call. */
    if (store_now(cpu, f->order_entry, f->order_value, f->order_clear, f->order_old) != MMUSIM_OK)
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, "set_pte: out of host memory for a page-table frame", 0);
}

int mmusim_set_pte(mmusim_cpu *cpu, uint32_t va, uint64_t pa, uint64_t flags, uint64_t *old)
{
    if (!cpu || va < cpu->sys->layout->page_offset)
        return MMUSIM_EINVAL;
    int rc = mmusim__pt_check_map(cpu->sys->mmu, va, pa, MMUSIM_PAGE_4K, flags);
    if (rc != MMUSIM_OK)
        return rc;
    return pte_store(cpu, va, pa | flags | MMUSIM_PTE_P, 0, old);
}

int mmusim_pte_clear(mmusim_cpu *cpu, uint32_t va, uint64_t *old)
{
    if (!cpu || va < cpu->sys->layout->page_offset)
        return MMUSIM_EINVAL;
    return pte_store(cpu, va, 0, 1, old);
}

int mmusim__pte_last_writer(const struct cpu_sys *m, uint32_t va, unsigned *cpu, uint64_t *cycle)
{
    struct mmusim_pte_info info;
    if (!m || va < m->layout->page_offset)
        return MMUSIM_EINVAL;
    int rc = kernel_entry(m, va, &info);
    if (rc != MMUSIM_OK)
        return rc;
    const struct pte_writer *w = mmusim__pte_writer_find(&m->writers, info.entry_pa);
    if (cpu)
        *cpu = w ? w->cpu : MMUSIM_NO_WRITER;
    if (cycle)
        *cycle = w ? w->cycle : 0;
    return MMUSIM_OK;
}
