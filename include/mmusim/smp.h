/*
 * mmusim — several CPUs in simulated time: the engine, execution contexts,
 * interrupts, IPIs and the SMP TLB flushes built on them, spinlocks, tasks
 * and wait queues.
 *
 * The engine (mmusim_machine_run) calls workload steps one at a time, always
 * on the CPU whose next event is earliest in simulated time (ties: lowest CPU
 * number), so the same configuration and seed give the same run. A step
 * performs one operation on its CPU — an access, a flush, a lock, some
 * compute — and returns. Everything a step does to other CPUs (an IPI, a
 * lock release, a wake-up) takes effect at the simulated time it happens.
 *
 * A CPU runs, from the bottom of its context stack up: its current task
 * (task context), then any softirq, hardirq or NMI handlers that interrupted
 * it. Only the top context's step is called. Interrupts are taken between
 * steps ("at operation boundaries"): an interrupt that arrives while a step
 * runs is taken after it.
 *
 * Steps must not block the host. An operation that may have to wait (a
 * spinlock, an SMP flush, a sleep, a wake-up) returns MMUSIM_OK when it
 * completed inside the call, or MMUSIM_PENDING when the engine will complete
 * it: the step must then return (any other call on the same CPU answers
 * MMUSIM_ESTEP until it has), and when the step is called again the
 * operation is done and its outputs are filled. The engine charges the
 * spin or the wait to the CPU's clock. A task that sleeps returns
 * MMUSIM_STEP_BLOCK after mmusim_wait_queue_sleep() (MORE there is a BUG
 * report and ends the run with MMUSIM_ENOBLOCK, see mmusim_machine_run); the
 * engine runs another task or idles the CPU until a wake-up, then calls the
 * same step again.
 *
 * What other CPUs observe — taking a lock, sending IPIs, waking a queue —
 * takes effect in global simulated-time order, whatever the step
 * boundaries: a step that spent cycles and reaches a lock at cycle 3,400
 * while another CPU will reach it at 2,450 gets MMUSIM_PENDING, and the
 * engine takes the lock for it at 3,400, after the other CPU took it at
 * 2,450. So a call can be pending even when nothing is contended.
 */
#ifndef MMUSIM_SMP_H
#define MMUSIM_SMP_H

#include "api.h"

#include <stdint.h>

#include "cpu.h"
#include "machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a step returns. */
enum mmusim_step {
    MMUSIM_STEP_MORE,  /* did an operation; call again */
    MMUSIM_STEP_DONE,  /* finished: a task exits, a handler returns */
    MMUSIM_STEP_BLOCK  /* a task went to sleep (mmusim_wait_queue_sleep); call again once woken */
};

typedef enum mmusim_step (*mmusim_step_fn)(mmusim_cpu *cpu, void *arg);

/*
 * ---- contexts (Linux include/linux/hardirq.h) ----
 * The MMUSIM_*_OFFSET and _MASK constants below are the 2.6.32 layout (the
 * default era, and 2.6.37's). A machine counts preempt_count in its own
 * era's layout: mmusim_machine_layout(m)->preempt_bits (2.6.18 has 12
 * hardirq bits and no NMI count; 5.11 has 4 hardirq bits and an NMI field).
 */

enum mmusim_context {
    MMUSIM_CTX_TASK,
    MMUSIM_CTX_SOFTIRQ,
    MMUSIM_CTX_HARDIRQ,
    MMUSIM_CTX_NMI
};

#define MMUSIM_PREEMPT_MASK    0x000000ffu
#define MMUSIM_SOFTIRQ_OFFSET  0x00000100u
#define MMUSIM_SOFTIRQ_MASK    0x0000ff00u
#define MMUSIM_HARDIRQ_OFFSET  0x00010000u
#define MMUSIM_HARDIRQ_MASK    0x03ff0000u
#define MMUSIM_NMI_OFFSET      0x04000000u

MMUSIM_API enum mmusim_context mmusim_cpu_context(const mmusim_cpu *cpu);
MMUSIM_API unsigned mmusim_cpu_preempt_count(const mmusim_cpu *cpu);
/* in_interrupt(): hardirq, softirq or NMI. */
MMUSIM_API int mmusim_cpu_in_interrupt(const mmusim_cpu *cpu);
MMUSIM_API int mmusim_cpu_irqs_disabled(const mmusim_cpu *cpu);
/* How deep the context stack is: 1 for a task alone, 0 when idle. */
MMUSIM_API unsigned mmusim_cpu_nesting(const mmusim_cpu *cpu);

MMUSIM_API void mmusim_local_irq_disable(mmusim_cpu *cpu);
MMUSIM_API void mmusim_local_irq_enable(mmusim_cpu *cpu);
/*
 * preempt_count += 1. As DEBUG_PREEMPT kernels do (add_preempt_count), a
 * WARN report, once per machine, when the preemption field reaches
 * PREEMPT_MASK - 10; the count goes on, and past the field's top carries
 * into the softirq bits as the kernel's would (spin_lock raises it the same
 * way).
 */
MMUSIM_API void mmusim_preempt_disable(mmusim_cpu *cpu);
/* An enable without a matching disable is recorded as a BUG report and ignored. */
MMUSIM_API void mmusim_preempt_enable(mmusim_cpu *cpu);

/* Plain work (compute the model does not look into): charged to the clock, which saturates at MMUSIM_CLOCK_MAX. */
MMUSIM_API void mmusim_cpu_spend(mmusim_cpu *cpu, uint64_t cycles);

/* ---- tasks ---- */

typedef struct mmusim_task mmusim_task;

enum mmusim_task_state {
    MMUSIM_TASK_RUNNABLE,
    MMUSIM_TASK_RUNNING,
    MMUSIM_TASK_SLEEPING,
    MMUSIM_TASK_DONE
};

/*
 * A task on CPU cpu running step(cpu, arg) in task context. cr3 is its
 * address space (a page directory from mmusim_pgd_create, or the kernel's
 * from mmusim_kernel_cr3); 0 makes a kernel thread, which borrows
 * whatever address space the CPU had loaded (lazy TLB mode) and so costs no
 * CR3 write. The machine owns tasks; they live until it is destroyed.
 * MMUSIM_ECPU for a bad CPU, MMUSIM_EINVAL for a NULL step or out.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_task_create(mmusim_machine *m, unsigned cpu, uint64_t cr3, mmusim_step_fn step, void *arg,
                       mmusim_task **out);
MMUSIM_API enum mmusim_task_state mmusim_task_state(const mmusim_task *t);
/* The task's id: 1, 2, ... in the order the machine's tasks were created; 0 for NULL. */
MMUSIM_API unsigned mmusim_task_id(const mmusim_task *t);
/* The simulated cycle at which the task last started running (after any context switch). */
MMUSIM_API uint64_t mmusim_task_resumed_at(const mmusim_task *t);
/* The cycle at which it finished (MMUSIM_STEP_DONE); 0 before. */
MMUSIM_API uint64_t mmusim_task_done_at(const mmusim_task *t);
/* The task running on cpu (NULL when idle or before the first run). */
MMUSIM_API mmusim_task *mmusim_cpu_current(mmusim_cpu *cpu);

/*
 * cond_resched(), from a step of cpu's current task. When the tick has ended
 * the task's slice with another task ready on cpu's run queue
 * (need_resched; in every preemption model, as Linux's should_resched()),
 * the task yields: MMUSIM_PENDING, and the step must return
 * (MMUSIM_STEP_MORE); the task goes to the tail of the run queue, the first
 * ready task runs (a context switch), and the step is called again when the
 * task runs next. MMUSIM_OK when it does not yield.
 * In interrupt context, with preemption or interrupts disabled: a WARN
 * report (might_sleep) and MMUSIM_ECONTEXT. MMUSIM_ENOSTEP outside a step
 * of cpu, MMUSIM_ESTEP after a pending call of the same step.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_cond_resched(mmusim_cpu *cpu);

/* ---- wait queues ---- */

typedef struct mmusim_wait_queue mmusim_wait_queue;

MMUSIM_API MMUSIM_NODISCARD int mmusim_wait_queue_create(mmusim_machine *m, mmusim_wait_queue **out);
/*
 * The current task of cpu sleeps uninterruptibly on q: MMUSIM_PENDING, and
 * its step must then return MMUSIM_STEP_BLOCK (MORE: a BUG report, and
 * mmusim_machine_run returns MMUSIM_ENOBLOCK). MMUSIM_ECONTEXT outside task
 * context or with preemption disabled (a BUG in the kernel: recorded as a
 * report); MMUSIM_ENOSTEP outside a step.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_wait_queue_sleep(mmusim_cpu *cpu, mmusim_wait_queue *q);
/* waitqueue_active(): some task sleeps on q. */
MMUSIM_API int mmusim_wait_queue_active(const mmusim_wait_queue *q);
/*
 * wake_up(): every task that went to sleep on q at or before cpu's current
 * time becomes runnable then; *woken (if not NULL) gets how many. Pending
 * until cpu's turn in global time (then *woken is filled when the step is
 * called again). Outside a run it acts at once.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_wake_up(mmusim_cpu *cpu, mmusim_wait_queue *q, unsigned *woken);

/*
 * ---- spinlocks ----
 * Ticket locks in the 2.6.32, 2.6.37 and 5.11 eras: waiters acquire in the
 * order they arrived. 2.6.18's byte locks are unfair: at a release, the CPU
 * polling whose attempt succeeds first gets the lock (ties: the lowest CPU
 * number), the releaser itself if it locks again at once; a spinner in an
 * interrupt handler tries again when the handler returns (docs/smp.md,
 * "Per era").
 */

typedef struct mmusim_spinlock mmusim_spinlock;

MMUSIM_API MMUSIM_NODISCARD int mmusim_spinlock_create(mmusim_machine *m, mmusim_spinlock **out);
/*
 * spin_lock(): preemption off, then the lock. Free at this CPU's turn in
 * global time: taken, MMUSIM_OK. Otherwise MMUSIM_PENDING: the CPU spins (or
 * waits for its turn) and the engine calls the step again once the lock is
 * its own, its clock advanced past the spin. Held or awaited by this CPU
 * (in the kernel, a CPU spinning forever): MMUSIM_EDEADLK and a BUG report;
 * in 2.6.18 only held, as a byte lock that a context this CPU interrupted
 * spins on is no deadlock. Outside a step: MMUSIM_ENOSTEP.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_spin_lock(mmusim_cpu *cpu, mmusim_spinlock *l);
/*
 * spin_lock_irqsave(): local interrupts off first, their state saved in
 * *flags; returns as spin_lock. In 2.6.18, if they were on, the CPU spins
 * with them on (an interrupt or IPI can reach it) and turns them off again
 * once the lock is its own; from 2.6.25 (the other eras) it spins with them
 * off.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_spin_lock_irqsave(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned *flags);
/* MMUSIM_EINVAL if cpu does not hold l (a BUG report too). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_spin_unlock(mmusim_cpu *cpu, mmusim_spinlock *l);
MMUSIM_API MMUSIM_NODISCARD int mmusim_spin_unlock_irqrestore(mmusim_cpu *cpu, mmusim_spinlock *l, unsigned flags);
/* Nonzero if cpu holds l now (a CPU still spinning on it does not). */
MMUSIM_API int mmusim_spin_is_owner(const mmusim_cpu *cpu, const mmusim_spinlock *l);

/* ---- interrupts ---- */

/*
 * request_irq() flags of a device interrupt. MMUSIM_IRQF_DISABLED is Linux's
 * IRQF_DISABLED (2.6.18 also calls it SA_INTERRUPT): the handler runs with
 * interrupts off. Without it the era decides, as handle_IRQ_event did: up to
 * 2.6.34 (the 2.6.18 and 2.6.32 eras) the handler runs with interrupts on,
 * so another interrupt (not one of its own line) may nest on it; from 2.6.35
 * (2.6.37, 5.11) every handler runs with them off, whatever the flag. IPI
 * handlers and the scheduler tick always run with interrupts off.
 */
#define MMUSIM_IRQF_DISABLED 0x00000020u

/*
 * A device interrupt on cpu at cycle `at`, running handler in hardirq context
 * until it returns DONE, with interrupts as the era runs a handler requested
 * without IRQF_DISABLED (on in 2.6.18 and 2.6.32, off in 2.6.37 and 5.11).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_irq_at(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg);
/* The same with request_irq flags (0 or MMUSIM_IRQF_DISABLED; another bit is MMUSIM_EINVAL). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_irq_at_flags(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler,
                                                    void *arg, unsigned flags);
/* An NMI at cycle `at`: taken even with interrupts disabled, nests on any context. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_nmi_at(mmusim_machine *m, unsigned cpu, uint64_t at, mmusim_step_fn handler, void *arg);
/*
 * Hardirqs on cpu at a seeded random rate: gaps uniform in [1, 2 * mean_gap
 * - 1] cycles (mean mean_gap), from cycle 0 up to cycle `until` (and
 * MMUSIM_CLOCK_MAX); a mean_gap of 0 or above MMUSIM_CLOCK_MAX is
 * MMUSIM_EINVAL. The stream
 * is the machine seed's, per CPU and source, in integer arithmetic: the same
 * seed gives the same arrival times on every host.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_irq_random(mmusim_machine *m, unsigned cpu, uint64_t mean_gap, uint64_t until, mmusim_step_fn handler,
                      void *arg);
/* The same with request_irq flags, as mmusim_irq_at_flags. The source is one IRQ line: its handler never nests on itself. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_irq_random_flags(mmusim_machine *m, unsigned cpu, uint64_t mean_gap, uint64_t until,
                                                        mmusim_step_fn handler, void *arg, unsigned flags);
/* raise_softirq(): handler runs in softirq context when cpu next leaves hardirq context, or at once from a task. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_raise_softirq(mmusim_cpu *cpu, mmusim_step_fn handler, void *arg);

/* ---- the engine ---- */

struct mmusim_run_result {
    uint64_t steps;       /* workload steps called (tasks and handlers) */
    uint64_t end_cycle;   /* the highest CPU clock at the end */
    int finished;         /* 1 if every task is done and nothing is pending */
    int deadlock;         /* 1 if work remained but no CPU could proceed */
    int stopped_on_bug;   /* 1 if the run stopped at a BUG (MMUSIM_REPORT_STOP_ON_BUG) */
    uint64_t bug_index;   /* then, that BUG's index among the reports since the last reset
                             (in mmusim_machine_reports's buf when below 1024); 0 otherwise */
};

/*
 * Run until every task is done and every interrupt handled, until the next
 * event lies beyond cycle_limit (0 = no limit), or, under
 * MMUSIM_REPORT_STOP_ON_BUG, until a BUG is reported (see the policy below).
 * Returns MMUSIM_OK for all of these (out says which), or:
 *   MMUSIM_EINVAL    m is NULL;
 *   MMUSIM_EINRUN    called from inside a step;
 *   MMUSIM_ENOBLOCK  a task step called mmusim_wait_queue_sleep() and returned
 *                    MMUSIM_STEP_MORE: a BUG report; the run stops after that
 *                    step, the task asleep as if it had returned BLOCK;
 *   MMUSIM_ESTALL    the config key stall_steps' number of engine actions in
 *                    a row (default MMUSIM_STALL_STEPS_DEFAULT) left the
 *                    earliest clock where it was — a step, handler or softirq
 *                    returning MORE without spending a cycle: a BUG report
 *                    ("soft lockup") on that CPU, and the run stops before the
 *                    next call, the frame as the last call left it; or a
 *                    CPU spun on a spinlock or on a flush's acknowledgements
 *                    for more than 20 s of simulated time (the kernel's
 *                    soft-lockup watchdog: a lock never released, a target
 *                    whose interrupts stay off): a BUG report on it too;
 *   MMUSIM_ENOMEM    the host ran out of memory where no step could be told:
 *                    an operation a step left pending (a kmap), an IPI or the
 *                    next arrival of an mmusim_irq_random source the engine
 *                    queues itself (those two also make a BUG report: the
 *                    IPI is lost, the source is over). The run stops after
 *                    that step; the machine stays usable and calling again
 *                    continues. (A call made from a step that runs out of
 *                    host memory returns MMUSIM_ENOMEM to the step.)
 * So a run always returns, with or without a cycle limit (docs/smp.md,
 * Liveness). After any of these errors out is filled as after any stop, the machine
 * can be inspected or destroyed, and calling again continues (a stalled step
 * stalls again). Can be called again to continue.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_machine_run(mmusim_machine *m, uint64_t cycle_limit, struct mmusim_run_result *out);

/* ---- IPIs and the SMP flushes (Linux arch/x86/kernel/smp.c, arch/x86/mm/tlb.c) ---- */

/*
 * Each of these runs on cpu, from a step, the path of the machine's kernel
 * era (docs/smp.md, "The SMP flushes"): the local part, the lock the era
 * takes around its IPIs (2.6.18 call_lock or tlbstate_lock, 2.6.32/37
 * flush_state[cpu % 8] or call_function's), IPIs to the other CPUs
 * concerned at this CPU's turn in global time, a wait for their
 * acknowledgements that the engine completes, the unlock. MMUSIM_OK when
 * the whole path completed in the call (no IPI to send, no lock to wait
 * for); MMUSIM_PENDING otherwise: the step must return, and the engine
 * resumes the CPU once the path is over (a step that returns DONE right
 * after the call ends then). With interrupts disabled the kernel's
 * WARN_ON(irqs_disabled()) (2.6.18 smp_call_function) or WARN_ON_ONCE
 * (smp_call_function_many and _single, 2.6.32+) is a report, and the flush
 * proceeds as the kernel's does: two CPUs flushing each other with
 * interrupts off deadlock, and the run says so (deadlock). A lock this CPU
 * already holds (a flush from a handler that interrupted a flush): a BUG
 * report and MMUSIM_EDEADLK. Outside a step, MMUSIM_ENOSTEP.
 *
 * flush_tlb_all(): IPI to every other online CPU, __flush_tlb_all() on each
 * and locally (and leave_mm on a CPU in lazy TLB mode, 2.6).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_flush_tlb_all_smp(mmusim_cpu *cpu);
/*
 * flush_tlb_kernel_range(start, end): with flush_ceiling 0 (the 2.6 eras),
 * always flush_tlb_all(); otherwise on every CPU an INVLPG per page when the
 * range has at most flush_ceiling pages, else __flush_tlb_all().
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_flush_tlb_kernel_range_smp(mmusim_cpu *cpu, uint32_t start, uint32_t end);
/*
 * flush_tlb_range(vma, start, end) for the user address space cr3: locally
 * if cpu runs it (a CPU that only borrows it, lazily, leaves it instead:
 * leave_mm loads swapper_pg_dir and drops the CPU from the mm's
 * cpu_vm_mask), and flush_tlb_others() to the other CPUs in its
 * cpu_vm_mask. With flush_ceiling 0 (the 2.6 eras) any range is
 * flush_tlb_mm, a full flush of the mm, as 2.6's flush_tlb_range is; with a
 * ceiling, an INVLPG per page up to it. start == 0 && end == 0 is
 * flush_tlb_mm. (One page is not flush_tlb_page: that is
 * mmusim_flush_tlb_page_smp.) MMUSIM_ENOTPGD for a cr3 that is no address
 * space of this machine (mmusim_pgd_create's, or the kernel's).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_flush_tlb_range_smp(mmusim_cpu *cpu, uint64_t cr3, uint32_t start, uint32_t end);
/*
 * flush_tlb_page(vma, va) for the user address space cr3: one INVLPG
 * locally if cpu runs it (leave_mm if it borrows it), then
 * flush_tlb_others() with the page. 5.11's is flush_tlb_mm_range over the
 * page. MMUSIM_ENOTPGD as mmusim_flush_tlb_range_smp.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_flush_tlb_page_smp(mmusim_cpu *cpu, uint64_t cr3, uint32_t va);
/* The CPUs (bit n = CPU n) that have used the address space cr3 since their last leave_mm; 0 for a cr3 that is none. */
MMUSIM_API uint64_t mmusim_mm_cpu_mask(const mmusim_machine *m, uint64_t cr3);

/* ---- reports: kernel-style BUG/WARN conditions, recorded, never fatal ---- */

/*
 * A check that fails in the kernel (a BUG_ON, a WARN_ON) is a report here:
 * the operation does what the comment at its declaration says (usually
 * nothing, with an error code), and a record with the CPU, its clock, the
 * address concerned and the check's name is kept. The machine stays usable
 * whatever the policy. docs/smp.md, "Reports".
 */
enum mmusim_report_kind { MMUSIM_REPORT_WARN, MMUSIM_REPORT_BUG };

struct mmusim_report {
    enum mmusim_report_kind kind;
    unsigned cpu;
    uint64_t cycle;   /* the CPU's clock when the check failed */
    uint64_t address; /* the virtual address the report is about (for a flush, the start of the range asked for); 0 when none */
    const char *what; /* a static sentence naming the kernel check, e.g. "smp_call_function with irqs disabled" */
};

/*
 * A kernel BUG() or WARN() on cpu, recorded at its clock like the library's
 * own checks, and counted in its bugs or warns: for the layers above (kmap)
 * and for users' scenarios. what names the check and must have static
 * storage (a string literal): the record keeps the pointer, which is read
 * until the machine is destroyed. address: the virtual address concerned, 0
 * if none. Callable from a step, from a handler or outside a run. A NULL cpu
 * or what does nothing.
 */
MMUSIM_API void mmusim_report_bug(mmusim_cpu *cpu, const char *what, uint64_t address);
MMUSIM_API void mmusim_report_warn(mmusim_cpu *cpu, const char *what, uint64_t address);

/*
 * What a BUG does to a run. MMUSIM_REPORT_CONTINUE (the default): nothing,
 * the run goes on. MMUSIM_REPORT_STOP_ON_BUG: mmusim_machine_run returns
 * once the step (or the engine's own action: an interrupt taken, a task
 * switched in, an operation done at its turn) during which the first BUG of
 * the run was reported is over, with stopped_on_bug and bug_index set; no
 * other CPU moves past that point. The machine can then be inspected, and
 * calling mmusim_machine_run again continues the run. Outside a run a BUG
 * is only recorded. WARNs never stop.
 */
enum mmusim_report_policy { MMUSIM_REPORT_CONTINUE, MMUSIM_REPORT_STOP_ON_BUG };

/* Set the policy; a value outside the enum is ignored. Takes effect at the next report, also from a step. */
MMUSIM_API void mmusim_machine_set_report_policy(mmusim_machine *m, enum mmusim_report_policy policy);

/*
 * fn(ctx, r) at each report, after the record is made: r points to it (in
 * the kept reports, or to a copy beyond the first 1024) and is valid only
 * during the call. Reports come in the order they are recorded, which is
 * their index order in mmusim_machine_reports. fn runs inside whatever made
 * the report (often a step, during mmusim_machine_run): it must not call
 * into the machine or its CPUs except read-only getters (a report it makes
 * anyway is recorded but not passed to fn). A NULL fn removes the callback.
 */
typedef void (*mmusim_report_fn)(void *ctx, const struct mmusim_report *r);
MMUSIM_API void mmusim_machine_set_report_callback(mmusim_machine *m, mmusim_report_fn fn, void *ctx);

/* Copies up to max reports (the first 1024 kept) into buf; returns how many were recorded in all. */
MMUSIM_API uint64_t mmusim_machine_reports(const mmusim_machine *m, struct mmusim_report *buf, size_t max);
/* Forget the recorded reports (the count starts again at 0); the CPUs' bugs and warns counters are stats, reset by mmusim_cpu_stats_reset. */
MMUSIM_API void mmusim_machine_reports_reset(mmusim_machine *m);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_SMP_H */
