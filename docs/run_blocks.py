"""Run every code block of the site's Markdown pages, as CI does: ``python docs/run_blocks.py [PAGE...]``.

Each page runs in order, in a fresh copy of the clone's tracked files (so the scripts and
``data/`` are where the pages say, and nothing the blocks write lands in your clone):

- ```` ```python ```` blocks execute in one namespace per page, like a notebook's cells;
- ```` ```pycon ```` blocks are doctests in that namespace: their printed output is compared;
- ```` ```bash ```` blocks run with ``bash -euo pipefail``, each in the page's working folder
  (``pip`` refuses to install there: an install block must be marked ``% skip:``).

Two MyST comment lines, written just above a block, change how it runs (neither is shown on the page;
in the top-level README.md, which is run too, they are HTML comments, ``<!-- quick: OLD -> NEW -->``):

- ``% quick: OLD -> NEW`` (any number of them): in quick mode (``AUTOENCODERS_DOCS=quick``, the
  default) the block runs with OLD replaced by NEW, e.g. ``% quick: --dataset fashion-mnist ->
  --dataset digits``; ``AUTOENCODERS_DOCS=full`` runs the block exactly as the page shows it.
- ``% skip: REASON``: not run, for a block that needs a GPU or a running cluster; the page itself
  must say so beside the block, with the date of the run its output was pasted from.

Blocks of other languages (``text``, ``toml``, ``console`` output) are shown, not run.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
RUN = {"python", "pycon", "bash"}
FENCE = re.compile(r"^(?P<fence>`{3,})\s*(?:\{code-block\}\s*)?(?P<lang>[\w-]*)[^\n]*$")


def pages(args: list[str]) -> list[Path]:
    if args:
        return [Path(a).resolve() for a in args]
    skip = {"_build", "auto_tutorials", "tutorials"}
    return [ROOT / "README.md"] + sorted(p for p in DOCS.rglob("*.md")
                                         if p.name != "README.md" and not skip & set(p.relative_to(DOCS).parts))


def blocks(page: Path):
    """(line, language, text, quick replacements, skip reason) of each fenced block of ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    out, i, notes = [], 0, []
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            note = re.fullmatch(r"<!--\s*((?:quick|skip):.*?)\s*-->", lines[i].strip())  # README's form
            if lines[i].startswith("% ") or note:
                notes.append("% " + note[1] if note else lines[i])
            elif any(n.startswith(("% quick:", "% skip:")) for n in notes):
                raise ValueError(f"{page}:{i + 1}: a '% quick:' or '% skip:' line must be right above a code block")
            else:
                notes = []
            i += 1
            continue
        fence, lang, start = m["fence"], m["lang"], i + 1
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            if not lines[i].startswith(":"):  # a code-block's options
                body.append(lines[i])
            i += 1
        i += 1
        quick = [tuple(s.strip() for s in n[len("% quick:"):].split("->", 1)) for n in notes if n.startswith("% quick:")]
        skip = next((n[len("% skip:"):].strip() for n in notes if n.startswith("% skip:")), None)
        notes = []
        if lang in RUN:
            out.append((start, lang, "\n".join(body) + "\n", quick, skip))
    return out


def run_page(page: Path, mode: str) -> list[str]:
    failures = []
    work = Path(tempfile.mkdtemp(prefix="docs-run-"))
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for name in filter(None, files.decode().split("\0")):
            src = ROOT / name
            if src.is_file():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, work / name)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(work), os.environ.get("PYTHONPATH", "")]),
                   MPLBACKEND="Agg", AUTOENCODERS_DOCS=mode,
                   PIP_REQUIRE_VIRTUALENV="true")  # a block must not install into the reader's environment
        namespace = {"__name__": "__main__"}
        old_cwd, old_path, old_env = os.getcwd(), list(sys.path), dict(os.environ)
        os.chdir(work)
        sys.path.insert(0, str(work))
        os.environ.update(env)
        try:
            for line, lang, text, quick, skip in blocks(page):
                where = f"{page.relative_to(ROOT)}:{line}"
                if skip:
                    print(f"  skip {where} ({skip})")
                    continue
                if mode == "quick":
                    for old, new in quick:
                        if old not in text:
                            failures.append(f"{where}: quick replacement {old!r} is not in the block")
                        text = text.replace(old, new)
                t = time.perf_counter()
                try:
                    if lang == "bash":
                        subprocess.run(["bash", "-euo", "pipefail", "-c", text], check=True, env=env, cwd=work)
                    elif lang == "python":
                        exec(compile(text, where, "exec"), namespace)
                    else:
                        test = doctest.DocTestParser().get_doctest(text, namespace, where, where, 0)
                        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
                        runner.run(test, clear_globs=False)
                        namespace.update(test.globs)  # doctest ran on a copy: later blocks see its names
                        if runner.failures:
                            raise AssertionError(f"{runner.failures} doctest example(s) failed")
                except BaseException as exc:  # noqa: BLE001  (a failing block is reported, the rest still run)
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    failures.append(f"{where}: {type(exc).__name__}: {exc}")
                    print(f"  FAIL {where} ({type(exc).__name__}: {exc})")
                    break  # later blocks of the page build on this one
                print(f"  ok   {where} ({lang}, {time.perf_counter() - t:.1f}s)")
        finally:
            os.chdir(old_cwd)
            sys.path[:] = old_path
            os.environ.clear()
            os.environ.update(old_env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return failures


def main(argv: list[str]) -> int:
    mode = os.environ.get("AUTOENCODERS_DOCS", "quick")
    if mode not in ("quick", "full"):
        print(f"error: AUTOENCODERS_DOCS must be quick or full, got {mode!r}", file=sys.stderr)
        return 2
    if argv[:1] == ["--one"]:  # one page, in this process
        page = Path(argv[1]).resolve()
        print(f"{page.relative_to(ROOT)}", flush=True)
        failures = run_page(page, mode)
        for f in failures:
            print(f"FAILED {f}", file=sys.stderr)
        return 1 if failures else 0
    # each page in a process of its own: the engine, imports and namespace start fresh, as for a reader
    failed = [page for page in pages(argv)
              if subprocess.run([sys.executable, __file__, "--one", str(page)]).returncode != 0]
    if failed:
        print(f"{len(failed)} page(s) failed: {', '.join(str(p.relative_to(ROOT)) for p in failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
