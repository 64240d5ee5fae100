"""dA: gradients against finite differences and a numpy step, noise, training, CLI."""

import json

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from helpers import QUIET
from helpers import MODES, assert_grads_match_fd

from autoencoders_tutorial import datasets, graph, inference, modelfiles, training
from autoencoders_tutorial.engine import host_function
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import load_params, save_params
from dA import dA, main, run_dA


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def numpy_sgd_step(X, mask, W, b, bp, Wp, lr, loss, decoder):
    """An independent numpy implementation of one dA SGD step; returns new params and cost."""
    n = X.shape[0]
    tx = X * mask
    h = sigmoid(tx @ W + b)
    Wd = W.T if Wp is None else Wp
    a = h @ Wd + bp
    if loss == "cross_entropy":
        z = sigmoid(a)
        cost = -np.sum(X * np.log(z) + (1 - X) * np.log(1 - z), axis=1).mean()
        da = (z - X) / n
    else:
        z = a if decoder == "linear" else sigmoid(a)
        cost = np.sum((z - X) ** 2, axis=1).mean()
        dz = 2 * (z - X) / n
        da = dz if decoder == "linear" else dz * z * (1 - z)
    g_wd = h.T @ da
    g_bp = da.sum(0)
    dpre = (da @ Wd.T) * h * (1 - h)
    g_w = tx.T @ dpre
    g_b = dpre.sum(0)
    if Wp is None:
        g_w = g_w + g_wd.T
        return dict(W=W - lr * g_w, b=b - lr * g_b, bp=bp - lr * g_bp), cost
    return dict(W=W - lr * g_w, b=b - lr * g_b, bp=bp - lr * g_bp, Wp=Wp - lr * g_wd), cost


CONFIGS = [
    dict(tied_weights=True, loss="cross_entropy", decoder="sigmoid"),
    dict(tied_weights=False, loss="cross_entropy", decoder="sigmoid"),
    dict(tied_weights=True, loss="squared_error", decoder="sigmoid"),
    dict(tied_weights=False, loss="squared_error", decoder="linear"),
]


def _randomise(da, rng):
    # Non-zero biases so every gradient term is exercised.
    for p in da.params:
        v = p.get_value()
        p.set_value(v + 0.1 * rng.standard_normal(v.shape))


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{'tied' if c['tied_weights'] else 'untied'}-{c['loss']}-{c['decoder']}")
def test_sgd_step_matches_numpy(float64, rng, cfg):
    X = rng.random((7, 12))
    x = pt.matrix("x")
    da = dA(np.random.default_rng(0), theano_rng=5, input=x, n_visible=12, n_hidden=5, **cfg)
    _randomise(da, rng)
    before = {p.name: p.get_value() for p in da.params}
    cost, updates = da.get_cost_updates(corruption_level=0.3, learning_rate=0.05)
    # The mask the graph will draw: same generator state, same uniform draw.
    twin = np.random.default_rng()
    twin.bit_generator.state = da.theano_rng.get_value().bit_generator.state
    mask = (twin.uniform(0.0, 1.0, size=X.shape) >= 0.3).astype(float)
    f = pytensor.function([x], cost, updates=updates)
    got_cost = f(X)
    Wp = None if cfg["tied_weights"] else before["dA.W_prime"]
    want, want_cost = numpy_sgd_step(X, mask, before["dA.W"], before["dA.b"], before["dA.b_prime"], Wp,
                                     0.05, cfg["loss"], cfg["decoder"])
    np.testing.assert_allclose(got_cost, want_cost, rtol=1e-10)
    np.testing.assert_allclose(da.W.get_value(), want["W"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(da.b.get_value(), want["b"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(da.b_prime.get_value(), want["bp"], rtol=1e-9, atol=1e-12)
    if not cfg["tied_weights"]:
        np.testing.assert_allclose(da.W_prime.get_value(), want["Wp"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{'tied' if c['tied_weights'] else 'untied'}-{c['loss']}-{c['decoder']}")
def test_gradients_match_finite_differences(float64, rng, cfg):
    X = rng.random((5, 6))
    x = pt.matrix("x")
    da = dA(np.random.default_rng(1), input=x, n_visible=6, n_hidden=3, **cfg)
    _randomise(da, rng)
    cost = pt.mean(da.get_reconstruction_cost(x, da.get_hidden_values(x)))
    assert_grads_match_fd(cost, da.params, {x: X})


@pytest.mark.parametrize("kind", ["masking", "gaussian", "salt_and_pepper"])
def test_each_corruption_is_the_numpy_draw_and_has_its_statistics(kind):
    floatX = pytensor.config.floatX
    X = np.random.default_rng(0).random((400, 250)).astype(floatX)
    da = dA(0, theano_rng=11, n_visible=250, n_hidden=2, corruption_type=kind)
    f = pytensor.function([da.x], da.get_corrupted_input(da.x, 0.3), updates=da.noise_updates())
    got = f(X)
    twin = np.random.default_rng(11)  # the shared generator's seed: the graph's draw, made by numpy
    level = np.asarray(0.3, dtype=floatX)
    if kind == "gaussian":
        noise = twin.normal(0.0, 1.0, size=X.shape).astype(floatX)
        want = X + level * noise
        assert abs(float(np.std(got - X)) - 0.3) < 0.005 and abs(float(np.mean(got - X))) < 0.005
    else:
        u = twin.uniform(0.0, 1.0, size=X.shape).astype(floatX)
        if kind == "masking":
            want = np.where(u >= level, X, 0)
            assert abs(float(np.mean(got == 0)) - 0.3) < 0.005
        else:
            want = np.where(u < level / 2, 0, np.where(u < level, 1, X))
            assert abs(float(np.mean(got == 0)) - 0.15) < 0.005 and abs(float(np.mean(got == 1)) - 0.15) < 0.005
            kept = (got != 0) & (got != 1)
            np.testing.assert_array_equal(got[kept], X[kept])
    if kind == "gaussian":  # the same normals; x + level * n is rounded in another order
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want.astype(floatX))
    assert not np.array_equal(f(X), got), "each call draws fresh noise"


def test_corruption_ranges_by_kind():
    with pytest.raises(TutorialError, match=r"corruption_level must be in \[0, 1\) for masking noise, got 1.0"):
        dA(0, n_visible=4, n_hidden=2).get_corrupted_input(pt.matrix("x"), 1.0)
    with pytest.raises(TutorialError, match=r"must be in \[0, 1\] for salt-and-pepper noise, got 1.5"):
        dA(0, n_visible=4, n_hidden=2, corruption_type="salt_and_pepper").get_corrupted_input(pt.matrix("x"), 1.5)
    da = dA(0, n_visible=4, n_hidden=2, corruption_type="gaussian")
    assert da.get_corrupted_input(da.x, 2.0) is not da.x  # a standard deviation may exceed 1
    with pytest.raises(TutorialError, match="corruption_type must be one of masking, gaussian, salt_and_pepper"):
        dA(0, n_visible=4, n_hidden=2, corruption_type="dropout")
    with pytest.raises(TutorialError, match=r"sparsity_target must be in \(0, 1\), got 1.0"):
        dA(0, n_visible=4, n_hidden=2, sparsity_target=1.0)


def test_sparsity_penalty_is_the_kl_divergence_and_its_gradients_match(float64, rng):
    X = rng.random((6, 7))
    x = pt.matrix("x")
    da = dA(np.random.default_rng(2), input=x, n_visible=7, n_hidden=4, sparsity_target=0.1, sparsity_weight=0.7)
    _randomise(da, rng)
    cost, _ = da.get_cost_updates(corruption_level=0.0, learning_rate=0.1)
    h = sigmoid(X @ da.W.get_value() + da.b.get_value())
    rho_hat, rho = h.mean(axis=0), 0.1
    kl = np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    plain = pt.mean(da.get_reconstruction_cost(x, da.get_hidden_values(x)))
    np.testing.assert_allclose(pytensor.function([x], cost - plain)(X), 0.7 * kl, rtol=1e-10)
    assert_grads_match_fd(cost, da.params, {x: X})
    off = dA(np.random.default_rng(2), input=x, n_visible=7, n_hidden=4)
    graph_text = pytensor.printing.debugprint(off.get_cost_updates(0.0, 0.1)[0], file="str")
    assert "Clip" not in graph_text  # weight 0: no penalty in the graph


def test_cross_entropy_equals_tutorial_formula(float64, rng):
    X = rng.random((4, 6))
    x = pt.matrix("x")
    da = dA(np.random.default_rng(2), input=x, n_visible=6, n_hidden=3)
    _randomise(da, rng)
    y = da.get_hidden_values(x)
    z = da.get_reconstructed_input(y)
    tutorial = -pt.sum(x * pt.log(z) + (1 - x) * pt.log(1 - z), axis=1)
    f = pytensor.function([x], [da.get_reconstruction_cost(x, y), tutorial])
    ours, theirs = f(X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_shapes_dtypes_and_tutorial_init():
    da = dA(np.random.RandomState(123), n_visible=20, n_hidden=7)
    assert da.W.get_value().shape == (20, 7)
    assert da.W.get_value().dtype == pytensor.config.floatX
    bound = 4 * np.sqrt(6.0 / 27)
    tutorial = np.random.RandomState(123)
    tutorial.randint(2**30)  # the tutorial seeds its noise stream first, then draws W
    want = tutorial.uniform(-bound, bound, size=(20, 7)).astype(pytensor.config.floatX)
    np.testing.assert_array_equal(da.W.get_value(), want)
    assert np.all(da.b.get_value() == 0) and np.all(da.b_prime.get_value() == 0)
    assert da.params == [da.W, da.b, da.b_prime]
    assert [p.name for p in da.params] == ["dA.W", "dA.b", "dA.b_prime"]
    X = np.full((3, 20), 0.5, dtype=pytensor.config.floatX)
    h = da.get_hidden_values(da.x).eval({da.x: X})
    z = da.get_reconstructed_input(da.get_hidden_values(da.x)).eval({da.x: X})
    assert h.shape == (3, 7) and h.dtype == pytensor.config.floatX
    assert z.shape == (3, 20) and z.dtype == pytensor.config.floatX


def test_weights_are_shared_by_identity():
    W = pytensor.shared(np.zeros((6, 3), dtype=pytensor.config.floatX), name="W")
    b = pytensor.shared(np.zeros(3, dtype=pytensor.config.floatX), name="b")
    da = dA(0, n_visible=6, n_hidden=3, W=W, bhid=b)
    assert da.W is W and da.b is b
    with pytest.raises(TypeError, match="shared variable"):
        dA(0, n_visible=6, n_hidden=3, W=np.zeros((6, 3)))
    with pytest.raises(ValueError, match=r"shape \(6, 3\)"):
        dA(0, n_visible=6, n_hidden=3, W=pytensor.shared(np.zeros((3, 6))))


def test_untied_has_its_own_decoder():
    da = dA(0, n_visible=6, n_hidden=3, tied_weights=False)
    assert da.W_prime in da.params and len(da.params) == 4
    assert da.W_prime.get_value().shape == (3, 6)


def test_bad_options():
    with pytest.raises(ValueError, match="linear decoder"):
        dA(0, n_visible=4, n_hidden=2, decoder="linear")
    with pytest.raises(ValueError, match="loss must be"):
        dA(0, n_visible=4, n_hidden=2, loss="hinge")
    with pytest.raises(ValueError, match="n_hidden must be > 0, got 0"):
        dA(0, n_visible=4, n_hidden=0)
    da = dA(0, n_visible=4, n_hidden=2)
    with pytest.raises(ValueError, match=r"^corruption_level must be in \[0, 1\) for masking noise, got 1.2$"):
        da.get_corrupted_input(da.x, 1.2)


def _mask_fn(da, level):
    tilde = da.get_corrupted_input(da.x, level)
    return pytensor.function([da.x], tilde, updates=da.noise_updates())


def test_corruption_fraction_fresh_noise_and_reproducible():
    X = np.ones((400, 250), dtype=pytensor.config.floatX)
    da = dA(0, theano_rng=7, n_visible=250, n_hidden=2)
    f = _mask_fn(da, 0.3)
    m1, m2 = f(X), f(X)
    assert abs((m1 == 0).mean() - 0.3) < 0.01
    assert set(np.unique(m1)) <= {0.0, 1.0}
    assert not np.array_equal(m1, m2), "each call must draw fresh noise"
    twin = dA(0, theano_rng=7, n_visible=250, n_hidden=2)
    g = _mask_fn(twin, 0.3)
    np.testing.assert_array_equal(g(X), m1)
    np.testing.assert_array_equal(g(X), m2)


def test_corruption_zero_is_identity():
    da = dA(0, n_visible=5, n_hidden=2)
    assert da.get_corrupted_input(da.x, 0.0) is da.x
    X = np.random.default_rng(0).random((3, 5)).astype(pytensor.config.floatX)
    level = pt.scalar("level")
    tilde = da.get_corrupted_input(da.x, level)
    f = pytensor.function([da.x, level], tilde, updates=da.noise_updates())
    np.testing.assert_array_equal(f(X, 0.0), X)


def _train(tiny, seed, epochs=3, level=0.3):
    train_x, _ = datasets.shared_dataset(tiny.train)
    index = pt.lscalar()
    x = pt.matrix("x")
    da = dA(np.random.default_rng(seed), input=x, n_visible=16, n_hidden=8)
    cost, updates = da.get_cost_updates(level, 0.1)
    f = pytensor.function([index], cost, updates=updates, givens=graph.minibatch_givens(index, 10, [(x, train_x)]))
    res = training.train_epochs(f, graph.n_batches(train_x, 10), epochs, context=QUIET)
    return da, res.costs


def test_training_lowers_cost_and_is_reproducible(tiny):
    da1, costs = _train(tiny, seed=3, epochs=8)
    assert costs[-1] < 0.8 * costs[0]
    da2, costs2 = _train(tiny, seed=3, epochs=8)
    assert costs == costs2
    for p, q in zip(da1.params, da2.params):
        np.testing.assert_array_equal(p.get_value(), q.get_value())
    da3, _ = _train(tiny, seed=4, epochs=1)
    assert not np.array_equal(da3.W.get_value(), da1.W.get_value())


def test_check_input_errors():
    da = dA(0, n_visible=4, n_hidden=2)
    ok = np.full((2, 4), 0.5)
    np.testing.assert_array_equal(da.check_input(ok), ok)
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]"):
        da.check_input(ok * 3)
    bad = ok.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        da.check_input(bad)
    with pytest.raises(DataError, match="inputs have 5 features, the model expects 4"):
        da.check_input(np.full((2, 5), 0.5))
    se = dA(0, n_visible=4, n_hidden=2, loss="squared_error", decoder="linear")
    se.check_input(ok * 3)  # real values are fine for squared error


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert "--corruption" in capsys.readouterr().out


@pytest.mark.parametrize("mode", MODES)
def test_cli_tiny_run_writes_outputs(tmp_path, capsys, mode):
    rc = main(["--dataset", "synthetic", "--epochs", "1", "--hidden", "9", "--batch-size", "10",
               "--output-dir", str(tmp_path), "--mode", mode])
    assert rc == 0
    for name in ("filters_corruption_0.png", "filters_corruption_30.png", "dA_corruption_0.npz",
                 "dA_corruption_30.npz", "metrics.jsonl"):
        assert (tmp_path / name).is_file(), name
    arrays, meta = load_params(tmp_path / "dA_corruption_30.npz")
    assert arrays["W"].shape == (16, 9) and meta["corruption_level"] == 0.3
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any(r.get("epoch") == 0 and r.get("phase") == "[30%]" for r in lines)
    from PIL import Image
    img = Image.open(tmp_path / "filters_corruption_30.png")
    assert img.size == (3 * 4 + 2, 3 * 4 + 2)  # 9 filters -> 3x3 tiles of 4x4, 1-pixel spacing
    out = capsys.readouterr().out
    assert "Training epoch 0, cost" in out and f"engine {mode}, float32" in out


def test_cli_bad_inputs_one_line(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    rc = main(["--dataset", "synthetic", "--epochs", "1", "--output-dir", str(blocked / "sub")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: output directory") and "\n" not in err
    assert err.endswith("choose another --output-dir")  # the library's output_dir, named as the flag
    rc = main(["--dataset", "synthetic", "--epochs", "1", "--corruption", "1.5", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == "error: --corruption entries must be in [0, 1) for masking noise, got 1.5"
    rc = main(["--dataset", "nope", "--epochs", "1", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "unknown dataset 'nope'" in err and "\n" not in err
    rc = main(["--dataset", "synthetic", "--epochs", "1", "--decoder", "linear", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "linear decoder needs loss='squared_error'" in err and "\n" not in err
    rc = main(["--dataset", "mnist", "--data-dir", str(blocked / "data"), "--epochs", "1", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: MNIST not found") and "\n" not in err


def test_cross_entropy_rejects_out_of_range_data(tmp_path):
    ds = datasets.make_synthetic()
    ds.train = (ds.train[0] * 2, ds.train[1])
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]"):
        run_dA(dataset=ds, training_epochs=1, n_hidden=4, output_dir=tmp_path, log=lambda *_: None)
    ds.train = (np.where(ds.train[0] > 1, np.nan, ds.train[0]), ds.train[1])
    with pytest.raises(DataError, match="NaN"):
        run_dA(dataset=ds, training_epochs=1, n_hidden=4, output_dir=tmp_path, log=lambda *_: None)


def test_linear_decoder_default_rate_trains_and_a_stall_is_said(tmp_path):
    kw = dict(dataset="digits", training_epochs=4, n_hidden=500, corruption_levels=(0.0,), tied_weights=False,
              loss="squared_error", decoder="linear", output_dir=tmp_path)
    said = []
    costs = run_dA(log=said.append, **kw)[0.0]
    assert any("learning rate 0.01 for the linear decoder" in s for s in said)
    assert not any("stalled" in s for s in said) and costs[-1] < 0.9 * costs[1]
    said = []
    run_dA(learning_rate=0.1, log=said.append, **kw)  # the collapse the issue reported
    assert any("warning: the cost moved by less than 0.1%" in s and "training has stalled" in s for s in said)


def test_save_load_roundtrip_and_written_paths(tmp_path):
    said = []
    run_dA(dataset="synthetic", training_epochs=1, n_hidden=5, corruption_levels=(0.3,), output_dir=tmp_path,
           log=said.append)
    assert f"wrote {tmp_path / 'dA_corruption_30.npz'}" in said
    assert f"wrote {tmp_path / 'filters_corruption_30.png'}" in said
    da = dA.load(tmp_path / "dA_corruption_30.npz")
    arrays, meta = load_params(tmp_path / "dA_corruption_30.npz")
    np.testing.assert_array_equal(da.W.get_value(), arrays["W"])
    assert (da.n_visible, da.n_hidden, da.decoder, meta["model"]) == (16, 5, "sigmoid", "dA")
    untied = dA(0, n_visible=4, n_hidden=3, tied_weights=False, loss="squared_error", decoder="linear")
    untied.save(tmp_path / "u.npz")
    back = dA.load(tmp_path / "u.npz")
    np.testing.assert_array_equal(back.W_prime.get_value(), untied.W_prime.get_value())
    assert (back.tied_weights, back.loss, back.decoder) == (False, "squared_error", "linear")
    save_params(tmp_path / "x.npz", {"b": np.zeros(3)})  # a readable .npz, but not a dA
    with pytest.raises(DataError, match="is not a saved dA"):
        dA.load(tmp_path / "x.npz")


def test_metrics_lines_carry_a_run_id(tmp_path):
    for _ in range(2):
        run_dA(dataset="synthetic", training_epochs=1, n_hidden=4, corruption_levels=(0.0,), output_dir=tmp_path,
               log=lambda *_: None)
    lines = [json.loads(s) for s in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    runs = [r["run"] for r in lines]
    assert len(set(runs)) == 2 and runs == sorted(runs, key=runs.index)  # two runs, each one block


def test_reconstruction_sheet_rows_and_the_noise_stream_untouched(tmp_path):
    da = dA(0, theano_rng=3, n_visible=16, n_hidden=4)
    state = da.theano_rng.get_value().bit_generator.state
    X = datasets.make_synthetic().test[0][:5]
    clean, noisy, rec = inference.reconstruction_rows(da, X, 0.5)
    np.testing.assert_array_equal(clean, X)
    assert set(np.unique(noisy[noisy != X])) <= {0.0} and (noisy == 0).mean() > 0.2
    assert rec.shape == X.shape and np.all((rec > 0) & (rec < 1))
    # nothing compiled for the sheet, and the same numbers as the model's compiled functions
    h = pt.matrix("h", dtype=da.x.dtype)
    decode = host_function([h], da.get_reconstructed_input(h))  # in the default (compiled) mode
    np.testing.assert_allclose(rec, decode(inference.dA_codes(da, noisy)), rtol=1e-5, atol=1e-6)
    assert da.theano_rng.get_value().bit_generator.state == state and da.noise_updates() == []
    run_dA(dataset="synthetic", training_epochs=1, n_hidden=4, corruption_levels=(0.3,), output_dir=tmp_path,
           log=lambda *_: None)
    assert (tmp_path / "reconstructions_corruption_30.png").read_bytes()[:4] == b"\x89PNG"


def test_file_names_stay_sane_for_any_level():
    assert [modelfiles.level_name(v) for v in (0.0, 0.3, 1.0, 100.0)] == ["0", "30", "100", "10000"]
    assert [modelfiles.level_name(v) for v in (1e30, 1e308, 1234.5)] == ["1e30", "1e308", "1_23e03"]


def test_a_damaged_dA_file_is_one_line(tmp_path):
    arrays = {"W": np.zeros((6, 2)), "b": np.zeros(2), "b_prime": np.zeros(6)}
    for meta, match in [(dict(tied_weights="false"), "tied_weights is 'false' without a W_prime"),
                        (dict(tied_weights=False), "tied_weights is False without a W_prime"),
                        (dict(corruption_type=["x"]), "cannot build: corruption_type must be one of"),
                        (dict(loss="hinge"), "cannot build: loss must be one of"),
                        (dict(n_hidden=3), "n_hidden must be 2, the columns of W, got 3"),
                        (dict(precision="float16"), "precision must be float32 or float64, got 'float16'"),
                        (dict(corruption_level="0.3"), "corruption_level must be in"),
                        (dict(model="SdA"), r"is not a saved dA \(model='SdA'\)"),
                        (dict(changed=dict(b=np.zeros(3))), r"array 'b' is float64 of shape \(3,\), not of "
                                                             r"shape \(2,\)"),
                        (dict(changed=dict(W=np.zeros((6, 2), dtype=int))), r"array 'W' is <i8 \(int64\), not float32 or float64"),
                        (dict(changed=dict(extra=np.zeros(2))), "an array 'extra' this model does not have"),
                        (dict(changed=dict(b_prime=None)), "no array 'b_prime'")]:
        changed = meta.pop("changed", {})
        save_params(tmp_path / "d.npz", {k: v for k, v in dict(arrays, **changed).items() if v is not None},
                    model=meta.pop("model", "dA"), **meta)
        with pytest.raises(DataError, match=match) as err:
            dA.load(tmp_path / "d.npz")
        assert str(err.value).startswith(str(tmp_path / "d.npz")) and "\n" not in str(err.value)


def test_a_sparsity_weight_too_large_for_the_precision_is_refused_and_a_diverged_cost_names_it(tmp_path, capsys):
    from SdA import main as sda_main

    for run in (main, sda_main):
        rc = run(["--dataset", "synthetic", "--sparsity-weight", "1e300", "--output-dir", str(tmp_path / "a")])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and err == "error: --sparsity-weight must be at most 3.4028235e+38 in float32, got 1e+300"
    # fits float32, but the penalty overflows: the advice names it beside the learning rate
    rc = main(["--dataset", "synthetic", "--epochs", "1", "--hidden", "4", "--corruption", "0.3", "--sparsity-weight",
               "1e38", "--output-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.endswith("; lower the learning rate or --sparsity-weight (now 1e+38)") and "\n" not in err
