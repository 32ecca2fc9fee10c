/* mmusim benches — shared command line, timing and output (common.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "common.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
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

/* While --merge parses a shard file's options: that file and its bench, for the messages. */
static const char *merging_file, *merging_bench;

static void die_usage(const char *msg, const char *arg)
{
    if (merging_file)
        fprintf(stderr, "%s: --merge: the options recorded in %s (a shard of %s): ", prog, merging_file, merging_bench);
    else
        fprintf(stderr, "%s: ", prog);
    fprintf(stderr, "%s%s%s (see --help)\n", msg, arg ? ": " : "", arg ? arg : "");
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
        /* A value out of its key's range: the key's own description says what it takes. */
        const char *doc = rc == MMUSIM_EVALUE ? mmusim_config_key_doc(key) : NULL;
        if (doc)
            fprintf(stderr, "%s: --set %s: %s (%s: %s)\n", prog, kv, mmusim_strerror(rc), key, doc);
        else
            fprintf(stderr, "%s: --set %s: %s\n", prog, kv, mmusim_strerror(rc));
        exit(2);
    }
}

/*
 * A decimal integer in [lo, hi], or exit 2 with one message: "PROGRAM: OPT:
 * V is out of range (LO to HI)" (overflow included), or "PROGRAM: OPT: V is
 * not a non-negative integer".
 */
static uint64_t parse_range(const char *opt, const char *v, uint64_t lo, uint64_t hi)
{
    const char *p = v;
    uint64_t x = 0;
    int over = 0;
    if (!*p)
        goto bad;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto bad;
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            over = 1;
        else
            x = x * 10 + d;
    }
    if (over || x < lo || x > hi) {
        if (merging_file)
            fprintf(stderr, "%s: --merge: the options recorded in %s: ", prog, merging_file);
        else
            fprintf(stderr, "%s: ", prog);
        fprintf(stderr, "%s: %s is out of range (%llu to %llu)\n", opt, v, (unsigned long long)lo,
                (unsigned long long)hi);
        exit(2);
    }
    return x;
bad:
    fprintf(stderr, "%s: %s: %s is not a non-negative integer (see --help)\n", prog, opt, v);
    exit(2);
}

/* ---- output errors: every bench exits 1 if stdout could not be written ---- */

static void check_stdout(void)
{
    int bad = fflush(stdout) != 0 || ferror(stdout);
    if (fclose(stdout) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "%s: error writing the output: %s\n", prog, errno ? strerror(errno) : "write error");
        _exit(1);
    }
}

void bench_close(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, errno ? strerror(errno) : "write error");
        exit(1);
    }
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

const char *bench_program(void)
{
    return prog;
}

/* ---- sweeps: --shard K/N, --merge FILE... ---- */

/* What the options keep for the whole run (o->args, its strings, the shard
 * file that --merge took them from): held here, so that it stays reachable
 * (the leak checker of the asan build), and never freed. */
static void **kept;
static size_t nkept, capkept;

static void *keep(void *p)
{
    if (!p) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    if (nkept == capkept) {
        capkept = capkept ? capkept * 2 : 16;
        void **k = realloc(kept, capkept * sizeof(*kept));
        if (!k) {
            fprintf(stderr, "%s: out of memory\n", prog);
            exit(1);
        }
        kept = k;
    }
    kept[nkept++] = p;
    return p;
}

static void record_arg(struct bench_opts *o, const char *name, const char *value)
{
    size_t len = strlen(name) + 3;
    char *a = keep(malloc(len));
    snprintf(a, len, "--%s", name);
    o->args[o->nargs++] = a;
    if (value)
        o->args[o->nargs++] = value;
}

/* A decimal in 1 .. UINT32_MAX, all of [p, end). */
static int parse_part(const char *p, const char *end, unsigned *out)
{
    uint64_t x = 0;
    if (p == end || end - p > 10)
        return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x == 0 || x > UINT32_MAX)
        return 0;
    *out = (unsigned)x;
    return 1;
}

static void parse_shard(const char *v, struct bench_opts *o)
{
    const char *slash = strchr(v, '/');
    unsigned k, n;
    if (!slash || !parse_part(v, slash, &k) || !parse_part(slash + 1, slash + strlen(slash), &n) || k > n)
        die_usage("--shard wants K/N with 1 <= K <= N (N up to 4294967295)", v);
    o->shard_k = k;
    o->shard_n = n;
}

int bench_shard_mine(const struct bench_opts *o, size_t i)
{
    return !o->shard_n || i % o->shard_n == o->shard_k - 1u;
}

void bench_shard_refuse(const struct bench_opts *o, const char *bench, const char *why)
{
    if (!o->shard_n && !o->merge_files)
        return;
    fprintf(stderr, "%s: %s does not take --shard or --merge: %s (docs/results.md, Sweeps)\n", prog, bench, why);
    exit(2);
}

/* The bytes of 0x0102030405060708 in memory: a shard's rows are raw structs,
 * read back only by a build of the same byte order and row size. */
static void byte_order(char out[17])
{
    uint64_t x = UINT64_C(0x0102030405060708);
    unsigned char b[8];
    memcpy(b, &x, 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void bench_shard_write(const struct bench_opts *o, const char *bench, const void *rows, size_t nrows, size_t size)
{
    char bo[17];
    byte_order(bo);
    printf("{\"mmusim_shard\": 1,\n \"bench\": \"%s\",\n \"shard\": \"%u/%u\",\n \"rows\": %zu,\n"
           " \"row_bytes\": %zu,\n \"byte_order\": \"%s\",\n \"args\": [",
           bench, o->shard_k, o->shard_n, nrows, size, bo);
    for (size_t i = 0; i < o->nargs; i++)
        printf("%s\"%s\"", i ? ", " : "", o->args[i]);
    printf("],\n \"data\": [");
    int first = 1;
    for (size_t i = 0; i < nrows; i++) {
        if (!bench_shard_mine(o, i))
            continue;
        const unsigned char *p = (const unsigned char *)rows + i * size;
        printf("%s\n  [%zu, \"", first ? "" : ",", i);
        for (size_t b = 0; b < size; b++)
            printf("%02x", p[b]);
        printf("\"]");
        first = 0;
    }
    printf("\n ]}\n");
}

/* One shard file, parsed. Strict: it reads what bench_shard_write writes. */
struct shard_file {
    char *text;
    char bench[64], bo[17];
    unsigned k, n;
    size_t rows, row_bytes;
    char **args; /* into text */
    size_t nargs;
    char *data;  /* the first row line */
};

static void shard_bad(const char *path, const char *what)
{
    fprintf(stderr, "%s: --merge: %s: %s\n", prog, path, what);
    exit(2);
}

static char *next_line(char **p)
{
    char *line = *p;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

static void shard_read(const char *path, struct shard_file *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: --merge: %s: %s\n", prog, path, strerror(errno));
        exit(2);
    }
    size_t cap = 1 << 16, len = 0;
    s->text = malloc(cap + 1);
    for (;;) {
        if (!s->text) {
            fprintf(stderr, "%s: out of memory\n", prog);
            exit(1);
        }
        size_t got = fread(s->text + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        cap *= 2;
        s->text = realloc(s->text, cap + 1);
    }
    if (ferror(f))
        shard_bad(path, "read error");
    fclose(f);
    s->text[len] = '\0';
    char *p = s->text, *l;
    unsigned long long rows = 0, rb = 0;
    if (!(l = next_line(&p)) || strcmp(l, "{\"mmusim_shard\": 1,") != 0)
        shard_bad(path, "not a shard file (bench --shard K/N writes them)");
    if (!(l = next_line(&p)) || sscanf(l, " \"bench\": \"%63[^\"]\",", s->bench) != 1 ||
        !(l = next_line(&p)) || sscanf(l, " \"shard\": \"%u/%u\",", &s->k, &s->n) != 2 || !(l = next_line(&p)) ||
        sscanf(l, " \"rows\": %llu,", &rows) != 1 || !(l = next_line(&p)) ||
        sscanf(l, " \"row_bytes\": %llu,", &rb) != 1 || !(l = next_line(&p)) ||
        sscanf(l, " \"byte_order\": \"%16[0-9a-f]\",", s->bo) != 1 || !(l = next_line(&p)) ||
        strncmp(l, " \"args\": [", 10) != 0)
        shard_bad(path, "malformed header");
    if (s->k == 0 || s->k > s->n)
        shard_bad(path, "malformed shard K/N");
    s->rows = (size_t)rows;
    s->row_bytes = (size_t)rb;
    /* The args: "a", "b", ... up to "],"; none contains a quote. */
    char *a = l + 10;
    s->args = calloc(strlen(a) / 2 + 1, sizeof(*s->args));
    if (!s->args) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    while (*a == '"') {
        char *q = strchr(a + 1, '"');
        if (!q)
            shard_bad(path, "malformed args");
        *q = '\0';
        s->args[s->nargs++] = a + 1;
        a = q + 1;
        if (strncmp(a, ", ", 2) == 0)
            a += 2;
    }
    if (strcmp(a, "],") != 0)
        shard_bad(path, "malformed args");
    if (!(l = next_line(&p)) || strcmp(l, " \"data\": [") != 0)
        shard_bad(path, "malformed data");
    s->data = p;
}

/* --merge: the options are the first shard file's; only --json and --csv
 * (what the merged output is) may be given with it. */
static void merge_options(int argc, char **argv, const char *usage, const struct bench_uopt *extra, size_t n,
                          struct bench_opts *o)
{
    (void)argc;
    if (o->nargs || o->shard_n)
        die_usage("--merge takes its options from the shard files: give only --json and --csv before it",
                  o->shard_n ? "--shard" : o->args[0]);
    struct shard_file s;
    shard_read(o->merge_files[0], &s);
    keep(s.text); /* o->args will point into it */
    keep(s.args);
    char **av = keep(calloc(s.nargs + 2, sizeof(*av)));
    av[0] = argv[0];
    for (size_t i = 0; i < s.nargs; i++)
        av[i + 1] = s.args[i];
    int json = o->json;
    const char *csv = o->csv;
    char **files = o->merge_files;
    size_t nfiles = o->nmerge;
    merging_file = o->merge_files[0];
    merging_bench = s.bench;
    bench_parse_ext((int)s.nargs + 1, av, usage, extra, n, o);
    merging_file = merging_bench = NULL;
    o->json = json;
    o->csv = csv;
    o->merge_files = files;
    o->nmerge = nfiles;
}

void bench_merge_read(const struct bench_opts *o, const char *bench, void *rows, size_t nrows, size_t size)
{
    char bo[17];
    byte_order(bo);
    unsigned char *have = calloc(nrows ? nrows : 1, 1);
    unsigned shards = 0;
    if (!have) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    unsigned char *seen = NULL;
    for (size_t f = 0; f < o->nmerge; f++) {
        const char *path = o->merge_files[f];
        struct shard_file s;
        shard_read(path, &s);
        if (strcmp(s.bench, bench) != 0)
            shard_bad(path, "written by another bench");
        if (strcmp(s.bo, bo) != 0 || s.row_bytes != size)
            shard_bad(path, "written by a build with another byte order or row layout");
        if (s.rows != nrows)
            shard_bad(path, "another number of rows than these options give");
        if (s.nargs != o->nargs)
            shard_bad(path, "run with other options than the first file");
        for (size_t i = 0; i < s.nargs; i++)
            if (strcmp(s.args[i], o->args[i]) != 0)
                shard_bad(path, "run with other options than the first file");
        if (!seen) {
            shards = s.n;
            seen = calloc(shards, 1);
            if (!seen) {
                fprintf(stderr, "%s: out of memory\n", prog);
                exit(1);
            }
        }
        if (s.n != shards)
            shard_bad(path, "from a sweep of another shard count than the first file");
        if (seen[s.k - 1])
            shard_bad(path, "a shard given twice");
        seen[s.k - 1] = 1;
        char *p = s.data, *l;
        int ended = 0;
        while ((l = next_line(&p))) {
            if (strcmp(l, " ]}") == 0) {
                ended = 1;
                break;
            }
            unsigned long long i;
            int off = 0;
            if (sscanf(l, " [%llu, \"%n", &i, &off) != 1 || !off)
                shard_bad(path, "malformed row");
            if (i >= nrows || i % shards != s.k - 1u)
                shard_bad(path, "a row that is not this shard's");
            if (have[i])
                shard_bad(path, "a row given twice");
            const char *h = l + off;
            unsigned char *dst = (unsigned char *)rows + i * size;
            for (size_t b = 0; b < size; b++) {
                unsigned x;
                if (sscanf(h + 2 * b, "%2x", &x) != 1)
                    shard_bad(path, "malformed row data");
                dst[b] = (unsigned char)x;
            }
            if (strncmp(h + 2 * size, "\"]", 2) != 0)
                shard_bad(path, "malformed row data");
            have[i] = 1;
        }
        if (!ended)
            shard_bad(path, "truncated (no end of data)");
        free(s.args);
        free(s.text);
    }
    for (size_t i = 0; i < nrows; i++)
        if (!have[i]) {
            fprintf(stderr, "%s: --merge: row %zu of %zu is in none of the %zu files (shard %zu of %u missing?)\n", prog,
                    i, nrows, o->nmerge, i % (shards ? shards : 1) + 1, shards);
            exit(2);
        }
    free(seen);
    free(have);
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
    OPT_SHARD,
    OPT_MERGE,
    OPT_EXTRA /* OPT_EXTRA + k: the bench's own option extra[k] */
};

static void print_help(const char *usage, const struct bench_uopt *extra, size_t n)
{
    fputs(usage, stdout);
    fputs("\nCommon options:\n"
          "  --preset NAME      cost and TLB preset: p3, core2 (default), atom, haswell\n"
          "  --set KEY=VALUE    override one configuration key (repeatable; see docs/config.md; wins over\n"
          "                     --preset, --cpus, --pae and --seed)\n"
          "  --cpus N           number of CPUs, 1 to 64 (the config key cpus)\n"
          "  --pae              PAE paging (the config key pae=1)\n"
          "  --era NAME         kernel era (2.6.18, 2.6.32, 2.6.37, 5.11) instead of the bench's choice\n"
          "  --seed N           seed of every random choice, 0 to 18446744073709551615 (the config key seed)\n"
          "  --iterations N     how many operations to time, 1 to 10000000000\n"
          "  --ops N            how many operations per scenario, 1 to 1000000000 (benches that run\n"
          "                     scenarios)\n"
          "  --json             print one JSON document instead of a table (a value that is not a finite\n"
          "                     number, such as a rate over zero time, is null)\n"
          "  --csv FILE         also write the result rows to FILE as CSV (benches that have rows)\n"
          "  --shard K/N        run only rows i with i mod N = K-1 (1 <= K <= N) and print them as a shard\n"
          "                     file for --merge (benches whose output is rows; docs/results.md, Sweeps)\n"
          "  --merge FILE...    read the shard files of one sweep (the options come from them; only --json\n"
          "                     and --csv may come before --merge) and print the whole run, as if unsharded\n"
          "  --help             this text\n",
          stdout);
    if (n)
        fputs("\nOptions of this bench:\n", stdout);
    for (size_t k = 0; k < n; k++)
        printf("  %-18s %s; %llu to %llu\n", extra[k].name, extra[k].help, (unsigned long long)extra[k].min,
               (unsigned long long)extra[k].max);
    fputs("\nNumbers are decimal; a value out of its range is refused with exit status 2. An output that\n"
          "cannot be written (stdout, --csv FILE) exits with status 1.\n",
          stdout);
}

static void set_key(struct mmusim_config *cfg, const char *opt, const char *key, const char *v)
{
    int rc = mmusim_config_set(cfg, key, v);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "%s: %s %s: %s (see --help)\n", prog, opt, v, mmusim_strerror(rc));
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
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(check_stdout);
    }
    static const struct option common[] = {
        {"preset", required_argument, NULL, OPT_PRESET}, {"set", required_argument, NULL, OPT_SET},
        {"iterations", required_argument, NULL, OPT_ITERATIONS}, {"ops", required_argument, NULL, OPT_OPS},
        {"cpus", required_argument, NULL, OPT_CPUS}, {"pae", no_argument, NULL, OPT_PAE},
        {"era", required_argument, NULL, OPT_ERA}, {"seed", required_argument, NULL, OPT_SEED},
        {"json", no_argument, NULL, OPT_JSON}, {"csv", required_argument, NULL, OPT_CSV},
        {"help", no_argument, NULL, OPT_HELP}, {"shard", required_argument, NULL, OPT_SHARD},
        {"merge", no_argument, NULL, OPT_MERGE},
    };
    const size_t ncommon = sizeof(common) / sizeof(common[0]);
    struct option *longopts = calloc(ncommon + n + 1, sizeof(*longopts));
    if (!longopts) {
        fprintf(stderr, "%s: out of memory\n", prog);
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
                fprintf(stderr, "%s: bench option --%s duplicates a common option\n", prog, name);
                exit(2);
            }
        longopts[ncommon + k] = (struct option){name, required_argument, NULL, OPT_EXTRA + (int)k};
    }
    /* --set values are applied after every other option, so a --set always
     * overrides what --preset, --cpus, --pae or --seed load, whatever the order. */
    const char **sets = keep(calloc((size_t)argc + 1, sizeof(*sets)));
    size_t nsets = 0;
    int c, li = -1;
    o->args = keep(calloc((size_t)argc * 2 + 1, sizeof(*o->args)));
    opterr = 0;
    optind = 1;
    /* "+": stop at the first non-option (reported below) and never permute argv. */
    while (!o->merge_files && (c = getopt_long(argc, argv, "+h", longopts, &li)) != -1) {
        if (c != '?' && c != ':' && c != 'h' && c != OPT_HELP && c != OPT_JSON && c != OPT_CSV && c != OPT_SHARD &&
            c != OPT_MERGE && li >= 0)
            record_arg(o, longopts[li].name, longopts[li].has_arg ? optarg : NULL);
        li = -1;
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
            o->preset_given = 1;
            bench_check(mmusim_config_apply_preset(&o->cfg, p), "preset");
            break;
        }
        case OPT_SET:
            if (!strchr(optarg, '='))
                die_usage("--set wants key=value", optarg);
            sets[nsets++] = optarg;
            if (strncmp(optarg, "preset=", 7) == 0)
                o->preset_given = 1;
            break;
        case OPT_ITERATIONS:
            o->iterations = parse_range("--iterations", optarg, 1, BENCH_MAX_ITERATIONS);
            break;
        case OPT_OPS:
            o->ops = parse_range("--ops", optarg, 1, BENCH_MAX_OPS);
            break;
        case OPT_CPUS: {
            o->cpus = (unsigned)parse_range("--cpus", optarg, 1, MMUSIM_MAX_CPUS);
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
            o->seed = parse_range("--seed", optarg, 0, UINT64_MAX);
            o->seed_given = 1;
            break;
        case OPT_CSV:
            o->csv = optarg;
            break;
        case OPT_SHARD:
            parse_shard(optarg, o);
            break;
        case OPT_MERGE:
            /* The rest of argv is the shard files. */
            if (optind >= argc)
                die_usage("--merge wants one or more shard files", NULL);
            o->merge_files = argv + optind;
            o->nmerge = (size_t)(argc - optind);
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
                {
                    const struct bench_uopt *u = &extra[c - OPT_EXTRA];
                    *u->value = parse_range(u->name, optarg, u->min, u->max);
                }
                break;
            }
            die_usage("unknown option", argv[optind - 1]);
        }
    }
    if (!o->merge_files && optind < argc)
        die_usage("unexpected argument", argv[optind]);
    if (o->merge_files) {
        free(sets);
        free(longopts);
        merge_options(argc, argv, usage, extra, n, o);
        return;
    }
    if (o->shard_n) {
        if (o->csv)
            die_usage("--csv is written by the --merge run, not by a shard", o->csv);
        for (size_t i = 0; i < o->nargs; i++)
            for (const char *p = o->args[i]; *p; p++)
                if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
                    die_usage("--shard: an option has a character a shard file cannot record", o->args[i]);
    }
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
    o->sets = sets;
    o->nsets = nsets;
    free(longopts);
}

struct mmusim_config bench_config_for_preset(const struct bench_opts *o, enum mmusim_preset p)
{
    struct mmusim_config cfg;
    mmusim_config_init(&cfg);
    bench_check(mmusim_config_apply_preset(&cfg, p), "preset");
    if (o->pae)
        set_key(&cfg, "--pae", "pae", "1");
    if (o->seed_given)
        cfg.seed = o->seed;
    if (o->era)
        set_key(&cfg, "--era", "era", o->era);
    for (size_t i = 0; i < o->nsets; i++)
        if (strncmp(o->sets[i], "preset=", 7) != 0) /* the preset is p here */
            apply_set(&cfg, o->sets[i]);
    return cfg;
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
    fprintf(stderr, "%s: %s: %s\n", prog, what, mmusim_strerror(rc));
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

const char *bench_jnum(double v, int decimals)
{
    static char bufs[32][48];
    static unsigned next;
    char *b = bufs[next++ % 32];
    if (!isfinite(v))
        return "null";
    if (decimals < 0)
        snprintf(b, sizeof(bufs[0]), "%.6g", v);
    else
        snprintf(b, sizeof(bufs[0]), "%.*f", decimals, v);
    return b;
}

void bench_json_f64(struct bench_json *j, const char *k, double v)
{
    key(j, k);
    fputs(bench_jnum(v, -1), j->f);
}

void bench_json_begin_bench(struct bench_json *j, FILE *f, const struct bench_opts *o, const char *bench)
{
    bench_json_begin(j, f);
    bench_json_str(j, "bench", bench);
    bench_json_str(j, "version", mmusim_version_string());
    bench_json_str(j, "preset", mmusim_preset_name(o->cfg.preset));
    bench_json_u64(j, "seed", o->cfg.seed);
    key(j, "options");
    fputc('[', f);
    for (size_t i = 0; i < o->nargs; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", o->args[i]); /* bench_json_str's rule: no escaping */
    fputc(']', f);
}

void bench_json_header(FILE *f, const struct bench_opts *o, const char *bench)
{
    struct bench_json j;
    bench_json_begin_bench(&j, f, o, bench);
    fputs(",\n", f);
}

void bench_json_end(struct bench_json *j)
{
    fputs("\n}\n", j->f);
}
