"""
Logistic regression: why cross-entropy
======================================

Binary classification with a sigmoid: why cross-entropy, not squared error.

At logit 5.6 for a sample whose label is 0 the model is confidently wrong. The gradient of the
squared error after a sigmoid is 2 sigma(z) * sigma(z)(1 - sigma(z)) = 0.0073: learning stalls.
The gradient of binary cross-entropy is sigma(z) - y = 0.9963: it pushes hard.
"""
import numpy as np

import fastlin
from fastlin.backend import get

K = get("cython")
z, y = np.array([[5.6]]), np.array([[0.0]])
s = K.activation_forward(z, "sigmoid")
_, d_mse = K.mse(s, y)
print(f"d(squared error)/dz at z=5.6, y=0: {K.activation_backward(d_mse, 'sigmoid', y=s)[0, 0]:.4f}")
print(f"d(cross-entropy)/dz at z=5.6, y=0: {K.sigmoid_binary_cross_entropy(z, y)[1][0, 0]:.4f}")

rng = np.random.default_rng(0)
X = rng.standard_normal((1000, 2))
labels = (X[:, 0] + 2 * X[:, 1] > 0.3).astype(int)
clf = fastlin.LogisticRegression().fit(X, labels)
print(f"logistic regression accuracy: {clf.score(X, labels):.3f}; w = {np.round(clf.coef_[0], 2)}")

net = fastlin.Sequential(fastlin.Dense(2, 1), seed=0)
history = net.fit(X.astype(np.float32), labels.astype(np.float32), loss=fastlin.BCEWithLogitsLoss(),
                  optimizer="adam", lr=0.05, epochs=20, batch_size=64, seed=0)
print(f"the same model trained by fit: accuracy {history.history['accuracy'][-1]:.3f}")
assert clf.score(X, labels) > 0.97
