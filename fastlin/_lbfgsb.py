"""L-BFGS-B over SciPy's compiled step, without scipy.optimize.minimize's wrappers: the
solver of fastlin's logistic and softmax regression and of the scikit-learn MLPs' lbfgs."""
import numpy as np
import scipy
import scipy.optimize


def _setulb():
    """SciPy's compiled L-BFGS-B step (scipy.optimize._lbfgsb.setulb), with the argument list
    of its C version (SciPy 1.15 and later); None where that is not what SciPy has."""
    try:
        major, minor = (int(v) for v in scipy.__version__.split(".")[:2])
        from scipy.optimize import _lbfgsb
    except (ImportError, ValueError):
        return None
    return _lbfgsb.setulb if (major, minor) >= (1, 15) else None


_SETULB = _setulb()


def minimize_lbfgsb(fun, x0, maxiter, gtol, ftol=2.2204460492503131e-09, maxls=20,
                    maxfun=15000, maxcor=10, callback=None):
    """``scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", options=...)`` for an
    unbounded problem: SciPy's own compiled L-BFGS-B iterations, driven here the way
    ``_minimize_lbfgsb`` drives them but without its ScalarFunction wrapper (several hundred
    microseconds per iteration, more than the whole objective of a small logistic
    regression). Same iterates, same stopping rules, same OptimizeResult fields (x, fun, jac,
    nit, nfev, status, message, success). Falls back to scipy.optimize.minimize when SciPy's
    step routine has another interface. ``callback(x)``, as SciPy's, runs after each iteration
    (x is the solver's own buffer: copy what you keep)."""
    options = {"maxiter": maxiter, "gtol": gtol, "ftol": ftol, "maxls": maxls,
               "maxfun": maxfun, "maxcor": maxcor}
    if _SETULB is None:
        return scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B", options=options,
                                       callback=callback)
    n = x0.size
    m = int(maxcor)
    x = np.array(x0, dtype=np.float64).ravel()
    f = np.array(0.0)
    g = np.zeros(n)
    unbounded = np.zeros(n, np.int32)
    low = np.zeros(n)
    high = np.zeros(n)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m)
    iwa = np.zeros(3 * n, np.int32)
    task = np.zeros(2, np.int32)
    ln_task = np.zeros(2, np.int32)
    lsave = np.zeros(4, np.int32)
    isave = np.zeros(44, np.int32)
    dsave = np.zeros(29)
    factr = ftol / np.finfo(float).eps
    nit = nfev = 0
    first = True
    while True:
        try:
            _SETULB(m, x, low, high, unbounded, f, g, factr, gtol, wa, iwa, task, lsave, isave,
                    dsave, int(maxls), ln_task)
        except (TypeError, ValueError):
            if not first:
                raise
            return scipy.optimize.minimize(fun, x0, jac=True, method="L-BFGS-B",
                                           options=options, callback=callback)
        first = False
        if task[0] == 3:  # FG: evaluate at x (a copy: the caller must not alias x)
            value, grad = fun(x.copy())
            f = float(value)
            g = np.asarray(grad, dtype=np.float64)
            nfev += 1
        elif task[0] == 1:  # NEW_X: an iteration completed
            nit += 1
            if callback is not None:
                callback(x)
            if nit >= maxiter:
                task[0], task[1] = 5, 504
            elif nfev > maxfun:
                task[0], task[1] = 5, 502
        else:
            break
    if task[0] == 4:
        status = 0
    elif nfev > maxfun or nit >= maxiter:
        status = 1
    else:
        status = 2
    try:
        from scipy.optimize._lbfgsb_py import status_messages, task_messages
        message = f"{status_messages[int(task[0])]}: {task_messages[int(task[1])]}"
    except (ImportError, KeyError):
        message = f"L-BFGS-B task {int(task[0])}.{int(task[1])}"
    return scipy.optimize.OptimizeResult(x=x, fun=f, jac=g, nit=nit, nfev=nfev, njev=nfev,
                                         status=status, success=status == 0, message=message)
