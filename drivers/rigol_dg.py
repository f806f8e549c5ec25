"""Rigol DG1000Z and DG800 generators: 14-bit codes in 16 k-point CON/END packets, packet readback.

Commands (Rigol DG1000Z Programming Guide §2 ``:TRACe`` p.2-173..2-176; DG800 Programming Guide p.2-136;
the protocol table with its sources and what stays unverified is ``docs/instruments/rigol_dg.md``):

- ``:SOURn:FUNC:ARB:MODE SRAT`` is sent **before** the upload: the guide says data of at most 8 k points
  sent in frequency mode are interpolated (stretched) to 8192 points.
- ``:SOURn:TRAC:DATA:DAC16 VOLATILE,CON|END,#<block>``: unsigned 14-bit codes 0x0000..0x3FFF in
  little-endian 16-bit words (~ byte order, verify), 8 to 16384 points per packet; ``CON`` = more
  packets follow, ``END`` = last packet, after which the channel plays the arbitrary waveform. 0 is the
  bottom and 16383 the top of the amplitude window ``VOLT`` (Vpp) around ``VOLT:OFFS``.
- ``:SOURn:TRAC:DATA:LOAD? VOLATILE`` answers the number of stored read-back packets;
  ``:SOURn:TRAC:DATA:LOAD? <k>`` returns packet k as a block: the guide's example header is
  ``#9000016384``, 16 KiB = 8192 points per packet (:data:`READBACK_POINTS`), the bit-exact readback.
- ``:SOURn:FUNC:ARB:SRAT <Sa/s>`` plays sample by sample, ``:SOURn:VOLT``, ``:SOURn:VOLT:OFFS``,
  ``:OUTPn ON|OFF``, ``:OUTPn:LOAD 50|INF``; ``:OUTPn?`` answers ``ON``/``OFF`` (read back after "off").
- Burst: ``:SOURn:BURS ON``, ``:SOURn:BURS:MODE TRIG``, ``:SOURn:BURS:NCYC``, ``:SOURn:BURS:TRIG:SOUR
  MAN|EXT|INT``; software trigger ``:SOURn:BURS:TRIG``.

Rigol firmware is known to hang on anything it does not expect (py-ivtools' DG5000 notes), so every
packet is sized within the documented limits before the first byte goes out.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from wavegen.errors import RangeError, VerificationError

from .base import Capabilities, ScpiAwg, parse_on_off
from .scpi import format_number, to_wire

__all__ = ["RigolDG", "RIGOL_MODELS", "packet_sizes"]

logger = logging.getLogger(__name__)

PACKET_MAX = 16384
PACKET_MIN = 8
#: points per ``TRAC:DATA:LOAD? <k>`` read-back packet (the guide's ``#9000016384``: 16384 bytes)
READBACK_POINTS = 8192


def _caps(model: str, channels: int, max_rate_hz: float, max_points: int) -> Capabilities:
    return Capabilities(
        vendor="Rigol",
        model=model,
        family="DG1000Z" if model.endswith("Z") else "DG800",
        channels=channels,
        dac_bits=14,
        code_min=0,
        code_max=16383,
        min_points=8,
        max_points=max_points,
        min_rate_hz=1e-6,
        max_rate_hz=max_rate_hz,
        min_vpp_v=1e-3,
        max_vpp_v=10.0,
        max_abs_v=5.0,
    )


#: model -> capabilities (memory without the 16 M option; DG800 figures (~)).
RIGOL_MODELS: dict[str, Capabilities] = {
    "DG1022Z": _caps("DG1022Z", 2, 200e6, 2_000_000),
    "DG1032Z": _caps("DG1032Z", 2, 200e6, 8_000_000),
    "DG1062Z": _caps("DG1062Z", 2, 200e6, 8_000_000),
    "DG811": _caps("DG811", 1, 125e6, 2_000_000),
    "DG812": _caps("DG812", 2, 125e6, 2_000_000),
    "DG821": _caps("DG821", 1, 125e6, 2_000_000),
    "DG822": _caps("DG822", 2, 125e6, 2_000_000),
    "DG831": _caps("DG831", 1, 125e6, 2_000_000),
    "DG832": _caps("DG832", 2, 125e6, 2_000_000),
}


def packet_sizes(n_points: int) -> list[int]:
    """Split *n_points* into packets of 8..16384 points, all full but the last two.

    When the remainder would be shorter than 8 points, the second-to-last packet gives some up.
    """
    if n_points < PACKET_MIN:
        raise RangeError(f"{n_points} points is fewer than one packet ({PACKET_MIN})")
    full, rest = divmod(n_points, PACKET_MAX)
    sizes = [PACKET_MAX] * full
    if rest:
        if rest < PACKET_MIN:
            sizes[-1] -= PACKET_MIN - rest
            rest = PACKET_MIN
        sizes.append(rest)
    return sizes


class RigolDG(ScpiAwg):
    """Rigol DG1000Z / DG800 driver (see module docstring for the commands)."""

    MODELS = RIGOL_MODELS
    VENDORS = ("RIGOL",)
    BYTES_PER_S = 5e5

    def _rate_tolerance_hz(self, rate: float) -> float:
        """Rigol answers numbers with 7 significant digits (programming guide, "Return Format"): a
        read-back is within half a unit of its 7th digit of the rate set."""
        return 5e-7 * abs(rate) + 1e-9

    def __init__(self, resource: Any, **kwargs: Any) -> None:
        self._armed_channels: list[int] = []
        super().__init__(resource, **kwargs)
        self.session.error_query = ":SYST:ERR?"

    def _on_connect(self) -> None:
        s = self.session
        s.error_query = ":SYST:ERR?"
        s.write("*CLS")
        load = "INF" if self.load_ohm is None else format_number(self.load_ohm)
        for ch in range(1, self.caps.channels + 1):
            s.write(f":OUTP{ch} OFF")
            s.write(f":OUTP{ch}:LOAD {load}")

    def _upload(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> None:
        s = self.session
        wire = to_wire(codes, "<u2")
        s.write(f":SOUR{ch}:FUNC:ARB:MODE SRAT")  # before the data: frequency mode stretches <= 8 k points
        start = 0
        sizes = packet_sizes(wire.size)
        for k, size in enumerate(sizes):
            flag = "END" if k == len(sizes) - 1 else "CON"
            s.write_block(f":SOUR{ch}:TRAC:DATA:DAC16 VOLATILE,{flag},", wire[start : start + size])
            start += size
        s.opc(timeout_s=s.scaled_timeout_s(wire.nbytes))

    def _verify(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> bool:
        s = self.session
        n_packets = s.query_int(f":SOUR{ch}:TRAC:DATA:LOAD? VOLATILE")
        expected_packets = -(-codes.size // READBACK_POINTS)
        if n_packets != expected_packets:
            raise VerificationError(
                f"channel {ch}: instrument holds {n_packets} packets, {codes.size} points need {expected_packets}"
            )
        parts = []
        for k in range(1, n_packets + 1):
            s.write(f":SOUR{ch}:TRAC:DATA:LOAD? {k}")
            size = min(READBACK_POINTS, codes.size - (k - 1) * READBACK_POINTS)
            parts.append(np.frombuffer(s.read_block(expected_bytes=2 * size), "<u2"))
        got = np.concatenate(parts) if parts else np.zeros(0, "<u2")
        self._compare(f"channel {ch} arbitrary waveform", codes.astype(np.int64), got.astype(np.int64))
        return True

    def _configure(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        s = self.session
        s.write(f":SOUR{ch}:FUNC:ARB:SRAT {format_number(rate)}")
        s.write(f":SOUR{ch}:VOLT {format_number(amplitude_vpp)}")
        s.write(f":SOUR{ch}:VOLT:OFFS {format_number(offset_v)}")
        got = self._read_rate(f":SOUR{ch}:FUNC:ARB:SRAT?")
        self._verify_rate(ch, rate, got)

    def _output(self, ch: int, on: bool) -> None:
        self.session.write(f":OUTP{ch} {'ON' if on else 'OFF'}")

    def _output_state(self, ch: int) -> bool:
        return parse_on_off(f":OUTP{ch}?", self.session.query(f":OUTP{ch}?"))

    def _stop(self) -> None:
        self._armed_channels = []

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        src = {"bus": "MAN", "external": "EXT", "immediate": "INT"}[trigger]
        s = self.session
        for ch in channels:
            s.write(f":SOUR{ch}:BURS ON")
            s.write(f":SOUR{ch}:BURS:MODE TRIG")
            s.write(f":SOUR{ch}:BURS:NCYC {cycles}")
            s.write(f":SOUR{ch}:BURS:TRIG:SOUR {src}")
        s.opc()
        self._armed_channels = list(channels)

    def _trigger(self) -> None:
        for ch in self._armed_channels:
            self.session.write(f":SOUR{ch}:BURS:TRIG")
