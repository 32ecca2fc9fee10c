/*
 * mmusim — the ELF loader (include/mmusim/elf.h, docs/replay.md "ELF loading").
 *
 * Two phases, so that bad input never leaves anything half-mapped:
 *
 *  1. plan: read the image through libelf and check all of it (the ELF
 *     identification and header, the program header table, every PT_LOAD,
 *     PT_INTERP and PT_GNU_STACK, the ranges against user space, the pages
 *     against what cr3 already maps, the frames against what is free);
 *  2. map: allocate, fill and map page by page, recording each page and each
 *     page table made; a failure here (frames or host memory running out)
 *     undoes every recorded step.
 *
 * The format is the System V ABI's (gABI chapter 5, "Program Loading": the
 * program header, PT_LOAD, p_vaddr congruent to p_offset modulo the page
 * size, p_memsz >= p_filesz with the excess zero) and its Intel386
 * supplement (EM_386, ELFCLASS32, ELFDATA2LSB, 4 KiB pages). Where the spec
 * leaves a choice open the loader does what Linux's binfmt_elf does, and the
 * comments below say so.
 */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */

#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "mmusim/error.h"
#include "trace/elf.h"

#define PAGE MMUSIM_PAGE_SIZE
#define PAGE_DOWN(a) ((a) & ~(uint64_t)(PAGE - 1))
#define PAGE_UP(a) (((a) + PAGE - 1) & ~(uint64_t)(PAGE - 1))

/* Linux's load_elf_phdrs refuses a table of more than 64 KiB: 2048 entries of 32 bytes. */
#define PHNUM_MAX (65536u / sizeof(Elf32_Phdr))
/* Linux refuses a PT_INTERP longer than PATH_MAX or shorter than 2 bytes. */
#define INTERP_FILESZ_MAX 4096u
#define DEFAULT_STACK_BYTES (128u * 1024u)

struct seg {
    uint32_t vaddr; /* biased */
    uint32_t memsz, filesz, offset, flags;
};

/* What phase 1 found: everything phase 2 and the info need. */
struct plan {
    const char *image;
    size_t len;
    unsigned type, phnum;
    uint32_t bias, entry, phoff, phdr_vaddr;
    struct seg *segs; /* the PT_LOADs with p_memsz > 0, sorted by vaddr */
    unsigned nsegs;
    int has_gnu_stack, gnu_stack_x;
    int has_interp;
    uint32_t interp_off, interp_len; /* the path, without its NUL */
    uint32_t stack_low, stack_top;
    int nx;       /* PAE with NX: a page can be made non-executable */
    uint64_t npages; /* frames the load needs */
};

void mmusim_elf_opts_init(struct mmusim_elf_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof(*opts));
    opts->stack_bytes = DEFAULT_STACK_BYTES;
}

/* ---- phase 1: the checks ---- */

/* e_ident, before libelf is asked anything: the magic, then the class and
 * data encoding the Intel386 supplement requires, then room for the header. */
static int check_ident(const char *image, size_t len)
{
    if (len < EI_NIDENT || memcmp(image, ELFMAG, SELFMAG) != 0)
        return MMUSIM_ENOTELF;
    if (image[EI_CLASS] != ELFCLASS32 || image[EI_DATA] != ELFDATA2LSB)
        return MMUSIM_EELFCLASS;
    if (len < sizeof(Elf32_Ehdr))
        return MMUSIM_EELFTRUNC;
    return MMUSIM_OK;
}

/* The ELF header's fields that decide whether this is a program for us.
 * The bias applies to ET_DYN only: an ET_EXEC's addresses are absolute. */
static int check_ehdr(const Elf32_Ehdr *eh, uint32_t bias, struct plan *p)
{
    if (eh->e_machine != EM_386)
        return MMUSIM_EELFMACHINE;
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return MMUSIM_EELFTYPE;
    if (eh->e_type == ET_EXEC && bias != 0)
        return MMUSIM_EINVAL;
    /* Linux reads e_phentsize entries of its own struct size only. */
    if (eh->e_phentsize != sizeof(Elf32_Phdr))
        return MMUSIM_EELFPHDR;
    p->type = eh->e_type;
    p->bias = bias;
    p->phoff = eh->e_phoff;
    return MMUSIM_OK;
}

/* The program header table: its count (PN_XNUM extended through libelf),
 * its place in the file, then libelf's view of it, copied: where the host
 * allows unaligned loads libelf points into the image as it is, and
 * e_phoff need not be a multiple of 4. */
static int get_phdrs(Elf *e, struct plan *p, Elf32_Phdr **ph)
{
    size_t n;
    const Elf32_Phdr *table;
    if (elf_getphdrnum(e, &n) != 0 || n < 1 || n > PHNUM_MAX)
        return MMUSIM_EELFPHDR;
    if ((uint64_t)p->phoff + n * sizeof(Elf32_Phdr) > p->len)
        return MMUSIM_EELFTRUNC;
    if ((table = elf32_getphdr(e)) == NULL)
        return MMUSIM_EELFTRUNC;
    if ((*ph = mmusim__malloc(n * sizeof(**ph))) == NULL)
        return MMUSIM_ENOMEM;
    memcpy(*ph, table, n * sizeof(**ph));
    p->phnum = (unsigned)n;
    return MMUSIM_OK;
}

/* One PT_LOAD by itself: the gABI's two rules, the file bytes inside the
 * file, and the address range inside 32 bits once biased. */
static int check_load(const Elf32_Phdr *ph, const struct plan *p)
{
    if (ph->p_filesz > ph->p_memsz)
        return MMUSIM_EELFSEG;
    if ((ph->p_vaddr - ph->p_offset) & (PAGE - 1))
        return MMUSIM_EELFSEG;
    if ((uint64_t)ph->p_offset + ph->p_filesz > p->len)
        return MMUSIM_EELFTRUNC;
    if ((uint64_t)ph->p_vaddr + p->bias + ph->p_memsz > 0x100000000ull)
        return MMUSIM_EELFRANGE; /* wraps around 4 GiB */
    return MMUSIM_OK;
}

/* PT_INTERP: Linux takes the first one, wants 2 to PATH_MAX bytes ending in
 * NUL, inside the file. */
static int check_interp(const Elf32_Phdr *ph, struct plan *p)
{
    if (p->has_interp)
        return MMUSIM_OK;
    if (ph->p_filesz < 2 || ph->p_filesz > INTERP_FILESZ_MAX)
        return MMUSIM_EELFPHDR;
    if ((uint64_t)ph->p_offset + ph->p_filesz > p->len)
        return MMUSIM_EELFTRUNC;
    if (p->image[ph->p_offset + ph->p_filesz - 1] != '\0')
        return MMUSIM_EELFPHDR;
    p->has_interp = 1;
    p->interp_off = ph->p_offset;
    p->interp_len = (uint32_t)strlen(p->image + ph->p_offset);
    return MMUSIM_OK;
}

/* Walk the table: keep the PT_LOADs that occupy memory, note PT_INTERP and
 * PT_GNU_STACK (the last one counts, as in Linux's loop over the table). */
static int scan_phdrs(const Elf32_Phdr *ph, struct plan *p)
{
    int rc;
    for (unsigned i = 0; i < p->phnum; i++) {
        switch (ph[i].p_type) {
        case PT_LOAD:
            if ((rc = check_load(&ph[i], p)) != MMUSIM_OK)
                return rc;
            if (ph[i].p_memsz == 0)
                break; /* occupies nothing: nothing to map */
            p->segs[p->nsegs++] = (struct seg){ph[i].p_vaddr + p->bias, ph[i].p_memsz, ph[i].p_filesz,
                                               ph[i].p_offset, ph[i].p_flags};
            break;
        case PT_INTERP:
            if ((rc = check_interp(&ph[i], p)) != MMUSIM_OK)
                return rc;
            break;
        case PT_GNU_STACK:
            p->has_gnu_stack = 1;
            p->gnu_stack_x = (ph[i].p_flags & PF_X) != 0;
            break;
        default:
            break;
        }
    }
    return p->nsegs == 0 ? MMUSIM_EELFPHDR : MMUSIM_OK;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct seg *x = a, *y = b;
    return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

/*
 * Segments sorted by address may not share a byte (the gABI lists them in
 * ascending p_vaddr order; Linux would let a later mmap replace an earlier
 * one, which loses bytes, so mmusim refuses it). They may share a page: the
 * page then gets both segments' bytes and the union of their rights. Every
 * page must lie below the stack (and so below PAGE_OFFSET), and so must the
 * entry point (Linux's BAD_ADDR check on it).
 */
static int check_layout(struct plan *p)
{
    qsort(p->segs, p->nsegs, sizeof(*p->segs), seg_cmp);
    for (unsigned i = 1; i < p->nsegs; i++)
        if ((uint64_t)p->segs[i - 1].vaddr + p->segs[i - 1].memsz > p->segs[i].vaddr)
            return MMUSIM_EELFOVERLAP;
    const struct seg *last = &p->segs[p->nsegs - 1];
    if (PAGE_UP((uint64_t)last->vaddr + last->memsz) > p->stack_low)
        return MMUSIM_EELFRANGE;
    if ((uint64_t)p->entry >= p->stack_top)
        return MMUSIM_EELFRANGE;
    return MMUSIM_OK;
}

/* Where the program headers are in memory (AT_PHDR): inside the segment whose
 * file bytes hold them, else 0. */
static uint32_t phdr_vaddr(const struct plan *p)
{
    uint64_t end = (uint64_t)p->phoff + (uint64_t)p->phnum * sizeof(Elf32_Phdr);
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct seg *s = &p->segs[i];
        if (s->offset <= p->phoff && end <= (uint64_t)s->offset + s->filesz)
            return s->vaddr + (p->phoff - s->offset);
    }
    return 0;
}

/* Pages of segment s not already counted for the one before it (they share
 * a page when the earlier one ends where the later one starts). */
static void seg_pages(const struct seg *s, uint64_t prev_last, uint64_t *first, uint64_t *last)
{
    *first = PAGE_DOWN(s->vaddr);
    *last = PAGE_DOWN((uint64_t)s->vaddr + s->memsz - 1);
    if (*first == prev_last)
        *first += PAGE;
}

/* A page the load needs and cr3 maps already: MMUSIM_EMAPPED. */
static int page_free_in(const struct mmu *mmu, uint64_t cr3, uint64_t va)
{
    struct mmusim_pte_info info;
    int rc = mmusim__pt_get(mmu, cr3, (uint32_t)va, &info);
    if (rc == MMUSIM_ENOTMAPPED)
        return MMUSIM_OK;
    if (rc != MMUSIM_OK)
        return rc;
    return info.present ? MMUSIM_EMAPPED : MMUSIM_OK;
}

/* There are frames enough for every page the load will map, in the three
 * zones together (page tables aside: running out of those is caught, and
 * undone, while mapping), and none of those pages is mapped in cr3 yet.
 * The count comes first: it is arithmetic, the look-ups are one per page. */
static int check_pages(const struct mmu *mmu, uint64_t cr3, struct plan *p)
{
    uint64_t prev = UINT64_MAX, first, last, n = 0, free = 0;
    int rc;
    for (unsigned i = 0; i < p->nsegs; i++) {
        seg_pages(&p->segs[i], prev, &first, &last);
        n += last >= first ? (last - first) / PAGE + 1 : 0;
        prev = last >= first ? last : prev;
    }
    n += (p->stack_top - p->stack_low) / PAGE;
    for (unsigned z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        free += mmu->fa.nfree[z];
    if (n > free)
        return MMUSIM_ENOFRAME;
    p->npages = n;
    prev = UINT64_MAX;
    for (unsigned i = 0; i < p->nsegs; i++) {
        seg_pages(&p->segs[i], prev, &first, &last);
        for (uint64_t va = first; va <= last; va += PAGE)
            if ((rc = page_free_in(mmu, cr3, va)) != MMUSIM_OK)
                return rc;
        prev = last >= first ? last : prev;
    }
    for (uint64_t va = p->stack_low; va < p->stack_top; va += PAGE)
        if ((rc = page_free_in(mmu, cr3, va)) != MMUSIM_OK)
            return rc;
    return MMUSIM_OK;
}

/* Phase 1 after the identification: libelf's header and table, then the rest. */
static int plan_elf(Elf *e, struct plan *p)
{
    Elf32_Ehdr *eh;
    Elf32_Phdr *ph = NULL;
    int rc;
    if (elf_kind(e) != ELF_K_ELF)
        return MMUSIM_ENOTELF;
    if (gelf_getclass(e) != ELFCLASS32 || (eh = elf32_getehdr(e)) == NULL)
        return MMUSIM_EELFCLASS;
    if ((rc = check_ehdr(eh, p->bias, p)) != MMUSIM_OK || (rc = get_phdrs(e, p, &ph)) != MMUSIM_OK)
        return rc;
    p->entry = eh->e_entry + p->bias;
    if ((uint64_t)eh->e_entry + p->bias > UINT32_MAX)
        rc = MMUSIM_EELFRANGE;
    else if ((p->segs = mmusim__calloc(p->phnum, sizeof(*p->segs))) == NULL)
        rc = MMUSIM_ENOMEM;
    else if ((rc = scan_phdrs(ph, p)) == MMUSIM_OK && (rc = check_layout(p)) == MMUSIM_OK)
        p->phdr_vaddr = phdr_vaddr(p);
    mmusim__free(ph);
    return rc;
}

/* ---- phase 2: mapping, and undoing it ---- */

/* What has been done so far, to be undone on failure. */
struct undo {
    uint32_t *pages;  /* every page mapped, in order */
    uint32_t *tables; /* a page of every page table the load created */
    size_t npages, ntables;
};

/* Tell the cpu part that the machine, not a CPU, stored to va's entry (mmusim_pt_map does the same). */
static void forget_writer(struct mmu *mmu, struct pte_writers *w, uint64_t cr3, uint32_t va)
{
    struct mmusim_pte_info info;
    if (w && w->n_written != 0 && mmusim__pt_get(mmu, cr3, va, &info) == MMUSIM_OK)
        mmusim__pte_writer_forget(w, info.entry_pa);
}

/* Put everything back: unmap every page and free its frame, then free the
 * page tables the load created (empty again by then). */
static void undo_all(struct mmu *mmu, struct pte_writers *w, uint64_t cr3, const struct undo *u)
{
    for (size_t i = u->npages; i-- > 0;) {
        struct mmusim_pte_info info;
        if (mmusim__pt_get(mmu, cr3, u->pages[i], &info) != MMUSIM_OK || !info.present)
            continue;
        if (mmusim__pt_unmap(mmu, cr3, u->pages[i]) == MMUSIM_OK)
            (void)mmusim__frame_free(mmu, info.pa >> MMUSIM_PAGE_SHIFT);
        forget_writer(mmu, w, cr3, u->pages[i]);
    }
    for (size_t i = u->ntables; i-- > 0;)
        (void)mmusim__pt_free_empty_table(mmu, cr3, u->tables[i]);
}

/*
 * A user frame, as GFP_HIGHUSER (GFP_USER | __GFP_HIGHMEM, include/linux/gfp.h)
 * takes one: its zonelist is HighMem, then Normal, then DMA (mm/page_alloc.c,
 * build_zonelists: from the highest zone the flags allow down). Its old contents are
 * discarded: it reads as zero, so .bss and the unused parts of a page need
 * no writes.
 */
static int alloc_user_frame(struct mmu *mmu, uint64_t *pfn)
{
    static const enum mmusim_zone order[] = {MMUSIM_ZONE_HIGHMEM, MMUSIM_ZONE_NORMAL, MMUSIM_ZONE_DMA};
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (mmusim__frame_alloc_get(&mmu->fa, order[i], pfn) == MMUSIM_OK) {
            mmusim__physmem_discard(&mmu->pm, *pfn);
            return MMUSIM_OK;
        }
    return MMUSIM_ENOFRAME;
}

/* Map one new page at va with flags, recording it (and its page table if
 * this page made one). On error nothing of this page is left. */
static int map_page(struct mmu *mmu, uint64_t cr3, uint32_t va, uint64_t flags, struct undo *u, uint64_t *pa)
{
    struct mmusim_pte_info info;
    uint64_t pfn;
    int new_table = mmusim__pt_get(mmu, cr3, va, &info) == MMUSIM_ENOTMAPPED;
    int rc = alloc_user_frame(mmu, &pfn);
    if (rc != MMUSIM_OK)
        return rc;
    rc = mmusim__pt_map(mmu, cr3, va, pfn << MMUSIM_PAGE_SHIFT, MMUSIM_PAGE_4K, flags);
    /* A table made before the leaf store failed stays: record it either way. */
    if (new_table && mmusim__pt_get(mmu, cr3, va, &info) != MMUSIM_ENOTMAPPED)
        u->tables[u->ntables++] = va;
    if (rc != MMUSIM_OK) {
        (void)mmusim__frame_free(mmu, pfn);
        return rc;
    }
    u->pages[u->npages++] = va;
    *pa = pfn << MMUSIM_PAGE_SHIFT;
    return MMUSIM_OK;
}

/* The page-table rights of a segment: present and user always (x86 cannot
 * refuse reads: PF_R is implied), RW for PF_W, NX when the CPU has it and
 * the segment may not be executed. */
static uint64_t seg_pte_flags(const struct plan *p, uint32_t pflags)
{
    uint64_t f = MMUSIM_PTE_P | MMUSIM_PTE_US;
    if (pflags & PF_W)
        f |= MMUSIM_PTE_RW;
    if (p->nx && !(pflags & PF_X) && p->has_gnu_stack)
        f |= MMUSIM_PTE_NX; /* without PT_GNU_STACK, READ_IMPLIES_EXEC: see elf.h */
    return f;
}

/* The union of two pages' rights: writable if either is, executable if either is. */
static uint64_t union_flags(uint64_t a, uint64_t b)
{
    return ((a | b) & ~MMUSIM_PTE_NX) | (a & b & MMUSIM_PTE_NX);
}

/*
 * Copy the file bytes of segment s that fall in the page at va (physical pa).
 * The first page of a segment also gets the file bytes before p_vaddr in
 * that page, as Linux's mmap of the whole file page shows them (the ELF and
 * program headers at the start of the text, where AT_PHDR points), unless
 * the page already holds an earlier segment (fresh == 0).
 */
static int fill_page(struct mmu *mmu, const struct plan *p, const struct seg *s, uint64_t va, uint64_t pa,
                     int fresh)
{
    uint64_t start = va > s->vaddr ? va : s->vaddr;
    uint64_t end = (uint64_t)s->vaddr + s->filesz;
    if (fresh && va == PAGE_DOWN(s->vaddr) && s->filesz > 0)
        start = va;
    if (end > va + PAGE)
        end = va + PAGE;
    if (end <= start)
        return MMUSIM_OK;
    /* start >= vaddr - (vaddr % PAGE) and offset % PAGE == vaddr % PAGE, so this does not underflow. */
    uint64_t off = (uint64_t)s->offset + start - s->vaddr;
    return mmusim__phys_write(mmu, pa + (start - va), p->image + off, (size_t)(end - start));
}

/* Map and fill every page of the segments, then the stack. */
static int map_all(struct mmu *mmu, uint64_t cr3, const struct plan *p, struct undo *u)
{
    uint64_t prev_last = UINT64_MAX, prev_flags = 0, prev_pa = 0, first, last, pa;
    int rc;
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct seg *s = &p->segs[i];
        uint64_t flags = seg_pte_flags(p, s->flags);
        seg_pages(s, prev_last, &first, &last);
        if (first != PAGE_DOWN(s->vaddr)) { /* shares its first page with the segment before */
            prev_flags = union_flags(prev_flags, flags);
            if ((rc = mmusim__pt_protect(mmu, cr3, (uint32_t)prev_last, prev_flags)) != MMUSIM_OK ||
                (rc = fill_page(mmu, p, s, prev_last, prev_pa, 0)) != MMUSIM_OK)
                return rc;
        }
        for (uint64_t va = first; va <= last && va >= first; va += PAGE) {
            if ((rc = map_page(mmu, cr3, (uint32_t)va, flags, u, &pa)) != MMUSIM_OK ||
                (rc = fill_page(mmu, p, s, va, pa, 1)) != MMUSIM_OK)
                return rc;
            prev_pa = pa, prev_flags = flags;
        }
        prev_last = PAGE_DOWN((uint64_t)s->vaddr + s->memsz - 1);
    }
    uint64_t sflags = MMUSIM_PTE_P | MMUSIM_PTE_US | MMUSIM_PTE_RW;
    if (p->nx && p->has_gnu_stack && !p->gnu_stack_x)
        sflags |= MMUSIM_PTE_NX;
    for (uint64_t va = p->stack_low; va < p->stack_top; va += PAGE)
        if ((rc = map_page(mmu, cr3, (uint32_t)va, sflags, u, &pa)) != MMUSIM_OK)
            return rc;
    return MMUSIM_OK;
}

/* ---- the info ---- */

static void fill_info(const struct plan *p, uint32_t npages, struct mmusim_elf_info *out)
{
    memset(out, 0, sizeof(*out));
    out->type = p->type;
    out->bias = p->bias;
    out->entry = p->entry;
    out->phdr_vaddr = p->phdr_vaddr;
    out->phnum = p->phnum;
    out->nsegments = p->nsegs;
    out->pages_mapped = npages;
    out->nx = p->nx;
    out->has_gnu_stack = p->has_gnu_stack;
    out->read_implies_exec = !p->has_gnu_stack;
    out->stack_executable = !p->nx || !p->has_gnu_stack || p->gnu_stack_x;
    out->stack_low = p->stack_low;
    out->stack_top = p->stack_top;
    uint64_t prev_last = UINT64_MAX, first, last;
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct seg *s = &p->segs[i];
        if (i < MMUSIM_ELF_MAX_SEGMENTS) {
            seg_pages(s, UINT64_MAX, &first, &last);
            out->segments[i] = (struct mmusim_elf_segment){
                s->vaddr, s->memsz, s->filesz, s->offset, s->flags, (uint32_t)first,
                (uint32_t)((last - first) / PAGE + 1), (s->flags & PF_W) != 0,
                !(seg_pte_flags(p, s->flags) & MMUSIM_PTE_NX)};
        }
        prev_last = PAGE_DOWN((uint64_t)s->vaddr + s->memsz - 1);
    }
    out->brk = (uint32_t)PAGE_UP(prev_last + 1);
    out->has_interp = p->has_interp;
    if (p->has_interp) {
        size_t n = p->interp_len < MMUSIM_ELF_INTERP_MAX - 1 ? p->interp_len : MMUSIM_ELF_INTERP_MAX - 1;
        memcpy(out->interp, p->image + p->interp_off, n);
        out->interp[n] = '\0';
        out->interp_truncated = p->interp_len > n;
    }
}

/* ---- the entry points ---- */

static int check_opts(const struct mmu *mmu, const struct mmusim_elf_opts *o, struct plan *p)
{
    if (o->stack_bytes % PAGE != 0 || o->stack_bytes >= mmu->layout->page_offset)
        return MMUSIM_EINVAL;
    p->stack_top = mmu->layout->page_offset;
    p->stack_low = p->stack_top - o->stack_bytes;
    p->nx = mmu->pae && (mmu->cfg->features & MMUSIM_FEAT_NX);
    return MMUSIM_OK;
}

/* Phase 1 whole: identification, libelf, the checks against cr3. */
static int plan_image(struct mmu *mmu, uint64_t cr3, char *image, size_t len, struct plan *p)
{
    int rc = check_ident(image, len);
    if (rc != MMUSIM_OK)
        return rc;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return MMUSIM_ENOMEM; /* libelf unusable: cannot happen with a matching libelf */
    Elf *e = elf_memory(image, len);
    /* elf_memory refuses what it cannot index (a section header table past
     * the end of the file, for one) before the loader sees it. */
    if (!e)
        return MMUSIM_EELFTRUNC;
    rc = plan_elf(e, p);
    elf_end(e);
    if (rc == MMUSIM_OK)
        rc = check_pages(mmu, cr3, p);
    return rc;
}

int mmusim__elf_load(struct mmu *mmu, struct pte_writers *writers, uint64_t cr3, char *image, size_t len,
                     uint32_t bias, const struct mmusim_elf_opts *opts, struct mmusim_elf_info *out)
{
    struct mmusim_elf_opts defaults;
    struct plan p = {.image = image, .len = len, .bias = bias};
    struct undo u = {0};
    int rc;
    if (!opts) {
        mmusim_elf_opts_init(&defaults);
        opts = &defaults;
    }
    if (bias & (PAGE - 1))
        return MMUSIM_EALIGN;
    if ((rc = check_opts(mmu, opts, &p)) != MMUSIM_OK)
        return rc;
    if ((rc = plan_image(mmu, cr3, image, len, &p)) != MMUSIM_OK)
        goto out;
    u.pages = mmusim__malloc((size_t)p.npages * sizeof(*u.pages));
    u.tables = mmusim__malloc((size_t)p.npages * sizeof(*u.tables));
    if (!u.pages || !u.tables) {
        rc = MMUSIM_ENOMEM;
        goto out;
    }
    if ((rc = map_all(mmu, cr3, &p, &u)) != MMUSIM_OK) {
        undo_all(mmu, writers, cr3, &u);
        goto out;
    }
    for (size_t i = 0; i < u.npages; i++)
        forget_writer(mmu, writers, cr3, u.pages[i]);
    fill_info(&p, (uint32_t)u.npages, out);
out:
    mmusim__free(u.pages);
    mmusim__free(u.tables);
    mmusim__free(p.segs);
    return rc;
}

/*
 * A program is a regular file: a device or a pipe is refused before it is
 * read (/dev/zero would fill MMUSIM_ELF_FILE_MAX of host memory before the
 * cap stopped it, and a pipe could block). fstat is POSIX, as is the rest
 * of what mmusim runs on.
 */
static int regular_file(FILE *f)
{
    struct stat st;
    return fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
}

int mmusim__elf_read_file(const char *path, char **image, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 0, n = 0;
    char *buf = NULL;
    int rc = MMUSIM_OK;
    if (!f)
        return MMUSIM_EIO;
    if (!regular_file(f)) {
        fclose(f);
        return MMUSIM_EIO;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = ncap > MMUSIM_ELF_FILE_MAX + 1 ? NULL : mmusim__realloc(buf, ncap);
            if (!nb) {
                rc = ncap > MMUSIM_ELF_FILE_MAX + 1 ? MMUSIM_EIO : MMUSIM_ENOMEM;
                break;
            }
            buf = nb, cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            rc = ferror(f) ? MMUSIM_EIO : MMUSIM_OK;
            break;
        }
    }
    fclose(f);
    if (rc == MMUSIM_OK && n > MMUSIM_ELF_FILE_MAX)
        rc = MMUSIM_EIO;
    if (rc != MMUSIM_OK) {
        mmusim__free(buf);
        return rc;
    }
    *image = buf;
    *len = n;
    return MMUSIM_OK;
}
