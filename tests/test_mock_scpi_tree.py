"""The SCPI command-tree engine under every emulator: headers, compound messages, parameters, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from wavegen.drivers.mock.keysight import KeysightPersonality
from wavegen.drivers.mock.scpi_tree import (
    SYSTEM_ERROR_COMMANDS,
    Boolean,
    Choice,
    Cmd,
    CommandTree,
    Integer,
    Number,
    ScpiInstrument,
    Text,
    mnemonic_forms,
    split_params,
    split_units,
)
from wavegen.drivers.mock.siglent import SiglentPersonality


class _Chan:
    def __init__(self) -> None:
        self.function = "SIN"
        self.freq_hz = 1e3
        self.output = False
        self.count = 1


class Toy(ScpiInstrument):
    """A two-channel instrument declared as a table, to test the engine alone."""

    n_channels = 2
    COMMANDS = (
        *SYSTEM_ERROR_COMMANDS,
        Cmd("[SOURce#:]FUNCtion[:SHAPe]", (Choice("SINusoid", "SQUare", "ARBitrary"),), attr="function"),
        Cmd("[SOURce#:]FREQuency[:CW]", (Number(1e-3, 1e6, 1e3, unit="HZ"),), attr="freq_hz"),
        Cmd("[SOURce#:]BURSt:NCYCles", (Integer(1, 100, 1, specials=(("INFinity", math.inf),)),), attr="count"),
        Cmd("OUTPut#[:STATe]", (Boolean(),), attr="output"),
        Cmd("SYSTem:NAME", (Text(),), attr="name", scope="instrument"),
    )

    def __init__(self) -> None:
        super().__init__("ACME,TOY,1,1.0")
        self.reset()

    def reset(self) -> None:
        self.ch = {1: _Chan(), 2: _Chan()}
        self.name = "toy"


def ask(inst: ScpiInstrument, text: str) -> str | None:
    ans = inst.message(text)
    return None if ans is None else ans.decode().rstrip("\n")


def codes(inst: ScpiInstrument) -> list[int]:
    out = [c for c, _ in inst.errors]
    inst.errors.clear()
    return out


def test_mnemonic_forms_long_short_and_siglent_style() -> None:
    assert mnemonic_forms("FUNCtion") == ("FUNCTION", "FUNC")
    assert mnemonic_forms("BaSic_WaVe") == ("BASIC_WAVE", "BSWV")
    assert mnemonic_forms("DAC16") == ("DAC16", "DAC16")


@pytest.mark.parametrize(
    "header", ["SOURce2:FUNCtion", "SOUR2:FUNC", "sour2:func", ":SOURCE2:FUNCTION:SHAPE", "SOUR2:FUNC:SHAP"]
)
def test_long_short_case_and_optional_nodes(header: str) -> None:
    t = Toy()
    t.message(f"{header} SQUare")
    assert t.ch[2].function == "SQU" and t.ch[1].function == "SIN"
    assert ask(t, f"{header}?") == "SQU"
    assert codes(t) == []


def test_omitted_optional_suffix_is_one_and_in_between_forms_are_undefined() -> None:
    t = Toy()
    t.message("FUNC squ")
    assert t.ch[1].function == "SQU"
    t.message("SOURC1:FUNC SIN")  # neither long nor short
    t.message("SOUR1:FUNCT SIN")
    assert codes(t) == [-113, -113]
    t.message("SOUR3:FUNC SIN")  # two channels only
    t.message("OUTP0 ON")
    assert codes(t) == [-114, -114]


def test_numbers_units_min_max_def_and_range() -> None:
    t = Toy()
    t.message("FREQ 2.5 kHz")
    assert t.ch[1].freq_hz == 2500.0
    t.message("FREQ 1MHZ")  # MHZ is mega in SCPI (SCPI-99 7.7.3)
    assert t.ch[1].freq_hz == 1e6
    t.message("FREQ MIN")
    assert t.ch[1].freq_hz == 1e-3
    t.message("FREQ def")
    assert t.ch[1].freq_hz == 1e3
    assert float(ask(t, "FREQ? MAX") or "nan") == 1e6
    assert float(ask(t, "FREQ? MINimum") or "nan") == 1e-3
    t.message("FREQ 2e6")
    t.message("FREQ fast")
    t.message("FREQ 10 V")
    assert codes(t) == [-222, -104, -131]
    assert t.ch[1].freq_hz == 1e3


def test_booleans_integers_and_infinity() -> None:
    t = Toy()
    t.message("OUTP2 ON")
    assert t.ch[2].output and ask(t, "OUTP2?") == "1" and ask(t, "OUTPut2:STATe?") == "1"
    t.message("OUTP2 0")
    assert not t.ch[2].output
    t.message("OUTP2 maybe")
    assert codes(t) == [-224]
    t.message("BURS:NCYC 7.6")  # <NR1> rounds
    assert t.ch[1].count == 8
    t.message("BURS:NCYC INF")
    assert t.ch[1].count == math.inf and ask(t, "BURS:NCYC?") == "+9.900000000000000E+37"


def test_parameter_count_errors() -> None:
    t = Toy()
    t.message("FUNC")
    t.message("FUNC SIN,SQU")
    t.message("FREQ? 1,2")
    t.message("SYST:ERR:COUN 3")
    assert codes(t) == [-109, -108, -108, -113]


def test_compound_messages_keep_the_path_and_join_answers() -> None:
    t = Toy()
    # the second unit continues below SOURce2 (SCPI-99 6.2.4); ;: goes back to the root
    t.message("SOUR2:FUNC SQU;FREQ 5e3;:OUTP1 ON")
    assert t.ch[2].function == "SQU" and t.ch[2].freq_hz == 5e3 and t.ch[1].output
    assert ask(t, "SOUR2:FUNC?;FREQ?;*OPC?;:OUTP1?") == "SQU;+5.000000000000000E+03;1;1"
    t.message("OUTP1 OFF;FUNC SQU")  # a relative header after OUTP1 is looked up at the root path: FUNC
    assert t.ch[1].function == "SQU"
    t.message("SOUR2:FREQ 10;OUTP1 ON")  # relative to SOUR2: there is no SOUR2:OUTP1
    assert codes(t) == [-113] and not t.ch[1].output


def test_strings_with_separators_stay_whole() -> None:
    assert split_units('SYST:NAME "a;b,c";*OPC?') == ['SYST:NAME "a;b,c"', "*OPC?"]
    assert split_params('"x,y", 3, \'q;r\',') == ['"x,y"', "3", "'q;r'"]
    t = Toy()
    t.message('SYST:NAME "a;b"";c"')
    assert t.name == 'a;b";c' and codes(t) == []


def test_common_commands_and_status_registers() -> None:
    t = Toy()
    assert ask(t, "*IDN?") == "ACME,TOY,1,1.0"
    assert ask(t, "*TST?") == "0" and ask(t, "*OPC?") == "1" and ask(t, "*OPT?") == "0"
    assert t.message("*WAI") is None
    t.message("*ESE 60")
    assert ask(t, "*ESE?") == "60"
    t.message("BOGUS")  # command error: ESR bit 5
    t.message("FREQ 1e9")  # execution error: ESR bit 4
    assert ask(t, "*STB?") == str(4 | 32)  # error queue not empty, event summary
    t.message("*OPC")
    assert ask(t, "*ESR?") == str(32 | 16 | 1) and ask(t, "*ESR?") == "0"  # read and clear
    assert ask(t, "SYST:ERR?") == '-113,"Undefined header;BOGUS"'
    assert ask(t, "SYSTem:ERRor:NEXT?").startswith("-222,")
    assert ask(t, "SYST:ERR?") == '+0,"No error"'
    t.message("*ESE 300")
    t.message("*IDN")  # no command form
    assert codes(t) == [-222, -113]
    t.message("FUNC SQU")
    t.message("*RST")
    assert t.ch[1].function == "SIN"
    t.message("BOGUS")
    t.message("*CLS")
    assert t.errors == [] and ask(t, "*ESR?") == "0"


def test_error_queue_overflow_replaces_the_last_entry() -> None:
    t = Toy()
    for _ in range(25):
        t.message("BOGUS")
    assert len(t.errors) == t.error_queue_depth and t.errors[-1] == (-350, "Queue overflow")
    assert ask(t, "SYST:ERR:COUN?") == str(t.error_queue_depth)


def test_syntax_errors() -> None:
    t = Toy()
    t.message("FREQ? 5 6 7")
    t.message("SYST:NAME 'unterminated")
    t.message("SOUR1::FUNC SIN")
    assert codes(t) == [-108, -151, -102]


def test_tree_finds_the_entry_and_rejects_a_bad_pattern() -> None:
    tree = CommandTree([Cmd("A:B[:C]"), Cmd("A:B:D")])
    found = tree.find(["A", "B", "D"])
    assert found is not None and found[0].pattern == "A:B:D"
    assert tree.find(["A", "C"]) is None
    with pytest.raises(ValueError, match="bad command pattern"):
        CommandTree([Cmd("A:[B")])


def test_keysight_queries_for_every_setting_and_min_max() -> None:
    k = KeysightPersonality("33522B")
    k.message("SOURce1:FUNCtion:ARBitrary:SRATe MAXimum")
    assert k.ch[1].srate_hz == 250e6
    assert ask(k, "SOUR1:FUNC:ARB:SRAT? MIN") == "+1.000000000000000E-06"
    k.message("OUTPut1:LOAD INFinity;:SOURce1:VOLTage 12")
    assert math.isinf(k.ch[1].load) and k.ch[1].vpp == 12.0
    assert ask(k, "OUTP1:LOAD?") == "+9.900000000000000E+37"
    for q in ("FUNC?", "FREQ?", "VOLT?", "VOLT:OFFS?", "VOLT:HIGH?", "VOLT:LOW?", "VOLT:UNIT?", "PHAS?",
              "FUNC:ARB:FILT?", "FUNC:ARB:ADV?", "OUTP1?", "OUTP1:POL?", "TRIG1:SOUR?", "TRIG1:SLOP?",
              "TRIG1:DEL?", "BURS:STAT?", "BURS:MODE?", "BURS:NCYC?", "BURS:INT:PER?", "FORM:BORD?"):  # fmt: skip
        assert ask(k, q), q
    assert codes(k) == []


def test_keysight_decimal_and_float_arb_forms() -> None:
    k = KeysightPersonality("33522B")
    k.message("DATA:ARB:DAC dec, 1, -2, 3, -4, 32767, -32767, 0, 0")
    k.message("SOUR2:DATA:ARB flt, 0, 0.5, -0.5, 1, -1, 0.25, 0, 0")
    assert k.ch[1].arbs["DEC"].tolist() == [1, -2, 3, -4, 32767, -32767, 0, 0]
    assert k.ch[2].arbs["FLT"].tolist() == np.rint(np.array([0, 0.5, -0.5, 1, -1, 0.25, 0, 0]) * 32767).tolist()
    k.message("DATA:ARB bad, 0, 1.5, 0, 0, 0, 0, 0, 0")
    k.message("DATA:ARB:DAC bad, 0, 40000, 0, 0, 0, 0, 0, 0")
    k.message("DATA:ARB:DAC bad, 0, x, 0, 0, 0, 0, 0, 0")
    assert codes(k) == [-222, -222, -104]
    k.message("FORM:BORD SWAP")
    k.message("DATA:ARB fb,", np.linspace(-1, 1, 8).astype("<f4").tobytes())
    assert k.ch[1].arbs["FB"].tolist() == np.rint(np.linspace(-1, 1, 8).astype(np.float32) * 32767.0).tolist()
    assert ask(k, "DATA:VOL:CAT?") == '"DEC","FB"' and ask(k, "DATA:ATTR:POIN? dec") == "8"


def test_siglent_is_silent_to_unknown_headers_and_has_no_syst_err() -> None:
    s = SiglentPersonality("SDG1062X")
    assert s.message("SYST:ERR?") is None
    assert s.message("C1:FOO?") is None
    assert s.message("*TST?") is None
    assert [c for c, _ in s.errors] == [-113, -113, -113]
    assert s.message("*ESR?") == b"32\n"  # command error bit
    assert s.message("C1:BaSic_WaVe?") == s.message("c1:bswv?")
