"""The compiled epoch shuffle (csrc/fl_random.c) behind Sequential.fit."""
import itertools

import numpy as np
import pytest

from fastlin._kernels import train


def _perm(n, seed):
    out = np.empty(n, np.int64)
    train.permutation(out, seed)
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 65537])
def test_is_a_permutation_and_depends_only_on_the_seed(n):
    p = _perm(n, 12345)
    assert np.array_equal(np.sort(p), np.arange(n))
    assert np.array_equal(p, _perm(n, 12345))
    if n > 7:
        assert not np.array_equal(p, _perm(n, 12346))


def test_every_order_of_four_is_equally_likely():
    """24 orders, 48000 seeds: each count is Binomial(48000, 1/24), mean 2000, sd 43.8. A
    chi-square over the 24 cells (23 dof) above 60 has probability < 1e-4 for a uniform
    shuffle; a biased one (e.g. j drawn from [0, n) instead of [0, i]) scores in the hundreds."""
    index = {p: k for k, p in enumerate(itertools.permutations(range(4)))}
    counts = np.zeros(24)
    out = np.empty(4, np.int64)
    for seed in range(48000):
        train.permutation(out, seed)
        counts[index[tuple(out)]] += 1
    chi2 = ((counts - 2000) ** 2 / 2000).sum()
    assert chi2 < 60, counts


def test_positions_are_uniform_over_a_long_permutation():
    """Where element 0 lands over 20000 seeds of a 50-element shuffle: uniform over 50 cells."""
    counts = np.zeros(50)
    out = np.empty(50, np.int64)
    for seed in range(20000):
        train.permutation(out, seed)
        counts[np.flatnonzero(out == 0)[0]] += 1
    chi2 = ((counts - 400) ** 2 / 400).sum()
    assert chi2 < 100, counts  # 49 dof: P(chi2 > 100) < 1e-4
