/*
 * mmusim — reports (include/mmusim/smp.h): kernel-style BUG and WARN
 * conditions, recorded with CPU and cycle, never fatal.
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
