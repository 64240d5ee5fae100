"""``results-table``: a table rendered from a result file in ``docs/results/``, never typed by hand.

A result file is JSON written by the command that measured it::

    {"title": "...", "command": "python bench/bench.py ...", "machine": "...", "date": "2026-11-30",
     "columns": ["variant", "rows/s"], "rows": [["NumPy", 9576], ...], "notes": "optional sentence"}

In a page (MyST)::

    ```{results-table} results/dA_bench.json
    ```

renders the rows as a table whose caption says what ran, where and when. Numbers are shown as
written in the file (floats with the digits the file keeps, integers with thousands separators).
Two options show part of a file: ``:rows:`` the rows whose first cell is one of the labels given,
``:columns:`` the columns named, each list separated by ``|`` (a label the file lacks is an error,
so a page cannot quietly lose a row when its file is measured again)::

    ```{results-table} results/dA_bench.json
    :rows: NumPy | NUMBA mode (step)
    :columns: variant | rows/s
    ```
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

REQUIRED = ("title", "command", "machine", "date", "columns", "rows")


def _cell(value) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def _labels(text) -> list[str]:
    return [label.strip() for label in text.split("|") if label.strip()]


def select(data: dict, rows=None, columns=None) -> dict:
    """``data`` with only the rows whose first cell is in ``rows`` and the ``columns`` named (None: all),
    in the order given; a label the file lacks is a ValueError."""
    if columns is not None:
        missing = [c for c in columns if c not in data["columns"]]
        if missing:
            raise ValueError(f"no column {', '.join(map(repr, missing))}; the columns are {data['columns']}")
        keep = [data["columns"].index(c) for c in columns]
        data = dict(data, columns=list(columns), rows=[[row[i] for i in keep] for row in data["rows"]])
    if rows is not None:
        by_label = {str(row[0]): row for row in data["rows"]}
        missing = [r for r in rows if r not in by_label]
        if missing:
            raise ValueError(f"no row {', '.join(map(repr, missing))}")
        data = dict(data, rows=[by_label[r] for r in rows])
    return data


def load_result(path: Path) -> dict:
    """The result file at ``path``, checked: every required field, and rows as wide as the columns."""
    data = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{path}: result file lacks {', '.join(missing)}")
    width = len(data["columns"])
    for i, row in enumerate(data["rows"]):
        if len(row) != width:
            raise ValueError(f"{path}: row {i} has {len(row)} cells, the columns are {width}")
    return data


class ResultsTable(Directive):
    required_arguments = 1
    option_spec = {"class": directives.class_option, "rows": _labels, "columns": _labels}

    def run(self):
        env = self.state.document.settings.env
        rel, path = env.relfn2path(self.arguments[0])
        env.note_dependency(rel)
        try:
            data = select(load_result(Path(path)), self.options.get("rows"), self.options.get("columns"))
        except (OSError, ValueError) as exc:
            raise self.error(f"results-table: {exc}")
        table = nodes.table(classes=["results-table"])
        title = nodes.title(text=data["title"])
        table += title
        group = nodes.tgroup(cols=len(data["columns"]))
        table += group
        for _ in data["columns"]:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        group += head
        head += self._row(data["columns"])
        body = nodes.tbody()
        group += body
        for row in data["rows"]:
            body += self._row([_cell(v) for v in row])
        caption = nodes.paragraph(classes=["results-source"])
        caption += nodes.Text(f"Measured {data['date']} on {data['machine']}: ")
        caption += nodes.literal(text=data["command"])
        if data.get("notes"):
            caption += nodes.Text(". " + data["notes"])
        return [table, caption]

    @staticmethod
    def _row(cells):
        row = nodes.row()
        for text in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=str(text))
            row += entry
        return row


def setup(app):
    app.add_directive("results-table", ResultsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
