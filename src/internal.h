/*
 * mmusim — declarations shared between the library's source files.
 * Nothing here is API: include/ is the whole contract.
 */
#ifndef MMUSIM_INTERNAL_H
#define MMUSIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "mmusim/config.h"
#include "mmusim/costs.h"

#if defined(__SSE2__)
#include <emmintrin.h> /* SSE2 is part of every x86-64 CPU; other hosts take the plain loop */
#endif

#if defined(__GNUC__)
#define MMUSIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MMUSIM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MMUSIM_NOINLINE __attribute__((noinline))
#define MMUSIM_INLINE inline __attribute__((always_inline))
#else
#define MMUSIM_LIKELY(x) (x)
#define MMUSIM_UNLIKELY(x) (x)
#define MMUSIM_NOINLINE
#define MMUSIM_INLINE inline
#endif

#define MMUSIM_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Host memory. Every allocation the library makes goes through these four,
 * never through malloc, calloc, realloc or free directly, so that a test
 * build can make any one of them fail (issue 14 item 7, docs/reliability.md,
 * "Host allocation failure"). They behave as the C library's functions.
 * A caller that gets NULL must return MMUSIM_ENOMEM with everything it had
 * allocated freed and every structure it touched as it was before the call.
 *
 * In a normal build they are the C library's calls, inline: no cost on the
 * hot paths. With MMUSIM_FAILALLOC defined (the library variant
 * mmusim_failalloc, which tests/failalloc.c links) they are out of line in
 * src/alloc.c and count: mmusim__failalloc_arm(n) makes the n-th allocation
 * from now fail (1: the next one; once, the ones after it succeed again;
 * 0 disarms), mmusim__failalloc_calls() counts the allocations attempted
 * and mmusim__failalloc_live() the blocks allocated and not yet freed, so a
 * test sees a leak without LeakSanitizer. Only the failalloc variant defines
 * those three; a source file of the library never calls them.
 */
#if defined(MMUSIM_FAILALLOC)
void *mmusim__malloc(size_t size);
void *mmusim__calloc(size_t n, size_t size);
void *mmusim__realloc(void *p, size_t size);
void mmusim__free(void *p);
void mmusim__failalloc_arm(uint64_t n);
uint64_t mmusim__failalloc_calls(void);
int64_t mmusim__failalloc_live(void);
#else
static inline void *mmusim__malloc(size_t size)
{
    return malloc(size);
}
static inline void *mmusim__calloc(size_t n, size_t size)
{
    return calloc(n, size);
}
static inline void *mmusim__realloc(void *p, size_t size)
{
    return realloc(p, size);
}
static inline void mmusim__free(void *p)
{
    free(p);
}
#endif

/* Index of the lowest set bit of a nonzero word. */
static inline unsigned mmusim__ctz64(uint64_t x)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(x);
#else
    unsigned n = 0;
    while (!(x & 1))
        x >>= 1, n++;
    return n;
#endif
}

/* Index of the highest set bit of a nonzero word (floor of log2). */
static inline unsigned mmusim__log2_64(uint64_t x)
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x >>= 1)
        n++;
    return n;
#endif
}

/*
 * Bit i set where t[i] == v, for i < n <= 64: the tag compare of a whole
 * set. With SSE2, four compares and one movemask per step (a 16-way set in
 * four steps, about five instructions each, against three per way with
 * conditional moves); the scalar tail serves the rest and other hosts.
 */
static inline uint64_t mmusim__match32(const uint32_t *t, uint32_t n, uint32_t v)
{
    uint64_t m = 0;
    uint32_t i = 0;
#if defined(__SSE2__)
    const __m128i *p = (const __m128i *)(const void *)t;
    __m128i key = _mm_set1_epi32((int)v);
    /* The preset sizes without a loop: 4 ways (TLB sets), 8 and 16 (page-table
     * line cache sets, the 16-entry PDE cache). Each compare leaves -1 or 0 per
     * lane; saturating packs keep that while halving the lane width. */
    if (n == 4)
        return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(_mm_loadu_si128(p), key)));
    if (n == 8) {
        __m128i lo = _mm_cmpeq_epi32(_mm_loadu_si128(p), key), hi = _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), key);
        return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(_mm_packs_epi32(lo, hi), _mm_setzero_si128()));
    }
    if (n == 16) {
        __m128i a = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_loadu_si128(p), key),
                                    _mm_cmpeq_epi32(_mm_loadu_si128(p + 1), key));
        __m128i b = _mm_packs_epi32(_mm_cmpeq_epi32(_mm_loadu_si128(p + 2), key),
                                    _mm_cmpeq_epi32(_mm_loadu_si128(p + 3), key));
        return (unsigned)_mm_movemask_epi8(_mm_packs_epi16(a, b));
    }
    for (; i + 4u <= n; i += 4u) {
        __m128i eq = _mm_cmpeq_epi32(_mm_loadu_si128(p + i / 4u), key);
        m |= (uint64_t)(unsigned)_mm_movemask_ps(_mm_castsi128_ps(eq)) << i;
    }
#endif
    for (; i < n; i++)
        m |= (uint64_t)(t[i] == v) << i;
    return m;
}

/*
 * The lowest i < n with t[i] == v, else UINT32_MAX: mmusim__match32 over a
 * set of any width (wider than 64, a fully associative array set up by hand,
 * in pieces of 64).
 */
static inline uint32_t mmusim__find32(const uint32_t *t, uint32_t n, uint32_t v)
{
    if (MMUSIM_LIKELY(n <= 64u)) {
        uint64_t m = mmusim__match32(t, n, v);
        return m ? mmusim__ctz64(m) : UINT32_MAX;
    }
    for (uint32_t i = 0; i < n; i += 64u) {
        uint64_t m = mmusim__match32(t + i, n - i < 64u ? n - i : 64u, v);
        if (m)
            return i + mmusim__ctz64(m);
    }
    return UINT32_MAX;
}

static inline unsigned mmusim__popcount64(uint64_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* splitmix64 (Steele, Lea, Flood 2014): the next 64-bit output of a seeded stream. */
static inline uint64_t mmusim__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/*
 * Room for element n of a growable array p of *cap elements of elem bytes:
 * p itself while n < *cap, else p grown to twice *cap (first, if empty).
 * NULL if out of memory, with p and *cap untouched.
 */
static inline void *mmusim__grow(void *p, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return p;
    size_t c = *cap ? 2 * *cap : first;
    void *q = mmusim__realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

/* TLB geometry of a preset (src/cpu/presets.c). MMUSIM_OK or MMUSIM_EPRESET. */
int mmusim__tlb_preset(enum mmusim_preset p, struct mmusim_tlb_config *out);

/* Page-table line cache geometry of a preset (src/cpu/presets.c). */
void mmusim__ptcache_preset(enum mmusim_preset p, uint32_t *lines, uint32_t *ways);

#endif /* MMUSIM_INTERNAL_H */
