"""Validation rows are weighed as Keras weighs them: validation_split holds out the last rows
with their sample weights, validation_data may carry a third element (the validation sample
weights), and class_weight weighs training only. A wrong validation set is reported as
validation_data's, not the training arrays'."""
import numpy as np
import pytest

import fastlin

rng = np.random.default_rng(0)
X = rng.standard_normal((100, 4))
y = rng.integers(0, 3, 100)
SW = rng.uniform(0.0, 2.0, 100)


def _model():
    return fastlin.MLP([4, 8, 3], seed=0, dtype="float64")


def test_validation_split_weighs_the_held_out_rows_by_their_sample_weight():
    model = _model()
    history = model.fit(X, y, epochs=2, batch_size=16, seed=0, sample_weight=SW,
                        validation_split=0.2, class_weight={0: 3.0})
    expected = model.evaluate(X[80:], y[80:], sample_weight=SW[80:])
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(expected["accuracy"])
    unweighted = model.evaluate(X[80:], y[80:])["loss"]
    assert abs(unweighted - expected["loss"]) > 1e-6  # the weights made a difference


def test_validation_data_takes_a_third_element_of_weights():
    model = _model()
    w_val = np.linspace(0.1, 1.0, 30)
    history = model.fit(X[:70], y[:70], epochs=2, batch_size=16, seed=0,
                        validation_data=(X[70:], y[70:], w_val))
    expected = model.evaluate(X[70:], y[70:], sample_weight=w_val)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-12)
    pair = _model().fit(X[:70], y[:70], epochs=2, batch_size=16, seed=0,
                        validation_data=(X[70:], y[70:]))
    assert pair.history["loss"] == history.history["loss"]  # training is not affected


@pytest.mark.parametrize("bad", [(X[70:],), (X[70:], y[70:], None, None), "xy"])
def test_validation_data_of_another_length_is_refused(bad):
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        _model().fit(X[:70], y[:70], epochs=1, validation_data=bad)


def test_weightless_validation_is_refused_before_training():
    model = _model()
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="validation samples' total weight"):
        model.fit(X[:70], y[:70], epochs=1, validation_data=(X[70:], y[70:], np.zeros(30)))
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(X[:70], y[:70], epochs=1, validation_data=(X[70:], y[70:], -np.ones(30)))


def test_validation_data_errors_say_they_are_about_validation_data():
    """A wrong validation set was reported as "X has 2 features ..." or "y holds label 7",
    naming the training arrays, which were fine."""
    import fastlin
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = fastlin.MLP([3, 4, 3], seed=0)
    bad = [((X[:, :2], y), "X has 2 features"), ((X, np.r_[y[:-1], 7]), "label 7"),
           ((X, y, np.ones(19)), "sample_weight")]
    for val, words in bad:
        with pytest.raises(ValueError, match=f"^validation_data: .*{words}"):
            model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, verbose=0,
                      validation_data=val)
