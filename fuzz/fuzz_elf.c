/*
 * libFuzzer target: the ELF loader (include/mmusim/elf.h).
 *
 * The input is an ELF image, loaded with mmusim_elf_load_mem into a fresh
 * address space of a small machine (32 MiB; 2-level paging for an input of
 * even length, PAE with NX for odd, so both entry formats are reached), at
 * bias 0. Afterwards:
 *
 *  - on an error, every zone has exactly the free frames it had before the
 *    call (nothing mapped, no page table left, no frame leaked);
 *  - on success, the frames taken are at least the pages reported, and
 *    unmapping the reported segments and stack and destroying the address
 *    space gives every frame back.
 *
 * A finding is a sanitizer report, a leak, a crash, or a broken invariant
 * (abort()). Seeds: fuzz/corpus/elf/ (scripts/elf_corpus.py).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_machine.h"
#include "mmusim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* Unmap [lo, lo + npages pages) and free the frames. */
static void unmap_range(mmusim_machine *m, uint64_t cr3, uint64_t lo, uint64_t npages)
{
    for (uint64_t i = 0; i < npages; i++) {
        struct mmusim_pte_info pi;
        uint32_t va = (uint32_t)(lo + i * MMUSIM_PAGE_SIZE);
        if (mmusim_pt_get(m, cr3, va, &pi) != MMUSIM_OK || !pi.present)
            continue;
        if (mmusim_pt_unmap(m, cr3, va) != MMUSIM_OK || mmusim_frame_free(m, pi.pa >> MMUSIM_PAGE_SHIFT) != MMUSIM_OK)
            abort();
    }
}

/* Give back what a successful load took; 0 if the info does not list it all. */
static int unload(mmusim_machine *m, uint64_t cr3, const struct mmusim_elf_info *info)
{
    if (info->nsegments > MMUSIM_ELF_MAX_SEGMENTS)
        return 0;
    for (unsigned i = 0; i < info->nsegments; i++)
        unmap_range(m, cr3, info->segments[i].page_first, info->segments[i].npages);
    unmap_range(m, cr3, info->stack_low, (info->stack_top - info->stack_low) / MMUSIM_PAGE_SIZE);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return -1;
    int pae = (int)(size & 1);
    mmusim_machine *m = fuzz_machine(pae);
    uint64_t cr3, start = fuzz_free_frames(m);
    struct mmusim_elf_info info;
    if (mmusim_pgd_create(m, &cr3) != MMUSIM_OK)
        abort();
    uint64_t before = fuzz_free_frames(m);
    int rc = mmusim_elf_load_mem(m, cr3, data, size, 0, NULL, &info);
    if (rc != MMUSIM_OK) {
        if (fuzz_free_frames(m) != before)
            abort(); /* a refused load left frames behind */
    } else {
        if (before - fuzz_free_frames(m) < info.pages_mapped)
            abort();
        if (!unload(m, cr3, &info)) {
            /* More segments than the info lists: start again on a fresh machine. */
            fuzz_machine_reset(pae);
            return 0;
        }
    }
    if (mmusim_pgd_destroy(m, cr3) != MMUSIM_OK || fuzz_free_frames(m) != start)
        abort(); /* a frame lost across load and unload */
    return 0;
}
