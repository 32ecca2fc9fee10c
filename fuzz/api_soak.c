/*
 * The API-sequence harness (fuzz/api_harness.c) driven by a seeded PRNG
 * instead of libFuzzer: a plain program, built with the tests (and so under
 * ASan and UBSan in scripts/dev.sh asan), with no pattern of operations
 * avoided.
 *
 *   api_soak [--kmap] SEED OPS
 *
 * runs machines one after another (each a fresh configuration and 200 to
 * 4,000 operations) until OPS operations were made, and prints the totals.
 * Exits 0; a finding aborts, as in the fuzzers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_harness.h"

int main(int argc, char **argv)
{
    enum apih_mode mode = APIH_MODE_API;
    int a = 1;
    if (a < argc && strcmp(argv[a], "--kmap") == 0) {
        mode = APIH_MODE_KMAP;
        a++;
    }
    if (argc - a != 2) {
        fprintf(stderr, "usage: api_soak [--kmap] SEED OPS\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[a], NULL, 0), ops = strtoull(argv[a + 1], NULL, 0);
    struct apih_src src = {.seeded = 1, .rng = seed};
    struct apih_totals t = {0};
    uint64_t pick = seed ^ 0x5eed;
    while (t.ops < ops) {
        pick = pick * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t n = 200 + (pick >> 33) % 3800;
        if (n > ops - t.ops)
            n = ops - t.ops;
        uint64_t before = t.ops;
        apih_episode(&src, mode, n, &t);
        if (t.ops == before) /* a configuration the machine refused: the next one */
            continue;
    }
    printf("api_soak%s seed %" PRIu64 ": %" PRIu64 " operations on %" PRIu64 " machines, %" PRIu64
           " runs, %" PRIu64 " accesses held to coherence, %" PRIu64 " violations where allowed, %" PRIu64
           " reports; no finding\n",
           mode == APIH_MODE_KMAP ? " --kmap" : "", seed, t.ops, t.episodes, t.runs, t.checked, t.violations_seen,
           t.reports);
    return 0;
}
