"""scikit-learn's parameter protocol for fastlin's native estimators (fastlin.linear), without
scikit-learn: ``get_params``/``set_params`` over the constructor's arguments, so that code
written for scikit-learn's estimators (a grid of settings, ``sklearn.base.clone``) takes them
too. fastlin.sklearn's wrappers get the same from scikit-learn's BaseEstimator."""
import inspect


class ParamsMixin:
    """``get_params()``: the constructor's arguments as their attributes hold them;
    ``set_params(**params)``: assign them, every name checked first (a ValueError names an
    unknown one and nothing is set). ``_estimator_type`` ("classifier" or "regressor", set by
    the subclass) and ``__sklearn_tags__`` tell scikit-learn's model selection (GridSearchCV,
    cross_val_score) what kind of estimator it holds; scikit-learn is imported only when it
    asks."""

    _estimator_type = None

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags
        kind = self._estimator_type
        return Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    regressor_tags=RegressorTags() if kind == "regressor" else None,
                    input_tags=InputTags(sparse=True))

    @classmethod
    def _param_names(cls):
        signature = inspect.signature(cls.__init__)
        return sorted(name for name, p in signature.parameters.items()
                      if name != "self" and p.kind is not p.VAR_KEYWORD
                      and p.kind is not p.VAR_POSITIONAL)

    def get_params(self, deep=True):
        """{name: value} of every constructor argument (``deep`` is accepted, as
        scikit-learn's; these estimators hold no others)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; returns the estimator. The new values are used
        (and checked) at the next ``fit``, as scikit-learn's are."""
        valid = self._param_names()
        unknown = [name for name in params if name not in valid]
        if unknown:
            raise ValueError(f"invalid parameter {unknown[0]!r} for {type(self).__name__}; "
                             f"valid parameters are {', '.join(valid)}")
        for name, value in params.items():
            setattr(self, name, value)
        return self
