"""graph: sgd_updates, minibatch functions (C givens and the JAX host path agree), compiled classifiers."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from helpers import QUIET
from helpers import MODES

from autoencoders_tutorial import datasets, graph, paths, steps, training
from autoencoders_tutorial.paths import RunContext
from dA import dA


def test_sgd_updates_exact_step_and_refuses_non_shared(float64):
    w = pytensor.shared(np.array([1.0, -2.0]), name="w")
    [(p, new)] = graph.sgd_updates(pt.sum(w ** 3), [w], 0.1)
    assert p is w
    np.testing.assert_allclose(new.eval(), [1.0 - 0.1 * 3, -2.0 - 0.1 * 12])
    x = pt.scalar()
    with pytest.raises(ValueError, match="shared variables"):
        graph.sgd_updates(x**2, [x], 0.1)


@pytest.mark.parametrize("mode", MODES)
def test_minibatch_function_slices_rows(mode):
    data = pytensor.shared(np.arange(24, dtype=pytensor.config.floatX).reshape(8, 3))
    x = pt.matrix("x")
    f = graph.minibatch_function([(x, data)], x.sum(axis=1), 3, mode=mode)
    np.testing.assert_array_equal(np.asarray(f(1)), [30, 39, 48])  # rows 3, 4, 5
    assert graph.n_batches(data, 3) == 2 and graph.n_batches(np.zeros((7, 1)), 2) == 3


def _train(tiny, mode, level, seed=3, epochs=3):
    train_x, _ = datasets.shared_dataset(tiny.train)
    x = pt.matrix("x")
    da = dA(np.random.default_rng(seed), theano_rng=11, input=x, n_visible=16, n_hidden=8)
    cost, updates = da.get_cost_updates(level, 0.1)
    step = graph.minibatch_function([(x, train_x)], cost, 10, updates=updates, mode=mode)
    res = training.train_epochs(step, graph.n_batches(train_x, 10), epochs, context=QUIET)
    return da, res.costs


@pytest.mark.slow  # the case with noise below stays in the default tier
def test_jax_equals_c_without_noise(tiny):
    pytest.importorskip("jax")
    da_c, costs_c = _train(tiny, "CVM", 0.0)
    da_j, costs_j = _train(tiny, "JAX", 0.0)
    np.testing.assert_allclose(costs_j, costs_c, rtol=1e-5)
    for p, q in zip(da_c.params, da_j.params):
        np.testing.assert_allclose(np.asarray(q.get_value()), p.get_value(), rtol=1e-4, atol=1e-5)


def test_jax_draws_the_c_masks_from_the_shared_generator(tiny):
    # JAX mode draws the noise on the host with the C back end's op and generator, so
    # with noise too the two back ends agree (to float32 rounding), and the shared
    # generator's state is the one a checkpoint saves.
    pytest.importorskip("jax")
    da_c, costs_c = _train(tiny, "CVM", 0.3, epochs=6)
    da_j, costs_j = _train(tiny, "JAX", 0.3, epochs=6)
    assert costs_j[-1] < 0.85 * costs_j[0]
    np.testing.assert_allclose(costs_j, costs_c, rtol=1e-4)
    assert da_j.theano_rng.get_value().bit_generator.state == da_c.theano_rng.get_value().bit_generator.state
    # the loop's end gave the JAX-updated parameters numpy values again
    assert all(isinstance(p.get_value(borrow=True), np.ndarray) for p in da_j.params)


def test_jax_masks_are_the_c_masks_bit_for_bit():
    pytest.importorskip("jax")
    X = pytensor.shared(np.ones((60, 50), dtype=pytensor.config.floatX))
    masks = {}
    for mode in ("CVM", "JAX"):
        x = pt.matrix("x")
        da = dA(0, theano_rng=21, input=x, n_visible=50, n_hidden=3)
        tilde = da.get_corrupted_input(x, 0.4)
        f = graph.minibatch_function([(x, X)], tilde, 20, updates=da.noise_updates(), mode=mode)
        masks[mode] = [np.asarray(f(i)) for i in range(3)]
    for a, b in zip(masks["CVM"], masks["JAX"]):
        np.testing.assert_array_equal(a, b)


def test_jax_host_draws_follow_extra_inputs():
    # a draw whose parameter is an input of the function (the tutorial's binomial(p=1-level))
    pytest.importorskip("jax")
    X = pytensor.shared(np.ones((20, 400), dtype=pytensor.config.floatX))
    means = {}
    for mode in ("CVM", "JAX"):
        x, level = pt.matrix("x"), pt.scalar("level")
        rng = pytensor.shared(np.random.default_rng(3))
        next_rng, mask = pt.random.binomial(1, 1 - level, size=x.shape, rng=rng, return_next_rng=True)
        f = graph.minibatch_function([(x, X)], pt.mean(x * mask), 20, updates=[(rng, next_rng)],
                                     extra_inputs=[level], mode=mode)
        means[mode] = [float(f(0, 0.0)), float(f(0, 0.9)), float(f(0, 0.0))]
    assert means["JAX"][0] == 1.0 and means["JAX"][1] < 0.2 and means["JAX"][2] == 1.0
    np.testing.assert_allclose(means["JAX"], means["CVM"])


@pytest.mark.parametrize("mode", MODES)
def test_compile_classifier_trains_only_the_given_params(tiny, mode):
    from logistic_sgd import LogisticRegression
    from mlp import HiddenLayer

    x, y = pt.matrix("x"), pt.ivector("y")
    hidden = HiddenLayer(np.random.default_rng(0), x, 16, 5)
    top = LogisticRegression(hidden.output, 5, 3)
    data = datasets.shared_splits(tiny)
    # a minibatch over 127 rows once broke JAX's arange in the negative log-likelihood
    train, valid, test = paths.compile_classifier(x, y, top.negative_log_likelihood(y), top.errors(y), top.params,
                                                  [data[0], data[0], data[0]], 200, 0.5, RunContext(mode))
    W_hidden = hidden.W.get_value().copy()
    before = float(np.mean(valid()))
    for _ in range(20):
        train(0)
    training.sync_shared()
    np.testing.assert_array_equal(hidden.W.get_value(), W_hidden)  # frozen: not in params
    assert float(np.mean(valid())) < before and test() == valid()  # same rows, same errors
    assert len(valid()) == 1  # one minibatch of 200 rows


def test_precomputed_rows_fill_once_and_one_per_group():
    data = pytensor.shared(np.arange(12, dtype=pytensor.config.floatX).reshape(6, 2))
    x = pt.matrix("x")
    calls = []
    double = graph.minibatch_function([(x, data)], 2 * x, 2, mode="CVM")

    def fill(i):
        calls.append(i)
        return double(i)

    group = []
    a = steps.PrecomputedRows(fill, pytensor.shared(np.zeros((0, 2), dtype=data.dtype)), 5, 2, group)
    b = steps.PrecomputedRows(fill, pytensor.shared(np.zeros((0, 2), dtype=data.dtype)), 6, 2, group)
    a.ensure()
    a.ensure()  # filled once
    np.testing.assert_array_equal(a.buffer.get_value(), 2 * np.arange(8).reshape(4, 2))  # 2 full minibatches of 5 rows
    assert calls == [0, 1]
    b.ensure()  # a's buffer is freed: one filled at a time
    assert a.buffer.get_value().shape == (0, 2) and not a.ready and b.buffer.get_value().shape == (6, 2)
