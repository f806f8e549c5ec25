"""Pure-NumPy reference for the resampling kernels in ``native/resample.c``.

This module restates, as plainly as possible, what every kernel computes, so the tests can check the
C code against it (and wavegen still works, slowly, where the extension could not be built). It
shares nothing with the C code but the kernel *definitions* in :func:`sinc_design`; the sinc kernel is
evaluated directly here, where the C code interpolates a fine table of it.

Definitions (the contract of :func:`wavegen.dsp`):

- output ``k`` sits at the exact source position ``u_k = (A + k*S) / den`` (integers), i.e.
  ``i_k = floor(u_k)`` and ``r_k = (A + k*S) mod den``;
- source samples outside ``[0, n)`` are 0; the interpolant is 0 outside its span, ``[0, n)`` for
  ``"zoh"`` and ``[0, n - 1]`` for the others;
- ``"zoh"``: ``x[i]``; ``"linear"``: ``x[i] + f (x[i+1] - x[i])`` with ``f = r/den``;
  ``"cubic"``: Keys (1981) cubic convolution with a = -0.5; ``"sinc"``: a Kaiser-windowed sinc with
  cutoff at the lower Nyquist frequency, weights normalised to sum to one.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SincDesign",
    "sinc_design",
    "sinc_kernel",
    "kernel_response_db",
    "keys_weights",
    "reference_render",
    "reference_quantize",
]


@dataclass(frozen=True)
class SincDesign:
    """A Kaiser-windowed sinc interpolation kernel, in source-sample units.

    ``h(d) = c * sinc(c d) * w(d)`` for ``|d| < half_width``, 0 beyond, with the Kaiser window less its
    pedestal, ``w(d) = (I0(beta sqrt(1 - (d/half_width)^2)) - 1) / (I0(beta) - 1)``: the same window
    shifted and rescaled so that it reaches exactly 0 at the edge, which keeps the kernel continuous (so a
    table of it interpolates well everywhere) and moves its spectrum by less than 1/I0(beta).
    """

    cutoff: float  # c = min(1, dst_rate / src_rate): the cutoff, as a fraction of the source Nyquist
    beta: float  # Kaiser window shape
    half_width: float  # kernel half width, source samples
    ntaps: int  # taps per output (even)
    left: int  # taps left of floor(u)


def _kaiser_design(design_db: float, passband: float, cutoff: float) -> SincDesign:
    """Kaiser's formulas (Kaiser 1974; Oppenheim & Schafer, 3rd ed., sec. 7.6) for ``design_db``."""
    if design_db > 50.0:
        beta = 0.1102 * (design_db - 8.7)
    elif design_db >= 21.0:
        beta = 0.5842 * (design_db - 21.0) ** 0.4 + 0.07886 * (design_db - 21.0)
    else:
        beta = 0.0
    transition = (1.0 - passband) * cutoff  # cycles per source sample
    n_taps_fir = (design_db - 7.95) / (14.36 * transition) + 1.0
    half_width = max(1.0, (n_taps_fir - 1.0) / 2.0)
    ntaps = 2 * math.ceil(half_width)
    return SincDesign(cutoff=cutoff, beta=beta, half_width=half_width, ntaps=ntaps, left=ntaps // 2 - 1)


def kernel_response_db(design: SincDesign, passband: float) -> tuple[float, float]:
    """(worst stop-band level, worst pass-band deviation) of the kernel's continuous spectrum, in dB.

    The spectrum of the interpolating kernel, from a dense sampling of it (16 points per unit of
    1/cutoff, zero-padded FFT): the stop band is ``F >= (2 - passband) * cutoff / 2`` cycles per source
    sample (up to 8x the cutoff), the pass band ``F <= passband * cutoff / 2``.
    """
    c = design.cutoff
    per_sample = 16.0 * c * 2.0  # samples of the kernel per source sample
    n = int(math.ceil(design.half_width * per_sample))
    d = np.arange(-n, n + 1) / per_sample
    h = sinc_kernel(design, d)
    nfft = 1 << 15
    spectrum = np.abs(np.fft.rfft(h, nfft)) / per_sample  # continuous-time transform; H(0) ~ 1
    freqs = np.fft.rfftfreq(nfft, 1.0 / per_sample)
    gain = spectrum[0]
    stop = spectrum[freqs >= (2.0 - passband) * c / 2.0]
    pas = spectrum[freqs <= passband * c / 2.0]
    worst_stop = float(np.max(stop)) / gain
    worst_pass = float(np.max(np.abs(pas / gain - 1.0)))
    return 20 * math.log10(max(worst_stop, 1e-300)), 20 * math.log10(max(worst_pass, 1e-300))


@functools.lru_cache(maxsize=64)
def sinc_design(atten_db: float, passband: float, cutoff: float) -> SincDesign:
    """The kernel for a stated stop-band attenuation, verified on its spectrum.

    The pass band ends at ``passband`` times the lower Nyquist frequency ``fn``, the stop band starts at
    ``(2 - passband) * fn`` and is attenuated by ``atten_db``; the cutoff is ``fn`` itself. Kaiser's
    formulas are estimates (and the window here has no pedestal), so the design is checked on the
    kernel's spectrum (:func:`kernel_response_db`) and strengthened 1 dB at a time until the stop band
    and the pass-band ripple both meet ``atten_db``.
    """
    for extra in range(0, 25):
        design = _kaiser_design(atten_db + extra, passband, cutoff)
        stop_db, pass_db = kernel_response_db(design, passband)
        if stop_db <= -atten_db and pass_db <= -atten_db:
            return design
    return design  # pragma: no cover - 24 dB beyond Kaiser's estimate has not been needed


def sinc_kernel(design: SincDesign, d: NDArray[np.float64]) -> NDArray[np.float64]:
    """The kernel ``h(d)``, evaluated directly (``d`` in source samples)."""
    d = np.asarray(d, dtype=np.float64)
    c, hw = design.cutoff, design.half_width
    inside = np.abs(d) < hw
    ratio = np.where(inside, d / hw, 0.0)
    i0_beta = float(np.i0(design.beta))
    if i0_beta > 1.0:
        window = (np.i0(design.beta * np.sqrt(np.maximum(0.0, 1.0 - ratio * ratio))) - 1.0) / (i0_beta - 1.0)
    else:  # beta = 0: the rectangular window (only for attenuations below 21 dB)
        window = np.ones_like(ratio)
    return np.where(inside, c * np.sinc(c * d) * window, 0.0)


def keys_weights(f: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keys cubic convolution weights (a = -0.5) for taps at floor(u) - 1 .. floor(u) + 2; shape (n, 4)."""
    w = np.empty((f.size, 4))
    w[:, 0] = ((-0.5 * f + 1.0) * f - 0.5) * f
    w[:, 1] = (1.5 * f - 2.5) * f * f + 1.0
    w[:, 2] = ((-1.5 * f + 2.0) * f + 0.5) * f
    w[:, 3] = (0.5 * f - 0.5) * f * f
    return w


def _positions(a: int, s: int, den: int, start: int, n_out: int) -> tuple[NDArray[np.int64], list[int]]:
    nums = [a + (start + m) * s for m in range(n_out)]  # exact Python integers
    i = np.array([v // den for v in nums], dtype=np.int64)
    r = [v % den for v in nums]
    return i, r


def reference_render(
    x: NDArray[np.float64] | NDArray[np.complex128],
    *,
    method: str,
    a: int,
    s: int,
    den: int,
    start: int,
    n_out: int,
    design: SincDesign | None = None,
    x_lo: int = 0,
    n_in: int | None = None,
) -> NDArray[np.float64] | NDArray[np.complex128]:
    """Outputs ``start .. start + n_out - 1`` for the exact positions ``(a + k*s)/den``.

    ``x`` holds source samples ``x_lo .. x_lo + x.size - 1`` of a source of ``n_in`` samples (default:
    all of it); the window must hold every sample the outputs need inside ``[0, n_in)``.
    """
    if np.iscomplexobj(x):
        kw: dict = dict(method=method, a=a, s=s, den=den, start=start, n_out=n_out, design=design, x_lo=x_lo,
                        n_in=n_in)
        re = reference_render(x.real.copy(), **kw)
        im = reference_render(x.imag.copy(), **kw)
        return np.asarray(re + 1j * im, dtype=np.complex128)
    n = x.size if n_in is None else n_in
    i, r = _positions(a, s, den, start, n_out)
    r_nonzero = np.array([v != 0 for v in r], dtype=bool)
    f = np.array([float(v) for v in r], dtype=np.float64) / float(den)

    if method == "zoh":
        ntaps, left = 1, 0
    elif method == "linear":
        ntaps, left = 2, 0
    elif method == "cubic":
        ntaps, left = 4, 1
    elif method == "sinc":
        if design is None:
            raise ValueError("method 'sinc' needs its design")
        ntaps, left = design.ntaps, design.left
    else:
        raise ValueError(f"unknown method {method!r}")

    idx = i[:, None] - left + np.arange(ntaps)[None, :]
    valid = (idx >= 0) & (idx < n)
    local = idx - x_lo
    if np.any(valid & ((local < 0) | (local >= x.size))):
        raise ValueError("reference_render: the source window does not hold every sample the outputs need")
    taps = np.where(valid, x[np.clip(local, 0, max(x.size - 1, 0))], 0.0) if x.size else np.zeros(idx.shape)

    if method == "zoh":
        y = taps[:, 0].copy()
        in_span = (i >= 0) & (i < n)
    else:
        in_span = (i >= 0) & (i <= n - 1) & ~((i == n - 1) & r_nonzero)
        if method == "linear":
            y = taps[:, 0] + f * (taps[:, 1] - taps[:, 0])
        elif method == "cubic":
            w = keys_weights(f)
            xc = taps[:, 1]
            y = xc + w[:, 0] * (taps[:, 0] - xc) + w[:, 2] * (taps[:, 2] - xc) + w[:, 3] * (taps[:, 3] - xc)
        else:
            assert design is not None
            d = (np.arange(ntaps)[None, :] - left) - f[:, None]
            w = sinc_kernel(design, d)
            sums = w.sum(axis=1, keepdims=True)
            w = np.where(sums != 0.0, w / np.where(sums != 0.0, sums, 1.0), w)
            xc = taps[:, left]
            y = xc + (w * (taps - xc[:, None])).sum(axis=1)
    return np.where(in_span, y, 0.0)


def reference_quantize(
    y: NDArray[np.float64], *, scale: float, offset: float, lo: float, hi: float, clip: bool
) -> tuple[NDArray[np.float64], int, int]:
    """Codes as floats, the index of the first out-of-range code (-1 if none) and the clip count."""
    q = np.rint(y * scale + offset)
    bad = ~((q >= lo) & (q <= hi))
    n_bad = int(bad.sum())
    if not clip:
        return q, (int(np.argmax(bad)) if n_bad else -1), 0
    return np.clip(q, lo, hi), -1, n_bad
