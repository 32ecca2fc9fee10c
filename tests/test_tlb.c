/*
 * The set-associative TLB array (src/tlb/tlb.h): replacement policies worked
 * by hand, set indexing, large pages, and invalidation by the SDM Vol. 3A
 * §4.10.4.1 rules (INVLPG drops global entries too; a CR3 write keeps them; a
 * CR4.PGE toggle drops everything).
 *
 * Most tests use one set (sets == 1, shift 12) and name pages by a character:
 * page c is at va c << 12, so a way's contents print as that character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "mmusim/error.h"
#include "tlb/tlb.h"

#define PG(c) ((uint32_t)(unsigned char)(c) << 12)

/* Access page c: 'H' on a hit; on a miss fill it and return 'M'. */
static char touch_page(struct tlb_array *a, char c)
{
    if (tlb_array_lookup(a, PG(c)))
        return 'H';
    assert_non_null(mmusim__tlb_array_fill(a, PG(c), (uint64_t)PG(c) + 0x100000, 0, 0));
    return 'M';
}

/* Contents of set 0, one character per way ('.' = invalid). */
static void set0(const struct tlb_array *a, char *out)
{
    for (uint32_t w = 0; w < a->ways; w++)
        out[w] = a->tags[w] ? (char)((a->tags[w] - 1) & 0xff) : '.';
    out[a->ways] = '\0';
}

/*
 * Run seq through a; after step i the set must read want_sets[i] (if given).
 * Returns the hit/miss string in hm.
 */
static void run(struct tlb_array *a, const char *seq, const char *const *want_sets, char *hm)
{
    char got[80];
    size_t i;
    for (i = 0; seq[i]; i++) {
        hm[i] = touch_page(a, seq[i]);
        if (want_sets) {
            set0(a, got);
            if (strcmp(got, want_sets[i]) != 0)
                fail_msg("step %zu (%c): set is %s, expected %s", i, seq[i], got, want_sets[i]);
        }
    }
    hm[i] = '\0';
}

static void init_ok(struct tlb_array *a, uint32_t entries, uint32_t ways, unsigned shift,
                    enum mmusim_replacement p, uint64_t seed)
{
    assert_int_equal(mmusim__tlb_array_init(a, entries, ways, shift, p, seed), MMUSIM_OK);
}

/* ---- LRU ---- */

/*
 * 4-way true LRU, sequence A B C D A E B F C A B D. LRU order is written
 * oldest first.
 *   A B C D  miss x4, fill the invalid ways 0..3      order A B C D
 *   A        hit                                      order B C D A
 *   E        miss, evicts B (way 1)   A E C D         order C D A E
 *   B        miss, evicts C (way 2)   A E B D         order D A E B
 *   F        miss, evicts D (way 3)   A E B F         order A E B F
 *   C        miss, evicts A (way 0)   C E B F         order E B F C
 *   A        miss, evicts E (way 1)   C A B F         order B F C A
 *   B        hit                                      order F C A B
 *   D        miss, evicts F (way 3)   C A B D
 */
static void test_lru_textbook_sequence(void **state)
{
    (void)state;
    static const char *const sets[] = {
        "A...", "AB..", "ABC.", "ABCD", "ABCD", "AECD",
        "AEBD", "AEBF", "CEBF", "CABF", "CABF", "CABD",
    };
    struct tlb_array a;
    char hm[32];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "ABCDAEBFCABD", sets, hm);
    assert_string_equal(hm, "MMMMHMMMMMHM");
    assert_int_equal(a.st.evictions, 6);
    mmusim__tlb_array_fini(&a);
}

/*
 * LRU is a stack algorithm: more ways never means more misses. Sequence
 * 1 2 3 4 1 2 5 1 2 3 4 5:
 *   3 ways: 1 2 3 miss; 4 evicts 1; 1 evicts 2; 2 evicts 3; 5 evicts 4;
 *           1 2 hit; 3 evicts 5; 4 evicts 1; 5 evicts 2        -> 10 misses
 *   4 ways: 1 2 3 4 miss; 1 2 hit; 5 evicts 3; 1 2 hit; 3 evicts 4;
 *           4 evicts 5; 5 evicts 1                             -> 8 misses
 */
static void test_lru_belady_sequence_no_anomaly(void **state)
{
    (void)state;
    static const char *const sets3[] = {
        "1..", "12.", "123", "423", "413", "412", "512", "512", "512", "312", "342", "345",
    };
    static const char *const sets4[] = {
        "1...", "12..", "123.", "1234", "1234", "1234",
        "1254", "1254", "1254", "1253", "1243", "5243",
    };
    struct tlb_array a;
    char hm[32];
    init_ok(&a, 3, 3, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "123412512345", sets3, hm);
    assert_string_equal(hm, "MMMMMMMHHMMM");
    assert_int_equal(a.st.misses, 10);
    mmusim__tlb_array_fini(&a);

    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "123412512345", sets4, hm);
    assert_string_equal(hm, "MMMMHHMHHMMM");
    assert_int_equal(a.st.misses, 8);
    mmusim__tlb_array_fini(&a);
}

/* ---- tree PLRU ---- */

/*
 * 4-way tree PLRU (convention in tlb.h): nodes b1 (root), b2 (ways 0|1),
 * b3 (ways 2|3); bit 0 = victim on the left, 1 = on the right. Touching way
 * w points every node on its path away from it:
 *   way 0: b1=1 b2=1   way 1: b1=1 b2=0   way 2: b1=0 b3=1   way 3: b1=0 b3=0
 * Victim: b1=0 -> (b2=0 ? way 0 : way 1); b1=1 -> (b3=0 ? way 2 : way 3).
 * The set word holds node n at bit n: word = b1<<1 | b2<<2 | b3<<3.
 *
 *   step  access  result               ways    b1 b2 b3  word
 *   1     A       miss, way 0 invalid  A...    1  1  0    6
 *   2     B       miss, way 1 invalid  AB..    1  0  0    2
 *   3     C       miss, way 2 invalid  ABC.    0  0  1    8
 *   4     D       miss, way 3 invalid  ABCD    0  0  0    0
 *   5     A       hit way 0            ABCD    1  1  0    6
 *   6     E       miss, b1=1 b3=0: 2   ABED    0  1  1   12   (LRU would evict B)
 *   7     B       hit way 1            ABED    1  0  1   10
 *   8     F       miss, b1=1 b3=1: 3   ABEF    0  0  0    0
 *   9     C       miss, b1=0 b2=0: 0   CBEF    1  1  0    6
 *   10    A       miss, b1=1 b3=0: 2   CBAF    0  1  1   12
 *   11    B       hit way 1            CBAF    1  0  1   10
 *   12    D       miss, b1=1 b3=1: 3   CBAD    0  0  0    0
 */
static void test_plru_4way_sequence_and_tree_state(void **state)
{
    (void)state;
    static const char seq[] = "ABCDAEBFCABD";
    static const char *const sets[] = {
        "A...", "AB..", "ABC.", "ABCD", "ABCD", "ABED",
        "ABED", "ABEF", "CBEF", "CBAF", "CBAF", "CBAD",
    };
    static const uint64_t words[] = {6, 2, 8, 0, 6, 12, 10, 0, 6, 12, 10, 0};
    static const char hm_want[] = "MMMMHMHMMMHM";
    struct tlb_array a;
    char got[8];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_PLRU, 1);
    for (size_t i = 0; seq[i]; i++) {
        char r = touch_page(&a, seq[i]);
        set0(&a, got);
        if (r != hm_want[i] || strcmp(got, sets[i]) != 0 || a.plru[0] != words[i])
            fail_msg("step %zu (%c): %c %s word %llu, expected %c %s word %llu", i + 1, seq[i],
                     r, got, (unsigned long long)a.plru[0], hm_want[i], sets[i],
                     (unsigned long long)words[i]);
    }
    assert_int_equal(a.st.hits, 3);
    assert_int_equal(a.st.misses, 9);
    mmusim__tlb_array_fini(&a);
}

/* Evict-only run on a full set of `ways`: the ways chosen, in order, into out[]. */
static void plru_victims_after_inorder_fill(uint32_t ways, uint32_t *out, size_t n)
{
    struct tlb_array a;
    init_ok(&a, ways, ways, 12, MMUSIM_REPL_PLRU, 1);
    for (uint32_t i = 0; i < ways; i++)
        assert_ptr_equal(mmusim__tlb_array_fill(&a, i << 12, 0, 0, 0), &a.e[i]);
    for (size_t k = 0; k < n; k++) {
        struct tlb_entry *e = mmusim__tlb_array_fill(&a, (ways + (uint32_t)k) << 12, 0, 0, 0);
        out[k] = (uint32_t)(e - a.e);
    }
    assert_int_equal(a.st.evictions, n);
    mmusim__tlb_array_fini(&a);
}

/*
 * After touching ways 0..N-1 in order, every node points away from its most
 * recent access, which is the highest way under it: the victim is way 0.
 * Touching it flips the root right, where everything still points left, so
 * the next victim is N/2; and so on. Back-to-back misses therefore take the
 * ways in bit-reversed order: 8 ways -> 0 4 2 6 1 5 3 7.
 */
static void test_plru_8way_evicts_in_bit_reversed_order(void **state)
{
    (void)state;
    static const uint32_t want[] = {0, 4, 2, 6, 1, 5, 3, 7, 0, 4};
    uint32_t got[10];
    plru_victims_after_inorder_fill(8, got, 10);
    assert_memory_equal(got, want, sizeof(want));
}

/* The same property through the multi-word tree (ways > 64) and at 64 ways. */
static void test_plru_wide_tree_matches_bit_reversal(void **state)
{
    (void)state;
    static const uint32_t want128[] = {0, 64, 32, 96, 16, 80, 48, 112, 8, 72};
    static const uint32_t want64[] = {0, 32, 16, 48, 8, 40, 24, 56, 4, 36};
    uint32_t got[10];
    plru_victims_after_inorder_fill(128, got, 10);
    assert_memory_equal(got, want128, sizeof(want128));
    plru_victims_after_inorder_fill(64, got, 10);
    assert_memory_equal(got, want64, sizeof(want64));
}

/* A hit through the wide path protects the way as in the narrow one. */
static void test_plru_wide_hit_protects_way(void **state)
{
    (void)state;
    struct tlb_array a;
    init_ok(&a, 128, 128, 12, MMUSIM_REPL_PLRU, 1);
    for (uint32_t i = 0; i < 128; i++)
        mmusim__tlb_array_fill(&a, i << 12, 0, 0, 0);
    assert_non_null(tlb_array_lookup(&a, 0)); /* way 0 was the victim; now way 64 is */
    struct tlb_entry *e = mmusim__tlb_array_fill(&a, 500u << 12, 0, 0, 0);
    assert_int_equal(e - a.e, 64);
    assert_non_null(tlb_array_peek(&a, 0));
    mmusim__tlb_array_fini(&a);
}

/* ---- FIFO ---- */

/*
 * FIFO shows Bélády's anomaly on 1 2 3 4 1 2 5 1 2 3 4 5:
 *   3 ways: 1 2 3 miss; 4 evicts 1; 1 evicts 2; 2 evicts 3; 5 evicts 4;
 *           1 2 hit; 3 evicts 1; 4 evicts 2; 5 hit                 -> 9 misses
 *   4 ways: 1 2 3 4 miss; 1 2 hit; 5 evicts 1; 1 evicts 2; 2 evicts 3;
 *           3 evicts 4; 4 evicts 5; 5 evicts 1                     -> 10 misses
 */
static void test_fifo_belady_anomaly(void **state)
{
    (void)state;
    static const char *const sets3[] = {
        "1..", "12.", "123", "423", "413", "412", "512", "512", "512", "532", "534", "534",
    };
    static const char *const sets4[] = {
        "1...", "12..", "123.", "1234", "1234", "1234",
        "5234", "5134", "5124", "5123", "4123", "4523",
    };
    struct tlb_array a;
    char hm[32];
    init_ok(&a, 3, 3, 12, MMUSIM_REPL_FIFO, 1);
    run(&a, "123412512345", sets3, hm);
    assert_string_equal(hm, "MMMMMMMHHMMH");
    assert_int_equal(a.st.misses, 9);
    mmusim__tlb_array_fini(&a);

    init_ok(&a, 4, 4, 12, MMUSIM_REPL_FIFO, 1);
    run(&a, "123412512345", sets4, hm);
    assert_string_equal(hm, "MMMMHHMMMMMM");
    assert_int_equal(a.st.misses, 10);
    mmusim__tlb_array_fini(&a);
}

/* Hits, and refills in place, leave the insertion order alone. */
static void test_fifo_hits_and_refills_do_not_reorder(void **state)
{
    (void)state;
    struct tlb_array a;
    char hm[32], got[8];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_FIFO, 1);
    run(&a, "ABCDAAAA", NULL, hm);
    assert_string_equal(hm, "MMMMHHHH");
    mmusim__tlb_array_fill(&a, PG('A'), 0x5000, 0, TLBE_D); /* in place */
    run(&a, "E", NULL, hm);                         /* still evicts A, the oldest */
    set0(&a, got);
    assert_string_equal(got, "EBCD");
    run(&a, "F", NULL, hm);
    set0(&a, got);
    assert_string_equal(got, "EFCD");
    mmusim__tlb_array_fini(&a);
}

/* ---- RANDOM ---- */

/* Victim ways of n back-to-back misses on a full `ways`-way set. */
static void random_victims(uint64_t seed, uint32_t ways, uint32_t *out, size_t n)
{
    struct tlb_array a;
    init_ok(&a, ways, ways, 12, MMUSIM_REPL_RANDOM, seed);
    for (uint32_t i = 0; i < ways; i++)
        assert_ptr_equal(mmusim__tlb_array_fill(&a, i << 12, 0, 0, 0), &a.e[i]); /* invalid first */
    for (size_t k = 0; k < n; k++) {
        uint32_t va = (uint32_t)(ways + k) << 12;
        struct tlb_entry *e = mmusim__tlb_array_fill(&a, va, 0, 0, 0);
        assert_true(e >= a.e && e < a.e + ways);
        assert_int_equal(tlb_array_tag(&a, e), (va >> 12) + 1);
        out[k] = (uint32_t)(e - a.e);
    }
    assert_int_equal(a.st.evictions, n);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), ways); /* every victim was a valid way */
    mmusim__tlb_array_fini(&a);
}

static void test_random_same_seed_same_victims(void **state)
{
    (void)state;
    uint32_t v1[1000], v2[1000];
    random_victims(42, 8, v1, 1000);
    random_victims(42, 8, v2, 1000);
    assert_memory_equal(v1, v2, sizeof(v1));
    /* Also a mixed hit/miss stream over a 4-set array. */
    struct tlb_array a, b;
    init_ok(&a, 16, 4, 12, MMUSIM_REPL_RANDOM, 7);
    init_ok(&b, 16, 4, 12, MMUSIM_REPL_RANDOM, 7);
    uint32_t x = 12345;
    for (int i = 0; i < 5000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t va = ((x >> 16) % 40) << 12;
        struct tlb_entry *ea = tlb_array_lookup(&a, va), *eb = tlb_array_lookup(&b, va);
        if (!ea)
            ea = mmusim__tlb_array_fill(&a, va, 0, 0, 0);
        if (!eb)
            eb = mmusim__tlb_array_fill(&b, va, 0, 0, 0);
        assert_int_equal(ea - a.e, eb - b.e);
    }
    assert_memory_equal(&a.st, &b.st, sizeof(a.st));
    assert_true(a.st.hits > 0 && a.st.evictions > 0);
    mmusim__tlb_array_fini(&a);
    mmusim__tlb_array_fini(&b);
}

static void test_random_different_seed_differs_and_covers_all_ways(void **state)
{
    (void)state;
    uint32_t v1[1000], v2[1000];
    unsigned seen[8] = {0};
    random_victims(1, 8, v1, 1000);
    random_victims(2, 8, v2, 1000);
    assert_memory_not_equal(v1, v2, sizeof(v1));
    for (size_t k = 0; k < 1000; k++) {
        assert_true(v1[k] < 8);
        seen[v1[k]]++;
    }
    for (int w = 0; w < 8; w++)
        assert_true(seen[w] > 60); /* about 125 each */
}

/* RANDOM takes a non-power-of-two way count (a 6-way fully associative array). */
static void test_random_six_ways(void **state)
{
    (void)state;
    uint32_t v[600];
    random_victims(3, 6, v, 600);
    for (size_t k = 0; k < 600; k++)
        assert_true(v[k] < 6);
}

/* ---- all policies ---- */

static const enum mmusim_replacement all_policies[] = {
    MMUSIM_REPL_LRU, MMUSIM_REPL_PLRU, MMUSIM_REPL_FIFO, MMUSIM_REPL_RANDOM,
};

/* A dropped entry leaves an invalid way that the next fill of the set takes, without an eviction. */
static void test_dropped_way_is_refilled_first(void **state)
{
    (void)state;
    for (size_t p = 0; p < 4; p++) {
        struct tlb_array a;
        char hm[32], got[8];
        init_ok(&a, 4, 4, 12, all_policies[p], 9);
        run(&a, "ABCDBA", NULL, hm);
        assert_int_equal(mmusim__tlb_array_invalidate_va(&a, PG('C')), 1);
        run(&a, "E", NULL, hm);
        set0(&a, got);
        assert_string_equal(got, "ABED");
        assert_int_equal(a.st.evictions, 0);
        assert_int_equal(mmusim__tlb_array_flush(&a, 0), 4);
        run(&a, "FG", NULL, hm);
        set0(&a, got);
        assert_string_equal(got, "FG..");
        assert_int_equal(a.st.evictions, 0);
        mmusim__tlb_array_fini(&a);
    }
}

/* Set index = (va >> shift) & set_mask: pages in different sets never evict each other. */
static void test_sets_are_independent(void **state)
{
    (void)state;
    for (size_t p = 0; p < 4; p++) {
        struct tlb_array a;
        init_ok(&a, 16, 4, 12, all_policies[p], 5); /* 4 sets */
        for (uint32_t i = 0; i < 4; i++) {          /* pages 1, 5, 9, 13: set 1 */
            struct tlb_entry *e = mmusim__tlb_array_fill(&a, (1 + 4 * i) << 12, 0, 0, 0);
            assert_true(e >= a.e + 4 && e < a.e + 8);
        }
        for (uint32_t i = 0; i < 32; i++) { /* pages 0, 4, ...: set 0, thrashed */
            struct tlb_entry *e = mmusim__tlb_array_fill(&a, (4 * i) << 12, 0, 0, 0);
            assert_true(e >= a.e && e < a.e + 4);
        }
        for (uint32_t i = 0; i < 4; i++)
            assert_non_null(tlb_array_lookup(&a, ((1 + 4 * i) << 12) | 0xabc));
        assert_int_equal(a.st.evictions, 28);
        assert_int_equal(mmusim__tlb_array_count_valid(&a), 8);
        mmusim__tlb_array_fini(&a);
    }
}

/* shift 22: any address of the 4 MiB page hits, and INVLPG of any address in it drops it. */
static void test_large_4m_pages(void **state)
{
    (void)state;
    struct tlb_array a;
    init_ok(&a, 8, 4, 22, MMUSIM_REPL_PLRU, 1); /* 2 sets */
    struct tlb_entry *e = mmusim__tlb_array_fill(&a, 0xc0000000u, 0x00400000u, 0x1c00, TLBE_LARGE | TLBE_W);
    assert_non_null(e);
    assert_ptr_equal(tlb_array_lookup(&a, 0xc0000000u), e);
    assert_ptr_equal(tlb_array_lookup(&a, 0xc0123456u), e);
    assert_ptr_equal(tlb_array_lookup(&a, 0xc03fffffu), e);
    assert_null(tlb_array_lookup(&a, 0xc0400000u));
    assert_null(tlb_array_lookup(&a, 0xbfffffffu));
    assert_int_equal(e->pa, 0x00400000u);
    assert_int_equal(e->flags, TLBE_LARGE | TLBE_W);
    /* 0xc0400000 is the next 4 MiB page: the other set. */
    struct tlb_entry *f = mmusim__tlb_array_fill(&a, 0xc0400000u, 0x00800000u, 0x1c04, TLBE_LARGE);
    assert_true((e < a.e + 4) != (f < a.e + 4));
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0xc02ff000u), 1);
    assert_null(tlb_array_peek(&a, 0xc0000000u));
    assert_non_null(tlb_array_peek(&a, 0xc0400000u));
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0xc07fffffu), 1);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 0);
    mmusim__tlb_array_fini(&a);
}

/* shift 21 (PAE 2 MiB pages), fully associative. */
static void test_large_2m_pages(void **state)
{
    (void)state;
    struct tlb_array a;
    init_ok(&a, 4, 4, 21, MMUSIM_REPL_LRU, 1);
    struct tlb_entry *e = mmusim__tlb_array_fill(&a, 0xc0200000u, 0x200000, 0, TLBE_LARGE);
    assert_ptr_equal(tlb_array_lookup(&a, 0xc03fffffu), e);
    assert_null(tlb_array_lookup(&a, 0xc0400000u));
    assert_null(tlb_array_lookup(&a, 0xc01fffffu));
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0xc0300000u), 1);
    assert_null(tlb_array_peek(&a, 0xc0200000u));
    mmusim__tlb_array_fini(&a);
}

/* INVLPG drops the page's entry even when it is global; only that page's. */
static void test_invalidate_va_drops_global_entry(void **state)
{
    (void)state;
    struct tlb_array a;
    init_ok(&a, 16, 4, 12, MMUSIM_REPL_LRU, 1);
    mmusim__tlb_array_fill(&a, 0xc0001000u, 0x1000, 0, TLBE_G | TLBE_W);
    mmusim__tlb_array_fill(&a, 0xc0005000u, 0x5000, 0, TLBE_G); /* same set */
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0xc0001fffu), 1);
    assert_null(tlb_array_lookup(&a, 0xc0001000u));
    assert_non_null(tlb_array_lookup(&a, 0xc0005000u));
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0xc0001000u), 0); /* already gone */
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0x08048000u), 0); /* never there */
    assert_int_equal(a.st.dropped, 1);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 1);
    mmusim__tlb_array_fini(&a);
}

/* MOV to CR3: flush(keep_global = 1) keeps TLBE_G entries; a PGE toggle, flush(0), drops all. */
static void test_flush_keep_global_then_all(void **state)
{
    (void)state;
    struct tlb_array a;
    init_ok(&a, 16, 4, 12, MMUSIM_REPL_PLRU, 1);
    for (uint32_t i = 0; i < 8; i++)
        mmusim__tlb_array_fill(&a, (0x100 + i) << 12, 0, 0, (i % 3 == 0) ? TLBE_G : TLBE_U); /* G: 0 3 6 */
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 8);
    assert_int_equal(mmusim__tlb_array_flush(&a, 1), 5);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 3);
    for (uint32_t i = 0; i < 8; i++) {
        struct tlb_entry *e = tlb_array_peek(&a, (0x100 + i) << 12);
        if (i % 3 == 0) {
            assert_non_null(e);
            assert_true(e->flags & TLBE_G);
        } else {
            assert_null(e);
        }
    }
    assert_int_equal(mmusim__tlb_array_flush(&a, 1), 0); /* nothing non-global left */
    assert_int_equal(mmusim__tlb_array_flush(&a, 0), 3);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 0);
    assert_int_equal(mmusim__tlb_array_flush(&a, 0), 0);
    assert_int_equal(a.st.dropped, 8);
    mmusim__tlb_array_fini(&a);
}

/* The counters after a known sequence; peek counts nothing. */
static void test_stats_counters(void **state)
{
    (void)state;
    struct tlb_array a;
    char hm[32];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "ABCDAEBFCABD", NULL, hm); /* the LRU sequence above: 2 hits, 10 misses, 6 evictions */
    assert_non_null(tlb_array_peek(&a, PG('D')));
    assert_null(tlb_array_peek(&a, PG('Z')));
    mmusim__tlb_array_fill(&a, PG('D'), 0, 0, TLBE_D); /* in place: a fill, no eviction */
    mmusim__tlb_array_invalidate_va(&a, PG('C'));
    mmusim__tlb_array_flush(&a, 0);
    assert_int_equal(tlb_array_lookups(&a), 12);
    assert_int_equal(a.st.hits, 2);
    assert_int_equal(a.st.misses, 10);
    assert_int_equal(a.st.fills, 11);
    assert_int_equal(a.st.evictions, 6);
    assert_int_equal(a.st.dropped, 4);
    mmusim__tlb_array_fini(&a);
}

/* Peek neither counts nor touches: under LRU the peeked page is still the victim. */
static void test_peek_does_not_touch(void **state)
{
    (void)state;
    struct tlb_array a;
    char hm[32], got[8];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "ABCD", NULL, hm);
    struct tlb_array_stats before = a.st;
    assert_ptr_equal(tlb_array_peek(&a, PG('A') | 0x123), &a.e[0]);
    assert_memory_equal(&before, &a.st, sizeof(before));
    run(&a, "E", NULL, hm);
    set0(&a, got);
    assert_string_equal(got, "EBCD");
    mmusim__tlb_array_fini(&a);
}

/* A fill of a present page overwrites it in place, evicts nothing, and touches it (LRU). */
static void test_fill_existing_overwrites_in_place(void **state)
{
    (void)state;
    struct tlb_array a;
    char hm[32], got[8];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "ABCD", NULL, hm);
    struct tlb_entry *e = mmusim__tlb_array_fill(&a, PG('A') | 0xfff, 0x77000, 0x3008, TLBE_W | TLBE_D);
    assert_ptr_equal(e, &a.e[0]);
    assert_int_equal(e->pa, 0x77000);
    assert_int_equal(e->leaf_pa, 0x3008);
    assert_int_equal(e->flags, TLBE_W | TLBE_D);
    assert_int_equal(mmusim__tlb_array_count_valid(&a), 4);
    assert_int_equal(a.st.fills, 5);
    assert_int_equal(a.st.evictions, 0);
    run(&a, "E", NULL, hm); /* A was touched by the refill: B is the LRU */
    set0(&a, got);
    assert_string_equal(got, "AECD");
    mmusim__tlb_array_fini(&a);
}

static void test_init_geometry_errors(void **state)
{
    (void)state;
    struct tlb_array a;
    assert_int_equal(mmusim__tlb_array_init(&a, 10, 4, 12, MMUSIM_REPL_LRU, 1), MMUSIM_ETLBGEOM);
    assert_false(tlb_array_present(&a));
    assert_null(tlb_array_lookup(&a, 0)); /* left absent and usable */
    mmusim__tlb_array_fini(&a);
    assert_int_equal(mmusim__tlb_array_init(&a, 12, 4, 12, MMUSIM_REPL_LRU, 1), MMUSIM_ETLBGEOM); /* 3 sets */
    assert_int_equal(mmusim__tlb_array_init(&a, 24, 4, 12, MMUSIM_REPL_FIFO, 1), MMUSIM_ETLBGEOM); /* 6 sets */
    assert_int_equal(mmusim__tlb_array_init(&a, 3, 3, 12, MMUSIM_REPL_PLRU, 1), MMUSIM_ETLBGEOM);
    assert_int_equal(mmusim__tlb_array_init(&a, 12, 6, 12, MMUSIM_REPL_PLRU, 1), MMUSIM_ETLBGEOM);
    assert_int_equal(mmusim__tlb_array_init(&a, 4, 0, 12, MMUSIM_REPL_LRU, 1), MMUSIM_ETLBGEOM);
    assert_int_equal(mmusim__tlb_array_init(&a, 4, 4, 11, MMUSIM_REPL_LRU, 1), MMUSIM_EINVAL);
    assert_int_equal(mmusim__tlb_array_init(&a, 4, 4, 32, MMUSIM_REPL_LRU, 1), MMUSIM_EINVAL);
    /* Non-power-of-two ways are fine outside PLRU. */
    init_ok(&a, 3, 3, 12, MMUSIM_REPL_LRU, 1);
    mmusim__tlb_array_fini(&a);
    init_ok(&a, 12, 6, 12, MMUSIM_REPL_FIFO, 1);
    assert_int_equal(a.sets, 2);
    assert_int_equal(a.set_mask, 1);
    mmusim__tlb_array_fini(&a);
    init_ok(&a, 1536, 12, 12, MMUSIM_REPL_LRU, 1); /* Skylake STLB: 128 sets */
    assert_int_equal(a.sets, 128);
    mmusim__tlb_array_fini(&a);
    init_ok(&a, 16, 1, 12, MMUSIM_REPL_PLRU, 1); /* direct-mapped */
    assert_non_null(mmusim__tlb_array_fill(&a, 0x1000, 0, 0, 0));
    assert_int_equal(mmusim__tlb_array_fill(&a, 0x11000, 0, 0, 0) - a.e, 1); /* same set, evicts */
    assert_null(tlb_array_peek(&a, 0x1000));
    mmusim__tlb_array_fini(&a);
}

/* entries == 0: absent; every operation is harmless. */
static void test_absent_array(void **state)
{
    (void)state;
    for (size_t p = 0; p < 4; p++) {
        struct tlb_array a;
        init_ok(&a, 0, 0, 12, all_policies[p], 1);
        assert_false(tlb_array_present(&a));
        assert_null(tlb_array_lookup(&a, 0x1000));
        assert_null(tlb_array_peek(&a, 0x1000));
        assert_null(mmusim__tlb_array_fill(&a, 0x1000, 0x1000, 0, TLBE_G));
        assert_null(tlb_array_lookup(&a, 0x1000));
        assert_int_equal(mmusim__tlb_array_invalidate_va(&a, 0x1000), 0);
        assert_int_equal(mmusim__tlb_array_flush(&a, 0), 0);
        assert_int_equal(mmusim__tlb_array_flush(&a, 1), 0);
        assert_int_equal(mmusim__tlb_array_count_valid(&a), 0);
        assert_int_equal(tlb_array_lookups(&a), 2);
        assert_int_equal(a.st.misses, 2);
        assert_int_equal(a.st.fills, 0);
        mmusim__tlb_array_fini(&a);
        mmusim__tlb_array_fini(&a); /* twice is fine */
    }
    struct tlb_array a;
    init_ok(&a, 0, 4, 22, MMUSIM_REPL_LRU, 1); /* ways ignored when absent */
    assert_false(tlb_array_present(&a));
    mmusim__tlb_array_fini(&a);
}

/* Every policy prefers an invalid way, lowest first, while the set fills up. */
static void test_fill_takes_lowest_invalid_way(void **state)
{
    (void)state;
    for (size_t p = 0; p < 4; p++) {
        struct tlb_array a;
        init_ok(&a, 8, 8, 12, all_policies[p], 11);
        for (uint32_t i = 0; i < 8; i++)
            assert_ptr_equal(mmusim__tlb_array_fill(&a, (0x40 + i) << 12, 0, 0, 0), &a.e[i]);
        mmusim__tlb_array_invalidate_va(&a, 0x45000);
        mmusim__tlb_array_invalidate_va(&a, 0x42000);
        assert_ptr_equal(mmusim__tlb_array_fill(&a, 0x50000, 0, 0, 0), &a.e[2]);
        assert_ptr_equal(mmusim__tlb_array_fill(&a, 0x51000, 0, 0, 0), &a.e[5]);
        assert_int_equal(a.st.evictions, 0);
        mmusim__tlb_array_fini(&a);
    }
}

/*
 * Repeated hits on the last-touched entry take lookup's shortcut: they must
 * leave LRU order and PLRU bits as one hit would, and an entry dropped or
 * replaced behind the shortcut must not hit.
 */
static void test_repeated_hits_and_dropped_last_entry(void **state)
{
    (void)state;
    struct tlb_array a;
    char hm[32], got[8];
    init_ok(&a, 4, 4, 12, MMUSIM_REPL_LRU, 1);
    run(&a, "ABCDAAAAE", NULL, hm); /* A is the newest, B the oldest: E evicts B */
    assert_string_equal(hm, "MMMMHHHHM");
    set0(&a, got);
    assert_string_equal(got, "AECD");
    assert_int_equal(a.st.hits, 4);
    assert_int_equal(tlb_array_lookups(&a), 9);
    assert_non_null(tlb_array_lookup(&a, PG('D')));
    assert_int_equal(mmusim__tlb_array_invalidate_va(&a, PG('D')), 1);
    assert_null(tlb_array_lookup(&a, PG('D')));
    run(&a, "F", NULL, hm); /* takes D's way */
    assert_null(tlb_array_lookup(&a, PG('D')));
    assert_non_null(tlb_array_lookup(&a, PG('F')));
    assert_int_equal(mmusim__tlb_array_flush(&a, 0), 4);
    assert_null(tlb_array_lookup(&a, PG('F')));
    mmusim__tlb_array_fini(&a);

    init_ok(&a, 4, 4, 12, MMUSIM_REPL_PLRU, 1);
    run(&a, "ABCDB", NULL, hm);
    uint64_t word = a.plru[0];
    run(&a, "BBB", NULL, hm);
    assert_string_equal(hm, "HHH");
    assert_int_equal(a.plru[0], word);
    assert_int_equal(word, 2); /* ABCD leaves 0 0 0; B (way 1) sets b1=1 b2=0 */
    mmusim__tlb_array_fini(&a);
}

/*
 * tlb_array_insert (a fill of a page known absent) must leave an array
 * exactly as mmusim__tlb_array_fill does, whatever the policy and geometry: the same
 * seeded stream of lookups, drops and fills into two arrays, one filled each
 * way, compared entry by entry and counter by counter. Covers the PLRU
 * victim table (ways <= 8), the tree walk (16 ways) and wide trees.
 */
static void test_insert_matches_fill(void **state)
{
    (void)state;
    static const struct {
        uint32_t entries, ways;
        enum mmusim_replacement p;
    } g[] = {
        {16, 4, MMUSIM_REPL_PLRU}, {64, 8, MMUSIM_REPL_PLRU},  {16, 16, MMUSIM_REPL_PLRU},   {8, 2, MMUSIM_REPL_PLRU},
        {24, 6, MMUSIM_REPL_LRU},  {32, 4, MMUSIM_REPL_FIFO},  {32, 4, MMUSIM_REPL_RANDOM}, {128, 128, MMUSIM_REPL_PLRU},
    };
    for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
        struct tlb_array a, b;
        assert_int_equal(mmusim__tlb_array_init(&a, g[k].entries, g[k].ways, 12, g[k].p, 7), MMUSIM_OK);
        assert_int_equal(mmusim__tlb_array_init(&b, g[k].entries, g[k].ways, 12, g[k].p, 7), MMUSIM_OK);
        uint64_t x = 12345;
        for (uint32_t i = 0; i < 20000; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t va = (uint32_t)((x >> 33) % (3u * g[k].entries)) << 12;
            struct tlb_entry *ea = tlb_array_lookup(&a, va), *eb = tlb_array_lookup(&b, va);
            assert_true((ea == NULL) == (eb == NULL));
            if (ea && (x >> 20) % 5 == 0) { /* now and then the caller drops the entry */
                tlb_array_drop(&a, ea);
                tlb_array_drop(&b, eb);
                ea = eb = NULL;
            }
            if (!ea) {
                assert_non_null(mmusim__tlb_array_fill(&a, va, (uint64_t)va + 0x1000, i, 0));
                assert_non_null(tlb_array_insert(&b, va, (uint64_t)va + 0x1000, i, 0));
            }
        }
        for (uint32_t i = 0; i < g[k].entries; i++) {
            assert_int_equal(a.tags[i], b.tags[i]);
            assert_int_equal(a.e[i].leaf_pa, b.e[i].leaf_pa);
        }
        assert_int_equal(a.st.evictions, b.st.evictions);
        assert_int_equal(a.st.fills, b.st.fills);
        assert_true(a.st.evictions > 1000); /* the victim choice was exercised */
        mmusim__tlb_array_fini(&a);
        mmusim__tlb_array_fini(&b);
    }
}

/*
 * mmusim__match32, which every set compare goes through: its SSE2 shapes
 * (4, 8, 16 lanes, the 4-lane loop) and the scalar tail must give exactly
 * the bits of the plain definition, for every length up to 64 and tags in
 * every lane, including 0 (how an invalid way is found) and values with the
 * top bit set (a signed compare would still match; a signed pack must not
 * mix lanes).
 */
static void test_match32_equals_definition(void **state)
{
    (void)state;
    uint32_t t[64];
    uint64_t x = 99;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 64; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(x >> 40) & 7u;
            t[i] = r == 0 ? 0u : r == 1 ? 0x80000001u : r == 2 ? 0xffffffffu : r; /* few values: many matches */
        }
        const uint32_t keys[] = {0u, 3u, 0x80000001u, 0xffffffffu, 12345u};
        for (uint32_t n = 0; n <= 64; n++) {
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                uint64_t want = 0;
                for (uint32_t i = 0; i < n; i++)
                    want |= (uint64_t)(t[i] == keys[k]) << i;
                assert_true(mmusim__match32(t, n, keys[k]) == want);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_textbook_sequence),
        cmocka_unit_test(test_lru_belady_sequence_no_anomaly),
        cmocka_unit_test(test_plru_4way_sequence_and_tree_state),
        cmocka_unit_test(test_plru_8way_evicts_in_bit_reversed_order),
        cmocka_unit_test(test_plru_wide_tree_matches_bit_reversal),
        cmocka_unit_test(test_plru_wide_hit_protects_way),
        cmocka_unit_test(test_fifo_belady_anomaly),
        cmocka_unit_test(test_fifo_hits_and_refills_do_not_reorder),
        cmocka_unit_test(test_random_same_seed_same_victims),
        cmocka_unit_test(test_random_different_seed_differs_and_covers_all_ways),
        cmocka_unit_test(test_random_six_ways),
        cmocka_unit_test(test_dropped_way_is_refilled_first),
        cmocka_unit_test(test_fill_takes_lowest_invalid_way),
        cmocka_unit_test(test_sets_are_independent),
        cmocka_unit_test(test_large_4m_pages),
        cmocka_unit_test(test_large_2m_pages),
        cmocka_unit_test(test_invalidate_va_drops_global_entry),
        cmocka_unit_test(test_flush_keep_global_then_all),
        cmocka_unit_test(test_stats_counters),
        cmocka_unit_test(test_peek_does_not_touch),
        cmocka_unit_test(test_fill_existing_overwrites_in_place),
        cmocka_unit_test(test_init_geometry_errors),
        cmocka_unit_test(test_absent_array),
        cmocka_unit_test(test_repeated_hits_and_dropped_last_entry),
        cmocka_unit_test(test_insert_matches_fill),
        cmocka_unit_test(test_match32_equals_definition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
