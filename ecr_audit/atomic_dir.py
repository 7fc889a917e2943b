"""Replace a directory atomically, and clean up after a replacement that was interrupted.

`replace(new, path)` puts the complete directory `new` (a sibling from `temp_sibling(path)`)
at `path`:
  - Where the OS exchanges two names in one step (Linux renameat2 RENAME_EXCHANGE since 3.15,
    macOS renamex_np RENAME_SWAP), `path` names the old directory until the exchange and the
    new one after it: there is no instant without a complete directory at `path`. The old one,
    now under `new`'s name, is then removed.
  - Elsewhere (or on a filesystem that refuses the exchange), two renames: path → old sibling,
    new → path. A crash between them leaves nothing at `path`; `recover(path)` (run by the
    next save or load) finishes the replacement: `new` was complete before the first rename.
Siblings are named `.{name}.tmp-{pid}-{token}` (being written; after an exchange, the old
directory) and `.{name}.old-{pid}-{token}` (the old directory between the two renames).
`sweep` removes siblings whose writer is gone. Replacements in one parent directory are
serialized with flock(2) on the parent where the OS offers it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

# A sibling the pattern matches but whose writer's pid is unknown (written by an older
# release: `.{name}.tmp-{token}`) is abandoned once it is this old.
ABANDONED_AFTER_SECONDS = 3600
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV}


def _sibling(path: Path, kind: str, pid: int, token: str) -> Path:
    return path.parent / f".{path.name}.{kind}-{pid}-{token}"


def temp_sibling(path: Path) -> Path:
    """A fresh hidden sibling name of `path` to write the new directory into."""
    return _sibling(path, "tmp", os.getpid(), uuid.uuid4().hex[:8])


def _parse(path: Path, candidate: str):
    """(kind, pid or None, token) when `candidate` is a sibling name of `path`, else None."""
    m = re.fullmatch(re.escape(f".{path.name}.") + r"(tmp|old)-(?:(\d{1,10})-)?([0-9a-f]{8})", candidate)
    return (m.group(1), int(m.group(2)) if m.group(2) else None, m.group(3)) if m else None


# -- exchanging two names ------------------------------------------------------------------

_libc = None


def _c_library():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return _libc


# renameat2's syscall number where libc lacks the wrapper (glibc < 2.28).
_SYS_RENAMEAT2 = {
    "x86_64": 316,
    "aarch64": 276,
    "i686": 353,
    "i386": 353,
    "armv7l": 382,
    "ppc64le": 357,
    "s390x": 347,
    "riscv64": 276,
}


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names `a` and `b` atomically. False when this OS or filesystem cannot."""
    try:
        libc = _c_library()
    except OSError:
        return False
    fa, fb = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux"):
        at_fdcwd, rename_exchange = -100, 2
        if hasattr(libc, "renameat2"):
            rc = libc.renameat2(at_fdcwd, fa, at_fdcwd, fb, ctypes.c_uint(rename_exchange))
        else:
            number = _SYS_RENAMEAT2.get(os.uname().machine)
            if number is None:
                return False
            rc = libc.syscall(number, at_fdcwd, fa, at_fdcwd, fb, ctypes.c_uint(rename_exchange))
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        rc = libc.renamex_np(fa, fb, ctypes.c_uint(0x2))  # RENAME_SWAP
    else:
        return False
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


# -- replacing ---------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(directory: Path):
    """Hold an exclusive flock(2) on `directory` meanwhile (nothing where the OS cannot).
    Not re-entrant: a second `locked` on the same directory in one process waits forever."""
    try:
        import fcntl

        fd = os.open(directory, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def replace(new: Path, path: Path) -> None:
    """Put directory `new` at `path` (see the module docstring); removes what was there.
    The caller holds `locked(path.parent)`."""
    if not os.path.lexists(path):
        os.rename(new, path)
        fsync_dir(path.parent)
        return
    if _exchange(new, path):
        fsync_dir(path.parent)
        remove(new)  # the old directory, now under the temporary name
        return
    _kind, pid, token = _parse(path, new.name)
    old = _sibling(path, "old", pid, token)
    os.rename(path, old)
    os.rename(new, path)  # a crash before this line is what `recover` finishes
    fsync_dir(path.parent)
    remove(old)


def interrupted(path: Path, is_complete: Callable[[Path], bool]) -> Path | None:
    """The directory that belongs at `path` when a replacement stopped between its two renames
    (nothing at `path`, an old sibling and maybe its complete new one), else None."""
    if os.path.lexists(path):
        return None
    olds = []
    for entry in os.scandir(path.parent):
        parsed = _parse(path, entry.name)
        if parsed and parsed[0] == "old" and parsed[1] is not None and entry.is_dir(follow_symlinks=False):
            olds.append((entry.stat(follow_symlinks=False).st_mtime, parsed))
    for _mtime, (_kind, pid, token) in sorted(olds, reverse=True):
        new = _sibling(path, "tmp", pid, token)
        if new.is_dir() and not new.is_symlink() and is_complete(new):
            return new
        old = _sibling(path, "old", pid, token)
        if is_complete(old):
            return old
    return None


def recover(path: Path, is_complete: Callable[[Path], bool]) -> bool:
    """Finish an interrupted replacement at `path` (see `interrupted`); True when one was.
    The caller holds `locked(path.parent)`. Raises OSError when it cannot rename."""
    found = interrupted(path, is_complete)
    if found is None:
        return False
    os.rename(found, path)
    fsync_dir(path.parent)
    return True


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep(path: Path, is_ours: Callable[[Path], bool]) -> list[Path]:
    """Remove the siblings of `path` left by replacements that will never finish: provably ours
    (`is_ours`), and written by a process that is gone (or, without a recorded pid, older than
    ABANDONED_AFTER_SECONDS). Returns what was removed."""
    removed = []
    now = time.time()
    for entry in os.scandir(path.parent):
        parsed = _parse(path, entry.name)
        if not parsed or not entry.is_dir(follow_symlinks=False):
            continue
        candidate = path.parent / entry.name
        _kind, pid, _token = parsed
        if pid is not None and _alive(pid):
            continue
        if pid is None and now - entry.stat(follow_symlinks=False).st_mtime < ABANDONED_AFTER_SECONDS:
            continue
        if is_ours(candidate):
            remove(candidate)
            removed.append(candidate)
    return removed
