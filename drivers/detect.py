"""Pick the right AWG driver from an instrument's ``*IDN?`` answer.

``open_awg("TCPIP0::192.0.2.5::5025::SOCKET")`` asks the instrument who it is, closes that probe
connection, and opens the matching family driver on the same address (so the driver can reconnect to
make the instrument safe after a lost connection).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from wavegen.errors import InstrumentProtocolError

from .base import ScpiAwg, parse_idn
from .registry import families
from .scpi import ScpiSession
from .transport import open_visa

__all__ = ["awg_drivers", "driver_for_idn", "open_awg"]

logger = logging.getLogger(__name__)

def awg_drivers() -> dict[str, type[ScpiAwg]]:
    """Configuration name -> driver class of every AWG family in the registry (:mod:`.registry`)."""
    return {name: f.driver_class() for name, f in families().items() if f.kind == "awg"}


def driver_for_idn(idn: str) -> type[ScpiAwg]:
    """The driver class whose vendor and model table match *idn*.

    Raises
    ------
    InstrumentProtocolError
        No family knows this instrument (the message lists the known models).
    """
    vendor, model, _, _ = parse_idn(idn)
    drivers = awg_drivers()
    for cls in drivers.values():
        if any(v in vendor.upper() for v in cls.VENDORS) and model.upper() in cls.MODELS:
            return cls
    known = ", ".join(sorted(m for cls in drivers.values() for m in cls.MODELS))
    raise InstrumentProtocolError(f"no wavegen driver for {idn!r}; known models: {known}")


def open_awg(address: str, *, backend: str = "@py", timeout_s: float = 10.0, **kwargs: Any) -> ScpiAwg:
    """Open the instrument at *address* with the driver its ``*IDN?`` calls for."""
    probe = open_visa(address, backend=backend, timeout_s=timeout_s)
    try:
        idn = ScpiSession(probe, timeout_s=timeout_s).query("*IDN?")
    finally:
        with contextlib.suppress(Exception):
            probe.close()
    cls = driver_for_idn(idn)
    logger.info("%s is %r: using %s", address, idn, cls.__name__)
    return cls(address, backend=backend, timeout_s=timeout_s, **kwargs)
