"""parse_quantity raises only wavegen errors, whatever the input (issue 12 item 11)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from wavegen.errors import RangeError, UnitError, WavegenError
from wavegen.units import parse_quantity


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ("1e400 mT/m", RangeError, ["'1e400 mT/m'", "1.8e308", "T/m"]),  # OverflowError before
        ("-1e400 T/m", RangeError, ["-1e400"]),
        (10**400, RangeError, ["401 digits"]),  # OverflowError before
        ("1" * 5000 + " T/m", UnitError, ["5004 characters", "200"]),  # ValueError (int digit limit) before
        ("1e999999999 T/m", RangeError, ["1e999999999"]),  # minutes of exact arithmetic before
    ],
)
def test_numbers_beyond_float_range_are_wavegen_errors(value, error, words):
    t0 = time.perf_counter()
    with pytest.raises(error) as info:
        parse_quantity(value, "T/m", name="max_grad")
    assert time.perf_counter() - t0 < 1.0
    assert isinstance(info.value, WavegenError)
    msg = str(info.value)
    assert msg.startswith("max_grad:")
    for w in words:
        assert w in msg, msg


def test_numpy_scalars_and_edge_values_are_read():
    assert parse_quantity(np.float32(0.5), "T/m") == 0.5
    assert parse_quantity(np.int64(3), "s") == 3.0
    assert parse_quantity("0e999999999 T/m", "T/m") == 0.0  # zero with any exponent is zero (and quick)
    assert parse_quantity("1e300 kT/m", "T/m") == pytest.approx(1e303)
    assert parse_quantity("1e-320 mT/m", "T/m") == pytest.approx(1e-323, abs=1e-324)  # a subnormal, not an error
