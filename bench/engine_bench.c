/*
 * engine_bench — host time the SMP engine adds per scheduled operation.
 *
 * A machine of 4 CPUs runs one kernel thread per CPU whose step is a trivial
 * operation (mmusim_cpu_spend of 10 cycles); mmusim_machine_run calls the
 * steps, always on the CPU with the earliest clock. A reference loop calls
 * the same step function, through a function pointer, the same number of
 * times with no engine. The difference per step is the engine's overhead
 * (the project's target: at most 30 ns). The same with 64 CPUs, since the
 * engine scans every CPU to pick the next.
 *
 * Then the run queue's scaling: N one-step tasks created on one CPU and run
 * to the end, for N = 10,000 and 100,000. Host time per task must stay
 * about flat (a run queue walked at every pick made 80,000 tasks take 9 s).
 */
#include <stdlib.h>

#include "common.h"

static const char usage[] =
    "usage: engine_bench [options]\n"
    "Times mmusim_machine_run scheduling trivial steps (one kernel thread per\n"
    "CPU spending 10 cycles a step) on 4 and 64 CPUs, against a loop calling\n"
    "the same step directly; --iterations is the total number of steps\n"
    "(default 20000000). The bench sets cpus itself.\n";

#define REPEATS 3 /* each timing is the best of this many runs */

struct counter {
    uint64_t left;
};

static enum mmusim_step spend_step(mmusim_cpu *cpu, void *arg)
{
    struct counter *c = arg;
    mmusim_cpu_spend(cpu, 10);
    return --c->left ? MMUSIM_STEP_MORE : MMUSIM_STEP_DONE;
}

/* A machine of the configuration with `cpus` CPUs. */
static mmusim_machine *make_machine(struct mmusim_config cfg, unsigned cpus)
{
    char buf[16];
    mmusim_machine *m;
    snprintf(buf, sizeof(buf), "%u", cpus);
    bench_check(mmusim_config_set(&cfg, "cpus", buf), "cpus");
    bench_check(mmusim_machine_create(&cfg, &m), "machine_create");
    return m;
}

/* One task per CPU, `steps` steps in all; returns the host seconds of mmusim_machine_run. */
static double time_engine(struct mmusim_config cfg, unsigned cpus, uint64_t steps)
{
    mmusim_machine *m = make_machine(cfg, cpus);
    struct counter *c = calloc(cpus, sizeof(*c));
    if (!c)
        bench_check(MMUSIM_ENOMEM, "calloc");
    for (unsigned i = 0; i < cpus; i++) {
        mmusim_task *t;
        c[i].left = steps / cpus + (i < steps % cpus ? 1 : 0);
        if (c[i].left)
            bench_check(mmusim_task_create(m, i, 0, spend_step, &c[i], &t), "task_create");
    }
    struct mmusim_run_result r;
    double t0 = bench_now();
    bench_check(mmusim_machine_run(m, 0, &r), "machine_run");
    double t = bench_now() - t0;
    if (!r.finished || r.steps != steps || mmusim_machine_reports(m, NULL, 0)) {
        fprintf(stderr, "%s: %u CPUs: finished %d, %llu steps of %llu, %llu reports\n", bench_program(), cpus, r.finished,
                (unsigned long long)r.steps, (unsigned long long)steps,
                (unsigned long long)mmusim_machine_reports(m, NULL, 0));
        exit(1);
    }
    free(c);
    mmusim_machine_destroy(m);
    return t;
}

/* The same steps called directly, round-robin over the CPUs, through a volatile pointer as the engine calls them. */
static double time_reference(struct mmusim_config cfg, unsigned cpus, uint64_t steps)
{
    mmusim_machine *m = make_machine(cfg, cpus);
    mmusim_cpu *cpu[64];
    struct counter c[64];
    for (unsigned i = 0; i < cpus; i++) {
        cpu[i] = mmusim_machine_cpu(m, i);
        c[i].left = UINT64_MAX;
    }
    mmusim_step_fn volatile fn = spend_step;
    uint64_t more = 0;
    unsigned i = 0;
    double t0 = bench_now();
    for (uint64_t n = 0; n < steps; n++) {
        more += fn(cpu[i], &c[i]) == MMUSIM_STEP_MORE;
        if (++i == cpus)
            i = 0;
    }
    double t = bench_now() - t0;
    if (more != steps) /* keeps the results alive */
        puts("");
    mmusim_machine_destroy(m);
    return t;
}

static enum mmusim_step one_step(mmusim_cpu *cpu, void *arg)
{
    (void)arg;
    mmusim_cpu_spend(cpu, 10);
    return MMUSIM_STEP_DONE;
}

/* Host nanoseconds per task to create n one-step tasks on CPU 0 and run them all (best of REPEATS). */
static double time_tasks(struct mmusim_config cfg, unsigned n)
{
    double best = 1e300;
    for (int k = 0; k < REPEATS; k++) {
        mmusim_machine *m = make_machine(cfg, 1);
        struct mmusim_run_result r;
        double t0 = bench_now();
        for (unsigned i = 0; i < n; i++) {
            mmusim_task *t;
            bench_check(mmusim_task_create(m, 0, 0, one_step, NULL, &t), "task_create");
        }
        bench_check(mmusim_machine_run(m, 0, &r), "machine_run");
        double t = bench_now() - t0;
        if (!r.finished || r.steps != n) {
            fprintf(stderr, "%s: %u tasks: finished %d, %llu steps\n", bench_program(), n, r.finished, (unsigned long long)r.steps);
            exit(1);
        }
        mmusim_machine_destroy(m);
        if (t < best)
            best = t;
    }
    return best * 1e9 / n;
}

struct result {
    double engine_s, reference_s;
    double engine_ns_per_op, reference_ns_per_op, steps_per_second;
};

static struct result measure(struct mmusim_config cfg, unsigned cpus, uint64_t steps)
{
    struct result r = {1e300, 1e300, 0, 0, 0};
    for (int k = 0; k < REPEATS; k++) {
        double e = time_engine(cfg, cpus, steps), f = time_reference(cfg, cpus, steps);
        if (e < r.engine_s)
            r.engine_s = e;
        if (f < r.reference_s)
            r.reference_s = f;
    }
    r.engine_ns_per_op = (r.engine_s - r.reference_s) * 1e9 / (double)steps;
    r.reference_ns_per_op = r.reference_s * 1e9 / (double)steps;
    r.steps_per_second = (double)steps / r.engine_s;
    return r;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    bench_parse(argc, argv, usage, &o);
    bench_shard_refuse(&o, "engine_bench",
                       "its figures are host times compared with each other (engine vs direct call), "
                       "not a set of independent rows");
    uint64_t steps = o.iterations ? o.iterations : 20000000;

    struct result r4 = measure(o.cfg, 4, steps);
    struct result r64 = measure(o.cfg, 64, steps);

    double task10k = time_tasks(o.cfg, 10000), task100k = time_tasks(o.cfg, 100000);
    double ratio = task100k / task10k;

    const char *preset = mmusim_preset_name(o.cfg.preset);
    if (o.json) {
        struct bench_json j;
        bench_json_begin_bench(&j, stdout, &o, "engine_bench");
        bench_json_u64(&j, "iterations", steps);
        bench_json_f64(&j, "engine_ns_per_op", r4.engine_ns_per_op);
        bench_json_f64(&j, "steps_per_second", r4.steps_per_second);
        bench_json_f64(&j, "reference_ns_per_op", r4.reference_ns_per_op);
        bench_json_f64(&j, "engine_ns_per_op_64cpus", r64.engine_ns_per_op);
        bench_json_f64(&j, "steps_per_second_64cpus", r64.steps_per_second);
        bench_json_f64(&j, "reference_ns_per_op_64cpus", r64.reference_ns_per_op);
        bench_json_u64(&j, "target_ns_per_op", 30);
        bench_json_f64(&j, "task_ns_10000_tasks", task10k);
        bench_json_f64(&j, "task_ns_100000_tasks", task100k);
        bench_json_f64(&j, "task_ns_ratio", ratio);
        bench_json_end(&j);
    } else {
        printf("engine_bench  preset %s, %llu steps of mmusim_cpu_spend(cpu, 10), best of %d\n\n", preset,
               (unsigned long long)steps, REPEATS);
        printf("%-6s %16s %16s %18s %20s\n", "cpus", "steps/s (host)", "engine ns/step", "reference ns/step",
               "engine overhead ns");
        printf("%-6u %16.3e %16.2f %18.2f %20.2f\n", 4u, r4.steps_per_second, r4.engine_s * 1e9 / (double)steps,
               r4.reference_ns_per_op, r4.engine_ns_per_op);
        printf("%-6u %16.3e %16.2f %18.2f %20.2f\n", 64u, r64.steps_per_second, r64.engine_s * 1e9 / (double)steps,
               r64.reference_ns_per_op, r64.engine_ns_per_op);
        printf("\ntarget: at most 30 ns per scheduled operation: 4 CPUs %s, 64 CPUs %s\n",
               r4.engine_ns_per_op <= 30 ? "met" : "NOT met", r64.engine_ns_per_op <= 30 ? "met" : "NOT met");
        printf("\none-step tasks on one CPU, created then run (host ns per task): 10,000 tasks %.1f, "
               "100,000 tasks %.1f; ratio %.2f (%s)\n",
               task10k, task100k, ratio, ratio < 2.0 ? "linear" : "NOT linear: a pick walks the queue");
    }
    return 0;
}
