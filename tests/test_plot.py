"""plot: learning curves from a run's metrics.jsonl."""

import json
import os

import pytest

from autoencoders_tools import plot
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
    (tmp_path / "x.jsonl").write_text("not json\n[1, 2]\n")
    with pytest.raises(DataError, match=r"holds no metrics records \(line 1 is not JSON\)"):
        plot.read_metrics(tmp_path / "x.jsonl")
    with pytest.raises(DataError, match="has no run 'zz'"):
        plot.read_metrics(_write(tmp_path / "m.jsonl", [{"run": "a", "epoch": 0, "cost": 1}]), "zz")
    assert plot.main([str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl not found" in capsys.readouterr().err


def test_a_real_run_plots(tmp_path):
    from dA import run_dA

    run_dA(dataset="synthetic", training_epochs=2, n_hidden=4, output_dir=tmp_path, log=lambda *_: None)
    assert plot.main([str(tmp_path / "metrics.jsonl"), "--output", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_a_bad_line_is_skipped_with_one_counted_warning_never_plotted(tmp_path):
    good = [{"run": "a", "phase": "dA0", "epoch": e, "cost": 5.0 - e} for e in range(3)]
    bad = [{"run": [1], "epoch": 0, "cost": 1.0}, {"run": "a", "phase": [1], "epoch": 0, "cost": 1.0},
           {"run": "a", "epoch": "3", "cost": 1.0}, {"run": "a", "epoch": 10**400, "cost": 1.0},
           {"run": "a", "epoch": 1, "cost": "abc"}, {"run": "a", "epoch": 1, "cost": float("nan")}]
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in good + bad) + "[" * 100_000 + "\n")
    said = []
    assert plot.read_metrics(path, log=said.append) == ("a", good)
    assert said == [f"warning: skipped 7 line(s) of {path} that are not metrics records (first: line 4: run is [1], "
                    "not a run id)"]
    assert plot.plot_metrics(path, log=said.append).read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(plot.TutorialError, match="exists and is not a regular file; give the PNG's file name"):
        plot.plot_metrics(path, output=tmp_path, log=said.append)


def test_phase_names_are_text_and_many_phases_are_capped(tmp_path):
    pytest.importorskip("matplotlib")
    records = [{"run": "a", "phase": "$\\undefinedcmd{x}$", "epoch": e, "cost": 1.0 / (e + 1)} for e in range(3)]
    records += [{"run": "a", "phase": f"p{i}", "epoch": 0, "cost": 1.0} for i in range(plot.MAX_CURVES + 5)]
    said = []
    out = plot.plot_metrics(_write(tmp_path / "m.jsonl", records), log=said.append)  # no TeX parsing error
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert any(f"has {plot.MAX_CURVES + 6} phases; drawing the first {plot.MAX_CURVES}" in line for line in said)
    if os.name == "posix":
        os.mkfifo(tmp_path / "fifo.png")
        with pytest.raises(plot.TutorialError, match="exists and is not a regular file"):
            plot.plot_metrics(tmp_path / "m.jsonl", output=tmp_path / "fifo.png")
        assert (tmp_path / "fifo.png").is_fifo()  # not replaced
