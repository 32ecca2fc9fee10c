#!/usr/bin/env python3
"""Which error codes of include/mmusim/error.h do the tests reach?

Reads gcovr's JSON (scripts/coverage.sh writes it) and src/. A "site" is a
line of src/ that produces a code: `return MMUSIM_EX;`, `return fail(...,
MMUSIM_EX)`, `rc = MMUSIM_EX;`, or a conditional `c ? ... : MMUSIM_EX`
(comparisons `== MMUSIM_EX`, `case MMUSIM_EX:` and comments are not sites).
A plain site is reached when gcov counted its line (or, for a statement split
over lines, the nearest counted line above it); a conditional site only when
its line ran and every branch gcov records on that line was taken, since line
counts cannot tell the arms apart. Also prints line and branch coverage per
directory of src/.

usage: coverage_errors.py build-cov/coverage/coverage.json
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def error_codes():
    text = open(os.path.join(ROOT, "include/mmusim/error.h")).read()
    return re.findall(r"^\s*XX\((\w+),", text, re.M)


def strip_comments(lines):
    out, in_block = [], False
    for line in lines:
        s, i = "", 0
        while i < len(line):
            if in_block:
                j = line.find("*/", i)
                if j < 0:
                    i = len(line)
                else:
                    in_block, i = False, j + 2
            elif line.startswith("/*", i):
                in_block, i = True, i + 2
            elif line.startswith("//", i):
                break
            elif line[i] == '"':
                j = i + 1
                while j < len(line) and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
                s, i = s + '""', j + 1
            else:
                s, i = s + line[i], i + 1
        out.append(s)
    return out


TOKEN = re.compile(r"(==|!=|\bcase)?\s*\bMMUSIM_(E[A-Z]+|PENDING)\b")


def main():
    data = json.load(open(sys.argv[1]))
    cov = {}  # path relative to ROOT -> {line: (count, [branch counts])}
    for f in data["files"]:
        lines = {}
        for ln in f["lines"]:
            if ln.get("gcovr/noncode"):
                continue
            lines[ln["line_number"]] = (ln["count"], [b["count"] for b in ln.get("branches", [])])
        cov[f["file"]] = lines

    # Per directory of src/.
    dirs = {}
    for path, lines in cov.items():
        d = os.path.dirname(path)
        t = dirs.setdefault(d, [0, 0, 0, 0])
        for count, branches in lines.values():
            t[0] += 1
            t[1] += count > 0
            t[2] += len(branches)
            t[3] += sum(1 for b in branches if b > 0)
    print("\nsrc/ by directory       lines            branches")
    tot = [0, 0, 0, 0]
    for d in sorted(dirs):
        t = dirs[d]
        tot = [a + b for a, b in zip(tot, t)]
        print(f"  {d + '/':<20} {t[1]:5}/{t[0]:<5} {100 * t[1] / max(t[0], 1):5.1f}%"
              f"  {t[3]:5}/{t[2]:<5} {100 * t[3] / max(t[2], 1):5.1f}%")
    print(f"  {'total':<20} {tot[1]:5}/{tot[0]:<5} {100 * tot[1] / max(tot[0], 1):5.1f}%"
          f"  {tot[3]:5}/{tot[2]:<5} {100 * tot[3] / max(tot[2], 1):5.1f}%")

    codes = error_codes()
    sites = {c: [] for c in codes}  # code -> [(path:line, reached)]
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, ROOT)
            src = strip_comments(open(full).read().split("\n"))
            lines = cov.get(rel, {})
            for i, text in enumerate(src, 1):
                for m in TOKEN.finditer(text):
                    if m.group(1):
                        continue
                    code = m.group(2)
                    if code not in sites:
                        continue
                    n = i
                    while n not in lines and n > i - 4:
                        n -= 1
                    count, branches = lines.get(n, (0, []))
                    if "?" in text:
                        reached = count > 0 and bool(branches) and all(b > 0 for b in branches)
                    else:
                        reached = count > 0
                    sites[code].append((f"{rel}:{i}", reached))

    print("\nerror code      sites  reached   (sites: lines of src/ producing the code; 'never' = no test reaches one)")
    never, nosite = [], []
    for c in codes:
        if c == "OK":
            continue
        s = sites[c]
        r = sum(1 for _, ok in s if ok)
        mark = ""
        if not s:
            mark = "no site in src/"
            nosite.append(c)
        elif r == 0:
            mark = "never"
            never.append(c)
        print(f"  {c:<14} {len(s):5}  {r:7}   {mark}")
    total = sum(len(s) for c, s in sites.items() if c != "OK")
    reached = sum(1 for c, s in sites.items() if c != "OK" for _, ok in s if ok)
    print(f"  {'all':<14} {total:5}  {reached:7}")
    print(f"\ncodes no test reaches: {' '.join(never) or 'none'}")
    if nosite:
        print(f"codes with no site in src/: {' '.join(nosite)}")
    if len(sys.argv) > 2 and sys.argv[2] == "--unreached":
        print("\nunreached sites:")
        for c in codes:
            for where, ok in sites.get(c, []):
                if not ok:
                    print(f"  {c:<14} {where}")


if __name__ == "__main__":
    main()
