#!/usr/bin/env bash
# The device check (issue: JAX on a GPU): install the carried PyTensor wheels, then time the
# dA epoch with JAX on the GPU and on that machine's CPU, beside NumPy, in one run.
set -euo pipefail
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
nproc
python3 -c "import jax, pytensor, numpy; print('jax', jax.__version__, jax.devices(), 'pytensor', pytensor.__version__, 'numpy', numpy.__version__)"
python3 bench/bench.py --jax-devices --rows 50000 --repeats 3
