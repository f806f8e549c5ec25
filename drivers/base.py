"""Shared base of the SCPI AWG drivers: capabilities, validation before I/O, the interlock, fail-safe.

Every family driver (:mod:`.keysight_33500`, :mod:`.tektronix_awg`, :mod:`.rigol_dg`, :mod:`.siglent_sdg`)
derives from :class:`ScpiAwg` and implements a few hooks. The base guarantees, for all of them:

1. **Validation before any I/O.** Channel, point count and granularity, sample rate, volts against the
   instrument range and the per-channel limits, and DAC code range are all checked before the first
   byte is sent; a refusal leaves the instrument untouched.
2. **The interlock.** A clearance covers exactly what is sent. Before the first byte of an upload the
   driver calls :func:`wavegen.safety.interlock.require` with this output's name
   (:meth:`ScpiAwg.output_id`), the samples exactly as passed (volts as float64, or the integer codes)
   and the sample rate, and remembers that clearance per channel. :meth:`ScpiAwg.arm` checks the
   remembered clearance for the repeat count (``cycles``), or for looping until stopped (a free-running
   trigger); :meth:`ScpiAwg.output` checks that the caller's clearance covers what is loaded, played the
   way it will play (armed: ``cycles`` per trigger; not armed: looping, as these instruments play an
   arb continuously); :meth:`ScpiAwg.trigger` re-checks it (an expired clearance triggers nothing). If
   the interlock module cannot be imported, the driver refuses (fails closed).
3. **Outputs off on exit and on any failure, confirmed.** Every public operation runs inside
   :meth:`_operation`: on any exception the driver clears the transport within a bounded time
   (:func:`~wavegen.drivers.transport.bounded_clear`; it reconnects instead when it opened the
   connection from an address), switches every output off, reads each output's state back, retries,
   forgets what was armed, and re-raises; when an output could not be confirmed off, the re-raised
   error says which. Leaving a ``with`` block does the same. Every operation ends within its timeout
   plus a bounded clean-up, whatever the transport.
4. **Errors are surfaced.** The error queue is drained after every operation and anything in it raises
   :class:`~wavegen.errors.InstrumentReportedError`.
5. **Proof.** After an upload the driver reads the waveform back where the instrument allows it and
   raises :class:`~wavegen.errors.VerificationError` naming the first wrong sample. Every number read
   back is checked finite (a ``nan`` sample rate fails verification).

Volts become DAC codes here, through :func:`wavegen.dsp.quantize` with a
:class:`wavegen.dsp.DacFormat` describing the family's code range (docs/architecture.md §5).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    first_sample_difference,
    parse_idn,
    quantize_volts,
    require_clearance,
)
from .scpi import ScpiSession
from .transport import Transport, bounded_clear, open_visa

if TYPE_CHECKING:
    from wavegen.safety.interlock import Clearance

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


@dataclass(frozen=True)
class _Cleared:
    """What the interlock allowed on one channel at load: the clearance, the samples' digest, the rate."""

    clearance: Clearance
    digest: str
    sample_rate_hz: float
    #: a sequence: (segment digest, repeats) per step, as played; empty for one waveform
    steps: tuple[tuple[str, int], ...] = ()


def parse_on_off(command: str, answer: str) -> bool:
    """An output-state answer (``1``/``0``/``ON``/``OFF``) as a bool.

    Raises
    ------
    InstrumentProtocolError
        Anything else.
    """
    a = answer.strip().upper().lstrip("+")
    if a in ("1", "ON"):
        return True
    if a in ("0", "OFF"):
        return False
    raise InstrumentProtocolError(f"{command!r} answered {answer!r}, not ON/OFF or 1/0")


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
    name : str or None
        This instrument's name in safety clearances: output ``ch`` is ``f"{name}/{ch}"``
        (:meth:`output_id`). The bench passes the instrument's name in its configuration; default the
        resource string, or ``"<model>-<serial>"`` for a transport.
    off_retries : int
        How many times "output off" is sent again when the read-back says an output is still on.
    """

    #: model -> Capabilities; filled by subclasses.
    MODELS: Mapping[str, Capabilities] = {}
    #: substrings of the vendor field this family accepts (upper case).
    VENDORS: tuple[str, ...] = ()
    #: pessimistic throughput for timeouts, bytes/s.
    BYTES_PER_S: float = 2e6
    #: True when a loaded arb plays over and over once its output is on, unless armed (Keysight, Rigol,
    #: Siglent); False when nothing plays before :meth:`arm` starts the sequencer (Tektronix).
    LOOPS_WHEN_UNARMED: bool = True

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
        name: str | None = None,
        off_retries: int = 2,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise RangeError(f"name must be a non-empty string, got {name!r}")
        if isinstance(off_retries, bool) or not isinstance(off_retries, int) or not 0 <= off_retries <= 10:
            raise RangeError(f"off_retries must be an integer 0..10, got {off_retries!r}")
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
        self.off_retries = int(off_retries)
        self.limits: dict[int, ChannelLimits] = {}
        self.loaded: dict[int, LoadedWaveform] = {}
        self.outputs_on: set[int] = set()
        self.armed = False
        #: channel -> what the interlock allowed at load
        self._cleared: dict[int, _Cleared] = {}
        #: channel -> (cycles per trigger, loops until stopped) as armed
        self._armed_modes: dict[int, tuple[int, bool]] = {}
        #: outputs the last clean-up could not confirm off
        self.unconfirmed_off: list[int] = []
        self._closed = False
        transport = open_visa(resource, backend=backend, timeout_s=timeout_s) if isinstance(resource, str) else resource
        self.session = self._make_session(transport)
        try:
            self.idn = self.session.query("*IDN?")
            self.caps = self._detect(self.idn, expected_model)
            self.name = name.strip() if name is not None else (self._address or self._default_name(self.idn))
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

    @staticmethod
    def _default_name(idn: str) -> str:
        _vendor, model, serial, _fw = parse_idn(idn)
        return f"{model}-{serial}" if serial else model

    def output_id(self, channel: int) -> str:
        """The name of output *channel* in safety clearances: ``f"{name}/{channel}"`` (e.g. ``"awg/1"``)."""
        return f"{self.name}/{int(channel)}"

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
        """Run an operation; on any failure make the instrument safe, then re-raise.

        When an output could not be confirmed off, the re-raised wavegen error says which (same class,
        the original as its cause).
        """
        if self._closed:
            raise InstrumentError(f"{what}: driver is closed")
        try:
            yield
        except BaseException as exc:
            logger.error("%s failed (%s); switching outputs off", what, exc)
            self._make_safe(connection_lost=isinstance(exc.__cause__, OSError))
            if self.unconfirmed_off:
                note = (
                    f"; outputs {self.unconfirmed_off} of {self.caps.model} could not be confirmed off: "
                    "check the instrument"
                )
                if isinstance(exc, InstrumentError):
                    raise type(exc)(f"{exc}{note}") from exc
                if hasattr(exc, "add_note"):
                    exc.add_note(note.lstrip("; "))
            raise

    @property
    def cleanup_timeout_s(self) -> float:
        """Per-query timeout while making safe (s): the base timeout, at most 5 s."""
        return min(self._timeout_s, 5.0)

    def _forget(self) -> None:
        self.armed = False
        self._armed_modes.clear()

    def _make_safe(self, *, connection_lost: bool = False) -> None:
        """Best effort: outputs off on every channel (read back), nothing armed. Never raises.

        When the driver opened the connection itself it reconnects first: a fresh session has no stale
        replies or half-sent blocks (pyvisa-py#500). A transport handed in by the caller is cleared with
        :func:`~wavegen.drivers.transport.bounded_clear` (pyvisa-py's own ``clear()`` spins forever on a
        socket the peer has closed). Outputs that could not be confirmed off are left in
        :attr:`unconfirmed_off` and logged.
        """
        self._forget()
        self.loaded.clear()
        self._cleared.clear()
        everything = list(range(1, self.caps.channels + 1))
        if self._address is not None:
            fresh = self._reconnect()
            if not fresh and connection_lost:
                self.outputs_on.clear()
                self.unconfirmed_off = everything
                logger.error("connection to %s lost and not re-established; check its outputs", self.caps.model)
                return
        elif connection_lost:
            pass  # nothing to clear on a lost connection; the off commands below fail fast or work
        elif not bounded_clear(self.session.transport, self.cleanup_timeout_s):
            self.outputs_on.clear()
            self.unconfirmed_off = everything
            logger.error("connection to %s lost while clearing it; check its outputs", self.caps.model)
            return
        off = False
        try:
            with self.session.timeout(self.cleanup_timeout_s):
                self._all_outputs_off()
                off = True
                self.session.drain_errors()
            logger.info("%s: all outputs off (confirmed)", self.caps.model)
        except Exception as exc:
            if off:
                logger.error("%s: outputs confirmed off; the error queue could not be read (%s)", self.caps.model, exc)
            else:
                logger.error("could not confirm outputs off on %s (%s); check the instrument", self.caps.model, exc)
                if not self.unconfirmed_off:
                    self.unconfirmed_off = everything
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

    def close(self, *, strict: bool = True) -> None:
        """Switch every output off (read back) and close the connection (idempotent).

        Raises
        ------
        VerificationError
            With *strict*: some outputs could not be confirmed off (named in the message; the
            connection is closed anyway). Other errors while closing are logged, not raised.
        """
        if self._closed:
            return
        try:
            with self._operation("close"):
                self._all_outputs_off()
                self.outputs_on.clear()
                self._forget()
                self.session.check_errors("outputs off")
        except Exception as exc:
            logger.error("error while closing %s: %s", self.caps.model, exc)
        finally:
            self._closed = True
            with contextlib.suppress(Exception):
                self.session.transport.close()
        if strict and self.unconfirmed_off:
            raise VerificationError(
                f"{self.caps.model}: closed, but outputs {self.unconfirmed_off} could not be confirmed off; "
                "check the instrument"
            )

    def __enter__(self) -> ScpiAwg:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # while an exception propagates, its message already names unconfirmed outputs: do not mask it
        self.close(strict=exc_type is None)

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
        clearance: Clearance,
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
            From :func:`wavegen.safety.interlock.clear`, ``clear_volts`` or ``override``; it must grant
            output :meth:`output_id` (*channel*) exactly these volts (as float64) at this rate. Checked
            before the first byte and remembered for :meth:`arm`.
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
        ch = self._check_channel(channel)
        rate = self._check_rate(sample_rate_hz)
        self._check_name(name)
        v = self._check_volts(ch, volts)
        self._precheck(ch, rate, int(v.size), float(offset_v))
        vpp, fs = self._scaling(v, full_scale_v, float(offset_v))
        codes = self._codes(v, offset_v=float(offset_v), full_scale_v=fs)
        mk = self._check_markers(markers, v.size)
        cleared = self._require_upload(clearance, ch, v, rate)
        return self._load_codes(
            ch, codes, rate, name=name, amplitude_vpp=vpp, offset_v=float(offset_v), markers=mk, cleared=cleared
        )

    def _require_upload(self, clearance: Clearance, ch: int, samples: np.ndarray, rate: float) -> _Cleared:
        """The interlock for an upload: *samples* exactly as the caller passed them (float64 volts, or
        the integer codes) on output :meth:`output_id` (*ch*) at *rate*."""
        digest = require_clearance(clearance, output=self.output_id(ch), samples=samples, sample_rate_hz=rate)
        assert digest is not None
        if getattr(clearance, "overridden", False):  # the interlock announced the override once (WARNING)
            logger.debug(
                "%s: uploading under a safety override by %r: %r", self.output_id(ch),
                getattr(clearance, "operator", "?"), getattr(clearance, "reason", "?"),
            )
        return _Cleared(clearance, digest, rate)

    def load_codes(
        self,
        channel: int,
        codes: Any,
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        amplitude_vpp: float,
        offset_v: float = 0.0,
        name: str = "wavegen",
        markers: Mapping[int, Any] | None = None,
    ) -> LoadedWaveform:
        """Upload raw DAC codes (the family's code range, :attr:`Capabilities.code_min`..``code_max``).

        The clearance must grant output :meth:`output_id` (*channel*) these codes, as the integer array
        passed, at *sample_rate_hz*; it is checked before the first byte and remembered for :meth:`arm`.
        """
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
        self._precheck(ch, rate, int(c.size), float(offset_v))
        cleared = self._require_upload(clearance, ch, c, rate)
        return self._load_codes(
            ch, c, rate, name=name, amplitude_vpp=float(amplitude_vpp), offset_v=float(offset_v), markers=mk,
            cleared=cleared,
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
        cleared: _Cleared,
    ) -> LoadedWaveform:
        self._precheck(ch, rate, int(codes.size), offset_v)
        with self._operation(f"upload to channel {ch}"):
            if ch in self.outputs_on:
                self._confirm_off([ch])
                self.outputs_on.discard(ch)
            self.loaded.pop(ch, None)
            self._cleared.pop(ch, None)
            self._upload(ch, name, codes, markers)
            self.session.check_errors(f"upload of {codes.size} points to channel {ch}")
            verified = False
            if self.verify:
                verified = self._verify(ch, name, codes, markers)
            self._configure(ch, name, rate, amplitude_vpp, offset_v)
            self.session.check_errors(f"configuring channel {ch}")
            lw = LoadedWaveform(ch, name, int(codes.size), rate, amplitude_vpp, offset_v, verified, cleared.digest)
            self.loaded[ch] = lw
            self._cleared[ch] = cleared
            logger.info(
                "channel %d: %d points at %g Hz loaded%s", ch, codes.size, rate, ", verified" if verified else ""
            )
            return lw

    def _compare(self, what: str, expected: np.ndarray, got: np.ndarray) -> None:
        msg = first_sample_difference(expected, got)
        if msg is not None:
            raise VerificationError(f"readback of {what}: {msg}")

    def _play_mode(self, ch: int) -> tuple[int, bool]:
        """(repeats, endless) of what *ch* plays once its output is on."""
        mode = self._armed_modes.get(ch)
        if mode is not None:
            return mode
        return 1, self.LOOPS_WHEN_UNARMED

    def _require_play(self, clearance: Clearance | None, ch: int, repeats: int, endless: bool) -> None:
        cl = self._cleared[ch]
        if cl.steps:  # a sequence: one pass of its order per cycle; more than one pass is a loop
            require_clearance(
                clearance, output=self.output_id(ch), sample_rate_hz=cl.sample_rate_hz,
                endless=endless or repeats > 1,
            )
            self._check_steps(clearance, ch, cl.steps)
            return
        require_clearance(
            clearance, output=self.output_id(ch), digest=cl.digest, sample_rate_hz=cl.sample_rate_hz,
            repeats=repeats, endless=endless,
        )

    # -- sequences --------------------------------------------------------------------------------
    #: most steps in one sequence, most repeats of one step (0: the family does not sequence)
    MAX_SEQUENCE_STEPS: int = 0
    MAX_STEP_REPEATS: int = 0

    def _check_steps(self, clearance: Clearance | None, ch: int, steps: tuple[tuple[str, int], ...]) -> None:
        """Refuse unless the clearance's grant for this output walks exactly *steps* (digest, repeats)."""
        from wavegen.errors import SafetyError

        if clearance is None:
            raise SafetyError("no safety clearance for a sequence", quantity="clearance")

        out = self.output_id(ch)
        g = clearance.grant(out)
        granted = tuple((g.segments[i].digest, int(r)) for i, r in g.order)
        if steps != granted:
            pairs = enumerate(zip(steps, granted, strict=False))
            k = next((i for i, (a, b) in pairs if a != b), min(len(steps), len(granted)))
            raise SafetyError(
                f"output {out}: the sequence's play order is not the cleared one (first difference at step {k}; "
                f"{len(steps)} steps asked, {len(granted)} cleared)",
                quantity="clearance", channel=out,
            )

    def _no_sequencing(self, ch: int, rate: float) -> RangeError:
        seconds = self.caps.max_points / rate
        return RangeError(
            f"{self.caps.model} channel {ch}: this instrument has no arb sequencing; one waveform holds at most "
            f"{self.caps.max_points} points = {seconds:.6g} s at {rate:.6g} Hz. Play a window of the protocol "
            f"(at most {seconds:.6g} s), lower the sample rate, or use an instrument that sequences "
            "(Keysight 33500B/33600A, Tektronix AWG5200/AWG70000)"
        )

    def _prepare_sequence(
        self, ch: int, segments: Any, order: Any, rate: float, full_scale_v: float | None, offset_v: float
    ) -> tuple[list[np.ndarray], list[np.ndarray], tuple[tuple[int, int], ...], float, float]:
        """Validate a sequence before any I/O: (volts as float64, codes, order, Vpp, full scale)."""
        c = self.caps
        if self.MAX_SEQUENCE_STEPS <= 0:
            raise self._no_sequencing(ch, rate)
        segs = list(segments)
        if not segs:
            raise RangeError(f"{c.model} channel {ch}: a sequence needs at least one segment")
        steps: list[tuple[int, int]] = []
        for k, step in enumerate(order):
            idx, reps = int(step[0]), step[1]
            if not 0 <= idx < len(segs):
                raise RangeError(f"{c.model} channel {ch}: step {k} names segment {idx}; there are {len(segs)}")
            integer = isinstance(reps, (int, np.integer)) and not isinstance(reps, bool)
            if not integer or not 1 <= reps <= self.MAX_STEP_REPEATS:
                raise RangeError(
                    f"{c.model} channel {ch}: step {k} repeats {reps!r} times; limit 1..{self.MAX_STEP_REPEATS}"
                )
            steps.append((idx, int(reps)))
        if not 1 <= len(steps) <= self.MAX_SEQUENCE_STEPS:
            raise RangeError(
                f"{c.model} channel {ch}: {len(steps)} sequence steps; limit 1..{self.MAX_SEQUENCE_STEPS} steps"
            )
        volts = [self._check_volts(ch, v) for v in segs]
        total = sum(v.size for v in volts)
        if total > c.max_points:
            raise RangeError(
                f"{c.model} channel {ch}: segments hold {total} points; sequence memory limit {c.max_points} points"
            )
        off = float(offset_v)
        peak = max(float(np.max(np.abs(v - off))) for v in volts)
        vpp, fs = self._scaling(np.array([off - peak, off + peak]), full_scale_v, off)
        codes = [self._codes(v, offset_v=off, full_scale_v=fs) for v in volts]
        return volts, codes, tuple(steps), vpp, fs

    def load_sequence(
        self,
        channel: int,
        segments: Any,
        order: Any,
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        name: str = "wgseq",
        full_scale_v: float | None = None,
        offset_v: float = 0.0,
    ) -> LoadedWaveform:
        """Load a sequence: unique *segments* (volts) played in *order* ((segment index, repeats) per step).

        The clearance's grant for this output must hold every segment (volts as float64) at this rate
        and walk exactly this order (:attr:`wavegen.safety.interlock.Grant.order`); everything, limits
        included (steps, repeats, segment lengths, memory), is checked before the first byte. Families
        without sequencing refuse with the longest duration one waveform holds at this rate.
        """
        ch = self._check_channel(channel)
        rate = self._check_rate(sample_rate_hz)
        self._check_name(name)
        volts, codes, steps, vpp, _fs = self._prepare_sequence(ch, segments, order, rate, full_scale_v, offset_v)
        self._precheck(ch, rate, sum(v.size for v in volts), float(offset_v))
        digests = []
        for v in volts:
            d = require_clearance(clearance, output=self.output_id(ch), samples=v, sample_rate_hz=rate)
            assert d is not None
            digests.append(d)
        played = tuple((digests[i], r) for i, r in steps)
        self._check_steps(clearance, ch, played)
        cleared = _Cleared(clearance, "", rate, played)
        with self._operation(f"sequence upload to channel {ch}"):
            if ch in self.outputs_on:
                self._confirm_off([ch])
                self.outputs_on.discard(ch)
            self.loaded.pop(ch, None)
            self._cleared.pop(ch, None)
            verified = self._upload_sequence(ch, name, codes, steps)
            self.session.check_errors(f"sequence upload to channel {ch}")
            self._configure_sequence(ch, name, rate, vpp, float(offset_v))
            self.session.check_errors(f"configuring channel {ch}")
            n = sum(codes[i].size * r for i, r in steps)
            lw = LoadedWaveform(ch, name, int(n), rate, vpp, float(offset_v), verified, "")
            self.loaded[ch] = lw
            self._cleared[ch] = cleared
            logger.info(
                "channel %d: sequence of %d steps over %d segments at %g Hz loaded", ch, len(steps), len(codes), rate
            )
            return lw

    def _upload_sequence(
        self, ch: int, name: str, codes: list[np.ndarray], steps: tuple[tuple[int, int], ...]
    ) -> bool:
        """Family hook: send the segments and the sequence table; return True when read back."""
        raise NotImplementedError

    def _configure_sequence(self, ch: int, name: str, rate: float, amplitude_vpp: float, offset_v: float) -> None:
        """Family hook: rate and amplitude for a sequence (default: as for one waveform)."""
        self._configure(ch, name, rate, amplitude_vpp, offset_v)

    # -- the OutputInstrument protocol (drivers/protocol.py): what the bench calls ----------------------
    #: armed outputs wait for their trigger
    waits_for_trigger = True

    def load_outputs(
        self,
        volts: Mapping[int, np.ndarray],
        sample_rate_hz: float,
        *,
        clearance: Clearance,
        full_scale_v: Mapping[int, float | None] | None = None,
        names: Mapping[int, str] | None = None,
    ) -> dict[int, bool]:
        """:meth:`load` every channel of ``volts``; per channel, whether the read-back proved it."""
        out: dict[int, bool] = {}
        for ch, v in volts.items():
            lw = self.load(
                ch, v, sample_rate_hz, clearance=clearance, name=(names or {}).get(ch, f"wg{ch}"),
                full_scale_v=(full_scale_v or {}).get(ch),
            )
            out[ch] = bool(lw.verified)
        return out

    def start_outputs(self, channels: Sequence[int], *, clearance: Clearance, trigger: str = "bus") -> None:
        """Arm ``channels`` for ``trigger`` and switch them on: they wait for the trigger."""
        chans = list(channels)
        self.arm(chans, trigger=trigger)
        for ch in chans:
            self.output(ch, True, clearance=clearance)

    def finish(self, timeout_s: float | None = None) -> None:
        """Nothing to wait for: the AWG plays its waveform on its own."""

    def output(self, channel: int, on: bool, *, clearance: Clearance | None = None) -> None:
        """Switch an output on or off (off is always allowed, and read back).

        On needs a waveform loaded by this session and a *clearance* that covers it on this output
        (digest and rate) played the way it will play: ``cycles`` per trigger when armed; looping until
        stopped when not armed on a family that plays a loaded arb continuously
        (:attr:`LOOPS_WHEN_UNARMED`).
        """
        ch = self._check_channel(channel)
        if on:
            if ch not in self.loaded or ch not in self._cleared:
                raise InstrumentError(f"channel {ch}: no waveform loaded by this session; refusing output on")
            repeats, endless = self._play_mode(ch)
            self._require_play(clearance, ch, repeats, endless)
        with self._operation(f"output {ch} {'on' if on else 'off'}"):
            if on:
                self._output(ch, True)
            else:
                self._confirm_off([ch])
            self.session.check_errors(f"output {ch} {'on' if on else 'off'}")
            if on:
                self.outputs_on.add(ch)
            else:
                self.outputs_on.discard(ch)

    def outputs_off(self) -> None:
        """Switch every output off and confirm it by reading each output's state back."""
        with self._operation("outputs off"):
            self._all_outputs_off()
            self.outputs_on.clear()
            self._forget()
            self.session.check_errors("outputs off")

    def _loops(self, trigger: str) -> bool:
        """True when *trigger* re-triggers by itself (a free-running burst plays until stopped)."""
        return trigger == "immediate"

    def arm(self, channels: Any = None, *, trigger: str = "bus", cycles: int = 1) -> None:
        """Arm *channels* (default: all loaded) to play *cycles* times on each trigger.

        ``trigger``: ``"bus"`` (software, :meth:`trigger`), ``"external"`` or ``"immediate"`` (the
        instrument triggers itself over and over: the waveform loops until stopped). The clearance
        remembered at load must allow ``cycles`` repeats (``"immediate"``: looping until stopped); this
        is checked for every channel before the first byte.
        """
        if trigger not in ("bus", "external", "immediate"):
            raise RangeError(f"trigger must be 'bus', 'external' or 'immediate', got {trigger!r}")
        if isinstance(cycles, bool) or not isinstance(cycles, (int, np.integer)) or not 1 <= cycles <= 100_000_000:
            raise RangeError(f"cycles must be an integer 1..1e8, got {cycles!r}")
        self._check_arm(trigger, int(cycles))
        chans = sorted(self.loaded) if channels is None else [self._check_channel(c) for c in np.atleast_1d(channels)]
        for ch in chans:
            if ch not in self.loaded or ch not in self._cleared:
                raise InstrumentError(f"channel {ch}: nothing loaded; load before arming")
        endless = self._loops(trigger)
        for ch in chans:
            self._require_play(self._cleared[ch].clearance, ch, int(cycles), endless)
        with self._operation("arm"):
            self._arm(chans, trigger, int(cycles))
            self.session.check_errors("arm")
            for ch in chans:
                self._armed_modes[ch] = (int(cycles), endless)
            self.armed = True

    def trigger(self) -> None:
        """Software trigger (``*TRG``); the clearances remembered at load must still be valid."""
        if not self.armed:
            raise InstrumentError("trigger() before arm()")
        for ch, (cycles, endless) in self._armed_modes.items():
            if ch in self._cleared:
                self._require_play(self._cleared[ch].clearance, ch, cycles, endless)
        with self._operation("trigger"):
            self._trigger()
            self.session.check_errors("trigger")

    # -- family hooks -----------------------------------------------------------------------------
    #: relative tolerance of a sample-rate read-back (families with a coarser documented resolution
    #: override :meth:`_rate_tolerance_hz`)
    RATE_RTOL: float = 1e-9

    def _rate_tolerance_hz(self, rate: float) -> float:
        return self.RATE_RTOL * rate

    def _read_rate(self, command: str) -> float:
        """Query a sample rate; the number may be non-finite (then :meth:`_verify_rate` refuses it)."""
        ans = self.session.query(command)
        try:
            return float(ans)
        except ValueError:
            raise InstrumentProtocolError(f"{command!r} answered {ans!r}, not a number") from None

    def _verify_rate(self, ch: int, rate: float, got: float) -> None:
        """Raise VerificationError unless the rate the instrument reports is the rate that was set (a
        non-finite read-back always fails)."""
        tol = self._rate_tolerance_hz(rate)
        if not (math.isfinite(got) and abs(got - rate) <= tol):
            raise VerificationError(
                f"channel {ch}: sample rate set to {rate} Hz, instrument reports {got} Hz (tolerance {tol:.3g} Hz)"
            )

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

    def _output_state(self, ch: int) -> bool:
        """Family hook: read back whether output *ch* is on."""
        raise NotImplementedError

    def _stop(self) -> None:
        """Family hook: stop playing before the outputs go off (Tektronix: ``AWGC:STOP``)."""

    def _all_outputs_off(self) -> None:
        self._stop()
        self._confirm_off(range(1, self.caps.channels + 1))

    def _confirm_off(self, channels: Iterable[int]) -> None:
        """Send "output off" to *channels*, read each state back, and retry those still on.

        Raises
        ------
        VerificationError
            Naming the outputs that could not be confirmed off (still on after :attr:`off_retries`
            retries, or no read-back); they are also left in :attr:`unconfirmed_off`.
        """
        pending = [int(c) for c in channels]
        self.unconfirmed_off = []
        why = ""
        cause: BaseException | None = None
        for attempt in range(self.off_retries + 1):
            try:
                for ch in pending:
                    self._output(ch, False)
                still = [ch for ch in pending if self._output_state(ch)]
            except InstrumentError as exc:  # no answer: no point in retrying against a dead line
                why, cause = f"no read-back ({exc})", exc
                break
            if not still:
                return
            if attempt < self.off_retries:
                logger.warning("%s: outputs %s still on after 'off'; sending it again", self.caps.model, still)
            pending = still
            why = f"still on after {attempt + 1} attempts"
        self.unconfirmed_off = pending
        raise VerificationError(
            f"{self.caps.model}: outputs {pending} could not be confirmed off ({why}); check the instrument"
        ) from cause

    def _arm(self, channels: list[int], trigger: str, cycles: int) -> None:
        raise NotImplementedError

    def _trigger(self) -> None:
        self.session.write("*TRG")
