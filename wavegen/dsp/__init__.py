"""wavegen.dsp: sample-accurate resampling and DAC quantisation.

- :mod:`.resampler`: :func:`resample`, :class:`Resampler` (exact positions, chunked renders bit-identical
  to one piece), :func:`resample_to_codes`, :func:`resample_channels`; the one importer of the native
  resampling kernels.
- :mod:`.dac`: :class:`DacFormat` and :func:`quantize` (volts or any unit -> integer codes, range checked).
- :mod:`.numbers`: exact rationals for rates and offsets, sample-array checks.
- :mod:`.reference`: the plain-NumPy statement of every kernel (what the C is tested against).
"""

from __future__ import annotations

from wavegen.dsp.dac import DacFormat, dac_range_error, quantize
from wavegen.dsp.numbers import as_rational
from wavegen.dsp.resampler import BACKEND, METHODS, Method, Resampler, resample, resample_channels, resample_to_codes

__all__ = [
    "BACKEND",
    "METHODS",
    "DacFormat",
    "Method",
    "Resampler",
    "as_rational",
    "dac_range_error",
    "quantize",
    "resample",
    "resample_channels",
    "resample_to_codes",
]
