#!/usr/bin/env python3
"""Write the seed corpus of fuzz/fuzz_elf.c: tiny valid i386 ELF images.

Each image is an ELF header (System V ABI, gABI ch. 4; Intel386 supplement:
ELFCLASS32, ELFDATA2LSB, EM_386), its program header table right after it,
and file bytes, all under 1 KiB, so libFuzzer (-max_len=4096) can mutate
every field. Usage: python3 scripts/elf_corpus.py [DIR] (default fuzz/corpus/elf).
"""
import os
import struct
import sys

PT_LOAD, PT_INTERP, PT_GNU_STACK = 1, 3, 0x6474E551
PF_X, PF_W, PF_R = 1, 2, 4
ET_EXEC, ET_DYN = 2, 3


def image(etype, entry, phdrs, size=0x400, extra=None):
    """phdrs: (type, offset, vaddr, filesz, memsz, flags) tuples."""
    ident = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    eh = ident + struct.pack("<HHIIIIIHHHHHH", etype, 3, 1, entry, 52, 0, 0, 52, 32,
                             len(phdrs), 0, 0, 0)
    table = b"".join(struct.pack("<IIIIIIII", t, off, va, va, fs, ms, fl, 0x1000)
                     for (t, off, va, fs, ms, fl) in phdrs)
    body = bytearray((i * 7 + 3) & 0xFF for i in range(size))
    body[0:len(eh) + len(table)] = eh + table
    for off, data in (extra or {}).items():
        body[off:off + len(data)] = data
    return bytes(body)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fuzz", "corpus", "elf")
    os.makedirs(out, exist_ok=True)
    interp = b"/lib/ld-linux.so.2\0"
    seeds = {
        # Headers and text in one R X segment, data + .bss in another page.
        "exec_text_data": image(ET_EXEC, 0x08048100, [
            (PT_LOAD, 0, 0x08048000, 0x200, 0x200, PF_R | PF_X),
            (PT_LOAD, 0x200, 0x08049200, 0x40, 0x2000, PF_R | PF_W),
            (PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W)]),
        # A PIE with PT_INTERP, loaded at the fuzzer's bias.
        "dyn_interp": image(ET_DYN, 0x100, [
            (PT_INTERP, 0x140, 0x140, len(interp), len(interp), PF_R),
            (PT_LOAD, 0, 0, 0x300, 0x300, PF_R | PF_X),
            (PT_LOAD, 0x300, 0x1300, 0x80, 0x1000, PF_R | PF_W),
            (PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W)], extra={0x140: interp}),
        # Two segments in one page; an executable stack.
        "shared_page": image(ET_EXEC, 0x08048080, [
            (PT_LOAD, 0, 0x08048000, 0x100, 0x100, PF_R | PF_X),
            (PT_LOAD, 0x180, 0x08048180, 0x80, 0x200, PF_R | PF_W),
            (PT_GNU_STACK, 0, 0, 0, 0, PF_R | PF_W | PF_X)]),
        # No PT_GNU_STACK (READ_IMPLIES_EXEC), one segment.
        "no_gnu_stack": image(ET_EXEC, 0x08048040, [
            (PT_LOAD, 0, 0x08048000, 0x400, 0x400, PF_R | PF_W | PF_X)]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
