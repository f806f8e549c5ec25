"""Instrument adapters (installed as ``wavegen.drivers``).

The only place in wavegen that knows instrument units (DAC codes, SCPI strings, VISA milliseconds).

- :mod:`.transport`: the small transport protocol a pyvisa resource satisfies; a bounded clear.
  (Protocol replay and session recording for tests live in :mod:`wavegen.testing`; drivers never
  import it.)
- :mod:`.scpi`: IEEE 488.2 blocks, byte order, chunking, payload-scaled timeouts, the error queue.
- :mod:`.base`: the shared AWG base (capabilities, validation before I/O, the interlock per output
  (``name`` / :meth:`~.base.ScpiAwg.output_id`), outputs off on any failure, read back).
- Families: :mod:`.keysight_33500` (33500B/33600A), :mod:`.tektronix_awg` (AWG5200/AWG70000),
  :mod:`.rigol_dg` (DG1000Z/DG800), :mod:`.siglent_sdg` (SDG); :mod:`.detect` picks one from ``*IDN?``.
- :mod:`.nidaq`: NI-DAQmx analog output and input.
- :mod:`.mock`: loopback SCPI emulators, the fake DAQ.

Protocol tables per family, with their sources: ``docs/instruments/``.

Submodules are imported on demand (pyvisa and nidaqmx load only when a driver is used).
"""

from __future__ import annotations

__all__: list[str] = []
