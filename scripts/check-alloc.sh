#!/usr/bin/env bash
# Every host allocation of the library goes through src/internal.h's
# wrappers (mmusim__malloc, _calloc, _realloc, _free), so that the failalloc
# test can refuse any of them. In the mmusim_failalloc variant the wrappers
# are out of line in src/alloc.c: no other object file of it may call the C
# library's allocator itself. Usage: bash scripts/check-alloc.sh path/to/libmmusim_failalloc.a
set -euo pipefail
lib=${1:?usage: check-alloc.sh LIBRARY}
calls=$(nm -A "$lib" | awk '$(NF-1) == "U" && $NF ~ /^(malloc|calloc|realloc|free|reallocarray|strdup|strndup|aligned_alloc|posix_memalign|memalign|valloc)$/')
bad=$(grep -v '[:/]alloc\.c\.o:' <<<"$calls" || true)
if [[ -n $bad ]]; then
  echo "check-alloc: allocator calls outside src/alloc.c (use mmusim__malloc etc., src/internal.h):" >&2
  sed 's/^/  /' <<<"$bad" >&2
  exit 1
fi
if [[ -z $calls ]]; then
  echo "check-alloc: src/alloc.c of $(basename "$lib") calls no allocator: is it the MMUSIM_FAILALLOC build?" >&2
  exit 1
fi
echo "check-alloc: only src/alloc.c of $(basename "$lib") calls the C library's allocator"
