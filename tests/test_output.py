"""ChannelMap: physical units <-> volts, never clipping; limits the hardware cannot reach are refused."""

from __future__ import annotations

import numpy as np
import pytest

from wavegen.bench.channels import CaptureChannel, ChannelMap, OutputChannel
from wavegen.errors import ConfigError, NonFiniteError, RangeError


def _map() -> ChannelMap:
    return ChannelMap(
        {
            "gx": OutputChannel("gx", "daq", 0, 200.0, 10.0),
            "rf_i": OutputChannel("rf_i", "awg", 1, 2e5, 5.0),
            "rf_q": OutputChannel("rf_q", "awg", 2, 2e5, 5.0),
            "adc": OutputChannel("adc", "daq", 3, 5.0, 10.0),
        },
        {"gx": CaptureChannel("gx", "daq", 0, 100.0)},
    )


def test_volts_and_back():
    m = _map()
    g = np.array([0.0, 0.01, -0.04, 0.05])
    assert np.array_equal(m.to_volts("gx", g), g * 200.0)
    assert np.allclose(m.from_volts("gx", np.array([1.0, -2.0])), [0.01, -0.02])
    assert np.array_equal(m.to_volts("adc", np.array([False, True])), [0.0, 5.0])
    assert m.output("gx").max_value == pytest.approx(0.05)
    assert m.instruments == ["daq", "awg"]
    assert [c.name for c in m.on_instrument("daq")] == ["gx", "adc"]


def test_never_clips():
    m = _map()
    with pytest.raises(RangeError, match=r"gx: 0.0501 T/m at sample 2 needs 10.02 V, beyond the channel's \+-10 V"):
        m.to_volts("gx", np.array([0.0, 0.01, 0.0501]))
    with pytest.raises(NonFiniteError, match=r"gx\[1\]"):
        m.to_volts("gx", np.array([0.0, np.nan]))
    with pytest.raises(ConfigError, match="no output 'gz'"):
        m.to_volts("gz", np.zeros(3))


def test_limits_beyond_hardware():
    m = _map()
    m.check_limits(0.05, 25e-6)
    with pytest.raises(ConfigError, match=r"max_grad = 60 mT/m needs 12 V on gx"):
        m.check_limits(0.06, 20e-6)
    with pytest.raises(ConfigError, match=r"max_b1 = 30 uT needs 6 V on rf_i"):
        m.check_limits(0.04, 30e-6)


def test_map_consistency():
    with pytest.raises(ConfigError, match="both use daq output 0"):
        ChannelMap({"gx": OutputChannel("gx", "daq", 0, 1.0, 1.0), "gy": OutputChannel("gy", "daq", 0, 1.0, 1.0)})
    with pytest.raises(ConfigError, match="rf_q is missing"):
        ChannelMap({"rf_i": OutputChannel("rf_i", "awg", 1, 1.0, 1.0)})
    with pytest.raises(ConfigError, match="unknown channel name 'gw'"):
        OutputChannel("gw", "daq", 0, 1.0, 1.0)
    with pytest.raises(ConfigError, match="volts_per_unit"):
        OutputChannel("gx", "daq", 0, -1.0, 1.0)
    with pytest.raises(ConfigError, match="only gradient and RF"):
        CaptureChannel("adc", "daq", 0, 1.0)
