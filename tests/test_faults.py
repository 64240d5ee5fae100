"""Fault injection: full disks, refused writes and Ctrl-C at every stage of every script; hostile files.

No hooks in production code: a fault is armed by patching a named function (the file
write's ``os.fsync``, ``pytensor.function``, a reader's ``gzip.open``, the validation
call, the SdA's switch from pretraining to fine-tuning) so that its n-th call raises
``OSError(ENOSPC)`` / ``OSError(EACCES)`` or sends this process a real SIGINT; then the
script's ``main()`` runs in-process. A few cases run in a subprocess for the exit status
of a real Ctrl-C, a ``kill -9`` and the folder lock.

After every case one property is checked (:func:`assert_nothing_lost`): every ``.npz`` in
the output folder loads, no temporary file is left, and each model the folder held
before is either still there, byte for byte, or kept as ``<name>.previous.npz`` beside a
new one that loads. Every error is one line on stderr: no traceback.
"""

import errno
import gzip
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import ROOT, idx_dir, write_idx

import dA
import logistic_sgd
import mlp
import SdA
from autoencoders_tutorial import training
from autoencoders_tutorial.files import load_params, previous_path, save_params

# -- the scripts, at toy sizes ---------------------------------------------------------------

COMMON = ["--dataset", "synthetic", "--batch-size", "10"]
SCRIPTS = {
    "logistic": (logistic_sgd.main, [*COMMON, "--epochs", "3"], ["best_model.npz"]),
    "mlp": (mlp.main, [*COMMON, "--epochs", "3", "--hidden", "5"], ["best_model.npz"]),
    "dA": (dA.main, [*COMMON, "--epochs", "2", "--hidden", "4", "--corruption", "0", "0.3"],
           ["dA_corruption_0.npz", "dA_corruption_30.npz"]),
    "SdA": (SdA.main, [*COMMON, "--hidden", "8", "6", "--corruption", "0.1", "0.2", "--pretrain-epochs", "1",
                       "--pretrain-lr", "0.1", "--epochs", "2", "--fresh"], ["SdA_model.npz", "checkpoint.npz"]),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One clean run of each script: the folders the faulty runs start from (copied per case)."""
    root = tmp_path_factory.mktemp("trained")
    for name, (main, args, _) in SCRIPTS.items():
        assert main([*args, "--output-dir", str(root / name)]) == 0
    return root


def _folder(trained, name, tmp_path):
    out = tmp_path / name
    shutil.copytree(trained / name, out)
    return out, {p.name: p.read_bytes() for p in out.glob("*.npz")}


def assert_nothing_lost(out, before):
    """The property checked after every case (see the module docstring)."""
    for p in out.glob("*.npz"):
        load_params(p)
    assert not [p.name for p in out.iterdir() if p.name.endswith(".part")], "a temporary file was left"
    for name, data in before.items():
        now = (out / name).read_bytes() if (out / name).exists() else None
        prev = previous_path(out / name)
        kept = prev.read_bytes() if prev.exists() else None
        assert now == data or (now is not None and kept == data), f"{name} was lost"


def one_line(err):
    lines = [s for s in err.strip().splitlines() if s.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


# -- arming a fault --------------------------------------------------------------------------


def arm(monkeypatch, owner, attr, fault, nth=1):
    """Patch ``owner.attr`` so that its ``nth`` call meets ``fault``: "ENOSPC", "EACCES" (raised
    instead of the call) or "SIGINT" (a real Ctrl-C sent to this process as the call begins)."""
    real = getattr(owner, attr)
    calls = []

    def patched(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            if fault == "SIGINT":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                code = getattr(errno, fault)
                raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attr, patched)
    return calls


def arm_validation(monkeypatch, module, nth=1):
    """Ctrl-C as the ``nth`` validation begins (the validation function built by ``compile_classifier``)."""
    real = module.compile_classifier

    def patched(*args, **kwargs):
        train_fn, valid, test = real(*args, **kwargs)
        calls = []

        def validate():
            calls.append(1)
            if len(calls) == nth:
                os.kill(os.getpid(), signal.SIGINT)
            return valid()

        return train_fn, validate, test

    monkeypatch.setattr(module, "compile_classifier", patched)


def run(main, args, out, capsys):
    rc = main([*args, "--output-dir", str(out)])
    return rc, capsys.readouterr().err


# -- full disk, refused write: one line, the earlier model untouched -----------------------------

WRITE_FAULTS = [  # a first write and a later one in the default tier; the rest slow
    pytest.param(script, fault, nth, id=f"{script}-{fault}-{nth}",
                 marks=[] if fault == "ENOSPC" and (script, nth) in (("logistic", 1), ("SdA", 5)) else [pytest.mark.slow])
    for script, nths in (("logistic", (1,)), ("mlp", (1,)), ("dA", (1, 5)), ("SdA", (1, 5)))
    for fault in ("ENOSPC", "EACCES") for nth in nths
]


@pytest.mark.parametrize("script, fault, nth", WRITE_FAULTS)
def test_a_failed_save_is_one_line_and_loses_nothing(trained, tmp_path, monkeypatch, capsys, script, fault, nth):
    main, args, _ = SCRIPTS[script]
    out, before = _folder(trained, script, tmp_path)
    arm(monkeypatch, os, "fsync", fault, nth)  # the n-th fsync: inside the n-th file write (each also syncs its folder)
    rc, err = run(main, args, out, capsys)
    line = one_line(err)
    assert rc == 2 and re.match(r"error: could not save \S+ \(.+\); (the earlier \S+ is untouched|nothing was written)$",
                                line), line
    if fault == "ENOSPC":
        assert "No space left on device; free some space" in line
    assert_nothing_lost(out, before)


def test_a_run_that_fails_before_a_better_model_never_touches_the_saved_one(trained, tmp_path, monkeypatch):
    out, before = _folder(trained, "logistic", tmp_path)
    real = logistic_sgd.compile_classifier

    def diverging(*args, **kwargs):  # the first step's cost is NaN, as with a learning rate far too high
        train_fn, valid, test = real(*args, **kwargs)
        return (lambda i: np.float32("nan")), valid, test

    monkeypatch.setattr(logistic_sgd, "compile_classifier", diverging)
    with pytest.raises(training.TrainingDiverged, match="cost became nan at epoch 1, minibatch 0"):
        logistic_sgd.run_logistic(dataset="synthetic", batch_size=10, n_epochs=2, output_dir=out, log=lambda *_: None)
    assert {p.name: p.read_bytes() for p in out.glob("*.npz")} == before  # no .previous either
    assert_nothing_lost(out, before)


def test_a_metrics_record_is_whole_or_absent(tmp_path, monkeypatch):
    from autoencoders_tutorial import files

    log = files.MetricsLog(tmp_path / "metrics.jsonl")
    log.write(epoch=0)
    good = (tmp_path / "metrics.jsonl").read_bytes()
    real_write = os.write

    def half_then_full(fd, data):  # the disk fills up halfway through the record
        real_write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "write", half_then_full)
    with pytest.raises(files.SaveError, match=r"could not append to .*metrics.jsonl \(No space left on device\); "
                                              r"its earlier records are kept"):
        log.write(epoch=1)
    monkeypatch.undo()
    assert (tmp_path / "metrics.jsonl").read_bytes() == good


# -- Ctrl-C anywhere: one line saying what was saved, exit 130, the file matches the line ----------


def _saved(line):
    """The files an 'interrupted: saved A (what); B (what)' line names."""
    return re.findall(r"(\S+\.(?:npz|png)) \(", line)


@pytest.mark.parametrize("script", [pytest.param("logistic", marks=pytest.mark.slow), pytest.param("dA", marks=pytest.mark.slow),
                                    "SdA"])
def test_ctrl_c_while_compiling_saves_nothing(trained, tmp_path, monkeypatch, capsys, script):
    import pytensor

    main, args, _ = SCRIPTS[script]
    out, before = _folder(trained, script, tmp_path)
    arm(monkeypatch, pytensor, "function", "SIGINT")
    rc, err = run(main, args, out, capsys)
    line = one_line(err)
    assert rc == 130 and line.startswith("interrupted: nothing was saved; the files in"), line
    assert {p.name: p.read_bytes() for p in out.glob("*.npz")} == before


@pytest.mark.parametrize("script, module", [("logistic", logistic_sgd), ("mlp", logistic_sgd), ("SdA", SdA)])
@pytest.mark.parametrize("nth", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_ctrl_c_while_validating(trained, tmp_path, monkeypatch, capsys, script, module, nth):
    main, args, _ = SCRIPTS[script]
    out, before = _folder(trained, script, tmp_path)
    arm_validation(monkeypatch, module, nth)
    rc, err = run(main, args, out, capsys)
    line = one_line(err)
    assert rc == 130 and line.startswith("interrupted: saved "), line
    for path in _saved(line):
        assert os.path.exists(path), path
    if script != "SdA":  # the validation Ctrl-C landed in saved a best model; the line says which
        said = float(re.search(r"validation error ([0-9.]+) %", line).group(1))
        assert load_params(out / "best_model.npz")[1]["validation_error"] * 100 == pytest.approx(said, abs=1e-5)
    assert_nothing_lost(out, before)


@pytest.mark.parametrize("script", [pytest.param("logistic", marks=pytest.mark.slow), "dA",
                                    pytest.param("SdA", marks=pytest.mark.slow)])
def test_ctrl_c_while_saving_finishes_the_file_first(trained, tmp_path, monkeypatch, capsys, script):
    main, args, _ = SCRIPTS[script]
    out, before = _folder(trained, script, tmp_path)
    arm(monkeypatch, os, "fsync", "SIGINT")  # Ctrl-C in the middle of the first file write
    rc, err = run(main, args, out, capsys)
    line = one_line(err)
    assert rc == 130 and line.startswith("interrupted: saved "), line
    first = _saved(line)[0]
    assert load_params(first) and previous_path(first).read_bytes() == before[os.path.basename(first)]
    if script == "logistic":
        said = float(re.search(r"validation error ([0-9.]+) %", line).group(1))
        assert load_params(first)[1]["validation_error"] * 100 == pytest.approx(said, abs=1e-5)
    assert_nothing_lost(out, before)


def test_ctrl_c_between_pretraining_and_finetuning_then_resume(trained, tmp_path, monkeypatch, capsys):
    main, args, _ = SCRIPTS["SdA"]
    out, before = _folder(trained, "SdA", tmp_path)
    arm(monkeypatch, SdA, "fine_tune", "SIGINT")
    rc, err = run(main, args, out, capsys)
    line = one_line(err)
    assert rc == 130 and "checkpoint.npz (the checkpoint: phase finetune, layer 0, epoch 0)" in line
    assert line.endswith(f"run again with resume=True (--resume) to continue from {out / 'checkpoint.npz'}"), line
    assert_nothing_lost(out, before)
    monkeypatch.undo()
    resumed = [a for a in args if a != "--fresh"] + ["--resume"]
    rc, err = run(main, resumed, out, capsys)
    assert rc == 0, err
    assert load_params(out / "SdA_model.npz")[1].get("interrupted") is None


def test_ctrl_c_while_reading_the_data(tmp_path, monkeypatch, capsys):
    data = idx_dir(tmp_path, n_train=10_010, n_test=5)
    arm(monkeypatch, gzip, "open", "SIGINT")
    rc = logistic_sgd.main(["--dataset", str(data), "--output-dir", str(tmp_path / "out"), "--batch-size", "5"])
    assert rc == 130 and one_line(capsys.readouterr().err).startswith("interrupted: nothing was saved")


def test_eacces_while_reading_the_data_is_one_line(tmp_path, monkeypatch, capsys):
    data = idx_dir(tmp_path, n_train=10_010, n_test=5)
    arm(monkeypatch, gzip, "open", "EACCES")
    rc = logistic_sgd.main(["--dataset", str(data), "--output-dir", str(tmp_path / "out"), "--batch-size", "5"])
    line = one_line(capsys.readouterr().err)
    assert rc == 2 and "train-images-idx3-ubyte.gz is corrupt or truncated ([Errno 13] Permission denied)" in line


# -- hostile files: one line each, never a traceback, never a silent switch -----------------------


def _pkl(path, obj):
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def _split(n, width=16, labels=None, dtype=np.float32):
    rng = np.random.default_rng(n)
    y = np.arange(n) % 3 if labels is None else labels
    return rng.random((n, width)).astype(dtype), y


def _idx_variant(tmp_path, name, change):
    (tmp_path / name).mkdir()
    d = idx_dir(tmp_path / name, n_train=10_010, n_test=5)
    change(d)
    return d


def hostile_datasets(tmp_path):
    """name -> (path, the words the one-line error must contain)."""
    stray = np.arange(100) % 3
    stray[7] = 200
    gap = np.arange(100) % 4
    gap[gap == 2] = 3
    cases = {
        "empty file": (tmp_path / "empty.pkl.gz", "corrupt or truncated"),
        "not gzip": (tmp_path / "plain.pkl.gz", "corrupt or truncated"),
        "truncated pickle": (tmp_path / "trunc.pkl.gz", "corrupt or truncated"),
        "code in the pickle": (_pkl(tmp_path / "evil.pkl.gz", _Evil()), "refusing to load posix.system"),
        "not three splits": (_pkl(tmp_path / "two.pkl.gz", (_split(10), _split(10))), "three (X, y) pairs"),
        "stray label": (_pkl(tmp_path / "stray.pkl.gz", (_split(100, labels=stray), _split(30), _split(30))),
                        "label 200 (1 row) is outside 0..3"),
        "a gap in the labels": (_pkl(tmp_path / "gap.pkl.gz", (_split(100, labels=gap), _split(30), _split(30))),
                                "label 3 (50 rows) is outside 0..2 (3 classes), and class 2 has no rows"),
        "string labels": (_pkl(tmp_path / "str.pkl.gz", (_split(30, labels=np.array(["a", "b", "c"] * 10)),
                                                          _split(30), _split(30))), "labels must be integers 0..K-1"),
        "huge labels": (_pkl(tmp_path / "huge.pkl.gz", (_split(30, labels=np.arange(30) % 2 * 2**62), _split(30),
                                                         _split(30))), "label 4611686018427387904 (15 rows) is outside 0..1"),
        "one class": (_pkl(tmp_path / "one.pkl.gz", (_split(30, labels=np.zeros(30, int)), _split(30), _split(30))),
                      "a classifier needs at least two classes"),
        "timedelta labels": (_pkl(tmp_path / "td.pkl.gz", (_split(30, labels=np.arange(30).astype("m8[s]")),
                                                            _split(30), _split(30))), "labels must be integers 0..K-1"),
        "IDX fractional labels": (_idx_variant(tmp_path, "frac", lambda d: write_raw(
            d, "train-labels-idx1-ubyte.gz", b"\0\0\x0e\x01" + (10_010).to_bytes(4, "big") +
            (np.arange(10_010) % 10 + 0.5).astype(">f8").tobytes())), "labels must be integers"),
        "IDX without test images": (_idx_variant(tmp_path, "none", lambda d: (write_idx(
            d / "t10k-images-idx3-ubyte.gz", np.zeros((0, 3, 2), np.uint8), True), write_idx(
            d / "t10k-labels-idx1-ubyte.gz", np.zeros(0, np.uint8), True))), "holds no images"),
        "mixed widths": (_pkl(tmp_path / "widths.pkl.gz", (_split(30), _split(30, width=9), _split(30))),
                         "different widths"),
        "object arrays": (_pkl(tmp_path / "obj.pkl.gz", ((np.array([[0.5] * 16] * 30, dtype=object), np.arange(30) % 3),
                                                          _split(30), _split(30))), "must be floats"),
        "NaN pixels": (_pkl(tmp_path / "nan.pkl.gz", ((np.full((30, 16), np.nan, np.float32), np.arange(30) % 3),
                                                       _split(30), _split(30))), "NaN or infinite"),
        "valid label not in train": (_pkl(tmp_path / "valid.pkl.gz", (_split(30), _split(30, labels=np.full(30, 5)),
                                                                       _split(30))), "valid: label 5 (30 rows)"),
        "IDX wrong magic": (_idx_variant(tmp_path, "magic", lambda d: write_raw(d, "t10k-labels-idx1-ubyte.gz",
                                                                                 b"\x12\x34\x08\x01" + b"\0" * 9)),
                            "wrong magic number"),
        "IDX overflowing header": (_idx_variant(tmp_path, "overflow", lambda d: write_raw(
            d, "t10k-images-idx3-ubyte.gz", b"\0\0\x08\x03" + b"\xff\xff\xff\xff" * 3 + b"\0" * 32)),
            "truncated or padded"),
        "IDX truncated": (_idx_variant(tmp_path, "short", lambda d: write_raw(
            d, "train-images-idx3-ubyte.gz", gzip.decompress((d / "train-images-idx3-ubyte.gz").read_bytes())[:-7])),
            "truncated or padded"),
        "IDX images of another shape": (_idx_variant(tmp_path, "shape", lambda d: write_idx(
            d / "t10k-images-idx3-ubyte.gz", np.zeros((5, 4, 4), np.uint8), True)), "different widths"),
        "IDX labels and images disagree": (_idx_variant(tmp_path, "count", lambda d: write_idx(
            d / "t10k-labels-idx1-ubyte.gz", np.zeros(4, np.uint8), True)), "do not match"),
    }
    (tmp_path / "empty.pkl.gz").write_bytes(b"")
    (tmp_path / "plain.pkl.gz").write_bytes(b"not a gzip file at all")
    (tmp_path / "trunc.pkl.gz").write_bytes(gzip.compress(pickle.dumps((_split(30), _split(30), _split(30))))[:-40])
    return cases


def write_raw(d, name, raw):
    (d / name).write_bytes(gzip.compress(raw))


@pytest.mark.parametrize("main", [dA.main, logistic_sgd.main], ids=["dA", "logistic"])
def test_hostile_data_files_are_one_line(tmp_path, monkeypatch, capsys, main):
    monkeypatch.chdir(tmp_path)
    cases = hostile_datasets(tmp_path)
    for name, (path, words) in cases.items():
        rc = main(["--dataset", str(path), "--epochs", "1", "--batch-size", "5", "--output-dir", str(tmp_path / "out")])
        line = one_line(capsys.readouterr().err)
        assert rc == 2 and line.startswith("error: ") and words in line, (name, line)
    assert not (tmp_path / "pwned.txt").exists()
    assert not list((tmp_path / "out").glob("*.npz"))
    print(f"{len(cases)} hostile data files, each one line")


def hostile_models(tmp_path, trained):
    """name -> (model file, the words the one-line error must contain), for ``--predict``."""
    good, meta = load_params(trained / "logistic" / "best_model.npz")
    cases = {}

    def npz(name, arrays, meta_bytes):
        path = tmp_path / name / "best_model.npz"
        path.parent.mkdir()
        with open(path, "wb") as f:
            np.savez(f, **arrays, __meta__=np.frombuffer(meta_bytes, np.uint8))
        return path.parent

    import json

    cases["non-UTF-8 metadata"] = (npz("utf", good, b"\xff\xfe"), "unreadable metadata")
    cases["1-D W"] = (npz("flat", dict(good, **{"logreg.W": good["logreg.W"].ravel()}), json.dumps(meta).encode()),
                      "array 'logreg.W' is of shape")
    cases["NaN W"] = (npz("nan", dict(good, **{"logreg.W": good["logreg.W"] * np.nan}), json.dumps(meta).encode()),
                      "holds NaN or infinite values")
    cases["a newer format"] = (npz("new", good, json.dumps(dict(meta, format_version=99)).encode()),
                               "format_version 99")
    cases["an object array"] = (npz("obj", dict(good, extra=np.array([{}], dtype=object)), json.dumps(meta).encode()),
                                "holds Python objects")
    (tmp_path / "zip").mkdir()
    (tmp_path / "zip" / "best_model.npz").write_bytes(b"PK\x03\x04 not really")
    cases["a broken zip"] = (tmp_path / "zip", "not a readable .npz")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "best_model.npz").mkdir()
    cases["a folder"] = (tmp_path / "dir", "is a folder, not a file")
    return cases


def test_hostile_model_files_are_one_line(trained, tmp_path, capsys):
    cases = hostile_models(tmp_path, trained)
    for name, (folder, words) in cases.items():
        rc = logistic_sgd.main(["--predict", "--dataset", "synthetic", "--output-dir", str(folder)])
        line = one_line(capsys.readouterr().err)
        assert rc == 2 and words in line, (name, line)


def test_hostile_checkpoints_are_one_line(trained, tmp_path, capsys):
    main, args, _ = SCRIPTS["SdA"]
    resume = [a for a in args if a != "--fresh"] + ["--resume"]
    out, before = _folder(trained, "SdA", tmp_path)
    shutil.copy(out / "SdA_model.npz", out / "checkpoint.npz")  # a final model file where a checkpoint goes
    rc, err = run(main, resume, out, capsys)
    assert rc == 2 and "is not a checkpoint" in one_line(err)
    arrays, meta = load_params(trained / "SdA" / "checkpoint.npz")
    save_params(out / "checkpoint.npz", arrays, **dict(meta, rng_state={"bit_generator": "Nope"}))
    rc, err = run(main, resume, out, capsys)
    assert rc == 2 and "is damaged" in one_line(err)
    save_params(out / "checkpoint.npz", arrays, **dict(meta, config=dict(meta["config"], backend="NUMBA")))
    rc, err = run(main, resume, out, capsys)
    assert rc == 2 and "was made with backend='NUMBA'" in one_line(err)
    mt19937 = np.random.Generator(np.random.MT19937(0)).bit_generator.state  # another generator's: its key is an array
    mt19937["state"]["key"] = mt19937["state"]["key"].tolist()
    meta = {k: v for k, v in meta.items() if k != "format_version"}
    for changed, words in [(dict(arrays, **{"layer0.W": arrays["layer0.W"].astype(np.int32)}),
                            "array 'layer0.W' is <i4 (int32), not float32 or float64"),
                           (dict(arrays, extra=np.zeros(2)), "an array 'extra' this model does not have"),
                           (arrays, "rng_state is not the state of a PCG64 generator")]:
        extra = {"rng_state": mt19937} if changed is arrays else {}
        save_params(out / "checkpoint.npz", changed, **dict(meta, **extra))
        rc, err = run(main, resume, out, capsys)
        line = one_line(err)
        assert rc == 2 and words in line and line.endswith("start over with --fresh (resume=False)"), line


@pytest.mark.parametrize("argv, words", [
    (["--seed", "-1"], "argument --seed: must be an integer in [0, 4294967295], got -1"),
    (["--hidden", "1000000000000"], "needs"),
    (["--learning-rate", "nan"], "argument --learning-rate: must be a number in (0, inf), got nan"),
    (["--batch-size", "0"], "argument --batch-size: must be an integer in [1, inf), got 0"),
    (["--corruption", "-0.1"], "argument --corruption: must be a number in [0, inf), got -0.1"),
    (["--corruption", "1"], "error: --corruption entries must be in [0, 1) for masking noise, got 1.0"),
    (["--epochs", "1e3"], "argument --epochs: expected an integer, got '1e3'"),
])
def test_bad_numbers_are_one_line(tmp_path, capsys, argv, words):
    try:
        rc = dA.main(["--dataset", "synthetic", "--output-dir", str(tmp_path), *argv])
    except SystemExit as exc:  # the parser's own errors: usage, then one error line
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and words in err.strip().splitlines()[-1], err


@pytest.mark.parametrize("env, words", [
    ({"PYTENSOR_FLAGS": "floatX=float17"}, "error: PYTENSOR_FLAGS='floatX=float17' is not valid"),
    ({"PYTENSOR_FLAGS": "mode=NOPE"}, "error: PYTENSOR_FLAGS='mode=NOPE' is not valid"),
    ({"PYTENSOR_FLAGS": "base_compiledir=/dev/null/x"}, "error: PyTensor cannot use its compile folder"),
    ({"AUTOENCODERS_DATA": "~nosuchuser/x"}, "error: AUTOENCODERS_DATA=~nosuchuser/x cannot be expanded"),
    ({"AUTOENCODERS_DOWNLOAD_TIMEOUT": "soon", "AUTOENCODERS_MNIST_URL": "http://127.0.0.1:9/"},
     "AUTOENCODERS_DOWNLOAD_TIMEOUT must be a number > 0, got 'soon'"),
])
def test_bad_environment_is_one_line(tmp_path, env, words):
    from helpers import run_python

    res = run_python([str(ROOT / "dA.py"), "--dataset", "mnist", "--epochs", "1", "--data-dir", str(tmp_path / "d")]
                     if "MNIST_URL" in str(env) else [str(ROOT / "dA.py"), "--epochs", "1", "--dataset", "synthetic"],
                     tmp_path, **env)
    assert res.returncode != 0 and words in one_line(res.stderr), res.stderr
    assert not list(tmp_path.rglob("*.npz")) and not list(tmp_path.rglob("*.png"))  # refused before any run


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs a C compiler")
def test_a_failed_c_compile_is_one_line_without_pytensors_notes(tmp_path):
    from helpers import run_python

    res = run_python([str(ROOT / "logistic_sgd.py"), "--dataset", "synthetic", "--epochs", "1", "--mode", "CVM"],
                     tmp_path, PYTENSOR_FLAGS="blas__ldflags=-lnonexist")
    line = one_line(res.stderr)
    assert res.returncode == 2 and "PyTensor could not compile with PYTENSOR_FLAGS='blas__ldflags=-lnonexist'" in line
    kept = re.search(r"the compiler output is in (\S+)\)", line)[1]  # named in the line, not printed by PyTensor
    assert "You can find the C code" not in res.stdout and "nonexist" in Path(kept).read_text()
    Path(kept).unlink()


def test_a_bad_set_up_can_be_caught_by_an_importing_script(tmp_path):
    from helpers import run_python

    code = "try:\n    import dA\nexcept ValueError as exc:\n    print('caught:', exc)\n"
    res = run_python(["-c", code], tmp_path, PYTENSOR_FLAGS="floatX=float17")
    assert res.returncode == 0 and res.stdout.startswith("caught: PYTENSOR_FLAGS='floatX=float17' is not valid")


# -- in a subprocess: a real Ctrl-C, kill -9, the folder lock ----------------------------------


def _start(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    # The script runs with Python's usual Ctrl-C even where this suite was started with SIGINT
    # ignored (a background job of a non-interactive shell, as some CI runners are).
    boot = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")
    return subprocess.Popen([sys.executable, "-c", boot, *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(proc, words, timeout=120):
    t0 = time.time()
    for line in proc.stdout:
        if words in line:
            return line
        assert time.time() - t0 < timeout, f"no {words!r} in time"
    raise AssertionError(f"the process ended before {words!r}: {proc.stderr.read()}")


LONG_MLP = [str(ROOT / "mlp.py"), *COMMON, "--hidden", "5", "--epochs", "100000", "--patience", "100000000"]


@pytest.mark.slow  # a subprocess
def test_real_ctrl_c_exits_130_with_the_saved_line(tmp_path):
    proc = _start([*LONG_MLP, "--output-dir", "out"], tmp_path)
    try:
        _wait_for(proc, "epoch 3 done")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    line = one_line(err)
    assert proc.returncode == 130 and line.startswith("interrupted: saved ") and "best_model.npz" in line, err
    said = float(re.search(r"validation error ([0-9.]+) %", line).group(1))
    assert load_params(tmp_path / "out" / "best_model.npz")[1]["validation_error"] * 100 == pytest.approx(said, abs=1e-5)


@pytest.mark.slow  # subprocesses
def test_one_run_per_folder_and_no_stale_lock_after_kill_9(tmp_path, capsys):
    proc = _start([*LONG_MLP, "--output-dir", "out"], tmp_path)
    try:
        _wait_for(proc, "epoch 1 done")
        rc = mlp.main([*COMMON, "--hidden", "5", "--epochs", "1", "--output-dir", str(tmp_path / "out")])
        line = one_line(capsys.readouterr().err)
        assert rc == 2 and f"is in use by another run (pid {proc.pid}); wait for it to end or choose another " \
                           "--output-dir" in line, line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (tmp_path / "out" / f".best_model.npz.{proc.pid}.0.part").write_bytes(b"half")  # what a kill mid-save leaves
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.npz")}
    assert mlp.main([*COMMON, "--hidden", "5", "--epochs", "1", "--output-dir", str(tmp_path / "out")]) == 0
    assert_nothing_lost(tmp_path / "out", before)


def test_a_finished_run_leaves_no_lock_file_and_the_next_run_locks_the_new_one(tmp_path):
    from autoencoders_tutorial.errors import TutorialError
    from autoencoders_tutorial.runs import RunFolder

    with RunFolder(tmp_path / "out") as first:
        assert (first.path / ".lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(TutorialError, match="is in use by another run"), RunFolder(tmp_path / "out"):
            pass
        old = os.open(first.path / ".lock", os.O_RDWR)  # a run that opened the file and waits to lock it
    assert not (tmp_path / "out" / ".lock").exists()
    try:
        import fcntl

        fcntl.flock(old, fcntl.LOCK_EX | fcntl.LOCK_NB)  # it gets the removed file: no lock on the folder
        with RunFolder(tmp_path / "out") as second:  # a new .lock, which the late one's lock does not block
            assert (second.path / ".lock").exists()
    finally:
        os.close(old)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
