"""RF amplifier rules: peak power, average power over a window, duty cycle, longest pulse.

Power follows from B1 through a calibration: ``P = watts_per_t2 * |B1|^2`` per transmit channel (one
amplifier per channel). A reference-voltage calibration (the scanner's transmitter adjustment:
amplitude ``v_ref_v`` into ``impedance_ohm`` gives ``b1_ref_t``) converts with
``watts_per_t2 = (v_ref_v / b1_ref_t)^2 / (2 impedance_ohm)`` (docs/references/safety.md §1.4, §2.4).
Duty-cycle and average-power ratings are vendor specific [M: typical 5-10 % at full peak power]; they
are explicit parameters here, never defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wavegen.errors import RangeError
from wavegen.safety._windows import max_window_integral
from wavegen.safety.gradient import exceeds
from wavegen.safety.report import RuleResult
from wavegen.safety.waveforms import Waveforms

__all__ = ["RfAmplifier", "check_rf_amplifier"]


def _pos(name: str, v: object, unit: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise RangeError(f"RfAmplifier.{name} = {v!r} {unit} must be a finite number > 0 {unit}")
    return float(v)


@dataclass(frozen=True)
class RfAmplifier:
    """Ratings and B1 calibration of the RF amplifier (one per transmit channel).

    Parameters
    ----------
    peak_power_w
        Peak (envelope) power rating, W.
    watts_per_t2
        Calibration: amplifier output power per |B1|^2, W/T^2.
    average_power_w, average_window_s
        Average power rating over a window, W and s (``None``: not checked).
    max_duty_cycle, duty_window_s
        Largest fraction of time the RF may be on over a window (``None``: not checked).
    max_pulse_s
        Longest continuous RF pulse, s (``None``: not checked).
    """

    peak_power_w: float
    watts_per_t2: float
    average_power_w: float | None = None
    average_window_s: float = 10.0
    max_duty_cycle: float | None = None
    duty_window_s: float = 10.0
    max_pulse_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "peak_power_w", _pos("peak_power_w", self.peak_power_w, "W"))
        object.__setattr__(self, "watts_per_t2", _pos("watts_per_t2", self.watts_per_t2, "W/T^2"))
        object.__setattr__(self, "average_window_s", _pos("average_window_s", self.average_window_s, "s"))
        object.__setattr__(self, "duty_window_s", _pos("duty_window_s", self.duty_window_s, "s"))
        if self.average_power_w is not None:
            _pos("average_power_w", self.average_power_w, "W")
        if self.max_pulse_s is not None:
            _pos("max_pulse_s", self.max_pulse_s, "s")
        if self.max_duty_cycle is not None:
            d = _pos("max_duty_cycle", self.max_duty_cycle, "1")
            if d > 1:
                raise RangeError(f"RfAmplifier.max_duty_cycle = {d!r} must be <= 1")

    @classmethod
    def from_reference_voltage(
        cls, v_ref_v: float, b1_ref_t: float, *, impedance_ohm: float = 50.0, **ratings: float | None
    ) -> RfAmplifier:
        """Calibrate from a reference voltage: amplitude ``v_ref_v`` (V) gives ``b1_ref_t`` (T)."""
        v = _pos("v_ref_v", v_ref_v, "V")
        b = _pos("b1_ref_t", b1_ref_t, "T")
        z = _pos("impedance_ohm", impedance_ohm, "ohm")
        return cls(watts_per_t2=(v / b) ** 2 / (2.0 * z), **ratings)  # type: ignore[arg-type]


def _longest_run(on: np.ndarray) -> tuple[int, int]:
    """Length and start index of the longest run of True."""
    if not on.any():
        return 0, 0
    d = np.diff(np.concatenate(([0], on.view(np.int8), [0])))
    starts = np.flatnonzero(d == 1)
    stops = np.flatnonzero(d == -1)
    lengths = stops - starts
    k = int(np.argmax(lengths))
    return int(lengths[k]), int(starts[k])


def check_rf_amplifier(wf: Waveforms, amp: RfAmplifier, *, periodic: bool = True) -> tuple[RuleResult, ...]:
    """Peak power, average power, duty cycle and longest pulse, per transmit channel."""
    if wf.rf_b1_t is None or wf.rf_raster_s is None:
        return ()
    dt = wf.rf_raster_s
    u = wf.rf_channels
    n_total = max(u.shape[0], int(math.floor(wf.duration_s / dt * (1 + 1e-12))))
    peak = (-1.0, 0, 0)
    avg = (-1.0, 0.0, 0)
    duty = (-1.0, 0.0, 0)
    pulse = (-1, 0, 0)
    for c in range(u.shape[1]):
        p = amp.watts_per_t2 * (u[:, c].real ** 2 + u[:, c].imag ** 2)
        i = int(np.argmax(p))
        if p[i] > peak[0]:
            peak = (float(p[i]), i, c)
        if n_total > p.shape[0]:
            p = np.pad(p, (0, n_total - p.shape[0]))
        if amp.average_power_w is not None:
            e, s = max_window_integral(p, dt, amp.average_window_s, periodic=periodic)
            if e / amp.average_window_s > avg[0]:
                avg = (e / amp.average_window_s, s, c)
        on = p > 0.0
        if amp.max_duty_cycle is not None:
            e, s = max_window_integral(on.astype(np.float64), dt, amp.duty_window_s, periodic=periodic)
            if e / amp.duty_window_s > duty[0]:
                duty = (e / amp.duty_window_s, s, c)
        if amp.max_pulse_s is not None:
            n, s0 = _longest_run(on)
            if periodic and on[0] and on[-1] and n < on.size:  # a pulse that wraps around the period
                n_head, _ = _longest_run(np.concatenate((on, on)))
                n = min(n_head, on.size)
                s0 = 0
            if n > pulse[0]:
                pulse = (n, s0, c)
    return amplifier_results(amp, wf.t0_s, dt, peak, avg, duty, pulse)


def amplifier_results(
    amp: RfAmplifier,
    t0: float,
    dt: float,
    peak: tuple[float, int, int],
    avg: tuple[float, float, int],
    duty: tuple[float, float, int],
    pulse: tuple[int, int, int],
) -> tuple[RuleResult, ...]:
    """The amplifier rules from their worst values: ``peak`` (W, sample index, channel), ``avg`` and
    ``duty`` (value, window start s, channel), ``pulse`` (cells, start index, channel)."""
    out: list[RuleResult] = []
    out.append(
        RuleResult(
            "rf_peak_power",
            "RF amplifier peak power",
            "fail" if exceeds(peak[0], amp.peak_power_w) else "pass",
            peak[0],
            amp.peak_power_w,
            "W",
            f"tx{peak[2]}",
            t0 + (peak[1] + 0.5) * dt,
            index=peak[1],
        )
    )
    if amp.average_power_w is not None:
        out.append(
            RuleResult(
                "rf_average_power",
                f"RF amplifier average power over {amp.average_window_s:g} s",
                "fail" if exceeds(avg[0], amp.average_power_w) else "pass",
                avg[0],
                amp.average_power_w,
                "W",
                f"tx{avg[2]}",
                t0 + avg[1],
                note="time = start of the worst window",
            )
        )
    if amp.max_duty_cycle is not None:
        out.append(
            RuleResult(
                "rf_duty_cycle",
                f"RF duty cycle over {amp.duty_window_s:g} s",
                "fail" if exceeds(duty[0], amp.max_duty_cycle) else "pass",
                duty[0],
                amp.max_duty_cycle,
                "1",
                f"tx{duty[2]}",
                t0 + duty[1],
                note="time = start of the worst window",
            )
        )
    if amp.max_pulse_s is not None:
        length = pulse[0] * dt
        out.append(
            RuleResult(
                "rf_pulse_length",
                "longest continuous RF pulse",
                "fail" if exceeds(length, amp.max_pulse_s) else "pass",
                length,
                amp.max_pulse_s,
                "s",
                f"tx{pulse[2]}",
                t0 + pulse[1] * dt,
                index=pulse[1],
            )
        )
    return tuple(out)
