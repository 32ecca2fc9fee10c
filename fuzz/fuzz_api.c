/*
 * libFuzzer target: API sequences (fuzz/api_harness.c). The input is a
 * machine configuration (four bytes) and then operations, byte-decoded,
 * made outside and inside runs on every CPU with the coherence checker on.
 * A finding is a sanitizer report, a leak, a crash, a hang (libFuzzer's
 * -timeout), or a harness abort(): a coherence violation on an access whose
 * every page-table change was flushed, a physical write past RAM accepted,
 * mmusim_machine_run returning an error it does not document.
 */
#include <stddef.h>
#include <stdint.h>

#include "api_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return -1;
    struct apih_src src = {.data = data, .size = size};
    struct apih_totals t = {0};
    apih_episode(&src, APIH_MODE_API, UINT64_MAX, &t);
    return 0;
}
