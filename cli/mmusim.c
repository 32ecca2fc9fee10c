/*
 * mmusim — the command-line tool.
 *
 *     mmusim COMMAND [OPTIONS]
 *
 * A subcommand is one row of `commands` below: its name, the function that
 * runs it and a line of help. To add one, write `int cmd_NAME(int, char **)`
 * in its own cli/NAME.c (list it in MMUSIM_CLI_SOURCES of CMakeLists.txt; it builds into
 * build/bin/mmusim), declare it in cli/cli.h, and add its row here.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "mmusim/error.h"
#include "mmusim/version.h"

static int cmd_help(int argc, char **argv);
static int cmd_keys(int argc, char **argv);

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"layout", cmd_layout, "print the i386 kernel address layout Linux computes for a machine"},
    {"elf", cmd_elf, "load an i386 ELF program into a machine and show its segments, stack, entry"},
    {"replay", cmd_replay, "replay a valgrind lackey or binary trace through a CPU's TLBs (demand paging)"},
    {"trace", cmd_trace, "trace tools: 'mmusim trace convert' writes mmusim's binary trace format"},
    {"keys", cmd_keys, "list the configuration keys that --set accepts (--json: with their defaults)"},
    {"help", cmd_help, "show this help, or a command's (mmusim help layout)"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- shared helpers (cli.h) ---- */

int cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    (void)cmd; /* one style in every executable: "PROGRAM: message" */
    fputs("mmusim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_option_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                     const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0; /* a longer option that shares the prefix */
    if (*i + 1 >= argc) {
        cli_error(cmd, "option %s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

const char cli_config_options_help[] =
    "machine options (applied in the order given):\n"
    "  --mem SIZE          installed RAM, e.g. 1G, 512M, 0x40000000 (default 1G)\n"
    "  --pae               PAE paging (default: 2-level)\n"
    "  --cpus N            number of CPUs, 1 to 64 (default 2)\n"
    "  --split S           VMSPLIT: 3G, 3G_OPT, 2G, 2G_OPT, 1G (default 3G)\n"
    "  --era E             kernel era: 2.6.18, 2.6.32, 2.6.37, 5.11 (default 2.6.32)\n"
    "  --nr-cpus N         kernel NR_CPUS, sizes the fixmap, 0 to 256 (default 0 = max(8, cpus))\n"
    "  --vmalloc SIZE      the vmalloc= boot option (default: not given, 128M reserve)\n"
    "  --debug-highmem     CONFIG_DEBUG_HIGHMEM (5.11: DEBUG_KMAP_LOCAL): kmap slots 2N+1\n"
    "  --preset NAME       cost and TLB preset: p3, core2, atom, haswell\n"
    "  --set KEY=VALUE     any configuration key (see 'mmusim keys'); repeatable\n";

/* Apply a size option to *field. */
static int size_option(const char *cmd, const char *opt, const char *v, uint64_t *field)
{
    int rc = mmusim_parse_size(v, field);
    if (rc != MMUSIM_OK) {
        cli_error(cmd, "%s '%s': %s (a size such as 1G, 512M, 64K or 0x40000000)", opt, v,
                  mmusim_strerror(rc));
        return -1;
    }
    return 1;
}

/* The largest nr_cpus the library accepts (MMUSIM_MAX_NR_CPUS of src/config.c). */
#define CLI_MAX_NR_CPUS 256

/* A decimal in [lo, hi] for option opt, or -1 after the one range message (cli.h). */
int cli_range_option(const char *cmd, const char *opt, const char *v, unsigned long lo, unsigned long hi,
                        unsigned long *out)
{
    unsigned long x = 0;
    int over = 0;
    const char *p = v;
    if (!*p) {
        cli_error(cmd, "%s: '%s' is not a non-negative integer", opt, v);
        return -1;
    }
    for (; *p; p++) {
        if (*p < '0' || *p > '9') {
            cli_error(cmd, "%s: '%s' is not a non-negative integer", opt, v);
            return -1;
        }
        if (x > (ULONG_MAX - (unsigned long)(*p - '0')) / 10)
            over = 1;
        else
            x = x * 10 + (unsigned long)(*p - '0');
    }
    if (over || x < lo || x > hi) {
        cli_error(cmd, "%s: %s is out of range (%lu to %lu)", opt, v, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

/* Apply a named configuration key, reporting the option the user wrote. */
static int key_option(const char *cmd, const char *opt, struct mmusim_config *cfg, const char *key,
                      const char *v)
{
    int rc = mmusim_config_set(cfg, key, v);
    if (rc != MMUSIM_OK) {
        cli_error(cmd, "%s '%s': %s", opt, v, mmusim_strerror(rc));
        return -1;
    }
    return 1;
}

static int set_option(const char *cmd, struct mmusim_config *cfg, const char *kv)
{
    char key[128];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_error(cmd, "--set '%s': expected KEY=VALUE", kv);
        return -1;
    }
    size_t n = (size_t)(eq - kv);
    if (n >= sizeof(key)) {
        cli_error(cmd, "--set '%s': %s", kv, mmusim_strerror(MMUSIM_EKEY));
        return -1;
    }
    memcpy(key, kv, n);
    key[n] = '\0';
    int rc = mmusim_config_set(cfg, key, eq + 1);
    if (rc != MMUSIM_OK) {
        const char *doc = rc == MMUSIM_EVALUE ? mmusim_config_key_doc(key) : NULL;
        if (doc)
            cli_error(cmd, "--set %s: %s (%s: %s)", kv, mmusim_strerror(rc), key, doc);
        else
            cli_error(cmd, "--set %s: %s", kv, mmusim_strerror(rc));
        return -1;
    }
    return 1;
}

int cli_config_option(const char *cmd, int argc, char **argv, int *i, struct mmusim_config *cfg)
{
    const char *v = NULL;
    int m;

    if (strcmp(argv[*i], "--pae") == 0) {
        cfg->paging = MMUSIM_PAGING_PAE;
        return 1;
    }
    if (strcmp(argv[*i], "--debug-highmem") == 0) {
        cfg->debug_highmem = 1;
        return 1;
    }
    if ((m = cli_option_value(cmd, argc, argv, i, "--mem", &v)) != 0)
        return m < 0 ? m : size_option(cmd, "--mem", v, &cfg->mem_bytes);
    if ((m = cli_option_value(cmd, argc, argv, i, "--vmalloc", &v)) != 0)
        return m < 0 ? m : size_option(cmd, "--vmalloc", v, &cfg->vmalloc_bytes);
    unsigned long x;
    if ((m = cli_option_value(cmd, argc, argv, i, "--cpus", &v)) != 0) {
        if (m < 0 || cli_range_option(cmd, "--cpus", v, 1, MMUSIM_MAX_CPUS, &x) < 0)
            return -1;
        return key_option(cmd, "--cpus", cfg, "cpus", v);
    }
    if ((m = cli_option_value(cmd, argc, argv, i, "--nr-cpus", &v)) != 0) {
        if (m < 0 || cli_range_option(cmd, "--nr-cpus", v, 0, CLI_MAX_NR_CPUS, &x) < 0)
            return -1;
        return key_option(cmd, "--nr-cpus", cfg, "nr_cpus", v);
    }
    if ((m = cli_option_value(cmd, argc, argv, i, "--preset", &v)) != 0)
        return m < 0 ? m : key_option(cmd, "--preset", cfg, "preset", v);
    if ((m = cli_option_value(cmd, argc, argv, i, "--split", &v)) != 0) {
        int rc = m < 0 ? MMUSIM_OK : mmusim_split_from_name(v, &cfg->split);
        if (rc != MMUSIM_OK)
            cli_error(cmd, "--split '%s': %s (3G, 3G_OPT, 2G, 2G_OPT or 1G)", v, mmusim_strerror(rc));
        return m < 0 || rc != MMUSIM_OK ? -1 : 1;
    }
    if ((m = cli_option_value(cmd, argc, argv, i, "--era", &v)) != 0) {
        int rc = m < 0 ? MMUSIM_OK : mmusim_era_from_name(v, &cfg->era);
        if (rc != MMUSIM_OK)
            cli_error(cmd, "--era '%s': %s (2.6.18, 2.6.32, 2.6.37 or 5.11)", v, mmusim_strerror(rc));
        return m < 0 || rc != MMUSIM_OK ? -1 : 1;
    }
    if ((m = cli_option_value(cmd, argc, argv, i, "--set", &v)) != 0)
        return m < 0 ? m : set_option(cmd, cfg, v);
    return 0;
}

/* ---- top-level commands ---- */

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_commands(FILE *f)
{
    fputs("commands:\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

static void usage(FILE *f)
{
    fputs("usage: mmusim COMMAND [OPTIONS]\n"
          "       mmusim --version\n"
          "\n"
          "Simulates i686 MMUs and TLBs cycle by cycle, and Linux's high-memory mappings.\n"
          "\n",
          f);
    print_commands(f);
    fputs("\nRun 'mmusim COMMAND --help' for the options of a command; 'mmusim --version' prints the\n"
          "version. Errors are one line 'mmusim: message' on stderr, with exit status 2 for a bad option\n"
          "or value and 1 when the output cannot be written.\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    const struct command *c = find_command(argv[1]);
    if (!c) {
        cli_error("help", "unknown command '%s'", argv[1]);
        print_commands(stderr);
        return CLI_EXIT_USAGE;
    }
    if (c->run == cmd_help) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    char help_opt[] = "--help";
    char *args[] = {argv[1], help_opt, NULL};
    return c->run(2, args);
}

/* s as a JSON string (the key table's text is ASCII; quotes and backslashes escaped). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s < 0x20)
            printf("\\u%04x", (unsigned)(unsigned char)*s);
        else
            putchar(*s);
    }
    putchar('"');
}

static int cmd_keys(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: mmusim keys [--json]\n\n"
                 "List every configuration key that --set KEY=VALUE accepts, with its default and\n"
                 "its description (which gives the values and range it takes). --json prints one\n"
                 "JSON document:\n"
                 "{\"version\": ..., \"keys\": [{\"key\": NAME, \"default\": VALUE, \"description\": TEXT}, ...]},\n"
                 "the default as text that --set takes back (sizes in bytes).");
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        return cli_error("keys", "unexpected argument '%s' (see mmusim keys --help)", argv[i]);
    }
    struct mmusim_config def;
    mmusim_config_init(&def);
    if (json)
        printf("{\n  \"version\": \"%s\",\n  \"keys\": [", mmusim_version_string());
    else
        printf("%-24s %-12s %s\n", "key", "default", "description");
    for (size_t i = 0; i < mmusim_config_key_count(); i++) {
        const char *name, *doc;
        char value[64];
        if (mmusim_config_key(i, &name, &doc) != MMUSIM_OK)
            continue;
        if (mmusim_config_get(&def, name, value, sizeof(value)) != MMUSIM_OK)
            snprintf(value, sizeof(value), "?");
        if (!json) {
            printf("%-24s %-12s %s\n", name, value, doc);
            continue;
        }
        printf("%s\n    {\"key\": ", i ? "," : "");
        json_string(name);
        printf(", \"default\": ");
        json_string(value);
        printf(", \"description\": ");
        json_string(doc);
        putchar('}');
    }
    if (json)
        printf("\n  ]\n}\n");
    return CLI_EXIT_OK;
}

int cli_run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    int status;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        status = CLI_EXIT_OK;
    } else if (strcmp(argv[1], "--version") == 0) {
        printf("mmusim %s\n", mmusim_version_string());
        status = CLI_EXIT_OK;
    } else {
        const struct command *c = find_command(argv[1]);
        if (!c) {
            cli_error(NULL, "unknown command '%s'", argv[1]);
            print_commands(stderr);
            return CLI_EXIT_USAGE;
        }
        status = c->run(argc - 1, argv + 1);
    }
    return status;
}

#ifndef MMUSIM_CLI_NO_MAIN
int main(int argc, char **argv)
{
    int status = cli_run(argc, argv);
    /* An output that could not be written (a full disk, a closed pipe) is an error: exit 1. */
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (fclose(stdout) != 0)
        bad = 1;
    if (bad) {
        fputs("mmusim: error writing the output\n", stderr);
        return 1;
    }
    return status;
}
#endif /* MMUSIM_CLI_NO_MAIN */
