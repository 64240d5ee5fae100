"""Property-based tests (Hypothesis) of what reads user input without fitting a model: the estimators'
hyper-parameter checks, a saved estimator file, the metrics reader. Whatever comes in is either read
as documented or refused with one line of the library's own error types: never another exception.

A few dozen examples each in the default tier, 2,000 each in the slow tier.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autoencoders_tutorial import plot
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.estimators import DenoisingAutoencoder, SdAClassifier
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
