#!/usr/bin/env bash
# The device check: on a GPU machine that has Python 3.12 and JAX but not our
# PyTensor and no internet, in one call of under 6 minutes:
#   bench:    python3 bench/bench.py --jax-devices --rows 50000 --repeats 3  (dA epoch: step vs block path vs JAX by hand)
#   sda:      python3 bench/bench.py --sda --rows 50000 --repeats 2   (SdA all phases: the same three)
#   dA:       python3 dA.py --dataset fashion-mnist      (both levels, 15 epochs each; an empty compile folder)
#   dA-again: the same, its compile folder now filled
#   SdA:      python3 SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1 --epochs 100 --fresh
# GPU_CHECK_STEPS="sda SdA" runs only those steps (default: all five).
# each printed, timed with its wall time, and held to what is left of the budget (GPU_CHECK_BUDGET, 330 s).
#
# Before the device call, here:   bash bench/gpu_prepare.sh
# The device call carries the two git-ignored folders it fills:
#   carry: [".whl", "data/fashion-mnist"]
#   command: bash bench/gpu_check.sh        (timeout_s 400 leaves room for the start)
# .whl/ holds the cp312 wheels (pytensor 3.3.8 and what a JAX-only machine lacks), installed
# here with --target into $SITE and put on PYTHONPATH; data/fashion-mnist/ the four IDX .gz
# files, which the scripts find as --dataset fashion-mnist in the clone's data folder.
#
# Logs go to $OUT/logs.txt, all steps in one file (the device tool's $OUT; ./gpu_check_out
# elsewhere), with the two result files and the scripts' metrics.jsonl (their models and
# images stay in $RUNS, /tmp/gpu_check_runs); stdout gets the bench tables whole and each
# script's key lines, so that the reply's tail holds them. For a dry run on a CPU (a minute):
#   JAX_PLATFORMS=cpu BENCH_ARGS="--rows 2000 --repeats 1" SDA_BENCH_ARGS="--rows 2000 --repeats 1" DA_EXTRA="--epochs 1" \
#     SDA_EXTRA="--pretrain-epochs 1 --epochs 1 --hidden 100 100 100" bash bench/gpu_check.sh
set -uo pipefail   # not -e: a step that fails or runs out of time does not stop the next
cd "$(dirname "$0")/.."

BUDGET=${GPU_CHECK_BUDGET:-330}          # seconds for the whole script
BENCH_ARGS=${BENCH_ARGS:---rows 50000 --repeats 3}
SDA_BENCH_ARGS=${SDA_BENCH_ARGS:---rows 50000 --repeats 2}
STEPS=${GPU_CHECK_STEPS:-bench sda dA dA-again SdA}
DA_EXTRA=${DA_EXTRA:-}
SDA_EXTRA=${SDA_EXTRA:-}
OUT=${OUT:-gpu_check_out}
SITE=${SITE:-/tmp/site}
RUNS=${RUNS:-/tmp/gpu_check_runs}   # the scripts' models and images: large, kept out of $OUT
LOGS=$RUNS/logs
rm -rf "$LOGS"
mkdir -p "$OUT" "$RUNS" "$LOGS"
export PYTHONUNBUFFERED=1  # a step stopped at its time limit keeps the lines it printed
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }
SUMMARY=()

# step NAME CAP FILTER CMD...: run CMD with at most CAP seconds (and no more than the budget
# has left), its output to $OUT/NAME.log; print the lines FILTER matches (all: "."), the
# tail, and the wall time.
step() {
  local name=$1 cap=$2 filter=$3; shift 3
  local left=$((BUDGET - $(elapsed)))
  local limit=$((cap < left ? cap : left))
  echo
  echo "== $name: $* (limit ${limit}s)"
  if [ "$limit" -lt 10 ]; then echo "== $name: skipped, the budget is spent"; SUMMARY+=("$name skipped"); return; fi
  local t=$(date +%s.%N) rc
  timeout -k 5 "$limit" "$@" > "$LOGS/$name.log" 2>&1
  rc=$?
  local wall=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "$filter" = "." ]; then cat "$LOGS/$name.log"; else
    grep -E "$filter" "$LOGS/$name.log" | head -n 60; echo "  ..."; tail -n 6 "$LOGS/$name.log"; fi
  local why=""; [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why=" (time limit)"
  echo "== $name: wall ${wall}s, exit status $rc$why"
  SUMMARY+=("$name ${wall}s rc=$rc$why")
}

if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
    || echo "gpu_check: installing the carried wheels failed (above); going on with what is installed"
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "gpu_check: no .whl/ (run bench/gpu_prepare.sh here and carry .whl): using the PyTensor installed, if any"
fi

# The scripts and the bench read Fashion-MNIST from the clone's data folder.
export AUTOENCODERS_DATA="$PWD/data"
HAVE_DATA=1
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "data/fashion-mnist/$f.gz" ] || [ -f "/usr/share/datasets/fashion-mnist/$f.gz" ] || HAVE_DATA=0
done
[ "$HAVE_DATA" = 1 ] || echo "gpu_check: no Fashion-MNIST in data/fashion-mnist/ (run bench/gpu_prepare.sh, carry data/fashion-mnist)"

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || echo "(no nvidia-smi)"
echo "cores: $(nproc); $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB memory"}')"
python3 - <<'EOF'
import importlib, platform
print("python", platform.python_version())
for name in ("jax", "jaxlib", "pytensor", "numpy", "scipy", "numba", "PIL", "tqdm"):
    try:
        m = importlib.import_module(name)
        print(f"  {name} {getattr(m, '__version__', '?')}  ({m.__file__.rsplit('/', 2)[0]})")
    except Exception as exc:  # noqa: BLE001
        print(f"  {name}: not importable ({type(exc).__name__}: {str(exc)[:80]})")
import jax
print("jax devices:", jax.devices(), "default backend:", jax.default_backend())
EOF

# What the library chooses here, and whether its host-side graphs (dA.py's reconstruction
# sheet, SdA.py's predictions) compile in PyTensor's default mode. They need numba (not
# carried: llvmlite alone is ~60 MB) or a C compiler with OpenBLAS; without either, the
# scripts run with PyTensor's Python linker for those graphs and --mode JAX for training
# (what --mode default means wherever JAX is installed).
SCRIPT_MODE=()
SCRIPT_ENV=()
if ! python3 - <<'EOF'
import numpy as np
from autoencoders_tutorial.engine import ENGINE, host_function, pt
from autoencoders_tutorial.paths import resolve_path
print("library engine:", ENGINE.get("backend"), "| default path:", resolve_path().describe())
x = pt.matrix("x")
try:
    assert host_function([x], pt.exp(x).sum())(np.ones((2, 2), dtype=x.dtype)) > 0
except Exception as exc:  # noqa: BLE001
    raise SystemExit(f"host-side graph failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
print("host-side graphs compile in the default mode")
EOF
then
  echo "gpu_check: host-side graphs do not compile in PyTensor's default mode here; the scripts run with" \
       "PYTENSOR_FLAGS=linker=py --mode JAX"
  SCRIPT_MODE=(--mode JAX)
  SCRIPT_ENV=(env "PYTENSOR_FLAGS=linker=py${PYTENSOR_FLAGS:+,$PYTENSOR_FLAGS}")
fi
echo "setup: $(elapsed)s"

wanted() { case " $STEPS " in *" $1 "*) return 0;; esac; echo; echo "== $1: not in GPU_CHECK_STEPS"; return 1; }

# shellcheck disable=SC2086  # BENCH_ARGS, SDA_BENCH_ARGS, DA_EXTRA, SDA_EXTRA are word lists
wanted bench && step bench 170 . python3 bench/bench.py --jax-devices $BENCH_ARGS --results "$OUT/bench_dA_gpu.json"
wanted sda && step sda 120 . python3 bench/bench.py --sda $SDA_BENCH_ARGS --results "$OUT/bench_sda_gpu.json"
if [ "$HAVE_DATA" = 1 ]; then
  # as a new user meets it: an empty PyTensor compile folder; then again, that folder filled
  COMPILEDIR=$(mktemp -d)
  wanted dA && step dA 60 "dataset|compiled|Training epoch|ran for|note|rror" \
    env PYTENSOR_FLAGS="base_compiledir=$COMPILEDIR${PYTENSOR_FLAGS:+,$PYTENSOR_FLAGS}" \
    "${SCRIPT_ENV[@]}" python3 dA.py --dataset fashion-mnist --output-dir "$RUNS/dA" "${SCRIPT_MODE[@]}" $DA_EXTRA
  wanted dA-again && step dA-again 60 "ran for|rror" \
    env PYTENSOR_FLAGS="base_compiledir=$COMPILEDIR${PYTENSOR_FLAGS:+,$PYTENSOR_FLAGS}" \
    "${SCRIPT_ENV[@]}" python3 dA.py --dataset fashion-mnist --output-dir "$RUNS/dA2" "${SCRIPT_MODE[@]}" $DA_EXTRA
  wanted SdA && step SdA "$BUDGET" "dataset|compiled|Training epoch (0|1|14),|epoch (1|2) done|ran for|Optimization|note|rror" \
    "${SCRIPT_ENV[@]}" python3 SdA.py --dataset fashion-mnist --batch-size 20 --pretrain-lr 0.1 --epochs 100 --fresh \
    --output-dir "$RUNS/SdA" "${SCRIPT_MODE[@]}" $SDA_EXTRA
fi

for run in dA SdA; do [ -f "$RUNS/$run/metrics.jsonl" ] && cp "$RUNS/$run/metrics.jsonl" "$OUT/$run.metrics.jsonl"; done
for f in "$LOGS"/*.log; do echo "==> $f"; cat "$f"; done > "$OUT/logs.txt" 2>/dev/null  # one file: the device returns 8
echo
echo "== summary: ${SUMMARY[*]}; total $(elapsed)s" | tee "$OUT/summary.txt"
