"""Writing a folder all or nothing: built in a temporary folder beside it, then swapped in.

Readers of a run or sweep folder (a report open in a browser, `forecast compare`, a watch) see
the old folder or the new one, never half of one; a failure leaves the old one as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def staging_folder(out_dir: Path, name: str) -> Path:
    """A new empty folder in `out_dir` (hidden, named after `name`) to build a folder in."""
    path = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=out_dir))
    # mkdtemp makes the folder private; a finished folder is as readable as any other.
    umask = os.umask(0)
    os.umask(umask)
    path.chmod(0o777 & ~umask)
    return path


class Staging:
    """`staging_folder` as a context, removed when the context ends, whatever happened."""

    def __init__(self, out_dir: Path, name: str):
        self.out_dir, self.name = out_dir, name

    def __enter__(self) -> Path:
        self.path = staging_folder(self.out_dir, self.name)
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)
        return False


def swap_in(staging: Path, final: Path) -> None:
    """Replace `final` by the complete `staging` folder with two renames."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staging, final)
    staging.mkdir()  # so that whoever made the staging folder has something to remove
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
