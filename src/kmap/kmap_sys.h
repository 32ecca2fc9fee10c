/*
 * mmusim — the kmap layer as the machine sees it (src/machine.c): its
 * creation on the cpu part, and its destruction. The layer's state stays
 * private (src/kmap/kmap_impl.h).
 */
#ifndef MMUSIM_KMAP_SYS_H
#define MMUSIM_KMAP_SYS_H

#include "cpu/cpu_sys.h"
#include "mmusim/kmap.h"

/* The layer on the cpu part sys of machine owner (include/mmusim/kmap.h, mmusim_kmap_create). */
int mmusim__kmap_create(struct cpu_sys *sys, mmusim_machine *owner, const struct mmusim_kmap_opts *opts,
                        mmusim_kmap_layer **out);
void mmusim__kmap_destroy(mmusim_kmap_layer *k);

#endif /* MMUSIM_KMAP_SYS_H */
