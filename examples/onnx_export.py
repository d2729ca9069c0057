"""
Export to ONNX
==============

Train a small MLP on the shipped digits, export it to ONNX and check onnxruntime's output
against predict. Needs the optional extra: pip install 'fastlin[onnx]' (without it the script
says so and exits cleanly).
"""
import os
import sys
import tempfile

import numpy as np

import fastlin
from fastlin.data import load_digits, train_test_split
from fastlin.export import to_onnx

try:
    import onnxruntime as ort
except ImportError:
    ort = None
try:
    import onnx  # noqa: F401
except ImportError:
    onnx = None
if ort is None or onnx is None:
    print("onnx/onnxruntime are not installed: pip install 'fastlin[onnx]' to run this example")
    sys.exit(0)

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
model = fastlin.MLP([64, 64, 10], activation="relu", seed=0)
model.fit(X_train, y_train, optimizer="adam", lr=2e-3, epochs=10, batch_size=32, seed=0)
model.summary()

path = os.path.join(tempfile.mkdtemp(), "digits_mlp.onnx")
to_onnx(model, path)
session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
logits = session.run(None, {"input": X_test})[0]

expected = model.predict(X_test)
print(f"wrote {path} ({os.path.getsize(path)} bytes); max |onnxruntime - predict| = "
      f"{np.abs(logits - expected).max():.2e}")
np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
print(f"onnxruntime test accuracy: {accuracy:.3f}")
assert accuracy > 0.9
