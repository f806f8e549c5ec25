"""Tektronix AWG5200 and AWG70000 series: waveform list, float32 data, markers, readback.

Commands (Tektronix AWG5200 / AWG70000 Programmer Manuals; Tek example
``awg_simple_waveform_sender.py``; QCoDeS AWG70000A driver; tm_devices' command modules; the protocol
table with its sources and what stays unverified is ``docs/instruments/tektronix_awg.md``):

- ``WLIS:WAV:LMIN?`` and ``WLIS:WAV:GRAN?`` at connect: the shortest waveform and the length
  granularity the instrument accepts (queried, not assumed); refused before any I/O.
- ``CLOC:SRAT?`` is compared with the rate set within the setting's resolution (one unit of the last
  of :attr:`TektronixAWG.RATE_DIGITS` significant digits), not 1e-9: the instrument rounds what it is
  sent. AWG70000 sample rates start at 1.5 kS/s, AWG5200 at 1.49 kS/s (QCoDeS validator).
- ``OUTPn?`` answers ``0``/``1`` (read back after every "off").
- Sequences (tm_devices' ``slist`` module): segments as waveforms ``<name>_<k>``, then
  ``SLIS:SEQ:NEW "<name>",<steps>,1``, per step ``SLIS:SEQ:STEP<n>:TASS1:WAV`` and ``:RCO``, the last
  step ``:GOTO "<name>",END``, and ``SOURn:CASS:SEQ "<name>",1``.
- ``WLIS:WAV:NEW "<name>",<points>`` creates the waveform; ``WLIS:WAV:DATA "<name>",<start>,<size>,#<block>``
  fills it with little-endian float32 samples in -1..+1, in chunks (an IEEE block holds at most
  999,999,999 bytes; :attr:`TektronixAWG.chunk_points` sets the chunk); ``WLIS:WAV:MARK:DATA`` sends one
  uint8 per sample holding the marker bits (AWG70000: bit 6 = M1, bit 7 = M2; AWG5200: bits 0..3 =
  M1..M4 (~)). The ``?`` forms of both read the data back for the bit-exact proof.
- ``SOURn:DAC:RES <bits>``: DAC resolution; each marker costs one bit (AWG5200 16 bits = no marker ..
  12 bits = 4 markers; AWG70000 10 bits = none, 8 bits = 2 markers). The default leaves two markers
  (ADC gate and trigger): 14 bits on the AWG5200, 8 bits on the AWG70000.
- ``SOURn:CASS:WAV "<name>"``, ``CLOC:SRAT <Sa/s>`` (one clock for all channels), ``SOURn:VOLT:AMPL <Vpp>``,
  ``OUTPn ON|OFF``, ``SOURn:RMOD TRIG|CONT``, ``SOURn:TINP ATR``, ``AWGC:RUN:IMM``, ``AWGC:STOP``,
  ``TRIG:IMM ATR`` (software trigger A).

The samples sent are the DAC codes of the configured resolution divided by the full-scale code, so the
instrument's own float-to-code conversion reproduces exactly the codes wavegen chose.
Amplitude and memory figures marked (~) are from recollection of the data sheets; verify per model.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np

from wavegen.errors import RangeError, VerificationError

from .base import Capabilities, ScpiAwg, parse_on_off
from .scpi import MAX_BLOCK_BYTES, format_number, to_wire

__all__ = ["TektronixAWG", "TEKTRONIX_MODELS"]

logger = logging.getLogger(__name__)


def _caps(model: str, channels: int, bits: int, max_rate_hz: float, vpp: tuple[float, float]) -> Capabilities:
    return Capabilities(
        vendor="Tektronix",
        model=model,
        family="AWG5200" if model.startswith("AWG52") else "AWG70000",
        channels=channels,
        dac_bits=bits,
        code_min=-((1 << (bits - 1)) - 1),
        code_max=(1 << (bits - 1)) - 1,
        min_points=1,
        max_points=2_000_000_000,
        min_rate_hz=1.49e3 if model.startswith("AWG52") else 1.5e3,
        max_rate_hz=max_rate_hz,
        min_vpp_v=vpp[0],
        max_vpp_v=vpp[1],
        max_abs_v=vpp[1] / 2.0,
        markers=0,
    )


#: model -> capabilities at full DAC resolution (no markers); ``dac_bits`` is the DAC width.
TEKTRONIX_MODELS: dict[str, Capabilities] = {
    "AWG5202": _caps("AWG5202", 2, 16, 2.5e9, (0.025, 0.75)),
    "AWG5204": _caps("AWG5204", 4, 16, 2.5e9, (0.025, 0.75)),
    "AWG5208": _caps("AWG5208", 8, 16, 2.5e9, (0.025, 0.75)),
    "AWG70001A": _caps("AWG70001A", 1, 10, 50e9, (0.25, 0.5)),
    "AWG70002A": _caps("AWG70002A", 2, 10, 25e9, (0.25, 0.5)),
    "AWG70001B": _caps("AWG70001B", 1, 10, 50e9, (0.25, 0.5)),
    "AWG70002B": _caps("AWG70002B", 2, 10, 25e9, (0.25, 0.5)),
}

_MARKER_BITS = {"AWG70000": {1: 6, 2: 7}, "AWG5200": {1: 0, 2: 1, 3: 2, 4: 3}}


class TektronixAWG(ScpiAwg):
    """Tektronix AWG5200 / AWG70000 driver.

    Parameters
    ----------
    resource : str or Transport
        VISA resource string or an open transport.
    markers : int or None
        Marker outputs to keep per channel (each costs one DAC bit); default 2.
    **kwargs
        See :class:`~wavegen.drivers.base.ScpiAwg`.
    """

    MODELS = TEKTRONIX_MODELS
    VENDORS = ("TEKTRONIX",)
    BYTES_PER_S = 4e6
    #: points per ``WLIS:WAV:DATA`` block (float32: 4 bytes each; must stay under 999,999,999 bytes).
    chunk_points: int = 50_000_000
    #: significant digits of the ``CLOC:SRAT`` setting (the read-back may differ by half a unit of the last)
    RATE_DIGITS: int = 8

    def __init__(self, resource: Any, *, markers: int = 2, **kwargs: Any) -> None:
        self._n_markers = int(markers)
        super().__init__(resource, **kwargs)

    def _on_connect(self) -> None:
        c = self.caps
        most = 4 if c.family == "AWG5200" else 2
        if not 0 <= self._n_markers <= most:
            raise RangeError(f"{c.model}: markers must be 0..{most}, got {self._n_markers}")
        res = c.dac_bits - self._n_markers
        self.caps = dataclasses.replace(
            c, dac_bits=res, code_min=-((1 << (res - 1)) - 1), code_max=(1 << (res - 1)) - 1, markers=self._n_markers
        )
        if self.chunk_points * 4 > MAX_BLOCK_BYTES:
            raise RangeError(f"chunk_points {self.chunk_points} exceeds one IEEE block ({MAX_BLOCK_BYTES} bytes)")
        s = self.session
        s.write("*CLS")
        s.write("AWGC:STOP")
        for ch in range(1, c.channels + 1):
            s.write(f"OUTP{ch} OFF")
        s.opc()
        lmin = s.query_int("WLIS:WAV:LMIN?")
        gran = s.query_int("WLIS:WAV:GRAN?")
        if not 1 <= lmin <= self.caps.max_points or not 1 <= gran <= lmin:
            raise RangeError(f"{c.model}: WLIS:WAV:LMIN? = {lmin}, GRAN? = {gran} make no sense")
        self.caps = dataclasses.replace(self.caps, min_points=lmin, point_granularity=gran)

    def _precheck(self, ch: int, rate: float, n_points: int, offset_v: float) -> None:
        if offset_v != 0.0:
            raise RangeError(f"{self.caps.model}: outputs have no DC offset in wavegen's setup; offset_v must be 0 V")
        for other, lw in self.loaded.items():
            if other != ch and lw.sample_rate_hz != rate:
                raise RangeError(
                    f"{self.caps.model} has one sample clock: channel {other} runs at {lw.sample_rate_hz} Hz, "
                    f"channel {ch} asks {rate} Hz"
                )

    def _check_arm(self, trigger: str, cycles: int) -> None:
        if cycles != 1:
            raise RangeError(f"{self.caps.model}: one play per trigger; {cycles} cycles need a sequence")

    def _marker_bytes(self, markers: dict[int, np.ndarray] | None, n: int) -> np.ndarray | None:
        if not markers:
            return None
        bits = _MARKER_BITS[self.caps.family]
        out = np.zeros(n, np.uint8)
        for k, m in markers.items():
            out |= m.astype(np.uint8) << np.uint8(bits[k])
        return out

    def _names(self) -> list[str]:
        ans = self.session.query("WLIS:LIST?")
        return [p.strip().strip('"') for p in ans.split(",") if p.strip().strip('"')]

    # -- hooks
    def _upload(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> None:
        s = self.session
        n = int(codes.size)
        data = to_wire(codes.astype(np.float64) / self.caps.code_max, "<f4")
        mk = self._marker_bytes(markers, n)
        if name in self._names():
            s.write(f'WLIS:WAV:DEL "{name}"')
        s.write(f'WLIS:WAV:NEW "{name}",{n}')
        step = int(self.chunk_points)
        for start in range(0, n, step):
            size = min(step, n - start)
            s.write_block(f'WLIS:WAV:DATA "{name}",{start},{size},', data[start : start + size])
            if mk is not None:
                s.write_block(f'WLIS:WAV:MARK:DATA "{name}",{start},{size},', mk[start : start + size])
        s.opc(timeout_s=s.scaled_timeout_s(data.nbytes + (0 if mk is None else mk.nbytes)))

    def _verify(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> bool:
        s = self.session
        n = int(codes.size)
        sent = to_wire(codes.astype(np.float64) / self.caps.code_max, "<f4")
        mk = self._marker_bytes(markers, n)
        step = int(self.chunk_points)
        for start in range(0, n, step):
            size = min(step, n - start)
            s.write(f'WLIS:WAV:DATA? "{name}",{start},{size}')
            got = np.frombuffer(s.read_block(expected_bytes=4 * size), "<f4")
            msg_ok = np.array_equal(got.view("<u4"), sent[start : start + size].view("<u4"))
            if not msg_ok:
                self._compare(f"channel {ch} waveform {name!r} (from sample {start})", sent[start : start + size], got)
            if mk is not None:
                s.write(f'WLIS:WAV:MARK:DATA? "{name}",{start},{size}')
                gm = np.frombuffer(s.read_block(expected_bytes=size), np.uint8)
                if not np.array_equal(gm, mk[start : start + size]):
                    bad = int(np.flatnonzero(gm != mk[start : start + size])[0])
                    raise VerificationError(
                        f"readback of markers of {name!r}: sample {start + bad} holds {gm[bad]:#04x}, "
                        f"sent {mk[start + bad]:#04x}"
                    )
        return True

    # -- sequences (SLISt:SEQuence)
    #: steps per sequence and repeats per step (programmer manuals; (~) verify with
    #: ``SLIS:SEQ:STEP:MAX?`` / ``SLIS:SEQ:STEP:RCO:MAX?`` in tests/test_drivers_hardware.py)
    MAX_SEQUENCE_STEPS = 16383
    MAX_STEP_REPEATS = 1_048_576

    def _sequence_names(self) -> list[str]:
        s = self.session
        n = s.query_int("SLIS:SIZE?")
        return [s.query(f"SLIS:NAME? {k}").strip().strip('"') for k in range(1, n + 1)]

    def _upload_sequence(
        self, ch: int, name: str, codes: list[np.ndarray], steps: tuple[tuple[int, int], ...]
    ) -> bool:
        """Upload every unique segment as a waveform ``<name>_<k>``, read each back, then build the
        sequence list (one track) step by step and assign it to the channel."""
        s = self.session
        seg_names = [f"{name}_{k}" for k in range(len(codes))]
        verified = self.verify
        for seg, c in zip(seg_names, codes, strict=True):
            self._upload(ch, seg, c, None)
            if self.verify:
                verified = self._verify(ch, seg, c, None) and verified
        if name in self._sequence_names():
            s.write(f'SLIS:SEQ:DEL "{name}"')
        s.write(f'SLIS:SEQ:NEW "{name}",{len(steps)},1')
        for n, (i, r) in enumerate(steps, start=1):
            s.write(f'SLIS:SEQ:STEP{n}:TASS1:WAV "{name}","{seg_names[i]}"')
            s.write(f'SLIS:SEQ:STEP{n}:RCO "{name}",{r}')
        s.write(f'SLIS:SEQ:STEP{len(steps)}:GOTO "{name}",END')
        s.opc()
        s.write(f'SOUR{ch}:CASS:SEQ "{name}",1')
        return verified

    def _configure_sequence(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        self._configure(ch, name, rate, amplitude_vpp, offset_v, assign=False)

    def _configure(
        self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float, *, assign: bool = True
    ) -> None:
        s = self.session
        s.write(f"SOUR{ch}:DAC:RES {self.caps.dac_bits}")
        if assign:
            s.write(f'SOUR{ch}:CASS:WAV "{name}"')
        s.write(f"CLOC:SRAT {format_number(rate)}")
        s.write(f"SOUR{ch}:VOLT:AMPL {format_number(amplitude_vpp)}")
        got = self._read_rate("CLOC:SRAT?")
        self._verify_rate(ch, rate, got)

    def _rate_tolerance_hz(self, rate: float) -> float:
        """One unit in the last of :attr:`RATE_DIGITS` significant digits of *rate* (the instrument rounds
        the setting to that resolution: half a unit, plus margin for its own binary rounding)."""
        return 10.0 ** (math.floor(math.log10(rate)) - (self.RATE_DIGITS - 1))

    def _output(self, ch: int, on: bool) -> None:
        self.session.write(f"OUTP{ch} {'ON' if on else 'OFF'}")

    def _output_state(self, ch: int) -> bool:
        return parse_on_off(f"OUTP{ch}?", self.session.query(f"OUTP{ch}?"))

    def _stop(self) -> None:
        self.session.write("AWGC:STOP")

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        s = self.session
        for ch in channels:
            if trigger == "immediate":
                s.write(f"SOUR{ch}:RMOD CONT")
            else:
                s.write(f"SOUR{ch}:RMOD TRIG")
                s.write(f"SOUR{ch}:TINP ATR")
        s.write("AWGC:RUN:IMM")
        s.opc()

    def _trigger(self) -> None:
        self.session.write("TRIG:IMM ATR")
