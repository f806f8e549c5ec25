"""Bloch simulation of RF pulses, vectorised over positions and off-resonance, and profile metrics.

Physics. In the frame rotating at the Larmor frequency the field of step ``k`` (one RF raster period
``dt``) is constant: ``B = (Re b1, Im b1, G.r + df/gamma)`` with ``b1`` the complex RF sample (the
complex baseband envelope), ``G`` the gradient, ``r`` the position and ``df`` the off-resonance in Hz.
Each step is the *exact* rotation about that field by ``|w|``, ``w = 2*pi*gamma*B*dt`` (simultaneous
RF and gradient, not the hard-pulse approximation), written as Cayley-Klein parameters (Pauly,
Le Roux, Nishimura & Macovski, IEEE TMI 1991;10(1):53-65):

    alpha_k = cos(|w|/2) - i w_z sin(|w|/2)/|w|,   beta_k = -i (w_x + i w_y) sin(|w|/2)/|w|.

The sense of rotation is the baseband convention of Pulseq and of SigPy's ``abrm`` (same alpha and
beta for the same rotation in radians): free precession turns ``Mxy`` as ``exp(+2j*pi*df*t)``, so an
envelope ``exp(+2j*pi*f*t)`` is resonant with spins at ``df = +f``, and a pulse with
``freq_offset_hz = gamma*G*z0`` excites the slice at ``z0``; a real positive ``b1`` tips ``+z``
towards ``-y`` (``Mxy = -i sin(flip)``).

combined as ``alpha <- alpha_k alpha - conj(beta_k) beta``, ``beta <- beta_k alpha + conj(alpha_k) beta``.
From equilibrium ``M = (0, 0, 1)``: ``Mxy = 2 conj(alpha) beta``, ``Mz = |alpha|^2 - |beta|^2``; a
crushed spin echo refocuses ``beta^2`` (efficiency ``|beta|^2``). A hard pulse therefore gives
``Mz = 1 - 2 (w1/W)^2 sin^2(W T/2)``, ``W = sqrt(w1^2 + dw^2)``, to rounding.

With T1/T2 relaxation the rotation of each step is applied to the magnetisation vector, followed by
the exact relaxation over ``dt`` (first-order splitting); alpha and beta are then not defined.

Speed. Without relaxation the product runs in a C kernel (``native/bloch.c``; spins in L1-sized
blocks, SIMD over spins, Taylor series for the small per-step angles) when the extension is built, and
in NumPy otherwise (a time loop over the spin vector for many spins; for few spins all per-step
rotations at once, combined by a log-depth pairwise product tree). They agree to ~1e-13 (tests).

Frequency and phase offsets of an :class:`~wavegen.design.pulse.RFPulse` are honoured through
:meth:`RFPulse.modulated_b1_t`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from wavegen._backend import NATIVE, ffi, lib
from wavegen.errors import RangeError, ShapeError
from wavegen.limits import GAMMA_1H_HZ_PER_T
from wavegen.validate import as_1d_complex, as_float_array, finite, positive

__all__ = [
    "BlochResult",
    "ProfileMetrics",
    "simulate",
    "simulate_ab",
    "flip_angle_rad",
    "profile_metrics",
]

if TYPE_CHECKING:  # read by duck typing at run time: RFPulse.plot simulates through this module
    from wavegen.design.pulse import RFPulse

logger = logging.getLogger(__name__)

Backend = Literal["auto", "native", "numpy"]


# --- input preparation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    wx: np.ndarray  # (N,) rad per step
    wy: np.ndarray
    g: np.ndarray  # (N, k) rad per step per metre
    r: np.ndarray  # (k, S) m
    off: np.ndarray  # (S,) rad per step
    out_shape: tuple[int, ...]
    dt: float


def _prepare(
    rf: RFPulse | Any,
    raster_s: float | None,
    gradient_t_per_m: Any,
    positions_m: Any,
    off_resonance_hz: Any,
    gamma_hz_per_t: float,
) -> _Problem:
    gamma = positive(gamma_hz_per_t, "gamma_hz_per_t", "Hz/T")
    if hasattr(rf, "modulated_b1_t") and hasattr(rf, "raster_s"):  # an RFPulse
        b1 = rf.modulated_b1_t()
        dt = rf.raster_s if raster_s is None else positive(raster_s, "raster_s", "s")
    else:
        b1 = as_1d_complex(rf, "b1_t")
        if raster_s is None:
            raise RangeError("raster_s (s) is required when b1_t is an array")
        dt = positive(raster_s, "raster_s", "s")
    n = b1.size
    scale = 2 * math.pi * gamma * dt
    w = b1 * scale
    # gradient -> (N, k)
    if gradient_t_per_m is None:
        g = np.zeros((n, 1))
    else:
        g = as_float_array(gradient_t_per_m, "gradient_t_per_m", "T/m", min_size=0)
        if g.ndim == 0:
            g = np.full((n, 1), float(g))
        elif g.ndim == 1:
            if g.size != n:
                raise ShapeError(
                    f"gradient_t_per_m has {g.size} samples but the RF has {n}; give the gradient on the RF raster"
                )
            g = g[:, None]
        elif g.ndim == 2:
            if g.shape[0] != n or not 1 <= g.shape[1] <= 3:
                raise ShapeError(f"gradient_t_per_m must have shape ({n}, 1..3), got {g.shape}")
        else:
            raise ShapeError(f"gradient_t_per_m must be a scalar, (N,) or (N, k), got shape {g.shape}")
    k = g.shape[1]
    # positions -> (k, P)
    if positions_m is None:
        r = np.zeros((k, 1))
    else:
        p = as_float_array(positions_m, "positions_m", "m", min_size=0)
        if p.ndim == 0:
            p = p.reshape(1)
        if p.ndim == 1:
            if k != 1:
                raise ShapeError(f"positions_m must have shape (P, {k}) for a {k}-axis gradient")
            r = p[None, :]
        elif p.ndim == 2 and p.shape[1] == k:
            r = p.T
        else:
            raise ShapeError(f"positions_m must have shape (P,) or (P, {k}), got {p.shape}")
        if r.shape[1] == 0:
            raise ShapeError("positions_m is empty")
    npos = r.shape[1]
    # off-resonance -> (F,)
    if off_resonance_hz is None:
        off = np.zeros(1)
        out_shape: tuple[int, ...] = (npos,)
    else:
        o = as_float_array(off_resonance_hz, "off_resonance_hz", "Hz", min_size=0)
        if o.ndim == 0:
            off = o.reshape(1)
            out_shape = (npos,)
        elif o.ndim == 1 and o.size > 0:
            off = o
            out_shape = (o.size, npos)
        else:
            raise ShapeError(f"off_resonance_hz must be a scalar or a non-empty 1-D array, got {o.shape}")
    nf = off.size
    r_full = np.ascontiguousarray(np.tile(r, (1, nf)))
    off_full = np.ascontiguousarray(np.repeat(off * (2 * math.pi * dt), npos))
    return _Problem(
        wx=np.ascontiguousarray(w.real),
        wy=np.ascontiguousarray(w.imag),
        g=np.ascontiguousarray(g * scale),
        r=r_full,
        off=off_full,
        out_shape=out_shape,
        dt=dt,
    )


# --- kernels ------------------------------------------------------------------------------------------


def _step_ck(wx: Any, wy: Any, wz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cayley-Klein parameters of the rotations ``w = (wx, wy, wz)`` (rad), broadcast."""
    nrm = np.sqrt(wx * wx + wy * wy + wz * wz)
    h = 0.5 * nrm
    c = np.cos(h)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(nrm > 0, np.sin(h) / np.where(nrm > 0, nrm, 1.0), 0.5)
    a = c - 1j * (wz * s)
    b = (wy * s) - 1j * (wx * s)
    return a, b


def _wz(g: np.ndarray, r: np.ndarray, off: np.ndarray) -> np.ndarray:
    """``g @ r + off`` for (n, k) x (k, s), k <= 3, element-wise (no BLAS threads for tiny k)."""
    wz = g[:, 0:1] * r[0][None, :] + off[None, :]
    for a in range(1, g.shape[1]):
        wz = wz + g[:, a : a + 1] * r[a][None, :]
    return wz


def _ck_numpy(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference: a time loop over long spin vectors, or the pairwise tree for few spins."""
    if p.off.size >= 128:
        return _ck_numpy_sequential(p)
    return _ck_numpy_tree(p)


def _ck_numpy_sequential(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """One vectorised step per RF sample (fastest in NumPy when there are many spins)."""
    s_total = p.off.size
    a = np.ones(s_total, dtype=np.complex128)
    b = np.zeros(s_total, dtype=np.complex128)
    xy2 = p.wx * p.wx + p.wy * p.wy
    for k in range(p.wx.size):
        wz = _wz(p.g[k : k + 1], p.r, p.off)[0]
        nrm = np.sqrt(xy2[k] + wz * wz)
        c = np.cos(0.5 * nrm)
        with np.errstate(invalid="ignore", divide="ignore"):
            sc = np.where(nrm > 0, np.sin(0.5 * nrm) / np.where(nrm > 0, nrm, 1.0), 0.5)
        ak = c - 1j * (wz * sc)
        bk = complex(p.wy[k], -p.wx[k]) * sc
        a, b = ak * a - np.conj(bk) * b, bk * a + np.conj(ak) * b
    return a, b


def _ck_numpy_tree(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """All per-step rotations at once, combined by a log-depth pairwise product tree."""
    n = p.wx.size
    s_total = p.off.size
    a_out = np.empty(s_total, dtype=np.complex128)
    b_out = np.empty(s_total, dtype=np.complex128)
    chunk = max(1, (1 << 21) // n)
    wx = p.wx[:, None]
    wy = p.wy[:, None]
    for s0 in range(0, s_total, chunk):
        sl = slice(s0, min(s_total, s0 + chunk))
        wz = _wz(p.g, p.r[:, sl], p.off[sl])
        a, b = _step_ck(wx, wy, wz)
        # log-depth pairwise product tree, time order preserved (later steps multiply from the left)
        while a.shape[0] > 1:
            if a.shape[0] % 2:
                a = np.concatenate([a, np.ones((1, a.shape[1]), dtype=a.dtype)])
                b = np.concatenate([b, np.zeros((1, b.shape[1]), dtype=b.dtype)])
            a1, a2 = a[0::2], a[1::2]
            b1, b2 = b[0::2], b[1::2]
            a, b = a2 * a1 - np.conj(b2) * b1, b2 * a1 + np.conj(a2) * b1
        a_out[sl] = a[0]
        b_out[sl] = b[0]
    return a_out, b_out


def _ck_native(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    n = p.wx.size
    s_total = p.off.size
    k = p.g.shape[1]
    ar = np.empty(s_total)
    ai = np.empty(s_total)
    br = np.empty(s_total)
    bi = np.empty(s_total)

    def ptr(x: np.ndarray) -> Any:
        return ffi.cast("double *", x.ctypes.data)

    lib.wg_bloch_ck(
        n,
        s_total,
        k,
        ptr(p.wx),
        ptr(p.wy),
        ptr(p.g),
        ptr(p.r),
        ptr(p.off),
        ptr(ar),
        ptr(ai),
        ptr(br),
        ptr(bi),
    )
    return ar + 1j * ai, br + 1j * bi


def _has_native() -> bool:
    return bool(NATIVE) and hasattr(lib, "wg_bloch_ck")


# --- public API ---------------------------------------------------------------------------------------


def simulate_ab(
    rf: RFPulse | Any,
    raster_s: float | None = None,
    *,
    gradient_t_per_m: Any = None,
    positions_m: Any = None,
    off_resonance_hz: Any = None,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
    backend: Backend = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Cayley-Klein parameters ``(alpha, beta)`` of an RF pulse at every position and off-resonance.

    Parameters
    ----------
    rf
        An :class:`~wavegen.design.pulse.RFPulse` (its raster and frequency/phase offsets are used) or
        complex B1 samples in tesla, shape ``(N,)``.
    raster_s
        RF sample period, s; required for an array, overrides the pulse's raster otherwise.
    gradient_t_per_m
        Gradient during each RF sample, T/m: ``None`` (none), a scalar (constant), ``(N,)`` (one axis)
        or ``(N, k)`` with ``k <= 3`` axes.
    positions_m
        Positions, m: ``(P,)`` for a one-axis gradient or ``(P, k)``. Default: one spin at 0.
    off_resonance_hz
        Off-resonance, Hz: a scalar (default 0) or ``(F,)``.
    gamma_hz_per_t
        Gyromagnetic ratio, Hz/T.
    backend
        ``"auto"`` (C kernel when built, else NumPy), ``"native"`` or ``"numpy"``.

    Returns
    -------
    alpha, beta
        Complex arrays of shape ``(P,)`` for a scalar off-resonance, ``(F, P)`` for an array.
    """
    p = _prepare(rf, raster_s, gradient_t_per_m, positions_m, off_resonance_hz, gamma_hz_per_t)
    if backend not in ("auto", "native", "numpy"):
        raise RangeError(f"backend = {backend!r} is not one of 'auto', 'native', 'numpy'")
    if backend == "native" and not _has_native():
        raise RangeError("backend='native' asked for but the compiled Bloch kernel is not available")
    if backend == "numpy" or not _has_native():
        a, b = _ck_numpy(p)
    else:
        a, b = _ck_native(p)
    return a.reshape(p.out_shape), b.reshape(p.out_shape)


@dataclass(frozen=True, eq=False)
class BlochResult:
    """Result of :func:`simulate`.

    Attributes
    ----------
    mxy
        Transverse magnetisation ``Mx + i My`` at the end of the pulse (complex), relative to ``M0``.
    mz
        Longitudinal magnetisation (real).
    alpha, beta
        Cayley-Klein parameters (complex), or ``None`` when relaxation was simulated.
    """

    mxy: np.ndarray
    mz: np.ndarray
    alpha: np.ndarray | None
    beta: np.ndarray | None

    def __repr__(self) -> str:
        # a summary, not the arrays: a result holds thousands of spins
        shape = "x".join(str(d) for d in self.mxy.shape) or "1"
        if self.mxy.size == 0:
            return f"BlochResult({shape} spins)"
        axy = np.abs(self.mxy)
        ck = "with" if self.beta is not None else "without (relaxation)"
        return (
            f"BlochResult({shape} spins, |Mxy| {float(np.min(axy)):.3g}..{float(np.max(axy)):.3g}, "
            f"Mz {float(np.min(self.mz)):.3g}..{float(np.max(self.mz)):.3g}, {ck} Cayley-Klein parameters)"
        )

    @property
    def spin_echo(self) -> np.ndarray:
        """``beta**2``: the transverse magnetisation a crushed spin echo refocuses (complex).

        Raises
        ------
        RangeError
            If the simulation included relaxation (no Cayley-Klein parameters).
        """
        if self.beta is None:
            raise RangeError("spin_echo needs the Cayley-Klein parameters; simulate without relaxation")
        return self.beta**2


def _rotate(a: np.ndarray, b: np.ndarray, mxy: np.ndarray, mz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply the spinor rotation (a, b) to magnetisation (Pauly et al. 1991, eqs. 12-13)."""
    ac = np.conj(a)
    new_xy = ac * ac * mxy - b * b * np.conj(mxy) + 2 * ac * b * mz
    new_z = (-(ac * np.conj(b) * mxy) - a * b * np.conj(mxy)).real + (a * ac - b * np.conj(b)).real * mz
    return new_xy, new_z


def simulate(
    rf: RFPulse | Any,
    raster_s: float | None = None,
    *,
    gradient_t_per_m: Any = None,
    positions_m: Any = None,
    off_resonance_hz: Any = None,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
    m0: tuple[float, float, float] = (0.0, 0.0, 1.0),
    t1_s: float | None = None,
    t2_s: float | None = None,
    backend: Backend = "auto",
) -> BlochResult:
    """Bloch-simulate an RF pulse; returns Mxy, Mz (and alpha, beta).

    Parameters are those of :func:`simulate_ab`, plus:

    m0
        Initial magnetisation ``(Mx, My, Mz)`` relative to equilibrium (default ``(0, 0, 1)``).
    t1_s, t2_s
        Relaxation times, s (both or neither; ``t2_s <= t1_s`` is not enforced). With relaxation the
        magnetisation recovers towards ``(0, 0, 1)``.
    """
    m = as_float_array(m0, "m0", "", min_size=0)
    if m.shape != (3,):
        raise ShapeError(f"m0 must be (Mx, My, Mz), got shape {m.shape}")
    if (t1_s is None) != (t2_s is None):
        raise RangeError("give both t1_s and t2_s, or neither")
    mxy0 = complex(m[0], m[1])
    mz0 = float(m[2])
    if t1_s is None:
        a, b = simulate_ab(
            rf,
            raster_s,
            gradient_t_per_m=gradient_t_per_m,
            positions_m=positions_m,
            off_resonance_hz=off_resonance_hz,
            gamma_hz_per_t=gamma_hz_per_t,
            backend=backend,
        )
        mxy, mz = _rotate(a, b, np.full(a.shape, mxy0), np.full(a.shape, mz0))
        return BlochResult(mxy=mxy, mz=mz, alpha=a, beta=b)
    t1 = positive(t1_s, "t1_s", "s")
    t2 = positive(t2_s, "t2_s", "s")
    p = _prepare(rf, raster_s, gradient_t_per_m, positions_m, off_resonance_hz, gamma_hz_per_t)
    e1 = math.exp(-p.dt / t1)
    e2 = math.exp(-p.dt / t2)
    s_total = p.off.size
    mxy = np.full(s_total, mxy0, dtype=np.complex128)
    mz = np.full(s_total, mz0)
    for k in range(p.wx.size):
        wz = _wz(p.g[k : k + 1], p.r, p.off)[0]
        a, b = _step_ck(np.float64(p.wx[k]), np.float64(p.wy[k]), wz)
        mxy, mz = _rotate(a, b, mxy, mz)
        mxy = mxy * e2
        mz = mz * e1 + (1.0 - e1)
    return BlochResult(mxy=mxy.reshape(p.out_shape), mz=mz.reshape(p.out_shape), alpha=None, beta=None)


def flip_angle_rad(
    rf: RFPulse | Any,
    raster_s: float | None = None,
    *,
    off_resonance_hz: float = 0.0,
    gamma_hz_per_t: float = GAMMA_1H_HZ_PER_T,
) -> float:
    """Flip angle of a pulse at one off-resonance from a Bloch simulation, ``2*arcsin|beta|``, rad.

    The result lies in [0, pi] (a rotation by ``2*pi - x`` cannot be told from one by ``x`` from
    equilibrium).
    """
    _, b = simulate_ab(
        rf,
        raster_s,
        off_resonance_hz=finite(off_resonance_hz, "off_resonance_hz", "Hz"),
        gamma_hz_per_t=gamma_hz_per_t,
    )
    return 2.0 * math.asin(min(1.0, float(abs(b[0]))))


# --- profile metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileMetrics:
    """Figures of a slice (or spectral) profile, in the units of its abscissa.

    Attributes
    ----------
    peak
        Largest profile value.
    center
        Midpoint of the half-maximum crossings.
    fwhm
        Full width at half maximum (between the outermost half-maximum crossings, interpolated).
    transition_width
        Largest 10 %-to-90 % (of ``peak``) rise or fall distance of the two edges.
    passband_min, passband_max
        Extremes inside the passband (NaN when no passband was given).
    passband_ripple
        ``(passband_max - passband_min) / 2`` (NaN when no passband was given).
    stopband_level
        Largest ``|profile|`` in the stopband (NaN when no stopband was given).
    """

    peak: float
    center: float
    fwhm: float
    transition_width: float
    passband_min: float
    passband_max: float
    passband_ripple: float
    stopband_level: float


def _crossing(x: np.ndarray, y: np.ndarray, i: int, level: float) -> float:
    """x where y crosses ``level`` between samples i and i+1 (linear interpolation)."""
    y0, y1 = y[i], y[i + 1]
    if y1 == y0:
        return float(x[i])
    return float(x[i] + (level - y0) * (x[i + 1] - x[i]) / (y1 - y0))


def _edge_positions(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float]:
    above = y >= level
    idx = np.flatnonzero(above)
    if idx.size == 0:
        return math.nan, math.nan
    i0, i1 = int(idx[0]), int(idx[-1])
    left = _crossing(x, y, i0 - 1, level) if i0 > 0 else float(x[0])
    right = _crossing(x, y, i1, level) if i1 < x.size - 1 else float(x[-1])
    return left, right


def profile_metrics(
    x: Any,
    profile: Any,
    *,
    passband: tuple[float, float] | None = None,
    stopband: tuple[float, float] | None = None,
) -> ProfileMetrics:
    """FWHM, passband ripple, stop-band level and transition width of a real profile.

    Parameters
    ----------
    x
        Strictly increasing abscissa (position in m, or frequency in Hz), ``(P,)``.
    profile
        Real profile values on ``x`` (e.g. ``|Mxy|``, ``|beta|**2`` or ``(1 - Mz)/2``), ``(P,)``;
        the passband is where it is high.
    passband
        ``(lo, hi)``: the passband is ``lo <= x <= hi``.
    stopband
        ``(lo, hi)``: the stopband is ``x <= lo`` or ``x >= hi`` (the inner edges of the stopband).
    """
    xa = as_float_array(x, "x", "", min_size=0)
    ya = as_float_array(profile, "profile", "", min_size=0)
    if xa.ndim != 1 or ya.shape != xa.shape or xa.size < 3:
        raise ShapeError(f"x and profile must be 1-D of equal length >= 3, got {xa.shape} and {ya.shape}")
    if np.any(np.diff(xa) <= 0):
        raise RangeError("x must be strictly increasing")
    peak = float(np.max(ya))
    l50, r50 = _edge_positions(xa, ya, 0.5 * peak)
    l10, r10 = _edge_positions(xa, ya, 0.1 * peak)
    l90, r90 = _edge_positions(xa, ya, 0.9 * peak)
    trans = max(l90 - l10, r10 - r90)
    nan = math.nan
    pmin = pmax = ripple = stop = nan
    if passband is not None:
        lo, hi = (finite(v, "passband edge", "") for v in passband)
        sel = (xa >= lo) & (xa <= hi)
        if not sel.any():
            raise RangeError(f"no sample of x lies in the passband [{lo}, {hi}]")
        pmin, pmax = float(np.min(ya[sel])), float(np.max(ya[sel]))
        ripple = 0.5 * (pmax - pmin)
    if stopband is not None:
        lo, hi = (finite(v, "stopband edge", "") for v in stopband)
        sel = (xa <= lo) | (xa >= hi)
        if not sel.any():
            raise RangeError(f"no sample of x lies in the stopband (x <= {lo} or x >= {hi})")
        stop = float(np.max(np.abs(ya[sel])))
    return ProfileMetrics(
        peak=peak,
        center=0.5 * (l50 + r50),
        fwhm=r50 - l50,
        transition_width=trans,
        passband_min=pmin,
        passband_max=pmax,
        passband_ripple=ripple,
        stopband_level=stop,
    )
