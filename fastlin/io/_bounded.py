"""Bounded reads of a model archive: nothing is read or allocated before its size is known
to be what the file's own metadata and the architecture allow.

A zip's central directory, an .npy header and the JSON all come from the file, so each is
checked against the others (an entry cannot claim more bytes than the archive holds, nor
inflate beyond what deflate can produce, nor hold more data than its .npy header announces,
nor share bytes with another entry) and every read asks for exactly the bytes it expects.
Only a regular file is read by path: a device or a FIFO has no size to bound a read by.
Parameters are streamed into the model's own arrays, so a load costs the model's size.
"""
import json
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from fastlin.io._format import (FORMAT_ENTRY, HEADER_ENTRY, MAX_DEFLATE_RATIO,
                                MAX_HEADER_CHARS, MAX_HEADER_CONTAINERS, READABLE_VERSIONS,
                                InvalidFile)
from fastlin.io._weights import check_weights

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
               NotImplementedError, RuntimeError)

_CHUNK_BYTES = 1 << 22  # what streaming an entry into its array holds at once


class Archive:
    """A model file opened for bounded reads: the zip (``zf``) and the byte size of the file
    (``size``). A path must name a regular file: a FIFO, a device (``/dev/zero`` never ends)
    or a directory is refused before anything is read. A file object is read as it is.
    A context manager; it closes only the file it opened itself."""

    def __init__(self, source):
        self._owned = None
        self.entries = []  # every Entry made from this archive: check_disjoint checks them
        if isinstance(source, (str, bytes)):
            source = self._owned = _open_regular(source)
        try:
            self.size = _byte_size(source)
            self.zf = _open_zip(source)
        except BaseException:
            self.close()
            raise

    def close(self):
        if getattr(self, "zf", None) is not None:
            self.zf.close()
        if self._owned is not None:
            self._owned.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_regular(path):
    """`path` opened for reading, refused unless it is a regular file. O_NONBLOCK keeps the
    open of a FIFO from waiting for a writer; it changes nothing for a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InvalidFile("is a directory, not a fastlin model file")
        if not stat.S_ISREG(mode):
            raise InvalidFile("is not a regular file (a device, FIFO or socket), not a fastlin "
                              "model file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _byte_size(fileobj):
    """The byte size of a seekable file object (its position is kept)."""
    pos = fileobj.tell()
    size = fileobj.seek(0, os.SEEK_END)
    fileobj.seek(pos)
    return size


def _open_zip(fileobj):
    try:
        return zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        if _starts_with(fileobj, npy_format.MAGIC_PREFIX):
            raise InvalidFile("is a single .npy array, not a fastlin model file (.npz archive); "
                              "save models with model.save(path)") from None
        raise InvalidFile(f"not a readable fastlin model file (not a zip archive: {exc})") from None


def _starts_with(fileobj, prefix):
    try:
        fileobj.seek(0)
        return fileobj.read(len(prefix)) == prefix
    except (OSError, ValueError):
        return False


def _data_span(zf, info, size):
    """The bytes ``[start, end)`` of the file that entry `info` occupies: its local header and
    its compressed data, as the local header itself describes them."""
    try:
        zf.fp.seek(info.header_offset)
        head = zf.fp.read(zipfile.sizeFileHeader)
    except (OSError, ValueError, OverflowError) as exc:
        raise InvalidFile(f"entry {info.filename} cannot be located: {exc}") from None
    if len(head) != zipfile.sizeFileHeader or head[:4] != zipfile.stringFileHeader:
        raise InvalidFile(f"entry {info.filename} has no local header (a damaged file)")
    fields = struct.unpack(zipfile.structFileHeader, head)
    end = info.header_offset + len(head) + fields[10] + fields[11] + info.compress_size
    if end > size:
        raise InvalidFile(f"entry {info.filename} claims more bytes than the file holds "
                          "(truncated?)")
    return info.header_offset, end


def check_disjoint(archive):
    """Refuse entries that share bytes: a few MB whose entries all point into the same data
    would otherwise load as a model of any size (an overlapping-entry zip bomb). Together with
    each entry's bound by its compressed size, the data read is bounded by the file's size."""
    spans = sorted((e.span, e.name) for e in archive.entries)
    for ((_, end), name), ((start, _), other) in zip(spans, spans[1:]):
        if start < end:
            raise InvalidFile(f"entries {name} and {other} overlap (a zip bomb or a damaged "
                              "file)")


class Entry:
    """One .npy member: its ZipInfo and, once its header is read, the shape, dtype and the
    offset of the data."""

    def __init__(self, archive, name):
        zf = self.zf = archive.zf
        self.name = name
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise InvalidFile(f"entry {name} is missing") from None
        if info.flag_bits & 0x1:
            raise InvalidFile(f"entry {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InvalidFile(f"entry {name} uses an unsupported compression method")
        if info.compress_size > archive.size:
            raise InvalidFile(f"entry {name} claims more bytes than the file holds (truncated?)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size \
                or info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 4096:
            raise InvalidFile(f"entry {name} has inconsistent sizes (a zip bomb or a damaged "
                              "file)")
        self.info = info
        self.span = _data_span(zf, info, archive.size)
        archive.entries.append(self)

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
        """The array, read with a bound of exactly the bytes its header announced (for the
        small header entries; parameters are streamed by read_into)."""
        try:
            with self.zf.open(self.info) as fp:
                fp.read(self.offset)
                data = fp.read(self.nbytes)
                if len(data) != self.nbytes or fp.read(1):
                    raise InvalidFile(f"entry {self.name} is truncated")
        except _ZIP_ERRORS as exc:
            raise InvalidFile(f"entry {self.name} is damaged: {exc}") from None
        return np.frombuffer(data, self.dtype).reshape(self.shape)

    def read_into(self, dst):
        """Stream the array into `dst` (C-contiguous, this entry's shape) a chunk at a time,
        each chunk checked by check_weights against dst's dtype: loading costs the model's
        memory, not that plus a copy of the file's data."""
        flat = dst.reshape(-1)
        if not np.shares_memory(flat, dst):
            raise RuntimeError(f"{self.name}: the destination array is not contiguous")
        step = max(1, _CHUNK_BYTES // self.dtype.itemsize)
        try:
            with self.zf.open(self.info) as fp:
                fp.read(self.offset)
                for start in range(0, flat.size, step):
                    n = min(step, flat.size - start)
                    data = fp.read(n * self.dtype.itemsize)
                    if len(data) != n * self.dtype.itemsize:
                        raise InvalidFile(f"entry {self.name} is truncated")
                    flat[start:start + n] = _checked(np.frombuffer(data, self.dtype),
                                                     dst.dtype, self.name[:-4])
                if fp.read(1):
                    raise InvalidFile(f"entry {self.name} holds more data than its shape")
        except _ZIP_ERRORS as exc:
            raise InvalidFile(f"entry {self.name} is damaged: {exc}") from None
        return dst


class _WeightError(Exception):
    """check_weights' ValueError, kept apart from the zip module's ValueErrors."""


def _checked(values, dtype, what):
    try:
        check_weights(values, dtype, what)
    except ValueError as exc:
        raise _WeightError(str(exc)) from None
    return values


def float_entry(archive, stem, shape):
    """The entry `stem`.npy, checked to hold a float32/float64 array of `shape` (not read)."""
    entry = Entry(archive, stem + ".npy").read_header()
    if entry.dtype.kind != "f" or entry.dtype.itemsize not in (4, 8):
        raise InvalidFile(f"{stem} has dtype {entry.dtype}, not float32/float64")
    if entry.shape != tuple(shape):
        raise InvalidFile(f"{stem} has shape {entry.shape} but the architecture needs "
                          f"{tuple(shape)}")
    return entry


def read_into(entry, dst):
    """`entry`'s array streamed into `dst`, refused (naming the entry) if a value is NaN,
    infinite or beyond the range of dst's dtype."""
    try:
        return entry.read_into(dst)
    except _WeightError as exc:
        raise InvalidFile(str(exc)) from None


def read_header(archive):
    """The format version and the architecture JSON, each read within its size cap; the
    header dict gets the version as "__version__"."""
    zf = archive.zf
    names = set(zf.namelist())
    if FORMAT_ENTRY not in names or HEADER_ENTRY not in names:
        raise InvalidFile("not a fastlin model file (no format marker)")
    fmt = Entry(archive, FORMAT_ENTRY).read_header(max_size=1024)
    if fmt.shape != () or fmt.dtype.kind not in "iu":
        raise InvalidFile("the format marker is not an integer")
    version = int(fmt.read()[()])
    if version not in READABLE_VERSIONS:
        raise InvalidFile(f"has format version {version}; this fastlin reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}")
    cap = (4 if version == 1 else 1) * MAX_HEADER_CHARS + 4096
    header = _parse_json(_header_text(Entry(archive, HEADER_ENTRY).read_header(cap)))
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
