"""
Resume from a checkpoint
========================

Train, checkpoint (model + optimizer + shuffle stream), load, and continue: the resumed run
ends with bitwise the weights of a run that never stopped.

Run: python examples/resume_from_checkpoint.py
"""
import os
import tempfile

import numpy as np

import fastlin
from fastlin.data import load_digits

X, y = load_digits()

# one run of 6 epochs
straight = fastlin.MLP([64, 64, 10], seed=0)
straight.fit(X, y, optimizer=fastlin.Adam(straight.parameters(), lr=2e-3), epochs=6)

# the same run, stopped after 3 epochs and resumed from a checkpoint file
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "checkpoint.npz")
    first = fastlin.MLP([64, 64, 10], seed=0)
    opt = fastlin.Adam(first.parameters(), lr=2e-3)
    first.fit(X, y, optimizer=opt, epochs=3)
    first.save(path, optimizer=opt)
    model, opt = fastlin.load_checkpoint(path)      # an MLP again, and its Adam state
    model.fit(X, y, optimizer=opt, epochs=3)

same = all(np.array_equal(a, b) for a, b in zip(straight.parameters(), model.parameters()))
print(f"resumed run equals the uninterrupted run bitwise: {same}; "
      f"accuracy {model.evaluate(X, y)['accuracy']:.3f} after {opt.step_count} Adam steps")
assert same
