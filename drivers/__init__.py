"""Instrument adapters (installed as ``wavegen.drivers``)."""

from __future__ import annotations

__all__: list[str] = []
