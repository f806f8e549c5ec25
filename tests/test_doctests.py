"""The examples in the docstrings are true: every module's doctests run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import wavegen


def _modules() -> list[str]:
    names = (m.name for m in pkgutil.walk_packages(wavegen.__path__, prefix="wavegen."))
    # every module but the compiled extension and the command-line entry (it runs the command)
    return sorted(n for n in names if not n.endswith(("._native", ".__main__")))


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} fail"


def test_some_modules_carry_examples():
    attempted = sum(
        doctest.testmod(importlib.import_module(n), optionflags=doctest.NORMALIZE_WHITESPACE, report=False).attempted
        for n in ("wavegen.dsp.resampler", "wavegen.units", "wavegen.limits", "wavegen.design.slr",
                  "wavegen.design.moments", "wavegen.safety.pns")
    )
    assert attempted >= 14
