"""Helpers the tests import (``from helpers import ...``): the back ends to run on, oracles, file makers."""

import gzip
import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autoencoders_tutorial.engine import pytensor
from autoencoders_tutorial.paths import RunContext

#: A run context that prints nothing: the step path in the default mode, without metrics.
QUIET = RunContext(log=lambda *_: None)

ROOT = Path(__file__).resolve().parents[1]

HAS_JAX = importlib.util.find_spec("jax") is not None

#: The back ends the end-to-end tests run on: the C back end's ``givens`` path, and JAX's
#: host path when JAX is installed. CI runs both tiers, so both back ends; with JAX
#: installed the C back end's runs are in the slow tier (their C compilation is most of a
#: cold run's time), without it they are the default tier's.
MODES = [pytest.param("CVM", marks=[pytest.mark.slow] if HAS_JAX else []),
         pytest.param("JAX", marks=pytest.mark.skipif(not HAS_JAX, reason="JAX not installed"))]


def assert_grads_match_fd(cost, params, givens_values, eps=1e-6, rtol=1e-6, atol=1e-8):
    """Compare ``pytensor.grad(cost, params)`` with central finite differences (float64).

    ``givens_values`` maps the symbolic inputs of ``cost`` to numeric values.
    """
    inputs = list(givens_values)
    values = [givens_values[k] for k in inputs]
    f_cost = pytensor.function(inputs, cost)
    f_grads = pytensor.function(inputs, pytensor.grad(cost, params))
    for p, g in zip(params, f_grads(*values)):
        v = p.get_value()
        num = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            for sign in (1, -1):
                w = v.copy()
                w[idx] += sign * eps
                p.set_value(w)
                num[idx] += sign * f_cost(*values) / (2 * eps)
        p.set_value(v)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol, err_msg=p.name)


def write_idx(path, arr, compress):
    """Write ``arr`` (uint8) as an MNIST-format IDX file, gzipped or raw."""
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def idx_dir(tmp_path, compress=True, n_train=30, n_test=7):
    """A folder of the four MNIST IDX files with random 3x2 images; training labels 0..9 in turn."""
    rng = np.random.default_rng(0)
    sfx = ".gz" if compress else ""
    d = tmp_path / "idx"
    d.mkdir()
    write_idx(d / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_train, 3, 2), dtype=np.uint8), compress)
    write_idx(d / f"train-labels-idx1-ubyte{sfx}", np.arange(n_train) % 10, compress)  # every class in any 10 rows
    write_idx(d / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_test, 3, 2), dtype=np.uint8), compress)
    write_idx(d / f"t10k-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_test, dtype=np.uint8), compress)
    return d


def run_python(args, cwd, **env):
    """Run ``python args...`` in ``cwd`` with the library importable as if installed."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=300)
