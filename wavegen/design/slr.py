"""Shinnar-Le Roux (SLR) pulse design (Pauly, Le Roux, Nishimura & Macovski, IEEE TMI 1991;10(1):53-65).

The SLR transform maps an RF pulse of ``N`` hard-pulse steps to two polynomials ``A`` and ``B`` of
degree ``N-1`` (the Cayley-Klein parameters as functions of ``exp(i*omega)``, ``omega`` the gradient
rotation per step). The profile of each pulse type is a function of ``B`` alone:

====================  =======================  ==============================================
type                  profile                  ripple relations (Pauly 1991, Table I)
====================  =======================  ==============================================
``small_tip``         ``Mxy ~ 2B``             ``d1, d2`` unchanged
``excitation``        ``Mxy = 2 conj(A) B``    ``d1 -> sqrt(d1/2)``, ``d2 -> d2/sqrt(2)``
``refocusing``        ``B^2`` (spin echo)      ``d1 -> d1/4``, ``d2 -> sqrt(d2)``
``inversion``         ``Mz = 1 - 2|B|^2``      ``d1 -> d1/8``, ``d2 -> sqrt(d2/2)``
``saturation``        ``Mz = 1 - 2|B|^2``      ``d1 -> d1/2``, ``d2 -> sqrt(d2)``
====================  =======================  ==============================================

The design is: ripples of the profile -> ripples of ``B`` -> an FIR filter (least squares,
:func:`scipy.signal.firls`, or Parks-McClellan equiripple, :func:`scipy.signal.remez`) of time-bandwidth
``tb`` with transition width ``D_inf(d1, d2)/tb`` (Pauly's fitted ``D_inf``) -> scaled by
``sin(flip/2)`` -> ``A`` as the minimum-phase polynomial with ``|A|^2 = 1 - |B|^2`` (cepstrum) -> the
inverse SLR transform (peeling one hard pulse per step) -> B1 in tesla on the RF raster.

Minimum-phase ``B`` is Pauly's (1991, sec. III-C; his rf_tools ``dzmp``/``fmp``/``b2a``, which SigPy
ports as ``dzrf(..., "min")``): ``|B|^2`` is designed as a linear-phase Parks-McClellan filter of
length ``2N-1`` with ripples ``(2 d1, d2^2/2)`` and half the transition width
(``D_inf(2 d1, d2^2/2)/2``; least squares with ``filter_type="ls"``), lifted by its most negative
value to be non-negative, and factored to minimum phase: the lifted response's zeros inside the unit circle (one
of each double zero on it) are those of ``B`` (Herrmann & Schuessler, Electron. Lett. 6:329-330,
1970), found here without roots by the homomorphic (cepstral) method on a 128-fold oversampled grid
(Oppenheim & Schafer, *Discrete-Time Signal Processing*, ch. 13). Maximum phase is its time reverse.
The passband of ``|B|^2`` is left at ``1 + lift`` as in the reference, and for a 180 deg design,
whose ``|B|`` then passes 1, ``A`` is formed from ``B`` scaled to a peak just under 1 while the
inverse transform peels the unscaled ``B`` (Pauly's ``b2a``/``ab2rf``). Over issue 16's grid (four
types, tb 2-16, ripples 0.001-0.05) the profiles are the reference's to 2e-3 and their ripples
within 1.5 % of its (tests/test_slr_sigpy.py, bench/slr_accuracy.py). A minimum-phase excitation
pulse ends shortly after its effective rotation point (short isodelay, small rephaser): its
``center_s`` lies later than the linear-phase pulse's ``T/2``.

Rasters. The filter and the inverse transform run on ``min(N, max(256, 8*tb))`` hard-pulse steps
(at least 32 steps per time-bandwidth unit, where the hard-pulse approximation error is far below the
ripples); a finer RF raster is filled by re-binning: a cubic spline through the cumulative rotation
at the design's step edges, differenced on the raster's edges. The total rotation is unchanged and
the profile is the design's (tests: 2560 samples meet the same figures as 256).

The pulse's ``center_s`` is the isodelay point. For small-tip and excitation pulses it is measured
by Bloch simulation from the slope of the phase of ``Mxy`` across the passband (for a linear-phase
90 degree pulse it lies about 1 % of ``T`` before ``T/2``: large flips shift it); for the other types,
whose profiles do not depend on it, it is ``T/2``.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import firls, remez

from wavegen._backend import NATIVE, ffi, lib
from wavegen.design.pulse import RFPulse, build_pulse, check_flip_angle, rf_sample_count, rf_settings
from wavegen.errors import DesignError, NonFiniteError, RangeError
from wavegen.limits import GAMMA_1H_HZ_PER_T, SystemLimits
from wavegen.validate import finite, in_range, integer, positive

__all__ = [
    "SLR_PULSE_TYPES",
    "MAX_SLR_TIME_BW",
    "MAX_SLR_STEPS",
    "slr_pulse",
    "slr_beta",
    "slr_ripples",
    "dinf",
    "beta_to_alpha",
    "inverse_slr",
    "inverse_slr_reference",
    "forward_slr",
    "isodelay_center_s",
    "slr_band_edges",
    "slr_profile",
    "slr_profile_ripples",
]

logger = logging.getLogger(__name__)

PulseType = Literal["small_tip", "excitation", "refocusing", "inversion", "saturation"]
PhaseType = Literal["linear", "minimum", "maximum"]
FilterType = Literal["pm", "ls"]

#: SLR pulse types, and the ``RFPulse.use`` each one gets.
SLR_PULSE_TYPES: dict[str, str] = {
    "small_tip": "excitation",
    "excitation": "excitation",
    "refocusing": "refocusing",
    "inversion": "inversion",
    "saturation": "saturation",
}


#: Largest time-bandwidth product :func:`slr_pulse` and :func:`slr_beta` accept. SLR pulses in MRI use
#: about 2-20 (Pauly et al. 1991; Bernstein et al. 2004, sec. 2.3); the filter design costs grow with
#: the square of the number of taps (about 8 per unit of TBW), and at 200 a minimum-phase
#: least-squares design already takes over a second.
MAX_SLR_TIME_BW = 200.0

#: Largest number of hard-pulse steps (filter taps) :func:`slr_beta` designs (4096 minimum-phase taps
#: took 4 s); :func:`slr_pulse` designs on at most ``8 * MAX_SLR_TIME_BW`` steps and re-bins.
MAX_SLR_STEPS = 2048


def dinf(d1: float, d2: float) -> float:
    """Pauly's fitted ``D_inf(d1, d2)``: time-bandwidth of the transition band of an optimal FIR filter.

    ``D_inf = (a1 l1^2 + a2 l1 + a3) l2 + (a4 l1^2 + a5 l1 + a6)``, ``l = log10(d)``, with
    ``a = (5.309e-3, 7.114e-2, -4.761e-1, -2.66e-3, -5.941e-1, -4.278e-1)`` (Pauly 1991, eq. 28).
    ``dinf(0.01, 0.01) = 1.944048``.
    """
    l1 = math.log10(d1)
    l2 = math.log10(d2)
    return (5.309e-3 * l1 * l1 + 7.114e-2 * l1 - 4.761e-1) * l2 + (-2.66e-3 * l1 * l1 - 5.941e-1 * l1 - 4.278e-1)


def slr_ripples(pulse_type: str, d1: float, d2: float) -> tuple[float, float]:
    """Ripples of the ``B`` polynomial that give profile ripples ``(d1, d2)`` (Pauly 1991, Table I)."""
    if pulse_type == "small_tip":
        return d1, d2
    if pulse_type == "excitation":
        return math.sqrt(d1 / 2), d2 / math.sqrt(2)
    if pulse_type == "refocusing":
        return d1 / 4, math.sqrt(d2)
    if pulse_type == "inversion":
        return d1 / 8, math.sqrt(d2 / 2)
    if pulse_type == "saturation":
        return d1 / 2, math.sqrt(d2)
    raise RangeError(f"pulse_type = {pulse_type!r} is not one of {', '.join(SLR_PULSE_TYPES)}")


def _linear_phase(
    n: int,
    tb: float,
    d1: float,
    d2: float,
    ftype: str,
    half_width: float,
    n_pulse: int,
    grid_density: int | None = None,
) -> np.ndarray:
    """Linear-phase low-pass FIR of ``n`` taps, passband gain 1, band edges ``(1 -+ w) tb/2`` cycles
    per pulse of ``n_pulse`` samples, ``w = half_width / tb``.

    ``grid_density`` is that of :func:`scipy.signal.remez` (default: 8 from 128 taps, else 16)."""
    w = half_width / tb
    fp = (1 - w) * tb / n_pulse  # normalised to Nyquist = 1 (cycles/pulse / (n_pulse/2))
    fs = (1 + w) * tb / n_pulse
    if not 0 < fp < fs < 1:
        raise DesignError(
            f"time-bandwidth {tb!r} with transition {half_width * 2:.3g} does not fit in {n} samples; "
            "use more samples or a smaller time-bandwidth product"
        )
    bands = [0.0, fp, fs, 1.0]
    weight = [1.0, d1 / d2]
    if ftype == "ls":
        if n % 2:
            return _firls_lowpass(n, fp, fs, weight[1])
        # an odd length is needed: design n+1 taps, then move the centre by half a sample with
        # band-limited (frequency-domain) interpolation, which leaves the response unchanged in band
        h = _firls_lowpass(n + 1, fp, fs, weight[1])
        m = 1 << int(math.ceil(math.log2(8 * n)))
        hf = np.fft.rfft(h, m)
        k = np.arange(hf.size)
        shifted = np.fft.irfft(hf * np.exp(1j * np.pi * k / m), m)  # advance by half a sample
        return np.asarray(shifted[:n], dtype=np.float64)
    if ftype == "pm":
        try:
            # grid density 8 instead of scipy's 16 for linear phase: the same filter to ~1 % of its ripple,
            # twice as fast (the minimum-phase design asks for 16: see _minimum_phase_beta)
            if grid_density is None:
                grid_density = 8 if n >= 128 else 16
            h = remez(n, bands, [1, 0], weight=weight, fs=2.0, grid_density=grid_density)
            return np.asarray(h, dtype=np.float64)
        except ValueError as exc:  # pragma: no cover - scipy's own failure
            raise DesignError(f"Parks-McClellan design failed ({exc}); try filter_type='ls'") from exc
    raise RangeError(f"filter_type = {ftype!r} is not 'pm' or 'ls'")


def _band_integrals(m: np.ndarray, w1: float, w2: float) -> np.ndarray:
    """``integral_{w1}^{w2} cos(m w) dw`` for integer ``m``."""
    out = np.empty(m.shape)
    z = m == 0
    out[z] = w2 - w1
    mm = m[~z].astype(np.float64)
    out[~z] = (np.sin(mm * w2) - np.sin(mm * w1)) / mm
    return out


def _firls_lowpass(n: int, fp: float, fs: float, stop_weight: float) -> np.ndarray:
    """Least-squares linear-phase low-pass FIR, odd length ``n`` (same result as
    ``scipy.signal.firls(n, [0, fp, fs, 1], [1, 1, 0, 0], weight=[1, stop_weight])``).

    The normal equations of the cosine coefficients (Toeplitz plus Hankel, closed-form integrals;
    Parks & Burrus, *Digital Filter Design*, 1987, ch. 3) are solved by the C Cholesky kernel when
    the extension is built (no multi-threaded LAPACK call: it stalls on loaded machines); without the
    kernel, or when the system is too ill-conditioned for it (very long filters), by
    :func:`scipy.signal.firls` itself.
    """
    m_half = (n - 1) // 2
    wp, ws = math.pi * fp, math.pi * fs
    d = np.arange(-m_half, m_half + 1)  # k - l
    s = np.arange(0, 2 * m_half + 1)  # k + l

    def band_sum(m: np.ndarray) -> np.ndarray:
        return _band_integrals(m, 0.0, wp) + stop_weight * _band_integrals(m, ws, math.pi)

    td = band_sum(d)
    ts = band_sum(s)
    k = np.arange(m_half + 1)
    q = 0.5 * (td[(k[:, None] - k[None, :]) + m_half] + ts[k[:, None] + k[None, :]])
    rhs = _band_integrals(k, 0.0, wp)
    if bool(NATIVE) and hasattr(lib, "wg_spd_solve"):
        qc = np.array(q, order="C", copy=True)  # overwritten by the Cholesky factor
        x = rhs.copy()
        ok = lib.wg_spd_solve(m_half + 1, ffi.cast("double *", qc.ctypes.data), ffi.cast("double *", x.ctypes.data))
        # accept only a solution that really solves the system (ill-conditioned for long filters)
        if ok == 0 and np.all(np.isfinite(x)):
            res = float(np.max(np.abs((q * x[None, :]).sum(axis=1) - rhs)))  # no BLAS
            if res <= 1e-9 * float(np.max(np.abs(rhs))):
                return np.concatenate([x[:0:-1] / 2, [x[0]], x[1:] / 2])
    return np.asarray(firls(n, [0.0, fp, fs, 1.0], [1, 1, 0, 0], weight=[1.0, stop_weight]), dtype=np.float64)


def _min_phase_from_magnitude(mag: np.ndarray, n: int) -> np.ndarray:
    """First ``n`` taps of the minimum-phase sequence with FFT magnitude ``mag`` (length m, even).

    Homomorphic (cepstral) method (Oppenheim & Schafer, *Discrete-Time Signal Processing*, sec. 13.9).
    """
    m = mag.size
    cep = np.fft.ifft(np.log(np.maximum(mag, 1e-12 * float(np.max(mag))))).real
    fold = np.zeros(m)
    fold[0] = cep[0]
    fold[1 : m // 2] = 2 * cep[1 : m // 2]
    fold[m // 2] = cep[m // 2]
    return np.asarray(np.fft.ifft(np.exp(np.fft.fft(fold)))[:n])


def _grid(n: int) -> int:
    return 1 << int(math.ceil(math.log2(max(64, 16 * n))))


#: floor of |A|^2 where |B| reaches 1 (180 deg passbands): keeps the cepstrum and the peeling stable
_A_FLOOR = 1e-8

#: ``B`` is divided by ``peak + _B_PEAK_MARGIN`` before ``|A|`` is formed when its peak reaches 1,
#: as in Pauly's ``b2a`` (rf_tools; SigPy's ``b2a``): ``|A|^2`` then stays >= ~2e-7 at the peak.
_B_PEAK_MARGIN = 1e-7


def beta_to_alpha(b: Any) -> np.ndarray:
    """The minimum-phase ``A`` polynomial with ``|A|^2 + |B|^2 = 1`` on the unit circle (Pauly 1991).

    Where ``|B|`` reaches 1 on the unit circle (the passband of a minimum-phase 180 deg design lies up
    to ``2 d1 + d2^2/2`` above 1 in ``|B|^2``), ``|A|`` is formed from ``B / (max|B| + 1e-7)``, as
    Pauly's ``b2a`` does; the inverse transform then peels the unscaled ``B`` (module docstring).
    """
    b = np.asarray(b, dtype=np.complex128)
    n = b.size
    m = _grid(n)
    bf = np.abs(np.fft.fft(b, m))
    peak = float(np.max(bf))
    if peak >= 1.0:
        bf = bf / (peak + _B_PEAK_MARGIN)
    mag = np.sqrt(np.maximum(1.0 - bf**2, _A_FLOOR))
    return _min_phase_from_magnitude(mag, n)


#: Oversampling of the spectral factorisation of a minimum-phase design: the squared response is
#: factored on ``_MP_OVERSAMPLING`` times the next power of two above its ``2n - 1`` taps, as Pauly's
#: ``fmp`` does. The factor's stopband zeros lie on the unit circle, so the log-magnitude has deep,
#: narrow dips whose cepstrum decays slowly, and aliasing it shows: on a 16-fold grid (all else as
#: here) ripples reached 1.3x the reference's over issue 16's grid; on this one they are within 1.5 %.
_MP_OVERSAMPLING = 128

#: The squared response is lifted by ``(1 + _MP_LIFT_MARGIN)`` times its most negative value (Pauly's
#: ``fmp``): non-negative, with its stopband minima just above zero.
_MP_LIFT_MARGIN = 1e-6


def _minimum_phase_beta(n: int, tb: float, d1: float, d2: float, ftype: str) -> np.ndarray:
    """Minimum-phase ``B`` (``n`` real taps, passband ~1) with ripples ``(d1, d2)`` of ``|B|``.

    Pauly 1991, sec. III-C (and Pauly's rf_tools ``dzmp``/``fmp``, SigPy's port): ``|B|^2`` is a
    linear-phase filter ``H`` of ``2n - 1`` taps with passband ripple ``2 d1`` and stopband ripple
    ``d2^2/2`` and transition half-width ``D_inf(2 d1, d2^2/2) / 2`` (half that of a linear-phase
    filter of the same length, because the factor has half the taps). ``H`` is lifted to be
    non-negative, ``|B| = sqrt(H + lift)``, and ``B`` is its minimum-phase spectral factor by the
    homomorphic (cepstral) method (Oppenheim & Schafer, sec. 13.9; the same result as keeping the
    roots of ``H + lift`` inside the unit circle, Herrmann & Schuessler 1970, without root finding).
    The passband of ``|B|^2`` is ``1 + lift`` (lift about ``d2^2/2``), as in the reference: it is not
    renormalised, so that the pulses are the reference's.
    """
    d1l, d2l = 2 * d1, d2 * d2 / 2
    n2 = 2 * n - 1
    # Parks-McClellan at scipy's default grid density: on a grid of 8 the stopband of H came out 15 %
    # above d2l (tb 8), the lift carries that into the factor, and profiles differed from the
    # reference's by up to 0.013
    h = _linear_phase(n2, tb, d1l, d2l, ftype, 0.5 * dinf(d1l, d2l), n, grid_density=16)
    m = _MP_OVERSAMPLING * (1 << int(math.ceil(math.log2(n2))))
    hf = np.fft.rfft(h, m)
    k = np.arange(hf.size)
    real_resp = (hf * np.exp(2j * np.pi * k * (n - 1) / m)).real  # the zero-phase response (delay n-1 removed)
    lift = max(-float(np.min(real_resp)), 0.0) * (1 + _MP_LIFT_MARGIN)
    mag = np.sqrt(np.maximum(real_resp + lift, 0.0))
    return _real_min_phase_from_half_magnitude(mag, m, n)


def _real_min_phase_from_half_magnitude(mag_half: np.ndarray, m: int, n: int) -> np.ndarray:
    """First ``n`` taps of the real minimum-phase sequence whose ``m``-point FFT magnitude is even
    and given on ``0..m/2`` (``mag_half``, ``m/2 + 1`` values).

    :func:`_min_phase_from_magnitude` with real transforms: the real cepstrum of an even magnitude is
    real and even, the folded (causal) cepstrum real, and the exponential of its Hermitian spectrum
    Hermitian, so the sequence is real; two real FFTs instead of four complex ones.
    """
    floor = 1e-12 * float(np.max(mag_half))
    cep = np.fft.irfft(np.log(np.maximum(mag_half, floor)), m)
    fold = np.zeros(m)
    fold[0] = cep[0]
    fold[1 : m // 2] = 2 * cep[1 : m // 2]
    fold[m // 2] = cep[m // 2]
    return np.asarray(np.fft.irfft(np.exp(np.fft.rfft(fold)), m)[:n], dtype=np.float64)


def slr_beta(
    n: int,
    time_bw_product: float,
    *,
    pulse_type: PulseType = "excitation",
    phase: PhaseType = "linear",
    filter_type: FilterType = "pm",
    passband_ripple: float = 0.01,
    stopband_ripple: float = 0.01,
    flip_angle_rad: float | None = None,
) -> np.ndarray:
    """The SLR ``B`` polynomial (``n`` coefficients) for a pulse type, phase and ripple specification.

    ``flip_angle_rad`` defaults to pi/2 for excitation and saturation, pi for refocusing and
    inversion, and must be given for ``small_tip``. The ripple relations are Pauly's for the nominal
    flips; for other flips they remain a good guide.

    A linear-phase ``B`` is scaled so that ``|B| <= 1`` on the unit circle. A minimum- or
    maximum-phase ``B`` is the reference design's (:func:`_minimum_phase_beta`) times
    ``sin(flip/2)``, unscaled: for 180 deg its passband ``|B|`` reaches up to about
    ``sqrt(1 + 2 d1 + d2^2/2)`` (``d1, d2`` of ``B``), and :func:`beta_to_alpha` forms ``A`` from
    ``B`` scaled to a peak just under 1, as in the reference.
    """
    n = integer(n, "n", "samples", minimum=8, maximum=MAX_SLR_STEPS)
    tb = in_range(
        time_bw_product,
        "time_bw_product",
        low=0.0,
        high=MAX_SLR_TIME_BW,
        low_open=True,
        source="SLR filters beyond it take seconds to design; MRI pulses use about 2-20",
    )
    d1_in = positive(passband_ripple, "passband_ripple", "")
    d2_in = positive(stopband_ripple, "stopband_ripple", "")
    if d1_in >= 0.5 or d2_in >= 0.5:
        raise RangeError(f"ripples must be < 0.5, got passband {d1_in!r}, stopband {d2_in!r}")
    if pulse_type not in SLR_PULSE_TYPES:
        raise RangeError(f"pulse_type = {pulse_type!r} is not one of {', '.join(SLR_PULSE_TYPES)}")
    if phase not in ("linear", "minimum", "maximum"):
        raise RangeError(f"phase = {phase!r} is not 'linear', 'minimum' or 'maximum'")
    if flip_angle_rad is None:
        if pulse_type == "small_tip":
            raise RangeError("a small-tip SLR pulse needs flip_angle_rad")
        flip = math.pi if pulse_type in ("refocusing", "inversion") else math.pi / 2
    else:
        flip = check_flip_angle(flip_angle_rad)
        if flip > math.pi:
            raise RangeError(f"flip_angle_rad = {flip!r} rad must be <= pi for an SLR design")
    bsf = math.sin(flip / 2)
    d1, d2 = slr_ripples(pulse_type, d1_in, d2_in)
    if phase == "linear":
        b = _linear_phase(n, tb, d1, d2, filter_type, dinf(d1, d2), n) * bsf
        # |B| must not exceed 1 anywhere (|A|^2 = 1 - |B|^2); a 180 deg passband ripple above 1 is clipped
        peak = float(np.max(np.abs(np.fft.fft(b, _grid(n)))))
        if peak > 1.0:
            b = b / peak
    else:
        b = _minimum_phase_beta(n, tb, d1, d2, filter_type) * bsf
        if phase == "maximum":
            b = b[::-1].copy()
    return np.asarray(b, dtype=np.complex128)


def inverse_slr(a: Any, b: Any, *, backend: Literal["auto", "native", "numpy"] = "auto") -> np.ndarray:
    """Hard-pulse rotations (rad, complex ``theta * exp(i phi)``) from the SLR polynomials ``(A, B)``.

    The inverse SLR transform (Pauly 1991, eqs. 19-22): the last pulse follows from the leading
    coefficients, ``B_j[0]/A_j[0] = -i exp(i phi) tan(theta/2)``, and is peeled off; repeat. The
    rotation sense is that of :mod:`wavegen.design.bloch`. Runs in C (``native/slr.c``) when the
    extension is built, else in NumPy (:func:`inverse_slr_reference`).
    """
    a_poly = np.array(a, dtype=np.complex128).ravel()
    b_poly = np.array(b, dtype=np.complex128).ravel()
    n = b_poly.size
    if a_poly.size != n or n == 0:
        raise RangeError(f"A has {a_poly.size} coefficients and B {n}; they must match and be > 0")
    if not (np.all(np.isfinite(a_poly)) and np.all(np.isfinite(b_poly))):
        raise NonFiniteError("A and B must be finite")
    if a_poly[0] == 0:
        raise DesignError("A[0] = 0: (A, B) is not the SLR pair of a pulse (A must be minimum phase)")
    native = bool(NATIVE) and hasattr(lib, "wg_slr_peel")
    if backend == "native" and not native:
        raise RangeError("backend='native' asked for but the compiled SLR kernel is not available")
    if backend == "numpy" or not native:
        return inverse_slr_reference(a_poly, b_poly)
    ar, ai = a_poly.real.copy(), a_poly.imag.copy()
    br, bi = b_poly.real.copy(), b_poly.imag.copy()
    rr = np.empty(n)
    ri = np.empty(n)

    def ptr(x: np.ndarray) -> Any:
        return ffi.cast("double *", x.ctypes.data)

    lib.wg_slr_peel(n, ptr(ar), ptr(ai), ptr(br), ptr(bi), ptr(rr), ptr(ri))
    return rr + 1j * ri


def inverse_slr_reference(a: Any, b: Any) -> np.ndarray:
    """NumPy reference of :func:`inverse_slr` (same arithmetic)."""
    a_poly = np.array(a, dtype=np.complex128)
    b_poly = np.array(b, dtype=np.complex128)
    n = b_poly.size
    rf = np.empty(n, dtype=np.complex128)
    for j in range(n - 1, -1, -1):
        r = b_poly[0] / a_poly[0]
        ar = abs(r)
        c = 1.0 / math.sqrt(1.0 + ar * ar)
        rf[j] = (2.0 * math.atan(ar) / ar * 1j * r) if ar > 0 else 0.0
        if j == 0:
            break
        rc = r.conjugate()
        a_new = c * (a_poly[:j] + rc * b_poly[:j])
        b_poly = c * (b_poly[1:] - r * a_poly[1:])
        a_poly = a_new
    return rf


def forward_slr(rf_rad: Any) -> tuple[np.ndarray, np.ndarray]:
    """The SLR polynomials ``(A, B)`` of a sequence of hard-pulse rotations (rad, complex).

    Inverse of :func:`inverse_slr` (Pauly 1991, eq. 16).
    """
    rf = np.asarray(rf_rad, dtype=np.complex128)
    n = rf.size
    a_poly = np.zeros(n, dtype=np.complex128)
    b_poly = np.zeros(n, dtype=np.complex128)
    a_poly[0] = 1.0
    for j in range(n):
        th = abs(rf[j])
        c = math.cos(th / 2)
        s = (-1j * rf[j] / th * math.sin(th / 2)) if th > 0 else 0.0
        # A_j = c A - conj(s) z B ; B_j = s A + c z B  (z B: shift by one)
        zb = np.concatenate(([0.0], b_poly[:-1]))
        a_poly, b_poly = c * a_poly - np.conj(s) * zb, s * a_poly + c * zb
    return a_poly, b_poly


def isodelay_center_s(rf: RFPulse, *, gamma_hz_per_t: float, bandwidth_hz: float) -> float:
    """Effective rotation time of an excitation pulse, s, from the phase slope of its simulated
    ``Mxy`` across the inner half of the passband (``|f| <= bandwidth_hz/4``)."""
    from wavegen.design.bloch import simulate

    t = rf.duration_s
    g = 1e-3  # any gradient: positions scale with it
    f = np.linspace(-bandwidth_hz / 4, bandwidth_hz / 4, 33)
    x = f / (gamma_hz_per_t * g)
    mxy = simulate(rf.replace(freq_offset_hz=0.0), gradient_t_per_m=g, positions_m=x, gamma_hz_per_t=gamma_hz_per_t).mxy
    ph = np.unwrap(np.angle(mxy))
    fc = f - f.mean()
    # least-squares slope, rad/Hz = 2*pi*(T - t_c) (precession after the centre)
    slope = float(np.sum(fc * (ph - ph.mean())) / np.sum(fc * fc))
    center = t - slope / (2 * math.pi)
    return float(min(max(center, 0.0), t))


def slr_band_edges(
    pulse_type: str,
    passband_ripple: float,
    stopband_ripple: float,
    time_bw_product: float,
    phase: PhaseType = "linear",
) -> tuple[float, float]:
    """Passband and stopband edges of an SLR design, in cycles per pulse (``|x| = f T``).

    The passband is ``|x| <= (1 - w) tb/2`` and the stopband ``|x| >= (1 + w) tb/2``, with
    ``w = D_inf(d1, d2)/tb`` for linear phase and ``w = D_inf(2 d1, d2^2/2) / (2 tb)`` for minimum and
    maximum phase (``d1, d2`` the ripples of ``B``, :func:`slr_ripples`): the bands the filter is
    designed for (Pauly 1991, sec. III).
    """
    b1, b2 = slr_ripples(pulse_type, passband_ripple, stopband_ripple)
    if phase == "linear":
        w = dinf(b1, b2) / time_bw_product
    else:
        w = 0.5 * dinf(2 * b1, b2 * b2 / 2) / time_bw_product
    return (1 - w) * time_bw_product / 2, (1 + w) * time_bw_product / 2


def slr_profile(rf_rad: Any, pulse_type: str, x_cycles: Any) -> np.ndarray:
    """The profile an SLR pulse type is specified by, Bloch-simulated at ``x_cycles`` (cycles/pulse).

    ``rf_rad`` is the rotation per sample (complex, rad; the pulse under a constant gradient whose
    area over the pulse is one cycle per unit of ``x``). The profile is ``|Mxy|`` from equilibrium
    for ``small_tip`` and ``excitation``, the spin-echo efficiency ``|beta|^2`` for ``refocusing`` and
    ``Mz`` for ``inversion`` and ``saturation`` (Pauly 1991, Table I). Magnitudes and ``Mz`` do not
    depend on the direction of time or on conjugation, so pulses of either convention compare.
    """
    from wavegen.design.bloch import simulate_ab

    if pulse_type not in SLR_PULSE_TYPES:
        raise RangeError(f"pulse_type = {pulse_type!r} is not one of {', '.join(SLR_PULSE_TYPES)}")
    rf = np.asarray(rf_rad, dtype=np.complex128).ravel()
    dt = 1e-5  # any raster and gradient: the profile in cycles per pulse does not depend on them
    g = 1e-3
    gamma = GAMMA_1H_HZ_PER_T
    x = np.asarray(x_cycles, dtype=np.float64)
    a, b = simulate_ab(
        rf / (2 * math.pi * gamma * dt),
        dt,
        gradient_t_per_m=g,
        positions_m=x / (gamma * g * rf.size * dt),
        gamma_hz_per_t=gamma,
    )
    if pulse_type in ("small_tip", "excitation"):
        return np.asarray(np.abs(2 * np.conj(a) * b))
    if pulse_type == "refocusing":
        return np.asarray(np.abs(b) ** 2)
    return np.asarray(np.abs(a) ** 2 - np.abs(b) ** 2)


def slr_profile_ripples(
    profile: Any,
    x_cycles: Any,
    pulse_type: str,
    band_edges: tuple[float, float],
    flip_angle_rad: float,
) -> tuple[float, float]:
    """Largest deviations of a profile (:func:`slr_profile`) from its ideal in the pass- and stopband.

    The ideal passband value is ``sin(flip)`` for ``|Mxy|``, ``sin^2(flip/2)`` for ``|beta|^2`` and
    ``cos(flip)`` for ``Mz``; in the stopband it is 0 for ``|Mxy|`` and ``|beta|^2`` and 1 for ``Mz``.
    """
    p = np.asarray(profile, dtype=np.float64)
    ax = np.abs(np.asarray(x_cycles, dtype=np.float64))
    pb = ax <= band_edges[0]
    sb = ax >= band_edges[1]
    if not (np.any(pb) and np.any(sb)):
        raise RangeError(f"x_cycles must reach into both bands (edges {band_edges[0]:.4g}, {band_edges[1]:.4g})")
    if pulse_type in ("small_tip", "excitation"):
        ideal = (math.sin(flip_angle_rad), 0.0)
    elif pulse_type == "refocusing":
        ideal = (math.sin(flip_angle_rad / 2) ** 2, 0.0)
    else:
        ideal = (math.cos(flip_angle_rad), 1.0)
    return float(np.max(np.abs(p[pb] - ideal[0]))), float(np.max(np.abs(p[sb] - ideal[1])))


#: Fewest hard-pulse steps an SLR design uses before re-binning onto the raster (slr_pulse).
_DESIGN_STEPS_FLOOR = 256


def _rebin(rf_rad: np.ndarray, n: int) -> np.ndarray:
    """``rf_rad`` (rotation per sample, m samples over the pulse) re-binned onto ``n`` samples.

    The cumulative rotation is interpolated by a cubic spline through the m+1 sample edges (exact
    there) and differenced on the ``n + 1`` new edges: smooth, and the total rotation is unchanged.
    """
    m = rf_rad.size
    cum = np.concatenate(([0.0], np.cumsum(rf_rad)))
    x_old = np.linspace(0.0, 1.0, m + 1)
    x_new = np.linspace(0.0, 1.0, n + 1)
    re = CubicSpline(x_old, cum.real)(x_new)
    im = CubicSpline(x_old, cum.imag)(x_new)
    return np.asarray(np.diff(re) + 1j * np.diff(im))


def slr_pulse(
    flip_angle_rad: float,
    duration_s: float,
    time_bw_product: float,
    *,
    pulse_type: PulseType = "excitation",
    phase: PhaseType = "linear",
    filter_type: FilterType = "pm",
    passband_ripple: float = 0.01,
    stopband_ripple: float = 0.01,
    limits: SystemLimits | None = None,
    raster_s: float | None = None,
    gamma_hz_per_t: float | None = None,
    max_b1_t: float | None = None,
    freq_offset_hz: float = 0.0,
    phase_offset_rad: float = 0.0,
    delay_s: float = 0.0,
) -> RFPulse:
    """An SLR pulse in tesla (Pauly et al. 1991).

    Parameters
    ----------
    flip_angle_rad
        Flip angle, rad, in (0, pi] (the nominal one for the profile's passband).
    duration_s
        Duration ``T``, s, a whole number of RF rasters (the number of samples is ``T/raster``).
    time_bw_product
        ``T * BW``; the profile's full width is ``BW`` Hz (``bandwidth_hz`` of the result).
    pulse_type
        ``"small_tip"``, ``"excitation"``, ``"refocusing"`` (spin echo), ``"inversion"``,
        ``"saturation"``.
    phase
        ``"linear"``, ``"minimum"`` or ``"maximum"``.
    filter_type
        ``"pm"`` (Parks-McClellan, equiripple) or ``"ls"`` (least squares).
    passband_ripple, stopband_ripple
        Ripples ``d1``, ``d2`` of the *profile* (``|Mxy|``, ``|beta|^2`` or ``Mz``).
    limits, raster_s, gamma_hz_per_t, max_b1_t, freq_offset_hz, phase_offset_rad, delay_s
        As for :func:`wavegen.design.rf.block_pulse`; exceeding the peak B1 raises
        :class:`~wavegen.errors.LimitError`.

    Examples
    --------
    >>> rf = slr_pulse(math.pi / 2, 2.56e-3, 8, limits=SystemLimits(rf_raster_s=10e-6))
    >>> rf.n_samples, round(rf.bandwidth_hz)
    (256, 3125)
    """
    flip = check_flip_angle(flip_angle_rad)
    raster, gamma, mb = rf_settings(limits, raster_s, gamma_hz_per_t, max_b1_t)
    n = rf_sample_count(duration_s, raster)
    tb = in_range(
        time_bw_product,
        "time_bw_product",
        low=0.0,
        high=MAX_SLR_TIME_BW,
        low_open=True,
        source="SLR filters beyond it take seconds to design; MRI pulses use about 2-20",
    )
    # Long rasters (e.g. 3000 samples of 1 us) add nothing to the profile, which depends on tb and the
    # ripples only, but cost time and make the Parks-McClellan exchange fail to converge: design on
    # min(n, max(256, 8*tb)) hard-pulse steps, then re-bin onto the raster (module docstring).
    n_design = min(n, max(_DESIGN_STEPS_FLOOR, int(math.ceil(8 * tb))))
    b = slr_beta(
        n_design,
        tb,
        pulse_type=pulse_type,
        phase=phase,
        filter_type=filter_type,
        passband_ripple=passband_ripple,
        stopband_ripple=stopband_ripple,
        flip_angle_rad=flip,
    )
    a = beta_to_alpha(b)
    rf_rad = inverse_slr(a, b)
    if n_design != n:
        rf_rad = _rebin(rf_rad, n)
    b1 = rf_rad / (2 * math.pi * gamma * raster)
    duration = n * raster
    bw = tb / duration
    what = (
        f"a {math.degrees(flip):.4g} deg {phase}-phase SLR {pulse_type} pulse (T = {duration * 1e6:.6g} us, TBW {tb:g})"
    )
    pulse = build_pulse(
        b1,
        raster,
        duration / 2,
        max_b1=mb,
        what=what,
        freq_offset_hz=finite(freq_offset_hz, "freq_offset_hz", "Hz"),
        phase_offset_rad=phase_offset_rad,
        use=SLR_PULSE_TYPES[pulse_type],
        delay_s=delay_s,
        bandwidth_hz=bw,
    )
    if pulse_type in ("small_tip", "excitation"):
        pulse = pulse.replace(center_s=isodelay_center_s(pulse, gamma_hz_per_t=gamma, bandwidth_hz=bw))
    return pulse
