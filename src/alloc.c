/*
 * mmusim — the allocation wrappers of the failalloc test variant
 * (src/internal.h): every library allocation counted, and the armed one
 * refused. Empty in a normal build, where the wrappers are inline calls of
 * the C library.
 */
#include "internal.h"

#if defined(MMUSIM_FAILALLOC)

/* One library, one counter: the variant is for single-threaded tests. */
static uint64_t calls;    /* allocations attempted */
static uint64_t fail_at;  /* the call number to refuse; 0: none */
static int64_t live;      /* blocks handed out and not yet freed */

void mmusim__failalloc_arm(uint64_t n)
{
    fail_at = n ? calls + n : 0;
}

uint64_t mmusim__failalloc_calls(void)
{
    return calls;
}

int64_t mmusim__failalloc_live(void)
{
    return live;
}

/* Counts one attempt; nonzero if it is the one to refuse (then disarmed). */
static int refuse(void)
{
    if (++calls != fail_at)
        return 0;
    fail_at = 0;
    return 1;
}

void *mmusim__malloc(size_t size)
{
    void *p = refuse() ? NULL : malloc(size);
    live += p != NULL;
    return p;
}

void *mmusim__calloc(size_t n, size_t size)
{
    void *p = refuse() ? NULL : calloc(n, size);
    live += p != NULL;
    return p;
}

void *mmusim__realloc(void *p, size_t size)
{
    void *q = refuse() ? NULL : realloc(p, size);
    live += q != NULL && p == NULL; /* growing a block keeps the count */
    return q;
}

void mmusim__free(void *p)
{
    live -= p != NULL;
    free(p);
}

#else
/* ISO C wants a translation unit to declare something. */
typedef int mmusim__alloc_unused;
#endif
