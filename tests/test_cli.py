"""cli: the shared flags, one-line errors with exit status 2, the engine's note."""

import sys
from pathlib import Path

import pytest

from autoencoders_tutorial import cli, engine
from autoencoders_tutorial.errors import DataError


def _parser(**extra):
    return cli.base_parser("First line.\n\nMore.", "example: x", epochs=15, learning_rate=0.1, batch_size=20, seed=123,
                           output_dir="out", **extra)


def test_base_parser_defaults_and_flags():
    args = vars(_parser().parse_args([]))
    assert (args["n_epochs"], args["learning_rate"], args["batch_size"], args["seed"]) == (15, 0.1, 20, 123)
    assert args["output_dir"] == Path("out") and args["mode"] == "default" and args["precision"] == "float32"
    assert args["dataset"] is None and "patience" not in args
    assert vars(_parser(patience=50).parse_args(["--patience", "7"]))["patience"] == 7
    named = vars(_parser(epochs_kw="training_epochs", learning_rate_kw="finetune_lr").parse_args(
        ["--epochs", "3", "--learning-rate", "0.5"]))
    assert named["training_epochs"] == 3 and named["finetune_lr"] == 0.5
    with pytest.raises(SystemExit):
        _parser().parse_args(["--mode", "GPU"])


def test_run_cli_calls_with_one_keyword_per_flag(capsys, monkeypatch):
    got = {}
    assert cli.run_cli(_parser(), ["--epochs", "2", "--batch-size", "5"], lambda **kw: got.update(kw)) == 0
    assert got["n_epochs"] == 2 and got["batch_size"] == 5 and got["output_dir"] == Path("out")
    capsys.readouterr()
    monkeypatch.setitem(engine.ENGINE, "note", "note: install OpenBLAS")
    assert cli.run_cli(_parser(), [], lambda **kw: None) == 0
    assert capsys.readouterr().out == "note: install OpenBLAS\n"

    def fail(**kw):
        raise DataError("disk full")

    assert cli.run_cli(_parser(), [], fail) == 2  # the note stays out of the one-line error
    assert capsys.readouterr() == ("note: install OpenBLAS\n", "error: disk full\n")


def test_run_cli_one_line_errors_name_the_flags(capsys):
    def run(**kw):
        raise DataError("batch_size must be at most the n_epochs of the dataset; dataset x is corrupt")

    assert cli.run_cli(_parser(), [], run) == 2
    # keyword arguments become flags; plain words (dataset) stay as they are
    assert capsys.readouterr().err == "error: --batch-size must be at most the --epochs of the dataset; dataset x is corrupt\n"


def test_contradictory_path_options_are_refused(tmp_path, capsys):
    import dA

    out = ["--output-dir", str(tmp_path)]
    assert dA.main(["--dataset", "synthetic", "--train-path", "step", "--noise-source", "device", *out]) == 2
    assert capsys.readouterr().err.startswith("error: --noise-source is for the block path; --train-path step takes")
    assert dA.main(["--dataset", "synthetic", "--train-path", "step", "--block-size", "5", *out]) == 2
    assert "error: --block-size is for the block path" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["autoencoders_tools.sweep", "autoencoders_tools.plot", "autoencoders_tools.export"])
def test_a_commands_help_names_how_it_was_run_in_plain_text(module, monkeypatch):
    import importlib

    parser_of = importlib.import_module(module).build_parser
    command = "autoencoders-" + module.rsplit(".", 1)[1]
    monkeypatch.setattr(sys, "argv", [f"/venv/bin/{command}", "--help"])
    text = parser_of().format_help()
    assert text.startswith(f"usage: {command} ") and "``" not in text and ":class:" not in text
    monkeypatch.setattr(sys, "argv", [f"/src/{module.replace('.', '/')}.py", "--help"])  # python -m
    assert parser_of().format_usage().startswith(f"usage: python -m {module} ")
