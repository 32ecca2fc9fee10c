/*
 * The ELF loader (include/mmusim/elf.h, docs/replay.md "ELF loading"),
 * against the System V ABI (gABI chapter 5, "Program Loading"; Intel386
 * supplement: ELFCLASS32, ELFDATA2LSB, EM_386, 4 KiB pages) and Linux's
 * binfmt_elf where the spec leaves a choice (stack rights, READ_IMPLIES_EXEC).
 *
 * Images are built here byte by byte (build_image): an ELF header, the
 * program header table right after it, and file bytes that are a known
 * function of their offset, so the frames can be checked against the file.
 * Every bad image expects its own error, no page mapped, no frame gone from
 * any zone, and a machine that still loads a good image afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim.h"
#include "support.h"

#define PAGE MMUSIM_PAGE_SIZE
#define IMG_MAX 0x4000u
#define TEXT_VA 0x08049000u
#define DATA_VA 0x0804a0a0u /* not page aligned: its page starts with file bytes */
#define ENTRY (TEXT_VA + 0x10u)

struct image {
    uint8_t b[IMG_MAX];
    size_t len;
    Elf32_Phdr ph[8];
    unsigned n;
    Elf32_Ehdr eh;
};

/* The byte at file offset off (the headers overwrite the first ones). */
static uint8_t file_byte(size_t off)
{
    return (uint8_t)(off * 7u + 3u);
}

static void add_ph(struct image *im, uint32_t type, uint32_t off, uint32_t va, uint32_t filesz, uint32_t memsz,
                   uint32_t flags)
{
    Elf32_Phdr p = {.p_type = type, .p_offset = off, .p_vaddr = va, .p_paddr = va, .p_filesz = filesz,
                    .p_memsz = memsz, .p_flags = flags, .p_align = PAGE};
    im->ph[im->n++] = p;
}

/* The ELF header of an i386 executable with its table at offset 52. */
static void init_image(struct image *im, uint16_t type, uint32_t entry)
{
    memset(im, 0, sizeof(*im));
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS32;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = type;
    im->eh.e_machine = EM_386;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = entry;
    im->eh.e_phoff = sizeof(Elf32_Ehdr);
    im->eh.e_ehsize = sizeof(Elf32_Ehdr);
    im->eh.e_phentsize = sizeof(Elf32_Phdr);
    im->len = 0x2100;
}

/* Lay the bytes out: pattern, header, table (e_phnum = n). */
static void build_image(struct image *im)
{
    for (size_t i = 0; i < IMG_MAX; i++)
        im->b[i] = file_byte(i);
    im->eh.e_phnum = (uint16_t)im->n;
    memcpy(im->b, &im->eh, sizeof(im->eh));
    memcpy(im->b + im->eh.e_phoff, im->ph, im->n * sizeof(Elf32_Phdr));
}

/* The usual program: headers (R), text (R X), data with .bss (RW), GNU_STACK (RW). */
static void good_image(struct image *im, uint16_t type, uint32_t base)
{
    init_image(im, type, base + (ENTRY - 0x08048000u));
    add_ph(im, PT_LOAD, 0, base, 0x100, 0x100, PF_R);
    add_ph(im, PT_LOAD, 0x1000, base + (TEXT_VA - 0x08048000u), 0x100, 0x100, PF_R | PF_X);
    add_ph(im, PT_LOAD, 0x20a0, base + (DATA_VA - 0x08048000u), 0x60, 0x3000, PF_R | PF_W);
    add_ph(im, PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W);
    build_image(im);
}

static uint64_t new_space(mmusim_machine *m)
{
    uint64_t cr3;
    assert_int_equal(mmusim_pgd_create(m, &cr3), MMUSIM_OK);
    return cr3;
}

static struct mmusim_pte_info pte(mmusim_machine *m, uint64_t cr3, uint32_t va)
{
    struct mmusim_pte_info info;
    assert_int_equal(mmusim_pt_get(m, cr3, va, &info), MMUSIM_OK);
    assert_true(info.present);
    return info;
}

static void free_counts(mmusim_machine *m, uint64_t *c)
{
    for (unsigned z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        c[z] = mmusim_zone_free_frames(m, (enum mmusim_zone)z);
}

/* No user page of [lo, hi) is mapped in cr3. */
static void assert_unmapped(mmusim_machine *m, uint64_t cr3, uint32_t lo, uint32_t hi)
{
    struct mmusim_pte_info info;
    for (uint64_t va = lo & ~(uint64_t)(PAGE - 1); va < hi; va += PAGE) {
        int rc = mmusim_pt_get(m, cr3, (uint32_t)va, &info);
        assert_true(rc == MMUSIM_ENOTMAPPED || (rc == MMUSIM_OK && !info.present));
    }
}

static const char *const pae_nx[] = {"paging", "pae", "nx", "1", NULL};

/* ---- a good ET_EXEC ---- */

static void test_exec_segments(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m), before[MMUSIM_ZONE_COUNT_], after[MMUSIM_ZONE_COUNT_];
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    struct image im;
    struct mmusim_elf_info info;
    good_image(&im, ET_EXEC, 0x08048000u);
    free_counts(m, before);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);

    assert_int_equal(info.type, ET_EXEC);
    assert_int_equal(info.entry, ENTRY);
    assert_int_equal(info.nsegments, 3);
    assert_int_equal(info.phnum, 4);
    assert_int_equal(info.phdr_vaddr, 0x08048000u + sizeof(Elf32_Ehdr)); /* AT_PHDR */
    assert_int_equal(info.segments[2].vaddr, DATA_VA);
    assert_int_equal(info.segments[2].memsz, 0x3000);
    assert_int_equal(info.segments[2].page_first, 0x0804a000u);
    assert_int_equal(info.segments[2].npages, 4); /* 0x0804a0a0 + 0x3000 ends in the fourth page */
    assert_true(info.segments[2].writable);
    assert_false(info.segments[1].writable);
    /* start_brk: the end of .bss rounded up to a page. */
    assert_int_equal(info.brk, 0x0804e000u);
    /* The stack: 128 KiB just below PAGE_OFFSET (STACK_TOP = TASK_SIZE on i386). */
    assert_int_equal(info.stack_top, l->page_offset);
    assert_int_equal(info.stack_low, l->page_offset - 128u * 1024u);
    assert_int_equal(info.pages_mapped, 1 + 1 + 4 + 32);
    assert_false(info.has_interp);
    assert_false(info.nx); /* 2-level paging: no XD bit */
    assert_true(info.segments[2].executable);

    /* Rights per page: user always, RW only for the data. */
    assert_int_equal(pte(m, cr3, TEXT_VA).raw & (MMUSIM_PTE_RW | MMUSIM_PTE_US), MMUSIM_PTE_US);
    assert_int_equal(pte(m, cr3, 0x08048000u).raw & MMUSIM_PTE_RW, 0);
    for (uint32_t va = 0x0804a000u; va < 0x0804e000u; va += PAGE)
        assert_int_equal(pte(m, cr3, va).raw & (MMUSIM_PTE_RW | MMUSIM_PTE_US), MMUSIM_PTE_RW | MMUSIM_PTE_US);
    assert_int_equal(pte(m, cr3, l->page_offset - PAGE).raw & MMUSIM_PTE_RW, MMUSIM_PTE_RW);
    assert_unmapped(m, cr3, 0x0804e000u, 0x08050000u);
    assert_unmapped(m, cr3, 0x08047000u, 0x08048000u);

    /* 38 user frames, all from HighMem (GFP_HIGHUSER), plus page tables from lowmem. */
    free_counts(m, after);
    assert_int_equal(before[MMUSIM_ZONE_HIGHMEM] - after[MMUSIM_ZONE_HIGHMEM], 38);
    assert_int_equal(mmusim_layout_zone_of(l, pte(m, cr3, TEXT_VA).pa >> MMUSIM_PAGE_SHIFT), MMUSIM_ZONE_HIGHMEM);
}

/* The bytes in the frames: file bytes where the file has them, zero elsewhere (.bss). */
static void test_exec_contents(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    uint8_t page[PAGE];
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);

    /* Text: 0x100 file bytes from 0x1000, then zero. */
    assert_int_equal(mmusim_phys_read(m, pte(m, cr3, TEXT_VA).pa, page, PAGE), MMUSIM_OK);
    assert_memory_equal(page, im.b + 0x1000, 0x100);
    for (size_t i = 0x100; i < PAGE; i++)
        assert_int_equal(page[i], 0);
    /* Headers page: the ELF header and the program headers where AT_PHDR says. */
    assert_int_equal(mmusim_phys_read(m, pte(m, cr3, 0x08048000u).pa, page, PAGE), MMUSIM_OK);
    assert_memory_equal(page, im.b, 0x100);
    /* Data's first page: the file page from its start (0x2000) to the end of
     * p_filesz (0x2100), then .bss zero to the end of the page. */
    assert_int_equal(mmusim_phys_read(m, pte(m, cr3, 0x0804a000u).pa, page, PAGE), MMUSIM_OK);
    assert_memory_equal(page, im.b + 0x2000, 0x100);
    for (size_t i = 0x100; i < PAGE; i++)
        assert_int_equal(page[i], 0);
    /* The rest of .bss. */
    for (uint32_t va = 0x0804b000u; va < 0x0804e000u; va += PAGE) {
        assert_int_equal(mmusim_phys_read(m, pte(m, cr3, va).pa, page, PAGE), MMUSIM_OK);
        for (size_t i = 0; i < PAGE; i++)
            assert_int_equal(page[i], 0);
    }
}

/* Run on a CPU: user reads of text and data, a write to data, a write to text faults. */
static void test_exec_on_cpu(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    uint64_t cr3 = new_space(m), cycles;
    struct image im;
    struct mmusim_elf_info info;
    struct mmusim_access acc;
    uint32_t word = 0;
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_write_cr3(cpu, cr3, &cycles), MMUSIM_OK);

    assert_int_equal(mmusim_cpu_access(cpu, info.entry, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 4, &word, &acc), MMUSIM_OK);
    assert_false(acc.fault);
    uint32_t expect;
    memcpy(&expect, im.b + 0x1010, 4);
    assert_int_equal(word, expect);
    assert_int_equal(mmusim_cpu_access(cpu, DATA_VA, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &word, &acc), MMUSIM_OK);
    assert_false(acc.fault);
    assert_int_equal(mmusim_cpu_access(cpu, TEXT_VA, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &word, &acc), MMUSIM_OK);
    assert_true(acc.fault);
    assert_int_equal(mmusim_cpu_access(cpu, info.stack_top - 4, MMUSIM_ACC_WRITE | MMUSIM_ACC_USER, 4, &word, &acc),
                     MMUSIM_OK);
    assert_false(acc.fault);
}

/* ---- ET_DYN at a bias; bias rules ---- */

static void test_dyn_bias(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    const uint32_t bias = 0x40000000u;
    good_image(&im, ET_DYN, 0);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, bias + 0x10, NULL, &info), MMUSIM_EALIGN);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, bias, NULL, &info), MMUSIM_OK);
    assert_int_equal(info.type, ET_DYN);
    assert_int_equal(info.bias, bias);
    assert_int_equal(info.entry, bias + 0x1010);
    assert_int_equal(info.segments[0].vaddr, bias);
    assert_int_equal(info.segments[1].vaddr, bias + 0x1000);
    assert_int_equal(info.segments[2].vaddr, bias + 0x20a0);
    assert_int_equal(info.phdr_vaddr, bias + sizeof(Elf32_Ehdr));
    assert_int_equal(pte(m, cr3, bias + 0x1000).raw & MMUSIM_PTE_RW, 0);
    assert_int_equal(pte(m, cr3, bias + 0x2000).raw & MMUSIM_PTE_RW, MMUSIM_PTE_RW);
    assert_unmapped(m, cr3, 0, 0x6000);

    /* A second copy at another bias, no stack (an interpreter's way in). */
    struct mmusim_elf_opts opts;
    mmusim_elf_opts_init(&opts);
    opts.stack_bytes = 0;
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0x50000000u, &opts, &info), MMUSIM_OK);
    assert_int_equal(info.stack_low, info.stack_top);
    assert_int_equal(info.pages_mapped, 6);
    /* The same bias again: its pages are taken. */
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0x50000000u, &opts, &info), MMUSIM_EMAPPED);

    /* An entry point that the bias pushes past 4 GiB. */
    im.eh.e_entry = 0xfffff000u;
    build_image(&im);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0x60000000u, &opts, &info), MMUSIM_EELFRANGE);

    /* ET_EXEC's addresses are absolute: a bias is refused. */
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0x1000, NULL, &info), MMUSIM_EINVAL);
}

/* ---- rights under PAE with NX ---- */

static void test_nx_rights(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, pae_nx);
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    uint64_t cr3 = new_space(m), cycles;
    struct image im;
    struct mmusim_elf_info info;
    struct mmusim_access acc;
    uint32_t w;
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_true(info.nx);
    assert_true(info.has_gnu_stack);
    assert_false(info.read_implies_exec);
    assert_false(info.stack_executable);
    assert_true(info.segments[1].executable);
    assert_false(info.segments[0].executable);
    assert_false(info.segments[2].executable);
    assert_int_equal(pte(m, cr3, TEXT_VA).raw & MMUSIM_PTE_NX, 0);
    assert_int_equal(pte(m, cr3, 0x08048000u).raw & MMUSIM_PTE_NX, MMUSIM_PTE_NX);
    assert_int_equal(pte(m, cr3, 0x0804b000u).raw & MMUSIM_PTE_NX, MMUSIM_PTE_NX);
    assert_int_equal(pte(m, cr3, info.stack_low).raw & MMUSIM_PTE_NX, MMUSIM_PTE_NX);
    /* The CPU agrees: fetching from data faults, from text does not. */
    assert_int_equal(mmusim_cpu_write_cr3(cpu, cr3, &cycles), MMUSIM_OK);
    assert_int_equal(mmusim_cpu_access(cpu, DATA_VA, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 4, &w, &acc), MMUSIM_OK);
    assert_true(acc.fault);
    assert_int_equal(mmusim_cpu_access(cpu, ENTRY, MMUSIM_ACC_EXEC | MMUSIM_ACC_USER, 4, &w, &acc), MMUSIM_OK);
    assert_false(acc.fault);
}

/* PT_GNU_STACK with PF_X: an executable stack, the segments as they say. */
static void test_gnu_stack_exec(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, pae_nx);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    good_image(&im, ET_EXEC, 0x08048000u);
    im.ph[3].p_flags = PF_R | PF_W | PF_X;
    build_image(&im);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_true(info.stack_executable);
    assert_int_equal(pte(m, cr3, info.stack_low).raw & MMUSIM_PTE_NX, 0);
    assert_int_equal(pte(m, cr3, 0x0804b000u).raw & MMUSIM_PTE_NX, MMUSIM_PTE_NX);
}

/* No PT_GNU_STACK: i386 Linux sets READ_IMPLIES_EXEC (elf_read_implies_exec
 * with EXSTACK_DEFAULT), so the stack and every segment are executable. */
static void test_no_gnu_stack(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, pae_nx);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    good_image(&im, ET_EXEC, 0x08048000u);
    im.n = 3;
    im.eh.e_phnum = 3;
    build_image(&im);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_false(info.has_gnu_stack);
    assert_true(info.read_implies_exec);
    assert_true(info.stack_executable);
    assert_true(info.segments[2].executable);
    assert_int_equal(pte(m, cr3, info.stack_low).raw & MMUSIM_PTE_NX, 0);
    assert_int_equal(pte(m, cr3, 0x0804b000u).raw & MMUSIM_PTE_NX, 0);
}

/* ---- PT_INTERP ---- */

static void test_interp(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    static const char path[] = "/lib/ld-linux.so.2";
    good_image(&im, ET_EXEC, 0x08048000u);
    add_ph(&im, PT_INTERP, 0x140, 0x08048140u, sizeof(path), sizeof(path), PF_R);
    build_image(&im);
    memcpy(im.b + 0x140, path, sizeof(path));
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_true(info.has_interp);
    assert_false(info.interp_truncated);
    assert_string_equal(info.interp, path);

    /* A path longer than the buffer: kept in part, flagged. */
    cr3 = new_space(m);
    im.ph[4].p_offset = 0x2200, im.ph[4].p_filesz = 301;
    build_image(&im);
    im.len = 0x2400;
    memset(im.b + 0x2200, 'a', 300);
    im.b[0x2200 + 300] = '\0';
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_true(info.interp_truncated);
    assert_int_equal(strlen(info.interp), MMUSIM_ELF_INTERP_MAX - 1);

    /* Two PT_INTERP: the first counts, as in binfmt_elf (the second, even
     * malformed, is not looked at). */
    cr3 = new_space(m);
    good_image(&im, ET_EXEC, 0x08048000u);
    add_ph(&im, PT_INTERP, 0x140, 0x08048140u, sizeof(path), sizeof(path), PF_R);
    add_ph(&im, PT_INTERP, 0x180, 0x08048180u, 1, 1, PF_R);
    build_image(&im);
    memcpy(im.b + 0x140, path, sizeof(path));
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_string_equal(info.interp, path);
}

/* Two segments in one page (end of text, start of data): one frame, both
 * segments' bytes, the union of their rights. */
static void test_shared_page(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, pae_nx);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    uint8_t page[PAGE];
    init_image(&im, ET_EXEC, TEXT_VA);
    add_ph(&im, PT_LOAD, 0x1000, TEXT_VA, 0x100, 0x100, PF_R | PF_X);
    add_ph(&im, PT_LOAD, 0x1800, TEXT_VA + 0x800, 0x100, 0x200, PF_R | PF_W);
    add_ph(&im, PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W);
    build_image(&im);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_int_equal(info.nsegments, 2);
    assert_int_equal(info.pages_mapped, 1 + 32);
    uint64_t raw = pte(m, cr3, TEXT_VA).raw;
    assert_int_equal(raw & (MMUSIM_PTE_RW | MMUSIM_PTE_NX), MMUSIM_PTE_RW);
    assert_int_equal(mmusim_phys_read(m, pte(m, cr3, TEXT_VA).pa, page, PAGE), MMUSIM_OK);
    assert_memory_equal(page, im.b + 0x1000, 0x100);
    assert_memory_equal(page + 0x800, im.b + 0x1800, 0x100);
    for (size_t i = 0x100; i < 0x800; i++)
        assert_int_equal(page[i], 0);
    for (size_t i = 0x900; i < PAGE; i++)
        assert_int_equal(page[i], 0);
}

/* e_phoff need not be aligned (the gABI does not ask it to be): the table is
 * read wherever it lies (fuzz/corpus/elf/regress_unaligned_phoff; UBSan
 * flags a misaligned Elf32_Phdr read). */
static void test_unaligned_phdrs(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    good_image(&im, ET_EXEC, 0x08048000u);
    im.eh.e_phoff = 0x41;
    build_image(&im);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_int_equal(info.nsegments, 3);
    assert_int_equal(info.phdr_vaddr, 0x08048041u);
    assert_int_equal(info.segments[2].vaddr, DATA_VA);
}

/* ---- bad input ---- */

enum mutation {
    M_MAGIC, M_SHORT, M_CLASS64, M_MSB, M_MACHINE, M_TYPE, M_TRUNC_EHDR, M_TRUNC_PHDR, M_TRUNC_SEG,
    M_FILESZ, M_CONGRUENT, M_OVERLAP, M_KERNEL, M_STACK, M_WRAP, M_ENTRY, M_PHENTSIZE, M_PHNUM0, M_NOLOAD,
    M_INTERP_NUL, M_INTERP_SHORT, M_TRUNC_INTERP, M_COUNT
};

static const int expected[M_COUNT] = {
    [M_MAGIC] = MMUSIM_ENOTELF,      [M_SHORT] = MMUSIM_ENOTELF,       [M_CLASS64] = MMUSIM_EELFCLASS,
    [M_MSB] = MMUSIM_EELFCLASS,      [M_MACHINE] = MMUSIM_EELFMACHINE, [M_TYPE] = MMUSIM_EELFTYPE,
    [M_TRUNC_EHDR] = MMUSIM_EELFTRUNC, [M_TRUNC_PHDR] = MMUSIM_EELFTRUNC, [M_TRUNC_SEG] = MMUSIM_EELFTRUNC,
    [M_FILESZ] = MMUSIM_EELFSEG,     [M_CONGRUENT] = MMUSIM_EELFSEG,   [M_OVERLAP] = MMUSIM_EELFOVERLAP,
    [M_KERNEL] = MMUSIM_EELFRANGE,   [M_STACK] = MMUSIM_EELFRANGE,     [M_WRAP] = MMUSIM_EELFRANGE,
    [M_ENTRY] = MMUSIM_EELFRANGE,    [M_PHENTSIZE] = MMUSIM_EELFPHDR,  [M_PHNUM0] = MMUSIM_EELFPHDR,
    [M_NOLOAD] = MMUSIM_EELFPHDR,    [M_INTERP_NUL] = MMUSIM_EELFPHDR, [M_INTERP_SHORT] = MMUSIM_EELFPHDR,
    [M_TRUNC_INTERP] = MMUSIM_EELFTRUNC,
};

/* The good image with one defect. */
static void bad_image(struct image *im, enum mutation mu, uint32_t page_offset)
{
    good_image(im, ET_EXEC, 0x08048000u);
    switch (mu) {
    case M_MAGIC: im->eh.e_ident[EI_MAG1] = 'e'; break;
    case M_SHORT: break;
    case M_CLASS64: im->eh.e_ident[EI_CLASS] = ELFCLASS64; break;
    case M_MSB: im->eh.e_ident[EI_DATA] = ELFDATA2MSB; break;
    case M_MACHINE: im->eh.e_machine = EM_X86_64; break;
    case M_TYPE: im->eh.e_type = ET_REL; break;
    case M_TRUNC_EHDR: break;
    case M_TRUNC_PHDR: break;
    case M_TRUNC_SEG: break;
    case M_FILESZ: im->ph[2].p_memsz = 0x50; break; /* p_filesz 0x60 */
    case M_CONGRUENT: im->ph[2].p_vaddr += 0x10; break;
    case M_OVERLAP: im->ph[2].p_vaddr = TEXT_VA + 0x0a0; im->ph[2].p_offset = 0x10a0; break;
    case M_KERNEL: im->ph[2].p_vaddr = page_offset + 0x10a0; break;
    case M_STACK: im->ph[2].p_vaddr = page_offset - 0x20000u - 0x1f60; break; /* ends inside the stack */
    case M_WRAP: im->ph[2].p_vaddr = 0xfffff0a0u; break;
    case M_ENTRY: im->eh.e_entry = page_offset + 0x10; break;
    case M_PHENTSIZE: im->eh.e_phentsize = 40; break;
    case M_PHNUM0: break;
    case M_NOLOAD: for (unsigned i = 0; i < 3; i++) im->ph[i].p_type = PT_NOTE; break;
    case M_INTERP_NUL: add_ph(im, PT_INTERP, 0x140, 0x08048140u, 8, 8, PF_R); break; /* pattern bytes, no NUL */
    case M_INTERP_SHORT: add_ph(im, PT_INTERP, 0x140, 0x08048140u, 1, 1, PF_R); break;
    case M_TRUNC_INTERP: add_ph(im, PT_INTERP, 0x20f8, 0x0804a0f8u, 0x10, 0x10, PF_R); break;
    case M_COUNT: break;
    }
    build_image(im);
    if (mu == M_PHNUM0) {
        uint16_t zero = 0;
        memcpy(im->b + offsetof(Elf32_Ehdr, e_phnum), &zero, sizeof(zero));
    }
    if (mu == M_SHORT)
        im->len = 3;
    else if (mu == M_TRUNC_EHDR)
        im->len = sizeof(Elf32_Ehdr) - 1;
    else if (mu == M_TRUNC_PHDR)
        im->len = sizeof(Elf32_Ehdr) + 3 * sizeof(Elf32_Phdr);
    else if (mu == M_TRUNC_SEG)
        im->len = 0x20a0 + 0x5f; /* one byte short of the data's p_filesz */
}

static void check_bad_inputs(void **state, const char *const *kv)
{
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t cr3 = new_space(m), before[MMUSIM_ZONE_COUNT_], after[MMUSIM_ZONE_COUNT_];
    struct image im;
    struct mmusim_elf_info info;
    for (int mu = 0; mu < M_COUNT; mu++) {
        bad_image(&im, (enum mutation)mu, l->page_offset);
        free_counts(m, before);
        memset(&info, 0x5a, sizeof(info));
        int rc = mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info);
        if (rc != expected[mu])
            fail_msg("mutation %d: %s, expected %s", mu, mmusim_err_name(rc), mmusim_err_name(expected[mu]));
        free_counts(m, after);
        assert_memory_equal(before, after, sizeof(before));
        assert_int_equal(info.entry, 0x5a5a5a5au); /* *out untouched */
        assert_unmapped(m, cr3, 0x08048000u, 0x08050000u);
        assert_unmapped(m, cr3, l->page_offset - 0x40000u, l->page_offset);
    }
    /* Still usable: the good image loads into the same address space. */
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
}

static void test_bad_inputs(void **state)
{
    check_bad_inputs(state, NULL);
}

static void test_bad_inputs_pae(void **state)
{
    check_bad_inputs(state, pae_nx);
}

/* A page already mapped: MMUSIM_EMAPPED, and that mapping is left as it was. */
static void test_already_mapped(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m), pfn, before[MMUSIM_ZONE_COUNT_], after[MMUSIM_ZONE_COUNT_];
    struct image im;
    struct mmusim_elf_info info;
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_frame_alloc(m, MMUSIM_ZONE_HIGHMEM, &pfn), MMUSIM_OK);
    assert_int_equal(mmusim_pt_map(m, cr3, 0x0804c000u, pfn << 12, MMUSIM_PAGE_4K, MMUSIM_PTE_US), MMUSIM_OK);
    free_counts(m, before);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_EMAPPED);
    free_counts(m, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(pte(m, cr3, 0x0804c000u).pa, pfn << 12);
    assert_unmapped(m, cr3, 0x08048000u, 0x0804c000u);
}

/* Bad arguments. */
static void test_bad_args(void **state)
{
    mmusim_machine *m = ts_machine(state, 1, NULL);
    uint64_t cr3 = new_space(m);
    struct image im;
    struct mmusim_elf_info info;
    struct mmusim_elf_opts opts;
    good_image(&im, ET_EXEC, 0x08048000u);
    assert_int_equal(mmusim_elf_load_mem(m, mmusim_kernel_cr3(m), im.b, im.len, 0, NULL, &info), MMUSIM_EKERNEL);
    assert_int_equal(mmusim_elf_load_mem(m, cr3 + PAGE, im.b, im.len, 0, NULL, &info), MMUSIM_ENOTPGD);
    mmusim_elf_opts_init(&opts);
    opts.stack_bytes = 100;
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, &opts, &info), MMUSIM_EINVAL);
    assert_int_equal(mmusim_elf_load_file(m, cr3, "/nonexistent/elf", 0, NULL, &info), MMUSIM_EIO);
    /* A device is no program: refused before a byte is read (/dev/zero would never end). */
    assert_int_equal(mmusim_elf_load_file(m, cr3, "/dev/zero", 0, NULL, &info), MMUSIM_EIO);
    assert_unmapped(m, cr3, 0x08048000u, 0x08050000u);
}

/* ---- running out of frames: nothing left half-mapped ---- */

/* A tiny HighMem (900 MiB of RAM under VMSPLIT_3G: a few MiB above lowmem) and a
 * segment bigger than all free memory: refused before anything is mapped. */
static void test_segment_bigger_than_memory(void **state)
{
    static const char *const kv[] = {"mem", "900M", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    uint64_t cr3 = new_space(m), before[MMUSIM_ZONE_COUNT_], after[MMUSIM_ZONE_COUNT_];
    struct image im;
    struct mmusim_elf_info info;
    assert_true(mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM) < 4096); /* under 16 MiB */
    good_image(&im, ET_EXEC, 0x08048000u);
    im.ph[2].p_memsz = 0x40000000u; /* 1 GiB of .bss */
    build_image(&im);
    free_counts(m, before);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_ENOFRAME);
    free_counts(m, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_unmapped(m, cr3, 0x08048000u, 0x08050000u);
}

/* Take every free frame of zone z but keep. */
static unsigned hoard(mmusim_machine *m, enum mmusim_zone z, uint64_t keep, uint64_t *pfns)
{
    unsigned n = 0;
    while (mmusim_zone_free_frames(m, z) > keep)
        assert_int_equal(mmusim_frame_alloc(m, z, &pfns[n++]), MMUSIM_OK);
    return n;
}

/*
 * Frames enough for the pages but lowmem for one page table only: the
 * segment crosses a 4 MiB boundary, so its second page needs a second table
 * and the load fails there. The first page, its frame and the table made
 * for it are given back.
 */
static void test_undo_midway(void **state)
{
    static const char *const kv[] = {"mem", "900M", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    uint64_t cr3 = new_space(m), before[MMUSIM_ZONE_COUNT_], after[MMUSIM_ZONE_COUNT_];
    struct image im;
    struct mmusim_elf_info info;
    uint64_t *pfns = malloc(300000 * sizeof(*pfns));
    assert_non_null(pfns);
    unsigned n = hoard(m, MMUSIM_ZONE_NORMAL, 1, pfns);
    n += hoard(m, MMUSIM_ZONE_DMA, 0, pfns + n);
    struct mmusim_pte_info pi;
    /* Every segment in one table, the stack needing a second: the segments
     * are mapped, then undone when the stack's table cannot be had. */
    good_image(&im, ET_EXEC, 0x08048000u);
    free_counts(m, before);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_ENOFRAME);
    free_counts(m, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(mmusim_pt_get(m, cr3, 0x08048000u, &pi), MMUSIM_ENOTMAPPED);
    /* One segment across a 4 MiB boundary: its second page needs the second table. */
    init_image(&im, ET_EXEC, 0x083ff000u);
    add_ph(&im, PT_LOAD, 0x1000, 0x083ff000u, 0x100, 0x2000, PF_R | PF_W | PF_X);
    build_image(&im);
    free_counts(m, before);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_ENOFRAME);
    free_counts(m, after);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(mmusim_pt_get(m, cr3, 0x083ff000u, &pi), MMUSIM_ENOTMAPPED); /* its table is gone too */
    assert_int_equal(mmusim_pt_get(m, cr3, 0x08400000u, &pi), MMUSIM_ENOTMAPPED);
    /* With the frames back, the same image loads. */
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(mmusim_frame_free(m, pfns[i]), MMUSIM_OK);
    free(pfns);
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, NULL, &info), MMUSIM_OK);
    assert_int_equal(info.pages_mapped, 2 + 32);
}

/* HighMem first, then Normal: the GFP_HIGHUSER zonelist. */
static void test_zone_fallback(void **state)
{
    static const char *const kv[] = {"mem", "900M", NULL};
    mmusim_machine *m = ts_machine(state, 1, kv);
    const struct mmusim_layout *l = mmusim_machine_layout(m);
    uint64_t cr3 = new_space(m), pfns[4096];
    struct image im;
    struct mmusim_elf_info info;
    struct mmusim_elf_opts opts;
    mmusim_elf_opts_init(&opts);
    opts.stack_bytes = 0;
    assert_true(mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM) <= 4096);
    unsigned n = hoard(m, MMUSIM_ZONE_HIGHMEM, 2, pfns);
    uint64_t normal = mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL);
    good_image(&im, ET_EXEC, 0x08048000u); /* 6 pages */
    assert_int_equal(mmusim_elf_load_mem(m, cr3, im.b, im.len, 0, &opts, &info), MMUSIM_OK);
    assert_int_equal(mmusim_zone_free_frames(m, MMUSIM_ZONE_HIGHMEM), 0);
    assert_int_equal(mmusim_layout_zone_of(l, pte(m, cr3, 0x08048000u).pa >> 12), MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_layout_zone_of(l, pte(m, cr3, TEXT_VA).pa >> 12), MMUSIM_ZONE_HIGHMEM);
    assert_int_equal(mmusim_layout_zone_of(l, pte(m, cr3, 0x0804a000u).pa >> 12), MMUSIM_ZONE_NORMAL);
    /* 4 data pages and 1 page table from Normal. */
    assert_int_equal(normal - mmusim_zone_free_frames(m, MMUSIM_ZONE_NORMAL), 4 + 1);
    (void)n;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TS_TEST(test_exec_segments),
        TS_TEST(test_exec_contents),
        TS_TEST(test_exec_on_cpu),
        TS_TEST(test_dyn_bias),
        TS_TEST(test_nx_rights),
        TS_TEST(test_gnu_stack_exec),
        TS_TEST(test_no_gnu_stack),
        TS_TEST(test_interp),
        TS_TEST(test_shared_page),
        TS_TEST(test_unaligned_phdrs),
        TS_TEST(test_bad_inputs),
        TS_TEST(test_bad_inputs_pae),
        TS_TEST(test_already_mapped),
        TS_TEST(test_bad_args),
        TS_TEST(test_segment_bigger_than_memory),
        TS_TEST(test_undo_midway),
        TS_TEST(test_zone_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
