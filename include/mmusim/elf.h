/*
 * mmusim — loading an i386 ELF program into a simulated address space.
 *
 * An ELF32 executable for EM_386 (System V ABI, Intel386 supplement), of
 * type ET_EXEC (fixed addresses) or ET_DYN (position independent, placed at
 * a load bias), is loaded the way Linux's binfmt_elf maps it into a fresh
 * mm: every PT_LOAD segment page by page with its rights, the file bytes
 * copied into simulated frames, the rest of each segment (.bss) zero, and a
 * stack just below the top of user space (PAGE_OFFSET) with PT_GNU_STACK's
 * rights. PT_INTERP is reported, not followed: the dynamic loader it names
 * can be loaded as a second ELF into the same address space at a bias of
 * the caller's choice (with opts.stack_bytes = 0, the program owns the stack).
 *
 * The caller creates the address space (mmusim_pgd_create) and passes its
 * CR3; the pages the program needs must not be mapped in it yet. User
 * frames come from HighMem first, then Normal, then DMA, the order of the
 * zonelist that Linux's GFP_HIGHUSER allocations walk. Page tables come from
 * lowmem as mmusim_pt_map takes them.
 *
 * Nothing half-mapped: the whole image is checked before the first page is
 * mapped, and each bad input has its own error code (ENOTELF, EELFCLASS,
 * EELFMACHINE, EELFTYPE, EELFTRUNC, EELFPHDR, EELFSEG, EELFOVERLAP,
 * EELFRANGE); a page already mapped in cr3 is MMUSIM_EMAPPED. If mapping
 * still fails (MMUSIM_ENOFRAME when physical memory runs out, MMUSIM_ENOMEM),
 * every page mapped so far is unmapped, its frame freed, and every page
 * table the load allocated freed, so the address space and the zones' free
 * frames are as they were. docs/replay.md, "ELF loading", gives the rules.
 */
#ifndef MMUSIM_ELF_H
#define MMUSIM_ELF_H

#include "api.h"

#include <stddef.h>
#include <stdint.h>

#include "machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Segments described in struct mmusim_elf_info (more are loaded, not listed). */
#define MMUSIM_ELF_MAX_SEGMENTS 16
/* Bytes kept of PT_INTERP's path, with its terminating NUL. */
#define MMUSIM_ELF_INTERP_MAX 256
/* The largest file mmusim_elf_load_file reads (a 32-bit program's image fits in 3 GiB of user space anyway). */
#define MMUSIM_ELF_FILE_MAX (1ull << 30)

/* p_flags of a program header (ELF spec, Figure 2-4: PF_X, PF_W, PF_R). */
#define MMUSIM_ELF_PF_X 0x1u
#define MMUSIM_ELF_PF_W 0x2u
#define MMUSIM_ELF_PF_R 0x4u

struct mmusim_elf_opts {
    /* Bytes of stack mapped just below PAGE_OFFSET (Linux's STACK_TOP on
     * i386 is TASK_SIZE = PAGE_OFFSET); a multiple of 4 KiB, 0 for none.
     * Default 128 KiB (the 32 pages Linux's setup_arg_pages grows the new
     * stack to, stack_expand = 131072). */
    uint32_t stack_bytes;
};

/* Defaults as above. A NULL opts to the load calls means these defaults. */
MMUSIM_API void mmusim_elf_opts_init(struct mmusim_elf_opts *opts);

/* One PT_LOAD segment as loaded (addresses include the bias). */
struct mmusim_elf_segment {
    uint32_t vaddr;      /* p_vaddr + bias */
    uint32_t memsz;      /* p_memsz */
    uint32_t filesz;     /* p_filesz */
    uint32_t offset;     /* p_offset */
    uint32_t flags;      /* p_flags (MMUSIM_ELF_PF_*) */
    uint32_t page_first; /* first page mapped for it */
    uint32_t npages;     /* pages it spans */
    int writable;        /* its pages carry RW */
    int executable;      /* its pages can be executed (no NX bit on them) */
};

struct mmusim_elf_info {
    unsigned type;       /* e_type: 2 (ET_EXEC) or 3 (ET_DYN) */
    uint32_t bias;       /* the bias applied (0 for ET_EXEC) */
    uint32_t entry;      /* e_entry + bias */
    uint32_t phdr_vaddr; /* where the program headers are in memory (AT_PHDR), 0 if in no segment */
    unsigned phnum;      /* e_phnum (AT_PHNUM) */
    unsigned nsegments;  /* PT_LOAD segments loaded; the first MMUSIM_ELF_MAX_SEGMENTS described below */
    struct mmusim_elf_segment segments[MMUSIM_ELF_MAX_SEGMENTS];
    uint32_t pages_mapped; /* user pages mapped, stack included */
    uint32_t brk;        /* start of the heap: end of the highest segment, page-aligned (start_brk) */
    uint32_t stack_low;  /* the stack's pages: [stack_low, stack_top); equal when none */
    uint32_t stack_top;
    int stack_executable;
    int has_gnu_stack;   /* PT_GNU_STACK present */
    /* No PT_GNU_STACK: i386 Linux sets READ_IMPLIES_EXEC, so every
     * segment is executable whatever its PF_X (arch/x86 elf_read_implies_exec). */
    int read_implies_exec;
    /* Whether a non-executable page could be expressed: PAE with NX. Without
     * it every mapped page is executable, whatever the segment says. */
    int nx;
    int has_interp;      /* PT_INTERP present */
    int interp_truncated; /* its path did not fit in interp */
    char interp[MMUSIM_ELF_INTERP_MAX];
};

/*
 * Load the ELF image buf[0..len) into the address space cr3 at bias (page
 * aligned; must be 0 for ET_EXEC). On success *out describes what was
 * loaded; on error the address space, the frames and *out's contents are
 * as before. MMUSIM_EINVAL for a NULL machine, buf, or out; MMUSIM_ENOTPGD for a cr3 not of this machine, MMUSIM_EKERNEL for
 * swapper_pg_dir; MMUSIM_EALIGN for a bias not page aligned, MMUSIM_EINVAL
 * for a nonzero bias with ET_EXEC or a bad opts.stack_bytes.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_elf_load_mem(mmusim_machine *m, uint64_t cr3, const void *buf, size_t len,
                                                    uint32_t bias, const struct mmusim_elf_opts *opts,
                                                    struct mmusim_elf_info *out);

/*
 * The same for the file at path, read whole first. MMUSIM_EIO if it cannot
 * be opened or read, is not a regular file (a device, a pipe), or is larger
 * than MMUSIM_ELF_FILE_MAX.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_elf_load_file(mmusim_machine *m, uint64_t cr3, const char *path, uint32_t bias,
                                                     const struct mmusim_elf_opts *opts, struct mmusim_elf_info *out);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_ELF_H */
