"""The cache folder: the worker's socket, pid and log, and PyTensor's compiled code.

`$FORECAST_CACHE_DIR`, else `$XDG_CACHE_HOME/forecast`, else `~/.cache/forecast`. The folder is
created private (0700) and tagged with a CACHEDIR.TAG, which backup tools skip and which
`clear_cache` requires before it removes anything: a cache setting that points at the wrong folder
never empties it. Nothing here imports PyMC or PyTensor.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from forecast.errors import ForecastError

ENVIRONMENT = "FORECAST_CACHE_DIR"
WORKER = "worker"
PYTENSOR = "pytensor"
TAG_NAME = "CACHEDIR.TAG"
# Inside PYTENSOR: the Python source PyTensor generates for the code it compiles.
GENERATED_SOURCE = "generated-src"
# The signature is fixed by the Cache Directory Tagging Specification (https://bford.info/cachedir/).
TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This folder is forecast's cache: `forecast cache clear` empties it.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
# What forecast itself puts in the folder; a folder holding only these may be tagged as its cache.
KNOWN = {WORKER, PYTENSOR, TAG_NAME}
WHAT = {
    WORKER: "the worker's socket, pid and log",
    PYTENSOR: "PyTensor's compiled code and its source (rebuilt when missing)",
}


class CacheError(ForecastError):
    """The cache folder cannot be used or cleared as asked."""


class NotPrivate(CacheError):
    """The worker's folder could be opened by another user."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    is_dir: bool


def location() -> Path:
    """The cache folder, whether or not it exists yet."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen:
        return Path(chosen).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME")
    # The XDG specification says to ignore a relative path.
    if base and Path(base).is_absolute():
        return Path(base) / "forecast"
    return Path.home() / ".cache" / "forecast"


def ensure() -> Path:
    """Create the cache folder (0700, tagged) if it is missing; returns it."""
    root = location()
    created = not root.exists()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    tag = root / TAG_NAME
    if not tag.exists() and (created or {p.name for p in root.iterdir()} <= KNOWN):
        partial = root / f".{TAG_NAME}.{os.getpid()}"
        partial.write_text(TAG, encoding="utf-8")
        os.replace(partial, tag)
    return root


def worker_folder() -> Path:
    """The worker's folder inside the cache folder, created if missing and checked private.

    Raises
    ------
    NotPrivate
        When the cache folder or the worker's folder is another user's or open to others.
    OSError
        When a folder cannot be created.
    """
    root = ensure()
    folder = root / WORKER
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    problem = privacy_problem(root, folder)
    if problem:
        raise NotPrivate(problem)
    return folder


def privacy_problem(root: Path, folder: Path) -> str | None:
    """Why the worker's folder is not private to this user, or None when it is.

    The cache folder must be the user's and writable by no one else (or another user could swap
    the worker's folder); the worker's folder must be the user's, a real folder, and closed to
    everyone else.
    """
    user = os.getuid()
    try:
        root_stat = root.stat()
        folder_stat = folder.lstat()
    except OSError as error:
        return f"cannot inspect {error.filename}: {error.strerror}"
    if root_stat.st_uid != user:
        return f"{root} belongs to another user"
    if root_stat.st_mode & 0o022:
        return f"{root} is writable by other users"
    if not stat.S_ISDIR(folder_stat.st_mode):
        return f"{folder} is not a folder"
    if folder_stat.st_uid != user:
        return f"{folder} belongs to another user"
    if folder_stat.st_mode & 0o077:
        return f"{folder} is open to other users (mode {stat.S_IMODE(folder_stat.st_mode):o})"
    return None


def use_for_pytensor(environ=os.environ) -> None:
    """Make PyTensor keep its compiled code, and the Python source it generates for that code, in
    the cache folder, each unless the user chose a place for it.

    Left to itself, PyTensor writes each generated function's source to a new file in the
    system's temporary folder and never removes it: a few hundred files a run. In
    `generated_src_dir` it names each file by its content, so runs reuse them, and removes the
    ones unused for a month. Must run before PyTensor is imported. An existing PYTENSOR_FLAGS is
    kept and added to.
    """
    flags = environ.get("PYTENSOR_FLAGS", "")
    settings = [
        f"{name}={_quoted(str(path))}"
        for name, path in (
            ("base_compiledir", location() / PYTENSOR),
            ("generated_src_dir", generated_source()),
        )
        if not _user_sets(name, flags, environ)
    ]
    if settings:
        environ["PYTENSOR_FLAGS"] = ",".join([flags, *settings] if flags.strip() else settings)


def generated_source() -> Path:
    """Where PyTensor's generated source goes unless the user chose a place for it."""
    return location() / PYTENSOR / GENERATED_SOURCE


def _quoted(value: str) -> str:
    """`value` as one item of PYTENSOR_FLAGS, which PyTensor splits at commas, shell-quoted."""
    if not re.search(r"[,'\"\\\s]", value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _user_sets(name: str, flags: str, environ) -> bool:
    """Whether PYTENSOR_FLAGS or a PyTensor settings file sets `name`. For the compile
    directory, `compiledir` (which PyTensor derives from `base_compiledir`) counts too."""
    names = "(base_)?compiledir" if name == "base_compiledir" else re.escape(name)
    # PyTensor reads the flags as comma-separated key=value pairs, with shell quoting.
    splitter = shlex.shlex(flags, posix=True)
    splitter.whitespace = ","
    splitter.whitespace_split = True
    try:
        pairs = list(splitter)
    except ValueError:  # unbalanced quotes: PyTensor will complain; leave the flags alone
        return True
    if any(re.search(rf"(^|__){names}$", p.split("=")[0].strip()) for p in pairs):
        return True
    for file in environ.get("PYTENSORRC", "~/.pytensorrc").split(os.pathsep):
        try:
            text = Path(file).expanduser().read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if re.search(rf"^\s*{names}\s*[=:]", text, flags=re.MULTILINE):
            return True
    return False


def entries(root: Path | None = None) -> list[Entry]:
    """What the cache folder holds, one entry per name in it; symlinks count as themselves."""
    root = root or location()
    if not root.is_dir():
        return []
    return [
        Entry(path.name, size_of(path), path.is_dir() and not path.is_symlink())
        for path in sorted(root.iterdir())
    ]


def size_of(path: Path) -> int:
    """Bytes under `path`, counting a symlink as itself and never following it."""
    try:
        info = path.lstat()
    except OSError:
        return 0
    if not stat.S_ISDIR(info.st_mode):
        return info.st_size
    total = 0
    for folder, _, files in os.walk(path):  # os.walk does not follow symlinks to folders
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def clear_cache(root: Path | None = None) -> list[Entry]:
    """Remove everything in the cache folder but its tag; returns what was removed.

    Symlinks are removed, never followed. Raises CacheError when the folder does not carry
    forecast's CACHEDIR.TAG (a setting pointing at the wrong folder must not empty it).
    """
    root = root or location()
    if not root.exists():
        return []
    if not (root / TAG_NAME).is_file():
        raise CacheError(
            f"{root} has no {TAG_NAME}, so it may not be forecast's cache; "
            f"check {ENVIRONMENT} and remove what you no longer need by hand"
        )
    removed = []
    for entry in entries(root):
        if entry.name == TAG_NAME:
            continue
        path = root / entry.name
        if entry.is_dir:
            # On Linux rmtree works through file descriptors and never follows a symlink.
            shutil.rmtree(path)
        else:
            path.unlink()
        removed.append(entry)
    return removed


def readable_size(size: int) -> str:
    for unit in ("bytes", "kB", "MB"):
        if size < 1000:
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"
