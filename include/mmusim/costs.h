/*
 * mmusim — the cost table.
 *
 * Every cycle mmusim charges comes from one of these fields. A preset
 * (p3, core2 — the default —, atom, haswell) fills them all; each field can
 * then be overridden, by name, with mmusim_config_set(cfg, "cost.NAME", v).
 * docs/costs.md gives every field of every preset with its source, or says it
 * is an estimate; the tests check the code against that table.
 *
 * All values are in core clock cycles of the simulated CPU, except cpu_mhz
 * (the clock, used to turn cycles into nanoseconds) and apic_bus_serial and
 * idle_poll (flags).
 */
#ifndef MMUSIM_COSTS_H
#define MMUSIM_COSTS_H

#include "api.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, one-line meaning). Order is the order of docs/costs.md. */
#define MMUSIM_COST_FIELDS(XX)                                                 \
    XX(cpu_mhz, "core clock in MHz (converts cycles to ns)")                   \
    XX(walk_fixed, "page walk fixed overhead (start and finish of the walker)") \
    XX(walk_ref_hit, "one page-table reference that hits the page-table line cache") \
    XX(walk_ref_miss, "one page-table reference that misses it (memory)")      \
    XX(walk_ad_write, "write-back of an Accessed or Dirty bit (locked update)") \
    XX(tlb_l0_miss, "extra cycles when the uTLB/DTLB0 misses and the next level hits") \
    XX(stlb_hit, "extra cycles when the first level misses and the second-level TLB hits") \
    XX(invlpg, "INVLPG, local, one page (__flush_tlb_one)")                    \
    XX(mov_cr3, "MOV to CR3 without PAE, refill excluded (__flush_tlb)")       \
    XX(mov_cr3_pae_extra, "one load of the four PAE PDPTE registers (a MOV to CR3, or to CR4 changing PGE or PSE)") \
    XX(pge_toggle, "CR4.PGE off and on again (__flush_tlb_global)")            \
    XX(pte_write, "one kernel store to a page-table entry (set_pte, pte_clear)") \
    XX(ipi_send, "sender's cost to issue one IPI (ICR write and wait for delivery status)") \
    XX(ipi_deliver, "latency from the ICR write to the target taking the interrupt") \
    XX(ipi_handler, "interrupt entry and return on the target, flush work excluded") \
    XX(ipi_ack, "target's acknowledgement reaching the spinning sender")      \
    XX(ipi_extra_target, "extra latency per target beyond the first (fan-out)") \
    XX(apic_bus_serial, "1 if IPIs travel on the P6 serial APIC bus, one message at a time") \
    XX(apic_bus_msg, "cycles one short APIC-bus message occupies the bus (21 bus clocks)") \
    XX(idle_poll, "1 if idle CPUs poll need_resched (mwait): a wake-up sends them no reschedule IPI") \
    XX(ctx_switch, "a task switch: schedule() and switch_to(), the CR3 write excluded") \
    XX(lock_op, "an uncontended spin_lock or spin_unlock (one locked read-modify-write)") \
    XX(lock_handoff, "a released spinlock's cache line reaching the next spinning CPU") \
    XX(tick_handler, "one scheduler tick: timer interrupt entry and return, scheduler_tick and the timer bookkeeping") \
    XX(irq_save_restore, "local_irq_save and local_irq_restore around a short section (pushf, cli; popf)") \
    XX(page_fault, "a minor page fault on a user page: #PF entry and return, the kernel finding and zeroing a frame, set_pte")

struct mmusim_costs {
#define MMUSIM_COST_FIELD_(name, doc) uint32_t name;
    MMUSIM_COST_FIELDS(MMUSIM_COST_FIELD_)
#undef MMUSIM_COST_FIELD_
};

/* The presets, in a fixed order. */
enum mmusim_preset {
    MMUSIM_PRESET_P3,
    MMUSIM_PRESET_CORE2,
    MMUSIM_PRESET_ATOM,
    MMUSIM_PRESET_HASWELL,
    MMUSIM_PRESET_COUNT_
};

/* Name of a preset ("p3", "core2", "atom", "haswell"), or NULL. */
MMUSIM_API const char *mmusim_preset_name(enum mmusim_preset p);

/* Look a preset up by name. Returns MMUSIM_OK, MMUSIM_EPRESET, or MMUSIM_EINVAL for a NULL argument. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_preset_from_name(const char *name, enum mmusim_preset *out);

/* The cost table of a preset. Returns MMUSIM_OK, MMUSIM_EPRESET, or MMUSIM_EINVAL for a NULL out. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_costs_preset(enum mmusim_preset p, struct mmusim_costs *out);

/* Nanoseconds for a cycle count under these costs (cpu_mhz). */
MMUSIM_API double mmusim_cycles_to_ns(const struct mmusim_costs *c, uint64_t cycles);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_COSTS_H */
