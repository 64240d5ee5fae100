"""Learning curves from a run's ``metrics.jsonl``.

    python -m autoencoders_tools.plot dA_plots/metrics.jsonl

draws, for the last run in the file (``--run ID`` picks another; every record carries its run's id), the
mean training cost per epoch of each phase (each dA corruption level, each SdA pretraining layer,
fine-tuning) and, where the run validated, the validation and test errors, and writes ``metrics.png``
beside the file (``--output`` elsewhere). matplotlib is the ``sweep`` extra (``pip install -e ".[sweep]"``).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections import defaultdict
from pathlib import Path

from autoencoders_tutorial.cli import command_parser, run_cli
from autoencoders_tutorial.errors import DataError, TutorialError
from autoencoders_tutorial.files import atomic_write_bytes
from autoencoders_tutorial.userfiles import read_bytes


#: The metrics format: each field a record may have, and what its value must be.
_FIELDS = {"run": "text", "phase": "text", "epoch": "whole", "iter": "whole", "cost": "number",
           "validation_error": "number", "test_error": "number"}
#: The most phases drawn (each a curve): more are named in a note and left out.
MAX_CURVES = 20


def _field_problem(rec: dict) -> str | None:
    """Why a parsed line is not a metrics record the plot can use, or None."""
    if not isinstance(rec, dict):
        return f"a {type(rec).__name__}, not a record"
    if not isinstance(rec.get("run"), str):
        return f"run is {rec.get('run')!r}, not a run id"
    for name, kind in _FIELDS.items():
        if name not in rec:
            continue
        v = rec[name]
        if kind == "text" and not isinstance(v, str):
            return f"{name} is {v!r:.40}, not text"
        if kind == "whole" and (isinstance(v, bool) or not isinstance(v, int) or abs(v) > 2**53):
            return f"{name} is {v!r:.40}, not a whole number"
        if kind == "number" and (isinstance(v, bool) or not isinstance(v, (int, float)) or not abs(v) <= 1e300):
            return f"{name} is {v!r:.40}, not a finite number"


def read_metrics(path, run=None, log=print) -> tuple[str, list[dict]]:
    """``(run id, its records)`` from a metrics file: the last run, or ``run``. A line that is not a metrics
    record (not JSON, or a field of the wrong kind) is skipped; one line says how many were and why the first was."""
    path = Path(path)
    try:
        lines = read_bytes(path, "metrics file").decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc})") from None
    records, bad = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            bad.append(f"line {n} is not JSON")
            continue
        problem = _field_problem(rec)
        if problem is None:
            records.append(rec)
        else:
            bad.append(f"line {n}: {problem}")
    if bad and records:
        log(f"warning: skipped {len(bad)} line(s) of {path} that are not metrics records (first: {bad[0]})")
    runs = list(dict.fromkeys(r.get("run") for r in records))
    if not runs:
        raise DataError(f"{path} holds no metrics records" + (f" ({bad[0]}); is it a metrics.jsonl?" if bad else ""))
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
        raise TutorialError("plotting needs matplotlib: pip install matplotlib (in the sweep extra)") from None

    out = Path(output) if output is not None else Path(path).with_name("metrics.png")
    if out.exists() and not out.is_file():  # renaming over /dev/null or a FIFO would replace it
        raise TutorialError(f"output {out} exists and is not a regular file; give the PNG's file name")
    run, records = read_metrics(path, run, log)
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
    if len(costs) > MAX_CURVES:
        log(f"note: run {run} has {len(costs)} phases; drawing the first {MAX_CURVES}")
    for phase, pts in list(costs.items())[:MAX_CURVES]:
        ax.plot(*zip(*sorted(pts)), marker=".", label=str(phase).replace("$", r"\$"))  # a name is text, not TeX
    ax.set(xlabel="epoch", ylabel="mean training cost")
    if errors:
        ax = axes[0][1]
        for kind, pts in errors.items():
            ax.plot(*zip(*sorted(pts)), marker=".", linestyle="-" if kind == "validation_error" else "none",
                    label=kind.replace("_", " ") + (" (of the best model)" if kind == "test_error" else ""))
        ax.set(xlabel="minibatch iteration (fine-tuning)", ylabel="error (%)")
    for ax in axes[0]:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{Path(path).name}, run {run}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(out, buf.getvalue())
    log(f"wrote {out} (run {run})")
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per keyword argument of ``plot_metrics`` (the docs render it)."""
    p = command_parser("autoencoders-plot", "autoencoders_tools.plot", (__doc__ or "").strip().splitlines()[0])
    p.add_argument("path", help="a metrics.jsonl written by a script")
    p.add_argument("--output", type=Path, default=None, help="the PNG (default: metrics.png beside the file)")
    p.add_argument("--run", default=None, help="which run of the file (default the last)")
    return p


def main(argv=None) -> int:
    return run_cli(build_parser(), argv, plot_metrics)


if __name__ == "__main__":
    sys.exit(main())
