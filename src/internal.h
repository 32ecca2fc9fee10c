/*
 * mmusim — declarations shared between the library's source files.
 * Nothing here is API: include/ is the whole contract.
 */
#ifndef MMUSIM_INTERNAL_H
#define MMUSIM_INTERNAL_H

#include "mmusim/config.h"
#include "mmusim/costs.h"

#if defined(__GNUC__)
#define MMUSIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MMUSIM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MMUSIM_NOINLINE __attribute__((noinline))
#else
#define MMUSIM_LIKELY(x) (x)
#define MMUSIM_UNLIKELY(x) (x)
#define MMUSIM_NOINLINE
#endif

#define MMUSIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* TLB geometry of a preset (src/cpu/presets.c). MMUSIM_OK or MMUSIM_EPRESET. */
int mmusim__tlb_preset(enum mmusim_preset p, struct mmusim_tlb_config *out);

/* Page-table line cache geometry of a preset (src/cpu/presets.c). */
void mmusim__ptcache_preset(enum mmusim_preset p, uint32_t *lines, uint32_t *ways);

#endif /* MMUSIM_INTERNAL_H */
