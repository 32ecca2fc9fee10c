/*
 * mmusim — what the cpu layer offers the layers above it (src/kmap/,
 * src/trace/): hooks into the scheduler and the interrupt path, and
 * extension areas in each task and each CPU. DESIGN.md, "Layers": a lower
 * layer lets a higher one act through a hook that the higher one registers
 * at machine creation. This header is the whole contract: it shows no
 * engine structure, only the opaque cpu part (struct cpu_sys), CPUs and
 * tasks. docs/smp.md, "Hooks", says when each hook fires.
 *
 * Registration is open from the creation of the cpu part until the first
 * task is created or the first mmusim_machine_run starts; after that every
 * registration call answers MMUSIM_ECLOSED. So a layer registers in its own
 * init, which the machine runs right after the cpu part's.
 */
#ifndef MMUSIM_CPU_HOOKS_H
#define MMUSIM_CPU_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "mmusim/smp.h"

struct cpu_sys;

/* How many layers may register hooks. */
#define MMUSIM__MAX_HOOKS 4

/*
 * One layer's hooks; any may be NULL. ctx is handed back to each. With
 * several layers registered, the hooks that set up state (switch_in, fork)
 * run in registration order and those that tear it down (switch_out,
 * handler_end, task_end) in reverse registration order, as destructors undo
 * constructors: the layer registered last sees its state built last and
 * torn down first.
 */
struct mmusim__hooks {
    void *ctx;
    /*
     * prepare_task_switch(): prev leaves cpu — it blocks, is preempted,
     * yields, or ends (after task_end). Interrupts are off, prev is still
     * mmusim_cpu_current(cpu) and its address space still loaded.
     */
    void (*switch_out)(void *ctx, mmusim_cpu *cpu, mmusim_task *prev);
    /*
     * finish_task_switch(): next has just been switched in (the switch and
     * any CR3 write charged, next is mmusim_cpu_current(cpu)); interrupts
     * are still off and are turned on right after the hooks return.
     */
    void (*switch_in)(void *ctx, mmusim_cpu *cpu, mmusim_task *next);
    /*
     * A softirq, hardirq (a device interrupt, an IPI, the tick) or NMI
     * handler returns: called just before its frame is popped, so the
     * context is still `kind` and preempt_count still counts it.
     */
    void (*handler_end)(void *ctx, mmusim_cpu *cpu, enum mmusim_context kind);
    /*
     * t's step returned MMUSIM_STEP_DONE (do_exit): t is still current, in
     * the state its last step left (interrupts, preempt_count); switch_out
     * follows.
     */
    void (*task_end)(void *ctx, mmusim_cpu *cpu, mmusim_task *t);
    /*
     * mmusim_task_create made child (its id assigned, its extension areas
     * zeroed, not yet run). Called from a step, cpu is the CPU running it
     * and parent that CPU's current task (NULL if it has none); otherwise
     * both are NULL.
     */
    void (*fork)(void *ctx, mmusim_cpu *cpu, mmusim_task *parent, mmusim_task *child);
};

/*
 * A library-carried continuation (DESIGN.md, Time): a composite kernel path
 * (lock, work, a flush under the lock, unlock; later kmap_high) run as a
 * small state machine on the frame of the step that called it. It returns
 * MMUSIM_PENDING while one of its operations waits, and anything else when
 * the path is over; the engine calls it again instead of the step until
 * then, so the step sees one call that completed or is pending.
 */
typedef int (*mmusim__cont_fn)(mmusim_cpu *cpu, void *state);

/*
 * Run the continuation fn(cpu, state) from a step or from a running
 * continuation: at once, and if it returns MMUSIM_PENDING, on cpu's top
 * frame until it returns anything else (then the continuation that started
 * it, if any, is called again: they nest, as kmap_high's wrap flush, itself
 * a path, runs inside kmap_high). Returns what fn returned first
 * (MMUSIM_PENDING: the caller must return; a continuation returns
 * MMUSIM_PENDING too). ENOSTEP outside a step, ESTEP after a pending call of
 * the same step, EFULL beyond four nested. A task that sleeps inside a
 * continuation keeps it until it runs again.
 */
int mmusim__smp_cont_start(mmusim_cpu *cpu, mmusim__cont_fn fn, void *state);

/*
 * Kernel page-table stores for a layer above that orders them itself (the
 * kmap layer's per-CPU slots are walked by their own CPU only; the pkmap
 * entries are written under kmap_lock): the store is made now, not at a
 * turn in global time, and is charged, counted and recorded as
 * mmusim_set_pte's is (include/mmusim/pte.h). entry_pa is the entry's
 * physical address (mmusim__kernel_pte_pa). *old (may be NULL) gets what
 * it held. MMUSIM_ENOMEM leaves everything as it was.
 */
int mmusim__pte_store_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t value, uint64_t *old);
int mmusim__pte_clear_now(mmusim_cpu *cpu, uint64_t entry_pa, uint64_t *old);
/*
 * A kernel entry a layer stores to again and again (a kmap slot's PTE),
 * resolved once to the host bytes that hold it and to its writer record,
 * so that a store is a handful of host instructions instead of a lookup of
 * the frame and of the record each time (the kmap_atomic pair's budget,
 * docs/kmap.md). The stores are mmusim__pte_store_now's: the same bytes,
 * charge, counts and record. A handle goes stale when the physical
 * memory's generation moves (a frame's storage dropped, a store hook set);
 * the next store then takes the general path and resolves it again.
 * Initialise with mmusim__pte_slot_init (cannot fail: resolution waits for
 * the first store); nothing to free.
 */
struct pte_writer;
struct mmusim__pte_slot {
    uint64_t entry_pa;
    unsigned char *host;      /* the entry's bytes on the host, valid while gen matches */
    struct pte_writer *rec;   /* its writer record */
    uint64_t gen;             /* the physical memory's generation when resolved; UINT64_MAX: not yet */
    int wide;                 /* a PAE entry (8 bytes), else 4 */
};
void mmusim__pte_slot_init(struct mmusim__pte_slot *p, uint64_t entry_pa);
int mmusim__pte_slot_store(mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t value);
int mmusim__pte_slot_clear(mmusim_cpu *cpu, struct mmusim__pte_slot *p);
/* The physical address of the 4 KiB kernel entry for va (its table must exist); MMUSIM_ENOTMAPPED, MMUSIM_ELARGE. */
int mmusim__kernel_pte_pa(struct cpu_sys *s, uint32_t va, uint64_t *entry_pa);
/* The entry at entry_pa as it is now. */
uint64_t mmusim__pte_read(struct cpu_sys *s, uint64_t entry_pa);

/*
 * What a layer above may read of a CPU without a call, on its hot paths
 * (kmap_atomic): the first members of struct mmusim_cpu (cpu_impl.h puts
 * this structure first, in a union with the same members by name, so the
 * cpu layer's own code reads them as cpu->sys, cpu->id, cpu->cycles).
 * Read only: the clock is charged by the cpu layer's calls.
 */
struct mmusim__cpu_head {
    struct cpu_sys *sys;        /* the cpu part the CPU belongs to */
    unsigned id;
    uint64_t cycles;            /* the CPU's clock */
    unsigned char *ext;         /* the layers' per-CPU extension area */
};

static inline const struct mmusim__cpu_head *mmusim__cpu_head(const mmusim_cpu *cpu)
{
    return (const struct mmusim__cpu_head *)(const void *)cpu;
}

/* The cpu part a CPU belongs to, for code that holds only the CPU. */
static inline struct cpu_sys *mmusim__cpu_part(const mmusim_cpu *cpu)
{
    return cpu ? mmusim__cpu_head(cpu)->sys : NULL;
}

/* Register a copy of h. MMUSIM_EINVAL for NULL, MMUSIM_EFULL when
 * MMUSIM__MAX_HOOKS layers have registered, MMUSIM_ECLOSED once closed. */
int mmusim__hooks_register(struct cpu_sys *s, const struct mmusim__hooks *h);

/*
 * Reserve size bytes in every task (task_ext) or every CPU (cpu_ext);
 * *off is where they start, aligned for any type. The areas are zeroed when
 * the task or the machine is created and freed with the machine.
 * MMUSIM_EINVAL for a size of 0 or a NULL off, MMUSIM_ENOMEM, MMUSIM_ECLOSED
 * once closed. Pointers to an area are stable once registration is closed.
 */
int mmusim__task_ext_reserve(struct cpu_sys *s, size_t size, size_t *off);
int mmusim__cpu_ext_reserve(struct cpu_sys *s, size_t size, size_t *off);

/* The area reserved at off in task t or CPU cpu (both non-NULL). */
void *mmusim__task_ext(mmusim_task *t, size_t off);
static inline void *mmusim__cpu_ext(mmusim_cpu *cpu, size_t off)
{
    return mmusim__cpu_head(cpu)->ext + off;
}

/*
 * mmusim_cpu_access_batch (include/mmusim/cpu.h) without its check of the
 * references, for a layer that builds them itself and has checked what it
 * built them from (the replay driver now runs records one by one through
 * the hit cache below instead): every access
 * one of kinds 0..2 with or without USER, every size 1 to 4096. Anything
 * else is undefined. cpu and sum must not be NULL.
 */
struct mmusim_ref;
struct mmusim_access;
struct mmusim_batch_sum;
int mmusim__cpu_access_batch_trusted(mmusim_cpu *cpu, const struct mmusim_ref *refs, size_t n,
                                     struct mmusim_access *per, struct mmusim_batch_sum *sum);

/*
 * The batch call's hit cache, kept by a layer that runs references one at a
 * time from its own loop (the replay driver decodes and runs each record in
 * one pass): ok_tag[access] is the tag (page number + 1) of the entry of
 * access's first array known to serve that access and to be its array's
 * most recently used, or 0. A reference of that access, on that page and
 * inside it, is a TLB hit whose only effects are two counters: the caller
 * counts it in hits[MMUSIM_ACC_KIND(access)] and nothing else. Any other
 * reference goes to mmusim__cpu_access_uncached, which runs it as
 * mmusim_cpu_access does (data NULL) and keeps the cache true. The counts
 * reach the arrays and the CPU with mmusim__hit_cache_flush, which must run
 * before anything reads them; anything that may change a TLB other than
 * these two calls (a page-table store, a CR3 write, a fault handled) must be
 * followed by mmusim__hit_cache_forget. With the coherence checker on, no
 * tag is ever cached: every reference takes the checked slow path, as in
 * the batch call.
 */
struct mmusim__hit_cache {
    uint32_t ok_tag[8];
    uint64_t hits[4];      /* hits on ok_tag by kind, not yet added to the arrays */
    uint64_t slow_hits;    /* hits found by a lookup, not yet added to the CPU's accesses */
};

static inline void mmusim__hit_cache_forget(struct mmusim__hit_cache *c)
{
    for (unsigned i = 0; i < 8; i++)
        c->ok_tag[i] = 0;
}

static inline void mmusim__hit_cache_init(struct mmusim__hit_cache *c)
{
    mmusim__hit_cache_forget(c);
    for (unsigned i = 0; i < 4; i++)
        c->hits[i] = 0;
    c->slow_hits = 0;
}

/* Add the cached counts to the arrays and the CPU, and zero them. cpu and c not NULL. */
void mmusim__hit_cache_flush(mmusim_cpu *cpu, struct mmusim__hit_cache *c);

/*
 * One reference that the cache did not serve: access one of kinds 0..2 with
 * or without USER, size 1 to 4096 (else undefined). out gets its result
 * (fault, error_code, cr2, walked; pa and cycles only when it took the slow
 * path); returns mmusim_cpu_access's status.
 */
struct mmusim_access;
int mmusim__cpu_access_uncached(mmusim_cpu *cpu, uint32_t va, unsigned access, unsigned size,
                                struct mmusim__hit_cache *c, struct mmusim_access *out);

#endif /* MMUSIM_CPU_HOOKS_H */
