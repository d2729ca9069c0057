"""What fit(metrics=["accuracy", "mae", "mse"]) costs on W1 (784-256-128-10 ReLU, batch 128,
softmax CE, Adam): one epoch with and without, alternating in one process; prints the median
ratio. Run: PYTHONPATH=. python bench/metrics_cost.py"""
import statistics
import time

import numpy as np

import fastlin

rng = np.random.default_rng(0)
X = rng.standard_normal((12_000, 784)).astype(np.float32)
y = rng.integers(0, 10, 12_000)
ratios, times = [], {False: [], True: []}
models = {flag: fastlin.MLP([784, 256, 128, 10], seed=0) for flag in (False, True)}
for flag, m in models.items():  # warm up: builds, optimizer state
    m.fit(X[:1024], y[:1024], optimizer="adam", epochs=1, batch_size=128,
          metrics=["accuracy", "mae", "mse"] if flag else None)
for rep in range(9):
    pair = {}
    for flag in ((False, True) if rep % 2 == 0 else (True, False)):
        t0 = time.perf_counter()
        models[flag].fit(X, y, optimizer="adam", epochs=1, batch_size=128,
                         metrics=["accuracy", "mae", "mse"] if flag else None)
        pair[flag] = time.perf_counter() - t0
        times[flag].append(pair[flag])
    ratios.append(pair[True] / pair[False])
print("epoch s without:", [round(t, 3) for t in times[False]])
print("epoch s with:   ", [round(t, 3) for t in times[True]])
print("median ratio with/without: %.4f" % statistics.median(ratios))
