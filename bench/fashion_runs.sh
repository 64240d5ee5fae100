#!/usr/bin/env bash
# The Fashion-MNIST runs behind the README's numbers, one after another (about 40 minutes
# on 2 cores). Each writes its log to $OUT/<name>.log.
#   bash bench/fashion_runs.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-fashion_runs}
mkdir -p "$OUT"
run() { local name=$1; shift; echo "== $name: $*"; { time "$@"; } > "$OUT/$name.log" 2>&1; tail -n 3 "$OUT/$name.log"; }
run dA        python dA.py --dataset fashion-mnist --output-dir "$OUT/dA"
run logistic  python logistic_sgd.py --dataset fashion-mnist --output-dir "$OUT/logistic"
run mlp       python mlp.py --dataset fashion-mnist --output-dir "$OUT/mlp"
run sda_all   python SdA.py --dataset fashion-mnist --batch-size 20 --epochs 100 --features --fresh --output-dir "$OUT/sda_all"
run sda_few   python SdA.py --dataset fashion-mnist --batch-size 20 --n-labels 1000 --fresh --output-dir "$OUT/sda_few"
run sda_few_random python SdA.py --dataset fashion-mnist --batch-size 20 --n-labels 1000 --pretrain-epochs 0 --fresh --output-dir "$OUT/sda_few_random"
