"""Hyper-parameter sweeps of the SdA over a grid, on one machine or a Dask cluster.

    python -m autoencoders_tools.sweep --dataset fashion-mnist --grid grid.toml

The grid file (TOML or JSON) names :class:`~.estimators.SdAClassifier` parameters: those under
``[fixed]`` hold for every setting, those under ``[grid]`` are lists whose product is swept::

    [fixed]
    hidden_layers_sizes = [500, 500]
    pretraining_epochs = 5
    batch_size = 20

    [grid]
    corruption_levels = [[0.1, 0.2], [0.3, 0.3]]
    finetune_lr = [0.05, 0.1]

Each setting fits on the training split, early-stopped on the validation split, and reports its
validation and test error (no refit on train + validation: a setting's numbers are those
``python SdA.py`` prints for it). The fits run through ``joblib.Parallel`` on the Dask back end: by
default a ``distributed.LocalCluster`` of ``--workers`` processes here (spawned, never forked after JAX
started); ``--scheduler tcp://HOST:8786`` sends the sweep to an existing cluster, whose workers must have
this library and the dataset; ``--sequential`` runs the fits one by one in this process. A line is
printed as each fit finishes; ``OUTPUT_DIR`` gets ``results.csv``, ``results.jsonl`` and
``validation_error.png`` (validation error against each swept parameter).

The columns: the swept settings; ``validation_error`` and ``test_error``, the fitted model's error on
every row of the validation and test splits (ranked by the first); ``early_stopping_validation_error``,
the best the early-stopping loop saw, the mean over its full minibatches (the tutorial's way: a partial
last minibatch is left out, so it can differ from ``validation_error``); ``finetune_epochs``;
``seconds``; ``error``, empty, or why the fit failed (a failed fit is a row, last, never the sweep's end).

Every setting is checked before the first fit (a bad value is one line naming the setting; a grid of
more than 10,000 settings is refused); the tables are rewritten after every finished fit (a Ctrl-C or a
crash keeps the finished rows); an earlier sweep's files in the folder are first moved to
``results.previous.csv`` and so on: one folder never holds two sweeps' files. A Ctrl-C while the local
cluster starts waits until it has started (or failed), closes it and ends in one line.

Dask and matplotlib are the ``sweep`` extra (``pip install -e ".[sweep]"``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import itertools
import json
import math
import socket
import sys
import time
import tomllib
from functools import lru_cache
from pathlib import Path

from joblib import Parallel, delayed, parallel_backend

from autoencoders_tutorial.cli import command_parser, positive_int, run_cli
from autoencoders_tutorial.datasets import load_dataset
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import atomic_write_bytes, previous_path
from autoencoders_tutorial.interrupts import deferred_interrupts
from autoencoders_tutorial.runs import RunFolder, RunInterrupted
from autoencoders_tutorial.userfiles import read_bytes

from .estimators import SdAClassifier

SWEEP_EXTRA = 'pip install "dask[distributed]" matplotlib (the sweep extra)'
#: The most settings one grid may make (each is a fit).
MAX_SETTINGS = 10_000
#: What the sweep writes; an earlier sweep's are moved to ``NAME.previous.EXT`` first, so two never mix.
OUTPUTS = ("results.csv", "results.jsonl", "validation_error.png")
#: Seconds to reach an existing scheduler and read its greeting.
CONNECT_TIMEOUT = 10


def _no_duplicate_keys(pairs) -> dict:
    """A JSON object's pairs as a dict, refusing a key given twice (json keeps the last silently)."""
    keys = [key for key, _ in pairs]
    if len(set(keys)) < len(keys):
        raise ValueError(f"the key {next(k for k in keys if keys.count(k) > 1)!r} is given twice")
    return dict(pairs)


def read_grid(path) -> tuple[dict, dict]:
    """``(fixed, grid)`` from a TOML or JSON grid file; one-line errors for a bad one."""
    path = Path(path)
    raw = read_bytes(path, "grid file")  # a regular file of bounded size
    try:  # in JSON as in TOML, a name given twice is refused
        spec = (json.loads(raw, object_pairs_hook=_no_duplicate_keys) if path.suffix == ".json"
                else tomllib.loads(raw.decode()))
    except Exception as exc:  # noqa: BLE001  (tomllib / json / decoding errors)
        raise DataError(f"grid file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'} "
                        f"({' '.join(str(exc).split())})") from None
    if not isinstance(spec, dict):
        raise DataError(f"grid file {path} holds a {type(spec).__name__}; it needs a [grid] table of lists")
    fixed, grid = spec.get("fixed", {}), spec.get("grid", {})
    if not isinstance(fixed, dict) or not isinstance(grid, dict) or not grid:
        raise DataError(f"grid file {path} needs a [grid] table of lists (and optionally [fixed])")
    known = set(SdAClassifier().get_params())
    for name in {**fixed, **grid}:
        if name not in known:
            raise DataError(f"grid file {path}: {name!r} is not an SdAClassifier parameter "
                            f"({', '.join(sorted(known))})")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise DataError(f"grid file {path}: [grid] {name} must be a non-empty list, got {values!r}")
    n = math.prod(len(v) for v in grid.values())
    if n > MAX_SETTINGS:
        raise DataError(f"grid file {path} makes {n} settings, more than {MAX_SETTINGS}; sweep fewer values")
    for i, setting in enumerate(settings(fixed, grid)):  # every setting checked before the first fit
        try:
            SdAClassifier(**_params(setting))._check_hyper()
        except (TutorialError, TypeError, ValueError, OverflowError) as exc:  # a number too large for a setting
            swept = ", ".join(f"{k}={setting[k]!r:.60}" for k in grid)
            raise DataError(f"grid file {path}: setting {i + 1} ({swept}) is not valid: {exc}") from None
    return fixed, grid


def settings(fixed: dict, grid: dict) -> list[dict]:
    """Every combination of the grid's values, each with the fixed parameters."""
    return [dict(fixed, **dict(zip(grid, combo))) for combo in itertools.product(*grid.values())]


@lru_cache(maxsize=2)
def _dataset(dataset, data_dir):
    return load_dataset(dataset, data_root=data_dir, log=lambda *_: None)


def _params(setting: dict) -> dict:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in setting.items()}


def fit_one(setting: dict, dataset, data_dir=None) -> dict:
    """Fit one setting on the training split, early-stopped on validation; its errors and seconds."""
    ds = _dataset(dataset, data_dir)
    t0 = time.perf_counter()
    try:
        clf = SdAClassifier(**_params(setting)).fit(*ds.train, X_val=ds.valid[0], y_val=ds.valid[1])
    except Exception as exc:  # noqa: BLE001  (a failed fit is a row with its error, never the sweep's end)
        return dict(setting, validation_error=math.nan, test_error=math.nan, early_stopping_validation_error=math.nan,
                    finetune_epochs=0, seconds=round(time.perf_counter() - t0, 2),
                    error=f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}")
    return dict(setting, validation_error=float(1 - clf.score(*ds.valid)), test_error=float(1 - clf.score(*ds.test)),
                early_stopping_validation_error=clf.best_validation_error_, finetune_epochs=clf.n_epochs_,
                seconds=round(time.perf_counter() - t0, 2), error="")


def _check_speaks_dask(address):
    """Raise ``ValueError`` unless ``address`` (a ``tcp://`` one; other schemes go to Dask) answers as a Dask
    scheduler does: with its handshake, one frame of a few dozen bytes, its 8-byte length first. Dask's own client
    takes any first 8 bytes for that length and allocates it (exabytes from a web server), so the greeting is read
    here first, within :data:`CONNECT_TIMEOUT`."""
    from distributed.comm import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme != "tcp":
        return
    with socket.create_connection(parse_host_port(location), timeout=CONNECT_TIMEOUT) as conn:  # for reads too
        try:
            head = conn.recv(8, socket.MSG_WAITALL)
            size = int.from_bytes(head, "little") if len(head) == 8 else 0
            greeting = conn.recv(size, socket.MSG_WAITALL) if 0 < size <= 2**16 else b""
        except TimeoutError:
            raise TimeoutError(f"no Dask greeting within {CONNECT_TIMEOUT} s") from None
    if b"compression" not in greeting:
        raise ValueError(f"it answers, but not as a Dask scheduler (its first bytes: {head[:8]!r})")


def _client(workers, scheduler):
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise TutorialError(f"the sweep needs Dask: {SWEEP_EXTRA}") from None
    if scheduler:
        try:
            _check_speaks_dask(scheduler)
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s"), None
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            problem = str(exc)
        # The half-made Client's __del__ runs now: run later by the garbage collector inside the next Client's
        # start, it waits for a lock that start holds, and the process hangs (seen in this project's tests).
        gc.collect()
        raise TutorialError(f"cannot reach the Dask scheduler {scheduler} ({problem}); start it or check the address")
    dask.config.set({"distributed.worker.multiprocessing-method": "spawn"})  # never fork after JAX started
    # Ctrl-C while the cluster starts is held until it has started or failed (a terminal's reaches the workers
    # too, and Dask then fails in many lines), or a second one; then what started is closed, and one line said.
    started = []

    class Cluster(LocalCluster):  # known as soon as it exists: a half-started one is closed too
        def __init__(self, **kwargs):
            started.append(self)
            super().__init__(**kwargs)

    client, hold = None, deferred_interrupts(deliver=False)
    try:
        with hold:
            client = Client(Cluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
        if hold.received:
            raise KeyboardInterrupt
    except BaseException as exc:
        if not (hold.received or isinstance(exc, KeyboardInterrupt)):
            raise
        for what in (client, *started):
            with contextlib.suppress(Exception):
                what.close()
        for cluster in started:  # not again at exit: Dask fails to close a half-started one in many lines
            cluster.shutdown_on_close = False
        raise RunInterrupted("while starting the Dask cluster; nothing was fitted") from None
    return client, started[0]


def run_sweep(grid_path, dataset=None, output_dir="sweep_out", workers=2, scheduler=None, sequential=False,
              data_dir=None, log=print) -> list[dict]:
    """Fit every setting of the grid file; write the tables and the plot; return the results, best first."""
    fixed, grid = read_grid(grid_path)
    todo = settings(fixed, grid)
    with RunFolder(output_dir) as folder:
        ds = _dataset(dataset, data_dir)  # read once here: a bad dataset is one line before any worker starts
        for path in (folder.path / name for name in OUTPUTS):  # an earlier sweep's: kept aside, never mixed in
            if path.exists():
                path.replace(previous_path(path))
        log(f"sweep of {len(todo)} settings on {ds.name} ({', '.join(grid)}), "
            f"{'sequentially' if sequential else scheduler or f'{workers} local Dask workers'}")
        jobs = (delayed(fit_one)(s, dataset, data_dir) for s in todo)
        results, t0 = [], time.perf_counter()

        def collect(outputs):
            for res in outputs:
                results.append(res)
                swept = ", ".join(f"{k}={res[k]}" for k in grid)
                what = (f"failed ({res['error']})" if res["error"] else
                        f"validation {res['validation_error'] * 100:.2f} %, test {res['test_error'] * 100:.2f} %")
                log(f"[{len(results)}/{len(todo)}] {swept}: {what} ({res['seconds']:.0f}s; "
                    f"{time.perf_counter() - t0:.0f}s so far)")
                _write_tables(folder, sorted(results, key=_rank), list(grid))  # every finished fit kept at once

        if sequential:
            collect(Parallel(n_jobs=1, return_as="generator")(jobs))
        else:
            client, cluster = _client(workers, scheduler)
            try:
                with parallel_backend("dask"):
                    collect(Parallel(n_jobs=-1, return_as="generator_unordered")(jobs))
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        results.sort(key=_rank)
        fitted = [r for r in results if not r["error"]]
        if not fitted:
            raise TutorialError(f"every fit failed (the first: {results[0]['error']}); "
                                f"see {folder.path / 'results.csv'}")
        _plot(folder, fitted, list(grid))
        best = fitted[0]
        log(f"best by validation: {', '.join(f'{k}={best[k]}' for k in grid)}: validation "
            f"{best['validation_error'] * 100:.2f} %, test {best['test_error'] * 100:.2f} %; wrote "
            f"{folder.path / 'results.csv'}, results.jsonl, validation_error.png")
    return results


def _rank(r):
    """Best first: the lowest validation error, then test error; failed fits last."""
    return (True, 0.0, 0.0) if r["error"] else (False, r["validation_error"], r["test_error"])


def _write_tables(folder, results, swept):
    columns = list(dict.fromkeys([*swept, "validation_error", "test_error", *results[0]]))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, tuple)) else v for k, v in r.items()})
    for name, data in (("results.csv", buf.getvalue()),
                       ("results.jsonl", "".join(json.dumps(r, sort_keys=True) + "\n" for r in results))):
        path = folder.path / name
        folder.save(path, "the sweep's table", lambda d=data, p=path: atomic_write_bytes(p, d.encode()),
                    keep_previous=False)


def _plot(folder, results, swept):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TutorialError(f"the sweep's plot needs matplotlib: {SWEEP_EXTRA}") from None

    fig, axes = plt.subplots(1, len(swept), figsize=(4 * len(swept), 3.2), squeeze=False)
    for ax, name in zip(axes[0], swept):
        labels = sorted({json.dumps(r[name]) for r in results})
        pos = {lab: i for i, lab in enumerate(labels)}
        ax.scatter([pos[json.dumps(r[name])] for r in results], [100 * r["validation_error"] for r in results])
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set(xlabel=name, ylabel="validation error (%)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    path = folder.path / "validation_error.png"
    folder.save(path, "the sweep's plot", lambda: atomic_write_bytes(path, buf.getvalue()), keep_previous=False)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of ``run_sweep`` (the docs render it)."""
    p = command_parser("autoencoders-sweep", "autoencoders_tools.sweep", __doc__ or "",
                       "--dataset fashion-mnist --grid grid.toml --workers 2")
    p.add_argument("--grid", dest="grid_path", required=True, help="the grid file (.toml or .json)")
    p.add_argument("--dataset", default=None,
                   help="as for the scripts (default: MNIST, else Fashion-MNIST, else digits)")
    p.add_argument("--data-dir", default=None, help="where datasets are found")
    p.add_argument("--output-dir", type=Path, default=Path("sweep_out"), help="where the tables and plot go")
    p.add_argument("--workers", type=positive_int, default=2, help="local Dask worker processes (default %(default)s)")
    p.add_argument("--scheduler", default=None, help="an existing Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--sequential", action="store_true", help="fit the settings one by one in this process")
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, run_sweep)


if __name__ == "__main__":
    # Run as ``python -m``, this file is ``__main__``: a function Dask ships to a cluster's workers by reference
    # would be ``__main__.fit_one``, which a worker cannot import; the package's module runs, whose names import.
    from autoencoders_tools.sweep import main as package_main

    sys.exit(package_main())


__all__ = ["fit_one", "read_grid", "run_sweep", "settings"]
