"""Shared fixtures: tiny synthetic data, float64 for exact numeric checks."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import utils  # noqa: E402  (configures the engine before pytensor is imported)
import pytensor  # noqa: E402


@pytest.fixture
def float64():
    """Run a test in float64 so finite differences are meaningful."""
    with pytensor.config.change_flags(floatX="float64"):
        yield


@pytest.fixture
def tiny():
    """A learnable 4x4-pixel, 3-class problem: 200/50/50 rows."""
    return utils.make_synthetic(n_train=200, n_valid=50, n_test=50, img_shape=(4, 4), n_classes=3, seed=0)


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
