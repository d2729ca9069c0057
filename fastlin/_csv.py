"""Reading the command line's CSV files.

A file is read by a compiled parser: pandas' C reader when pandas is installed (the optional
extra ``fastlin[csv]``), else numpy's C reader (``np.loadtxt``, numpy >= 1.23). Both only take
the well-formed path. Whenever they meet something odd (a ragged row, an empty or non-finite
cell, a column that looked numeric and is not) the file is read again by the exact reader, the
``csv`` module, which either returns the same table or raises a `CSVError` naming the line and
the column. So every message comes from one place, and the fast readers never have to be exact
about errors.

Columns are numeric (float64) or text. A text column is one with a cell that is not a number, or
one the caller asks to keep as text; its values are stored as integer codes into
``Table.categories[name]`` (values stripped of surrounding spaces, in order of first appearance).
A UTF-8 byte order mark before the header is ignored.
"""
import csv
import importlib.util
import itertools
import os
import shutil
import stat
import tempfile
import warnings
import weakref

import numpy as np

#: data rows the numpy path looks at to guess which columns hold text
SNIFF_ROWS = 1000
#: the delimiters read_csv recognises by itself
DELIMITERS = (",", ";", "\t")


class CSVError(ValueError):
    """The file cannot be read as the table it should be; the message names the file."""


class Table:
    """A CSV file as columns: ``header`` (names), ``values`` (float64, rows x columns; text
    columns hold codes) and ``categories`` ({text column name: list of its distinct values})."""

    def __init__(self, path, header, values, categories, delimiter=","):
        self.path, self.header, self.values, self.categories = path, header, values, categories
        self.delimiter = delimiter

    @property
    def n_rows(self):
        return self.values.shape[0]

    def text_columns(self, names=None):
        """The text columns among ``names`` (default: all), in file order."""
        names = self.header if names is None else names
        return [n for n in names if n in self.categories]

    def numeric(self, names):
        """float64 array (rows, len(names)) of numeric columns."""
        return self.values[:, [self.header.index(n) for n in names]]

    def mostly_numbers(self, name):
        """Whether a text column is numbers but for a few cells (at most one in ten, at least
        one), as ``n/a?`` in a column of measurements: a numeric column with bad cells."""
        if name not in self.categories:
            return False
        numeric = np.array([_is_number(c) for c in self.categories[name]], dtype=bool)
        codes = self.values[:, self.header.index(name)].astype(np.intp)
        n_bad = int(np.count_nonzero(~numeric[codes])) if numeric.any() else len(codes)
        return 0 < n_bad < len(codes) and n_bad <= max(1, len(codes) // 10)

    def first_non_number(self, name):
        """(line number, cell) of the first cell of column `name` that is not a number, read
        again from the file (only on this error path: the fast readers keep no line numbers)."""
        j = self.header.index(name)
        with _open(self.path) as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            next((row for row in reader if not _is_blank(row)), None)  # the header
            for row in reader:
                if not _is_blank(row) and j < len(row) and not _is_number(row[j].strip()):
                    return reader.line_num, row[j].strip()
        return None, None

    def column(self, name):
        """One column: float64 values, or a str object array for a text column."""
        j = self.header.index(name)
        if name in self.categories:
            return np.array(self.categories[name], dtype=object)[self.values[:, j].astype(np.intp)]
        return self.values[:, j]


def _engine_default():
    return "pandas" if importlib.util.find_spec("pandas") is not None else "numpy"


def read_csv(path, text_columns=(), numeric_columns=None, engine=None, delimiter=None):
    """Read a CSV file with a header row into a `Table`.

    Parameters
    ----------
    path : str
    text_columns : iterable of column names kept as text whatever they hold (columns the caller
        will not use as numbers); unknown names are ignored
    numeric_columns : iterable of column names, optional; when given, every other column is
        kept as text (the caller uses only these as numbers)
    engine : "pandas", "numpy" or None (pandas when installed)
    delimiter : one character, or None (default) to take the one of ``DELIMITERS`` that splits
        the first lines into the same number of fields, the most (``,`` when none does)

    Raises
    ------
    CSVError naming the file, and the line and column where that applies.
    """
    engine = engine or _engine_default()
    if engine not in ("pandas", "numpy"):
        raise ValueError(f"engine must be 'pandas' or 'numpy', got {engine!r}")
    copy = _regular_copy(path)
    if copy is None:
        return _read_table(path, text_columns, numeric_columns, engine, delimiter)
    try:
        table = _read_table(copy.name, text_columns, numeric_columns, engine, delimiter)
    except CSVError as exc:
        copy.cleanup()
        raise CSVError(str(exc).replace(copy.name, str(path))) from None
    except BaseException:
        copy.cleanup()
        raise
    table.path = copy.name  # read again on an error path: the copy lives as long as the table
    weakref.finalize(table, copy.cleanup)
    return table


class _StreamCopy:
    """A pipe's or device's bytes in a temporary regular file."""

    def __init__(self, name, directory):
        self.name, self._directory = name, directory

    def cleanup(self):
        shutil.rmtree(self._directory, ignore_errors=True)


def _regular_copy(path):
    """None for a regular file (or a path that is not there: the readers name that error);
    otherwise a copy of everything the stream holds. The readers open the path several times
    (the delimiter, the header, the rows): a pipe would give each open what the last left, and
    rows would be lost."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, TypeError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    directory = tempfile.mkdtemp(prefix="fastlin-csv-")
    name = os.path.join(directory, "stream.csv")
    try:
        with open(path, "rb") as src, open(name, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise CSVError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return _StreamCopy(name, directory)


def _read_table(path, text_columns, numeric_columns, engine, delimiter):
    if delimiter is None:
        delimiter = sniff_delimiter(path)
    elif not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise ValueError(f"delimiter must be one character (not a quote or newline), got "
                         f"{delimiter!r}")
    header, skip, sample = _read_head(path, SNIFF_ROWS if engine == "numpy" else 0, delimiter)
    text = set(text_columns)
    if numeric_columns is not None:
        text |= set(header) - set(numeric_columns)
    as_text = [n for n in header if n in text]
    table = None
    try:
        if engine == "pandas":
            table = _read_pandas(path, header, skip, as_text, delimiter)
        else:
            table = _read_numpy(path, header, skip, as_text, sample, delimiter)
    except (ValueError, IndexError, OverflowError, UnicodeDecodeError, OSError):
        table = None  # the exact reader below says what is wrong
    if table is None:
        table = _read_exact(path, header, skip, as_text, delimiter)
    if table.n_rows == 0:
        raise CSVError(f"{path}: the file has a header but no data rows")
    table.delimiter = delimiter
    return table


# ------------------------------------------------------------------- the header
def _open(path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise CSVError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CSVError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise CSVError(f"{path}: cannot be opened ({exc.strerror or exc})") from None


def _is_blank(row):
    return not any(cell.strip() for cell in row)


def sniff_delimiter(path, n_lines=20):
    """The delimiter of ``DELIMITERS`` that splits the first non-blank lines into the same
    number of fields, the most of them; "," when none splits the header. (A ``;`` file read
    with "," would be one column, and the message would name a column no one wrote.)"""
    with _open(path) as f:
        try:
            lines = [line for line in itertools.islice(f, 4 * n_lines) if line.strip()][:n_lines]
        except UnicodeDecodeError:
            raise CSVError(f"{path}: is not UTF-8 text") from None
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(counts) == 1 and counts.pop() > best_fields:
            best, best_fields = delimiter, len(next(csv.reader(lines[:1], delimiter=delimiter)))
    return best


def _read_head(path, n_sample=0, delimiter=","):
    """(header, physical lines up to and including it, the first `n_sample` data rows)."""
    with _open(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = next((row for row in reader if not _is_blank(row)), None)
            skip = reader.line_num
            sample = [row for row in itertools.islice(reader, n_sample) if not _is_blank(row)]
        except UnicodeDecodeError:
            raise CSVError(f"{path}: is not UTF-8 text") from None
        except csv.Error as exc:
            raise CSVError(f"{path}: line {reader.line_num}: {exc}") from None
    if header is None:
        raise CSVError(f"{path}: the file is empty")
    header = [h.strip() for h in header]
    if any(h == "" for h in header):
        raise CSVError(f"{path}: the header row has an empty column name")
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise CSVError(f"{path}: the header row names {', '.join(map(repr, dup))} more than once")
    return header, skip, sample


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------ the fast readers
def _read_pandas(path, header, skip, as_text, delimiter=","):
    import pandas as pd
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = pd.read_csv(path, sep=delimiter, header=None, names=header, skiprows=skip,
                         index_col=False,
                         encoding="utf-8-sig", engine="c",
                         keep_default_na=False, na_values=[""], dtype={n: str for n in as_text})
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        return None  # a row longer than the header: pandas dropped cells
    categories = {}
    for name in header:
        col = df[name]
        if name not in as_text and col.dtype.kind in "iuf":
            continue
        if name not in as_text and col.dtype.kind != "b":
            try:
                df[name] = col.astype(np.float64)  # "nan", "inf": numbers here
                continue
            except (ValueError, TypeError):
                pass
        strings = col.astype(object).where(col.notna(), "").astype(str).str.strip().to_numpy()
        codes, uniques = pd.factorize(strings)
        df[name] = codes.astype(np.float64)
        categories[name] = [str(u) for u in uniques]
    values = df.to_numpy(np.float64)
    if not np.isfinite(values).all():  # (text columns hold codes, always finite)
        return None  # an empty cell, a short row or a NaN/inf: the exact reader names it
    return Table(path, header, values, categories)


def _read_numpy(path, header, skip, as_text, sample, delimiter=","):
    text = set(as_text)
    for j, name in enumerate(header):
        if any(j < len(row) and row[j].strip() and not _is_number(row[j]) for row in sample):
            text.add(name)
    tables = {name: {} for name in header if name in text}

    def converter(table):
        return lambda cell: table.setdefault(cell.strip(), len(table))

    converters = {j: converter(tables[name]) for j, name in enumerate(header) if name in tables}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
        values = np.loadtxt(path, delimiter=delimiter, skiprows=skip, comments=None, quotechar='"',
                            encoding="utf-8-sig", converters=converters or None,
                            dtype=np.float64, ndmin=2)
    if values.shape[0] == 0:
        values = np.empty((0, len(header)))
    if values.shape[1] != len(header):
        return None
    if not np.isfinite(values).all():  # (text columns hold codes, always finite)
        return None
    return Table(path, header, values, {name: list(t) for name, t in tables.items()})


# ------------------------------------------------------------- the exact reader
def _read_exact(path, header, skip, as_text, delimiter=","):
    """The csv module, cell by cell: slow, and exact about what is wrong and where."""
    rows, lines = [], []
    with _open(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for _ in itertools.islice(reader, skip):
                pass
            for row in reader:
                if _is_blank(row):
                    continue
                if len(row) != len(header):
                    raise CSVError(f"{path}: line {reader.line_num} has {len(row)} "
                                   f"field{'s' * (len(row) != 1)}, "
                                   f"the header has {len(header)}")
                rows.append(row)
                lines.append(reader.line_num)
        except UnicodeDecodeError:
            raise CSVError(f"{path}: is not UTF-8 text") from None
        except csv.Error as exc:
            raise CSVError(f"{path}: line {reader.line_num}: {exc}") from None
    values = np.empty((len(rows), len(header)))
    categories = {}
    for j, name in enumerate(header):
        cells = [row[j].strip() for row in rows]
        numbers = None
        if name not in as_text:
            try:
                numbers = [float(c) for c in cells]
            except ValueError:
                numbers = None
        if numbers is None:
            if name not in as_text:
                # text unless the only non-numbers are empty cells: then it is a numeric column
                # with missing values
                bad = [i for i, c in enumerate(cells) if not _is_number(c)]
                if all(cells[i] == "" for i in bad):
                    raise CSVError(f"{path}: line {lines[bad[0]]}, column {name!r}: empty value")
            table = {}
            values[:, j] = [table.setdefault(c, len(table)) for c in cells]
            categories[name] = list(table)
            continue
        values[:, j] = numbers
        bad = np.flatnonzero(~np.isfinite(values[:, j]))
        if bad.size:
            i = int(bad[0])
            raise CSVError(f"{path}: line {lines[i]}, column {name!r}: {cells[i]!r} is not a "
                           f"finite number")
    return Table(path, header, values, categories)
