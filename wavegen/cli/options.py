"""How the command line reads what the user typed: quantities, limits, channel lists, files, the bench."""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import re
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from wavegen.errors import ConfigError, RangeError, UnitError
from wavegen.limits import SystemLimits
from wavegen.units import parse_quantity

__all__ = [
    "parse_rate", "check_output_paths", "parse_window", "parse_limits", "parse_channels", "parse_fraction", "quantity",
    "read_sequence", "open_bench", "read_toml", "in_user_words", "human", "PARAMETER_OPTIONS",
]

logger = logging.getLogger(__name__)


#: an example of each dimension, for the message that asks for a unit
_EXAMPLES = {"s": "3 ms", "m": "5 mm", "rad": "90 deg", "Hz": "1 kHz", "T": "20 uT", "T/m": "40 mT/m",
             "T/m/s": "150 T/m/s", "1/m": "1000 /m", "V": "10 V"}


def quantity(text: str | None, dimension: str, option: str) -> float | None:
    """``parse_quantity`` naming the command-line option in its message; ``None`` passes through. A
    bare number for a quantity with a dimension is refused: ``--flip 15`` could be degrees or radians,
    ``--duration 3`` seconds or milliseconds, so the user says which."""
    if text is None:
        return None
    if dimension and _BARE_NUMBER.match(str(text)):
        example = _EXAMPLES.get(dimension, f"1 {dimension}")
        raise UnitError(f'{option} {text}: give the unit, e.g. {option} "{example}" (a bare number is ambiguous)')
    return parse_quantity(text, dimension, name=option)


_BARE_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def parse_limits(spec: str | None) -> SystemLimits:
    """Limits from ``"max_grad=40 mT/m,max_slew=150 T/m/s"`` or a TOML file (``[limits]`` or top level).

    Raises
    ------
    ConfigError
        A malformed spec or file.
    UnitError, RangeError
        A unit typo or an unknown limit name (from :meth:`SystemLimits.from_units`).
    """
    if spec is None:
        return SystemLimits()
    path = Path(spec)
    if spec.endswith(".toml") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"--limits: no such file: {spec}")
        data = read_toml(path, "--limits")
        table = data.get("limits", data)
        if not isinstance(table, dict):
            raise ConfigError(f"--limits: {spec}: [limits] must be a table of name = value")
        values = {k: v for k, v in table.items() if not isinstance(v, dict)}
        return SystemLimits.from_units(**values)
    values2: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--limits: expected name=value (e.g. max_grad=40 mT/m), got {part.strip()!r}")
        k, v = part.split("=", 1)
        from wavegen.bench.config import LIMIT_DIMENSIONS

        if k.strip() in LIMIT_DIMENSIONS and _BARE_NUMBER.match(v):
            dim = LIMIT_DIMENSIONS[k.strip()]
            raise UnitError(f'--limits {k.strip()}={v.strip()}: give the unit, e.g. "{k.strip()}={v.strip()} {dim}"')
        if k.strip() in values2:
            raise ConfigError(f"--limits: {k.strip()} is given twice ({values2[k.strip()]!r} and {v.strip()!r})")
        values2[k.strip()] = v.strip()
    return SystemLimits.from_units(**values2)


def read_toml(path: Path, option: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
        try:
            import tomli as tomllib
        except ImportError as exc:
            raise ConfigError(f"{option}: reading TOML on Python 3.10 needs the 'tomli' package") from exc
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{option}: {path} is not valid TOML: {exc}") from exc


CHANNELS = ("gx", "gy", "gz", "rf", "adc", "trigger")


def parse_channels(text: str, allowed: tuple[str, ...] = CHANNELS) -> tuple[str, ...]:
    """``"gx,gy"`` -> ``("gx", "gy")``; unknown names raise :class:`RangeError` listing the known ones."""
    names = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in names if c not in allowed]
    if bad or not names:
        raise RangeError(f"--channels: unknown channel(s) {', '.join(bad) or '(none given)'}; known: "
                         f"{', '.join(allowed)}")
    return names


def read_sequence(path: Path) -> Any:
    """Read a Pulseq file with a clear message for a missing file or a wrong kind of file."""
    from wavegen import pulseq

    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", str(path))
    return pulseq.read(path)


def open_bench(args: argparse.Namespace) -> Any:
    """The bench of ``--config`` (its errors raised before any instrument is touched) or the mock bench."""
    from wavegen.bench import Bench

    if args.config is None:
        logger.info("using the built-in mock bench (emulated instruments, simulated device under test)")
        return Bench.mock(virtual_time=bool(getattr(args, "virtual_time", False)), record=False)
    if not args.config.exists():
        raise FileNotFoundError(2, "No such file or directory", str(args.config))
    with config_file(args.config):
        return Bench.from_file(args.config)


@contextlib.contextmanager
def config_file(path: Path) -> Iterator[None]:
    """A :class:`ConfigError` raised inside names the ``--config`` file it came from (its keys are the
    user's words; the file says where they are)."""
    try:
        yield
    except ConfigError as exc:
        if str(path) in str(exc):
            raise
        raise ConfigError(f"--config {path}: {exc}") from exc


def parse_fraction(text: str, option: str) -> float:
    """``"1%"`` -> 0.01, ``"0.5 %"`` -> 0.005, ``"0.01"`` -> 0.01."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise UnitError(f"{option}: cannot read {text!r} as a fraction (e.g. '1%' or 0.01)") from None
    if not (math.isfinite(value) and 0 < value < 1):
        raise RangeError(f"{option} = {text!r} must be between 0 and 100 %")
    return value


def parse_window(args: argparse.Namespace, seq: Any) -> Any:
    """``--window "120 ms..240 ms"`` or ``--blocks 100..130`` as a :class:`wavegen.bench.plan.Window` (or
    ``None``)."""
    from wavegen.bench.plan import Window

    text_w, text_b = getattr(args, "window", None), getattr(args, "blocks", None)
    if text_w is None and text_b is None:
        return None
    option, text = ("--window", text_w) if text_w is not None else ("--blocks", text_b)
    parts = str(text).split("..")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        example = '"120 ms..240 ms"' if option == "--window" else "100..130"
        raise UnitError(f"{option} {text!r}: write START..END, e.g. {option} {example}")
    if option == "--window":
        t0 = parse_quantity(parts[0].strip(), "s", name=f"{option} start")
        t1 = parse_quantity(parts[1].strip(), "s", name=f"{option} end")
        return Window.of_times(t0, t1)
    try:
        b0, b1 = int(parts[0]), int(parts[1])
    except ValueError:
        raise UnitError(f"--blocks {text!r}: block numbers are whole numbers, e.g. --blocks 100..130") from None
    return Window.of_blocks(seq, b0, b1)


#: what each output option may write, by suffix (the first is added to a name without one)
_OUTPUT_SUFFIXES = {"plot": (".png", ".pdf", ".svg"), "html": (".html",)}
#: what ``-o`` writes, per command (``demo --out`` is a folder)
_OUT_SUFFIXES = {"design": (".seq", ".npz"), "render": (".npz",), "measure": (".npz",), "hil": (".npz",)}


def check_output_paths(args: argparse.Namespace) -> None:
    """Refuse a bad output path before any work: a ``--plot`` that is not an image file, an ``-o`` of the
    wrong kind, or an output whose folder is a file (``UnitError`` / ``ConfigError``, exit 2). A name
    without a suffix gets the option's first one (``-o spiral`` writes ``spiral.seq``): ``args`` is
    updated, so that the command reports the file it actually writes."""
    for attr in ("plot", "out", "html"):
        path = getattr(args, attr, None)
        if not isinstance(path, Path):
            continue
        option = "-o/--out" if attr == "out" else f"--{attr}"
        allowed = _OUT_SUFFIXES.get(getattr(args, "command", "")) if attr == "out" else _OUTPUT_SUFFIXES.get(attr)
        if allowed is not None and path.suffix == "" and path.name not in ("", ".", ".."):
            path = path.with_name(path.name + allowed[0])
            setattr(args, attr, path)
            logger.info("%s: writing %s (no suffix given: %s added)", option, path, allowed[0])
        if allowed is not None and path.suffix.lower() not in allowed:
            raise UnitError(f"{option}: {path} must end in {' or '.join(allowed)}")
        if path.is_dir() and attr != "out":
            raise ConfigError(f"{option}: {path} is a folder, not a file")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{option}: {path} cannot be written: {parent} is a file, not a folder")


_SAMPLE_RATE_UNITS = {"S/s": 1, "Sa/s": 1, "kS/s": 10**3, "kSa/s": 10**3, "MS/s": 10**6, "MSa/s": 10**6,
                      "GS/s": 10**9, "GSa/s": 10**9}
_RATIO = re.compile(r"^\s*([0-9.eE+-]+)\s*/\s*([0-9.eE+-]+)\s*(\S+)\s*$")


def parse_rate(text: str, option: str = "--rate") -> Fraction:
    """A sample rate as an exact rational: ``"1 MHz"``, ``"1 MS/s"``, ``"2.5 kSa/s"``, or a ratio with a
    unit, ``"1e6/3 Hz"``. A bare number is refused (a rate has a unit)."""
    t = str(text).strip()
    m = _RATIO.match(t)
    if m is not None:
        num, den, unit = m.groups()
        scale = Fraction(_SAMPLE_RATE_UNITS[unit]) if unit in _SAMPLE_RATE_UNITS else Fraction(
            repr(parse_quantity(f"1 {unit}", "Hz", name=option)))
        try:
            value = Fraction(num) / Fraction(den) * scale
        except (ValueError, ZeroDivisionError):
            raise UnitError(f"{option} {text!r}: write a rate such as \"1 MHz\", \"1 MS/s\" or \"1e6/3 Hz\"") from None
    else:
        parts = t.split()
        if len(parts) == 2 and parts[1] in _SAMPLE_RATE_UNITS:
            try:
                value = Fraction(parts[0]) * _SAMPLE_RATE_UNITS[parts[1]]
            except ValueError:
                raise UnitError(f"{option} {text!r}: {parts[0]!r} is not a number") from None
        else:
            q = quantity(t, "Hz", option)
            assert q is not None
            value = Fraction(repr(q))
    if not value > 0:
        raise RangeError(f"{option} = {text!r} must be > 0 Hz")
    return value


# --- errors in the user's words ---------------------------------------------------------------------

#: parameter name in the library -> (the ``args`` attribute of its option, the option as typed, what it
#: is called when the command has no such option, its SI dimension); the CLI boundary's one table
PARAMETER_OPTIONS: dict[str, tuple[str, str, str, str]] = {
    "duration_s": ("duration", "--duration", "duration", "s"),
    "flip_angle_rad": ("flip", "--flip", "flip angle", "rad"),
    "flip_rad": ("flip", "--flip", "flip angle", "rad"),
    "time_bw_product": ("tbw", "--tbw", "time-bandwidth product", ""),
    "tbw": ("tbw", "--tbw", "time-bandwidth product", ""),
    "bandwidth_hz": ("bandwidth", "--bandwidth", "bandwidth", "Hz"),
    "b1_max_t": ("b1", "--b1", "peak B1", "T"),
    "slice_m": ("slice", "--slice", "slice thickness", "m"),
    "thickness_m": ("slice", "--slice", "slice thickness", "m"),
    "slice_thickness_m": ("slice", "--slice", "slice thickness", "m"),
    "fov_m": ("fov", "--fov", "field of view", "m"),
    "matrix": ("matrix", "--matrix", "matrix", ""),
    "dwell_s": ("dwell", "--dwell", "dwell time", "s"),
    "tr_s": ("tr", "--tr", "TR", "s"),
    "turns": ("turns", "--turns", "spiral turns", ""),
    "slew_fraction": ("slew_fraction", "--slew-fraction", "slew fraction", ""),
    "area_per_m": ("area", "--area", "area", "1/m"),
    "area_t_s_per_m": ("area", "--area", "area", "T*s/m"),
    "chunk_samples": ("chunk", "--chunk", "chunk", ""),
    "target_nrmse": ("target", "--target", "NRMSE target", ""),
    "max_iterations": ("iterations", "--iterations", "iterations", ""),
    # not options: named in words
    "amplitude_t_per_m": ("", "", "gradient amplitude", "T/m"),
    "flat_amplitude_t_per_m": ("", "", "flat-top amplitude", "T/m"),
    "g_start_t_per_m": ("", "", "start gradient", "T/m"),
    "g_end_t_per_m": ("", "", "end gradient", "T/m"),
    "rise_time_s": ("", "", "rise time", "s"),
    "flat_time_s": ("", "", "flat time", "s"),
    "sample_rate_hz": ("rate", "--rate", "sample rate", "Hz"),
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: SI units as the library writes them (longest first, so "T/m/s" is not read as "T/m")
_SI_UNITS = ("T*s/m", "T/m/s", "T/m", "Hz", "rad", "T", "s", "m")
_SI_QUANTITY = re.compile(rf"(?<![\w.=])({_NUM})\s+({'|'.join(re.escape(u) for u in _SI_UNITS)})(?![\w/*^])")


def human(value: float, dimension: str) -> str:
    """An SI value in the unit a bench user reads it in: ``0.00086 s`` -> ``"860 us"``, ``0.04 T/m`` ->
    ``"40 mT/m"``, ``1.5708 rad`` -> ``"90 deg"``."""
    v = float(value)
    a = abs(v)
    if not math.isfinite(v):
        return f"{v} {dimension}".strip()
    if dimension == "s":
        scale, unit = next(((k, u) for k, u in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us"))
                            if a >= k), (1e-9, "ns")) if a else (1.0, "s")
    elif dimension == "T/m":
        scale, unit = (1e-3, "mT/m") if a < 10 else (1.0, "T/m")
    elif dimension == "T":
        scale, unit = (1e-6, "uT") if a < 1e-3 else (1e-3, "mT") if a < 1 else (1.0, "T")
    elif dimension == "T*s/m":
        scale, unit = 1e-6, "mT*ms/m"
    elif dimension == "rad":
        return f"{math.degrees(v):.4g} deg"
    elif dimension == "Hz":
        scale, unit = next(((k, u) for k, u in ((1e6, "MHz"), (1e3, "kHz")) if a >= k), (1.0, "Hz"))
    elif dimension == "m":
        scale, unit = (1e-3, "mm") if a < 1 else (1.0, "m")
    else:
        return f"{v:.6g} {dimension}".strip()
    return f"{v / scale:.4g} {unit}"


def _human_time(text: str) -> str:
    """``"3000 us"`` -> ``"3 ms"``; anything else as it is."""
    m = re.fullmatch(rf"\s*({_NUM})\s*(s|ms|us|ns)\s*", text)
    if m is None:
        return text.strip()
    return human(float(m.group(1)) * {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[m.group(2)], "s")


def _limit_labels(args: argparse.Namespace | None) -> dict[str, tuple[str, str]]:
    """``max_grad_t_per_m`` -> (``"--limits max_grad"``, ``"T/m"``), by how the command takes limits."""
    from wavegen.bench.config import LIMIT_DIMENSIONS

    if args is not None and hasattr(args, "limits") and getattr(args, "config", None) is None:
        prefix = "--limits "
    elif args is not None and getattr(args, "config", None) is not None:
        prefix = f"{args.config} [limits] "
    else:
        prefix = ""
    return {long: (f"{prefix}{short}", LIMIT_DIMENSIONS.get(short, "")) for short, long in _limit_names().items()}


def _limit_names() -> dict[str, str]:
    """The short names of the limits (``--limits`` and ``[limits]`` keys) -> :class:`SystemLimits` fields."""
    import dataclasses

    from wavegen.bench.config import LIMIT_DIMENSIONS

    fields = [f.name for f in dataclasses.fields(SystemLimits)]
    return {short: next(f for f in fields if f.startswith(short + "_")) for short in LIMIT_DIMENSIONS
            if any(f.startswith(short + "_") for f in fields)}


def in_user_words(message: str, args: argparse.Namespace | None = None) -> str:
    """An error message as the user typed the command: the library's parameter names become the options
    (``duration_s = 10.0 s`` -> ``--duration 10 s``, ``max_grad_t_per_m`` -> ``--limits max_grad``) and
    SI quantities are written in human units (``0.00086 s`` -> ``860 us``, ``0.04 T/m`` -> ``40 mT/m``).

    ``args`` (the parsed command line) says which options the command has: a parameter without an option
    there is named in words ("gradient amplitude").
    """
    m = re.match(r"SystemLimits has no limit '([^']*)'; known: .*", message)
    if m is not None:
        return f"--limits: no limit {m.group(1)!r}; known: {', '.join(sorted(_limit_names()))}"
    labels: dict[str, tuple[str, str]] = {}
    for name, (dest, option, words, dim) in PARAMETER_OPTIONS.items():
        typed = bool(option) and args is not None and hasattr(args, dest)
        labels[name] = (option if typed else words, dim)
    labels.update(_limit_labels(args))

    def with_value(match: re.Match[str]) -> str:
        label, dim = labels[match.group(1)]
        value = float(match.group(2))
        sep = "=" if label.startswith("--limits ") else " "  # as typed: --limits "max_grad=40 mT/m"
        return f"{label}{sep}{human(value, dim) if dim else f'{value:g}'}"

    names = "|".join(sorted((re.escape(n) for n in labels), key=len, reverse=True))
    text = re.sub(rf"(?:SystemLimits\.)?\b({names})\s*=\s*({_NUM})(?:\s*(?:{'|'.join(map(re.escape, _SI_UNITS))})"
                  rf"(?![\w/*^]))?", with_value, message)
    text = re.sub(rf"(?:SystemLimits\.)?\b({'|'.join(n for n in sorted(labels, key=len, reverse=True) if '_' in n)})\b",
                  lambda mm: labels[mm.group(1)][0], text)
    text = _SI_QUANTITY.sub(lambda mm: human(float(mm.group(1)), mm.group(2)), text)
    text = re.sub(r"(--flip|flip angle) ([-\d.e+]+ deg) must be <= pi\b", r"\1 \2 must be <= 180 deg", text)
    if (args is not None and getattr(args, "command", None) == "design" and getattr(args, "kind", None) in
            ("gre", "epi") and text.startswith("gradient amplitude")):
        text += ("; the readout and phase-encode gradients grow as the pixel shrinks: a larger --fov or a "
                 "longer --dwell lowers them")
    # the RF design's own words, with the options that change them
    if args is not None and hasattr(args, "duration") and hasattr(args, "flip"):
        text = re.sub(r"\(T = ([^,()]+?)(, TBW ([^()]+))?\)",
                      lambda mm: f"(--duration {_human_time(mm.group(1))}"
                                 + (f", --tbw {mm.group(3)}" if mm.group(2) and hasattr(args, "tbw") else
                                    (mm.group(2) or "")) + ")", text)
        text = text.replace("lengthen the pulse, lower the flip angle",
                            "lengthen the pulse (--duration), lower the flip angle (--flip)")
    if args is not None and hasattr(args, "slice"):
        text = text.replace("use a thicker slice or a longer (narrower-band) pulse",
                            "use a thicker --slice or a longer (narrower-band) pulse"
                            + (" (--duration)" if hasattr(args, "duration") else ""))
    # messages that start with what the user gave: "TR = 1 ms ...", "blocks 3..99: ..."
    for dest, said in (("tr", "TR = "), ("blocks", "blocks "), ("window", "window ")):
        if args is not None and getattr(args, dest, None) is not None and text.startswith(said):
            text = f"--{dest} {text[len(said):]}"
    return text
