/*
 * A real i386 program through the ELF loader (CTests elf_program_static,
 * elf_program_pie): tests/programs/elfhello.c, built by gcc -m32, is loaded
 * with mmusim_elf_load_file on a PAE machine with NX, and everything the
 * loader reports and maps is checked against the program's own headers,
 * read here from the file with <elf.h>'s structures alone (not through
 * libelf, which the loader uses): each PT_LOAD's address, sizes and flags,
 * each page's rights (RW from PF_W, NX without PF_X), the file bytes in the
 * frames and the zeroed .bss, the entry point, PT_INTERP, the stack's rights
 * from PT_GNU_STACK. For a PIE whose interpreter can be read, the
 * interpreter is loaded too, as a second ELF at its own bias.
 *
 *   elf_program PROGRAM BIAS    exit 0 if all holds, 1 otherwise
 *   elf_program --skip REASON   exit 77 (CTest's SKIP_RETURN_CODE): -m32 could not link
 */
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmusim.h"

#define PAGE MMUSIM_PAGE_SIZE
#define INTERP_BIAS 0xb7000000u

static int failures;

#define CHECK(cond, ...)                                                                                      \
    do {                                                                                                      \
        if (!(cond)) {                                                                                        \
            fprintf(stderr, "elf_program: %s:%d: ", __FILE__, __LINE__);                                      \
            fprintf(stderr, __VA_ARGS__);                                                                     \
            fputc('\n', stderr);                                                                              \
            failures++;                                                                                       \
        }                                                                                                     \
    } while (0)

struct file {
    unsigned char *b;
    size_t len;
    Elf32_Ehdr eh;
    Elf32_Phdr *ph;
};

static int read_file(const char *path, struct file *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->b = malloc((size_t)n);
    if (!f->b || fread(f->b, 1, (size_t)n, fp) != (size_t)n) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    f->len = (size_t)n;
    memcpy(&f->eh, f->b, sizeof(f->eh));
    f->ph = calloc(f->eh.e_phnum, sizeof(Elf32_Phdr));
    if (!f->ph)
        return -1;
    memcpy(f->ph, f->b + f->eh.e_phoff, f->eh.e_phnum * sizeof(Elf32_Phdr));
    return 0;
}

/* n bytes of user memory at va in cr3, through the page tables. */
static int vread(mmusim_machine *m, uint64_t cr3, uint32_t va, unsigned char *out, size_t n)
{
    while (n > 0) {
        struct mmusim_pte_info pi;
        if (mmusim_pt_get(m, cr3, va, &pi) != MMUSIM_OK || !pi.present)
            return -1;
        size_t chunk = PAGE - (va % PAGE);
        if (chunk > n)
            chunk = n;
        if (mmusim_phys_read(m, pi.pa + va % PAGE, out, chunk) != MMUSIM_OK)
            return -1;
        va += (uint32_t)chunk, out += chunk, n -= chunk;
    }
    return 0;
}

/* The rights a page should have: the union over the PT_LOADs that cover it. */
static void page_rights(const struct file *f, uint32_t bias, uint32_t va, int *w, int *x)
{
    *w = *x = 0;
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf32_Phdr *p = &f->ph[i];
        uint32_t lo = (p->p_vaddr + bias) & ~(PAGE - 1), hi = p->p_vaddr + bias + p->p_memsz;
        if (p->p_type == PT_LOAD && p->p_memsz > 0 && va >= lo && va < hi) {
            *w |= (p->p_flags & PF_W) != 0;
            *x |= (p->p_flags & PF_X) != 0;
        }
    }
}

static const struct mmusim_elf_segment *find_seg(const struct mmusim_elf_info *info, uint32_t vaddr)
{
    for (unsigned i = 0; i < info->nsegments && i < MMUSIM_ELF_MAX_SEGMENTS; i++)
        if (info->segments[i].vaddr == vaddr)
            return &info->segments[i];
    return NULL;
}

/* One PT_LOAD: reported as in the file, its pages mapped with its rights,
 * its file bytes in memory, the rest zero. */
static void check_load(mmusim_machine *m, uint64_t cr3, const struct file *f, const Elf32_Phdr *p, uint32_t bias,
                       const struct mmusim_elf_info *info)
{
    uint32_t va = p->p_vaddr + bias;
    const struct mmusim_elf_segment *s = find_seg(info, va);
    CHECK(s != NULL, "no segment reported at 0x%08" PRIx32, va);
    if (!s)
        return;
    CHECK(s->memsz == p->p_memsz && s->filesz == p->p_filesz && s->offset == p->p_offset,
          "segment 0x%08" PRIx32 ": sizes or offset differ from the file", va);
    CHECK(s->flags == p->p_flags, "segment 0x%08" PRIx32 ": flags %" PRIu32 ", file %" PRIu32, va, s->flags,
          (uint32_t)p->p_flags);
    for (uint64_t pg = va & ~(PAGE - 1); pg < (uint64_t)va + p->p_memsz; pg += PAGE) {
        struct mmusim_pte_info pi;
        int w, x;
        page_rights(f, bias, (uint32_t)pg, &w, &x);
        int rc = mmusim_pt_get(m, cr3, (uint32_t)pg, &pi);
        CHECK(rc == MMUSIM_OK && pi.present, "page 0x%08" PRIx64 " not mapped", pg);
        if (rc != MMUSIM_OK || !pi.present)
            continue;
        CHECK((pi.raw & MMUSIM_PTE_US) != 0, "page 0x%08" PRIx64 " not user", pg);
        CHECK(!!(pi.raw & MMUSIM_PTE_RW) == w, "page 0x%08" PRIx64 ": RW %d, PF_W %d", pg,
              !!(pi.raw & MMUSIM_PTE_RW), w);
        /* Without PT_GNU_STACK, READ_IMPLIES_EXEC: nothing gets NX. */
        CHECK(!!(pi.raw & MMUSIM_PTE_NX) == (info->has_gnu_stack && !x), "page 0x%08" PRIx64 ": NX %d, PF_X %d", pg,
              !!(pi.raw & MMUSIM_PTE_NX), x);
    }
    unsigned char *mem = malloc(p->p_memsz);
    if (!mem || vread(m, cr3, va, mem, p->p_memsz) != 0) {
        CHECK(0, "segment 0x%08" PRIx32 " cannot be read back", va);
        free(mem);
        return;
    }
    CHECK(memcmp(mem, f->b + p->p_offset, p->p_filesz) == 0, "segment 0x%08" PRIx32 ": file bytes differ", va);
    size_t nonzero = 0;
    for (size_t i = p->p_filesz; i < p->p_memsz; i++)
        nonzero += mem[i] != 0;
    CHECK(nonzero == 0, "segment 0x%08" PRIx32 ": %zu bytes of .bss not zero", va, nonzero);
    free(mem);
}

/* Everything about one loaded program against its file. */
static void check_program(mmusim_machine *m, uint64_t cr3, const struct file *f, uint32_t bias,
                          const struct mmusim_elf_info *info)
{
    unsigned nload = 0;
    int gnu_stack = -1;
    CHECK(info->type == f->eh.e_type, "type %u, file %u", info->type, (unsigned)f->eh.e_type);
    CHECK(info->entry == f->eh.e_entry + bias, "entry 0x%08" PRIx32, info->entry);
    CHECK(info->phnum == f->eh.e_phnum, "phnum %u", info->phnum);
    CHECK(info->nx, "the machine has NX: the loader should say so");
    for (unsigned i = 0; i < f->eh.e_phnum; i++) {
        const Elf32_Phdr *p = &f->ph[i];
        if (p->p_type == PT_LOAD && p->p_memsz > 0) {
            nload++;
            check_load(m, cr3, f, p, bias, info);
        } else if (p->p_type == PT_GNU_STACK) {
            gnu_stack = (p->p_flags & PF_X) != 0;
        } else if (p->p_type == PT_INTERP) {
            CHECK(info->has_interp && strcmp(info->interp, (const char *)f->b + p->p_offset) == 0,
                  "PT_INTERP %s not reported", (const char *)f->b + p->p_offset);
        }
    }
    CHECK(nload > 0 && info->nsegments == nload, "%u segments reported, %u in the file", info->nsegments, nload);
    CHECK(info->has_gnu_stack == (gnu_stack >= 0), "PT_GNU_STACK presence");
    if (gnu_stack >= 0)
        CHECK(info->stack_executable == gnu_stack, "stack executable %d, PT_GNU_STACK PF_X %d",
              info->stack_executable, gnu_stack);
}

static int load_and_check(mmusim_machine *m, uint64_t cr3, const char *path, uint32_t bias,
                          const struct mmusim_elf_opts *opts, struct mmusim_elf_info *info)
{
    struct file f = {0};
    if (read_file(path, &f) != 0) {
        fprintf(stderr, "elf_program: cannot read %s\n", path);
        return -1;
    }
    int rc = mmusim_elf_load_file(m, cr3, path, bias, opts, info);
    CHECK(rc == MMUSIM_OK, "loading %s: %s", path, mmusim_strerror(rc));
    if (rc == MMUSIM_OK)
        check_program(m, cr3, &f, bias, info);
    printf("elf_program: %s at bias 0x%08" PRIx32 ": %u segments, %" PRIu32 " pages, entry 0x%08" PRIx32 "%s%s\n",
           path, bias, info->nsegments, info->pages_mapped, info->entry, info->has_interp ? ", interpreter " : "",
           info->has_interp ? info->interp : "");
    free(f.b);
    free(f.ph);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--skip") == 0) {
        printf("elf_program: skipped: %s\n", argv[2]);
        return 77;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: elf_program PROGRAM BIAS | --skip REASON\n");
        return 2;
    }
    uint32_t bias = (uint32_t)strtoul(argv[2], NULL, 0);
    struct mmusim_config cfg;
    mmusim_machine *m = NULL;
    uint64_t cr3;
    struct mmusim_elf_info info, interp;
    mmusim_config_init(&cfg);
    if (mmusim_config_set(&cfg, "paging", "pae") != MMUSIM_OK || mmusim_config_set(&cfg, "nx", "1") != MMUSIM_OK ||
        mmusim_machine_create(&cfg, &m) != MMUSIM_OK || mmusim_pgd_create(m, &cr3) != MMUSIM_OK) {
        fprintf(stderr, "elf_program: no machine\n");
        return 1;
    }
    if (load_and_check(m, cr3, argv[1], bias, NULL, &info) != 0) {
        mmusim_machine_destroy(m);
        return 1;
    }
    /* The dynamic loader, where the program names one and it can be read. */
    FILE *fp = info.has_interp && !info.interp_truncated ? fopen(info.interp, "rb") : NULL;
    if (fp) {
        struct mmusim_elf_opts opts;
        fclose(fp);
        mmusim_elf_opts_init(&opts);
        opts.stack_bytes = 0; /* the program's stack is the only one */
        (void)load_and_check(m, cr3, info.interp, INTERP_BIAS, &opts, &interp);
        CHECK(interp.type == ET_DYN, "the interpreter is ET_DYN");
    } else if (info.has_interp) {
        printf("elf_program: interpreter %s not readable here: not loaded\n", info.interp);
    }
    mmusim_machine_destroy(m);
    if (failures)
        fprintf(stderr, "elf_program: %d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
