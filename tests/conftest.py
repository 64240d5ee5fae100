"""Shared fixtures: tiny synthetic data, float64 for exact numeric checks, a local HTTP server."""

import http.server
import threading

import numpy as np
import pytest

from autoencoders_tutorial import datasets
from autoencoders_tutorial.engine import pytensor


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
    """Run a test in float64 so finite differences are meaningful, on PyTensor's Python linker.

    These tests check the graphs' math (against finite differences or a numpy oracle), which
    is the same on every back end; FAST_COMPILE runs it without compiling C code, most of a
    cold run's time. The back ends' agreement with each other is tested on its own."""
    with pytensor.config.change_flags(floatX="float64", mode="FAST_COMPILE"):
        yield


@pytest.fixture
def tiny():
    """A learnable 4x4-pixel, 3-class problem: 200/50/50 rows."""
    return datasets.make_synthetic(n_train=200, n_valid=50, n_test=50, img_shape=(4, 4), n_classes=3, seed=0)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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
