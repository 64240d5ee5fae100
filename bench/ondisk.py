"""Training from disk against training in memory: the dA epoch's rows/s and peak memory, 10^4 to 10^7 rows.

    python bench/ondisk.py generate /tmp/ondisk/rows_10000000.npy --rows 10000000   # 31 GB, once
    python bench/ondisk.py measure --dir /tmp/ondisk --results docs/results/ondisk_cpu.json

``generate`` writes a ``.npy`` of rows in float32 a chunk at a time (memory does not grow with the rows):
Fashion-MNIST's training rows shifted by a random -2..2 pixels across and down (uniform random rows where
Fashion-MNIST is not installed); ``--zarr`` writes a Zarr store instead (chunks of 10,000 rows; zstd, as zarr's
default, or ``--uncompressed``).

``measure`` generates each size's file in ``--dir`` where missing (and Zarr stores at ``--zarr-rows`` and
``--zarr-raw-rows``),
then runs ``python dA.py``'s own run (``run_dA``: 500 hidden units, minibatch 20, corruption 0.3, the
default training path) in a fresh process per point: the rows read whole into memory with ``np.load``
(where they fit), the same ``.npy`` read from disk, and the Zarr store. Rows/s is the last epoch's, from
the run's ``metrics.jsonl`` (two epochs, the first untimed, up to 10^6 rows; one epoch at 10^7, where
compiling is under 1% of it); the peak memory is the process's peak resident set (``VmHWM``).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))
from bench import write_results  # noqa: E402  (this folder's own script)

CHUNK = 100_000


def _source_rows():
    """Fashion-MNIST's training rows as float32 in [0, 1], or None where it is not installed."""
    try:
        from autoencoders_tutorial.datasets import load_dataset

        return load_dataset("fashion-mnist", log=lambda *_: None).train[0].astype(np.float32)
    except Exception:  # noqa: BLE001  (not installed: random rows)
        return None


def _chunk(source, rng, n):
    if source is None:
        return rng.random((n, 784), dtype=np.float32)
    rows = source[rng.integers(0, len(source), n)].reshape(n, 28, 28)
    shifts = rng.integers(-2, 3, size=(n, 2))
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            pick = (shifts[:, 0] == dx) & (shifts[:, 1] == dy)
            rows[pick] = np.roll(rows[pick], (dy, dx), axis=(1, 2))
    return rows.reshape(n, 784)


def generate(path, n_rows, zarr_store=False, seed=0, compress=True):
    """Write ``n_rows`` rows to ``path`` (a ``.npy``, or a Zarr store: zstd-compressed unless not ``compress``), a
    chunk at a time."""
    source, rng = _source_rows(), np.random.default_rng(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if zarr_store:
        import zarr

        out = zarr.create_array(str(tmp), shape=(n_rows, 784), chunks=(10_000, 784), dtype="float32",
                                **({} if compress else {"compressors": None}))  # zarr 3
    else:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n_rows, 784))
    for lo in range(0, n_rows, CHUNK):
        out[lo: min(n_rows, lo + CHUNK)] = _chunk(source, rng, min(n_rows, lo + CHUNK) - lo)
    if not zarr_store:
        out.flush()
        del out
    os.replace(tmp, path)
    print(f"wrote {path}: {n_rows:,} rows of 784 float32 ({_kind(source is not None)})")


def _kind(fashion=None):
    fashion = _source_rows() is not None if fashion is None else fashion
    return "Fashion-MNIST training rows shifted by -2..2 pixels" if fashion else "uniform random rows"


def child(path, where, epochs):
    """One point: ``run_dA`` on the file (``where`` "disk") or on its rows read whole ("memory")."""
    from autoencoders_tutorial.ondisk import disk_dataset
    from dA import run_dA

    ds = disk_dataset(path)
    if where == "memory":  # read whole, as np.load reads a file: every row in the process's own memory
        ds.train = (np.load(path), None)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_dA(dataset=ds, training_epochs=epochs, corruption_levels=(0.3,), output_dir=out, log=lambda *_: None)
        wall = time.perf_counter() - t0
        epochs_s = [r["seconds"] for r in map(json.loads, Path(out, "metrics.jsonl").read_text().splitlines())
                    if "epoch" in r]
    rows = len(ds.train[0]) // 20 * 20
    print(json.dumps({"rows_per_s": rows / epochs_s[-1], "peak_mb": peak_mb(), "wall_s": wall}))


def peak_mb():
    """This process's peak resident memory since it started (``VmHWM``: unlike ``ru_maxrss``, which keeps the
    peak of the process it was forked from, across ``exec``, the new program's own)."""
    status = Path("/proc/self/status")
    if status.exists():
        return next(int(ln.split()[1]) for ln in status.read_text().splitlines() if ln.startswith("VmHWM:")) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _points(args):
    """(rows, where, the file): in memory and from a ``.npy`` at each size, from a Zarr store at ``--zarr-rows``."""
    for n in args.rows:
        yield from ((n, where, args.dir / f"rows_{n}.npy") for where in ("memory", "disk (.npy)"))
        if n in args.zarr_rows:
            yield n, "disk (Zarr)", args.dir / f"rows_{n}.zarr"
        if n in args.zarr_raw_rows:
            yield n, "disk (Zarr, uncompressed)", args.dir / f"rows_{n}.raw.zarr"


def _run_point(n, where, path):
    """One child run: ``{"rows_per_s", "peak_mb", "wall_s"}``, or ``{"error": line}``."""
    if not path.exists():  # in a process of its own: this one stays small (its children start from it)
        kind = [] if path.suffix == ".npy" else ["--zarr", *(["--uncompressed"] if ".raw" in path.suffixes else [])]
        subprocess.run([sys.executable, __file__, "generate", str(path), "--rows", str(n), *kind], check=True)
    if where == "memory" and n * 784 * 4 * 2.5 > os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"):
        return {"error": "does not fit in memory"}
    done = subprocess.run([sys.executable, __file__, "child", str(path), where.split()[0], "1" if n >= 10**7 else "2"],
                          capture_output=True, text=True)
    if done.returncode:
        print(done.stderr[-2000:])
        return {"error": f"failed: {done.stderr.strip().splitlines()[-1][:80]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args):
    """Each size's points ``--repeats`` times (once at 10^7 rows), the order reversed every other round: the
    median rows/s, the largest peak, and the median (min-max) of each round's ratio to memory's."""
    table, points = [], list(_points(args))
    for n in args.rows:
        mine = [(where, path) for m, where, path in points if m == n]
        runs = {where: [] for where, _ in mine}
        for rnd in range(args.repeats if n < 10**7 else 1):
            for where, path in mine[::-1] if rnd % 2 else mine:
                runs[where].append(_run_point(n, where, path))
                print(n, where, runs[where][-1], flush=True)
        memory = [r.get("rows_per_s") for r in runs["memory"]]
        for where, rs in runs.items():
            if any("error" in r for r in rs):
                table.append([n, where, None, None, next(r["error"] for r in rs if "error" in r)])
                continue
            ratios = sorted(r["rows_per_s"] / m for r, m in zip(rs, memory) if m) if where != "memory" else []
            spread = f" ({ratios[0]:.2f}-{ratios[-1]:.2f})" if len(ratios) > 1 else ""
            table.append([n, where, round(statistics.median(r["rows_per_s"] for r in rs)),
                          round(max(r["peak_mb"] for r in rs)),
                          f"{statistics.median(ratios):.2f}x in memory{spread}" if ratios else None])
            print(table[-1], flush=True)
    notes = (f"python dA.py's run (run_dA) in a fresh process per row: 784-500, minibatch 20, corruption 0.3, the "
             f"default training path; rows/s of the last epoch (of 2, 1 at 10^7 rows), the median of {args.repeats} "
             f"runs (1 at 10^7 rows); "
             f"peak = the process's VmHWM. Rows: {_kind()}, generated by bench/ondisk.py generate; the files on the "
             "machine's disk")
    if args.results:
        write_results(args, args.results, "The dA epoch from disk and in memory: rows/s and peak memory",
                      ["rows", "where", "rows/s", "peak MB", "vs memory"], table, notes, None,
                      script="bench/ondisk.py")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("generate", help="write a file of rows")
    g.add_argument("path", type=Path)
    g.add_argument("--rows", type=int, required=True)
    g.add_argument("--zarr", action="store_true", help="a Zarr store rather than a .npy")
    g.add_argument("--uncompressed", action="store_true", help="a Zarr store without compression (default zstd)")
    m = sub.add_parser("measure", help="time the dA epoch in memory and from disk")
    m.add_argument("--dir", type=Path, required=True, help="where the files are (generated where missing)")
    m.add_argument("--rows", type=int, nargs="+", default=[10**4, 10**5, 10**6, 10**7])
    m.add_argument("--zarr-rows", type=int, nargs="*", default=[10**4, 10**5, 10**6],
                   help="sizes also read from a Zarr store")
    m.add_argument("--zarr-raw-rows", type=int, nargs="*", default=[], help="sizes also read from an uncompressed one")
    m.add_argument("--repeats", type=int, default=3, help="runs of each point below 10^7 rows (default 3)")
    m.add_argument("--results", type=Path, metavar="FILE", help="also write the table as a result file")
    c = sub.add_parser("child")
    c.add_argument("path")
    c.add_argument("where", choices=("memory", "disk"))
    c.add_argument("epochs", type=int)
    args = p.parse_args(argv)
    if args.what == "generate":
        generate(args.path, args.rows, args.zarr, compress=not args.uncompressed)
    elif args.what == "measure":
        measure(args)
    else:
        child(args.path, args.where, args.epochs)


if __name__ == "__main__":
    main()
