#!/usr/bin/env bash
# Every external symbol that libmmusim.a defines starts with mmusim_ (the
# public API) or mmusim__ (internal, the layer after it: mmusim__pt_set,
# mmusim__tlb_insert), so that linking the library never collides with a
# user's names. Usage: bash scripts/check-symbols.sh path/to/libmmusim.a
set -euo pipefail
lib=${1:?usage: check-symbols.sh LIBRARY}
nm_out=$(nm -g --defined-only "$lib")
# AddressSanitizer adds a __odr_asan.NAME symbol beside each global it
# instruments: the compiler's, not ours.
bad=$(awk 'NF == 3 && $3 !~ /^mmusim_/ && $3 !~ /^__odr_asan\./ { print $3 }' <<<"$nm_out" | sort -u)
if [[ -n $bad ]]; then
  echo "check-symbols: $lib defines external symbols outside the mmusim_ namespace:" >&2
  sed 's/^/  /' <<<"$bad" >&2
  exit 1
fi
n=$(awk 'NF == 3' <<<"$nm_out" | wc -l)
echo "check-symbols: all $n external symbols of $(basename "$lib") start with mmusim_"
