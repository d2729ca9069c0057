"""Bounded reads of a model archive: nothing is read or allocated before its size is known
to be what the file's own metadata and the architecture allow.

A zip's central directory, an .npy header and the JSON all come from the file, so each is
checked against the others (an entry cannot claim more bytes than the archive holds, nor
inflate beyond what deflate can produce, nor hold more data than its .npy header announces)
and every read asks for exactly the bytes it expects.
"""
import json
import math
import os
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from fastlin.io._format import (FORMAT_ENTRY, HEADER_ENTRY, MAX_DEFLATE_RATIO,
                                MAX_HEADER_CHARS, MAX_HEADER_CONTAINERS, READABLE_VERSIONS,
                                InvalidFile)

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
               NotImplementedError, RuntimeError)


def archive_size(source):
    """The byte size of a path or a seekable file object (its position is kept)."""
    if isinstance(source, (str, bytes)):
        return os.stat(source).st_size
    pos = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(pos)
    return size


def open_archive(source):
    """The zip archive at `source`; a missing or unreadable path stays an OSError."""
    try:
        return zipfile.ZipFile(source)
    except (FileNotFoundError, PermissionError):
        raise
    except IsADirectoryError:
        raise InvalidFile("is a directory, not a fastlin model file") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        if _starts_with(source, npy_format.MAGIC_PREFIX):
            raise InvalidFile("is a single .npy array, not a fastlin model file (.npz archive); "
                              "save models with model.save(path)") from None
        raise InvalidFile(f"not a readable fastlin model file (not a zip archive: {exc})") from None


def _starts_with(source, prefix):
    try:
        if isinstance(source, (str, bytes)):
            with open(source, "rb") as f:
                return f.read(len(prefix)) == prefix
        source.seek(0)
        return source.read(len(prefix)) == prefix
    except (OSError, ValueError):
        return False


class Entry:
    """One .npy member: its ZipInfo and, once its header is read, the shape, dtype and the
    offset of the data."""

    def __init__(self, zf, name, archive_size):
        self.zf, self.name = zf, name
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise InvalidFile(f"entry {name} is missing") from None
        if info.flag_bits & 0x1:
            raise InvalidFile(f"entry {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InvalidFile(f"entry {name} uses an unsupported compression method")
        if info.compress_size > archive_size:
            raise InvalidFile(f"entry {name} claims more bytes than the file holds (truncated?)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size \
                or info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 4096:
            raise InvalidFile(f"entry {name} has inconsistent sizes (a zip bomb or a damaged "
                              "file)")
        self.info = info

    def read_header(self, max_size=None):
        if max_size is not None and self.info.file_size > max_size:
            raise InvalidFile(f"entry {self.name} is too large ({self.info.file_size} bytes)")
        try:
            with self.zf.open(self.info) as fp:
                version = npy_format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
                else:
                    raise InvalidFile(f"entry {self.name} has .npy version {version}")
                self.offset = fp.tell()
        except _ZIP_ERRORS as exc:
            raise InvalidFile(f"entry {self.name} is not a readable array: {exc}") from None
        if fortran:
            raise InvalidFile(f"entry {self.name} is stored in Fortran order")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise InvalidFile(f"entry {self.name} has dtype {dtype}")
        self.shape, self.dtype = tuple(shape), dtype
        self.nbytes = math.prod(self.shape) * dtype.itemsize
        if self.info.file_size != self.offset + self.nbytes:
            raise InvalidFile(f"entry {self.name}: its size does not match its shape "
                              f"{self.shape}")
        return self

    def read(self):
        """The array, read with a bound of exactly the bytes its header announced."""
        try:
            with self.zf.open(self.info) as fp:
                fp.read(self.offset)
                data = fp.read(self.nbytes)
                if len(data) != self.nbytes or fp.read(1):
                    raise InvalidFile(f"entry {self.name} is truncated")
        except _ZIP_ERRORS as exc:
            raise InvalidFile(f"entry {self.name} is damaged: {exc}") from None
        return np.frombuffer(data, self.dtype).reshape(self.shape)


def float_entry(zf, stem, shape, archive_size):
    """The entry `stem`.npy, checked to hold a float32/float64 array of `shape` (not read)."""
    entry = Entry(zf, stem + ".npy", archive_size).read_header()
    if entry.dtype.kind != "f" or entry.dtype.itemsize not in (4, 8):
        raise InvalidFile(f"{stem} has dtype {entry.dtype}, not float32/float64")
    if entry.shape != tuple(shape):
        raise InvalidFile(f"{stem} has shape {entry.shape} but the architecture needs "
                          f"{tuple(shape)}")
    return entry


def read_finite(entry):
    arr = entry.read()
    if not np.isfinite(arr).all():
        raise InvalidFile(f"{entry.name[:-4]} holds NaN or infinity")
    return arr


def read_header(zf, archive_size):
    """The format version and the architecture JSON, each read within its size cap; the
    header dict gets the version as "__version__"."""
    names = set(zf.namelist())
    if FORMAT_ENTRY not in names or HEADER_ENTRY not in names:
        raise InvalidFile("not a fastlin model file (no format marker)")
    fmt = Entry(zf, FORMAT_ENTRY, archive_size).read_header(max_size=1024)
    if fmt.shape != () or fmt.dtype.kind not in "iu":
        raise InvalidFile("the format marker is not an integer")
    version = int(fmt.read()[()])
    if version not in READABLE_VERSIONS:
        raise InvalidFile(f"has format version {version}; this fastlin reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}")
    cap = (4 if version == 1 else 1) * MAX_HEADER_CHARS + 4096
    header = _parse_json(_header_text(Entry(zf, HEADER_ENTRY, archive_size).read_header(cap)))
    header["__version__"] = version
    return header


def _header_text(entry):
    if entry.dtype == np.uint8 and len(entry.shape) == 1:
        try:
            return entry.read().tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFile("the architecture is not UTF-8 text") from None
    if entry.dtype.kind == "U" and entry.shape == ():  # format 1
        return str(entry.read()[()])
    raise InvalidFile(f"the architecture entry has dtype {entry.dtype} and shape {entry.shape}")


def _parse_json(text):
    if len(text) > MAX_HEADER_CHARS or text.count("[") + text.count("{") > MAX_HEADER_CONTAINERS:
        raise InvalidFile("the architecture is too large")
    try:
        header = json.loads(text)
    except RecursionError:
        raise InvalidFile("the architecture is nested too deeply") from None
    except ValueError as exc:
        raise InvalidFile(f"the architecture is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise InvalidFile("the architecture is not a JSON object")
    return header
