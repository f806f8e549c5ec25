"""Peripheral nerve and cardiac stimulation: the SAFE model and the IEC 60601-2-33 hyperbolic law.

SAFE (Hebrank & Gebhardt, "SAFE-Model - A New Method for Predicting Peripheral Nerve Stimulations in
MRI", Proc. ISMRM 8 (2000) abstract 2007; formulation of Szczepankiewicz & Witzel's safe_pns_prediction,
BSD-3-Clause, re-derived here): per physical axis, with the slew rate ``s = dG/dt`` (T/m/s),

    LP_tau(x)[n] = alpha x[n] + (1 - alpha) LP_tau(x)[n-1],  alpha = dt / (tau + dt),  LP[-1] = 0
    stim = (a1 |LP_tau1(s)| + a2 LP_tau2(|s|) + a3 |LP_tau3(s)|) * g_scale / stim_limit

as a fraction of the stimulation limit; the axes combine by root-sum-square. The filters run as
first-order IIR filters (``scipy.signal.lfilter``), exact and O(N). ``s`` is the backward difference of
the samples with the hardware at rest before the first one (``s[0] = g[0] / dt``), which is what
pypulseq's ``calc_pns`` computes after its zero padding; its output sample ``i`` belongs to the raster
centre ``(i + 0.5) dt``. A C kernel (``native/safety.c``) runs the three axes in one pass; this module
keeps the NumPy reference (``backend="numpy"``) and falls back to it without the extension.

Normal mode allows 80 %, first level 100 % of the limit (stim_thresh = 0.8 *
stim_limit in the example set, consistent with this reading) [M: the mapping of SAFE percent to the IEC
modes is the vendors'; not confirmed against the standard].

IEC 60601-2-33 default law [M: as commonly quoted, not checked against a purchased copy of the standard,
docs/references/safety.md section 2.1]:

    dB/dt limit = f_mode * 20 T/s * (1 + 0.36 ms / t_eff),   f_mode = 0.8 normal, 1.0 first level
    cardiac:      dB/dt < 20 T/s / (1 - exp(-t_eff / 3 ms))     (all modes; E = dB/dt / 10 (T/s)/(V/m))

with ``t_eff`` the effective stimulus duration: for each period of monotonic gradient change, the
peak-to-peak change divided by the largest |dG/dt| in that period (a trapezoid ramp gives its ramp
time; a sinusoid of frequency f gives 1/(pi f)). Here dB/dt is estimated per axis as
``|dG/dt| * effective_length_m`` (default 0.20 m, the radius of the commonly quoted compliance volume
[M]); the per-axis estimate ignores concomitant fields and vector addition over axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wavegen._backend import NATIVE, ffi, lib
from wavegen.errors import RangeError, ShapeError
from wavegen.safety.hardware import SafeAxis, SafeModel, example_safe_model

__all__ = [
    "PnsResult",
    "safe_pns",
    "safe_pns_axis",
    "IecPnsModel",
    "iec_db_dt_limit_t_per_s",
    "cardiac_db_dt_limit_t_per_s",
    "cardiac_e_limit_v_per_m",
    "iec_e_limit_v_per_m",
    "StimulusSegments",
    "stimulus_segments",
    "MODE_FACTOR",
]

#: Fraction of the mean stimulation threshold allowed per operating mode (IEC 60601-2-33).
MODE_FACTOR = {"normal": 0.8, "first_level": 1.0}


def _mode_factor(mode: str) -> float:
    try:
        return MODE_FACTOR[mode]
    except KeyError:
        raise RangeError(f"mode must be one of {tuple(MODE_FACTOR)}, got {mode!r}") from None


@dataclass(frozen=True, eq=False)
class PnsResult:
    """SAFE model output.

    Attributes
    ----------
    per_axis : numpy.ndarray
        ``(N, 3)`` stimulation per axis, fraction of the stimulation limit (1.0 = 100 %).
    norm : numpy.ndarray
        ``(N,)`` root-sum-square over axes, fraction of the limit.
    dt_s : float
        Raster, s. Sample ``i`` is at ``t0_s + (i + 0.5) * dt_s``.
    t0_s : float
        Start time, s.
    model : SafeModel
        The parameters used.
    """

    per_axis: np.ndarray
    norm: np.ndarray
    dt_s: float
    t0_s: float
    model: SafeModel

    @property
    def times_s(self) -> np.ndarray:
        """Sample times (raster centres), s."""
        return self.t0_s + (np.arange(self.norm.shape[0]) + 0.5) * self.dt_s

    @property
    def max(self) -> float:
        """Largest RSS stimulation, fraction of the limit."""
        return float(self.norm.max()) if self.norm.size else 0.0

    @property
    def argmax(self) -> int:
        """Index of the largest RSS stimulation."""
        return int(np.argmax(self.norm)) if self.norm.size else -1

    @property
    def ok(self) -> bool:
        """``max < 1`` (pypulseq's pass criterion; first-level reading)."""
        return self.max < 1.0


def _lowpass(x: np.ndarray, tau_s: float, dt_s: float) -> np.ndarray:
    alpha = dt_s / (tau_s + dt_s)
    from scipy.signal import lfilter  # the reference path only: scipy.signal is a heavy import

    return lfilter([alpha], [1.0, alpha - 1.0], x)


def safe_pns_axis(slew_t_per_m_per_s: np.ndarray, dt_s: float, axis: SafeAxis) -> np.ndarray:
    """SAFE stimulation of one axis from its slew rate, fraction of the limit.

    Parameters
    ----------
    slew_t_per_m_per_s
        ``(N,)`` slew rate, T/m/s, starting from rest.
    dt_s
        Raster, s.
    axis
        SAFE parameters of the axis.
    """
    s = np.ascontiguousarray(slew_t_per_m_per_s, dtype=np.float64)
    a1, a2, a3 = axis.a
    t1, t2, t3 = axis.tau_s
    stim = np.abs(_lowpass(s, t1, dt_s))
    stim *= a1
    lp3 = _lowpass(s, t3, dt_s)
    np.abs(lp3, out=lp3)
    lp3 *= a3
    stim += lp3
    del lp3
    lp2 = _lowpass(np.abs(s), t2, dt_s)
    lp2 *= a2
    stim += lp2
    stim *= axis.g_scale / axis.stim_limit_t_per_m_per_s
    return stim


def safe_pns(
    grad_t_per_m: np.ndarray,
    dt_s: float,
    model: SafeModel | None = None,
    *,
    t0_s: float = 0.0,
    end_step: bool = False,
    backend: str = "auto",
) -> PnsResult:
    """SAFE PNS prediction of a 3-axis gradient waveform (see the module notes).

    Parameters
    ----------
    grad_t_per_m
        ``(N, 3)`` gradient samples at raster centres, T/m, physical x, y, z.
    dt_s
        Raster, s.
    model
        SAFE parameters; default :func:`~wavegen.safety.hardware.example_safe_model` (public example,
        not a real scanner).
    t0_s
        Time of the start of the waveform, s.
    end_step
        Also evaluate the step from the last sample back to rest (one more output sample). After it the
        filters only decay, so this extra sample is the largest stimulation of the whole tail.
    backend
        ``"auto"`` (the C kernel when compiled, else NumPy), ``"native"`` or ``"numpy"`` (reference).

    Returns
    -------
    PnsResult
        ``per_axis`` and ``norm`` as fractions of the stimulation limit; the same values as pypulseq's
        ``calc_pns`` (``pns_comp``, ``pns_norm``) for the same samples, up to its 1e-16 truncation.
    """
    if model is None:
        model = example_safe_model()
    g = np.asarray(grad_t_per_m, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] != 3:
        raise ShapeError(f"safe_pns needs gradients of shape (N, 3) T/m (x, y, z), got {g.shape}")
    if g.shape[0] == 0:
        raise ShapeError("safe_pns got an empty waveform")
    if not np.all(np.isfinite(g)):
        i, j = (int(v) for v in np.argwhere(~np.isfinite(g))[0])
        raise RangeError(f"gradient sample [{i}, {j}] = {g[i, j]!r} T/m is not finite")
    if not (isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0):
        raise RangeError(f"dt_s = {dt_s!r} s must be a finite number > 0 s")
    if backend not in ("auto", "native", "numpy"):
        raise RangeError(f"backend must be 'auto', 'native' or 'numpy', got {backend!r}")
    use_native = backend == "native" or (backend == "auto" and _HAVE_KERNEL)
    if use_native and not _HAVE_KERNEL:
        raise RangeError("backend='native' asked for, but the compiled SAFE kernel is not available")
    if use_native:
        per_axis, norm2 = _safe_pns_native(g, float(dt_s), model, end_step)
    else:
        per_axis, norm2 = _safe_pns_numpy(g, float(dt_s), model, end_step)
    return PnsResult(per_axis, norm2, float(dt_s), float(t0_s), model)


_HAVE_KERNEL = bool(NATIVE) and hasattr(lib, "wg_safe_pns3")


def _safe_pns_numpy(
    g: np.ndarray, dt_s: float, model: SafeModel, end_step: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Reference: three ``lfilter`` calls per axis."""
    n = g.shape[0] + (1 if end_step else 0)
    per_axis = np.empty((n, 3))
    norm2 = np.zeros(n)
    for j, ax in enumerate(model.axes):
        col = np.empty(n)
        col[0] = g[0, j]
        np.subtract(g[1:, j], g[:-1, j], out=col[1 : g.shape[0]])
        if end_step:
            col[-1] = -g[-1, j]
        col /= dt_s
        stim = safe_pns_axis(col, dt_s, ax)
        per_axis[:, j] = stim
        stim *= stim
        norm2 += stim
    np.sqrt(norm2, out=norm2)
    return per_axis, norm2


def kernel_params(model: SafeModel, dt_s: float) -> np.ndarray:
    """The 3 x 8 parameters of the C kernels (``native/safety.c``) for ``model`` at raster ``dt_s``."""
    params = np.zeros(24)
    for j, ax in enumerate(model.axes):
        params[8 * j : 8 * j + 3] = [dt_s / (t + dt_s) for t in ax.tau_s]
        params[8 * j + 3 : 8 * j + 6] = ax.a
        params[8 * j + 6] = ax.g_scale / ax.stim_limit_t_per_m_per_s
    return params


def _safe_pns_native(
    g: np.ndarray, dt_s: float, model: SafeModel, end_step: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The C kernel ``wg_safe_pns3`` (native/safety.c): one pass over the three axes."""
    g = np.ascontiguousarray(g, dtype=np.float64)
    n = g.shape[0] + (1 if end_step else 0)
    params = kernel_params(model, dt_s)
    per_axis = np.empty((n, 3))
    norm = np.empty(n)
    dp = "double *"
    lib.wg_safe_pns3(
        ffi.cast(dp, ffi.from_buffer(g)),
        g.shape[0],
        dt_s,
        1 if end_step else 0,
        ffi.cast(dp, ffi.from_buffer(params)),
        ffi.cast(dp, ffi.from_buffer(per_axis)),
        ffi.cast(dp, ffi.from_buffer(norm)),
    )
    return per_axis, norm


# --- IEC 60601-2-33 hyperbolic law -------------------------------------------------------------------


@dataclass(frozen=True)
class IecPnsModel:
    """Parameters of the IEC 60601-2-33 default stimulation limits [M].

    Parameters
    ----------
    rheobase_t_per_s, chronaxie_s
        PNS strength-duration law ``b (1 + c / t_eff)``: 20 T/s and 0.36 ms (whole-body gradients).
    e_rheobase_v_per_m
        The same law in E: 2.2 V/m.
    cardiac_rheobase_t_per_s, cardiac_tau_s
        Cardiac limit ``b / (1 - exp(-t_eff / tau))``: 20 T/s (E: 2 V/m) and 3 ms.
    effective_length_m
        ``dB/dt = |dG/dt| * effective_length_m``: the radius at which the gradient field is evaluated
        (0.20 m compliance volume, commonly quoted).
    """

    rheobase_t_per_s: float = 20.0
    chronaxie_s: float = 0.36e-3
    e_rheobase_v_per_m: float = 2.2
    cardiac_rheobase_t_per_s: float = 20.0
    cardiac_tau_s: float = 3e-3
    effective_length_m: float = 0.20

    def __post_init__(self) -> None:
        for name in (
            "rheobase_t_per_s",
            "chronaxie_s",
            "e_rheobase_v_per_m",
            "cardiac_rheobase_t_per_s",
            "cardiac_tau_s",
            "effective_length_m",
        ):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise RangeError(f"IecPnsModel.{name} = {v!r} must be a finite number > 0")


def _t_eff(t_eff_s: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t_eff_s, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise RangeError(f"effective stimulus duration t_eff_s must be finite and > 0 s, got {t_eff_s!r}")
    return t


def iec_db_dt_limit_t_per_s(
    t_eff_s: np.ndarray | float, mode: str = "normal", model: IecPnsModel | None = None
) -> np.ndarray:
    """IEC PNS dB/dt limit, T/s: ``f_mode * b * (1 + c / t_eff)``.

    >>> float(iec_db_dt_limit_t_per_s(0.2e-3, "first_level")), float(iec_db_dt_limit_t_per_s(0.2e-3))
    (56.0, 44.8)
    """
    m = model or IecPnsModel()
    t = _t_eff(t_eff_s)
    return _mode_factor(mode) * m.rheobase_t_per_s * (1.0 + m.chronaxie_s / t)


def iec_e_limit_v_per_m(
    t_eff_s: np.ndarray | float, mode: str = "normal", model: IecPnsModel | None = None
) -> np.ndarray:
    """IEC PNS limit of the induced electric field, V/m: ``f_mode * 2.2 V/m * (1 + c / t_eff)``."""
    m = model or IecPnsModel()
    t = _t_eff(t_eff_s)
    return _mode_factor(mode) * m.e_rheobase_v_per_m * (1.0 + m.chronaxie_s / t)


def cardiac_db_dt_limit_t_per_s(t_eff_s: np.ndarray | float, model: IecPnsModel | None = None) -> np.ndarray:
    """IEC cardiac stimulation limit in dB/dt, T/s: ``20 T/s / (1 - exp(-t_eff / 3 ms))`` (all modes)."""
    m = model or IecPnsModel()
    t = _t_eff(t_eff_s)
    return m.cardiac_rheobase_t_per_s / -np.expm1(-t / m.cardiac_tau_s)


def cardiac_e_limit_v_per_m(t_eff_s: np.ndarray | float, model: IecPnsModel | None = None) -> np.ndarray:
    """IEC cardiac stimulation limit of E, V/m: ``2 V/m / (1 - exp(-t_eff / 3 ms))``."""
    m = model or IecPnsModel()
    t = _t_eff(t_eff_s)
    return (m.cardiac_rheobase_t_per_s / 10.0) / -np.expm1(-t / m.cardiac_tau_s)


@dataclass(frozen=True, eq=False)
class StimulusSegments:
    """Periods of monotonic gradient change on one axis.

    Attributes
    ----------
    start, stop : numpy.ndarray
        Slew-step index range ``[start, stop)`` of each period (step ``k`` leads into sample ``k``).
    t_eff_s : numpy.ndarray
        Effective stimulus duration, s: peak-to-peak change / largest |dG/dt|.
    max_slew_t_per_m_per_s : numpy.ndarray
        Largest |dG/dt| in the period, T/m/s.
    argmax : numpy.ndarray
        Step index of that largest |dG/dt|.
    """

    start: np.ndarray
    stop: np.ndarray
    t_eff_s: np.ndarray
    max_slew_t_per_m_per_s: np.ndarray
    argmax: np.ndarray


def stimulus_segments(slew_t_per_m_per_s: np.ndarray, dt_s: float) -> StimulusSegments:
    """Split a slew-rate trace into periods of monotonic change and give each its ``t_eff``.

    A step with ``|s| <= 1e-9 * max|s|`` (a plateau) ends a period. Vectorized (``ufunc.reduceat``).
    """
    s = np.asarray(slew_t_per_m_per_s, dtype=np.float64)
    a = np.abs(s)
    empty = np.zeros(0)
    if a.size == 0 or float(a.max()) == 0.0:
        return StimulusSegments(
            empty.astype(np.intp), empty.astype(np.intp), empty, empty, empty.astype(np.intp)
        )
    tiny = 1e-9 * float(a.max())
    sign = np.where(a <= tiny, 0, np.sign(s)).astype(np.int8)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sign)) + 1))
    stops = np.concatenate((starts[1:], [s.size]))
    sums = np.add.reduceat(a, starts)
    maxs = np.maximum.reduceat(a, starts)
    # first position of each segment's maximum: the first hit at or after the segment's start
    hits = np.flatnonzero(a == np.repeat(maxs, stops - starts))
    first_max = hits[np.searchsorted(hits, starts)]
    keep = sign[starts] != 0
    starts, stops, sums, maxs, first_max = starts[keep], stops[keep], sums[keep], maxs[keep], first_max[keep]
    t_eff = dt_s * sums / maxs
    return StimulusSegments(starts, stops, t_eff, maxs, first_max.astype(np.intp))
