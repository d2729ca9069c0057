"""``bench --sklearn``: fastlin.sklearn against scikit-learn on scikit-learn's bundled data
sets, fit time and held-out score."""
from fastlin._timing import alternate
from fastlin.parallel.threads import get_num_threads


def _sklearn_cases():
    """(data set, task, loader) for the comparison: scikit-learn's bundled data sets."""
    from sklearn import datasets
    return [("breast_cancer", "classify", datasets.load_breast_cancer),
            ("wine", "classify", datasets.load_wine),
            ("iris", "classify", datasets.load_iris),
            ("digits", "classify", datasets.load_digits),
            ("diabetes", "regress", datasets.load_diabetes)]


def _sklearn_pairs(task):
    """[(estimator name, fastlin factory, scikit-learn factory)], the same settings each."""
    import sklearn.linear_model as skl
    import sklearn.neural_network as skn

    import fastlin.sklearn as fls
    mlp = dict(hidden_layer_sizes=(64,), max_iter=300, random_state=0)
    if task == "classify":
        return [("MLPClassifier", lambda: fls.MLPClassifier(**mlp),
                 lambda: skn.MLPClassifier(**mlp)),
                ("LogisticRegression", lambda: fls.LogisticRegression(C=1.0),
                 lambda: skl.LogisticRegression(C=1.0))]
    return [("MLPRegressor", lambda: fls.MLPRegressor(**mlp), lambda: skn.MLPRegressor(**mlp)),
            ("LinearRegression", fls.LinearRegression, skl.LinearRegression)]


def run_sklearn_comparison(repeat=5, print_fn=print):
    """fastlin.sklearn against scikit-learn on scikit-learn's bundled data sets: per data set
    and estimator, the median fit time of each (measured in the same run, alternating), their
    held-out scores (accuracy or R² on a 25% split, features standardised) and the ratio.
    One thread for both (threadpoolctl for the BLAS when installed, and fastlin's own).
    Returns the rows."""
    import warnings

    import fastlin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:
        limits = None
    previous = get_num_threads()
    fastlin.set_num_threads(1)
    rows = []
    print_fn(f"{'data set':<15}{'estimator':<20}{'fastlin ms':>11}{'sklearn ms':>11}{'speed-up':>9}"
             f"{'fastlin score':>15}{'sklearn score':>15}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for data_name, task, load in _sklearn_cases():
                X, y = load(return_X_y=True)
                X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25,
                                                                    random_state=0)
                scaler = StandardScaler().fit(X_train)
                X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
                for name, ours, theirs in _sklearn_pairs(task):
                    fitted = {}

                    def timed(key, make):
                        def run():
                            fitted[key] = make().fit(X_train, y_train)
                        return run

                    times = alternate({"fastlin": timed("fastlin", ours),
                                       "sklearn": timed("sklearn", theirs)}, repeat, 1)
                    scores = {k: float(est.score(X_test, y_test)) for k, est in fitted.items()}
                    ratio = times["sklearn"] / times["fastlin"]
                    rows.append({"data": data_name, "estimator": name,
                                 "fastlin_s": times["fastlin"],
                                 "sklearn_s": times["sklearn"], "speedup": ratio,
                                 "fastlin_score": scores["fastlin"],
                                 "sklearn_score": scores["sklearn"]})
                    print_fn(f"{data_name:<15}{name:<20}{times['fastlin'] * 1e3:11.2f}"
                             f"{times['sklearn'] * 1e3:11.2f}{ratio:8.2f}x"
                             f"{scores['fastlin']:15.4f}{scores['sklearn']:15.4f}")
    finally:
        fastlin.set_num_threads(previous)
        if limits is not None:
            limits.restore_original_limits()
    return rows
