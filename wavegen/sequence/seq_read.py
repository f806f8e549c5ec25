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

import logging
import os
import re
import warnings
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.errors import SeqFormatError, WavegenError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T
from wavegen.sequence.blocktable import BlockTable, FileRows
from wavegen.sequence.events import (
    ADCEvent,
    ArbGradient,
    ExtensionEvent,
    RFEvent,
    Trigger,
)
from wavegen.sequence.seq_scan import BlocksBody, digests_of_bytes, scan
from wavegen.sequence.seq_sections import (
    MAX_INT,
    Src,
    body_lines,
    check_nf,
    data_rows,
    parse_float,
    parse_int,
    parse_ns,
    read_adc,
    read_ext,
    read_ext_lists,
    read_grads,
    read_rf,
    read_shapes,
    split_sections,
)
from wavegen.sequence.sequence import Sequence
from wavegen.sequence.shapes import Shape, decompress_shape
from wavegen.sequence.timebase import significant_digits, snap_raster_ns

__all__ = ["read_seq", "RASTER_KEYS", "KNOWN_EXTENSIONS", "PulseqWarning", "MAX_SAMPLES", "SIGNATURE_POLICIES"]

logger = logging.getLogger(__name__)

#: Definitions holding the rasters (seconds), and the Sequence attribute (ns) each sets.
RASTER_KEYS = {
    "GradientRasterTime": "grad_raster_ns",
    "RadiofrequencyRasterTime": "rf_raster_ns",
    "AdcRasterTime": "adc_raster_ns",
    "BlockDurationRaster": "block_raster_ns",
}

KNOWN_EXTENSIONS = ("TRIGGERS", "LABELSET", "LABELINC", "DELAYS", "ROTATIONS", "RF_SHIMS")


#: Default budget of decoded shape samples per file (and of samples per ADC event): 2**25 = 33.5 M
#: samples, 268 MB as float64. Files whose blocks bound their shapes (1.4.0 on) are also held to that.
MAX_SAMPLES = 1 << 25

#: Longest extension list (events in one block) read; the field uses a handful (labels, a trigger, a
#: rotation), a longer list is a hostile or broken file.
MAX_EXTENSIONS_PER_BLOCK = 256

#: Signature policies of :func:`read_seq`.
SIGNATURE_POLICIES = ("warn", "strict", "ignore")


class PulseqWarning(UserWarning):
    """A ``.seq`` file was read, but something in it deserves attention (signature mismatch, ...)."""


def read_seq(
    path: str | os.PathLike[str],
    *,
    signature: str = "warn",
    verify_signature: bool | None = None,
    gamma_hz_per_t: float | None = None,
    b0_t: float | None = None,
    max_samples: int = MAX_SAMPLES,
) -> Sequence:
    """Read a Pulseq ``.seq`` file (versions 1.2.0 - 1.5.1).

    Parameters
    ----------
    path
        The file.
    signature
        What a ``[SIGNATURE]`` that matches none of the known writer variants does: ``"warn"``
        (default: a :class:`PulseqWarning`, the sequence is read), ``"strict"`` (a
        :class:`~wavegen.errors.SeqFormatError`) or ``"ignore"`` (not checked). The variants accepted
        as a match are listed in ``docs/pulseq.md``; the safety check, not the signature, decides what
        plays.
    verify_signature
        Older spelling: True is ``signature="strict"``, False is ``"ignore"``.
    gamma_hz_per_t
        Gyromagnetic ratio for Hz -> T; default: the file's ``Gamma`` definition, else 42.576e6 Hz/T.
    b0_t
        Main field for ppm offsets; default: the file's ``B0`` definition, if any.
    max_samples
        Budget of decoded shape samples for the whole file, and the most samples one ADC event may
        declare (default :data:`MAX_SAMPLES`). Raise it to read a file with more.

    Raises
    ------
    SeqFormatError
        Naming the file, the line and what is wrong (a declared size beyond what the file's blocks
        can hold or beyond ``max_samples`` included).

    Warns
    -----
    PulseqWarning
        A signature mismatch (policy ``"warn"``), two ``[VERSION]`` sections (the last is used).
    """
    name = os.fspath(path)
    if verify_signature is not None:
        signature = "strict" if verify_signature else "ignore"
    if signature not in SIGNATURE_POLICIES:
        raise SeqFormatError(f"signature = {signature!r} must be one of {', '.join(SIGNATURE_POLICIES)}")
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise SeqFormatError(f"max_samples = {max_samples!r} must be an integer >= 1")
    try:
        # one streaming pass in chunks (bounded memory for any number of blocks); None: read it whole
        sc = scan(name, hash_signature=signature != "ignore")
        if sc is not None:
            text, blocks, digests = sc.text, sc.blocks, sc.digests
        else:
            with open(name, "rb") as fh:
                data = fh.read()
    except OSError as e:
        raise SeqFormatError(f"{name}: cannot read the file: {e.strerror or e}") from e
    if sc is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise SeqFormatError(f"{name}:{line}: not a text file (byte {e.start} is not UTF-8)") from None
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        blocks, digests = None, (digests_of_bytes(data) if signature != "ignore" else None)
        del data
    src = Src(name, [])
    try:
        return _parse(src, text, digests, blocks, signature, gamma_hz_per_t, b0_t, max_samples)
    except SeqFormatError:
        raise
    except WavegenError as e:  # a value check inside an event constructor
        raise SeqFormatError(f"{name}: {e}") from e
    except RecursionError:  # defensive: no recursion in the reader, but never let one escape
        raise SeqFormatError(f"{name}: the file nests too deeply to be read") from None


def _ns_text(ns: Any) -> str:
    """A raster in ns as text (``10000``, ``10001.6276``)."""
    return str(ns) if isinstance(ns, int) else f"{float(ns):.12g}"


def _base_limit(tpn: int) -> str:
    """The longest time the time base holds, as text."""
    if tpn == 1:
        return "2**53 ns (104 days)"
    return f"2**53 ticks of 1/{tpn} ns ({MAX_INT / tpn / 1e9 / 60:.3g} min)"


def _warn(msg: str) -> None:
    warnings.warn(msg, PulseqWarning, stacklevel=4)


def _raster_ns(src: Src, ln: int, key: str, tok: str) -> int | Fraction:
    """A raster definition (seconds) in ns: an int when whole, else the exact fraction the file means
    (:func:`wavegen.sequence.timebase.snap_raster_ns`)."""
    parse_float(src, ln, tok, key)  # a number, finite, in range
    try:
        ns = Fraction(tok) * 10**9
    except (ValueError, ZeroDivisionError):
        raise src.err(ln, f"{key} = {tok!r} is not a number") from None
    if ns <= 0:
        raise src.err(ln, f"{key} = {tok} s must be > 0")
    if ns > 10**9:
        # no MR system has a raster of a second; larger ones overflow the time base with a few samples
        raise src.err(ln, f"{key} = {tok} s is longer than the 1 s a raster may be")
    ns = snap_raster_ns(ns, significant_digits(tok))
    return int(ns) if ns.denominator == 1 else ns


def _parse(
    src: Src,
    text: str,
    digests: list[str] | None,
    scanned: BlocksBody | None,
    sig_policy: str,
    gamma: float | None,
    b0: float | None,
    max_samples: int,
) -> Sequence:
    sections = split_sections(src, text)
    by_name: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    blocks_sec: tuple[int, str, int] | None = None
    ext_specs: list[tuple[str, int, int, list[tuple[int, str]]]] = []
    for header, ln, body, first_ln in sections:
        if header.startswith("["):
            key = header.upper()
            if key == "[VERSION]" and key in by_name:
                # pypulseq reads every [VERSION] section and keeps the last; MATLAB's read.m too
                _warn(
                    f"{src.name}:{ln}: a second [VERSION] section (first at line {by_name[key][0]}); "
                    "the last one is used, as pypulseq and MATLAB Pulseq do"
                )
            elif key in by_name:
                raise src.err(ln, f"section {header} appears twice (first at line {by_name[key][0]})")
            if key == "[BLOCKS]":
                blocks_sec = (ln, body, first_ln)
                by_name[key] = (ln, [])
            else:
                by_name[key] = (ln, body_lines(body, first_ln))
        else:
            tok = header.split()
            if len(tok) != 3:
                raise src.err(ln, f"extension header {header!r} must be 'extension NAME ID'")
            ext_specs.append((tok[1], parse_int(src, ln, tok[2], "extension type id"), ln, body_lines(body, first_ln)))
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
    if "[SIGNATURE]" in by_name and sig_policy != "ignore":
        problem = _check_signature(digests, *by_name["[SIGNATURE]"])
        if problem is not None:
            if sig_policy == "strict":
                raise src.err(by_name["[SIGNATURE]"][0], problem)
            _warn(
                f"{src.name}:{by_name['[SIGNATURE]'][0]}: {problem}; read anyway (the safety check decides "
                "what plays; pass signature='strict' to refuse such files)"
            )

    # --- version ----------------------------------------------------------------------------------
    if "[VERSION]" not in by_name:
        raise src.err(0, "no [VERSION] section; cannot tell the format version")
    vln, vbody = by_name["[VERSION]"]
    ver = {}
    for ln, tok in data_rows(vbody):
        if len(tok) != 2 or tok[0].lower() not in ("major", "minor", "revision"):
            raise src.err(ln, f"[VERSION] line {' '.join(tok)!r} must be 'major|minor|revision N'")
        m = re.match(r"\d{1,6}", tok[1])
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
            tok = defs.pop(key).split()
            if len(tok) != 1:
                raise src.err(ln, f"{key} must be one number (seconds), found {len(tok)} fields")
            setattr(seq, attr, _raster_ns(src, ln, key, tok[0]))
        elif vc >= 1_004_000:
            raise src.err(0, f"[DEFINITIONS] lacks {key}, required since format 1.4.0")
    try:
        tpn = seq.ticks_per_ns  # the integer time base these rasters need (1 tick = 1 ns on whole-ns rasters)
    except WavegenError as e:
        fine = [k for k in ("GradientRasterTime", "RadiofrequencyRasterTime", "BlockDurationRaster") if k in def_lines]
        raise src.err(def_lines[fine[0]] if fine else 0, str(e)) from None
    lower = {k.lower(): k for k in defs}
    if gamma is None and "gamma" in lower:
        k = lower["gamma"]
        gamma = parse_float(src, def_lines[k], (defs[k].split() or [""])[0], k)
        if gamma <= 0:
            raise src.err(def_lines[k], f"{k} = {gamma!r} Hz/T must be > 0")
    if gamma is not None:
        seq.gamma_hz_per_t = float(gamma)
    if b0 is None and "b0" in lower:
        k = lower["b0"]
        b0 = parse_float(src, def_lines[k], (defs[k].split() or [""])[0], k)
        if b0 <= 0:
            raise src.err(def_lines[k], f"{k} = {b0!r} T must be > 0")
    seq.b0_t = b0
    seq.definitions = defs
    seq.file_version = version
    required = defs.get("RequiredExtensions", "").split()

    # --- blocks table first: its durations bound what the events may declare ----------------------
    if blocks_sec is None:
        raise src.err(0, "no [BLOCKS] section")
    tab, index, lns = _block_table(src, blocks_sec, vc, scanned)
    # tab: the distinct rows, in order of first appearance (column 0: the id of the first block with
    # the row); every check below runs on them and names the first block of the file that fails it
    if vc >= 1_004_000:
        r = int(np.argmax(tab[:, 1]))
        if int(tab[r, 1]) * seq.block_raster_ticks >= MAX_INT:
            raise src.err(
                lns[r],
                f"block {int(tab[r, 0])}: duration {int(tab[r, 1])} x {_ns_text(seq.block_raster_ns)} ns is beyond "
                f"the {_base_limit(tpn)} that the time base holds",
            )
    bounds = _Bounds(seq, tab, vc, max_samples)

    # --- shapes -----------------------------------------------------------------------------------
    shapes_raw = read_shapes(src, by_name.get("[SHAPES]"))
    shape_cache: dict[int, Shape] = {}
    decoded = [0]

    def shape(sid: int, ln: int, what: str, kind: str = "") -> Shape:
        limit, why = bounds.shape_limit(kind)
        s = shape_cache.get(sid)
        if s is None:
            if sid not in shapes_raw:
                raise src.err(ln, f"{what} refers to shape {sid}, which [SHAPES] does not define")
            sln, num, toks = shapes_raw[sid]
            if num > limit:
                raise src.err(sln, f"shape {sid} ({what}) declares {num} samples, more than {limit}: {why}")
            if decoded[0] + num > max_samples:
                raise src.err(
                    sln,
                    f"shape {sid} ({what}) declares {num} samples; with the shapes before it the file would "
                    f"decode {decoded[0] + num} samples, more than max_samples = {max_samples}",
                )
            decoded[0] += num
            samples = decompress_shape(toks, num, force=vc < 1_004_000, where=f"{src.name}:{sln}")
            s = Shape(samples, encoded=toks if vc >= 1_004_000 else None)
            shape_cache[sid] = s
        elif len(s) > limit:
            raise src.err(ln, f"{what}: shape {sid} has {len(s)} samples, more than {limit}: {why}")
        return s

    # --- events -----------------------------------------------------------------------------------
    rf_lib = read_rf(src, by_name.get("[RF]"), vc, shape, seq.rf_raster_ns)
    grad_lib = read_grads(src, by_name.get("[GRADIENTS]"), by_name.get("[TRAP]"), vc, shape)
    adc_lib = read_adc(src, by_name.get("[ADC]"), vc, shape, bounds.adc_limit)
    delays: dict[int, int] = {}
    if "[DELAYS]" in by_name:
        dln, dbody = by_name["[DELAYS]"]
        if vc >= 1_004_000:
            raise src.err(dln, "[DELAYS] is not allowed from format 1.4.0 on (block durations replace it)")
        for ln, tok in data_rows(dbody):
            check_nf(src, ln, tok, 2, "[DELAYS]", "id delay_us")
            delays[parse_int(src, ln, tok[0], "delay id")] = parse_ns(src, ln, tok[1], "delay", 1000)

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
        ext_events[tid] = read_ext(src, nm, ext_body)
    for req in required:
        if req not in KNOWN_EXTENSIONS:
            raise src.err(def_lines.get("RequiredExtensions", 0), f"required extension {req} is not supported")
    seq.unknown_extensions = tuple(unknown)
    used_heads = {int(h) for h in np.unique(tab[:, 7]).tolist() if h}
    ext_lists = read_ext_lists(
        src, by_name.get("[EXTENSIONS]"), ext_events, ext_names, used_heads, MAX_EXTENSIONS_PER_BLOCK
    )

    # --- blocks -----------------------------------------------------------------------------------
    _read_blocks(src, seq, tab, index, lns, vc, rf_lib, grad_lib, adc_lib, delays, ext_lists)
    return seq


class _Bounds:
    """What the blocks of a file can hold: the most samples a shape or an ADC event may declare.

    From format 1.4.0 on every block states its duration, so an event can last at most the longest
    block: a shape used by RF or a gradient holds at most ``2 * longest / raster + 2`` samples (an
    oversampled gradient has two samples per raster, a time shape may repeat a time for a vertical
    edge, +2 for end points), an ADC event ``longest / dwell`` samples. Before 1.4.0 the events define the block
    durations, and only the ``max_samples`` budget applies.
    """

    def __init__(self, seq: Sequence, tab: np.ndarray, vc: int, max_samples: int) -> None:
        self.max_samples = max_samples
        self.longest: int | None = None  # ticks
        self.tpn = seq.ticks_per_ns
        self.rf_raster = seq.rf_raster_ticks
        self.grad_raster = seq.grad_raster_ticks
        if vc >= 1_004_000 and tab.shape[0]:
            self.longest = int(tab[:, 1].max()) * seq.block_raster_ticks

    def shape_limit(self, kind: str) -> tuple[int, str]:
        budget = (self.max_samples, f"the reader's budget max_samples = {self.max_samples}")
        if self.longest is None or kind not in ("rf", "grad"):
            return budget
        us = self.longest / self.tpn / 1000
        if kind == "rf":
            n = 2 * (self.longest // max(1, self.rf_raster)) + 2
            why = f"the longest block ({us:g} us) holds at most that on the RF raster"
        else:
            n = 2 * (self.longest // max(1, self.grad_raster)) + 2
            why = f"the longest block ({us:g} us) holds at most that on the gradient raster"
        return (n, why) if n < budget[0] else budget

    def adc_limit(self, dwell_ns: int) -> tuple[int, str]:
        budget = (self.max_samples, f"the reader's budget max_samples = {self.max_samples}")
        if self.longest is None:
            return budget
        n = self.longest // (dwell_ns * self.tpn)
        if n < budget[0]:
            us = self.longest / self.tpn / 1000
            return n, f"the longest block ({us:g} us) holds at most that at a {dwell_ns} ns dwell"
        return budget


def _check_signature(digests: list[str] | None, ln: int, body: list[tuple[int, str]]) -> str | None:
    """None when the md5 matches one of the ways the field writes it, else what is wrong.

    Variants accepted (see ``docs/pulseq.md``): the hash of the bytes before the newline that precedes
    ``[SIGNATURE]`` (MATLAB Pulseq, pypulseq, wavegen); the same bytes including that newline (JEMRIS);
    and both after converting CRLF line ends to LF or LF to CRLF (files converted after signing).
    *digests* are those candidates (:func:`wavegen.sequence.seq_scan.md5_variants`, the file's own
    digest first), None when no signature header starts a line.
    """
    kv: dict[str, str] = {}
    for _, s in body:
        if s and not s.startswith("#"):
            p = s.split(None, 1)
            kv[p[0].lower()] = p[1].strip() if len(p) > 1 else ""
    typ = kv.get("type", "").lower()
    want = kv.get("hash", "").lower()
    if not want:
        return "[SIGNATURE] has no Hash line"
    if typ != "md5":
        return f"[SIGNATURE] Type {typ!r} cannot be verified (only md5)"
    if digests is None:
        return "[SIGNATURE] header not found at the start of a line"
    if want in digests:
        return None
    return (
        f"[SIGNATURE] md5 {want} matches none of the known writer variants (file md5 {digests[0]}): "
        "the file was edited or truncated after it was signed"
    )


def _read_blocks(
    src: Src,
    seq: Sequence,
    tab: np.ndarray,
    index: np.ndarray,
    lns: Any,
    vc: int,
    rf_lib: dict[int, tuple[int, RFEvent]],
    grad_lib: dict[int, tuple[int, Any]],
    adc_lib: dict[int, tuple[int, ADCEvent]],
    delays: dict[int, int],
    ext_lists: dict[int, tuple[int, tuple[ExtensionEvent, ...]]],
) -> None:
    ids = tab[:, 0]

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

    tpn = seq.ticks_per_ns
    graster, rraster = seq.grad_raster_ticks, seq.rf_raster_ticks
    if vc < 1_005_000:
        _fill_first_last(tab, index, grad_lib, graster, rraster, seq.block_raster_ticks, rf_lib, adc_lib, delays,
                         vc, tpn)

    # durations of events, by id (ticks of the time base)
    def ends(lib: dict[int, tuple[int, Any]], raster: int) -> dict[int, int]:
        return {k: ev.duration_ticks(raster, tpn) for k, (_, ev) in lib.items()}

    end_rf, end_g, end_adc = ends(rf_lib, rraster), ends(grad_lib, graster), ends(adc_lib, 0)
    need = np.zeros(tab.shape[0], dtype=np.int64)
    lookups = []
    for col, e in ((2, end_rf), (3, end_g), (4, end_g), (5, end_g), (6, end_adc)):
        if e:
            keys = np.fromiter(e.keys(), dtype=np.int64, count=len(e))
            end_vals = np.fromiter(e.values(), dtype=np.int64, count=len(e))
            order = np.argsort(keys)
            lookups.append((col, keys[order], end_vals[order]))
    step = 1 << 16  # in row ranges: temporaries of a range, not of a table of many blocks
    for a in range(0, tab.shape[0], step):
        nd = need[a : a + step]
        for col, keys, end_vals in lookups:
            used = tab[a : a + step, col]
            pos = np.clip(np.searchsorted(keys, used), 0, keys.size - 1)
            np.maximum(nd, np.where(used > 0, end_vals[pos], 0), out=nd)
    for b in np.flatnonzero(tab[:, 7] > 0).tolist():
        for ev in ext_lists[int(tab[b, 7])][1]:
            if isinstance(ev, Trigger):
                need[b] = max(need[b], (ev.delay_ns + ev.duration_ns) * tpn)
    if vc >= 1_004_000:
        dur = tab[:, 1] * seq.block_raster_ticks
        bad = need > dur
        if np.any(bad):
            r = int(np.flatnonzero(bad)[0])
            raise src.err(
                lns[r],
                f"block {int(ids[r])}: an event lasts {int(need[r]) / tpn / 1000:g} us, longer than the block "
                f"duration {int(dur[r]) / tpn / 1000:g} us",
            )
    else:
        dl = np.array([delays.get(int(d), 0) * tpn for d in tab[:, 1].tolist()], dtype=np.int64)
        dur = np.maximum(need, dl)

    # blocks per distinct row times its duration, in Python's exact integers
    counts = np.bincount(index, minlength=tab.shape[0])
    total = sum(c * d for c, d in zip(counts.tolist(), dur.tolist(), strict=True))
    del counts
    if total >= MAX_INT:
        raise src.err(
            0, f"the blocks add up to {total / tpn / 1e9 / 86400:.4g} days, beyond the {_base_limit(tpn)} of the "
            "time base",
        )
    for k, (_, rf_ev) in rf_lib.items():
        seq._rf.insert(k, rf_ev)
    for k, (_, g_ev) in grad_lib.items():
        seq._grad.insert(k, g_ev)
    for k, (_, adc_ev) in adc_lib.items():
        seq._adc.insert(k, adc_ev)
    for k, (_, evs) in ext_lists.items():
        seq._ext.insert(k, evs)
    seq._cols_list = None  # the table stays dictionary-coded (lists only if blocks are added later)
    rows = tab.T  # (8, k), C-ordered: its rows 1..7 become the table's rows (no copy)
    rows[1] = dur
    seq._compact = BlockTable(rows[1:8], index)
    seq._full = None


class _BlockLines:
    """Line numbers of the rows of [BLOCKS], found only when an error needs one."""

    def __init__(self, body: str | Callable[[], str], first_ln: int) -> None:
        self._body = body
        self._first = first_ln
        self._lines: list[int] | None = None

    def __getitem__(self, r: int) -> int:
        if self._lines is None:
            body = self._body if isinstance(self._body, str) else self._body()
            rows = (raw.strip() for raw in body.split("\n"))
            self._lines = [self._first + i for i, t in enumerate(rows) if t and not t.startswith("#")]
        return self._lines[r]


class _FirstLines:
    """Line numbers of distinct rows: the line of the first block with that row."""

    def __init__(self, lines: _BlockLines, first: np.ndarray) -> None:
        self._lines, self._first = lines, first

    def __getitem__(self, r: int) -> int:
        return self._lines[int(self._first[r])]


def _block_table(
    src: Src, sec: tuple[int, str, int], vc: int, scanned: BlocksBody | None = None
) -> tuple[np.ndarray, np.ndarray, _FirstLines]:
    """The [BLOCKS] rows dictionary-coded (:class:`~wavegen.sequence.blocktable.FileRows`; 1.2.0/1.2.1
    rows get ext = 0): the distinct rows ((k, 8), a transposed C-ordered (8, k) array), every block's row
    and the line of each distinct row's first block.

    *scanned*: the rows as the streaming pass parsed and coded them (the section's text is then blank).
    Rows it could not take are re-read here from the file, whole, for the strict checks and messages.
    """
    sec_ln, body, first_ln = sec
    nf = 7 if vc <= 1_002_001 else 8
    layout = "id delay rf gx gy gz adc" + ("" if nf == 7 else " ext")
    if vc >= 1_004_000:
        layout = "id duration rf gx gy gz adc ext"
    tab: np.ndarray | None = None
    if scanned is not None:
        lns = _BlockLines(scanned.text, scanned.first_ln)
        if scanned.rows is not None and scanned.ncol == nf:
            fr = scanned.rows
            scanned.rows = None
            u, first, index = fr.take()
            return u, index, _FirstLines(lns, first)
        else:
            body, first_ln = scanned.text(), scanned.first_ln
    else:
        lns = _BlockLines(body, first_ln)
    if tab is None and scanned is None and body.strip():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # lines split on "\n" only, as the strict parser below does (a list of lines is faster and
                # leaner for loadtxt than a StringIO, which holds the text as 4 bytes per character)
                tab = np.loadtxt(body.split("\n"), dtype=np.int64, comments="#", ndmin=2)
            if tab.shape[1] != nf or tab.shape[0] == 0:
                tab = None
        except (ValueError, OverflowError):
            tab = None
    if tab is None:
        rows = [(ln, t.split()) for ln, t in body_lines(body, first_ln) if t]
        if not rows:
            raise src.err(sec_ln, "[BLOCKS] is empty; a sequence needs at least one block")
        vals = []
        for ln, tok in rows:
            check_nf(src, ln, tok, nf, "[BLOCKS]", layout)
            vals.append([parse_int(src, ln, t, "block field") for t in tok])
        tab = np.array(vals, dtype=np.int64).reshape(len(rows), nf)
        if nf == 7:
            tab = np.concatenate([tab, np.zeros((tab.shape[0], 1), dtype=np.int64)], axis=1)
    elif nf == 7 and tab.shape[1] == 7:
        tab = np.concatenate([tab, np.zeros((tab.shape[0], 1), dtype=np.int64)], axis=1)
    # min/max first: no temporaries the size of the table on the path every good file takes
    if tab.size and int(tab.min()) < 0:
        r = int(np.argwhere(tab < 0)[0, 0])
        raise src.err(lns[r], "a block field is negative")
    if tab.size and int(tab.max()) >= MAX_INT:
        r = int(np.argwhere(tab >= MAX_INT)[0, 0])
        raise src.err(lns[r], "a block field is out of range (>= 2**53)")
    ids = tab[:, 0]
    if not bool(np.all(ids[1:] > ids[:-1])) and np.unique(ids).size != ids.size:  # ids written in order: unique
        _, first = np.unique(ids, return_index=True)
        dup = sorted(set(range(ids.size)) - set(first.tolist()))[0]
        raise src.err(lns[dup], f"block id {int(ids[dup])} appears twice")
    u, first, index = FileRows.of_table(tab, MAX_INT).take()
    return u, index, _FirstLines(lns, first)


def _fill_first_last(
    tab: np.ndarray,
    index: np.ndarray,
    grad_lib: dict[int, tuple[int, Any]],
    graster: int,
    rraster: int,
    block_raster: int,
    rf_lib: dict[int, tuple[int, RFEvent]],
    adc_lib: dict[int, tuple[int, ADCEvent]],
    delays: dict[int, int],
    vc: int,
    tpn: int = 1,
) -> None:
    """Files before 1.5 lack a shaped gradient's first/last values: infer them as MATLAB's ``read.m``.

    The reference implementation (pulseq/pulseq ``matlab/+mr/@Sequence/read.m``, the pass "another run
    through for all older versions") walks the blocks in order, keeping per axis the value the previous
    block left on it (``prev``):

    - no gradient or a trapezoid on the axis: ``prev = 0``;
    - a shaped gradient: if its delay is > 0, ``prev = 0``; if the event already has first/last (set
      by an earlier block), nothing else happens, *``prev`` is kept as it was*; otherwise
      ``first = prev`` and ``last`` is: for a time-shaped gradient its final sample; for a regular one
      the edge value reached by the recurrence ``e[0] = first``, ``e[i+1] = 2 * w[i] - e[i]`` (the raster
      centre samples are the means of the edges), evaluated with MATLAB's alternating cumulative sum;
      then ``prev = last``, or 0 when the gradient ends before its block does;
    - the same gradient on two axes of one block is computed on each axis, the first axis's values are
      stored.
    """
    from dataclasses import replace

    if not any(isinstance(ev, ArbGradient) for _, ev in grad_lib.values()):
        return
    done: set[int] = set()
    prev = [0.0, 0.0, 0.0]
    rows = tab.tolist()
    for r in index.tolist():  # the blocks in order, each by its distinct row
        row = rows[r]
        if vc >= 1_004_000:
            bdur = int(row[1]) * block_raster
        else:
            ends = [delays.get(int(row[1]), 0) * tpn]
            if row[2]:
                ends.append(rf_lib[int(row[2])][1].duration_ticks(rraster, tpn))
            if row[6]:
                ends.append(adc_lib[int(row[6])][1].duration_ticks(0, tpn))
            for c in (3, 4, 5):
                if row[c]:
                    ends.append(grad_lib[int(row[c])][1].duration_ticks(graster, tpn))
            bdur = max(ends)
        done_before = set(done)
        stored: list[int] = []
        for axis, c in enumerate((3, 4, 5)):
            gid = int(row[c])
            ev = grad_lib[gid][1] if gid else None
            if not isinstance(ev, ArbGradient):
                prev[axis] = 0.0
                continue
            if ev.delay_ns > 0:
                prev[axis] = 0.0
            if gid in done_before:
                continue
            first = prev[axis]
            w = ev.waveform_hz_per_m
            if ev.time_shape is not None:
                last = float(w[-1])
            else:
                step = np.empty(w.size + 1)
                step[0] = first
                step[1:] = 2.0 * w
                sign = np.where(np.arange(1, step.size + 1) % 2 == 1, 1.0, -1.0)
                last = float((np.cumsum(step * sign) * sign)[-1])
            prev[axis] = last if ev.duration_ticks(graster, tpn) >= bdur else 0.0
            if gid in stored:
                continue
            stored.append(gid)
            grad_lib[gid] = (grad_lib[gid][0], replace(ev, first_hz_per_m=first, last_hz_per_m=last))
            done.add(gid)
