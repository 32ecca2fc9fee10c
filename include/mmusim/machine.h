/*
 * mmusim — the simulated machine: CPUs, physical memory, the kernel's
 * page tables.
 *
 * mmusim_machine_create() "boots" the machine the way an i386 Linux kernel of
 * the configured era leaves it: the layout computed (layout.h), the first
 * 1 MiB reserved, swapper_pg_dir built with the direct map of lowmem (large
 * pages when the CPU has PSE, or under PAE), the pkmap and fixmap page tables
 * preallocated, every CPU in protected mode with paging on, CR0.WP set, CR4
 * with PSE/PAE/PGE as configured, EFER.NXE with NX, CR3 = swapper_pg_dir,
 * and every clock at cycle 0.
 */
#ifndef MMUSIM_MACHINE_H
#define MMUSIM_MACHINE_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "layout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mmusim_machine mmusim_machine;
typedef struct mmusim_cpu mmusim_cpu;

/* Create a machine. On error *out is NULL and nothing is leaked. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_machine_create(const struct mmusim_config *cfg, mmusim_machine **out);

/* Destroy a machine and everything in it; NULL is a harmless no-op. */
MMUSIM_API void mmusim_machine_destroy(mmusim_machine *m);

MMUSIM_API const struct mmusim_config *mmusim_machine_config(const mmusim_machine *m);
MMUSIM_API const struct mmusim_layout *mmusim_machine_layout(const mmusim_machine *m);
MMUSIM_API unsigned mmusim_machine_ncpus(const mmusim_machine *m);

/* CPU i, or NULL if i is out of range. */
MMUSIM_API mmusim_cpu *mmusim_machine_cpu(mmusim_machine *m, unsigned i);

/* Physical memory. A range outside installed RAM is MMUSIM_EPHYS, and nothing is done. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_phys_read(const mmusim_machine *m, uint64_t pa, void *buf, size_t len);
MMUSIM_API MMUSIM_NODISCARD int mmusim_phys_write(mmusim_machine *m, uint64_t pa, const void *buf, size_t len);
MMUSIM_API MMUSIM_NODISCARD int mmusim_phys_read32(const mmusim_machine *m, uint64_t pa, uint32_t *out);
MMUSIM_API MMUSIM_NODISCARD int mmusim_phys_write32(mmusim_machine *m, uint64_t pa, uint32_t value);

/* Host bytes spent on frame contents (4 KiB per frame ever written). */
MMUSIM_API uint64_t mmusim_phys_resident_bytes(const mmusim_machine *m);

/*
 * Page frames. mmusim_frame_alloc takes the next free frame of exactly that
 * zone (next fit, so deterministic); MMUSIM_ENOFRAME when the zone is full.
 * A freed frame's contents are discarded. mmusim_frame_free: MMUSIM_EFRAME
 * for a frame not allocated (or in the reserved first MiB), MMUSIM_EPHYS for
 * one past the end of RAM, MMUSIM_EPGTABLE for one holding a page table in
 * use (swapper_pg_dir, an address space's directory or PDPT, a page table a
 * present entry names: the pkmap and fixmap tables, a user table), which
 * only mmusim_pgd_destroy frees.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_frame_alloc(mmusim_machine *m, enum mmusim_zone zone, uint64_t *pfn);
MMUSIM_API MMUSIM_NODISCARD int mmusim_frame_free(mmusim_machine *m, uint64_t pfn);
MMUSIM_API uint64_t mmusim_zone_free_frames(const mmusim_machine *m, enum mmusim_zone zone);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_MACHINE_H */
