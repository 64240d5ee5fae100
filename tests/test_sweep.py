"""sweep: the grid file, the settings, a sequential sweep's files, and Dask against sequential."""

import contextlib
import csv
import json
import socket
import threading

import pytest

from autoencoders_tools import sweep
from autoencoders_tutorial.errors import DataError

GRID = """
[fixed]
hidden_layers_sizes = [6]
pretraining_epochs = 1
max_epochs = 3
batch_size = 10
random_state = 0
mode = "CVM"

[grid]
corruption_levels = [[0.1], [0.4]]
finetune_lr = [0.05, 0.2]
"""


def test_grid_file_and_settings(tmp_path):
    (tmp_path / "g.toml").write_text(GRID)
    fixed, grid = sweep.read_grid(tmp_path / "g.toml")
    todo = sweep.settings(fixed, grid)
    assert len(todo) == 4 and todo[0]["corruption_levels"] == [0.1] and todo[3]["finetune_lr"] == 0.2
    assert all(s["hidden_layers_sizes"] == [6] for s in todo)
    (tmp_path / "bad.toml").write_text("[grid]\nlearning_rat = [0.1]\n")
    with pytest.raises(DataError, match="'learning_rat' is not an SdAClassifier parameter"):
        sweep.read_grid(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text("[grid\n")
    with pytest.raises(DataError, match="is not valid TOML"):
        sweep.read_grid(tmp_path / "broken.toml")
    (tmp_path / "g.json").write_text(json.dumps({"grid": {"finetune_lr": []}}))
    with pytest.raises(DataError, match="must be a non-empty list"):
        sweep.read_grid(tmp_path / "g.json")


@pytest.mark.slow  # eight SdAClassifier fits
def test_sequential_sweep_writes_its_tables_and_plot(tmp_path, capsys):
    (tmp_path / "g.toml").write_text(GRID)
    rc = sweep.main(["--grid", str(tmp_path / "g.toml"), "--dataset", "synthetic", "--sequential",
                     "--output-dir", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0 and "[4/4]" in out and "best by validation" in out
    rows = list(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    jsonl = [json.loads(s) for s in open(tmp_path / "out" / "results.jsonl")]
    assert len(rows) == len(jsonl) == 4 and [r["validation_error"] for r in jsonl] == sorted(
        r["validation_error"] for r in jsonl)
    assert (tmp_path / "out" / "validation_error.png").read_bytes()[:4] == b"\x89PNG"
    fixed = sweep.read_grid(tmp_path / "g.toml")[0]
    one = sweep.fit_one(dict(fixed, corruption_levels=jsonl[0]["corruption_levels"],
                             finetune_lr=jsonl[0]["finetune_lr"]), "synthetic")
    assert one["test_error"] == jsonl[0]["test_error"]  # a setting's numbers do not depend on the sweep


@pytest.mark.slow
def test_dask_local_cluster_gives_the_sequential_results(tmp_path):
    (tmp_path / "g.toml").write_text(GRID)
    seq = sweep.run_sweep(tmp_path / "g.toml", "synthetic", tmp_path / "seq", sequential=True, log=lambda *_: None)
    par = sweep.run_sweep(tmp_path / "g.toml", "synthetic", tmp_path / "par", workers=2, log=lambda *_: None)
    key = lambda r: (json.dumps(r["corruption_levels"]), r["finetune_lr"])  # noqa: E731
    assert key(seq[0]) == key(par[0]), "the same best setting"
    by = {key(r): r for r in par}
    for r in seq:
        for k in ("validation_error", "test_error", "early_stopping_validation_error"):
            assert abs(r[k] - by[key(r)][k]) <= 1e-6, (key(r), k)


def test_without_dask_one_line_says_what_to_install(tmp_path, monkeypatch, capsys):
    import sys

    (tmp_path / "g.toml").write_text(GRID)
    monkeypatch.setitem(sys.modules, "dask", None)  # as if not installed
    rc = sweep.main(["--grid", str(tmp_path / "g.toml"), "--dataset", "synthetic", "--output-dir", str(tmp_path / "o")])
    assert rc == 2 and capsys.readouterr().err.strip() == (
        'error: the sweep needs Dask: pip install "dask[distributed]" matplotlib (the sweep extra)')


def test_the_whole_grid_is_checked_before_the_first_fit(tmp_path):
    for text, match in [('[grid]\nfinetune_lr = [0.1, -1]\n', r"setting 2 \(finetune_lr=-1\) is not valid: finetune_lr"),
                        ('[grid]\nhidden_layers_sizes = [[4], 5]\n', r"setting 2 \(hidden_layers_sizes=5\) is not valid"),
                        ('[grid]\ncorruption_levels = [[0.1], [2.0]]\nhidden_layers_sizes = [[4]]\n',
                         r"setting 2 .* is not valid: corruption_levels entries must be in \[0, 1\)"),
                        ("[grid]\n" + "\n".join(f"{k} = {list(range(1, 101))}" for k in
                                                ("max_epochs", "batch_size", "patience_epochs", "pretraining_epochs")),
                         "makes 100000000 settings, more than 10000")]:
        (tmp_path / "g.toml").write_text(text)
        with pytest.raises(DataError, match=match):
            sweep.read_grid(tmp_path / "g.toml")
    (tmp_path / "a.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="holds a list; it needs a \\[grid\\] table"):
        sweep.read_grid(tmp_path / "a.json")


def test_a_failed_fit_is_a_row_and_an_earlier_sweep_is_kept_aside(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("an earlier sweep's\n")
    (tmp_path / "g.toml").write_text('[fixed]\nhidden_layers_sizes = [4]\npretraining_epochs = 0\nmax_epochs = 1\n'
                                     'batch_size = 10\nrandom_state = 0\n[grid]\nfinetune_lr = [0.1, 1e30]\n')
    said = []
    results = sweep.run_sweep(tmp_path / "g.toml", "synthetic", out, sequential=True, log=said.append)
    assert [bool(r["error"]) for r in results] == [False, True] and "TrainingDiverged" in results[1]["error"]
    assert any("finetune_lr=1e+30: failed (TrainingDiverged" in line for line in said)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["finetune_lr"] for r in rows] == [0.1, 1e30]
    assert (out / "results.previous.jsonl").read_text() == "an earlier sweep's\n"


def test_a_bad_scheduler_address_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    (tmp_path / "g.toml").write_text('[grid]\nfinetune_lr = [0.1]\n')
    for address in ("foo", "tcp://[::1"):
        assert sweep.main(["--grid", str(tmp_path / "g.toml"), "--dataset", "synthetic", "--scheduler", address,
                           "--output-dir", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: cannot reach the Dask scheduler {address}") and "\n" not in err


@pytest.mark.parametrize("answer, words", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "it answers, but not as a Dask scheduler (its first bytes: b'HTTP/1.1'"),
    (None, "no Dask greeting within 1 s"),
])
def test_a_scheduler_that_is_not_dask_is_one_line(tmp_path, capsys, monkeypatch, answer, words):
    # Dask's own client reads a web server's first 8 bytes as a frame length and tries to allocate exabytes
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", 1)
    server = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"

    def serve():
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):  # the client may reset the connection
            if answer:
                conn.sendall(answer)
            conn.recv(1)  # until the client hangs up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    (tmp_path / "g.toml").write_text('[grid]\nfinetune_lr = [0.1]\n')
    assert sweep.main(["--grid", str(tmp_path / "g.toml"), "--dataset", "synthetic", "--scheduler", address,
                       "--output-dir", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot reach the Dask scheduler {address} ({words}") and "\n" not in err, err
    thread.join(5)
    server.close()


@pytest.mark.parametrize("how", ["raised", "held", "failed"])
def test_ctrl_c_while_the_dask_cluster_starts_is_one_line_closing_what_started(tmp_path, capsys, monkeypatch, how):
    import signal

    pytest.importorskip("distributed")
    closed = []

    class Started:
        shutdown_on_close = True

        def __init__(self, *args, **kwargs):
            if how == "raised":  # a Ctrl-C Dask let through (or a second one)
                raise KeyboardInterrupt
            signal.raise_signal(signal.SIGINT)  # held until the start ends
            if how == "failed":  # as Dask does when the Ctrl-C killed its starting workers
                raise RuntimeError("Nanny failed to start.")

        def close(self):
            closed.append(self)

    class Cluster(Started):
        pass

    class Client(Started):
        def __init__(self, cluster):
            pass

    monkeypatch.setattr("dask.distributed.LocalCluster", Cluster)
    monkeypatch.setattr("dask.distributed.Client", Client)
    (tmp_path / "g.toml").write_text(GRID)
    rc = sweep.main(["--grid", str(tmp_path / "g.toml"), "--dataset", "synthetic", "--output-dir", str(tmp_path / "o")])
    assert rc == 130 and capsys.readouterr().err == (
        "interrupted: while starting the Dask cluster; nothing was fitted\n")
    # closed: what started, a half-started cluster too, and that never again at exit
    assert [type(c).__name__ for c in closed] == (["Client", "Cluster"] if how == "held" else ["Cluster"])
    assert not closed[-1].shutdown_on_close and not (tmp_path / "o" / "results.csv").exists()


@pytest.mark.slow
def test_python_m_sweep_runs_on_an_existing_scheduler(tmp_path):
    """``python -m autoencoders_tools.sweep --scheduler`` on a cluster started with Dask's own
    commands: run as ``__main__``, the functions it ships could not be imported by the workers,
    and the sweep waited forever."""
    import shutil
    import subprocess
    import sys
    import time

    dask = shutil.which("dask") or pytest.skip("no dask command")
    (tmp_path / "g.toml").write_text(GRID.replace("finetune_lr = [0.05, 0.2]", "finetune_lr = [0.1]"))
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                               "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not info.exists() and time.time() < deadline:
            time.sleep(0.2)
        procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(info), "--nthreads", "1",
                                       "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        address = json.loads(info.read_text())["address"]
        p = subprocess.run([sys.executable, "-m", "autoencoders_tools.sweep", "--grid", str(tmp_path / "g.toml"),
                            "--dataset", "digits", "--scheduler", address, "--output-dir", str(tmp_path / "out")],
                           capture_output=True, text=True, timeout=180)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(timeout=30)
    assert p.returncode == 0, p.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "out" / "results.csv")))
    assert len(rows) == 2 and not any(r["error"] for r in rows)


def test_a_json_grid_with_a_key_given_twice_or_a_number_too_large_is_one_line(tmp_path):
    (tmp_path / "g.json").write_text('{"grid": {"finetune_lr": [0.1]}, "grid": {"finetune_lr": [0.2]}}')
    with pytest.raises(DataError, match="the key 'grid' is given twice"):
        sweep.read_grid(tmp_path / "g.json")
    (tmp_path / "h.json").write_text('{"grid": {"finetune_lr": [1' + "0" * 3000 + ']}}')
    with pytest.raises(DataError, match=r"setting 1 \(finetune_lr=1000") as info:
        sweep.read_grid(tmp_path / "h.json")
    assert len(str(info.value)) < 400
