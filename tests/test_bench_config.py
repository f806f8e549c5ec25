"""Bench configuration: the examples load; every kind of mistake is a ConfigError naming key and value,
raised before any instrument is touched."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from wavegen.bench import MOCK_CONFIG, Bench
from wavegen.bench.config import load_toml, parse_config
from wavegen.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _cfg() -> dict:
    return copy.deepcopy(MOCK_CONFIG)


def test_examples_load():
    mock = parse_config(load_toml(EXAMPLES / "bench.toml"))
    assert mock.mock and mock.channel_map.outputs["gx"].volts_per_unit == pytest.approx(200.0)
    assert mock.limits.max_grad_t_per_m == pytest.approx(0.04)
    assert mock.channel_map.outputs["rf_i"].volts_per_unit == pytest.approx(2e5)
    real = parse_config(load_toml(EXAMPLES / "bench_real.toml"))
    assert not real.mock and real.trigger == "external"
    # amplifier calibration: 1 / (20 A/V * 0.25 mT/m/A) = 200 V/(T/m); gz 1/(20*0.22e-3)
    assert real.channel_map.outputs["gx"].volts_per_unit == pytest.approx(200.0)
    assert real.channel_map.outputs["gz"].volts_per_unit == pytest.approx(1 / (20 * 0.22e-3))
    assert real.amp_max_slew["gz"] == pytest.approx(180.0)
    assert real.instruments["rf_awg"].rate_hz == pytest.approx(10e6)


def test_example_mock_file_is_the_builtin_mock():
    a = parse_config(load_toml(EXAMPLES / "bench.toml"))
    b = parse_config(_cfg())
    assert a.channel_map == b.channel_map and a.limits == b.limits


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c["instruments"]["awg"].update(resource="192.0.2.5:5025"), r"instruments\.awg\.resource = '192"),
        (lambda c: c["instruments"]["daq"].update(resource="Dev1/ao0"), r"instruments\.daq\.resource = 'Dev1/ao0'"),
        (lambda c: c["instruments"]["daq"].update(driver="nidaqmx"), r"instruments\.daq\.driver = 'nidaqmx'"),
        (lambda c: c["instruments"]["daq"].update(resouce="Dev1"), r"instruments\.daq\.resouce .*unknown key"),
        (lambda c: c["channels"]["gx"].update(instrument="scope"), r"channels\.gx\.instrument = 'scope'"),
        (lambda c: c["channels"].pop("rf_q"), r"channels\.rf_q is missing"),
        (lambda c: c["channels"].pop("gy"), r"capture\.gy: channels\.gy is missing"),
        (lambda c: c["channels"]["gx"].pop("channel"), r"channels\.gx\.channel: missing"),
        (
            lambda c: c["channels"]["gx"].update(volts_per_unit="200 V/(T/n)"),
            r"channels\.gx\.volts_per_unit = '200 V/\(T/n\)'",
        ),
        (lambda c: c["limits"].update(max_grad="40 mT/n"), r"limits: .*40 mT/n"),
        (lambda c: c["limits"].update(max_gard="40 mT/m"), r"limits: .*max_gard"),
        (lambda c: c["limits"].update(max_grad="60 mT/m"), r"limits\.max_grad = 60 mT/m needs 12 V on gx"),
        (lambda c: c["limits"].update(max_b1="30 uT"), r"limits\.max_b1 = 30 uT needs 6 V on rf_i"),
        (lambda c: c["instruments"]["daq"].update(range="12 V"), r"instruments\.daq\.range = 12"),
        (lambda c: c["instruments"]["daq"].update(rate="3 MHz"), r"instruments\.daq\.rate = 3000000"),
        (lambda c: c["channels"]["gy"].update(channel=0), r"both use daq output 0"),
        (lambda c: c["bench"].update(mode="first-level"), r"bench\.mode = 'first-level'"),
        (lambda c: c["bench"].update(mock=False), r"resource = 'mock' needs \[bench\] mock = true"),
        (
            lambda c: c["capture"]["gx"].update(instrument="awg"),
            r"capture\.gx\.instrument = 'awg': captures are read by a DAQ",
        ),
    ],
)
def test_config_errors_name_key_and_value(edit, match):
    c = _cfg()
    edit(c)
    with pytest.raises(ConfigError, match=match):
        Bench.from_config(c)


def test_amplifier_rating_below_slew_limit():
    c = _cfg()
    c["channels"]["gx"] = {
        "instrument": "daq", "channel": 0,
        "amplifier": {"a_per_v": 20.0, "t_per_m_per_a": 0.25e-3, "max_slew": "120 T/m/s"},
    }
    msg = r"limits\.max_slew = 150 T/m/s exceeds channels\.gx\.amplifier\.max_slew = 120"
    with pytest.raises(ConfigError, match=msg):
        parse_config(c)
    c["channels"]["gx"]["amplifier"]["max_input"] = "5 V"  # 40 mT/m needs 8 V > 5 V amplifier input
    c["channels"]["gx"]["amplifier"]["max_slew"] = "200 T/m/s"
    with pytest.raises(ConfigError, match=r"needs 8 V on gx .* beyond its \+-5 V range"):
        parse_config(c)


def test_errors_before_any_instrument_is_touched(tmp_path):
    """A bad config against a live emulator: the emulator sees no connection at all."""
    from wavegen.drivers.mock.keysight import keysight_emulator

    with keysight_emulator("33522B") as emu:
        c = _cfg()
        c["bench"]["mock"] = True
        c["instruments"]["awg"]["resource"] = emu.address
        c["limits"]["max_b1"] = "26 uT"  # needs 5.2 V on rf_i: beyond the 5 V into 50 ohm
        with pytest.raises(ConfigError, match="max_b1"):
            Bench.from_config(c)
        c["limits"]["max_b1"] = "20 uT"
        c["channels"]["rf_i"]["volts_per_unit"] = "0.2 V/uTT"
        with pytest.raises(ConfigError, match="rf_i.volts_per_unit"):
            Bench.from_config(c)
        path = tmp_path / "bad.toml"
        path.write_text('[bench]\nname = "x"\n[instruments.awg]\ndriver = "keysight_33500"\n'
                        f'resource = "{emu.address}"\n[channels.gx]\ninstrument = "awg"\nchannel = 1\n'
                        'volts_per_unit = "100 V/(T/m)"\n[limits]\nmax_grad = "60 mT/m"\n')
        with pytest.raises(ConfigError, match=r"max_grad = 60 mT/m needs 6 V on gx"):
            Bench.from_file(path)
        assert emu.connections == 0


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Bench.from_file(tmp_path / "nope.toml")
    p = tmp_path / "broken.toml"
    p.write_text("[bench\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Bench.from_file(p)


def test_rf_amplifier_table_feeds_the_safety_check():
    from wavegen.bench.config import MOCK_CONFIG, parse_config

    cfg = parse_config(copy.deepcopy(MOCK_CONFIG))
    amp = cfg.rf_amplifier
    assert amp is not None
    assert amp.peak_power_w == pytest.approx(2000.0)
    assert amp.watts_per_t2 == pytest.approx(2000.0 / 25e-6**2)
    assert amp.max_duty_cycle == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"peak_power": "2 kV"}, r"rf_amplifier\.peak_power = '2 kV'"),
        ({"b1_at_peak_power": None}, r"rf_amplifier\.b1_at_peak_power: missing"),
        ({"max_duty_cycle": 1.5}, r"rf_amplifier\.max_duty_cycle = 1\.5"),
        ({"max_pusle": "20 ms"}, r"rf_amplifier.*max_pusle"),
    ],
)
def test_rf_amplifier_mistakes_are_config_errors(change, message):
    from wavegen.bench.config import MOCK_CONFIG, parse_config

    c = copy.deepcopy(MOCK_CONFIG)
    for k, v in change.items():
        if v is None:
            c["rf_amplifier"].pop(k)
        else:
            c["rf_amplifier"][k] = v
    with pytest.raises(ConfigError, match=message):
        parse_config(c)


def test_amplifier_calibration_units_are_read_and_named_when_wrong() -> None:
    c = copy.deepcopy(MOCK_CONFIG)
    del c["channels"]["gx"]["volts_per_unit"]
    c["channels"]["gx"]["amplifier"] = {"a_per_v": "10 A/V", "t_per_m_per_a": "0.5 mT/m/A"}
    assert parse_config(c).channel_map.outputs["gx"].volts_per_unit == pytest.approx(200.0)
    c["channels"]["gx"]["amplifier"]["a_per_v"] = "10 V/A"
    with pytest.raises(ConfigError, match=r"a_per_v = '10 V/A': write a number and one of the units A/V"):
        parse_config(c)


def test_rf_i_and_q_at_different_rates_are_a_config_error() -> None:
    c = copy.deepcopy(MOCK_CONFIG)
    c["instruments"]["awg2"] = dict(c["instruments"]["awg"], rate="2 MHz")
    c["channels"]["rf_q"] = {"instrument": "awg2", "channel": 1, "volts_per_unit": "0.2 V/uT"}
    c["capture"] = {}
    with pytest.raises(ConfigError, match=r"rf_i and rf_q play at different rates \[1000000.0, 2000000.0\] Hz"):
        parse_config(c)


def test_daq_board_limits_are_checked_before_any_instrument() -> None:
    """A DAQ channel the board lacks, or captures over its aggregate rate: ConfigError at parse time."""
    c = copy.deepcopy(MOCK_CONFIG)
    c["channels"]["adc"]["channel"] = 9
    with pytest.raises(ConfigError, match=r"daq \(PXIe-6368\): channel ao9 does not exist \(the board has ao0..ao3\)"):
        parse_config(c)
    c = copy.deepcopy(MOCK_CONFIG)
    c["instruments"]["daq"]["model"] = "PCIe-6363"  # 5 captures at 1 MS/s: over its 1 MS/s aggregate
    with pytest.raises(ConfigError, match=r"AI aggregate rate 5e\+06 S/s .* above the board's multi-channel"):
        parse_config(c)


def test_a_bare_number_for_a_dimensional_config_value_is_refused() -> None:
    for section, key, value in (("instruments", "daq", {"rate": 1e6}), ("limits", None, {"max_slew": 150})):
        c = copy.deepcopy(MOCK_CONFIG)
        if key is None:
            c[section].update(value)
        else:
            c[section][key].update(value)
        with pytest.raises(ConfigError, match="give the unit"):
            parse_config(c)
    c = copy.deepcopy(MOCK_CONFIG)
    c["limits"]["max_grad_t_per_m"] = 0.04  # the name says the unit: not ambiguous
    del c["limits"]["max_grad"]
    assert parse_config(c).limits.max_grad_t_per_m == 0.04
