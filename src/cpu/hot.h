/*
 * mmusim — the cpu layer's operations that a layer above makes on its hot
 * path (the kmap_atomic short path, src/kmap/atomic.c), as inline
 * functions: a kmap_atomic pair has a budget of 200 host instructions
 * (docs/kmap.md, "Host cost"), and as calls these cost more in saves,
 * restores and argument moves than in work. Each does what the named call
 * does and hands anything outside its common case to that call, so the two
 * cannot drift apart: the calls are built on these.
 *
 * This header brings the layer's private structures (cpu_impl.h) into the
 * layers above for these functions alone; code there calls them and never
 * touches the structures.
 */
#ifndef MMUSIM_CPU_HOT_H
#define MMUSIM_CPU_HOT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "cpu/hooks.h"
#include "internal.h"
#include "mmusim/error.h"

/* A task's extension area starts after its struct, aligned for any type (hooks.c). */
#define MMUSIM__EXT_ALIGN _Alignof(max_align_t)
#define MMUSIM__TASK_EXT_BASE \
    ((sizeof(struct mmusim_task) + MMUSIM__EXT_ALIGN - 1) & ~(size_t)(MMUSIM__EXT_ALIGN - 1))

/* mmusim__task_ext (cpu/hooks.h): the area reserved at off in task t. */
static inline void *mmusim__task_ext_hot(struct mmusim_task *t, size_t off)
{
    return (unsigned char *)t + MMUSIM__TASK_EXT_BASE + off;
}

/* mmusim_cpu_current and "mmusim_cpu_context is MMUSIM_CTX_TASK" of a CPU (non-NULL). */
static inline struct mmusim_task *mmusim__cpu_current_hot(const struct mmusim_cpu *cpu)
{
    return cpu->smp.current;
}

static inline int mmusim__cpu_in_task_hot(const struct mmusim_cpu *cpu)
{
    return !cpu->smp.depth || cpu->smp.stack[cpu->smp.depth - 1].ctx == MMUSIM_CTX_TASK;
}

/*
 * preempt_count for a hot path that has no calls in it. The preemption
 * field's count (mask: the machine's PREEMPT_MASK, its layout's
 * preempt_bits.preempt_mask, which the caller may hold nearer at hand); a
 * caller raises it inline only while the result stays at or below
 * MMUSIM__PREEMPT_QUIET_MAX, where mmusim_preempt_disable's DEBUG_PREEMPT
 * check is silent, and lowers it only while it is not 0 (else
 * mmusim_preempt_enable reports the underflow): outside those, the public
 * calls must be made. Then the raise (the drop) itself. cpu non-NULL.
 */
#define MMUSIM__PREEMPT_QUIET_MAX(mask) (MMUSIM__PREEMPT_WARN_AT(mask) - 1u)

static inline unsigned mmusim__preempt_depth(const struct mmusim_cpu *cpu, unsigned mask)
{
    return cpu->smp.preempt_count & mask;
}

static inline void mmusim__preempt_inc_hot(struct mmusim_cpu *cpu)
{
    cpu->smp.preempt_count++;
}

static inline void mmusim__preempt_dec_hot(struct mmusim_cpu *cpu)
{
    cpu->smp.preempt_count--;
}

/* mmusim_cpu_spend of a CPU (non-NULL): cycles of work, charged and counted as compute. */
static inline void mmusim__cpu_spend_hot(struct mmusim_cpu *cpu, uint64_t cycles)
{
    cpu->cycles += cycles;
    cpu->stats.compute_cycles += cycles;
}

/*
 * What mmusim_local_irq_disable followed by mmusim_local_irq_enable (or by
 * nothing, when interrupts were off already: local_irq_save and
 * local_irq_restore) leave behind within one call: the interrupt flag as it
 * was, and the CPU marked for the engine to look at its next event again
 * (mmusim__smp_touch).
 */
static inline void mmusim__irq_save_restore_hot(struct mmusim_cpu *cpu)
{
    cpu->sys->smp->dirty |= 1ull << cpu->id;
}

/* mmusim_flush_tlb_one (INVLPG va) of a CPU (non-NULL): the entries dropped, the count, the charge. */
static inline uint64_t mmusim__flush_tlb_one_hot(struct mmusim_cpu *cpu, uint32_t va)
{
    const uint64_t c = cpu->costs->invlpg;
    cpu->stats.dropped_invlpg += mmusim__tlbset_invlpg(&cpu->tlb, va);
    cpu->stats.invlpg++;
    cpu->stats.invlpg_cycles += c;
    cpu->cycles += c;
    return c;
}

/*
 * Slot handles (cpu/hooks.h, struct mmusim__pte_slot). A handle is current
 * while the physical memory's generation is the one it was resolved in:
 * its host bytes may then be read and written directly.
 */
static inline int mmusim__pte_slot_current(const struct mmusim_cpu *cpu, const struct mmusim__pte_slot *p)
{
    return p->gen == *cpu->pm_gen;
}

/* What the entry of a current handle holds. */
static inline uint64_t mmusim__pte_slot_peek(const struct mmusim__pte_slot *p)
{
    if (p->wide) {
        uint64_t v;
        memcpy(&v, p->host, 8);
        return v;
    }
    uint32_t v32;
    memcpy(&v32, p->host, 4);
    return v32;
}

/*
 * The store through a current handle: the bytes, the writer record, the
 * charge and the counts of mmusim__pte_store_now. Without PAE only the low
 * 32 bits are stored, as pt_set does (a kernel entry's value fits them).
 */
static inline void mmusim__pte_slot_put(struct mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t v)
{
    struct cpu_sys *s = cpu->sys;
    if (p->wide) {
        memcpy(p->host, &v, 8); /* both halves at once: with no store hook, no one sees them apart */
    } else {
        uint32_t v32 = (uint32_t)v;
        memcpy(p->host, &v32, 4);
    }
    p->rec->cpu = cpu->id;
    p->rec->cycle = cpu->cycles;
    s->writers.n_written++;
    const uint64_t c = cpu->costs->pte_write;
    cpu->cycles += c;
    cpu->stats.pte_writes++;
    cpu->stats.pte_write_cycles += c;
}

/* mmusim__pte_slot_put if the handle is current (0), else -1 with nothing done. */
static inline int mmusim__pte_slot_write_hot(struct mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t v)
{
    if (MMUSIM_UNLIKELY(!mmusim__pte_slot_current(cpu, p)))
        return -1;
    mmusim__pte_slot_put(cpu, p, v);
    return 0;
}

/* mmusim__pte_slot_store and mmusim__pte_slot_clear, inline in their common case. */
static inline int mmusim__pte_slot_store_hot(struct mmusim_cpu *cpu, struct mmusim__pte_slot *p, uint64_t v)
{
    if (MMUSIM_LIKELY(mmusim__pte_slot_write_hot(cpu, p, v) == 0))
        return MMUSIM_OK;
    return mmusim__pte_slot_store(cpu, p, v);
}

static inline int mmusim__pte_slot_clear_hot(struct mmusim_cpu *cpu, struct mmusim__pte_slot *p)
{
    if (MMUSIM_LIKELY(mmusim__pte_slot_write_hot(cpu, p, 0) == 0))
        return MMUSIM_OK;
    return mmusim__pte_slot_clear(cpu, p);
}

#endif /* MMUSIM_CPU_HOT_H */
