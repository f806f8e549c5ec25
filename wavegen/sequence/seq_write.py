"""Write a :class:`Sequence` as a Pulseq ``.seq`` file, format 1.4.x or 1.5.x, with an md5 signature.

Events and shapes are de-duplicated by value and renumbered from 1 in order of first use. Numbers are
written in their shortest exact form (Python's ``repr``), so every value reads back bit for bit; shapes
read from a file are written with the tokens they were read from, new shapes are compressed as MATLAB
Pulseq does (quantum 1e-7, run-length coded derivative, :mod:`wavegen.sequence.shapes`). The
``[SIGNATURE]`` md5 covers the file up to the newline before ``[SIGNATURE]`` (Pulseq specification).

Version 1.4.x cannot hold RF centres and uses, ppm offsets (folded into Hz with ``b0_t``), first/last
gradient values (readers derive them), oversampled gradients, ADC phase shapes, soft delays, rotations
or RF shims: writing those as 1.4 is refused with a clear error rather than silently changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from fractions import Fraction
from typing import Any

import numpy as np

from wavegen.atomic import atomic_write
from wavegen.errors import RangeError
from wavegen.limits import GAMMA_PULSEQ_HZ_PER_T
from wavegen.sequence.events import (
    ArbGradient,
    ExtensionEvent,
    LabelInc,
    LabelSet,
    RFShim,
    Rotation,
    SoftDelay,
    TrapGradient,
    Trigger,
)
from wavegen.sequence.seq_read import RASTER_KEYS
from wavegen.sequence.sequence import Sequence
from wavegen.sequence.shapes import Shape, compress_shape
from wavegen.sequence.timebase import decimal_text

__all__ = ["write_seq", "WRITABLE_VERSIONS"]

logger = logging.getLogger(__name__)

WRITABLE_VERSIONS = ("1.4.0", "1.4.1", "1.4.2", "1.5.0", "1.5.1")


def _num(x: float) -> str:
    """Shortest exact text of a float (no trailing '.0', no '-0')."""
    if x == 0:
        return "0"
    s = repr(float(x))
    if s.endswith(".0"):
        s = s[:-2]
    return s


def _raster_text(raster_ns: Any) -> str:
    """A raster (ns: int or exact Fraction) as seconds, as the reader reads it back to the same value.

    Whole ns are written as before (the shortest float text, ``1e-05``); a fraction of a ns as its exact
    decimal (``1.00016276e-05``), or, when it has none (3840625/384 ns), as the shortest float text,
    which the reader snaps back to the same fraction (:func:`wavegen.sequence.timebase.snap_raster_ns`).
    """
    if isinstance(raster_ns, Fraction) and raster_ns.denominator != 1:
        exact = decimal_text(raster_ns / 10**9)
        return exact if exact is not None else _num(float(raster_ns / 10**9))
    return _num(int(raster_ns) / 1e9)


def _us(ns: int) -> str:
    """Integer ns as exact us text."""
    if ns % 1000 == 0:
        return str(ns // 1000)
    sign = "-" if ns < 0 else ""
    q, r = divmod(abs(ns), 1000)
    return f"{sign}{q}.{r:03d}".rstrip("0")


def _ext_name(ev: ExtensionEvent) -> str:
    if isinstance(ev, Trigger):
        return "TRIGGERS"
    if isinstance(ev, LabelSet):
        return "LABELSET"
    if isinstance(ev, LabelInc):
        return "LABELINC"
    if isinstance(ev, SoftDelay):
        return "DELAYS"
    if isinstance(ev, Rotation):
        return "ROTATIONS"
    if isinstance(ev, RFShim):
        return "RF_SHIMS"
    return ev.name


def _ext_fields(ev: ExtensionEvent) -> str:
    if isinstance(ev, Trigger):
        return f"{ev.kind} {ev.channel} {_us(ev.delay_ns)} {_us(ev.duration_ns)}"
    if isinstance(ev, (LabelSet, LabelInc)):
        return f"{ev.value} {ev.label}"
    if isinstance(ev, SoftDelay):
        return f"{ev.num} {_us(ev.offset_ns)} {_num(ev.factor)} {ev.hint}"
    if isinstance(ev, Rotation):
        return " ".join(_num(v) for v in (ev.q0, ev.qx, ev.qy, ev.qz))
    if isinstance(ev, RFShim):
        vals = [v for pair in zip(ev.magnitudes, ev.phases_rad, strict=True) for v in pair]
        return f"{len(ev.magnitudes)} " + " ".join(_num(v) for v in vals)
    return " ".join(ev.fields)


class _Ids:
    """New ids by value, in order of first use."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}

    def get(self, value: Any) -> int:
        i = self.ids.get(value)
        if i is None:
            i = len(self.ids) + 1
            self.ids[value] = i
        return i


def _remap(col: np.ndarray, old_lib: dict[int, Any], ids: _Ids) -> np.ndarray:
    """Map a column of library ids to new ids (by value, first use first)."""
    used, first = np.unique(col, return_index=True)
    order = np.argsort(first, kind="stable")
    lut: dict[int, int] = {}
    for u in used[order].tolist():
        lut[u] = 0 if u == 0 else ids.get(old_lib[u])
    keys = np.array(list(lut.keys()), dtype=np.int64)
    vals = np.array(list(lut.values()), dtype=np.int64)
    srt = np.argsort(keys)
    return vals[srt][np.searchsorted(keys[srt], col)]


def write_seq(
    seq: Sequence,
    path: str | os.PathLike[str],
    version: str | None = None,
    *,
    signature: bool = True,
    b0_t: float | None = None,
) -> str:
    """Write ``seq`` to ``path`` as a Pulseq file.

    Parameters
    ----------
    seq
        The sequence.
    path
        Output file (written as given; no suffix is added).
    version
        One of ``1.4.0 1.4.1 1.4.2 1.5.0 1.5.1``; default ``1.5.1`` when the sequence has rotations or
        RF shims, else ``1.5.0`` (readable by every 1.5 interpreter).
    signature
        Append the ``[SIGNATURE]`` md5 section (default True).
    b0_t
        Main field, only for folding ppm offsets into Hz when writing 1.4.x.

    Returns
    -------
    str
        The md5 hex digest of the signed part ('' when ``signature`` is False).
    """
    if not isinstance(seq, Sequence):
        raise RangeError(f"write_seq needs a Sequence, got {type(seq).__name__}")
    if len(seq) == 0:
        raise RangeError("a sequence needs at least one block to be written")
    tab = seq._table
    ext_lib: dict[int, tuple[ExtensionEvent, ...]] = seq._ext.by_id
    used_ext = {e for k in np.unique(tab[6]).tolist() if k for e in ext_lib[k]}
    needs_151 = any(isinstance(e, (Rotation, RFShim)) for e in used_ext)
    if version is None:
        version = "1.5.1" if needs_151 else "1.5.0"
    if version not in WRITABLE_VERSIONS:
        raise RangeError(f"cannot write .seq version {version!r}; writable: {', '.join(WRITABLE_VERSIONS)}")
    major, minor, rev = (int(x) for x in version.split("."))
    v15 = minor == 5
    if needs_151 and version != "1.5.1":
        raise RangeError(f"the sequence has rotations or RF shims, which need format 1.5.1, not {version}")
    if not v15 and any(isinstance(e, SoftDelay) for e in used_ext):
        raise RangeError("soft delays (DELAYS extension) need format 1.5.x")
    b0 = b0_t if b0_t is not None else seq.b0_t

    # --- ids --------------------------------------------------------------------------------------
    rf_ids, g_ids, adc_ids = _Ids(), _Ids(), _Ids()
    rf_col = _remap(tab[1], seq._rf.by_id, rf_ids)
    # gradients share one id space over the three axes: remap in order of first use across axes
    g_stack = tab[2:5].T.reshape(-1)
    g_col = _remap(g_stack, seq._grad.by_id, g_ids).reshape(-1, 3).T
    adc_col = _remap(tab[5], seq._adc.by_id, adc_ids)

    # extension lists: (type name, ref, next) nodes, shared suffixes
    type_ids: dict[str, int] = {}
    ev_ids: dict[str, _Ids] = {}
    node_ids: dict[tuple[int, int, int], int] = {}
    list_heads: dict[int, int] = {0: 0}
    for k in (k for k in dict.fromkeys(tab[6].tolist()) if k):
        nxt = 0
        for x_ev in reversed(ext_lib[k]):
            nm = _ext_name(x_ev)
            tid = type_ids.setdefault(nm, len(type_ids) + 1)
            ref = ev_ids.setdefault(nm, _Ids()).get(x_ev)
            node = (tid, ref, nxt)
            nxt = node_ids.setdefault(node, len(node_ids) + 1)
        list_heads[k] = nxt
    ext_col = np.array([list_heads[k] for k in tab[6].tolist()], dtype=np.int64)

    shape_ids = _Ids()

    def sid(s: Shape | None) -> int:
        return 0 if s is None else shape_ids.get(s)

    # --- text -------------------------------------------------------------------------------------
    out: list[str] = [
        "# Pulseq sequence file",
        "# Created by wavegen",
        "",
        "[VERSION]",
        f"major {major}",
        f"minor {minor}",
        f"revision {rev}",
        "",
    ]
    defs: dict[str, str] = {}
    for key, attr in RASTER_KEYS.items():
        defs[key] = _raster_text(getattr(seq, attr))
    for k, v in seq.definitions.items():
        if k not in defs:
            defs[k] = v
    if seq.gamma_hz_per_t != GAMMA_PULSEQ_HZ_PER_T and not any(k.lower() == "gamma" for k in defs):
        defs["Gamma"] = _num(seq.gamma_hz_per_t)
    if needs_151:
        req = defs.get("RequiredExtensions", "").split()
        for nm in ("ROTATIONS", "RF_SHIMS"):
            if nm in type_ids and nm not in req:
                req.append(nm)
        defs["RequiredExtensions"] = " ".join(req)
    out.append("[DEFINITIONS]")
    out.extend(f"{k} {v}".rstrip() for k, v in defs.items())
    out.append("")

    out += ["# Format of blocks:", "# NUM DUR RF  GX  GY  GZ  ADC  EXT", "[BLOCKS]"]
    durs = tab[0]  # ticks of the time base (ns unless the rasters are not whole ns)
    br = seq.block_raster_ticks
    bad = np.flatnonzero(durs % br)
    if bad.size:
        b = int(bad[0])
        tpn = seq.ticks_per_ns
        raise RangeError(
            f"block {b + 1}: duration {int(durs[b]) / tpn:.10g} ns is not a multiple of the block raster "
            f"{float(seq.block_raster_ns):.10g} ns"
        )
    cols = np.stack(
        [np.arange(1, durs.size + 1), durs // br, rf_col, g_col[0], g_col[1], g_col[2], adc_col, ext_col],
        axis=1,
    ).tolist()
    out.extend(" ".join(map(str, r)) for r in cols)
    out.append("")

    # RF
    if rf_ids.ids:
        out.append("# Format of RF events:")
        if v15:
            out.append("# id amp mag_id phase_id time_id center delay freq_ppm phase_ppm freq phase use")
            out.append("# ..   Hz     ..       ..      ..     us    us      ppm   rad/MHz   Hz   rad  ..")
        else:
            out.append("# id amplitude mag_id phase_id time_shape_id delay freq phase")
            out.append("# ..        Hz   ....     ....          ....    us   Hz   rad")
        out.append("[RF]")
        for rf_ev, i in rf_ids.ids.items():
            shapes = f"{sid(rf_ev.magnitude)} {sid(rf_ev.phase)} {sid(rf_ev.time_shape)}"
            head = f"{i} {_num(rf_ev.amplitude_hz)} {shapes}"
            if v15:
                out.append(
                    f"{head} {_num(rf_ev.center_us)} {_us(rf_ev.delay_ns)} {_num(rf_ev.freq_ppm)} "
                    f"{_num(rf_ev.phase_ppm)} "
                    f"{_num(rf_ev.freq_offset_hz)} {_num(rf_ev.phase_offset_rad)} {rf_ev.use}"
                )
            else:
                f, p = rf_ev.freq_offset_hz, rf_ev.phase_offset_rad
                if rf_ev.freq_ppm or rf_ev.phase_ppm:
                    if b0 is None:
                        raise RangeError("RF ppm offsets need b0_t to be written as format 1.4 (Hz and rad)")
                    mhz = 1e-6 * seq.gamma_hz_per_t * b0
                    f += rf_ev.freq_ppm * mhz
                    p += rf_ev.phase_ppm * mhz
                out.append(f"{head} {_us(rf_ev.delay_ns)} {_num(f)} {_num(p)}")
        out.append("")

    arb = [(ev, i) for ev, i in g_ids.ids.items() if isinstance(ev, ArbGradient)]
    trap = [(ev, i) for ev, i in g_ids.ids.items() if isinstance(ev, TrapGradient)]
    if arb:
        out.append("# Format of arbitrary gradients:")
        out.append(
            "#   time_shape_id of 0 means default timing (stepping with grad_raster starting at 1/2 of grad_raster)"
        )
        if v15:
            out += [
                "# id amplitude first last amp_shape_id time_shape_id delay",
                "# ..      Hz/m  Hz/m Hz/m        ..         ..          us",
            ]
        else:
            out += [
                "# id amplitude amp_shape_id time_shape_id delay",
                "# ..      Hz/m       ..         ..          us",
            ]
        out.append("[GRADIENTS]")
        for a_ev, i in arb:
            if a_ev.oversampled and not v15:
                raise RangeError("oversampled gradients (time id -1) need format 1.5.x")
            tid = -1 if a_ev.oversampled else sid(a_ev.time_shape)
            if v15:
                out.append(
                    f"{i} {_num(a_ev.amplitude_hz_per_m)} {_num(a_ev.first_hz_per_m)} "
                    f"{_num(a_ev.last_hz_per_m)} "
                    f"{sid(a_ev.shape)} {tid} {_us(a_ev.delay_ns)}"
                )
            else:
                out.append(f"{i} {_num(a_ev.amplitude_hz_per_m)} {sid(a_ev.shape)} {tid} {_us(a_ev.delay_ns)}")
        out.append("")
    if trap:
        out += [
            "# Format of trapezoid gradients:",
            "# id amplitude rise flat fall delay",
            "# ..      Hz/m   us   us   us    us",
            "[TRAP]",
        ]
        for t_ev, i in trap:
            out.append(
                f"{i} {_num(t_ev.amplitude_hz_per_m)} {_us(t_ev.rise_ns)} {_us(t_ev.flat_ns)} "
                f"{_us(t_ev.fall_ns)} {_us(t_ev.delay_ns)}"
            )
        out.append("")

    if adc_ids.ids:
        out.append("# Format of ADC events:")
        if v15:
            out += [
                "# id num dwell delay freq_ppm phase_ppm freq phase phase_id",
                "# ..  ..    ns    us      ppm   rad/MHz   Hz   rad       ..",
                "[ADC]",
            ]
        else:
            out += ["# id num dwell delay freq phase", "# ..  ..    ns    us   Hz   rad", "[ADC]"]
        for adc_ev, i in adc_ids.ids.items():
            if v15:
                out.append(
                    f"{i} {adc_ev.num_samples} {adc_ev.dwell_ns} {_us(adc_ev.delay_ns)} "
                    f"{_num(adc_ev.freq_ppm)} "
                    f"{_num(adc_ev.phase_ppm)} {_num(adc_ev.freq_offset_hz)} {_num(adc_ev.phase_offset_rad)} "
                    f"{sid(adc_ev.phase_shape)}"
                )
            else:
                if adc_ev.phase_shape is not None:
                    raise RangeError("ADC phase shapes need format 1.5.x")
                f, p = adc_ev.freq_offset_hz, adc_ev.phase_offset_rad
                if adc_ev.freq_ppm or adc_ev.phase_ppm:
                    if b0 is None:
                        raise RangeError("ADC ppm offsets need b0_t to be written as format 1.4 (Hz and rad)")
                    mhz = 1e-6 * seq.gamma_hz_per_t * b0
                    f += adc_ev.freq_ppm * mhz
                    p += adc_ev.phase_ppm * mhz
                out.append(f"{i} {adc_ev.num_samples} {adc_ev.dwell_ns} {_us(adc_ev.delay_ns)} {_num(f)} {_num(p)}")
        out.append("")

    if node_ids:
        out += [
            "# Format of extension lists:",
            "# id type ref next_id",
            "# next_id of 0 terminates the list",
            "# Extension list is followed by extension specifications",
            "[EXTENSIONS]",
        ]
        out.extend(f"{i} {t} {r} {n}" for (t, r, n), i in node_ids.items())
        out.append("")
        for nm, tid in type_ids.items():
            out.append(f"# Extension specification for {nm}:")
            out.append(f"extension {nm} {tid}")
            out.extend(f"{i} {_ext_fields(x)}" for x, i in ev_ids[nm].ids.items())
            out.append("")

    if shape_ids.ids:
        out += ["# Sequence Shapes", "[SHAPES]", ""]
        for s, i in shape_ids.ids.items():
            out.append(f"shape_id {i}")
            out.append(f"num_samples {len(s)}")
            if s.encoded is not None:
                out.extend(_num(v) for v in s.encoded.tolist())
            else:
                toks, compressed = compress_shape(s.samples)
                if compressed:
                    out.extend(f"{v:.9g}" for v in toks.tolist())
                else:
                    out.extend(_num(v) for v in toks.tolist())
            out.append("")

    body = ("\n".join(out) + "\n").encode("utf-8")
    digest = ""
    if signature:
        digest = hashlib.md5(body).hexdigest()
        sig = (
            "\n[SIGNATURE]\n"
            "# This is the hash of the Pulseq file, calculated right before the [SIGNATURE] section was "
            "added\n"
            "# It can be reproduced/verified with md5sum if the file trimmed to the position right above "
            "[SIGNATURE]\n"
            "# The new line character preceding [SIGNATURE] BELONGS to the signature (and needs to be "
            "stripped "
            "away for recalculating/verification)\n"
            f"Type md5\nHash {digest}\n"
        ).encode()
        body += sig
    with atomic_write(path, "wb") as fh:  # a failed write leaves the previous file intact
        fh.write(body)
    logger.info("wrote %s: %d blocks, format %s", os.fspath(path), len(seq), version)
    return digest
