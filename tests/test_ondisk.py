"""Rows on disk: the same parameters as in memory, a window at a time, and one line for a bad file."""

import os
import re
import sys

import dask.array as da
import numpy as np
import pytest
from helpers import HAS_JAX, QUIET

import dA
from autoencoders_tutorial import memory, ondisk
from autoencoders_tutorial.engine import pytensor
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.readers import Dataset
from autoencoders_tutorial.steps import Steps
from autoencoders_tutorial.training import train_epochs
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier
from dA import run_dA
from SdA import run_SdA

PATHS = ["step", pytest.param("block", marks=pytest.mark.skipif(not HAS_JAX, reason="JAX not installed"))]


def quiet(*_):
    pass


@pytest.fixture
def small_windows(monkeypatch):
    """Windows of a few minibatches, so a small file takes many."""
    monkeypatch.setattr(ondisk, "WINDOW_BYTES", 3000)


def rows(n=203, width=16, seed=0):
    return np.random.default_rng(seed).random((n, width)).astype(np.float32)


def params(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files if k != "__meta__"}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


class Recorder(Steps):
    """Steps that record the rows each minibatch index reads from the shared training set."""

    block_size = None

    def __init__(self, shared, batch):
        super().__init__()
        self.shared, self.batch, self.seen = shared, batch, []

    def _one(self, index):
        self.seen.append(self.shared.get_value(borrow=True)[index * self.batch: (index + 1) * self.batch].copy())
        return 1.0

    def prepare(self, k):
        pass

    def block(self, start, k):
        return np.array([self._one(start + j) for j in range(k)])


def test_every_minibatch_reads_its_own_rows_however_the_loop_cuts_them(tmp_path, small_windows):
    X = rows()
    np.save(tmp_path / "rows.npy", X)
    shared, _ = ondisk.stream(ondisk.open_rows(tmp_path / "rows.npy"), None)
    batch = 4
    inner = Recorder(shared, batch)
    steps = ondisk.StreamedSteps(inner, ondisk.stream_of(shared), batch)
    n = len(X) // batch
    assert steps.per_window < n  # several windows
    i, cuts = 0, [1, 7, 3, 12, 5, 2, 9]  # blocks and single steps, some across windows
    while i < n:
        k = min(cuts[i % len(cuts)], n - i)
        steps.block(i, k) if k > 1 else steps(i)
        i += k
    assert np.array_equal(np.concatenate(inner.seen), X[: n * batch])
    steps.release()
    assert shared.get_value().shape == (0, X.shape[1])


@pytest.mark.parametrize("train_path", PATHS)
def test_dA_from_npy_and_zarr_trains_the_parameters_it_trains_in_memory(tmp_path, small_windows, train_path):
    zarr = pytest.importorskip("zarr")
    X = rows()
    np.save(tmp_path / "rows.npy", X)
    zarr.open_array(str(tmp_path / "rows.zarr"), mode="w", shape=X.shape, chunks=(50, 16), dtype="float32")[:] = X
    memory_ds = Dataset((X, None), (X[:0], np.zeros(0)), (X[:0], np.zeros(0)), name="rows", image_shape=(4, 4))
    kw = dict(training_epochs=2, n_hidden=5, batch_size=4, corruption_levels=(0.3,), log=quiet, train_path=train_path)
    run_dA(dataset=memory_ds, output_dir=tmp_path / "memory", **kw)
    run_dA(dataset=str(tmp_path / "rows.npy"), output_dir=tmp_path / "npy", **kw)
    run_dA(dataset=str(tmp_path / "rows.zarr"), output_dir=tmp_path / "zarr", **kw)
    want = params(tmp_path / "memory" / "dA_corruption_30.npz")
    assert_same(params(tmp_path / "npy" / "dA_corruption_30.npz"), want)
    assert_same(params(tmp_path / "zarr" / "dA_corruption_30.npz"), want)
    assert (tmp_path / "npy" / "reconstructions_corruption_30.png").is_file()  # from training rows: no test split


def save_splits(folder, ds):
    folder.mkdir()
    for name, (x, y) in zip(("train", "valid", "test"), ds.splits):
        np.save(folder / f"{name}_x.npy", x.astype(np.float32))
        np.save(folder / f"{name}_y.npy", y.astype(np.int64))
    return folder


@pytest.mark.slow  # SdA fits: the default tier streams the dA
def test_SdA_from_a_folder_of_splits_trains_what_it_trains_in_memory(tmp_path, tiny, small_windows):
    folder = save_splits(tmp_path / "splits", tiny)
    kw = dict(pretraining_epochs=2, training_epochs=3, batch_size=5, hidden_layers_sizes=(6, 5), pretrain_lr=0.05,
              log=quiet, train_path="step")
    in_memory = run_SdA(dataset=tiny, output_dir=tmp_path / "memory", **kw)  # codes precomputed in memory
    on_disk = run_SdA(dataset=str(folder), output_dir=tmp_path / "disk", **kw)  # recomputed per minibatch
    assert_same(params(tmp_path / "disk" / "SdA_model.npz"), params(tmp_path / "memory" / "SdA_model.npz"))
    assert on_disk["test_error"] == in_memory["test_error"]


def test_a_run_whose_file_goes_away_stops_in_one_line_and_resumes_from_its_checkpoint(tmp_path, tiny, small_windows):
    folder = save_splits(tmp_path / "splits", tiny)
    kw = dict(pretraining_epochs=2, training_epochs=2, batch_size=5, hidden_layers_sizes=(6,), log=quiet,
              train_path="step")
    run_SdA(dataset=str(folder), output_dir=tmp_path / "whole", **kw)
    train = folder / "train_x.npy"

    def log(line):
        if "Pre-training layer 0: Training epoch 0" in line:
            os.rename(train, tmp_path / "away.npy")  # gone after the first epoch's checkpoint

    with pytest.raises(DataError, match=r"train_x\.npy: rows \d+-\d+ cannot be read .*went away during the run"):
        run_SdA(dataset=str(folder), output_dir=tmp_path / "cut", **dict(kw, log=log))
    os.rename(tmp_path / "away.npy", train)
    run_SdA(dataset=str(folder), output_dir=tmp_path / "cut", resume=True, **kw)
    assert_same(params(tmp_path / "cut" / "SdA_model.npz"), params(tmp_path / "whole" / "SdA_model.npz"))


def record_until_error(path, batch=4, unit_interval=True):
    X = ondisk.open_rows(path)
    X.unit_interval = unit_interval
    shared, _ = ondisk.stream(X, None)
    inner = Recorder(shared, batch)
    steps = ondisk.StreamedSteps(inner, ondisk.stream_of(shared), batch)
    with pytest.raises(DataError) as err:
        train_epochs(steps, len(X) // batch, 1, context=QUIET)
    return str(err.value), len(inner.seen), steps.per_window


@pytest.mark.parametrize("bad, why", [(np.nan, r"row 150, column 3 is nan; clean the file"),
                                      (1.5, r"row 150, column 3 is 1\.5, outside \[0, 1\]")])
def test_a_bad_value_in_a_later_window_stops_before_any_step_reads_it(tmp_path, small_windows, bad, why):
    X = rows()
    X[150, 3] = bad
    np.save(tmp_path / "rows.npy", X)
    line, steps_run, per_window = record_until_error(tmp_path / "rows.npy")
    first_bad = 150 // 4 // per_window * per_window  # the first minibatch of the window holding row 150
    assert steps_run == first_bad
    assert "\n" not in line and f"rows.npy: rows {first_bad * 4}-" in line
    assert re.search(why, line), line


def test_a_file_that_shrinks_during_the_run_is_one_line(tmp_path, small_windows):
    np.save(tmp_path / "rows.npy", rows())
    X = ondisk.open_rows(tmp_path / "rows.npy")
    X.read(0, 10)
    os.truncate(tmp_path / "rows.npy", 2000)
    with pytest.raises(DataError, match=r"rows.npy: rows 100-149 cannot be read .*changed or went away"):
        X.read(100, 150)


@pytest.mark.parametrize("array, why", [
    (np.zeros((5, 4), dtype=np.complex64), "holds complex64 of shape (5, 4); rows must be a 2-D array of numbers"),
    (np.zeros((5, 4, 2), dtype=np.float32), "holds float32 of shape (5, 4, 2)"),
    (np.asfortranarray(np.zeros((5, 4), dtype=np.float32)), "Fortran order"),
])
def test_a_file_of_the_wrong_kind_is_one_line(tmp_path, array, why):
    np.save(tmp_path / "rows.npy", array)
    with pytest.raises(DataError) as err:
        run_dA(dataset=str(tmp_path / "rows.npy"), output_dir=tmp_path / "out", log=quiet)
    assert why in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out" / "metrics.jsonl").exists()


def test_splits_of_other_widths_labels_out_of_range_and_too_large_splits_are_one_line(tmp_path, tiny, monkeypatch):
    folder = save_splits(tmp_path / "splits", tiny)
    np.save(folder / "valid_x.npy", np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(DataError, match="the splits have different widths"):
        run_SdA(dataset=str(folder), output_dir=tmp_path / "a", log=quiet)
    np.save(folder / "valid_x.npy", tiny.valid[0].astype(np.float32))
    y = tiny.train[1].astype(np.int64)
    y[180] = 7
    np.save(folder / "train_y.npy", y)
    with pytest.raises(DataError, match=r"splits train: label 7 \(1 row\) is outside 0..3"):
        run_SdA(dataset=str(folder), output_dir=tmp_path / "b", log=quiet)
    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    with pytest.raises(TutorialError, match="the valid split .* needs .* they are read whole"):
        run_SdA(dataset=str(folder), output_dir=tmp_path / "c", log=quiet)


def test_python_dA_py_trains_from_a_npy_file(tmp_path, capsys):
    np.save(tmp_path / "rows.npy", rows(n=60))
    out = tmp_path / "out"
    assert dA.main(["--dataset", str(tmp_path / "rows.npy"), "--epochs", "1", "--hidden", "4", "--corruption", "0.3",
                    "--output-dir", str(out)]) == 0
    assert "dataset rows: 60 training rows of 16 features" in capsys.readouterr().out
    assert (out / "dA_corruption_30.npz").is_file() and (out / "filters_corruption_30.png").is_file()


@pytest.mark.parametrize("train_path", PATHS)
def test_the_estimator_streams_a_dask_array_or_memory_map_to_the_parameters_of_the_rows_in_memory(
        tmp_path, small_windows, train_path):
    X = rows()
    np.save(tmp_path / "rows.npy", X)
    kw = dict(n_hidden=5, n_epochs=2, batch_size=4, random_state=0, train_path=train_path)
    want = DenoisingAutoencoder(**kw).fit(X)
    for given in (da.from_array(X, chunks=(50, 16)), np.load(tmp_path / "rows.npy", mmap_mode="r")):
        got = DenoisingAutoencoder(**kw).fit(given)
        assert_same(got.params_, want.params_)
        assert got.score(given) == pytest.approx(want.score(X), rel=1e-5)


def test_dask_ml_incremental_trains_chunk_by_chunk_as_partial_fit_does():
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X = rows(n=120)
    kw = dict(n_hidden=5, batch_size=4, random_state=0)
    inc = wrappers.Incremental(DenoisingAutoencoder(**kw), shuffle_blocks=False).fit(da.from_array(X, chunks=(40, 16)))
    by_hand = DenoisingAutoencoder(**kw)
    for lo in range(0, len(X), 40):
        by_hand.partial_fit(X[lo: lo + 40])
    assert_same(inc.estimator_.params_, by_hand.params_)


@pytest.mark.slow  # SdA fits: the default tier streams the dA
@pytest.mark.parametrize("train_path", PATHS)
def test_the_classifier_streams_a_dask_array_or_memory_map_to_the_parameters_of_the_rows_in_memory(
        tmp_path, tiny, small_windows, train_path):
    X, y = tiny.train[0].astype(np.float32), tiny.train[1].copy()
    y[::3] = -1  # unlabelled rows: pretrained on, not fine-tuned on; a tenth of the labelled ones held out
    np.save(tmp_path / "rows.npy", X)
    kw = dict(hidden_layers_sizes=(6, 5), pretraining_epochs=1, max_epochs=3, batch_size=5, random_state=0,
              train_path=train_path)
    want = SdAClassifier(**kw).fit(X, y)
    for given in (da.from_array(X, chunks=(70, 16)), np.load(tmp_path / "rows.npy", mmap_mode="r")):
        assert_same(SdAClassifier(**kw).fit(given, y).params_, want.params_)


@pytest.mark.slow  # SdA fits: the default tier streams the dA
def test_streamed_rows_outside_the_unit_interval_are_scaled_as_rows_in_memory_are(tmp_path, small_windows):
    X = rows(n=120) * 6 - 2  # in [-2, 4]
    np.save(tmp_path / "rows.npy", X)
    kw = dict(n_hidden=4, n_epochs=2, batch_size=4, random_state=0)
    want = DenoisingAutoencoder(**kw).fit(X)
    got = DenoisingAutoencoder(**kw).fit(np.load(tmp_path / "rows.npy", mmap_mode="r"))
    assert_same(got.params_, want.params_)
    assert np.array_equal(got.data_min_, want.data_min_) and np.array_equal(got.data_range_, want.data_range_)
    y = np.arange(120) % 3
    assert_same(SdAClassifier(hidden_layers_sizes=(4,), max_epochs=2, batch_size=4, random_state=0).fit(
        da.from_array(X, chunks=40), y).params_,
        SdAClassifier(hidden_layers_sizes=(4,), max_epochs=2, batch_size=4, random_state=0).fit(X, y).params_)


def test_streamed_rows_with_nan_unscaled_or_labels_of_another_length_are_one_line():
    X = rows(n=40)
    X[33, 2] = np.nan
    with pytest.raises(DataError, match=r"the Dask array: rows 0-39: row 33, column 2 is nan; clean the file"):
        DenoisingAutoencoder(n_hidden=3, n_epochs=1, batch_size=4).fit(da.from_array(X, chunks=20))
    with pytest.raises(TutorialError, match=r"inputs must lie in \[0, 1\] for cross-entropy, got range \[0\.0009021, 2\.999\]"):
        DenoisingAutoencoder(n_hidden=3, scale=False).fit(da.from_array(rows(n=40) * 3, chunks=20))
    with pytest.raises(TutorialError, match=r"y must hold one label per row of X \(40\), got shape \(39,\)"):
        SdAClassifier(hidden_layers_sizes=(3,)).fit(da.from_array(rows(n=40), chunks=20), np.arange(39) % 2)


def test_rows_on_disk_read_in_the_model_precision(tmp_path, small_windows):
    np.save(tmp_path / "rows.npy", rows().astype(np.float64))
    with pytensor.config.change_flags(floatX="float64"):
        shared, _ = ondisk.stream(ondisk.open_rows(tmp_path / "rows.npy"), None)
    ondisk.stream_of(shared).show(0, 8)
    assert shared.get_value().dtype == np.float64 and shared.get_value().shape == (8, 16)


def _search(address):
    """dask-ml's HyperbandSearchCV over the estimator, scored by reconstruction, on the scheduler at ``address``."""
    from distributed import Client
    from dask_ml.model_selection import HyperbandSearchCV

    X = da.from_array(rows(n=600), chunks=(100, 16))
    with Client(address):
        search = HyperbandSearchCV(DenoisingAutoencoder(n_hidden=6, batch_size=10, random_state=0),
                                   {"learning_rate": [0.01, 0.3], "corruption_level": [0.0, 0.3]}, max_iter=3,
                                   random_state=0)
        search.fit(X, da.zeros(len(X), chunks=X.chunks[0]))  # dask-ml splits a y with X; the score ignores it
    assert search.best_score_ == max(search.cv_results_["test_score"]) < 0
    assert search.best_params_["learning_rate"] == 0.3  # the faster rate wins in 3 partial fits
    return search


@pytest.mark.slow
def test_an_adaptive_search_runs_on_a_local_cluster_and_on_an_existing_scheduler(tmp_path):
    import json
    import shutil
    import subprocess
    import time

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        local = _search(cluster.scheduler_address).best_params_
    dask = shutil.which("dask") or pytest.skip("no dask command")
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not info.exists() and time.time() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(info), "--nthreads", "1",
                                       "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        assert _search(json.loads(info.read_text())["address"]).best_params_ == local
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)


def test_a_classifier_on_rows_without_labels_or_predicting_without_test_rows_is_one_line(tmp_path, tiny):
    from logistic_sgd import predict, run_logistic

    np.save(tmp_path / "rows.npy", rows(n=60))
    with pytest.raises(DataError, match="rows.npy holds rows without labels, and this model learns from labels"):
        run_logistic(dataset=str(tmp_path / "rows.npy"), output_dir=tmp_path / "out", log=quiet)
    assert not (tmp_path / "out" / "metrics.jsonl").exists()
    run_logistic(dataset=tiny, n_epochs=1, batch_size=20, output_dir=tmp_path / "model", log=quiet)
    with pytest.raises(DataError, match="dataset rows has no test rows to predict"):
        predict(tmp_path / "model" / "best_model.npz", dataset=str(tmp_path / "rows.npy"), log=quiet)


@pytest.mark.parametrize("loss, decoder", [("cross_entropy", "sigmoid"), ("squared_error", "linear")])
def test_unaligned_rows_as_dask_workers_may_hand_them_over_train_as_aligned_ones(loss, decoder):
    X = rows(n=30)
    unaligned = np.zeros(X.nbytes + 1, dtype=np.uint8)[1:].view(np.float32).reshape(X.shape)
    unaligned[:] = X
    assert not unaligned.flags.aligned
    kw = dict(n_hidden=3, n_epochs=1, batch_size=5, random_state=0, loss=loss, decoder=decoder)
    assert_same(DenoisingAutoencoder(**kw).partial_fit(unaligned).params_, DenoisingAutoencoder(**kw).fit(X).params_)


def test_a_zarr_store_without_zarr_installed_is_one_line(tmp_path, monkeypatch):
    store = tmp_path / "rows.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "zarr", None)  # as if not installed
    with pytest.raises(DataError, match=r"rows.zarr is a Zarr store and zarr is not installed: pip install zarr"):
        run_dA(dataset=str(store), output_dir=tmp_path / "out", log=quiet)


@pytest.mark.slow
def test_the_benchmark_script_runs_on_tiny_settings(tmp_path):
    import json
    import subprocess

    from helpers import ROOT

    out = tmp_path / "r.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "ondisk.py"), "measure", "--dir", str(tmp_path), "--rows",
                    "200", "--zarr-rows", "200", "--repeats", "2", "--results", str(out)], check=True,
                   capture_output=True, timeout=600)
    rows_ = json.loads(out.read_text())["rows"]
    assert [r[:2] for r in rows_] == [[200, "memory"], [200, "disk (.npy)"], [200, "disk (Zarr)"]]
    assert all(r[2] > 0 and r[3] > 0 for r in rows_)
