"""How the command line shows results: tables of channels and loops, numbers in human units."""

from __future__ import annotations

from typing import Any

__all__ = ["channel_table", "hil_table", "metric", "hz", "plural"]


def metric(obj: Any, name: str) -> float:
    """A metric from a per-channel result, whether it is an object with attributes or a dict."""
    if isinstance(obj, dict):
        return float(obj[name])
    return float(getattr(obj, name))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 block``, ``2 blocks``, ``0 blocks`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def hz(rate: float) -> str:
    for div, unit in ((1e9, "GHz"), (1e6, "MHz"), (1e3, "kHz")):
        if rate >= div:
            return f"{rate / div:.6g} {unit}"
    return f"{rate:.6g} Hz"


def channel_table(per_channel: dict[str, Any]) -> list[str]:
    """NRMSE (as captured and after removing delay and gain), peak error, delay, gain per channel."""
    lines = [f"  {'channel':<8} {'NRMSE':>9} {'aligned':>9} {'peak error':>15} {'delay':>11} {'gain':>8}"]
    for name, c in per_channel.items():
        unit = c.get("unit", "") if isinstance(c, dict) else getattr(c, "unit", "")
        scale, u = (1e3, "mT/m") if unit == "T/m" else (1e6, "uT") if unit == "T" else (1.0, unit)
        aligned = (f"{metric(c, 'nrmse_aligned') * 100:8.3f}%"
                   if (isinstance(c, dict) and "nrmse_aligned" in c) or hasattr(c, "nrmse_aligned") else f"{'-':>9}")
        lines.append(f"  {name:<8} {metric(c, 'nrmse') * 100:8.3f}% {aligned} "
                     f"{metric(c, 'peak_error') * scale:10.4f} {u:<4} {metric(c, 'delay_s') * 1e6:8.3f} us "
                     f"{metric(c, 'gain'):8.4f}")
    return lines


def hil_table(h: Any) -> str:
    """The loop's history and its NRMSE reduction per channel, as text."""
    names = list(h.initial_nrmse)
    lines = ["  iteration " + " ".join(f"{n:>9}" for n in names)]
    for i, row in enumerate(h.history):
        lines.append(f"  {i:>9} " + " ".join(f"{row[n] * 100:8.3f}%" for n in names))
    lines.append("  reduction " + " ".join(f"{h.reduction[n]:8.1f}x" for n in names))
    return "\n".join(lines)
