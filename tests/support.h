/*
 * Shared test fixtures (tests/support.c), linked into every test executable.
 * They use the public API only (include/mmusim.h).
 *
 * Include after CMocka's own headers, in CMocka's order:
 *
 *     #include <stdarg.h>
 *     #include <stddef.h>
 *     #include <stdint.h>
 *     #include <setjmp.h>
 *     #include <cmocka.h>
 *     #include "support.h"
 *
 * Ownership: a test registered with TS_TEST (ts_setup / ts_teardown) gets an
 * empty struct ts_fixture in *state; every machine made by ts_machine*() is
 * recorded there and destroyed by the teardown, which CMocka runs even when
 * an assertion fails (a failed assert longjmps out of the test, past any
 * cleanup the test itself would do). Everything else a machine holds (page
 * directories, frames, tasks, locks, wait queues) goes with it.
 *
 * The SMP timing model the engine, shootdown, sync and reports tests derive
 * their cycle values from (smp.h, docs/smp.md; no cycle count is written as
 * a number, every one comes from the preset's cost fields as the machine
 * holds them, ts_costs(m)):
 *
 *   - The engine steps the CPU with the lowest clock (ties: lowest id); a step
 *     is atomic; interrupts are taken at step boundaries once the CPU's clock
 *     has reached their arrival and interrupts are on (NMIs always, except in
 *     an NMI). An idle CPU jumps its clock to the arrival.
 *   - Starting a task costs ctx_switch, plus mov_cr3 (+ mov_cr3_pae_extra
 *     under PAE) when the task's nonzero cr3 differs from the loaded one.
 *   - xAPIC (core2, atom, haswell), up to 8 CPUs: the sender pays ipi_send
 *     once per mask; target i (0-based, CPU order) sees the IPI at
 *     t + ipi_send + ipi_deliver + i * ipi_extra_target. Beyond 8 CPUs
 *     (physflat, docs/smp.md) one message per target, one after the other.
 *     p3 (apic_bus_serial): the message departs at
 *     max(t + ipi_send, bus_free) + apic_bus_msg.
 *   - A target charges ipi_handler plus the flush (pge_toggle for
 *     __flush_tlb_all with PGE, invlpg per page, mov_cr3 for a CR3
 *     reload or leave_mm) and acknowledges ipi_ack after its handler ends.
 *   - flush_tlb_all / flush_tlb_kernel_range: local flush after the last ack;
 *     flush_tlb_range/_page: local flush first.
 *   - The kernel's locks around the IPIs (docs/smp.md), each lock_op to take
 *     and lock_op to release (plus lock_handoff when another CPU had it):
 *     2.6.32/37 (the default era) flush_tlb_all takes and drops a short lock
 *     before the send (the target's call_single_queue lock for one target,
 *     call_function.lock for more), so it sends at t + 2 lock_op; a user-mm
 *     flush holds flush_state[cpu % 8]'s lock from before the send to after
 *     the last ack. 2.6.18 holds call_lock, or tlbstate_lock, likewise.
 *   - A flush with interrupts off WARNs (as the era does) and goes on.
 *   - Hardirqs and NMIs charge ipi_handler on entry (irq_entry_cycles). A
 *     device handler runs with interrupts on in the 2.6.18 and 2.6.32 eras
 *     (the default) unless requested with MMUSIM_IRQF_DISABLED, so another
 *     interrupt may be taken at its step boundaries; off in 2.6.37 and 5.11.
 *   - spin_lock / spin_unlock charge lock_op; a held lock passes to the next
 *     waiter at (release) + lock_handoff.
 *   - A cross-CPU wake-up of a task whose CPU is idle: with idle_poll 0
 *     (p3: idle halts) the waker pays ipi_send and the task resumes at
 *     waker_clock + ipi_send + ipi_deliver + ipi_handler + ctx_switch (+ the
 *     CR3 write if one is needed); with idle_poll 1 (core2, atom, haswell:
 *     mwait) no IPI, and it resumes at waker_clock + ctx_switch (+ CR3).
 */
#ifndef MMUSIM_TEST_SUPPORT_H
#define MMUSIM_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mmusim.h"

/* A run not finished by then counts as a hang: ts_run_all fails instead of looping on. */
#define TS_CYCLE_LIMIT 200000000ull

/* Machines one test may make. */
#define TS_MAX_MACHINES 4

/* A user page (the traditional ELF text start). */
#define TS_USER_VA 0x08048000u

/* ---- seeded randomness ---- */

/* The next value of a splitmix64 sequence whose state is *s (seeded workloads of the tests). */
uint64_t ts_rand(uint64_t *s);

/* ---- the fixture ---- */

struct ts_fixture {
    mmusim_machine *m[TS_MAX_MACHINES];
    unsigned n;
};

/* CMocka setup and teardown: an empty fixture in *state; every machine of it destroyed. */
int ts_setup(void **state);
int ts_teardown(void **state);

/* A test with the fixture (expands to CMocka's macro: use after cmocka.h). */
#define TS_TEST(fn) cmocka_unit_test_setup_teardown(fn, ts_setup, ts_teardown)

/*
 * A machine from cfg, owned by the fixture in *state (destroyed by
 * ts_teardown). Asserts that it is created.
 */
mmusim_machine *ts_machine_from(void **state, const struct mmusim_config *cfg);

/*
 * A machine with ncpus CPUs: the defaults, then the key/value pairs of kv
 * (mmusim_config_set names; NULL-terminated; may be NULL; set "preset"
 * first), then "cpus". Owned by the fixture.
 */
mmusim_machine *ts_machine(void **state, unsigned ncpus, const char *const *kv);

/* ---- address spaces ---- */

/*
 * A new address space (mmusim_pgd_create) with npages consecutive 4 KiB
 * pages mapped from va, each to a fresh HighMem frame, with flags. The
 * frames' pfns go to pfns[0..npages-1] (pfns may be NULL). Returns its CR3.
 * The machine owns all of it. npages may be 0: an empty user part.
 */
uint64_t ts_address_space(mmusim_machine *m, uint32_t va, unsigned npages, uint64_t flags, uint64_t *pfns);

/* Map npages pages from va to the frames pfns[0..npages-1] in the address space cr3. */
void ts_map_pages(mmusim_machine *m, uint64_t cr3, uint32_t va, const uint64_t *pfns, unsigned npages,
                  uint64_t flags);

/* ---- running ---- */

/*
 * Run to completion: mmusim_machine_run with TS_CYCLE_LIMIT, asserting
 * MMUSIM_OK, no deadlock and finished. Returns the result.
 */
struct mmusim_run_result ts_run_all(mmusim_machine *m);

/* A task on cpu (asserts it is created). */
mmusim_task *ts_spawn(mmusim_machine *m, unsigned cpu, uint64_t cr3, mmusim_step_fn fn, void *arg);

/* ---- looking at a machine ---- */

const struct mmusim_costs *ts_costs(const mmusim_machine *m);
/* CPU i (asserts it exists). */
mmusim_cpu *ts_cpu(mmusim_machine *m, unsigned i);
struct mmusim_cpu_stats ts_stats(mmusim_machine *m, unsigned i);
uint64_t ts_clock(mmusim_machine *m, unsigned i);
/* How many BUG/WARN reports were recorded. */
uint64_t ts_nreports(const mmusim_machine *m);

/* First step boundary at or after `at` of a CPU whose steps start at t0 and last len cycles. */
uint64_t ts_boundary_after(uint64_t t0, uint64_t len, uint64_t at);

/* ---- what a step saw ---- */

struct ts_snap {
    int taken;
    uint64_t clock;
    enum mmusim_context ctx;
    int in_int, irqs_off;
    unsigned nest, preempt;
    mmusim_task *current;
};

void ts_take_snap(mmusim_cpu *cpu, struct ts_snap *s);
/* Asserts the snapshot was taken and shows these values. */
void ts_check_snap(const struct ts_snap *s, uint64_t clock, enum mmusim_context ctx, int in_int, int irqs_off,
                   unsigned nest, unsigned preempt);

/* ---- steps shared by the SMP tests ---- */

#define TS_MAX_STEPS 64

/* A scripted step function: one instruction per step. */
enum ts_op { TS_OP_END, TS_OP_SPEND, TS_OP_IRQ_OFF, TS_OP_IRQ_ON };

struct ts_ins {
    enum ts_op op;
    uint64_t n; /* cycles spent after the op */
};

struct ts_script {
    struct ts_ins prog[TS_MAX_STEPS];
    unsigned pc;
    struct ts_snap at[TS_MAX_STEPS]; /* what each step saw when called */
};

/* Append n instructions (op, cycles). */
void ts_script_add(struct ts_script *s, enum ts_op op, uint64_t cycles, unsigned n);
/* The step: arg is a struct ts_script. Returns DONE after the last instruction. */
enum mmusim_step ts_script_step(mmusim_cpu *cpu, void *arg);

/* A task that calls flush_tlb_all once and notes when it was called and resumed. */
struct ts_flusher {
    int phase, rc;
    uint64_t delay; /* spent just before the call */
    uint64_t called_at, resumed_at;
};

enum mmusim_step ts_flush_all_once(mmusim_cpu *cpu, void *arg);

/* An interrupt handler: notes what it saw on its first call, may raise a softirq, spends, returns. */
struct ts_handler {
    struct ts_snap snap;
    uint64_t spend;
    mmusim_step_fn soft;
    void *soft_arg;
    int rc;
};

enum mmusim_step ts_handler_step(mmusim_cpu *cpu, void *arg);

/* A task that takes a spinlock, holds it `hold` cycles, and releases it. */
struct ts_locker {
    mmusim_spinlock *l;
    uint64_t hold, delay;
    int phase, rc_lock, rc_unlock, owner;
    uint64_t spin_from, acquired, released;
    unsigned preempt_in;
};

/* lock; (once owned) note the time and spend `hold`; unlock: three steps. */
enum mmusim_step ts_lock_step(mmusim_cpu *cpu, void *arg);
/*
 * spend `delay`, lock, spend `hold`, unlock, all in one step when the lock
 * is taken at once; when spin_lock is pending, the step returns there and
 * the rest (hold, unlock) is one step once the lock is ours. Then DONE.
 */
enum mmusim_step ts_lock_atomic(mmusim_cpu *cpu, void *arg);

#endif /* MMUSIM_TEST_SUPPORT_H */
