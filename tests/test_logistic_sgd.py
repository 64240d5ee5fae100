"""LogisticRegression: exact values, gradients, label checks, CLI and predict."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from helpers import MODES, assert_grads_match_fd

from autoencoders_tutorial.files import load_params, save_params
from logistic_sgd import LogisticRegression, main, predict, run_logistic


def test_zero_init_and_exact_values(float64):
    x, y = pt.matrix("x"), pt.ivector("y")
    clf = LogisticRegression(x, n_in=2, n_out=3)
    assert np.all(clf.W.get_value() == 0) and np.all(clf.b.get_value() == 0)
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    Y = np.array([0, 2], dtype="int32")
    f = pytensor.function([x, y], [clf.negative_log_likelihood(y), clf.errors(y), clf.p_y_given_x])
    nll, err, p = f(X, Y)
    assert nll == pytest.approx(np.log(3))
    np.testing.assert_allclose(p, 1 / 3)
    clf.W.set_value(np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    nll, err, p = f(X, Y)
    p0 = np.exp(2) / (np.exp(2) + 2)
    p1 = 1 / (np.e + 2)
    assert nll == pytest.approx(-(np.log(p0) + np.log(p1)) / 2)
    assert err == 0.5  # second row predicts class 1, not 2
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_gradients_fd_and_numpy(float64, rng):
    x, y = pt.matrix("x"), pt.ivector("y")
    clf = LogisticRegression(x, n_in=4, n_out=3)
    clf.W.set_value(rng.standard_normal((4, 3)))
    clf.b.set_value(rng.standard_normal(3))
    X = rng.random((6, 4))
    Y = rng.integers(0, 3, 6).astype("int32")
    cost = clf.negative_log_likelihood(y)
    assert_grads_match_fd(cost, clf.params, {x: X, y: Y})
    gW, gb = pytensor.function([x, y], pytensor.grad(cost, clf.params))(X, Y)
    a = X @ clf.W.get_value() + clf.b.get_value()
    p = np.exp(a - a.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(3)[Y]) / 6
    np.testing.assert_allclose(gW, X.T @ d, rtol=1e-10)
    np.testing.assert_allclose(gb, d.sum(0), rtol=1e-10, atol=1e-15)


def test_label_checks():
    clf = LogisticRegression(pt.matrix("x"), 2, 3)
    with pytest.raises(TypeError, match="same number of dimensions"):
        clf.errors(pt.imatrix("y"))
    with pytest.raises(TypeError, match="integer class labels, got dtype float"):
        clf.errors(pt.vector("y"))
    with pytest.raises(TypeError, match="integer class labels"):
        clf.negative_log_likelihood(pt.vector("y"))


def test_shares_passed_weights():
    W = pytensor.shared(np.zeros((2, 3), dtype=pytensor.config.floatX))
    clf = LogisticRegression(pt.matrix("x"), 2, 3, W=W)
    assert clf.W is W and clf.params[0] is W


def test_training_learns_synthetic(tiny, tmp_path):
    clf, res = run_logistic(dataset=tiny, batch_size=10, n_epochs=30, output_dir=tmp_path, log=lambda *_: None)
    assert res.test_score < 0.1
    arrays, meta = load_params(tmp_path / "best_model.npz")
    np.testing.assert_array_equal(arrays["logreg.W"], clf.W.get_value())
    assert meta["model"] == "LogisticRegression" and meta["n_in"] == 16


def test_cli_help():
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0


@pytest.mark.parametrize("mode", MODES)
def test_cli_train_then_predict(tmp_path, capsys, mode):
    assert main(["--dataset", "synthetic", "--epochs", "3", "--batch-size", "10", "--output-dir", str(tmp_path),
                 "--mode", mode]) == 0
    assert (tmp_path / "best_model.npz").is_file()
    capsys.readouterr()
    assert main(["--predict", "--dataset", "synthetic", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Predicted values for the first 10 examples" in out
    got = predict(tmp_path / "best_model.npz", dataset="synthetic", log=lambda *_: None)
    assert got.shape == (10,)


def test_predict_errors(tmp_path, capsys):
    assert main(["--predict", "--dataset", "synthetic", "--output-dir", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    save_params(tmp_path / "best_model.npz", {"logreg.W": np.zeros((5, 3)), "logreg.b": np.zeros(3)},
                      model="LogisticRegression")
    assert main(["--predict", "--dataset", "synthetic", "--output-dir", str(tmp_path)]) == 2
    assert "expects 5 input features" in capsys.readouterr().err
    save_params(tmp_path / "best_model.npz", {"x": np.zeros(3)}, model="MLP")
    assert main(["--predict", "--dataset", "synthetic", "--output-dir", str(tmp_path)]) == 2
    assert "not a saved LogisticRegression" in capsys.readouterr().err


@pytest.mark.slow  # compiles the classifier for both back ends: 10 s cold
def test_jax_and_c_train_the_same_with_large_minibatches(tmp_path):
    # minibatches over 127 rows once broke JAX's arange in the negative log-likelihood
    pytest.importorskip("jax")
    from autoencoders_tutorial.datasets import make_synthetic

    ds = make_synthetic(n_train=600, n_valid=300, n_test=300)
    clf, res = run_logistic(dataset=ds, batch_size=300, n_epochs=3, mode="JAX", output_dir=tmp_path,
                            log=lambda *_: None)
    clf_c, res_c = run_logistic(dataset=ds, batch_size=300, n_epochs=3, mode="CVM", output_dir=tmp_path / "c",
                                log=lambda *_: None)
    assert res.test_score == pytest.approx(res_c.test_score)
    np.testing.assert_allclose(clf.W.get_value(), clf_c.W.get_value(), rtol=1e-4, atol=1e-6)


def test_default_minibatch_runs_on_the_digits_fallback(tmp_path):
    said = []
    _, res = run_logistic(dataset="digits", n_epochs=2, output_dir=tmp_path, log=said.append)  # minibatch 600
    assert any("validation and test in minibatches of 359" in s for s in said)
    assert res.epochs == 2 and res.best_validation_loss < 0.5
    assert any(f"best model saved to {tmp_path / 'best_model.npz'}" in s for s in said)
