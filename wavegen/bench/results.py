"""Value types of the bench: what plays (:class:`Program`), what it did (:class:`PlayResult`), what was
measured (:class:`Measurement`), what the loop achieved (:class:`HilResult`)..

Re-exported by :mod:`wavegen.bench`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wavegen import hil as _hil

__all__ = ["InstrumentInfo", "Program", "PlayResult", "Measurement", "HilResult", "Progress", "notify"]

#: ``progress(stage, done, total)`` or None
Progress = Callable[[str, int, int], None] | None


def notify(progress: Progress, stage: str, done: int, total: int = 1) -> None:
    """Tell ``progress`` (if any) that ``stage`` is at ``done`` of ``total``."""
    if progress is not None:
        progress(stage, done, total)

@dataclass(frozen=True)
class InstrumentInfo:
    """One connected instrument: configuration name, driver, resource, ``*IDN?`` (or DAQ product), outputs used."""

    name: str
    driver: str
    resource: str
    idn: str
    channels: tuple[str, ...]


@dataclass
class Program:
    """What plays: per instrument its rate and the physical samples of each output (T/m, T, bool),
    all starting at ``t0_s`` (= -lead) from the start of the sequence."""

    rates: dict[str, float]
    physical: dict[str, np.ndarray]  # output name -> samples (rf_i/rf_q real T)
    instrument_of: dict[str, str]
    t0_s: float

    def rate_of(self, name: str) -> float:
        return self.rates[self.instrument_of[name]]

    def with_drive(self, drive: dict[str, np.ndarray]) -> Program:
        """This program with some outputs replaced (copied: later changes to ``drive`` do not reach it)."""
        phys = dict(self.physical)
        phys.update({k: np.array(v, dtype=np.float64, copy=True) for k, v in drive.items()})
        return Program(self.rates, phys, self.instrument_of, self.t0_s)

    def frozen(self) -> Program:
        """A copy whose sample arrays are read-only: what is checked is what plays."""
        phys = {}
        for k, v in self.physical.items():
            a = np.array(v, copy=True)
            a.flags.writeable = False
            phys[k] = a
        return Program(dict(self.rates), phys, dict(self.instrument_of), self.t0_s)


@dataclass(frozen=True)
class PlayResult:
    """What :meth:`Bench.play` did: the clearance digest, rates and lengths, verification per output."""

    digest: str
    overridden: bool
    rates_hz: dict[str, float]
    n_samples: dict[str, int]
    verified: dict[str, bool]
    duration_s: float
    #: per instrument how it played (``waveform``, ``sequence`` or ``stream``; :mod:`wavegen.bench.plan`)
    modes: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        ins = ", ".join(
            f"{k}: {self.n_samples[k]} @ {self.rates_hz[k] / 1e6:g} MS/s" + (f" ({self.modes[k]})" if k in self.modes
                                                                           else "")
            for k in self.rates_hz
        )
        ok = sum(self.verified.values())
        return (
            f"PlayResult({self.duration_s * 1e3:.3f} ms; {ins}; {ok}/{len(self.verified)} outputs verified; "
            f"clearance {self.digest[:12]}{' OVERRIDDEN' if self.overridden else ''})"
        )


@dataclass
class Measurement:
    """A capture compared with what was asked for (see :class:`wavegen.hil.ChannelMetrics`).

    Attributes
    ----------
    channels : dict
        ``{"gx": ChannelMetrics, ..., "rf": ChannelMetrics}`` (RF compared as the complex envelope).
    reference, captured : dict
        Name -> samples on the capture grid (T/m; RF complex T).
    rate_hz : float
        Capture rate, Hz.
    t0_s : float
        Time of sample 0 from the sequence start, s (negative: the lead).
    """

    channels: dict[str, _hil.ChannelMetrics]
    reference: dict[str, np.ndarray]
    captured: dict[str, np.ndarray]
    rate_hz: float
    t0_s: float = 0.0
    play: PlayResult | None = None
    #: long captures: per channel ``(4, bins)`` = reference min, max, captured min, max per bin over the
    #: whole capture (``reference``/``captured`` then hold a zoomed window starting at ``t0_s``)
    overview: dict[str, np.ndarray] | None = None
    #: start time of each overview bin, s (from the sequence start)
    overview_t_s: np.ndarray | None = None

    @property
    def nrmse(self) -> dict[str, float]:
        """NRMSE per channel (as captured, no alignment)."""
        return {k: m.nrmse for k, m in self.channels.items()}

    @property
    def time_s(self) -> np.ndarray:
        n = next(iter(self.reference.values())).size if self.reference else 0
        return self.t0_s + np.arange(n) / self.rate_hz

    def __repr__(self) -> str:
        lines = [f"Measurement({len(self.channels)} channels at {self.rate_hz / 1e6:g} MS/s)"]
        lines += [f"  {k}: {m!r}" for k, m in self.channels.items()]
        return "\n".join(lines)

    def plot(self, path: str | Path | None = None) -> Any:
        """Reference vs captured and the error per channel (matplotlib figure; saved if ``path``)."""
        from wavegen.bench.plots import plot_measurement

        return plot_measurement(self, path)

    def _repr_html_(self) -> str:
        """The error figures per channel, for notebooks (:mod:`wavegen.report.html`)."""
        from wavegen.report.html import measurement_html

        return measurement_html(self)


@dataclass
class HilResult:
    """The hardware-in-the-loop outcome.

    Attributes
    ----------
    history : list of dict
        NRMSE per channel for each play (index 0: uncorrected).
    initial_nrmse, final_nrmse, reduction : dict
        Per channel: before, with the best corrected drive, and their ratio.
    girf : dict
        Estimated :class:`wavegen.hil.Girf` per channel.
    corrected : dict
        The best drive per channel (T/m on the capture grid), each one cleared by the safety check.
    target, measured : dict
        The desired waveform and what the best drive produced.
    steps : list of float
        ILC step used to reach each play (1.0 = full update; smaller = shrunk to stay safe).
    stopped : str
        Why the loop ended.
    rf_curve : RfCurve or None
        The measured AM/AM and AM/PM (:meth:`Bench.hil_rf`).
    """

    history: list[dict[str, float]]
    initial_nrmse: dict[str, float]
    final_nrmse: dict[str, float]
    reduction: dict[str, float]
    girf: dict[str, _hil.Girf]
    corrected: dict[str, np.ndarray]
    target: dict[str, np.ndarray]
    measured: dict[str, np.ndarray]
    rate_hz: float
    t0_s: float
    steps: list[float] = field(default_factory=list)
    stopped: str = ""
    rf_curve: _hil.RfCurve | None = None

    def __repr__(self) -> str:
        parts = [
            f"{c}: {self.initial_nrmse[c]:.3%} -> {self.final_nrmse[c]:.3%} ({self.reduction[c]:.1f}x)"
            for c in self.initial_nrmse
        ]
        return f"HilResult({len(self.history) - 1} corrections; {'; '.join(parts)}; {self.stopped})"

    def plot(self, path: str | Path | None = None) -> Any:
        """NRMSE per iteration, target/drive/measured, GIRF magnitude (matplotlib figure)."""
        from wavegen.bench.plots import plot_hil

        return plot_hil(self, path)

    def _repr_html_(self) -> str:
        """Before/after and the error per iteration per axis, for notebooks (:mod:`wavegen.report.html`)."""
        from wavegen.report.html import hil_html

        return hil_html(self)
