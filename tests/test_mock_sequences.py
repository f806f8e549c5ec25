"""Arb sequences in the emulators: Keysight ``DATA:SEQuence`` and Tektronix ``SLISt``, with the manuals' limits.

Each emulator expands what a channel plays step by step, sample by sample; the tests compare that with
the waveform the sequence stands for, built here independently.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from wavegen.drivers.mock.keysight import SEQUENCE_LIMITS, KeysightPersonality, keysight_emulator
from wavegen.drivers.mock.server import ScpiEmulator
from wavegen.drivers.mock.tektronix import MAX_REPEAT, MAX_STEPS, TektronixPersonality
from wavegen.drivers.scpi import ScpiSession
from wavegen.drivers.transport import open_visa


def _codes(inst: KeysightPersonality) -> list[int]:
    out = [c for c, _ in inst.errors]
    inst.errors.clear()
    return out


def _ask(inst: object, text: str) -> str:
    ans = inst.message(text)  # type: ignore[attr-defined]
    assert ans is not None, text
    return ans.decode().rstrip("\n")


def _seq_block(name: str, *steps: tuple[str, int, str, str, int]) -> bytes:
    fields = [f'"{name}"'] + [f'"{a}",{r},{p},{m},{k}' for a, r, p, m, k in steps]
    return ",".join(fields).encode()


@pytest.fixture
def ks() -> KeysightPersonality:
    k = KeysightPersonality("33522B")
    k.message("FORM:BORD SWAP")
    rng = np.random.default_rng(3)
    for name, n in (("A", 16), ("B", 8), ("C", 24)):
        k.message(f"SOUR1:DATA:ARB:DAC {name},", rng.integers(-32767, 32768, n).astype("<i2").tobytes())
    assert k.errors == []
    return k


def test_keysight_sequence_expands_sample_by_sample(ks: KeysightPersonality) -> None:
    a, b, c = (ks.ch[1].arbs[n].copy() for n in "ABC")
    ks.message(
        "SOURce1:DATA:SEQuence ",
        _seq_block("seqA", ("A", 3, "repeat", "maintain", 4), ("INT:\\B.arb", 1, "once", "highAtStart", 5),
                   ("C", 0, "onceWaitTrig", "lowAtStart", 20)),  # fmt: skip
    )
    ks.message('SOUR1:FUNC:ARB "seqA"')
    ks.message("SOUR1:FUNC ARB")
    assert _codes(ks) == []
    expected = np.concatenate([a, a, a, b, c])
    assert np.array_equal(ks.output_codes(1), expected)
    assert _ask(ks, "SOUR1:FUNC:ARB:POIN?") == str(expected.size)
    assert _ask(ks, "SOUR1:FUNC:ARB?") == '"SEQA"'
    assert _ask(ks, "DATA:VOL:CAT?") == '"A","B","C","SEQA"'
    # the segments are used, not copied: memory holds the three arbs only
    assert _ask(ks, "DATA:VOL:FREE?") == f"{ks.max_points - 48},48"
    steps = [(s.arb, s.repeat, s.play) for s in ks.ch[1].sequences["SEQA"]]
    assert steps == [("A", 3, "repeat"), ("B", 1, "once"), ("C", 0, "onceWaitTrig")]


def test_keysight_repeat_forever_ends_the_pass(ks: KeysightPersonality) -> None:
    a, b = ks.ch[1].arbs["A"], ks.ch[1].arbs["B"]
    ks.message("DATA:SEQ ", _seq_block("inf", ("B", 1, "once", "maintain", 4), ("A", 1, "repeatInf", "maintain", 4),
                                      ("C", 1, "once", "maintain", 4)))  # fmt: skip
    ks.message("FUNC:ARB inf;:FUNC ARB")  # ;: back to the root
    assert np.array_equal(ks.output_codes(1, infinite_repeats=3), np.concatenate([b, a, a, a]))


@pytest.mark.parametrize(
    "steps, code",
    [
        ([("A", SEQUENCE_LIMITS["max_repeat"] + 1, "repeat", "maintain", 4)], -222),
        ([("A", 0, "repeat", "maintain", 4)], -222),
        ([("A", 1, "once", "maintain", 2)], -222),  # marker point 4..points-3
        ([("A", 1, "once", "maintain", 14)], -222),
        ([("NOPE", 1, "once", "maintain", 4)], -224),  # not in volatile memory
        ([("A", 1, "sometimes", "maintain", 4)], -224),
        ([("A", 1, "once", "blink", 4)], -224),
        ([("A", 1, "once", "maintain", 4)] * (SEQUENCE_LIMITS["max_steps"] + 1), -223),
    ],
)
def test_keysight_sequence_limits(
    ks: KeysightPersonality, steps: list[tuple[str, int, str, str, int]], code: int
) -> None:
    ks.message("DATA:SEQ ", _seq_block("bad", *steps))
    assert _codes(ks) == [code] and ks.ch[1].sequences == {}


def test_keysight_sequence_at_the_limits_and_refusals(ks: KeysightPersonality) -> None:
    steps = [("A", SEQUENCE_LIMITS["max_repeat"], "repeat", "maintain", 13)] + [("B", 1, "once", "maintain", 4)] * (
        SEQUENCE_LIMITS["max_steps"] - 1
    )
    ks.message("DATA:SEQ ", _seq_block("big", *steps))
    assert _codes(ks) == [] and len(ks.ch[1].sequences["BIG"]) == SEQUENCE_LIMITS["max_steps"]
    ks.message('DATA:SEQ "x","A",1,once,maintain,4')  # decimal, not a block
    ks.message("DATA:SEQ ", b'"A","B",1,once,maintain,4')  # the name of an arb
    ks.message("DATA:SEQ ", b'"y","B",1,once')  # incomplete step
    assert _codes(ks) == [-104, -221, -109]
    ks.message("DATA:VOL:CLE")
    assert ks.ch[1].sequences == {} and ks.ch[1].arbs == {}


@pytest.fixture
def emu() -> Iterator[ScpiEmulator]:
    with keysight_emulator("33522B") as e:
        yield e


def test_keysight_sequence_over_loopback(emu: ScpiEmulator) -> None:
    res = open_visa(emu.address, timeout_s=2.0)
    try:
        s = ScpiSession(res, timeout_s=2.0)
        s.write("FORM:BORD SWAP")
        seg = {n: (np.arange(32) * (k + 1) - 500).astype("<i2") for k, n in enumerate(("rise", "flat"))}
        for n, v in seg.items():
            s.write_block(f"SOUR2:DATA:ARB:DAC {n},", v)
        desc = _seq_block("tr.seq", ("rise", 2, "repeat", "maintain", 4), ("flat", 1, "repeatTilTrig", "maintain", 4))
        s.write_block("SOUR2:DATA:SEQ ", desc)
        s.write('SOUR2:FUNC:ARB "tr.seq";:SOUR2:FUNC ARB;:OUTP2 ON')
        s.opc()
        assert s.drain_errors() == []
        p = emu.personality
        rate, volts = p.output_volts(2)
        expected = np.concatenate([seg["rise"], seg["rise"], seg["flat"]])
        assert np.array_equal(p.output_codes(2), expected)
        assert np.allclose(volts, expected / 32767 * p.ch[2].vpp / 2)
    finally:
        res.close()


# -- Tektronix


@pytest.fixture
def tek() -> TektronixPersonality:
    t = TektronixPersonality("AWG5204", lmin=2400, gran=8)  # a stricter instrument than the defaults
    assert _ask(t, "WLIS:WAV:LMIN?") == "2400" and _ask(t, "WLIS:WAV:GRAN?") == "8"
    rng = np.random.default_rng(5)
    for name, size in (("a", 2400), ("b", 2408), ("short", 2392), ("odd", 2404)):
        t.message(f'WLIS:WAV:NEW "{name}",{size}')
        t.message(f'WLIS:WAV:DATA "{name}",0,{size},', rng.uniform(-1, 1, size).astype("<f4").tobytes())
    assert t.errors == []
    return t


def test_tek_sequence_list_expands_sample_by_sample(tek: TektronixPersonality) -> None:
    a, b = tek.waves["a"].data, tek.waves["b"].data
    for cmd in (
        'SLISt:SEQuence:NEW "s",4,2',
        'SLISt:SEQuence:STEP1:TASSet1:WAVeform "s","a"',
        'SLIS:SEQ:STEP1:RCO "s",4',
        'SLIS:SEQ:STEP2:TASS1:WAV "s","b"',
        'SLIS:SEQ:STEP2:GOTO "s",4',  # skips step 3
        'SLIS:SEQ:STEP3:TASS1:WAV "s","a"',
        'SLIS:SEQ:STEP4:TASS1:WAV "s","b"',
        'SLIS:SEQ:STEP4:WINP "s",ATR',
        'SLIS:SEQ:STEP4:RCO "s",ONCE',
    ):
        tek.message(cmd)
    for k in range(1, 5):
        tek.message(f'SLIS:SEQ:STEP{k}:TASS2:WAV "s","a"')
    tek.message('SOURce2:CASSet:SEQuence "s",1')
    tek.message('SOUR3:CASS:SEQ "s",2')
    assert tek.errors == []
    assert np.array_equal(tek.output_samples(2), np.concatenate([a, a, a, a, b, b]))
    assert np.array_equal(tek.output_samples(3), np.concatenate([a, a, a, a, a, a]))
    assert _ask(tek, 'SLIS:SEQ:STEP1:RCO? "s"') == "4" and _ask(tek, 'SLIS:SEQ:STEP4:RCO? "s"') == "ONCE"
    assert _ask(tek, 'SLIS:SEQ:STEP2:GOTO? "s"') == "4" and _ask(tek, 'SLIS:SEQ:STEP4:WINP? "s"') == "ATR"
    assert _ask(tek, 'SLIS:SEQ:STEP2:TASS1:WAV? "s"') == '"b"'
    assert _ask(tek, 'SLIS:SEQ:LENG? "s"') == "4" and _ask(tek, 'SLIS:SEQ:TRAC? "s"') == "2"
    assert _ask(tek, "SLIS:SIZE?") == "1" and _ask(tek, "SLIS:NAME? 1") == '"s"'
    assert _ask(tek, "SOUR2:CASS:TYPE?") == "SEQ" and _ask(tek, "SOUR2:CASS?") == '"s,1"'
    assert _ask(tek, "SLIS:SEQ:STEP:MAX?") == str(MAX_STEPS) and _ask(tek, "SLIS:SEQ:STEP:RCO:MAX?") == str(MAX_REPEAT)
    tek.message('SLIS:SEQ:STEP1:RCO "s",INF')
    assert np.array_equal(tek.output_samples(2, infinite_repeats=2), np.concatenate([a, a]))
    tek.message('SLIS:SEQ:DEL "s"')
    assert tek.ch[2].sequence is None and tek.sequences == {}


def test_tek_sequence_limits(tek: TektronixPersonality) -> None:
    tek.message(f'SLIS:SEQ:NEW "big",{MAX_STEPS + 1}')
    tek.message('SLIS:SEQ:NEW "s",2,5')  # AWG5204: four tracks
    tek.message('SLIS:SEQ:NEW "s",2')
    tek.message(f'SLIS:SEQ:STEP1:RCO "s",{MAX_REPEAT + 1}')
    tek.message('SLIS:SEQ:STEP1:TASS1:WAV "s","short"')  # below WLIS:WAV:LMIN?
    tek.message('SLIS:SEQ:STEP1:TASS1:WAV "s","odd"')  # not a multiple of WLIS:WAV:GRAN?
    tek.message('SOUR1:CASS:WAV "odd"')
    tek.message('SLIS:SEQ:STEP1:TASS1:WAV "s","none"')
    tek.message('SLIS:SEQ:STEP3:TASS1:WAV "s","a"')  # two steps only
    tek.message('SLIS:SEQ:STEP1:TASS2:WAV "s","a"')  # one track
    tek.message('SLIS:SEQ:STEP1:GOTO "s",7')
    tek.message('SOUR1:CASS:SEQ "s",1')  # steps without waveforms
    tek.message('SOUR1:CASS:SEQ "nope",1')
    assert [c for c, _ in tek.errors] == [-222, -222, -222, -222, -222, -222, -224, -222, -222, -222, -221, -224]
    tek.errors.clear()
    tek.message(f'SLIS:SEQ:STEP1:RCO "s",{MAX_REPEAT}')
    tek.message(f'SLIS:SEQ:NEW "max",{MAX_STEPS}')
    assert tek.errors == [] and len(tek.sequences["max"].steps) == MAX_STEPS
    assert _ask(tek, "WLIS:WAV:LMIN?") == str(tek.lmin) and _ask(tek, "WLIS:WAV:GRAN?") == str(tek.gran)
