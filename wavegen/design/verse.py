"""VERSE: variable-rate selective excitation (Conolly, Nishimura, Macovski & Glover, J Magn Reson
1988;78:440; time-optimal form: Hargreaves, Cunningham, Nishimura & Conolly, MRM 2004;52:590).

Playing sample ``i`` of a pulse ``s_i`` times faster, with ``s_i`` times its B1 and ``s_i`` times its
gradient, leaves each step's rotation ``2*pi*gamma*(B1, G.x)*dt`` unchanged: the on-resonance
profile is preserved exactly, while the peak B1 and the energy ``integral |B1|^2 dt = sum s_i |b_i|^2 dt``
change. VERSE slows the pulse down (``s < 1``) where B1 is high and, time-optimally, speeds it up
(``s > 1``) where B1 and the gradient allow.

The rate ``s`` is found, per original RF sample, as the largest one allowed by

- the B1 cap ``s_i |b_i| <= c``,
- the gradient amplitude ``s_i |G0| <= G_max``,
- the slew rate: with ``u = s^2`` the gradient's slew is ``|G0|/2 * du/dtau``, so ``u`` must be
  Lipschitz with constant ``2 S_max / |G0|`` in the original time ``tau``; the largest such ``u`` below
  the caps is their lower Lipschitz envelope (one forward and one backward pass, as in Lustig, Kim &
  Pauly, IEEE TMI 2008 for the time-optimal gradient).

Slowed samples are then placed on the new time axis, the B1 is re-binned onto the uniform RF raster
preserving each bin's integral, and the gradient (piecewise linear through the new sample centres,
with raster ramps from and to zero) is sampled on the gradient raster: an
:class:`~wavegen.design.gradients.ArbitraryGradient` checked sample by sample against the limits.
For ``energy_fraction`` the cap ``c`` is found by bisection.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wavegen.design.bounds import check_design_length
from wavegen.design.gradients import ArbitraryGradient, Trapezoid, check_gradient
from wavegen.design.pulse import RFPulse
from wavegen.errors import DesignError, RangeError
from wavegen.limits import TICK_S, SystemLimits
from wavegen.validate import finite, positive

__all__ = ["VerseResult", "verse", "gradient_on_rf_raster", "verse_rates"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class VerseResult:
    """Result of :func:`verse`.

    Attributes
    ----------
    rf
        The reshaped pulse; ``delay_s`` is the ramp-up time of ``gradient`` (both measured from the
        start of the gradient), ``center_s`` the reshaped isodelay point. A frequency or phase offset
        of the original (slice shift) is built into the samples, since it must follow the reshaped
        gradient; the result's ``freq_offset_hz`` and ``phase_offset_rad`` are 0.
    gradient
        The reshaped slice gradient with its ramps (starts and ends at 0).
    rates
        The rate ``s`` of each original RF sample (> 1: faster, < 1: slower).
    peak_b1_ratio, energy_ratio, duration_ratio
        New / original peak B1, ``integral |B1|^2 dt`` and RF duration.
    """

    rf: RFPulse
    gradient: ArbitraryGradient
    rates: np.ndarray
    peak_b1_ratio: float
    energy_ratio: float
    duration_ratio: float

    def __repr__(self) -> str:
        return (
            f"VerseResult(peak B1 x{self.peak_b1_ratio:.4g}, energy x{self.energy_ratio:.4g}, duration "
            f"x{self.duration_ratio:.4g}; rf={self.rf!r}, gradient={self.gradient!r})"
        )


def gradient_on_rf_raster(gradient: Any, rf: RFPulse) -> np.ndarray:
    """The gradient (any H3 gradient type, block-relative delays) at the RF sample centres, T/m.

    The gradient is taken as the piecewise-linear waveform through its corners (for an
    :class:`ArbitraryGradient`: its samples at raster centres with ``first``/``last``); the RF sample
    ``i`` sits at ``rf.delay_s + (i + 0.5) * rf.raster_s``. Use it for :func:`wavegen.design.bloch.simulate`.
    """
    t, g = gradient.corners(include_delay=True)
    return np.asarray(np.interp(rf.delay_s + rf.times_s, t, g, left=0.0, right=0.0))


def _lipschitz_envelope(cap: np.ndarray, step: float) -> np.ndarray:
    """Largest ``u <= cap`` with ``|u[i+1] - u[i]| <= step`` (forward and backward pass)."""
    # forward: u[i] = min_{j<=i} cap[j] + step*(i-j); backward: the same from the right
    k = np.arange(cap.size) * step
    fwd = np.minimum.accumulate(np.where(np.isfinite(cap), cap, np.inf) - k) + k
    bwd = (np.minimum.accumulate((fwd + k)[::-1]))[::-1] - k
    return np.asarray(np.minimum(fwd, bwd))


def verse_rates(
    b1_abs_t: np.ndarray, raster_s: float, grad_t_per_m: float, b1_cap_t: float, limits: SystemLimits
) -> np.ndarray:
    """The time-optimal rates ``s_i`` (see the module docstring) for a B1 cap ``b1_cap_t`` (T)."""
    g0 = abs(grad_t_per_m)
    with np.errstate(divide="ignore", over="ignore"):
        cap_b1 = np.where(b1_abs_t > 0, (b1_cap_t / np.maximum(b1_abs_t, 1e-300)) ** 2, np.inf)
    cap = np.minimum(cap_b1, (limits.max_grad_t_per_m / g0) ** 2 * (1 - 1e-12))
    # the slew between sample centres: |du| <= 2 S / G0 * d tau (harmonic <= arithmetic mean of the
    # new durations), with a hair of margin for rounding
    step = 2.0 * limits.max_slew_t_per_m_per_s / g0 * raster_s * (1 - 1e-9)
    u = _lipschitz_envelope(cap, step)
    return np.asarray(np.sqrt(u))


def _ceil_ticks(t_s: float, r_ns: int) -> int:
    return max(1, int(math.ceil(t_s / TICK_S / r_ns - 1e-9))) * r_ns


def _build(rf: RFPulse, g0: float, rates: np.ndarray, limits: SystemLimits) -> tuple[RFPulse, ArbitraryGradient]:
    dt = rf.raster_s
    r_ns = limits.grad_raster_ns
    rf_ns = round(dt / TICK_S)
    if r_ns % rf_ns:
        raise RangeError(f"the gradient raster ({r_ns} ns) must be a multiple of the RF raster ({rf_ns} ns)")
    new_dt = dt / rates
    edges = np.concatenate(([0.0], np.cumsum(new_dt)))
    t_rf = float(edges[-1])
    # the reshaped pulse on the RF raster: refuse an absurd stretch before allocating it
    check_design_length(t_rf / dt, dt, f"the VERSE-reshaped pulse of {t_rf:.6g} s")
    g_samples = g0 * rates
    # ramps on the gradient raster
    slew = limits.max_slew_t_per_m_per_s
    up_ticks = _ceil_ticks(abs(g_samples[0]) / slew, r_ns)
    down_ticks = _ceil_ticks(abs(g_samples[-1]) / slew, r_ns)
    rf_ticks = _ceil_ticks(t_rf, r_ns)  # RF window rounded up to the gradient raster
    t_up = up_ticks * TICK_S
    # B1 re-binned onto the uniform RF raster: cumulative integral, exact per bin
    # the transmitter offset (slice shift) must follow the reshaped gradient: its phase 2*pi*f*tau
    # accrues in the *original* time tau, so it is baked into the samples (Conolly et al. 1988)
    b1_src = rf.modulated_b1_t()
    cum = np.concatenate(([0.0], np.cumsum(b1_src * rates * new_dt)))
    n_rf = rf_ticks // rf_ns
    bin_edges = np.arange(n_rf + 1) * dt
    cum_re = np.interp(bin_edges, edges, cum.real)
    cum_im = np.interp(bin_edges, edges, cum.imag)
    b1_new = (np.diff(cum_re) + 1j * np.diff(cum_im)) / dt
    # gradient: 0 -> ramp -> values at the new sample centres -> ramp -> 0
    centres = t_up + 0.5 * (edges[:-1] + edges[1:])
    t_end_rf = t_up + rf_ticks * TICK_S
    total_ticks = up_ticks + rf_ticks + down_ticks
    times = np.concatenate(([0.0, t_up], centres, [t_up + t_rf, t_end_rf, total_ticks * TICK_S]))
    values = np.concatenate(([0.0, g_samples[0]], g_samples, [g_samples[-1], g_samples[-1], 0.0]))
    n_g = total_ticks // r_ns
    graster = r_ns * TICK_S
    samples = np.interp((np.arange(n_g) + 0.5) * graster, times, values)
    grad = ArbitraryGradient(samples, graster, delay_s=0.0, first_t_per_m=0.0, last_t_per_m=0.0)
    # centre: the original centre moved along the new time axis
    center = float(np.interp(rf.center_s, np.arange(rf.n_samples + 1) * dt, edges))
    new_rf = rf.replace(
        b1_t=b1_new, center_s=min(center, n_rf * dt), delay_s=t_up, freq_offset_hz=0.0, phase_offset_rad=0.0
    )
    return new_rf, grad


def verse(
    rf: RFPulse,
    gradient: Trapezoid | float,
    limits: SystemLimits,
    *,
    max_b1_t: float | None = None,
    energy_fraction: float | None = None,
    max_duration_s: float | None = None,
) -> VerseResult:
    """Reshape an RF pulse and its constant slice gradient to lower the peak B1 or the RF energy.

    Parameters
    ----------
    rf
        The pulse, played under a constant gradient.
    gradient
        Its slice-select gradient: a :class:`~wavegen.design.gradients.Trapezoid` (its flat amplitude
        is used) or the amplitude in T/m.
    limits
        Gradient amplitude, slew and raster; RF raster.
    max_b1_t
        Target peak B1, T (exactly one of this and ``energy_fraction``).
    energy_fraction
        Target ``integral |B1|^2 dt`` as a fraction of the original's, in (0, 1].
    max_duration_s
        Longest acceptable RF duration, s (optional).

    Returns
    -------
    VerseResult
        The new pulse and gradient; the pulse's ``delay_s`` places it on the gradient.

    Raises
    ------
    DesignError
        If the target cannot be met (e.g. above ``max_duration_s``).
    LimitError
        Never for a result: the gradient is checked sample by sample before it is returned.
    """
    if not isinstance(rf, RFPulse):
        raise RangeError(f"rf must be an RFPulse, got {type(rf).__name__}")
    if isinstance(gradient, Trapezoid):
        g0 = gradient.amplitude_t_per_m
    else:
        g0 = finite(gradient, "gradient", "T/m")
    if g0 == 0.0:
        raise DesignError("VERSE needs a non-zero slice gradient")
    if abs(g0) > limits.max_grad_t_per_m * (1 + 1e-12):
        raise DesignError(f"the gradient {g0!r} T/m already exceeds max_grad_t_per_m")
    if (max_b1_t is None) == (energy_fraction is None):
        raise RangeError("give exactly one of max_b1_t (T) and energy_fraction")
    b1_abs = np.abs(rf.b1_t)
    peak = float(np.max(b1_abs))
    e0 = rf.energy_t2_s
    if peak == 0.0:
        raise DesignError("the pulse is all zeros")
    dt = rf.raster_s

    def energy(rates: np.ndarray) -> float:
        return float(np.sum(rates * b1_abs**2) * dt)

    if max_b1_t is not None:
        cap = positive(max_b1_t, "max_b1_t", "T")
    else:
        frac = positive(energy_fraction, "energy_fraction", "")
        if frac > 1:
            raise RangeError(f"energy_fraction = {frac!r} must be <= 1")
        lo, hi = 1e-6 * peak, peak
        if energy(verse_rates(b1_abs, dt, g0, hi, limits)) <= frac * e0:
            cap = hi
        else:
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                if energy(verse_rates(b1_abs, dt, g0, mid, limits)) > frac * e0 * (1 - 1e-4):
                    hi = mid
                else:
                    lo = mid
            cap = lo
    rates = verse_rates(b1_abs, dt, g0, cap, limits)
    if not np.all(rates > 0):
        raise DesignError("VERSE found no feasible rate (the limits leave no time for the pulse)")
    new_rf, grad = _build(rf, g0, rates, limits)
    if max_duration_s is not None:
        lim_d = positive(max_duration_s, "max_duration_s", "s")
        if new_rf.duration_s > lim_d * (1 + 1e-12):
            raise DesignError(
                f"VERSE needs {new_rf.duration_s * 1e3:.4g} ms for this target but max_duration_s is "
                f"{lim_d * 1e3:.4g} ms"
            )
    check_gradient(grad, limits, require_raster=True, axis="slice")
    logger.debug("VERSE: peak %.4g -> %.4g uT", peak * 1e6, new_rf.peak_b1_t * 1e6)
    return VerseResult(
        rf=new_rf,
        gradient=grad,
        rates=rates,
        peak_b1_ratio=new_rf.peak_b1_t / peak,
        energy_ratio=new_rf.energy_t2_s / e0,
        duration_ratio=new_rf.duration_s / rf.duration_s,
    )
