"""The interlock: nothing goes to an amplifier unless a :class:`Clearance` covers exactly that.

A clearance is the proof that some waveforms were checked (or knowingly overridden), and it names what
may be *sent*: per instrument output, a :class:`Grant` with

- the digest of every distinct sample array (a *segment*, volts or DAC codes, exactly as the driver
  receives it) the output may hold,
- the sample rate those samples play at,
- the play order (segment, repeat count) and whether the output may loop until stopped.

Drivers call :func:`require` with what they are about to send before the first byte: the output's name,
the samples (or their digest), the rate and how often they repeat; anything else is refused. A grant
that repeats a waveform (``repeats > 1`` or ``endless``) is only issued from a check that judged
repetition (``periodic=True``): a waveform checked as played once, with silence around it, says nothing
about SAR or heating when it is looped.

A clearance comes only from

- :func:`clear`, which runs :func:`wavegen.safety.check` and refuses (raises the worst
  :class:`~wavegen.errors.SafetyError`) when anything is unsafe;
- :func:`clear_volts`, the route for a script that drives one output directly: the volts are turned
  into the physical quantity through a :class:`ChannelCalibration`, checked, and granted to that
  output; or
- :func:`override`, an explicit, logged decision by a named operator with a stated reason.

A clearance has a lifetime (``lifetime_s``, ten minutes by default): an expired one is refused, so a
clearance found in a notebook the next day plays nothing.

A :class:`Clearance` cannot be made by hand: its constructor needs a private token, and every clearance
carries an HMAC (keyed by a per-process random secret) over what it certifies, grants included, so a
forged or altered object (``object.__new__``, ``object.__setattr__``) fails :meth:`Clearance.is_valid`.
This guards against mistakes, not against a malicious user of the same process.

Playback plans (segments with repeat counts, or a stream) use the same :class:`Grant`: a plan of
segments is one grant per output whose ``segments`` are the unique segments and whose ``order`` is
the segment table.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, overload

import numpy as np

from wavegen.errors import RangeError, SafetyError, ShapeError
from wavegen.safety.report import SafetyReport
from wavegen.safety.waveforms import Waveforms, as_waveforms

__all__ = [
    "ChannelCalibration",
    "Clearance",
    "DEFAULT_LIFETIME_S",
    "Grant",
    "PlayOrder",
    "Segment",
    "clear",
    "clear_volts",
    "override",
    "require",
    "samples_digest",
]

logger = logging.getLogger(__name__)

_TOKEN = object()
_SECRET = secrets.token_bytes(32)
#: signatures of the overridden clearances already announced as played
_WARNED_OVERRIDES: set[str] = set()

#: How long a clearance stays valid unless the caller says otherwise (s).
DEFAULT_LIFETIME_S = 600.0
#: Relative tolerance when comparing a driver's sample rate with the granted one.
RATE_RTOL = 1e-12


def samples_digest(samples: Any) -> str:
    """SHA-256 (hex) of a sample array exactly as an instrument would receive it.

    The digest covers the dtype (byte order made explicit), the shape and the bytes in C order, so
    ``float64`` volts and ``int16`` codes of "the same" waveform differ, and so does any sample.

    >>> samples_digest(np.zeros(3)) == samples_digest(np.zeros(3))
    True
    >>> samples_digest(np.zeros(3)) == samples_digest(np.zeros(3, dtype=np.float32))
    False
    """
    a = np.asarray(samples)
    if a.dtype == object:
        raise ShapeError(f"samples must be a numeric array, got dtype {a.dtype}")
    le = a.dtype.newbyteorder("<") if a.dtype.byteorder not in ("|", "<", "=") else a.dtype
    a = np.ascontiguousarray(a, dtype=le)
    h = hashlib.sha256()
    h.update(f"wavegen-samples\0{a.dtype.str}\0{a.shape}\0".encode())
    h.update(a.data)
    return h.hexdigest()


@dataclass(frozen=True)
class Segment:
    """One distinct sample array an output may hold: its :func:`samples_digest` and its length."""

    digest: str
    n_samples: int

    @classmethod
    def of(cls, samples: Any) -> Segment:
        a = np.asarray(samples)
        return cls(samples_digest(a), int(a.shape[-1]) if a.ndim else 1)


class PlayOrder:
    """A play order: (segment index, repeats in a row) per step, held as two integer arrays.

    A streamed protocol plays one step per block (a 15-minute GRE: 540,000 steps); as Python tuples that
    order alone took about 60 MB. Each array is kept in the narrowest integer type that holds its values
    exactly (segment numbers below 65,536 and repeat counts below 256 take 3 bytes a step; a negative
    value keeps int64, for the grant's refusal to name it). It reads like the tuple of pairs it replaces
    (``len``, indexing, iteration give ``(int, int)``, and it equals such a tuple), it is immutable, and
    its digest is of the values as int64, whatever the types held.
    """

    __slots__ = ("index", "repeats", "_digest")
    index: np.ndarray
    repeats: np.ndarray
    _digest: str | None

    def __init__(self, index: Any, repeats: Any) -> None:
        arrays = []
        for name, values in (("segment index", index), ("repeat count", repeats)):
            a = np.asarray(values)
            if a.size and a.dtype.kind not in "iu":
                raise RangeError(f"play order: every {name} must be an integer, got dtype {a.dtype}")
            a = a.reshape(-1)
            dt = _narrowest(a)
            # over an immutable bytes object: the array cannot be made writeable again
            arrays.append(np.frombuffer(np.ascontiguousarray(a, dtype=dt).tobytes(), dt))
        idx, reps = arrays
        if idx.shape != reps.shape:
            raise ShapeError(f"a play order needs as many repeat counts as steps, got {reps.size} and {idx.size}")
        object.__setattr__(self, "index", idx)
        object.__setattr__(self, "repeats", reps)
        object.__setattr__(self, "_digest", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a PlayOrder is immutable (cannot set {name})")

    def __reduce__(self) -> tuple[Any, ...]:
        # made again on unpickling (a plan sent to a worker): checked, read-only
        return (PlayOrder, (self.index, self.repeats))

    @classmethod
    def of(cls, order: Any) -> PlayOrder:
        """A play order from one, or from (index, repeats) pairs."""
        if isinstance(order, PlayOrder):
            return order
        pairs = list(order)
        for k, step in enumerate(pairs):
            if len(step) != 2:
                raise ShapeError(f"play order step {k} must be (segment index, repeats), got {step!r}")
            for v in step:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                    raise RangeError(f"play order step {k}: {v!r} is not an integer")
        return cls([a for a, _ in pairs], [b for _, b in pairs])

    def __len__(self) -> int:
        return int(self.index.size)

    @overload
    def __getitem__(self, k: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, k: slice) -> PlayOrder: ...

    def __getitem__(self, k: int | slice) -> tuple[int, int] | PlayOrder:
        if isinstance(k, slice):
            return PlayOrder(self.index[k], self.repeats[k])
        return int(self.index[k]), int(self.repeats[k])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        step = 8192
        for a in range(0, self.index.size, step):
            yield from zip(self.index[a : a + step].tolist(), self.repeats[a : a + step].tolist(), strict=True)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlayOrder):
            return bool(np.array_equal(self.index, other.index) and np.array_equal(self.repeats, other.repeats))
        if isinstance(other, (tuple, list)):
            return len(other) == len(self) and all(tuple(a) == b for a, b in zip(other, self, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.digest)

    @property
    def plays(self) -> int:
        """Segment plays, repeats counted."""
        return int(self.repeats.sum())

    def samples(self, n_samples: Any) -> int:
        """Samples played, given every segment's length (``n_samples[i]`` for segment i)."""
        n = np.asarray(n_samples, dtype=np.int64)
        return int(np.dot(n[self.index], self.repeats)) if self.index.size else 0

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the steps."""
        if self._digest is None:
            h = hashlib.sha256(b"wavegen-play-order\0")
            for arr in (self.index, self.repeats):
                for a in range(0, arr.size, 1 << 16):  # as int64, a piece at a time
                    h.update(np.ascontiguousarray(arr[a : a + (1 << 16)], dtype="<i8").data)
            object.__setattr__(self, "_digest", h.hexdigest())
        assert self._digest is not None
        return self._digest

    def __repr__(self) -> str:
        head = ", ".join(f"({a}, {b})" for a, b in zip(self.index[:4].tolist(), self.repeats[:4].tolist(), strict=True))
        more = f", ... {len(self) - 4} more" if len(self) > 4 else ""
        return f"PlayOrder([{head}{more}])"


def _narrowest(a: np.ndarray) -> np.dtype[Any]:
    """The narrowest unsigned type holding every value of ``a`` (int64 if one is negative or ``a`` is empty)."""
    if a.size == 0 or a.dtype.kind not in "iu":
        return np.dtype(np.int64)
    lo, hi = int(a.min()), int(a.max())
    if lo < 0:
        return np.dtype(np.int64)
    for dt in (np.uint8, np.uint16, np.uint32):
        if hi <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64) if hi < 1 << 63 else np.dtype(np.uint64)


@dataclass(frozen=True)
class Grant:
    """What one instrument output may receive and play.

    Attributes
    ----------
    output : str
        The output's name as its driver reports it (``driver.output_id(channel)``, e.g. ``"awg/1"``,
        ``"daq/ao0"``).
    sample_rate_hz : float
        The rate the samples play at.
    segments : tuple of Segment
        Every distinct sample array the output may hold.
    order : PlayOrder
        The play order: (index into ``segments``, how many times in a row). One waveform played once
        is ``((0, 1),)``; a tuple of pairs given here is kept as a :class:`PlayOrder`.
    endless : bool
        The order may loop until stopped (a regenerating DAQ task, an AWG in continuous mode).
    expanded : bool
        The check judged the order as it plays, repeats included (a playback plan rendered from the
        checked sequence): its repeat counts are part of what was checked, not repetition beyond it.
    """

    output: str
    sample_rate_hz: float
    segments: tuple[Segment, ...]
    order: PlayOrder | tuple[tuple[int, int], ...] = ((0, 1),)
    endless: bool = False
    expanded: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.output, str) or not self.output:
            raise RangeError(f"a grant needs an output name, got {self.output!r}")
        if not (math.isfinite(self.sample_rate_hz) and self.sample_rate_hz > 0):
            raise RangeError(f"grant {self.output}: sample rate must be finite and > 0 Hz, got {self.sample_rate_hz}")
        if not self.segments:
            raise RangeError(f"grant {self.output}: no segments")
        order = PlayOrder.of(self.order)
        object.__setattr__(self, "order", order)
        if not len(order):
            raise RangeError(f"grant {self.output}: empty play order")
        bad = np.flatnonzero((order.index < 0) | (order.index >= len(self.segments)))
        if bad.size:
            idx = int(order.index[bad[0]])
            raise RangeError(f"grant {self.output}: order names segment {idx}, it has {len(self.segments)}")
        bad = np.flatnonzero(order.repeats < 1)
        if bad.size:
            raise RangeError(f"grant {self.output}: repeat count {int(order.repeats[bad[0]])} < 1")

    @classmethod
    def for_samples(
        cls, output: str, samples: Any, sample_rate_hz: float, *, repeats: int = 1, endless: bool = False
    ) -> Grant:
        """A grant for one sample array played ``repeats`` times (or looped until stopped)."""
        return cls(output, float(sample_rate_hz), (Segment.of(samples),), ((0, int(repeats)),), bool(endless))

    @property
    def repeats(self) -> bool:
        """True when the grant plays something more often than the check saw it (repetition must have
        been judged by a periodic check)."""
        if self.endless:
            return True
        o = self._order
        return not self.expanded and (len(o) > 1 or bool(np.any(o.repeats > 1)))

    @property
    def _order(self) -> PlayOrder:
        assert isinstance(self.order, PlayOrder)  # made so in __post_init__
        return self.order

    @functools.cached_property
    def n_samples(self) -> int:
        """Samples played by one pass of the order."""
        return self._order.samples([s.n_samples for s in self.segments])

    def max_repeats(self, digest: str) -> int:
        """How many times in a row the segment ``digest`` may play (0 when it is not granted)."""
        idx = [i for i, s in enumerate(self.segments) if s.digest == digest]
        o = self._order
        hit = np.isin(o.index, idx)
        return int(o.repeats[hit].max()) if np.any(hit) else 0

    def token(self) -> str:
        """A canonical text of the grant (signed into the clearance)."""
        return self._token

    @functools.cached_property
    def _token(self) -> str:  # the grant is frozen: its text is made once
        segs = ",".join(f"{s.digest}:{s.n_samples}" for s in self.segments)
        order = f"{len(self._order)} steps sha256 {self._order.digest}"
        return f"{self.output}|{self.sample_rate_hz!r}|{segs}|{order}|{int(self.endless)}|{int(self.expanded)}"


@dataclass(frozen=True)
class ChannelCalibration:
    """How one output's volts become the physical quantity checked: ``quantity = (volts - offset_v) *
    units_per_volt``.

    Attributes
    ----------
    channel : str
        ``"gx"``, ``"gy"``, ``"gz"`` (T/m), ``"rf_i"`` or ``"rf_q"`` (tesla, real/imaginary B1).
    units_per_volt : float
        T/m per volt for a gradient axis (amplifier A/V x coil T/m/A), tesla per volt for RF.
    offset_v : float
        The output voltage that means zero.
    """

    channel: str
    units_per_volt: float
    offset_v: float = 0.0

    def __post_init__(self) -> None:
        if self.channel not in ("gx", "gy", "gz", "rf_i", "rf_q"):
            raise RangeError(f"calibration channel must be gx, gy, gz, rf_i or rf_q, got {self.channel!r}")
        if not (math.isfinite(self.units_per_volt) and self.units_per_volt != 0):
            raise RangeError(f"units_per_volt must be finite and non-zero, got {self.units_per_volt!r}")
        if not math.isfinite(self.offset_v):
            raise RangeError(f"offset_v must be finite, got {self.offset_v!r} V")


def _sign(fields: tuple[str, ...]) -> str:
    return hmac.new(_SECRET, "\0".join(fields).encode(), hashlib.sha256).hexdigest()


class Clearance:
    """Proof that waveforms were checked (or knowingly overridden), and what may be sent because of it.
    Made only by :func:`clear`, :func:`clear_volts` and :func:`override`.

    Attributes
    ----------
    report : SafetyReport or None
        The report of the check (``None`` for an override without limits).
    digest : str
        SHA-256 hex of the waveforms checked (:meth:`Waveforms.digest`). For a checked sequence it is
        computed (in bounded memory) on first access: the signature binds the sequence's definition.
    subject : str
        What the signature binds: ``"sequence:<definition digest>"`` for a checked sequence, else the
        samples' digest.
    grants : Mapping[str, Grant]
        Output name -> what that output may receive (read-only).
    periodic : bool
        The check judged the waveforms as repeated back to back.
    overridden : bool
        True for an operator override.
    reason, operator : str
        Why and by whom (empty for a normal clearance).
    issued_at, expires_at : float
        ``time.time()`` at issue, and the time after which the clearance is refused.
    """

    __slots__ = (
        "report", "_digest", "subject", "grants", "periodic", "overridden", "reason", "operator", "issued_at",
        "expires_at", "_sig",
    )

    report: SafetyReport | None
    _digest: str | None
    subject: str
    grants: Mapping[str, Grant]
    periodic: bool
    overridden: bool
    reason: str
    operator: str
    issued_at: float
    expires_at: float
    _sig: str

    def __init__(
        self,
        report: SafetyReport | None,
        digest: str | None,
        overridden: bool,
        reason: str,
        operator: str,
        *,
        subject: str = "",
        grants: Iterable[Grant] = (),
        periodic: bool = False,
        lifetime_s: float = DEFAULT_LIFETIME_S,
        _token: object = None,
    ) -> None:
        if _token is not _TOKEN:
            raise SafetyError(
                "a Clearance cannot be made by hand; use wavegen.safety.clear(), clear_volts() or override()",
                quantity="clearance",
            )
        if not (isinstance(lifetime_s, (int, float)) and math.isfinite(lifetime_s) and lifetime_s > 0):
            raise RangeError(f"lifetime_s must be a finite time > 0 s, got {lifetime_s!r}")
        table: dict[str, Grant] = {}
        for g in grants:
            if not isinstance(g, Grant):
                raise SafetyError(f"grants must be Grant objects, got {type(g).__name__}", quantity="clearance")
            if g.output in table:
                raise SafetyError(f"two grants for output {g.output!r}", quantity="clearance", channel=g.output)
            if g.repeats and not periodic and not overridden:
                raise SafetyError(
                    f"output {g.output}: the grant repeats its waveform, but the check judged it played once; "
                    "check with periodic=True to clear repetition",
                    quantity="repetition", channel=g.output,
                )
            table[g.output] = g
        issued_at = time.time()
        expires_at = issued_at + float(lifetime_s)
        if digest is None and not (subject and report is not None):
            raise SafetyError("a clearance needs the checked samples' digest or a report and its subject",
                              quantity="clearance")
        values = {
            "report": report,
            "_digest": digest,
            "subject": subject or str(digest),
            "grants": MappingProxyType(table),
            "periodic": bool(periodic),
            "overridden": bool(overridden),
            "reason": reason,
            "operator": operator,
            "issued_at": issued_at,
            "expires_at": expires_at,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_sig", _sign(self._fields()))

    def _fields(self) -> tuple[str, ...]:
        grants = tuple(g.token() for _, g in sorted(self.grants.items()))
        return (
            self.subject, self._digest or "", "1" if self.overridden else "0", "1" if self.periodic else "0",
            self.reason, self.operator, repr(self.issued_at), repr(self.expires_at), *grants,
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Clearance is frozen; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Clearance is frozen; cannot delete {name!r}")

    @property
    def digest(self) -> str:
        """SHA-256 hex of the checked waveforms (for a sequence, computed on first access; refused if the
        sequence changed since its check)."""
        d = self._digest
        if d is not None:
            return d
        assert self.report is not None
        return self.report.digest

    @property
    def label(self) -> str:
        """A short name of what was cleared (``sequence 1a2b3c4d5e6f`` or ``digest 1a2b3c4d5e6f...``)."""
        if self.subject.startswith("sequence:"):
            return f"sequence {self.subject[9:21]}"
        return f"digest {self.subject[:12]}..."

    @property
    def expired(self) -> bool:
        return not time.time() <= self.expires_at

    def _genuine(self) -> bool:
        try:
            sig = object.__getattribute__(self, "_sig")
            expected = _sign(self._fields())
        except (AttributeError, TypeError):
            return False
        if not hmac.compare_digest(sig, expected):
            return False
        return self.overridden or (self.report is not None and self.report.ok)

    def is_valid(self, waveforms: Any = None) -> bool:
        """True for a genuine, unaltered, unexpired clearance (and, if ``waveforms`` is given, one for
        exactly those waveforms)."""
        if not self._genuine() or self.expired:
            return False
        if waveforms is not None:
            if self.subject.startswith("sequence:") and hasattr(waveforms, "block_table"):
                from wavegen.safety.stream import definition_digest

                return "sequence:" + definition_digest(waveforms) == self.subject
            return as_waveforms(waveforms).digest() == self.digest
        return True

    def grant(self, output: str) -> Grant:
        """The grant for ``output``; :class:`SafetyError` naming the granted outputs when there is none."""
        g = self.grants.get(output)
        if g is None:
            have = ", ".join(sorted(self.grants)) or "none"
            raise SafetyError(
                f"the safety clearance does not cover output {output!r} (it covers: {have})",
                quantity="clearance", channel=output,
            )
        return g

    def __repr__(self) -> str:
        kind = f"OVERRIDE by {self.operator!r}: {self.reason!r}" if self.overridden else "checked"
        outs = ", ".join(sorted(self.grants)) or "no outputs"
        return (
            f"Clearance({kind}, {self.label}, outputs: {outs}, "
            f"valid for {max(0.0, self.expires_at - time.time()):.0f} s)"
        )


def _check_grants(grants: Iterable[Grant]) -> tuple[Grant, ...]:
    out = tuple(grants)
    for g in out:
        if not isinstance(g, Grant):
            raise SafetyError(f"grants must be Grant objects, got {type(g).__name__}", quantity="clearance")
    return out


def clear(
    waveforms_or_seq: Any,
    limits: Any,
    *,
    mode: str = "normal",
    grants: Iterable[Grant] = (),
    lifetime_s: float = DEFAULT_LIFETIME_S,
    **check_kwargs: Any,
) -> Clearance:
    """Check ``waveforms_or_seq`` and issue a :class:`Clearance` if it is safe.

    Parameters
    ----------
    waveforms_or_seq
        :class:`Waveforms`, an object with ``to_waveforms()``, or a gradient array (then pass
        ``grad_raster_s=...`` etc. in ``check_kwargs``).
    limits
        :class:`wavegen.limits.SystemLimits`.
    mode
        ``"normal"`` or ``"first_level"``.
    grants
        What each output may receive because of this check (:class:`Grant`); the caller derives them
        from the very arrays that were checked (the bench converts its checked copy to volts). Without
        grants the clearance sends nothing to any instrument.
    lifetime_s
        How long the clearance stays valid (s).
    **check_kwargs
        Passed to :func:`wavegen.safety.check` (``periodic`` defaults to True there: repetition is
        judged); additionally ``require_complete=True`` refuses a waveform with an unverified rule (for
        example SAR without calibration when a patient is in).

    Raises
    ------
    SafetyError
        The worst violation, naming quantity, value, limit, unit, channel and time; or a grant that
        repeats a waveform checked as played once.
    """
    from wavegen.safety.check import check  # late import: check imports every rule module

    grants = _check_grants(grants)
    require_complete = bool(check_kwargs.pop("require_complete", False))
    periodic = bool(check_kwargs.get("periodic", True))
    report = check(waveforms_or_seq, limits, mode=mode, **check_kwargs)
    if not report.ok:
        # the SafetyError raised below says it; whoever handles it decides how loud it is
        logger.info("interlock refused: %s", report.violations[0].to_error())
    report.raise_if_unsafe(strict=require_complete)
    for r in report.unverified:
        logger.warning("interlock: %s is unverified: %s", r.rule, r.note)
    c = Clearance(
        report, None if report.subject else report.digest, False, "", "", subject=report.subject, grants=grants,
        periodic=periodic, lifetime_s=lifetime_s, _token=_TOKEN,
    )
    logger.info(
        "interlock cleared %s (mode %s, %d rules, outputs: %s)",
        c.label, mode, len(report.results), ", ".join(sorted(c.grants)) or "none",
    )
    return c


def clear_volts(
    volts: Any,
    *,
    output: str,
    sample_rate_hz: float,
    calibration: ChannelCalibration,
    limits: Any,
    mode: str = "normal",
    repeats: int = 1,
    endless: bool = False,
    lifetime_s: float = DEFAULT_LIFETIME_S,
    **check_kwargs: Any,
) -> Clearance:
    """Clear volts for one output of a driver used directly (a script that drives one AWG or DAQ).

    The volts are turned into the physical quantity through ``calibration`` (gradient T/m on its axis,
    or RF tesla), checked against ``limits`` as played once (``repeats == 1``) or repeated back to back
    (``repeats > 1`` or ``endless``), and granted to ``output`` at ``sample_rate_hz``.

    Examples
    --------
    >>> from wavegen.limits import SystemLimits
    >>> v = np.concatenate([np.linspace(0, 1, 50), np.ones(100), np.linspace(1, 0, 50)])  # volts
    >>> cal = ChannelCalibration("gx", units_per_volt=0.01)        # 10 mT/m per volt
    >>> c = clear_volts(v, output="awg/1", sample_rate_hz=1e5, calibration=cal, limits=SystemLimits())
    >>> sorted(c.grants)
    ['awg/1']

    Raises
    ------
    SafetyError
        Unsafe; nothing is granted.
    """
    v = np.asarray(volts)
    if v.ndim != 1 or v.size == 0:
        raise ShapeError(f"volts must be a non-empty 1-D array, got shape {v.shape}")
    if not np.issubdtype(v.dtype, np.floating) and not np.issubdtype(v.dtype, np.integer):
        raise ShapeError(f"volts must be real numbers, got dtype {v.dtype}")
    if not np.all(np.isfinite(v)):
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise RangeError(f"volts[{i}] is {v[i]}; volts must be finite")
    if not (math.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise RangeError(f"sample_rate_hz must be finite and > 0 Hz, got {sample_rate_hz!r}")
    if int(repeats) < 1:
        raise RangeError(f"repeats must be >= 1, got {repeats}")
    x = (v.astype(np.float64) - calibration.offset_v) * calibration.units_per_volt
    dt = 1.0 / float(sample_rate_hz)
    if calibration.channel in ("gx", "gy", "gz"):
        g = np.zeros((x.size, 3))
        g[:, ("gx", "gy", "gz").index(calibration.channel)] = x
        wf = Waveforms(g, dt)
    else:
        rf = x.astype(np.complex128) if calibration.channel == "rf_i" else 1j * x
        wf = Waveforms(np.zeros((x.size, 3)), dt, rf_b1_t=rf, rf_raster_s=dt)
    periodic = bool(endless or int(repeats) > 1)
    check_kwargs.setdefault("periodic", periodic)
    grant = Grant.for_samples(output, v, float(sample_rate_hz), repeats=int(repeats), endless=bool(endless))
    return clear(wf, limits, mode=mode, grants=(grant,), lifetime_s=lifetime_s, **check_kwargs)


def override(
    waveforms_or_seq: Any,
    *,
    reason: str,
    operator: str,
    limits: Any = None,
    mode: str = "normal",
    grants: Iterable[Grant] = (),
    lifetime_s: float = DEFAULT_LIFETIME_S,
    **check_kwargs: Any,
) -> Clearance:
    """Issue a :class:`Clearance` despite (possible) violations: an explicit, logged operator decision.

    Parameters
    ----------
    waveforms_or_seq
        What is being cleared (its digest is recorded).
    reason, operator
        Non-empty: why, and who takes responsibility.
    limits
        If given, the waveforms are checked first, and the violations being overridden are logged and
        kept in the clearance's report.
    grants
        What each output may receive (as for :func:`clear`); each is logged with the override.
    mode, lifetime_s, **check_kwargs
        As for :func:`clear`.

    Raises
    ------
    RangeError
        Empty ``reason`` or ``operator``.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise RangeError(f"override needs a non-empty reason, got {reason!r}")
    if not isinstance(operator, str) or not operator.strip():
        raise RangeError(f"override needs a non-empty operator name, got {operator!r}")
    grants = _check_grants(grants)
    check_kwargs.pop("require_complete", None)
    periodic = bool(check_kwargs.get("periodic", True))
    report: SafetyReport | None
    if limits is not None:
        from wavegen.safety.check import check

        report = check(waveforms_or_seq, limits, mode=mode, **check_kwargs)
        subject = report.subject
        digest: str | None = None if subject else report.digest
        broken = "; ".join(str(r.to_error()) for r in report.violations) or "none"
    else:
        report = None
        wf: Waveforms = as_waveforms(
            waveforms_or_seq,
            grad_raster_s=check_kwargs.get("grad_raster_s"),
            rf_b1_t=check_kwargs.get("rf_b1_t"),
            rf_raster_s=check_kwargs.get("rf_raster_s"),
            axes=check_kwargs.get("axes"),
        )
        digest = wf.digest()
        subject = digest
        broken = "not checked (no limits given)"
    logger.warning(
        "SAFETY INTERLOCK OVERRIDDEN by operator %r, reason %r, %s, outputs %s; violations overridden: %s",
        operator.strip(),
        reason.strip(),
        f"sequence {subject[9:21]}" if subject.startswith("sequence:") else f"digest {subject[:12]}",
        ", ".join(g.output for g in grants) or "none",
        broken,
    )
    return Clearance(
        report, digest, True, reason.strip(), operator.strip(), subject=subject, grants=grants, periodic=periodic,
        lifetime_s=lifetime_s, _token=_TOKEN,
    )


def require(
    clearance: Any,
    waveforms: Any = None,
    *,
    output: str | None = None,
    samples: Any = None,
    digest: str | None = None,
    sample_rate_hz: float | None = None,
    repeats: int = 1,
    endless: bool = False,
) -> None:
    """Raise :class:`SafetyError` unless ``clearance`` is a valid clearance covering what is about to
    be sent.

    Parameters
    ----------
    clearance
        What the caller holds.
    waveforms
        Optional: the waveforms about to be played; the clearance must be for exactly these.
    output
        The output about to receive or play something (``driver.output_id(channel)``); the clearance
        must hold a :class:`Grant` for it. Drivers always pass it.
    samples, digest
        The samples about to be sent (exactly as sent: volts or codes), or their
        :func:`samples_digest`; they must be one of the grant's segments.
    sample_rate_hz
        The rate they will play at; it must be the grant's.
    repeats, endless
        How many times in a row the samples will play, or whether they loop until stopped; the grant
        must allow it.
    """
    if not isinstance(clearance, Clearance):
        raise SafetyError(
            f"no safety clearance: got {type(clearance).__name__}; call wavegen.safety.clear() first",
            quantity="clearance",
        )
    if not clearance._genuine():
        raise SafetyError("the safety clearance is not valid (forged, altered or unsafe)", quantity="clearance")
    if clearance.expired:
        raise SafetyError(
            f"the safety clearance expired {time.time() - clearance.expires_at:.0f} s ago "
            f"(it was valid for {clearance.expires_at - clearance.issued_at:.0f} s); check again",
            quantity="clearance",
        )
    if waveforms is not None and not clearance.is_valid(waveforms):
        raise SafetyError(
            "the safety clearance was issued for different waveforms (digest mismatch)", quantity="clearance"
        )
    if output is not None:
        _require_grant(clearance, output, samples, digest, sample_rate_hz, repeats, endless)
    elif samples is not None or digest is not None:
        raise SafetyError("require(): samples given without the output they are for", quantity="clearance")
    if clearance.overridden:
        sig = object.__getattribute__(clearance, "_sig")
        if sig not in _WARNED_OVERRIDES:  # once per clearance, not once per upload, output and segment
            _WARNED_OVERRIDES.add(sig)
            logger.warning("playing under an override by %r: %r", clearance.operator, clearance.reason)


def _require_grant(
    clearance: Clearance,
    output: str,
    samples: Any,
    digest: str | None,
    sample_rate_hz: float | None,
    repeats: int,
    endless: bool,
) -> None:
    g = clearance.grant(output)
    if sample_rate_hz is not None:
        rate = float(sample_rate_hz)
        if not (math.isfinite(rate) and abs(rate - g.sample_rate_hz) <= RATE_RTOL * g.sample_rate_hz):
            raise SafetyError(
                f"output {output}: sample rate {rate!r} Hz is not the cleared {g.sample_rate_hz!r} Hz",
                quantity="sample rate", value=rate,
                limit=g.sample_rate_hz, unit="Hz", channel=output,
            )
    if samples is not None:
        d = samples_digest(samples)
        if digest is not None and digest != d:
            raise SafetyError(f"output {output}: samples and digest disagree", quantity="clearance", channel=output)
        digest = d
    if endless and not g.endless:
        raise SafetyError(
            f"output {output}: looping until stopped was not cleared (the grant plays {g.n_samples} samples)",
            quantity="repetition", channel=output,
        )
    if digest is None:
        return
    allowed = g.max_repeats(digest)
    if allowed == 0:
        raise SafetyError(
            f"output {output}: these samples (digest {digest[:12]}...) are not what was cleared for it",
            quantity="clearance", channel=output,
        )
    if not g.endless and int(repeats) > allowed:
        raise SafetyError(
            f"output {output}: {int(repeats)} repeats requested, {allowed} cleared",
            quantity="repetition", value=float(repeats), limit=float(allowed), unit="repeats", channel=output,
        )
