"""Atomic file writes: a reader sees the old file or the new one, never a torn one."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

# A new file's permissions: those of a file any editor would write (rw-r--r--); an
# existing file keeps its own.
NEW_FILE_MODE = 0o644


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file in the same folder, fsync, rename."""
    # A lone surrogate (a model's JSON may escape one) cannot be UTF-8: never fail on it.
    data = text.encode("utf-8", "replace")
    folder = path.parent
    try:
        st = os.stat(path)
    except OSError:
        mode = NEW_FILE_MODE
    else:
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            # The rename would replace the device itself (/dev/null, as root): never.
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        mode = stat.S_IMODE(st.st_mode)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp makes the file 0600; a plan to commit or a report for CI is not secret.
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass  # the write's own error is the one to report
        raise
    # The rename itself must survive a power cut, so sync the folder too (POSIX only).
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
