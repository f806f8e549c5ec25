"""RF pulses: the :class:`RFPulse` value and the classic shapes (block, windowed sinc, Gaussian, arbitrary).

An RF pulse is complex B1(t) in tesla, sampled on the RF raster (sample ``i`` holds the field over
``[i*raster, (i+1)*raster)``, its nominal time is the sample centre ``(i+0.5)*raster``, as in Pulseq).
The *centre* is the effective rotation time (the isodelay point), measured from the first sample's
start, not including ``delay_s``.

Frequency and phase offsets follow Pulseq: the transmitted field is
``b1_t[i] * exp(1j * (phase_offset_rad + 2*pi*freq_offset_hz * t_i))`` with ``t_i`` the sample centre
measured from the start of the pulse (:meth:`RFPulse.modulated_b1_t`).

Flip angles are exact: a hard (or any constant-phase real) pulse rotates about one axis on resonance,
so ``alpha = 2*pi*gamma*|integral B1 dt|`` (Bloch equation, e.g. Bernstein, King & Zhou, *Handbook of
MRI Pulse Sequences*, 2004, sec. 2.1); pulses whose phase varies are scaled by Bloch simulation until
the simulated on-resonance flip equals the request (:func:`scale_to_flip_angle`).

The slice-select gradient comes from a separate function, :func:`slice_select_gradient`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from dataclasses import replace as _dc_replace
from typing import Any, Literal

import numpy as np

from wavegen.design._rfcheck import (
    RF_USES,
    _as_complex_1d,
    _check_use,
    _finite,
    _gamma,
    _n_samples,
    _nonnegative,
    _positive,
    check_max_b1,
)
from wavegen.errors import DesignError, RangeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits

__all__ = [
    "RFPulse",
    "RF_USES",
    "block_pulse",
    "sinc_pulse",
    "gauss_pulse",
    "arbitrary_pulse",
    "scale_to_flip_angle",
    "check_max_b1",
    "slice_select_gradient",
    "slice_refocus_area_t_s_per_m",
]

logger = logging.getLogger(__name__)

RFUse = Literal["excitation", "refocusing", "inversion", "saturation", "undefined"]


# --- the value --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RFPulse:
    """An RF pulse: complex B1 samples in tesla on the RF raster.

    Parameters
    ----------
    b1_t
        Complex B1 samples, T, shape ``(n,)``, finite. Stored as a read-only complex128 copy.
    raster_s
        Sample period, s (> 0; typically ``SystemLimits.rf_raster_s``).
    center_s
        Effective rotation time (isodelay point) from the start of the first sample, s,
        ``0 <= center_s <= duration_s``.
    freq_offset_hz
        Frequency offset of the transmitter during the pulse, Hz (slice shifting).
    phase_offset_rad
        Phase offset, rad. See the module docstring for the exact convention (Pulseq's).
    use
        ``"excitation"``, ``"refocusing"``, ``"inversion"``, ``"saturation"`` or ``"undefined"``.
    delay_s
        Delay from the start of the enclosing block to the first sample, s (>= 0).
    bandwidth_hz
        Full width of the intended frequency profile, Hz (> 0), or ``None``. The designers set it
        (``time_bw_product / duration`` for sinc, Gaussian and SLR pulses);
        :func:`slice_select_gradient` turns it into a gradient amplitude.

    Equality compares every field, samples included; the value is hashable.
    """

    b1_t: np.ndarray
    raster_s: float
    center_s: float
    freq_offset_hz: float = 0.0
    phase_offset_rad: float = 0.0
    use: str = "undefined"
    delay_s: float = 0.0
    bandwidth_hz: float | None = None

    def __post_init__(self) -> None:
        b1 = _as_complex_1d(self.b1_t, "RFPulse.b1_t")
        b1.setflags(write=False)
        object.__setattr__(self, "b1_t", b1)
        raster = _positive(self.raster_s, "RFPulse.raster_s", "s")
        object.__setattr__(self, "raster_s", raster)
        duration = b1.size * raster
        center = _finite(self.center_s, "RFPulse.center_s", "s")
        if center < 0 or center > duration * (1 + 1e-12):
            raise RangeError(f"RFPulse.center_s = {center!r} s must lie within the pulse, 0..{duration!r} s")
        object.__setattr__(self, "center_s", min(center, duration))
        object.__setattr__(self, "freq_offset_hz", _finite(self.freq_offset_hz, "RFPulse.freq_offset_hz", "Hz"))
        object.__setattr__(self, "phase_offset_rad", _finite(self.phase_offset_rad, "RFPulse.phase_offset_rad", "rad"))
        object.__setattr__(self, "use", _check_use(self.use))
        object.__setattr__(self, "delay_s", _nonnegative(self.delay_s, "RFPulse.delay_s", "s"))
        if self.bandwidth_hz is not None:
            object.__setattr__(self, "bandwidth_hz", _positive(self.bandwidth_hz, "RFPulse.bandwidth_hz", "Hz"))

    # --- value semantics ---------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RFPulse):
            return NotImplemented
        return (
            self.raster_s == other.raster_s
            and self.center_s == other.center_s
            and self.freq_offset_hz == other.freq_offset_hz
            and self.phase_offset_rad == other.phase_offset_rad
            and self.use == other.use
            and self.delay_s == other.delay_s
            and self.bandwidth_hz == other.bandwidth_hz
            and self.b1_t.shape == other.b1_t.shape
            and bool(np.array_equal(self.b1_t, other.b1_t))
        )

    def __hash__(self) -> int:
        # computed once and kept in the instance dict (not a dataclass field)
        h = self.__dict__.get("_hash_cache")
        if h is None:
            h = hash(
                (
                    self.b1_t.tobytes(),
                    self.raster_s,
                    self.center_s,
                    self.freq_offset_hz,
                    self.phase_offset_rad,
                    self.use,
                    self.delay_s,
                    self.bandwidth_hz,
                )
            )
            self.__dict__["_hash_cache"] = h
        return int(h)

    def __repr__(self) -> str:
        bw = f", bandwidth {self.bandwidth_hz:.6g} Hz" if self.bandwidth_hz is not None else ""
        off = f", offset {self.freq_offset_hz:.6g} Hz" if self.freq_offset_hz else ""
        return (f"RFPulse({self.use}, {self.n_samples} samples x {self.raster_s * 1e6:.6g} us = "
                f"{self.duration_s * 1e3:.6g} ms, peak {self.peak_b1_t * 1e6:.4g} uT, "
                f"flip (1H, small-tip area) {math.degrees(self.flip_angle_rad()):.4g} deg{bw}{off})")

    def replace(self, **changes: Any) -> RFPulse:
        """A copy with some fields changed (validated again)."""
        return _dc_replace(self, **changes)

    # --- derived values ---------------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.b1_t.size)

    @property
    def duration_s(self) -> float:
        """Duration of the samples, s (``n_samples * raster_s``; ``delay_s`` not included)."""
        return self.b1_t.size * self.raster_s

    @property
    def times_s(self) -> np.ndarray:
        """Sample centres ``(i + 0.5) * raster_s`` from the pulse start, s."""
        return (np.arange(self.b1_t.size) + 0.5) * self.raster_s

    @property
    def peak_b1_t(self) -> float:
        """Largest ``|B1|``, T."""
        return float(np.max(np.abs(self.b1_t)))

    @property
    def energy_t2_s(self) -> float:
        """``integral |B1|^2 dt``, T^2 s (proportional to the deposited RF energy, hence SAR)."""
        return float(np.sum(np.abs(self.b1_t) ** 2) * self.raster_s)

    @property
    def area_t_s(self) -> complex:
        """``integral B1 dt`` of the unmodulated samples, T s (complex)."""
        return complex(np.sum(self.b1_t) * self.raster_s)

    def flip_angle_rad(self, gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T) -> float:
        """On-resonance flip angle estimate ``2*pi*gamma*|integral B1 dt|``, rad.

        Exact for pulses of constant phase (mod pi), e.g. block, sinc and Gaussian pulses; for
        phase-modulated pulses (SLR minimum phase, adiabatic) use a Bloch simulation instead
        (:func:`wavegen.design.bloch.flip_angle_rad`).
        """
        gamma = _positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
        return 2 * math.pi * gamma * abs(self.area_t_s)

    def modulated_b1_t(self) -> np.ndarray:
        """The transmitted field with the frequency and phase offsets applied, T (complex)."""
        if self.freq_offset_hz == 0.0 and self.phase_offset_rad == 0.0:
            return self.b1_t.copy()
        phase = self.phase_offset_rad + 2 * math.pi * self.freq_offset_hz * self.times_s
        return self.b1_t * np.exp(1j * phase)

    def scaled(self, factor: float) -> RFPulse:
        """The same pulse with every sample multiplied by the real ``factor``."""
        factor = _finite(factor, "factor", "")
        return self.replace(b1_t=self.b1_t * factor)


# --- shapes -----------------------------------------------------------------------------------------


def _resolve(
    limits: SystemLimits | None, raster_s: float | None, gamma_hz_per_t: float | None, max_b1_t: float | None
) -> tuple[float, float, float | None]:
    lim = limits if limits is not None else SystemLimits()
    raster = _positive(raster_s, "raster_s", "s") if raster_s is not None else lim.rf_raster_s
    gamma = _gamma(gamma_hz_per_t, lim)
    if max_b1_t is not None:
        mb: float | None = _positive(max_b1_t, "max_b1_t", "T")
    else:
        mb = lim.max_b1_t
    return raster, gamma, mb


def _flip(flip_angle_rad: float) -> float:
    f = _finite(flip_angle_rad, "flip_angle_rad", "rad")
    if f <= 0:
        raise RangeError(f"flip_angle_rad = {f!r} rad must be > 0 rad")
    return f


def _finish(
    b1: np.ndarray,
    raster: float,
    center_s: float,
    *,
    max_b1: float | None,
    what: str,
    freq_offset_hz: float,
    phase_offset_rad: float,
    use: str,
    delay_s: float,
    bandwidth_hz: float | None = None,
) -> RFPulse:
    check_max_b1(b1, max_b1, what)
    return RFPulse(
        b1_t=b1,
        raster_s=raster,
        center_s=center_s,
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=bandwidth_hz,
    )


def block_pulse(
    flip_angle_rad: float,
    duration_s: float,
    *,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A rectangular (hard) pulse of exactly ``flip_angle_rad``.

    ``B1 = alpha / (2*pi*gamma*T)``: 90 deg in 1 ms is 250 Hz, 5.872 uT for 1H.

    Parameters
    ----------
    flip_angle_rad
        Flip angle, rad (> 0).
    duration_s
        Duration, s, a whole number of RF rasters.
    limits
        System limits (default :class:`~wavegen.limits.SystemLimits()`); give the RF raster, gamma and
        peak B1 unless overridden by ``raster_s``, ``gamma_hz_per_t`` and ``max_b1_t``.
    freq_offset_hz, phase_offset_rad, use, delay_s
        Stored on the :class:`RFPulse`.

    Raises
    ------
    LimitError
        If the pulse needs more than the peak B1 limit (a :class:`~wavegen.errors.DesignError`).
    """
    flip = _flip(flip_angle_rad)
    raster, gamma, mb = _resolve(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = _n_samples(duration_s, raster)
    amp = flip / (2 * math.pi * gamma * n * raster)
    b1 = np.full(n, amp, dtype=np.complex128)
    return _finish(
        b1,
        raster,
        n * raster / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg block pulse of {duration_s * 1e6:.6g} us",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
    )


def _window(u: np.ndarray, apodization: float) -> np.ndarray:
    """Generalised Hamming window ``(1-a) + a*cos(pi*u)`` on ``u`` in [-1, 1]."""
    return (1 - apodization) + apodization * np.cos(np.pi * u)


def sinc_pulse(
    flip_angle_rad: float,
    duration_s: float,
    time_bw_product: float,
    *,
    apodization: float = 0.5,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A windowed sinc pulse of exactly ``flip_angle_rad``.

    ``B1(t) ∝ w(t) * sinc(BW * (t - T/2))`` with ``BW = time_bw_product / T`` (the full width of the
    small-tip slice profile in Hz) and the generalised Hamming window
    ``w = (1 - a) + a*cos(2*pi*(t - T/2)/T)``; ``a = 0.5`` Hann (default), ``0.46`` Hamming, ``0`` none
    (Bernstein et al., *Handbook of MRI Pulse Sequences*, sec. 2.3; Pulseq's ``make_sinc_pulse``).

    Parameters
    ----------
    flip_angle_rad
        Flip angle, rad (> 0). Exact on resonance: the pulse is real, so the flip is
        ``2*pi*gamma*|integral B1 dt|``.
    duration_s
        Duration ``T``, s, a whole number of RF rasters.
    time_bw_product
        ``T * BW`` (> 0); the number of sinc zero crossings is ``time_bw_product`` over the pulse.
    apodization
        Window parameter ``a`` in [0, 1].
    limits, raster_s, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, use, delay_s
        As for :func:`block_pulse`.
    """
    flip = _flip(flip_angle_rad)
    tbw = _positive(time_bw_product, "time_bw_product", "")
    a = _finite(apodization, "apodization", "")
    if not 0 <= a <= 1:
        raise RangeError(f"apodization = {a!r} must be in [0, 1]")
    raster, gamma, mb = _resolve(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = _n_samples(duration_s, raster)
    duration = n * raster
    u = ((np.arange(n) + 0.5) * raster - duration / 2) / (duration / 2)  # -1..1
    shape = _window(u, a) * np.sinc(tbw * u / 2)
    area = float(np.sum(shape)) * raster
    if abs(area) < 1e-300:
        raise DesignError("the sinc shape integrates to zero; a flip angle cannot be set")
    b1 = (shape * (flip / (2 * math.pi * gamma * area))).astype(np.complex128)
    return _finish(
        b1,
        raster,
        duration / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg sinc pulse (T = {duration * 1e6:.6g} us, TBW {tbw:g})",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=tbw / duration,
    )


def gauss_pulse(
    flip_angle_rad: float,
    duration_s: float,
    time_bw_product: float,
    *,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "excitation",
    delay_s: float = 0.0,
) -> RFPulse:
    """A Gaussian pulse of exactly ``flip_angle_rad``.

    ``B1(t) ∝ exp(-pi * (BW * (t - T/2))**2)`` with ``BW = time_bw_product / T``; its small-tip
    profile is ``exp(-pi * (f / BW)**2)`` (FWHM ``0.9394 * BW``), as in Pulseq's ``make_gauss_pulse``.

    Parameters are as for :func:`sinc_pulse` (no window).
    """
    flip = _flip(flip_angle_rad)
    tbw = _positive(time_bw_product, "time_bw_product", "")
    raster, gamma, mb = _resolve(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = _n_samples(duration_s, raster)
    duration = n * raster
    t = (np.arange(n) + 0.5) * raster - duration / 2
    shape = np.exp(-np.pi * (tbw / duration * t) ** 2)
    area = float(np.sum(shape)) * raster
    b1 = (shape * (flip / (2 * math.pi * gamma * area))).astype(np.complex128)
    return _finish(
        b1,
        raster,
        duration / 2,
        max_b1=mb,
        what=f"a {math.degrees(flip):.4g} deg Gaussian pulse (T = {duration * 1e6:.6g} us, TBW {tbw:g})",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
        bandwidth_hz=tbw / duration,
    )


def scale_to_flip_angle(
    b1_t: Any,
    raster_s: float,
    flip_angle_rad: float,
    *,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
) -> np.ndarray:
    """``b1_t`` scaled by a positive real factor so its on-resonance flip angle is ``flip_angle_rad``.

    For a pulse of constant phase (mod pi) the flip is ``2*pi*gamma*|integral B1 dt|`` exactly and the
    scale follows in closed form. Otherwise the on-resonance flip ``2*arcsin|beta|`` is found by Bloch
    simulation (Cayley-Klein, :mod:`wavegen.design.bloch`) and the scale by bracketing and Brent's
    method to 1e-12 relative; flips must then lie in (0, pi].

    Raises
    ------
    DesignError
        If the shape has no net rotation or the flip cannot be reached by scaling.
    """
    b1 = _as_complex_1d(b1_t, "b1_t")
    raster = _positive(raster_s, "raster_s", "s")
    flip = _flip(flip_angle_rad)
    gamma = _positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    nz = np.abs(b1) > 1e-15 * float(np.max(np.abs(b1)))
    if not nz.any():
        raise DesignError("b1_t is all zeros; a flip angle cannot be set")
    ph = np.angle(b1[nz])
    # constant phase modulo pi -> rotation about one axis: closed form
    d = np.angle(np.exp(2j * (ph - ph[0])))
    if float(np.max(np.abs(d))) < 1e-9:
        area = complex(np.sum(b1) * raster)
        if abs(area) < 1e-300:
            raise DesignError("b1_t integrates to zero; a flip angle cannot be set")
        return b1 * (flip / (2 * math.pi * gamma * abs(area)))
    if flip > math.pi:
        raise DesignError(f"flip_angle_rad = {flip!r} rad > pi cannot be set by simulation for a phase-modulated pulse")
    from scipy.optimize import brentq

    from wavegen.design.bloch import simulate_ab

    b1n = b1 / float(np.max(np.abs(b1)))

    def flip_of(scale: float) -> float:
        _, beta = simulate_ab(b1n * scale, raster, gamma_hz_per_t=gamma)
        return 2 * math.asin(min(1.0, float(abs(beta[0]))))

    # first guess from the area magnitude, then bracket
    area = abs(complex(np.sum(b1n) * raster))
    s = flip / (2 * math.pi * gamma * max(area, float(np.sum(np.abs(b1n))) * raster * 1e-3))
    lo, f_lo = 0.0, 0.0
    hi = s
    for _ in range(80):
        f_hi = flip_of(hi)
        if f_hi >= flip:
            break
        if f_hi < f_lo - 1e-6:  # past a maximum without reaching the target
            hi = s * 2**-1  # pragma: no cover - pathological shapes
            break
        lo, f_lo = hi, f_hi
        hi *= 1.5
    else:
        raise DesignError(f"no scale of this B1 shape reaches a flip angle of {flip!r} rad")
    if flip_of(hi) < flip:
        raise DesignError(f"no scale of this B1 shape reaches a flip angle of {flip!r} rad")
    scale = brentq(lambda x: flip_of(x) - flip, lo, hi, xtol=1e-14 * hi, rtol=1e-13, maxiter=200)
    return b1n * scale


def arbitrary_pulse(
    shape: Any,
    raster_s: float | None = None,
    *,
    flip_angle_rad: float | None = None,
    center_s: float | None = None,
    limits: SystemLimits | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    use: RFUse = "undefined",
    delay_s: float = 0.0,
) -> RFPulse:
    """An RF pulse from arbitrary complex samples.

    Parameters
    ----------
    shape
        Complex samples. With ``flip_angle_rad`` given they are a *shape* (any scale) and are scaled
        exactly to that flip angle (:func:`scale_to_flip_angle`); without it they are B1 in tesla.
    raster_s
        Sample period, s (default ``limits.rf_raster_s``).
    center_s
        Effective rotation time from the start, s. Default: the time of the largest ``|B1|`` sample
        centre (the isodelay of symmetric and minimum-phase shapes is close to it; give it explicitly
        when it is known, e.g. from an SLR design).
    limits, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, use, delay_s
        As for :func:`block_pulse`.
    """
    raster, gamma, mb = _resolve(limits, raster_s, gamma_hz_per_t, max_b1_t)
    b1 = _as_complex_1d(shape, "shape")
    if flip_angle_rad is not None:
        b1 = scale_to_flip_angle(b1, raster, flip_angle_rad, gamma_hz_per_t=gamma)
    if center_s is None:
        center = (int(np.argmax(np.abs(b1))) + 0.5) * raster
    else:
        center = _finite(center_s, "center_s", "s")
    return _finish(
        b1,
        raster,
        center,
        max_b1=mb,
        what=f"an arbitrary pulse of {b1.size} samples",
        freq_offset_hz=freq_offset_hz,
        phase_offset_rad=phase_offset_rad,
        use=use,
        delay_s=delay_s,
    )


# The slice-select gradient lives in its own module (this file would pass 600 lines); it is part of
# this module's interface.
from wavegen.design.rf_slice import slice_refocus_area_t_s_per_m, slice_select_gradient  # noqa: E402
