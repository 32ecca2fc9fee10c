/*
 * mmusim — a cycle-level simulator of i686 MMUs and TLBs, and of Linux's
 * high-memory mappings on top of them.
 *
 * This header and the ones under mmusim/ are the whole API: a function or
 * type that does not appear in them is not part of mmusim's interface.
 * Every public symbol starts with mmusim_ or MMUSIM_.
 *
 * Handles and pointers: every function returns MMUSIM_EINVAL for a NULL
 * handle (machine, CPU, kmap layer, lock, wait queue, config, layout) or a
 * NULL required pointer unless its header documents otherwise. The
 * documented exceptions: a function returning void does nothing (a no-op;
 * mmusim_machine_destroy(NULL) among them); a getter returns 0, NULL or
 * its stated out-of-range value ("?", "unknown", MMUSIM_ZONE_COUNT_,
 * MMUSIM_PREEMPT_AUTO, MMUSIM_CTX_TASK, MMUSIM_TASK_DONE); the TLB flush
 * primitives charge nothing and return 0. No function aborts, prints, or
 * changes state when it refuses its arguments (tests/test_api_null.c).
 */
#ifndef MMUSIM_H
#define MMUSIM_H

#include "mmusim/version.h"
#include "mmusim/error.h"
#include "mmusim/costs.h"
#include "mmusim/config.h"
#include "mmusim/layout.h"
#include "mmusim/machine.h"
#include "mmusim/pgtable.h"
#include "mmusim/stats.h"
#include "mmusim/cpu.h"
#include "mmusim/pte.h"
#include "mmusim/smp.h"
#include "mmusim/kmap.h"
#include "mmusim/elf.h"
#include "mmusim/trace.h"
#include "mmusim/replay.h"

#endif /* MMUSIM_H */
