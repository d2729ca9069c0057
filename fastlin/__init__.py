"""fastlin: linear models and multilayer perceptrons trained fast on the CPU.

The compiled kernels are imported first, so a missing build fails here with an ImportError
that says how to build; fastlin never falls back silently to the NumPy path.
"""
import os

# OpenMP threads that spin after a parallel region steal the two cores from BLAS's own thread
# pool (measured: a 128x256x256 GEMM went from 0.2 ms to 11 ms). Passive waiting is the default
# unless the user chose otherwise; it must be set before the OpenMP runtime loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from fastlin import _kernels  # noqa: E402,F401  (raises the build hint when the extension is missing)
from fastlin._kernels._config import openmp_enabled  # noqa: E402
from fastlin.backend import get_num_threads, set_num_threads
from fastlin.io import load, load_checkpoint
from fastlin.layers import (Abs, Dense, Dropout, Identity, Layer, LeakyReLU, PReLU, ReLU,
                            Sigmoid, Tanh)
from fastlin.linear import LinearRegression, LogisticRegression, SoftmaxRegression
from fastlin.losses import (BCEWithLogitsLoss, GaussianNLLLoss, HuberLoss, L1Loss, MSELoss,
                            SmoothL1Loss, SoftmaxCrossEntropyLoss)
from fastlin.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from fastlin.sequential import MLP, History, NonFiniteLossError, Sequential
from fastlin import callbacks, export  # noqa: E402,F401  (submodules)

__version__ = "0.1.0"

from fastlin.parallel import calibration as _calibration  # noqa: E402

_calibration.load()  # this machine's measured thread thresholds, if `bench --calibrate` stored them

from fastlin.parallel import gemm_choice as _gemm_choice  # noqa: E402

_gemm_choice.choose()  # the GEMM per size class: FASTLIN_BLAS, or measured here once and stored

__all__ = [
    "Abs", "Adagrad", "Adam", "AdamW", "BCEWithLogitsLoss", "Dense", "Dropout", "GaussianNLLLoss",
    "History", "HuberLoss", "Identity", "L1Loss", "Layer", "LeakyReLU", "LinearRegression",
    "LogisticRegression", "MLP", "MSELoss", "NonFiniteLossError", "PReLU", "RMSprop", "ReLU",
    "SGD", "Sequential", "Sigmoid", "SmoothL1Loss", "SoftmaxCrossEntropyLoss", "SoftmaxRegression", "Tanh", "get_num_threads", "load",
    "load_checkpoint", "openmp_enabled", "set_num_threads",
]
