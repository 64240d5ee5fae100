"""The project's benchmark: rows/s of the dA epoch (and SdA phases), against references.

    python bench/bench.py                 # dA epoch: every configuration + NumPy + floor
    python bench/bench.py --sda           # also SdA pretraining (codes precomputed vs not) and fine-tuning
    python bench/bench.py --quick         # 10,000 rows, 1 repeat: a smoke test

The "dA epoch" is the tutorial's: 784 visible, 500 hidden, tied weights, 30% masking
noise, cross-entropy, SGD at learning rate 0.1, minibatch 20, float32, on the 50,000
Fashion-MNIST training rows (uniform random data of the same shape when Fashion-MNIST is
not installed; speed does not depend on the values). Every variant runs in a fresh child
process (its own PyTensor flags, its own peak memory); compilation and a warm-up of a
few minibatches are timed separately and excluded. Each row reports the median over
``--repeats`` epochs, the ratio to the NumPy implementation written below, the fraction
of the matmul floor (the epoch's GEMM flops at the large-matmul rate measured in the same
run), and the child's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LR, LEVEL = 0.1, 0.3


def flops_per_row(n_visible, n_hidden):
    # 5 GEMMs per step (encode, decode, decoder grad, back-prop to hidden, encoder grad).
    return 5 * 2 * n_visible * n_hidden


def load_rows(rows):
    sys.path.insert(0, str(ROOT))
    path = Path("/usr/share/datasets/fashion-mnist")
    try:
        from autoencoders_tutorial.datasets import load_idx_dataset

        X = load_idx_dataset(path, name="fashion-mnist").train[0]
        source = "fashion-mnist"
    except Exception:  # noqa: BLE001  (any failure: fall back to random data of the same shape)
        X = np.random.default_rng(0).random((50000, 784), dtype=np.float32)
        source = "random"
    return np.ascontiguousarray(X[:rows]), source


def timed_epochs(step, n_batches, repeats, warmup=5):
    t0 = time.perf_counter()
    for i in range(warmup):
        step(i)
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(n_batches):
            step(i)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), warm


# -- the variants, each run in a child process -------------------------------------------


def child_numpy(X, batch, hidden, repeats):
    rng = np.random.default_rng(123)
    n_vis = X.shape[1]
    bound = 4 * np.sqrt(6.0 / (hidden + n_vis))
    W = rng.uniform(-bound, bound, (n_vis, hidden)).astype(np.float32)
    b = np.zeros(hidden, np.float32)
    bp = np.zeros(n_vis, np.float32)
    lr = np.float32(LR)
    noise = np.random.default_rng(1)

    def step(i):
        x = X[i * batch:(i + 1) * batch]
        tx = x * (noise.random(x.shape, dtype=np.float32) >= LEVEL)
        h = tx @ W
        h += b
        np.negative(h, out=h)
        np.exp(h, out=h)
        h += 1
        np.reciprocal(h, out=h)
        a = h @ W.T
        a += bp
        cost = float(np.mean(np.sum(np.logaddexp(0, a) - x * a, axis=1)))
        z = 1 / (1 + np.exp(-a))
        da = (z - x) / np.float32(batch)
        dh = da @ W
        dh *= h * (1 - h)
        gW = tx.T @ dh
        gW += (h.T @ da).T
        np.subtract(W, lr * gW, out=W)
        np.subtract(b, lr * dh.sum(0), out=b)
        np.subtract(bp, lr * da.sum(0), out=bp)
        return cost

    return timed_epochs(step, X.shape[0] // batch, repeats) + (0.0,)


def child_torch(X, batch, hidden, repeats):
    import torch

    torch.manual_seed(0)
    n_vis = X.shape[1]
    bound = 4 * np.sqrt(6.0 / (hidden + n_vis))
    W = ((torch.rand(n_vis, hidden) * 2 - 1) * bound).requires_grad_()
    b = torch.zeros(hidden, requires_grad=True)
    bp = torch.zeros(n_vis, requires_grad=True)
    Xt = torch.from_numpy(X)
    opt = torch.optim.SGD([W, b, bp], lr=LR)

    def step(i):
        x = Xt[i * batch:(i + 1) * batch]
        tx = x * (torch.rand_like(x) >= LEVEL)
        h = torch.sigmoid(tx @ W + b)
        a = h @ W.T + bp
        cost = (torch.nn.functional.softplus(a) - x * a).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        cost.backward()
        opt.step()
        return cost.item()

    return timed_epochs(step, X.shape[0] // batch, repeats) + (0.0,)


def child_library(X, batch, hidden, repeats, mode):
    sys.path.insert(0, str(ROOT))
    from autoencoders_tutorial.engine import pt, pytensor  # the library's engine set-up first
    from autoencoders_tutorial.graph import minibatch_function
    from dA import dA

    train_x = pytensor.shared(X, borrow=True)
    x = pt.matrix("x", dtype="float32")
    da = dA(np.random.default_rng(123), input=x, n_visible=X.shape[1], n_hidden=hidden)
    cost, updates = da.get_cost_updates(LEVEL, LR)
    t0 = time.perf_counter()
    step = minibatch_function([(x, train_x)], cost, batch, updates=updates, mode=mode)
    compile_s = time.perf_counter() - t0
    epoch, warm = timed_epochs(step, X.shape[0] // batch, repeats)
    return epoch, warm, compile_s


def child_sda(X, batch, repeats, what):
    """One epoch of SdA pretraining per layer (codes precomputed or recomputed), or fine-tuning."""
    sys.path.insert(0, str(ROOT))
    from autoencoders_tutorial.datasets import shared_dataset
    from autoencoders_tutorial.engine import pytensor
    from SdA import SdA

    y = np.random.default_rng(0).integers(0, 10, X.shape[0])
    sda = SdA(np.random.default_rng(89677), n_ins=X.shape[1], hidden_layers_sizes=(1000, 1000, 1000), n_outs=10)
    train_x = pytensor.shared(X, borrow=True)
    n = X.shape[0] // batch
    out = {}
    t0 = time.perf_counter()
    if what == "finetune":
        data = [shared_dataset((X, y))] * 3
        train_fn, _, _ = sda.build_finetune_functions(data, batch, 0.1)
        compile_s = time.perf_counter() - t0
        epoch, warm = timed_epochs(train_fn, n, repeats)
        return {"finetune": (epoch, warm, compile_s)}
    fns = sda.pretraining_functions(train_x, batch, precompute_codes=(what == "precomputed"))
    compile_s = time.perf_counter() - t0
    for k, fn in enumerate(fns):
        t0 = time.perf_counter()
        if fn.codes is not None:
            fn.codes.ensure()  # the once-per-layer pass, counted in the layer's time below
        prep = time.perf_counter() - t0
        epoch, warm = timed_epochs(lambda i, fn=fn: fn(i, lr=0.001), n, repeats)
        out[f"layer{k}"] = (epoch + prep, warm, compile_s if k == 0 else 0.0)
    return out


def run_child(args):
    X, _ = load_rows(args.rows)
    kind = args.child
    if kind == "numpy":
        res = {"": child_numpy(X, args.batch, args.hidden, args.repeats)}
    elif kind == "torch":
        res = {"": child_torch(X, args.batch, args.hidden, args.repeats)}
    elif kind.startswith("sda-"):
        res = child_sda(X, args.batch, args.repeats, kind[4:])
    else:
        res = {"": child_library(X, args.batch, args.hidden, args.repeats, None if kind == "default" else kind)}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({k: {"epoch_s": v[0], "warmup_s": v[1], "compile_s": v[2], "peak_mb": peak_mb,
                          "rows": X.shape[0]} for k, v in res.items()}))


def matmul_gflops(n=2048, reps=5, trials=5):
    """Best of ``trials`` large float32 matmul rates: the machine's capability, not its noise."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(reps):
            a @ a
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def spawn(kind, args, env_extra=None, rows=None, batch=None, hidden=None):
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, __file__, "--child", kind, "--rows", str(rows or args.rows), "--repeats", str(args.repeats),
           "--batch", str(batch or args.batch), "--hidden", str(hidden or args.hidden)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:100]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--rows", type=int, default=50000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--hidden", type=int, default=500)
    p.add_argument("--quick", action="store_true", help="10,000 rows, 1 repeat")
    p.add_argument("--sda", action="store_true", help="also time SdA pretraining and fine-tuning epochs")
    p.add_argument("--jax-devices", action="store_true",
                   help="only NumPy and JAX: JAX on its default device (a GPU if present) and on the CPU")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.rows, args.repeats = 10000, 1
    if args.child:
        return run_child(args)

    _, source = load_rows(10)
    gflops = matmul_gflops()
    try:
        import jax
        has_jax = True
    except ImportError:
        has_jax = False
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
    blas_off = {"PYTENSOR_FLAGS": "mode=CVM,blas__ldflags=,floatX=float32"}
    one_thread = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    slow_rows = min(args.rows, 5000)
    sys.path.insert(0, str(ROOT))
    from autoencoders_tutorial.engine import ENGINE, compile_mode

    plan = [
        ("numpy (hand-written, in this file)", "numpy", {}, {}),
        (f"library default ({compile_mode(None) or ENGINE.get('default')})", "default", {}, {}),
        ("C + OpenBLAS (CVM), 2 threads", "CVM", {}, {}),
        ("C + OpenBLAS (CVM), 1 BLAS thread", "CVM", one_thread, {}),
        ("NUMBA mode", "NUMBA", {}, {}),
        ("C without BLAS (plain pip install)", "CVM", blas_off, {"rows": slow_rows}),
    ]
    if has_jax:
        plan.append(("JAX mode (CPU)", "JAX", {"JAX_PLATFORMS": "cpu"}, {}))
    if args.jax_devices:
        import jax

        dev = jax.devices()[0]
        plan = [plan[0], (f"JAX mode on {dev.platform} ({dev.device_kind})", "JAX", {}, {}),
                ("JAX mode on cpu", "JAX", {"JAX_PLATFORMS": "cpu"}, {}),
                ("numpy, minibatch 128", "numpy", {}, {"batch": 128}),
                (f"JAX mode on {dev.platform}, minibatch 128", "JAX", {}, {"batch": 128})]
    if has_torch:
        plan.append(("PyTorch eager (CPU)", "torch", {}, {}))
    plan += [] if args.jax_devices else [
        ("numpy, minibatch 128", "numpy", {}, {"batch": 128}),
        ("library default, minibatch 128", "default", {}, {"batch": 128}),
        ("numpy, 1000 hidden", "numpy", {}, {"hidden": 1000}),
        ("library default, 1000 hidden", "default", {}, {"hidden": 1000}),
    ]
    print(f"data: {source}, {args.rows} rows, minibatch {args.batch}, {args.hidden} hidden, float32, "
          f"{args.repeats} timed epoch(s) per row (median); {os.cpu_count()} cores")
    print(f"large float32 matmul (numpy): {gflops:.1f} GFLOP/s")
    header = (f"{'variant':46s} {'rows/s':>9s} {'x numpy':>8s} {'% floor':>8s} {'peak MB':>8s} {'compile s':>9s} "
              f"{'warm-up s':>9s}")
    print(header)
    print("-" * len(header))
    ref = {}
    for name, kind, env, kw in plan:
        r = spawn(kind, args, env, **kw)
        if "error" in r:
            print(f"{name:46s} failed: {r['error']}")
            continue
        r = r[""]
        rate = r["rows"] / r["epoch_s"]
        key = (kw.get("batch", args.batch), kw.get("hidden", args.hidden))
        if kind == "numpy":
            ref[key] = rate
        floor = gflops * 1e9 / flops_per_row(784, key[1])
        ratio = rate / ref[key] if key in ref else float("nan")
        print(f"{name:46s} {rate:9.0f} {ratio:8.2f} {100 * rate / floor:7.1f}% {r['peak_mb']:8.0f} "
              f"{r['compile_s']:9.2f} {r['warmup_s']:9.2f}")
    if args.sda:
        print("\nSdA, 784-1000-1000-1000, minibatch %d, one epoch (library default)" % args.batch)
        for kind, label in (("sda-recomputed", "pretrain, lower layers recomputed"),
                            ("sda-precomputed", "pretrain, codes precomputed"), ("sda-finetune", "fine-tune")):
            r = spawn(kind, args)
            if "error" in r:
                print(f"{label}: failed: {r['error']}")
                continue
            for part, v in r.items():
                print(f"  {label:36s} {part:8s} {v['epoch_s']:7.2f} s  {v['rows'] / v['epoch_s']:9.0f} rows/s  "
                      f"peak {v['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
