"""Atomic file writes: a temporary file in the target's directory, flushed and fsynced, then
renamed over the target (``os.replace``), so a write that fails or is killed leaves the
previous file as it was. Model saving, ONNX export and the stored thread calibration all
write through here; it imports nothing from fastlin, so any layer may use it.

Only a regular file (or a path that does not exist yet) is replaced: renaming over a FIFO or
a device node would destroy something that is not a file at all (``/dev/null`` for root).

The temporary file is named ``.NAME.PID.XXXXXXXX.tmp``. A writer killed outright (SIGKILL,
power loss) cannot remove it, so the next write to the same target removes the ones whose
writer process is gone and that have not changed for ``STALE_SECONDS``.
"""
import errno
import os
import re
import stat
import tempfile
import time

STALE_SECONDS = 15 * 60  # a live writer keeps its file's mtime fresh; the pid check is the guard


def atomic_write(path, write):
    """Call ``write(f)`` on a temporary file in the directory of `path`, fsync it, then rename it
    onto `path` (and fsync the directory): a write that fails or is killed leaves any previous
    file intact. A symlinked `path` is replaced through the link; the file keeps the
    permissions of the one it replaces. An existing `path` that is not a regular file (a FIFO,
    a device, a directory, a socket) is refused with an OSError before anything is written.
    Used by save, by fastlin.export and by the stored thread calibration."""
    if hasattr(path, "write"):
        raise TypeError("fastlin writes files atomically by renaming: it needs a file path, "
                        "not a file object")
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)  # replace the file the link points to, keep the link
    _require_regular_or_new(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temporaries(directory, base)
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=directory)
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


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _require_regular_or_new(path):
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
    raise OSError(code, f"is {kind}; fastlin only replaces regular files", path)


def _remove_stale_temporaries(directory, base):
    """Remove ``.BASE.PID.XXXXXXXX.tmp`` files left by writers of this same target that were
    killed: only when that pid no longer runs and the file is older than STALE_SECONDS.
    Anything else (another target's files, names fastlin did not make) is left alone."""
    pattern = re.compile(re.escape(f".{base}.") + r"(\d+)\.[a-z0-9_]{8}\.tmp")
    try:
        names = os.listdir(directory)
    except OSError:
        return
    now = time.time()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or _process_exists(int(match.group(1))):
            continue
        full = os.path.join(directory, name)
        try:
            info = os.lstat(full)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_SECONDS:
                os.unlink(full)
        except OSError:
            pass  # gone already, or not ours to remove


def _process_exists(pid):
    if pid <= 0 or os.name == "nt":
        # not a pid a writer could have had; on Windows os.kill(pid, 0) would terminate it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process, or a pid we cannot check
    return True


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
