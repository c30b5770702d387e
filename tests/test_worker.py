"""The local worker that keeps compiled models between runs, and the cache folder it lives in.

One worker, started by the first run of this file's scenario, serves the module (compiling a
model costs 15 to 40 s in a new process); in-process runs go through the command line in this
test process, which compiles the same structure once. Every test has its own cache folder, and
every worker a test starts is stopped and checked gone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import REPO

from forecast import cache_dir
from forecast.cli import cli
from forecast.worker import client, protocol, server

SCENARIO = """\
version: 1
title: worker check
outcomes:
  talks: {prior: {beta: [2, 2]}}
evidence:
  - {outcome: talks, successes: 3, trials: 5}
"""
SMALL = ("--draws", "200", "--tune", "200", "--format", "json", "--seed", "5")
FIRST = ("run", "check.yaml", "--chains", "2", *SMALL)
# One chain fails the diagnostics (R-hat needs two), so --strict exits with 4.
STRICT = ("run", "check.yaml", "--chains", "1", *SMALL, "--strict", "--quiet")
PATHS = ["reports/check/summary.json", "reports/check/posterior.nc"]
# What differs between two runs of the same file and seed, worker or not.
VARYING = ("created", "command")
VARYING_SAMPLER = ("seconds", "compile_seconds", "compiled_model_reused")


def environment(cache: Path, *, idle: float = 60) -> dict[str, str]:
    """This process's environment with the worker allowed and the cache in `cache`."""
    variables = dict(os.environ, FORECAST_CACHE_DIR=str(cache), FORECAST_WORKER_IDLE=str(idle))
    variables.pop("FORECAST_NO_WORKER", None)
    return variables


def forecast(*arguments: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "forecast", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def alive(pid: int) -> bool:
    """Whether the process runs; a zombie waiting for its parent counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state != "Z"


def gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def stop_for_good(pid: int) -> None:
    """Teardown: stop a worker a test started, whatever state it is in, and check it is gone."""
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    assert gone(pid), f"worker {pid} is still running"


def worker_pid(cache: Path) -> int:
    return json.loads((cache / "worker" / "pid").read_text(encoding="utf-8"))["pid"]


def summary(folder: Path) -> dict:
    data = json.loads((folder / "reports" / "check" / "summary.json").read_text(encoding="utf-8"))
    for key in VARYING:
        data.pop(key)
    for key in VARYING_SAMPLER:
        data["sampler"].pop(key, None)
    return data


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: ")]


def use_cache(monkeypatch, cache: Path, *, idle: float = 60) -> None:
    """Let this test process's own command line and client use a worker in `cache`."""
    monkeypatch.delenv("FORECAST_NO_WORKER", raising=False)
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(cache))
    monkeypatch.setenv("FORECAST_WORKER_IDLE", str(idle))


class FakeWorker:
    """Listens on the worker's socket and answers hello with a given fingerprint; then answers a
    run request with `answer`, or hangs up on it (a worker dying mid-run); or obeys stop."""

    def __init__(self, folder: Path, fingerprint: dict, answer: dict | None = None):
        self.fingerprint = fingerprint
        self.answer = answer
        self.received: list[str] = []
        self.path = folder / protocol.SOCKET
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.path.chmod(0o600)
        self.server.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        channel = protocol.Channel(connection)
        channel.receive()
        channel.send({"type": "hello", "pid": os.getpid(), "fingerprint": self.fingerprint})
        message = channel.receive()
        self.received.append(message["type"])
        if message["type"] == "stop":
            channel.send({"type": "bye"})
        elif self.answer is not None:
            channel.send({"type": "alive"})
            channel.send(self.answer)
            channel.receive()  # until the client hangs up
        channel.close()
        self.close()

    def close(self) -> None:
        self.server.close()
        if self.path.exists():
            self.path.unlink()


@dataclass
class Runs:
    folder: Path
    cache: Path
    first: subprocess.CompletedProcess
    second: subprocess.CompletedProcess
    first_summary: dict
    second_sampler: dict
    pids: tuple[int, int]


@pytest.fixture(scope="module")
def worker_runs(tmp_path_factory):
    """Two runs through one worker, the first over a dead worker's socket file."""
    folder = tmp_path_factory.mktemp("worker")
    (folder / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    cache = folder / "cache"
    (cache / "worker").mkdir(parents=True, mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(cache / "worker" / "socket"))
    stale.close()  # the socket file stays, with nothing listening on it
    env = environment(cache)
    first = forecast(*FIRST, cwd=folder, env=env)
    pids = [worker_pid(cache)] if (cache / "worker" / "pid").exists() else []
    first_summary = summary(folder) if first.returncode == 0 else {}
    second = forecast(*STRICT, cwd=folder, env=env)
    pids.append(worker_pid(cache) if (cache / "worker" / "pid").exists() else -1)
    sampler = json.loads((folder / "reports/check/summary.json").read_text())["sampler"]
    yield Runs(folder, cache, first, second, first_summary, sampler, tuple(pids))
    for pid in set(pids) - {-1}:
        stop_for_good(pid)


@pytest.mark.slow
def test_the_first_run_replaces_a_stale_socket_with_a_new_worker(worker_runs):
    assert worker_runs.first.returncode == 0, worker_runs.first.stderr
    assert worker_runs.first.stdout.splitlines() == PATHS
    assert "note:" not in worker_runs.first.stderr
    pid = worker_runs.pids[0]
    assert alive(pid)
    socket_file = worker_runs.cache / "worker" / "socket"
    assert stat.S_ISSOCK(socket_file.lstat().st_mode)
    log = (worker_runs.cache / "worker" / "log").read_text(encoding="utf-8")
    assert f"listening, pid {pid}" in log
    assert "run 1: 'check.yaml' -> result" in log


@pytest.mark.slow
def test_the_second_run_reuses_the_worker_and_its_compiled_model(worker_runs):
    second = worker_runs.second
    assert second.returncode == 4, second.stderr
    assert second.stdout == ""
    assert "error: convergence diagnostics failed (--strict)" in second.stderr
    assert "warning: check.yaml: R-hat needs at least two chains" in second.stderr
    first_pid, second_pid = worker_runs.pids
    assert first_pid == second_pid
    log = (worker_runs.cache / "worker" / "log").read_text(encoding="utf-8")
    assert "run 2: 'check.yaml' -> result" in log
    sampler = worker_runs.second_sampler
    if "compiled_model_reused" in sampler:
        assert sampler["compiled_model_reused"] is True
    else:
        assert sampler["seconds"] < 10


@pytest.mark.slow
def test_the_worker_folder_and_socket_are_private(worker_runs):
    folder = worker_runs.cache / "worker"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "socket").lstat().st_mode) == 0o600
    assert (folder / "socket").lstat().st_uid == os.getuid()
    for name in ("pid", "log", "lock"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


@pytest.mark.slow
def test_a_run_in_process_prints_and_writes_the_same(worker_runs, tmp_path, monkeypatch):
    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    use_cache(monkeypatch, tmp_path / "cache")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*FIRST, "--no-worker"])
    assert result.exit_code == 0, result.output
    assert result.stdout == worker_runs.first.stdout
    assert warning_lines(result.stderr) == warning_lines(worker_runs.first.stderr)
    assert summary(tmp_path) == worker_runs.first_summary
    assert not (tmp_path / "cache" / "worker").exists()

    strict = CliRunner().invoke(cli, [*STRICT, "--no-worker"])
    assert strict.exit_code == worker_runs.second.returncode == 4
    assert strict.stdout == worker_runs.second.stdout == ""
    assert strict.stderr.splitlines()[-1] == worker_runs.second.stderr.splitlines()[-1]
    assert warning_lines(strict.stderr) == warning_lines(worker_runs.second.stderr)


@pytest.mark.slow
def test_the_environment_variable_turns_the_worker_off(tmp_path, monkeypatch):
    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    use_cache(monkeypatch, tmp_path / "cache")
    monkeypatch.setenv("FORECAST_NO_WORKER", "1")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, list(FIRST))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == PATHS
    assert not (tmp_path / "cache" / "worker").exists()


@pytest.mark.slow
def test_a_worker_dying_mid_run_is_noted_and_the_run_done_here(tmp_path, monkeypatch):
    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    use_cache(monkeypatch, tmp_path / "cache")
    fake = FakeWorker(cache_dir.worker_folder(), protocol.fingerprint())
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, list(FIRST))
    assert fake.received == ["run"]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == PATHS
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "worker stopped during the run" in notes[0]
    assert "running in this process instead" in notes[0]


def test_an_error_in_the_worker_is_printed_as_it_would_be_here(tmp_path, monkeypatch):
    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    use_cache(monkeypatch, tmp_path / "cache")
    answer = {
        "type": "error",
        "message": "cannot write reports/check: disk full",
        "exit_status": 3,
        "output": "check.py:1: RuntimeWarning: overflow encountered in exp\n",
    }
    FakeWorker(cache_dir.worker_folder(), protocol.fingerprint(), answer)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, list(FIRST))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "check.py:1: RuntimeWarning: overflow encountered in exp",
        "error: cannot write reports/check: disk full",
    ]


@pytest.mark.slow
def test_an_answer_out_of_turn_makes_the_run_happen_here(tmp_path, monkeypatch):
    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    use_cache(monkeypatch, tmp_path / "cache")
    fake = FakeWorker(cache_dir.worker_folder(), protocol.fingerprint(), {"type": "result"})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, list(FIRST))
    assert fake.received == ["run"]
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == PATHS
    assert "note:" not in result.stderr


@pytest.mark.slow
def test_a_cancelled_run_leaves_the_previous_folder(tmp_path):
    from forecast.pipeline import RunOptions, run_scenario
    from forecast.spec import parse_scenario

    scenario = parse_scenario(SCENARIO.encode(), "check.yaml")
    previous = tmp_path / "check"
    previous.mkdir()
    (previous / "summary.json").write_text("{}", encoding="utf-8")
    options = RunOptions(draws=200, tune=200, chains=2, formats=frozenset({"json"}))
    with pytest.raises(KeyboardInterrupt):
        run_scenario(scenario, tmp_path, replace(options, cancelled=lambda: True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check"]
    assert [p.name for p in previous.iterdir()] == ["summary.json"]


@pytest.mark.slow
def test_a_worker_of_another_version_is_stopped_and_replaced(tmp_path, monkeypatch):
    use_cache(monkeypatch, tmp_path / "cache")
    fake = FakeWorker(cache_dir.worker_folder(), {**protocol.fingerprint(), "forecast": "0.0.0"})
    connection = client.connect(start=True)
    assert connection is not None
    try:
        assert fake.received == ["stop"]
        assert connection.pid != os.getpid()
        assert connection.fingerprint == protocol.fingerprint()
    finally:
        connection.close()
        assert client.stop() == connection.pid
        stop_for_good(connection.pid)
    assert not (tmp_path / "cache" / "worker" / "socket").exists()


@pytest.mark.slow
def test_an_idle_worker_exits_and_removes_its_socket(tmp_path, monkeypatch):
    use_cache(monkeypatch, tmp_path / "cache", idle=1)
    connection = client.connect(start=True)
    assert connection is not None
    connection.close()
    try:
        # It first finishes importing PyMC, then waits a second without a client.
        assert gone(connection.pid, timeout=60)
    finally:
        stop_for_good(connection.pid)
    folder = tmp_path / "cache" / "worker"
    assert not (folder / "socket").exists()
    assert not (folder / "pid").exists()
    assert "idle for 1 s, exiting" in (folder / "log").read_text(encoding="utf-8")


def test_a_worker_folder_open_to_others_is_refused(tmp_path, monkeypatch):
    use_cache(monkeypatch, tmp_path / "cache")
    folder = cache_dir.worker_folder()
    folder.chmod(0o755)
    with pytest.raises(cache_dir.NotPrivate, match="open to other users"):
        cache_dir.worker_folder()
    assert client.connect(start=True) is None
    assert list(folder.iterdir()) == []
    if os.getuid() == 0:  # only root can give a folder away
        folder.chmod(0o700)
        os.chown(folder, 12345, -1)
        with pytest.raises(cache_dir.NotPrivate, match="belongs to another user"):
            cache_dir.worker_folder()
        assert client.connect(start=True) is None
        assert list(folder.iterdir()) == []


@pytest.mark.slow
def test_cache_info_and_clear(worker_runs, tmp_path):
    cache, env, pid = worker_runs.cache, environment(worker_runs.cache), worker_runs.pids[-1]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", encoding="utf-8")
    (cache / "elsewhere").symlink_to(outside)

    info = forecast("cache", "info", cwd=tmp_path, env=env)
    assert info.returncode == 0, info.stderr
    assert info.stdout.startswith(f"cache: {cache}\nsize: ")
    assert "  worker/ " in info.stdout
    assert f"worker: running, pid {pid}, since " in info.stdout
    assert "pymc " in info.stdout and "nutpie " in info.stdout

    cleared = forecast("cache", "clear", cwd=tmp_path, env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.splitlines()[0] == f"stopped the worker (pid {pid})"
    assert gone(pid)
    assert [p.name for p in cache.iterdir()] == ["CACHEDIR.TAG"]
    assert (outside / "keep.txt").read_text(encoding="utf-8") == "keep"

    after = forecast("cache", "info", cwd=tmp_path, env=env)
    assert after.stdout.splitlines()[-1] == "worker: not running"


def test_clear_leaves_a_folder_that_is_not_a_forecast_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    (tmp_path / "thesis.tex").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["cache", "clear"])
    assert result.exit_code == 3
    assert "has no CACHEDIR.TAG, so it may not be forecast's cache" in result.stderr
    assert (tmp_path / "thesis.tex").exists()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (None, "base_compiledir={cache}/pytensor,generated_src_dir={source}"),
        (
            "floatX=float32",
            "floatX=float32,base_compiledir={cache}/pytensor,generated_src_dir={source}",
        ),
        ("compiledir=/elsewhere", "compiledir=/elsewhere,generated_src_dir={source}"),
        (
            "base_compiledir=/elsewhere,floatX=float64",
            "base_compiledir=/elsewhere,floatX=float64,generated_src_dir={source}",
        ),
        ("generated_src_dir=/mine", "generated_src_dir=/mine,base_compiledir={cache}/pytensor"),
        ("base_compiledir=/a,generated_src_dir=/b", "base_compiledir=/a,generated_src_dir=/b"),
    ],
)
def test_pytensor_keeps_its_compiled_code_in_the_cache(flags, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    variables = {"PYTENSORRC": str(tmp_path / "none")}
    if flags is not None:
        variables["PYTENSOR_FLAGS"] = flags
    cache_dir.use_for_pytensor(variables)
    source = tmp_path / "pytensor" / "generated-src"
    assert variables["PYTENSOR_FLAGS"] == expected.format(cache=tmp_path, source=source)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("base_compiledir = /elsewhere", "generated_src_dir={source}"),
        ("generated_src_dir = /mine", "base_compiledir={cache}/pytensor"),
        ("compiledir = /elsewhere\ngenerated_src_dir: /mine", None),
    ],
)
def test_pytensor_settings_file_is_respected(settings, expected, tmp_path, monkeypatch):
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    file = tmp_path / "pytensorrc"
    file.write_text(f"[global]\n{settings}\n", encoding="utf-8")
    variables = {"PYTENSORRC": str(file)}
    cache_dir.use_for_pytensor(variables)
    source = tmp_path / "pytensor" / "generated-src"
    if expected is None:
        assert "PYTENSOR_FLAGS" not in variables
    else:
        assert variables["PYTENSOR_FLAGS"] == expected.format(cache=tmp_path, source=source)


@pytest.mark.parametrize("name", ["a,b", "it's here", "plain"])
def test_pytensor_reads_the_cache_path_back_whatever_its_characters(name, tmp_path, monkeypatch):
    from pytensor.configparser import parse_config_string

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / name))
    variables = {"PYTENSORRC": str(tmp_path / "none"), "PYTENSOR_FLAGS": "floatX=float64"}
    cache_dir.use_for_pytensor(variables)
    assert parse_config_string(variables["PYTENSOR_FLAGS"]) == {
        "floatX": "float64",
        "base_compiledir": str(tmp_path / name / "pytensor"),
        "generated_src_dir": str(tmp_path / name / "pytensor" / "generated-src"),
    }


def test_a_run_shows_warnings_and_other_output_in_order(monkeypatch):
    # Python's warnings and anything else written to stderr reach the client as one text.
    monkeypatch.setattr(sys, "stderr", open(2, "w", closefd=False))  # noqa: SIM115
    caught: list[dict] = []
    with server._captured_stderr() as output, server._shown_warnings(caught):
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        os.write(2, b"a compiler's complaint\n")
    assert [(w["category"], w["message"]) for w in caught] == [
        ("RuntimeWarning", "overflow encountered in exp")
    ]
    lines = output.text.splitlines()
    assert lines[0].endswith(": RuntimeWarning: overflow encountered in exp")
    assert lines[-1] == "a compiler's complaint"


def test_run_help_explains_no_worker():
    result = CliRunner().invoke(cli, ["run", "--help"])
    text = " ".join(result.output.split())
    assert "--no-worker" in text and "FORECAST_NO_WORKER=1" in text


def test_the_worker_module_imports_no_pymc_before_it_listens():
    code = (
        "import json, sys\n"
        "import forecast.worker.server, forecast.worker.client\n"
        "heavy = ['pymc', 'pytensor', 'nutpie', 'numpy', 'forecast.model']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


@pytest.mark.slow
def test_a_what_if_runs_in_the_worker_as_it_does_in_process(worker_runs, tmp_path, monkeypatch):
    what_if = ("--set", "outcomes.talks.prior={beta: [4, 4]}", "--name", "wider")
    env = environment(worker_runs.cache)
    pid_file = worker_runs.cache / "worker" / "pid"
    try:
        through_worker = forecast(*FIRST, *what_if, cwd=worker_runs.folder, env=env)
    finally:
        # A worker of its own when an earlier test has cleared the cache.
        if pid_file.exists():
            stop_for_good(worker_pid(worker_runs.cache))
    assert through_worker.returncode == 0, through_worker.stderr
    folder = "reports/check@wider"
    assert through_worker.stdout.splitlines() == [
        f"{folder}/summary.json",
        f"{folder}/posterior.nc",
    ]
    log = (worker_runs.cache / "worker" / "log").read_text(encoding="utf-8")
    runs = [line for line in log.splitlines() if ": 'check.yaml' -> " in line]
    assert "-> result in" in runs[-1]  # the worker ran it

    (tmp_path / "check.yaml").write_text(SCENARIO, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    in_process = CliRunner().invoke(cli, [*FIRST, *what_if, "--no-worker"])
    assert in_process.exit_code == 0, in_process.output
    assert in_process.stdout == through_worker.stdout

    def written(root: Path) -> dict:
        data = json.loads((root / folder / "summary.json").read_text(encoding="utf-8"))
        for key in VARYING:
            data.pop(key)
        for key in VARYING_SAMPLER:
            data["sampler"].pop(key, None)
        return data

    assert written(tmp_path) == written(worker_runs.folder)
    assert written(tmp_path)["overrides"] == [
        {"path": "outcomes.talks.prior", "value": {"beta": [4, 4]}}
    ]
