"""fastlin.sklearn's linear models against scikit-learn's, fit time and held-out score
(the rows of ``python -m fastlin bench --sklearn``, here at full size too).

    python bench/sklearn_linear.py [--repeat 3] [--quick] [--rows NAME ...] [--memory]

--memory: instead of times, the peak memory (tracemalloc) of a sparse fit, each library in a
fresh process.

One thread: the script sets the OpenMP/BLAS thread variables before NumPy loads. The rows and
the timing are in fastlin/benchmarks/versus_sklearn_linear.py.
"""
import argparse
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a tenth of the large sizes")
    parser.add_argument("--rows", nargs="*", help="only the rows whose name contains one of "
                        "these words")
    parser.add_argument("--memory", action="store_true", help="peak memory of a sparse fit")
    args = parser.parse_args(argv)
    from fastlin.benchmarks.versus_sklearn_linear import (run_linear_comparison,
                                                          run_memory_comparison)
    if args.memory:
        return run_memory_comparison()
    return 1 if run_linear_comparison(args.quick, args.repeat, args.rows) else 0


if __name__ == "__main__":
    sys.exit(main())
