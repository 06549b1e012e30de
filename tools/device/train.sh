#!/usr/bin/env bash
# Train on a lent GPU machine under KERAS_BACKEND=jax, after `python tools/device/pack.py` ran here.
# The data travels in pieces (3 by default), one per `run` call of the device tool, all on the same
# warm machine (it goes back after ~30 s idle: make each call at once after the last):
#
#   1. carry [".device/data_1", ".device/wheels"]  command: bash tools/device/train.sh --probe
#      Installs Keras under /tmp/site, names the GPU, and times the training step (PROBE_ARGS of
#      bench/train_speed.py) in JOBS (default 1) processes sharing the GPU; the timing stays in /tmp.
#   2. carry [".device/data_2"]  command: bash tools/device/train.sh --hold   (each middle piece)
#   3. carry [".device/data_3"]  command: TRAIN_SECONDS=N bash tools/device/train.sh --jobs FILE
#      FILE holds one `python -m fer_core train` flag set per line (no --data/--out/--run-dir/
#      --epochs); its runs train side by side on the GPU. --epochs is the most that fits N seconds
#      at the probed speed (EPOCHS=... overrides it, MAX_EPOCHS caps it, default 200); under
#      MIN_EPOCHS (default 40) it profiles the step instead (tools/device/profile_step.py).
#
# Each run gets N seconds of wall time; on the limit it stops after the batch in flight and keeps
# its best epoch. $OUT receives models.tar cut into 15 MB pieces (the device returns files of at
# most 16 MB; join them with `cat models.tar.part-* | tar x`): job_K.keras, its card job_K.json
# (GPU, backend, command, history, metrics) and job_K.log for each line K of FILE.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax} XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
work=${TMPDIR:-/tmp}/fer_device
probe=$work/probe
jobs=${JOBS:-1}
probe_args=${PROBE_ARGS:---arch vgg_fer --precision bf16 --resampling single}

if [ "${1:-}" = "--probe" ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .device/wheels/*.whl
  nvidia-smi -L || true
  rm -rf "$probe" && mkdir -p "$probe"
  for k in $(seq 1 "$jobs"); do
    # shellcheck disable=SC2086
    "$python" bench/train_speed.py $probe_args --batches 60 --json > "$probe/$k.json" &
  done
  wait
  cat "$probe"/*.json
  exit 0
fi

if [ "${1:-}" = "--hold" ]; then
  ls -l .device/data_*/
  exit 0
fi

[ "${1:-}" = "--jobs" ] && [ -f "${2:-}" ] || { echo "usage: $0 --probe | --hold | --jobs FILE" >&2; exit 2; }
"$python" -c "import keras" 2>/dev/null || { echo "Keras is missing: run the --probe call first, on this machine" >&2; exit 2; }
mapfile -t flag_sets < <(grep -v '^\s*\(#\|$\)' "$2")
mkdir -p "$work" && rm -rf "$work"/job_* "$work"/run_*
"$python" tools/device/unpack.py "$work/fer2013.csv"

budget=${TRAIN_SECONDS:-480}
if [ -z "${EPOCHS:-}" ]; then
  # the slowest probed process's epoch, plus validation and the 58 MB checkpoint (session 15, H100:
  # a real epoch took 1.85 s where the probe timed 0.64 s of steps); ~90 s go to start and finish
  EPOCHS=$("$python" - "$probe" "$budget" "${MAX_EPOCHS:-200}" <<'EOF'
import json, pathlib, sys
def seconds_per_epoch(path):  # the JSON line among whatever else the benchmark printed
    line = [l for l in path.read_text().splitlines() if l.startswith("{")][-1]
    return json.loads(line)["rows"][0]["seconds_per_epoch"]
epoch = max(seconds_per_epoch(p) for p in pathlib.Path(sys.argv[1]).glob("*.json"))
print(max(1, min(int(sys.argv[3]), int((int(sys.argv[2]) - 90) / (epoch * 1.15 + 1.3)))))
EOF
  )
  if [ "$EPOCHS" -lt "${MIN_EPOCHS:-40}" ]; then
    echo "$(date +%T) only $EPOCHS epochs fit in $budget s: profiling the training step instead"
    exec timeout "$budget" "$python" tools/device/profile_step.py --batch-size 128
  fi
fi
echo "$(date +%T) ${#flag_sets[@]} runs of $EPOCHS epochs, $budget s each"
k=0
pids=()
for flags in "${flag_sets[@]}"; do
  k=$((k + 1))
  # shellcheck disable=SC2086
  timeout --preserve-status -s TERM -k 60 "$budget" "$python" -m fer_core train --data "$work/fer2013.csv" \
    --out "$work/job_$k.keras" --run-dir "$work/run_$k" --epochs "$EPOCHS" $flags > "$work/job_$k.out" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
for k in $(seq 1 "${#flag_sets[@]}"); do
  tr '\r' '\n' < "$work/job_$k.out" | grep -v '\] *[0-9]*/[0-9]* ' > "$work/job_$k.log" || true
  echo "== job $k: ${flag_sets[$((k - 1))]}" && tail -n 6 "$work/job_$k.log"
done
out=${OUT:-$work/out}
mkdir -p "$out"
(cd "$work" && tar cf - job_*.keras job_*.json job_*.log 2>/dev/null) | split -b 15M -d - "$out/models.tar.part-"
ls -l "$out"
exit "$status"
