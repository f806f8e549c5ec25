"""wavegen.safety: hardware and patient safety checks, and the interlock drivers call.

- :func:`check` ``(waveforms, limits, mode="normal", ...) -> SafetyReport`` runs every rule: gradient
  amplitude/slew (per axis and vector, every sample), gradient RMS, SAFE PNS (vendor ``.asc`` or the public
  example set), IEC 60601-2-33 hyperbolic PNS and cardiac limits, acoustic resonance bands, peak B1, SAR
  over exact 10 s / 6 min windows (absolute only with a calibration), RF amplifier power and duty cycle.
- :func:`check_many` ``(protocols, configs, scheduler=None) -> Table`` checks a protocol library against
  several configurations on Dask, one row per pair (:mod:`wavegen.safety.library`).
- :func:`clear` / :func:`override` / :func:`require` form the interlock (:mod:`wavegen.safety.interlock`).
- The pieces are usable alone: :func:`safe_pns`, :func:`sar_windows`, :func:`iec_db_dt_limit_t_per_s`, ...
"""

from __future__ import annotations

from wavegen.safety.acoustic import BandPeak, band_peaks, check_acoustic
from wavegen.safety.check import MODES, check, physical_xyz
from wavegen.safety.gradient import slew_rate
from wavegen.safety.hardware import (
    AcousticBand,
    GradientHardware,
    SafeAxis,
    SafeModel,
    example_hardware,
    example_safe_model,
    hardware_from_asc,
    read_asc,
)
from wavegen.safety.interlock import (
    ChannelCalibration,
    Clearance,
    Grant,
    PlayOrder,
    Segment,
    clear,
    clear_volts,
    override,
    require,
    samples_digest,
)
from wavegen.safety.library import CheckConfig, check_many, load_config
from wavegen.safety.pns import (
    IecPnsModel,
    PnsResult,
    cardiac_db_dt_limit_t_per_s,
    cardiac_e_limit_v_per_m,
    iec_db_dt_limit_t_per_s,
    iec_e_limit_v_per_m,
    safe_pns,
    stimulus_segments,
)
from wavegen.safety.report import RuleResult, SafetyReport
from wavegen.safety.rfpower import RfAmplifier, check_rf_amplifier
from wavegen.safety.sar import (
    SarCalibration,
    SarWindow,
    b1rms_t,
    rf_energy_t2_s,
    sar_limit_w_per_kg,
    sar_windows,
)
from wavegen.safety.waveforms import SupportsToWaveforms, Waveforms, as_waveforms

__all__ = [
    "MODES",
    "check",
    "check_many",
    "CheckConfig",
    "load_config",
    "physical_xyz",
    "ChannelCalibration",
    "Clearance",
    "Grant",
    "PlayOrder",
    "Segment",
    "clear_volts",
    "samples_digest",
    "clear",
    "override",
    "require",
    "RuleResult",
    "SafetyReport",
    "SupportsToWaveforms",
    "Waveforms",
    "as_waveforms",
    "slew_rate",
    "AcousticBand",
    "GradientHardware",
    "SafeAxis",
    "SafeModel",
    "example_hardware",
    "example_safe_model",
    "hardware_from_asc",
    "read_asc",
    "IecPnsModel",
    "PnsResult",
    "safe_pns",
    "stimulus_segments",
    "iec_db_dt_limit_t_per_s",
    "iec_e_limit_v_per_m",
    "cardiac_db_dt_limit_t_per_s",
    "cardiac_e_limit_v_per_m",
    "SarCalibration",
    "SarWindow",
    "sar_windows",
    "sar_limit_w_per_kg",
    "rf_energy_t2_s",
    "b1rms_t",
    "RfAmplifier",
    "check_rf_amplifier",
    "BandPeak",
    "band_peaks",
    "check_acoustic",
]
