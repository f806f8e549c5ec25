"""Read Pulseq ``.seq`` files, format versions 1.2.0 to 1.5.1, into a :class:`Sequence`.

Normative text: the Pulseq specification (``pulseq/pulseq`` ``doc/specification.tex``; v1.4.1 and
v1.5.x) and ``doc/pulseq_shapes_and_times.pdf``. Field layouts by version (the tables, not the prose,
which miscounts fields):

========  ===============================  ===============================  ===========================
version   [BLOCKS]                         [RF]                             [GRADIENTS] / [ADC]
========  ===============================  ===============================  ===========================
1.2.x     id delay rf gx gy gz adc         id amp mag ph delay freq phase   id amp shape delay /
                                                                            id num dwell delay freq ph
1.3.x     ... adc ext                      as 1.2                           as 1.2
1.4.x     id dur rf gx gy gz adc ext       id amp mag ph time delay f ph    id amp shape time delay
1.5.x     as 1.4                           + center, freq_ppm, phase_ppm,   id amp first last shape
                                           use (12 fields)                  time delay; ADC 9 fields
========  ===============================  ===============================  ===========================

Every error is a :class:`~wavegen.errors.SeqFormatError` whose message starts with ``file:line:`` and
says what is wrong. Extensions wavegen does not know are kept (:class:`UnknownExtension`) and logged;
one listed in ``RequiredExtensions`` is an error, as the specification demands.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import re
import warnings
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import SeqFormatError, WavegenError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T
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
from wavegen.sequence.sequence import Sequence
from wavegen.sequence.shapes import Shape, decompress_shape

__all__ = ["read_seq", "RASTER_KEYS", "KNOWN_EXTENSIONS"]

log = logging.getLogger(__name__)

#: Definitions holding the rasters (seconds), and the Sequence attribute (ns) each sets.
RASTER_KEYS = {
    "GradientRasterTime": "grad_raster_ns",
    "RadiofrequencyRasterTime": "rf_raster_ns",
    "AdcRasterTime": "adc_raster_ns",
    "BlockDurationRaster": "block_raster_ns",
}

KNOWN_EXTENSIONS = ("TRIGGERS", "LABELSET", "LABELINC", "DELAYS", "ROTATIONS", "RF_SHIMS")

_INT_RE = re.compile(r"[+-]?\d+\Z")


class _Src:
    """The file being read: its name and lines, for messages."""

    def __init__(self, name: str, lines: list[str]) -> None:
        self.name = name
        self.lines = lines

    def err(self, lineno: int, msg: str) -> SeqFormatError:
        if lineno > 0:
            return SeqFormatError(f"{self.name}:{lineno}: {msg}")
        return SeqFormatError(f"{self.name}: {msg}")


_MAX_INT = 1 << 53  # ids, counts and ns: beyond this nothing is physical and int64 products overflow
_MAX_FLOAT = 1e15  # |amplitudes|, frequencies, phases, shape samples: 1e15 Hz/m is 2e7 T/m


def _int(src: _Src, ln: int, tok: str, what: str) -> int:
    if _INT_RE.match(tok):
        v = int(tok)
        if abs(v) >= _MAX_INT:
            raise src.err(ln, f"{what} = {tok} is out of range (|value| < 2**53)")
        return v
    try:
        f = float(tok)
    except ValueError:
        raise src.err(ln, f"{what} = {tok!r} is not a number") from None
    if not math.isfinite(f) or f != math.floor(f):
        raise src.err(ln, f"{what} = {tok!r} must be an integer")
    if abs(f) >= _MAX_INT:
        raise src.err(ln, f"{what} = {tok} is out of range (|value| < 2**53)")
    return int(f)


def _float(src: _Src, ln: int, tok: str, what: str) -> float:
    try:
        f = float(tok)
    except ValueError:
        raise src.err(ln, f"{what} = {tok!r} is not a number") from None
    if not math.isfinite(f):
        raise src.err(ln, f"{what} = {tok!r} is not finite")
    if abs(f) > _MAX_FLOAT:
        raise src.err(ln, f"{what} = {tok} is out of range (|value| <= 1e15)")
    return f


def _ns(src: _Src, ln: int, tok: str, what: str, scale: int) -> int:
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
    if abs(v) >= _MAX_INT:
        raise src.err(ln, f"{what} = {tok} is out of range")
    return v


_HEADER_RE = re.compile(r"^[ \t]*(\[[^\n]*?|extension[ \t][^\n]*?)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)


def _split_sections(src: _Src, text: str) -> list[tuple[str, int, str, int]]:
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


def _body_lines(body: str, first_ln: int) -> list[tuple[int, str]]:
    """(line number, stripped line) of a section body; blank lines kept as '', comments dropped."""
    out = []
    for i, raw in enumerate(body.split("\n")):
        s = raw.strip()
        if not s.startswith("#"):
            out.append((first_ln + i, s))
    while out and not out[-1][1]:
        out.pop()
    return out


def _rows(body: list[tuple[int, str]]) -> list[tuple[int, list[str]]]:
    return [(ln, s.split()) for ln, s in body if s]


def _check_nf(src: _Src, ln: int, tok: list[str], n: int, section: str, layout: str) -> None:
    if len(tok) != n:
        raise src.err(ln, f"{section} line has {len(tok)} fields, expected {n} ({layout})")


def read_seq(
    path: str | os.PathLike[str],
    *,
    verify_signature: bool = True,
    gamma_hz_per_t: float | None = None,
    b0_t: float | None = None,
) -> Sequence:
    """Read a Pulseq ``.seq`` file (versions 1.2.0 - 1.5.1).

    Parameters
    ----------
    path
        The file.
    verify_signature
        Check the ``[SIGNATURE]`` md5 if the file has one (default True).
    gamma_hz_per_t
        Gyromagnetic ratio for Hz -> T; default: the file's ``Gamma`` definition, else 42.576e6 Hz/T.
    b0_t
        Main field for ppm offsets; default: the file's ``B0`` definition, if any.

    Raises
    ------
    SeqFormatError
        Naming the file, the line and what is wrong.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise SeqFormatError(f"{name}: cannot read the file: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise SeqFormatError(f"{name}:{line}: not a text file (byte {e.start} is not UTF-8)") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    src = _Src(name, [])
    try:
        return _parse(src, text, data, verify_signature, gamma_hz_per_t, b0_t)
    except SeqFormatError:
        raise
    except WavegenError as e:  # a value check inside an event constructor
        raise SeqFormatError(f"{name}: {e}") from e


def _parse(
    src: _Src, text: str, data: bytes, verify_signature: bool, gamma: float | None, b0: float | None
) -> Sequence:
    sections = _split_sections(src, text)
    by_name: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    blocks_sec: tuple[int, str, int] | None = None
    ext_specs: list[tuple[str, int, int, list[tuple[int, str]]]] = []
    for header, ln, body, first_ln in sections:
        if header.startswith("["):
            key = header.upper()
            if key in by_name:
                raise src.err(ln, f"section {header} appears twice (first at line {by_name[key][0]})")
            if key == "[BLOCKS]":
                blocks_sec = (ln, body, first_ln)
                by_name[key] = (ln, [])
            else:
                by_name[key] = (ln, _body_lines(body, first_ln))
        else:
            tok = header.split()
            if len(tok) != 3:
                raise src.err(ln, f"extension header {header!r} must be 'extension NAME ID'")
            ext_specs.append((tok[1], _int(src, ln, tok[2], "extension type id"), ln, _body_lines(body, first_ln)))
    known = {
        "[VERSION]",
        "[DEFINITIONS]",
        "[BLOCKS]",
        "[RF]",
        "[GRADIENTS]",
        "[TRAP]",
        "[ADC]",
        "[DELAYS]",
        "[SHAPES]",
        "[EXTENSIONS]",
        "[SIGNATURE]",
    }
    for key, (ln, _) in by_name.items():
        if key not in known:
            raise src.err(ln, f"unknown section {key}")

    # --- signature --------------------------------------------------------------------------------
    if "[SIGNATURE]" in by_name and verify_signature:
        _check_signature(src, data, *by_name["[SIGNATURE]"])

    # --- version ----------------------------------------------------------------------------------
    if "[VERSION]" not in by_name:
        raise src.err(0, "no [VERSION] section; cannot tell the format version")
    vln, vbody = by_name["[VERSION]"]
    ver = {}
    for ln, tok in _rows(vbody):
        if len(tok) != 2 or tok[0].lower() not in ("major", "minor", "revision"):
            raise src.err(ln, f"[VERSION] line {' '.join(tok)!r} must be 'major|minor|revision N'")
        m = re.match(r"\d+", tok[1])
        if not m:
            raise src.err(ln, f"[VERSION] {tok[0]} = {tok[1]!r} is not a number")
        ver[tok[0].lower()] = int(m.group(0))
    for k in ("major", "minor"):
        if k not in ver:
            raise src.err(vln, f"[VERSION] has no '{k}' line")
    version = (ver["major"], ver["minor"], ver.get("revision", 0))
    vc = version[0] * 1_000_000 + version[1] * 1000 + version[2]
    if vc < 1_002_000:
        raise src.err(vln, f"format version {'.'.join(map(str, version))} is older than 1.2.0, not supported")
    if vc >= 1_006_000:
        log.warning("%s: format version %s is newer than 1.5.x; reading it as 1.5", src.name, version)

    # --- definitions ------------------------------------------------------------------------------
    defs: dict[str, str] = {}
    def_lines: dict[str, int] = {}
    if "[DEFINITIONS]" in by_name:
        for ln, s in by_name["[DEFINITIONS]"][1]:
            if not s:
                continue
            parts = s.split(None, 1)
            defs[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
            def_lines[parts[0]] = ln
    seq = Sequence(gamma_hz_per_t=GAMMA_PULSEQ_HZ_PER_T)
    for key, attr in RASTER_KEYS.items():
        if key in defs:
            ln = def_lines[key]
            val = _float(src, ln, defs.pop(key), key)
            ns = val * 1e9
            if val <= 0 or abs(ns - round(ns)) > max(1e-6, 1e-12 * ns):
                raise src.err(ln, f"{key} = {val!r} s must be a positive whole number of ns")
            setattr(seq, attr, int(round(ns)))
        elif vc >= 1_004_000:
            raise src.err(0, f"[DEFINITIONS] lacks {key}, required since format 1.4.0")
    lower = {k.lower(): k for k in defs}
    if gamma is None and "gamma" in lower:
        k = lower["gamma"]
        gamma = _float(src, def_lines[k], defs[k].split()[0], k)
        if gamma <= 0:
            raise src.err(def_lines[k], f"{k} = {gamma!r} Hz/T must be > 0")
    if gamma is not None:
        seq.gamma_hz_per_t = float(gamma)
    if b0 is None and "b0" in lower:
        k = lower["b0"]
        b0 = _float(src, def_lines[k], defs[k].split()[0], k)
    seq.b0_t = b0
    seq.definitions = defs
    seq.file_version = version
    required = defs.get("RequiredExtensions", "").split()

    # --- shapes -----------------------------------------------------------------------------------
    shapes_raw = _read_shapes(src, by_name.get("[SHAPES]"))
    shape_cache: dict[int, Shape] = {}

    def shape(sid: int, ln: int, what: str) -> Shape:
        s = shape_cache.get(sid)
        if s is None:
            if sid not in shapes_raw:
                raise src.err(ln, f"{what} refers to shape {sid}, which [SHAPES] does not define")
            sln, num, toks = shapes_raw[sid]
            samples = decompress_shape(toks, num, force=vc < 1_004_000, where=f"{src.name}:{sln}")
            s = Shape(samples, encoded=toks if vc >= 1_004_000 else None)
            shape_cache[sid] = s
        return s

    # --- events -----------------------------------------------------------------------------------
    rf_lib = _read_rf(src, by_name.get("[RF]"), vc, shape, seq.rf_raster_ns)
    grad_lib = _read_grads(src, by_name.get("[GRADIENTS]"), by_name.get("[TRAP]"), vc, shape)
    adc_lib = _read_adc(src, by_name.get("[ADC]"), vc, shape)
    delays: dict[int, int] = {}
    if "[DELAYS]" in by_name:
        dln, dbody = by_name["[DELAYS]"]
        if vc >= 1_004_000:
            raise src.err(dln, "[DELAYS] is not allowed from format 1.4.0 on (block durations replace it)")
        for ln, tok in _rows(dbody):
            _check_nf(src, ln, tok, 2, "[DELAYS]", "id delay_us")
            delays[_int(src, ln, tok[0], "delay id")] = _ns(src, ln, tok[1], "delay", 1000)

    # --- extensions -------------------------------------------------------------------------------
    ext_events: dict[int, dict[int, ExtensionEvent]] = {}
    ext_names: dict[int, str] = {}
    unknown: list[str] = []
    for nm, tid, ln, ext_body in ext_specs:
        if tid in ext_names:
            raise src.err(ln, f"extension type id {tid} is used by {ext_names[tid]} and {nm}")
        ext_names[tid] = nm
        if nm not in KNOWN_EXTENSIONS:
            if nm in required:
                raise src.err(ln, f"extension {nm} is listed in RequiredExtensions but wavegen does not support it")
            log.warning("%s:%d: extension %s is not interpreted by wavegen; kept as is", src.name, ln, nm)
            unknown.append(nm)
        ext_events[tid] = _read_ext(src, nm, ext_body)
    for r in required:
        if r not in KNOWN_EXTENSIONS:
            raise src.err(def_lines.get("RequiredExtensions", 0), f"required extension {r} is not supported")
    seq.unknown_extensions = tuple(unknown)
    ext_lists = _read_ext_lists(src, by_name.get("[EXTENSIONS]"), ext_events, ext_names)

    # --- blocks -----------------------------------------------------------------------------------
    if blocks_sec is None:
        raise src.err(0, "no [BLOCKS] section")
    _read_blocks(src, seq, blocks_sec, vc, rf_lib, grad_lib, adc_lib, delays, ext_lists)
    return seq


def _check_signature(src: _Src, data: bytes, ln: int, body: list[tuple[int, str]]) -> None:
    kv: dict[str, str] = {}
    for _, s in body:
        if s and not s.startswith("#"):
            p = s.split(None, 1)
            kv[p[0].lower()] = p[1].strip() if len(p) > 1 else ""
    typ = kv.get("type", "").lower()
    want = kv.get("hash", "").lower()
    if not want:
        raise src.err(ln, "[SIGNATURE] has no Hash line")
    if typ != "md5":
        raise src.err(ln, f"[SIGNATURE] Type {typ!r} is not supported (only md5); pass verify_signature=False")
    pos = data.rfind(b"\n[SIGNATURE]")
    if pos < 0:
        pos = data.rfind(b"[SIGNATURE]")
    candidates = [data[:pos]]
    if pos > 0 and data[pos - 1 : pos] == b"\r":
        candidates.append(data[: pos - 1])
    got = [hashlib.md5(c).hexdigest() for c in candidates]
    if want not in got:
        raise src.err(
            ln,
            f"[SIGNATURE] md5 {want} does not match the file's {got[0]}: the file was changed or truncated",
        )


def _read_shapes(src: _Src, sec: tuple[int, list[tuple[int, str]]] | None) -> dict[int, tuple[int, int, np.ndarray]]:
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
        sid = _int(src, ln, tok[1], "shape_id")
        if sid in out:
            raise src.err(ln, f"shape {sid} is defined twice (first at line {out[sid][0]})")
        if i + 1 >= n or not body[i + 1][1]:
            raise src.err(ln, f"shape {sid} has no num_samples line (truncated)")
        ln2, s2 = body[i + 1]
        tok2 = s2.split()
        if len(tok2) != 2 or tok2[0].lower() not in ("num_samples", "num_uncompressed"):
            raise src.err(ln2, f"expected 'num_samples N' after shape_id {sid}, found {s2[:40]!r}")
        num = _int(src, ln2, tok2[1], "num_samples")
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
                _float(src, body[i + 2 + k][0], v, f"shape {sid} sample")
            raise src.err(ln, f"shape {sid}: bad sample") from None
        bad_tok = ~np.isfinite(toks) | (np.abs(toks) > _MAX_FLOAT)
        if np.any(bad_tok):
            k = int(np.flatnonzero(bad_tok)[0])
            raise src.err(body[i + 2 + k][0], f"shape {sid} sample {vals[k]!r} is not finite or out of range")
        out[sid] = (ln, num, toks)
        i = j
    return out


def _read_rf(src: _Src, sec: Any, vc: int, shape: Any, rf_raster_ns: int) -> dict[int, tuple[int, RFEvent]]:
    lib: dict[int, tuple[int, RFEvent]] = {}
    if sec is None:
        return lib
    if vc >= 1_005_000:
        nf, layout = 12, "id amp mag_id phase_id time_id center delay freq_ppm phase_ppm freq phase use"
    elif vc >= 1_004_000:
        nf, layout = 8, "id amp mag_id phase_id time_id delay freq phase"
    else:
        nf, layout = 7, "id amp mag_id phase_id delay freq phase"
    for ln, tok in _rows(sec[1]):
        _check_nf(src, ln, tok, nf, "[RF]", layout)
        rid = _int(src, ln, tok[0], "RF id")
        if rid <= 0 or rid in lib:
            raise src.err(ln, f"RF id {rid} is {'not positive' if rid <= 0 else 'defined twice'}")
        amp = _float(src, ln, tok[1], "RF amplitude")
        mag = shape(_int(src, ln, tok[2], "mag_id"), ln, f"RF {rid} magnitude")
        pid = _int(src, ln, tok[3], "phase_id")
        phase = shape(pid, ln, f"RF {rid} phase") if pid else Shape(np.zeros(len(mag)))
        if len(phase) != len(mag):
            raise src.err(ln, f"RF {rid}: phase shape has {len(phase)} samples, magnitude {len(mag)}")
        if np.any(np.abs(mag.samples) > 1 + 1e-6):
            raise src.err(ln, f"RF {rid}: magnitude shape exceeds 1 (max {float(np.max(np.abs(mag.samples)))!r})")
        tshape = None
        rest = tok[4:]
        if vc >= 1_004_000:
            tid = _int(src, ln, tok[4], "time_id")
            if tid < 0:
                raise src.err(ln, f"RF {rid}: time_id {tid} is not allowed for RF")
            if tid:
                tshape = shape(tid, ln, f"RF {rid} time")
                if len(tshape) != len(mag):
                    raise src.err(ln, f"RF {rid}: time shape has {len(tshape)} samples, magnitude {len(mag)}")
            rest = tok[5:]
        use = "u"
        if vc >= 1_005_000:
            center_us = _float(src, ln, rest[0], "RF center")
            delay = _ns(src, ln, rest[1], "RF delay", 1000)
            fppm = _float(src, ln, rest[2], "freq_ppm")
            pppm = _float(src, ln, rest[3], "phase_ppm")
            freq = _float(src, ln, rest[4], "RF freq")
            ph = _float(src, ln, rest[5], "RF phase")
            use = rest[6]
            if use not in ("e", "r", "i", "s", "p", "o", "u"):
                raise src.err(ln, f"RF {rid}: use {use!r} is not one of e r i s p o u")
        else:
            delay = _ns(src, ln, rest[0], "RF delay", 1000)
            freq = _float(src, ln, rest[1], "RF freq")
            ph = _float(src, ln, rest[2], "RF phase")
            fppm = pppm = 0.0
            center_us = _rf_center_us(mag, tshape, rf_raster_ns)
        lib[rid] = (ln, RFEvent(amp, mag, phase, tshape, center_us, delay, fppm, pppm, freq, ph, use))
    return lib


def _rf_center_us(mag: Shape, tshape: Shape | None, rf_raster_ns: int) -> float:
    """Centre of an RF pulse from a pre-1.5 file (no centre field), us: as pypulseq's calc_rf_center,
    the middle of the samples within 1e-5 of the peak magnitude."""
    m = np.abs(mag.samples)
    peak = float(m.max())
    idx = np.flatnonzero(m >= peak * 0.99999)
    t = tshape.samples if tshape is not None else np.arange(m.size) + 0.5
    return float((t[idx[0]] + t[idx[-1]]) / 2) * rf_raster_ns / 1000


def _read_grads(src: _Src, gsec: Any, tsec: Any, vc: int, shape: Any) -> dict[int, tuple[int, Any]]:
    lib: dict[int, tuple[int, Any]] = {}
    if gsec is not None:
        if vc >= 1_005_000:
            nf, layout = 7, "id amp first last shape_id time_id delay"
        elif vc >= 1_004_000:
            nf, layout = 5, "id amp shape_id time_id delay"
        else:
            nf, layout = 4, "id amp shape_id delay"
        for ln, tok in _rows(gsec[1]):
            _check_nf(src, ln, tok, nf, "[GRADIENTS]", layout)
            gid = _int(src, ln, tok[0], "gradient id")
            if gid <= 0 or gid in lib:
                raise src.err(ln, f"gradient id {gid} is {'not positive' if gid <= 0 else 'defined twice'}")
            amp = _float(src, ln, tok[1], "gradient amplitude")
            first = last = 0.0
            rest = tok[2:]
            if vc >= 1_005_000:
                first = _float(src, ln, tok[2], "first")
                last = _float(src, ln, tok[3], "last")
                rest = tok[4:]
            sh = shape(_int(src, ln, rest[0], "shape_id"), ln, f"gradient {gid}")
            tid = _int(src, ln, rest[1], "time_id") if vc >= 1_004_000 else 0
            delay = _ns(src, ln, rest[-1], "gradient delay", 1000)
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
                tsh = shape(tid, ln, f"gradient {gid} time")
                if len(tsh) != len(sh):
                    raise src.err(ln, f"gradient {gid}: time shape has {len(tsh)} samples, waveform {len(sh)}")
                if np.any(np.diff(tsh.samples) < 0) or tsh.samples[0] < 0:
                    raise src.err(ln, f"gradient {gid}: time shape {tid} is not non-decreasing from >= 0")
            elif tid < 0:
                raise src.err(ln, f"gradient {gid}: time_id {tid} is not valid")
            if vc < 1_005_000 and tsh is not None:
                w = amp * sh.samples
                first, last = float(w[0]), float(w[-1])
            lib[gid] = (ln, ArbGradient(amp, sh, first, last, delay, tsh, over))
    if tsec is not None:
        for ln, tok in _rows(tsec[1]):
            _check_nf(src, ln, tok, 6, "[TRAP]", "id amp rise flat fall delay")
            gid = _int(src, ln, tok[0], "trapezoid id")
            if gid <= 0 or gid in lib:
                raise src.err(
                    ln,
                    f"gradient id {gid} is "
                    + ("not positive" if gid <= 0 else f"defined twice (also line {lib[gid][0]})"),
                )
            amp = _float(src, ln, tok[1], "trapezoid amplitude")
            r, f, fa, d = (
                _ns(src, ln, tok[k], nm, 1000) for k, nm in ((2, "rise"), (3, "flat"), (4, "fall"), (5, "delay"))
            )
            for v, nm in ((r, "rise"), (f, "flat"), (fa, "fall"), (d, "delay")):
                if v < 0:
                    raise src.err(ln, f"trapezoid {gid}: {nm} = {v / 1000:g} us is negative")
            lib[gid] = (ln, TrapGradient(amp, r, f, fa, d))
    return lib


def _read_adc(src: _Src, sec: Any, vc: int, shape: Any) -> dict[int, tuple[int, ADCEvent]]:
    lib: dict[int, tuple[int, ADCEvent]] = {}
    if sec is None:
        return lib
    if vc >= 1_005_000:
        nf, layout = 9, "id num dwell delay freq_ppm phase_ppm freq phase phase_id"
    else:
        nf, layout = 6, "id num dwell delay freq phase"
    for ln, tok in _rows(sec[1]):
        _check_nf(src, ln, tok, nf, "[ADC]", layout)
        aid = _int(src, ln, tok[0], "ADC id")
        if aid <= 0 or aid in lib:
            raise src.err(ln, f"ADC id {aid} is {'not positive' if aid <= 0 else 'defined twice'}")
        num = _int(src, ln, tok[1], "ADC num")
        if num < 1:
            raise src.err(ln, f"ADC {aid}: num = {num} samples must be >= 1")
        dwell = _ns(src, ln, tok[2], "ADC dwell", 1)
        if dwell < 1:
            raise src.err(ln, f"ADC {aid}: dwell = {dwell} ns must be >= 1 ns")
        delay = _ns(src, ln, tok[3], "ADC delay", 1000)
        if delay < 0:
            raise src.err(ln, f"ADC {aid}: delay is negative")
        if vc >= 1_005_000:
            fppm, pppm, f, p = (
                _float(src, ln, tok[k], nm) for k, nm in ((4, "freq_ppm"), (5, "phase_ppm"), (6, "freq"), (7, "phase"))
            )
            pid = _int(src, ln, tok[8], "phase_id")
            psh = shape(pid, ln, f"ADC {aid} phase") if pid else None
            if psh is not None and len(psh) != num:
                raise src.err(ln, f"ADC {aid}: phase shape has {len(psh)} samples, ADC {num}")
        else:
            fppm = pppm = 0.0
            f = _float(src, ln, tok[4], "freq")
            p = _float(src, ln, tok[5], "phase")
            psh = None
        lib[aid] = (ln, ADCEvent(num, dwell, delay, fppm, pppm, f, p, psh))
    return lib


def _read_ext(src: _Src, nm: str, body: list[tuple[int, str]]) -> dict[int, ExtensionEvent]:
    out: dict[int, ExtensionEvent] = {}
    for ln, tok in _rows(body):
        eid = _int(src, ln, tok[0], f"{nm} id")
        if eid in out:
            raise src.err(ln, f"{nm} id {eid} is defined twice")
        ev: ExtensionEvent
        if nm == "TRIGGERS":
            _check_nf(src, ln, tok, 5, "TRIGGERS", "id type channel delay_us duration_us")
            ev = Trigger(
                _int(src, ln, tok[1], "trigger type"),
                _int(src, ln, tok[2], "trigger channel"),
                _ns(src, ln, tok[3], "trigger delay", 1000),
                _ns(src, ln, tok[4], "trigger duration", 1000),
            )
        elif nm in ("LABELSET", "LABELINC"):
            _check_nf(src, ln, tok, 3, nm, "id value LABEL")
            if tok[2] not in SUPPORTED_LABELS:
                log.warning("%s:%d: label %s is not a known Pulseq label; kept", src.name, ln, tok[2])
            cls = LabelSet if nm == "LABELSET" else LabelInc
            ev = cls(tok[2], _int(src, ln, tok[1], "label value"))
        elif nm == "DELAYS":
            _check_nf(src, ln, tok, 5, "DELAYS", "id num offset_us factor hint")
            ev = SoftDelay(
                _int(src, ln, tok[1], "soft delay num"),
                _ns(src, ln, tok[2], "soft delay offset", 1000),
                _float(src, ln, tok[3], "soft delay factor"),
                tok[4],
            )
        elif nm == "ROTATIONS":
            if len(tok) == 5:
                q = [_float(src, ln, t, "quaternion") for t in tok[1:]]
            elif len(tok) == 10:
                q = _matrix_to_quaternion(np.array([_float(src, ln, t, "rotation") for t in tok[1:]]).reshape(3, 3))
            else:
                raise src.err(ln, f"ROTATIONS line has {len(tok)} fields, expected 5 (id q0 qx qy qz) or 10")
            try:
                ev = Rotation(*q)
            except WavegenError as e:
                raise src.err(ln, str(e)) from None
        elif nm == "RF_SHIMS":
            n = _int(src, ln, tok[1], "RF shim channels") if len(tok) > 1 else 0
            _check_nf(src, ln, tok, 2 + 2 * n, "RF_SHIMS", "id n mag1 phase1 ...")
            vals = [_float(src, ln, t, "RF shim") for t in tok[2:]]
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


def _read_ext_lists(
    src: _Src, sec: Any, events: dict[int, dict[int, ExtensionEvent]], names: dict[int, str]
) -> dict[int, tuple[int, tuple[ExtensionEvent, ...]]]:
    if sec is None:
        return {}
    nodes: dict[int, tuple[int, int, int, int]] = {}
    for ln, tok in _rows(sec[1]):
        _check_nf(src, ln, tok, 4, "[EXTENSIONS]", "id type ref next")
        nid, typ, ref, nxt = (_int(src, ln, t, "extension field") for t in tok)
        if nid <= 0 or nid in nodes:
            raise src.err(ln, f"extension list id {nid} is {'not positive' if nid <= 0 else 'defined twice'}")
        nodes[nid] = (ln, typ, ref, nxt)
    out: dict[int, tuple[int, tuple[ExtensionEvent, ...]]] = {}
    for head, (hln, *_rest) in nodes.items():
        evs: list[ExtensionEvent] = []
        cur = head
        seen = set()
        while cur:
            if cur in seen:
                raise src.err(hln, f"extension list starting at {head} loops back to {cur}")
            seen.add(cur)
            if cur not in nodes:
                raise src.err(hln, f"extension list {head} links to {cur}, which [EXTENSIONS] does not define")
            ln, typ, ref, nxt = nodes[cur]
            if typ not in names:
                raise src.err(ln, f"extension type {typ} has no 'extension NAME {typ}' specification")
            ev = events[typ].get(ref)
            if ev is None:
                raise src.err(ln, f"extension {names[typ]} has no entry {ref}")
            evs.append(ev)
            cur = nxt
        out[head] = (hln, tuple(evs))
    return out


def _read_blocks(
    src: _Src,
    seq: Sequence,
    sec: tuple[int, str, int],
    vc: int,
    rf_lib: dict[int, tuple[int, RFEvent]],
    grad_lib: dict[int, tuple[int, Any]],
    adc_lib: dict[int, tuple[int, ADCEvent]],
    delays: dict[int, int],
    ext_lists: dict[int, tuple[int, tuple[ExtensionEvent, ...]]],
) -> None:
    sec_ln, body, first_ln = sec
    nf = 7 if vc <= 1_002_001 else 8
    layout = "id delay rf gx gy gz adc" + ("" if nf == 7 else " ext")
    if vc >= 1_004_000:
        layout = "id duration rf gx gy gz adc ext"
    row_lines: list[int] = []

    def lns_of() -> list[int]:
        if not row_lines:
            for i, raw in enumerate(body.split("\n")):
                t = raw.strip()
                if t and not t.startswith("#"):
                    row_lines.append(first_ln + i)
        return row_lines

    class _Lines:
        def __getitem__(self, r: int) -> int:
            return lns_of()[r]

    lns = _Lines()
    tab: np.ndarray | None = None
    if body.strip():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tab = np.loadtxt(io.StringIO(body), dtype=np.int64, comments="#", ndmin=2)
            if tab.shape[1] != nf or tab.shape[0] == 0:
                tab = None
        except (ValueError, OverflowError):
            tab = None
    if tab is None:
        rows = [(ln, t.split()) for ln, t in _body_lines(body, first_ln) if t]
        if not rows:
            raise src.err(sec_ln, "[BLOCKS] is empty; a sequence needs at least one block")
        vals = []
        for ln, tok in rows:
            _check_nf(src, ln, tok, nf, "[BLOCKS]", layout)
            vals.append([_int(src, ln, t, "block field") for t in tok])
        tab = np.array(vals, dtype=np.int64).reshape(len(rows), nf)

    if nf == 7:
        tab = np.concatenate([tab, np.zeros((tab.shape[0], 1), dtype=np.int64)], axis=1)
    ids = tab[:, 0]
    if np.any(tab < 0):
        r = int(np.argwhere(tab < 0)[0, 0])
        raise src.err(lns[r], "a block field is negative")
    if np.unique(ids).size != ids.size:
        _, first = np.unique(ids, return_index=True)
        dup = sorted(set(range(ids.size)) - set(first.tolist()))[0]
        raise src.err(lns[dup], f"block id {int(ids[dup])} appears twice")

    def check_ids(col: int, lib: dict[int, Any], what: str) -> None:
        used = tab[:, col]
        bad = (used > 0) & ~np.isin(used, np.fromiter(lib.keys(), dtype=np.int64, count=len(lib)))
        if np.any(bad):
            r = int(np.flatnonzero(bad)[0])
            raise src.err(lns[r], f"block {int(ids[r])} refers to {what} {int(used[r])}, which is not defined")

    check_ids(2, rf_lib, "RF event")
    for col, ax in ((3, "gx"), (4, "gy"), (5, "gz")):
        check_ids(col, grad_lib, f"{ax} gradient")
    check_ids(6, adc_lib, "ADC event")
    check_ids(7, ext_lists, "extension list")
    if vc < 1_004_000:
        check_ids(1, delays, "delay")

    graster, rraster = seq.grad_raster_ns, seq.rf_raster_ns
    if vc < 1_005_000:
        _fill_first_last(tab, grad_lib, graster, rraster, seq.block_raster_ns, rf_lib, adc_lib, delays, vc)

    # durations of events, by id
    def ends(lib: dict[int, tuple[int, Any]], raster: int) -> dict[int, int]:
        return {k: ev.duration_ns(raster) for k, (_, ev) in lib.items()}

    end_rf, end_g, end_adc = ends(rf_lib, rraster), ends(grad_lib, graster), ends(adc_lib, 0)
    need = np.zeros(tab.shape[0], dtype=np.int64)
    for col, e in ((2, end_rf), (3, end_g), (4, end_g), (5, end_g), (6, end_adc)):
        if e:
            keys = np.fromiter(e.keys(), dtype=np.int64, count=len(e))
            end_vals = np.fromiter(e.values(), dtype=np.int64, count=len(e))
            order = np.argsort(keys)
            used = tab[:, col]
            pos = np.searchsorted(keys[order], used)
            pos = np.clip(pos, 0, keys.size - 1)
            need = np.maximum(need, np.where(used > 0, end_vals[order][pos], 0))
    for b in np.flatnonzero(tab[:, 7] > 0).tolist():
        for ev in ext_lists[int(tab[b, 7])][1]:
            if isinstance(ev, Trigger):
                need[b] = max(need[b], ev.delay_ns + ev.duration_ns)
    if vc >= 1_004_000:
        dur = tab[:, 1] * seq.block_raster_ns
        bad = need > dur
        if np.any(bad):
            r = int(np.flatnonzero(bad)[0])
            raise src.err(
                lns[r],
                f"block {int(ids[r])}: an event lasts {int(need[r]) / 1000:g} us, longer than the block "
                f"duration {int(dur[r]) / 1000:g} us",
            )
    else:
        dl = np.array([delays.get(int(d), 0) for d in tab[:, 1].tolist()], dtype=np.int64)
        dur = np.maximum(need, dl)

    for k, (_, rf_ev) in rf_lib.items():
        seq._rf.insert(k, rf_ev)
    for k, (_, g_ev) in grad_lib.items():
        seq._grad.insert(k, g_ev)
    for k, (_, adc_ev) in adc_lib.items():
        seq._adc.insert(k, adc_ev)
    for k, (_, evs) in ext_lists.items():
        seq._ext.insert(k, evs)
    seq._cols = [dur.tolist()] + [tab[:, c].tolist() for c in range(2, 8)]
    seq._arrays = None


def _fill_first_last(
    tab: np.ndarray,
    grad_lib: dict[int, tuple[int, Any]],
    graster: int,
    rraster: int,
    block_raster: int,
    rf_lib: dict[int, tuple[int, RFEvent]],
    adc_lib: dict[int, tuple[int, ADCEvent]],
    delays: dict[int, int],
    vc: int,
) -> None:
    """Files before 1.5 lack an arbitrary gradient's first/last values: derive them as Pulseq does.

    ``first`` is the last value of the same axis in the previous block when that gradient ended on the
    block boundary (else 0); ``last`` is extrapolated half a raster from the final two samples. An event
    used in several blocks takes the values of its first use.
    """
    from dataclasses import replace

    if not any(isinstance(ev, ArbGradient) and ev.time_shape is None for _, ev in grad_lib.values()):
        return
    done: set[int] = set()
    prev = [0.0, 0.0, 0.0]
    for b in range(tab.shape[0]):
        row = tab[b]
        if vc >= 1_004_000:
            bdur = int(row[1]) * block_raster
        else:
            ends = [delays.get(int(row[1]), 0)]
            if row[2]:
                ends.append(rf_lib[int(row[2])][1].duration_ns(rraster))
            if row[6]:
                ends.append(adc_lib[int(row[6])][1].duration_ns())
            for c in (3, 4, 5):
                if row[c]:
                    ends.append(grad_lib[int(row[c])][1].duration_ns(graster))
            bdur = max(ends)
        for axis, c in enumerate((3, 4, 5)):
            gid = int(row[c])
            ev = grad_lib[gid][1] if gid else None
            if not isinstance(ev, ArbGradient):
                prev[axis] = 0.0
                continue
            if ev.time_shape is None and gid not in done:
                w = ev.waveform_hz_per_m
                first = 0.0 if ev.delay_ns > 0 else prev[axis]
                last = float((3 * w[-1] - w[-2]) * 0.5) if w.size >= 2 else float(w[-1])
                ev = replace(ev, first_hz_per_m=first, last_hz_per_m=last)
                grad_lib[gid] = (grad_lib[gid][0], ev)
                done.add(gid)
            prev[axis] = ev.last_hz_per_m if ev.duration_ns(graster) >= bdur else 0.0
