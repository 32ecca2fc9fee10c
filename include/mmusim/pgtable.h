/*
 * mmusim — page tables in simulated physical memory, in the i686 formats.
 *
 * 32-bit paging (SDM Vol. 3A §4.3, Tables 4-4 to 4-6): CR3 -> page directory
 * of 1024 4-byte PDEs -> page table of 1024 4-byte PTEs. A PDE with PS=1
 * under CR4.PSE maps a 4 MiB page.
 *
 *   31                     12 11  9 8 7 6 5 4 3 2 1 0
 *  +-------------------------+-----+-+-+-+-+-+-+-+-+-+
 *  | page frame (PA 31:12)   | AVL |G|S|D|A|C|W|U|R|P|   4 KiB PTE (bit 7 = PAT)
 *  +-------------------------+-----+-+-+-+-+-+-+-+-+-+
 *  | PA 31:22 |  rsvd 21:13  |PAT ...   PS=1 ... same |   4 MiB PDE (SDM Table 4-4)
 *  +----------+--------------+------------------------+
 *   P present, R read/write, U user/supervisor, W PWT, C PCD, A accessed,
 *   D dirty (leaf only), S page size (PDE) / PAT (PTE), G global (leaf only,
 *   honoured under CR4.PGE).
 *
 * PAE paging (SDM Vol. 3A §4.4, Tables 4-8 to 4-11): CR3 -> a 32-byte PDPT of
 * four 8-byte PDPTEs, loaded into PDPTE registers when CR3 is written ->
 * page directory of 512 8-byte PDEs -> page table of 512 8-byte PTEs. A PDE
 * with PS=1 maps a 2 MiB page (CR4.PSE is not needed). The low 12 bits are as
 * above; PA bits 35:12 sit in bits 35:12 (MAXPHYADDR 36); bits 62:36 are
 * reserved; bit 63 is XD (execute-disable), reserved unless EFER.NXE = 1.
 * PDPTEs have only P, PWT and PCD; bits 2:1 and 8:5 are reserved.
 *
 * Linux stores a PAE entry as two 32-bit halves: set_pte writes the high half
 * then the low half (which holds P), pte_clear the low half then the high
 * (linux-highmem.md §1.7). mmusim does the same, in that order.
 */
#ifndef MMUSIM_PGTABLE_H
#define MMUSIM_PGTABLE_H

#include "api.h"

#include <stdint.h>

#include "machine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMUSIM_PTE_P   0x001ull /* present */
#define MMUSIM_PTE_RW  0x002ull /* writable */
#define MMUSIM_PTE_US  0x004ull /* user-accessible */
#define MMUSIM_PTE_PWT 0x008ull /* write-through */
#define MMUSIM_PTE_PCD 0x010ull /* cache disable */
#define MMUSIM_PTE_A   0x020ull /* accessed, set by the walker */
#define MMUSIM_PTE_D   0x040ull /* dirty, set by the walker on a write */
#define MMUSIM_PTE_PS  0x080ull /* page size, in a PDE */
#define MMUSIM_PTE_G   0x100ull /* global */
#define MMUSIM_PTE_NX  0x8000000000000000ull /* execute-disable, PAE only */

/* What Linux's PAGE_KERNEL is: present, writable, accessed, dirty (+ G under PGE). */
#define MMUSIM_PAGE_KERNEL (MMUSIM_PTE_P | MMUSIM_PTE_RW | MMUSIM_PTE_A | MMUSIM_PTE_D)

enum mmusim_page_size {
    MMUSIM_PAGE_4K,    /* 4 KiB */
    MMUSIM_PAGE_LARGE  /* 4 MiB without PAE, 2 MiB with PAE */
};

/* A leaf entry as read back. */
struct mmusim_pte_info {
    uint64_t raw;              /* the entry as stored */
    uint64_t entry_pa;         /* physical address of the entry */
    uint64_t pa;               /* physical address of the page */
    enum mmusim_page_size size;
    int present;
};

/* CR3 of the kernel's master directory (swapper_pg_dir). */
MMUSIM_API uint64_t mmusim_kernel_cr3(const mmusim_machine *m);

/*
 * A new address space: an empty user part and the kernel part shared with
 * swapper_pg_dir (2-level: the kernel PDEs copied, and kept in step; PAE:
 * the kernel PDPTEs point at the shared kernel page directories). Returns
 * its CR3 value.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pgd_create(mmusim_machine *m, uint64_t *cr3);

/*
 * Free an address space and its user page tables (not the pages they map).
 * MMUSIM_EPHYS, nothing freed, if a present user PDPTE or PDE names a table
 * past the end of RAM (docs/tlb.md §9, "Unbacked physical memory").
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pgd_destroy(mmusim_machine *m, uint64_t cr3);

/*
 * Map va -> pa in the address space cr3 with flags (MMUSIM_PTE_* bits; P is
 * implied; A, D, G, NX are stored as given). A kernel address (>= PAGE_OFFSET)
 * is mapped in the shared kernel tables whatever cr3 is. Page tables are
 * allocated from lowmem as needed. MMUSIM_EPAGESIZE for a large page in
 * 2-level paging on a CPU without PSE. MMUSIM_EMAPPED if something is mapped
 * there already; MMUSIM_EPHYS if pa is not inside RAM, or if an entry on the
 * way to va's leaf (the PDPTE under PAE, a present table PDE) names a table
 * past the end of RAM (docs/tlb.md §9); nothing is changed on error. No TLB
 * is touched: flushing is the caller's job, as in the kernel.
 *
 * The same MMUSIM_EPHYS, checked before anything changes, holds for
 * mmusim_pt_unmap, mmusim_pt_protect, mmusim_pt_get and mmusim_pt_set_raw.
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pt_map(mmusim_machine *m, uint64_t cr3, uint32_t va, uint64_t pa,
                  enum mmusim_page_size size, uint64_t flags);

/* Clear the leaf entry mapping va (pte_clear order under PAE). MMUSIM_EPHYS
 * if the walk to it leaves RAM (above); nothing is changed on error. */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pt_unmap(mmusim_machine *m, uint64_t cr3, uint32_t va);

/* Replace the flags of the leaf entry mapping va, keeping its frame.
 * MMUSIM_EPHYS if the walk to it leaves RAM (above). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pt_protect(mmusim_machine *m, uint64_t cr3, uint32_t va, uint64_t flags);

/* Read the leaf entry for va (present or not, if its table exists).
 * MMUSIM_EPHYS if the walk to it leaves RAM (above). */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pt_get(const mmusim_machine *m, uint64_t cr3, uint32_t va, struct mmusim_pte_info *out);

/*
 * Store a raw leaf entry (for tests and fault injection: reserved bits, odd
 * frames; the entry itself may name any frame, and a walk that then reads
 * past RAM reads all ones: docs/tlb.md §9). MMUSIM_EPHYS, nothing stored,
 * if the walk to va's entry leaves RAM (above).
 */
MMUSIM_API MMUSIM_NODISCARD int mmusim_pt_set_raw(mmusim_machine *m, uint64_t cr3, uint32_t va, enum mmusim_page_size size, uint64_t raw);

/* Observe every 32-bit store to physical memory (NULL to stop): tests use it to see store order. */
typedef void (*mmusim_store_fn)(void *ctx, uint64_t pa, uint32_t value);
MMUSIM_API void mmusim_machine_set_store_hook(mmusim_machine *m, mmusim_store_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_PGTABLE_H */
