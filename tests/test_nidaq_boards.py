"""The DAQ board capability table: limits refused before any I/O, and at config time."""

from __future__ import annotations

from pathlib import Path

import pytest
from wavegen.drivers.daq_boards import BOARDS, board, check_config

from wavegen.bench.config import load_toml, parse_config
from wavegen.errors import ConfigError, RangeError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_pcie_6363_rates_from_the_x_series_manual() -> None:
    b = board("pcie-6363")
    assert b is not None and b.ai_limit_hz(1) == 2e6 and b.ai_limit_hz(2) == 500e3 and b.ai_limit_hz(4) == 250e3
    assert b.ao_limit_hz(1) == pytest.approx(2.857e6, rel=1e-3) and b.ao_limit_hz(4) == 1.25e6
    assert "ao_max_rate_hz[1:] (2-4 channels)" in b.unverified
    assert board("PXIe-6368") is not None and board("PXIe-6368").ai_limit_hz(16) == 2e6  # type: ignore[union-attr]
    assert board("no-such-board") is None and board(None) is None
    assert all(m == x.model.lower() for m, x in BOARDS.items())


@pytest.mark.parametrize(
    ("ao", "ai", "rate", "message"),
    [
        ([0, 1], [0, 1], 1e6, r"daq \(PCIe-6363\): AI aggregate rate 2e\+06 S/s \(2 channels ai0, ai1 x 1e\+06 S/s\)"),
        ([0], [0], 2.5e6, r"AI sample rate 2\.5e\+06 S/s on ai0 is above the board's single-channel 2e\+06 S/s"),
        ([0, 1, 2, 3], [], 1.5e6, r"AO update rate 1\.5e\+06 S/s on ao0, ao1, ao2, ao3 is above .* 1\.25e\+06"),
        ([4], [], 1e5, r"channel ao4 does not exist \(the board has ao0\.\.ao3\)"),
        ([0], [32], 1e5, r"channel ai32 does not exist"),
    ],
)
def test_check_config_names_instrument_channel_limit_and_value(
    ao: list[int], ai: list[int], rate: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        check_config("PCIe-6363", ao, ai, rate)
    b = board("PCIe-6363")
    assert b is not None
    with pytest.raises(RangeError, match=message.replace("daq ", "x ")):
        b.check("x", ao_channels=ao, ai_channels=ai, ao_rate_hz=rate, ai_rate_hz=rate)


def test_within_the_limits_and_unknown_boards_pass() -> None:
    check_config("PCIe-6363", [0, 1, 2, 3], [0, 1], 500e3)
    check_config("PCIe-6363", [0], [0], 2e6)
    check_config("PXIe-6368", [0, 1], [0, 1, 2, 3, 4], 1e6)
    check_config("PCIe-9999", [0, 1], [0, 1, 2], 10e6)  # not in the table: the driver checks the device


def test_the_real_bench_example_fits_its_board() -> None:
    cfg = parse_config(load_toml(EXAMPLES / "bench_real.toml"))
    daq = cfg.instruments["daq"]
    ao = [o.channel for o in cfg.channel_map.on_instrument("daq")]
    ai = [c.channel for c in cfg.channel_map.captures.values() if c.instrument == "daq"]
    assert daq.model == "PCIe-6363" and len(ai) == 2
    check_config(daq.model, ao, ai, daq.rate_hz, instrument="daq")
    with pytest.raises(ConfigError, match="aggregate"):
        check_config(daq.model, ao, ai, 1e6, instrument="daq")  # what the example asked for before
