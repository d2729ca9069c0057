"""
Training on a Dask cluster
==========================

Train fastlin's MLPClassifier on a Dask array that no single task holds: 200,000 x 64
samples in 8 chunks, generated on the workers of a local Dask cluster (two processes on the
loopback interface), fitted chunk by chunk with dask_ml's Incremental, scored on a held-out
chunk. Needs the extra ``fastlin[dask]`` (dask[distributed] and dask-ml).

This example is shown here but not run when the documentation is built: its worker
processes re-import this file, and starting the cluster takes tens of seconds.
"""
import os
import sys
import time

N_SAMPLES, N_FEATURES, N_CLASSES, CHUNK = 200_000, 64, 5, 25_000


def teacher(X, seed=0):
    """Labels from a fixed random two-layer network: a nonlinear task a linear model misses."""
    import numpy as np
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((X.shape[1], 8)).astype(X.dtype) / np.sqrt(X.shape[1])
    B = rng.standard_normal((8, N_CLASSES)).astype(X.dtype)
    return np.argmax(np.tanh(X @ A) @ B, axis=1)


def main():
    # Dask's INFO lines off, here and in the worker processes (read when dask is imported)
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    try:
        import dask.array as da
        import distributed
        from dask_ml.wrappers import Incremental
    except ImportError as exc:
        print(f"this example needs the extra fastlin[dask] (pip install 'fastlin[dask]'): {exc}")
        return 0
    import logging

    import numpy as np

    from fastlin.sklearn import MLPClassifier

    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        # the data are made on the workers, chunk by chunk: the client never holds them
        X = da.random.default_rng(0).standard_normal(
            (N_SAMPLES, N_FEATURES), chunks=(CHUNK, N_FEATURES), dtype=np.float32)
        y = X.map_blocks(teacher, drop_axis=1, dtype=np.int64)
        X, y = client.persist([X, y])
        n_train = N_SAMPLES - CHUNK  # the last chunk is held out
        X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
        print(f"{N_SAMPLES:,} x {N_FEATURES} float32 in {X.numblocks[0]} chunks of {CHUNK:,} "
              f"on {len(client.scheduler_info()['workers'])} workers; "
              f"training on {X_train.numblocks[0]} chunks")

        model = Incremental(MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=2e-3,
                                          batch_size=256, random_state=0),
                            shuffle_blocks=True, random_state=0)
        classes = np.arange(N_CLASSES)
        for epoch in (1, 2):  # each pass feeds every training chunk once, in a new order
            model.partial_fit(X_train, y_train, classes=classes)
            print(f"pass {epoch}: held-out accuracy {model.score(X_test, y_test):.3f}")

        predicted = model.predict(X_test)  # a dask array, computed on the workers
        majority = np.bincount(y_test.compute()).max() / CHUNK
        accuracy = float((predicted == y_test).mean().compute())
        client.retire_workers(close_workers=True)  # quiet shutdown: workers leave first
    print(f"held-out accuracy {accuracy:.3f} (majority class {majority:.3f}), "
          f"{time.perf_counter() - start:.1f} s including the cluster's start")
    assert accuracy > 0.8, accuracy
    return 0


if __name__ == "__main__":
    sys.exit(main())
