"""How many threads fastlin's work runs on, and why.

- ``threads``: the OpenMP kernels' thread count and the buffer sizes below which a call stays
  on one thread (``fastlin.set_num_threads`` lives here);
- ``blas_threads``: which OpenBLAS runs the matrix products, and its count for the calling
  thread;
- ``contention``: the guard that takes threads away from fit while another process competes for
  the cores, and gives them back;
- ``calibration``: the per-machine measurement of the thresholds in ``threads``.

It sits below the kernel registry (``fastlin.backend`` reads the counts from here), so nothing
in it imports the registry, the layers or training at module level.
"""
