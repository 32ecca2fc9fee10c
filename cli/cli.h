/*
 * mmusim CLI — what the subcommands share.
 *
 * Each subcommand is one function `int cmd_NAME(int argc, char **argv)`
 * (argv[0] is the subcommand's name) registered in the command table of
 * cli/mmusim.c. It returns the process exit status: CLI_EXIT_OK, or
 * CLI_EXIT_USAGE after printing one line on stderr with cli_error().
 */
#ifndef MMUSIM_TOOLS_CLI_H
#define MMUSIM_TOOLS_CLI_H

#include <stdint.h>

#include "mmusim/config.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_USAGE 2 /* bad option, missing value, invalid configuration */

#if defined(__GNUC__)
#define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CLI_PRINTF(fmt, args)
#endif

/* Print "mmusim: MESSAGE" and a newline on stderr (the style of every executable); returns CLI_EXIT_USAGE. */
int cli_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/*
 * Match argv[*i] against a long option that takes a value, written either
 * "--name VALUE" or "--name=VALUE". Returns 0 if argv[*i] is another option,
 * 1 with *value set (and *i moved past a separate value), or -1 after
 * printing an error if the value is missing.
 */
int cli_option_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                     const char **value);

/*
 * The configuration options every machine-building subcommand accepts:
 * --mem, --pae, --cpus, --split, --era, --nr-cpus, --vmalloc,
 * --debug-highmem, --preset, --set key=value. Returns 0 if argv[*i] is none of
 * them, 1 if it was applied to cfg (and *i advanced past its value), or -1
 * after printing an error.
 */
int cli_config_option(const char *cmd, int argc, char **argv, int *i, struct mmusim_config *cfg);

/* A decimal in [lo, hi] for option opt into *out: 1, or -1 after printing "--opt: V is out of range (LO to HI)". */
int cli_range_option(const char *cmd, const char *opt, const char *v, unsigned long lo, unsigned long hi,
                     unsigned long *out);

/* Help text of the options cli_config_option() accepts. */
extern const char cli_config_options_help[];

/*
 * Run one command line (argv[0] the program name, argv[1] the command) and
 * return its exit status, without closing stdout; main() is cli_run() plus
 * the check that the output was written. Never calls exit(), so the fuzzer
 * (fuzz/fuzz_cli.c, built with MMUSIM_CLI_NO_MAIN) calls it directly.
 */
int cli_run(int argc, char **argv);

/* The subcommands. */
int cmd_layout(int argc, char **argv);
int cmd_elf(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_trace(int argc, char **argv);

#endif /* MMUSIM_TOOLS_CLI_H */
