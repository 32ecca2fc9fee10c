/*
 * What the loader and trace fuzz targets share (fuzz/fuzz_elf.c,
 * fuzz/fuzz_trace.c): a small machine kept across inputs, and the count of
 * free frames that tells whether an input left any behind.
 */
#ifndef MMUSIM_FUZZ_MACHINE_H
#define MMUSIM_FUZZ_MACHINE_H

#include <stdint.h>
#include <stdlib.h>

#include "mmusim.h"

static mmusim_machine *fuzz_machines[2];

/* A 32 MiB, one-CPU machine: 2-level paging, or PAE with NX (pae 1). Made once; abort() if it cannot be. */
static inline mmusim_machine *fuzz_machine(int pae)
{
    mmusim_machine **machines = fuzz_machines;
    if (machines[pae])
        return machines[pae];
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    if (mmusim_config_set(&cfg, "mem", "32M") != MMUSIM_OK || mmusim_config_set(&cfg, "cpus", "1") != MMUSIM_OK ||
        (pae && (mmusim_config_set(&cfg, "paging", "pae") != MMUSIM_OK ||
                 mmusim_config_set(&cfg, "nx", "1") != MMUSIM_OK)) ||
        mmusim_machine_create(&cfg, &machines[pae]) != MMUSIM_OK)
        abort();
    return machines[pae];
}

/* Destroy the machine of fuzz_machine(pae): the next call makes a fresh one. */
static inline void fuzz_machine_reset(int pae)
{
    mmusim_machine_destroy(fuzz_machines[pae]);
    fuzz_machines[pae] = NULL;
}

/* Free frames in every zone. */
static inline uint64_t fuzz_free_frames(const mmusim_machine *m)
{
    uint64_t n = 0;
    for (unsigned z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        n += mmusim_zone_free_frames(m, (enum mmusim_zone)z);
    return n;
}

#endif /* MMUSIM_FUZZ_MACHINE_H */
