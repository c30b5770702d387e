"""The worker process: keeps compiled models warm and runs scenarios for `forecast run`.

It listens on `<cache>/worker/socket` (0600, in a 0700 folder) before it imports PyMC and
nutpie, so that the client that started it can connect at once; runs one scenario at a time, in
its main thread, through `pipeline.run_scenario`, exactly as `forecast run` would in its own
process; when no run is waiting, compiles the faster sampler for a structure that has run
(`forecast.compiled.upgrade_one`: a run asked for meanwhile waits for it); and exits after
FORECAST_WORKER_IDLE seconds (default 600) without a client, removing its socket. A lock file
held for its whole life keeps a second worker from taking the folder.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import queue
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from forecast import cache_dir
from forecast.worker import protocol

IDLE_DEFAULT = 600.0
# How often the worker tells a waiting client it is still there; the client gives up after
# `client.SILENCE` seconds without a word.
ALIVE_EVERY = 5.0
# How long a client may take to send its next message before the worker hangs up.
REQUEST_TIMEOUT = 30.0
LOG_LIMIT = 1_000_000


@dataclass
class Job:
    """One run request, queued by the connection's thread and run by the main thread."""

    request: dict
    cancelled: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict | None = None


def main() -> int:
    cache_dir.use_for_pytensor()
    try:
        folder = cache_dir.worker_folder()
    except (OSError, cache_dir.CacheError) as error:
        print(f"forecast worker: {error}", file=sys.stderr)
        return 1
    if not _take_lock(folder / protocol.LOCK):
        return 0  # another worker has the folder; the client will find it
    log = _open_log(folder / protocol.LOG)
    # Anything printed outside a run (a crash's traceback) goes to the log.
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    worker = Worker(folder, log, _idle_seconds())
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        worker.serve()
    except SystemExit:
        worker.say("stopped by a signal")
    finally:
        worker.close()
    log.flush()
    # The compiled models need no tearing down, and nothing is left to write.
    os._exit(0)


def _take_lock(path: Path) -> bool:
    """Hold the folder's lock for the rest of this process's life.

    Tries for a moment: a client checking whether an old worker has let go holds it briefly.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    for _ in range(20):
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.05)
    os.close(descriptor)
    return False


def _exit_on_signal(number, frame):
    raise SystemExit(0)


def _idle_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("FORECAST_WORKER_IDLE", IDLE_DEFAULT)))
    except ValueError:
        return IDLE_DEFAULT


def _open_log(path: Path):
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_LIMIT:
            os.replace(path, path.with_name(path.name + ".1"))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return open(descriptor, "a", encoding="utf-8", buffering=1)


class Worker:
    def __init__(self, folder: Path, log, idle: float):
        self.folder, self.log, self.idle = folder, log, idle
        self.socket_path = folder / protocol.SOCKET
        self.fingerprint = protocol.fingerprint()
        self.started = dt.datetime.now(dt.UTC)
        self.runs = 0
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.stopping = threading.Event()
        self.state = threading.Lock()
        self.connections = 0
        self.last_active = time.monotonic()
        self.upgrading = False  # compiling a faster sampler in the main thread
        self.server = self._listen()

    def _listen(self) -> socket.socket:
        # Nothing else holds the lock, so a socket file left here is a dead worker's.
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o177)  # the socket is created 0600, never briefly open
        try:
            server.bind(str(self.socket_path))
        finally:
            os.umask(umask)
        server.listen(16)
        pid_file = self.folder / protocol.PID
        partial = pid_file.with_name(f".{protocol.PID}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "started": self.started.isoformat()}, handle)
        os.replace(partial, pid_file)
        self.say(f"listening, pid {os.getpid()}, idle limit {self.idle:g} s")
        return server

    def say(self, message: str) -> None:
        stamp = dt.datetime.now().isoformat(sep=" ", timespec="seconds")
        with contextlib.suppress(OSError, ValueError):
            self.log.write(f"{stamp} {message}\n")

    def describe(self) -> dict:
        return {
            "pid": os.getpid(),
            "started": self.started.isoformat(timespec="seconds"),
            "runs": self.runs,
            "fingerprint": self.fingerprint,
        }

    def serve(self) -> None:
        threading.Thread(target=self._accept, daemon=True).start()
        # In a thread of its own, so that a stop or an idle limit never waits for it.
        self.warming = threading.Thread(target=self._warm_up, daemon=True)
        self.warming.start()
        while not self.stopping.is_set():
            try:
                job = self.jobs.get(timeout=0.5)
            except queue.Empty:
                if self._idle_too_long():
                    self.say(f"idle for {self.idle:g} s, exiting")
                    return
                if not self.stopping.is_set():
                    self._upgrade()
                continue
            if not job.cancelled.is_set():
                job.answer = self._run(job)
            job.done.set()
        self.say("stopping as asked")

    def close(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.server.close()
        for name in (protocol.SOCKET, protocol.PID):
            with contextlib.suppress(OSError):
                (self.folder / name).unlink()
        # Clients still queued run their scenarios themselves.
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            job.answer = {"type": "failed", "reason": "the worker is stopping"}
            job.done.set()

    def _idle_too_long(self) -> bool:
        with self.state:
            quiet = self.connections == 0 and self.jobs.empty()
            return quiet and time.monotonic() - self.last_active >= self.idle

    def _upgrade(self) -> None:
        """Compile nutpie's numba backend for one structure that has run, if one waits."""
        if self.runs == 0:  # nothing to compile for; the imports may still be going on
            return
        from forecast import compiled

        start = time.monotonic()
        self.upgrading = True
        try:
            said = compiled.upgrade_one()
        finally:
            self.upgrading = False
        if said is not None:
            self.say(f"{said} ({time.monotonic() - start:.1f} s in all)")

    def _warm_up(self) -> None:
        """Import what every run needs while the first client is still reading its file."""
        start = time.monotonic()
        try:
            import nutpie  # noqa: F401

            import forecast.inference  # noqa: F401
            import forecast.pipeline  # noqa: F401
            import forecast.summarize  # noqa: F401
            import forecast.worlds  # noqa: F401
        except Exception:  # a run will meet the same error and report it
            self.say("importing failed:\n" + traceback.format_exc())
        self.say(f"imports took {time.monotonic() - start:.1f} s")

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                return  # the socket was closed: the worker is exiting
            with self.state:
                self.connections += 1
            threading.Thread(target=self._serve_client, args=(connection,), daemon=True).start()

    def _serve_client(self, connection: socket.socket) -> None:
        channel = protocol.Channel(connection)
        try:
            uid = protocol.peer_uid(connection)
            if uid is not None and uid != os.getuid():
                self.say(f"refused a client of user {uid}")
                return
            connection.settimeout(REQUEST_TIMEOUT)
            hello = channel.receive()
            if hello is None or hello["type"] != "hello":
                return
            channel.send({"type": "hello", **self.describe()})
            while (message := channel.receive()) is not None:
                if message["type"] == "stop":
                    self.say("told to stop")
                    self.stopping.set()
                    channel.send({"type": "bye"})
                    if self.upgrading:
                        # The main thread is compiling, which cannot be cut short, and writes
                        # nothing: go now rather than keep the client waiting.
                        self.say("stopping during a compile")
                        self.close()
                        os._exit(0)
                    return
                if message["type"] != "run":
                    raise protocol.ProtocolError(f"unexpected message {message['type']!r}")
                answer = self._wait_for(Job(message), channel, connection)
                if answer is None:
                    return
                channel.send(answer)
        except (OSError, protocol.ProtocolError) as error:
            self.say(f"client connection: {error}")
        finally:
            channel.close()
            with self.state:
                self.connections -= 1
                self.last_active = time.monotonic()

    def _wait_for(self, job: Job, channel: protocol.Channel, connection) -> dict | None:
        """Queue the job and wait for it, telling the client it is alive and noticing when it
        goes away (Ctrl-C): then the job is cancelled and its folder never swapped in."""
        self.jobs.put(job)
        last_word = time.monotonic()
        try:
            while not job.done.wait(0.2):
                # The client sends nothing while it waits: anything readable is its end of file.
                readable, _, _ = select.select([connection], [], [], 0)
                if readable:
                    job.cancelled.set()
                if job.cancelled.is_set():
                    job.done.wait()
                    return None
                if time.monotonic() - last_word >= ALIVE_EVERY:
                    channel.send({"type": "alive"})
                    last_word = time.monotonic()
        except BaseException:
            # The client is gone (a broken pipe mid-send): its run must not be swapped in.
            job.cancelled.set()
            raise
        return job.answer

    def _run(self, job: Job) -> dict:
        start = time.monotonic()
        self.warming.join()
        request = job.request
        try:
            answer = self._execute(request, job.cancelled.is_set)
        except Exception:  # a bug: the client runs the scenario itself, which shows it plainly
            self.say("run failed:\n" + traceback.format_exc())
            answer = {"type": "failed", "reason": "the run raised an unexpected error"}
        self.runs += 1
        self.say(
            f"run {self.runs}: {request.get('source')!r} -> {answer['type']} "
            f"in {time.monotonic() - start:.1f} s"
        )
        return answer

    def _execute(self, request: dict, cancelled) -> dict:
        from forecast.errors import ForecastError, ScenarioError
        from forecast.pipeline import RunOptions, run_scenario
        from forecast.spec import parse_scenario

        raw = base64.b64decode(request["scenario"], validate=True)
        out_dir = Path(request["out_dir"])
        given = request["options"]
        options = RunOptions(
            seed=given["seed"],
            draws=given["draws"],
            tune=given["tune"],
            chains=given["chains"],
            formats=frozenset(given["formats"]),
            paper=given["paper"],
            command=given["command"],
            progress=False,
            cancelled=cancelled,
        )
        caught: list[dict] = []
        with _captured_stderr() as output, _shown_warnings(caught):
            try:
                os.chdir(request["cwd"])
                scenario = _what_if(parse_scenario(raw, request["source"]), request["what_if"])
                result = run_scenario(scenario, out_dir, options)
            except ScenarioError:
                # The client read the same bytes without a problem: not the user's doing.
                raise
            except ForecastError as error:
                answer = {
                    "type": "error",
                    "message": str(error),
                    "exit_status": error.exit_status,
                }
            except KeyboardInterrupt:
                answer = {"type": "cancelled"}
            else:
                answer = {
                    "type": "result",
                    "run_dir": os.path.relpath(result.run_dir, out_dir),
                    "written": [os.path.relpath(path, out_dir) for path in result.written],
                    "warnings": list(result.warnings),
                    "diagnostics_ok": bool(result.diagnostics_ok),
                }
            finally:
                os.chdir(self.folder)
        answer["output"] = output.text
        answer["python_warnings"] = caught
        return answer


def _what_if(scenario, request: dict | None):
    """The scenario with the what-if of a run request applied, as the client applied it."""
    from forecast.spec import load_what_if
    from forecast.spec.overrides import choose_variants, command_line_what_if, read_set_options

    if request is None:
        return scenario
    if "variant" in request:
        (what_if,) = choose_variants(scenario, [request["variant"]])
    else:
        what_if = command_line_what_if(read_set_options(request["set"]), request["name"])
    return load_what_if(scenario, what_if)


class _captured_stderr:
    """Everything written to file descriptor 2 during a run (Python's warnings, PyMC's log,
    a compiler's complaint), in order, to be printed by the client as it would have been."""

    def __enter__(self):
        sys.stderr.flush()
        self.sink = tempfile.TemporaryFile()
        self.saved = os.dup(2)
        os.dup2(self.sink.fileno(), 2)
        self.text = ""
        return self

    def __exit__(self, *exc):
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)
        self.sink.seek(0)
        self.text = self.sink.read().decode("utf-8", errors="replace")
        self.sink.close()
        return False


class _shown_warnings:
    """Python's warnings during a run, as a fresh process would show them, also kept as data.

    `catch_warnings` resets the once-per-location memory, so each run shows a warning as the
    first run in a new process would; each is printed as Python prints it, to stderr, into the
    captured output, in order with everything else.
    """

    def __init__(self, caught: list[dict]):
        self.caught = caught
        self.context = warnings.catch_warnings()

    def __enter__(self):
        self.context.__enter__()

        def record(message, category, filename, lineno, file=None, line=None):
            self.caught.append(
                {
                    "category": category.__name__,
                    "message": str(message),
                    "filename": filename,
                    "lineno": lineno,
                }
            )
            text = warnings.formatwarning(message, category, filename, lineno, line)
            with contextlib.suppress(OSError):
                sys.stderr.write(text)
                sys.stderr.flush()

        warnings.showwarning = record
        return self

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)
