"""Value types and helpers shared by the AWG drivers: capabilities, limits, IDN parsing, volts to codes.

Also the one entry to the safety interlock (:func:`require_clearance`, docs/architecture.md section 4) and the
volts-to-DAC-codes mapping through :func:`wavegen.dsp.quantize` (docs/architecture.md section 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.errors import InstrumentProtocolError, RangeError, SafetyError

__all__ = [
    "Capabilities",
    "ChannelLimits",
    "LoadedWaveform",
    "first_sample_difference",
    "require_clearance",
    "parse_idn",
    "quantize_volts",
]


def require_clearance(
    clearance: Any,
    *,
    output: str | None = None,
    samples: Any = None,
    digest: str | None = None,
    sample_rate_hz: float | None = None,
    repeats: int = 1,
    endless: bool = False,
) -> str | None:
    """Pass what is about to be sent through the safety interlock; fail closed if it is unavailable.

    Parameters
    ----------
    clearance
        What the caller holds (:class:`wavegen.safety.interlock.Clearance`).
    output
        The output about to receive or play it (``driver.output_id(channel)``). Every driver passes it;
        without it only the clearance itself is checked (kept for callers not yet updated).
    samples, digest
        The samples exactly as the driver received them (float64 volts or the integer codes), or
        their :func:`~wavegen.safety.interlock.samples_digest`.
    sample_rate_hz
        The rate they play at.
    repeats, endless
        How many times in a row they play, or whether they loop until stopped.

    Returns
    -------
    str or None
        The digest of ``samples`` (or ``digest``) that the clearance covers.

    Raises
    ------
    SafetyError
        Not a valid, unexpired clearance covering exactly this, or no interlock module.
    """
    try:
        from wavegen.safety.interlock import require, samples_digest
    except ImportError as exc:  # fail closed
        raise SafetyError(
            f"safety interlock unavailable ({exc}); refusing to upload or switch an output on",
            quantity="clearance",
        ) from exc
    if samples is not None:
        digest = samples_digest(samples)
    require(
        clearance, output=output, digest=digest, sample_rate_hz=sample_rate_hz, repeats=int(repeats),
        endless=bool(endless),
    )
    return digest


@dataclass(frozen=True)
class Capabilities:
    """What one instrument model can do (all SI: hertz, volts).

    Parameters
    ----------
    vendor, model, family : str
        As detected from ``*IDN?``.
    channels : int
        Number of analog outputs.
    dac_bits : int
        DAC resolution in bits.
    code_min, code_max : int
        Range of the codes the upload command takes (e.g. -32767..32767 for the 33500 DAC upload).
    min_points, max_points : int
        Waveform length limits in samples (per channel).
    point_granularity : int
        Length must be a multiple of this.
    min_rate_hz, max_rate_hz : float
        Sample-rate range.
    min_vpp_v, max_vpp_v : float
        Amplitude (peak to peak) range into the reference load.
    max_abs_v : float
        Largest ``|offset| + amplitude / 2`` into the reference load.
    markers : int
        Marker outputs per channel.
    """

    vendor: str
    model: str
    family: str
    channels: int
    dac_bits: int
    code_min: int
    code_max: int
    min_points: int
    max_points: int
    min_rate_hz: float
    max_rate_hz: float
    min_vpp_v: float
    max_vpp_v: float
    max_abs_v: float
    point_granularity: int = 1
    markers: int = 0


@dataclass(frozen=True)
class ChannelLimits:
    """User limits on one channel's output voltage (volts), e.g. a gradient amplifier's input range."""

    low_v: float
    high_v: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low_v) and math.isfinite(self.high_v)) or self.low_v >= self.high_v:
            raise RangeError(f"channel limits need finite low_v < high_v, got {self.low_v} V, {self.high_v} V")


@dataclass(frozen=True)
class LoadedWaveform:
    """What the driver put on a channel (and proved by readback when ``verified``)."""

    channel: int
    name: str
    n_points: int
    sample_rate_hz: float
    amplitude_vpp: float
    offset_v: float
    verified: bool
    #: :func:`~wavegen.safety.interlock.samples_digest` of what the caller passed (volts as float64, or codes)
    digest: str = ""


def parse_idn(answer: str) -> tuple[str, str, str, str]:
    """Split an ``*IDN?`` answer into (vendor, model, serial, firmware).

    Raises
    ------
    InstrumentProtocolError
        Fewer than four comma-separated fields.
    """
    parts = [p.strip() for p in answer.strip().split(",")]
    if len(parts) < 4 or not parts[0] or not parts[1]:
        raise InstrumentProtocolError(f"*IDN? answered {answer!r}, not 'vendor,model,serial,firmware'")
    return parts[0], parts[1], parts[2], ",".join(parts[3:])


def quantize_volts(
    volts: np.ndarray, *, offset_v: float, full_scale_v: float, code_min: int, code_max: int, midscale: float
) -> np.ndarray:
    """Map volts to integer DAC codes: ``round((v - offset_v) / full_scale_v * half + midscale)``.

    ``half = (code_max - code_min) / 2``; ``midscale`` is the code of ``offset_v``. Uses
    :func:`wavegen.dsp.quantize` (round half to even; raises ``DacRangeError`` naming the first
    out-of-range sample, never clips).
    """
    from wavegen.dsp import DacFormat, quantize

    half = (code_max - code_min) / 2.0
    scale = half / full_scale_v
    if code_min >= 0:  # unsigned codes: offset binary, the zero code 2**(bits-1) is added after rounding
        bits = max(2, int(code_max).bit_length())
        shift = float(1 << (bits - 1))
        dac = DacFormat(
            bits=bits,
            offset_binary=True,
            scale=scale,
            offset=midscale - shift - offset_v * scale,
            code_min=code_min,
            code_max=code_max,
        )
    else:
        bits = max(2, max(int(code_max), -int(code_min) - 1).bit_length() + 1)
        dac = DacFormat(
            bits=bits,
            offset_binary=False,
            scale=scale,
            offset=midscale - offset_v * scale,
            code_min=code_min,
            code_max=code_max,
        )
    return np.asarray(quantize(np.asarray(volts, dtype=np.float64), dac, clip=False))


def first_sample_difference(expected: np.ndarray, actual: np.ndarray, *, label: str = "sample") -> str | None:
    """Describe the first differing element of two arrays, or ``None`` when they are identical.

    The message names the index, both values and how many elements differ; it never dumps the arrays.
    """
    e = np.asarray(expected).ravel()
    a = np.asarray(actual).ravel()
    if e.shape != a.shape:
        return f"{label} count differs: expected {e.size}, got {a.size}"
    if e.dtype.kind == "f" or a.dtype.kind == "f":
        ev = e.view(np.uint32 if e.dtype.itemsize == 4 else np.uint64) if e.dtype.kind == "f" else e
        av = a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64) if a.dtype.kind == "f" else a
        diff = ev != av if ev.dtype == av.dtype else e != a
    else:
        diff = e != a
    bad = np.flatnonzero(diff)
    if bad.size == 0:
        return None
    i = int(bad[0])
    return f"{label} {i} differs: expected {e[i].item()!r}, got {a[i].item()!r} ({bad.size} of {e.size} differ)"
