/*
 * The benches' JSON writer (bench/common.c): a double that is not finite
 * is written as null, never nan or inf, and every document starts with the
 * common header (bench, version, preset, seed, options).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common.h"

/* The document the writer calls produce, read back from a temporary file. */
static void read_back(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
}

static void test_nonfinite_is_null(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    struct bench_json j;
    bench_json_begin(&j, f);
    bench_json_f64(&j, "nan", NAN);
    bench_json_f64(&j, "inf", INFINITY);
    bench_json_f64(&j, "minus_inf", -INFINITY);
    bench_json_f64(&j, "half", 0.5);
    bench_json_end(&j);
    char buf[512];
    read_back(f, buf, sizeof(buf));
    assert_string_equal(buf, "{\n  \"nan\": null,\n  \"inf\": null,\n  \"minus_inf\": null,\n  \"half\": 0.5\n}\n");

    assert_string_equal(bench_jnum(NAN, -1), "null");
    assert_string_equal(bench_jnum(INFINITY, 1), "null");
    assert_string_equal(bench_jnum(2.25, 1), "2.2");
    assert_string_equal(bench_jnum(1e20, -1), "1e+20");
}

static void test_header(void **state)
{
    (void)state;
    struct bench_opts o;
    char prog[] = "/some/dir/example_bench", a1[] = "--ops", a2[] = "7", a3[] = "--seed", a4[] = "5";
    char *argv[] = {prog, a1, a2, a3, a4, NULL};
    bench_parse(5, argv, "usage\n", &o);
    assert_string_equal(bench_program(), "example_bench");
    FILE *f = tmpfile();
    assert_non_null(f);
    bench_json_header(f, &o, "example_bench");
    fputs("  \"x\": 1\n}\n", f);
    char buf[512], want[512];
    read_back(f, buf, sizeof(buf));
    snprintf(want, sizeof(want),
             "{\n  \"bench\": \"example_bench\",\n  \"version\": \"%s\",\n  \"preset\": \"core2\",\n  \"seed\": 5,\n"
             "  \"options\": [\"--ops\", \"7\", \"--seed\", \"5\"],\n  \"x\": 1\n}\n",
             mmusim_version_string());
    assert_string_equal(buf, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nonfinite_is_null),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
