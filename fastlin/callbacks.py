"""Callbacks for ``fit``, with Keras's names, arguments and rules.

``fit(..., callbacks=[...])`` calls ``set_model(model)`` on each callback, then
``on_train_begin(logs)``; per epoch (0-based ``epoch``, as in Keras) ``on_epoch_begin(epoch,
logs)``, the epoch (the compiled loop, untouched), ``on_epoch_end(epoch, logs)`` with logs
``{"loss", "accuracy"?, "val_loss"?, "val_accuracy"?, "learning_rate", "lr"}`` ("lr", the
same rate, is kept for callbacks that read the older name); and ``on_train_end(logs)``.
Setting ``model.stop_training = True`` in a hook stops training after that epoch's hooks.

Monitored quantities (EarlyStopping, ModelCheckpoint with save_best_only, ReduceLROnPlateau):

- ``mode="auto"`` maximises a key containing "acc" (accuracy, val_accuracy) and minimises any
  other (loss, val_loss), as Keras's ReduceLROnPlateau and ModelCheckpoint decide;
- a ``val_`` key that is missing from the logs (fit without validation data) falls back to the
  training key of the same name with one UserWarning (Keras warns and does nothing, which
  leaves a run silently unmonitored); a key missing altogether raises ValueError naming the
  keys that exist, at the end of the first epoch.
"""
from fastlin.training.callbacks import (CSVLogger, Callback, CallbackList, EarlyStopping,
                                        History, LearningRateScheduler, ModelCheckpoint,
                                        ReduceLROnPlateau)

__all__ = ["Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "History"]
