"""A bank of one-pole recursive filters in parallel, run chunk by chunk (native kernel ``wg_pole_bank``).

A linear system with simple poles, sampled by impulse invariance, has the impulse response
``h[k] = sum_i c_i r_i**k``: a sum of one-pole recursions ``s_i[k] = r_i s_i[k-1] + c_i x[k]`` whose real
parts add up to the output (Oppenheim & Schafer, *Discrete-Time Signal Processing*, 3rd ed., 2010,
6.3.3 and 7.2.1). Poles come as real ones or conjugate pairs; a pair runs as one complex recursion
counted twice. The state is carried from chunk to chunk, so a record filtered in pieces equals the
record filtered whole, sample for sample; the work is a few multiply-adds per pole and sample.

Without the compiled kernels the same recursion runs through :func:`scipy.signal.lfilter`, one pole at
a time (imported only then).
"""

from __future__ import annotations

import numpy as np

from wavegen._backend import NATIVE, ffi, lib
from wavegen.errors import RangeError, ShapeError

__all__ = ["PoleBank", "process_banks"]


class PoleBank:
    """``y[k] = sum_i Re(s_i[k])`` over the conjugate-pair-free pole set, with ``s_i[k] = r_i s_i[k-1] + c_i x[k]``.

    Parameters
    ----------
    poles : array of complex
        The discrete poles ``r_i`` (``|r_i| < 1``); conjugate pairs must both be present.
    coefficients : array of complex
        The residue-like coefficients ``c_i`` (conjugate where the poles are), so that the impulse
        response ``sum_i c_i r_i**k`` is real.
    """

    def __init__(self, poles: np.ndarray, coefficients: np.ndarray) -> None:
        r = np.asarray(poles, dtype=complex).ravel()
        c = np.asarray(coefficients, dtype=complex).ravel()
        if r.shape != c.shape or r.size == 0:
            raise ShapeError(f"poles and coefficients must be non-empty and of one length, got {r.size} and {c.size}")
        if not (np.all(np.isfinite(r)) and np.all(np.isfinite(c))):
            raise RangeError("poles and coefficients must be finite")
        if np.any(np.abs(r) >= 1.0):
            raise RangeError(f"pole magnitudes must be < 1 (a stable filter), got max {np.max(np.abs(r)):.6g}")
        keep_r, keep_c, weight = [], [], []
        used = np.zeros(r.size, dtype=bool)
        scale = max(1.0, float(np.max(np.abs(r))))
        for i in range(r.size):
            if used[i]:
                continue
            used[i] = True
            if abs(r[i].imag) <= 1e-12 * scale:
                keep_r.append(complex(r[i].real, 0.0))
                keep_c.append(complex(c[i].real, 0.0))
                weight.append(1.0)
                continue
            partner = [k for k in range(r.size) if not used[k] and abs(r[k] - np.conj(r[i])) <= 1e-9 * scale]
            if not partner:
                raise RangeError(f"pole {r[i]:.6g} has no conjugate: the response would not be real")
            used[partner[0]] = True
            keep_r.append(complex(r[i]))
            keep_c.append(complex(c[i]))
            weight.append(2.0)
        self._r = np.array(keep_r)
        self._c = np.array(keep_c)
        self._w = np.array(weight)
        self._r_re, self._r_im = np.ascontiguousarray(self._r.real), np.ascontiguousarray(self._r.imag)
        self._c_re, self._c_im = np.ascontiguousarray(self._c.real), np.ascontiguousarray(self._c.imag)
        self._s_re = np.zeros(self._r.size)
        self._s_im = np.zeros(self._r.size)

    def process(self, x: np.ndarray) -> np.ndarray:
        """The output for the next input samples ``x`` (1-D float64, any length); the state carries on."""
        v = np.ascontiguousarray(x, dtype=np.float64)
        if v.ndim != 1:
            raise ShapeError(f"x must be 1-D, got shape {v.shape}")
        y = np.empty(v.size)
        if v.size == 0:
            return y
        if NATIVE:
            dp = "double *"
            lib.wg_pole_bank(
                int(self._r.size), ffi.cast(dp, ffi.from_buffer(self._r_re)), ffi.cast(dp, ffi.from_buffer(self._r_im)),
                ffi.cast(dp, ffi.from_buffer(self._c_re)), ffi.cast(dp, ffi.from_buffer(self._c_im)),
                ffi.cast(dp, ffi.from_buffer(self._w)), ffi.cast(dp, ffi.from_buffer(self._s_re)),
                ffi.cast(dp, ffi.from_buffer(self._s_im)), ffi.cast(dp, ffi.from_buffer(v)),
                ffi.cast(dp, ffi.from_buffer(y)), int(v.size),
            )
            return y
        return self._process_reference(v)

    def _process_reference(self, v: np.ndarray) -> np.ndarray:
        """The recursion through :func:`scipy.signal.lfilter`, one pole at a time (the NumPy path)."""
        from scipy.signal import lfilter

        y = np.zeros(v.size)
        for i in range(self._r.size):
            s0 = complex(self._s_re[i], self._s_im[i])
            s, zf = lfilter([self._c[i]], [1.0, -self._r[i]], v.astype(complex), zi=[self._r[i] * s0])
            y += self._w[i] * s.real
            self._s_re[i], self._s_im[i] = s[-1].real, s[-1].imag
            del zf
        return y


def process_banks(banks: list[PoleBank], x: np.ndarray) -> np.ndarray:
    """Row ``b`` of ``x`` through ``banks[b]``, all in one pass (native kernel ``wg_pole_banks``: the banks'
    independent recursions run side by side per sample). Each row's result and each bank's new state are
    exactly what ``banks[b].process(x[b])`` gives."""
    v = np.ascontiguousarray(x, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != len(banks):
        raise ShapeError(f"x must have shape ({len(banks)}, n), got {v.shape}")
    if not NATIVE or v.shape[1] == 0:
        return np.stack([b.process(row) for b, row in zip(banks, v, strict=True)]) if banks else v.copy()
    counts = np.array([b._r.size for b in banks], dtype=np.intc)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intc)
    cat = {k: np.ascontiguousarray(np.concatenate([getattr(b, k) for b in banks]))
           for k in ("_r_re", "_r_im", "_c_re", "_c_im", "_w", "_s_re", "_s_im")}
    y = np.empty_like(v)
    dp = "double *"
    lib.wg_pole_banks(
        len(banks), ffi.cast("int *", ffi.from_buffer(counts)), ffi.cast("int *", ffi.from_buffer(offsets)),
        *(ffi.cast(dp, ffi.from_buffer(cat[k])) for k in ("_r_re", "_r_im", "_c_re", "_c_im", "_w", "_s_re", "_s_im")),
        ffi.cast(dp, ffi.from_buffer(v)), ffi.cast(dp, ffi.from_buffer(y)), int(v.shape[1]),
    )
    for b, k0, m in zip(banks, offsets.tolist(), counts.tolist(), strict=True):
        b._s_re[:] = cat["_s_re"][k0 : k0 + m]
        b._s_im[:] = cat["_s_im"][k0 : k0 + m]
    return y
