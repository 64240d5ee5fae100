"""The exported encoder against the library's own: rows/s of an SdA's top codes, onnxruntime beside get_codes.

    python bench/export.py --results docs/results/export_cpu.json

The tutorial's SdA shape (784-1000-1000-1000, float32), its codes of the top layer for 10,000 rows
(Fashion-MNIST's test rows when installed, else uniform random rows: the speed does not depend on
the values), each way timed five times after an untimed call; the medians, and the ratio to the
library's ``get_codes`` measured in the same run. Both use every core of the machine.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import write_results  # noqa: E402  (this folder's own script)

from autoencoders_tools.export import to_onnx  # noqa: E402
from SdA import SdA  # noqa: E402


def rows(n):
    try:
        from autoencoders_tutorial.datasets import load_dataset

        return load_dataset("fashion-mnist").test[0][:n].astype(np.float32), "Fashion-MNIST test rows"
    except Exception:  # noqa: BLE001  (not installed here: random rows time the same)
        return np.random.RandomState(0).rand(n, 784).astype(np.float32), "uniform random rows"


def timed(fn, repeats):
    fn()  # untimed: compiles, warms caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--results", type=Path, metavar="FILE", help="also write the table as a result file")
    args = p.parse_args(argv)
    X, source = rows(args.rows)
    with pytensor.config.change_flags(floatX="float32"):
        sda = SdA(np.random.RandomState(1), n_ins=784, hidden_layers_sizes=[1000, 1000, 1000], n_outs=10)
    session = ort.InferenceSession(to_onnx(sda).SerializeToString())
    want = sda.get_codes(X[:100])
    assert np.allclose(session.run(["codes_2"], {"X": X[:100]})[0], want, atol=1e-5)
    ways = [
        ("library get_codes (1,000 rows per call)", lambda: sda.get_codes(X)),
        ("onnxruntime, all rows in one call", lambda: session.run(["codes_2"], {"X": X})),
        ("onnxruntime, 1,000 rows per call", lambda: [session.run(["codes_2"], {"X": X[i:i + 1000]})
                                                      for i in range(0, len(X), 1000)]),
    ]
    table, base = [], None
    for name, fn in ways:
        rate = len(X) / timed(fn, args.repeats)
        base = base or rate
        table.append([name, round(rate), round(rate / base, 2)])
        print(f"{name:45s} {rate:10,.0f} rows/s  x library {rate / base:.2f}", flush=True)
    if args.results:
        write_results(args, args.results, f"SdA 784-1000-1000-1000 top codes, float32, {len(X):,} {source}, rows/s",
                      ["way", "rows/s", "x library"], table, f"median of {args.repeats} timed calls each after an "
                      f"untimed one, in one run; library engine: {pytensor.config.mode}", argv, "bench/export.py",
                      f", onnxruntime {ort.__version__}")


if __name__ == "__main__":
    main()
