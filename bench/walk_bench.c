/*
 * walk_bench — how many page walks mmusim simulates per second of host time.
 *
 * A user address space maps a working set of 4 KiB pages (spread over many
 * page tables); the bench walks them in a fixed pseudo-random order, with no
 * TLB in the way, first under 2-level paging and then under PAE. It also
 * times the creation of the largest machine (64 GiB, 64 CPUs, PAE) and
 * reports the host memory it holds, which the foundation issue bounds.
 */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common.h"

/* Host heap in use (glibc's mallinfo2), or 0 where it is not available. */
static uint64_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)(mi.uordblks + mi.hblkhd);
#else
    return 0;
#endif
}

static const char usage[] =
    "usage: walk_bench [options]\n"
    "Times simulated page walks (no TLB) over a working set of 4 KiB pages,\n"
    "under 2-level paging and PAE, and the creation of a 64 GiB, 64-CPU machine.\n";

#define WORKING_SET_PAGES 16384u /* 64 MiB of user space: 16 page tables (32 under PAE) */

struct result {
    double walks_per_second;
    double sim_cycles_per_walk;
};

/* Map WORKING_SET_PAGES pages at 0x10000000 onwards, frames taken from lowmem and highmem in turn. */
static uint64_t map_working_set(mmusim_machine *m)
{
    uint64_t cr3, pfn;
    bench_check(mmusim_pgd_create(m, &cr3), "pgd_create");
    for (uint32_t i = 0; i < WORKING_SET_PAGES; i++) {
        enum mmusim_zone z = (i & 1) ? MMUSIM_ZONE_HIGHMEM : MMUSIM_ZONE_NORMAL;
        if (mmusim_frame_alloc(m, z, &pfn) != MMUSIM_OK)
            bench_check(mmusim_frame_alloc(m, MMUSIM_ZONE_NORMAL, &pfn), "frame_alloc");
        bench_check(mmusim_pt_map(m, cr3, 0x10000000u + i * 4096u, pfn << 12, MMUSIM_PAGE_4K,
                                  MMUSIM_PTE_RW | MMUSIM_PTE_US),
                    "pt_map");
    }
    return cr3;
}

static struct result run(struct mmusim_config cfg, const char *paging, uint64_t iterations)
{
    mmusim_machine *m;
    bench_check(mmusim_config_set(&cfg, "paging", paging), "paging");
    bench_check(mmusim_machine_create(&cfg, &m), "machine_create");
    mmusim_cpu *cpu = mmusim_machine_cpu(m, 0);
    bench_check(mmusim_cpu_write_cr3(cpu, map_working_set(m), NULL), "cr3");

    /* The address sequence is computed up front so the timed loop is walks only. */
    uint32_t *vas = malloc(sizeof(*vas) * 65536);
    if (!vas)
        bench_check(MMUSIM_ENOMEM, "malloc");
    uint64_t x = cfg.seed | 1;
    for (unsigned i = 0; i < 65536; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        vas[i] = 0x10000000u + (uint32_t)((x >> 33) % WORKING_SET_PAGES) * 4096u + (uint32_t)((x >> 20) & 0xffc);
    }
    struct mmusim_walk w;
    unsigned faults = 0;
    int err = 0;
    uint64_t c0 = mmusim_cpu_cycles(cpu);
    double t0 = bench_now();
    for (uint64_t i = 0; i < iterations; i++) {
        err |= mmusim_cpu_walk(cpu, vas[i & 65535], (i & 7) == 0 ? MMUSIM_ACC_WRITE : MMUSIM_ACC_READ, &w);
        faults += (unsigned)w.fault;
    }
    double t = bench_now() - t0;
    bench_check(err, "a walk was refused");
    if (faults)
        bench_check(MMUSIM_EINVAL, "unexpected faults in the working set");
    struct result r = {(double)iterations / t, (double)(mmusim_cpu_cycles(cpu) - c0) / (double)iterations};
    free(vas);
    mmusim_machine_destroy(m);
    return r;
}

int main(int argc, char **argv)
{
    struct bench_opts o;
    bench_parse(argc, argv, usage, &o);
    bench_shard_refuse(&o, "walk_bench",
                       "its figures are host-timed rates of one process, not a set of independent rows");
    uint64_t iterations = o.iterations ? o.iterations : 20000000;

    struct result two = run(o.cfg, "2level", iterations);
    struct result pae = run(o.cfg, "pae", iterations);

    /* The largest machine the configuration allows. */
    struct mmusim_config big = o.cfg;
    bench_check(mmusim_config_set(&big, "paging", "pae"), "paging");
    bench_check(mmusim_config_set(&big, "mem", "64G"), "mem");
    bench_check(mmusim_config_set(&big, "cpus", "64"), "cpus");
    mmusim_machine *m;
    uint64_t heap0 = heap_in_use();
    double t0 = bench_now();
    bench_check(mmusim_machine_create(&big, &m), "machine_create 64G");
    double create_ms = (bench_now() - t0) * 1e3;
    uint64_t resident = mmusim_phys_resident_bytes(m);
    uint64_t host = heap_in_use() - heap0;
    mmusim_machine_destroy(m);

    const char *preset = mmusim_preset_name(o.cfg.preset);
    if (o.json) {
        struct bench_json j;
        bench_json_begin_bench(&j, stdout, &o, "walk_bench");
        bench_json_u64(&j, "iterations", iterations);
        bench_json_u64(&j, "working_set_pages", WORKING_SET_PAGES);
        bench_json_f64(&j, "walks_per_second", two.walks_per_second);
        bench_json_f64(&j, "pae_walks_per_second", pae.walks_per_second);
        bench_json_f64(&j, "sim_cycles_per_walk", two.sim_cycles_per_walk);
        bench_json_f64(&j, "pae_sim_cycles_per_walk", pae.sim_cycles_per_walk);
        bench_json_f64(&j, "create_64g_64cpu_ms", create_ms);
        bench_json_u64(&j, "create_64g_64cpu_resident_bytes", resident);
        bench_json_u64(&j, "create_64g_64cpu_host_bytes", host);
        bench_json_end(&j);
    } else {
        printf("walk_bench  preset %s, %llu walks each, working set %u pages\n\n", preset,
               (unsigned long long)iterations, WORKING_SET_PAGES);
        printf("%-28s %16s %18s\n", "mode", "walks/s (host)", "cycles/walk (sim)");
        printf("%-28s %16.3e %18.1f\n", "2-level", two.walks_per_second, two.sim_cycles_per_walk);
        printf("%-28s %16.3e %18.1f\n", "PAE", pae.walks_per_second, pae.sim_cycles_per_walk);
        printf("\n64 GiB, 64-CPU PAE machine: created in %.2f ms; host heap %.2f MiB, of it %.2f MiB frame contents\n",
               create_ms, (double)host / (1024.0 * 1024.0), (double)resident / (1024.0 * 1024.0));
    }
    return 0;
}
