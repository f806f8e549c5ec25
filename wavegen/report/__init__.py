"""wavegen.report: figures and self-contained HTML reports (matplotlib is imported on first use).

- :mod:`.figures`: the plots a pulse designer expects (sequence, k-space, RF pulse with its Bloch
  profile, gradient events, safety traces and worst spots), in human units.
- :mod:`.html`: one self-contained HTML page (inline CSS, figures as base64 PNG; no script, no
  network) from any of a sequence, a safety report, a measurement and a loop result, and the compact
  ``_repr_html_`` views for notebooks.

Reading ``docs/report.md`` first is the quickest way in.
"""

from __future__ import annotations

__all__ = ["build_report", "write_report"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from wavegen.report import html

        return getattr(html, name)
    raise AttributeError(f"module 'wavegen.report' has no attribute {name!r}")
