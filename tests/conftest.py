"""Shared fixtures: tiny synthetic data, float64 for exact numeric checks, a local HTTP server."""

import gzip
import http.server
import importlib.util
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from autoencoders_tutorial import datasets
from autoencoders_tutorial.engine import pytensor

HAS_JAX = importlib.util.find_spec("jax") is not None

#: The back ends the end-to-end tests run on: the C back end's ``givens`` path, and JAX's
#: host path when JAX is installed. CI runs both tiers, so both back ends; with JAX
#: installed the C back end's runs are in the slow tier (their C compilation is most of a
#: cold run's time), without it they are the default tier's.
MODES = [pytest.param("CVM", marks=[pytest.mark.slow] if HAS_JAX else []),
         pytest.param("JAX", marks=pytest.mark.skipif(not HAS_JAX, reason="JAX not installed"))]


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Every test sees Python's usual Ctrl-C (a ``KeyboardInterrupt``), also when the suite itself was
    started with SIGINT ignored (a background job of a non-interactive shell, as some CI runners are)."""
    import signal

    old = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


@pytest.fixture
def float64():
    """Run a test in float64 so finite differences are meaningful."""
    with pytensor.config.change_flags(floatX="float64"):
        yield


@pytest.fixture
def tiny():
    """A learnable 4x4-pixel, 3-class problem: 200/50/50 rows."""
    return datasets.make_synthetic(n_train=200, n_valid=50, n_test=50, img_shape=(4, 4), n_classes=3, seed=0)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    cut: set = set()

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if name in self.cut else body)
        self.wfile.flush()
        if name in self.cut:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server on 127.0.0.1: ``(base_url, handler)``; set ``handler.files``."""
    _Handler.files, _Handler.cut = {}, set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", _Handler
    httpd.shutdown()
    httpd.server_close()


def run_python(args, cwd, **env):
    """Run ``python args...`` in ``cwd`` with the library importable as if installed."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=300)
