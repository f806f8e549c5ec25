"""RF amplifier characterisation and predistortion (part of :mod:`wavegen.hil`).

AM/AM and AM/PM from a slow amplitude ramp, the inverse curve as a predistorter (docs/references/hil.md §4;
US 5 140 268, Chan 1992: measure AM/AM and AM/PM, prewarp the baseband pulse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.errors import RangeError
from wavegen.hil.align import as_signal, estimate_delay, positive_rate, shift

__all__ = ["RfCurve", "rf_ramp", "estimate_rf_curve"]


def rf_ramp(rate_hz: float, max_b1_t: float, *, duration_s: float = 2e-3, lead_s: float = 100e-6,
            tail_s: float = 200e-6) -> np.ndarray:
    """A slow linear amplitude ramp ``0 .. max_b1_t`` (real, T) for AM/AM and AM/PM measurement
    (docs/references/hil.md §4: "sweep a slow amplitude ramp"), with zeros before and after."""
    rate = positive_rate(rate_hz)
    if not (math.isfinite(max_b1_t) and max_b1_t > 0):
        raise RangeError(f"max_b1_t = {max_b1_t!r} T must be > 0")
    n = int(round(duration_s * rate))
    out = np.zeros(int(round(lead_s * rate)) + n + int(round(tail_s * rate)))
    k0 = int(round(lead_s * rate))
    out[k0 : k0 + n] = np.linspace(0.0, max_b1_t, n)
    return out


@dataclass(frozen=True)
class RfCurve:
    """A memoryless RF chain: output amplitude and added phase versus input amplitude, and a delay.

    Attributes
    ----------
    input_t, output_t : ndarray
        Input and output envelope amplitudes, T (ascending input; output made non-decreasing).
    phase_rad : ndarray
        AM/PM: phase added at each input amplitude, rad.
    delay_s : float
        Envelope delay of the chain, s.
    """

    input_t: np.ndarray
    output_t: np.ndarray
    phase_rad: np.ndarray
    delay_s: float

    def gain(self, amplitude_t: np.ndarray) -> np.ndarray:
        """Complex gain ``out/in * exp(j phase)`` at the given input amplitudes."""
        a = np.abs(np.asarray(amplitude_t, dtype=np.float64))
        safe = np.maximum(a, self.input_t[1])
        g = np.interp(safe, self.input_t, self.output_t) / safe
        return g * np.exp(1j * np.interp(a, self.input_t, self.phase_rad))

    def predistort(self, b1_t: Any) -> np.ndarray:
        """The input envelope that makes the chain output ``b1_t`` (complex T), delay not included.

        Raises
        ------
        RangeError
            A requested amplitude above what the amplifier can reach (it saturates).
        """
        b = np.asarray(b1_t).astype(complex)
        mag = np.abs(b)
        top = float(self.output_t[-1])
        over = np.flatnonzero(mag > top)
        if over.size:
            i = int(over[0])
            raise RangeError(
                f"RF sample {i} asks for {mag[i] * 1e6:.4g} uT; the amplifier reaches {top * 1e6:.4g} uT "
                f"at the largest measured input ({self.input_t[-1] * 1e6:.4g} uT)"
            )
        a = np.interp(mag, self.output_t, self.input_t)
        ph = np.interp(a, self.input_t, self.phase_rad)
        return a * np.exp(1j * (np.angle(b) - ph))

    def __repr__(self) -> str:
        g = self.output_t[-1] / self.input_t[-1]
        return (
            f"RfCurve(compression {1 - g / (self.output_t[1] / self.input_t[1]):.2%} at "
            f"{self.input_t[-1] * 1e6:.3g} uT, AM/PM {np.degrees(self.phase_rad[-1] - self.phase_rad[1]):.2f} deg, "
            f"delay {self.delay_s * 1e6:.3f} us)"
        )


def estimate_rf_curve(drive: Any, measured: Any, rate_hz: float, *, bins: int = 48) -> RfCurve:
    """AM/AM and AM/PM from a played envelope and its capture: align (delay), then bin the output
    amplitude and the phase difference by input amplitude (means per bin; output made monotone)."""
    x = as_signal(drive, "drive").astype(complex)
    y = as_signal(measured, "measured").astype(complex)
    delay = estimate_delay(x, y, rate_hz)
    ya = shift(y, -delay, rate_hz)
    a = np.abs(x)
    top = float(a.max())
    if top == 0:
        raise RangeError("the RF drive is all zero")
    sel = a > 0.02 * top
    edges = np.linspace(0.02 * top, top, bins + 1)
    idx = np.clip(np.digitize(a[sel], edges) - 1, 0, bins - 1)
    cnt = np.bincount(idx, minlength=bins)
    ok = cnt > 0
    mean_in = np.bincount(idx, a[sel], bins)[ok] / cnt[ok]
    mean_out = np.bincount(idx, np.abs(ya[sel]), bins)[ok] / cnt[ok]
    rot = ya[sel] * np.conj(x[sel]) / a[sel]
    ph = np.angle(np.bincount(idx, rot.real, bins)[ok] + 1j * np.bincount(idx, rot.imag, bins)[ok])
    inp = np.concatenate([[0.0], mean_in])
    out = np.maximum.accumulate(np.concatenate([[0.0], mean_out]))
    phase = np.concatenate([[ph[0]], ph])
    return RfCurve(inp, out, phase, float(delay))
