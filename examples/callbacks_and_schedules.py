"""
Callbacks and a one-cycle schedule
==================================

Callbacks and a one-cycle learning-rate schedule around fit's compiled loop, on the digits.

Run: python examples/callbacks_and_schedules.py
"""
import math
import os
import tempfile

import fastlin
from fastlin.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint
from fastlin.data import load_digits, train_test_split
from fastlin.optim.lr_scheduler import OneCycleLR

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
model = fastlin.Sequential(fastlin.Dense(64, 128), fastlin.ReLU(), fastlin.Dropout(0.2),
                           fastlin.Dense(128, 10), seed=0)
opt = fastlin.SGD(model.parameters(), lr=0.01, momentum=0.9)
epochs, batch = 20, 32
schedule = OneCycleLR(opt, max_lr=0.1, epochs=epochs,
                      steps_per_epoch=math.ceil(len(X_train) / batch))   # stepped every batch
with tempfile.TemporaryDirectory() as tmp:
    best, log = os.path.join(tmp, "best.npz"), os.path.join(tmp, "training.csv")
    history = model.fit(X_train, y_train, optimizer=opt, epochs=epochs, batch_size=batch, seed=0,
                        validation_data=(X_test, y_test), scheduler=schedule,
                        callbacks=[EarlyStopping(patience=4, restore_best_weights=True),
                                   ModelCheckpoint(best, save_best_only=True),
                                   CSVLogger(log)])
    rows = open(log).read().splitlines()
    print(f"{len(history.epoch)} epochs, CSV log of {len(rows) - 1} rows, best checkpoint "
          f"{os.path.getsize(best)} bytes")
print(f"held-out accuracy {model.evaluate(X_test, y_test)['accuracy']:.3f} "
      f"(dropout is off in evaluate/predict), final lr {opt.lr:.2e}")
