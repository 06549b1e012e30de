#!/usr/bin/env bash
# Train on a lent GPU machine under KERAS_BACKEND=jax, after `python tools/device/pack.py` ran here.
#
# One call (session 16 on; the machine goes back ~30 s after a call, and each call costs a few seconds
# of transfer): slim the working tree with `bash tools/device/aside.sh out`, then
#
#   carry [".device/data_1", ".device/data_2", ".device/data_3", ".device/wheels"]
#   command: CALL_SECONDS=T bash tools/device/train.sh --all FILE      (T: the call's timeout_s)
#
# and `bash tools/device/aside.sh back` as soon as it returns. --all installs Keras, times the
# training step in as many processes as FILE has runs while the CSV is written back, then trains as
# --jobs with what is left of the call (TRAIN_SECONDS: CALL_SECONDS less the time spent so far and
# 90 s: a run stopped on its limit still writes its best epoch, card and calibration, up to 60 s,
# and the models are packed after that).
#
# Or in pieces, one per call, all on the same warm machine (sessions 14-15, with the whole tree):
#   1. carry [".device/data_1", ".device/wheels"]  command: bash tools/device/train.sh --probe
#      Installs Keras under /tmp/site, names the GPU, and times the training step (PROBE_ARGS of
#      bench/train_speed.py) in JOBS (default 1) processes sharing the GPU; the timing stays in /tmp.
#   2. carry [".device/data_2"]  command: bash tools/device/train.sh --hold   (each middle piece)
#   3. carry [".device/data_3"]  command: TRAIN_SECONDS=N bash tools/device/train.sh --jobs FILE
#
# FILE holds one `python -m fer_core train` flag set per line (no --data/--out/--run-dir/--epochs);
# its runs train side by side on the GPU. --epochs is the most that fits N seconds at the probed
# speed (EPOCHS=... overrides it, MAX_EPOCHS caps it, default 200); under MIN_EPOCHS (default 40) it
# profiles the step instead (tools/device/profile_step.py).
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

install_keras() {  # the carried wheels under /tmp/site, unless that Keras is importable already
  local wanted
  wanted=$(basename .device/wheels/keras-*.whl | cut -d- -f2)
  if "$python" -c "import keras, sys; sys.exit(keras.__version__ != '$wanted')" 2>/dev/null; then
    echo "Keras $wanted is installed"
    return
  fi
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .device/wheels/*.whl
}

probe_step() {  # time the training step in $1 processes side by side
  nvidia-smi -L || true
  rm -rf "$probe" && mkdir -p "$probe"
  local k probes=()
  for k in $(seq 1 "$1"); do
    # shellcheck disable=SC2086
    "$python" bench/train_speed.py $probe_args --batches "${PROBE_BATCHES:-60}" --json > "$probe/$k.json" &
    probes+=($!)
  done
  wait "${probes[@]}"
  cat "$probe"/*.json
}

read_jobs() {  # the flag sets of FILE, one per line, into flag_sets
  [ -f "${1:-}" ] || { echo "usage: $0 --probe | --hold | --jobs FILE | --all FILE" >&2; exit 2; }
  mapfile -t flag_sets < <(grep -v '^\s*\(#\|$\)' "$1")
  [ "${#flag_sets[@]}" -gt 0 ] || { echo "$1: no runs in it (one flag set per line)" >&2; exit 2; }
}

unpack_data() {
  mkdir -p "$work" && rm -rf "$work"/job_* "$work"/run_*
  "$python" tools/device/unpack.py "$work/fer2013.csv"
}

case "${1:-}" in
  --probe)
    install_keras
    probe_step "$jobs"
    exit 0
    ;;
  --hold)
    ls -l .device/data_*/
    exit 0
    ;;
  --jobs)
    read_jobs "${2:-}"
    "$python" -c "import keras" 2>/dev/null || { echo "Keras is missing: run the --probe call first, on this machine" >&2; exit 2; }
    unpack_data
    budget=${TRAIN_SECONDS:-480}
    ;;
  --all)
    read_jobs "${2:-}"
    [ -n "${CALL_SECONDS:-}" ] || { echo "--all needs CALL_SECONDS, the call's timeout_s" >&2; exit 2; }
    install_keras
    unpack_data > "$work.unpack.log" 2>&1 &
    unpacking=$!
    probe_step "${#flag_sets[@]}"
    wait "$unpacking" || { cat "$work.unpack.log" >&2; exit 2; }
    cat "$work.unpack.log"
    budget=${TRAIN_SECONDS:-$((CALL_SECONDS - SECONDS - 90))}
    ;;
  *)
    echo "usage: $0 --probe | --hold | --jobs FILE | --all FILE" >&2
    exit 2
    ;;
esac

if [ -z "${EPOCHS:-}" ]; then
  # a real epoch: twice the slowest probed process's steps, plus 0.6 s a process for validation, the
  # moving average and the 58 MB checkpoint (session 15, H100, one process: 1.85 s where the probe
  # timed 0.64 s; session 20, H200, four processes: 3.4-4.3 s a vgg_fer epoch where it timed 0.6-0.8 s);
  # ~90 s go to start and finish
  EPOCHS=$("$python" - "$probe" "$budget" "${MAX_EPOCHS:-200}" "${#flag_sets[@]}" <<'EOF'
import json, pathlib, sys
def seconds_per_epoch(path):  # the JSON line among whatever else the benchmark printed
    line = [l for l in path.read_text().splitlines() if l.startswith("{")][-1]
    return json.loads(line)["rows"][0]["seconds_per_epoch"]
epoch = max(seconds_per_epoch(p) for p in pathlib.Path(sys.argv[1]).glob("*.json"))
print(max(1, min(int(sys.argv[3]), int((int(sys.argv[2]) - 90) / (epoch * 2 + 0.6 * int(sys.argv[4]))))))
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
