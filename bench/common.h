/*
 * mmusim benches — shared command line, timing and output.
 *
 * Every bench takes --preset NAME, --set key=value (repeatable), --cpus N,
 * --pae, --era NAME, --seed N, --iterations N, --ops N, --json, --csv FILE,
 * --shard K/N, --merge FILE... and --help, parsed in one place
 * (bench_parse_ext, with getopt_long); a bench ignores those it has no use
 * for. Prints a table by default and one JSON document with --json.
 */
#ifndef MMUSIM_BENCH_COMMON_H
#define MMUSIM_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmusim.h"

struct bench_opts {
    int json;
    struct mmusim_config cfg;   /* --preset, --cpus, --pae, --seed and --set applied (--set last: it wins) */
    uint64_t iterations;        /* --iterations N; 0 = the bench's default */
    uint64_t ops;               /* --ops N; 0 = the bench's default */
    unsigned cpus;              /* --cpus N; 0 = not given */
    int pae;                    /* --pae given */
    int seed_given;             /* --seed N given (also in cfg.seed) */
    uint64_t seed;
    const char *era;            /* --era NAME (validated); NULL = the bench's choice */
    const char *csv;            /* --csv FILE; NULL = none */
    /* Sweeps (docs/results.md, "Sweeps"): --shard K/N runs rows i with
     * i mod N == K - 1 and prints a shard file; --merge FILE... reads shard
     * files back (the options come from them) and prints the whole run. */
    unsigned shard_k, shard_n;  /* --shard K/N; 0/0 = not sharded */
    char **merge_files;         /* --merge: the shard files (argv's tail); NULL = none */
    size_t nmerge;
    const char **args;          /* the options as given, canonical names, without --shard, --merge, */
    size_t nargs;               /* --json and --csv: what a shard file records */
    int preset_given;           /* --preset NAME or --set preset=NAME given */
    const char **sets;          /* the --set KEY=VALUE options, in order */
    size_t nsets;
};

/*
 * Parse argv. usage is printed for --help (exit 0); a bad option prints a
 * message and exits 2. Benches are programs, so exiting here is fine.
 * Messages are "PROGRAM: message" on stderr; a number out of its range is
 * "PROGRAM: --opt: V is out of range (LO to HI)". It also arranges that the
 * program exits 1 with a message if stdout could not be written.
 */
void bench_parse(int argc, char **argv, const char *usage, struct bench_opts *o);

/* The upper bounds of the common numeric options (shown by --help). */
#define BENCH_MAX_ITERATIONS UINT64_C(10000000000)
#define BENCH_MAX_OPS UINT64_C(1000000000)

/* A bench's own option taking a non-negative integer (--name N) in [min, max]. */
struct bench_uopt {
    const char *name;   /* with the dashes: "--irq-gap" */
    const char *help;   /* one line for --help (the range is added) */
    uint64_t *value;    /* keeps its default unless the option is given */
    uint64_t min, max;  /* a value outside is refused (exit 2) */
};

/* bench_parse, also accepting the n options of extra. */
void bench_parse_ext(int argc, char **argv, const char *usage, const struct bench_uopt *extra, size_t n,
                     struct bench_opts *o);

/*
 * Sweeps. A sweep's rows are independent runs, numbered 0 .. nrows-1 in the
 * order of the unsharded output; row i belongs to shard (i mod N) + 1.
 *
 * bench_shard_mine: 1 if row i is this run's (always, unsharded).
 * bench_shard_write: print the shard file of rows (an array of nrows rows of
 *   size bytes, of which only this shard's are read) on stdout.
 * bench_merge_read: fill every row of rows from the shard files of --merge;
 *   exits 2 with a message if they are not one complete sweep of this bench.
 * bench_shard_refuse: for a bench whose output is not a set of independent
 *   rows: exits 2 with a message (why: the reason) if --shard or --merge was
 *   given.
 */
int bench_shard_mine(const struct bench_opts *o, size_t i);
void bench_shard_write(const struct bench_opts *o, const char *bench, const void *rows, size_t nrows, size_t size);
void bench_merge_read(const struct bench_opts *o, const char *bench, void *rows, size_t nrows, size_t size);
void bench_shard_refuse(const struct bench_opts *o, const char *bench, const char *why);

/*
 * For a bench that sweeps presets: preset p, then --pae, --seed and --era,
 * then every --set but preset= (so --set still wins). --cpus is the sweep's.
 */
struct mmusim_config bench_config_for_preset(const struct bench_opts *o, enum mmusim_preset p);

/* Monotonic host time in seconds. */
double bench_now(void);

/*
 * A progress line on stderr, "PROGRAM: what done/total", for runs that last
 * over a second, and only when stderr is a terminal: redirected output
 * (files, CI logs, the determinism tests) never holds one. Call it after
 * each unit of work; done == total erases the line. stdout is untouched.
 */
void bench_progress(const char *what, size_t done, size_t total);

/* The executable's basename, for messages. */
const char *bench_program(void);

/* Print "PROGRAM: message" on stderr and exit 2 (a usage error). */
void bench_die(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* fclose a file written (--csv FILE): exit 1 with a message if any write or the close failed. */
void bench_close(FILE *f, const char *path);

/* Exit with status 1 and a message if rc is not MMUSIM_OK. */
void bench_check(int rc, const char *what);

/*
 * A small JSON writer: one object, flat keys, in order. A double that is
 * not finite (NaN, infinity) is written as null: JSON has no such numbers.
 */
struct bench_json {
    FILE *f;
    int first;
};
void bench_json_begin(struct bench_json *j, FILE *f);
void bench_json_str(struct bench_json *j, const char *key, const char *v);
void bench_json_u64(struct bench_json *j, const char *key, uint64_t v);
void bench_json_f64(struct bench_json *j, const char *key, double v);
void bench_json_end(struct bench_json *j);

/*
 * Every bench's JSON document starts with the same fields: "bench" (the
 * executable's name), "version" (mmusim_version_string()), "preset" and
 * "seed" (the configuration's), and "options" (the options that shaped the
 * run, as given: o->args). bench_json_begin_bench opens the document with
 * them; bench_json_header prints "{" and them followed by ",\n", for a
 * bench that writes the rest of its document itself.
 */
void bench_json_begin_bench(struct bench_json *j, FILE *f, const struct bench_opts *o, const char *bench);
void bench_json_header(FILE *f, const struct bench_opts *o, const char *bench);

/*
 * v as JSON, for hand-written JSON: "%.6g" (decimals < 0) or "%.*f", or
 * "null" if v is not finite. The string lasts for 32 calls.
 */
const char *bench_jnum(double v, int decimals);

#endif /* MMUSIM_BENCH_COMMON_H */
