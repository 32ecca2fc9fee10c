/*
 * A small i386 test program for the replay and ELF tests (docs/replay.md):
 * a 64x64 integer matrix product over rows of a page each (so a column walk
 * touches 64 pages), then strided sweeps over a 384 KiB buffer in .bss.
 * About 300 KiB of data in a pattern that misses in a TLB of a few dozen
 * entries; a few million instructions, so valgrind runs it in seconds.
 * Built with gcc -m32 -O1 -static (tests/CMakeLists.txt, target m32_matrix).
 */
#define N 64
#define ROW 1024 /* ints: one 4 KiB page per row */
#define PAGES 96

static int a[N][ROW], b[N][ROW];
static int c[N][N];
static unsigned char buf[PAGES * 4096];
static const int rights_ro[4] = {1, 2, 3, 4}; /* .rodata: read only */
int counter = 5;                              /* .data: written */

static void multiply(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int s = 0;
            for (int k = 0; k < N; k++)
                s += a[i][k] * b[k][j]; /* b by column: a page per k */
            c[i][j] = s;
        }
}

static unsigned sweep(void)
{
    unsigned sum = 0;
    for (int rep = 0; rep < 8; rep++)
        for (int p = 0; p < PAGES; p++) {
            unsigned char *page = buf + (unsigned)((p * 37) % PAGES) * 4096u;
            for (int j = 0; j < 4096; j += 512) {
                page[j + rep] = (unsigned char)(page[j + rep] + p);
                sum += page[j];
            }
        }
    return sum;
}

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            a[i][k] = i + k;
            b[i][k] = i - k + rights_ro[k & 3];
        }
    multiply();
    unsigned s = sweep();
    counter += (int)(s & 0xff) + c[3][5];
    return counter == 0x7fffffff; /* exit status 0 */
}
