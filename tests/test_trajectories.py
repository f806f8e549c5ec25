"""k-space path helpers: geometry of spirals, EPI, radial and rosette paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wavegen.design.trajectories import (
    archimedean_spiral,
    epi_path,
    radial_spoke,
    rosette,
    variable_density_spiral,
)
from wavegen.errors import NonFiniteError, RangeError


def test_archimedean_spiral_geometry() -> None:
    k = archimedean_spiral(250.0, 16, 4000)
    assert k.shape == (4000, 2)
    r = np.hypot(k[:, 0], k[:, 1])
    assert r[0] == 0 and r[-1] == pytest.approx(250.0)
    turns = np.unwrap(np.arctan2(k[1:, 1], k[1:, 0]))
    assert (turns[-1] - turns[0]) / (2 * math.pi) == pytest.approx(16, abs=0.01)
    # Archimedean: radius linear in angle -> constant radial spacing per turn = k_max / n_turns
    phi = np.unwrap(np.arctan2(k[1:, 1], k[1:, 0]))
    np.testing.assert_allclose(np.diff(r[1:]) / np.diff(phi), 250.0 / (2 * math.pi * 16), rtol=1e-9)


def test_variable_density_denser_centre() -> None:
    k = variable_density_spiral(250.0, 10, 3000, alpha=2.0)
    r = np.hypot(k[:, 0], k[:, 1])
    assert r[-1] == pytest.approx(250.0)
    # half of the turns lie inside 1/4 of the radius for alpha = 2
    assert r[1500] == pytest.approx(250.0 * (1500 / 2999) ** 2, rel=1e-12)
    k2 = variable_density_spiral(250.0, 10, 3000, alpha=1.0, phase_rad=math.pi / 2)
    assert k2[-1, 0] == pytest.approx(0.0, abs=1e-9) and k2[-1, 1] == pytest.approx(250.0)


def test_epi_path() -> None:
    k = epi_path(128.0, 4, 5.0)
    np.testing.assert_allclose(
        k,
        [
            [-128, -7.5],
            [128, -7.5],
            [128, -2.5],
            [-128, -2.5],
            [-128, 2.5],
            [128, 2.5],
            [128, 7.5],
            [-128, 7.5],
        ],
    )


def test_radial_and_rosette() -> None:
    k = radial_spoke(200.0, math.pi / 3)
    np.testing.assert_allclose(k[0], [-100.0, -200.0 * math.sin(math.pi / 3)])
    assert radial_spoke(200.0, 0.0, center_out=True, n_points=5)[0, 0] == 0.0
    ro = rosette(200.0, 3.0, 1.7, 2401)
    r = np.hypot(ro[:, 0], ro[:, 1])
    assert np.max(r) == pytest.approx(200.0, rel=1e-5)
    # 2 * omega1 passes through the centre (sin zeros at tau = j / (2 omega1))
    zeros = [400 * j for j in range(7)]
    assert np.all(r[zeros] < 1e-9 * 200 + 1e-9)


def test_validation() -> None:
    with pytest.raises(RangeError):
        archimedean_spiral(-1.0, 3, 100)
    with pytest.raises(RangeError):
        archimedean_spiral(1.0, 3, 2)
    with pytest.raises(NonFiniteError):
        rosette(1.0, 1.0, math.nan, 100)
    with pytest.raises(RangeError):
        epi_path(1.0, 0, 1.0)
