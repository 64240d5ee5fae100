"""The command line every script shares: one parser of the common flags, one error handler."""

from __future__ import annotations

import argparse
import math
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from .datasets import data_dir
from .engine import ENGINE, MODES
from .errors import CORRUPTIONS, TutorialError
from .paths import CPU_BLOCK, NOISE_SOURCES, PATHS
from .runs import RunInterrupted


MAX_SEED = 2**32 - 1  # numpy.random.RandomState's range


def _number(kind, lo=None, hi=None, lo_open=False, hi_open=False):
    """An argparse ``type``: ``kind`` (int or float), finite, in [lo, hi] (``*_open``: excluded)."""
    noun = "an integer" if kind is int else "a number"
    interval = (f"{'(' if lo_open else '['}{'-inf' if lo is None else lo}, "
                f"{'inf' if hi is None else hi}{')' if hi_open or hi is None else ']'}")

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        low = lo is not None and (value <= lo if lo_open else value < lo)
        high = hi is not None and (value >= hi if hi_open else value > hi)
        if low or high or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {noun} in {interval}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


#: Sizes and counts (epochs, batch size, hidden units, patience, labels): integers >= 1.
positive_int = _number(int, 1)
#: Counts that may be zero (pretraining epochs).
nonnegative_int = _number(int, 0)
#: Learning rates: finite numbers > 0.
positive_float = _number(float, 0, lo_open=True)
#: Penalty weights and corruption levels (whose range per kind of noise the run checks): finite numbers >= 0.
nonnegative_float = _number(float, 0)
#: Fractions strictly between 0 and 1 (a sparsity target).
open_unit_float = _number(float, 0, 1, lo_open=True, hi_open=True)
#: Seeds: what numpy's RandomState takes.
seed_int = _number(int, 0, MAX_SEED)


def base_parser(module_doc: str, epilog: str, *, epochs, learning_rate, batch_size, seed, output_dir, patience=None,
                epochs_kw="n_epochs", learning_rate_kw="learning_rate", learning_rate_default=None,
                epochs_help="training epochs") -> argparse.ArgumentParser:
    """The options every script shares, declared once, with the tutorial's defaults.

    Every flag's ``dest`` is the keyword argument of the script's ``run_*`` it maps onto (``--epochs`` is
    ``epochs_kw``, ``--learning-rate`` ``learning_rate_kw``), so :func:`run_cli` can call
    ``run_*(**vars(args))`` and name flags in its errors. ``learning_rate_default``: the help text's default
    when it is not one number.

    >>> p = base_parser("A demo.", "", epochs=15, learning_rate=0.1, batch_size=20, seed=1, output_dir="out")
    >>> vars(p.parse_args(["--epochs", "2"]))["n_epochs"]
    2
    """
    doc = (module_doc or "").strip().splitlines()
    p = argparse.ArgumentParser(description=doc[0] if doc else None, epilog=epilog,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default=None,
                   help="mnist | fashion-mnist | digits | synthetic | PATH (.pkl.gz or IDX folder). "
                        "Default: MNIST if present or downloadable, else Fashion-MNIST if installed, else digits")
    try:
        default_data = data_dir()
    except TutorialError as exc:  # a bad AUTOENCODERS_DATA: said when a run needs the data folder
        default_data = f"unknown: {exc}"
    p.add_argument("--data-dir", default=None, help=f"where datasets are found and cached (default {default_data})")
    p.add_argument("--epochs", dest=epochs_kw, metavar="N", type=positive_int, default=epochs,
                   help=f"{epochs_help} (default %(default)s)")
    p.add_argument("--learning-rate", dest=learning_rate_kw, metavar="RATE", type=positive_float, default=learning_rate,
                   help=f"SGD learning rate (default {learning_rate_default or learning_rate})")
    p.add_argument("--batch-size", type=positive_int, default=batch_size, help="minibatch size (default %(default)s)")
    p.add_argument("--seed", type=seed_int, default=seed, help="random seed (default %(default)s)")
    if patience is not None:
        p.add_argument("--patience", type=positive_int, default=patience,
                       help="early-stopping patience in minibatch iterations (default %(default)s)")
    p.add_argument("--output-dir", type=Path, default=Path(output_dir), help="where outputs go (default %(default)s)")
    p.add_argument("--precision", choices=("float32", "float64"), default="float32",
                   help="floating-point precision (default float32, the tutorial's advice for speed)")
    p.add_argument("--mode", choices=MODES, default="default",
                   help="PyTensor mode; 'default' is the library's measured choice (%s)" % ENGINE.get("backend", "?"))
    p.add_argument("--train-path", choices=PATHS, default="auto",
                   help="step: one call per minibatch; block: many SGD steps per compiled call, data resident on the "
                        "device; auto: the measured choice (block on JAX, step on the C back end)")
    p.add_argument("--noise-source", choices=NOISE_SOURCES, default="auto",
                   help="block path only: draw the corruption noise on the host (the step path's noise, bit for bit) "
                        "or on the device; auto: device on a GPU, host on a CPU")
    p.add_argument("--block-size", type=positive_int, default=None, metavar="K",
                   help=f"block path only: at most K minibatches per call (default: {CPU_BLOCK} on a CPU, as many as "
                        "the loop runs to its next validation or the epoch's end on a GPU)")
    return p


def add_noise_flags(p: argparse.ArgumentParser) -> None:
    """The denoising criterion's flags (``dA.py`` and ``SdA.py``): the kind of corruption and the sparsity penalty."""
    p.add_argument("--corruption-type", choices=tuple(CORRUPTIONS), default="masking",
                   help="masking (the tutorial's: a fraction set to 0), gaussian (--corruption is the noise's standard "
                        "deviation) or salt_and_pepper (a fraction set to 0 or 1) (default %(default)s)")
    p.add_argument("--sparsity-target", type=open_unit_float, default=0.05,
                   help="target mean activation of each hidden unit, for --sparsity-weight (default %(default)s)")
    p.add_argument("--sparsity-weight", type=nonnegative_float, default=0.0,
                   help="weight of the KL sparsity penalty on the codes; 0 turns it off (default %(default)s)")


def add_predict_flag(p: argparse.ArgumentParser, model_file: str) -> None:
    """``--predict [FILE ...]`` of the scripts that train a classifier (``dest`` ``predict_only``: None when absent)."""
    p.add_argument("--predict", dest="predict_only", nargs="*", metavar="FILE", default=None,
                   help=f"instead of training, load OUTPUT_DIR/{model_file} and predict: alone, the first test rows of "
                        "--dataset; with FILEs, each image (any size: made grayscale, framed as the training images "
                        "were (28x28 models) or resized, and scaled to the model's input, as one line says), .npy or "
                        ".csv rows, or dataset, with its probability, and the accuracy and confusion matrix where "
                        "labels are known")
    p.add_argument("--no-frame", dest="frame", action="store_false",
                   help="with --predict: give images of a 28x28 model only resized, not framed as the training set's "
                        "were (the ink's box scaled and centred, as MNIST's digits and Fashion-MNIST's items)")


def train_or_predict(run: Callable[..., object], predict: Callable[..., object], model_file: str):
    """The ``run`` of :func:`run_cli` for a script with :func:`add_predict_flag`: ``run(**options)``, or with
    ``--predict`` (``predict_only``) ``predict(OUTPUT_DIR/model_file, ...)`` on the inputs given."""
    def train_or_predict(predict_only=None, frame=True, **options):
        if predict_only is not None:
            return predict(Path(options["output_dir"]) / model_file, dataset=options["dataset"],
                           data_dir=options["data_dir"], inputs=predict_only, frame=frame)
        return run(**options)

    return train_or_predict


def command_parser(command: str, module: str, doc: str, example: str = "", **kwargs) -> argparse.ArgumentParser:
    """The parser of a command installed as ``command`` and run as ``python -m module`` too: its usage names the
    way it was run, its description is ``doc`` as text (roles and double backquotes of the docs removed)."""
    prog = command if Path(sys.argv[0]).name == command else f"python -m {module}"
    text = re.sub(r":[a-z]+:`~?\.?([^`]+)`", r"\1", doc.strip()).replace("``", "").replace("::\n", ":\n")
    return argparse.ArgumentParser(prog=prog, description=text, formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog=f"example:\n  {prog} {example}" if example else None, **kwargs)


def flag_names(message: str, parser: argparse.ArgumentParser) -> str:
    """Rewrite the keyword arguments named in an error (``n_labels``) as the flags that set them (``--n-labels``);
    only names with an underscore: plain words (``dataset``, ``mode``) read the same either way.

    >>> p = base_parser("", "", epochs=1, learning_rate=0.1, batch_size=20, seed=1, output_dir="out")
    >>> flag_names("batch_size must be > 0, got 0", p)
    '--batch-size must be > 0, got 0'
    """
    for action in parser._actions:
        if action.option_strings and "_" in action.dest:
            message = re.sub(rf"\b{re.escape(action.dest)}\b", action.option_strings[0], message)
    return message


def given_options(parser: argparse.ArgumentParser, argv) -> set[str]:
    """The keyword arguments (``dest``) of the flags given in ``argv``, as against left at their defaults.

    >>> p = base_parser("", "", epochs=1, learning_rate=0.1, batch_size=20, seed=1, output_dir="out")
    >>> sorted(given_options(p, ["--epochs", "1", "--seed", "3"]))
    ['n_epochs', 'seed']
    """
    defaults = {action: action.default for action in parser._actions}
    try:
        for action in defaults:
            action.default = argparse.SUPPRESS  # a flag not given then leaves no attribute
        return set(vars(parser.parse_args(argv)))
    finally:
        for action, default in defaults.items():
            action.default = default


def run_cli(parser: argparse.ArgumentParser, argv, run: Callable[..., object], pass_given=False) -> int:
    """Parse ``argv`` and call ``run(**options)``: one keyword argument per flag (and, with ``pass_given``,
    ``given``: those given on the command line).

    A user-fixable error (:class:`TutorialError`) is one line naming the flags, exit status 2; Ctrl-C one
    line saying what was saved (:class:`RunInterrupted`), status 130. The engine's note (what to install for
    full speed), if any, is printed first, on stdout with the run's lines: stderr holds only the error.
    """
    options = vars(parser.parse_args(argv))
    if pass_given:
        options["given"] = given_options(parser, argv)
    if ENGINE.get("note"):
        print(ENGINE["note"], flush=True)
    try:
        run(**options)
    except TutorialError as exc:
        print(f"error: {flag_names(str(exc), parser)}", file=sys.stderr)
        return 2
    except RunInterrupted as exc:
        return _interrupted(flag_names(str(exc), parser))
    except KeyboardInterrupt:  # outside any run's folder: before it was opened
        return _interrupted("nothing was saved")
    return 0


def _interrupted(line: str) -> int:
    """Print the interrupted line with further Ctrl-C ignored (a second press must not cut it off); 130."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        old = None
    try:
        print(f"interrupted: {line}", file=sys.stderr, flush=True)
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    return 130
