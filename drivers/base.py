"""Shared base of the SCPI AWG drivers: capabilities, validation before I/O, the interlock, fail-safe.

Every family driver (:mod:`.keysight_33500`, :mod:`.tektronix_awg`, :mod:`.rigol_dg`, :mod:`.siglent_sdg`)
derives from :class:`ScpiAwg` and implements a few hooks. The base guarantees, for all of them:

1. **Validation before any I/O.** Channel, point count and granularity, sample rate, volts against the
   instrument range and the per-channel limits, and DAC code range are all checked before the first
   byte is sent; a refusal leaves the instrument untouched.
2. **The interlock.** Every upload and every output-on calls
   :func:`wavegen.safety.interlock.require` with the caller's :class:`Clearance` (docs/architecture.md §4). If
   the interlock module cannot be imported, the driver refuses (fails closed).
3. **Outputs off on exit and on any failure.** Every public operation runs inside :meth:`_operation`:
   on any exception the driver clears the transport, switches every output off (reconnecting once if
   the connection was lost and the driver opened it from an address), forgets what was armed, and
   re-raises. Leaving a ``with`` block does the same.
4. **Errors are surfaced.** The error queue is drained after every operation and anything in it raises
   :class:`~wavegen.errors.InstrumentReportedError`.
5. **Proof.** After an upload the driver reads the waveform back where the instrument allows it and
   raises :class:`~wavegen.errors.VerificationError` naming the first wrong sample.

Volts become DAC codes here, through :func:`wavegen.dsp.quantize` with a
:class:`wavegen.dsp.DacFormat` describing the family's code range (docs/architecture.md §5).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from wavegen.errors import (
    InstrumentError,
    InstrumentProtocolError,
    NonFiniteError,
    RangeError,
    ShapeError,
    VerificationError,
)

from .capabilities import (
    Capabilities,
    ChannelLimits,
    LoadedWaveform,
    parse_idn,
    quantize_volts,
    require_clearance,
)
from .scpi import ScpiSession
from .transport import Transport, first_sample_difference, open_visa

__all__ = [
    "Capabilities",
    "ChannelLimits",
    "LoadedWaveform",
    "ScpiAwg",
    "require_clearance",
    "parse_idn",
    "quantize_volts",
]

logger = logging.getLogger(__name__)


class ScpiAwg:
    """Base class of the SCPI AWG drivers.

    Parameters
    ----------
    resource : str or Transport
        A VISA resource string (opened with pyvisa; ``backend`` chooses the VISA library) or an already
        open transport (a pyvisa resource, a :class:`~wavegen.drivers.transport.ReplayTransport`).
    timeout_s : float
        Base I/O timeout in seconds; uploads scale it with their size.
    backend : str
        pyvisa backend for string resources (``"@py"`` = pyvisa-py).
    verify : bool
        Read every upload back where the instrument allows it (default ``True``).
    expected_model : str or None
        Refuse to work unless ``*IDN?`` reports this model.
    load_ohm : float or None
        Load the outputs drive: 50.0 (default) or ``None`` for high impedance (doubles the voltages the
        instrument can reach; gradient amplifiers usually have high-impedance inputs).
    max_write_bytes : int or None
        Split block writes into pieces of this size (NI-VISA SOCKET bug, pyvisa#823).
    progress : callable or None
        ``progress(bytes_sent, bytes_total)``, called during long uploads (every 8 MiB on a socket).
    """

    #: model -> Capabilities; filled by subclasses.
    MODELS: Mapping[str, Capabilities] = {}
    #: substrings of the vendor field this family accepts (upper case).
    VENDORS: tuple[str, ...] = ()
    #: pessimistic throughput for timeouts, bytes/s.
    BYTES_PER_S: float = 2e6

    def __init__(
        self,
        resource: str | Transport,
        *,
        timeout_s: float = 10.0,
        backend: str = "@py",
        verify: bool = True,
        expected_model: str | None = None,
        load_ohm: float | None = 50.0,
        max_write_bytes: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if load_ohm is not None and not load_ohm > 0:
            raise RangeError(f"load_ohm must be > 0 ohm or None (high impedance), got {load_ohm}")
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise RangeError(f"timeout_s must be a finite time > 0 s, got {timeout_s!r}")
        self._address = resource if isinstance(resource, str) else None
        self._backend = backend
        self._timeout_s = float(timeout_s)
        self._max_write_bytes = max_write_bytes
        self._progress = progress
        self.verify = bool(verify)
        self.load_ohm = load_ohm
        self.limits: dict[int, ChannelLimits] = {}
        self.loaded: dict[int, LoadedWaveform] = {}
        self.outputs_on: set[int] = set()
        self.armed = False
        self._closed = False
        transport = open_visa(resource, backend=backend, timeout_s=timeout_s) if isinstance(resource, str) else resource
        self.session = self._make_session(transport)
        try:
            self.idn = self.session.query("*IDN?")
            self.caps = self._detect(self.idn, expected_model)
            self._on_connect()
            self.session.check_errors("connect")
        except BaseException:
            with contextlib.suppress(Exception):
                transport.close()
            self._closed = True
            raise
        logger.info("connected to %s %s (%s)", self.caps.vendor, self.caps.model, self._address or "transport")

    # -- plumbing ---------------------------------------------------------------------------------
    def _make_session(self, transport: Transport) -> ScpiSession:
        s = ScpiSession(
            transport,
            timeout_s=self._timeout_s,
            bytes_per_s=self.BYTES_PER_S,
            max_write_bytes=self._max_write_bytes,
        )
        s.progress = self._progress
        return s

    def _detect(self, idn: str, expected_model: str | None) -> Capabilities:
        vendor, model, _serial, _fw = parse_idn(idn)
        if self.VENDORS and not any(v in vendor.upper() for v in self.VENDORS):
            raise InstrumentProtocolError(
                f"{type(self).__name__} drives {'/'.join(self.VENDORS)} instruments; *IDN? says {idn!r}"
            )
        caps = self.MODELS.get(model.upper())
        if caps is None:
            known = ", ".join(sorted(self.MODELS))
            raise InstrumentProtocolError(f"unknown model {model!r} in *IDN? {idn!r}; known: {known}")
        if expected_model is not None and model.upper() != expected_model.upper():
            raise InstrumentProtocolError(f"expected model {expected_model!r}, *IDN? says {idn!r}")
        return caps

    def _on_connect(self) -> None:
        """Family hook: put the instrument in a known state (byte order, outputs off, ...)."""

    @property
    def volt_scale(self) -> float:
        """Factor from the 50-ohm figures in :attr:`caps` to the configured load (2 for high-Z)."""
        if self.load_ohm is None:
            return 2.0
        return 2.0 * self.load_ohm / (self.load_ohm + 50.0)

    # -- fail-safe ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _operation(self, what: str) -> Iterator[None]:
        """Run an operation; on any failure make the instrument safe, then re-raise."""
        if self._closed:
            raise InstrumentError(f"{what}: driver is closed")
        try:
            yield
        except BaseException as exc:
            logger.error("%s failed (%s); switching outputs off", what, exc)
            self._make_safe(connection_lost=isinstance(exc.__cause__, OSError))
            raise

    def _make_safe(self, *, connection_lost: bool = False) -> None:
        """Best effort: outputs off on every channel, nothing armed. Never raises.

        When the driver opened the connection itself it reconnects first: a fresh session has no stale
        replies or half-sent blocks (pyvisa-py#500), and pyvisa-py's ``clear()`` spins forever on a
        socket the peer has closed. A transport handed in by the caller is cleared instead.
        """
        self.armed = False
        self.loaded.clear()
        if self._address is not None:
            fresh = self._reconnect()
            if not fresh and connection_lost:
                self.outputs_on.clear()
                logger.error("connection to %s lost and not re-established; check its outputs", self.caps.model)
                return
        elif not connection_lost:
            with contextlib.suppress(Exception):
                self.session.transport.clear()
        try:
            with self.session.timeout(min(self._timeout_s, 5.0)):
                self._all_outputs_off()
                self.session.drain_errors()
            logger.info("%s: all outputs off", self.caps.model)
        except Exception as exc:
            logger.error("could not confirm outputs off on %s (%s); check the instrument", self.caps.model, exc)
        self.outputs_on.clear()

    def _reconnect(self) -> bool:
        if self._address is None:
            return False
        with contextlib.suppress(Exception):
            self.session.transport.close()
        try:
            transport = open_visa(self._address, backend=self._backend, timeout_s=self._timeout_s)
            self.session = self._make_session(transport)
            self.session.query("*IDN?")
            return True
        except Exception as exc:
            logger.warning("reconnect to %s failed: %s", self._address, exc)
            return False

    def close(self) -> None:
        """Switch every output off and close the connection (idempotent)."""
        if self._closed:
            return
        try:
            with self._operation("close"):
                self._all_outputs_off()
                self.outputs_on.clear()
                self.armed = False
                self.session.check_errors("outputs off")
        except Exception as exc:
            logger.error("error while closing %s: %s", self.caps.model, exc)
        finally:
            self._closed = True
            with contextlib.suppress(Exception):
                self.session.transport.close()

    def __enter__(self) -> ScpiAwg:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()

    # -- validation ---------------------------------------------------------------------------------
    def _check_channel(self, channel: int) -> int:
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise RangeError(f"channel must be an integer 1..{self.caps.channels}, got {channel!r}")
        if not 1 <= int(channel) <= self.caps.channels:
            raise RangeError(f"channel {channel} does not exist on {self.caps.model} (1..{self.caps.channels})")
        return int(channel)

    def _check_points(self, n: int) -> None:
        c = self.caps
        if not c.min_points <= n <= c.max_points:
            raise RangeError(f"{n} points outside {c.model} range {c.min_points}..{c.max_points} points")
        if n % c.point_granularity:
            raise RangeError(f"{n} points is not a multiple of {c.point_granularity} on {c.model}")

    def _check_rate(self, sample_rate_hz: float) -> float:
        r = float(sample_rate_hz)
        c = self.caps
        if not math.isfinite(r):
            raise NonFiniteError(f"sample_rate_hz = {sample_rate_hz!r} is not finite")
        if not c.min_rate_hz <= r <= c.max_rate_hz:
            raise RangeError(f"sample rate {r} Hz outside {c.model} range {c.min_rate_hz}..{c.max_rate_hz} Hz")
        return r

    def set_channel_limits(self, channel: int, low_v: float, high_v: float) -> None:
        """Forbid any waveform on *channel* from leaving [low_v, high_v] volts (checked before I/O)."""
        ch = self._check_channel(channel)
        self.limits[ch] = ChannelLimits(float(low_v), float(high_v))

    def _check_volts(self, channel: int, volts: Any) -> np.ndarray:
        v = np.asarray(volts)
        if v.dtype.kind not in "fiu" or v.ndim != 1 or v.size == 0:
            raise ShapeError(f"volts must be a non-empty 1-D real array, got dtype {v.dtype}, shape {v.shape}")
        v = v.astype(np.float64, copy=False)
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            raise NonFiniteError(f"volts[{int(bad[0])}] = {v[bad[0]]!r} is not finite")
        self._check_points(v.size)
        vmax = self.caps.max_abs_v * self.volt_scale
        lim = self.limits.get(channel)
        lo, hi = (-vmax, vmax) if lim is None else (max(-vmax, lim.low_v), min(vmax, lim.high_v))
        out = np.flatnonzero((v < lo) | (v > hi))
        if out.size:
            i = int(out[0])
            raise RangeError(
                f"channel {channel}: {v[i]:.6g} V at sample {i} outside the allowed {lo:.6g}..{hi:.6g} V "
                f"({'channel limit' if lim else self.caps.model + ' range'})"
            )
        return v

    def _scaling(self, v: np.ndarray, full_scale_v: float | None, offset_v: float) -> tuple[float, float]:
        """Amplitude (Vpp) and full scale for *v*; checks the instrument's amplitude range."""
        c = self.caps
        s = self.volt_scale
        if not math.isfinite(offset_v):
            raise NonFiniteError(f"offset_v = {offset_v!r} is not finite")
        fs = float(np.max(np.abs(v - offset_v))) if full_scale_v is None else float(full_scale_v)
        fs = max(fs, c.min_vpp_v * s / 2.0)
        if not math.isfinite(fs) or not c.min_vpp_v * s / 2.0 <= fs <= c.max_vpp_v * s / 2.0:
            raise RangeError(
                f"full scale {fs:.6g} V outside {c.model} amplitude range "
                f"{c.min_vpp_v * s / 2:.6g}..{c.max_vpp_v * s / 2:.6g} V (half of Vpp)"
            )
        if abs(offset_v) + fs > c.max_abs_v * s * (1 + 1e-12):
            raise RangeError(f"|offset| + full scale = {abs(offset_v) + fs:.6g} V exceeds {c.max_abs_v * s:.6g} V")
        return 2.0 * fs, fs

    # -- public API -------------------------------------------------------------------------------
    def load(
        self,
        channel: int,
        volts: Any,
        sample_rate_hz: float,
        *,
        clearance: Any,
        name: str = "wavegen",
        full_scale_v: float | None = None,
        offset_v: float = 0.0,
        markers: Mapping[int, Any] | None = None,
    ) -> LoadedWaveform:
        """Upload *volts* (sampled at *sample_rate_hz*) to *channel* and prove it by readback.

        Parameters
        ----------
        channel : int
            Output, 1-based.
        volts : array_like, shape (n,)
            Output voltages, V (into the configured load).
        sample_rate_hz : float
            Sample rate, Hz.
        clearance : Clearance
            From :func:`wavegen.safety.interlock.clear` or ``override``; checked before anything else.
        name : str
            Waveform name on the instrument.
        full_scale_v : float, optional
            Volts of the largest code above ``offset_v``; default the waveform's own peak deviation.
        offset_v : float
            Volts of the mid-scale code.
        markers : mapping int -> bool array, optional
            Marker outputs (only families with markers).

        Returns
        -------
        LoadedWaveform

        Raises
        ------
        SafetyError, RangeError, ShapeError, NonFiniteError, DacRangeError
            Refused before any I/O.
        InstrumentError and subclasses
            Transfer, instrument-reported or verification failures; outputs are off afterwards.
        """
        require_clearance(clearance)
        ch = self._check_channel(channel)
        rate = self._check_rate(sample_rate_hz)
        self._check_name(name)
        v = self._check_volts(ch, volts)
        self._precheck(ch, rate, int(v.size), float(offset_v))
        vpp, fs = self._scaling(v, full_scale_v, float(offset_v))
        codes = self._codes(v, offset_v=float(offset_v), full_scale_v=fs)
        mk = self._check_markers(markers, v.size)
        return self._load_codes(ch, codes, rate, name=name, amplitude_vpp=vpp, offset_v=float(offset_v), markers=mk)

    def load_codes(
        self,
        channel: int,
        codes: Any,
        sample_rate_hz: float,
        *,
        clearance: Any,
        amplitude_vpp: float,
        offset_v: float = 0.0,
        name: str = "wavegen",
        markers: Mapping[int, Any] | None = None,
    ) -> LoadedWaveform:
        """Upload raw DAC codes (the family's code range, :attr:`Capabilities.code_min`..``code_max``)."""
        require_clearance(clearance)
        ch = self._check_channel(channel)
        rate = self._check_rate(sample_rate_hz)
        self._check_name(name)
        c = np.asarray(codes)
        if c.ndim != 1 or c.size == 0 or c.dtype.kind not in "iu":
            raise ShapeError(f"codes must be a non-empty 1-D integer array, got dtype {c.dtype}, shape {c.shape}")
        self._check_points(c.size)
        from wavegen.errors import DacRangeError

        bad = np.flatnonzero((c < self.caps.code_min) | (c > self.caps.code_max))
        if bad.size:
            i = int(bad[0])
            raise DacRangeError(
                f"code {c[i]} at sample {i} outside {self.caps.model} range {self.caps.code_min}..{self.caps.code_max}"
            )
        s = self.volt_scale
        if not self.caps.min_vpp_v * s <= amplitude_vpp <= self.caps.max_vpp_v * s:
            raise RangeError(
                f"amplitude {amplitude_vpp} Vpp outside {self.caps.min_vpp_v * s}..{self.caps.max_vpp_v * s} Vpp"
            )
        if abs(offset_v) + amplitude_vpp / 2 > self.caps.max_abs_v * s * (1 + 1e-12):
            raise RangeError(
                f"|offset| + amplitude/2 = {abs(offset_v) + amplitude_vpp / 2} V exceeds {self.caps.max_abs_v * s} V"
            )
        lim = self.limits.get(ch)
        if lim is not None and (offset_v - amplitude_vpp / 2 < lim.low_v or offset_v + amplitude_vpp / 2 > lim.high_v):
            raise RangeError(
                f"channel {ch}: codes span {offset_v - amplitude_vpp / 2}..{offset_v + amplitude_vpp / 2} V, "
                f"limit {lim.low_v}..{lim.high_v} V"
            )
        mk = self._check_markers(markers, c.size)
        return self._load_codes(
            ch, c, rate, name=name, amplitude_vpp=float(amplitude_vpp), offset_v=float(offset_v), markers=mk
        )

    def _load_codes(
        self,
        ch: int,
        codes: np.ndarray,
        rate: float,
        *,
        name: str,
        amplitude_vpp: float,
        offset_v: float,
        markers: dict[int, np.ndarray] | None,
    ) -> LoadedWaveform:
        self._precheck(ch, rate, int(codes.size), offset_v)
        with self._operation(f"upload to channel {ch}"):
            if ch in self.outputs_on:
                self._output(ch, False)
                self.outputs_on.discard(ch)
            self._upload(ch, name, codes, markers)
            self.session.check_errors(f"upload of {codes.size} points to channel {ch}")
            verified = False
            if self.verify:
                verified = self._verify(ch, name, codes, markers)
            self._configure(ch, name, rate, amplitude_vpp, offset_v)
            self.session.check_errors(f"configuring channel {ch}")
            lw = LoadedWaveform(ch, name, int(codes.size), rate, amplitude_vpp, offset_v, verified)
            self.loaded[ch] = lw
            logger.info(
                "channel %d: %d points at %g Hz loaded%s", ch, codes.size, rate, ", verified" if verified else ""
            )
            return lw

    def _compare(self, what: str, expected: np.ndarray, got: np.ndarray) -> None:
        msg = first_sample_difference(expected, got)
        if msg is not None:
            raise VerificationError(f"readback of {what}: {msg}")

    def output(self, channel: int, on: bool, *, clearance: Any = None) -> None:
        """Switch an output on (needs a valid clearance and a loaded waveform) or off (always allowed)."""
        ch = self._check_channel(channel)
        if on:
            require_clearance(clearance)
            if ch not in self.loaded:
                raise InstrumentError(f"channel {ch}: no waveform loaded by this session; refusing output on")
        with self._operation(f"output {ch} {'on' if on else 'off'}"):
            self._output(ch, bool(on))
            self.session.check_errors(f"output {ch} {'on' if on else 'off'}")
            if on:
                self.outputs_on.add(ch)
            else:
                self.outputs_on.discard(ch)

    def outputs_off(self) -> None:
        """Switch every output off."""
        with self._operation("outputs off"):
            self._all_outputs_off()
            self.outputs_on.clear()
            self.armed = False
            self.session.check_errors("outputs off")

    def arm(self, channels: Any = None, *, trigger: str = "bus", cycles: int = 1) -> None:
        """Arm *channels* (default: all loaded) to play *cycles* times on each trigger.

        ``trigger``: ``"bus"`` (software, :meth:`trigger`), ``"external"`` or ``"immediate"``.
        """
        if trigger not in ("bus", "external", "immediate"):
            raise RangeError(f"trigger must be 'bus', 'external' or 'immediate', got {trigger!r}")
        if isinstance(cycles, bool) or not isinstance(cycles, (int, np.integer)) or not 1 <= cycles <= 100_000_000:
            raise RangeError(f"cycles must be an integer 1..1e8, got {cycles!r}")
        self._check_arm(trigger, int(cycles))
        chans = sorted(self.loaded) if channels is None else [self._check_channel(c) for c in np.atleast_1d(channels)]
        for ch in chans:
            if ch not in self.loaded:
                raise InstrumentError(f"channel {ch}: nothing loaded; load before arming")
        with self._operation("arm"):
            self._arm(chans, trigger, int(cycles))
            self.session.check_errors("arm")
            self.armed = True

    def trigger(self) -> None:
        """Software trigger (``*TRG``)."""
        if not self.armed:
            raise InstrumentError("trigger() before arm()")
        with self._operation("trigger"):
            self._trigger()
            self.session.check_errors("trigger")

    # -- family hooks -----------------------------------------------------------------------------
    @staticmethod
    def _verify_rate(ch: int, rate: float, got: float) -> None:
        """Raise VerificationError unless the rate the instrument reports is the rate that was set."""
        if abs(got - rate) > 1e-9 * rate:
            raise VerificationError(f"channel {ch}: sample rate set to {rate} Hz, instrument reports {got} Hz")

    def _check_name(self, name: str) -> None:
        if not isinstance(name, str) or not name or not name.replace("_", "a").isalnum() or not name[0].isalpha():
            raise RangeError(f"waveform name must start with a letter and hold letters, digits, '_': {name!r}")

    def _check_markers(self, markers: Mapping[int, Any] | None, n: int) -> dict[int, np.ndarray] | None:
        if not markers:
            return None
        if self.caps.markers == 0:
            raise RangeError(f"{self.caps.model} has no marker outputs")
        out: dict[int, np.ndarray] = {}
        for k, m in markers.items():
            if not 1 <= int(k) <= self.caps.markers:
                raise RangeError(f"marker {k} does not exist on {self.caps.model} (1..{self.caps.markers})")
            a = np.asarray(m)
            if a.shape != (n,) or a.dtype.kind not in "biu":
                raise ShapeError(f"marker {k} must be a boolean array of shape ({n},), got {a.dtype} {a.shape}")
            if a.dtype.kind != "b" and np.any((a != 0) & (a != 1)):
                raise RangeError(f"marker {k} must hold only 0/1")
            out[int(k)] = a.astype(bool)
        return out

    def _codes(self, v: np.ndarray, *, offset_v: float, full_scale_v: float) -> np.ndarray:
        c = self.caps
        mid = (c.code_min + c.code_max) / 2.0
        return quantize_volts(
            v, offset_v=offset_v, full_scale_v=full_scale_v, code_min=c.code_min, code_max=c.code_max, midscale=mid
        )

    def _precheck(self, ch: int, rate: float, n_points: int, offset_v: float) -> None:
        """Family hook: last checks before I/O (shared clocks, offset support, ...)."""

    def _check_arm(self, trigger: str, cycles: int) -> None:
        """Family hook: refuse trigger modes the family cannot do, before I/O."""

    def _upload(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> None:
        raise NotImplementedError

    def _verify(self, ch: int, name: str, codes: np.ndarray, markers: dict[int, np.ndarray] | None) -> bool:
        return False

    def _configure(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        raise NotImplementedError

    def _output(self, ch: int, on: bool) -> None:
        raise NotImplementedError

    def _all_outputs_off(self) -> None:
        for ch in range(1, self.caps.channels + 1):
            self._output(ch, False)

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        raise NotImplementedError

    def _trigger(self) -> None:
        self.session.write("*TRG")
