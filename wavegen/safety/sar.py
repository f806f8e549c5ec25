"""SAR: RF energy, B1rms and the IEC 60601-2-33 window limits (10 s and 6 min = 360 s).

The energy of the RF is ``integral |B1(t)|^2 dt`` (T^2 s), with each sample held over its raster
interval. Window averages are exact in time (:mod:`wavegen.safety._windows`): the largest average over
*any* window of the given length, not over a grid of window positions and not over whole blocks.

Absolute SAR (W/kg) needs a calibration, because it depends on the coil and the patient
(docs/references/safety.md section 1.4); :class:`SarCalibration` takes one of

- ``w_per_kg_per_ut2``: SAR per (B1rms in uT)^2 (single transmit channel);
- ``absorbed_w_per_ut2``: absorbed power per (B1rms in uT)^2, divided by the patient mass (whole body)
  or the exposed mass (head, partial body);
- ``q_w_per_kg_per_t2``: Q matrices / VOPs ``(n_vop, n_tx, n_tx)``, Hermitian, W/kg per T^2 of channel
  drive: ``SAR_v = u^H Q_v u`` (Graesslin et al., MRM 68:1664 (2012); Eichfelder & Gebhardt,
  MRM 66:1468 (2011)); the supervised value is the largest VOP's window average.

Without a calibration only relative figures exist (B1rms over each window, energy); a report then
says so and marks the SAR rules ``"unverified"``.

IEC 60601-2-33 limits, volume transmit coils, 6-min average (docs/references/safety.md §1.1):
whole body 2 W/kg (normal) / 4 W/kg (first level); head 3.2 / 3.2; partial body ``10 - 8 R`` /
``10 - 6 R`` with ``R = exposed mass / patient mass``; any 10 s window at most 2x these. Local SAR,
10 g, for local transmit coils [M: not confirmed against the standard]: head and trunk 10 / 20 W/kg,
extremities 20 / 40 W/kg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wavegen.errors import ConfigError, RangeError, ShapeError
from wavegen.safety._windows import max_window_integrals
from wavegen.safety.waveforms import Waveforms

__all__ = [
    "REGIONS",
    "SarCalibration",
    "SarWindow",
    "sar_limit_w_per_kg",
    "rf_power_series",
    "sar_windows",
    "rf_energy_t2_s",
    "b1rms_t",
]

REGIONS = ("whole_body", "head", "partial_body", "local_head", "local_trunk", "local_extremity")

_BASE_LIMITS = {  # 6-min limits, W/kg: (normal, first level)
    "whole_body": (2.0, 4.0),
    "head": (3.2, 3.2),
    "local_head": (10.0, 20.0),
    "local_trunk": (10.0, 20.0),
    "local_extremity": (20.0, 40.0),
}

UT2 = 1e-12  # (1 uT)^2 in T^2


def sar_limit_w_per_kg(
    region: str,
    mode: str,
    window_s: float,
    *,
    patient_mass_kg: float | None = None,
    exposed_mass_kg: float | None = None,
) -> float:
    """IEC 60601-2-33 SAR limit, W/kg.

    Parameters
    ----------
    region
        One of :data:`REGIONS`.
    mode
        ``"normal"`` or ``"first_level"``.
    window_s
        360 (6 min) for the base limit; 10 for the short-term limit (2x).
    patient_mass_kg, exposed_mass_kg
        Needed for ``"partial_body"`` (``R = exposed / patient``).
    """
    if mode not in ("normal", "first_level"):
        raise RangeError(f"mode must be 'normal' or 'first_level', got {mode!r}")
    if math.isclose(window_s, 360.0):
        factor = 1.0
    elif math.isclose(window_s, 10.0):
        factor = 2.0
    else:
        raise RangeError(f"IEC SAR limits are defined for 10 s and 360 s windows, got {window_s!r} s")
    k = 0 if mode == "normal" else 1
    if region == "partial_body":
        if patient_mass_kg is None or exposed_mass_kg is None:
            raise ConfigError("partial-body SAR limit needs patient_mass_kg and the exposed mass (kg)")
        if not (0 < exposed_mass_kg <= patient_mass_kg):
            raise RangeError(
                f"exposed mass {exposed_mass_kg!r} kg must be > 0 and <= patient mass {patient_mass_kg!r} kg"
            )
        r = exposed_mass_kg / patient_mass_kg
        base = 10.0 - (8.0 if k == 0 else 6.0) * r
    elif region in _BASE_LIMITS:
        base = _BASE_LIMITS[region][k]
    else:
        raise RangeError(f"SAR region must be one of {REGIONS}, got {region!r}")
    return factor * base


@dataclass(frozen=True, eq=False)
class SarCalibration:
    """Maps B1 to SAR for one body region (exactly one of the three calibrations).

    Parameters
    ----------
    region
        One of :data:`REGIONS`.
    w_per_kg_per_ut2
        SAR in W/kg per uT^2 of B1rms (one transmit channel).
    absorbed_w_per_ut2
        Absorbed power in W per uT^2 of B1rms (one transmit channel); SAR = power / mass.
    q_w_per_kg_per_t2
        ``(n_vop, n_tx, n_tx)`` Hermitian, positive semi-definite Q matrices / VOPs, W/kg per T^2 of
        channel drive (the drive is ``rf_b1_t`` as given per channel).
    exposed_mass_kg
        Mass of the exposed region, kg (head, partial body).
    """

    region: str = "whole_body"
    w_per_kg_per_ut2: float | None = None
    absorbed_w_per_ut2: float | None = None
    q_w_per_kg_per_t2: np.ndarray | None = None
    exposed_mass_kg: float | None = None

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise RangeError(f"SarCalibration.region must be one of {REGIONS}, got {self.region!r}")
        given = [
            n
            for n in ("w_per_kg_per_ut2", "absorbed_w_per_ut2", "q_w_per_kg_per_t2")
            if getattr(self, n) is not None
        ]
        if len(given) != 1:
            raise ConfigError(
                "SarCalibration needs exactly one of w_per_kg_per_ut2, absorbed_w_per_ut2, "
                f"q_w_per_kg_per_t2; got {given or 'none'}"
            )
        for n in ("w_per_kg_per_ut2", "absorbed_w_per_ut2", "exposed_mass_kg"):
            v = getattr(self, n)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise RangeError(f"SarCalibration.{n} = {v!r} must be a finite number > 0")
        if self.q_w_per_kg_per_t2 is not None:
            q = np.array(self.q_w_per_kg_per_t2, dtype=np.complex128)
            if q.ndim == 2:
                q = q[None]
            if q.ndim != 3 or q.shape[1] != q.shape[2] or q.shape[0] == 0:
                raise ShapeError(f"Q matrices must have shape (n_vop, n_tx, n_tx), got {q.shape}")
            if not np.all(np.isfinite(q)):
                raise RangeError("Q matrices hold NaN or infinity")
            if not np.allclose(q, np.conj(np.swapaxes(q, 1, 2)), rtol=1e-6, atol=1e-12 * np.abs(q).max()):
                raise RangeError("Q matrices must be Hermitian")
            q.setflags(write=False)
            object.__setattr__(self, "q_w_per_kg_per_t2", q)

    @property
    def n_tx(self) -> int | None:
        """Number of transmit channels the calibration is for (``None``: one channel, scalar)."""
        return None if self.q_w_per_kg_per_t2 is None else int(self.q_w_per_kg_per_t2.shape[1])


@dataclass(frozen=True)
class SarWindow:
    """The worst window of one length.

    Attributes
    ----------
    window_s : float
        Window length, s.
    value : float
        Worst window average: SAR in W/kg (calibrated) or B1rms in T (relative).
    unit : str
        ``"W/kg"`` or ``"T"``.
    start_s : float
        Start of the worst window, s (absolute time, including ``t0_s``).
    channel : str
        The VOP (``"vop3"``) or ``"all tx"``.
    energy : float
        Integral over the worst window: J/kg (calibrated) or T^2 s (relative).
    calibrated : bool
        Whether ``value`` is an absolute SAR.
    """

    window_s: float
    value: float
    unit: str
    start_s: float
    channel: str
    energy: float
    calibrated: bool


def rf_power_series(
    wf: Waveforms, calibration: SarCalibration | None = None, *, patient_mass_kg: float | None = None
) -> tuple[np.ndarray, list[str], str]:
    """Per-sample power-like series of the RF, one row per channel of the supervision.

    Returns
    -------
    (series, channels, unit)
        ``series`` ``(n_series, M)``: ``sum_c |B1_c|^2`` in T^2 without calibration, else SAR in W/kg
        (one row per VOP with Q matrices).
    """
    if wf.rf_b1_t is None:
        raise ShapeError("the waveforms have no RF; SAR needs rf_b1_t")
    u = wf.rf_channels
    if calibration is None:
        return _abs2(wf)[None, :], ["all tx"], "T"
    if calibration.q_w_per_kg_per_t2 is not None:
        q = calibration.q_w_per_kg_per_t2
        if q.shape[1] != u.shape[1]:
            raise ShapeError(f"Q matrices are for {q.shape[1]} transmit channels, the RF has {u.shape[1]}")
        # u^H Q u for each VOP (real by Hermitian symmetry), in chunks to bound the temporaries
        p = np.empty((q.shape[0], u.shape[0]))
        step = max(1, (1 << 22) // (q.shape[0] * q.shape[1]))
        for a in range(0, u.shape[0], step):
            uc = u[a : a + step]
            qu = np.einsum("vij,nj->vni", q, uc)
            p[:, a : a + step] = np.einsum("ni,vni->vn", np.conj(uc), qu).real
        return p, [f"vop{v}" for v in range(q.shape[0])], "W/kg"
    if u.shape[1] != 1:
        raise ConfigError(
            f"a scalar SAR calibration covers one transmit channel; the RF has {u.shape[1]}: give Q matrices"
        )
    b2 = _abs2(wf)
    if calibration.w_per_kg_per_ut2 is not None:
        b2 *= calibration.w_per_kg_per_ut2 / UT2
        return b2[None, :], ["tx0"], "W/kg"
    k_abs = calibration.absorbed_w_per_ut2
    if k_abs is None:  # unreachable: SarCalibration holds exactly one calibration
        raise ConfigError("SarCalibration holds no calibration")
    mass = calibration.exposed_mass_kg if calibration.region != "whole_body" else patient_mass_kg
    if mass is None:
        who = "patient_mass_kg" if calibration.region == "whole_body" else "SarCalibration.exposed_mass_kg"
        raise ConfigError(f"an absorbed-power SAR calibration ({calibration.region}) needs {who}")
    if not (math.isfinite(mass) and mass > 0):
        raise RangeError(f"mass {mass!r} kg must be a finite number > 0 kg")
    b2 *= k_abs / UT2 / mass
    return b2[None, :], ["tx0"], "W/kg"


def _abs2(wf: Waveforms) -> np.ndarray:
    """``sum_c |B1_c|^2`` per sample, T^2 (one pass over the interleaved re/im pairs)."""
    rf = wf.rf_b1_t
    if rf is None:
        raise ShapeError("the waveforms have no RF")
    v = rf.view(np.float64).reshape(rf.shape[0], -1)
    return np.einsum("ij,ij->i", v, v)


def _rf_raster(wf: Waveforms) -> float:
    if wf.rf_raster_s is None:
        raise ShapeError("the waveforms have no RF")
    return wf.rf_raster_s


def _pad_to(p: np.ndarray, dt_s: float, duration_s: float) -> np.ndarray:
    """Zero-pad the series to the whole waveform duration (floor: never more silence than there is)."""
    n_total = int(math.floor(duration_s / dt_s * (1 + 1e-12)))
    if n_total <= p.shape[-1]:
        return p
    pad = [(0, 0)] * (p.ndim - 1) + [(0, n_total - p.shape[-1])]
    return np.pad(p, pad)


def sar_windows(
    wf: Waveforms,
    calibration: SarCalibration | None = None,
    *,
    windows_s: tuple[float, ...] = (10.0, 360.0),
    periodic: bool = True,
    patient_mass_kg: float | None = None,
) -> tuple[SarWindow, ...]:
    """Worst window average of SAR (calibrated) or of |B1|^2 (relative, reported as B1rms).

    Parameters
    ----------
    wf
        Waveforms with RF.
    calibration
        See :class:`SarCalibration`; ``None`` gives relative figures only.
    windows_s
        Window lengths, s.
    periodic
        The waveform repeats back to back (default; AWG continuous mode, scanner SAR prediction); else it
        plays once with silence around it. The period is the whole waveform duration (gradients too).
    patient_mass_kg
        Needed for an absorbed-power whole-body calibration.
    """
    series, channels, unit = rf_power_series(wf, calibration, patient_mass_kg=patient_mass_kg)
    dt = _rf_raster(wf)
    series = _pad_to(series, dt, wf.duration_s)
    per_series = [
        max_window_integrals(series[i], dt, [float(w) for w in windows_s], periodic=periodic)
        for i in range(series.shape[0])
    ]
    out = []
    for iw, w in enumerate(windows_s):
        i = int(np.argmax([ps[iw][0] for ps in per_series]))
        e, start = per_series[i][iw]
        if calibration is None:
            value, vunit = math.sqrt(e / w), "T"
        else:
            value, vunit = e / w, unit
        out.append(
            SarWindow(float(w), value, vunit, wf.t0_s + start, channels[i], e, calibration is not None)
        )
    return tuple(out)


def rf_energy_t2_s(wf: Waveforms) -> float:
    """``integral sum_c |B1_c|^2 dt`` over the whole RF, T^2 s."""
    series, _, _ = rf_power_series(wf)
    return float(series.sum() * _rf_raster(wf))


def b1rms_t(wf: Waveforms) -> float:
    """B1rms over the whole waveform duration, T: ``sqrt(energy / duration)``."""
    return math.sqrt(rf_energy_t2_s(wf) / wf.duration_s)
