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

A :class:`~wavegen.sequence.Sequence` is judged on what it is, not on samples of it: amplitude and
slew (per axis and vector) on its exact piecewise-linear gradients, every vertex and segment
(:mod:`wavegen.safety.pwl`; a one-raster ramp is seen at its true slope), and every other rule on a
stream of the raster-centre samples and on its RF pulses, in memory independent of its length
(:mod:`wavegen.safety.stream`; ``streaming=False`` renders it whole first, as arrays are checked).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from wavegen.errors import ConfigError, RangeError, RasterError, ShapeError
from wavegen.limits import SystemLimits
from wavegen.safety.acoustic import acoustic_result, check_acoustic
from wavegen.safety.gradient import (
    check_gradient_amplitude,
    check_gradient_rms,
    check_gradient_slew,
    exceeds,
    rms_result,
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
from wavegen.safety.pwl import PwlGradientCheck
from wavegen.safety.report import RuleResult, SafetyReport
from wavegen.safety.rfpower import RfAmplifier, amplifier_results, check_rf_amplifier
from wavegen.safety.sar import SarCalibration, SarWindow, b1rms_t, sar_limit_w_per_kg, sar_windows
from wavegen.safety.stream import (
    HAVE_STREAM_KERNEL,
    GradientStream,
    PulseTrain,
    definition_digest,
    grad_windows,
    sequence_digest,
)
from wavegen.safety.waveforms import Waveforms, as_waveforms
from wavegen.validate import positive

__all__ = ["check", "MODES", "physical_xyz"]

logger = logging.getLogger(__name__)

MODES = ("normal", "first_level")

_AXES = ("gx", "gy", "gz")
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
            "fail" if exceeds(val, max_b1_t) else "pass",
            val,
            max_b1_t,
            "T",
            f"tx{int(c)}",
            wf.t0_s + (int(i) + 0.5) * wf.rf_raster_s,
            index=int(i),
        ),
    )


def _safe_result(
    rule: str,
    quantity: str,
    model: SafeModel,
    limit_pct: float,
    note: str,
    worst: float,
    i: int,
    per_axis_at_worst: np.ndarray,
    axis_max: np.ndarray,
    t0_s: float,
    dt_s: float,
) -> RuleResult:
    val = 100.0 * worst
    axis = ("gx", "gy", "gz")[int(np.argmax(per_axis_at_worst))]
    per_axis = ", ".join(f"{n} {100 * float(axis_max[k]):.1f} %" for k, n in enumerate("xyz"))
    return RuleResult(
        rule,
        quantity,
        "fail" if exceeds(val, limit_pct) else "pass",
        val,
        limit_pct,
        "%",
        axis,
        t0_s + (i + 0.5) * dt_s,
        note=f"SAFE model {model.name!r}, RSS over axes (per-axis maxima: {per_axis}){note}",
        index=i,
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
    r = _safe_result(
        rule, quantity, model, limit_pct, note, res.max, i, res.per_axis[i], res.per_axis.max(axis=0),
        wf.t0_s, wf.grad_raster_s,
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
    return _iec_results(best_pns, best_car, mode, model, wf.axes, wf.t0_s, dt, shift)


_Best = tuple[float, float, float, int, int, float]


def _iec_results(
    best_pns: _Best,
    best_car: _Best,
    mode: str,
    model: IecPnsModel,
    axes: tuple[str, ...],
    t0_s: float,
    dt: float,
    shift: int,
) -> tuple[RuleResult, ...]:
    """The two IEC rules from the worst (ratio, dB/dt, limit, axis, step, t_eff) of each."""
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
                "fail" if exceeds(float(val), float(worst_lim)) else "pass",
                float(val),
                float(worst_lim),
                "T/s",
                axes[j],
                t0_s + (step + shift) * dt,
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
    def windows(cal: SarCalibration | None) -> tuple[SarWindow, ...]:
        return sar_windows(wf, cal, windows_s=windows_s, periodic=periodic, patient_mass_kg=patient_mass_kg)

    return _sar_results(b1rms_t(wf), wf.duration_s, wf.t0_s, windows, mode, calibrations, periodic,
                        patient_mass_kg)


def _sar_results(
    b1rms: float,
    duration_s: float,
    t0_s: float,
    windows: Callable[[SarCalibration | None], tuple[SarWindow, ...]],
    mode: str,
    calibrations: tuple[SarCalibration, ...],
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
            b1rms,
            float("nan"),
            "T",
            "all tx",
            t0_s,
            note=f"sqrt(integral |B1|^2 dt / {duration_s:.6g} s)",
        )
    )
    if not calibrations:
        for sw in windows(None):
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
        for sw in windows(cal):
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
            verdict = "info" if not math.isfinite(lim) else ("fail" if exceeds(sw.value, lim) else "pass")
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


def _as_sequence(
    obj: Any, grad_raster_s: float | None, rf_b1_t: Any, rf_raster_s: float | None, axes: Any
) -> Any:
    """``obj`` if it is a :class:`wavegen.sequence.Sequence` (rasters given alongside must match)."""
    from wavegen.sequence.sequence import Sequence as _Seq

    if not isinstance(obj, _Seq):
        return None
    if rf_b1_t is not None or axes is not None:
        raise ShapeError("rf_b1_t/axes may only be given with a plain gradient array, not with Waveforms")
    for name, given, own in (
        ("grad_raster_s", grad_raster_s, obj.grad_raster_ns * 1e-9),
        ("rf_raster_s", rf_raster_s, obj.rf_raster_ns * 1e-9 if len(obj._rf.by_id) else None),
    ):
        if given is not None and (own is None or not math.isclose(float(given), own, rel_tol=1e-12)):
            raise RasterError(f"{name} = {given!r} s does not match the waveform's own raster {own!r} s")
    return obj


def _vertices(r: Any) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(p.t, p.v, p.vertex_event) for p in (r._grad[c] for c in ("gx", "gy", "gz"))]


def _pwl_of(seq: Any, zero_edges: bool) -> PwlGradientCheck:
    """The exact amplitude/slew maxima of a sequence (vertices only, block window by block window)."""
    pwl = PwlGradientCheck.for_sequence(seq, zero_edges=zero_edges)
    for r, t_lo, t_hi, _ in grad_windows(seq, render=False):
        pwl.add(_vertices(r), t_lo, t_hi)
    pwl.finish()
    return pwl


def _exact_gradient_rules(
    pwl: PwlGradientCheck,
    limits: SystemLimits,
    max_grad_vector_t_per_m: float | None,
    max_slew_vector_t_per_m_per_s: float | None,
) -> dict[str, RuleResult]:
    """``grad_amplitude``, ``grad_slew`` and their vector rules from the exact waveform."""
    lim = positive(limits.max_grad_t_per_m, "max_grad_t_per_m", "T/m")
    slim = positive(limits.max_slew_t_per_m_per_s, "max_slew_t_per_m_per_s", "T/m/s")
    vlim = None if max_grad_vector_t_per_m is None else positive(
        max_grad_vector_t_per_m, "max_grad_vector_t_per_m", "T/m"
    )
    vslim = None if max_slew_vector_t_per_m_per_s is None else positive(
        max_slew_vector_t_per_m_per_s, "max_slew_vector_t_per_m_per_s", "T/m/s"
    )
    gr = pwl.raster_ns
    note = pwl.note()
    vnote = "no vector limit given; the per-axis limit is the hardware rating"
    out = {}
    val, a, t = (max(pwl.amp[0], 0.0), pwl.amp[1], pwl.amp[2])
    out["grad_amplitude"] = RuleResult(
        "grad_amplitude", "gradient amplitude |G| per axis", "fail" if exceeds(val, lim) else "pass",
        val, lim, "T/m", _AXES[a], pwl.time_s(t), note=note, index=t // gr,
    )
    val, t = max(pwl.amp_vec[0], 0.0), pwl.amp_vec[1]
    out["grad_amplitude_vector"] = RuleResult(
        "grad_amplitude_vector", "gradient vector magnitude |G|",
        "info" if vlim is None else ("fail" if exceeds(val, vlim) else "pass"),
        val, float("nan") if vlim is None else vlim, "T/m", "+".join(_AXES), pwl.time_s(t),
        note=vnote if vlim is None else "exact piecewise-linear waveform", index=t // gr,
    )
    val, a, t = max(pwl.slew[0], 0.0), pwl.slew[1], pwl.slew[2]
    out["grad_slew"] = RuleResult(
        "grad_slew", "gradient slew rate |dG/dt| per axis", "fail" if exceeds(val, slim) else "pass",
        val, slim, "T/m/s", _AXES[a], pwl.time_s(t), note=note, index=round(t / gr),
    )
    val, t = max(pwl.slew_vec[0], 0.0), pwl.slew_vec[1]
    out["grad_slew_vector"] = RuleResult(
        "grad_slew_vector", "gradient slew vector magnitude |dG/dt|",
        "info" if vslim is None else ("fail" if exceeds(val, vslim) else "pass"),
        val, float("nan") if vslim is None else vslim, "T/m/s", "+".join(_AXES), pwl.time_s(t),
        note=vnote if vslim is None else "exact piecewise-linear waveform", index=round(t / gr),
    )
    return out


def _amplifier_unverified() -> RuleResult:
    return RuleResult(
        "rf_amplifier",
        "RF amplifier power and duty cycle",
        "unverified",
        float("nan"),
        float("nan"),
        "W",
        note="no RfAmplifier given: peak/average power and duty cycle not checked",
    )


def _check_sequence(
    seq: Any,
    limits: SystemLimits,
    mode: str,
    hw: GradientHardware,
    model: IecPnsModel | None,
    cals: tuple[SarCalibration, ...],
    patient_mass_kg: float | None,
    sar_windows_s: tuple[float, ...],
    rf_amplifier: RfAmplifier | None,
    max_grad_vector_t_per_m: float | None,
    max_slew_vector_t_per_m_per_s: float | None,
    periodic: bool,
    zero_edges: bool,
    keep_traces: bool,
) -> tuple[list[RuleResult], dict[str, tuple[np.ndarray, np.ndarray, str]]]:
    """Every rule on a sequence streamed in bounded memory (:mod:`wavegen.safety.stream`)."""
    gr = seq.grad_raster_ns
    dt = gr * 1e-9
    ng = -(-seq.duration_ns // gr)
    rms = hw.max_grad_rms_t_per_m is not None and hw.grad_rms_window_s is not None
    gs = GradientStream(
        ng, dt, pns=hw.pns, cardiac=hw.cardiac, iec=model, mode=mode, zero_edges=zero_edges,
        rms_window_s=hw.grad_rms_window_s if rms else None, periodic=periodic, bands=tuple(hw.acoustic_bands),
        keep_traces=keep_traces,
    )
    pwl = PwlGradientCheck.for_sequence(seq, zero_edges=zero_edges)
    for r, t_lo, t_hi, chunks in grad_windows(seq):
        pwl.add(_vertices(r), t_lo, t_hi)
        for c in chunks:
            gs.feed(c)
    pwl.finish()
    gs.finish()
    iec_stream = gs.iec
    if iec_stream is not None and not iec_stream.exact:
        # a step called a slope by the running plateau threshold is a plateau by the final one: again
        tiny = 1e-9 * iec_stream.smax
        again = GradientStream(ng, dt, pns=None, cardiac=None, iec=model, mode=mode, zero_edges=zero_edges,
                               rms_window_s=None, periodic=periodic, bands=(), keep_traces=False)
        assert again.iec is not None
        again.iec.fixed_tiny = tiny
        for _, _, _, chunks in grad_windows(seq):
            for c in chunks:
                again.feed(c)
        again.finish()
        iec_stream = again.iec
    exact = _exact_gradient_rules(pwl, limits, max_grad_vector_t_per_m, max_slew_vector_t_per_m_per_s)
    results: list[RuleResult] = [exact[k] for k in ("grad_amplitude", "grad_amplitude_vector", "grad_slew",
                                                    "grad_slew_vector")]
    traces: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    axes = ("gx", "gy", "gz")
    if rms and gs.rms is not None:
        assert hw.max_grad_rms_t_per_m is not None and hw.grad_rms_window_s is not None
        results += rms_result([w.result() for w in gs.rms], axes, hw.max_grad_rms_t_per_m, hw.grad_rms_window_s,
                              periodic, 0.0)
    if keep_traces and gs.g_trace is not None:
        b = gs.g_trace[0].bucket
        vals = np.stack([e.values() for e in gs.g_trace], axis=1)
        traces["grad_amplitude"] = ((np.arange(vals.shape[0]) + 0.5) * b * dt, vals, "T/m")
    ex = "; EXAMPLE hardware, not a real scanner" if hw.is_example else ""
    if gs.pns is not None and hw.pns is not None:
        p = gs.pns
        results.append(_safe_result("pns_safe", "SAFE PNS prediction", hw.pns, 100.0 * MODE_FACTOR[mode], ex,
                                    p.best[0], p.best[1], p.best[2], p.axis_max, 0.0, dt))
        if p.trace is not None:
            v = p.trace.values()
            traces["pns_safe"] = ((np.arange(v.size) + 0.5) * p.trace.bucket * dt, 100.0 * v, "%")
    if gs.cardiac is not None and hw.cardiac is not None:
        p = gs.cardiac
        results.append(_safe_result("cns_safe", "SAFE cardiac stimulation prediction", hw.cardiac, 100.0, "",
                                    p.best[0], p.best[1], p.best[2], p.axis_max, 0.0, dt))
    if iec_stream is not None and model is not None:
        best_pns: _Best = (-1.0, 0.0, 0.0, 0, 0, 0.0)
        best_car: _Best = (-1.0, 0.0, 0.0, 0, 0, 0.0)
        for j in range(3):
            if not iec_stream.any_segment[j]:
                continue
            r0, v0, l0, k0, te0 = iec_stream.best_pns[j]
            if r0 > best_pns[0]:
                best_pns = (r0, v0, l0, j, k0, te0)
            r1, v1, l1, k1, te1 = iec_stream.best_car[j]
            if r1 > best_car[0]:
                best_car = (r1, v1, l1, j, k1, te1)
        results += _iec_results(best_pns, best_car, mode, model, axes, 0.0, dt, 0 if zero_edges else 1)
    if gs.acoustic is not None:
        results += acoustic_result(gs.acoustic.result(), hw.acoustic_threshold_t_per_m)
    if len(seq._rf.by_id):
        rr = seq.rf_raster_ns
        period = max(ng * gr, -(-seq.duration_ns // rr) * rr)
        train = PulseTrain(seq, period)
        b1, t_b1, i_b1 = train.peak()
        results.append(RuleResult(
            "rf_b1_peak", "RF peak |B1| per transmit channel", "fail" if exceeds(b1, limits.max_b1_t) else "pass",
            b1, limits.max_b1_t, "T", "tx0", t_b1, index=i_b1,
        ))
        if keep_traces and train.S.size:
            pk = np.array([x.peak_b1 for x in train.libs])[train.L]
            traces["rf_b1_peak"] = ((train.S + train.T) * 0.5e-9, pk[:, None], "T")

        def windows(cal: SarCalibration | None) -> tuple[SarWindow, ...]:
            return train.sar_windows(cal, sar_windows_s, periodic, patient_mass_kg, dt)

        b1rms = math.sqrt(train.Etot / (period * 1e-9))
        results += _sar_results(b1rms, period * 1e-9, 0.0, windows, mode, cals, periodic, patient_mass_kg)
        if rf_amplifier is not None:
            results += _amplifier_from_train(train, rf_amplifier, periodic)
        else:
            results.append(_amplifier_unverified())
    return results, traces


def _amplifier_from_train(train: PulseTrain, amp: RfAmplifier, periodic: bool) -> tuple[RuleResult, ...]:
    dt = train.dt_s
    pk, _, idx = train.peak()
    peak = (amp.watts_per_t2 * pk * pk, idx, 0)
    avg = (-1.0, 0.0, 0)
    duty = (-1.0, 0.0, 0)
    pulse = (-1, 0, 0)
    if amp.average_power_w is not None:
        e, st = train.window_max(amp.average_window_s, periodic)
        avg = (amp.watts_per_t2 * e / amp.average_window_s, st, 0)
    if amp.max_duty_cycle is not None:
        train.prepare_on()
        e, st = train.window_max(amp.duty_window_s, periodic, on=True)
        duty = (e / amp.duty_window_s, st, 0)
    if amp.max_pulse_s is not None:
        n_ns, s_ns = train.longest_on(periodic)
        pulse = (round(n_ns / train.rr), round(s_ns / train.rr), 0)
    return amplifier_results(amp, 0.0, dt, peak, avg, duty, pulse)


def _check_waveforms(
    wf: Waveforms,
    limits: SystemLimits,
    mode: str,
    hw: GradientHardware,
    model: IecPnsModel | None,
    cals: tuple[SarCalibration, ...],
    patient_mass_kg: float | None,
    sar_windows_s: tuple[float, ...],
    rf_amplifier: RfAmplifier | None,
    max_grad_vector_t_per_m: float | None,
    max_slew_vector_t_per_m_per_s: float | None,
    periodic: bool,
    zero_edges: bool,
    keep_traces: bool,
) -> tuple[list[RuleResult], dict[str, tuple[np.ndarray, np.ndarray, str]]]:
    """Every rule on samples (the path of arrays, :class:`Waveforms` and ``streaming=False``)."""
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
        if model is not None:
            results += _iec_rules(wf, mode, model, zero_edges)
        results += check_acoustic(wf, hw.acoustic_bands, hw.acoustic_threshold_t_per_m)
    if wf.has_rf:
        results += _check_b1_peak(wf, limits.max_b1_t)
        if keep_traces:
            traces["rf_b1_peak"] = (wf.rf_times_s(), np.abs(wf.rf_channels), "T")
        results += _sar_rules(wf, mode, cals, sar_windows_s, periodic, patient_mass_kg)
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
    return results, traces


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
    streaming: bool = True,
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
    streaming
        For a ``Sequence``: stream it through the rules in bounded memory, RF judged per pulse
        (:mod:`wavegen.safety.stream`; default). ``False`` renders the whole sequence to
        :class:`Waveforms` first (the sample path; memory grows with the length). Either way the
        amplitude and slew of a sequence are judged on its exact piecewise-linear waveform
        (:mod:`wavegen.safety.pwl`), not on samples.

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
    seq = _as_sequence(waveforms, grad_raster_s, rf_b1_t, rf_raster_s, axes)
    # the streamed RF pulse train counts ns: a sequence on a finer time base (a raster between nanoseconds)
    # is checked from its waveforms rendered at the rasters, in memory
    use_stream = (
        bool(streaming) and seq is not None and HAVE_STREAM_KERNEL and seq.duration_ns > 0 and seq.ticks_per_ns == 1
    )
    wf: Waveforms | None = None
    if use_stream and seq is not None:
        has_rf = len(seq._rf.by_id) > 0
    else:
        wf = as_waveforms(
            waveforms, grad_raster_s=grad_raster_s, rf_b1_t=rf_b1_t, rf_raster_s=rf_raster_s, axes=axes
        )
        has_rf = wf.has_rf
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
    if has_rf and patient_mass_kg is not None and not cals:
        raise ConfigError(
            "missing SAR calibration: a patient (patient_mass_kg) is exposed to RF, so absolute SAR is "
            "required; give sar_calibration=SarCalibration(...)"
        )

    model = None if iec is False else (iec if isinstance(iec, IecPnsModel) else IecPnsModel())
    digest: Any
    if wf is None and seq is not None:
        results, traces = _check_sequence(
            seq, limits, mode, hw, model, cals, patient_mass_kg, tuple(sar_windows_s), rf_amplifier,
            max_grad_vector_t_per_m, max_slew_vector_t_per_m_per_s, periodic, zero_edges, keep_traces,
        )
        digest = sequence_digest(seq)
        subject = "sequence:" + definition_digest(seq)
    else:
        subject = ""
        assert wf is not None
        results, traces = _check_waveforms(
            wf, limits, mode, hw, model, cals, patient_mass_kg, tuple(sar_windows_s), rf_amplifier,
            max_grad_vector_t_per_m, max_slew_vector_t_per_m_per_s, periodic, zero_edges, keep_traces,
        )
        if seq is not None:  # amplitude and slew on the exact waveform, not on the samples
            exact = _exact_gradient_rules(
                _pwl_of(seq, zero_edges), limits, max_grad_vector_t_per_m, max_slew_vector_t_per_m_per_s
            )
            results = [exact.get(r.rule, r) for r in results]
        digest = wf.digest()
    if not patient:
        results = [_not_judged(r) if _is_patient_rule(r.rule) else r for r in results]
    report = SafetyReport(tuple(results), mode=mode, digest=digest, traces=traces, subject=subject)
    if report.ok:
        logger.info("safety check (%s): ok, %d rules, %d unverified", mode, len(results), len(report.unverified))
    else:
        logger.info("safety check (%s): %s", mode, report.violations[0].to_error())  # the report says it
    return report
