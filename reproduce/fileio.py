"""Atomic file writes: write to a temporary file beside the target, then rename.

A crash or a full disk never leaves a half-written checkpoint, image or table
where a complete one (or nothing) is expected: ``os.replace`` is atomic on
POSIX and Windows when both paths are on the same file system.

The file that lands at the target has the mode a plain ``open(path, "w")``
would give it: an existing file keeps its mode, a new one gets
``0o666 & ~umask`` (0644 under umask 022). ``tempfile.mkstemp`` creates its
file 0600, which the rename would otherwise carry over to every output.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from .errors import ReproduceError


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows.

    Linux (4.7 and later) reports it in ``/proc/self/status``. Elsewhere the
    only portable way is to set a umask and put the old one back; the umask is
    process-wide, so a thread creating a file between the two calls would get
    the temporary value. The value set is 0o077 (the most restrictive of the
    usual ones), so such a file would at worst be private, never too open.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old


def _final_mode(target: Path) -> int:
    """The mode a rewrite of ``target`` should have: its own if it exists, else the umask's default."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` on success.

    The temporary keeps the target's suffix so writers that infer the format
    from the name (PIL, pandas) behave as for the real path.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise ReproduceError(f"output folder does not exist: {target.parent}")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # Set after the write: a writer may delete and recreate the temporary.
        os.chmod(tmp_path, _final_mode(target))
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def check_writable(folder: str | os.PathLike, what: str = "output folder") -> None:
    """Create and remove a probe file in ``folder``: the one writability test that holds for root, ACLs and read-only mounts.

    Raises:
        ReproduceError: the folder cannot be written (its reason in the message).
    """
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ReproduceError(f"cannot write into the {what} {folder} ({exc.strerror or exc})") from None
