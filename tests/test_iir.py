"""The pole bank (wavegen.dsp.iir): impulse response, chunking, the reference path, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wavegen.dsp.iir import PoleBank, process_banks
from wavegen.errors import RangeError, ShapeError

POLES = np.array([0.95 * np.exp(0.3j), 0.95 * np.exp(-0.3j), 0.999, 0.5])
COEFS = np.array([0.2 - 0.1j, 0.2 + 0.1j, 0.01, -0.3])


def _impulse(n: int) -> np.ndarray:
    k = np.arange(n)
    return np.real(sum(c * r**k for r, c in zip(POLES, COEFS, strict=True)))


def test_impulse_response_is_the_sum_of_geometric_sequences() -> None:
    x = np.zeros(500)
    x[0] = 1.0
    np.testing.assert_allclose(PoleBank(POLES, COEFS).process(x), _impulse(500), rtol=0, atol=1e-14)


def test_a_random_record_equals_its_direct_convolution_and_the_reference_path() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3000)
    want = np.convolve(x, _impulse(3000))[:3000]  # the tail beyond 3000 taps is below 1e-60 of the peak
    got = PoleBank(POLES, COEFS).process(x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-11)
    ref = PoleBank(POLES, COEFS)._process_reference(x)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=700), min_size=1, max_size=8))
def test_pieces_equal_the_whole_sample_for_sample(cuts: list[int]) -> None:
    x = np.random.default_rng(2).standard_normal(2000)
    whole = PoleBank(POLES, COEFS).process(x)
    bank = PoleBank(POLES, COEFS)
    edges = sorted({min(c * 3, x.size) for c in cuts} | {0, x.size})
    parts = [bank.process(x[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    assert np.array_equal(np.concatenate(parts), whole)


def test_bad_poles_and_input_are_refused() -> None:
    with pytest.raises(RangeError, match="< 1"):
        PoleBank(np.array([1.0]), np.array([1.0]))
    with pytest.raises(RangeError, match="no conjugate"):
        PoleBank(np.array([0.5j]), np.array([1.0]))
    with pytest.raises(RangeError, match="finite"):
        PoleBank(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(ShapeError, match="one length"):
        PoleBank(np.array([0.5, 0.4]), np.array([1.0]))
    with pytest.raises(ShapeError, match="1-D"):
        PoleBank(np.array([0.5]), np.array([1.0])).process(np.zeros((2, 2)))


def test_banks_side_by_side_equal_each_bank_alone() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 1500))
    specs = [(POLES, COEFS), (np.array([0.9, 0.3]), np.array([0.1, 0.2])), (POLES[:2], COEFS[:2])]
    alone = [PoleBank(p, c) for p, c in specs]
    together = [PoleBank(p, c) for p, c in specs]
    for a, b in ((0, 700), (700, 701), (701, 1500)):  # and the states carry on alike
        want = np.stack([bank.process(x[i, a:b]) for i, bank in enumerate(alone)])
        assert np.array_equal(process_banks(together, x[:, a:b]), want)
    with pytest.raises(ShapeError, match="shape"):
        process_banks(together, np.zeros((2, 5)))
