"""Property: nothing but what a clearance grants reaches the (fake) DAQ, through any public NiDaq path.

CI runs a few hundred cases; WAVEGEN_PROPERTY_EXAMPLES=10000 runs a nightly-sized sweep.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wavegen.drivers.mock.fake_daq import FakeDaq
from wavegen.drivers.nidaq import NiDaq

from wavegen.errors import SafetyError
from wavegen.limits import SystemLimits
from wavegen.safety.interlock import Grant, clear
from wavegen.safety.waveforms import Waveforms

RATE = 100e3
EXAMPLES = int(os.environ.get("WAVEGEN_PROPERTY_EXAMPLES", "300"))
_WF = Waveforms(np.vstack([0.005 * np.sin(np.linspace(0, np.pi, 100)), np.zeros(100), np.zeros(100)]).T, 10e-6)
_FAKE = FakeDaq(virtual_time=True)


def _clearance(v: np.ndarray, *, endless: bool = False, lifetime_s: float = 600.0) -> Any:
    return clear(_WF, SystemLimits(), periodic=endless, lifetime_s=lifetime_s,
                 grants=[Grant.for_samples("nidaq:Dev1/ao0", v, RATE, endless=endless)])


MUTATIONS = ("sample", "length", "channel", "rate", "loop", "codes", "other_name", "start_other", "stream_other")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 400),
    mutation=st.sampled_from(MUTATIONS),
    where=st.floats(0, 1, exclude_max=True),
    delta=st.sampled_from([1e-12, 1e-6, 0.5, -3.0]),
)
def test_nothing_ungranted_reaches_the_daq(seed: int, n: int, mutation: str, where: float, delta: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, n)
    c = _clearance(a)
    b = a.copy()
    k = int(where * n)
    b[k] = a[k] + delta
    with _FAKE.install():
        daq = NiDaq("Dev1", name="other" if mutation == "other_name" else None)
        before = len(_FAKE.calls)
        with pytest.raises(SafetyError):
            if mutation == "sample":
                daq.load(0, b, RATE, clearance=c)
            elif mutation == "length":
                daq.load(0, np.concatenate([a, a[-1:]]), RATE, clearance=c)
            elif mutation == "channel":
                daq.load(1 + k % 3, a, RATE, clearance=c)
            elif mutation == "rate":
                daq.load(0, a, RATE * (1 + max(abs(delta), 1e-9)), clearance=c)
            elif mutation == "loop":
                daq.load(0, a, RATE, clearance=c, mode="regenerate")
            elif mutation == "codes":
                daq.load_codes(0, np.round(a * 3000).astype(np.int16), RATE, clearance=c)
            elif mutation == "other_name":
                daq.load(0, a, RATE, clearance=c)
            elif mutation == "start_other":
                daq.load(0, b, RATE, clearance=_clearance(b))
                daq.start(clearance=c)
            else:
                daq.stream(0, iter([b[:k + 1], b[k + 1:]]), RATE, clearance=c)
        new = _FAKE.calls[before:]
        if mutation == "start_other":
            assert not any(x.startswith("start_task") for x in new)
        elif mutation == "stream_other":
            # the altered segment was refused whole: none of its samples was written
            assert not any(x.startswith("write(") for x in new)
        else:
            assert new == []
        daq.close()
        assert all(v == 0.0 for v in _FAKE.outputs_v.values())


def test_an_expired_clearance_sends_nothing() -> None:
    a = np.linspace(0, 1, 100)
    c = _clearance(a, lifetime_s=0.05)
    time.sleep(0.06)
    with _FAKE.install():
        daq = NiDaq("Dev1")
        before = len(_FAKE.calls)
        for call in (
            lambda: daq.load(0, a, RATE, clearance=c),
            lambda: daq.stream(0, iter([a]), RATE, clearance=c),
        ):
            with pytest.raises(SafetyError, match="expired"):
                call()
        assert _FAKE.calls[before:] == []
