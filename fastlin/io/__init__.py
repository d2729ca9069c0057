"""Saving and loading models and checkpoints as .npz archives: no pickle, nothing executed.

One job per module:

  _format   the archive layout (entry names, format version) and the limits a file respects
  _writer   serialising a model through its ``get_config()``; it imports no model class
  _bounded  bounded reads of the zip archive: entry sizes, .npy headers, the JSON header
  _weights  the finiteness-and-range check every weight passes on its way into a model
  _schema   validation of the header, field by field, and the parameter shapes it implies
  _loader   building the model and optimizer from a validated header

The models import ``_writer`` (``Sequential.save``); only ``_loader`` imports the models.

``save`` is atomic: everything is serialised first, written to a temporary file in the
target's directory, flushed and fsynced, then renamed over the target (``os.replace``), so a
save that fails or is killed leaves the previous file as it was.

``load`` trusts nothing in the file. A path must name a regular file (a device or a FIFO is
refused before a byte is read). It reads only the entries it expects, checks each header
entry's size before reading it, validates the JSON field by field, computes every
parameter's shape from the architecture without building a layer, compares those shapes with
the ones recorded in the stored .npy headers, with the zip's entry sizes and with the file's
size (entries may not share bytes), and only then allocates; every read is bounded by the
byte count it expects, and each array streams into the model's own memory, checked finite and
within the model's dtype (``_weights``, which ``fastlin.export.from_torch`` uses too). Any
failure is a ValueError whose message starts with the file's name (a missing file stays
FileNotFoundError).
Format 1 files (fastlin 0.1) still load, as a Sequential.
"""
from fastlin._atomic import atomic_write
from fastlin.io._format import (FORMAT_VERSION, MAX_DEFLATE_RATIO, MAX_FEATURES,
                                MAX_HEADER_CHARS, MAX_HEADER_CONTAINERS, MAX_LAYERS,
                                MAX_STATE_DEPTH, READABLE_VERSIONS)
from fastlin.io._loader import load_file
from fastlin.io._writer import save_model

__all__ = ["FORMAT_VERSION", "MAX_DEFLATE_RATIO", "MAX_FEATURES", "MAX_HEADER_CHARS",
           "MAX_HEADER_CONTAINERS", "MAX_LAYERS", "MAX_STATE_DEPTH", "READABLE_VERSIONS",
           "atomic_write", "load", "load_checkpoint", "save_model"]


def load(path, backend=None):
    """Load a model saved with ``model.save(path)``: the class that was saved (an MLP stays an
    MLP), its weights, ``metadata`` and training state. ValueError naming the file for any
    damaged, foreign or hostile file, and for a path that is not a regular file; for a path
    where no file is, an error that is both that ValueError and a FileNotFoundError. A
    checkpoint's optimizer is checked but not rebuilt; use ``load_checkpoint`` for it."""
    return load_file(path, backend, with_optimizer=False)[0]


def load_checkpoint(path, backend=None):
    """Load ``(model, optimizer)`` saved with ``model.save(path, optimizer=opt)``; the optimizer
    is rebuilt over ``model.parameters()`` (SGD, Adam or AdamW, on the backend it ran on, or on
    `backend` when given) with its settings, step count and state, so training continues
    bitwise as it would have. optimizer is None when the file holds none."""
    return load_file(path, backend, with_optimizer=True)
