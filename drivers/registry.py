"""The one registry of instrument families: detection, bench configuration and the mock bench use it.

A family is a name used in ``bench.toml`` (``driver = "keysight_33500"``), the class that drives it, its
kind (``"awg"``: an SCPI arbitrary waveform generator; ``"daq"``: an NI-DAQmx board), the emulator that
stands in for it on the mock bench, and that emulator's default model. The built-in families are listed
here; a third-party package adds its own through the entry-point group ``wavegen.instruments``, each
entry point naming a :class:`Family`::

    # the other package's pyproject.toml
    [project.entry-points."wavegen.instruments"]
    acme_awg = "acme_wavegen:FAMILY"        # FAMILY = Family("acme_awg", "awg", "acme_wavegen.driver:AcmeAwg",
                                            #                 "acme_wavegen.mock:acme_emulator", "A100")

Classes and emulators are named by import path (``"package.module:attribute"``) and imported on first
use, so listing the families imports no driver.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from wavegen.errors import ConfigError

__all__ = ["ENTRY_POINT_GROUP", "Family", "families", "family", "load"]

logger = logging.getLogger(__name__)

#: The entry-point group through which other packages add families.
ENTRY_POINT_GROUP = "wavegen.instruments"


@dataclass(frozen=True)
class Family:
    """One instrument family (see the module docstring)."""

    name: str
    kind: str
    driver: str
    emulator: str | None = None
    default_model: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("awg", "daq"):
            raise ConfigError(f"instrument family {self.name!r}: kind must be 'awg' or 'daq', got {self.kind!r}")
        for what, path in (("driver", self.driver), ("emulator", self.emulator)):
            if path is not None and ":" not in path:
                raise ConfigError(f"instrument family {self.name!r}: {what} {path!r} must be 'module:attribute'")

    def driver_class(self) -> Any:
        """The driver class (imported now)."""
        return load(self.driver)

    def make_emulator(self, model: str | None = None) -> Any:
        """A new emulator of this family (``None`` when the family has none)."""
        if self.emulator is None:
            return None
        return load(self.emulator)(model or self.default_model)


BUILTIN: tuple[Family, ...] = (
    Family("keysight_33500", "awg", "wavegen.drivers.keysight_33500:Keysight33500",
           "wavegen.drivers.mock.keysight:keysight_emulator", "33522B"),
    Family("tektronix_awg", "awg", "wavegen.drivers.tektronix_awg:TektronixAWG",
           "wavegen.drivers.mock.tektronix:tektronix_emulator", "AWG5204"),
    Family("rigol_dg", "awg", "wavegen.drivers.rigol_dg:RigolDG",
           "wavegen.drivers.mock.rigol:rigol_emulator", "DG1062Z"),
    Family("siglent_sdg", "awg", "wavegen.drivers.siglent_sdg:SiglentSDG",
           "wavegen.drivers.mock.siglent:siglent_emulator", "SDG2042X"),
    Family("nidaq", "daq", "wavegen.drivers.nidaq:NiDaq", None, "PCIe-6363"),
)


def load(path: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def families() -> dict[str, Family]:
    """Every family: the built-in ones, then those other packages add (a name already taken is refused
    with a warning in the log, so a plug-in cannot replace a built-in driver)."""
    out = {f.name: f for f in BUILTIN}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            fam = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the others
            logger.warning("instrument family plug-in %r could not be loaded: %s", ep.name, exc)
            continue
        if not isinstance(fam, Family):
            logger.warning("instrument family plug-in %r is a %s, not a Family; ignored", ep.name, type(fam).__name__)
            continue
        if fam.name in out:
            logger.warning("instrument family plug-in %r uses the taken name %r; ignored", ep.name, fam.name)
            continue
        out[fam.name] = fam
    return out


def family(name: str) -> Family:
    """The family called ``name``; :class:`ConfigError` listing the known ones otherwise."""
    known = families()
    if name not in known:
        raise ConfigError(f"unknown instrument driver {name!r}; known: {', '.join(sorted(known))}")
    return known[name]
