/*
 * mmusim — hooks and extension areas for the layers above the cpu layer
 * (src/cpu/hooks.h), and the engine's calls that fire the hooks.
 *
 * A task is one allocation: the engine's struct, then the extension area at
 * TASK_EXT_BASE, so mmusim__task_ext is an addition. Each CPU has its own
 * extension block, grown while registration is open.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_impl.h"
#include "cpu/hooks.h"
#include "internal.h"
#include "mmusim/error.h"

#include "cpu/hot.h"

#define EXT_ALIGN MMUSIM__EXT_ALIGN
#define ROUND_UP(x) (((x) + EXT_ALIGN - 1) & ~(size_t)(EXT_ALIGN - 1))
#define TASK_EXT_BASE MMUSIM__TASK_EXT_BASE

static int open_for_registration(const struct cpu_sys *s)
{
    return !s->smp->sealed;
}

int mmusim__hooks_register(struct cpu_sys *s, const struct mmusim__hooks *h)
{
    if (!s || !h)
        return MMUSIM_EINVAL;
    if (!open_for_registration(s))
        return MMUSIM_ECLOSED;
    struct machine_smp *m = s->smp;
    if (m->nhooks == MMUSIM__MAX_HOOKS)
        return MMUSIM_EFULL;
    m->hooks[m->nhooks++] = *h;
    return MMUSIM_OK;
}

/* A new area of size bytes after `*used` bytes; its offset in *off. */
static int reserve(size_t *used, size_t size, size_t *off)
{
    size_t at = ROUND_UP(*used);
    if (at < *used || size > SIZE_MAX - at)
        return MMUSIM_ENOMEM;
    *off = at;
    *used = at + size;
    return MMUSIM_OK;
}

int mmusim__task_ext_reserve(struct cpu_sys *s, size_t size, size_t *off)
{
    if (!s || !off || size == 0)
        return MMUSIM_EINVAL;
    if (!open_for_registration(s))
        return MMUSIM_ECLOSED;
    size_t used = s->smp->task_ext_size, at;
    int rc = reserve(&used, size, &at);
    if (rc == MMUSIM_OK && used > SIZE_MAX - TASK_EXT_BASE)
        rc = MMUSIM_ENOMEM;
    if (rc != MMUSIM_OK)
        return rc;
    s->smp->task_ext_size = used;
    *off = at;
    return MMUSIM_OK;
}

int mmusim__cpu_ext_reserve(struct cpu_sys *s, size_t size, size_t *off)
{
    if (!s || !off || size == 0)
        return MMUSIM_EINVAL;
    if (!open_for_registration(s))
        return MMUSIM_ECLOSED;
    size_t used = s->smp->cpu_ext_size, at;
    int rc = reserve(&used, size, &at);
    if (rc != MMUSIM_OK)
        return rc;
    for (unsigned i = 0; i < s->ncpus; i++) { /* each block grows, the new part zeroed */
        struct mmusim_cpu *c = &s->cpus[i];
        unsigned char *p = mmusim__realloc(c->ext, used);
        if (!p)
            return MMUSIM_ENOMEM; /* blocks grown so far only have room to spare */
        memset(p + s->smp->cpu_ext_size, 0, used - s->smp->cpu_ext_size);
        c->ext = p;
    }
    s->smp->cpu_ext_size = used;
    *off = at;
    return MMUSIM_OK;
}

void *mmusim__task_ext(mmusim_task *t, size_t off)
{
    return mmusim__task_ext_hot(t, off);
}

/* ---- for the engine (smp_impl.h) ---- */

size_t mmusim__smp_task_alloc_size(const struct cpu_sys *m)
{
    return TASK_EXT_BASE + m->smp->task_ext_size;
}

/* Set-up hooks run in registration order, tear-down hooks in reverse (hooks.h). */
void mmusim__smp_fire_switch_out(struct mmusim_cpu *cpu, struct mmusim_task *prev)
{
    const struct machine_smp *s = cpu->sys->smp;
    for (unsigned i = s->nhooks; i-- > 0;)
        if (s->hooks[i].switch_out)
            s->hooks[i].switch_out(s->hooks[i].ctx, cpu, prev);
}

void mmusim__smp_fire_switch_in(struct mmusim_cpu *cpu, struct mmusim_task *next)
{
    const struct machine_smp *s = cpu->sys->smp;
    for (unsigned i = 0; i < s->nhooks; i++)
        if (s->hooks[i].switch_in)
            s->hooks[i].switch_in(s->hooks[i].ctx, cpu, next);
}

void mmusim__smp_fire_handler_end(struct mmusim_cpu *cpu, enum mmusim_context kind)
{
    const struct machine_smp *s = cpu->sys->smp;
    for (unsigned i = s->nhooks; i-- > 0;)
        if (s->hooks[i].handler_end)
            s->hooks[i].handler_end(s->hooks[i].ctx, cpu, kind);
}

void mmusim__smp_fire_task_end(struct mmusim_cpu *cpu, struct mmusim_task *t)
{
    const struct machine_smp *s = cpu->sys->smp;
    for (unsigned i = s->nhooks; i-- > 0;)
        if (s->hooks[i].task_end)
            s->hooks[i].task_end(s->hooks[i].ctx, cpu, t);
}

void mmusim__smp_fire_fork(struct cpu_sys *m, struct mmusim_task *child)
{
    const struct machine_smp *s = m->smp;
    struct mmusim_cpu *cpu = s->stepping;
    struct mmusim_task *parent = cpu ? cpu->smp.current : NULL;
    for (unsigned i = 0; i < s->nhooks; i++)
        if (s->hooks[i].fork)
            s->hooks[i].fork(s->hooks[i].ctx, cpu, parent, child);
}
