"""Plots a pulse designer expects (matplotlib, imported on first use).

- :func:`plot_sequence`: gradients (mT/m), RF magnitude (uT) and phase (rad), ADC gate against time, in
  a time window. Only the blocks inside the window are rendered (:meth:`Sequence.slice_blocks`); when
  the window holds more samples than the plot can show, each pixel column is drawn as the min/max
  envelope of its samples, so a long sequence plots in bounded time and memory.
- :func:`kspace` and :func:`plot_kspace`: the k-space trajectory ``k(t) = gamma * int G dt`` with the
  ADC samples marked (reset at each excitation, negated at each refocusing pulse, as Pulseq's
  ``calculate_kspace`` does).
- :func:`plot_rf_pulse`: an RF pulse's magnitude and phase and its Bloch profile.
- :func:`plot_gradient`: one gradient event's amplitude and slew with the limits.
- :func:`plot_safety` and :func:`plot_worst_spot`: a safety report's traces (amplitude and slew per
  axis, PNS, B1) with labelled limit lines, and a zoom on the worst sample of one rule.

Human units on every axis: ms (s for windows over 10 s), mT/m, T/m/s, uT. Objects are read by their
public attributes (duck typing), so this module imports no other part of wavegen at module level and
importing wavegen never imports matplotlib.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import RangeError

__all__ = [
    "KSpace",
    "kspace",
    "plot_gradient",
    "plot_kspace",
    "plot_rf_pulse",
    "plot_safety",
    "plot_sequence",
    "plot_worst_spot",
    "pyplot",
    "sequence_window",
    "time_scale",
]

#: Plotted points per channel: above this many samples in the window, a min/max envelope per column.
MAX_COLUMNS = 2000
#: Samples rendered per channel at most; a longer window is rendered at a lower rate (envelope).
MAX_RENDER_SAMPLES = 2_000_000
_CHUNK = 1 << 18

#: colours per gradient axis, the same in every plot
AXIS_COLORS = {"gx": "C0", "gy": "C1", "gz": "C2"}


def pyplot() -> Any:
    """``matplotlib.pyplot``, with the Agg backend when there is no display (imported on use)."""
    import os

    import matplotlib

    backend = matplotlib.get_backend().lower()
    if "inline" not in backend and backend != "agg" and not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def time_scale(duration_s: float) -> tuple[float, str]:
    """``(factor, unit)`` for a time axis: ms up to 10 s, s beyond."""
    return (1.0, "s") if duration_s > 10.0 else (1e3, "ms")


def _seconds(x: Any, what: str) -> Fraction:
    """A time as an exact Fraction of a second: a number (s) or a quantity string (``"12 ms"``)."""
    if isinstance(x, str):
        from wavegen.units import parse_quantity

        x = parse_quantity(x, "s", name=what)
    if isinstance(x, Fraction):
        return x
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x):
        raise RangeError(f"{what} = {x!r} must be a time in s (a number) or a quantity such as \"12 ms\"")
    return Fraction(repr(float(x))) if not isinstance(x, (int, np.integer)) else Fraction(int(x))


def sequence_window(seq: Any, window: Any) -> tuple[int, int]:
    """``window`` as integer ns ``(start, end)`` within the sequence.

    ``window`` is ``None`` (the whole sequence), a pair ``(start, end)`` of seconds or quantity strings
    (``("10 ms", "20 ms")``), or an object with ``start_ns``/``end_ns`` (a bench ``Window``).
    """
    dur = int(seq.duration_ns)
    if dur <= 0:
        raise RangeError("the sequence is empty: nothing to plot")
    if window is None:
        return 0, dur
    if hasattr(window, "start_ns") and hasattr(window, "end_ns"):
        a, b = Fraction(window.start_ns), Fraction(window.end_ns)
    else:
        try:
            w0, w1 = window
        except (TypeError, ValueError):
            raise RangeError(f"window = {window!r}: give (start, end), e.g. (0.01, 0.02) s or (\"10 ms\", \"20 ms\")")\
                from None
        a, b = _seconds(w0, "window start") * 10**9, _seconds(w1, "window end") * 10**9
    start, end = max(0, math.floor(a)), min(dur, math.ceil(b))
    if not start < end:
        raise RangeError(f"window {float(a) * 1e-6:g} ms..{float(b) * 1e-6:g} ms holds nothing of the "
                         f"{dur * 1e-6:g} ms sequence (need start < end, inside it)")
    return start, end


def _visible(seq: Any, start_ns: int, end_ns: int) -> tuple[Any, int, int, int]:
    """The blocks overlapping ``[start_ns, end_ns)`` as their own sequence, its offset, and the block range."""
    starts = np.asarray(seq.block_starts_ns)
    b0 = max(0, int(np.searchsorted(starts, start_ns, side="right")) - 1)
    b1 = max(b0 + 1, int(np.searchsorted(starts, end_ns, side="left")))
    sub = seq.slice_blocks(b0, b1) if (b0, b1) != (0, len(seq)) else seq
    return sub, int(starts[b0]), b0, b1


@dataclass
class _Trace:
    """One channel over a window: raw samples, or a min/max envelope per column."""

    t_s: np.ndarray  # sample times, or column start times, s from the sequence start
    lo: np.ndarray
    hi: np.ndarray
    at_peak: np.ndarray | None  # RF: the complex sample of largest magnitude per column
    enveloped: bool
    rate_hz: float


def _render_window(
    sub: Any, offset_ns: int, start_ns: int, end_ns: int, channels: tuple[str, ...], rate: Fraction,
    columns: int,
) -> dict[str, _Trace]:
    """Render ``channels`` of ``sub`` on ``[start_ns, end_ns)`` at ``rate`` (capped to the budget), reduced
    to at most ``columns`` points (min/max per column) when there are more samples than that."""
    span = Fraction(end_ns - start_ns, 10**9)
    if span * rate > MAX_RENDER_SAMPLES:
        rate = Fraction(MAX_RENDER_SAMPLES) / span
        rate = Fraction(max(1, math.floor(rate)))
    n = max(1, math.ceil(span * rate))
    t0 = Fraction(start_ns - offset_ns, 10**9)
    per = max(1, -(-n // columns))  # samples per column
    enveloped = per > 1
    nb = -(-n // per)
    chunk = max(per, (_CHUNK // per) * per)
    lo = {c: np.zeros(nb) for c in channels}
    hi = {c: np.zeros(nb) for c in channels}
    peak = {c: np.zeros(nb, dtype=np.complex128) for c in channels if c == "rf"}
    done = 0
    for part in sub.render_chunks(rate, channels, chunk_samples=chunk, t0_s=t0, n_samples=n):
        m = next(iter(part.values())).size
        j0 = done // per
        nbc = -(-m // per)
        for c in channels:
            x = part[c]
            if c == "rf":
                pad = np.zeros(nbc * per, dtype=np.complex128)
                pad[:m] = x
                cols = pad.reshape(nbc, per)
                mag = np.abs(cols)
                k = np.argmax(mag, axis=1)
                peak[c][j0:j0 + nbc] = cols[np.arange(nbc), k]
                lo[c][j0:j0 + nbc] = mag.min(axis=1) if m == nbc * per else _partial(mag, m, per, np.min)
                hi[c][j0:j0 + nbc] = mag.max(axis=1)
            else:
                xf = x.astype(np.float64)
                edges = np.arange(0, m, per)
                lo[c][j0:j0 + nbc] = np.minimum.reduceat(xf, edges)
                hi[c][j0:j0 + nbc] = np.maximum.reduceat(xf, edges)
        done += m
    t = (float(start_ns) * 1e-9) + np.arange(nb) * (per / float(rate))
    return {c: _Trace(t, lo[c], hi[c], peak.get(c), enveloped, float(rate)) for c in channels}


def _partial(mag: np.ndarray, m: int, per: int, fn: Any) -> np.ndarray:
    """Column minima when the last column is only partly filled (ignore the padding)."""
    out = fn(mag, axis=1)
    last = m - (mag.shape[0] - 1) * per
    out[-1] = fn(mag[-1, :last])
    return out


def plot_sequence(
    seq: Any,
    window: Any = None,
    ax: Any = None,
    *,
    channels: tuple[str, ...] = ("adc", "rf", "phase", "gx", "gy", "gz"),
    columns: int = MAX_COLUMNS,
    title: str | None = None,
) -> Any:
    """Plot a sequence (or a time window of it) the way a pulse designer reads it.

    Parameters
    ----------
    seq
        A :class:`wavegen.sequence.Sequence`.
    window
        ``(start, end)`` in s or as quantities (``("10 ms", "20 ms")``), or ``None`` for all of it.
    ax
        One matplotlib Axes per row (a sequence of ``len(channels)``), or ``None`` for a new figure.
    channels
        Rows, from ``adc`` (gate), ``rf`` (``|B1|``, uT), ``phase`` (RF phase, rad), ``gx gy gz`` (mT/m).
    columns
        Points per channel at most: a window with more samples is drawn as a min/max envelope per
        column (the RF phase then at each column's largest ``|B1|``).
    title
        Figure title (default: the window and what was rendered).

    Returns
    -------
    matplotlib.figure.Figure
        With ``fig.wavegen_info``: the blocks rendered (``blocks``: first, stop), the render rates
        (``rate_hz``) and whether each channel is an envelope (``enveloped``).

    Notes
    -----
    Gradients are rendered at twice the gradient raster rate, so every vertex of a trapezoid or an
    arbitrary gradient (raster edges and centres) is a plotted sample and straight lines between them are
    the waveform; RF at its raster, drawn as steps (each sample held over its cell, as the RF DAC plays
    it). A window with more than :data:`MAX_RENDER_SAMPLES` samples is rendered at a lower rate.
    """
    known = ("adc", "rf", "phase", "gx", "gy", "gz")
    for c in channels:
        if c not in known:
            raise RangeError(f"plot_sequence: unknown channel {c!r}; choose from {', '.join(known)}")
    if not channels:
        raise RangeError("plot_sequence: no channel to plot")
    start_ns, end_ns = sequence_window(seq, window)
    sub, offset_ns, b0, b1 = _visible(seq, start_ns, end_ns)
    grads = tuple(c for c in ("gx", "gy", "gz") if c in channels)
    rfch = tuple(c for c in ("rf", "adc") if c in channels or (c == "rf" and "phase" in channels))
    traces: dict[str, _Trace] = {}
    if grads:
        traces.update(_render_window(sub, offset_ns, start_ns, end_ns, grads,
                                     Fraction(2 * 10**9, int(seq.grad_raster_ns)), columns))
    if rfch:
        traces.update(_render_window(sub, offset_ns, start_ns, end_ns, rfch,
                                     Fraction(10**9, int(seq.rf_raster_ns)), columns))
    plt = pyplot()
    if ax is None:
        heights = [0.5 if c == "adc" else 1.0 for c in channels]
        fig, axs = plt.subplots(len(channels), 1, sharex=True, figsize=(10, 1.0 + 1.35 * sum(heights)),
                                gridspec_kw={"height_ratios": heights}, squeeze=False)
        axes = list(axs[:, 0])
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != len(channels):
            raise RangeError(f"plot_sequence: ax has {len(axes)} axes for {len(channels)} rows ({', '.join(channels)})")
        fig = axes[0].figure
    span_s = (end_ns - start_ns) * 1e-9
    ts, tu = time_scale(span_s)
    for a, c in zip(axes, channels, strict=True):
        if c in AXIS_COLORS:
            tr = traces[c]
            _draw(a, tr, 1e3, ts, AXIS_COLORS[c], c)
            a.set_ylabel(f"{c} (mT/m)")
        elif c == "rf":
            tr = traces["rf"]
            _draw(a, tr, 1e6, ts, "C3", "|B1|", step=True)
            a.set_ylabel("|B1| (uT)")
        elif c == "phase":
            tr = traces["rf"]
            z = tr.at_peak if tr.at_peak is not None else tr.hi
            on = np.abs(z) > 0
            ph = np.where(on, np.angle(z), np.nan)
            a.plot(tr.t_s * ts, ph, ".", ms=1.5, color="C4", label="RF phase")
            a.set_ylim(-math.pi * 1.1, math.pi * 1.1)
            a.set_ylabel("phase (rad)")
        else:  # adc
            tr = traces["adc"]
            a.fill_between(tr.t_s * ts, 0, tr.hi.astype(float), step="post", color="C5", alpha=0.6, lw=0,
                           label="ADC")
            a.set_ylim(-0.1, 1.2)
            a.set_yticks([0, 1])
            a.set_ylabel("ADC")
        a.grid(alpha=0.3)
    axes[-1].set_xlabel(f"time ({tu})")
    axes[-1].set_xlim(start_ns * 1e-9 * ts, end_ns * 1e-9 * ts)
    env = any(t.enveloped for t in traces.values())
    if title is None:
        title = (f"{start_ns * 1e-9 * ts:.6g}..{end_ns * 1e-9 * ts:.6g} {tu}: blocks {b0}..{b1 - 1} of {len(seq)}"
                 + (" (min/max envelope per column)" if env else ""))
    if ax is None:
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
    fig.wavegen_info = {"blocks": (b0, b1), "rate_hz": {c: t.rate_hz for c, t in traces.items()},
                        "enveloped": {c: t.enveloped for c, t in traces.items()}}
    return fig


def _draw(a: Any, tr: _Trace, scale: float, ts: float, color: str, label: str, step: bool = False) -> None:
    x = tr.t_s * ts
    if tr.enveloped:
        a.fill_between(x, tr.lo * scale, tr.hi * scale, step="post", color=color, alpha=0.8, lw=0.6, label=label)
    elif step:
        a.step(x, tr.hi * scale, where="post", color=color, lw=0.9, label=label)
    else:
        a.plot(x, tr.hi * scale, color=color, lw=0.9, label=label)


# --- k-space ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KSpace:
    """A k-space trajectory (Pulseq convention: cycles per metre, ``k = gamma * int G dt``).

    Attributes
    ----------
    t_s : ndarray
        Times of the trajectory points, s from the sequence start (thinned for long windows).
    k_per_m : ndarray
        ``(n, 3)`` kx, ky, kz at ``t_s``, 1/m.
    t_adc_s : ndarray
        Every ADC sample time in the window (sample centres ``delay + (i + 0.5) * dwell``), s.
    k_adc_per_m : ndarray
        ``(m, 3)`` k at each ADC sample, 1/m.
    """

    t_s: np.ndarray
    k_per_m: np.ndarray
    t_adc_s: np.ndarray
    k_adc_per_m: np.ndarray


_MAX_TRAJECTORY_POINTS = 200_000


def kspace(seq: Any, window: Any = None) -> KSpace:
    """The k-space trajectory of ``seq`` in ``window`` (default: all of it), with k at every ADC sample.

    The gradients (physical axes) are rendered at twice the gradient raster rate, where every vertex
    of the piecewise-linear waveform is a sample, and integrated by the trapezoid rule (exact for a
    piecewise-linear waveform); only the blocks in the window are rendered, in chunks. ``k`` starts
    at 0 at the window's start, is set to 0 at the centre of every excitation (and undefined-use)
    pulse and negated at the centre of every refocusing pulse.
    """
    start_ns, end_ns = sequence_window(seq, window)
    sub, offset_ns, b0, b1 = _visible(seq, start_ns, end_ns)
    gamma = float(seq.gamma_hz_per_t)
    rate = Fraction(2 * 10**9, int(seq.grad_raster_ns))
    span = Fraction(end_ns - start_ns, 10**9)
    n = math.ceil(span * rate) + 1  # include the end point
    dt = 1.0 / float(rate)
    # ADC sample times and RF centres in the window (s from the sequence start)
    starts = np.asarray(seq.block_starts_ns)
    adc_t: list[np.ndarray] = []
    rf_events: list[tuple[float, str]] = []
    for b in range(b0, b1):
        blk = seq.block(b)
        s = int(starts[b])
        if blk.adc is not None:
            a = blk.adc
            adc_t.append((s + a.delay_ns + (np.arange(a.num_samples) + 0.5) * a.dwell_ns) * 1e-9)
        if blk.rf is not None:
            rf_events.append(((s + blk.rf.delay_ns + blk.rf.center_us * 1e3) * 1e-9, str(blk.rf.use)))
    t_adc = np.concatenate(adc_t) if adc_t else np.zeros(0)
    t_adc = t_adc[(t_adc >= start_ns * 1e-9) & (t_adc <= end_ns * 1e-9)]
    t_rf = np.array([t for t, _ in rf_events])
    stride = max(1, -(-n // _MAX_TRAJECTORY_POINTS))
    keep_t: list[np.ndarray] = []
    keep_k: list[np.ndarray] = []
    k_adc = np.zeros((t_adc.size, 3))
    k_rf = np.zeros((t_rf.size, 3))
    carry = np.zeros(3)
    prev_g: np.ndarray | None = None
    prev_t = 0.0
    done = 0
    t0 = Fraction(start_ns - offset_ns, 10**9)
    for part in sub.render_chunks(rate, ("gx", "gy", "gz"), chunk_samples=_CHUNK, t0_s=t0, n_samples=n):
        g = np.stack([part["gx"], part["gy"], part["gz"]], axis=1)
        m = g.shape[0]
        t = start_ns * 1e-9 + (done + np.arange(m)) * dt
        if prev_g is not None:
            g2 = np.vstack([prev_g, g])
            t2 = np.concatenate([[prev_t], t])
        else:
            g2, t2 = g, t
        inc = np.zeros_like(g2)
        inc[1:] = np.cumsum(0.5 * (g2[1:] + g2[:-1]) * dt, axis=0)
        k2 = carry + inc  # with a previous chunk, row 0 is its last sample (k = carry)
        for arr_t, arr_k in ((t_adc, k_adc), (t_rf, k_rf)):
            if arr_t.size:
                sel = (arr_t >= t2[0]) & (arr_t <= t2[-1])
                if sel.any():
                    for j in range(3):
                        arr_k[sel, j] = np.interp(arr_t[sel], t2, k2[:, j])
        idx = np.arange(done, done + m)
        pick = (idx % stride) == 0
        keep_t.append(t[pick])
        keep_k.append(k2[-m:][pick])
        carry = k2[-1].copy()
        prev_g, prev_t = g[-1:].copy(), float(t[-1])
        done += m
    traj_t = np.concatenate(keep_t) if keep_t else np.zeros(0)
    traj_k = gamma * (np.concatenate(keep_k) if keep_k else np.zeros((0, 3)))
    k_adc *= gamma
    k_rf *= gamma
    # offsets per segment between RF centres: excitation -> 0 at its centre; refocusing -> negated
    offsets = np.zeros((t_rf.size + 1, 3))
    for i, (_, use) in enumerate(rf_events):
        c_prev = offsets[i]
        if use in ("e", "u", "excitation", "undefined"):
            offsets[i + 1] = k_rf[i]
        elif use in ("r", "refocusing"):
            offsets[i + 1] = 2 * k_rf[i] - c_prev
        else:
            offsets[i + 1] = c_prev

    def apply(t: np.ndarray, k: np.ndarray) -> np.ndarray:
        seg = np.searchsorted(t_rf, t, side="right") if t_rf.size else np.zeros(t.size, dtype=int)
        # k = K - C for excitation-led segments; after a refocusing pulse, k = K - (2 K_r - C_prev)
        return k - offsets[seg]

    return KSpace(traj_t, apply(traj_t, traj_k), t_adc, apply(t_adc, k_adc))


def plot_kspace(seq: Any, window: Any = None, ax: Any = None, *, axes: tuple[str, str] = ("kx", "ky")) -> Any:
    """Plot the k-space trajectory (grey line) with the ADC samples marked (dots coloured by time).

    Parameters
    ----------
    seq
        A :class:`wavegen.sequence.Sequence`.
    window
        As :func:`plot_sequence`.
    ax
        A matplotlib Axes, or ``None`` for a new figure.
    axes
        The two k-space axes to plot against each other, from ``kx ky kz``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = ("kx", "ky", "kz")
    if len(axes) != 2 or any(a not in names for a in axes):
        raise RangeError(f"plot_kspace: axes = {axes!r}; give two of kx, ky, kz")
    i, j = names.index(axes[0]), names.index(axes[1])
    ks = kspace(seq, window)
    plt = pyplot()
    if ax is None:
        fig, a = plt.subplots(figsize=(5.5, 5.2))
    else:
        a, fig = ax, ax.figure
    a.plot(ks.k_per_m[:, i], ks.k_per_m[:, j], color="0.6", lw=0.7, label="trajectory")
    if ks.t_adc_s.size:
        sc = a.scatter(ks.k_adc_per_m[:, i], ks.k_adc_per_m[:, j], c=ks.t_adc_s * 1e3, s=3, cmap="viridis",
                       label=f"ADC samples ({ks.t_adc_s.size})", zorder=3)
        fig.colorbar(sc, ax=a, label="ADC sample time (ms)")
    a.set_xlabel(f"{axes[0]} (1/m)")
    a.set_ylabel(f"{axes[1]} (1/m)")
    a.set_aspect("equal", adjustable="datalim")
    a.grid(alpha=0.3)
    a.legend(loc="upper right", fontsize=8)
    a.set_title("k-space trajectory")
    if ax is None:
        fig.tight_layout()
    return fig


# --- RF pulses and gradient events -------------------------------------------------------------------


def plot_rf_pulse(
    pulse: Any,
    ax: Any = None,
    *,
    offsets_hz: Any = None,
    n_points: int = 201,
    gamma_hz_per_t: float | None = None,
) -> Any:
    """An RF pulse's ``|B1|`` (uT) and phase against time (ms), and its Bloch frequency profile.

    Parameters
    ----------
    pulse
        A :class:`wavegen.design.RFPulse`.
    ax
        Three matplotlib Axes (magnitude, phase, profile), or ``None`` for a new figure.
    offsets_hz
        Off-resonance frequencies of the profile, Hz; default ``n_points`` over +-3 bandwidths (or
        +-6 / duration when the pulse states no bandwidth). With a slice-select gradient ``G`` the
        frequency ``f`` is the position ``f / (gamma G)``.
    gamma_hz_per_t
        Gyromagnetic ratio of the simulation, Hz/T (default 1H).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The profile is :func:`wavegen.design.bloch.simulate` from equilibrium: ``|Mxy|`` and ``Mz`` for an
    excitation, ``Mz`` for an inversion or saturation, and the spin-echo efficiency ``|beta|^2`` for a
    refocusing pulse.
    """
    from wavegen.design.bloch import simulate
    from wavegen.limits import GAMMA_1H_HZ_PER_T

    gamma = GAMMA_1H_HZ_PER_T if gamma_hz_per_t is None else float(gamma_hz_per_t)
    if offsets_hz is None:
        bw = pulse.bandwidth_hz if pulse.bandwidth_hz else 2.0 / pulse.duration_s
        offsets_hz = np.linspace(-3 * bw, 3 * bw, int(n_points))
    f = np.asarray(offsets_hz, dtype=np.float64)
    res = simulate(pulse, off_resonance_hz=f, gamma_hz_per_t=gamma)
    mxy, mz = res.mxy[:, 0], res.mz[:, 0]
    plt = pyplot()
    if ax is None:
        fig, axs = plt.subplots(3, 1, figsize=(8, 7.2), gridspec_kw={"height_ratios": [1, 0.7, 1.2]})
        axes = list(axs)
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != 3:
            raise RangeError(f"plot_rf_pulse: ax must be 3 axes (magnitude, phase, profile), got {len(axes)}")
        fig = axes[0].figure
    t_ms = (pulse.delay_s + pulse.times_s) * 1e3
    b1 = pulse.b1_t
    axes[0].step(t_ms, np.abs(b1) * 1e6, where="mid", color="C3", lw=1, label="|B1|")
    axes[0].axvline((pulse.delay_s + pulse.center_s) * 1e3, color="k", ls=":", lw=0.8, label="centre")
    axes[0].set_ylabel("|B1| (uT)")
    axes[0].legend(fontsize=8, loc="upper right")
    ph = np.where(np.abs(b1) > 0, np.angle(b1), np.nan)
    axes[1].plot(t_ms, ph, ".", ms=2, color="C4")
    axes[1].set_ylim(-math.pi * 1.1, math.pi * 1.1)
    axes[1].set_ylabel("phase (rad)")
    axes[1].set_xlabel("time (ms)")
    fk = f / 1e3
    use = str(pulse.use)
    if use == "refocusing" and res.beta is not None:
        axes[2].plot(fk, np.abs(res.beta[:, 0]) ** 2, color="C0", label="spin-echo efficiency |beta|^2")
    elif use in ("inversion", "saturation"):
        axes[2].plot(fk, mz, color="C2", label="Mz")
    else:
        axes[2].plot(fk, np.abs(mxy), color="C0", label="|Mxy|")
        axes[2].plot(fk, mz, color="C2", ls="--", label="Mz")
    if pulse.bandwidth_hz:
        for s in (-0.5, 0.5):
            axes[2].axvline(s * pulse.bandwidth_hz / 1e3, color="0.5", ls=":", lw=0.8)
    axes[2].set_xlabel("off-resonance (kHz)")
    axes[2].set_ylabel("magnetisation (M0)")
    axes[2].set_title("Bloch profile" + (f" (bandwidth {pulse.bandwidth_hz / 1e3:.4g} kHz dotted)"
                                         if pulse.bandwidth_hz else ""), fontsize=9)
    axes[2].legend(fontsize=8, loc="upper right")
    for a in axes:
        a.grid(alpha=0.3)
    if ax is None:
        fig.suptitle(f"RF pulse ({use}): {pulse.duration_s * 1e3:.4g} ms, peak {pulse.peak_b1_t * 1e6:.4g} uT, "
                     f"flip {math.degrees(pulse.on_resonance_flip_rad(gamma)):.4g} deg", fontsize=10)
        fig.tight_layout()
    return fig


def _gradient_corners(g: Any, gamma_hz_per_t: float | None, raster_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex times (s) and values (T/m) of a design gradient or a sequence gradient event."""
    if hasattr(g, "corners"):  # wavegen.design Trapezoid / ExtendedTrapezoid / ArbitraryGradient
        t, v = g.corners(include_delay=True)
        return np.asarray(t, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if hasattr(g, "vertices"):  # wavegen.sequence TrapGradient / ArbGradient (Hz/m)
        from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T

        gamma = GAMMA_PULSEQ_HZ_PER_T if gamma_hz_per_t is None else float(gamma_hz_per_t)
        t, v = g.vertices(int(raster_ns))
        return np.asarray(t, dtype=np.float64) * 1e-9, np.asarray(v, dtype=np.float64) / gamma
    raise RangeError(f"plot_gradient: cannot plot a {type(g).__name__}; give a wavegen.design gradient or a "
                     "sequence TrapGradient/ArbGradient")


def plot_gradient(
    g: Any,
    limits: Any = None,
    ax: Any = None,
    *,
    gamma_hz_per_t: float | None = None,
    raster_ns: int = 10_000,
    label: str = "",
) -> Any:
    """One gradient event: amplitude (mT/m) and slew rate (T/m/s) against time (ms), with the limits.

    Parameters
    ----------
    g
        A ``wavegen.design`` gradient (``Trapezoid``, ``ExtendedTrapezoid``, ``ArbitraryGradient``) or a
        sequence event (``TrapGradient``, ``ArbGradient``: Hz/m, converted with ``gamma_hz_per_t``,
        default Pulseq's).
    limits
        A :class:`wavegen.SystemLimits`: draws the amplitude and slew limits as labelled lines.
    ax
        Two matplotlib Axes (amplitude, slew), or ``None`` for a new figure.
    raster_ns
        Gradient raster of a sequence event, ns (default 10 us).

    Returns
    -------
    matplotlib.figure.Figure
    """
    t, v = _gradient_corners(g, gamma_hz_per_t, raster_ns)
    plt = pyplot()
    if ax is None:
        fig, axs = plt.subplots(2, 1, sharex=True, figsize=(7, 4.6))
        axes = list(axs)
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != 2:
            raise RangeError(f"plot_gradient: ax must be 2 axes (amplitude, slew), got {len(axes)}")
        fig = axes[0].figure
    name = label or type(g).__name__
    axes[0].plot(t * 1e3, v * 1e3, "o-", ms=3, color="C0", label=name)
    axes[0].set_ylabel("amplitude (mT/m)")
    if t.size >= 2:
        dt = np.diff(t)
        slew = np.where(dt > 0, np.diff(v) / np.where(dt > 0, dt, 1.0), 0.0)
        ts = np.repeat(t, 2)[1:-1] * 1e3
        axes[1].plot(ts, np.repeat(slew, 2), color="C1", label=f"{name} slew")
    axes[1].set_ylabel("slew (T/m/s)")
    axes[1].set_xlabel("time (ms)")
    if limits is not None:
        gmax, smax = float(limits.max_grad_t_per_m), float(limits.max_slew_t_per_m_per_s)
        _limit_lines(axes[0], gmax * 1e3, f"limit {gmax * 1e3:.4g} mT/m")
        _limit_lines(axes[1], smax, f"limit {smax:.4g} T/m/s")
    for a in axes:
        a.grid(alpha=0.3)
        a.legend(fontsize=8, loc="upper right")
    if ax is None:
        fig.tight_layout()
    return fig


def _limit_lines(a: Any, value: float, text: str, color: str = "r") -> None:
    """Dashed lines at +-value with a label on the upper one."""
    a.axhline(value, color=color, ls="--", lw=0.9, label=text)
    a.axhline(-value, color=color, ls="--", lw=0.9)


# --- safety --------------------------------------------------------------------------------------------

#: how each unit of a rule result is shown: (factor, human unit)
HUMAN_UNITS = {"T/m": (1e3, "mT/m"), "T": (1e6, "uT"), "T/m/s": (1.0, "T/m/s"), "T/s": (1.0, "T/s"),
               "W/kg": (1.0, "W/kg"), "W": (1.0, "W"), "%": (1.0, "%"), "s": (1e3, "ms"), "Hz": (1e-3, "kHz")}


def human(value: float, unit: str) -> tuple[float, str]:
    """``value`` in ``unit`` (SI) as ``(number, human unit)``: T/m -> mT/m, T -> uT, s -> ms."""
    f, u = HUMAN_UNITS.get(unit, (1.0, unit))
    return value * f, u


def _grad_samples(source: Any, start_s: float | None = None, end_s: float | None = None, *,
                  columns: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient samples at the raster centres (T/m, ``(n, 3)``), their times (s) and the sampled slew
    (T/m/s, step ``k`` from sample ``k-1``, from rest for the first sample of the waveform, as the slew
    rule counts it), from a sequence (only the blocks of the window rendered, in chunks) or a
    :class:`wavegen.safety.Waveforms`. With ``columns``, a longer stretch is reduced to the sample of
    largest magnitude per column (per axis, for the gradient and the slew separately)."""
    if hasattr(source, "block_starts_ns"):  # a Sequence
        raster_ns = int(source.grad_raster_ns)
        dur = int(source.duration_ns)
        a = 0 if start_s is None else max(0, math.floor(start_s * 1e9 / raster_ns)) * raster_ns
        b = dur if end_s is None else min(dur, math.ceil(end_s * 1e9 / raster_ns) * raster_ns)
        b = max(b, a + raster_ns)
        lead = 1 if a > 0 else 0  # one sample before the window: the first slew step is a real one
        a0 = a - lead * raster_ns
        sub, off, _, _ = _visible(source, a0, min(b, dur))
        n = (b - a0) // raster_ns
        if columns is None and n > MAX_RENDER_SAMPLES:
            raise RangeError(f"{n} gradient samples: zoom in (give a window) to plot exact slew rates")
        per = max(1, -(-(n - lead) // columns)) if columns else 1
        chunk = max(per, (_CHUNK // per) * per)
        dt = raster_ns * 1e-9
        ts, gs, ss = [], [], []
        prev = np.zeros((1, 3))
        first = True
        t0 = Fraction(2 * (a0 - off) + raster_ns, 2 * 10**9)
        k = 0
        for part in sub.render_chunks(Fraction(10**9, raster_ns), ("gx", "gy", "gz"), chunk_samples=chunk,
                                      t0_s=t0, n_samples=n):
            g = np.stack([part["gx"], part["gy"], part["gz"]], axis=1)
            slew = (g - np.vstack([prev, g[:-1]])) / dt
            prev = g[-1:].copy()
            t = (a0 + (k + np.arange(g.shape[0]) + 0.5) * raster_ns) * 1e-9
            k += g.shape[0]
            if first and lead:
                g, slew, t = g[1:], slew[1:], t[1:]
            first = False
            if per > 1 and g.shape[0]:
                _, slew = _columns_extreme(t, slew, per=per)
                t, g = _columns_extreme(t, g, per=per)
            ts.append(t)
            gs.append(g)
            ss.append(slew)
        return np.concatenate(ts), np.vstack(gs), np.vstack(ss)
    g = np.asarray(source.grad_t_per_m, dtype=np.float64)
    dt = float(source.grad_raster_s)
    t = float(getattr(source, "t0_s", 0.0)) + (np.arange(g.shape[0]) + 0.5) * dt
    slew = _slew(g, dt)
    if start_s is not None or end_s is not None:
        sel = (t >= (start_s if start_s is not None else -np.inf)) & (t <= (end_s if end_s is not None else np.inf))
        t, g, slew = t[sel], g[sel], slew[sel]
    if columns and g.shape[0] > 2 * columns:
        _, slew = _columns_extreme(t, slew, columns)
        t, g = _columns_extreme(t, g, columns)
    return t, g, slew


def _slew(g: np.ndarray, dt: float) -> np.ndarray:
    """Sampled slew (T/m/s): step k is sample k-1 to k; step 0 from rest, as the slew rule counts it."""
    prev = np.vstack([np.zeros((1, g.shape[1])), g[:-1]])
    return (g - prev) / dt


def _limit_of(report: Any, rule: str) -> float:
    if rule in report:
        r = report[rule]
        if math.isfinite(r.limit):
            return float(r.limit)
    return float("nan")


def plot_safety(report: Any, source: Any = None, ax: Any = None, *, window: Any = None) -> Any:
    """A safety report against time: gradient amplitude (mT/m) and slew (T/m/s) per axis, PNS (% of the
    threshold) and peak |B1| (uT), each limit a labelled dashed line and each worst sample marked.

    Parameters
    ----------
    report
        A :class:`wavegen.safety.SafetyReport` (its per-sample ``traces`` are drawn when there is no
        ``source``; checked with ``keep_traces=True``, the default of :func:`wavegen.safety.check`).
    source
        The checked :class:`~wavegen.sequence.Sequence` or :class:`~wavegen.safety.Waveforms` (optional):
        amplitude and slew are then computed from its samples (in ``window`` only). Without it, the
        slew is computed from the report's gradient trace when that trace holds every raster sample;
        a long sequence's trace is an envelope, and its slew row then says to pass ``source``.
    ax
        One Axes per row (a sequence), or ``None`` for a new figure.
    window
        ``(start, end)`` in s or as quantities, for ``source`` (default: all of it).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows: list[str] = ["amplitude", "slew"]
    if "pns_safe" in report.traces:
        rows.append("pns")
    if "rf_b1_peak" in report.traces or (source is not None and getattr(source, "rf_b1_t", None) is not None):
        rows.append("b1")
    t_g: np.ndarray | None = None
    g: np.ndarray | None = None
    slew: np.ndarray | None = None
    note = ""
    if source is not None:
        w0 = w1 = None
        if window is not None:
            if hasattr(source, "block_starts_ns"):
                a_ns, b_ns = sequence_window(source, window)
                w0, w1 = a_ns * 1e-9, b_ns * 1e-9
            else:
                w0, w1 = float(_seconds(window[0], "window start")), float(_seconds(window[1], "window end"))
        t_g, g, slew = _grad_samples(source, w0, w1, columns=MAX_COLUMNS)  # extremes per column when long
    elif "grad_amplitude" in report.traces:
        t_g, g, _ = report.traces["grad_amplitude"]
        g = np.asarray(g, dtype=np.float64).reshape(len(t_g), -1)
        steps = np.diff(t_g)
        if t_g.size >= 2 and np.allclose(steps, steps[0], rtol=1e-6) and steps[0] <= 20e-6:
            slew = _slew(g, float(steps[0]))
        else:
            note = "the report's trace is an envelope: pass the checked sequence (source=) for the slew"
    plt = pyplot()
    if ax is None:
        fig, axs = plt.subplots(len(rows), 1, sharex=True, figsize=(10, 1.2 + 1.9 * len(rows)), squeeze=False)
        axes = list(axs[:, 0])
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != len(rows):
            raise RangeError(f"plot_safety: ax has {len(axes)} axes for {len(rows)} rows ({', '.join(rows)})")
        fig = axes[0].figure
    t_end = float(t_g[-1]) if t_g is not None and t_g.size else 0.0
    for name in ("pns_safe", "rf_b1_peak"):
        if name in report.traces and len(report.traces[name][0]):
            t_end = max(t_end, float(report.traces[name][0][-1]))
    ts, tu = time_scale(t_end)
    for a, row in zip(axes, rows, strict=True):
        if row == "amplitude":
            if g is not None and t_g is not None:
                for j, c in enumerate(("gx", "gy", "gz")[: g.shape[1]]):
                    a.plot(t_g * ts, g[:, j] * 1e3, lw=0.9, color=AXIS_COLORS[c], label=c)
            lim = _limit_of(report, "grad_amplitude")
            if math.isfinite(lim):
                _limit_lines(a, lim * 1e3, f"limit {lim * 1e3:.4g} mT/m")
            _mark_worst(a, report, "grad_amplitude", 1e3, ts)
            a.set_ylabel("gradient (mT/m)")
        elif row == "slew":
            if slew is not None and t_g is not None:
                for j, c in enumerate(("gx", "gy", "gz")[: slew.shape[1]]):
                    a.plot(t_g * ts, slew[:, j], lw=0.9, color=AXIS_COLORS[c], label=c)
            else:
                a.text(0.5, 0.5, note or "no gradient samples", ha="center", va="center", transform=a.transAxes,
                       fontsize=8)
            lim = _limit_of(report, "grad_slew")
            if math.isfinite(lim):
                _limit_lines(a, lim, f"limit {lim:.4g} T/m/s")
            _mark_worst(a, report, "grad_slew", 1.0, ts)
            a.set_ylabel("slew (T/m/s)")
        elif row == "pns":
            t, v, _ = report.traces["pns_safe"]
            a.plot(np.asarray(t) * ts, np.asarray(v), lw=0.9, color="C4", label="SAFE PNS")
            lim = _limit_of(report, "pns_safe")
            if math.isfinite(lim):
                a.axhline(lim, color="r", ls="--", lw=0.9, label=f"limit {lim:.4g} %")
            _mark_worst(a, report, "pns_safe", 1.0, ts)
            a.set_ylabel("PNS (% of threshold)")
        else:  # b1
            if source is not None and hasattr(source, "block_starts_ns"):
                a_ns, b_ns = sequence_window(source, window)
                sub, off, _, _ = _visible(source, a_ns, b_ns)
                tr = _render_window(sub, off, a_ns, b_ns, ("rf",), Fraction(10**9, int(source.rf_raster_ns)),
                                    MAX_COLUMNS)["rf"]
                _draw(a, tr, 1e6, ts, "C3", "|B1|", step=True)
            elif "rf_b1_peak" in report.traces:
                t, v, _ = report.traces["rf_b1_peak"]
                v2 = np.abs(np.asarray(v)).reshape(len(t), -1)
                for j in range(v2.shape[1]):
                    a.plot(np.asarray(t) * ts, v2[:, j] * 1e6, ".-" if len(t) < 50 else "-", lw=0.9,
                           color="C3", label=f"|B1| tx{j}" if v2.shape[1] > 1 else "peak |B1| per pulse")
            lim = _limit_of(report, "rf_b1_peak")
            if math.isfinite(lim):
                a.axhline(lim * 1e6, color="r", ls="--", lw=0.9, label=f"limit {lim * 1e6:.4g} uT")
            _mark_worst(a, report, "rf_b1_peak", 1e6, ts)
            a.set_ylabel("|B1| (uT)")
        a.grid(alpha=0.3)
        a.legend(fontsize=7, loc="upper right", ncol=5)
    axes[-1].set_xlabel(f"time ({tu})")
    if ax is None:
        head = "SAFE" if report.ok else f"UNSAFE ({len(report.violations)} violation(s))"
        fig.suptitle(f"safety check: {head}; mode {report.mode}", fontsize=10)
        fig.tight_layout()
    return fig


def _columns_extreme(t: np.ndarray, x: np.ndarray, columns: int = MAX_COLUMNS, *,
                     per: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per column (of ``per`` samples, or as many as make ``columns``) the sample of largest magnitude,
    per axis: a long trace keeps its extremes."""
    if per is None:
        per = -(-x.shape[0] // columns)
    nb = -(-x.shape[0] // per)
    pad = np.zeros((nb * per, x.shape[1]))
    pad[: x.shape[0]] = x
    cols = pad.reshape(nb, per, x.shape[1])
    k = np.argmax(np.abs(cols), axis=1)
    out = np.take_along_axis(cols, k[:, None, :], axis=1)[:, 0, :]
    return t[::per][:nb], out


def _signed(a: Any, channel: str, t: float, magnitude: float) -> float:
    """``magnitude`` with the sign of the plotted ``channel`` line of ``a`` nearest to time ``t`` (plot units):
    a rule judges ``|G|``, the marker belongs on the lobe, above or below zero."""
    for ln in a.lines:
        if ln.get_label() == channel:
            x, y = np.asarray(ln.get_xdata(), dtype=float), np.asarray(ln.get_ydata(), dtype=float)
            if x.size:
                return math.copysign(magnitude, float(y[int(np.argmin(np.abs(x - t)))]) or 1.0)
    return magnitude


def _mark_worst(a: Any, report: Any, rule: str, scale: float, ts: float) -> None:
    if rule not in report:
        return
    r = report[rule]
    if math.isfinite(r.time_s) and math.isfinite(r.value):
        color = "r" if r.verdict == "fail" else "k"
        y = _signed(a, r.channel, r.time_s * ts, r.value * scale)
        a.plot([r.time_s * ts], [y], "v" if y >= 0 else "^", color=color, ms=7,
               label=f"worst {r.channel}: {r.value * scale:.4g}")


def plot_worst_spot(report: Any, rule: str, source: Any, ax: Any = None, *, half_width_s: float = 1e-3) -> Any:
    """Zoom on the worst sample of one rule: the signal the rule judges around ``time_s``, with its limit.

    Parameters
    ----------
    report
        A :class:`wavegen.safety.SafetyReport`.
    rule
        A rule of the report with a time (``grad_amplitude``, ``grad_slew``, ``rf_b1_peak``, ``pns_*``...).
    source
        The checked sequence or :class:`~wavegen.safety.Waveforms`.
    ax
        A matplotlib Axes, or ``None`` for a new figure.
    half_width_s
        Half the zoom window, s (default 1 ms).

    Returns
    -------
    matplotlib.figure.Figure
    """
    r = report[rule]
    if not math.isfinite(r.time_s):
        raise RangeError(f"rule {rule!r} has no time to zoom on")
    t0, t1 = max(0.0, r.time_s - half_width_s), r.time_s + half_width_s
    plt = pyplot()
    if ax is None:
        fig, a = plt.subplots(figsize=(6, 2.8))
    else:
        a, fig = ax, ax.figure
    scale, unit = human(1.0, r.unit)
    rule_scale, rule_unit = scale, unit
    if r.unit in ("T/m", "T/m/s") or rule.startswith(("pns", "cns", "cardiac")):
        t, g, slew = _grad_samples(source, t0, t1)
        y = slew if r.unit == "T/m/s" else g
        if r.unit not in ("T/m", "T/m/s"):  # PNS and cardiac: show the gradients driving them
            scale, unit = 1e3, "mT/m"
        for j, c in enumerate(("gx", "gy", "gz")[: y.shape[1]]):
            a.plot(t * 1e3, y[:, j] * scale, lw=1.0, color=AXIS_COLORS[c], label=c)
        a.set_ylabel(f"{'slew' if r.unit == 'T/m/s' else 'gradient'} ({unit})")
    elif r.unit == "T" and hasattr(source, "block_starts_ns"):
        a_ns, b_ns = sequence_window(source, (t0, t1))
        sub, off, _, _ = _visible(source, a_ns, b_ns)
        tr = _render_window(sub, off, a_ns, b_ns, ("rf",), Fraction(10**9, int(source.rf_raster_ns)), MAX_COLUMNS)
        _draw(a, tr["rf"], 1e6, 1e3, "C3", "|B1|", step=True)
        a.set_ylabel("|B1| (uT)")
    else:
        raise RangeError(f"rule {rule!r} ({r.unit}) has no sample signal to zoom on")
    if unit == rule_unit:  # the plotted signal is what the rule judges: its limit and worst sample
        if math.isfinite(r.limit):
            _limit_lines(a, r.limit * scale, f"limit {r.limit * scale:.4g} {unit}")
        y_worst = _signed(a, r.channel, r.time_s * 1e3, r.value * scale)
        a.plot([r.time_s * 1e3], [y_worst], "v" if y_worst >= 0 else "^", color="r" if r.verdict == "fail" else "k",
               ms=8, label=f"worst {r.channel}: {r.value * scale:.4g} {unit}")
    else:  # PNS and cardiac rules: the gradients that drive them, the worst time marked
        a.axvline(r.time_s * 1e3, color="r" if r.verdict == "fail" else "k", ls=":", lw=1,
                  label=f"worst {r.channel}")
    a.set_xlabel("time (ms)")
    a.set_title(f"{rule}: {r.verdict.upper()}, worst {r.value * rule_scale:.4g} {rule_unit} at {r.time_s * 1e3:.4g} ms"
                + (f" ({100 * r.ratio:.1f} % of limit)" if math.isfinite(r.ratio) else ""), fontsize=9)
    a.grid(alpha=0.3)
    a.legend(fontsize=7, loc="upper right")
    if ax is None:
        fig.tight_layout()
    return fig
