/*
 * mmusim — a cycle-level simulator of i686 MMUs and TLBs, and of Linux's
 * high-memory mappings on top of them.
 *
 * This header and the ones under mmusim/ are the whole API: a function or
 * type that does not appear in them is not part of mmusim's interface.
 * Every public symbol starts with mmusim_ or MMUSIM_.
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

#endif /* MMUSIM_H */
