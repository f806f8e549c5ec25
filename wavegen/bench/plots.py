"""Plots for bench measurements and hardware-in-the-loop results (matplotlib, imported on use).

Human units on the axes (ms, mT/m, uT); figures are returned, and saved when a path is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from wavegen.atomic import save_figure

__all__ = ["plot_measurement", "plot_hil"]


def _plt() -> Any:
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        import os

        if not os.environ.get("DISPLAY"):
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scale(name: str) -> tuple[float, str]:
    return (1e6, "uT") if name == "rf" else (1e3, "mT/m")


def plot_measurement(m: Any, path: str | Path | None = None) -> Any:
    """Reference vs captured (top) and error (bottom) per channel of a :class:`~wavegen.bench.Measurement`."""
    plt = _plt()
    names = list(m.reference)
    long = m.overview is not None
    rows = 3 if long else 2
    fig, axes = plt.subplots(rows, len(names), figsize=(4.2 * len(names), 2.75 * rows), squeeze=False)
    if long:  # the whole capture as envelopes, then the zoomed window below it
        t_s = m.overview_t_s
        for j, name in enumerate(names):
            s, unit = _scale(name)
            env = m.overview[name]
            ax = axes[0, j]
            ax.fill_between(t_s, env[0] * s, env[1] * s, step="post", alpha=0.5, label="reference")
            ax.fill_between(t_s, env[2] * s, env[3] * s, step="post", alpha=0.5, label="captured")
            ax.axvspan(m.time_s[0], m.time_s[-1], color="k", alpha=0.15)
            ax.set_title(f"{name}: whole capture (envelope); zoom shaded")
            ax.set_xlabel("time (s)")
            ax.set_ylabel(f"{name} ({unit})")
        axes[0, 0].legend(loc="best", fontsize=8)
        axes = axes[1:]
    t_ms = m.time_s * 1e3
    for j, name in enumerate(names):
        s, unit = _scale(name)
        ref, got = m.reference[name], m.captured[name]
        if np.iscomplexobj(ref) or np.iscomplexobj(got):
            ref, got = np.abs(ref), np.abs(got)
            label = f"|{name}|"
        else:
            label = name
        axes[0, j].plot(t_ms, ref * s, lw=1, label="reference")
        axes[0, j].plot(t_ms, got * s, lw=1, ls="--", label="captured")
        met = m.channels[name]
        axes[0, j].set_title(f"{label}: NRMSE {met.nrmse:.2%}, delay {met.delay_s * 1e6:.2f} us")
        axes[0, j].set_ylabel(f"{label} ({unit})")
        axes[1, j].plot(t_ms, (m.captured[name] - m.reference[name]).real * s, lw=1, color="C3")
        axes[1, j].set_ylabel(f"captured - reference ({unit})")
        axes[1, j].set_xlabel("time (ms)")
    axes[0, 0].legend(loc="best", fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig


def plot_hil(r: Any, path: str | Path | None = None) -> Any:
    """NRMSE per iteration, target / corrected drive / measured, and |GIRF| of a :class:`~wavegen.bench.HilResult`."""
    plt = _plt()
    chans = list(r.initial_nrmse)
    fig, axes = plt.subplots(1 + len(chans), 2, figsize=(10, 2.8 * (1 + len(chans))), squeeze=False)
    for c in chans:
        axes[0, 0].semilogy([h[c] for h in r.history], "o-", label=c)
    from matplotlib.ticker import MaxNLocator

    axes[0, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_xlabel("play (0 = uncorrected)")
    axes[0, 0].set_ylabel("NRMSE per axis")
    axes[0, 0].set_title("error per iteration", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    for c in chans:
        g = r.girf.get(c)
        if g is not None:
            axes[0, 1].plot(g.freq_hz / 1e3, np.abs(g.response), label=c)
    if r.girf:
        axes[0, 1].set_xlim(0, min(100.0, r.rate_hz / 2e3))
        axes[0, 1].set_xlabel("frequency (kHz)")
        axes[0, 1].set_ylabel("|GIRF|")
    elif getattr(r, "rf_curve", None) is not None:
        cv = r.rf_curve
        axes[0, 1].plot(cv.input_t * 1e6, cv.output_t * 1e6, label="AM/AM")
        axes[0, 1].plot(cv.input_t * 1e6, cv.input_t * 1e6, ls=":", color="0.5", label="linear")
        axes[0, 1].set_xlabel("input |B1| (uT)")
        axes[0, 1].set_ylabel("output |B1| (uT)")
        axes[0, 1].legend(fontsize=8)
    t_ms = (r.t0_s + np.arange(next(iter(r.target.values())).size) / r.rate_hz) * 1e3
    for i, c in enumerate(chans, start=1):
        s, unit = _scale(c)
        def part(x: np.ndarray) -> np.ndarray:
            return np.abs(x) if np.iscomplexobj(x) else x
        axes[i, 0].plot(t_ms, part(r.target[c]) * s, lw=1, label="target")
        axes[i, 0].plot(t_ms, part(r.corrected[c]) * s, lw=1, label="corrected drive")
        axes[i, 0].plot(t_ms, part(r.measured[c]) * s, lw=1, ls="--", label="measured")
        axes[i, 0].set_ylabel(f"{'|rf|' if c == 'rf' else c} ({unit})")
        axes[i, 1].plot(t_ms, np.abs(r.measured[c] - r.target[c]) * s, lw=1, color="C3")
        axes[i, 1].set_ylabel(f"|measured - target| ({unit})")
    axes[1, 0].legend(fontsize=8)
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("time (ms)")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig
