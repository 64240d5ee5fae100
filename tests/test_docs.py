"""The documentation's own tools: the code-block runner's parsing, and the result-file reader."""

import importlib.util
import json

import pytest

from helpers import ROOT


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


run_blocks = _load("run_blocks", ROOT / "docs" / "run_blocks.py")


def test_blocks_are_read_with_their_quick_and_skip_lines(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# t\n\n% quick: --epochs 15 -> --epochs 1\n% quick: a -> b\n```bash\npython dA.py --epochs 15\n```\n\n"
                    "```text\nnot run\n```\n\n% skip: needs a GPU\n```{code-block} python\n:caption: c\nx = 1\n```\n"
                    "<!-- quick: x -> y -->\n```pycon\n>>> 1\n1\n```\n")
    got = run_blocks.blocks(page)
    assert [(line, lang) for line, lang, *_ in got] == [(5, "bash"), (14, "python"), (19, "pycon")]  # fence lines
    assert got[0][2] == "python dA.py --epochs 15\n" and got[0][3] == [("--epochs 15", "--epochs 1"), ("a", "b")]
    assert got[1][2] == "x = 1\n" and got[1][4] == "needs a GPU"   # a code-block's options are not code
    assert got[2][3] == [("x", "y")]


def test_a_quick_line_away_from_a_block_is_refused(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("% quick: a -> b\n\ntext\n```bash\necho\n```\n")
    with pytest.raises(ValueError, match="right above a code block"):
        run_blocks.blocks(page)


def test_every_page_of_the_site_parses():
    for page in run_blocks.pages([]):
        run_blocks.blocks(page)


def test_result_files_are_checked(tmp_path):
    pytest.importorskip("docutils")
    results = _load("results_ext", ROOT / "docs" / "_ext" / "results.py")
    good = {"title": "t", "command": "c", "machine": "m", "date": "d", "columns": ["a", "b"], "rows": [[1, 2.5]]}
    (tmp_path / "g.json").write_text(json.dumps(good))
    assert results.load_result(tmp_path / "g.json")["rows"] == [[1, 2.5]]
    (tmp_path / "w.json").write_text(json.dumps(dict(good, rows=[[1]])))
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        results.load_result(tmp_path / "w.json")
    (tmp_path / "m.json").write_text(json.dumps({"title": "t"}))
    with pytest.raises(ValueError, match="lacks command"):
        results.load_result(tmp_path / "m.json")
    for path in sorted((ROOT / "docs" / "results").glob("*.json")):
        results.load_result(path)
