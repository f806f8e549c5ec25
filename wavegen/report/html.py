"""Self-contained HTML reports: one page, inline CSS, figures as base64 PNG, no script, no network.

:func:`build_report` puts together whichever parts it is given: the sequence (an overview plot and
its figures), the safety check (every rule with its worst value, limit and margin in human units, the
traces with labelled limits and a zoom on each worst spot), the measurement (captured against
commanded, the error figures per channel) and the loop (the error per iteration per axis).
:func:`write_report` writes it through :func:`wavegen.atomic.write_text`. The ``*_html`` functions are
the compact views behind the ``_repr_html_`` of :class:`~wavegen.sequence.Sequence`,
:class:`~wavegen.safety.SafetyReport`, :class:`~wavegen.bench.Measurement` and
:class:`~wavegen.bench.HilResult` in notebooks.

Every text that comes from data (file names, rule names, notes, reasons) is escaped with
:func:`html.escape`. Objects are read by their public attributes, so this module imports no other part
of wavegen at module level.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "build_report",
    "write_report",
    "figure_html",
    "sequence_html",
    "safety_html",
    "measurement_html",
    "hil_html",
    "safety_rows",
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:1.2em 1.5em 3em}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.2em;margin:1.6em 0 .5em;border-bottom:1px solid #d5d9de}
h3{font-size:1em;margin:1.2em 0 .4em}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:.4em 1.2em 1em;margin:1em 0}
table{border-collapse:collapse;font-size:.86em;margin:.4em 0}
th,td{border-bottom:1px solid #e6e8eb;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f0f2f4}td.l,th.l{text-align:left;white-space:normal}
tr.fail td{background:#fde8e8}tr.unverified td{background:#fff6dd}tr.info td{color:#5b6570}
.badge{display:inline-block;padding:.05em .5em;border-radius:3px;font-weight:600;font-size:.9em}
.pass{background:#dcf5e3;color:#17652d}.failb{background:#fbd5d5;color:#9b1c1c}
.unv{background:#fff1c2;color:#7a5b00}.note{color:#5b6570;font-size:.85em}
figure{margin:.6em 0}figure img{max-width:100%;height:auto;border:1px solid #eceef0}
figcaption{font-size:.82em;color:#5b6570}
.grid{display:flex;flex-wrap:wrap;gap:.6em}.grid figure{flex:1 1 320px}
pre{overflow-x:auto;font-size:.82em;background:#f6f7f9;padding:.6em}
.wg{font-family:system-ui,sans-serif;font-size:13px}.wg table{font-size:12px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def figure_html(fig: Any, *, dpi: int = 80, alt: str = "", caption: str = "", close: bool = True) -> str:
    """A matplotlib figure as an ``<figure><img src="data:image/png;base64,...">`` element.

    Parameters
    ----------
    fig
        A matplotlib Figure.
    dpi
        Resolution of the PNG (the page shows it at its natural size, at most the page width).
    alt, caption
        Alternative text and caption (escaped).
    close
        Close the figure afterwards (pyplot keeps open figures alive).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    w, h = (int(round(v)) for v in fig.get_size_inches() * dpi)
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" width="{w}" height="{h}" alt="{_e(alt or caption)}">'
            f"{cap}</figure>")


def _table(head: Sequence[str] | None, rows: Iterable[Sequence[Any]], *, left: Sequence[int] = (),
           row_class: Sequence[str] | None = None) -> str:
    """An HTML table; every cell escaped; columns in ``left`` aligned left."""
    th = "".join(f'<th class="l">{_e(h)}</th>' if i in left else f"<th>{_e(h)}</th>" for i, h in enumerate(head or ()))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{_e(row_class[r])}"' if row_class is not None and row_class[r] else ""
        tds = "".join(f'<td class="l">{_e(c)}</td>' if i in left else f"<td>{_e(c)}</td>" for i, c in enumerate(row))
        body.append(f"<tr{cls}>{tds}</tr>")
    thead = f"<thead><tr>{th}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def _num(x: float, fmt: str = ".4g") -> str:
    return format(x, fmt) if math.isfinite(x) else "-"


# --- the sequence ---------------------------------------------------------------------------------------


def _sequence_facts(seq: Any) -> list[tuple[str, str]]:
    dur = seq.duration_s
    facts = [("blocks", f"{len(seq)}"), ("duration", f"{dur * 1e3:.6g} ms" if dur < 10 else f"{dur:.6g} s")]
    r = seq.rasters_ns
    facts.append(("rasters", f"gradient {r['grad'] / 1e3:g} us, RF {float(r['rf']) / 1e3:g} us, "
                             f"ADC {float(r['adc']):g} ns, block {r['block'] / 1e3:g} us"))
    facts.append(("gamma", f"{seq.gamma_hz_per_t / 1e6:.6g} MHz/T"))
    if seq.definitions:
        shown = ", ".join(f"{k} = {v}" for k, v in list(seq.definitions.items())[:8])
        facts.append(("definitions", shown + (" ..." if len(seq.definitions) > 8 else "")))
    return facts


def sequence_section(seq: Any, *, title: str = "Sequence", kspace: bool = True, dpi: int = 80) -> str:
    """The sequence: its figures, an overview plot and, when it has ADC events, its k-space trajectory."""
    from wavegen.report.figures import plot_kspace, plot_sequence

    parts = [f"<h2>{_e(title)}</h2>", _table(None, _sequence_facts(seq), left=(0, 1))]
    parts.append(figure_html(plot_sequence(seq), dpi=dpi, caption="The whole sequence: ADC gate, RF |B1| and "
                             "phase, gradients (a min/max envelope per pixel column where samples are denser)."))
    if kspace and any(b.adc is not None for b in _first_blocks(seq, 20000)):
        try:
            parts.append(figure_html(plot_kspace(seq), dpi=dpi, caption="k-space trajectory, ADC samples marked."))
        except Exception as exc:  # noqa: BLE001 - a report shows what it can; the reason is printed in it
            parts.append(f'<p class="note">k-space not shown: {_e(exc)}</p>')
    return "<section>" + "".join(parts) + "</section>"


def _first_blocks(seq: Any, n: int) -> Iterable[Any]:
    for i in range(min(len(seq), n)):
        yield seq.block(i)


def sequence_html(seq: Any) -> str:
    """Compact HTML for a notebook: the figures and a small overview plot (fast on long sequences)."""
    from wavegen.report.figures import plot_sequence

    head = f'<div class="wg"><style>{_CSS}</style><b>Sequence</b>' + _table(None, _sequence_facts(seq), left=(0, 1))
    if len(seq) == 0 or seq.duration_ns == 0:
        return head + '<p class="note">no blocks yet</p></div>'
    fig = plot_sequence(seq, channels=("rf", "gx", "gy", "gz"), columns=600)
    fig.set_size_inches(7.5, 4.2)
    return head + figure_html(fig, dpi=60) + "</div>"


# --- safety ------------------------------------------------------------------------------------------------


def safety_rows(report: Any) -> tuple[list[list[str]], list[str]]:
    """The rows of the safety table in human units (mT/m, T/m/s, uT, W/kg, %) and each row's verdict."""
    from wavegen.report.figures import human

    rows: list[list[str]] = []
    classes: list[str] = []
    for r in report.results:
        v, unit = human(r.value, r.unit)
        lim, _ = human(r.limit, r.unit)
        ratio = r.ratio
        rows.append([
            r.verdict.upper(), r.rule, r.quantity, _num(v), _num(lim), unit,
            f"{ratio * 100:.1f} %" if math.isfinite(ratio) else "-",
            f"{r.margin * 100:+.1f} %" if math.isfinite(r.margin) else "-",
            r.channel or "-", f"{r.time_s * 1e3:.4f}" if math.isfinite(r.time_s) else "-", r.note,
        ])
        classes.append(r.verdict if r.verdict != "pass" else "")
    return rows, classes


_SAFETY_HEAD = ("verdict", "rule", "quantity", "worst", "limit", "unit", "% of limit", "margin", "channel",
                "time (ms)", "note")


def _verdict_badge(report: Any) -> str:
    if not report.ok:
        return f'<span class="badge failb">UNSAFE: {len(report.violations)} violation(s)</span>'
    if not report.complete:
        return f'<span class="badge unv">SAFE, {len(report.unverified)} rule(s) unverified</span>'
    return '<span class="badge pass">SAFE</span>'


def _zoomable(report: Any, source: Any) -> list[Any]:
    """The rules worth a zoom: failed ones first, then the closest to their limit, with a sample signal."""
    sampled = {"T/m", "T/m/s", "T"}
    cands = [r for r in report.results if math.isfinite(r.time_s) and r.verdict in ("pass", "fail")
             and math.isfinite(r.ratio) and (r.unit in sampled or r.rule.startswith("pns"))
             and not (r.unit == "T" and not hasattr(source, "block_starts_ns"))
             and "vector" not in r.rule and "rms" not in r.rule]
    cands.sort(key=lambda r: (r.verdict != "fail", -r.ratio))
    return cands[:4]


def safety_section(report: Any, source: Any = None, *, title: str = "Safety", dpi: int = 80) -> str:
    """The safety table, the traces with labelled limits, and a zoom on each worst spot (with ``source``)."""
    from wavegen.report.figures import plot_safety, plot_worst_spot

    rows, classes = safety_rows(report)
    parts = [f"<h2>{_e(title)} {_verdict_badge(report)}</h2>",
             f'<p class="note">mode {_e(report.mode)}; {_e(_checked_label(report))}</p>',
             _table(_SAFETY_HEAD, rows, left=(0, 1, 2, 5, 8, 10), row_class=classes)]
    try:
        parts.append(figure_html(plot_safety(report, source), dpi=dpi,
                                 caption="Gradient amplitude and slew per axis, PNS and peak |B1| against time; "
                                         "dashed red: the limits; triangles: the worst samples."))
    except Exception as exc:  # noqa: BLE001 - a report shows what it can; the reason is printed in it
        parts.append(f'<p class="note">safety plot not shown: {_e(exc)}</p>')
    if source is not None:
        zooms = []
        for r in _zoomable(report, source):
            try:
                zooms.append(figure_html(plot_worst_spot(report, r.rule, source), dpi=dpi,
                                         caption=f"worst spot of {r.rule}"))
            except Exception as exc:  # noqa: BLE001
                zooms.append(f'<p class="note">{_e(r.rule)}: zoom not shown: {_e(exc)}</p>')
        if zooms:
            parts.append("<h3>Worst spots, zoomed (1 ms either side)</h3><div class=\"grid\">" + "".join(zooms)
                         + "</div>")
    return "<section>" + "".join(parts) + "</section>"


def safety_html(report: Any) -> str:
    """Compact HTML for a notebook: the verdict and the table (no plot)."""
    rows, classes = safety_rows(report)
    return (f'<div class="wg"><style>{_CSS}</style><b>Safety report</b> {_verdict_badge(report)} '
            f'<span class="note">mode {_e(report.mode)}</span>'
            + _table(_SAFETY_HEAD, rows, left=(0, 1, 2, 5, 8, 10), row_class=classes) + "</div>")


# --- measurement and loop ------------------------------------------------------------------------------------


def _unit_of(name: str, metrics: Any = None) -> tuple[float, str]:
    unit = getattr(metrics, "unit", "") if metrics is not None else ""
    if unit == "T" or name == "rf":
        return 1e6, "uT"
    return 1e3, "mT/m"


def _measurement_table(m: Any) -> str:
    rows = []
    for name, c in m.channels.items():
        s, u = _unit_of(name, c)
        rows.append([name, f"{c.nrmse * 100:.3f} %", f"{c.nrmse_aligned * 100:.3f} %",
                     f"{c.peak_error * s:.4g} {u}", f"{c.delay_s * 1e6:.3f}", f"{c.gain:.4f}",
                     f"{math.degrees(c.phase_rad):.2f}"])
    return _table(("channel", "NRMSE (as captured)", "NRMSE (aligned)", "peak error", "delay (us)", "gain",
                   "phase (deg)"), rows, left=(0,))


def measurement_section(m: Any, *, title: str = "Measurement", dpi: int = 80) -> str:
    """Captured against commanded per channel, with the error figures."""
    head = (f"<h2>{_e(title)}</h2><p class=\"note\">{len(m.channels)} channel(s) captured at "
            f"{m.rate_hz / 1e6:g} MS/s; NRMSE as captured (what the hardware did) and aligned (after removing "
            "delay and gain: the shape error alone).</p>")
    parts = [head, _measurement_table(m)]
    try:
        parts.append(figure_html(m.plot(), dpi=dpi, caption="Commanded (reference) and captured per channel, and "
                                 "their difference."))
    except Exception as exc:  # noqa: BLE001
        parts.append(f'<p class="note">measurement plot not shown: {_e(exc)}</p>')
    return "<section>" + "".join(parts) + "</section>"


def measurement_html(m: Any) -> str:
    """Compact HTML for a notebook: the error figures per channel."""
    return (f'<div class="wg"><style>{_CSS}</style><b>Measurement</b> '
            f'<span class="note">{len(m.channels)} channel(s) at {m.rate_hz / 1e6:g} MS/s</span>'
            + _measurement_table(m) + "</div>")


def _hil_tables(h: Any) -> str:
    chans = list(h.initial_nrmse)
    summary = _table(("channel", "NRMSE before", "after (best drive)", "reduction"),
                     [[c, f"{h.initial_nrmse[c] * 100:.3f} %", f"{h.final_nrmse[c] * 100:.3f} %",
                       f"{h.reduction[c]:.1f}x"] for c in chans], left=(0,))
    steps = list(getattr(h, "steps", []) or [])
    rows = []
    for i, row in enumerate(h.history):
        step = "-" if i == 0 else (f"{steps[i - 1]:.3g}" if i - 1 < len(steps) else "")
        rows.append([str(i), "uncorrected" if i == 0 else "corrected", *[f"{row[c] * 100:.3f} %" for c in chans],
                     step])
    per_iter = _table(("play", "drive", *[f"{c} NRMSE" for c in chans], "ILC step"), rows, left=(1,))
    stopped = getattr(h, "stopped", "")
    return (summary + "<h3>Error per iteration per axis</h3>" + per_iter
            + (f'<p class="note">stopped: {_e(stopped)}</p>' if stopped else ""))


def hil_section(h: Any, *, title: str = "Hardware in the loop", dpi: int = 80) -> str:
    """The loop: before/after per channel, the error per iteration per axis, and its plot."""
    parts = [f"<h2>{_e(title)}</h2>", _hil_tables(h)]
    try:
        parts.append(figure_html(h.plot(), dpi=dpi, caption="NRMSE per play, the system response, and target / "
                                 "corrected drive / measured per channel."))
    except Exception as exc:  # noqa: BLE001
        parts.append(f'<p class="note">loop plot not shown: {_e(exc)}</p>')
    return "<section>" + "".join(parts) + "</section>"


def hil_html(h: Any) -> str:
    """Compact HTML for a notebook: before/after and the error per iteration per axis."""
    return f'<div class="wg"><style>{_CSS}</style><b>Hardware in the loop</b>' + _hil_tables(h) + "</div>"


# --- the page ----------------------------------------------------------------------------------------------------


def build_report(
    *,
    title: str = "wavegen report",
    sequence: Any = None,
    safety: Any = None,
    measurement: Any = None,
    hil: Any = None,
    notes: Sequence[str] = (),
    source_name: str = "",
    dpi: int = 80,
) -> str:
    """One self-contained HTML page with the parts given (each optional).

    Parameters
    ----------
    title
        Page title.
    sequence
        A :class:`~wavegen.sequence.Sequence`: its overview plot and k-space; also the source of the
        safety section's slew rates and worst-spot zooms.
    safety
        A :class:`~wavegen.safety.SafetyReport`.
    measurement
        A :class:`~wavegen.bench.Measurement`.
    hil
        A :class:`~wavegen.bench.HilResult`.
    notes
        Lines shown under the title (e.g. the command's text report), escaped.
    source_name
        What the report is about (a file name), shown under the title.
    dpi
        Resolution of the figures.

    Returns
    -------
    str
        The page (UTF-8 text): inline CSS, figures as base64 PNG, no script and no external resource.
    """
    from wavegen import __version__

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    sub = f"{_e(source_name)} &middot; " if source_name else ""
    parts = [f"<h1>{_e(title)}</h1><p class=\"note\">{sub}wavegen {_e(__version__)} &middot; {_e(when)}</p>"]
    if notes:
        parts.append("<section><h2>Summary</h2><pre>" + _e("\n".join(notes)) + "</pre></section>")
    if sequence is not None:
        parts.append(sequence_section(sequence, dpi=dpi))
    if safety is not None:
        parts.append(safety_section(safety, sequence, dpi=dpi))
    if measurement is not None:
        parts.append(measurement_section(measurement, dpi=dpi))
    if hil is not None:
        parts.append(hil_section(hil, dpi=dpi))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
            + "\n".join(parts) + "</main></body></html>\n")


def write_report(path: str | os.PathLike[str], **parts: Any) -> Path:
    """:func:`build_report` written to ``path`` atomically (:func:`wavegen.atomic.write_text`); returns the path."""
    from wavegen.atomic import write_text

    text = build_report(**parts)
    out = Path(path)
    write_text(out, text)
    return out


def _checked_label(report: Any) -> str:
    """What was checked, without hashing every sample of a long sequence just to print it."""
    subject = getattr(report, "subject", "")
    if subject.startswith("sequence:"):
        return f"checked sequence, definition SHA-256 {subject[9:25]}..."
    return f"checked waveforms SHA-256 {report.digest[:16]}..."
