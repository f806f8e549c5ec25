"""A SCPI command-tree engine: every instrument emulator declares its commands as data and runs on this.

A family lists its commands in the manual's notation, e.g. ``"[SOURce#:]FUNCtion[:SHAPe]"``, with the
parameter types, their limits and the state each command sets (:class:`Cmd`). The engine then gives every
emulator the same SCPI behaviour (SCPI-99 vol. 1 ch. 6-7, IEEE 488.2-1992 ch. 7-8 and 10-11):

- **Headers.** Long and short forms (``SOURce1:FUNCtion`` == ``SOUR1:FUNC`` == ``sour1:func``), nothing in
  between (``SOURC`` is undefined), case-insensitive; optional nodes in brackets (``[SOURce#:]``,
  ``[:STATe]``, ``[:IMMediate]``); numeric suffixes where the notation has ``#`` (default 1); a leading
  ``:`` for the root. The short form is the upper-case letters of the mnemonic, which also covers
  Siglent's ``BaSic_WaVe`` (short ``BSWV``, long ``BASIC_WAVE``).
- **Compound messages.** Units separated by ``;``: a unit without a leading ``:`` or ``*`` continues from
  the path of the previous header (``SOUR1:VOLT 1;VOLT:OFFS 0`` sets ``SOUR1:VOLT:OFFS``); ``;:`` goes
  back to the root; common commands leave the path alone. Answers of several queries in one message
  come back in one response message joined by ``;``.
- **Parameters.** Decimal numbers with optional SI-prefixed units (``1 MHZ``, ``100mV``), ``MINimum``,
  ``MAXimum``, ``DEFault`` (also as a query argument: ``SOUR1:FUNC:ARB:SRAT? MAX``), booleans (``ON``,
  ``OFF``, ``1``, ``0``), character data in long or short form, quoted strings, definite-length blocks
  ``#<n><len><bytes>`` and comma-separated decimal lists.
- **Every setting has its query** (``SOURce1:FUNCtion?``) answered from the emulator's state.
- **IEEE 488.2 common commands** ``*RST *CLS *ESE *ESE? *ESR? *OPC *OPC? *WAI *TST? *IDN? *OPT? *SRE
  *SRE? *STB? *TRG``, with the standard event status register fed by the errors (bit 5 command error,
  bit 4 execution error, bit 3 device-dependent error, bit 2 query error, bit 0 operation complete).
- **Error queue** with the standard codes (:data:`STANDARD_ERRORS`): -100 command error, -102 syntax,
  -104 data type, -108 parameter not allowed, -109 missing parameter, -113 undefined header, -114 header
  suffix out of range, -161 invalid block data, -220 parameter error, -221 settings conflict, -222 data
  out of range, -223 too much data, -224 illegal parameter value, -350 queue overflow (the last entry
  is replaced, SCPI-99 21.8.2), ... ``SYSTem:ERRor[:NEXT]?`` is a command of the tree like any other
  (:data:`SYSTEM_ERROR_COMMANDS`), so a family whose instrument lacks it simply does not list it.
- **Silence.** A family with :attr:`ScpiInstrument.silent_unknown` set answers nothing to an unknown
  command or query, which is how the Siglent SDG1000X behaves (it has no ``SYST:ERR?`` either).

-410 "Query INTERRUPTED" and -420 "Query UNTERMINATED" are in the table but never raised: on a raw socket
the instrument hands its answer to TCP at once, so it cannot tell whether the controller read it.

:class:`Faults` injects failures per program message unit (a silent instrument, a disconnect in the
middle of an upload, error-queue entries, a wrong ``*IDN?``, corrupted readback, a slow instrument).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STANDARD_ERRORS",
    "SYSTEM_ERROR_COMMANDS",
    "Block",
    "Boolean",
    "Choice",
    "Cmd",
    "CommandTree",
    "Context",
    "Faults",
    "Integer",
    "Number",
    "Pairs",
    "Param",
    "Rest",
    "ScpiCommandError",
    "ScpiInstrument",
    "Text",
    "split_units",
]

logger = logging.getLogger(__name__)

#: SCPI-99 vol. 2 ch. 21 / IEEE 488.2 ch. 11 error numbers and their standard messages.
STANDARD_ERRORS: dict[int, str] = {
    0: "No error",
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -103: "Invalid separator",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -120: "Numeric data error",
    -131: "Invalid suffix",
    -141: "Invalid character data",
    -151: "Invalid string data",
    -161: "Invalid block data",
    -200: "Execution error",
    -220: "Parameter error",
    -221: "Settings conflict",
    -222: "Data out of range",
    -223: "Too much data",
    -224: "Illegal parameter value",
    -241: "Hardware missing",
    -256: "File name not found",
    -300: "Device-specific error",
    -350: "Queue overflow",
    -363: "Input buffer overrun",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
    -440: "Query UNTERMINATED after indefinite response",
}

# standard event status register bits (IEEE 488.2 11.5.1)
ESR_OPC, ESR_QYE, ESR_DDE, ESR_EXE, ESR_CME = 1, 4, 8, 16, 32


class ScpiCommandError(Exception):
    """Raised by a handler or parameter parser: the engine queues ``code,"message[;detail]"``."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        base = STANDARD_ERRORS.get(code, "Device-specific error")
        self.text = f"{base};{detail}" if detail else base
        super().__init__(f"{code},{self.text}")


# ------------------------------------------------------------------------------------------------
# parameter types


_NUM_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z%/]*)\s*$")
_PREFIX = {"EX": 1e18, "PE": 1e15, "T": 1e12, "G": 1e9, "MA": 1e6, "K": 1e3, "M": 1e-3, "U": 1e-6, "N": 1e-9,
           "P": 1e-12, "F": 1e-15, "A": 1e-18}  # fmt: skip


def mnemonic_forms(mnemonic: str) -> tuple[str, str]:
    """(long, short) of a mnemonic in manual notation: ``"FUNCtion"`` -> (``FUNCTION``, ``FUNC``)."""
    short = "".join(ch for ch in mnemonic if ch.isupper() or ch.isdigit() or ch == "*")
    return mnemonic.upper(), short or mnemonic.upper()


def _limit(value: float | str | Callable[..., float] | None, ctx: Context) -> float | None:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str):  # an attribute of the instrument (model-dependent limits)
        return float(getattr(ctx.instrument, value))
    return float(value(ctx))


class Param:
    """A parameter type: parses the text of one parameter, formats a value for a query answer."""

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> Any:
        raise NotImplementedError

    def format(self, value: Any, ctx: Context) -> str:
        return str(value)


@dataclass(frozen=True)
class Number(Param):
    """A decimal number in ``[lo, hi]`` (limits may name an instrument attribute or be callables).

    ``MINimum``/``MAXimum``/``DEFault`` give ``lo``/``hi``/``default``; ``specials`` maps extra character
    data (``{"INFinity": math.inf}``); ``unit`` is the base unit accepted as a suffix (``"HZ"``, ``"V"``).
    """

    lo: float | str | Callable[..., float] | None = None
    hi: float | str | Callable[..., float] | None = None
    default: float | str | Callable[..., float] | None = None
    unit: str = ""
    specials: tuple[tuple[str, float], ...] = ()
    fmt: str | None = None

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> float:
        if not isinstance(text, str):
            raise ScpiCommandError(-104, "block where a number is expected")
        up = text.strip().upper()
        for name, val in (("MINimum", self.lo), ("MAXimum", self.hi), ("DEFault", self.default)):
            if up in mnemonic_forms(name):
                got = _limit(val, ctx)
                if got is None:
                    raise ScpiCommandError(-224, f"{name} not defined here")
                return got
        for name, sval in self.specials:
            if up in mnemonic_forms(name):
                return sval
        m = _NUM_RE.match(up)
        if not m:
            raise ScpiCommandError(-104, f"{text.strip()!r} is not a number")
        value = float(m.group(1))
        suffix = m.group(2)
        if suffix:
            value *= self._scale(suffix)
        lo, hi = _limit(self.lo, ctx), _limit(self.hi, ctx)
        if math.isnan(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"{value:g} outside {lo:g}..{hi:g}" if lo is not None and hi is not None else f"{value:g}"
            raise ScpiCommandError(-222, span)
        return value

    def _scale(self, suffix: str) -> float:
        unit = self.unit.upper()
        if not unit:
            raise ScpiCommandError(-131)
        if suffix == unit:
            return 1.0
        if unit in ("HZ", "OHM") and suffix == "M" + unit:  # MHZ and MOHM are mega (SCPI-99 7.7.3)
            return 1e6
        if suffix.endswith(unit) and suffix[: -len(unit)] in _PREFIX:
            return _PREFIX[suffix[: -len(unit)]]
        raise ScpiCommandError(-131, suffix)

    def format(self, value: Any, ctx: Context) -> str:
        v = float(value)
        fmt = self.fmt or ctx.instrument.number_format
        if math.isinf(v):  # SCPI-99 7.2.1.5: infinity is answered as 9.9E+37
            return fmt.format(math.copysign(9.9, v)).replace("E+00", "E+37")
        return fmt.format(v)


@dataclass(frozen=True)
class Integer(Number):
    """A whole number (<NR1>; a decimal value is rounded, IEEE 488.2 7.7.2.4)."""

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> int | float:
        v = super().parse(text, ctx)
        return v if math.isinf(v) else int(round(v))

    def format(self, value: Any, ctx: Context) -> str:
        if isinstance(value, float) and math.isinf(value):
            return super().format(value, ctx)
        return str(int(value))


@dataclass(frozen=True)
class Boolean(Param):
    """``ON|OFF|1|0`` (any number: non-zero is on). Answers ``1``/``0`` unless ``answers`` says otherwise."""

    answers: tuple[str, str] = ("1", "0")

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> bool:
        if not isinstance(text, str):
            raise ScpiCommandError(-104)
        up = text.strip().upper()
        if up == "ON":
            return True
        if up == "OFF":
            return False
        m = _NUM_RE.match(up)
        if m and not m.group(2):
            return round(float(m.group(1))) != 0
        raise ScpiCommandError(-224, f"{text.strip()!r} is not ON, OFF, 1 or 0")

    def format(self, value: Any, ctx: Context) -> str:
        return self.answers[0] if value else self.answers[1]


class Choice(Param):
    """Character data from a list of mnemonics (long or short form); the value is the short form."""

    def __init__(self, *mnemonics: str, quoted_ok: bool = False) -> None:
        self.mnemonics = mnemonics
        self.quoted_ok = quoted_ok
        self._forms = {}
        for mn in mnemonics:
            long, short = mnemonic_forms(mn)
            self._forms[long] = short
            self._forms[short] = short

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> str:
        if not isinstance(text, str):
            raise ScpiCommandError(-104)
        up = text.strip().upper()
        if self.quoted_ok:
            up = up.strip("\"'")
        got = self._forms.get(up)
        if got is None:
            raise ScpiCommandError(-224, f"{text.strip()!r} not in {'|'.join(self.mnemonics)}")
        return got

    def __repr__(self) -> str:
        return f"Choice{self.mnemonics!r}"


@dataclass(frozen=True)
class Text(Param):
    """A string: quoted (``"..."`` or ``'...'``, doubled quotes inside) or bare character data."""

    upper: bool = False
    max_len: int | None = None
    quote_answer: bool = True

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> str:
        if not isinstance(text, str):
            raise ScpiCommandError(-104)
        t = text.strip()
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
            t = t[1:-1].replace(t[0] * 2, t[0])
        elif t[:1] in ("'", '"'):
            raise ScpiCommandError(-151, "unterminated string")
        if self.max_len is not None and len(t) > self.max_len:
            raise ScpiCommandError(-224, f"{t!r} longer than {self.max_len} characters")
        return t.upper() if self.upper else t

    def format(self, value: Any, ctx: Context) -> str:
        return f'"{value}"' if self.quote_answer else str(value)


@dataclass(frozen=True)
class Block(Param):
    """Definite-length block data ``#<n><len><bytes>`` (the handler gets the payload bytes)."""

    def parse(self, text: str | bytes | bytearray, ctx: Context) -> bytes | bytearray:
        if isinstance(text, str):
            raise ScpiCommandError(-104, "block data expected")
        return text


@dataclass(frozen=True)
class Rest(Param):
    """All remaining parameters, unparsed: a list of strings, or the block payload if one was sent."""


class Pairs(Rest):
    """Name/value pairs (Siglent style: ``C1:BSWV WVTP,SINE,AMP,2``), each value typed by its field.

    ``fields`` maps each name (matched case-insensitively) to its :class:`Param`; ``flags`` are bare
    words allowed before the pairs (``C1:OUTP ON,LOAD,HZ``, ``C1:BTWV MTRIG``). The handler gets a dict
    ``{name: value}`` with the flags under the key ``""``; an unknown name is -108, a name without a
    value -109, a value its type refuses gives that type's error.
    """

    def __init__(self, fields: dict[str, Param], flags: tuple[str, ...] = ()) -> None:
        self.fields = {k.upper(): v for k, v in fields.items()}
        self.flags = tuple(f.upper() for f in flags)

    def parse_all(self, params: list[Any], ctx: Context) -> dict[str, Any]:
        words = [p.strip() for p in params if isinstance(p, str)]
        out: dict[str, Any] = {}
        flags = []
        while words and words[0].upper() in self.flags:
            flags.append(words.pop(0).upper())
        if flags:
            out[""] = flags
        if len(words) % 2:
            raise ScpiCommandError(-109, f"{words[-1]!r} without a value")
        for name, text in zip(words[0::2], words[1::2], strict=True):
            key = name.upper()
            if key not in self.fields:
                raise ScpiCommandError(-108, f"unknown parameter {name!r}")
            out[key] = self.fields[key].parse(text, ctx)
        return out


# ------------------------------------------------------------------------------------------------
# command table entries


@dataclass(frozen=True)
class Cmd:
    """One command of a family's tree, written as data.

    Parameters
    ----------
    pattern : str
        The header in the manual's notation: ``"[SOURce#:]FUNCtion:ARBitrary:SRATe"``. Brackets mark
        optional nodes, ``#`` a numeric suffix (default 1), upper-case letters the short form.
    params : tuple of Param
        Parameters of the command form, in order (a :class:`Rest` takes everything left).
    attr : str or None
        The state the command sets and its query answers: an attribute of the channel object (scope
        ``"channel"``, the channel being the suffix of the first channel node) or of the instrument.
    scope : {"channel", "instrument"}
    on_set, on_query : str or None
        Names of instrument methods called as ``on_set(ctx, *values)`` (instead of setting ``attr``) and
        ``on_query(ctx, *query_values)`` (returns the answer, ``str`` or ``bytes``, without terminator).
    check : str or None
        Name of an instrument method ``check(ctx, value)`` that raises :class:`ScpiCommandError` before
        ``attr`` is set (cross-parameter rules such as amplitude vs offset).
    query, command : bool
        Whether the query form / the command form exists.
    query_params : tuple of Param
        Parameters of the query form (``DATA:ATTRibute:POINts? <name>``).
    optional, query_optional : int
        How many trailing parameters of ``params`` / ``query_params`` may be omitted.
    """

    pattern: str
    params: tuple[Param, ...] = ()
    attr: str | None = None
    scope: str = "channel"
    on_set: str | None = None
    on_query: str | None = None
    check: str | None = None
    query: bool = True
    command: bool = True
    query_params: tuple[Param, ...] = ()
    optional: int = 0
    query_optional: int = 0


@dataclass(frozen=True)
class _Node:
    long: str
    short: str
    suffix: bool
    optional: bool

    def accepts(self, token: str) -> int | None | bool:
        """The suffix (int or None) if *token* names this node, False otherwise."""
        if not self.suffix:
            return None if token in (self.long, self.short) else False
        i = len(token)
        while i > 0 and token[i - 1].isdigit():
            i -= 1
        head, digits = token[:i], token[i:]
        if head not in (self.long, self.short):
            return False
        return int(digits) if digits else None


def _compile(pattern: str) -> list[_Node]:
    nodes: list[_Node] = []
    depth = 0
    word = ""
    opt_at: list[int] = []

    def flush() -> None:
        nonlocal word
        if word:
            suffix = word.endswith("#")
            mn = word.rstrip("#")
            long, short = mnemonic_forms(mn)
            nodes.append(_Node(long, short, suffix, depth > 0))
            word = ""

    for ch in pattern:
        if ch == "[":
            flush()
            depth += 1
            opt_at.append(len(nodes))
        elif ch == "]":
            flush()
            depth -= 1
            opt_at.pop()
        elif ch == ":":
            flush()
        else:
            word += ch
    flush()
    if depth or not nodes:
        raise ValueError(f"bad command pattern {pattern!r}")
    return nodes


@dataclass
class Context:
    """What a handler gets: the instrument, the matched command, its suffixes and the header as typed."""

    instrument: ScpiInstrument
    cmd: Cmd
    header: str
    suffixes: dict[str, int]
    query: bool
    block: bytes | bytearray | None = None

    @property
    def channel(self) -> int:
        for key in self.instrument.channel_nodes:
            if key in self.suffixes:
                return self.suffixes[key]
        return 1

    def suffix(self, node: str, default: int = 1) -> int:
        return self.suffixes.get(node.upper(), default)


class CommandTree:
    """The compiled command table of one family: finds the :class:`Cmd` a typed header names."""

    def __init__(self, commands: Sequence[Cmd]) -> None:
        self.entries: list[tuple[Cmd, list[_Node]]] = []
        self._index: dict[str, list[int]] = {}
        for cmd in commands:
            nodes = _compile(cmd.pattern)
            k = len(self.entries)
            self.entries.append((cmd, nodes))
            for node in nodes:
                for form in {node.long, node.short}:
                    self._index.setdefault(form, []).append(k)
                if not node.optional:
                    break

    def find(self, tokens: list[str]) -> tuple[Cmd, list[tuple[_Node, int | None]]] | None:
        first = tokens[0]
        head = first.rstrip("0123456789")
        cand = sorted(set(self._index.get(first, [])) | set(self._index.get(head, [])))
        for k in cand:
            cmd, nodes = self.entries[k]
            got = _match(nodes, tokens, 0, 0)
            if got is not None:
                return cmd, got
        return None


def _match(nodes: list[_Node], tokens: list[str], i: int, j: int) -> list[tuple[_Node, int | None]] | None:
    if i == len(nodes):
        return [] if j == len(tokens) else None
    node = nodes[i]
    if j < len(tokens):
        s = node.accepts(tokens[j])
        if s is not False:
            rest = _match(nodes, tokens, i + 1, j + 1)
            if rest is not None:
                return [(node, s if isinstance(s, int) and s is not True else None)] + rest
    if node.optional:
        rest = _match(nodes, tokens, i + 1, j)
        if rest is not None:
            return [(node, None)] + rest
    return None


# ------------------------------------------------------------------------------------------------
# message parsing


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text and "'" not in text:
        return text.split(sep)
    out, cur, quote = [], [], ""
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def split_units(text: str) -> list[str]:
    """Split a program message into its units at ``;`` outside quoted strings (empty units dropped)."""
    return [u.strip() for u in _split_outside_quotes(text, ";") if u.strip()]


def split_params(text: str) -> list[str]:
    """Split the parameter text of one unit at ``,`` outside quotes (a trailing empty one dropped)."""
    if not text.strip():
        return []
    parts = [p.strip() for p in _split_outside_quotes(text, ",")]
    if parts and parts[-1] == "":
        parts.pop()
    return parts


_HEADER_RE = re.compile(r"^(:?)([A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)*)(\??)(?:\s+(.*))?$", re.S)


# ------------------------------------------------------------------------------------------------
# faults


@dataclass
class Faults:
    """Failures to inject into an emulator (set attributes while it runs; thread-safe enough for tests).

    Attributes
    ----------
    silent : list of str
        One-shot: the next program message unit starting with one of these prefixes (case-insensitive,
        a leading ``:`` ignored on both sides) gets no answer and is not executed (the client times out).
    disconnect_after_bytes : int or None
        One-shot: close the connection after this many bytes of the next binary payload longer than
        that (an upload cut off in the middle).
    idn : str or None
        Answer ``*IDN?`` with this instead (persistent until reset to None).
    corrupt_readback_index : int or None
        One-shot: flip the lowest bit of this sample in the next binary readback.
    delay_s : float
        Sleep this long before executing every unit (a slow instrument; persistent).
    errors_on : dict of str -> (int, str)
        One-shot: when a unit starting with the key is received, queue this error after executing it.
    """

    silent: list[str] = field(default_factory=list)
    disconnect_after_bytes: int | None = None
    idn: str | None = None
    corrupt_readback_index: int | None = None
    delay_s: float = 0.0
    errors_on: dict[str, tuple[int, str]] = field(default_factory=dict)

    def take_silent(self, command: str) -> bool:
        up = command.upper().lstrip(":")  # a leading ':' (root) does not change the command
        for i, p in enumerate(self.silent):
            if up.startswith(p.upper().lstrip(":")):
                del self.silent[i]
                return True
        return False

    def take_error(self, command: str) -> tuple[int, str] | None:
        up = command.upper().lstrip(":")
        for k in list(self.errors_on):
            if up.startswith(k.upper().lstrip(":")):
                return self.errors_on.pop(k)
        return None


# ------------------------------------------------------------------------------------------------
# the instrument


#: ``SYSTem:ERRor[:NEXT]?`` and ``SYSTem:ERRor:COUNt?`` (SCPI-99 vol. 2 21.8); families that have them list them.
SYSTEM_ERROR_COMMANDS: tuple[Cmd, ...] = (
    Cmd("SYSTem:ERRor[:NEXT]", on_query="_q_error", command=False),
    Cmd("SYSTem:ERRor:COUNt", on_query="_q_error_count", command=False),
)

_COMMON = ("*RST", "*CLS", "*ESE", "*ESR", "*OPC", "*WAI", "*TST", "*IDN", "*OPT", "*SRE", "*STB", "*TRG")


class ScpiInstrument:
    """One emulated instrument: state, error queue, status registers and the command tree.

    Subclasses set :attr:`COMMANDS` (a list of :class:`Cmd`), implement :meth:`reset` (``*RST``), the
    handlers the table names, and :meth:`channel_state` (the object ``attr`` of a channel command lives
    on; default ``self.ch[n]``). The server calls :meth:`message` with each program message.
    """

    COMMANDS: Sequence[Cmd] = ()
    #: common commands this family implements (IEEE 488.2 mandatory ones by default, plus *OPT?, *TRG)
    COMMON: frozenset[str] = frozenset(_COMMON)
    #: node names whose suffix is a channel number (checked against :attr:`n_channels`, -114 otherwise)
    channel_nodes: tuple[str, ...] = ("SOURCE", "OUTPUT", "TRIGGER")
    #: answer nothing (and queue nothing readable) to an unknown header, as some instruments do
    silent_unknown: bool = False
    #: how numbers are written in answers
    number_format: str = "{:+.15E}"
    raw_marker: bytes | None = None
    raw_idle_s: float = 0.05
    error_queue_depth: int = 20
    n_channels: int = 1
    _trees: dict[type, CommandTree] = {}

    def __init__(self, idn: str) -> None:
        self.idn = idn
        self.errors: list[tuple[int, str]] = []
        self.lock = threading.RLock()
        self.faults = Faults()
        self.log: list[str] = []
        self.esr = 0
        self.ese = 0
        self.sre = 0
        tree = ScpiInstrument._trees.get(type(self))
        if tree is None:
            tree = ScpiInstrument._trees[type(self)] = CommandTree(self.COMMANDS)
        self.tree = tree

    # -- hooks for subclasses
    def reset(self) -> None:
        """``*RST``: restore the defaults."""

    def on_disconnect(self) -> None:
        """A connection ended (drop half-finished transfers)."""

    def options(self) -> str:
        """The ``*OPT?`` answer."""
        return "0"

    def bus_trigger(self) -> None:
        """``*TRG``."""

    def channel_state(self, channel: int) -> Any:
        """The object holding the state of *channel*."""
        return self.ch[channel]  # type: ignore[attr-defined]

    def check_suffix(self, node: str, value: int) -> None:
        """Raise -114 when a suffix is out of range (channel nodes: 1..:attr:`n_channels`)."""
        if node in self.channel_nodes and not 1 <= value <= self.n_channels:
            raise ScpiCommandError(-114, f"{node}{value}: this instrument has {self.n_channels} channel(s)")
        if value < 1:
            raise ScpiCommandError(-114)

    # -- error queue and status
    def push_error(self, code: int, message: str | None = None) -> None:
        """Queue an error (code, message); the last slot becomes -350 when the queue is full."""
        if message is None:
            message = STANDARD_ERRORS.get(code, "Device-specific error")
        if -199 <= code <= -100:
            self.esr |= ESR_CME
        elif -299 <= code <= -200:
            self.esr |= ESR_EXE
        elif -499 <= code <= -400:
            self.esr |= ESR_QYE
        elif code != 0:
            self.esr |= ESR_DDE
        if len(self.errors) >= self.error_queue_depth:
            self.errors[-1] = (-350, STANDARD_ERRORS[-350])
            return
        self.errors.append((code, message))

    def pop_error(self) -> str:
        code, msg = self.errors.pop(0) if self.errors else (0, "No error")
        return f'{code:+d},"{msg}"'

    def _q_error(self, ctx: Context) -> str:
        return self.pop_error()

    def _q_error_count(self, ctx: Context) -> str:
        return str(len(self.errors))

    def status_byte(self) -> int:
        stb = 0
        if self.errors:
            stb |= 4  # error/event queue not empty (SCPI-99 9.1)
        if self.esr & self.ese:
            stb |= 32
        if stb & self.sre & ~64:
            stb |= 64
        return stb

    def corrupt(self, payload: bytes, itemsize: int) -> bytes:
        """Apply a pending corrupted-readback fault to a readback payload."""
        i = self.faults.corrupt_readback_index
        if i is None or (i + 1) * itemsize > len(payload):
            return payload
        self.faults.corrupt_readback_index = None
        b = bytearray(payload)
        b[i * itemsize] ^= 0x01
        return bytes(b)

    # -- execution
    def message(self, text: str, block: bytes | bytearray | None = None) -> bytes | None:
        """Run one program message (units separated by ``;``; *block* belongs to the last unit).

        Returns the response message (answers joined by ``;``, ``\\n``-terminated) or None.
        """
        units = split_units(text)
        if block is not None and not units:
            self._error(-102, "block data without a header")
            return None
        answers: list[bytes] = []
        path: list[str] = []
        for k, unit in enumerate(units):
            blk = block if (block is not None and k == len(units) - 1) else None
            ans, path = self.run_unit(unit, blk, path)
            if ans is not None:
                answers.append(ans if isinstance(ans, bytes) else ans.encode("latin-1"))
        if not answers:
            return None
        return b";".join(answers) + b"\n"

    def handle(self, command: str, block: bytes | bytearray | None = None) -> bytes | None:
        """Run *command* as one program message (same as :meth:`message`)."""
        return self.message(command, block)

    def run_unit(
        self, unit: str, block: bytes | bytearray | None = None, path: list[str] | None = None
    ) -> tuple[str | bytes | None, list[str]]:
        """Run one program message unit with faults applied; returns (answer, new header path)."""
        path = path or []
        self.log.append(unit if block is None else f"{unit}<{len(block)} bytes>")
        if self.faults.delay_s:
            time.sleep(self.faults.delay_s)
        if self.faults.take_silent(unit):
            return None, path
        try:
            answer, path = self._execute(unit, block, path)
        except ScpiCommandError as exc:
            self._error(exc.code, exc.text)
            answer = None
        except Exception as exc:  # an emulator bug must not kill the connection silently
            logger.exception("emulator failed on %r", unit)
            self._error(-300, f"Device-specific error;{exc}")
            answer = None
        err = self.faults.take_error(unit)
        if err is not None:
            self.push_error(*err)
        return answer, path

    def _error(self, code: int, text: str) -> None:
        self.push_error(code, text)

    def _execute(
        self, unit: str, block: bytes | bytearray | None, path: list[str]
    ) -> tuple[str | bytes | None, list[str]]:
        if unit.startswith("*"):
            return self._common(unit), path
        m = _HEADER_RE.match(unit)
        if not m:
            if self.silent_unknown:
                self.push_error(-102)  # kept (and in *ESR?), never answered
                return None, path
            raise ScpiCommandError(-102, f"cannot parse {unit[:40]!r}")
        root, header, qmark, ptext = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        tokens = header.upper().split(":")
        full = tokens if root or not path else path + tokens
        found = self.tree.find(full)  # a relative header is looked up below the current path only
        if found is None:
            if self.silent_unknown:
                self.push_error(-113)
                return None, path
            raise ScpiCommandError(-113, header)
        new_path = full[:-1]
        cmd, matched = found
        suffixes: dict[str, int] = {}
        for node, s in matched:
            if s is not None:
                self.check_suffix(node.long, s)
                suffixes[node.long] = s
        ctx = Context(self, cmd, header, suffixes, bool(qmark), block)
        params: list[str | bytes | bytearray] = list(split_params(ptext))
        if block is not None:
            params.append(block)
        if qmark:
            if not cmd.query:
                raise ScpiCommandError(-113, f"{header}? has no query form")
            return self._run_query(ctx, params), new_path
        if not cmd.command:
            raise ScpiCommandError(-113, f"{header} is a query only")
        self._run_set(ctx, params)
        return None, new_path

    def _parse(self, spec: tuple[Param, ...], params: list[Any], ctx: Context, optional: int) -> list[Any]:
        values: list[Any] = []
        for i, p in enumerate(spec):
            if isinstance(p, Pairs):
                values.append(p.parse_all(params[i:], ctx))
                return values
            if isinstance(p, Rest):
                only_block = len(params) == i + 1 and not isinstance(params[i], str)
                values.append(params[i] if only_block else params[i:])
                return values
            if i >= len(params):
                if i >= len(spec) - optional:
                    break
                raise ScpiCommandError(-109, f"{ctx.header} needs {len(spec) - optional} parameter(s)")
            values.append(p.parse(params[i], ctx))
        if len(params) > len(spec):
            raise ScpiCommandError(-108, f"{ctx.header} takes {len(spec)} parameter(s), got {len(params)}")
        return values

    def _target(self, ctx: Context) -> Any:
        return self.channel_state(ctx.channel) if ctx.cmd.scope == "channel" else self

    def _run_set(self, ctx: Context, params: list[Any]) -> None:
        cmd = ctx.cmd
        values = self._parse(cmd.params, params, ctx, cmd.optional)
        if cmd.on_set:
            getattr(self, cmd.on_set)(ctx, *values)
            return
        if cmd.attr is None:
            raise ScpiCommandError(-113, f"{ctx.header} does nothing here")
        if cmd.check:
            getattr(self, cmd.check)(ctx, *values)
        setattr(self._target(ctx), cmd.attr, values[0] if len(values) == 1 else tuple(values))

    def _run_query(self, ctx: Context, params: list[Any]) -> str | bytes | None:
        cmd = ctx.cmd
        if cmd.on_query:
            values = self._parse(cmd.query_params, params, ctx, cmd.query_optional)
            return getattr(self, cmd.on_query)(ctx, *values)
        if cmd.attr is None:
            raise ScpiCommandError(-113, f"{ctx.header}? has no query form")
        p = cmd.params[0] if cmd.params else None
        if params:
            # MIN|MAX|DEF as the query argument answers the limit (SCPI-99 7.2.1.1)
            if len(params) == 1 and isinstance(p, Number) and isinstance(params[0], str):
                word = params[0].strip().upper()
                for name, lim in (("MINimum", p.lo), ("MAXimum", p.hi), ("DEFault", p.default)):
                    if word in mnemonic_forms(name):
                        val = _limit(lim, ctx)
                        if val is None:
                            raise ScpiCommandError(-224)
                        return p.format(val, ctx)
            raise ScpiCommandError(-108, f"{ctx.header}? takes no parameter")
        value = getattr(self._target(ctx), cmd.attr)
        return p.format(value, ctx) if p is not None else str(value)

    def _common(self, unit: str) -> str | None:
        head, _, arg = unit.partition(" ")
        head = head.strip().upper()
        arg = arg.strip()
        query = head.endswith("?")
        name = head.rstrip("?")
        if name not in self.COMMON:
            if self.silent_unknown:
                self.push_error(-113)
                return None
            raise ScpiCommandError(-113, head)
        takes_arg = name in ("*ESE", "*SRE")
        if arg and not (takes_arg and not query):
            raise ScpiCommandError(-108, head)
        if name == "*IDN" and query:
            return self.faults.idn or self.idn
        if name == "*OPC":
            if query:
                return "1"
            self.esr |= ESR_OPC  # every operation here completes before the next unit runs
            return None
        if name == "*WAI" and not query:
            return None
        if name == "*CLS" and not query:
            self.errors.clear()
            self.esr = 0
            return None
        if name == "*RST" and not query:
            self.reset()
            return None
        if name == "*TST" and query:
            return "0"
        if name == "*OPT" and query:
            return self.options()
        if name == "*TRG" and not query:
            self.bus_trigger()
            return None
        if name == "*ESR" and query:
            v, self.esr = self.esr, 0
            return str(v)
        if name == "*STB" and query:
            return str(self.status_byte())
        if name in ("*ESE", "*SRE"):
            attr = name[1:].lower()
            if query:
                return str(getattr(self, attr))
            if not arg:
                raise ScpiCommandError(-109, head)
            try:
                v = round(float(arg))
            except ValueError:
                raise ScpiCommandError(-104, arg) from None
            if not 0 <= v <= 255:
                raise ScpiCommandError(-222, f"{v} outside 0..255")
            setattr(self, attr, v)
            return None
        raise ScpiCommandError(-113, head)
