"""The original tutorial's own calls (its ``code/test.py``), as written, twice in one folder."""

import gzip
import pickle

import numpy as np
import pytest

import dA
import logistic_sgd
import mlp
import SdA
from autoencoders_tutorial.files import load_params

pytestmark = pytest.mark.slow  # about 25 s warm: the slow tier (python -m pytest -m slow)


def _write_mnist_pkl(path, n=600, side=8, seed=0):
    """A small stand-in for the tutorial's mnist.pkl.gz: 600 rows per split of 8x8 images, 10 classes."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((10, side * side)) < 0.4).astype(np.float32)

    def split():
        y = rng.integers(0, 10, n)
        X = np.abs(protos[y] - (rng.random((n, side * side)) < 0.1)).astype(np.float32)
        return X, y.astype(np.int64)

    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        pickle.dump((split(), split(), split()), f, protocol=2)


@pytest.fixture
def tutorial_folder(tmp_path, monkeypatch):
    _write_mnist_pkl(tmp_path / "data" / "mnist.pkl.gz")
    monkeypatch.setenv("AUTOENCODERS_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tutorial_test_py():
    """The four calls of the tutorial's code/test.py (the SdA made small through its keyword arguments)."""
    logistic_sgd.sgd_optimization_mnist(n_epochs=10, log=lambda *_: None)
    mlp.test_mlp(n_epochs=1, log=lambda *_: None)
    dA.test_dA(training_epochs=1, output_folder="tmp_dA_plots", log=lambda *_: None)
    return SdA.test_SdA(pretraining_epochs=1, training_epochs=1, batch_size=300, hidden_layers_sizes=(32, 16),
                        log=lambda *_: None)


def test_the_tutorial_calls_pass_twice_in_one_folder(tutorial_folder):
    first = _tutorial_test_py()
    second = _tutorial_test_py()  # no resume: a fresh run, the first run's files kept as .previous
    assert first["test_error"] == second["test_error"]
    for path in ("logistic_sgd_out/best_model.npz", "mlp_out/best_model.npz", "tmp_dA_plots/dA_corruption_30.npz",
                 "tmp_dA_plots/filters_corruption_30.png", "SdA_out/SdA_model.npz", "SdA_out/checkpoint.npz"):
        assert (tutorial_folder / path).is_file(), path
    for path in ("logistic_sgd_out/best_model.previous.npz", "tmp_dA_plots/dA_corruption_30.previous.npz",
                 "SdA_out/checkpoint.previous.npz", "SdA_out/SdA_model.previous.npz"):
        assert (tutorial_folder / path).is_file(), path
    np.testing.assert_array_equal(load_params(tutorial_folder / "SdA_out/SdA_model.npz")[0]["layer0.W"],
                                  load_params(tutorial_folder / "SdA_out/SdA_model.previous.npz")[0]["layer0.W"])
    meta = load_params(tutorial_folder / "mlp_out/best_model.npz")[1]
    assert meta["dataset"] == "mnist.pkl.gz" and meta["n_in"] == 64


def test_the_tutorials_dataset_argument_names_the_file_in_the_data_folder(tutorial_folder):
    _, res = logistic_sgd.sgd_optimization_mnist(n_epochs=2, dataset="mnist.pkl.gz", log=lambda *_: None)
    assert res.epochs == 2
