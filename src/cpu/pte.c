/*
 * mmusim — kernel stores to page-table entries by a CPU, and the record of
 * who made the last one (include/mmusim/pte.h).
 *
 * The entry is found in the shared kernel tables (swapper_pg_dir) and stored
 * through the mmu layer's mmusim__pt_set / mmusim__pt_clear, which keep the
 * PAE half order. The record is the cpu layer's: the mmu layer stores
 * entries for everyone and knows no CPU.
 */
#include <stdlib.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"
#include "mmusim/pte.h"

/* ---- the record: entry pa -> (CPU, cycle) ---- */

#define WRITERS_FIRST 64 /* slots at the first store; the pkmap area alone has 512 or 1024 entries */

static size_t home_of(const struct pte_writers *w, uint64_t key)
{
    /* Entries are 4 or 8 bytes apart: mix the bits (the splitmix64 finaliser) before masking. */
    uint64_t z = key >> 2;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (size_t)(z ^ (z >> 31)) & (w->cap - 1);
}

/* The slot holding key, or the empty slot where it would go. The map is never full. */
static size_t slot_of(const struct pte_writers *w, uint64_t key)
{
    size_t i = home_of(w, key);
    while (w->slots[i].key != 0 && w->slots[i].key != key)
        i = (i + 1) & (w->cap - 1);
    return i;
}

/* Room for one more key, keeping the map at most half full. ENOMEM leaves it as it was. */
static int writers_reserve(struct pte_writers *w)
{
    if (2 * (w->n + 1) <= w->cap)
        return MMUSIM_OK;
    size_t cap = w->cap ? 2 * w->cap : WRITERS_FIRST;
    struct pte_writer *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return MMUSIM_ENOMEM;
    struct pte_writers grown = {slots, cap, w->n};
    for (size_t i = 0; i < w->cap; i++)
        if (w->slots[i].key != 0)
            grown.slots[slot_of(&grown, w->slots[i].key)] = w->slots[i];
    free(w->slots);
    *w = grown;
    return MMUSIM_OK;
}

/* After writers_reserve: record (cpu, cycle) for the entry at pa. */
static void writers_put(struct pte_writers *w, uint64_t pa, unsigned cpu, uint64_t cycle)
{
    size_t i = slot_of(w, pa + 1);
    if (w->slots[i].key == 0)
        w->n++;
    w->slots[i].key = pa + 1;
    w->slots[i].cpu = cpu;
    w->slots[i].cycle = cycle;
}

const struct pte_writer *mmusim__pte_writer_find(const struct pte_writers *w, uint64_t pa)
{
    if (w->n == 0)
        return NULL;
    size_t i = slot_of(w, pa + 1);
    return w->slots[i].key != 0 ? &w->slots[i] : NULL;
}

void mmusim__pte_writer_forget(struct pte_writers *w, uint64_t pa)
{
    if (w->n == 0)
        return;
    size_t mask = w->cap - 1, i = slot_of(w, pa + 1), j = i;
    if (w->slots[i].key == 0)
        return;
    /* Backward-shift deletion: empty slot i, then move back the first later
     * entry of the run whose home is not in (i, j], and repeat from its slot. */
    for (;;) {
        w->slots[i].key = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (w->slots[j].key == 0) {
                w->n--;
                return;
            }
            size_t k = home_of(w, w->slots[j].key);
            if (((j - k) & mask) >= ((j - i) & mask))
                break;
        }
        w->slots[i] = w->slots[j];
        i = j;
    }
}

void mmusim__pte_writers_fini(struct pte_writers *w)
{
    free(w->slots);
    w->slots = NULL;
    w->cap = w->n = 0;
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

/* The store itself, its record and its cost; *old gets what the entry held. */
static int store_now(struct mmusim_cpu *cpu, uint64_t entry_pa, uint64_t v, int clear, uint64_t raw, uint64_t *old)
{
    struct cpu_sys *s = cpu->sys;
    /* Both halves of a PAE entry lie in one frame: if the first 32-bit store
     * finds no host memory for it, nothing is stored; the second cannot fail. */
    int rc = clear ? mmusim__pt_clear(s->mmu, entry_pa) : mmusim__pt_set(s->mmu, entry_pa, v);
    if (rc != MMUSIM_OK)
        return rc;
    writers_put(&s->writers, entry_pa, cpu->id, cpu->cycles);
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
    if ((rc = writers_reserve(&s->writers)) != MMUSIM_OK)
        return rc;
    if (f && !mmusim__smp_in_order(cpu)) {
        f->order_entry = info.entry_pa;
        f->order_value = v;
        f->order_clear = clear;
        f->order_raw = info.raw;
        f->order_old = old;
        return mmusim__smp_defer(cpu, f, OP_PTE);
    }
    return store_now(cpu, info.entry_pa, v, clear, info.raw, old);
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

static int store_now_reserved(struct mmusim_cpu *cpu, uint64_t entry_pa, uint64_t v, int clear, uint64_t *old)
{
    int rc = writers_reserve(&cpu->sys->writers);
    if (rc != MMUSIM_OK)
        return rc;
    return store_now(cpu, entry_pa, v, clear, pt_read(cpu->sys->mmu, entry_pa), old);
}

int mmusim__pte_store_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t value, uint64_t *old)
{
    return store_now_reserved(cpu, entry_pa, value, 0, old);
}

int mmusim__pte_clear_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t *old)
{
    return store_now_reserved(cpu, entry_pa, 0, 1, old);
}

void mmusim__pte_store_at_turn(struct mmusim_cpu *cpu, struct frame *f)
{
    /* What the entry holds now: another CPU may have stored to it since the call. */
    uint64_t raw = pt_read(cpu->sys->mmu, f->order_entry);
    if (store_now(cpu, f->order_entry, f->order_value, f->order_clear, raw, f->order_old) != MMUSIM_OK)
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
