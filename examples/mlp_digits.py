"""
An MLP on the digits
====================

An MLP on the handwritten digits shipped with fastlin, with validation and a saved model.
"""
import os
import tempfile

import numpy as np

import fastlin
from fastlin.data import load_digits, train_test_split

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)

model = fastlin.MLP([64, 128, 10], activation="relu", seed=0)
print(model)
history = model.fit(X_train, y_train, loss=fastlin.SoftmaxCrossEntropyLoss(label_smoothing=0.05),
                    optimizer="adam", lr=2e-3, epochs=20, batch_size=32,
                    validation_split=0.1, seed=0)
print(f"final val accuracy: {history.history['val_accuracy'][-1]:.3f}")
result = model.evaluate(X_test, y_test)
print(f"test accuracy: {result['accuracy']:.3f}")

path = os.path.join(tempfile.mkdtemp(), "digits_mlp.npz")
model.save(path)
again = fastlin.load(path)
assert np.array_equal(again.predict(X_test), model.predict(X_test))
assert result["accuracy"] > 0.94
