"""`forecast run`'s side of the worker: find or start it, hand it scenarios, fall back on failure.

Every failure to reach or talk to the worker (no socket, a stale one, a refused connection, a
timeout, a worker of another version that will not go, a message out of turn) makes the scenario
run in this process instead, silently; only a worker that stops answering in the middle of a run
earns a one-line note, since the run then takes longer than it should.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import forecast
from forecast import cache_dir
from forecast.errors import ForecastError
from forecast.worker import protocol

# How long to wait for a worker's hello, and for a new worker to listen (Python starting on a
# loaded machine; the worker listens before its heavy imports).
HELLO_TIMEOUT = 5.0
START_TIMEOUT = 15.0
# How long a stopped worker may take to let go of its folder.
STOP_TIMEOUT = 10.0
# The longest path a Unix socket can be bound to (108 bytes on Linux, 104 on macOS).
SOCKET_PATH_LIMIT = 104
# A worker says it is alive every few seconds while a run is queued or going; this long a
# silence means it is stuck.
SILENCE = 60.0
# Starts the worker in its own session through a short-lived parent, so that it holds no
# terminal or pipe of the command's and is never left a zombie of a long-lived client. The parent
# waits until the worker has written its pid file (it listens by then) or has exited, and exits
# with the worker's status in the second case: 0 means another worker holds the folder.
LAUNCH = """\
import json, subprocess, sys, time
pid_file, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
worker = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
deadline = time.monotonic() + timeout
while time.monotonic() < deadline and worker.poll() is None:
    try:
        with open(pid_file, encoding="utf-8") as handle:
            if json.load(handle)["pid"] == worker.pid:
                break
    except (OSError, ValueError, KeyError, TypeError):
        pass
    time.sleep(0.02)
sys.exit(worker.poll() or 0)
"""


class WorkerGone(Exception):
    """The worker closed the connection or fell silent while a run was queued or going."""


class WorkerReportedError(ForecastError):
    """A run in the worker failed for a reason the user can act on, as it would have here."""

    def __init__(self, message: str, exit_status: int):
        super().__init__(message)
        self.exit_status = exit_status


def disabled_by_environment() -> bool:
    return os.environ.get("FORECAST_NO_WORKER", "").strip() not in ("", "0")


class Connection:
    """A connection to a worker that has answered hello."""

    def __init__(self, channel: protocol.Channel, hello: dict):
        self.channel = channel
        self.pid = hello.get("pid")
        self.fingerprint = hello.get("fingerprint")
        self.hello = hello

    def request(self, message: dict) -> dict:
        """Send a run request and wait for its answer; WorkerGone if the worker goes away."""
        self.channel.send(message)
        self.channel.connection.settimeout(SILENCE)
        try:
            while True:
                answer = self.channel.receive()
                if answer is None:
                    raise WorkerGone("the worker closed the connection")
                if answer["type"] != "alive":
                    return answer
        except (TimeoutError, OSError, protocol.ProtocolError) as error:
            raise WorkerGone(str(error)) from None

    def stop(self) -> None:
        with contextlib.suppress(OSError, protocol.ProtocolError):
            self.channel.send({"type": "stop"})
            self.channel.receive()
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.close()


class Runner:
    """Runs each scenario in the worker when one can be had, in this process otherwise."""

    def __init__(self, in_process):
        self.in_process = in_process
        self.connection: Connection | None = None
        self.tried = False

    def run(self, scenario, out_dir: Path, options):
        from forecast.pipeline import RunResult

        if not self.tried:
            self.tried = True
            self.connection = connect(start=True)
        raw = _raw_bytes(scenario) if self.connection is not None else None
        if raw is None:
            return self.in_process(scenario, out_dir, options)
        request = _run_request(scenario, raw, out_dir, options)
        try:
            answer = self.connection.request(request)
        except WorkerGone:
            self.close()
            print(
                "note: the forecast worker stopped during the run (its log: "
                f"{cache_dir.location() / cache_dir.WORKER / protocol.LOG}); "
                "running in this process instead",
                file=sys.stderr,
                flush=True,
            )
            return self.in_process(scenario, out_dir, options)
        except (OSError, ValueError):  # the request never reached it: nothing to tell
            self.close()
            return self.in_process(scenario, out_dir, options)
        except BaseException:  # Ctrl-C: hanging up tells the worker not to swap the folder in
            self.close()
            raise
        try:
            kind, output = answer["type"], answer.get("output", "")
            if not isinstance(output, str):
                raise TypeError("output is not text")
            if kind == "result":
                result = RunResult(
                    out_dir / answer["run_dir"],
                    [out_dir / path for path in answer["written"]],
                    [str(warning) for warning in answer["warnings"]],
                    bool(answer["diagnostics_ok"]),
                )
            elif kind == "error":
                error = WorkerReportedError(str(answer["message"]), int(answer["exit_status"]))
        except (KeyError, TypeError, ValueError):
            kind = "failed"
        if kind in ("result", "error"):
            # What the run wrote to stderr in the worker, where it would have appeared here.
            sys.stderr.write(output)
            sys.stderr.flush()
            if kind == "error":
                raise error
            return result
        # "failed", or an answer out of turn: the worker could not run it; this process can.
        self.close()
        return self.in_process(scenario, out_dir, options)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _raw_bytes(scenario) -> bytes | None:
    """The file's bytes as validated here, or None if it changed since it was read."""
    try:
        with open(scenario.source_file, "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    return raw if hashlib.sha256(raw).hexdigest() == scenario.sha256 else None


def _run_request(scenario, raw: bytes, out_dir: Path, options) -> dict:
    return {
        "type": "run",
        "source": scenario.source_file,
        "scenario": base64.b64encode(raw).decode("ascii"),
        "what_if": _what_if_request(scenario.what_if),
        "out_dir": os.path.abspath(out_dir),
        "cwd": os.getcwd(),
        "options": {
            "seed": options.seed,
            "draws": options.draws,
            "tune": options.tune,
            "chains": options.chains,
            "formats": sorted(options.formats),
            "paper": options.paper,
            "command": options.command,
        },
    }


def _what_if_request(what_if) -> dict | None:
    """How the worker rebuilds a what-if from the file's bytes: a variant by its name, the
    overrides of the command line as they were typed."""
    if what_if is None:
        return None
    if what_if.in_file:
        return {"variant": what_if.name}
    return {"set": [override.written for override in what_if.overrides], "name": what_if.name}


def connect(*, start: bool) -> Connection | None:
    """A connection to a worker of this very version, started if `start` and none answers;
    None when there is none to be had."""
    try:
        folder = cache_dir.worker_folder()
    except (OSError, cache_dir.CacheError):
        return None
    mine = protocol.fingerprint()
    connection = _hello(folder, mine)
    if connection is not None:
        if connection.fingerprint == mine:
            return connection
        connection.stop()  # another version: it goes, and one of this version takes its place
        if not _wait_for_release(folder, STOP_TIMEOUT):
            return None
    if len(os.fsencode(folder / protocol.SOCKET)) >= SOCKET_PATH_LIMIT or not start:
        return None
    if not _launch(folder):
        return None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        time.sleep(0.05)
        connection = _hello(folder, mine)
        if connection is not None:
            if connection.fingerprint == mine:
                return connection
            connection.close()  # another version started at the same moment: leave it be
            return None
    return None


def status() -> dict | None:
    """The running worker's hello (pid, start time, runs, fingerprint), or None."""
    root = cache_dir.location()
    folder = root / cache_dir.WORKER
    if not folder.is_dir() or cache_dir.privacy_problem(root, folder):
        return None
    connection = _hello(folder, protocol.fingerprint())
    if connection is None:
        return None
    connection.close()
    return connection.hello


def stop() -> int | None:
    """Stop the running worker, if any, and wait until it has let go; returns its pid.

    A worker that does not answer but still holds its folder's lock is sent SIGTERM.
    """
    root = cache_dir.location()
    folder = root / cache_dir.WORKER
    if not folder.is_dir() or cache_dir.privacy_problem(root, folder):
        return None
    connection = _hello(folder, protocol.fingerprint())
    pid = None
    if connection is not None:
        pid = connection.pid
        connection.stop()
        if _wait_for_release(folder, STOP_TIMEOUT):
            return pid
    if _lock_is_free(folder):
        return pid
    # The lock's holder wrote the pid file, so the pid is the worker's and not a reused one.
    try:
        pid = int(json.loads((folder / protocol.PID).read_text(encoding="utf-8"))["pid"])
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if _wait_for_release(folder, STOP_TIMEOUT) else None


def _hello(folder: Path, mine: dict) -> Connection | None:
    path = folder / protocol.SOCKET
    try:
        info = path.lstat()
    except OSError:
        return None
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid():
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.settimeout(HELLO_TIMEOUT)
    channel = protocol.Channel(connection)
    try:
        connection.connect(str(path))
        uid = protocol.peer_uid(connection)
        if uid is not None and uid != os.getuid():
            raise protocol.ProtocolError("the socket is another user's")
        channel.send({"type": "hello", "fingerprint": mine})
        hello = channel.receive()
        if hello is None or hello["type"] != "hello":
            raise protocol.ProtocolError("no hello")
    except (OSError, protocol.ProtocolError):
        channel.close()
        return None
    return Connection(channel, hello)


def _launch(folder: Path) -> bool:
    environment = dict(os.environ)
    # A client run from a source tree (found on sys.path rather than installed) gives the
    # worker the same tree.
    package_parent = str(Path(forecast.__file__).resolve().parent.parent)
    if package_parent in sys.path and Path(package_parent).name != "site-packages":
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [package_parent, environment.get("PYTHONPATH")])
        )
    # The worker filters warnings as this process does: the same -W options (which include
    # PYTHONWARNINGS's, so that one is not passed twice) and development mode.
    environment.pop("PYTHONWARNINGS", None)
    options = [f"-W{option}" for option in sys.warnoptions]
    options += ["-X", "dev"] if sys.flags.dev_mode else []
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCH, str(folder / protocol.PID)]
    worker = [sys.executable, *options, "-m", "forecast.worker"]
    try:
        subprocess.run(
            [*launcher, str(START_TIMEOUT), *worker],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=folder,
            env=environment,
            timeout=START_TIMEOUT + 10,
            check=True,  # the worker could not start: no use waiting for it
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _lock_is_free(folder: Path) -> bool:
    try:
        descriptor = os.open(folder / protocol.LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)  # closing releases a lock taken here
    return True


def _wait_for_release(folder: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _lock_is_free(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
