"""plot: learning curves from a run's metrics.jsonl."""

import json

import pytest

from autoencoders_tutorial import plot
from autoencoders_tutorial.errors import DataError


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_the_last_run_is_drawn(tmp_path):
    recs = [{"run": "a", "phase": "dA0", "epoch": 0, "cost": 5.0},
            {"run": "b", "phase": "finetune", "epoch": 1, "cost": 1.0},
            {"run": "b", "phase": "finetune", "epoch": 1, "iter": 9, "validation_error": 0.2},
            {"run": "b", "phase": "finetune", "epoch": 1, "iter": 9, "test_error": 0.25}]
    path = _write(tmp_path / "metrics.jsonl", recs)
    assert plot.read_metrics(path) == ("b", recs[1:])
    assert plot.read_metrics(path, "a") == ("a", recs[:1])
    out = plot.plot_metrics(path, log=lambda *_: None)
    assert out == tmp_path / "metrics.png" and out.read_bytes()[:4] == b"\x89PNG"


def test_bad_files_are_one_line(tmp_path, capsys):
    (tmp_path / "x.jsonl").write_text('{"run": "a"}\nnot json\n')
    with pytest.raises(DataError, match="line 2 is not JSON"):
        plot.read_metrics(tmp_path / "x.jsonl")
    with pytest.raises(DataError, match="has no run 'zz'"):
        plot.read_metrics(_write(tmp_path / "m.jsonl", [{"run": "a", "epoch": 0, "cost": 1}]), "zz")
    assert plot.main([str(tmp_path / "none.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_real_run_plots(tmp_path):
    from dA import run_dA

    run_dA(dataset="synthetic", training_epochs=2, n_hidden=4, output_dir=tmp_path, log=lambda *_: None)
    assert plot.main([str(tmp_path / "metrics.jsonl"), "--output", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 1000
