"""The result of a safety check: :class:`RuleResult` and :class:`SafetyReport`.

Each rule (gradient amplitude, slew, PNS, SAR, ...) yields one :class:`RuleResult` with its verdict,
the worst value, the limit, the margin, and the time and channel of the worst sample. A
:class:`SafetyReport` collects them, prints a readable summary, plots, and
:meth:`SafetyReport.raise_if_unsafe` turns the worst violation into a :class:`~wavegen.errors.SafetyError`.

Verdicts:

``"pass"``
    the worst value is within the limit;
``"fail"``
    the limit is broken;
``"unverified"``
    the quantity was computed but cannot be judged (SAR without a calibration: relative figures only);
``"info"``
    a figure reported without a limit (for example the vector gradient when only per-axis limits exist).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wavegen.errors import RangeError, SafetyError

__all__ = ["RuleResult", "SafetyReport", "VERDICTS"]

logger = logging.getLogger(__name__)

VERDICTS = ("pass", "fail", "unverified", "info")


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.6g}"


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome.

    Parameters
    ----------
    rule
        Short machine name, e.g. ``"grad_slew"`` or ``"sar_whole_body_10s"``.
    quantity
        What was measured, in words (goes into the :class:`SafetyError`).
    verdict
        One of :data:`VERDICTS`.
    value
        Worst value found, in ``unit``.
    limit
        The limit it is compared to, in ``unit`` (NaN when there is none).
    unit
        Unit of ``value`` and ``limit``.
    channel
        Channel (axis, transmit channel, VOP) of the worst sample; ``""`` when not applicable.
    time_s
        Time of the worst sample (for windowed rules: the start of the worst window), s.
    note
        Anything a reader must know (model, assumptions, missing calibration).
    index
        Index of the worst sample in its stream (-1 when not applicable). For slew rules, index ``k``
        is the step from sample ``k-1`` to sample ``k`` (``k = 0`` is the step from rest).
    """

    rule: str
    quantity: str
    verdict: str
    value: float
    limit: float
    unit: str
    channel: str = ""
    time_s: float = float("nan")
    note: str = ""
    index: int = -1

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise RangeError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "limit", float(self.limit))
        object.__setattr__(self, "time_s", float(self.time_s))

    @property
    def passed(self) -> bool:
        """True unless the verdict is ``"fail"``."""
        return self.verdict != "fail"

    @property
    def margin(self) -> float:
        """Relative headroom ``(limit - value) / limit`` (negative when broken; NaN without a limit)."""
        if not math.isfinite(self.limit) or self.limit == 0.0:
            return float("nan")
        return (self.limit - self.value) / self.limit

    @property
    def ratio(self) -> float:
        """``value / limit`` (NaN without a limit)."""
        if not math.isfinite(self.limit) or self.limit == 0.0:
            return float("nan")
        return self.value / self.limit

    def to_error(self) -> SafetyError:
        """The :class:`SafetyError` describing this result."""
        where = f" on {self.channel}" if self.channel else ""
        when = f" at t = {self.time_s:.9g} s" if math.isfinite(self.time_s) else ""
        msg = (
            f"{self.quantity}: {_fmt(self.value)} {self.unit} exceeds the limit "
            f"{_fmt(self.limit)} {self.unit}"
            f"{where}{when} (rule {self.rule}, margin {self.margin * 100:.3g} %)"
        )
        if self.verdict == "unverified":
            msg = f"{self.quantity} cannot be verified{where}: {self.note or 'no limit/calibration'}"
        return SafetyError(
            msg,
            quantity=self.quantity,
            value=self.value,
            limit=self.limit,
            unit=self.unit,
            channel=self.channel,
            time_s=self.time_s,
        )

    def line(self) -> str:
        """One summary line."""
        lim = _fmt(self.limit) if math.isfinite(self.limit) else "-"
        marg = f"{self.margin * 100:+.2f} %" if math.isfinite(self.margin) else "-"
        t = f"{self.time_s:.6f}" if math.isfinite(self.time_s) else "-"
        return (
            f"{self.verdict.upper():<10} {self.rule:<28} {_fmt(self.value):>12} {lim:>12} {self.unit:<9} "
            f"{marg:>10} {self.channel:<8} {t:>12}"
        )


class _LazyDigest:
    """The ``digest`` field of :class:`SafetyReport`: a string, or a function computing it on first
    access (the streamed check of a sequence does not render every sample just to hash them; the
    hash is computed, in bounded memory, only when someone asks for it)."""

    def __get__(self, obj: Any, objtype: Any = None) -> str:
        if obj is None:
            return ""
        v = obj.__dict__.get("_digest", "")
        if callable(v):
            v = v()
            obj.__dict__["_digest"] = v
        return str(v)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_digest"] = value


@dataclass(frozen=True)
class SafetyReport:
    """All rule results of one check.

    Parameters
    ----------
    results
        The rule results, in the order they were checked.
    mode
        Operating mode checked against (``"normal"`` or ``"first_level"``).
    digest
        SHA-256 of the checked waveforms (:meth:`Waveforms.digest`); may be given as a function
        returning it, called on first access.
    traces
        Optional per-sample traces for :meth:`plot` (name -> (times_s, values, unit)).
    subject
        What was checked, cheap to compare and bound into a clearance's signature: for a sequence
        ``"sequence:"`` and its :func:`~wavegen.safety.stream.definition_digest` (its samples' digest is
        then computed only when asked for); empty when the samples' digest itself serves.
    """

    results: tuple[RuleResult, ...]
    mode: str = "normal"
    digest: str = _LazyDigest()  # type: ignore[assignment]
    traces: dict[str, tuple[np.ndarray, np.ndarray, str]] = field(
        default_factory=dict, compare=False, repr=False
    )
    subject: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))

    @property
    def ok(self) -> bool:
        """True when no rule failed (``"unverified"`` rules do not fail; see :attr:`complete`)."""
        return all(r.passed for r in self.results)

    @property
    def complete(self) -> bool:
        """True when every rule could be judged (no ``"unverified"`` rule)."""
        return all(r.verdict != "unverified" for r in self.results)

    @property
    def violations(self) -> tuple[RuleResult, ...]:
        """Failed rules, worst (largest value/limit) first."""
        bad = [r for r in self.results if r.verdict == "fail"]
        return tuple(sorted(bad, key=lambda r: -r.ratio if math.isfinite(r.ratio) else -math.inf))

    @property
    def unverified(self) -> tuple[RuleResult, ...]:
        """Rules that could not be judged."""
        return tuple(r for r in self.results if r.verdict == "unverified")

    def __getitem__(self, rule: str) -> RuleResult:
        for r in self.results:
            if r.rule == rule:
                return r
        raise KeyError(f"no rule {rule!r} in this report; rules: {[r.rule for r in self.results]}")

    def __contains__(self, rule: object) -> bool:
        return any(r.rule == rule for r in self.results)

    def rules(self) -> tuple[str, ...]:
        """Names of the rules checked."""
        return tuple(r.rule for r in self.results)

    def summary(self) -> str:
        """A readable table of every rule, with the overall verdict first."""
        head = "SAFE" if self.ok else f"UNSAFE ({len(self.violations)} violation(s))"
        if self.ok and not self.complete:
            head += f", {len(self.unverified)} rule(s) unverified"
        lines = [
            f"wavegen safety report: {head}; mode {self.mode}",
            f"{'verdict':<10} {'rule':<28} {'worst':>12} {'limit':>12} {'unit':<9} {'margin':>10} "
            f"{'channel':<8} {'time / s':>12}",
        ]
        lines += [r.line() for r in self.results]
        notes = [f"  {r.rule}: {r.note}" for r in self.results if r.note]
        if notes:
            lines.append("notes:")
            lines += notes
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        counts = {v: sum(r.verdict == v for r in self.results) for v in ("pass", "fail", "unverified", "info")}
        judged = [r for r in self.results if r.verdict in ("pass", "fail") and math.isfinite(r.ratio)]
        closest = max(judged, key=lambda r: r.ratio, default=None)
        head = "SAFE" if self.ok else "UNSAFE"
        tail = f"; closest {closest.rule} {100 * closest.ratio:.1f} % of its limit" if closest else ""
        return (f"SafetyReport({head}; {len(self.results)} rules: {counts['pass']} pass, {counts['fail']} fail, "
                f"{counts['unverified']} unverified, {counts['info']} info; mode {self.mode}{tail})")

    def raise_if_unsafe(self, *, strict: bool = False) -> None:
        """Raise a :class:`SafetyError` for the worst violation.

        Parameters
        ----------
        strict
            Also raise when a rule is ``"unverified"`` (for example SAR without a calibration).

        Raises
        ------
        SafetyError
            Naming quantity, value, limit, unit, channel and time of the worst sample.
        """
        v = self.violations
        if v:
            err = v[0].to_error()
            if len(v) > 1:
                others = ", ".join(r.rule for r in v[1:])
                err.args = (f"{err.args[0]}; also broken: {others}",)
            raise err
        if strict and self.unverified:
            raise self.unverified[0].to_error()

    def plot(self, ax: Any = None, *, source: Any = None, window: Any = None) -> Any:
        """Plot the report against time: gradient amplitude (mT/m) and slew (T/m/s) per axis, PNS and
        peak |B1| (uT), with labelled limit lines and the worst samples marked.

        Parameters
        ----------
        ax
            One matplotlib Axes per row, or ``None`` for a new figure.
        source
            The checked sequence or :class:`~wavegen.safety.Waveforms` (optional): amplitude and exact
            sampled slew come from it, in ``window``; without it, from the report's traces.
        window
            ``(start, end)`` in s or as quantities (``("10 ms", "20 ms")``), with ``source``.

        Returns
        -------
        matplotlib.figure.Figure

        See :func:`wavegen.report.figures.plot_safety`.
        """
        from wavegen.report.figures import plot_safety

        return plot_safety(self, source, ax, window=window)

    def _repr_html_(self) -> str:
        """The verdict and the table in human units, for notebooks (:mod:`wavegen.report.html`)."""
        from wavegen.report.html import safety_html

        return safety_html(self)


def merge_results(groups: Iterable[Iterable[RuleResult]]) -> tuple[RuleResult, ...]:
    """Flatten rule-result groups (helper for :func:`wavegen.safety.check`)."""
    out: list[RuleResult] = []
    for g in groups:
        out.extend(g)
    logger.debug("merged %d rule results", len(out))
    return tuple(out)
