/*
 * mmusim — the engine's private state (include/mmusim/smp.h): per-CPU
 * context stacks, run queues and pending interrupts; machine-wide tasks,
 * locks, wait queues, address-space masks and reports.
 */
#ifndef MMUSIM_SMP_IMPL_H
#define MMUSIM_SMP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/hooks.h"
#include "cpu/hooks.h"
#include "mmusim/smp.h"

#define NEVER UINT64_MAX

/* What a frame is waiting for before its step may run again. */
enum wait_kind {
    WAIT_NONE,
    WAIT_ORDER, /* an operation other CPUs observe, waiting for its turn in global time (below) */
    WAIT_ACKS,  /* a shootdown's acknowledgements */
    WAIT_LOCK   /* a contended spinlock */
};

/*
 * Operations that other CPUs observe — taking a lock, sending IPIs, waking
 * a queue — must take effect in global simulated-time order (DESIGN.md,
 * Time). A step runs as one unit from the time its CPU was the earliest, and
 * may have spent cycles since: when such an operation comes at a clock later
 * than another CPU's next event, it is not done in the call. The frame
 * waits in WAIT_ORDER with the operation recorded here, the call returns
 * MMUSIM_PENDING, and the engine performs it when this CPU's clock is the
 * earliest again. Releasing a lock needs no turn: a release is stamped with
 * its time (free_at), and an acquirer that comes earlier in simulated time
 * spins until it, which is what it would have seen in time order.
 */
enum order_op {
    OP_LOCK, /* acquire frame.lock */
    OP_SEND, /* send order_req to order_mask and wait for the acknowledgements */
    OP_WAKE, /* wake every task sleeping on order_queue since before now */
    OP_PTE   /* store order_value to the kernel entry at order_entry (set_pte), or clear it */
};

/* Continuations (mmusim__cont_fn, mmusim__smp_cont_start) are declared in cpu/hooks.h; they nest, MAX_CONT deep. */

#define MAX_CONT 4 /* continuations nested on one frame */

struct cont {
    mmusim__cont_fn fn;
    void *state;
};

/* Work an internal handler does (an IPI's function); FN_STEP is a user step. */
enum frame_fn {
    FN_STEP,
    FN_FLUSH_ALL,    /* do_flush_tlb_all: __flush_tlb_all, leave_mm if lazy (2.6) */
    FN_FLUSH_KRANGE, /* per-page INVLPG over [start, end) */
    FN_FLUSH_MM,     /* the flush IPI of a user mm (range or all): smp_invalidate_interrupt, flush_tlb_func */
    FN_RESCHED       /* reschedule IPI: nothing but the entry and exit */
};

/* An IPI's payload, and what a shootdown's initiator does once acknowledged. */
struct flush_req {
    enum frame_fn fn;
    uint64_t cr3;        /* FN_FLUSH_MM: the address space */
    uint64_t start, end; /* FN_FLUSH_KRANGE, FN_FLUSH_MM: page-aligned [start, end); end == start: everything */
    uint64_t gen;        /* FN_FLUSH_MM in 5.11: the mm's tlb_gen this flush brings a CPU to (new_tlb_gen) */
    unsigned initiator;
    unsigned frame;      /* the initiator's frame (stack index) that waits for the acknowledgements */
};

/*
 * An SMP flush under way: the composite path flush_tlb_others() or
 * smp_call_function() is in the kernel (shootdown.c), run as a
 * continuation on the frame that called the flush: take `lock` (held while
 * sending and waiting), take and drop `short_lock` (interrupts off), send,
 * wait for the acknowledgements, release `lock`, run `local`.
 */
struct flush_op {
    int pc;
    struct flush_req req;               /* what each target runs */
    struct flush_req local;             /* what this CPU runs at the end (on_each_cpu); FN_STEP: nothing */
    uint64_t mask;                      /* the targets */
    struct mmusim_spinlock *lock;       /* 2.6.18 call_lock or tlbstate_lock, 2.6.32/37 flush_state[].tlbstate_lock */
    struct mmusim_spinlock *short_lock; /* 2.6.32/37 smp_call_function_many: call_function.lock or call_single_queue's */
    unsigned flags;                     /* short_lock's saved interrupt state */
    int warn_after_lock;                /* 2.6.18 smp_call_function: WARN_ON(irqs_disabled()) once call_lock is held */
    uint32_t va;                        /* the start of the range asked for, for a report */
};

/* A CPU's lazy-TLB state: Linux's cpu_tlbstate.state (2.6), or loaded_mm and is_lazy (5.11). */
enum tlbstate {
    TLBSTATE_BOOT = 0, /* no user mm since boot: the per-CPU variable's initial 0 (5.11: loaded_mm is init_mm) */
    TLBSTATE_OK = 1,   /* a user task runs on its mm (switch_mm) */
    TLBSTATE_LAZY = 2  /* a kernel thread or the idle task borrows a user mm (enter_lazy_tlb; 5.11: is_lazy) */
};

struct frame {
    enum mmusim_context ctx;
    mmusim_step_fn step;
    void *arg;
    struct mmusim_task *task;   /* task frames */
    int irqs_were_off;          /* interrupt frames: the state to restore on return */
    int device_irq;             /* a device interrupt's handler (mmusim_irq_at*, mmusim_irq_random*) */
    int source;                 /* its mmusim_irq_random source, plus 1; 0 for none */
    uint32_t count_added;       /* what entering this context added to preempt_count */
    struct flush_req req;       /* internal handlers */
    /* The wait, if any. */
    enum wait_kind wait;
    unsigned acks_left;
    uint64_t wait_from, wait_until; /* WAIT_LOCK, WAIT_ACKS: when the spin began; both: when it is over, once known */
    struct mmusim_spinlock *lock; /* WAIT_LOCK: the lock */
    int spin_irqs_on;           /* 2.6.18 spin_lock_irqsave with interrupts on before it: on while it spins */
    int end_after_wait;         /* the step returned DONE or BLOCK while its wait was pending: that result, applied once the wait ends */
    struct flush_op flush;      /* an SMP flush of this frame under way (its continuation's state) */
    /* WAIT_ORDER: the operation waiting for its turn. */
    enum order_op op;
    struct flush_req order_req;
    uint64_t order_mask;
    struct mmusim_wait_queue *order_queue;
    unsigned *order_woken;      /* OP_WAKE: where the step wants the count */
    uint64_t order_entry, order_value; /* OP_PTE: the entry's pa, what to store */
    int order_clear;
    uint64_t *order_old;        /* OP_PTE: where the step wants the old entry */
    /* Continuations in progress (innermost last), and whether one of them is running now. */
    struct cont conts[MAX_CONT];
    unsigned nconts;
    int in_cont;
};

#define MAX_NEST 16

struct pending_irq {
    uint64_t at;
    uint64_t seq;       /* arrival order among equal times */
    int nmi;
    int source;         /* mmusim_irq_random source index, -1 if none */
    unsigned irqf;      /* a device interrupt's request_irq flags (MMUSIM_IRQF_*) */
    mmusim_step_fn step;    /* a device interrupt's handler (req.fn == FN_STEP) */
    void *arg;
    struct flush_req req;   /* an IPI's work (req.fn != FN_STEP) */
};

struct irq_source {     /* mmusim_irq_random */
    uint64_t mean, until, rng;
    mmusim_step_fn step;
    void *arg;
    unsigned irqf;      /* request_irq flags (MMUSIM_IRQF_*) */
    int in_progress;    /* its handler is on the CPU's stack: the line does not nest on itself */
};

struct softirq {
    mmusim_step_fn step;
    void *arg;
};

struct mmusim_task {
    struct cpu_sys *sys;
    unsigned id;            /* 1, 2, ... in creation order */
    unsigned cpu;
    uint64_t cr3;           /* 0: a kernel thread */
    mmusim_step_fn step;
    void *arg;
    enum mmusim_task_state state;
    uint64_t ready_at;      /* runnable from this cycle */
    uint64_t slept_at;      /* when it last went to sleep on a wait queue */
    /* A continuation that put the task to sleep (kmap_high waiting for a
     * slot): kept here while the task is off the CPU, back on its frame
     * when it runs again (engine.c run_cont, task.c run_task). */
    struct cont conts[MAX_CONT];
    unsigned nconts;
    int cont_end;           /* the step's DONE or BLOCK still to apply once it is over */
    uint64_t resumed_at, done_at;
    /* Run queue node (task.c): a leftist heap in the CPU's pending heap
     * (by ready_at, then queue order) or its ready heap (queue order). */
    struct mmusim_task *rq_left, *rq_right;
    unsigned rq_rank;
    uint64_t rq_seq;        /* queue order: the CPU's append count when queued */
    struct mmusim_task *next_wait; /* wait-queue link */
    struct mmusim_task *next_all;  /* every task, for destroy */
    /* The layers' extension area follows, aligned (hooks.c). */
};

struct mmusim_wait_queue {
    struct cpu_sys *sys;
    struct mmusim_task *head, *tail;
    struct mmusim_wait_queue *next_all;
};

struct mmusim_spinlock {
    struct cpu_sys *sys;
    int owner;              /* CPU id, -1 when free */
    uint64_t free_at;       /* when it was last released */
    int last_owner;
    unsigned waiters[MMUSIM_MAX_CPUS];   /* ticket locks: CPUs spinning, in arrival (ticket) order, at most one per CPU */
    unsigned nwaiters;                   /* (byte locks keep no list: a spinner is a frame waiting on the lock) */
    struct mmusim_spinlock *next_all;
};

struct cpu_smp {
    struct frame stack[MAX_NEST];
    unsigned depth;         /* 0: idle (no task chosen) */
    unsigned preempt_count;
    unsigned nmi_depth;             /* NMI frames on the stack (0 or 1: NMIs do not nest) */
    int irqs_off;
    struct mmusim_task *current;
    /* The run queue: FIFO, each task runnable from its ready_at. Two heaps
     * so that picking and the next ready time cost O(log n) whatever the
     * queue's length: tasks not yet found ready, by (ready_at, order), and
     * those found ready by an earlier pick, by order. */
    struct mmusim_task *rq_pending, *rq_ready;
    uint64_t rq_seq;        /* tasks ever queued here: the next one's order */
    uint64_t rq_found_at;   /* the clock at the last pick: every task in rq_ready was ready by then */
    struct pending_irq *irqs;       /* sorted by (at, seq): insertion keeps the order, the first takeable is found from the front */
    size_t nirqs, irqs_cap;
    struct irq_source *sources;
    size_t nsources;
    struct softirq *softirqs;       /* FIFO */
    size_t nsoftirqs, softirqs_cap;
    enum tlbstate tlbstate;         /* cpu_tlbstate.state */
    uint64_t active_mm;             /* cpu_tlbstate.active_mm (5.11: loaded_mm): its CR3; swapper_pg_dir for init_mm */
    uint64_t tlb_gen;               /* 5.11: the tlb_gen of active_mm this CPU has caught up with */
    uint64_t icr_idle_at;           /* p3: when this CPU's last IPI message is off the serial APIC bus */
    /* The scheduler tick: taken while the CPU has a task (NO_HZ idle otherwise). */
    uint64_t next_tick;             /* a multiple of the tick period */
    int need_resched;               /* a tick ended the slice: preempt at the next boundary that allows it */
    int yield;                      /* mmusim_cond_resched: switch out when the step returns */
};

struct mm_mask {
    uint64_t cr3;
    uint64_t mask;                  /* cpu_vm_mask (mm_cpumask) */
    uint64_t tlb_gen;               /* 5.11: context.tlb_gen, bumped by every flush of the mm */
};

#define NUM_INVALIDATE_TLB_VECTORS 8 /* 2.6.32/37 arch/x86/include/asm/irq_vectors.h: flush_state[] */

/*
 * preempt_count += 1, as add_preempt_count/preempt_count_add do: and, as
 * their CONFIG_DEBUG_PREEMPT check (2.6.18 kernel/sched.c, 5.11
 * kernel/sched/core.c), a WARN once per machine when the preemption field
 * comes within 10 of its top ("overflowing soon"): past it, the count would
 * carry into the softirq bits (context.c).
 */
void mmusim__preempt_inc(struct mmusim_cpu *cpu);
/* Where that check warns: the preemption field's count at or above this (PREEMPT_MASK - 10). */
#define MMUSIM__PREEMPT_WARN_AT(mask) ((mask) - 10u)

struct machine_smp {
    int running;                    /* inside mmusim_machine_run */
    int preempt_warned;             /* DEBUG_PREEMPT's overflow WARN made (once: debug_locks_off) */
    uint64_t seq;                   /* interrupt arrival order */
    uint64_t apic_bus_free;         /* p3: when the serial APIC bus is next free */
    /* The kernel's own spinlocks around IPIs (shootdown.c): 2.6.18 call_lock; the
     * flush IPI's tlbstate_lock (2.6.18: one; 2.6.32/37: flush_state[cpu % 8]); 2.6.32/37
     * call_function.lock and each CPU's call_single_queue lock. */
    struct mmusim_spinlock *call_lock;
    struct mmusim_spinlock *flush_lock[NUM_INVALIDATE_TLB_VECTORS];
    struct mmusim_spinlock *call_function_lock;
    struct mmusim_spinlock *call_single_lock[MMUSIM_MAX_CPUS];
    int ack_frame;                  /* the frame the next mmusim__smp_ack is for (set by the IPI's run_flush); -1: none */
    int call_many_warned;           /* 2.6.32+: smp_call_function_many's WARN_ON_ONCE has fired */
    int call_single_warned;         /* 2.6.32/37: smp_call_function_single's */
    struct mmusim_task *tasks;
    struct mmusim_wait_queue *queues;
    struct mmusim_spinlock *locks;
    struct mm_mask *mms;
    size_t nmms, mms_cap;
    struct mmusim_report *reports;  /* the first MAX_REPORTS */
    uint64_t nreports;
    enum mmusim_report_policy policy;
    mmusim_report_fn report_fn;     /* mmusim_machine_set_report_callback */
    void *report_ctx;
    int in_report_fn;               /* report_fn is running: a report it makes is not passed to it again */
    int stop;                       /* bit 0: a BUG under STOP_ON_BUG in this run; bit 1: a liveness error or ENOMEM (fail); the engine returns after the current step */
    uint64_t stop_index;            /* that BUG's index among the reports */
    int fail;                       /* a liveness error of this run (MMUSIM_ENOBLOCK), or MMUSIM_ENOMEM: the engine returns it after the current step */
    uint64_t stall_limit;           /* the stall_steps key; UINT64_MAX when 0 (never) */
    uint64_t softlockup;    /* cycles a CPU may spin on one lock before the soft-lockup BUG (engine.c) */
    /* Each CPU's next event, kept between steps: only the CPU that ran and
     * those another CPU touched (an IPI, an ack, a lock hand-over, a wake-up)
     * are recomputed, and the tournament tree win[] gives the earliest. */
    uint64_t next[MMUSIM_MAX_CPUS];
    uint64_t dirty;                 /* bit n: next[n] must be recomputed */
    uint8_t win[2 * MMUSIM_MAX_CPUS];               /* tournament tree over next[]: win[1] is the earliest CPU (ties: lowest) */
    /* What the layers above registered (cpu/hooks.h). */
    struct mmusim__hooks hooks[MMUSIM__MAX_HOOKS];
    unsigned nhooks;
    size_t task_ext_size, cpu_ext_size;
    int sealed;                     /* a task exists or a run started: registration is closed */
    unsigned ntasks;                /* tasks created: the last id */
    struct mmusim_cpu *stepping;    /* the CPU whose step is running, NULL between steps */
    uint64_t tick_period;           /* cycles between ticks: cpu_mhz * 10^6 / hz */
    /* What the era's interrupt code does (engine.c, mmusim__smp_machine_init). */
    int irq_handlers_irqs_on;       /* device handlers without IRQF_DISABLED run with interrupts on (before 2.6.35) */
    int irq_enable_warn;            /* WARN_ONCE when a device handler returns with interrupts on (5.11) */
    int irq_enable_warned;          /* that WARN_ONCE has fired on this machine */
    int byte_locks;                 /* 2.6.18: spinlocks are unfair byte locks (sync.c), not ticket locks */
    enum mmusim_preempt preempt;    /* the configured model, AUTO resolved */
};

#define MAX_REPORTS 1024

struct cpu_sys;
struct mmusim_cpu;

int mmusim__smp_machine_init(struct cpu_sys *m);
void mmusim__smp_machine_fini(struct cpu_sys *m);
void mmusim__smp_cpu_fini(struct mmusim_cpu *cpu);

/* Another CPU (or the caller) changed what cpu will do next: recompute its next event. */
void mmusim__smp_touch(struct mmusim_cpu *cpu);

/* Record a BUG or WARN on cpu at its clock. what: a static sentence naming the
 * kernel check; address: the virtual address the report is about, 0 if none. */
void mmusim__smp_report(struct mmusim_cpu *cpu, enum mmusim_report_kind kind, const char *what, uint64_t address);

/* Queue an interrupt on target (engine.c). */
int mmusim__smp_post_irq(struct mmusim_cpu *target, const struct pending_irq *p);

/*
 * The engine ran out of host memory where no caller can be told (a pending
 * operation's continuation, an IPI or interrupt it posts itself): in a run,
 * the run stops after the current step and mmusim_machine_run returns
 * MMUSIM_ENOMEM (the first such error of the run is kept).
 */
void mmusim__smp_out_of_memory(struct cpu_sys *m);

/* The frame a step of cpu runs in (the top of its stack); NULL when idle. */
struct frame *mmusim__smp_top(struct mmusim_cpu *cpu);

/* The record of an address space (cpu_vm_mask, tlb_gen), created if new; NULL if out of memory. */
struct mm_mask *mmusim__smp_mm(struct cpu_sys *m, uint64_t cr3);
/* Its cpu_vm_mask (creating the record); NULL if out of memory. */
uint64_t *mmusim__smp_mm_mask(struct cpu_sys *m, uint64_t cr3);

/* The kernel's IPI spinlocks (shootdown.c), made with the machine. */
int mmusim__smp_flush_locks_init(struct cpu_sys *m);

/* An IPI taken by cpu (shootdown.c): counted by kind, and its work done (the flush, leave_mm). */
void mmusim__smp_run_flush(struct mmusim_cpu *cpu, const struct flush_req *r);

/* context_switch()'s mm part (task.c calls it, shootdown.c has the lazy-TLB rules):
 * enter_lazy_tlb() for a kernel thread or idle, switch_mm() to a task's address space. */
void mmusim__smp_enter_lazy_tlb(struct mmusim_cpu *cpu);
void mmusim__smp_switch_mm(struct mmusim_cpu *cpu, uint64_t next);

/*
 * A shootdown's target acknowledged at cycle `at` (shootdown.c), right after
 * mmusim__smp_run_flush ran the IPI's work: the acknowledgement goes to the
 * frame of the initiator that sent it (a handler may flush while the task
 * under it waits for its own acknowledgements).
 */
void mmusim__smp_ack(struct mmusim_cpu *initiator, uint64_t at);

/* Send req to every CPU in mask from cpu, charging the sender (shootdown.c);
 * returns when the last IPI arrives. */
uint64_t mmusim__smp_send_ipis(struct mmusim_cpu *cpu, uint64_t mask, const struct flush_req *req);

/* wake_up of one task, from cpu at its clock (engine.c). */
void mmusim__smp_wake_task(struct mmusim_cpu *cpu, struct mmusim_task *t);

/* The registered hooks, in their order (hooks.c); the size of a task with its extension area. */
void mmusim__smp_fire_switch_out(struct mmusim_cpu *cpu, struct mmusim_task *prev);
void mmusim__smp_fire_switch_in(struct mmusim_cpu *cpu, struct mmusim_task *next);
void mmusim__smp_fire_handler_end(struct mmusim_cpu *cpu, enum mmusim_context kind);
void mmusim__smp_fire_task_end(struct mmusim_cpu *cpu, struct mmusim_task *t);
void mmusim__smp_fire_fork(struct cpu_sys *m, struct mmusim_task *child);
size_t mmusim__smp_task_alloc_size(const struct cpu_sys *m);

static inline uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/*
 * Whether an operation of cpu that other CPUs observe may take effect now:
 * no other CPU has an event earlier than cpu's clock (ties: the lower CPU
 * number goes first, as in the engine). Always true outside a run.
 */
int mmusim__smp_in_order(struct mmusim_cpu *cpu);
/*
 * The checks every operation that may go pending makes first: a frame to
 * run in (ENOSTEP when idle or outside a run), and no operation of the same
 * step still pending (ESTEP). The frame, or NULL with *rc set.
 */
struct frame *mmusim__smp_op_frame(struct mmusim_cpu *cpu, int *rc);
/* Defer an operation to its turn (WAIT_ORDER); returns MMUSIM_PENDING. */
int mmusim__smp_defer(struct mmusim_cpu *cpu, struct frame *f, enum order_op op);
/* The operations themselves, done at their turn (sync.c, shootdown.c). */
void mmusim__smp_lock_acquire(struct mmusim_cpu *cpu, struct frame *f, struct mmusim_spinlock *l);
/*
 * Byte locks (2.6.18): f, cpu's top frame, spins on its lock without having
 * been chosen (wait_until NEVER). lock_poll: cpu's clock if a poll now would
 * take the lock (it is free, or its hand-over to another spinner would
 * complete later than this CPU's own attempt), else NEVER. lock_repoll: that
 * attempt, at cpu's turn.
 */
uint64_t mmusim__smp_lock_poll(const struct mmusim_cpu *cpu, const struct frame *f);
void mmusim__smp_lock_repoll(struct mmusim_cpu *cpu, struct frame *f);
/* Byte locks: f, cpu's top frame spinning on its lock, is interrupted (a
 * handler is pushed above it) and stops polling: a hand-over to it not yet
 * complete is undone, and the other spinners poll again. */
void mmusim__smp_lock_interrupted(struct mmusim_cpu *cpu, struct frame *f);
void mmusim__smp_send_and_wait(struct mmusim_cpu *cpu, struct frame *f, uint64_t mask, const struct flush_req *req);
unsigned mmusim__smp_wake_queue(struct mmusim_cpu *cpu, struct mmusim_wait_queue *q);
void mmusim__pte_store_at_turn(struct mmusim_cpu *cpu, struct frame *f);


/* ---- between the engine's files (engine.c, context.c, task.c) ---- */

/* Push a context on cpu's stack (NULL and a BUG report when it is full); pop the top one. */
struct frame *mmusim__smp_push(struct mmusim_cpu *cpu, enum mmusim_context ctx);
void mmusim__smp_pop(struct mmusim_cpu *cpu);
/* Index of the first pending interrupt cpu may take, whenever it arrives; nirqs if none. */
size_t mmusim__smp_first_takeable(const struct mmusim_cpu *cpu);
/* Take the first interrupt that has arrived and may be taken; 1 if one was. */
int mmusim__smp_take_interrupt(struct mmusim_cpu *cpu);
/* Whether irq_exit would run a pending softirq now; run_softirq starts it (1 if it did). */
int mmusim__smp_softirq_runnable(const struct mmusim_cpu *cpu);
int mmusim__smp_run_softirq(struct mmusim_cpu *cpu);
/* The run queue: append, take the first task ready by now, the earliest ready time. */
void mmusim__smp_runq_append(struct mmusim_cpu *cpu, struct mmusim_task *t);
struct mmusim_task *mmusim__smp_runq_take(struct cpu_smp *c, uint64_t now);
uint64_t mmusim__smp_runq_earliest(const struct cpu_smp *c);
int mmusim__smp_runq_empty(const struct cpu_smp *c);
/* An idle cpu switches to the first task of its run queue ready by now; 1 if there was one. */
int mmusim__smp_pick(struct mmusim_cpu *cpu);
/* Whether a task other than the current one is ready on cpu's run queue. */
int mmusim__smp_other_ready(const struct mmusim_cpu *cpu);
/* Whether the current task may be switched out now: its frame alone on the stack and not waiting,
 * preempt_count 0, interrupts on, and another task ready. */
int mmusim__smp_may_switch(const struct mmusim_cpu *cpu);
/* The current task goes to the tail of the run queue and the first ready task runs (a context switch). */
void mmusim__smp_preempt(struct mmusim_cpu *cpu);
/* The top frame's step returned r (DONE or BLOCK): the handler returns, or the task ends or sleeps. */
void mmusim__smp_end_frame(struct mmusim_cpu *cpu, struct frame *f, enum mmusim_step r);

#endif /* MMUSIM_SMP_IMPL_H */
