"""Callbacks for ``fit``, with Keras's names, arguments and rules (public as
``fastlin.callbacks``)."""
from fastlin.training.callbacks.base import Callback, CallbackList
from fastlin.training.callbacks.checkpoint import ModelCheckpoint
from fastlin.training.callbacks.csv_logger import CSVLogger
from fastlin.training.callbacks.early_stopping import EarlyStopping
from fastlin.training.callbacks.history import History
from fastlin.training.callbacks.schedules import LearningRateScheduler, ReduceLROnPlateau

__all__ = ["Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "History"]
