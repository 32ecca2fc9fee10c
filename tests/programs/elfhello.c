/*
 * A small i386 program for the ELF loader's tests (tests/elf_program.c):
 * built with gcc -m32 -O1, static and as a PIE, by tests/CMakeLists.txt.
 * It has text, read-only data, initialised data and a .bss big enough to
 * span pages, so every kind of segment a real program has is there.
 */
#include <stdio.h>

static const char greeting[] = "hello from an i386 program";
int counter = 42;
static char scratch[3 * 4096 + 123];

int main(int argc, char **argv)
{
    scratch[argc] = (char)counter;
    printf("%s (%d, %s, %d)\n", greeting, counter, argv[0], scratch[1]);
    return 0;
}
