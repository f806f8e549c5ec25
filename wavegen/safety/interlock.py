"""The interlock: nothing goes to an amplifier without a :class:`Clearance`.

Drivers call :func:`require` before any upload or output-on. A clearance comes only from

- :func:`clear`, which runs :func:`wavegen.safety.check` and refuses (raises the worst
  :class:`~wavegen.errors.SafetyError`) when anything is unsafe; or
- :func:`override`, an explicit, logged decision by a named operator with a stated reason.

A :class:`Clearance` cannot be made by hand: its constructor needs a private token, and every clearance
carries an HMAC (keyed by a per-process random secret) over what it certifies, so a forged or altered
object (``object.__new__``, ``object.__setattr__``) fails :meth:`Clearance.is_valid`. This guards
against mistakes, not against a malicious user of the same process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from typing import Any

from wavegen.errors import RangeError, SafetyError
from wavegen.safety.report import SafetyReport
from wavegen.safety.waveforms import Waveforms, as_waveforms

__all__ = ["Clearance", "clear", "override", "require"]

logger = logging.getLogger(__name__)

_TOKEN = object()
_SECRET = secrets.token_bytes(32)


def _sign(digest: str, overridden: bool, reason: str, operator: str, issued_at: float) -> str:
    msg = "\0".join((digest, "1" if overridden else "0", reason, operator, repr(issued_at))).encode()
    return hmac.new(_SECRET, msg, hashlib.sha256).hexdigest()


class Clearance:
    """Proof that a waveform was checked (or knowingly overridden). Made only by :func:`clear` and
    :func:`override`.

    Attributes
    ----------
    report : SafetyReport or None
        The report of the check (``None`` for an override without limits).
    digest : str
        SHA-256 hex of the waveforms checked (:meth:`Waveforms.digest`).
    overridden : bool
        True for an operator override.
    reason, operator : str
        Why and by whom (empty for a normal clearance).
    issued_at : float
        ``time.time()`` at issue.
    """

    __slots__ = ("report", "digest", "overridden", "reason", "operator", "issued_at", "_sig")

    report: SafetyReport | None
    digest: str
    overridden: bool
    reason: str
    operator: str
    issued_at: float
    _sig: str

    def __init__(
        self,
        report: SafetyReport | None,
        digest: str,
        overridden: bool,
        reason: str,
        operator: str,
        *,
        _token: object = None,
    ) -> None:
        if _token is not _TOKEN:
            raise SafetyError(
                "a Clearance cannot be made by hand; use wavegen.safety.clear() or override()",
                quantity="clearance",
            )
        issued_at = time.time()
        for name, value in (
            ("report", report),
            ("digest", digest),
            ("overridden", bool(overridden)),
            ("reason", reason),
            ("operator", operator),
            ("issued_at", issued_at),
            ("_sig", _sign(digest, bool(overridden), reason, operator, issued_at)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Clearance is frozen; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Clearance is frozen; cannot delete {name!r}")

    def is_valid(self, waveforms: Any = None) -> bool:
        """True for a genuine, unaltered clearance (and, if ``waveforms`` is given, one for exactly
        those waveforms)."""
        try:
            sig = object.__getattribute__(self, "_sig")
            expected = _sign(self.digest, self.overridden, self.reason, self.operator, self.issued_at)
        except AttributeError:
            return False
        if not hmac.compare_digest(sig, expected):
            return False
        if not self.overridden and (self.report is None or not self.report.ok):
            return False
        if waveforms is not None:
            return as_waveforms(waveforms).digest() == self.digest
        return True

    def __repr__(self) -> str:
        kind = f"OVERRIDE by {self.operator!r}: {self.reason!r}" if self.overridden else "checked"
        return f"Clearance({kind}, digest={self.digest[:12]}..., issued_at={self.issued_at:.3f})"


def clear(waveforms_or_seq: Any, limits: Any, *, mode: str = "normal", **check_kwargs: Any) -> Clearance:
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
    **check_kwargs
        Passed to :func:`wavegen.safety.check`; additionally ``require_complete=True`` refuses a
        waveform with an unverified rule (for example SAR without calibration when a patient is in).

    Raises
    ------
    SafetyError
        The worst violation, naming quantity, value, limit, unit, channel and time.
    """
    from wavegen.safety.check import check  # late import: check imports every rule module

    require_complete = bool(check_kwargs.pop("require_complete", False))
    report = check(waveforms_or_seq, limits, mode=mode, **check_kwargs)
    if not report.ok:
        logger.error("interlock refused: %s", report.violations[0].to_error())
    report.raise_if_unsafe(strict=require_complete)
    for r in report.unverified:
        logger.warning("interlock: %s is unverified: %s", r.rule, r.note)
    c = Clearance(report, report.digest, False, "", "", _token=_TOKEN)
    logger.info("interlock cleared digest %s (mode %s, %d rules)", c.digest[:12], mode, len(report.results))
    return c


def override(
    waveforms_or_seq: Any,
    *,
    reason: str,
    operator: str,
    limits: Any = None,
    mode: str = "normal",
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
    mode, **check_kwargs
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
    check_kwargs.pop("require_complete", None)
    report: SafetyReport | None
    if limits is not None:
        from wavegen.safety.check import check

        report = check(waveforms_or_seq, limits, mode=mode, **check_kwargs)
        digest = report.digest
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
        broken = "not checked (no limits given)"
    logger.warning(
        "SAFETY INTERLOCK OVERRIDDEN by operator %r, reason %r, digest %s; violations overridden: %s",
        operator.strip(),
        reason.strip(),
        digest[:12],
        broken,
    )
    return Clearance(report, digest, True, reason.strip(), operator.strip(), _token=_TOKEN)


def require(clearance: Any, waveforms: Any = None) -> None:
    """Raise :class:`SafetyError` unless ``clearance`` is a valid :class:`Clearance`.

    Parameters
    ----------
    clearance
        What the caller holds.
    waveforms
        Optional: the waveforms about to be played; the clearance must be for exactly these.
    """
    if not isinstance(clearance, Clearance):
        raise SafetyError(
            f"no safety clearance: got {type(clearance).__name__}; call wavegen.safety.clear() first",
            quantity="clearance",
        )
    if not clearance.is_valid():
        raise SafetyError(
            "the safety clearance is not valid (forged, altered or unsafe)", quantity="clearance"
        )
    if waveforms is not None and not clearance.is_valid(waveforms):
        raise SafetyError(
            "the safety clearance was issued for different waveforms (digest mismatch)", quantity="clearance"
        )
    if clearance.overridden:
        logger.warning("playing under an override by %r: %r", clearance.operator, clearance.reason)
    if not math.isfinite(clearance.issued_at):
        raise SafetyError("the safety clearance has no valid issue time", quantity="clearance")
