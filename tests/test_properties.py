"""Property-based tests (Hypothesis) of what reads user input without fitting a model: the estimators'
hyper-parameter checks, a saved estimator file, a saved dA or SdA model file, the metrics reader. Whatever
comes in is either read as documented or refused with one line of the library's own error types: never
another exception.

A few dozen examples each in the default tier, 2,000 each in the slow tier. The slow tier also fits tiny
estimators with random settings (mostly valid, now and then one invalid or diverging), uses, saves and
loads them: each works, or fails with one line of the library's errors.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoencoders_tools import plot
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier
from autoencoders_tutorial.files import load_params, save_params

#: A few dozen examples in the default tier, 2,000 in the slow one.
EXAMPLES = [30, pytest.param(2000, marks=pytest.mark.slow)]


def _run(examples, strategy_kwargs, check):
    """Run ``check`` under Hypothesis with ``examples`` examples."""
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow])(given(**strategy_kwargs)(check))()

#: Anything a user might pass for a parameter: numbers of every kind, text, containers, numpy values.
ANYTHING = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8) | st.sampled_from([np.int64(3), np.float32(0.1), np.array([4]), np.array(2.0)]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner),
    max_leaves=5,
)

DA_PARAMS = ["n_hidden", "corruption_level", "corruption_type", "learning_rate", "n_epochs", "batch_size",
             "tied_weights", "loss", "decoder", "sparsity_target", "sparsity_weight", "precision"]
SDA_PARAMS = ["hidden_layers_sizes", "corruption_levels", "corruption_type", "pretraining_epochs", "pretrain_lr",
              "finetune_lr", "max_epochs", "batch_size", "finetune", "patience_epochs", "validation_fraction",
              "sparsity_target", "sparsity_weight"]


def _checked(est):
    """``est``'s hyper-parameter check: passes, or one of the library's errors (a ValueError)."""
    try:
        est._check_hyper()
    except TutorialError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("examples", EXAMPLES)
def test_any_denoising_autoencoder_parameter_is_checked_in_one_line(examples):
    _run(examples, dict(name=st.sampled_from(DA_PARAMS), value=ANYTHING),
         lambda name, value: _checked(DenoisingAutoencoder(**{name: value})))


@pytest.mark.parametrize("examples", EXAMPLES)
def test_any_sda_classifier_parameter_is_checked_in_one_line(examples):
    _run(examples, dict(name=st.sampled_from(SDA_PARAMS), value=ANYTHING),
         lambda name, value: _checked(SdAClassifier(hidden_layers_sizes=(4,), **{name: value})
                                      if name != "hidden_layers_sizes" else SdAClassifier(**{name: value})))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "a.npz"
    X = np.random.default_rng(0).random((30, 5)) * 4
    DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0).fit(X).save(path)
    arrays, meta = load_params(path)
    meta.pop("format_version", None)
    return arrays, meta


JSONISH = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                       | st.text(max_size=6), lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


@pytest.mark.parametrize("examples", EXAMPLES)
def test_any_change_to_a_saved_estimator_loads_or_is_one_line(saved, tmp_path_factory, examples):
    _run(examples, dict(data=st.data()), lambda data: _load_changed(saved, tmp_path_factory, data))


def _load_changed(saved, tmp_path_factory, data):
    arrays, meta = saved
    meta = json.loads(json.dumps(meta))
    key = data.draw(st.sampled_from(["n_features_in", "noise_state", "cost_curve", "estimator", "model",
                                     "device_noise_state", "estimator.n_hidden", "estimator.loss",
                                     "estimator.random_state", "estimator.corruption_level"]))
    value = data.draw(JSONISH)
    if key.startswith("estimator."):
        meta["estimator"][key.split(".", 1)[1]] = value
    else:
        meta[key] = value
    dropped = data.draw(st.sets(st.sampled_from(sorted(arrays)), max_size=2))
    path = tmp_path_factory.mktemp("bad") / "bad.npz"
    save_params(path, {k: v for k, v in arrays.items() if k not in dropped}, **meta)
    try:
        DenoisingAutoencoder.load(path)
    except DataError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


RECORD = st.dictionaries(st.sampled_from(["run", "phase", "epoch", "iter", "cost", "validation_error", "test_error",
                                          "seconds"]), JSONISH | st.integers(-10**400, 10**400), max_size=5)


@pytest.mark.parametrize("examples", EXAMPLES)
def test_any_metrics_file_is_read_as_records_or_refused_in_one_line(tmp_path_factory, examples):
    _run(examples, dict(lines=st.lists(RECORD.map(json.dumps) | st.text(max_size=20), max_size=6)),
         lambda lines: _read_metrics(tmp_path_factory, lines))


def _read_metrics(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("metrics") / "metrics.jsonl"
    path.write_text("\n".join(lines) + "\n")
    said = []
    try:
        run, records = plot.read_metrics(path, log=said.append)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    for r in records:  # every record kept is one the plot can draw
        assert isinstance(r["run"], str) and r["run"] == run
        for k in ("cost", "validation_error", "test_error"):
            assert k not in r or (not isinstance(r[k], bool) and math.isfinite(r[k]))
    assert len(said) <= 1


# -- the dA and SdA model files (dA.py, SdA.py, their save / load, the estimators' load of them) -------------------

#: The meta the scripts write beside a model (``python dA.py``, ``python SdA.py``).
DA_META = dict(corruption_level=0.3, epochs_done=1, interrupted=False, dataset="synthetic", precision="float32")
SDA_CONFIG = dict(dataset="synthetic", data_sha256="0123456789abcdef", batch_size=10, pretraining_epochs=1,
                  pretrain_lr=0.1, finetune_lr=0.1, finetune="all", n_labels=None, seed=1, precision="float32",
                  backend="cvm", train_path="step")


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    """Each kind of model file, as written: ``{kind: (arrays, meta)}``."""
    from dA import dA
    from SdA import SdA

    d = tmp_path_factory.mktemp("models")
    dA(0, n_visible=5, n_hidden=3).save(d / "dA.npz", **DA_META)
    dA(0, n_visible=5, n_hidden=3, tied_weights=False, loss="squared_error", decoder="linear",
       sparsity_weight=0.1).save(d / "untied.npz", **DA_META)
    SdA(0, n_ins=5, hidden_layers_sizes=(4, 3), n_outs=2, corruption_levels=(0.1, 0.2)).save(d / "SdA.npz",
                                                                                                config=SDA_CONFIG)
    files = {kind: load_params(d / f"{kind}.npz") for kind in ("dA", "untied", "SdA")}
    for _, meta in files.values():
        meta.pop("format_version")
    return files


#: Values a field may be given: anything JSON holds, and near misses of the right ones.
FIELD_VALUE = JSONISH | st.sampled_from([0, 1, 2, 3, 4, 5, -1, 0.5, 2.5, 1e300, True, "float64", "float16", "dA",
                                         "SdA", "top", [4, 3], [4], [3, 4], [0.1, 0.2], [0.1], [4.0, 3.0], {}])


def _changed_model(saved, data):
    """A model file's arrays and meta with one to three changes: an array dropped, added, of another dtype or
    shape or holding a non-finite or too large value; a field dropped, added or given another value."""
    arrays, meta = saved
    arrays, meta = dict(arrays), json.loads(json.dumps(meta))
    for _ in range(data.draw(st.integers(1, 3))):
        change = data.draw(st.sampled_from(["drop array", "add array", "dtype", "shape", "value", "drop field",
                                            "set field", "set config field"]))
        names = sorted(arrays)
        if change == "drop array" and names:
            del arrays[data.draw(st.sampled_from(names))]
        elif change == "add array":
            name = data.draw(st.sampled_from(names + ["W_prime", "extra", "layer2.W", "dA.W", "best.layer0.W"]))
            arrays[name] = np.full(data.draw(st.sampled_from([(), (3,), (5,), (5, 3), (3, 5), (0,)])), 0.25)
        elif change in ("dtype", "shape", "value") and names:
            name = data.draw(st.sampled_from(names))
            a = arrays[name]
            if change == "dtype":
                with np.errstate(invalid="ignore", over="ignore"):
                    arrays[name] = a.astype(data.draw(st.sampled_from(["float16", "float64", "int64", "int8", "bool",
                                                                       "uint8"])))
            elif change == "shape":
                b = np.atleast_1d(a)
                arrays[name] = data.draw(st.sampled_from([a.reshape(-1), a[..., None], b[:1], a.T, b[:0]]))
            elif a.size:
                a = a.astype("float64")
                a.flat[0] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e39, 0.0]))
                arrays[name] = a
        elif change == "drop field" and meta:
            del meta[data.draw(st.sampled_from(sorted(meta)))]
        elif change == "set field":
            meta[data.draw(st.sampled_from(sorted(meta) + ["n_hidden", "tied_weights", "model", "config", "new"]))] = \
                data.draw(FIELD_VALUE)
        elif change == "set config field" and isinstance(meta.get("config"), dict):
            config = meta["config"] = dict(meta["config"])  # a copy: it may be FIELD_VALUE's own {}, shared
            key = data.draw(st.sampled_from(sorted(config) + ["new"]))
            if data.draw(st.booleans()) and key in config:
                del config[key]
            else:
                config[key] = data.draw(FIELD_VALUE)
    return arrays, meta


def _read_exactly(params, arrays, prefix=""):
    """The parameters loaded are the file's arrays, every one (in the parameters' dtype)."""
    values = {p.name[len(prefix):] if prefix else p.name: p.get_value() for p in params}
    assert sorted(values) == sorted(arrays)
    for name, value in values.items():
        np.testing.assert_array_equal(value, arrays[name].astype(value.dtype), err_msg=name)


def _load_model_changed(kind, saved_models, tmp_path_factory, data):
    from dA import dA
    from SdA import SdA

    from autoencoders_tutorial.modelfiles import DA_OPTIONS, SDA_OPTIONS

    arrays, meta = _changed_model(saved_models[kind], data)
    path = tmp_path_factory.mktemp("changed") / f"{kind}.npz"
    save_params(path, arrays, **meta)
    loads = [dA.load, DenoisingAutoencoder.load] if kind != "SdA" else [SdA.load, SdAClassifier.load]
    for estimator, load in enumerate(loads):
        try:
            model = load(path)
        except DataError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            continue
        if estimator:  # the estimator of a script's model: its parameters, and settings the estimator's checks pass
            assert sorted(model.params_) == sorted((f"dA.{k}" if kind != "SdA" else k) for k in arrays)
            model._check_hyper()
            assert model.precision == (meta if kind != "SdA" else meta["config"]).get("precision", "float32")
        elif kind != "SdA":
            _read_exactly(model.params, arrays, "dA.")
            assert model.tied_weights == meta.get("tied_weights", "W_prime" not in arrays)
            assert {k: getattr(model, k) for k in DA_OPTIONS} == {k: meta.get(k, v) for k, v in DA_OPTIONS.items()}
        else:
            _read_exactly(model.all_params, arrays)
            config = meta["config"]
            assert (model.n_ins, list(model.hidden_layers_sizes), model.n_outs, list(model.corruption_levels)) == (
                config["n_ins"], config["hidden_layers_sizes"], config["n_outs"], config["corruption_levels"])
            assert {k: getattr(model, k) for k in SDA_OPTIONS} == {k: config.get(k, v) for k, v in SDA_OPTIONS.items()}


@pytest.mark.parametrize("kind", ["dA", "untied", "SdA"])
@pytest.mark.parametrize("examples", EXAMPLES)
def test_any_change_to_a_saved_model_loads_exactly_or_is_one_line(kind, saved_models, tmp_path_factory, examples):
    _run(examples, dict(data=st.data()), lambda data: _load_model_changed(kind, saved_models, tmp_path_factory, data))


# -- fitting: tiny models with random settings, fitted, used, saved and loaded (the slow tier, about a minute) ------

#: What the fits run on: PyTensor's Python linker, no C compilation.
FIT = dict(mode="FAST_COMPILE")
#: Examples of each fitting test: the two take about a minute together (each example fits a tiny model).
FITS = 40


#: Valid settings of each estimator, drawn together where they depend on each other.
DA_SETTINGS = st.fixed_dictionaries({}, optional=dict(
    n_hidden=st.integers(1, 5), corruption_level=st.floats(0, 0.9),
    corruption_type=st.sampled_from(["masking", "gaussian", "salt_and_pepper"]), learning_rate=st.floats(1e-3, 1.0),
    n_epochs=st.integers(1, 3), batch_size=st.integers(1, 20), tied_weights=st.booleans(),
    sparsity_target=st.floats(0.01, 0.99), sparsity_weight=st.sampled_from([0.0, 0.1, 1.0]), scale=st.booleans(),
    precision=st.sampled_from(["float32", "float64"]), random_state=st.none() | st.integers(0, 2**32 - 1),
    loss_decoder=st.sampled_from([("cross_entropy", "sigmoid"), ("squared_error", "sigmoid"),
                                  ("squared_error", "linear")]))).map(
    lambda d: dict(d, **dict(zip(("loss", "decoder"), d.pop("loss_decoder", ())))))
SDA_SETTINGS = st.fixed_dictionaries({}, optional=dict(
    layers=st.lists(st.tuples(st.integers(1, 5), st.floats(0, 0.9)), min_size=1, max_size=2),
    corruption_type=st.sampled_from(["masking", "gaussian", "salt_and_pepper"]), pretraining_epochs=st.integers(0, 2),
    pretrain_lr=st.floats(1e-3, 1.0), finetune_lr=st.floats(1e-3, 1.0), max_epochs=st.integers(1, 3),
    batch_size=st.integers(1, 20), finetune=st.sampled_from(["all", "top"]), patience_epochs=st.integers(1, 3),
    validation_fraction=st.floats(0, 0.5), sparsity_target=st.floats(0.01, 0.99),
    sparsity_weight=st.sampled_from([0.0, 0.1]), scale=st.booleans(), precision=st.sampled_from(["float32", "float64"]),
    random_state=st.none() | st.integers(0, 2**32 - 1))).map(
    lambda d: dict(d, **dict(zip(("hidden_layers_sizes", "corruption_levels"), map(tuple, zip(*d.pop("layers", [])))))))
#: Now and then one setting made invalid (or one that diverges): {name: values}.
DA_INVALID = dict(n_hidden=[0, 2.5, "3"], corruption_level=[-0.1, 1.0, float("nan")], corruption_type=["pepper"],
                  learning_rate=[0.0, 1e30, float("inf")], n_epochs=[0], batch_size=[0], decoder=["linear"],
                  sparsity_target=[0.0, 1.0], sparsity_weight=[-1.0, 1e38, 1e300], precision=["float16"])
SDA_INVALID = dict(hidden_layers_sizes=[(), (0,), (2.5,)], corruption_levels=[(0.1, 0.2, 0.3), (1.0,)],
                   pretraining_epochs=[-1], finetune_lr=[0.0, 1e30], max_epochs=[0], batch_size=[0], finetune=["none"],
                   patience_epochs=[0], validation_fraction=[1.0], sparsity_weight=[1e38], precision=["float16"])


def _settings(valid, invalid):
    """Valid settings; one time in four with one of them made invalid."""
    one_bad = st.sampled_from(sorted(invalid)).flatmap(lambda k: st.sampled_from(invalid[k]).map(lambda v: {k: v}))
    return st.tuples(valid, st.sampled_from([{}, {}, {}]) | one_bad).map(lambda a: {**a[0], **a[1]})


#: Tiny data: 12 rows of 4 features in [0, 1], or outside it (scaled, or refused with scale=False).
ROWS = st.tuples(st.integers(0, 2**32 - 1), st.sampled_from([1.0, 10.0])).map(
    lambda a: np.random.default_rng(a[0]).random((12, 4)) * a[1] - (a[1] > 1))
#: Labels of 12 rows in each documented form, some rows unlabelled.
LABELS = st.tuples(st.lists(st.integers(-1, 2), min_size=12, max_size=12), st.sampled_from(["int", "object", "str"])).map(
    lambda a: np.array(a[0]) if a[1] == "int" else np.array([None if v < 0 else v for v in a[0]], dtype=object)
    if a[1] == "object" else np.array(["-1" if v < 0 else "abc"[v] for v in a[0]]))


def _fitted_or_one_line(fit_and_use, fitted):
    try:
        fit_and_use()
    except TutorialError as exc:
        assert "\n" not in str(exc)
    else:
        fitted.append(1)


@pytest.mark.slow  # about 15 s
def test_a_denoising_autoencoder_with_any_settings_fits_and_round_trips_or_is_one_line(tmp_path_factory):
    def fit_and_use(X, settings_):
        est = DenoisingAutoencoder(**settings_, **FIT).fit(X)
        codes = est.transform(X)
        assert codes.shape == (12, est.n_hidden) and est.inverse_transform(codes).shape == X.shape
        path = tmp_path_factory.mktemp("fit") / "da.npz"
        est.save(path)
        np.testing.assert_array_equal(DenoisingAutoencoder.load(path).transform(X), codes)

    fitted = []
    _run(FITS, dict(X=ROWS, settings_=_settings(DA_SETTINGS, DA_INVALID)),
         lambda X, settings_: _fitted_or_one_line(lambda: fit_and_use(X, settings_), fitted))
    assert len(fitted) >= FITS // 3  # most settings are valid: the fitting paths ran


@pytest.mark.slow  # about 35 s
def test_an_sda_classifier_with_any_settings_fits_and_round_trips_or_is_one_line(tmp_path_factory):
    def fit_and_use(X, y, settings_):
        clf = SdAClassifier(**dict(dict(hidden_layers_sizes=(3,)), **settings_), **FIT).fit(X, y)
        predicted = clf.predict(X)
        assert set(predicted.tolist()) <= set(clf.classes_.tolist()) and clf.predict_proba(X).shape == (12, len(
            clf.classes_))
        path = tmp_path_factory.mktemp("fit") / "sda.npz"
        clf.save(path)
        assert SdAClassifier.load(path).predict(X).tolist() == predicted.tolist()

    fitted = []
    _run(FITS, dict(X=ROWS, y=LABELS, settings_=_settings(SDA_SETTINGS, SDA_INVALID)),
         lambda X, y, settings_: _fitted_or_one_line(lambda: fit_and_use(X, y, settings_), fitted))
    assert len(fitted) >= FITS // 3
