"""The archive layout of a saved model (format 2) and the limits a file must respect.

A zip of .npy entries stored uncompressed, as ``numpy.savez`` writes them (``numpy.load`` can
read the arrays back for inspection):

  __fastlin_format__.npy  int64 scalar, the format version
  __architecture__.npy    uint8 vector: UTF-8 JSON with "class" ("Sequential" or "MLP"),
                          "mlp" (MLP's constructor arguments), "dtype", "backend", "layers"
                          ([{"type", "config"}]), "metadata", "seed", "fit_rng_state",
                          "loss" and, in a checkpoint, "optimizer"
  param_{layer}_{k}.npy   the parameters, in the order of ``model.parameters()``
  optim_{j}.npy           a checkpoint's optimizer state, in ``state_dict()["state"]`` order

Format 1 (fastlin 0.1) stored the JSON as a unicode scalar and had no "class": a Sequential.
"""
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

MAX_HEADER_CHARS = 16 << 20        # the JSON text (format 1 stored 4 bytes a character)
MAX_HEADER_CONTAINERS = 1_000_000  # "[" and "{" in the JSON text: bounds the objects it builds
MAX_FEATURES = 2**31 - 1           # what the BLAS in use accepts as one dimension
MAX_DEFLATE_RATIO = 1032           # deflate cannot expand one byte into more than this
MAX_STATE_DEPTH = 16
MAX_LAYERS = 10_000

FORMAT_STEM = "__fastlin_format__"
HEADER_STEM = "__architecture__"
FORMAT_ENTRY = FORMAT_STEM + ".npy"
HEADER_ENTRY = HEADER_STEM + ".npy"
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")


def param_stem(layer, k):
    """The entry name (without ".npy") of parameter `k` of layer `layer`."""
    return f"param_{layer}_{k}"


def optim_stem(j):
    """The entry name (without ".npy") of the optimizer's state array `j`."""
    return f"optim_{j}"


class MissingFile(FileNotFoundError, ValueError):
    """load's error for a path where no file is: a FileNotFoundError, as Python's own open
    raises, and a ValueError naming the file, as every other failure of load is."""


class InvalidFile(Exception):
    """A defect of the file being read; load turns it into a ValueError naming the file."""
