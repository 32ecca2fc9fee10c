/* mmusim benches — shared command line, timing and output (common.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The executable's name, from argv[0], for stderr lines (set by bench_parse_ext). */
static const char *prog = "bench";

static const char *program_name(void)
{
    return prog;
}

static void die_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "error: %s%s%s (see --help)\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static void apply_set(struct mmusim_config *cfg, const char *kv)
{
    char key[128];
    const char *eq = strchr(kv, '=');
    if (!eq || (size_t)(eq - kv) >= sizeof(key))
        die_usage("--set wants key=value", kv);
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    int rc = mmusim_config_set(cfg, key, eq + 1);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "error: --set %s: %s\n", kv, mmusim_strerror(rc));
        exit(2);
    }
}

static uint64_t parse_u64(const char *opt, const char *v)
{
    char *end;
    errno = 0;
    uint64_t x = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-' || errno) {
        fprintf(stderr, "error: %s wants a non-negative integer: %s (see --help)\n", opt, v);
        exit(2);
    }
    return x;
}

void bench_parse(int argc, char **argv, const char *usage, struct bench_opts *o)
{
    bench_parse_ext(argc, argv, usage, NULL, 0, o);
}

enum {
    OPT_PRESET = 256,
    OPT_SET,
    OPT_ITERATIONS,
    OPT_OPS,
    OPT_CPUS,
    OPT_PAE,
    OPT_ERA,
    OPT_SEED,
    OPT_JSON,
    OPT_CSV,
    OPT_HELP,
    OPT_EXTRA /* OPT_EXTRA + k: the bench's own option extra[k] */
};

static void print_help(const char *usage, const struct bench_uopt *extra, size_t n)
{
    fputs(usage, stdout);
    fputs("\nCommon options:\n"
          "  --preset NAME      cost and TLB preset: p3, core2 (default), atom, haswell\n"
          "  --set KEY=VALUE    override one configuration key (repeatable; see docs/config.md; wins over\n"
          "                     --preset, --cpus, --pae and --seed)\n"
          "  --cpus N           number of CPUs (the config key cpus)\n"
          "  --pae              PAE paging (the config key pae=1)\n"
          "  --era NAME         kernel era (2.6.18, 2.6.32, 2.6.37, 5.11) instead of the bench's choice\n"
          "  --seed N           seed of every random choice (the config key seed)\n"
          "  --iterations N     how many operations to time\n"
          "  --ops N            how many operations per scenario (benches that run scenarios)\n"
          "  --json             print one JSON document instead of a table\n"
          "  --csv FILE         also write the result rows to FILE as CSV (benches that have rows)\n"
          "  --help             this text\n",
          stdout);
    if (n)
        fputs("\nOptions of this bench:\n", stdout);
    for (size_t k = 0; k < n; k++)
        printf("  %-18s %s\n", extra[k].name, extra[k].help);
}

static void set_key(struct mmusim_config *cfg, const char *opt, const char *key, const char *v)
{
    int rc = mmusim_config_set(cfg, key, v);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "error: %s %s: %s (see --help)\n", opt, v, mmusim_strerror(rc));
        exit(2);
    }
}

void bench_parse_ext(int argc, char **argv, const char *usage, const struct bench_uopt *extra, size_t n,
                     struct bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    mmusim_config_init(&o->cfg);
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    static const struct option common[] = {
        {"preset", required_argument, NULL, OPT_PRESET}, {"set", required_argument, NULL, OPT_SET},
        {"iterations", required_argument, NULL, OPT_ITERATIONS}, {"ops", required_argument, NULL, OPT_OPS},
        {"cpus", required_argument, NULL, OPT_CPUS}, {"pae", no_argument, NULL, OPT_PAE},
        {"era", required_argument, NULL, OPT_ERA}, {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON}, {"csv", required_argument, NULL, OPT_CSV},
        {"help", no_argument, NULL, OPT_HELP},
    };
    const size_t ncommon = sizeof(common) / sizeof(common[0]);
    struct option *longopts = calloc(ncommon + n + 1, sizeof(*longopts));
    if (!longopts) {
        fprintf(stderr, "error: out of memory\n");
        exit(1);
    }
    memcpy(longopts, common, sizeof(common));
    for (size_t k = 0; k < n; k++) {
        const char *name = extra[k].name;
        while (*name == '-')
            name++;
        /* getopt_long returns the first match, so a bench option named like a
         * common one would never be seen: refuse it rather than ignore it. */
        for (size_t q = 0; q < ncommon; q++)
            if (strcmp(name, common[q].name) == 0) {
                fprintf(stderr, "error: bench option --%s duplicates a common option\n", name);
                exit(2);
            }
        longopts[ncommon + k] = (struct option){name, required_argument, NULL, OPT_EXTRA + (int)k};
    }
    /* --set values are applied after every other option, so a --set always
     * overrides what --preset, --cpus, --pae or --seed load, whatever the order. */
    const char **sets = calloc((size_t)argc + 1, sizeof(*sets));
    size_t nsets = 0;
    if (!sets) {
        fprintf(stderr, "error: out of memory\n");
        exit(1);
    }
    const char *preset = NULL;
    int c;
    opterr = 0;
    optind = 1;
    /* "+": stop at the first non-option (reported below) and never permute argv. */
    while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
        case OPT_HELP:
            print_help(usage, extra, n);
            exit(0);
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_PAE:
            o->pae = 1;
            break;
        case OPT_PRESET: {
            enum mmusim_preset p;
            if (mmusim_preset_from_name(optarg, &p) != MMUSIM_OK)
                die_usage("unknown preset", optarg);
            preset = optarg;
            bench_check(mmusim_config_apply_preset(&o->cfg, p), "preset");
            break;
        }
        case OPT_SET:
            if (!strchr(optarg, '='))
                die_usage("--set wants key=value", optarg);
            sets[nsets++] = optarg;
            break;
        case OPT_ITERATIONS:
            o->iterations = parse_u64("--iterations", optarg);
            if (o->iterations == 0)
                die_usage("--iterations wants a positive integer", optarg);
            break;
        case OPT_OPS:
            o->ops = parse_u64("--ops", optarg);
            if (o->ops == 0)
                die_usage("--ops wants a positive integer", optarg);
            break;
        case OPT_CPUS: {
            uint64_t x = parse_u64("--cpus", optarg);
            if (x == 0 || x > 64)
                die_usage("--cpus wants 1 to 64", optarg);
            o->cpus = (unsigned)x;
            break;
        }
        case OPT_ERA: {
            struct mmusim_config scratch;
            mmusim_config_init(&scratch);
            set_key(&scratch, "--era", "era", optarg);
            o->era = optarg;
            break;
        }
        case OPT_SEED:
            o->seed = parse_u64("--seed", optarg);
            o->seed_given = 1;
            break;
        case OPT_CSV:
            o->csv = optarg;
            break;
        case '?':
            if (optopt && optopt < OPT_PRESET)
                die_usage("unknown option", argv[optind - 1]);
            if (optopt)
                die_usage("missing value after", argv[optind - 1]);
            die_usage("unknown or ambiguous option", argv[optind - 1]);
            break;
        case ':':
            die_usage("missing value after", argv[optind - 1]);
            break;
        default:
            if (c >= OPT_EXTRA && (size_t)(c - OPT_EXTRA) < n) {
                *extra[c - OPT_EXTRA].value = parse_u64(extra[c - OPT_EXTRA].name, optarg);
                break;
            }
            die_usage("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument", argv[optind]);
    (void)preset;
    char buf[32];
    if (o->cpus) {
        snprintf(buf, sizeof(buf), "%u", o->cpus);
        set_key(&o->cfg, "--cpus", "cpus", buf);
    }
    if (o->pae)
        set_key(&o->cfg, "--pae", "pae", "1");
    if (o->seed_given) {
        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)o->seed);
        set_key(&o->cfg, "--seed", "seed", buf);
    }
    for (size_t i = 0; i < nsets; i++)
        apply_set(&o->cfg, sets[i]);
    free(sets);
    free(longopts);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_progress(const char *what, size_t done, size_t total)
{
    static double start, last;
    static int shown, tty = -1;
    if (tty < 0)
        tty = isatty(STDERR_FILENO);
    if (!tty)
        return;
    double now = bench_now();
    if (start == 0)
        start = now;
    if (done >= total) {
        if (shown)
            fputs("\r\033[K", stderr); /* erase the line: the result follows on stdout */
        shown = 0;
        return;
    }
    /* Quiet for the first second, then at most five updates a second. */
    if (now - start < 1.0 || now - last < 0.2)
        return;
    last = now;
    shown = 1;
    fprintf(stderr, "\r\033[K%s: %s %zu/%zu", program_name(), what, done, total);
    fflush(stderr);
}

void bench_check(int rc, const char *what)
{
    if (!mmusim_is_error(rc)) /* MMUSIM_PENDING is a status: the engine completes the operation */
        return;
    fprintf(stderr, "error: %s: %s\n", what, mmusim_strerror(rc));
    exit(1);
}

void bench_json_begin(struct bench_json *j, FILE *f)
{
    j->f = f;
    j->first = 1;
    fputc('{', f);
}

static void key(struct bench_json *j, const char *k)
{
    fprintf(j->f, "%s\n  \"%s\": ", j->first ? "" : ",", k);
    j->first = 0;
}

void bench_json_str(struct bench_json *j, const char *k, const char *v)
{
    key(j, k);
    fprintf(j->f, "\"%s\"", v);
}

void bench_json_u64(struct bench_json *j, const char *k, uint64_t v)
{
    key(j, k);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void bench_json_f64(struct bench_json *j, const char *k, double v)
{
    key(j, k);
    fprintf(j->f, "%.6g", v);
}

void bench_json_end(struct bench_json *j)
{
    fputs("\n}\n", j->f);
}
