"""
Linear regression two ways
==========================

Linear regression two ways: the closed form (pseudo-inverse / normal equations, the bias as
a column of ones) and gradient descent on the squared loss with the compiled kernels.
"""
import numpy as np

import fastlin

rng = np.random.default_rng(0)
X = rng.uniform(-1, 1, (500, 3))
true_w, true_b = np.array([2.0, -3.0, 0.5]), 4.0
y = X @ true_w + true_b + rng.normal(0, 0.1, 500)

closed = fastlin.LinearRegression(solver="lstsq").fit(X, y)
normal = fastlin.LinearRegression(solver="normal").fit(X, y)
print("closed form (lstsq):  w =", np.round(closed.coef_, 4), " b =", round(closed.intercept_, 4))
print("normal equations:     w =", np.round(normal.coef_, 4), " b =", round(normal.intercept_, 4))
print(f"Gaussian MLE noise variance sigma^2 = {closed.noise_variance_:.5f} (true 0.01)")

model = fastlin.Sequential(fastlin.Dense(3, 1, init="zeros"), dtype="float64")
model.fit(X, y, loss="mse", optimizer="sgd", lr=0.5, epochs=500, batch_size=500, shuffle=False)
W, b = model.layers[0].W[:, 0], model.layers[0].b[0]
print("gradient descent:     w =", np.round(W, 4), " b =", round(float(b), 4))
assert np.allclose(W, closed.coef_, atol=1e-3) and abs(b - closed.intercept_) < 1e-3
