"""The training room: every fit of a fastlin model runs through here.

- ``data``: what one fit trains and validates on, checked before anything changes;
- ``targets``: the loss fit infers, the target its kernel reads, the rows' weights;
- ``runners``: the compiled or the Python loop over a stretch of batches, chosen once;
- ``compiled``: the compiled plan (fastlin/_kernels/train.pyx) built over the model's arrays;
- ``loop``: the epochs (shuffle stream, chunks, Ctrl-C, the non-finite stop);
- ``threads``: the thread policy of one fit; ``snapshot``: the epoch-start weights;
- ``callbacks/``: CallbackList, the one dispatcher, and every callback, fit's own included;
- ``fit``: the above assembled, as Sequential.fit runs it.
"""
from fastlin.training.fit import fit, make_optimizer, run_epochs
from fastlin.training.loop import NonFiniteLossError

__all__ = ["fit", "make_optimizer", "run_epochs", "NonFiniteLossError"]
