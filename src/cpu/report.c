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
    if (s->nreports < MAX_REPORTS) {
        struct mmusim_report *r = &s->reports[s->nreports];
        r->kind = kind;
        r->cpu = cpu->id;
        r->cycle = cpu->cycles;
        r->address = address;
        r->what = what;
    }
    s->nreports++;
    if (kind == MMUSIM_REPORT_BUG)
        cpu->stats.bugs++;
    else
        cpu->stats.warns++;
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
