/*
 * mmusim — replaying a program's memory references (docs/replay.md).
 *
 * A replay runs trace records (include/mmusim/trace.h) on one CPU of a
 * machine, in one user address space: fetches through the ITLB, loads and
 * stores through the DTLB, a modify as a load then a store, a reference
 * that straddles a page split as the hardware splits it (with the
 * semantics of mmusim_cpu_access_batch). A reference to a user page that is not mapped
 * takes a fault (a not-present #PF), and the kernel's minor-fault path is
 * modelled: a frame is taken, mapped read-write for the user, the fault is
 * charged cost.page_fault (mmusim_cpu_minor_fault) and counted, and the
 * reference runs again, as the faulting instruction would.
 *
 * The address space is either created by the replay (empty: every page
 * comes by demand paging) or given by the caller, already populated (an
 * ELF loader maps the program's segments with their rights): pages found
 * mapped are used as they are; a reference that breaks their rights (a
 * protection #PF) is recorded as a violation and skipped; one to an
 * unmapped page demand-faults as above.
 *
 * Relocation: valgrind places a 32-bit client anywhere below 4 GiB, its
 * stack near the top. A reference at or above the user part of the
 * configured split (PAGE_OFFSET) is moved down by reloc_offset, by default
 * 4 GiB - PAGE_OFFSET, a multiple of 4 MiB, so a page keeps its set index in
 * every TLB array of up to 1024 sets. One that the offset would move below
 * 0 (splits of less than 2 GiB of user space) is counted and skipped.
 */
#ifndef MMUSIM_REPLAY_H
#define MMUSIM_REPLAY_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>

#include "machine.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmusim_replay mmusim_replay;

struct mmusim_replay_stats {
    uint64_t records[MMUSIM_TRACE_KIND_COUNT_]; /* records run, by kind (I, L, S, M) */
    uint64_t accesses;     /* accesses made: a modify counts two, a fault's retry none */
    uint64_t split;        /* accesses that straddle a page */
    uint64_t faults;       /* demand faults (first touches of a page), each charged page_fault */
    uint64_t faults_exec;  /* of those, taken by fetches (the rest by loads and stores) */
    uint64_t violations;   /* accesses refused by a page's rights (protection #PF), skipped */
    uint64_t relocated;    /* accesses moved down by the relocation offset */
    uint64_t unrelocatable; /* accesses above the user part the offset cannot move, skipped */
    uint64_t cycles;       /* charged to the CPU by the replay: walks, faults */
};

/* A violation: an access refused by the rights of a mapped page. */
struct mmusim_replay_violation {
    uint64_t record;       /* 0-based index of the record among those run */
    uint32_t va;           /* after relocation */
    uint32_t error_code;   /* the #PF error code (MMUSIM_PF_*) */
    uint8_t kind;          /* enum mmusim_trace_kind */
};

struct mmusim_replay_opts {
    unsigned cpu;          /* the CPU that runs the references (default 0) */
    uint64_t cr3;          /* 0 (default): a new, empty address space, owned by the replay;
                              else an address space of this machine, populated by the caller */
    int relocate;          /* 1 (default): move references above the user part down */
    uint32_t reloc_offset; /* 0 (default): 4 GiB - PAGE_OFFSET; else a multiple of 4 MiB */
};

MMUSIM_API void mmusim_replay_opts_init(struct mmusim_replay_opts *o);

/*
 * Create a replay on machine m. MMUSIM_ECPU for a CPU index out of range,
 * MMUSIM_EINVAL for a bad reloc_offset (not a multiple of 4 MiB) or NULL
 * arguments, MMUSIM_ENOTPGD for a cr3 the machine did not create, the
 * errors of mmusim_pgd_create. The CPU's CR3 is written when the replay
 * runs, not here.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_replay_create(mmusim_machine *m, const struct mmusim_replay_opts *o,
                                                     mmusim_replay **out);

/*
 * Run n records. Loads the replay's address space into its CPU's CR3 first
 * if the CPU holds another (a counted, charged CR3 write). MMUSIM_EINVAL for
 * a bad record (kind, size; nothing runs); MMUSIM_ENOFRAME when demand
 * paging finds no free frame, the accesses before the faulting one having
 * run (the accesses and records of mmusim_replay_stats count them, the
 * records counting the one that met the fault too).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_replay_run(mmusim_replay *r, const struct mmusim_trace_rec *recs, size_t n);

/*
 * Read up to max records from rd (include/mmusim/trace.h) and run them:
 * the results of mmusim_trace_read into a buffer then mmusim_replay_run,
 * in one pass (a binary trace's records are decoded and run in place, with
 * no array between). *n gets the records run, 0 at the end of the trace.
 * A bad record stops the run as mmusim_trace_read stops: the records
 * before it run and the call returns MMUSIM_OK; the next returns the
 * reader's error (MMUSIM_ETRACE, MMUSIM_ETRACEIO; mmusim_trace_error says
 * where), as does every later one. mmusim_replay_run's errors
 * (MMUSIM_ENOFRAME) stop the run at the record that met it, *n counting
 * it. MMUSIM_EINVAL for NULL arguments.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_replay_read(mmusim_replay *r, mmusim_trace_reader *rd, size_t max,
                                                   size_t *n);

/* The totals so far. NULL arguments: nothing. */
MMUSIM_API void mmusim_replay_stats(const mmusim_replay *r, struct mmusim_replay_stats *out);

/* Violations seen (all counted; the first 64 kept); copies min(max, kept) into buf (may be NULL). */
MMUSIM_API uint64_t mmusim_replay_violations(const mmusim_replay *r, struct mmusim_replay_violation *buf, size_t max);

/* The replay's address space (its CR3); 0 for NULL. */
MMUSIM_API uint64_t mmusim_replay_cr3(const mmusim_replay *r);

/*
 * Free the replay. An address space it created is destroyed, its frames
 * freed (any CPU holding it in CR3 is first switched to the kernel's);
 * one given by the caller stays. NULL: nothing.
 */
MMUSIM_API void mmusim_replay_destroy(mmusim_replay *r);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_REPLAY_H */
