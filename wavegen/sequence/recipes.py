"""Sequence recipes: common pulses, gradients and small sequences (GRE, EPI, spiral) as a :class:`Sequence`.

Shared by ``wavegen design`` and ``wavegen demo``.

Every recipe takes SI values (the command line parses the human units) and returns a :class:`Design`:
the sequence and a few lines describing it. The recipes only compose :mod:`wavegen.design` functions;
they hold no physics of their own beyond the textbook relations noted where used (k-space extent
``k_max = N / (2 FOV)``, readout area ``N / FOV`` in cycles/m; Bernstein et al., *Handbook of MRI
Pulse Sequences*, 2004, ch. 8, 10, 16, 17).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from wavegen.errors import DesignError, RangeError
from wavegen.limits import SystemLimits
from wavegen.validate import integer, positive

if TYPE_CHECKING:
    from wavegen.sequence import Sequence

__all__ = [
    "LOOP_HEADROOM", "with_loop_headroom", "Design", "RF_KINDS", "SEQUENCE_KINDS", "design_trapezoid", "design_rf",
    "design_gre", "design_epi", "design_spiral",
]

logger = logging.getLogger(__name__)

#: RF pulse families the ``design`` command knows.
RF_KINDS = ("sinc", "slr", "gauss", "block", "hs", "wurst")
#: Small sequences the ``design`` command knows.
SEQUENCE_KINDS = ("gre", "epi", "spiral")


@dataclass
class Design:
    """A designed sequence and its description (lines for the terminal)."""

    seq: Sequence
    title: str
    lines: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "\n".join([self.title, *("  " + ln for ln in self.lines)])

    def __repr__(self) -> str:
        return f"Design({self.title!r}, {self.seq!r})"


def _new_sequence(limits: SystemLimits) -> Any:
    """A sequence on the limits' rasters and gamma, so the file's k-space areas (Hz/m * s) are the designed ones
    (the writer records a non-Pulseq gamma in [DEFINITIONS], and the reader honours it)."""
    from wavegen.sequence import Sequence

    return Sequence(limits, gamma_hz_per_t=limits.gamma_hz_per_t)


def design_trapezoid(
    limits: SystemLimits,
    *,
    area_per_m: float | None = None,
    area_t_s_per_m: float | None = None,
    duration_s: float | None = None,
    axis: str = "gx",
) -> Design:
    """One trapezoid for a gradient area (cycles/m or T*s/m), shortest or of a given duration."""
    from wavegen import design

    if (area_per_m is None) == (area_t_s_per_m is None):
        raise RangeError("give exactly one area: in cycles/m (e.g. '1000 /m') or in T*s/m (e.g. '10 mT*ms/m')")
    if axis not in ("gx", "gy", "gz"):
        raise RangeError(f"axis must be gx, gy or gz, got {axis!r}")
    if duration_s is None:
        g = design.shortest_trapezoid(limits, area_per_m=area_per_m, area_t_s_per_m=area_t_s_per_m)
    else:
        g = design.trapezoid_for_duration(limits, duration_s, area_per_m=area_per_m, area_t_s_per_m=area_t_s_per_m)
    seq = _new_sequence(limits)
    seq.add_block(**{axis: g})
    area = g.area_t_s_per_m
    return Design(
        seq,
        f"trapezoid on {axis}",
        [
            f"duration    {g.duration_s * 1e6:.0f} us (rise {g.rise_time_s * 1e6:.0f}, flat "
            f"{g.flat_time_s * 1e6:.0f}, fall {g.fall_time_s * 1e6:.0f} us)",
            f"amplitude   {g.amplitude_t_per_m * 1e3:.4f} mT/m",
            f"area        {area * 1e6:.6g} mT*ms/m = {area * limits.gamma_hz_per_t:.6g} cycles/m",
        ],
    )


def _rf_pulse(
    kind: str,
    limits: SystemLimits,
    *,
    flip_rad: float,
    duration_s: float,
    tbw: float,
    bandwidth_hz: float | None,
    b1_max_t: float | None,
    use: str = "excitation",
) -> Any:
    from wavegen import design

    if kind == "sinc":
        return design.sinc_pulse(flip_rad, duration_s, tbw, limits=limits, use=use)  # type: ignore[arg-type]
    if kind == "slr":
        return design.slr_pulse(flip_rad, duration_s, tbw, limits=limits)
    if kind == "gauss":
        return design.gauss_pulse(flip_rad, duration_s, tbw, limits=limits, use=use)  # type: ignore[arg-type]
    if kind == "block":
        return design.block_pulse(flip_rad, duration_s, limits=limits, use=use)  # type: ignore[arg-type]
    bw = bandwidth_hz if bandwidth_hz is not None else 4e3
    b1 = b1_max_t if b1_max_t is not None else 0.5 * limits.max_b1_t
    if kind == "hs":
        return design.hyperbolic_secant_pulse(duration_s, bw, b1, limits=limits)
    if kind == "wurst":
        return design.wurst_pulse(duration_s, bw, b1, limits=limits)
    raise RangeError(f"unknown RF pulse kind {kind!r}; known: {', '.join(RF_KINDS)}")


def _excitation(seq: Sequence, limits: SystemLimits, rf: Any, slice_m: float | None) -> tuple[list[str], Any]:
    """Add the RF block (with slice select when ``slice_m``); return description lines and the rephaser."""
    from wavegen import design

    lines = [
        f"RF          {rf.duration_s * 1e3:.3g} ms, peak |B1| {np.max(np.abs(rf.b1_t)) * 1e6:.3f} uT"
        + (f", bandwidth {rf.bandwidth_hz:.0f} Hz" if rf.bandwidth_hz else "")
    ]
    if slice_m is None:
        seq.add_block(rf)
        return lines, None
    gz = design.slice_select_gradient(rf, slice_m, limits)
    rf = rf.replace(delay_s=gz.rise_time_s)
    seq.add_block(rf, gz=gz)
    reph = design.shortest_trapezoid(limits, area_t_s_per_m=design.slice_refocus_area_t_s_per_m(gz, rf))
    lines.append(f"slice       {slice_m * 1e3:.3g} mm, gz {gz.amplitude_t_per_m * 1e3:.3f} mT/m, rephaser "
                 f"{reph.duration_s * 1e6:.0f} us")
    return lines, reph


def design_rf(
    kind: str,
    limits: SystemLimits,
    *,
    flip_rad: float = math.pi / 2,
    duration_s: float = 3e-3,
    tbw: float = 4.0,
    slice_m: float | None = None,
    bandwidth_hz: float | None = None,
    b1_max_t: float | None = None,
) -> Design:
    """An RF pulse (sinc, SLR, Gauss, block, HS, WURST), with slice select and rephaser if ``slice_m``."""
    positive(duration_s, "duration", "s")
    rf = _rf_pulse(kind, limits, flip_rad=flip_rad, duration_s=duration_s, tbw=tbw, bandwidth_hz=bandwidth_hz,
                   b1_max_t=b1_max_t)
    seq = _new_sequence(limits)
    lines, reph = _excitation(seq, limits, rf, slice_m)
    if reph is not None:
        seq.add_block(gz=reph)
    title = f"{kind} pulse"
    if kind not in ("hs", "wurst"):
        title += f", {math.degrees(flip_rad):.4g} deg"
        actual = math.degrees(rf.on_resonance_flip_rad())
        if abs(actual - math.degrees(flip_rad)) > 0.05:  # e.g. an SLR pulse: its passband ripple shows at 0 Hz
            title += f" requested, {actual:.4g} deg on resonance (Bloch)"
    return Design(seq, title, lines)


def _adc(n: int, dwell_s: float, delay_s: float = 0.0) -> Any:
    from wavegen.limits import seconds_to_ticks
    from wavegen.sequence import ADCEvent

    return ADCEvent(n, seconds_to_ticks(dwell_s, name="dwell"), seconds_to_ticks(delay_s, name="ADC delay"))


def _common(limits: SystemLimits, fov_m: float, matrix: int) -> tuple[float, int]:
    positive(fov_m, "fov", "m")
    integer(matrix, "matrix", minimum=4)
    return 1.0 / fov_m, matrix


def design_gre(
    limits: SystemLimits,
    *,
    fov_m: float = 0.256,
    matrix: int = 64,
    slice_m: float | None = 5e-3,
    flip_rad: float = math.radians(15),
    tr_s: float | None = None,
    dwell_s: float = 20e-6,
    rf_duration_s: float = 2e-3,
) -> Design:
    """A 2D spoiled gradient echo: sinc excitation, phase encoding over ``matrix`` lines, readout, spoiler."""
    from wavegen import design
    from wavegen.sequence import Delay

    dk, n = _common(limits, fov_m, matrix)
    positive(dwell_s, "dwell", "s")
    rf = design.sinc_pulse(flip_rad, rf_duration_s, 4.0, limits=limits)
    ro_time = n * dwell_s
    ro_time = math.ceil(round(ro_time / limits.grad_raster_s, 6)) * limits.grad_raster_s
    gx = design.readout_trapezoid(limits, ro_time, flat_area_per_m=n * dk)
    gx_pre = design.shortest_trapezoid(limits, area_per_m=-0.5 * gx.area_t_s_per_m * limits.gamma_hz_per_t)
    gy_max = design.shortest_trapezoid(limits, area_per_m=n / 2 * dk)
    gz_reph_ref = _excitation(_new_sequence(limits), limits, rf, slice_m)[1]
    t_pe = max(gx_pre.duration_s, gy_max.duration_s, gz_reph_ref.duration_s if gz_reph_ref is not None else 0.0)
    spoil = design.shortest_trapezoid(limits, area_per_m=4 * n * dk)
    seq = _new_sequence(limits)
    lines: list[str] = []
    tr_min = 0.0
    for i in range(n):
        start = seq.duration_s
        lines, reph = _excitation(seq, limits, rf, slice_m)
        area_y = (i - n // 2) * dk
        gy = design.trapezoid_for_duration(limits, t_pe, area_per_m=area_y) if area_y else None
        gx_p = design.trapezoid_for_duration(limits, t_pe, area_t_s_per_m=gx_pre.area_t_s_per_m)
        gz_r = design.trapezoid_for_duration(limits, t_pe, area_t_s_per_m=reph.area_t_s_per_m) if reph else None
        seq.add_block(gx=gx_p, gy=gy, gz=gz_r)
        seq.add_block(_adc(n, dwell_s, gx.rise_time_s + (gx.flat_time_s - n * dwell_s) / 2), gx=gx)
        gy_r = design.trapezoid_for_duration(limits, t_pe, area_per_m=-area_y) if area_y else None
        # every TR equally long: the rewinder block lasts as long whether or not this line has a rewinder
        from wavegen.limits import seconds_to_ticks

        last_ns = seconds_to_ticks(max(spoil.duration_s, t_pe), name="spoiler block")
        seq.add_block(Delay(last_ns), gy=gy_r, gz=spoil)
        tr_min = max(tr_min, seq.duration_s - start)
        if tr_s is not None:
            if tr_s < tr_min - 1e-12:
                raise DesignError(f"TR = {tr_s * 1e3:.4g} ms is shorter than the minimum {tr_min * 1e3:.4g} ms")
            if tr_s > tr_min + 1e-9:
                from wavegen.limits import seconds_to_ticks

                pad_ns = seconds_to_ticks(tr_s - tr_min, name="TR padding")
                pad_ns = -(-pad_ns // limits.block_raster_ns) * limits.block_raster_ns
                seq.add_block(Delay(pad_ns))
    tr = seq.duration_s / n
    lines += [
        f"FOV         {fov_m * 1e3:.4g} mm, matrix {n}x{n}, readout {gx.amplitude_t_per_m * 1e3:.3f} mT/m over "
        f"{ro_time * 1e3:.3g} ms (dwell {dwell_s * 1e6:.4g} us)",
        f"TR          {tr * 1e3:.3f} ms (minimum {tr_min * 1e3:.3f} ms); total {seq.duration_s:.4g} s",
    ]
    return Design(seq, f"2D GRE, {math.degrees(flip_rad):.4g} deg", lines)


def design_epi(
    limits: SystemLimits,
    *,
    fov_m: float = 0.256,
    matrix: int = 64,
    slice_m: float | None = 5e-3,
    flip_rad: float = math.pi / 2,
    dwell_s: float = 4e-6,
    rf_duration_s: float = 2e-3,
) -> Design:
    """A single-shot 2D EPI: excitation, prephasers, ``matrix`` alternating readouts joined by blips."""
    from wavegen import design

    dk, n = _common(limits, fov_m, matrix)
    rf = design.sinc_pulse(flip_rad, rf_duration_s, 4.0, limits=limits)
    ro_time = math.ceil(round(n * dwell_s / limits.grad_raster_s, 6)) * limits.grad_raster_s
    gx = design.readout_trapezoid(limits, ro_time, flat_area_per_m=n * dk)
    gamma = limits.gamma_hz_per_t
    gx_pre = design.shortest_trapezoid(limits, area_per_m=-0.5 * gx.area_t_s_per_m * gamma)
    gy_pre = design.shortest_trapezoid(limits, area_per_m=-(n // 2) * dk)
    blip = design.shortest_trapezoid(limits, area_per_m=dk)
    seq = _new_sequence(limits)
    lines, reph = _excitation(seq, limits, rf, slice_m)
    t_pre = max(gx_pre.duration_s, gy_pre.duration_s, reph.duration_s if reph is not None else 0.0)
    seq.add_block(
        gx=design.trapezoid_for_duration(limits, t_pre, area_t_s_per_m=gx_pre.area_t_s_per_m),
        gy=design.trapezoid_for_duration(limits, t_pre, area_t_s_per_m=gy_pre.area_t_s_per_m),
        gz=design.trapezoid_for_duration(limits, t_pre, area_t_s_per_m=reph.area_t_s_per_m) if reph else None,
    )
    adc = _adc(n, dwell_s, gx.rise_time_s + (gx.flat_time_s - n * dwell_s) / 2)
    neg = design.trapezoid_for_amplitude(limits, -gx.amplitude_t_per_m, gx.flat_time_s)
    t0 = seq.duration_s
    for i in range(n):
        seq.add_block(adc, gx=gx if i % 2 == 0 else neg)
        if i < n - 1:
            seq.add_block(gy=blip)
    echo_train = seq.duration_s - t0
    lines.append(f"FOV         {fov_m * 1e3:.4g} mm, matrix {n}x{n}, readout {gx.amplitude_t_per_m * 1e3:.3f} "
                 f"mT/m, echo spacing {(gx.duration_s + blip.duration_s) * 1e3:.3f} ms")
    lines.append(f"echo train  {echo_train * 1e3:.3f} ms; total {seq.duration_s * 1e3:.3f} ms")
    return Design(seq, f"single-shot 2D EPI, {math.degrees(flip_rad):.4g} deg", lines)


#: Fractions of the gradient and slew limits a sequence meant for the hardware loop is designed at.
#: Pre-compensation sharpens every corner (the drive must lead the hardware's lag), so a waveform at the
#: slew limit leaves the loop no room: every correction would be refused by the interlock.
LOOP_HEADROOM = (0.75, 0.4)


def with_loop_headroom(limits: SystemLimits) -> SystemLimits:
    """``limits`` with :data:`LOOP_HEADROOM` taken off the gradient amplitude and slew (the design
    limits of a sequence meant for the loop; the bench still checks against the full ``limits``)."""
    g, s = LOOP_HEADROOM
    return limits.replace(max_grad_t_per_m=limits.max_grad_t_per_m * g,
                          max_slew_t_per_m_per_s=limits.max_slew_t_per_m_per_s * s)


def design_spiral(
    limits: SystemLimits,
    *,
    fov_m: float = 0.256,
    matrix: int = 64,
    turns: float | None = None,
    slice_m: float | None = 5e-3,
    flip_rad: float = math.radians(30),
    dwell_s: float = 10e-6,
    rf_duration_s: float = 2e-3,
    slew_fraction: float = 0.5,
) -> Design:
    """A single-shot Archimedean spiral out, time-optimal (Lustig et al. 2008), ending at rest.

    The spiral uses ``slew_fraction`` of the slew limit: a spiral slews continuously, and at full slew
    it stimulates (SAFE model: a long constant slew of about 86 T/m/s reaches 100 % on the example
    hardware); 0.5 keeps a 64-matrix spiral near 60 % of the stimulation threshold.
    """
    from wavegen import design

    if not (isinstance(slew_fraction, (int, float)) and 0 < slew_fraction <= 1):
        raise RangeError(f"slew_fraction = {slew_fraction!r} must be in (0, 1]")

    dk, n = _common(limits, fov_m, matrix)
    k_max = n * dk / 2
    n_turns = float(turns) if turns is not None else n / 4
    positive(n_turns, "turns", "")
    k = design.archimedean_spiral(k_max, n_turns, max(400, int(200 * n_turns)))
    slow = limits.replace(max_slew_t_per_m_per_s=limits.max_slew_t_per_m_per_s * slew_fraction)
    g = design.min_time_gradient(k, slow, g_end_t_per_m=0.0)
    rf = design.sinc_pulse(flip_rad, rf_duration_s, 4.0, limits=limits)
    seq = _new_sequence(limits)
    lines, reph = _excitation(seq, limits, rf, slice_m)
    if reph is not None:
        seq.add_block(gz=reph)
    raster = limits.grad_raster_s
    gx = design.ArbitraryGradient(g[:, 0], raster)
    gy = design.ArbitraryGradient(g[:, 1], raster)
    t_read = g.shape[0] * raster
    n_adc = int(t_read // dwell_s)
    seq.add_block(_adc(n_adc, dwell_s), gx=gx, gy=gy)
    # rewind k-space to the centre (the spiral ends at rest, at k_max)
    kx_end = float(np.sum(g[:, 0]) * raster)
    ky_end = float(np.sum(g[:, 1]) * raster)
    rx = design.shortest_trapezoid(limits, area_t_s_per_m=-kx_end) if abs(kx_end) > 1e-12 else None
    ry = design.shortest_trapezoid(limits, area_t_s_per_m=-ky_end) if abs(ky_end) > 1e-12 else None
    if rx is not None or ry is not None:
        seq.add_block(gx=rx, gy=ry)
    peak_g = float(np.max(np.hypot(g[:, 0], g[:, 1])))
    lines.append(f"spiral      {n_turns:.4g} turns to k_max {k_max:.4g} cycles/m, readout {t_read * 1e3:.3f} ms, "
                 f"peak |G| {peak_g * 1e3:.3f} mT/m, {n_adc} ADC samples")
    lines.append(f"total       {seq.duration_s * 1e3:.3f} ms")
    return Design(seq, "single-shot spiral", lines)
