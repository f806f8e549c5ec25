"""k-space paths for :func:`~wavegen.design.mintime.min_time_gradient`.

Every helper returns a path of shape ``(N, 2)`` in cycles/m (``k = gamma * integral G dt``, Pulseq's
convention); the time parametrisation is left to :func:`min_time_gradient`. Paths are geometric only:
they say where k-space is visited, not how fast.

References: Archimedean spiral (Ahn, Kim, Cho, IEEE TMI 1986; Glover, MRM 1999;42:412); variable-density
spiral ``k = lambda tau^alpha exp(i omega tau)`` (Kim, Adalsteinsson, Spielman, MRM 2003;50:214); EPI
(Mansfield 1977; Bernstein et al., *Handbook of MRI Pulse Sequences*, 2004, ch. 16); radial (Lauterbur
1973); rosette ``k = k_max sin(omega_1 t) exp(i omega_2 t)`` (Noll, IEEE TMI 1997;16:372).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from wavegen.design.bounds import MAX_DESIGN_SAMPLES
from wavegen.validate import finite, integer, positive

__all__ = [
    "archimedean_spiral",
    "variable_density_spiral",
    "epi_path",
    "radial_spoke",
    "rosette",
]

FloatArray = NDArray[np.float64]


def variable_density_spiral(
    k_max_per_m: float, n_turns: float, n_points: int, *, alpha: float = 1.0, phase_rad: float = 0.0
) -> FloatArray:
    """Centre-out spiral ``k(tau) = k_max tau^alpha exp(i (2 pi n_turns tau + phase))``, tau in [0, 1].

    ``alpha = 1`` is the Archimedean spiral (uniform density); ``alpha > 1`` samples the centre more
    densely (Kim et al., MRM 2003).

    Parameters
    ----------
    k_max_per_m
        Final radius, cycles/m (``1 / (2 * resolution_m)`` for a resolution).
    n_turns
        Number of turns.
    n_points
        Number of path points (>= 4).
    alpha
        Density exponent (> 0).
    phase_rad
        Starting angle (interleaf rotation), rad.

    Returns
    -------
    ndarray
        Shape ``(n_points, 2)``, cycles/m.
    """
    kmax = positive(k_max_per_m, "k_max_per_m", "1/m")
    turns = positive(n_turns, "n_turns", "turns")
    n = integer(n_points, "n_points", minimum=4, maximum=MAX_DESIGN_SAMPLES, integral_float=True)
    a = positive(alpha, "alpha", "")
    tau = np.linspace(0.0, 1.0, n)
    r = kmax * tau**a
    phi = 2.0 * math.pi * turns * tau + float(phase_rad)
    return np.stack((r * np.cos(phi), r * np.sin(phi)), axis=1)


def archimedean_spiral(
    k_max_per_m: float, n_turns: float, n_points: int, *, phase_rad: float = 0.0
) -> FloatArray:
    """Centre-out Archimedean spiral (radius linear in angle), shape ``(n_points, 2)``, cycles/m.

    For ``n_interleaves`` interleaves covering a field of view ``fov_m``, use
    ``n_turns = fov_m * k_max_per_m / n_interleaves`` (radial spacing ``n_interleaves / fov_m``).
    """
    return variable_density_spiral(k_max_per_m, n_turns, n_points, alpha=1.0, phase_rad=phase_rad)


def epi_path(k_max_x_per_m: float, n_lines: int, dk_y_per_m: float) -> FloatArray:
    """Cartesian EPI raster: lines along x from ``-k_max_x`` to ``+k_max_x``, alternating direction,
    joined by phase-encode steps of ``dk_y`` (lines centred on ky = 0).

    The corners are sharp, so :func:`min_time_gradient` stops at each (the fixed-path optimum; blipped
    EPI with ramp overlap is a different, non-fixed path).

    Returns
    -------
    ndarray
        The corner points, shape ``(2 * n_lines, 2)``, cycles/m.
    """
    kx = positive(k_max_x_per_m, "k_max_x_per_m", "1/m")
    n = integer(n_lines, "n_lines", minimum=1, maximum=MAX_DESIGN_SAMPLES, integral_float=True)
    dky = positive(dk_y_per_m, "dk_y_per_m", "1/m")
    ky = (np.arange(n) - (n - 1) / 2.0) * dky
    pts = np.empty((2 * n, 2))
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    pts[0::2, 0] = -kx * sign
    pts[1::2, 0] = kx * sign
    pts[0::2, 1] = ky
    pts[1::2, 1] = ky
    return pts


def radial_spoke(
    k_max_per_m: float, angle_rad: float, *, center_out: bool = False, n_points: int = 2
) -> FloatArray:
    """A radial line through the centre at ``angle_rad``: from ``-k_max`` to ``+k_max`` (or from 0 when
    ``center_out``), shape ``(n_points, 2)``, cycles/m."""
    kmax = positive(k_max_per_m, "k_max_per_m", "1/m")
    n = integer(n_points, "n_points", minimum=2, maximum=MAX_DESIGN_SAMPLES, integral_float=True)
    angle = finite(angle_rad, "angle_rad", "rad")
    start = 0.0 if center_out else -kmax
    r = np.linspace(start, kmax, n)
    return np.stack((r * math.cos(angle), r * math.sin(angle)), axis=1)


def rosette(k_max_per_m: float, omega1: float, omega2: float, n_points: int) -> FloatArray:
    """Rosette ``k(tau) = k_max sin(2 pi omega1 tau) exp(i 2 pi omega2 tau)``, tau in [0, 1] (Noll 1997).

    ``omega1`` and ``omega2`` are in cycles over the whole path; ``2 * omega1`` petals pass through the
    centre. Shape ``(n_points, 2)``, cycles/m.
    """
    kmax = positive(k_max_per_m, "k_max_per_m", "1/m")
    w1 = positive(omega1, "omega1", "cycles")
    w2 = finite(omega2, "omega2", "cycles")
    n = integer(n_points, "n_points", minimum=4, maximum=MAX_DESIGN_SAMPLES, integral_float=True)
    tau = np.linspace(0.0, 1.0, n)
    r = kmax * np.sin(2.0 * math.pi * w1 * tau)
    phi = 2.0 * math.pi * w2 * tau
    return np.stack((r * np.cos(phi), r * np.sin(phi)), axis=1)
