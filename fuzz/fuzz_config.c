/*
 * libFuzzer target: configuration keys.
 *
 * The input is lines "key=value" (a line without '=' is a key with an empty
 * value). Each is applied with mmusim_config_set(); every accepted key is read
 * back with mmusim_config_get() and set again, which must succeed and give the
 * same text. Then mmusim_layout_compute(), and, if the configuration is valid
 * and small (mem <= 256M, cpus <= 8, so one run stays fast),
 * mmusim_machine_create() and mmusim_machine_destroy().
 *
 * A finding is a sanitizer report, a leak, a crash, or a failed round trip
 * (abort()).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim/config.h"
#include "mmusim/error.h"
#include "mmusim/layout.h"
#include "mmusim/machine.h"

#define FUZZ_MAX_LINES 64
#define FUZZ_MAX_MEM ((uint64_t)256 << 20)
#define FUZZ_MAX_CPUS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(struct mmusim_config *cfg, const char *key)
{
    char a[256], b[256];
    if (mmusim_config_get(cfg, key, a, sizeof(a)) != MMUSIM_OK)
        return; /* a key set may be write-only (e.g. "preset" aliases); nothing to check */
    struct mmusim_config copy = *cfg;
    if (mmusim_config_set(&copy, key, a) != MMUSIM_OK)
        abort(); /* get gave text that set refuses */
    if (mmusim_config_get(&copy, key, b, sizeof(b)) != MMUSIM_OK || strcmp(a, b) != 0)
        abort(); /* not a fixed point */
    /* A buffer too small must be refused, not overrun. */
    char tiny[2];
    (void)mmusim_config_get(cfg, key, tiny, sizeof(tiny));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return -1;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    char *line = text;
    for (int n = 0; n < FUZZ_MAX_LINES && line; n++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        const char *value = "";
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        struct mmusim_config before = cfg;
        int rc = mmusim_config_set(&cfg, line, value);
        if (rc != MMUSIM_OK) {
            if (memcmp(&before, &cfg, sizeof(cfg)) != 0)
                abort(); /* "cfg is unchanged on error" */
        } else {
            round_trip(&cfg, line);
        }
        line = next;
    }

    struct mmusim_layout l;
    int rc = mmusim_layout_compute(&cfg, &l);
    if (rc == MMUSIM_OK && mmusim_config_validate(&cfg) == MMUSIM_OK && cfg.mem_bytes <= FUZZ_MAX_MEM &&
        cfg.ncpus <= FUZZ_MAX_CPUS) {
        mmusim_machine *m = NULL;
        if (mmusim_machine_create(&cfg, &m) == MMUSIM_OK)
            mmusim_machine_destroy(m);
    }
    free(text);
    return 0;
}
