#!/usr/bin/env bash
# Run HERE (not on the device) before the device call of bench/gpu_check.sh: fills the two
# git-ignored folders that call carries, run(carry=[".whl", "data/fashion-mnist"]):
#
#   .whl/               the cp312 manylinux x86_64 wheels a machine with only Python 3.12, JAX
#                       (and so numpy and scipy) lacks: pytensor 3.3.8 and its pure-Python
#                       dependencies, pillow (the scripts' PNGs), tqdm;
#   data/fashion-mnist/ Fashion-MNIST's four IDX .gz files (the data folder of a clone, so
#                       `--dataset fashion-mnist` finds them there).
#
# Not carried: numpy and scipy (JAX depends on both, so they are there) and numba (a
# requirement of pytensor, but its llvmlite wheel alone is about 60 MB and the carry limit is
# 64 MiB in all; PyTensor imports and runs JAX functions without it, and gpu_check.sh
# handles a machine where the scripts' few host-side functions cannot compile without it).
# The carried total is printed at the end; it must stay under 64 MiB with the working tree.
#   bash bench/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
PYTENSOR_VERSION=3.3.8
CARRIED=("pytensor==$PYTENSOR_VERSION" filelock setuptools pillow tqdm)
ON_DEVICE="numpy scipy"       # JAX's own dependencies
NOT_CARRIED="numba llvmlite"  # too large to carry; see above

rm -rf .whl
mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --dest .whl "${CARRIED[@]}"

# Every requirement of the pytensor wheel must be carried, on the device already, or named above.
"$PY" - "$ON_DEVICE $NOT_CARRIED" <<'EOF'
import re, sys, zipfile
from pathlib import Path

known = set(sys.argv[1].split())
wheels = sorted(Path(".whl").glob("*.whl"))
carried = {re.split(r"-\d", w.name)[0].lower().replace("_", "-") for w in wheels}
[pt] = [w for w in wheels if w.name.startswith("pytensor-")]
with zipfile.ZipFile(pt) as z:
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
missing = []
for line in meta.splitlines():
    if line.startswith("Requires-Dist:") and "extra ==" not in line:
        name = re.match(r"[A-Za-z0-9_.-]+", line.split(":", 1)[1].strip()).group(0).lower().replace("_", "-")
        if name not in carried and name not in known:
            missing.append(name)
if missing:
    sys.exit(f"gpu_prepare: pytensor {pt.name} now requires {', '.join(missing)}: carry it or name it in this script")
EOF

FASHION_SRC=/usr/share/datasets/fashion-mnist
if [ ! -f "$FASHION_SRC/train-images-idx3-ubyte.gz" ]; then
  echo "Fashion-MNIST not in $FASHION_SRC: installing dataset-fashion-mnist"
  apt-get install -y -q dataset-fashion-mnist >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q dataset-fashion-mnist >/dev/null; }
fi
mkdir -p data/fashion-mnist
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  cp -u "$FASHION_SRC/$f" data/fashion-mnist/
done

# Both must be ignored by git, or the working tree itself would carry them (and the commit too).
for d in .whl data/fashion-mnist; do
  git check-ignore -q "$d" || { echo "gpu_prepare: $d is not git-ignored"; exit 1; }
done
ls -l .whl data/fashion-mnist
total=$(du -cb .whl data/fashion-mnist | tail -1 | cut -f1)
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "carry: .whl $(du -sh .whl | cut -f1), data/fashion-mnist $(du -sh data/fashion-mnist | cut -f1); " \
     "$((total / 1048576)) MiB carried + $((tree / 1048576)) MiB working tree (limit 64 MiB)"
if [ $((total + tree)) -ge $((64 * 1048576)) ]; then echo "gpu_prepare: over the 64 MiB carry limit"; exit 1; fi
