"""Gradient hardware descriptions for the safety rules: SAFE PNS parameters, acoustic resonances,
gradient RMS rating, read from a vendor ``.asc`` file or given as dataclasses.

The SAFE parameters (Hebrank & Gebhardt, Proc. ISMRM 8 (2000) abstract 2007) of a real gradient system
come from its vendor hardware file (Siemens ``MP_GPA_*.asc``; confidential, never shipped). The only
public set is the *example* hardware of Szczepankiewicz & Witzel's ``safe_pns_prediction`` (BSD-3-Clause;
not a real scanner), built in here as :func:`example_safe_model`: it is the default for
:func:`wavegen.safety.pns.safe_pns`, and every report that uses it says so.

``.asc`` keys read (docs/references/safety.md sections 2.3 and 3):

- PNS: ``flGSWDTau{X,Y,Z}[0..2]`` (ms), ``flGSWDA{X,Y,Z}[0..2]``, ``flGSWDStimulationLimit{X,Y,Z}``
  and ``flGSWDStimulationThreshold{X,Y,Z}`` (T/m/s), at top level or under ``GradPatSup.Phys.PNS.``;
  the cardiac model under ``GradPatSup.Phys.CarNS.`` (newer systems);
- ``asGPAParameters[0].sGCParameters.flGScaleFactor{X,Y,Z}``: required (no silent 1/pi fallback);
- acoustic resonances: ``...sGCParameters.aflAcousticResonanceFrequency[i]`` /
  ``...aflAcousticResonanceBandwidth[i]`` or top-level ``aflGCAcousticResonance...`` (Hz; frequency 0
  means unused). Forbidden band ``[f - bw/2, f + bw/2]``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from wavegen.errors import ConfigError, RangeError
from wavegen.validate import non_negative, positive

__all__ = [
    "SafeAxis",
    "SafeModel",
    "AcousticBand",
    "GradientHardware",
    "example_safe_model",
    "example_hardware",
    "read_asc",
    "hardware_from_asc",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SafeAxis:
    """SAFE parameters of one physical gradient axis.

    Parameters
    ----------
    tau_s
        The three low-pass time constants, s (the ``.asc`` file gives ms).
    a
        The three weights; must sum to 1 (to 1e-3, as in the reference implementation).
    stim_limit_t_per_m_per_s
        Stimulation limit, T/m/s: 100 % of the model.
    stim_thresh_t_per_m_per_s
        Stimulation threshold, T/m/s (carried along; the model does not use it).
    g_scale
        Gradient scale factor (``flGScaleFactor``), dimensionless.
    """

    tau_s: tuple[float, float, float]
    a: tuple[float, float, float]
    stim_limit_t_per_m_per_s: float
    stim_thresh_t_per_m_per_s: float
    g_scale: float

    def __post_init__(self) -> None:
        if len(self.tau_s) != 3 or len(self.a) != 3:
            raise RangeError(f"SafeAxis needs three tau_s and three a, got {self.tau_s!r} and {self.a!r}")
        tau = tuple(positive(t, f"SafeAxis.tau_s[{i}]", "s") for i, t in enumerate(self.tau_s))
        a = tuple(non_negative(x, f"SafeAxis.a[{i}]", "1") for i, x in enumerate(self.a))
        if abs(sum(a) - 1.0) > 1e-3:
            raise RangeError(f"SafeAxis weights a1 + a2 + a3 = {sum(a)!r} must be 1 (to 1e-3)")
        object.__setattr__(self, "tau_s", tau)
        object.__setattr__(self, "a", a)
        for name in ("stim_limit_t_per_m_per_s", "stim_thresh_t_per_m_per_s", "g_scale"):
            object.__setattr__(self, name, positive(getattr(self, name), f"SafeAxis.{name}", "SI"))

    @property
    def steady_state_slew_t_per_m_per_s(self) -> float:
        """The constant slew rate that reaches 100 % in steady state: ``stim_limit / g_scale``."""
        return self.stim_limit_t_per_m_per_s / self.g_scale


@dataclass(frozen=True)
class SafeModel:
    """SAFE parameters of the three physical axes (x, y, z), plus the set's name."""

    x: SafeAxis
    y: SafeAxis
    z: SafeAxis
    name: str = ""

    @property
    def axes(self) -> tuple[SafeAxis, SafeAxis, SafeAxis]:
        """``(x, y, z)``."""
        return (self.x, self.y, self.z)

    @property
    def longest_tau_s(self) -> float:
        """Longest time constant of all axes, s."""
        return max(max(ax.tau_s) for ax in self.axes)


@dataclass(frozen=True)
class AcousticBand:
    """A forbidden acoustic (mechanical) resonance band of the gradient coil, centre and full width, Hz."""

    frequency_hz: float
    bandwidth_hz: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency_hz", positive(self.frequency_hz, "AcousticBand.frequency_hz", "Hz"))
        object.__setattr__(
            self, "bandwidth_hz", non_negative(self.bandwidth_hz, "AcousticBand.bandwidth_hz", "Hz")
        )

    @property
    def low_hz(self) -> float:
        """Lower edge ``f - bw/2``, Hz."""
        return self.frequency_hz - self.bandwidth_hz / 2

    @property
    def high_hz(self) -> float:
        """Upper edge ``f + bw/2``, Hz."""
        return self.frequency_hz + self.bandwidth_hz / 2


def example_safe_model() -> SafeModel:
    """The public SAFE *example* hardware (not a real scanner).

    Values from ``safe_example_hw()`` of Szczepankiewicz & Witzel's safe_pns_prediction
    (BSD-3-Clause), also in pypulseq; taus converted from ms to s. With these, a long constant slew
    on x reaches 100 % at ``30 / 0.35 = 85.71`` T/m/s.
    """
    return SafeModel(
        x=SafeAxis((0.20e-3, 0.03e-3, 3.00e-3), (0.40, 0.10, 0.50), 30.0, 24.0, 0.35),
        y=SafeAxis((1.50e-3, 2.50e-3, 0.15e-3), (0.55, 0.15, 0.30), 15.0, 12.0, 0.31),
        z=SafeAxis((2.00e-3, 0.12e-3, 1.00e-3), (0.42, 0.40, 0.18), 25.0, 20.0, 0.25),
        name="MP_GPA_EXAMPLE (public example, not a real scanner)",
    )


@dataclass(frozen=True)
class GradientHardware:
    """What the safety rules need to know about a gradient system.

    Parameters
    ----------
    name
        Name of the system or file.
    pns
        SAFE PNS model; ``None`` skips the SAFE rule.
    cardiac
        SAFE-type cardiac stimulation model (``CarNS``), if the vendor provides one.
    acoustic_bands
        Forbidden resonance bands.
    acoustic_threshold_t_per_m
        Largest allowed spectral amplitude (T/m, sinusoid-amplitude scaled) inside a forbidden band; no
        public standard gives a number, so the vendor or the user must (``None``: bands are reported,
        not judged).
    max_grad_rms_t_per_m, grad_rms_window_s
        Gradient RMS rating of amplifier and coil over a window (``None``: not checked).
    """

    name: str = "example"
    pns: SafeModel | None = field(default_factory=example_safe_model)
    cardiac: SafeModel | None = None
    acoustic_bands: tuple[AcousticBand, ...] = ()
    acoustic_threshold_t_per_m: float | None = None
    max_grad_rms_t_per_m: float | None = None
    grad_rms_window_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "acoustic_bands", tuple(self.acoustic_bands))
        if self.acoustic_threshold_t_per_m is not None:
            positive(self.acoustic_threshold_t_per_m, "GradientHardware.acoustic_threshold_t_per_m", "T/m")
        if (self.max_grad_rms_t_per_m is None) != (self.grad_rms_window_s is None):
            raise ConfigError("GradientHardware: max_grad_rms_t_per_m and grad_rms_window_s go together")
        if self.max_grad_rms_t_per_m is not None:
            positive(self.max_grad_rms_t_per_m, "GradientHardware.max_grad_rms_t_per_m", "T/m")
            positive(self.grad_rms_window_s, "GradientHardware.grad_rms_window_s", "s")

    @property
    def is_example(self) -> bool:
        """True when the PNS model is the public example set (not a real scanner)."""
        return self.pns is not None and self.pns.name.startswith("MP_GPA_EXAMPLE")


def example_hardware() -> GradientHardware:
    """A :class:`GradientHardware` with the public example SAFE set and nothing else."""
    return GradientHardware(name="example", pns=example_safe_model())


# --- .asc files -------------------------------------------------------------------------------------

_LINE = re.compile(r"""^\s*([A-Za-z_][\w\.\[\]]*)\s*=\s*("[^"]*"|'[^']*'|[-+0-9.eExX]+)\s*(?:(?:#|//).*)?$""")


def read_asc(source: str | Path) -> dict[str, float | int | str]:
    """Read the ``key = value`` lines of a Siemens ``.asc`` file into a flat dict.

    Parameters
    ----------
    source
        A path, or the text itself (a string containing a newline).

    Returns
    -------
    dict
        Full dotted keys (``"asGPAParameters[0].sGCParameters.flGScaleFactorX"``) to int, float or str.
        ``$INCLUDE`` lines are logged and ignored (read the included file separately).
    """
    if isinstance(source, Path) or "\n" not in str(source):
        path = Path(source)
        try:
            text = path.read_text(encoding="latin-1")
        except OSError as exc:
            raise ConfigError(f"cannot read .asc file {path}: {exc}") from exc
        origin = str(path)
    else:
        text, origin = str(source), "<text>"
    out: dict[str, float | int | str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("//"):
            continue
        if line.upper().startswith("$INCLUDE"):
            logger.warning("%s:%d: %s ignored; read the included file separately", origin, lineno, line)
            continue
        m = _LINE.match(line)
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        if val[0] in "\"'":
            out[key] = val[1:-1]
            continue
        try:
            out[key] = int(val, 0) if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)", val) else float(val)
        except ValueError as exc:
            raise ConfigError(f"{origin}:{lineno}: cannot parse the value of {key}: {val!r}") from exc
    return out


def _find(asc: dict[str, float | int | str], suffix: str, prefix: str | None) -> float | None:
    """Value of the key ending in ``suffix`` (after ``prefix`` if given, else at any depth outside
    GradPatSup.Phys.CarNS)."""
    if prefix is not None:
        v = asc.get(prefix + suffix)
        return None if v is None else float(v)
    hits = [k for k in asc if (k == suffix or k.endswith("." + suffix)) and ".CarNS." not in k]
    if not hits:
        return None
    hits.sort(key=len)
    v = asc[hits[0]]
    if isinstance(v, str):
        raise ConfigError(f".asc key {hits[0]} holds a string {v!r}, expected a number")
    return float(v)


def _safe_from_asc(
    asc: dict[str, float | int | str], prefix: str | None, g_scales: dict[str, float], name: str
) -> SafeModel:
    axes = {}
    for ax in "XYZ":

        def need(key: str, ax: str = ax) -> float:
            v = _find(asc, key, prefix)
            if v is None:
                where = f" under {prefix!r}" if prefix else ""
                raise ConfigError(f".asc file {name}: missing {key}{where} (axis {ax})")
            return v

        tau = tuple(need(f"flGSWDTau{ax}[{i}]") * 1e-3 for i in range(3))
        a = tuple(need(f"flGSWDA{ax}[{i}]") for i in range(3))
        limit = need(f"flGSWDStimulationLimit{ax}")
        thresh = _find(asc, f"flGSWDStimulationThreshold{ax}", prefix)
        axes[ax] = SafeAxis(
            (tau[0], tau[1], tau[2]),
            (a[0], a[1], a[2]),
            limit,
            limit if thresh is None else thresh,
            g_scales[ax],
        )
    return SafeModel(axes["X"], axes["Y"], axes["Z"], name=name)


def hardware_from_asc(
    source: str | Path,
    *,
    acoustic_threshold_t_per_m: float | None = None,
    max_grad_rms_t_per_m: float | None = None,
    grad_rms_window_s: float | None = None,
) -> GradientHardware:
    """Build :class:`GradientHardware` from a vendor ``.asc`` file (see the module notes for keys).

    Raises
    ------
    ConfigError
        A PNS key or the gradient scale factor is missing (the reference code's silent 1/pi fallback
        is not taken: a wrong scale changes the PNS prediction by a factor).
    """
    asc = read_asc(source)
    name = str(source) if isinstance(source, Path) or "\n" not in str(source) else "<text>"
    g_scales = {}
    for ax in "XYZ":
        v = _find(asc, f"flGScaleFactor{ax}", None)
        if v is None:
            raise ConfigError(
                f".asc file {name}: missing asGPAParameters[0].sGCParameters.flGScaleFactor{ax} "
                "(gradient scale factor of the SAFE model)"
            )
        g_scales[ax] = v
    if any(k.startswith("GradPatSup.Phys.PNS.") for k in asc):
        pns = _safe_from_asc(asc, "GradPatSup.Phys.PNS.", g_scales, name)
    else:
        pns = _safe_from_asc(asc, None, g_scales, name)
    cardiac = None
    if any(k.startswith("GradPatSup.Phys.CarNS.") for k in asc):
        cardiac = _safe_from_asc(asc, "GradPatSup.Phys.CarNS.", g_scales, name + " (cardiac)")

    freqs: dict[int, float] = {}
    bws: dict[int, float] = {}
    pat = re.compile(r"afl(?:GC)?AcousticResonance(Frequency|Bandwidth)\[(\d+)\]$")
    for key, val in asc.items():
        m = pat.search(key)
        if m and not isinstance(val, str):
            (freqs if m.group(1) == "Frequency" else bws)[int(m.group(2))] = float(val)
    bands = tuple(AcousticBand(f, bws.get(i, 0.0)) for i, f in sorted(freqs.items()) if f != 0.0)
    return GradientHardware(
        name=name,
        pns=pns,
        cardiac=cardiac,
        acoustic_bands=bands,
        acoustic_threshold_t_per_m=acoustic_threshold_t_per_m,
        max_grad_rms_t_per_m=max_grad_rms_t_per_m,
        grad_rms_window_s=grad_rms_window_s,
    )
