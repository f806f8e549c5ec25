"""wavegen.design: gradient and RF pulse design, the Bloch simulator, k-space trajectories.

Every public name is importable from here; the modules are split by job (:mod:`~wavegen.design.pulse`
holds the :class:`RFPulse` value, :mod:`~wavegen.design.rf` the classic shapes,
:mod:`~wavegen.design.rf_slice` slice selection, :mod:`~wavegen.design.bloch` the simulator, ...).
One design is at most :data:`~wavegen.design.bounds.MAX_DESIGN_SAMPLES` raster samples long.
"""

from __future__ import annotations

from wavegen.design.adiabatic import bir4_pulse, hyperbolic_secant_pulse, wurst_pulse
from wavegen.design.bloch import BlochResult, ProfileMetrics, profile_metrics
from wavegen.design.bounds import MAX_DESIGN_SAMPLES
from wavegen.design.gradients import (
    ArbitraryGradient,
    ExtendedTrapezoid,
    Gradient,
    Trapezoid,
    check_gradient,
)
from wavegen.design.mintime import gradient_events, gradient_to_k, min_time_gradient, sampled_limit_excess
from wavegen.design.moments import flow_compensated_bipolar, gradient_moments, sampled_moments
from wavegen.design.multiband import multiband_pulse
from wavegen.design.pulse import RFPulse
from wavegen.design.rf import (
    arbitrary_pulse,
    block_pulse,
    gauss_pulse,
    scale_to_flip_angle,
    sinc_pulse,
)
from wavegen.design.rf_slice import slice_refocus_area_t_s_per_m, slice_select_gradient
from wavegen.design.slr import slr_pulse
from wavegen.design.splitting import (
    join_arbitrary_gradients,
    join_gradients,
    split_arbitrary_gradient,
    split_gradient,
)
from wavegen.design.sweep import bloch_metrics, sweep
from wavegen.design.trajectories import (
    archimedean_spiral,
    epi_path,
    radial_spoke,
    rosette,
    variable_density_spiral,
)
from wavegen.design.trapezoid import (
    extended_trapezoid_for_duration,
    ramp,
    readout_trapezoid,
    shortest_arbitrary_gradient,
    shortest_extended_trapezoid,
    shortest_trapezoid,
    trapezoid_for_amplitude,
    trapezoid_for_duration,
)
from wavegen.design.verse import VerseResult, verse

__all__: list[str] = [
    # gradients (H3)
    "ArbitraryGradient",
    "ExtendedTrapezoid",
    "Gradient",
    "Trapezoid",
    "check_gradient",
    "shortest_trapezoid",
    "trapezoid_for_duration",
    "trapezoid_for_amplitude",
    "readout_trapezoid",
    "ramp",
    "shortest_extended_trapezoid",
    "extended_trapezoid_for_duration",
    "shortest_arbitrary_gradient",
    "split_gradient",
    "join_gradients",
    "split_arbitrary_gradient",
    "join_arbitrary_gradients",
    "gradient_moments",
    "sampled_moments",
    "flow_compensated_bipolar",
    "min_time_gradient",
    "gradient_to_k",
    "gradient_events",
    "sampled_limit_excess",
    "archimedean_spiral",
    "variable_density_spiral",
    "epi_path",
    "radial_spoke",
    "rosette",
    # RF (H4); the simulator itself: wavegen.design.bloch.simulate / simulate_ab
    "BlochResult",
    "ProfileMetrics",
    "profile_metrics",
    "RFPulse",
    "arbitrary_pulse",
    "block_pulse",
    "gauss_pulse",
    "scale_to_flip_angle",
    "sinc_pulse",
    "slice_refocus_area_t_s_per_m",
    "slice_select_gradient",
    "slr_pulse",
    "multiband_pulse",
    "VerseResult",
    "verse",
    "bir4_pulse",
    "hyperbolic_secant_pulse",
    "wurst_pulse",
    "MAX_DESIGN_SAMPLES",
    # design sweeps on Dask (wavegen.design.sweep)
    "sweep",
    "bloch_metrics",
]
