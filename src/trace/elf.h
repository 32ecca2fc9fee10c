/*
 * mmusim — the ELF loader on the layers' parts (include/mmusim/elf.h says
 * what it does; src/machine.c hands the public calls here).
 */
#ifndef MMUSIM_TRACE_ELF_H
#define MMUSIM_TRACE_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu_sys.h"
#include "mmu/mmu.h"
#include "mmusim/elf.h"

/*
 * Load image[0..len) into cr3 (an address space of mmu other than
 * swapper_pg_dir, checked by the caller). image is the loader's to read
 * through libelf, which may keep pointers into it until the call returns;
 * it is not freed here. writers: the cpu part's record of entry writers,
 * told about every entry the load stores to (as mmusim_pt_map does).
 */
int mmusim__elf_load(struct mmu *mmu, struct pte_writers *writers, uint64_t cr3, char *image, size_t len,
                     uint32_t bias, const struct mmusim_elf_opts *opts, struct mmusim_elf_info *out);

/* Read the file at path whole into a malloc'd buffer: MMUSIM_EIO, MMUSIM_ENOMEM. */
int mmusim__elf_read_file(const char *path, char **image, size_t *len);

#endif /* MMUSIM_TRACE_ELF_H */
