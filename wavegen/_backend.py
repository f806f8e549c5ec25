"""The one place that imports the compiled extension ``wavegen._native``.

Modules that use native kernels (``wavegen.dsp`` first of all) import ``lib``, ``ffi`` and
``NATIVE`` from here, so the rule for a missing extension lives in one place:

- normally a missing extension is logged once and the NumPy reference kernels are used;
- with the environment variable ``WAVEGEN_REQUIRE_NATIVE=1`` (set by CI) a missing extension is an
  :class:`~wavegen.errors.NativeBackendError` (an ``ImportError``) at import time.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from wavegen.errors import NativeBackendError

__all__ = ["lib", "ffi", "NATIVE", "BACKEND", "require_native"]

logger = logging.getLogger(__name__)

lib: Any
ffi: Any

try:
    _native = importlib.import_module("wavegen._native")
    ffi, lib = _native.ffi, _native.lib
    NATIVE = True
except ImportError as exc:  # pragma: no cover - exercised only where the build failed
    if os.environ.get("WAVEGEN_REQUIRE_NATIVE", "") not in ("", "0"):
        raise NativeBackendError(
            "WAVEGEN_REQUIRE_NATIVE is set but the compiled extension wavegen._native cannot be "
            f"imported ({exc}); reinstall wavegen with a C compiler available"
        ) from exc
    logger.warning("wavegen._native is not available (%s); using the NumPy reference kernels", exc)
    lib = None
    ffi = None
    NATIVE = False

#: "native" when the C kernels are in use, "numpy" otherwise.
BACKEND = "native" if NATIVE else "numpy"


def require_native() -> None:
    """Raise :class:`NativeBackendError` unless the C kernels are loaded."""
    if not NATIVE:
        raise NativeBackendError("the compiled extension wavegen._native is not available")
