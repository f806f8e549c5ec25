"""The self-contained HTML report (wavegen.report.html) and the notebook views (_repr_html_)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from wavegen import pulseq, safety
from wavegen.bench import HilResult, Measurement
from wavegen.cli import main
from wavegen.cli.demo import demo_sequence
from wavegen.hil import ChannelMetrics
from wavegen.limits import SystemLimits
from wavegen.report import build_report, write_report
from wavegen.report.html import safety_rows
from wavegen.sequence import Sequence, recipes

LIMITS = SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def seq() -> Sequence:
    return demo_sequence(LIMITS).seq


@pytest.fixture(scope="module")
def report(seq: Sequence):
    return safety.check(seq, LIMITS)


def _measurement() -> Measurement:
    t = np.arange(400) / 1e5
    ref = {"gx": 0.01 * np.sin(2 * np.pi * 500 * t), "rf": 2e-6 * np.exp(1j * t * 1e3)}
    cap = {"gx": ref["gx"] * 0.97, "rf": ref["rf"] * 1.01}
    ch = {"gx": ChannelMetrics(0.0312, 3e-4, 1.5e-6, 0.97, 0.0, 0.004, "T/m"),
          "rf": ChannelMetrics(0.011, 2e-8, 0.2e-6, 1.01, 0.01, 0.003, "T")}
    return Measurement(ch, ref, cap, rate_hz=1e5, t0_s=-1e-4)


def _hil() -> HilResult:
    n = 300
    tgt = {"gx": np.sin(np.arange(n) / 20) * 0.01, "gy": np.cos(np.arange(n) / 20) * 0.01}
    hist = [{"gx": 0.10, "gy": 0.12}, {"gx": 0.01, "gy": 0.02}, {"gx": 0.004, "gy": 0.006}]
    return HilResult(history=hist, initial_nrmse=hist[0], final_nrmse=hist[-1],
                     reduction={"gx": 25.0, "gy": 20.0}, girf={}, corrected=tgt, target=tgt,
                     measured={k: v * 0.999 for k, v in tgt.items()}, rate_hz=1e6, t0_s=0.0,
                     steps=[1.0, 0.5], stopped="target <1> reached & stopped")


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_is_self_contained_with_every_part(seq: Sequence, report) -> None:
    page = build_report(title="t <1>", sequence=seq, safety=report, measurement=_measurement(), hil=_hil(),
                        notes=["line with <script>alert(1)</script>"], source_name="a&b.seq")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert "<link" not in page.lower() and "@import" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "a&amp;b.seq" in page and "t &lt;1&gt;" in page
    imgs = _images(page)
    # sequence, k-space, safety traces, >= 1 worst-spot zoom, measurement, loop
    assert len(imgs) >= 6 and all(i.startswith(b"\x89PNG\r\n\x1a\n") for i in imgs)
    for words in ("Sequence", "k-space", "Safety", "Worst spots", "Measurement", "Hardware in the loop",
                  "Error per iteration per axis", "target &lt;1&gt; reached &amp; stopped"):
        assert words in page, words


def test_safety_table_in_human_units_with_percent_of_limit(report) -> None:
    rows, classes = safety_rows(report)
    by_rule = {r[1]: r for r in rows}
    amp = report["grad_amplitude"]
    row = by_rule["grad_amplitude"]
    assert row[5] == "mT/m" and float(row[3]) == pytest.approx(amp.value * 1e3, rel=1e-3)
    assert float(row[4]) == pytest.approx(40.0) and row[6] == f"{amp.ratio * 100:.1f} %"
    assert by_rule["grad_slew"][5] == "T/m/s" and by_rule["rf_b1_peak"][5] == "uT"
    assert float(by_rule["rf_b1_peak"][4]) == pytest.approx(20.0)
    assert by_rule["pns_safe"][5] == "%"
    assert classes[list(by_rule).index("b1rms_10s")] == "unverified"


def test_a_failing_rule_is_marked_and_zoomed(seq: Sequence) -> None:
    tight = SystemLimits.from_units(max_grad="20 mT/m", max_slew="150 T/m/s", max_b1="20 uT")
    rep = safety.check(seq, tight)
    assert not rep.ok
    page = build_report(sequence=seq, safety=rep)
    assert "UNSAFE: 1 violation(s)" in page and '<tr class="fail">' in page
    assert "worst spot of grad_amplitude" in page


def test_write_report_writes_the_page(tmp_path: Path, seq: Sequence) -> None:
    out = write_report(tmp_path / "r.html", sequence=seq, title="x")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and len(_images(text)) == 2  # overview and k-space
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def test_notebook_views_are_compact(seq: Sequence, report) -> None:
    s = report._repr_html_()
    assert "Safety report" in s and "mT/m" in s and "<img" not in s and len(s) < 20_000
    m = _measurement()._repr_html_()
    assert "3.120 %" in m and "1.5" in m and "uT" in m and "mT/m" in m
    h = _hil()._repr_html_()
    assert "Error per iteration per axis" in h and "0.400 %" in h and "25.0x" in h
    q = seq._repr_html_()
    assert q.count("<img") == 1 and len(q) < 120_000 and "blocks" in q


def test_notebook_view_of_an_80_s_sequence_is_bounded(monkeypatch) -> None:
    long_seq = recipes.design_gre(SystemLimits(), fov_m=0.256, matrix=64, tr_s=1.25).seq
    samples: list[int] = []
    real = Sequence.render_chunks

    def spy(self, *args, **kwargs):
        samples.append(int(kwargs["n_samples"]))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Sequence, "render_chunks", spy)
    html = long_seq._repr_html_()
    assert html.count("<img") == 1 and len(html) < 150_000
    from wavegen.report.figures import MAX_RENDER_SAMPLES

    assert samples and max(samples) <= MAX_RENDER_SAMPLES  # samples per channel rendered, however long the sequence


def test_cli_check_html_and_a_bad_suffix(tmp_path: Path, seq: Sequence, capsys) -> None:
    f = tmp_path / "s.seq"
    pulseq.write(seq, f)
    out = tmp_path / "sub" / "r.html"
    assert main(["--no-progress", "check", str(f), "--html", str(out)]) == 0
    assert f"report: {out}" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    assert "wavegen check: s.seq" in page and "% of limit" in page and len(_images(page)) >= 4
    assert main(["--no-progress", "check", str(f), "--html", str(tmp_path / "r.txt")]) == 2
    assert "--html" in capsys.readouterr().err and not (tmp_path / "r.txt").exists()


def test_an_empty_sequence_shows_its_facts_without_a_plot() -> None:
    page = Sequence()._repr_html_()
    assert "no blocks yet" in page and "<img" not in page
