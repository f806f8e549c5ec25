"""Keysight (Agilent) 33500B and 33600A Trueform generators: binary DAC upload, readback, sync, burst.

Commands (Keysight 33500 Series Operating and Service Guide, SCPI chapter; the protocol table with its
sources and what stays unverified is ``docs/instruments/keysight_33500.md``):

- ``FORM:BORD SWAP`` once per session: blocks are little-endian (LSB first), matching the PC.
- ``SOURn:DATA:VOL:CLE`` then ``SOURn:DATA:ARB:DAC <name>,#<block of int16>``: codes -32767..+32767
  (the full-scale codes of the amplitude set by ``VOLT``/``VOLT:OFFS``), 8 .. 1 M points (16 M with
  the MEM option; 33600A 4 M / 64 M (~)); name at most 12 characters.
- ``SOURn:FUNC:ARB <name>``, ``SOURn:FUNC ARB``, ``SOURn:FUNC:ARB:SRAT <Sa/s>``,
  ``SOURn:FUNC:ARB:FILT NORM|STEP|OFF``, ``SOURn:VOLT <Vpp>``, ``SOURn:VOLT:OFFS <V>``.
- Two channels in sync: same rate on both, then ``FUNC:ARB:SYNC`` restarts both arbs at point 0.
- Burst: ``TRIGn:SOUR BUS|EXT|IMM``, ``SOURn:BURS:MODE TRIG``, ``SOURn:BURS:NCYC n``,
  ``SOURn:BURS:STAT ON``; ``*TRG``.
- Output state read back after every "off": ``OUTPn?`` answers ``0``/``1``.
- Sequences (33500B/33600A arb sequencing): every unique segment is uploaded under ``<name>_<k>``
  after one ``SOURn:DATA:VOL:CLE`` (segments stay in volatile memory), then
  ``SOURn:DATA:SEQ #<block>"<name>","<name>_<k>",<repeats>,repeat,maintain,4,...`` and
  ``SOURn:FUNC:ARB <name>``; at most 512 steps, 1..1,000,000 repeats per step (limits (~), verify).
- Readback: ``DATA:ATTR:POIN? <name>`` (point count) and, for a bit-exact proof, the selected arb
  (``FUNC:ARB <name>`` is sent right after the upload) is stored to internal flash as a text ``.arb``
  file (``MMEM:STOR:DATAn "INT:\\<name>.arb"``) and read with ``MMEM:UPL?`` (IEEE block), then deleted
  (``MMEM:DEL``). The ``.arb`` layout (``Data Points:N`` then ``Data:`` and one code per line) is from
  Keysight's waveform-file description (~, verify on the instrument's firmware).

Sample rates: 1 µSa/s to 160 MSa/s (3351xB), 250 MSa/s (3352xB), 660 MSa/s (3361xA), 1 GSa/s (3362xA).
Amplitude 1 mVpp .. 10 Vpp into 50 ohm, ±5 V peak (doubled into high impedance).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen.errors import InstrumentProtocolError, RangeError, VerificationError

from .base import Capabilities, LoadedWaveform, ScpiAwg, parse_on_off
from .scpi import format_number, to_wire

if TYPE_CHECKING:
    from wavegen.safety.interlock import Clearance

__all__ = ["Keysight33500", "KEYSIGHT_MODELS", "parse_arb_file"]

logger = logging.getLogger(__name__)


def _caps(model: str, channels: int, max_rate_hz: float, max_points: int, family: str) -> Capabilities:
    return Capabilities(
        vendor="Keysight",
        model=model,
        family=family,
        channels=channels,
        dac_bits=16,
        code_min=-32767,
        code_max=32767,
        min_points=8,
        max_points=max_points,
        min_rate_hz=1e-6,
        max_rate_hz=max_rate_hz,
        min_vpp_v=1e-3,
        max_vpp_v=10.0,
        max_abs_v=5.0,
    )


#: model -> capabilities (standard memory; the MEM option is detected from ``*OPT?``).
KEYSIGHT_MODELS: dict[str, Capabilities] = {
    "33511B": _caps("33511B", 1, 160e6, 1 << 20, "33500B"),
    "33512B": _caps("33512B", 2, 160e6, 1 << 20, "33500B"),
    "33521B": _caps("33521B", 1, 250e6, 1 << 20, "33500B"),
    "33522B": _caps("33522B", 2, 250e6, 1 << 20, "33500B"),
    "33611A": _caps("33611A", 1, 660e6, 4 << 20, "33600A"),
    "33612A": _caps("33612A", 2, 660e6, 4 << 20, "33600A"),
    "33621A": _caps("33621A", 1, 1e9, 4 << 20, "33600A"),
    "33622A": _caps("33622A", 2, 1e9, 4 << 20, "33600A"),
}

_OPTION_POINTS = {"33500B": 16 << 20, "33600A": 64 << 20}


def parse_arb_file(text: str) -> np.ndarray:
    """Codes of a Keysight text ``.arb`` file (``Data Points:N`` header, ``Data:``, one integer per line).

    Raises
    ------
    InstrumentProtocolError
        No ``Data:`` section, or a count other than ``Data Points``.
    """
    head, sep, body = text.partition("Data:")
    if not sep:
        raise InstrumentProtocolError("arb file has no 'Data:' section")
    n_decl = None
    for line in head.splitlines():
        key, _, val = line.partition(":")
        if key.strip().lower() == "data points":
            n_decl = int(val.strip())
    codes = np.array(body.split(), dtype=np.int64)
    if n_decl is not None and codes.size != n_decl:
        raise InstrumentProtocolError(f"arb file declares {n_decl} points but holds {codes.size}")
    return codes


class Keysight33500(ScpiAwg):
    """Keysight 33500B / 33600A driver.

    Parameters
    ----------
    resource : str or Transport
        VISA resource string or an open transport.
    arb_filter : {"NORM", "STEP", "OFF"}
        Arb reconstruction filter (``STEP`` avoids overshoot on gradient edges; ``OFF`` gives a
        zero-order hold at the sample rate).
    readback : {"file", "points"}
        ``"file"``: bit-exact proof through an ``.arb`` file round trip (default); ``"points"``: only
        the point count (fast, for very long arbs).
    **kwargs
        See :class:`~wavegen.drivers.base.ScpiAwg`.
    """

    MODELS = KEYSIGHT_MODELS
    VENDORS = ("KEYSIGHT", "AGILENT")
    BYTES_PER_S = 2e6

    def __init__(self, resource: Any, *, arb_filter: str = "NORM", readback: str = "file", **kwargs: Any) -> None:
        if arb_filter.upper() not in ("NORM", "STEP", "OFF"):
            raise RangeError(f"arb_filter must be NORM, STEP or OFF, got {arb_filter!r}")
        if readback not in ("file", "points"):
            raise RangeError(f"readback must be 'file' or 'points', got {readback!r}")
        self.arb_filter = arb_filter.upper()
        self.readback = readback
        super().__init__(resource, **kwargs)

    def _on_connect(self) -> None:
        s = self.session
        s.write("*CLS")
        opts = s.query("*OPT?").upper().split(",")
        if any(o.strip() == "MEM" for o in opts):
            c = self.caps
            self.caps = Capabilities(**{**c.__dict__, "max_points": _OPTION_POINTS[c.family]})
        s.write("FORM:BORD SWAP")
        bord = s.query("FORM:BORD?")
        if bord.upper() != "SWAP":
            raise InstrumentProtocolError(f"FORM:BORD? answered {bord!r} after FORM:BORD SWAP")
        load = "INF" if self.load_ohm is None else format_number(self.load_ohm)
        for ch in range(1, self.caps.channels + 1):
            s.write(f"OUTP{ch} OFF")
            s.write(f"OUTP{ch}:LOAD {load}")

    def _check_name(self, name: str) -> None:
        super()._check_name(name)
        if len(name) > 12:
            raise RangeError(f"33500 arb names hold at most 12 characters, got {name!r} ({len(name)})")

    # -- hooks
    def _upload(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> None:
        self.session.write(f"SOUR{ch}:DATA:VOL:CLE")  # one waveform per channel: free its memory
        self._upload_segment(ch, name, codes)

    def _upload_segment(self, ch: int, name: str, codes: np.ndarray) -> None:
        s = self.session
        wire = to_wire(codes, "<i2")
        s.write_block(f"SOUR{ch}:DATA:ARB:DAC {name},", wire)
        s.opc(timeout_s=s.scaled_timeout_s(wire.nbytes))
        s.write(f"SOUR{ch}:FUNC:ARB {name}")

    # -- sequences (DATA:SEQuence)
    MAX_SEQUENCE_STEPS = 512
    MAX_STEP_REPEATS = 1_000_000

    def _upload_sequence(
        self, ch: int, name: str, codes: list[np.ndarray], steps: tuple[tuple[int, int], ...]
    ) -> bool:
        """Clear the channel's volatile memory once, upload every segment (kept in volatile memory), read
        each back, then define the sequence with ``DATA:SEQ`` and select it."""
        s = self.session
        if len(name) + len(str(len(codes) - 1)) + 1 > 12:
            raise RangeError(f"sequence name {name!r} leaves no room for segment numbers in 12 characters")
        s.write(f"SOUR{ch}:DATA:VOL:CLE")
        seg_names = [f"{name}_{k}" for k in range(len(codes))]
        verified = self.verify
        for seg, c in zip(seg_names, codes, strict=True):
            self._upload_segment(ch, seg, c)
            if self.verify:
                verified = self._verify(ch, seg, c, None) and verified
        table = ",".join(f'"{seg_names[i]}",{r},repeat,maintain,4' for i, r in steps)
        descriptor = f'"{name}",{table}'.encode("ascii")
        s.write_block(f"SOUR{ch}:DATA:SEQ ", descriptor)
        s.opc()
        s.write(f"SOUR{ch}:FUNC:ARB {name}")
        return verified

    def _verify(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> bool:
        s = self.session
        n = s.query_int(f"SOUR{ch}:DATA:ATTR:POIN? {name}")
        if n != codes.size:
            raise VerificationError(f"channel {ch} arb {name!r} holds {n} points, uploaded {codes.size}")
        if self.readback == "points":
            return False
        path = f'"INT:\\{name}.arb"'
        s.write(f"MMEM:STOR:DATA{ch} {path}")
        s.opc(timeout_s=s.scaled_timeout_s(codes.size * 8))
        s.write(f"MMEM:UPL? {path}")
        raw = s.read_block(timeout_s=s.scaled_timeout_s(codes.size * 8))
        s.write(f"MMEM:DEL {path}")
        try:
            got = parse_arb_file(raw.decode("ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InstrumentProtocolError(f"unreadable arb file from the instrument: {exc}") from exc
        self._compare(f"channel {ch} arb {name!r}", codes, got)
        return True

    def _configure(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        s = self.session
        s.write(f"SOUR{ch}:FUNC ARB")
        s.write(f"SOUR{ch}:FUNC:ARB:SRAT {format_number(rate)}")
        s.write(f"SOUR{ch}:FUNC:ARB:FILT {self.arb_filter}")
        s.write(f"SOUR{ch}:VOLT:UNIT VPP")
        s.write(f"SOUR{ch}:VOLT {format_number(amplitude_vpp)}")
        s.write(f"SOUR{ch}:VOLT:OFFS {format_number(offset_v)}")
        got = self._read_rate(f"SOUR{ch}:FUNC:ARB:SRAT?")
        self._verify_rate(ch, rate, got)

    def _output(self, ch: int, on: bool) -> None:
        self.session.write(f"OUTP{ch} {'ON' if on else 'OFF'}")

    def _output_state(self, ch: int) -> bool:
        return parse_on_off(f"OUTP{ch}?", self.session.query(f"OUTP{ch}?"))

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        src = {"bus": "BUS", "external": "EXT", "immediate": "IMM"}[trigger]
        s = self.session
        for ch in channels:
            s.write(f"TRIG{ch}:SOUR {src}")
            s.write(f"SOUR{ch}:BURS:MODE TRIG")
            s.write(f"SOUR{ch}:BURS:NCYC {cycles}")
            s.write(f"SOUR{ch}:BURS:STAT ON")
        s.opc()

    # -- two channels in sync
    def load_synchronized(
        self,
        volts: Mapping[int, Any],
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        names: Mapping[int, str] | None = None,
        full_scale_v: Mapping[int, float] | None = None,
        offset_v: Mapping[int, float] | None = None,
    ) -> dict[int, LoadedWaveform]:
        """Load both channels at one sample rate and restart their arbs together (``FUNC:ARB:SYNC``).

        Everything (both channels, and the clearance for each: output :meth:`output_id` (*ch*), these
        volts as float64, this rate) is validated before the first byte goes out; the waveforms must have
        the same length so that they stay aligned on every repetition.
        """
        if self.caps.channels < 2:
            raise RangeError(f"{self.caps.model} has one channel; nothing to synchronise")
        chans = sorted(self._check_channel(c) for c in volts)
        if len(chans) < 2:
            raise RangeError("load_synchronized needs waveforms for at least two channels")
        names = dict(names or {c: f"wg{c}" for c in chans})
        rate = self._check_rate(sample_rate_hz)
        prepared = {}
        for ch in chans:
            v = self._check_volts(ch, volts[ch])
            off = float((offset_v or {}).get(ch, 0.0))
            vpp, fs = self._scaling(v, (full_scale_v or {}).get(ch), off)
            self._check_name(names[ch])
            codes = self._codes(v, offset_v=off, full_scale_v=fs)
            prepared[ch] = (codes, vpp, off, self._require_upload(clearance, ch, v, rate))
        sizes = {prepared[c][0].size for c in chans}
        if len(sizes) != 1:
            raise RangeError(f"synchronised waveforms must have equal lengths, got {sorted(sizes)} points")
        out = {}
        for ch in chans:
            codes, vpp, off, cleared = prepared[ch]
            out[ch] = self._load_codes(
                ch, codes, rate, name=names[ch], amplitude_vpp=vpp, offset_v=off, markers=None, cleared=cleared
            )
        with self._operation("synchronise channels"):
            self.session.write("FUNC:ARB:SYNC")
            self.session.opc()
            self.session.check_errors("FUNC:ARB:SYNC")
        return out

    def sample_rate(self, channel: int) -> float:
        """The sample rate the instrument reports for *channel*, Hz."""
        ch = self._check_channel(channel)
        with self._operation("query sample rate"):
            return self.session.query_float(f"SOUR{ch}:FUNC:ARB:SRAT?")
