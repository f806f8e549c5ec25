"""Mock instruments: loopback SCPI emulators (one per AWG family) and a fake NI-DAQmx device.

- :mod:`.server`: the threaded TCP server (127.0.0.1, ephemeral port) and fault injection.
- :mod:`.keysight`, :mod:`.tektronix`, :mod:`.rigol`, :mod:`.siglent`: the instrument personalities;
  ``keysight_emulator()`` etc. return an emulator to use as a context manager; its ``address`` is the
  VISA resource string and ``personality.output_volts(channel)`` what the channel drives (for a
  simulated device under test).
- :mod:`.fake_daq`: :class:`~.fake_daq.FakeDaq`, a simulated DAQ behind the real nidaqmx API.
"""

from __future__ import annotations

__all__: list[str] = []
