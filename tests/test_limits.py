"""SystemLimits: documented defaults, units at the edge, validation, integer raster ticks."""

from __future__ import annotations

import dataclasses
import math

import pytest

from wavegen.errors import NonFiniteError, RangeError, RasterError, UnitError
from wavegen.limits import GAMMA_1H_HZ_PER_T, GAMMA_PULSEQ_HZ_PER_T, TICK_S, SystemLimits, seconds_to_ticks


def test_defaults_are_documented_values() -> None:
    lim = SystemLimits()
    assert lim.max_grad_t_per_m == 40e-3
    assert lim.max_slew_t_per_m_per_s == 150.0
    assert (lim.grad_raster_s, lim.rf_raster_s, lim.adc_raster_s, lim.block_raster_s) == (
        10e-6,
        1e-6,
        100e-9,
        10e-6,
    )
    assert lim.gamma_hz_per_t == GAMMA_1H_HZ_PER_T == 42.577478518e6
    assert GAMMA_PULSEQ_HZ_PER_T == 42.576e6
    assert (lim.grad_raster_ns, lim.rf_raster_ns, lim.adc_raster_ns, lim.block_raster_ns) == (
        10_000,
        1000,
        100,
        10_000,
    )
    assert lim.max_grad_hz_per_m == pytest.approx(40e-3 * GAMMA_1H_HZ_PER_T)
    assert lim.max_slew_hz_per_m_per_s == pytest.approx(150 * GAMMA_1H_HZ_PER_T)
    assert TICK_S == 1e-9


def test_frozen_and_no_shared_mutable_default() -> None:
    lim = SystemLimits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        lim.max_grad_t_per_m = 1.0  # type: ignore[misc]
    other = lim.replace(max_grad_t_per_m=0.08)
    assert other.max_grad_t_per_m == 0.08 and lim.max_grad_t_per_m == 0.04
    assert SystemLimits() == lim


def test_from_units() -> None:
    lim = SystemLimits.from_units(
        max_grad="80 mT/m", max_slew="200 T/m/s", grad_raster="4 us", gamma="10.7084 MHz/T"
    )
    assert lim.max_grad_t_per_m == pytest.approx(0.08)
    assert lim.max_slew_t_per_m_per_s == pytest.approx(200.0)
    assert lim.grad_raster_ns == 4000
    assert lim.gamma_hz_per_t == pytest.approx(10.7084e6)
    assert SystemLimits.from_units(max_slew="15 G/cm/ms").max_slew_t_per_m_per_s == pytest.approx(150.0)
    with pytest.raises(UnitError):
        SystemLimits.from_units(max_grad="40 mT")
    with pytest.raises(RangeError, match="known"):
        SystemLimits.from_units(max_gradient="40 mT/m")


def test_validation() -> None:
    with pytest.raises(RangeError):
        SystemLimits(max_grad_t_per_m=-0.04)
    with pytest.raises(NonFiniteError):
        SystemLimits(max_slew_t_per_m_per_s=math.inf)
    with pytest.raises(RasterError):
        SystemLimits(grad_raster_s=10.5e-9)
    with pytest.raises(RangeError):
        SystemLimits(rf_dead_time_s=-1e-6)
    assert SystemLimits(rf_dead_time_s=0.0).rf_dead_time_s == 0.0
    # only times must sit on the nanosecond grid; a slew rate is any positive number
    assert SystemLimits(max_slew_t_per_m_per_s=287.615924081).max_slew_t_per_m_per_s == 287.615924081
    assert SystemLimits(max_grad_t_per_m=0.0123456789123).max_grad_t_per_m == 0.0123456789123


def test_seconds_to_ticks() -> None:
    assert seconds_to_ticks(0.00086) == 860_000
    assert seconds_to_ticks(3 * 0.1e-6) == 300
    with pytest.raises(RasterError):
        seconds_to_ticks(1.5e-9)


@pytest.mark.parametrize(
    ("key", "text", "value", "bound", "unit"),
    [
        ("max_slew", "150 T/m/ms", "150000 T/m/s", "100000 T/m/s", "T/m/s"),  # 1000x a real slew rate
        ("max_grad", "4 MT/m", "4e+06 T/m", "10 T/m", "T/m"),
        ("max_b1", "2 T", "2 T", "0.01 T", "T"),
        ("gamma", "42.58 GHz/T", "4.258e+10 Hz/T", "1e+08 Hz/T", "Hz/T"),
        ("grad_raster", "10 ms", "0.01 s", "0.001 s", "s"),
    ],
)
def test_limits_outside_physical_sense_are_refused(key, text, value, bound, unit) -> None:
    from wavegen.errors import ConfigError
    from wavegen.limits import ImplausibleLimitError

    with pytest.raises(ImplausibleLimitError) as info:
        SystemLimits.from_units(**{key: text})
    msg = str(info.value)
    # the text the user gave, its SI value, the bound and the unit, and where the bound comes from
    assert text in msg and value in msg and bound in msg and unit in msg
    assert "docs/references/limits.md" in msg
    # a RangeError for numeric code and a ConfigError for configuration layers
    assert isinstance(info.value, RangeError) and isinstance(info.value, ConfigError)


def test_plausible_bounds_cover_real_systems_and_apply_to_the_constructor() -> None:
    from wavegen.limits import ImplausibleLimitError

    # the strongest real systems stay accepted: Connectome 2.0 (0.5 T/m, 600 T/m/s), a preclinical
    # insert (1.5 T/m, 1e4 T/m/s), a solid-state NMR B1 (6 mT), tritium's gamma (45.4 MHz/T)
    SystemLimits(max_grad_t_per_m=0.5, max_slew_t_per_m_per_s=600.0)
    SystemLimits(max_grad_t_per_m=1.5, max_slew_t_per_m_per_s=1e4, max_b1_t=6e-3, gamma_hz_per_t=45.414e6)
    with pytest.raises(ImplausibleLimitError, match=r"max_slew_t_per_m_per_s = 150000 T/m/s is above 100000 T/m/s"):
        SystemLimits(max_slew_t_per_m_per_s=150e3)
    with pytest.raises(ImplausibleLimitError, match="below 100000 Hz/T"):
        SystemLimits(gamma_hz_per_t=1.0)
    with pytest.raises(ImplausibleLimitError, match="T/m"):
        SystemLimits().replace(max_grad_t_per_m=4e6)


def test_seconds_to_ticks_refuses_times_beyond_the_tick_range() -> None:
    # OverflowError (round(inf)) before
    for t in (1e300, -1e300, 5e9):
        with pytest.raises(RangeError, match="range of nanosecond ticks"):
            seconds_to_ticks(t, name="duration_s")
    assert seconds_to_ticks(80.0) == 80_000_000_000  # an 80 s sequence is fine


def test_numpy_numbers_accepted_and_huge_ints_refused() -> None:
    import numpy as np

    assert SystemLimits(max_slew_t_per_m_per_s=np.int64(200)).max_slew_t_per_m_per_s == 200.0
    assert SystemLimits(grad_raster_s=np.float64(4e-6)).grad_raster_ns == 4000
    with pytest.raises(RangeError, match="max_grad_t_per_m"):  # OverflowError before
        SystemLimits(max_grad_t_per_m=10**400)
