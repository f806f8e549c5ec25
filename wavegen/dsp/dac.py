"""DAC formats and quantisation: volts (or any physical unit) to the integer codes an instrument takes.

Round half to even, range checked in the same pass; clipping only on request (and logged).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wavegen import _backend
from wavegen.dsp.numbers import as_real_samples, whole_samples
from wavegen.dsp.reference import reference_quantize
from wavegen.errors import DacRangeError, NonFiniteError, RangeError, WavegenValueError

__all__ = ["DacFormat", "quantize", "dac_range_error"]

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class DacFormat:
    """How values become DAC codes: ``code = round(x * scale + offset)``, ties to even.

    Parameters
    ----------
    bits
        Width of the DAC, 1 to 32.
    offset_binary
        False: two's complement codes, 0 at code 0 (e.g. Keysight 33500 int16). True: unsigned
        offset-binary codes, 0 at code ``2**(bits-1)`` (e.g. Rigol's 14-bit codes, 0 .. 16383); the
        shift is added after ``offset``.
    scale
        Codes per input unit (e.g. codes per volt).
    offset
        Codes added before the offset-binary shift (a DC offset in codes).
    code_min, code_max
        The allowed codes; default the full range of the width (signed: -2**(bits-1) .. 2**(bits-1)-1;
        offset binary: 0 .. 2**bits - 1). Instruments with a symmetric range say so here
        (Keysight: -32767 .. 32767).

    Examples
    --------
    >>> dac = DacFormat.for_full_scale(16, full_scale=1.0, symmetric=True)   # +-1 V -> +-32767
    >>> dac.scale, dac.code_min, dac.code_max
    (32767.0, -32767, 32767)
    """

    bits: int = 16
    offset_binary: bool = False
    scale: float = 32767.0
    offset: float = 0.0
    code_min: int | None = None
    code_max: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.bits, bool) or not isinstance(self.bits, (int, np.integer)) or not 1 <= self.bits <= 32:
            raise RangeError(f"DacFormat.bits = {self.bits!r} must be a whole number from 1 to 32")
        for label, v in (("scale", self.scale), ("offset", self.offset)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
                raise RangeError(f"DacFormat.{label} must be a number (codes per unit / codes), got {v!r}")
            if not math.isfinite(float(v)):
                raise NonFiniteError(f"DacFormat.{label} = {v!r} is not finite")
        if float(self.scale) == 0.0:
            raise RangeError("DacFormat.scale = 0 codes per unit maps every value to one code")
        full_lo, full_hi = self._full_range()
        lo = full_lo if self.code_min is None else whole_samples(self.code_min, name="DacFormat.code_min")
        hi = full_hi if self.code_max is None else whole_samples(self.code_max, name="DacFormat.code_max")
        if not full_lo <= lo <= hi <= full_hi:
            raise RangeError(
                f"DacFormat code range [{lo}, {hi}] must lie within the {self.bits}-bit range "
                f"[{full_lo}, {full_hi}] and have code_min <= code_max"
            )
        object.__setattr__(self, "code_min", lo)
        object.__setattr__(self, "code_max", hi)
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "offset", float(self.offset))

    def _full_range(self) -> tuple[int, int]:
        if self.offset_binary:
            return 0, (1 << self.bits) - 1
        return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1

    @classmethod
    def for_full_scale(
        cls, bits: int, full_scale: float, *, offset_binary: bool = False, symmetric: bool = True
    ) -> DacFormat:
        """Map ``[-full_scale, +full_scale]`` (input units) onto the codes of a ``bits``-wide DAC.

        With ``symmetric`` the most negative code is left out so that the range is symmetric about 0
        (+-32767 for 16 bits); 0 maps to the middle code.
        """
        fs = float(full_scale)
        if not math.isfinite(fs) or fs <= 0:
            raise RangeError(f"full_scale = {full_scale!r} must be > 0 (input units)")
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 32:
            raise RangeError(f"bits = {bits!r} must be a whole number from 1 to 32")
        half = (1 << (bits - 1)) - 1
        if half == 0:
            raise RangeError("a 1-bit DAC has no symmetric full scale")
        if offset_binary:
            lo = 1 if symmetric else 0
            return cls(bits=bits, offset_binary=True, scale=half / fs, code_min=lo, code_max=(1 << bits) - 1)
        lo = -half if symmetric else -(half + 1)
        return cls(bits=bits, offset_binary=False, scale=half / fs, code_min=lo, code_max=half)

    @property
    def zero_code(self) -> int:
        """The code of input 0 before ``offset``."""
        return (1 << (self.bits - 1)) if self.offset_binary else 0

    @property
    def dtype(self) -> np.dtype[Any]:
        """The smallest NumPy integer type that holds every code."""
        width = 8 if self.bits <= 8 else 16 if self.bits <= 16 else 32
        return np.dtype(f"{'u' if self.offset_binary else 'i'}{width // 8}")

    @property
    def input_range(self) -> tuple[float, float]:
        """The input values that map to ``code_min`` and ``code_max`` (ordered low, high)."""
        assert self.code_min is not None and self.code_max is not None
        shift = self.offset + self.zero_code
        a = (self.code_min - shift) / self.scale
        b = (self.code_max - shift) / self.scale
        return (min(a, b), max(a, b))

    def _c_args(self) -> tuple[float, float, float, float, int]:
        assert self.code_min is not None and self.code_max is not None
        out_type = {"i1": 1, "u1": 2, "i2": 3, "u2": 4, "i4": 5, "u4": 6}[self.dtype.str[1:]]
        return self.scale, self.offset + self.zero_code, float(self.code_min), float(self.code_max), out_type


def dac_range_error(index: int, value: float, code: float, dac: DacFormat, where: str) -> DacRangeError:
    lo_v, hi_v = dac.input_range
    return DacRangeError(
        f"{where} {index} has value {value!r}, which maps to code {code:.0f}, outside the DAC range "
        f"[{dac.code_min}, {dac.code_max}] codes (inputs {lo_v:.6g} .. {hi_v:.6g}); "
        "pass clip=True to clip instead"
    )


def quantize(x: ArrayLike, dac: DacFormat, *, clip: bool = False) -> NDArray[np.integer[Any]]:
    """Scale, offset, round (ties to even) and range-check samples to DAC codes.

    Raises
    ------
    DacRangeError
        The first sample whose code is outside ``[dac.code_min, dac.code_max]``, with its index and
        value, unless ``clip`` is true (then codes are clamped and a warning logged).
    """
    if not isinstance(dac, DacFormat):
        raise WavegenValueError(f"dac must be a DacFormat, got {type(dac).__name__}")
    y = as_real_samples(x, name="x")
    out = np.empty(y.shape, dtype=dac.dtype)
    if y.size == 0:
        return out
    scale, offset, lo, hi, out_type = dac._c_args()
    if _backend.NATIVE:
        ffi, lib = _backend.ffi, _backend.lib
        cdac = ffi.new("wg_dac *", {"scale": scale, "offset": offset, "lo": lo, "hi": hi, "clip": int(clip),
                                     "out_type": out_type})
        n_clipped = ffi.new("int64_t *")
        bad = lib.wg_quantize(ffi.from_buffer("double[]", y), y.size, ffi.from_buffer(out), cdac, n_clipped)
        clipped = int(n_clipped[0])
    else:
        codes, bad, clipped = reference_quantize(y, scale=scale, offset=offset, lo=lo, hi=hi, clip=clip)
        if bad < 0:
            out[...] = codes
    if bad >= 0:
        raise dac_range_error(int(bad), float(y[bad]), float(np.rint(y[bad] * scale + offset)), dac, "sample")
    if clipped:
        logger.warning("quantize: clipped %d of %d samples to the DAC range [%d, %d]", clipped, y.size,
                    dac.code_min, dac.code_max)
    return out
