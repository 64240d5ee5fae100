"""HiddenLayer and MLP: initialisation, weight sharing, penalties, gradients, CLI."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from helpers import MODES, assert_grads_match_fd

from autoencoders_tutorial.files import load_params
from mlp import MLP, HiddenLayer, main, run_mlp


def test_init_ranges_and_sigmoid_is_4x():
    x = pt.matrix("x")
    tanh = HiddenLayer(np.random.default_rng(5), x, 300, 200)
    sig = HiddenLayer(np.random.default_rng(5), x, 300, 200, activation=pt.sigmoid)
    bound = np.sqrt(6.0 / 500)
    Wt, Ws = tanh.W.get_value(), sig.W.get_value()
    assert np.abs(Wt).max() <= bound and np.abs(Wt).max() > 0.99 * bound
    np.testing.assert_allclose(Ws, 4 * Wt, rtol=1e-5)
    assert np.all(tanh.b.get_value() == 0)


def test_hidden_layer_shares_by_identity():
    W = pytensor.shared(np.zeros((3, 2), dtype=pytensor.config.floatX), name="W")
    b = pytensor.shared(np.zeros(2, dtype=pytensor.config.floatX), name="b")
    layer = HiddenLayer(0, pt.matrix("x"), 3, 2, W=W, b=b)
    assert layer.W is W and layer.b is b and layer.params == [W, b]
    with pytest.raises(TypeError, match="shared variable"):
        HiddenLayer(0, pt.matrix("x"), 3, 2, W=np.zeros((3, 2)))


def test_penalties_and_outputs(float64, rng):
    x = pt.matrix("x")
    m = MLP(rng, x, n_in=4, n_hidden=3, n_out=2)
    W1, W2 = m.hiddenLayer.W.get_value(), m.logRegressionLayer.W.get_value()
    assert float(m.L1.eval()) == pytest.approx(np.abs(W1).sum() + np.abs(W2).sum())
    assert float(m.L2_sqr.eval()) == pytest.approx((W1**2).sum() + (W2**2).sum())
    assert len(m.params) == 4 and m.input is x
    X = rng.random((5, 4))
    h = m.hiddenLayer.output.eval({x: X})
    np.testing.assert_allclose(h, np.tanh(X @ W1 + m.hiddenLayer.b.get_value()))


def test_gradients_match_finite_differences(float64, rng):
    x, y = pt.matrix("x"), pt.ivector("y")
    m = MLP(rng, x, n_in=4, n_hidden=3, n_out=3)
    for p in m.params:
        p.set_value(p.get_value() + 0.1 * rng.standard_normal(p.get_value().shape))
    cost = m.negative_log_likelihood(y) + 0.01 * m.L1 + 0.001 * m.L2_sqr
    X = rng.random((6, 4))
    Y = rng.integers(0, 3, 6).astype("int32")
    assert_grads_match_fd(cost, m.params, {x: X, y: Y}, rtol=1e-5)


def test_training_learns_synthetic(tiny, tmp_path):
    clf, res = run_mlp(dataset=tiny, n_hidden=8, batch_size=10, n_epochs=40, learning_rate=0.1,
                       output_dir=tmp_path, log=lambda *_: None)
    assert res.test_score < 0.1
    arrays, meta = load_params(tmp_path / "best_model.npz")
    assert meta["model"] == "MLP" and arrays["hidden.W"].shape == (16, 8)


@pytest.mark.parametrize("mode", MODES)
def test_cli(tmp_path, capsys, mode):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    assert main(["--dataset", "synthetic", "--epochs", "2", "--hidden", "5", "--batch-size", "10",
                 "--output-dir", str(tmp_path), "--mode", mode]) == 0
    assert (tmp_path / "best_model.npz").is_file() and (tmp_path / "metrics.jsonl").is_file()
    with pytest.raises(SystemExit) as exit_:
        main(["--dataset", "synthetic", "--l2", "-1", "--output-dir", str(tmp_path)])
    assert exit_.value.code == 2
    assert "argument --l2: must be a number in [0, inf), got -1" in capsys.readouterr().err
