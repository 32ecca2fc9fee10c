/*
 * mmusim layout — print the i386 kernel address layout of a configuration,
 * as a table or (--json) as one JSON object. docs/layout.md explains every
 * value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mmusim/error.h"
#include "mmusim/layout.h"

#define MIB ((uint64_t)1 << 20)

static const char layout_help[] =
    "usage: mmusim layout [OPTIONS] [--json]\n"
    "\n"
    "Compute the i386 kernel address layout (PAGE_OFFSET, MAXMEM, vmalloc, pkmap,\n"
    "fixmap and kmap slots, zones) the way Linux 2.6.18, 2.6.32, 2.6.37 or 5.11\n"
    "computes it, with the era's preempt_count layout and HZ, preemption and\n"
    "flush-ceiling settings.\n"
    "\n";

/* "896 MiB", "887.99 MiB", "4 KiB": sizes for the notes, in integers only. */
static void format_size(char *buf, size_t n, uint64_t bytes)
{
    if (bytes != 0 && bytes % (1024 * MIB) == 0)
        snprintf(buf, n, "%" PRIu64 " GiB", bytes / (1024 * MIB));
    else if (bytes % MIB == 0)
        snprintf(buf, n, "%" PRIu64 " MiB", bytes / MIB);
    else if (bytes < MIB)
        snprintf(buf, n, "%" PRIu64 " KiB", bytes / 1024);
    else {
        uint64_t hundredths = bytes * 100 / MIB;
        snprintf(buf, n, "%" PRIu64 ".%02" PRIu64 " MiB", hundredths / 100, hundredths % 100);
    }
}

/* ---- table ---- */

static void row_hex(const char *name, uint64_t v, const char *note)
{
    printf("  %-36s 0x%08" PRIx64 "   %s\n", name, v, note);
}

static void row_dec(const char *name, uint64_t v, const char *note)
{
    printf("  %-36s %-12" PRIu64 " %s\n", name, v, note);
}

static void row_str(const char *name, const char *v, const char *note)
{
    printf("  %-36s %-12s %s\n", name, v, note);
}

static void row_size(const char *name, uint64_t v, const char *what)
{
    char size[32], note[160];
    format_size(size, sizeof(size), v);
    snprintf(note, sizeof(note), "%s (%s)", what, size);
    row_hex(name, v, note);
}

static void row_pfn(const char *name, uint64_t pfn, const char *what)
{
    char size[32], note[160];
    format_size(size, sizeof(size), pfn << MMUSIM_PAGE_SHIFT);
    snprintf(note, sizeof(note), "%s (%s)", what, size);
    row_hex(name, pfn, note);
}

static void print_zone(const struct mmusim_layout *l, enum mmusim_zone z, const char *key)
{
    char name[48], note[160], size[32];
    const struct mmusim_zone_span *s = &l->zones[z];
    format_size(size, sizeof(size), (s->end_pfn - s->start_pfn) << MMUSIM_PAGE_SHIFT);
    snprintf(name, sizeof(name), "zone_%s_start_pfn", key);
    snprintf(note, sizeof(note), "%s zone: [0x%08" PRIx64 ", 0x%08" PRIx64 ") pfns, %s%s", mmusim_zone_name(z),
             s->start_pfn, s->end_pfn, size, s->start_pfn == s->end_pfn ? ", empty" : "");
    row_hex(name, s->start_pfn, note);
    snprintf(name, sizeof(name), "zone_%s_end_pfn", key);
    row_hex(name, s->end_pfn, "one past its last pfn");
}

static const char *const zone_keys[MMUSIM_ZONE_COUNT_] = {"dma", "normal", "highmem"};

static void print_table(const struct mmusim_config *cfg, const struct mmusim_layout *l)
{
    char ram[32], note[160];
    format_size(ram, sizeof(ram), cfg->mem_bytes);
    printf("Linux %s, %s paging, VMSPLIT_%s, %s RAM, %u CPUs, NR_CPUS %u\n\n", mmusim_era_name(l->era),
           l->paging == MMUSIM_PAGING_PAE ? "PAE" : "2-level", mmusim_split_name(cfg->split), ram, cfg->ncpus,
           l->nr_cpus);

    const int cea = l->cpu_entry_area_pages != 0;
    puts("kernel address space, top down:");
    row_hex("fixaddr_top", l->fixaddr_top, "FIXADDR_TOP; FIX_HOLE, never mapped");
    snprintf(note, sizeof(note), "FIXADDR_START: %u permanent fixmap pages above",
             l->end_of_permanent_fixed_addresses);
    row_hex("fixaddr_start", l->fixaddr_start, note);
    row_hex("fixaddr_boot_start", l->fixaddr_boot_start,
            cea ? "FIXADDR_TOT_START: boot-time maps between it and FIXADDR_START"
                : "FIXADDR_BOOT_START: boot-time maps between it and FIXADDR_START");
    if (cea) {
        snprintf(note, sizeof(note), "CPU_ENTRY_AREA_BASE: RO IDT page + %u pages (CPU_ENTRY_AREA_PAGES)",
                 l->cpu_entry_area_pages);
        row_hex("cpu_entry_area_base", l->cpu_entry_area_base, note);
        row_hex("ldt_base_addr", l->ldt_base_addr, "LDT_BASE_ADDR: one PMD for the LDT remap");
    }
    snprintf(note, sizeof(note), "PKMAP_BASE: kmap() window to 0x%08" PRIx32, mmusim_pkmap_addr(l, l->last_pkmap));
    row_hex("pkmap_base", l->pkmap_base, note);
    row_dec("last_pkmap", l->last_pkmap, "LAST_PKMAP: pkmap slots, one page-table page");
    row_hex("vmalloc_end", l->vmalloc_end, "VMALLOC_END = PKMAP_BASE - 2 pages");
    format_size(ram, sizeof(ram), (uint64_t)l->vmalloc_end - l->vmalloc_start);
    snprintf(note, sizeof(note), "VMALLOC_START: vmalloc area of %s", ram);
    row_hex("vmalloc_start", l->vmalloc_start, note);
    row_hex("high_memory", l->high_memory, "end of the direct map, __va(max_low_pfn << 12)");
    row_hex("page_offset", l->page_offset, "PAGE_OFFSET: start of the direct map");

    puts("\nlowmem and highmem:");
    row_size("vmalloc_reserve", l->vmalloc_reserve, "__VMALLOC_RESERVE");
    row_size("maxmem", l->maxmem, "MAXMEM: the most lowmem the split allows");
    row_pfn("max_pfn", l->max_pfn, "pages of RAM");
    row_pfn("max_low_pfn", l->max_low_pfn, "end of lowmem = min(max_pfn, MAXMEM >> 12)");
    for (int z = 0; z < MMUSIM_ZONE_COUNT_; z++)
        print_zone(l, (enum mmusim_zone)z, zone_keys[z]);

    puts("\nfixmap indices (address = FIXADDR_TOP - index * 4096):");
    snprintf(note, sizeof(note), "FIX_KMAP_BEGIN at 0x%08" PRIx32 ": kmap_atomic slot 0",
             mmusim_fix_to_virt(l, l->fix_kmap_begin));
    row_dec("fix_kmap_begin", l->fix_kmap_begin, note);
    snprintf(note, sizeof(note), "FIX_KMAP_END at 0x%08" PRIx32 " = BEGIN + %s * NR_CPUS - 1",
             mmusim_fix_to_virt(l, l->fix_kmap_end), l->km_max_idx ? "KM_MAX_IDX" : "KM_TYPE_NR");
    row_dec("fix_kmap_end", l->fix_kmap_end, note);
    row_dec("end_of_permanent_fixed_addresses", l->end_of_permanent_fixed_addresses,
            "__end_of_permanent_fixed_addresses");
    row_dec("fix_btmap_end", l->fix_btmap_end, "FIX_BTMAP_END: first boot-time map");
    row_dec("fix_btmap_begin", l->fix_btmap_begin, "FIX_BTMAP_BEGIN: last boot-time map");
    row_dec("end_of_fixed_addresses", l->end_of_fixed_addresses, "__end_of_fixed_addresses");
    row_dec("km_type_nr", l->km_type_nr, l->km_max_idx ? "KM_TYPE_NR: none in this era" : "KM_TYPE_NR: kmap_atomic slots per CPU");
    row_dec("km_max_idx", l->km_max_idx, l->km_max_idx ? "KM_MAX_IDX: kmap_local slots per CPU" : "KM_MAX_IDX: none in this era");
    snprintf(note, sizeof(note), "slots of one CPU: idx = i + %u * cpu", l->kmap_slots_per_cpu);
    row_dec("kmap_slots_per_cpu", l->kmap_slots_per_cpu, note);
    row_str("kmap_form", mmusim_kmap_form_name(l->kmap_form),
            l->kmap_form == MMUSIM_KMAP_SLOT    ? "kmap_atomic: one slot per km_type"
            : l->kmap_form == MMUSIM_KMAP_STACK ? "kmap_atomic: a per-CPU stack of slots"
                                                : "kmap_local: a per-task stack of slots");
    row_dec("kmap_idx_incr", l->kmap_idx_incr, "KM_INCR: stack step (2: guard slots in between)");
    row_dec("nr_cpus", l->nr_cpus, "NR_CPUS");

    puts("\npaging geometry:");
    row_dec("ptrs_per_pte", l->ptrs_per_pte, "PTRS_PER_PTE");
    row_dec("pmd_shift", l->pmd_shift, l->paging == MMUSIM_PAGING_PAE ? "PMD_SHIFT: a PMD entry maps 2 MiB"
                                                                       : "PMD folded into the PGD: 4 MiB");
    row_dec("pgdir_shift", l->pgdir_shift, "PGDIR_SHIFT");
    row_dec("kernel_pgd_boundary", l->kernel_pgd_boundary, "first PGD entry of kernel space");

    const struct mmusim_preempt_bits *b = &l->preempt_bits;
    puts("\npreempt_count fields:");
    row_hex("preempt_offset", b->preempt_offset, "PREEMPT_OFFSET");
    row_hex("preempt_mask", b->preempt_mask, "PREEMPT_MASK");
    row_hex("softirq_offset", b->softirq_offset, "SOFTIRQ_OFFSET: serving a softirq");
    row_hex("softirq_disable_offset", b->softirq_disable_offset, "what local_bh_disable() adds");
    row_hex("softirq_mask", b->softirq_mask, "SOFTIRQ_MASK");
    row_hex("hardirq_offset", b->hardirq_offset, "HARDIRQ_OFFSET");
    row_hex("hardirq_mask", b->hardirq_mask, "HARDIRQ_MASK");
    row_hex("nmi_offset", b->nmi_offset, b->nmi_offset ? "NMI_OFFSET" : "NMI_OFFSET: no NMI count in this era");
    row_hex("nmi_mask", b->nmi_mask, "NMI_MASK");
    row_hex("preempt_active", b->preempt_active, "PREEMPT_ACTIVE (0: none)");
    row_hex("need_resched", b->need_resched, "PREEMPT_NEED_RESCHED, inverted (0: none)");

    puts("\nkernel configuration in effect:");
    row_dec("hz", l->hz, "CONFIG_HZ");
    row_str("preempt", mmusim_preempt_name(l->preempt), "preemption model (CONFIG_PREEMPT_*)");
    row_dec("flush_ceiling", l->flush_ceiling,
            l->flush_ceiling ? "tlb_single_page_flush_ceiling (pages)"
                             : "no ceiling: flush_tlb_kernel_range is flush_tlb_all");
}

/* ---- JSON ---- */

static void json_num(const char *key, uint64_t v, int *first)
{
    printf("%s\n  \"%s\": %" PRIu64, *first ? "" : ",", key, v);
    *first = 0;
}

static void json_str(const char *key, const char *v, int *first)
{
    printf("%s\n  \"%s\": \"%s\"", *first ? "" : ",", key, v); /* our names need no escaping */
    *first = 0;
}

static void print_json(const struct mmusim_config *cfg, const struct mmusim_layout *l)
{
    int first = 1;
    char key[48];
    putchar('{');
    json_str("era", mmusim_era_name(l->era), &first);
    json_str("paging", mmusim_paging_name(l->paging), &first);
    json_str("split", mmusim_split_name(cfg->split), &first);
    json_num("mem_bytes", cfg->mem_bytes, &first);
    json_num("ncpus", cfg->ncpus, &first);
    json_num("nr_cpus", l->nr_cpus, &first);
    json_num("km_type_nr", l->km_type_nr, &first);
    json_num("km_max_idx", l->km_max_idx, &first);
    json_num("kmap_slots_per_cpu", l->kmap_slots_per_cpu, &first);
    json_num("kmap_idx_incr", l->kmap_idx_incr, &first);
    json_str("kmap_form", mmusim_kmap_form_name(l->kmap_form), &first);
    json_num("hz", l->hz, &first);
    json_str("preempt", mmusim_preempt_name(l->preempt), &first);
    json_num("flush_ceiling", l->flush_ceiling, &first);
    json_num("page_offset", l->page_offset, &first);
    json_num("vmalloc_reserve", l->vmalloc_reserve, &first);
    json_num("maxmem", l->maxmem, &first);
    json_num("max_pfn", l->max_pfn, &first);
    json_num("max_low_pfn", l->max_low_pfn, &first);
    json_num("highstart_pfn", l->highstart_pfn, &first);
    json_num("high_memory", l->high_memory, &first);
    json_num("vmalloc_start", l->vmalloc_start, &first);
    json_num("vmalloc_end", l->vmalloc_end, &first);
    json_num("pkmap_base", l->pkmap_base, &first);
    json_num("last_pkmap", l->last_pkmap, &first);
    json_num("fixaddr_top", l->fixaddr_top, &first);
    json_num("fixaddr_start", l->fixaddr_start, &first);
    json_num("fixaddr_boot_start", l->fixaddr_boot_start, &first);
    json_num("cpu_entry_area_base", l->cpu_entry_area_base, &first);
    json_num("cpu_entry_area_pages", l->cpu_entry_area_pages, &first);
    json_num("ldt_base_addr", l->ldt_base_addr, &first);
    json_num("fix_kmap_begin", l->fix_kmap_begin, &first);
    json_num("fix_kmap_end", l->fix_kmap_end, &first);
    json_num("fix_kmap_begin_addr", mmusim_fix_to_virt(l, l->fix_kmap_begin), &first);
    json_num("fix_kmap_end_addr", mmusim_fix_to_virt(l, l->fix_kmap_end), &first);
    json_num("end_of_permanent_fixed_addresses", l->end_of_permanent_fixed_addresses, &first);
    json_num("fix_btmap_end", l->fix_btmap_end, &first);
    json_num("fix_btmap_begin", l->fix_btmap_begin, &first);
    json_num("end_of_fixed_addresses", l->end_of_fixed_addresses, &first);
    json_num("ptrs_per_pte", l->ptrs_per_pte, &first);
    json_num("pmd_shift", l->pmd_shift, &first);
    json_num("pgdir_shift", l->pgdir_shift, &first);
    json_num("kernel_pgd_boundary", l->kernel_pgd_boundary, &first);
    const struct mmusim_preempt_bits *b = &l->preempt_bits;
    json_num("preempt_offset", b->preempt_offset, &first);
    json_num("preempt_mask", b->preempt_mask, &first);
    json_num("softirq_offset", b->softirq_offset, &first);
    json_num("softirq_disable_offset", b->softirq_disable_offset, &first);
    json_num("softirq_mask", b->softirq_mask, &first);
    json_num("hardirq_offset", b->hardirq_offset, &first);
    json_num("hardirq_mask", b->hardirq_mask, &first);
    json_num("nmi_offset", b->nmi_offset, &first);
    json_num("nmi_mask", b->nmi_mask, &first);
    json_num("preempt_active", b->preempt_active, &first);
    json_num("need_resched", b->need_resched, &first);
    for (int z = 0; z < MMUSIM_ZONE_COUNT_; z++) {
        snprintf(key, sizeof(key), "zone_%s_start_pfn", zone_keys[z]);
        json_num(key, l->zones[z].start_pfn, &first);
        snprintf(key, sizeof(key), "zone_%s_end_pfn", zone_keys[z]);
        json_num(key, l->zones[z].end_pfn, &first);
    }
    puts("\n}");
}

/* ---- the command ---- */

int cmd_layout(int argc, char **argv)
{
    const char *cmd = "layout";
    struct mmusim_config cfg;
    struct mmusim_layout l;
    int json = 0;

    mmusim_config_init(&cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(layout_help, stdout);
            fputs(cli_config_options_help, stdout);
            fputs("\noutput:\n  --json              one JSON object instead of the table\n", stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        int m = cli_config_option(cmd, argc, argv, &i, &cfg);
        if (m < 0)
            return CLI_EXIT_USAGE;
        if (m == 0)
            return cli_error(cmd, "unknown option '%s' (see mmusim layout --help)", argv[i]);
    }

    int rc = mmusim_layout_compute(&cfg, &l);
    if (rc != MMUSIM_OK)
        return cli_error(cmd, "invalid configuration: %s (%s)", mmusim_strerror(rc), mmusim_err_name(rc));
    if (json)
        print_json(&cfg, &l);
    else
        print_table(&cfg, &l);
    return CLI_EXIT_OK;
}
