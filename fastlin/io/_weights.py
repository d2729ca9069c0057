"""The check every weight passes on its way into a model, whether it comes from a model file
(``load``, ``load_checkpoint``) or from PyTorch (``fastlin.export.from_torch``): finite, and
still finite once cast to the model's dtype. A float64 1e200 cast to float32 is infinity, and
a model holding it predicts NaN, so it is refused here rather than warned about by numpy.

It imports nothing from fastlin, so the exporters can use it without loading the models.
"""
import numpy as np

CHUNK_BYTES = 1 << 22  # the largest temporary a check makes, whatever the array's size


def check_weights(values, dtype, what):
    """ValueError naming `what` unless every value is finite and representable in `dtype`.
    Checked a chunk at a time, so a check of a 1 GB array allocates a few MB."""
    dtype = np.dtype(dtype)
    flat = np.asarray(values).ravel(order="K")  # a view for any contiguous layout
    step = max(1, CHUNK_BYTES // max(flat.itemsize, 1))
    for start in range(0, flat.size, step):
        chunk = flat[start:start + step]
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(chunk.astype(dtype, copy=False)).all():
                continue
        if not np.isfinite(chunk).all():
            raise ValueError(f"{what} holds NaN or infinity (non-finite values)")
        largest = float(np.abs(chunk).max())
        raise ValueError(f"{what} holds values beyond the range of {dtype} (up to "
                         f"{largest:.3g}; {dtype} holds at most {np.finfo(dtype).max:.3g})")
