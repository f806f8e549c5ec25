"""Siglent SDG1000X / SDG2000X / SDG6000X generators: header-less ``WVDT`` upload, TrueArb rate, burst.

Commands (Siglent SDG Programming Guide, ``WVDT``/``ARWV``/``SRATE``/``BTWV``/``OUTP`` sections;
gearoid-murphy/siglent ``py2_arb.py``; the protocol table with its sources and what stays unverified is
``docs/instruments/siglent_sdg.md``):

- **Errors.** The SDG1000X has no ``SYST:ERR?`` and leaves unknown queries unanswered (an independent,
  bench-tested SDG1032X driver), so the driver never sends it to an SDG: it reads the IEEE 488.2
  ``*ESR?`` register (query, device, execution and command error bits) with a short timeout
  (:attr:`SiglentSDG.error_timeout_s`); a silent instrument gives a timeout naming ``*ESR?`` within
  that time, never a hang. Which query each family gets is in :data:`SIGLENT_ERROR_QUERY`.
- ``Cn:WVDT WVNM,<name>,WAVEDATA,<raw>``: raw little-endian two's-complement int16 samples follow the
  comma directly, with **no** IEEE block header and no terminator. The minimal field set is used on
  purpose: some firmware silently rejects the full FREQ/AMPL/OFST/PHASE form.
- The instrument finds the end of the raw data by the end of the message; on a raw socket that is a
  pause on the line. A command sent too soon ends up inside the waveform (pyvisa-py#311), so the
  driver waits :attr:`SiglentSDG.settle_s` before talking again, then ``*OPC?``, then reads the data
  back to prove nothing was swallowed.
- ``WVDT? USER,<name>`` reads a stored waveform back; the answer carries a text header ending in
  ``WAVEDATA,`` followed by the raw samples and a terminator (header fields vary by firmware (~)).
- ``Cn:ARWV NAME,<name>`` selects it; ``Cn:SRATE MODE,TARB,VALUE,<Sa/s>,INTER,LINE|HOLD`` plays it
  point by point (TrueArb); ``Cn:BSWV AMP,<Vpp>`` and ``Cn:BSWV OFST,<V>``; ``Cn:OUTP ON|OFF``,
  ``Cn:OUTP LOAD,50|HZ``; ``Cn:OUTP?`` answers ``Cn:OUTP ON|OFF,LOAD,...`` (read back after "off");
  burst ``Cn:BTWV STATE,ON``, ``Cn:BTWV TRSR,MAN|EXT|INT``, ``Cn:BTWV TIME,<n>`` (at most
  :data:`MAX_BURST_CYCLES` = 1,000,000 cycles), ``Cn:BTWV MTRIG``.
Codes are -32767..+32767 at the amplitude set by ``BSWV AMP``. Memory and rate figures are (~).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import numpy as np

from wavegen.errors import InstrumentProtocolError, RangeError, VerificationError

from .base import Capabilities, ScpiAwg, parse_on_off
from .scpi import format_number, to_wire

__all__ = ["MAX_BURST_CYCLES", "SIGLENT_ERROR_QUERY", "SIGLENT_MODELS", "SiglentSDG"]

logger = logging.getLogger(__name__)


def _caps(model: str, max_rate_hz: float, max_points: int, bits: int) -> Capabilities:
    return Capabilities(
        vendor="Siglent",
        model=model,
        family=model[:4] + "X",
        channels=2,
        dac_bits=bits,
        code_min=-32767,
        code_max=32767,
        min_points=8,
        max_points=max_points,
        min_rate_hz=1e-6,
        max_rate_hz=max_rate_hz,
        min_vpp_v=2e-3,
        max_vpp_v=20.0 if model.startswith("SDG1") else 10.0,
        max_abs_v=10.0 if model.startswith("SDG1") else 5.0,
    )


#: model -> capabilities (TrueArb rate and memory (~)).
SIGLENT_MODELS: dict[str, Capabilities] = {
    "SDG1032X": _caps("SDG1032X", 30e6, 16384, 14),
    "SDG1062X": _caps("SDG1062X", 30e6, 16384, 14),
    "SDG2042X": _caps("SDG2042X", 300e6, 8_388_608, 16),
    "SDG2082X": _caps("SDG2082X", 300e6, 8_388_608, 16),
    "SDG2122X": _caps("SDG2122X", 300e6, 8_388_608, 16),
    "SDG6022X": _caps("SDG6022X", 1.2e9, 20_000_000, 14),
    "SDG6052X": _caps("SDG6052X", 1.2e9, 20_000_000, 14),
}

_RATE_RE = re.compile(r"VALUE,\s*([0-9.eE+-]+|nan|inf|-inf)", re.I)
_OUTP_RE = re.compile(r"OUTP\s+(ON|OFF)\b", re.I)

#: most cycles ``BTWV TIME`` accepts
MAX_BURST_CYCLES = 1_000_000

#: family -> error query (``None``: no error queue, ``*ESR?`` is read instead)
SIGLENT_ERROR_QUERY: dict[str, str | None] = {"SDG1000X": None, "SDG2000X": None, "SDG6000X": None}


class SiglentSDG(ScpiAwg):
    """Siglent SDG driver.

    Parameters
    ----------
    resource : str or Transport
        VISA resource string or an open transport.
    settle_s : float
        Quiet time after a header-less upload before the next command (s).
    interpolation : {"LINE", "HOLD"}
        TrueArb interpolation between points.
    **kwargs
        See :class:`~wavegen.drivers.base.ScpiAwg`.
    """

    MODELS = SIGLENT_MODELS
    VENDORS = ("SIGLENT",)
    BYTES_PER_S = 1e6

    def __init__(self, resource: Any, *, settle_s: float = 0.2, interpolation: str = "HOLD", **kwargs: Any) -> None:
        if not settle_s >= 0:
            raise RangeError(f"settle_s must be >= 0 s, got {settle_s}")
        if interpolation.upper() not in ("LINE", "HOLD"):
            raise RangeError(f"interpolation must be LINE or HOLD, got {interpolation!r}")
        self.settle_s = float(settle_s)
        self.interpolation = interpolation.upper()
        self._armed_channels: list[int] = []
        super().__init__(resource, **kwargs)

    #: timeout of one error check (s)
    error_timeout_s: float = 1.0

    def _make_session(self, transport: Any) -> Any:
        s = super()._make_session(transport)
        s.error_query = None  # until the model is known: *ESR? is IEEE 488.2, every SDG has it
        s.error_timeout_s = min(s.timeout_s, self.error_timeout_s)
        return s

    def _on_connect(self) -> None:
        s = self.session
        s.error_query = SIGLENT_ERROR_QUERY.get(self.caps.family)
        s.write("*CLS")
        load = "HZ" if self.load_ohm is None else format_number(self.load_ohm)
        for ch in range(1, self.caps.channels + 1):
            s.write(f"C{ch}:OUTP OFF")
            s.write(f"C{ch}:OUTP LOAD,{load}")

    def _upload(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> None:
        s = self.session
        wire = to_wire(codes, "<i2")
        s.write_block(f"C{ch}:WVDT WVNM,{name},WAVEDATA,", wire, header=False, suffix="")
        time.sleep(self.settle_s)
        s.opc(timeout_s=s.scaled_timeout_s(wire.nbytes))

    def _verify(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> bool:
        s = self.session
        n_bytes = 2 * int(codes.size)
        s.write(f"WVDT? USER,{name}")
        with s._io("WVDT? readback"), s.timeout(s.scaled_timeout_s(n_bytes)):
            t = s.transport
            head = bytearray()
            while not head.endswith(b"WAVEDATA,"):
                if len(head) > 1024:
                    raise InstrumentProtocolError(f"WVDT? answer without WAVEDATA field: {bytes(head[:80])!r}")
                head += t.read_bytes(1)
            term = t.read_termination
            t.read_termination = None
            try:
                raw = t.read_bytes(n_bytes)
            finally:
                t.read_termination = term
            tail = t.read_bytes(1)
        if tail != b"\n":
            raise VerificationError(
                f"channel {ch} waveform {name!r}: instrument holds more than the {codes.size} points sent "
                f"(a command may have been swallowed into the data)"
            )
        got = np.frombuffer(raw, "<i2")
        self._compare(f"channel {ch} waveform {name!r}", codes.astype(np.int64), got.astype(np.int64))
        return True

    def _configure(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        s = self.session
        s.write(f"C{ch}:ARWV NAME,{name}")
        s.write(f"C{ch}:SRATE MODE,TARB,VALUE,{format_number(rate)},INTER,{self.interpolation}")
        s.write(f"C{ch}:BSWV AMP,{format_number(amplitude_vpp)}")
        s.write(f"C{ch}:BSWV OFST,{format_number(offset_v)}")
        ans = s.query(f"C{ch}:SRATE?")
        m = _RATE_RE.search(ans)
        if not m:
            raise InstrumentProtocolError(f"C{ch}:SRATE? answered {ans!r}")
        got = float(m.group(1))
        self._verify_rate(ch, rate, got)

    def _output(self, ch: int, on: bool) -> None:
        self.session.write(f"C{ch}:OUTP {'ON' if on else 'OFF'}")

    def _output_state(self, ch: int) -> bool:
        ans = self.session.query(f"C{ch}:OUTP?")
        m = _OUTP_RE.search(ans)
        if not m:
            raise InstrumentProtocolError(f"C{ch}:OUTP? answered {ans!r}, not 'C{ch}:OUTP ON|OFF,...'")
        return parse_on_off(f"C{ch}:OUTP?", m.group(1))

    def _stop(self) -> None:
        self._armed_channels = []

    def _check_arm(self, trigger: str, cycles: int) -> None:
        if cycles > MAX_BURST_CYCLES:
            raise RangeError(
                f"{self.caps.model}: BTWV TIME takes at most {MAX_BURST_CYCLES} cycles, asked {cycles} cycles"
            )

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        src = {"bus": "MAN", "external": "EXT", "immediate": "INT"}[trigger]
        s = self.session
        for ch in channels:
            s.write(f"C{ch}:BTWV STATE,ON")
            s.write(f"C{ch}:BTWV TRSR,{src}")
            s.write(f"C{ch}:BTWV TIME,{cycles}")
        s.opc()
        self._armed_channels = list(channels)

    def _trigger(self) -> None:
        for ch in self._armed_channels:
            self.session.write(f"C{ch}:BTWV MTRIG")
