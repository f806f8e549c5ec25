"""Recorder round trip: record a driver session against a loopback emulator, replay it, same bytes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_drivers_helpers import looped
from wavegen.drivers.keysight_33500 import Keysight33500
from wavegen.drivers.mock.keysight import keysight_emulator
from wavegen.drivers.transport import open_visa

from wavegen.testing import Recorder, ReplayMismatch, load_replay


def _session(transport: object, v: np.ndarray, clearance: object) -> None:
    with Keysight33500(transport, name="awg", timeout_s=2.0) as awg:
        assert awg.load(1, v, 1e5, clearance=clearance, name="rec", full_scale_v=1.0).verified
        awg.output(1, True, clearance=clearance)


def test_recorded_session_replays_byte_for_byte(tmp_path: Path) -> None:
    v = 0.5 * np.sin(np.linspace(0, 2 * np.pi, 3000))
    c = looped("awg/1", v, 1e5)
    with keysight_emulator("33522B") as emu:
        rec = Recorder(open_visa(emu.address, timeout_s=2.0))
        _session(rec, v, c)
    path = tmp_path / "33522b_session.json"
    rec.save(path, meta={"what": "load + output on + close"})
    sent = b"".join(s for s, _ in rec.steps)
    assert b"SOUR1:DATA:ARB:DAC rec,#" in sent and b"MMEM:UPL?" in sent  # binary block and read-back recorded
    replay = load_replay(path)
    _session(replay, v, c)
    replay.assert_done()
    assert b"".join(replay.written) == sent  # the same bytes, in the same order
    # a driver that sends one different sample fails on that sample
    replay = load_replay(path)
    w = v.copy()
    w[7] += 0.01
    with pytest.raises(ReplayMismatch, match="byte"):
        _session(replay, w, looped("awg/1", w, 1e5))


def test_load_replay_refuses_other_files(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text('{"format": "something-else"}')
    with pytest.raises(ValueError, match="not a wavegen-replay"):
        load_replay(p)
