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
import os
import re
import warnings
from typing import Any

import numpy as np

from wavegen.errors import SeqFormatError, WavegenError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T
from wavegen.sequence.events import (
    ADCEvent,
    ArbGradient,
    ExtensionEvent,
    RFEvent,
    Trigger,
)
from wavegen.sequence.seq_sections import (
    _body_lines,
    _check_nf,
    _float,
    _int,
    _ns,
    _read_adc,
    _read_ext,
    _read_ext_lists,
    _read_grads,
    _read_rf,
    _read_shapes,
    _rows,
    _split_sections,
    _Src,
)
from wavegen.sequence.sequence import Sequence
from wavegen.sequence.shapes import Shape, decompress_shape

__all__ = ["read_seq", "RASTER_KEYS", "KNOWN_EXTENSIONS"]

logger = logging.getLogger(__name__)

#: Definitions holding the rasters (seconds), and the Sequence attribute (ns) each sets.
RASTER_KEYS = {
    "GradientRasterTime": "grad_raster_ns",
    "RadiofrequencyRasterTime": "rf_raster_ns",
    "AdcRasterTime": "adc_raster_ns",
    "BlockDurationRaster": "block_raster_ns",
}

KNOWN_EXTENSIONS = ("TRIGGERS", "LABELSET", "LABELINC", "DELAYS", "ROTATIONS", "RF_SHIMS")


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
        logger.warning("%s: format version %s is newer than 1.5.x; reading it as 1.5", src.name, version)

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
            logger.warning("%s:%d: extension %s is not interpreted by wavegen; kept as is", src.name, ln, nm)
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
