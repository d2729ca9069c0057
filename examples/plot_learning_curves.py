"""
Learning curves and the XOR decision surface
============================================

Two pictures of training: the loss and accuracy curves ``fit`` records in its ``History``
(an MLP on the shipped digits, with a validation split), and the decision surface of a small
tanh network that learned XOR, which no linear model can fit.

Needs matplotlib (the extra ``fastlin[plot]``); without it the script says so and exits.
"""
import sys

import numpy as np

import fastlin
from fastlin.data import load_digits, train_test_split

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: pip install 'fastlin[plot]' to run this example")
    sys.exit(0)

# %%
# Loss and accuracy per epoch
# ---------------------------
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
model = fastlin.MLP([64, 64, 10], activation="relu", seed=0)
history = model.fit(X_train, y_train, optimizer="adam", lr=2e-3, epochs=15, batch_size=32,
                    validation_split=0.2, seed=0)
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
history.plot(["loss", "val_loss"], ax=left)
history.plot(["accuracy", "val_accuracy"], ax=right)
left.set_title("cross-entropy")
right.set_title("accuracy")
fig.tight_layout()
print(f"test accuracy after {len(history.epoch)} epochs: "
      f"{model.evaluate(X_test, y_test)['accuracy']:.3f}")

# %%
# XOR: a hidden layer bends the boundary
# --------------------------------------
X_xor = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y_xor = np.array([0, 1, 1, 0], dtype=np.float64)
net = fastlin.MLP([2, 8, 1], activation="tanh", dtype="float64", seed=3)
net.fit(X_xor, y_xor, loss="mse", optimizer=fastlin.SGD(net.parameters(), lr=0.1, momentum=0.9),
        epochs=500, batch_size=4, seed=0)
grid = np.linspace(-0.25, 1.25, 121)
gx, gy = np.meshgrid(grid, grid)
surface = net.predict(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
fig, ax = plt.subplots(figsize=(4.5, 4))
contour = ax.contourf(gx, gy, surface, levels=20, cmap="coolwarm")
fig.colorbar(contour, ax=ax, label="prediction")
ax.scatter(X_xor[:, 0], X_xor[:, 1], c=y_xor, cmap="coolwarm", edgecolors="k", s=120)
ax.set_title("MLP 2-8-1 (tanh) on XOR")
mse = float(np.mean((net.predict(X_xor)[:, 0] - y_xor) ** 2))
print(f"XOR mean squared error: {mse:.2e}")
assert mse < 1e-3
