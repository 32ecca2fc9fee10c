#!/usr/bin/env bash
# The dependency rule of ../shared/DESIGN.md (Layers), checked on every
# #include "..." of the library's sources: a layer includes only the layers
# below it, and the configuration and shared helpers (src/*.c and src/*.h
# other than src/machine.c) include no layer at all. Layers, bottom up:
#   mmu  tlb  cpu  kmap  trace  (then src/machine.c, which may include all)
# A layer's private headers (NAME_impl.h) are its own: a file of another
# layer, or src/machine.c, includes that layer's other headers only.
# Usage: bash scripts/check-layers.sh [SRC_DIR]   (exit 1 on a violation)
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
order=(mmu tlb cpu kmap trace)
rank() { local i; for i in "${!order[@]}"; do [[ ${order[$i]} == "$1" ]] && { echo "$i"; return; }; done; echo -1; }

bad=0
while IFS= read -r -d '' file; do
  rel=${file#"$src"/}
  case $rel in
    machine.c) layer=machine; mine=99 ;;
    */*) layer=${rel%%/*}; mine=$(rank "$layer") ;;
    *) layer=config; mine=-1 ;;   # configuration and shared helpers: below every layer
  esac
  while IFS= read -r line; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
    [[ $inc == */* ]] || continue
    target=${inc%%/*}
    [[ $target == mmusim ]] && continue  # the public headers are everyone's
    if [[ $inc == *_impl.h && $target != "$layer" ]]; then
      echo "check-layers: $rel includes \"$inc\", private to the $target layer" >&2; bad=1
      continue
    fi
    theirs=$(rank "$target")
    if [[ $theirs -lt 0 ]]; then
      echo "check-layers: $rel includes \"$inc\": not a layer of src/" >&2; bad=1
    elif [[ $theirs -gt $mine ]]; then
      echo "check-layers: $rel ($layer) includes \"$inc\" from the higher layer $target" >&2; bad=1
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
done < <(find "$src" -name '*.[ch]' -print0 | sort -z)
if ((bad)); then exit 1; fi
echo "check-layers: every include follows the layer order (${order[*]}, then machine.c)"
