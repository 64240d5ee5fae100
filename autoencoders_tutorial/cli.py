"""The command line every script shares: one parser of the common flags, one error handler."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .datasets import data_dir
from .engine import ENGINE, MODES
from .errors import TutorialError


def base_parser(module_doc: str, epilog: str, **defaults) -> argparse.ArgumentParser:
    """The options every script shares, declared once; ``defaults`` are the tutorial's.

    >>> p = base_parser("A demo.", "", epochs=15, learning_rate=0.1, batch_size=20, output_dir="out")
    >>> p.parse_args(["--epochs", "2"]).epochs
    2
    """
    doc = (module_doc or "").strip().splitlines()
    p = argparse.ArgumentParser(
        description=doc[0] if doc else None,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--dataset", default=defaults.get("dataset"),
                   help="mnist | fashion-mnist | digits | synthetic | PATH (.pkl.gz or IDX folder). "
                        "Default: MNIST if present or downloadable, else digits")
    p.add_argument("--data-dir", default=None, help=f"where datasets are found and cached (default {data_dir()})")
    p.add_argument("--epochs", type=int, default=defaults["epochs"], help="training epochs (default %(default)s)")
    p.add_argument("--learning-rate", type=float, default=defaults["learning_rate"],
                   help="SGD learning rate (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=defaults["batch_size"], help="minibatch size (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.get("seed", 123), help="random seed (default %(default)s)")
    if "patience" in defaults:
        p.add_argument("--patience", type=int, default=defaults["patience"],
                       help="early-stopping patience in minibatch iterations (default %(default)s)")
    p.add_argument("--output-dir", default=defaults["output_dir"], help="where outputs go (default %(default)s)")
    p.add_argument("--precision", choices=("float32", "float64"), default="float32",
                   help="floating-point precision (default float32, the tutorial's advice for speed)")
    p.add_argument("--mode", choices=MODES, default="default",
                   help="PyTensor mode; 'default' is the library's measured choice (%s)" % ENGINE.get("backend", "?"))
    return p


def run_cli(main_body: Callable[[], int]) -> int:
    """Run a script body, turning user-fixable errors into one line and exit code 2.

    The engine's note (what to install for full speed), if any, is printed first.
    """
    if ENGINE.get("note"):
        print(ENGINE["note"], file=sys.stderr)
    try:
        return main_body()
    except TutorialError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
