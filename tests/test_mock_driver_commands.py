"""Every command a wavegen driver sends is accepted by its family's emulator, in short and in long form.

Two checks per family: (1) the headers found in the driver's source (``write``/``query``/``write_block``
calls) all name a command of the emulator's tree, in the form the driver uses (command or query), so a
misspelled or invented command fails here, not only on the bench; (2) the driver's conversation written
out in short form (as the driver sends it) and in the manual's long form leaves two fresh emulators in the
same state with the same answers and no error.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wavegen.drivers.mock.keysight import KeysightPersonality
from wavegen.drivers.mock.rigol import RigolPersonality
from wavegen.drivers.mock.scpi_tree import ScpiInstrument
from wavegen.drivers.mock.siglent import SiglentPersonality
from wavegen.drivers.mock.tektronix import TektronixPersonality

DRIVERS = Path(__file__).resolve().parents[1] / "drivers"

FAMILIES: dict[str, tuple[str, Callable[[], ScpiInstrument]]] = {
    "keysight": ("keysight_33500.py", lambda: KeysightPersonality("33522B")),
    "rigol": ("rigol_dg.py", lambda: RigolPersonality("DG1062Z")),
    "siglent": ("siglent_sdg.py", lambda: SiglentPersonality("SDG2042X")),
    "tektronix": ("tektronix_awg.py", lambda: TektronixPersonality("AWG5204")),
}

_CALL = re.compile(r"\.(write|query|query_int|query_float|write_block)\(\s*f?([\"'])(.+?)\2", re.S)


def driver_headers(source: str) -> set[tuple[str, bool]]:
    """(header, is_query) of every command literal the driver source sends (placeholders -> 1)."""
    out = set()
    for m in _CALL.finditer(source):
        text = re.sub(r"\{[^}]*\}", "1", m.group(3)).strip()
        head = text.split()[0] if text.split() else ""
        if not head or head.startswith("*"):
            continue
        out.add((head.rstrip("?"), head.endswith("?")))
    return out


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_header_in_the_driver_source_is_in_the_tree(family: str) -> None:
    filename, make = FAMILIES[family]
    headers = driver_headers((DRIVERS / filename).read_text())
    assert len(headers) >= 8, f"found only {headers} in {filename}"
    inst = make()
    missing = []
    for head, query in sorted(headers):
        found = inst.tree.find(head.lstrip(":").upper().split(":"))
        if found is None or not (found[0].query if query else found[0].command):
            missing.append(head + ("?" if query else ""))
    assert missing == [], f"{family} driver sends headers its emulator does not know: {missing}"


def test_the_source_scan_sees_a_misspelled_header() -> None:
    headers = driver_headers('s.write(f"SOUR{ch}:FUNK:ARB {name}")\ns.query("WLIS:LIST?")')
    assert headers == {("SOUR1:FUNK:ARB", False), ("WLIS:LIST", True)}
    inst = KeysightPersonality()
    assert inst.tree.find(["SOUR1", "FUNK", "ARB"]) is None


def _snapshot(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.tolist())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _snapshot(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_snapshot(v) for v in obj]
    return obj


def _state(inst: ScpiInstrument) -> Any:
    skip = {"log", "lock", "faults", "tree", "errors"}
    return {k: _snapshot(v) for k, v in vars(inst).items() if k not in skip}


Script = list[tuple[str, str, bytes | None]]


def _run(make: Callable[[], ScpiInstrument], script: Script, form: int) -> tuple[list[bytes | None], Any]:
    inst = make()
    answers = [inst.message(pair[form], block) for *pair, block in script]
    assert inst.errors == [], f"errors {inst.errors} after {inst.log}"
    return answers, _state(inst)


I16 = np.array([0, 1000, -1000, 32767, -32767, 5, 6, 7, 8, 9], "<i2").tobytes()
U16 = (np.arange(20) * 800).astype("<u2").tobytes()
F32 = np.linspace(-1, 1, 8).astype("<f4").tobytes()
M8 = np.array([0, 1, 2, 3, 0, 1, 2, 3], np.uint8).tobytes()

SCRIPTS: dict[str, Script] = {
    "keysight": [
        ("*CLS", "*CLS", None),
        ("*OPT?", "*OPT?", None),
        ("FORM:BORD SWAP", "FORMat:BORDer SWAPped", None),
        ("FORM:BORD?", ":FORMat:BORDer?", None),
        ("OUTP1 OFF", "OUTPut1:STATe OFF", None),
        ("OUTP1:LOAD INF", "OUTPut1:LOAD INFinity", None),
        ("OUTP1?", "OUTPut1:STATe?", None),
        ("SOUR1:DATA:VOL:CLE", "SOURce1:DATA:VOLatile:CLEar", None),
        ("SOUR1:DATA:ARB:DAC gx,", "SOURce1:DATA:ARBitrary:DAC gx,", I16),
        ("SOUR1:FUNC:ARB gx", "SOURce1:FUNCtion:ARBitrary gx", None),
        ("SOUR1:DATA:ATTR:POIN? gx", "SOURce1:DATA:ATTRibute:POINts? gx", None),
        ('MMEM:STOR:DATA1 "INT:\\gx.arb"', 'MMEMory:STORe:DATA1 "INT:\\gx.arb"', None),
        ('MMEM:UPL? "INT:\\gx.arb"', 'MMEMory:UPLoad? "INT:\\gx.arb"', None),
        ('MMEM:DEL "INT:\\gx.arb"', 'MMEMory:DELete "INT:\\gx.arb"', None),
        ("SOUR1:FUNC ARB", "SOURce1:FUNCtion:SHAPe ARBitrary", None),
        ("SOUR1:FUNC:ARB:SRAT 1E+06", "SOURce1:FUNCtion:ARBitrary:SRATe 1E+06", None),
        ("SOUR1:FUNC:ARB:FILT NORM", "SOURce1:FUNCtion:ARBitrary:FILTer NORMal", None),
        ("SOUR1:VOLT:UNIT VPP", "SOURce1:VOLTage:UNIT VPP", None),
        ("SOUR1:VOLT 2", "SOURce1:VOLTage:LEVel:IMMediate:AMPLitude 2", None),
        ("SOUR1:VOLT:OFFS 0.5", "SOURce1:VOLTage:LEVel:IMMediate:OFFSet 0.5", None),
        ("SOUR1:FUNC:ARB:SRAT?", "SOURce1:FUNCtion:ARBitrary:SRATe?", None),
        ("TRIG1:SOUR BUS", "TRIGger1:SOURce BUS", None),
        ("SOUR1:BURS:MODE TRIG", "SOURce1:BURSt:MODE TRIGgered", None),
        ("SOUR1:BURS:NCYC 3", "SOURce1:BURSt:NCYCles 3", None),
        ("SOUR1:BURS:STAT ON", "SOURce1:BURSt:STATe ON", None),
        ("SOUR2:DATA:ARB:DAC gy,", "SOURce2:DATA:ARBitrary:DAC gy,", I16),
        ("SOUR2:FUNC:ARB gy", "SOURce2:FUNCtion:ARBitrary gy", None),
        ("FUNC:ARB:SYNC", "SOURce1:FUNCtion:ARBitrary:SYNChronize", None),
        ("OUTP1 ON", "OUTPut1:STATe ON", None),
        ("*TRG", "*TRG", None),
        ("SYST:ERR?", "SYSTem:ERRor:NEXT?", None),
        ("*ESR?", "*ESR?", None),
    ],
    "rigol": [
        ("*CLS", "*CLS", None),
        (":OUTP1 OFF", ":OUTPut1:STATe OFF", None),
        (":OUTP1:LOAD INF", ":OUTPut1:LOAD INFinity", None),
        (":OUTP1?", ":OUTPut1:STATe?", None),
        (":SOUR1:FUNC:ARB:MODE SRAT", ":SOURce1:FUNCtion:ARB:MODE SRATe", None),
        (":SOUR1:TRAC:DATA:DAC16 VOLATILE,CON,", ":SOURce1:TRACe:DATA:DAC16 VOLATILE,CON,", U16),
        (":SOUR1:TRAC:DATA:DAC16 VOLATILE,END,", ":SOURce1:TRACe:DATA:DAC16 VOLATILE,END,", U16),
        (":SOUR1:TRAC:DATA:LOAD? VOLATILE", ":SOURce1:TRACe:DATA:LOAD? VOLATILE", None),
        (":SOUR1:TRAC:DATA:LOAD? 1", ":SOURce1:TRACe:DATA:LOAD? 1", None),
        (":SOUR1:FUNC:ARB:SRAT 2E+06", ":SOURce1:FUNCtion:ARB:SRATe 2E+06", None),
        (":SOUR1:VOLT 3", ":SOURce1:VOLTage:LEVel:IMMediate:AMPLitude 3", None),
        (":SOUR1:VOLT:OFFS 0.5", ":SOURce1:VOLTage:LEVel:IMMediate:OFFSet 0.5", None),
        (":SOUR1:FUNC:ARB:SRAT?", ":SOURce1:FUNCtion:ARB:SRATe?", None),
        (":SOUR1:BURS ON", ":SOURce1:BURSt:STATe ON", None),
        (":SOUR1:BURS:MODE TRIG", ":SOURce1:BURSt:MODE TRIGgered", None),
        (":SOUR1:BURS:NCYC 2", ":SOURce1:BURSt:NCYCles 2", None),
        (":SOUR1:BURS:TRIG:SOUR MAN", ":SOURce1:BURSt:TRIGger:SOURce MANual", None),
        (":OUTP1 ON", ":OUTPut1:STATe ON", None),
        (":SOUR1:BURS:TRIG", ":SOURce1:BURSt:TRIGger:IMMediate", None),
        (":SYST:ERR?", ":SYSTem:ERRor:NEXT?", None),
    ],
    "siglent": [
        ("*CLS", "*CLS", None),
        ("C1:OUTP OFF", "C1:OUTPut OFF", None),
        ("C1:OUTP LOAD,HZ", "C1:OUTPut LOAD,HZ", None),
        ("C1:OUTP?", "C1:OUTPut?", None),
        ("C1:WVDT WVNM,gz,WAVEDATA,", "C1:WaVeDaTa WVNM,gz,WAVEDATA,", I16),
        ("*OPC?", "*OPC?", None),
        ("WVDT? USER,gz", "WaVeDaTa? USER,gz", None),
        ("C1:ARWV NAME,gz", "C1:ARbWaVe NAME,gz", None),
        ("C1:SRATE MODE,TARB,VALUE,1E+06,INTER,HOLD", "C1:SampleRATE MODE,TARB,VALUE,1E+06,INTER,HOLD", None),
        ("C1:BSWV AMP,2", "C1:BaSic_WaVe AMP,2", None),
        ("C1:BSWV OFST,0.5", "C1:BaSic_WaVe OFST,0.5", None),
        ("C1:SRATE?", "C1:SampleRATE?", None),
        ("C1:BTWV STATE,ON", "C1:BursTWaVe STATE,ON", None),
        ("C1:BTWV TRSR,MAN", "C1:BursTWaVe TRSR,MAN", None),
        ("C1:BTWV TIME,5", "C1:BursTWaVe TIME,5", None),
        ("C1:OUTP ON", "C1:OUTPut ON", None),
        ("C1:BTWV MTRIG", "C1:BursTWaVe MTRIG", None),
        ("*ESR?", "*ESR?", None),
    ],
    "tektronix": [
        ("*CLS", "*CLS", None),
        ("AWGC:STOP", "AWGControl:STOP:IMMediate", None),
        ("OUTP1 OFF", "OUTPut1:STATe OFF", None),
        ("WLIS:WAV:LMIN?", "WLISt:WAVeform:LMINimum?", None),
        ("WLIS:WAV:GRAN?", "WLISt:WAVeform:GRANularity?", None),
        ('WLIS:WAV:NEW "rf",8', 'WLISt:WAVeform:NEW "rf",8', None),
        ('WLIS:WAV:DATA "rf",0,8,', 'WLISt:WAVeform:DATA "rf",0,8,', F32),
        ('WLIS:WAV:MARK:DATA "rf",0,8,', 'WLISt:WAVeform:MARKer:DATA "rf",0,8,', M8),
        ("WLIS:LIST?", "WLISt:LIST?", None),
        ('WLIS:WAV:DATA? "rf",0,8', 'WLISt:WAVeform:DATA? "rf",0,8', None),
        ('WLIS:WAV:MARK:DATA? "rf",0,8', 'WLISt:WAVeform:MARKer:DATA? "rf",0,8', None),
        ("SOUR1:DAC:RES 14", "SOURce1:DAC:RESolution 14", None),
        ('SOUR1:CASS:WAV "rf"', 'SOURce1:CASSet:WAVeform "rf"', None),
        ("CLOC:SRAT 1E+06", "CLOCk:SRATe 1E+06", None),
        ("SOUR1:VOLT:AMPL 0.5", "SOURce1:VOLTage:LEVel:IMMediate:AMPLitude 0.5", None),
        ("CLOC:SRAT?", "CLOCk:SRATe?", None),
        ("SOUR1:RMOD TRIG", "SOURce1:RMODe TRIGgered", None),
        ("SOUR1:TINP ATR", "SOURce1:TINPut ATRigger", None),
        ("OUTP1 ON", "OUTPut1:STATe ON", None),
        ("OUTP1?", "OUTPut1:STATe?", None),
        ("AWGC:RUN:IMM", "AWGControl:RUN:IMMediate", None),
        ("TRIG:IMM ATR", "TRIGger:SEQuence:IMMediate ATRigger", None),
        ('WLIS:WAV:DEL "rf"', 'WLISt:WAVeform:DELete "rf"', None),
        ("SYST:ERR?", "SYSTem:ERRor:NEXT?", None),
    ],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_driver_conversation_in_short_and_long_form_gives_the_same_instrument(family: str) -> None:
    make = FAMILIES[family][1]
    script = SCRIPTS[family]
    short_answers, short_state = _run(make, script, 0)
    long_answers, long_state = _run(make, script, 1)
    assert short_answers == long_answers
    assert short_state == long_state
    assert sum(a is not None for a in short_answers) >= 3  # the queries were answered
    # and lower case works as well as upper case
    lower = [(s.lower() if b is None else s, s, b) for s, _, b in script]
    lower_answers, lower_state = _run(make, lower, 0)
    assert lower_state == short_state and len(lower_answers) == len(short_answers)


def test_the_conversations_really_change_the_state() -> None:
    """Guard against a script that does nothing (then both forms would trivially agree)."""
    k = KeysightPersonality("33522B")
    for s, _, b in SCRIPTS["keysight"]:
        k.message(s, b)
    assert k.ch[1].output and k.ch[1].function == "ARB" and k.ch[1].srate_hz == 1e6 and k.ch[1].triggers == 1
    t = TektronixPersonality("AWG5204")
    for s, _, b in SCRIPTS["tektronix"]:
        t.message(s, b)
    assert t.running and t.triggers == 1 and t.ch[1].resolution == 14 and "rf" not in t.waves


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_tree_entry_answers_to_its_long_and_short_form(family: str) -> None:
    """Each command of a family's table is found from its full long form and its shortest form (no
    optional nodes), and no other entry shadows it."""
    inst = FAMILIES[family][1]()
    for cmd, nodes in inst.tree.entries:
        long = [n.long + ("2" if n.suffix else "") for n in nodes]
        short = [n.short + ("2" if n.suffix else "") for n in nodes if not n.optional]
        for tokens in (long, short):
            found = inst.tree.find(tokens)
            assert found is not None and found[0] is cmd, f"{family}: {':'.join(tokens)} -> {found}"
