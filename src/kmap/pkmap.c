/*
 * mmusim — kmap and kunmap: the pkmap pool and the page_address table
 * (mm/highmem.c of 2.6.18, 2.6.32, 2.6.37 and 5.11; linux-highmem.md §2).
 *
 * kmap_high and kunmap_high are composite kernel paths: kmap_lock, the
 * page_address lookups under their bucket locks, the scan, the wrap's
 * flush_all_zero_pkmaps with one flush_tlb_kernel_range while kmap_lock is
 * held, a sleep on pkmap_map_wait when no slot is free. Each lock, the
 * flush and the sleep may wait, so the path is a continuation (cpu/hooks.h)
 * carried in the calling task's extension area: the step sees one call
 * that completed or is pending, and the path resumes where it waited.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kmap/kmap_impl.h"
#include "mmusim/error.h"

/* ---- the page_address table ---- */

/* hash_ptr(page, PA_HASH_ORDER) on the page's frame number: the golden-ratio multiplicative hash. */
static unsigned pa_bucket(uint64_t pfn)
{
    return (unsigned)((pfn * 0x9e3779b97f4a7c15ull) >> (64 - 7));
}

/* 2.6.18-2.6.32 hand page_address_maps[] out through a pool under pool_lock; later kernels index it by slot. */
static int uses_pool(const mmusim_kmap_layer *k)
{
    return k->opts.pkmap_era == MMUSIM_ERA_2_6_18 || k->opts.pkmap_era == MMUSIM_ERA_2_6_32;
}

int mmusim__pkmap_init(mmusim_kmap_layer *k)
{
    k->last_pkmap = k->layout->last_pkmap;
    if (!(k->pkmap_count = mmusim__calloc(k->last_pkmap, sizeof(*k->pkmap_count))) ||
        !(k->pkmap_pte = mmusim__calloc(k->last_pkmap, sizeof(*k->pkmap_pte))) ||
        !(k->maps = mmusim__calloc(k->last_pkmap, sizeof(*k->maps))))
        return MMUSIM_ENOMEM;
    int rc;
    for (uint32_t n = 0; n < k->last_pkmap; n++)
        if ((rc = mmusim__kernel_pte_pa(k->sys, mmusim_pkmap_addr(k->layout, n), &k->pkmap_pte[n])) != MMUSIM_OK)
            return rc; /* the pkmap table is allocated at boot (permanent_kmaps_init): cannot happen */
    /* The pool: every entry free, in order. */
    for (uint32_t n = 0; n < k->last_pkmap; n++)
        k->maps[n].next = n + 1 < k->last_pkmap ? (int)n + 1 : -1;
    k->pool_head = 0;
    for (unsigned b = 0; b < PA_HASH_BUCKETS; b++) {
        k->pa_head[b] = -1;
        if ((rc = mmusim__spinlock_create(k->sys, &k->pa_lock[b])) != MMUSIM_OK)
            return rc;
    }
    if ((rc = mmusim__spinlock_create(k->sys, &k->pool_lock)) != MMUSIM_OK ||
        (rc = mmusim__spinlock_create(k->sys, &k->kmap_lock)) != MMUSIM_OK ||
        (rc = mmusim__wait_queue_create(k->sys, &k->pkmap_map_wait)) != MMUSIM_OK)
        return rc;
    return MMUSIM_OK;
}

void mmusim__pkmap_fini(mmusim_kmap_layer *k)
{
    /* The locks and the wait queue are the cpu layer's: freed with it. */
    mmusim__free(k->pkmap_count);
    mmusim__free(k->pkmap_pte);
    mmusim__free(k->maps);
}

/* The entry of pfn in its bucket, or -1. */
static int pa_find(const mmusim_kmap_layer *k, uint64_t pfn)
{
    for (int e = k->pa_head[pa_bucket(pfn)]; e >= 0; e = k->maps[e].next)
        if (k->maps[e].pfn == pfn)
            return e;
    return -1;
}

uint32_t mmusim__pkmap_page_address(const mmusim_kmap_layer *k, uint64_t pfn)
{
    int e = pa_find(k, pfn);
    return e >= 0 ? k->maps[e].vaddr : 0;
}

/* list_add_tail of entry e to pfn's bucket. */
static void pa_link(mmusim_kmap_layer *k, int e, uint64_t pfn, uint32_t vaddr)
{
    unsigned b = pa_bucket(pfn);
    k->maps[e].pfn = pfn;
    k->maps[e].vaddr = vaddr;
    k->maps[e].next = -1;
    int *p = &k->pa_head[b];
    while (*p >= 0)
        p = &k->maps[*p].next;
    *p = e;
}

/* list_del of pfn's entry from its bucket; the entry, or -1. */
static int pa_unlink(mmusim_kmap_layer *k, uint64_t pfn)
{
    for (int *p = &k->pa_head[pa_bucket(pfn)]; *p >= 0; p = &k->maps[*p].next)
        if (k->maps[*p].pfn == pfn) {
            int e = *p;
            *p = k->maps[e].next;
            k->maps[e].next = -1;
            return e;
        }
    return -1;
}

/* ---- the paths ---- */

/* Where a kmap_high, kunmap_high or kmap_flush_unused path stands. */
enum {
    H_LOCK,         /* kmap_high: spin_lock(&kmap_lock) */
    H_LOOKUP,       /* page_address(page): its bucket lock (irqsave) */
    H_LOOKUP_DONE,  /* the lookup, the bucket unlocked */
    H_START,        /* map_new_virtual: start (count = LAST_PKMAP) */
    H_SCAN,         /* last_pkmap_nr advanced; at 0, the wrap */
    H_CHECK,        /* the slot at last_pkmap_nr: free, or go on, or sleep */
    H_SWEEP,        /* flush_all_zero_pkmaps: the next count-1 slot */
    H_SWEEP_UNLINK, /* set_page_address(page, NULL): bucket lock held */
    H_SWEEP_POOLED, /* ... the entry back to the pool: pool_lock held */
    H_FLUSH,        /* one flush_tlb_kernel_range over the pool, if needed */
    H_FLUSH_DONE,   /* the flush acknowledged */
    H_TAKE_POOL,    /* set_page_address(page, vaddr): pool_lock, with the pool */
    H_TAKE_POOLED,  /* ... pool_lock held: the first free entry */
    H_TAKE_BUCKET,  /* ... the bucket lock */
    H_TAKE_LINK,    /* ... bucket lock held: the entry linked */
    H_WOKEN,        /* back from the sleep: spin_lock(&kmap_lock) */
    H_WOKEN_LOOKUP, /* page_address(page) again */
    H_WOKEN_DONE,
    H_INC,          /* pkmap_count[nr]++, kmap_lock released */
    F_LOCK,         /* kmap_flush_unused: spin_lock(&kmap_lock) */
    F_LOCKED,
    F_UNLOCK,       /* after the sweep and its flush */
    U_LOCK,         /* kunmap_high: spin_lock(&kmap_lock) */
    U_LOOKUP,       /* page_address(page) */
    U_LOOKUP_DONE,  /* the count lowered, kmap_lock released */
    U_WAKE          /* wake_up(&pkmap_map_wait), outside the lock, done */
};

/*
 * An operation of the path that may wait: the path records where it goes
 * on (next) and stops while the operation is pending; any other failure
 * ends the path.
 */
#define WAIT_AT(next, call)                                                                        \
    do {                                                                                           \
        st->pc = (next);                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ == MMUSIM_PENDING)                                                                 \
            return MMUSIM_PENDING;                                                                 \
        if (rc_ != MMUSIM_OK)                                                                      \
            return fail(k, cpu, st, rc_);                                                          \
    } while (0)

/* A path that cannot go on (out of host memory, a BUG): kmap_lock is released if held, nothing waits. */
static int fail(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_high_state *st, int rc)
{
    if (mmusim_spin_is_owner(cpu, k->kmap_lock)) {
        int urc = mmusim_spin_unlock(cpu, k->kmap_lock);
        (void)urc; /* held: cannot fail */
    }
    st->pc = H_LOCK;
    st->busy = 0;
    return rc;
}

/* spin_unlock_irqrestore of a lock the path holds (never pending). */
static void unlock_irq(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned flags)
{
    int rc = mmusim_spin_unlock_irqrestore(cpu, l, flags);
    (void)rc; /* held: cannot fail */
}

static mmusim_spinlock *bucket_lock(const mmusim_kmap_layer *k, uint64_t pfn)
{
    return k->pa_lock[pa_bucket(pfn)];
}

/* spin_lock(&kmap_lock); the clock after its lock_op is where a spin starts. */
static int lock_kmap(const mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_high_state *st)
{
    int rc = mmusim_spin_lock(cpu, k->kmap_lock);
    st->spin_from = mmusim__cpu_head(cpu)->cycles;
    return rc;
}

/* kmap_lock is held now: what the acquisition waited was spin. */
static void note_spin(const mmusim_kmap_layer *k, mmusim_cpu *cpu, const struct kmap_high_state *st)
{
    kmap_cpu_of(k, cpu)->st.kmap_lock_spin_cycles += mmusim__cpu_head(cpu)->cycles - st->spin_from;
}

/* 2.6.18 flushes at every wrap; 2.6.32 on only if a slot was cleared (need_flush, linux-highmem.md §2). */
static int wrap_needs_flush(const mmusim_kmap_layer *k, const struct kmap_high_state *st)
{
    return st->need_flush || k->opts.pkmap_era == MMUSIM_ERA_2_6_18;
}

static uint64_t ipis_sent(mmusim_cpu *cpu)
{
    struct mmusim_cpu_stats s;
    mmusim_cpu_stats(cpu, &s);
    return s.ipis_sent;
}

/* The path is over: its latency, its output. */
static int path_done(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_high_state *st, int rc)
{
    uint64_t d = mmusim__cpu_head(cpu)->cycles - st->started;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    if (st->unmap) {
        kc->st.kunmap_cycles += d;
        mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_UNMAP, d);
    } else if (!st->flush_unused) {
        kc->st.kmap_cycles += d;
        mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_MAP, d);
        if (st->out)
            st->out->va = st->vaddr;
    }
    st->pc = H_LOCK;
    st->busy = 0;
    return rc;
}

/* flush_all_zero_pkmaps and what follows it, kmap_lock held: the states H_SWEEP to H_FLUSH_DONE. */
static int sweep(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_high_state *st)
{
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    unsigned flags;
    for (;;) {
        switch (st->pc) {
        case H_SWEEP:
            while (st->n < k->last_pkmap && k->pkmap_count[st->n] != 1)
                st->n++;
            if (st->n == k->last_pkmap) {
                st->pc = H_FLUSH;
                continue;
            }
            {
                /* count 1: no user, maybe in a TLB. To 0, the PTE cleared, the page forgotten. */
                uint64_t pte = kmap_pte_read(k, k->pkmap_pte[st->n]);
                k->pkmap_count[st->n] = 0;
                if (!(pte & MMUSIM_PTE_P)) {
                    mmusim__kmap_bug(k, cpu, "flush_all_zero_pkmaps: pkmap_count 1 on a none PTE",
                                     mmusim_pkmap_addr(k->layout, st->n));
                    st->n++;
                    continue;
                }
                st->wpfn = (pte & pt_frame_mask(k->sys->mmu)) >> MMUSIM_PAGE_SHIFT;
                int rc = mmusim__kmap_clear(k, cpu, k->pkmap_pte[st->n]);
                if (rc != MMUSIM_OK)
                    return fail(k, cpu, st, rc);
                kc->st.wrap_cleared++;
                st->need_flush = 1;
            }
            WAIT_AT(H_SWEEP_UNLINK, mmusim_spin_lock_irqsave(cpu, bucket_lock(k, st->wpfn), &flags));
            st->flags = flags;
            /* fall through */
        case H_SWEEP_UNLINK:
            st->entry = pa_unlink(k, st->wpfn);
            unlock_irq(cpu, bucket_lock(k, st->wpfn), st->flags);
            if (uses_pool(k) && st->entry >= 0) {
                WAIT_AT(H_SWEEP_POOLED, mmusim_spin_lock_irqsave(cpu, k->pool_lock, &flags));
                st->flags = flags;
                st->pc = H_SWEEP_POOLED;
                continue;
            }
            st->n++;
            st->pc = H_SWEEP;
            continue;
        case H_SWEEP_POOLED:
            k->maps[st->entry].next = k->pool_head;
            k->pool_head = st->entry;
            unlock_irq(cpu, k->pool_lock, st->flags);
            st->n++;
            st->pc = H_SWEEP;
            continue;
        case H_FLUSH:
            st->ipis_before = UINT64_MAX;
            if (wrap_needs_flush(k, st)) {
                const uint32_t base = mmusim_pkmap_addr(k->layout, 0);
                st->ipis_before = ipis_sent(cpu);
                kc->st.wrap_flushes++;
                kc->st.global_flushes++;
                /* One flush of the whole pool, sent while kmap_lock is held. */
                WAIT_AT(H_FLUSH_DONE,
                        mmusim_flush_tlb_kernel_range_smp(cpu, base, base + k->last_pkmap * MMUSIM_PAGE_SIZE));
            }
            st->pc = H_FLUSH_DONE;
            /* fall through */
        case H_FLUSH_DONE:
            if (st->ipis_before != UINT64_MAX)
                kc->st.ipis_sent += ipis_sent(cpu) - st->ipis_before;
            return MMUSIM_OK; /* the caller goes on from its own state */
        default:
            return fail(k, cpu, st, MMUSIM_EINVAL);
        }
    }
}

static int kmap_high_path(mmusim_cpu *cpu, void *state)
{
    struct kmap_high_state *st = state;
    mmusim_kmap_layer *k = st->k;
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    const uint32_t mask = k->last_pkmap - 1;
    unsigned flags;
    int rc;
    for (;;) {
        switch (st->pc) {
        case H_LOCK:
            WAIT_AT(H_LOOKUP, lock_kmap(k, cpu, st));
            /* fall through */
        case H_LOOKUP:
            note_spin(k, cpu, st);
            WAIT_AT(H_LOOKUP_DONE, mmusim_spin_lock_irqsave(cpu, bucket_lock(k, st->page.pfn), &flags));
            st->flags = flags;
            /* fall through */
        case H_LOOKUP_DONE:
            st->vaddr = mmusim__pkmap_page_address(k, st->page.pfn);
            unlock_irq(cpu, bucket_lock(k, st->page.pfn), st->flags);
            if (st->vaddr) {
                kc->st.kmap_hits++; /* already mapped (count >= 1): no PTE write, no flush */
                st->pc = H_INC;
                continue;
            }
            kc->st.kmap_misses++;
            /* fall through */
        case H_START:
            st->count = k->last_pkmap;
            /* fall through */
        case H_SCAN:
            k->last_pkmap_nr = (k->last_pkmap_nr + 1) & mask; /* pre-incremented: slot 0 is used last */
            if (k->last_pkmap_nr == 0) {
                kc->st.wraps++;
                st->need_flush = 0;
                st->n = 0;
                st->pc = H_SWEEP;
                continue;
            }
            st->pc = H_CHECK;
            continue;
        case H_SWEEP:
        case H_SWEEP_UNLINK:
        case H_SWEEP_POOLED:
        case H_FLUSH:
        case H_FLUSH_DONE:
            if ((rc = sweep(k, cpu, st)) != MMUSIM_OK)
                return rc;
            if (st->flush_unused) {
                /* kmap_flush_unused's sweep, resumed after a wait: on to its unlock. */
                st->pc = F_UNLOCK;
                continue;
            }
            st->count = k->last_pkmap; /* after the wrap the scan counts anew */
            /* fall through */
        case H_CHECK:
            if (k->pkmap_count[k->last_pkmap_nr] == 0) {
                /* The slot is free: the PTE written, no flush (nothing can hold it). */
                st->n = k->last_pkmap_nr;
                rc = mmusim__kmap_set(k, cpu, k->pkmap_pte[st->n], (st->page.pfn << MMUSIM_PAGE_SHIFT) | k->kmap_prot);
                if (rc != MMUSIM_OK)
                    return fail(k, cpu, st, rc);
                k->pkmap_count[st->n] = 1;
                st->vaddr = mmusim_pkmap_addr(k->layout, st->n);
                st->pc = uses_pool(k) ? H_TAKE_POOL : H_TAKE_BUCKET;
                continue;
            }
            if (--st->count) {
                st->pc = H_SCAN;
                continue;
            }
            /* No free slot: sleep uninterruptibly on pkmap_map_wait, kmap_lock dropped. */
            kc->st.sleeps++;
            if ((rc = mmusim_spin_unlock(cpu, k->kmap_lock)) != MMUSIM_OK)
                return fail(k, cpu, st, rc);
            st->slept_at = mmusim__cpu_head(cpu)->cycles;
            WAIT_AT(H_WOKEN, mmusim_wait_queue_sleep(cpu, k->pkmap_map_wait));
            continue; /* a sleep is always pending: not reached */
        case H_TAKE_POOL:
            WAIT_AT(H_TAKE_POOLED, mmusim_spin_lock_irqsave(cpu, k->pool_lock, &flags));
            st->flags = flags;
            /* fall through */
        case H_TAKE_POOLED:
            st->entry = k->pool_head;
            if (st->entry < 0) {
                unlock_irq(cpu, k->pool_lock, st->flags);
                mmusim__kmap_bug(k, cpu, "set_page_address: page_address_pool empty", st->vaddr);
                return fail(k, cpu, st, MMUSIM_EKMAPBUG);
            }
            k->pool_head = k->maps[st->entry].next;
            unlock_irq(cpu, k->pool_lock, st->flags);
            st->pc = H_TAKE_BUCKET;
            continue;
        case H_TAKE_BUCKET:
            if (!uses_pool(k))
                st->entry = (int)st->n; /* page_address_maps[PKMAP_NR(vaddr)] */
            WAIT_AT(H_TAKE_LINK, mmusim_spin_lock_irqsave(cpu, bucket_lock(k, st->page.pfn), &flags));
            st->flags = flags;
            /* fall through */
        case H_TAKE_LINK:
            pa_link(k, st->entry, st->page.pfn, st->vaddr);
            unlock_irq(cpu, bucket_lock(k, st->page.pfn), st->flags);
            st->pc = H_INC;
            continue;
        case H_WOKEN:
            kc->st.sleep_cycles += mmusim__cpu_head(cpu)->cycles - st->slept_at;
            WAIT_AT(H_WOKEN_LOOKUP, lock_kmap(k, cpu, st));
            /* fall through */
        case H_WOKEN_LOOKUP:
            note_spin(k, cpu, st);
            WAIT_AT(H_WOKEN_DONE, mmusim_spin_lock_irqsave(cpu, bucket_lock(k, st->page.pfn), &flags));
            st->flags = flags;
            /* fall through */
        case H_WOKEN_DONE:
            /* Another task mapped the page meanwhile: use it; else scan again (goto start). */
            st->vaddr = mmusim__pkmap_page_address(k, st->page.pfn);
            unlock_irq(cpu, bucket_lock(k, st->page.pfn), st->flags);
            st->pc = st->vaddr ? H_INC : H_START;
            continue;
        case H_INC: {
            uint32_t nr = mmusim_pkmap_nr(k->layout, st->vaddr);
            if (++k->pkmap_count[nr] < 2)
                mmusim__kmap_bug(k, cpu, "kmap_high: pkmap_count below 2 after the increment", st->vaddr);
            if ((rc = mmusim_spin_unlock(cpu, k->kmap_lock)) != MMUSIM_OK)
                return fail(k, cpu, st, rc);
            return path_done(k, cpu, st, MMUSIM_OK);
        }
        case F_LOCK:
            WAIT_AT(F_LOCKED, lock_kmap(k, cpu, st));
            /* fall through */
        case F_LOCKED:
            note_spin(k, cpu, st);
            st->need_flush = 0;
            st->n = 0;
            st->pc = H_SWEEP;
            if ((rc = sweep(k, cpu, st)) != MMUSIM_OK)
                return rc;
            /* fall through */
        case F_UNLOCK:
            if ((rc = mmusim_spin_unlock(cpu, k->kmap_lock)) != MMUSIM_OK)
                return fail(k, cpu, st, rc);
            return path_done(k, cpu, st, MMUSIM_OK);
        default:
            return fail(k, cpu, st, MMUSIM_EINVAL);
        }
    }
}

static int kunmap_high_path(mmusim_cpu *cpu, void *state)
{
    struct kmap_high_state *st = state;
    mmusim_kmap_layer *k = st->k;
    unsigned flags;
    int rc;
    switch (st->pc) {
    case U_LOCK:
        WAIT_AT(U_LOOKUP, lock_kmap(k, cpu, st));
        /* fall through */
    case U_LOOKUP:
        note_spin(k, cpu, st);
        WAIT_AT(U_LOOKUP_DONE, mmusim_spin_lock_irqsave(cpu, bucket_lock(k, st->page.pfn), &flags));
        st->flags = flags;
        /* fall through */
    case U_LOOKUP_DONE: {
        st->vaddr = mmusim__pkmap_page_address(k, st->page.pfn);
        unlock_irq(cpu, bucket_lock(k, st->page.pfn), st->flags);
        if (!st->vaddr) {
            /* BUG_ON(!vaddr): the kernel stops holding kmap_lock; mmusim releases it. */
            mmusim__kmap_bug(k, cpu, "kunmap_high: page not mapped", 0);
            return fail(k, cpu, st, MMUSIM_EKMAPBUG);
        }
        uint32_t nr = mmusim_pkmap_nr(k->layout, st->vaddr);
        /* A count must never go down to zero without a TLB flush (mm/highmem.c). */
        if (k->pkmap_count[nr] - 1 == 0) {
            mmusim__kmap_bug(k, cpu, "kunmap_high: pkmap_count reached 0 without a flush", st->vaddr);
            return fail(k, cpu, st, MMUSIM_EKMAPBUG);
        }
        st->need_wakeup = --k->pkmap_count[nr] == 1 && mmusim_wait_queue_active(k->pkmap_map_wait);
        if ((rc = mmusim_spin_unlock(cpu, k->kmap_lock)) != MMUSIM_OK)
            return fail(k, cpu, st, rc);
        if (!st->need_wakeup)
            return path_done(k, cpu, st, MMUSIM_OK);
        /* wake_up outside the lock. */
        WAIT_AT(U_WAKE, mmusim_wake_up(cpu, k->pkmap_map_wait, NULL));
    }
        /* fall through */
    case U_WAKE:
        return path_done(k, cpu, st, MMUSIM_OK);
    default:
        return fail(k, cpu, st, MMUSIM_EINVAL);
    }
}

/* ---- the calls ---- */

/* The checks kmap and kunmap share; the task's path state in *st. */
static int pkmap_args(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct mmusim_page page, struct kmap_high_state **st)
{
    if (!k || !cpu || mmusim__cpu_part(cpu) != k->sys)
        return MMUSIM_EINVAL;
    if (page.pfn >= k->layout->max_pfn)
        return MMUSIM_EPHYS;
    if (st) {
        mmusim_task *t = mmusim_cpu_current(cpu);
        *st = t ? &kmap_task_of(k, t)->high : NULL;
    }
    return MMUSIM_OK;
}

static int start_path(mmusim_kmap_layer *k, mmusim_cpu *cpu, struct kmap_high_state *st, int pc,
                      mmusim__cont_fn path)
{
    if (st->busy)
        return MMUSIM_ESTEP; /* the task's previous kmap path is not over */
    st->k = k;
    st->pc = pc;
    st->busy = 1;
    st->started = mmusim__cpu_head(cpu)->cycles;
    int rc = mmusim__smp_cont_start(cpu, path, st);
    if (rc == MMUSIM_ENOSTEP || rc == MMUSIM_ESTEP) {
        st->busy = 0; /* never started */
        st->pc = H_LOCK;
    }
    return rc;
}

int mmusim_kmap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page, struct mmusim_kaddr *out)
{
    struct kmap_high_state *st;
    int rc = pkmap_args(k, cpu, page, &st);
    if (rc != MMUSIM_OK)
        return rc;
    if (!out)
        return MMUSIM_EINVAL;
    page.zone = mmusim_layout_zone_of(k->layout, page.pfn);
    if (mmusim_cpu_in_interrupt(cpu) || !st) {
        /* might_sleep(): "sleeping function called from invalid context"; kmap_high may block. */
        mmusim__kmap_bug(k, cpu, "kmap from interrupt context: kmap may sleep", 0);
        return MMUSIM_ECONTEXT;
    }
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.kmaps++;
    if (!mmusim_page_is_highmem(page)) {
        kc->st.kmap_lowmem++; /* page_address: the direct map, no work */
        out->va = kmap_lowmem_va(k, page.pfn);
        mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_MAP, 0);
        return MMUSIM_OK;
    }
    st->page = page;
    st->out = out;
    st->unmap = 0;
    st->flush_unused = 0;
    return start_path(k, cpu, st, H_LOCK, kmap_high_path);
}

int mmusim_kunmap(mmusim_cpu *cpu, mmusim_kmap_layer *k, struct mmusim_page page)
{
    struct kmap_high_state *st;
    int rc = pkmap_args(k, cpu, page, &st);
    if (rc != MMUSIM_OK)
        return rc;
    page.zone = mmusim_layout_zone_of(k->layout, page.pfn);
    if (mmusim_cpu_in_interrupt(cpu) || !st) {
        /* 2.6.x x86 kunmap: BUG() if in_interrupt(). */
        mmusim__kmap_bug(k, cpu, "kunmap in interrupt context", 0);
        return MMUSIM_EKMAPBUG;
    }
    struct kmap_cpu *kc = kmap_cpu_of(k, cpu);
    kc->st.kunmaps++;
    if (!mmusim_page_is_highmem(page)) {
        mmusim__kmap_hist_add(k, MMUSIM_KMAP_HIST_UNMAP, 0);
        return MMUSIM_OK;
    }
    st->page = page;
    st->out = NULL;
    st->unmap = 1;
    st->flush_unused = 0;
    return start_path(k, cpu, st, U_LOCK, kunmap_high_path);
}

int mmusim_kmap_flush_unused(mmusim_cpu *cpu, mmusim_kmap_layer *k)
{
    struct kmap_high_state *st;
    struct mmusim_page none = {0, MMUSIM_ZONE_DMA};
    int rc = pkmap_args(k, cpu, none, &st);
    if (rc != MMUSIM_OK)
        return rc;
    if (mmusim_cpu_in_interrupt(cpu) || !st) {
        mmusim__kmap_bug(k, cpu, "kmap_flush_unused from interrupt context", 0);
        return MMUSIM_ECONTEXT;
    }
    st->out = NULL;
    st->unmap = 0;
    st->flush_unused = 1;
    return start_path(k, cpu, st, F_LOCK, kmap_high_path);
}
