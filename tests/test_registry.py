"""One registry of instrument families, used by detection, configuration and the mock bench."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest
from wavegen.drivers import registry
from wavegen.drivers.detect import awg_drivers, driver_for_idn
from wavegen.drivers.protocol import InputInstrument, OutputInstrument
from wavegen.drivers.registry import ENTRY_POINT_GROUP, Family, families, family

from wavegen.bench import Bench
from wavegen.bench.config import MOCK_CONFIG, parse_config
from wavegen.errors import ConfigError


def test_every_builtin_family_has_a_driver_and_an_emulator_that_agree() -> None:
    for name, fam in families().items():
        cls = fam.driver_class()
        if fam.kind == "daq":
            assert fam.emulator is None  # the fake DAQ stands in below the nidaqmx API
            continue
        assert fam.default_model in cls.MODELS, (name, fam.default_model)
        with fam.make_emulator() as emu:
            assert emu.address.startswith("TCPIP")
            drv = cls(emu.address)
            try:
                assert isinstance(drv, OutputInstrument) and drv.waits_for_trigger
                assert driver_for_idn(drv.idn) is cls
                assert drv.caps.model == fam.default_model
            finally:
                drv.close()
    assert set(awg_drivers()) == {n for n, f in families().items() if f.kind == "awg"}


@pytest.mark.parametrize("name", sorted(families()))
def test_bench_config_accepts_every_family_and_only_those(name: str) -> None:
    cfg = {k: dict(v) for k, v in MOCK_CONFIG.items()}
    cfg["instruments"] = {k: dict(v) for k, v in cfg["instruments"].items()}
    if family(name).kind == "awg":
        cfg["instruments"]["awg"]["driver"] = name
        cfg["instruments"]["awg"].pop("model", None)
        parse_config(cfg)
    cfg["instruments"]["awg"]["driver"] = "acme_awg"
    with pytest.raises(ConfigError, match=r"unknown driver; known: .*keysight_33500"):
        parse_config(cfg)


def test_a_third_party_family_arrives_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = types.ModuleType("acme_wavegen_plugin")
    plugin.FAMILY = Family(  # type: ignore[attr-defined]
        "acme_awg", "awg", "wavegen.drivers.keysight_33500:Keysight33500",
        "wavegen.drivers.mock.keysight:keysight_emulator", "33522B",
    )
    plugin.NOT_A_FAMILY = 42  # type: ignore[attr-defined]
    plugin.TAKEN = Family("nidaq", "daq", "acme:Daq")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "acme_wavegen_plugin", plugin)
    eps = [EntryPoint(n, f"acme_wavegen_plugin:{a}", ENTRY_POINT_GROUP)
           for n, a in (("acme", "FAMILY"), ("junk", "NOT_A_FAMILY"), ("taken", "TAKEN"), ("gone", "MISSING"))]
    monkeypatch.setattr(registry, "entry_points", lambda group: eps if group == ENTRY_POINT_GROUP else [])
    fams = families()
    assert fams["acme_awg"].kind == "awg" and fams["nidaq"].driver == "wavegen.drivers.nidaq:NiDaq"
    cfg = {k: dict(v) for k, v in MOCK_CONFIG.items()}
    cfg["instruments"] = {k: dict(v) for k, v in cfg["instruments"].items()}
    cfg["instruments"]["awg"]["driver"] = "acme_awg"
    with Bench.from_config(cfg) as bench:  # the mock bench builds the plug-in's emulator through the registry
        assert "33522B" in bench.instruments()[1].idn


def test_family_definitions_are_checked() -> None:
    with pytest.raises(ConfigError, match="kind must be"):
        Family("x", "scope", "a:b")
    with pytest.raises(ConfigError, match="module:attribute"):
        Family("x", "awg", "nocolon")


def test_the_bench_sees_every_instrument_through_the_protocols(mock_bench) -> None:
    """AWGs and DAQ boards alike are OutputInstruments; the DAQ also captures (InputInstrument)."""
    daq, awg = mock_bench._drivers["daq"], mock_bench._drivers["awg"]  # noqa: SLF001
    assert isinstance(daq, OutputInstrument) and isinstance(daq, InputInstrument) and not daq.waits_for_trigger
    assert isinstance(awg, OutputInstrument) and not isinstance(awg, InputInstrument) and awg.waits_for_trigger
