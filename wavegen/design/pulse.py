"""The RF pulse value, :class:`RFPulse`, and the checks every RF designer shares.

An RF pulse is complex B1(t) in tesla, sampled on the RF raster (sample ``i`` holds the field over
``[i*raster, (i+1)*raster)``, its nominal time is the sample centre ``(i+0.5)*raster``, as in Pulseq).
The *centre* is the effective rotation time (the isodelay point), measured from the first sample's
start, not including ``delay_s``.

Frequency and phase offsets follow Pulseq: the transmitted field is
``b1_t[i] * exp(1j * (phase_offset_rad + 2*pi*freq_offset_hz * t_i))`` with ``t_i`` the sample centre
measured from the start of the pulse (:meth:`RFPulse.modulated_b1_t`).

The designers (:mod:`wavegen.design.rf`, :mod:`~wavegen.design.slr`, :mod:`~wavegen.design.adiabatic`,
...) build pulses through :func:`rf_settings`, :func:`rf_sample_count`, :func:`check_flip_angle` and
:func:`build_pulse`, so that the raster, gamma, the peak-B1 limit and the length bound
(:data:`~wavegen.design.bounds.MAX_DESIGN_SAMPLES`) are applied the same way everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import replace as _dc_replace
from typing import Any, Literal

import numpy as np

from wavegen.design.bounds import MAX_DESIGN_SAMPLES
from wavegen.errors import LimitError, RangeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.validate import as_1d_complex, finite, non_negative, one_of, positive, raster_count

__all__ = [
    "RFPulse",
    "RFUse",
    "RF_USES",
    "check_use",
    "check_max_b1",
    "check_flip_angle",
    "resolve_gamma",
    "rf_settings",
    "rf_sample_count",
    "build_pulse",
]

RFUse = Literal["excitation", "refocusing", "inversion", "saturation", "undefined"]

#: The allowed values of ``RFPulse.use``.
RF_USES: tuple[str, ...] = ("excitation", "refocusing", "inversion", "saturation", "undefined")


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
        b1 = as_1d_complex(self.b1_t, "RFPulse.b1_t", "T")
        b1.setflags(write=False)
        object.__setattr__(self, "b1_t", b1)
        raster = positive(self.raster_s, "RFPulse.raster_s", "s")
        object.__setattr__(self, "raster_s", raster)
        duration = b1.size * raster
        center = finite(self.center_s, "RFPulse.center_s", "s")
        if center < 0 or center > duration * (1 + 1e-12):
            raise RangeError(f"RFPulse.center_s = {center!r} s must lie within the pulse, 0..{duration!r} s")
        object.__setattr__(self, "center_s", min(center, duration))
        object.__setattr__(self, "freq_offset_hz", finite(self.freq_offset_hz, "RFPulse.freq_offset_hz", "Hz"))
        object.__setattr__(self, "phase_offset_rad", finite(self.phase_offset_rad, "RFPulse.phase_offset_rad", "rad"))
        object.__setattr__(self, "use", check_use(self.use))
        object.__setattr__(self, "delay_s", non_negative(self.delay_s, "RFPulse.delay_s", "s"))
        if self.bandwidth_hz is not None:
            object.__setattr__(self, "bandwidth_hz", positive(self.bandwidth_hz, "RFPulse.bandwidth_hz", "Hz"))

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
        # the flip is the on-resonance Bloch flip (equal to the area estimate only for pulses of constant
        # phase), so that the repr says what wavegen.design.bloch.flip_angle_rad says
        bw = f", bandwidth {self.bandwidth_hz:.6g} Hz" if self.bandwidth_hz is not None else ""
        off = f", offset {self.freq_offset_hz:.6g} Hz" if self.freq_offset_hz else ""
        return (
            f"RFPulse({self.use}, {self.n_samples} samples x {self.raster_s * 1e6:.6g} us = "
            f"{self.duration_s * 1e3:.6g} ms, peak {self.peak_b1_t * 1e6:.4g} uT, "
            f"flip {math.degrees(self.on_resonance_flip_rad()):.4g} deg (1H, on resonance){bw}{off})"
        )

    def on_resonance_flip_rad(self, gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T) -> float:
        """Flip angle from equilibrium on resonance, ``2*arcsin|beta|`` in [0, pi], rad.

        The exact rotation of the samples (Cayley-Klein product, Pauly et al., IEEE TMI 1991;10:53-65),
        without offsets or gradients: the same value as :func:`wavegen.design.bloch.flip_angle_rad` at
        zero off-resonance, computed here by a pairwise product in ``log2(n)`` vector steps.
        """
        gamma = positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
        phi = 2 * math.pi * gamma * np.abs(self.b1_t) * self.raster_s  # rotation of each sample, rad
        a = np.cos(phi / 2).astype(np.complex128)
        b = -1j * np.exp(1j * np.angle(self.b1_t)) * np.sin(phi / 2)
        while a.size > 1:  # U = U_n ... U_2 U_1: combine neighbours, later on the left
            if a.size % 2:
                a = np.append(a, 1.0 + 0j)
                b = np.append(b, 0j)
            a1, b1, a2, b2 = a[0::2], b[0::2], a[1::2], b[1::2]
            a, b = a2 * a1 - np.conj(b2) * b1, b2 * a1 + np.conj(a2) * b1
        return 2.0 * math.asin(min(1.0, float(abs(b[0]))))

    def replace(self, **changes: Any) -> RFPulse:
        """A copy with some fields changed (validated again)."""
        return _dc_replace(self, **changes)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """``|B1|`` (uT) and phase against time (ms), and the Bloch frequency profile (``|Mxy|`` and ``Mz``;
        ``Mz`` for inversion, ``|beta|^2`` for refocusing); see :func:`wavegen.report.figures.plot_rf_pulse`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from wavegen.report.figures import plot_rf_pulse

        return plot_rf_pulse(self, ax, **kwargs)

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
        gamma = positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
        return 2 * math.pi * gamma * abs(self.area_t_s)

    def modulated_b1_t(self) -> np.ndarray:
        """The transmitted field with the frequency and phase offsets applied, T (complex)."""
        if self.freq_offset_hz == 0.0 and self.phase_offset_rad == 0.0:
            return self.b1_t.copy()
        phase = self.phase_offset_rad + 2 * math.pi * self.freq_offset_hz * self.times_s
        return self.b1_t * np.exp(1j * phase)

    def scaled(self, factor: float) -> RFPulse:
        """The same pulse with every sample multiplied by the real ``factor``."""
        factor = finite(factor, "factor", "")
        return self.replace(b1_t=self.b1_t * factor)


# --- checks shared by the designers -----------------------------------------------------------------


def check_use(use: str) -> str:
    """``use`` if it is one of :data:`RF_USES`, else a :class:`~wavegen.errors.RangeError`."""
    return str(one_of(use, "use", RF_USES))


def check_max_b1(b1_t: np.ndarray, max_b1_t: float | None, what: str) -> None:
    """Raise :class:`~wavegen.errors.LimitError` if ``max|b1_t|`` exceeds ``max_b1_t`` (T)."""
    if max_b1_t is None:
        return
    peak = float(np.max(np.abs(b1_t)))
    if peak > max_b1_t * (1 + 1e-12):
        i = int(np.argmax(np.abs(b1_t)))
        raise LimitError(
            f"{what} needs a peak B1 of {peak * 1e6:.4g} uT (sample {i}) but the limit is "
            f"{max_b1_t * 1e6:.4g} uT; lengthen the pulse, lower the flip angle or use VERSE"
        )


def check_flip_angle(flip_angle_rad: Any) -> float:
    """``flip_angle_rad`` as a finite float > 0 rad."""
    return positive(flip_angle_rad, "flip_angle_rad", "rad")


def resolve_gamma(gamma_hz_per_t: float | None, limits: SystemLimits | None) -> float:
    """The gyromagnetic ratio to use, Hz/T: ``gamma_hz_per_t`` if given, else the limits', else 1H's."""
    if gamma_hz_per_t is not None:
        return positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    return limits.gamma_hz_per_t if limits is not None else GAMMA_1H_HZ_PER_T


def rf_settings(
    limits: SystemLimits | None, raster_s: float | None, gamma_hz_per_t: float | None, max_b1_t: float | None
) -> tuple[float, float, float | None]:
    """``(raster_s, gamma_hz_per_t, max_b1_t)`` of a design: the explicit values, else the limits'
    (default :class:`~wavegen.limits.SystemLimits()`)."""
    lim = limits if limits is not None else SystemLimits()
    raster = positive(raster_s, "raster_s", "s") if raster_s is not None else lim.rf_raster_s
    gamma = resolve_gamma(gamma_hz_per_t, lim)
    mb = positive(max_b1_t, "max_b1_t", "T") if max_b1_t is not None else lim.max_b1_t
    return raster, gamma, mb


def rf_sample_count(duration_s: Any, raster_s: float, name: str = "duration_s") -> int:
    """Number of RF raster samples in ``duration_s``, a whole number of rasters and at most
    :data:`~wavegen.design.bounds.MAX_DESIGN_SAMPLES` (refused before anything is allocated).

    Raises
    ------
    RasterError
        ``duration_s`` is not a whole number of ``raster_s``.
    RangeError
        ``duration_s`` is not finite and > 0, or needs more than ``MAX_DESIGN_SAMPLES`` samples.
    """
    return raster_count(duration_s, raster_s, name, max_count=MAX_DESIGN_SAMPLES, what="RF raster")


def build_pulse(
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
    """The :class:`RFPulse` of designed samples ``b1`` (T) after the peak-B1 check
    (:func:`check_max_b1`, ``what`` names the design in its message)."""
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
