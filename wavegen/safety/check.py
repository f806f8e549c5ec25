"""``check()``: every safety rule on one set of waveforms, one :class:`SafetyReport`.

Rules (each a :class:`RuleResult` in the report):

========================  ===========================================================================
``grad_amplitude``        per axis, every sample, vs ``limits.max_grad_t_per_m``
``grad_amplitude_vector`` ``|G|``; ``"info"`` unless ``max_grad_vector_t_per_m`` is given
``grad_slew``             per axis, every step (from and back to rest), vs ``limits.max_slew...``
``grad_slew_vector``      ``|dG/dt|``; ``"info"`` unless a vector limit is given
``grad_rms``              worst window RMS per axis, when the hardware has an RMS rating
``pns_safe``              SAFE model, RSS over axes, % of the stimulation limit: 80 % normal, 100 %
                          first level (hardware's model; the public example set by default)
``cns_safe``              the vendor's SAFE-type cardiac model, when the hardware file has one (100 %)
``pns_iec``               IEC hyperbolic dB/dt law with the effective stimulus duration [M]
``cardiac_iec``           IEC cardiac dB/dt limit [M]
``acoustic_resonance``    spectrum inside forbidden bands vs a threshold
``rf_b1_peak``            ``|B1|`` per channel vs ``limits.max_b1_t``
``sar_<region>_10s``,     calibrated SAR over the worst 10 s / 360 s window vs the IEC limit; without a
``sar_<region>_6min``     calibration ``b1rms_10s`` / ``b1rms_6min`` (relative, ``"unverified"``)
``rf_peak_power`` ...     RF amplifier peak/average power, duty cycle, pulse length (with an amplifier)
========================  ===========================================================================
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from wavegen.errors import ConfigError, RangeError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety.acoustic import check_acoustic
from wavegen.safety.gradient import (
    _exceeds,
    check_gradient_amplitude,
    check_gradient_rms,
    check_gradient_slew,
    slew_rate,
)
from wavegen.safety.hardware import GradientHardware, SafeModel, example_hardware, hardware_from_asc
from wavegen.safety.pns import (
    MODE_FACTOR,
    IecPnsModel,
    cardiac_db_dt_limit_t_per_s,
    iec_db_dt_limit_t_per_s,
    safe_pns,
    stimulus_segments,
)
from wavegen.safety.report import RuleResult, SafetyReport
from wavegen.safety.rfpower import RfAmplifier, check_rf_amplifier
from wavegen.safety.sar import SarCalibration, b1rms_t, sar_limit_w_per_kg, sar_windows
from wavegen.safety.waveforms import Waveforms, as_waveforms

__all__ = ["check", "MODES", "physical_xyz"]

logger = logging.getLogger(__name__)

MODES = ("normal", "first_level")

_AXIS_NAMES = {"gx": 0, "x": 0, "gy": 1, "y": 1, "gz": 2, "z": 2}


def physical_xyz(wf: Waveforms) -> np.ndarray:
    """The gradients as ``(N, 3)`` physical x, y, z (axes named gx/gy/gz or x/y/z; missing ones are 0).

    Raises
    ------
    ShapeError
        An axis name that is not a physical axis.
    """
    if wf.axes == ("gx", "gy", "gz"):
        return wf.grad_t_per_m
    out = np.zeros((wf.n_grad, 3))
    for j, name in enumerate(wf.axes):
        k = _AXIS_NAMES.get(name.lower())
        if k is None:
            raise ShapeError(
                f"PNS needs physical gradient axes named gx, gy, gz (or x, y, z); got axis {name!r} "
                "(rotate logical axes to the physical frame first)"
            )
        out[:, k] = wf.grad_t_per_m[:, j]
    return out


def _check_b1_peak(wf: Waveforms, max_b1_t: float) -> tuple[RuleResult, ...]:
    if wf.rf_b1_t is None or wf.rf_raster_s is None:
        return ()
    mag = np.abs(wf.rf_channels)
    i, c = np.unravel_index(int(np.argmax(mag)), mag.shape)
    val = float(mag[i, c])
    return (
        RuleResult(
            "rf_b1_peak",
            "RF peak |B1| per transmit channel",
            "fail" if _exceeds(val, max_b1_t) else "pass",
            val,
            max_b1_t,
            "T",
            f"tx{int(c)}",
            wf.t0_s + (int(i) + 0.5) * wf.rf_raster_s,
            index=int(i),
        ),
    )


def _safe_rule(
    rule: str,
    quantity: str,
    wf: Waveforms,
    g3: np.ndarray,
    model: SafeModel,
    limit_pct: float,
    note: str,
    end_step: bool,
) -> tuple[RuleResult, np.ndarray]:
    res = safe_pns(g3, wf.grad_raster_s, model, t0_s=wf.t0_s, end_step=end_step)
    i = res.argmax
    val = 100.0 * res.max
    axis = ("gx", "gy", "gz")[int(np.argmax(res.per_axis[i]))]
    per_axis = ", ".join(f"{n} {100 * float(res.per_axis[:, k].max()):.1f} %" for k, n in enumerate("xyz"))
    r = RuleResult(
        rule,
        quantity,
        "fail" if _exceeds(val, limit_pct) else "pass",
        val,
        limit_pct,
        "%",
        axis,
        wf.t0_s + (i + 0.5) * wf.grad_raster_s,
        note=f"SAFE model {model.name!r}, RSS over axes (per-axis maxima: {per_axis}){note}",
        index=i,
    )
    return r, res.norm


def _iec_rules(wf: Waveforms, mode: str, model: IecPnsModel, zero_edges: bool) -> tuple[RuleResult, ...]:
    dt = wf.grad_raster_s
    shift = 0 if zero_edges else 1
    best_pns = (-1.0, 0.0, 0.0, 0, 0, 0.0)  # ratio, value, limit, axis, step, t_eff
    best_car = (-1.0, 0.0, 0.0, 0, 0, 0.0)
    for j in range(wf.n_axes):
        s = slew_rate(wf.grad_t_per_m[:, j], dt, zero_edges=zero_edges)
        seg = stimulus_segments(s, dt)
        if seg.t_eff_s.size == 0:
            continue
        db_dt = seg.max_slew_t_per_m_per_s * model.effective_length_m
        lim = iec_db_dt_limit_t_per_s(seg.t_eff_s, mode, model)
        k = int(np.argmax(db_dt / lim))
        if db_dt[k] / lim[k] > best_pns[0]:
            best_pns = (db_dt[k] / lim[k], db_dt[k], lim[k], j, int(seg.argmax[k]), seg.t_eff_s[k])
        clim = cardiac_db_dt_limit_t_per_s(seg.t_eff_s, model)
        k = int(np.argmax(db_dt / clim))
        if db_dt[k] / clim[k] > best_car[0]:
            best_car = (db_dt[k] / clim[k], db_dt[k], clim[k], j, int(seg.argmax[k]), seg.t_eff_s[k])
    out = []
    for rule, quantity, best, extra in (
        (
            "pns_iec",
            "dB/dt vs the IEC 60601-2-33 PNS limit",
            best_pns,
            f"{MODE_FACTOR[mode]:g} x L01 ({mode})",
        ),
        ("cardiac_iec", "dB/dt vs the IEC 60601-2-33 cardiac limit", best_car, "all modes"),
    ):
        if best[0] < 0:
            continue
        _, val, worst_lim, j, step, t_eff = best
        out.append(
            RuleResult(
                rule,
                quantity,
                "fail" if _exceeds(float(val), float(worst_lim)) else "pass",
                float(val),
                float(worst_lim),
                "T/s",
                wf.axes[j],
                wf.t0_s + (step + shift) * dt,
                note=(
                    f"per axis, dB/dt = |dG/dt| x {model.effective_length_m:g} m; worst at t_eff = "
                    f"{t_eff * 1e3:.4g} ms; {extra}; [M] IEC default law, not confirmed against the standard"
                ),
                index=step + shift,
            )
        )
    return tuple(out)


def _window_name(w: float) -> str:
    if math.isclose(w, 360.0):
        return "6min"
    return f"{w:g}s"


def _sar_rules(
    wf: Waveforms,
    mode: str,
    calibrations: tuple[SarCalibration, ...],
    windows_s: tuple[float, ...],
    periodic: bool,
    patient_mass_kg: float | None,
) -> tuple[RuleResult, ...]:
    out: list[RuleResult] = []
    how = "waveform repeated back to back" if periodic else "waveform played once, silence around it"
    out.append(
        RuleResult(
            "rf_b1rms",
            "RF B1rms over the whole waveform",
            "info",
            b1rms_t(wf),
            float("nan"),
            "T",
            "all tx",
            wf.t0_s,
            note=f"sqrt(integral |B1|^2 dt / {wf.duration_s:.6g} s)",
        )
    )
    if not calibrations:
        for sw in sar_windows(wf, None, windows_s=windows_s, periodic=periodic):
            out.append(
                RuleResult(
                    f"b1rms_{_window_name(sw.window_s)}",
                    f"RF B1rms over the worst {sw.window_s:g} s window",
                    "unverified",
                    sw.value,
                    float("nan"),
                    "T",
                    sw.channel,
                    sw.start_s,
                    note=(
                        "relative figure only: no SarCalibration given, so absolute SAR (W/kg) is NOT "
                        f"evaluated; {how}; time = window start"
                    ),
                )
            )
        return tuple(out)
    for cal in calibrations:
        for sw in sar_windows(
            wf, cal, windows_s=windows_s, periodic=periodic, patient_mass_kg=patient_mass_kg
        ):
            name = f"sar_{cal.region}_{_window_name(sw.window_s)}"
            if math.isclose(sw.window_s, 10.0) or math.isclose(sw.window_s, 360.0):
                lim = sar_limit_w_per_kg(
                    cal.region,
                    mode,
                    sw.window_s,
                    patient_mass_kg=patient_mass_kg,
                    exposed_mass_kg=cal.exposed_mass_kg,
                )
            else:  # no IEC limit for other windows: report the figure
                lim = float("nan")
            verdict = "info" if not math.isfinite(lim) else ("fail" if _exceeds(sw.value, lim) else "pass")
            local = ""
            if cal.region.startswith("local"):
                local = " [M] local-SAR limits not confirmed against the standard;"
            out.append(
                RuleResult(
                    name,
                    f"{cal.region.replace('_', ' ')} SAR over the worst {sw.window_s:g} s window",
                    verdict,
                    sw.value,
                    lim,
                    "W/kg",
                    sw.channel,
                    sw.start_s,
                    note=f"calibrated;{local} {how}; time = window start",
                )
            )
    return tuple(out)


_PATIENT_PREFIXES = ("pns_", "cns_", "cardiac_", "sar_", "b1rms_")


def _is_patient_rule(rule: str) -> bool:
    return rule.startswith(_PATIENT_PREFIXES)


def _not_judged(r: RuleResult) -> RuleResult:
    note = "patient=False: no person exposed, reported but not judged" + (f"; {r.note}" if r.note else "")
    return replace(r, verdict="info", note=note)


def _resolve_hardware(hardware: GradientHardware | str | Path | None) -> GradientHardware:
    if hardware is None:
        return example_hardware()
    if isinstance(hardware, GradientHardware):
        return hardware
    if isinstance(hardware, (str, Path)):
        return hardware_from_asc(hardware)
    raise ConfigError(
        f"hardware must be GradientHardware, a path to an .asc file or None, got {type(hardware)}"
    )


def check(
    waveforms: Any,
    limits: SystemLimits,
    *,
    mode: str = "normal",
    grad_raster_s: float | None = None,
    rf_b1_t: np.ndarray | None = None,
    rf_raster_s: float | None = None,
    axes: tuple[str, ...] | None = None,
    hardware: GradientHardware | str | Path | None = None,
    iec: IecPnsModel | bool = True,
    sar_calibration: SarCalibration | Sequence[SarCalibration] | None = None,
    patient_mass_kg: float | None = None,
    sar_windows_s: tuple[float, ...] = (10.0, 360.0),
    rf_amplifier: RfAmplifier | None = None,
    max_grad_vector_t_per_m: float | None = None,
    max_slew_vector_t_per_m_per_s: float | None = None,
    periodic: bool = True,
    zero_edges: bool = True,
    keep_traces: bool = True,
    patient: bool = True,
) -> SafetyReport:
    """Check waveforms against every safety rule (see the module table).

    Parameters
    ----------
    waveforms
        :class:`Waveforms`, an object with ``to_waveforms()`` (a ``Sequence``), or a gradient array
        ``(N, n_axes)`` T/m with ``grad_raster_s`` (and optionally ``rf_b1_t``, ``rf_raster_s``,
        ``axes``). A raster given alongside a ``Waveforms`` must match its own.
    limits
        Hardware limits (:class:`wavegen.limits.SystemLimits`): gradient amplitude, slew, peak B1.
    mode
        ``"normal"`` or ``"first_level"`` (IEC 60601-2-33 operating modes).
    hardware
        :class:`GradientHardware`, or the path of a vendor ``.asc`` file; default: the public SAFE
        example set (not a real scanner; the report says so).
    iec
        :class:`IecPnsModel` for the hyperbolic PNS and cardiac rules; ``True`` default model; ``False``
        skips them.
    sar_calibration
        One or several :class:`SarCalibration` (one per region). Without one, SAR is reported as
        relative B1rms figures and marked ``"unverified"``.
    patient_mass_kg
        Patient mass, kg. Giving it declares that a patient is exposed: RF then *requires* a SAR
        calibration (a missing one raises :class:`ConfigError`).
    sar_windows_s
        SAR windows, s (IEC: 10 s and 360 s).
    rf_amplifier
        :class:`RfAmplifier` ratings and calibration; without one the amplifier is reported unverified.
    max_grad_vector_t_per_m, max_slew_vector_t_per_m_per_s
        Optional vector-magnitude limits.
    periodic
        Windows assume the waveform repeats back to back (AWG continuous mode; scanner SAR prediction);
        ``False``: it plays once.
    zero_edges
        The hardware is at rest before and after the waveform (steps from/to 0 count as slew).
    keep_traces
        Keep per-sample traces in the report for :meth:`SafetyReport.plot`.
    patient
        Whether a person can be exposed (default ``True``: fail safe). With ``False`` (a bench with a
        dummy load or a phantom, nobody in the magnet) the patient rules -- PNS, cardiac stimulation,
        SAR -- are still computed and reported, as ``"info"``, and only the hardware rules are judged.

    Returns
    -------
    SafetyReport
    """
    if mode not in MODES:
        raise RangeError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(limits, SystemLimits):
        raise RangeError(f"limits must be a wavegen.limits.SystemLimits, got {type(limits).__name__}")
    if patient_mass_kg is not None and not (
        isinstance(patient_mass_kg, (int, float))
        and math.isfinite(patient_mass_kg)
        and 0 < patient_mass_kg < 1000
    ):
        raise RangeError(f"patient_mass_kg = {patient_mass_kg!r} kg must be a number in (0, 1000) kg")
    wf = as_waveforms(
        waveforms, grad_raster_s=grad_raster_s, rf_b1_t=rf_b1_t, rf_raster_s=rf_raster_s, axes=axes
    )
    hw = _resolve_hardware(hardware)
    if isinstance(sar_calibration, SarCalibration):
        cals: tuple[SarCalibration, ...] = (sar_calibration,)
    elif sar_calibration is None:
        cals = ()
    else:
        cals = tuple(sar_calibration)
        if not all(isinstance(c, SarCalibration) for c in cals):
            raise ConfigError("sar_calibration must be SarCalibration objects")
    if not patient and patient_mass_kg is not None:
        raise ConfigError("patient=False contradicts patient_mass_kg: is a patient exposed or not?")
    if wf.has_rf and patient_mass_kg is not None and not cals:
        raise ConfigError(
            "missing SAR calibration: a patient (patient_mass_kg) is exposed to RF, so absolute SAR is "
            "required; give sar_calibration=SarCalibration(...)"
        )

    results: list[RuleResult] = []
    traces: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    if wf.n_grad > 0:
        results += check_gradient_amplitude(
            wf, limits.max_grad_t_per_m, max_grad_vector_t_per_m=max_grad_vector_t_per_m
        )
        results += check_gradient_slew(
            wf,
            limits.max_slew_t_per_m_per_s,
            max_slew_vector_t_per_m_per_s=max_slew_vector_t_per_m_per_s,
            zero_edges=zero_edges,
        )
        if hw.max_grad_rms_t_per_m is not None and hw.grad_rms_window_s is not None:
            results += check_gradient_rms(
                wf, hw.max_grad_rms_t_per_m, hw.grad_rms_window_s, periodic=periodic
            )
        if keep_traces:
            traces["grad_amplitude"] = (wf.grad_times_s(), wf.grad_t_per_m, "T/m")
        if hw.pns is not None or hw.cardiac is not None:
            g3 = physical_xyz(wf)
            if hw.pns is not None:
                ex = "; EXAMPLE hardware, not a real scanner" if hw.is_example else ""
                r, norm = _safe_rule(
                    "pns_safe",
                    "SAFE PNS prediction",
                    wf,
                    g3,
                    hw.pns,
                    100.0 * MODE_FACTOR[mode],
                    ex,
                    zero_edges,
                )
                results.append(r)
                if keep_traces:
                    t = wf.t0_s + (np.arange(norm.size) + 0.5) * wf.grad_raster_s
                    traces["pns_safe"] = (t, 100.0 * norm, "%")
            if hw.cardiac is not None:
                r, _ = _safe_rule(
                    "cns_safe",
                    "SAFE cardiac stimulation prediction",
                    wf,
                    g3,
                    hw.cardiac,
                    100.0,
                    "",
                    zero_edges,
                )
                results.append(r)
        if iec is not False:
            model = iec if isinstance(iec, IecPnsModel) else IecPnsModel()
            results += _iec_rules(wf, mode, model, zero_edges)
        results += check_acoustic(wf, hw.acoustic_bands, hw.acoustic_threshold_t_per_m)
    if wf.has_rf:
        results += _check_b1_peak(wf, limits.max_b1_t)
        if keep_traces:
            traces["rf_b1_peak"] = (wf.rf_times_s(), np.abs(wf.rf_channels), "T")
        results += _sar_rules(wf, mode, cals, tuple(sar_windows_s), periodic, patient_mass_kg)
        if rf_amplifier is not None:
            results += check_rf_amplifier(wf, rf_amplifier, periodic=periodic)
        else:
            results.append(
                RuleResult(
                    "rf_amplifier",
                    "RF amplifier power and duty cycle",
                    "unverified",
                    float("nan"),
                    float("nan"),
                    "W",
                    note="no RfAmplifier given: peak/average power and duty cycle not checked",
                )
            )
    if not patient:
        results = [_not_judged(r) if _is_patient_rule(r.rule) else r for r in results]
    report = SafetyReport(tuple(results), mode=mode, digest=wf.digest(), traces=traces)
    if report.ok:
        logger.info("safety check (%s): ok, %d rules, %d unverified", mode, len(results), len(report.unverified))
    else:
        logger.warning("safety check (%s): %s", mode, report.violations[0].to_error())
    return report
