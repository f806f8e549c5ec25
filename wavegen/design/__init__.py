"""wavegen.design."""

from __future__ import annotations

from wavegen.design.adiabatic import bir4_pulse, hyperbolic_secant_pulse, wurst_pulse
from wavegen.design.bloch import BlochResult, ProfileMetrics, profile_metrics
from wavegen.design.gradients import (
    ArbitraryGradient,
    ExtendedTrapezoid,
    Gradient,
    Trapezoid,
    check_gradient,
)
from wavegen.design.rf import (
    RFPulse,
    arbitrary_pulse,
    block_pulse,
    gauss_pulse,
    scale_to_flip_angle,
    sinc_pulse,
    slice_refocus_area_t_s_per_m,
    slice_select_gradient,
)
from wavegen.design.slr import slr_pulse

__all__: list[str] = [
    # gradients (H3)
    "ArbitraryGradient",
    "ExtendedTrapezoid",
    "Gradient",
    "Trapezoid",
    "check_gradient",
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
    "bir4_pulse",
    "hyperbolic_secant_pulse",
    "wurst_pulse",
]
