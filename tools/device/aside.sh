#!/usr/bin/env bash
# Slim the working tree for one device call that carries all the data (train.sh --all), and restore it.
#
#   bash tools/device/aside.sh out    # move the tracked model files and screenshots to .device/aside/
#   bash tools/device/aside.sh back   # put them back; fails loudly unless the tree is whole again
#
# A device call copies the working tree as well as what it carries, 64 MiB in all. The tree is ~45 MB,
# almost all of it the shipped model files, which the device does not need; without them the call
# carries the three data pieces and the wheels (~59 MB) at once, instead of one piece per call.
set -euo pipefail
cd "$(dirname "$0")/../.."
aside=.device/aside
case "${1:-}" in
  out)
    mkdir -p "$aside"
    git ls-files -z -- 'models/*.keras' 'models/*.tflite' 'docs/screenshots/*.png' |
      while IFS= read -r -d '' path; do
        [ -e "$path" ] || continue
        mkdir -p "$aside/$(dirname "$path")" && mv "$path" "$aside/$path"
      done
    echo "moved aside: $(find "$aside" -type f | wc -l) files; the tree left to copy:"
    { git ls-files -z | xargs -0 du -cb 2>/dev/null || true; } | tail -n 1  # du skips the files moved
    ;;
  back)
    [ -d "$aside" ] && (cd "$aside" && find . -type f -print0) | while IFS= read -r -d '' path; do
      mkdir -p "$(dirname "$path")" && mv "$aside/$path" "$path"
    done
    rm -rf "$aside"
    missing=$(git ls-files --deleted)
    [ -z "$missing" ] || { echo "still missing from the working tree:" >&2; echo "$missing" >&2; exit 1; }
    echo "the working tree is whole again"
    ;;
  *) echo "usage: $0 out | back" >&2; exit 2 ;;
esac
