#!/usr/bin/env bash
# Train on a lent GPU machine under KERAS_BACKEND=jax, after tools/device/pack.sh ran here.
# The data travels in pieces, one per `run` call of the device tool, all on the same warm machine
# (it is given back after ~30 s idle: make each call at once after the last); with PARTS=2:
#
#   1. carry [".device/data_1", ".device/wheels"]  command: bash tools/device/train.sh --probe
#      (installs Keras, prints the GPU and bench/train_speed.py's seconds per epoch: pick --epochs)
#   2. carry [".device/data_2"]  command: bash tools/device/train.sh --arch vgg_fer --epochs 100 ...
#
# The arguments after the script are `python -m fer_core train` flags (not --data/--out/--run-dir).
# Training gets TRAIN_SECONDS (default 480) of wall time; on the limit it stops after the batch in
# flight and keeps its best epoch. $OUT receives the model cut into 15 MB pieces (the device
# returns files of at most 16 MB; join them with `cat gpu.keras.part-* > gpu.keras`), its card
# gpu.json, and train.log. The card records the GPU, the backend and the command.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
if ! "$python" -c "import keras" 2>/dev/null; then
  "$python" -m pip install -q --no-index --no-deps .device/wheels/*.whl
fi
if [ "${1:-}" = "--probe" ]; then
  nvidia-smi -L || true
  ls -l .device/*/
  exec "$python" bench/train_speed.py --arch vgg_fer vgg_fer_s --precision bf16 float32 --batches 40
fi
checksum=$(ls .device/data_*/fer2013.csv.xz.sha256 2>/dev/null | head -n 1)
work=${TMPDIR:-/tmp}/fer_device
rm -rf "$work" && mkdir -p "$work"
cat .device/data_*/part-* > "$work/fer2013.csv.xz" 2>/dev/null || true
if [ -z "$checksum" ] || ! (cd "$work" && sha256sum -c --quiet "$OLDPWD/$checksum"); then
  echo "the data on this machine is incomplete ($(ls -d .device/data_* 2>/dev/null | tr '\n' ' ')):" \
       "carry each .device/data_N in its own call (the first with .device/wheels), on one warm machine" >&2
  exit 2
fi

out=${OUT:-$work/out}
mkdir -p "$out"
status=0
timeout --preserve-status -s TERM -k 60 "${TRAIN_SECONDS:-480}" "$python" -m fer_core train --data "$work/fer2013.csv.xz" \
  --out "$work/gpu.keras" --run-dir "$work/run" "$@" > "$out/train.log" 2>&1 || status=$?
tr '\r' '\n' < "$out/train.log" | grep -v '\] *[0-9]*/[0-9]* ' | tail -n 40 || true
if [ -f "$work/gpu.keras" ]; then
  cp "$work/gpu.json" "$out/"
  split -b 15M -d "$work/gpu.keras" "$out/gpu.keras.part-"
  ls -l "$out"
fi
exit "$status"
