"""Mock instruments: loopback emulators, fake DAQ, simulated device under test."""

from __future__ import annotations

__all__: list[str] = []
