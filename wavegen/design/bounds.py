"""How long one design may be: a bound checked before anything is allocated.

A single RF pulse or gradient waveform designed by :mod:`wavegen.design` holds at most
:data:`MAX_DESIGN_SAMPLES` raster samples (or raster steps, for trapezoids, whose samples appear when
they are rendered). That is 2**22 = 4,194,304 samples: 41.9 s on the usual 10 us gradient raster and
4.19 s on the 1 us RF raster, far above any single lobe or pulse of an MR sequence (the longest
common single events, adiabatic and saturation pulses, last tens of milliseconds; a long EPI or spiral
readout lasts well under a second), and small enough that a design of that length still fits in memory
(64 MiB of complex128) and finishes in seconds. A request beyond it (an area of 1e12 cycles/m, a
k-space path scaled to 1e6 cycles/m, a 1e9 s pulse) is refused at once with a
:class:`~wavegen.errors.RangeError` naming the value, the bound and the unit, instead of searching
for minutes or running out of memory.
"""

from __future__ import annotations

from wavegen.errors import RangeError

__all__ = ["MAX_DESIGN_SAMPLES", "MAX_SEARCH_SAMPLES", "check_design_length"]

#: Largest number of raster samples (or raster steps) one design may produce.
MAX_DESIGN_SAMPLES = 2**22

#: Largest number of raster samples (or steps) of a design whose search costs more per sample: a
#: time-optimal gradient along a k-space path (:func:`~wavegen.design.mintime.min_time_gradient`, about
#: 2 us of CPU per sample) and a flow-compensated bipolar
#: (:func:`~wavegen.design.moments.flow_compensated_bipolar`, a bisection over splits of the length).
#: 2**19 = 524,288 samples, 5.2 s on a 10 us raster (readouts and bipolars last well under 0.2 s).
MAX_SEARCH_SAMPLES = 2**19


def check_design_length(n_steps: float, raster_s: float, what: str, *, limit: int = MAX_DESIGN_SAMPLES) -> None:
    """Refuse a design of more than :data:`MAX_DESIGN_SAMPLES` raster steps.

    Parameters
    ----------
    n_steps
        The number of raster steps the design needs (or a lower bound of it; may be a float).
    raster_s
        The raster, s, to state the bound as a duration too.
    what
        The request in the caller's words (``"area 2.3e+04 T*s/m"``), for the message.
    limit
        The bound, :data:`MAX_DESIGN_SAMPLES` unless a design has its own (:data:`MAX_SEARCH_SAMPLES`).

    Raises
    ------
    RangeError
        If ``n_steps > limit``.
    """
    if not n_steps <= limit:  # also catches NaN
        name = "MAX_SEARCH_SAMPLES" if limit == MAX_SEARCH_SAMPLES else "MAX_DESIGN_SAMPLES"
        raise RangeError(
            f"{what} needs {n_steps:.4g} raster steps of {raster_s:g} s ({n_steps * raster_s:.4g} s); this design "
            f"may last at most {limit} steps ({limit * raster_s:.4g} s, wavegen.design.bounds.{name})"
        )
