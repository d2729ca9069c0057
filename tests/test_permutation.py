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


def _reference_permutation(n, seed):
    """csrc/fl_random.c's algorithm in Python: Fisher-Yates over a splitmix64 stream, j drawn
    by Lemire's multiply-shift with rejection."""
    mask = (1 << 64) - 1
    state = seed

    def draw():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    out = list(range(n))
    for i in range(n - 1, 0, -1):
        r = i + 1
        m = (draw() >> 32) * r
        if (m & 0xFFFFFFFF) < r:
            threshold = (-r % (1 << 32)) % r
            while (m & 0xFFFFFFFF) < threshold:
                m = (draw() >> 32) * r
        j = m >> 32
        out[i], out[j] = out[j], out[i]
    return out


@pytest.mark.parametrize("n, seed", [(2, 0), (65, 7), (64, 2**64 - 1), (1000, 12345)])
def test_equals_the_reference_algorithm(n, seed):
    """The order a seed gives is part of what a saved shuffle stream reproduces: every SIMD
    build draws the same values in the same order (the vector one a block of 64 ahead, the
    first refill at i = n - 1, later ones inside the loop)."""
    assert _perm(n, seed).tolist() == _reference_permutation(n, seed)


def test_every_simd_level_gives_the_same_permutation():
    """Long permutations, where Lemire's rejection happens (about n^2 / 2^33 times: ~10 at
    300,000 rows) and consumes extra draws across the vector build's blocks: the same bits at
    every level this CPU can run."""
    import os
    import subprocess
    import sys
    code = ("import numpy as np, hashlib\n"
            "from fastlin._kernels import train\n"
            "h = hashlib.sha256()\n"
            "for n, s in [(300000, 1), (300000, 2), (129, 3)]:\n"
            "    o = np.empty(n, np.int64); train.permutation(o, s); h.update(o.tobytes())\n"
            "print(h.hexdigest())\n")
    digests = {subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FASTLIN_SIMD=lv),
                              capture_output=True, text=True, check=True).stdout
               for lv in ("base", "avx2", "avx512")}
    assert len(digests) == 1
