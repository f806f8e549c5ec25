"""Limits outside physical sense are refused where users type them: the CLI's --limits and a bench
configuration's [limits], before any work or instrument (issue 12 items 5 and 10)."""

from __future__ import annotations

import copy
import time

import pytest

from wavegen.bench import MOCK_CONFIG
from wavegen.bench.config import parse_config
from wavegen.cli import main
from wavegen.errors import ConfigError


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("max_slew=150 T/m/ms", ["150 T/m/ms", "150000 T/m/s", "100000 T/m/s"]),
        ("max_grad=4 MT/m", ["4 MT/m", "4e+06 T/m", "10 T/m"]),
    ],
)
def test_cli_refuses_implausible_limits(tmp_path, capsys, spec, words):
    out_file = tmp_path / "x.seq"
    code = main(["design", "trapezoid", "--area", "1000 /m", "--limits", spec, "-o", str(out_file)])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("wavegen: error:")
    for w in words:
        assert w in err, err
    assert not out_file.exists()


def test_cli_design_of_an_absurd_area_answers_at_once(tmp_path, capsys):
    # ran for minutes: a linear search over 5.9e10 raster steps
    t0 = time.perf_counter()
    code = main(["design", "trapezoid", "--area", "1e12 /m", "-o", str(tmp_path / "x.seq")])
    _, err = capsys.readouterr()
    assert time.perf_counter() - t0 < 2.0
    assert code == 2 and "MAX_DESIGN_SAMPLES" in err, err


@pytest.mark.parametrize(("key", "text"), [("max_slew", "150 T/m/ms"), ("max_grad", "4 MT/m")])
def test_bench_config_refuses_implausible_limits_as_config_error(key, text):
    cfg = copy.deepcopy(MOCK_CONFIG)
    cfg.setdefault("limits", {})[key] = text
    with pytest.raises(ConfigError) as info:
        parse_config(cfg)  # only parses: no instrument is opened
    assert text in str(info.value) and "docs/references/limits.md" in str(info.value)
