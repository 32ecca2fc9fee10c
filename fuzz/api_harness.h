/*
 * The API-sequence harness shared by the libFuzzer targets fuzz_api and
 * fuzz_kmap and by the seeded soak program api_soak (fuzz/api_soak.c).
 *
 * A byte source — libFuzzer's input, or a seeded PRNG — is decoded into a
 * machine configuration, then a sequence of public calls on it, made
 * outside runs (direct calls) and inside mmusim_machine_run (tasks and
 * interrupt handlers whose steps decode their operations from the same
 * source). The coherence checker is on; the harness tracks every page-table
 * change and the flushes that follow it, and an access made by a CPU for
 * which every change to the pages it touches was flushed must not be a
 * coherence violation (abort() otherwise). Everything else the library does
 * with the calls — errors, BUG and WARN reports — is allowed.
 *
 * Public API only.
 */
#ifndef MMUSIM_FUZZ_API_HARNESS_H
#define MMUSIM_FUZZ_API_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* Where the bytes come from: data[0..size) (then zeros, and exhausted set), or a PRNG when seeded. */
struct apih_src {
    const uint8_t *data;
    size_t size, pos;
    int seeded;
    uint64_t rng;
    int exhausted;
};

/* Which operations dominate: every kind alike, or the kmap calls. */
enum apih_mode { APIH_MODE_API, APIH_MODE_KMAP };

struct apih_totals {
    uint64_t episodes;        /* machines created */
    uint64_t ops;             /* operations decoded and made */
    uint64_t runs;            /* mmusim_machine_run calls */
    uint64_t checked;         /* accesses made with every change flushed: held to no violation */
    uint64_t violations_seen; /* violations in accesses that were not held to it (allowed) */
    uint64_t reports;         /* BUG and WARN reports recorded */
};

/*
 * One machine: a configuration decoded from src, then up to max_ops
 * operations (until src is exhausted when not seeded). Adds to *t.
 */
void apih_episode(struct apih_src *src, enum apih_mode mode, uint64_t max_ops, struct apih_totals *t);

#endif /* MMUSIM_FUZZ_API_HARNESS_H */
