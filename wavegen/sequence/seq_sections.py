"""Parsing helpers of the Pulseq reader: lexical rules, sections, shapes, events and extensions.

Used by :mod:`wavegen.sequence.seq_read` (see there for the format versions); the names here are the
reader's internals, public only between these two modules (``__all__`` is empty). Every error is a
:class:`~wavegen.errors.SeqFormatError` starting with ``file:line:``.
"""

from __future__ import annotations

import logging
import math
import re
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import SeqFormatError, WavegenError
from wavegen.sequence.events import (
    SUPPORTED_LABELS,
    ADCEvent,
    ArbGradient,
    ExtensionEvent,
    LabelInc,
    LabelSet,
    RFEvent,
    RFShim,
    Rotation,
    SoftDelay,
    TrapGradient,
    Trigger,
    UnknownExtension,
)
from wavegen.sequence.shapes import Shape

__all__: list[str] = []

logger = logging.getLogger(__name__)

_INT_RE = re.compile(r"[+-]?\d+\Z")


class Src:
    """The file being read: its name and lines, for messages."""

    def __init__(self, name: str, lines: list[str]) -> None:
        self.name = name
        self.lines = lines

    def err(self, lineno: int, msg: str) -> SeqFormatError:
        if lineno > 0:
            return SeqFormatError(f"{self.name}:{lineno}: {msg}")
        return SeqFormatError(f"{self.name}: {msg}")


MAX_INT = 1 << 53  # ids, counts and ns: beyond this nothing is physical and int64 products overflow
_MAX_FLOAT = 1e15  # |amplitudes|, frequencies, phases, shape samples: 1e15 Hz/m is 2e7 T/m


def parse_int(src: Src, ln: int, tok: str, what: str) -> int:
    if _INT_RE.match(tok):
        v = int(tok)
        if abs(v) >= MAX_INT:
            raise src.err(ln, f"{what} = {tok} is out of range (|value| < 2**53)")
        return v
    try:
        f = float(tok)
    except ValueError:
        raise src.err(ln, f"{what} = {tok!r} is not a number") from None
    if not math.isfinite(f) or f != math.floor(f):
        raise src.err(ln, f"{what} = {tok!r} must be an integer")
    if abs(f) >= MAX_INT:
        raise src.err(ln, f"{what} = {tok} is out of range (|value| < 2**53)")
    return int(f)


def parse_float(src: Src, ln: int, tok: str, what: str) -> float:
    try:
        f = float(tok)
    except ValueError:
        raise src.err(ln, f"{what} = {tok!r} is not a number") from None
    if not math.isfinite(f):
        raise src.err(ln, f"{what} = {tok!r} is not finite")
    if abs(f) > _MAX_FLOAT:
        raise src.err(ln, f"{what} = {tok} is out of range (|value| <= 1e15)")
    return f


def parse_ns(src: Src, ln: int, tok: str, what: str, scale: int) -> int:
    """A time field in us (scale 1000) or ns (scale 1) as exact integer ns."""
    if _INT_RE.match(tok):
        v = int(tok) * scale
    else:
        try:
            x = Fraction(tok) * scale
        except (ValueError, ZeroDivisionError, OverflowError):
            raise src.err(ln, f"{what} = {tok!r} is not a number") from None
        if x.denominator != 1:
            raise src.err(ln, f"{what} = {tok!r} is not a whole number of ns")
        v = int(x)
    if abs(v) >= MAX_INT:
        raise src.err(ln, f"{what} = {tok} is out of range")
    return v


_HEADER_RE = re.compile(r"^[ \t]*(\[[^\n]*?|extension[ \t][^\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)


def split_sections(src: Src, text: str) -> list[tuple[str, int, str, int]]:
    """[(header, header line, body text, line number of the body's first line)] in file order."""
    out: list[tuple[str, int, str, int]] = []
    heads = list(_HEADER_RE.finditer(text))
    pre = text[: heads[0].start()] if heads else text
    for i, raw in enumerate(pre.split("\n"), start=1):
        s = raw.strip()
        if s and not s.startswith("#"):
            raise src.err(i, f"data {s[:40]!r} outside any section")
    ln = pre.count("\n") + 1
    for j, m in enumerate(heads):
        header = m.group(1).strip()
        if header.startswith("[") and not header.endswith("]"):
            raise src.err(ln, f"malformed section header {header!r}")
        end = heads[j + 1].start() if j + 1 < len(heads) else len(text)
        if header.upper() == "[SIGNATURE]":
            end = len(text)
        body_start = min(m.end() + 1, len(text))
        body = text[body_start:end]
        out.append((header, ln, body, ln + 1))
        if header.upper() == "[SIGNATURE]":
            break
        ln += text.count("\n", m.start(), end)
    return out


def body_lines(body: str, first_ln: int) -> list[tuple[int, str]]:
    """(line number, stripped line) of a section body; blank lines kept as '', comments dropped."""
    out = []
    for i, raw in enumerate(body.split("\n")):
        s = raw.strip()
        if not s.startswith("#"):
            out.append((first_ln + i, s))
    while out and not out[-1][1]:
        out.pop()
    return out


def data_rows(body: list[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    return [(ln, s.split()) for ln, s in body if s]


def check_nf(src: Src, ln: int, tok: list[str], n: int, section: str, layout: str) -> None:
    if len(tok) != n:
        raise src.err(ln, f"{section} line has {len(tok)} fields, expected {n} ({layout})")


def read_shapes(src: Src, sec: tuple[int, list[tuple[int, str]]] | None) -> dict[int, tuple[int, int, np.ndarray]]:
    out: dict[int, tuple[int, int, np.ndarray]] = {}
    if sec is None:
        return out
    body = sec[1]
    i = 0
    n = len(body)
    while i < n:
        ln, s = body[i]
        if not s:
            i += 1
            continue
        tok = s.split()
        if len(tok) != 2 or tok[0].lower() != "shape_id":
            raise src.err(ln, f"expected 'shape_id N' in [SHAPES], found {s[:40]!r}")
        sid = parse_int(src, ln, tok[1], "shape_id")
        if sid in out:
            raise src.err(ln, f"shape {sid} is defined twice (first at line {out[sid][0]})")
        if i + 1 >= n or not body[i + 1][1]:
            raise src.err(ln, f"shape {sid} has no num_samples line (truncated)")
        ln2, s2 = body[i + 1]
        tok2 = s2.split()
        if len(tok2) != 2 or tok2[0].lower() not in ("num_samples", "num_uncompressed"):
            raise src.err(ln2, f"expected 'num_samples N' after shape_id {sid}, found {s2[:40]!r}")
        num = parse_int(src, ln2, tok2[1], "num_samples")
        if num < 1:
            raise src.err(ln2, f"shape {sid}: num_samples = {num} must be >= 1")
        j = i + 2
        vals: list[str] = []
        while j < n and body[j][1]:
            lnj, sj = body[j]
            if sj.lower().startswith("shape_id"):
                break
            vals.append(sj)
            j += 1
        if not vals:
            raise src.err(ln, f"shape {sid} has no samples (truncated file?)")
        try:
            toks = np.array(vals, dtype=np.float64)
        except ValueError:
            for k, v in enumerate(vals):
                parse_float(src, body[i + 2 + k][0], v, f"shape {sid} sample")
            raise src.err(ln, f"shape {sid}: bad sample") from None
        bad_tok = ~np.isfinite(toks) | (np.abs(toks) > _MAX_FLOAT)
        if np.any(bad_tok):
            k = int(np.flatnonzero(bad_tok)[0])
            raise src.err(body[i + 2 + k][0], f"shape {sid} sample {vals[k]!r} is not finite or out of range")
        out[sid] = (ln, num, toks)
        i = j
    return out


def read_rf(src: Src, sec: Any, vc: int, shape: Any, rf_raster_ns: Any) -> dict[int, tuple[int, RFEvent]]:
    lib: dict[int, tuple[int, RFEvent]] = {}
    if sec is None:
        return lib
    if vc >= 1_005_000:
        nf, layout = 12, "id amp mag_id phase_id time_id center delay freq_ppm phase_ppm freq phase use"
    elif vc >= 1_004_000:
        nf, layout = 8, "id amp mag_id phase_id time_id delay freq phase"
    else:
        nf, layout = 7, "id amp mag_id phase_id delay freq phase"
    for ln, tok in data_rows(sec[1]):
        check_nf(src, ln, tok, nf, "[RF]", layout)
        rid = parse_int(src, ln, tok[0], "RF id")
        if rid <= 0 or rid in lib:
            raise src.err(ln, f"RF id {rid} is {'not positive' if rid <= 0 else 'defined twice'}")
        amp = parse_float(src, ln, tok[1], "RF amplitude")
        mag = shape(parse_int(src, ln, tok[2], "mag_id"), ln, f"RF {rid} magnitude", "rf")
        pid = parse_int(src, ln, tok[3], "phase_id")
        phase = shape(pid, ln, f"RF {rid} phase", "rf") if pid else Shape(np.zeros(len(mag)))
        if len(phase) != len(mag):
            raise src.err(ln, f"RF {rid}: phase shape has {len(phase)} samples, magnitude {len(mag)}")
        if np.any(np.abs(mag.samples) > 1 + 1e-6):
            raise src.err(ln, f"RF {rid}: magnitude shape exceeds 1 (max {float(np.max(np.abs(mag.samples)))!r})")
        tshape = None
        rest = tok[4:]
        if vc >= 1_004_000:
            tid = parse_int(src, ln, tok[4], "time_id")
            if tid < 0:
                raise src.err(ln, f"RF {rid}: time_id {tid} is not allowed for RF")
            if tid:
                tshape = shape(tid, ln, f"RF {rid} time", "rf")
                if len(tshape) != len(mag):
                    raise src.err(ln, f"RF {rid}: time shape has {len(tshape)} samples, magnitude {len(mag)}")
                _check_time_shape(src, ln, f"RF {rid}", tid, tshape)
            rest = tok[5:]
        use = "u"
        if vc >= 1_005_000:
            center_us = parse_float(src, ln, rest[0], "RF center")
            delay = parse_ns(src, ln, rest[1], "RF delay", 1000)
            fppm = parse_float(src, ln, rest[2], "freq_ppm")
            pppm = parse_float(src, ln, rest[3], "phase_ppm")
            freq = parse_float(src, ln, rest[4], "RF freq")
            ph = parse_float(src, ln, rest[5], "RF phase")
            use = rest[6]
            if use not in ("e", "r", "i", "s", "p", "o", "u"):
                raise src.err(ln, f"RF {rid}: use {use!r} is not one of e r i s p o u")
        else:
            delay = parse_ns(src, ln, rest[0], "RF delay", 1000)
            freq = parse_float(src, ln, rest[1], "RF freq")
            ph = parse_float(src, ln, rest[2], "RF phase")
            fppm = pppm = 0.0
            center_us = _rf_center_us(mag, tshape, rf_raster_ns)
        lib[rid] = (ln, RFEvent(amp, mag, phase, tshape, center_us, delay, fppm, pppm, freq, ph, use))
    return lib


def _check_time_shape(src: Src, ln: int, what: str, tid: int, ts: Shape) -> None:
    """A time shape (RF or gradient) starts at >= 0 and never goes back in time (a restart is an error)."""
    t = ts.samples
    if t[0] < 0:
        raise src.err(ln, f"{what}: time shape {tid} starts at {float(t[0])!r} rasters, before the event start")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        i = int(back[0])
        raise src.err(
            ln,
            f"{what}: time shape {tid} goes back in time at sample {i + 1} ({float(t[i])!r} -> "
            f"{float(t[i + 1])!r} rasters); times must not decrease",
        )


def _rf_center_us(mag: Shape, tshape: Shape | None, rf_raster_ns: Any) -> float:
    """Centre of an RF pulse from a pre-1.5 file (no centre field), us: as pypulseq's calc_rf_center,
    the middle of the samples within 1e-5 of the peak magnitude."""
    m = np.abs(mag.samples)
    peak = float(m.max())
    idx = np.flatnonzero(m >= peak * 0.99999)
    t = tshape.samples if tshape is not None else np.arange(m.size) + 0.5
    return float((t[idx[0]] + t[idx[-1]]) / 2) * float(rf_raster_ns) / 1000


def read_grads(src: Src, gsec: Any, tsec: Any, vc: int, shape: Any) -> dict[int, tuple[int, Any]]:
    lib: dict[int, tuple[int, Any]] = {}
    if gsec is not None:
        if vc >= 1_005_000:
            nf, layout = 7, "id amp first last shape_id time_id delay"
        elif vc >= 1_004_000:
            nf, layout = 5, "id amp shape_id time_id delay"
        else:
            nf, layout = 4, "id amp shape_id delay"
        for ln, tok in data_rows(gsec[1]):
            check_nf(src, ln, tok, nf, "[GRADIENTS]", layout)
            gid = parse_int(src, ln, tok[0], "gradient id")
            if gid <= 0 or gid in lib:
                raise src.err(ln, f"gradient id {gid} is {'not positive' if gid <= 0 else 'defined twice'}")
            amp = parse_float(src, ln, tok[1], "gradient amplitude")
            first = last = 0.0
            rest = tok[2:]
            if vc >= 1_005_000:
                first = parse_float(src, ln, tok[2], "first")
                last = parse_float(src, ln, tok[3], "last")
                rest = tok[4:]
            sh = shape(parse_int(src, ln, rest[0], "shape_id"), ln, f"gradient {gid}", "grad")
            tid = parse_int(src, ln, rest[1], "time_id") if vc >= 1_004_000 else 0
            delay = parse_ns(src, ln, rest[-1], "gradient delay", 1000)
            if np.any(np.abs(sh.samples) > 1 + 1e-6):
                raise src.err(ln, f"gradient {gid}: shape exceeds 1 in magnitude")
            tsh = None
            over = False
            if tid == -1:
                if vc < 1_005_000:
                    raise src.err(ln, f"gradient {gid}: time_id -1 (oversampling) needs format 1.5.0")
                over = True
                if len(sh) % 2 != 1:
                    raise src.err(ln, f"gradient {gid}: oversampled shape needs an odd sample count, has {len(sh)}")
            elif tid > 0:
                tsh = shape(tid, ln, f"gradient {gid} time", "grad")
                if len(tsh) != len(sh):
                    raise src.err(ln, f"gradient {gid}: time shape has {len(tsh)} samples, waveform {len(sh)}")
                _check_time_shape(src, ln, f"gradient {gid}", tid, tsh)
            elif tid < 0:
                raise src.err(ln, f"gradient {gid}: time_id {tid} is not valid")
            lib[gid] = (ln, ArbGradient(amp, sh, first, last, delay, tsh, over))
    if tsec is not None:
        for ln, tok in data_rows(tsec[1]):
            check_nf(src, ln, tok, 6, "[TRAP]", "id amp rise flat fall delay")
            gid = parse_int(src, ln, tok[0], "trapezoid id")
            if gid <= 0 or gid in lib:
                raise src.err(
                    ln,
                    f"gradient id {gid} is "
                    + ("not positive" if gid <= 0 else f"defined twice (also line {lib[gid][0]})"),
                )
            amp = parse_float(src, ln, tok[1], "trapezoid amplitude")
            r, f, fa, d = (
                parse_ns(src, ln, tok[k], nm, 1000) for k, nm in ((2, "rise"), (3, "flat"), (4, "fall"), (5, "delay"))
            )
            for v, nm in ((r, "rise"), (f, "flat"), (fa, "fall"), (d, "delay")):
                if v < 0:
                    raise src.err(ln, f"trapezoid {gid}: {nm} = {v / 1000:g} us is negative")
            lib[gid] = (ln, TrapGradient(amp, r, f, fa, d))
    return lib


def read_adc(src: Src, sec: Any, vc: int, shape: Any, limit: Any = None) -> dict[int, tuple[int, ADCEvent]]:
    lib: dict[int, tuple[int, ADCEvent]] = {}
    if sec is None:
        return lib
    if vc >= 1_005_000:
        nf, layout = 9, "id num dwell delay freq_ppm phase_ppm freq phase phase_id"
    else:
        nf, layout = 6, "id num dwell delay freq phase"
    for ln, tok in data_rows(sec[1]):
        check_nf(src, ln, tok, nf, "[ADC]", layout)
        aid = parse_int(src, ln, tok[0], "ADC id")
        if aid <= 0 or aid in lib:
            raise src.err(ln, f"ADC id {aid} is {'not positive' if aid <= 0 else 'defined twice'}")
        num = parse_int(src, ln, tok[1], "ADC num")
        if num < 1:
            raise src.err(ln, f"ADC {aid}: num = {num} samples must be >= 1")
        dwell = parse_ns(src, ln, tok[2], "ADC dwell", 1)
        if dwell < 1:
            raise src.err(ln, f"ADC {aid}: dwell = {dwell} ns must be >= 1 ns")
        if limit is not None:
            most, why = limit(dwell)
            if num > most:
                raise src.err(ln, f"ADC {aid}: num = {num} samples is more than {most}: {why}")
        delay = parse_ns(src, ln, tok[3], "ADC delay", 1000)
        if delay < 0:
            raise src.err(ln, f"ADC {aid}: delay is negative")
        if vc >= 1_005_000:
            fields = ((4, "freq_ppm"), (5, "phase_ppm"), (6, "freq"), (7, "phase"))
            fppm, pppm, f, p = (parse_float(src, ln, tok[k], nm) for k, nm in fields)
            pid = parse_int(src, ln, tok[8], "phase_id")
            psh = shape(pid, ln, f"ADC {aid} phase", "adc") if pid else None
            if psh is not None and len(psh) != num:
                raise src.err(ln, f"ADC {aid}: phase shape has {len(psh)} samples, ADC {num}")
        else:
            fppm = pppm = 0.0
            f = parse_float(src, ln, tok[4], "freq")
            p = parse_float(src, ln, tok[5], "phase")
            psh = None
        lib[aid] = (ln, ADCEvent(num, dwell, delay, fppm, pppm, f, p, psh))
    return lib


def read_ext(src: Src, nm: str, body: list[tuple[int, str]]) -> dict[int, ExtensionEvent]:
    out: dict[int, ExtensionEvent] = {}
    for ln, tok in data_rows(body):
        eid = parse_int(src, ln, tok[0], f"{nm} id")
        if eid in out:
            raise src.err(ln, f"{nm} id {eid} is defined twice")
        ev: ExtensionEvent
        if nm == "TRIGGERS":
            check_nf(src, ln, tok, 5, "TRIGGERS", "id type channel delay_us duration_us")
            ev = Trigger(
                parse_int(src, ln, tok[1], "trigger type"),
                parse_int(src, ln, tok[2], "trigger channel"),
                parse_ns(src, ln, tok[3], "trigger delay", 1000),
                parse_ns(src, ln, tok[4], "trigger duration", 1000),
            )
        elif nm in ("LABELSET", "LABELINC"):
            check_nf(src, ln, tok, 3, nm, "id value LABEL")
            if tok[2] not in SUPPORTED_LABELS:
                logger.warning("%s:%d: label %s is not a known Pulseq label; kept", src.name, ln, tok[2])
            cls = LabelSet if nm == "LABELSET" else LabelInc
            ev = cls(tok[2], parse_int(src, ln, tok[1], "label value"))
        elif nm == "DELAYS":
            check_nf(src, ln, tok, 5, "DELAYS", "id num offset_us factor hint")
            ev = SoftDelay(
                parse_int(src, ln, tok[1], "soft delay num"),
                parse_ns(src, ln, tok[2], "soft delay offset", 1000),
                parse_float(src, ln, tok[3], "soft delay factor"),
                tok[4],
            )
        elif nm == "ROTATIONS":
            if len(tok) == 5:
                q = [parse_float(src, ln, t, "quaternion") for t in tok[1:]]
            elif len(tok) == 10:
                m = np.array([parse_float(src, ln, t, "rotation") for t in tok[1:]]).reshape(3, 3)
                q = _matrix_to_quaternion(m)
            else:
                raise src.err(ln, f"ROTATIONS line has {len(tok)} fields, expected 5 (id q0 qx qy qz) or 10")
            try:
                ev = Rotation(*q)
            except WavegenError as e:
                raise src.err(ln, str(e)) from None
        elif nm == "RF_SHIMS":
            n = parse_int(src, ln, tok[1], "RF shim channels") if len(tok) > 1 else 0
            check_nf(src, ln, tok, 2 + 2 * n, "RF_SHIMS", "id n mag1 phase1 ...")
            vals = [parse_float(src, ln, t, "RF shim") for t in tok[2:]]
            ev = RFShim(tuple(vals[0::2]), tuple(vals[1::2]))
        else:
            ev = UnknownExtension(nm, tuple(tok[1:]))
        out[eid] = ev
    return out


def _matrix_to_quaternion(m: np.ndarray) -> list[float]:
    w = math.sqrt(max(0.0, 1 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = math.copysign(math.sqrt(max(0.0, 1 + m[0, 0] - m[1, 1] - m[2, 2])) / 2, m[2, 1] - m[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] + m[1, 1] - m[2, 2])) / 2, m[0, 2] - m[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] - m[1, 1] + m[2, 2])) / 2, m[1, 0] - m[0, 1])
    return [w, x, y, z]


def read_ext_lists(
    src: Src,
    sec: Any,
    events: dict[int, dict[int, ExtensionEvent]],
    names: dict[int, str],
    used: set[int] | None = None,
    max_len: int = 256,
) -> dict[int, tuple[int, tuple[ExtensionEvent, ...]]]:
    """The extension lists the blocks use (``used``; all when None), each node walked once.

    Every node is checked (its type and entry exist, its link points to a node); the lists are then
    resolved from their heads with a memo of resolved suffixes, so a file with n nodes costs O(n) walks;
    a list longer than ``max_len`` events is refused (an O(n^2) output otherwise).
    """
    if sec is None:
        if used:
            return {}
        return {}
    nodes: dict[int, tuple[int, int, int, int]] = {}
    for ln, tok in data_rows(sec[1]):
        check_nf(src, ln, tok, 4, "[EXTENSIONS]", "id type ref next")
        nid, typ, ref, nxt = (parse_int(src, ln, t, "extension field") for t in tok)
        if nid <= 0 or nid in nodes:
            raise src.err(ln, f"extension list id {nid} is {'not positive' if nid <= 0 else 'defined twice'}")
        nodes[nid] = (ln, typ, ref, nxt)
    evs_of: dict[int, ExtensionEvent] = {}
    for nid, (ln, typ, ref, nxt) in nodes.items():
        if typ not in names:
            raise src.err(ln, f"extension type {typ} has no 'extension NAME {typ}' specification")
        ev = events[typ].get(ref)
        if ev is None:
            raise src.err(ln, f"extension {names[typ]} has no entry {ref}")
        if nxt and nxt not in nodes:
            raise src.err(ln, f"extension list node {nid} links to {nxt}, which [EXTENSIONS] does not define")
        evs_of[nid] = ev
    memo: dict[int, tuple[ExtensionEvent, ...]] = {}
    out: dict[int, tuple[int, tuple[ExtensionEvent, ...]]] = {}
    heads = nodes.keys() if used is None else sorted(used & nodes.keys())
    for head in heads:
        path: list[int] = []
        on_path: set[int] = set()
        cur = head
        while cur and cur not in memo:
            if cur in on_path:
                raise src.err(nodes[head][0], f"extension list starting at {head} loops back to {cur}")
            on_path.add(cur)
            path.append(cur)
            if len(path) > max_len:
                raise src.err(
                    nodes[head][0],
                    f"extension list starting at {head} holds more than {max_len} events (the most one block may have)",
                )
            cur = nodes[cur][3]
        tail = memo.get(cur, ()) if cur else ()
        for nid in reversed(path):
            tail = (evs_of[nid], *tail)
            if len(tail) > max_len:
                raise src.err(
                    nodes[head][0],
                    f"extension list starting at {head} holds more than {max_len} events (the most one block may have)",
                )
            memo[nid] = tail
        out[head] = (nodes[head][0], memo[head])
    return out
