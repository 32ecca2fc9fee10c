/*
 * mmusim — error codes.
 *
 * One X-macro table drives the enum, mmusim_strerror() and mmusim_err_name()
 * (the shape of libuv's UV_ERRNO_MAP). Library calls return MMUSIM_OK (0) or
 * one of these codes; on an error the machine state is left as it was,
 * except mmusim_machine_run's MMUSIM_ESTALL and MMUSIM_ENOBLOCK, which stop
 * a run where it went wrong (include/mmusim/smp.h).
 *
 * Architectural events (a page fault, a #GP on a bad PDPTE) are *results* of a
 * simulated operation, reported in the operation's result structure, not here.
 */
#ifndef MMUSIM_ERROR_H
#define MMUSIM_ERROR_H

#include "api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MMUSIM_ERR_MAP(XX)                                                     \
    XX(OK, "success")                                                          \
    XX(PENDING, "pending: return from the step; the engine completes the operation") \
    XX(EINVAL, "invalid argument")                                             \
    XX(ENOMEM, "out of host memory")                                           \
    XX(ENCPUS, "number of CPUs out of range (1 to 64)")                        \
    XX(EMEMSIZE, "physical memory size out of range (16 MiB to 64 GiB)")       \
    XX(EMEMALIGN, "physical memory size is not a multiple of 4 KiB")           \
    XX(EMEMNOPAE, "more than 4 GiB of physical memory needs PAE paging")       \
    XX(EMEMPAE, "more than 64 GiB of physical memory: PAE addresses 36 bits")  \
    XX(EPAGING, "unknown paging mode")                                         \
    XX(ESPLIT, "unknown VMSPLIT")                                              \
    XX(ESPLITERA, "this VMSPLIT does not exist in the chosen kernel era")      \
    XX(ESPLITPAE, "this VMSPLIT is not allowed with PAE in the chosen era")    \
    XX(EERA, "unknown kernel era")                                             \
    XX(EPRESET, "unknown cost preset")                                         \
    XX(ENXNOPAE, "NX needs PAE paging")                                        \
    XX(EVMALLOC, "vmalloc reserve misaligned or too large for the split")      \
    XX(ENRCPUS, "kernel NR_CPUS out of range or below the number of CPUs")     \
    XX(EKMTYPES, "KM_TYPE_NR out of range (1 to 64)")                          \
    XX(ELAYOUT, "kernel address space overflows: Linux would BUG at boot")     \
    XX(EKEY, "unknown configuration key")                                      \
    XX(EVALUE, "bad value for this configuration key")                         \
    XX(EPHYS, "physical address outside installed memory")                     \
    XX(EZONE, "unknown memory zone")                                           \
    XX(ENOFRAME, "no free page frame in the zone")                             \
    XX(EFRAME, "page frame not allocated or not allocatable")                  \
    XX(EALIGN, "address not aligned to the page size")                         \
    XX(EPAGESIZE, "page size not supported in this paging mode")               \
    XX(EMAPPED, "address already mapped")                                      \
    XX(ENOTMAPPED, "address not mapped")                                       \
    XX(ELARGE, "address is covered by a large page")                           \
    XX(ENOTPGD, "not a page directory created by this machine")                \
    XX(EKERNEL, "kernel page directory cannot be destroyed")                   \
    XX(EBUSY, "address space is loaded in a CPU's CR3")                        \
    XX(ENOSTEP, "only a workload step can do this (inside mmusim_machine_run)") \
    XX(EINRUN, "not allowed from inside a step (the run is in progress)")      \
    XX(EDEADLK, "lock already held, or already waited for, by this CPU")       \
    XX(ECONTEXT, "not allowed in this context (interrupt context, interrupts or preemption off)") \
    XX(ESTEP, "an operation of this step is still pending: return from the step first") \
    XX(ECPU, "CPU index out of range")                                         \
    XX(EGP, "general-protection fault: reserved bit in a PAE PDPTE")          \
    XX(EFEATURE, "CPU feature not enabled in the configuration")               \
    XX(ETLBGEOM, "cache geometry: entries must be a multiple of ways, sets a power of two") \
    XX(ECOST, "cost table: cpu_mhz must be non-zero")                         \
    XX(ECLOSED, "registration closed: a task exists or the machine has run")  \
    XX(EFULL, "no room left in a fixed-size table")                           \
    XX(EEXIST, "the machine already has a kmap layer")                         \
    XX(EKMAPDEBUG, "kmap debug switch disagrees with the machine's debug_highmem (its fixmap guard slots)") \
    XX(EKMAPFIT, "the machine's fixmap has fewer kmap slots per CPU than this variant needs (km_type_nr)") \
    XX(EKMTYPE, "km_type not in this variant's era or beyond the machine's kmap slots") \
    XX(EKMAPBUG, "refused: the kernel would BUG here (recorded as a report)")  \
    XX(ENOWINDOW, "no free run of that many pages in the CPU's kmap window")   \
    XX(EKMAPVARIANT, "this call is not part of the kmap layer's variant") \
    XX(ESTALL, "the run stalled: stall_steps engine actions in a row left the clock where it was (recorded as a report)") \
    XX(ENOBLOCK, "a step went to sleep but returned MMUSIM_STEP_MORE, not MMUSIM_STEP_BLOCK (recorded as a report)") \
    XX(ENOTELF, "not an ELF file (no 0x7f 'E' 'L' 'F' magic)")               \
    XX(EELFCLASS, "not a 32-bit little-endian ELF (ELFCLASS32, ELFDATA2LSB)")  \
    XX(EELFMACHINE, "ELF machine is not EM_386")                               \
    XX(EELFTYPE, "ELF type is not ET_EXEC or ET_DYN")                          \
    XX(EELFTRUNC, "ELF file truncated: a header or a segment lies past its end") \
    XX(EELFPHDR, "bad ELF program headers (entry size, count, PT_INTERP, no PT_LOAD)") \
    XX(EELFSEG, "bad ELF segment: p_filesz > p_memsz, or p_vaddr and p_offset differ modulo 4 KiB") \
    XX(EELFOVERLAP, "two ELF PT_LOAD segments overlap")                        \
    XX(EELFRANGE, "ELF segment or entry outside user space (kernel part, stack, or wraps 4 GiB)") \
    XX(EIO, "cannot open or read the file, or it is too large") \
    XX(ETRACE, "malformed trace: a line or record that cannot be read (mmusim_trace_error names it)") \
    XX(ETRACEVER, "binary trace of an unknown format version") \
    XX(ETRACEIO, "trace: read or write error on the stream") \
    XX(EPGTABLE, "the frame holds a page table in use (a page directory, a PDPT or a page table)")

/*
 * Codes are small non-negative integers: MMUSIM_OK is 0. MMUSIM_PENDING (1)
 * is not an error: an operation that has to wait (a contended lock, a
 * shootdown's acknowledgements, a kmap that sleeps) returns it when the
 * engine will complete it; the step must then return, and when it is called
 * again the operation is done and its outputs are filled (DESIGN.md, Time).
 * Every other nonzero code is an error: mmusim_is_error() tells them apart.
 */
enum mmusim_err {
#define MMUSIM_ERR_ENUM_(name, msg) MMUSIM_##name,
    MMUSIM_ERR_MAP(MMUSIM_ERR_ENUM_)
#undef MMUSIM_ERR_ENUM_
    MMUSIM_ERR_COUNT_
};

/* Nonzero for an error code; 0 for MMUSIM_OK and MMUSIM_PENDING. */
static inline int mmusim_is_error(int code)
{
    return code != MMUSIM_OK && code != MMUSIM_PENDING;
}

/* A sentence describing code; "unknown error" for a code not in the table. */
MMUSIM_API const char *mmusim_strerror(int code);

/* The code's symbolic name without the prefix ("EINVAL"); "UNKNOWN" if none. */
MMUSIM_API const char *mmusim_err_name(int code);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_ERROR_H */
