"""Learning curves from a run's ``metrics.jsonl``.

    python -m autoencoders_tutorial.plot dA_plots/metrics.jsonl

draws, for the last run in the file (``--run ID`` picks another; every record carries its
run's id), the mean training cost per epoch of each phase (each dA corruption level,
each SdA pretraining layer, fine-tuning) and, where the run validated, the validation and
test errors, and writes ``metrics.png`` beside the file (``--output`` elsewhere).
matplotlib is the ``sweep`` extra (``pip install -e ".[sweep]"``).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

from .errors import DataError, TutorialError


def read_metrics(path, run=None) -> tuple[str, list[dict]]:
    """``(run id, its records)`` from a metrics file: the last run, or ``run``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})") from None
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise DataError(f"{path} line {n} is not JSON; is it a metrics.jsonl?") from None
        if isinstance(rec, dict):
            records.append(rec)
    runs = list(dict.fromkeys(r.get("run") for r in records))
    if not runs:
        raise DataError(f"{path} holds no records")
    if run is None:
        run = runs[-1]
    elif run not in runs:
        raise DataError(f"{path} has no run {run!r}; its runs: {', '.join(map(str, runs))}")
    return run, [r for r in records if r.get("run") == run]


def plot_metrics(path, output=None, run=None, log=print) -> Path:
    """Draw the learning curves of one run of ``path``; returns the PNG's path."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TutorialError('plotting needs matplotlib: pip install -e ".[sweep]"') from None
    from .files import atomic_write_bytes

    run, records = read_metrics(path, run)
    costs, errors = defaultdict(list), defaultdict(list)
    for r in records:
        if "cost" in r and "epoch" in r:
            costs[r.get("phase", "train")].append((r["epoch"], r["cost"]))
        for kind in ("validation_error", "test_error"):
            if kind in r and "iter" in r:
                errors[kind].append((r["iter"], 100 * r[kind]))
    if not costs and not errors:
        raise DataError(f"{path}: run {run} has no epoch costs or errors to plot")
    panels = 1 + bool(errors)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 3.6), squeeze=False)
    ax = axes[0][0]
    for phase, pts in costs.items():
        ax.plot(*zip(*sorted(pts)), marker=".", label=phase)
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training cost")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if errors:
        ax = axes[0][1]
        for kind, pts in errors.items():
            ax.plot(*zip(*sorted(pts)), marker=".", linestyle="-" if kind == "validation_error" else "none",
                    label=kind.replace("_", " ") + (" (of the best model)" if kind == "test_error" else ""))
        ax.set_xlabel("minibatch iteration (fine-tuning)")
        ax.set_ylabel("error (%)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{Path(path).name}, run {run}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out = Path(output) if output is not None else Path(path).with_name("metrics.png")
    atomic_write_bytes(out, buf.getvalue())
    log(f"wrote {out} (run {run})")
    return out


def main(argv=None) -> int:
    from .cli import run_cli

    doc = (__doc__ or "").strip().splitlines()
    p = argparse.ArgumentParser(prog="python -m autoencoders_tutorial.plot", description=doc[0])
    p.add_argument("path", help="a metrics.jsonl written by a script")
    p.add_argument("--output", type=Path, default=None, help="the PNG (default: metrics.png beside the file)")
    p.add_argument("--run", default=None, help="which run of the file (default the last)")
    return run_cli(p, argv, plot_metrics)


if __name__ == "__main__":
    sys.exit(main())
