"""A clearance for waveform A on one output lets through exactly that: not B, not another channel, not
another rate, not more repeats, not looping, not after expiry (every public path of the SCPI AWGs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_drivers_helpers import cleared, codes_grant, volts_grant
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.mock.keysight import keysight_emulator

from wavegen.errors import SafetyError
from wavegen.testing import ReplayTransport

A = np.sin(np.linspace(0, 6, 64))
B = A.copy()
B[10] += 1e-6  # one sample differs
CODES_A = np.rint(A * 32767).astype(np.int16)
RATE = 1e6


def _awg(emu: Any) -> Keysight33500:
    return Keysight33500(emu.address, name="awg", readback="points")


def _sent_arbs(emu: Any) -> int:
    return sum(1 for line in emu.personality.log if ":DATA:ARB:DAC" in line)


LoadCall = Callable[[Keysight33500, Any], Any]

_LOADS: dict[str, LoadCall] = {
    "load": lambda awg, c: awg.load(1, A, RATE, clearance=c, name="a"),
    "load_codes": lambda awg, c: awg.load_codes(1, CODES_A, RATE, clearance=c, amplitude_vpp=2.0, name="a"),
    "load_synchronized": lambda awg, c: awg.load_synchronized({1: A, 2: A}, RATE, clearance=c),
}


def _grant_a(output: str = "awg/1", rate: float = RATE, kind: str = "load", **kw: Any) -> Any:
    return codes_grant(output, CODES_A, rate, **kw) if kind == "load_codes" else volts_grant(output, A, rate, **kw)


@pytest.mark.parametrize("path", sorted(_LOADS))
def test_upload_paths_refuse_anything_but_what_was_cleared(path: str) -> None:
    load = _LOADS[path]
    with keysight_emulator("33522B") as emu, _awg(emu) as awg:
        wrong = {
            "other samples": cleared(
                codes_grant("awg/1", CODES_A + 1, RATE) if path == "load_codes" else volts_grant("awg/1", B, RATE),
                volts_grant("awg/2", B, RATE),
            ),
            "other channel": cleared(_grant_a("awg/2", kind=path)),
            "other instrument": cleared(_grant_a("scope/1", kind=path), _grant_a("scope/2", kind=path)),
            "other rate": cleared(_grant_a(rate=2 * RATE, kind=path), _grant_a("awg/2", rate=2 * RATE, kind=path)),
            "volts vs codes": cleared(
                volts_grant("awg/1", CODES_A, RATE) if path == "load_codes" else codes_grant("awg/1", CODES_A, RATE)
            ),
        }
        for why, c in wrong.items():
            with pytest.raises(SafetyError):
                load(awg, c)
            assert _sent_arbs(emu) == 0, why  # refused before the first byte
        short = cleared(_grant_a(kind=path), _grant_a("awg/2", kind=path), lifetime_s=0.05)
        time.sleep(0.08)
        with pytest.raises(SafetyError, match="expired"):
            load(awg, short)
        assert _sent_arbs(emu) == 0
        good = cleared(_grant_a(kind=path), _grant_a("awg/2", kind=path))
        load(awg, good)
        assert _sent_arbs(emu) >= 1


def test_arm_and_output_follow_the_repetition_that_was_cleared() -> None:
    once = cleared(volts_grant("awg/1", A, RATE))
    thrice = cleared(volts_grant("awg/1", A, RATE, repeats=3))
    looping = cleared(volts_grant("awg/1", A, RATE, endless=True))
    with keysight_emulator("33522B") as emu, _awg(emu) as awg:
        awg.load(1, A, RATE, clearance=once, name="a")
        n_log = len(emu.personality.log)
        with pytest.raises(SafetyError, match="100000000 repeats requested, 1 cleared"):
            awg.arm([1], cycles=100_000_000)
        with pytest.raises(SafetyError, match="looping until stopped was not cleared"):
            awg.arm([1], trigger="immediate")
        # not armed: the 33500 loops a loaded arb once its output is on
        with pytest.raises(SafetyError, match="looping until stopped was not cleared"):
            awg.output(1, True, clearance=once)
        assert len(emu.personality.log) == n_log  # nothing was sent
        awg.arm([1], cycles=1)
        awg.output(1, True, clearance=once)
        assert emu.personality.ch[1].output
        # a clearance for more repeats does not cover what another clearance loaded... unless it covers it
        awg.load(1, A, RATE, clearance=thrice, name="a")
        awg.arm([1], cycles=3)
        with pytest.raises(SafetyError, match="3 repeats requested, 1 cleared"):
            awg.output(1, True, clearance=once)
        awg.output(1, True, clearance=thrice)
        awg.load(1, A, RATE, clearance=looping, name="a")
        awg.arm([1], trigger="immediate")
        awg.output(1, True, clearance=looping)
        with pytest.raises(SafetyError, match="not what was cleared"):
            awg.output(1, True, clearance=cleared(volts_grant("awg/1", B, RATE, endless=True)))


def test_trigger_refuses_once_the_clearance_expired() -> None:
    short = cleared(volts_grant("awg/1", A, RATE), lifetime_s=0.3)
    with keysight_emulator("33522B") as emu, _awg(emu) as awg:
        awg.load(1, A, RATE, clearance=short, name="a")
        awg.arm([1], cycles=1)
        awg.output(1, True, clearance=short)
        time.sleep(0.35)
        with pytest.raises(SafetyError, match="expired"):
            awg.trigger()
        assert emu.personality.ch[1].triggers == 0


def test_output_id_and_default_name() -> None:
    steps = [("*IDN?", "Keysight Technologies,33522B,MY001,A.02"), ("*CLS", None), ("*OPT?", "0"),
             ("FORM:BORD SWAP", None), ("FORM:BORD?", "SWAP")]
    steps += [(f"OUTP{c}{s}", None) for c in (1, 2) for s in (" OFF", ":LOAD 50")]
    steps += [("SYST:ERR?", '+0,"No error"')]
    awg = Keysight33500(ReplayTransport(list(steps)))
    assert awg.name == "33522B-MY001" and awg.output_id(2) == "33522B-MY001/2"
    named = Keysight33500(ReplayTransport(list(steps)), name="gradients")
    assert named.output_id(1) == "gradients/1"
    with pytest.raises(Exception, match="non-empty"):
        Keysight33500(ReplayTransport(list(steps)), name=" ")


_EXAMPLES = int(__import__("os").environ.get("WAVEGEN_PROPERTY_EXAMPLES", "150"))


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(8, 48),
    seed=st.integers(0, 2**32 - 1),
    rate=st.sampled_from([1e3, 1e5, 1e6, 2.5e6]),
    repeats=st.integers(1, 4),
    change=st.sampled_from(["sample", "channel", "rate", "repeats", "endless", "codes", "expired", "none"]),
)
def test_property_nothing_but_what_was_cleared_is_sent(
    n: int, seed: int, rate: float, repeats: int, change: str
) -> None:
    """Generated waveforms and one change each: only the unchanged case sends anything past the check."""
    from test_drivers_helpers import SinkTransport

    v = np.random.default_rng(seed).uniform(-1, 1, n)
    grant = volts_grant("awg/1", v, rate, repeats=repeats)
    clearance = cleared(grant, lifetime_s=1e-9 if change == "expired" else 600.0)
    t = SinkTransport()
    awg = Keysight33500(t, name="awg", verify=False)
    channel, rate_sent, cycles, trigger, samples = 1, rate, repeats, "bus", v
    if change == "sample":
        samples = v.copy()
        samples[int(seed % n)] = np.nextafter(samples[int(seed % n)], 2.0)  # one ulp
    elif change == "channel":
        channel = 2
    elif change == "rate":
        rate_sent = rate * (1 + 1e-9)
    elif change == "repeats":
        cycles = repeats + 1
    elif change == "endless":
        trigger = "immediate"
    before = len(t.written)
    try:
        if change == "codes":
            awg.load_codes(1, np.rint(v * 32767).astype(np.int16), rate, clearance=clearance, amplitude_vpp=2.0)
        else:
            awg.load(channel, samples, rate_sent, clearance=clearance, name="p", full_scale_v=1.0)
        uploaded = len(t.written)
        awg.arm([channel], trigger=trigger, cycles=cycles)
        awg.output(channel, True, clearance=clearance)
    except SafetyError:
        assert change != "none"
        if change in ("repeats", "endless"):  # the upload was cleared; arming was not: nothing after it
            assert len(t.written) == uploaded
        else:
            assert len(t.written) == before
        return
    assert change == "none", f"{change}: reached the instrument"
