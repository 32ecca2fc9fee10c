/*
 * libFuzzer target: the mmusim command line.
 *
 * The input is split on NUL or newline into an argv vector, "mmusim" put in
 * front, and run through cli_run() (cli/mmusim.c, built with
 * MMUSIM_CLI_NO_MAIN): the layout, keys and help commands with any options.
 * stdout goes to /dev/null (scripts/fuzz.sh also passes -close_fd_mask=3,
 * which keeps the sanitizer reports). A finding is a sanitizer report, a leak
 * or a crash; every exit status is fine.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FUZZ_MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout))
        abort();
    /* mmusim replay --lackey - reads standard input: give it an empty one. */
    if (!freopen("/dev/null", "r", stdin))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return -1;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    char prog[] = "mmusim";
    char *argv[FUZZ_MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = prog;
    size_t start = 0;
    for (size_t i = 0; i <= size && argc < FUZZ_MAX_ARGS + 1; i++) {
        if (i == size || text[i] == '\0' || text[i] == '\n') {
            text[i] = '\0';
            if (i > start || i < size) /* empty arguments count, but not a trailing one */
                argv[argc++] = text + start;
            start = i + 1;
        }
    }
    argv[argc] = NULL;
    /* Commands that write files the fuzzer names (trace convert -o, replay
     * --csv) would litter the working directory: not run. */
    int writes = 0;
    for (int a = 1; a < argc; a++)
        writes |= strcmp(argv[a], "trace") == 0 || strncmp(argv[a], "--csv", 5) == 0;
    if (!writes)
        (void)cli_run(argc, argv);
    fflush(stdout);
    free(text);
    return 0;
}
