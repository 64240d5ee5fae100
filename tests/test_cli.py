"""cli: the shared flags, one-line errors with exit status 2, the engine's note."""

import pytest

from autoencoders_tutorial import cli, engine
from autoencoders_tutorial.errors import DataError


def _parser(**extra):
    return cli.base_parser("First line.\n\nMore.", "example: x", epochs=15, learning_rate=0.1, batch_size=20,
                           output_dir="out", **extra)


def test_base_parser_defaults_and_flags():
    args = _parser().parse_args([])
    assert (args.epochs, args.learning_rate, args.batch_size, args.seed, args.output_dir) == (15, 0.1, 20, 123, "out")
    assert args.mode == "default" and args.precision == "float32" and args.dataset is None
    assert not hasattr(args, "patience")
    assert _parser(patience=50).parse_args(["--patience", "7"]).patience == 7
    with pytest.raises(SystemExit):
        _parser().parse_args(["--mode", "GPU"])


def test_run_cli_one_line_errors(capsys, monkeypatch):
    def body():
        raise DataError("file x is corrupt; download it again")

    assert cli.run_cli(body) == 2
    assert capsys.readouterr().err == "error: file x is corrupt; download it again\n"
    assert cli.run_cli(lambda: 0) == 0
    monkeypatch.setitem(engine.ENGINE, "note", "note: install OpenBLAS")
    assert cli.run_cli(lambda: 0) == 0
    assert capsys.readouterr().err == "note: install OpenBLAS\n"
