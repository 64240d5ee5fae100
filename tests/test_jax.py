"""The JAX path: fresh noise through explicit updates, host-side minibatches, same results as C."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

import utils
from dA import dA, run_dA

pytest.importorskip("jax")


def test_noise_advances_only_through_updates():
    da = dA(0, theano_rng=7, n_visible=300, n_hidden=2)
    tilde = da.get_corrupted_input(da.x, 0.3)
    X = np.ones((200, 300), dtype=pytensor.config.floatX)
    f = pytensor.function([da.x], tilde, updates=da.noise_updates(), mode="JAX")
    a, b = np.asarray(f(X)), np.asarray(f(X))
    assert not np.array_equal(a, b), "with the generator update, every call draws fresh noise"
    assert abs((a == 0).mean() - 0.3) < 0.01 and abs((b == 0).mean() - 0.3) < 0.01
    g = pytensor.function([da.x], tilde, mode="JAX")
    assert np.array_equal(np.asarray(g(X)), np.asarray(g(X))), "without it the JAX generator does not advance"


def _train(tiny, mode, level, seed=3, epochs=3):
    train_x, _ = utils.shared_dataset(tiny.train)
    x = pt.matrix("x")
    da = dA(np.random.default_rng(seed), theano_rng=11, input=x, n_visible=16, n_hidden=8)
    cost, updates = da.get_cost_updates(level, 0.1)
    step = utils.minibatch_function([(x, train_x)], cost, 10, updates=updates, mode=mode)
    res = utils.train_epochs(step, utils.n_batches(train_x, 10), epochs, log=lambda *_: None)
    return da, res.costs


def test_jax_equals_c_without_noise(tiny):
    da_c, costs_c = _train(tiny, "CVM", 0.0)
    da_j, costs_j = _train(tiny, "JAX", 0.0)
    np.testing.assert_allclose(costs_j, costs_c, rtol=1e-5)
    for p, q in zip(da_c.params, da_j.params):
        np.testing.assert_allclose(np.asarray(q.get_value()), p.get_value(), rtol=1e-4, atol=1e-5)


def test_jax_draws_the_c_masks_from_the_shared_generator(tiny):
    # JAX mode draws the noise on the host with the C back end's op and generator, so
    # with noise too the two back ends agree (to float32 rounding), and the shared
    # generator's state is the one a checkpoint saves.
    da_c, costs_c = _train(tiny, "CVM", 0.3, epochs=6)
    da_j, costs_j = _train(tiny, "JAX", 0.3, epochs=6)
    assert costs_j[-1] < 0.85 * costs_j[0]
    np.testing.assert_allclose(costs_j, costs_c, rtol=1e-4)
    assert da_j.theano_rng.get_value().bit_generator.state == da_c.theano_rng.get_value().bit_generator.state


def test_dA_cli_path_runs_in_jax_mode(tmp_path):
    history = run_dA(dataset="synthetic", training_epochs=2, n_hidden=6, batch_size=10, mode="JAX",
                     output_dir=tmp_path, log=lambda *_: None)
    assert len(history[0.3]) == 2 and (tmp_path / "filters_corruption_30.png").is_file()


def test_SdA_pretraining_and_finetuning_in_jax_mode(tmp_path):
    from SdA import run_SdA
    res = run_SdA(dataset="synthetic", hidden_layers_sizes=(8, 6), corruption_levels=(0.1, 0.2), batch_size=10,
                  pretraining_epochs=1, pretrain_lr=0.1, training_epochs=2, mode="JAX", output_dir=tmp_path,
                  log=lambda *_: None)
    assert 0 <= res["test_error"] <= 1


def test_SdA_resume_is_exact_in_jax_mode(tmp_path):
    from SdA import run_SdA
    kw = dict(dataset="synthetic", hidden_layers_sizes=(8, 6), corruption_levels=(0.1, 0.2), batch_size=10,
              pretraining_epochs=2, pretrain_lr=0.1, training_epochs=3, mode="JAX")
    run_SdA(output_dir=tmp_path / "full", log=lambda *_: None, **kw)
    seen = []

    def log(msg):
        if "Pre-training layer 1: Training epoch 1" in msg and not seen:
            seen.append(msg)
            raise KeyboardInterrupt

    assert run_SdA(output_dir=tmp_path / "part", log=log, **kw)["interrupted"]
    run_SdA(output_dir=tmp_path / "part", resume=True, log=lambda *_: None, **kw)
    a = utils.load_params(tmp_path / "full" / "SdA_model.npz")[0]
    b = utils.load_params(tmp_path / "part" / "SdA_model.npz")[0]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_classifiers_train_in_jax_mode_with_large_minibatches(tmp_path):
    # minibatches over 127 rows once broke JAX's arange in the negative log-likelihood
    from logistic_sgd import run_logistic
    ds = utils.make_synthetic(n_train=600, n_valid=300, n_test=300)
    clf, res = run_logistic(dataset=ds, batch_size=300, n_epochs=3, mode="JAX", output_dir=tmp_path,
                            log=lambda *_: None)
    _, res_c = run_logistic(dataset=ds, batch_size=300, n_epochs=3, mode="CVM", output_dir=tmp_path / "c",
                            log=lambda *_: None)
    assert res.test_score == pytest.approx(res_c.test_score)


def test_jax_masks_are_the_c_masks_bit_for_bit():
    X = pytensor.shared(np.ones((60, 50), dtype=pytensor.config.floatX))
    masks = {}
    for mode in ("CVM", "JAX"):
        x = pt.matrix("x")
        da = dA(0, theano_rng=21, input=x, n_visible=50, n_hidden=3)
        tilde = da.get_corrupted_input(x, 0.4)
        f = utils.minibatch_function([(x, X)], tilde, 20, updates=da.noise_updates(), mode=mode)
        masks[mode] = [np.asarray(f(i)) for i in range(3)]
    for a, b in zip(masks["CVM"], masks["JAX"]):
        np.testing.assert_array_equal(a, b)


def test_jax_host_draws_follow_extra_inputs():
    # a draw whose parameter is an input of the function (the tutorial's binomial(p=1-level))
    X = pytensor.shared(np.ones((20, 400), dtype=pytensor.config.floatX))
    means = {}
    for mode in ("CVM", "JAX"):
        x, level = pt.matrix("x"), pt.scalar("level")
        rng = pytensor.shared(np.random.default_rng(3))
        next_rng, mask = pt.random.binomial(1, 1 - level, size=x.shape, rng=rng, return_next_rng=True)
        f = utils.minibatch_function([(x, X)], pt.mean(x * mask), 20, updates=[(rng, next_rng)],
                                     extra_inputs=[level], mode=mode)
        means[mode] = [float(f(0, 0.0)), float(f(0, 0.9)), float(f(0, 0.0))]
    assert means["JAX"][0] == 1.0 and means["JAX"][1] < 0.2 and means["JAX"][2] == 1.0
    np.testing.assert_allclose(means["JAX"], means["CVM"])
