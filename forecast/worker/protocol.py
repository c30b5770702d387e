"""What the worker and `forecast run` say to each other: one JSON object per line.

The client opens the socket and sends `hello` with its fingerprint; the worker answers `hello`
with its pid, start time, runs served and its own fingerprint. A client whose fingerprint differs
sends `stop` (answered by `bye`) and starts a worker of its own. Then the client sends `run`
requests, one at a time; while one is queued or running the worker sends `alive` every few
seconds, then one answer: `result`, `error` (a message and exit status for the user) or `failed`
(the worker could not run it; the client runs it itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import struct
import sys
import threading
from pathlib import Path

import forecast
from forecast import cache_dir

PROTOCOL = 2
SOCKET = "socket"
PID = "pid"
LOG = "log"
LOCK = "lock"
# A scenario file is at most 1 MB, 1.4 MB in base64; an answer lists a few paths and warnings.
LIMIT = 16_000_000
# Settings that change what a run computes or prints: a worker started under other values would
# not give the same run as this process.
SETTINGS = ("PYTENSOR", "NUMBA_", "OMP_", "OPENBLAS_", "MKL_")


class ProtocolError(Exception):
    """A message that is not one line of a JSON object, or an answer out of turn."""


def fingerprint() -> dict:
    """What must be equal for a worker to run exactly what this process would."""
    from importlib.metadata import PackageNotFoundError, version

    result = {
        "protocol": PROTOCOL,
        "forecast": forecast.__version__,
        "source": _source_digest(Path(forecast.__file__).parent),
        "python": platform.python_version(),
        "executable": sys.executable,
        "settings": _settings_digest(),
        # Which warnings are shown, and how (-W, PYTHONWARNINGS, -X dev).
        "warnings": [*sys.warnoptions, *(["dev"] if sys.flags.dev_mode else [])],
    }
    for name in ("pymc", "pytensor", "nutpie", "numba"):
        try:
            result[name] = version(name)
        except PackageNotFoundError:
            result[name] = None
    return result


def _source_digest(package: Path) -> str:
    """A hash of the names, sizes and modification times of the package's files."""
    digest = hashlib.sha256()
    for folder, folders, files in os.walk(package):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            path = os.path.join(folder, name)
            info = os.stat(path)
            relative = os.path.relpath(path, package)
            digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _settings_digest() -> str:
    # As every forecast process has them, with PyTensor's compiled code in the cache folder.
    environment = dict(os.environ)
    cache_dir.use_for_pytensor(environment)
    chosen = sorted((k, v) for k, v in environment.items() if k.startswith(SETTINGS))
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:20]


def peer_uid(connection: socket.socket) -> int | None:
    """The user id of the process at the other end, where the system tells it (Linux)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _, uid, _ = struct.unpack("3i", credentials)
    return uid


class Channel:
    """Messages over a connected socket; `send` may be called from several threads."""

    def __init__(self, connection: socket.socket):
        self.connection = connection
        self.reader = connection.makefile("rb")
        self.sending = threading.Lock()

    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self.sending:
            self.connection.sendall(line)

    def receive(self) -> dict | None:
        """The next message, or None when the other end has closed the connection."""
        line = self.reader.readline(LIMIT + 1)
        if not line:
            return None
        if len(line) > LIMIT or not line.endswith(b"\n"):
            raise ProtocolError("a message longer than the limit or cut short")
        try:
            message = json.loads(line)
        except ValueError as error:
            raise ProtocolError(f"not JSON: {error}") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ProtocolError("not a message object")
        return message

    def close(self) -> None:
        self.reader.close()
        self.connection.close()
