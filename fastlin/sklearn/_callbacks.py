"""scikit-learn 1.9's callback API (:mod:`sklearn.callback`) for fastlin.sklearn's
LogisticRegression, on scikit-learn's own machinery: ``CallbackSupportMixin`` (``set_callbacks``
and the root callback context), ``with_callbacks`` (``teardown`` always runs) and
``CallbackContext`` (the task tree, the hooks' arguments, a meta-estimator's propagation).
With a scikit-learn older than 1.9 there is no ``sklearn.callback``: then nothing here adds
``set_callbacks``, as that scikit-learn's LogisticRegression has none.

The task tree is the one scikit-learn's LogisticRegression reports with ``solver="lbfgs"``:

- the root task ``"fit"`` (``max_subtasks = max(max_iter, 1) + 1``), begun after the input is
  validated, with ``X``, ``y`` and ``metadata = {"sample_weight": sample_weight}`` (None
  without sample weights), and ended with the fitted estimator;
- under it, one leaf task per iteration of the solver, begun with the weights it starts from
  and ended with the weights it reached (``fitted_estimator`` is a copy of the estimator
  holding them), the next one begun at once; the last one begun, which no iteration ran, is
  ended empty after the solver returns (scikit-learn's L-BFGS bridge does the same).

When no callback is set (nor propagated by a meta-estimator), fit creates no context and the
solvers receive ``callback=None``: their only extra work is one ``if`` per iteration.
"""
import functools

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9: no callback API
    CallbackSupportMixin = None

    def with_callbacks(method):
        """No callback API to manage: the method itself."""
        return method


if CallbackSupportMixin is None:
    class CallbackSupport:
        """Nothing: this scikit-learn has no callback API."""
else:
    class CallbackSupport(CallbackSupportMixin):
        """scikit-learn's CallbackSupportMixin, for every fastlin solver."""

        def set_callbacks(self, *callbacks):
            """Set the callbacks that ``fit`` calls (scikit-learn 1.9's callback API).

            As scikit-learn's ``set_callbacks``: each callback must follow the
            ``sklearn.callback.FitCallback`` protocol (``ProgressBar``, ``ScoringMonitor`` or
            one's own), ``set_callbacks()`` with none removes them, and ``clone`` passes them
            on (the same instances). ``fit`` reports one task per iteration of fastlin's
            solver for every solver name (scikit-learn reports iterations for ``"lbfgs"``
            only and warns for the others): ``"lbfgs-iter"`` tasks for L-BFGS-B (the L2
            penalty or none, and ``"liblinear"`` with L2), ``"proximal-newton-iter"`` tasks
            for proximal Newton (L1 and elastic net, ``"liblinear"`` with L1). Their number
            is that of fastlin's iterations, which differs from the iterations of the
            solver named. A hook returning True does not stop the fit, as in scikit-learn
            1.9's LogisticRegression.

            Parameters
            ----------
            *callbacks : callback instances
                The callbacks to set, each following ``sklearn.callback.FitCallback``.

            Returns
            -------
            self : LogisticRegression
                The estimator itself.

            Raises
            ------
            TypeError
                If a callback does not follow the ``FitCallback`` protocol (a class instead
                of an instance, too).
            """
            return super().set_callbacks(*callbacks)


def begin_fit(estimator, X, y, sample_weight, classes):
    """The fit's root task with its begin hooks called, or None when no callback is set nor
    propagated by a meta-estimator (nor can be: scikit-learn < 1.9)."""
    if CallbackSupportMixin is None or ("_skl_callbacks" not in estimator.__dict__
                                        and "_parent_callback_ctx" not in estimator.__dict__):
        return None
    return _FitTask(estimator, X, y, sample_weight, classes)


class _FitTask:
    """The root task "fit": its context, and the arguments every hook of this fit gets."""

    def __init__(self, estimator, X, y, sample_weight, classes):
        self.estimator, self.X, self.y, self.classes = estimator, X, y, classes
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.ctx = estimator._init_callback_context(max_subtasks=max(estimator.max_iter, 1) + 1)
        self.ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=self.metadata)

    def iterations(self, task_name, attributes, coef, intercept):
        """The solver's callback: its per-iteration tasks, the first begun at (coef,
        intercept); `attributes` maps the solver's (coef, intercept) to fit's (coef_,
        intercept_)."""
        return _Iterations(self, task_name, attributes, coef, intercept)

    def end(self):
        """The end hooks of the root task, the estimator fitted."""
        self.ctx.call_on_fit_task_end(estimator=self.estimator, X=self.X, y=self.y,
                                      metadata=self.metadata, reconstruction_attributes={})


class _Iterations:
    """scikit-learn's L-BFGS callback bridge for any fastlin solver: called with the weights
    after each iteration, it ends that iteration's task and begins the next one's; ``close``
    ends the last one begun, which no iteration ran, as an empty task."""

    def __init__(self, fit, task_name, attributes, coef, intercept):
        self._fit, self._name, self._attributes = fit, task_name, attributes
        self._begin(coef, intercept)

    def _reconstruction(self, coef, intercept):
        coef_, intercept_ = self._attributes(coef, intercept)
        return {"coef_": coef_, "intercept_": intercept_, "classes_": self._fit.classes}

    def _hook_arguments(self, coef, intercept):
        fit = self._fit
        # a callable is evaluated only when a hook asks for fitted_estimator
        return dict(estimator=fit.estimator, X=fit.X, y=fit.y, metadata=fit.metadata,
                    reconstruction_attributes=functools.partial(self._reconstruction, coef,
                                                                intercept))

    def _begin(self, coef, intercept):
        self._task = self._fit.ctx.subcontext(task_name=self._name)
        self._task.call_on_fit_task_begin(**self._hook_arguments(coef, intercept))

    def __call__(self, coef, intercept):
        # the return value (stop?) is not acted on, as in scikit-learn 1.9's LogisticRegression
        self._task.call_on_fit_task_end(**self._hook_arguments(coef, intercept))
        self._begin(coef, intercept)

    def close(self):
        """End the task begun last, which no iteration ran."""
        self._task.call_on_fit_task_end(estimator=self._fit.estimator)
