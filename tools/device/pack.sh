#!/usr/bin/env bash
# Pack into .device/ (git-ignored) what a lent GPU machine lacks for `python -m fer_core train`:
# the FER2013 CSV re-compressed with xz (67 MiB) and cut in PARTS pieces (default 2; the working
# tree and one call's carry must stay under 64 MiB together), and the wheels of Keras and of the two packages it
# needs that the machine's image does not hold (it has JAX, NumPy, h5py, rich, ml-dtypes...).
#
#   bash tools/device/pack.sh [path/to/fer2013.csv.gz]      # default: ../shared/data/fer2013.csv.gz
#   PARTS=3 bash tools/device/pack.sh                       # when the repo has grown past ~25 MB
#
# Then see tools/device/train.sh for the two device calls.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:-../shared/data/fer2013.csv.gz}
out=.device
parts=${PARTS:-2}
[ -f "$data" ] || { echo "$data: no such file; pass the FER2013 CSV (.csv or .csv.gz)" >&2; exit 2; }

rm -rf "$out" && mkdir -p "$out/wheels"
keras_pin=$(grep -E '^keras==' requirements.txt)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --abi cp312 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  -d "$out/wheels" "$keras_pin" namex==0.1.0 optree==0.20.0

# xz needs no code on the device: fer_core reads .csv.xz as it reads .csv.gz.
case "$data" in
  *.gz) gzip -dc "$data" ;;
  *) cat "$data" ;;
esac | nice xz -9 -T1 > "$out/fer2013.csv.xz"
(cd "$out" && sha256sum fer2013.csv.xz > fer2013.csv.xz.sha256)
split -n "$parts" -d "$out/fer2013.csv.xz" "$out/part-"
for i in $(seq 1 "$parts"); do
  mkdir "$out/data_$i" && mv "$out/part-$(printf %02d $((i - 1)))" "$out/data_$i/"
done
mv "$out/fer2013.csv.xz.sha256" "$out/data_$parts/" && rm "$out/fer2013.csv.xz"
du -sh "$out"/*
