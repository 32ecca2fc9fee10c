/*
 * NULL handles and out-of-range values (issue 14 item 2): every public
 * function (MMUSIM_API in include/mmusim/ headers) is called here with NULL for
 * each pointer or handle argument, and with each class of out-of-range value
 * (a CPU index >= ncpus, an enum past its _COUNT_, an address or pfn beyond
 * RAM). A status function returns MMUSIM_EINVAL for NULL, a getter its
 * documented value (0 or NULL), a void function does nothing; none crashes.
 * The CTest api_null_complete (tests/api_null_complete.cmake) fails if a
 * function declared with MMUSIM_API is not called in this file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim.h"

#define HUGE_PA (1ull << 40)   /* beyond any RAM (PAE addresses 36 bits) */
#define HUGE_PFN (1ull << 40)  /* beyond any RAM */
#define BAD_ENUM(T) ((enum T)1000)

struct fx {
    mmusim_machine *m;
    mmusim_cpu *c0;
    unsigned ncpus;
    mmusim_kmap_layer *k;
    mmusim_spinlock *lock;
    mmusim_wait_queue *wq;
    mmusim_task *task;
    struct mmusim_config cfg;
};

static enum mmusim_step step_done(mmusim_cpu *cpu, void *arg)
{
    (void)cpu;
    (void)arg;
    return MMUSIM_STEP_DONE;
}

static int setup(void **state)
{
    static struct fx f;
    struct mmusim_kmap_opts opts;
    memset(&f, 0, sizeof f);
    mmusim_config_init(&f.cfg);
    if (mmusim_machine_create(&f.cfg, &f.m) != MMUSIM_OK)
        return -1;
    f.c0 = mmusim_machine_cpu(f.m, 0);
    f.ncpus = mmusim_machine_ncpus(f.m);
    mmusim_kmap_opts_init(&opts, MMUSIM_KMAP_SLOT_2_6_19);
    if (mmusim_kmap_create(f.m, &opts, &f.k) != MMUSIM_OK)
        return -1;
    if (mmusim_spinlock_create(f.m, &f.lock) != MMUSIM_OK)
        return -1;
    if (mmusim_wait_queue_create(f.m, &f.wq) != MMUSIM_OK)
        return -1;
    if (mmusim_task_create(f.m, 0, mmusim_kernel_cr3(f.m), step_done, NULL, &f.task) != MMUSIM_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mmusim_machine_destroy(f->m);
    return 0;
}

#define EINVAL_ MMUSIM_EINVAL

/* ---- version.h, error.h: no handles; codes out of range ---- */
static void test_version_error(void **state)
{
    (void)state;
    assert_true(mmusim_version_number() > 0);
    assert_non_null(mmusim_version_string());
    assert_non_null(mmusim_strerror(-1));
    assert_non_null(mmusim_strerror(MMUSIM_ERR_COUNT_));
    assert_non_null(mmusim_strerror(1 << 30));
    assert_string_equal(mmusim_err_name(-1), "UNKNOWN");
    assert_string_equal(mmusim_err_name(MMUSIM_ERR_COUNT_), "UNKNOWN");
}

/* ---- costs.h ---- */
static void test_costs(void **state)
{
    struct mmusim_costs c;
    enum mmusim_preset p;
    (void)state;
    assert_null(mmusim_preset_name(MMUSIM_PRESET_COUNT_));
    assert_null(mmusim_preset_name(BAD_ENUM(mmusim_preset)));
    assert_int_equal(mmusim_preset_from_name(NULL, &p), EINVAL_);
    assert_int_equal(mmusim_preset_from_name("p3", NULL), EINVAL_);
    assert_int_equal(mmusim_preset_from_name("no-such", &p), MMUSIM_EPRESET);
    assert_int_equal(mmusim_costs_preset(MMUSIM_PRESET_P3, NULL), EINVAL_);
    assert_int_equal(mmusim_costs_preset(MMUSIM_PRESET_COUNT_, &c), MMUSIM_EPRESET);
    assert_true(mmusim_cycles_to_ns(NULL, 100) == 0.0);
}

/* ---- config.h ---- */
static void test_config(void **state)
{
    struct fx *f = *state;
    struct mmusim_config cfg = f->cfg;
    char buf[64];
    const char *name, *doc;
    uint64_t u;
    enum mmusim_split s;
    enum mmusim_era e;

    mmusim_config_init(NULL); /* documented no-op */
    assert_int_equal(mmusim_config_apply_preset(NULL, MMUSIM_PRESET_P3), EINVAL_);
    assert_int_equal(mmusim_config_apply_preset(&cfg, MMUSIM_PRESET_COUNT_), MMUSIM_EPRESET);
    assert_int_equal(mmusim_config_apply_preset(&cfg, BAD_ENUM(mmusim_preset)), MMUSIM_EPRESET);
    assert_memory_equal(&cfg, &f->cfg, sizeof cfg); /* left intact */
    assert_int_equal(mmusim_config_validate(NULL), EINVAL_);
    assert_int_equal(mmusim_config_hz(NULL), 0);
    assert_int_equal(mmusim_config_preempt(NULL), MMUSIM_PREEMPT_AUTO);
    assert_int_equal(mmusim_config_flush_ceiling(NULL), 0);
    assert_int_equal(mmusim_config_set(NULL, "cpus", "2"), EINVAL_);
    assert_int_equal(mmusim_config_set(&cfg, NULL, "2"), EINVAL_);
    assert_int_equal(mmusim_config_set(&cfg, "cpus", NULL), EINVAL_);
    assert_int_equal(mmusim_config_get(NULL, "cpus", buf, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_config_get(&cfg, NULL, buf, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_config_get(&cfg, "cpus", NULL, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_config_get(&cfg, "cpus", buf, 0), EINVAL_);
    assert_true(mmusim_config_key_count() > 0);
    assert_int_equal(mmusim_config_key(mmusim_config_key_count(), &name, &doc), EINVAL_);
    assert_int_equal(mmusim_config_key((size_t)-1, &name, &doc), EINVAL_);
    assert_int_equal(mmusim_config_key(0, NULL, NULL), MMUSIM_OK); /* either may be NULL */
    assert_null(mmusim_config_key_doc(NULL));
    assert_null(mmusim_config_key_doc("no_such_key"));
    assert_non_null(mmusim_config_key_doc("cpus"));
    assert_int_equal(mmusim_parse_size(NULL, &u), EINVAL_);
    assert_int_equal(mmusim_parse_size("4K", NULL), EINVAL_);
    assert_null(mmusim_paging_name(BAD_ENUM(mmusim_paging)));
    assert_null(mmusim_split_name(BAD_ENUM(mmusim_split)));
    assert_null(mmusim_era_name(MMUSIM_ERA_COUNT_));
    assert_null(mmusim_preempt_name(BAD_ENUM(mmusim_preempt)));
    assert_int_equal(mmusim_split_from_name(NULL, &s), EINVAL_);
    assert_int_equal(mmusim_split_from_name("3G", NULL), EINVAL_);
    assert_int_equal(mmusim_era_from_name(NULL, &e), EINVAL_);
    assert_int_equal(mmusim_era_from_name("2.6.18", NULL), EINVAL_);
}

/* ---- layout.h ---- */
static void test_layout(void **state)
{
    struct fx *f = *state;
    struct mmusim_layout l;
    struct mmusim_preempt_bits pb;
    const struct mmusim_layout *ml = mmusim_machine_layout(f->m);

    assert_int_equal(mmusim_layout_compute(NULL, &l), EINVAL_);
    assert_int_equal(mmusim_layout_compute(&f->cfg, NULL), EINVAL_);
    assert_int_equal(mmusim_fix_to_virt(NULL, 0), 0);
    assert_int_equal(mmusim_virt_to_fix(NULL, 0), 0);
    assert_int_equal(mmusim_layout_va(NULL, 0), 0);
    assert_int_equal(mmusim_layout_pa(NULL, 0), 0);
    assert_int_equal(mmusim_pkmap_addr(NULL, 0), 0);
    assert_int_equal(mmusim_pkmap_nr(NULL, 0), 0);
    assert_int_equal(mmusim_kmap_idx(NULL, 0, 0), 0);
    assert_int_equal(mmusim_kmap_slot_vaddr(NULL, 0), 0);
    assert_int_equal(mmusim_preempt_bits_of(MMUSIM_ERA_COUNT_, &pb), MMUSIM_EERA);
    assert_int_equal(mmusim_preempt_bits_of(BAD_ENUM(mmusim_era), &pb), MMUSIM_EERA);
    assert_int_equal(mmusim_preempt_bits_of((enum mmusim_era)0, NULL), EINVAL_);
    assert_null(mmusim_kmap_form_name(BAD_ENUM(mmusim_kmap_form)));
    assert_int_equal(mmusim_layout_zone_of(NULL, 0), MMUSIM_ZONE_COUNT_);
    assert_int_equal(mmusim_layout_zone_of(ml, HUGE_PFN), MMUSIM_ZONE_COUNT_);
    assert_string_equal(mmusim_zone_name(MMUSIM_ZONE_COUNT_), "unknown");
    assert_string_equal(mmusim_zone_name(BAD_ENUM(mmusim_zone)), "unknown");
}

/* ---- machine.h ---- */
static void test_machine(void **state)
{
    struct fx *f = *state;
    mmusim_machine *m = (mmusim_machine *)0x1; /* must be overwritten or left */
    uint8_t buf[8];
    uint32_t v;
    uint64_t pfn;

    assert_int_equal(mmusim_machine_create(NULL, &m), EINVAL_);
    assert_int_equal(mmusim_machine_create(&f->cfg, NULL), EINVAL_);
    mmusim_machine_destroy(NULL); /* documented no-op */
    assert_null(mmusim_machine_config(NULL));
    assert_null(mmusim_machine_layout(NULL));
    assert_int_equal(mmusim_machine_ncpus(NULL), 0);
    assert_null(mmusim_machine_cpu(NULL, 0));
    assert_null(mmusim_machine_cpu(f->m, f->ncpus));
    assert_null(mmusim_machine_cpu(f->m, ~0u));
    assert_int_equal(mmusim_phys_read(NULL, 0, buf, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_phys_read(f->m, 0, NULL, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_phys_read(f->m, HUGE_PA, buf, sizeof buf), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read(f->m, UINT64_MAX - 2, buf, sizeof buf), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write(NULL, 0, buf, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_phys_write(f->m, 0, NULL, sizeof buf), EINVAL_);
    assert_int_equal(mmusim_phys_write(f->m, HUGE_PA, buf, sizeof buf), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write(f->m, UINT64_MAX - 2, buf, sizeof buf), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read32(NULL, 0, &v), EINVAL_);
    assert_int_equal(mmusim_phys_read32(f->m, 0, NULL), EINVAL_);
    assert_int_equal(mmusim_phys_read32(f->m, HUGE_PA, &v), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_read32(f->m, UINT64_MAX - 3, &v), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write32(NULL, 0, 0), EINVAL_);
    assert_int_equal(mmusim_phys_write32(f->m, HUGE_PA, 0), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_write32(f->m, UINT64_MAX - 3, 0), MMUSIM_EPHYS);
    assert_int_equal(mmusim_phys_resident_bytes(NULL), 0);
    assert_int_equal(mmusim_frame_alloc(NULL, MMUSIM_ZONE_NORMAL, &pfn), EINVAL_);
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_NORMAL, NULL), EINVAL_);
    assert_int_equal(mmusim_frame_alloc(f->m, MMUSIM_ZONE_COUNT_, &pfn), MMUSIM_EZONE);
    assert_int_equal(mmusim_frame_alloc(f->m, BAD_ENUM(mmusim_zone), &pfn), MMUSIM_EZONE);
    assert_int_equal(mmusim_frame_free(NULL, 0), EINVAL_);
    assert_int_equal(mmusim_frame_free(f->m, HUGE_PFN), MMUSIM_EPHYS);
    assert_int_equal(mmusim_frame_free(f->m, UINT64_MAX), MMUSIM_EPHYS);
    assert_int_equal(mmusim_zone_free_frames(NULL, MMUSIM_ZONE_NORMAL), 0);
    assert_int_equal(mmusim_zone_free_frames(f->m, MMUSIM_ZONE_COUNT_), 0);
    assert_int_equal(mmusim_zone_free_frames(f->m, BAD_ENUM(mmusim_zone)), 0);
}

/* ---- pgtable.h ---- */
static void test_pgtable(void **state)
{
    struct fx *f = *state;
    uint64_t cr3 = mmusim_kernel_cr3(f->m);
    struct mmusim_pte_info pi;

    assert_int_equal(mmusim_kernel_cr3(NULL), 0);
    assert_int_equal(mmusim_pgd_create(NULL, &cr3), EINVAL_);
    assert_int_equal(mmusim_pgd_create(f->m, NULL), EINVAL_);
    assert_int_equal(mmusim_pgd_destroy(NULL, cr3), EINVAL_);
    assert_int_equal(mmusim_pgd_destroy(f->m, HUGE_PA), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_map(NULL, cr3, 0x1000, 0x1000, MMUSIM_PAGE_4K, 0), EINVAL_);
    assert_int_equal(mmusim_pt_map(f->m, HUGE_PA, 0x1000, 0x1000, MMUSIM_PAGE_4K, 0), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_map(f->m, cr3, 0x1000, 0x1000, BAD_ENUM(mmusim_page_size), 0),
                     MMUSIM_EPAGESIZE);
    assert_int_equal(mmusim_pt_unmap(NULL, cr3, 0x1000), EINVAL_);
    assert_int_equal(mmusim_pt_unmap(f->m, HUGE_PA, 0x1000), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_protect(NULL, cr3, 0x1000, 0), EINVAL_);
    assert_int_equal(mmusim_pt_protect(f->m, HUGE_PA, 0x1000, 0), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_get(NULL, cr3, 0x1000, &pi), EINVAL_);
    assert_int_equal(mmusim_pt_get(f->m, cr3, 0x1000, NULL), EINVAL_);
    assert_int_equal(mmusim_pt_get(f->m, HUGE_PA, 0x1000, &pi), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_set_raw(NULL, cr3, 0x1000, MMUSIM_PAGE_4K, 0), EINVAL_);
    assert_int_equal(mmusim_pt_set_raw(f->m, HUGE_PA, 0x1000, MMUSIM_PAGE_4K, 0), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_pt_set_raw(f->m, cr3, 0x1000, BAD_ENUM(mmusim_page_size), 0), MMUSIM_EPAGESIZE);
    mmusim_machine_set_store_hook(NULL, NULL, NULL); /* documented no-op */
}

/* ---- cpu.h ---- */
static void test_cpu(void **state)
{
    struct fx *f = *state;
    struct mmusim_cpu_regs regs;
    struct mmusim_cpu_stats st;
    struct mmusim_walk w;
    struct mmusim_access a;
    struct mmusim_tlb_stats ts;
    struct mmusim_coherence_violation cv[2];
    uint64_t cyc;
    uint32_t data = 0;

    assert_int_equal(mmusim_cpu_id(NULL), 0);
    assert_null(mmusim_cpu_machine(NULL));
    assert_int_equal(mmusim_cpu_cycles(NULL), 0);
    memset(&regs, 0xa5, sizeof regs);
    mmusim_cpu_regs(NULL, &regs);   /* no-op... */
    mmusim_cpu_regs(f->c0, NULL);
    mmusim_cpu_stats(NULL, &st);
    mmusim_cpu_stats(f->c0, NULL);
    mmusim_cpu_stats_reset(NULL);
    assert_int_equal(mmusim_cpu_write_cr3(NULL, 0, &cyc), EINVAL_);
    assert_int_equal(mmusim_cpu_write_cr4(NULL, 0, &cyc), EINVAL_);
    assert_int_equal(mmusim_cpu_write_cr0(NULL, 0), EINVAL_);
    assert_int_equal(mmusim_cpu_write_efer(NULL, 0), EINVAL_);
    assert_int_equal(mmusim_cpu_walk(NULL, 0, 0, &w), EINVAL_);
    assert_int_equal(mmusim_cpu_walk(f->c0, 0, 0, NULL), EINVAL_);
    assert_int_equal(mmusim_cpu_access(NULL, 0, 0, 4, &data, &a), EINVAL_);
    {
        struct mmusim_ref refs[2] = {{0x1000, 4, MMUSIM_ACC_READ, 0}, {0x2000, 4, MMUSIM_ACC_READ, 0}};
        struct mmusim_batch_sum bs;
        uint64_t before = mmusim_cpu_cycles(f->c0);
        assert_int_equal(mmusim_cpu_access_batch(NULL, refs, 2, NULL, &bs), EINVAL_);
        assert_int_equal(mmusim_cpu_access_batch(f->c0, NULL, 2, NULL, &bs), EINVAL_);
        assert_int_equal(mmusim_cpu_access_batch(f->c0, refs, 2, NULL, NULL), EINVAL_);
        refs[1].size = 0; /* out of range: 1 to 4096 */
        assert_int_equal(mmusim_cpu_access_batch(f->c0, refs, 2, NULL, &bs), EINVAL_);
        refs[1].size = MMUSIM_REF_MAX_SIZE + 1;
        assert_int_equal(mmusim_cpu_access_batch(f->c0, refs, 2, NULL, &bs), EINVAL_);
        refs[1].size = 4;
        refs[1].access = 3; /* kind 3 is no access */
        assert_int_equal(mmusim_cpu_access_batch(f->c0, refs, 2, NULL, &bs), EINVAL_);
        refs[1].access = 8;
        assert_int_equal(mmusim_cpu_access_batch(f->c0, refs, 2, NULL, &bs), EINVAL_);
        assert_int_equal(mmusim_cpu_cycles(f->c0), before); /* refused: nothing ran */
        assert_int_equal(mmusim_cpu_access_batch(f->c0, NULL, 0, NULL, &bs), MMUSIM_OK);
        assert_int_equal(bs.done, 0);
    }
    assert_int_equal(mmusim_cpu_minor_fault(NULL), 0);
    assert_int_equal(mmusim_flush_tlb_one(NULL, 0), 0);
    assert_int_equal(mmusim_flush_tlb(NULL), 0);
    assert_int_equal(mmusim_flush_tlb_global(NULL), 0);
    assert_int_equal(mmusim_flush_tlb_all(NULL), 0);
    assert_null(mmusim_tlb_name(MMUSIM_TLB_COUNT_));
    assert_null(mmusim_tlb_name(BAD_ENUM(mmusim_tlb_id)));
    assert_int_equal(mmusim_cpu_tlb_stats(NULL, MMUSIM_TLB_DTLB_4K, &ts), EINVAL_);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c0, MMUSIM_TLB_DTLB_4K, NULL), EINVAL_);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c0, MMUSIM_TLB_COUNT_, &ts), EINVAL_);
    assert_int_equal(mmusim_cpu_tlb_stats(f->c0, BAD_ENUM(mmusim_tlb_id), &ts), EINVAL_);
    mmusim_machine_stats(NULL, &st);
    mmusim_machine_stats(f->m, NULL);
    mmusim_machine_set_coherence_check(NULL, 1);
    assert_int_equal(mmusim_machine_coherence_violations(NULL, cv, 2), 0);
    assert_int_equal(mmusim_machine_coherence_violations(f->m, NULL, 2), 0);
    mmusim_machine_coherence_reset(NULL);
}

/* ---- trace.h, replay.h ---- */
static void test_trace_replay(void **state)
{
    struct fx *f = *state;
    mmusim_trace_reader *rd = NULL;
    mmusim_trace_writer *w = NULL;
    struct mmusim_trace_rec rec = {0x1000, 4, MMUSIM_TRACE_L, 0};
    size_t n = 7;
    uint64_t line = 5;
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(mmusim_trace_open(NULL, MMUSIM_TRACE_AUTO, &rd), EINVAL_);
    assert_int_equal(mmusim_trace_open(tmp, MMUSIM_TRACE_AUTO, NULL), EINVAL_);
    assert_int_equal(mmusim_trace_open(tmp, MMUSIM_TRACE_FORMAT_COUNT_, &rd), EINVAL_);
    assert_int_equal(mmusim_trace_open(tmp, (enum mmusim_trace_format)1000, &rd), EINVAL_);
    assert_int_equal(mmusim_trace_read(NULL, &rec, 1, &n), EINVAL_);
    assert_null(mmusim_trace_error(NULL, &line));
    assert_int_equal(mmusim_trace_format_of(NULL), MMUSIM_TRACE_FORMAT_COUNT_);
    assert_int_equal(mmusim_trace_lines(NULL), 0);
    mmusim_trace_close(NULL);
    assert_int_equal(mmusim_trace_writer_open(NULL, &w), EINVAL_);
    assert_int_equal(mmusim_trace_writer_open(tmp, NULL), EINVAL_);
    assert_int_equal(mmusim_trace_write(NULL, &rec, 1), EINVAL_);
    assert_int_equal(mmusim_trace_writer_close(NULL), EINVAL_);
    assert_null(mmusim_trace_kind_name(MMUSIM_TRACE_KIND_COUNT_));
    assert_null(mmusim_trace_kind_name((enum mmusim_trace_kind)1000));
    /* A writer: out-of-range records are refused, nothing written. */
    assert_int_equal(mmusim_trace_writer_open(tmp, &w), MMUSIM_OK);
    assert_int_equal(mmusim_trace_write(w, NULL, 1), EINVAL_);
    rec.kind = MMUSIM_TRACE_KIND_COUNT_;
    assert_int_equal(mmusim_trace_write(w, &rec, 1), EINVAL_);
    rec.kind = MMUSIM_TRACE_L;
    rec.size = 0;
    assert_int_equal(mmusim_trace_write(w, &rec, 1), EINVAL_);
    rec.size = MMUSIM_TRACE_MAX_SIZE + 1;
    assert_int_equal(mmusim_trace_write(w, &rec, 1), EINVAL_);
    assert_int_equal(mmusim_trace_writer_close(w), MMUSIM_OK);
    rewind(tmp);
    assert_int_equal(mmusim_trace_open(tmp, MMUSIM_TRACE_AUTO, &rd), MMUSIM_OK);
    assert_int_equal(mmusim_trace_read(rd, NULL, 1, &n), EINVAL_);
    assert_int_equal(mmusim_trace_read(rd, &rec, 1, NULL), EINVAL_);
    assert_int_equal(mmusim_trace_read(rd, &rec, 1, &n), MMUSIM_OK);
    assert_int_equal(n, 0); /* nothing was written but the header and the end mark */
    mmusim_trace_close(rd);
    fclose(tmp);

    struct mmusim_replay_opts o;
    mmusim_replay *r = NULL;
    struct mmusim_replay_stats rs;
    struct mmusim_replay_violation v;
    mmusim_replay_opts_init(NULL);
    mmusim_replay_opts_init(&o);
    assert_int_equal(mmusim_replay_create(NULL, &o, &r), EINVAL_);
    assert_int_equal(mmusim_replay_create(f->m, NULL, &r), EINVAL_);
    assert_int_equal(mmusim_replay_create(f->m, &o, NULL), EINVAL_);
    o.cpu = f->ncpus;
    assert_int_equal(mmusim_replay_create(f->m, &o, &r), MMUSIM_ECPU);
    o.cpu = 0;
    o.reloc_offset = 4096; /* not a multiple of 4 MiB */
    assert_int_equal(mmusim_replay_create(f->m, &o, &r), EINVAL_);
    o.reloc_offset = 0;
    o.cr3 = HUGE_PA;
    assert_int_equal(mmusim_replay_create(f->m, &o, &r), MMUSIM_ENOTPGD);
    o.cr3 = mmusim_kernel_cr3(f->m);
    assert_int_equal(mmusim_replay_create(f->m, &o, &r), EINVAL_);
    assert_null(r);
    assert_int_equal(mmusim_replay_run(NULL, &rec, 1), EINVAL_);
    mmusim_replay_stats(NULL, &rs);
    assert_int_equal(mmusim_replay_violations(NULL, &v, 1), 0);
    assert_int_equal(mmusim_replay_cr3(NULL), 0);
    mmusim_replay_destroy(NULL);
    o.cr3 = 0;
    assert_int_equal(mmusim_replay_create(f->m, &o, &r), MMUSIM_OK);
    mmusim_replay_stats(r, NULL);
    assert_int_equal(mmusim_replay_run(r, NULL, 1), EINVAL_);
    rec.size = 0;
    assert_int_equal(mmusim_replay_run(r, &rec, 1), EINVAL_);
    rec.size = 4;
    rec.kind = 9;
    assert_int_equal(mmusim_replay_run(r, &rec, 1), EINVAL_);
    mmusim_replay_stats(r, &rs);
    assert_int_equal(rs.accesses, 0);
    tmp = tmpfile();
    assert_non_null(tmp);
    assert_int_equal(mmusim_trace_writer_open(tmp, &w), MMUSIM_OK);
    assert_int_equal(mmusim_trace_writer_close(w), MMUSIM_OK);
    rewind(tmp);
    assert_int_equal(mmusim_trace_open(tmp, MMUSIM_TRACE_AUTO, &rd), MMUSIM_OK);
    assert_int_equal(mmusim_replay_read(NULL, rd, 1, &n), EINVAL_);
    assert_int_equal(mmusim_replay_read(r, NULL, 1, &n), EINVAL_);
    assert_int_equal(mmusim_replay_read(r, rd, 1, NULL), EINVAL_);
    assert_int_equal(mmusim_replay_read(r, rd, 1, &n), MMUSIM_OK);
    assert_int_equal(n, 0);
    mmusim_trace_close(rd);
    fclose(tmp);
    mmusim_replay_destroy(r);
}

/* ---- pte.h ---- */
static void test_pte(void **state)
{
    struct fx *f = *state;
    uint64_t old, cyc;
    unsigned cpu;

    assert_int_equal(mmusim_set_pte(NULL, 0xfff00000u, 0, 0, &old), EINVAL_);
    assert_int_equal(mmusim_pte_clear(NULL, 0xfff00000u, &old), EINVAL_);
    assert_int_equal(mmusim_pte_last_writer(NULL, 0xfff00000u, &cpu, &cyc), EINVAL_);
    (void)f;
}

/* ---- smp.h ---- */
static void test_smp(void **state)
{
    struct fx *f = *state;
    mmusim_task *t;
    mmusim_wait_queue *q;
    mmusim_spinlock *l;
    unsigned flags = 0, woken;
    struct mmusim_run_result rr;
    struct mmusim_report rep[2];
    uint64_t cr3 = mmusim_kernel_cr3(f->m);

    assert_int_equal(mmusim_cpu_context(NULL), MMUSIM_CTX_TASK);
    assert_int_equal(mmusim_cpu_preempt_count(NULL), 0);
    assert_int_equal(mmusim_cpu_in_interrupt(NULL), 0);
    assert_int_equal(mmusim_cpu_irqs_disabled(NULL), 0);
    assert_int_equal(mmusim_cpu_nesting(NULL), 0);
    mmusim_local_irq_disable(NULL);
    mmusim_local_irq_enable(NULL);
    mmusim_preempt_disable(NULL);
    mmusim_preempt_enable(NULL);
    mmusim_cpu_spend(NULL, 10);
    assert_int_equal(mmusim_task_create(NULL, 0, cr3, step_done, NULL, &t), EINVAL_);
    assert_int_equal(mmusim_task_create(f->m, 0, cr3, NULL, NULL, &t), EINVAL_);
    assert_int_equal(mmusim_task_create(f->m, 0, cr3, step_done, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_task_create(f->m, f->ncpus, cr3, step_done, NULL, &t), MMUSIM_ECPU);
    assert_int_equal(mmusim_task_create(f->m, ~0u, cr3, step_done, NULL, &t), MMUSIM_ECPU);
    assert_int_equal(mmusim_task_state(NULL), MMUSIM_TASK_DONE);
    assert_int_equal(mmusim_task_id(NULL), 0);
    assert_int_equal(mmusim_task_resumed_at(NULL), 0);
    assert_int_equal(mmusim_task_done_at(NULL), 0);
    assert_null(mmusim_cpu_current(NULL));
    assert_int_equal(mmusim_cond_resched(NULL), EINVAL_);
    assert_int_equal(mmusim_wait_queue_create(NULL, &q), EINVAL_);
    assert_int_equal(mmusim_wait_queue_create(f->m, NULL), EINVAL_);
    assert_int_equal(mmusim_wait_queue_sleep(NULL, f->wq), EINVAL_);
    assert_int_equal(mmusim_wait_queue_sleep(f->c0, NULL), EINVAL_);
    assert_int_equal(mmusim_wait_queue_active(NULL), 0);
    assert_int_equal(mmusim_wake_up(NULL, f->wq, &woken), EINVAL_);
    assert_int_equal(mmusim_wake_up(f->c0, NULL, &woken), EINVAL_);
    assert_int_equal(mmusim_spinlock_create(NULL, &l), EINVAL_);
    assert_int_equal(mmusim_spinlock_create(f->m, NULL), EINVAL_);
    assert_int_equal(mmusim_spin_lock(NULL, f->lock), EINVAL_);
    assert_int_equal(mmusim_spin_lock(f->c0, NULL), EINVAL_);
    assert_int_equal(mmusim_spin_lock_irqsave(NULL, f->lock, &flags), EINVAL_);
    assert_int_equal(mmusim_spin_lock_irqsave(f->c0, NULL, &flags), EINVAL_);
    assert_int_equal(mmusim_spin_lock_irqsave(f->c0, f->lock, NULL), EINVAL_);
    assert_int_equal(mmusim_spin_unlock(NULL, f->lock), EINVAL_);
    assert_int_equal(mmusim_spin_unlock(f->c0, NULL), EINVAL_);
    assert_int_equal(mmusim_spin_unlock_irqrestore(NULL, f->lock, 0), EINVAL_);
    assert_int_equal(mmusim_spin_unlock_irqrestore(f->c0, NULL, 0), EINVAL_);
    assert_int_equal(mmusim_spin_is_owner(NULL, f->lock), 0);
    assert_int_equal(mmusim_spin_is_owner(f->c0, NULL), 0);
    assert_int_equal(mmusim_irq_at(NULL, 0, 10, step_done, NULL), EINVAL_);
    assert_int_equal(mmusim_irq_at(f->m, 0, 10, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_irq_at(f->m, f->ncpus, 10, step_done, NULL), MMUSIM_ECPU);
    assert_int_equal(mmusim_irq_at_flags(NULL, 0, 10, step_done, NULL, 0), EINVAL_);
    assert_int_equal(mmusim_irq_at_flags(f->m, 0, 10, NULL, NULL, 0), EINVAL_);
    assert_int_equal(mmusim_irq_at_flags(f->m, f->ncpus, 10, step_done, NULL, 0), MMUSIM_ECPU);
    assert_int_equal(mmusim_irq_at_flags(f->m, 0, 10, step_done, NULL, 0x80000000u), EINVAL_);
    assert_int_equal(mmusim_nmi_at(NULL, 0, 10, step_done, NULL), EINVAL_);
    assert_int_equal(mmusim_nmi_at(f->m, 0, 10, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_nmi_at(f->m, ~0u, 10, step_done, NULL), MMUSIM_ECPU);
    assert_int_equal(mmusim_irq_random(NULL, 0, 100, 1000, step_done, NULL), EINVAL_);
    assert_int_equal(mmusim_irq_random(f->m, 0, 100, 1000, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_irq_random(f->m, f->ncpus, 100, 1000, step_done, NULL), MMUSIM_ECPU);
    assert_int_equal(mmusim_irq_random_flags(NULL, 0, 100, 1000, step_done, NULL, 0), EINVAL_);
    assert_int_equal(mmusim_irq_random_flags(f->m, 0, 100, 1000, NULL, NULL, 0), EINVAL_);
    assert_int_equal(mmusim_irq_random_flags(f->m, f->ncpus, 100, 1000, step_done, NULL, 0), MMUSIM_ECPU);
    assert_int_equal(mmusim_irq_random_flags(f->m, 0, 100, 1000, step_done, NULL, 0x80000000u), EINVAL_);
    assert_int_equal(mmusim_raise_softirq(NULL, step_done, NULL), EINVAL_);
    assert_int_equal(mmusim_raise_softirq(f->c0, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_machine_run(NULL, 0, &rr), EINVAL_);
    assert_int_equal(mmusim_flush_tlb_all_smp(NULL), EINVAL_);
    assert_int_equal(mmusim_flush_tlb_kernel_range_smp(NULL, 0, 0x1000), EINVAL_);
    assert_int_equal(mmusim_flush_tlb_range_smp(NULL, cr3, 0, 0x1000), EINVAL_);
    assert_int_equal(mmusim_flush_tlb_page_smp(NULL, cr3, 0), EINVAL_);
    assert_int_equal(mmusim_mm_cpu_mask(NULL, cr3), 0);
    assert_int_equal(mmusim_mm_cpu_mask(f->m, HUGE_PA), 0);
    mmusim_report_bug(NULL, "x", 0);
    mmusim_report_warn(NULL, "x", 0);
    mmusim_machine_set_report_policy(NULL, MMUSIM_REPORT_CONTINUE);
    mmusim_machine_set_report_policy(f->m, BAD_ENUM(mmusim_report_policy));
    mmusim_machine_set_report_callback(NULL, NULL, NULL);
    assert_int_equal(mmusim_machine_reports(NULL, rep, 2), 0);
    assert_int_equal(mmusim_machine_reports(f->m, NULL, 2), 0);
    mmusim_machine_reports_reset(NULL);
}

/* ---- kmap.h ---- */
static void test_kmap(void **state)
{
    struct fx *f = *state;
    struct mmusim_kmap_opts opts;
    mmusim_kmap_layer *k;
    enum mmusim_kmap_variant v;
    struct mmusim_kaddr ka = {0};
    struct mmusim_page pg = mmusim_page_of_pfn(f->m, 1);
    struct mmusim_page bad = {HUGE_PFN, MMUSIM_ZONE_COUNT_};
    struct mmusim_kmap_stats ks;

    pg = mmusim_page_of_pfn(NULL, 1);
    (void)pg;
    pg = mmusim_page_of_pfn(f->m, HUGE_PFN);
    assert_int_equal(pg.zone, MMUSIM_ZONE_COUNT_);
    pg = mmusim_page_of_pfn(f->m, 1);
    assert_int_equal(mmusim_page_is_highmem(bad), 0);
    assert_string_equal(mmusim_kmap_variant_name(MMUSIM_KMAP_VARIANT_COUNT_), "?");
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_VARIANT_COUNT_), MMUSIM_ERA_COUNT_);
    assert_int_equal(mmusim_kmap_variant_era((enum mmusim_kmap_variant)-1), MMUSIM_ERA_COUNT_);
    /* Each variant's era (kmap.h): the kernel its kmap_atomic comes from; the heap measured on the stack form's. */
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_SLOT_2_6_19), MMUSIM_ERA_2_6_18);
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_SLOT_2_6_36), MMUSIM_ERA_2_6_32);
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_STACK_2_6_37), MMUSIM_ERA_2_6_37);
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_LOCAL_5_11), MMUSIM_ERA_5_11);
    assert_int_equal(mmusim_kmap_variant_era(MMUSIM_KMAP_HEAP), MMUSIM_ERA_2_6_37);
    assert_string_equal(mmusim_kmap_variant_name(BAD_ENUM(mmusim_kmap_variant)), "?");
    assert_int_equal(mmusim_kmap_variant_from_name(NULL, &v), EINVAL_);
    assert_int_equal(mmusim_kmap_variant_from_name("heap", NULL), EINVAL_);
    mmusim_kmap_opts_init(NULL, MMUSIM_KMAP_HEAP);
    mmusim_kmap_opts_init(&opts, MMUSIM_KMAP_VARIANT_COUNT_);
    assert_int_equal(mmusim_kmap_create(NULL, &opts, &k), EINVAL_);
    assert_int_equal(mmusim_kmap_create(f->m, NULL, &k), EINVAL_);
    assert_int_equal(mmusim_kmap_create(f->m, &opts, NULL), EINVAL_);
    mmusim_kmap_opts_init(&opts, MMUSIM_KMAP_SLOT_2_6_19);
    opts.variant = MMUSIM_KMAP_VARIANT_COUNT_;
    {
        mmusim_machine *m2; /* f->m has its layer already (MMUSIM_EEXIST) */
        assert_int_equal(mmusim_machine_create(&f->cfg, &m2), MMUSIM_OK);
        assert_int_equal(mmusim_kmap_create(m2, &opts, &k), EINVAL_);
        opts.variant = BAD_ENUM(mmusim_kmap_variant);
        assert_int_equal(mmusim_kmap_create(m2, &opts, &k), EINVAL_);
        mmusim_machine_destroy(m2);
    }
    assert_null(mmusim_kmap_options(NULL));
    ka = mmusim_page_address(NULL, pg);
    assert_int_equal(ka.va, 0);
    ka = mmusim_page_address(f->k, bad);
    assert_int_equal(ka.va, 0);
    assert_int_equal(mmusim_kmap(NULL, f->k, pg, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap(f->c0, NULL, pg, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap(f->c0, f->k, pg, NULL), EINVAL_);
    assert_int_equal(mmusim_kunmap(NULL, f->k, pg), EINVAL_);
    assert_int_equal(mmusim_kunmap(f->c0, NULL, pg), EINVAL_);
    assert_int_equal(mmusim_kmap_flush_unused(NULL, f->k), EINVAL_);
    assert_int_equal(mmusim_kmap_flush_unused(f->c0, NULL), EINVAL_);
    assert_string_equal(mmusim_km_type_name(MMUSIM_KM_TYPE_COUNT_), "?");
    assert_string_equal(mmusim_km_type_name(BAD_ENUM(mmusim_km_type)), "?");
    assert_int_equal(mmusim_kmap_atomic(NULL, f->k, pg, (enum mmusim_km_type)0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic(f->c0, NULL, pg, (enum mmusim_km_type)0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic(f->c0, f->k, pg, (enum mmusim_km_type)0, NULL), EINVAL_);
    assert_int_equal(mmusim_kunmap_atomic(NULL, f->k, ka, (enum mmusim_km_type)0), EINVAL_);
    assert_int_equal(mmusim_kunmap_atomic(f->c0, NULL, ka, (enum mmusim_km_type)0), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_pfn(NULL, f->k, 1, (enum mmusim_km_type)0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_pfn(f->c0, NULL, 1, (enum mmusim_km_type)0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_pfn(f->c0, f->k, 1, (enum mmusim_km_type)0, NULL), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_prot(NULL, f->k, pg, (enum mmusim_km_type)0, 0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_prot(f->c0, NULL, pg, (enum mmusim_km_type)0, 0, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_prot(f->c0, f->k, pg, (enum mmusim_km_type)0, 0, NULL), EINVAL_);
    /* out of range: a km_type past its _COUNT_, a frame past RAM */
    assert_int_equal(mmusim_kmap_atomic(f->c0, f->k, pg, MMUSIM_KM_TYPE_COUNT_, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic(f->c0, f->k, bad, (enum mmusim_km_type)0, &ka), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kmap_atomic_pfn(f->c0, f->k, HUGE_PFN, (enum mmusim_km_type)0, &ka), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kmap_atomic_pfn(f->c0, f->k, 1, BAD_ENUM(mmusim_km_type), &ka), EINVAL_);
    assert_int_equal(mmusim_kunmap_atomic(f->c0, f->k, ka, MMUSIM_KM_TYPE_COUNT_), EINVAL_);
    assert_int_equal(mmusim_kmap(f->c0, f->k, bad, &ka), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kunmap(f->c0, f->k, bad), MMUSIM_EPHYS);
    assert_int_equal(mmusim_kmap_atomic_to_page(NULL, ka, &pg), EINVAL_);
    assert_int_equal(mmusim_kmap_atomic_to_page(f->k, ka, NULL), EINVAL_);
    assert_int_equal(mmusim_kmap_local(NULL, f->k, pg, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_local(f->c0, NULL, pg, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_local(f->c0, f->k, pg, NULL), MMUSIM_EKMAPVARIANT); /* f->k: a slot layer */
    assert_int_equal(mmusim_kunmap_local(NULL, f->k, ka), EINVAL_);
    assert_int_equal(mmusim_kunmap_local(f->c0, NULL, ka), EINVAL_);
    assert_int_equal(mmusim_kmap_heap(NULL, f->k, &pg, 1, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_heap(f->c0, NULL, &pg, 1, &ka), EINVAL_);
    assert_int_equal(mmusim_kmap_heap(f->c0, f->k, NULL, 1, &ka), MMUSIM_EKMAPVARIANT);
    assert_int_equal(mmusim_kunmap_heap(NULL, f->k, ka), EINVAL_);
    assert_int_equal(mmusim_kunmap_heap(f->c0, NULL, ka), EINVAL_);
    /* The out arguments of kmap_local and kmap_heap, on layers of those variants. */
    for (int i = 0; i < 2; i++) {
        mmusim_machine *m2;
        mmusim_kmap_layer *k2;
        struct mmusim_config cfg = f->cfg;
        if (i == 0)
            assert_int_equal(mmusim_config_set(&cfg, "era", "5.11"), MMUSIM_OK);
        assert_int_equal(mmusim_machine_create(&cfg, &m2), MMUSIM_OK);
        mmusim_kmap_opts_init(&opts, i == 0 ? MMUSIM_KMAP_LOCAL_5_11 : MMUSIM_KMAP_HEAP);
        assert_int_equal(mmusim_kmap_create(m2, &opts, &k2), MMUSIM_OK);
        mmusim_cpu *c = mmusim_machine_cpu(m2, 0);
        if (i == 0) {
            assert_int_equal(mmusim_kmap_local(c, k2, pg, NULL), EINVAL_);
            assert_int_equal(mmusim_kmap_local(c, k2, bad, &ka), MMUSIM_EPHYS);
        } else {
            assert_int_equal(mmusim_kmap_heap(c, k2, NULL, 1, &ka), EINVAL_);
            assert_int_equal(mmusim_kmap_heap(c, k2, &pg, 1, NULL), EINVAL_);
            assert_int_equal(mmusim_kmap_heap(c, k2, &pg, 0, &ka), EINVAL_);
            assert_int_equal(mmusim_kmap_heap(c, k2, &pg, ~0u, &ka), EINVAL_);
        }
        mmusim_machine_destroy(m2);
    }
    assert_int_equal(mmusim_kmap_stats(NULL, 0, &ks), EINVAL_);
    assert_int_equal(mmusim_kmap_stats(f->k, 0, NULL), EINVAL_);
    assert_int_equal(mmusim_kmap_stats(f->k, (int)f->ncpus, &ks), MMUSIM_ECPU);
    assert_int_equal(mmusim_kmap_stats(f->k, -2, &ks), MMUSIM_ECPU);
    mmusim_kmap_stats_reset(NULL);
    assert_int_equal(mmusim_kmap_percentile(NULL, MMUSIM_KMAP_HIST_MAP, 50), 0);
    assert_int_equal(mmusim_kmap_percentile(f->k, MMUSIM_KMAP_HIST_COUNT_, 50), 0);
    assert_int_equal(mmusim_kmap_percentile(f->k, BAD_ENUM(mmusim_kmap_hist_kind), 50), 0);
    assert_int_equal(mmusim_kmap_samples(NULL, MMUSIM_KMAP_HIST_MAP), 0);
    assert_int_equal(mmusim_kmap_samples(f->k, MMUSIM_KMAP_HIST_COUNT_), 0);
    mmusim_kmap_record_pair(NULL, 10);
}

/* ---- elf.h: NULL machine, image, path, info; a CR3 not of the machine; a
 * misaligned bias and a bad stack size. Nothing is mapped by a refused call. ---- */
static void test_elf(void **state)
{
    struct fx *f = *state;
    struct mmusim_elf_opts opts;
    struct mmusim_elf_info info;
    static const unsigned char junk[8] = {0x7f, 'E', 'L', 'F'};
    uint64_t cr3;
    uint64_t highmem = mmusim_zone_free_frames(f->m, MMUSIM_ZONE_HIGHMEM);
    mmusim_elf_opts_init(NULL);
    mmusim_elf_opts_init(&opts);
    assert_int_equal(opts.stack_bytes, 128u * 1024u);
    assert_int_equal(mmusim_pgd_create(f->m, &cr3), MMUSIM_OK);
    assert_int_equal(mmusim_elf_load_mem(NULL, cr3, junk, sizeof junk, 0, &opts, &info), EINVAL_);
    assert_int_equal(mmusim_elf_load_mem(f->m, cr3, NULL, sizeof junk, 0, &opts, &info), EINVAL_);
    assert_int_equal(mmusim_elf_load_mem(f->m, cr3, junk, sizeof junk, 0, &opts, NULL), EINVAL_);
    assert_int_equal(mmusim_elf_load_mem(f->m, HUGE_PA, junk, sizeof junk, 0, &opts, &info), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_elf_load_mem(f->m, cr3, junk, sizeof junk, 0x123, &opts, &info), MMUSIM_EALIGN);
    assert_int_equal(mmusim_elf_load_mem(f->m, cr3, junk, 0, 0, NULL, &info), MMUSIM_ENOTELF);
    opts.stack_bytes = 0xffffffffu;
    assert_int_equal(mmusim_elf_load_mem(f->m, cr3, junk, sizeof junk, 0, &opts, &info), EINVAL_);
    assert_int_equal(mmusim_elf_load_file(NULL, cr3, "x", 0, NULL, &info), EINVAL_);
    assert_int_equal(mmusim_elf_load_file(f->m, cr3, NULL, 0, NULL, &info), EINVAL_);
    assert_int_equal(mmusim_elf_load_file(f->m, cr3, "x", 0, NULL, NULL), EINVAL_);
    assert_int_equal(mmusim_elf_load_file(f->m, HUGE_PA, "x", 0, NULL, &info), MMUSIM_ENOTPGD);
    assert_int_equal(mmusim_elf_load_file(f->m, mmusim_kernel_cr3(f->m), "x", 0, NULL, &info), MMUSIM_EKERNEL);
    assert_int_equal(mmusim_zone_free_frames(f->m, MMUSIM_ZONE_HIGHMEM), highmem);
    assert_int_equal(mmusim_pgd_destroy(f->m, cr3), MMUSIM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_error),
        cmocka_unit_test(test_costs),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pgtable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_replay, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
