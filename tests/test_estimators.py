"""estimators: scikit-learn's own estimator checks, semi-supervised labels, pickling and .npz files."""

import os
import pickle
import re

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from autoencoders_tutorial.errors import TutorialError
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier

SMALL_DA = dict(n_hidden=4, n_epochs=2, batch_size=10, random_state=0, mode="CVM")
SMALL_SDA = dict(hidden_layers_sizes=(6,), pretraining_epochs=1, max_epochs=20, finetune_lr=0.5, batch_size=10, random_state=0, mode="CVM")

#: Checks these estimators cannot pass, each with its reason.
EXPECTED_FAILED = {
    "SdAClassifier": {
        "check_classifiers_classes": "it fits on the labels -1 and 1: -1 marks an unlabelled row here "
                                     "(scikit-learn's semi-supervised convention), which scikit-learn exempts only "
                                     "for its own semi-supervised estimators",
    },
}


@pytest.mark.slow  # about 70 fits, each compiling its graphs: a minute
@parametrize_with_checks([DenoisingAutoencoder(**SMALL_DA), SdAClassifier(**SMALL_SDA)],
                         expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}))
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _synthetic():
    from autoencoders_tutorial.datasets import make_synthetic

    return make_synthetic()


def test_the_transformer_is_run_dA_exactly(tmp_path):
    from autoencoders_tutorial.files import load_params
    from dA import run_dA

    ds = _synthetic()
    run_dA(dataset=ds, training_epochs=2, n_hidden=5, corruption_levels=(0.3,), seed=123, output_dir=tmp_path,
           log=lambda *_: None)
    saved = load_params(tmp_path / "dA_corruption_30.npz")[0]
    est = DenoisingAutoencoder(n_hidden=5, corruption_level=0.3, n_epochs=2, random_state=123).fit(ds.train[0])
    np.testing.assert_array_equal(est.components_, saved["W"].T)
    np.testing.assert_array_equal(est.params_["dA.b_prime"], saved["b_prime"])
    codes = est.transform(ds.test[0])
    np.testing.assert_allclose(codes, 1 / (1 + np.exp(-(ds.test[0] @ saved["W"] + saved["b"]))), rtol=1e-5)
    assert est.score(ds.test[0]) < 0 and est.inverse_transform(codes).shape == ds.test[0].shape


def test_partial_fit_and_warm_start_continue_exactly():
    X = _synthetic().train[0]
    two = DenoisingAutoencoder(n_hidden=4, n_epochs=2, random_state=1).fit(X)
    steps = DenoisingAutoencoder(n_hidden=4, random_state=1).partial_fit(X).partial_fit(X)
    warm = DenoisingAutoencoder(n_hidden=4, n_epochs=1, random_state=1, warm_start=True).fit(X).fit(X)
    for est in (steps, warm):
        for k in two.params_:
            np.testing.assert_array_equal(est.params_[k], two.params_[k], err_msg=k)
        assert est.cost_curve_ == two.cost_curve_


def test_inputs_outside_the_unit_interval_are_scaled_or_refused():
    from autoencoders_tutorial.errors import TutorialError

    X = _synthetic().train[0] * 10 - 3
    est = DenoisingAutoencoder(n_hidden=4, n_epochs=1, random_state=0).fit(X)
    np.testing.assert_allclose(est.data_min_, X.min(axis=0)) and np.testing.assert_allclose(
        est.inverse_transform(est.transform(X)).min(axis=0) >= X.min(axis=0) - 1e-5, True)
    with pytest.raises(TutorialError, match=r"inputs must lie in \[0, 1\] for cross-entropy, got range \[-3, 7\]; "
                                            "scale them first, or use scale=True"):
        DenoisingAutoencoder(n_hidden=4, scale=False).fit(X)


@pytest.mark.slow  # three SdAClassifier fits
def test_unlabelled_rows_pretrain_only_and_string_labels():
    ds = _synthetic()
    X, y = ds.train
    y_semi = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    kw = dict(hidden_layers_sizes=(6,), max_epochs=4, batch_size=10, random_state=0, validation_fraction=0.0)
    # without pretraining only the labelled rows matter
    semi = SdAClassifier(pretraining_epochs=0, **kw).fit(X, y_semi)
    only = SdAClassifier(pretraining_epochs=0, **kw).fit(X[y_semi != -1], y[y_semi != -1])
    for k in semi.params_:
        np.testing.assert_array_equal(semi.params_[k], only.params_[k], err_msg=k)
    # with pretraining the unlabelled rows are used
    a = SdAClassifier(pretraining_epochs=1, **kw).fit(X, y_semi)
    b = SdAClassifier(pretraining_epochs=1, **kw).fit(X[y_semi != -1], y[y_semi != -1])
    assert not np.array_equal(a.params_["layer0.W"], b.params_["layer0.W"])
    names = np.array(["cat", "dog", "eel"], dtype=object)[y]
    names[y_semi == -1] = None
    clf = SdAClassifier(pretraining_epochs=1, **kw).fit(X, names)
    assert list(clf.classes_) == ["cat", "dog", "eel"] and set(clf.predict(ds.test[0])) <= {"cat", "dog", "eel"}
    assert clf.score(X, names) == np.mean(clf.predict(X)[y_semi != -1] == names[y_semi != -1])
    assert clf.transform(X, layer="all").shape == (len(X), 6) and clf.predict_proba(X[:3]).shape == (3, 3)


def test_early_stopping_on_given_validation_rows():
    ds = _synthetic()
    clf = SdAClassifier(hidden_layers_sizes=(6,), pretraining_epochs=1, max_epochs=5, batch_size=10, random_state=0)
    clf.fit(*ds.train, X_val=ds.valid[0], y_val=ds.valid[1])
    assert clf.best_validation_error_ == pytest.approx(1 - clf.score(*ds.valid), abs=0.05)
    assert 1 <= clf.n_epochs_ <= 5


@pytest.mark.slow  # a new process compiling its own functions
def test_save_load_and_pickle_in_a_new_process_predict_the_same(tmp_path):
    import subprocess
    import sys

    from helpers import ROOT

    ds = _synthetic()
    clf = SdAClassifier(hidden_layers_sizes=(6, 5), pretraining_epochs=1, max_epochs=3, batch_size=10,
                        random_state=0).fit(*ds.train)
    want = clf.predict(ds.test[0])
    clf.save(tmp_path / "clf.npz")
    loaded = SdAClassifier.load(tmp_path / "clf.npz")
    np.testing.assert_array_equal(loaded.predict(ds.test[0]), want)
    assert loaded.get_params() == clf.get_params()
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", ds.test[0])
    # The new process unpickles with the library's array-only unpickler, allowed the estimator's class and
    # nothing else: the pickle holds the estimator, numbers and numpy arrays, no compiled function.
    code = ("import sys, numpy as np\n"
            "from autoencoders_tutorial.readers import _ArrayOnlyUnpickler\n"
            "from autoencoders_tools.estimators import SdAClassifier\n"
            "class Only(_ArrayOnlyUnpickler):\n"
            "    def find_class(self, module, name):\n"
            "        if (module, name) == (SdAClassifier.__module__, 'SdAClassifier'):\n"
            "            return SdAClassifier\n"
            "        return super().find_class(module, name)\n"
            "clf = Only(open(sys.argv[1], 'rb')).load()\n"
            "np.save(sys.argv[2], clf.predict(np.load(sys.argv[3])))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "clf.pkl"), str(tmp_path / "p.npy"),
                    str(tmp_path / "X.npy")], check=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), want)
    da = DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(ds.train[0])
    da.save(tmp_path / "da.npz")
    np.testing.assert_array_equal(DenoisingAutoencoder.load(tmp_path / "da.npz").transform(ds.test[0]),
                                  da.transform(ds.test[0]))


def test_an_estimator_pickled_before_a_rename_unpickles():
    clf = SdAClassifier(hidden_layers_sizes=(4,), patience_epochs=7)
    state = clf.__getstate__()
    state["patience"] = state.pop("patience_epochs")  # as a pickle from before patience_epochs was named so
    old = SdAClassifier.__new__(SdAClassifier)
    old.__setstate__(state)
    assert old.get_params()["patience_epochs"] == 7 and "patience" not in old.__dict__


def test_an_estimator_pickled_where_it_lived_before_unpickles():
    # versions up to 0.3 pickled the estimators as autoencoders_tutorial.estimators.<class>
    for cls, est in ((SdAClassifier, SdAClassifier(hidden_layers_sizes=(4,))), (DenoisingAutoencoder, DenoisingAutoencoder(n_hidden=3))):
        data = pickle.dumps(est, protocol=2)
        old = data.replace(cls.__module__.encode(), b"autoencoders_tutorial.estimators")
        assert old != data
        assert pickle.loads(old).get_params() == est.get_params()


def test_models_the_scripts_save_load_as_fitted_estimators(tmp_path):
    from autoencoders_tutorial.datasets import make_synthetic
    from dA import dA, run_dA
    from SdA import SdA, run_SdA

    X = make_synthetic().test[0]
    run_dA(dataset="synthetic", training_epochs=1, n_hidden=5, corruption_levels=(0.3,), batch_size=10,
           output_dir=tmp_path / "da", log=lambda *_: None)
    path = tmp_path / "da" / "dA_corruption_30.npz"
    est, da = DenoisingAutoencoder.load(path), dA.load(path)
    np.testing.assert_array_equal(est.transform(X), da.get_codes(X))  # the dA's own numpy-level codes
    assert (est.n_hidden, est.corruption_level, est.n_features_in_) == (5, 0.3, 16)
    run_SdA(dataset="synthetic", hidden_layers_sizes=(6,), corruption_levels=(0.1,), pretraining_epochs=1,
            training_epochs=1, batch_size=10, output_dir=tmp_path / "sda", log=lambda *_: None)
    path = tmp_path / "sda" / "SdA_model.npz"
    clf, sda = SdAClassifier.load(path), SdA.load(path)
    np.testing.assert_array_equal(clf.predict(X), sda.predict(X))
    np.testing.assert_array_equal(clf.transform(X), sda.get_codes(X))
    assert list(clf.classes_) == [0, 1, 2] and clf.hidden_layers_sizes == (6,)


def test_validation_rows_and_layers_are_checked_in_one_line():
    X = np.random.default_rng(0).random((40, 6))
    y = np.arange(40) % 3
    clf = SdAClassifier(hidden_layers_sizes=(4,), pretraining_epochs=0, max_epochs=1, batch_size=10, random_state=0)
    for kw, match in [(dict(X_val=X[:10]), "X_val and y_val go together: got X_val without y_val"),
                      (dict(y_val=y[:10]), "got y_val without X_val"),
                      (dict(X_val=X[:10], y_val=y[:7]), r"one label per row of X_val \(10\), got shape \(7,\)"),
                      (dict(X_val=X[:10], y_val=y[:10, None]), r"got shape \(10, 1\)")]:
        with pytest.raises(TutorialError, match=match):
            clf.fit(X, y, **kw)
    clf.fit(X, y)
    with pytest.raises(TutorialError, match=r"layer must be a hidden layer's index, 0 to 0 \(or -1 for the top\), got 5"):
        clf.transform(X, layer=5)
    assert clf.transform(X, layer=-1).shape == (40, 4)


@pytest.mark.slow  # a fit per input kind (the slow tier runs it)
def test_every_documented_input_round_trips_through_a_file(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), np.arange(40) % 3
    small = dict(pretraining_epochs=1, max_epochs=2, batch_size=10)
    for labels in (np.array(["no", "yes", "maybe"])[y], np.array(["no", "yes", "maybe"], dtype=object)[y]):
        clf = SdAClassifier(hidden_layers_sizes=(np.int64(4),), corruption_levels=(np.float32(0.1),),
                            random_state=np.random.RandomState(1), **small).fit(X, labels)
        clf.save(tmp_path / "m.npz")
        back = SdAClassifier.load(tmp_path / "m.npz")
        assert list(back.classes_) == list(clf.classes_) and back.classes_.dtype == clf.classes_.dtype
        np.testing.assert_array_equal(back.predict(X), clf.predict(X))
        assert back.hidden_layers_sizes == (4,) and back.corruption_levels == (np.float32(0.1).item(),)
        assert back.random_state.get_state()[1].tolist() == clf.random_state.get_state()[1].tolist()
    da = DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=np.random.default_rng(5)).fit(X)
    da.save(tmp_path / "a.npz")
    back = DenoisingAutoencoder.load(tmp_path / "a.npz")
    assert back.random_state.bit_generator.state == da.random_state.bit_generator.state
    np.testing.assert_array_equal(back.transform(X), da.transform(X))


def test_a_damaged_estimator_file_is_one_line_naming_it(tmp_path):
    from autoencoders_tutorial.errors import DataError
    from autoencoders_tutorial.files import load_params, save_params

    X = np.random.default_rng(0).random((30, 5)) * 4  # scaled: data_min and data_range are saved too
    DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(X).save(tmp_path / "a.npz")
    arrays, meta = load_params(tmp_path / "a.npz")
    meta.pop("format_version", None)

    def damaged(arrays=arrays, **changes):
        path = tmp_path / f"bad{len(list(tmp_path.glob('bad*')))}.npz"
        m = dict(meta, **changes)
        save_params(path, arrays, **{k: v for k, v in m.items() if v is not None})
        return path

    cases = [(damaged(noise_state=None), "no field 'noise_state'"),
             (damaged(n_features_in="abc"), "n_features_in is 'abc', not a whole number"),
             (damaged(estimator=dict(meta["estimator"], colour="red")), r"unknown hyper-parameters \['colour'\]"),
             (damaged(estimator=dict(meta["estimator"], n_hidden=-2)), "n_hidden must be a whole number >= 1"),
             (damaged({k: v for k, v in arrays.items() if k != "param.dA.W"}), "lacks parameters"),
             (damaged(dict(arrays, **{"fitted.data_min": np.zeros(2)})), r"data_min is float64 of shape \(2,\), not 5 finite")]
    for path, match in cases:
        with pytest.raises(DataError, match=rf"bad\d\.npz is a damaged saved DenoisingAutoencoder \(.*{match}"):
            DenoisingAutoencoder.load(path)


def test_hyper_parameters_are_checked_in_words_that_name_them():
    X = np.random.default_rng(0).random((20, 4))
    for est, match in [(DenoisingAutoencoder(n_hidden="3"), r"n_hidden must be a whole number >= 1, got '3' \(str\)"),
                       (DenoisingAutoencoder(n_hidden=2.0), r"n_hidden must be a whole number >= 1, got 2.0"),
                       (SdAClassifier(hidden_layers_sizes=(4,), corruption_levels="0.1"),
                        "corruption_levels must be a sequence of numbers, one per hidden layer, got '0.1'"),
                       (SdAClassifier(hidden_layers_sizes=(4.5,)), r"hidden_layers_sizes\[0\] must be a whole number")]:
        with pytest.raises(TutorialError, match=match):
            est.fit(X, np.arange(20) % 2)


def test_score_takes_sparse_rows_and_refuses_weights_of_another_length():
    from scipy.sparse import csr_matrix

    X = np.random.default_rng(0).random((40, 6))
    y = np.arange(40) % 3
    clf = SdAClassifier(hidden_layers_sizes=(4,), pretraining_epochs=0, max_epochs=1, batch_size=10,
                        random_state=0).fit(X, y)
    assert clf.score(csr_matrix(X), y) == clf.score(X, y)
    with pytest.raises(TutorialError, match=r"sample_weight must hold one weight per row \(40\), got shape \(3,\)"):
        clf.score(X, y, sample_weight=np.ones(3))
    with pytest.raises(TutorialError, match=r"y must hold one label per row of X \(40\), got shape \(7,\)"):
        clf.score(X, y[:7])


def test_inverse_transform_refuses_codes_that_are_not_finite_numbers_in_one_line():
    est = DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(np.random.default_rng(0).random((12, 4)))
    for codes, match in [(np.full((2, 3), np.nan), r"codes must be finite numbers, got NaN in row 0$"),
                         (np.array([[0.5, 0.5, 0.5], [0.1, np.inf, 0.2]]), "got inf in row 1$"),
                         (np.full((1, 3), 1e39), r"got 1e\+39 in row 0, too large for float32"),
                         ([["a", "b", "c"]], "codes must be numbers, shape \\(n_samples, 3\\): could not convert")]:
        with pytest.raises(TutorialError, match=match) as err:
            est.inverse_transform(codes)
        assert "\n" not in str(err.value)
    assert np.isfinite(est.inverse_transform(np.full((2, 3), 0.5))).all()


@pytest.mark.slow  # several fits (the slow tier runs it)
def test_object_labels_with_none_or_a_string_minus_one_unlabelled_fit_predict_and_round_trip(tmp_path):
    X = np.random.default_rng(0).random((12, 4))
    small = dict(hidden_layers_sizes=(3,), pretraining_epochs=1, max_epochs=2, batch_size=4, random_state=0)
    for y, classes in [(np.array([0, 1, None] * 4, dtype=object), [0, 1]),
                       (np.array(["a", "b", None] * 4, dtype=object), ["a", "b"]),
                       (np.array([0, 1, "-1"] * 4, dtype=object), [0, 1])]:
        clf = SdAClassifier(**small).fit(X, y)
        pred = clf.predict(X)
        assert clf.classes_.tolist() == classes and clf.classes_.dtype == object
        assert {type(v) for v in pred.tolist()} <= {type(c) for c in classes}  # the labels as given: ints, strs
        assert clf.score(X, y) == np.mean(pred[y != y[2]] == y[y != y[2]])
        clf.save(tmp_path / "m.npz")
        back = SdAClassifier.load(tmp_path / "m.npz")
        assert back.classes_.tolist() == classes and back.classes_.dtype == object
        assert [(v, type(v)) for v in back.predict(X).tolist()] == [(v, type(v)) for v in pred.tolist()]
    for y in (np.array([0, "a", None] * 4, dtype=object), np.array([0, "a", "-1"] * 4, dtype=object)):
        with pytest.raises(TutorialError, match=r"labels mix numbers \(0\) and strings \('a'\); give labelled rows "
                                                r"labels of one type \(-1, or \"-1\" / None, marks an unlabelled row\)$"):
            SdAClassifier(**small).fit(X, y)


def test_a_sparsity_weight_too_large_for_the_precision_is_refused_and_a_diverged_cost_names_it():
    from autoencoders_tutorial.errors import TrainingDiverged

    X, y = np.random.default_rng(0).random((12, 4)), np.arange(12) % 2
    sda = dict(hidden_layers_sizes=(3,), pretraining_epochs=1, max_epochs=1, batch_size=4, random_state=0)
    for est in (DenoisingAutoencoder(n_hidden=3, sparsity_weight=1e300), SdAClassifier(sparsity_weight=1e300, **sda)):
        with pytest.raises(TutorialError, match=r"^sparsity_weight must be at most 3.4028235e\+38 in float32, "
                                                r"got 1e\+300$"):
            est.fit(X, y)
        est.set_params(precision="float64")._check_hyper()  # fits float64
    for est in (DenoisingAutoencoder(n_hidden=3, n_epochs=1, batch_size=4, sparsity_weight=1e38, random_state=0),
                SdAClassifier(sparsity_weight=1e38, **sda)):
        with pytest.raises(TrainingDiverged, match=r"; lower the learning rate or sparsity_weight \(now 1e\+38\)$"):
            est.fit(X, y)


def test_verbose_set_between_fits_is_what_the_next_fit_does(capsys):
    X = _synthetic().train[0]
    da = DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
    da.set_params(verbose=True).fit(X)  # the same compiled step, now printing
    assert "[dA] Training epoch 0" in capsys.readouterr().out
    da.set_params(verbose=False).fit(X)
    assert capsys.readouterr().out == ""


def test_sdaclassifier_sets_its_output_and_scores_only_labelled_rows():
    ds = _synthetic()
    clf = SdAClassifier(hidden_layers_sizes=(5,), pretraining_epochs=1, max_epochs=2, batch_size=10, random_state=0)
    clf.fit(*ds.train)
    with pytest.raises(TutorialError, match="no labelled rows"):
        clf.score(ds.test[0], np.full(len(ds.test[0]), -1))
    assert clf.set_output(transform="default") is clf  # as DenoisingAutoencoder's
    assert list(clf.get_feature_names_out()) == ["SdA0", "SdA1", "SdA2", "SdA3", "SdA4"]
    pd = pytest.importorskip("pandas")
    frame = clf.set_output(transform="pandas").transform(ds.test[0])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(clf.get_feature_names_out())


def _damaged_copy(tmp_path, path, arrays=None, **meta):
    """A copy of the estimator file ``path`` with ``arrays`` and ``meta`` fields replaced."""
    from autoencoders_tutorial.files import load_params, save_params

    saved, fields = load_params(path)
    fields.pop("format_version")
    return save_params(tmp_path / "bad.npz", dict(saved, **(arrays or {})), **dict(fields, **meta))


def test_estimator_files_whose_fitted_state_cannot_be_right_are_one_line(tmp_path):
    X = np.random.default_rng(0).random((30, 6)) * 4 - 1  # outside [0, 1]: the file keeps a min-max scaling
    DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(X).save(tmp_path / "da.npz")
    ds = _synthetic()
    labels = np.array(["alpha", "beta", "gamma"])[ds.train[1]]
    SdAClassifier(hidden_layers_sizes=(4,), pretraining_epochs=1, max_epochs=1, batch_size=10,
                  random_state=0).fit(ds.train[0], labels).save(tmp_path / "sda.npz")
    lo = np.zeros(6)
    cases = [
        (DenoisingAutoencoder, "da.npz", dict(arrays={"fitted.data_min": lo * np.nan}), "data_min is float64"),
        (DenoisingAutoencoder, "da.npz", dict(arrays={"fitted.data_range": lo}), "range <= 0"),
        (DenoisingAutoencoder, "da.npz", dict(arrays={"fitted.data_range": -np.ones(6)}), "range <= 0"),
        (DenoisingAutoencoder, "da.npz", dict(arrays={"fitted.data_range": np.full(6, np.inf)}), "data_range is float64"),
        (DenoisingAutoencoder, "da.npz", dict(n_features_in=6.7), "n_features_in is 6.7, not a whole number"),
        (DenoisingAutoencoder, "da.npz", dict(n_features_in="6"), "n_features_in is '6', not a whole number"),
        (DenoisingAutoencoder, "da.npz", dict(arrays={"param.dA.W": np.ones((6, 3), dtype=np.int64)}), "is <i8"),
        (SdAClassifier, "sda.npz", dict(classes=["alpha", "alpha", "alpha"]), "repeat a label"),
        (SdAClassifier, "sda.npz", dict(classes=[["alpha"], ["beta"], ["gamma"]]), "classes has shape (3, 1)"),
        (SdAClassifier, "sda.npz", dict(classes=["alpha", "beta"]), "logreg.W has shape (4, 3), the model expects (4, 2)"),
        (SdAClassifier, "sda.npz", dict(classes_dtype="<U1"), "classes_dtype <U1 cuts the labels"),
    ]
    for cls, name, change, words in cases:
        bad = _damaged_copy(tmp_path, tmp_path / name, **change)
        with pytest.raises(TutorialError, match=re.escape(words)) as info:
            cls.load(bad)
        assert "is a damaged saved" in str(info.value) and "\n" not in str(info.value), (change, info.value)
    nan_classes = _damaged_copy(tmp_path, tmp_path / "sda.npz", classes=None, classes_dtype="<f8",
                                arrays={"fitted.classes": np.array([0.0, np.nan, 2.0])})
    with pytest.raises(TutorialError, match="NaN or infinite labels"):
        SdAClassifier.load(nan_classes)
