"""NI-DAQmx adapter: NI's mocked-interpreter technique (exact calls) and the fake DAQ (rules, loopback)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from unittest import mock

import nidaqmx
import numpy as np
import pytest
from nidaqmx._base_interpreter import BaseInterpreter
from nidaqmx.constants import AcquisitionType, Edge, RegenerationMode, VoltageUnits
from nidaqmx.error_codes import DAQmxErrors
from nidaqmx.errors import DaqError
from wavegen.drivers.mock.fake_daq import FakeDaq, FakeDevice
from wavegen.drivers.nidaq import NiDaq

from wavegen.errors import (
    InstrumentError,
    InstrumentReportedError,
    InstrumentTimeoutError,
    NonFiniteError,
    RangeError,
    SafetyError,
    ShapeError,
    VerificationError,
)
from wavegen.limits import SystemLimits
from wavegen.safety.interlock import Grant, clear
from wavegen.safety.waveforms import Waveforms


def _wf() -> Waveforms:
    g = np.zeros((100, 3))
    g[:, 0] = np.interp(np.arange(100), [0, 10, 20, 80, 90, 99], [0, 0, 5e-3, 5e-3, 0, 0])
    return Waveforms(g, 10e-6)


def cleared(
    chans: Any, data: Any, rate: float, *, name: str = "nidaq:Dev1", endless: bool = False, lifetime_s: float = 600.0
) -> Any:
    """A clearance granting row i of ``data`` (volts as float64, or int16 codes) to ``name/ao<chans[i]>``."""
    chans = [chans] if isinstance(chans, int) else list(chans)
    a = np.asarray(data)
    a = a[np.newaxis, :] if a.ndim == 1 else a
    rows = [a[i] if a.dtype == np.int16 else np.ascontiguousarray(a[i], dtype=np.float64) for i in range(len(chans))]
    grants = [Grant.for_samples(f"{name}/ao{c}", r, rate, endless=endless) for c, r in zip(chans, rows, strict=True)]
    return clear(_wf(), SystemLimits(), grants=grants, periodic=endless, lifetime_s=lifetime_s)


@pytest.fixture(scope="module")
def ok() -> object:
    """A clearance with no grants: valid, but it lets nothing be sent."""
    return clear(_wf(), SystemLimits())


# --- NI's own technique: an autospec'd interpreter, exact arguments ---------------------------------


@pytest.fixture
def interp() -> Any:
    m = mock.create_autospec(BaseInterpreter, instance=True)
    m.create_task.return_value = ("H", True)
    m.get_task_attribute_string.return_value = "wavegen-ao"
    m.get_write_attribute_uint32.return_value = 2
    m.get_timing_attribute_double.return_value = 1e6
    m.get_device_attribute_double.return_value = 2.0e6
    m.get_device_attribute_string.return_value = "PCIe-6363"
    m.write_analog_f64.side_effect = lambda task, n, *a: n
    m.write_binary_i16.side_effect = lambda task, n, *a: n
    with mock.patch("nidaqmx.utils._select_interpreter", return_value=m):
        yield m


def test_ao_task_calls_are_exact(interp: Any, ok: object) -> None:
    n = 1000
    v = np.vstack([np.linspace(-1, 1, n), np.linspace(2, -2, n)])
    daq = NiDaq("Dev1")
    assert daq.max_rate_hz == pytest.approx(100e6 / 35) and daq.product_type == "PCIe-6363"
    daq.load([0, 1], v, 1e6, clearance=cleared([0, 1], v, 1e6), start_trigger="/Dev1/PFI0")
    daq.close()
    interp.create_ao_voltage_chan.assert_any_call(
        "H", "Dev1/ao0,Dev1/ao1", "", -10.0, 10.0, VoltageUnits.VOLTS.value, ""
    )
    interp.cfg_samp_clk_timing.assert_called_once_with("H", 1e6, "", Edge.RISING.value, AcquisitionType.FINITE.value, n)
    interp.set_write_attribute_int32.assert_called_once_with(
        "H", 0x1453, RegenerationMode.DONT_ALLOW_REGENERATION.value
    )
    interp.cfg_dig_edge_start_trig.assert_called_once_with("H", "/Dev1/PFI0", Edge.RISING.value)
    (task, n_w, auto_start, _timeout, layout, data), _ = interp.write_analog_f64.call_args_list[0]
    assert (task, n_w, auto_start, layout) == ("H", n, False, 0)
    assert data.dtype == np.float64 and np.array_equal(data, v)  # every sample, bit for bit
    interp.start_task.assert_not_called()


def test_int16_codes_go_through_write_binary_i16(interp: Any, ok: object) -> None:
    codes = np.array([[0, 1, -1, 32767, -32768, 5], [7, 6, 5, 4, 3, 2]], dtype=np.int16)
    daq = NiDaq("Dev1")
    daq.load_codes([0, 1], codes, 1e6, clearance=cleared([0, 1], codes, 1e6, endless=True), mode="regenerate")
    interp.cfg_samp_clk_timing.assert_called_once_with(
        "H", 1e6, "", Edge.RISING.value, AcquisitionType.CONTINUOUS.value, 6
    )
    interp.set_write_attribute_int32.assert_called_once_with("H", 0x1453, RegenerationMode.ALLOW_REGENERATION.value)
    args, _ = interp.write_binary_i16.call_args
    assert args[1] == 6 and np.array_equal(args[5], codes) and args[5].dtype == np.int16
    with pytest.raises(ShapeError, match="int16"):
        daq.load_codes([0, 1], codes.astype(np.int32), 1e6, clearance=cleared([0, 1], codes, 1e6))
    daq.close()
    interp.clear_task.assert_called()


def test_coerced_rate_is_refused_and_outputs_zeroed(interp: Any, ok: object) -> None:
    interp.get_timing_attribute_double.return_value = 1_000_200.0
    daq = NiDaq("Dev1")
    with pytest.raises(VerificationError, match="not the requested 1000000.0 S/s"):
        daq.load([0, 1], np.ones((2, 10)), 1e6, clearance=cleared([0, 1], np.ones((2, 10)), 1e6))
    # no waveform was written; the used channels were driven to 0 V with one on-demand sample
    assert interp.write_analog_f64.call_count == 1
    args, _ = interp.write_analog_f64.call_args
    assert args[1] == 1 and np.array_equal(args[5], np.zeros(2))


def test_without_the_ni_driver_the_error_is_clear() -> None:
    with pytest.raises(InstrumentError, match="NI-DAQmx is not installed"):
        NiDaq("Dev1")


# --- the fake DAQ ------------------------------------------------------------------------------------


def test_ao_ai_loopback_is_sample_exact_and_ends_at_zero(ok: object) -> None:
    fake = FakeDaq()
    n = 5000
    t = np.arange(n) / 1e6
    v = np.vstack([np.sin(2 * np.pi * 1e3 * t), 0.5 * np.cos(2 * np.pi * 2e3 * t) + 1.0])
    c = cleared([0, 1], v, 1e6)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load([0, 1], v, 1e6, clearance=c)
        daq.configure_capture([0], n)
        daq.start(clearance=c)
        daq.wait()
        got = daq.read()
        assert np.array_equal(got, v[:1])  # input sample k saw output sample k: same clock edge
        assert fake.outputs_v == {"Dev1/ao0": 0.0, "Dev1/ao1": 0.0}
        prefix = daq._task_prefix
    i_ai, i_ao = fake.calls.index(f"start_task('{prefix}-ai')"), fake.calls.index(f"start_task('{prefix}-ao')")
    assert i_ai < i_ao and "cfg_dig_edge_start_trig('/Dev1/ao/StartTrigger')" in fake.calls


def test_regeneration_loops_the_buffer(ok: object) -> None:
    fake = FakeDaq()
    pattern = np.array([[0.0, 1.0, 2.0, 3.0]])
    c = cleared(0, pattern, 100e3, endless=True)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, pattern, 100e3, clearance=c, mode="regenerate")
        daq.configure_capture(0, 10)
        daq.start(clearance=c)
        assert np.array_equal(daq.read()[0], np.tile(pattern[0], 3)[:10])
        with pytest.raises(InstrumentTimeoutError, match="-200560"):
            daq.wait(timeout_s=0.01)  # a regenerating task never finishes by itself
        assert fake.outputs_v["Dev1/ao0"] == 0.0


def test_unscaled_codes_through_the_fake(ok: object) -> None:
    fake = FakeDaq()
    codes = np.array([[0, 3277, -3277, 32767]], dtype=np.int16)
    c = cleared(0, codes, 1e6)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load_codes(0, codes, 1e6, clearance=c)
        daq.start(clearance=c)
        daq.wait()
    assert np.allclose(fake.played[-1][1]["Dev1/ao0"], codes[0] * 10.0 / 32767)


def test_start_trigger_waits_for_the_edge(ok: object) -> None:
    fake = FakeDaq()
    c = cleared(0, np.linspace(0, 1, 100), 1e6)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, np.linspace(0, 1, 100)[None, :], 1e6, clearance=c, start_trigger="/Dev1/PFI0")
        daq.start(clearance=c)
        assert fake.played == []  # armed, waiting
        fake.fire("/Dev1/PFI0")
        daq.wait()
        assert len(fake.played) == 1 and fake.outputs_v["Dev1/ao0"] == 0.0
        daq.load(0, np.linspace(0, 1, 100)[None, :], 1e6, clearance=c, start_trigger="/Dev1/PFI0")
        daq.start(clearance=c)
        with pytest.raises(InstrumentTimeoutError, match="WAIT_UNTIL_DONE"):
            daq.wait(timeout_s=0.01)  # no edge came: clear error, outputs at 0 V
        assert fake.outputs_v["Dev1/ao0"] == 0.0


def test_rate_too_high_for_four_channels() -> None:
    fake = FakeDaq()
    v = np.full((4, 100), 0.5)
    c = cleared([0, 1, 2, 3], v, 2e6)
    with fake.install(), NiDaq("Dev1") as daq:
        before = list(fake.calls)
        # the board table refuses before any I/O: 2 MS/s is fine for 1 AO channel, not for 4
        msg = r"daq:Dev1 \(PCIe-6363\): AO update rate 2e\+06 S/s on ao0, ao1, ao2, ao3 is above the board's 1\.25e\+06"
        with pytest.raises(RangeError, match=msg):
            daq.load([0, 1, 2, 3], v, 2e6, clearance=c)
        assert fake.calls == before
        daq.max_rate_hz = 3e6
        daq.board = replace(daq.board, ao_max_rate_hz=(3e6,) * 4)  # a wrong table: the fake board still refuses
        daq.load([0, 1, 2, 3], v, 2e6, clearance=c)
        with pytest.raises(InstrumentReportedError, match=r"-200332 \(SAMP_RATE_TOO_HIGH\)"):
            daq.start(clearance=c)
        assert all(fake.outputs_v[f"Dev1/ao{k}"] == 0.0 for k in range(4))


def test_rate_off_the_timebase_and_missing_channel(ok: object) -> None:
    fake = FakeDaq()
    with fake.install(), NiDaq("Dev1") as daq:
        with pytest.raises(VerificationError, match="1492537.31"):
            daq.load(0, np.zeros((1, 10)), 1.5e6, clearance=cleared(0, np.zeros(10), 1.5e6))
        assert not any(c.startswith("write(") for c in fake.calls)
        daq.board = replace(daq.board, n_ao=8)  # past the table: the fake board refuses the channel
        with pytest.raises(InstrumentReportedError, match="-200170"):
            daq.load(7, np.zeros((1, 10)), 1e6, clearance=cleared(7, np.zeros(10), 1e6))


def test_refused_before_any_daq_call(ok: object) -> None:
    fake = FakeDaq()
    with fake.install():
        daq = NiDaq("Dev1", max_rate_hz=1e6)
        before = list(fake.calls)
        with pytest.raises(RangeError, match="outside \\+-10.0 V"):
            daq.load(0, np.array([[0.0, 10.5]]), 1e5, clearance=ok)
        with pytest.raises(NonFiniteError, match=r"volts\[0, 1\]"):
            daq.load(0, np.array([[0.0, np.nan]]), 1e5, clearance=ok)
        with pytest.raises(RangeError, match="sample rate 2000000.0 S/s"):
            daq.load(0, np.zeros((1, 4)), 2e6, clearance=cleared(0, np.zeros(4), 2e6))
        with pytest.raises(ShapeError):
            daq.load([0, 1], np.zeros((3, 4)), 1e5, clearance=ok)
        with pytest.raises(SafetyError):
            daq.load(0, np.zeros((1, 4)), 1e5, clearance=None)
        with pytest.raises(SafetyError, match="does not cover output 'nidaq:Dev1/ao0'"):
            daq.load(0, np.zeros((1, 4)), 1e5, clearance=ok)
        with pytest.raises(SafetyError):
            daq.start(clearance=object())
        assert fake.calls == before


def test_fake_enforces_nidaqmx_rules_through_the_real_api() -> None:
    fake = FakeDaq(devices=[FakeDevice("Dev1")], virtual_time=True)
    with fake.install():
        with nidaqmx.Task("a") as t:
            t.ao_channels.add_ao_voltage_chan("Dev1/ao0")
            with pytest.raises(DaqError) as e:
                t.write([0.0, 1.0, 2.0])  # several samples, no buffer configured
            assert e.value.error_type == DAQmxErrors.WRITE_FAILS_BUFFER_SIZE_AUTO_CONFIGURED
            t.timing.cfg_samp_clk_timing(1e5, sample_mode=AcquisitionType.FINITE, samps_per_chan=4)
            with pytest.raises(DaqError) as e:
                t.write(np.zeros(5))
            assert e.value.error_type == DAQmxErrors.SAMPLES_WILL_NEVER_BE_GENERATED
            with pytest.raises(DaqError) as e:
                t.start()
            assert e.value.error_type == DAQmxErrors.OUTPUT_BUFFER_EMPTY
            with pytest.raises(DaqError) as e:
                t.write(np.array([0.0, 11.0, 0.0, 0.0]))
            assert e.value.error_type == DAQmxErrors.INVALID_AO_DATA_WRITE
        with nidaqmx.Task("b") as t:
            with pytest.raises(DaqError) as e:
                t.ao_channels.add_ao_voltage_chan("Dev1/ao0", min_val=-20.0, max_val=20.0)
            assert e.value.error_type == DAQmxErrors.INVALID_ATTRIBUTE_VALUE
        with nidaqmx.Task("c") as t, nidaqmx.Task("d") as u:
            for task in (t, u):
                task.ao_channels.add_ao_voltage_chan("Dev1/ao1")
                task.timing.cfg_samp_clk_timing(1e5, sample_mode=AcquisitionType.CONTINUOUS, samps_per_chan=4)
                task.out_stream.regen_mode = RegenerationMode.DONT_ALLOW_REGENERATION
                task.write(np.zeros(4))
            t.start()
            with pytest.raises(DaqError) as e:
                u.start()
            assert e.value.error_type == DAQmxErrors.PAL_RESOURCE_RESERVED
            fake.advance(1e-3)  # 100 sample periods: the 4 samples written are long played
            with pytest.raises(DaqError) as e:
                t.stop()  # non-regenerating output ran dry
            assert e.value.error_type == DAQmxErrors.GEN_STOPPED_TO_PREVENT_REGEN_OF_OLD_SAMPLES


def test_real_daq_loopback(ok: object, daq_device: str) -> None:  # pragma: no cover - opt-in, NI hardware
    # opt-in: pytest --daq-device Dev1 (tests/conftest.py)
    n = 1000
    v = 0.5 * np.sin(np.linspace(0, 2 * np.pi, n))
    c = cleared(0, v, 100e3, name=f"nidaq:{daq_device}")
    with NiDaq(daq_device) as daq:
        daq.load(0, v, 100e3, clearance=c)
        daq.configure_capture(0, n)
        daq.start(clearance=c)
        daq.wait()
        assert np.max(np.abs(daq.read()[0] - v)) < 0.01


def test_fake_daq_feeds_a_simulated_device_under_test(ok: object) -> None:
    # a DUT with gain 0.5 and a 3-sample delay between ao0 and ai0 (what the bench's system model plugs in)
    def dut(rate_hz: float, ao: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = ao["Dev1/ao0"]
        return {"Dev1/ai0": 0.5 * np.concatenate([np.zeros(3), x[:-3]])}

    fake = FakeDaq(dut=dut)
    v = np.linspace(0.0, 1.0, 50)
    c = cleared(0, v, 1e5)
    with fake.install(), NiDaq("Dev1") as daq:
        daq.load(0, v, 1e5, clearance=c)
        daq.configure_capture(0, 50)
        daq.start(clearance=c)
        daq.wait()
        got = daq.read()[0]
    assert np.array_equal(got[:3], np.zeros(3)) and np.array_equal(got[3:], 0.5 * v[:-3])
