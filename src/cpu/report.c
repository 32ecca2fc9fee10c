/*
 * mmusim — reports (include/mmusim/smp.h): kernel-style BUG and WARN
 * conditions, recorded with CPU, cycle and address, never fatal; the
 * library's own checks and those of the layers above and of users
 * (mmusim_report_bug, mmusim_report_warn) all come through
 * mmusim__smp_report.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "mmusim/error.h"

void mmusim__smp_report(struct mmusim_cpu *cpu, enum mmusim_report_kind kind, const char *what, uint64_t address)
{
    struct machine_smp *s = cpu->sys->smp;
    struct mmusim_report rec;
    rec.kind = kind;
    rec.cpu = cpu->id;
    rec.cycle = cpu->cycles;
    rec.address = address;
    rec.what = what;
    uint64_t index = s->nreports++;
    const struct mmusim_report *r = &rec;
    if (index < MAX_REPORTS) {
        s->reports[index] = rec;
        r = &s->reports[index];
    }
    if (kind == MMUSIM_REPORT_BUG)
        cpu->stats.bugs++;
    else
        cpu->stats.warns++;
    /* The engine looks at stop after each step (engine.c); outside a run, a BUG only records. */
    if (kind == MMUSIM_REPORT_BUG && s->policy == MMUSIM_REPORT_STOP_ON_BUG && s->running && !(s->stop & 1)) {
        s->stop |= 1;
        s->stop_index = index;
    }
    if (s->report_fn && !s->in_report_fn) {
        s->in_report_fn = 1;
        s->report_fn(s->report_ctx, r);
        s->in_report_fn = 0;
    }
}

void mmusim_report_bug(mmusim_cpu *cpu, const char *what, uint64_t address)
{
    if (cpu && what)
        mmusim__smp_report(cpu, MMUSIM_REPORT_BUG, what, address);
}

void mmusim_report_warn(mmusim_cpu *cpu, const char *what, uint64_t address)
{
    if (cpu && what)
        mmusim__smp_report(cpu, MMUSIM_REPORT_WARN, what, address);
}

uint64_t mmusim__machine_reports(const struct cpu_sys *m, struct mmusim_report *buf, size_t max)
{
    if (!m || !m->smp)
        return 0;
    const struct machine_smp *s = m->smp;
    size_t kept = s->nreports < MAX_REPORTS ? (size_t)s->nreports : MAX_REPORTS;
    for (size_t i = 0; buf && i < kept && i < max; i++)
        buf[i] = s->reports[i];
    return s->nreports;
}

void mmusim__machine_reports_reset(struct cpu_sys *m)
{
    if (m && m->smp)
        m->smp->nreports = 0;
}

void mmusim__machine_set_report_policy(struct cpu_sys *m, enum mmusim_report_policy policy)
{
    if (m && m->smp && (policy == MMUSIM_REPORT_CONTINUE || policy == MMUSIM_REPORT_STOP_ON_BUG))
        m->smp->policy = policy;
}

void mmusim__machine_set_report_callback(struct cpu_sys *m, mmusim_report_fn fn, void *ctx)
{
    if (m && m->smp) {
        m->smp->report_fn = fn;
        m->smp->report_ctx = fn ? ctx : NULL;
    }
}
