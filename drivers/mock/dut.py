"""A simulated device under test for the mock bench: gradient chains and an RF chain.

What the analog inputs of the mock bench see when the outputs play. Every chain maps the volts a DAC
drives to the volts a calibrated monitor returns, with the imperfections a real bench has:

Gradient chain (amplifier + coil + eddy currents + current/field monitor), a linear time-invariant
system (docs/references/hil.md section 1, Vannesjo et al., MRM 69:583 (2013))::

    H(f) = gain * exp(-2j pi f delay) * B(f) * (1 - sum_i a_i s tau_i / (1 + s tau_i)),   s = 2j pi f

``B`` is a 2nd-order Butterworth low-pass of cut-off ``bandwidth_hz`` (the amplifier/coil band
limit); the sum is the multi-exponential eddy-current model (Jehenson et al., JMR 90:264 (1990);
Morich et al., IEEE TMI 7:247 (1988)): DC gain unaffected, a step loses ``sum a_i`` at first and
recovers with the time constants ``tau_i``. White Gaussian noise of ``noise_rms_v`` is added.

RF chain (class-AB power amplifier, directional coupler, I/Q demodulator; docs/references/hil.md §4):
the complex envelope ``u = I + jQ`` volts goes through a Rapp AM/AM compression
``|y| = g|u| / (1 + (g|u|/V_sat)^(2p))^(1/(2p))`` and a Saleh AM/PM phase ``a |u|^2 / (1 + b |u|^2)``,
then a delay; noise is added to I and Q.

Chains work on whole records in the frequency domain (zero-padded so that circular wrap-around is
below the noise), are seeded (:class:`numpy.random.Generator`) and deterministic: the same seed and the
same calls give the same bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from wavegen.errors import RangeError, ShapeError
from wavegen.validate import non_negative, positive

__all__ = [
    "EddyTerm", "GradientChain", "RfChain", "DeviceUnderTest", "DutStream", "IirStream", "LtiStream", "NoiseTable",
    "default_dut",
]


@dataclass(frozen=True)
class EddyTerm:
    """One eddy-current term: relative amplitude ``amplitude`` (0.02 = 2 %) and time constant, s."""

    amplitude: float
    time_constant_s: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.amplitude) and -0.5 < self.amplitude < 0.5):
            raise RangeError(f"eddy amplitude = {self.amplitude!r} must be in (-0.5, 0.5)")
        positive(self.time_constant_s, "eddy time_constant_s", "s")


@dataclass(frozen=True)
class GradientChain:
    """One gradient axis: DAC volts in, monitor volts out (see the module docstring).

    Parameters
    ----------
    gain : float
        DC gain, V/V (1.0 = the calibrations are right; 0.98 = 2 % low).
    delay_s : float
        Pure delay, s (any value, sub-sample included).
    bandwidth_hz : float
        -3 dB cut-off of the 2nd-order Butterworth band limit, Hz.
    eddy : tuple of EddyTerm
        Multi-exponential eddy currents.
    noise_rms_v : float
        White noise on the monitor, V rms.
    """

    gain: float = 1.0
    delay_s: float = 2e-6
    bandwidth_hz: float = 30e3
    eddy: tuple[EddyTerm, ...] = ()
    noise_rms_v: float = 2e-4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.gain) and self.gain > 0):
            raise RangeError(f"gain = {self.gain!r} V/V must be a finite number > 0")
        non_negative(self.delay_s, "delay_s", "s")
        positive(self.bandwidth_hz, "bandwidth_hz", "Hz")
        non_negative(self.noise_rms_v, "noise_rms_v", "V")

    def response(self, f_hz: np.ndarray) -> np.ndarray:
        """The true transfer function H(f) (complex, V/V) at frequencies ``f_hz``."""
        f = np.asarray(f_hz, dtype=np.float64)
        s = 2j * np.pi * f
        w0 = 2.0 * np.pi * self.bandwidth_hz
        lp = w0 * w0 / (s * s + math.sqrt(2.0) * w0 * s + w0 * w0)
        ec = np.ones_like(s)
        for t in self.eddy:
            ec = ec - t.amplitude * s * t.time_constant_s / (1.0 + s * t.time_constant_s)
        return self.gain * np.exp(-s * self.delay_s) * lp * ec

    def poles_residues(self) -> tuple[np.ndarray, np.ndarray]:
        """Poles ``p_i`` (1/s) and residues ``R_i`` of the rational part ``gain * B(s) * E(s)`` (the delay
        aside): its impulse response is ``sum_i R_i exp(p_i t)``. Raises RangeError when poles repeat
        (two equal time constants), which have no simple-pole expansion."""
        w0 = 2.0 * np.pi * self.bandwidth_hz
        den_e = np.array([1.0])
        for t in self.eddy:
            den_e = np.polymul(den_e, [t.time_constant_s, 1.0])
        num_e = den_e.copy()
        for j, t in enumerate(self.eddy):
            term = np.array([t.amplitude * t.time_constant_s, 0.0])
            for k, u in enumerate(self.eddy):
                if k != j:
                    term = np.polymul(term, [u.time_constant_s, 1.0])
            num_e = np.polysub(num_e, term)
        num = self.gain * w0 * w0 * num_e
        den = np.polymul([1.0, math.sqrt(2.0) * w0, w0 * w0], den_e)
        poles = np.roots(den)
        scale = np.abs(poles)
        for i in range(poles.size):
            for k in range(i):
                if abs(poles[i] - poles[k]) <= 1e-9 * max(scale[i], scale[k]):
                    raise RangeError(f"repeated pole {poles[i]:.6g} 1/s: eddy time constants must differ")
        residues = np.polyval(num, poles) / np.polyval(np.polyder(den), poles)
        return poles, residues

    def settle_s(self) -> float:
        """Time after which the impulse response has decayed below ~1e-6 of its peak, s."""
        taus = [t.time_constant_s for t in self.eddy] + [1.0 / (2 * np.pi * self.bandwidth_hz)]
        return self.delay_s + 14.0 * max(taus)

    def apply(self, rate_hz: float, volts: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """What the monitor shows for ``volts`` played at ``rate_hz`` (same length, V)."""
        return _lti(self.response, self.settle_s(), rate_hz, volts, self.noise_rms_v, rng)


def _lti(
    response: Callable[[np.ndarray], np.ndarray],
    settle_s: float,
    rate_hz: float,
    x: np.ndarray,
    noise: float,
    rng: np.random.Generator | None,
) -> np.ndarray:
    v = np.asarray(x)
    if v.ndim != 1 or v.size == 0:
        raise ShapeError(f"volts must be a non-empty 1-D array, got shape {v.shape}")
    rate = positive(rate_hz, "rate_hz", "Hz")
    n = v.size
    pad = int(math.ceil(settle_s * rate)) + 16
    nfft = 1 << int(math.ceil(math.log2(n + pad)))
    if np.iscomplexobj(v):
        f = np.fft.fftfreq(nfft, 1.0 / rate)
        y: np.ndarray = np.fft.ifft(np.fft.fft(v, nfft) * response(f))[:n]
    else:
        f = np.fft.rfftfreq(nfft, 1.0 / rate)
        y = np.fft.irfft(np.fft.rfft(v.astype(np.float64), nfft) * response(f), nfft)[:n]
    if noise > 0 and rng is not None:
        if np.iscomplexobj(y):
            y = y + noise * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        else:
            y = y + noise * rng.standard_normal(n)
    return y


@dataclass(frozen=True)
class RfChain:
    """The RF chain: complex envelope volts in (I + jQ), demodulated coupler volts out.

    Parameters
    ----------
    gain : float
        Small-signal gain, V/V.
    saturation_v : float
        Rapp saturation level of the output envelope, V.
    smoothness : float
        Rapp smoothness ``p`` (large = hard clipping).
    am_pm_rad : float
        Saleh AM/PM ``a``: phase at large amplitude approaches ``a / b`` rad.
    am_pm_beta_per_v2 : float
        Saleh AM/PM ``b``, 1/V^2.
    delay_s : float
        Group delay, s.
    noise_rms_v : float
        Noise on I and on Q, V rms.
    """

    gain: float = 1.0
    saturation_v: float = 6.0
    smoothness: float = 2.0
    am_pm_rad: float = 0.02
    am_pm_beta_per_v2: float = 0.05
    delay_s: float = 0.3e-6
    noise_rms_v: float = 2e-4

    def __post_init__(self) -> None:
        positive(self.gain, "gain", "V/V")
        positive(self.saturation_v, "saturation_v", "V")
        positive(self.smoothness, "smoothness", "")
        non_negative(self.am_pm_beta_per_v2, "am_pm_beta_per_v2", "1/V^2")
        non_negative(self.delay_s, "delay_s", "s")
        non_negative(self.noise_rms_v, "noise_rms_v", "V")

    def am_am(self, amplitude_v: np.ndarray) -> np.ndarray:
        """Output envelope amplitude for input amplitude, V (Rapp)."""
        a = self.gain * np.abs(np.asarray(amplitude_v, dtype=np.float64))
        p2 = 2.0 * self.smoothness
        return a / (1.0 + (a / self.saturation_v) ** p2) ** (1.0 / p2)

    def am_pm(self, amplitude_v: np.ndarray) -> np.ndarray:
        """Phase added for input amplitude, rad (Saleh)."""
        r2 = np.abs(np.asarray(amplitude_v, dtype=np.float64)) ** 2
        return self.am_pm_rad * r2 / (1.0 + self.am_pm_beta_per_v2 * r2)

    def apply(
        self, rate_hz: float, i_v: np.ndarray, q_v: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The demodulated (I, Q) volts for an envelope (I, Q) volts played at ``rate_hz``."""
        i = np.asarray(i_v, dtype=np.float64)
        q = np.asarray(q_v, dtype=np.float64)
        if i.shape != q.shape or i.ndim != 1:
            raise ShapeError(f"I and Q must be 1-D arrays of one shape, got {i.shape} and {q.shape}")
        u = i + 1j * q
        r = np.abs(u)
        y = self.am_am(r) * np.exp(1j * (np.angle(u) + self.am_pm(r)))
        delay = self.delay_s

        def h(f: np.ndarray) -> np.ndarray:
            return np.exp(-2j * np.pi * f * delay)

        out = _lti(h, delay, rate_hz, y, self.noise_rms_v, rng)
        return out.real.copy(), out.imag.copy()


class LtiStream:
    """A chain's linear part applied chunk by chunk (overlap-save), with its memory carried between
    chunks: feeding a record in pieces gives what :func:`_lti` gives for the whole record, to the
    truncation of the impulse response (it has decayed below ~1e-6 of its peak by ``settle_s``).

    The impulse response is ``H`` sampled on a grid of ``2 L`` points and transformed back, ``L`` the
    settle time in samples (plus 64 for the sub-sample delay's sinc tails); a chunk is convolved with it
    through FFTs of a size that keeps the work per sample constant.
    """

    def __init__(self, response: Callable[[np.ndarray], np.ndarray], settle_s: float, rate_hz: float,
                 *, complex_valued: bool = False) -> None:
        rate = positive(rate_hz, "rate_hz", "Hz")
        taps = int(math.ceil(settle_s * rate)) + 64
        grid = 1 << int(math.ceil(math.log2(2 * taps)))
        f = np.fft.fftfreq(grid, 1.0 / rate)
        h = np.fft.ifft(response(f))
        self._h = h[:taps] if complex_valued else h[:taps].real.copy()
        self._complex = complex_valued
        self._tail = np.zeros(taps - 1, dtype=complex if complex_valued else np.float64)
        self._block = 1 << int(math.ceil(math.log2(8 * taps)))
        self._H = np.fft.fft(self._h, self._block) if complex_valued else np.fft.rfft(self._h, self._block)

    def process(self, x: np.ndarray) -> np.ndarray:
        """The output samples for the next input samples ``x`` (any length)."""
        v = np.asarray(x, dtype=complex if self._complex else np.float64)
        out = np.empty(v.size, dtype=v.dtype)
        step = self._block - (self._h.size - 1)
        k = 0
        while k < v.size:
            piece = v[k : k + step]
            buf = np.concatenate([self._tail, piece])
            lo = self._h.size - 1
            y: np.ndarray
            if self._complex:
                y = np.fft.ifft(np.fft.fft(buf, self._block) * self._H)
            else:
                y = np.fft.irfft(np.fft.rfft(buf, self._block) * self._H, self._block)
            out[k : k + piece.size] = y[lo : lo + piece.size]
            keep = self._h.size - 1
            self._tail = buf[-keep:] if keep else buf[:0]
            k += piece.size
        return out


class IirStream:
    """A gradient chain sampled by impulse invariance and run as recursive filters, chunk by chunk.

    The chain's rational part ``gain * B(s) * E(s)`` has only simple poles ``p_i`` (the Butterworth pair
    and one per eddy term) and no direct term (its relative degree is 2), so its impulse response is
    ``h(t) = sum_i R_i exp(p_i t)`` with residues ``R_i = N(p_i) / D'(p_i)``. Sampled with the delay,
    ``h[n] = T h(nT - d)`` for ``nT >= d``: a sum of geometric sequences, which a bank of one-pole
    recursions (:class:`wavegen.dsp.iir.PoleBank`) produces exactly, state carried from chunk to chunk.
    The sampled impulse response equals the continuous model's at every sample instant (impulse
    invariance; Oppenheim & Schafer, *Discrete-Time Signal Processing*, 3rd ed., 7.2.1); it differs from
    :meth:`GradientChain.apply`'s band-limited discretisation by the aliasing of the model's response
    beyond the Nyquist frequency (about 0.1 % of the peak at a full-scale edge at 1 MS/s). The work per
    sample is a few multiply-adds per pole, whatever the eddy time constants.
    """

    def __init__(self, chain: GradientChain, rate_hz: float) -> None:
        from wavegen.dsp.iir import PoleBank

        rate = positive(rate_hz, "rate_hz", "Hz")
        period = 1.0 / rate
        poles, residues = chain.poles_residues()
        self.n_delay = int(math.ceil(chain.delay_s * rate - 1e-9))
        r = np.exp(poles * period)
        c = period * residues * np.exp(poles * (self.n_delay * period - chain.delay_s))
        self._bank = PoleBank(r, c)
        self._hist = np.zeros(self.n_delay)

    def delayed(self, x: np.ndarray) -> np.ndarray:
        """The next input samples ``x`` delayed by the chain's whole samples (the history carries on)."""
        v = np.asarray(x, dtype=np.float64)
        if self.n_delay:
            buf = np.concatenate([self._hist, v])
            self._hist = buf[buf.size - self.n_delay :]
            v = buf[: v.size]
        return v

    def process(self, x: np.ndarray) -> np.ndarray:
        """The output samples for the next input samples ``x`` (any length)."""
        return self._bank.process(self.delayed(x))


class NoiseTable:
    """White Gaussian noise for long streams, cheaply: a table of ``2**20`` standard normal samples drawn
    once from the device's generator, read from a random offset (drawn from the same generator) for each
    chunk. The samples are Gaussian and white within a chunk; chunks reuse the table at independent
    offsets. A mock's noise, deterministic for a seed and call order."""

    SIZE = 1 << 20

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._table = rng.standard_normal(self.SIZE)

    def draw(self, n: int) -> np.ndarray:
        """``n`` samples (a view when they fit in the table from the drawn offset, else a copy)."""
        k = int(self._rng.integers(0, self.SIZE))
        if k + n <= self.SIZE:
            return self._table[k : k + n]
        out = np.empty(n)
        at = 0
        while at < n:  # the table read cyclically from k (what tiling it would give, without the copies)
            take = min(n - at, self.SIZE - k)
            out[at : at + take] = self._table[k : k + take]
            at += take
            k = 0
        return out


class DutStream:
    """The device under test for a stream: ``process(rate_hz, volts)`` with the chains' memory carried
    from one chunk to the next (:class:`IirStream`, or :class:`LtiStream` for a chain whose poles repeat)
    and the noise read from a :class:`NoiseTable` drawn from the device's generator."""

    def __init__(self, dut: DeviceUnderTest, rate_hz: float) -> None:
        self.dut = dut
        self.rate_hz = rate_hz
        self._grad: dict[str, IirStream | LtiStream] = {}
        for a, c in dut.gradients.items():
            try:
                self._grad[a] = IirStream(c, rate_hz)
            except RangeError:  # repeated poles: no simple-pole expansion; the FIR path
                self._grad[a] = LtiStream(c.response, c.settle_s(), rate_hz)
        # the RF chain's delay, causally: whole samples plus a linear interpolation of the fraction
        whole, self._rf_frac = divmod(dut.rf.delay_s * rate_hz, 1.0)
        self._rf_hist = np.zeros((2, int(whole) + 1))  # the last samples of I and Q
        self._noise = NoiseTable(dut.rng)

    def gradients(self, volts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """:meth:`gradient` of several axes at once (equal lengths): the recursive chains run side by side
        (:func:`wavegen.dsp.iir.process_banks`), sample for sample what each gives alone."""
        from wavegen.dsp.iir import process_banks

        names = list(volts)
        iir = [a for a in names if isinstance(self._grad.get(a), IirStream)]
        sizes = {np.asarray(volts[a]).size for a in iir}
        if len(iir) < 2 or len(sizes) != 1:
            return {a: self.gradient(a, volts[a]) for a in names}
        chains = [self._grad[a] for a in iir]
        delayed = np.stack([c.delayed(volts[a]) for a, c in zip(iir, chains, strict=True)])  # type: ignore[union-attr]
        ys = process_banks([c._bank for c in chains], delayed)  # type: ignore[union-attr]
        out: dict[str, np.ndarray] = {}
        for row, a in enumerate(iir):
            y = ys[row]
            noise = self.dut.gradients[a].noise_rms_v
            if noise > 0:
                y += noise * self._noise.draw(y.size)
            out[a] = y
        for a in names:
            if a not in out:
                out[a] = self.gradient(a, volts[a])
        return {a: out[a] for a in names}

    def gradient(self, axis: str, volts: np.ndarray) -> np.ndarray:
        chain = self._grad.get(axis)
        if chain is None:
            raise RangeError(f"no gradient chain {axis!r}; have {sorted(self._grad)}")
        y = chain.process(volts)
        noise = self.dut.gradients[axis].noise_rms_v
        if noise > 0:
            y += noise * self._noise.draw(y.size)
        return y

    def rf_iq(self, i_v: np.ndarray, q_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rf = self.dut.rf
        i = np.asarray(i_v, dtype=np.float64)
        q = np.asarray(q_v, dtype=np.float64)
        yi, yq = np.zeros(i.size), np.zeros(i.size)
        on = np.flatnonzero((i != 0) | (q != 0))  # the amplifier's curves only where it is driven (0 in, 0 out)
        if on.size:
            uo = i[on] + 1j * q[on]
            a = np.abs(uo)
            yo = uo * (rf.am_am(a) / a) * np.exp(1j * rf.am_pm(a))
            yi[on], yq[on] = yo.real, yo.imag
        # the delay: (whole + frac) samples, causal, by linear interpolation, on I and Q alike
        m = self._rf_hist.shape[1]
        out = []
        for row, y in enumerate((yi, yq)):
            buf = np.concatenate([self._rf_hist[row], y])  # buf[m + k] is y[k]
            d = buf[1 : 1 + y.size] * (1.0 - self._rf_frac)
            if self._rf_frac:
                d += self._rf_frac * buf[: y.size]
            self._rf_hist[row] = buf[buf.size - m :]
            out.append(d)
        if rf.noise_rms_v > 0:
            for d in out:
                d += rf.noise_rms_v * self._noise.draw(d.size)
        return out[0], out[1]


def _default_gradients() -> dict[str, GradientChain]:
    return {
        "gx": GradientChain(
            gain=0.985, delay_s=1.7e-6, bandwidth_hz=30e3,
            eddy=(EddyTerm(0.03, 1.2e-3), EddyTerm(0.015, 150e-6), EddyTerm(0.01, 20e-6)),
        ),
        "gy": GradientChain(
            gain=1.01, delay_s=2.1e-6, bandwidth_hz=28e3,
            eddy=(EddyTerm(0.025, 0.9e-3), EddyTerm(0.02, 120e-6)),
        ),
        "gz": GradientChain(
            gain=0.995, delay_s=2.6e-6, bandwidth_hz=25e3,
            eddy=(EddyTerm(0.04, 1.5e-3), EddyTerm(0.01, 300e-6), EddyTerm(0.01, 30e-6)),
        ),
    }


@dataclass
class DeviceUnderTest:
    """The simulated device under test: one :class:`GradientChain` per axis and an :class:`RfChain`.

    Parameters
    ----------
    gradients : dict
        ``{"gx": GradientChain, ...}``.
    rf : RfChain
        The RF chain.
    seed : int
        Seed of the noise generator (deterministic results for a given seed and call order).
    """

    gradients: dict[str, GradientChain] = field(default_factory=_default_gradients)
    rf: RfChain = field(default_factory=RfChain)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def gradient(self, axis: str, rate_hz: float, volts: np.ndarray) -> np.ndarray:
        """Monitor volts of gradient ``axis`` for DAC ``volts`` at ``rate_hz``."""
        chain = self.gradients.get(axis)
        if chain is None:
            raise RangeError(f"no gradient chain {axis!r}; have {sorted(self.gradients)}")
        return chain.apply(rate_hz, volts, self.rng)

    def rf_iq(self, rate_hz: float, i_v: np.ndarray, q_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Demodulated coupler (I, Q) volts for the envelope (I, Q) volts at ``rate_hz``."""
        return self.rf.apply(rate_hz, i_v, q_v, self.rng)

    def stream(self, rate_hz: float) -> DutStream:
        """A stream through this device at ``rate_hz`` (chunk by chunk, memory carried)."""
        return DutStream(self, rate_hz)


def default_dut(seed: int = 0) -> DeviceUnderTest:
    """The mock bench's device: three gradient axes with different delays (1.7, 2.1, 2.6 us), band
    limits (25-30 kHz), gain errors of 0.5-1.5 %, eddy currents of 1-4 % (20 us to 1.5 ms), and a
    class-AB-like RF amplifier saturating near 6 V."""
    return DeviceUnderTest(seed=seed)
