"""ONNX export: onnxruntime's outputs equal the library's for every model kind, precision, decoder and layer."""

import builtins
import warnings

import numpy as np
import pytensor
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import logistic_sgd  # noqa: E402
import mlp  # noqa: E402
from autoencoders_tools import export as ex  # noqa: E402
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier  # noqa: E402
from autoencoders_tutorial.engine import host_function, pt  # noqa: E402
from autoencoders_tutorial.errors import DataError, TutorialError  # noqa: E402
from autoencoders_tutorial.files import save_params  # noqa: E402
from dA import dA  # noqa: E402
from SdA import SdA  # noqa: E402

TOL = {"float32": 1e-5, "float64": 1e-12}
FAST = "FAST_COMPILE"  # the estimators' fits compile nothing to C: these tests check the exported graph
X = np.random.RandomState(0).rand(23, 12)


def _random_params(params, seed=1):
    """Non-zero biases and weights of both signs: the zeros of a fresh model hide a missing term."""
    rng = np.random.RandomState(seed)
    for p in params:
        v = p.get_value()
        p.set_value((rng.randn(*v.shape) * 0.5).astype(v.dtype))


def _run(model, precision=None, decoder=False, **feed):
    session = ort.InferenceSession(ex.to_onnx(model, precision=precision, decoder=decoder).SerializeToString())
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feed)))


def _close(got, want, precision):
    np.testing.assert_allclose(got, want, rtol=TOL[precision], atol=TOL[precision])


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("tied, decoder, loss", [(True, "sigmoid", "cross_entropy"), (False, "sigmoid", "cross_entropy"),
                                                 (True, "linear", "squared_error"), (False, "linear", "squared_error")])
def test_a_dA_exports_its_codes_and_reconstruction(precision, tied, decoder, loss):
    with pytensor.config.change_flags(floatX=precision):
        da = dA(np.random.RandomState(2), n_visible=12, n_hidden=5, tied_weights=tied, decoder=decoder, loss=loss)
        _random_params(da.params)
        x, h = pt.matrix("x"), pt.matrix("h")
        codes = host_function([x], da.get_hidden_values(x))
        rec = host_function([x], da.get_reconstructed_input(da.get_hidden_values(x)))
        dec = host_function([h], da.get_reconstructed_input(h))
    rows = X.astype(precision)
    got = _run(da, X=rows)
    assert list(got) == ["codes", "reconstruction"] and got["codes"].dtype == precision
    _close(got["codes"], codes(rows), precision)
    _close(got["reconstruction"], rec(rows), precision)
    c = codes(rows)
    _close(_run(da, decoder=True, codes=c)["reconstruction"], dec(c), precision)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_an_SdA_exports_each_layers_codes_its_probabilities_and_labels(precision):
    with pytensor.config.change_flags(floatX=precision):
        sda = SdA(np.random.RandomState(3), n_ins=12, hidden_layers_sizes=[7, 4, 3], n_outs=5)
        _random_params(sda.all_params)
    got = _run(sda, X=X.astype(precision))
    assert list(got) == ["codes_0", "codes_1", "codes_2", "probabilities", "labels"]
    for k in range(3):
        _close(got[f"codes_{k}"], sda.get_codes(X, k), precision)
    _close(got["probabilities"], sda.predict_proba(X), precision)
    assert got["labels"].dtype == np.int64 and np.array_equal(got["labels"], sda.predict(X))


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_the_logistic_regression_and_the_mlp_export_probabilities_and_labels(precision):
    with pytensor.config.change_flags(floatX=precision):
        x = pt.matrix("x")
        lr = logistic_sgd.LogisticRegression(x, 12, 4)
        net = mlp.MLP(np.random.RandomState(4), x, 12, 6, 4)
        _random_params(lr.params)
        _random_params(net.params, seed=5)
        for model in (lr, net):
            p = host_function([x], model.p_y_given_x if model is lr else model.logRegressionLayer.p_y_given_x)(
                X.astype(precision))
            got = _run(model, X=X.astype(precision))
            assert list(got) == ["probabilities", "labels"]
            _close(got["probabilities"], p, precision)
            assert np.array_equal(got["labels"], p.argmax(axis=1))


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_the_estimators_export_with_their_scaling_and_classes(precision):
    wide = X * 6 - 2  # outside [0, 1]: the min-max scaling learned by fit is part of the graph
    dae = DenoisingAutoencoder(n_hidden=5, n_epochs=2, batch_size=8, precision=precision, random_state=1, mode=FAST).fit(wide)
    got = _run(dae, X=wide.astype(precision))
    _close(got["codes"], dae.transform(wide), precision)
    _close(got["reconstruction"], dae.inverse_transform(dae.transform(wide)), precision)
    codes = dae.transform(wide)
    _close(_run(dae, decoder=True, codes=codes)["reconstruction"], dae.inverse_transform(codes), precision)
    labels = np.array(["cat", "dog", "eel"])[np.arange(len(X)) % 3]
    clf = SdAClassifier(hidden_layers_sizes=(6, 4), pretraining_epochs=1, max_epochs=2, batch_size=8,
                        precision=precision, random_state=1, mode=FAST).fit(X, labels)
    got = _run(clf, X=X.astype(precision))
    _close(got["probabilities"], clf.predict_proba(X), precision)
    _close(got["codes_1"], clf.transform(X), precision)
    assert got["labels"].tolist() == clf.predict(X).tolist()


def test_model_files_of_every_kind_export_the_same_graph(tmp_path):
    with pytensor.config.change_flags(floatX="float32"):
        da = dA(np.random.RandomState(2), n_visible=12, n_hidden=5, tied_weights=False)
        sda = SdA(np.random.RandomState(3), n_ins=12, hidden_layers_sizes=[7, 4], n_outs=3, corruption_levels=[0.1, 0.2])
        x = pt.matrix("x")
        net = mlp.MLP(np.random.RandomState(4), x, 12, 6, 4)
    for model in (da, sda, net):
        _random_params(model.all_params if model is sda else model.params)
    da.save(tmp_path / "da.npz")
    sda.save(tmp_path / "sda.npz")
    save_params(tmp_path / "mlp.npz", {p.name: p.get_value() for p in net.params}, model="MLP")
    dae = DenoisingAutoencoder(n_hidden=4, n_epochs=1, batch_size=8, random_state=1, mode=FAST).fit(X)
    dae.save(tmp_path / "dae.npz")
    rows = X.astype("float32")
    for model, path in ((da, "da.npz"), (sda, "sda.npz"), (net, "mlp.npz"), (dae, "dae.npz")):
        from_file, built = _run(tmp_path / path, X=rows), _run(model, X=rows)
        assert from_file.keys() == built.keys()
        for name in built:
            np.testing.assert_array_equal(from_file[name], built[name], err_msg=f"{path} {name}")


def test_the_command_writes_the_file_atomically_with_metadata(tmp_path, capsys):
    with pytensor.config.change_flags(floatX="float32"):
        sda = SdA(np.random.RandomState(3), n_ins=12, hidden_layers_sizes=[7], n_outs=3, corruption_levels=[0.1])
    sda.save(tmp_path / "sda.npz")
    assert ex.main([str(tmp_path / "sda.npz"), str(tmp_path / "sda.onnx"), "--precision", "float64"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"wrote {tmp_path / 'sda.onnx'}")
    model = onnx.load(tmp_path / "sda.onnx")
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["model"] == "SdA" and meta["precision"] == "float64" and '"hidden_layers_sizes": [7]' in meta["options"]
    batch = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param == "N"  # any number of rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sda.npz", "sda.onnx"]  # no temporary file left


def test_a_pipeline_holding_the_estimators_converts_with_skl2onnx():
    skl2onnx = pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    y = np.arange(len(X)) % 3
    pipe = make_pipeline(DenoisingAutoencoder(n_hidden=5, n_epochs=2, batch_size=8, random_state=1, mode=FAST), SVC()).fit(X, y)
    clf = SdAClassifier(hidden_layers_sizes=(6,), pretraining_epochs=1, max_epochs=2, batch_size=8,
                        random_state=1, mode=FAST).fit(X, np.array(["a", "b", "c"])[y])
    rows = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skl2onnx reading scikit-learn's deprecated SVC attributes
        for model, options in ((pipe, None), (clf, {"zipmap": False})):
            session = ort.InferenceSession(skl2onnx.to_onnx(model, rows[:1], options=options).SerializeToString())
            label, scores = session.run(None, {session.get_inputs()[0].name: rows})
            assert label.tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(scores, clf.predict_proba(X), rtol=1e-5, atol=1e-5)


def test_bad_exports_are_one_line_and_leave_nothing(tmp_path, monkeypatch):
    with pytest.raises(TutorialError, match="this SdAClassifier is not fitted; fit it"):
        ex.export(SdAClassifier(), tmp_path / "a.onnx")
    (tmp_path / "not_a_model.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataError, match="not_a_model.npz"):
        ex.export(tmp_path / "not_a_model.npz", tmp_path / "b.onnx")
    save_params(tmp_path / "other.npz", {"w": np.zeros(3, np.float32)}, model="something")
    with pytest.raises(DataError, match="is not a saved model \\(model='something'\\)"):
        ex.export(tmp_path / "other.npz", tmp_path / "c.onnx")
    with pytensor.config.change_flags(floatX="float32"):
        da = dA(np.random.RandomState(2), n_visible=12, n_hidden=5)
    (tmp_path / "folder").mkdir()
    with pytest.raises(TutorialError, match="folder is a folder; give the file to write"):
        ex.export(da, tmp_path / "folder")
    with pytest.raises(TutorialError, match="decoder=True exports a dA's decoder; a SdA has none"):
        ex.to_onnx(SdA(np.random.RandomState(3), n_ins=4, hidden_layers_sizes=[3], n_outs=2, corruption_levels=[0.1]),
                   decoder=True)
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(TutorialError, match=r"needs the onnx package: pip install onnx onnxruntime skl2onnx \(the onnx extra\)"):
        ex.export(da, tmp_path / "d.onnx")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "not_a_model.npz", "other.npz"]
    assert not list((tmp_path / "folder").iterdir())
