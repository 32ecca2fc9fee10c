/* mmusim benches — shared command line, timing and output (common.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const struct bench_uopt *find_uopt(const struct bench_uopt *extra, size_t n, const char *a)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(extra[k].name, a) == 0)
            return &extra[k];
    return NULL;
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

void bench_parse_ext(int argc, char **argv, const char *usage, const struct bench_uopt *extra, size_t n,
                     struct bench_opts *o)
{
    memset(o, 0, sizeof(*o));
    mmusim_config_init(&o->cfg);
    /* --preset is applied as it is met and every --set after the loop, so a
     * --set always overrides what a preset loads, whatever the order. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct bench_uopt *u;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            fputs("\nCommon options:\n"
                  "  --preset NAME      cost and TLB preset: p3, core2 (default), atom, haswell\n"
                  "  --set KEY=VALUE    override one configuration key (repeatable; see docs/config.md)\n"
                  "  --iterations N     how many operations to time\n"
                  "  --json             print one JSON document instead of a table\n"
                  "  --help             this text\n",
                  stdout);
            if (n)
                fputs("\nOptions of this bench:\n", stdout);
            for (size_t k = 0; k < n; k++)
                printf("  %-18s %s\n", extra[k].name, extra[k].help);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = 1;
        } else if (strcmp(a, "--preset") == 0 || strcmp(a, "--set") == 0 || strcmp(a, "--iterations") == 0) {
            if (i + 1 >= argc)
                die_usage("missing value after", a);
            const char *v = argv[++i];
            if (strcmp(a, "--set") == 0)
                continue; /* applied after the preset, below */
            if (strcmp(a, "--iterations") == 0) {
                char *end;
                o->iterations = strtoull(v, &end, 10);
                if (*end || o->iterations == 0 || v[0] == '-')
                    die_usage("--iterations wants a positive integer", v);
                continue;
            }
            enum mmusim_preset p;
            if (mmusim_preset_from_name(v, &p) != MMUSIM_OK)
                die_usage("unknown preset", v);
            bench_check(mmusim_config_apply_preset(&o->cfg, p), "preset");
        } else if ((u = find_uopt(extra, n, a)) != NULL) {
            if (i + 1 >= argc)
                die_usage("missing value after", a);
            *u->value = parse_u64(a, argv[++i]);
        } else {
            die_usage("unknown option", a);
        }
    }
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--set") == 0)
            apply_set(&o->cfg, argv[++i]);
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
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
