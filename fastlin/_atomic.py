"""Atomic file writes: a temporary file in the target's directory, flushed and fsynced, then
renamed over the target (``os.replace``), so a write that fails or is killed leaves the
previous file as it was. Model saving, ONNX export and the stored thread calibration all
write through here; it imports nothing from fastlin, so any layer may use it.
"""
import os
import tempfile


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary file in the directory of `path`, fsync it, then rename it
    onto `path` (and fsync the directory): a write that fails or is killed leaves any previous
    file intact. A symlinked `path` is replaced through the link; the file keeps the
    permissions of the one it replaces. Used by save, by fastlin.export and by the stored
    thread calibration."""
    if hasattr(path, "write"):
        raise TypeError("fastlin writes files atomically by renaming: it needs a file path, "
                        "not a file object")
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)  # replace the file the link points to, keep the link
    directory = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _new_file_mode(path):
    """The permission bits the file gets: those of the file it replaces, else what
    open(path, "w") would give (0o666 less the umask), not mkstemp's 0o600."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
