/*
 * mmusim elf — load an i386 ELF program into a fresh address space of a
 * machine and print what the loader did: its segments with their rights,
 * the entry point, brk, the stack and the interpreter, as a table or (--json)
 * as one JSON object. docs/replay.md, "ELF loading", explains every value.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mmusim/elf.h"
#include "mmusim/error.h"
#include "mmusim/machine.h"
#include "mmusim/pgtable.h"

static const char elf_help[] =
    "usage: mmusim elf PROGRAM [--bias N] [--stack BYTES] [OPTIONS] [--json]\n"
    "\n"
    "Load an i386 ELF program (ET_EXEC, or ET_DYN at --bias) into a new address space\n"
    "of a machine built from OPTIONS, as Linux's binfmt_elf maps it, and print its\n"
    "segments with the rights their pages got, the entry point, brk, the stack and\n"
    "PT_INTERP. A file the loader refuses is reported with the loader's error.\n"
    "\n"
    "program:\n"
    "  --bias N            load bias of an ET_DYN (page aligned; decimal or 0x hex; default 0)\n"
    "  --stack BYTES       stack mapped below PAGE_OFFSET (a multiple of 4096; default 131072)\n"
    "\n";

/* A 32-bit number in decimal or 0x hex, the whole of text. */
static int parse_u32(const char *cmd, const char *opt, const char *text, uint32_t *out)
{
    char *end = NULL;
    unsigned long long v = 0;
    if (text[0] >= '0' && text[0] <= '9')
        v = strtoull(text, &end, 0);
    if (!end || *end != '\0') {
        cli_error(cmd, "%s: '%s' is not a non-negative integer", opt, text);
        return -1;
    }
    if (v > UINT32_MAX) {
        cli_error(cmd, "%s: %s is out of range (0 to 4294967295)", opt, text);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static void rights(char *buf, uint32_t flags)
{
    buf[0] = (flags & MMUSIM_ELF_PF_R) ? 'r' : '-';
    buf[1] = (flags & MMUSIM_ELF_PF_W) ? 'w' : '-';
    buf[2] = (flags & MMUSIM_ELF_PF_X) ? 'x' : '-';
    buf[3] = '\0';
}

static const char *type_name(unsigned type)
{
    return type == 2 ? "ET_EXEC" : type == 3 ? "ET_DYN" : "?";
}

static void print_table(const char *path, const struct mmusim_elf_info *in)
{
    char pf[4];
    printf("%s: %s, bias 0x%08" PRIx32 ", entry 0x%08" PRIx32 ", %u program headers at 0x%08" PRIx32 "\n", path,
           type_name(in->type), in->bias, in->entry, in->phnum, in->phdr_vaddr);
    printf("  %-10s  %-10s  %-10s  %-10s  %-5s  %-6s  %s\n", "vaddr", "memsz", "filesz", "offset", "flags", "pages",
           "mapped");
    for (unsigned i = 0; i < in->nsegments && i < MMUSIM_ELF_MAX_SEGMENTS; i++) {
        const struct mmusim_elf_segment *s = &in->segments[i];
        rights(pf, s->flags);
        printf("  0x%08" PRIx32 "  0x%08" PRIx32 "  0x%08" PRIx32 "  0x%08" PRIx32 "  %-5s  %-6" PRIu32
               "  user, %s, %s\n",
               s->vaddr, s->memsz, s->filesz, s->offset, pf, s->npages, s->writable ? "writable" : "read-only",
               s->executable ? "executable" : "NX");
    }
    if (in->nsegments > MMUSIM_ELF_MAX_SEGMENTS)
        printf("  (%u more segments)\n", in->nsegments - MMUSIM_ELF_MAX_SEGMENTS);
    printf("  brk         0x%08" PRIx32 "\n", in->brk);
    printf("  stack       [0x%08" PRIx32 ", 0x%08" PRIx32 "), %s (%s)\n", in->stack_low, in->stack_top,
           in->stack_executable ? "executable" : "NX", in->has_gnu_stack ? "PT_GNU_STACK" : "no PT_GNU_STACK");
    printf("  pages       %" PRIu32 " mapped; NX %s%s\n", in->pages_mapped, in->nx ? "available" : "not available",
           in->read_implies_exec ? "; READ_IMPLIES_EXEC" : "");
    if (in->has_interp)
        printf("  interpreter %s%s\n", in->interp, in->interp_truncated ? " (truncated)" : "");
}

/* s as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            printf("\\u%04x", (unsigned)(unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_json(const char *path, const struct mmusim_elf_info *in)
{
    printf("{\n  \"program\": ");
    json_string(path);
    printf(",\n  \"type\": \"%s\",\n  \"bias\": %" PRIu32 ",\n  \"entry\": %" PRIu32 ",\n", type_name(in->type),
           in->bias, in->entry);
    printf("  \"phdr\": %" PRIu32 ",\n  \"phnum\": %u,\n  \"segments\": [", in->phdr_vaddr, in->phnum);
    for (unsigned i = 0; i < in->nsegments && i < MMUSIM_ELF_MAX_SEGMENTS; i++) {
        const struct mmusim_elf_segment *s = &in->segments[i];
        printf("%s\n    {\"vaddr\": %" PRIu32 ", \"memsz\": %" PRIu32 ", \"filesz\": %" PRIu32
               ", \"offset\": %" PRIu32 ", \"flags\": %" PRIu32 ", \"page_first\": %" PRIu32
               ", \"npages\": %" PRIu32 ", \"writable\": %s, \"executable\": %s}",
               i ? "," : "", s->vaddr, s->memsz, s->filesz, s->offset, s->flags, s->page_first, s->npages,
               s->writable ? "true" : "false", s->executable ? "true" : "false");
    }
    printf("\n  ],\n  \"nsegments\": %u,\n  \"pages_mapped\": %" PRIu32 ",\n  \"brk\": %" PRIu32 ",\n",
           in->nsegments, in->pages_mapped, in->brk);
    printf("  \"stack_low\": %" PRIu32 ",\n  \"stack_top\": %" PRIu32 ",\n  \"stack_executable\": %s,\n",
           in->stack_low, in->stack_top, in->stack_executable ? "true" : "false");
    printf("  \"has_gnu_stack\": %s,\n  \"read_implies_exec\": %s,\n  \"nx\": %s,\n  \"interp\": ",
           in->has_gnu_stack ? "true" : "false", in->read_implies_exec ? "true" : "false", in->nx ? "true" : "false");
    if (in->has_interp)
        json_string(in->interp);
    else
        printf("null");
    printf(",\n  \"interp_truncated\": %s\n}\n", in->interp_truncated ? "true" : "false");
}

/* Build the machine, load, print. */
static int load_and_print(const char *cmd, const struct mmusim_config *cfg, const char *path, uint32_t bias,
                          const struct mmusim_elf_opts *opts, int json)
{
    mmusim_machine *m;
    uint64_t cr3;
    struct mmusim_elf_info info;
    int rc = mmusim_machine_create(cfg, &m);
    if (rc != MMUSIM_OK)
        return cli_error(cmd, "invalid configuration: %s (%s)", mmusim_strerror(rc), mmusim_err_name(rc));
    if ((rc = mmusim_pgd_create(m, &cr3)) == MMUSIM_OK)
        rc = mmusim_elf_load_file(m, cr3, path, bias, opts, &info);
    mmusim_machine_destroy(m);
    if (rc != MMUSIM_OK)
        return cli_error(cmd, "%s: %s (%s)", path, mmusim_strerror(rc), mmusim_err_name(rc));
    if (json)
        print_json(path, &info);
    else
        print_table(path, &info);
    return CLI_EXIT_OK;
}

int cmd_elf(int argc, char **argv)
{
    const char *cmd = "elf", *path = NULL, *v;
    struct mmusim_config cfg;
    struct mmusim_elf_opts opts;
    uint32_t bias = 0;
    int json = 0, r;

    mmusim_config_init(&cfg);
    mmusim_elf_opts_init(&opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(elf_help, stdout);
            fputs(cli_config_options_help, stdout);
            fputs("\noutput:\n  --json              one JSON object instead of the table\n", stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if ((r = cli_option_value(cmd, argc, argv, &i, "--bias", &v)) != 0) {
            if (r < 0 || parse_u32(cmd, "--bias", v, &bias) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((r = cli_option_value(cmd, argc, argv, &i, "--stack", &v)) != 0) {
            if (r < 0 || parse_u32(cmd, "--stack", v, &opts.stack_bytes) != 0)
                return CLI_EXIT_USAGE;
            continue;
        }
        if ((r = cli_config_option(cmd, argc, argv, &i, &cfg)) < 0)
            return CLI_EXIT_USAGE;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || path)
            return cli_error(cmd, "unexpected argument '%s' (see mmusim elf --help)", argv[i]);
        path = argv[i];
    }
    if (!path)
        return cli_error(cmd, "no program given (see mmusim elf --help)");
    return load_and_print(cmd, &cfg, path, bias, &opts, json);
}
