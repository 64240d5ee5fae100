"""SdA: weight sharing, layer-wise pretraining, frozen layers, precomputed codes, resume, CLI."""

import re

import numpy as np
import pytensor
import pytest
from helpers import HAS_JAX, MODES, assert_grads_match_fd

import SdA as SdA_module
from autoencoders_tutorial.datasets import shared_dataset
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import load_params
from autoencoders_tutorial.paths import resolve_path
from autoencoders_tutorial.runs import RunInterrupted
from SdA import SdA, main, run_SdA


def _values(params):
    return {p.name: p.get_value().copy() for p in params}


def test_structure_and_sharing_by_identity():
    sda = SdA(np.random.default_rng(0), n_ins=16, hidden_layers_sizes=(8, 6), n_outs=3, corruption_levels=(0.1, 0.3))
    assert sda.n_layers == 2 and len(sda.dA_layers) == 2 and len(sda.sigmoid_layers) == 2
    for k in range(2):
        assert sda.dA_layers[k].W is sda.sigmoid_layers[k].W
        assert sda.dA_layers[k].b is sda.sigmoid_layers[k].b
        assert sda.dA_layers[k].b_prime not in sda.params
        assert sda.dA_layers[k].theano_rng is sda.theano_rng
    assert sda.dA_layers[1].x is sda.sigmoid_layers[0].output
    assert sda.params == [sda.sigmoid_layers[0].W, sda.sigmoid_layers[0].b, sda.sigmoid_layers[1].W,
                          sda.sigmoid_layers[1].b, sda.logLayer.W, sda.logLayer.b]
    assert sda.sigmoid_layers[1].W.get_value().shape == (8, 6)
    X = np.random.default_rng(0).random((5, 16))
    assert sda.get_codes(X).shape == (5, 6) and sda.get_codes(X, layer=0).shape == (5, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(hidden_layers_sizes=(), corruption_levels=()), "at least one layer"),
    (dict(hidden_layers_sizes=(4, 4), corruption_levels=(0.1,)), "one entry per hidden layer"),
    (dict(hidden_layers_sizes=(4,), corruption_levels=(1.0,)), r"in \[0, 1\) for masking noise, got 1.0"),
    (dict(hidden_layers_sizes=(0,), corruption_levels=(0.1,)), "must be > 0, got 0"),
])
def test_bad_configurations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SdA(0, n_ins=4, n_outs=2, **kwargs)


@pytest.mark.parametrize("precompute", [False, True])
def test_pretraining_layer_k_changes_only_layer_k(tiny, precompute):
    sda = SdA(np.random.default_rng(1), n_ins=16, hidden_layers_sizes=(8, 6), n_outs=3, corruption_levels=(0.2, 0.3))
    train_x, _ = shared_dataset(tiny.train)
    fns = sda.pretraining_functions(train_x, batch_size=10, precompute_codes=precompute)
    for k in range(2):
        before = _values(sda.all_params)
        rng_before = sda.theano_rng.get_value().bit_generator.state
        for i in range(5):
            fns[k](i, lr=0.1)
        after = _values(sda.all_params)
        own = {sda.sigmoid_layers[k].W.name, sda.sigmoid_layers[k].b.name, sda.dA_layers[k].b_prime.name}
        for name in before:
            moved = not np.array_equal(before[name], after[name])
            assert moved == (name in own), name
        assert sda.theano_rng.get_value().bit_generator.state != rng_before  # fresh noise was drawn


def test_pretraining_uses_the_given_corruption_levels():
    sda = SdA(0, n_ins=40, hidden_layers_sizes=(5,), n_outs=2, corruption_levels=(0.25,))
    X = pytensor.shared(np.ones((200, 40), dtype=pytensor.config.floatX))
    fn = sda.pretraining_functions(X, batch_size=200)[0]
    assert dict(zip(fn.names, fn.defaults)) == {"corruption": 0.25, "lr": 0.1}
    # the same step with the level passed explicitly gives the same result ...
    twin = SdA(0, n_ins=40, hidden_layers_sizes=(5,), n_outs=2, corruption_levels=(0.9,))
    fn2 = twin.pretraining_functions(X, batch_size=200)[0]
    assert fn(0) == fn2(0, corruption=0.25)
    # ... and the level is really used: another one gives another cost
    third = SdA(0, n_ins=40, hidden_layers_sizes=(5,), n_outs=2, corruption_levels=(0.9,))
    assert third.pretraining_functions(X, batch_size=200)[0](0) != fn2(0, corruption=0.25)


@pytest.mark.slow  # float64 graphs of three layers: 13 s cold
def test_precomputed_codes_equal_recomputing(tiny, float64):
    results = []
    for precompute in (False, True):
        sda = SdA(np.random.default_rng(2), n_ins=16, hidden_layers_sizes=(8, 6, 5), n_outs=3,
                  corruption_levels=(0.1, 0.2, 0.3))
        train_x, _ = shared_dataset(tiny.train)
        fns = sda.pretraining_functions(train_x, batch_size=10, precompute_codes=precompute)
        costs = [fns[k](i, lr=0.05) for k in range(3) for _ in range(2) for i in range(20)]
        results.append((costs, _values(sda.all_params)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    for name in results[0][1]:
        np.testing.assert_allclose(results[0][1][name], results[1][1][name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.skipif(not HAS_JAX, reason="JAX not installed")
def test_precomputed_codes_on_the_block_path_are_one_call_and_the_step_paths_rows(monkeypatch):
    """On the block path a layer's codes come from one call over every minibatch, bit for bit the
    rows that one call per minibatch gives, and are read in place (no copy of the call's output)."""
    from autoencoders_tutorial.paths import RunContext, resolve_path
    from autoencoders_tutorial.blocks import BlockSteps

    X = np.random.default_rng(0).random((400, 16), dtype=np.float32)
    codes, calls = [], []
    with pytensor.config.change_flags(floatX="float32"):  # resolved first: a cold cache's block probe runs a block
        paths = (resolve_path("step", mode="JAX"), resolve_path("block", mode="JAX", block_size=3))
    block = BlockSteps.block
    monkeypatch.setattr(BlockSteps, "block", lambda self, start, k, *a: calls.append((start, k)) or block(self, start, k, *a))
    with pytensor.config.change_flags(floatX="float32"):
        for path in paths:
            sda = SdA(np.random.default_rng(1), n_ins=16, hidden_layers_sizes=(12, 10, 8), n_outs=3)
            train_x, _ = shared_dataset((X, np.zeros(400, dtype=np.int64)))
            fns = sda.pretraining_functions(train_x, 20, precompute_codes=True, context=RunContext("JAX", path))
            fns[2].ready()
            codes.append(sda._precomputed[1].buffer.get_value(borrow=True))
            fill = sda._precomputed[1].fill
            if isinstance(fill, BlockSteps):  # the block path's fill let go of its copy of the training set
                assert all(st.get_value(borrow=True).shape[0] == 0 for _, st, _ in fill._stores)
    assert calls == [(0, 20)]  # 20 minibatches in one call, though the training blocks are 3
    assert codes[0].shape == codes[1].shape == (400, 10)
    np.testing.assert_array_equal(codes[0], codes[1])
    assert not codes[1].flags.owndata  # a view of the call's output


def test_finetune_top_leaves_hidden_layers(tiny):
    sda = SdA(np.random.default_rng(3), n_ins=16, hidden_layers_sizes=(8, 6), n_outs=3, corruption_levels=(0.1, 0.2))
    datasets = [shared_dataset(s) for s in tiny.splits]
    train_fn, valid_score, test_score = sda.build_finetune_functions(datasets, 10, 0.1, params=sda.logLayer.params)
    before = _values(sda.all_params)
    for i in range(20):
        train_fn(i)
    after = _values(sda.all_params)
    for name in before:
        assert np.array_equal(before[name], after[name]) == (not name.startswith("logreg")), name
    assert len(valid_score()) == 5 and all(0 <= e <= 1 for e in test_score())
    train_all, _, _ = sda.build_finetune_functions(datasets, 10, 0.1)
    train_all(0)
    assert not np.array_equal(sda.sigmoid_layers[0].W.get_value(), after["layer0.W"])


@pytest.mark.slow  # float64 graphs of the whole stack: 12 s cold
def test_finetune_gradients_match_finite_differences(float64, rng):
    sda = SdA(np.random.default_rng(4), n_ins=5, hidden_layers_sizes=(4, 3), n_outs=3, corruption_levels=(0.1, 0.2))
    X = rng.random((6, 5))
    Y = rng.integers(0, 3, 6).astype("int32")
    sda.logLayer.W.set_value(rng.standard_normal((3, 3)))
    assert_grads_match_fd(sda.finetune_cost, sda.params, {sda.x: X, sda.y: Y})


SMALL = dict(dataset="synthetic", hidden_layers_sizes=(8, 6), corruption_levels=(0.1, 0.2), batch_size=10,
             pretraining_epochs=2, pretrain_lr=0.1, training_epochs=4, finetune_lr=0.1, seed=7)


def _final(path):
    return load_params(path / "SdA_model.npz")[0]


def _interrupting_log(trigger, seen):
    def log(msg):
        if trigger in msg and not seen:
            seen.append(msg)
            raise KeyboardInterrupt
    return log


def _stopped(trigger, **kw):
    """Run ``run_SdA`` with Ctrl-C at the first log line containing ``trigger``: the RunInterrupted it raises."""
    seen = []
    with pytest.raises(RunInterrupted) as info:
        run_SdA(log=_interrupting_log(trigger, seen), **kw)
    assert seen
    return info.value


BLOCKS = dict(train_path="block", noise_source="device", block_size=3)  # blocks and remainders, device noise


@pytest.mark.parametrize("trigger, mode, path", [
    pytest.param("Pre-training layer 0: Training epoch 1", "CVM", {}, marks=pytest.mark.slow),  # inside layer 0
    pytest.param("Pre-training layer 1: Training epoch 0", "CVM", {}, marks=pytest.mark.slow),  # after layer 0
    pytest.param("epoch 3 done", "CVM", {}, marks=MODES[0].marks),  # during fine-tuning
    pytest.param("Pre-training layer 1: Training epoch 1", "JAX", {}, marks=MODES[1].marks),  # inside layer 1
    pytest.param("Pre-training layer 1: Training epoch 0", "CVM", BLOCKS, marks=MODES[0].marks),
    pytest.param("Pre-training layer 0: Training epoch 1", "JAX", BLOCKS, marks=[*MODES[1].marks, pytest.mark.slow]),
])
def test_resume_equals_uninterrupted(tmp_path, trigger, mode, path):
    kw = dict(SMALL, mode=mode, **path)
    full = run_SdA(output_dir=tmp_path / "full", log=lambda *_: None, **kw)
    stop = _stopped(trigger, output_dir=tmp_path / "part", **kw)
    assert tmp_path / "part" / "checkpoint.npz" in stop.saved and "--resume" in str(stop)
    said = []
    resumed = run_SdA(output_dir=tmp_path / "part", resume=True, log=said.append, **kw)
    if trigger == "epoch 3 done":  # the summary counts this run's epochs, and all of them
        n, done = full["finetune_epochs"], int(re.search(r"phase finetune, layer 0, epoch (\d+)", said[0])[1])
        assert any(line.endswith(f"({n - done} epoch{'s' * (n - done != 1)}, {n} in all)") for line in said), said
    a, b = _final(tmp_path / "full"), _final(tmp_path / "part")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed["test_error"] == full["test_error"]


def test_resume_with_other_options_is_refused(tmp_path):
    run_SdA(output_dir=tmp_path, log=lambda *_: None, **dict(SMALL, training_epochs=1, train_path="step"))
    with pytest.raises(DataError, match="was made with batch_size=10, this run has 20"):
        run_SdA(output_dir=tmp_path, resume=True, log=lambda *_: None, **dict(SMALL, batch_size=20))
    other = resolve_path(**BLOCKS).name  # "step" where the block path cannot run
    if other == "step":  # (Numba): the resume asking for blocks runs the step path the checkpoint was made on
        assert run_SdA(output_dir=tmp_path, resume=True, log=lambda *_: None, **SMALL | BLOCKS)["finetune_epochs"]
        return
    with pytest.raises(DataError, match=f"was made with train_path='step', this run has '{other}'"):
        run_SdA(output_dir=tmp_path, resume=True, log=lambda *_: None, **SMALL | BLOCKS)


@pytest.mark.slow  # two runs; test_finetune_top_leaves_hidden_layers checks the step itself
def test_finetune_top_keeps_the_pretrained_layers(tmp_path):
    # the weights right after pretraining: the checkpoint of a run stopped in its first fine-tuning epoch
    _stopped("validation error", output_dir=tmp_path / "pre", finetune="top", **SMALL)
    pre = load_params(tmp_path / "pre" / "checkpoint.npz")[0]
    assert load_params(tmp_path / "pre" / "checkpoint.npz")[1]["phase"] == "finetune"
    res = run_SdA(output_dir=tmp_path / "top", finetune="top", log=lambda *_: None, **SMALL)
    final = _final(tmp_path / "top")
    for name in ("layer0.W", "layer0.b", "layer1.W", "layer1.b"):
        np.testing.assert_array_equal(final[name], pre[name], err_msg=name)
    assert not np.array_equal(final["logreg.W"], pre["logreg.W"]) and res["finetune_epochs"] == 4


def test_n_labels_equals_a_run_on_the_first_rows(tmp_path):
    from autoencoders_tutorial.datasets import make_synthetic

    # without pretraining, only the labelled rows matter
    kw = {k: v for k, v in SMALL.items() if k != "dataset"} | {"pretraining_epochs": 0}
    few = run_SdA(output_dir=tmp_path / "a", dataset=make_synthetic(), n_labels=50, log=lambda *_: None, **kw)
    cut = make_synthetic()
    cut.train = (cut.train[0][:50], cut.train[1][:50])
    first = run_SdA(output_dir=tmp_path / "b", dataset=cut, log=lambda *_: None, **kw)
    a, b = _final(tmp_path / "a"), _final(tmp_path / "b")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert few["test_error"] == first["test_error"]
    with pytest.raises(TutorialError, match="n_labels 5000 is more than the 200 training rows"):
        run_SdA(output_dir=tmp_path / "c", n_labels=5000, log=lambda *_: None, **SMALL)


@pytest.mark.slow  # two runs and scikit-learn fits
def test_features_use_the_labels_they_say(tmp_path):
    from sklearn.linear_model import LogisticRegression as SkLogReg

    from autoencoders_tutorial.datasets import make_synthetic

    said = []
    res = run_SdA(output_dir=tmp_path, n_labels=50, features=True, log=said.append, **SMALL)
    assert any("features fitted on the labels of the first 50 training rows" in s for s in said)
    # the oracle: codes of the pretrained network (the checkpoint of a run stopped in fine-tuning's first epoch
    # begins), a logistic regression fitted on the first 50 labelled rows only
    _stopped("validation error", output_dir=tmp_path / "pre", n_labels=50, **SMALL)
    sda = SdA.load(tmp_path / "pre" / "checkpoint.npz")
    ds = make_synthetic()
    clf = SkLogReg(max_iter=200).fit(sda.get_codes(ds.train[0][:50]), ds.train[1][:50])
    want = float(np.mean(clf.predict(sda.get_codes(ds.test[0])) != ds.test[1]))
    assert res["features"]["top-layer codes"] == want


def test_no_pretraining_still_finetunes(tmp_path):
    res = run_SdA(output_dir=tmp_path, log=lambda *_: None, **dict(SMALL, pretraining_epochs=0))
    assert res["finetune_epochs"] == SMALL["training_epochs"]
    assert not (tmp_path / "filters_layer0.png").exists()  # written after pretraining only


def test_resumed_finished_run_rewrites_nothing(tmp_path):
    run_SdA(output_dir=tmp_path, log=lambda *_: None, **dict(SMALL, training_epochs=1))
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != ".lock"}
    said = []
    res = run_SdA(output_dir=tmp_path, resume=True, log=said.append, **dict(SMALL, training_epochs=1))
    assert res["complete"] and any("is complete" in s and "nothing to do" in s for s in said)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir() if p.name != ".lock"} == stamps


def test_save_load_and_predict(tmp_path, capsys):
    from autoencoders_tutorial.datasets import make_synthetic

    res = run_SdA(output_dir=tmp_path, log=lambda *_: None, **dict(SMALL, training_epochs=1))
    loaded = SdA.load(tmp_path / "SdA_model.npz")
    X = make_synthetic().test[0]
    np.testing.assert_array_equal(loaded.predict(X), res["model"].predict(X))
    np.testing.assert_array_equal(loaded.get_codes(X), res["model"].get_codes(X))
    assert main(["--predict", "--dataset", "synthetic", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Predicted values for the first 10 examples in test set:" in out
    assert str(res["model"].predict(X[:10])) in out
    with pytest.raises(DataError, match="not found"):
        SdA.load(tmp_path / "none.npz")


def test_hidden_without_corruption_takes_the_tutorials_levels(tmp_path):
    said = []
    res = run_SdA(output_dir=tmp_path, log=said.append, **dict(SMALL, hidden_layers_sizes=(8, 6, 5, 4),
                                                               corruption_levels=None, training_epochs=1,
                                                               pretraining_epochs=0))
    assert res["model"].corruption_levels == (0.1, 0.2, 0.3, 0.3)
    assert any("cut or extended to 4 layers" in s for s in said)
    assert SdA_module.tutorial_corruption_levels(1) == (0.1,)


@pytest.mark.slow  # several runs of the script (the slow tier runs it)
def test_cli_refuses_to_overwrite_a_checkpoint_python_starts_fresh(tmp_path, capsys):
    args = ["--dataset", "synthetic", "--hidden", "8", "6", "--corruption", "0.1", "0.2", "--batch-size", "10",
            "--pretrain-epochs", "1", "--epochs", "1", "--output-dir", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "checkpoint.npz exists: pass --resume to continue that run, or --fresh" in capsys.readouterr().err
    assert main([*args, "--resume", "--fresh"]) == 2
    assert "contradict" in capsys.readouterr().err
    before = load_params(tmp_path / "checkpoint.npz")[0]
    said = []
    run_SdA(output_dir=tmp_path, log=said.append, **dict(SMALL, training_epochs=1))  # a Python call starts fresh
    assert any("the earlier checkpoint stays in" in s for s in said)
    kept = load_params(tmp_path / "checkpoint.previous.npz")[0]
    for name in before:
        np.testing.assert_array_equal(kept[name], before[name], err_msg=name)
    assert (tmp_path / "SdA_model.previous.npz").is_file()


@pytest.mark.parametrize("mode", MODES)
def test_cli_help_and_tiny_run(tmp_path, capsys, mode):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    rc = main(["--dataset", "synthetic", "--hidden", "8", "6", "--corruption", "0.1", "0.2", "--batch-size", "10",
               "--pretrain-epochs", "1", "--epochs", "2", "--features", "--output-dir", str(tmp_path),
               "--mode", mode])
    assert rc == 0
    for name in ("checkpoint.npz", "SdA_model.npz", "filters_layer0.png", "metrics.jsonl"):
        assert (tmp_path / name).is_file(), name
    out = capsys.readouterr().out
    assert "Pre-training layer 1: Training epoch 0" in out and "raw + codes" in out
    assert "features raw pixels      : fitting a logistic regression on 200 rows of 16 features ..." in out
    assert "test performance" in out and f"engine {mode}, float32" in out
    rc = main(["--dataset", "synthetic", "--hidden", "8", "6", "--corruption", "0.1", "--output-dir", str(tmp_path / "x")])
    assert rc == 2 and "one entry per hidden layer" in capsys.readouterr().err


CLI_RUN = ["--dataset", "synthetic", "--hidden", "8", "6", "--corruption", "0.1", "0.2", "--batch-size", "10",
           "--pretrain-epochs", "2", "--pretrain-lr", "0.1", "--seed", "7"]


@pytest.mark.slow  # three runs to their end (test_resume_equals_uninterrupted resumes in the default tier)
def test_resume_takes_the_checkpoints_options_and_a_larger_cap_goes_on(tmp_path, capsys):
    # an uninterrupted run of 4 fine-tuning epochs, and one stopped by Ctrl-C in pretraining
    assert main([*CLI_RUN, "--epochs", "4", "--output-dir", str(tmp_path / "full")]) == 0
    _stopped("Pre-training layer 1: Training epoch 0", output_dir=tmp_path / "part", **dict(SMALL, training_epochs=2))
    capsys.readouterr()
    # --resume alone: every option from the checkpoint (no dataset named: none downloaded), to its cap of 2
    assert main(["--resume", "--output-dir", str(tmp_path / "part")]) == 0
    assert "Optimization complete" in capsys.readouterr().out
    # a larger cap goes on from where the finished run stopped, early stopping's state included ...
    assert main(["--resume", "--output-dir", str(tmp_path / "part"), "--epochs", "4"]) == 0
    out = capsys.readouterr().out
    assert "stopped at its cap of 2 fine-tuning epochs; going on to 4" in out and "epoch 3 done" in out
    # ... and ends with the uninterrupted run's parameters, bit for bit
    a, b = _final(tmp_path / "full"), _final(tmp_path / "part")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    # the same cap again: nothing to do, and why
    assert main(["--resume", "--output-dir", str(tmp_path / "part"), "--epochs", "4"]) == 0
    assert "a larger training_epochs (--epochs) goes on" in capsys.readouterr().out
    # an option that contradicts the checkpoint is refused in one line naming both values
    assert main(["--resume", "--output-dir", str(tmp_path / "part"), "--hidden", "9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: checkpoint {tmp_path / 'part' / 'checkpoint.npz'} was made with --hidden=[8, 6], this "
                   "run has [9]; leave the option out to resume, or start over with --fresh")
    # one that agrees with it is fine
    assert main(["--resume", "--output-dir", str(tmp_path / "part"), "--batch-size", "10"]) == 0


def test_a_damaged_SdA_file_is_one_line_naming_it_and_the_field(tmp_path):
    from autoencoders_tutorial.errors import DataError
    from autoencoders_tools.estimators import SdAClassifier
    from autoencoders_tutorial.files import save_params

    SdA(0, n_ins=5, hidden_layers_sizes=(4,), n_outs=2, corruption_levels=(0.1,)).save(
        tmp_path / "s.npz", config=dict(batch_size=10, precision="float32"))
    arrays, meta = load_params(tmp_path / "s.npz")
    for change, match in [(dict(config=5), r"is not a saved SdA \(no config table in it\)"),
                          (dict(n_ins=None), "no field 'n_ins'"),
                          (dict(hidden_layers_sizes=[-1]), r"hidden_layers_sizes\[0\] must be a whole number >= 1"),
                          (dict(corruption_levels=[0.1, 0.2]), r"corruption_levels must be a list of one entry per hidden layer \(1\)"),
                          (dict(sparsity_target=[0.1]), r"cannot build: sparsity_target must be in \(0, 1\)"),
                          (dict(precision="float16"), "precision must be float32 or float64"),
                          (dict(dataset=3), "dataset must be a dataset's name, got 3"),
                          (dict(batch_size=0), "settings no SdAClassifier takes .*batch_size must be"),
                          (dict(extra=np.zeros(2)), "an array 'extra' this model does not have"),
                          (dict(logreg_b=np.zeros(3)), r"array 'logreg.b' is float64 of shape \(3,\), not of")]:
        new = {k.replace("_", "."): v for k, v in change.items() if isinstance(v, np.ndarray)}
        config = {k: v for k, v in dict(meta["config"], **change).items()
                  if v is not None and not isinstance(v, np.ndarray)}
        path = tmp_path / "bad.npz"
        save_params(path, dict(arrays, **new), model="SdA", config=change.get("config", config))
        for load in (SdA.load, SdAClassifier.load)[1 if "SdAClassifier" in match else 0:]:
            with pytest.raises(DataError, match=match) as err:
                load(path)
            assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_checkpoint_loads_as_the_network_it_holds(tmp_path):
    # after fine-tuning began, a checkpoint also holds the early stopping's best and last parameters
    run_SdA(dataset="synthetic", hidden_layers_sizes=(6,), corruption_levels=(0.1,), pretraining_epochs=1,
            training_epochs=2, batch_size=10, output_dir=tmp_path, log=lambda *_: None)
    arrays, _ = load_params(tmp_path / "checkpoint.npz")
    assert any(k.startswith("last.") for k in arrays)  # the epoch cap ended it: a larger cap goes on from these
    sda = SdA.load(tmp_path / "checkpoint.npz")
    np.testing.assert_array_equal(sda.sigmoid_layers[0].W.get_value(), arrays["layer0.W"])


def test_resume_where_there_is_no_checkpoint_is_one_line_and_trains_nothing(tmp_path, capsys):
    rc = main(["--dataset", "synthetic", "--resume", "--output-dir", str(tmp_path / "a" / "typo")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith(f"error: nothing to resume in {tmp_path / 'a' / 'typo'}") and "\n" not in err
    assert not (tmp_path / "a").exists()


def test_a_long_run_says_how_long_it_takes_and_what_runs_in_minutes():
    said = []
    sda = SdA(np.random.RandomState(1), n_ins=4, hidden_layers_sizes=[3, 3, 3], n_outs=2, corruption_levels=[0, 0, 0])
    SdA_module._estimate(said.append, 0.0025, 50_000, sda, 45, 1000)  # the tutorial's run: 15 epochs x 3 layers
    assert said == ["at this speed pretraining takes about 94 min and fine-tuning up to 4.3 days (early stopping "
                    "usually ends it sooner); a much shorter run: python SdA.py --dataset fashion-mnist "
                    "--batch-size 20 --pretrain-lr 0.1"]
    SdA_module._estimate(said.append, 1e-5, 1000, sda, 45, 10)  # seconds in all: nothing said
    assert len(said) == 1
