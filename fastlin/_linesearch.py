"""The Moré–Thuente line search (MINPACK-2's dcsrch and dcstep), driven by reverse
communication as L-BFGS-B drives it: the caller evaluates the function and its directional
derivative wherever the search asks, and hands them back.

Reference: J. J. Moré and D. J. Thuente, "Line search algorithms with guaranteed sufficient
decrease", ACM TOMS 20 (1994). Written from the published algorithm, with MINPACK-2's
constants (xtrapl 1.1, xtrapu 4, bisection when the interval shrinks by less than 0.66), so a
solver built on it takes the steps L-BFGS-B takes."""
import math

_XTRAPL, _XTRAPU, _SHRINK = 1.1, 4.0, 0.66


class MoreThuente:
    """One line search along a descent direction: ``phi(stp)`` is the function along it,
    ``dphi`` its derivative. ``start(stp, f0, g0)`` returns the first step to evaluate;
    ``step(stp, f, g)`` takes phi and dphi at that step and returns ``(task, stp)``: task "FG"
    asks for phi and dphi at the new stp, "CONVERGENCE" means stp satisfies the strong Wolfe
    conditions (f ≤ f0 + ftol·stp·g0, |g| ≤ gtol·|g0|), "WARNING: ..." that no better step can
    be found (stp is then the best seen)."""

    def __init__(self, ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10):
        if ftol < 0 or gtol < 0 or xtol < 0 or stpmin < 0 or stpmax < stpmin:
            raise ValueError("line search tolerances must be non-negative, stpmin <= stpmax")
        self.ftol, self.gtol, self.xtol = ftol, gtol, xtol
        self.stpmin, self.stpmax = stpmin, stpmax

    def start(self, stp, f0, g0):
        if not self.stpmin <= stp <= self.stpmax:
            raise ValueError(f"initial step {stp} outside [{self.stpmin}, {self.stpmax}]")
        if not g0 < 0:
            raise ValueError(f"the direction is not a descent direction (derivative {g0})")
        self.brackt = False
        self.stage = 1
        self.finit, self.ginit = f0, g0
        self.gtest = self.ftol * g0
        self.width = self.stpmax - self.stpmin
        self.width1 = 2.0 * self.width
        self.stx, self.fx, self.gx = 0.0, f0, g0
        self.sty, self.fy, self.gy = 0.0, f0, g0
        self.stmin, self.stmax = 0.0, stp + _XTRAPU * stp
        return stp

    def step(self, stp, f, g):
        ftest = self.finit + stp * self.gtest
        if self.stage == 1 and f <= ftest and g >= 0:
            self.stage = 2
        task = self._verdict(stp, f, g, ftest)
        if task is not None:
            return task, stp
        if self.stage == 1 and self.fx >= f > ftest:
            # a modified function (phi minus the sufficient-decrease line) until a step
            # with sufficient decrease and non-negative slope has been seen
            gt = self.gtest
            stx, fxm, gxm, sty, fym, gym, stp, self.brackt = _dcstep(
                self.stx, self.fx - self.stx * gt, self.gx - gt,
                self.sty, self.fy - self.sty * gt, self.gy - gt,
                stp, f - stp * gt, g - gt, self.brackt, self.stmin, self.stmax)
            self.stx, self.sty = stx, sty
            self.fx, self.fy = fxm + stx * gt, fym + sty * gt
            self.gx, self.gy = gxm + gt, gym + gt
        else:
            (self.stx, self.fx, self.gx, self.sty, self.fy, self.gy, stp,
             self.brackt) = _dcstep(self.stx, self.fx, self.gx, self.sty, self.fy, self.gy,
                                    stp, f, g, self.brackt, self.stmin, self.stmax)
        return "FG", self._next_step(stp)

    def _verdict(self, stp, f, g, ftest):
        task = None
        if self.brackt and (stp <= self.stmin or stp >= self.stmax):
            task = "WARNING: ROUNDING ERRORS PREVENT PROGRESS"
        if self.brackt and self.stmax - self.stmin <= self.xtol * self.stmax:
            task = "WARNING: XTOL TEST SATISFIED"
        if stp == self.stpmax and f <= ftest and g <= self.gtest:
            task = "WARNING: STP = STPMAX"
        if stp == self.stpmin and (f > ftest or g >= self.gtest):
            task = "WARNING: STP = STPMIN"
        if f <= ftest and abs(g) <= self.gtol * -self.ginit:
            task = "CONVERGENCE"
        return task

    def _next_step(self, stp):
        if self.brackt:
            if abs(self.sty - self.stx) >= _SHRINK * self.width1:
                stp = self.stx + 0.5 * (self.sty - self.stx)  # too slow a shrink: bisect
            self.width1 = self.width
            self.width = abs(self.sty - self.stx)
            self.stmin, self.stmax = min(self.stx, self.sty), max(self.stx, self.sty)
        else:
            self.stmin = stp + _XTRAPL * (stp - self.stx)
            self.stmax = stp + _XTRAPU * (stp - self.stx)
        stp = min(max(stp, self.stpmin), self.stpmax)
        if self.brackt and (stp <= self.stmin or stp >= self.stmax
                            or self.stmax - self.stmin <= self.xtol * self.stmax):
            stp = self.stx  # no progress possible: the best step so far
        return stp


def _cubic_min(s0, f0, d0, s1, f1, d1):
    """The minimiser of the cubic through (s0, f0, d0) and (s1, f1, d1), as dcstep forms it."""
    theta = 3.0 * (f0 - f1) / (s1 - s0) + d0 + d1
    s = max(abs(theta), abs(d0), abs(d1))
    gamma = s * math.sqrt(max(0.0, (theta / s) ** 2 - (d0 / s) * (d1 / s)))
    return theta, gamma


def _dcstep(stx, fx, dx, sty, fy, dy, stp, fp, dp, brackt, stpmin, stpmax):
    """A safeguarded trial step from the cubic and quadratic interpolants (dcstep's four
    cases), and the updated interval [stx, sty] holding a step that meets the conditions."""
    opposite = (dp < 0) != (dx < 0) and dp != 0 and dx != 0
    if fp > fx:  # higher value: the minimum is bracketed
        theta, gamma = _cubic_min(stx, fx, dx, stp, fp, dp)
        if stp < stx:
            gamma = -gamma
        r = ((gamma - dx) + theta) / (((gamma - dx) + gamma) + dp)
        stpc = stx + r * (stp - stx)
        stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx)
        stpf = stpc if abs(stpc - stx) <= abs(stpq - stx) else stpc + (stpq - stpc) / 2.0
        brackt = True
    elif opposite:  # the derivatives change sign: bracketed
        theta, gamma = _cubic_min(stx, fx, dx, stp, fp, dp)
        if stp > stx:
            gamma = -gamma
        r = ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dx)
        stpc = stp + r * (stx - stp)
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
        brackt = True
    elif abs(dp) < abs(dx):  # same sign, the derivative shrinks
        theta, gamma = _cubic_min(stx, fx, dx, stp, fp, dp)
        if stp > stx:
            gamma = -gamma
        r = ((gamma - dp) + theta) / ((gamma + (dx - dp)) + gamma)
        if r < 0 and gamma != 0:
            stpc = stp + r * (stx - stp)
        else:
            stpc = stpmax if stp > stx else stpmin
        stpq = stp + (dp / (dp - dx)) * (stx - stp)
        if brackt:
            stpf = stpc if abs(stpc - stp) < abs(stpq - stp) else stpq
            bound = stp + _SHRINK * (sty - stp)
            stpf = min(bound, stpf) if stp > stx else max(bound, stpf)
        else:
            stpf = stpc if abs(stpc - stp) > abs(stpq - stp) else stpq
            stpf = min(max(stpf, stpmin), stpmax)
    elif brackt:  # same sign, the derivative does not shrink: cubic toward sty
        theta, gamma = _cubic_min(stp, fp, dp, sty, fy, dy)
        if stp > sty:
            gamma = -gamma
        r = ((gamma - dp) + theta) / (((gamma - dp) + gamma) + dy)
        stpf = stp + r * (sty - stp)
    else:
        stpf = stpmax if stp > stx else stpmin
    if fp > fx:
        sty, fy, dy = stp, fp, dp
    else:
        if opposite:
            sty, fy, dy = stx, fx, dx
        stx, fx, dx = stp, fp, dp
    return stx, fx, dx, sty, fy, dy, stpf, brackt
