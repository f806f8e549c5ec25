"""wavegen in five minutes: design, check, resample, quantize. Run: python examples/quickstart.py

Everything is SI inside (s, T, T/m, T/m/s); human units only at the edge (SystemLimits.from_units).

Next: ``python examples/bench_tour.py`` (play, measure and correct on the built-in mock bench),
``examples/tour.ipynb`` (the same in a notebook), and ``wavegen demo`` / ``wavegen --help`` (the command line).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

import wavegen as wg
from wavegen import design, safety


def main() -> None:
    limits = wg.SystemLimits.from_units(max_grad="40 mT/m", max_slew="150 T/m/s", max_b1="20 uT")

    # 1. a shortest trapezoid for a k-space area of 1000 cycles/m, on the 10 us raster
    g = design.shortest_trapezoid(limits, area_per_m=1000.0)
    print(f"trapezoid: {g.duration_s * 1e6:.0f} us, {g.amplitude_t_per_m * 1e3:.2f} mT/m")

    # 2. a 90 degree sinc pulse and its slice-select gradient for a 5 mm slice
    rf = design.sinc_pulse(np.deg2rad(90), 3e-3, 4.0, limits=limits)
    gz = design.slice_select_gradient(rf, 5e-3, limits)
    print(f"RF: peak {np.max(np.abs(rf.b1_t)) * 1e6:.2f} uT; slice gradient {gz.amplitude_t_per_m * 1e3:.2f} mT/m")

    # 3. safety: one axis passes, three axes at full slew stimulate (SAFE model, example hardware)
    gx = g.sample(limits.grad_raster_s)
    ok = safety.check(safety.Waveforms(np.column_stack([gx, 0 * gx, 0 * gx]), limits.grad_raster_s), limits)
    print(ok.summary().splitlines()[0])
    try:
        safety.check(safety.Waveforms(np.column_stack([gx] * 3), limits.grad_raster_s), limits).raise_if_unsafe()
    except wg.SafetyError as e:
        print(f"refused: {e.quantity} {e.value:.0f} {e.unit} > {e.limit:.0f} {e.unit} on {e.channel} at "
              f"{e.time_s * 1e6:.0f} us")

    # 4. to an AWG at 1 MS/s: linear is exact for gradients; samples sit at raster centres
    y = wg.resample(gx, 1 / limits.grad_raster_s, 1e6, method="linear", src_t0_s=limits.grad_raster_s / 2)
    print(f"resampled: {gx.size} samples -> {y.size}; area kept: "
          f"{np.isclose(y.sum() * 1e-6, gx.sum() * limits.grad_raster_s, rtol=1e-12)}")

    # 5. ... and to an instrument whose rate has nothing to do with the raster (exact rationals)
    r = wg.Resampler(1e5, Fraction(10**7, 3), method="cubic", src_t0_s=5e-6)
    print(f"output sample 10^9 sits exactly at source position {r.position(10**9)}")

    # 6. DAC codes in the same pass, range-checked
    codes = wg.resample_to_codes(gx, 1e5, 1e6, wg.DacFormat.for_full_scale(16, full_scale=0.04))
    print(f"int16 codes {codes.min()} .. {codes.max()}")


if __name__ == "__main__":
    main()
